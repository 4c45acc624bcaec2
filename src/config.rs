//! Daemon configuration: the raw TOML file, then a validated runtime [`Config`].
//!
//! The raw structs mirror the file exactly (`deny_unknown_fields`, so a typo is an error,
//! not a silently ignored setting); [`Config::load`] resolves paths, secrets from the
//! environment and environment-variable overrides, and checks what can be checked up front.
//! Every problem in a file is reported at once, each with its `file:line:col`; every
//! numeric setting has a range ([`bounds`]).

mod bounds;
mod locate;
mod oauth_server;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use self::bounds::*;
pub(crate) use self::oauth_server::{ClientAuth, IdentityEndpoint};
use crate::platform::Provider;

/// Default address of the daemon's web endpoint.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown/mistyped keys.
    #[error("{path}:{line}:{col}: {message}")]
    Parse {
        /// The config file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong.
        message: String,
    },
    /// Values are well-formed TOML but not acceptable: every one of them, one per line.
    #[error("{}", render_problems(path, problems))]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// Each setting that is wrong, in file order where the file mentions it.
        problems: Vec<ConfigProblem>,
    },
}

/// One setting that is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Which setting, e.g. `connections[0].client_secret_env`.
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
    /// 1-based line and column of the setting, when the file mentions it (not for a
    /// default or an environment override).
    pub position: Option<(usize, usize)>,
}

/// `path:line:col: field: message`, one line per problem.
fn render_problems(path: &Path, problems: &[ConfigProblem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| match p.position {
            Some((line, col)) => format!("{}:{line}:{col}: {}: {}", path.display(), p.field, p.message),
            None => format!("{}: {}: {}", path.display(), p.field, p.message),
        })
        .collect();
    lines.join("\n")
}

/// A secret string that never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub(crate) fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The config file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// Where the sled store and the secret key file live.
    data_dir: Option<PathBuf>,
    /// Directory of query files.
    queries_dir: Option<PathBuf>,
    /// Every CSV output path is relative to, and must stay inside, this directory.
    output_dir: Option<PathBuf>,
    /// Address of the web endpoint (status API, later OAuth callback).
    listen: Option<String>,
    /// The URL people reach the web endpoint at (used in links and redirect URIs).
    public_url: Option<String>,
    /// Limits on concurrent runs.
    #[serde(default)]
    scheduler: RawScheduler,
    /// Retry and timeout policy for platform requests.
    #[serde(default)]
    http: RawHttp,
    /// Token upkeep.
    #[serde(default)]
    tokens: RawTokens,
    /// The web endpoint's links and admin access.
    #[serde(default)]
    web: RawWeb,
    /// Where reconnect emails go.
    #[serde(default)]
    email: RawEmail,
    /// Google Sheets write quotas.
    #[serde(default)]
    sheets: RawSheets,
    /// Where state is kept: sled in `data_dir` (one daemon) or PostgreSQL (a cluster).
    #[serde(default)]
    store: RawStore,
    /// The platform accounts queries read from.
    #[serde(default)]
    connections: Vec<RawConnection>,
}

/// `[scheduler]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScheduler {
    /// Runs in flight across all connections.
    max_concurrent_runs: Option<u64>,
    /// Runs in flight on one connection (platform rate limits are per user/app).
    max_runs_per_connection: Option<u64>,
    /// On SIGTERM, how long runs in flight may go on before those still waiting on a
    /// platform are cancelled (their fires become gaps).
    shutdown_grace_secs: Option<u64>,
    /// How often the query directory is read again, besides when a file watcher sees it
    /// change (a safety net for file systems that do not report changes).
    rescan_secs: Option<u64>,
}

/// `[store]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    /// `sled` (default: one daemon, state in `data_dir`) or `postgres` (daemons share it).
    kind: Option<String>,
    /// Environment variable holding the PostgreSQL URL (default `ADSYNC_DATABASE_URL`).
    url_env: Option<String>,
    /// The PostgreSQL URL itself (prefer `url_env`: the URL may hold a password).
    url: Option<String>,
    /// How long a daemon's claim on a running fire lasts without renewal; after it, another
    /// daemon takes the fire over.
    lease_secs: Option<u64>,
}

/// `[web]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeb {
    /// Reconnect links stay valid this many days.
    link_ttl_days: Option<u64>,
    /// Environment variable holding the admin token that `/status` and `/api/status` require
    /// when the listener is not loopback-only (default `ADSYNC_ADMIN_TOKEN`).
    admin_token_env: Option<String>,
}

/// `[email]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmail {
    /// SMTP server; without it messages go to the outbox directory and the log.
    smtp_host: Option<String>,
    /// SMTP port (default 587 for `starttls`, 465 for `tls`, 25 for `none`).
    smtp_port: Option<u64>,
    /// `starttls` (default), `tls` or `none`.
    tls: Option<String>,
    /// SMTP user name.
    username: Option<String>,
    /// Environment variable holding the SMTP password.
    password_env: Option<String>,
    /// Sender address.
    from: Option<String>,
    /// Where `.eml` files go when no SMTP server is set (default `<data_dir>/outbox`).
    outbox_dir: Option<PathBuf>,
    /// Hours between reminders while a connection stays disconnected or a query failing.
    reminder_interval_hours: Option<u64>,
    /// Scheduled runs in a row that fail after all retries before the query's people are
    /// emailed (default 2).
    failed_runs_before_alert: Option<u64>,
}

/// `[sheets]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSheets {
    /// Write requests a minute per user (Google's default quota: 60).
    writes_per_minute_per_user: Option<u64>,
    /// Write requests a minute per Google Cloud project (Google's default quota: 300).
    writes_per_minute_per_project: Option<u64>,
}

/// `[tokens]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTokens {
    /// Flag a connection `expiring` this many days before its login ends for good.
    expiry_warning_days: Option<u64>,
    /// Refresh a token unused for this many days, so idle refresh tokens do not go stale.
    keep_alive_after_days: Option<u64>,
}

/// `[http]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    /// Retries of a transient failure before a run fails.
    max_retries: Option<u64>,
    /// First backoff delay; doubles per retry, with jitter.
    retry_initial_backoff_ms: Option<u64>,
    /// Upper bound of one backoff delay.
    retry_max_backoff_ms: Option<u64>,
    /// Whole-request timeout.
    request_timeout_secs: Option<u64>,
    /// Requests in flight on one connection, across all its runs (default 8).
    max_requests_per_connection: Option<u64>,
    /// Longest rate-limit wait a run sits out (default 900 s); a spent quota that refills
    /// later fails the run as a gap instead of holding a run slot for hours.
    max_rate_limit_wait_secs: Option<u64>,
}

/// One `[[connections]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnection {
    /// Unique id that query files name.
    id: String,
    /// Platform, e.g. `meta_ads`.
    provider: String,
    /// OAuth client id (Meta: the app id); service accounts have theirs in the key file.
    client_id: Option<String>,
    /// OAuth client secret, inline.
    client_secret: Option<String>,
    /// Name of an environment variable holding the client secret.
    client_secret_env: Option<String>,
    /// Authorization endpoint override.
    auth_url: Option<String>,
    /// Token endpoint override.
    token_url: Option<String>,
    /// API base URL override (scheme, host, port): every API of the provider is asked there
    /// instead of at its real host (the sandbox serves them all on one origin).
    api_base_url: Option<String>,
    /// API version: Graph `v25.0`, Google Ads `v26`, LinkedIn `202610` (`LinkedIn-Version`).
    api_version: Option<String>,
    /// Google Ads developer token, inline (optional since the 2026 sunset; sent when set).
    developer_token: Option<String>,
    /// Name of an environment variable holding the Google Ads developer token.
    developer_token_env: Option<String>,
    /// A Google service account's JSON key file (provider `google_service_account`),
    /// relative to the config file.
    key_file: Option<PathBuf>,
    /// OAuth scopes requested at consent.
    scopes: Option<Vec<String>>,
    /// People responsible for the connection (reconnect emails go to them).
    #[serde(default)]
    owners: Vec<String>,
    /// An OpenID Connect userinfo endpoint that names the login, for an authorization
    /// server that is not the platform's own.
    userinfo_url: Option<String>,
    /// An OpenID Connect issuer whose discovery document gives the userinfo endpoint.
    issuer: Option<String>,
    /// `client_secret_post` (default) or `client_secret_basic`.
    client_auth: Option<String>,
}

/// The validated configuration the daemon runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from, for messages.
    pub source: PathBuf,
    /// sled store and key file.
    pub data_dir: PathBuf,
    /// Query files.
    pub queries_dir: PathBuf,
    /// Root of every CSV output.
    pub(crate) output_dir: PathBuf,
    /// Web endpoint address.
    pub listen: SocketAddr,
    /// Public base URL of the web endpoint.
    pub public_url: Url,
    /// Concurrency limits.
    pub(crate) limits: RunLimits,
    /// How long a stop waits for runs in flight before cancelling those still fetching.
    pub(crate) shutdown_grace: std::time::Duration,
    /// How often the query directory is read again besides the file watcher's changes.
    pub(crate) rescan_every: std::time::Duration,
    /// Retry policy for platform calls.
    pub(crate) http: HttpPolicy,
    /// How long before a hard token expiry a connection shows as `expiring`.
    pub(crate) expiry_warning: chrono::Duration,
    /// Tokens unused this long are refreshed by the keep-alive sweep.
    pub(crate) keep_alive_after: chrono::Duration,
    /// Reconnect links stay valid this long.
    pub link_ttl: chrono::Duration,
    /// Token `/status` and `/api/status` require unless the listener is loopback-only.
    pub admin_token: Option<Secret>,
    /// Email delivery.
    pub(crate) email: EmailConfig,
    /// Google Sheets write quotas adsync keeps to.
    pub(crate) sheets: SheetsLimits,
    /// Where state is kept.
    pub store: StoreConfig,
    /// Connections by position in the file.
    pub connections: Vec<ConnectionConfig>,
}

/// `[store]`: which backend keeps the state, and how long a claim on a fire lasts.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The backend.
    pub backend: StoreBackend,
    /// A claim on a running fire lasts this long unless renewed (PostgreSQL only).
    pub(crate) lease: Duration,
}

/// Where the state lives.
#[derive(Debug, Clone)]
pub enum StoreBackend {
    /// sled in the data directory: one daemon.
    Sled,
    /// A PostgreSQL database shared by every daemon of a cluster.
    Postgres {
        /// The connection URL (may hold a password: redacted on Debug).
        url: Secret,
    },
}

/// Google Sheets write quotas: adsync spaces its writes to stay under them rather than
/// collecting 429s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SheetsLimits {
    /// Write requests a minute per user (one connection).
    pub(crate) writes_per_minute_per_user: u32,
    /// Write requests a minute per project (one OAuth client).
    pub(crate) writes_per_minute_per_project: u32,
}

/// How reconnect emails leave.
#[derive(Debug, Clone)]
pub(crate) struct EmailConfig {
    /// The SMTP server, if any.
    pub(crate) smtp: Option<SmtpConfig>,
    /// Sender address.
    pub(crate) from: String,
    /// Where messages go as `.eml` files when there is no SMTP server.
    pub(crate) outbox_dir: PathBuf,
    /// Time between reminders while a connection stays disconnected.
    pub(crate) reminder_interval: chrono::Duration,
    /// Scheduled runs in a row that fail after all retries before a query's people hear.
    pub(crate) failed_runs_before_alert: u32,
}

/// An SMTP server.
#[derive(Debug, Clone)]
pub(crate) struct SmtpConfig {
    /// Host name.
    pub(crate) host: String,
    /// Port.
    pub(crate) port: u16,
    /// Transport security.
    pub(crate) tls: SmtpTls,
    /// User name and password, when the server wants them.
    pub(crate) credentials: Option<(String, Secret)>,
}

/// SMTP transport security.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required).
    StartTls,
    /// TLS from the first byte (SMTPS).
    Tls,
    /// No encryption: loopback relays and test servers only.
    None,
}

/// Concurrency limits of the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunLimits {
    /// Runs in flight overall.
    pub(crate) max_concurrent_runs: usize,
    /// Runs in flight per connection.
    pub(crate) max_runs_per_connection: usize,
}

/// Retry and timeout policy for platform requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HttpPolicy {
    /// Retries of a transient failure.
    pub(crate) max_retries: u32,
    /// First backoff delay.
    pub(crate) initial_backoff: Duration,
    /// Largest backoff delay.
    pub(crate) max_backoff: Duration,
    /// Whole-request timeout.
    pub(crate) request_timeout: Duration,
    /// Requests in flight on one connection, across all its runs.
    pub(crate) max_requests_per_connection: usize,
    /// Longest rate-limit wait a run sits out; longer ones fail it (the quota is spent).
    pub(crate) max_rate_limit_wait: Duration,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            request_timeout: Duration::from_secs(120),
            max_requests_per_connection: 8,
            max_rate_limit_wait: Duration::from_secs(900),
        }
    }
}

/// One platform connection: OAuth client and endpoints.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Id query files name.
    pub id: String,
    /// Platform.
    pub provider: Provider,
    /// OAuth client id.
    pub(crate) client_id: String,
    /// OAuth client secret.
    pub(crate) client_secret: Secret,
    /// Authorization endpoint.
    pub(crate) auth_url: Url,
    /// Token endpoint.
    pub(crate) token_url: Url,
    /// Where the provider's APIs are asked instead of their real hosts, when set.
    pub(crate) api_base_url: Option<Url>,
    /// API version (a path segment for Graph and Google Ads, a header for LinkedIn).
    pub(crate) api_version: String,
    /// Google Ads `developer-token` header, when configured.
    pub(crate) developer_token: Option<Secret>,
    /// The JSON key file of a Google service account (its tokens come from a signed JWT,
    /// not from a person's consent).
    pub(crate) key_file: Option<PathBuf>,
    /// Scopes requested at consent.
    pub scopes: Vec<String>,
    /// People responsible for the connection.
    pub(crate) owners: Vec<String>,
    /// Where the login's identity is asked after a consent.
    pub(crate) identity_endpoint: IdentityEndpoint,
    /// How the client authenticates at the token endpoint.
    pub(crate) client_auth: ClientAuth,
}

impl ConnectionConfig {
    /// The base URL of an API whose real origin is `real`: the connection's override when it
    /// has one (tests and the sandbox), else the real host.
    pub(crate) fn api_base(&self, real: &str) -> Url {
        match &self.api_base_url {
            Some(base) => base.clone(),
            None => Url::parse(real).expect("real API origins are valid URLs"),
        }
    }
}

/// Settings given on the command line or in the environment, which win over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--data-dir` / `ADSYNC_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// `--queries-dir` / `ADSYNC_QUERIES_DIR`.
    pub queries_dir: Option<PathBuf>,
    /// `ADSYNC_OUTPUT_DIR`.
    pub output_dir: Option<PathBuf>,
    /// `ADSYNC_LISTEN`.
    pub listen: Option<String>,
    /// `ADSYNC_PUBLIC_URL`.
    pub public_url: Option<String>,
}

impl Overrides {
    /// Fills unset fields from `ADSYNC_*` environment variables.
    pub fn with_env(mut self) -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        self.data_dir = self.data_dir.or_else(|| var("ADSYNC_DATA_DIR").map(PathBuf::from));
        self.queries_dir = self
            .queries_dir
            .or_else(|| var("ADSYNC_QUERIES_DIR").map(PathBuf::from));
        self.output_dir = self.output_dir.or_else(|| var("ADSYNC_OUTPUT_DIR").map(PathBuf::from));
        self.listen = self.listen.or_else(|| var("ADSYNC_LISTEN"));
        self.public_url = self.public_url.or_else(|| var("ADSYNC_PUBLIC_URL"));
        self
    }
}

impl Config {
    /// Reads and validates the config file at `path`.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, path, base, overrides)
    }

    /// Validates config `text`; relative paths in it resolve against `base`.
    pub fn parse(text: &str, path: &Path, base: &Path, overrides: &Overrides) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map(|span| line_col(text, span.start)).unwrap_or((1, 1));
            ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                col,
                message: e.message().to_string(),
            }
        })?;
        Self::from_raw(raw, path, base, overrides).map_err(|problems| {
            let mut problems: Vec<ConfigProblem> = problems
                .into_iter()
                .map(|(field, message)| ConfigProblem {
                    position: locate::locate(text, &field),
                    field,
                    message,
                })
                .collect();
            // File order; problems the file does not place (defaults, environment) last.
            problems.sort_by_key(|p| p.position.unwrap_or((usize::MAX, 0)));
            ConfigError::Invalid {
                path: path.to_path_buf(),
                problems,
            }
        })
    }

    /// The runtime config for a parsed file, section by section; every problem names its
    /// setting, and one wrong section does not hide the problems of the others.
    fn from_raw(raw: RawConfig, path: &Path, base: &Path, overrides: &Overrides) -> Result<Self, Vec<Invalid>> {
        let mut problems = Vec::new();
        let dir = |overridden: &Option<PathBuf>, from_file: Option<PathBuf>, default: &str| {
            overridden.clone().unwrap_or_else(|| resolve(base, from_file, default))
        };
        let data_dir = dir(&overrides.data_dir, raw.data_dir, ".adsync");
        let queries_dir = dir(&overrides.queries_dir, raw.queries_dir, "queries");
        let output_dir = dir(&overrides.output_dir, raw.output_dir, "reports");
        let addresses = noted(web_addresses(overrides, raw.listen, raw.public_url), &mut problems);
        let http = http_policy(&raw.http, &mut problems);
        let limits = run_limits(&raw.scheduler, &mut problems);
        let (expiry_warning, keep_alive_after) = token_upkeep(&raw.tokens, &mut problems);
        let link_ttl = days(LINK_TTL_DAYS.read(raw.web.link_ttl_days, &mut problems));
        let shutdown_grace =
            std::time::Duration::from_secs(SHUTDOWN_GRACE_SECS.read(raw.scheduler.shutdown_grace_secs, &mut problems));
        let rescan_every = std::time::Duration::from_secs(RESCAN_SECS.read(raw.scheduler.rescan_secs, &mut problems));
        let admin_env = raw.web.admin_token_env.as_deref().unwrap_or("ADSYNC_ADMIN_TOKEN");
        let admin_token = std::env::var(admin_env).ok().filter(|t| !t.is_empty()).map(Secret::new);
        let mut raw_email = raw.email;
        let outbox_dir = match raw_email.outbox_dir.take() {
            Some(dir) => resolve(base, Some(dir), ""),
            None => data_dir.join("outbox"),
        };
        let email = email_config(raw_email, outbox_dir, &mut problems);
        let store = store_config(raw.store, &mut problems);
        let connections = connections(raw.connections, base, &mut problems);
        let sheets = SheetsLimits {
            writes_per_minute_per_user: small(
                SHEETS_WRITES_PER_USER.read(raw.sheets.writes_per_minute_per_user, &mut problems),
            ),
            writes_per_minute_per_project: small(
                SHEETS_WRITES_PER_PROJECT.read(raw.sheets.writes_per_minute_per_project, &mut problems),
            ),
        };
        let (Some((listen, public_url)), Some(email), true) = (addresses, email, problems.is_empty()) else {
            return Err(problems);
        };
        Ok(Config {
            source: path.to_path_buf(),
            data_dir,
            queries_dir,
            output_dir,
            listen,
            public_url,
            limits,
            shutdown_grace,
            rescan_every,
            http,
            expiry_warning,
            keep_alive_after,
            link_ttl,
            admin_token,
            email,
            sheets,
            store,
            connections,
        })
    }

    /// The connection with this id.
    #[cfg(test)]
    pub(crate) fn connection(&self, id: &str) -> Option<&ConnectionConfig> {
        self.connections.iter().find(|c| c.id == id)
    }

    /// What query files are validated against.
    pub fn validation_context(&self) -> ValidationContext {
        ValidationContext {
            connections: self
                .connections
                .iter()
                .map(|c| (c.id.clone(), c.provider))
                .collect::<HashMap<_, _>>(),
            output_dir: self.output_dir.clone(),
            requested_scopes: self
                .connections
                .iter()
                .map(|c| (c.id.clone(), c.scopes.clone()))
                .collect(),
        }
    }

    /// Whether a login that ends for good at `expiry` is close enough to warn about at `now`.
    pub(crate) fn is_expiring(
        &self,
        expiry: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        expiry - now <= self.expiry_warning
    }

    /// The OAuth redirect URI registered with every platform.
    pub(crate) fn redirect_url(&self) -> Url {
        let mut url = self.public_url.clone();
        url.set_path("/oauth/callback");
        url
    }
}

/// A setting that is wrong: the setting's name (e.g. `connections[0].provider`), then what
/// is wrong and how to fix it. [`Config::parse`] adds the file and position.
type Invalid = (String, String);

/// `result`'s value, or `None` with its problem added to `problems`.
fn noted<T>(result: Result<T, Invalid>, problems: &mut Vec<Invalid>) -> Option<T> {
    result.map_err(|problem| problems.push(problem)).ok()
}

/// Days from a bounded setting (at most a year, so never out of chrono's range).
fn days(n: u64) -> chrono::Duration {
    chrono::Duration::days(i64::try_from(n).unwrap_or(i64::MAX).min(36_500))
}

/// A bounded setting as `u32` (every bound fits; saturates rather than wraps otherwise).
fn small(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A bounded setting as `usize` (every bound fits).
fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A path from the file (or `default`), resolved against the config's directory.
fn resolve(base: &Path, from_file: Option<PathBuf>, default: &str) -> PathBuf {
    let p = from_file.unwrap_or_else(|| PathBuf::from(default));
    if p.is_absolute() {
        p
    } else {
        base.join(p)
    }
}

/// `listen` and `public_url`, overrides first; the public URL defaults to the listener.
fn web_addresses(
    overrides: &Overrides,
    listen: Option<String>,
    public_url: Option<String>,
) -> Result<(SocketAddr, Url), Invalid> {
    let listen_text = overrides
        .listen
        .clone()
        .or(listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let listen: SocketAddr = listen_text.parse().map_err(|_| {
        (
            "listen".to_string(),
            format!("{listen_text:?} is not an address like \"127.0.0.1:8787\""),
        )
    })?;
    let public_text = overrides
        .public_url
        .clone()
        .or(public_url)
        .unwrap_or_else(|| format!("http://{listen}"));
    let public_url = parse_url(&public_text).map_err(|m| ("public_url".to_string(), m))?;
    Ok((listen, public_url))
}

/// `[http]`, each value bounded; the largest backoff is at least the first.
fn http_policy(raw: &RawHttp, problems: &mut Vec<Invalid>) -> HttpPolicy {
    let http = HttpPolicy {
        max_retries: small(MAX_RETRIES.read(raw.max_retries, problems)),
        initial_backoff: Duration::from_millis(RETRY_INITIAL_BACKOFF_MS.read(raw.retry_initial_backoff_ms, problems)),
        max_backoff: Duration::from_millis(RETRY_MAX_BACKOFF_MS.read(raw.retry_max_backoff_ms, problems)),
        request_timeout: Duration::from_secs(REQUEST_TIMEOUT_SECS.read(raw.request_timeout_secs, problems)),
        max_requests_per_connection: count(MAX_REQUESTS_PER_CONNECTION.read(raw.max_requests_per_connection, problems)),
        max_rate_limit_wait: Duration::from_secs(MAX_RATE_LIMIT_WAIT_SECS.read(raw.max_rate_limit_wait_secs, problems)),
    };
    // A cap below the first delay would make every delay the cap: the first wins.
    HttpPolicy {
        max_backoff: http.max_backoff.max(http.initial_backoff),
        ..http
    }
}

/// `[scheduler]`, both limits bounded.
fn run_limits(raw: &RawScheduler, problems: &mut Vec<Invalid>) -> RunLimits {
    RunLimits {
        max_concurrent_runs: count(MAX_CONCURRENT_RUNS.read(raw.max_concurrent_runs, problems)),
        max_runs_per_connection: count(MAX_RUNS_PER_CONNECTION.read(raw.max_runs_per_connection, problems)),
    }
}

/// Why a daemon of a cluster cannot deliver CSV outputs: its `output_dir`, which every
/// daemon must reach (a shared file system), is missing on this host.
pub(crate) fn missing_output_dir(output_dir: &Path) -> Option<String> {
    (!output_dir.is_dir()).then(|| {
        format!(
            "the output directory {} is missing on this host; in a cluster every daemon must reach the same output_dir, so this one leaves CSV fires to the others",
            output_dir.display()
        )
    })
}

/// `[store]`: the backend, with the PostgreSQL URL read from the environment variable named
/// by `url_env` (default `ADSYNC_DATABASE_URL`) unless `url` is given; the lease bounded.
fn store_config(raw: RawStore, problems: &mut Vec<Invalid>) -> StoreConfig {
    let lease = Duration::from_secs(LEASE_SECS.read(raw.lease_secs, problems));
    let backend = match raw.kind.as_deref().unwrap_or("sled") {
        "sled" => {
            if raw.url.is_some() || raw.url_env.is_some() {
                problems.push(("store.url".into(), "only used with kind = \"postgres\"".into()));
            }
            StoreBackend::Sled
        }
        "postgres" => {
            let url = match (raw.url, raw.url_env) {
                (Some(_), Some(_)) => {
                    problems.push(("store.url".into(), "give either url or url_env, not both".into()));
                    None
                }
                (Some(url), None) => Some(url),
                (None, env) => {
                    let env = env.unwrap_or_else(|| "ADSYNC_DATABASE_URL".into());
                    let url = std::env::var(&env).ok().filter(|v| !v.is_empty());
                    if url.is_none() {
                        problems.push((
                            "store.url_env".into(),
                            format!("the environment variable {env} holding the PostgreSQL URL is not set"),
                        ));
                    }
                    url
                }
            };
            match url {
                Some(url)
                    if url.starts_with("postgres://") || url.starts_with("postgresql://") || url.contains('=') =>
                {
                    StoreBackend::Postgres { url: Secret::new(url) }
                }
                Some(_) => {
                    problems.push((
                        "store.url".into(),
                        "must be a PostgreSQL URL (postgres://user@host:port/database)".into(),
                    ));
                    StoreBackend::Sled
                }
                None => StoreBackend::Sled,
            }
        }
        other => {
            problems.push((
                "store.kind".into(),
                format!("{other:?} is not a store: use \"sled\" or \"postgres\""),
            ));
            StoreBackend::Sled
        }
    };
    StoreConfig { backend, lease }
}

/// `[tokens]`: how early an expiring login is flagged, and when an idle token is refreshed.
fn token_upkeep(raw: &RawTokens, problems: &mut Vec<Invalid>) -> (chrono::Duration, chrono::Duration) {
    (
        days(EXPIRY_WARNING_DAYS.read(raw.expiry_warning_days, problems)),
        days(KEEP_ALIVE_AFTER_DAYS.read(raw.keep_alive_after_days, problems)),
    )
}

/// `[[connections]]`, in file order; ids must be non-empty and unique. A wrong connection
/// adds its (first) problem and is left out; the others are still checked.
fn connections(raw: Vec<RawConnection>, base: &Path, problems: &mut Vec<Invalid>) -> Vec<ConnectionConfig> {
    let mut seen = HashSet::new();
    let mut connections = Vec::with_capacity(raw.len());
    for (i, rc) in raw.into_iter().enumerate() {
        let field = |name: &str| format!("connections[{i}].{name}");
        if rc.id.trim().is_empty() {
            problems.push((field("id"), "must not be empty".into()));
            continue;
        }
        if !seen.insert(rc.id.clone()) {
            problems.push((field("id"), format!("connection id {:?} is used twice", rc.id)));
            continue;
        }
        connections.extend(noted(connection_config(rc, &field, base), problems));
    }
    connections
}

/// One connection: its provider, credentials and endpoints. `field` names a key of it.
fn connection_config(
    rc: RawConnection,
    field: &dyn Fn(&str) -> String,
    base: &Path,
) -> Result<ConnectionConfig, Invalid> {
    let provider = parse_provider(&rc.provider).map_err(|m| (field("provider"), m))?;
    let key_file = service_account_key(rc.key_file, provider, field, base)?;
    let client_secret = secret_setting(rc.client_secret, rc.client_secret_env, "client_secret", field)?;
    let (client_id, client_secret) = oauth_client(rc.client_id, client_secret, provider, field)?;
    let developer_token = secret_setting(rc.developer_token, rc.developer_token_env, "developer_token", field)?;
    if developer_token.is_some() && !matches!(provider, Provider::Google | Provider::GoogleServiceAccount) {
        return Err((
            field("developer_token"),
            format!(
                "developer_token is for Google Ads; provider {:?} has none",
                provider.as_str()
            ),
        ));
    }
    let (identity_endpoint, client_auth) =
        oauth_server::read(rc.userinfo_url, rc.issuer, rc.client_auth, provider, field)?;
    let endpoints = provider.defaults();
    let url_or = |value: Option<String>, default: &str, name: &str| {
        parse_url(value.as_deref().unwrap_or(default)).map_err(|m| (field(name), m))
    };
    Ok(ConnectionConfig {
        auth_url: url_or(rc.auth_url, endpoints.auth_url, "auth_url")?,
        token_url: url_or(rc.token_url, endpoints.token_url, "token_url")?,
        api_base_url: rc
            .api_base_url
            .map(|url| parse_url(&url).map_err(|m| (field("api_base_url"), m)))
            .transpose()?,
        developer_token,
        key_file,
        api_version: rc.api_version.unwrap_or_else(|| endpoints.api_version.into()),
        scopes: rc
            .scopes
            .unwrap_or_else(|| endpoints.scopes.iter().map(|s| s.to_string()).collect()),
        id: rc.id,
        provider,
        client_id,
        client_secret,
        owners: rc.owners,
        identity_endpoint,
        client_auth,
    })
}

/// `key_file`: required of a service account (and loadable), refused of everyone else.
fn service_account_key(
    key_file: Option<PathBuf>,
    provider: Provider,
    field: &dyn Fn(&str) -> String,
    base: &Path,
) -> Result<Option<PathBuf>, Invalid> {
    match (key_file, provider == Provider::GoogleServiceAccount) {
        (Some(file), true) => {
            let file = resolve(base, Some(file), "");
            if let Err(why) = crate::platform::google_key::ServiceAccountKey::load(&file) {
                return Err((field("key_file"), why));
            }
            Ok(Some(file))
        }
        (None, true) => Err((
            field("key_file"),
            "missing: a google_service_account connection needs the account's JSON key file".into(),
        )),
        (Some(_), false) => Err((
            field("key_file"),
            format!(
                "key_file is for google_service_account; provider {:?} logs in by consent",
                provider.as_str()
            ),
        )),
        (None, false) => Ok(None),
    }
}

/// The OAuth client id and secret: both required for a consent login, neither allowed for
/// a service account (which signs in with its key file; both are then empty).
fn oauth_client(
    client_id: Option<String>,
    client_secret: Option<Secret>,
    provider: Provider,
    field: &dyn Fn(&str) -> String,
) -> Result<(String, Secret), Invalid> {
    match (client_id, client_secret, provider == Provider::GoogleServiceAccount) {
        (Some(id), Some(secret), false) => Ok((id, secret)),
        (None, None, true) => Ok((String::new(), Secret::new(String::new()))),
        (None, _, false) => Err((field("client_id"), "missing: the OAuth client id".into())),
        (Some(_), None, false) => Err((
            field("client_secret"),
            "missing: set client_secret or client_secret_env".into(),
        )),
        (_, _, true) => Err((
            field("client_id"),
            "a service account signs in with its key_file; remove client_id and client_secret".into(),
        )),
    }
}

/// A secret setting `name` of a connection, given inline or as `<name>_env`; an error names
/// the key that is wrong.
fn secret_setting(
    inline: Option<String>,
    env: Option<String>,
    name: &str,
    field: &dyn Fn(&str) -> String,
) -> Result<Option<Secret>, Invalid> {
    inline_or_env(inline, env).map_err(|(on_env, message)| {
        let key = if on_env {
            format!("{name}_env")
        } else {
            name.to_string()
        };
        (field(&key), message.replace("{key}", name))
    })
}

/// The runtime email settings; `None` when a problem was added to `problems`.
fn email_config(raw: RawEmail, outbox_dir: PathBuf, problems: &mut Vec<Invalid>) -> Option<EmailConfig> {
    let reminder_interval = chrono::Duration::hours(
        i64::try_from(REMINDER_INTERVAL_HOURS.read(raw.reminder_interval_hours, problems)).unwrap_or(24),
    );
    let port = raw.smtp_port.map(|port| SMTP_PORT.read(Some(port), problems));
    let failed_runs = u32::try_from(FAILED_RUNS_BEFORE_ALERT.read(raw.failed_runs_before_alert, problems)).unwrap_or(2);
    noted(
        smtp_and_sender(raw, port, outbox_dir, (reminder_interval, failed_runs)),
        problems,
    )
}

/// The SMTP server (when set) and the sender; errors name the field.
fn smtp_and_sender(
    raw: RawEmail,
    port: Option<u64>,
    outbox_dir: PathBuf,
    (reminder_interval, failed_runs_before_alert): (chrono::Duration, u32),
) -> Result<EmailConfig, Invalid> {
    let smtp = match raw.smtp_host {
        None => None,
        Some(host) => {
            let tls = match raw.tls.as_deref().unwrap_or("starttls") {
                "starttls" => SmtpTls::StartTls,
                "tls" => SmtpTls::Tls,
                "none" => SmtpTls::None,
                other => {
                    return Err((
                        "email.tls".into(),
                        format!("must be \"starttls\", \"tls\" or \"none\", not {other:?}"),
                    ))
                }
            };
            let credentials = match (raw.username, raw.password_env) {
                (None, None) => None,
                (Some(user), Some(var)) => match std::env::var(&var) {
                    Ok(password) => Some((user, Secret::new(password))),
                    Err(_) => {
                        return Err((
                            "email.password_env".into(),
                            format!("environment variable {var} is not set"),
                        ))
                    }
                },
                _ => return Err(("email".into(), "username and password_env go together".into())),
            };
            let port = port.and_then(|p| u16::try_from(p).ok()).unwrap_or(match tls {
                SmtpTls::StartTls => 587,
                SmtpTls::Tls => 465,
                SmtpTls::None => 25,
            });
            Some(SmtpConfig {
                host,
                port,
                tls,
                credentials,
            })
        }
    };
    let from = raw.from.unwrap_or_else(|| "adsync <adsync@localhost>".to_string());
    if from.parse::<lettre::message::Mailbox>().is_err() {
        return Err(("email.from".into(), format!("{from:?} is not an email address")));
    }
    Ok(EmailConfig {
        smtp,
        from,
        outbox_dir,
        reminder_interval,
        failed_runs_before_alert,
    })
}

/// A secret given inline or through an environment variable (never both). An error says
/// whether the `_env` key is the wrong one; `{key}` in its message stands for the key's name.
fn inline_or_env(inline: Option<String>, env: Option<String>) -> Result<Option<Secret>, (bool, String)> {
    match (inline, env) {
        (Some(s), None) => Ok(Some(Secret::new(s))),
        (None, Some(var)) => match std::env::var(&var) {
            Ok(v) if !v.is_empty() => Ok(Some(Secret::new(v))),
            _ => Err((true, format!("environment variable {var} is not set"))),
        },
        (Some(_), Some(_)) => Err((false, "set {key} or {key}_env, not both".into())),
        (None, None) => Ok(None),
    }
}

fn parse_provider(name: &str) -> Result<Provider, String> {
    Provider::parse(name).ok_or_else(|| {
        let known: Vec<String> = Provider::ALL.iter().map(|p| format!("{:?}", p.as_str())).collect();
        format!("unknown provider {name:?}; supported: {}", known.join(", "))
    })
}

fn parse_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(format!("{text:?}: scheme {other:?} is not http or https")),
    }
}

/// What a query file is checked against.
#[derive(Debug, Clone)]
pub struct ValidationContext {
    /// Connection ids from the config and their providers.
    pub(crate) connections: HashMap<String, Provider>,
    /// Outputs must resolve inside this directory. A relative directory is taken relative
    /// to the current directory; it need not exist yet.
    pub(crate) output_dir: PathBuf,
    /// The scopes each connection asks for at consent (`scopes`, or its provider's
    /// default); a connection absent here is not checked.
    pub(crate) requested_scopes: HashMap<String, Vec<String>>,
}

/// The 1-based line and character column of byte `offset` in `text`, for `file:line:col`
/// messages about TOML files (the config and query files alike).
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    // Editors do not show a byte-order mark, so it takes no column.
    let line_text = before[line_start..].trim_start_matches('\u{feff}');
    (line, line_text.chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
data_dir = "state"
output_dir = "out"
listen = "127.0.0.1:9000"

[[connections]]
id = "meta-demo"
provider = "meta_ads"
client_id = "app"
client_secret = "s3cret"
api_base_url = "http://127.0.0.1:8788"
owners = ["owner@example.com"]
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(
            text,
            Path::new("adsync.toml"),
            Path::new("/etc/adsync"),
            &Overrides::default(),
        )
    }

    #[test]
    fn relative_paths_resolve_against_the_config_directory() {
        let config = parse(GOOD).unwrap();
        assert_eq!(config.data_dir, Path::new("/etc/adsync/state"));
        assert_eq!(config.queries_dir, Path::new("/etc/adsync/queries"));
        assert_eq!(config.public_url.as_str(), "http://127.0.0.1:9000/");
        let meta = config.connection("meta-demo").unwrap();
        assert_eq!(
            meta.api_base("https://graph.facebook.com").as_str(),
            "http://127.0.0.1:8788/"
        );
        assert_eq!(
            meta.token_url.as_str(),
            "https://graph.facebook.com/v25.0/oauth/access_token"
        );
    }

    #[test]
    fn unknown_key_is_reported_with_its_position() {
        let text = GOOD.replace("owners", "ownerz");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.starts_with("adsync.toml:12:1: unknown field `ownerz`"), "{err}");
    }

    #[test]
    fn overrides_win_over_the_file() {
        let overrides = Overrides {
            data_dir: Some("/tmp/d".into()),
            ..Overrides::default()
        };
        let config = Config::parse(GOOD, Path::new("a.toml"), Path::new("/x"), &overrides).unwrap();
        assert_eq!(config.data_dir, Path::new("/tmp/d"));
    }

    #[test]
    fn secret_never_prints() {
        let config = parse(GOOD).unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
    }

    #[test]
    fn missing_secret_env_names_the_variable() {
        let text = GOOD.replace(
            "client_secret = \"s3cret\"",
            "client_secret_env = \"ADSYNC_TEST_SURELY_UNSET\"",
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("connections[0].client_secret_env"), "{err}");
        assert!(err.contains("ADSYNC_TEST_SURELY_UNSET is not set"), "{err}");
    }

    #[test]
    fn oauth_server_keys_are_read_and_a_wrong_one_is_named_at_its_line() {
        let text = GOOD.replace(
            "owners =",
            "userinfo_url = \"https://id.example/oidc/userinfo\"\nclient_auth = \"client_secret_basic\"\nowners =",
        );
        let config = parse(&text).unwrap();
        let meta = config.connection("meta-demo").unwrap();
        assert_eq!(meta.client_auth, ClientAuth::Basic);
        assert_eq!(
            meta.identity_endpoint,
            IdentityEndpoint::Userinfo(Url::parse("https://id.example/oidc/userinfo").unwrap())
        );
        let err = parse(&text.replace("client_secret_basic", "client_secret_jwt"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("adsync.toml:13:")
                && err.contains(
                    "connections[0].client_auth: \"client_secret_jwt\" is not a client authentication method; use one of client_secret_post, client_secret_basic"
                ),
            "{err}"
        );
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_position() {
        let text = format!(
            "{}\n[web]\nlink_ttl_days = 0\n\n[scheduler]\nmax_concurrent_runs = 9223372036854775807\n",
            GOOD.replace("provider = \"meta_ads\"", "provider = \"myspace\"")
        );
        let err = parse(&text).unwrap_err().to_string();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(
            lines,
            [
                "adsync.toml:8:12: connections[0].provider: unknown provider \"myspace\"; supported: \
                 \"meta_ads\", \"google\", \"linkedin_ads\", \"google_service_account\"",
                "adsync.toml:15:17: web.link_ttl_days: 0 is out of range: use 1 to 365",
                "adsync.toml:18:23: scheduler.max_concurrent_runs: 9223372036854775807 is out of range: use \
                 1 to 1000",
            ],
            "{err}"
        );
    }

    #[test]
    fn every_bounded_setting_takes_its_range_ends_and_refuses_one_past_them() {
        for bound in bounds::ALL {
            let (section, key) = bound.key.split_once('.').expect("a dotted key");
            let with = |value: u64| format!("{GOOD}\n[{section}]\n{key} = {value}\n");
            // An SMTP port needs a host to be read as one; the rest stand alone.
            let with = |value: u64| match section {
                "email" => with(value).replacen("[email]\n", "[email]\nsmtp_host = \"localhost\"\n", 1),
                _ => with(value),
            };
            for ok in [bound.min, bound.max, bound.default] {
                assert!(
                    parse(&with(ok)).is_ok(),
                    "{} = {ok}: {:?}",
                    bound.key,
                    parse(&with(ok)).err()
                );
            }
            let mut past = vec![bound.max + 1];
            past.extend(bound.min.checked_sub(1));
            for bad in past {
                let err = parse(&with(bad)).unwrap_err().to_string();
                let line = GOOD.matches('\n').count() + if section == "email" { 4 } else { 3 };
                let col = key.len() + 4;
                assert_eq!(
                    err,
                    format!(
                        "adsync.toml:{line}:{col}: {}: {bad} is out of range: use {} to {}",
                        bound.key, bound.min, bound.max
                    )
                );
            }
        }
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        assert_eq!(line_col("a = \"äöü\" x", 11), (1, 9));
        assert_eq!(line_col("x\ny = 1", 2), (2, 1));
        assert_eq!(line_col("äb", 1), (1, 1)); // inside a character: clamped
        assert_eq!(line_col("ab", 99), (1, 3));
        assert_eq!(line_col("\u{feff}a = 1", 7), (1, 5));
    }
}
