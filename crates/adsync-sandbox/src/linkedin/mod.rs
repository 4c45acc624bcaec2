//! The LinkedIn Marketing API: `/rest/adAnalytics` (the analytics finder, plain or tunneled)
//! and `/rest/adAccountUsers?q=authenticatedUser`, at the real paths.
//!
//! Requests are checked as strictly as LinkedIn checks them, so a client bug fails a test
//! instead of passing here and failing in production: a missing `LinkedIn-Version` is a 400
//! and an inactive one a 426; without `X-Restli-Protocol-Version: 2.0.0` the Rest.li 2.0
//! syntax is refused; a URN left unencoded inside `List()` (or encoded structure) is a 400,
//! as are unknown metrics and more than 20 fields; a query string past 4 KB or a URL past
//! 8 KB is a 414 (LinkedIn's query tunneling guide), which tunneling — a POST with
//! `X-HTTP-Method-Override: GET` and the query as a form body — avoids. Tokens come from the
//! shared token book and are refused with LinkedIn's 401 bodies (65600 invalid, 65601
//! revoked, 65602 expired); a token without `r_ads_reporting`, or a user denied an account,
//! gets a 403. Answers are cut at `max_elements` (15,000), silently, as LinkedIn cuts them.

pub mod data;
mod restli;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::Datelike;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::faults::{Fault, FaultKind};
use super::params::bearer;
use super::state::{Counters, Sandbox};
use super::tokens::{AccessDenied, Grantee};
pub use crate::settings::linkedin::Settings;
use data::{AnalyticsQuery, Shape};
pub use restli::{MAX_QUERY_BYTES, MAX_URL_BYTES};

/// The scope adAnalytics needs.
const REPORTING_SCOPE: &str = "r_ads_reporting";
/// Scopes that list the member's ad accounts.
const ACCOUNT_SCOPES: [&str; 2] = ["r_ads", "rw_ads"];
/// `adAccountUsers` page size when the request names none.
const DEFAULT_COUNT: usize = 10;

/// The size of each ad account under `settings` (a function here, not a method on the
/// settings, so the settings need not know LinkedIn's types).
pub fn shape(settings: &Settings) -> Shape {
    Shape {
        groups: settings.campaign_groups_per_account,
        campaigns: settings.campaigns_per_group,
        creatives: settings.creatives_per_campaign,
    }
}

/// The routes this module serves.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/rest/adAnalytics", get(ad_analytics).post(ad_analytics))
        .route("/rest/adAccountUsers", get(ad_account_users))
        .route("/rest/adAccounts/{id}", get(ad_account))
}

/// Whether a request to `path` is this module's (injected faults then take its error shape).
pub fn serves(path: &str) -> bool {
    path.starts_with("/rest/")
}

/// The error answer of an injected `fault` in this platform's shape; `None` for faults
/// that do not replace the answer (truncation).
pub fn fault_response(fault: &Fault) -> Option<Response> {
    let error = match fault.kind {
        FaultKind::Http500 => LinkedinError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        FaultKind::Timeout => LinkedinError::new(StatusCode::GATEWAY_TIMEOUT, "Gateway Timeout"),
        FaultKind::RateLimit => {
            let mut error = LinkedinError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.",
            )
            .code("TOO_MANY_REQUESTS");
            error.retry_after_secs = (fault.regain_access_minutes > 0).then_some(fault.regain_access_minutes * 60);
            error
        }
        FaultKind::TruncatedJson => return None,
    };
    Some(error.into_response())
}

/// A LinkedIn error answer: `{"status","serviceErrorCode","code","message"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedinError {
    status: StatusCode,
    service_error_code: Option<i64>,
    code: Option<&'static str>,
    message: String,
    retry_after_secs: Option<u64>,
}

impl LinkedinError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            service_error_code: None,
            code: None,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    fn service(mut self, service_error_code: i64) -> Self {
        self.service_error_code = Some(service_error_code);
        self
    }

    /// A 400 about a parameter.
    fn illegal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message).code("ILLEGAL_ARGUMENT")
    }

    /// The 401 for a refused token (api-facts §5.3; the docs' sample for a missing one).
    fn from_access_denied(denied: &AccessDenied) -> Self {
        let unauthorized = |message: &str| Self::new(StatusCode::UNAUTHORIZED, message);
        match denied {
            AccessDenied::Missing => unauthorized("Empty oauth2_access_token").service(401),
            AccessDenied::Unknown => unauthorized("Invalid access token").service(65600),
            AccessDenied::Revoked { .. } => unauthorized("The token used in the request has been revoked by the user")
                .service(65601)
                .code("REVOKED_ACCESS_TOKEN"),
            AccessDenied::Expired { .. } => unauthorized("The token used in the request has expired")
                .service(65602)
                .code("EXPIRED_ACCESS_TOKEN"),
        }
    }

    /// LinkedIn's 403 for a finder the token may not use.
    fn access_denied(resource: &str, version: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            format!("Not enough permissions to access: {resource}.{version}"),
        )
        .service(100)
        .code("ACCESS_DENIED")
    }
}

impl IntoResponse for LinkedinError {
    fn into_response(self) -> Response {
        let mut body = serde_json::Map::new();
        body.insert("status".into(), json!(self.status.as_u16()));
        if let Some(service) = self.service_error_code {
            body.insert("serviceErrorCode".into(), json!(service));
        }
        if let Some(code) = self.code {
            body.insert("code".into(), json!(code));
        }
        body.insert("message".into(), json!(self.message));
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

type ApiResult = Result<Response, LinkedinError>;

/// `GET /rest/adAnalytics?q=analytics…`, or the same tunneled as a POST.
async fn ad_analytics(
    State(sandbox): State<Sandbox>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = (|| -> ApiResult {
        let query = request_query(&sandbox, &method, &uri, &headers, &body)?;
        let version = check_headers(&sandbox, &headers)?;
        let grantee = authenticate(&sandbox, &headers)?;
        if !grantee.scopes.iter().any(|s| s == REPORTING_SCOPE) {
            return Err(LinkedinError::access_denied("adAnalytics.FINDER-analytics", &version));
        }
        let request = restli::analytics_request(&query)?;
        let (settings, denied) = {
            let world = sandbox.world();
            (
                world.settings.linkedin.clone(),
                world.denied.get(&grantee.user).cloned().unwrap_or_default(),
            )
        };
        let mut elements = Vec::new();
        for account in &request.accounts {
            if !settings.accounts.contains(account) || denied.contains(account) {
                return Err(LinkedinError::access_denied("adAnalytics.FINDER-analytics", &version));
            }
            let query = AnalyticsQuery {
                account: *account,
                ..request.query.clone()
            };
            elements.extend(data::analytics(shape(&settings), &query));
        }
        elements.truncate(settings.max_elements);
        Counters::bump(&sandbox.counters().rows_served, elements.len() as u64);
        let elements: Vec<_> = elements.iter().map(data::Element::to_json).collect();
        Ok(axum::Json(json!({
            "paging": {"start": 0, "count": 10, "links": []},
            "elements": elements,
        }))
        .into_response())
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /rest/adAccountUsers?q=authenticatedUser&start=&count=`: the member's account roles.
async fn ad_account_users(State(sandbox): State<Sandbox>, uri: Uri, headers: HeaderMap) -> Response {
    let result = (|| -> ApiResult {
        let query = request_query(&sandbox, &Method::GET, &uri, &headers, b"")?;
        let version = check_headers(&sandbox, &headers)?;
        let grantee = authenticate(&sandbox, &headers)?;
        if !grantee.scopes.iter().any(|s| ACCOUNT_SCOPES.contains(&s.as_str())) {
            return Err(LinkedinError::access_denied(
                "adAccountUsers.FINDER-authenticatedUser",
                &version,
            ));
        }
        let page = restli::account_users_request(&query, DEFAULT_COUNT)?;
        let accounts: Vec<u64> = {
            let world = sandbox.world();
            let denied = world.denied.get(&grantee.user);
            world
                .settings
                .linkedin
                .accounts
                .iter()
                .copied()
                .filter(|a| denied.is_none_or(|d| !d.contains(a)))
                .collect()
        };
        let person = person_urn(&grantee.user);
        let elements: Vec<_> = accounts
            .iter()
            .skip(page.start)
            .take(page.count)
            .map(|account| {
                json!({
                    "account": format!("urn:li:sponsoredAccount:{account}"),
                    "user": person,
                    "role": "CAMPAIGN_MANAGER",
                })
            })
            .collect();
        Ok(axum::Json(json!({
            "paging": {"start": page.start, "count": page.count, "links": [], "total": accounts.len()},
            "elements": elements,
        }))
        .into_response())
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /rest/adAccounts/{id}`: one ad account's `id`, `name`, `currency`, `type`, `status`,
/// `reference` and `test` (https://learn.microsoft.com/en-us/linkedin/shared/references/v2/ads/adaccounts);
/// an account has no time zone of its own.
async fn ad_account(State(sandbox): State<Sandbox>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let result = (|| -> ApiResult {
        let version = check_headers(&sandbox, &headers)?;
        let grantee = authenticate(&sandbox, &headers)?;
        let readable = id.parse::<u64>().ok().filter(|account| {
            let world = sandbox.world();
            let denied = world.denied.get(&grantee.user);
            world.settings.linkedin.accounts.contains(account) && denied.is_none_or(|d| !d.contains(account))
        });
        let account = match readable {
            Some(account) if grantee.scopes.iter().any(|s| ACCOUNT_SCOPES.contains(&s.as_str())) => account,
            _ => return Err(LinkedinError::access_denied("adAccounts.GET", &version)),
        };
        const CURRENCIES: [&str; 3] = ["USD", "EUR", "GBP"];
        Ok(axum::Json(json!({
            "id": account,
            "name": format!("Sandbox LinkedIn Account {account}"),
            "currency": CURRENCIES[(account % 3) as usize],
            "type": "BUSINESS",
            "status": "ACTIVE",
            "reference": format!("urn:li:organization:{}", 10_000 + account % 1000),
            "test": false,
        }))
        .into_response())
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// The raw query string of a request (from the URL, or the body of a tunneled POST), after
/// LinkedIn's length limits.
fn request_query(
    sandbox: &Sandbox,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, LinkedinError> {
    let url_query = uri.query().unwrap_or_default();
    let raw_url = sandbox.base_url().len() + uri.path().len() + 1 + url_query.len();
    if url_query.len() > MAX_QUERY_BYTES || raw_url > MAX_URL_BYTES {
        return Err(LinkedinError::new(StatusCode::URI_TOO_LONG, "Request-URI Too Long"));
    }
    if method != Method::POST {
        return Ok(url_query.to_string());
    }
    let overridden = headers
        .get("x-http-method-override")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("GET"));
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !overridden || !form {
        return Err(LinkedinError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "POST is only accepted as query tunneling: X-HTTP-Method-Override: GET with an application/x-www-form-urlencoded body",
        ));
    }
    let tunneled = std::str::from_utf8(body).map_err(|_| LinkedinError::illegal("The tunneled query is not UTF-8"))?;
    Ok(match (url_query, tunneled) {
        ("", body) => body.to_string(),
        (query, "") => query.to_string(),
        (query, body) => format!("{query}&{body}"),
    })
}

/// Checks `LinkedIn-Version` and `X-Restli-Protocol-Version`; returns the version.
fn check_headers(sandbox: &Sandbox, headers: &HeaderMap) -> Result<String, LinkedinError> {
    let Some(version) = headers.get("linkedin-version") else {
        // From memory of LinkedIn's answer; the corpus does not hold its exact text.
        return Err(LinkedinError::new(
            StatusCode::BAD_REQUEST,
            "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
        )
        .code("VERSION_MISSING"));
    };
    let version = version.to_str().unwrap_or_default().to_string();
    let today = chrono::DateTime::from_timestamp(sandbox.world().now(), 0)
        .expect("the sandbox clock is in range")
        .date_naive();
    if !version_is_active(&version, today.year(), today.month()) {
        return Err(LinkedinError::new(
            StatusCode::UPGRADE_REQUIRED,
            format!("Requested version {version} is not active"),
        )
        .code("NONEXISTENT_VERSION"));
    }
    let protocol = headers.get("x-restli-protocol-version").and_then(|v| v.to_str().ok());
    if protocol != Some("2.0.0") {
        return Err(LinkedinError::illegal(format!(
            "Rest.li protocol version {} cannot read List() and record parameters; send X-Restli-Protocol-Version: 2.0.0",
            protocol.unwrap_or("1.0.0 (the default)")
        )));
    }
    Ok(version)
}

/// Whether `version` (`YYYYMM`, optionally `.RR`) names a month that has begun by
/// `year`/`month`. Sunset versions are not emulated: a sandbox whose clock a test moves a
/// year ahead should not fail every LinkedIn request.
fn version_is_active(version: &str, year: i32, month: u32) -> bool {
    let monthly = version.split_once('.').map_or(version, |(monthly, _)| monthly);
    if monthly.len() != 6 || !monthly.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let (v_year, v_month) = (monthly[..4].parse::<i32>(), monthly[4..].parse::<u32>());
    match (v_year, v_month) {
        (Ok(v_year), Ok(v_month)) => (1..=12).contains(&v_month) && (v_year, v_month) <= (year, month),
        _ => false,
    }
}

/// The holder of the request's token, or LinkedIn's 401.
fn authenticate(sandbox: &Sandbox, headers: &HeaderMap) -> Result<Grantee, LinkedinError> {
    let world = sandbox.world();
    world
        .tokens
        .check_access(bearer(headers), world.now())
        .map_err(|denied| {
            Counters::bump(&sandbox.counters().token_errors, 1);
            LinkedinError::from_access_denied(&denied)
        })
}

/// A stable `urn:li:person:<id>` for a sandbox user (LinkedIn person ids are short
/// alphanumeric strings).
pub fn person_urn(user: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let digest = Sha256::digest(user.as_bytes());
    let id: String = digest[..10]
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    format!("urn:li:person:{id}")
}

/// Test helpers: tokens minted straight from the shared token book.
#[cfg(any(test, feature = "testing"))]
pub mod testing {
    use super::super::tokens::Issuer;
    use super::Sandbox;

    /// An access token for `user` with `scopes`, as LinkedIn's consent would issue it.
    pub fn issue_token(sandbox: &Sandbox, user: &str, scopes: &[&str]) -> String {
        sandbox.mint_access_token(Issuer::Linkedin, user, scopes)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::issue_token;
    use super::*;
    use crate::{spawn, SandboxHandle, SandboxSettings};

    const GOOD: &str = "q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY\
        &dateRange=(start:(year:2026,month:3,day:1),end:(year:2026,month:3,day:3))\
        &accounts=List(urn%3Ali%3AsponsoredAccount%3A511009658)\
        &fields=dateRange,pivotValues,impressions,costInLocalCurrency";

    async fn sandbox() -> (SandboxHandle, String) {
        let handle = spawn("127.0.0.1:0".parse().unwrap(), SandboxSettings::default())
            .await
            .unwrap();
        let token = issue_token(handle.sandbox(), "ann", &["r_ads_reporting", "r_ads"]);
        (handle, token)
    }

    async fn call(
        handle: &SandboxHandle,
        path_and_query: &str,
        token: &str,
        headers: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        let mut request = reqwest::Client::new()
            .get(format!("{}{path_and_query}", handle.base_url()))
            .bearer_auth(token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or_default())
    }

    const HEADERS: [(&str, &str); 2] = [("LinkedIn-Version", "202610"), ("X-Restli-Protocol-Version", "2.0.0")];

    #[tokio::test]
    async fn a_well_formed_request_gets_the_data_function_rows() {
        let (handle, token) = sandbox().await;
        let (status, body) = call(&handle, &format!("/rest/adAnalytics?{GOOD}"), &token, &HEADERS).await;
        assert_eq!(status, 200, "{body}");
        let expected = data::analytics(
            shape(&Settings::default()),
            &AnalyticsQuery {
                account: 511009658,
                pivot: data::Pivot::Campaign,
                daily: true,
                window: crate::window::DateWindow::new("2026-03-01".parse().unwrap(), "2026-03-03".parse().unwrap()),
                facets: Vec::new(),
                metrics: vec!["impressions".into(), "costInLocalCurrency".into()],
            },
        );
        let expected: Vec<_> = expected.iter().map(data::Element::to_json).collect();
        assert!(!expected.is_empty());
        assert_eq!(body["elements"], json!(expected));
        assert_eq!(body["paging"]["links"], json!([]));
        // Meta's `/{version}/{node}` still answers next to the static `/rest/…` routes.
        let (status, _) = call(&handle, "/v25.0/me", &token, &[]).await;
        assert_ne!(status, 404);
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn requests_linkedin_would_reject_are_rejected_the_same_way() {
        let (handle, token) = sandbox().await;
        let analytics = |query: &str| format!("/rest/adAnalytics?{query}");
        // (request, headers, expected status, words the answer must contain)
        type Case<'a> = (String, Vec<(&'a str, &'a str)>, u16, &'a str);
        let cases: Vec<Case> = vec![
            (analytics(GOOD), vec![HEADERS[1]], 400, "VERSION_MISSING"),
            (
                analytics(GOOD),
                vec![("LinkedIn-Version", "2026-10"), HEADERS[1]],
                426,
                "NONEXISTENT_VERSION",
            ),
            (
                analytics(GOOD),
                vec![("LinkedIn-Version", "209912"), HEADERS[1]],
                426,
                "NONEXISTENT_VERSION",
            ),
            (analytics(GOOD), vec![HEADERS[0]], 400, "X-Restli-Protocol-Version"),
            (
                analytics(&GOOD.replace("urn%3Ali%3AsponsoredAccount%3A", "urn:li:sponsoredAccount:")),
                HEADERS.to_vec(),
                400,
                "must be URL-encoded",
            ),
            (
                analytics(&GOOD.replace("List(", "List%28")),
                HEADERS.to_vec(),
                400,
                "List(",
            ),
            (
                analytics(&GOOD.replace("dateRange=(start:", "dateRange=%28start%3A")),
                HEADERS.to_vec(),
                400,
                "dateRange",
            ),
            (
                analytics(&GOOD.replace("costInLocalCurrency", "spend")),
                HEADERS.to_vec(),
                400,
                "spend",
            ),
            (
                analytics(&format!(
                    "{GOOD},{}",
                    [
                        "clicks",
                        "likes",
                        "shares",
                        "comments",
                        "follows",
                        "videoViews",
                        "oneClickLeads",
                        "opens",
                        "sends",
                        "reactions",
                        "videoStarts",
                        "videoCompletions",
                        "landingPageClicks",
                        "costInUsd",
                        "actionClicks",
                        "adUnitClicks",
                        "textUrlClicks",
                        "viralClicks",
                        "viralImpressions"
                    ]
                    .join(",")
                )),
                HEADERS.to_vec(),
                400,
                "20",
            ),
        ];
        for (path, headers, status, needle) in cases {
            let (got, body) = call(&handle, &path, &token, &headers).await;
            assert_eq!(got, status, "{path}: {body}");
            assert!(body.to_string().contains(needle), "{path}: {body}");
        }
        let long = format!(
            "{GOOD}&campaigns=List({})",
            vec!["urn%3Ali%3AsponsoredCampaign%3A7010111"; 200].join(",")
        );
        let (got, _) = call(&handle, &analytics(&long), &token, &HEADERS).await;
        assert_eq!(got, 414);
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn tunneled_queries_are_read_from_the_body() {
        let (handle, token) = sandbox().await;
        let long = format!(
            "{GOOD}&campaigns=List({})",
            vec!["urn%3Ali%3AsponsoredCampaign%3A70101511009658"; 150].join(",")
        );
        let response = reqwest::Client::new()
            .post(format!("{}/rest/adAnalytics", handle.base_url()))
            .bearer_auth(&token)
            .header("LinkedIn-Version", "202610")
            .header("X-Restli-Protocol-Version", "2.0.0")
            .header("X-HTTP-Method-Override", "GET")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(long)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        let elements = body["elements"].as_array().unwrap();
        assert!(!elements.is_empty());
        assert!(elements
            .iter()
            .all(|e| e["pivotValues"][0] == "urn:li:sponsoredCampaign:70101511009658"));
        // A POST that is not tunneling is refused.
        let plain = reqwest::Client::new()
            .post(format!("{}/rest/adAnalytics?{GOOD}", handle.base_url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(plain.status(), 405);
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn tokens_scopes_and_accounts_are_checked_with_linkedin_bodies() {
        let (handle, token) = sandbox().await;
        let path = format!("/rest/adAnalytics?{GOOD}");
        let (status, body) = call(&handle, &path, "no-such-token", &HEADERS).await;
        assert_eq!(
            (status, body),
            (
                401,
                json!({"status":401,"serviceErrorCode":65600,"message":"Invalid access token"})
            )
        );
        let meta_token = handle
            .sandbox()
            .mint_access_token(crate::tokens::Issuer::Meta, "ann", &["ads_read"]);
        let (status, body) = call(&handle, &path, &meta_token, &HEADERS).await;
        assert_eq!(status, 403);
        assert_eq!(body["code"], "ACCESS_DENIED");
        handle.sandbox().set_account_access("ann", 511009658, true);
        let (status, _) = call(&handle, &path, &token, &HEADERS).await;
        assert_eq!(status, 403);
        let (_, users) = call(&handle, "/rest/adAccountUsers?q=authenticatedUser", &token, &HEADERS).await;
        assert_eq!(
            users["elements"],
            json!([{"account": "urn:li:sponsoredAccount:511009659", "user": person_urn("ann"), "role": "CAMPAIGN_MANAGER"}])
        );
        handle.sandbox().expire_access_tokens("ann");
        let (status, body) = call(&handle, &path, &token, &HEADERS).await;
        assert_eq!(status, 401);
        assert_eq!(body["serviceErrorCode"], 65602);
        let fresh = issue_token(handle.sandbox(), "ann", &["r_ads_reporting"]);
        handle.sandbox().revoke("ann", crate::RevokeReason::AppRemoved);
        let (status, body) = call(&handle, &path, &fresh, &HEADERS).await;
        assert_eq!(status, 401);
        assert_eq!(
            body,
            json!({"status":401,"serviceErrorCode":65601,"code":"REVOKED_ACCESS_TOKEN","message":"The token used in the request has been revoked by the user"})
        );
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn injected_faults_take_linkedin_shapes() {
        let (handle, token) = sandbox().await;
        let fault: Fault =
            serde_json::from_value(json!({"kind": "rate_limit", "regain_access_minutes": 2, "path_prefix": "/rest/"}))
                .unwrap();
        handle.sandbox().push_fault(fault);
        let response = reqwest::Client::new()
            .get(format!("{}/rest/adAnalytics?{GOOD}", handle.base_url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "120");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "TOO_MANY_REQUESTS");
        handle.shutdown().await;
    }

    #[test]
    fn versions_are_months_that_have_begun() {
        assert!(version_is_active("202610", 2026, 11));
        assert!(version_is_active("202611.01", 2026, 11));
        assert!(!version_is_active("202612", 2026, 11));
        assert!(!version_is_active("202613", 2027, 11));
        assert!(!version_is_active("20261", 2026, 11));
    }
}
