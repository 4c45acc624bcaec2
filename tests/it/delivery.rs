//! Rows from the sandbox to CSV files: complete, in order, exact; replace never leaves a
//! half file; append never duplicates a window.

use adsync::store::Outcome;
use adsync_sandbox::meta::data::Shape;
use adsync_sandbox::SandboxSettings;

use crate::helpers::{expected_rows, parse_csv, TestApp};

fn query(level: &str, fields: &str, date_range: &str, file: &str, mode: &str) -> String {
    format!(
        r#"connection = "meta-test"
accounts = ["act_1001"]
level = "{level}"
fields = [{fields}]
date_range = {date_range}
time_increment = "daily"

[schedule]
cron = "0 6 * * *"

[output]
kind = "csv"
path = "reports/{file}"
mode = "{mode}"
"#
    )
}

#[tokio::test]
async fn a_report_of_50000_rows_over_many_pages_is_complete_in_order_and_exact() {
    // 500 ads a day for 100 days: four 31-day slices fetched concurrently, rows in order.
    let shape = Shape::new(10, 5, 10);
    let test = TestApp::with_settings(
        "2026-05-01T00:00:00Z",
        SandboxSettings {
            campaigns_per_account: 10,
            adsets_per_campaign: 5,
            ads_per_adset: 10,
            ..SandboxSettings::default()
        },
    )
    .await;
    test.write_query(
        "big",
        &query(
            "ad",
            r#""date_start", "campaign_name", "ad_id", "ad_name", "impressions", "clicks", "spend", "ctr""#,
            r#"{ start = "2026-01-01", end = "2026-04-10" }"#,
            "big.csv",
            "replace",
        ),
    );
    let app = test.connected_app().await;
    let run = app.run_once("big").await.unwrap();
    assert_eq!(run.outcome, Outcome::Delivered, "{:?}", run.error);
    assert_eq!(run.rows, 50_000);

    let rows = parse_csv(&test.read_report("big.csv"));
    let q = &app.queries()[0];
    let expected = expected_rows(q, run.window, shape);
    assert_eq!(rows.len(), 50_001);
    assert_eq!(rows, expected);
    let mut keys: Vec<_> = rows[1..].iter().map(|r| (r[0].clone(), r[2].clone())).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 50_000, "duplicate (date, ad) rows");
    let stats = test.sandbox.sandbox().stats();
    assert!(
        stats.api_requests >= 100,
        "expected ~100 pages, saw {} requests",
        stats.api_requests
    );
}

#[tokio::test]
async fn replace_run_failing_on_page_3_leaves_the_previous_file_byte_identical() {
    // 100 ads × 25 days = 2,500 rows = 5 pages of 500.
    let test = TestApp::with_settings(
        "2026-05-01T00:00:00Z",
        SandboxSettings {
            campaigns_per_account: 5,
            adsets_per_campaign: 4,
            ads_per_adset: 5,
            ..SandboxSettings::default()
        },
    )
    .await;
    test.write_query(
        "ads",
        &query(
            "ad",
            r#""date_start", "ad_id", "ad_name", "impressions", "spend""#,
            r#"{ start = "2026-03-01", end = "2026-03-25" }"#,
            "ads.csv",
            "replace",
        ),
    );
    let app = test.connected_app().await;
    let first = app.run_once("ads").await.unwrap();
    assert_eq!(first.outcome, Outcome::Delivered, "{:?}", first.error);
    assert_eq!(first.rows, 2_500);
    let before = std::fs::read(test.reports().join("ads.csv")).unwrap();

    // Pages 1 and 2 pass; page 3 answers 500 more often than the retry budget allows.
    let faults = reqwest::Client::new()
        .post(format!("{}/_sandbox/faults", test.sandbox.base_url()))
        .json(&serde_json::json!({"kind": "http_500", "count": 10, "skip": 2, "path_prefix": "/v25.0/act_1001"}))
        .send()
        .await
        .unwrap();
    assert!(faults.status().is_success());
    let failed = app.run_once("ads").await.unwrap();
    assert_eq!(failed.outcome, Outcome::Failed);
    let error = failed.error.unwrap();
    assert!(error.contains("gave up after 3 attempts"), "{error}");

    let after = std::fs::read(test.reports().join("ads.csv")).unwrap();
    assert!(before == after, "the previous file changed");
    let leftovers: Vec<_> = std::fs::read_dir(test.reports())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "ads.csv")
        .collect();
    assert!(leftovers.is_empty(), "temp files left behind: {leftovers:?}");
}

#[tokio::test]
async fn append_delivering_the_same_window_twice_keeps_one_copy() {
    let test = TestApp::new("2026-05-01T00:00:00Z").await;
    test.write_query(
        "campaigns",
        &query(
            "campaign",
            r#""date_start", "campaign_id", "campaign_name", "impressions", "clicks", "spend""#,
            r#"{ start = "2026-04-01", end = "2026-04-07" }"#,
            "campaigns.csv",
            "append",
        ),
    );
    let app = test.connected_app().await;
    let first = app.run_once("campaigns").await.unwrap();
    assert_eq!(first.outcome, Outcome::Delivered, "{:?}", first.error);
    let once = test.read_report("campaigns.csv");
    let second = app.run_once("campaigns").await.unwrap();
    assert_eq!(second.outcome, Outcome::Delivered, "{:?}", second.error);
    assert_eq!(test.read_report("campaigns.csv"), once);

    let rows = parse_csv(&once);
    let expected = expected_rows(&app.queries()[0], first.window, Shape::new(3, 2, 2));
    assert_eq!(rows, expected);
    assert_eq!(rows.len(), 1 + 7 * 3);
}
