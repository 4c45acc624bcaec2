//! The GA4 dimensions and metrics adsync knows, named as the Data API names them.

use crate::query::Level;
use crate::sources::FieldSpec;

/// Every dimension and metric a query may name.
pub const FIELDS: &[FieldSpec] = &[
    FieldSpec::row_date("date"),
    FieldSpec::new("sessionDefaultChannelGroup", Level::Account),
    FieldSpec::new("sessions", Level::Account),
    FieldSpec::new("activeUsers", Level::Account),
];
