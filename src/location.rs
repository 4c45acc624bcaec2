//! Where a query's rows are delivered: a file or a spreadsheet tab. Run records, reports and
//! the status JSON keep it as the text they always held (the file's path, or
//! `sheets:<spreadsheet id>/<tab>`), so old records read back unchanged.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The prefix that tells a spreadsheet tab from a file (output files are absolute paths).
const SHEETS_PREFIX: &str = "sheets:";

/// Where rows go.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Location {
    /// A file on this machine.
    File(PathBuf),
    /// A Google Sheets tab.
    Sheet {
        /// The id from the spreadsheet's URL.
        spreadsheet_id: String,
        /// Tab title.
        sheet: String,
    },
}

impl Location {
    /// The location a stored text names: `sheets:<id>/<tab>` a tab, anything else a file.
    pub(crate) fn parse(text: &str) -> Self {
        let sheet = text.strip_prefix(SHEETS_PREFIX).and_then(|rest| rest.split_once('/'));
        match sheet {
            Some((id, tab)) => Self::Sheet {
                spreadsheet_id: id.to_string(),
                sheet: tab.to_string(),
            },
            None => Self::File(PathBuf::from(text)),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => path.display().fmt(f),
            Self::Sheet { spreadsheet_id, sheet } => write!(f, "{SHEETS_PREFIX}{spreadsheet_id}/{sheet}"),
        }
    }
}

/// The text as a path, for messages and errors that have always carried one.
impl From<Location> for PathBuf {
    fn from(location: Location) -> Self {
        match location {
            Location::File(path) => path,
            sheet => PathBuf::from(sheet.to_string()),
        }
    }
}

impl PartialEq<PathBuf> for Location {
    fn eq(&self, other: &PathBuf) -> bool {
        match self {
            Self::File(path) => path == other,
            sheet => Path::new(&sheet.to_string()) == other,
        }
    }
}

impl Serialize for Location {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // Exactly as a `PathBuf` serializes (and fails on a path that is not UTF-8).
            Self::File(path) => path.serialize(serializer),
            sheet => serializer.collect_str(sheet),
        }
    }
}

impl<'de> Deserialize<'de> for Location {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::parse(&String::deserialize(deserializer)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_read_and_write_the_text_records_always_held() {
        let cases = [
            (
                Location::File(PathBuf::from("/srv/reports/daily.csv")),
                "/srv/reports/daily.csv",
            ),
            (
                Location::Sheet {
                    spreadsheet_id: "1AbC-d_9".into(),
                    sheet: "Meta / daily".into(),
                },
                "sheets:1AbC-d_9/Meta / daily",
            ),
        ];
        for (location, text) in cases {
            let json = serde_json::to_string(&location).unwrap();
            assert_eq!(json, serde_json::to_string(text).unwrap());
            assert_eq!(serde_json::from_str::<Location>(&json).unwrap(), location);
            assert_eq!(location.to_string(), text);
            assert_eq!(location, PathBuf::from(text));
        }
    }
}
