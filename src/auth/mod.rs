//! Tokens: connecting a connection (authorization code + PKCE), handing sources a valid
//! access token, and refreshing it inline.
//!
//! Sources never read tokens from config or the store themselves; they ask [`Auth`] for one,
//! and tell it when the platform rejected it. Refreshes are single-flight per connection and
//! a rotated refresh token is durable in the store before the new access token is handed out.

pub(crate) mod links;
mod service_account;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use url::Url;

use crate::clock::SharedClock;
use crate::config::{ClientAuth, Config, ConnectionConfig, IdentityEndpoint};
use crate::keyed::Keyed;
use crate::platform::{Provider, TokenFacts};
use crate::store::{ConnectionState, ConnectionStatus, Identity, Store, StoreError, TokenSet};

pub use crate::reason::ReconnectReason;
pub use links::{LinkError, LinkSigner};
pub(crate) use service_account::ServiceAccountKey;
pub use service_account::{ServiceAccountError, JWT_BEARER_GRANT};

/// `last_used_at` is written at most this often, so using a token is not a store write.
const LAST_USED_RESOLUTION: Duration = Duration::hours(1);

/// What a refresh requires of its connection's state.
#[derive(Debug, Clone, Copy)]
enum RefreshGate {
    /// Neither paused nor misconfigured: a run's refresh.
    Usable,
    /// Misconfigured: the upkeep asking whether the OAuth client is accepted again.
    Misconfigured,
}

/// Why no usable token could be had.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The connection is not in the config.
    #[error("unknown connection {0:?}")]
    UnknownConnection(String),
    /// No token was ever stored.
    #[error("connection {0} is not connected yet: run `adsync demo` or connect it first")]
    NotConnected(String),
    /// The platform refused to renew the token; a person must reconnect.
    #[error("connection {connection} needs to be reconnected: {}{}", reason.sentence(), detail.as_deref().map(|d| format!(" (platform said: {d})")).unwrap_or_default())]
    NeedsReconnect {
        /// Connection id.
        connection: String,
        /// Why.
        reason: ReconnectReason,
        /// The platform's own message, when it gave one.
        detail: Option<String>,
    },
    /// The token endpoint refuses the OAuth client itself (`invalid_client`,
    /// `unauthorized_client`): the connection is `misconfigured` until the config's client
    /// id or secret is fixed (or a reconnect or refresh succeeds).
    #[error("the OAuth client id or secret of {connection} in the config was rejected: {detail}")]
    ClientRejected {
        /// Connection id.
        connection: String,
        /// The token endpoint's error code and description.
        detail: String,
    },
    /// The token endpoint could not be reached or failed temporarily.
    #[error("token endpoint of {connection} failed: {message}")]
    Transient {
        /// Connection id.
        connection: String,
        /// What happened.
        message: String,
    },
    /// The token endpoint rejected the request for a reason a retry will not fix.
    #[error("token request for {connection} was rejected: {message}")]
    Rejected {
        /// Connection id.
        connection: String,
        /// The platform's error code and description.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A started authorization: send the person to `url`, keep `state` and `verifier`.
#[derive(Debug)]
pub struct PendingAuthorization {
    /// The platform's consent URL.
    pub url: Url,
    /// The anti-CSRF state carried through the redirect.
    pub(crate) state: String,
    /// The PKCE verifier the code exchange must present.
    pub verifier: String,
}

/// Hands out access tokens for connections.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<AuthInner>,
}

struct AuthInner {
    store: Store,
    /// For token endpoints only: its timeout is longer than an API call's, because a lost
    /// answer to a rotating refresh can cost the whole grant.
    http: reqwest::Client,
    /// That client's timeout, for messages.
    token_timeout: std::time::Duration,
    clock: SharedClock,
    connections: HashMap<String, ConnectionConfig>,
    redirect_url: Url,
    /// One lock per connection so that however many runs share it, one refresh is in flight.
    refresh_locks: Keyed<tokio::sync::Mutex<()>>,
    /// Tokens the platform issued that the store could not save (a full disk): the only
    /// copy of a rotated refresh token. Read before the store and saved before any use.
    unsaved: Arc<std::sync::Mutex<HashMap<String, TokenSet>>>,
    /// The keys of service-account connections, which mint tokens instead of refreshing.
    service_accounts: HashMap<String, Result<ServiceAccountKey, String>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").finish_non_exhaustive()
    }
}

impl Auth {
    /// This auth layer for a reloaded `config`: the refresh locks and the tokens the store
    /// could not save carry over, so a run of the old config and one of the new never
    /// refresh one connection at once, and no rotated refresh token is lost.
    pub(crate) fn reconfigured(&self, config: &Config) -> Self {
        let mut fresh = Self::new(config, self.inner.store.clone(), self.inner.clock.clone());
        let inner = Arc::get_mut(&mut fresh.inner).expect("a new auth layer is not shared yet");
        inner.refresh_locks = self.inner.refresh_locks.clone();
        inner.unsaved = self.inner.unsaved.clone();
        fresh
    }

    /// An auth layer over `store` for the connections in `config`.
    pub(crate) fn new(config: &Config, store: Store, clock: SharedClock) -> Self {
        let token_timeout = config.http.request_timeout * 2;
        let http = reqwest::Client::builder()
            // Token endpoints must not redirect: following one would leak the client secret.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(token_timeout)
            .build()
            .expect("a reqwest client with static settings always builds");
        Self {
            inner: Arc::new(AuthInner {
                store,
                http,
                token_timeout,
                clock,
                connections: config.connections.iter().map(|c| (c.id.clone(), c.clone())).collect(),
                redirect_url: config.redirect_url(),
                refresh_locks: Keyed::default(),
                unsaved: Default::default(),
                service_accounts: config
                    .connections
                    .iter()
                    .filter_map(|c| Some((c.id.clone(), ServiceAccountKey::load(c.key_file.as_ref()?))))
                    .collect(),
            }),
        }
    }

    /// The store tokens live in.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    fn connection(&self, id: &str) -> Result<&ConnectionConfig, AuthError> {
        self.inner
            .connections
            .get(id)
            .ok_or_else(|| AuthError::UnknownConnection(id.to_string()))
    }

    /// Starts an authorization for `connection`: a consent URL with a fresh state and an
    /// S256 PKCE challenge. `login_hint` pre-selects the platform user where supported.
    pub fn begin_authorization(
        &self,
        connection: &str,
        login_hint: Option<&str>,
    ) -> Result<PendingAuthorization, AuthError> {
        let conn = self.connection(connection)?;
        if conn.provider == Provider::GoogleServiceAccount {
            return Err(AuthError::Rejected {
                connection: connection.to_string(),
                message: "a service account has no consent step: it signs in with its key file".into(),
            });
        }
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = BasicClient::new(ClientId::new(conn.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(conn.auth_url.clone()))
            .set_redirect_uri(RedirectUrl::from_url(self.inner.redirect_url.clone()));
        let mut request = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(conn.scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge);
        if let Some(hint) = login_hint {
            request = request.add_extra_param("login_hint", hint.to_string());
        }
        if conn.provider == Provider::Google {
            // Without `offline` Google issues no refresh token; `consent` makes it issue a
            // new one even when the person approved adsync before (a reconnect).
            request = request
                .add_extra_param("access_type", "offline")
                .add_extra_param("prompt", "consent")
                .add_extra_param("include_granted_scopes", "true");
        }
        let (url, state) = request.url();
        Ok(PendingAuthorization {
            url,
            state: state.secret().clone(),
            verifier: verifier.secret().clone(),
        })
    }

    /// The `login_hint` a reconnect of `connection` carries: the stored login, where the
    /// authorization server takes the parameter. Google does (api-facts §2.1), as does any
    /// OpenID Connect server (OpenID Connect Core 1.0 §3.1.2.1), the kind a configured
    /// `userinfo_url`/`issuer` points at. Facebook Login's dialog and LinkedIn's
    /// authorization page document no such parameter
    /// (https://developers.facebook.com/documentation/facebook-login/guides/advanced/manual-flow,
    /// https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow).
    pub(crate) async fn login_hint(&self, connection: &str) -> Option<String> {
        let conn = self.connection(connection).ok()?;
        let takes_hint = conn.provider == Provider::Google || conn.identity_endpoint != IdentityEndpoint::Platform;
        if !takes_hint {
            return None;
        }
        let identity = self.inner.store.token(connection).await.ok()??.identity?;
        // Google takes an email address or the `sub`; a name that is neither would mislead.
        Some(if identity.name.contains('@') {
            identity.name
        } else {
            identity.id
        })
        .filter(|hint| !hint.is_empty())
    }

    /// Exchanges an authorization `code` for tokens, stores them sealed and marks the
    /// connection connected.
    pub async fn complete_authorization(&self, connection: &str, code: &str, verifier: &str) -> Result<(), AuthError> {
        let conn = self.connection(connection)?;
        let response = oauth_client(conn, &self.inner.redirect_url)
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
            .request_async(&self.inner.http)
            .await
            .map_err(|e| self.token_error(connection, e))?;
        let now = self.inner.clock.now();
        let token = token_set(&response, None, conn, now, None);
        // Under the lock: a refresh of the old grant still in flight must not land after
        // (and over) the new login.
        let lock = self.refresh_lock(connection);
        let _guard = lock.lock().await;
        self.inner.store.put_token(connection, &token).await?;
        self.mark_connected(connection, now).await?;
        tracing::info!(connection, "Connection connected.");
        Ok(())
    }

    /// Meta's `fb_exchange_token` grant: trades the short-lived user token the code exchange
    /// gave for a long-lived one (about 60 days), stored like any other token.
    pub(crate) async fn exchange_long_lived(&self, connection: &str) -> Result<(), AuthError> {
        #[derive(serde::Deserialize)]
        struct LongLived {
            access_token: String,
            expires_in: Option<i64>,
        }
        let conn = self.connection(connection)?;
        let lock = self.refresh_lock(connection);
        let _guard = lock.lock().await;
        let mut token = self.stored_token(connection).await?;
        let transient = |message: String| AuthError::Transient {
            connection: connection.to_string(),
            message,
        };
        let response = self
            .inner
            .http
            .get(conn.token_url.clone())
            .query(&[
                ("grant_type", "fb_exchange_token"),
                ("client_id", conn.client_id.as_str()),
                ("client_secret", conn.client_secret.expose()),
                ("fb_exchange_token", token.access_token.as_str()),
            ])
            .send()
            .await
            // The URL carries the client secret: never let it into a message.
            .map_err(|e| transient(format!("long-lived token exchange failed: {}", e.without_url())))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| transient(e.without_url().to_string()))?;
        if !status.is_success() {
            let error: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let message = error["error_description"]
                .as_str()
                .or(error["error"]["message"].as_str())
                .unwrap_or("no reason given");
            return Err(AuthError::Rejected {
                connection: connection.to_string(),
                message: format!("long-lived token exchange answered HTTP {status}: {message}"),
            });
        }
        let long: LongLived = serde_json::from_slice(&body)
            .map_err(|e| transient(format!("unreadable long-lived token response: {e}")))?;
        let now = self.inner.clock.now();
        token.access_token = long.access_token;
        token.access_expires_at = long.expires_in.map(|secs| now + Duration::seconds(secs));
        token.obtained_at = now;
        self.inner.store.put_token(connection, &token).await?;
        Ok(())
    }

    /// Remembers what the platform said of the token (Meta's `debug_token`): its end, the end
    /// of its data access and its granted scopes, each where known.
    pub(crate) async fn record_token_facts(&self, connection: &str, facts: TokenFacts) -> Result<(), AuthError> {
        self.update_token(connection, |token| {
            if let Some(at) = facts.access_expires_at {
                token.access_expires_at = Some(at);
            }
            if let Some(at) = facts.data_access_expires_at {
                token.data_access_expires_at = Some(at);
            }
            if let Some(scopes) = facts.scopes {
                token.scopes = scopes;
            }
        })
        .await
    }

    /// Remembers which platform user the connection's token acts as.
    pub(crate) async fn record_identity(&self, connection: &str, identity: Identity) -> Result<(), AuthError> {
        self.update_token(connection, |token| token.identity = Some(identity))
            .await
    }

    /// A valid access token for `connection`, refreshed first when it is about to expire.
    /// A connection that needs reconnecting fails at once, without calling the platform: a
    /// dead grant is not retried until a person reconnects.
    pub async fn access_token(&self, connection: &str) -> Result<String, AuthError> {
        if self.inner.service_accounts.contains_key(connection) {
            return self.service_account_token(connection, None).await;
        }
        self.ensure_usable(connection).await?;
        self.save_unsaved(connection).await?;
        let token = self.stored_token(connection).await?;
        let now = self.inner.clock.now();
        if token.refresh_due(now) && token.refresh_token.is_some() {
            return self.refresh(connection, &token.access_token, None).await;
        }
        if token.last_used_at.is_none_or(|at| now - at >= LAST_USED_RESOLUTION) {
            // Re-read and written under the lock: writing back the copy read above could put
            // back a refresh token a concurrent refresh has just rotated out.
            self.update_token(connection, |stored| stored.last_used_at = Some(now))
                .await?;
        }
        Ok(token.access_token)
    }

    /// The scopes the connection's stored token was granted.
    pub(crate) async fn granted_scopes(&self, connection: &str) -> Result<Vec<String>, AuthError> {
        Ok(self.stored_token(connection).await?.scopes)
    }

    /// How long ago `connection` was last connected by a person's consent, by this layer's
    /// clock; `None` unless it is connected. (LinkedIn refuses brand-new tokens for a moment.)
    pub(crate) async fn connected_for(&self, connection: &str) -> Option<Duration> {
        let state = self.inner.store.connection(connection).await.ok()??;
        (state.status == ConnectionStatus::Connected).then(|| self.inner.clock.now() - state.since)
    }

    /// Fails with [`AuthError::NeedsReconnect`] if the connection is paused, and with
    /// [`AuthError::ClientRejected`] if it is misconfigured: its runs become gaps with one
    /// reason instead of each asking the token endpoint again.
    pub(crate) async fn ensure_usable(&self, connection: &str) -> Result<(), AuthError> {
        match self.inner.store.connection(connection).await? {
            Some(ConnectionState {
                status: ConnectionStatus::Misconfigured,
                detail,
                ..
            }) => Err(AuthError::ClientRejected {
                connection: connection.to_string(),
                detail: detail.unwrap_or_default(),
            }),
            Some(ConnectionState {
                status: ConnectionStatus::NeedsReconnect,
                reason,
                detail,
                ..
            }) => Err(AuthError::NeedsReconnect {
                connection: connection.to_string(),
                reason: reason.unwrap_or(ReconnectReason::Unknown),
                detail,
            }),
            _ => Ok(()),
        }
    }

    /// Called when the platform rejected `rejected` as invalid (with the reconnect reason it
    /// named, if any): refreshes once, unless another run already did, and returns the token
    /// to retry with.
    pub async fn refresh(&self, connection: &str, rejected: &str, hint: Option<&str>) -> Result<String, AuthError> {
        self.refresh_if(connection, rejected, hint, RefreshGate::Usable).await
    }

    /// [`refresh`](Self::refresh), once `gate` (checked under the refresh locks) allows it.
    async fn refresh_if(
        &self,
        connection: &str,
        rejected: &str,
        hint: Option<&str>,
        gate: RefreshGate,
    ) -> Result<String, AuthError> {
        if self.inner.service_accounts.contains_key(connection) {
            return self.service_account_token(connection, Some(rejected)).await;
        }
        self.save_unsaved(connection).await?;
        let lock = self.refresh_lock(connection);
        let _guard = lock.lock().await;
        // And across the cluster: the token is re-read below, after both locks are held.
        let _cluster_guard = self.inner.store.lock_refresh(connection).await?;
        self.pass(gate, connection).await?;
        // Another run may have refreshed while we waited for the lock: its token serves this
        // run's next request as long as it has not ended (a 401 would refresh again).
        let current = self.stored_token(connection).await?;
        let now = self.inner.clock.now();
        if current.access_token != rejected && current.access_expires_at.is_none_or(|at| at > now) {
            return Ok(current.access_token);
        }
        let conn = self.connection(connection)?;
        let Some(refresh_token) = current.refresh_token.clone() else {
            let reason = hint.map_or(ReconnectReason::NoRefreshToken, ReconnectReason::parse);
            return Err(self.needs_reconnect(connection, reason, None).await);
        };
        // Durable before the request: if its answer is lost, the next refresh knows the platform
        // may have rotated the refresh token it is about to present.
        let answer_lost_before = current.refresh_started_at.is_some();
        let marked = TokenSet {
            refresh_started_at: Some(now),
            ..current.clone()
        };
        self.inner.store.put_token(connection, &marked).await?;
        let result = oauth_client(conn, &self.inner.redirect_url)
            .exchange_refresh_token(&RefreshToken::new(refresh_token.clone()))
            .request_async(&self.inner.http)
            .await;
        crate::telemetry::token_refreshed(match &result {
            Ok(_) => "ok",
            Err(RequestTokenError::ServerResponse(e)) if grant_is_dead(e) || client_is_rejected(e) => "rejected",
            Err(_) => "error",
        });
        match result {
            Ok(response) => {
                let now = self.inner.clock.now();
                let mut token = token_set(&response, Some(&current), conn, now, current.identity.clone());
                token.last_used_at = Some(now);
                // Durable before use: if the platform rotated the refresh token, the old one
                // is already dead, and a crash after this point must find the new one.
                if let Err(e) = self.inner.store.put_token(connection, &token).await {
                    tracing::error!(
                        connection,
                        "The platform renewed the token of {connection} but the store could not save it ({e}). \
                         It is kept in memory and saved before it is used; if adsync stops before the store \
                         can be written, {connection} will need reconnecting."
                    );
                    self.unsaved().insert(connection.to_string(), token);
                    return Err(e.into());
                }
                tracing::info!(connection, "Access token refreshed.");
                Ok(token.access_token)
            }
            Err(RequestTokenError::ServerResponse(e)) if client_is_rejected(&e) => {
                // The client was refused before the grant was looked at: nothing rotated.
                self.inner.store.put_token(connection, &current).await?;
                Err(self.client_rejected(connection, &e).await)
            }
            Err(RequestTokenError::ServerResponse(e)) if grant_is_dead(&e) => {
                // Another process (a CLI run next to the daemon) may have won a rotation race:
                // its new refresh token is in the store, and ours was the old one.
                let stored = self.stored_token(connection).await?;
                if stored.refresh_token.as_deref() != Some(refresh_token.as_str()) && stored.access_token != rejected {
                    return Ok(stored.access_token);
                }
                let description = e.error_description().cloned();
                // A lost answer explains the dead grant better than whatever the platform said
                // of the access token that sent us here.
                let reason = if answer_lost_before {
                    ReconnectReason::RefreshAnswerLost
                } else {
                    let guessed = ReconnectReason::from_description(description.as_deref().unwrap_or_default());
                    hint.map_or(guessed, ReconnectReason::parse)
                };
                let detail = description.unwrap_or_else(|| e.error().as_ref().to_string());
                Err(self.needs_reconnect(connection, reason, Some(detail)).await)
            }
            Err(e) => {
                if !answer_may_be_lost(&e) {
                    // The platform answered (or was never reached): nothing was rotated.
                    self.inner.store.put_token(connection, &current).await?;
                }
                Err(self.token_error(connection, e))
            }
        }
    }

    /// A service account's access token: the stored one while it is good (and is not
    /// `rejected`), else a new one for a freshly signed JWT (RFC 7523; no refresh token exists).
    /// A refused assertion is not a person's to fix by reconnecting: it fails the run with
    /// Google's reason (a deleted key, a scope the account may not use).
    async fn service_account_token(&self, connection: &str, rejected: Option<&str>) -> Result<String, AuthError> {
        let lock = self.refresh_lock(connection);
        let _guard = lock.lock().await;
        let conn = self.connection(connection)?;
        let now = self.inner.clock.now();
        let stored = self.inner.store.token(connection).await?;
        let good = stored.as_ref().filter(|token| {
            Some(token.access_token.as_str()) != rejected
                && token.access_expires_at.is_some()
                && !token.refresh_due(now)
        });
        if let Some(token) = good {
            return Ok(token.access_token.clone());
        }
        let key = match &self.inner.service_accounts[connection] {
            Ok(key) => key,
            Err(message) => {
                return Err(AuthError::Rejected {
                    connection: connection.to_string(),
                    message: message.clone(),
                })
            }
        };
        // The assertion's `iat`/`exp` are read by Google on its own clock: they are wall-clock
        // time, whatever clock adsync schedules by.
        let (access_token, expires_in) = key
            .exchange(&self.inner.http, &conn.token_url, &conn.scopes, Utc::now())
            .await
            .map_err(|e| match e {
                ServiceAccountError::Transient { .. } => AuthError::Transient {
                    connection: connection.to_string(),
                    message: e.to_string(),
                },
                ServiceAccountError::Sign { .. } | ServiceAccountError::Rejected { .. } => AuthError::Rejected {
                    connection: connection.to_string(),
                    message: e.to_string(),
                },
            })?;
        let token = TokenSet {
            access_token,
            refresh_token: None,
            access_expires_at: Some(now + Duration::seconds(i64::try_from(expires_in).unwrap_or(3600))),
            refresh_expires_at: None,
            scopes: conn.scopes.clone(),
            identity: Some(Identity {
                id: key.client_email.clone(),
                name: key.client_email.clone(),
            }),
            obtained_at: now,
            last_used_at: Some(now),
            data_access_expires_at: None,
            self_renewing: true,
            refresh_started_at: None,
        };
        self.inner.store.put_token(connection, &token).await?;
        if stored.is_none() {
            self.mark_connected(connection, now).await?;
            tracing::info!(connection, "Service account {} signed in.", key.client_email);
        }
        Ok(token.access_token)
    }

    /// Records `connection` as connected since `now`.
    async fn mark_connected(&self, connection: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.inner
            .store
            .put_connection(
                connection,
                &ConnectionState {
                    status: ConnectionStatus::Connected,
                    since: now,
                    reason: None,
                    detail: None,
                    previous_identity: None,
                },
            )
            .await
    }

    /// Pauses `connection` because the platform keeps rejecting its token; `detail` is the
    /// platform's message.
    pub(crate) async fn mark_needs_reconnect(&self, connection: &str, reason: Option<&str>, detail: &str) -> AuthError {
        let reason = reason.map_or(ReconnectReason::Unknown, ReconnectReason::parse);
        self.needs_reconnect(connection, reason, Some(detail.to_string())).await
    }

    async fn needs_reconnect(&self, connection: &str, reason: ReconnectReason, detail: Option<String>) -> AuthError {
        match self
            .stop_connection(connection, ConnectionStatus::NeedsReconnect, reason, detail.clone())
            .await
        {
            Ok(true) => tracing::error!(
                connection,
                reason = %reason,
                "Connection {connection} needs to be reconnected; its queries are paused. {}",
                reason.sentence()
            ),
            Ok(false) => {}
            Err(e) => return e.into(),
        }
        AuthError::NeedsReconnect {
            connection: connection.to_string(),
            reason,
            detail,
        }
    }

    /// Marks `connection` misconfigured (once per outage) because the token endpoint refused
    /// its OAuth client with `e`.
    async fn client_rejected(&self, connection: &str, e: &oauth2::basic::BasicErrorResponse) -> AuthError {
        let detail = match e.error_description() {
            Some(d) => format!("{}: {d}", e.error().as_ref()),
            None => e.error().as_ref().to_string(),
        };
        let reason = ReconnectReason::ClientRejected;
        match self
            .stop_connection(
                connection,
                ConnectionStatus::Misconfigured,
                reason,
                Some(detail.clone()),
            )
            .await
        {
            Ok(true) => tracing::error!(
                connection,
                reason = %reason,
                "Connection {connection} is misconfigured; its queries are paused. {}",
                reason.sentence()
            ),
            Ok(false) => {}
            Err(e) => return e.into(),
        }
        AuthError::ClientRejected {
            connection: connection.to_string(),
            detail,
        }
    }

    /// Puts `connection` in `status` for `reason`, durably, unless it is in that status
    /// already (the outage keeps its start). Returns whether it changed.
    async fn stop_connection(
        &self,
        connection: &str,
        status: ConnectionStatus,
        reason: ReconnectReason,
        detail: Option<String>,
    ) -> Result<bool, StoreError> {
        let already =
            matches!(self.inner.store.connection(connection).await, Ok(Some(state)) if state.status == status);
        if already {
            return Ok(false);
        }
        let state = ConnectionState {
            status,
            since: self.inner.clock.now(),
            reason: Some(reason),
            detail,
            previous_identity: None,
        };
        self.inner.store.put_connection(connection, &state).await?;
        self.inner.store.flush().await?;
        Ok(true)
    }

    /// Asks the token endpoint again for a `misconfigured` connection (the config may have
    /// been fixed and adsync restarted, or the platform fixed): a refresh that succeeds marks
    /// it connected again. Returns whether it is connected now.
    pub(crate) async fn retry_misconfigured(&self, connection: &str) -> Result<bool, AuthError> {
        if self.pass(RefreshGate::Misconfigured, connection).await.is_err() {
            return Ok(false);
        }
        let token = self.stored_token(connection).await?;
        // Still refused: the outage goes on unchanged (its start keys its emails).
        match self
            .refresh_if(connection, &token.access_token, None, RefreshGate::Misconfigured)
            .await
        {
            Ok(_) => {
                self.mark_connected(connection, self.inner.clock.now()).await?;
                tracing::info!(
                    connection,
                    "The token endpoint accepts the OAuth client of {connection} again."
                );
                Ok(true)
            }
            Err(AuthError::ClientRejected { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether `connection`'s state lets a refresh through `gate` go ahead (checked under
    /// the refresh locks, so a state another run or daemon just changed counts).
    async fn pass(&self, gate: RefreshGate, connection: &str) -> Result<(), AuthError> {
        match gate {
            RefreshGate::Usable => self.ensure_usable(connection).await,
            RefreshGate::Misconfigured => match self.inner.store.connection(connection).await? {
                Some(state) if state.status == ConnectionStatus::Misconfigured => Ok(()),
                // Reconnected or paused meanwhile: not this retry's business.
                _ => Err(AuthError::Rejected {
                    connection: connection.to_string(),
                    message: "no longer misconfigured".into(),
                }),
            },
        }
    }

    async fn stored_token(&self, connection: &str) -> Result<TokenSet, AuthError> {
        self.connection(connection)?;
        if let Some(token) = self.unsaved().get(connection) {
            return Ok(token.clone());
        }
        self.inner
            .store
            .token(connection)
            .await?
            .ok_or_else(|| AuthError::NotConnected(connection.to_string()))
    }

    fn unsaved(&self) -> std::sync::MutexGuard<'_, HashMap<String, TokenSet>> {
        self.inner.unsaved.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Saves a token the store refused before, if there is one; until that works the
    /// connection's token is not handed out (durable before use).
    async fn save_unsaved(&self, connection: &str) -> Result<(), AuthError> {
        let Some(token) = self.unsaved().get(connection).cloned() else {
            return Ok(());
        };
        let lock = self.refresh_lock(connection);
        let _guard = lock.lock().await;
        self.inner.store.put_token(connection, &token).await?;
        self.unsaved().remove(connection);
        tracing::info!(connection, "The renewed token of {connection} is saved now.");
        Ok(())
    }

    fn refresh_lock(&self, connection: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.inner.refresh_locks.get(connection)
    }

    /// Changes the stored token of `connection` under its refresh lock, so the change cannot
    /// interleave with a refresh.
    async fn update_token(&self, connection: &str, change: impl FnOnce(&mut TokenSet)) -> Result<(), AuthError> {
        let lock = self.refresh_lock(connection);
        let _guard = lock.lock().await;
        let mut token = self.stored_token(connection).await?;
        change(&mut token);
        self.inner.store.put_token(connection, &token).await?;
        self.unsaved().remove(connection);
        Ok(())
    }

    /// A failed token request in words: the platform's error code and description, or what
    /// went wrong on the way ("timed out after 240 s"), never the URL (it may carry secrets).
    fn token_error(&self, connection: &str, e: TokenRequestError) -> AuthError {
        let transient = |message: String| AuthError::Transient {
            connection: connection.to_string(),
            message,
        };
        match e {
            RequestTokenError::ServerResponse(r) => AuthError::Rejected {
                connection: connection.to_string(),
                message: match r.error_description() {
                    Some(d) => format!("{}: {d}", r.error().as_ref()),
                    None => r.error().as_ref().to_string(),
                },
            },
            RequestTokenError::Request(oauth2::HttpClientError::Reqwest(e)) => transient(if e.is_timeout() {
                format!("timed out after {} s", self.inner.token_timeout.as_secs())
            } else if e.is_connect() {
                "could not connect to the token endpoint".to_string()
            } else {
                format!("the token request failed: {}", e.without_url())
            }),
            RequestTokenError::Request(e) => transient(format!("the token request failed: {e}")),
            RequestTokenError::Parse(e, _) => transient(format!("unreadable token response: {e}")),
            RequestTokenError::Other(m) => transient(m),
        }
    }
}

/// A token endpoint's answer: RFC 6749 §5.1 plus the `refresh_token_expires_in` Google and
/// LinkedIn add. `token_type` is required by the RFC but LinkedIn's documented responses
/// leave it out, so a missing one means `bearer` (the only type any platform issues).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct PlatformTokens {
    access_token: oauth2::AccessToken,
    #[serde(
        default = "bearer",
        deserialize_with = "oauth2::helpers::deserialize_untagged_enum_case_insensitive"
    )]
    token_type: BasicTokenType,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<RefreshToken>,
    #[serde(
        rename = "scope",
        default,
        deserialize_with = "oauth2::helpers::deserialize_space_delimited_vec",
        serialize_with = "oauth2::helpers::serialize_space_delimited_vec",
        skip_serializing_if = "Option::is_none"
    )]
    scopes: Option<Vec<Scope>>,
    /// Seconds until the refresh token expires (Google, LinkedIn).
    #[serde(default)]
    refresh_token_expires_in: Option<u64>,
}

fn bearer() -> BasicTokenType {
    BasicTokenType::Bearer
}

impl TokenResponse for PlatformTokens {
    type TokenType = BasicTokenType;

    fn access_token(&self) -> &oauth2::AccessToken {
        &self.access_token
    }

    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }

    fn expires_in(&self) -> Option<std::time::Duration> {
        self.expires_in.map(std::time::Duration::from_secs)
    }

    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }

    fn scopes(&self) -> Option<&Vec<Scope>> {
        self.scopes.as_ref()
    }
}

type ConfiguredClient = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    PlatformTokens,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn oauth_client(conn: &ConnectionConfig, redirect: &Url) -> ConfiguredClient {
    oauth2::Client::new(ClientId::new(conn.client_id.clone()))
        .set_client_secret(ClientSecret::new(conn.client_secret.expose().to_string()))
        // Meta and LinkedIn read client credentials from the form body, not Basic auth;
        // other servers may require Basic (`client_auth`).
        .set_auth_type(match conn.client_auth {
            ClientAuth::Post => AuthType::RequestBody,
            ClientAuth::Basic => AuthType::BasicAuth,
        })
        .set_token_uri(TokenUrl::from_url(conn.token_url.clone()))
        .set_redirect_uri(RedirectUrl::from_url(redirect.clone()))
}

fn token_set(
    response: &PlatformTokens,
    previous: Option<&TokenSet>,
    conn: &ConnectionConfig,
    now: DateTime<Utc>,
    identity: Option<Identity>,
) -> TokenSet {
    let refresh_token = response
        .refresh_token()
        .map(|t| t.secret().clone())
        // No new refresh token in the response means the old one stays valid.
        .or_else(|| previous.and_then(|p| p.refresh_token.clone()));
    // LinkedIn separates granted scopes with commas, not the spaces of RFC 6749 §3.3.
    let scopes = response
        .scopes()
        .map(|s| {
            s.iter()
                .flat_map(|scope| scope.split(','))
                .map(|scope| scope.trim().to_string())
                .filter(|scope| !scope.is_empty())
                .collect()
        })
        .or_else(|| previous.map(|p| p.scopes.clone()))
        .unwrap_or_else(|| conn.scopes.clone());
    TokenSet {
        access_token: response.access_token().secret().clone(),
        refresh_token,
        access_expires_at: response
            .expires_in()
            .and_then(|d| Duration::from_std(d).ok())
            .map(|d| now + d),
        // A refresh token's lifetime, when the platform says; LinkedIn's does not grow with
        // refreshes, so an unchanged refresh token keeps its first expiry.
        refresh_expires_at: match response.refresh_token_expires_in {
            Some(secs) => i64::try_from(secs).ok().map(|s| now + Duration::seconds(s)),
            None if response.refresh_token().is_some() => None,
            None => previous.and_then(|p| p.refresh_expires_at),
        },
        scopes,
        identity,
        obtained_at: now,
        last_used_at: previous.and_then(|p| p.last_used_at),
        data_access_expires_at: previous.and_then(|p| p.data_access_expires_at),
        self_renewing: false,
        refresh_started_at: None,
    }
}

/// Whether a refresh error means only a person can renew the login: RFC 6749's
/// `invalid_grant` (Google, Meta) and LinkedIn's `invalid_request` "…refresh token is
/// invalid, expired or revoked".
fn grant_is_dead(e: &oauth2::basic::BasicErrorResponse) -> bool {
    match e.error() {
        BasicErrorResponseType::InvalidGrant => true,
        BasicErrorResponseType::InvalidRequest => e
            .error_description()
            .is_some_and(|d| d.contains("invalid, expired or revoked")),
        _ => false,
    }
}

/// Whether a token endpoint refused the OAuth client rather than the grant (RFC 6749 §5.2):
/// `invalid_client` (unknown client id or wrong secret) or `unauthorized_client` (Google, when
/// the client differs from the one the refresh token was issued to).
fn client_is_rejected(e: &oauth2::basic::BasicErrorResponse) -> bool {
    matches!(
        e.error(),
        BasicErrorResponseType::InvalidClient | BasicErrorResponseType::UnauthorizedClient
    )
}

/// Whether the platform may have acted on a token request whose answer never arrived: a
/// timeout or a broken or unreadable answer, but not a refused connection or an error answer.
fn answer_may_be_lost(e: &TokenRequestError) -> bool {
    match e {
        RequestTokenError::ServerResponse(_) => false,
        RequestTokenError::Request(oauth2::HttpClientError::Reqwest(e)) => !e.is_connect(),
        _ => true,
    }
}

type TokenRequestError = RequestTokenError<oauth2::HttpClientError<reqwest::Error>, oauth2::basic::BasicErrorResponse>;

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: &str, description: Option<&str>) -> oauth2::basic::BasicErrorResponse {
        serde_json::from_value(serde_json::json!({"error": code, "error_description": description})).unwrap()
    }

    /// A refused client is the config's fault, not the login's: it must not read as a dead
    /// grant (a reconnect would not help with a wrong secret), and a dead grant not as it.
    #[test]
    fn a_refused_client_and_a_dead_grant_are_told_apart() {
        for code in ["invalid_client", "unauthorized_client"] {
            assert!(client_is_rejected(&error(code, Some("Unauthorized"))), "{code}");
            assert!(!grant_is_dead(&error(code, Some("Unauthorized"))), "{code}");
        }
        assert!(grant_is_dead(&error("invalid_grant", None)));
        assert!(!client_is_rejected(&error("invalid_grant", None)));
        let linkedin = error(
            "invalid_request",
            Some("The token used in the request is invalid, expired or revoked"),
        );
        assert!(grant_is_dead(&linkedin) && !client_is_rejected(&linkedin));
    }
}
