//! The GAQL fields adsync knows for Google Ads, named as GAQL names them.

use crate::query::Level;
use crate::sources::FieldSpec;

/// Every field a query may name.
pub const FIELDS: &[FieldSpec] = &[
    FieldSpec::row_date("segments.date"),
    FieldSpec::new("customer.id", Level::Account),
    FieldSpec::new("customer.descriptive_name", Level::Account),
    FieldSpec::new("campaign.id", Level::Campaign),
    FieldSpec::new("campaign.name", Level::Campaign),
    FieldSpec::new("ad_group.id", Level::Adset),
    FieldSpec::new("ad_group.name", Level::Adset),
    FieldSpec::new("ad_group_ad.ad.id", Level::Ad),
    FieldSpec::new("metrics.impressions", Level::Account),
    FieldSpec::new("metrics.clicks", Level::Account),
    FieldSpec::new("metrics.cost_micros", Level::Account),
];
