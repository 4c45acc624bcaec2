//! The status page and API: open on a loopback-only listener, behind the admin token
//! otherwise; pages are never cached and carry a strict CSP.

use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::StatusCode;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{at, Daemon, TestApp, CONNECTION, GOOGLE, USER};

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

/// The Google user the status scene's Sheets output is written as.
pub(crate) const SHEETS_USER: &str = "ann@corp.test";

/// A loopback daemon (base URL returned too) before its first fire at 06:00, with `daily`
/// (Meta to CSV), `to_sheet` (Meta to a Sheets tab written through the Google login, which
/// is revoked), `bad` (three breakdowns, which the platform rejects) and `typo.toml`, which
/// does not load.
pub(crate) async fn status_scene() -> (TestApp, Daemon, String) {
    let test = TestApp::with_providers("2026-05-04T05:00:00Z", "").await;
    test.control(
        Method::PUT,
        "/_sandbox/sheets/sheet-1",
        Some(json!({"title": "status", "editors": [SHEETS_USER]})),
    )
    .await;
    test.write_query("daily", QUERY);
    let to_sheet = QUERY.replace(
        "kind = \"csv\"\npath = \"reports/daily.csv\"\nmode = \"append\"",
        &format!(
            "kind = \"google_sheets\"\nconnection = \"{GOOGLE}\"\nspreadsheet_id = \"sheet-1\"\nsheet = \"Daily\"\nmode = \"append\""
        ),
    );
    test.write_query("to_sheet", &to_sheet);
    // Graph refuses more than two breakdowns at once.
    let bad = QUERY
        .replace(
            "date_range",
            "breakdowns = [\"age\", \"gender\", \"country\"]\ndate_range",
        )
        .replace("daily.csv", "bad.csv");
    test.write_query("bad", &bad);
    test.write_query("typo", &QUERY.replace("level = ", "colour = \"red\"\nlevel = "));
    let app = test.connected_app().await;
    adsync::demo::connect_via_sandbox(&app, GOOGLE, SHEETS_USER)
        .await
        .expect("the Google connection connects");
    test.revoke(SHEETS_USER, "password_changed").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let daemon = Daemon::start_on(app, "daily", listener).await;
    (test, daemon, base)
}

/// The status scene after its 06:00 fire ran every query.
pub(crate) async fn status_scene_after_a_fire() -> (TestApp, Daemon, String) {
    let (test, daemon, base) = status_scene().await;
    test.clock.set(at("2026-05-04T06:00:00Z"));
    for query in ["daily", "to_sheet", "bad"] {
        daemon.runs(query, 1).await;
    }
    (test, daemon, base)
}

/// The status page's HTML, fetched from a loopback daemon.
async fn status_page(base: &str) -> String {
    let page = reqwest::get(format!("{base}/status")).await.unwrap();
    page.text().await.unwrap()
}

/// The table row of the page that starts with `first_cell`.
fn row<'a>(html: &'a str, first_cell: &str) -> &'a str {
    let start = html
        .find(&format!("<tr><td>{first_cell}<br>"))
        .unwrap_or_else(|| panic!("no row {first_cell}: {html}"));
    let end = start + html[start..].find("</tr>").unwrap();
    &html[start..end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_says_no_run_yet_before_the_first_fire() {
    let (_test, daemon, base) = status_scene().await;

    let html = status_page(&base).await;

    assert!(
        html.contains("<h2>Open gaps</h2><p>None, but no query has run yet.</p>"),
        "{html}"
    );
    assert!(
        row(&html, "daily").contains(
            r#"<td>no run yet</td><td><time datetime="2026-05-04T06:00:00Z">2026-05-04 06:00 UTC</time></td>"#
        ),
        "{html}"
    );
    let body = &html[html.find("<body>").unwrap()..];
    assert!(!body.contains("delivered"), "{body}");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_shows_every_query_file_connection_and_gap() {
    let (_test, daemon, base) = status_scene_after_a_fire().await;
    let report = daemon.app.status().await.unwrap();

    let html = status_page(&base).await;

    assert!(
        html.contains("3 queries: 1 active, 1 paused, 1 broken; 1 skipped query files; 3 of 4 connections need attention; 2 open gaps."),
        "{html}"
    );
    // Google says only "Token has been expired or revoked.", not why.
    let revoked =
        "waits for google-test, which needs reconnecting: The platform revoked adsync's access for this connection.";
    // Connections: the Meta one with its login's end and identity; the Google one revoked;
    // the Sheets query under both, with the reason from the Google login.
    let meta = row(&html, CONNECTION);
    let ends = report
        .connections
        .iter()
        .find(|c| c.id == CONNECTION)
        .unwrap()
        .expires_at
        .unwrap();
    assert!(meta.contains(&format!("<small>meta_ads as {USER}</small>")), "{meta}");
    assert!(
        meta.contains(r#"<span class="state connected">connected</span>"#),
        "{meta}"
    );
    let ends = format!(
        r#"ends <time datetime="{}">{}</time> (in "#,
        ends.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ends.format("%Y-%m-%d %H:%M UTC")
    );
    assert!(meta.contains(&ends), "{meta}");
    assert!(
        meta.contains(&format!(
            r#"<li>to_sheet <small>reads</small> <span class="state paused">paused</span>: {revoked} "#
        )),
        "{meta}"
    );
    assert!(
        meta.contains(r#"<li>daily <small>reads</small> <span class="state active">active</span></li>"#),
        "{meta}"
    );
    let google = row(&html, GOOGLE);
    assert!(
        google.contains(r#"<span class="state needs_reconnect">needs reconnect</span>"#),
        "{google}"
    );
    assert!(
        google.contains(&format!(
            r#"<li>to_sheet <small>writes</small> <span class="state paused">paused</span>: {revoked} "#
        )),
        "{google}"
    );
    assert!(google.contains("/reconnect/google-test?expires="), "{google}");
    let never = row(&html, "linkedin-test");
    assert!(
        never.contains("<td>Nobody has connected it yet.</td><td>no login stored</td>"),
        "{never}"
    );
    assert!(never.contains(">Connect</a>"), "{never}");
    // Queries: each with its last run, next run, output and why.
    let daily = row(&html, "daily");
    assert!(
        daily.contains(
            r#"2026-05-04 06:00 UTC</time><br><span class="state delivered">delivered</span> 1 row for 2026-05-03"#
        ),
        "{daily}"
    );
    assert!(
        daily.contains(r#">2026-05-05 06:00 UTC</time></td><td class="output"><code>"#),
        "{daily}"
    );
    let to_sheet = row(&html, "to_sheet");
    assert!(
        to_sheet.contains(&format!(r#"<p class="why">{revoked} "#)),
        "{to_sheet}"
    );
    assert!(
        to_sheet.contains("<code>sheets:sheet-1/Daily</code><br><small>written through google-test</small>"),
        "{to_sheet}"
    );
    let bad = row(&html, "bad");
    assert!(bad.contains(r#"<span class="state broken">broken</span>"#), "{bad}");
    assert!(bad.contains("the platform rejected the query: "), "{bad}");
    // Files that do not run, with their diagnostics.
    assert!(html.contains("typo.toml:"), "{html}");
    assert!(html.contains("colour"), "{html}");
    assert!(
        html.contains("bad.toml</code>: the platform rejected the query: "),
        "{html}"
    );
    // The gaps of the Sheets query and the rejected one.
    let gap = |query: &str| {
        format!("<tr><td>{query}</td><td>2026-05-03 – 2026-05-03</td><td><time datetime=\"2026-05-04T06:00:00Z\">")
    };
    assert!(html.contains(&gap("to_sheet")), "{html}");
    assert!(html.contains(&gap("bad")), "{html}");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_api_says_why_a_query_does_not_run_and_which_connection_stops_it() {
    let (_test, daemon, base) = status_scene_after_a_fire().await;

    let status: serde_json::Value = reqwest::get(format!("{base}/api/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let query = |name: &str| {
        let queries = status["queries"].as_array().unwrap();
        let query = queries.iter().find(|q| q["name"] == name).unwrap();
        let keys = ["state", "blocked_by", "state_since"].map(|key| query[key].clone());
        (
            keys,
            query["state_text"].as_str().map(String::from),
            query["file"].clone(),
        )
    };
    let (keys, why, file) = query("to_sheet");
    assert_eq!(keys, [json!("paused"), json!(GOOGLE), json!("2026-05-04T06:00:00Z")]);
    assert!(why
        .unwrap()
        .starts_with("waits for google-test, which needs reconnecting: "));
    assert!(file.as_str().unwrap().ends_with("queries/to_sheet.toml"), "{file}");
    let (keys, why, _) = query("bad");
    assert_eq!(keys, [json!("broken"), json!(null), json!("2026-05-04T06:00:00Z")]);
    assert!(why
        .unwrap()
        .starts_with("the platform rejected the query: Graph error 2/1504041"));
    let (keys, why, _) = query("daily");
    assert_eq!(keys, [json!("active"), json!(null), json!(null)]);
    assert_eq!(why, None);
    daemon.stop().await;
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
        html.contains(r#"<span class="state needs_reconnect">needs reconnect</span>"#),
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
