//! Rows as they travel from a source to a sink.
//!
//! A report is never held whole: sources hand over one [`RowBatch`] per platform page and
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
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.start <= day && day <= self.end
    }

    /// Number of days in the window.
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    /// The days of the window, in order.
    pub fn iter_days(&self) -> impl Iterator<Item = NaiveDate> {
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowBatch {
    width: usize,
    cells: Vec<String>,
}

impl RowBatch {
    /// An empty batch for rows of `width` columns.
    pub fn new(width: usize) -> Self {
        Self {
            width,
            cells: Vec::new(),
        }
    }

    /// An empty batch with room for `rows` rows.
    pub fn with_capacity(width: usize, rows: usize) -> Self {
        Self {
            width,
            cells: Vec::with_capacity(width * rows),
        }
    }

    /// Columns per row.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.cells.len().checked_div(self.width).unwrap_or(0)
    }

    /// Whether the batch holds no rows.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Appends one row; it must have exactly `width` cells.
    pub fn push_row<I, S>(&mut self, row: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let before = self.cells.len();
        self.cells.extend(row.into_iter().map(Into::into));
        assert_eq!(
            self.cells.len() - before,
            self.width,
            "row width differs from the batch width"
        );
    }

    /// Starts a new row of empty cells and returns it for filling in place.
    pub fn push_empty_row(&mut self) -> &mut [String] {
        let start = self.cells.len();
        self.cells.resize(start + self.width, String::new());
        &mut self.cells[start..]
    }

    /// The rows, each a slice of `width` cells.
    pub fn rows(&self) -> impl Iterator<Item = &[String]> {
        self.cells.chunks_exact(self.width.max(1))
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
        let rows: Vec<_> = batch.rows().collect();
        assert_eq!(rows, vec![&["a", "1"][..], &["b", "2"][..]]);
        assert_eq!(batch.len(), 2);
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
