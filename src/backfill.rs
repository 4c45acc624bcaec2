//! Making gaps good: after a reconnect, at start-up, or by hand.
//!
//! An `append` output gets each open gap's window fetched and upserted, oldest first (the
//! sink replaces a window's rows, so nothing is duplicated); a `replace` output gets one fresh
//! run, which supersedes its open gaps. Windows older than the platform keeps data for are
//! marked `unrecoverable` instead of being asked for.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Months, NaiveDate, Utc};

use crate::query::{Query, WriteMode};
use crate::rows::DateWindow;
use crate::run::{run_query, run_window, RunContext, Trigger};
use crate::store::{GapState, Outcome, RunRecord, StoreError};

/// How far back `query`'s platform serves report data.
fn history_limit(query: &Query, today: NaiveDate) -> NaiveDate {
    today - Months::new(query.platform.history_months())
}

/// One run a backfill will make.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    /// Index into the queries the plan was made for.
    pub(crate) query: usize,
    /// The fire the run stands for.
    pub(crate) fire: DateTime<Utc>,
    /// The dates to fetch; `None` for a fresh run of a `replace` query.
    pub(crate) window: Option<DateWindow>,
}

/// The runs that would make the open gaps of `queries` good, oldest window first per query.
/// Gaps older than the platform keeps are marked `unrecoverable` here.
pub(crate) fn plan(ctx: &RunContext, queries: &[Query]) -> Result<Vec<Step>, StoreError> {
    let now = ctx.clock.now();
    let mut steps = Vec::new();
    for (index, query) in queries.iter().enumerate() {
        let oldest = history_limit(query, now.date_naive());
        let mut windows = BTreeMap::new();
        for mut gap in ctx.store.gaps(&query.name)? {
            if gap.state != GapState::Open {
                continue;
            }
            if gap.window.start < oldest {
                gap.state = GapState::Unrecoverable;
                gap.detail = Some(format!(
                    "the platform keeps data back to {oldest}; {} can no longer be fetched",
                    gap.window
                ));
                gap.closed_at = Some(now);
                ctx.store.put_gap(&gap)?;
            } else {
                windows.entry(gap.window).or_insert(gap.fire_time);
            }
        }
        if windows.is_empty() {
            continue;
        }
        match query.output.mode() {
            WriteMode::Replace => steps.push(Step {
                query: index,
                fire: now,
                window: None,
            }),
            WriteMode::Append => steps.extend(windows.into_iter().map(|(window, fire)| Step {
                query: index,
                fire,
                window: Some(window),
            })),
        }
    }
    Ok(steps)
}

/// Backfills the open gaps of `queries`; returns the runs it made.
pub(crate) async fn backfill(ctx: &RunContext, queries: &[Query]) -> Result<Vec<RunRecord>, StoreError> {
    backfill_with(ctx, queries, |_, _, _| {}).await
}

/// [`backfill`], telling `progress` after each run how many of how many are done.
pub(crate) async fn backfill_with(
    ctx: &RunContext,
    queries: &[Query],
    mut progress: impl FnMut(usize, usize, &RunRecord),
) -> Result<Vec<RunRecord>, StoreError> {
    let steps = plan(ctx, queries)?;
    if !steps.is_empty() {
        tracing::info!(runs = steps.len(), "Backfilling {} missed run(s).", steps.len());
    }
    let mut runs = Vec::new();
    let mut failed_queries = BTreeSet::new();
    for (done, step) in steps.iter().enumerate() {
        let query = &queries[step.query];
        if failed_queries.contains(&step.query) {
            // The rest of a query whose backfill failed would fail the same way; its gaps
            // stay open for the next try.
            continue;
        }
        let run = match step.window {
            None => run_query(ctx, query, step.fire, Trigger::Backfill).await,
            Some(window) => {
                // Another run (the scheduler's catch-up) may have made it good meanwhile.
                let still_open = ctx
                    .store
                    .gaps(&query.name)?
                    .iter()
                    .any(|g| g.window == window && g.state == GapState::Open);
                if !still_open {
                    continue;
                }
                run_window(ctx, query, step.fire, window, Trigger::Backfill).await
            }
        };
        if run.outcome != Outcome::Delivered {
            failed_queries.insert(step.query);
        }
        progress(done + 1, steps.len(), &run);
        runs.push(run);
    }
    Ok(runs)
}
