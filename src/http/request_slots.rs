//! The bound on a connection's requests in flight, `http.max_requests_per_connection`, which
//! holds for the whole cluster: each daemon takes `max(1, limit / live daemons)` of it.
//!
//! Why a share and not leased slot rows: a slot row would cost a database round trip per
//! request (take it, give it back), on the path every page of rows takes. The number of live
//! daemons is already known from their beats, so each daemon divides the limit by it in
//! memory. The sum stays within the limit while the count is right; when a daemon joins,
//! the others use their larger share until their next beat (a third of the lease), and when
//! one dies, the others keep their smaller share until its lease runs out (safe, only
//! slower). Each daemon keeps at least one slot: a cluster with more daemons than the limit
//! exceeds it, rather than a daemon never reaching the platform.
//!
//! Not a `tokio::sync::Semaphore`: its size cannot shrink while permits are out, and the
//! share shrinks whenever a daemon joins. A count with a limit read at each acquire can.

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::keyed::Keyed;

/// Requests in flight per connection, bounded by this daemon's share of `limit`; clones
/// share the counts.
#[derive(Clone, Debug)]
pub(crate) struct RequestSlots {
    /// The configured limit, for the whole cluster.
    limit: usize,
    in_flight: Keyed<InFlight>,
}

#[derive(Debug, Default)]
struct InFlight {
    count: Mutex<usize>,
    freed: Notify,
}

/// One request in flight; the slot is free again when it is dropped.
#[derive(Debug)]
pub(crate) struct RequestSlot(Arc<InFlight>);

impl Drop for RequestSlot {
    fn drop(&mut self) {
        *self.0.count.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        self.0.freed.notify_waiters();
    }
}

impl RequestSlots {
    /// Slots for `limit` requests per connection across the cluster.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            in_flight: Keyed::default(),
        }
    }

    /// This daemon's share of the limit while `live_daemons` daemons share it.
    pub(crate) fn share(&self, live_daemons: usize) -> usize {
        (self.limit / live_daemons.max(1)).max(1)
    }

    /// Waits for a free slot of `connection` within this daemon's share.
    ///
    /// A waiter is woken by a slot being freed. The share is read once, when the request
    /// starts waiting: a change of the daemon count applies to the requests that start after
    /// it (a waiter on the old, smaller share waits for a slot under it, only slower).
    pub(crate) async fn acquire(&self, connection: &str, live_daemons: usize) -> RequestSlot {
        let share = self.share(live_daemons);
        let in_flight = self.in_flight.get(connection);
        loop {
            let freed = in_flight.freed.notified();
            let mut freed = std::pin::pin!(freed);
            // Registered before the count is read, so a slot freed in between still wakes it.
            freed.as_mut().enable();
            {
                let mut count = in_flight.count.lock().unwrap_or_else(|e| e.into_inner());
                if *count < share {
                    *count += 1;
                    return RequestSlot(in_flight.clone());
                }
            }
            freed.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn each_daemon_takes_its_share_and_at_least_one() {
        let slots = RequestSlots::new(8);
        assert_eq!(slots.share(1), 8);
        assert_eq!(slots.share(3), 2);
        assert_eq!(slots.share(8), 1);
        assert_eq!(slots.share(20), 1, "a daemon can always make a request");
        assert_eq!(slots.share(0), 8, "no beat yet counts as one daemon");
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_beyond_the_share_waits_for_one_to_finish() {
        let slots = RequestSlots::new(4);
        let first = slots.acquire("meta", 2).await;
        let _second = slots.acquire("meta", 2).await;
        let _other_connection = slots.acquire("google", 2).await;
        let third = tokio::spawn({
            let slots = slots.clone();
            async move { slots.acquire("meta", 2).await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!third.is_finished(), "two of four slots for each of two daemons");
        drop(first);
        tokio::time::timeout(Duration::from_secs(1), third)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_daemon_joining_shrinks_the_share_of_requests_started_after() {
        let slots = RequestSlots::new(4);
        let mut alone: Vec<_> = Vec::new();
        for _ in 0..3 {
            alone.push(slots.acquire("meta", 1).await);
        }
        // A second daemon joined: the share is 2 and 3 are in flight.
        let next = tokio::spawn({
            let slots = slots.clone();
            async move { slots.acquire("meta", 2).await }
        });
        alone.pop();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!next.is_finished(), "2 still in flight: the share is full");
        alone.pop();
        tokio::time::timeout(Duration::from_secs(1), next)
            .await
            .unwrap()
            .unwrap();
    }
}
