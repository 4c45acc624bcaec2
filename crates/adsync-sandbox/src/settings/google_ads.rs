//! The `google_ads` part of the sandbox settings.

use serde::{Deserialize, Serialize};

/// Google's largest `searchStream` batch.
pub(crate) const MAX_BATCH_ROWS: usize = 10_000;

/// A manager (MCC) account and the client accounts it manages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manager {
    /// The manager's customer id.
    pub id: u64,
    /// Customers reachable only through it (`login-customer-id`).
    pub clients: Vec<u64>,
}

/// This part of the sandbox world, in `PUT /_sandbox/settings` under its own key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Customers every user reaches directly (unless denied).
    pub customers: Vec<u64>,
    /// Manager accounts every user reaches directly, with their clients.
    pub managers: Vec<Manager>,
    /// Campaigns in each (non-manager) customer.
    pub campaigns_per_customer: u32,
    /// Ad groups in each campaign.
    pub ad_groups_per_campaign: u32,
    /// Ads in each ad group.
    pub ads_per_ad_group: u32,
    /// Rows per `searchStream` batch (at most Google's 10,000).
    pub batch_rows: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            customers: vec![1_234_567_890, 2_345_678_901],
            managers: vec![Manager {
                id: 9_990_001_111,
                clients: vec![3_456_789_012],
            }],
            campaigns_per_customer: 3,
            ad_groups_per_campaign: 2,
            ads_per_ad_group: 2,
            batch_rows: MAX_BATCH_ROWS,
        }
    }
}
