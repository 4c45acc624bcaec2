//! The sled backend: one embedded database in the data directory, one process at a time.
//!
//! It keeps bytes the layer above encoded (JSON records, sealed secrets) in typed trees.
//! sled allows one process per database, so while the daemon runs, CLI commands talk to it
//! over HTTP; [`StoreError::Locked`] is how they find out.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Keyed, StoreError, Timed, MAX_PENDING_PER_CONNECTION, RUNS_KEPT_PER_QUERY, SCHEMA_VERSION};

const SCHEMA_KEY: &[u8] = b"schema_version";
/// sled's page cache size.
const STORE_CACHE_BYTES: u64 = 8 * 1024 * 1024;
const OAUTH_STATES: &str = "oauth_states";
/// Pending states by connection, oldest first: `connection \0 created_at state` → state.
const OAUTH_STATES_BY_CONNECTION: &str = "oauth_states_by_connection";

/// The sled database and its trees; cheap to clone.
#[derive(Clone, Debug)]
pub(super) struct SledStore {
    db: sled::Db,
    connections: sled::Tree,
    tokens: sled::Tree,
    queries: sled::Tree,
    runs: sled::Tree,
    gaps: sled::Tree,
    oauth_states: sled::Tree,
    oauth_states_by_connection: sled::Tree,
    notifications: sled::Tree,
    oauth_outcomes: sled::Tree,
    flushes: Arc<Flushes>,
}

/// Bookkeeping that lets concurrent [`SledStore::flush`] calls share one disk flush.
#[derive(Debug, Default)]
struct Flushes {
    lock: tokio::sync::Mutex<()>,
    /// Flush requests so far (each taken after its caller's writes).
    requested: AtomicU64,
    /// Every request up to this number is on disk.
    completed: AtomicU64,
}

impl SledStore {
    /// Opens (creating if needed) the database in `data_dir`.
    pub(super) fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(data_dir.join("store"))
            // No background flusher: adsync flushes where durability matters, and a flusher
            // thread would keep the file lock for up to its period after the store is dropped,
            // so a restart in the same process could find the store "in use".
            .flush_every_ms(None)
            // sled caches up to 1 GB by default; adsync's working set is small records read
            // once per run, and an always-on daemon must stay small.
            .cache_capacity(STORE_CACHE_BYTES)
            .open()
            .map_err(|e| match e {
                sled::Error::Io(ref io) if io.to_string().contains("could not acquire lock") => {
                    StoreError::Locked(data_dir.to_path_buf())
                }
                other => StoreError::Sled(other),
            })?;
        match db.get(SCHEMA_KEY)? {
            None => {
                db.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
                db.flush()?;
            }
            Some(bytes) => {
                let found = <[u8; 4]>::try_from(bytes.as_ref()).map(u32::from_be_bytes).unwrap_or(0);
                if found != SCHEMA_VERSION {
                    return Err(StoreError::SchemaMismatch {
                        path: data_dir.to_path_buf(),
                        found,
                        expected: SCHEMA_VERSION,
                    });
                }
            }
        }
        Ok(Self {
            connections: db.open_tree(Keyed::Connection.name())?,
            tokens: db.open_tree(Keyed::Token.name())?,
            queries: db.open_tree(Keyed::QueryState.name())?,
            runs: db.open_tree(Timed::Run.name())?,
            gaps: db.open_tree(Timed::Gap.name())?,
            oauth_states: db.open_tree(OAUTH_STATES)?,
            oauth_states_by_connection: db.open_tree(OAUTH_STATES_BY_CONNECTION)?,
            notifications: db.open_tree(Keyed::Notification.name())?,
            oauth_outcomes: db.open_tree(Keyed::OauthOutcome.name())?,
            flushes: Arc::default(),
            db,
        })
    }

    /// Writes everything to disk.
    ///
    /// One flush runs at a time, on a blocking thread, and a caller whose writes a flush
    /// that started after them already covered returns without another: a thousand runs
    /// finishing together cost a few flushes, not a thousand (sled's own `flush_async`
    /// stalls when that many are in flight).
    pub(super) async fn flush(&self) -> Result<(), StoreError> {
        let flushes = &self.flushes;
        let ticket = flushes.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let _one_at_a_time = flushes.lock.lock().await;
        if flushes.completed.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        let covers = flushes.requested.load(Ordering::SeqCst);
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|e| StoreError::Sled(sled::Error::Io(std::io::Error::other(e))))??;
        flushes.completed.fetch_max(covers, Ordering::SeqCst);
        Ok(())
    }

    /// Fails when the database cannot be read.
    pub(super) fn check_readable(&self) -> Result<(), StoreError> {
        self.queries.first()?;
        Ok(())
    }

    fn tree(&self, record: Keyed) -> &sled::Tree {
        match record {
            Keyed::Connection => &self.connections,
            Keyed::Token => &self.tokens,
            Keyed::QueryState => &self.queries,
            Keyed::Notification => &self.notifications,
            Keyed::OauthOutcome => &self.oauth_outcomes,
        }
    }

    fn timed_tree(&self, record: Timed) -> &sled::Tree {
        match record {
            Timed::Run => &self.runs,
            Timed::Gap => &self.gaps,
        }
    }

    /// The value of one keyed record.
    pub(super) fn get(&self, record: Keyed, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tree(record).get(key)?.map(|v| v.to_vec()))
    }

    /// Saves one keyed record.
    pub(super) fn put(&self, record: Keyed, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
        self.tree(record).insert(key, value)?;
        Ok(())
    }

    /// Every record of a kind, by key (for copying a store).
    pub(super) fn entries(&self, record: Keyed) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        collect(self.tree(record).iter())
    }

    /// Every run, by query then start (for copying a store).
    pub(super) fn all_runs(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        collect(self.runs.iter())
    }

    /// Every sealed pending authorization, by state (for copying a store).
    pub(super) fn oauth_entries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        collect(self.oauth_states.iter())
    }

    /// Removes one keyed record.
    pub(super) fn remove(&self, record: Keyed, key: &str) -> Result<(), StoreError> {
        self.tree(record).remove(key)?;
        Ok(())
    }

    /// Saves a keyed record unless one exists; whether it was saved.
    pub(super) fn put_new(&self, record: Keyed, key: &str, value: Vec<u8>) -> Result<bool, StoreError> {
        Ok(self
            .tree(record)
            .compare_and_swap(key, None::<&[u8]>, Some(value))?
            .is_ok())
    }

    /// Appends a run, pruning the query's oldest beyond [`RUNS_KEPT_PER_QUERY`].
    pub(super) fn push_run(&self, query: &str, started: DateTime<Utc>, value: Vec<u8>) -> Result<(), StoreError> {
        self.runs.insert(timed_key(query, started), value)?;
        let prefix = query_prefix(query);
        let count = self.runs.scan_prefix(&prefix).keys().count();
        if count > RUNS_KEPT_PER_QUERY {
            for old in self.runs.scan_prefix(&prefix).keys().take(count - RUNS_KEPT_PER_QUERY) {
                self.runs.remove(old?)?;
            }
        }
        Ok(())
    }

    /// A query's runs (or gaps), oldest first, with their keys for error messages.
    pub(super) fn list(&self, record: Timed, query: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        collect(self.timed_tree(record).scan_prefix(query_prefix(query)))
    }

    /// Every gap, by query then fire.
    pub(super) fn all_gaps(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        collect(self.gaps.iter())
    }

    /// The most recent run of a query.
    pub(super) fn last_run(&self, query: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        match self.runs.scan_prefix(query_prefix(query)).next_back() {
            None => Ok(None),
            Some(item) => {
                let (key, value) = item?;
                Ok(Some((String::from_utf8_lossy(&key).into_owned(), value.to_vec())))
            }
        }
    }

    /// Saves a gap; with `only_new`, only when that fire has none. Whether it was saved.
    pub(super) fn put_gap(
        &self,
        query: &str,
        fire: DateTime<Utc>,
        value: Vec<u8>,
        only_new: bool,
    ) -> Result<bool, StoreError> {
        let key = timed_key(query, fire);
        if only_new {
            return Ok(self.gaps.compare_and_swap(key, None::<&[u8]>, Some(value))?.is_ok());
        }
        self.gaps.insert(key, value)?;
        Ok(true)
    }

    /// Keeps a sealed pending authorization, evicting the connection's oldest beyond
    /// [`MAX_PENDING_PER_CONNECTION`].
    pub(super) fn put_oauth_state(
        &self,
        state: &str,
        connection: &str,
        created_at: DateTime<Utc>,
        sealed: Vec<u8>,
    ) -> Result<(), StoreError> {
        self.oauth_states.insert(state, sealed)?;
        self.oauth_states_by_connection
            .insert(pending_key(connection, created_at, state), state.as_bytes())?;
        let keys = self
            .oauth_states_by_connection
            .scan_prefix(query_prefix(connection))
            .keys()
            .collect::<Result<Vec<_>, _>>()?;
        let excess = keys.len().saturating_sub(MAX_PENDING_PER_CONNECTION);
        for key in &keys[..excess] {
            if let Some(old) = self.oauth_states_by_connection.remove(key)? {
                self.oauth_states.remove(old)?;
            }
        }
        Ok(())
    }

    /// Removes and returns the sealed pending authorization of `state`.
    pub(super) fn take_oauth_state(&self, state: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(sealed) = self.oauth_states.remove(state)? else {
            return Ok(None);
        };
        self.drop_orphaned_index_entries()?;
        Ok(Some(sealed.to_vec()))
    }

    /// How many pending authorizations are kept.
    pub(super) fn pending_oauth_states(&self) -> usize {
        self.oauth_states.len()
    }

    /// Drops the pending authorizations `expired` says have expired.
    pub(super) fn prune_oauth_states(&self, expired: &dyn Fn(&str, &[u8]) -> bool) -> Result<(), StoreError> {
        for item in self.oauth_states.iter() {
            let (key, sealed) = item?;
            if expired(&String::from_utf8_lossy(&key), &sealed) {
                self.oauth_states.remove(key)?;
            }
        }
        self.drop_orphaned_index_entries()
    }

    /// Index entries whose state is gone (used, evicted or expired).
    fn drop_orphaned_index_entries(&self) -> Result<(), StoreError> {
        for item in self.oauth_states_by_connection.iter() {
            let (key, state) = item?;
            if !self.oauth_states.contains_key(&state)? {
                self.oauth_states_by_connection.remove(key)?;
            }
        }
        Ok(())
    }

    #[cfg(test)]
    pub(super) fn pending_index_len(&self) -> usize {
        self.oauth_states_by_connection.len()
    }

    /// The raw database, for tests that write what an older or newer adsync would.
    #[cfg(test)]
    pub(super) fn raw(dir: &Path) -> sled::Db {
        sled::Config::new()
            .path(dir.join("store"))
            .flush_every_ms(None)
            .open()
            .unwrap()
    }

    #[cfg(test)]
    pub(super) const SCHEMA_KEY: &'static [u8] = SCHEMA_KEY;
}

/// A pending state's key in the by-connection index: ordered by when it was made.
fn pending_key(connection: &str, created_at: DateTime<Utc>, state: &str) -> Vec<u8> {
    let mut key = query_prefix(connection);
    // Big-endian with the sign bit flipped sorts like the instant itself.
    let millis = created_at.timestamp_millis() as u64 ^ (1 << 63);
    key.extend_from_slice(&millis.to_be_bytes());
    key.extend_from_slice(state.as_bytes());
    key
}

/// `name \0 instant`: a query's runs and gaps sort by time under its prefix.
fn timed_key(name: &str, at: DateTime<Utc>) -> Vec<u8> {
    let mut key = query_prefix(name);
    key.extend_from_slice(&at.timestamp_micros().to_be_bytes());
    key
}

fn query_prefix(name: &str) -> Vec<u8> {
    let mut prefix = name.as_bytes().to_vec();
    prefix.push(0);
    prefix
}

fn collect(items: sled::Iter) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    items
        .map(|item| {
            let (key, value) = item?;
            Ok((String::from_utf8_lossy(&key).into_owned(), value.to_vec()))
        })
        .collect()
}
