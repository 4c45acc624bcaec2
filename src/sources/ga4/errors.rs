//! GA4 Data API errors mapped to [`FailureClass`]es: the `google.rpc.Status` table of
//! [`crate::http::google_status`], plus how long each exhausted quota keeps a property
//! closed.
//!
//! The Data API answers every exhausted token bucket with HTTP 429 `RESOURCE_EXHAUSTED` and
//! usually no `RetryInfo`; only the message says which bucket ran dry.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use crate::http::google_status::{self as status, RpcError};
use crate::http::{Failure, FailureClass};

/// Wait after "Exhausted concurrent requests quota.": a request of the property's ten
/// in flight ends within seconds.
const CONCURRENT_WAIT: Duration = Duration::from_secs(30);
/// Wait after an hourly bucket ran dry. When it refills is not said; half an hour keeps a
/// run to two refused calls an hour instead of spinning, and loses at most half an hour.
const HOURLY_WAIT: Duration = Duration::from_secs(30 * 60);
/// Wait for an exhausted quota the table does not know.
const UNKNOWN_QUOTA_WAIT: Duration = Duration::from_secs(60);

/// Which GA4 quota a `RESOURCE_EXHAUSTED` message names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quota {
    /// "Exhausted concurrent requests quota."
    ConcurrentRequests,
    /// "Exhausted property tokens per hour.", "… for a project per hour.", "Exhausted
    /// potentially thresholded requests …" and server errors per project per hour.
    Hourly,
    /// "Exhausted property tokens per day. These quota tokens will return in under 24 hours."
    Daily,
    /// Some other exhausted resource.
    Unknown,
}

impl Quota {
    /// The quota `message` says is exhausted.
    pub(crate) fn of(message: &str) -> Quota {
        let message = message.to_ascii_lowercase();
        if message.contains("concurrent requests") {
            Quota::ConcurrentRequests
        } else if message.contains("per day") {
            Quota::Daily
        } else if message.contains("per hour") || message.contains("potentially thresholded") {
            Quota::Hourly
        } else {
            Quota::Unknown
        }
    }

    /// How long to hold the connection's requests back, from `now`.
    ///
    /// Daily token buckets refill at midnight Pacific time, like Google's other daily API
    /// quotas: waiting until then means one retry instead of a day of refused ones.
    pub(crate) fn wait(self, now: DateTime<Utc>) -> Duration {
        match self {
            Quota::ConcurrentRequests => CONCURRENT_WAIT,
            Quota::Hourly => HOURLY_WAIT,
            Quota::Unknown => UNKNOWN_QUOTA_WAIT,
            Quota::Daily => {
                let local = now.with_timezone(&Los_Angeles);
                let midnight = (local.date_naive() + chrono::Days::new(1))
                    .and_hms_opt(0, 0, 0)
                    .and_then(|m| Los_Angeles.from_local_datetime(&m).earliest());
                midnight
                    .and_then(|m| (m.with_timezone(&Utc) - now).to_std().ok())
                    .unwrap_or(HOURLY_WAIT)
            }
        }
    }
}

/// Classifies a Data API or Admin API response; `None` for a success.
///
/// Beyond the shared table only quota waits are GA4's own. A token without the Analytics
/// scope (403, reason `ACCESS_TOKEN_SCOPE_INSUFFICIENT`) stays a permission failure: a
/// refreshed token has the same scopes, only reconnecting with the scope helps.
pub(crate) fn classify(code: StatusCode, headers: &HeaderMap, body: &[u8]) -> Option<Failure> {
    classify_at(code, headers, body, Utc::now())
}

/// [`classify`] with the time waits are counted from.
fn classify_at(code: StatusCode, headers: &HeaderMap, body: &[u8], now: DateTime<Utc>) -> Option<Failure> {
    let failure = status::classify(code, headers, body)?;
    let Some(error) = RpcError::parse(body) else {
        return Some(failure);
    };
    let class = match failure.class {
        FailureClass::RateLimited { retry_after: None } => FailureClass::RateLimited {
            retry_after: Some(Quota::of(&error.message).wait(now)),
        },
        other => other,
    };
    Some(Failure::new(class, failure.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-03-10T20:00:00Z";

    fn class(code: u16, body: &str) -> FailureClass {
        let now = NOW.parse().unwrap();
        classify_at(
            StatusCode::from_u16(code).unwrap(),
            &HeaderMap::new(),
            body.as_bytes(),
            now,
        )
        .unwrap()
        .class
    }

    fn rate_limited(secs: u64) -> FailureClass {
        FailureClass::RateLimited {
            retry_after: Some(Duration::from_secs(secs)),
        }
    }

    fn error(code: u16, status: &str, message: &str) -> String {
        serde_json::json!({"error": {"code": code, "message": message, "status": status}}).to_string()
    }

    #[test]
    fn unauthenticated_is_token_invalid() {
        let body = r#"{"error":{"code":401,"message":"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.","status":"UNAUTHENTICATED"}}"#;
        assert_eq!(class(401, body), FailureClass::TokenInvalid { reason: None });
    }

    #[test]
    fn permission_and_missing_scope_are_permission() {
        let denied = error(
            403,
            "PERMISSION_DENIED",
            "User does not have sufficient permissions for this property. To learn more about Property ID, see https://developers.google.com/analytics/devguides/reporting/data/v1/property-id.",
        );
        assert_eq!(class(403, &denied), FailureClass::Permission);
        let scope = r#"{"error":{"code":403,"message":"Request had insufficient authentication scopes.","status":"PERMISSION_DENIED",
            "details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"ACCESS_TOKEN_SCOPE_INSUFFICIENT","domain":"googleapis.com",
            "metadata":{"service":"analyticsdata.googleapis.com","method":"google.analytics.data.v1beta.BetaAnalyticsData.RunReport"}}]}}"#;
        assert_eq!(class(403, scope), FailureClass::Permission);
    }

    #[test]
    fn quota_errors_wait_for_their_bucket() {
        let exhausted = |message: &str| class(429, &error(429, "RESOURCE_EXHAUSTED", message));
        assert_eq!(exhausted("Exhausted concurrent requests quota."), rate_limited(30));
        assert_eq!(exhausted("Exhausted property tokens per hour."), rate_limited(1800));
        assert_eq!(
            exhausted("Exhausted property tokens for a project per hour."),
            rate_limited(1800)
        );
        assert_eq!(
            exhausted("Exhausted potentially thresholded requests per hour."),
            rate_limited(1800)
        );
        // 20:00 UTC on 10 March 2026 is 13:00 PDT: eleven hours to midnight in California.
        assert_eq!(
            exhausted("Exhausted property tokens per day. These quota tokens will return in under 24 hours."),
            rate_limited(11 * 3600)
        );
        assert_eq!(
            exhausted("Resource has been exhausted (e.g. check quota)."),
            rate_limited(60)
        );
    }

    #[test]
    fn retry_info_wins_over_the_table() {
        let body = r#"{"error":{"code":429,"message":"Exhausted property tokens per hour.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"12s"}]}}"#;
        assert_eq!(class(429, body), rate_limited(12));
    }

    #[test]
    fn invalid_arguments_are_bad_queries() {
        for message in [
            "Field sesions is not a valid metric. For a list of valid dimensions and metrics, see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema ",
            "Field countri is not a valid dimension. For a list of valid dimensions and metrics, see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema ",
            "Please remove sessionCampaignName to make the request compatible. The request's dimensions & metrics are incompatible. To learn more, see https://ga-dev-tools.web.app/ga4/dimensions-metrics-explorer/",
        ] {
            assert_eq!(class(400, &error(400, "INVALID_ARGUMENT", message)), FailureClass::BadQuery);
        }
    }

    #[test]
    fn server_errors_are_transient() {
        assert_eq!(
            class(503, &error(503, "UNAVAILABLE", "The service is currently unavailable.")),
            FailureClass::Transient
        );
        assert_eq!(
            class(500, &error(500, "INTERNAL", "Internal error encountered.")),
            FailureClass::Transient
        );
        assert_eq!(
            class(504, &error(504, "DEADLINE_EXCEEDED", "The request timed out.")),
            FailureClass::Transient
        );
        assert_eq!(class(502, "<html>bad gateway</html>"), FailureClass::Transient);
        assert!(classify(StatusCode::OK, &HeaderMap::new(), b"{}").is_none());
    }

    #[test]
    fn daily_wait_crosses_daylight_saving_changes() {
        // 8 March 2026 is the spring-forward day in California: its midnight-to-midnight is 23 h.
        let before = "2026-03-08T08:00:00Z".parse().unwrap();
        assert_eq!(Quota::Daily.wait(before), Duration::from_secs(23 * 3600));
    }
}
