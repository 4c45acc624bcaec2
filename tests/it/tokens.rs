//! Token lifecycle: one refresh for many runs, paused connections with reasons, gaps per
//! missed fire, rate limits waited out, and no token in clear anywhere.

use adsync::store::{GapState, Outcome};
use reqwest::Method;
use serde_json::json;

use adsync::app::App;

use crate::helpers::{
    at, eventually, hourly, query_state, Daemon, TestApp, CONNECTION, GOOGLE, OTHER_CONNECTION, USER,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_runs_on_an_expired_token_make_exactly_one_refresh() {
    let test = TestApp::new("2026-05-04T08:00:00Z").await;
    test.write_query("campaigns", &hourly(CONNECTION, "campaigns.csv", "replace"));
    let app = test.connected_app().await;
    test.expire_access_tokens(USER).await;

    let runs = futures_util::future::join_all((0..200).map(|_| app.run_once("campaigns"))).await;
    for run in &runs {
        let run = run.as_ref().unwrap();
        assert_eq!(run.outcome, Outcome::Delivered, "{:?}", run.error);
    }
    assert_eq!(test.sandbox.sandbox().stats().refresh_grants, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_revoke_reason_pauses_its_connection_and_records_one_gap_per_fire() {
    for reason in [
        "password_changed",
        "app_removed",
        "expired",
        "checkpoint",
        "unconfirmed_user",
    ] {
        let test = TestApp::new("2026-05-04T04:30:00Z").await;
        test.write_query("paused", &hourly(CONNECTION, "paused.csv", "append"));
        test.write_query("other", &hourly(OTHER_CONNECTION, "other.csv", "append"));
        let daemon = Daemon::start(test.both_connected_app().await, "paused").await;
        let revoked = test.revoke(USER, reason).await;
        assert_eq!(revoked["refresh_tokens_revoked"], 1);

        // First fire: the platform rejects the token, the refresh is refused: paused.
        test.clock.set(at("2026-05-04T05:00:00Z"));
        let first = daemon.runs("paused", 1).await;
        assert_eq!(first[0].outcome, Outcome::Failed);
        daemon.runs("other", 1).await;
        let calls_after_pause = test.sandbox.sandbox().stats();

        // Second fire: no call to the platform at all, one more gap.
        test.clock.set(at("2026-05-04T06:00:00Z"));
        let runs = daemon.runs("paused", 2).await;
        assert_eq!(runs[1].outcome, Outcome::Paused, "{reason}");
        let other = daemon.runs("other", 2).await;
        assert!(
            other.iter().all(|r| r.outcome == Outcome::Delivered),
            "{reason}: {other:?}"
        );
        let stats = test.sandbox.sandbox().stats();
        assert_eq!(
            stats.token_errors, calls_after_pause.token_errors,
            "{reason}: the dead token was retried"
        );

        let status = daemon.app.status().await.unwrap();
        let json = serde_json::to_value(&status).unwrap();
        let connection = &json["connections"][0];
        assert_eq!(connection["id"], CONNECTION);
        assert_eq!(connection["state"], "needs_reconnect", "{reason}");
        assert_eq!(connection["reason"], reason);
        let words = adsync::auth::ReconnectReason::parse(reason);
        assert_ne!(words, adsync::auth::ReconnectReason::Unknown, "{reason}");
        assert_eq!(connection["reason_text"], words.sentence().as_str());
        assert_eq!(json["connections"][1]["state"], "connected");
        assert_eq!(query_state(&json, "paused"), "paused");
        assert_eq!(query_state(&json, "other"), "active");
        let gaps: Vec<_> = json["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["query"].as_str().unwrap().to_string(),
                    g["fire_time"].as_str().unwrap().to_string(),
                    g["window_start"].as_str().unwrap().to_string(),
                    g["window_end"].as_str().unwrap().to_string(),
                    g["reason"].as_str().unwrap().to_string(),
                    g["state"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let gap = |fire: &str| {
            (
                "paused".to_string(),
                fire.to_string(),
                "2026-05-03".to_string(),
                "2026-05-03".to_string(),
                reason.to_string(),
                "open".to_string(),
            )
        };
        assert_eq!(
            gaps,
            [gap("2026-05-04T05:00:00Z"), gap("2026-05-04T06:00:00Z")],
            "{reason}"
        );
        daemon.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_is_waited_out_and_leaves_no_gap() {
    let test = TestApp::new("2026-05-04T04:30:00Z").await;
    test.write_query("campaigns", &hourly(CONNECTION, "campaigns.csv", "replace"));
    let daemon = Daemon::start(test.connected_app().await, "campaigns").await;
    test.control(
        Method::POST,
        "/_sandbox/faults",
        Some(json!({"kind": "rate_limit", "code": 80004, "count": 1, "path_prefix": "/v25.0/act_1001"})),
    )
    .await;
    test.clock.set(at("2026-05-04T05:00:00Z"));
    let runs = daemon.runs("campaigns", 1).await;
    assert_eq!(runs[0].outcome, Outcome::Delivered, "{:?}", runs[0].error);
    assert_eq!(test.sandbox.sandbox().stats().faults_injected, 1);
    assert!(daemon.app.store().all_gaps().await.unwrap().is_empty());
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_beyond_the_retry_budget_leave_a_gap_and_the_previous_file() {
    let test = TestApp::new("2026-05-04T04:30:00Z").await;
    test.write_query("campaigns", &hourly(CONNECTION, "campaigns.csv", "replace"));
    let daemon = Daemon::start(test.connected_app().await, "campaigns").await;
    test.clock.set(at("2026-05-04T05:00:00Z"));
    daemon.runs("campaigns", 1).await;
    let before = std::fs::read(test.reports().join("campaigns.csv")).unwrap();

    test.control(
        Method::POST,
        "/_sandbox/faults",
        Some(json!({"kind": "http_500", "count": 10})),
    )
    .await;
    test.clock.set(at("2026-05-04T06:00:00Z"));
    let runs = daemon.runs("campaigns", 2).await;
    assert_eq!(runs[1].outcome, Outcome::Failed);
    let gaps = daemon.app.store().gaps("campaigns").await.unwrap();
    assert_eq!(gaps.len(), 1);
    assert_eq!(
        (gaps[0].fire_time, gaps[0].reason.as_str()),
        (at("2026-05-04T06:00:00Z"), "platform_error")
    );
    assert_eq!(gaps[0].state, GapState::Open);
    assert!(gaps[0].detail.as_deref().unwrap().contains("gave up after 3 attempts"));
    assert!(std::fs::read(test.reports().join("campaigns.csv")).unwrap() == before);

    // The next good run of a replace query supersedes the gap.
    test.control(Method::DELETE, "/_sandbox/faults", None).await;
    test.clock.set(at("2026-05-04T07:00:00Z"));
    daemon.runs("campaigns", 3).await;
    let gap = eventually("the gap to close", async || {
        let gap = daemon.app.store().gaps("campaigns").await.unwrap().remove(0);
        (gap.state != GapState::Open).then_some(gap)
    })
    .await;
    assert_eq!(gap.state, GapState::Superseded);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permission_error_or_a_rejected_query_fails_only_that_query() {
    let test = TestApp::new("2026-05-04T08:00:00Z").await;
    let on_account = |account: &str, breakdowns: &str, file: &str| {
        hourly(CONNECTION, file, "replace")
            .replace("act_1001", account)
            .replace("date_range", &format!("breakdowns = [{breakdowns}]\ndate_range"))
    };
    test.write_query("fine", &on_account("act_1001", "", "fine.csv"));
    test.write_query("denied", &on_account("act_1002", "", "denied.csv"));
    // Graph refuses more than two breakdowns at once (code 2, subcode 1504041).
    let too_many = on_account("act_1001", r#""age", "gender", "country""#, "bad.csv");
    test.write_query("bad", &too_many);
    let app = test.connected_app().await;
    test.control(
        Method::POST,
        &format!("/_sandbox/users/{USER}/accounts/deny?account=act_1002"),
        None,
    )
    .await;

    let denied = app.run_once("denied").await.unwrap();
    assert_eq!(denied.outcome, Outcome::Failed);
    let error = denied.error.unwrap();
    assert!(
        error.starts_with("permission denied") && error.contains("act_1002"),
        "{error}"
    );
    let bad = app.run_once("bad").await.unwrap();
    assert_eq!(bad.outcome, Outcome::Failed);
    assert!(bad.error.unwrap().contains("rejected the query"));
    let fine = app.run_once("fine").await.unwrap();
    assert_eq!(fine.outcome, Outcome::Delivered, "{:?}", fine.error);

    // The rejected query is not sent again while its file is unchanged.
    let requests = test.sandbox.sandbox().stats().api_requests;
    let again = app.run_once("bad").await.unwrap();
    assert_eq!(again.outcome, Outcome::Paused);
    assert!(again.error.unwrap().contains("broken until its file changes"));
    assert_eq!(test.sandbox.sandbox().stats().api_requests, requests);
    let status = serde_json::to_value(app.status().await.unwrap()).unwrap();
    assert_eq!(status["connections"][0]["state"], "connected");
    let state = |name: &str| query_state(&status, name);
    assert_eq!(
        (state("bad"), state("denied"), state("fine")),
        ("broken".into(), "active".into(), "active".into())
    );
    drop(app);

    // Fixed file, new daemon: it runs again.
    test.write_query("bad", &too_many.replace(r#", "country""#, ""));
    let app = test.app().await;
    let fixed = app.run_once("bad").await.unwrap();
    assert_eq!(fixed.outcome, Outcome::Delivered, "{:?}", fixed.error);
}

#[tokio::test]
async fn a_refresh_token_near_its_end_shows_the_connection_as_expiring() {
    let test = TestApp::new("2026-05-04T08:00:00Z").await;
    let five_days = json!({"refresh_token_ttl_secs": 5 * 86_400});
    test.control(Method::PUT, "/_sandbox/settings", Some(five_days)).await;
    let app = test.connected_app().await;
    let status = app.status().await.unwrap();
    let connection = &status.connections[0];
    assert_eq!(connection.state, "expiring");
    assert_eq!(connection.expires_at, Some(at("2026-05-09T08:00:00Z")));
    assert!(status.to_text().contains("expires in 5 days"), "{}", status.to_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_token_is_refreshed_by_the_keep_alive_sweep() {
    let test = TestApp::new("2026-05-04T08:00:00Z").await;
    // A yearly query: nothing would use the token for months.
    test.write_query(
        "yearly",
        &hourly(CONNECTION, "yearly.csv", "replace").replace("0 * * * *", "0 6 1 1 *"),
    );
    let app = test.connected_app().await;
    let grants = || test.sandbox.sandbox().stats().refresh_grants;
    // Six days idle: not yet (the default is seven).
    test.clock.set(at("2026-05-10T08:00:00Z"));
    app.upkeep().await;
    assert_eq!(grants(), 0, "refreshed before the token was idle long enough");
    test.clock.set(at("2026-05-11T09:00:00Z"));
    app.upkeep().await;
    assert_eq!(grants(), 1);
    let token = app.store().token(CONNECTION).await.unwrap().unwrap();
    assert_eq!(token.obtained_at, at("2026-05-11T09:00:00Z"));
    // The next hourly passes find a fresh token.
    test.clock.set(at("2026-05-11T12:00:00Z"));
    app.upkeep().await;
    assert_eq!(grants(), 1, "refreshed again although the token was fresh");

    // The daemon runs the same pass on its own.
    let daemon = Daemon::start(app, "yearly").await;
    test.clock.set(at("2026-05-18T13:00:00Z"));
    eventually("the daemon's keep-alive refresh", async || {
        (grants() == 2).then_some(())
    })
    .await;
    daemon.stop().await;
}

#[tokio::test]
async fn meta_data_access_expiry_comes_from_debug_token() {
    let test = TestApp::new("2026-05-04T08:00:00Z").await;
    let app = test.connected_app().await;
    let token = app.store().token(CONNECTION).await.unwrap().unwrap();
    // The sandbox grants data access for 90 days from its own (wall) clock.
    let at = token
        .data_access_expires_at
        .expect("debug_token gave data_access_expires_at");
    let days = (at - chrono::Utc::now()).num_days();
    assert!((89..=90).contains(&days), "{days} days");
    let status = app.status().await.unwrap();
    assert_eq!(status.connections[0].expires_at, Some(at));
    assert_eq!(status.connections[0].state, "connected");
}

/// A test directory with a Google connection whose authorization server issues access
/// tokens living `lifetime_secs`, connected as `GOOGLE_USER`.
async fn google_with_lifetime(lifetime_secs: u64) -> (TestApp, App) {
    let test = TestApp::with_providers("2026-05-04T08:00:00Z", "").await;
    let lifetime = json!({"google_oauth": {"access_token_ttl_secs": lifetime_secs}});
    test.control(Method::PUT, "/_sandbox/settings", Some(lifetime)).await;
    let app = test.app().await;
    adsync::demo::connect_via_sandbox(&app, GOOGLE, GOOGLE_USER)
        .await
        .unwrap();
    (test, app)
}

const GOOGLE_USER: &str = "ann@corp.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_uses_due_at_once_make_one_refresh_whatever_the_token_lifetime() {
    for lifetime in [4, 30, 300, 3600] {
        let (test, app) = google_with_lifetime(lifetime).await;
        let refreshes = || test.sandbox.sandbox().stats().refresh_grants;

        app.auth().access_token(GOOGLE).await.unwrap();
        assert_eq!(refreshes(), 0, "{lifetime} s: refreshed straight after the exchange");

        // One second into the margin: min(5 min, half the lifetime) before the end.
        let margin = (lifetime / 2).min(300);
        test.clock
            .advance(chrono::Duration::seconds((lifetime - margin + 1) as i64));
        let auth = app.auth();
        let tokens = futures_util::future::join_all((0..40).map(|_| auth.access_token(GOOGLE))).await;
        let distinct: std::collections::BTreeSet<_> = tokens.into_iter().map(Result::unwrap).collect();
        assert_eq!(refreshes(), 1, "{lifetime} s");
        assert_eq!(distinct.len(), 1, "{lifetime} s: every use got the one new token");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_runs_on_a_five_minute_token_past_its_margin_make_one_refresh() {
    // Keycloak's default lifetime: with a fixed five-minute margin every use was a refresh.
    let (test, _) = google_with_lifetime(300).await;
    test.write_query(
        "sessions",
        &format!(
            r#"connection = "{GOOGLE}"
platform = "ga4"
accounts = ["123456789"]
fields = ["date", "sessions"]
date_range = {{ start = "2026-05-01", end = "2026-05-02" }}

[schedule]
cron = "0 6 * * *"

[output]
kind = "csv"
path = "sessions.csv"
mode = "replace"
"#
        ),
    );
    let app = test.app().await;
    test.clock.advance(chrono::Duration::seconds(151));
    let runs = futures_util::future::join_all((0..40).map(|_| app.run_once("sessions"))).await;
    for run in &runs {
        let run = run.as_ref().unwrap();
        assert_eq!(run.outcome, Outcome::Delivered, "{:?}", run.error);
    }
    assert_eq!(test.sandbox.sandbox().stats().refresh_grants, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_usage_update_during_a_rotation_keeps_the_rotated_refresh_token() {
    let test = TestApp::new("2026-05-04T08:00:00Z").await;
    let app = test.connected_app().await;
    let strict = json!({"rotate_refresh_tokens": true, "refresh_token_reuse_grace_secs": 0});
    test.control(Method::PUT, "/_sandbox/settings", Some(strict)).await;
    let first = app.store().token(CONNECTION).await.unwrap().unwrap();
    // An hour on, using the token records the use, and the platform rejects the access
    // token (as after a 401) so a refresh runs too.
    test.clock.advance(chrono::Duration::minutes(61));
    test.control(
        Method::POST,
        "/_sandbox/holds",
        Some(json!({"path_prefix": "/v25.0/oauth/access_token", "when": "after"})),
    )
    .await;
    let refresh = tokio::spawn({
        let app = app.clone();
        let rejected = first.access_token.clone();
        async move { app.auth().refresh(CONNECTION, &rejected, None).await }
    });
    let sandbox = test.sandbox.sandbox().clone();
    eventually("the refresh to be rotated and held", async || {
        (sandbox.stats().held_requests == 1).then_some(())
    })
    .await;
    let mut usage = tokio::spawn({
        let app = app.clone();
        async move { app.auth().access_token(CONNECTION).await }
    });
    // The usage update waits for the connection's lock, which the refresh holds.
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(200), &mut usage)
            .await
            .is_err(),
        "the usage update did not wait for the refresh"
    );
    test.control(Method::DELETE, "/_sandbox/holds", None).await;
    let new_access = refresh.await.unwrap().unwrap();
    usage.await.unwrap().unwrap();

    let stored = app.store().token(CONNECTION).await.unwrap().unwrap();
    assert_eq!(stored.access_token, new_access);
    assert_ne!(stored.refresh_token, first.refresh_token, "rotated");
    // The next refresh presents the stored refresh token: had the usage update written back
    // the rotated-out one, this strict server would revoke the grant.
    app.auth().refresh(CONNECTION, &new_access, None).await.unwrap();
    assert_eq!(test.sandbox.sandbox().stats().refresh_grants, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_request_that_times_out_says_so() {
    let test = TestApp::new("2026-05-04T08:00:00Z").await;
    let config = std::fs::read_to_string(test.config_path()).unwrap();
    std::fs::write(
        test.config_path(),
        config.replace("request_timeout_secs = 10", "request_timeout_secs = 1"),
    )
    .unwrap();
    let app = test.connected_app().await;
    test.control(
        Method::POST,
        "/_sandbox/holds",
        Some(json!({"path_prefix": "/v25.0/oauth/access_token", "when": "before"})),
    )
    .await;
    let rejected = app.store().token(CONNECTION).await.unwrap().unwrap().access_token;
    let error = app.auth().refresh(CONNECTION, &rejected, None).await.unwrap_err();
    test.control(Method::DELETE, "/_sandbox/holds", None).await;
    assert_eq!(
        error.to_string(),
        format!("token endpoint of {CONNECTION} failed: timed out after 2 s")
    );
}
