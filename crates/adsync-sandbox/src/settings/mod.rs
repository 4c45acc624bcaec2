//! What the sandbox world looks like and how its authorization server behaves; changed at
//! run time with `PUT /_sandbox/settings`.
//!
//! Each platform's part is its own type in a submodule here, at the bottom of the crate so
//! the token book and the world can read settings without reaching up into the platforms;
//! the platforms re-export their type and keep its behaviour (`impl Settings`) with them.

pub(crate) mod ga4;
pub(crate) mod google_ads;
pub(crate) mod google_oauth;
pub(crate) mod linkedin;
pub(crate) mod linkedin_oauth;
pub(crate) mod sheets;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Sandbox behaviour. Every field has a default, so a settings document may name only the
/// fields it changes; unknown names are rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxSettings {
    /// Lifetime of access tokens issued by the `authorization_code` and `refresh_token`
    /// grants (Meta's short-lived user tokens last about an hour).
    pub access_token_ttl_secs: u64,
    /// Lifetime of tokens from the `fb_exchange_token` grant (Meta: about 60 days).
    pub long_lived_token_ttl_secs: u64,
    /// Refresh tokens expire this long after issue; `null` means never.
    pub refresh_token_ttl_secs: Option<u64>,
    /// Refresh tokens expire after this long unused; `null` means never.
    pub refresh_token_idle_secs: Option<u64>,
    /// Issue a new refresh token on every refresh and treat reuse of a rotated one as theft
    /// (RFC 9700 §4.14): the whole grant is revoked.
    pub rotate_refresh_tokens: bool,
    /// With rotation, a replaced refresh token keeps working for this long (Okta's "grace
    /// period", Auth0's "reuse interval"); 0 means reuse is detected at once.
    pub refresh_token_reuse_grace_secs: u64,
    /// Approve consent at once and redirect with a code for the `login_hint` user, as mock
    /// OAuth servers do, so scripts and the demo can connect without a browser.
    pub auto_approve: bool,
    /// Registered OAuth clients: client id → client secret.
    pub clients: BTreeMap<String, String>,
    /// Ad account numbers that exist (`act_<n>`); every user can read them unless denied.
    pub accounts: Vec<u64>,
    /// Campaigns in each ad account.
    pub campaigns_per_account: u32,
    /// Ad sets in each campaign.
    pub adsets_per_campaign: u32,
    /// Ads in each ad set.
    pub ads_per_adset: u32,
    /// Status polls an async report run answers before it reports `Job Completed`.
    pub async_polls_to_complete: u32,
    /// Added to every API response, to emulate a distant platform.
    pub latency_ms: u64,
    /// Largest `limit` a page may have; larger requests are capped, as Graph does.
    pub max_page_size: u32,
    /// Sync insights reads (GET on an ad account) covering more days than this answer Graph
    /// code 1 "Please reduce the amount of data you're asking for" (HTTP 500), as Graph does
    /// for reports too large to compute at once; async report runs still work. `null`: never.
    pub meta_sync_max_days: Option<u32>,
    /// Google's authorization server.
    pub google_oauth: google_oauth::Settings,
    /// LinkedIn's authorization server.
    pub linkedin_oauth: linkedin_oauth::Settings,
    /// The Google Ads world.
    pub google_ads: google_ads::Settings,
    /// The GA4 world.
    pub ga4: ga4::Settings,
    /// The LinkedIn Ads world.
    pub linkedin: linkedin::Settings,
    /// The Google Sheets world and Google service accounts.
    pub sheets: sheets::Settings,
}

impl Default for SandboxSettings {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 3600,
            long_lived_token_ttl_secs: 5_184_000,
            refresh_token_ttl_secs: None,
            refresh_token_idle_secs: None,
            rotate_refresh_tokens: false,
            refresh_token_reuse_grace_secs: 0,
            auto_approve: false,
            clients: [("adsync-demo-app", "demo-app-secret"), ("test-app", "test-app-secret")]
                .into_iter()
                .map(|(id, secret)| (id.to_string(), secret.to_string()))
                .collect(),
            accounts: vec![1001, 1002, 1003],
            campaigns_per_account: 3,
            adsets_per_campaign: 2,
            ads_per_adset: 2,
            async_polls_to_complete: 2,
            latency_ms: 0,
            max_page_size: 5000,
            meta_sync_max_days: None,
            google_oauth: Default::default(),
            linkedin_oauth: Default::default(),
            google_ads: Default::default(),
            ga4: Default::default(),
            linkedin: Default::default(),
            sheets: Default::default(),
        }
    }
}

impl SandboxSettings {
    /// These settings with the fields named in `patch` (a JSON object) replaced.
    pub fn patched(&self, patch: serde_json::Value) -> Result<Self, String> {
        let serde_json::Value::Object(changes) = patch else {
            return Err("settings must be a JSON object".into());
        };
        let mut merged = serde_json::to_value(self).map_err(|e| e.to_string())?;
        if let serde_json::Value::Object(current) = &mut merged {
            current.extend(changes);
        }
        serde_json::from_value(merged).map_err(|e| format!("invalid settings: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_changes_only_the_named_fields() {
        let settings = SandboxSettings::default()
            .patched(serde_json::json!({"access_token_ttl_secs": 5, "rotate_refresh_tokens": true}))
            .unwrap();
        assert_eq!(settings.access_token_ttl_secs, 5);
        assert!(settings.rotate_refresh_tokens);
        assert_eq!(settings.accounts, SandboxSettings::default().accounts);
    }

    #[test]
    fn unknown_settings_are_named() {
        let error = SandboxSettings::default()
            .patched(serde_json::json!({"acess_token_ttl_secs": 5}))
            .unwrap_err();
        assert!(error.contains("acess_token_ttl_secs"), "{error}");
    }
}
