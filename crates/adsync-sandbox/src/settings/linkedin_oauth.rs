//! The `linkedin_oauth` part of the sandbox settings.

use serde::{Deserialize, Serialize};

/// This part of the sandbox world, in `PUT /_sandbox/settings` under its own key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Lifetime of access tokens (LinkedIn: 60 days).
    pub access_token_ttl_secs: u64,
    /// Lifetime of refresh tokens, counted from the original consent (LinkedIn: 365 days).
    pub refresh_token_ttl_secs: u64,
    /// The app is an approved Marketing Developer Platform partner, the only apps LinkedIn
    /// gives programmatic refresh tokens; without it the code exchange has no refresh token.
    pub programmatic_refresh_tokens: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 60 * 86_400,
            refresh_token_ttl_secs: 365 * 86_400,
            programmatic_refresh_tokens: true,
        }
    }
}
