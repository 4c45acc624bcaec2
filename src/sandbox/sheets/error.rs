//! Sheets' errors: a `google.rpc.Status` in an `error` envelope.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::sandbox::tokens::AccessDenied;

/// An error answer of the Sheets API.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetsError {
    pub http: StatusCode,
    /// Canonical code name, e.g. `INVALID_ARGUMENT`.
    pub status: &'static str,
    pub message: String,
    pub details: Vec<Value>,
}

impl SheetsError {
    pub fn new(http: StatusCode, status: &'static str, message: impl Into<String>) -> Self {
        Self {
            http,
            status,
            message: message.into(),
            details: Vec::new(),
        }
    }

    fn with_error_info(mut self, reason: &str, metadata: Value) -> Self {
        self.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason,
            "domain": "googleapis.com",
            "metadata": metadata,
        }));
        self
    }

    /// 400 `INVALID_ARGUMENT`.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
    }

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
    pub fn unauthenticated(denied: &AccessDenied) -> Self {
        let reason = match denied {
            AccessDenied::Missing => "CREDENTIALS_MISSING",
            AccessDenied::Expired { .. } => "ACCESS_TOKEN_EXPIRED",
            AccessDenied::Unknown | AccessDenied::Revoked { .. } => "ACCESS_TOKEN_TYPE_UNSUPPORTED",
        };
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        )
        .with_error_info(reason, json!({"service": "sheets.googleapis.com"}))
    }

    /// 403 for a token without a Sheets (or Drive) scope.
    pub fn scope_insufficient(method: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "Request had insufficient authentication scopes.",
        )
        .with_error_info(
            "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
            json!({"service": "sheets.googleapis.com", "method": method}),
        )
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
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            format!(
                "Quota exceeded for quota metric '{metric}' and limit '{limit}' of service 'sheets.googleapis.com' for consumer 'project_number:{PROJECT_NUMBER}'."
            ),
        );
        // Sheets' ErrorInfo carries no `domain` here; keep the body verbatim.
        error.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "RATE_LIMIT_EXCEEDED",
            "metadata": {"quota_limit": limit_id, "quota_metric": metric_id},
        }));
        error
    }
}

/// The Cloud project number quota errors name.
pub const PROJECT_NUMBER: &str = "269908437164";

impl IntoResponse for SheetsError {
    fn into_response(self) -> Response {
        let mut error = json!({
            "code": self.http.as_u16(),
            "message": self.message,
            "status": self.status,
        });
        if !self.details.is_empty() {
            error["details"] = json!(self.details);
        }
        (self.http, Json(json!({ "error": error }))).into_response()
    }
}
