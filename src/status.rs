//! The status report: what `adsync status`, `GET /api/status` and (later) the status page
//! show. Its JSON keys are a contract scripts rely on: add keys, never rename them.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::ReconnectReason;
use crate::config::Config;
use crate::location::Location;
use crate::query::{Diagnostic, Query, QueryDir};
use crate::store::{ConnectionStatus, GapState, RunRecord, Store, StoreError, TokenSet};

/// Everything the daemon knows about its connections and queries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// When the report was made.
    pub(crate) generated_at: DateTime<Utc>,
    /// Connections, in config order.
    pub connections: Vec<ConnectionView>,
    /// Valid queries, by name.
    pub queries: Vec<QueryView>,
    /// Query files that were skipped, as `file:line:col: message`.
    pub(crate) problems: Vec<String>,
    /// Scheduled fires that delivered nothing, by query then fire time.
    pub(crate) gaps: Vec<GapView>,
}

/// One gap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct GapView {
    /// Query name.
    pub(crate) query: String,
    /// Connection the query reads through.
    pub(crate) connection: String,
    /// The fire that delivered nothing.
    pub(crate) fire_time: DateTime<Utc>,
    /// First missing date.
    pub(crate) window_start: NaiveDate,
    /// Last missing date.
    pub(crate) window_end: NaiveDate,
    /// Machine-readable reason.
    pub(crate) reason: String,
    /// The reason in words.
    pub(crate) reason_text: String,
    /// `open`, `backfilled`, `superseded` or `unrecoverable`.
    pub(crate) state: String,
}

/// One connection's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionView {
    /// Connection id.
    pub id: String,
    /// Platform.
    pub(crate) provider: String,
    /// `connected`, `not_connected`, `needs_reconnect` (kept from the first release) or
    /// `misconfigured`.
    pub status: String,
    /// `connected`, `expiring`, `needs_reconnect`, `misconfigured` or `not_connected`.
    pub state: String,
    /// The reason in words, with what to do about it.
    pub(crate) reason_text: Option<String>,
    /// When the login ends for good unless renewed by a person (a refresh token's end, or
    /// the access token's when there is no refresh token).
    pub expires_at: Option<DateTime<Utc>>,
    /// When the current access token was obtained.
    pub(crate) last_refresh: Option<DateTime<Utc>>,
    /// Since when it has this status.
    pub(crate) since: Option<DateTime<Utc>>,
    /// Machine-readable reason when not connected.
    pub(crate) reason: Option<String>,
    /// A sentence for people.
    pub detail: Option<String>,
    /// The platform user the token acts as.
    pub identity: Option<String>,
    /// Who the login belonged to before the latest consent, when that was someone else.
    pub previous_identity: Option<String>,
    /// When the current access token expires.
    pub access_expires_at: Option<DateTime<Utc>>,
    /// When the refresh token ends (LinkedIn: 365 days from consent, not extended).
    pub refresh_expires_at: Option<DateTime<Utc>>,
    /// Scopes the login was granted.
    pub(crate) scopes: Vec<String>,
    /// People responsible.
    pub(crate) owners: Vec<String>,
}

/// One query's schedule and last run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryView {
    /// Query name (file stem).
    pub name: String,
    /// Connection id.
    pub(crate) connection: String,
    /// The platform read (`meta_ads`, `google_ads`, `ga4`, `linkedin_ads`).
    pub platform: String,
    /// The connection that writes the output, when it is not a file (a Sheets tab).
    pub(crate) output_connection: Option<String>,
    /// Why the query itself is paused (`missing_access`, `missing_scope`), when it is.
    pub pause_reason: Option<String>,
    /// The pause in words, with what to do.
    pub(crate) pause_detail: Option<String>,
    /// Why the query waits on one of the connections it reads or writes through, e.g.
    /// "waits for google-demo, which still needs reconnecting".
    pub waits_for: Option<String>,
    /// Cron expression.
    pub(crate) schedule: String,
    /// IANA time zone.
    pub(crate) timezone: String,
    /// Output file, or `sheets:<spreadsheet id>/<tab>`.
    pub(crate) output: Location,
    /// Next scheduled fire.
    pub(crate) next_fire: Option<DateTime<Utc>>,
    /// Latest handled scheduled fire.
    pub(crate) last_fire: Option<DateTime<Utc>>,
    /// Failures since the last delivery.
    pub(crate) consecutive_failures: u32,
    /// `active`, `paused` while its connection needs reconnecting, or `broken` after the
    /// platform rejected the query, until its file changes.
    pub state: String,
    /// When the latest run started.
    pub(crate) last_run: Option<DateTime<Utc>>,
    /// The next scheduled run (same as `next_fire`).
    pub(crate) next_run: Option<DateTime<Utc>>,
    /// The latest run, whole.
    pub(crate) last_result: Option<RunRecord>,
    /// The query file.
    #[serde(default)]
    pub(crate) file: String,
    /// The connection it reads or writes through that stops it, when one does.
    #[serde(default)]
    pub(crate) blocked_by: Option<String>,
    /// Why it is not running as scheduled, in words, with what to do; from whatever blocks
    /// it (the platform's rejection, a connection, a pause of its own).
    #[serde(default)]
    pub(crate) state_text: Option<String>,
    /// Since when that is so.
    #[serde(default)]
    pub(crate) state_since: Option<DateTime<Utc>>,
    /// While scheduled runs fail (no delivery since): why the latest failed, as a stored
    /// reason name (`permission_denied`, `bad_query`, …).
    pub last_error_reason: Option<String>,
    /// That reason in words, with what to do.
    pub last_error_text: Option<String>,
    /// When the failures began (the first failed scheduled run since the last delivery).
    pub(crate) failing_since: Option<DateTime<Utc>>,
    /// When the file's current text does not validate and its last good version runs:
    /// "file has errors since T: …; still running the version of T0".
    #[serde(default)]
    pub file_errors: Option<String>,
    /// Since when the file has had those errors.
    #[serde(default)]
    pub(crate) file_errors_since: Option<DateTime<Utc>>,
    /// When the version that still runs was loaded.
    #[serde(default)]
    pub(crate) running_version_of: Option<DateTime<Utc>>,
}

impl ConnectionView {
    /// Whether queries that read or write through it cannot run: any state but connected
    /// (or expiring, which still works), including states added later.
    fn blocks(&self) -> bool {
        !matches!(self.state.as_str(), "connected" | "expiring")
    }

    /// Why a query waits for this connection, naming it, with what to do.
    fn blocking_text(&self) -> String {
        let id = &self.id;
        let why = self.reason_text.as_ref().or(self.detail.as_ref());
        match (self.state.as_str(), why) {
            ("not_connected", _) => format!("waits for {id}, which is not connected yet: run `adsync connect {id}`"),
            ("needs_reconnect", Some(why)) => format!("waits for {id}, which needs reconnecting: {why}"),
            ("needs_reconnect", None) => format!("waits for {id}, which needs reconnecting"),
            (state, Some(why)) => format!("waits for {id} ({}): {why}", state.replace('_', " ")),
            (state, None) => format!("waits for {id} ({})", state.replace('_', " ")),
        }
    }
}

impl StatusReport {
    /// Reads everything from the store.
    pub(crate) async fn collect(
        config: &Config,
        store: &Store,
        queries: &[Query],
        problems: &[Diagnostic],
        now: DateTime<Utc>,
    ) -> Result<Self, StoreError> {
        let mut connections = Vec::with_capacity(config.connections.len());
        let mut statuses = std::collections::HashMap::new();
        for conn in &config.connections {
            let state = store.connection(&conn.id).await?;
            let token = store.token(&conn.id).await?;
            let status = state.as_ref().map_or(ConnectionStatus::NotConnected, |s| s.status);
            statuses.insert(conn.id.as_str(), status);
            let expires_at = token.as_ref().and_then(TokenSet::hard_expiry);
            let expiring = expires_at.is_some_and(|at| config.is_expiring(at, now));
            let reason = state.as_ref().and_then(|s| s.reason);
            connections.push(ConnectionView {
                id: conn.id.clone(),
                provider: conn.provider.as_str().to_string(),
                status: status.as_str().to_string(),
                state: match status {
                    ConnectionStatus::Connected if expiring => "expiring".to_string(),
                    other => other.as_str().to_string(),
                },
                since: state.as_ref().map(|s| s.since),
                reason_text: match status {
                    ConnectionStatus::NeedsReconnect | ConnectionStatus::Misconfigured => {
                        Some(reason.unwrap_or(ReconnectReason::Unknown).sentence())
                    }
                    _ => None,
                },
                reason: reason.map(|r| r.to_string()),
                detail: state.as_ref().and_then(|s| s.detail.clone()),
                identity: token.as_ref().and_then(|t| t.identity.as_ref()).map(|i| i.name.clone()),
                previous_identity: state.as_ref().and_then(|s| s.previous_identity.clone()),
                access_expires_at: token.as_ref().and_then(|t| t.access_expires_at),
                refresh_expires_at: token.as_ref().and_then(|t| t.refresh_expires_at),
                scopes: token.as_ref().map(|t| t.scopes.clone()).unwrap_or_default(),
                expires_at,
                last_refresh: token.as_ref().map(|t| t.obtained_at),
                owners: conn.owners.clone(),
            });
        }
        let paused = |connection: &str| {
            statuses
                .get(connection)
                .is_some_and(|s: &ConnectionStatus| s.needs_a_person())
        };
        let mut views = Vec::with_capacity(queries.len());
        for query in queries {
            let state = store.query_state(&query.name).await?.unwrap_or_default();
            let anchor = state.last_fire.or(state.tracked_since).unwrap_or(now).max(now);
            let next_fire = query.schedule.next_after(anchor);
            let last_result = store.last_run(&query.name).await?;
            let broken = state.broken.as_ref().filter(|b| b.fingerprint == query.fingerprint);
            let blocker = query
                .connections()
                .find_map(|id| connections.iter().find(|c| c.id == id && c.blocks()));
            let (state_text, state_since) = match (broken, blocker, &state.paused) {
                (Some(b), _, _) => (
                    Some(format!(
                        "the platform rejected the query: {}; it runs again once {} changes",
                        b.message,
                        query.file.display()
                    )),
                    Some(b.since),
                ),
                (None, Some(c), _) => (Some(c.blocking_text()), c.since),
                (None, None, Some(p)) => (Some(p.detail.clone()), Some(p.since)),
                (None, None, None) => (None, None),
            };
            views.push(QueryView {
                name: query.name.clone(),
                connection: query.connection.clone(),
                platform: query.platform.as_str().to_string(),
                output_connection: query.output.connection().map(String::from),
                pause_reason: state.paused.as_ref().map(|p| p.reason.to_string()),
                pause_detail: state.paused.as_ref().map(|p| p.detail.clone()),
                waits_for: query
                    .connections()
                    .find_map(|c| waiting_on(c, statuses.get(c).copied().unwrap_or(ConnectionStatus::NotConnected))),
                schedule: query.schedule.expr().to_string(),
                timezone: query.schedule.tz().name().to_string(),
                output: query.output.location(),
                next_fire,
                last_fire: state.last_fire,
                consecutive_failures: state.consecutive_failures,
                state: if broken.is_some() {
                    "broken"
                } else if query.connections().any(paused) || state.paused.is_some() {
                    "paused"
                } else {
                    "active"
                }
                .to_string(),
                last_run: last_result.as_ref().map(|r| r.started),
                next_run: next_fire,
                last_result,
                file: query.file.display().to_string(),
                blocked_by: blocker.map(|c| c.id.clone()),
                state_text,
                state_since,
                last_error_reason: state.failing.as_ref().map(|f| f.reason.to_string()),
                last_error_text: state.failing.as_ref().map(|f| f.reason.sentence()),
                failing_since: state.failing.as_ref().map(|f| f.since),
                file_errors: None,
                file_errors_since: None,
                running_version_of: None,
            });
        }
        let gaps = store
            .all_gaps()
            .await?
            .into_iter()
            .map(|gap| GapView {
                // A failed write says why in the OS's words ("no space left on device").
                reason_text: match (&gap.reason, &gap.detail) {
                    (crate::reason::Reason::OutputFailed, Some(detail)) => {
                        format!("{} ({detail})", gap.reason.sentence())
                    }
                    _ => gap.reason.sentence(),
                },
                query: gap.query,
                connection: gap.connection,
                fire_time: gap.fire_time,
                window_start: gap.window.start,
                window_end: gap.window.end,
                reason: gap.reason.to_string(),
                state: gap.state.as_str().to_string(),
            })
            .collect();
        let mut problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        let writes_csv = queries
            .iter()
            .any(|q| matches!(q.output, crate::query::Output::Csv { .. }));
        if store.is_shared() && writes_csv {
            problems.extend(crate::config::missing_output_dir(&config.output_dir));
        }
        Ok(Self {
            generated_at: now,
            connections,
            queries: views,
            problems,
            gaps,
        })
    }

    /// Adds what `dir` knows about query files whose current text has errors while an
    /// earlier version runs.
    pub(crate) fn note_file_errors(&mut self, dir: &QueryDir) {
        for view in &mut self.queries {
            if let Some(stale) = dir.stale(&view.name) {
                view.file_errors = Some(stale.sentence());
                view.file_errors_since = Some(stale.errors_since);
                view.running_version_of = Some(stale.running_since);
            }
        }
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let time = |t: &DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
        let _ = writeln!(out, "Connections:");
        for c in &self.connections {
            let _ = write!(out, "  {:<20} {:<10} {}", c.id, c.provider, c.state);
            match (&c.identity, &c.previous_identity) {
                (Some(who), Some(before)) => {
                    let _ = write!(out, " now as {who} (before: {before})");
                }
                (Some(who), None) => {
                    let _ = write!(out, " as {who}");
                }
                _ => {}
            }
            if let Some(since) = &c.since {
                let _ = write!(out, " since {}", time(since));
            }
            if let Some(at) = c.expires_at {
                let days = (at - self.generated_at).num_days();
                let _ = write!(out, "; expires in {days} days");
            }
            if let Some(reason) = &c.reason_text {
                let _ = write!(out, "\n      {}: {reason}", c.reason.as_deref().unwrap_or("unknown"));
            }
            if let Some(detail) = &c.detail {
                let _ = write!(out, "\n      platform said: {detail}");
            }
            out.push('\n');
        }
        let _ = writeln!(out, "Queries:");
        for q in &self.queries {
            let last = match &q.last_result {
                None => "never ran".to_string(),
                Some(run) => match &run.error {
                    None => format!(
                        "last run {} delivered {} rows for {}",
                        time(&run.started),
                        run.rows,
                        run.window
                    ),
                    Some(e) => format!("last run {} FAILED: {e}", time(&run.started)),
                },
            };
            let next = q
                .next_run
                .map_or("not scheduled".to_string(), |t| format!("next {}", time(&t)));
            let _ = writeln!(out, "  {:<32} {:<7} {next}; {last}", q.name, q.state);
            if let Some(waits) = &q.waits_for {
                let _ = writeln!(out, "      {waits}");
            }
            if let (Some(reason), Some(text)) = (&q.last_error_reason, &q.last_error_text) {
                let since = q.failing_since.as_ref().map(time).unwrap_or_default();
                let _ = writeln!(out, "      failing since {since}, {reason}: {text}");
            }
            if let Some(errors) = &q.file_errors {
                let _ = writeln!(out, "      {errors}");
            }
        }
        let open: Vec<_> = self
            .gaps
            .iter()
            .filter(|g| g.state == GapState::Open.as_str())
            .collect();
        if !open.is_empty() {
            let _ = writeln!(out, "Open gaps (dates not delivered):");
            for g in open {
                let _ = writeln!(
                    out,
                    "  {:<32} {}..{} (fire {}): {}",
                    g.query,
                    g.window_start,
                    g.window_end,
                    time(&g.fire_time),
                    g.reason_text
                );
            }
        }
        if !self.problems.is_empty() {
            let _ = writeln!(out, "Skipped query files:");
            for p in &self.problems {
                let _ = writeln!(out, "  {p}");
            }
        }
        out
    }
}

/// Why a query waits on `connection`, in words, when its status keeps the query from running.
pub(crate) fn waiting_on(connection: &str, status: ConnectionStatus) -> Option<String> {
    match status {
        ConnectionStatus::Connected => None,
        ConnectionStatus::NeedsReconnect => Some(format!("waits for {connection}, which still needs reconnecting")),
        ConnectionStatus::NotConnected => Some(format!("waits for {connection}, which is not connected yet")),
        ConnectionStatus::Misconfigured => Some(format!(
            "waits for {connection}, whose OAuth client id or secret in the config was rejected"
        )),
    }
}
