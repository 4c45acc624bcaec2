//! Rows as they travel from a source to a sink.
//!
//! A report is never held whole: sources hand over one `RowBatch` per platform page and
//! sinks write it before the next one arrives. Cells are kept flat in one `Vec<String>` so a
//! page costs one allocation for its cell list instead of one per row.

use std::fmt;

use chrono::NaiveDate;

/// An inclusive range of report dates, in the query's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct DateWindow {
    /// First day of the window.
    pub start: NaiveDate,
    /// Last day of the window (inclusive).
    pub end: NaiveDate,
}

impl DateWindow {
    /// A window from `start` to `end`, both inclusive.
    pub fn new(start: NaiveDate, end: NaiveDate) -> Self {
        Self { start, end }
    }

    /// Whether `day` falls inside the window.
    pub(crate) fn contains(&self, day: NaiveDate) -> bool {
        self.start <= day && day <= self.end
    }

    /// Number of days in the window.
    pub(crate) fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    /// The days of the window, in order.
    #[cfg(test)]
    pub(crate) fn iter_days(&self) -> impl Iterator<Item = NaiveDate> {
        let end = self.end;
        self.start.iter_days().take_while(move |d| *d <= end)
    }
}

impl fmt::Display for DateWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}..{}", self.start, self.end)
        }
    }
}

/// The form a source hands rows over in, as the sink wants them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BatchForm {
    /// Cells a sink can read one by one (Sheets, an append that checks each row's date,
    /// a preview).
    Cells,
    /// The rows already encoded as CSV records, which a CSV file only appends: encoding
    /// then runs where the page is decoded (the blocking pool, pages in parallel), not on
    /// the one thread writing the file.
    Csv,
}

/// One page of rows, every row `width` cells wide, in output column order.
///
/// All cell text lives in one `String` with an end offset per cell, so a page of 500 rows
/// × 15 columns is two allocations, not 7,500. A batch built for [`BatchForm::Csv`] holds
/// no cells: each pushed cell is encoded straight into CSV records, quoted exactly as the
/// `csv` crate's writer quotes (the CSV sink's reference), and only
/// [`csv_records`](Self::csv_records) reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RowBatch {
    width: usize,
    store: Store,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Store {
    Cells {
        text: String,
        /// End offset in `text` of each cell, row after row.
        ends: Vec<usize>,
    },
    Csv {
        records: Vec<u8>,
        /// Complete rows.
        rows: usize,
        /// Cells of the row being pushed.
        column: usize,
    },
}

impl Default for RowBatch {
    fn default() -> Self {
        Self::new(0)
    }
}

impl RowBatch {
    /// An empty batch for rows of `width` columns.
    pub(crate) fn new(width: usize) -> Self {
        Self::with_capacity(width, 0)
    }

    /// An empty batch with room for `rows` rows.
    pub(crate) fn with_capacity(width: usize, rows: usize) -> Self {
        Self::in_form(BatchForm::Cells, width, rows)
    }

    /// An empty batch in `form`, with room for `rows` rows.
    pub(crate) fn in_form(form: BatchForm, width: usize, rows: usize) -> Self {
        // About 16 bytes a cell is typical of report data.
        let bytes = width * rows * 16;
        let store = match form {
            BatchForm::Cells => Store::Cells {
                text: String::with_capacity(bytes),
                ends: Vec::with_capacity(width * rows),
            },
            BatchForm::Csv => Store::Csv {
                records: Vec::with_capacity(bytes),
                rows: 0,
                column: 0,
            },
        };
        Self { width, store }
    }

    /// Columns per row.
    pub(crate) fn width(&self) -> usize {
        self.width
    }

    fn cell_count(&self) -> usize {
        match &self.store {
            Store::Cells { ends, .. } => ends.len(),
            Store::Csv { rows, column, .. } => rows * self.width + column,
        }
    }

    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        self.cell_count().checked_div(self.width).unwrap_or(0)
    }

    /// Whether the batch holds no rows.
    pub(crate) fn is_empty(&self) -> bool {
        self.cell_count() == 0
    }

    /// Appends one row; it must have exactly `width` cells.
    pub(crate) fn push_row<I, S>(&mut self, row: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let before = self.cell_count();
        for cell in row {
            self.push_cell(cell.as_ref());
        }
        assert_eq!(
            self.cell_count() - before,
            self.width,
            "row width differs from the batch width"
        );
    }

    /// Appends the next cell; a row is complete after `width` cells.
    pub(crate) fn push_cell(&mut self, cell: &str) {
        match &mut self.store {
            Store::Cells { text, ends } => {
                text.push_str(cell);
                ends.push(text.len());
            }
            Store::Csv { records, rows, column } => {
                if *column > 0 {
                    records.push(b',');
                }
                push_csv_field(records, cell.as_bytes(), self.width == 1);
                *column += 1;
                if *column == self.width {
                    records.push(b'\n');
                    *rows += 1;
                    *column = 0;
                }
            }
        }
    }

    /// The rows encoded as CSV records, each ending in `\n`; `None` for a batch of cells.
    pub(crate) fn csv_records(&self) -> Option<&[u8]> {
        match &self.store {
            Store::Csv { records, .. } => Some(records),
            Store::Cells { .. } => None,
        }
    }

    /// The rows, in order; none for a batch of CSV records, which has no cells to show.
    pub(crate) fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        let (text, ends): (&str, &[usize]) = match &self.store {
            Store::Cells { text, ends } => (text, ends),
            Store::Csv { .. } => {
                debug_assert!(false, "the rows of a batch of CSV records were asked for");
                ("", &[])
            }
        };
        let width = self.width;
        ends.chunks_exact(width.max(1))
            .enumerate()
            .map(move |(i, row_ends)| Row {
                text,
                start: if i == 0 { 0 } else { ends[i * width - 1] },
                ends: row_ends,
            })
    }
}

/// Appends `field` as the `csv` crate's writer does with its default `QuoteStyle::Necessary`
/// and `\n` records: in quotes, quotes doubled, when it holds a delimiter, a quote, `\r` or
/// `\n` (csv-core 0.1 `WriterBuilder::build`, `Writer::should_quote`), and as `""` when it
/// is the only field of its record and empty (csv-core `Writer::finish`, `record_bytes == 0`),
/// so a one-column empty row is not a blank line.
fn push_csv_field(out: &mut Vec<u8>, field: &[u8], alone: bool) {
    let needs_quotes = field.iter().any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if !needs_quotes {
        if field.is_empty() && alone {
            out.extend_from_slice(b"\"\"");
        } else {
            out.extend_from_slice(field);
        }
        return;
    }
    out.push(b'"');
    for &byte in field {
        if byte == b'"' {
            out.push(b'"');
        }
        out.push(byte);
    }
    out.push(b'"');
}

#[cfg(test)]
impl RowBatch {
    /// The cells as the CSV sink's `csv` writer encodes them (`\n` after each record): what
    /// a batch of CSV records must equal, byte for byte.
    pub(crate) fn csv_crate_encoding(&self) -> Vec<u8> {
        let mut writer = ::csv::WriterBuilder::new()
            .terminator(::csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        for row in self.rows() {
            writer.write_record(row.cells()).unwrap();
        }
        writer.into_inner().unwrap()
    }
}

/// One row of a [`RowBatch`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row<'a> {
    text: &'a str,
    start: usize,
    ends: &'a [usize],
}

impl<'a> Row<'a> {
    /// Cell `index`, if the row has it.
    pub(crate) fn get(&self, index: usize) -> Option<&'a str> {
        let end = *self.ends.get(index)?;
        let start = if index == 0 { self.start } else { self.ends[index - 1] };
        Some(&self.text[start..end])
    }

    /// The cells, in column order.
    pub(crate) fn cells(&self) -> impl Iterator<Item = &'a str> + 'a {
        let (text, start, ends) = (self.text, self.start, self.ends);
        ends.iter().scan(start, move |from, &end| {
            let cell = &text[*from..end];
            *from = end;
            Some(cell)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_keeps_rows_in_order() {
        let mut batch = RowBatch::new(2);
        batch.push_row(["a", "1"]);
        batch.push_row(["b", "2"]);
        batch.push_row(["", "3"]);
        let rows: Vec<Vec<&str>> = batch.rows().map(|r| r.cells().collect()).collect();
        assert_eq!(rows, vec![vec!["a", "1"], vec!["b", "2"], vec!["", "3"]]);
        assert_eq!(batch.len(), 3);
        assert_eq!(batch.rows().nth(1).unwrap().get(1), Some("2"));
        assert_eq!(batch.rows().nth(2).unwrap().get(0), Some(""));
        assert_eq!(batch.rows().nth(2).unwrap().get(2), None);
    }

    /// Cells picked to hit every quoting case of the `csv` crate's writer.
    fn random_cell(rng: &mut impl rand::Rng) -> &'static str {
        const CELLS: [&str; 12] = [
            "",
            "plain",
            "a,b",
            "say \"hi\"",
            "\"",
            "two\nlines",
            "cr\r",
            " space ",
            "#hash",
            "ünï, “q”",
            "5339.50",
            "\t",
        ];
        CELLS[rng.gen_range(0..CELLS.len())]
    }

    #[test]
    fn csv_records_are_byte_identical_to_the_csv_crate() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(16);
        for width in [1, 2, 5] {
            for _ in 0..200 {
                let rows: Vec<Vec<&str>> = (0..rng.gen_range(0..6))
                    .map(|_| (0..width).map(|_| random_cell(&mut rng)).collect())
                    .collect();
                let mut batch = RowBatch::in_form(BatchForm::Csv, width, rows.len());
                let mut reference = ::csv::WriterBuilder::new()
                    .terminator(::csv::Terminator::Any(b'\n'))
                    .from_writer(Vec::new());
                for row in &rows {
                    batch.push_row(row);
                    reference.write_record(row).unwrap();
                }
                assert_eq!(batch.len(), rows.len());
                let expected = reference.into_inner().unwrap();
                assert_eq!(
                    String::from_utf8_lossy(batch.csv_records().unwrap()),
                    String::from_utf8_lossy(&expected),
                    "{rows:?}"
                );
            }
        }
    }

    #[test]
    fn window_counts_days_inclusively() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let w = DateWindow::new(d("2026-01-30"), d("2026-02-02"));
        assert_eq!(w.days(), 4);
        assert_eq!(w.iter_days().count(), 4);
        assert!(w.contains(d("2026-02-01")));
        assert!(!w.contains(d("2026-02-03")));
        assert_eq!(w.to_string(), "2026-01-30..2026-02-02");
    }
}
