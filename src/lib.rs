//! adsync: marketing reports on a schedule that survive dying OAuth tokens.
//!
//! Data flows one way: **query file → schedule → run → source (platform API, token from the
//! auth layer) → row batches → sink (CSV) → run record**, with the store underneath and the
//! web endpoint on the side.
//!
//! # Layout
//! - [`platform`]: the bottom vocabulary, importing nothing else of the crate: providers,
//!   platforms, report levels, field catalogs and each platform's constant facts (scopes,
//!   history, slice sizes, real endpoints, account-id formats, Sheets' A1 notation, Google's
//!   service-account key file).
//! - [`config`]: the daemon's TOML config, raw then validated (secrets redacted).
//! - [`query`]: query files: model, loading with `file:line:col` diagnostics, date windows,
//!   the parsed schedule (cron + time zone), outputs, and filters and GAQL in each
//!   platform's spelling.
//! - [`scheduler`]: the run loop: waits for each query's next fire, starts runs within limits.
//! - [`run`]: one run of one query: source → sink, outcome recorded.
//! - [`rows`]: [`rows::RowBatch`] (one platform page of rows) and [`rows::DateWindow`].
//! - [`http`]: the one API client of sources and sinks: retry/backoff, rate limits, refresh
//!   on 401, failure classes, Google's `rpc.Status`.
//! - [`location`]: where rows are delivered, a file or a spreadsheet tab.
//! - [`sources`]: platform readers; each platform folder (e.g. [`sources::meta_ads`]) holds
//!   its requests, decoding and error table.
//! - [`sinks`]: outputs; [`sinks::csv`] writes via temp file + fsync + rename.
//! - [`auth`]: tokens: authorization code + PKCE, inline single-flight refresh, rotation-safe
//!   persistence, reconnect reasons in words ([`auth::ReconnectReason`]), signed links.
//! - [`reason`]: gap, pause and reconnect reasons as enums with their stored names and sentences.
//! - [`store`]: sled trees for connections, sealed tokens, query state, run history, the gap
//!   log, pending OAuth states and sent notifications.
//! - [`backfill`]: making open gaps good (append: window by window; replace: one fresh run).
//! - [`reconnect`]: after consent: take the token, verify the accounts, resume, backfill.
//! - [`notify`]: reconnect emails, reminders, expiry warnings, recovery notes (SMTP or outbox).
//! - [`status`]: the status report behind `adsync status`, `GET /api/status` and `/status`.
//! - [`web`]: the daemon's HTTP endpoint (reconnect links, OAuth callback, status page and
//!   API, health, manual runs and backfills).
//! - [`app`]: wires it all; the actions a person starts (a run, a backfill, the status).
//! - [`daemon`]: the lifecycle: web endpoint and scheduler until stopped, upkeep, keep-alive.
//! - [`sandbox`]: the built-in emulation of the platforms' documented APIs and OAuth.
//! - [`demo`]: `adsync demo`, the sandbox and the daemon in one process.
//! - [`app`]: wires it all and runs until stopped.
//! - [`demo`]: `adsync demo`, the sandbox and the daemon in one process (feature `sandbox`).
//! - [`clock`]: injectable time, so tests drive the scheduler instead of sleeping.
//! - [`keyed`]: one shared lock or semaphore per connection or query name.
//!
//! The emulated platforms live in their own crate, `adsync-sandbox` (`crates/adsync-sandbox`),
//! which shares no types with this one; the default feature `sandbox` brings it in for
//! `adsync sandbox`, `adsync demo` and the bench, and `--no-default-features` leaves it out.

pub mod app;
pub mod auth;
pub(crate) mod backfill;
pub mod clock;
pub mod config;
pub(crate) mod daemon;
#[cfg(feature = "sandbox")]
pub mod demo;
pub(crate) mod http;
pub(crate) mod keyed;
pub(crate) mod location;
pub(crate) mod notify;
pub(crate) mod platform;
pub mod query;
pub(crate) mod reason;
pub mod reconnect;
pub mod rows;
pub(crate) mod run;
pub(crate) mod scheduler;
pub(crate) mod sinks;
pub mod sources;
pub mod status;
pub mod store;
pub mod web;
