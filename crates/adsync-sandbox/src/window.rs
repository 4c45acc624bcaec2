//! The sandbox's own date window. The daemon has one too; the emulator keeps its own copy so
//! that nothing of the client's vocabulary decides what the platforms answer.

use std::fmt;

use chrono::NaiveDate;

/// An inclusive range of report dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
