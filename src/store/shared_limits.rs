//! The limits a cluster shares through its database: a connection's rate-limit slow-down,
//! Sheets' per-minute write counts, and the daemons alive (which divide each connection's
//! request limit between them).
//!
//! On sled there is one daemon, whose in-process limits (in `ApiClient` and `SheetsQuota`)
//! are all there is: these calls do nothing there. The rows are transient (a slow-down lasts
//! minutes, a write count one minute, a beat one lease), so `store copy` leaves them out.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Backend, Store, StoreError};

impl Store {
    /// Tells the cluster to hold `connection`'s requests back for `wait` from now: the
    /// longer of this and any slow-down another daemon recorded wins.
    pub(crate) async fn slow_down(&self, connection: &str, wait: Duration) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sled(_) => Ok(()),
            Backend::Postgres(db) => db.slow_down(connection, wait).await,
        }
    }

    /// How much longer the cluster holds `connection`'s requests back, if it does.
    pub(crate) async fn slowed_for(&self, connection: &str) -> Result<Option<Duration>, StoreError> {
        match &self.backend {
            Backend::Sled(_) => Ok(None),
            Backend::Postgres(db) => db.slowed_for(connection).await,
        }
    }

    /// Takes one Sheets write of each `(key, per-minute limit)` for the cluster, all or none:
    /// `None` when taken, else how long until the next minute's counts start. On sled
    /// nothing is counted here (`None`): the daemon's own quota is the only one.
    pub(crate) async fn take_write_permits(&self, limits: &[(&str, u32)]) -> Result<Option<Duration>, StoreError> {
        match &self.backend {
            Backend::Sled(_) => Ok(None),
            Backend::Postgres(db) => db.take_write_permits(limits).await,
        }
    }

    /// Records that the daemon `owner` is alive for `lease` more, and keeps how many daemons
    /// of the cluster are alive for [`live_daemons`](Self::live_daemons).
    pub(crate) async fn beat_daemon(&self, owner: &str, lease: Duration) -> Result<usize, StoreError> {
        let live = match &self.backend {
            Backend::Sled(_) => 1,
            Backend::Postgres(db) => db.beat_daemon(owner, lease).await?,
        };
        self.live_daemons.store(live, Ordering::Relaxed);
        Ok(live)
    }

    /// Removes the stopping daemon `owner` from the daemons alive, so the others' share of
    /// each request limit grows at their next beat rather than after its lease.
    pub(crate) async fn leave_cluster(&self, owner: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sled(_) => Ok(()),
            Backend::Postgres(db) => db.leave(owner).await,
        }
    }

    /// Daemons of the cluster alive at this daemon's last beat: read from memory, never the
    /// database, so a request pays nothing for it. 1 on sled, and in a process that does not
    /// beat (a `run-once` or `backfill` command).
    pub(crate) fn live_daemons(&self) -> usize {
        self.live_daemons.load(Ordering::Relaxed).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_server::TestServer;
    use crate::store::SecretKey;

    /// Two handles on one database, like two daemons, and a plain client for checks.
    async fn two_daemons(server: &TestServer, name: &str) -> (Store, Store, tokio_postgres::Client) {
        let url = server.create_database(name).unwrap();
        let key = SecretKey::generate();
        let a = Store::connect_postgres(&url, &key).await.unwrap();
        let b = Store::connect_postgres(&url, &key).await.unwrap();
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        (a, b, client)
    }

    /// The database's current minute.
    async fn minute(client: &tokio_postgres::Client) -> String {
        let row = client
            .query_one("SELECT date_trunc('minute', clock_timestamp())::text", &[])
            .await
            .unwrap();
        row.get(0)
    }

    /// Runs `check` (given an attempt number to make its keys fresh) until one run falls
    /// within one minute of the database's clock: a run across a minute boundary counts in
    /// two windows and proves nothing.
    async fn within_one_minute(client: &tokio_postgres::Client, mut check: impl AsyncFnMut(u32) -> bool) {
        for attempt in 0..3 {
            let before = minute(client).await;
            let held = check(attempt).await;
            if minute(client).await == before {
                assert!(held, "attempt {attempt}");
                return;
            }
        }
        panic!("three attempts crossed a minute boundary");
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL server binaries"]
    async fn a_slow_down_one_daemon_was_told_holds_the_other_until_the_same_instant() {
        let server = TestServer::start().unwrap();
        let (a, b, _) = two_daemons(&server, "slowdowns").await;
        assert_eq!(b.slowed_for("meta").await.unwrap(), None);
        a.slow_down("meta", Duration::from_secs(60)).await.unwrap();
        b.slow_down("meta", Duration::from_secs(1)).await.unwrap();
        let wait = b.slowed_for("meta").await.unwrap().unwrap();
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
            "the longer wait wins: {wait:?}"
        );
        assert_eq!(a.slowed_for("google").await.unwrap(), None, "per connection");
        b.slow_down("google", Duration::ZERO).await.unwrap();
        assert_eq!(a.slowed_for("google").await.unwrap(), None, "a slow-down that ended");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs PostgreSQL server binaries"]
    async fn two_daemons_together_take_no_more_sheets_writes_a_minute_than_the_quota() {
        let server = TestServer::start().unwrap();
        let (a, b, client) = two_daemons(&server, "writes").await;
        within_one_minute(&client, async |attempt| {
            let (user, project) = (format!("user:ann{attempt}"), format!("project:app{attempt}"));
            let limits = [(user.as_str(), 5), (project.as_str(), 100)];
            let tries = (0..20).map(|i| {
                let store = if i % 2 == 0 { &a } else { &b };
                store.take_write_permits(&limits)
            });
            let answers = futures_util::future::join_all(tries).await;
            let granted = answers.iter().filter(|r| matches!(r, Ok(None))).count();
            let waits: Vec<Duration> = answers.into_iter().filter_map(|r| r.unwrap()).collect();
            granted == 5 && waits.len() == 15 && waits.iter().all(|w| *w <= Duration::from_secs(60))
        })
        .await;
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL server binaries"]
    async fn a_write_refused_by_one_quota_spends_none_of_the_other_and_old_minutes_are_pruned() {
        let server = TestServer::start().unwrap();
        let (a, b, client) = two_daemons(&server, "all_or_none").await;
        client
            .execute(
                "INSERT INTO write_windows VALUES ('user:old', date_trunc('minute', now()) - interval '5 minutes', 60)",
                &[],
            )
            .await
            .unwrap();
        within_one_minute(&client, async |attempt| {
            let (user, small, big) = (
                format!("user:ann{attempt}"),
                format!("project:small{attempt}"),
                format!("project:big{attempt}"),
            );
            let taken = async |store: &Store, project: &str, project_limit| {
                let limits = [(user.as_str(), 3), (project, project_limit)];
                store.take_write_permits(&limits).await.unwrap().is_none()
            };
            // The small project allows 2: the 3rd write is refused and must not count for ann.
            let answers = [
                taken(&a, &small, 2).await,
                taken(&b, &small, 2).await,
                taken(&a, &small, 2).await,
                // ann has written 2 of her 3: one more in another project, then no more.
                taken(&b, &big, 100).await,
                taken(&a, &big, 100).await,
            ];
            answers == [true, true, false, true, false]
        })
        .await;
        let old = client
            .query_one("SELECT count(*) FROM write_windows WHERE key = 'user:old'", &[])
            .await
            .unwrap();
        assert_eq!(
            old.get::<_, i64>(0),
            0,
            "a new minute's first write prunes the old ones"
        );
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL server binaries"]
    async fn daemons_are_counted_while_they_beat_until_they_leave_or_their_lease_runs_out() {
        let server = TestServer::start().unwrap();
        let (a, b, _) = two_daemons(&server, "daemons").await;
        let lease = Duration::from_secs(60);
        assert_eq!(a.live_daemons(), 1, "before any beat");
        assert_eq!(a.beat_daemon("a", lease).await.unwrap(), 1);
        assert_eq!(b.beat_daemon("b", lease).await.unwrap(), 2);
        assert_eq!(a.live_daemons(), 1, "a counts at its own beats, not per request");
        a.beat_daemon("a", lease).await.unwrap();
        assert_eq!(a.live_daemons(), 2);

        // b dies: its last beat had a lease of nothing.
        b.beat_daemon("b", Duration::ZERO).await.unwrap();
        assert_eq!(a.beat_daemon("a", lease).await.unwrap(), 1);
        b.beat_daemon("b", lease).await.unwrap();
        b.leave_cluster("a").await.unwrap();
        assert_eq!(b.beat_daemon("b", lease).await.unwrap(), 1, "a left");
    }
}
