//! The reconnect flow's second half, after the person approved at the platform: take the
//! new token, check it reaches every account the connection's queries use, resume them all
//! in one step, and backfill what they missed.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::app::App;
use crate::auth::AuthError;
use crate::http::FetchError;
use crate::notify::Recovery;
use crate::query::{Output, Query};
use crate::reason::Reason;
use crate::sinks::{Sink, SinkError};
use crate::sources::{Platform, Provider};
use crate::status::waiting_on;
use crate::store::{ConnectionStatus, Identity, QueryPause, QueryState, StoreError};

/// Why a reconnect did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ReconnectError {
    /// The token exchange or the long-lived exchange failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The new token could not be checked against the platform.
    #[error("the new token could not be checked: {0}")]
    Verify(#[from] FetchError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a (re)connect did, as the result page shows it (and shows it again on a reload,
/// so it is kept in the store: it holds names, never a token).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReconnectReport {
    /// The connection.
    pub connection: String,
    /// Whether no login was stored before: a first connect, not a reconnect.
    pub first_connect: bool,
    /// Who the new token belongs to; `None` when the identity lookup failed.
    pub identity: Option<String>,
    /// Why the identity lookup failed, when it did.
    pub identity_error: Option<String>,
    /// Who the login belonged to before, when that was someone else.
    pub previous_identity: Option<String>,
    /// Queries running again.
    pub resumed: Vec<String>,
    /// Queries still paused, each with why in words.
    pub paused: Vec<(String, String)>,
}

impl ReconnectReport {
    /// Who the new login is, for sentences: the name, or that it is unknown.
    pub(crate) fn who(&self) -> &str {
        self.identity.as_deref().unwrap_or(UNKNOWN_IDENTITY)
    }

    /// Lists `query` (in `state`) as resumed, or as paused with why: its own pause, or
    /// another connection it reads or writes through that still needs a person.
    async fn place(&mut self, app: &App, query: &Query, state: &QueryState) {
        let store = app.store();
        let mut waits = None;
        for c in query.connections().filter(|c| *c != self.connection) {
            let status = store.connection(c).await.ok().flatten().map(|s| s.status);
            waits = waiting_on(c, status.unwrap_or(ConnectionStatus::NotConnected));
            if waits.is_some() {
                break;
            }
        }
        match (&state.paused, waits) {
            (Some(pause), _) => self.paused.push((query.name.clone(), pause.detail.clone())),
            (None, Some(waits)) => self.paused.push((query.name.clone(), waits)),
            (None, None) => self.resumed.push(query.name.clone()),
        }
    }
}

/// How a login whose identity lookup failed is named.
const UNKNOWN_IDENTITY: &str = "an unknown user (the identity lookup failed)";

/// Completes a (re)connect of `connection` with an authorization `code`: the account, scope
/// and spreadsheet checks, the backfill and the recovery email all happen whether or not
/// the identity lookup works.
pub async fn complete(
    app: &App,
    connection: &str,
    code: &str,
    verifier: &str,
) -> Result<ReconnectReport, ReconnectError> {
    let store = app.store();
    let before = store.token(connection).await?;
    let first_connect = before.is_none();
    let previous = before.and_then(|t| t.identity);
    let outage_since = store
        .connection(connection)
        .await?
        .filter(|s| s.status.needs_a_person())
        .map(|s| s.since);
    let auth = app.auth();
    auth.complete_authorization(connection, code, verifier).await?;
    let identity = settle(app, connection).await?;
    let previous_identity = match (&previous, &identity) {
        (Some(before), Ok(now)) if before.id != now.id => Some(before.name.clone()),
        _ => None,
    };
    if let Some(mut state) = store.connection(connection).await? {
        state.previous_identity = previous_identity.clone();
        store.put_connection(connection, &state).await?;
    }
    let mut report = ReconnectReport {
        connection: connection.to_string(),
        first_connect,
        identity: identity.as_ref().ok().map(|i| i.name.clone()),
        identity_error: identity.as_ref().err().map(ToString::to_string),
        previous_identity,
        resumed: Vec::new(),
        paused: Vec::new(),
    };
    let granted = app
        .auth()
        .granted_scopes(connection)
        .await
        .map_err(ReconnectError::Auth)?;
    // Each platform the connection's queries read lists the accounts the new login reaches.
    let mut reachable: BTreeMap<Platform, BTreeSet<String>> = BTreeMap::new();
    for query in app.queries().iter().filter(|q| q.connection == connection) {
        if reachable.contains_key(&query.platform) || !granted.iter().any(|s| s == query.platform.scope()) {
            continue;
        }
        let source = app
            .source(connection, query.platform)
            .ok_or_else(|| AuthError::UnknownConnection(connection.to_string()))?;
        reachable.insert(query.platform, source.accounts().await?.into_iter().collect());
    }

    let now = app.clock().now();
    let login = Login {
        connection,
        who: report.who().to_string(),
        granted: &granted,
        reachable: &reachable,
    };
    for query in app.queries().iter().filter(|q| q.uses(connection)) {
        let mut state = store.query_state(&query.name).await?.unwrap_or_default();
        match login.judge(app, query, now).await {
            Some(pause) => state.paused = Some(pause),
            None if state.paused.as_ref().is_some_and(|p| login.judges(p)) => state.paused = None,
            None => {}
        }
        store.put_query_state(&query.name, &state).await?;
        report.place(app, query, &state).await;
    }
    store.flush().await?;
    tracing::info!(
        connection,
        "{connection} is connected as {}; {} queries resumed, {} still paused.",
        report.who(),
        report.resumed.len(),
        report.paused.len()
    );

    // Backfill in the background: the person's browser gets its answer now.
    backfill_and_tell(app, report.clone(), outage_since);
    Ok(report)
}

/// What a connection whose OAuth client the token endpoint accepts again (after it was
/// `misconfigured`) does for its queries, as its recovery email tells it.
pub(crate) async fn client_accepted(app: &App, connection: &str) -> Result<ReconnectReport, StoreError> {
    let store = app.store();
    let mut report = ReconnectReport {
        connection: connection.to_string(),
        first_connect: false,
        identity: store.token(connection).await?.and_then(|t| t.identity).map(|i| i.name),
        identity_error: None,
        previous_identity: None,
        resumed: Vec::new(),
        paused: Vec::new(),
    };
    for query in app.queries().iter().filter(|q| q.uses(connection)) {
        let state = store.query_state(&query.name).await?.unwrap_or_default();
        report.place(app, query, &state).await;
    }
    Ok(report)
}

/// In the background: makes good the gaps of the queries `connection` serves, then (after
/// an outage that started at `outage_since`) tells its people how each gap was closed.
pub(crate) fn backfill_and_tell(app: &App, done: ReconnectReport, outage_since: Option<DateTime<Utc>>) {
    let app = app.clone();
    tokio::spawn(async move {
        let connection = done.connection.as_str();
        let queries: Vec<_> = app.queries().iter().filter(|q| q.uses(connection)).cloned().collect();
        if let Err(e) = crate::backfill::backfill(&app.run_context(), &queries).await {
            tracing::error!(connection = %connection, "Backfill after reconnect failed: {e}");
        }
        if let Some(since) = outage_since {
            let mut gaps = Vec::new();
            for query in &queries {
                let recent = app.store().gaps(&query.name).await.unwrap_or_default();
                gaps.extend(
                    recent
                        .into_iter()
                        .filter(|g| g.fire_time >= since || g.recorded_at >= since),
                );
            }
            let conn = app.config().connections.iter().find(|c| c.id == connection).cloned();
            if let Some(conn) = conn {
                let outcome = Recovery {
                    who: done.who(),
                    resumed: &done.resumed,
                    paused: &done.paused,
                };
                if let Err(e) = app.notifier().recovered(&conn, since, &gaps, &outcome).await {
                    tracing::error!(connection = %connection, "Could not send the recovery email: {e}");
                }
            }
        }
    });
}

/// A new login of a connection and what it was found to reach.
struct Login<'a> {
    connection: &'a str,
    /// Its name in sentences.
    who: String,
    granted: &'a [String],
    reachable: &'a BTreeMap<Platform, BTreeSet<String>>,
}

impl Login<'_> {
    /// Why `query` must stay paused because of this login, if it must: a scope not granted,
    /// an account it cannot see, or a spreadsheet it cannot read or write.
    async fn judge(&self, app: &App, query: &Query, now: DateTime<Utc>) -> Option<QueryPause> {
        let connection = self.connection;
        let ungranted = crate::run::needed_scopes(query)
            .find(|(needs, scope)| *needs == connection && !self.granted.iter().any(|s| s == scope));
        if let Some((_, scope)) = ungranted {
            return Some(QueryPause::missing_scope(
                &query.name,
                connection,
                scope,
                &self.who,
                now,
            ));
        }
        // Writing its output is all this connection may do for the query: its accounts are
        // the other connection's business.
        let reached = self
            .reachable
            .get(&query.platform)
            .filter(|_| query.connection == connection);
        if let Some(reached) = reached {
            let missing: Vec<String> = query
                .reached_accounts()
                .into_iter()
                .filter(|a| !reached.contains(a))
                .collect();
            if !missing.is_empty() {
                return Some(QueryPause::missing_access(connection, &self.who, &missing, now));
            }
        }
        let Output::GoogleSheets(target) = &query.output else {
            return None;
        };
        if target.connection != connection {
            return None;
        }
        let Ok(Sink::Sheets(sink)) = app.run_context().sinks.sink(query) else {
            return None;
        };
        match sink.check_access().await {
            Ok(()) => None,
            Err(
                e @ SinkError::Sheets {
                    source: FetchError::Permission(_) | FetchError::BadQuery(_),
                    ..
                },
            ) => Some(QueryPause::output_access(connection, &self.who, &e.to_string(), now)),
            // The platform failing is no answer about the login: the next run finds out.
            Err(e) => {
                tracing::warn!(query = %query.name, "Could not check the spreadsheet after the reconnect: {e}");
                None
            }
        }
    }

    /// Whether `pause` is this login's to lift: it was about this connection (pauses stored
    /// before their connection was recorded: the scope and account checks every consent made).
    fn judges(&self, pause: &QueryPause) -> bool {
        match &pause.connection {
            Some(connection) => connection == self.connection,
            None => matches!(pause.reason, Reason::MissingScope | Reason::MissingAccess),
        }
    }
}

/// What a freshly granted token needs before use: Meta's long-lived exchange, then who it
/// belongs to and when its data access ends, recorded with the token. Fails when the
/// identity cannot be had (the demo's sandbox always names it).
#[cfg(feature = "sandbox")]
pub(crate) async fn settle_new_token(app: &App, connection: &str) -> Result<Identity, ReconnectError> {
    Ok(settle(app, connection).await??)
}

/// [`settle_new_token`], with a failed identity lookup as a value: a login whose name is
/// unknown still gets its checks, backfill and email.
async fn settle(app: &App, connection: &str) -> Result<Result<Identity, FetchError>, ReconnectError> {
    let auth = app.auth();
    let config = app.config();
    let conn = config
        .connections
        .iter()
        .find(|c| c.id == connection)
        .ok_or_else(|| AuthError::UnknownConnection(connection.to_string()))?;
    if conn.provider == Provider::MetaAds {
        // The code gives a short-lived user token; reports need the ~60-day one.
        auth.exchange_long_lived(connection).await?;
    }
    let source = app
        .any_source(connection)
        .ok_or_else(|| AuthError::UnknownConnection(connection.to_string()))?;
    let identity = match crate::sources::userinfo::configured(&app.api(), conn).await {
        Some(configured) => configured,
        None => source.identity().await,
    };
    match &identity {
        Ok(identity) => auth.record_identity(connection, identity.clone()).await?,
        Err(e) => tracing::warn!(
            connection,
            "Could not find out who the new login of {connection} is: {e}"
        ),
    }
    auth.record_token_facts(connection, source.token_facts().await?).await?;
    Ok(identity)
}
