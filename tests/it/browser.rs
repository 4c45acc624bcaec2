//! The reconnect flow in a real headless Chromium (Debian `chromium` + `chromium-driver`,
//! installed by `.ci/run`), driven over WebDriver: open the emailed link, log in as the
//! right user on the sandbox consent page, click Allow, read the success page.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use adsync::store::{ConnectionStatus, GapState};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{at, eventually, free_port, wait_for_port, CONNECTION, USER};
use crate::mail::{mail_daemon, SmtpServer};
use crate::web::status_scene_after_a_fire;

/// chromedriver on a free port; killed on drop.
struct ChromeDriver {
    port: u16,
    child: Child,
}

impl ChromeDriver {
    async fn start() -> Self {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (Debian chromium-driver; see .ci/run)");
        wait_for_port(port, "chromedriver").await;
        Self { port, child }
    }
}

impl ChromeDriver {
    /// A headless Chromium session with its profile in `profile`.
    async fn headless(&self, profile: &Path) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        // Plain HTTP to chromedriver on loopback: no TLS stack needed.
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("chromedriver session")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromedriver (Debian packages; .ci/run installs them and runs it with --ignored)"]
async fn a_person_reconnects_in_a_real_browser() {
    let smtp = SmtpServer::start().await;
    let query = r#"connection = "meta-test"
accounts = ["act_1001"]
level = "account"
fields = ["date_start", "impressions", "spend"]
date_range = "yesterday"

[schedule]
cron = "0 6 * * *"

[output]
kind = "csv"
path = "reports/daily.csv"
mode = "append"
"#;
    let (test, daemon, _base) = mail_daemon(&smtp, 72, &[("daily", query.to_string())]).await;
    test.revoke(USER, "expired").await;
    test.clock.set(at("2026-05-04T06:00:00Z"));
    daemon.runs("daily", 1).await;
    let mails = eventually("the reconnect email", async || {
        Some(smtp.messages()).filter(|m| !m.is_empty())
    })
    .await;
    let link = mails[0].reconnect_link();

    let driver = ChromeDriver::start().await;
    let profile = tempfile::tempdir().unwrap();
    let browser = driver.headless(profile.path()).await;

    browser.goto(&link).await.unwrap();
    let heading = browser.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
    assert_eq!(heading, "test-app would like to read your ads reports");
    let user = browser.find(Locator::Css("input[name=user]")).await.unwrap();
    user.clear().await.unwrap();
    user.send_keys(USER).await.unwrap();
    browser
        .find(Locator::Css("button[value=allow]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The click navigates; poll (with a deadline) until the callback's page has replaced the
    // consent page. An element of the old page may go stale mid-read: read again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let title = match browser.find(Locator::Css("h1")).await {
            Ok(heading) => heading.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if title == "Reconnected" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still on {title:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let page = browser.find(Locator::Css("body")).await.unwrap().text().await.unwrap();
    assert!(page.contains("meta-test is connected again as test-user"), "{page}");
    assert!(browser.current_url().await.unwrap().path().ends_with("/oauth/callback"));
    browser.close().await.unwrap();

    assert_eq!(
        daemon.app.store().connection(CONNECTION).await.unwrap().unwrap().status,
        ConnectionStatus::Connected
    );
    eventually("the gap to be backfilled", async || {
        let gaps = daemon.app.store().gaps("daily").await.unwrap();
        (gaps.len() == 1 && gaps[0].state == GapState::Backfilled).then_some(())
    })
    .await;
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromedriver (Debian packages; .ci/run installs them and runs it with --ignored)"]
async fn a_person_sees_every_query_file_and_connection_on_the_status_page() {
    let (_test, daemon, base) = status_scene_after_a_fire().await;
    let driver = ChromeDriver::start().await;
    let profile = tempfile::tempdir().unwrap();
    let browser = driver.headless(profile.path()).await;
    browser.set_window_size(1280, 2400).await.unwrap();

    browser.goto(&format!("{base}/status")).await.unwrap();

    let heading = browser.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
    assert_eq!(heading, "adsync status");
    let text = browser.find(Locator::Css("body")).await.unwrap().text().await.unwrap();
    for seen in [
        "3 queries: 1 active, 1 paused, 1 broken; 1 skipped query files",
        "waits for google-test, which needs reconnecting: The platform revoked adsync's access",
        "delivered 1 row for 2026-05-03",
        "sheets:sheet-1/Daily",
        "written through google-test",
        "typo.toml:",
        "the platform rejected the query: ",
        "2026-05-03 – 2026-05-03",
    ] {
        assert!(text.contains(seen), "{seen:?} not on the page: {text}");
    }
    // States read by colour too: the revoked login red, the paused query orange.
    assert_eq!(colour(&browser, ".state.needs_reconnect").await, "rgba(165, 29, 45, 1)");
    assert_eq!(colour(&browser, ".state.paused").await, "rgba(198, 70, 0, 1)");
    assert_eq!(colour(&browser, ".state.active").await, "rgba(38, 162, 105, 1)");
    // For a person to judge the layout: target/tmp/status-page.png.
    let png = browser.screenshot().await.unwrap();
    std::fs::write(Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page.png"), png).unwrap();
    browser.close().await.unwrap();
    daemon.stop().await;
}

/// A query that lost access to its account, then its connection's OAuth client rejected:
/// both are on the page a person opens, in words, with the state in red.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromedriver (Debian packages; .ci/run installs them and runs it with --ignored)"]
async fn a_person_sees_a_lost_account_and_a_rejected_client_on_the_status_page() {
    use crate::alerts::{daily, deny, fire, set_client_secret};
    let smtp = SmtpServer::start().await;
    let (test, daemon, base) = mail_daemon(&smtp, 72, &[("daily", daily("act_1001", ""))]).await;
    deny(&test, "deny").await;
    fire(&test, &daemon, "2026-05-04T06:00:00Z", 1).await;
    set_client_secret(&test, "rotated-in-the-console").await;
    test.expire_access_tokens(USER).await;
    fire(&test, &daemon, "2026-05-05T06:00:00Z", 2).await;

    let driver = ChromeDriver::start().await;
    let profile = tempfile::tempdir().unwrap();
    let browser = driver.headless(profile.path()).await;
    browser.goto(&format!("{base}/status")).await.unwrap();
    let text = browser.find(Locator::Css("body")).await.unwrap().text().await.unwrap();
    for seen in [
        "misconfigured",
        "The OAuth client id or secret in the config was rejected",
        "waits for meta-test (misconfigured)",
        "The connected user has no access to an account or report of this query.",
        "2 failures in a row",
    ] {
        assert!(text.contains(seen), "{seen:?} not on the page: {text}");
    }
    assert_eq!(colour(&browser, ".state.misconfigured").await, "rgba(165, 29, 45, 1)");
    browser.close().await.unwrap();
    daemon.stop().await;
}

/// The text colour of the first element matching `css`, as the browser computed it.
async fn colour(browser: &Client, css: &str) -> String {
    let element = browser.find(Locator::Css(css)).await.unwrap();
    element.css_value("color").await.unwrap()
}
