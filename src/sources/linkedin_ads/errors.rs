//! LinkedIn error answers mapped to [`FailureClass`]es: the one table for LinkedIn.
//!
//! LinkedIn answers errors with the HTTP status that says what kind they are and a body
//! `{"status","serviceErrorCode","code","message"}` whose `serviceErrorCode` tells token
//! failures apart: 65600 invalid, 65601 revoked by the member, 65602 expired.
//!
//! One exception needs state: right after a member consents, LinkedIn can answer 65601 for
//! the brand-new token for a few seconds (reported by omniauth-linkedin-oauth2 #81). A
//! [`Classifier`] made for a connection consented moments ago treats the first few 65601s
//! as transient, so the request is retried with backoff before the token counts as revoked
//! and the usual refresh-then-reconnect path runs.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::Deserialize;

use crate::http::{Failure, FailureClass};

/// How long after a consent a 65601 may still be LinkedIn catching up.
pub(crate) const CONSENT_SETTLING: chrono::Duration = chrono::Duration::minutes(2);
/// How many 65601s within [`CONSENT_SETTLING`] are retried before one counts.
pub(crate) const SETTLING_RETRIES: u32 = 3;
/// `serviceErrorCode` of a revoked token.
pub(crate) const REVOKED: i64 = 65601;

/// A LinkedIn error body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    #[serde(default)]
    service_error_code: Option<i64>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Classifies a LinkedIn answer; `None` for a success.
pub(crate) fn classify(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Option<Failure> {
    if status.is_success() {
        return None;
    }
    let error = serde_json::from_slice::<ErrorBody>(body).unwrap_or_default();
    let mut message = format!("LinkedIn answered HTTP {}", status.as_u16());
    if let Some(service) = error.service_error_code {
        message.push_str(&format!(" (serviceErrorCode {service})"));
    }
    match (&error.code, &error.message) {
        (Some(code), Some(text)) => message.push_str(&format!(": {code}: {text}")),
        (None, Some(text)) | (Some(text), None) => message.push_str(&format!(": {text}")),
        (None, None) => {}
    }
    let class = class_of(status, &error, headers);
    match class {
        FailureClass::BadQuery if status == StatusCode::URI_TOO_LONG => {
            message.push_str("; the request was longer than LinkedIn accepts even though adsync tunnels long queries")
        }
        FailureClass::BadQuery if status == StatusCode::UPGRADE_REQUIRED => {
            message.push_str("; set the connection's api_version to an active LinkedIn-Version (YYYYMM)")
        }
        _ => {}
    }
    Some(Failure::new(class, message))
}

/// The table: HTTP status and `serviceErrorCode` → what to do.
fn class_of(status: StatusCode, error: &ErrorBody, headers: &HeaderMap) -> FailureClass {
    let code = error.code.as_deref();
    match status.as_u16() {
        401 => FailureClass::TokenInvalid {
            reason: match (error.service_error_code, code) {
                (Some(REVOKED), _) | (_, Some("REVOKED_ACCESS_TOKEN")) => Some("revoked".into()),
                (Some(65602), _) | (_, Some("EXPIRED_ACCESS_TOKEN")) => Some("expired".into()),
                _ => None,
            },
        },
        403 => FailureClass::Permission,
        429 => FailureClass::RateLimited {
            retry_after: retry_after(headers),
        },
        // A request timeout, and 5xx: LinkedIn answers 500 when it cannot verify a token
        // downstream, which a retry fixes.
        408 | 500..=599 => FailureClass::Transient,
        // 400 bad parameter or field, 404, 414 too long, 426 inactive version, …
        _ => FailureClass::BadQuery,
    }
}

/// `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().ok()
}

/// The error table with the grace a fresh consent needs (see the module doc).
#[derive(Debug)]
pub(crate) struct Classifier {
    revoked_retries_left: AtomicU32,
}

impl Classifier {
    /// A classifier for a connection consented `connected_for` ago (`None`: not known to be
    /// connected), allowing at most `max_retries` grace retries so the retry budget is left
    /// for the refresh that follows.
    pub(crate) fn new(connected_for: Option<chrono::Duration>, max_retries: u32) -> Self {
        let fresh = connected_for.is_some_and(|age| age < CONSENT_SETTLING);
        Self {
            revoked_retries_left: AtomicU32::new(if fresh { SETTLING_RETRIES.min(max_retries) } else { 0 }),
        }
    }

    /// Classifies like [`classify`], except that a 65601 within the grace is transient.
    pub(crate) fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Option<Failure> {
        let failure = classify(status, headers, body)?;
        let revoked = matches!(&failure.class, FailureClass::TokenInvalid { reason: Some(r) } if r == "revoked");
        if revoked
            && self
                .revoked_retries_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1))
                .is_ok()
        {
            return Some(Failure::new(
                FailureClass::Transient,
                format!(
                    "{} (just after consent; LinkedIn can take a moment to accept a new token)",
                    failure.message
                ),
            ));
        }
        Some(failure)
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn class(status: u16, body: &str) -> FailureClass {
        classify(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body.as_bytes(),
        )
        .unwrap()
        .class
    }

    /// api-facts §5.3, verbatim.
    const INVALID: &str = r#"{"serviceErrorCode":65600,"message":"Invalid access token","status":401}"#;
    const REVOKED_BODY: &str = r#"{"status":401,"serviceErrorCode":65601,"code":"REVOKED_ACCESS_TOKEN","message":"The token used in the request has been revoked by the user"}"#;
    const EXPIRED: &str = r#"{"status":401,"serviceErrorCode":65602,"code":"EXPIRED_ACCESS_TOKEN","message":"The token used in the request has expired"}"#;

    #[test]
    fn documented_token_errors_map_to_their_reasons() {
        assert_eq!(class(401, INVALID), FailureClass::TokenInvalid { reason: None });
        assert_eq!(
            class(401, REVOKED_BODY),
            FailureClass::TokenInvalid {
                reason: Some("revoked".into())
            }
        );
        assert_eq!(
            class(401, EXPIRED),
            FailureClass::TokenInvalid {
                reason: Some("expired".into())
            }
        );
        let failure = classify(StatusCode::UNAUTHORIZED, &HeaderMap::new(), REVOKED_BODY.as_bytes()).unwrap();
        assert_eq!(
            failure.message,
            "LinkedIn answered HTTP 401 (serviceErrorCode 65601): REVOKED_ACCESS_TOKEN: The token used in the request has been revoked by the user"
        );
    }

    #[test]
    fn other_statuses_follow_the_table() {
        let denied = r#"{"status":403,"serviceErrorCode":100,"code":"ACCESS_DENIED","message":"Not enough permissions to access: adAnalytics.FINDER-analytics.20261001"}"#;
        assert_eq!(class(403, denied), FailureClass::Permission);
        let bad = r#"{"status":400,"code":"ILLEGAL_ARGUMENT","message":"Invalid field: fooBar"}"#;
        assert_eq!(class(400, bad), FailureClass::BadQuery);
        assert_eq!(
            class(500, r#"{"status":500,"message":"Internal Server Error"}"#),
            FailureClass::Transient
        );
        assert_eq!(class(504, "<html>gateway timeout</html>"), FailureClass::Transient);
        let version =
            r#"{"status":426,"code":"NONEXISTENT_VERSION","message":"Requested version 20240401 is not active"}"#;
        let failure = classify(StatusCode::UPGRADE_REQUIRED, &HeaderMap::new(), version.as_bytes()).unwrap();
        assert_eq!(failure.class, FailureClass::BadQuery);
        assert!(failure.message.contains("api_version"), "{}", failure.message);
        assert_eq!(class(414, ""), FailureClass::BadQuery);
        assert!(classify(StatusCode::OK, &HeaderMap::new(), b"{\"elements\":[]}").is_none());
    }

    #[test]
    fn rate_limits_wait_as_long_as_retry_after_says() {
        let body = r#"{"status":429,"code":"TOO_MANY_REQUESTS","message":"Resource level throttle APPLICATION DAY limit for calls to this resource is reached."}"#;
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        let failure = classify(StatusCode::TOO_MANY_REQUESTS, &headers, body.as_bytes()).unwrap();
        assert_eq!(
            failure.class,
            FailureClass::RateLimited {
                retry_after: Some(Duration::from_secs(7))
            }
        );
        assert_eq!(class(429, body), FailureClass::RateLimited { retry_after: None });
    }

    #[test]
    fn revoked_just_after_consent_is_retried_a_few_times_then_counts() {
        let fresh = Classifier::new(Some(chrono::Duration::seconds(20)), 4);
        let answer = || fresh.classify(StatusCode::UNAUTHORIZED, &HeaderMap::new(), REVOKED_BODY.as_bytes());
        for _ in 0..SETTLING_RETRIES {
            let failure = answer().unwrap();
            assert_eq!(failure.class, FailureClass::Transient);
            assert!(failure.message.contains("just after consent"));
        }
        assert_eq!(
            answer().unwrap().class,
            FailureClass::TokenInvalid {
                reason: Some("revoked".into())
            }
        );
        // Other token errors get no grace.
        let fresh = Classifier::new(Some(chrono::Duration::seconds(20)), 4);
        assert_eq!(
            fresh
                .classify(StatusCode::UNAUTHORIZED, &HeaderMap::new(), INVALID.as_bytes())
                .unwrap()
                .class,
            FailureClass::TokenInvalid { reason: None }
        );
    }

    #[test]
    fn revoked_long_after_consent_counts_at_once() {
        for age in [Some(chrono::Duration::minutes(10)), None] {
            let settled = Classifier::new(age, 4);
            assert_eq!(
                settled
                    .classify(StatusCode::UNAUTHORIZED, &HeaderMap::new(), REVOKED_BODY.as_bytes())
                    .unwrap()
                    .class,
                FailureClass::TokenInvalid {
                    reason: Some("revoked".into())
                }
            );
        }
        // The grace never outlasts the retry budget.
        let tight = Classifier::new(Some(chrono::Duration::seconds(1)), 1);
        let answer = || tight.classify(StatusCode::UNAUTHORIZED, &HeaderMap::new(), REVOKED_BODY.as_bytes());
        assert_eq!(answer().unwrap().class, FailureClass::Transient);
        assert!(matches!(answer().unwrap().class, FailureClass::TokenInvalid { .. }));
    }
}
