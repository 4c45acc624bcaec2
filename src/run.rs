//! One run of one query: source → row batches → sink, then the outcome recorded.
//!
//! The source fetches pages on the async runtime and hands each over a channel of two
//! batches to the sink's delivery (CSV writes on blocking threads); so the next page is
//! already being requested while the current one is written, and at most a few pages are in
//! memory. Every kind of sink goes through the same steps ([`crate::sinks::Delivery`]); the
//! delivery is committed only when the source finished without error: a failed run leaves
//! the previous output untouched.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::auth::{Auth, AuthError};
use crate::clock::SharedClock;
use crate::http::FetchError;
use crate::keyed::Keyed;
use crate::location::Location;
use crate::notify::Notifier;
use crate::query::{Query, WriteMode};
use crate::reason::{Reason, ReconnectReason};
use crate::rows::{DateWindow, RowBatch};
use crate::sinks::{output_scope, DeliveryReport, SinkError, Sinks};
use crate::sources::{Platform, Source};
use crate::store::{BrokenQuery, Gap, GapState, Outcome, QueryFailure, QueryPause, RunRecord, Store, StoreError};

/// Pages buffered between source and sink: one being written, one prefetched.
const PAGES_IN_FLIGHT: usize = 2;

/// Why a run delivered nothing.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    /// The platform side failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// Writing the output failed.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The query names a connection with no reader (config changed under it).
    #[error("connection {0:?} is not configured")]
    UnknownConnection(String),
    /// The query is paused on its own (e.g. `missing_access` after a reconnect).
    #[error("the query is paused ({reason}): {detail}")]
    QueryPaused {
        /// Machine-readable reason.
        reason: Reason,
        /// For people.
        detail: String,
    },
    /// The platform rejected this version of the query file before; it is not sent again.
    #[error("the query is broken until its file changes; the platform said: {0}")]
    Broken(String),
    /// adsync was stopping and the run was still waiting on the platform when the grace
    /// period ended; nothing was committed.
    #[error("adsync was stopped while this run was still fetching; the previous output is unchanged")]
    Stopped,
}

/// Why a run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// A scheduled fire (or the latest fire missed while the daemon was down).
    Scheduled,
    /// Asked for by a person (`run-once`, the demo's first pass); does not move the schedule.
    Manual,
    /// Making good an open gap; does not move the schedule or record new gaps.
    Backfill,
}

/// What a run needs; shared by every run of the daemon.
#[derive(Clone)]
pub(crate) struct RunContext {
    /// Where outcomes are recorded.
    pub(crate) store: Store,
    /// A reader per connection id and platform it serves.
    pub(crate) sources: HashMap<(String, Platform), Source>,
    /// Time.
    pub(crate) clock: SharedClock,
    /// Tokens, and whether a connection is paused.
    pub(crate) auth: Auth,
    /// One lock per query: two runs writing one output would race.
    pub(crate) query_locks: QueryLocks,
    /// Tells people when a connection needs them.
    pub(crate) notifier: Notifier,
    /// Builds each run's output.
    pub(crate) sinks: Sinks,
    /// Cancelled when a stop's grace period is over: runs still fetching give up, so a
    /// request that hangs cannot hold the stop past what a supervisor allows.
    pub(crate) stopping: CancellationToken,
}

/// Serializes runs of the same query, whoever starts them (scheduler, CLI, web).
pub(crate) type QueryLocks = Keyed<tokio::sync::Mutex<()>>;

impl RunError {
    /// The platform failure behind this error, whether the source's or (for a Sheets
    /// output) the sink's: both go through the same token and retry machinery.
    pub(crate) fn fetch_error(&self) -> Option<&FetchError> {
        match self {
            RunError::Fetch(e) | RunError::Sink(SinkError::Sheets { source: e, .. }) => Some(e),
            _ => None,
        }
    }

    /// The gap reason this failure gives a scheduled fire, and the message to keep with it.
    pub(crate) fn gap_reason(&self) -> (Reason, Option<String>) {
        let message = Some(self.to_string());
        let reason = match self.fetch_error() {
            Some(FetchError::Auth(AuthError::NeedsReconnect { reason, detail, .. })) => {
                return (Reason::Reconnect(*reason), detail.clone().or(message))
            }
            Some(FetchError::Auth(AuthError::ClientRejected { detail, .. })) => {
                return (Reason::Reconnect(ReconnectReason::ClientRejected), Some(detail.clone()))
            }
            Some(FetchError::Auth(AuthError::NotConnected(_))) => Reason::NotConnected,
            Some(FetchError::Auth(_)) => Reason::TokenEndpointFailed,
            Some(FetchError::RetriesExhausted { .. } | FetchError::Protocol(_)) => Reason::PlatformError,
            Some(FetchError::QuotaExhausted { .. }) => Reason::QuotaExhausted,
            Some(FetchError::Permission(_)) => Reason::PermissionDenied,
            Some(FetchError::BadQuery(_) | FetchError::TooMuchData(_)) => Reason::BadQuery,
            None => match self {
                RunError::QueryPaused { reason, detail } => return (*reason, Some(detail.clone())),
                RunError::Broken(_) => Reason::BadQuery,
                RunError::UnknownConnection(_) => Reason::UnknownConnection,
                // Like a fire that passed while the daemon was down: the next start makes it good.
                RunError::Stopped => Reason::DaemonNotRunning,
                RunError::Fetch(_) => Reason::PlatformError,
                RunError::Sink(_) => Reason::OutputFailed,
            },
        };
        (reason, message)
    }
}

/// Runs `query` for the fire at `fire`, records the outcome and returns it.
pub(crate) async fn run_query(ctx: &RunContext, query: &Query, fire: DateTime<Utc>, trigger: Trigger) -> RunRecord {
    run_window(ctx, query, fire, fire_window(query, fire), trigger).await
}

/// The dates a run of `query` fired at `fire` covers: its whole `date_range` then.
pub(crate) fn fire_window(query: &Query, fire: DateTime<Utc>) -> DateWindow {
    query.date_range.window(fire, query.schedule.tz())
}

/// Runs `query` for an explicit `window` (a backfill), records the outcome and returns it.
pub(crate) async fn run_window(
    ctx: &RunContext,
    query: &Query,
    fire: DateTime<Utc>,
    window: DateWindow,
    trigger: Trigger,
) -> RunRecord {
    let lock = ctx.query_locks.get(&query.name);
    let _serial = lock.lock().await;
    let started = ctx.clock.now();
    // Real time for the duration metric: the scheduling clock may be a test's or scaled.
    let timer = std::time::Instant::now();
    // A paused connection or a broken query is not sent to the platform at all: the fire
    // becomes a gap, nothing else.
    let mut unusable = None;
    for connection in query.connections() {
        if let Err(e) = ctx.auth.ensure_usable(connection).await {
            unusable = Some(e);
            break;
        }
    }
    let blocked = match unusable {
        Some(e) => Some(RunError::Fetch(FetchError::Auth(e))),
        None => match held_back(&ctx.store, query).await {
            Some(e) => Some(e),
            None => scope_missing(ctx, query).await,
        },
    };
    let was_paused = blocked.is_some();
    let blocked = blocked.or_else(|| ctx.stopping.is_cancelled().then_some(RunError::Stopped));
    let result = match blocked {
        Some(e) => Err(e),
        None => deliver(ctx, query, window).await,
    };
    let finished = ctx.clock.now();
    let (rows, outcome, error, output) = match &result {
        Ok((report, location)) => (report.rows_written, Outcome::Delivered, None, Some(location.clone())),
        Err(e) if was_paused => (0, Outcome::Paused, Some(e.to_string()), None),
        Err(e) => (0, Outcome::Failed, Some(e.to_string()), None),
    };
    match &result {
        Ok((report, location)) => tracing::info!(
            query = %query.name,
            rows = report.rows_written,
            "{}: wrote {} rows for {} to {}{}.",
            query.name,
            report.rows_written,
            window,
            location,
            if report.rows_kept > 0 {
                format!(" (kept {} rows of other dates)", report.rows_kept)
            } else {
                String::new()
            }
        ),
        Err(e) if was_paused => tracing::warn!(
            query = %query.name,
            "{}: paused, {} not fetched (recorded as a gap): {e}",
            query.name,
            window
        ),
        Err(e) => tracing::error!(
            query = %query.name,
            "{}: run for {} failed, the previous output is unchanged: {e}",
            query.name,
            window
        ),
    }
    let newly_paused = match &result {
        Err(e) if !was_paused => e.fetch_error().and_then(|e| match e {
            FetchError::Auth(
                AuthError::NeedsReconnect { connection, .. } | AuthError::ClientRejected { connection, .. },
            ) => Some(connection.clone()),
            _ => None,
        }),
        _ => None,
    };
    let gap_reason = match (&result, trigger) {
        (Err(e), Trigger::Scheduled) => Some(e.gap_reason()),
        _ => None,
    };
    let rejected_query = match &result {
        Err(RunError::Fetch(FetchError::BadQuery(message))) => Some(message.clone()),
        _ => None,
    };
    // A scheduled run that failed starts or extends the query's outage; a spent quota says
    // until when.
    let failure = match (&result, trigger, outcome) {
        (Err(e), Trigger::Scheduled, Outcome::Failed) => {
            let (reason, detail) = e.gap_reason();
            let until = match e.fetch_error() {
                Some(FetchError::QuotaExhausted { wait, .. }) => {
                    chrono::Duration::from_std(*wait).ok().map(|wait| finished + wait)
                }
                _ => None,
            };
            Some(QueryFailure {
                since: finished,
                reason,
                detail,
                until,
            })
        }
        _ => None,
    };
    crate::telemetry::run_finished(query.platform.as_str(), outcome.as_str(), rows, timer.elapsed());
    let record = RunRecord {
        query: query.name.clone(),
        fire,
        started,
        finished,
        window,
        rows,
        outcome,
        error,
        output,
    };
    let news = match remember(ctx, query, &record, trigger, gap_reason, rejected_query, failure).await {
        Ok(news) => news,
        Err(e) => {
            tracing::error!(query = %query.name, "Could not record the run in the store: {e}");
            None
        }
    };
    let told = match news {
        Some(Outage::Continues(failure, failed_runs)) => {
            ctx.notifier.query_failed(&query.name, &failure, failed_runs).await
        }
        Some(Outage::Ended(failure)) => ctx.notifier.query_recovered(&query.name, &failure).await,
        None => Ok(false),
    };
    if let Err(e) = told {
        tracing::error!(query = %query.name, "Could not email the query's people: {e}");
    }
    if let Some(connection) = newly_paused {
        if let Err(e) = ctx.notifier.check_connection(&connection).await {
            tracing::error!(connection = %connection, "Could not tell anyone the connection needs reconnecting: {e}");
        }
    }
    record
}

/// Fetches and writes; commits only on full success. The source fetches on the runtime and
/// hands pages over a channel to the delivery, so the next page is requested while the
/// current one is written.
async fn deliver(ctx: &RunContext, query: &Query, window: DateWindow) -> Result<(DeliveryReport, Location), RunError> {
    let source = ctx
        .sources
        .get(&(query.connection.clone(), query.platform))
        .ok_or_else(|| RunError::UnknownConnection(query.connection.clone()))?;
    let sink = ctx.sinks.sink(query).map_err(RunError::UnknownConnection)?;
    let location = sink.location();
    let mut delivery = sink.begin(window).await?;
    let (tx, mut rx) = mpsc::channel::<RowBatch>(PAGES_IN_FLIGHT);
    let stop = &ctx.stopping;
    let form = delivery.batch_form();
    let fetch = async move {
        // `tx` moves in, so the writer sees the end of the rows when the source is done.
        source.fetch(query, window, form, &tx, stop).await
    };
    let writing = &mut delivery;
    let write = async move {
        // `rx` moves in and is dropped when writing ends, so a failed write stops the source
        // instead of leaving it blocked on a full channel. A write waiting on a platform
        // (a Sheets staging write) gives up when the stop's grace is over.
        while let Some(batch) = rx.recv().await {
            tokio::select! {
                written = writing.write_batch(batch) => written?,
                () = stop.cancelled() => return Err(RunError::Stopped),
            }
        }
        Ok::<(), RunError>(())
    };
    let (fetched, written) = tokio::join!(fetch, write);
    // Stopped: the source returned early and the rows are partial, so nothing is committed.
    // A sink error is the root cause when both failed (the source stops when the sink does).
    let outcome = if stop.is_cancelled() {
        Err(RunError::Stopped)
    } else {
        written.and_then(|()| fetched.map_err(RunError::from))
    };
    match outcome {
        Ok(_) => Ok((delivery.commit().await?, location)),
        Err(e) => {
            delivery.abort().await;
            Err(e)
        }
    }
}

/// What a run changed about the query's outage, for its people.
enum Outage {
    /// A scheduled run failed: the outage (new or going on) and the failures in a row.
    Continues(QueryFailure, u32),
    /// The query delivered after the outage.
    Ended(QueryFailure),
}

/// Stores the run; for scheduled runs moves the query's schedule state past `fire` and turns
/// a failure into a gap; a delivery closes the gaps it makes good. Returns what the run
/// changed about the query's outage.
async fn remember(
    ctx: &RunContext,
    query: &Query,
    record: &RunRecord,
    trigger: Trigger,
    gap_reason: Option<(Reason, Option<String>)>,
    rejected_query: Option<String>,
    failure: Option<QueryFailure>,
) -> Result<Option<Outage>, StoreError> {
    let store = &ctx.store;
    let mut state = store.query_state(&record.query).await?.unwrap_or_default();
    let news = match failure {
        Some(failure) => {
            // The outage keeps the start of its first failed run.
            let since = state.failing.as_ref().map_or(failure.since, |f| f.since);
            let failure = QueryFailure { since, ..failure };
            state.failing = Some(failure.clone());
            Some(Outage::Continues(failure, state.consecutive_failures + 1))
        }
        None if record.outcome == Outcome::Delivered => state.failing.take().map(Outage::Ended),
        None => None,
    };
    if let Some(message) = rejected_query {
        tracing::error!(query = %query.name, "{}: marked broken until {} changes.", query.name, query.file.display());
        state.broken = Some(BrokenQuery {
            message,
            fingerprint: query.fingerprint.clone(),
            since: record.finished,
        });
    } else if record.outcome == Outcome::Delivered {
        state.broken = None;
    }
    if trigger == Trigger::Scheduled {
        state.last_fire = Some(state.last_fire.map_or(record.fire, |f| f.max(record.fire)));
        match record.outcome {
            Outcome::Delivered => {
                state.last_delivered_fire = Some(record.fire);
                state.last_delivered_window = Some(record.window);
                state.consecutive_failures = 0;
            }
            Outcome::Failed => state.consecutive_failures += 1,
            Outcome::Paused => {}
        }
    }
    store.put_query_state(&record.query, &state).await?;
    if let Some(why) = gap_reason {
        let gap = Gap::open(
            &query.name,
            &query.connection,
            record.fire,
            record.window,
            why,
            record.finished,
        );
        store.record_gap(&gap).await?;
    }
    if record.outcome == Outcome::Delivered {
        close_gaps(store, query, record).await?;
    }
    // Last, so whoever sees the run (status, a test polling the history) also sees the
    // query state and gap it left.
    store.record_run(record).await?;
    // A restart must not re-run a fire it already handled.
    store.flush().await?;
    Ok(news)
}

/// Why the query itself must not run now: the platform rejected this very version of its
/// file before, or its connection's user lost access to one of its accounts.
async fn held_back(store: &Store, query: &Query) -> Option<RunError> {
    let state = store.query_state(&query.name).await.ok()??;
    if let Some(broken) = state.broken.filter(|b| b.fingerprint == query.fingerprint) {
        return Some(RunError::Broken(broken.message));
    }
    state.paused.map(|pause| RunError::QueryPaused {
        reason: pause.reason,
        detail: pause.detail,
    })
}

/// Pauses `query` when a login it needs was not granted the scope it needs (a Google login
/// approved for Ads but not Analytics, or not for Sheets): a clear `missing_scope` with the
/// reconnect link, instead of a 403 from the platform at every run.
async fn scope_missing(ctx: &RunContext, query: &Query) -> Option<RunError> {
    let mut missing = None;
    for (connection, scope) in needed_scopes(query) {
        let granted = ctx.auth.granted_scopes(connection).await.unwrap_or_default();
        // Not connected yet: the run says so itself.
        if !granted.is_empty() && !granted.iter().any(|s| s == scope) {
            missing = Some((connection, scope));
            break;
        }
    }
    let (connection, scope) = missing?;
    let now = ctx.clock.now();
    let who = ctx
        .store
        .token(connection)
        .await
        .ok()
        .flatten()
        .and_then(|t| t.identity)
        .map_or_else(|| "The connected user".to_string(), |i| i.name);
    let mut pause = QueryPause::missing_scope(&query.name, connection, scope, &who, now);
    pause.detail = format!("{}: {}", pause.detail, ctx.notifier.links().link(connection, now));
    let mut state = ctx.store.query_state(&query.name).await.ok()?.unwrap_or_default();
    state.paused = Some(pause.clone());
    if let Err(e) = ctx.store.put_query_state(&query.name, &state).await {
        tracing::error!(query = %query.name, "Could not record the pause: {e}");
    }
    Some(RunError::QueryPaused {
        reason: pause.reason,
        detail: pause.detail,
    })
}

/// Each (connection, scope) `query` needs: its platform's on the connection it reads
/// through, and Sheets' on the one that writes its output.
pub(crate) fn needed_scopes(query: &Query) -> impl Iterator<Item = (&str, &'static str)> {
    std::iter::once((query.connection.as_str(), query.platform.scope())).chain(output_scope(&query.output))
}

/// Marks the open gaps a delivery made good: for an `append` query those whose window it
/// covered; for a `replace` query, only when the run delivered the query's whole window for
/// its fire, those whose report it is at least as new as (the output now holds a complete
/// newer report). A narrower `replace` window (refused by the backfill check, but never
/// trusted here) closes nothing.
async fn close_gaps(store: &Store, query: &Query, record: &RunRecord) -> Result<(), StoreError> {
    let whole_window = record.window == fire_window(query, record.fire);
    for mut gap in store.gaps(&query.name).await? {
        if gap.state != GapState::Open {
            continue;
        }
        let covered = record.window.start <= gap.window.start && gap.window.end <= record.window.end;
        let newer = whole_window && gap.window.end <= record.window.end;
        gap.state = match query.output.mode() {
            WriteMode::Replace if newer => GapState::Superseded,
            WriteMode::Append if covered => GapState::Backfilled,
            WriteMode::Replace | WriteMode::Append => continue,
        };
        gap.closed_at = Some(record.finished);
        store.put_gap(&gap).await?;
    }
    Ok(())
}
