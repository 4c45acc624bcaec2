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
use crate::query::{self, Diagnostic, Query, QueryDir};
use crate::rows::DateWindow;
use crate::run::{run_query, RunContext, Trigger};
use crate::scheduler::{Heartbeat, Lineup};
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

/// One version of the config, with what is built from it, and of the query directory.
struct Live {
    config: Arc<Config>,
    auth: Auth,
    /// The API client of this version's sources and sinks.
    api: ApiClient,
    ctx: RunContext,
    dir: QueryDir,
    queries: Arc<[Query]>,
    /// When `dir` was read.
    read_at: chrono::DateTime<chrono::Utc>,
}

/// What every version of the run context shares: a run of an older config and one of the
/// newer still take turns on a query's lock and stop together.
struct Kept {
    store: Store,
    clock: SharedClock,
    query_locks: crate::run::QueryLocks,
    stopping: CancellationToken,
}

impl From<&RunContext> for Kept {
    fn from(ctx: &RunContext) -> Self {
        Self {
            store: ctx.store.clone(),
            clock: ctx.clock.clone(),
            query_locks: ctx.query_locks.clone(),
            stopping: ctx.stopping.clone(),
        }
    }
}

impl Live {
    /// `config` with its sources and sinks, which share one API client (and its limits).
    fn new(config: Config, auth: Auth, notifier: Notifier, dir: QueryDir, kept: Kept) -> Self {
        let read_at = kept.clock.now();
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
        let ctx = RunContext {
            store: kept.store,
            sources,
            clock: kept.clock,
            auth: auth.clone(),
            query_locks: kept.query_locks,
            notifier,
            sinks: crate::sinks::Sinks::new(&config, api.clone()),
            stopping: kept.stopping,
        };
        Self {
            config: Arc::new(config),
            auth,
            api,
            ctx,
            queries: dir.queries().into(),
            dir,
            read_at,
        }
    }

    fn lineup(&self) -> Lineup {
        Lineup {
            ctx: self.ctx.clone(),
            queries: self.queries.clone(),
            read_at: self.read_at,
        }
    }
}

/// Logs what a rescan of the query directory found changed in files' errors.
fn log_rescan(before: &QueryDir, after: &QueryDir) {
    for query in after.queries() {
        let Some(stale) = after.stale(&query.name) else {
            continue;
        };
        if before.stale(&query.name).map(|s| &s.diagnostics) != Some(&stale.diagnostics) {
            tracing::warn!(query = %query.name, "Query file {}", stale.sentence());
        }
    }
    for problem in after.problems().iter().filter(|p| !before.problems().contains(p)) {
        tracing::warn!("Skipping query file: {problem}");
    }
}

/// A configured daemon: everything but the running loop.
#[derive(Clone)]
pub struct App {
    inner: Arc<AppInner>,
}

struct AppInner {
    store: Store,
    clock: SharedClock,
    /// The config, what is built from it, and the query directory: replaced whole by a
    /// config reload or a rescan of the query directory, while runs keep what they started
    /// with.
    live: std::sync::RwLock<Arc<Live>>,
    /// The scheduler's view of `live`, sent on every change.
    lineup: tokio::sync::watch::Sender<Lineup>,
    /// One reload or rescan at a time: each builds on the state the one before left.
    reloading: std::sync::Mutex<()>,
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
        let dir = QueryDir::load(&config.queries_dir, &config.validation_context(), clock.now());
        for problem in dir.problems() {
            tracing::warn!("Skipping query file: {problem}");
        }
        for warning in dir.queries().iter().flat_map(|q| &q.warnings) {
            tracing::warn!("{}", warning.as_warning());
        }
        let auth = Auth::new(&config, store.clone(), clock.clone());
        let notifier = Notifier::new(&config, dir.queries(), store.clone(), clock.clone());
        let kept = Kept {
            store: store.clone(),
            clock: clock.clone(),
            query_locks: Default::default(),
            stopping: CancellationToken::new(),
        };
        let live = Live::new(config, auth, notifier, dir, kept);
        Self {
            inner: Arc::new(AppInner {
                store,
                clock,
                lineup: tokio::sync::watch::Sender::new(live.lineup()),
                live: std::sync::RwLock::new(Arc::new(live)),
                reloading: Default::default(),
                ready: tokio::sync::watch::Sender::new(false),
                heartbeat: Heartbeat::default(),
            }),
        }
    }

    /// The API client sources and sinks share (its latest reload).
    pub(crate) fn api(&self) -> ApiClient {
        self.live().api.clone()
    }

    /// The current version of what can change while the daemon runs.
    fn live(&self) -> Arc<Live> {
        self.inner.live.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Puts `live` in place and tells the scheduler.
    fn replace(&self, live: Live) {
        self.inner.lineup.send_replace(live.lineup());
        *self.inner.live.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(live);
    }

    /// Reads the query directory again and puts what changed in place: a new or edited
    /// valid file is scheduled, a deleted one stops, an edit that does not validate keeps the
    /// last good version running. Returns whether anything changed.
    pub fn rescan_queries(&self) -> bool {
        let _one = self.inner.reloading.lock().unwrap_or_else(|e| e.into_inner());
        let live = self.live();
        let now = self.inner.clock.now();
        let dir = live
            .dir
            .rescan(&live.config.queries_dir, &live.config.validation_context(), now);
        if dir == live.dir {
            return false;
        }
        log_rescan(&live.dir, &dir);
        let mut ctx = live.ctx.clone();
        ctx.notifier = ctx.notifier.reconfigured(&live.config, dir.queries());
        self.replace(Live {
            config: live.config.clone(),
            auth: live.auth.clone(),
            api: live.api.clone(),
            ctx,
            queries: dir.queries().into(),
            dir,
            read_at: now,
        });
        true
    }

    /// Runs with `config` from now on: connections added, changed and removed, and the
    /// query directory read again with it. Runs in flight finish with the config they
    /// started with. Settings the daemon only reads at start are kept, with a warning.
    pub fn reload_config(&self, config: Config) {
        let _one = self.inner.reloading.lock().unwrap_or_else(|e| e.into_inner());
        let live = self.live();
        let old = &live.config;
        let needs_restart = [
            ("listen", old.listen != config.listen),
            ("data_dir", old.data_dir != config.data_dir),
            ("scheduler limits", old.limits != config.limits),
        ];
        for (setting, _) in needs_restart.iter().filter(|(_, changed)| *changed) {
            tracing::warn!(
                "{}: a change of {setting} takes effect at the next start.",
                config.source.display()
            );
        }
        let auth = live.auth.reconfigured(&config);
        let now = self.inner.clock.now();
        let dir = live.dir.rescan(&config.queries_dir, &config.validation_context(), now);
        log_rescan(&live.dir, &dir);
        let notifier = live.ctx.notifier.reconfigured(&config, dir.queries());
        tracing::info!(
            "Reloaded {}: {} connection(s), {} queries.",
            config.source.display(),
            config.connections.len(),
            dir.queries().len()
        );
        self.replace(Live::new(config, auth, notifier, dir, Kept::from(&live.ctx)));
    }

    /// The scheduler's view of the daemon, and of every later version of it.
    pub(crate) fn lineup(&self) -> tokio::sync::watch::Receiver<Lineup> {
        self.inner.lineup.subscribe()
    }

    /// The configuration (its latest reload).
    pub fn config(&self) -> Arc<Config> {
        self.live().config.clone()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The auth layer.
    pub fn auth(&self) -> Auth {
        self.live().auth.clone()
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

    /// What every run needs (as of the latest reload).
    pub(crate) fn run_context(&self) -> RunContext {
        self.live().ctx.clone()
    }

    /// Time.
    pub(crate) fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    /// The email sender.
    pub fn notifier(&self) -> Notifier {
        self.live().ctx.notifier.clone()
    }

    /// The reader of `platform` on `connection`.
    pub(crate) fn source(&self, connection: &str, platform: Platform) -> Option<Source> {
        self.live()
            .ctx
            .sources
            .get(&(connection.to_string(), platform))
            .cloned()
    }

    /// The first reader of `connection`, for what every platform of its login answers alike
    /// (who the token belongs to).
    pub fn any_source(&self, connection: &str) -> Option<Source> {
        let config = self.config();
        let conn = config.connections.iter().find(|c| c.id == connection)?;
        self.source(connection, *conn.provider.platforms().first()?)
    }

    /// Valid queries (each file's current version, or its last good one).
    pub fn queries(&self) -> Arc<[Query]> {
        self.live().queries.clone()
    }

    /// Query files that were skipped, and why.
    pub fn problems(&self) -> Vec<Diagnostic> {
        self.live().dir.problems().to_vec()
    }

    /// The status report as of now.
    pub async fn status(&self) -> Result<StatusReport, StoreError> {
        let live = self.live();
        let mut report = StatusReport::collect(
            &live.config,
            self.store(),
            &live.queries,
            live.dir.problems(),
            self.inner.clock.now(),
        )
        .await?;
        report.note_file_errors(&live.dir);
        Ok(report)
    }

    /// Runs one query now, outside its schedule.
    pub async fn run_once(&self, name: &str) -> Result<RunRecord, AppError> {
        let live = self.live();
        let query = live
            .queries
            .iter()
            .find(|q| q.name == name)
            .ok_or_else(|| AppError::UnknownQuery(name.to_string()))?;
        let now = self.inner.clock.now();
        Ok(run_query(&live.ctx, query, now, Trigger::Manual).await)
    }

    /// The accounts `connection`'s login can read, on every platform it serves.
    pub async fn accounts(&self, connection: &str) -> Result<AccountList, AppError> {
        let live = self.live();
        let conn = live
            .config
            .connections
            .iter()
            .find(|c| c.id == connection)
            .ok_or_else(|| AppError::UnknownConnection(connection.to_string()))?;
        let sources: Vec<_> = conn
            .provider
            .platforms()
            .iter()
            .filter_map(|platform| Some((*platform, live.ctx.sources.get(&(connection.to_string(), *platform))?)))
            .collect();
        Ok(crate::accounts::list(&live.auth, connection, &sources).await?)
    }

    /// Previews `query` — a valid query's name, or else the path of a query file anywhere (a
    /// draft not yet in the query directory) — for its current window: the first `rows`
    /// rows and the total, with nothing delivered or recorded.
    pub async fn preview(&self, query: &str, rows: usize) -> Result<Preview, AppError> {
        let live = self.live();
        let draft;
        let query = match live.queries.iter().find(|q| q.name == query) {
            Some(known) => known,
            None => {
                let path = std::path::Path::new(query);
                // Only query files: the daemon answers this for its admin, and reading any
                // other file would echo bits of it back in the diagnostics.
                let is_toml = path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("toml"));
                if !is_toml || !path.is_file() {
                    return Err(AppError::UnknownQuery(query.to_string()));
                }
                draft = query::load_file(path, &live.config.validation_context()).map_err(AppError::InvalidQuery)?;
                &draft
            }
        };
        let now = self.inner.clock.now();
        Ok(crate::preview::preview(&live.ctx, query, now, rows).await?)
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
        let live = self.live();
        let queries: Vec<Query> = match query {
            Some(name) => vec![live
                .queries
                .iter()
                .find(|q| q.name == name)
                .cloned()
                .ok_or_else(|| AppError::UnknownQuery(name.to_string()))?],
            None => live.queries.to_vec(),
        };
        match window {
            None => Ok(crate::backfill::backfill_with(&live.ctx, &queries, progress).await?),
            Some(window) => {
                let now = self.inner.clock.now();
                // Every query is checked before any runs: a refusal leaves all outputs alone.
                for query in &queries {
                    crate::backfill::check_window(query, window, now)?;
                }
                let mut runs = Vec::new();
                for (done, query) in queries.iter().enumerate() {
                    let run = crate::run::run_window(&live.ctx, query, now, window, Trigger::Backfill).await;
                    progress(done + 1, queries.len(), &run);
                    runs.push(run);
                }
                Ok(runs)
            }
        }
    }
}
