//! The status page and API: open on a loopback-only listener, behind the admin token
//! otherwise; pages are never cached and carry a strict CSP.

use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::StatusCode;

use crate::helpers::{at, Daemon, TestApp, USER};

/// A daily Meta query (the operations tests use it too).
pub(crate) const QUERY: &str = r#"connection = "meta-test"
accounts = ["act_1001"]
level = "account"
fields = ["date_start", "impressions"]
date_range = "yesterday"

[schedule]
cron = "0 6 * * *"

[output]
kind = "csv"
path = "reports/daily.csv"
mode = "append"
"#;

/// A daemon whose config listens on all interfaces with admin token `s3cret-admin` in
/// `token_env` (the test serves it on loopback); returns its base URL too.
async fn off_loopback(token_env: &str) -> (TestApp, Daemon, String) {
    let test = TestApp::new("2026-05-04T05:00:00Z").await;
    std::env::set_var(token_env, "s3cret-admin");
    test.write_config_with("0.0.0.0:8787", &format!("[web]\nadmin_token_env = \"{token_env}\"\n"));
    test.write_query("daily", QUERY);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let daemon = Daemon::start_on(test.connected_app().await, "daily", listener).await;
    (test, daemon, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_loopback_the_status_page_and_api_need_the_admin_token() {
    let (test, daemon, base) = off_loopback("ADSYNC_TEST_ADMIN_TOKEN_WEB").await;
    test.revoke(USER, "password_changed").await;
    test.clock.set(at("2026-05-04T06:00:00Z"));
    daemon.runs("daily", 1).await;

    let http = crate::helpers::no_redirects();
    let page = http.get(format!("{base}/status")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()[LOCATION], "/login");
    let api = http.get(format!("{base}/api/status")).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let wrong = http
        .get(format!("{base}/api/status"))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let api = http
        .get(format!("{base}/api/status"))
        .bearer_auth("s3cret-admin")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::OK);
    let json: serde_json::Value = api.json().await.unwrap();
    assert_eq!(json["connections"][0]["state"], "needs_reconnect");

    let login = http
        .post(format!("{base}/login"))
        .header("origin", &base)
        .form(&[("token", "s3cret-admin")])
        .send()
        .await
        .unwrap();
    let cookie = login.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_string();
    let page = http
        .get(format!("{base}/status"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()[CACHE_CONTROL], "no-store");
    let csp = page.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().to_string();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<td class="needs_reconnect">needs reconnect</td>"#),
        "{html}"
    );
    assert!(html.contains("password of the connected user was changed"), "{html}");
    assert!(html.contains("/reconnect/meta-test?expires="), "{html}");
    assert!(html.contains("2026-05-03 – 2026-05-03"), "open gap dates: {html}");
    assert!(
        !html.contains("<script") && !html.contains(" src="),
        "no scripts or third-party assets"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_host_and_cross_site_posts_are_refused() {
    let test = TestApp::new("2026-05-04T05:00:00Z").await;
    test.write_query("daily", QUERY);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let daemon = Daemon::start_on(test.connected_app().await, "daily", listener).await;
    let http = crate::helpers::no_redirects();

    // DNS rebinding: attacker.example resolved to 127.0.0.1, the browser still says its name.
    let page = |host: &'static str| answer(http.get(format!("{base}/status")).header("host", host));
    assert_eq!(page("attacker.example").await, StatusCode::MISDIRECTED_REQUEST);
    assert_eq!(
        page("localhost").await,
        StatusCode::OK,
        "loopback names are this endpoint's"
    );

    // A form on another site posting here: refused by Origin, by Fetch Metadata, or for
    // naming no origin at all; nothing runs.
    let run = format!("{base}/api/queries/daily/run");
    for (name, value) in [
        ("origin", "https://attacker.example"),
        ("sec-fetch-site", "cross-site"),
        ("x-nothing", "at all"),
    ] {
        let response = http.post(&run).header(name, value).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}: {value}");
    }
    assert!(
        daemon.app.store().runs("daily").await.unwrap().is_empty(),
        "nothing ran"
    );
    // The endpoint's own origin (its pages, the CLI) may.
    let response = http.post(&run).header("origin", &base).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sets_a_session_not_the_token_and_wrong_tokens_are_throttled() {
    let (test, daemon, base) = off_loopback("ADSYNC_TEST_ADMIN_TOKEN_SESSION").await;
    let http = crate::helpers::no_redirects();
    let login = |token: &'static str| {
        http.post(format!("{base}/login"))
            .header("origin", &base)
            .form(&[("token", token)])
            .send()
    };

    // A lower-case scheme is still the bearer scheme; the token also authorizes a POST
    // without any origin (scripts).
    let api = http.get(format!("{base}/api/status"));
    assert_eq!(
        answer(api.header("authorization", "bearer s3cret-admin")).await,
        StatusCode::OK
    );
    let run = http.post(format!("{base}/api/queries/daily/run"));
    assert_eq!(
        answer(run.header("authorization", "BEARER s3cret-admin")).await,
        StatusCode::OK
    );

    // The cookie is a session id, not the token, and it ends at sign-out.
    let response = login("s3cret-admin").await.unwrap();
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(!cookie.contains("s3cret-admin"), "{cookie}");
    assert!(cookie.contains("Max-Age=43200"), "{cookie}");
    let cookie = cookie.split(';').next().unwrap().to_string();
    let status = |cookie: String| http.get(format!("{base}/status")).header("cookie", cookie).send();
    assert_eq!(status(cookie.clone()).await.unwrap().status(), StatusCode::OK);
    let logout = http
        .post(format!("{base}/logout"))
        .header("origin", &base)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert_eq!(status(cookie).await.unwrap().status(), StatusCode::SEE_OTHER, "revoked");
    // The raw token as a cookie is no session.
    let raw = status("adsync_session=s3cret-admin".into()).await.unwrap();
    assert_eq!(raw.status(), StatusCode::SEE_OTHER);

    // Ten wrong tokens a minute are answered; the eleventh attempt, even a right one, waits.
    for attempt in 1..=10 {
        let response = login("guess").await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    let throttled = login("guess").await.unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.headers()["retry-after"], "60");
    assert_eq!(
        login("s3cret-admin").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // A minute later (on the daemon's clock) the address may try again.
    test.clock.set(at("2026-05-04T05:01:00Z"));
    assert_eq!(login("s3cret-admin").await.unwrap().status(), StatusCode::SEE_OTHER);
    daemon.stop().await;
}

/// The status code `request` is answered with.
async fn answer(request: reqwest::RequestBuilder) -> StatusCode {
    request.send().await.unwrap().status()
}
