//! The Google Ads emulation's data function, without HTTP: GAQL conditions, sorting and
//! limits. The connector reading it over HTTP is tested on adsync's side
//! (`sources::google_ads::tests`).

use chrono::NaiveDate;

use super::*;
use crate::SandboxSettings;

const CUSTOMER: u64 = 1_234_567_890;
const OTHER: u64 = 2_345_678_901;

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn strings<const N: usize>(rows: &[[&str; N]]) -> Vec<Vec<String>> {
    rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect()
}

const DAILY: &str =
    "SELECT campaign.id, campaign.name, metrics.clicks, metrics.cost_micros, segments.date FROM campaign \
                     WHERE segments.date BETWEEN '2026-03-01' AND '2026-03-07'";

#[test]
fn conditions_sorting_and_limits_shape_the_rows() {
    let settings = SandboxSettings::default();
    let today = day("2026-03-15");
    let rows = |gaql: &str| expected_rows(&settings, CUSTOMER, gaql, today).unwrap();
    let all = rows("SELECT campaign.name, campaign.status FROM campaign");
    assert_eq!(all.len(), 3);
    let enabled = rows("SELECT campaign.name, campaign.status FROM campaign WHERE campaign.status = 'ENABLED'");
    assert_eq!(
        enabled,
        all.iter().filter(|r| r[1] == "ENABLED").cloned().collect::<Vec<_>>()
    );
    let brand = rows("SELECT campaign.name FROM campaign WHERE campaign.name LIKE '%Brand%'");
    assert_eq!(brand, strings(&[["Search – Brand #1"]]));
    let named = rows("SELECT campaign.name FROM campaign WHERE campaign.name IN ('Search – Generic #2', 'x')");
    assert_eq!(named, strings(&[["Search – Generic #2"]]));
    let last_week = rows("SELECT segments.date FROM customer WHERE segments.date DURING LAST_7_DAYS");
    assert_eq!(last_week.first().unwrap()[0], "2026-03-08");
    assert_eq!(last_week.last().unwrap()[0], "2026-03-14");
    let top = rows(
        "SELECT ad_group.id, metrics.impressions FROM ad_group WHERE segments.date BETWEEN '2026-03-01' AND '2026-03-07' \
         ORDER BY metrics.impressions DESC LIMIT 2",
    );
    let mut by_impressions = rows(
        "SELECT ad_group.id, metrics.impressions FROM ad_group WHERE segments.date BETWEEN '2026-03-01' AND '2026-03-07'",
    );
    by_impressions.sort_by_key(|r| std::cmp::Reverse(r[1].parse::<u64>().unwrap_or(0)));
    assert_eq!(top, by_impressions[..2]);
    // Segments multiply rows; totals are the sums of the days.
    let devices = rows("SELECT segments.device FROM customer WHERE segments.date = '2026-03-01'");
    assert_eq!(devices, strings(&[["DESKTOP"], ["MOBILE"], ["TABLET"]]));
    let daily = rows(
        "SELECT metrics.clicks, segments.date FROM campaign WHERE segments.date BETWEEN '2026-03-01' AND '2026-03-03'",
    );
    let total = rows("SELECT metrics.clicks FROM campaign WHERE segments.date BETWEEN '2026-03-01' AND '2026-03-03'");
    let sum = |rows: &[Vec<String>]| rows.iter().map(|r| r[0].parse::<u64>().unwrap_or(0)).sum::<u64>();
    assert_eq!(sum(&daily), sum(&total));
    assert!(
        expected_rows(&settings, CUSTOMER, "SELECT campaign.id FROM keyword_view", today)
            .unwrap_err()
            .contains("BAD_RESOURCE_TYPE_IN_FROM_CLAUSE")
    );
    // The data is a pure function: the same query, the same rows.
    assert_eq!(rows(DAILY), rows(DAILY));
    assert_ne!(
        expected_rows(&settings, OTHER, DAILY, today).unwrap(),
        rows(DAILY),
        "customers differ"
    );
}

#[test]
fn conversion_actions_split_conversion_metrics_and_refuse_the_others() {
    let settings = SandboxSettings::default();
    let today = day("2026-03-15");
    let rows = |gaql: &str| expected_rows(&settings, CUSTOMER, gaql, today);
    let by_action = rows(
        "SELECT segments.conversion_action_name, segments.conversion_action_category, metrics.conversions \
         FROM customer WHERE segments.date = '2026-03-01'",
    )
    .unwrap();
    let names: Vec<[&str; 2]> = by_action.iter().map(|r| [r[0].as_str(), r[1].as_str()]).collect();
    assert_eq!(
        names,
        [
            ["Purchase", "PURCHASE"],
            ["Lead form", "SUBMIT_LEAD_FORM"],
            ["Newsletter sign-up", "SIGNUP"]
        ]
    );
    // The actions share the row's conversions: they add up to the unsplit row exactly.
    let whole = rows("SELECT metrics.conversions FROM customer WHERE segments.date = '2026-03-01'").unwrap();
    let centi = |text: &str| (text.parse::<f64>().unwrap_or(0.0) * 100.0).round() as u64;
    let split: u64 = by_action.iter().map(|r| centi(&r[2])).sum();
    assert_eq!(split, centi(&whole[0][0]));
    assert!(split > 0);
    let error = rows(
        "SELECT segments.conversion_action, metrics.conversions, metrics.clicks FROM campaign \
         WHERE segments.date = '2026-03-01'",
    )
    .unwrap_err();
    assert!(
        error.contains("PROHIBITED_SEGMENT_WITH_METRIC_IN_SELECT_OR_WHERE_CLAUSE") && error.contains("metrics.clicks"),
        "{error}"
    );
}

#[test]
fn derived_conversion_metrics_follow_from_the_counts() {
    let settings = SandboxSettings::default();
    let rows = expected_rows(
        &settings,
        CUSTOMER,
        "SELECT metrics.cost_micros, metrics.conversions, metrics.conversions_value, metrics.cost_per_conversion, \
         metrics.conversions_value_per_cost, metrics.clicks, metrics.conversions_from_interactions_rate, segments.date \
         FROM campaign \
         WHERE segments.date BETWEEN '2026-03-01' AND '2026-03-07'",
        day("2026-03-15"),
    )
    .unwrap();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs().max(1.0);
    let mut checked = 0;
    for row in rows {
        let v: Vec<f64> = row.iter().map(|c| c.parse().unwrap_or(0.0)).collect();
        let [cost_micros, conversions, value, cost_per_conversion, value_per_cost, clicks, rate, _] = v[..] else {
            unreachable!()
        };
        if conversions == 0.0 || cost_micros == 0.0 {
            continue;
        }
        assert!(close(cost_per_conversion, cost_micros / conversions), "{row:?}");
        assert!(close(value_per_cost, value / (cost_micros / 1e6)), "{row:?}");
        assert!(close(rate, conversions / clicks), "{row:?}");
        checked += 1;
    }
    assert!(checked > 3);
}

#[test]
fn customer_client_lists_a_manager_and_its_clients_as_the_hierarchy_example_reads_them() {
    let settings = SandboxSettings::default().google_ads;
    let query = gaql::parse(
        "SELECT customer_client.id, customer_client.level, customer_client.manager, customer_client.currency_code \
         FROM customer_client WHERE customer_client.level <= 1",
    )
    .unwrap();
    let answer = hierarchy::answer(&query, 9_990_001_111, &settings, "r".into()).unwrap();
    assert_eq!(
        answer,
        json!([{
            "results": [
                {"customerClient": {"resourceName": "customers/9990001111/customerClients/9990001111",
                    "id": "9990001111", "level": "0", "manager": true, "currencyCode": "USD"}},
                {"customerClient": {"resourceName": "customers/9990001111/customerClients/3456789012",
                    "id": "3456789012", "level": "1", "manager": false, "currencyCode": "EUR"}},
            ],
            "fieldMask": "customerClient.id,customerClient.level,customerClient.manager,customerClient.currencyCode",
            "requestId": "r",
        }])
    );
    let own = gaql::parse("SELECT customer_client.id FROM customer_client WHERE customer_client.level <= 0").unwrap();
    let answer = hierarchy::answer(&own, 9_990_001_111, &settings, "r".into()).unwrap();
    assert_eq!(answer[0]["results"].as_array().unwrap().len(), 1);
    let unknown = gaql::parse("SELECT customer_client.nickname FROM customer_client").unwrap();
    assert!(hierarchy::answer(&unknown, CUSTOMER, &settings, "r".into()).is_err());
}
