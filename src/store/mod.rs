//! The store: connections, tokens, query state, run history, gaps, pending authorizations
//! and sent notifications, behind one handle with two backends.
//!
//! [`Store`] owns what both backends share: records are JSON, and secrets (tokens, PKCE
//! verifiers) are sealed with [`crypto::Cipher`] before a backend sees them. The backends
//! keep bytes: `sled` (the default: one embedded database in the data directory, one
//! process) and `postgres` (one database shared by a cluster of daemons, which adds claims
//! on scheduled fires so each runs once across the cluster). The methods are `async` because
//! PostgreSQL's are; sled's run inline, as they always did.

pub(crate) mod crypto;
mod postgres;
mod records;
mod sled;
/// Test support: a throwaway PostgreSQL server (the integration tests and the bench use it).
#[cfg(any(test, feature = "sandbox"))]
pub mod test_server;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::config::{Config, StoreBackend};

pub use crypto::{Cipher, CryptoError, SecretKey};
pub use records::{
    BrokenQuery, ConnectionState, ConnectionStatus, Gap, GapState, Identity, Outcome, PendingState, QueryFailure,
    QueryPause, QueryState, RunRecord, TokenSet,
};

/// The schema this build writes to sled. Bump it with a migration when a record changes shape.
pub(crate) const SCHEMA_VERSION: u32 = 1;
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
    /// The PostgreSQL database was migrated by a newer adsync.
    #[error("the database has schema version {found}, this adsync knows versions up to {known}: upgrade every daemon of the cluster to the newest adsync")]
    DatabaseNewer {
        /// The database's version.
        found: i32,
        /// The newest version this build knows.
        known: i32,
    },
    /// The database's records were sealed with another secret key.
    #[error("the database was set up with a different secret key: start every daemon of a cluster with the same {} (the tokens stored there cannot be opened with this one)", crypto::KEY_ENV)]
    WrongSecretKey,
    /// The PostgreSQL connection URL does not parse.
    #[error("the PostgreSQL URL in [store] is not valid: {0}")]
    DatabaseUrl(String),
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
    Sled(#[from] ::sled::Error),
    /// PostgreSQL refused a statement or the connection broke.
    #[error("database error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No database connection could be had.
    #[error("database unavailable: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
}

/// Handle to the store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    cipher: Cipher,
    link_key: [u8; 32],
    /// Daemons of the cluster alive at this daemon's last beat (1 on sled, or before any).
    live_daemons: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

#[derive(Clone, Debug)]
enum Backend {
    Sled(sled::SledStore),
    Postgres(postgres::PgStore),
}

/// Runs the same call on whichever backend holds the data; sled's are synchronous.
macro_rules! on_backend {
    ($store:expr, $method:ident($($arg:expr),*)) => {
        match &$store.backend {
            Backend::Sled(db) => db.$method($($arg),*),
            Backend::Postgres(db) => db.$method($($arg),*).await,
        }
    };
}

// After the macro, which it uses.
mod copy;
mod shared_limits;
pub use copy::{CopyCounts, CopyError};

/// One daemon's claim on one scheduled fire.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FireClaim<'a> {
    /// The query.
    pub(crate) query: &'a str,
    /// Its fire.
    pub(crate) fire: DateTime<Utc>,
    /// The daemon claiming it (unique per process).
    pub(crate) owner: &'a str,
}

/// Held while a connection's token is refreshed: the cluster's other daemons wait for it.
pub(crate) struct RefreshGuard {
    /// Released by dropping it.
    _lock: Option<postgres::SessionLock>,
}

/// Records kept under one key each.
#[derive(Debug, Clone, Copy)]
enum Keyed {
    Connection,
    Token,
    QueryState,
    Notification,
    /// What a used state's sign-in came to, kept a while so reloading the page shows it.
    OauthOutcome,
}

impl Keyed {
    /// The sled tree's name, also used in error messages.
    fn name(self) -> &'static str {
        match self {
            Keyed::Connection => "connections",
            Keyed::Token => "tokens",
            Keyed::QueryState => "query_state",
            Keyed::Notification => "notifications",
            Keyed::OauthOutcome => "oauth_outcomes",
        }
    }
}

/// Records kept per query, ordered by an instant.
#[derive(Debug, Clone, Copy)]
enum Timed {
    Run,
    Gap,
}

impl Timed {
    fn name(self) -> &'static str {
        match self {
            Timed::Run => "runs",
            Timed::Gap => "gaps",
        }
    }
}

const OAUTH_STATES: &str = "oauth_states";

/// Pending authorizations kept per connection; following a link again evicts the oldest.
/// A person needs one, a few tabs a few more; a link followed in a loop must not grow the
/// store (or the work per request) without end. Only configured connections get states,
/// so the total is bounded too.
pub(crate) const MAX_PENDING_PER_CONNECTION: usize = 8;

/// What the key check value seals: a daemon that cannot open it has another secret key.
const KEY_CHECK: &[u8] = b"adsync key check v1";

impl Store {
    /// Opens (creating if needed) the sled store in `data_dir`, with the secret key from
    /// the environment or the key file there.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let key = SecretKey::load_or_create(data_dir)?;
        Self::open_with_key(data_dir, &key)
    }

    /// Opens the sled store with an explicit key.
    pub(crate) fn open_with_key(data_dir: &Path, key: &SecretKey) -> Result<Self, StoreError> {
        Ok(Self::with_backend(Backend::Sled(sled::SledStore::open(data_dir)?), key))
    }

    /// Opens the store `config` names: sled in its data directory, or its PostgreSQL database.
    pub async fn open_configured(config: &Config) -> Result<Self, StoreError> {
        match &config.store.backend {
            StoreBackend::Sled => Self::open(&config.data_dir),
            StoreBackend::Postgres { url } => {
                let key = SecretKey::load_or_create(&config.data_dir)?;
                Self::connect_postgres(url.expose(), &key).await
            }
        }
    }

    /// Connects to the PostgreSQL database at `url`, migrating its schema, and checks that
    /// it was set up with `key`: a daemon with another key refuses to start instead of
    /// failing to open every token later.
    pub async fn connect_postgres(url: &str, key: &SecretKey) -> Result<Self, StoreError> {
        let db = postgres::PgStore::connect(url).await?;
        let cipher = Cipher::new(key);
        let stored = db.key_check(cipher.seal(KEY_CHECK, KEY_CHECK)).await?;
        if cipher.open(KEY_CHECK, &stored).ok().as_deref() != Some(KEY_CHECK) {
            return Err(StoreError::WrongSecretKey);
        }
        Ok(Self::with_backend(Backend::Postgres(db), key))
    }

    fn with_backend(backend: Backend, key: &SecretKey) -> Self {
        Self {
            backend,
            cipher: Cipher::new(key),
            link_key: key.derive(LINK_KEY_PURPOSE),
            live_daemons: std::sync::Arc::new(1.into()),
        }
    }

    /// Whether other daemons may share this store (PostgreSQL): fires must then be claimed.
    pub(crate) fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Makes every write so far durable. Call before acting on a value that must survive a
    /// crash. (PostgreSQL commits each statement: nothing to do there.)
    pub async fn flush(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sled(db) => db.flush().await,
            Backend::Postgres(_) => Ok(()),
        }
    }

    /// Fails when the database cannot be read (for the readiness probe).
    pub(crate) async fn check_readable(&self) -> Result<(), StoreError> {
        on_backend!(self, check_readable())
    }

    async fn get_json<T: DeserializeOwned>(&self, record: Keyed, key: &str) -> Result<Option<T>, StoreError> {
        match on_backend!(self, get(record, key))? {
            None => Ok(None),
            Some(bytes) => decode(record.name(), key, &bytes).map(Some),
        }
    }

    async fn put_json<T: Serialize>(&self, record: Keyed, key: &str, value: &T) -> Result<(), StoreError> {
        on_backend!(self, put(record, key, encode(value)))
    }

    async fn list<T: DeserializeOwned>(&self, record: Timed, query: &str) -> Result<Vec<T>, StoreError> {
        decode_all(record, on_backend!(self, list(record, query))?)
    }

    /// The stored state of a connection.
    pub async fn connection(&self, id: &str) -> Result<Option<ConnectionState>, StoreError> {
        self.get_json(Keyed::Connection, id).await
    }

    /// Saves a connection's state.
    pub(crate) async fn put_connection(&self, id: &str, state: &ConnectionState) -> Result<(), StoreError> {
        self.put_json(Keyed::Connection, id, state).await
    }

    /// The decrypted token set of a connection.
    pub async fn token(&self, connection: &str) -> Result<Option<TokenSet>, StoreError> {
        let Some(sealed) = on_backend!(self, get(Keyed::Token, connection))? else {
            return Ok(None);
        };
        let plain = self.cipher.open(&token_context(connection), &sealed)?;
        decode(Keyed::Token.name(), connection, &plain).map(Some)
    }

    /// Seals and saves a connection's tokens, and waits until they are durable: a rotated
    /// refresh token must be durable before the access token that came with it is used.
    pub(crate) async fn put_token(&self, connection: &str, token: &TokenSet) -> Result<(), StoreError> {
        let sealed = self.cipher.seal(&token_context(connection), &encode(token));
        on_backend!(self, put(Keyed::Token, connection, sealed))?;
        self.flush().await
    }

    /// The scheduling state of a query.
    pub async fn query_state(&self, query: &str) -> Result<Option<QueryState>, StoreError> {
        self.get_json(Keyed::QueryState, query).await
    }

    /// Saves a query's scheduling state.
    pub(crate) async fn put_query_state(&self, query: &str, state: &QueryState) -> Result<(), StoreError> {
        self.put_json(Keyed::QueryState, query, state).await
    }

    /// Appends a run record, pruning the query's oldest beyond [`RUNS_KEPT_PER_QUERY`].
    pub(crate) async fn record_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        on_backend!(self, push_run(&run.query, run.started, encode(run)))
    }

    /// A query's runs, oldest first.
    pub async fn runs(&self, query: &str) -> Result<Vec<RunRecord>, StoreError> {
        self.list(Timed::Run, query).await
    }

    /// The most recent run of a query.
    pub async fn last_run(&self, query: &str) -> Result<Option<RunRecord>, StoreError> {
        match on_backend!(self, last_run(query))? {
            None => Ok(None),
            Some((key, value)) => decode(Timed::Run.name(), &key, &value).map(Some),
        }
    }

    /// Records a gap, unless that query's fire already has one (a fire is one gap however
    /// often, and by however many daemons, it is looked at).
    pub async fn record_gap(&self, gap: &Gap) -> Result<bool, StoreError> {
        on_backend!(self, put_gap(&gap.query, gap.fire_time, encode(gap), true))
    }

    /// A query's gaps, oldest fire first.
    pub async fn gaps(&self, query: &str) -> Result<Vec<Gap>, StoreError> {
        self.list(Timed::Gap, query).await
    }

    /// Every gap, by query then fire.
    pub async fn all_gaps(&self) -> Result<Vec<Gap>, StoreError> {
        decode_all(Timed::Gap, on_backend!(self, all_gaps())?)
    }

    /// Saves a changed gap (same query and fire).
    pub(crate) async fn put_gap(&self, gap: &Gap) -> Result<(), StoreError> {
        on_backend!(self, put_gap(&gap.query, gap.fire_time, encode(gap), false)).map(drop)
    }

    /// The key reconnect links are signed with.
    pub fn link_key(&self) -> &[u8; 32] {
        &self.link_key
    }

    /// Keeps a pending authorization under its `state` (sealed: it holds the PKCE verifier).
    pub(crate) async fn put_oauth_state(&self, state: &str, pending: &PendingState) -> Result<(), StoreError> {
        let sealed = self.cipher.seal(&oauth_context(state), &encode(pending));
        on_backend!(
            self,
            put_oauth_state(state, &pending.connection, pending.created_at, sealed)
        )?;
        self.flush().await
    }

    /// Removes and returns the pending authorization of `state`: a state is used once.
    pub(crate) async fn take_oauth_state(&self, state: &str) -> Result<Option<PendingState>, StoreError> {
        let Some(sealed) = on_backend!(self, take_oauth_state(state))? else {
            return Ok(None);
        };
        let plain = self.cipher.open(&oauth_context(state), &sealed)?;
        decode(OAUTH_STATES, state, &plain).map(Some)
    }

    /// How many pending authorizations the store holds (a link followed, not yet completed).
    pub async fn pending_oauth_states(&self) -> Result<usize, StoreError> {
        match &self.backend {
            Backend::Sled(db) => Ok(db.pending_oauth_states()),
            Backend::Postgres(db) => db.pending_oauth_states().await,
        }
    }

    /// Keeps what the sign-in of the used `state` came to until `expires_at`. It holds what
    /// the result page shows (names of queries and logins), never a token.
    pub(crate) async fn put_oauth_outcome<T: Serialize>(
        &self,
        state: &str,
        expires_at: DateTime<Utc>,
        outcome: &T,
    ) -> Result<(), StoreError> {
        self.put_json(Keyed::OauthOutcome, state, &KeptOutcome { expires_at, outcome })
            .await?;
        self.flush().await
    }

    /// What the sign-in of the used `state` came to, unless that was forgotten or expired.
    pub(crate) async fn oauth_outcome<T: DeserializeOwned>(
        &self,
        state: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<T>, StoreError> {
        let kept: Option<KeptOutcome<T>> = self.get_json(Keyed::OauthOutcome, state).await?;
        Ok(kept.filter(|k| k.expires_at > now).map(|k| k.outcome))
    }

    /// Drops pending authorizations that expired before `now`, and kept outcomes past theirs.
    pub(crate) async fn prune_oauth_states(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let expired = |state: &str, sealed: &[u8]| {
            self.cipher
                .open(&oauth_context(state), sealed)
                .ok()
                .and_then(|plain| serde_json::from_slice::<PendingState>(&plain).ok())
                .is_none_or(|p| p.expires_at <= now)
        };
        on_backend!(self, prune_oauth_states(&expired))?;
        for (key, value) in on_backend!(self, entries(Keyed::OauthOutcome))? {
            let expired = serde_json::from_slice::<KeptOutcome<serde::de::IgnoredAny>>(&value)
                .map_or(true, |k| k.expires_at <= now);
            if expired {
                on_backend!(self, remove(Keyed::OauthOutcome, &key))?;
            }
        }
        Ok(())
    }

    /// When the notification `key` was last sent.
    pub(crate) async fn notification_sent(&self, key: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.get_json(Keyed::Notification, key).await
    }

    /// Records that the notification `key` was sent at `at`; durable before returning, so a
    /// restart does not send it again.
    pub(crate) async fn record_notification(&self, key: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.put_json(Keyed::Notification, key, &at).await?;
        self.flush().await
    }

    /// Records the notification `key` as sent at `at` unless it was already: true for the
    /// one caller in the cluster that gets to send it. Durable before returning.
    pub(crate) async fn claim_notification(&self, key: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let claimed = on_backend!(self, put_new(Keyed::Notification, key, encode(&at)))?;
        self.flush().await?;
        Ok(claimed)
    }

    /// Withdraws a notification record whose sending failed, so it is tried again.
    pub(crate) async fn forget_notification(&self, key: &str) -> Result<(), StoreError> {
        on_backend!(self, remove(Keyed::Notification, key))?;
        self.flush().await
    }

    /// Waits until no other daemon of the cluster is refreshing `connection`'s token, and
    /// keeps them from starting until the guard is dropped (the in-process single flight
    /// covers this daemon; sled has no other daemon).
    pub(crate) async fn lock_refresh(&self, connection: &str) -> Result<RefreshGuard, StoreError> {
        let lock = match &self.backend {
            Backend::Sled(_) => None,
            Backend::Postgres(db) => Some(db.lock_refresh(connection).await?),
        };
        Ok(RefreshGuard { _lock: lock })
    }

    /// Claims `claim`'s fire for `lease`: false when another daemon of the cluster holds or
    /// finished it. Always true on sled (one daemon).
    pub(crate) async fn claim_fire(&self, claim: FireClaim<'_>, lease: Duration) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sled(_) => Ok(true),
            Backend::Postgres(db) => db.claim_fire(claim, lease).await,
        }
    }

    /// Extends a claim by `lease`; false when it was lost (another daemon took the fire
    /// over after the lease ran out).
    pub(crate) async fn renew_claim(&self, claim: FireClaim<'_>, lease: Duration) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sled(_) => Ok(true),
            Backend::Postgres(db) => db.renew_claim(claim, lease).await,
        }
    }

    /// Marks a claimed fire handled: nobody takes it over any more.
    pub(crate) async fn finish_claim(&self, claim: FireClaim<'_>) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sled(_) => Ok(()),
            Backend::Postgres(db) => db.finish_claim(claim).await,
        }
    }

    /// Fires of `queries` claimed by a daemon whose lease ran out before it finished them.
    pub(crate) async fn abandoned_fires(&self, queries: &[String]) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        match &self.backend {
            Backend::Sled(_) => Ok(Vec::new()),
            Backend::Postgres(db) => db.abandoned_fires(queries).await,
        }
    }

    /// The fires of `query` in `(after, until]` some daemon claimed (so none was missed).
    pub(crate) async fn claimed_fires(
        &self,
        query: &str,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        match &self.backend {
            Backend::Sled(_) => Ok(Vec::new()),
            Backend::Postgres(db) => db.claimed_fires(query, after, until).await,
        }
    }
}

/// A used state's outcome and when it is forgotten.
#[derive(Serialize, Deserialize)]
struct KeptOutcome<T> {
    expires_at: DateTime<Utc>,
    outcome: T,
}

fn oauth_context(state: &str) -> Vec<u8> {
    format!("adsync/{OAUTH_STATES}/{state}").into_bytes()
}

/// What link keys are derived for.
pub const LINK_KEY_PURPOSE: &str = "adsync reconnect links v1";

fn token_context(connection: &str) -> Vec<u8> {
    format!("adsync/{}/{connection}", Keyed::Token.name()).into_bytes()
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("store records always serialize")
}

fn decode_all<T: DeserializeOwned>(record: Timed, items: Vec<(String, Vec<u8>)>) -> Result<Vec<T>, StoreError> {
    items
        .iter()
        .map(|(key, value)| decode(record.name(), key, value))
        .collect()
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
            assert_eq!(store.token("meta").await.unwrap().unwrap(), token());
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
        assert_eq!(reopened.token("meta").await.unwrap().unwrap(), token());
    }

    #[tokio::test]
    async fn pending_states_are_capped_per_connection_oldest_evicted_and_expired_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_with_key(dir.path(), &SecretKey::generate()).unwrap();
        pending_states_capped_and_pruned(&store).await;
        assert_eq!(sled_index_len(&store), 2, "the index follows the states");
    }

    async fn pending_states_capped_and_pruned(store: &Store) {
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
        assert_eq!(
            store.pending_oauth_states().await.unwrap(),
            MAX_PENDING_PER_CONNECTION + 1
        );
        assert!(
            store.take_oauth_state("a4").await.unwrap().is_none(),
            "the oldest were evicted"
        );
        assert!(
            store.take_oauth_state("b0").await.unwrap().is_some(),
            "another connection's stays"
        );
        let newest = format!("a{}", MAX_PENDING_PER_CONNECTION + 4);
        assert!(store.take_oauth_state(&newest).await.unwrap().is_some());

        // At minute 24 the states made up to minute 9 have expired.
        store
            .prune_oauth_states(start + chrono::Duration::minutes(24))
            .await
            .unwrap();
        assert_eq!(store.pending_oauth_states().await.unwrap(), 2);
    }

    #[test]
    fn other_schema_version_is_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::SledStore::raw(dir.path());
            db.insert(sled::SledStore::SCHEMA_KEY, &99u32.to_be_bytes()).unwrap();
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

    #[tokio::test]
    async fn a_used_states_outcome_is_kept_until_it_expires_then_pruned() {
        let dir = tempfile::tempdir().unwrap();
        outcomes_kept_then_pruned(&Store::open_with_key(dir.path(), &SecretKey::generate()).unwrap()).await;
    }

    async fn outcomes_kept_then_pruned(store: &Store) {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let expires = start + chrono::Duration::days(1);
        store
            .put_oauth_outcome("st4te", expires, &vec!["resumed".to_string()])
            .await
            .unwrap();
        let read = async |at| store.oauth_outcome::<Vec<String>>("st4te", at).await.unwrap();
        assert_eq!(read(start).await, Some(vec!["resumed".to_string()]));
        assert_eq!(read(expires).await, None, "expired outcomes are not shown");
        assert_eq!(store.oauth_outcome::<Vec<String>>("other", start).await.unwrap(), None);
        store.prune_oauth_states(start).await.unwrap();
        assert!(read(start).await.is_some(), "a live outcome stays");
        store.prune_oauth_states(expires).await.unwrap();
        assert_eq!(read(start).await, None, "an expired outcome is gone");
    }

    #[tokio::test]
    async fn runs_are_listed_oldest_first_and_pruned() {
        let dir = tempfile::tempdir().unwrap();
        runs_listed_oldest_first_and_pruned(&Store::open_with_key(dir.path(), &SecretKey::generate()).unwrap()).await;
    }

    #[tokio::test]
    async fn a_gap_and_a_notification_are_recorded_once() {
        let dir = tempfile::tempdir().unwrap();
        recorded_once(&Store::open_with_key(dir.path(), &SecretKey::generate()).unwrap()).await;
    }

    async fn runs_listed_oldest_first_and_pruned(store: &Store) {
        for i in 0..(RUNS_KEPT_PER_QUERY as i64 + 3) {
            let started = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(i);
            store.record_run(&run("q", started, i as u64)).await.unwrap();
        }
        let runs = store.runs("q").await.unwrap();
        assert_eq!(runs.len(), RUNS_KEPT_PER_QUERY);
        assert_eq!(runs[0].rows, 3);
        assert_eq!(
            store.last_run("q").await.unwrap().unwrap().rows,
            RUNS_KEPT_PER_QUERY as u64 + 2
        );
        assert!(store.runs("q2").await.unwrap().is_empty());
    }

    async fn recorded_once(store: &Store) {
        let fire = Utc.with_ymd_and_hms(2026, 1, 1, 6, 0, 0).unwrap();
        let day = "2026-01-01".parse().unwrap();
        let why = (crate::reason::Reason::DaemonNotRunning, None);
        let gap = Gap::open("q", "meta", fire, DateWindow::new(day, day), why, fire);
        assert!(store.record_gap(&gap).await.unwrap());
        assert!(!store.record_gap(&gap).await.unwrap(), "one gap per fire");
        let mut closed = gap.clone();
        closed.state = GapState::Superseded;
        store.put_gap(&closed).await.unwrap();
        assert_eq!(store.gaps("q").await.unwrap(), vec![closed.clone()]);
        assert_eq!(store.all_gaps().await.unwrap(), vec![closed]);

        assert!(store.claim_notification("paused/meta/1", fire).await.unwrap());
        assert!(!store.claim_notification("paused/meta/1", fire).await.unwrap());
        assert_eq!(store.notification_sent("paused/meta/1").await.unwrap(), Some(fire));
        store.forget_notification("paused/meta/1").await.unwrap();
        assert!(
            store.claim_notification("paused/meta/1", fire).await.unwrap(),
            "a failed send is tried again"
        );
    }

    fn run(query: &str, started: DateTime<Utc>, rows: u64) -> RunRecord {
        let day = "2026-01-01".parse().unwrap();
        RunRecord {
            query: query.into(),
            fire: started,
            started,
            finished: started,
            window: DateWindow::new(day, day),
            rows,
            outcome: Outcome::Delivered,
            error: None,
            output: None,
        }
    }

    /// The store's behaviour on PostgreSQL: the same tests as on sled, plus what only a
    /// shared database does. One server for all, a database each.
    #[tokio::test]
    #[ignore = "needs PostgreSQL server binaries"]
    async fn postgres_backend_behaves_like_sled_and_claims_fires_once() {
        let server = test_server::TestServer::start().unwrap();
        let key = SecretKey::generate();
        let fresh = async |name: &str| {
            let url = server.create_database(name).unwrap();
            Store::connect_postgres(&url, &key).await.unwrap()
        };
        runs_listed_oldest_first_and_pruned(&fresh("runs").await).await;
        recorded_once(&fresh("once").await).await;
        pending_states_capped_and_pruned(&fresh("pending").await).await;
        outcomes_kept_then_pruned(&fresh("outcomes").await).await;

        let store = fresh("tokens").await;
        store.put_token("meta", &token()).await.unwrap();
        assert_eq!(store.token("meta").await.unwrap().unwrap(), token());
        let url = server.url("tokens");
        let again = Store::connect_postgres(&url, &key).await.unwrap();
        assert_eq!(
            again.token("meta").await.unwrap().unwrap(),
            token(),
            "migrated once, data kept"
        );
        let err = Store::connect_postgres(&url, &SecretKey::generate()).await.unwrap_err();
        assert!(matches!(err, StoreError::WrongSecretKey), "{err}");
        assert!(err.to_string().contains("ADSYNC_SECRET_KEY"), "{err}");

        let fire = Utc.with_ymd_and_hms(2026, 1, 1, 6, 0, 0).unwrap();
        let lease = Duration::from_secs(60);
        let claim = |owner| FireClaim {
            query: "q",
            fire,
            owner,
        };
        assert!(store.claim_fire(claim("a"), lease).await.unwrap());
        assert!(!store.claim_fire(claim("b"), lease).await.unwrap(), "a holds it");
        assert!(store.renew_claim(claim("a"), lease).await.unwrap());
        assert!(!store.renew_claim(claim("b"), lease).await.unwrap());
        assert!(store.abandoned_fires(&["q".into()]).await.unwrap().is_empty());
        // A lease of nothing has run out at once: as if a's daemon had died.
        assert!(store.renew_claim(claim("a"), Duration::ZERO).await.unwrap());
        assert_eq!(
            store.abandoned_fires(&["q".into()]).await.unwrap(),
            vec![("q".to_string(), fire)]
        );
        assert!(store.claim_fire(claim("b"), lease).await.unwrap(), "b takes it over");
        assert!(!store.renew_claim(claim("a"), lease).await.unwrap(), "a lost it");
        store.finish_claim(claim("b")).await.unwrap();
        assert!(
            !store.claim_fire(claim("c"), Duration::ZERO).await.unwrap(),
            "done is done"
        );
        assert_eq!(
            store
                .claimed_fires("q", fire - chrono::Duration::hours(1), fire)
                .await
                .unwrap(),
            vec![fire]
        );

        let newer = store_with_schema_version(&server, 99).await;
        let err = Store::connect_postgres(&newer, &key).await.unwrap_err();
        assert!(
            matches!(err, StoreError::DatabaseNewer { found: 99, known: 3 }),
            "{err}"
        );
    }

    /// A database a future adsync migrated to `version`.
    async fn store_with_schema_version(server: &test_server::TestServer, version: i32) -> String {
        let url = server.create_database("newer").unwrap();
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client
            .batch_execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
            .await
            .unwrap();
        client
            .execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&version])
            .await
            .unwrap();
        url
    }

    fn sled_index_len(store: &Store) -> usize {
        match &store.backend {
            Backend::Sled(db) => db.pending_index_len(),
            Backend::Postgres(_) => unreachable!("a sled test"),
        }
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
