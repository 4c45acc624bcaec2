//! The error answer every emulated Google API gives: a `google.rpc.Status` in an `error`
//! envelope (`{"error":{"code","message","status","details"}}`), with the answers Google's
//! APIs share (bad argument, bad token, missing scope). Each API adds its own in its module.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::tokens::AccessDenied;

/// A `google.rpc.Status` error response.
#[derive(Debug, Clone, PartialEq)]
pub struct GoogleStatus {
    /// HTTP status.
    pub http: StatusCode,
    /// Canonical code name, e.g. `INVALID_ARGUMENT`.
    pub status: &'static str,
    /// Google's message.
    pub message: String,
    /// Typed details (`google.rpc.ErrorInfo`, …).
    pub details: Vec<Value>,
}

impl GoogleStatus {
    /// An error without details.
    pub fn new(http: StatusCode, status: &'static str, message: impl Into<String>) -> Self {
        Self {
            http,
            status,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// Adds a typed `detail` (e.g. a `google.rpc.RetryInfo`).
    pub fn with_detail(mut self, detail: Value) -> Self {
        self.details.push(detail);
        self
    }

    /// Adds a `google.rpc.ErrorInfo` detail of `reason` (with `metadata` where Google sends it).
    pub fn with_error_info(self, reason: &str, metadata: Option<Value>) -> Self {
        let mut info = json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason,
            "domain": "googleapis.com",
        });
        if let Some(metadata) = metadata {
            info["metadata"] = metadata;
        }
        self.with_detail(info)
    }

    /// 400 `INVALID_ARGUMENT`.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
    }

    /// 401 for a missing, unknown, expired or revoked token; `service` names the API in the
    /// detail's metadata where that API does so.
    pub fn unauthenticated(denied: &AccessDenied, service: Option<&str>) -> Self {
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
        .with_error_info(reason, service.map(|service| json!({ "service": service })))
    }

    /// 403 for a token without a scope `service`'s `method` needs.
    pub fn scope_insufficient(service: &str, method: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "Request had insufficient authentication scopes.",
        )
        .with_error_info(
            "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
            Some(json!({"service": service, "method": method})),
        )
    }
}

impl IntoResponse for GoogleStatus {
    fn into_response(self) -> Response {
        let mut error = json!({
            "code": self.http.as_u16(),
            "message": self.message,
            "status": self.status,
        });
        if !self.details.is_empty() {
            error["details"] = Value::Array(self.details);
        }
        (self.http, Json(json!({ "error": error }))).into_response()
    }
}
