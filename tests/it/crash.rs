//! A real `adsync` child process killed (SIGKILL) at exact points of a refresh-token
//! rotation, then started again: it must still refresh and deliver. And no token appears in
//! clear in the sled files, the logs or `status --json`.

use std::process::{Command, Output, Stdio};

use reqwest::Method;
use serde_json::json;

use crate::helpers::{eventually, TestApp, CONNECTION, USER};

const QUERY: &str = r#"connection = "meta-test"
accounts = ["act_1001"]
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

fn adsync(test: &TestApp, args: &[&str]) -> Command {
    let mut command = test.command(args);
    command
        .env("ADSYNC_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn run_once(test: &TestApp) -> Output {
    adsync(test, &["run-once", "campaigns"]).output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A test directory whose connection is connected (in this process, then released) and
/// whose sandbox rotates refresh tokens.
async fn rotating(grace_secs: u64) -> TestApp {
    let test = TestApp::new("2026-05-04T08:00:00Z").await;
    test.write_query("campaigns", QUERY);
    drop(test.connected_app().await);
    let settings = json!({"rotate_refresh_tokens": true, "refresh_token_reuse_grace_secs": grace_secs});
    test.control(Method::PUT, "/_sandbox/settings", Some(settings)).await;
    test
}

/// Starts `run-once` with the user's access tokens expired, kills it while a request
/// matching `hold` waits, then runs it again to completion.
async fn kill_while_held_then_rerun(test: &TestApp, hold: serde_json::Value) -> Output {
    test.expire_access_tokens(USER).await;
    test.control(Method::POST, "/_sandbox/holds", Some(hold)).await;
    let mut child = adsync(test, &["run-once", "campaigns"]).spawn().unwrap();
    let sandbox = test.sandbox.sandbox().clone();
    eventually("the child to reach the hold", async || {
        (sandbox.stats().held_requests == 1).then_some(())
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    test.control(Method::DELETE, "/_sandbox/holds", None).await;
    run_once(test)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_the_refresh_request_is_in_flight_it_refreshes_after_restart() {
    let test = rotating(0).await;
    let hold = json!({"path_prefix": "/v25.0/oauth/access_token", "when": "before"});
    let rerun = kill_while_held_then_rerun(&test, hold).await;
    assert!(rerun.status.success(), "{}", text(&rerun));
    assert_eq!(test.sandbox.sandbox().stats().refresh_grants, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_when_the_new_access_token_is_first_used_the_rotated_token_was_already_saved() {
    // No reuse grace: had the process used the new access token before saving the new
    // refresh token, the restart would present the old one and the platform would revoke
    // the whole grant.
    let test = rotating(0).await;
    // The child's clock is the real one, far past the stored expiry: it refreshes before its
    // first API request, so that request carries the new access token.
    let hold = json!({"path_prefix": "/v25.0/act_1001", "when": "before"});
    let rerun = kill_while_held_then_rerun(&test, hold).await;
    assert!(rerun.status.success(), "{}", text(&rerun));
    let stats = test.sandbox.sandbox().stats();
    assert_eq!(stats.refresh_grants, 1, "the restart needed no second refresh");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_platform_rotated_but_before_the_answer_arrived_it_recovers_within_the_grace() {
    // The new refresh token only ever existed in the killed process; a platform with a
    // reuse grace period (Okta, Auth0) accepts the old one once more.
    let test = rotating(60).await;
    let hold = json!({"path_prefix": "/v25.0/oauth/access_token", "when": "after"});
    let rerun = kill_while_held_then_rerun(&test, hold).await;
    assert!(rerun.status.success(), "{}", text(&rerun));
    assert_eq!(test.sandbox.sandbox().stats().refresh_grants, 2);
    // And the token it holds now is the newest one: another refresh works without grace.
    test.control(
        Method::PUT,
        "/_sandbox/settings",
        Some(json!({"refresh_token_reuse_grace_secs": 0})),
    )
    .await;
    let again = kill_while_held_then_rerun(
        &test,
        json!({"path_prefix": "/v25.0/oauth/access_token", "when": "before"}),
    )
    .await;
    assert!(again.status.success(), "{}", text(&again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_appears_in_the_store_files_the_logs_or_status() {
    let test = rotating(0).await;
    // The tokens of the first connect, rotated out by the run below, must not leak either.
    let first = test.app().await.store().token(CONNECTION).await.unwrap().unwrap();
    test.expire_access_tokens(USER).await;
    let run = run_once(&test);
    assert!(run.status.success(), "{}", text(&run));
    let status = adsync(&test, &["status", "--json"]).output().unwrap();
    assert!(status.status.success(), "{}", text(&status));
    let status_text = adsync(&test, &["status"]).output().unwrap();
    assert!(status_text.status.success(), "{}", text(&status_text));

    let app = test.app().await;
    let token = app.store().token(CONNECTION).await.unwrap().unwrap();
    let secrets = [
        token.access_token.clone(),
        token.refresh_token.clone().unwrap(),
        first.access_token.clone(),
        first.refresh_token.clone().unwrap(),
    ];
    assert_ne!(secrets[1], secrets[3], "the refresh token was rotated");
    drop(app);
    assert_eq!(test.sandbox.sandbox().stats().refresh_grants, 1, "the run refreshed");

    let mut places = vec![
        ("run-once output".to_string(), text(&run).into_bytes()),
        ("status --json".to_string(), text(&status).into_bytes()),
        ("status".to_string(), text(&status_text).into_bytes()),
    ];
    let mut dirs = vec![test.path().join("state")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                places.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    assert!(places.len() > 4, "the store has files");
    for (place, bytes) in &places {
        for secret in &secrets {
            // Any 16-character piece of a token would be a leak.
            let needle = &secret.as_bytes()[secret.len() - 16..];
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "a token is in clear in {place}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_a_rotation_without_grace_the_lost_answer_is_named_as_the_cause() {
    // The inherent window: the new refresh token existed only in the killed process, and this
    // platform revokes the grant when the old one comes back. The reason must say it was
    // adsync's side, not blame the platform or the user.
    let test = rotating(0).await;
    let hold = json!({"path_prefix": "/v25.0/oauth/access_token", "when": "after"});
    let rerun = kill_while_held_then_rerun(&test, hold).await;
    assert!(!rerun.status.success(), "{}", text(&rerun));
    let status = adsync(&test, &["status", "--json"]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let connection = &json["connections"][0];
    assert_eq!(connection["state"], "needs_reconnect");
    assert_eq!(connection["reason"], "refresh_answer_lost");
    assert!(
        connection["reason_text"]
            .as_str()
            .unwrap()
            .starts_with("adsync lost the platform's answer to a token refresh"),
        "{connection}"
    );
}

/// A process killed while recording a run can leave the query state (its fire handled) on
/// disk without the run record written after it. The next start sees the fire handled but
/// unrecorded, records it as a gap and makes it good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fire_whose_run_record_was_lost_in_a_crash_becomes_a_gap_and_is_made_good() {
    let test = TestApp::new("2026-03-10T04:30:00Z").await;
    test.write_config("127.0.0.1:0");
    test.write_query("rep", &crate::helpers::hourly(CONNECTION, "rep.csv", "append"));
    let daemon = crate::helpers::Daemon::start(test.connected_app().await, "rep").await;
    test.clock.set(crate::helpers::at("2026-03-10T05:00:00Z"));
    daemon.runs("rep", 1).await;
    daemon.stop().await;

    // What the crash left: the query state on disk, not the run record.
    {
        let db = sled::open(test.path().join("state").join("store")).unwrap();
        let state: serde_json::Value =
            serde_json::from_slice(&db.open_tree("query_state").unwrap().get("rep").unwrap().unwrap()).unwrap();
        assert_eq!(state["last_fire"], "2026-03-10T05:00:00Z");
        db.open_tree("runs").unwrap().clear().unwrap();
        db.flush().unwrap();
    }

    test.clock.set(crate::helpers::at("2026-03-10T05:30:00Z"));
    let daemon = crate::helpers::Daemon::start(test.app().await, "rep").await;
    let store = daemon.app.store().clone();
    let gap = eventually("the lost fire's gap, made good", async || {
        store
            .gaps("rep")
            .await
            .unwrap()
            .into_iter()
            .find(|g| g.state == adsync::store::GapState::Backfilled)
    })
    .await;
    daemon.stop().await;
    assert_eq!(gap.fire_time, crate::helpers::at("2026-03-10T05:00:00Z"));
    assert_eq!(gap.reason.to_string(), "daemon_not_running");
    assert!(test.read_report("rep.csv").lines().count() > 1);
}
