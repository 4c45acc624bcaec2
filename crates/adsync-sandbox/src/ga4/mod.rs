//! The Google Analytics 4 Data API (`properties/{id}:runReport`) and the Admin API's
//! `accountSummaries`, at the real paths, with Google's `google.rpc.Status` errors.
//!
//! A report request is checked in this order: the token (shared [`TokenBook`], so revoking
//! a user or expiring tokens works for every platform), its scope, the body's JSON
//! ([`request`]), the property (unknown or denied both answer 403, as GA4 does), then the
//! report's arguments ([`report`]). Report rows are computed per request by
//! [`report::Report::new`], a pure function tests call to know the exact rows.
//!
//! [`TokenBook`]: super::tokens::TokenBook

pub mod report;
pub mod request;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::faults::{Fault, FaultKind};
use super::google_status::GoogleStatus as RpcStatus;
use super::params::{bearer, Params};
use super::state::{Counters, Sandbox};
use super::tokens::Grantee;
pub use crate::settings::ga4::Settings;
use report::Report;
use request::RunReportRequest;

/// Where both APIs' paths start.
const PREFIX: &str = "/v1beta/";
/// Scopes that may run reports.
const REPORT_SCOPES: [&str; 2] = [
    "https://www.googleapis.com/auth/analytics.readonly",
    "https://www.googleapis.com/auth/analytics",
];
/// Scopes that may list account summaries (the Admin API also takes the edit scope).
const ADMIN_SCOPES: [&str; 3] = [
    "https://www.googleapis.com/auth/analytics.readonly",
    "https://www.googleapis.com/auth/analytics",
    "https://www.googleapis.com/auth/analytics.edit",
];
/// Account summaries per page without `pageSize`, and the most with it.
const SUMMARIES_DEFAULT_PAGE: usize = 50;
const SUMMARIES_MAX_PAGE: usize = 200;

/// The routes this module serves. `/v1beta/…` is a static segment, so it wins over Meta's
/// `/{version}/{node}`; the method suffix of `{id}:runReport` is parsed by the handler, as
/// a route cannot match a parameter followed by text in one segment.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v1beta/properties/{property_call}", post(run_report).get(property))
        .route("/v1beta/properties/{property}/metadata", get(metadata))
        .route("/v1beta/accountSummaries", get(account_summaries))
}

/// Whether a request to `path` is this module's (injected faults then take its error shape).
pub fn serves(path: &str) -> bool {
    path.strip_prefix(PREFIX)
        .is_some_and(|rest| rest.starts_with("properties/") || rest == "accountSummaries")
}

/// The error answer of an injected `fault` in this platform's shape; `None` for faults
/// that do not replace the answer (truncation).
pub fn fault_response(fault: &Fault) -> Option<Response> {
    let error = match fault.kind {
        FaultKind::Http500 => RpcStatus::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "Internal error encountered.",
        ),
        FaultKind::Timeout => RpcStatus::new(
            StatusCode::GATEWAY_TIMEOUT,
            "DEADLINE_EXCEEDED",
            "The request timed out.",
        ),
        // GA4 says which bucket ran dry in the message; the RetryInfo carries the fault's
        // wait so tests need not sit out a real quota's half hour.
        FaultKind::RateLimit => RpcStatus::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            "Exhausted concurrent requests quota.",
        )
        .with_detail(json!({
            "@type": "type.googleapis.com/google.rpc.RetryInfo",
            "retryDelay": format!("{}s", fault.regain_access_minutes * 60),
        })),
        FaultKind::TruncatedJson => return None,
    };
    Some(error.into_response())
}

/// GA4's own answers beside the ones every Google API shares.
impl RpcStatus {
    /// 403 for a property the user may not read, or that does not exist (GA4 does not tell
    /// them apart).
    fn property_denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "User does not have sufficient permissions for this property. To learn more about Property ID, see https://developers.google.com/analytics/devguides/reporting/data/v1/property-id.",
        )
    }
}

type ApiResult = Result<Response, RpcStatus>;

/// Who holds the request's bearer token, if it is valid and carries one of `scopes`.
fn authenticate(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    scopes: &[&str],
    service: &str,
    method: &str,
) -> Result<Grantee, RpcStatus> {
    let world = sandbox.world();
    let grantee = world
        .tokens
        .check_access(bearer(headers), world.now())
        .map_err(|denied| {
            Counters::bump(&sandbox.counters().token_errors, 1);
            RpcStatus::unauthenticated(&denied, None)
        })?;
    if !grantee.scopes.iter().any(|s| scopes.contains(&s.as_str())) {
        return Err(RpcStatus::scope_insufficient(service, method));
    }
    Ok(grantee)
}

/// The properties `grantee` can read, in settings order.
fn readable_properties(sandbox: &Sandbox, grantee: &Grantee) -> Vec<u64> {
    let world = sandbox.world();
    let denied = world.denied.get(&grantee.user);
    world
        .settings
        .ga4
        .properties
        .iter()
        .copied()
        .filter(|p| denied.is_none_or(|d| !d.contains(p)))
        .collect()
}

/// `POST /v1beta/properties/{id}:runReport`.
async fn run_report(
    State(sandbox): State<Sandbox>,
    Path(property_call): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = (|| -> ApiResult {
        let property = property_call
            .strip_suffix(":runReport")
            .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|id| id.parse::<u64>().ok())
            .ok_or_else(|| {
                RpcStatus::new(
                    StatusCode::NOT_FOUND,
                    "NOT_FOUND",
                    format!("Method not found: properties/{property_call}"),
                )
            })?;
        let grantee = authenticate(
            &sandbox,
            &headers,
            &REPORT_SCOPES,
            "analyticsdata.googleapis.com",
            "google.analytics.data.v1beta.BetaAnalyticsData.RunReport",
        )?;
        let request: RunReportRequest = serde_json::from_slice(&body)
            .map_err(|e| RpcStatus::invalid_argument(format!("Invalid JSON payload received. {e}")))?;
        if !readable_properties(&sandbox, &grantee).contains(&property) {
            return Err(RpcStatus::property_denied());
        }
        let (values, currency, time_zone, max_page_rows, now) = {
            let world = sandbox.world();
            let ga4 = &world.settings.ga4;
            (
                ga4.dimension_values.clone(),
                ga4.currency_code.clone(),
                ga4.time_zone.clone(),
                ga4.max_page_rows.max(1) as usize,
                world.now(),
            )
        };
        let today = chrono::DateTime::from_timestamp(now, 0)
            .expect("the sandbox clock is in range")
            .date_naive();
        let report = Report::new(property, &request, &values, today).map_err(RpcStatus::invalid_argument)?;
        let page = report.page();
        let page = &page[..page.len().min(max_page_rows)];
        Counters::bump(&sandbox.counters().rows_served, page.len() as u64);
        let mut answer = json!({
            "dimensionHeaders": report.dimensions.iter().map(|name| json!({"name": name})).collect::<Vec<_>>(),
            "metricHeaders": report.metrics.iter().map(|(name, kind)| json!({"name": name, "type": kind})).collect::<Vec<_>>(),
            "metadata": {"currencyCode": currency, "timeZone": time_zone},
            "kind": "analyticsData#runReport",
        });
        // proto3 JSON leaves out empty lists and zeros: no rows, no `rows`; no `rowCount` 0.
        if !page.is_empty() {
            answer["rows"] = page
                .iter()
                .map(|row| {
                    let values = |list: &[String]| list.iter().map(|v| json!({"value": v})).collect::<Vec<_>>();
                    json!({
                        "dimensionValues": values(&row.dimension_values),
                        "metricValues": values(&row.metric_values),
                    })
                })
                .collect();
        }
        if !report.rows.is_empty() {
            answer["rowCount"] = json!(report.rows.len());
        }
        if request.return_property_quota {
            answer["propertyQuota"] = property_quota();
        }
        Ok(Json(answer).into_response())
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /v1beta/properties/{id}/metadata` (`getMetadata`): the dimensions and metrics the
/// property's reports accept, its custom definitions among them with `customDefinition`
/// set (https://developers.google.com/analytics/devguides/reporting/data/v1/rest/v1beta/properties/getMetadata).
async fn metadata(State(sandbox): State<Sandbox>, Path(property): Path<String>, headers: HeaderMap) -> Response {
    let result = (|| -> ApiResult {
        let grantee = authenticate(
            &sandbox,
            &headers,
            &REPORT_SCOPES,
            "analyticsdata.googleapis.com",
            "google.analytics.data.v1beta.BetaAnalyticsData.GetMetadata",
        )?;
        let id = property
            .parse::<u64>()
            .ok()
            .filter(|_| property.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| RpcStatus::invalid_argument(format!("Invalid property name: properties/{property}")))?;
        if !readable_properties(&sandbox, &grantee).contains(&id) {
            return Err(RpcStatus::property_denied());
        }
        let describe = |d: &report::Described| {
            let mut entry = json!({
                "apiName": d.api_name,
                "uiName": d.ui_name,
                "description": if d.custom { "A custom definition of this property." } else { "" },
                "customDefinition": d.custom,
            });
            if let Some(kind) = d.metric_type {
                entry["type"] = json!(kind);
            }
            entry
        };
        Ok(Json(json!({
            "name": format!("properties/{id}/metadata"),
            "dimensions": report::dimensions().iter().map(describe).collect::<Vec<_>>(),
            "metrics": report::metrics().iter().map(describe).collect::<Vec<_>>(),
        }))
        .into_response())
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// A standard property's quota, as if only this request had run (the sandbox does not meter).
fn property_quota() -> Value {
    let bucket = |consumed: u64, limit: u64| json!({"consumed": consumed, "remaining": limit - consumed});
    json!({
        "tokensPerDay": bucket(10, 200_000),
        "tokensPerHour": bucket(10, 40_000),
        "concurrentRequests": bucket(0, 10),
        "serverErrorsPerProjectPerHour": bucket(0, 10),
        "potentiallyThresholdedRequestsPerHour": bucket(0, 120),
        "tokensPerProjectPerHour": bucket(10, 14_000),
    })
}

/// `GET /v1beta/accountSummaries`: one account per readable property, paged by
/// `pageToken`/`nextPageToken`.
async fn account_summaries(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let result = (|| -> ApiResult {
        let params = Params::parse(query.as_deref(), b"");
        let grantee = authenticate(
            &sandbox,
            &headers,
            &ADMIN_SCOPES,
            "analyticsadmin.googleapis.com",
            "google.analytics.admin.v1beta.AnalyticsAdminService.ListAccountSummaries",
        )?;
        let page_size = match params.non_empty("pageSize") {
            None => SUMMARIES_DEFAULT_PAGE,
            Some(text) => text
                .parse::<usize>()
                .map_err(|_| {
                    RpcStatus::invalid_argument(format!("Invalid value at 'page_size' (TYPE_INT32), \"{text}\""))
                })?
                .clamp(1, SUMMARIES_MAX_PAGE),
        };
        let start = match params.non_empty("pageToken") {
            None => 0,
            Some(token) => token
                .strip_prefix("summaries-")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| RpcStatus::invalid_argument("Invalid page token."))?,
        };
        let properties = readable_properties(&sandbox, &grantee);
        let end = start.saturating_add(page_size).min(properties.len());
        let summaries: Vec<Value> = properties
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .map(|property| {
                let account = account_of(*property);
                json!({
                    "name": format!("accountSummaries/{account}"),
                    "account": format!("accounts/{account}"),
                    "displayName": format!("Demo Account {account}"),
                    "propertySummaries": [{
                        "property": format!("properties/{property}"),
                        "displayName": format!("Demo Property {property}"),
                        "propertyType": "PROPERTY_TYPE_ORDINARY",
                        "parent": format!("accounts/{account}"),
                    }],
                })
            })
            .collect();
        let mut answer = json!({ "accountSummaries": summaries });
        if end < properties.len() {
            answer["nextPageToken"] = json!(format!("summaries-{end}"));
        }
        Ok(Json(answer).into_response())
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /v1beta/properties/{id}` (Admin API): the property's name, currency and reporting
/// time zone (Admin API `Property`: `displayName`, `currencyCode`, `timeZone`; e.g.
/// googleapis.dev `Google.Analytics.Admin.V1Beta.Property`).
async fn property(State(sandbox): State<Sandbox>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let result = (|| -> ApiResult {
        let grantee = authenticate(
            &sandbox,
            &headers,
            &ADMIN_SCOPES,
            "analyticsadmin.googleapis.com",
            "google.analytics.admin.v1beta.AnalyticsAdminService.GetProperty",
        )?;
        let property = id
            .parse::<u64>()
            .map_err(|_| RpcStatus::invalid_argument(format!("Invalid property name: properties/{id}")))?;
        if !readable_properties(&sandbox, &grantee).contains(&property) {
            return Err(RpcStatus::property_denied());
        }
        let (currency, time_zone) = {
            let world = sandbox.world();
            (
                world.settings.ga4.currency_code.clone(),
                world.settings.ga4.time_zone.clone(),
            )
        };
        let account = account_of(property);
        Ok(Json(json!({
            "name": format!("properties/{property}"),
            "propertyType": "PROPERTY_TYPE_ORDINARY",
            "parent": format!("accounts/{account}"),
            "displayName": format!("Demo Property {property}"),
            "currencyCode": currency,
            "timeZone": time_zone,
            "account": format!("accounts/{account}"),
        }))
        .into_response())
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// The GA account a sandbox property belongs to: a stable number of its own.
fn account_of(property: u64) -> u64 {
    200_000_000 + property % 100_000_000
}

/// Test helpers: a sandbox on a free port and tokens minted straight from the token book.
#[cfg(any(test, feature = "testing"))]
pub mod testing {
    use crate::state::Sandbox;
    use crate::tokens::Issuer;
    use crate::{SandboxHandle, SandboxSettings};

    /// The Analytics read-only scope.
    pub const READONLY: &str = "https://www.googleapis.com/auth/analytics.readonly";

    /// An access token of `user` with `scopes`, as Google's consent would issue it.
    pub fn access_token(sandbox: &Sandbox, user: &str, scopes: &[&str]) -> String {
        sandbox.mint_access_token(Issuer::Google, user, scopes)
    }

    /// A sandbox with default settings on a free loopback port.
    pub async fn spawn() -> SandboxHandle {
        crate::spawn("127.0.0.1:0".parse().unwrap(), SandboxSettings::default())
            .await
            .unwrap()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::testing::{access_token, spawn, READONLY};
    use super::*;
    use crate::SandboxHandle;

    async fn post(handle: &SandboxHandle, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .post(format!("{}{path}", handle.base_url()))
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(handle: &SandboxHandle, path: &str, token: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", handle.base_url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    fn report_body() -> Value {
        json!({
            "dateRanges": [{"startDate": "2026-03-01", "endDate": "2026-03-03"}],
            "dimensions": [{"name": "date"}, {"name": "deviceCategory"}],
            "metrics": [{"name": "sessions"}, {"name": "engagementRate"}],
            "limit": "4",
            "offset": "0",
            "returnPropertyQuota": true,
        })
    }

    const REPORT: &str = "/v1beta/properties/123456789:runReport";

    #[tokio::test]
    async fn run_report_pages_the_report_rows() {
        let handle = spawn().await;
        let token = access_token(handle.sandbox(), "ann", &[READONLY]);
        let (status, first) = post(&handle, REPORT, Some(&token), &report_body()).await;
        assert_eq!(status, 200, "{first}");
        assert_eq!(first["rowCount"], 9);
        assert_eq!(first["rows"].as_array().unwrap().len(), 4);
        assert_eq!(
            first["metricHeaders"][1],
            json!({"name": "engagementRate", "type": "TYPE_FLOAT"})
        );
        assert_eq!(first["kind"], "analyticsData#runReport");
        assert_eq!(first["propertyQuota"]["tokensPerDay"]["remaining"], 199_990);
        let mut body = report_body();
        body["offset"] = json!("8");
        let (_, last) = post(&handle, REPORT, Some(&token), &body).await;
        assert_eq!(last["rows"].as_array().unwrap().len(), 1);
        body["offset"] = json!(20);
        let (_, past) = post(&handle, REPORT, Some(&token), &body).await;
        assert!(past.get("rows").is_none(), "{past}");
        assert_eq!(past["rowCount"], 9);
        // The page is a slice of the report tests compute.
        let request: RunReportRequest = serde_json::from_value(report_body()).unwrap();
        let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        let report = Report::new(123_456_789, &request, &BTreeMap::new(), today).unwrap();
        let first_row = &report.rows[0];
        assert_eq!(
            first["rows"][0]["dimensionValues"][1]["value"],
            first_row.dimension_values[1]
        );
        assert_eq!(first["rows"][0]["metricValues"][0]["value"], first_row.metric_values[0]);
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn tokens_scopes_and_properties_are_checked_like_ga4() {
        let handle = spawn().await;
        let sandbox = handle.sandbox();
        let (status, body) = post(&handle, REPORT, None, &report_body()).await;
        assert_eq!(
            (status, body["error"]["status"].as_str()),
            (401, Some("UNAUTHENTICATED"))
        );
        assert_eq!(body["error"]["details"][0]["reason"], "CREDENTIALS_MISSING");

        let ads_only = access_token(sandbox, "ann", &["https://www.googleapis.com/auth/adwords"]);
        let (status, body) = post(&handle, REPORT, Some(&ads_only), &report_body()).await;
        assert_eq!(status, 403);
        assert_eq!(body["error"]["details"][0]["reason"], "ACCESS_TOKEN_SCOPE_INSUFFICIENT");

        let token = access_token(sandbox, "ann", &[READONLY]);
        let (status, body) = post(
            &handle,
            "/v1beta/properties/999:runReport",
            Some(&token),
            &report_body(),
        )
        .await;
        assert_eq!(
            (status, body["error"]["status"].as_str()),
            (403, Some("PERMISSION_DENIED"))
        );
        sandbox.set_account_access("ann", 123_456_789, true);
        let (status, body) = post(&handle, REPORT, Some(&token), &report_body()).await;
        assert_eq!(status, 403);
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("User does not have sufficient permissions for this property."));
        let other = access_token(sandbox, "bob", &[READONLY]);
        assert_eq!(post(&handle, REPORT, Some(&other), &report_body()).await.0, 200);

        let (status, body) = post(
            &handle,
            "/v1beta/properties/123456789:runPivotReport",
            Some(&token),
            &report_body(),
        )
        .await;
        assert_eq!((status, body["error"]["status"].as_str()), (404, Some("NOT_FOUND")));
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn requests_the_api_would_reject_are_invalid_arguments() {
        let handle = spawn().await;
        let token = access_token(handle.sandbox(), "ann", &[READONLY]);
        let rejected = |change: fn(&mut Value)| {
            let mut body = report_body();
            change(&mut body);
            let (handle, token) = (&handle, &token);
            async move {
                let (status, answer) = post(handle, REPORT, Some(token), &body).await;
                assert_eq!(status, 400, "{answer}");
                assert_eq!(answer["error"]["status"], "INVALID_ARGUMENT");
                answer["error"]["message"].as_str().unwrap().to_string()
            }
        };
        let message = rejected(|b| b["dimensions"][1]["name"] = json!("deviceCategry")).await;
        assert!(
            message.starts_with("Field deviceCategry is not a valid dimension."),
            "{message}"
        );
        let message = rejected(|b| b["metrics"][0]["name"] = json!("sesions")).await;
        assert!(message.starts_with("Field sesions is not a valid metric."), "{message}");
        let message = rejected(|b| b["limit"] = json!("250001")).await;
        assert!(message.contains("250000"), "{message}");
        let message = rejected(|b| b["orderBy"] = json!([])).await;
        assert!(message.starts_with("Invalid JSON payload received."), "{message}");
        let message =
            rejected(|b| b["dimensions"] = json!((0..10).map(|_| json!({"name": "country"})).collect::<Vec<_>>()))
                .await;
        assert!(message.contains("9 dimensions"), "{message}");
        let message =
            rejected(|b| b["metrics"] = json!((0..11).map(|_| json!({"name": "sessions"})).collect::<Vec<_>>())).await;
        assert!(message.contains("10 metrics"), "{message}");
        let message = rejected(|b| {
            b["dimensionFilter"] = json!({"filter": {"fieldName": "sessions", "stringFilter": {"value": "1"}}})
        })
        .await;
        assert!(
            message.starts_with("Field sessions is not a valid dimension."),
            "{message}"
        );
        let message = rejected(|b| b["dateRanges"][0]["endDate"] = json!("2026-02-01")).await;
        assert!(message.contains("after the end date"), "{message}");
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn account_summaries_page_through_readable_properties() {
        let handle = spawn().await;
        let sandbox = handle.sandbox();
        sandbox
            .patch_settings(json!({"ga4": {"properties": [111, 222, 333]}}))
            .unwrap();
        sandbox.set_account_access("ann", 222, true);
        let token = access_token(sandbox, "ann", &[READONLY]);
        let (status, first) = get(&handle, "/v1beta/accountSummaries?pageSize=1", &token).await;
        assert_eq!(status, 200, "{first}");
        assert_eq!(
            first["accountSummaries"][0]["propertySummaries"][0]["property"],
            "properties/111"
        );
        let next = first["nextPageToken"].as_str().unwrap();
        let (_, second) = get(
            &handle,
            &format!("/v1beta/accountSummaries?pageSize=1&pageToken={next}"),
            &token,
        )
        .await;
        assert_eq!(
            second["accountSummaries"][0]["propertySummaries"][0]["property"],
            "properties/333"
        );
        assert!(second.get("nextPageToken").is_none());
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn metadata_lists_custom_definitions_and_reports_take_them() {
        let handle = spawn().await;
        let token = access_token(handle.sandbox(), "ann", &[READONLY]);
        let (status, metadata) = get(&handle, "/v1beta/properties/123456789/metadata", &token).await;
        assert_eq!(status, 200, "{metadata}");
        assert_eq!(metadata["name"], "properties/123456789/metadata");
        let custom = |kind: &str| -> Vec<String> {
            metadata[kind]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["customDefinition"] == true)
                .map(|d| d["apiName"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            custom("dimensions"),
            [
                "customEvent:plan_type",
                "customUser:membership_tier",
                "customItem:item_color"
            ]
        );
        assert_eq!(custom("metrics"), ["customEvent:credits_used"]);
        assert!(metadata["dimensions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["apiName"] == "date"));

        let mut body = report_body();
        body["dimensions"] = json!([{"name": "customEvent:plan_type"}]);
        body["metrics"] = json!([{"name": "customEvent:credits_used"}]);
        let (status, report) = post(&handle, REPORT, Some(&token), &body).await;
        assert_eq!(status, 200, "{report}");
        let plans: Vec<&str> = report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["dimensionValues"][0]["value"].as_str().unwrap())
            .collect();
        assert!(
            plans.iter().all(|p| ["free", "pro", "enterprise"].contains(p)),
            "{plans:?}"
        );

        body["dimensions"] = json!([{"name": "customEvent:plan_typ"}]);
        let (status, error) = post(&handle, REPORT, Some(&token), &body).await;
        assert_eq!(status, 400, "{error}");
        assert_eq!(error["error"]["status"], "INVALID_ARGUMENT");
        assert!(error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("customEvent:plan_typ"));
        let (status, _) = get(&handle, "/v1beta/properties/999/metadata", &token).await;
        assert_eq!(status, 403);
    }

    #[tokio::test]
    async fn meta_routes_still_answer_beside_v1beta() {
        let handle = spawn().await;
        let url = format!("{}/v25.0/me", handle.base_url());
        let response = reqwest::Client::new().get(url).send().await.unwrap();
        let body: Value = response.json().await.unwrap();
        // Graph's own error shape: Meta's handler answered, not GA4's.
        assert_eq!(body["error"]["code"], 104, "{body}");
        let token = access_token(handle.sandbox(), "ann", &[READONLY]);
        assert_eq!(get(&handle, "/v1beta/accountSummaries", &token).await.0, 200);
        handle.shutdown().await;
    }

    #[test]
    fn faults_answer_in_google_shapes() {
        let fault = |kind| Fault {
            kind,
            count: 1,
            skip: 0,
            path_prefix: None,
            code: None,
            regain_access_minutes: 0,
        };
        assert_eq!(
            fault_response(&fault(FaultKind::Http500)).unwrap().status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            fault_response(&fault(FaultKind::RateLimit)).unwrap().status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            fault_response(&fault(FaultKind::Timeout)).unwrap().status(),
            StatusCode::GATEWAY_TIMEOUT
        );
        assert!(fault_response(&fault(FaultKind::TruncatedJson)).is_none());
        assert!(serves("/v1beta/properties/1:runReport") && serves("/v1beta/accountSummaries"));
        assert!(!serves("/v25.0/act_1/insights") && !serves("/v1beta/other"));
    }
}
