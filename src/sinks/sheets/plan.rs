//! The `spreadsheets.batchUpdate` bodies of one delivery, built without I/O so their exact
//! JSON and order are testable.
//!
//! Rows arrive one at a time ([`WritePlan::push_row`]) as serialized `RowData`. While they
//! fit in one request they are only buffered, and [`WritePlan::finish`] writes them in place
//! with one request. Once they outgrow one request, they go to a hidden staging tab in
//! chunks and `finish` swaps it in; see the module doc of [`super`] for why.

use serde_json::{json, Value};

use super::a1::Cell;
use super::values::CELL_FIELDS;
pub(crate) use crate::query::STAGING_SUFFIX;
use crate::sinks::SinkError;

/// Recommended largest request body (Sheets limits page: "2 MB maximum payload").
pub(crate) const MAX_PAYLOAD: usize = 2_000_000;
/// Room kept in every body for the requests around the rows (addSheet, swap, envelope).
const ENVELOPE_RESERVE: usize = 4_096;
/// Cells a spreadsheet may hold across all its tabs.
pub(crate) const CELL_LIMIT: u64 = 10_000_000;

/// One tab as `spreadsheets.get` describes it (`sheets[].properties`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SheetInfo {
    /// `sheetId`.
    pub(crate) id: i64,
    /// `title`.
    pub(crate) title: String,
    /// `index`: position among the tabs.
    pub(crate) index: i64,
    /// `gridProperties.rowCount` (0 for a chart sheet).
    pub(crate) rows: u64,
    /// `gridProperties.columnCount`.
    pub(crate) columns: u64,
}

impl SheetInfo {
    /// Cells of the tab's grid, which count toward the limit whether filled or not.
    pub(crate) fn cells(&self) -> u64 {
        self.rows * self.columns
    }

    /// The tabs in a `spreadsheets.get` response.
    pub(crate) fn parse_all(body: &Value) -> Result<Vec<SheetInfo>, String> {
        let sheets = body["sheets"].as_array().ok_or("no sheets[] in the spreadsheet")?;
        sheets
            .iter()
            .map(|sheet| {
                let properties = &sheet["properties"];
                let grid = &properties["gridProperties"];
                Ok(SheetInfo {
                    id: properties["sheetId"].as_i64().unwrap_or(0),
                    title: properties["title"]
                        .as_str()
                        .ok_or("a sheet without a title")?
                        .to_string(),
                    index: properties["index"].as_i64().unwrap_or(0),
                    rows: grid["rowCount"].as_u64().unwrap_or(0),
                    columns: grid["columnCount"].as_u64().unwrap_or(0),
                })
            })
            .collect()
    }
}

/// Where a delivery writes and what is there now.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Spreadsheet id, for messages.
    pub(crate) spreadsheet_id: String,
    /// Tab title.
    pub(crate) sheet: String,
    /// Where the header goes.
    pub(crate) start: Cell,
    /// Columns of every row.
    pub(crate) width: usize,
    /// The tabs as they are now.
    pub(crate) sheets: Vec<SheetInfo>,
}

/// The requests of one delivery; see the module doc.
#[derive(Debug)]
pub(crate) struct WritePlan {
    target: Target,
    existing: Option<SheetInfo>,
    leftover_staging: Option<SheetInfo>,
    /// Cells of the tabs this delivery leaves alone.
    other_cells: u64,
    /// The id the staging tab gets (or a missing tab, written in place).
    new_id: i64,
    /// Serialized `RowData` not yet sent, and their total length.
    pending: Vec<String>,
    pending_bytes: usize,
    /// Once rows went to staging: rows (counted from the grid's top) it holds.
    staged_rows: Option<u64>,
}

impl WritePlan {
    /// A plan for `target`.
    pub(crate) fn new(target: Target) -> Self {
        let staging_title = staging_title(&target.sheet);
        let existing = target.sheets.iter().find(|s| s.title == target.sheet).cloned();
        let leftover_staging = target.sheets.iter().find(|s| s.title == staging_title).cloned();
        let other_cells = target
            .sheets
            .iter()
            .filter(|s| s.title != target.sheet && s.title != staging_title)
            .map(SheetInfo::cells)
            .sum();
        let new_id = target.sheets.iter().map(|s| s.id).max().map_or(1, |id| id + 1);
        Self {
            target,
            existing,
            leftover_staging,
            other_cells,
            new_id,
            pending: Vec::new(),
            pending_bytes: 0,
            staged_rows: None,
        }
    }

    /// The tab as it is now, if it exists.
    pub(crate) fn existing(&self) -> Option<&SheetInfo> {
        self.existing.as_ref()
    }

    /// Adds one serialized `RowData`; returns a body to send first when the buffered rows
    /// would otherwise outgrow one request.
    pub(crate) fn push_row(&mut self, row: String) -> Result<Option<String>, SinkError> {
        let body = if !self.pending.is_empty() && ENVELOPE_RESERVE + self.pending_bytes + row.len() + 1 > MAX_PAYLOAD {
            Some(self.stage(Vec::new())?)
        } else {
            None
        };
        self.pending_bytes += row.len() + 1;
        self.pending.push(row);
        Ok(body)
    }

    /// The bodies that make the delivery visible, in order; the last one is the single
    /// all-or-nothing step readers see.
    pub(crate) fn finish(mut self) -> Result<Vec<String>, SinkError> {
        if self.staged_rows.is_none() {
            return Ok(vec![self.in_place()?]);
        }
        let swap = self.swap();
        Ok(vec![self.stage(swap)?])
    }

    /// The body deleting the staging tab of a delivery that will not be committed, if rows
    /// went to one.
    pub(crate) fn abort(&self) -> Option<String> {
        self.staged_rows
            .map(|_| batch_body(&[json!({"deleteSheet": {"sheetId": self.new_id}})]))
    }

    /// The whole result written over the tab in one request: grow its grid if needed, then
    /// one `updateCells` over the range from the start cell to the grid's end, which writes
    /// the rows and clears every cell the rows do not cover.
    fn in_place(&mut self) -> Result<String, SinkError> {
        let (rows, columns) = self.needed_grid(self.pending.len() as u64);
        let mut requests = self.delete_leftover();
        let id = match &self.existing {
            Some(sheet) => {
                self.check_cells(sheet.rows.max(rows) * sheet.columns.max(columns))?;
                if rows > sheet.rows {
                    requests.push(append_dimension(sheet.id, "ROWS", rows - sheet.rows));
                }
                if columns > sheet.columns {
                    requests.push(append_dimension(sheet.id, "COLUMNS", columns - sheet.columns));
                }
                sheet.id
            }
            None => {
                self.check_cells(rows * columns)?;
                requests.push(add_sheet(self.new_id, &self.target.sheet, false, rows, columns));
                self.new_id
            }
        };
        let range = json!({
            "sheetId": id,
            "startRowIndex": self.target.start.row,
            "startColumnIndex": self.target.start.column,
        });
        Ok(self.body_with_rows(requests, "range", range, Vec::new()))
    }

    /// Sends the buffered rows to the staging tab (creating it on the first call), followed
    /// in the same body by `then`.
    fn stage(&mut self, then: Vec<Value>) -> Result<String, SinkError> {
        let new_rows = self.pending.len() as u64;
        let (mut requests, first_row) = match self.staged_rows {
            None => {
                let (rows, columns) = self.needed_grid(new_rows);
                self.check_staging(rows * columns)?;
                let mut requests = self.delete_leftover();
                requests.push(add_sheet(
                    self.new_id,
                    &staging_title(&self.target.sheet),
                    true,
                    rows,
                    columns,
                ));
                (requests, self.target.start.row as u64)
            }
            Some(staged) => {
                let (_, columns) = self.needed_grid(0);
                self.check_staging((staged + new_rows) * columns)?;
                let grow = (new_rows > 0).then(|| append_dimension(self.new_id, "ROWS", new_rows));
                (grow.into_iter().collect(), staged)
            }
        };
        self.staged_rows = Some(first_row + new_rows);
        let start = json!({"sheetId": self.new_id, "rowIndex": first_row, "columnIndex": self.target.start.column});
        if new_rows == 0 {
            requests.extend(then);
            return Ok(batch_body(&requests));
        }
        Ok(self.body_with_rows(requests, "start", start, then))
    }

    /// Shows the staging tab in place of the tab: unhide first (a spreadsheet must keep a
    /// visible tab), delete the old tab, then take its title and position.
    fn swap(&self) -> Vec<Value> {
        let mut requests = vec![json!({"updateSheetProperties": {
            "properties": {"sheetId": self.new_id, "hidden": false},
            "fields": "hidden",
        }})];
        match &self.existing {
            Some(old) => {
                requests.push(json!({"deleteSheet": {"sheetId": old.id}}));
                requests.push(json!({"updateSheetProperties": {
                    "properties": {"sheetId": self.new_id, "title": self.target.sheet, "index": old.index},
                    "fields": "title,index",
                }}));
            }
            None => requests.push(json!({"updateSheetProperties": {
                "properties": {"sheetId": self.new_id, "title": self.target.sheet},
                "fields": "title",
            }})),
        }
        requests
    }

    /// Grid size holding the start offset, what is staged and `more` rows.
    fn needed_grid(&self, more: u64) -> (u64, u64) {
        let rows = self.staged_rows.unwrap_or(self.target.start.row as u64) + more;
        let columns = (self.target.start.column + self.target.width) as u64;
        (rows.max(1), columns)
    }

    fn delete_leftover(&self) -> Vec<Value> {
        self.leftover_staging
            .iter()
            .map(|sheet| json!({"deleteSheet": {"sheetId": sheet.id}}))
            .collect()
    }

    /// While staging, the old tab still exists beside it.
    fn check_staging(&self, staging_cells: u64) -> Result<(), SinkError> {
        let old = self.existing.as_ref().map_or(0, SheetInfo::cells);
        self.check_total(self.other_cells + old, staging_cells)
    }

    fn check_cells(&self, tab_cells: u64) -> Result<(), SinkError> {
        self.check_total(self.other_cells, tab_cells)
    }

    fn check_total(&self, existing: u64, needed: u64) -> Result<(), SinkError> {
        if existing + needed <= CELL_LIMIT {
            return Ok(());
        }
        Err(SinkError::CellLimit {
            spreadsheet: self.target.spreadsheet_id.clone(),
            sheet: self.target.sheet.clone(),
            existing,
            needed,
            limit: CELL_LIMIT,
        })
    }

    /// `{"requests":[…, {"updateCells":{<key>:<at>,"fields":…,"rows":[pending]}}, …then]}`,
    /// spliced as text so the rows are serialized once.
    fn body_with_rows(&mut self, before: Vec<Value>, key: &str, at: Value, then: Vec<Value>) -> String {
        let rows = std::mem::take(&mut self.pending).join(",");
        self.pending_bytes = 0;
        let mut body = String::with_capacity(rows.len() + ENVELOPE_RESERVE);
        body.push_str("{\"requests\":[");
        for request in &before {
            body.push_str(&request.to_string());
            body.push(',');
        }
        body.push_str(&format!(
            "{{\"updateCells\":{{{}:{at},\"fields\":{},\"rows\":[{rows}]}}}}",
            json!(key),
            json!(CELL_FIELDS)
        ));
        for request in &then {
            body.push(',');
            body.push_str(&request.to_string());
        }
        body.push_str("]}");
        body
    }
}

/// The hidden tab a large result is written to before it is swapped in.
pub(crate) fn staging_title(sheet: &str) -> String {
    format!("{sheet}{STAGING_SUFFIX}")
}

fn batch_body(requests: &[Value]) -> String {
    json!({ "requests": requests }).to_string()
}

fn add_sheet(id: i64, title: &str, hidden: bool, rows: u64, columns: u64) -> Value {
    json!({"addSheet": {"properties": {
        "sheetId": id,
        "title": title,
        "hidden": hidden,
        "gridProperties": {"rowCount": rows, "columnCount": columns},
    }}})
}

fn append_dimension(id: i64, dimension: &str, length: u64) -> Value {
    json!({"appendDimension": {"sheetId": id, "dimension": dimension, "length": length}})
}

/// `{"values":[cells…]}`.
pub(crate) fn row_data(cells: impl IntoIterator<Item = Value>) -> String {
    json!({ "values": cells.into_iter().collect::<Vec<_>>() }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(id: i64, title: &str, index: i64, rows: u64, columns: u64) -> SheetInfo {
        SheetInfo {
            id,
            title: title.into(),
            index,
            rows,
            columns,
        }
    }

    fn target(sheets: Vec<SheetInfo>, start: Cell, width: usize) -> Target {
        Target {
            spreadsheet_id: "book".into(),
            sheet: "Report".into(),
            start,
            width,
            sheets,
        }
    }

    fn text_row(cells: &[&str]) -> String {
        row_data(cells.iter().map(|c| json!({"userEnteredValue": {"stringValue": c}})))
    }

    fn parse(body: &str) -> Value {
        serde_json::from_str(body).expect("bodies are JSON")
    }

    #[test]
    fn a_small_result_is_one_in_place_update_that_clears_what_it_does_not_cover() {
        let sheets = vec![sheet(0, "Notes", 0, 10, 5), sheet(7, "Report", 1, 100, 3)];
        let mut plan = WritePlan::new(target(sheets, Cell { row: 2, column: 1 }, 3));
        for row in [
            text_row(&["date", "campaign", "clicks"]),
            text_row(&["2025-03-01", "Brand", "42"]),
        ] {
            assert_eq!(plan.push_row(row).unwrap(), None);
        }
        let bodies = plan.finish().unwrap();
        assert_eq!(bodies.len(), 1);
        assert_eq!(
            parse(&bodies[0]),
            json!({"requests": [
                {"appendDimension": {"sheetId": 7, "dimension": "COLUMNS", "length": 1}},
                {"updateCells": {
                    "range": {"sheetId": 7, "startRowIndex": 2, "startColumnIndex": 1},
                    "fields": "userEnteredValue,userEnteredFormat.numberFormat",
                    "rows": [
                        {"values": [{"userEnteredValue": {"stringValue": "date"}}, {"userEnteredValue": {"stringValue": "campaign"}}, {"userEnteredValue": {"stringValue": "clicks"}}]},
                        {"values": [{"userEnteredValue": {"stringValue": "2025-03-01"}}, {"userEnteredValue": {"stringValue": "Brand"}}, {"userEnteredValue": {"stringValue": "42"}}]},
                    ],
                }},
            ]})
        );
    }

    #[test]
    fn a_missing_tab_is_added_and_a_leftover_staging_tab_deleted_in_the_same_request() {
        let sheets = vec![
            sheet(3, "Report (adsync staging)", 1, 5, 5),
            sheet(0, "Sheet1", 0, 1000, 26),
        ];
        let mut plan = WritePlan::new(target(sheets, Cell::default(), 2));
        plan.push_row(text_row(&["a", "b"])).unwrap();
        let body = parse(&plan.finish().unwrap()[0]);
        let requests = body["requests"].as_array().unwrap();
        assert_eq!(requests[0], json!({"deleteSheet": {"sheetId": 3}}));
        assert_eq!(
            requests[1],
            json!({"addSheet": {"properties": {"sheetId": 4, "title": "Report", "hidden": false,
                   "gridProperties": {"rowCount": 1, "columnCount": 2}}}})
        );
        assert_eq!(
            requests[2]["updateCells"]["range"],
            json!({"sheetId": 4, "startRowIndex": 0, "startColumnIndex": 0})
        );
        assert_eq!(requests.len(), 3);
    }

    #[test]
    fn a_large_result_goes_to_staging_in_chunks_under_2_mb_and_is_swapped_in_by_one_request() {
        let sheets = vec![sheet(0, "Other", 0, 10, 10), sheet(5, "Report", 2, 50_000, 4)];
        let mut plan = WritePlan::new(target(sheets, Cell::default(), 2));
        let row = text_row(&[&"x".repeat(5_000), "y"]);
        let mut bodies = Vec::new();
        let total_rows = 1_000u64;
        for _ in 0..total_rows {
            bodies.extend(plan.push_row(row.clone()).unwrap());
        }
        bodies.extend(plan.finish().unwrap());
        assert!(bodies.len() >= 3, "5 MB of rows take at least 3 requests");
        for body in &bodies {
            assert!(body.len() <= MAX_PAYLOAD, "a body of {} bytes", body.len());
        }

        let bodies: Vec<Value> = bodies.iter().map(|b| parse(b)).collect();
        let first = bodies[0]["requests"].as_array().unwrap();
        let first_rows = first[1]["updateCells"]["rows"].as_array().unwrap().len() as u64;
        assert_eq!(
            first[0],
            json!({"addSheet": {"properties": {"sheetId": 6, "title": "Report (adsync staging)", "hidden": true,
                   "gridProperties": {"rowCount": first_rows, "columnCount": 2}}}})
        );
        assert_eq!(
            first[1]["updateCells"]["start"],
            json!({"sheetId": 6, "rowIndex": 0, "columnIndex": 0})
        );

        // Every later chunk grows the staging grid by exactly its rows and writes below the last.
        let mut written = first_rows;
        for body in &bodies[1..] {
            let requests = body["requests"].as_array().unwrap();
            let rows = requests[1]["updateCells"]["rows"].as_array().unwrap().len() as u64;
            assert_eq!(
                requests[0],
                json!({"appendDimension": {"sheetId": 6, "dimension": "ROWS", "length": rows}})
            );
            assert_eq!(requests[1]["updateCells"]["start"]["rowIndex"], json!(written));
            written += rows;
        }
        assert_eq!(written, total_rows);

        // The last body ends with the swap: nothing of the new tab is visible before it.
        let last = bodies.last().unwrap()["requests"].as_array().unwrap();
        assert_eq!(
            last[2..],
            [
                json!({"updateSheetProperties": {"properties": {"sheetId": 6, "hidden": false}, "fields": "hidden"}}),
                json!({"deleteSheet": {"sheetId": 5}}),
                json!({"updateSheetProperties": {"properties": {"sheetId": 6, "title": "Report", "index": 2}, "fields": "title,index"}}),
            ]
        );
        for body in &bodies[..bodies.len() - 1] {
            assert!(!body.to_string().contains("deleteSheet"));
        }
    }

    #[test]
    fn the_cell_limit_is_checked_before_writing_with_the_counts() {
        let sheets = vec![sheet(0, "Big", 0, 9_999_990, 1), sheet(1, "Report", 1, 5, 2)];
        let mut plan = WritePlan::new(target(sheets, Cell::default(), 2));
        for _ in 0..6 {
            plan.push_row(text_row(&["a", "b"])).unwrap();
        }
        let error = plan.finish().unwrap_err();
        assert!(
            matches!(
                error,
                SinkError::CellLimit {
                    existing: 9_999_990,
                    needed: 12,
                    ..
                }
            ),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains("book") && message.contains("10000000"), "{message}");
    }

    #[test]
    fn staging_counts_the_old_tab_too() {
        let sheets = vec![sheet(0, "Report", 0, 4_000_000, 2)];
        let mut plan = WritePlan::new(target(sheets, Cell::default(), 2));
        let row = text_row(&[&"x".repeat(100_000), "y"]);
        let mut result = Ok(None);
        for _ in 0..40 {
            result = plan.push_row(row.clone());
            if result.is_err() {
                break;
            }
        }
        // 8M old cells + a staging tab of 20 rows × 2 columns fit; the check passes.
        assert!(result.is_ok());
        let sheets = vec![sheet(0, "Report", 0, 5_000_000, 2)];
        let mut plan = WritePlan::new(target(sheets, Cell::default(), 2));
        let mut failed = None;
        for _ in 0..40 {
            if let Err(error) = plan.push_row(row.clone()) {
                failed = Some(error);
                break;
            }
        }
        assert!(
            matches!(
                failed,
                Some(SinkError::CellLimit {
                    existing: 10_000_000,
                    ..
                })
            ),
            "{failed:?}"
        );
    }

    #[test]
    fn spreadsheets_get_responses_parse_into_tabs() {
        let body = json!({"spreadsheetId": "book", "sheets": [
            {"properties": {"sheetId": 0, "title": "Sheet1", "index": 0, "sheetType": "GRID",
                            "gridProperties": {"rowCount": 1000, "columnCount": 26}}},
            {"properties": {"sheetId": 9, "title": "Chart", "index": 1, "sheetType": "OBJECT"}},
        ]});
        assert_eq!(
            SheetInfo::parse_all(&body).unwrap(),
            vec![sheet(0, "Sheet1", 0, 1000, 26), sheet(9, "Chart", 1, 0, 0)]
        );
        assert!(SheetInfo::parse_all(&json!({})).is_err());
    }
}
