//! The sink against the sandbox's emulation of the Sheets API, with a user's token and with
//! a service account's.

use serde_json::{json, Value};

use adsync_sandbox::tokens::Issuer;
use adsync_sandbox::{self as sandbox, SandboxHandle, SandboxSettings};

use super::super::*;
use crate::auth::ServiceAccountKey;
use crate::http::testing::google_client;
use crate::platform::SHEETS_SCOPE as SCOPE;

const CONNECTION: &str = "google-sheets";
const ROBOT: &str = "adsync-writer@adsync-sandbox.iam.gserviceaccount.com";
const COLUMNS: [&str; 3] = ["date", "campaign_id", "spend"];

struct Harness {
    handle: SandboxHandle,
    api: ApiClient,
    _dir: tempfile::TempDir,
}

/// A sandbox holding spreadsheet `book` (tabs `Notes`, `Report`) shared with ann and the
/// robot service account.
async fn spawn_book() -> SandboxHandle {
    let settings = SandboxSettings::default()
        .patched(json!({"sheets": {"service_accounts": [ROBOT]}}))
        .unwrap();
    let handle = sandbox::spawn("127.0.0.1:0".parse().unwrap(), settings).await.unwrap();
    let body = format!(
        r#"{{"title": "Ads", "editors": ["ann@example.com", "{ROBOT}"],
             "sheets": {{"Notes": [["keep me"]], "Report": [["old", "header", "x", "y"], ["1", "2", "3", "4"], ["5", "6", "7", "8"]]}}}}"#
    );
    let response = reqwest::Client::new()
        .put(format!("{}/_sandbox/sheets/book", handle.base_url()))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    handle
}

/// ann's connection to a fresh [`spawn_book`].
async fn harness() -> Harness {
    let handle = spawn_book().await;
    let token = handle.sandbox().mint_access_token(Issuer::Google, "ann", &[SCOPE]);
    connect(handle, token).await
}

/// A connection to `handle` whose stored access token is `token`.
async fn connect(handle: SandboxHandle, token: String) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let (_, api) = google_client(dir.path(), CONNECTION, &handle.base_url(), token, &[SCOPE]).await;
    Harness { api, handle, _dir: dir }
}

impl Harness {
    fn sink(&self, mode: WriteMode, start_cell: Option<&str>) -> SheetsSink {
        let target = SheetsTarget {
            connection: CONNECTION.into(),
            spreadsheet_id: "book".into(),
            sheet: "Report".into(),
            start_cell: start_cell.map(str::to_string),
            mode,
            value_input: ValueInput::UserEntered,
        };
        SheetsSink::new(
            self.api.clone(),
            Url::parse(&self.handle.base_url().to_string()).unwrap(),
            "test-app".into(),
            SheetsQuota::new(60, 300),
            target,
            COLUMNS.iter().map(|c| c.to_string()).collect(),
            Some(0),
        )
    }

    async fn dump(&self) -> Value {
        reqwest::get(format!("{}/_sandbox/sheets/book", self.handle.base_url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The tab's formatted rows, trailing empty cells and rows dropped.
    async fn rows(&self, title: &str) -> Vec<Vec<String>> {
        let dump = self.dump().await;
        let tab = dump["sheets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["title"] == title)
            .unwrap()
            .clone();
        let mut rows: Vec<Vec<String>> = serde_json::from_value(tab["rows"].clone()).unwrap();
        for row in &mut rows {
            while row.last().is_some_and(String::is_empty) {
                row.pop();
            }
        }
        while rows.last().is_some_and(Vec::is_empty) {
            rows.pop();
        }
        rows
    }

    async fn titles(&self) -> Vec<String> {
        let dump = self.dump().await;
        dump["sheets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_string())
            .collect()
    }
}

fn window(first: u32, last: u32) -> DateWindow {
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 1, d).unwrap();
    DateWindow::new(day(first), day(last))
}

fn batch(rows: &[[&str; 3]]) -> RowBatch {
    let mut batch = RowBatch::new(3);
    for row in rows {
        batch.push_row(row.iter());
    }
    batch
}

/// Expected rows; `@N` stands for the date 2026-01-N as the formatted view shows it: the
/// serial number the sink writes, in the `yyyy-mm-dd` format it writes with it.
fn texts(rows: &[&[&str]]) -> Vec<Vec<String>> {
    let cell = |c: &str| match c.strip_prefix('@') {
        Some(day) => format!("2026-01-{:02}", day.parse::<u32>().unwrap()),
        None => c.to_string(),
    };
    rows.iter().map(|r| r.iter().map(|c| cell(c)).collect()).collect()
}

async fn deliver(sink: &SheetsSink, window: DateWindow, rows: &[[&str; 3]]) -> DeliveryReport {
    let mut delivery = sink.begin(window).await.unwrap();
    delivery.write_batch(&batch(rows)).await.unwrap();
    delivery.commit().await.unwrap()
}

#[tokio::test]
async fn replace_in_place_then_through_staging_then_append_on_the_sandbox() {
    let h = harness().await;
    let replace = h.sink(WriteMode::Replace, None);
    deliver(
        &replace,
        window(1, 2),
        &[
            ["2026-01-01", "120330000000000001", "12.30"],
            ["2026-01-02", "7", "0.5"],
        ],
    )
    .await;
    assert_eq!(
        h.rows("Report").await,
        texts(&[
            &["date", "campaign_id", "spend"],
            &["@1", "120330000000000001", "12.3"],
            &["@2", "7", "0.5"],
        ]),
        "old rows and the 4th column are cleared"
    );
    let dump = h.dump().await;
    let typed = &dump["sheets"][1]["values"][1];
    assert_eq!(typed[0], json!({"numberValue": 46023.0}));
    assert_eq!(typed[1], json!({"stringValue": "120330000000000001"}));
    assert_eq!(typed[2], json!({"numberValue": 12.3}));

    let long = "z".repeat(20_000);
    let rows: Vec<[&str; 3]> = (0..150).map(|_| ["2026-01-03", long.as_str(), "1"]).collect();
    let report = deliver(&replace, window(3, 3), &rows).await;
    assert_eq!(report.rows_written, 150);
    assert_eq!(
        h.titles().await,
        vec!["Notes", "Report"],
        "staging swapped in at the tab's place"
    );
    let written = h.rows("Report").await;
    assert_eq!(written.len(), 151);
    assert_eq!(written[150], texts(&[&["@3", &long, "1"]])[0]);

    let small = h.sink(WriteMode::Replace, None);
    deliver(
        &small,
        window(1, 3),
        &[["2026-01-01", "1", "1"], ["2026-01-03", "1", "3"]],
    )
    .await;
    let append = h.sink(WriteMode::Append, None);
    let report = deliver(&append, window(2, 2), &[["2026-01-02", "1", "2"]]).await;
    assert_eq!((report.rows_written, report.rows_kept), (1, 2));
    assert_eq!(
        h.rows("Report").await,
        texts(&[
            &["date", "campaign_id", "spend"],
            &["@1", "1", "1"],
            &["@2", "1", "2"],
            &["@3", "1", "3"],
        ])
    );
    assert_eq!(h.rows("Notes").await, texts(&[&["keep me"]]));
    h.handle.shutdown().await;
}

#[tokio::test]
async fn a_failed_write_leaves_the_previous_contents_on_the_sandbox() {
    let h = harness().await;
    let before = h.rows("Report").await;
    let response = reqwest::Client::new()
        .post(format!("{}/_sandbox/sheets/fail-writes", h.handle.base_url()))
        .json(&json!({"at": 1, "count": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let sink = h.sink(WriteMode::Replace, Some("B2"));
    let mut delivery = sink.begin(window(1, 1)).await.unwrap();
    delivery.write_batch(&batch(&[["2026-01-01", "1", "1"]])).await.unwrap();
    let error = delivery.commit().await.unwrap_err();
    assert!(matches!(error, SinkError::Sheets { .. }), "{error:?}");
    assert_eq!(h.rows("Report").await, before);
    h.handle.shutdown().await;
}

#[tokio::test]
async fn a_service_account_key_gets_a_token_that_writes_the_shared_sheet() {
    let handle = spawn_book().await;
    let key_file = reqwest::get(format!("{}/_sandbox/service-accounts/{ROBOT}/key", handle.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let key = ServiceAccountKey::from_json(&key_file).unwrap();
    let token_url = Url::parse(&key.token_uri).unwrap();
    let now = chrono::DateTime::from_timestamp(handle.sandbox().advance_clock(0).unwrap(), 0).unwrap();
    let (token, expires_in) = key
        .exchange(&reqwest::Client::new(), &token_url, &[SCOPE.to_string()], now)
        .await
        .unwrap();
    assert!(expires_in > 3000);

    let robot = connect(handle, token).await;
    deliver(
        &robot.sink(WriteMode::Replace, None),
        window(1, 1),
        &[["2026-01-01", "9", "9"]],
    )
    .await;
    assert_eq!(robot.rows("Report").await[1], texts(&[&["@1", "9", "9"]])[0]);
    robot.handle.shutdown().await;
}
