//! Making gaps good: after a reconnect, at start-up, or by hand.
//!
//! An `append` output gets each open gap's window fetched and upserted, oldest first (the
//! sink replaces a window's rows, so nothing is duplicated); a `replace` output gets one fresh
//! run, which supersedes its open gaps. Windows older than the platform keeps data for are
//! marked `unrecoverable` instead of being asked for.

use std::collections::BTreeSet;

use chrono::{Months, NaiveDate};

use crate::query::{Query, WriteMode};
use crate::rows::DateWindow;
use crate::run::{run_query, run_window, RunContext, Trigger};
use crate::sources::Provider;
use crate::store::{GapState, Outcome, RunRecord, StoreError};

/// How far back a platform serves report data.
fn history_limit(provider: Provider, today: NaiveDate) -> NaiveDate {
    match provider {
        // Graph: insights are kept for 37 months.
        Provider::MetaAds => today - Months::new(37),
    }
}

/// Backfills the open gaps of `queries`; returns the runs it made.
pub async fn backfill(ctx: &RunContext, queries: &[Query]) -> Result<Vec<RunRecord>, StoreError> {
    let mut runs = Vec::new();
    for query in queries {
        let open: Vec<_> = ctx
            .store
            .gaps(&query.name)?
            .into_iter()
            .filter(|g| g.state == GapState::Open)
            .collect();
        if open.is_empty() {
            continue;
        }
        let now = ctx.clock.now();
        let oldest = history_limit(query.provider, now.date_naive());
        let mut windows = BTreeSet::new();
        for mut gap in open {
            if gap.window.start < oldest {
                gap.state = GapState::Unrecoverable;
                gap.detail = Some(format!(
                    "the platform keeps data back to {oldest}; {} can no longer be fetched",
                    gap.window
                ));
                gap.closed_at = Some(now);
                ctx.store.put_gap(&gap)?;
            } else {
                windows.insert((gap.window, gap.fire_time));
            }
        }
        if windows.is_empty() {
            continue;
        }
        tracing::info!(query = %query.name, gaps = windows.len(), "{}: backfilling {} missed run(s).", query.name, windows.len());
        match query.output.mode() {
            WriteMode::Replace => runs.push(run_query(ctx, query, now, Trigger::Backfill).await),
            WriteMode::Append => {
                let mut done: BTreeSet<DateWindow> = BTreeSet::new();
                for (window, fire) in windows {
                    // Another run (the scheduler's catch-up) may have made it good meanwhile.
                    let still_open = ctx
                        .store
                        .gaps(&query.name)?
                        .iter()
                        .any(|g| g.window == window && g.state == GapState::Open);
                    if !still_open || !done.insert(window) {
                        continue;
                    }
                    let run = run_window(ctx, query, fire, window, Trigger::Backfill).await;
                    let failed = run.outcome != Outcome::Delivered;
                    runs.push(run);
                    if failed {
                        // The rest would fail the same way; they stay open for the next try.
                        break;
                    }
                }
            }
        }
    }
    Ok(runs)
}
