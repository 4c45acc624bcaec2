//! A stop takes seconds: runs in flight get the grace period, and one still waiting on a
//! platform is then cancelled, its previous output untouched and its fire a gap the next
//! start makes good.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adsync::store::{GapState, Outcome};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{at, eventually, free_port, terminate, wait_for_port, Daemon, TestApp};

const QUERY: &str = r#"connection = "meta-test"
accounts = ["act_1001"]
level = "campaign"
fields = ["date_start", "campaign_id", "impressions", "spend"]
date_range = "yesterday"

[schedule]
cron = "0 6 * * *"
timezone = "UTC"

[output]
kind = "csv"
path = "reports/campaigns.csv"
mode = "replace"
"#;

const GRACE: &str = "[scheduler]\nshutdown_grace_secs = 1\n";

/// Holds the next insights request before the sandbox answers it: a platform that hangs.
async fn hang_the_next_report(test: &TestApp) {
    let hold = json!({"path_prefix": "/v25.0/act_1001", "when": "before"});
    test.control(Method::POST, "/_sandbox/holds", Some(hold)).await;
}

async fn held(test: &TestApp) {
    let sandbox = test.sandbox.sandbox().clone();
    eventually("a request to hang at the sandbox", async || {
        (sandbox.stats().held_requests == 1).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_cancels_a_hanging_scheduled_run_after_the_grace_and_the_next_start_makes_it_good() {
    let test = TestApp::new("2026-05-04T05:30:00Z").await;
    test.write_config_with("127.0.0.1:0", GRACE);
    test.write_query("campaigns", QUERY);
    let daemon = Daemon::start(test.connected_app().await, "campaigns").await;
    hang_the_next_report(&test).await;
    test.clock.set(at("2026-05-04T06:00:00Z"));
    held(&test).await;

    let asked = Instant::now();
    daemon.stop().await;
    let took = asked.elapsed();
    assert!(took < Duration::from_secs(6), "the stop took {took:?}");
    assert!(!test.reports().join("campaigns.csv").exists(), "nothing was committed");
    let leftovers: Vec<_> = std::fs::read_dir(test.reports()).map_or(Vec::new(), |d| d.flatten().collect());
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let app = test.app().await;
    let runs = app.store().runs("campaigns").await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, Outcome::Failed);
    let gaps = app.store().gaps("campaigns").await.unwrap();
    assert_eq!(gaps.len(), 1);
    assert_eq!(
        (gaps[0].fire_time, gaps[0].reason.as_str(), gaps[0].state),
        (at("2026-05-04T06:00:00Z"), "daemon_not_running", GapState::Open)
    );

    // The platform answers again; the next start backfills the fire.
    test.control(Method::DELETE, "/_sandbox/holds", None).await;
    let daemon = Daemon::start(app, "campaigns").await;
    let gap = eventually("the gap to be made good", async || {
        let gap = daemon.app.store().gaps("campaigns").await.unwrap().remove(0);
        (gap.state != GapState::Open).then_some(gap)
    })
    .await;
    // A replace query's delivery of the window makes the gap good by superseding it.
    assert_eq!(gap.state, GapState::Superseded);
    assert!(test
        .read_report("campaigns.csv")
        .starts_with("date_start,campaign_id,impressions,spend\n"));
    daemon.stop().await;
}

/// `adsync run` as a child process on `port`, logging to a pipe.
fn daemon_process(test: &TestApp) -> Child {
    let mut command: Command = test.command(&["run"]);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    command.spawn().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_hanging_request_stops_the_daemon_within_the_grace_and_a_second() {
    let test = TestApp::new("2026-05-04T05:30:00Z").await;
    let port = free_port();
    test.write_config_with(&format!("127.0.0.1:{port}"), GRACE);
    test.write_query("campaigns", QUERY);
    drop(test.connected_app().await);
    let daemon = daemon_process(&test);
    wait_for_port(port, "adsync run").await;
    hang_the_next_report(&test).await;
    // `run-once` goes through the running daemon, whose web endpoint runs the query.
    let mut run_once = test
        .command(&["run-once", "campaigns"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    held(&test).await;

    let asked = Instant::now();
    let status = terminate(daemon).await;
    let took = asked.elapsed();
    assert!(took < Duration::from_secs(2), "the stop took {took:?}");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let log = String::from_utf8_lossy(&status.stderr);
    assert!(log.contains("Grace period over"), "{log}");
    assert!(log.contains("adsync stopped."), "{log}");
    let answered = run_once.wait().unwrap();
    assert!(!answered.success(), "the cancelled run is not reported delivered");
    assert!(!test.reports().join("campaigns.csv").exists());
    test.control(Method::DELETE, "/_sandbox/holds", None).await;
}
