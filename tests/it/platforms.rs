//! Google Ads, GA4 and LinkedIn Ads end to end: the daemon connects through the sandbox's
//! authorization servers, runs query files against the sandbox's APIs and writes CSVs that
//! must equal the sandbox's data functions cell by cell.

use adsync::app::App;
use adsync::clock::Clock;
use adsync::rows::DateWindow;
use adsync::store::Outcome;
use adsync_sandbox::linkedin;
use chrono::{Duration, NaiveDate};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{parse_csv, TestApp, GOOGLE, LINKEDIN};
use crate::mail::SmtpServer;

pub(crate) const USER: &str = "ann@corp.test";
pub(crate) const START: &str = "2026-03-10T08:00:00Z";

pub(crate) fn d(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// A query file reading `platform` through `connection` over fixed dates, written as CSV.
pub(crate) fn query(
    connection: &str,
    platform: &str,
    accounts: &[&str],
    level: Option<&str>,
    fields: &[&str],
    dates: (&str, &str),
) -> String {
    let quoted = |items: &[&str]| items.iter().map(|i| format!("{i:?}")).collect::<Vec<_>>().join(", ");
    let level = level.map(|l| format!("level = {l:?}\n")).unwrap_or_default();
    format!(
        r#"connection = "{connection}"
platform = "{platform}"
accounts = [{}]
{level}fields = [{}]
date_range = {{ start = "{}", end = "{}" }}
time_increment = "daily"

[schedule]
cron = "0 6 * * *"

[output]
kind = "csv"
path = "{platform}.csv"
mode = "replace"
"#,
        quoted(accounts),
        quoted(fields),
        dates.0,
        dates.1,
    )
}

pub(crate) fn written(test: &TestApp, platform: &str) -> Vec<Vec<String>> {
    parse_csv(&std::fs::read_to_string(test.path().join("out").join(format!("{platform}.csv"))).unwrap())
}

pub(crate) async fn connected(test: &TestApp, connection: &str) -> App {
    let app = test.app().await;
    adsync::demo::connect_via_sandbox(&app, connection, USER)
        .await
        .expect("connects through the sandbox");
    app
}

const ADS_FIELDS: [&str; 7] = [
    "segments.date",
    "campaign.id",
    "campaign.name",
    "metrics.impressions",
    "metrics.clicks",
    "metrics.cost_micros",
    "metrics.cost",
];

/// The exact output `name`'s query over `dates` must have.
pub(crate) fn expected(test: &TestApp, app: &App, name: &str, dates: (&str, &str)) -> Vec<Vec<String>> {
    let queries = app.queries();
    let query = queries.iter().find(|q| q.name == name).unwrap();
    let window = DateWindow::new(d(dates.0), d(dates.1));
    let today = chrono::Utc::now().date_naive();
    crate::expected::report(query, window, &test.sandbox.sandbox().settings(), today)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_google_login_serves_google_ads_and_ga4_refreshed_once() {
    let test = TestApp::with_providers(START, "").await;
    // Small batches and pages, so both reports take several.
    test.control(
        Method::PUT,
        "/_sandbox/settings",
        Some(json!({"google_ads": {"batch_rows": 7}, "ga4": {"max_page_rows": 20}})),
    )
    .await;
    let dates = ("2026-03-01", "2026-03-07");
    let ads_accounts = ["1234567890", "2345678901"];
    let properties = ["123456789", "234567890"];
    test.write_query(
        "ads",
        &query(
            GOOGLE,
            "google_ads",
            &ads_accounts,
            Some("campaign"),
            &ADS_FIELDS,
            dates,
        ),
    );
    test.write_query(
        "ga4",
        &query(
            GOOGLE,
            "ga4",
            &properties,
            None,
            &["date", "sessionDefaultChannelGroup", "sessions", "activeUsers"],
            dates,
        ),
    );
    let app = connected(&test, GOOGLE).await;
    test.expire_access_tokens(USER).await;
    let refreshes_before = test.sandbox.sandbox().stats().refresh_grants;

    let (ads, ga4_run) = tokio::join!(app.run_once("ads"), app.run_once("ga4"));
    let (ads, ga4_run) = (ads.unwrap(), ga4_run.unwrap());
    assert_eq!(ads.outcome, Outcome::Delivered, "{:?}", ads.error);
    assert_eq!(ga4_run.outcome, Outcome::Delivered, "{:?}", ga4_run.error);
    assert_eq!(
        test.sandbox.sandbox().stats().refresh_grants - refreshes_before,
        1,
        "both platforms share one refreshed token"
    );

    // The GAQL the query file turns into, as Google documents it.
    let queries = app.queries();
    let ads_query = queries.iter().find(|q| q.name == "ads").unwrap();
    let window = DateWindow::new(d(dates.0), d(dates.1));
    assert_eq!(
        adsync::sources::google_ads::gaql::build(ads_query, window).unwrap(),
        "SELECT segments.date, campaign.id, campaign.name, metrics.impressions, metrics.clicks, \
         metrics.cost_micros FROM campaign WHERE segments.date BETWEEN '2026-03-01' AND '2026-03-07'"
    );
    let expected_ads = expected(&test, &app, "ads", dates);
    assert!(expected_ads.len() > 2 * 7 + 1, "several batches per customer");
    assert_eq!(written(&test, "google_ads"), expected_ads);
    let expected_ga4 = expected(&test, &app, "ga4", dates);
    assert!(expected_ga4.len() > 2 * 20 + 1, "several pages per property");
    assert_eq!(written(&test, "ga4"), expected_ga4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_the_login_was_not_granted_pauses_its_query_as_missing_scope() {
    // The login was granted Ads only, when the config asked for nothing more; the config
    // now asks for Analytics too, so reconnecting can grant it.
    let ads_only = r#"scopes = ["openid", "email", "https://www.googleapis.com/auth/adwords"]"#;
    let test = TestApp::with_providers(START, ads_only).await;
    drop(connected(&test, GOOGLE).await);
    test.write_provider_config("", "");
    let dates = ("2026-03-01", "2026-03-02");
    test.write_query(
        "ga4",
        &query(GOOGLE, "ga4", &["123456789"], None, &["date", "sessions"], dates),
    );
    test.write_query(
        "ads",
        &query(
            GOOGLE,
            "google_ads",
            &["1234567890"],
            Some("account"),
            &["segments.date", "metrics.clicks"],
            dates,
        ),
    );
    let app = test.app().await;
    let requests_before = test.sandbox.sandbox().stats().api_requests;

    let run = app.run_once("ga4").await.unwrap();
    assert_eq!(run.outcome, Outcome::Paused);
    let error = run.error.unwrap();
    assert!(error.contains("missing_scope"), "{error}");
    assert!(
        error.contains("https://www.googleapis.com/auth/analytics.readonly"),
        "{error}"
    );
    assert!(error.contains(&format!("/reconnect/{GOOGLE}?expires=")), "{error}");
    assert_eq!(
        test.sandbox.sandbox().stats().api_requests,
        requests_before,
        "nothing is sent that would only be refused"
    );
    let status = app.status().await.unwrap();
    let view = status.queries.iter().find(|q| q.name == "ga4").unwrap();
    assert_eq!(
        (view.state.as_str(), view.pause_reason.as_deref()),
        ("paused", Some("missing_scope"))
    );
    assert_eq!(view.platform, "ga4");

    // The Ads query on the same login was granted its scope and delivers.
    let run = app.run_once("ads").await.unwrap();
    assert_eq!(run.outcome, Outcome::Delivered, "{:?}", run.error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linkedin_report_over_several_accounts_and_months_equals_the_sandbox_data() {
    let test = TestApp::with_providers(START, "").await;
    let dates = ("2026-01-20", "2026-02-25");
    let fields = ["date", "pivot_value", "impressions", "clicks", "costInLocalCurrency"];
    test.write_query(
        "linkedin",
        &query(
            LINKEDIN,
            "linkedin_ads",
            &["511009658", "511009659"],
            Some("campaign"),
            &fields,
            dates,
        ),
    );
    let app = connected(&test, LINKEDIN).await;
    let run = app.run_once("linkedin").await.unwrap();
    assert_eq!(run.outcome, Outcome::Delivered, "{:?}", run.error);

    let expected = expected(&test, &app, "linkedin", dates);
    assert!(expected.len() > 40, "a report of some size: {}", expected.len());
    assert_eq!(written(&test, "linkedin_ads"), expected);

    let stored = app.auth().store().token(LINKEDIN).await.unwrap().unwrap();
    let identity = stored.identity.expect("the member is recorded");
    assert_eq!(identity.id, linkedin::person_urn(USER));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linkedin_login_tracks_both_expiries_and_warns_before_the_year_ends() {
    let smtp = SmtpServer::start().await;
    let test = TestApp::with_providers(START, "").await;
    test.write_provider_config("", &smtp.config(24));
    let app = connected(&test, LINKEDIN).await;
    let now = test.clock.now();
    let view = async |app: &App| {
        let status = app.status().await.unwrap();
        status.connections.into_iter().find(|c| c.id == LINKEDIN).unwrap()
    };
    let fresh = view(&app).await;
    assert_eq!(fresh.access_expires_at, Some(now + Duration::days(60)));
    assert_eq!(fresh.refresh_expires_at, Some(now + Duration::days(365)));
    assert_eq!(
        fresh.expires_at, fresh.refresh_expires_at,
        "the refresh token's end is the login's end"
    );
    assert_eq!(fresh.state, "connected");
    app.upkeep().await;
    assert!(smtp.messages().is_empty(), "nothing to warn about yet");

    // Day 360: refreshed access tokens do not extend the year; a warning goes out once.
    let later = Duration::days(360);
    test.sandbox.sandbox().advance_clock(later.num_seconds()).unwrap();
    test.clock.advance(later);
    test.expire_access_tokens(USER).await;
    app.any_source(LINKEDIN).unwrap().identity().await.unwrap();
    let refreshed = view(&app).await;
    // The same end, to the second: `refresh_token_expires_in` counts whole seconds on the
    // sandbox's clock, which also runs in real time beside the test's manual clock.
    let drift = refreshed.expires_at.unwrap() - fresh.expires_at.unwrap();
    assert!(drift.num_seconds().abs() <= 1, "the login's end moved by {drift}");
    assert_eq!(refreshed.state, "expiring");
    app.upkeep().await;
    app.upkeep().await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1, "one warning: {mails:?}");
    assert_eq!(
        mails[0].subject,
        format!("adsync: LinkedIn Ads {LINKEDIN} expires in 5 days")
    );
    assert!(mails[0]
        .reconnect_link()
        .contains(&format!("/reconnect/{LINKEDIN}?expires=")));
}
