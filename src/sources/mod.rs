//! Sources: the platforms rows come from.
//!
//! Each platform has a folder with the same shape (fields catalog, client, decoding); the
//! shared fetch logic (retries, backoff, error classification) lives in [`http`].

pub mod http;
pub mod meta_ads;

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::ConnectionConfig;
use crate::query::{Level, Query, TimeIncrement};
use crate::rows::{DateWindow, RowBatch};
use crate::store::Identity;
use http::{ApiClient, FetchError};

/// Pages a unit of a report may fetch ahead of its turn to be written.
pub const UNIT_PAGES_AHEAD: usize = 1;

/// A unit being fetched: its pages as they come, and the task's result.
type RunningUnit = (mpsc::Receiver<RowBatch>, JoinHandle<Result<u64, FetchError>>);

/// The parts of a query a fetch task owns.
struct UnitQuery {
    level: Level,
    breakdowns: Vec<String>,
    filters: Vec<crate::query::Filter>,
    increment: TimeIncrement,
}

impl UnitQuery {
    fn of(query: &Query) -> Self {
        Self {
            level: query.level,
            breakdowns: query.breakdowns.clone(),
            filters: query.filters.clone(),
            increment: query.time_increment,
        }
    }
}

/// The (account, dates) pieces of a report, in output order. Daily rows are cut into slices
/// short enough for synchronous reads; whole-window totals cannot be cut.
fn units(query: &Query, window: DateWindow) -> Vec<(String, DateWindow)> {
    let slices: Vec<DateWindow> = match query.time_increment {
        TimeIncrement::Total => vec![window],
        TimeIncrement::Daily => {
            let mut slices = Vec::new();
            let mut start = window.start;
            while start <= window.end {
                let end = (start + chrono::Days::new(meta_ads::ASYNC_AFTER_DAYS as u64 - 1)).min(window.end);
                slices.push(DateWindow::new(start, end));
                start = end + chrono::Days::new(1);
            }
            slices
        }
    };
    query
        .accounts
        .iter()
        .flat_map(|account| slices.iter().map(move |slice| (account.clone(), *slice)))
        .collect()
}

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

    /// When the user's data-access consent ends, where the platform says.
    pub async fn data_access_expires_at(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, FetchError> {
        match self {
            Source::MetaAds(meta) => meta.data_access_expires_at().await,
        }
    }

    /// The accounts the connection's token can read, in the ids query files use.
    pub async fn accounts(&self) -> Result<Vec<String>, FetchError> {
        match self {
            Source::MetaAds(meta) => meta.ad_accounts().await,
        }
    }

    /// Streams `query`'s rows for `window` into `tx`, in order: account by account, and for
    /// daily rows in date slices of at most [`meta_ads::ASYNC_AFTER_DAYS`] days (each a cheap
    /// synchronous read). Up to [`HttpPolicy::max_requests_per_connection`] units are fetched
    /// at once — a latency-bound backfill of many accounts is not one request at a time —
    /// yet rows leave in order and memory stays bounded: each unit buffers at most
    /// [`UNIT_PAGES_AHEAD`] pages until its turn. Returns the number of rows sent.
    ///
    /// [`HttpPolicy::max_requests_per_connection`]: crate::config::HttpPolicy
    pub async fn fetch(
        &self,
        query: &Query,
        window: DateWindow,
        tx: &mpsc::Sender<RowBatch>,
    ) -> Result<u64, FetchError> {
        let Source::MetaAds(meta) = self;
        let columns = Arc::new(query.columns());
        let units = units(query, window);
        // Start with two units in flight; widen to the connection's limit once a unit turns out
        // to be a page or two (latency-bound), stay narrow when units are long (bound by
        // decoding and writing, where units waiting their turn would only hold memory).
        let widest = meta.api().policy().max_requests_per_connection.max(1);
        let mut ahead = widest.min(2);
        let mut pending = units.into_iter();
        let mut running: VecDeque<RunningUnit> = VecDeque::new();
        let mut rows = 0;
        loop {
            while running.len() < ahead {
                let Some((account, slice)) = pending.next() else { break };
                let (unit_tx, unit_rx) = mpsc::channel(UNIT_PAGES_AHEAD);
                let meta = meta.clone();
                let columns = columns.clone();
                let query = UnitQuery::of(query);
                let task = tokio::spawn(async move {
                    let request = meta_ads::InsightsRequest {
                        account: &account,
                        level: query.level,
                        columns: &columns,
                        breakdowns: &query.breakdowns,
                        filters: &query.filters,
                        window: slice,
                        increment: query.increment,
                    };
                    meta.fetch(&request, &unit_tx).await
                });
                running.push_back((unit_rx, task));
            }
            let Some((mut unit_rx, task)) = running.pop_front() else {
                break;
            };
            let mut pages = 0;
            while let Some(batch) = unit_rx.recv().await {
                pages += 1;
                if tx.send(batch).await.is_err() {
                    // The sink stopped (and reports why); stop every unit.
                    task.abort();
                    running.iter().for_each(|(_, t)| t.abort());
                    return Ok(rows);
                }
            }
            ahead = if pages > UNIT_PAGES_AHEAD + 1 {
                widest.min(2)
            } else {
                widest
            };
            match task.await {
                Ok(Ok(sent)) => rows += sent,
                Ok(Err(e)) => {
                    running.iter().for_each(|(_, t)| t.abort());
                    return Err(e);
                }
                Err(e) => {
                    running.iter().for_each(|(_, t)| t.abort());
                    return Err(FetchError::Protocol(format!("a fetch task stopped unexpectedly: {e}")));
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &str) -> Query {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.toml");
        std::fs::write(&path, text).unwrap();
        let ctx = crate::query::ValidationContext {
            connections: [("meta-demo".to_string(), Provider::MetaAds)].into(),
            output_dir: dir.path().to_path_buf(),
        };
        crate::query::load_file(&path, &ctx).unwrap()
    }

    const QUERY: &str = r#"connection = "meta-demo"
accounts = ["act_1", "act_2"]
level = "campaign"
fields = ["date_start", "impressions"]
date_range = { start = "2026-01-01", end = "2026-03-31" }
time_increment = "INCREMENT"

[schedule]
cron = "0 6 * * *"

[output]
kind = "csv"
path = "q.csv"
mode = "replace"
"#;

    #[test]
    fn daily_reports_are_cut_into_sync_sized_slices_in_output_order() {
        let q = query(&QUERY.replace("INCREMENT", "daily"));
        let window = DateWindow::new("2026-01-01".parse().unwrap(), "2026-03-31".parse().unwrap());
        let units: Vec<String> = units(&q, window).iter().map(|(a, w)| format!("{a} {w}")).collect();
        assert_eq!(
            units,
            [
                "act_1 2026-01-01..2026-01-31",
                "act_1 2026-02-01..2026-03-03",
                "act_1 2026-03-04..2026-03-31",
                "act_2 2026-01-01..2026-01-31",
                "act_2 2026-02-01..2026-03-03",
                "act_2 2026-03-04..2026-03-31",
            ]
        );
    }

    #[test]
    fn totals_are_never_cut() {
        let q = query(&QUERY.replace("INCREMENT", "total"));
        let window = DateWindow::new("2026-01-01".parse().unwrap(), "2026-03-31".parse().unwrap());
        assert_eq!(units(&q, window).len(), 2);
    }
}
