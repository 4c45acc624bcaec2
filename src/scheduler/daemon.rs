//! The run loop.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::RunLimits;
use crate::query::Query;
use crate::query::Schedule;
use crate::reason::Reason;
use crate::run::{run_query, RunContext, Trigger};
use crate::store::{Gap, QueryState, StoreError};

use super::claims::FireClaims;
use super::heartbeat::{Heartbeat, BEAT_EVERY};

/// At most this many downtime gaps per query and restart (a minutely query down for a month
/// would otherwise write tens of thousands).
const MAX_DOWNTIME_GAPS: usize = 1000;

/// Fires a query missed while the daemon was not running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MissedFires {
    /// How many fires were missed.
    pub(crate) count: usize,
    /// The latest of them, which is run at once.
    pub(crate) latest: DateTime<Utc>,
}

/// Fires of `schedule` in `(after, now]`.
pub(crate) fn missed_fires(schedule: &Schedule, after: DateTime<Utc>, now: DateTime<Utc>) -> Option<MissedFires> {
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
pub(crate) struct Scheduler {
    ctx: RunContext,
    queries: Vec<Arc<Query>>,
    slots: RunSlots,
    claims: FireClaims,
}

/// What woke the run loop.
enum Wake {
    /// The earliest due fire's time came.
    Fire,
    /// Time to look for fires other daemons abandoned.
    Sweep,
}

/// The daemon-wide and per-connection run limits.
#[derive(Clone)]
struct RunSlots {
    global: Arc<Semaphore>,
    per_connection: HashMap<String, Arc<Semaphore>>,
}

impl RunSlots {
    fn new<'a>(limits: RunLimits, connections: impl IntoIterator<Item = &'a str>) -> Self {
        let per_connection = connections
            .into_iter()
            .map(|c| (c.to_string(), Arc::new(Semaphore::new(limits.max_runs_per_connection))))
            .collect();
        Self {
            global: Arc::new(Semaphore::new(limits.max_concurrent_runs)),
            per_connection,
        }
    }

    /// Returns once a global slot is free, without taking it: while every slot is busy, due
    /// queries wait as entries of the loop's `due`, not as parked tasks. (Runs waiting for a
    /// busy connection do park, but they hold no global slot while they wait.)
    async fn any_free(&self) {
        drop(self.global.acquire().await.expect("the run semaphore is never closed"));
    }

    /// Starts `run` on `tracker` once its connection's slot and then a global slot are free.
    /// The connection's slot comes first: a run waiting for it holds no global slot, so many
    /// due runs on one connection cannot starve every other connection.
    fn spawn(&self, tracker: &TaskTracker, connection: &str, run: impl Future<Output = ()> + Send + 'static) {
        let connection = self.per_connection[connection].clone();
        let global = self.global.clone();
        tracker.spawn(async move {
            let _connection = connection.acquire_owned().await;
            let _global = global.acquire_owned().await;
            run.await;
        });
    }
}

impl Scheduler {
    /// A scheduler for `queries` within `limits`.
    pub(crate) fn new(ctx: RunContext, queries: Vec<Query>, limits: RunLimits, claims: FireClaims) -> Self {
        Self {
            slots: RunSlots::new(limits, queries.iter().map(|q| q.connection.as_str())),
            queries: queries.into_iter().map(Arc::new).collect(),
            ctx,
            claims,
        }
    }

    /// Runs until `shutdown` is cancelled; runs it started are tracked by `tracker`, so the
    /// caller can wait for them to finish their writes.
    ///
    /// `ready` is set once every query's next fire is known (and missed fires recorded), so
    /// callers that move a test clock know the scheduler has read it. The loop beats
    /// `heartbeat` while it waits, and stops it when it ends.
    pub(crate) async fn run(
        self,
        shutdown: CancellationToken,
        tracker: TaskTracker,
        ready: &tokio::sync::watch::Sender<bool>,
        heartbeat: &Heartbeat,
    ) -> Result<(), StoreError> {
        let now = self.ctx.clock.now();
        let mut due: BTreeSet<(DateTime<Utc>, usize)> = BTreeSet::new();
        for (index, query) in self.queries.iter().enumerate() {
            let mut state = self.ctx.store.query_state(&query.name).await?.unwrap_or_default();
            if state.last_fire.is_none() && state.tracked_since.is_none() {
                state.tracked_since = Some(now);
                self.ctx.store.put_query_state(&query.name, &state).await?;
            }
            let anchor = state_anchor(&state, now);
            if let Some(missed) = missed_fires(&query.schedule, anchor, now) {
                self.record_downtime_gaps(query, anchor, now).await?;
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
        heartbeat.beat();
        ready.send_replace(true);

        let names: Vec<String> = self.queries.iter().map(|q| q.name.clone()).collect();
        let mut sweep = tokio::time::interval(self.claims.check_every());
        loop {
            let next = due.first().copied();
            let wake = self.next_wake(next.map(|(fire, _)| fire), &mut sweep);
            let Some(wake) = beating(wake, &shutdown, heartbeat).await else {
                break;
            };
            let Some((fire, index)) = next.filter(|_| matches!(wake, Wake::Fire)) else {
                for (name, fire) in self.claims.abandoned(&names).await {
                    if let Some(index) = names.iter().position(|n| *n == name) {
                        tracing::warn!(query = %name, "{name}: taking over the fire at {fire}, whose daemon stopped renewing its claim.");
                        self.start(index, fire, &tracker);
                    }
                }
                continue;
            };
            if beating(self.slots.any_free(), &shutdown, heartbeat).await.is_none() {
                break;
            }
            due.pop_first();
            self.start(index, fire, &tracker);
            // The fire after this one, even if it passed while this one waited for a slot: a
            // busy daemon runs late rather than skip a fire without a run or a gap (the chaos
            // soak saw fires lost that way).
            if let Some(next) = self.queries[index].schedule.next_after(fire) {
                due.insert((next, index));
            }
        }
        heartbeat.stop();
        tracing::info!("Scheduler stopped: no new runs will start.");
        Ok(())
    }

    /// Waits until `fire` (never when `None`), or, with a shared store, the next look for
    /// abandoned fires.
    async fn next_wake(&self, fire: Option<DateTime<Utc>>, sweep: &mut tokio::time::Interval) -> Wake {
        let fire_due = async {
            match fire {
                Some(fire) => self.ctx.clock.sleep_until(fire).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = fire_due => Wake::Fire,
            _ = sweep.tick(), if self.ctx.store.is_shared() => Wake::Sweep,
        }
    }

    /// One `daemon_not_running` gap per fire in `(after, now]`, the latest
    /// [`MAX_DOWNTIME_GAPS`] of them. A fire some daemon of the cluster claimed was not
    /// missed: it ran, runs, or is taken over.
    async fn record_downtime_gaps(
        &self,
        query: &Query,
        after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let claimed = self.ctx.store.claimed_fires(&query.name, after, now).await?;
        let mut fires = VecDeque::new();
        for fire in query
            .schedule
            .fires_between(after, now)
            .filter(|f| !claimed.contains(f))
        {
            if fires.len() == MAX_DOWNTIME_GAPS {
                fires.pop_front();
            }
            fires.push_back(fire);
        }
        for fire_time in fires {
            let why = (
                Reason::DaemonNotRunning,
                Some("adsync was not running at this scheduled time".to_string()),
            );
            let window = query.date_range.window(fire_time, query.schedule.tz());
            let gap = Gap::open(&query.name, &query.connection, fire_time, window, why, now);
            self.ctx.store.record_gap(&gap).await?;
        }
        Ok(())
    }

    fn start(&self, index: usize, fire: DateTime<Utc>, tracker: &TaskTracker) {
        let query = self.queries[index].clone();
        let ctx = self.ctx.clone();
        let claims = self.claims.clone();
        let connection = query.connection.clone();
        self.slots.spawn(tracker, &connection, async move {
            // Claimed once a slot is free, so the lease does not run out while it waits.
            if claims.claim(&query, fire).await {
                let run = run_query(&ctx, &query, fire, Trigger::Scheduled);
                claims.hold_while(&query.name, fire, run).await;
            }
        });
    }
}

/// Waits for `until`, beating `heartbeat` meanwhile; `None` when `shutdown` came first.
async fn beating<F: Future>(until: F, shutdown: &CancellationToken, heartbeat: &Heartbeat) -> Option<F::Output> {
    let mut until = std::pin::pin!(until);
    let mut beats = tokio::time::interval(BEAT_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            out = &mut until => return Some(out),
            _ = beats.tick() => heartbeat.beat(),
        }
    }
}

/// The instant after which fires count as not yet handled.
fn state_anchor(state: &QueryState, now: DateTime<Utc>) -> DateTime<Utc> {
    state.last_fire.or(state.tracked_since).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn runs_queued_on_a_busy_connection_do_not_starve_another_connection() {
        let limits = RunLimits {
            max_concurrent_runs: 4,
            max_runs_per_connection: 1,
        };
        let slots = RunSlots::new(limits, ["a", "b"]);
        let tracker = TaskTracker::new();
        let hold = CancellationToken::new();
        // Virtual time: a wait that would never end fails at once instead of hanging.
        let patience = Duration::from_secs(60);
        for _ in 0..50 {
            tokio::time::timeout(patience, slots.any_free())
                .await
                .expect("the loop lets a run of a through");
            let hold = hold.clone();
            slots.spawn(&tracker, "a", async move { hold.cancelled().await });
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::time::timeout(patience, slots.any_free())
            .await
            .expect("the loop lets b's run through");
        slots.spawn(&tracker, "b", async move {
            let _ = tx.send(());
        });
        tokio::time::timeout(patience, rx)
            .await
            .expect("b's run started while a's runs wait for their connection")
            .unwrap();
        hold.cancel();
        tracker.close();
        tracker.wait().await;
    }
}
