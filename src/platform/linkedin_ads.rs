//! The adAnalytics fields adsync knows for LinkedIn Ads.
//!
//! Three columns describe the row and are read from every element whatever was asked:
//! `date` and `date_end` (the element's `dateRange` start and end as `YYYY-MM-DD`; the same day
//! for daily rows, the window's ends for totals) and `pivot_value` (the URN of the account,
//! campaign group, campaign or creative the row is about, `pivotValues[0]`). Every other
//! field is a metric, named as adAnalytics names it and written as the API sent it (counts
//! are JSON numbers, money is a decimal string).
//!
//! Also LinkedIn Ads's constant facts: its OAuth scope, how far back it reports, how long a
//! date slice one request may cover, where the real API is, and what an account id looks like.

use super::{FieldSpec, Level};

/// The URN prefix of ad account ids.
pub(crate) const ACCOUNT_URN_PREFIX: &str = "urn:li:sponsoredAccount:";

/// The OAuth scope that reads ad analytics.
pub(crate) const SCOPE: &str = "r_ads_reporting";

/// How far back reports go.
pub(crate) const HISTORY_MONTHS: u32 = 24;

/// Daily windows are read a month at a time, keeping each answer well under the element cap.
pub(crate) const MAX_UNIT_DAYS: Option<i64> = Some(31);

/// Where the real LinkedIn API is.
pub(crate) const API_BASE: &str = "https://api.linkedin.com";

/// The row's first day (`dateRange.start`).
pub(crate) const DATE: &str = "date";
/// The row's last day (`dateRange.end`).
pub(crate) const DATE_END: &str = "date_end";
/// The URN the row is about (`pivotValues[0]`).
pub(crate) const PIVOT_VALUE: &str = "pivot_value";

const fn metric(name: &'static str) -> FieldSpec {
    FieldSpec::new(name, Level::Account)
}

/// Every field a query may name.
pub(crate) const FIELDS: &[FieldSpec] = &[
    FieldSpec::row_date(DATE),
    FieldSpec::new(DATE_END, Level::Account),
    FieldSpec::new(PIVOT_VALUE, Level::Account),
    metric("impressions"),
    metric("clicks"),
    metric("costInLocalCurrency"),
    metric("costInUsd"),
    metric("landingPageClicks"),
    metric("externalWebsiteConversions"),
    metric("externalWebsitePostClickConversions"),
    metric("externalWebsitePostViewConversions"),
    metric("conversionValueInLocalCurrency"),
    metric("oneClickLeads"),
    metric("oneClickLeadFormOpens"),
    metric("likes"),
    metric("reactions"),
    metric("shares"),
    metric("comments"),
    metric("follows"),
    metric("totalEngagements"),
    metric("otherEngagements"),
    metric("companyPageClicks"),
    metric("actionClicks"),
    metric("adUnitClicks"),
    metric("textUrlClicks"),
    metric("videoViews"),
    metric("videoStarts"),
    metric("videoFirstQuartileCompletions"),
    metric("videoMidpointCompletions"),
    metric("videoThirdQuartileCompletions"),
    metric("videoCompletions"),
    metric("fullScreenPlays"),
    metric("opens"),
    metric("sends"),
    metric("viralImpressions"),
    metric("viralClicks"),
];

/// Whether `name` is a metric (asked for in `fields`), not a row-describing column.
pub(crate) fn is_metric(name: &str) -> bool {
    ![DATE, DATE_END, PIVOT_VALUE].contains(&name)
}

/// Why `id` is not a LinkedIn ad account id (digits), if it is not.
pub(crate) fn check_account(id: &str) -> Result<(), String> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    let hint = match id.strip_prefix(ACCOUNT_URN_PREFIX) {
        Some(digits) => format!("; did you mean \"{digits}\"?"),
        None => String::new(),
    };
    Err(format!(
        "account id {id:?} is not a LinkedIn ad account id: expected its digits, e.g. \"511009658\"{hint}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_digits_and_urns_get_a_hint() {
        assert!(check_account("511009658").is_ok());
        let error = check_account("urn:li:sponsoredAccount:511009658").unwrap_err();
        assert!(error.contains("did you mean \"511009658\""), "{error}");
        assert!(check_account("").is_err());
    }
}
