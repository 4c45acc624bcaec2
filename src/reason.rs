//! Why a fire delivered nothing, a query is paused or a connection needs a person: the
//! product's reasons as enums, each stored and shown as a fixed name (the strings the store
//! and the status JSON have always held) and explained by its sentence here, so logs,
//! `adsync status`, pages and emails explain a reason the same way everywhere, and a
//! misspelt reason does not compile.
//!
//! It sits below the store (whose records hold these enums) and imports nothing of the crate.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A reason a connection cannot renew its token by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", from = "String")]
pub enum ReconnectReason {
    /// Graph subcode 460.
    PasswordChanged,
    /// Graph subcode 458: the user removed the app.
    AppRemoved,
    /// Graph subcode 459: a security checkpoint on the platform.
    Checkpoint,
    /// Graph subcode 463, or a refresh token past its lifetime.
    Expired,
    /// Graph subcode 464.
    UnconfirmedUser,
    /// Graph subcode 467: the user logged out of all sessions.
    LoggedOut,
    /// `invalid_grant` on refresh, LinkedIn 65601: the platform revoked the grant.
    Revoked,
    /// The user turned on two-factor authentication, which invalidates sessions.
    TwoFactorEnabled,
    /// An admin removed the user from the business or ad account.
    UserRemoved,
    /// The platform never issued a refresh token and the access token died.
    NoRefreshToken,
    /// `invalid_grant` after a refresh whose answer adsync never received: the platform had
    /// rotated the refresh token, the old one was presented again, and reuse detection
    /// (RFC 9700 §4.14) revoked the grant. The cause is on adsync's side, not the user's.
    RefreshAnswerLost,
    /// `invalid_client` or `unauthorized_client` from the token endpoint: the platform
    /// refuses the OAuth client itself (its id or secret in the config), not the login. The
    /// connection is `misconfigured` rather than waiting for a reconnect.
    ClientRejected,
    /// Anything else; the platform's own message is kept beside it.
    Unknown,
}

impl ReconnectReason {
    /// Every reason.
    pub(crate) const ALL: [ReconnectReason; 13] = [
        Self::PasswordChanged,
        Self::AppRemoved,
        Self::Checkpoint,
        Self::Expired,
        Self::UnconfirmedUser,
        Self::LoggedOut,
        Self::Revoked,
        Self::TwoFactorEnabled,
        Self::UserRemoved,
        Self::NoRefreshToken,
        Self::RefreshAnswerLost,
        Self::ClientRejected,
        Self::Unknown,
    ];

    /// The name stored and shown in status JSON.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::PasswordChanged => "password_changed",
            Self::AppRemoved => "app_removed",
            Self::Checkpoint => "checkpoint",
            Self::Expired => "expired",
            Self::UnconfirmedUser => "unconfirmed_user",
            Self::LoggedOut => "logged_out",
            Self::Revoked => "revoked",
            Self::TwoFactorEnabled => "two_factor_enabled",
            Self::UserRemoved => "user_removed",
            Self::NoRefreshToken => "no_refresh_token",
            Self::RefreshAnswerLost => "refresh_answer_lost",
            Self::ClientRejected => "client_rejected",
            Self::Unknown => "unknown",
        }
    }

    /// The reason for a stored name; unknown names read as [`ReconnectReason::Unknown`].
    pub fn parse(name: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == name)
            .unwrap_or(Self::Unknown)
    }

    /// A best guess from a token endpoint's `error_description`, for platforms that explain
    /// an `invalid_grant` only in words. "Expired or revoked" (Google's wording) is revoked.
    pub(crate) fn from_description(description: &str) -> Self {
        let text = description.to_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
        if has(&["password"]) {
            Self::PasswordChanged
        } else if has(&["two-factor", "two factor", "2fa", "2-step"]) {
            Self::TwoFactorEnabled
        } else if has(&["removed the app", "deauthori", "not authorized application"]) {
            Self::AppRemoved
        } else if has(&["checkpoint", "security check"]) {
            Self::Checkpoint
        } else if has(&["not confirmed", "unconfirmed"]) {
            Self::UnconfirmedUser
        } else if has(&["removed from", "no longer a member"]) {
            Self::UserRemoved
        } else if has(&["revoked"]) {
            Self::Revoked
        } else if has(&["expired", "not used for too long"]) {
            Self::Expired
        } else {
            Self::Revoked
        }
    }

    /// What happened, in one sentence.
    pub(crate) fn explanation(self) -> &'static str {
        match self {
            Self::PasswordChanged => {
                "The password of the connected user was changed, which ended the session adsync was using."
            }
            Self::AppRemoved => "The connected user removed the adsync app from their account settings.",
            Self::Checkpoint => "The platform put a security check on the connected user's account.",
            Self::Expired => "The connection's login expired and can no longer be renewed automatically.",
            Self::UnconfirmedUser => "The connected user's account is not confirmed with the platform.",
            Self::LoggedOut => "The connected user logged out of all sessions, which ended adsync's session too.",
            Self::Revoked => "The platform revoked adsync's access for this connection.",
            Self::TwoFactorEnabled => {
                "Two-factor authentication was turned on for the connected user, which ended existing sessions."
            }
            Self::UserRemoved => "An administrator removed the connected user from the business or ad account.",
            Self::NoRefreshToken => {
                "The platform gave adsync no way to renew the login, and the current one has ended."
            }
            Self::RefreshAnswerLost => {
                "adsync lost the platform's answer to a token refresh (a crash, a timeout or a store that could not be written), and the platform revoked the login as a safety measure."
            }
            Self::ClientRejected => "The OAuth client id or secret in the config was rejected by the platform's login service.",
            Self::Unknown => "The platform stopped accepting the connection's login.",
        }
    }

    /// What to do about it.
    pub(crate) fn action(self) -> &'static str {
        match self {
            Self::Checkpoint => "Log in to the platform's website, complete the security check, then reconnect.",
            Self::UnconfirmedUser => "Confirm the account on the platform's website, then reconnect.",
            Self::UserRemoved => "Ask an administrator to restore access, or reconnect as a user who has it.",
            Self::RefreshAnswerLost => {
                "Reconnect it (log in again and approve adsync); nothing changed on your account."
            }
            Self::ClientRejected => {
                "Check the connection's client_id and client_secret in the config against the platform's developer console and restart adsync; if the app was replaced on purpose, reconnect instead."
            }
            _ => "Reconnect the connection (log in again and approve adsync).",
        }
    }

    /// Explanation and action together.
    pub fn sentence(self) -> String {
        format!("{} {}", self.explanation(), self.action())
    }
}

impl From<ReconnectReason> for &'static str {
    fn from(reason: ReconnectReason) -> Self {
        reason.as_str()
    }
}

impl From<String> for ReconnectReason {
    fn from(name: String) -> Self {
        Self::parse(&name)
    }
}

impl fmt::Display for ReconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for ReconnectReason {
    fn eq(&self, name: &str) -> bool {
        self.as_str() == name
    }
}

impl PartialEq<&str> for ReconnectReason {
    fn eq(&self, name: &&str) -> bool {
        self.as_str() == *name
    }
}

/// Why a scheduled fire delivered nothing (a gap) or a query is paused on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", from = "String")]
pub enum Reason {
    /// `daemon_not_running`: the fire passed while adsync was down.
    DaemonNotRunning,
    /// `platform_error`: the platform kept failing after every retry.
    PlatformError,
    /// `permission_denied`: the login lacks access to an account or report.
    PermissionDenied,
    /// `bad_query`: the platform rejected the query itself.
    BadQuery,
    /// `output_failed`: the output could not be written.
    OutputFailed,
    /// `not_connected`: the connection was never connected.
    NotConnected,
    /// `token_endpoint_failed`: renewing the token failed on the platform's side.
    TokenEndpointFailed,
    /// `unknown_connection`: the query names a connection the config lacks.
    UnknownConnection,
    /// `quota_exhausted`: the platform's quota for the connection is used up.
    QuotaExhausted,
    /// `missing_access`: the reconnected user cannot see one of the query's accounts.
    MissingAccess,
    /// `missing_scope`: the login was not granted a scope the query needs.
    MissingScope,
    /// `output_access`: the reconnected user cannot read or write the query's spreadsheet.
    OutputAccess,
    /// The connection needs a person; stored under the [`ReconnectReason`]'s own name.
    Reconnect(ReconnectReason),
}

impl Reason {
    /// Every reason that is not a [`ReconnectReason`].
    const OWN: [Reason; 12] = [
        Self::DaemonNotRunning,
        Self::PlatformError,
        Self::PermissionDenied,
        Self::BadQuery,
        Self::OutputFailed,
        Self::NotConnected,
        Self::TokenEndpointFailed,
        Self::UnknownConnection,
        Self::QuotaExhausted,
        Self::MissingAccess,
        Self::MissingScope,
        Self::OutputAccess,
    ];

    /// The name stored and shown in status JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DaemonNotRunning => "daemon_not_running",
            Self::PlatformError => "platform_error",
            Self::PermissionDenied => "permission_denied",
            Self::BadQuery => "bad_query",
            Self::OutputFailed => "output_failed",
            Self::NotConnected => "not_connected",
            Self::TokenEndpointFailed => "token_endpoint_failed",
            Self::UnknownConnection => "unknown_connection",
            Self::QuotaExhausted => "quota_exhausted",
            Self::MissingAccess => "missing_access",
            Self::MissingScope => "missing_scope",
            Self::OutputAccess => "output_access",
            Self::Reconnect(reason) => reason.as_str(),
        }
    }

    /// The reason for a stored name; names of neither kind read as
    /// [`ReconnectReason::Unknown`], as they always were explained.
    pub(crate) fn parse(name: &str) -> Self {
        Self::OWN
            .into_iter()
            .find(|r| r.as_str() == name)
            .unwrap_or_else(|| Self::Reconnect(ReconnectReason::parse(name)))
    }

    /// The reason in words, with what to do where a person can do something.
    pub(crate) fn sentence(self) -> String {
        let own = match self {
            Self::DaemonNotRunning => "adsync was not running at the scheduled time.",
            Self::PlatformError => "The platform kept failing after every retry.",
            Self::PermissionDenied => "The connected user has no access to an account or report of this query.",
            Self::BadQuery => {
                "The platform rejected the query (unknown field or invalid breakdown); fix the query file."
            }
            Self::OutputFailed => "The output could not be written.",
            Self::NotConnected => "The connection was never connected.",
            Self::TokenEndpointFailed => "The platform's login service failed while renewing the token.",
            Self::UnknownConnection => "The query names a connection that is not configured.",
            Self::QuotaExhausted => {
                "The platform's quota for this connection was used up; the gap is backfilled once it refills."
            }
            Self::MissingAccess => {
                "The reconnected user cannot see one of the query's accounts; reconnect as a user who can."
            }
            Self::MissingScope => {
                "The login was not granted this platform's permission (scope); reconnect and allow it."
            }
            Self::OutputAccess => {
                "The reconnected user cannot write the query's spreadsheet; share it with them as an editor, or reconnect as a user who can."
            }
            Self::Reconnect(reason) => return reason.sentence(),
        };
        own.to_string()
    }
}

impl From<ReconnectReason> for Reason {
    fn from(reason: ReconnectReason) -> Self {
        Self::Reconnect(reason)
    }
}

impl From<Reason> for &'static str {
    fn from(reason: Reason) -> Self {
        reason.as_str()
    }
}

impl From<String> for Reason {
    fn from(name: String) -> Self {
        Self::parse(&name)
    }
}

impl From<&str> for Reason {
    fn from(name: &str) -> Self {
        Self::parse(name)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Reason {
    fn eq(&self, name: &str) -> bool {
        self.as_str() == name
    }
}

impl PartialEq<&str> for Reason {
    fn eq(&self, name: &&str) -> bool {
        self.as_str() == *name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_unknown() {
        for reason in ReconnectReason::ALL {
            assert_eq!(ReconnectReason::parse(reason.as_str()), reason);
            assert!(reason.sentence().ends_with('.'));
        }
        assert_eq!(ReconnectReason::parse("solar_flare"), ReconnectReason::Unknown);
    }

    #[test]
    fn every_reason_round_trips_through_its_stored_name_and_has_a_sentence() {
        let all = Reason::OWN
            .into_iter()
            .chain(ReconnectReason::ALL.into_iter().map(Reason::Reconnect));
        let mut names = std::collections::HashSet::new();
        for reason in all {
            assert!(names.insert(reason.as_str()), "{reason} named twice");
            assert_eq!(Reason::parse(reason.as_str()), reason);
            let json = serde_json::to_string(&reason).unwrap();
            assert_eq!(json, format!("\"{}\"", reason.as_str()));
            assert_eq!(serde_json::from_str::<Reason>(&json).unwrap(), reason);
            assert!(reason.sentence().ends_with('.'), "{reason}");
        }
        assert_eq!(names.len(), 25);
        assert_eq!(
            serde_json::from_str::<Reason>("\"solar_flare\"").unwrap(),
            Reason::Reconnect(ReconnectReason::Unknown)
        );
        let reconnect: ReconnectReason = serde_json::from_str("\"password_changed\"").unwrap();
        assert_eq!(reconnect, ReconnectReason::PasswordChanged);
    }

    #[test]
    fn token_endpoint_wording_maps_to_reasons() {
        let cases = [
            (
                "The refresh token was revoked because the user changed their password.",
                "password_changed",
            ),
            ("Token has been expired or revoked.", "revoked"),
            ("The refresh token has expired.", "expired"),
            (
                "The refresh token was revoked because the user removed the app.",
                "app_removed",
            ),
            ("Bad Request", "revoked"),
        ];
        for (description, reason) in cases {
            assert_eq!(
                ReconnectReason::from_description(description).as_str(),
                reason,
                "{description}"
            );
        }
    }
}
