//! Every failure reaches a person, once: a lost account, a query the platform rejects and an
//! OAuth client the token endpoint refuses each bring exactly one email to the right people
//! (through a real SMTP server), reminders only after the interval, and one recovery email
//! once the fault is cleared.

use adsync::store::{ConnectionStatus, GapState, Outcome};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{at, eventually, query_state, query_view, Daemon, TestApp, CONNECTION, USER};
use crate::mail::{mail_daemon, Mail, SmtpServer};

/// The reconnect tests' daily query on `account`, with `breakdowns`.
pub(crate) fn daily(account: &str, breakdowns: &str) -> String {
    crate::reconnect::daily(account, "daily.csv")
        .replace("date_range", &format!("breakdowns = [{breakdowns}]\ndate_range"))
}

/// Waits until exactly `n` messages arrived, and returns them.
async fn mails(smtp: &SmtpServer, n: usize) -> Vec<Mail> {
    let mails = eventually(&format!("{n} emails"), async || {
        Some(smtp.messages()).filter(|m| m.len() >= n)
    })
    .await;
    assert_eq!(
        mails.len(),
        n,
        "{:#?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    mails
}

pub(crate) async fn fire(test: &TestApp, daemon: &Daemon, when: &str, runs: usize) -> Outcome {
    test.clock.set(at(when));
    daemon.runs("daily", runs).await[runs - 1].outcome
}

pub(crate) async fn deny(test: &TestApp, verb: &str) {
    let path = format!("/_sandbox/users/{USER}/accounts/{verb}?account=act_1001");
    test.control(Method::POST, &path, None).await;
}

async fn status(daemon: &Daemon) -> serde_json::Value {
    serde_json::to_value(daemon.app.status().await.unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_account_is_told_to_the_analyst_and_the_owner_once_and_its_recovery_once() {
    let smtp = SmtpServer::start().await;
    let (test, daemon, _base) = mail_daemon(&smtp, 72, &[("daily", daily("act_1001", ""))]).await;
    deny(&test, "deny").await;

    assert_eq!(fire(&test, &daemon, "2026-05-04T06:00:00Z", 1).await, Outcome::Failed);
    let mail = mails(&smtp, 1).await.remove(0);
    assert_eq!(mail.subject, "adsync: Meta Ads query daily lost access to an account");
    assert_eq!(mail.to, "analyst@example.com, owner@example.com");
    assert!(mail.text.contains("since 2026-05-04 06:00 UTC"), "{}", mail.text);
    assert!(mail.text.contains("What failed: permission denied"), "{}", mail.text);
    assert!(
        mail.text.contains("Why: The connected user has no access"),
        "{}",
        mail.text
    );
    assert!(
        mail.text.contains("- 2026-05-03 (scheduled 2026-05-04 06:00 UTC)"),
        "{}",
        mail.text
    );
    mail.assert_link_expiry_and_login(USER);
    let query = query_view(&status(&daemon).await, "daily");
    assert_eq!(query["last_error_reason"], "permission_denied");
    assert!(query["last_error_text"].as_str().unwrap().contains("no access"));

    // Still denied the next day: a gap, no second email.
    assert_eq!(fire(&test, &daemon, "2026-05-05T06:00:00Z", 2).await, Outcome::Failed);
    assert_eq!(daemon.app.store().gaps("daily").await.unwrap().len(), 2);
    assert_eq!(smtp.messages().len(), 1);

    // Access restored: the next fire delivers and one recovery email lists the missed runs.
    deny(&test, "allow").await;
    assert_eq!(
        fire(&test, &daemon, "2026-05-06T06:00:00Z", 3).await,
        Outcome::Delivered
    );
    let recovery = mails(&smtp, 2).await.remove(1);
    assert_eq!(recovery.subject, "adsync: Meta Ads query daily delivers again");
    assert_eq!(recovery.to, "analyst@example.com, owner@example.com");
    assert!(
        recovery.text.contains("It had failed since 2026-05-04 06:00 UTC"),
        "{}",
        recovery.text
    );
    assert!(
        recovery
            .text
            .contains("- 2026-05-03 (scheduled 2026-05-04 06:00 UTC): "),
        "{}",
        recovery.text
    );
    assert!(
        recovery
            .text
            .contains("- 2026-05-04 (scheduled 2026-05-05 06:00 UTC): "),
        "{}",
        recovery.text
    );
    assert_ne!(recovery.message_id, mail.message_id);
    assert_eq!(
        query_view(&status(&daemon).await, "daily")["last_error_reason"],
        json!(null)
    );
    daemon.app.upkeep().await;
    assert_eq!(smtp.messages().len(), 2);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_query_is_told_to_its_analyst_once_reminded_after_the_interval_and_recovers() {
    let smtp = SmtpServer::start().await;
    // Graph refuses more than two breakdowns at once (code 2, subcode 1504041).
    let too_many = daily("act_1001", r#""age", "gender", "country""#);
    let (test, daemon, _base) = mail_daemon(&smtp, 24, &[("daily", too_many.clone())]).await;

    assert_eq!(fire(&test, &daemon, "2026-05-04T06:00:00Z", 1).await, Outcome::Failed);
    let mail = mails(&smtp, 1).await.remove(0);
    assert_eq!(mail.subject, "adsync: Meta Ads query daily is broken");
    assert_eq!(
        mail.to, "analyst@example.com",
        "the query's own fault is not the owner's"
    );
    assert!(mail.text.contains("Fix the query file"), "{}", mail.text);
    assert!(mail.text.contains("daily.toml"), "{}", mail.text);
    assert_eq!(query_state(&status(&daemon).await, "daily"), "broken");

    // 23 hours on: no reminder yet.
    test.clock.set(at("2026-05-05T05:00:00Z"));
    daemon.app.upkeep().await;
    assert_eq!(smtp.messages().len(), 1);

    // Past the interval: one reminder, and the fire held back sends nothing more.
    assert_eq!(fire(&test, &daemon, "2026-05-05T06:30:00Z", 2).await, Outcome::Paused);
    daemon.app.upkeep().await;
    let reminder = mails(&smtp, 2).await.remove(1);
    assert_eq!(reminder.subject, "adsync: reminder: Meta Ads query daily is broken");
    assert!(
        reminder.text.contains("- 2026-05-03 (scheduled 2026-05-04 06:00 UTC)"),
        "{}",
        reminder.text
    );
    daemon.app.upkeep().await;
    assert_eq!(smtp.messages().len(), 2);
    daemon.stop().await;

    // The file is fixed; the restarted daemon backfills and the query delivers: one recovery.
    test.write_query("daily", &too_many.replace(r#", "country""#, ""));
    let daemon = Daemon::start(test.app().await, "daily").await;
    let recovery = mails(&smtp, 3).await.remove(2);
    assert_eq!(recovery.subject, "adsync: Meta Ads query daily delivers again");
    assert_eq!(recovery.to, "analyst@example.com");
    test.clock.set(at("2026-05-06T06:00:00Z"));
    eventually("the next scheduled run", async || {
        let runs = daemon.app.store().runs("daily").await.unwrap();
        runs.iter().any(|r| r.fire == at("2026-05-06T06:00:00Z")).then_some(())
    })
    .await;
    daemon.app.upkeep().await;
    assert_eq!(smtp.messages().len(), 3);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_failing_past_every_retry_is_told_at_the_second_failed_fire_in_a_row() {
    let smtp = SmtpServer::start().await;
    let (test, daemon, _base) = mail_daemon(&smtp, 72, &[("daily", daily("act_1001", ""))]).await;
    let server_errors = json!({"kind": "http_500", "count": 1000});
    test.control(Method::POST, "/_sandbox/faults", Some(server_errors))
        .await;

    // One failed fire is often the platform's bad minute: nobody is bothered yet.
    assert_eq!(fire(&test, &daemon, "2026-05-04T06:00:00Z", 1).await, Outcome::Failed);
    daemon.app.upkeep().await;
    assert!(smtp.messages().is_empty());

    // The second in a row (`email.failed_runs_before_alert` = 2): the query's analyst hears.
    assert_eq!(fire(&test, &daemon, "2026-05-05T06:00:00Z", 2).await, Outcome::Failed);
    let mail = mails(&smtp, 1).await.remove(0);
    assert_eq!(mail.subject, "adsync: Meta Ads query daily keeps failing");
    assert_eq!(mail.to, "analyst@example.com");
    assert!(mail.text.contains("since 2026-05-04 06:00 UTC"), "{}", mail.text);
    assert!(mail.text.contains("gave up after 3 attempts"), "{}", mail.text);
    assert!(
        mail.text.contains("- 2026-05-03 (scheduled 2026-05-04 06:00 UTC)"),
        "{}",
        mail.text
    );
    assert!(
        mail.text.contains("- 2026-05-04 (scheduled 2026-05-05 06:00 UTC)"),
        "{}",
        mail.text
    );

    test.control(Method::DELETE, "/_sandbox/faults", None).await;
    assert_eq!(
        fire(&test, &daemon, "2026-05-06T06:00:00Z", 3).await,
        Outcome::Delivered
    );
    let recovery = mails(&smtp, 2).await.remove(1);
    assert_eq!(recovery.subject, "adsync: Meta Ads query daily delivers again");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_client_secret_makes_the_connection_misconfigured_without_a_gap_storm() {
    let smtp = SmtpServer::start().await;
    let (test, daemon, _base) = mail_daemon(&smtp, 72, &[("daily", daily("act_1001", ""))]).await;
    set_client_secret(&test, "rotated-in-the-console").await;
    test.expire_access_tokens(USER).await;

    fire(&test, &daemon, "2026-05-04T06:00:00Z", 1).await;
    let mail = mails(&smtp, 1).await.remove(0);
    assert_eq!(mail.subject, "adsync: Meta Ads meta-test has a rejected OAuth client");
    assert_eq!(mail.to, "owner@example.com");
    assert!(
        mail.text
            .contains("The OAuth client id or secret in the config was rejected"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("client_secret"), "{}", mail.text);
    let state = daemon.app.store().connection(CONNECTION).await.unwrap().unwrap();
    assert_eq!(state.status, ConnectionStatus::Misconfigured);
    let json = status(&daemon).await;
    assert_eq!(json["connections"][0]["state"], "misconfigured");
    assert_eq!(json["connections"][0]["reason"], "client_rejected");
    assert_eq!(query_state(&json, "daily"), "paused");
    let text = daemon.app.status().await.unwrap().to_text();
    assert!(text.contains("misconfigured"), "{text}");
    assert!(
        text.contains("client_rejected: The OAuth client id or secret"),
        "{text}"
    );

    // The next fire asks no one (paused: no request at all), one gap with the same reason,
    // no second email. Only the hourly upkeep asks the token endpoint again.
    let token_errors = test.sandbox.sandbox().stats().token_errors;
    assert_eq!(fire(&test, &daemon, "2026-05-05T06:00:00Z", 2).await, Outcome::Paused);
    let reasons: Vec<_> = daemon
        .app
        .store()
        .gaps("daily")
        .await
        .unwrap()
        .iter()
        .map(|g| g.reason.to_string())
        .collect();
    assert_eq!(reasons, ["client_rejected", "client_rejected"]);
    assert!(test.sandbox.sandbox().stats().token_errors <= token_errors + 1);
    assert_eq!(smtp.messages().len(), 1);

    // The hourly retry still finds the client refused: the outage goes on, nothing is sent.
    daemon.app.upkeep().await;
    let connection = &status(&daemon).await["connections"][0];
    assert_eq!(
        (&connection["state"], &connection["since"]),
        (&json!("misconfigured"), &json!("2026-05-04T06:00:00Z"))
    );
    assert_eq!(smtp.messages().len(), 1);
    daemon.stop().await;

    // The config gets the console's new secret and adsync restarts: the retry at start
    // connects it, backfills, and tells its people.
    let config = std::fs::read_to_string(test.config_path()).unwrap();
    let fixed = config.replace("\"test-app-secret\"", "\"rotated-in-the-console\"");
    std::fs::write(test.config_path(), fixed).unwrap();
    let daemon = Daemon::start(test.app().await, "daily").await;
    let recovery = mails(&smtp, 2).await.remove(1);
    assert_eq!(recovery.subject, "adsync: Meta Ads meta-test is connected again");
    assert_eq!(
        daemon.app.store().connection(CONNECTION).await.unwrap().unwrap().status,
        ConnectionStatus::Connected
    );
    eventually("both gaps backfilled", async || {
        let gaps = daemon.app.store().gaps("daily").await.unwrap();
        gaps.iter().all(|g| g.state == GapState::Backfilled).then_some(())
    })
    .await;
    daemon.stop().await;
}

/// Makes the sandbox's token endpoints expect `secret` from adsync's OAuth client.
pub(crate) async fn set_client_secret(test: &TestApp, secret: &str) {
    let settings = test.control(Method::GET, "/_sandbox/settings", None).await;
    let mut clients = settings["clients"].clone();
    clients["test-app"] = json!(secret);
    test.control(Method::PUT, "/_sandbox/settings", Some(json!({ "clients": clients })))
        .await;
}
