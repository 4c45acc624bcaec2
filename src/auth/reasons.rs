//! Why a connection needs a person: machine-readable reasons with a sentence that explains
//! them and the action that fixes them. Logs, `adsync status`, pages and emails all use these
//! words, so a reason is explained the same way everywhere.

/// A reason a connection cannot renew its token by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// Anything else; the platform's own message is kept beside it.
    Unknown,
}

impl ReconnectReason {
    const ALL: [ReconnectReason; 11] = [
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
        Self::Unknown,
    ];

    /// The name stored and shown in status JSON.
    pub fn as_str(self) -> &'static str {
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
    pub fn from_description(description: &str) -> Self {
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
    pub fn explanation(self) -> &'static str {
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
            Self::Unknown => "The platform stopped accepting the connection's login.",
        }
    }

    /// What to do about it.
    pub fn action(self) -> &'static str {
        match self {
            Self::Checkpoint => "Log in to the platform's website, complete the security check, then reconnect.",
            Self::UnconfirmedUser => "Confirm the account on the platform's website, then reconnect.",
            Self::UserRemoved => "Ask an administrator to restore access, or reconnect as a user who has it.",
            _ => "Reconnect the connection (log in again and approve adsync).",
        }
    }

    /// Explanation and action together.
    pub fn sentence(self) -> String {
        format!("{} {}", self.explanation(), self.action())
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
