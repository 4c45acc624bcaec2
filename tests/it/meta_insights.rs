//! Meta Insights beyond the plain metrics: action-list columns with attribution windows,
//! and Graph code 1 ("reduce the amount of data") answered by splitting, never by repeating.

use adsync::store::Outcome;
use adsync_sandbox::meta::data::Shape;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{expected_rows, parse_csv, TestApp};

const START: &str = "2026-04-01T00:00:00Z";

fn query(fields: &str, extra: &str, dates: (&str, &str), file: &str) -> String {
    format!(
        r#"connection = "meta-test"
accounts = ["act_1001", "act_1002"]
level = "campaign"
fields = [{fields}]
{extra}
date_range = {{ start = "{}", end = "{}" }}
time_increment = "daily"

[schedule]
cron = "0 6 * * *"

[output]
kind = "csv"
path = "reports/{file}"
mode = "replace"
"#,
        dates.0, dates.1
    )
}

/// The insights requests the sandbox saw, oldest first.
async fn insights_requests(test: &TestApp) -> Vec<serde_json::Value> {
    let log = test
        .control(Method::GET, "/_sandbox/meta/insights-requests", None)
        .await;
    log["requests"].as_array().unwrap().clone()
}

#[tokio::test]
async fn action_columns_deliver_each_type_and_window_and_leave_absent_types_empty() {
    let test = TestApp::new(START).await;
    let fields = r#""date_start", "campaign_id", "impressions", "cpp",
        "actions:offsite_conversion.fb_pixel_purchase", "actions:offsite_conversion.fb_pixel_purchase:7d_click",
        "actions:offsite_conversion.fb_pixel_purchase:1d_view", "action_values:purchase",
        "action_values:purchase:7d_click", "purchase_roas:omni_purchase", "actions:link_click""#;
    let extra = "action_attribution_windows = [\"7d_click\", \"1d_view\"]\naction_report_time = \"mixed\"";
    test.write_query(
        "actions",
        &query(fields, extra, ("2026-03-01", "2026-03-14"), "actions.csv"),
    );
    let app = test.connected_app().await;
    let run = app.run_once("actions").await.unwrap();
    assert_eq!(run.outcome, Outcome::Delivered, "{:?}", run.error);

    let rows = parse_csv(&test.read_report("actions.csv"));
    let expected = expected_rows(&app.queries()[0], run.window, Shape::default());
    assert_eq!(rows.len(), 1 + 2 * 14 * 3);
    assert_eq!(rows, expected);
    assert_eq!(
        rows[0][4..7],
        [
            "actions:offsite_conversion.fb_pixel_purchase",
            "actions:offsite_conversion.fb_pixel_purchase:7d_click",
            "actions:offsite_conversion.fb_pixel_purchase:1d_view"
        ]
    );
    // Rows with and without website purchases: an absent type is an empty cell in place.
    let present = rows[1..].iter().filter(|r| !r[4].is_empty()).count();
    assert!(present > 0 && present < rows.len() - 1, "{present} rows with purchases");
    for row in &rows[1..] {
        assert_eq!(row[4].is_empty(), row[5].is_empty(), "{row:?}");
        assert!(!row[10].is_empty(), "every row has link clicks: {row:?}");
        if !row[4].is_empty() {
            let n = |i: usize| row[i].parse::<u64>().unwrap();
            assert_eq!(n(4), n(5) + n(6), "value = 7d_click + 1d_view: {row:?}");
        }
    }

    // Each list asked for once, with the windows and report time as Graph parameters.
    let requests = insights_requests(&test).await;
    assert_eq!(requests.len(), 2, "{requests:#?}");
    let params = &requests[0]["params"];
    assert_eq!(
        params["fields"],
        "date_start,campaign_id,impressions,cpp,actions,action_values,purchase_roas"
    );
    assert_eq!(params["action_attribution_windows"], r#"["7d_click","1d_view"]"#);
    assert_eq!(params["action_report_time"], "mixed");
}

#[tokio::test]
async fn graph_code_1_splits_the_slice_in_halves_until_graph_accepts_and_never_repeats_a_request() {
    let test = TestApp::new(START).await;
    let fields = r#""date_start", "campaign_name", "impressions", "spend", "actions:purchase""#;
    test.write_query("split", &query(fields, "", ("2026-03-01", "2026-03-10"), "split.csv"));
    let app = test.connected_app().await;
    // Sync reads over more than 4 days answer code 1.
    test.control(
        Method::PUT,
        "/_sandbox/settings",
        Some(json!({"meta_sync_max_days": 4})),
    )
    .await;
    let run = app.run_once("split").await.unwrap();
    assert_eq!(run.outcome, Outcome::Delivered, "{:?}", run.error);
    let expected = expected_rows(&app.queries()[0], run.window, Shape::default());
    assert_eq!(parse_csv(&test.read_report("split.csv")), expected);
    assert_eq!(expected.len(), 1 + 2 * 10 * 3);

    let requests = insights_requests(&test).await;
    let ranges: Vec<String> = requests
        .iter()
        .map(|r| {
            let range: serde_json::Value = serde_json::from_str(r["params"]["time_range"].as_str().unwrap()).unwrap();
            format!("{} {}..{}", r["path"].as_str().unwrap(), range["since"], range["until"]).replace('"', "")
        })
        .collect();
    let halves = |account: &str| {
        [
            "2026-03-01..2026-03-10",
            "2026-03-01..2026-03-05",
            "2026-03-01..2026-03-02",
            "2026-03-03..2026-03-05",
            "2026-03-06..2026-03-10",
            "2026-03-06..2026-03-07",
            "2026-03-08..2026-03-10",
        ]
        .map(|range| format!("/v25.0/act_{account}/insights {range}"))
    };
    let mut expected_ranges: Vec<String> = halves("1001").to_vec();
    expected_ranges.extend(halves("1002"));
    let mut sorted = ranges.clone();
    sorted.sort();
    expected_ranges.sort();
    assert_eq!(sorted, expected_ranges, "accounts are read concurrently; each cut once");
    assert_no_request_twice(&requests);
}

#[tokio::test]
async fn graph_code_1_on_a_single_day_reads_it_as_an_async_report_run() {
    let test = TestApp::new(START).await;
    let fields = r#""date_start", "campaign_name", "impressions", "actions:purchase""#;
    test.write_query("split", &query(fields, "", ("2026-03-01", "2026-03-02"), "split.csv"));
    let app = test.connected_app().await;
    // Every sync read answers code 1.
    test.control(
        Method::PUT,
        "/_sandbox/settings",
        Some(json!({"meta_sync_max_days": 0})),
    )
    .await;
    let run = app.run_once("split").await.unwrap();
    assert_eq!(run.outcome, Outcome::Delivered, "{:?}", run.error);
    let expected = expected_rows(&app.queries()[0], run.window, Shape::default());
    assert_eq!(parse_csv(&test.read_report("split.csv")), expected);
    let requests = insights_requests(&test).await;
    let posts = requests.iter().filter(|r| r["method"] == "POST").count();
    assert_eq!(posts, 4, "one async run per account and day: {requests:#?}");
    assert_eq!(test.sandbox.sandbox().stats().report_runs_started, 4);
    assert_no_request_twice(&requests);
}

fn assert_no_request_twice(requests: &[serde_json::Value]) {
    for (i, request) in requests.iter().enumerate() {
        assert!(!requests[..i].contains(request), "sent twice: {request:#}");
    }
}
