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
async fn check_says_how_to_name_an_action_list_and_which_windows_a_column_may_use() {
    let test = TestApp::new(START).await;
    let fields = r#""date_start", "actions", "actions:purchase:28d_click", "spend:purchase""#;
    let extra = "action_attribution_windows = [\"7d_click\"]";
    test.write_query("bad", &query(fields, extra, ("2026-03-01", "2026-03-02"), "bad.csv"));
    let output = test.command(&["check"]).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let file = test.path().join("queries").join("bad.toml");
    let lines: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{}:", file.display())))
        .map(String::from)
        .collect();
    assert_eq!(
        lines,
        [
            "4:25: \"actions\" is a list per action type: name one column per type, e.g. \"actions:purchase\" or \
             \"actions:offsite_conversion.fb_pixel_purchase\" (adsync fields meta_ads actions)",
            "4:36: \"actions:purchase:28d_click\" names the attribution window \"28d_click\", which is not in \
             action_attribution_windows (7d_click)",
            "4:66: \"spend\" is a single value, not a list per action type: write \"spend\" without \":purchase\"",
        ]
    );
}

/// Runs a daily query over `dates` while sync reads of more than `max_days` days answer
/// Graph code 1; checks the delivered file is the exact report and no request was sent
/// twice; returns the insights requests the run made.
async fn run_with_sync_limit(dates: (&str, &str), max_days: u32) -> (TestApp, Vec<serde_json::Value>) {
    let test = TestApp::new(START).await;
    let fields = r#""date_start", "campaign_name", "impressions", "spend", "actions:purchase""#;
    test.write_query("split", &query(fields, "", dates, "split.csv"));
    let app = test.connected_app().await;
    let limit = json!({ "meta_sync_max_days": max_days });
    test.control(Method::PUT, "/_sandbox/settings", Some(limit)).await;
    let run = app.run_once("split").await.unwrap();
    assert_eq!(run.outcome, Outcome::Delivered, "{:?}", run.error);
    let expected = expected_rows(&app.queries()[0], run.window, Shape::default());
    assert_eq!(parse_csv(&test.read_report("split.csv")), expected);
    let requests = insights_requests(&test).await;
    for (i, request) in requests.iter().enumerate() {
        assert!(!requests[..i].contains(request), "sent twice: {request:#}");
    }
    (test, requests)
}

#[tokio::test]
async fn graph_code_1_splits_the_slice_in_halves_until_graph_accepts_and_never_repeats_a_request() {
    let (_test, requests) = run_with_sync_limit(("2026-03-01", "2026-03-10"), 4).await;
    let mut ranges: Vec<String> = requests
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
    let mut expected: Vec<String> = halves("1001").to_vec();
    expected.extend(halves("1002"));
    // Accounts are read concurrently, so their requests interleave.
    ranges.sort();
    expected.sort();
    assert_eq!(ranges, expected);
}

#[tokio::test]
async fn graph_code_1_on_a_single_day_reads_it_as_an_async_report_run() {
    // Every sync read answers code 1.
    let (test, requests) = run_with_sync_limit(("2026-03-01", "2026-03-02"), 0).await;
    let posts = requests.iter().filter(|r| r["method"] == "POST").count();
    assert_eq!(posts, 4, "one async run per account and day: {requests:#?}");
    assert_eq!(test.sandbox.sandbox().stats().report_runs_started, 4);
}
