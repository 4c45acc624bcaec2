//! Rate-limit slow-downs: when a platform says "slow down" (a 429, a Retry-After, Meta's
//! usage headers) every request of that connection waits, on every daemon of the cluster.
//!
//! The platform counts calls per app, user or ad account, not per daemon: a slow-down one
//! daemon was told about is the others' too. It is kept in memory and, with a shared store,
//! in the database (`until` on the database's clock, so daemons whose clocks disagree still
//! wait until the same instant). A daemon re-reads a connection's slow-down from the
//! database at most once per [`SHARED_REFRESH`] — before a request, never per request — so
//! the other daemons see it before their next request after at most that long, and the
//! database serves one read per connection per second per daemon however many runs go on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::store::Store;

/// How long a connection's slow-down read from the database is trusted.
pub(crate) const SHARED_REFRESH: Duration = Duration::from_secs(1);

/// Per connection, the instant before which no request is sent; clones share it.
#[derive(Clone, Debug)]
pub(crate) struct Slowdowns {
    store: Store,
    held: Arc<Mutex<HashMap<String, Held>>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Held {
    /// No request before this instant.
    until: Option<Instant>,
    /// When the database was last asked (with a shared store).
    read_at: Option<Instant>,
}

impl Slowdowns {
    /// Slow-downs shared through `store` when it is shared (PostgreSQL).
    pub(crate) fn new(store: Store) -> Self {
        Self {
            store,
            held: Arc::default(),
        }
    }

    /// Holds back every request of `connection` for `wait`, here at once and on the
    /// cluster's other daemons once the database has it (written in the background: a
    /// platform's answer is classified in synchronous code). A database that cannot be
    /// written leaves the slow-down to this daemon.
    pub(crate) fn slow_down(&self, connection: &str, wait: Duration) {
        self.hold_until(connection, Instant::now() + wait, None);
        if self.store.is_shared() {
            let (store, connection) = (self.store.clone(), connection.to_string());
            tokio::spawn(async move {
                if let Err(e) = store.slow_down(&connection, wait).await {
                    tracing::warn!(connection, "Could not share the slow-down with the cluster: {e}");
                }
            });
        }
    }

    /// The instant before which `connection` sends no request, if one is ahead; with a
    /// shared store, what the cluster recorded, read at most once per [`SHARED_REFRESH`].
    pub(crate) async fn until(&self, connection: &str) -> Option<Instant> {
        let now = Instant::now();
        let held = self.held(connection);
        let stale = held.read_at.is_none_or(|at| now.duration_since(at) >= SHARED_REFRESH);
        if self.store.is_shared() && stale {
            // Marked read first: the requests that arrive meanwhile go on without waiting for
            // the same answer.
            self.hold_until(connection, now, Some(now));
            match self.store.slowed_for(connection).await {
                Ok(Some(wait)) => self.hold_until(connection, now + wait, None),
                Ok(None) => {}
                Err(e) => tracing::warn!(connection, "Could not read the cluster's slow-down: {e}"),
            }
        }
        self.held(connection).until.filter(|until| *until > Instant::now())
    }

    fn held(&self, connection: &str) -> Held {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.get(connection).copied().unwrap_or_default()
    }

    /// Moves `connection`'s slow-down to `until` unless it ends later already, and notes a
    /// database read at `read_at`.
    fn hold_until(&self, connection: &str, until: Instant, read_at: Option<Instant>) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let entry = held.entry(connection.to_string()).or_default();
        entry.until = entry.until.max(Some(until));
        entry.read_at = read_at.or(entry.read_at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SecretKey;

    #[tokio::test(start_paused = true)]
    async fn a_slow_down_holds_its_connection_only_and_the_longest_wins() {
        let dir = tempfile::tempdir().unwrap();
        let slowdowns = Slowdowns::new(Store::open_with_key(dir.path(), &SecretKey::generate()).unwrap());
        let start = Instant::now();
        assert_eq!(slowdowns.until("meta").await, None);
        slowdowns.slow_down("meta", Duration::from_secs(30));
        slowdowns.clone().slow_down("meta", Duration::from_secs(5));
        assert_eq!(slowdowns.until("meta").await, Some(start + Duration::from_secs(30)));
        assert_eq!(slowdowns.until("google").await, None);
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(slowdowns.until("meta").await, None, "over once the instant passed");
    }
}
