//! The `ga4` part of the sandbox settings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The largest `limit` of a `runReport` request.
pub const MAX_LIMIT: i64 = 250_000;

/// This part of the sandbox world, in `PUT /_sandbox/settings` under its own key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// GA4 property ids that exist; every user can read them unless denied. The deny list is
    /// the one Meta's accounts use, by number: `/_sandbox/users/{user}/accounts/deny?account=act_123456789`
    /// denies property 123456789.
    pub properties: Vec<u64>,
    /// Values of dimensions, replacing the built-in lists: `{"country": ["Germany", "Spain"]}`.
    /// Time dimensions (`date`, `month`, …) come from the dates and cannot be listed.
    pub dimension_values: BTreeMap<String, Vec<String>>,
    /// `metadata.currencyCode` of every property.
    pub currency_code: String,
    /// `metadata.timeZone` of every property.
    pub time_zone: String,
    /// The most rows one response holds, whatever its `limit`: a server may answer fewer
    /// rows than asked, and a small cap makes short reports page.
    pub max_page_rows: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            properties: vec![123_456_789, 234_567_890],
            dimension_values: BTreeMap::new(),
            currency_code: "USD".into(),
            time_zone: "Europe/Berlin".into(),
            max_page_rows: MAX_LIMIT as u32,
        }
    }
}
