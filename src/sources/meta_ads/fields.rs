//! The Insights fields and breakdowns adsync knows for Meta Ads.
//!
//! Names follow the Graph API `AdsInsights` object. Metrics come back as decimal strings and
//! are written unchanged.

use crate::query::Level;
use crate::sources::FieldSpec;

const fn field(name: &'static str, min_level: Level) -> FieldSpec {
    FieldSpec::new(name, min_level)
}

/// Every insights field a query may name.
pub const FIELDS: &[FieldSpec] = &[
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
pub const BREAKDOWNS: &[&str] = &["age", "gender", "country", "publisher_platform", "device_platform"];
