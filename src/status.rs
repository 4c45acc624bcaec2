//! The status report: what `adsync status`, `GET /api/status` and (later) the status page
//! show. Its JSON keys are a contract scripts rely on: add keys, never rename them.

use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::query::{Diagnostic, Query};
use crate::run::output_path;
use crate::store::{ConnectionStatus, RunRecord, Store, StoreError};

/// Everything the daemon knows about its connections and queries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
    /// Connections, in config order.
    pub connections: Vec<ConnectionView>,
    /// Valid queries, by name.
    pub queries: Vec<QueryView>,
    /// Query files that were skipped, as `file:line:col: message`.
    pub problems: Vec<String>,
}

/// One connection's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionView {
    /// Connection id.
    pub id: String,
    /// Platform.
    pub provider: String,
    /// `connected`, `not_connected` or `needs_reconnect`.
    pub status: String,
    /// Since when it has this status.
    pub since: Option<DateTime<Utc>>,
    /// Machine-readable reason when not connected.
    pub reason: Option<String>,
    /// A sentence for people.
    pub detail: Option<String>,
    /// The platform user the token acts as.
    pub identity: Option<String>,
    /// When the current access token expires.
    pub access_expires_at: Option<DateTime<Utc>>,
    /// People responsible.
    pub owners: Vec<String>,
}

/// One query's schedule and last run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryView {
    /// Query name (file stem).
    pub name: String,
    /// Connection id.
    pub connection: String,
    /// Cron expression.
    pub schedule: String,
    /// IANA time zone.
    pub timezone: String,
    /// Output file.
    pub output: PathBuf,
    /// Next scheduled fire.
    pub next_fire: Option<DateTime<Utc>>,
    /// Latest handled scheduled fire.
    pub last_fire: Option<DateTime<Utc>>,
    /// Failures since the last delivery.
    pub consecutive_failures: u32,
    /// The most recent run.
    pub last_run: Option<RunRecord>,
}

impl StatusReport {
    /// Reads the report from the store.
    pub fn collect(
        config: &Config,
        store: &Store,
        queries: &[Query],
        problems: &[Diagnostic],
        now: DateTime<Utc>,
    ) -> Result<Self, StoreError> {
        let mut connections = Vec::with_capacity(config.connections.len());
        for conn in &config.connections {
            let state = store.connection(&conn.id)?;
            let token = store.token(&conn.id)?;
            connections.push(ConnectionView {
                id: conn.id.clone(),
                provider: conn.provider.as_str().to_string(),
                status: state
                    .as_ref()
                    .map_or(ConnectionStatus::NotConnected, |s| s.status)
                    .as_str()
                    .to_string(),
                since: state.as_ref().map(|s| s.since),
                reason: state.as_ref().and_then(|s| s.reason.clone()),
                detail: state.as_ref().and_then(|s| s.detail.clone()),
                identity: token.as_ref().and_then(|t| t.identity.as_ref()).map(|i| i.name.clone()),
                access_expires_at: token.as_ref().and_then(|t| t.access_expires_at),
                owners: conn.owners.clone(),
            });
        }
        let mut views = Vec::with_capacity(queries.len());
        for query in queries {
            let state = store.query_state(&query.name)?.unwrap_or_default();
            let anchor = state.last_fire.or(state.tracked_since).unwrap_or(now).max(now);
            views.push(QueryView {
                name: query.name.clone(),
                connection: query.connection.clone(),
                schedule: query.schedule.expr().to_string(),
                timezone: query.schedule.tz().name().to_string(),
                output: output_path(query),
                next_fire: query.schedule.next_after(anchor),
                last_fire: state.last_fire,
                consecutive_failures: state.consecutive_failures,
                last_run: store.last_run(&query.name)?,
            });
        }
        Ok(Self {
            generated_at: now,
            connections,
            queries: views,
            problems: problems.iter().map(ToString::to_string).collect(),
        })
    }

    /// The report as plain text for a terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Connections:");
        for c in &self.connections {
            let _ = write!(out, "  {:<20} {:<10} {}", c.id, c.provider, c.status);
            if let Some(who) = &c.identity {
                let _ = write!(out, " as {who}");
            }
            if let Some(detail) = &c.detail {
                let _ = write!(out, " — {detail}");
            }
            out.push('\n');
        }
        let _ = writeln!(out, "Queries:");
        for q in &self.queries {
            let last = match &q.last_run {
                None => "never ran".to_string(),
                Some(run) => match &run.error {
                    None => format!(
                        "last run {} delivered {} rows for {}",
                        run.started.format("%Y-%m-%d %H:%M UTC"),
                        run.rows,
                        run.window
                    ),
                    Some(e) => format!("last run {} FAILED: {e}", run.started.format("%Y-%m-%d %H:%M UTC")),
                },
            };
            let next = q.next_fire.map_or("not scheduled".to_string(), |t| {
                format!("next {}", t.format("%Y-%m-%d %H:%M UTC"))
            });
            let _ = writeln!(out, "  {:<32} {next}; {last}", q.name);
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
