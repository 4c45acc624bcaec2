//! Google Ads: GAQL reports through `POST /v{N}/customers/{id}/googleAds:searchStream`.
//!
//! One request per (account, window): `searchStream` has no pages, it answers the whole
//! report as one streamed JSON array of batches, which is decoded and passed on batch by
//! batch as it arrives (`decode`). A failure before the first row is retried like any
//! other; once rows have gone downstream the unit fails instead, since reading the stream
//! again would deliver them twice.

mod decode;
pub mod errors;
pub use crate::platform::google_ads as fields;
pub use crate::query::gaql;
#[cfg(test)]
mod tests;

use reqwest::StatusCode;
use serde::Deserialize;
use tokio::sync::mpsc;
use url::Url;

pub(crate) use decode::{DecodeError, StreamDecoder};

use crate::config::ConnectionConfig;
use crate::http::{ApiClient, Failure, FailureClass, FetchError};
use crate::platform::google_ads::API_BASE;
use crate::query::{Query, TimeIncrement};
use crate::rows::{BatchForm, DateWindow, RowBatch};
use crate::sources::AccountInfo;
use crate::store::Identity;

/// A Google Ads reader on one Google connection.
#[derive(Debug, Clone)]
pub struct GoogleAds {
    api: ApiClient,
    conn: ConnectionConfig,
}

impl GoogleAds {
    /// A reader for `conn` using `api` for every request.
    pub(crate) fn new(conn: &ConnectionConfig, api: ApiClient) -> Self {
        Self {
            api,
            conn: conn.clone(),
        }
    }

    /// The shared HTTP client.
    pub(crate) fn api(&self) -> &ApiClient {
        &self.api
    }

    /// The person the Google login belongs to.
    pub(crate) async fn identity(&self) -> Result<Identity, FetchError> {
        crate::sources::google::identity(&self.api, &self.conn).await
    }

    /// `{api_base}/{version}/{path}`.
    fn url(&self, path: &str) -> Url {
        let mut url = self.conn.api_base(API_BASE);
        url.set_path(&format!("/{}/{path}", self.conn.api_version));
        url
    }

    /// A request with the headers every Google Ads call carries: the token, and the
    /// developer token when one is configured (optional since its 2026 sunset).
    fn request(&self, request: reqwest::RequestBuilder, token: &str) -> reqwest::RequestBuilder {
        let request = request.bearer_auth(token);
        match &self.conn.developer_token {
            Some(developer_token) => request.header("developer-token", developer_token.expose()),
            None => request,
        }
    }

    /// Customers the login reaches directly (`customers:listAccessibleCustomers`), as ids
    /// without the `customers/` prefix. Clients of a manager account are not among them.
    pub(crate) async fn accounts(&self) -> Result<Vec<String>, FetchError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Accessible {
            #[serde(default)]
            resource_names: Vec<String>,
        }
        let url = self.url("customers:listAccessibleCustomers");
        let accessible: Accessible = self
            .api
            .fetch(
                &self.conn.id,
                |http, token| self.request(http.get(url.clone()), token),
                errors::classify,
                |body| serde_json::from_slice(&body).map_err(|e| e.to_string()),
            )
            .await?;
        Ok(accessible
            .resource_names
            .into_iter()
            .map(|name| match name.strip_prefix("customers/") {
                Some(id) => id.to_string(),
                None => name,
            })
            .collect())
    }

    /// Every customer the login can query, with name, currency, time zone and whether it is
    /// a manager: each directly accessible customer (`listAccessibleCustomers`) reads its
    /// own row and its direct clients' from `customer_client` (Google's account hierarchy
    /// example, googleads/google-ads-python
    /// `examples/account_management/get_account_hierarchy.py`, asks the same fields with
    /// `customer_client.level <= 1`). A client is listed with the manager to name as its
    /// `login_customer_id`, unless the login also reaches it directly.
    pub(crate) async fn account_details(&self) -> Result<Vec<AccountInfo>, FetchError> {
        #[derive(Deserialize)]
        struct Batch {
            #[serde(default)]
            results: Vec<Row>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Row {
            customer_client: Client,
        }
        // int64 fields are JSON strings (proto3 JSON mapping).
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Client {
            id: String,
            level: String,
            #[serde(default)]
            manager: bool,
            #[serde(default)]
            descriptive_name: String,
            #[serde(default)]
            currency_code: String,
            #[serde(default)]
            time_zone: Option<String>,
        }
        const HIERARCHY: &str = "SELECT customer_client.id, customer_client.level, customer_client.manager, \
             customer_client.descriptive_name, customer_client.currency_code, customer_client.time_zone \
             FROM customer_client WHERE customer_client.level <= 1";
        let direct = self.accounts().await?;
        let mut found: Vec<AccountInfo> = Vec::new();
        for customer in &direct {
            let url = self.url(&format!("customers/{customer}/googleAds:searchStream"));
            let body = serde_json::json!({ "query": HIERARCHY });
            let batches: Vec<Batch> = self
                .api
                .fetch(
                    &self.conn.id,
                    |http, token| {
                        self.request(http.post(url.clone()), token)
                            .header("login-customer-id", customer.as_str())
                            .json(&body)
                    },
                    errors::classify,
                    |body| serde_json::from_slice(&body).map_err(|e| e.to_string()),
                )
                .await?;
            for client in batches.into_iter().flat_map(|b| b.results).map(|r| r.customer_client) {
                let through = (client.level != "0").then(|| customer.clone());
                if through.is_some() && (direct.contains(&client.id) || found.iter().any(|a| a.id == client.id)) {
                    continue;
                }
                found.push(AccountInfo {
                    platform: crate::sources::Platform::GoogleAds.as_str().to_string(),
                    id: client.id,
                    name: client.descriptive_name,
                    currency: client.currency_code,
                    time_zone: client.time_zone,
                    manager: client.manager,
                    login_customer_id: through,
                });
            }
        }
        Ok(found)
    }

    /// Streams `account`'s rows of `query` for `window` into `tx`, one batch per
    /// `searchStream` batch. Returns the number of rows sent.
    pub(crate) async fn fetch(
        &self,
        query: &Query,
        account: &str,
        window: DateWindow,
        form: BatchForm,
        tx: &mpsc::Sender<RowBatch>,
    ) -> Result<u64, FetchError> {
        let body = serde_json::json!({ "query": gaql::build(query, window).map_err(FetchError::BadQuery)? });
        let columns = query.columns();
        // A whole-window total is not segmented by date; its date column is the window's
        // first day, as Meta's `date_start` of a total is.
        let fixed: Vec<(&str, String)> = if query.gaql.is_none() && query.time_increment == TimeIncrement::Total {
            vec![(fields::DATE, window.start.to_string())]
        } else {
            Vec::new()
        };
        let url = self.url(&format!("customers/{account}/googleAds:searchStream"));
        let login_customer_id = query.login_customer_id.as_deref();
        let (columns, fixed) = (&columns, &fixed);
        self.api
            .fetch_streaming(
                &self.conn.id,
                |http, token| {
                    let request = self.request(http.post(url.clone()), token).json(&body);
                    match login_customer_id {
                        Some(manager) => request.header("login-customer-id", manager),
                        None => request,
                    }
                },
                errors::classify,
                |response| stream_rows(response, StreamDecoder::new(columns, fixed).in_form(form), tx),
            )
            .await?
    }
}

/// Reads a `searchStream` response into `tx`. `Err` (the request may be retried) only
/// while no row has been sent; after that a failure fails the unit.
async fn stream_rows(
    mut response: reqwest::Response,
    mut decoder: StreamDecoder,
    tx: &mpsc::Sender<RowBatch>,
) -> Result<Result<u64, FetchError>, Failure> {
    let mut sent = 0u64;
    let failure = loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => match decoder.finish() {
                Ok(()) => return Ok(Ok(sent)),
                Err(e) => break decode_failure(e),
            },
            Err(_) => {
                break Failure::new(
                    FailureClass::Transient,
                    "the connection broke while the report was streaming",
                )
            }
        };
        let batches = match decoder.feed(&chunk) {
            Ok(batches) => batches,
            Err(e) => break decode_failure(e),
        };
        for batch in batches.into_iter().filter(|b| !b.is_empty()) {
            sent += batch.len() as u64;
            if tx.send(batch).await.is_err() {
                // The sink stopped (it failed and reports why); nothing more to do here.
                return Ok(Ok(sent));
            }
        }
    };
    if sent == 0 {
        return Err(failure);
    }
    let message = format!(
        "{} after {sent} rows had been delivered; the unit fails rather than deliver them twice",
        failure.message
    );
    Ok(Err(match failure.class {
        FailureClass::Permission => FetchError::Permission(message),
        FailureClass::BadQuery => FetchError::BadQuery(message),
        _ => FetchError::RetriesExhausted { attempts: 1, message },
    }))
}

/// The failure a broken stream stands for.
fn decode_failure(error: DecodeError) -> Failure {
    match error {
        DecodeError::Malformed(message) => {
            Failure::new(FailureClass::Transient, format!("unreadable response: {message}"))
        }
        DecodeError::Platform(error) => {
            let status = StatusCode::from_u16(error.code).unwrap_or(StatusCode::OK);
            errors::failure_of(&error, status)
        }
    }
}
