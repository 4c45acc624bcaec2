//! The reconnect flow in a real headless Chromium (Debian `chromium` + `chromium-driver`,
//! installed by `.ci/run`), driven over WebDriver: open the emailed link, log in as the
//! right user on the sandbox consent page, click Allow, read the success page.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use adsync::store::{ConnectionStatus, GapState};
use fantoccini::{ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{at, eventually, free_port, wait_for_port, CONNECTION, USER};
use crate::mail::{mail_daemon, SmtpServer};

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
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    // Plain HTTP to chromedriver on loopback: no TLS stack needed.
    let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("chromedriver session");

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
