//! The query file as written: serde structs that mirror the TOML.
//!
//! Every value is wrapped in [`Spanned`] so the checks can point at it. The tables here
//! ignore keys they do not know, so that one typo does not hide a file's other problems;
//! `super::key_tree` reports those keys (a typo is never a silently ignored setting).

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::Filter;

/// The file as written: every value keeps its position for diagnostics.
///
/// Required keys are `Option` too, so a missing one is reported with the other problems
/// instead of alone.
#[derive(Deserialize)]
pub(super) struct RawQuery {
    /// Connection id from the config.
    pub(super) connection: Option<Spanned<String>>,
    /// `meta_ads`, `google_ads`, `ga4` or `linkedin_ads`; only needed when the connection
    /// serves several (a Google login reads Google Ads and GA4).
    pub(super) platform: Option<Spanned<String>>,
    /// Google Ads: the manager account (MCC) the accounts are reached through.
    pub(super) login_customer_id: Option<Spanned<String>>,
    /// Google Ads: a whole GAQL query instead of `level` and `fields`; adsync adds the date
    /// condition of each run.
    pub(super) gaql: Option<Spanned<String>>,
    /// Platform account ids.
    pub(super) accounts: Option<Spanned<Vec<Spanned<String>>>>,
    /// `account`, `campaign`, `adset` or `ad`.
    pub(super) level: Option<Spanned<String>>,
    /// Platform field names, in column order.
    pub(super) fields: Option<Spanned<Vec<Spanned<String>>>>,
    /// Platform breakdowns (optional).
    pub(super) breakdowns: Option<Spanned<Vec<Spanned<String>>>>,
    /// Platform filters (optional).
    pub(super) filters: Option<Spanned<Vec<Spanned<Filter>>>>,
    /// Meta: attribution windows reported per action type, e.g. `["7d_click", "1d_view"]`.
    pub(super) action_attribution_windows: Option<Spanned<Vec<Spanned<String>>>>,
    /// Meta: `impression`, `conversion`, `mixed` or `lifetime`.
    pub(super) action_report_time: Option<Spanned<String>>,
    /// A preset name or `{ start, end }`.
    pub(super) date_range: Option<Spanned<RawDateRange>>,
    /// `daily` (default) or `total`.
    pub(super) time_increment: Option<Spanned<String>>,
    /// Email addresses (optional).
    pub(super) notify: Option<Spanned<Vec<Spanned<String>>>>,
    /// `[schedule]`.
    pub(super) schedule: Option<Spanned<RawSchedule>>,
    /// `[output]`.
    pub(super) output: Option<Spanned<RawOutput>>,
}

/// `[schedule]` as written.
#[derive(Deserialize)]
pub(super) struct RawSchedule {
    /// 5 or 6 cron fields.
    pub(super) cron: Option<Spanned<String>>,
    /// IANA zone name; UTC when absent.
    pub(super) timezone: Option<Spanned<String>>,
}

/// `[output]` as written.
#[derive(Deserialize)]
pub(super) struct RawOutput {
    /// `csv` (the default) or `google_sheets`.
    pub(super) kind: Option<Spanned<String>>,
    /// CSV: relative to the config's `output_dir`.
    pub(super) path: Option<Spanned<String>>,
    /// `replace` (default) or `append`.
    pub(super) mode: Option<Spanned<String>>,
    /// Sheets: the id in the spreadsheet's URL.
    pub(super) spreadsheet_id: Option<Spanned<String>>,
    /// Sheets: the tab, created if missing.
    pub(super) sheet: Option<Spanned<String>>,
    /// Sheets: where the header goes (A1 cell), `A1` by default.
    pub(super) start_cell: Option<Spanned<String>>,
    /// Sheets: `user_entered` (default: numbers, dates typed) or `raw` (text as sent).
    pub(super) value_input: Option<Spanned<String>>,
    /// Sheets: the Google connection (or service account) that writes; the query's own
    /// connection by default when it is a Google one.
    pub(super) connection: Option<Spanned<String>>,
}

/// `date_range`: a preset name or `{ start, end }`. Hand-written because serde's untagged
/// enums buffer the value and lose the positions `Spanned` needs.
pub(super) enum RawDateRange {
    /// `today`, `last_7_days`, ...
    Preset(String),
    /// Fixed dates, quoted or bare TOML dates.
    Fixed {
        /// First day.
        start: Option<Spanned<toml::Value>>,
        /// Last day, inclusive.
        end: Option<Spanned<toml::Value>>,
    },
}

impl<'de> Deserialize<'de> for RawDateRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RangeVisitor;

        impl<'de> Visitor<'de> for RangeVisitor {
            type Value = RawDateRange;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a string such as \"last_7_days\" or a table { start = \"YYYY-MM-DD\", end = \"YYYY-MM-DD\" }",
                )
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawDateRange::Preset(v.to_string()))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (mut start, mut end) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "start" => start = Some(map.next_value()?),
                        "end" => end = Some(map.next_value()?),
                        // How toml hands over a bare date such as `date_range = 2026-01-01`.
                        "$__toml_private_datetime" => {
                            return Err(de::Error::custom(
                                "date_range is a single date: write { start = \"YYYY-MM-DD\", end = \"YYYY-MM-DD\" }",
                            ))
                        }
                        other => return Err(de::Error::unknown_field(other, &["start", "end"])),
                    }
                }
                Ok(RawDateRange::Fixed { start, end })
            }
        }

        deserializer.deserialize_any(RangeVisitor)
    }
}
