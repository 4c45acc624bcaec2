//! Backfill windows that cannot lie: a window a run cannot honestly deliver is refused the
//! same way by the API and the CLI, and leaves the report and its gaps as they were.

use adsync::rows::DateWindow;
use adsync::store::{Gap, GapState, Outcome};
use reqwest::StatusCode;

use crate::helpers::{at, eventually, Daemon, TestApp, CONNECTION};

/// Three days of one account, the whole file rewritten by every run.
pub const REPLACE: &str = r#"connection = "meta-test"
accounts = ["act_1001"]
level = "account"
fields = ["date_start", "account_id", "impressions"]
date_range = "last_3_days"

[schedule]
cron = "0 6 * * *"

[output]
kind = "csv"
path = "reports/rep.csv"
mode = "replace"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inverted_or_partial_backfill_of_a_replace_query_is_refused_and_changes_nothing() {
    let test = TestApp::new("2026-03-10T12:00:00Z").await;
    test.write_query("rep", REPLACE);
    let app = test.connected_app().await;
    let first = app.run_once("rep").await.unwrap();
    assert_eq!(first.outcome, Outcome::Delivered, "{:?}", first.error);
    let gap = |fire: &str, start: &str, end: &str| {
        let window = DateWindow::new(start.parse().unwrap(), end.parse().unwrap());
        Gap::open(
            "rep",
            CONNECTION,
            at(fire),
            window,
            ("platform_error".into(), None),
            at(fire),
        )
    };
    app.store()
        .record_gap(&gap("2026-03-08T06:00:00Z", "2026-03-05", "2026-03-07"))
        .await
        .unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let daemon = Daemon::start_on(app, "rep", listener).await;
    // The start-up backfill makes a fresh whole-window run: the older gap is superseded.
    let store = daemon.app.store();
    eventually("the start-up backfill to supersede the older gap", async || {
        (store.gaps("rep").await.unwrap()[0].state == GapState::Superseded).then_some(())
    })
    .await;
    // Today's fire missed (say); the report on disk is the start-up run's.
    store
        .record_gap(&gap("2026-03-10T06:00:00Z", "2026-03-07", "2026-03-09"))
        .await
        .unwrap();
    let before = test.read_report("rep.csv");
    assert_eq!(before.lines().count(), 4, "{before}");
    let http = reqwest::Client::new();
    let mut refusals = Vec::new();
    for (start, end) in [("2026-03-09", "2026-03-07"), ("2026-03-09", "2026-03-09")] {
        let response = http
            .post(format!("{base}/api/backfill"))
            .header("origin", &base)
            .json(&serde_json::json!({"query": "rep", "window": {"start": start, "end": end}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{start}..{end}");
        let body: serde_json::Value = response.json().await.unwrap();
        refusals.push(body["error"].as_str().unwrap().to_string());
    }
    assert_eq!(refusals[0], "--to 2026-03-07 is before --from 2026-03-09");
    assert_eq!(
        refusals[1],
        "rep replaces its output with its whole date_range (2026-03-07..2026-03-09 today); a \
         backfill of 2026-03-09 would shrink the report: ask for --from 2026-03-07 --to 2026-03-09 \
         or leave both out"
    );
    assert_eq!(test.read_report("rep.csv"), before, "the report is byte-identical");
    let gaps = store.gaps("rep").await.unwrap();
    assert_eq!(gaps[1].state, GapState::Open, "{gaps:?}");
    let runs = store.runs("rep").await.unwrap();
    assert!(
        runs.iter().all(|r| r.fire == at("2026-03-10T12:00:00Z")),
        "nothing else ran: {runs:?}"
    );
    daemon.stop().await;

    // The CLI on the same store says the same and exits non-zero (it runs on the system
    // clock, so the partial window's "today" differs).
    let cli = |from: &str, to: &str| {
        let output = test
            .command(&["backfill", "rep", "--from", from, "--to", to])
            .output()
            .unwrap();
        assert!(!output.status.success());
        String::from_utf8(output.stderr).unwrap().trim().to_string()
    };
    assert_eq!(cli("2026-03-09", "2026-03-07"), format!("error: {}", refusals[0]));
    let partial = cli("2026-03-09", "2026-03-09");
    assert!(
        partial.starts_with("error: rep replaces its output with its whole date_range"),
        "{partial}"
    );
    assert_eq!(test.read_report("rep.csv"), before);
    assert_eq!(
        test.app().await.store().gaps("rep").await.unwrap()[1].state,
        GapState::Open
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_window_backfill_of_a_replace_query_supersedes_only_older_gaps() {
    let test = TestApp::new("2026-03-10T12:00:00Z").await;
    test.write_query("rep", REPLACE);
    let app = test.connected_app().await;
    let day = |s: &str| s.parse().unwrap();
    for (fire, start, end) in [
        ("2026-03-08T06:00:00Z", "2026-03-05", "2026-03-07"),
        // A gap from a (clock-skewed) fire newer than today's report: not made good by it.
        ("2026-03-12T06:00:00Z", "2026-03-09", "2026-03-11"),
    ] {
        let gap = Gap::open(
            "rep",
            CONNECTION,
            at(fire),
            DateWindow::new(day(start), day(end)),
            ("platform_error".into(), None),
            at(fire),
        );
        app.store().record_gap(&gap).await.unwrap();
    }
    let runs = app
        .backfill(
            Some("rep"),
            Some(DateWindow::new(day("2026-03-07"), day("2026-03-09"))),
            |_, _, _| {},
        )
        .await
        .unwrap();
    assert_eq!(runs[0].outcome, Outcome::Delivered, "{:?}", runs[0].error);
    assert_eq!(test.read_report("rep.csv").lines().count(), 4);
    let states: Vec<GapState> = app.store().gaps("rep").await.unwrap().iter().map(|g| g.state).collect();
    assert_eq!(states, [GapState::Superseded, GapState::Open]);
}

/// `adsync backfill` through a running daemon prints each run as the daemon finishes it (the
/// answer streams), then the whole list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backfill_command_through_the_daemon_shows_each_run_as_it_finishes() {
    let test = TestApp::new("2026-03-10T12:00:00Z").await;
    let port = crate::helpers::free_port();
    test.write_config(&format!("127.0.0.1:{port}"));
    test.write_query("h", &crate::helpers::hourly(CONNECTION, "h.csv", "append"));
    test.write_query("g", &crate::helpers::hourly(CONNECTION, "g.csv", "append"));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let daemon = Daemon::start_on(test.connected_app().await, "h", listener).await;

    let command = test.command(&["backfill", "--from", "2026-03-08", "--to", "2026-03-09"]);
    let output = tokio::task::spawn_blocking(move || { command }.output().unwrap())
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    );
    assert!(output.status.success(), "{stdout}{stderr}");
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [
            "[1/2] g 2026-03-08..2026-03-09: delivered 6 rows",
            "[2/2] h 2026-03-08..2026-03-09: delivered 6 rows"
        ],
        "{stderr}"
    );
    assert!(
        stdout.starts_with("[1/2] g: delivered 6 rows for 2026-03-08..2026-03-09"),
        "{stdout}"
    );
    daemon.stop().await;
}
