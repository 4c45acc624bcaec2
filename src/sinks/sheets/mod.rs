//! A Google Sheets tab as a report output (Sheets API v4, `spreadsheets.batchUpdate`).
//!
//! # Replace never leaves a half sheet
//!
//! A `batchUpdate` is applied all-or-nothing, so every change a reader can see is made by
//! exactly one of them:
//!
//! - **Small results** (the rows fit in one request under the recommended 2 MB payload, which
//!   is most reports) are buffered and written over the tab by one `batchUpdate`: grow the
//!   grid if needed, then one `updateCells` over the range from the start cell to the grid's
//!   end, which writes the rows and clears every cell they do not cover (old extra rows and
//!   columns). The tab keeps its `sheetId`, so charts, filters and other tabs' formulas that
//!   point at it keep working, and cells above or left of the start cell are untouched.
//! - **Large results** stream to a hidden staging tab (`<tab> (adsync staging)`) in chunks,
//!   each under 2 MB (only a single row larger than that is sent alone, over it), so memory
//!   stays bounded by one chunk. The last chunk's request also
//!   unhides the staging tab, deletes the old tab and gives the staging tab its title and
//!   position. Readers see the old tab until that request, then the complete new one. The
//!   price: the tab gets a new `sheetId`, so references to the old tab (charts, other tabs'
//!   formulas, cells above the start cell) do not carry over. A result of that size is
//!   rarely a dashboard's source; the alternative — pasting staging over the tab with
//!   `copyPaste` — keeps the id but doubles the cells held while staging. A failed or
//!   interrupted delivery leaves only the hidden staging tab, deleted by
//!   [`SheetsDelivery::abort`] or by the next delivery's first request.
//!
//! # Append
//!
//! The tab is read once with `values.get` (`UNFORMATTED_VALUE`, dates as `FORMATTED_STRING`):
//! numbers come back as the very doubles Sheets holds and are written back as such (a
//! formatted value would round them to the display format), and dates come back in the
//! `yyyy-mm-dd` format this sink gives them, so the row date can be compared. The header
//! must equal the query's columns ([`SinkError::HeaderMismatch`]); it is written once, when
//! the tab is new or empty. The result is the old rows dated before the window, this
//! delivery's rows, then the old rows dated after it — the CSV sink's upsert rule — written
//! by the same mechanism as replace. Memory: the old rows are held from `begin` to `commit`,
//! bounded by the spreadsheet's 10-million-cell limit.
//!
//! # Quotas and concurrency
//!
//! Before every write request a permit is taken from [`SheetsQuota`] (per user and per
//! project per minute). Reads have a quota of their own and a delivery makes at most two
//! (`spreadsheets.get`, and `values.get` for an append), so they take no permit. One delivery per spreadsheet at a time across the daemon: the
//! spreadsheet's lock is held from [`SheetsSink::begin`] until commit or abort, so the cell
//! count checked and the rows read stay true. Every request goes through
//! [`ApiClient::fetch`] with the shared Google error table: a 429 backs off, a 401 refreshes
//! the connection's token and then pauses the connection for reconnect.

pub(crate) mod plan;
mod quota;
pub(crate) mod values;

use std::path::PathBuf;

use reqwest::header::CONTENT_TYPE;
use serde_json::Value;
use tokio::sync::OwnedMutexGuard;
use url::Url;

pub(crate) use crate::platform::a1;

use self::a1::Cell;
use self::plan::{row_data, SheetInfo, Target, WritePlan};
use self::values::{cell_data, iso_date, read_back, read_date, typed, CellValue, ColumnKind};
use crate::http::google_status::classify;
use crate::http::{ApiClient, FetchError};
use crate::location::Location;
use crate::query::{SheetsTarget, ValueInput, WriteMode};
use crate::rows::{DateWindow, RowBatch};
use crate::sinks::{append_date_column, DeliveryReport, SinkError};

pub(crate) use self::quota::SheetsQuota;

pub(crate) use crate::platform::SHEETS_BASE;

/// A Sheets tab and how deliveries change it.
#[derive(Debug, Clone)]
pub(crate) struct SheetsSink {
    api: ApiClient,
    base: Url,
    project: String,
    quota: SheetsQuota,
    target: SheetsTarget,
    columns: Vec<String>,
    date_column: Option<usize>,
}

impl SheetsSink {
    /// `base`: the API origin (conn.api_base(SHEETS_BASE)); `project`: the OAuth client id
    /// (quota key); `date_column`: index of the row-date column (append mode upserts by it).
    pub(crate) fn new(
        api: ApiClient,
        base: Url,
        project: String,
        quota: SheetsQuota,
        target: SheetsTarget,
        columns: Vec<String>,
        date_column: Option<usize>,
    ) -> Self {
        Self {
            api,
            base,
            project,
            quota,
            target,
            columns,
            date_column,
        }
    }

    /// Where the rows go.
    pub(crate) fn location(&self) -> Location {
        self.target.location()
    }

    /// The location as the path [`SinkError`]s name.
    fn path(&self) -> PathBuf {
        self.location().into()
    }

    /// Starts a delivery of `window`'s rows: takes the spreadsheet's lock, reads its tabs
    /// (and, for append, the tab's rows, checking its header) before any row is fetched.
    pub(crate) async fn begin(&self, window: DateWindow) -> Result<SheetsDelivery, SinkError> {
        let path = self.path();
        if self.columns.is_empty() {
            return Err(SinkError::NoColumns { path });
        }
        let start = match &self.target.start_cell {
            Some(cell) => a1::parse_cell(cell)
                .map_err(|message| self.error("use the start cell of", FetchError::BadQuery(message)))?,
            None => Cell::default(),
        };
        let upsert = match self.target.mode {
            WriteMode::Replace => None,
            WriteMode::Append => Some(self.upsert(window)?),
        };

        let lock = self.quota.lock_spreadsheet(&self.target.spreadsheet_id).await;
        let sheets = self.read_sheets().await?;
        let plan = WritePlan::new(Target {
            spreadsheet_id: self.target.spreadsheet_id.clone(),
            sheet: self.target.sheet.clone(),
            start,
            width: self.columns.len(),
            sheets,
        });
        let old_rows = match (&upsert, plan.existing()) {
            (Some(_), Some(_)) => self.read_rows(start).await?,
            _ => Vec::new(),
        };

        let mut delivery = SheetsDelivery {
            sink: self.clone(),
            kinds: self.columns.iter().map(|c| ColumnKind::of(c)).collect(),
            plan,
            upsert: None,
            rows_written: 0,
            rows_kept: 0,
            poisoned: false,
            _lock: lock,
        };
        let header = row_data(self.columns.iter().map(|c| cell_data(&CellValue::Text(c))));
        delivery.push(header).await?;
        if let Some((date_column, window)) = upsert {
            delivery.kinds[date_column] = ColumnKind::RowDate;
            let after = delivery.keep_old_rows(old_rows, date_column, window).await?;
            delivery.upsert = Some(Upsert {
                date_column,
                window,
                after,
            });
        }
        Ok(delivery)
    }

    fn upsert(&self, window: DateWindow) -> Result<(usize, DateWindow), SinkError> {
        let date_column = append_date_column(self.path(), self.date_column, self.columns.len(), window)?;
        Ok((date_column, window))
    }

    /// `spreadsheets.get`: the tabs' titles, ids, positions and grid sizes.
    async fn read_sheets(&self) -> Result<Vec<SheetInfo>, SinkError> {
        let mut url = self.endpoint(&[&self.target.spreadsheet_id]);
        url.query_pairs_mut().append_pair("fields", "sheets.properties");
        self.api
            .fetch(
                &self.target.connection,
                |http, token| http.get(url.clone()).bearer_auth(token),
                classify,
                |body| SheetInfo::parse_all(&serde_json::from_slice(&body).map_err(|e| e.to_string())?),
            )
            .await
            .map_err(|e| self.error("read the tabs of", e))
    }

    /// Whether the login may read and write the spreadsheet, found out without changing it:
    /// `spreadsheets.get` of its title (a cheap read), then a `batchUpdate` whose one
    /// `updateSpreadsheetProperties` request sets the title to itself — a write, so a login
    /// that may only view gets Google's 403 for it, and nothing a reader sees changes.
    /// (https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets/request#updatespreadsheetpropertiesrequest;
    /// an empty `requests` list is refused with 400 "Must specify at least one request",
    /// googleapis/google-api-nodejs-client#1001.)
    pub(crate) async fn check_access(&self) -> Result<(), SinkError> {
        let mut url = self.endpoint(&[&self.target.spreadsheet_id]);
        url.query_pairs_mut().append_pair("fields", "properties.title");
        let title: String = self
            .api
            .fetch(
                &self.target.connection,
                |http, token| http.get(url.clone()).bearer_auth(token),
                classify,
                |body| {
                    let resource: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
                    resource["properties"]["title"]
                        .as_str()
                        .map(str::to_string)
                        .ok_or_else(|| "spreadsheets.get answered without properties.title".to_string())
                },
            )
            .await
            .map_err(|e| self.error("read", e))?;
        let same_title = serde_json::json!({"requests": [{"updateSpreadsheetProperties": {
            "properties": {"title": title},
            "fields": "title",
        }}]});
        self.batch_update(same_title.to_string())
            .await
            .map_err(|e| self.error("write to", e))
    }

    /// `values.get` of the query's columns from the start cell down.
    async fn read_rows(&self, start: Cell) -> Result<Vec<Vec<Value>>, SinkError> {
        let range = a1::columns_from(&self.target.sheet, start, self.columns.len());
        let mut url = self.endpoint(&[&self.target.spreadsheet_id, "values", &range]);
        url.query_pairs_mut()
            .append_pair("majorDimension", "ROWS")
            .append_pair("valueRenderOption", "UNFORMATTED_VALUE")
            .append_pair("dateTimeRenderOption", "FORMATTED_STRING");
        self.api
            .fetch(
                &self.target.connection,
                |http, token| http.get(url.clone()).bearer_auth(token),
                classify,
                |body| {
                    let mut range: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
                    match range["values"].take() {
                        Value::Null => Ok(Vec::new()),
                        values => serde_json::from_value(values).map_err(|e| e.to_string()),
                    }
                },
            )
            .await
            .map_err(|e| self.error("read the rows of", e))
    }

    /// One `spreadsheets.batchUpdate`, after a quota permit.
    async fn batch_update(&self, body: String) -> Result<(), FetchError> {
        self.quota.write_permit(&self.target.connection, &self.project).await;
        let url = self.endpoint(&[&format!("{}:batchUpdate", self.target.spreadsheet_id)]);
        self.api
            .fetch(
                &self.target.connection,
                |http, token| {
                    http.post(url.clone())
                        .bearer_auth(token)
                        .header(CONTENT_TYPE, "application/json")
                        .body(body.clone())
                },
                classify,
                |_| Ok(()),
            )
            .await
    }

    /// `<base>/v4/spreadsheets/<segments…>`, each segment percent-encoded.
    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            // Config only accepts http(s) bases, which always have a path.
            .expect("an http(s) API base")
            .pop_if_empty()
            .extend(["v4", "spreadsheets"])
            .extend(segments);
        url
    }

    fn error(&self, action: &'static str, source: FetchError) -> SinkError {
        SinkError::Sheets {
            action,
            target: format!(
                "spreadsheet {}, tab {:?}",
                self.target.spreadsheet_id, self.target.sheet
            ),
            source,
        }
    }
}

/// Which old rows an append keeps, and those that go after the window's.
#[derive(Debug)]
struct Upsert {
    date_column: usize,
    window: DateWindow,
    /// Serialized `RowData` of the old rows dated after the window.
    after: Vec<String>,
}

/// One delivery in progress; nothing a reader sees changes before [`commit`](Self::commit).
#[must_use = "a delivery is abandoned unless it is committed"]
pub(crate) struct SheetsDelivery {
    sink: SheetsSink,
    kinds: Vec<ColumnKind>,
    plan: WritePlan,
    upsert: Option<Upsert>,
    rows_written: u64,
    rows_kept: u64,
    poisoned: bool,
    _lock: OwnedMutexGuard<()>,
}

impl std::fmt::Debug for SheetsDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SheetsDelivery")
            .field("target", &self.sink.target)
            .field("rows_written", &self.rows_written)
            .finish_non_exhaustive()
    }
}

impl SheetsDelivery {
    /// Adds a batch of rows. Rows may already be sent to the hidden staging tab; after a
    /// failure every later call fails and the delivery must be aborted.
    pub(crate) async fn write_batch(&mut self, batch: &RowBatch) -> Result<(), SinkError> {
        let path = self.sink.path();
        if self.poisoned {
            return Err(SinkError::Poisoned { path });
        }
        if batch.width() != self.kinds.len() {
            return Err(SinkError::BatchWidth {
                path,
                expected: self.kinds.len(),
                found: batch.width(),
            });
        }
        if let Some(upsert) = &self.upsert {
            for row in batch.rows() {
                let cell = row.get(upsert.date_column).unwrap_or("");
                if !iso_date(cell).is_some_and(|day| upsert.window.contains(day)) {
                    return Err(SinkError::RowOutsideWindow {
                        path,
                        date: cell.to_owned(),
                        window: upsert.window,
                    });
                }
            }
        }
        let input = self.sink.target.value_input;
        for row in batch.rows() {
            let cells = row
                .cells()
                .zip(&self.kinds)
                .map(|(text, kind)| cell_data(&typed(text, *kind, input)));
            self.push(row_data(cells)).await?;
            self.rows_written += 1;
        }
        Ok(())
    }

    /// Makes the delivery visible in one all-or-nothing step; returns rows written/kept.
    pub(crate) async fn commit(mut self) -> Result<DeliveryReport, SinkError> {
        if self.poisoned {
            return Err(SinkError::Poisoned { path: self.sink.path() });
        }
        if let Some(upsert) = self.upsert.take() {
            for row in upsert.after {
                self.push(row).await?;
            }
        }
        let bodies = self.plan.finish()?;
        for body in bodies {
            self.sink
                .batch_update(body)
                .await
                .map_err(|e| self.sink.error("write", e))?;
        }
        Ok(DeliveryReport {
            path: self.sink.path(),
            rows_written: self.rows_written,
            rows_kept: self.rows_kept,
        })
    }

    /// Best-effort cleanup (delete the staging tab) of a delivery that will not be committed.
    /// A tab left behind (the daemon stopped, this request failed) is deleted by the next
    /// delivery's first write.
    pub(crate) async fn abort(self) {
        let Some(body) = self.plan.abort() else { return };
        if let Err(error) = self.sink.batch_update(body).await {
            tracing::warn!(target = %self.sink.location(), %error, "could not delete the staging tab");
        }
    }

    /// Adds one serialized row, sending a chunk to staging when the plan says so.
    async fn push(&mut self, row: String) -> Result<(), SinkError> {
        let body = self.plan.push_row(row).inspect_err(|_| self.poisoned = true)?;
        if let Some(body) = body {
            if let Err(error) = self.sink.batch_update(body).await {
                self.poisoned = true;
                return Err(self.sink.error("write rows to the staging tab of", error));
            }
        }
        Ok(())
    }

    /// Checks the old header, sends the old rows dated before the window and returns those
    /// dated after it (a row without a date is kept before: data is never dropped only
    /// because it cannot be placed).
    async fn keep_old_rows(
        &mut self,
        old_rows: Vec<Vec<Value>>,
        date_column: usize,
        window: DateWindow,
    ) -> Result<Vec<String>, SinkError> {
        let mut rows = old_rows.into_iter();
        let Some(header) = rows.next() else {
            return Ok(Vec::new());
        };
        let found: Vec<String> = header
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect();
        if found != self.sink.columns {
            return Err(SinkError::HeaderMismatch {
                path: self.sink.path(),
                found,
                expected: self.sink.columns.clone(),
            });
        }
        let input = self.sink.target.value_input;
        let mut after = Vec::new();
        for row in rows {
            if row.iter().all(|v| v.is_null() || v.as_str() == Some("")) {
                continue;
            }
            let day = row.get(date_column).and_then(read_date);
            if day.is_some_and(|day| window.contains(day)) {
                continue;
            }
            let cells = self
                .kinds
                .iter()
                .enumerate()
                .map(|(i, kind)| read_back(row.get(i).unwrap_or(&Value::Null), *kind, input));
            let data = row_data(cells);
            self.rows_kept += 1;
            if day.is_some_and(|day| day > window.end) {
                after.push(data);
            } else {
                self.push(data).await?;
            }
        }
        Ok(after)
    }
}

#[cfg(test)]
mod tests;
