//! The GAQL fields adsync knows for Google Ads, named as GAQL names them, and how each
//! becomes a column: the JSON path it comes back under, and the one derived column,
//! `metrics.cost` (cost in the account currency, from `metrics.cost_micros`).
//!
//! Also Google Ads's constant facts: its OAuth scope, how far back it reports, how long a
//! date slice one request may cover, where the real API is, and what an account id looks like.

mod catalog;

pub(crate) use catalog::{unselectable, FIELDS};

#[cfg(test)]
use super::Level;

/// The OAuth scope of the Google Ads API.
pub(crate) const SCOPE: &str = "https://www.googleapis.com/auth/adwords";

/// How far back reports go: "metrics with daily, hourly, or weekly segmentation are only
/// available for the last 37 months" (`DateRangeError.REQUESTED_DATE_GRANULARITY_NOT_SUPPORTED`).
pub(crate) const HISTORY_MONTHS: u32 = 37;

/// `searchStream` answers a whole window in one streamed response: no slicing.
pub(crate) const MAX_UNIT_DAYS: Option<i64> = None;

/// Where the real Google Ads API is.
pub(crate) const API_BASE: &str = "https://googleads.googleapis.com";

/// The derived column: `metrics.cost_micros` / 10^6, as an exact decimal.
pub const COST: &str = "metrics.cost";
/// The GAQL field [`COST`] is computed from.
pub(crate) const COST_MICROS: &str = "metrics.cost_micros";
/// The field that segments rows by day.
pub const DATE: &str = "segments.date";

/// The GAQL field a column is read from: itself, except the derived [`COST`].
pub fn source_field(column: &str) -> &str {
    if column == COST {
        COST_MICROS
    } else {
        column
    }
}

/// Where a GAQL field comes back in a `GoogleAdsRow`: the proto3 JSON mapping writes every
/// path segment in lowerCamelCase (`ad_group_ad.ad.id` → `adGroupAd.ad.id`).
pub(crate) fn json_path(gaql_field: &str) -> Vec<String> {
    gaql_field
        .split('.')
        .map(|segment| {
            let mut camel = String::with_capacity(segment.len());
            let mut upper = false;
            for c in segment.chars() {
                if c == '_' {
                    upper = true;
                } else if upper {
                    camel.push(c.to_ascii_uppercase());
                    upper = false;
                } else {
                    camel.push(c);
                }
            }
            camel
        })
        .collect()
}

/// `micros` (an int64 as its decimal text) divided by 10^6, exactly: `"12340000"` →
/// `"12.34"`, `"5"` → `"0.000005"`, `"-1500000"` → `"-1.5"`. Done on the digits, never
/// through a float, so no cent is ever lost to rounding. `None` if `micros` is not an integer.
pub fn cost_from_micros(micros: &str) -> Option<String> {
    let mut text = String::with_capacity(micros.len() + 2);
    push_cost_from_micros(micros, &mut text).then_some(text)
}

/// [`cost_from_micros`] appended to `out`, so a decoder writes every row's cost into one
/// buffer; `false`, with nothing appended, if `micros` is not an integer.
pub(crate) fn push_cost_from_micros(micros: &str, out: &mut String) -> bool {
    let (negative, digits) = match micros.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, micros),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let digits = digits.trim_start_matches('0');
    // The last six digits are the fraction, zero-padded on the left when there are fewer.
    let (units, fraction) = digits.split_at(digits.len().saturating_sub(6));
    let fraction_zeros = 6 - fraction.len();
    let fraction = fraction.trim_end_matches('0');
    if negative && (!units.is_empty() || !fraction.is_empty()) {
        out.push('-');
    }
    out.push_str(if units.is_empty() { "0" } else { units });
    if !fraction.is_empty() {
        out.push('.');
        out.extend(std::iter::repeat_n('0', fraction_zeros));
        out.push_str(fraction);
    }
    true
}

/// Why `id` is not a Google Ads customer id (10 digits, no dashes), if it is not.
pub(crate) fn check_account(id: &str) -> Result<(), String> {
    if id.len() == 10 && id.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    let digits: String = id.chars().filter(char::is_ascii_digit).collect();
    let hint = if digits.len() == 10 && id.chars().all(|c| c.is_ascii_digit() || c == '-') {
        format!("; did you mean \"{digits}\"?")
    } else {
        String::new()
    };
    Err(format!(
        "account id {id:?} is not a Google Ads customer id: expected 10 digits without dashes, e.g. \"1234567890\"{hint}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths_are_lower_camel_case_per_segment() {
        assert_eq!(json_path("metrics.cost_micros"), ["metrics", "costMicros"]);
        assert_eq!(json_path("ad_group_ad.ad.id"), ["adGroupAd", "ad", "id"]);
        assert_eq!(json_path("segments.date"), ["segments", "date"]);
        assert_eq!(
            json_path("campaign.advertising_channel_type"),
            ["campaign", "advertisingChannelType"]
        );
    }

    #[test]
    fn cost_is_micros_over_a_million_without_float_error() {
        let cost = |m: &str| cost_from_micros(m);
        assert_eq!(cost("12340000").as_deref(), Some("12.34"));
        assert_eq!(cost("0").as_deref(), Some("0"));
        assert_eq!(cost("000").as_deref(), Some("0"));
        assert_eq!(cost("5").as_deref(), Some("0.000005"));
        assert_eq!(cost("1000000").as_deref(), Some("1"));
        assert_eq!(cost("999999").as_deref(), Some("0.999999"));
        assert_eq!(cost("-1500000").as_deref(), Some("-1.5"));
        assert_eq!(cost("-0").as_deref(), Some("0"));
        // Beyond f64's 53 bits of exact integers: a float would round the last digits.
        assert_eq!(cost("9223372036854775807").as_deref(), Some("9223372036854.775807"));
        // 0.1 + 0.2 style: 300000 micros is exactly 0.3.
        assert_eq!(cost("300000").as_deref(), Some("0.3"));
        assert_eq!(cost(""), None);
        assert_eq!(cost("-"), None);
        assert_eq!(cost("1.5"), None);
        assert_eq!(cost("1e6"), None);
        let mut out = String::from("a,");
        assert!(!push_cost_from_micros("1e6", &mut out));
        assert!(push_cost_from_micros("100", &mut out));
        assert_eq!(out, "a,0.0001");
    }

    #[test]
    fn every_field_has_a_resource_prefix_and_the_date_is_the_row_date() {
        let dates: Vec<&str> = FIELDS.iter().filter(|f| f.is_row_date).map(|f| f.name).collect();
        assert_eq!(dates, [DATE]);
        for field in FIELDS {
            let prefix = field.name.split('.').next().unwrap();
            let level = match prefix {
                "segments" | "metrics" | "customer" => Level::Account,
                "campaign" => Level::Campaign,
                "ad_group" => Level::Adset,
                "ad_group_ad" => Level::Ad,
                other => panic!("{other} is not a resource adsync reads"),
            };
            assert_eq!(field.min_level, level, "{}", field.name);
        }
        assert_eq!(source_field(COST), COST_MICROS);
        assert_eq!(source_field("metrics.clicks"), "metrics.clicks");
    }
}
