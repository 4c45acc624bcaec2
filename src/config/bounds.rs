//! The accepted range of every numeric setting, in one table: read at load (and so by
//! `check`), listed in the README, and walked end to end by a test. A value outside its range
//! is refused with its position instead of reaching arithmetic or an allocator that would
//! panic on it (a 100,000,000-day link lifetime overflowed the expiry; 2^63−1 run slots
//! exceeded tokio's semaphore).

use super::Invalid;

/// One numeric setting: its dotted key, inclusive range, default and unit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bound {
    /// As written in the file, e.g. `web.link_ttl_days`.
    pub(crate) key: &'static str,
    /// Smallest accepted value.
    pub(crate) min: u64,
    /// Largest accepted value.
    pub(crate) max: u64,
    /// Used when the key is absent.
    pub(crate) default: u64,
}

impl Bound {
    /// `value` (or the default when absent) when inside the range; otherwise a problem naming
    /// the key and the range is added to `problems` and the default stands in, so the rest of
    /// the file is still checked.
    pub(crate) fn read(&self, value: Option<u64>, problems: &mut Vec<Invalid>) -> u64 {
        match value {
            None => self.default,
            Some(v) if (self.min..=self.max).contains(&v) => v,
            Some(v) => {
                problems.push((
                    self.key.to_string(),
                    format!("{v} is out of range: use {} to {}", self.min, self.max),
                ));
                self.default
            }
        }
    }
}

const fn bound(key: &'static str, min: u64, max: u64, default: u64) -> Bound {
    Bound { key, min, max, default }
}

/// `scheduler.max_concurrent_runs`: each run holds a few pages and sockets; a thousand is far
/// past any platform's rate limits.
pub(crate) const MAX_CONCURRENT_RUNS: Bound = bound("scheduler.max_concurrent_runs", 1, 1000, 8);
/// `scheduler.max_runs_per_connection`.
pub(crate) const MAX_RUNS_PER_CONNECTION: Bound = bound("scheduler.max_runs_per_connection", 1, 1000, 2);
/// `scheduler.shutdown_grace_secs`: how long a stop waits for runs in flight; an hour at
/// most (a supervisor's stop timeout is far shorter: systemd's default is 90 s).
pub(crate) const SHUTDOWN_GRACE_SECS: Bound = bound("scheduler.shutdown_grace_secs", 0, 3600, 30);
/// `scheduler.rescan_secs`: how often the query directory is read again besides the file
/// watcher's changes; a day at most.
pub(crate) const RESCAN_SECS: Bound = bound("scheduler.rescan_secs", 1, 86_400, 30);
/// `http.max_retries`.
pub(crate) const MAX_RETRIES: Bound = bound("http.max_retries", 0, 20, 4);
/// `http.retry_initial_backoff_ms`: up to a minute.
pub(crate) const RETRY_INITIAL_BACKOFF_MS: Bound = bound("http.retry_initial_backoff_ms", 1, 60_000, 500);
/// `http.retry_max_backoff_ms`: up to an hour.
pub(crate) const RETRY_MAX_BACKOFF_MS: Bound = bound("http.retry_max_backoff_ms", 1, 3_600_000, 30_000);
/// `http.request_timeout_secs`: up to an hour.
pub(crate) const REQUEST_TIMEOUT_SECS: Bound = bound("http.request_timeout_secs", 1, 3600, 120);
/// `http.max_requests_per_connection`.
pub(crate) const MAX_REQUESTS_PER_CONNECTION: Bound = bound("http.max_requests_per_connection", 1, 256, 8);
/// `http.max_rate_limit_wait_secs`: up to a day.
pub(crate) const MAX_RATE_LIMIT_WAIT_SECS: Bound = bound("http.max_rate_limit_wait_secs", 0, 86_400, 900);
/// `tokens.expiry_warning_days`.
pub(crate) const EXPIRY_WARNING_DAYS: Bound = bound("tokens.expiry_warning_days", 0, 365, 7);
/// `tokens.keep_alive_after_days`.
pub(crate) const KEEP_ALIVE_AFTER_DAYS: Bound = bound("tokens.keep_alive_after_days", 1, 365, 7);
/// `web.link_ttl_days`: a link lives at least a day and at most a year.
pub(crate) const LINK_TTL_DAYS: Bound = bound("web.link_ttl_days", 1, 365, 7);
/// `email.reminder_interval_hours`: up to a year.
pub(crate) const REMINDER_INTERVAL_HOURS: Bound = bound("email.reminder_interval_hours", 1, 8760, 24);
/// `email.failed_runs_before_alert`: scheduled runs in a row that fail after all retries
/// before the query's people are told (a single failure is often the platform's bad minute).
pub(crate) const FAILED_RUNS_BEFORE_ALERT: Bound = bound("email.failed_runs_before_alert", 1, 1000, 2);
/// `email.smtp_port`: the default depends on `email.tls`.
pub(crate) const SMTP_PORT: Bound = bound("email.smtp_port", 1, 65_535, 587);
/// `sheets.writes_per_minute_per_user` (Google's default quota: 60).
pub(crate) const SHEETS_WRITES_PER_USER: Bound = bound("sheets.writes_per_minute_per_user", 1, 100_000, 60);
/// `sheets.writes_per_minute_per_project` (Google's default quota: 300).
pub(crate) const SHEETS_WRITES_PER_PROJECT: Bound = bound("sheets.writes_per_minute_per_project", 1, 100_000, 300);
/// `store.lease_secs`: long enough to be renewed over a slow database (renewed every third
/// of it), short enough that a dead daemon's fire is taken over within the hour.
pub(crate) const LEASE_SECS: Bound = bound("store.lease_secs", 2, 3600, 30);

/// Every bounded setting, for the README table and the test that walks them.
#[cfg(test)]
pub(crate) const ALL: [Bound; 19] = [
    MAX_CONCURRENT_RUNS,
    SHUTDOWN_GRACE_SECS,
    RESCAN_SECS,
    MAX_RUNS_PER_CONNECTION,
    MAX_RETRIES,
    RETRY_INITIAL_BACKOFF_MS,
    RETRY_MAX_BACKOFF_MS,
    REQUEST_TIMEOUT_SECS,
    MAX_REQUESTS_PER_CONNECTION,
    MAX_RATE_LIMIT_WAIT_SECS,
    EXPIRY_WARNING_DAYS,
    KEEP_ALIVE_AFTER_DAYS,
    LINK_TTL_DAYS,
    REMINDER_INTERVAL_HOURS,
    FAILED_RUNS_BEFORE_ALERT,
    SMTP_PORT,
    SHEETS_WRITES_PER_USER,
    SHEETS_WRITES_PER_PROJECT,
    LEASE_SECS,
];
