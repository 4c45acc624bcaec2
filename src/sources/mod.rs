//! Sources: the platforms rows come from.
//!
//! Each platform has a folder with the same shape (fields catalog, client, decoding); the
//! shared fetch logic (retries, backoff, error classification) lives in [`http`].

pub mod http;
pub mod meta_ads;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::config::ConnectionConfig;
use crate::query::{Level, Query};
use crate::rows::{DateWindow, RowBatch};
use crate::store::Identity;
use http::{ApiClient, FetchError};

/// A connection's platform reader.
#[derive(Debug, Clone)]
pub enum Source {
    /// Meta Ads insights.
    MetaAds(meta_ads::MetaAds),
}

impl Source {
    /// The reader for `conn`, sending every request through `api`.
    pub fn new(conn: &ConnectionConfig, api: ApiClient) -> Self {
        match conn.provider {
            Provider::MetaAds => Source::MetaAds(meta_ads::MetaAds::new(conn, api)),
        }
    }

    /// The accounts the connection's token can read, in the ids query files use.
    pub async fn accounts(&self) -> Result<Vec<String>, FetchError> {
        match self {
            Source::MetaAds(meta) => meta.ad_accounts().await,
        }
    }

    /// Streams `query`'s rows for `window` into `tx`, account by account, one batch per
    /// platform page. Returns the number of rows sent.
    pub async fn fetch(
        &self,
        query: &Query,
        window: DateWindow,
        tx: &mpsc::Sender<RowBatch>,
    ) -> Result<u64, FetchError> {
        let columns = query.columns();
        let mut rows = 0;
        for account in &query.accounts {
            rows += match self {
                Source::MetaAds(meta) => {
                    let request = meta_ads::InsightsRequest {
                        account,
                        level: query.level,
                        columns: &columns,
                        breakdowns: &query.breakdowns,
                        filters: &query.filters,
                        window,
                        increment: query.time_increment,
                    };
                    meta.fetch(&request, tx).await?
                }
            };
            if tx.is_closed() {
                break;
            }
        }
        Ok(rows)
    }

    /// The platform user the connection's token acts as.
    pub async fn identity(&self) -> Result<Identity, FetchError> {
        match self {
            Source::MetaAds(meta) => meta.identity().await,
        }
    }
}

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
