//! The Meta Marketing API's Insights shapes: sync reads with cursor paging, async report
//! runs, `/me`, `/me/adaccounts`, `/act_{id}` and `debug_token`, with Graph's error payloads.
//! What a report holds is [`data`]'s pure function: its core metrics there, the action lists
//! in [`actions`], every other documented field in [`more_fields`].

pub mod actions;
pub mod data;
mod level;
pub mod more_fields;

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{Datelike, Days, Months, NaiveDate};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::error::GraphError;
use super::params::{bearer, Params};
use super::settings::SandboxSettings;
use super::state::{Counters, Sandbox};
use super::tokens::Grantee;
use crate::window::DateWindow;
use actions::{ReportTime, DOCUMENTED_WINDOWS};
use data::{Breakdown, DataError, Field, Filter, InsightsQuery, Level, Report, Row, RowValue};

/// Graph's page size when a request has no `limit`.
const DEFAULT_LIMIT: usize = 25;
/// Scopes that allow reading insights.
const READ_SCOPES: [&str; 2] = ["ads_read", "ads_management"];

type ApiResult = Result<Response, GraphError>;

/// `GET /{version}/{node}`: `me`, an ad account, or an async report run's status.
pub async fn node(
    State(sandbox): State<Sandbox>,
    Path((version, node)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = Params::parse(query.as_deref(), b"");
    let result = (|| -> ApiResult {
        check_version(&version)?;
        if node == "debug_token" {
            return debug_token(&sandbox, &headers, &params);
        }
        let grantee = authenticate(&sandbox, &headers, &params)?;
        match node.as_str() {
            "me" => Ok(axum::Json(json!({"id": user_id(&grantee.user), "name": grantee.user})).into_response()),
            account if account.starts_with("act_") => {
                let number = readable_account(&sandbox, &grantee, account)?;
                Ok(axum::Json(account_json(&sandbox, number)).into_response())
            }
            run_id => run_status(&sandbox, run_id),
        }
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /{version}/me/adaccounts`: the accounts the user can read.
pub async fn ad_accounts(
    State(sandbox): State<Sandbox>,
    Path(version): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = Params::parse(query.as_deref(), b"");
    let result = (|| -> ApiResult {
        check_version(&version)?;
        let grantee = authenticate(&sandbox, &headers, &params)?;
        let (accounts, denied) = {
            let world = sandbox.world();
            (
                world.settings.accounts.clone(),
                world.denied.get(&grantee.user).cloned().unwrap_or_default(),
            )
        };
        let data: Vec<_> = accounts
            .into_iter()
            .filter(|a| !denied.contains(a))
            .map(|a| account_json(&sandbox, a))
            .collect();
        Ok(axum::Json(json!({ "data": data })).into_response())
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET|POST /{version}/{node}/insights`: a sync page (GET on an account), an async run
/// start (POST on an account) or a page of a finished run (GET on a run id).
pub async fn insights(
    State(sandbox): State<Sandbox>,
    Path((version, node)): Path<(String, String)>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(query.as_deref(), &body);
    let path = format!("/{version}/{node}/insights");
    sandbox
        .world()
        .stores
        .get_mut::<InsightsLog>()
        .record(&method, &path, &params);
    let result = (|| -> ApiResult {
        check_version(&version)?;
        let grantee = authenticate(&sandbox, &headers, &params)?;
        if let Some(account) = node.strip_prefix("act_") {
            let number = readable_account(&sandbox, &grantee, &format!("act_{account}"))?;
            let query = insights_query(&sandbox, number, &params)?;
            let sync_max_days = sandbox.with_settings(|s| s.meta_sync_max_days);
            if method == Method::GET && sync_max_days.is_some_and(|max| query.window.days() > i64::from(max)) {
                return Err(GraphError::new(
                    1,
                    None,
                    "Please reduce the amount of data you're asking for, then retry your request",
                )
                .with_status(axum::http::StatusCode::INTERNAL_SERVER_ERROR));
            }
            let report = Report::new(query, sandbox.with_settings(shape)).map_err(data_error)?;
            if method == Method::POST {
                let id = sandbox.world().stores.get_mut::<Runs>().start(report);
                Counters::bump(&sandbox.counters().report_runs_started, 1);
                return Ok(axum::Json(json!({ "report_run_id": id })).into_response());
            }
            return page(&sandbox, &report, &path, &params);
        }
        let report = {
            let world = sandbox.world();
            let run = (world.stores.get::<Runs>())
                .and_then(|runs| runs.runs.get(&node))
                .ok_or_else(|| GraphError::unknown_object(&node))?;
            if run.polls < world.settings.async_polls_to_complete {
                return Err(GraphError::invalid_parameter(format!(
                    "(#100) Report run {node} has not completed yet; poll its async_status first."
                )));
            }
            run.report.clone()
        };
        readable_account(&sandbox, &grantee, &format!("act_{}", report.query().account))?;
        page(&sandbox, &report, &path, &params)
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// One page of `report` as Graph serializes it, with `paging.next` while rows remain.
fn page(sandbox: &Sandbox, report: &Report, path: &str, params: &Params) -> ApiResult {
    let max = sandbox.with_settings(|s| s.max_page_size) as usize;
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|l| *l > 0)
            .ok_or_else(|| {
                GraphError::invalid_parameter(format!("(#100) Param limit must be a positive integer, got {text:?}"))
            })?
            .min(max),
    };
    let offset = match params.get("after") {
        None => 0,
        Some(cursor) => {
            decode_cursor(cursor).ok_or_else(|| GraphError::invalid_parameter("(#100) The after cursor is invalid."))?
        }
    };
    let end = offset.saturating_add(limit).min(report.len());
    let mut body = String::with_capacity((end.saturating_sub(offset)) * 256 + 256);
    body.push_str(r#"{"data":["#);
    for index in offset..end {
        if index > offset {
            body.push(',');
        }
        write_row(&mut body, &report.row(index));
    }
    body.push(']');
    if end > offset {
        let _ = write!(
            body,
            r#","paging":{{"cursors":{{"before":"{}","after":"{}"}}"#,
            encode_cursor(offset),
            encode_cursor(end)
        );
        if end < report.len() {
            let mut next = url::Url::parse(&format!("{}{path}", sandbox.base_url())).expect("the base URL is a URL");
            next.query_pairs_mut()
                .extend_pairs(params.without(&["after", "before", "access_token"]))
                .append_pair("after", &encode_cursor(end));
            let _ = write!(body, r#","next":{}"#, json!(next.as_str()));
        }
        body.push('}');
    }
    body.push('}');
    Counters::bump(&sandbox.counters().rows_served, (end.saturating_sub(offset)) as u64);
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response())
}

fn write_row(out: &mut String, row: &Row) {
    out.push('{');
    for (i, (key, value)) in row.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "\"{key}\":");
        match value {
            RowValue::Text(text) => {
                let _ = write!(out, "{}", json!(text));
            }
            RowValue::Actions(entries) => actions::write_json(out, entries),
        }
    }
    out.push('}');
}

fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(offset.to_string())
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?)
        .ok()?
        .parse()
        .ok()
}

/// An async run's status; each poll brings it closer to completion.
fn run_status(sandbox: &Sandbox, id: &str) -> ApiResult {
    let mut world = sandbox.world();
    let needed = world.settings.async_polls_to_complete.max(1);
    let run = (world.stores.get_mut::<Runs>().runs.get_mut(id)).ok_or_else(|| GraphError::unknown_object(id))?;
    run.polls += 1;
    let done = run.polls >= needed;
    let percent = if done { 100 } else { run.polls * 100 / needed };
    Ok(axum::Json(json!({
        "id": id,
        "account_id": run.report.query().account.to_string(),
        "async_status": if done { "Job Completed" } else { "Job Running" },
        "async_percent_completion": percent,
        "date_start": run.report.query().window.start.to_string(),
        "date_stop": run.report.query().window.end.to_string(),
        "is_running": !done,
    }))
    .into_response())
}

/// `debug_token`: what a token is, for whom, until when. The caller authenticates with an
/// app token (`{app-id}|{app-secret}`) or a user token.
fn debug_token(sandbox: &Sandbox, headers: &HeaderMap, params: &Params) -> ApiResult {
    let caller = match bearer(headers).or_else(|| params.non_empty("access_token")) {
        Some(app_token) if app_token.contains('|') => {
            let (app, secret) = app_token.split_once('|').unwrap_or_default();
            if !sandbox.with_settings(|s| s.clients.get(app).is_some_and(|known| known == secret)) {
                return Err(GraphError::new(190, None, "Invalid OAuth access token signature."));
            }
            app.to_string()
        }
        _ => authenticate(sandbox, headers, params)?.client_id,
    };
    let input = params
        .non_empty("input_token")
        .ok_or_else(|| GraphError::invalid_parameter("(#100) The parameter input_token is required"))?;
    let world = sandbox.world();
    let data = match world.tokens.check_access(Some(input), world.now()) {
        Ok(token) => json!({
            "app_id": token.client_id,
            "type": "USER",
            "application": token.client_id,
            "expires_at": token.expires_at,
            // Data access lasts 90 days from the consent, separately from the token.
            "data_access_expires_at": world.now() + 90 * 86_400,
            "is_valid": true,
            "scopes": token.scopes,
            "user_id": user_id(&token.user),
        }),
        Err(denied) => {
            let error = GraphError::from_access_denied(&denied, world.now());
            json!({
                "app_id": caller,
                "is_valid": false,
                "error": {"code": error.code, "subcode": error.subcode, "message": error.message},
            })
        }
    };
    Ok(axum::Json(json!({ "data": data })).into_response())
}

/// Checks the token of a request; Graph answers refusals with code 190 (or 104 if absent).
fn authenticate(sandbox: &Sandbox, headers: &HeaderMap, params: &Params) -> Result<Grantee, GraphError> {
    let token = bearer(headers).or_else(|| params.non_empty("access_token"));
    let world = sandbox.world();
    let now = world.now();
    world.tokens.check_access(token, now).map_err(|denied| {
        Counters::bump(&sandbox.counters().token_errors, 1);
        GraphError::from_access_denied(&denied, now)
    })
}

/// The number of ad account `act_<n>`, if it exists and `grantee` may read its insights.
fn readable_account(sandbox: &Sandbox, grantee: &Grantee, id: &str) -> Result<u64, GraphError> {
    let number: u64 = id
        .strip_prefix("act_")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| GraphError::unknown_object(id))?;
    let world = sandbox.world();
    if !world.settings.accounts.contains(&number) {
        return Err(GraphError::unknown_object(id));
    }
    if !grantee.scopes.iter().any(|s| READ_SCOPES.contains(&s.as_str())) {
        return Err(GraphError::new(
            200,
            None,
            "(#200) Ad account owner has NOT grant ads_management or ads_read permission",
        ));
    }
    if world.denied.get(&grantee.user).is_some_and(|d| d.contains(&number)) {
        return Err(GraphError::new(
            200,
            None,
            format!("(#200) User {} does not have access to ad account {id}", grantee.user),
        ));
    }
    Ok(number)
}

/// An ad account's `timezone_name`: where its currency is spent.
fn time_zone_of(currency: &str) -> &'static str {
    match currency {
        "GBP" => "Europe/London",
        "USD" => "America/New_York",
        _ => "Europe/Berlin",
    }
}

fn account_json(sandbox: &Sandbox, number: u64) -> serde_json::Value {
    let day = NaiveDate::from_ymd_opt(2026, 1, 1).expect("a valid date");
    let query = InsightsQuery {
        account: number,
        level: Level::Account,
        fields: vec![Field::AccountName, Field::AccountCurrency],
        window: DateWindow::new(day, day),
        daily: false,
        breakdowns: Vec::new(),
        filters: Vec::new(),
        attribution_windows: Vec::new(),
        report_time: ReportTime::default(),
    };
    let row = Report::new(query, sandbox.with_settings(shape))
        .ok()
        .and_then(|r| r.rows().next())
        .unwrap_or_default();
    let attribute = |name: &str| {
        row.iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.as_text())
            .unwrap_or_default()
            .to_string()
    };
    let currency = attribute("account_currency");
    json!({
        "id": format!("act_{number}"),
        "account_id": number.to_string(),
        "name": attribute("account_name"),
        // AdAccount `timezone_name` (facebook-python-business-sdk `adobjects/adaccount.py`).
        "timezone_name": time_zone_of(&currency),
        "currency": currency,
    })
}

/// The Graph parameters of an insights request as a data query.
fn insights_query(sandbox: &Sandbox, account: u64, params: &Params) -> Result<InsightsQuery, GraphError> {
    let level = match params.non_empty("level") {
        None => Level::Account,
        Some(name) => {
            Level::parse(name).ok_or_else(|| data_error(DataError::UnknownLevel { name: name.to_string() }))?
        }
    };
    let fields = params
        .non_empty("fields")
        .unwrap_or("impressions,spend")
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|name| Field::parse(name).ok_or_else(|| data_error(DataError::UnknownField { name: name.to_string() })))
        .collect::<Result<Vec<_>, _>>()?;
    let breakdowns = params
        .non_empty("breakdowns")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .enumerate()
        .map(|(index, name)| {
            Breakdown::parse(name).ok_or_else(|| {
                data_error(DataError::UnknownBreakdown {
                    index,
                    name: name.to_string(),
                })
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let daily = match params.get("time_increment").unwrap_or("all_days") {
        "1" => true,
        "all_days" => false,
        other => {
            return Err(GraphError::invalid_parameter(format!(
                "(#100) time_increment {other:?} is not supported by the sandbox; use 1 or all_days"
            )))
        }
    };
    let filters = match params.non_empty("filtering") {
        None => Vec::new(),
        Some(text) => serde_json::from_str::<Vec<Filter>>(text).map_err(|e| {
            GraphError::invalid_parameter(format!(
                "(#100) param filtering must be a JSON array of {{field, operator, value}}: {e}"
            ))
        })?,
    };
    let attribution_windows = list_param(params, "action_attribution_windows")?;
    if let Some(unknown) = attribution_windows
        .iter()
        .find(|w| !DOCUMENTED_WINDOWS.contains(&w.as_str()))
    {
        return Err(GraphError::invalid_parameter(format!(
            "(#100) action_attribution_windows[{unknown}] must be one of the following values: {}",
            DOCUMENTED_WINDOWS.join(", ")
        )));
    }
    let report_time = match params.non_empty("action_report_time") {
        None => ReportTime::default(),
        Some(name) => ReportTime::parse(name).ok_or_else(|| {
            GraphError::invalid_parameter(format!(
                "(#100) action_report_time must be one of the following values: impression, conversion, mixed, lifetime; got {name:?}"
            ))
        })?,
    };
    let today = chrono::DateTime::from_timestamp(sandbox.world().now(), 0)
        .expect("the sandbox clock is in range")
        .date_naive();
    Ok(InsightsQuery {
        account,
        level,
        fields,
        window: window(params, today)?,
        daily,
        breakdowns,
        filters,
        attribution_windows,
        report_time,
    })
}

/// A list parameter, sent as a JSON array (as the SDKs do) or a comma list.
fn list_param(params: &Params, name: &str) -> Result<Vec<String>, GraphError> {
    let Some(text) = params.non_empty(name) else {
        return Ok(Vec::new());
    };
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(text)
            .map_err(|e| GraphError::invalid_parameter(format!("(#100) param {name} must be a list of strings: {e}")));
    }
    Ok(text
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect())
}

/// The dates of a request: `time_range` (JSON or `time_range[since]`), or `date_preset`.
fn window(params: &Params, today: NaiveDate) -> Result<DateWindow, GraphError> {
    let invalid = |what: String| GraphError::invalid_parameter(format!("(#100) {what}"));
    let date = |name: &str, text: &str| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| invalid(format!("time_range {name} {text:?} is not a YYYY-MM-DD date")))
    };
    if let Some(range) = params.non_empty("time_range") {
        #[derive(serde::Deserialize)]
        struct Range {
            since: String,
            until: String,
        }
        let range: Range = serde_json::from_str(range)
            .map_err(|e| invalid(format!("param time_range must be {{\"since\",\"until\"}}: {e}")))?;
        return Ok(DateWindow::new(
            date("since", &range.since)?,
            date("until", &range.until)?,
        ));
    }
    if let (Some(since), Some(until)) = (params.get("time_range[since]"), params.get("time_range[until]")) {
        return Ok(DateWindow::new(date("since", since)?, date("until", until)?));
    }
    let yesterday = today - Days::new(1);
    let last = |days: u64| DateWindow::new(today - Days::new(days), yesterday);
    let first_of_month = today.with_day(1).expect("day 1 exists");
    Ok(match params.get("date_preset").unwrap_or("last_30d") {
        "today" => DateWindow::new(today, today),
        "yesterday" => DateWindow::new(yesterday, yesterday),
        "last_7d" => last(7),
        "last_14d" => last(14),
        "last_28d" => last(28),
        "last_30d" => last(30),
        "last_90d" => last(90),
        "this_month" => DateWindow::new(first_of_month, today),
        "last_month" => DateWindow::new(first_of_month - Months::new(1), first_of_month - Days::new(1)),
        other => {
            return Err(invalid(format!(
                "date_preset {other:?} is not supported by the sandbox"
            )))
        }
    })
}

fn check_version(version: &str) -> Result<(), GraphError> {
    let valid = version
        .strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(major, minor)| {
            !major.is_empty() && !minor.is_empty() && major.bytes().chain(minor.bytes()).all(|b| b.is_ascii_digit())
        });
    if valid {
        Ok(())
    } else {
        Err(GraphError::new(
            2500,
            None,
            format!("Unknown path components: /{version}"),
        ))
    }
}

fn data_error(error: DataError) -> GraphError {
    let (code, subcode) = error.graph_code();
    GraphError::new(code, subcode, error.to_string())
}

/// A stable numeric Graph user id for a sandbox user name.
fn user_id(user: &str) -> String {
    let digest = Sha256::digest(user.as_bytes());
    let mut number = [0u8; 8];
    number.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(number) % 9_000_000_000_000_000 + 1_000_000_000_000_000).to_string()
}

/// Every insights request (sync reads, run starts, run pages) as it arrived, so tests can
/// tell how a client cut a report: `GET /_sandbox/meta/insights-requests`.
#[derive(Default)]
pub(crate) struct InsightsLog {
    requests: Vec<serde_json::Value>,
}

impl InsightsLog {
    /// Enough for any test; a long-running sandbox keeps the newest.
    const KEPT: usize = 10_000;

    fn record(&mut self, method: &Method, path: &str, params: &Params) {
        if self.requests.len() == Self::KEPT {
            self.requests.remove(0);
        }
        let mut pairs: Vec<(&str, &str)> = params.without(&["access_token"]).collect();
        pairs.sort_unstable();
        let params: serde_json::Map<String, serde_json::Value> =
            pairs.into_iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        self.requests
            .push(json!({"method": method.as_str(), "path": path, "params": params}));
    }
}

/// `GET /_sandbox/meta/insights-requests`: `{"requests":[{"method","path","params"},…]}`, oldest
/// first, tokens left out.
pub async fn insights_requests(State(sandbox): State<Sandbox>) -> Response {
    let requests = sandbox.world().stores.get_mut::<InsightsLog>().requests.clone();
    axum::Json(json!({ "requests": requests })).into_response()
}

/// Meta's part of the world: the async report runs, by id.
#[derive(Default)]
pub(crate) struct Runs {
    runs: HashMap<String, ReportRun>,
    next_run: u64,
}

/// An async report run: its report is built once, when the run starts, and every page of
/// the results is cut from it.
#[derive(Clone)]
struct ReportRun {
    report: Arc<Report>,
    polls: u32,
}

impl Runs {
    /// Registers a report run; returns its id.
    fn start(&mut self, report: Report) -> String {
        self.next_run += 1;
        // Graph ids are long decimal numbers.
        let id = format!("60239{:08}", self.next_run);
        self.runs.insert(
            id.clone(),
            ReportRun {
                report: Arc::new(report),
                polls: 0,
            },
        );
        id
    }
}

/// The size of each ad account under `settings`: Meta's reading of the global settings (which
/// predate the other platforms). A function here rather than a method on the settings, so the
/// settings need not know Meta's types.
pub fn shape(settings: &SandboxSettings) -> data::Shape {
    data::Shape::new(
        settings.campaigns_per_account,
        settings.adsets_per_campaign,
        settings.ads_per_adset,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        assert_eq!(decode_cursor(&encode_cursor(1500)), Some(1500));
        assert_eq!(decode_cursor("!!"), None);
    }

    #[test]
    fn presets_follow_the_sandbox_clock() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 15).unwrap();
        let preset = |p: &str| {
            window(&Params::parse(Some(&format!("date_preset={p}")), b""), today)
                .unwrap()
                .to_string()
        };
        assert_eq!(preset("yesterday"), "2026-03-14");
        assert_eq!(preset("last_7d"), "2026-03-08..2026-03-14");
        assert_eq!(preset("last_month"), "2026-02-01..2026-02-28");
        let range = Params::parse(Some(r#"time_range={"since":"2026-01-01","until":"2026-01-31"}"#), b"");
        assert_eq!(window(&range, today).unwrap().to_string(), "2026-01-01..2026-01-31");
    }

    #[test]
    fn versions_look_like_graph_versions() {
        assert!(check_version("v25.0").is_ok());
        assert!(check_version("25.0").is_err());
        assert!(check_version("v25").is_err());
    }

    #[test]
    fn user_ids_are_stable_and_numeric() {
        assert_eq!(user_id("ann"), user_id("ann"));
        assert_ne!(user_id("ann"), user_id("bob"));
        assert!(user_id("ann").bytes().all(|b| b.is_ascii_digit()));
    }
}
