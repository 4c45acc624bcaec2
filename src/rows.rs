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

/// One page of rows, every row `width` cells wide, in output column order.
///
/// All cell text lives in one `String` with an end offset per cell, so a page of 500 rows
/// × 15 columns is two allocations, not 7,500.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RowBatch {
    width: usize,
    text: String,
    /// End offset in `text` of each cell, row after row.
    ends: Vec<usize>,
}

impl RowBatch {
    /// An empty batch for rows of `width` columns.
    pub(crate) fn new(width: usize) -> Self {
        Self::with_capacity(width, 0)
    }

    /// An empty batch with room for `rows` rows.
    pub(crate) fn with_capacity(width: usize, rows: usize) -> Self {
        Self {
            width,
            // About 16 bytes a cell is typical of report data.
            text: String::with_capacity(width * rows * 16),
            ends: Vec::with_capacity(width * rows),
        }
    }

    /// Columns per row.
    pub(crate) fn width(&self) -> usize {
        self.width
    }

    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        self.ends.len().checked_div(self.width).unwrap_or(0)
    }

    /// Whether the batch holds no rows.
    pub(crate) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Appends one row; it must have exactly `width` cells.
    pub(crate) fn push_row<I, S>(&mut self, row: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let before = self.ends.len();
        for cell in row {
            self.push_cell(cell.as_ref());
        }
        assert_eq!(
            self.ends.len() - before,
            self.width,
            "row width differs from the batch width"
        );
    }

    /// Appends the next cell; a row is complete after `width` cells.
    pub(crate) fn push_cell(&mut self, cell: &str) {
        self.text.push_str(cell);
        self.ends.push(self.text.len());
    }

    /// The rows, in order.
    pub(crate) fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.ends
            .chunks_exact(self.width.max(1))
            .enumerate()
            .map(move |(i, ends)| Row {
                text: &self.text,
                start: if i == 0 { 0 } else { self.ends[i * self.width - 1] },
                ends,
            })
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
