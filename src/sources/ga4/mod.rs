//! Google Analytics 4: `POST /v1beta/properties/{id}:runReport`, paged by `offset`.
//!
//! (Being built: request building, paging, decoding and the quota errors.)

pub mod fields;

use tokio::sync::mpsc;

use crate::config::ConnectionConfig;
use crate::query::{Filter, Query};
use crate::rows::{DateWindow, RowBatch};
use crate::sources::http::{ApiClient, FetchError};
use crate::store::Identity;

/// The OAuth scope of the GA4 Data API.
pub const SCOPE: &str = "https://www.googleapis.com/auth/analytics.readonly";
/// How far back reports go (GA4 standard reports are not limited by data retention; 14
/// months is the shortest retention setting, which explorations obey).
pub const HISTORY_MONTHS: u32 = 14;
/// Offset paging reads a whole window: no slicing.
pub const MAX_UNIT_DAYS: Option<i64> = None;
/// Where the real GA4 Data API is.
pub const API_BASE: &str = "https://analyticsdata.googleapis.com";

/// Why `id` is not a GA4 property id (digits), if it is not.
pub fn check_account(id: &str) -> Result<(), String> {
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

/// Why the Data API would reject `filter`, if it would.
pub fn check_filter(_filter: &Filter) -> Result<(), String> {
    Ok(())
}

/// A GA4 reader on one Google connection.
#[derive(Debug, Clone)]
pub struct Ga4 {
    api: ApiClient,
    conn: ConnectionConfig,
}

impl Ga4 {
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

    /// The person the Google login belongs to.
    pub async fn identity(&self) -> Result<Identity, FetchError> {
        crate::sources::google::identity(&self.api, &self.conn).await
    }

    /// Properties the login can read (Admin API `accountSummaries`).
    pub async fn accounts(&self) -> Result<Vec<String>, FetchError> {
        Err(FetchError::Protocol("GA4 property listing is not built yet".into()))
    }

    /// Streams `property`'s rows of `query` for `window` into `tx`.
    pub async fn fetch(
        &self,
        _query: &Query,
        _property: &str,
        _window: DateWindow,
        _tx: &mpsc::Sender<RowBatch>,
    ) -> Result<u64, FetchError> {
        Err(FetchError::Protocol("GA4 reports are not built yet".into()))
    }
}
