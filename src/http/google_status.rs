//! The `google.rpc.Status` error envelope: `{"error":{"code","message","status","details"}}`,
//! sometimes wrapped in a JSON array (Google Ads `searchStream` answers errors as the first
//! element of its batch array).

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::Deserialize;

use crate::http::{Failure, FailureClass};

/// The `error` object.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RpcError {
    /// HTTP status code as a number.
    #[serde(default)]
    pub(crate) code: u16,
    /// Google's message.
    #[serde(default)]
    pub(crate) message: String,
    /// The canonical code name, e.g. `UNAUTHENTICATED`, `RESOURCE_EXHAUSTED`.
    #[serde(default)]
    pub(crate) status: String,
    /// Typed details (`@type` says which): `google.rpc.RetryInfo`, `ErrorInfo`,
    /// `GoogleAdsFailure`, ….
    #[serde(default)]
    pub(crate) details: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Envelope {
    error: RpcError,
}

impl RpcError {
    /// The error in `body`, whether an object or the first element of an array.
    pub(crate) fn parse(body: &[u8]) -> Option<RpcError> {
        // serde would read an array as a one-field struct too, so tell them apart first.
        let is_array = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
        if !is_array {
            return serde_json::from_slice::<Envelope>(body).ok().map(|e| e.error);
        }
        let mut list: Vec<serde_json::Value> = serde_json::from_slice(body).ok()?;
        if list.is_empty() {
            return None;
        }
        serde_json::from_value::<Envelope>(list.swap_remove(0))
            .ok()
            .map(|e| e.error)
    }

    /// The `retryDelay` of a `google.rpc.RetryInfo` detail (`"40s"`, `"1.5s"`).
    pub(crate) fn retry_delay(&self) -> Option<Duration> {
        self.details
            .iter()
            .filter(|d| d["@type"].as_str().is_some_and(|t| t.ends_with("google.rpc.RetryInfo")))
            .find_map(|d| parse_duration(d["retryDelay"].as_str()?))
    }

    /// `HTTP 401 UNAUTHENTICATED: message`, for errors and logs.
    pub(crate) fn describe(&self) -> String {
        format!("HTTP {} {}: {}", self.code, self.status, self.message)
    }
}

/// A protobuf JSON duration (`"40591s"`, `"0.5s"`).
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let seconds: f64 = text.strip_suffix('s')?.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// The class of a `google.rpc.Status` by its canonical code, for APIs with no finer table.
pub(crate) fn class_of(error: &RpcError, status: StatusCode) -> FailureClass {
    match error.status.as_str() {
        "UNAUTHENTICATED" => FailureClass::TokenInvalid { reason: None },
        "PERMISSION_DENIED" => FailureClass::Permission,
        "RESOURCE_EXHAUSTED" => FailureClass::RateLimited {
            retry_after: error.retry_delay(),
        },
        "INVALID_ARGUMENT" | "NOT_FOUND" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => FailureClass::BadQuery,
        "UNAVAILABLE" | "INTERNAL" | "DEADLINE_EXCEEDED" | "ABORTED" | "UNKNOWN" => FailureClass::Transient,
        _ if status.is_server_error() => FailureClass::Transient,
        _ if status == StatusCode::UNAUTHORIZED => FailureClass::TokenInvalid { reason: None },
        _ if status == StatusCode::TOO_MANY_REQUESTS => FailureClass::RateLimited { retry_after: None },
        _ => FailureClass::BadQuery,
    }
}

/// Classifies a Google API response by its `google.rpc.Status`; `None` for a success.
pub(crate) fn classify(status: StatusCode, _headers: &HeaderMap, body: &[u8]) -> Option<Failure> {
    if status.is_success() {
        return None;
    }
    Some(match RpcError::parse(body) {
        Some(error) => Failure::new(class_of(&error, status), error.describe()),
        None => without_payload(status),
    })
}

/// A failure whose body is not a Google error (a proxy's HTML page, a cut connection).
pub(crate) fn without_payload(status: StatusCode) -> Failure {
    let class = if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        FailureClass::Transient
    } else if status == StatusCode::UNAUTHORIZED {
        FailureClass::TokenInvalid { reason: None }
    } else {
        FailureClass::BadQuery
    };
    Failure::new(class, format!("HTTP {status} without a Google error payload"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// api-facts §3.2, verbatim.
    const ADS_429: &str = r#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED",
  "details":[{"@type":"type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure",
    "errors":[{"errorCode":{"quotaError":"RESOURCE_EXHAUSTED"},"message":"Too many requests. Retry in 40591 seconds.",
      "details":{"quotaErrorDetails":{"rateScope":"DEVELOPER","rateName":"Number of operations for basic access","retryDelay":"40591s"}}}],
    "requestId":"xN_KaZRHZuU6Rlgt3cM2uQ"}]}}"#;

    #[test]
    fn parses_objects_and_arrays() {
        let error = RpcError::parse(ADS_429.as_bytes()).unwrap();
        assert_eq!((error.code, error.status.as_str()), (429, "RESOURCE_EXHAUSTED"));
        let wrapped = format!("[{ADS_429}]");
        let error = RpcError::parse(wrapped.as_bytes()).unwrap();
        assert_eq!(error.details.len(), 1);
        assert!(RpcError::parse(b"[]").is_none());
        assert!(RpcError::parse(b"<html>").is_none());
    }

    #[test]
    fn retry_info_is_honoured() {
        let body = r#"{"error":{"code":429,"message":"Exhausted property tokens per hour.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}"#;
        let failure = classify(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), body.as_bytes()).unwrap();
        assert_eq!(
            failure.class,
            FailureClass::RateLimited {
                retry_after: Some(Duration::from_millis(1500))
            }
        );
        assert_eq!(
            failure.message,
            "HTTP 429 RESOURCE_EXHAUSTED: Exhausted property tokens per hour."
        );
    }

    #[test]
    fn canonical_codes_map_to_classes() {
        let body = |status: &str| format!(r#"{{"error":{{"code":400,"message":"m","status":"{status}"}}}}"#);
        let class = |status: &str| {
            classify(StatusCode::BAD_REQUEST, &HeaderMap::new(), body(status).as_bytes())
                .unwrap()
                .class
        };
        assert_eq!(class("UNAUTHENTICATED"), FailureClass::TokenInvalid { reason: None });
        assert_eq!(class("PERMISSION_DENIED"), FailureClass::Permission);
        assert_eq!(class("INVALID_ARGUMENT"), FailureClass::BadQuery);
        assert_eq!(class("UNAVAILABLE"), FailureClass::Transient);
        assert_eq!(
            classify(StatusCode::BAD_GATEWAY, &HeaderMap::new(), b"<html>")
                .unwrap()
                .class,
            FailureClass::Transient
        );
    }
}
