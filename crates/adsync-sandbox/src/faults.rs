//! Injected failures: queued by `POST /_sandbox/faults`, consumed by matching requests.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::error::GraphError;

/// What an injected failure looks like on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// HTTP 500 with Graph's transient "unknown error" payload (code 1).
    #[serde(rename = "http_500")]
    Http500,
    /// HTTP 400 with a rate-limit code (default 80000, ads insights) and the usage headers.
    RateLimit,
    /// HTTP 504 with Graph's insights time-out payload (code 2, subcode 1504038).
    Timeout,
    /// HTTP 200 whose JSON body stops halfway.
    TruncatedJson,
}

/// A queued failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// What to answer.
    pub kind: FaultKind,
    /// How many matching requests fail.
    #[serde(default = "one")]
    pub count: u32,
    /// How many matching requests pass before the first failure.
    #[serde(default)]
    pub skip: u32,
    /// Only requests whose path starts with this match; all platform requests otherwise.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Graph code of a `rate_limit` (4, 17, 32, 613 or 80000–80014).
    #[serde(default)]
    pub code: Option<i64>,
    /// `estimated_time_to_regain_access` of a `rate_limit`, in minutes.
    #[serde(default)]
    pub regain_access_minutes: u64,
}

fn one() -> u32 {
    1
}

impl Fault {
    /// Checks the fields a request body may get wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.count == 0 {
            return Err("`count` must be at least 1".into());
        }
        if let Some(code) = self.code {
            if self.kind != FaultKind::RateLimit {
                return Err("`code` applies to kind = \"rate_limit\" only".into());
            }
            if !matches!(code, 4 | 17 | 32 | 613 | 80000..=80014) {
                return Err(format!(
                    "`code` {code} is not a Graph rate-limit code (4, 17, 32, 613, 80000-80014)"
                ));
            }
        }
        Ok(())
    }

    fn matches(&self, path: &str) -> bool {
        self.path_prefix
            .as_deref()
            .is_none_or(|prefix| path.starts_with(prefix))
    }
}

/// The queue of faults.
#[derive(Debug, Default)]
pub struct FaultQueue {
    faults: Vec<Fault>,
}

impl FaultQueue {
    /// Queues `fault` behind the others.
    pub fn push(&mut self, fault: Fault) {
        self.faults.push(fault);
    }

    /// Drops every queued fault.
    pub fn clear(&mut self) {
        self.faults.clear();
    }

    /// The fault a request to `path` suffers, if any; counts it down.
    pub fn take(&mut self, path: &str) -> Option<Fault> {
        let index = self.faults.iter().position(|f| f.matches(path))?;
        let fault = &mut self.faults[index];
        if fault.skip > 0 {
            fault.skip -= 1;
            return None;
        }
        let taken = fault.clone();
        fault.count -= 1;
        if fault.count == 0 {
            self.faults.remove(index);
        }
        Some(taken)
    }
}

/// The error response of a fault that replaces the platform's answer (all but truncation).
pub fn error_response(fault: &Fault, path: &str) -> Option<GraphError> {
    match fault.kind {
        FaultKind::Http500 => Some(
            GraphError::new(1, None, "An unknown error has occurred.").with_status(StatusCode::INTERNAL_SERVER_ERROR),
        ),
        FaultKind::Timeout => Some(
            GraphError::new(
                2,
                Some(1504038),
                "The request timed out. Please try a smaller date range, fewer fields or an async job.",
            )
            .with_status(StatusCode::GATEWAY_TIMEOUT),
        ),
        FaultKind::RateLimit => Some(rate_limit(fault, path)),
        FaultKind::TruncatedJson => None,
    }
}

fn rate_limit(fault: &Fault, path: &str) -> GraphError {
    let code = fault.code.unwrap_or(80000);
    let (subcode, message) = match code {
        4 => (Some(1504022), "(#4) Application request limit reached"),
        17 => (Some(2446079), "(#17) User request limit reached"),
        32 => (None, "(#32) Page request limit reached"),
        613 => (Some(1487742), "(#613) Calls to this api have exceeded the rate limit."),
        80004 => (
            Some(2446079),
            "There have been too many calls to this ad-account. Wait a bit and try again.",
        ),
        _ => (
            Some(2446079),
            "There have been too many calls from this ad-account. Wait a bit and try again.",
        ),
    };
    // The business-use-case header is keyed by the ad account's number.
    let account = path
        .split('/')
        .find_map(|segment| segment.strip_prefix("act_"))
        .unwrap_or("0");
    let usage = serde_json::json!({
        account: [{
            "type": "ads_insights",
            "call_count": 100,
            "total_cputime": 100,
            "total_time": 100,
            "estimated_time_to_regain_access": fault.regain_access_minutes,
            "ads_api_access_tier": "standard_access",
        }]
    });
    let mut error = GraphError::new(code, subcode, message);
    error.headers.push(("x-business-use-case-usage", usage.to_string()));
    error.headers.push((
        "x-app-usage",
        r#"{"call_count":100,"total_cputime":100,"total_time":100}"#.to_string(),
    ));
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(json: serde_json::Value) -> Fault {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn skip_then_count_then_gone() {
        let mut queue = FaultQueue::default();
        queue.push(fault(
            serde_json::json!({"kind": "http_500", "count": 2, "skip": 1, "path_prefix": "/v25.0/act_1"}),
        ));
        assert!(queue.take("/v25.0/me").is_none());
        assert!(queue.take("/v25.0/act_1/insights").is_none());
        assert!(queue.take("/v25.0/act_1/insights").is_some());
        assert!(queue.take("/v25.0/act_1/insights").is_some());
        assert!(queue.take("/v25.0/act_1/insights").is_none());
    }

    #[test]
    fn rate_limits_carry_the_usage_header_of_the_account() {
        let f = fault(serde_json::json!({"kind": "rate_limit", "code": 80004, "regain_access_minutes": 3}));
        let error = error_response(&f, "/v25.0/act_1001/insights").unwrap();
        assert_eq!((error.code, error.subcode), (80004, Some(2446079)));
        let usage = &error.headers[0].1;
        assert!(
            usage.contains(r#""1001":[{"#) && usage.contains(r#""estimated_time_to_regain_access":3"#),
            "{usage}"
        );
    }

    #[test]
    fn unknown_kinds_and_codes_are_refused() {
        assert!(serde_json::from_value::<Fault>(serde_json::json!({"kind": "explode"})).is_err());
        assert!(fault(serde_json::json!({"kind": "rate_limit", "code": 190}))
            .validate()
            .is_err());
        // A zero count would underflow the countdown.
        assert!(fault(serde_json::json!({"kind": "http_500", "count": 0}))
            .validate()
            .is_err());
    }
}

/// When a held request waits: before the sandbox acts on it, or after it acted but before
/// the answer leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldPoint {
    /// The request has not been processed (a token grant has not happened).
    Before,
    /// The request was processed (a refresh token already rotated); the answer waits.
    After,
}

/// Requests that stop and wait until `DELETE /_sandbox/holds`, so a test can kill a client
/// at an exact point of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hold {
    /// Requests whose path starts with this are held.
    pub path_prefix: String,
    /// Where they wait.
    pub when: HoldPoint,
    /// Matching requests to let through first.
    #[serde(default)]
    pub skip: u32,
    /// How many to hold.
    #[serde(default = "one")]
    pub count: u32,
}

impl Hold {
    /// Checks the fields a request body may get wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.count == 0 {
            return Err("`count` must be at least 1".into());
        }
        Ok(())
    }
}

/// The queue of holds.
#[derive(Debug, Default)]
pub struct HoldQueue {
    holds: Vec<Hold>,
}

impl HoldQueue {
    /// Queues `hold`.
    pub fn push(&mut self, hold: Hold) {
        self.holds.push(hold);
    }

    /// Drops every hold.
    pub fn clear(&mut self) {
        self.holds.clear();
    }

    /// Where a request to `path` must wait, if anywhere; counts the hold down.
    pub fn take(&mut self, path: &str) -> Option<HoldPoint> {
        let index = self.holds.iter().position(|h| path.starts_with(&h.path_prefix))?;
        let hold = &mut self.holds[index];
        if hold.skip > 0 {
            hold.skip -= 1;
            return None;
        }
        let when = hold.when;
        hold.count -= 1;
        if hold.count == 0 {
            self.holds.remove(index);
        }
        Some(when)
    }
}
