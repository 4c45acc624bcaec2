//! The `spreadsheets.values` methods as pure changes to a [`Spreadsheet`]: get, update,
//! append, clear and their batch forms. Every error is Sheets' `INVALID_ARGUMENT` message.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::a1::{format_range, A1Range, Rect};
use super::grid::{extent, InputOption, RenderOption, Spreadsheet, Write, MAX_COLS};

/// A `ValueRange` request body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueRange {
    #[serde(default)]
    pub range: Option<String>,
    #[serde(default)]
    pub major_dimension: Option<String>,
    #[serde(default)]
    pub values: Vec<Vec<Value>>,
}

impl ValueRange {
    /// The rows to write, as cell writes (columns transposed to rows).
    fn writes(&self, option: InputOption) -> Result<Vec<Vec<Write>>, String> {
        let rows = match self.major_dimension.as_deref() {
            None | Some("ROWS") | Some("DIMENSION_UNSPECIFIED") => self.values.clone(),
            Some("COLUMNS") => transpose(&self.values),
            Some(other) => {
                return Err(format!(
                    "Invalid value at 'data.major_dimension' (type.googleapis.com/google.apps.sheets.v4.Dimension), \"{other}\""
                ))
            }
        };
        rows.iter()
            .map(|row| row.iter().map(|v| Write::from_input(v, option)).collect())
            .collect()
    }
}

fn transpose(columns: &[Vec<Value>]) -> Vec<Vec<Value>> {
    let height = columns.iter().map(Vec::len).max().unwrap_or(0);
    (0..height)
        .map(|r| {
            columns
                .iter()
                .map(|c| c.get(r).cloned().unwrap_or(Value::Null))
                .collect()
        })
        .collect()
}

/// `insertDataOption` of values.append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertData {
    Overwrite,
    InsertRows,
}

impl InsertData {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "OVERWRITE" => Some(Self::Overwrite),
            "INSERT_ROWS" => Some(Self::InsertRows),
            _ => None,
        }
    }
}

/// A range found in a spreadsheet: the tab's position and the parsed range.
struct Located {
    sheet: usize,
    range: A1Range,
}

/// Finds the tab `text` names; a range without a tab is on the first tab, and a bare name
/// that is a tab's title means that whole tab.
fn locate(book: &Spreadsheet, text: &str) -> Result<Located, String> {
    let unparsable = || format!("Unable to parse range: {text}");
    if let Some(name) = A1Range::as_sheet_name(text) {
        if let Some(sheet) = book.sheet_by_title(&name) {
            let range = A1Range {
                sheet: Some(name),
                cells: None,
            };
            return Ok(Located { sheet, range });
        }
    }
    let range = A1Range::parse(text).map_err(|e| e.to_string())?;
    let sheet = match &range.sheet {
        Some(name) => book.sheet_by_title(name).ok_or_else(unparsable)?,
        None if book.sheets.is_empty() => return Err(unparsable()),
        None => 0,
    };
    Ok(Located { sheet, range })
}

/// The range within the grid, or Sheets' "exceeds grid limits" error for one past it (a
/// range that starts past the grid, or whose closed end lies past it, for reads and writes
/// alike; only the data a write puts from a range inside the grid may grow it).
fn within_grid(book: &Spreadsheet, located: &Located) -> Result<Rect, String> {
    let sheet = &book.sheets[located.sheet];
    let rect = located.range.resolve(sheet.row_count, sheet.column_count);
    if rect.end_row > sheet.row_count || rect.end_col > sheet.column_count {
        return Err(format!(
            "Range ({}) exceeds grid limits. Max rows: {}, max columns: {}",
            format_range(&sheet.title, rect),
            sheet.row_count,
            sheet.column_count
        ));
    }
    Ok(rect)
}

/// values.get: the `ValueRange` of `text`.
pub fn get(book: &Spreadsheet, text: &str, render: RenderOption) -> Result<Value, String> {
    let located = locate(book, text)?;
    let rect = within_grid(book, &located)?;
    let sheet = &book.sheets[located.sheet];
    let mut answer = json!({
        "range": format_range(&sheet.title, rect),
        "majorDimension": "ROWS",
    });
    let values = sheet.values(rect, render);
    if !values.is_empty() {
        answer["values"] = json!(values);
    }
    Ok(answer)
}

/// values.update: writes `body` at `text`'s start; returns the `UpdateValuesResponse`.
pub fn update(book: &mut Spreadsheet, text: &str, body: &ValueRange, option: InputOption) -> Result<Value, String> {
    let located = locate(book, text)?;
    let writes = body.writes(option)?;
    // The range must lie in the grid; the data written from it may grow the grid.
    within_grid(book, &located)?;
    let sheet = &book.sheets[located.sheet];
    let rect = located.range.resolve(sheet.row_count, sheet.column_count);
    let bounds = located.range.cells.unwrap_or_default();
    let (rows_needed, cols_needed) = extent(rect.start_row, rect.start_col, &writes);
    // A closed range is a promise of where the data goes; one cell is only where it starts.
    let bounds = if bounds.single_cell { Default::default() } else { bounds };
    if let Some(end) = bounds.end_row.filter(|end| rows_needed > *end) {
        return Err(format!(
            "Requested writing within range [{text}], but tried writing to row [{}]",
            end + 1
        ));
    }
    if let Some(end) = bounds.end_col.filter(|end| cols_needed > *end) {
        return Err(format!(
            "Requested writing within range [{text}], but tried writing to column [{}]",
            super::a1::column_letters(end)
        ));
    }
    write_at(book, located.sheet, rect.start_row, rect.start_col, &writes)
}

/// Writes a block, growing the tab, and describes it as an `UpdateValuesResponse`.
fn write_at(book: &mut Spreadsheet, sheet: usize, row: u32, col: u32, writes: &[Vec<Write>]) -> Result<Value, String> {
    let (rows_needed, cols_needed) = extent(row, col, writes);
    if cols_needed > MAX_COLS {
        return Err(format!(
            "This action would increase the number of columns in the sheet above the limit of {MAX_COLS} columns."
        ));
    }
    book.sheets[sheet].write(row, col, writes);
    book.check_cell_limit()?;
    let title = &book.sheets[sheet].title;
    let written = Rect {
        start_row: row,
        start_col: col,
        end_row: rows_needed.max(row + 1),
        end_col: cols_needed.max(col + 1),
    };
    let mut answer = Map::new();
    answer.insert("spreadsheetId".into(), json!(book.id));
    answer.insert("updatedRange".into(), json!(format_range(title, written)));
    let cells: usize = writes.iter().map(Vec::len).sum();
    if cells > 0 {
        let rows = writes.iter().filter(|r| !r.is_empty()).count();
        answer.insert("updatedRows".into(), json!(rows));
        answer.insert("updatedColumns".into(), json!(cols_needed - col));
        answer.insert("updatedCells".into(), json!(cells));
    }
    Ok(Value::Object(answer))
}

/// values.append: finds the table in `text` and writes after its last row, from the range's
/// first column; returns the `AppendValuesResponse`.
///
/// The table is simplified to "from the range's first cell to the last row and column
/// holding a value within the range" (one cell as the range reaches to the grid's edges),
/// where Sheets looks for a contiguous block.
pub fn append(
    book: &mut Spreadsheet,
    text: &str,
    body: &ValueRange,
    option: InputOption,
    insert: InsertData,
) -> Result<Value, String> {
    let located = locate(book, text)?;
    let writes = body.writes(option)?;
    // The range must lie in the grid; the data written from it may grow the grid.
    within_grid(book, &located)?;
    let sheet = &book.sheets[located.sheet];
    let mut rect = located.range.resolve(sheet.row_count, sheet.column_count);
    if located.range.cells.is_some_and(|cells| cells.single_cell) {
        // One cell anchors a table that may run right and down from it.
        (rect.end_row, rect.end_col) = (sheet.row_count, sheet.column_count);
    }
    let extent = sheet.data_extent(rect.start_row..rect.end_row, rect.start_col..rect.end_col);
    let table = extent.map(|(last_row, last_col)| Rect {
        start_row: rect.start_row,
        start_col: rect.start_col,
        end_row: last_row + 1,
        end_col: last_col + 1,
    });
    let row = extent.map_or(rect.start_row, |(last_row, _)| last_row + 1);
    if insert == InsertData::InsertRows && row < sheet.row_count && !writes.is_empty() {
        book.sheets[located.sheet].insert_rows(row, writes.len() as u32);
    }
    let title = book.sheets[located.sheet].title.clone();
    let updates = write_at(book, located.sheet, row, rect.start_col, &writes)?;
    let mut answer = json!({ "spreadsheetId": book.id, "updates": updates });
    if let Some(table) = table {
        answer["tableRange"] = json!(format_range(&title, table));
    }
    Ok(answer)
}

/// values.clear: empties the range; returns the `ClearValuesResponse`.
pub fn clear(book: &mut Spreadsheet, text: &str) -> Result<Value, String> {
    let located = locate(book, text)?;
    let rect = within_grid(book, &located)?;
    let sheet = &mut book.sheets[located.sheet];
    sheet.clear(rect);
    Ok(json!({
        "spreadsheetId": book.id,
        "clearedRange": format_range(&sheet.title, rect),
    }))
}

/// values.batchUpdate's body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchUpdate {
    #[serde(default)]
    pub value_input_option: Option<String>,
    #[serde(default)]
    pub data: Vec<ValueRange>,
}

/// values.batchUpdate: every `data` range written, or none.
pub fn batch_update(book: &mut Spreadsheet, body: &BatchUpdate) -> Result<Value, String> {
    let option = body
        .value_input_option
        .as_deref()
        .and_then(InputOption::parse)
        .ok_or("'valueInputOption' is required but not specified")?;
    let mut responses = Vec::new();
    let mut sheets = std::collections::BTreeSet::new();
    let (mut rows, mut columns, mut cells) = (0, 0, 0);
    for data in &body.data {
        let range = data.range.as_deref().ok_or("Invalid data[0]: range is required")?;
        let response = update(book, range, data, option)?;
        let count = |name: &str| response.get(name).and_then(Value::as_u64).unwrap_or(0);
        rows += count("updatedRows");
        columns += count("updatedColumns");
        cells += count("updatedCells");
        if count("updatedCells") > 0 {
            sheets.insert(locate(book, range)?.sheet);
        }
        responses.push(response);
    }
    let mut answer = json!({ "spreadsheetId": book.id, "responses": responses });
    if cells > 0 {
        answer["totalUpdatedRows"] = json!(rows);
        answer["totalUpdatedColumns"] = json!(columns);
        answer["totalUpdatedCells"] = json!(cells);
        answer["totalUpdatedSheets"] = json!(sheets.len());
    }
    Ok(answer)
}

/// values.batchClear's body.
#[derive(Debug, Deserialize)]
pub struct BatchClear {
    #[serde(default)]
    pub ranges: Vec<String>,
}

/// values.batchClear: every range emptied, or none.
pub fn batch_clear(book: &mut Spreadsheet, body: &BatchClear) -> Result<Value, String> {
    let mut cleared = Vec::new();
    for range in &body.ranges {
        cleared.push(clear(book, range)?["clearedRange"].clone());
    }
    Ok(json!({ "spreadsheetId": book.id, "clearedRanges": cleared }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sheets::grid::Sheet;

    fn book() -> Spreadsheet {
        Spreadsheet {
            id: "book".into(),
            title: "Book".into(),
            editors: vec![],
            readers: vec![],
            sheets: vec![Sheet::new(0, "Sheet1"), Sheet::new(1, "My Tab")],
            next_sheet_id: 2,
            applied_writes: 0,
        }
    }

    fn body(values: Value) -> ValueRange {
        serde_json::from_value(json!({ "values": values })).unwrap()
    }

    #[test]
    fn update_then_get_round_trips_typed_values() {
        let mut book = book();
        let written = update(
            &mut book,
            "'My Tab'!A1",
            &body(json!([["date", "clicks"], ["2025-03-01", "12.30"]])),
            InputOption::UserEntered,
        )
        .unwrap();
        assert_eq!(
            written,
            json!({"spreadsheetId": "book", "updatedRange": "'My Tab'!A1:B2", "updatedRows": 2, "updatedColumns": 2, "updatedCells": 4})
        );
        let formatted = get(&book, "'My Tab'!A1:B2", RenderOption::Formatted).unwrap();
        assert_eq!(formatted["values"], json!([["date", "clicks"], ["2025-03-01", "12.3"]]));
        let unformatted = get(&book, "'My Tab'", RenderOption::Unformatted).unwrap();
        assert_eq!(unformatted["values"], json!([["date", "clicks"], [45717.0, 12.3]]));
        assert_eq!(unformatted["range"], "'My Tab'!A1:Z1000");
    }

    #[test]
    fn update_grows_the_grid_but_not_past_a_closed_range() {
        let mut book = book();
        let rows: Vec<Value> = (0..1002).map(|i| json!([i])).collect();
        update(&mut book, "Sheet1!A1", &body(json!(rows)), InputOption::Raw).unwrap();
        assert_eq!(book.sheets[0].row_count, 1002);
        let error = update(&mut book, "A1:B1", &body(json!([[1], [2]])), InputOption::Raw).unwrap_err();
        assert_eq!(
            error,
            "Requested writing within range [A1:B1], but tried writing to row [2]"
        );
        let error = update(&mut book, "Sheet1!AA1", &body(json!([[1]])), InputOption::Raw).unwrap_err();
        assert_eq!(
            error,
            "Range (Sheet1!AA1) exceeds grid limits. Max rows: 1002, max columns: 26"
        );
    }

    #[test]
    fn growing_a_tab_past_ten_million_cells_is_refused() {
        let mut book = book();
        // 383,000 × 26 here and 1000 × 26 on the other tab: 9,984,000 cells, within the limit.
        book.sheets[0].resize(383_000, 26);
        update(&mut book, "Sheet1!Z1", &body(json!([[1]])), InputOption::Raw).unwrap();
        let wide: Vec<Value> = (0..27).map(|i| json!(i)).collect();
        let error = update(&mut book, "Sheet1!A1", &body(json!([wide])), InputOption::Raw).unwrap_err();
        assert_eq!(
            error,
            "This action would increase the number of cells in the workbook above the limit of 10000000 cells."
        );
    }

    #[test]
    fn append_writes_after_the_table_and_insert_rows_moves_what_is_below() {
        let mut book = book();
        update(
            &mut book,
            "A1",
            &body(json!([["h1", "h2"], ["a", "b"]])),
            InputOption::Raw,
        )
        .unwrap();
        update(&mut book, "D10", &body(json!([["below"]])), InputOption::Raw).unwrap();
        let appended = append(
            &mut book,
            "Sheet1!A:B",
            &body(json!([["c", "d"]])),
            InputOption::Raw,
            InsertData::InsertRows,
        )
        .unwrap();
        assert_eq!(appended["tableRange"], "Sheet1!A1:B2");
        assert_eq!(appended["updates"]["updatedRange"], "Sheet1!A3:B3");
        assert_eq!(
            get(&book, "D11", RenderOption::Formatted).unwrap()["values"],
            json!([["below"]])
        );
        assert_eq!(book.sheets[0].row_count, 1001);
    }

    #[test]
    fn appending_at_one_cell_finds_the_table_right_and_below_it() {
        let mut book = book();
        update(
            &mut book,
            "A1",
            &body(json!([["h1", "h2", "h3"], ["a", "", "c"]])),
            InputOption::Raw,
        )
        .unwrap();
        let appended = append(
            &mut book,
            "Sheet1!A1",
            &body(json!([["x"]])),
            InputOption::Raw,
            InsertData::Overwrite,
        )
        .unwrap();
        assert_eq!(appended["tableRange"], "Sheet1!A1:C2");
        assert_eq!(appended["updates"]["updatedRange"], "Sheet1!A3");
        let empty = append(
            &mut book,
            "'My Tab'!B2",
            &body(json!([["y"]])),
            InputOption::Raw,
            InsertData::Overwrite,
        )
        .unwrap();
        assert!(empty.get("tableRange").is_none(), "{empty}");
        assert_eq!(empty["updates"]["updatedRange"], "'My Tab'!B2");
    }

    #[test]
    fn bad_ranges_and_ranges_past_the_grid_are_refused() {
        let mut book = book();
        assert_eq!(
            get(&book, "Nope!A1", RenderOption::Formatted).unwrap_err(),
            "Unable to parse range: Nope!A1"
        );
        assert_eq!(
            clear(&mut book, "Sheet1!A1:A2000").unwrap_err(),
            "Range (Sheet1!A1:A2000) exceeds grid limits. Max rows: 1000, max columns: 26"
        );
        assert_eq!(clear(&mut book, "Sheet1").unwrap()["clearedRange"], "Sheet1!A1:Z1000");
    }

    #[test]
    fn a_batch_stops_at_its_first_bad_range() {
        let mut book = book();
        let batch: BatchUpdate = serde_json::from_value(json!({
            "valueInputOption": "RAW",
            "data": [{"range": "Sheet1!A1", "values": [[1]]}, {"range": "'My Tab'!A1", "values": [[2]]}],
        }))
        .unwrap();
        let answer = batch_update(&mut book, &batch).unwrap();
        assert_eq!(answer["totalUpdatedCells"], 2);
        assert_eq!(answer["totalUpdatedSheets"], 2);
        let bad: BatchUpdate = serde_json::from_value(json!({
            "valueInputOption": "RAW",
            "data": [{"range": "Sheet1!A1", "values": [[1]]}, {"range": "Gone!A1", "values": [[2]]}],
        }))
        .unwrap();
        assert!(batch_update(&mut book, &bad).is_err());
    }
}
