//! The `google_oauth` part of the sandbox settings.

use serde::{Deserialize, Serialize};

/// This part of the sandbox world, in `PUT /_sandbox/settings` under its own key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Lifetime of access tokens (Google: 3599 s).
    pub access_token_ttl_secs: u64,
    /// Refresh tokens die after this long unused (Google: six months; 180 days here).
    pub refresh_token_idle_secs: u64,
    /// The app is an External app with publishing status "Testing": refresh tokens die 7
    /// days after issue, unless only sign-in scopes (`openid`, `email`, `profile`) were granted.
    pub testing_mode: bool,
    /// Act as a standards-conformant OpenID Connect server that is not Google: userinfo at
    /// `/oidc/userinfo` (Google's `/v1/userinfo` answers 404), as the discovery document says.
    pub standard_userinfo: bool,
    /// The token endpoint accepts client credentials only in an `Authorization: Basic`
    /// header (`client_secret_basic`); credentials in the body get 401 `invalid_client`.
    pub require_basic_auth: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 3599,
            refresh_token_idle_secs: 180 * 86_400,
            testing_mode: false,
            standard_userinfo: false,
            require_basic_auth: false,
        }
    }
}
