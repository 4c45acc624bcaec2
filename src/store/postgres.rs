//! The PostgreSQL backend: one database shared by every daemon of a cluster.
//!
//! It keeps the same bytes as the sled backend (JSON records, sealed secrets) in one table
//! per record kind, and adds what only a shared database needs: claims on scheduled fires
//! with leases, inserts that are "once" for the whole cluster (`ON CONFLICT DO NOTHING`), and
//! the limits a cluster shares (slow-downs, Sheets write counts, live daemons: see
//! `shared_limits`).
//! The schema is created and migrated at start, in order, under an advisory lock so daemons
//! starting together migrate once; a database migrated by a newer adsync is refused.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, Pool};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use super::{FireClaim, Keyed, StoreError, Timed, MAX_PENDING_PER_CONNECTION, RUNS_KEPT_PER_QUERY};

/// The schema, one migration per entry: entry `i` brings the database to version `i + 1`.
/// Never edit an entry that shipped; append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the records of the sled store, plus fire claims and the key check.
    "CREATE TABLE store_meta (key text PRIMARY KEY, value bytea NOT NULL);
     CREATE TABLE connections (key text PRIMARY KEY, value bytea NOT NULL);
     CREATE TABLE tokens (key text PRIMARY KEY, value bytea NOT NULL);
     CREATE TABLE query_states (key text PRIMARY KEY, value bytea NOT NULL);
     CREATE TABLE notifications (key text PRIMARY KEY, value bytea NOT NULL);
     CREATE TABLE runs (query text NOT NULL, at timestamptz NOT NULL, value bytea NOT NULL,
                        PRIMARY KEY (query, at));
     CREATE TABLE gaps (query text NOT NULL, at timestamptz NOT NULL, value bytea NOT NULL,
                        PRIMARY KEY (query, at));
     CREATE TABLE oauth_states (key text PRIMARY KEY, connection text NOT NULL,
                                created_at timestamptz NOT NULL, value bytea NOT NULL);
     CREATE INDEX oauth_states_by_connection ON oauth_states (connection, created_at);
     CREATE TABLE fire_claims (query text NOT NULL, fire_time timestamptz NOT NULL,
                               owner text NOT NULL, lease_until timestamptz NOT NULL,
                               done boolean NOT NULL DEFAULT false,
                               PRIMARY KEY (query, fire_time));",
    // 2: what a used sign-in came to, shown again when its result page is reloaded.
    "CREATE TABLE oauth_outcomes (key text PRIMARY KEY, value bytea NOT NULL);",
    // 3: the limits a cluster shares: slow-downs by connection, Sheets write counts by
    // (user or project, minute), and the daemons alive (which divide the request limit).
    "CREATE TABLE slowdowns (connection text PRIMARY KEY, until timestamptz NOT NULL);
     CREATE TABLE write_windows (key text NOT NULL, window_start timestamptz NOT NULL,
                                 count integer NOT NULL, PRIMARY KEY (key, window_start));
     CREATE TABLE daemons (owner text PRIMARY KEY, alive_until timestamptz NOT NULL);",
];

/// Key of the advisory lock held while migrating (any constant unique to adsync).
const MIGRATION_LOCK: i64 = 0x6164_7379_6e63_0001;
/// Connections per daemon: runs hold one only for a statement or a short transaction.
const POOL_SIZE: usize = 16;

/// A pool of connections to the cluster's database; cheap to clone.
#[derive(Clone)]
pub(super) struct PgStore {
    pool: Pool,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never printed.
        f.write_str("PgStore")
    }
}

impl PgStore {
    /// Connects to `url` and migrates the schema to this build's version.
    pub(super) async fn connect(url: &str) -> Result<Self, StoreError> {
        let config = tokio_postgres::Config::from_str(url).map_err(|e| StoreError::DatabaseUrl(e.to_string()))?;
        let pool = Pool::builder(Manager::new(config, NoTls))
            .max_size(POOL_SIZE)
            .wait_timeout(Some(Duration::from_secs(30)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .expect("a pool with a runtime always builds");
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// A pooled connection for one operation's statements.
    async fn client(&self) -> Result<Session, StoreError> {
        Ok(Session(self.connection().await?))
    }

    /// A pooled connection as it is, for a transaction or a session lock.
    async fn connection(&self) -> Result<deadpool_postgres::Object, StoreError> {
        Ok(self.pool.get().await?)
    }

    /// Applies the migrations the database has not seen, each in its own transaction.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.connection().await?;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        let applied = self.migrate_locked(&mut client).await;
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await?;
        applied
    }

    async fn migrate_locked(&self, client: &mut deadpool_postgres::Object) -> Result<(), StoreError> {
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                     version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
            )
            .await?;
        let row = client
            .query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[])
            .await?;
        let found: i32 = row.get(0);
        let known = MIGRATIONS.len() as i32;
        if found > known {
            return Err(StoreError::DatabaseNewer { found, known });
        }
        for (version, sql) in (1..).zip(MIGRATIONS).skip(found as usize) {
            let tx = client.transaction().await?;
            tx.batch_execute(sql).await?;
            tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&version])
                .await?;
            tx.commit().await?;
            tracing::info!(version, "Database schema migrated.");
        }
        Ok(())
    }

    /// Fails when the database cannot be read.
    pub(super) async fn check_readable(&self) -> Result<(), StoreError> {
        self.client().await?.execute("SELECT 1", &[]).await?;
        Ok(())
    }

    /// The value of one keyed record.
    pub(super) async fn get(&self, record: Keyed, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let sql = format!("SELECT value FROM {} WHERE key = $1", keyed_table(record));
        let row = self.client().await?.query_opt(&sql, &[&key]).await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Saves one keyed record.
    pub(super) async fn put(&self, record: Keyed, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO {} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            keyed_table(record)
        );
        self.client().await?.execute(&sql, &[&key, &value]).await?;
        Ok(())
    }

    /// Every record of a kind, by key (for copying a store).
    pub(super) async fn entries(&self, record: Keyed) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let sql = format!("SELECT key, value FROM {} ORDER BY key", keyed_table(record));
        let rows = self.client().await?.query(&sql, &[]).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Every run, by query then start (for copying a store).
    pub(super) async fn all_runs(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let rows = self
            .client()
            .await?
            .query("SELECT query, at, value FROM runs ORDER BY query, at", &[])
            .await?;
        Ok(rows.iter().map(timed_row).collect())
    }

    /// Every sealed pending authorization, by state (for copying a store).
    pub(super) async fn oauth_entries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let rows = self
            .client()
            .await?
            .query("SELECT key, value FROM oauth_states ORDER BY key", &[])
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Removes one keyed record.
    pub(super) async fn remove(&self, record: Keyed, key: &str) -> Result<(), StoreError> {
        let sql = format!("DELETE FROM {} WHERE key = $1", keyed_table(record));
        self.client().await?.execute(&sql, &[&key]).await?;
        Ok(())
    }

    /// Saves a keyed record unless one exists, atomically for the cluster; whether it was saved.
    pub(super) async fn put_new(&self, record: Keyed, key: &str, value: Vec<u8>) -> Result<bool, StoreError> {
        let sql = format!(
            "INSERT INTO {} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            keyed_table(record)
        );
        Ok(self.client().await?.execute(&sql, &[&key, &value]).await? == 1)
    }

    /// The key check value, saved by the first daemon; the one stored afterwards.
    pub(super) async fn key_check(&self, candidate: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO store_meta (key, value) VALUES ('key_check', $1) ON CONFLICT (key) DO NOTHING",
                &[&candidate],
            )
            .await?;
        let row = client
            .query_one("SELECT value FROM store_meta WHERE key = 'key_check'", &[])
            .await?;
        Ok(row.get(0))
    }

    /// Appends a run, pruning the query's oldest beyond [`RUNS_KEPT_PER_QUERY`].
    pub(super) async fn push_run(&self, query: &str, started: DateTime<Utc>, value: Vec<u8>) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO runs (query, at, value) VALUES ($1, $2, $3)
                 ON CONFLICT (query, at) DO UPDATE SET value = EXCLUDED.value",
                &[&query, &started, &value],
            )
            .await?;
        // The oldest run kept is this many after the newest.
        let newest_to_oldest_kept = RUNS_KEPT_PER_QUERY as i64 - 1;
        client
            .execute(
                "DELETE FROM runs WHERE query = $1 AND at < (
                     SELECT at FROM runs WHERE query = $1 ORDER BY at DESC OFFSET $2 LIMIT 1)",
                &[&query, &newest_to_oldest_kept],
            )
            .await?;
        Ok(())
    }

    /// A query's runs (or gaps), oldest first, with their keys for error messages.
    pub(super) async fn list(&self, record: Timed, query: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let sql = format!(
            "SELECT query, at, value FROM {} WHERE query = $1 ORDER BY at",
            timed_table(record)
        );
        let rows = self.client().await?.query(&sql, &[&query]).await?;
        Ok(rows.iter().map(timed_row).collect())
    }

    /// Every gap, by query then fire.
    pub(super) async fn all_gaps(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let rows = self
            .client()
            .await?
            .query("SELECT query, at, value FROM gaps ORDER BY query, at", &[])
            .await?;
        Ok(rows.iter().map(timed_row).collect())
    }

    /// The most recent run of a query.
    pub(super) async fn last_run(&self, query: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT query, at, value FROM runs WHERE query = $1 ORDER BY at DESC LIMIT 1",
                &[&query],
            )
            .await?;
        Ok(row.as_ref().map(timed_row))
    }

    /// Saves a gap; with `only_new`, only when that fire has none (once for the cluster).
    /// Whether it was saved.
    pub(super) async fn put_gap(
        &self,
        query: &str,
        fire: DateTime<Utc>,
        value: Vec<u8>,
        only_new: bool,
    ) -> Result<bool, StoreError> {
        let sql = if only_new {
            "INSERT INTO gaps (query, at, value) VALUES ($1, $2, $3) ON CONFLICT (query, at) DO NOTHING"
        } else {
            "INSERT INTO gaps (query, at, value) VALUES ($1, $2, $3)
             ON CONFLICT (query, at) DO UPDATE SET value = EXCLUDED.value"
        };
        Ok(self.client().await?.execute(sql, &[&query, &fire, &value]).await? == 1)
    }

    /// Keeps a sealed pending authorization, evicting the connection's oldest beyond
    /// [`MAX_PENDING_PER_CONNECTION`].
    pub(super) async fn put_oauth_state(
        &self,
        state: &str,
        connection: &str,
        created_at: DateTime<Utc>,
        sealed: Vec<u8>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO oauth_states (key, connection, created_at, value) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                &[&state, &connection, &created_at, &sealed],
            )
            .await?;
        let keep = MAX_PENDING_PER_CONNECTION as i64;
        client
            .execute(
                "DELETE FROM oauth_states WHERE connection = $1 AND key NOT IN (
                     SELECT key FROM oauth_states WHERE connection = $1
                     ORDER BY created_at DESC, key DESC LIMIT $2)",
                &[&connection, &keep],
            )
            .await?;
        Ok(())
    }

    /// Removes and returns the sealed pending authorization of `state`: whichever daemon
    /// asks first gets it.
    pub(super) async fn take_oauth_state(&self, state: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt("DELETE FROM oauth_states WHERE key = $1 RETURNING value", &[&state])
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// How many pending authorizations are kept.
    pub(super) async fn pending_oauth_states(&self) -> Result<usize, StoreError> {
        let row = self
            .client()
            .await?
            .query_one("SELECT count(*) FROM oauth_states", &[])
            .await?;
        Ok(row.get::<_, i64>(0) as usize)
    }

    /// Drops the pending authorizations `expired` says have expired.
    pub(super) async fn prune_oauth_states(
        &self,
        expired: &(dyn Fn(&str, &[u8]) -> bool + Sync),
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let rows = client.query("SELECT key, value FROM oauth_states", &[]).await?;
        let gone: Vec<String> = rows
            .iter()
            .filter(|r| expired(r.get(0), r.get(1)))
            .map(|r| r.get(0))
            .collect();
        if !gone.is_empty() {
            client
                .execute("DELETE FROM oauth_states WHERE key = ANY($1)", &[&gone])
                .await?;
        }
        Ok(())
    }

    /// Waits for the cluster-wide lock on refreshing `connection`'s token: a session
    /// advisory lock, held until the returned guard is dropped.
    pub(super) async fn lock_refresh(&self, connection: &str) -> Result<SessionLock, StoreError> {
        let client = self.connection().await?;
        client
            .execute(
                "SELECT pg_advisory_lock(hashtextextended('adsync refresh ' || $1, 0))",
                &[&connection],
            )
            .await?;
        Ok(SessionLock(Some(client)))
    }

    /// Claims `claim`'s fire for `lease`: true when it had no claim, or its claim was never
    /// finished and its lease has run out (its owner died).
    pub(super) async fn claim_fire(&self, claim: FireClaim<'_>, lease: Duration) -> Result<bool, StoreError> {
        self.execute_claim(
            "INSERT INTO fire_claims (query, fire_time, owner, lease_until)
             VALUES ($1, $2, $3, clock_timestamp() + $4 * interval '1 millisecond')
             ON CONFLICT (query, fire_time) DO UPDATE
                 SET owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until
                 WHERE NOT fire_claims.done AND fire_claims.lease_until < clock_timestamp()",
            claim,
            lease,
        )
        .await
    }

    /// Extends a claim by `lease`; false when another daemon took the fire over.
    pub(super) async fn renew_claim(&self, claim: FireClaim<'_>, lease: Duration) -> Result<bool, StoreError> {
        self.execute_claim(
            "UPDATE fire_claims SET lease_until = clock_timestamp() + $4 * interval '1 millisecond'
             WHERE query = $1 AND fire_time = $2 AND owner = $3 AND NOT done",
            claim,
            lease,
        )
        .await
    }

    /// Marks a fire done: nobody takes it over any more.
    pub(super) async fn finish_claim(&self, claim: FireClaim<'_>) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "UPDATE fire_claims SET done = true WHERE query = $1 AND fire_time = $2 AND owner = $3",
                &[&claim.query, &claim.fire, &claim.owner],
            )
            .await?;
        Ok(())
    }

    /// Runs a claim statement (`$1` query, `$2` fire, `$3` owner, `$4` the lease in ms);
    /// whether it changed a row. The lease is the database's clock, which every daemon shares.
    async fn execute_claim(&self, sql: &str, claim: FireClaim<'_>, lease: Duration) -> Result<bool, StoreError> {
        let changed = self
            .client()
            .await?
            .execute(sql, &[&claim.query, &claim.fire, &claim.owner, &millis(lease)])
            .await?;
        Ok(changed == 1)
    }

    /// Fires of `queries` whose owner's lease ran out before they were done.
    pub(super) async fn abandoned_fires(&self, queries: &[String]) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT query, fire_time FROM fire_claims
                 WHERE NOT done AND lease_until < clock_timestamp() AND query = ANY($1)
                 ORDER BY fire_time",
                &[&queries],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// The fires of `query` in `(after, until]` that some daemon claimed.
    pub(super) async fn claimed_fires(
        &self,
        query: &str,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT fire_time FROM fire_claims WHERE query = $1 AND fire_time > $2 AND fire_time <= $3",
                &[&query, &after, &until],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Holds `connection`'s requests back for `wait` from now (the database's clock), unless
    /// another daemon already holds them back longer.
    pub(super) async fn slow_down(&self, connection: &str, wait: Duration) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO slowdowns (connection, until)
                 VALUES ($1, clock_timestamp() + $2 * interval '1 millisecond')
                 ON CONFLICT (connection) DO UPDATE SET until = GREATEST(slowdowns.until, EXCLUDED.until)",
                &[&connection, &millis(wait)],
            )
            .await?;
        Ok(())
    }

    /// How much longer `connection`'s requests are held back, if they are. Measured on the
    /// database's clock, so daemons whose clocks disagree still wait until the same instant.
    pub(super) async fn slowed_for(&self, connection: &str) -> Result<Option<Duration>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT (extract(epoch FROM until - clock_timestamp()) * 1000)::float8
                 FROM slowdowns WHERE connection = $1 AND until > clock_timestamp()",
                &[&connection],
            )
            .await?;
        Ok(row.map(|r| from_millis(r.get(0))))
    }

    /// Takes one write of each `(key, limit)` in the current minute, all or none: `None` when
    /// taken, else how long until the next minute. Each count is one row per (key, minute)
    /// raised only below its limit, atomically for the cluster (a second daemon's increment
    /// waits on the row lock and sees the first's count). Keys are locked in the order given,
    /// the same for every caller, so two permits never deadlock.
    pub(super) async fn take_write_permits(&self, limits: &[(&str, u32)]) -> Result<Option<Duration>, StoreError> {
        let mut client = self.connection().await?;
        let tx = client.transaction().await?;
        let mut opened_a_window = false;
        for (key, limit) in limits {
            // `now()` is the transaction's start: every key counts in the same minute.
            let counted = tx
                .query_opt(
                    "INSERT INTO write_windows (key, window_start, count)
                     VALUES ($1, date_trunc('minute', now()), 1)
                     ON CONFLICT (key, window_start) DO UPDATE SET count = write_windows.count + 1
                         WHERE write_windows.count < $2
                     RETURNING count",
                    &[key, &(*limit as i32)],
                )
                .await?;
            match counted {
                Some(row) => opened_a_window |= row.get::<_, i32>(0) == 1,
                None => {
                    let row = tx
                        .query_one(
                            "SELECT (extract(epoch FROM date_trunc('minute', now()) + interval '1 minute'
                                     - clock_timestamp()) * 1000)::float8",
                            &[],
                        )
                        .await?;
                    tx.rollback().await?;
                    return Ok(Some(from_millis(row.get(0))));
                }
            }
        }
        tx.commit().await?;
        if opened_a_window {
            // Once a minute per key: the minutes before this one count for nothing any more.
            client
                .execute(
                    "DELETE FROM write_windows WHERE window_start < date_trunc('minute', now())",
                    &[],
                )
                .await?;
        }
        Ok(None)
    }

    /// Records that `owner` is alive for `lease` more; how many daemons are alive, itself
    /// included. One statement: the count is taken before the beat lands, so `owner` is
    /// counted by hand. Rows of daemons dead for a day are dropped on the way.
    pub(super) async fn beat_daemon(&self, owner: &str, lease: Duration) -> Result<usize, StoreError> {
        let row = self
            .client()
            .await?
            .query_one(
                "WITH beat AS (
                     INSERT INTO daemons (owner, alive_until)
                     VALUES ($1, clock_timestamp() + $2 * interval '1 millisecond')
                     ON CONFLICT (owner) DO UPDATE SET alive_until = EXCLUDED.alive_until),
                 gone AS (DELETE FROM daemons WHERE alive_until < clock_timestamp() - interval '1 day')
                 SELECT count(*) FROM daemons WHERE alive_until > clock_timestamp() AND owner <> $1",
                &[&owner, &millis(lease)],
            )
            .await?;
        Ok(row.get::<_, i64>(0) as usize + 1)
    }

    /// Removes `owner` from the daemons alive (it is stopping).
    pub(super) async fn leave(&self, owner: &str) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute("DELETE FROM daemons WHERE owner = $1", &[&owner])
            .await?;
        Ok(())
    }
}

/// A duration as the float milliseconds statements multiply `interval '1 millisecond'` by.
fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Milliseconds the database computed (never negative in a `Duration`).
fn from_millis(ms: f64) -> Duration {
    Duration::from_secs_f64(ms.max(0.0) / 1000.0)
}

/// A pooled connection that prepares each statement once and keeps it (deadpool's statement
/// cache, per connection). tokio-postgres sends a statement given as text in two round trips,
/// parse then execute; a kept one needs only the second, which halves the round trips of a
/// run (every store operation is one or two statements of a fixed text).
struct Session(deadpool_postgres::Object);

impl Session {
    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, tokio_postgres::Error> {
        let statement = self.0.prepare_cached(sql).await?;
        self.0.execute(&statement, params).await
    }

    async fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, tokio_postgres::Error> {
        let statement = self.0.prepare_cached(sql).await?;
        self.0.query(&statement, params).await
    }

    async fn query_one(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row, tokio_postgres::Error> {
        let statement = self.0.prepare_cached(sql).await?;
        self.0.query_one(&statement, params).await
    }

    async fn query_opt(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>, tokio_postgres::Error> {
        let statement = self.0.prepare_cached(sql).await?;
        self.0.query_opt(&statement, params).await
    }
}

/// A connection holding a session advisory lock. Dropping it closes the connection instead
/// of returning it to the pool, which releases the lock whatever path the holder left by
/// (an unlock statement cannot be awaited in `drop`); locks are taken once per token
/// refresh, so the reconnect this costs is rare.
pub(super) struct SessionLock(Option<deadpool_postgres::Object>);

impl Drop for SessionLock {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

fn keyed_table(record: Keyed) -> &'static str {
    match record {
        Keyed::Connection => "connections",
        Keyed::Token => "tokens",
        Keyed::QueryState => "query_states",
        Keyed::Notification => "notifications",
        Keyed::OauthOutcome => "oauth_outcomes",
    }
}

fn timed_table(record: Timed) -> &'static str {
    match record {
        Timed::Run => "runs",
        Timed::Gap => "gaps",
    }
}

fn timed_row(row: &Row) -> (String, Vec<u8>) {
    let query: String = row.get(0);
    let at: DateTime<Utc> = row.get(1);
    (format!("{query}@{}", at.to_rfc3339()), row.get(2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_server::TestServer;

    #[tokio::test]
    #[ignore = "needs PostgreSQL server binaries"]
    async fn a_statement_run_again_on_a_connection_is_kept_prepared_not_parsed_again() {
        let server = TestServer::start().unwrap();
        let store = PgStore::connect(&server.create_database("cache").unwrap())
            .await
            .unwrap();
        let session = store.client().await.unwrap();
        let sql = "SELECT value FROM tokens WHERE key = $1";
        for _ in 0..3 {
            session.query_opt(sql, &[&"meta"]).await.unwrap();
        }
        let kept = session
            .query_one(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1",
                &[&sql],
            )
            .await
            .unwrap();
        assert_eq!(kept.get::<_, i64>(0), 1, "prepared once and kept");
    }
}
