//! The Insights fields and breakdowns adsync knows for Meta Ads.
//!
//! Names follow the Graph API `AdsInsights` object. Metrics come back as decimal strings and
//! are written unchanged.
//!
//! Also Meta's constant facts: its OAuth scope, how far back it reports, how long a
//! date slice one request may cover, where the real API is, and what an account id looks like.

use super::{FieldSpec, Level};

/// Windows longer than this many days are fetched with an async report run (daily reports
/// are cut into slices of at most this many days before they get here).
pub(crate) const ASYNC_AFTER_DAYS: i64 = 31;

/// The permission reports need.
pub(crate) const SCOPE: &str = "ads_read";

/// Graph keeps insights for 37 months.
pub(crate) const HISTORY_MONTHS: u32 = 37;

/// Where the real Graph API is.
pub(crate) const GRAPH_BASE: &str = "https://graph.facebook.com";

const fn field(name: &'static str, min_level: Level) -> FieldSpec {
    FieldSpec::new(name, min_level)
}

/// Every insights field a query may name.
pub(crate) const FIELDS: &[FieldSpec] = &[
    FieldSpec::row_date("date_start"),
    field("date_stop", Level::Account),
    field("account_id", Level::Account),
    field("account_name", Level::Account),
    field("account_currency", Level::Account),
    field("campaign_id", Level::Campaign),
    field("campaign_name", Level::Campaign),
    field("objective", Level::Campaign),
    field("adset_id", Level::Adset),
    field("adset_name", Level::Adset),
    field("ad_id", Level::Ad),
    field("ad_name", Level::Ad),
    field("impressions", Level::Account),
    field("reach", Level::Account),
    field("frequency", Level::Account),
    field("clicks", Level::Account),
    field("unique_clicks", Level::Account),
    field("inline_link_clicks", Level::Account),
    field("spend", Level::Account),
    field("cpc", Level::Account),
    field("cpm", Level::Account),
    field("ctr", Level::Account),
];

/// Breakdowns a query may name.
pub(crate) const BREAKDOWNS: &[&str] = &["age", "gender", "country", "publisher_platform", "device_platform"];

/// Why `id` is not a Meta ad account id (`act_<digits>`), if it is not.
pub(crate) fn check_account(id: &str) -> Result<(), String> {
    let valid = id
        .strip_prefix("act_")
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
    if valid {
        return Ok(());
    }
    let hint = if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        format!("; did you mean \"act_{id}\"?")
    } else {
        String::new()
    };
    Err(format!(
        "account id {id:?} is not a Meta ad account id: expected \"act_<digits>\", e.g. \"act_1001\"{hint}"
    ))
}
