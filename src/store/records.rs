//! The records kept in the store.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::location::Location;
use crate::reason::{Reason, ReconnectReason};
use crate::rows::DateWindow;

/// Whether a connection can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// No token yet: someone must connect it first.
    NotConnected,
    /// A usable token is stored.
    Connected,
    /// The token cannot be renewed; a person must reconnect.
    NeedsReconnect,
    /// The token endpoint refuses the OAuth client itself (`client_rejected`): the config's
    /// client id or secret must be fixed; no run calls the platform until then.
    Misconfigured,
}

impl ConnectionStatus {
    /// The name used in status output.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::NotConnected => "not_connected",
            ConnectionStatus::Connected => "connected",
            ConnectionStatus::NeedsReconnect => "needs_reconnect",
            ConnectionStatus::Misconfigured => "misconfigured",
        }
    }

    /// Whether the connection's queries wait for a person (a reconnect or a config fix).
    pub(crate) fn needs_a_person(self) -> bool {
        matches!(self, ConnectionStatus::NeedsReconnect | ConnectionStatus::Misconfigured)
    }
}

/// A connection's state, as the status page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionState {
    /// Current status.
    pub status: ConnectionStatus,
    /// When it entered this status.
    pub(crate) since: DateTime<Utc>,
    /// Machine-readable reason (e.g. `password_changed`), when not connected.
    pub(crate) reason: Option<ReconnectReason>,
    /// A sentence for people.
    pub(crate) detail: Option<String>,
    /// Who the login belonged to before the latest consent, when that was someone else
    /// (a reconnect as another user), so status can name the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) previous_identity: Option<String>,
}

/// Who a token belongs to on the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Platform user id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// A connection's OAuth tokens. Only ever stored sealed; never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    /// Bearer token for API calls.
    pub access_token: String,
    /// Token that renews the access token, when the platform issues one.
    pub refresh_token: Option<String>,
    /// When the access token stops working, if known.
    pub access_expires_at: Option<DateTime<Utc>>,
    /// When the refresh token stops working, if known (LinkedIn: 365 days, not extended).
    pub refresh_expires_at: Option<DateTime<Utc>>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The platform user the token acts as.
    pub identity: Option<Identity>,
    /// When this token set was obtained.
    pub obtained_at: DateTime<Utc>,
    /// When it was last used for an API call.
    pub(crate) last_used_at: Option<DateTime<Utc>>,
    /// When the user's consent to data access ends, separately from the token (Meta's
    /// `data_access_expires_at`, about 90 days after the last login).
    #[serde(default)]
    pub data_access_expires_at: Option<DateTime<Utc>>,
    /// Renewed without a person whenever it runs out (a service account signs a new JWT), so
    /// its end is no login's end.
    #[serde(default)]
    pub(crate) self_renewing: bool,
    /// Set, and made durable, just before a refresh request goes out; cleared with the token
    /// it brings. Still set at the next refresh means the platform's answer to the last one
    /// was lost (a crash, a timeout, a store that could not save), so it may have rotated the
    /// refresh token we still hold.
    #[serde(default)]
    pub(crate) refresh_started_at: Option<DateTime<Utc>>,
}

impl TokenSet {
    /// How long before its end the access token is renewed: five minutes, or half its
    /// lifetime as issued when that is shorter, so a token that lives five minutes or less
    /// (Keycloak's default) is not refreshed on every use, nor straight after the exchange.
    pub(crate) fn refresh_margin(&self) -> Duration {
        const MARGIN: Duration = Duration::minutes(5);
        let lifetime = self.access_expires_at.map(|at| at - self.obtained_at);
        match lifetime {
            Some(lifetime) if lifetime < MARGIN * 2 => (lifetime / 2).max(Duration::zero()),
            _ => MARGIN,
        }
    }

    /// Whether the access token is within its refresh margin of its end at `now`.
    pub(crate) fn refresh_due(&self, now: DateTime<Utc>) -> bool {
        self.access_expires_at
            .is_some_and(|at| at - self.refresh_margin() <= now)
    }

    /// When the login ends for good unless a person renews it: the earliest of the refresh
    /// token's end (or the access token's, when there is no refresh token) and the end of
    /// the data-access consent. `None` when no end is known.
    pub(crate) fn hard_expiry(&self) -> Option<DateTime<Utc>> {
        if self.self_renewing {
            return None;
        }
        let login = if self.refresh_token.is_some() {
            self.refresh_expires_at
        } else {
            self.access_expires_at
        };
        [login, self.data_access_expires_at].into_iter().flatten().min()
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"***")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "***"))
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("scopes", &self.scopes)
            .field("identity", &self.identity)
            .field("obtained_at", &self.obtained_at)
            .field("refresh_started_at", &self.refresh_started_at)
            .finish()
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// No API call was made: the query's connection needs a reconnect, so a gap was recorded.
    Paused,
    /// Every row was written and the output committed.
    Delivered,
    /// Nothing was committed; the previous output is intact.
    Failed,
}

impl Outcome {
    /// The name it serializes to.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Paused => "paused",
            Outcome::Delivered => "delivered",
            Outcome::Failed => "failed",
        }
    }
}

/// One run of one query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Query name.
    pub query: String,
    /// The scheduled fire this run served (for manual runs, the start time).
    pub fire: DateTime<Utc>,
    /// When the run started.
    pub started: DateTime<Utc>,
    /// When it ended.
    pub finished: DateTime<Utc>,
    /// The dates it covered.
    pub window: DateWindow,
    /// Rows delivered (0 when failed).
    pub rows: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it failed, in words.
    pub error: Option<String>,
    /// Where the rows went.
    pub output: Option<Location>,
}

/// What the scheduler remembers about a query across restarts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryState {
    /// Set when the platform rejected the query itself: no more API calls until the file
    /// changes.
    #[serde(default)]
    pub(crate) broken: Option<BrokenQuery>,
    /// Set while the query cannot run although its connection works (`missing_access`: the
    /// reconnected user cannot see one of its accounts); cleared by the next reconnect.
    #[serde(default)]
    pub paused: Option<QueryPause>,
    /// The latest scheduled fire that was handled (delivered or failed): fires after it are
    /// due, fires at or before it are never run again.
    pub last_fire: Option<DateTime<Utc>>,
    /// The latest fire whose rows were delivered.
    pub(crate) last_delivered_fire: Option<DateTime<Utc>>,
    /// Window of the latest delivery.
    pub(crate) last_delivered_window: Option<DateWindow>,
    /// Failures since the last delivery.
    pub(crate) consecutive_failures: u32,
    /// When the scheduler first saw the query: fires after this count as missed even
    /// before the first run.
    pub(crate) tracked_since: Option<DateTime<Utc>>,
    /// The failure of the latest scheduled run, while no run has delivered since: its start
    /// keys the once-per-outage emails about the query.
    #[serde(default)]
    pub failing: Option<QueryFailure>,
}

/// A query failing since `since`, for its own reasons or its connection's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryFailure {
    /// The first failed scheduled run since the last delivery.
    pub(crate) since: DateTime<Utc>,
    /// Why the latest run failed.
    pub reason: Reason,
    /// The platform's or adsync's message about the latest failure.
    pub(crate) detail: Option<String>,
    /// When the platform said it would take requests again (a spent quota), if it did.
    #[serde(default)]
    pub(crate) until: Option<DateTime<Utc>>,
}

/// What became of a gap: a scheduled fire that delivered nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapState {
    /// Its dates are still missing from the output.
    Open,
    /// A later run delivered exactly its window.
    Backfilled,
    /// A later successful run of a `replace` query wrote a newer whole report.
    Superseded,
    /// Its dates can no longer be fetched (beyond the platform's history).
    Unrecoverable,
}

impl GapState {
    /// The name in status output.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            GapState::Open => "open",
            GapState::Backfilled => "backfilled",
            GapState::Superseded => "superseded",
            GapState::Unrecoverable => "unrecoverable",
        }
    }
}

/// One scheduled fire that delivered nothing, and why: the record that lets adsync (and a
/// person) make the missing dates good later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// Query name.
    pub(crate) query: String,
    /// Connection the query reads through.
    pub(crate) connection: String,
    /// The fire that delivered nothing.
    pub fire_time: DateTime<Utc>,
    /// The dates that fire would have delivered.
    pub window: DateWindow,
    /// Machine-readable reason (`password_changed`, `daemon_not_running`, `platform_error`, …).
    pub reason: Reason,
    /// The platform's or adsync's own message, when there is one.
    pub detail: Option<String>,
    /// Open, or how it was closed.
    pub state: GapState,
    /// When the gap was recorded.
    pub(crate) recorded_at: DateTime<Utc>,
    /// When it was closed.
    pub(crate) closed_at: Option<DateTime<Utc>>,
}

/// Why a query is broken, and which version of its file was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenQuery {
    /// The platform's message.
    pub(crate) message: String,
    /// The query file's fingerprint when it broke.
    pub(crate) fingerprint: String,
    /// When it broke.
    pub(crate) since: DateTime<Utc>,
}

impl Gap {
    /// A newly found open gap.
    pub fn open(
        query: &str,
        connection: &str,
        fire_time: DateTime<Utc>,
        window: DateWindow,
        (reason, detail): (Reason, Option<String>),
        recorded_at: DateTime<Utc>,
    ) -> Self {
        Self {
            query: query.to_string(),
            connection: connection.to_string(),
            fire_time,
            window,
            reason,
            detail,
            state: GapState::Open,
            recorded_at,
            closed_at: None,
        }
    }
}

/// An authorization in progress: started by a reconnect link, finished by the callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingState {
    /// Connection being (re)connected.
    pub(crate) connection: String,
    /// The PKCE verifier the code exchange must present.
    pub(crate) verifier: String,
    /// When the link was followed.
    pub(crate) created_at: DateTime<Utc>,
    /// After this the state is refused.
    pub(crate) expires_at: DateTime<Utc>,
}

/// Why one query is paused on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryPause {
    /// Machine-readable reason, e.g. `missing_access`.
    pub reason: Reason,
    /// Words for people, e.g. which accounts are missing.
    pub(crate) detail: String,
    /// Since when.
    pub(crate) since: DateTime<Utc>,
    /// The connection whose login the pause is about: its next consent judges it again.
    /// Absent in pauses stored before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) connection: Option<String>,
}

impl QueryPause {
    /// The pause of `query`, which needs `scope` on `connection`, whose login (by `who`) was
    /// not granted it.
    pub(crate) fn missing_scope(query: &str, connection: &str, scope: &str, who: &str, now: DateTime<Utc>) -> Self {
        Self {
            reason: Reason::MissingScope,
            detail: format!(
                "{who} did not grant {connection} the scope {scope}, which {query} needs; reconnect and allow it"
            ),
            since: now,
            connection: Some(connection.to_string()),
        }
    }

    /// The pause of a query some of whose accounts (`missing`) the login of `who` on
    /// `connection` cannot see.
    pub(crate) fn missing_access(connection: &str, who: &str, missing: &[String], now: DateTime<Utc>) -> Self {
        Self {
            reason: Reason::MissingAccess,
            detail: format!("{who} cannot see {}; reconnect as a user who can", missing.join(", ")),
            since: now,
            connection: Some(connection.to_string()),
        }
    }

    /// The pause of a query whose output (a spreadsheet) the login of `who` on `connection`
    /// cannot read or write; `why` says which call failed and the API's answer.
    pub(crate) fn output_access(connection: &str, who: &str, why: &str, now: DateTime<Utc>) -> Self {
        Self {
            reason: Reason::OutputAccess,
            detail: format!(
                "{who} {why}; share the spreadsheet with them as an editor, or reconnect {connection} as a user who can"
            ),
            since: now,
            connection: Some(connection.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issued(lifetime: Option<Duration>) -> TokenSet {
        let now = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        TokenSet {
            access_token: String::new(),
            refresh_token: Some(String::new()),
            access_expires_at: lifetime.map(|l| now + l),
            refresh_expires_at: None,
            scopes: Vec::new(),
            identity: None,
            obtained_at: now,
            last_used_at: None,
            data_access_expires_at: None,
            self_renewing: false,
            refresh_started_at: None,
        }
    }

    #[test]
    fn the_refresh_margin_is_five_minutes_or_half_the_lifetime_when_that_is_shorter() {
        for (lifetime_secs, margin_secs) in [(4, 2), (30, 15), (300, 150), (598, 299), (600, 300), (3600, 300)] {
            let token = issued(Some(Duration::seconds(lifetime_secs)));
            assert_eq!(
                token.refresh_margin(),
                Duration::seconds(margin_secs),
                "{lifetime_secs}"
            );
            let end = token.access_expires_at.unwrap();
            assert!(!token.refresh_due(token.obtained_at), "{lifetime_secs}: due at issue");
            assert!(!token.refresh_due(end - Duration::seconds(margin_secs) - Duration::milliseconds(1)));
            assert!(token.refresh_due(end - Duration::seconds(margin_secs)));
        }
        let forever = issued(None);
        assert!(!forever.refresh_due(forever.obtained_at + Duration::days(10_000)));
    }

    /// Records written before reasons and locations were typed read back as the same values
    /// and are written again as the same text.
    #[test]
    fn records_written_with_string_reasons_and_paths_read_back_unchanged() {
        let gap = r#"{"query":"q","connection":"c","fire_time":"2026-05-04T06:00:00Z","window":{"start":"2026-05-03","end":"2026-05-03"},"reason":"quota_exhausted","detail":null,"state":"open","recorded_at":"2026-05-04T06:00:01Z","closed_at":null}"#;
        let decoded: Gap = serde_json::from_str(gap).unwrap();
        assert_eq!(decoded.reason, Reason::QuotaExhausted);
        assert_eq!(serde_json::to_string(&decoded).unwrap(), gap);

        let run = r#"{"query":"q","fire":"2026-05-04T06:00:00Z","started":"2026-05-04T06:00:00Z","finished":"2026-05-04T06:00:01Z","window":{"start":"2026-05-03","end":"2026-05-03"},"rows":3,"outcome":"delivered","error":null,"output":"sheets:book-1/Daily"}"#;
        let decoded: RunRecord = serde_json::from_str(run).unwrap();
        assert_eq!(
            decoded.output,
            Some(Location::Sheet {
                spreadsheet_id: "book-1".into(),
                sheet: "Daily".into()
            })
        );
        assert_eq!(serde_json::to_string(&decoded).unwrap(), run);

        let connection =
            r#"{"status":"needs_reconnect","since":"2026-05-04T06:00:00Z","reason":"password_changed","detail":null}"#;
        let decoded: ConnectionState = serde_json::from_str(connection).unwrap();
        assert_eq!(decoded.reason, Some(ReconnectReason::PasswordChanged));
        assert_eq!(serde_json::to_string(&decoded).unwrap(), connection);
    }
}
