//! Wiring: the config, store, auth, sources and queries of one daemon, and the actions a
//! person starts (a run, a backfill, the status report). Running it until told to stop is
//! `crate::daemon`'s.

use std::collections::HashMap;
use std::sync::Arc;

use crate::accounts::AccountList;
use tokio_util::sync::CancellationToken;

use crate::auth::Auth;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::http::{ApiClient, FetchError};
use crate::notify::Notifier;
use crate::preview::{Preview, PreviewError};
use crate::query::{self, Diagnostic, Query};
use crate::rows::DateWindow;
use crate::run::{run_query, RunContext, Trigger};
use crate::scheduler::Heartbeat;
use crate::sources::{Platform, Source};
use crate::status::StatusReport;
use crate::store::{RunRecord, Store, StoreError};

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
    /// A query file given by path has problems (one per line, as `adsync check` shows them).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    InvalidQuery(Vec<Diagnostic>),
    /// No connection has that id.
    #[error("no connection named {0:?} in the config")]
    UnknownConnection(String),
    /// The platform could not be asked (not connected, token refused, platform error).
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A preview fetched no rows.
    #[error(transparent)]
    Preview(#[from] PreviewError),
    /// A backfill window no run could honestly deliver.
    #[error(transparent)]
    Window(#[from] crate::backfill::WindowError),
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
    /// The scheduler loop's sign of life, for `/readyz`.
    heartbeat: Heartbeat,
}

impl App {
    /// Opens the store the config names (sled in its data directory, or PostgreSQL) and
    /// loads the query files; bad files are reported in [`App::problems`] and skipped.
    pub async fn build(config: Config, clock: SharedClock) -> Result<Self, AppError> {
        let store = Store::open_configured(&config).await?;
        Ok(Self::with_store(config, store, clock))
    }

    /// Like [`App::build`] with an already open store.
    pub fn with_store(config: Config, store: Store, clock: SharedClock) -> Self {
        // Before any run, so `/metrics` counts every one.
        crate::telemetry::handle();
        let (queries, problems) = query::load_dir(&config.queries_dir, &config.validation_context());
        for problem in &problems {
            tracing::warn!("Skipping query file: {problem}");
        }
        for warning in queries.iter().flat_map(|q| &q.warnings) {
            tracing::warn!("{}", warning.as_warning());
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
                    sinks: crate::sinks::Sinks::new(&config, api.clone()),
                    stopping: CancellationToken::new(),
                },
                auth,
                queries,
                problems,
                config,
                ready: tokio::sync::watch::Sender::new(false),
                heartbeat: Heartbeat::default(),
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

    /// Set by the scheduler once it knows every next fire.
    pub(crate) fn ready_signal(&self) -> &tokio::sync::watch::Sender<bool> {
        &self.inner.ready
    }

    /// Beaten by the scheduler loop while it runs.
    pub(crate) fn heartbeat(&self) -> &Heartbeat {
        &self.inner.heartbeat
    }

    /// What every run needs.
    pub(crate) fn run_context(&self) -> &RunContext {
        &self.inner.ctx
    }

    /// Time.
    pub(crate) fn clock(&self) -> &SharedClock {
        &self.inner.ctx.clock
    }

    /// The email sender.
    pub fn notifier(&self) -> &Notifier {
        &self.inner.ctx.notifier
    }

    /// The reader of `platform` on `connection`.
    pub(crate) fn source(&self, connection: &str, platform: Platform) -> Option<&Source> {
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
    pub async fn status(&self) -> Result<StatusReport, StoreError> {
        StatusReport::collect(
            &self.inner.config,
            self.store(),
            &self.inner.queries,
            &self.inner.problems,
            self.inner.ctx.clock.now(),
        )
        .await
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

    /// The accounts `connection`'s login can read, on every platform it serves.
    pub async fn accounts(&self, connection: &str) -> Result<AccountList, AppError> {
        let conn = self
            .inner
            .config
            .connections
            .iter()
            .find(|c| c.id == connection)
            .ok_or_else(|| AppError::UnknownConnection(connection.to_string()))?;
        let sources: Vec<_> = conn
            .provider
            .platforms()
            .iter()
            .filter_map(|platform| Some((*platform, self.source(connection, *platform)?)))
            .collect();
        Ok(crate::accounts::list(&self.inner.auth, connection, &sources).await?)
    }

    /// Previews `query` — a valid query's name, or else the path of a query file anywhere (a
    /// draft not yet in the query directory) — for its current window: the first `rows`
    /// rows and the total, with nothing delivered or recorded.
    pub async fn preview(&self, query: &str, rows: usize) -> Result<Preview, AppError> {
        let draft;
        let query = match self.inner.queries.iter().find(|q| q.name == query) {
            Some(known) => known,
            None => {
                let path = std::path::Path::new(query);
                // Only query files: the daemon answers this for its admin, and reading any
                // other file would echo bits of it back in the diagnostics.
                let is_toml = path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("toml"));
                if !is_toml || !path.is_file() {
                    return Err(AppError::UnknownQuery(query.to_string()));
                }
                draft =
                    query::load_file(path, &self.inner.config.validation_context()).map_err(AppError::InvalidQuery)?;
                &draft
            }
        };
        let now = self.inner.ctx.clock.now();
        Ok(crate::preview::preview(&self.inner.ctx, query, now, rows).await?)
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
                // Every query is checked before any runs: a refusal leaves all outputs alone.
                for query in &queries {
                    crate::backfill::check_window(query, window, now)?;
                }
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
}
