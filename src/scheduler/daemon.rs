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

/// What the scheduler runs, and with what: replaced while it runs when the query directory
/// or the config changes. A run keeps the lineup it started with.
#[derive(Clone)]
pub(crate) struct Lineup {
    /// What new runs need (sources, auth, sinks of the current config).
    pub(crate) ctx: RunContext,
    /// The queries to schedule.
    pub(crate) queries: Arc<[Query]>,
    /// When the queries were read: a query added or changed is scheduled from then, however
    /// late the loop takes the change.
    pub(crate) read_at: DateTime<Utc>,
}

/// Starts runs when queries are due.
pub(crate) struct Scheduler {
    lineup: tokio::sync::watch::Receiver<Lineup>,
    ctx: RunContext,
    /// The scheduled version of each query, by name.
    queries: HashMap<String, Arc<Query>>,
    slots: RunSlots,
    /// Each fire's claim, so one daemon of a cluster runs it.
    claims: FireClaims,
}

/// The daemon-wide and per-connection run limits.
#[derive(Clone)]
struct RunSlots {
    per_connection_limit: usize,
    global: Arc<Semaphore>,
    per_connection: HashMap<String, Arc<Semaphore>>,
}

impl RunSlots {
    fn new<'a>(limits: RunLimits, connections: impl IntoIterator<Item = &'a str>) -> Self {
        let mut slots = Self {
            per_connection_limit: limits.max_runs_per_connection,
            global: Arc::new(Semaphore::new(limits.max_concurrent_runs)),
            per_connection: HashMap::new(),
        };
        for connection in connections {
            slots.add(connection);
        }
        slots
    }

    /// Gives `connection` its slots unless it has them (a query added while running may
    /// read through a connection no other query used).
    fn add(&mut self, connection: &str) {
        let limit = self.per_connection_limit;
        self.per_connection
            .entry(connection.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(limit)));
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
    /// A scheduler for the queries of `lineup` (and its later versions) within `limits`.
    pub(crate) fn new(mut lineup: tokio::sync::watch::Receiver<Lineup>, limits: RunLimits, claims: FireClaims) -> Self {
        let Lineup { ctx, queries, .. } = lineup.borrow_and_update().clone();
        Self {
            slots: RunSlots::new(limits, queries.iter().map(|q| q.connection.as_str())),
            queries: queries.iter().map(|q| (q.name.clone(), Arc::new(q.clone()))).collect(),
            lineup,
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
        mut self,
        shutdown: CancellationToken,
        tracker: TaskTracker,
        ready: &tokio::sync::watch::Sender<bool>,
        heartbeat: &Heartbeat,
    ) -> Result<(), StoreError> {
        let now = self.ctx.clock.now();
        let mut due: BTreeSet<(DateTime<Utc>, String)> = BTreeSet::new();
        for query in self.queries.values() {
            let mut state = self.ctx.store.query_state(&query.name).await?.unwrap_or_default();
            if state.last_fire.is_none() && state.tracked_since.is_none() {
                state.tracked_since = Some(now);
                self.ctx.store.put_query_state(&query.name, &state).await?;
            }
            self.record_unfinished_last_fire(query, &state, now).await?;
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
                due.insert((missed.latest, query.name.clone()));
            } else if let Some(next) = query.schedule.next_after(anchor.max(now)) {
                due.insert((next, query.name.clone()));
            }
        }
        self.ctx.store.flush().await?;
        tracing::info!("Scheduler started with {} queries.", self.queries.len());
        heartbeat.beat();
        ready.send_replace(true);

        let mut lineup_open = true;
        let mut sweep = tokio::time::interval(self.claims.check_every());
        loop {
            let first = due.first().cloned();
            let woke = {
                let clock = &self.ctx.clock;
                let lineup = &mut self.lineup;
                let until_fire = async {
                    match &first {
                        Some((fire, _)) => clock.sleep_until(*fire).await,
                        None => std::future::pending().await,
                    }
                };
                let changed = async {
                    match lineup_open {
                        true => lineup.changed().await.is_ok(),
                        false => std::future::pending().await,
                    }
                };
                let shared = self.ctx.store.is_shared();
                // A change first: a fire due meanwhile must not start the version it replaced.
                tokio::select! {
                    biased;
                    open = changed => Wake::Lineup(open),
                    _ = sweep.tick(), if shared => Wake::Sweep,
                    fired = beating(until_fire, &shutdown, heartbeat) => Wake::Fire(fired.is_some()),
                }
            };
            let (fire, name) = match (woke, first) {
                (Wake::Lineup(true), _) => {
                    self.update(&mut due).await?;
                    continue;
                }
                (Wake::Sweep, _) => {
                    self.take_over_abandoned(&tracker).await;
                    continue;
                }
                (Wake::Lineup(false), _) => {
                    lineup_open = false;
                    continue;
                }
                (Wake::Fire(false), _) | (_, None) => break,
                (Wake::Fire(true), Some(first)) => first,
            };
            if beating(self.slots.any_free(), &shutdown, heartbeat).await.is_none() {
                break;
            }
            due.remove(&(fire, name.clone()));
            let Some(query) = self.queries.get(&name).cloned() else {
                continue;
            };
            self.start(query.clone(), fire, &tracker);
            // The fire after this one, even if it passed while this one waited for a slot: a
            // busy daemon runs late rather than skip a fire without a run or a gap (the chaos
            // soak saw fires lost that way).
            if let Some(next) = query.schedule.next_after(fire) {
                due.insert((next, name));
            }
        }
        heartbeat.stop();
        tracing::info!("Scheduler stopped: no new runs will start.");
        Ok(())
    }

    /// A gap for the query's last handled fire when the store kept that it was handled but
    /// not how: a process killed while recording a run may leave the query state on disk
    /// without the run record or gap written with it. (A cluster's claims cover that case:
    /// an unfinished claim is taken over and run again.)
    async fn record_unfinished_last_fire(
        &self,
        query: &Query,
        state: &QueryState,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(fire) = state.last_fire.filter(|_| !self.ctx.store.is_shared()) else {
            return Ok(());
        };
        let store = &self.ctx.store;
        if store.last_run(&query.name).await?.is_some_and(|r| r.fire == fire)
            || store.gaps(&query.name).await?.iter().any(|g| g.fire_time == fire)
            || store.runs(&query.name).await?.iter().any(|r| r.fire == fire)
        {
            return Ok(());
        }
        tracing::warn!(
            query = %query.name,
            "{}: the run of the fire at {fire} was not recorded (adsync stopped while recording it); recorded as a gap.",
            query.name
        );
        let why = (
            Reason::DaemonNotRunning,
            Some("adsync stopped while recording this scheduled run".to_string()),
        );
        let window = query.date_range.window(fire, query.schedule.tz());
        store
            .record_gap(&Gap::open(&query.name, &query.connection, fire, window, why, now))
            .await?;
        Ok(())
    }

    /// Starts again the fires another daemon of the cluster claimed and stopped renewing
    /// (it died or lost the database): each fire runs to the end once.
    async fn take_over_abandoned(&self, tracker: &TaskTracker) {
        let names: Vec<String> = self.queries.keys().cloned().collect();
        for (name, fire) in self.claims.abandoned(&names).await {
            if let Some(query) = self.queries.get(&name) {
                tracing::warn!(query = %name, "{name}: taking over the fire at {fire}, whose daemon stopped renewing its claim.");
                self.start(query.clone(), fire, tracker);
            }
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

    /// Takes the latest lineup: a query added is scheduled from now, a changed one gets the
    /// next fire of its new schedule, a removed one is no longer scheduled (runs in flight
    /// finish with the version they started with; its history stays in the store).
    async fn update(&mut self, due: &mut BTreeSet<(DateTime<Utc>, String)>) -> Result<(), StoreError> {
        let Lineup { ctx, queries, read_at } = self.lineup.borrow_and_update().clone();
        self.ctx = ctx;
        let now = read_at;
        let mut next: HashMap<String, Arc<Query>> = HashMap::with_capacity(queries.len());
        for query in queries.iter() {
            let kept = self.queries.get(&query.name).filter(|running| ***running == *query);
            if let Some(running) = kept {
                next.insert(query.name.clone(), running.clone());
                continue;
            }
            due.retain(|(_, name)| *name != query.name);
            let mut state = self.ctx.store.query_state(&query.name).await?.unwrap_or_default();
            if state.last_fire.is_none() && state.tracked_since.is_none() {
                state.tracked_since = Some(now);
                self.ctx.store.put_query_state(&query.name, &state).await?;
            }
            // From now, not from the last fire: the file's absence or old schedule is no
            // downtime to make good.
            if let Some(fire) = query.schedule.next_after(state_anchor(&state, now).max(now)) {
                due.insert((fire, query.name.clone()));
            }
            let change = if self.queries.contains_key(&query.name) {
                "changed"
            } else {
                "added"
            };
            tracing::info!(query = %query.name, "Query file {change}: {} scheduled.", query.name);
            self.slots.add(&query.connection);
            next.insert(query.name.clone(), Arc::new(query.clone()));
        }
        for name in self.queries.keys().filter(|name| !next.contains_key(*name)) {
            tracing::info!(query = %name, "Query file removed: {name} is no longer scheduled.");
        }
        due.retain(|(_, name)| next.contains_key(name));
        self.queries = next;
        Ok(())
    }

    fn start(&self, query: Arc<Query>, fire: DateTime<Utc>, tracker: &TaskTracker) {
        let ctx = self.ctx.clone();
        let claims = self.claims.clone();
        let connection = query.connection.clone();
        self.slots.spawn(tracker, &connection, async move {
            // Boxed, so a run parked on its connection's slot holds only what it captured
            // (about 2 KB): the run's own state (about 29 KB in a debug build) is allocated
            // once it starts. Before, 10,000 fires due at once on one connection held about
            // 390 MB per daemon of a cluster.
            Box::pin(async move {
                // Claimed once a slot is free, so the lease does not run out while it waits.
                if claims.claim(&query, fire).await {
                    let run = run_query(&ctx, &query, fire, Trigger::Scheduled);
                    claims.hold_while(&query.name, fire, run).await;
                }
            })
            .await
        });
    }
}

/// What ended the scheduler's wait.
enum Wake {
    /// The lineup changed (`true`), or can no longer change (`false`).
    Lineup(bool),
    /// The first fire is due (`true`), or the daemon is stopping (`false`).
    Fire(bool),
    /// Time to look for fires other daemons of the cluster abandoned.
    Sweep,
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
