//! The GA4 dimensions and metrics adsync knows (`catalog`), named as the Data API names them
//! (`https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema`), and
//! the shape of a property's custom ones ([`is_custom`]).
//!
//! A query's `fields` mixes both kinds; the request sends dimensions and metrics apart, so the
//! catalog says which is which ([`is_metric`]); for custom fields the property's metadata does.
//!
//! Also GA4's constant facts: its OAuth scope, how far back it reports, how long a
//! date slice one request may cover, where the real API is, and what an account id looks like.

mod catalog;

pub(crate) use catalog::FIELDS;
use catalog::FIRST_METRIC;

/// The day dimension, `YYYYMMDD` in answers, written as an ISO date.
pub(crate) const DATE: &str = "date";

/// The OAuth scope of the GA4 Data API.
pub(crate) const SCOPE: &str = "https://www.googleapis.com/auth/analytics.readonly";

/// How far back reports go (GA4 standard reports are not limited by data retention; 14
/// months is the shortest retention setting, which explorations obey).
pub(crate) const HISTORY_MONTHS: u32 = 14;

/// Offset paging reads a whole window: no slicing.
pub(crate) const MAX_UNIT_DAYS: Option<i64> = None;

/// Where the real GA4 Data API is.
pub(crate) const API_BASE: &str = "https://analyticsdata.googleapis.com";

/// Where the real GA4 Admin API is (property listing).
pub(crate) const ADMIN_BASE: &str = "https://analyticsadmin.googleapis.com";

/// Whether `name` is a metric (sent under `metrics`) rather than a dimension.
pub(crate) fn is_metric(name: &str) -> bool {
    let at = |wanted: &str| FIELDS.iter().position(|f| f.name == wanted);
    matches!((at(name), at(FIRST_METRIC)), (Some(index), Some(first)) if index >= first)
}

/// How custom dimensions and metrics are named: the scope, a colon, then the event
/// parameter, user property or item parameter the property registered
/// (https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema#custom_dimensions).
pub(crate) const CUSTOM_PREFIXES: [&str; 3] = ["customEvent:", "customUser:", "customItem:"];

/// Whether `name` has the shape of a custom dimension or metric (`customEvent:plan_type`).
/// Only the property's metadata says whether it exists.
pub(crate) fn is_custom(name: &str) -> bool {
    CUSTOM_PREFIXES.iter().any(|prefix| {
        name.strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    })
}

/// Whether `name` is in the catalog at all.
pub(crate) fn is_known(name: &str) -> bool {
    FIELDS.iter().any(|f| f.name == name)
}

/// Why `id` is not a GA4 property id (digits), if it is not.
pub(crate) fn check_account(id: &str) -> Result<(), String> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    let hint = match id.strip_prefix("properties/") {
        Some(digits) => format!("; did you mean \"{digits}\"?"),
        None => String::new(),
    };
    Err(format!(
        "account id {id:?} is not a GA4 property id: expected its digits, e.g. \"123456789\"{hint}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_come_first_then_metrics_each_described() {
        let first = FIELDS.iter().position(|f| f.name == FIRST_METRIC).unwrap();
        for (index, spec) in FIELDS.iter().enumerate() {
            assert_eq!(is_metric(spec.name), index >= first, "{}", spec.name);
            assert!(!spec.about.is_empty(), "{}", spec.name);
        }
        assert!(is_metric("sessions") && is_metric("keyEvents") && !is_metric("sessionSource"));
        assert!(
            !is_metric("customEvent:credits_used"),
            "custom metrics are known from the metadata"
        );
    }

    #[test]
    fn custom_fields_are_recognized_by_shape() {
        assert!(is_custom("customEvent:plan_type") && is_custom("customUser:tier") && is_custom("customItem:color2"));
        assert!(!is_custom("customEvent:") && !is_custom("customSession:x") && !is_custom("customEvent:a-b"));
        assert!(!is_custom("sessions"));
    }

    #[test]
    fn names_are_unique_and_date_is_the_row_date() {
        let mut names: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FIELDS.len());
        let dates: Vec<&str> = FIELDS.iter().filter(|f| f.is_row_date).map(|f| f.name).collect();
        assert_eq!(dates, [DATE]);
        assert!(!is_metric("date") && is_metric("sessions") && !is_known("sesions"));
    }
}
