//! Google Ads error payloads mapped to `FailureClass`es: the one table for Google Ads.
//!
//! Errors come in the `google.rpc.Status` envelope (an object, or the first element of an
//! array for `searchStream`) with a `GoogleAdsFailure` detail whose `errors[].errorCode` is a
//! one-key object naming the enum and its value, e.g. `{"quotaError":"RESOURCE_EXHAUSTED"}`.
//! The error code decides; the canonical status is the fallback.

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::Deserialize;

use crate::http::google_status::{self as status, parse_duration, RpcError};
use crate::http::{Failure, FailureClass};

/// One entry of a `GoogleAdsFailure`'s `errors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AdsError {
    /// The enum the code belongs to, e.g. `authenticationError`.
    pub(crate) kind: String,
    /// The code, e.g. `OAUTH_TOKEN_REVOKED`.
    pub(crate) code: String,
    /// Google's message.
    pub(crate) message: String,
    /// `details.quotaErrorDetails.retryDelay`, when a quota error says how long to wait.
    pub(crate) retry_delay: Option<std::time::Duration>,
}

#[derive(Deserialize)]
struct RawAdsError {
    #[serde(default, rename = "errorCode")]
    error_code: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    details: serde_json::Value,
}

/// The `errors` of every `GoogleAdsFailure` detail of `error`, in order.
pub(crate) fn ads_errors(error: &RpcError) -> Vec<AdsError> {
    error
        .details
        .iter()
        .filter(|d| {
            d["@type"]
                .as_str()
                .is_some_and(|t| t.ends_with(".errors.GoogleAdsFailure"))
        })
        .filter_map(|d| d.get("errors")?.as_array())
        .flatten()
        .filter_map(|e| serde_json::from_value::<RawAdsError>(e.clone()).ok())
        .filter_map(|e| {
            let (kind, code) = e.error_code.into_iter().next()?;
            Some(AdsError {
                kind,
                code: code.as_str()?.to_string(),
                message: e.message,
                retry_delay: e.details["quotaErrorDetails"]["retryDelay"]
                    .as_str()
                    .and_then(parse_duration),
            })
        })
        .collect()
}

/// Classifies a Google Ads response; `None` for a success.
pub(crate) fn classify(status: StatusCode, _headers: &HeaderMap, body: &[u8]) -> Option<Failure> {
    if status.is_success() {
        return None;
    }
    Some(match RpcError::parse(body) {
        Some(error) => failure_of(&error, status),
        None => status::without_payload(status),
    })
}

/// The failure `error` stands for; also used for an error that arrives inside a
/// successful stream.
pub(crate) fn failure_of(error: &RpcError, status: StatusCode) -> Failure {
    let errors = ads_errors(error);
    let class = errors
        .iter()
        .find_map(class_of)
        .unwrap_or_else(|| status::class_of(error, status));
    let mut message = error.describe();
    for e in &errors {
        message.push_str(&format!("; {} {}: {}", e.kind, e.code, e.message));
    }
    Failure::new(class, message)
}

/// The table: a `GoogleAdsFailure` error code → what to do; `None` leaves it to the status.
fn class_of(error: &AdsError) -> Option<FailureClass> {
    let token_invalid = |reason: Option<&str>| FailureClass::TokenInvalid {
        reason: reason.map(str::to_string),
    };
    Some(match (error.kind.as_str(), error.code.as_str()) {
        ("authenticationError", code) => match code {
            "OAUTH_TOKEN_REVOKED" => token_invalid(Some("revoked")),
            "OAUTH_TOKEN_EXPIRED" => token_invalid(Some("expired")),
            "TWO_STEP_VERIFICATION_NOT_ENROLLED" => token_invalid(Some("two_factor_enabled")),
            "OAUTH_TOKEN_INVALID" | "OAUTH_TOKEN_DISABLED" | "OAUTH_TOKEN_HEADER_INVALID" => token_invalid(None),
            // The login works but reaches no such Ads account: access, not the token.
            "NOT_ADS_USER" | "CUSTOMER_NOT_FOUND" | "DEVELOPER_TOKEN_INVALID" => FailureClass::Permission,
            // A malformed customer id is the query file's mistake.
            "CLIENT_CUSTOMER_ID_INVALID" => FailureClass::BadQuery,
            _ => token_invalid(None),
        },
        ("authorizationError", _) => FailureClass::Permission,
        ("quotaError", "ACCESS_PROHIBITED") => FailureClass::Permission,
        // RESOURCE_EXHAUSTED (the daily quota is gone) says how long to wait: wait that
        // long, never in a loop; RESOURCE_TEMPORARILY_EXHAUSTED says nothing: back off.
        ("quotaError", _) => FailureClass::RateLimited {
            retry_after: error.retry_delay,
        },
        ("internalError", _) => FailureClass::Transient,
        (
            "queryError" | "fieldError" | "requestError" | "headerError" | "fieldMaskError" | "dateError"
            | "dateRangeError" | "customerError" | "enumError" | "stringLengthError" | "listOperationError",
            _,
        ) => FailureClass::BadQuery,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn classify_body(status: u16, body: &str) -> Failure {
        classify(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body.as_bytes(),
        )
        .unwrap()
    }

    /// api-facts §3.2, verbatim.
    const NOT_ADS_USER_401: &str = r#"{"error":{"code":401,"message":"Request is missing required authentication credential. …","status":"UNAUTHENTICATED",
  "details":[{"@type":"type.googleapis.com/google.ads.googleads.v19.errors.GoogleAdsFailure",
    "errors":[{"errorCode":{"authenticationError":"NOT_ADS_USER"},
               "message":"The Google account … is not associated with any Ads accounts. …"}],
    "requestId":"Z4Q_KggHsDHwTzYYp-_H2A"}]}}"#;

    /// api-facts §3.2, verbatim.
    const QUOTA_429: &str = r#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED",
  "details":[{"@type":"type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure",
    "errors":[{"errorCode":{"quotaError":"RESOURCE_EXHAUSTED"},"message":"Too many requests. Retry in 40591 seconds.",
      "details":{"quotaErrorDetails":{"rateScope":"DEVELOPER","rateName":"Number of operations for basic access","retryDelay":"40591s"}}}],
    "requestId":"xN_KaZRHZuU6Rlgt3cM2uQ"}]}}"#;

    /// The §3.2 shape with another error code (the 403 "has the same shape").
    fn with_code(http: u16, status: &str, kind: &str, code: &str) -> String {
        format!(
            r#"{{"error":{{"code":{http},"message":"m","status":"{status}","details":[{{"@type":"type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure","errors":[{{"errorCode":{{"{kind}":"{code}"}},"message":"detail"}}],"requestId":"r"}}]}}}}"#
        )
    }

    #[test]
    fn the_documented_401_is_a_permission_problem_not_a_dead_token() {
        let failure = classify_body(401, NOT_ADS_USER_401);
        assert_eq!(failure.class, FailureClass::Permission);
        assert!(
            failure
                .message
                .contains("authenticationError NOT_ADS_USER: The Google account"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn the_documented_429_waits_the_retry_delay_also_when_wrapped_in_an_array() {
        let expected = FailureClass::RateLimited {
            retry_after: Some(Duration::from_secs(40591)),
        };
        assert_eq!(classify_body(429, QUOTA_429).class, expected);
        assert_eq!(classify_body(429, &format!("[{QUOTA_429}]")).class, expected);
    }

    #[test]
    fn token_errors_need_a_refresh_or_a_reconnect_with_a_reason() {
        let class =
            |code: &str| classify_body(401, &with_code(401, "UNAUTHENTICATED", "authenticationError", code)).class;
        let invalid = |reason: Option<&str>| FailureClass::TokenInvalid {
            reason: reason.map(str::to_string),
        };
        assert_eq!(class("OAUTH_TOKEN_REVOKED"), invalid(Some("revoked")));
        assert_eq!(class("OAUTH_TOKEN_EXPIRED"), invalid(Some("expired")));
        assert_eq!(
            class("TWO_STEP_VERIFICATION_NOT_ENROLLED"),
            invalid(Some("two_factor_enabled"))
        );
        assert_eq!(class("OAUTH_TOKEN_INVALID"), invalid(None));
        assert_eq!(class("OAUTH_TOKEN_DISABLED"), invalid(None));
        assert_eq!(class("OAUTH_TOKEN_HEADER_INVALID"), invalid(None));
        assert_eq!(class("CLIENT_CUSTOMER_ID_INVALID"), FailureClass::BadQuery);
        // A bare UNAUTHENTICATED without a GoogleAdsFailure (Google's front end).
        let bare = r#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#;
        assert_eq!(classify_body(401, bare).class, invalid(None));
    }

    #[test]
    fn authorization_errors_are_permission_problems() {
        let class =
            |code: &str| classify_body(403, &with_code(403, "PERMISSION_DENIED", "authorizationError", code)).class;
        for code in [
            "USER_PERMISSION_DENIED",
            "CUSTOMER_NOT_ENABLED",
            "ACTION_NOT_PERMITTED",
            "DEVELOPER_TOKEN_NOT_APPROVED",
            "CLOUD_PROJECT_NOT_APPROVED_FOR_PRODUCTION",
        ] {
            assert_eq!(class(code), FailureClass::Permission, "{code}");
        }
        let scope = r#"{"error":{"code":403,"message":"Request had insufficient authentication scopes.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"ACCESS_TOKEN_SCOPE_INSUFFICIENT","domain":"googleapis.com"}]}}"#;
        assert_eq!(classify_body(403, scope).class, FailureClass::Permission);
    }

    #[test]
    fn temporary_exhaustion_backs_off_and_bad_fields_break_the_query() {
        let temporary = with_code(
            429,
            "RESOURCE_EXHAUSTED",
            "quotaError",
            "RESOURCE_TEMPORARILY_EXHAUSTED",
        );
        assert_eq!(
            classify_body(429, &temporary).class,
            FailureClass::RateLimited { retry_after: None }
        );
        let field = with_code(400, "INVALID_ARGUMENT", "queryError", "UNRECOGNIZED_FIELD");
        assert_eq!(classify_body(400, &field).class, FailureClass::BadQuery);
        let prohibited = with_code(400, "INVALID_ARGUMENT", "fieldError", "INVALID_FIELD_NAME");
        assert_eq!(classify_body(400, &prohibited).class, FailureClass::BadQuery);
        let header = with_code(400, "INVALID_ARGUMENT", "headerError", "INVALID_LOGIN_CUSTOMER_ID");
        assert_eq!(classify_body(400, &header).class, FailureClass::BadQuery);
        let internal = with_code(500, "INTERNAL", "internalError", "INTERNAL_ERROR");
        assert_eq!(classify_body(500, &internal).class, FailureClass::Transient);
        assert_eq!(classify_body(502, "<html>").class, FailureClass::Transient);
        assert!(classify(StatusCode::OK, &HeaderMap::new(), b"[]").is_none());
    }
}
