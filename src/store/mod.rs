//! The sled store: typed trees for connections, tokens, query state, run history and gaps.
//!
//! One sled database in the data directory. sled allows one process per database, so while
//! the daemon runs, CLI commands talk to it over HTTP; [`StoreError::Locked`] is how they
//! find out. Values are JSON; tokens are additionally sealed with [`crypto::Cipher`].

pub(crate) mod crypto;
mod records;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use crypto::{Cipher, CryptoError, SecretKey};
pub use records::{
    BrokenQuery, ConnectionState, ConnectionStatus, Gap, GapState, Identity, Outcome, PendingState, QueryFailure,
    QueryPause, QueryState, RunRecord, TokenSet,
};

/// The schema this build writes. Bump it with a migration when a record changes shape.
pub(crate) const SCHEMA_VERSION: u32 = 1;
const SCHEMA_KEY: &[u8] = b"schema_version";
/// Run records kept per query; older ones are pruned.
pub(crate) const RUNS_KEPT_PER_QUERY: usize = 500;

/// Why the store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (normally the running daemon) holds the database.
    #[error("the store in {0} is in use by another process (is `adsync run` running?)")]
    Locked(PathBuf),
    /// The database was written by a different schema version.
    #[error("the store in {path} has schema version {found}, this adsync understands {expected}: use a matching adsync version or move the data directory away")]
    SchemaMismatch {
        /// The data directory.
        path: PathBuf,
        /// Version found in the store.
        found: u32,
        /// Version this build writes.
        expected: u32,
    },
    /// A record does not decode.
    #[error("corrupt record {key:?} in tree {tree}: {reason}")]
    Corrupt {
        /// Tree name.
        tree: &'static str,
        /// Record key.
        key: String,
        /// Decoder message.
        reason: String,
    },
    /// Secret sealing failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// sled itself failed.
    #[error("store error: {0}")]
    Sled(#[from] sled::Error),
}

/// Handle to the store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    db: sled::Db,
    connections: sled::Tree,
    tokens: sled::Tree,
    queries: sled::Tree,
    runs: sled::Tree,
    gaps: sled::Tree,
    oauth_states: sled::Tree,
    /// Pending states by connection, oldest first: `connection \0 created_at state` → state.
    oauth_states_by_connection: sled::Tree,
    /// What a used state's sign-in came to, kept a while so reloading the page shows it.
    oauth_outcomes: sled::Tree,
    notifications: sled::Tree,
    cipher: Cipher,
    link_key: [u8; 32],
    flushes: Arc<Flushes>,
}

/// Bookkeeping that lets concurrent [`Store::flush`] calls share one disk flush.
#[derive(Debug, Default)]
struct Flushes {
    lock: tokio::sync::Mutex<()>,
    /// Flush requests so far (each taken after its caller's writes).
    requested: AtomicU64,
    /// Every request up to this number is on disk.
    completed: AtomicU64,
}

const CONNECTIONS: &str = "connections";
const TOKENS: &str = "tokens";
const QUERIES: &str = "query_state";
const RUNS: &str = "runs";
const GAPS: &str = "gaps";
const OAUTH_STATES: &str = "oauth_states";
const OAUTH_STATES_BY_CONNECTION: &str = "oauth_states_by_connection";
const OAUTH_OUTCOMES: &str = "oauth_outcomes";

/// Pending authorizations kept per connection; following a link again evicts the oldest.
/// A person needs one, a few tabs a few more; a link followed in a loop must not grow the
/// store (or the work per request) without end. Only configured connections get states,
/// so the total is bounded too.
pub(crate) const MAX_PENDING_PER_CONNECTION: usize = 8;
const NOTIFICATIONS: &str = "notifications";

impl Store {
    /// Opens (creating if needed) the store in `data_dir`, with the secret key from the
    /// environment or the key file there.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let key = SecretKey::load_or_create(data_dir)?;
        Self::open_with_key(data_dir, &key)
    }

    /// Opens the store with an explicit key.
    pub(crate) fn open_with_key(data_dir: &Path, key: &SecretKey) -> Result<Self, StoreError> {
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
            connections: db.open_tree(CONNECTIONS)?,
            tokens: db.open_tree(TOKENS)?,
            queries: db.open_tree(QUERIES)?,
            runs: db.open_tree(RUNS)?,
            gaps: db.open_tree(GAPS)?,
            oauth_states: db.open_tree(OAUTH_STATES)?,
            oauth_states_by_connection: db.open_tree(OAUTH_STATES_BY_CONNECTION)?,
            oauth_outcomes: db.open_tree(OAUTH_OUTCOMES)?,
            notifications: db.open_tree(NOTIFICATIONS)?,
            cipher: Cipher::new(key),
            link_key: key.derive(LINK_KEY_PURPOSE),
            flushes: Arc::default(),
            db,
        })
    }

    /// Writes everything to disk. Call before acting on a value that must survive a crash.
    ///
    /// One flush runs at a time, on a blocking thread, and a caller whose writes a flush
    /// that started after them already covered returns without another: a thousand runs
    /// finishing together cost a few flushes, not a thousand (sled's own `flush_async`
    /// stalls when that many are in flight).
    pub async fn flush(&self) -> Result<(), StoreError> {
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

    /// Fails when the database cannot be read (for the readiness probe).
    pub(crate) fn check_readable(&self) -> Result<(), StoreError> {
        self.queries.first()?;
        Ok(())
    }

    /// The stored state of a connection.
    pub fn connection(&self, id: &str) -> Result<Option<ConnectionState>, StoreError> {
        get_json(&self.connections, CONNECTIONS, id)
    }

    /// Saves a connection's state.
    pub(crate) fn put_connection(&self, id: &str, state: &ConnectionState) -> Result<(), StoreError> {
        put_json(&self.connections, id, state)
    }

    /// The decrypted token set of a connection.
    pub fn token(&self, connection: &str) -> Result<Option<TokenSet>, StoreError> {
        let Some(sealed) = self.tokens.get(connection)? else {
            return Ok(None);
        };
        let plain = self.cipher.open(&token_context(connection), &sealed)?;
        decode(TOKENS, connection, &plain).map(Some)
    }

    /// Seals and saves a connection's tokens, and waits until they are on disk: a rotated
    /// refresh token must be durable before the access token that came with it is used.
    pub(crate) async fn put_token(&self, connection: &str, token: &TokenSet) -> Result<(), StoreError> {
        let plain = serde_json::to_vec(token).expect("token sets always serialize");
        let sealed = self.cipher.seal(&token_context(connection), &plain);
        self.tokens.insert(connection, sealed)?;
        self.flush().await
    }

    /// The scheduling state of a query.
    pub fn query_state(&self, query: &str) -> Result<Option<QueryState>, StoreError> {
        get_json(&self.queries, QUERIES, query)
    }

    /// Saves a query's scheduling state.
    pub(crate) fn put_query_state(&self, query: &str, state: &QueryState) -> Result<(), StoreError> {
        put_json(&self.queries, query, state)
    }

    /// Appends a run record, pruning the query's oldest beyond [`RUNS_KEPT_PER_QUERY`].
    pub(crate) fn record_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let mut key = run_prefix(&run.query);
        key.extend_from_slice(&run.started.timestamp_micros().to_be_bytes());
        put_json(&self.runs, key, run)?;
        let prefix = run_prefix(&run.query);
        let count = self.runs.scan_prefix(&prefix).keys().count();
        if count > RUNS_KEPT_PER_QUERY {
            for old in self.runs.scan_prefix(&prefix).keys().take(count - RUNS_KEPT_PER_QUERY) {
                self.runs.remove(old?)?;
            }
        }
        Ok(())
    }

    /// A query's runs, oldest first.
    pub fn runs(&self, query: &str) -> Result<Vec<RunRecord>, StoreError> {
        scan(RUNS, self.runs.scan_prefix(run_prefix(query)))
    }

    /// The most recent run of a query.
    pub fn last_run(&self, query: &str) -> Result<Option<RunRecord>, StoreError> {
        match self.runs.scan_prefix(run_prefix(query)).next_back() {
            None => Ok(None),
            Some(item) => {
                let (key, value) = item?;
                decode(RUNS, &String::from_utf8_lossy(&key), &value).map(Some)
            }
        }
    }

    /// Records a gap, unless that query's fire already has one (a fire is one gap however
    /// often it is looked at).
    pub fn record_gap(&self, gap: &Gap) -> Result<bool, StoreError> {
        let key = gap_key(&gap.query, gap.fire_time);
        if self.gaps.contains_key(&key)? {
            return Ok(false);
        }
        put_json(&self.gaps, key, gap)?;
        Ok(true)
    }

    /// A query's gaps, oldest fire first.
    pub fn gaps(&self, query: &str) -> Result<Vec<Gap>, StoreError> {
        scan(GAPS, self.gaps.scan_prefix(run_prefix(query)))
    }

    /// Every gap, by query then fire.
    pub fn all_gaps(&self) -> Result<Vec<Gap>, StoreError> {
        scan(GAPS, self.gaps.iter())
    }

    /// Saves a changed gap (same query and fire).
    pub(crate) fn put_gap(&self, gap: &Gap) -> Result<(), StoreError> {
        put_json(&self.gaps, gap_key(&gap.query, gap.fire_time), gap)
    }

    /// The key reconnect links are signed with.
    pub fn link_key(&self) -> &[u8; 32] {
        &self.link_key
    }

    /// Keeps a pending authorization under its `state` (sealed: it holds the PKCE verifier).
    pub(crate) async fn put_oauth_state(&self, state: &str, pending: &PendingState) -> Result<(), StoreError> {
        let plain = serde_json::to_vec(pending).expect("pending states always serialize");
        let sealed = self.cipher.seal(&oauth_context(state), &plain);
        self.oauth_states.insert(state, sealed)?;
        self.oauth_states_by_connection.insert(
            pending_key(&pending.connection, pending.created_at, state),
            state.as_bytes(),
        )?;
        let keys = self
            .oauth_states_by_connection
            .scan_prefix(pending_prefix(&pending.connection))
            .keys()
            .collect::<Result<Vec<_>, _>>()?;
        let excess = keys.len().saturating_sub(MAX_PENDING_PER_CONNECTION);
        for key in &keys[..excess] {
            if let Some(old) = self.oauth_states_by_connection.remove(key)? {
                self.oauth_states.remove(old)?;
            }
        }
        self.flush().await
    }

    /// Removes and returns the pending authorization of `state`: a state is used once.
    pub(crate) fn take_oauth_state(&self, state: &str) -> Result<Option<PendingState>, StoreError> {
        let Some(sealed) = self.oauth_states.remove(state)? else {
            return Ok(None);
        };
        let plain = self.cipher.open(&oauth_context(state), &sealed)?;
        let pending: PendingState = decode(OAUTH_STATES, state, &plain)?;
        self.oauth_states_by_connection
            .remove(pending_key(&pending.connection, pending.created_at, state))?;
        Ok(Some(pending))
    }

    /// Keeps what the sign-in of the used `state` came to until `expires_at`. It holds what
    /// the result page shows (names of queries and logins), never a token.
    pub(crate) async fn put_oauth_outcome<T: Serialize>(
        &self,
        state: &str,
        expires_at: DateTime<Utc>,
        outcome: &T,
    ) -> Result<(), StoreError> {
        put_json(&self.oauth_outcomes, state, &KeptOutcome { expires_at, outcome })?;
        self.flush().await
    }

    /// What the sign-in of the used `state` came to, unless that was forgotten or expired.
    pub(crate) fn oauth_outcome<T: DeserializeOwned>(
        &self,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<T>, StoreError> {
        let kept: Option<KeptOutcome<T>> = get_json(&self.oauth_outcomes, OAUTH_OUTCOMES, state)?;
        Ok(kept.filter(|k| k.expires_at > now).map(|k| k.outcome))
    }

    /// How many pending authorizations the store holds (a link followed, not yet completed).
    pub fn pending_oauth_states(&self) -> usize {
        self.oauth_states.len()
    }

    /// Drops pending authorizations that expired before `now`, and kept outcomes past theirs.
    pub(crate) fn prune_oauth_states(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        for item in self.oauth_states.iter() {
            let (key, sealed) = item?;
            let state = String::from_utf8_lossy(&key).into_owned();
            let expired = self
                .cipher
                .open(&oauth_context(&state), &sealed)
                .ok()
                .and_then(|plain| serde_json::from_slice::<PendingState>(&plain).ok())
                .is_none_or(|p| p.expires_at <= now);
            if expired {
                self.oauth_states.remove(key)?;
            }
        }
        for item in self.oauth_states_by_connection.iter() {
            let (key, state) = item?;
            if !self.oauth_states.contains_key(&state)? {
                self.oauth_states_by_connection.remove(key)?;
            }
        }
        for item in self.oauth_outcomes.iter() {
            let (key, value) = item?;
            let expired = serde_json::from_slice::<KeptOutcome<serde::de::IgnoredAny>>(&value)
                .map_or(true, |k| k.expires_at <= now);
            if expired {
                self.oauth_outcomes.remove(key)?;
            }
        }
        Ok(())
    }

    /// When the notification `key` was last sent.
    pub(crate) fn notification_sent(&self, key: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        get_json(&self.notifications, NOTIFICATIONS, key)
    }

    /// Records that the notification `key` was sent at `at`; durable before returning, so a
    /// restart does not send it again.
    pub(crate) async fn record_notification(&self, key: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        put_json(&self.notifications, key, &at)?;
        self.flush().await
    }
}

/// A used state's outcome and when it is forgotten.
#[derive(Serialize, Deserialize)]
struct KeptOutcome<T> {
    expires_at: DateTime<Utc>,
    outcome: T,
}

/// The keys of `connection`'s pending states.
fn pending_prefix(connection: &str) -> Vec<u8> {
    let mut key = connection.as_bytes().to_vec();
    key.push(0);
    key
}

/// A pending state's key in the by-connection index: ordered by when it was made.
fn pending_key(connection: &str, created_at: DateTime<Utc>, state: &str) -> Vec<u8> {
    let mut key = pending_prefix(connection);
    // Big-endian with the sign bit flipped sorts like the instant itself.
    let millis = created_at.timestamp_millis() as u64 ^ (1 << 63);
    key.extend_from_slice(&millis.to_be_bytes());
    key.extend_from_slice(state.as_bytes());
    key
}

fn oauth_context(state: &str) -> Vec<u8> {
    format!("adsync/{OAUTH_STATES}/{state}").into_bytes()
}

/// sled's page cache size.
const STORE_CACHE_BYTES: u64 = 8 * 1024 * 1024;

/// What link keys are derived for.
pub const LINK_KEY_PURPOSE: &str = "adsync reconnect links v1";

fn token_context(connection: &str) -> Vec<u8> {
    format!("adsync/{TOKENS}/{connection}").into_bytes()
}

fn gap_key(query: &str, fire: DateTime<Utc>) -> Vec<u8> {
    let mut key = run_prefix(query);
    key.extend_from_slice(&fire.timestamp_micros().to_be_bytes());
    key
}

fn scan<T: DeserializeOwned>(name: &'static str, items: sled::Iter) -> Result<Vec<T>, StoreError> {
    items
        .map(|item| {
            let (key, value) = item?;
            decode(name, &String::from_utf8_lossy(&key), &value)
        })
        .collect()
}

fn run_prefix(query: &str) -> Vec<u8> {
    let mut prefix = query.as_bytes().to_vec();
    prefix.push(0);
    prefix
}

fn get_json<T: DeserializeOwned>(tree: &sled::Tree, name: &'static str, key: &str) -> Result<Option<T>, StoreError> {
    match tree.get(key)? {
        None => Ok(None),
        Some(bytes) => decode(name, key, &bytes).map(Some),
    }
}

fn put_json<K: AsRef<[u8]>, T: Serialize>(tree: &sled::Tree, key: K, value: &T) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(value).expect("store records always serialize");
    tree.insert(key, bytes)?;
    Ok(())
}

fn decode<T: DeserializeOwned>(tree: &'static str, key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        tree,
        key: key.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::rows::DateWindow;

    fn token() -> TokenSet {
        TokenSet {
            access_token: "EAAB-access-SECRETVALUE".into(),
            refresh_token: Some("refresh-SECRETVALUE".into()),
            access_expires_at: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
            refresh_expires_at: None,
            scopes: vec!["ads_read".into()],
            identity: None,
            obtained_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            last_used_at: None,
            data_access_expires_at: None,
            self_renewing: false,
            refresh_started_at: None,
        }
    }

    #[tokio::test]
    async fn tokens_round_trip_and_are_not_in_clear_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let key = SecretKey::generate();
        {
            let store = Store::open_with_key(dir.path(), &key).unwrap();
            store.put_token("meta", &token()).await.unwrap();
            assert_eq!(store.token("meta").unwrap().unwrap(), token());
        }
        for entry in walk(dir.path()) {
            let bytes = std::fs::read(&entry).unwrap();
            assert!(
                !bytes.windows(11).any(|w| w == b"SECRETVALUE"),
                "token in clear in {}",
                entry.display()
            );
        }
        let reopened = Store::open_with_key(dir.path(), &key).unwrap();
        assert_eq!(reopened.token("meta").unwrap().unwrap(), token());
    }

    #[tokio::test]
    async fn a_used_states_outcome_is_kept_until_it_expires_then_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_with_key(dir.path(), &SecretKey::generate()).unwrap();
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let expires = start + chrono::Duration::days(1);
        store
            .put_oauth_outcome("st4te", expires, &vec!["resumed".to_string()])
            .await
            .unwrap();
        let read = |at| store.oauth_outcome::<Vec<String>>("st4te", at).unwrap();
        assert_eq!(read(start), Some(vec!["resumed".to_string()]));
        assert_eq!(read(expires), None, "expired outcomes are not shown");
        assert_eq!(store.oauth_outcome::<Vec<String>>("other", start).unwrap(), None);
        store.prune_oauth_states(start).unwrap();
        assert_eq!(store.oauth_outcomes.len(), 1, "a live outcome stays");
        store.prune_oauth_states(expires).unwrap();
        assert_eq!(store.oauth_outcomes.len(), 0);
    }

    #[tokio::test]
    async fn pending_states_are_capped_per_connection_oldest_evicted_and_expired_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_with_key(dir.path(), &SecretKey::generate()).unwrap();
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let pending = |connection: &str, minute: i64| PendingState {
            connection: connection.into(),
            verifier: "v".into(),
            created_at: start + chrono::Duration::minutes(minute),
            expires_at: start + chrono::Duration::minutes(minute + 15),
        };
        for i in 0..(MAX_PENDING_PER_CONNECTION as i64 + 5) {
            store.put_oauth_state(&format!("a{i}"), &pending("a", i)).await.unwrap();
        }
        store.put_oauth_state("b0", &pending("b", 0)).await.unwrap();
        assert_eq!(store.pending_oauth_states(), MAX_PENDING_PER_CONNECTION + 1);
        assert!(
            store.take_oauth_state("a4").unwrap().is_none(),
            "the oldest were evicted"
        );
        assert!(
            store.take_oauth_state("b0").unwrap().is_some(),
            "another connection's stays"
        );
        let newest = format!("a{}", MAX_PENDING_PER_CONNECTION + 4);
        assert!(store.take_oauth_state(&newest).unwrap().is_some());
        assert_eq!(store.oauth_states_by_connection.len(), MAX_PENDING_PER_CONNECTION - 1);

        // At minute 24 the states made up to minute 9 have expired.
        store.prune_oauth_states(start + chrono::Duration::minutes(24)).unwrap();
        assert_eq!(store.pending_oauth_states(), 2);
        assert_eq!(store.oauth_states_by_connection.len(), 2);
    }

    #[test]
    fn other_schema_version_is_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::Config::new()
                .path(dir.path().join("store"))
                .flush_every_ms(None)
                .open()
                .unwrap();
            db.insert(SCHEMA_KEY, &99u32.to_be_bytes()).unwrap();
            db.flush().unwrap();
        }
        let err = Store::open_with_key(dir.path(), &SecretKey::generate()).unwrap_err();
        assert!(matches!(
            err,
            StoreError::SchemaMismatch {
                found: 99,
                expected: 1,
                ..
            }
        ));
        assert!(err.to_string().contains("schema version 99"));
    }

    #[test]
    fn runs_are_listed_oldest_first_and_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_with_key(dir.path(), &SecretKey::generate()).unwrap();
        let day = "2026-01-01".parse().unwrap();
        for i in 0..(RUNS_KEPT_PER_QUERY as i64 + 3) {
            let started = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(i);
            store
                .record_run(&RunRecord {
                    query: "q".into(),
                    fire: started,
                    started,
                    finished: started,
                    window: DateWindow::new(day, day),
                    rows: i as u64,
                    outcome: Outcome::Delivered,
                    error: None,
                    output: None,
                })
                .unwrap();
        }
        let runs = store.runs("q").unwrap();
        assert_eq!(runs.len(), RUNS_KEPT_PER_QUERY);
        assert_eq!(runs[0].rows, 3);
        assert_eq!(
            store.last_run("q").unwrap().unwrap().rows,
            RUNS_KEPT_PER_QUERY as u64 + 2
        );
        assert!(store.runs("q2").unwrap().is_empty());
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
        out
    }
}
