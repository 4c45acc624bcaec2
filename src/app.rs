//! Wiring: store, auth, sources, scheduler and the web endpoint, run until told to stop.
//!
//! [`App::run_until_stopped`] takes the listener and a cancellation token as parameters, so
//! tests run the real daemon on port 0 with their own clock and stop it when they like.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Auth;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::http::ApiClient;
use crate::notify::Notifier;
use crate::query::{self, Diagnostic, Query};
use crate::rows::DateWindow;
use crate::run::{run_query, RunContext, Trigger};
use crate::scheduler::Scheduler;
use crate::sources::{Platform, Source};
use crate::status::StatusReport;
use crate::store::{ConnectionStatus, RunRecord, Store, StoreError, TokenSet};
use crate::web;

/// Why the daemon could not start or an action failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No valid query has that name.
    #[error("no valid query named {0:?} (see `adsync check`)")]
    UnknownQuery(String),
    /// The web endpoint failed.
    #[error("web endpoint: {0}")]
    Io(#[from] std::io::Error),
}

/// A configured daemon: everything but the running loop.
#[derive(Clone)]
pub struct App {
    inner: Arc<AppInner>,
}

struct AppInner {
    config: Config,
    auth: Auth,
    ctx: RunContext,
    queries: Vec<Query>,
    problems: Vec<Diagnostic>,
    /// Whether the scheduler has read the clock and knows every next fire.
    ready: tokio::sync::watch::Sender<bool>,
}

impl App {
    /// Opens the store in the config's data directory and loads the query files; bad files
    /// are reported in [`App::problems`] and skipped.
    pub fn build(config: Config, clock: SharedClock) -> Result<Self, AppError> {
        let store = Store::open(&config.data_dir)?;
        Ok(Self::with_store(config, store, clock))
    }

    /// Like [`App::build`] with an already open store.
    pub fn with_store(config: Config, store: Store, clock: SharedClock) -> Self {
        let (queries, problems) = query::load_dir(&config.queries_dir, &config.validation_context());
        for problem in &problems {
            tracing::warn!("Skipping query file: {problem}");
        }
        let auth = Auth::new(&config, store.clone(), clock.clone());
        let notifier = Notifier::new(&config, &queries, store.clone(), clock.clone());
        let api = ApiClient::new(auth.clone(), config.http);
        let sources: HashMap<(String, Platform), Source> = config
            .connections
            .iter()
            .flat_map(|c| {
                Source::all_for(c, &api)
                    .into_iter()
                    .map(|(platform, source)| ((c.id.clone(), platform), source))
            })
            .collect();
        Self {
            inner: Arc::new(AppInner {
                ctx: RunContext {
                    store,
                    sources,
                    clock,
                    auth: auth.clone(),
                    query_locks: Default::default(),
                    notifier,
                    sheets: crate::run::SheetsWriters::new(&config, api.clone()),
                },
                auth,
                queries,
                problems,
                config,
                ready: tokio::sync::watch::Sender::new(false),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.ctx.store
    }

    /// The auth layer.
    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// Resolves once the scheduler of [`App::run_until_stopped`] knows every next fire.
    pub async fn scheduler_ready(&self) {
        let mut ready = self.inner.ready.subscribe();
        // The sender lives as long as `self`, so this only ends when ready.
        let _ = ready.wait_for(|r| *r).await;
    }

    /// One pass of the hourly upkeep: refresh idle tokens, send reminders and expiry
    /// warnings. Failures are logged; the next pass tries again.
    pub async fn upkeep(&self) {
        for conn in &self.inner.config.connections {
            if let Err(e) = keep_alive_one(self, &conn.id).await {
                tracing::warn!(connection = %conn.id, "Keep-alive refresh failed: {e}");
            }
            if let Err(e) = warn_people(self, conn).await {
                tracing::error!(connection = %conn.id, "Could not email about the connection: {e}");
            }
        }
    }

    /// What every run needs.
    pub fn run_context(&self) -> &RunContext {
        &self.inner.ctx
    }

    /// Time.
    pub fn clock(&self) -> &SharedClock {
        &self.inner.ctx.clock
    }

    /// The email sender.
    pub fn notifier(&self) -> &Notifier {
        &self.inner.ctx.notifier
    }

    /// The reader of `platform` on `connection`.
    pub fn source(&self, connection: &str, platform: Platform) -> Option<&Source> {
        self.inner.ctx.sources.get(&(connection.to_string(), platform))
    }

    /// The first reader of `connection`, for what every platform of its login answers alike
    /// (who the token belongs to).
    pub fn any_source(&self, connection: &str) -> Option<&Source> {
        let conn = self.inner.config.connections.iter().find(|c| c.id == connection)?;
        self.source(connection, *conn.provider.platforms().first()?)
    }

    /// Valid queries.
    pub fn queries(&self) -> &[Query] {
        &self.inner.queries
    }

    /// Query files that were skipped, and why.
    pub fn problems(&self) -> &[Diagnostic] {
        &self.inner.problems
    }

    /// The status report as of now.
    pub fn status(&self) -> Result<StatusReport, StoreError> {
        StatusReport::collect(
            &self.inner.config,
            self.store(),
            &self.inner.queries,
            &self.inner.problems,
            self.inner.ctx.clock.now(),
        )
    }

    /// Runs one query now, outside its schedule.
    pub async fn run_once(&self, name: &str) -> Result<RunRecord, AppError> {
        let query = self
            .inner
            .queries
            .iter()
            .find(|q| q.name == name)
            .ok_or_else(|| AppError::UnknownQuery(name.to_string()))?;
        let now = self.inner.ctx.clock.now();
        Ok(run_query(&self.inner.ctx, query, now, Trigger::Manual).await)
    }

    /// Backfills by hand: the open gaps of `query` (or of every query), or, with `window`, those
    /// dates re-delivered whatever the gaps say.
    /// `progress` hears after each run how many of how many are done.
    pub async fn backfill(
        &self,
        query: Option<&str>,
        window: Option<DateWindow>,
        mut progress: impl FnMut(usize, usize, &RunRecord),
    ) -> Result<Vec<RunRecord>, AppError> {
        let queries: Vec<Query> = match query {
            Some(name) => vec![self
                .inner
                .queries
                .iter()
                .find(|q| q.name == name)
                .cloned()
                .ok_or_else(|| AppError::UnknownQuery(name.to_string()))?],
            None => self.inner.queries.clone(),
        };
        match window {
            None => Ok(crate::backfill::backfill_with(&self.inner.ctx, &queries, progress).await?),
            Some(window) => {
                let now = self.inner.ctx.clock.now();
                let mut runs = Vec::new();
                for (done, query) in queries.iter().enumerate() {
                    let run = crate::run::run_window(&self.inner.ctx, query, now, window, Trigger::Backfill).await;
                    progress(done + 1, queries.len(), &run);
                    runs.push(run);
                }
                Ok(runs)
            }
        }
    }

    /// Serves the web endpoint on `listener` and runs the scheduler until `shutdown` is
    /// cancelled; then starts no new runs and waits for runs in flight to finish writing.
    pub async fn run_until_stopped(self, listener: TcpListener, shutdown: CancellationToken) -> Result<(), AppError> {
        tracing::info!(
            "adsync is running: {} queries, web endpoint on http://{}.",
            self.inner.queries.len(),
            listener.local_addr()?
        );
        let server = {
            let router = web::router(self.clone());
            let stop = shutdown.clone();
            tokio::spawn(async move {
                axum::serve(listener, router)
                    .with_graceful_shutdown(async move { stop.cancelled().await })
                    .await
            })
        };
        let tracker = TaskTracker::new();
        tracker.spawn(keep_alive(self.clone(), shutdown.clone()));
        tracker.spawn(backfill_connected(self.clone()));
        let scheduler = Scheduler::new(
            self.inner.ctx.clone(),
            self.inner.queries.clone(),
            self.inner.config.limits,
        );
        let scheduled = scheduler
            .run(shutdown.clone(), tracker.clone(), &self.inner.ready)
            .await;
        tracker.close();
        if !tracker.is_empty() {
            tracing::info!("Waiting for {} run(s) in flight to finish writing.", tracker.len());
        }
        tracker.wait().await;
        shutdown.cancel();
        server.await.map_err(std::io::Error::other)??;
        self.store().flush().await?;
        scheduled?;
        tracing::info!("adsync stopped.");
        Ok(())
    }
}

/// At start-up: makes good the gaps of queries whose connection works (fires missed while
/// the daemon was down, failed runs).
async fn backfill_connected(app: App) {
    let store = app.store();
    let queries: Vec<_> = app
        .queries()
        .iter()
        .filter(|q| {
            q.connections().all(|connection| {
                store
                    .connection(connection)
                    .ok()
                    .flatten()
                    .is_some_and(|c| c.status == ConnectionStatus::Connected)
            })
        })
        .cloned()
        .collect();
    if let Err(e) = crate::backfill::backfill(app.run_context(), &queries).await {
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
        let next = app.inner.ctx.clock.now() + KEEP_ALIVE_PERIOD;
        app.upkeep().await;
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = app.inner.ctx.clock.sleep_until(next) => {}
        }
    }
}

/// Reminders while a connection stays broken, and one warning before a known expiry.
async fn warn_people(app: &App, conn: &crate::config::ConnectionConfig) -> Result<(), crate::notify::NotifyError> {
    let notifier = app.notifier();
    notifier.check_connection(&conn.id).await?;
    let store = app.store();
    let connected = store
        .connection(&conn.id)?
        .is_some_and(|c| c.status == ConnectionStatus::Connected);
    let expiry = store.token(&conn.id)?.as_ref().and_then(TokenSet::hard_expiry);
    if let Some(at) = expiry.filter(|at| connected && app.config().is_expiring(*at, app.clock().now())) {
        notifier.expiring(conn, at).await?;
    }
    Ok(())
}

async fn keep_alive_one(app: &App, connection: &str) -> Result<(), crate::auth::AuthError> {
    let store = app.store();
    let connected = store
        .connection(connection)?
        .is_some_and(|c| c.status == ConnectionStatus::Connected);
    let Some(token) = store.token(connection)? else {
        return Ok(());
    };
    let last_used = token.last_used_at.unwrap_or(token.obtained_at).max(token.obtained_at);
    if connected
        && token.refresh_token.is_some()
        && app.inner.ctx.clock.now() - last_used >= app.inner.config.keep_alive_after
    {
        tracing::info!(connection, "Refreshing an idle token so its refresh token stays valid.");
        app.auth().refresh(connection, &token.access_token, None).await?;
    }
    Ok(())
}
