//! The sandbox world behind one lock: settings, the token book, faults, each platform's own
//! store (Meta's report runs, the spreadsheets), a movable clock; plus lock-free counters.

use std::any::{Any, TypeId};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;

use super::faults::{Fault, FaultQueue, HoldPoint, HoldQueue};
use super::settings::SandboxSettings;
use super::tokens::{RevokeReason, TokenBook};

/// Counters scripts and tests read from `GET /_sandbox/stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Platform API requests (not OAuth, not control).
    pub api_requests: u64,
    /// API requests refused for their token, and token endpoint errors.
    pub token_errors: u64,
    /// Successful `refresh_token` grants.
    pub refresh_grants: u64,
    /// Successful `authorization_code` grants.
    pub code_grants: u64,
    /// Successful `fb_exchange_token` grants.
    pub exchange_grants: u64,
    /// Requests answered by an injected fault.
    pub faults_injected: u64,
    /// Report rows sent.
    pub rows_served: u64,
    /// Async report runs started.
    pub report_runs_started: u64,
    /// API requests being answered right now.
    pub in_flight_api_requests: u64,
    /// The most API requests ever answered at once.
    pub max_concurrent_api_requests: u64,
    /// Requests waiting at a hold right now.
    pub held_requests: u64,
    /// The most requests ever waiting at holds at once (how many a client had in flight).
    pub max_held_requests: u64,
}

#[derive(Default)]
pub(super) struct Counters {
    pub api_requests: AtomicU64,
    pub token_errors: AtomicU64,
    pub refresh_grants: AtomicU64,
    pub code_grants: AtomicU64,
    pub exchange_grants: AtomicU64,
    pub faults_injected: AtomicU64,
    pub rows_served: AtomicU64,
    pub report_runs_started: AtomicU64,
    pub in_flight: AtomicU64,
    pub max_in_flight: AtomicU64,
    pub held: AtomicU64,
    pub max_held: AtomicU64,
}

impl Counters {
    pub fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }
}

/// The platforms' own parts of the world (Meta's report runs, the spreadsheets), one value
/// of each type, so the world holds them without knowing the platforms. A store comes into
/// being, as its type's default, the first time it is asked for mutably.
#[derive(Default)]
pub(crate) struct Stores(HashMap<TypeId, Box<dyn Any + Send>>);

impl Stores {
    /// The store of type `T`, if it has been made.
    pub fn get<T: Any + Send>(&self) -> Option<&T> {
        self.0.get(&TypeId::of::<T>()).and_then(|store| store.downcast_ref())
    }

    /// The store of type `T`, made now if it is not yet.
    pub fn get_mut<T: Any + Send + Default>(&mut self) -> &mut T {
        self.0
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(T::default()))
            .downcast_mut()
            .expect("a store is kept under its own type id")
    }
}

pub(super) struct World {
    pub settings: SandboxSettings,
    pub tokens: TokenBook,
    pub faults: FaultQueue,
    pub holds: HoldQueue,
    /// Ad accounts each user may not read.
    pub denied: HashMap<String, BTreeSet<u64>>,
    /// Seconds added to the wall clock (`POST /_sandbox/clock/advance`).
    clock_offset_secs: i64,
    /// Each platform's own store: Meta's report runs, the spreadsheets with their quotas and
    /// planned write failures.
    pub stores: Stores,
}

impl World {
    /// Sandbox time in unix seconds.
    pub fn now(&self) -> i64 {
        chrono::Utc::now().timestamp() + self.clock_offset_secs
    }
}

/// A running sandbox's shared state. Cheap to clone.
#[derive(Clone)]
pub struct Sandbox {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub base_url: String,
    pub world: Mutex<World>,
    pub counters: Counters,
    /// Bumped to let every held request go.
    pub release: tokio::sync::watch::Sender<u64>,
}

impl Sandbox {
    /// An access token `issuer` grants `user` with `scopes`, minted straight from the token
    /// book as a consent and code exchange would, for tests that call an API directly.
    #[cfg(any(test, feature = "testing"))]
    pub fn mint_access_token(&self, issuer: super::tokens::Issuer, user: &str, scopes: &[&str]) -> String {
        use super::tokens::{CodeRequest, Issuer, TokenPolicy};
        let mut world = self.world();
        let now = world.now();
        let settings = world.settings.clone();
        let policy = match issuer {
            Issuer::Meta => TokenPolicy::meta(&settings),
            Issuer::Google => TokenPolicy::google(&settings.google_oauth),
            Issuer::Linkedin => TokenPolicy::linkedin(&settings.linkedin_oauth),
        };
        let client_id = settings.clients.keys().next().expect("a registered client").clone();
        let redirect_uri = "http://127.0.0.1/callback";
        let code = world.tokens.issue_code(
            CodeRequest {
                issuer,
                client_id: client_id.clone(),
                redirect_uri: redirect_uri.into(),
                user: user.into(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                challenge: None,
                with_refresh_token: false,
            },
            now,
        );
        world
            .tokens
            .exchange_code(&client_id, &code, Some(redirect_uri), None, &policy, now)
            .expect("a fresh code exchanges")
            .access_token
    }

    /// A sandbox reachable at `base_url`.
    pub fn new(base_url: String, settings: SandboxSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                base_url,
                world: Mutex::new(World {
                    settings,
                    tokens: TokenBook::default(),
                    faults: FaultQueue::default(),
                    holds: HoldQueue::default(),
                    denied: HashMap::new(),
                    clock_offset_secs: 0,
                    stores: Stores::default(),
                }),
                counters: Counters::default(),
                release: tokio::sync::watch::Sender::new(0),
            }),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    pub(super) fn world(&self) -> MutexGuard<'_, World> {
        // A panic while holding the lock cannot leave the bookkeeping half-updated in a way
        // that matters to an emulator; keep serving.
        self.inner.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    /// The current settings.
    pub fn settings(&self) -> SandboxSettings {
        self.world().settings.clone()
    }

    /// Reads the settings in place (no copy; requests read one field or two).
    pub fn with_settings<R>(&self, read: impl FnOnce(&SandboxSettings) -> R) -> R {
        read(&self.world().settings)
    }

    /// Applies a settings patch (a JSON object) atomically; returns the new settings.
    pub fn patch_settings(&self, patch: serde_json::Value) -> Result<SandboxSettings, String> {
        let mut world = self.world();
        world.settings = world.settings.patched(patch)?;
        Ok(world.settings.clone())
    }

    /// Replaces the settings.
    pub fn set_settings(&self, settings: SandboxSettings) {
        self.world().settings = settings;
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            api_requests: get(&c.api_requests),
            token_errors: get(&c.token_errors),
            refresh_grants: get(&c.refresh_grants),
            code_grants: get(&c.code_grants),
            exchange_grants: get(&c.exchange_grants),
            faults_injected: get(&c.faults_injected),
            rows_served: get(&c.rows_served),
            report_runs_started: get(&c.report_runs_started),
            in_flight_api_requests: get(&c.in_flight),
            max_concurrent_api_requests: get(&c.max_in_flight),
            held_requests: get(&c.held),
            max_held_requests: get(&c.max_held),
        }
    }

    /// Queues a fault.
    pub fn push_fault(&self, fault: Fault) {
        self.world().faults.push(fault);
    }

    /// Invalidates every token of `user`; returns (access tokens, refresh tokens) revoked.
    pub fn revoke(&self, user: &str, reason: RevokeReason) -> (usize, usize) {
        self.world().tokens.revoke_user(user, reason)
    }

    /// Expires every access token of `user` now; refresh tokens stay valid.
    pub fn expire_access_tokens(&self, user: &str) -> usize {
        let mut world = self.world();
        let now = world.now();
        world.tokens.expire_access(user, now)
    }

    /// Moves the sandbox clock forward; returns the new time (unix seconds).
    /// Fails, changing nothing, when the new time would be out of range.
    pub fn advance_clock(&self, secs: i64) -> Result<i64, String> {
        let mut world = self.world();
        let offset = world
            .clock_offset_secs
            .checked_add(secs)
            .filter(|o| {
                chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp().saturating_add(*o), 0).is_some()
            })
            .ok_or_else(|| format!("moving the clock by {secs} s leaves the range of dates"))?;
        world.clock_offset_secs = offset;
        Ok(world.now())
    }

    /// Every access and refresh token the sandbox ever issued.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.world().tokens.issued()
    }

    /// Lets every held request go and drops the holds.
    pub fn release_holds(&self) {
        let mut world = self.world();
        world.holds.clear();
        self.inner.release.send_modify(|generation| *generation += 1);
    }

    /// Takes the hold a request to `path` waits at, if any, already listening for the
    /// release: a release between taking the hold and waiting must not be missed.
    pub(super) fn take_hold(&self, path: &str) -> Option<(HoldPoint, tokio::sync::watch::Receiver<u64>)> {
        let mut world = self.world();
        let point = world.holds.take(path)?;
        let mut rx = self.inner.release.subscribe();
        rx.borrow_and_update();
        Some((point, rx))
    }

    /// Waits until the holds are released.
    pub(super) async fn wait_for_release(&self, mut rx: tokio::sync::watch::Receiver<u64>) {
        let counters = &self.inner.counters;
        let held = counters.held.fetch_add(1, Ordering::SeqCst) + 1;
        counters.max_held.fetch_max(held, Ordering::SeqCst);
        let _ = rx.changed().await;
        counters.held.fetch_sub(1, Ordering::SeqCst);
    }

    /// Takes away (`denied = true`) or gives back `user`'s access to ad account `account`.
    pub fn set_account_access(&self, user: &str, account: u64, denied: bool) {
        let mut world = self.world();
        let set = world.denied.entry(user.to_string()).or_default();
        if denied {
            set.insert(account);
        } else {
            set.remove(&account);
        }
    }
}

/// Counts an API request in flight for as long as it lives.
pub(super) struct InFlight<'a>(&'a Counters);

impl<'a> InFlight<'a> {
    pub fn enter(counters: &'a Counters) -> Self {
        let now = counters.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        counters.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Counters::bump(&counters.api_requests, 1);
        Self(counters)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}
