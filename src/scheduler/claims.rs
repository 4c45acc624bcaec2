//! Claims on scheduled fires, so that each fire runs once across a cluster of daemons.
//!
//! With a shared store (PostgreSQL) a daemon claims a fire in the database before it runs it:
//! one row per `(query, fire)` with an owner and a lease, renewed while the run goes on. A
//! daemon that dies stops renewing; once its lease has run out another daemon takes the fire
//! over and runs it again, which is safe because delivery is idempotent (a replace is atomic,
//! an append upserts its window). With sled there is one daemon: every claim is granted.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::missing_output_dir;
use crate::query::{Output, Query};
use crate::store::{FireClaim, Store};

/// This daemon's identity in claims, and how long its claims last.
#[derive(Clone, Debug)]
pub(crate) struct FireClaims {
    store: Store,
    /// Unique per process: a restarted daemon does not inherit its predecessor's claims.
    owner: String,
    lease: Duration,
    /// The CSV output directory, which every daemon of a cluster must reach.
    output_dir: PathBuf,
}

impl FireClaims {
    /// Claims for this process in `store`, lasting `lease` unless renewed.
    pub(crate) fn new(store: Store, lease: Duration, output_dir: PathBuf) -> Self {
        let owner = format!("pid{}-{:08x}", std::process::id(), rand::random::<u32>());
        Self {
            store,
            owner,
            lease,
            output_dir,
        }
    }

    /// How often abandoned fires are looked for, and leases renewed: a third of the lease,
    /// so two renewals can fail (a slow database) before the lease runs out.
    pub(crate) fn check_every(&self) -> Duration {
        self.lease / 3
    }

    /// Whether this daemon may run `query`'s fire at `fire`: it claimed it. A daemon that
    /// cannot reach the CSV output directory leaves CSV fires to the daemons that can.
    pub(crate) async fn claim(&self, query: &Query, fire: DateTime<Utc>) -> bool {
        if !self.store.is_shared() {
            return true;
        }
        if let Some(why) = self.cannot_write(query) {
            tracing::warn!(query = %query.name, "{}: not claiming the fire at {fire}: {why}", query.name);
            return false;
        }
        match self.store.claim_fire(self.on(&query.name, fire), self.lease).await {
            Ok(claimed) => claimed,
            Err(e) => {
                // Unclaimed, the fire is another daemon's, or taken over after a lease.
                tracing::error!(query = %query.name, "{}: could not claim the fire at {fire}: {e}", query.name);
                false
            }
        }
    }

    /// Why this daemon cannot deliver `query`: its CSV output directory is missing here.
    fn cannot_write(&self, query: &Query) -> Option<String> {
        match query.output {
            Output::Csv { .. } => missing_output_dir(&self.output_dir),
            _ => None,
        }
    }

    /// Runs `run`, renewing the claim on `(query, fire)` meanwhile, then marks the fire done.
    pub(crate) async fn hold_while<F: Future>(&self, query: &str, fire: DateTime<Utc>, run: F) -> F::Output {
        if !self.store.is_shared() {
            return run.await;
        }
        let mut run = std::pin::pin!(run);
        let mut renew = tokio::time::interval(self.check_every());
        renew.tick().await;
        let output = loop {
            tokio::select! {
                output = &mut run => break output,
                _ = renew.tick() => self.renew(query, fire).await,
            }
        };
        if let Err(e) = self.store.finish_claim(self.on(query, fire)).await {
            // The lease runs out and another daemon runs the fire again: a repeat, not a loss.
            tracing::error!(query, "{query}: could not mark the fire at {fire} done: {e}");
        }
        output
    }

    /// This daemon's claim on `query`'s fire at `fire`.
    fn on<'a>(&'a self, query: &'a str, fire: DateTime<Utc>) -> FireClaim<'a> {
        FireClaim {
            query,
            fire,
            owner: &self.owner,
        }
    }

    async fn renew(&self, query: &str, fire: DateTime<Utc>) {
        match self.store.renew_claim(self.on(query, fire), self.lease).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                query,
                "{query}: the claim on the fire at {fire} ran out and another daemon took it over; both deliver the same report."
            ),
            Err(e) => tracing::warn!(query, "{query}: could not renew the claim on the fire at {fire}: {e}"),
        }
    }

    /// Keeps this daemon counted among the cluster's live daemons until `stop`, then leaves:
    /// a beat every [`check_every`](Self::check_every), each lasting a lease, in its own task
    /// so a scheduler loop waiting for a free run slot does not stop it. Each beat also
    /// re-reads how many daemons are alive, which divides the per-connection request limit
    /// (`http::request_slots`). Call it after the last run finished: until then this
    /// daemon's requests still count against the limit.
    pub(crate) async fn stay_in_cluster(self, stop: tokio_util::sync::CancellationToken) {
        if !self.store.is_shared() {
            return;
        }
        let mut beat = tokio::time::interval(self.check_every());
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = beat.tick() => match self.store.beat_daemon(&self.owner, self.lease).await {
                    Ok(live) => tracing::debug!(live, "Cluster membership renewed."),
                    Err(e) => tracing::warn!("Could not renew this daemon's cluster membership: {e}"),
                },
            }
        }
        if let Err(e) = self.store.leave_cluster(&self.owner).await {
            tracing::warn!("Could not leave the cluster (the others notice when the lease runs out): {e}");
        }
    }

    /// Fires of `queries` whose owner's lease ran out before it finished them.
    pub(crate) async fn abandoned(&self, queries: &[String]) -> Vec<(String, DateTime<Utc>)> {
        if !self.store.is_shared() {
            return Vec::new();
        }
        self.store.abandoned_fires(queries).await.unwrap_or_else(|e| {
            tracing::warn!("Could not look for fires abandoned by other daemons: {e}");
            Vec::new()
        })
    }
}
