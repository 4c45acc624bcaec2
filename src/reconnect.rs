//! The reconnect flow's second half, after the person approved at the platform: take the
//! new token, check it reaches every account the connection's queries use, resume them all
//! in one step, and backfill what they missed.

use std::collections::{BTreeMap, BTreeSet};

use crate::app::App;
use crate::auth::AuthError;
use crate::http::FetchError;
use crate::reason::Reason;
use crate::sources::{Platform, Provider};
use crate::store::{ConnectionStatus, Identity, QueryPause, StoreError};

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

/// What a reconnect did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconnectReport {
    /// The connection.
    pub(crate) connection: String,
    /// Who the new token belongs to.
    pub(crate) identity: String,
    /// Queries running again.
    pub resumed: Vec<String>,
    /// Queries still paused, with the accounts the new login cannot see.
    pub(crate) missing: Vec<(String, Vec<String>)>,
}

/// Completes a (re)connect of `connection` with an authorization `code`.
pub async fn complete(
    app: &App,
    connection: &str,
    code: &str,
    verifier: &str,
) -> Result<ReconnectReport, ReconnectError> {
    let outage_since = app
        .store()
        .connection(connection)
        .await?
        .filter(|s| s.status == ConnectionStatus::NeedsReconnect)
        .map(|s| s.since);
    let auth = app.auth();
    auth.complete_authorization(connection, code, verifier).await?;
    let identity = settle_new_token(app, connection).await?;
    let name = identity.name.clone();
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
    let mut report = ReconnectReport {
        connection: connection.to_string(),
        identity: name.clone(),
        resumed: Vec::new(),
        missing: Vec::new(),
    };
    let store = app.store();
    for query in app.queries().iter().filter(|q| q.uses(connection)) {
        let mut state = store.query_state(&query.name).await?.unwrap_or_default();
        let ungranted = crate::run::needed_scopes(query)
            .find(|(needs, scope)| *needs == connection && !granted.iter().any(|s| s == scope));
        if let Some((_, scope)) = ungranted {
            state.paused = Some(QueryPause::missing_scope(&query.name, connection, scope, &name, now));
            report.missing.push((query.name.clone(), vec![scope.to_string()]));
            store.put_query_state(&query.name, &state).await?;
            continue;
        }
        // Writing its output is all this connection does for the query: its accounts are
        // the other connection's business.
        let Some(reached) = reachable
            .get(&query.platform)
            .filter(|_| query.connection == connection)
        else {
            if state.paused.as_ref().is_some_and(|p| p.reason == Reason::MissingScope) {
                state.paused = None;
            }
            if state.paused.is_none() {
                report.resumed.push(query.name.clone());
            }
            store.put_query_state(&query.name, &state).await?;
            continue;
        };
        let missing: Vec<String> = query
            .reached_accounts()
            .into_iter()
            .filter(|a| !reached.contains(a))
            .collect();
        if missing.is_empty() {
            state.paused = None;
            report.resumed.push(query.name.clone());
        } else {
            state.paused = Some(QueryPause::missing_access(&name, &missing, now));
            report.missing.push((query.name.clone(), missing));
        }
        store.put_query_state(&query.name, &state).await?;
    }
    store.flush().await?;
    tracing::info!(
        connection,
        "{connection} is connected as {name}; {} queries resumed, {} still paused.",
        report.resumed.len(),
        report.missing.len()
    );

    // Backfill in the background: the person's browser gets its answer now.
    let app = app.clone();
    let connection = connection.to_string();
    tokio::spawn(async move {
        let queries: Vec<_> = app.queries().iter().filter(|q| q.uses(&connection)).cloned().collect();
        if let Err(e) = crate::backfill::backfill(app.run_context(), &queries).await {
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
                if let Err(e) = app.notifier().recovered(&conn, since, &gaps).await {
                    tracing::error!(connection = %connection, "Could not send the recovery email: {e}");
                }
            }
        }
    });
    Ok(report)
}

/// What a freshly granted token needs before use: Meta's long-lived exchange, then who it
/// belongs to and when its data access ends, recorded with the token.
pub(crate) async fn settle_new_token(app: &App, connection: &str) -> Result<Identity, ReconnectError> {
    let auth = app.auth();
    let conn = app
        .config()
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
    let identity = source.identity().await?;
    auth.record_identity(connection, identity.clone()).await?;
    auth.record_token_facts(connection, source.token_facts().await?).await?;
    Ok(identity)
}
