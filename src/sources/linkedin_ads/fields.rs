//! The adAnalytics fields adsync knows for LinkedIn Ads.

use crate::query::Level;
use crate::sources::FieldSpec;

/// Every field a query may name.
pub const FIELDS: &[FieldSpec] = &[
    FieldSpec::row_date("date"),
    FieldSpec::new("pivotValue", Level::Account),
    FieldSpec::new("impressions", Level::Account),
    FieldSpec::new("clicks", Level::Account),
    FieldSpec::new("costInLocalCurrency", Level::Account),
];
