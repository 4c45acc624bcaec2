//! LinkedIn Ads: `GET /rest/adAnalytics?q=analytics` (Rest.li 2.0 query encoding).
//!
//! A unit of a report (one ad account, at most a month of days) is one analytics finder
//! request with `pivot` from the query's level — account → `ACCOUNT`, campaign →
//! `CAMPAIGN_GROUP`, ad set → `CAMPAIGN` (LinkedIn's campaign is where budget and targeting
//! live, like Meta's ad set), ad → `CREATIVE` — and `timeGranularity` `DAILY` or `ALL`.
//! A query of more than 18 metrics (20 fields with `dateRange` and `pivotValues`) becomes several requests whose rows are merged by
//! (date, pivot value); a query string past LinkedIn's 4 KB limit (long facet lists) is sent
//! tunneled, as LinkedIn's query tunneling guide prescribes. adAnalytics has no pagination
//! and cuts answers at 15,000 elements, so an answer that long is asked again for half the
//! days at a time. Every request carries `LinkedIn-Version` (the connection's `api_version`)
//! and `X-Restli-Protocol-Version: 2.0.0`; errors are classified in `errors`, where a 65601
//! (revoked) in the first minutes after a consent is retried briefly before it counts.
//!
//! Accounts and the member come from `GET /rest/adAccountUsers?q=authenticatedUser`, which
//! the default scopes (`r_ads_reporting r_ads`) allow; `/v2/userinfo` would need
//! `openid profile`, which adsync does not ask for.

pub(crate) mod decode;
pub(crate) mod errors;
pub(crate) use crate::platform::linkedin_ads as fields;
pub(crate) mod request;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use serde::Deserialize;
use tokio::sync::mpsc;
use url::Url;

use crate::config::ConnectionConfig;
use crate::http::{ApiClient, FetchError};
use crate::platform::linkedin_ads::{ACCOUNT_URN_PREFIX, API_BASE};
use crate::query::Query;
use crate::rows::{DateWindow, RowBatch};
use crate::sources::AccountInfo;
use crate::store::Identity;
use decode::{decode_elements, Element, Merged};
use errors::Classifier;
use request::{AnalyticsRequest, Wire, ANALYTICS_PATH};

/// The finder listing the member's ad account roles.
pub(crate) const ACCOUNT_USERS_PATH: &str = "/rest/adAccountUsers";
/// Ad accounts, one by id.
const ACCOUNTS_PATH: &str = "/rest/adAccounts";
/// Account roles asked per page of `adAccountUsers`.
const ACCOUNT_USERS_PAGE: usize = 100;
/// The most elements adAnalytics answers; it drops the rest without saying so (practitioners
/// report 15,000; the docs only say there is no pagination). An answer this long is asked
/// again in halves.
pub(crate) const MAX_ELEMENTS: usize = 15_000;

/// A LinkedIn Ads reader on one connection.
#[derive(Debug, Clone)]
pub struct LinkedinAds {
    api: ApiClient,
    connection: String,
    base: Url,
    version: String,
    /// [`MAX_ELEMENTS`], smaller in tests.
    element_cap: usize,
}

/// One account role of the member (`adAccountUsers` element).
#[derive(Debug, Deserialize)]
struct AccountUser {
    account: String,
    user: String,
}

#[derive(Debug, Deserialize)]
struct AccountUsers {
    elements: Vec<AccountUser>,
    #[serde(default)]
    paging: Option<AccountUsersPaging>,
}

#[derive(Debug, Deserialize)]
struct AccountUsersPaging {
    #[serde(default)]
    total: Option<usize>,
}

impl LinkedinAds {
    /// A reader for `conn` using `api` for every request.
    pub(crate) fn new(conn: &ConnectionConfig, api: ApiClient) -> Self {
        Self {
            api,
            connection: conn.id.clone(),
            base: conn.api_base(API_BASE),
            version: conn.api_version.clone(),
            element_cap: MAX_ELEMENTS,
        }
    }

    /// The same reader assuming LinkedIn answers at most `cap` elements.
    #[cfg(test)]
    fn with_element_cap(self, cap: usize) -> Self {
        Self {
            element_cap: cap,
            ..self
        }
    }

    /// The shared HTTP client.
    pub(crate) fn api(&self) -> &ApiClient {
        &self.api
    }

    /// The error table for the next request: with the grace for 65601 while the connection's
    /// consent is only moments old.
    async fn classifier(&self) -> Classifier {
        Classifier::new(
            self.api.connected_for(&self.connection).await,
            self.api.policy().max_retries,
        )
    }

    /// Sends `query` to `path` and decodes the answer with `decode`.
    async fn get<T>(
        &self,
        path: &str,
        query: &str,
        decode: impl Fn(bytes::Bytes) -> Result<T, String>,
    ) -> Result<T, FetchError> {
        let wire = Wire::new(&self.base, path, query);
        let classifier = self.classifier().await;
        self.api
            .fetch(
                &self.connection,
                |http, token| wire.build(http, token, &self.version),
                |status, headers, body| classifier.classify(status, headers, body),
                decode,
            )
            .await
    }

    /// One page of the member's account roles, from `start`.
    async fn account_users(&self, start: usize, count: usize) -> Result<AccountUsers, FetchError> {
        self.get(
            ACCOUNT_USERS_PATH,
            &format!("q=authenticatedUser&start={start}&count={count}"),
            |body| serde_json::from_slice(&body).map_err(|e| e.to_string()),
        )
        .await
    }

    /// The member the token belongs to: the `user` of their account roles. Without
    /// `openid profile` LinkedIn gives no name, so the person URN names them too.
    pub(crate) async fn identity(&self) -> Result<Identity, FetchError> {
        let page = self.account_users(0, 1).await?;
        Ok(match page.elements.into_iter().next() {
            Some(role) => Identity {
                id: role.user.clone(),
                name: role.user,
            },
            // A member without ad accounts has no role to name them; adsync can do nothing
            // for them, and the reconnect report will say which accounts are missing.
            None => Identity {
                id: String::new(),
                name: "a LinkedIn member with no ad accounts".to_string(),
            },
        })
    }

    /// Ad accounts the member can read, as the digits query files use, every page.
    pub(crate) async fn accounts(&self) -> Result<Vec<String>, FetchError> {
        let mut accounts: Vec<String> = Vec::new();
        let mut start = 0;
        loop {
            let page = self.account_users(start, ACCOUNT_USERS_PAGE).await?;
            let got = page.elements.len();
            for role in page.elements {
                let digits = role.account.strip_prefix(ACCOUNT_URN_PREFIX).ok_or_else(|| {
                    FetchError::Protocol(format!(
                        "adAccountUsers named {:?}, not an ad account URN",
                        role.account
                    ))
                })?;
                if !accounts.iter().any(|a| a == digits) {
                    accounts.push(digits.to_string());
                }
            }
            start += got;
            let total = page.paging.and_then(|p| p.total);
            if got < ACCOUNT_USERS_PAGE || total.is_some_and(|t| start >= t) {
                return Ok(accounts);
            }
        }
    }

    /// The ad accounts the member can read with name and currency, each from `GET
    /// /rest/adAccounts/{id}` (`name`, `currency`; an account has no time zone field:
    /// https://learn.microsoft.com/en-us/linkedin/shared/references/v2/ads/adaccounts).
    pub(crate) async fn account_details(&self) -> Result<Vec<AccountInfo>, FetchError> {
        #[derive(Deserialize)]
        struct Account {
            #[serde(default)]
            name: String,
            #[serde(default)]
            currency: String,
        }
        let mut details = Vec::new();
        for id in self.accounts().await? {
            let account: Account = self
                .get(&format!("{ACCOUNTS_PATH}/{id}"), "", |body| {
                    serde_json::from_slice(&body).map_err(|e| e.to_string())
                })
                .await?;
            details.push(AccountInfo {
                platform: crate::sources::Platform::LinkedinAds.as_str().to_string(),
                id,
                name: account.name,
                currency: account.currency,
                time_zone: None,
                manager: false,
                login_customer_id: None,
            });
        }
        Ok(details)
    }

    /// The elements answering `request`, asking again in halves while an answer is as long as
    /// LinkedIn's cap (it may have been cut).
    async fn analytics(&self, request: AnalyticsRequest) -> Result<Vec<Element>, FetchError> {
        let mut pending = VecDeque::from([request]);
        let mut elements = Vec::new();
        while let Some(request) = pending.pop_front() {
            let answer = self
                .get(ANALYTICS_PATH, &request.query_string(), |body| decode_elements(&body))
                .await?;
            if answer.len() < self.element_cap {
                elements.extend(answer);
                continue;
            }
            let Some((first, second)) = request.halves() else {
                return Err(FetchError::BadQuery(format!(
                    "LinkedIn answers at most {} rows per request and the rows of {} reached that, so some may be missing; narrow the query with a facet filter or a coarser level",
                    self.element_cap, request.window
                )));
            };
            pending.push_front(second);
            pending.push_front(first);
        }
        Ok(elements)
    }

    /// Streams `account`'s rows of `query` for `window` into `tx`: one request per 20
    /// metrics (more when answers reach the element cap), merged into one batch. Returns the
    /// number of rows sent.
    pub(crate) async fn fetch(
        &self,
        query: &Query,
        account: &str,
        window: DateWindow,
        tx: &mpsc::Sender<RowBatch>,
    ) -> Result<u64, FetchError> {
        let request = AnalyticsRequest::new(query, account, window).map_err(FetchError::BadQuery)?;
        let mut merged = Merged::new(&query.fields);
        for part in request.split() {
            merged.add(self.analytics(part).await?);
        }
        let batch = merged.into_batch();
        let sent = batch.len() as u64;
        // A closed channel means the sink stopped; it reports why.
        if !batch.is_empty() {
            let _ = tx.send(batch).await;
        }
        Ok(sent)
    }
}
