//! `spreadsheets.batchUpdate`: structural requests applied in order to a copy of the
//! spreadsheet; the caller swaps the copy in only when every request succeeded, so a
//! failing request leaves nothing half-done (api-facts §4).
//!
//! Emulated requests: `addSheet`, `deleteSheet`, `updateSheetProperties` (title, index,
//! hidden, gridProperties.rowCount/columnCount), `updateCells` and `repeatCell`
//! (`userEnteredValue` only), `appendDimension`, `deleteDimension`,
//! `updateSpreadsheetProperties` (title), and `autoResizeDimensions`. Formats and column
//! widths are not modelled: a request or field mask about them is checked (its tab must
//! exist) and changes nothing. Other requests are refused as not emulated.

use serde_json::{json, Value};

use super::a1::Rect;
use super::grid::{Cell, Sheet, Spreadsheet, DEFAULT_COLS, DEFAULT_ROWS, MAX_COLS};
use super::number_format::NumberFormat;

/// Applies `requests` in order; the replies, or the first failure in Sheets' words
/// (`Invalid requests[1].deleteSheet: No grid with id: 5`).
pub fn apply(book: &mut Spreadsheet, requests: &[Value]) -> Result<Vec<Value>, String> {
    if requests.is_empty() {
        return Err("Must specify at least one request.".into());
    }
    let mut replies = Vec::with_capacity(requests.len());
    for (i, request) in requests.iter().enumerate() {
        let object = request.as_object().filter(|o| o.len() == 1);
        let Some((kind, body)) = object.and_then(|o| o.iter().next()) else {
            return Err(format!("Invalid requests[{i}]: No request set."));
        };
        let applied = match kind.as_str() {
            "addSheet" => add_sheet(book, body),
            "deleteSheet" => delete_sheet(book, body).map(|()| json!({})),
            "updateSheetProperties" => update_sheet_properties(book, body).map(|()| json!({})),
            "updateCells" => update_cells(book, body).map(|()| json!({})),
            "appendDimension" => append_dimension(book, body).map(|()| json!({})),
            "deleteDimension" => delete_dimension(book, body).map(|()| json!({})),
            "repeatCell" => repeat_cell(book, body).map(|()| json!({})),
            "autoResizeDimensions" => auto_resize_dimensions(book, body).map(|()| json!({})),
            "updateSpreadsheetProperties" => update_spreadsheet_properties(book, body).map(|()| json!({})),
            other => Err(format!("{other} is not emulated by the sandbox.")),
        };
        let reply = applied
            .and_then(|reply| book.check_cell_limit().map(|()| reply))
            .map_err(|message| format!("Invalid requests[{i}].{kind}: {message}"))?;
        replies.push(reply);
    }
    Ok(replies)
}

fn int(value: &Value, name: &str) -> Result<Option<i64>, String> {
    match value.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .map(Some)
            .ok_or_else(|| format!("Invalid value at '{name}' ({v})")),
    }
}

/// The tab with id `id` (0 when absent); requests on cells, dimensions and deleteSheet call
/// a missing one a "grid".
fn sheet_index(book: &Spreadsheet, id: Option<i64>) -> Result<usize, String> {
    let id = id.unwrap_or(0);
    book.sheet_by_id(id).ok_or_else(|| format!("No grid with id: {id}"))
}

fn count(value: i64, what: &str) -> Result<u32, String> {
    u32::try_from(value).map_err(|_| format!("{what} must be non-negative, got {value}"))
}

/// `addSheet`: the reply carries the new tab's properties.
fn add_sheet(book: &mut Spreadsheet, body: &Value) -> Result<Value, String> {
    let properties = body.get("properties").cloned().unwrap_or_else(|| json!({}));
    let id = match int(&properties, "sheetId")? {
        Some(id) if book.sheet_by_id(id).is_some() => {
            return Err(format!(
                "A sheet with the id {id} already exists. Please enter another id."
            ))
        }
        Some(id) => id,
        None => book.new_sheet_id(),
    };
    let title = match properties.get("title").and_then(Value::as_str) {
        Some(title) => title.to_string(),
        None => (1..)
            .map(|n| format!("Sheet{n}"))
            .find(|t| book.sheet_by_title(t).is_none())
            .unwrap_or_default(),
    };
    if book.sheet_by_title(&title).is_some() {
        return Err(format!(
            "A sheet with the name \"{title}\" already exists. Please enter another name."
        ));
    }
    let mut sheet = Sheet::new(id, &title);
    sheet.hidden = properties.get("hidden").and_then(Value::as_bool).unwrap_or(false);
    let grid = properties.get("gridProperties").cloned().unwrap_or_else(|| json!({}));
    let rows = count(int(&grid, "rowCount")?.unwrap_or(DEFAULT_ROWS.into()), "rowCount")?;
    let cols = count(int(&grid, "columnCount")?.unwrap_or(DEFAULT_COLS.into()), "columnCount")?;
    check_columns(cols)?;
    sheet.resize(rows, cols);
    let index = match int(&properties, "index")? {
        Some(index) => (count(index, "index")? as usize).min(book.sheets.len()),
        None => book.sheets.len(),
    };
    book.sheets.insert(index, sheet);
    Ok(json!({ "addSheet": { "properties": book.sheet_properties(index) } }))
}

fn check_columns(cols: u32) -> Result<(), String> {
    if cols > MAX_COLS {
        return Err(format!(
            "This action would increase the number of columns in the sheet above the limit of {MAX_COLS} columns."
        ));
    }
    Ok(())
}

fn delete_sheet(book: &mut Spreadsheet, body: &Value) -> Result<(), String> {
    let index = sheet_index(book, int(body, "sheetId")?)?;
    if book.sheets.len() == 1 {
        return Err("You can't remove all the sheets in a document.".into());
    }
    book.sheets.remove(index);
    Ok(())
}

/// `updateSheetProperties`: only the fields the `fields` mask names change (`*` is all).
fn update_sheet_properties(book: &mut Spreadsheet, body: &Value) -> Result<(), String> {
    let fields = body.get("fields").and_then(Value::as_str).unwrap_or_default();
    if fields.is_empty() {
        return Err("At least one field must be specified in 'fields'.".into());
    }
    let properties = body.get("properties").cloned().unwrap_or_else(|| json!({}));
    let id = int(&properties, "sheetId")?.unwrap_or(0);
    let index = book.sheet_by_id(id).ok_or_else(|| format!("No sheet with id: {id}"))?;
    let named = |name: &str| {
        fields
            .split(',')
            .map(str::trim)
            .any(|f| f == "*" || f == name || (name.starts_with("gridProperties.") && f == "gridProperties"))
    };
    if named("title") {
        let title = properties.get("title").and_then(Value::as_str).unwrap_or_default();
        if title.is_empty() {
            return Err("Sheet title cannot be empty.".into());
        }
        if book.sheet_by_title(title).is_some_and(|other| other != index) {
            return Err(format!(
                "A sheet with the name \"{title}\" already exists. Please enter another name."
            ));
        }
        book.sheets[index].title = title.to_string();
    }
    if named("hidden") {
        let hidden = properties.get("hidden").and_then(Value::as_bool).unwrap_or(false);
        let visible_others = book.sheets.iter().enumerate().any(|(i, s)| i != index && !s.hidden);
        if hidden && !visible_others {
            return Err("You can't hide all the sheets in a document.".into());
        }
        book.sheets[index].hidden = hidden;
    }
    let grid = properties.get("gridProperties").cloned().unwrap_or_else(|| json!({}));
    let sheet = &book.sheets[index];
    let mut rows = sheet.row_count;
    let mut cols = sheet.column_count;
    if named("gridProperties.rowCount") {
        rows = count(int(&grid, "rowCount")?.unwrap_or(rows.into()), "rowCount")?;
    }
    if named("gridProperties.columnCount") {
        cols = count(int(&grid, "columnCount")?.unwrap_or(cols.into()), "columnCount")?;
        check_columns(cols)?;
    }
    book.sheets[index].resize(rows, cols);
    if named("index") {
        let new_index = (count(int(&properties, "index")?.unwrap_or(0), "index")? as usize).min(book.sheets.len() - 1);
        let sheet = book.sheets.remove(index);
        book.sheets.insert(new_index, sheet);
    }
    Ok(())
}

/// `updateCells` at `start` (a GridCoordinate) or over `range` (a GridRange, whose cells the
/// rows do not cover are cleared); only `userEnteredValue` is modelled, so a mask without it
/// changes nothing.
fn update_cells(book: &mut Spreadsheet, body: &Value) -> Result<(), String> {
    let fields = body.get("fields").and_then(Value::as_str).unwrap_or_default();
    if fields.is_empty() {
        return Err("At least one field must be specified in 'fields'.".into());
    }
    let writes_values = masks_values(fields);
    let rows = parse_rows(body, masks_number_format(fields))?;
    let (index, start_row, start_col, range_end) = match (body.get("start"), body.get("range")) {
        (Some(start), None) => {
            let index = sheet_index(book, int(start, "sheetId")?)?;
            let row = count(int(start, "rowIndex")?.unwrap_or(0), "rowIndex")?;
            let col = count(int(start, "columnIndex")?.unwrap_or(0), "columnIndex")?;
            (index, row, col, None)
        }
        (None, Some(range)) => {
            let (index, rect) = grid_range(book, range)?;
            (
                index,
                rect.start_row,
                rect.start_col,
                Some((rect.end_row, rect.end_col)),
            )
        }
        _ => return Err("Exactly one of 'start' or 'range' must be set.".into()),
    };
    let sheet = &mut book.sheets[index];
    let (rows_needed, cols_needed) = (
        start_row + rows.len() as u32,
        start_col + rows.iter().map(Vec::len).max().unwrap_or(0) as u32,
    );
    let (end_row, end_col) = range_end.unwrap_or((rows_needed, cols_needed));
    if end_row > sheet.row_count {
        return Err(format!(
            "GridCoordinate.rowIndex[{}] is after last row in grid[{}]",
            end_row - 1,
            sheet.row_count.saturating_sub(1)
        ));
    }
    if end_col > sheet.column_count {
        return Err(format!(
            "GridCoordinate.columnIndex[{}] is after last column in grid[{}]",
            end_col - 1,
            sheet.column_count.saturating_sub(1)
        ));
    }
    if !writes_values {
        return Ok(());
    }
    if range_end.is_some() {
        sheet.clear(Rect {
            start_row,
            start_col,
            end_row,
            end_col,
        });
    }
    for (r, row) in rows.into_iter().enumerate() {
        for (c, cell) in row.into_iter().enumerate() {
            let at = (start_row + r as u32, start_col + c as u32);
            if range_end.is_some_and(|(er, ec)| at.0 >= er || at.1 >= ec) {
                continue;
            }
            match cell {
                Some(cell) => sheet.cells.insert(at, cell),
                None => sheet.cells.remove(&at),
            };
        }
    }
    Ok(())
}

/// A `GridRange`: its tab and bounds, open ends running to the grid's edges.
fn grid_range(book: &Spreadsheet, range: &Value) -> Result<(usize, Rect), String> {
    let index = sheet_index(book, int(range, "sheetId")?)?;
    let sheet = &book.sheets[index];
    let bound =
        |name: &str, default: u32| -> Result<u32, String> { count(int(range, name)?.unwrap_or(default.into()), name) };
    let rect = Rect {
        start_row: bound("startRowIndex", 0)?,
        start_col: bound("startColumnIndex", 0)?,
        end_row: bound("endRowIndex", sheet.row_count)?,
        end_col: bound("endColumnIndex", sheet.column_count)?,
    };
    Ok((index, rect))
}

/// `repeatCell`: one cell's `userEnteredValue` (or its absence: empty) over a whole range.
fn repeat_cell(book: &mut Spreadsheet, body: &Value) -> Result<(), String> {
    let fields = body.get("fields").and_then(Value::as_str).unwrap_or_default();
    if fields.is_empty() {
        return Err("At least one field must be specified in 'fields'.".into());
    }
    let range = body.get("range").cloned().unwrap_or_else(|| json!({}));
    let (index, rect) = grid_range(book, &range)?;
    let sheet = &book.sheets[index];
    if rect.end_row > sheet.row_count || rect.end_col > sheet.column_count {
        return Err(format!(
            "Range ({}) exceeds grid limits. Max rows: {}, max columns: {}",
            super::a1::format_range(&sheet.title, rect),
            sheet.row_count,
            sheet.column_count
        ));
    }
    if !masks_values(fields) {
        return Ok(());
    }
    let cell = match body.pointer("/cell/userEnteredValue") {
        None | Some(Value::Null) => None,
        Some(value) => {
            Some(Cell::from_extended(value)?.with_format(number_format(body.get("cell"), masks_number_format(fields))))
        }
    };
    let sheet = &mut book.sheets[index];
    sheet.clear(rect);
    if let Some(cell) = cell {
        for row in rect.start_row..rect.end_row {
            for col in rect.start_col..rect.end_col {
                sheet.cells.insert((row, col), cell.clone());
            }
        }
    }
    Ok(())
}

/// Whether a `fields` mask of cell data names the number format.
fn masks_number_format(fields: &str) -> bool {
    fields.split(',').map(str::trim).any(|f| {
        matches!(f, "*" | "userEnteredFormat" | "userEnteredFormat.numberFormat")
            || f.starts_with("userEnteredFormat.numberFormat.")
    })
}

/// The number format of a `CellData`, when the mask writes it.
fn number_format(cell: Option<&Value>, masked: bool) -> Option<NumberFormat> {
    let format = cell?.pointer("/userEnteredFormat/numberFormat")?;
    masked.then(|| NumberFormat::from_json(format)).flatten()
}

/// Whether a `fields` mask of cell data names the value.
fn masks_values(fields: &str) -> bool {
    fields
        .split(',')
        .map(str::trim)
        .any(|f| f == "*" || f == "userEnteredValue" || f.starts_with("userEnteredValue."))
}

/// `autoResizeDimensions`: column widths are not modelled, so only the tab is checked.
fn auto_resize_dimensions(book: &mut Spreadsheet, body: &Value) -> Result<(), String> {
    let dimensions = body.get("dimensions").cloned().unwrap_or_else(|| json!({}));
    sheet_index(book, int(&dimensions, "sheetId")?)?;
    dimension(&dimensions)?;
    Ok(())
}

/// `updateSpreadsheetProperties`: the title (locale, time zone and the rest are not kept).
fn update_spreadsheet_properties(book: &mut Spreadsheet, body: &Value) -> Result<(), String> {
    let fields = body.get("fields").and_then(Value::as_str).unwrap_or_default();
    if fields.is_empty() {
        return Err("At least one field must be specified in 'fields'.".into());
    }
    if fields.split(',').any(|f| matches!(f.trim(), "*" | "title")) {
        let title = body
            .pointer("/properties/title")
            .and_then(Value::as_str)
            .unwrap_or_default();
        book.title = title.to_string();
    }
    Ok(())
}

/// `rows[].values[].userEnteredValue`; a cell without one is emptied.
fn parse_rows(body: &Value, formats: bool) -> Result<Vec<Vec<Option<Cell>>>, String> {
    let rows = body.get("rows").and_then(Value::as_array).cloned().unwrap_or_default();
    rows.iter()
        .map(|row| {
            let values = row.get("values").and_then(Value::as_array).cloned().unwrap_or_default();
            values
                .iter()
                .map(|cell| match cell.get("userEnteredValue") {
                    None | Some(Value::Null) => Ok(None),
                    Some(value) => {
                        Cell::from_extended(value).map(|c| Some(c.with_format(number_format(Some(cell), formats))))
                    }
                })
                .collect()
        })
        .collect()
}

fn dimension(body: &Value) -> Result<bool, String> {
    match body.get("dimension").and_then(Value::as_str) {
        Some("ROWS") => Ok(true),
        Some("COLUMNS") => Ok(false),
        other => Err(format!(
            "Invalid dimension: {}",
            other.unwrap_or("DIMENSION_UNSPECIFIED")
        )),
    }
}

fn append_dimension(book: &mut Spreadsheet, body: &Value) -> Result<(), String> {
    let index = sheet_index(book, int(body, "sheetId")?)?;
    let rows = dimension(body)?;
    let length = count(int(body, "length")?.unwrap_or(0), "length")?;
    if length == 0 {
        return Err("length must be greater than zero.".into());
    }
    let sheet = &mut book.sheets[index];
    if rows {
        sheet.row_count += length;
    } else {
        check_columns(sheet.column_count + length)?;
        sheet.column_count += length;
    }
    Ok(())
}

fn delete_dimension(book: &mut Spreadsheet, body: &Value) -> Result<(), String> {
    let range = body.get("range").cloned().unwrap_or_else(|| json!({}));
    let index = sheet_index(book, int(&range, "sheetId")?)?;
    let rows = dimension(&range)?;
    let sheet = &mut book.sheets[index];
    let size = if rows { sheet.row_count } else { sheet.column_count };
    let start = count(int(&range, "startIndex")?.unwrap_or(0), "startIndex")?;
    let end = count(int(&range, "endIndex")?.unwrap_or(size.into()), "endIndex")?;
    if start >= end || end > size {
        return Err(format!(
            "Invalid range: startIndex {start}, endIndex {end} on a grid of {size}"
        ));
    }
    if end - start == size {
        return Err(if rows {
            "You can't delete all the rows on the sheet.".into()
        } else {
            "You can't delete all the columns on the sheet.".into()
        });
    }
    sheet.delete_dimension(rows, start, end);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sheets::grid::RenderOption;

    pub(super) fn book_of_one() -> Spreadsheet {
        book()
    }

    fn book() -> Spreadsheet {
        Spreadsheet {
            id: "book".into(),
            title: "Book".into(),
            editors: vec![],
            readers: vec![],
            sheets: vec![Sheet::new(0, "Sheet1")],
            next_sheet_id: 100,
            applied_writes: 0,
        }
    }

    #[test]
    fn add_sheet_replies_with_its_properties_in_order() {
        let mut book = book();
        let replies = apply(
            &mut book,
            &[
                json!({"addSheet": {"properties": {"title": "Report (new)", "gridProperties": {"rowCount": 10, "columnCount": 4}}}}),
                json!({"updateSheetProperties": {"properties": {"sheetId": 0, "hidden": true}, "fields": "hidden"}}),
            ],
        )
        .unwrap();
        assert_eq!(
            replies,
            vec![
                json!({"addSheet": {"properties": {"sheetId": 100, "title": "Report (new)", "index": 1, "sheetType": "GRID", "gridProperties": {"rowCount": 10, "columnCount": 4}}}}),
                json!({}),
            ]
        );
        assert!(book.sheets[0].hidden);
    }

    #[test]
    fn a_failing_later_request_is_named_by_its_position() {
        let mut book = book();
        let error = apply(
            &mut book,
            &[
                json!({"addSheet": {"properties": {"title": "New"}}}),
                json!({"deleteSheet": {"sheetId": 5}}),
            ],
        )
        .unwrap_err();
        assert_eq!(error, "Invalid requests[1].deleteSheet: No grid with id: 5");
        let duplicate = apply(&mut book, &[json!({"addSheet": {"properties": {"title": "Sheet1"}}})]).unwrap_err();
        assert_eq!(
            duplicate,
            "Invalid requests[0].addSheet: A sheet with the name \"Sheet1\" already exists. Please enter another name."
        );
        let last = apply(
            &mut super::tests::book_of_one(),
            &[json!({"deleteSheet": {"sheetId": 0}})],
        )
        .unwrap_err();
        assert!(
            last.ends_with("You can't remove all the sheets in a document."),
            "{last}"
        );
        let missing = apply(
            &mut book,
            &[json!({"updateSheetProperties": {"properties": {"sheetId": 9, "title": "x"}, "fields": "title"}})],
        )
        .unwrap_err();
        assert_eq!(
            missing,
            "Invalid requests[0].updateSheetProperties: No sheet with id: 9"
        );
        let unset = apply(&mut book, &[json!({})]).unwrap_err();
        assert_eq!(unset, "Invalid requests[0]: No request set.");
    }

    /// What adsync's Sheets sink sends for a date column: the serial number with a
    /// `yyyy-mm-dd` date format; the formatted view shows the date, the unformatted the number.
    #[test]
    fn update_cells_with_a_number_format_reads_back_formatted_and_a_mask_without_it_does_not() {
        let mut book = book();
        let date = json!({"userEnteredValue": {"numberValue": 46352}, "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}}});
        let spend = json!({"userEnteredValue": {"numberValue": 1234.5}, "userEnteredFormat": {"numberFormat": {"type": "NUMBER", "pattern": "#,##0.00"}}});
        let update = |fields: &str, row: u32| json!({"updateCells": {"start": {"sheetId": 0, "rowIndex": row, "columnIndex": 0}, "rows": [{"values": [date, spend]}], "fields": fields}});
        apply(
            &mut book,
            &[
                update("userEnteredValue,userEnteredFormat.numberFormat", 0),
                update("userEnteredValue", 1),
            ],
        )
        .unwrap();
        apply(
            &mut book,
            &[json!({"repeatCell": {"range": {"sheetId": 0, "startRowIndex": 2, "endRowIndex": 3, "endColumnIndex": 1}, "cell": date, "fields": "*"}})],
        )
        .unwrap();
        let sheet = &book.sheets[0];
        assert_eq!(
            sheet.values(sheet.everything(), RenderOption::Formatted),
            vec![
                vec![json!("2026-11-26"), json!("1,234.50")],
                vec![json!("46352"), json!("1234.5")],
                vec![json!("2026-11-26")],
            ]
        );
        assert_eq!(
            sheet.values(sheet.everything(), RenderOption::Unformatted)[0],
            vec![json!(46352.0), json!(1234.5)]
        );
    }

    #[test]
    fn update_cells_writes_typed_values_and_refuses_cells_past_the_grid() {
        let mut book = book();
        apply(
            &mut book,
            &[json!({"updateCells": {
                "start": {"sheetId": 0, "rowIndex": 1, "columnIndex": 0},
                "rows": [{"values": [{"userEnteredValue": {"stringValue": "Brand"}}, {"userEnteredValue": {"numberValue": 12.5}}, {"userEnteredValue": {"boolValue": true}}, {"userEnteredValue": {"formulaValue": "=B2*2"}}]}],
                "fields": "userEnteredValue",
            }})],
        )
        .unwrap();
        let sheet = &book.sheets[0];
        assert_eq!(
            sheet.values(sheet.everything(), RenderOption::Formatted),
            vec![
                vec![],
                vec![json!("Brand"), json!("12.5"), json!("TRUE"), json!("=B2*2")]
            ]
        );
        let error = apply(
            &mut book,
            &[json!({"updateCells": {"start": {"sheetId": 0, "rowIndex": 999, "columnIndex": 25}, "rows": [{"values": [{}, {}]}], "fields": "*"}})],
        )
        .unwrap_err();
        assert!(
            error.starts_with("Invalid requests[0].updateCells: GridCoordinate.columnIndex"),
            "{error}"
        );
    }

    #[test]
    fn updating_a_range_clears_what_the_rows_leave_out() {
        let mut book = book();
        let cells = |values: Value| json!({"updateCells": {"range": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 0, "endColumnIndex": 2}, "rows": values, "fields": "userEnteredValue"}});
        let full = json!([{"values": [{"userEnteredValue": {"stringValue": "a"}}, {"userEnteredValue": {"stringValue": "b"}}]}, {"values": [{"userEnteredValue": {"stringValue": "c"}}]}]);
        apply(&mut book, &[cells(full)]).unwrap();
        apply(
            &mut book,
            &[cells(json!([{"values": [{"userEnteredValue": {"stringValue": "x"}}]}]))],
        )
        .unwrap();
        assert_eq!(book.sheets[0].formatted_rows(), vec![vec![json!("x")]]);
    }

    #[test]
    fn the_ten_million_cell_limit_counts_every_tab() {
        let mut book = book();
        let grow = |rows: u32| json!({"updateSheetProperties": {"properties": {"sheetId": 0, "gridProperties": {"rowCount": rows, "columnCount": 26}}, "fields": "gridProperties.rowCount,gridProperties.columnCount"}});
        apply(&mut book, &[grow(380_000)]).unwrap();
        let error = apply(&mut book, &[json!({"addSheet": {"properties": {"title": "More", "gridProperties": {"rowCount": 10_000, "columnCount": 26}}}})]).unwrap_err();
        assert_eq!(
            error,
            "Invalid requests[0].addSheet: This action would increase the number of cells in the workbook above the limit of 10000000 cells."
        );
        assert!(apply(&mut book, &[grow(400_000)]).is_err());
    }

    #[test]
    fn a_staging_tab_replaces_the_report_in_one_batch() {
        let mut book = book();
        book.sheets[0].title = "Report".into();
        apply(
            &mut book,
            &[json!({"addSheet": {"properties": {"sheetId": 7, "title": "Report (staging)"}}})],
        )
        .unwrap();
        apply(
            &mut book,
            &[
                json!({"deleteSheet": {"sheetId": 0}}),
                json!({"updateSheetProperties": {"properties": {"sheetId": 7, "title": "Report", "index": 0}, "fields": "title,index"}}),
            ],
        )
        .unwrap();
        assert_eq!(book.sheets.len(), 1);
        assert_eq!((book.sheets[0].id, book.sheets[0].title.as_str()), (7, "Report"));
        assert_eq!((book.sheets[0].row_count, book.sheets[0].column_count), (1000, 26));
    }

    #[test]
    fn repeat_cell_fills_values_and_format_only_requests_change_nothing() {
        let mut book = book();
        let range =
            json!({"sheetId": 0, "startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 0, "endColumnIndex": 2});
        apply(
            &mut book,
            &[
                json!({"repeatCell": {"range": range, "cell": {"userEnteredValue": {"numberValue": 0}}, "fields": "userEnteredValue"}}),
                json!({"repeatCell": {"range": {"sheetId": 0, "endRowIndex": 1}, "cell": {"userEnteredFormat": {"textFormat": {"bold": true}}}, "fields": "userEnteredFormat.textFormat.bold"}}),
                json!({"autoResizeDimensions": {"dimensions": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 2}}}),
                json!({"updateSpreadsheetProperties": {"properties": {"title": "Renamed"}, "fields": "title"}}),
            ],
        )
        .unwrap();
        assert_eq!(book.sheets[0].formatted_rows(), vec![vec![json!("0"), json!("0")]; 2]);
        assert_eq!(book.title, "Renamed");
        let error = apply(
            &mut book,
            &[json!({"autoResizeDimensions": {"dimensions": {"sheetId": 3, "dimension": "COLUMNS"}}})],
        )
        .unwrap_err();
        assert_eq!(error, "Invalid requests[0].autoResizeDimensions: No grid with id: 3");
    }

    #[test]
    fn dimensions_append_and_delete() {
        let mut book = book();
        apply(
            &mut book,
            &[
                json!({"appendDimension": {"sheetId": 0, "dimension": "ROWS", "length": 5}}),
                json!({"deleteDimension": {"range": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 20, "endIndex": 26}}}),
            ],
        )
        .unwrap();
        assert_eq!((book.sheets[0].row_count, book.sheets[0].column_count), (1005, 20));
    }
}
