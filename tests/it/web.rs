//! The status page and API: open on a loopback-only listener, behind the admin token
//! otherwise; pages are never cached and carry a strict CSP.

use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::StatusCode;

use crate::helpers::{at, Daemon, TestApp, USER};

const QUERY: &str = r#"connection = "meta-test"
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_loopback_the_status_page_and_api_need_the_admin_token() {
    let test = TestApp::new("2026-05-04T05:00:00Z").await;
    let token_env = "ADSYNC_TEST_ADMIN_TOKEN_WEB";
    std::env::set_var(token_env, "s3cret-admin");
    // The config says "all interfaces"; the test serves the same app on loopback.
    test.write_config_with("0.0.0.0:8787", &format!("[web]\nadmin_token_env = \"{token_env}\"\n"));
    test.write_query("daily", QUERY);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let daemon = Daemon::start_on(test.connected_app().await, "daily", listener).await;
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
