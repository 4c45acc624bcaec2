//! Graph API error payloads mapped to [`FailureClass`]es: the one table for Meta.
//!
//! Graph reports most errors, rate limits included, as HTTP 400 with
//! `{"error":{"message","type","code","error_subcode",…}}`; the class depends on
//! `code`/`error_subcode`, not on the HTTP status.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::Deserialize;

use crate::http::{Failure, FailureClass};

#[derive(Debug, Deserialize)]
struct Envelope {
    error: GraphError,
}

/// The `error` object of a Graph response.
#[derive(Debug, Deserialize)]
struct GraphError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: i64,
    #[serde(default)]
    error_subcode: Option<i64>,
    #[serde(default)]
    error_user_msg: Option<String>,
}

/// Classifies a Graph response; `None` for a success without an error payload.
pub(crate) fn classify(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Option<Failure> {
    // A successful answer is only an error when its object opens with `error`; parsing every
    // insights page for one cost a sixth of a report's instructions (callgrind, README).
    if status.is_success() && !opens_with_error(body) {
        return None;
    }
    let parsed = serde_json::from_slice::<Envelope>(body).ok();
    let Some(Envelope { error }) = parsed else {
        // Without Graph's own error payload (a proxy's page, an answer cut off) nothing says
        // the query is at fault, and marking it broken would stop it until its file changes:
        // retried like any transient failure (seen in the chaos soak).
        return if status.is_success() {
            None
        } else if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            Some(Failure::new(
                FailureClass::Transient,
                format!("Graph API answered HTTP {status}"),
            ))
        } else {
            Some(Failure::new(
                FailureClass::Transient,
                format!("Graph API answered HTTP {status} without an error payload"),
            ))
        };
    };
    let mut message = format!("Graph error {}", error.code);
    if let Some(sub) = error.error_subcode {
        message.push_str(&format!("/{sub}"));
    }
    message.push_str(": ");
    message.push_str(&error.message);
    if let Some(user) = error.error_user_msg.filter(|m| !m.is_empty()) {
        message.push_str(&format!(" ({user})"));
    }
    let class = if asks_for_less_data(error.code, &error.message) {
        FailureClass::TooMuchData
    } else {
        class_of(error.code, error.error_subcode, status, headers)
    };
    Some(Failure::new(class, message))
}

/// Graph code 1 with "Please reduce the amount of data you're asking for, then retry your
/// request" (HTTP 500): the report is too large to compute at once, and unlike code 1's
/// "An unknown error occurred" the identical request fails again. Only the message tells
/// them apart. [secondary: seen in public Graph clients that answer it by switching to an
/// async job or a smaller range, e.g. the R package fbRads' `fbad_request`]
fn asks_for_less_data(code: i64, message: &str) -> bool {
    code == 1 && message.contains("reduce the amount of data")
}

/// The table: Graph `code`/`error_subcode` → what to do.
fn class_of(code: i64, subcode: Option<i64>, status: StatusCode, headers: &HeaderMap) -> FailureClass {
    match (code, subcode) {
        // Expired, revoked or invalidated tokens (Graph "error handling" guide).
        (190 | 102, sub) => FailureClass::TokenInvalid {
            reason: sub.and_then(reconnect_reason).map(str::to_string),
        },
        // Request timed out: a smaller range or async would help, but a retry often works.
        (100, Some(1504018)) | (2, Some(1504038)) => FailureClass::Transient,
        // Invalid breakdown combination.
        (2, Some(1504041)) => FailureClass::BadQuery,
        // Unknown/temporary errors and the intermittent insights subcode.
        (1 | 2, _) | (-2, _) => FailureClass::Transient,
        // Application, user, page, custom and business-use-case rate limits.
        (4 | 17 | 32 | 613, _) | (80000..=80014, _) => FailureClass::RateLimited {
            retry_after: regain_access_after(headers),
        },
        // Permission errors: the token is fine but lacks access.
        (10 | 200..=299, _) => FailureClass::Permission,
        (104, _) => FailureClass::TokenInvalid { reason: None },
        (100, _) => FailureClass::BadQuery,
        _ if status.is_server_error() => FailureClass::Transient,
        _ => FailureClass::BadQuery,
    }
}

/// Why a user token died, from its Graph subcode.
pub(crate) fn reconnect_reason(subcode: i64) -> Option<&'static str> {
    Some(match subcode {
        458 => "app_removed",
        459 => "checkpoint",
        460 => "password_changed",
        463 => "expired",
        464 => "unconfirmed_user",
        467 => "logged_out",
        _ => return None,
    })
}

/// The longest `estimated_time_to_regain_access` (minutes) in `X-Business-Use-Case-Usage`.
fn regain_access_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("x-business-use-case-usage")?.to_str().ok()?;
    let usage: serde_json::Value = serde_json::from_str(value).ok()?;
    let minutes = usage
        .as_object()?
        .values()
        .filter_map(|entries| entries.as_array())
        .flatten()
        .filter_map(|entry| entry.get("estimated_time_to_regain_access")?.as_u64())
        .max()?;
    Some(Duration::from_secs(minutes * 60))
}

/// Whether `body` is an object whose first key is `error`.
fn opens_with_error(body: &[u8]) -> bool {
    let trimmed = |bytes: &[u8]| -> usize { bytes.iter().take_while(|b| b.is_ascii_whitespace()).count() };
    let at = trimmed(body);
    let Some(b'{') = body.get(at) else { return false };
    let rest = &body[at + 1..];
    rest[trimmed(rest)..].starts_with(b"\"error\"")
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn classify_body(status: u16, body: &str) -> Failure {
        classify(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body.as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn a_successful_page_is_not_parsed_for_an_error_but_an_error_object_is() {
        let ok = StatusCode::OK;
        assert!(classify(ok, &HeaderMap::new(), br#"{"data":[],"paging":{}}"#).is_none());
        let error = br#" { "error":{"message":"Please reduce the amount of data","type":"OAuthException","code":1}}"#;
        assert!(classify(ok, &HeaderMap::new(), error).is_some());
    }

    #[test]
    fn expired_session_is_token_invalid_with_reason() {
        let body = r#"{"error":{"message":"Error validating access token: Session has expired on ...","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"EJplcsCHuLu"}}"#;
        let failure = classify_body(400, body);
        assert_eq!(
            failure.class,
            FailureClass::TokenInvalid {
                reason: Some("expired".into())
            }
        );
        assert!(failure
            .message
            .starts_with("Graph error 190/463: Error validating access token"));
    }

    #[test]
    fn code_190_without_subcode_is_token_invalid() {
        let body = r#"{"error":{"message":"Invalid OAuth access token","type":"OAuthException","code":190}}"#;
        assert_eq!(
            classify_body(400, body).class,
            FailureClass::TokenInvalid { reason: None }
        );
    }

    #[test]
    fn business_use_case_limit_waits_as_told() {
        let body = r#"{"error":{"message":"There have been too many calls to this ad-account. Wait a bit and try again.","type":"OAuthException","code":80004,"error_subcode":2446079}}"#;
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-business-use-case-usage",
            HeaderValue::from_static(r#"{"66782684":[{"type":"ads_management","call_count":95,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":3}]}"#),
        );
        let failure = classify(StatusCode::BAD_REQUEST, &headers, body.as_bytes()).unwrap();
        assert_eq!(
            failure.class,
            FailureClass::RateLimited {
                retry_after: Some(Duration::from_secs(180))
            }
        );
    }

    #[test]
    fn unknown_field_is_a_bad_query() {
        let body =
            r#"{"error":{"message":"(#100) foo is not valid for fields param.","type":"OAuthException","code":100}}"#;
        assert_eq!(classify_body(400, body).class, FailureClass::BadQuery);
    }

    #[test]
    fn server_errors_without_payload_are_transient() {
        assert_eq!(
            classify_body(502, "<html>bad gateway</html>").class,
            FailureClass::Transient
        );
        assert!(classify(StatusCode::OK, &HeaderMap::new(), b"{\"data\":[]}").is_none());
    }

    #[test]
    fn code_1_asking_for_less_data_is_not_transient_but_an_unknown_error_is() {
        let body = r#"{"error":{"message":"Please reduce the amount of data you're asking for, then retry your request","type":"OAuthException","code":1,"fbtrace_id":"A1"}}"#;
        assert_eq!(classify_body(500, body).class, FailureClass::TooMuchData);
        let body = r#"{"error":{"message":"An unknown error occurred","type":"OAuthException","code":1}}"#;
        assert_eq!(classify_body(500, body).class, FailureClass::Transient);
    }

    #[test]
    fn missing_permission_is_permission() {
        let body = r#"{"error":{"message":"(#200) Ad account owner has NOT grant ads_management or ads_read permission","type":"OAuthException","code":200}}"#;
        assert_eq!(classify_body(400, body).class, FailureClass::Permission);
    }
}
