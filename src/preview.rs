//! A look at a query's rows before it is scheduled (`adsync preview`): the query runs for
//! its current window like any run — tokens refreshed, and a rotated one persisted, by the
//! auth layer — but nothing is delivered and nothing is recorded: no output, no run record,
//! no gap, no schedule state.

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::http::FetchError;
use crate::query::Query;
use crate::rows::{BatchForm, DateWindow, RowBatch};
use crate::run::RunContext;

/// Pages buffered between the source and the counter, as in a run.
const PAGES_IN_FLIGHT: usize = 2;

/// The first rows of a query's current window, and how many rows the window has in all.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Preview {
    /// The query's name (a draft's file stem).
    pub query: String,
    /// The dates the preview covered: the query's window as of now.
    pub window: DateWindow,
    /// Output columns, in order.
    pub columns: Vec<String>,
    /// The first rows, at most the number asked for.
    pub rows: Vec<Vec<String>>,
    /// Every row of the window, shown or not.
    pub total_rows: u64,
}

/// Why a preview has no rows to show.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The query names a connection that has no reader.
    #[error("connection {0:?} is not configured")]
    UnknownConnection(String),
    /// The platform side failed, or no usable token could be had.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The daemon was stopping and cut the preview short.
    #[error("adsync was stopped before the preview finished")]
    Stopped,
}

/// Fetches `query`'s rows for its window as of `now`, keeping the first `keep` and counting
/// the rest as they stream past: a large report is never held in memory.
pub(crate) async fn preview(
    ctx: &RunContext,
    query: &Query,
    now: DateTime<Utc>,
    keep: usize,
) -> Result<Preview, PreviewError> {
    let window = query.date_range.window(now, query.schedule.tz());
    for connection in query.connections() {
        ctx.auth
            .ensure_usable(connection)
            .await
            .map_err(|e| PreviewError::Fetch(e.into()))?;
    }
    let source = ctx
        .sources
        .get(&(query.connection.clone(), query.platform))
        .ok_or_else(|| PreviewError::UnknownConnection(query.connection.clone()))?;
    let (tx, mut rx) = mpsc::channel::<RowBatch>(PAGES_IN_FLIGHT);
    // A daemon stopping cuts a preview short like any run; its partial count is not shown.
    let fetch = async move { source.fetch(query, window, BatchForm::Cells, &tx, &ctx.stopping).await };
    let collect = async move {
        let mut rows = Vec::new();
        let mut total: u64 = 0;
        while let Some(batch) = rx.recv().await {
            total += batch.len() as u64;
            let room = keep.saturating_sub(rows.len());
            rows.extend(
                batch
                    .rows()
                    .take(room)
                    .map(|row| row.cells().map(str::to_string).collect::<Vec<_>>()),
            );
        }
        (rows, total)
    };
    let (fetched, (rows, total_rows)) = tokio::join!(fetch, collect);
    fetched?;
    if ctx.stopping.is_cancelled() {
        return Err(PreviewError::Stopped);
    }
    Ok(Preview {
        query: query.name.clone(),
        window,
        columns: query.columns(),
        rows,
        total_rows,
    })
}

impl Preview {
    /// The rows as an aligned table, each line cut to `width` characters when given (a
    /// terminal), then a line with the total.
    pub fn to_table(&self, width: Option<usize>) -> String {
        let header: Vec<&str> = self.columns.iter().map(String::as_str).collect();
        let lines: Vec<Vec<&str>> = std::iter::once(header)
            .chain(self.rows.iter().map(|row| row.iter().map(String::as_str).collect()))
            .collect();
        let mut out = crate::table::aligned(&lines, width);
        out.push_str(&format!(
            "{} of {} rows for {} ({}); nothing was written or recorded.\n",
            self.rows.len(),
            self.total_rows,
            self.window,
            self.query
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preview() -> Preview {
        Preview {
            query: "draft".to_string(),
            window: DateWindow::new("2026-03-01".parse().unwrap(), "2026-03-02".parse().unwrap()),
            columns: vec!["date_start".into(), "campaign_name".into(), "clicks".into()],
            rows: vec![
                vec!["2026-03-01".into(), "Brand".into(), "12".into()],
                vec!["2026-03-01".into(), "Spring sale".into(), "7".into()],
            ],
            total_rows: 40,
        }
    }

    #[test]
    fn a_table_aligns_columns_and_says_how_many_rows_there_are() {
        assert_eq!(
            preview().to_table(None),
            "date_start  campaign_name  clicks\n\
             2026-03-01  Brand          12\n\
             2026-03-01  Spring sale    7\n\
             2 of 40 rows for 2026-03-01..2026-03-02 (draft); nothing was written or recorded.\n"
        );
    }

    #[test]
    fn a_terminal_table_is_cut_to_its_width() {
        let table = preview().to_table(Some(20));
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "date_start  campaig…");
        assert_eq!(lines[2], "2026-03-01  Spring …");
        assert!(lines[3].starts_with("2 of 40 rows"));
    }
}
