//! What an output must hold for any query: the sandbox's data functions, one per platform,
//! arranged as CSV cells in the query's column order, header first.

use adsync::query::{Level, Query, TimeIncrement};
use adsync::rows::DateWindow;
use adsync::sources::google_ads::{fields as ads_fields, gaql};
use adsync::sources::Platform;
use adsync_sandbox::{ga4, google_ads, linkedin, SandboxSettings};
use chrono::NaiveDate;

use crate::helpers::expected_rows;

/// The rows `query` over `window` must have produced against a sandbox with `settings`
/// whose day is `today`.
pub fn report(query: &Query, window: DateWindow, settings: &SandboxSettings, today: NaiveDate) -> Vec<Vec<String>> {
    let mut rows = vec![query.columns()];
    match query.platform {
        Platform::MetaAds => return expected_rows(query, window, adsync_sandbox::meta::shape(settings)),
        Platform::GoogleAds => rows.extend(google_ads_rows(query, window, settings, today)),
        Platform::Ga4 => rows.extend(ga4_rows(query, window, settings, today)),
        Platform::LinkedinAds => rows.extend(linkedin_rows(query, window, settings)),
    }
    rows
}

/// Each customer's rows of the GAQL the query asks for, `metrics.cost` as exact currency.
fn google_ads_rows(
    query: &Query,
    window: DateWindow,
    settings: &SandboxSettings,
    today: NaiveDate,
) -> Vec<Vec<String>> {
    let gaql = gaql::build(query, window).unwrap();
    let selected = gaql::select_list(&gaql).unwrap();
    let total = query.time_increment == TimeIncrement::Total;
    let mut rows = Vec::new();
    for customer in &query.accounts {
        for row in google_ads::expected_rows(settings, customer.parse().unwrap(), &gaql, today).unwrap() {
            let cell = |column: &String| {
                if total && column == ads_fields::DATE {
                    // A total is dated by its window's first day.
                    return window.start.to_string();
                }
                let at = selected
                    .iter()
                    .position(|s| s == ads_fields::source_field(column))
                    .unwrap();
                match column.as_str() {
                    ads_fields::COST => ads_fields::cost_from_micros(&row[at]).unwrap_or_default(),
                    _ => row[at].clone(),
                }
            };
            rows.push(query.columns().iter().map(cell).collect());
        }
    }
    rows
}

/// Each property's report for the request the query makes, dates in ISO form.
fn ga4_rows(query: &Query, window: DateWindow, settings: &SandboxSettings, today: NaiveDate) -> Vec<Vec<String>> {
    // Custom fields are metrics where the sandbox's metadata says so, as a run asks it.
    let custom_metrics: Vec<String> = ga4::report::metrics()
        .into_iter()
        .filter(|m| m.custom)
        .map(|m| m.api_name.to_string())
        .collect();
    let body = adsync::sources::ga4::request::ReportRequest::new(query, window, &custom_metrics)
        .unwrap()
        .body(0);
    let mut request: ga4::request::RunReportRequest = serde_json::from_value(body).unwrap();
    request.limit = None;
    request.offset = None;
    let mut rows = Vec::new();
    for property in &query.accounts {
        let mut request = request.clone();
        request.limit = serde_json::from_value(serde_json::json!("250000")).unwrap();
        let report = ga4::report::Report::new(
            property.parse().unwrap(),
            &request,
            &settings.ga4.dimension_values,
            today,
        )
        .unwrap();
        for row in report.rows {
            let cell = |column: &String| {
                if let Some(at) = report.dimensions.iter().position(|d| d == column) {
                    let value = &row.dimension_values[at];
                    return match column.as_str() {
                        "date" => NaiveDate::parse_from_str(value, "%Y%m%d").unwrap().to_string(),
                        _ => value.clone(),
                    };
                }
                match report.metrics.iter().position(|(m, _)| m == column) {
                    Some(at) => row.metric_values[at].clone(),
                    // A total's date column holds the window's first day.
                    None => window.start.to_string(),
                }
            };
            rows.push(query.columns().iter().map(cell).collect());
        }
    }
    rows
}

/// Each account's analytics, a month-long slice at a time for daily reports.
fn linkedin_rows(query: &Query, window: DateWindow, settings: &SandboxSettings) -> Vec<Vec<String>> {
    let pivot = match query.level {
        Level::Account => linkedin::data::Pivot::Account,
        Level::Campaign => linkedin::data::Pivot::CampaignGroup,
        Level::Adset => linkedin::data::Pivot::Campaign,
        Level::Ad => linkedin::data::Pivot::Creative,
    };
    let daily = query.time_increment == TimeIncrement::Daily;
    let slices: Vec<DateWindow> = if daily {
        let days = Platform::LinkedinAds.max_unit_days().unwrap() as u64;
        let mut slices = Vec::new();
        let mut start = window.start;
        while start <= window.end {
            let end = (start + chrono::Days::new(days - 1)).min(window.end);
            slices.push(DateWindow::new(start, end));
            start = end + chrono::Days::new(1);
        }
        slices
    } else {
        vec![window]
    };
    let metrics: Vec<String> = query
        .columns()
        .into_iter()
        .filter(|c| !matches!(c.as_str(), "date" | "date_end" | "pivot_value"))
        .collect();
    let mut rows = Vec::new();
    for account in &query.accounts {
        for slice in &slices {
            let elements = linkedin::data::analytics(
                adsync_sandbox::linkedin::shape(&settings.linkedin),
                &linkedin::data::AnalyticsQuery {
                    account: account.parse().unwrap(),
                    pivot,
                    daily,
                    window: adsync_sandbox::DateWindow::new(slice.start, slice.end),
                    facets: Vec::new(),
                    metrics: metrics.clone(),
                },
            );
            rows.extend(
                elements
                    .iter()
                    .map(|element| query.columns().iter().map(|c| element.cell(c)).collect::<Vec<_>>()),
            );
        }
    }
    rows
}
