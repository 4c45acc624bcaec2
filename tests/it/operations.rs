//! For operators: `/metrics` in Prometheus text whose counters move with runs, refreshes and
//! failures; `/readyz`; JSON logs; completions, the manual page and `--version`.

use std::process::{Command, Stdio};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{free_port, terminate, wait_for_ok, wait_for_port, Daemon, TestApp, USER};
use crate::web::QUERY;

/// Checks every sample line is `name{labels} value` (or `name value`) and returns the
/// samples as (`name{labels}`, value).
fn parse_exposition(text: &str) -> Vec<(String, f64)> {
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (name, Some(labels)),
            None => (series, None),
        };
        assert!(
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name: {line}"
        );
        if let Some(labels) = labels {
            let labels = labels
                .strip_suffix('}')
                .unwrap_or_else(|| panic!("unclosed labels: {line}"));
            for pair in labels.split(',') {
                let (key, quoted) = pair.split_once('=').unwrap_or_else(|| panic!("bad label: {line}"));
                assert!(!key.is_empty(), "bad label name: {line}");
                assert!(
                    quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'),
                    "bad label value: {line}"
                );
            }
        }
        samples.push((series.to_string(), value));
    }
    samples
}

/// The value of the series `series` (exact `name{labels}` as rendered), 0 when absent.
fn value(samples: &[(String, f64)], series: &str) -> f64 {
    samples.iter().find(|(s, _)| s == series).map_or(0.0, |(_, v)| *v)
}

async fn scrape(base: &str) -> Vec<(String, f64)> {
    let response = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    parse_exposition(&response.text().await.unwrap())
}

async fn run_now(base: &str) -> serde_json::Value {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/queries/daily/run"))
        .header("origin", base)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

const DELIVERED: &str = r#"adsync_runs_total{outcome="delivered",platform="meta_ads"}"#;
const FAILED: &str = r#"adsync_runs_total{outcome="failed",platform="meta_ads"}"#;
const ROWS: &str = r#"adsync_rows_delivered_total{platform="meta_ads"}"#;
const REFRESHED: &str = r#"adsync_token_refreshes_total{outcome="ok"}"#;
const RATE_LIMITED: &str = "adsync_rate_limit_wait_seconds_count";
const HTTP_500: &str = r#"adsync_platform_requests_total{status="500"}"#;

// The recorder is shared by every daemon of this test binary, so counters are compared
// before and after (they only move up); the gauges are this daemon's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_runs_refreshes_rate_limits_and_failures_and_the_daemon_is_ready() {
    let test = TestApp::new("2026-05-04T05:00:00Z").await;
    test.write_query("daily", QUERY);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let daemon = Daemon::start_on(test.connected_app().await, "daily", listener).await;

    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(
        ready,
        json!({"ready": true, "listener": "ok", "store": "ok", "scheduler": "ok"})
    );

    let start = scrape(&base).await;
    assert_eq!(value(&start, r#"adsync_connections{state="connected"}"#), 1.0);
    assert_eq!(value(&start, "adsync_open_gaps"), 0.0);

    let run = run_now(&base).await;
    assert_eq!(run["outcome"], "delivered", "{run}");
    let rows = run["rows"].as_f64().unwrap();
    assert!(rows > 0.0);
    let delivered = scrape(&base).await;
    assert!(value(&delivered, DELIVERED) >= value(&start, DELIVERED) + 1.0);
    assert!(value(&delivered, ROWS) >= value(&start, ROWS) + rows);
    assert!(
        delivered
            .iter()
            .any(|(s, v)| s.starts_with(r#"adsync_run_duration_seconds_count{platform="meta_ads""#) && *v >= 1.0),
        "no run duration histogram"
    );

    test.expire_access_tokens(USER).await;
    let run = run_now(&base).await;
    assert_eq!(run["outcome"], "delivered", "{run}");
    let refreshed = scrape(&base).await;
    assert!(value(&refreshed, REFRESHED) >= value(&delivered, REFRESHED) + 1.0);

    test.control(
        reqwest::Method::POST,
        "/_sandbox/faults",
        Some(json!({"kind": "rate_limit", "code": 80004, "count": 1, "path_prefix": "/v25.0/act_1001"})),
    )
    .await;
    let run = run_now(&base).await;
    assert_eq!(run["outcome"], "delivered", "{run}");
    let waited = scrape(&base).await;
    assert!(value(&waited, RATE_LIMITED) >= value(&refreshed, RATE_LIMITED) + 1.0);
    let refreshed = waited;

    // More 500s than the retry budget: the run fails.
    test.control(
        reqwest::Method::POST,
        "/_sandbox/faults",
        Some(json!({"kind": "http_500", "count": 10, "path_prefix": "/v25.0/act_1001"})),
    )
    .await;
    let run = run_now(&base).await;
    assert_eq!(run["outcome"], "failed", "{run}");
    let failed = scrape(&base).await;
    assert!(value(&failed, FAILED) >= value(&refreshed, FAILED) + 1.0);
    assert!(value(&failed, HTTP_500) >= value(&refreshed, HTTP_500) + 3.0);
    test.control(reqwest::Method::DELETE, "/_sandbox/faults", None).await;
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_log_format_json_every_stderr_line_of_the_daemon_is_a_json_object() {
    let test = TestApp::new("2026-05-04T05:00:00Z").await;
    let port = free_port();
    test.write_config(&format!("127.0.0.1:{port}"));
    test.write_query("daily", QUERY);
    let daemon = test
        .command(&["run", "--log-format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_port(port, "adsync run").await;
    wait_for_ok(&format!("http://127.0.0.1:{port}/readyz")).await;
    let output = terminate(daemon).await;
    let log = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{log}");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "adsync stopped." && l["level"] == "INFO"),
        "{log}"
    );
}

#[test]
fn with_adsync_log_format_json_an_error_is_a_json_log_line_too() {
    let output = Command::new(env!("CARGO_BIN_EXE_adsync"))
        .args(["status", "--config", "/nonexistent/adsync.toml"])
        .env("ADSYNC_LOG_FORMAT", "json")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let log = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let error = lines
        .iter()
        .find(|l| l["level"] == "ERROR")
        .unwrap_or_else(|| panic!("{log}"));
    let message = error["fields"]["message"].as_str().unwrap();
    assert!(message.contains("/nonexistent/adsync.toml"), "{message}");
}

#[test]
fn version_names_the_commit_and_completions_and_man_print_scripts() {
    let adsync = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_adsync")).args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let version = adsync(&["--version"]);
    let commit = version
        .trim()
        .strip_prefix(concat!("adsync ", env!("CARGO_PKG_VERSION"), " (commit "))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{version}"));
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{version}"
    );
    let bash = adsync(&["completions", "bash"]);
    assert!(
        bash.contains("_adsync()") && bash.contains("complete -F _adsync"),
        "{bash}"
    );
    assert!(bash.contains("run-once") && bash.contains("--log-format"), "{bash}");
    let man = adsync(&["man"]);
    assert!(man.contains(".TH adsync 1"), "{man}");
    assert!(man.contains("run\\-once") || man.contains("run-once"), "{man}");
}
