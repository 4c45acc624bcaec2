//! The fetch logic every platform shares: one request with the connection's token, retried
//! with bounded exponential backoff when the failure is transient, slowed down when the
//! platform says so, and retried once with a refreshed token when the platform rejects it.
//!
//! A platform module supplies only how to build its request, how to classify its error
//! payloads ([`Failure`]) and how to decode its body.

use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;

use crate::auth::{Auth, AuthError};
use crate::config::HttpPolicy;

use super::request_slots::RequestSlots;
use super::slowdowns::Slowdowns;

/// What kind of failure a platform response is: decides retry, wait, refresh or give up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FailureClass {
    /// Network trouble, 5xx, platform "try again" codes: retry with backoff.
    Transient,
    /// The platform asks to slow down, for `retry_after` if it said.
    RateLimited {
        /// How long the platform asked to wait.
        retry_after: Option<Duration>,
    },
    /// The access token is invalid, expired or revoked: refresh once, then reconnect.
    TokenInvalid {
        /// Why, as a machine-readable reason (e.g. `password_changed`), when the platform says.
        reason: Option<String>,
    },
    /// The token works but lacks access to this account or scope.
    Permission,
    /// The query asks for something the platform rejects (unknown field, bad breakdown).
    BadQuery,
    /// The request asks for more data than the platform will compute at once (Graph code 1,
    /// "Please reduce the amount of data"): the same request fails again, a smaller one may not.
    TooMuchData,
}

/// A classified platform failure with the platform's own message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// What to do about it.
    pub(crate) class: FailureClass,
    /// The platform's message, safe to show (never contains the token).
    pub(crate) message: String,
}

impl Failure {
    /// A failure of `class` with `message`.
    pub(crate) fn new(class: FailureClass, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
        }
    }
}

/// Why a fetch gave up.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Transient failures outlasted the retry budget.
    #[error("{message} (gave up after {attempts} attempts)")]
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        message: String,
    },
    /// No access to an account or scope.
    #[error("permission denied: {0}")]
    Permission(String),
    /// The platform's quota is spent for longer than a run waits (Google Ads' daily
    /// operations, GA4's tokens per day); the connection makes no request until then.
    #[error("{message} (quota spent; the platform asks to wait {})", describe_wait(*wait))]
    QuotaExhausted {
        /// How long the platform asked to wait, from when it was asked.
        wait: Duration,
        /// The platform's message.
        message: String,
    },
    /// The platform rejected the query itself.
    #[error("the platform rejected the query: {0}")]
    BadQuery(String),
    /// The request asks for too much data at once; the source splits it where it can.
    #[error("the platform asks for a smaller request: {0}")]
    TooMuchData(String),
    /// A response the platform module could not make sense of, repeatedly.
    #[error("unexpected response: {0}")]
    Protocol(String),
    /// No token could be had.
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// The HTTP client all platform calls go through; one per daemon, so connections are reused.
#[derive(Clone, Debug)]
pub(crate) struct ApiClient {
    http: reqwest::Client,
    auth: Auth,
    policy: HttpPolicy,
    /// Per connection, no request before an instant (set by rate limits, cluster-wide).
    slowdowns: Slowdowns,
    /// Per connection, a slot per request in flight (this daemon's share of the limit).
    request_slots: RequestSlots,
}

impl ApiClient {
    /// A client that gets tokens from `auth` and retries per `policy`.
    pub(crate) fn new(auth: Auth, policy: HttpPolicy) -> Self {
        let http = reqwest::Client::builder()
            // A redirect would carry the bearer token to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(policy.request_timeout)
            .pool_max_idle_per_host(16)
            .build()
            .expect("a reqwest client with static settings always builds");
        Self {
            http,
            slowdowns: Slowdowns::new(auth.store().clone()),
            request_slots: RequestSlots::new(policy.max_requests_per_connection),
            auth,
            policy,
        }
    }

    /// The store the connections' tokens and the cluster's shared limits are kept in.
    pub(crate) fn store(&self) -> &crate::store::Store {
        self.auth.store()
    }

    /// The retry and concurrency policy.
    pub(crate) fn policy(&self) -> &HttpPolicy {
        &self.policy
    }

    /// How long ago `connection` was last connected by a person's consent
    /// ([`Auth::connected_for`]).
    pub(crate) async fn connected_for(&self, connection: &str) -> Option<chrono::Duration> {
        self.auth.connected_for(connection).await
    }

    /// Sends the request `build` makes for a token of `connection` until it succeeds and
    /// `decode` accepts the body, or a failure is final.
    ///
    /// `classify` maps an unsuccessful response (or a successful one carrying an error) to a
    /// [`Failure`]; `decode` errors count as transient (a truncated body is retried).
    pub(crate) async fn fetch<T>(
        &self,
        connection: &str,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
        classify: impl Fn(StatusCode, &HeaderMap, &[u8]) -> Option<Failure>,
        decode: impl Fn(Bytes) -> Result<T, String>,
    ) -> Result<T, FetchError> {
        let (classify, decode) = (&classify, &decode);
        self.fetch_streaming(connection, build, classify, |mut response| async move {
            let status = response.status();
            let headers = std::mem::take(response.headers_mut());
            let body = response
                .bytes()
                .await
                .map_err(|e| Failure::new(FailureClass::Transient, describe_reqwest(&e)))?;
            if let Some(failure) = classify(status, &headers, &body) {
                return Err(failure);
            }
            decode(body)
                .map_err(|message| Failure::new(FailureClass::Transient, format!("unreadable response: {message}")))
        })
        .await
    }

    /// Like [`fetch`](Self::fetch), but hands a successful response to `read` to consume as
    /// it arrives (a streamed body is never held whole).
    ///
    /// A `Failure` from `read` goes through the same retry, wait and refresh rules as an
    /// error response, so `read` must return one only while nothing it read has been passed
    /// on; once it has, a retry would deliver rows twice, and `read` ends with `Ok` carrying
    /// its own error instead. The request slot is held until `read` is done.
    pub(crate) async fn fetch_streaming<T, Fut>(
        &self,
        connection: &str,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
        classify: impl Fn(StatusCode, &HeaderMap, &[u8]) -> Option<Failure>,
        mut read: impl FnMut(reqwest::Response) -> Fut,
    ) -> Result<T, FetchError>
    where
        Fut: std::future::Future<Output = Result<T, Failure>>,
    {
        let mut attempt: u32 = 0;
        let mut refreshed = false;
        let mut token = self
            .with_token_retries(connection, || self.auth.access_token(connection))
            .await?;
        loop {
            attempt += 1;
            self.wait_for_connection(connection).await?;
            let live_daemons = self.store().live_daemons();
            let slot = self.request_slots.acquire(connection, live_daemons).await;
            let sent = build(&self.http, &token).send().await;
            crate::telemetry::platform_request(sent.as_ref().ok().map(|r| r.status().as_u16()));
            let failure = match sent {
                Err(e) => Failure::new(FailureClass::Transient, describe_reqwest(&e)),
                Ok(response) if response.status().is_success() => match read(response).await {
                    Ok(value) => return Ok(value),
                    Err(failure) => failure,
                },
                Ok(mut response) => {
                    let status = response.status();
                    let headers = std::mem::take(response.headers_mut());
                    match response.bytes().await {
                        Err(e) => Failure::new(FailureClass::Transient, describe_reqwest(&e)),
                        Ok(body) => classify(status, &headers, &body).unwrap_or_else(|| {
                            Failure::new(
                                FailureClass::Transient,
                                format!("HTTP {status} with an unrecognised body"),
                            )
                        }),
                    }
                }
            };
            drop(slot);
            let wait = match failure.class {
                FailureClass::TokenInvalid { reason } => {
                    if refreshed {
                        // A fresh token rejected too: only a person can fix this.
                        let paused = self
                            .auth
                            .mark_needs_reconnect(connection, reason.as_deref(), &failure.message);
                        return Err(paused.await.into());
                    }
                    refreshed = true;
                    let rejected = token;
                    token = self
                        .with_token_retries(connection, || {
                            self.auth.refresh(connection, &rejected, reason.as_deref())
                        })
                        .await?;
                    continue;
                }
                FailureClass::Permission => return Err(FetchError::Permission(failure.message)),
                FailureClass::BadQuery => return Err(FetchError::BadQuery(failure.message)),
                FailureClass::TooMuchData => return Err(FetchError::TooMuchData(failure.message)),
                FailureClass::Transient => self.backoff(attempt),
                FailureClass::RateLimited { retry_after } => {
                    let wait = retry_after.unwrap_or_default().max(self.backoff(attempt));
                    // Every run on the connection waits, not only this one: the platform
                    // counts calls per app, user or ad account, not per request stream.
                    self.slow_down(connection, wait);
                    crate::telemetry::rate_limited(wait);
                    if wait > self.policy.max_rate_limit_wait {
                        return Err(FetchError::QuotaExhausted {
                            wait,
                            message: failure.message,
                        });
                    }
                    wait
                }
            };
            if attempt > self.policy.max_retries {
                return Err(FetchError::RetriesExhausted {
                    attempts: attempt,
                    message: failure.message,
                });
            }
            tracing::warn!(
                connection,
                attempt,
                wait_ms = wait.as_millis() as u64,
                "Platform request failed, retrying: {}",
                failure.message
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Gets a token through `get`, retrying a failing token endpoint like any transient
    /// platform failure.
    async fn with_token_retries<F, Fut>(&self, connection: &str, get: F) -> Result<String, FetchError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<String, AuthError>>,
    {
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            match get().await {
                Err(AuthError::Transient { message, .. }) if attempt <= self.policy.max_retries => {
                    let wait = self.backoff(attempt);
                    tracing::warn!(connection, attempt, "Token endpoint failed, retrying: {message}");
                    tokio::time::sleep(wait).await;
                }
                Err(AuthError::Transient { message, .. }) => {
                    return Err(FetchError::RetriesExhausted {
                        attempts: attempt,
                        message: format!("token endpoint: {message}"),
                    })
                }
                other => return other.map_err(FetchError::from),
            }
        }
    }

    /// Holds back every request of `connection` for `wait`, on every daemon of the cluster.
    pub(crate) fn slow_down(&self, connection: &str, wait: Duration) {
        self.slowdowns.slow_down(connection, wait);
    }

    /// Sleeps while `connection` is held back by a rate limit (this daemon's or another's
    /// of the cluster); fails at once when the wait is longer than a run sits out.
    async fn wait_for_connection(&self, connection: &str) -> Result<(), FetchError> {
        if let Some(until) = self.slowdowns.until(connection).await {
            let wait = until - tokio::time::Instant::now();
            if wait > self.policy.max_rate_limit_wait {
                return Err(FetchError::QuotaExhausted {
                    wait,
                    message: format!("{connection} is waiting out a spent platform quota"),
                });
            }
            tokio::time::sleep_until(until).await;
        }
        Ok(())
    }

    /// Exponential backoff with full jitter: `initial * 2^(attempt-1)`, capped, then a
    /// random point in its upper half so parallel runs do not retry in lockstep.
    fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .policy
            .initial_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.policy.max_backoff);
        let half = base / 2;
        half + half.mul_f64(rand::thread_rng().gen::<f64>())
    }
}

/// A wait in words: `40 s`, `12 min`, `11 h 16 min`.
fn describe_wait(wait: Duration) -> String {
    let secs = wait.as_secs();
    match secs {
        0..=119 => format!("{secs} s"),
        120..=3599 => format!("{} min", secs / 60),
        _ => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
    }
}

/// A reqwest error in words, without the URL's query string (which may carry secrets).
fn describe_reqwest(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "request timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "connection broke while reading the response"
    } else {
        "request failed"
    };
    match e.url() {
        Some(url) => format!("{what} ({}{})", url.origin().ascii_serialization(), url.path()),
        None => what.to_string(),
    }
}

/// Test set-up shared by the platform and sink tests that call an API with a known token;
/// outside the crate's own tests it needs the `testing` feature.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::Path;
    use std::sync::Arc;
    use std::time::Duration;

    use crate::auth::Auth;
    use crate::config::{Config, Overrides};
    use crate::store::{Store, TokenSet};

    use super::ApiClient;

    /// The config of one `google` connection `id` whose APIs are at `base`, kept in `dir`,
    /// and a client whose store holds `access_token` (granted `scopes`) for it. Retries wait
    /// a millisecond, so tests of failures do not wait out real backoffs.
    pub(crate) async fn google_client(
        dir: &Path,
        id: &str,
        base: &str,
        access_token: String,
        scopes: &[&str],
    ) -> (Config, ApiClient) {
        let text = format!(
            "data_dir = \"state\"\noutput_dir = \"out\"\n\n[[connections]]\nid = \"{id}\"\nprovider = \"google\"\n\
             client_id = \"test-app\"\nclient_secret = \"test-app-secret\"\napi_base_url = \"{base}\"\n\
             owners = [\"owner@example.com\"]\n"
        );
        let mut config = Config::parse(&text, Path::new("adsync.toml"), dir, &Overrides::default()).unwrap();
        config.http.initial_backoff = Duration::from_millis(1);
        config.http.max_backoff = Duration::from_millis(1);
        let store = Store::open(&config.data_dir).unwrap();
        let now = chrono::Utc::now();
        let token = TokenSet {
            access_token,
            refresh_token: None,
            access_expires_at: Some(now + chrono::Duration::hours(1)),
            refresh_expires_at: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            identity: None,
            obtained_at: now,
            last_used_at: None,
            data_access_expires_at: None,
            self_renewing: false,
            refresh_started_at: None,
        };
        store.put_token(id, &token).await.unwrap();
        let auth = Auth::new(&config, store, Arc::new(crate::clock::SystemClock));
        let api = ApiClient::new(auth, config.http);
        (config, api)
    }
}
