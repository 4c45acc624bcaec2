//! Sources: the platforms rows come from.
//!
//! Each platform has a folder with the same shape (fields catalog, client, decoding); the
//! shared fetch logic (retries, backoff, error classification) lives in `crate::http`.

pub mod ga4;
pub(crate) mod google;
pub mod google_ads;
pub(crate) mod json_scan;
pub mod linkedin_ads;
pub mod meta_ads;
pub(crate) mod userinfo;

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::ConnectionConfig;
use crate::http::{ApiClient, FetchError};
pub use crate::platform::{FieldSpec, Platform, Provider, TokenFacts};
use crate::query::{Query, TimeIncrement};
use crate::rows::{BatchForm, DateWindow, RowBatch};
use crate::store::Identity;

/// Pages a unit of a report may fetch ahead of its turn to be written.
pub(crate) const UNIT_PAGES_AHEAD: usize = 1;

/// A unit being fetched: its pages as they come, and the task's result.
type RunningUnit = (mpsc::Receiver<RowBatch>, JoinHandle<Result<u64, FetchError>>);

/// The (account, dates) pieces of a report, in output order. Daily rows are cut into slices
/// the platform reads cheaply (Meta: short enough for synchronous reads); whole-window
/// totals cannot be cut.
fn units(query: &Query, window: DateWindow) -> Vec<(String, DateWindow)> {
    let slices: Vec<DateWindow> = match (query.time_increment, query.platform.max_unit_days()) {
        (TimeIncrement::Total, _) | (TimeIncrement::Daily, None) => vec![window],
        (TimeIncrement::Daily, Some(max_days)) => {
            let mut slices = Vec::new();
            let mut start = window.start;
            while start <= window.end {
                let end = (start + chrono::Days::new(max_days as u64 - 1)).min(window.end);
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

/// An account a connection's login can read, as `adsync accounts` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccountInfo {
    /// The platform it belongs to (`meta_ads`, `google_ads`, `ga4`, `linkedin_ads`).
    pub platform: String,
    /// The id exactly as a query file's `accounts` wants it.
    pub id: String,
    /// The name people know it by.
    pub name: String,
    /// ISO 4217 currency of its money columns.
    pub currency: String,
    /// The time zone its days are counted in; `None` where the platform has none per
    /// account (LinkedIn).
    pub time_zone: Option<String>,
    /// Google Ads: a manager (MCC) account, which has no metrics of its own.
    pub manager: bool,
    /// Google Ads: the manager a query reaches this client through (its
    /// `login_customer_id`); `None` when reached directly.
    pub login_customer_id: Option<String>,
}

/// A reader for one platform, on one connection.
#[derive(Debug, Clone)]
pub enum Source {
    /// Meta Ads insights.
    MetaAds(meta_ads::MetaAds),
    /// Google Ads reports (GAQL through `googleAds:searchStream`).
    GoogleAds(google_ads::GoogleAds),
    /// Google Analytics 4 Data API reports.
    Ga4(ga4::Ga4),
    /// LinkedIn Ads analytics.
    LinkedinAds(linkedin_ads::LinkedinAds),
}

impl Source {
    /// The `platform` reader for `conn`, sending every request through `api`.
    pub(crate) fn new(conn: &ConnectionConfig, platform: Platform, api: ApiClient) -> Self {
        match platform {
            Platform::MetaAds => Source::MetaAds(meta_ads::MetaAds::new(conn, api)),
            Platform::GoogleAds => Source::GoogleAds(google_ads::GoogleAds::new(conn, api)),
            Platform::Ga4 => Source::Ga4(ga4::Ga4::new(conn, api)),
            Platform::LinkedinAds => Source::LinkedinAds(linkedin_ads::LinkedinAds::new(conn, api)),
        }
    }

    /// The readers of every platform `conn` serves.
    pub(crate) fn all_for(conn: &ConnectionConfig, api: &ApiClient) -> Vec<(Platform, Source)> {
        conn.provider
            .platforms()
            .iter()
            .map(|platform| (*platform, Source::new(conn, *platform, api.clone())))
            .collect()
    }

    fn api(&self) -> &ApiClient {
        match self {
            Source::MetaAds(s) => s.api(),
            Source::GoogleAds(s) => s.api(),
            Source::Ga4(s) => s.api(),
            Source::LinkedinAds(s) => s.api(),
        }
    }

    /// What the platform says of the connection's token beyond the token response, where it
    /// has a way to ask (Meta's `debug_token`).
    pub(crate) async fn token_facts(&self) -> Result<TokenFacts, FetchError> {
        match self {
            Source::MetaAds(meta) => meta.token_facts().await,
            Source::GoogleAds(_) | Source::Ga4(_) | Source::LinkedinAds(_) => Ok(TokenFacts::default()),
        }
    }

    /// The accounts the connection's token can read, in the ids query files use.
    pub(crate) async fn accounts(&self) -> Result<Vec<String>, FetchError> {
        match self {
            Source::MetaAds(s) => s.ad_accounts().await,
            Source::GoogleAds(s) => s.accounts().await,
            Source::Ga4(s) => s.accounts().await,
            Source::LinkedinAds(s) => s.accounts().await,
        }
    }

    /// The accounts the connection's token can read, with the names, currencies and time
    /// zones a person picks them by.
    pub(crate) async fn account_details(&self) -> Result<Vec<AccountInfo>, FetchError> {
        match self {
            Source::MetaAds(s) => s.ad_account_details().await,
            Source::GoogleAds(s) => s.account_details().await,
            Source::Ga4(s) => s.account_details().await,
            Source::LinkedinAds(s) => s.account_details().await,
        }
    }

    /// The platform user the connection's token acts as.
    pub async fn identity(&self) -> Result<Identity, FetchError> {
        match self {
            Source::MetaAds(s) => s.identity().await,
            Source::GoogleAds(s) => s.identity().await,
            Source::Ga4(s) => s.identity().await,
            Source::LinkedinAds(s) => s.identity().await,
        }
    }

    /// One unit of a report: `account`'s rows for `window`, streamed into `tx` page by page.
    async fn fetch_unit(
        &self,
        query: &Query,
        account: &str,
        window: DateWindow,
        form: BatchForm,
        tx: &mpsc::Sender<RowBatch>,
    ) -> Result<u64, FetchError> {
        match self {
            Source::MetaAds(s) => s.fetch(query, account, window, form, tx).await,
            Source::GoogleAds(s) => s.fetch(query, account, window, form, tx).await,
            Source::Ga4(s) => s.fetch(query, account, window, tx).await,
            Source::LinkedinAds(s) => s.fetch(query, account, window, tx).await,
        }
    }

    /// Streams `query`'s rows for `window` into `tx`, in order, in `form` where the platform's
    /// decoder can build it (Meta's; the others hand over cells): account by account, and for
    /// daily rows in date slices of at most [`Platform::max_unit_days`] days where the platform
    /// has such a limit. Up to [`HttpPolicy::max_requests_per_connection`] units are fetched
    /// at once — a latency-bound backfill of many accounts is not one request at a time —
    /// yet rows leave in order and memory stays bounded: each unit buffers at most
    /// [`UNIT_PAGES_AHEAD`] pages until its turn. Returns the number of rows sent.
    ///
    /// When `stop` is cancelled (a daemon stop's grace is over) the units still waiting on the
    /// platform are stopped and awaited, and the rows sent so far are returned: the caller,
    /// which sees `stop`, commits nothing.
    ///
    /// [`HttpPolicy::max_requests_per_connection`]: crate::config::HttpPolicy
    pub(crate) async fn fetch(
        &self,
        query: &Query,
        window: DateWindow,
        form: BatchForm,
        tx: &mpsc::Sender<RowBatch>,
        stop: &CancellationToken,
    ) -> Result<u64, FetchError> {
        let shared = Arc::new(query.clone());
        let units = units(query, window);
        // Start with two units in flight; widen to the connection's limit once a unit turns out
        // to be a page or two (latency-bound), stay narrow when units are long (bound by
        // decoding and writing, where units waiting their turn would only hold memory).
        let widest = self.api().policy().max_requests_per_connection.max(1);
        let mut ahead = widest.min(2);
        let mut pending = units.into_iter();
        let mut running: VecDeque<RunningUnit> = VecDeque::new();
        let mut rows = 0;
        loop {
            while running.len() < ahead {
                let Some((account, slice)) = pending.next() else { break };
                let (unit_tx, unit_rx) = mpsc::channel(UNIT_PAGES_AHEAD);
                let source = self.clone();
                let query = shared.clone();
                let task =
                    tokio::spawn(async move { source.fetch_unit(&query, &account, slice, form, &unit_tx).await });
                running.push_back((unit_rx, task));
            }
            let Some((mut unit_rx, task)) = running.pop_front() else {
                break;
            };
            let mut pages = 0;
            loop {
                let batch = tokio::select! {
                    batch = unit_rx.recv() => batch,
                    () = stop.cancelled() => None,
                };
                let Some(batch) = batch else { break };
                pages += 1;
                if tx.send(batch).await.is_err() {
                    // The sink stopped (and reports why); stop every unit.
                    running.push_front((unit_rx, task));
                    stop_units(running).await;
                    return Ok(rows);
                }
            }
            if stop.is_cancelled() {
                running.push_front((unit_rx, task));
                stop_units(running).await;
                return Ok(rows);
            }
            ahead = if pages > UNIT_PAGES_AHEAD + 1 {
                widest.min(2)
            } else {
                widest
            };
            match task.await {
                Ok(Ok(sent)) => rows += sent,
                Ok(Err(e)) => {
                    stop_units(running).await;
                    return Err(e);
                }
                Err(e) => {
                    stop_units(running).await;
                    return Err(FetchError::Protocol(format!("a fetch task stopped unexpectedly: {e}")));
                }
            }
        }
        Ok(rows)
    }
}

/// Stops the units still running and waits until they are gone: an aborted task drops its
/// client (and with it the store it holds) only when the runtime gets to it, and a run that
/// returned must not leave the store held behind it.
async fn stop_units(running: VecDeque<RunningUnit>) {
    for (_, task) in &running {
        task.abort();
    }
    for (_, task) in running {
        let _ = task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &str) -> Query {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.toml");
        std::fs::write(&path, text).unwrap();
        let ctx = crate::config::ValidationContext {
            connections: [("meta-demo".to_string(), Provider::MetaAds)].into(),
            output_dir: dir.path().to_path_buf(),
            requested_scopes: Default::default(),
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
