//! The `sheets` part of the sandbox settings.

use serde::{Deserialize, Serialize};

/// This part of the sandbox world, in `PUT /_sandbox/settings` under its own key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Service accounts (emails) that exist; all sign with the committed key.
    pub service_accounts: Vec<String>,
    /// Read requests per minute per user per project (Google: 60).
    pub read_requests_per_minute_per_user: u32,
    /// Read requests per minute per project (Google: 300).
    pub read_requests_per_minute_per_project: u32,
    /// Write requests per minute per user per project (Google: 60).
    pub write_requests_per_minute_per_user: u32,
    /// Write requests per minute per project (Google: 300).
    pub write_requests_per_minute_per_project: u32,
    /// Largest request body accepted; larger ones get 400 "Request payload size exceeds the
    /// limit". Google recommends 2 MB and enforces more; set it low to test a client's split.
    pub max_request_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            service_accounts: vec!["adsync-writer@adsync-sandbox.iam.gserviceaccount.com".into()],
            read_requests_per_minute_per_user: 60,
            read_requests_per_minute_per_project: 300,
            write_requests_per_minute_per_user: 60,
            write_requests_per_minute_per_project: 300,
            max_request_bytes: 10 * 1024 * 1024,
        }
    }
}
