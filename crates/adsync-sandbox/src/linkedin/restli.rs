//! Reading Rest.li 2.0 query strings the way LinkedIn does: structure (`List(…)`,
//! `(key:value,…)`) literal, values inside it percent-encoded. The raw query is read byte by
//! byte rather than through a URL decoder, which would hide exactly the encoding mistakes
//! this is here to catch.

use chrono::NaiveDate;

use super::data::{self, AnalyticsQuery, Facet, Pivot};
use super::LinkedinError;
use crate::window::DateWindow;

/// Most fields (`dateRange` and `pivotValues` included) one request may ask for: "a max of
/// 20 fields per request" (airbytehq/airbyte `source-linkedin-ads`, citing
/// https://learn.microsoft.com/en-us/linkedin/marketing/integrations/ads-reporting/ads-reporting#requesting-specific-metrics-in-the-analytics-finder).
pub const MAX_FIELDS: usize = 20;
/// Longest query string LinkedIn accepts (query tunneling guide).
pub const MAX_QUERY_BYTES: usize = 4096;
/// Longest raw URL LinkedIn accepts (same guide).
pub const MAX_URL_BYTES: usize = 8192;

/// An analytics finder request: the query shared by its accounts, and the accounts.
#[derive(Debug, Clone)]
pub struct AnalyticsRequest {
    /// Everything but the account (set per account).
    pub query: AnalyticsQuery,
    /// `accounts=List(…)`.
    pub accounts: Vec<u64>,
}

/// `start`/`count` of a collection request.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// First element.
    pub start: usize,
    /// Elements at most.
    pub count: usize,
}

/// The name=value pairs of a raw query, values still encoded; a repeated name is refused.
fn pairs(query: &str) -> Result<Vec<(&str, &str)>, LinkedinError> {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if pairs.iter().any(|(n, _)| *n == name) {
            return Err(LinkedinError::illegal(format!(
                "Parameter {name} is given more than once"
            )));
        }
        pairs.push((name, value));
    }
    Ok(pairs)
}

fn get<'a>(pairs: &[(&str, &'a str)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

fn required<'a>(pairs: &[(&str, &'a str)], name: &str) -> Result<&'a str, LinkedinError> {
    get(pairs, name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| LinkedinError::illegal(format!("Missing required parameter {name}")))
}

/// Reads an analytics finder query string.
pub fn analytics_request(query: &str) -> Result<AnalyticsRequest, LinkedinError> {
    let pairs = pairs(query)?;
    const KNOWN: [&str; 9] = [
        "q",
        "pivot",
        "timeGranularity",
        "dateRange",
        "accounts",
        "campaignGroups",
        "campaigns",
        "creatives",
        "fields",
    ];
    if let Some((name, _)) = pairs.iter().find(|(n, _)| !KNOWN.contains(n)) {
        return Err(LinkedinError::illegal(format!(
            "Parameter {name} is not supported by the analytics finder"
        )));
    }
    match required(&pairs, "q")? {
        "analytics" => {}
        other => {
            return Err(LinkedinError::illegal(format!(
                "Finder {other} is not served by the sandbox; use q=analytics"
            )))
        }
    }
    let pivot_name = required(&pairs, "pivot")?;
    let pivot = Pivot::parse(pivot_name).ok_or_else(|| {
        LinkedinError::illegal(format!(
            "Pivot {pivot_name} is not served by the sandbox; use ACCOUNT, CAMPAIGN_GROUP, CAMPAIGN or CREATIVE"
        ))
    })?;
    let daily = match required(&pairs, "timeGranularity")? {
        "DAILY" => true,
        "ALL" => false,
        other => {
            return Err(LinkedinError::illegal(format!(
                "timeGranularity {other} is not served by the sandbox; use DAILY or ALL"
            )))
        }
    };
    let window = date_range(required(&pairs, "dateRange")?)?;
    let accounts = list(required(&pairs, "accounts")?, "accounts", Pivot::Account.urn_prefix())?
        .into_iter()
        .map(|id| {
            id.parse::<u64>()
                .map_err(|_| LinkedinError::illegal(format!("Account id {id} is out of range")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut facets = Vec::new();
    for (param, level) in [
        ("campaignGroups", Pivot::CampaignGroup),
        ("campaigns", Pivot::Campaign),
        ("creatives", Pivot::Creative),
    ] {
        if let Some(raw) = get(&pairs, param) {
            facets.push(Facet {
                level,
                ids: list(raw, param, level.urn_prefix())?,
            });
        }
    }
    let metrics = fields(get(&pairs, "fields"))?;
    Ok(AnalyticsRequest {
        query: AnalyticsQuery {
            account: 0,
            pivot,
            daily,
            window,
            facets,
            metrics,
        },
        accounts,
    })
}

/// Reads an `adAccountUsers` finder query string.
pub fn account_users_request(query: &str, default_count: usize) -> Result<Page, LinkedinError> {
    let pairs = pairs(query)?;
    if required(&pairs, "q")? != "authenticatedUser" {
        return Err(LinkedinError::illegal(
            "The sandbox serves the authenticatedUser finder of adAccountUsers only",
        ));
    }
    let number = |name: &str, default: usize| match get(&pairs, name) {
        None => Ok(default),
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| LinkedinError::illegal(format!("Parameter {name} must be a non-negative integer"))),
    };
    Ok(Page {
        start: number("start", 0)?,
        count: number("count", default_count)?,
    })
}

/// `fields`: `dateRange`, `pivotValues` and metrics; returns the metrics.
fn fields(raw: Option<&str>) -> Result<Vec<String>, LinkedinError> {
    // Without `fields` LinkedIn reports impressions and clicks.
    let Some(raw) = raw else {
        return Ok(vec!["impressions".into(), "clicks".into()]);
    };
    let mut metrics = Vec::new();
    let requested = raw.split(',').count();
    if requested > MAX_FIELDS {
        return Err(LinkedinError::illegal(format!(
            "Too many fields: {requested} requested, at most {MAX_FIELDS} per request"
        )));
    }
    for name in raw.split(',') {
        match name {
            "dateRange" | "pivotValues" => {}
            metric if data::is_metric(metric) => metrics.push(metric.to_string()),
            other => {
                return Err(LinkedinError::illegal(format!(
                    "Invalid field {other:?} in fields: not an adAnalytics metric"
                )))
            }
        }
    }
    Ok(metrics)
}

/// `List(urn%3Ali%3A…%3A1,…)` → the ids after `prefix`.
fn list(raw: &str, param: &str, prefix: &str) -> Result<Vec<String>, LinkedinError> {
    let items = raw
        .strip_prefix("List(")
        .and_then(|rest| rest.strip_suffix(')'))
        .ok_or_else(|| {
            LinkedinError::illegal(format!(
                "Parameter {param} must be a Rest.li 2.0 list, List(…), with its parentheses and commas unencoded; got {raw}"
            ))
        })?;
    items
        .split(',')
        .map(|item| {
            if item.contains(':') {
                return Err(LinkedinError::illegal(format!(
                    "Invalid value {item} in {param}: URNs inside List() must be URL-encoded (urn%3Ali%3A…)"
                )));
            }
            let urn =
                percent_decode(item).ok_or_else(|| LinkedinError::illegal(format!("Invalid escape in {item}")))?;
            urn.strip_prefix(prefix)
                .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_string)
                .ok_or_else(|| LinkedinError::illegal(format!("Invalid value {urn} in {param}: expected {prefix}<id>")))
        })
        .collect()
}

/// `(start:(year:Y,month:M,day:D),end:(…))`; a missing end means today on LinkedIn, which
/// the sandbox does not guess: it is required here.
fn date_range(raw: &str) -> Result<DateWindow, LinkedinError> {
    let invalid = || {
        LinkedinError::illegal(format!(
            "Invalid dateRange {raw}: expected (start:(year:Y,month:M,day:D),end:(year:Y,month:M,day:D)) with its parentheses and colons unencoded"
        ))
    };
    let inner = raw
        .strip_prefix("(start:")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(invalid)?;
    let (start, end) = inner.split_once(",end:").ok_or_else(invalid)?;
    let (start, end) = (date(start).ok_or_else(invalid)?, date(end).ok_or_else(invalid)?);
    if end < start {
        return Err(LinkedinError::illegal(format!(
            "dateRange ends before it starts: {raw}"
        )));
    }
    Ok(DateWindow::new(start, end))
}

/// `(year:Y,month:M,day:D)`.
fn date(raw: &str) -> Option<NaiveDate> {
    let fields = raw.strip_prefix('(')?.strip_suffix(')')?;
    let mut parts = fields.split(',');
    let mut number = |name: &str| parts.next()?.strip_prefix(name)?.strip_prefix(':')?.parse::<u32>().ok();
    let (year, month, day) = (number("year")?, number("month")?, number("day")?);
    if parts.next().is_some() {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

/// `%XX` escapes decoded; `None` for a broken escape or non-UTF-8 result.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_lists_read_rest_li_2_syntax() {
        let window = date_range("(start:(year:2025,month:3,day:1),end:(year:2025,month:3,day:31))").unwrap();
        assert_eq!(window.to_string(), "2025-03-01..2025-03-31");
        assert!(date_range("(start:(year:2025,month:2,day:30),end:(year:2025,month:3,day:1))").is_err());
        assert_eq!(
            list(
                "List(urn%3Ali%3AsponsoredAccount%3A1,urn%3Ali%3AsponsoredAccount%3A22)",
                "accounts",
                "urn:li:sponsoredAccount:"
            )
            .unwrap(),
            ["1", "22"]
        );
        assert!(list(
            "List(urn%3Ali%3AsponsoredCampaign%3A1)",
            "accounts",
            "urn:li:sponsoredAccount:"
        )
        .is_err());
        assert!(list(
            "urn%3Ali%3AsponsoredAccount%3A1",
            "accounts",
            "urn:li:sponsoredAccount:"
        )
        .is_err());
    }

    #[test]
    fn fields_without_metrics_and_repeated_params() {
        assert_eq!(fields(Some("dateRange,pivotValues")).unwrap(), Vec::<String>::new());
        assert_eq!(fields(None).unwrap(), ["impressions", "clicks"]);
        assert!(pairs("q=analytics&q=statistics").is_err());
    }
}
