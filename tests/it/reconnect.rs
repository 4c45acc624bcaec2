//! Reconnect end to end: a revoked token pauses the query, missed fires become gaps, an
//! email with a signed link arrives at a real SMTP server, the link goes through the sandbox
//! consent page and back to the callback, and the gaps are backfilled exactly.

use adsync::auth::LinkSigner;
use adsync::clock::Clock;
use adsync::rows::DateWindow;
use adsync::store::{ConnectionStatus, GapState, Outcome};
use adsync_sandbox::meta::data::Shape;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{
    at, eventually, expected_rows, no_redirects, parse_csv, query_state, Daemon, TestApp, CONNECTION, USER,
};
use crate::mail::{mail_daemon, SmtpServer};

fn daily(account: &str, file: &str) -> String {
    format!(
        r#"connection = "meta-test"
accounts = ["{account}"]
level = "campaign"
fields = ["date_start", "campaign_id", "campaign_name", "impressions", "clicks", "spend"]
date_range = "yesterday"
notify = ["analyst@example.com"]

[schedule]
cron = "0 6 * * *"
timezone = "UTC"

[output]
kind = "csv"
path = "reports/{file}"
mode = "append"
"#
    )
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_string()
}

/// `name="…" value="…"` pairs of a form's inputs, unescaped.
fn form_fields(html: &str) -> Vec<(String, String)> {
    let unescape = |s: &str| {
        s.replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    html.split("<input")
        .skip(1)
        .filter_map(|input| {
            let attr = |name: &str| {
                let start = input.find(&format!("{name}=\""))? + name.len() + 2;
                let len = input[start..].find('"')?;
                Some(unescape(&input[start..start + len]))
            };
            Some((attr("name")?, attr("value").unwrap_or_default()))
        })
        .collect()
}

/// Follows a reconnect link through the sandbox's consent page as `user`, clicking
/// `decision`; returns the callback URL the platform sent the browser to.
async fn consent(link: &str, user: &str, decision: &str) -> String {
    let browser = no_redirects();
    let to_platform = browser.get(link).send().await.unwrap();
    assert_eq!(to_platform.status(), StatusCode::FOUND);
    let consent_url = location(&to_platform);
    let page = browser.get(&consent_url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("would like to read your ads reports"), "{html}");
    let mut fields: Vec<(String, String)> = form_fields(&html).into_iter().filter(|(k, _)| k != "user").collect();
    fields.push(("user".into(), user.into()));
    fields.push(("decision".into(), decision.into()));
    let answer = browser.post(&consent_url).form(&fields).send().await.unwrap();
    assert!(answer.status().is_redirection(), "{}", answer.status());
    location(&answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_email_link_consent_callback_resume_and_backfill() {
    let smtp = SmtpServer::start().await;
    let (test, daemon, _base) = mail_daemon(&smtp, 72, &[("daily", daily("act_1001", "daily.csv"))]).await;
    test.revoke(USER, "password_changed").await;

    // Two fires while revoked: paused, two gaps, one email.
    test.clock.set(at("2026-05-04T06:00:00Z"));
    daemon.runs("daily", 1).await;
    test.clock.set(at("2026-05-05T06:00:00Z"));
    let runs = daemon.runs("daily", 2).await;
    assert_eq!(runs[1].outcome, Outcome::Paused);
    let gaps = daemon.app.store().gaps("daily").await.unwrap();
    assert_eq!(gaps.len(), 2);
    let mails = eventually("the reconnect email", async || {
        Some(smtp.messages()).filter(|m| !m.is_empty())
    })
    .await;
    assert_eq!(mails.len(), 1, "one email per outage");
    let mail = &mails[0];
    assert_eq!(mail.subject, "adsync: meta-test needs to be reconnected");
    assert!(
        mail.to.contains("owner@example.com") && mail.to.contains("analyst@example.com"),
        "{}",
        mail.to
    );
    assert!(
        mail.text.contains("password of the connected user was changed"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("- daily"), "{}", mail.text);
    assert!(mail.html.contains("Reconnect</a>"), "{}", mail.html);

    // The person follows the link, approves, and lands on the callback.
    let callback = consent(&mail.reconnect_link(), USER, "allow").await;
    let page = no_redirects().get(&callback).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let body = page.text().await.unwrap();
    assert!(body.contains("is connected again as test-user"), "{body}");
    assert_eq!(
        daemon.app.store().connection(CONNECTION).await.unwrap().unwrap().status,
        ConnectionStatus::Connected
    );

    // Both gaps are backfilled; the file holds each window once, exactly the platform's data.
    eventually("both gaps to be backfilled", async || {
        let gaps = daemon.app.store().gaps("daily").await.unwrap();
        gaps.iter().all(|g| g.state == GapState::Backfilled).then_some(())
    })
    .await;
    let rows = parse_csv(&test.read_report("daily.csv"));
    let window = DateWindow::new("2026-05-03".parse().unwrap(), "2026-05-04".parse().unwrap());
    assert_eq!(
        rows,
        expected_rows(&daemon.app.queries()[0], window, Shape::new(3, 2, 2))
    );
    let mails = eventually("the recovery email", async || {
        Some(smtp.messages()).filter(|m| m.len() == 2)
    })
    .await;
    assert_eq!(mails[1].subject, "adsync: meta-test is connected again");
    assert!(
        mails[1].text.contains("2026-05-03") && mails[1].text.contains("backfilled"),
        "{}",
        mails[1].text
    );

    // The state was used once: replaying the callback changes nothing.
    let replay = no_redirects().get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_links_and_bad_callbacks_change_nothing() {
    let smtp = SmtpServer::start().await;
    let (test, daemon, base) = mail_daemon(&smtp, 72, &[("daily", daily("act_1001", "daily.csv"))]).await;
    let store = daemon.app.store().clone();
    let before = (
        store.connection(CONNECTION).await.unwrap(),
        store.token(CONNECTION).await.unwrap(),
    );
    let now = test.clock.now();
    let link = daemon.app.notifier().links().link(CONNECTION, now).to_string();

    // Forged: another connection's name under this signature.
    let forged = link.replace("/reconnect/meta-test", "/reconnect/meta-other");
    let response = no_redirects().get(&forged).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("not valid"));
    // Expired.
    let key = *store.link_key();
    let old = LinkSigner::new(key, url::Url::parse(&base).unwrap(), chrono::Duration::days(-1));
    let response = no_redirects()
        .get(old.link(CONNECTION, now).as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::GONE);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("adsync reconnect-link meta-test"));
    // Unknown state, missing code.
    let unknown = no_redirects()
        .get(format!("{base}/oauth/callback?code=x&state=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    let callback = consent(&link, USER, "allow").await;
    let without_code: url::Url = {
        let mut url = url::Url::parse(&callback).unwrap();
        let state = url.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
        url.query_pairs_mut().clear().append_pair("state", &state);
        url
    };
    let missing = no_redirects().get(without_code.as_str()).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    // Declined at the platform.
    let declined = consent(&link, USER, "deny").await;
    assert!(declined.contains("error=access_denied"), "{declined}");
    let page = no_redirects().get(&declined).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let body = page.text().await.unwrap();
    assert!(
        body.contains("You declined") && body.contains("/reconnect/meta-test"),
        "{body}"
    );
    // A state started for one connection with a code issued for another's PKCE challenge.
    let other = daemon.app.notifier().links().link("meta-other", now).to_string();
    let theirs = url::Url::parse(&consent(&other, "other-user", "allow").await).unwrap();
    let ours = url::Url::parse(&consent(&link, USER, "allow").await).unwrap();
    let param = |u: &url::Url, k: &str| u.query_pairs().find(|(n, _)| n == k).unwrap().1.into_owned();
    let mixed = format!(
        "{base}/oauth/callback?code={}&state={}",
        param(&ours, "code"),
        param(&theirs, "state")
    );
    // The platform is fine and nothing changed: the request was bad (400, not 502).
    let response = no_redirects().get(&mixed).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("code_verifier"));

    assert_eq!(
        (
            store.connection(CONNECTION).await.unwrap(),
            store.token(CONNECTION).await.unwrap()
        ),
        before
    );
    assert_eq!(store.connection("meta-other").await.unwrap(), None);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_without_one_account_resumes_only_the_query_that_can_run() {
    let smtp = SmtpServer::start().await;
    let queries = [
        ("one", daily("act_1001", "one.csv")),
        ("two", daily("act_1002", "two.csv")),
    ];
    let (test, daemon, _base) = mail_daemon(&smtp, 72, &queries).await;
    test.revoke(USER, "app_removed").await;
    test.clock.set(at("2026-05-04T06:00:00Z"));
    daemon.runs("one", 1).await;
    daemon.runs("two", 1).await;
    test.control(
        Method::POST,
        "/_sandbox/users/new-user/accounts/deny?account=act_1002",
        None,
    )
    .await;
    let link = daemon
        .app
        .notifier()
        .links()
        .link(CONNECTION, test.clock.now())
        .to_string();
    let callback = consent(&link, "new-user", "allow").await;
    let page = no_redirects().get(&callback).send().await.unwrap();
    let body = page.text().await.unwrap();
    assert!(body.contains("two: missing act_1002"), "{body}");
    let status = serde_json::to_value(daemon.app.status().await.unwrap()).unwrap();
    let state = |name: &str| query_state(&status, name);
    assert_eq!(state("one"), "active");
    assert_eq!(state("two"), "paused");
    let pause = daemon
        .app
        .store()
        .query_state("two")
        .await
        .unwrap()
        .unwrap()
        .paused
        .unwrap();
    assert_eq!(pause.reason, "missing_access");
    eventually("query one's gap to be backfilled", async || {
        let gaps = daemon.app.store().gaps("one").await.unwrap();
        (gaps[0].state == GapState::Backfilled).then_some(())
    })
    .await;
    assert_eq!(daemon.app.store().gaps("two").await.unwrap()[0].state, GapState::Open);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_while_disconnected_sends_no_duplicate_and_a_reminder_after_the_interval() {
    let smtp = SmtpServer::start().await;
    let (test, daemon, _base) = mail_daemon(&smtp, 24, &[("daily", daily("act_1001", "daily.csv"))]).await;
    test.revoke(USER, "checkpoint").await;
    test.clock.set(at("2026-05-04T06:00:00Z"));
    daemon.runs("daily", 1).await;
    eventually("the first email", async || {
        Some(smtp.messages()).filter(|m| m.len() == 1)
    })
    .await;
    daemon.stop().await;

    // Restarted an hour later: nothing new to say.
    test.clock.set(at("2026-05-04T07:00:00Z"));
    let daemon = Daemon::start(test.app().await, "daily").await;
    let app = daemon.app.clone();
    assert!(!app.notifier().check_connection(CONNECTION).await.unwrap());
    assert_eq!(smtp.messages().len(), 1);

    // A day after the first email: one reminder.
    test.clock.set(at("2026-05-05T06:30:00Z"));
    let mails = eventually("the reminder", async || Some(smtp.messages()).filter(|m| m.len() == 2)).await;
    assert_eq!(mails[1].subject, "adsync: reminder: meta-test needs to be reconnected");
    assert!(mails[1].text.contains("security check"), "{}", mails[1].text);
    assert!(!app.notifier().check_connection(CONNECTION).await.unwrap());
    daemon.stop().await;
    assert_eq!(smtp.messages().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_about_to_end_gets_one_early_warning_with_the_link() {
    let smtp = SmtpServer::start().await;
    let test = TestApp::new("2026-05-04T05:00:00Z").await;
    test.write_config_with("127.0.0.1:8787", &smtp.config(24));
    test.write_query("daily", &daily("act_1001", "daily.csv"));
    let five_days = json!({"refresh_token_ttl_secs": 5 * 86_400});
    test.control(Method::PUT, "/_sandbox/settings", Some(five_days)).await;
    let app = test.connected_app().await;

    app.upkeep().await;
    app.upkeep().await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1, "one warning, not one per pass");
    assert_eq!(mails[0].subject, "adsync: meta-test expires in 5 days");
    assert!(mails[0].text.contains("2026-05-09 05:00 UTC"), "{}", mails[0].text);
    assert!(mails[0].reconnect_link().contains("/reconnect/meta-test?expires="));

    // A restart does not warn again about the same expiry.
    drop(app);
    test.app().await.upkeep().await;
    assert_eq!(smtp.messages().len(), 1);
}
