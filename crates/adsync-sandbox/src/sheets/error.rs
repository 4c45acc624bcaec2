//! Sheets' errors: a `google.rpc.Status` in an `error` envelope.

use axum::http::StatusCode;
use serde_json::json;

use crate::google_status::GoogleStatus;
use crate::tokens::AccessDenied;

/// The API's service name in error metadata.
const SERVICE: &str = "sheets.googleapis.com";

/// An error answer of the Sheets API.
pub type SheetsError = GoogleStatus;

/// Sheets' own answers beside the ones every Google API shares.
impl GoogleStatus {
    /// 404 for a spreadsheet that does not exist.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", "Requested entity was not found.")
    }

    /// 403 for a spreadsheet not shared with the caller.
    pub fn no_permission() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "The caller does not have permission",
        )
    }

    /// 500, as an injected write failure or fault answers.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "Internal error encountered.",
        )
    }

    /// 401 for a missing, unknown, expired or revoked token.
    pub fn sheets_unauthenticated(denied: &AccessDenied) -> Self {
        Self::unauthenticated(denied, Some(SERVICE))
    }

    /// 403 for a token without a Sheets (or Drive) scope.
    pub fn sheets_scope_insufficient(method: &str) -> Self {
        Self::scope_insufficient(SERVICE, method)
    }

    /// 429 for a spent per-minute quota (api-facts §4's body). `write` picks the metric,
    /// `per_user` the limit.
    pub fn rate_limited(write: bool, per_user: bool) -> Self {
        let (metric, metric_id) = if write {
            ("Write requests", "sheets.googleapis.com/write_requests")
        } else {
            ("Read requests", "sheets.googleapis.com/read_requests")
        };
        let (limit, limit_id) = match (write, per_user) {
            (true, true) => ("Write requests per minute per user", "WriteRequestsPerMinutePerUser"),
            (true, false) => ("Write requests per minute", "WriteRequestsPerMinutePerProject"),
            (false, true) => ("Read requests per minute per user", "ReadRequestsPerMinutePerUser"),
            (false, false) => ("Read requests per minute", "ReadRequestsPerMinutePerProject"),
        };
        let error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            format!(
                "Quota exceeded for quota metric '{metric}' and limit '{limit}' of service 'sheets.googleapis.com' for consumer 'project_number:{PROJECT_NUMBER}'."
            ),
        );
        // Sheets' ErrorInfo carries no `domain` here; keep the body verbatim.
        error.with_detail(json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "RATE_LIMIT_EXCEEDED",
            "metadata": {"quota_limit": limit_id, "quota_metric": metric_id},
        }))
    }
}

/// The Cloud project number quota errors name.
pub const PROJECT_NUMBER: &str = "269908437164";
