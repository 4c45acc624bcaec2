//! The run loop.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::RunLimits;
use crate::query::Query;
use crate::query::Schedule;
use crate::run::{run_query, RunContext, Trigger};
use crate::store::{Gap, QueryState, StoreError};

/// Gap reason of a fire missed while the daemon was down.
pub const DOWNTIME_REASON: &str = "daemon_not_running";
/// At most this many downtime gaps per query and restart (a minutely query down for a month
/// would otherwise write tens of thousands).
const MAX_DOWNTIME_GAPS: usize = 1000;

/// Fires a query missed while the daemon was not running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissedFires {
    /// How many fires were missed.
    pub count: usize,
    /// The latest of them, which is run at once.
    pub latest: DateTime<Utc>,
}

/// Fires of `schedule` in `(after, now]`.
pub fn missed_fires(schedule: &Schedule, after: DateTime<Utc>, now: DateTime<Utc>) -> Option<MissedFires> {
    schedule
        .fires_between(after, now)
        .fold(None, |missed: Option<MissedFires>, fire| {
            Some(MissedFires {
                count: missed.map_or(0, |m| m.count) + 1,
                latest: fire,
            })
        })
}

/// Starts runs when queries are due.
pub struct Scheduler {
    ctx: RunContext,
    queries: Vec<Arc<Query>>,
    global: Arc<Semaphore>,
    per_connection: HashMap<String, Arc<Semaphore>>,
}

impl Scheduler {
    /// A scheduler for `queries` within `limits`.
    pub fn new(ctx: RunContext, queries: Vec<Query>, limits: RunLimits) -> Self {
        let per_connection = queries
            .iter()
            .map(|q| {
                (
                    q.connection.clone(),
                    Arc::new(Semaphore::new(limits.max_runs_per_connection)),
                )
            })
            .collect();
        Self {
            queries: queries.into_iter().map(Arc::new).collect(),
            global: Arc::new(Semaphore::new(limits.max_concurrent_runs)),
            per_connection,
            ctx,
        }
    }

    /// Runs until `shutdown` is cancelled; runs it started are tracked by `tracker`, so the
    /// caller can wait for them to finish their writes.
    ///
    /// `ready` is set once every query's next fire is known (and missed fires recorded), so
    /// callers that move a test clock know the scheduler has read it.
    pub async fn run(
        self,
        shutdown: CancellationToken,
        tracker: TaskTracker,
        ready: &tokio::sync::watch::Sender<bool>,
    ) -> Result<(), StoreError> {
        let now = self.ctx.clock.now();
        let mut due: BTreeSet<(DateTime<Utc>, usize)> = BTreeSet::new();
        for (index, query) in self.queries.iter().enumerate() {
            let mut state = self.ctx.store.query_state(&query.name)?.unwrap_or_default();
            if state.last_fire.is_none() && state.tracked_since.is_none() {
                state.tracked_since = Some(now);
                self.ctx.store.put_query_state(&query.name, &state)?;
            }
            let anchor = state_anchor(&state, now);
            if let Some(missed) = missed_fires(&query.schedule, anchor, now) {
                self.record_downtime_gaps(query, anchor, now)?;
                tracing::warn!(
                    query = %query.name,
                    missed = missed.count,
                    "{}: {} scheduled run(s) were missed while adsync was not running (recorded as gaps); running the latest ({}) now.",
                    query.name,
                    missed.count,
                    missed.latest
                );
                due.insert((missed.latest, index));
            } else if let Some(next) = query.schedule.next_after(anchor.max(now)) {
                due.insert((next, index));
            }
        }
        self.ctx.store.flush().await?;
        tracing::info!("Scheduler started with {} queries.", self.queries.len());
        ready.send_replace(true);

        while let Some(&(fire, index)) = due.first() {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.ctx.clock.sleep_until(fire) => {}
            }
            // A run starts only when a global slot is free: ten thousand queries due at once
            // wait here as entries of `due`, not as ten thousand parked tasks.
            let slot = tokio::select! {
                _ = shutdown.cancelled() => break,
                slot = self.global.clone().acquire_owned() => slot.expect("the run semaphore is never closed"),
            };
            due.pop_first();
            self.start(index, fire, &tracker, slot);
            if let Some(next) = self.queries[index].schedule.next_after(fire.max(self.ctx.clock.now())) {
                due.insert((next, index));
            }
        }
        if due.is_empty() {
            shutdown.cancelled().await;
        }
        tracing::info!("Scheduler stopped: no new runs will start.");
        Ok(())
    }

    /// One `daemon_not_running` gap per fire in `(after, now]`, the latest
    /// [`MAX_DOWNTIME_GAPS`] of them.
    fn record_downtime_gaps(&self, query: &Query, after: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut fires = VecDeque::new();
        for fire in query.schedule.fires_between(after, now) {
            if fires.len() == MAX_DOWNTIME_GAPS {
                fires.pop_front();
            }
            fires.push_back(fire);
        }
        for fire_time in fires {
            let why = (
                DOWNTIME_REASON.to_string(),
                Some("adsync was not running at this scheduled time".to_string()),
            );
            let window = query.date_range.window(fire_time, query.schedule.tz());
            let gap = Gap::open(&query.name, &query.connection, fire_time, window, why, now);
            self.ctx.store.record_gap(&gap)?;
        }
        Ok(())
    }

    fn start(&self, index: usize, fire: DateTime<Utc>, tracker: &TaskTracker, slot: OwnedSemaphorePermit) {
        let query = self.queries[index].clone();
        let ctx = self.ctx.clone();
        let connection = self.per_connection[&query.connection].clone();
        tracker.spawn(async move {
            let _global = slot;
            let _connection = connection.acquire_owned().await;
            run_query(&ctx, &query, fire, Trigger::Scheduled).await;
        });
    }
}

/// The instant after which fires count as not yet handled.
fn state_anchor(state: &QueryState, now: DateTime<Utc>) -> DateTime<Utc> {
    state.last_fire.or(state.tracked_since).unwrap_or(now)
}
