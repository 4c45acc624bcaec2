//! Prometheus metrics: the process-wide recorder, and the names and labels of what adsync
//! counts. `GET /metrics` renders them (the web layer adds the gauges it reads from the store
//! at scrape time).

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Runs by `outcome` (delivered, failed, paused) and `platform`.
const RUNS: &str = "adsync_runs_total";
/// Rows written by delivered runs, by `platform`.
const ROWS: &str = "adsync_rows_delivered_total";
/// How long runs took, by `platform`.
const RUN_SECONDS: &str = "adsync_run_duration_seconds";
/// Token refreshes by `outcome` (ok, needs_reconnect, error).
const REFRESHES: &str = "adsync_token_refreshes_total";
/// Platform API responses by HTTP `status` ("error" when no response came).
const REQUESTS: &str = "adsync_platform_requests_total";
/// Waits platform rate limits imposed on a connection's requests (`_sum` is the seconds).
const RATE_LIMIT_WAIT: &str = "adsync_rate_limit_wait_seconds";

/// Rate-limit waits run from a second (Retry-After) to the hour a spent quota may take.
const RATE_LIMIT_WAIT_BUCKETS: &[f64] = &[1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0];
/// Run durations span a second (a small CSV) to many minutes (a big backfill).
const RUN_SECONDS_BUCKETS: &[f64] = &[0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0];

/// The recorder's handle. The `metrics` facade admits one global recorder per process, and a
/// test binary builds many daemons, so it is installed once and shared by all of them.
pub(crate) fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(RUN_SECONDS.to_string()), RUN_SECONDS_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(RATE_LIMIT_WAIT.to_string()), RATE_LIMIT_WAIT_BUCKETS))
            .expect("the bucket lists are not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Fails only if something else installed a recorder first; then adsync's metrics go
        // there and `/metrics` shows none of them, which is logged rather than fatal.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("Another metrics recorder is installed; /metrics will not show adsync's counters.");
        }
        describe();
        handle
    })
}

/// The states a connection's gauge is shown for, zero included (the status report's).
const CONNECTION_STATES: &[&str] = &[
    "connected",
    "expiring",
    "needs_reconnect",
    "misconfigured",
    "not_connected",
];

/// The exposition text: the recorder's metrics, then the gauges read from the store at
/// scrape time (a recorder gauge would keep a state no connection has any more).
pub(crate) fn render<'a>(connection_states: impl IntoIterator<Item = &'a str> + Clone, open_gaps: usize) -> String {
    let mut text = handle().render();
    text.push_str("# HELP adsync_connections Configured connections by state.\n");
    text.push_str("# TYPE adsync_connections gauge\n");
    for state in CONNECTION_STATES {
        let count = connection_states.clone().into_iter().filter(|s| s == state).count();
        text.push_str(&format!("adsync_connections{{state=\"{state}\"}} {count}\n"));
    }
    text.push_str("# HELP adsync_open_gaps Scheduled fires that delivered nothing and are not backfilled yet.\n");
    text.push_str("# TYPE adsync_open_gaps gauge\n");
    text.push_str(&format!("adsync_open_gaps {open_gaps}\n"));
    text
}

/// The `# HELP` lines.
fn describe() {
    metrics::describe_counter!(RUNS, "Runs by outcome and platform.");
    metrics::describe_counter!(ROWS, "Rows written by delivered runs.");
    metrics::describe_histogram!(RUN_SECONDS, metrics::Unit::Seconds, "How long runs took.");
    metrics::describe_counter!(REFRESHES, "Refresh-token exchanges by outcome.");
    metrics::describe_counter!(REQUESTS, "Platform API answers by HTTP status.");
    metrics::describe_histogram!(
        RATE_LIMIT_WAIT,
        metrics::Unit::Seconds,
        "Waits platform rate limits imposed on a connection's requests."
    );
}

/// A finished run.
pub(crate) fn run_finished(platform: &'static str, outcome: &'static str, rows: u64, took: Duration) {
    metrics::counter!(RUNS, "outcome" => outcome, "platform" => platform).increment(1);
    if rows > 0 {
        metrics::counter!(ROWS, "platform" => platform).increment(rows);
    }
    metrics::histogram!(RUN_SECONDS, "platform" => platform).record(took.as_secs_f64());
}

/// A finished refresh-token exchange.
pub(crate) fn token_refreshed(outcome: &'static str) {
    metrics::counter!(REFRESHES, "outcome" => outcome).increment(1);
}

/// A platform API request's answer: its HTTP status, or `None` when none came.
pub(crate) fn platform_request(status: Option<u16>) {
    let status = status.map_or_else(|| "error".to_string(), |s| s.to_string());
    metrics::counter!(REQUESTS, "status" => status).increment(1);
}

/// A rate-limit wait imposed on a connection's requests.
pub(crate) fn rate_limited(wait: Duration) {
    metrics::histogram!(RATE_LIMIT_WAIT).record(wait.as_secs_f64());
}
