//! Error responses in the platform's own shapes: Graph's `{"error":{…}}` for the API and
//! RFC 6749 §5.2 JSON for the token endpoint.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::tokens::{AccessDenied, GrantError};

/// A Graph API error payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    /// HTTP status (Graph uses 400 for most errors, rate limits included).
    pub status: StatusCode,
    /// `code`.
    pub code: i64,
    /// `error_subcode`.
    pub subcode: Option<i64>,
    /// `message`.
    pub message: String,
    /// Extra response headers (usage headers on rate limits).
    pub headers: Vec<(&'static str, String)>,
}

impl GraphError {
    /// An error with HTTP 400.
    pub fn new(code: i64, subcode: Option<i64>, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            subcode,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    /// The same error with another HTTP status.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// `(#100)`-style invalid parameter.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(100, None, message)
    }

    /// An object that does not exist or cannot be seen by this token.
    pub fn unknown_object(id: &str) -> Self {
        Self::new(
            100,
            Some(33),
            format!(
                "Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
            ),
        )
    }

    /// How Graph answers a refused access token.
    pub fn from_access_denied(denied: &AccessDenied, now: i64) -> Self {
        match denied {
            AccessDenied::Missing => Self::new(104, None, "An access token is required to request this resource."),
            AccessDenied::Unknown => Self::new(190, None, "Invalid OAuth access token - Cannot parse access token"),
            AccessDenied::Expired { at } => Self::new(
                190,
                Some(463),
                format!(
                    "Error validating access token: Session has expired on {}. The current time is {}.",
                    graph_time(*at),
                    graph_time(now)
                ),
            ),
            AccessDenied::Revoked {
                reason,
                user,
                client_id,
            } => Self::new(190, Some(reason.subcode()), reason.graph_message(user, client_id)),
        }
    }

    fn error_type(&self) -> &'static str {
        match self.code {
            100 | 190 | 102 | 104 | 200..=299 | 4 | 17 | 32 | 613 | 80000..=80014 => "OAuthException",
            _ => "GraphMethodException",
        }
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let mut error = json!({
            "message": self.message,
            "type": self.error_type(),
            "code": self.code,
            "fbtrace_id": "AsandboxTraceId",
        });
        if let Some(subcode) = self.subcode {
            error["error_subcode"] = json!(subcode);
        }
        if matches!(self.code, 1 | 2) {
            error["is_transient"] = json!(true);
        }
        let mut response = (self.status, axum::Json(json!({ "error": error }))).into_response();
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

/// A token endpoint error (RFC 6749 §5.2).
#[derive(Debug)]
pub struct OAuthError {
    /// 400, or 401 for client authentication failures.
    pub status: StatusCode,
    /// The `error` and `error_description`.
    pub grant: GrantError,
    /// Whether the client authenticated with HTTP Basic (then 401 needs `WWW-Authenticate`).
    pub basic_auth: bool,
}

impl From<GrantError> for OAuthError {
    fn from(grant: GrantError) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            grant,
            basic_auth: false,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.grant.error, "error_description": self.grant.description});
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.status == StatusCode::UNAUTHORIZED && self.basic_auth {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"sandbox\""),
            );
        }
        response
    }
}

/// Graph's wording of an instant, e.g. `Sunday, 22-Nov-26 09:00:00 PST` (here in UTC).
fn graph_time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%A, %d-%b-%y %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| unix.to_string())
}
