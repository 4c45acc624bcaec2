//! The sink against a small in-test model of the Sheets endpoints it uses: `spreadsheets.get`,
//! `values.get` and an all-or-nothing `spreadsheets.batchUpdate` of addSheet, deleteSheet,
//! appendDimension, updateSheetProperties and updateCells (writes outside the grid fail, as
//! they do on Google). The sink against the sandbox's emulation is in [`against_sandbox`].

mod against_sandbox;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, Query as UrlQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde_json::json;

use super::*;
use crate::http::testing::google_client;
use crate::platform::SHEETS_SCOPE as SCOPE;

const CONNECTION: &str = "google-test";
const BOOK: &str = "book-1";

#[derive(Debug, Clone, Default)]
struct Tab {
    id: i64,
    title: String,
    hidden: bool,
    rows: u64,
    columns: u64,
    /// `CellData` by (row, column).
    cells: BTreeMap<(u64, u64), Value>,
}

#[derive(Debug, Default)]
struct Book {
    /// In index order.
    tabs: Vec<Tab>,
    /// Answers for the next batchUpdates instead of applying them.
    faults: VecDeque<(u16, Value)>,
    /// Bodies of the batchUpdates received (applied or not).
    updates: Vec<String>,
}

type Shared = Arc<Mutex<Book>>;

fn rpc_error(code: u16, status: &str, message: &str) -> (u16, Value) {
    (
        code,
        json!({"error": {"code": code, "message": message, "status": status}}),
    )
}

fn reply((code, body): (u16, Value)) -> (StatusCode, Json<Value>) {
    (StatusCode::from_u16(code).unwrap(), Json(body))
}

impl Book {
    fn tab(&self, title: &str) -> Option<&Tab> {
        self.tabs.iter().find(|t| t.title == title)
    }

    /// The tab's values as text: numbers in shortest form, dates as `yyyy-mm-dd`.
    fn grid(&self, title: &str) -> Vec<Vec<String>> {
        let tab = self.tab(title).unwrap_or_else(|| panic!("no tab {title}"));
        let mut grid = vec![vec![String::new(); tab.columns as usize]; tab.rows as usize];
        for ((row, column), cell) in &tab.cells {
            grid[*row as usize][*column as usize] = display(cell);
        }
        grid
    }

    fn apply(&mut self, requests: &[Value]) -> Result<(), String> {
        for request in requests {
            let (kind, body) = request
                .as_object()
                .and_then(|o| o.iter().next())
                .ok_or("empty request")?;
            match kind.as_str() {
                "addSheet" => {
                    let p = &body["properties"];
                    let title = p["title"].as_str().ok_or("no title")?.to_string();
                    let id = p["sheetId"].as_i64().ok_or("no sheetId")?;
                    if self.tab(&title).is_some() || self.tabs.iter().any(|t| t.id == id) {
                        return Err(format!("A sheet with the name \"{title}\" or id {id} already exists."));
                    }
                    self.tabs.push(Tab {
                        id,
                        title,
                        hidden: p["hidden"].as_bool().unwrap_or(false),
                        rows: p["gridProperties"]["rowCount"].as_u64().unwrap_or(1000),
                        columns: p["gridProperties"]["columnCount"].as_u64().unwrap_or(26),
                        cells: BTreeMap::new(),
                    });
                }
                "deleteSheet" => {
                    let at = self.position(body["sheetId"].as_i64())?;
                    self.tabs.remove(at);
                    if self.tabs.iter().all(|t| t.hidden) {
                        return Err("You can't remove all the visible sheets in a document.".into());
                    }
                }
                "appendDimension" => {
                    let at = self.position(body["sheetId"].as_i64())?;
                    let length = body["length"]
                        .as_u64()
                        .filter(|l| *l > 0)
                        .ok_or("length must be positive")?;
                    match body["dimension"].as_str() {
                        Some("ROWS") => self.tabs[at].rows += length,
                        Some("COLUMNS") => self.tabs[at].columns += length,
                        _ => return Err("bad dimension".into()),
                    }
                }
                "updateSheetProperties" => {
                    let p = &body["properties"];
                    let at = self.position(p["sheetId"].as_i64())?;
                    for field in body["fields"].as_str().ok_or("no fields")?.split(',') {
                        match field {
                            "hidden" => self.tabs[at].hidden = p["hidden"].as_bool().unwrap_or(false),
                            "title" => {
                                let title = p["title"].as_str().unwrap_or_default();
                                if self.tab(title).is_some() {
                                    return Err(format!("A sheet with the name \"{title}\" already exists."));
                                }
                                self.tabs[at].title = title.to_string();
                            }
                            "index" => {
                                let tab = self.tabs.remove(at);
                                let index = (p["index"].as_u64().unwrap_or(0) as usize).min(self.tabs.len());
                                self.tabs.insert(index, tab);
                            }
                            other => return Err(format!("unsupported field {other}")),
                        }
                    }
                }
                "updateCells" => self.update_cells(body)?,
                other => return Err(format!("unsupported request {other}")),
            }
        }
        Ok(())
    }

    fn position(&self, id: Option<i64>) -> Result<usize, String> {
        self.tabs
            .iter()
            .position(|t| Some(t.id) == id)
            .ok_or_else(|| format!("No grid with id: {id:?}"))
    }

    fn update_cells(&mut self, body: &Value) -> Result<(), String> {
        assert_eq!(body["fields"], json!(values::CELL_FIELDS));
        let (at, row0, column0) = match (&body.get("start"), &body.get("range")) {
            (Some(start), None) => (
                self.position(start["sheetId"].as_i64())?,
                start["rowIndex"].as_u64().unwrap_or(0),
                start["columnIndex"].as_u64().unwrap_or(0),
            ),
            (None, Some(range)) => {
                let at = self.position(range["sheetId"].as_i64())?;
                let tab = &mut self.tabs[at];
                let (r0, c0) = (
                    range["startRowIndex"].as_u64().unwrap_or(0),
                    range["startColumnIndex"].as_u64().unwrap_or(0),
                );
                let (r1, c1) = (
                    range["endRowIndex"].as_u64().unwrap_or(tab.rows),
                    range["endColumnIndex"].as_u64().unwrap_or(tab.columns),
                );
                tab.cells
                    .retain(|(r, c), _| !(r0..r1).contains(r) || !(c0..c1).contains(c));
                (at, r0, c0)
            }
            _ => return Err("updateCells needs start or range".into()),
        };
        let tab = &mut self.tabs[at];
        for (i, row) in body["rows"].as_array().into_iter().flatten().enumerate() {
            for (j, cell) in row["values"].as_array().into_iter().flatten().enumerate() {
                let (r, c) = (row0 + i as u64, column0 + j as u64);
                if r >= tab.rows || c >= tab.columns {
                    return Err(format!(
                        "Range ({r},{c}) exceeds grid limits. Max rows: {}, max columns: {}",
                        tab.rows, tab.columns
                    ));
                }
                if cell.as_object().is_some_and(|o| o.is_empty()) {
                    tab.cells.remove(&(r, c));
                } else {
                    tab.cells.insert((r, c), cell.clone());
                }
            }
        }
        Ok(())
    }
}

fn is_date(cell: &Value) -> bool {
    cell["userEnteredFormat"]["numberFormat"]["type"] == "DATE"
}

fn display(cell: &Value) -> String {
    let value = &cell["userEnteredValue"];
    if let Some(number) = value["numberValue"].as_f64() {
        if is_date(cell) {
            let epoch = NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
            return (epoch + chrono::Duration::days(number as i64)).to_string();
        }
        // f64's Display is the shortest text that reads back as the same number ("12.3", "1").
        return number.to_string();
    }
    value["stringValue"].as_str().unwrap_or_default().to_string()
}

/// `UNFORMATTED_VALUE` with `FORMATTED_STRING` dates.
fn unformatted(cell: &Value) -> Value {
    let value = &cell["userEnteredValue"];
    match value["numberValue"].as_f64() {
        Some(_) if is_date(cell) => json!(display(cell)),
        Some(number) => json!(number),
        None => value["stringValue"].clone(),
    }
}

async fn spreadsheet(State(book): State<Shared>, UrlPath(target): UrlPath<String>) -> (StatusCode, Json<Value>) {
    let book = book.lock().unwrap();
    assert_eq!(target, BOOK);
    let sheets: Vec<Value> = book
        .tabs
        .iter()
        .enumerate()
        .map(|(index, t)| {
            json!({"properties": {"sheetId": t.id, "title": t.title, "index": index, "sheetType": "GRID", "hidden": t.hidden,
                                   "gridProperties": {"rowCount": t.rows, "columnCount": t.columns}}})
        })
        .collect();
    reply((200, json!({"spreadsheetId": BOOK, "sheets": sheets})))
}

async fn batch_update(
    State(book): State<Shared>,
    UrlPath(target): UrlPath<String>,
    body: String,
) -> (StatusCode, Json<Value>) {
    assert_eq!(target, format!("{BOOK}:batchUpdate"));
    let mut book = book.lock().unwrap();
    book.updates.push(body.clone());
    if let Some(fault) = book.faults.pop_front() {
        return reply(fault);
    }
    let requests: Value = serde_json::from_str(&body).unwrap();
    let before = std::mem::take(&mut book.tabs);
    book.tabs = before.clone();
    match book.apply(requests["requests"].as_array().unwrap()) {
        Ok(()) => reply((200, json!({"spreadsheetId": BOOK, "replies": []}))),
        Err(message) => {
            book.tabs = before;
            reply(rpc_error(
                400,
                "INVALID_ARGUMENT",
                &format!("Invalid requests: {message}"),
            ))
        }
    }
}

async fn values_get(
    State(book): State<Shared>,
    UrlPath((target, range)): UrlPath<(String, String)>,
    UrlQuery(params): UrlQuery<std::collections::HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    assert_eq!(target, BOOK);
    assert_eq!(params["valueRenderOption"], "UNFORMATTED_VALUE");
    assert_eq!(params["dateTimeRenderOption"], "FORMATTED_STRING");
    let book = book.lock().unwrap();
    let (quoted, cells) = range.rsplit_once('!').unwrap();
    let title = quoted.trim_matches('\'').replace("''", "'");
    let (first, last) = cells.split_once(':').unwrap();
    let start = a1::parse_cell(first).unwrap();
    let end_column = a1::column_index(last).unwrap() as u64;
    let Some(tab) = book.tab(&title) else {
        return reply(rpc_error(
            400,
            "INVALID_ARGUMENT",
            &format!("Unable to parse range: {range}"),
        ));
    };
    let mut rows: Vec<Vec<Value>> = (start.row as u64..tab.rows)
        .map(|r| {
            let mut row: Vec<Value> = (start.column as u64..=end_column)
                .map(|c| tab.cells.get(&(r, c)).map_or(json!(""), unformatted))
                .collect();
            while row.last() == Some(&json!("")) {
                row.pop();
            }
            row
        })
        .collect();
    while rows.last().is_some_and(Vec::is_empty) {
        rows.pop();
    }
    let mut body = json!({"range": range, "majorDimension": "ROWS"});
    if !rows.is_empty() {
        body["values"] = json!(rows);
    }
    reply((200, body))
}

struct Harness {
    book: Shared,
    api: ApiClient,
    base: Url,
    quota: SheetsQuota,
    _dir: tempfile::TempDir,
}

async fn harness(tabs: Vec<Tab>) -> Harness {
    let book: Shared = Arc::new(Mutex::new(Book {
        tabs,
        ..Book::default()
    }));
    let app = Router::new()
        .route("/v4/spreadsheets/{target}", get(spreadsheet).post(batch_update))
        .route("/v4/spreadsheets/{target}/values/{range}", get(values_get))
        .with_state(book.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let (_, api) = google_client(dir.path(), CONNECTION, base.as_str(), "sheets-token".into(), &[SCOPE]).await;
    Harness {
        book,
        api,
        base,
        quota: SheetsQuota::new(60, 300),
        _dir: dir,
    }
}

const COLUMNS: [&str; 4] = ["date", "campaign_id", "campaign", "spend"];

impl Harness {
    fn sink(&self, mode: WriteMode, start_cell: Option<&str>) -> SheetsSink {
        let target = SheetsTarget {
            connection: CONNECTION.into(),
            spreadsheet_id: BOOK.into(),
            sheet: "Report".into(),
            start_cell: start_cell.map(str::to_string),
            mode,
            value_input: ValueInput::UserEntered,
        };
        let columns = COLUMNS.iter().map(|c| c.to_string()).collect();
        SheetsSink::new(
            self.api.clone(),
            self.base.clone(),
            "test-app".into(),
            self.quota.clone(),
            target,
            columns,
            Some(0),
        )
    }

    fn grid(&self) -> Vec<Vec<String>> {
        self.book.lock().unwrap().grid("Report")
    }

    fn titles(&self) -> Vec<(String, bool)> {
        self.book
            .lock()
            .unwrap()
            .tabs
            .iter()
            .map(|t| (t.title.clone(), t.hidden))
            .collect()
    }
}

fn tab(id: i64, title: &str, rows: u64, columns: u64) -> Tab {
    Tab {
        id,
        title: title.into(),
        rows,
        columns,
        ..Tab::default()
    }
}

fn day(d: u32) -> String {
    format!("2026-01-{d:02}")
}

fn window(first: u32, last: u32) -> DateWindow {
    DateWindow::new(day(first).parse().unwrap(), day(last).parse().unwrap())
}

fn batch(rows: &[[&str; 4]]) -> RowBatch {
    let mut batch = RowBatch::new(4);
    for row in rows {
        batch.push_row(row.iter());
    }
    batch
}

fn texts(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect()
}

async fn deliver(sink: &SheetsSink, window: DateWindow, rows: &[[&str; 4]]) -> Result<DeliveryReport, SinkError> {
    let mut delivery = sink.begin(window).await?;
    delivery.write_batch(&batch(rows)).await?;
    delivery.commit().await
}

#[tokio::test]
async fn replace_creates_the_tab_types_the_cells_and_a_smaller_result_clears_the_rest_in_place() {
    let h = harness(vec![tab(0, "Sheet1", 10, 5)]).await;
    let sink = h.sink(WriteMode::Replace, Some("B2"));
    let d1 = day(1);
    let report = deliver(
        &sink,
        window(1, 2),
        &[
            [&d1, "120330000000000001", "Brand", "12.30"],
            [&d1, "7", "=HYPERLINK()", "1234567890123456"],
        ],
    )
    .await
    .unwrap();
    assert_eq!((report.rows_written, report.rows_kept), (2, 0));
    assert_eq!(report.path, PathBuf::from("sheets:book-1/Report"));
    assert_eq!(
        h.grid(),
        texts(&[
            &["", "", "", "", ""],
            &["", "date", "campaign_id", "campaign", "spend"],
            &["", "2026-01-01", "120330000000000001", "Brand", "12.3"],
            &["", "2026-01-01", "7", "=HYPERLINK()", "1234567890123456"],
        ])
    );
    {
        let book = h.book.lock().unwrap();
        let report = book.tab("Report").unwrap();
        assert_eq!(report.cells[&(2, 4)]["userEnteredValue"], json!({"numberValue": 12.3}));
        assert_eq!(
            report.cells[&(2, 2)]["userEnteredValue"],
            json!({"stringValue": "120330000000000001"})
        );
        assert_eq!(
            report.cells[&(3, 4)]["userEnteredValue"],
            json!({"stringValue": "1234567890123456"})
        );
        assert!(is_date(&report.cells[&(2, 1)]));
        assert_eq!(book.updates.len(), 1, "a small replace is one request");
    }

    let report = deliver(&sink, window(2, 2), &[[&day(2), "8", "Promo", "1"]])
        .await
        .unwrap();
    assert_eq!(report.rows_written, 1);
    assert_eq!(
        h.grid(),
        texts(&[
            &["", "", "", "", ""],
            &["", "date", "campaign_id", "campaign", "spend"],
            &["", "2026-01-02", "8", "Promo", "1"],
            &["", "", "", "", ""],
        ])
    );
    let book = h.book.lock().unwrap();
    assert_eq!(book.tab("Report").unwrap().id, 1, "the tab kept its sheetId");
}

#[tokio::test]
async fn a_large_replace_streams_through_a_hidden_staging_tab_and_a_failed_swap_keeps_the_old_tab() {
    let h = harness(vec![
        tab(0, "Notes", 3, 3),
        tab(4, "Report", 2, 4),
        tab(9, "Last", 3, 3),
    ])
    .await;
    let sink = h.sink(WriteMode::Replace, None);
    deliver(&sink, window(1, 1), &[[&day(1), "1", "old", "5"]])
        .await
        .unwrap();
    let old = h.grid();

    let long = "x".repeat(5_000);
    let d1 = day(1);
    let rows: Vec<[&str; 4]> = (0..1000).map(|_| [d1.as_str(), "2", long.as_str(), "3"]).collect();

    // The swap (the last request) fails for good: the old tab stays, the staging tab is hidden.
    let mut delivery = sink.begin(window(1, 1)).await.unwrap();
    for chunk in rows.chunks(100) {
        delivery.write_batch(&batch(chunk)).await.unwrap();
    }
    let staged = h.book.lock().unwrap().updates.len() - 1;
    assert_eq!(
        staged, 2,
        "5 MB of rows went to staging in two requests before the commit"
    );
    assert!(h.titles().contains(&("Report (adsync staging)".into(), true)));
    h.book.lock().unwrap().faults.push_back(rpc_error(
        403,
        "PERMISSION_DENIED",
        "The caller does not have permission",
    ));
    let error = delivery.commit().await.unwrap_err();
    assert!(
        matches!(
            error,
            SinkError::Sheets {
                source: FetchError::Permission(_),
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(h.grid(), old);

    // The next delivery deletes the leftover staging tab first, then swaps in at the same index.
    let mut delivery = sink.begin(window(1, 1)).await.unwrap();
    for chunk in rows.chunks(100) {
        delivery.write_batch(&batch(chunk)).await.unwrap();
    }
    let report = delivery.commit().await.unwrap();
    assert_eq!(report.rows_written, 1000);
    assert_eq!(
        h.titles(),
        vec![
            ("Notes".into(), false),
            ("Report".into(), false),
            ("Last".into(), false)
        ]
    );
    let grid = h.grid();
    assert_eq!(grid.len(), 1001);
    assert_eq!(grid[1000], vec![d1.clone(), "2".into(), long.clone(), "3".into()]);
    for body in &h.book.lock().unwrap().updates {
        assert!(body.len() <= plan::MAX_PAYLOAD);
    }
}

#[tokio::test]
async fn abort_deletes_the_staging_tab() {
    let h = harness(vec![tab(0, "Report", 5, 4)]).await;
    let sink = h.sink(WriteMode::Replace, None);
    let long = "y".repeat(10_000);
    let d1 = day(1);
    let rows: Vec<[&str; 4]> = (0..250).map(|_| [d1.as_str(), "2", long.as_str(), "3"]).collect();
    let mut delivery = sink.begin(window(1, 1)).await.unwrap();
    delivery.write_batch(&batch(&rows)).await.unwrap();
    assert_eq!(h.titles().len(), 2);
    delivery.abort().await;
    assert_eq!(h.titles(), vec![("Report".into(), false)]);
}

#[tokio::test]
async fn append_replaces_the_window_rows_keeps_the_others_in_date_order_and_writes_the_header_once() {
    let h = harness(vec![tab(0, "Sheet1", 10, 5)]).await;
    let sink = h.sink(WriteMode::Append, Some("A3"));
    let (d1, d2, d3) = (day(1), day(2), day(3));
    deliver(
        &sink,
        window(1, 3),
        &[[&d1, "1", "a", "1.5"], [&d2, "1", "a", "2"], [&d3, "1", "a", "3"]],
    )
    .await
    .unwrap();

    let report = deliver(&sink, window(2, 2), &[[&d2, "1", "a", "20"], [&d2, "2", "b", "0.1"]])
        .await
        .unwrap();
    assert_eq!((report.rows_written, report.rows_kept), (2, 2));
    assert_eq!(
        h.grid()[2..],
        texts(&[
            &["date", "campaign_id", "campaign", "spend"],
            &["2026-01-01", "1", "a", "1.5"],
            &["2026-01-02", "1", "a", "20"],
            &["2026-01-02", "2", "b", "0.1"],
            &["2026-01-03", "1", "a", "3"],
        ])[..]
    );
    {
        let book = h.book.lock().unwrap();
        let report_tab = book.tab("Report").unwrap();
        assert_eq!(
            report_tab.cells[&(3, 3)]["userEnteredValue"],
            json!({"numberValue": 1.5}),
            "kept numbers stay numbers"
        );
        assert!(is_date(&report_tab.cells[&(3, 0)]), "kept dates stay dates");
    }

    // A row outside the window is refused, like the CSV sink.
    let mut delivery = sink.begin(window(2, 2)).await.unwrap();
    let outside = delivery.write_batch(&batch(&[[&d3, "1", "a", "1"]])).await;
    assert!(
        matches!(outside, Err(SinkError::RowOutsideWindow { .. })),
        "{outside:?}"
    );
    delivery.abort().await;
}

#[tokio::test]
async fn append_refuses_a_tab_with_another_header_before_writing() {
    let mut report = tab(3, "Report", 4, 4);
    report
        .cells
        .insert((0, 0), json!({"userEnteredValue": {"stringValue": "day"}}));
    let h = harness(vec![report]).await;
    let sink = h.sink(WriteMode::Append, None);
    let error = sink.begin(window(1, 1)).await.unwrap_err();
    assert!(
        matches!(&error, SinkError::HeaderMismatch { found, .. } if found == &vec!["day".to_string()]),
        "{error:?}"
    );
    assert!(h.book.lock().unwrap().updates.is_empty());
}

#[tokio::test]
async fn a_429_is_retried_after_backoff_and_the_write_lands_once() {
    let h = harness(vec![tab(0, "Report", 1, 1)]).await;
    h.book.lock().unwrap().faults.push_back(rpc_error(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute per user'",
    ));
    let sink = h.sink(WriteMode::Replace, None);
    deliver(&sink, window(1, 1), &[[&day(1), "1", "a", "1"]]).await.unwrap();
    assert_eq!(h.book.lock().unwrap().updates.len(), 2);
    assert_eq!(h.grid().len(), 2);
}

#[tokio::test]
async fn the_cell_limit_fails_before_any_write() {
    let h = harness(vec![tab(0, "Huge", 1_000_000, 10)]).await;
    let sink = h.sink(WriteMode::Replace, None);
    let error = deliver(&sink, window(1, 1), &[[&day(1), "1", "a", "1"]])
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            SinkError::CellLimit {
                existing: 10_000_000,
                needed: 8,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("book-1"));
    assert!(h.book.lock().unwrap().updates.is_empty());
}

/// Compiles only if a run can hold a delivery across `tokio::spawn`.
#[allow(dead_code)]
fn delivery_futures_are_send(sink: &SheetsSink, mut delivery: SheetsDelivery, other: SheetsDelivery, batch: &RowBatch) {
    fn send<T: Send>(_: T) {}
    send(sink.begin(window(1, 1)));
    send(delivery.write_batch(batch));
    send(delivery.commit());
    send(other.abort());
}
