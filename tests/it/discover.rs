//! Finding one's way before scheduling a query: `adsync accounts` and `adsync preview`
//! through the binary, with the store opened locally and through a running daemon.

use std::process::Output;

use adsync_sandbox::meta::data::Shape;

use serde_json::json;

use crate::helpers::{expected_rows, free_port, Daemon, TestApp, CONNECTION, GOOGLE, LINKEDIN, OTHER_CONNECTION, USER};

/// Fixed dates, so the binary (which reads the system clock) previews a known window.
const QUERY: &str = r#"connection = "meta-test"
accounts = ["act_1001", "act_1002"]
level = "campaign"
fields = ["date_start", "campaign_id", "impressions", "spend"]
date_range = { start = "2026-04-01", end = "2026-04-03" }

[schedule]
cron = "0 6 * * *"

[output]
kind = "csv"
path = "reports/campaigns.csv"
mode = "replace"
"#;

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn explain(output: &Output) -> String {
    format!("{}{}", stdout(output), String::from_utf8_lossy(&output.stderr))
}

/// The preview table's rows as cells (the test's cells hold no spaces).
fn table_cells(stdout: &str) -> Vec<Vec<String>> {
    stdout
        .lines()
        .take_while(|line| !line.contains(" rows for "))
        .map(|line| line.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// What the sandbox holds for [`QUERY`], header first.
fn expected(test: &TestApp) -> Vec<Vec<String>> {
    let query = adsync::query::load_file(
        &test.path().join("queries/campaigns.toml"),
        &test.config().validation_context(),
    )
    .expect("the test query is valid");
    let window = adsync::rows::DateWindow::new("2026-04-01".parse().unwrap(), "2026-04-03".parse().unwrap());
    expected_rows(&query, window, Shape::default())
}

/// Asserts that nothing of a run is left behind: no report file, no run record, no gap, no
/// schedule state.
async fn assert_nothing_recorded(test: &TestApp, query: &str) {
    assert!(
        !test.reports().join("campaigns.csv").exists(),
        "a preview wrote the report"
    );
    let app = test.app().await;
    assert!(
        app.store().runs(query).await.unwrap().is_empty(),
        "a preview recorded a run"
    );
    assert!(
        app.store().gaps(query).await.unwrap().is_empty(),
        "a preview recorded a gap"
    );
    assert!(
        app.store().query_state(query).await.unwrap().is_none(),
        "a preview touched the schedule state"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_prints_the_first_rows_and_the_total_and_records_nothing() {
    let test = TestApp::new("2026-05-04T08:00:00Z").await;
    test.write_query("campaigns", QUERY);
    drop(test.connected_app().await);
    let expected = expected(&test);

    let output = test.command(&["preview", "campaigns", "--rows", "3"]).output().unwrap();

    assert!(output.status.success(), "{}", explain(&output));
    let out = stdout(&output);
    assert_eq!(table_cells(&out), expected[..4], "{out}");
    let total = expected.len() - 1;
    assert_eq!(
        out.lines().last().unwrap(),
        format!("3 of {total} rows for 2026-04-01..2026-04-03 (campaigns); nothing was written or recorded.")
    );
    assert_nothing_recorded(&test, "campaigns").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_reads_a_draft_outside_the_query_directory_through_the_running_daemon() {
    let test = TestApp::new("2026-05-04T08:00:00Z").await;
    // The daemon must listen where the config says, for the CLI to find it.
    let port = free_port();
    test.write_config(&format!("127.0.0.1:{port}"));
    test.write_query("campaigns", QUERY);
    let drafts = test.path().join("drafts");
    std::fs::create_dir_all(&drafts).unwrap();
    std::fs::write(drafts.join("draft.toml"), QUERY).unwrap();
    let expected = expected(&test);
    let app = test.connected_app().await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let daemon = Daemon::start_on(app, "campaigns", listener).await;

    let draft = drafts.join("draft.toml");
    let output = test
        .command(&["preview", draft.to_str().unwrap(), "--rows", "100"])
        .output()
        .unwrap();

    assert!(output.status.success(), "{}", explain(&output));
    let out = stdout(&output);
    assert_eq!(table_cells(&out), expected, "{out}");
    assert!(out.ends_with(&format!(
        "{n} of {n} rows for 2026-04-01..2026-04-03 (draft); nothing was written or recorded.\n",
        n = expected.len() - 1
    )));
    assert!(daemon.app.store().runs("draft").await.unwrap().is_empty());
    daemon.stop().await;
    assert!(!test.reports().join("campaigns.csv").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_of_an_unconnected_connection_or_an_unknown_query_fails_with_the_reason() {
    let test = TestApp::new("2026-05-04T08:00:00Z").await;
    test.write_query("campaigns", QUERY);

    let output = test.command(&["preview", "campaigns"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("connection meta-test is not connected yet"), "{stderr}");

    // A file that is not a query file is not read.
    let notes = test.path().join("notes.txt");
    std::fs::write(&notes, "secret = \"x\"\n").unwrap();
    let output = test.command(&["preview", notes.to_str().unwrap()]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("secret"),
        "{}",
        explain(&output)
    );

    let output = test.command(&["preview", "nope"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("error: no valid query named \"nope\""),
        "{}",
        explain(&output)
    );
    assert_nothing_recorded(&test, "campaigns").await;
}

/// `adsync accounts CONNECTION --json` as JSON, asserting it succeeded.
fn accounts_json(test: &TestApp, connection: &str) -> serde_json::Value {
    let output = test.command(&["accounts", connection, "--json"]).output().unwrap();
    assert!(output.status.success(), "{}", explain(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_lists_every_platform_of_a_login_with_ids_as_query_files_want_them() {
    let test = TestApp::with_providers("2026-05-04T08:00:00Z", "").await;
    let app = test.app().await;
    adsync::demo::connect_via_sandbox(&app, GOOGLE, USER).await.unwrap();
    adsync::demo::connect_via_sandbox(&app, LINKEDIN, USER).await.unwrap();
    drop(app);

    let output = test.command(&["accounts", GOOGLE]).output().unwrap();
    assert!(output.status.success(), "{}", explain(&output));
    // The manager is listed as such, and its client with the manager to name as
    // login_customer_id; GA4 properties follow, as digits.
    assert_eq!(
        stdout(&output),
        "\
PLATFORM    ID          NAME                         CURRENCY  TIME ZONE         LOGIN_CUSTOMER_ID
google_ads  1234567890  Sandbox Customer 1234567890  EUR       Europe/Berlin
google_ads  2345678901  Sandbox Customer 2345678901  EUR       Europe/Berlin
google_ads  9990001111  Sandbox Customer 9990001111  USD       America/New_York  manager
google_ads  3456789012  Sandbox Customer 3456789012  EUR       Europe/Berlin     9990001111
ga4         123456789   Demo Property 123456789      USD       Europe/Berlin
ga4         234567890   Demo Property 234567890      USD       Europe/Berlin
"
    );

    assert_eq!(
        accounts_json(&test, LINKEDIN),
        json!({
            "connection": LINKEDIN,
            "accounts": [
                {"platform": "linkedin_ads", "id": "511009658", "name": "Sandbox LinkedIn Account 511009658",
                 "currency": "GBP", "time_zone": null, "manager": false, "login_customer_id": null},
                {"platform": "linkedin_ads", "id": "511009659", "name": "Sandbox LinkedIn Account 511009659",
                 "currency": "USD", "time_zone": null, "manager": false, "login_customer_id": null},
            ],
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_asks_the_running_daemon_and_refuses_a_connection_that_is_not_connected() {
    let test = TestApp::new("2026-05-04T08:00:00Z").await;
    let port = free_port();
    test.write_config(&format!("127.0.0.1:{port}"));
    test.write_query("campaigns", QUERY);
    let app = test.connected_app().await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let daemon = Daemon::start_on(app, "campaigns", listener).await;

    let list = accounts_json(&test, CONNECTION);
    let accounts = list["accounts"].as_array().unwrap();
    let ids: Vec<&str> = accounts.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["act_1001", "act_1002", "act_1003"]);
    assert_eq!(
        accounts[0],
        json!({"platform": "meta_ads", "id": "act_1001", "name": "Demo Account 1001", "currency": "GBP",
               "time_zone": "Europe/London", "manager": false, "login_customer_id": null})
    );

    let output = test.command(&["accounts", OTHER_CONNECTION]).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the daemon refused (HTTP 502 Bad Gateway): connection meta-other is not connected yet"),
        "{stderr}"
    );
    let output = test.command(&["accounts", "nope"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no connection named \"nope\" in the config"),
        "{}",
        explain(&output)
    );
    daemon.stop().await;

    // Locally (no daemon), the same refusal.
    let output = test.command(&["accounts", OTHER_CONNECTION]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("error: connection meta-other is not connected yet"),
        "{}",
        explain(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_refreshes_a_dead_access_token_and_keeps_the_rotated_refresh_token() {
    let test = TestApp::new("2026-05-04T08:00:00Z").await;
    test.write_query("campaigns", QUERY);
    drop(test.connected_app().await);
    // Each refresh token works once: a preview that refreshed without keeping the new one
    // would leave the connection dead for the next run.
    let settings = json!({"rotate_refresh_tokens": true, "refresh_token_reuse_grace_secs": 0});
    test.control(reqwest::Method::PUT, "/_sandbox/settings", Some(settings))
        .await;
    test.expire_access_tokens(USER).await;

    let refreshes = test.sandbox.sandbox().stats().refresh_grants;
    let output = test.command(&["preview", "campaigns", "--rows", "1"]).output().unwrap();
    assert!(output.status.success(), "{}", explain(&output));
    assert_eq!(test.sandbox.sandbox().stats().refresh_grants, refreshes + 1);

    test.expire_access_tokens(USER).await;
    let run = test.app().await.run_once("campaigns").await.unwrap();
    assert_eq!(run.outcome, adsync::store::Outcome::Delivered, "{:?}", run.error);
}
