//! The Google Ads API: `customers:listAccessibleCustomers` and `googleAds:searchStream` (GAQL), at the real paths.
//!
//! Requests the real API would refuse are refused the same way, in its error shape
//! (api-facts §3.2): a missing or dead token, a token without the `adwords` scope, a
//! customer the user cannot reach, a client of a manager account read without the manager
//! in `login-customer-id`, an unknown or incompatible GAQL field (a conversion segment beside
//! a metric it cannot split among conversion actions too), metrics asked of a manager,
//! `segments.date` selected without a finite date range. Reports stream as a chunked JSON
//! array of batches computed as they are sent ([`report`]).

mod error;
mod gaql;
mod hierarchy;
mod report;

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;

use super::faults::{Fault, FaultKind};
use super::params::bearer;
use super::state::{Counters, Sandbox};
use super::tokens::{AccessDenied, Grantee};
use crate::settings::google_ads::MAX_BATCH_ROWS;
pub use crate::settings::google_ads::{Manager, Settings};
use error::AdsFailure;
pub use report::served_fields;
use report::{Report, Row};

/// The scope a token needs.
pub const SCOPE: &str = "https://www.googleapis.com/auth/adwords";
/// The message Google gives for a customer the user cannot reach (api-facts §3.2).
const PERMISSION_DENIED_MESSAGE: &str = "User doesn't have permission to access customer. Note: If you're accessing a client customer, the manager's customer id must be set in the 'login-customer-id' header. See https://developers.google.com/google-ads/api/docs/concepts/call-structure#cid";

impl Settings {
    fn is_manager(&self, id: u64) -> bool {
        self.managers.iter().any(|m| m.id == id)
    }

    /// The manager `id` is a client of, if any.
    fn manager_of(&self, id: u64) -> Option<u64> {
        self.managers.iter().find(|m| m.clients.contains(&id)).map(|m| m.id)
    }
}

/// The routes this module serves.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route(
            "/{version}/customers:listAccessibleCustomers",
            get(list_accessible_customers),
        )
        .route(
            "/{version}/customers/{customer}/googleAds:searchStream",
            post(search_stream),
        )
}

/// Whether a request to `path` is this module's (injected faults then take its error shape).
pub fn serves(path: &str) -> bool {
    let mut segments = path.trim_start_matches('/').split('/');
    let version = segments.next().unwrap_or_default();
    is_version(version) && segments.next().is_some_and(|s| s.starts_with("customers"))
}

/// The error answer of an injected `fault` in this platform's shape; `None` for faults
/// that do not replace the answer (truncation).
pub fn fault_response(fault: &Fault) -> Option<Response> {
    let failure = match fault.kind {
        FaultKind::Http500 => AdsFailure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "Internal error encountered.",
        )
        .with_error("internalError", "INTERNAL_ERROR", "An internal error has occurred."),
        FaultKind::Timeout => AdsFailure::new(
            StatusCode::GATEWAY_TIMEOUT,
            "DEADLINE_EXCEEDED",
            "Deadline expired before operation could complete.",
        )
        .with_error(
            "internalError",
            "DEADLINE_EXCEEDED",
            "The request did not complete within the deadline.",
        ),
        // With a wait: the daily quota is gone (api-facts §3.2); without: a short-term limit.
        FaultKind::RateLimit if fault.regain_access_minutes > 0 => {
            let seconds = fault.regain_access_minutes * 60;
            rate_limited()
                .with_error(
                    "quotaError",
                    "RESOURCE_EXHAUSTED",
                    format!("Too many requests. Retry in {seconds} seconds."),
                )
                .with_error_details(json!({"quotaErrorDetails": {
                    "rateScope": "DEVELOPER",
                    "rateName": "Number of operations for basic access",
                    "retryDelay": format!("{seconds}s"),
                }}))
        }
        FaultKind::RateLimit => rate_limited().with_error(
            "quotaError",
            "RESOURCE_TEMPORARILY_EXHAUSTED",
            "Too many requests in a short time; retry with backoff.",
        ),
        FaultKind::TruncatedJson => return None,
    };
    Some(failure.into_response())
}

fn rate_limited() -> AdsFailure {
    AdsFailure::new(
        StatusCode::TOO_MANY_REQUESTS,
        "RESOURCE_EXHAUSTED",
        "Resource has been exhausted (e.g. check quota).",
    )
}

/// A `requestId`: 22 URL-safe characters, as Google's look.
fn request_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::thread_rng();
    (0..22)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

fn is_version(version: &str) -> bool {
    version
        .strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `GET /v{N}/customers:listAccessibleCustomers`: the customers the user reaches directly.
async fn list_accessible_customers(
    State(sandbox): State<Sandbox>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !is_version(&version) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let grantee = match authenticate(&sandbox, &headers) {
        Ok(grantee) => grantee,
        Err(failure) => return failure.into_response(),
    };
    let world = sandbox.world();
    let denied = world.denied.get(&grantee.user);
    let settings = &world.settings.google_ads;
    let names: Vec<String> = settings
        .customers
        .iter()
        .chain(settings.managers.iter().map(|m| &m.id))
        .filter(|id| !denied.is_some_and(|d| d.contains(id)))
        .map(|id| format!("customers/{id}"))
        .collect();
    axum::Json(json!({ "resourceNames": names })).into_response()
}

#[derive(Deserialize)]
struct SearchRequest {
    #[serde(default)]
    query: String,
}

/// `POST /v{N}/customers/{id}/googleAds:searchStream`: a GAQL report, streamed.
async fn search_stream(
    State(sandbox): State<Sandbox>,
    Path((version, customer)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_version(&version) {
        return StatusCode::NOT_FOUND.into_response();
    }
    match start_stream(&sandbox, &customer, &headers, &body) {
        Ok(response) => response,
        Err(failure) => failure.in_array().into_response(),
    }
}

fn start_stream(sandbox: &Sandbox, customer: &str, headers: &HeaderMap, body: &[u8]) -> Result<Response, AdsFailure> {
    let grantee = authenticate(sandbox, headers)?;
    let customer = customer_id(customer).ok_or_else(|| {
        AdsFailure::invalid_argument(
            "requestError",
            "INVALID_CUSTOMER_ID",
            "Invalid customer ID: expected 10 digits without dashes.",
        )
    })?;
    let login = match headers.get("login-customer-id") {
        None => None,
        Some(value) => Some(value.to_str().ok().and_then(customer_id).ok_or_else(|| {
            AdsFailure::invalid_argument(
                "headerError",
                "INVALID_LOGIN_CUSTOMER_ID",
                "The login customer ID could not be validated: expected 10 digits without dashes.",
            )
        })?),
    };
    let request: SearchRequest = serde_json::from_slice(body).map_err(|e| {
        AdsFailure::new(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            format!("Invalid JSON payload received. {e}"),
        )
    })?;
    if request.query.trim().is_empty() {
        return Err(AdsFailure::invalid_argument(
            "requestError",
            "REQUIRED_FIELD_MISSING",
            "The query is empty.",
        ));
    }
    let (settings, today) = {
        let world = sandbox.world();
        let denied = world.denied.get(&grantee.user).cloned().unwrap_or_default();
        check_reach(&world.settings.google_ads, &denied, customer, login)?;
        let today = chrono::DateTime::from_timestamp(world.now(), 0)
            .expect("the sandbox clock is in range")
            .date_naive();
        (world.settings.google_ads.clone(), today)
    };
    let query = gaql::parse(&request.query)?;
    if query.resource == "customer_client" {
        let answer = hierarchy::answer(&query, customer, &settings, request_id())?;
        return Ok(axum::Json(answer).into_response());
    }
    let report = Arc::new(Report::new(
        &query,
        customer,
        settings.is_manager(customer),
        &settings,
        today,
    )?);
    let batches = Batches {
        field_mask: report.field_mask(),
        rows: report.clone().rows().peekable(),
        report,
        batch_rows: settings.batch_rows.clamp(1, MAX_BATCH_ROWS),
        request_id: request_id(),
        sandbox: sandbox.clone(),
        first: true,
        done: false,
        served: 0,
    };
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json; charset=UTF-8")
        .body(Body::from_stream(futures_util::stream::iter(batches)))
        .expect("a response with static parts builds"))
}

/// A customer id of 10 digits.
fn customer_id(text: &str) -> Option<u64> {
    (text.len() == 10 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// Whether the user (denied `denied`) reaches `customer`, directly or through the manager
/// named in `login-customer-id`.
fn check_reach(
    settings: &Settings,
    denied: &BTreeSet<u64>,
    customer: u64,
    login: Option<u64>,
) -> Result<(), AdsFailure> {
    let direct = |id: u64| (settings.customers.contains(&id) || settings.is_manager(id)) && !denied.contains(&id);
    let reached = match login {
        None => direct(customer),
        Some(login) => {
            direct(login)
                && !denied.contains(&customer)
                && (customer == login || settings.manager_of(customer) == Some(login))
        }
    };
    if reached {
        Ok(())
    } else {
        Err(AdsFailure::permission_denied(
            "USER_PERMISSION_DENIED",
            PERMISSION_DENIED_MESSAGE,
        ))
    }
}

/// The token's holder, if the token is valid and has the `adwords` scope.
fn authenticate(sandbox: &Sandbox, headers: &HeaderMap) -> Result<Grantee, AdsFailure> {
    let world = sandbox.world();
    let grantee = world.tokens.check_access(bearer(headers), world.now()).map_err(|denied| {
        Counters::bump(&sandbox.counters().token_errors, 1);
        match denied {
            AccessDenied::Missing => AdsFailure::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
            )
            .with_error_info("CREDENTIALS_MISSING"),
            AccessDenied::Unknown => AdsFailure::unauthenticated(
                "OAUTH_TOKEN_INVALID",
                "Oauth token is invalid.",
            ),
            AccessDenied::Expired { .. } => AdsFailure::unauthenticated(
                "OAUTH_TOKEN_EXPIRED",
                "Oauth token is expired.",
            ),
            AccessDenied::Revoked { .. } => AdsFailure::unauthenticated(
                "OAUTH_TOKEN_REVOKED",
                "Oauth token is revoked.",
            ),
        }
    })?;
    if !grantee.scopes.iter().any(|s| s == SCOPE) {
        return Err(AdsFailure::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "Request had insufficient authentication scopes.",
        )
        .with_error_info("ACCESS_TOKEN_SCOPE_INSUFFICIENT"));
    }
    Ok(grantee)
}

/// The body of a `searchStream` answer, one chunk per batch, computed as it is sent.
struct Batches {
    report: Arc<Report>,
    rows: std::iter::Peekable<Box<dyn Iterator<Item = Row> + Send>>,
    batch_rows: usize,
    field_mask: String,
    request_id: String,
    sandbox: Sandbox,
    first: bool,
    done: bool,
    /// Rows sent so far (the last batch reports it as `queryResourceConsumption`).
    served: u64,
}

impl Iterator for Batches {
    type Item = Result<Bytes, Infallible>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut out = String::from(if self.first { "[{" } else { ",{" });
        self.first = false;
        let mut rows = 0;
        while rows < self.batch_rows {
            let Some(row) = self.rows.next() else { break };
            out.push_str(if rows == 0 { "\"results\":[" } else { "," });
            out.push_str(&self.report.row_json(&row));
            rows += 1;
        }
        if rows > 0 {
            out.push_str("],");
        }
        self.served += rows as u64;
        Counters::bump(&self.sandbox.counters().rows_served, rows as u64);
        let last = self.rows.peek().is_none();
        out.push_str(&format!(
            "\"fieldMask\":{},\"requestId\":{}",
            json!(self.field_mask),
            json!(self.request_id)
        ));
        if last {
            out.push_str(&format!(",\"queryResourceConsumption\":\"{}\"}}]", self.served.max(1)));
            self.done = true;
        } else {
            out.push('}');
        }
        Some(Ok(Bytes::from(out)))
    }
}

/// The rows (cells in `SELECT` order; empty where Google leaves a default value out) that
/// `gaql` returns for `customer` on `today`, exactly as the sandbox streams them; for tests
/// that compare a report cell by cell. Access is not checked; query errors are.
pub fn expected_rows(
    settings: &super::SandboxSettings,
    customer: u64,
    gaql: &str,
    today: chrono::NaiveDate,
) -> Result<Vec<Vec<String>>, String> {
    let settings = &settings.google_ads;
    let describe = |failure: AdsFailure| failure.body().to_string();
    let query = gaql::parse(gaql).map_err(describe)?;
    let report =
        Arc::new(Report::new(&query, customer, settings.is_manager(customer), settings, today).map_err(describe)?);
    let width = report.width();
    Ok(report
        .rows()
        .map(|row| {
            row.values[..width]
                .iter()
                .map(|v| {
                    if v.is_default() {
                        String::new()
                    } else {
                        v.text().to_string()
                    }
                })
                .collect()
        })
        .collect())
}

/// An access token for `user` with `scopes`, as Google's consent would issue it.
#[cfg(any(test, feature = "testing"))]
pub fn issue_token(sandbox: &Sandbox, user: &str, scopes: &[&str]) -> String {
    sandbox.mint_access_token(super::tokens::Issuer::Google, user, scopes)
}

#[cfg(test)]
mod tests;
