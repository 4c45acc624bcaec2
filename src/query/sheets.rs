//! A Google Sheets tab as a query's output: where the rows go, how cells are typed, and the
//! checks query validation makes on the tab name and start cell. The model lives with the
//! query (the Sheets sink reads it) so loading a query never needs the sink.

use super::WriteMode;
use crate::location::Location;

/// The suffix of the hidden tab a large replace is staged in; a tab of the query's own may
/// not end in it.
pub(crate) const STAGING_SUFFIX: &str = " (adsync staging)";

/// Where a query's rows go in Sheets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetsTarget {
    /// The Google connection (or service account) whose token writes.
    pub(crate) connection: String,
    /// The id from the spreadsheet's URL.
    pub(crate) spreadsheet_id: String,
    /// Tab title; created if missing.
    pub(crate) sheet: String,
    /// Where the header goes, an A1 cell like `B3`; `A1` when unset.
    pub(crate) start_cell: Option<String>,
    /// Replace the tab or upsert the window's rows.
    pub(crate) mode: WriteMode,
    /// How cells are typed (`sinks::sheets::values`).
    pub(crate) value_input: ValueInput,
}

impl SheetsTarget {
    /// Where rows written to this target are said to go.
    pub(crate) fn location(&self) -> Location {
        Location::Sheet {
            spreadsheet_id: self.spreadsheet_id.clone(),
            sheet: self.sheet.clone(),
        }
    }
}

/// How platform text becomes cell values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueInput {
    /// Every cell is the platform's string.
    Raw,
    /// Numbers as numbers, dates as dates, ids and other text as text.
    UserEntered,
}

/// Checks a `start_cell` setting, for query validation messages.
pub(crate) fn check_start_cell(cell: &str) -> Result<(), String> {
    crate::platform::a1::parse_cell(cell).map(|_| ())
}

/// Checks a tab name: Sheets' 100-character title limit, leaving room for the staging
/// tab's suffix, and no control characters.
pub(crate) fn check_sheet_name(name: &str) -> Result<(), String> {
    let max = crate::platform::a1::MAX_TITLE_CHARS - STAGING_SUFFIX.chars().count();
    if name.trim().is_empty() {
        return Err("the sheet (tab) name is empty".into());
    }
    if name.chars().count() > max {
        return Err(format!("the sheet name {name:?} is longer than {max} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("the sheet name {name:?} contains a control character"));
    }
    if name.ends_with(STAGING_SUFFIX) {
        return Err(format!(
            "the sheet name {name:?} ends in {:?}, which adsync uses for its staging tabs",
            STAGING_SUFFIX
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_cells_and_sheet_names_are_checked_with_readable_messages() {
        assert_eq!(check_start_cell("B3"), Ok(()));
        assert!(check_start_cell("B0").unwrap_err().contains("\"B0\""));
        assert_eq!(check_sheet_name("Q1 spend"), Ok(()));
        assert!(check_sheet_name(" ").is_err());
        assert!(check_sheet_name(&"x".repeat(83)).is_ok());
        assert!(check_sheet_name(&"x".repeat(84)).unwrap_err().contains("83"));
        assert!(check_sheet_name("a\tb").is_err());
        assert!(check_sheet_name("Report (adsync staging)").is_err());
    }
}
