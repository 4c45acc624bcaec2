//! The daemon's lifecycle: the web endpoint and the scheduler running until told to stop,
//! the start-up backfill, and the hourly upkeep (keep-alive refreshes, reminders, expiry
//! warnings). It sits above [`crate::web`] and [`crate::app`], so the wiring does not import
//! the endpoint it serves.
//!
//! The lifecycle is written as methods of [`App`] here (an `impl App` outside `app.rs`), so
//! callers keep writing `app.run_until_stopped(..)` while `app` imports neither this module
//! nor `web`.
//!
//! [`App::run_until_stopped`] takes the listener and a cancellation token as parameters, so
//! tests run the real daemon on port 0 with their own clock and stop it when they like.

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::{App, AppError};
use crate::scheduler::{FireClaims, Scheduler};
use crate::store::{ConnectionStatus, TokenSet};
use crate::web;

impl App {
    /// One pass of the hourly upkeep: refresh idle tokens, send reminders and expiry
    /// warnings, drop expired pending sign-ins. Failures are logged; the next pass tries again.
    pub async fn upkeep(&self) {
        if let Err(e) = self.store().prune_oauth_states(self.clock().now()).await {
            tracing::warn!("Could not prune expired OAuth states: {e}");
        }
        self.remove_stale_temps(false);
        for conn in &self.config().connections {
            if let Err(e) = retry_client(self, &conn.id).await {
                tracing::warn!(connection = %conn.id, "Could not ask the token endpoint again: {e}");
            }
            if let Err(e) = keep_alive_one(self, &conn.id).await {
                tracing::warn!(connection = %conn.id, "Keep-alive refresh failed: {e}");
            }
            if let Err(e) = warn_people(self, conn).await {
                tracing::error!(connection = %conn.id, "Could not email about the connection: {e}");
            }
        }
        if let Err(e) = self.notifier().remind_failing_queries().await {
            tracing::error!("Could not remind anyone of a failing query: {e}");
        }
    }

    /// Serves the web endpoint on `listener` and runs the scheduler until `shutdown` is
    /// cancelled; then starts no new runs and waits for runs in flight to finish writing.
    pub async fn run_until_stopped(self, listener: TcpListener, shutdown: CancellationToken) -> Result<(), AppError> {
        tracing::info!(
            "adsync is running: {} queries, web endpoint on http://{}.",
            self.queries().len(),
            listener.local_addr()?
        );
        let server = {
            let router = web::router(self.clone());
            let stop = shutdown.clone();
            tokio::spawn(async move {
                // The client address throttles sign-ins.
                let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
                axum::serve(listener, service)
                    .with_graceful_shutdown(async move { stop.cancelled().await })
                    .await
            })
        };
        // Before any run: every temp file there is a crashed run's, unless other daemons of a
        // cluster share the output directory and may be writing theirs.
        self.remove_stale_temps(!self.store().is_shared());
        let tracker = TaskTracker::new();
        tracker.spawn(keep_alive(self.clone(), shutdown.clone()));
        tracker.spawn(backfill_connected(self.clone()));
        tracker.spawn(crate::watch::watch_queries(self.clone(), shutdown.clone()));
        let claims = FireClaims::new(
            self.store().clone(),
            self.config().store.lease,
            self.config().output_dir.clone(),
        );
        // Not tracked: it ends after the runs, whose requests count while they go on.
        let left = CancellationToken::new();
        let membership = tokio::spawn(claims.clone().stay_in_cluster(left.clone()));
        let scheduler = Scheduler::new(self.lineup(), self.config().limits, claims);
        let scheduled = scheduler
            .run(shutdown.clone(), tracker.clone(), self.ready_signal(), self.heartbeat())
            .await;
        tracker.close();
        let grace = self.config().shutdown_grace;
        if !tracker.is_empty() {
            tracing::info!(
                "Waiting up to {} s for {} run(s) in flight to finish.",
                grace.as_secs(),
                tracker.len()
            );
        }
        // Real time, not the scheduling clock: the grace is what a supervisor waits for. It
        // covers scheduled runs and runs the web endpoint started (`run-once` through the
        // daemon), which the server waits for.
        let stopping = self.run_context().stopping.clone();
        let grace_timer = tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            tracing::warn!("Grace period over: runs still waiting on a platform are cancelled; their fires are recorded as gaps for the next start.");
            stopping.cancel();
        });
        tracker.wait().await;
        left.cancel();
        membership.await.map_err(std::io::Error::other)?;
        shutdown.cancel();
        server.await.map_err(std::io::Error::other)??;
        grace_timer.abort();
        self.store().flush().await?;
        scheduled?;
        tracing::info!("adsync stopped.");
        Ok(())
    }
}

impl App {
    /// Removes the CSV temp files crashed runs left under `output_dir`: every one when
    /// `all` (at start, before any run), else only those of files no loaded query writes
    /// (a query renamed or deleted after a crash; a current query's next delivery removes
    /// its own, and a live delivery's is never touched).
    fn remove_stale_temps(&self, all: bool) {
        let output_dir =
            std::path::absolute(&self.config().output_dir).unwrap_or_else(|_| self.config().output_dir.clone());
        let real = |path: &std::path::Path| {
            let dir = path.parent().and_then(|d| std::fs::canonicalize(d).ok());
            dir.zip(path.file_name()).map(|(dir, name)| dir.join(name))
        };
        let live: Vec<std::path::PathBuf> = self
            .queries()
            .iter()
            .filter_map(|q| match &q.output {
                crate::query::Output::Csv { path, .. } => Some(crate::sinks::csv::temp_path(path)),
                crate::query::Output::GoogleSheets(_) => None,
            })
            .collect();
        // Resolved when a temp file is found, not before: a run may create its output's
        // directory (and temp file) while this scan goes on.
        let keep = |temp: &std::path::Path| {
            !all && real(temp).is_some_and(|t| live.iter().any(|l| real(l).as_ref() == Some(&t)))
        };
        let removed = crate::sinks::csv::remove_stale_temps(&output_dir, &keep);
        if removed > 0 {
            tracing::info!(removed, "Removed {removed} temp file(s) left by crashed runs.");
        }
    }
}

/// At start-up: makes good the gaps of queries whose connection works (fires missed while
/// the daemon was down, failed runs).
async fn backfill_connected(app: App) {
    // After the scheduler has recorded the fires missed while down: they are gaps to make
    // good too. (This used to rest on the task running only once the daemon's task yielded.)
    app.scheduler_ready().await;
    let store = app.store();
    let mut queries = Vec::new();
    'queries: for query in app.queries().iter() {
        for connection in query.connections() {
            let state = store.connection(connection).await.ok().flatten();
            if !state.is_some_and(|c| c.status == ConnectionStatus::Connected) {
                continue 'queries;
            }
        }
        queries.push(query.clone());
    }
    if let Err(e) = crate::backfill::backfill(&app.run_context(), &queries).await {
        tracing::error!("Backfill at start-up failed: {e}");
    }
}

/// How often the keep-alive sweep looks for idle tokens.
const KEEP_ALIVE_PERIOD: chrono::Duration = chrono::Duration::hours(1);

/// Refreshes tokens that have not been used for `tokens.keep_alive_after_days`, so refresh
/// tokens of weekly or monthly queries do not go stale from lack of use.
async fn keep_alive(app: App, shutdown: CancellationToken) {
    loop {
        // The next sweep is due a period after this one started: time that passes during
        // the sweep (or a clock that jumps) must not push it further out.
        let next = app.clock().now() + KEEP_ALIVE_PERIOD;
        app.upkeep().await;
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = app.clock().sleep_until(next) => {}
        }
    }
}

/// Reminders while a connection stays broken, and one warning before a known expiry.
async fn warn_people(app: &App, conn: &crate::config::ConnectionConfig) -> Result<(), crate::notify::NotifyError> {
    let notifier = app.notifier();
    notifier.check_connection(&conn.id).await?;
    let store = app.store();
    let connected = store
        .connection(&conn.id)
        .await?
        .is_some_and(|c| c.status == ConnectionStatus::Connected);
    let expiry = store.token(&conn.id).await?.as_ref().and_then(TokenSet::hard_expiry);
    if let Some(at) = expiry.filter(|at| connected && app.config().is_expiring(*at, app.clock().now())) {
        notifier.expiring(conn, at).await?;
    }
    Ok(())
}

/// A `misconfigured` connection asks the token endpoint again (the config may have been
/// fixed and adsync restarted, or the client re-enabled on the platform); once the client is
/// accepted its queries resume, their gaps are made good and its people hear so.
async fn retry_client(app: &App, connection: &str) -> Result<(), crate::auth::AuthError> {
    let outage = app
        .store()
        .connection(connection)
        .await?
        .filter(|s| s.status == ConnectionStatus::Misconfigured);
    let Some(outage) = outage else {
        return Ok(());
    };
    if app.auth().retry_misconfigured(connection).await? {
        let report = crate::reconnect::client_accepted(app, connection).await?;
        crate::reconnect::backfill_and_tell(app, report, Some(outage.since));
    }
    Ok(())
}

async fn keep_alive_one(app: &App, connection: &str) -> Result<(), crate::auth::AuthError> {
    let store = app.store();
    let connected = store
        .connection(connection)
        .await?
        .is_some_and(|c| c.status == ConnectionStatus::Connected);
    let Some(token) = store.token(connection).await? else {
        return Ok(());
    };
    let last_used = token.last_used_at.unwrap_or(token.obtained_at).max(token.obtained_at);
    if connected && token.refresh_token.is_some() && app.clock().now() - last_used >= app.config().keep_alive_after {
        tracing::info!(connection, "Refreshing an idle token so its refresh token stays valid.");
        app.auth().refresh(connection, &token.access_token, None).await?;
    }
    Ok(())
}
