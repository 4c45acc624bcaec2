//! The platforms' documented field sets end to end: conversions by conversion action on
//! Google Ads, custom dimensions on GA4, conversions and leads on LinkedIn, each written
//! cell by cell as the sandbox computes them; and `check` and the run refusing fields the
//! platform would refuse, saying where and what exists instead.

use adsync::store::Outcome;

use crate::helpers::{TestApp, GOOGLE, LINKEDIN};
use crate::platforms::{connected, expected, query, written, START};

const DATES: (&str, &str) = ("2026-03-01", "2026-03-03");

/// Runs query `name`, a daily query over [`DATES`] writing `{platform}.csv`, once through a
/// fresh connection; checks it delivered exactly the sandbox's rows and returns them.
async fn delivered(
    test: &TestApp,
    name: &str,
    (connection, platform): (&str, &str),
    accounts: &[&str],
    level: Option<&str>,
    fields: &[&str],
) -> Vec<Vec<String>> {
    test.write_query(name, &query(connection, platform, accounts, level, fields, DATES));
    let app = connected(test, connection).await;
    let run = app.run_once(name).await.unwrap();
    assert_eq!(run.outcome, Outcome::Delivered, "{:?}", run.error);
    let rows = written(test, platform);
    assert_eq!(rows, expected(test, &app, name, DATES));
    assert_eq!(rows[0], fields);
    rows
}

/// Where `needle` starts in `text`, as `line:col`.
fn position(text: &str, needle: &str) -> String {
    let offset = text.find(needle).expect("needle is in the file");
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap().chars().count() + 1;
    format!("{line}:{col}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn google_ads_conversions_by_conversion_action_are_written_per_action() {
    let test = TestApp::with_providers(START, "").await;
    let fields = [
        "segments.date",
        "campaign.id",
        "campaign.status",
        "segments.conversion_action",
        "segments.conversion_action_name",
        "segments.conversion_action_category",
        "metrics.conversions",
        "metrics.conversions_value",
        "metrics.all_conversions",
        "metrics.all_conversions_value",
        "metrics.view_through_conversions",
    ];
    let rows = delivered(
        &test,
        "by_action",
        (GOOGLE, "google_ads"),
        &["1234567890"],
        Some("campaign"),
        &fields,
    )
    .await;
    // Each campaign-day is split into the customer's three conversion actions, named and
    // categorized as the API names them.
    let first_day: Vec<&Vec<String>> = rows[1..].iter().filter(|r| r[0] == DATES.0).take(3).collect();
    let names: Vec<&str> = first_day.iter().map(|r| r[4].as_str()).collect();
    assert_eq!(names, ["Purchase", "Lead form", "Newsletter sign-up"]);
    let categories: Vec<&str> = first_day.iter().map(|r| r[5].as_str()).collect();
    assert_eq!(categories, ["PURCHASE", "SUBMIT_LEAD_FORM", "SIGNUP"]);
    assert!(first_day[0][3].starts_with("customers/1234567890/conversionActions/"));
    assert!(rows[1..].iter().all(|r| r[2] == "ENABLED" || r[2] == "PAUSED"));
    assert!(rows[1..].iter().any(|r| !r[6].is_empty()), "some action converted");
}

#[tokio::test]
async fn check_rejects_google_ads_fields_the_resource_cannot_select_with_their_location() {
    let test = TestApp::with_providers(START, "").await;
    let from_campaign = query(
        GOOGLE,
        "google_ads",
        &["1234567890"],
        Some("campaign"),
        &["segments.date", "campaign.name", "ad_group.name", "metrics.clicks"],
        DATES,
    );
    let by_action_with_clicks = query(
        GOOGLE,
        "google_ads",
        &["1234567890"],
        Some("campaign"),
        &[
            "segments.date",
            "segments.conversion_action_name",
            "metrics.conversions",
            "metrics.clicks",
        ],
        DATES,
    )
    .replace("google_ads.csv", "wrong_metric.csv");
    test.write_query("wrong_level", &from_campaign);
    test.write_query("wrong_metric", &by_action_with_clicks);

    let output = test.command(&["check"]).output().unwrap();

    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let file = |name: &str| {
        test.path()
            .join("queries")
            .join(format!("{name}.toml"))
            .display()
            .to_string()
    };
    let level_line = format!(
        "{}:{}: field \"ad_group.name\" needs level \"adset\" or \"ad\"; this query's level is \"campaign\"",
        file("wrong_level"),
        position(&from_campaign, "\"ad_group.name\"")
    );
    assert!(
        stdout.lines().any(|l| l == level_line),
        "no {level_line:?} in:\n{stdout}"
    );
    let metric_prefix = format!(
        "{}:{}: field \"metrics.clicks\" cannot be selected with \"segments.conversion_action_name\": conversion segments split only conversion metrics (metrics.conversions, ",
        file("wrong_metric"),
        position(&by_action_with_clicks, "\"metrics.clicks\"")
    );
    assert!(
        stdout.lines().any(|l| l.starts_with(&metric_prefix)),
        "no {metric_prefix:?} in:\n{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linkedin_conversions_and_leads_are_written_as_the_sandbox_computes_them() {
    let test = TestApp::with_providers(START, "").await;
    // 20 metrics: more than one request's 18, so the rows are merged from two answers.
    let fields = [
        "date",
        "pivot_value",
        "costInLocalCurrency",
        "externalWebsiteConversions",
        "externalWebsitePostClickConversions",
        "externalWebsitePostViewConversions",
        "conversionValueInLocalCurrency",
        "oneClickLeads",
        "oneClickLeadFormOpens",
        "leadGenerationMailContactInfoShares",
        "validWorkEmailLeads",
        "videoViews",
        "approximateMemberReach",
        "audiencePenetration",
        "documentCompletions",
        "registrations",
        "postClickRegistrations",
        "viralExternalWebsiteConversions",
        "viralOneClickLeads",
        "viralVideoViews",
        "jobApplications",
        "talentLeads",
    ];
    let rows = delivered(
        &test,
        "li_conversions",
        (LINKEDIN, "linkedin_ads"),
        &["511009658"],
        Some("adset"),
        &fields,
    )
    .await;
    assert!(rows.len() > 3, "several campaigns and days");
    assert!(rows[1..].iter().all(|r| r[1].starts_with("urn:li:sponsoredCampaign:")));
    assert!(rows[1..].iter().any(|r| r[3] != "0"), "some conversions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ga4_custom_dimensions_and_metrics_are_reported_as_the_property_defines_them() {
    let test = TestApp::with_providers(START, "").await;
    let fields = [
        "date",
        "customEvent:plan_type",
        "customUser:membership_tier",
        "sessions",
        "customEvent:credits_used",
        "keyEvents",
    ];

    let rows = delivered(&test, "ga4_custom", (GOOGLE, "ga4"), &["123456789"], None, &fields).await;

    let plans: std::collections::BTreeSet<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(plans, ["enterprise", "free", "pro"].into());
    assert!(
        rows[1..].iter().all(|r| r[4].parse::<u64>().is_ok()),
        "the custom metric is a metric"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ga4_custom_field_typo_fails_the_run_with_the_propertys_own_fields() {
    let test = TestApp::with_providers(START, "").await;
    test.write_query(
        "ga4_typo",
        &query(
            GOOGLE,
            "ga4",
            &["123456789"],
            None,
            &["date", "customEvent:plan_typ", "sessions"],
            DATES,
        ),
    );
    // check accepts a custom field by its shape: only the property knows its own.
    let check = test.command(&["check"]).output().unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let app = connected(&test, GOOGLE).await;

    let run = app.run_once("ga4_typo").await.unwrap();

    assert_eq!(run.outcome, Outcome::Failed);
    let error = run.error.unwrap();
    assert!(
        error.contains(
            "unknown custom field \"customEvent:plan_typ\" for GA4 property 123456789; did you mean \"customEvent:plan_type\"? \
             The property's custom dimensions: customEvent:plan_type, customUser:membership_tier, customItem:item_color; \
             custom metrics: customEvent:credits_used"
        ),
        "{error}"
    );
    assert!(!test.path().join("out").join("ga4.csv").exists(), "nothing is written");
}
