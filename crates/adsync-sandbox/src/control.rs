//! The control API under `/_sandbox/`: how tests, scripts and the demo change the world.
//! Its paths are a contract; extend, never rename.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::faults::{Fault, Hold};
use super::state::Sandbox;
use super::tokens::RevokeReason;

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// The JSON body, or why it could not be read (serde names the field and position).
fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, String> {
    payload
        .map(|Json(value)| value)
        .map_err(|rejection| rejection.body_text())
}

/// `GET /_sandbox/settings`.
pub async fn get_settings(State(sandbox): State<Sandbox>) -> Response {
    Json(sandbox.settings()).into_response()
}

/// `PUT /_sandbox/settings`: a JSON object naming the settings to change.
pub async fn put_settings(
    State(sandbox): State<Sandbox>,
    payload: Result<Json<serde_json::Value>, JsonRejection>,
) -> Response {
    let patch = match body(payload) {
        Ok(patch) => patch,
        Err(message) => return problem(StatusCode::BAD_REQUEST, message),
    };
    match sandbox.patch_settings(patch) {
        Ok(settings) => Json(settings).into_response(),
        Err(message) => problem(StatusCode::BAD_REQUEST, message),
    }
}

/// `?reason=` of a revocation.
#[derive(Deserialize)]
pub struct RevokeParams {
    reason: Option<String>,
}

/// `POST /_sandbox/users/{user}/revoke?reason=R`: invalidates every token of the user the
/// way the platform would after, e.g., a password change.
pub async fn revoke(
    State(sandbox): State<Sandbox>,
    Path(user): Path<String>,
    Query(params): Query<RevokeParams>,
) -> Response {
    let names = RevokeReason::ALL.map(RevokeReason::name).join(", ");
    let Some(reason) = params.reason.as_deref().and_then(RevokeReason::parse) else {
        return problem(
            StatusCode::BAD_REQUEST,
            format!(
                "reason must be one of {names}; got {:?}",
                params.reason.unwrap_or_default()
            ),
        );
    };
    let (access, refresh) = sandbox.revoke(&user, reason);
    Json(json!({
        "user": user,
        "reason": reason.name(),
        "graph_subcode": reason.subcode(),
        "access_tokens_revoked": access,
        "refresh_tokens_revoked": refresh,
    }))
    .into_response()
}

/// `POST /_sandbox/users/{user}/expire-access-tokens`: access tokens die, refresh tokens
/// live, so the next API call needs a refresh.
pub async fn expire_access_tokens(State(sandbox): State<Sandbox>, Path(user): Path<String>) -> Response {
    let expired = sandbox.expire_access_tokens(&user);
    Json(json!({ "user": user, "access_tokens_expired": expired })).into_response()
}

/// `?account=act_<n>` of an access change.
#[derive(Deserialize)]
pub struct AccountParams {
    account: String,
}

/// `POST /_sandbox/users/{user}/accounts/deny?account=act_N` (or `.../allow`).
pub async fn account_access(
    State(sandbox): State<Sandbox>,
    Path((user, change)): Path<(String, String)>,
    Query(params): Query<AccountParams>,
) -> Response {
    let denied = match change.as_str() {
        "deny" => true,
        "allow" => false,
        other => {
            return problem(
                StatusCode::NOT_FOUND,
                format!("unknown action {other:?}; use deny or allow"),
            )
        }
    };
    // Meta's act_<n>, or the bare number of a Google Ads customer, GA4 property or
    // LinkedIn ad account: one deny list serves every platform.
    let digits = params.account.strip_prefix("act_").unwrap_or(&params.account);
    let Some(number) = digits.parse::<u64>().ok() else {
        return problem(
            StatusCode::BAD_REQUEST,
            format!(
                "account must look like act_1001 or 1234567890, got {:?}",
                params.account
            ),
        );
    };
    sandbox.set_account_access(&user, number, denied);
    Json(json!({ "user": user, "account": params.account, "denied": denied })).into_response()
}

/// `POST /_sandbox/faults`: queue a failure.
pub async fn push_fault(State(sandbox): State<Sandbox>, payload: Result<Json<Fault>, JsonRejection>) -> Response {
    let fault = match body(payload) {
        Ok(fault) => fault,
        Err(message) => return problem(StatusCode::BAD_REQUEST, message),
    };
    if let Err(message) = fault.validate() {
        return problem(StatusCode::BAD_REQUEST, message);
    }
    sandbox.push_fault(fault.clone());
    (StatusCode::CREATED, Json(fault)).into_response()
}

/// `DELETE /_sandbox/faults`: drop every queued failure.
pub async fn clear_faults(State(sandbox): State<Sandbox>) -> Response {
    sandbox.world().faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /_sandbox/holds`: matching requests wait (before or after being processed) until
/// `DELETE /_sandbox/holds`, so a test can kill a client at an exact point.
pub async fn push_hold(State(sandbox): State<Sandbox>, payload: Result<Json<Hold>, JsonRejection>) -> Response {
    match body(payload).and_then(|hold| hold.validate().map(|()| hold)) {
        Ok(hold) => {
            sandbox.world().holds.push(hold.clone());
            (StatusCode::CREATED, Json(hold)).into_response()
        }
        Err(message) => problem(StatusCode::BAD_REQUEST, message),
    }
}

/// `DELETE /_sandbox/holds`: every held request goes on; no more are held.
pub async fn release_holds(State(sandbox): State<Sandbox>) -> Response {
    sandbox.release_holds();
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /_sandbox/stats`.
pub async fn stats(State(sandbox): State<Sandbox>) -> Response {
    Json(sandbox.stats()).into_response()
}

/// `?secs=` of a clock move.
#[derive(Deserialize)]
pub struct AdvanceParams {
    secs: i64,
}

/// `POST /_sandbox/clock/advance?secs=N`: token expiry and date presets move with it.
pub async fn advance_clock(State(sandbox): State<Sandbox>, Query(params): Query<AdvanceParams>) -> Response {
    match sandbox.advance_clock(params.secs) {
        Ok(now) => {
            let at = chrono::DateTime::from_timestamp(now, 0)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default();
            Json(json!({ "now": at })).into_response()
        }
        Err(message) => problem(StatusCode::BAD_REQUEST, message),
    }
}
