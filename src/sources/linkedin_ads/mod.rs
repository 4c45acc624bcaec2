//! LinkedIn Ads: `GET /rest/adAnalytics?q=analytics` (Rest.li 2.0 query encoding).
//!
//! (Being built: request building and splitting, decoding and the error table.)

pub mod fields;

use tokio::sync::mpsc;

use crate::config::ConnectionConfig;
use crate::query::{Filter, Query};
use crate::rows::{DateWindow, RowBatch};
use crate::sources::http::{ApiClient, FetchError};
use crate::store::Identity;

/// The OAuth scope that reads ad analytics.
pub const SCOPE: &str = "r_ads_reporting";
/// How far back reports go.
pub const HISTORY_MONTHS: u32 = 24;
/// Daily windows are read a month at a time, keeping each answer well under the element cap.
pub const MAX_UNIT_DAYS: Option<i64> = Some(31);
/// Where the real LinkedIn API is.
pub const API_BASE: &str = "https://api.linkedin.com";

/// Why `id` is not a LinkedIn ad account id (digits), if it is not.
pub fn check_account(id: &str) -> Result<(), String> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    let hint = match id.strip_prefix("urn:li:sponsoredAccount:") {
        Some(digits) => format!("; did you mean \"{digits}\"?"),
        None => String::new(),
    };
    Err(format!(
        "account id {id:?} is not a LinkedIn ad account id: expected its digits, e.g. \"511009658\"{hint}"
    ))
}

/// Why adAnalytics would reject `filter`, if it would.
pub fn check_filter(_filter: &Filter) -> Result<(), String> {
    Ok(())
}

/// A LinkedIn Ads reader on one connection.
#[derive(Debug, Clone)]
pub struct LinkedinAds {
    api: ApiClient,
    conn: ConnectionConfig,
}

impl LinkedinAds {
    /// A reader for `conn` using `api` for every request.
    pub fn new(conn: &ConnectionConfig, api: ApiClient) -> Self {
        Self {
            api,
            conn: conn.clone(),
        }
    }

    /// The shared HTTP client.
    pub fn api(&self) -> &ApiClient {
        &self.api
    }

    /// The member the token belongs to.
    pub async fn identity(&self) -> Result<Identity, FetchError> {
        Err(FetchError::Protocol(format!(
            "LinkedIn identity of {} is not built yet",
            self.conn.id
        )))
    }

    /// Ad accounts the member can read.
    pub async fn accounts(&self) -> Result<Vec<String>, FetchError> {
        Err(FetchError::Protocol("LinkedIn account listing is not built yet".into()))
    }

    /// Streams `account`'s rows of `query` for `window` into `tx`.
    pub async fn fetch(
        &self,
        _query: &Query,
        _account: &str,
        _window: DateWindow,
        _tx: &mpsc::Sender<RowBatch>,
    ) -> Result<u64, FetchError> {
        Err(FetchError::Protocol("LinkedIn reports are not built yet".into()))
    }
}
