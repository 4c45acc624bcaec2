//! Making gaps good: after a reconnect, at start-up, or by hand.
//!
//! An `append` output gets each open gap's window fetched and upserted, oldest first (the
//! sink replaces a window's rows, so nothing is duplicated); a `replace` output gets one fresh
//! run, which supersedes its open gaps. Windows older than the platform keeps data for are
//! marked `unrecoverable` instead of being asked for.
//!
//! Every window asked for by a person (CLI or API) goes through [`check_window`], the same
//! check the automatic backfill applies to gap windows: a window a run cannot honestly
//! deliver is refused with the reason before anything is fetched or written.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Months, NaiveDate, Utc};

use crate::query::{DateRange, Query, WriteMode};
use crate::rows::DateWindow;
use crate::run::{fire_window, run_query, run_window, RunContext, Trigger};
use crate::store::{GapState, Outcome, RunRecord, StoreError};

/// Why a backfill window is refused. The messages name the CLI's flags because the CLI and
/// `POST /api/backfill` answer with the same text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// The window ends before it starts.
    #[error("--to {end} is before --from {start}")]
    Inverted {
        /// `--from`.
        start: NaiveDate,
        /// `--to`.
        end: NaiveDate,
    },
    /// The window starts before the platform's history.
    #[error("{query}: the platform keeps report data back to {oldest}; --from {start} is older")]
    BeforeHistory {
        /// The query asked about.
        query: String,
        /// The oldest day the platform serves.
        oldest: NaiveDate,
        /// `--from`.
        start: NaiveDate,
    },
    /// The window ends after today: those numbers do not exist yet.
    #[error("{query}: --to {end} is after today ({today})")]
    InFuture {
        /// The query asked about.
        query: String,
        /// `--to`.
        end: NaiveDate,
        /// Today on the query's calendar.
        today: NaiveDate,
    },
    /// A `replace` output holds one whole report; any other window would shrink it.
    #[error(
        "{query} replaces its output with its whole date_range ({current} today); a backfill of \
         {window} would shrink the report: ask for --from {} --to {} or leave both out",
        current.start,
        current.end
    )]
    PartialReplace {
        /// The query asked about.
        query: String,
        /// What was asked for.
        window: DateWindow,
        /// The query's whole current window.
        current: DateWindow,
    },
    /// A fixed `date_range` reports only its own dates.
    #[error("{query} reports only {fixed} (its fixed date_range); {window} is outside it")]
    OutsideFixedRange {
        /// The query asked about.
        query: String,
        /// What was asked for.
        window: DateWindow,
        /// The query's `date_range`.
        fixed: DateWindow,
    },
}

/// How far back `query`'s platform serves report data.
fn history_limit(query: &Query, today: NaiveDate) -> NaiveDate {
    today
        .checked_sub_months(Months::new(query.platform.history_months()))
        .unwrap_or(NaiveDate::MIN)
}

/// Whether a run of `query` for `window` at `now` can deliver what it claims: the window is
/// in order, inside the platform's history and not in the future, and for a `replace`
/// output it is the query's whole current window (anything else would shrink the report).
pub(crate) fn check_window(query: &Query, window: DateWindow, now: DateTime<Utc>) -> Result<(), WindowError> {
    if window.end < window.start {
        return Err(WindowError::Inverted {
            start: window.start,
            end: window.end,
        });
    }
    let current = fire_window(query, now);
    let today = DateRange::Today.window(now, query.schedule.tz()).end;
    let oldest = history_limit(query, now.date_naive());
    if window.start < oldest {
        return Err(WindowError::BeforeHistory {
            query: query.name.clone(),
            oldest,
            start: window.start,
        });
    }
    if window.end > today {
        return Err(WindowError::InFuture {
            query: query.name.clone(),
            end: window.end,
            today,
        });
    }
    if let DateRange::Fixed(fixed) = query.date_range {
        if window.start < fixed.start || window.end > fixed.end {
            return Err(WindowError::OutsideFixedRange {
                query: query.name.clone(),
                window,
                fixed,
            });
        }
    }
    if query.output.mode() == WriteMode::Replace && window != current {
        return Err(WindowError::PartialReplace {
            query: query.name.clone(),
            window,
            current,
        });
    }
    Ok(())
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
pub(crate) async fn plan(ctx: &RunContext, queries: &[Query]) -> Result<Vec<Step>, StoreError> {
    let now = ctx.clock.now();
    let mut steps = Vec::new();
    for (index, query) in queries.iter().enumerate() {
        let oldest = history_limit(query, now.date_naive());
        let mut windows = BTreeMap::new();
        for mut gap in ctx.store.gaps(&query.name).await? {
            if gap.state != GapState::Open {
                continue;
            }
            // Only the history part of `check_window` applies: a replace query's gap is made
            // good by a fresh whole-window run, not by fetching the gap's own dates.
            if gap.window.start < oldest {
                gap.state = GapState::Unrecoverable;
                gap.detail = Some(format!(
                    "the platform keeps data back to {oldest}; {} can no longer be fetched",
                    gap.window
                ));
                gap.closed_at = Some(now);
                ctx.store.put_gap(&gap).await?;
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
    let steps = plan(ctx, queries).await?;
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
                    .gaps(&query.name)
                    .await?
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Provider;

    /// A Meta query with `date_range` and `mode`.
    fn query(date_range: &str, mode: &str) -> Query {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("q.toml");
        let text = format!(
            "connection = \"meta-demo\"\naccounts = [\"act_1\"]\nlevel = \"account\"\n\
             fields = [\"date_start\", \"impressions\"]\ndate_range = {date_range}\n\n\
             [schedule]\ncron = \"0 6 * * *\"\n\n[output]\nkind = \"csv\"\npath = \"q.csv\"\nmode = \"{mode}\"\n"
        );
        std::fs::write(&path, text).expect("query written");
        let ctx = crate::config::ValidationContext {
            connections: [("meta-demo".to_string(), Provider::MetaAds)].into(),
            output_dir: dir.path().to_path_buf(),
            requested_scopes: Default::default(),
        };
        crate::query::load_file(&path, &ctx).expect("a valid query")
    }

    fn window(start: &str, end: &str) -> DateWindow {
        DateWindow::new(start.parse().expect("a date"), end.parse().expect("a date"))
    }

    const NOW: &str = "2026-03-10T12:00:00Z";

    fn check(query: &Query, start: &str, end: &str) -> Result<(), WindowError> {
        check_window(query, window(start, end), NOW.parse().expect("an instant"))
    }

    #[test]
    fn an_append_window_must_be_in_order_in_history_and_not_in_the_future() {
        let q = query("\"yesterday\"", "append");
        assert_eq!(check(&q, "2026-03-01", "2026-03-09"), Ok(()));
        assert!(matches!(
            check(&q, "2026-03-09", "2026-03-01"),
            Err(WindowError::Inverted { .. })
        ));
        assert_eq!(
            check(&q, "2023-01-01", "2023-01-02").map_err(|e| e.to_string()),
            Err("q: the platform keeps report data back to 2023-02-10; --from 2023-01-01 is older".into())
        );
        assert_eq!(
            check(&q, "2026-03-09", "2026-03-11").map_err(|e| e.to_string()),
            Err("q: --to 2026-03-11 is after today (2026-03-10)".into())
        );
    }

    #[test]
    fn a_fixed_range_and_a_replace_output_take_only_what_they_report() {
        let fixed = query("{ start = \"2026-01-01\", end = \"2026-01-31\" }", "append");
        assert_eq!(check(&fixed, "2026-01-05", "2026-01-06"), Ok(()));
        assert!(matches!(
            check(&fixed, "2026-01-31", "2026-02-01"),
            Err(WindowError::OutsideFixedRange { .. })
        ));
        let replace = query("\"last_3_days\"", "replace");
        assert_eq!(check(&replace, "2026-03-07", "2026-03-09"), Ok(()));
        assert!(matches!(
            check(&replace, "2026-03-08", "2026-03-09"),
            Err(WindowError::PartialReplace { .. })
        ));
    }
}
