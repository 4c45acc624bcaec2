//! Google Sheets outputs end to end: Meta reports written to the sandbox's Sheets API with a
//! Google connection's (or a service account's) token, compared with the CSV of the same
//! query; failures at every write step; append re-deliveries; 429s; a revoked Google login.

use adsync::app::App;
use adsync::rows::DateWindow;
use adsync::store::{GapState, Outcome};
use adsync_sandbox::meta::data::Shape;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{
    at, consent_code, eventually, expected_rows, parse_csv, Daemon, TestApp, CONNECTION, GOOGLE, USER,
};

const SPREADSHEET: &str = "1AdsyncTestSpreadsheet";
const TAB: &str = "Report";
/// The Google user the Google connection is connected as.
const ANN: &str = "ann@corp.test";

/// A Meta query over `dates` at `level`, written as CSV (`output = None`) or to the test
/// spreadsheet's tab through `writer` with `value_input`.
fn query(level: &str, fields: &str, dates: &str, mode: &str, sheet: Option<(&str, &str)>) -> String {
    let output = match sheet {
        None => format!("kind = \"csv\"\npath = \"reports/{level}.csv\""),
        Some((writer, value_input)) => format!(
            "kind = \"google_sheets\"\nconnection = \"{writer}\"\nspreadsheet_id = \"{SPREADSHEET}\"\n\
             sheet = \"{TAB}\"\nvalue_input = \"{value_input}\""
        ),
    };
    format!(
        r#"connection = "{CONNECTION}"
accounts = ["act_1001"]
level = "{level}"
fields = [{fields}]
date_range = {dates}
time_increment = "daily"

[schedule]
cron = "0 6 * * *"
timezone = "UTC"

[output]
{output}
mode = "{mode}"
"#
    )
}

const AD_FIELDS: &str = r#""date_start", "campaign_id", "ad_id", "ad_name", "impressions", "clicks", "spend""#;

/// Two days of campaigns written to the test tab by `writer`, as the platform sends them.
fn two_days(writer: &str) -> String {
    query(
        "campaign",
        r#""date_start", "campaign_id", "impressions""#,
        &fixed("2026-04-01", "2026-04-02"),
        "replace",
        Some((writer, "raw")),
    )
}

fn fixed(start: &str, end: &str) -> String {
    format!(r#"{{ start = "{start}", end = "{end}" }}"#)
}

/// A test directory with a Google connection and an empty spreadsheet shared with `editors`.
async fn sheets_test(start: &str, editors: &[&str]) -> TestApp {
    let test = TestApp::with_providers(start, "").await;
    test.control(
        Method::PUT,
        &format!("/_sandbox/sheets/{SPREADSHEET}"),
        Some(json!({"title": "adsync test", "editors": editors})),
    )
    .await;
    test
}

/// An app with the Meta connection and the Google connection connected.
async fn connected(test: &TestApp) -> App {
    let app = test.connected_app().await;
    adsync::demo::connect_via_sandbox(&app, GOOGLE, ANN)
        .await
        .expect("the Google connection connects");
    app
}

async fn dump(test: &TestApp) -> Value {
    test.control(Method::GET, &format!("/_sandbox/sheets/{SPREADSHEET}"), None)
        .await
}

/// The visible report tab's cells as the Sheets UI shows them.
fn tab_rows(dump: &Value) -> Vec<Vec<String>> {
    let tab = dump["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["title"] == TAB && s["hidden"] == false)
        .unwrap_or_else(|| panic!("no visible tab {TAB}: {dump}"));
    tab["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

fn applied_writes(dump: &Value) -> u64 {
    dump["applied_writes"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20000_row_report_in_a_sheet_equals_its_csv_cell_by_cell() {
    let test = sheets_test("2026-05-04T08:00:00Z", &[ANN]).await;
    test.control(
        Method::PUT,
        "/_sandbox/settings",
        Some(json!({"campaigns_per_account": 10, "adsets_per_campaign": 10, "ads_per_adset": 10})),
    )
    .await;
    let dates = fixed("2026-04-01", "2026-04-20");
    test.write_query("ads_csv", &query("ad", AD_FIELDS, &dates, "replace", None));
    test.write_query(
        "ads_sheet",
        &query("ad", AD_FIELDS, &dates, "replace", Some((GOOGLE, "raw"))),
    );
    let app = connected(&test).await;
    for name in ["ads_csv", "ads_sheet"] {
        let run = app.run_once(name).await.unwrap();
        assert_eq!(run.outcome, Outcome::Delivered, "{name}: {:?}", run.error);
        assert_eq!(run.rows, 20_000, "{name}");
    }
    let csv = parse_csv(&test.read_report("ad.csv"));
    assert_eq!(csv.len(), 20_001);
    let dump = dump(&test).await;
    assert_eq!(tab_rows(&dump), csv);
    // Over 2 MB of cells: written through a staging tab, which is gone again.
    let titles: Vec<&str> = dump["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Sheet1", TAB]);
    assert!(applied_writes(&dump) > 2, "chunked writes: {}", applied_writes(&dump));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_entered_values_keep_their_types() {
    let test = sheets_test("2026-05-04T08:00:00Z", &[ANN]).await;
    test.write_query(
        "typed",
        &query(
            "campaign",
            r#""date_start", "campaign_id", "campaign_name", "impressions", "spend""#,
            &fixed("2026-04-01", "2026-04-01"),
            "replace",
            Some((GOOGLE, "user_entered")),
        ),
    );
    let app = connected(&test).await;
    let run = app.run_once("typed").await.unwrap();
    assert_eq!(run.outcome, Outcome::Delivered, "{:?}", run.error);
    let dump = dump(&test).await;
    let tab = dump["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["title"] == TAB)
        .unwrap();
    let first = &tab["values"][1];
    assert!(first[0]["numberValue"].is_number(), "a date is a date serial: {first}");
    assert!(first[1]["stringValue"].is_string(), "an id stays text: {first}");
    assert!(first[2]["stringValue"].is_string(), "a name is text: {first}");
    assert!(first[3]["numberValue"].is_number(), "impressions are a number: {first}");
    assert!(first[4]["numberValue"].is_number(), "spend is a number: {first}");
    // The number is the platform's decimal, not a float re-rendering of it.
    let csv_spend = &expected_rows(&app.queries()[0], run.window, Shape::new(3, 2, 2))[1][4];
    assert_eq!(
        first[4]["numberValue"].as_f64().unwrap(),
        csv_spend.parse::<f64>().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_at_every_write_step_leaves_the_previous_sheet_visible() {
    let test = sheets_test("2026-05-04T08:00:00Z", &[ANN]).await;
    // Every step fails through all its retries, more writes a minute than Google's default
    // quotas allow: this test is about atomicity, so both sides allow them.
    test.control(
        Method::PUT,
        "/_sandbox/settings",
        Some(json!({
            "campaigns_per_account": 10, "adsets_per_campaign": 10, "ads_per_adset": 10,
            "sheets": {"write_requests_per_minute_per_user": 100000, "write_requests_per_minute_per_project": 100000}
        })),
    )
    .await;
    test.write_provider_config(
        "",
        "[sheets]\nwrites_per_minute_per_user = 100000\nwrites_per_minute_per_project = 100000\n",
    );
    let old = query(
        "ad",
        AD_FIELDS,
        &fixed("2026-04-01", "2026-04-01"),
        "replace",
        Some((GOOGLE, "raw")),
    );
    // Ten days of a thousand ads: over 2 MB, so the new result goes through staging.
    let new = query(
        "ad",
        AD_FIELDS,
        &fixed("2026-04-02", "2026-04-11"),
        "replace",
        Some((GOOGLE, "raw")),
    );
    let deliver = |text: &String| {
        test.write_query("report", text);
        async {
            let app = test.app().await;
            let run = app.run_once("report").await.unwrap();
            (run.outcome, run.error)
        }
    };
    drop(connected(&test).await);

    // How many write requests a delivery of the new result makes.
    assert_eq!(deliver(&old).await.0, Outcome::Delivered);
    let before = applied_writes(&dump(&test).await);
    assert_eq!(deliver(&new).await.0, Outcome::Delivered);
    let new_rows = tab_rows(&dump(&test).await);
    let steps = applied_writes(&dump(&test).await) - before;
    assert!(steps >= 2, "staging chunks, the last with the swap: {steps} writes");
    assert_eq!(deliver(&old).await.0, Outcome::Delivered);
    let old_rows = tab_rows(&dump(&test).await);
    assert_eq!(old_rows.len(), 1001);

    for step in 1..=steps {
        test.control(
            Method::POST,
            "/_sandbox/sheets/fail-writes",
            Some(json!({"at": step, "count": 50, "spreadsheet_id": SPREADSHEET})),
        )
        .await;
        let (outcome, error) = deliver(&new).await;
        assert_eq!(outcome, Outcome::Failed, "write {step} failed: {error:?}");
        assert_eq!(
            tab_rows(&dump(&test).await),
            old_rows,
            "after a failure at write {step}"
        );
        test.control(Method::DELETE, "/_sandbox/sheets/fail-writes", None).await;
    }
    assert_eq!(deliver(&new).await.0, Outcome::Delivered);
    let dump = dump(&test).await;
    assert_eq!(tab_rows(&dump), new_rows);
    let hidden = dump["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["hidden"] == true)
        .count();
    assert_eq!(hidden, 0, "no staging tab is left behind: {dump}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appending_a_window_again_leaves_no_duplicate_rows() {
    let test = sheets_test("2026-05-04T08:00:00Z", &[ANN]).await;
    let fields = r#""date_start", "campaign_id", "impressions", "clicks""#;
    for (name, sheet) in [("days_csv", None), ("days_sheet", Some((GOOGLE, "raw")))] {
        test.write_query(
            name,
            &query("campaign", fields, &fixed("2026-04-01", "2026-04-03"), "append", sheet),
        );
    }
    let app = connected(&test).await;
    for _ in 0..2 {
        for name in ["days_csv", "days_sheet"] {
            let run = app.run_once(name).await.unwrap();
            assert_eq!(run.outcome, Outcome::Delivered, "{name}: {:?}", run.error);
        }
    }
    let csv = parse_csv(&test.read_report("campaign.csv"));
    assert_eq!(csv.len(), 1 + 3 * 3, "three campaigns on three days, once");
    assert_eq!(tab_rows(&dump(&test).await), csv);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_waited_out_and_the_sheet_written_once() {
    let test = sheets_test("2026-05-04T08:00:00Z", &[ANN]).await;
    test.write_query("days", &two_days(GOOGLE));
    let app = connected(&test).await;
    test.control(
        Method::POST,
        "/_sandbox/faults",
        Some(json!({"kind": "rate_limit", "count": 1, "path_prefix": "/v4/spreadsheets"})),
    )
    .await;
    let run = app.run_once("days").await.unwrap();
    assert_eq!(run.outcome, Outcome::Delivered, "{:?}", run.error);
    assert_eq!(test.sandbox.sandbox().stats().faults_injected, 1);
    let dump = dump(&test).await;
    assert_eq!(
        tab_rows(&dump),
        expected_rows(&app.queries()[0], run.window, Shape::new(3, 2, 2))
    );
    assert_eq!(
        applied_writes(&dump),
        1,
        "one all-or-nothing write, not a partial one per try"
    );
    assert!(app.store().all_gaps().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_google_login_pauses_delivery_and_reconnecting_backfills_the_sheet() {
    let test = sheets_test("2026-05-04T05:00:00Z", &[ANN]).await;
    test.write_query(
        "daily",
        &query(
            "campaign",
            r#""date_start", "campaign_id", "impressions", "spend""#,
            r#""yesterday""#,
            "append",
            Some((GOOGLE, "raw")),
        ),
    );
    let daemon = Daemon::start(connected(&test).await, "daily").await;
    test.revoke(ANN, "password_changed").await;

    // The Meta side works; the Sheets login is dead: two fires, two gaps, nothing written.
    test.clock.set(at("2026-05-04T06:00:00Z"));
    let first = daemon.runs("daily", 1).await;
    assert_eq!(first[0].outcome, Outcome::Failed, "{:?}", first[0].error);
    test.clock.set(at("2026-05-05T06:00:00Z"));
    let runs = daemon.runs("daily", 2).await;
    assert_eq!(runs[1].outcome, Outcome::Paused, "{:?}", runs[1].error);
    let gaps = daemon.app.store().gaps("daily").await.unwrap();
    let reasons: Vec<&str> = gaps.iter().map(|g| g.reason.as_str()).collect();
    // Google says only "Token has been expired or revoked.", not why.
    assert_eq!(reasons, ["revoked", "revoked"]);
    let status = daemon.app.status().await.unwrap();
    let google = status.connections.iter().find(|c| c.id == GOOGLE).unwrap();
    assert_eq!(google.state, "needs_reconnect");
    assert_eq!(status.queries[0].state, "paused");
    assert!(tab_rows_or_empty(&dump(&test).await).is_empty(), "nothing was written");

    // The person reconnects: the query resumes and both days are backfilled into the tab.
    let app = &daemon.app;
    let pending = app.auth().begin_authorization(GOOGLE, Some(ANN)).unwrap();
    let code = consent_code(&pending.url).await;
    let report = adsync::reconnect::complete(app, GOOGLE, &code, &pending.verifier)
        .await
        .unwrap();
    assert_eq!(report.resumed, ["daily"]);
    eventually("both gaps to be backfilled", async || {
        let gaps = app.store().gaps("daily").await.unwrap();
        gaps.iter().all(|g| g.state == GapState::Backfilled).then_some(())
    })
    .await;
    let window = DateWindow::new("2026-05-03".parse().unwrap(), "2026-05-04".parse().unwrap());
    assert_eq!(
        tab_rows(&dump(&test).await),
        expected_rows(&app.queries()[0], window, Shape::new(3, 2, 2))
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_as_a_user_who_may_only_view_the_sheet_keeps_its_query_paused_and_names_them() {
    const INTERN: &str = "intern@corp.test";
    let test = sheets_test("2026-05-04T08:00:00Z", &[ANN]).await;
    let viewer = json!({"title": "adsync test", "editors": [ANN], "readers": [INTERN]});
    test.control(Method::PUT, &format!("/_sandbox/sheets/{SPREADSHEET}"), Some(viewer))
        .await;
    test.write_query("days", &two_days(GOOGLE));
    let app = connected(&test).await;

    let pending = app.auth().begin_authorization(GOOGLE, Some(INTERN)).unwrap();
    let code = consent_code(&pending.url).await;
    let report = adsync::reconnect::complete(&app, GOOGLE, &code, &pending.verifier)
        .await
        .unwrap();
    assert_eq!(
        (report.identity.as_deref(), report.previous_identity.as_deref()),
        (Some(INTERN), Some(ANN))
    );
    assert!(report.resumed.is_empty(), "{report:?}");
    assert_eq!(report.paused.len(), 1, "{report:?}");
    let (query, why) = &report.paused[0];
    assert_eq!(query, "days");
    assert!(
        why.starts_with(&format!("{INTERN} cannot write to spreadsheet {SPREADSHEET}"))
            && why.contains("The caller does not have permission")
            && why.contains("share the spreadsheet with them as an editor"),
        "{why}"
    );

    let status = app.status().await.unwrap();
    let google = status.connections.iter().find(|c| c.id == GOOGLE).unwrap();
    assert_eq!(
        (google.identity.as_deref(), google.previous_identity.as_deref()),
        (Some(INTERN), Some(ANN))
    );
    assert!(
        status.to_text().contains(&format!("now as {INTERN} (before: {ANN})")),
        "{}",
        status.to_text()
    );
    let json = serde_json::to_value(&status).unwrap();
    let days = json["queries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "days")
        .unwrap();
    assert_eq!(
        (days["state"].as_str(), days["pause_reason"].as_str()),
        (Some("paused"), Some("output_access"))
    );
    let connection = json["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == GOOGLE)
        .unwrap();
    assert_eq!(connection["previous_identity"], ANN, "{json}");
    let run = app.run_once("days").await.unwrap();
    assert_eq!(run.outcome, Outcome::Paused, "nothing is sent that would be refused");
    assert_eq!(applied_writes(&dump(&test).await), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_account_writes_a_sheet_shared_with_it() {
    const ACCOUNT: &str = "adsync-writer@adsync-sandbox.iam.gserviceaccount.com";
    let test = sheets_test("2026-05-04T08:00:00Z", &[ACCOUNT]).await;
    let key = test
        .control(Method::GET, &format!("/_sandbox/service-accounts/{ACCOUNT}/key"), None)
        .await;
    let key_file = test.path().join("writer-key.json");
    std::fs::write(&key_file, key.to_string()).unwrap();
    let base = test.sandbox.base_url();
    test.write_provider_config(
        "",
        &format!(
            r#"
[[connections]]
id = "sheets-writer"
provider = "google_service_account"
key_file = "{}"
token_url = "{base}/token"
api_base_url = "{base}"
"#,
            key_file.display()
        ),
    );
    test.write_query("days", &two_days("sheets-writer"));
    let app = test.connected_app().await;
    let run = app.run_once("days").await.unwrap();
    assert_eq!(run.outcome, Outcome::Delivered, "{:?}", run.error);
    assert_eq!(
        tab_rows(&dump(&test).await),
        expected_rows(&app.queries()[0], run.window, Shape::new(3, 2, 2))
    );
    let status = app.status().await.unwrap();
    let writer = status.connections.iter().find(|c| c.id == "sheets-writer").unwrap();
    assert_eq!(
        (writer.state.as_str(), writer.identity.as_deref()),
        ("connected", Some(ACCOUNT))
    );
    assert_eq!(
        test.sandbox.sandbox().stats().code_grants,
        1,
        "only the Meta login needed a person's consent"
    );
    assert!(USER != ACCOUNT);
}

/// The report tab's rows, or none when the tab does not exist yet.
fn tab_rows_or_empty(dump: &Value) -> Vec<Vec<String>> {
    let exists = dump["sheets"].as_array().unwrap().iter().any(|s| s["title"] == TAB);
    if exists {
        tab_rows(dump)
    } else {
        Vec::new()
    }
}
