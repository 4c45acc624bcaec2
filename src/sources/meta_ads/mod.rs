//! Meta Ads: the Graph API Insights edge, read page by page.
//!
//! Short windows are read synchronously (`GET /act_{id}/insights`), following `paging.next`
//! until it is absent; long windows go through an async report run (POST, poll
//! `async_status`, then page through `/{report_run_id}/insights`), which is what Meta
//! recommends for large reports. Only the base URL differs between the real Graph API and the
//! sandbox.

mod decode;
pub(crate) mod errors;
pub(crate) mod usage;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use url::Url;

pub(crate) use decode::{decode_page, Layout};
use decode::{peek_next, PageInfo};

use crate::config::ConnectionConfig;
use crate::http::{ApiClient, Failure, FetchError};
use crate::platform::meta_ads::{ASYNC_AFTER_DAYS, GRAPH_BASE};
use crate::query::{Attribution, Filter, Level, Query, TimeIncrement};
use crate::rows::{BatchForm, DateWindow, RowBatch};
use crate::sources::{AccountInfo, Platform, TokenFacts};
use crate::store::Identity;

/// Rows requested per page (Graph's default is 25; 500 keeps requests few without huge bodies).
pub(crate) const PAGE_SIZE: u32 = 500;
/// Give up on an async report run after this long (Meta: "can take up to an hour").
const ASYNC_DEADLINE: Duration = Duration::from_secs(3600);

/// One report request against one ad account.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InsightsRequest<'a> {
    /// `act_<id>`.
    pub(crate) account: &'a str,
    /// Row level.
    pub(crate) level: Level,
    /// Output columns (fields and breakdowns, in order).
    pub(crate) columns: &'a [String],
    /// Breakdowns.
    pub(crate) breakdowns: &'a [String],
    /// Filters.
    pub(crate) filters: &'a [Filter],
    /// Dates.
    pub(crate) window: DateWindow,
    /// Daily or whole-window rows.
    pub(crate) increment: TimeIncrement,
    /// Attribution windows and report time of the action lists.
    pub(crate) attribution: &'a Attribution,
}

impl InsightsRequest<'_> {
    /// The same request over `window`.
    fn over(&self, window: DateWindow) -> Self {
        InsightsRequest { window, ..*self }
    }
}

/// A fetched page on the blocking pool, becoming its rows and paging.
struct Decoding {
    url: Url,
    task: JoinHandle<Result<(RowBatch, PageInfo), String>>,
    /// `paging.next` as read from the end of the body, if it was there.
    peeked: Option<Option<String>>,
}

/// How each page of a request becomes a batch: where its keys go, and the form the sink
/// takes rows in.
type Shape<'a> = (&'a Arc<Layout>, BatchForm);

/// Pages of one request decoding at once beside the one being fetched: enough to keep two
/// cores busy when decoding is slower than fetching, few enough to bound memory.
const PAGES_DECODING: usize = 2;

/// A page `body` decoded into a batch in `form`, with its paging.
fn decode(body: &[u8], layout: &Layout, form: BatchForm) -> Result<(RowBatch, PageInfo), String> {
    let mut batch = RowBatch::in_form(form, layout.width(), PAGE_SIZE as usize);
    decode_page(body, layout, &mut batch).map(|info| (batch, info))
}

/// What became of a decoded page.
enum Handed {
    Sent {
        next: Option<String>,
    },
    /// The sink stopped taking rows.
    SinkClosed,
}

/// How a request is read: a synchronous GET, or an async report run (Meta's advice for
/// large reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    Sync,
    Async,
}

/// A Meta Ads connection's insights reader.
#[derive(Clone)]
pub struct MetaAds {
    api: ApiClient,
    /// `{app-id}|{app-secret}`, for `debug_token`; never printed (see the Debug impl).
    app_token: String,
    connection: String,
    base: Url,
    version: String,
}

impl std::fmt::Debug for MetaAds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaAds")
            .field("connection", &self.connection)
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct ReportRun {
    report_run_id: String,
}

#[derive(Deserialize)]
struct ReportRunStatus {
    async_status: String,
    #[serde(default)]
    async_percent_completion: u32,
}

impl MetaAds {
    /// A reader for `conn` using `api` for every request.
    pub(crate) fn new(conn: &ConnectionConfig, api: ApiClient) -> Self {
        Self {
            app_token: format!("{}|{}", conn.client_id, conn.client_secret.expose()),
            api,
            connection: conn.id.clone(),
            base: conn.api_base(GRAPH_BASE),
            version: conn.api_version.clone(),
        }
    }

    /// The shared HTTP client.
    pub(crate) fn api(&self) -> &ApiClient {
        &self.api
    }

    /// Graph's error table, which also slows the connection down when the usage headers
    /// say a quota is nearly spent: better to wait a little now than be throttled for an hour.
    fn classify(&self) -> impl Fn(StatusCode, &HeaderMap, &[u8]) -> Option<Failure> + '_ {
        |status, headers, body| {
            // A throttled answer is a rate-limit failure, waited out by the retry loop.
            if let Some(wait) = usage::pacing(headers).filter(|_| status.is_success()) {
                tracing::info!(
                    connection = %self.connection,
                    wait_ms = wait.as_millis() as u64,
                    "Meta usage headers near the limit; slowing down."
                );
                self.api.slow_down(&self.connection, wait);
            }
            errors::classify(status, headers, body)
        }
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(&format!("/{}/{}", self.version, path.trim_start_matches('/')));
        url
    }

    /// The user the connection's token acts as (`GET /me`).
    pub(crate) async fn identity(&self) -> Result<Identity, FetchError> {
        let url = self.url("me");
        self.api
            .fetch(
                &self.connection,
                |http, token| http.get(url.clone()).query(&[("fields", "id,name")]).bearer_auth(token),
                errors::classify,
                |body| serde_json::from_slice::<Identity>(&body).map_err(|e| e.to_string()),
            )
            .await
    }

    /// What Graph knows of the connection's token, from `GET /debug_token` (asked with the
    /// app token `{app-id}|{app-secret}`): when it and its data access end, and its scopes.
    pub(crate) async fn token_facts(&self) -> Result<TokenFacts, FetchError> {
        let app_token = self.app_token.as_str();
        #[derive(Deserialize)]
        struct Debug {
            data: DebugData,
        }
        #[derive(Deserialize)]
        struct DebugData {
            #[serde(default)]
            expires_at: Option<i64>,
            #[serde(default)]
            data_access_expires_at: Option<i64>,
            #[serde(default)]
            scopes: Option<Vec<String>>,
        }
        let url = self.url("debug_token");
        let debug: Debug = self
            .api
            .fetch(
                &self.connection,
                |http, token| {
                    http.get(url.clone())
                        .query(&[("input_token", token), ("access_token", app_token)])
                },
                errors::classify,
                |body| serde_json::from_slice(&body).map_err(|e| e.to_string()),
            )
            .await?;
        // 0 means "never" (system-user tokens): no end to record.
        let instant = |at: Option<i64>| {
            at.filter(|at| *at > 0)
                .and_then(|at| chrono::DateTime::from_timestamp(at, 0))
        };
        Ok(TokenFacts {
            access_expires_at: instant(debug.data.expires_at),
            data_access_expires_at: instant(debug.data.data_access_expires_at),
            scopes: debug.data.scopes,
        })
    }

    /// The ad accounts (`act_<id>`) the token can read.
    pub(crate) async fn ad_accounts(&self) -> Result<Vec<String>, FetchError> {
        Ok(self.ad_account_details().await?.into_iter().map(|a| a.id).collect())
    }

    /// The ad accounts the token can read with name, currency and time zone: `GET
    /// /me/adaccounts?fields=account_id,id,name,currency,timezone_name`, all pages (AdAccount
    /// fields: facebook-python-business-sdk `facebook_business/adobjects/adaccount.py`).
    pub(crate) async fn ad_account_details(&self) -> Result<Vec<AccountInfo>, FetchError> {
        #[derive(Deserialize)]
        struct Page {
            data: Vec<Account>,
            #[serde(default)]
            paging: Option<Paging>,
        }
        #[derive(Deserialize)]
        struct Account {
            id: String,
            #[serde(default)]
            name: String,
            #[serde(default)]
            currency: String,
            #[serde(default)]
            timezone_name: Option<String>,
        }
        #[derive(Deserialize)]
        struct Paging {
            next: Option<String>,
        }
        let mut next = Some({
            let mut url = self.url("me/adaccounts");
            url.query_pairs_mut()
                .append_pair("fields", "account_id,id,name,currency,timezone_name")
                .append_pair("limit", "500");
            url
        });
        let mut accounts = Vec::new();
        while let Some(url) = next.take() {
            let page: Page = self
                .api
                .fetch(
                    &self.connection,
                    |http, token| http.get(url.clone()).bearer_auth(token),
                    errors::classify,
                    |body| serde_json::from_slice(&body).map_err(|e| e.to_string()),
                )
                .await?;
            accounts.extend(page.data.into_iter().map(|a| AccountInfo {
                platform: Platform::MetaAds.as_str().to_string(),
                id: a.id,
                name: a.name,
                currency: a.currency,
                time_zone: a.timezone_name,
                manager: false,
                login_customer_id: None,
            }));
            if let Some(link) = page.paging.and_then(|p| p.next) {
                next = Some(self.same_origin(&link)?);
            }
        }
        Ok(accounts)
    }

    /// Streams `account`'s insights of `query` for `window` into `tx`, one batch per page.
    /// Returns the number of rows sent.
    pub(crate) async fn fetch(
        &self,
        query: &Query,
        account: &str,
        window: DateWindow,
        form: BatchForm,
        tx: &mpsc::Sender<RowBatch>,
    ) -> Result<u64, FetchError> {
        let columns = query.columns();
        let request = InsightsRequest {
            account,
            level: query.level,
            columns: &columns,
            breakdowns: &query.breakdowns,
            filters: &query.filters,
            window,
            increment: query.time_increment,
            attribution: &query.attribution,
        };
        let layout = Arc::new(Layout::new(&columns));
        let mut sent = 0;
        self.fetch_insights(&request, (&layout, form), tx, &mut sent).await?;
        Ok(sent)
    }

    /// Streams one account's insights for `request` into `tx`, one batch per page, counting
    /// the rows sent in `sent`.
    ///
    /// When Graph answers code 1 ("reduce the amount of data") before any row went out, the
    /// request is split instead of repeated: daily rows in two halves of the date range,
    /// down to one day, and a single day (or a whole-window total, which cannot be cut) is
    /// read as an async report run.
    async fn fetch_insights(
        &self,
        request: &InsightsRequest<'_>,
        shape: Shape<'_>,
        tx: &mpsc::Sender<RowBatch>,
        sent: &mut u64,
    ) -> Result<(), FetchError> {
        let read = if request.window.days() > ASYNC_AFTER_DAYS {
            Read::Async
        } else {
            Read::Sync
        };
        let before = *sent;
        let message = match self.read(request, read, shape, tx, sent).await {
            Err(FetchError::TooMuchData(message)) if *sent == before => message,
            other => return other,
        };
        let days = request.window.days();
        if request.increment == TimeIncrement::Daily && days > 1 {
            let window = request.window;
            let first_end = window.start + chrono::Days::new((days / 2 - 1) as u64);
            let halves = [
                DateWindow::new(window.start, first_end),
                DateWindow::new(first_end + chrono::Days::new(1), window.end),
            ];
            tracing::info!(
                account = request.account,
                window = %window,
                "Graph asks for less data; reading the window in two halves."
            );
            for half in halves {
                Box::pin(self.fetch_insights(&request.over(half), shape, tx, sent)).await?;
            }
            return Ok(());
        }
        if read == Read::Sync {
            tracing::info!(
                account = request.account,
                window = %request.window,
                "Graph asks for less data; reading the slice as an async report run."
            );
            return self.read(request, Read::Async, shape, tx, sent).await;
        }
        Err(FetchError::TooMuchData(message))
    }

    /// Reads `request` once, synchronously or as an async report run.
    async fn read(
        &self,
        request: &InsightsRequest<'_>,
        read: Read,
        shape: Shape<'_>,
        tx: &mpsc::Sender<RowBatch>,
        sent: &mut u64,
    ) -> Result<(), FetchError> {
        let params = insights_params(request);
        let first_page = match read {
            Read::Async => {
                let run_id = self.start_report_run(request.account, &params).await?;
                let mut url = self.url(&format!("{run_id}/insights"));
                url.query_pairs_mut().append_pair("limit", &PAGE_SIZE.to_string());
                url
            }
            Read::Sync => {
                let mut url = self.url(&format!("{}/insights", request.account));
                url.query_pairs_mut().extend_pairs(&params);
                url
            }
        };
        self.read_pages(first_page, shape, tx, sent).await
    }

    /// Reads the pages from `first` on, following `paging.next`, into `tx`.
    ///
    /// Each page is decoded (for a CSV output, straight into CSV records) on the blocking
    /// pool while the next ones are requested (a page's link is read from the end of its
    /// body first), so up to [`PAGES_DECODING`] pages decode on both cores while the sink
    /// only appends what they became; their rows still leave in page order.
    async fn read_pages(
        &self,
        first: Url,
        shape: Shape<'_>,
        tx: &mpsc::Sender<RowBatch>,
        sent: &mut u64,
    ) -> Result<(), FetchError> {
        let mut next = Some(first);
        let mut decoding: VecDeque<Decoding> = VecDeque::new();
        loop {
            if let Some(url) = next.take() {
                let page = self.start_decoding(url, shape).await?;
                let link = match page.peeked.clone() {
                    Some(link) => {
                        decoding.push_back(page);
                        link
                    }
                    // The link is not at the end of the body: wait for the decoded page's,
                    // after the pages before it.
                    None => {
                        decoding.push_back(page);
                        let mut link = None;
                        while let Some(page) = decoding.pop_front() {
                            match self.hand_over(page, shape, tx, sent).await? {
                                Handed::SinkClosed => return Ok(()),
                                Handed::Sent { next } => link = next,
                            }
                        }
                        link
                    }
                };
                next = link.map(|link| self.same_origin(&link)).transpose()?;
            }
            // Keep the pages decoding bounded, and hand over the rest once nothing is left
            // to fetch.
            while decoding.len() > PAGES_DECODING || (next.is_none() && !decoding.is_empty()) {
                let Some(page) = decoding.pop_front() else { break };
                if let Handed::SinkClosed = self.hand_over(page, shape, tx, sent).await? {
                    return Ok(());
                }
            }
            if next.is_none() {
                return Ok(());
            }
        }
    }

    /// Fetches the page at `url` and starts decoding it on the blocking pool.
    async fn start_decoding(&self, url: Url, (layout, form): Shape<'_>) -> Result<Decoding, FetchError> {
        let (peeked, body) = self
            .api
            .fetch(
                &self.connection,
                |http, token| http.get(url.clone()).bearer_auth(token),
                self.classify(),
                |body| Ok((peek_next(&body), body)),
            )
            .await?;
        let layout = layout.clone();
        let task = tokio::task::spawn_blocking(move || decode(&body, &layout, form));
        Ok(Decoding { url, task, peeked })
    }

    /// Waits for a page's decoding and sends its rows; a page that did not decode is asked
    /// again and decoded inline, so it goes through the retry loop as any unreadable
    /// response does.
    async fn hand_over(
        &self,
        page: Decoding,
        (layout, form): Shape<'_>,
        tx: &mpsc::Sender<RowBatch>,
        sent: &mut u64,
    ) -> Result<Handed, FetchError> {
        let decoded = page
            .task
            .await
            .map_err(|e| FetchError::Protocol(format!("a page decoding task stopped unexpectedly: {e}")))?;
        let (batch, info) = match decoded {
            Ok(decoded) => decoded,
            Err(message) => {
                tracing::warn!(connection = %self.connection, %message, "Unreadable insights page; asking again.");
                let url = &page.url;
                self.api
                    .fetch(
                        &self.connection,
                        |http, token| http.get(url.clone()).bearer_auth(token),
                        self.classify(),
                        |body| decode(&body, layout, form),
                    )
                    .await?
            }
        };
        if page.peeked.as_ref().is_some_and(|peeked| *peeked != info.next) {
            return Err(FetchError::Protocol(
                "the page's paging.next differs between its end and its decoded object".to_string(),
            ));
        }
        *sent += batch.len() as u64;
        if !batch.is_empty() && tx.send(batch).await.is_err() {
            // The sink stopped (it failed and reports why); nothing more to do here.
            return Ok(Handed::SinkClosed);
        }
        Ok(Handed::Sent { next: info.next })
    }

    /// A `paging.next` link, refused unless it points at the API the token belongs to.
    fn same_origin(&self, link: &str) -> Result<Url, FetchError> {
        let url = Url::parse(link).map_err(|e| FetchError::Protocol(format!("paging.next is not a URL: {e}")))?;
        if url.origin() != self.base.origin() {
            return Err(FetchError::Protocol(format!(
                "paging.next points at {}, not at the API base {}; refusing to send the token there",
                url.origin().ascii_serialization(),
                self.base.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }

    /// Starts an async report run and waits until it completes; returns its id.
    async fn start_report_run(&self, account: &str, params: &[(&'static str, String)]) -> Result<String, FetchError> {
        let url = self.url(&format!("{account}/insights"));
        let run: ReportRun = self
            .api
            .fetch(
                &self.connection,
                |http, token| http.post(url.clone()).form(params).bearer_auth(token),
                errors::classify,
                |body| serde_json::from_slice(&body).map_err(|e| e.to_string()),
            )
            .await?;
        let status_url = self.url(&run.report_run_id);
        let started = tokio::time::Instant::now();
        let mut wait = Duration::from_millis(100);
        loop {
            let status: ReportRunStatus = self
                .api
                .fetch(
                    &self.connection,
                    |http, token| http.get(status_url.clone()).bearer_auth(token),
                    errors::classify,
                    |body| serde_json::from_slice(&body).map_err(|e| e.to_string()),
                )
                .await?;
            match status.async_status.as_str() {
                "Job Completed" if status.async_percent_completion >= 100 => return Ok(run.report_run_id),
                "Job Failed" | "Job Skipped" => {
                    return Err(FetchError::RetriesExhausted {
                        attempts: 1,
                        message: format!(
                            "async report run {} for {account} ended with status {:?}",
                            run.report_run_id, status.async_status
                        ),
                    })
                }
                _ => {}
            }
            if started.elapsed() > ASYNC_DEADLINE {
                return Err(FetchError::RetriesExhausted {
                    attempts: 1,
                    message: format!(
                        "async report run {} for {account} did not finish within an hour",
                        run.report_run_id
                    ),
                });
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(30));
        }
    }
}

/// The Graph parameters of an insights read.
fn insights_params(request: &InsightsRequest<'_>) -> Vec<(&'static str, String)> {
    // Breakdown keys come back on every row without being requested as fields.
    let fields: Vec<&str> = Layout::fields(request.columns)
        .into_iter()
        .filter(|f| !request.breakdowns.iter().any(|b| b == f))
        .collect();
    let mut params = vec![
        ("level", request.level.as_str().to_string()),
        ("fields", fields.join(",")),
        (
            "time_range",
            serde_json::json!({"since": request.window.start.to_string(), "until": request.window.end.to_string()})
                .to_string(),
        ),
        (
            "time_increment",
            match request.increment {
                TimeIncrement::Daily => "1".to_string(),
                TimeIncrement::Total => "all_days".to_string(),
            },
        ),
        ("limit", PAGE_SIZE.to_string()),
    ];
    if !request.breakdowns.is_empty() {
        params.push(("breakdowns", request.breakdowns.join(",")));
    }
    let attribution = request.attribution;
    if !attribution.windows.is_empty() {
        // A JSON list, as the SDK sends `list<…>` parameters.
        params.push((
            "action_attribution_windows",
            serde_json::to_string(&attribution.windows).expect("strings always serialize"),
        ));
    }
    if let Some(report_time) = &attribution.report_time {
        params.push(("action_report_time", report_time.clone()));
    }
    if !request.filters.is_empty() {
        params.push((
            "filtering",
            serde_json::to_string(request.filters).expect("filters always serialize"),
        ));
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_follow_the_graph_shapes() {
        let columns = vec![
            "date_start".to_string(),
            "campaign_name".to_string(),
            "spend".to_string(),
            "age".to_string(),
        ];
        let breakdowns = vec!["age".to_string()];
        let filters = vec![Filter {
            field: "campaign.name".into(),
            operator: "CONTAIN".into(),
            value: serde_json::json!("Brand"),
        }];
        let d = |s: &str| s.parse().unwrap();
        let request = InsightsRequest {
            account: "act_1",
            level: Level::Campaign,
            columns: &columns,
            breakdowns: &breakdowns,
            filters: &filters,
            window: DateWindow::new(d("2026-03-01"), d("2026-03-07")),
            increment: TimeIncrement::Daily,
            attribution: &Attribution::default(),
        };
        let params = insights_params(&request);
        let get = |k: &str| params.iter().find(|(key, _)| *key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("fields"), Some("date_start,campaign_name,spend"));
        assert_eq!(
            get("time_range"),
            Some(r#"{"since":"2026-03-01","until":"2026-03-07"}"#)
        );
        assert_eq!(get("time_increment"), Some("1"));
        assert_eq!(get("breakdowns"), Some("age"));
        assert_eq!(
            get("filtering"),
            Some(r#"[{"field":"campaign.name","operator":"CONTAIN","value":"Brand"}]"#)
        );
        assert_eq!(get("action_attribution_windows"), None);
    }

    #[test]
    fn action_columns_ask_for_their_list_once_with_the_windows_and_report_time() {
        let columns: Vec<String> = [
            "date_start",
            "actions:purchase",
            "actions:lead:7d_click",
            "action_values:purchase",
        ]
        .map(String::from)
        .to_vec();
        let attribution = Attribution {
            windows: vec!["7d_click".into(), "1d_view".into()],
            report_time: Some("conversion".into()),
        };
        let d = |s: &str| s.parse().unwrap();
        let request = InsightsRequest {
            account: "act_1",
            level: Level::Account,
            columns: &columns,
            breakdowns: &[],
            filters: &[],
            window: DateWindow::new(d("2026-03-01"), d("2026-03-07")),
            increment: TimeIncrement::Daily,
            attribution: &attribution,
        };
        let params = insights_params(&request);
        let get = |k: &str| params.iter().find(|(key, _)| *key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("fields"), Some("date_start,actions,action_values"));
        assert_eq!(get("action_attribution_windows"), Some(r#"["7d_click","1d_view"]"#));
        assert_eq!(get("action_report_time"), Some("conversion"));
    }
}
