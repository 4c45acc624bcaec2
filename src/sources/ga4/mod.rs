//! Google Analytics 4: `POST /v1beta/properties/{id}:runReport`, paged by `offset`.
//!
//! A unit of a report is one property over one window, read in pages of
//! `request::PAGE_SIZE` rows until the offset reaches the report's `rowCount`. The request
//! is built in `request`, pages are decoded in `decode`, and the Data API's errors,
//! quota exhaustion above all, are classified in `errors`. Properties are listed through the
//! Admin API's `accountSummaries`. Only the base URLs differ between Google and the sandbox.
//!
//! GA4 rows are shaped by their dimensions: a daily query gets one row per day only when its
//! fields include `date` (without it GA4 sums the window, as asked); a total query never
//! requests `date` and writes the window's first day in a `date` column it lists.

pub(crate) mod decode;
pub(crate) mod errors;
pub(crate) use crate::platform::ga4 as fields;
mod metadata;
pub mod request;

use serde::Deserialize;
use tokio::sync::mpsc;
use url::Url;

use crate::config::ConnectionConfig;
use crate::http::{ApiClient, FetchError};
use crate::platform::ga4::{ADMIN_BASE, API_BASE};
use crate::query::Query;
use crate::rows::{DateWindow, RowBatch};
use crate::sources::AccountInfo;
use crate::store::Identity;
use decode::decode_page;
use metadata::CustomFields;
use request::{next_offset, ReportRequest};

/// Account summaries per Admin API page (its maximum).
const SUMMARIES_PAGE_SIZE: &str = "200";

/// A GA4 reader on one Google connection.
#[derive(Debug, Clone)]
pub struct Ga4 {
    api: ApiClient,
    conn: ConnectionConfig,
}

impl Ga4 {
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

    /// Properties the login can read, as digits: Admin API `GET /v1beta/accountSummaries`,
    /// every page.
    pub(crate) async fn accounts(&self) -> Result<Vec<String>, FetchError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            #[serde(default)]
            account_summaries: Vec<AccountSummary>,
            #[serde(default)]
            next_page_token: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct AccountSummary {
            #[serde(default)]
            property_summaries: Vec<PropertySummary>,
        }
        #[derive(Deserialize)]
        struct PropertySummary {
            property: String,
        }
        let mut url = self.conn.api_base(ADMIN_BASE);
        url.set_path("/v1beta/accountSummaries");
        let mut properties = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut page_url = url.clone();
            page_url.query_pairs_mut().append_pair("pageSize", SUMMARIES_PAGE_SIZE);
            if let Some(token) = &page_token {
                page_url.query_pairs_mut().append_pair("pageToken", token);
            }
            let page: Page = self
                .get(&page_url, |body| {
                    serde_json::from_slice(&body).map_err(|e| e.to_string())
                })
                .await?;
            for summary in page.account_summaries {
                for property in summary.property_summaries {
                    let id = property
                        .property
                        .strip_prefix("properties/")
                        .unwrap_or(&property.property);
                    properties.push(id.to_string());
                }
            }
            page_token = page.next_page_token.filter(|t| !t.is_empty());
            if page_token.is_none() {
                return Ok(properties);
            }
        }
    }

    /// The properties the login can read with name, currency and reporting time zone: each
    /// from the Admin API's `GET /v1beta/properties/{id}` (`Property.displayName`,
    /// `currencyCode`, `timeZone`; googleapis.dev `Google.Analytics.Admin.V1Beta.Property`).
    pub(crate) async fn account_details(&self) -> Result<Vec<AccountInfo>, FetchError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Property {
            #[serde(default)]
            display_name: String,
            #[serde(default)]
            currency_code: String,
            #[serde(default)]
            time_zone: Option<String>,
        }
        let mut details = Vec::new();
        for id in self.accounts().await? {
            let mut url = self.conn.api_base(ADMIN_BASE);
            url.set_path(&format!("/v1beta/properties/{id}"));
            let property: Property = self
                .api
                .fetch(
                    &self.conn.id,
                    |http, token| http.get(url.clone()).bearer_auth(token),
                    errors::classify,
                    |body| serde_json::from_slice(&body).map_err(|e| e.to_string()),
                )
                .await?;
            details.push(AccountInfo {
                platform: crate::sources::Platform::Ga4.as_str().to_string(),
                id,
                name: property.display_name,
                currency: property.currency_code,
                time_zone: property.time_zone,
                manager: false,
                login_customer_id: None,
            });
        }
        Ok(details)
    }

    /// Streams `property`'s rows of `query` for `window` into `tx`, one batch per page.
    /// Returns the number of rows sent.
    pub(crate) async fn fetch(
        &self,
        query: &Query,
        property: &str,
        window: DateWindow,
        tx: &mpsc::Sender<RowBatch>,
    ) -> Result<u64, FetchError> {
        let custom_metrics = self.custom_metrics(query, property).await?;
        let request = ReportRequest::new(query, window, &custom_metrics).map_err(FetchError::BadQuery)?;
        let columns = query.columns();
        let url = self.report_url(property);
        let mut offset = 0;
        let mut sent = 0;
        loop {
            let body = request.body(offset);
            let (batch, page) = self
                .api
                .fetch(
                    &self.conn.id,
                    |http, token| http.post(url.clone()).json(&body).bearer_auth(token),
                    errors::classify,
                    |bytes| {
                        let mut batch = RowBatch::new(columns.len());
                        decode_page(&bytes, &columns, request.fixed_date, &mut batch).map(|page| (batch, page))
                    },
                )
                .await?;
            sent += page.rows;
            if !batch.is_empty() && tx.send(batch).await.is_err() {
                // The sink stopped (it failed and reports why); nothing more to do here.
                return Ok(sent);
            }
            match next_offset(offset, page.rows, page.row_count).map_err(FetchError::Protocol)? {
                Some(next) => offset = next,
                None => return Ok(sent),
            }
        }
    }

    /// The custom metrics among `query`'s fields, as `property`'s metadata tells them from
    /// its custom dimensions; a custom field the property does not have fails the query.
    /// Asks nothing when the query names no custom field.
    async fn custom_metrics(&self, query: &Query, property: &str) -> Result<Vec<String>, FetchError> {
        if !query.fields.iter().any(|f| fields::is_custom(f)) {
            return Ok(Vec::new());
        }
        let mut url = self.conn.api_base(API_BASE);
        url.set_path(&format!("/v1beta/properties/{property}/metadata"));
        let custom = self.get(&url, |body| CustomFields::parse(&body)).await?;
        custom.metrics_of(&query.fields, property).map_err(FetchError::BadQuery)
    }

    /// `GET url`, its body decoded by `decode`.
    async fn get<T>(&self, url: &Url, decode: impl Fn(bytes::Bytes) -> Result<T, String>) -> Result<T, FetchError> {
        self.api
            .fetch(
                &self.conn.id,
                |http, token| http.get(url.clone()).bearer_auth(token),
                errors::classify,
                decode,
            )
            .await
    }

    /// `…/v1beta/properties/{property}:runReport`.
    fn report_url(&self, property: &str) -> Url {
        let mut url = self.conn.api_base(API_BASE);
        url.set_path(&format!("/v1beta/properties/{property}:runReport"));
        url
    }
}

#[cfg(test)]
mod tests;
