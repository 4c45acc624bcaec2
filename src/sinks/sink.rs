//! The one shape every output has: a [`Sink`] built for a query by [`Sinks`], a
//! [`Delivery`] that takes row batches and is committed whole or aborted. A run drives every
//! kind through the same steps; adding a kind adds a variant here, not a pipeline in `run`.

use std::collections::HashMap;

use crate::config::Config;
use crate::http::ApiClient;
use crate::location::Location;
use crate::query::{Output, Query};
use crate::rows::{BatchForm, DateWindow, RowBatch};

use super::csv::{CsvDelivery, CsvSink, DeliveryReport};
use super::sheets::{self, SheetsDelivery, SheetsQuota, SheetsSink};
use super::SinkError;
use crate::query::SheetsTarget;

/// Where one query's rows go.
#[derive(Debug)]
pub(crate) enum Sink {
    /// A CSV file.
    Csv(CsvSink),
    /// A Google Sheets tab.
    Sheets(Box<SheetsSink>),
}

/// A delivery in progress: nothing a reader sees changes until [`Delivery::commit`].
#[derive(Debug)]
pub(crate) enum Delivery {
    /// Written on blocking threads, so file I/O never stalls the runtime; `None` only while
    /// a batch is being written.
    Csv(Option<Box<CsvDelivery>>),
    /// Written as the batches come.
    Sheets(Box<SheetsDelivery>),
}

impl Sink {
    /// Where the rows go.
    pub(crate) fn location(&self) -> Location {
        match self {
            Sink::Csv(sink) => Location::File(sink.path().to_path_buf()),
            Sink::Sheets(sink) => sink.location(),
        }
    }

    /// Starts a delivery of `window`'s rows (reading what an append keeps) before any row is
    /// fetched.
    pub(crate) async fn begin(self, window: DateWindow) -> Result<Delivery, SinkError> {
        match self {
            Sink::Csv(sink) => blocking(move || sink.begin(window))
                .await
                .map(|delivery| Delivery::Csv(Some(Box::new(delivery)))),
            Sink::Sheets(sink) => sink.begin(window).await.map(|d| Delivery::Sheets(Box::new(d))),
        }
    }
}

impl Delivery {
    /// The form the source should hand rows over in: a CSV file takes them encoded.
    pub(crate) fn batch_form(&self) -> BatchForm {
        match self {
            Delivery::Csv(_) => BatchForm::Csv,
            Delivery::Sheets(_) => BatchForm::Cells,
        }
    }

    /// Adds one page of rows.
    pub(crate) async fn write_batch(&mut self, batch: RowBatch) -> Result<(), SinkError> {
        match self {
            Delivery::Csv(slot) => {
                let mut delivery = slot.take().ok_or(SinkError::WriterStopped(
                    "an earlier batch's writer did not come back".to_string(),
                ))?;
                let (delivery, written) = blocking(move || {
                    let written = delivery.write_batch(&batch);
                    Ok((delivery, written))
                })
                .await?;
                *slot = Some(delivery);
                written
            }
            Delivery::Sheets(delivery) => delivery.write_batch(&batch).await,
        }
    }

    /// Makes the delivery visible in one step.
    pub(crate) async fn commit(self) -> Result<DeliveryReport, SinkError> {
        match self {
            Delivery::Csv(Some(delivery)) => blocking(move || (*delivery).commit()).await,
            Delivery::Csv(None) => Err(SinkError::WriterStopped(
                "an earlier batch's writer did not come back".to_string(),
            )),
            Delivery::Sheets(delivery) => delivery.commit().await,
        }
    }

    /// Drops a delivery that will not be committed, cleaning up what it staged (best effort).
    pub(crate) async fn abort(self) {
        match self {
            // The temp file is removed when the delivery is dropped.
            Delivery::Csv(delivery) => {
                let _ = blocking(move || {
                    drop(delivery);
                    Ok(())
                })
                .await;
            }
            Delivery::Sheets(delivery) => delivery.abort().await,
        }
    }
}

/// Runs file I/O on a blocking thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, SinkError> + Send + 'static,
) -> Result<T, SinkError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| SinkError::WriterStopped(e.to_string()))?
}

/// Builds each run's sink; shared by every run: the HTTP client (tokens, retries) and
/// daemon-wide write quotas Sheets needs, and each connection's Sheets API origin and
/// project (the quota's other key).
#[derive(Clone)]
pub(crate) struct Sinks {
    api: ApiClient,
    quota: SheetsQuota,
    /// Connection id → (Sheets API origin, project).
    connections: HashMap<String, (url::Url, String)>,
    /// Every CSV output must resolve inside it.
    output_dir: std::path::PathBuf,
}

impl Sinks {
    /// Sinks for the outputs of `config`'s connections, written through `api`.
    pub(crate) fn new(config: &Config, api: ApiClient) -> Self {
        let limits = config.sheets;
        let connections = config
            .connections
            .iter()
            .map(|conn| {
                // A service account's quota project is its own; it has no OAuth client id.
                let project = if conn.client_id.is_empty() {
                    conn.id.clone()
                } else {
                    conn.client_id.clone()
                };
                (conn.id.clone(), (conn.api_base(sheets::SHEETS_BASE), project))
            })
            .collect();
        Self {
            quota: SheetsQuota::new(limits.writes_per_minute_per_user, limits.writes_per_minute_per_project)
                .counted_in(api.store()),
            api,
            connections,
            output_dir: config.output_dir.clone(),
        }
    }

    /// The sink for `query`'s output; `Err` names an output connection the config lacks.
    pub(crate) fn sink(&self, query: &Query) -> Result<Sink, String> {
        match &query.output {
            Output::Csv { path, mode } => Ok(Sink::Csv(
                CsvSink::new(path.clone(), *mode, query.columns(), date_column(query)).inside(self.output_dir.clone()),
            )),
            Output::GoogleSheets(target) => self.sheets(target, query).map(|s| Sink::Sheets(Box::new(s))),
        }
    }

    fn sheets(&self, target: &SheetsTarget, query: &Query) -> Result<SheetsSink, String> {
        let (base, project) = self
            .connections
            .get(&target.connection)
            .ok_or_else(|| target.connection.clone())?;
        Ok(SheetsSink::new(
            self.api.clone(),
            base.clone(),
            project.clone(),
            self.quota.clone(),
            target.clone(),
            query.columns(),
            date_column(query),
        ))
    }
}

/// The (connection, scope) writing `output` needs, when it is written through a login.
pub(crate) fn output_scope(output: &Output) -> Option<(&str, &'static str)> {
    match output {
        Output::GoogleSheets(target) => Some((target.connection.as_str(), crate::platform::SHEETS_SCOPE)),
        Output::Csv { .. } => None,
    }
}

/// The position of the query's row-date column, which append mode upserts by.
fn date_column(query: &Query) -> Option<usize> {
    query
        .columns()
        .iter()
        .position(|c| query.platform.field(c).is_some_and(|f| f.is_row_date))
}
