//! The Google Sheets API v4 (`spreadsheets.get`, `spreadsheets.batchUpdate`, and the
//! `spreadsheets.values` methods) at the real paths, with Google's `google.rpc.Status`
//! errors, plus the service accounts whose JWT-bearer grant `/token` answers
//! ([`service_account`]).
//!
//! A request is checked in this order: payload size, the token (shared token book, so
//! revocations and expiries work as for every platform; 401), its scope (403
//! `ACCESS_TOKEN_SCOPE_INSUFFICIENT`), the per-minute quota (429), the spreadsheet (404),
//! whether it is shared with the caller (403 "The caller does not have permission"; a
//! viewer's write gets the same).
//! A write is then applied to a copy that replaces the spreadsheet only when the whole
//! request succeeded, so no failure leaves a half-written sheet (api-facts §4).
//!
//! Quotas count requests per window of one sandbox-clock minute (`now / 60`; moving the
//! clock a minute on refills them), reads and writes apart, per user (and project) and per
//! project (the token's client id).
//!
//! Control API (a contract, see [`control_routes`]):
//! - `PUT /_sandbox/sheets/{id}` `{"title", "editors": [...], "readers": [...], "sheets":
//!   {"Tab": [["a","b"]]}}` creates or resets a spreadsheet (readers may read, not write); tab contents are read as `USER_ENTERED` input, tabs
//!   keep the document's order; without `sheets` there is one empty `Sheet1` (1000 × 26).
//! - `GET /_sandbox/sheets/{id}`: the whole spreadsheet, every tab with its properties, its
//!   grid as `rows` of formatted strings and as `values` of typed `ExtendedValue`s.
//! - `GET /_sandbox/sheets/{id}/writes`: `{"applied_writes": n}`.
//! - `POST /_sandbox/sheets/fail-writes` `{"at": N, "count": 1, "spreadsheet_id"?}`: the
//!   Nth next write request (of that spreadsheet) and the `count - 1` after it fail with
//!   500 `INTERNAL`, changing nothing; `DELETE` drops the plan.
//! - `GET /_sandbox/service-accounts/{email}/key`: the account's Google-format key file.

pub mod a1;
mod batch;
mod error;
pub mod grid;
pub mod number_format;
pub mod service_account;
mod values;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::faults::{Fault, FaultKind};
use super::params::{bearer, Params};
use super::state::{Counters, Sandbox};
use super::tokens::{Grantee, Issuer};
pub use crate::settings::sheets::Settings;
pub use error::SheetsError;
use grid::{InputOption, RenderOption, Sheet, Spreadsheet, Write};
use values::{InsertData, ValueRange};

/// Where the API's paths start.
const PREFIX: &str = "/v4/spreadsheets/";
/// Scopes that may write (and read).
const WRITE_SCOPES: [&str; 3] = [
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.file",
];
/// Scopes that may only read.
const READ_ONLY_SCOPES: [&str; 2] = [
    "https://www.googleapis.com/auth/spreadsheets.readonly",
    "https://www.googleapis.com/auth/drive.readonly",
];
/// Sandbox users without an `@` in their name are shared with as this domain's address.
const EMAIL_DOMAIN: &str = "example.com";

/// The spreadsheets, their quotas and the planned write failures; lives in the world.
#[derive(Debug, Default)]
pub struct Store {
    spreadsheets: HashMap<String, Spreadsheet>,
    quota: Quota,
    fail_writes: Option<FailWrites>,
}

/// Requests counted in the current sandbox-clock minute.
#[derive(Debug, Default)]
struct Quota {
    minute: i64,
    /// `(write?, "user:<project>/<user>" | "project:<project>")` → requests.
    used: HashMap<(bool, String), u32>,
}

impl Quota {
    fn take(&mut self, write: bool, grantee: &Grantee, settings: &Settings, now: i64) -> Result<(), SheetsError> {
        let minute = now.div_euclid(60);
        if minute != self.minute {
            self.minute = minute;
            self.used.clear();
        }
        let (user_limit, project_limit) = if write {
            (
                settings.write_requests_per_minute_per_user,
                settings.write_requests_per_minute_per_project,
            )
        } else {
            (
                settings.read_requests_per_minute_per_user,
                settings.read_requests_per_minute_per_project,
            )
        };
        let user_key = (write, format!("user:{}/{}", grantee.client_id, grantee.user));
        let project_key = (write, format!("project:{}", grantee.client_id));
        if self.used.get(&user_key).copied().unwrap_or(0) >= user_limit {
            return Err(SheetsError::rate_limited(write, true));
        }
        if self.used.get(&project_key).copied().unwrap_or(0) >= project_limit {
            return Err(SheetsError::rate_limited(write, false));
        }
        *self.used.entry(user_key).or_default() += 1;
        *self.used.entry(project_key).or_default() += 1;
        Ok(())
    }
}

/// `POST /_sandbox/sheets/fail-writes`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailWrites {
    /// 1 is the next write request.
    at: u32,
    #[serde(default = "one")]
    count: u32,
    #[serde(default)]
    spreadsheet_id: Option<String>,
}

fn one() -> u32 {
    1
}

impl Store {
    /// Whether the next write request to `id` is to fail (and counts it against the plan).
    fn planned_failure(&mut self, id: &str) -> bool {
        let Some(plan) = self.fail_writes.as_mut() else {
            return false;
        };
        if plan.spreadsheet_id.as_deref().is_some_and(|only| only != id) {
            return false;
        }
        if plan.at > 1 {
            plan.at -= 1;
            return false;
        }
        plan.count -= 1;
        if plan.count == 0 {
            self.fail_writes = None;
        }
        true
    }
}

/// The API routes. `/v4/…` is a static segment, so it wins over Meta's `/{version}/{node}`;
/// method suffixes (`{id}:batchUpdate`, `{range}:append`) are parsed by the handlers, as a
/// route parameter must be a whole segment. Request bodies are capped by
/// [`Settings::max_request_bytes`], not by axum's default 2 MB.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v4/spreadsheets/{call}", get(get_spreadsheet).post(spreadsheet_call))
        .route(
            "/v4/spreadsheets/{id}/{call}",
            get(batch_get_values).post(values_batch_call),
        )
        .route(
            "/v4/spreadsheets/{id}/values/{range}",
            get(get_values).put(update_values).post(range_call),
        )
        .layer(DefaultBodyLimit::disable())
}

/// The control routes (`/_sandbox/sheets/…`, `/_sandbox/service-accounts/…`).
pub fn control_routes() -> Router<Sandbox> {
    Router::new()
        .route(
            "/_sandbox/sheets/fail-writes",
            post(plan_write_failures).delete(drop_write_failures),
        )
        .route("/_sandbox/sheets/{id}", put(create_spreadsheet).get(dump_spreadsheet))
        .route("/_sandbox/sheets/{id}/writes", get(applied_writes))
        .route("/_sandbox/service-accounts/{email}/key", get(service_account_key))
}

/// Whether a request to `path` is this module's (injected faults then take its error shape).
pub fn serves(path: &str) -> bool {
    path.starts_with(PREFIX)
}

/// The error answer of an injected `fault` in Sheets' shape; `None` for a truncation.
pub fn fault_response(fault: &Fault) -> Option<Response> {
    let error = match fault.kind {
        FaultKind::Http500 => SheetsError::internal(),
        FaultKind::Timeout => SheetsError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            "The service is currently unavailable.",
        ),
        FaultKind::RateLimit => SheetsError::rate_limited(true, true),
        FaultKind::TruncatedJson => return None,
    };
    Some(error.into_response())
}

/// Reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

/// Runs `operation` on spreadsheet `id` for the bearer of `headers`, after every check; a
/// write works on a copy swapped in only on success.
fn serve(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    id: &str,
    access: Access,
    body_len: usize,
    operation: impl FnOnce(&mut Spreadsheet) -> Result<Value, SheetsError>,
) -> Response {
    match checked(sandbox, headers, id, access, body_len, operation) {
        Ok(answer) => Json(answer).into_response(),
        Err(error) => error.into_response(),
    }
}

/// [`serve`]'s checks in the module's order, then the operation; an error names the first
/// check that failed.
fn checked(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    id: &str,
    access: Access,
    body_len: usize,
    operation: impl FnOnce(&mut Spreadsheet) -> Result<Value, SheetsError>,
) -> Result<Value, SheetsError> {
    let mut guard = sandbox.world();
    let world = &mut *guard;
    let now = world.now();
    let settings = &world.settings.sheets;
    if body_len > settings.max_request_bytes {
        return Err(SheetsError::invalid_argument(format!(
            "Request payload size exceeds the limit: {} bytes.",
            settings.max_request_bytes
        )));
    }
    let grantee = world
        .tokens
        .check_access(bearer(headers), now)
        .and_then(|g| {
            if g.issuer == Issuer::Google {
                Ok(g)
            } else {
                Err(super::tokens::AccessDenied::Unknown)
            }
        })
        .map_err(|denied| {
            Counters::bump(&sandbox.counters().token_errors, 1);
            SheetsError::sheets_unauthenticated(&denied)
        })?;
    let may = |scopes: &[&str]| grantee.scopes.iter().any(|s| scopes.contains(&s.as_str()));
    let scoped = may(&WRITE_SCOPES) || (access == Access::Read && may(&READ_ONLY_SCOPES));
    if !scoped {
        let method = match access {
            Access::Read => "google.apps.sheets.v4.SpreadsheetsService.GetSpreadsheet",
            Access::Write => "google.apps.sheets.v4.SpreadsheetsService.BatchUpdateSpreadsheet",
        };
        return Err(SheetsError::sheets_scope_insufficient(method));
    }
    let store = world.stores.get_mut::<Store>();
    store.quota.take(access == Access::Write, &grantee, settings, now)?;
    let book = store.spreadsheets.get_mut(id).ok_or_else(SheetsError::not_found)?;
    let address = if grantee.user.contains('@') {
        grantee.user.clone()
    } else {
        format!("{}@{EMAIL_DOMAIN}", grantee.user)
    };
    let among = |people: &[String]| people.iter().any(|e| *e == grantee.user || *e == address);
    // A viewer gets the same 403 for a write as a stranger for anything (Google's answer
    // does not say which permission is missing).
    let may = among(&book.editors) || (access == Access::Read && among(&book.readers));
    if !may {
        return Err(SheetsError::no_permission());
    }
    if access == Access::Read {
        // Reads only look; no copy needed.
        return operation(book);
    }
    let mut copy = book.clone();
    if store.planned_failure(id) {
        return Err(SheetsError::internal());
    }
    let answer = operation(&mut copy)?;
    copy.applied_writes += 1;
    store.spreadsheets.insert(id.to_string(), copy);
    Ok(answer)
}

/// The JSON body (`{}` when empty), or Google's parse error.
fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, SheetsError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|e| SheetsError::invalid_argument(format!("Invalid JSON payload received. {e}")))
}

fn invalid(message: String) -> SheetsError {
    SheetsError::invalid_argument(message)
}

/// `valueInputOption`, required by every values write.
fn input_option(params: &Params) -> Result<InputOption, SheetsError> {
    let text = params
        .get("valueInputOption")
        .ok_or_else(|| invalid("'valueInputOption' is required but not specified".into()))?;
    InputOption::parse(text).ok_or_else(|| {
        invalid(format!(
            "Invalid value at 'value_input_option' (type.googleapis.com/google.apps.sheets.v4.ValueInputOption), \"{text}\""
        ))
    })
}

fn render_option(params: &Params, name: &str) -> Result<RenderOption, SheetsError> {
    match params.get(name) {
        None => Ok(RenderOption::Formatted),
        Some(text) => RenderOption::parse(text).ok_or_else(|| {
            invalid(format!(
                "Invalid value at '{name}' (type.googleapis.com/google.apps.sheets.v4.ValueRenderOption), \"{text}\""
            ))
        }),
    }
}

/// `GET /v4/spreadsheets/{id}`: spreadsheets.get without grid data.
async fn get_spreadsheet(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = Params::parse(query.as_deref(), b"");
    serve(&sandbox, &headers, &id, Access::Read, 0, |book| {
        if params.get("includeGridData") == Some("true") {
            return Err(invalid(
                "includeGridData is not emulated by the sandbox; use values.get".into(),
            ));
        }
        Ok(book.resource())
    })
}

/// `POST /v4/spreadsheets/{id}:batchUpdate`.
async fn spreadsheet_call(
    State(sandbox): State<Sandbox>,
    Path(call): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(id) = call.strip_suffix(":batchUpdate") else {
        return SheetsError::new(StatusCode::NOT_FOUND, "NOT_FOUND", format!("Method not found: {call}"))
            .into_response();
    };
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Request {
        #[serde(default)]
        requests: Vec<Value>,
        #[serde(default)]
        include_spreadsheet_in_response: bool,
    }
    serve(&sandbox, &headers, id, Access::Write, body.len(), |book| {
        let request: Request = parse_body(&body)?;
        let replies = batch::apply(book, &request.requests).map_err(invalid)?;
        let mut answer = json!({ "spreadsheetId": book.id, "replies": replies });
        if request.include_spreadsheet_in_response {
            answer["updatedSpreadsheet"] = book.resource();
        }
        Ok(answer)
    })
}

/// `POST /v4/spreadsheets/{id}/values:batchUpdate` and `values:batchClear`.
async fn values_batch_call(
    State(sandbox): State<Sandbox>,
    Path((id, call)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let clear = match call.as_str() {
        "values:batchUpdate" => false,
        "values:batchClear" => true,
        _ => {
            return SheetsError::new(StatusCode::NOT_FOUND, "NOT_FOUND", format!("Method not found: {call}"))
                .into_response()
        }
    };
    serve(&sandbox, &headers, &id, Access::Write, body.len(), |book| {
        if clear {
            values::batch_clear(book, &parse_body(&body)?).map_err(invalid)
        } else {
            values::batch_update(book, &parse_body(&body)?).map_err(invalid)
        }
    })
}

/// `GET /v4/spreadsheets/{id}/values/{range}`: values.get.
async fn get_values(
    State(sandbox): State<Sandbox>,
    Path((id, range)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = Params::parse(query.as_deref(), b"");
    serve(&sandbox, &headers, &id, Access::Read, 0, |book| {
        read_range(book, &range, &params)
    })
}

/// `GET /v4/spreadsheets/{id}/values:batchGet?ranges=…&ranges=…`: values.batchGet.
async fn batch_get_values(
    State(sandbox): State<Sandbox>,
    Path((id, call)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if call != "values:batchGet" {
        return SheetsError::new(StatusCode::NOT_FOUND, "NOT_FOUND", format!("Method not found: {call}"))
            .into_response();
    }
    let params = Params::parse(query.as_deref(), b"");
    let ranges: Vec<String> = params
        .without(&[])
        .filter(|(name, _)| *name == "ranges")
        .map(|(_, range)| range.to_string())
        .collect();
    serve(&sandbox, &headers, &id, Access::Read, 0, |book| {
        let value_ranges = ranges
            .iter()
            .map(|range| read_range(book, range, &params))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(json!({ "spreadsheetId": book.id, "valueRanges": value_ranges }))
    })
}

/// One `ValueRange` as values.get answers it, under the request's `valueRenderOption` and
/// `majorDimension`.
fn read_range(book: &Spreadsheet, range: &str, params: &Params) -> Result<Value, SheetsError> {
    let render = render_option(params, "valueRenderOption")?;
    let mut answer = values::get(book, range, render).map_err(invalid)?;
    match params.get("majorDimension") {
        None | Some("ROWS") => {}
        Some("COLUMNS") => {
            let rows: Vec<Vec<Value>> = serde_json::from_value(answer["values"].take()).unwrap_or_default();
            let width = rows.iter().map(Vec::len).max().unwrap_or(0);
            let columns: Vec<Vec<Value>> = (0..width)
                .map(|c| {
                    let mut column: Vec<Value> = rows.iter().map(|r| r.get(c).cloned().unwrap_or(json!(""))).collect();
                    while column.last() == Some(&json!("")) {
                        column.pop();
                    }
                    column
                })
                .collect();
            answer["majorDimension"] = json!("COLUMNS");
            answer["values"] = json!(columns);
        }
        Some(other) => return Err(invalid(format!("Invalid majorDimension: {other}"))),
    }
    if answer["values"].is_null() || answer["values"] == json!([]) {
        if let Some(object) = answer.as_object_mut() {
            object.remove("values");
        }
    }
    Ok(answer)
}

/// `PUT /v4/spreadsheets/{id}/values/{range}`: values.update.
async fn update_values(
    State(sandbox): State<Sandbox>,
    Path((id, range)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(query.as_deref(), b"");
    serve(&sandbox, &headers, &id, Access::Write, body.len(), |book| {
        let option = input_option(&params)?;
        let request: ValueRange = parse_body(&body)?;
        let mut answer = values::update(book, &range, &request, option).map_err(invalid)?;
        with_values_in_response(book, &params, &mut answer)?;
        Ok(answer)
    })
}

/// Adds `updatedData` when `includeValuesInResponse=true`.
fn with_values_in_response(book: &Spreadsheet, params: &Params, update: &mut Value) -> Result<(), SheetsError> {
    if params.get("includeValuesInResponse") != Some("true") {
        return Ok(());
    }
    let render = render_option(params, "responseValueRenderOption")?;
    let range = update["updatedRange"].as_str().unwrap_or_default().to_string();
    update["updatedData"] = values::get(book, &range, render).map_err(invalid)?;
    Ok(())
}

/// `POST /v4/spreadsheets/{id}/values/{range}:append` and `…:clear`.
async fn range_call(
    State(sandbox): State<Sandbox>,
    Path((id, call)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(query.as_deref(), b"");
    let (range, append) = if let Some(range) = call.strip_suffix(":append") {
        (range.to_string(), true)
    } else if let Some(range) = call.strip_suffix(":clear") {
        (range.to_string(), false)
    } else {
        return SheetsError::new(StatusCode::NOT_FOUND, "NOT_FOUND", format!("Method not found: {call}"))
            .into_response();
    };
    serve(&sandbox, &headers, &id, Access::Write, body.len(), |book| {
        if !append {
            return values::clear(book, &range).map_err(invalid);
        }
        let option = input_option(&params)?;
        let insert = match params.get("insertDataOption") {
            None => InsertData::Overwrite,
            Some(text) => InsertData::parse(text)
                .ok_or_else(|| invalid(format!("Invalid value at 'insert_data_option', \"{text}\"")))?,
        };
        let request: ValueRange = parse_body(&body)?;
        let mut answer = values::append(book, &range, &request, option, insert).map_err(invalid)?;
        with_values_in_response(book, &params, &mut answer["updates"])?;
        Ok(answer)
    })
}

/// `PUT /_sandbox/sheets/{id}`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSpreadsheet {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    editors: Vec<String>,
    #[serde(default)]
    readers: Vec<String>,
    /// Tab name → rows, in the document's order.
    #[serde(default, deserialize_with = "ordered_tabs")]
    sheets: Option<Vec<Tab>>,
}

/// A tab's name and rows, as the control API takes them.
type Tab = (String, Vec<Vec<Value>>);

/// A JSON object's entries in document order (a map would sort them).
fn ordered_tabs<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<Tab>>, D::Error> {
    struct Tabs;
    impl<'de> serde::de::Visitor<'de> for Tabs {
        type Value = Option<Vec<Tab>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object of tab name → rows of values")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut tabs = Vec::new();
            while let Some(entry) = map.next_entry()? {
                tabs.push(entry);
            }
            Ok(Some(tabs))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    deserializer.deserialize_any(Tabs)
}

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// `PUT /_sandbox/sheets/{id}`: creates or resets a spreadsheet.
async fn create_spreadsheet(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    payload: Result<Json<NewSpreadsheet>, JsonRejection>,
) -> Response {
    let request = match payload {
        Ok(Json(request)) => request,
        Err(rejection) => return problem(StatusCode::BAD_REQUEST, rejection.body_text()),
    };
    let tabs = request.sheets.unwrap_or_else(|| vec![("Sheet1".into(), Vec::new())]);
    let mut book = Spreadsheet {
        id: id.clone(),
        title: request.title.unwrap_or_else(|| "Untitled spreadsheet".into()),
        editors: request.editors,
        readers: request.readers,
        sheets: Vec::new(),
        next_sheet_id: 0,
        applied_writes: 0,
    };
    for (title, rows) in tabs {
        if book.sheet_by_title(&title).is_some() || title.is_empty() {
            return problem(
                StatusCode::BAD_REQUEST,
                format!("tab name {title:?} is empty or repeated"),
            );
        }
        let writes: Result<Vec<Vec<Write>>, String> = rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|v| Write::from_input(v, InputOption::UserEntered))
                    .collect()
            })
            .collect();
        let writes = match writes {
            Ok(writes) => writes,
            Err(message) => return problem(StatusCode::BAD_REQUEST, message),
        };
        let sheet_id = book.new_sheet_id();
        let mut sheet = Sheet::new(sheet_id, &title);
        sheet.write(0, 0, &writes);
        book.sheets.push(sheet);
    }
    if book.sheets.is_empty() {
        return problem(StatusCode::BAD_REQUEST, "a spreadsheet needs at least one tab");
    }
    if let Err(message) = book.check_cell_limit() {
        return problem(StatusCode::BAD_REQUEST, message);
    }
    let dump = dump(&book);
    sandbox.world().stores.get_mut::<Store>().spreadsheets.insert(id, book);
    Json(dump).into_response()
}

/// The whole spreadsheet, as `GET /_sandbox/sheets/{id}` shows it.
fn dump(book: &Spreadsheet) -> Value {
    let sheets: Vec<Value> = book
        .sheets
        .iter()
        .enumerate()
        .map(|(index, sheet)| {
            json!({
                "title": sheet.title,
                "sheetId": sheet.id,
                "index": index,
                "hidden": sheet.hidden,
                "rowCount": sheet.row_count,
                "columnCount": sheet.column_count,
                "rows": sheet.formatted_rows(),
                "values": sheet.typed_rows(),
            })
        })
        .collect();
    json!({
        "spreadsheetId": book.id,
        "title": book.title,
        "editors": book.editors,
        "readers": book.readers,
        "applied_writes": book.applied_writes,
        "sheets": sheets,
    })
}

/// `GET /_sandbox/sheets/{id}`.
async fn dump_spreadsheet(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Response {
    match sandbox.world().stores.get_mut::<Store>().spreadsheets.get(&id) {
        Some(book) => Json(dump(book)).into_response(),
        None => problem(StatusCode::NOT_FOUND, format!("no spreadsheet {id:?}")),
    }
}

/// `GET /_sandbox/sheets/{id}/writes`.
async fn applied_writes(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Response {
    match sandbox.world().stores.get_mut::<Store>().spreadsheets.get(&id) {
        Some(book) => Json(json!({ "applied_writes": book.applied_writes })).into_response(),
        None => problem(StatusCode::NOT_FOUND, format!("no spreadsheet {id:?}")),
    }
}

/// `POST /_sandbox/sheets/fail-writes`.
async fn plan_write_failures(
    State(sandbox): State<Sandbox>,
    payload: Result<Json<FailWrites>, JsonRejection>,
) -> Response {
    let plan = match payload {
        Ok(Json(plan)) => plan,
        Err(rejection) => return problem(StatusCode::BAD_REQUEST, rejection.body_text()),
    };
    if plan.at == 0 || plan.count == 0 {
        return problem(StatusCode::BAD_REQUEST, "`at` and `count` must be at least 1");
    }
    sandbox.world().stores.get_mut::<Store>().fail_writes = Some(plan);
    StatusCode::NO_CONTENT.into_response()
}

/// `DELETE /_sandbox/sheets/fail-writes`.
async fn drop_write_failures(State(sandbox): State<Sandbox>) -> Response {
    sandbox.world().stores.get_mut::<Store>().fail_writes = None;
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /_sandbox/service-accounts/{email}/key`.
async fn service_account_key(State(sandbox): State<Sandbox>, Path(email): Path<String>) -> Response {
    let known = sandbox.with_settings(|s| s.sheets.service_accounts.contains(&email));
    if !known {
        return problem(StatusCode::NOT_FOUND, format!("no service account {email:?}"));
    }
    let token_uri = format!("{}/token", sandbox.base_url());
    Json(service_account::key_file(&email, &token_uri)).into_response()
}

#[cfg(test)]
mod tests;
