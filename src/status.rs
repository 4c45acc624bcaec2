//! The status report: what `adsync status`, `GET /api/status` and (later) the status page
//! show. Its JSON keys are a contract scripts rely on: add keys, never rename them.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::ReconnectReason;
use crate::config::Config;
use crate::location::Location;
use crate::query::{Diagnostic, Query};
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
    /// `connected`, `not_connected` or `needs_reconnect` (kept from the first release).
    pub status: String,
    /// `connected`, `expiring`, `needs_reconnect` or `not_connected`.
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
        for conn in &config.connections {
            let state = store.connection(&conn.id).await?;
            let token = store.token(&conn.id).await?;
            let status = state.as_ref().map_or(ConnectionStatus::NotConnected, |s| s.status);
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
                    ConnectionStatus::NeedsReconnect => Some(reason.unwrap_or(ReconnectReason::Unknown).sentence()),
                    _ => None,
                },
                reason: reason.map(|r| r.to_string()),
                detail: state.as_ref().and_then(|s| s.detail.clone()),
                identity: token.as_ref().and_then(|t| t.identity.as_ref()).map(|i| i.name.clone()),
                access_expires_at: token.as_ref().and_then(|t| t.access_expires_at),
                refresh_expires_at: token.as_ref().and_then(|t| t.refresh_expires_at),
                scopes: token.as_ref().map(|t| t.scopes.clone()).unwrap_or_default(),
                expires_at,
                last_refresh: token.as_ref().map(|t| t.obtained_at),
                owners: conn.owners.clone(),
            });
        }
        let paused = |connection: &str| {
            connections
                .iter()
                .any(|c| c.id == connection && c.status == ConnectionStatus::NeedsReconnect.as_str())
        };
        let mut views = Vec::with_capacity(queries.len());
        for query in queries {
            let state = store.query_state(&query.name).await?.unwrap_or_default();
            let anchor = state.last_fire.or(state.tracked_since).unwrap_or(now).max(now);
            let next_fire = query.schedule.next_after(anchor);
            let last_result = store.last_run(&query.name).await?;
            views.push(QueryView {
                name: query.name.clone(),
                connection: query.connection.clone(),
                platform: query.platform.as_str().to_string(),
                output_connection: query.output.connection().map(String::from),
                pause_reason: state.paused.as_ref().map(|p| p.reason.to_string()),
                pause_detail: state.paused.as_ref().map(|p| p.detail.clone()),
                schedule: query.schedule.expr().to_string(),
                timezone: query.schedule.tz().name().to_string(),
                output: query.output.location(),
                next_fire,
                last_fire: state.last_fire,
                consecutive_failures: state.consecutive_failures,
                state: if state
                    .broken
                    .as_ref()
                    .is_some_and(|b| b.fingerprint == query.fingerprint)
                {
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

    /// The report for people.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let time = |t: &DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
        let _ = writeln!(out, "Connections:");
        for c in &self.connections {
            let _ = write!(out, "  {:<20} {:<10} {}", c.id, c.provider, c.state);
            if let Some(who) = &c.identity {
                let _ = write!(out, " as {who}");
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
