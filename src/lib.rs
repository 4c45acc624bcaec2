//! adsync: marketing reports on a schedule that survive dying OAuth tokens.
//!
//! Data flows one way: **query file → schedule → run → source (platform API, token from the
//! auth layer) → row batches → sink (CSV file or Sheets tab) → run record**, with the store
//! underneath and the web endpoint on the side.
//!
//! # Layout
//! Bottom first: each module imports only modules listed above it, so the list is also the
//! order to read the crate in. Where to look: a token is refreshed in `auth`, a gap is
//! recorded by `run` (and by `scheduler` for fires missed while down), a row is written
//! by `sinks`.
//! - `clock`: injectable time, so tests drive the scheduler instead of sleeping.
//! - `telemetry`: the process's Prometheus recorder and the metrics adsync counts.
//! - `table`: aligned text tables cut to the terminal's width.
//! - `keyed`: one shared lock or semaphore per connection or query name.
//! - `platform`: the vocabulary: providers, platforms, report levels, field catalogs and
//!   each platform's constant facts (scopes, history, slice sizes, real endpoints,
//!   account-id formats, Sheets' A1 notation, Google's service-account key file).
//! - `rows`: `rows::RowBatch` (one platform page of rows, as cells or as CSV records for a CSV
//!   output) and `rows::DateWindow`.
//! - `location`: where rows are delivered, a file or a spreadsheet tab.
//! - `reason`: gap, pause and reconnect reasons as enums, with their stored names and the
//!   sentences people read.
//! - `config`: the daemon's TOML config, raw then validated (secrets redacted).
//! - `store`: connections, sealed tokens, query state, run history, the gap log, pending
//!   OAuth states and sent notifications, in sled (one daemon) or PostgreSQL (a cluster: fire
//!   claims, a refresh lock per connection, the limits the daemons share).
//! - `auth`: tokens: authorization code + PKCE, inline single-flight refresh, rotation-safe
//!   persistence, service accounts, signed reconnect links.
//! - `http`: the one API client of sources and sinks: retry/backoff, rate-limit slow-downs
//!   and request slots (cluster-wide on a shared store), refresh on 401 through `auth`,
//!   failure classes, Google's `rpc.Status`.
//! - `query`: query files: model, loading with `file:line:col` diagnostics, date windows,
//!   the parsed schedule (cron + time zone), outputs, and filters and GAQL in each
//!   platform's spelling.
//! - `catalog`: `adsync fields`: a platform's field catalog searched by words, as a table
//!   or JSON, showing the column a query file writes.
//! - `sources`: platform readers; each platform folder (e.g. `sources::meta_ads`) holds
//!   its requests, decoding and error table.
//! - `sinks`: one shape for outputs (`sinks::Sinks` builds them): a CSV file written via
//!   temp file + fsync + rename, or a Sheets tab replaced or upserted in one request.
//! - `notify`: reconnect emails, reminders, expiry warnings, recovery notes, and a query's own
//!   failures (broken, access lost, quota spent, failing run after run) (SMTP or outbox).
//! - `run`: one run of one query: source → sink, outcome and gaps recorded.
//! - `accounts`: the accounts a connection's login can read, for `adsync accounts`.
//! - `preview`: a query's first rows and row count for its current window, delivered nowhere
//!   and recorded nowhere (`adsync preview`).
//! - `backfill`: making open gaps good (append: window by window; replace: one fresh run).
//! - `status`: the status report behind `adsync status`, `GET /api/status` and `/status`.
//! - `scheduler`: the run loop: waits for each query's next fire, claims it (once across a
//!   cluster), starts runs within the global and per-connection limits.
//! - `app`: wires it all; the actions a person starts (a run, a backfill, the status, a
//!   preview, an account list).
//! - `reconnect`: after consent: take the token, verify the accounts, resume, backfill.
//! - `web`: the daemon's HTTP endpoint (reconnect links, OAuth callback, status page and
//!   API, health, manual runs and backfills).
//! - `watch`: the query directory watched and rescanned, so query files are picked up live.
//! - `daemon`: the lifecycle: web endpoint and scheduler until stopped, upkeep, keep-alive.
//! - `demo` (feature `sandbox`): `adsync demo`, the sandbox and the daemon in one process.
//!
//! The emulated platforms live in their own crate, `adsync-sandbox` (`crates/adsync-sandbox`),
//! which shares no types with this one (an emulator that reused the client's types would
//! agree with its mistakes); the default feature `sandbox` brings it in for `adsync sandbox`,
//! `adsync demo` and the bench, and `--no-default-features` leaves it out.

// Private by default: `pub` only for what the binary, the integration tests and the bench
// use, so the compiler reports dead code.
#![warn(unreachable_pub)]

pub mod accounts;
pub mod app;
pub mod auth;
pub(crate) mod backfill;
pub mod catalog;
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
pub mod preview;
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
pub mod table;
pub(crate) mod telemetry;
pub(crate) mod watch;
pub mod web;
