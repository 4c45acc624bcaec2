//! Google Ads: GAQL reports through `POST /v{N}/customers/{id}/googleAds:searchStream`.
//!
//! (Being built: request building, the streamed batch decoder and the error table.)

pub mod fields;
pub mod gaql;

use tokio::sync::mpsc;

use crate::config::ConnectionConfig;
use crate::query::{Filter, Query};
use crate::rows::{DateWindow, RowBatch};
use crate::sources::http::{ApiClient, FetchError};
use crate::store::Identity;

/// The OAuth scope of the Google Ads API.
pub const SCOPE: &str = "https://www.googleapis.com/auth/adwords";
/// How far back reports go (Google Ads keeps performance data for about 11 years).
pub const HISTORY_MONTHS: u32 = 11 * 12;
/// `searchStream` answers a whole window in one streamed response: no slicing.
pub const MAX_UNIT_DAYS: Option<i64> = None;
/// Where the real Google Ads API is.
pub const API_BASE: &str = "https://googleads.googleapis.com";

/// Why `id` is not a Google Ads customer id (10 digits, no dashes), if it is not.
pub fn check_account(id: &str) -> Result<(), String> {
    if id.len() == 10 && id.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    let digits: String = id.chars().filter(char::is_ascii_digit).collect();
    let hint = if digits.len() == 10 && id.chars().all(|c| c.is_ascii_digit() || c == '-') {
        format!("; did you mean \"{digits}\"?")
    } else {
        String::new()
    };
    Err(format!(
        "account id {id:?} is not a Google Ads customer id: expected 10 digits without dashes, e.g. \"1234567890\"{hint}"
    ))
}

/// Why Google Ads would reject `filter` as a GAQL condition, if it would.
pub fn check_filter(filter: &Filter) -> Result<(), String> {
    gaql::condition(filter).map(|_| ())
}

/// A Google Ads reader on one Google connection.
#[derive(Debug, Clone)]
pub struct GoogleAds {
    api: ApiClient,
    conn: ConnectionConfig,
}

impl GoogleAds {
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

    /// Customers the login reaches directly (`customers:listAccessibleCustomers`).
    pub async fn accounts(&self) -> Result<Vec<String>, FetchError> {
        Err(FetchError::Protocol(
            "Google Ads account listing is not built yet".into(),
        ))
    }

    /// Streams `account`'s rows of `query` for `window` into `tx`.
    pub async fn fetch(
        &self,
        _query: &Query,
        _account: &str,
        _window: DateWindow,
        _tx: &mpsc::Sender<RowBatch>,
    ) -> Result<u64, FetchError> {
        Err(FetchError::Protocol("Google Ads reports are not built yet".into()))
    }
}
