//! Sources: the platforms rows come from.
//!
//! Each platform has a folder with the same shape (fields catalog, client, decoding); the
//! shared fetch logic (retries, backoff, error classification) lives in [`http`].

pub mod meta_ads;

use serde::{Deserialize, Serialize};

use crate::query::Level;

/// A supported ad platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// Meta (Facebook) Marketing API insights.
    MetaAds,
}

impl Provider {
    /// The name used in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::MetaAds => "meta_ads",
        }
    }

    /// Fields this platform can report, with the level each needs.
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            Provider::MetaAds => meta_ads::fields::FIELDS,
        }
    }

    /// Breakdowns this platform accepts.
    pub fn breakdowns(self) -> &'static [&'static str] {
        match self {
            Provider::MetaAds => meta_ads::fields::BREAKDOWNS,
        }
    }

    /// Looks a field up by name.
    pub fn field(self, name: &str) -> Option<&'static FieldSpec> {
        self.fields().iter().find(|f| f.name == name)
    }
}

/// What adsync knows about one platform field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The platform's field name.
    pub name: &'static str,
    /// The most detailed level the field belongs to: `campaign_name` needs campaign level or
    /// finer, `impressions` works at any level (`Level::Account`).
    pub min_level: Level,
    /// The row's date: append mode upserts by this column.
    pub is_row_date: bool,
}
