//! CSV files that are never seen half written.
//!
//! A delivery writes into a temp file beside the target (`.{name}.adsync-tmp`) and
//! renames it over the target on commit. Same directory, because `rename` is only atomic
//! within one file system. A reader therefore sees either the old file or the new one, and a
//! delivery that fails or is dropped leaves the old file byte for byte as it was.
//!
//! In [`WriteMode::Append`] the delivery upserts its window: the result is the old rows dated
//! before the window (in file order), then the new rows, then the old rows dated after it.
//! The old file is streamed twice (once at [`CsvSink::begin`], once at
//! [`CsvDelivery::commit`]) so it is never held in memory.
//!
//! One delivery per target at a time is assumed (runs of a query are serialized): `begin`
//! removes the target's leftover temp file, which would include another live delivery's.
//! The temp name is fixed per target so that cleanup is one `unlink`, not a directory scan
//! (ten thousand reports in one directory made every delivery read all their names).

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use ::csv::{ByteRecord, Reader, ReaderBuilder, Terminator, Writer, WriterBuilder};
use chrono::NaiveDate;
use tracing::{debug, warn};

use super::SinkError;
use crate::query::WriteMode;
use crate::rows::{DateWindow, RowBatch};

/// Between the target's file name and the random part of a temp file name.
const TEMP_MARKER: &str = ".adsync-tmp";

/// A CSV output file and how deliveries change it.
#[derive(Debug, Clone)]
pub(crate) struct CsvSink {
    path: PathBuf,
    /// The directory the file must resolve inside (symlinks followed), when confined.
    root: Option<PathBuf>,
    mode: WriteMode,
    columns: Vec<String>,
    date_column: Option<usize>,
}

impl CsvSink {
    /// A sink writing `columns` to `path`.
    ///
    /// `date_column`: index of the row-date column (ISO `YYYY-MM-DD`) in `columns`; required
    /// for [`WriteMode::Append`], which uses it to find the rows a window replaces, and
    /// ignored for [`WriteMode::Replace`]. Nothing is checked here; [`begin`](Self::begin)
    /// reports bad settings, so building a sink never fails.
    pub(crate) fn new(path: PathBuf, mode: WriteMode, columns: Vec<String>, date_column: Option<usize>) -> Self {
        Self {
            path,
            root: None,
            mode,
            columns,
            date_column,
        }
    }

    /// Confines the sink to `root`: a delivery whose file resolves outside it (through a
    /// symlinked directory or file) is refused before anything is created or written.
    pub(crate) fn inside(mut self, root: PathBuf) -> Self {
        self.root = Some(root);
        self
    }

    /// The target file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Starts a delivery of `window`'s rows. Creates missing parent directories.
    ///
    /// Also removes temp files a crashed delivery to this target left behind. In append mode
    /// the existing file's header is checked here, before any row is fetched, and the old
    /// rows dated before the window are copied to the temp file (pass 1 of 2).
    pub(crate) fn begin(&self, window: DateWindow) -> Result<CsvDelivery, SinkError> {
        let Some(file_name) = self.path.file_name() else {
            return Err(SinkError::InvalidPath {
                path: self.path.clone(),
            });
        };
        if self.columns.is_empty() {
            return Err(SinkError::NoColumns {
                path: self.path.clone(),
            });
        }
        let upsert = match self.mode {
            WriteMode::Replace => None,
            WriteMode::Append => Some(self.upsert(window)?),
        };

        let target = &self.resolve()?;
        let dir = parent_dir(target);
        let temp_path = dir.join(temp_name(file_name));
        remove_stale_temp(&temp_path);

        // Open the old file before creating the temp one so a header mismatch leaves nothing
        // behind. Only append reads it; replace only borrows its permissions.
        let mut old = match upsert {
            Some(_) => open_existing(target)?,
            None => None,
        };
        let mut old_rows = match &mut old {
            Some(file) => existing_rows(file, target, &self.columns)?,
            None => None,
        };

        let (temp, file) = TempFile::create(temp_path)?;
        keep_permissions(target, &file, &temp.path)?;
        let mut writer = WriterBuilder::new()
            .terminator(Terminator::Any(b'\n'))
            .from_writer(file);
        writer.write_record(&self.columns).map_err(write_error(&temp.path))?;

        let mut rows_kept = 0;
        if let (Some(upsert), Some(rows)) = (&upsert, &mut old_rows) {
            rows_kept = copy_rows(rows, upsert, Place::Before, &mut writer, target, &temp.path)?;
        }
        drop(old_rows);

        Ok(CsvDelivery {
            writer,
            temp,
            target: target.clone(),
            columns: self.columns.clone(),
            upsert: upsert.map(|upsert| (upsert, old)),
            rows_written: 0,
            rows_kept,
            poisoned: false,
        })
    }

    /// The target with every symlink in it resolved, its directory created: inside the root
    /// (when confined) and not a directory. The nearest existing ancestor is checked before
    /// anything is created, so a symlinked directory cannot make adsync create directories
    /// elsewhere either.
    fn resolve(&self) -> Result<PathBuf, SinkError> {
        let dir = parent_dir(&self.path);
        let outside = |resolved: &Path| SinkError::OutsideOutputDir {
            path: self.path.clone(),
            resolved: resolved.to_owned(),
        };
        let root = match &self.root {
            Some(root) => {
                fs::create_dir_all(root).map_err(io_error("create directory", root))?;
                Some(fs::canonicalize(root).map_err(io_error("resolve", root))?)
            }
            None => None,
        };
        let inside = |resolved: &Path| root.as_ref().is_none_or(|root| resolved.starts_with(root));
        let existing = dir.ancestors().find(|a| a.exists()).unwrap_or(Path::new("."));
        let resolved = fs::canonicalize(existing).map_err(io_error("resolve", existing))?;
        if !inside(&resolved) {
            return Err(outside(&resolved));
        }
        fs::create_dir_all(dir).map_err(io_error("create directory", dir))?;
        let real_dir = fs::canonicalize(dir).map_err(io_error("resolve", dir))?;
        if !inside(&real_dir) {
            return Err(outside(&real_dir));
        }
        let target = real_dir.join(self.path.file_name().unwrap_or_default());
        match fs::metadata(&target) {
            Ok(meta) if meta.is_dir() => Err(SinkError::IsDirectory { path: target }),
            Ok(_) => {
                // A symlinked file: appending reads through it, so it too must stay inside.
                let real = fs::canonicalize(&target).map_err(io_error("resolve", &target))?;
                if inside(&real) {
                    Ok(target)
                } else {
                    Err(outside(&real))
                }
            }
            Err(_) => Ok(target),
        }
    }

    /// Checks the append settings against `window`.
    fn upsert(&self, window: DateWindow) -> Result<Upsert, SinkError> {
        let date_column = super::append_date_column(self.path.clone(), self.date_column, self.columns.len(), window)?;
        Ok(Upsert { date_column, window })
    }
}

/// One delivery in progress: a temp file beside the target, invisible until
/// [`commit`](Self::commit).
///
/// Dropping it without commit removes its temp file; the target is untouched.
#[derive(Debug)]
#[must_use = "a delivery is abandoned unless it is committed"]
pub(crate) struct CsvDelivery {
    // Declared before `temp` so the file is closed before the temp file is removed on drop
    // (Windows cannot remove an open file).
    writer: Writer<File>,
    temp: TempFile,
    target: PathBuf,
    columns: Vec<String>,
    /// Append settings, and the old file if there is one (read again at commit).
    upsert: Option<(Upsert, Option<File>)>,
    rows_written: u64,
    rows_kept: u64,
    poisoned: bool,
}

impl CsvDelivery {
    /// Writes one batch of rows, cells exactly as given.
    ///
    /// The whole batch is checked before any of it is written, so a rejected batch (wrong
    /// width, or in append mode a row whose date is not inside the window) leaves the
    /// delivery usable. A failed write does not: the temp file may end in half a row, so
    /// every later call fails and the delivery must be dropped.
    pub(crate) fn write_batch(&mut self, batch: &RowBatch) -> Result<(), SinkError> {
        if self.poisoned {
            return Err(SinkError::Poisoned {
                path: self.target.clone(),
            });
        }
        if batch.width() != self.columns.len() {
            return Err(SinkError::BatchWidth {
                path: self.target.clone(),
                expected: self.columns.len(),
                found: batch.width(),
            });
        }
        match batch.csv_records() {
            Some(records) => self.write_records(records)?,
            None => self.write_cells(batch)?,
        }
        self.rows_written += batch.len() as u64;
        Ok(())
    }

    fn write_cells(&mut self, batch: &RowBatch) -> Result<(), SinkError> {
        if let Some((upsert, _)) = &self.upsert {
            for row in batch.rows() {
                upsert.check(row.get(upsert.date_column).unwrap_or("").as_bytes(), &self.target)?;
            }
        }
        for row in batch.rows() {
            if let Err(error) = self.writer.write_record(row.cells()) {
                self.poisoned = true;
                return Err(write_error(&self.temp.path)(error));
            }
        }
        Ok(())
    }

    /// Appends records the source already encoded (as this writer would have): the file
    /// takes them as they are, after whatever the writer still buffers. An append reads
    /// their dates back first, the one case that needs a cell.
    fn write_records(&mut self, records: &[u8]) -> Result<(), SinkError> {
        if let Some((upsert, _)) = &self.upsert {
            let mut reader = ReaderBuilder::new().has_headers(false).from_reader(records);
            let mut row = ByteRecord::new();
            let unreadable =
                |error: ::csv::Error| io_error("read the dates of new rows for", &self.temp.path)(error.into());
            while reader.read_byte_record(&mut row).map_err(unreadable)? {
                upsert.check(row.get(upsert.date_column).unwrap_or(b""), &self.target)?;
            }
        }
        let written = self
            .writer
            .flush()
            .and_then(|()| io::Write::write_all(&mut self.writer.get_ref(), records));
        if let Err(error) = written {
            self.poisoned = true;
            return Err(io_error("write", &self.temp.path)(error));
        }
        Ok(())
    }

    /// Makes the delivery visible atomically; returns counts.
    ///
    /// In append mode the old rows dated after the window are copied first (pass 2). Then the
    /// temp file is flushed and fsynced *before* the rename: otherwise a crash soon after
    /// could leave the rename on disk but not the data, i.e. an empty or partial file under
    /// the target's name. The directory is fsynced after it so the rename itself survives a
    /// crash. If only that last step fails, the new file is already visible; the error still
    /// reports it because durability is not guaranteed, and redoing the delivery is harmless.
    pub(crate) fn commit(mut self) -> Result<DeliveryReport, SinkError> {
        if self.poisoned {
            return Err(SinkError::Poisoned { path: self.target });
        }
        if let Some((upsert, Some(old))) = &mut self.upsert {
            if let Some(mut rows) = existing_rows(old, &self.target, &self.columns)? {
                self.rows_kept += copy_rows(
                    &mut rows,
                    upsert,
                    Place::After,
                    &mut self.writer,
                    &self.target,
                    &self.temp.path,
                )?;
            }
        }

        let CsvDelivery {
            writer,
            mut temp,
            target,
            rows_written,
            rows_kept,
            ..
        } = self;
        let file = writer
            .into_inner()
            .map_err(|error| io_error("flush", &temp.path)(error.into_error()))?;
        file.sync_all().map_err(io_error("sync", &temp.path))?;
        drop(file);
        fs::rename(&temp.path, &target).map_err(io_error("rename temp file over", &target))?;
        temp.armed = false;
        sync_dir(parent_dir(&target))?;

        debug!(path = %target.display(), rows_written, rows_kept, "CSV delivery committed.");
        Ok(DeliveryReport {
            path: target,
            rows_written,
            rows_kept,
        })
    }
}

/// What a committed delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeliveryReport {
    /// The file written (for a Sheets tab, `sheets:<spreadsheet id>/<tab>`).
    pub(crate) path: PathBuf,
    /// Rows this delivery brought.
    pub(crate) rows_written: u64,
    /// Append: old rows outside the window, still in the file. Always 0 for replace. The file
    /// holds `rows_written + rows_kept` data rows.
    pub(crate) rows_kept: u64,
}

/// Which rows an append replaces.
#[derive(Debug, Clone, Copy)]
struct Upsert {
    date_column: usize,
    window: DateWindow,
}

/// Where an old row goes relative to the new ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Kept before the new rows, in pass 1.
    Before,
    /// Replaced by the new rows.
    Inside,
    /// Kept after the new rows, in pass 2.
    After,
}

impl Upsert {
    /// Where an old row goes. A row without an ISO date is kept in pass 1: data is never
    /// dropped only because it cannot be placed.
    fn place(&self, row: &ByteRecord) -> Place {
        match row.get(self.date_column).and_then(iso_date) {
            None => Place::Before,
            Some(day) if day < self.window.start => Place::Before,
            Some(day) if day > self.window.end => Place::After,
            Some(_) => Place::Inside,
        }
    }

    /// Refuses a new row whose date cell does not lie inside the window.
    fn check(&self, cell: &[u8], target: &Path) -> Result<(), SinkError> {
        if iso_date(cell).is_some_and(|day| self.window.contains(day)) {
            return Ok(());
        }
        Err(SinkError::RowOutsideWindow {
            path: target.to_owned(),
            date: String::from_utf8_lossy(cell).into_owned(),
            window: self.window,
        })
    }
}

/// Parses a cell as exactly `YYYY-MM-DD`.
fn iso_date(cell: &[u8]) -> Option<NaiveDate> {
    if cell.len() != 10 {
        return None;
    }
    std::str::from_utf8(cell).ok()?.parse().ok()
}

/// A temp file that is removed when dropped unless disarmed by a successful rename.
#[derive(Debug)]
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    /// Creates `path`, which must not exist.
    fn create(path: PathBuf) -> Result<(TempFile, File), SinkError> {
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => Ok((TempFile { path, armed: true }, file)),
            Err(error) => Err(io_error("create temp file", &path)(error)),
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Err(error) = fs::remove_file(&self.path) {
            if error.kind() != io::ErrorKind::NotFound {
                warn!(path = %self.path.display(), %error, "Could not remove an abandoned CSV temp file.");
            }
        }
    }
}

/// `.{name}.adsync-tmp`: hidden, and unique to the target so cleanup never touches another
/// target's file.
fn temp_name(file_name: &OsStr) -> OsString {
    let mut name = OsString::from(".");
    name.push(file_name);
    name.push(TEMP_MARKER);
    name
}

/// Removes the temp file a crashed delivery to the same target left behind. Failures only
/// warn here; creating the new temp file then fails with the real error.
fn remove_stale_temp(path: &Path) {
    match fs::remove_file(path) {
        Ok(()) => debug!(path = %path.display(), "Removed a stale CSV temp file."),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => warn!(path = %path.display(), %error, "Could not remove a stale CSV temp file."),
    }
}

/// The existing target, or `None` when it is missing or empty (0 bytes).
fn open_existing(target: &Path) -> Result<Option<File>, SinkError> {
    let file = match File::open(target) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error("open existing", target)(error)),
    };
    let len = file.metadata().map_err(io_error("read metadata of", target))?.len();
    Ok((len > 0).then_some(file))
}

/// Reads `file` from the start, checks its header against `columns` and returns a reader
/// positioned at the first data row; `None` if the file holds no record at all.
///
/// Both passes come through here, reading the same open file, so they see the same bytes
/// even if the target is replaced by name in between.
fn existing_rows<'f>(
    file: &'f mut File,
    target: &Path,
    columns: &[String],
) -> Result<Option<Reader<&'f mut File>>, SinkError> {
    file.seek(SeekFrom::Start(0))
        .map_err(io_error("read existing", target))?;
    // Non-flexible: an old row of another width is an error, never silently reshaped.
    let mut reader = ReaderBuilder::new().has_headers(false).from_reader(file);
    let mut header = ByteRecord::new();
    if !reader.read_byte_record(&mut header).map_err(read_error(target))? {
        return Ok(None);
    }
    if header.iter().ne(columns.iter().map(String::as_bytes)) {
        return Err(SinkError::HeaderMismatch {
            path: target.to_owned(),
            found: header
                .iter()
                .map(|cell| String::from_utf8_lossy(cell).into_owned())
                .collect(),
            expected: columns.to_vec(),
        });
    }
    Ok(Some(reader))
}

/// Copies the rows of `rows` that belong at `place`; returns how many.
fn copy_rows(
    rows: &mut Reader<&mut File>,
    upsert: &Upsert,
    place: Place,
    writer: &mut Writer<File>,
    target: &Path,
    temp: &Path,
) -> Result<u64, SinkError> {
    let mut row = ByteRecord::new();
    let mut copied = 0;
    while rows.read_byte_record(&mut row).map_err(read_error(target))? {
        if upsert.place(&row) == place {
            writer.write_byte_record(&row).map_err(write_error(temp))?;
            copied += 1;
        }
    }
    Ok(copied)
}

/// Copies the target's permissions to the temp file so a delivery does not change who may
/// read the report. Unix only: elsewhere the only permission is read-only, which would stop
/// the rename.
fn keep_permissions(target: &Path, temp_file: &File, temp: &Path) -> Result<(), SinkError> {
    #[cfg(unix)]
    if let Some(meta) = fs::metadata(target).ok().filter(|meta| meta.is_file()) {
        temp_file
            .set_permissions(meta.permissions())
            .map_err(io_error("set permissions of", temp))?;
    }
    #[cfg(not(unix))]
    let _ = (target, temp_file, temp);
    Ok(())
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), SinkError> {
    // Only Unix can open a directory to fsync it; elsewhere the rename is as durable as the
    // file system makes it.
    #[cfg(unix)]
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(io_error("sync directory", dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The directory holding `path`; `.` for a bare file name.
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Removes every temp file adsync writes (`.{name}.adsync-tmp`, and the random-suffixed
/// `.{name}.adsync-tmp…` of older versions) under `dir` that `keep` does not claim: at start
/// all of them (no delivery is running), in the upkeep those of files no query writes any
/// more (a live delivery's temp belongs to a current output). Symlinks are not followed.
/// Returns how many were removed; failures only warn.
pub(crate) fn remove_stale_temps(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> usize {
    let mut removed = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                pending.push(path);
                continue;
            }
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if kind.is_file() && name.starts_with('.') && name.contains(TEMP_MARKER) && !keep(&path) {
                match fs::remove_file(&path) {
                    Ok(()) => removed += 1,
                    Err(error) => warn!(path = %path.display(), %error, "Could not remove a stale CSV temp file."),
                }
            }
        }
    }
    removed
}

/// The temp file a delivery to `target` writes.
pub(crate) fn temp_path(target: &Path) -> PathBuf {
    parent_dir(target).join(temp_name(target.file_name().unwrap_or_default()))
}

fn io_error<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> SinkError + 'p {
    move |source| SinkError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

fn write_error(temp: &Path) -> impl FnOnce(::csv::Error) -> SinkError + '_ {
    move |error| io_error("write", temp)(error.into())
}

fn read_error(target: &Path) -> impl FnOnce(::csv::Error) -> SinkError + '_ {
    move |source| SinkError::ReadExisting {
        path: target.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::BatchForm;

    const COLUMNS: [&str; 3] = ["date", "campaign", "spend"];
    const HEADER: &str = "date,campaign,spend\n";

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn window(start: &str, end: &str) -> DateWindow {
        DateWindow::new(day(start), day(end))
    }

    fn sink(path: &Path, mode: WriteMode) -> CsvSink {
        let columns = COLUMNS.iter().map(|c| c.to_string()).collect();
        CsvSink::new(path.to_owned(), mode, columns, Some(0))
    }

    fn batch(rows: &[[&str; 3]]) -> RowBatch {
        batch_in(BatchForm::Cells, rows)
    }

    fn batch_in(form: BatchForm, rows: &[[&str; 3]]) -> RowBatch {
        let mut batch = RowBatch::in_form(form, 3, rows.len());
        for row in rows {
            batch.push_row(*row);
        }
        batch
    }

    fn deliver(sink: &CsvSink, window: DateWindow, rows: &[[&str; 3]]) -> DeliveryReport {
        let mut delivery = sink.begin(window).unwrap();
        delivery.write_batch(&batch(rows)).unwrap();
        delivery.commit().unwrap()
    }

    #[test]
    fn rows_encoded_by_the_source_make_the_same_file_as_cells() {
        let old = "2026-01-01,Old,1\n2026-01-05,Replaced,2\n2026-01-09,Later,3\n";
        let pages: [&[[&str; 3]]; 2] = [
            &[
                ["2026-01-05", "Retargeting, \"Cart\" 2", "12.50"],
                ["2026-01-06", "", "two\nlines"],
            ],
            &[["2026-01-06", "Brand", "cr\r"]],
        ];
        for mode in [WriteMode::Replace, WriteMode::Append] {
            let files = [BatchForm::Cells, BatchForm::Csv].map(|form| {
                let (_dir, path) = report_file(Some(&format!("{HEADER}{old}")));
                let mut delivery = sink(&path, mode).begin(window("2026-01-05", "2026-01-06")).unwrap();
                for page in pages {
                    delivery.write_batch(&batch_in(form, page)).unwrap();
                }
                let report = delivery.commit().unwrap();
                (read(&path), report.rows_written, report.rows_kept)
            });
            assert_eq!(files[0], files[1], "{mode:?}");
        }
    }

    #[test]
    fn append_reads_the_dates_of_encoded_rows_before_writing_them() {
        let (_dir, path) = report_file(None);
        let mut delivery = sink(&path, WriteMode::Append)
            .begin(window("2026-01-05", "2026-01-06"))
            .unwrap();

        let rows = [["2026-01-05", "A", "1"], ["2026-01-07", "A, \"b\"", "2"]];
        let outside = delivery.write_batch(&batch_in(BatchForm::Csv, &rows));
        let report = delivery.commit().unwrap();

        assert!(matches!(outside, Err(SinkError::RowOutsideWindow { ref date, .. }) if date == "2026-01-07"));
        assert_eq!(report.rows_written, 0, "a rejected batch writes none of its rows");
        assert_eq!(read(&path), HEADER);
    }

    /// A temp dir holding `report.csv` with `contents`, or no file for `None`.
    fn report_file(contents: Option<&str>) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.csv");
        if let Some(contents) = contents {
            fs::write(&path, contents).unwrap();
        }
        (dir, path)
    }

    /// Appends `rows` to a `report.csv` holding a header and `before`; returns the data rows
    /// after it (header checked and stripped) and the report.
    fn append_to(before: &str, window: DateWindow, rows: &[[&str; 3]]) -> (String, DeliveryReport) {
        let (_dir, path) = report_file(Some(&format!("{HEADER}{before}")));
        let report = deliver(&sink(&path, WriteMode::Append), window, rows);
        let after = read(&path);
        let rows = after.strip_prefix(HEADER).expect("the header comes first");
        (rows.to_owned(), report)
    }

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replace_writes_header_and_rows_exactly() {
        let (dir, path) = report_file(None);

        let report = deliver(
            &sink(&path, WriteMode::Replace),
            window("2026-01-05", "2026-01-05"),
            &[
                ["2026-01-05", "Retargeting, \"Cart\" 2", "12.50"],
                ["2026-01-05", "two\nlines", "0.10"],
                ["2026-01-05", "Brand", "1e3"],
            ],
        );

        assert_eq!(
            fs::read(&path).unwrap(),
            b"date,campaign,spend\n\
              2026-01-05,\"Retargeting, \"\"Cart\"\" 2\",12.50\n\
              2026-01-05,\"two\nlines\",0.10\n\
              2026-01-05,Brand,1e3\n"
        );
        assert_eq!(
            report,
            DeliveryReport {
                path: path.clone(),
                rows_written: 3,
                rows_kept: 0
            }
        );
        assert_eq!(names(dir.path()), ["report.csv"]);
    }

    #[test]
    fn replace_discards_the_previous_rows() {
        let (_dir, path) = report_file(None);
        let sink = sink(&path, WriteMode::Replace);

        deliver(&sink, window("2026-01-05", "2026-01-05"), &[["2026-01-05", "A", "1"]]);
        deliver(&sink, window("2026-01-06", "2026-01-06"), &[["2026-01-06", "B", "2"]]);

        assert_eq!(read(&path), format!("{HEADER}2026-01-06,B,2\n"));
    }

    #[test]
    fn dropped_delivery_leaves_the_previous_file_byte_identical_and_no_temp_file() {
        for mode in [WriteMode::Replace, WriteMode::Append] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("report.csv");
            let before = format!("{HEADER}2026-01-04,A,1\n2026-01-05,A,2\n2026-01-06,A,3\n");
            fs::write(&path, &before).unwrap();

            let mut delivery = sink(&path, mode).begin(window("2026-01-05", "2026-01-05")).unwrap();
            delivery.write_batch(&batch(&[["2026-01-05", "B", "9"]])).unwrap();
            assert_eq!(names(dir.path()).len(), 2, "temp file exists while writing");
            drop(delivery);

            assert_eq!(read(&path), before, "{mode:?}");
            assert_eq!(names(dir.path()), ["report.csv"], "{mode:?}");
        }
    }

    #[test]
    fn an_existing_directory_at_the_target_is_refused() {
        let (_dir, path) = report_file(None);
        fs::create_dir(&path).unwrap();
        let error = sink(&path, WriteMode::Replace)
            .begin(window("2026-01-05", "2026-01-05"))
            .unwrap_err();
        assert!(matches!(error, SinkError::IsDirectory { .. }), "{error}");
    }

    #[test]
    fn failed_commit_leaves_no_temp_file() {
        let (dir, path) = report_file(None);
        let mut delivery = sink(&path, WriteMode::Replace)
            .begin(window("2026-01-05", "2026-01-05"))
            .unwrap();
        delivery.write_batch(&batch(&[["2026-01-05", "A", "1"]])).unwrap();
        // A directory appears at the target meanwhile (`begin` refuses one): the rename fails.
        fs::create_dir(&path).unwrap();
        fs::write(path.join("inside"), "x").unwrap();
        let error = delivery.commit().unwrap_err();

        assert!(matches!(error, SinkError::Io { .. }), "{error}");
        assert!(error.to_string().contains("report.csv"), "{error}");
        assert_eq!(names(dir.path()), ["report.csv"]);
    }

    #[test]
    fn append_of_the_same_window_twice_keeps_one_copy() {
        let (_dir, path) = report_file(None);
        let sink = sink(&path, WriteMode::Append);
        let rows = [["2026-01-05", "A", "1"], ["2026-01-06", "A", "2"]];

        deliver(&sink, window("2026-01-05", "2026-01-06"), &rows);
        let report = deliver(&sink, window("2026-01-05", "2026-01-06"), &rows);

        assert_eq!(read(&path), format!("{HEADER}2026-01-05,A,1\n2026-01-06,A,2\n"));
        assert_eq!((report.rows_written, report.rows_kept), (2, 0));
    }

    #[test]
    fn append_of_a_later_then_an_earlier_window_orders_rows_by_window() {
        let (_dir, path) = report_file(None);
        let sink = sink(&path, WriteMode::Append);

        deliver(
            &sink,
            window("2026-01-07", "2026-01-08"),
            &[["2026-01-07", "L", "1"], ["2026-01-08", "L", "2"]],
        );
        let report = deliver(
            &sink,
            window("2026-01-03", "2026-01-04"),
            &[["2026-01-03", "E", "3"], ["2026-01-04", "E", "4"]],
        );

        assert_eq!(
            read(&path),
            format!("{HEADER}2026-01-03,E,3\n2026-01-04,E,4\n2026-01-07,L,1\n2026-01-08,L,2\n")
        );
        assert_eq!((report.rows_written, report.rows_kept), (2, 2));
    }

    #[test]
    fn append_keeps_rows_outside_the_window_in_file_order() {
        let (after, report) = append_to(
            "2026-01-02,B,1\n2026-01-09,A,2\n2026-01-05,old,3\n\
             2026-01-01,A,4\n2026-01-08,B,5\n2026-01-06,old,6\n",
            window("2026-01-05", "2026-01-06"),
            &[["2026-01-05", "new", "7"], ["2026-01-06", "new", "8"]],
        );

        assert_eq!(
            after,
            "2026-01-02,B,1\n2026-01-01,A,4\n2026-01-05,new,7\n\
             2026-01-06,new,8\n2026-01-09,A,2\n2026-01-08,B,5\n"
        );
        assert_eq!((report.rows_written, report.rows_kept), (2, 4));
    }

    #[test]
    fn append_keeps_old_rows_without_an_iso_date_before_the_new_rows() {
        let (after, report) = append_to(
            "2026-01-09,A,1\nTotal,,10\n05/01/2026,A,2\n2026-1-5,A,3\n",
            window("2026-01-05", "2026-01-05"),
            &[["2026-01-05", "new", "7"]],
        );

        assert_eq!(
            after,
            "Total,,10\n05/01/2026,A,2\n2026-1-5,A,3\n2026-01-05,new,7\n2026-01-09,A,1\n"
        );
        assert_eq!(report.rows_kept, 4);
    }

    #[test]
    fn append_to_a_file_with_another_header_fails_and_says_how_to_fix_it() {
        let before = "day,campaign\n2026-01-05,A\n";
        let (dir, path) = report_file(Some(before));

        let error = sink(&path, WriteMode::Append)
            .begin(window("2026-01-05", "2026-01-05"))
            .unwrap_err();

        let message = error.to_string();
        assert!(matches!(error, SinkError::HeaderMismatch { .. }), "{message}");
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains(r#"["day", "campaign"]"#), "{message}");
        assert!(message.contains(r#"["date", "campaign", "spend"]"#), "{message}");
        assert!(message.contains("move the file away or use mode replace"), "{message}");
        assert_eq!(read(&path), before);
        assert_eq!(names(dir.path()), ["report.csv"]);
    }

    #[test]
    fn append_to_a_malformed_file_fails_and_leaves_it_alone() {
        let before = format!("{HEADER}2026-01-01,A\n");
        let (dir, path) = report_file(Some(&before));

        let error = sink(&path, WriteMode::Append)
            .begin(window("2026-01-05", "2026-01-05"))
            .unwrap_err();

        assert!(matches!(error, SinkError::ReadExisting { .. }), "{error}");
        assert!(error.to_string().contains("report.csv"), "{error}");
        assert_eq!(read(&path), before);
        assert_eq!(names(dir.path()), ["report.csv"]);
    }

    #[test]
    fn begin_removes_stale_temp_files_of_its_own_target_only() {
        let (dir, path) = report_file(None);
        for name in [".report.csv.adsync-tmp", ".other.csv.adsync-tmp", "report.csv.bak"] {
            fs::write(dir.path().join(name), "stale").unwrap();
        }

        let delivery = sink(&path, WriteMode::Replace)
            .begin(window("2026-01-05", "2026-01-05"))
            .unwrap();
        let during = names(dir.path());
        delivery.commit().unwrap();

        assert_eq!(during.len(), 3, "{during:?}");
        assert_eq!(
            names(dir.path()),
            [".other.csv.adsync-tmp", "report.csv", "report.csv.bak"]
        );
    }

    #[test]
    fn replace_with_no_rows_writes_the_header_only() {
        let (_dir, path) = report_file(Some(&format!("{HEADER}2026-01-05,A,1\n")));
        let sink = sink(&path, WriteMode::Replace);

        let mut delivery = sink.begin(window("2026-01-05", "2026-01-05")).unwrap();
        delivery.write_batch(&RowBatch::new(3)).unwrap();
        let report = delivery.commit().unwrap();

        assert_eq!(read(&path), HEADER);
        assert_eq!((report.rows_written, report.rows_kept), (0, 0));
    }

    #[test]
    fn append_with_no_rows_removes_the_windows_old_rows() {
        let (after, report) = append_to(
            "2026-01-04,A,1\n2026-01-05,A,2\n2026-01-06,A,3\n",
            window("2026-01-05", "2026-01-05"),
            &[],
        );

        assert_eq!(after, "2026-01-04,A,1\n2026-01-06,A,3\n");
        assert_eq!((report.rows_written, report.rows_kept), (0, 2));
    }

    #[test]
    fn append_treats_an_empty_or_missing_file_as_no_rows() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.csv");
        fs::write(&empty, "").unwrap();
        let missing = dir.path().join("missing.csv");

        for path in [empty, missing] {
            let report = deliver(
                &sink(&path, WriteMode::Append),
                window("2026-01-05", "2026-01-05"),
                &[["2026-01-05", "A", "1"]],
            );
            assert_eq!(read(&path), format!("{HEADER}2026-01-05,A,1\n"));
            assert_eq!(report.rows_kept, 0);
        }
    }

    #[test]
    fn begin_creates_missing_parent_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta/2026/report.csv");

        deliver(
            &sink(&path, WriteMode::Append),
            window("2026-01-05", "2026-01-05"),
            &[["2026-01-05", "A", "1"]],
        );

        assert_eq!(read(&path), format!("{HEADER}2026-01-05,A,1\n"));
    }

    #[test]
    fn append_without_a_usable_date_column_fails_at_begin() {
        let (dir, path) = report_file(None);
        let columns: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
        let w = window("2026-01-05", "2026-01-05");

        let missing = CsvSink::new(path.clone(), WriteMode::Append, columns.clone(), None).begin(w);
        let out_of_range = CsvSink::new(path.clone(), WriteMode::Append, columns, Some(3)).begin(w);

        assert!(matches!(missing, Err(SinkError::MissingDateColumn { .. })));
        assert!(matches!(
            out_of_range,
            Err(SinkError::DateColumnOutOfRange {
                index: 3,
                columns: 3,
                ..
            })
        ));
        assert!(missing.unwrap_err().to_string().contains("report.csv"));
        assert_eq!(names(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn bad_settings_and_windows_are_errors() {
        let (dir, path) = report_file(None);
        let w = window("2026-01-05", "2026-01-05");

        let no_columns = CsvSink::new(path.clone(), WriteMode::Replace, Vec::new(), None).begin(w);
        let no_name = sink(&dir.path().join(".."), WriteMode::Replace).begin(w);
        let inverted = sink(&path, WriteMode::Append).begin(window("2026-01-06", "2026-01-05"));

        assert!(matches!(no_columns, Err(SinkError::NoColumns { .. })));
        assert!(matches!(no_name, Err(SinkError::InvalidPath { .. })));
        assert!(matches!(inverted, Err(SinkError::InvalidWindow { .. })));
    }

    #[test]
    fn a_batch_of_the_wrong_width_is_rejected_without_spoiling_the_delivery() {
        let (_dir, path) = report_file(None);
        let mut delivery = sink(&path, WriteMode::Replace)
            .begin(window("2026-01-05", "2026-01-05"))
            .unwrap();
        let mut narrow = RowBatch::new(2);
        narrow.push_row(["2026-01-05", "A"]);

        let error = delivery.write_batch(&narrow).unwrap_err();
        let empty_default = delivery.write_batch(&RowBatch::default());
        delivery.write_batch(&batch(&[["2026-01-05", "B", "2"]])).unwrap();
        delivery.commit().unwrap();

        assert!(
            matches!(
                error,
                SinkError::BatchWidth {
                    expected: 3,
                    found: 2,
                    ..
                }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("report.csv"), "{error}");
        assert!(matches!(empty_default, Err(SinkError::BatchWidth { found: 0, .. })));
        assert_eq!(read(&path), format!("{HEADER}2026-01-05,B,2\n"));
    }

    #[test]
    fn append_rejects_a_batch_with_a_row_outside_the_window() {
        let (_dir, path) = report_file(None);
        let mut delivery = sink(&path, WriteMode::Append)
            .begin(window("2026-01-05", "2026-01-06"))
            .unwrap();

        let outside = delivery.write_batch(&batch(&[["2026-01-05", "A", "1"], ["2026-01-07", "A", "2"]]));
        let not_a_date = delivery.write_batch(&batch(&[["Total", "A", "3"]]));
        let report = delivery.commit().unwrap();

        assert!(matches!(outside, Err(SinkError::RowOutsideWindow { ref date, .. }) if date == "2026-01-07"));
        assert!(matches!(not_a_date, Err(SinkError::RowOutsideWindow { .. })));
        assert_eq!(report.rows_written, 0, "a rejected batch writes none of its rows");
        assert_eq!(read(&path), HEADER);
    }

    #[cfg(unix)]
    #[test]
    fn a_delivery_keeps_the_targets_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, path) = report_file(Some(HEADER));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();

        deliver(
            &sink(&path, WriteMode::Replace),
            window("2026-01-05", "2026-01-05"),
            &[["2026-01-05", "A", "1"]],
        );

        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }
}
