//! The GA4 dimensions and metrics adsync knows, named as the Data API names them
//! (`https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema`).
//!
//! A query's `fields` mixes both kinds; the request sends dimensions and metrics apart, so the
//! catalog says which is which ([`is_metric`]).
//!
//! Also GA4's constant facts: its OAuth scope, how far back it reports, how long a
//! date slice one request may cover, where the real API is, and what an account id looks like.

use super::{FieldSpec, Level};

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

/// A dimension or metric: GA4 has no levels, every name works at the account level.
const fn field(name: &'static str) -> FieldSpec {
    FieldSpec::new(name, Level::Account)
}

/// Every dimension and metric a query may name: dimensions first, then [`METRICS`].
pub(crate) const FIELDS: &[FieldSpec] = &[
    // Time.
    FieldSpec::row_date("date"),
    field("dateHour"),
    field("year"),
    field("month"),
    field("week"),
    field("isoYearIsoWeek"),
    field("dayOfWeek"),
    // Geography and technology.
    field("country"),
    field("countryId"),
    field("region"),
    field("city"),
    field("language"),
    field("deviceCategory"),
    field("operatingSystem"),
    field("browser"),
    field("platform"),
    // Acquisition.
    field("sessionDefaultChannelGroup"),
    field("sessionSource"),
    field("sessionMedium"),
    field("sessionSourceMedium"),
    field("sessionCampaignName"),
    field("sessionGoogleAdsCampaignName"),
    field("firstUserDefaultChannelGroup"),
    field("firstUserSource"),
    field("firstUserMedium"),
    field("firstUserCampaignName"),
    field("newVsReturning"),
    // Pages and events.
    field("landingPage"),
    field("landingPagePlusQueryString"),
    field("pagePath"),
    field("pageTitle"),
    field("hostName"),
    field("eventName"),
    // Ecommerce.
    field("itemName"),
    field("itemCategory"),
    field("transactionId"),
    // Metrics.
    field("sessions"),
    field("activeUsers"),
    field("newUsers"),
    field("totalUsers"),
    field("screenPageViews"),
    field("screenPageViewsPerSession"),
    field("sessionsPerUser"),
    field("engagedSessions"),
    field("engagementRate"),
    field("bounceRate"),
    field("averageSessionDuration"),
    field("userEngagementDuration"),
    field("eventCount"),
    field("eventsPerSession"),
    field("conversions"),
    field("keyEvents"),
    field("totalRevenue"),
    field("purchaseRevenue"),
    field("transactions"),
    field("ecommercePurchases"),
    field("addToCarts"),
    field("checkouts"),
    field("itemRevenue"),
    field("itemsPurchased"),
];

/// The names in [`FIELDS`] that are metrics; every other name is a dimension.
pub(crate) const METRICS: &[&str] = &[
    "sessions",
    "activeUsers",
    "newUsers",
    "totalUsers",
    "screenPageViews",
    "screenPageViewsPerSession",
    "sessionsPerUser",
    "engagedSessions",
    "engagementRate",
    "bounceRate",
    "averageSessionDuration",
    "userEngagementDuration",
    "eventCount",
    "eventsPerSession",
    "conversions",
    "keyEvents",
    "totalRevenue",
    "purchaseRevenue",
    "transactions",
    "ecommercePurchases",
    "addToCarts",
    "checkouts",
    "itemRevenue",
    "itemsPurchased",
];

/// Whether `name` is a metric (sent under `metrics`) rather than a dimension.
pub(crate) fn is_metric(name: &str) -> bool {
    METRICS.contains(&name)
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
    fn every_metric_is_in_the_catalog_after_the_dimensions() {
        let first_metric = FIELDS.iter().position(|f| is_metric(f.name)).unwrap();
        for (index, spec) in FIELDS.iter().enumerate() {
            assert_eq!(is_metric(spec.name), index >= first_metric, "{}", spec.name);
        }
        assert_eq!(FIELDS.len() - first_metric, METRICS.len());
        assert!(METRICS.iter().all(|m| is_known(m)));
    }

    #[test]
    fn names_are_unique_and_date_is_the_row_date() {
        let mut names: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FIELDS.len());
        let dates: Vec<&str> = FIELDS.iter().filter(|f| f.is_row_date).map(|f| f.name).collect();
        assert_eq!(dates, ["date"]);
        assert!(!is_metric("date") && is_metric("sessions") && !is_known("sesions"));
    }
}
