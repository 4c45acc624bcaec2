//! Sinks: where rows end up.
//!
//! Sinks take rows as they come; a delivery is committed whole or not at all. A run opens a
//! delivery, hands it one [`RowBatch`](crate::rows::RowBatch) per source page and commits it
//! only once the source is exhausted. Until then nothing a reader can see has changed, and a
//! delivery that is dropped (the source failed, the daemon is stopping) leaves the previous
//! output exactly as it was.
//!
//! Every kind has one shape ([`Sink`], [`Delivery`]), built for a query by [`Sinks`]:
//! - [`csv`]: a CSV file, replaced with a temp file and an atomic rename.
//! - [`sheets`]: a Google Sheets tab, replaced by one all-or-nothing `batchUpdate`.

pub(crate) mod csv;
pub(crate) mod sheets;
mod sink;

use std::io;
use std::path::PathBuf;

use crate::http::FetchError;
use crate::rows::DateWindow;

pub(crate) use self::csv::DeliveryReport;
pub(crate) use self::sink::{output_scope, Sink, Sinks};

/// The row-date column an append of `window` to the output at `path` (with `width` columns)
/// upserts by: append needs one, inside the row, and a window that does not end before it
/// starts. Shared by every sink, so their append rules cannot drift apart.
pub(crate) fn append_date_column(
    path: PathBuf,
    date_column: Option<usize>,
    width: usize,
    window: DateWindow,
) -> Result<usize, SinkError> {
    let index = match date_column {
        None => return Err(SinkError::MissingDateColumn { path }),
        Some(index) if index >= width => {
            return Err(SinkError::DateColumnOutOfRange {
                path,
                index,
                columns: width,
            })
        }
        Some(index) => index,
    };
    if window.start > window.end {
        return Err(SinkError::InvalidWindow { path, window });
    }
    Ok(index)
}

/// Why a delivery could not start, take a batch or commit.
///
/// Every message names the file involved, because the person reading it is an operator
/// looking at a run record, not at the query that produced it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SinkError {
    /// A file system operation failed (permissions, disk full, missing mount, ...); says
    /// why in the operating system's words ("no space left on device").
    #[error("cannot {action} {}: {}", path.display(), os_words(source))]
    Io {
        /// What was being done, e.g. `create temp file`.
        action: &'static str,
        /// The file or directory it was done to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The existing output could not be read back for an append (I/O error or malformed CSV).
    #[error("cannot read existing {}: {source}", path.display())]
    ReadExisting {
        /// The output file.
        path: PathBuf,
        /// The underlying error, with the record and line where it occurred.
        #[source]
        source: ::csv::Error,
    },
    /// The existing output has other columns than the query writes, so appending would mix
    /// two layouts in one file.
    #[error(
        "{} has columns {found:?} but this query writes {expected:?}; \
         move the file away or use mode replace to start it over",
        path.display()
    )]
    HeaderMismatch {
        /// The output file.
        path: PathBuf,
        /// The header found in the file.
        found: Vec<String>,
        /// The query's columns.
        expected: Vec<String>,
    },
    /// Append mode was asked for without saying which column holds the row date.
    #[error(
        "cannot append to {}: no date column is set, so the rows of a window cannot be told apart",
        path.display()
    )]
    MissingDateColumn {
        /// The output file.
        path: PathBuf,
    },
    /// The date column index points past the last column.
    #[error("date column {index} is out of range for {}, which has {columns} columns", path.display())]
    DateColumnOutOfRange {
        /// The output file.
        path: PathBuf,
        /// The index given.
        index: usize,
        /// How many columns there are.
        columns: usize,
    },
    /// A sink without columns would write a file no reader can tell from an empty one.
    #[error("no columns are set for {}", path.display())]
    NoColumns {
        /// The output file.
        path: PathBuf,
    },
    /// The output path resolves (through a symlink) outside `output_dir`.
    #[error(
        "{} resolves to {}, outside output_dir; outputs must stay inside it",
        path.display(),
        resolved.display()
    )]
    OutsideOutputDir {
        /// The path as configured.
        path: PathBuf,
        /// Where it leads.
        resolved: PathBuf,
    },
    /// The output path names an existing directory.
    #[error("{} is a directory; name a file inside it, e.g. {}/daily.csv", path.display(), path.display())]
    IsDirectory {
        /// The path.
        path: PathBuf,
    },
    /// The output path does not name a file (e.g. it ends in `..`).
    #[error("{} is not a file path", path.display())]
    InvalidPath {
        /// The path given.
        path: PathBuf,
    },
    /// An append window that ends before it starts cannot say which rows it replaces.
    #[error("cannot append window {window} to {}: it ends before it starts", path.display())]
    InvalidWindow {
        /// The output file.
        path: PathBuf,
        /// The window given.
        window: DateWindow,
    },
    /// A batch's rows are not as wide as the sink's columns.
    #[error("a batch for {} has {found} columns but the file has {expected}", path.display())]
    BatchWidth {
        /// The output file.
        path: PathBuf,
        /// The sink's column count.
        expected: usize,
        /// The batch's width.
        found: usize,
    },
    /// An append carried a row outside its own window. Kept, it would survive the next
    /// delivery of its own date next to that delivery's copy: a duplicate.
    #[error(
        "a row for {} has date {date:?}, outside this append's window {window}",
        path.display()
    )]
    RowOutsideWindow {
        /// The output file.
        path: PathBuf,
        /// The row's date cell as given.
        date: String,
        /// The delivery's window.
        window: DateWindow,
    },
    /// A write failed earlier in this delivery, so the temp file may end in half a row.
    #[error(
        "an earlier write for {} failed; drop this delivery and start a new one",
        path.display()
    )]
    Poisoned {
        /// The output file.
        path: PathBuf,
    },
    /// A Sheets API call failed (after `ApiClient`'s retries, waits and refresh).
    #[error("cannot {action} {target}: {source}")]
    Sheets {
        /// What was being done, e.g. `write rows to`.
        action: &'static str,
        /// `spreadsheet <id>, tab <name>`.
        target: String,
        /// Why.
        #[source]
        source: FetchError,
    },
    /// The thread writing the output died.
    #[error("the output writer stopped unexpectedly: {0}")]
    WriterStopped(String),
    /// The write would take the spreadsheet past Google's cell limit; checked before writing.
    #[error(
        "spreadsheet {spreadsheet} cannot take tab {sheet:?}: it needs {needed} cells and the \
         other tabs hold {existing}, over Google's limit of {limit} cells per spreadsheet; \
         remove or shrink tabs, or write to another spreadsheet"
    )]
    CellLimit {
        /// Spreadsheet id.
        spreadsheet: String,
        /// Tab title.
        sheet: String,
        /// Cells of the grids that stay while writing.
        existing: u64,
        /// Cells of the grid being written.
        needed: u64,
        /// The limit.
        limit: u64,
    },
}

/// An I/O error as the operating system words it, for people: "no space left on device",
/// "permission denied" (without Rust's "(os error 28)").
pub(crate) fn os_words(error: &io::Error) -> String {
    let text = error.to_string();
    let text = match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => &text[..at],
        _ => &text,
    };
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}
