//! Google Ads error answers: the `google.rpc.Status` envelope with a `GoogleAdsFailure`
//! detail (api-facts §3.2), wrapped in an array when `searchStream` answers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// The API version named in `GoogleAdsFailure`'s `@type`.
const FAILURE_VERSION: &str = "v26";

/// One `GoogleAdsFailure` error.
#[derive(Debug, Clone, PartialEq)]
struct AdsError {
    kind: &'static str,
    code: &'static str,
    message: String,
    details: Option<Value>,
}

/// An error answer of the Google Ads API.
#[derive(Debug, Clone, PartialEq)]
pub struct AdsFailure {
    status: StatusCode,
    rpc_status: &'static str,
    message: String,
    errors: Vec<AdsError>,
    /// Other `details` entries (`google.rpc.ErrorInfo`).
    details: Vec<Value>,
    /// `searchStream` answers errors as the first element of an array.
    in_array: bool,
}

impl AdsFailure {
    /// An error with no `GoogleAdsFailure` detail (yet).
    pub fn new(status: StatusCode, rpc_status: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            rpc_status,
            message: message.into(),
            errors: Vec::new(),
            details: Vec::new(),
            in_array: false,
        }
    }

    /// HTTP 400 `INVALID_ARGUMENT` with one `kind`/`code` error, as for a bad query.
    pub fn invalid_argument(kind: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "Request contains an invalid argument.",
        )
        .with_error(kind, code, message)
    }

    /// HTTP 401 `UNAUTHENTICATED` with an `authenticationError`.
    pub fn unauthenticated(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        )
        .with_error("authenticationError", code, message)
    }

    /// HTTP 403 `PERMISSION_DENIED` with an `authorizationError`.
    pub fn permission_denied(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "The caller does not have permission",
        )
        .with_error("authorizationError", code, message)
    }

    /// Adds a `GoogleAdsFailure` error.
    pub fn with_error(mut self, kind: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        self.errors.push(AdsError {
            kind,
            code,
            message: message.into(),
            details: None,
        });
        self
    }

    /// Sets the `details` of the last error (`quotaErrorDetails`).
    pub fn with_error_details(mut self, details: Value) -> Self {
        if let Some(last) = self.errors.last_mut() {
            last.details = Some(details);
        }
        self
    }

    /// Adds a `google.rpc.ErrorInfo` detail with `reason`.
    pub fn with_error_info(mut self, reason: &str) -> Self {
        self.details.push(json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason,
            "domain": "googleapis.com",
        }));
        self
    }

    /// The same error as `searchStream` answers it: inside an array.
    pub fn in_array(mut self) -> Self {
        self.in_array = true;
        self
    }

    /// The error codes, for tests.
    #[cfg(test)]
    pub fn codes(&self) -> Vec<&'static str> {
        self.errors.iter().map(|e| e.code).collect()
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut details = self.details.clone();
        if !self.errors.is_empty() {
            let errors: Vec<Value> = self
                .errors
                .iter()
                .map(|e| {
                    let mut error = json!({"errorCode": {e.kind: e.code}, "message": e.message});
                    if let Some(d) = &e.details {
                        error["details"] = d.clone();
                    }
                    error
                })
                .collect();
            details.push(json!({
                "@type": format!("type.googleapis.com/google.ads.googleads.{FAILURE_VERSION}.errors.GoogleAdsFailure"),
                "errors": errors,
                "requestId": super::request_id(),
            }));
        }
        let mut error = json!({"code": self.status.as_u16(), "message": self.message, "status": self.rpc_status});
        if !details.is_empty() {
            error["details"] = Value::Array(details);
        }
        let envelope = json!({ "error": error });
        if self.in_array {
            json!([envelope])
        } else {
            envelope
        }
    }
}

impl IntoResponse for AdsFailure {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}
