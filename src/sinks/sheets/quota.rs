//! Sheets' write quotas, kept on our side so a busy daemon waits instead of collecting 429s:
//! by default 60 write requests a minute per user and 300 per project (the OAuth client).
//! Each is a sliding one-minute window of the instants permits were taken. A 429 that still
//! comes (another program on the same project) is handled by `ApiClient`'s backoff.
//!
//! In a cluster (a shared store) the quotas are the cluster's: Google counts a user's and a
//! project's writes whichever daemon sends them. A permit is then an atomic increment of the
//! user's and the project's per-minute counters in the database (one transaction, refused at
//! either limit); a spent minute waits for the next. Fixed minutes, not a sliding window: one row per key and
//! minute, and Sheets' quotas are refilled every minute too (api-facts §4,
//! <https://developers.google.com/workspace/sheets/api/limits>). If the database cannot be
//! reached, the daemon falls back to its own windows rather than stop writing.
//!
//! The same value also serializes deliveries to one spreadsheet across the daemon: the cell
//! count checked before writing, and the tab an append reads, stay true until it commits.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OwnedMutexGuard;
use tokio::time::Instant;

use crate::keyed::Keyed;
use crate::store::Store;

/// The quota period.
const WINDOW: Duration = Duration::from_secs(60);

/// Write permits per user and per project, and one lock per spreadsheet; clones share all.
#[derive(Debug, Clone)]
pub(crate) struct SheetsQuota {
    per_user: usize,
    per_project: usize,
    /// Instants of the permits taken in the last minute, by `user:…` / `project:…` key.
    taken: Arc<Mutex<HashMap<String, VecDeque<Instant>>>>,
    /// Where the cluster's counts are kept, when the store is shared.
    cluster: Option<Store>,
    spreadsheets: Keyed<tokio::sync::Mutex<()>>,
}

impl SheetsQuota {
    /// A limiter allowing these many write requests per minute (each at least 1).
    pub(crate) fn new(writes_per_minute_per_user: u32, writes_per_minute_per_project: u32) -> Self {
        Self {
            per_user: writes_per_minute_per_user.max(1) as usize,
            per_project: writes_per_minute_per_project.max(1) as usize,
            taken: Arc::default(),
            cluster: None,
            spreadsheets: Keyed::default(),
        }
    }

    /// The same limits counted for the whole cluster when `store` is shared (PostgreSQL);
    /// with sled, the daemon's own count is the only one.
    pub(crate) fn counted_in(mut self, store: &Store) -> Self {
        self.cluster = store.is_shared().then(|| store.clone());
        self
    }

    /// Waits until both `user`'s and `project`'s windows have room, then takes a permit of
    /// each. Both are taken together so a wait on one never spends the other.
    pub(crate) async fn write_permit(&self, user: &str, project: &str) {
        let keys = [
            (format!("user:{user}"), self.per_user),
            (format!("project:{project}"), self.per_project),
        ];
        if let Some(store) = &self.cluster {
            let limits = keys.each_ref().map(|(key, limit)| (key.as_str(), *limit as u32));
            loop {
                match store.take_write_permits(&limits).await {
                    Ok(None) => return,
                    Ok(Some(next_minute)) => tokio::time::sleep(next_minute).await,
                    Err(e) => {
                        tracing::warn!(
                            user,
                            project,
                            "Could not count a Sheets write for the cluster, counting it here: {e}"
                        );
                        break;
                    }
                }
            }
        }
        loop {
            let wait_until = {
                let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                let mut wait_until = None;
                for (key, limit) in &keys {
                    let window = taken.entry(key.clone()).or_default();
                    while window.front().is_some_and(|at| now.duration_since(*at) >= WINDOW) {
                        window.pop_front();
                    }
                    if window.len() >= *limit {
                        let free_at = window[window.len() - limit] + WINDOW;
                        wait_until = wait_until.max(Some(free_at));
                    }
                }
                if wait_until.is_none() {
                    for (key, _) in &keys {
                        taken.entry(key.clone()).or_default().push_back(now);
                    }
                }
                wait_until
            };
            match wait_until {
                None => return,
                Some(at) => tokio::time::sleep_until(at).await,
            }
        }
    }

    /// Holds writes to `spreadsheet_id` for as long as the guard lives.
    pub(crate) async fn lock_spreadsheet(&self, spreadsheet_id: &str) -> OwnedMutexGuard<()> {
        self.spreadsheets.get(spreadsheet_id).lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_user_gets_its_per_minute_writes_then_waits_for_the_oldest_to_age_out() {
        let quota = SheetsQuota::new(3, 100);
        let start = Instant::now();
        for _ in 0..3 {
            quota.write_permit("alice", "client").await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        tokio::time::advance(Duration::from_secs(10)).await;
        quota.write_permit("alice", "client").await;
        assert_eq!(
            start.elapsed(),
            WINDOW,
            "the 4th write waits until the 1st is a minute old"
        );
        // Another user of the same project is not held back by alice.
        let before = Instant::now();
        quota.clone().write_permit("bob", "client").await;
        assert_eq!(before.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn the_project_window_limits_all_its_users_together() {
        let quota = SheetsQuota::new(100, 2);
        let start = Instant::now();
        quota.write_permit("alice", "client").await;
        quota.write_permit("bob", "client").await;
        quota.write_permit("carol", "other-client").await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        quota.write_permit("carol", "client").await;
        assert_eq!(start.elapsed(), WINDOW);
    }

    #[tokio::test(start_paused = true)]
    async fn one_spreadsheet_is_written_by_one_delivery_at_a_time() {
        let quota = SheetsQuota::new(60, 300);
        let held = quota.lock_spreadsheet("sheet-1").await;
        let other = quota.clone();
        let waiting = tokio::spawn(async move { other.lock_spreadsheet("sheet-1").await });
        let _different = quota.lock_spreadsheet("sheet-2").await;
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(held);
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .unwrap()
            .unwrap();
    }
}
