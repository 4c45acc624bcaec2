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
    at, eventually, expected_rows, no_redirects, parse_csv, query_state, Daemon, TestApp, CONNECTION, GOOGLE,
    OTHER_CONNECTION, OTHER_USER, USER,
};
use crate::mail::{mail_daemon, SmtpServer};

/// A daily append query of yesterday's campaigns on `account`, told to the analyst.
pub fn daily(account: &str, file: &str) -> String {
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
pub(crate) async fn consent(link: &str, user: &str, decision: &str) -> String {
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

/// The page a person sees after following a fresh link for `connection` and allowing the
/// sandbox's consent as `user`.
async fn reconnect_page(test: &TestApp, daemon: &Daemon, connection: &str, user: &str) -> String {
    let link = daemon
        .app
        .notifier()
        .links()
        .link(connection, test.clock.now())
        .to_string();
    let callback = consent(&link, user, "allow").await;
    no_redirects()
        .get(&callback)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
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
    assert_eq!(mail.subject, "adsync: Meta Ads meta-test needs to be reconnected");
    assert!(
        mail.message_id.starts_with('<') && mail.message_id.ends_with('>'),
        "{mail:?}"
    );
    mail.assert_link_expiry_and_login("test-user");
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
    assert_eq!(mails[1].subject, "adsync: Meta Ads meta-test is connected again");
    assert_ne!(mails[1].message_id, mails[0].message_id);
    assert!(
        mails[1].text.contains("2026-05-03") && mails[1].text.contains("backfilled"),
        "{}",
        mails[1].text
    );

    // The state was used once: reloading the page shows the result again and changes nothing.
    let token = daemon.app.store().token(CONNECTION).await.unwrap();
    let reload = no_redirects().get(&callback).send().await.unwrap();
    assert_eq!(reload.status(), StatusCode::OK);
    assert_eq!(reload.text().await.unwrap(), body);
    assert_eq!(daemon.app.store().token(CONNECTION).await.unwrap(), token);
    assert_eq!(smtp.messages().len(), 2, "no second recovery email");
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
    let body = reconnect_page(&test, &daemon, CONNECTION, "new-user").await;
    assert!(
        body.contains("<p><strong>meta-test</strong> is now connected as new-user; before: test-user.")
            && body.contains("Resumed: one.")
            && body.contains("<li>two: new-user cannot see act_1002; reconnect as a user who can</li>"),
        "{body}"
    );
    let status = serde_json::to_value(daemon.app.status().await.unwrap()).unwrap();
    let meta = &status["connections"][0];
    assert_eq!(
        (&meta["id"], &meta["identity"], &meta["previous_identity"]),
        (&json!(CONNECTION), &json!("new-user"), &json!("test-user"))
    );
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
    assert_eq!(
        mails[1].subject,
        "adsync: reminder: Meta Ads meta-test needs to be reconnected"
    );
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
    assert_eq!(mails[0].subject, "adsync: Meta Ads meta-test expires in 5 days");
    assert!(
        mails[0]
            .text
            .contains("(the link works until 2026-05-11 05:00 UTC; log in as test-user):"),
        "{}",
        mails[0].text
    );
    assert!(mails[0].text.contains("2026-05-09 05:00 UTC"), "{}", mails[0].text);
    assert!(mails[0].reconnect_link().contains("/reconnect/meta-test?expires="));

    // A restart does not warn again about the same expiry.
    drop(app);
    test.app().await.upkeep().await;
    assert_eq!(smtp.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_connect_says_connected() {
    let smtp = SmtpServer::start().await;
    let (test, daemon, _base) = mail_daemon(&smtp, 72, &[("daily", daily("act_1001", "daily.csv"))]).await;
    let body = reconnect_page(&test, &daemon, OTHER_CONNECTION, OTHER_USER).await;
    assert!(
        body.contains("<title>Connected")
            && body.contains("<p><strong>meta-other</strong> is connected as other-user.</p>")
            && !body.contains("again"),
        "{body}"
    );
    daemon.stop().await;
}

/// A query reading through the Meta login and writing a Sheets tab through the Google one,
/// both logins lost, and a daemon serving its links (sending email to `smtp`).
async fn meta_to_sheet_daemon(smtp: &SmtpServer) -> (TestApp, Daemon) {
    const ANN: &str = "ann@corp.test";
    let test = TestApp::with_providers("2026-05-04T05:00:00Z", "").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listen = listener.local_addr().unwrap().to_string();
    test.write_provider_config_on(&listen, "", &smtp.config(72));
    test.control(
        Method::PUT,
        "/_sandbox/sheets/sheet-1",
        Some(json!({"title": "ads", "editors": [ANN]})),
    )
    .await;
    let to_sheet = daily("act_1001", "unused.csv").replace(
        "kind = \"csv\"\npath = \"reports/unused.csv\"",
        &format!(
            "kind = \"google_sheets\"\nconnection = \"{GOOGLE}\"\nspreadsheet_id = \"sheet-1\"\nsheet = \"Daily\""
        ),
    );
    test.write_query("to_sheet", &to_sheet);
    let app = test.connected_app().await;
    adsync::demo::connect_via_sandbox(&app, GOOGLE, ANN).await.unwrap();
    test.control(Method::PUT, "/_sandbox/settings", Some(json!({"auto_approve": false})))
        .await;
    for (user, connection) in [(USER, CONNECTION), (ANN, GOOGLE)] {
        test.revoke(user, "password_changed").await;
        let stored = app.store().token(connection).await.unwrap().unwrap();
        app.auth()
            .refresh(connection, &stored.access_token, None)
            .await
            .expect_err("the revoked login cannot be renewed");
    }
    let daemon = Daemon::start_on(app, "to_sheet", listener).await;
    (test, daemon)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_only_meta_says_the_query_waits_for_the_google_login() {
    let smtp = SmtpServer::start().await;
    let (test, daemon) = meta_to_sheet_daemon(&smtp).await;
    let body = reconnect_page(&test, &daemon, CONNECTION, USER).await;
    let waits = format!("to_sheet: waits for {GOOGLE}, which still needs reconnecting");
    assert!(
        body.contains("is connected again as test-user")
            && body.contains("No query resumed.")
            && body.contains(&format!("<li>{waits}</li>"))
            && !body.contains("Resumed:"),
        "{body}"
    );
    let status = serde_json::to_value(daemon.app.status().await.unwrap()).unwrap();
    let query = &status["queries"][0];
    assert_eq!(
        (&query["state"], &query["waits_for"]),
        (
            &json!("paused"),
            &json!(format!("waits for {GOOGLE}, which still needs reconnecting"))
        )
    );
    let recovery = eventually("the recovery email", async || {
        smtp.messages()
            .into_iter()
            .find(|m| m.subject == "adsync: Meta Ads meta-test is connected again")
    })
    .await;
    assert!(
        recovery.text.contains("No query resumed.") && recovery.text.contains(&format!("- {waits}")),
        "{}",
        recovery.text
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_google_reconnect_link_hints_the_stored_login_and_a_meta_one_does_not() {
    let smtp = SmtpServer::start().await;
    let (test, daemon) = meta_to_sheet_daemon(&smtp).await;
    let notifier = daemon.app.notifier();
    let links = notifier.links();
    let to_platform = |connection: &str| {
        let link = links.link(connection, test.clock.now()).to_string();
        async move {
            let response = no_redirects().get(&link).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::FOUND);
            url::Url::parse(&location(&response)).unwrap()
        }
    };
    let hint = |url: &url::Url| {
        url.query_pairs()
            .find(|(k, _)| k == "login_hint")
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(hint(&to_platform(GOOGLE).await).as_deref(), Some("ann@corp.test"));
    assert_eq!(hint(&to_platform(CONNECTION).await), None);
    daemon.stop().await;
}
