//! Meta's usage headers: how much of a rate-limit quota the app, user or ad account has
//! spent, sent on every Graph response (api-facts §1.5).
//!
//! `X-App-Usage` and `X-Business-Use-Case-Usage` carry percentages of an hourly rolling
//! quota; throttling starts at 100. Pausing near the top keeps a report from tipping the
//! account into an hour-long block.

use std::time::Duration;

use reqwest::header::HeaderMap;

/// From this percentage on, requests are spaced out.
const SLOW_FROM_PCT: f64 = 90.0;
/// The pause per percentage point above [`SLOW_FROM_PCT`].
const PAUSE_PER_PCT: Duration = Duration::from_secs(3);

/// How long the connection should wait before its next request, when the usage headers say
/// a quota is close to spent (or spent: then as long as Graph estimates).
pub(crate) fn pacing(headers: &HeaderMap) -> Option<Duration> {
    let mut highest: f64 = 0.0;
    let mut regain_minutes: u64 = 0;
    if let Some(app) = json_header(headers, "x-app-usage") {
        highest = highest.max(max_pct(&app));
    }
    if let Some(buc) = json_header(headers, "x-business-use-case-usage") {
        for entry in buc
            .as_object()
            .into_iter()
            .flat_map(|accounts| accounts.values())
            .filter_map(|entries| entries.as_array())
            .flatten()
        {
            highest = highest.max(max_pct(entry));
            regain_minutes = regain_minutes.max(entry["estimated_time_to_regain_access"].as_u64().unwrap_or(0));
        }
    }
    if regain_minutes > 0 {
        return Some(Duration::from_secs(regain_minutes * 60));
    }
    (highest >= SLOW_FROM_PCT).then(|| PAUSE_PER_PCT.mul_f64((highest - SLOW_FROM_PCT + 1.0).min(11.0)))
}

fn json_header(headers: &HeaderMap, name: &str) -> Option<serde_json::Value> {
    serde_json::from_str(headers.get(name)?.to_str().ok()?).ok()
}

/// The highest of `call_count`, `total_cputime` and `total_time` in one usage object.
fn max_pct(usage: &serde_json::Value) -> f64 {
    ["call_count", "total_cputime", "total_time"]
        .iter()
        .filter_map(|key| usage[*key].as_f64())
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn low_usage_does_not_slow_down() {
        // api-facts §1.5, verbatim.
        let h = headers(&[("x-app-usage", r#"{"call_count":28,"total_cputime":25,"total_time":25}"#)]);
        assert_eq!(pacing(&h), None);
        assert_eq!(pacing(&HeaderMap::new()), None);
    }

    #[test]
    fn usage_near_the_limit_spaces_requests_out() {
        let h = headers(&[(
            "x-business-use-case-usage",
            r#"{"66782684":[{"type":"ads_insights","call_count":95,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":0,"ads_api_access_tier":"standard_access"}]}"#,
        )]);
        assert_eq!(pacing(&h), Some(Duration::from_secs(18)));
        let h = headers(&[("x-app-usage", r#"{"call_count":90,"total_cputime":5,"total_time":5}"#)]);
        assert_eq!(pacing(&h), Some(Duration::from_secs(3)));
    }

    #[test]
    fn a_spent_quota_waits_as_long_as_graph_estimates() {
        let h = headers(&[(
            "x-business-use-case-usage",
            r#"{"1":[{"type":"ads_insights","call_count":100,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":7}]}"#,
        )]);
        assert_eq!(pacing(&h), Some(Duration::from_secs(420)));
    }
}
