//! The `linkedin` part of the sandbox settings.

use serde::{Deserialize, Serialize};

/// This part of the sandbox world, in `PUT /_sandbox/settings` under its own key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Ad account ids that exist (`urn:li:sponsoredAccount:<id>`); every user has a role on
    /// each unless denied (`/_sandbox/users/{u}/accounts/deny`).
    pub accounts: Vec<u64>,
    /// Campaign groups in each account (at most 99).
    pub campaign_groups_per_account: u32,
    /// Campaigns in each campaign group (at most 99).
    pub campaigns_per_group: u32,
    /// Creatives in each campaign (at most 99).
    pub creatives_per_campaign: u32,
    /// Elements an adAnalytics answer holds at most; the rest are dropped without a word, as
    /// LinkedIn does at 15,000.
    pub max_elements: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            accounts: vec![511009658, 511009659],
            campaign_groups_per_account: 2,
            campaigns_per_group: 2,
            creatives_per_campaign: 2,
            max_elements: 15_000,
        }
    }
}
