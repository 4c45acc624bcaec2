//! Query files: the model analysts write, loading with `file:line:col` diagnostics, and the
//! date windows a fire time turns into.
//!
//! One query per `*.toml` file in the query directory; the query's name is the file stem.
//! [`load_dir`] validates every file and returns the good queries next to a diagnostic for
//! every problem found, so one bad file never stops the others.
//!
//! Loading is split by concern: `raw` mirrors the file, `load` reads files and runs
//! the checks (`keys` for the keys every query has, `platform_rules` for what depends
//! on the platform read, `output_checks` for `[output]`), each reporting into the
//! collector in `diagnostic`.

mod attribution;
mod diagnostic;
pub(crate) mod filters;
pub mod gaql;
mod key_tree;
mod keys;
mod live;
mod load;
mod output_checks;
mod platform_rules;
mod raw;
mod schedule;
mod sheets;
pub(crate) mod suggest;
mod window;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub(crate) use diagnostic::Diagnostic;
pub use live::{QueryDir, StaleFile};
pub use load::{load_dir, load_file};
pub use schedule::wall_clock;
pub(crate) use schedule::Schedule;
pub(crate) use sheets::{SheetsTarget, ValueInput, STAGING_SUFFIX};
pub(crate) use suggest::closest;

use crate::location::Location;
pub use crate::platform::Level;
use crate::platform::Platform;

/// A validated query, ready to schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The file stem, unique within the query directory.
    pub name: String,
    /// The file it was loaded from.
    pub(crate) file: PathBuf,
    /// Digest of the file's text, to tell when the file changed.
    pub(crate) fingerprint: String,
    /// Connection id from the config.
    pub(crate) connection: String,
    /// The platform read, resolved at load time from the connection (and `platform`).
    pub platform: Platform,
    /// Platform account ids, e.g. `act_1001`, `1234567890`.
    pub accounts: Vec<String>,
    /// Google Ads: the manager account the accounts are reached through.
    pub(crate) login_customer_id: Option<String>,
    /// Google Ads: a raw GAQL query; its SELECT list is `fields`.
    pub(crate) gaql: Option<String>,
    /// Aggregation level of each row (`Account` for GA4 and raw GAQL, where it has no say).
    pub level: Level,
    /// Platform field names, in output column order.
    pub(crate) fields: Vec<String>,
    /// Platform breakdowns; each adds a column (after `fields` unless already listed there).
    pub breakdowns: Vec<String>,
    /// Row filters passed to the platform.
    pub(crate) filters: Vec<Filter>,
    /// Meta: how the action lists behind `field:type[:window]` columns are attributed.
    pub attribution: Attribution,
    /// Which dates a run covers, relative to its fire time.
    pub(crate) date_range: DateRange,
    /// One row per day or one per window.
    pub time_increment: TimeIncrement,
    /// People told when this query stops delivering.
    pub(crate) notify: Vec<String>,
    /// When it runs.
    pub(crate) schedule: Schedule,
    /// Where rows go.
    pub output: Output,
    /// What `check` warns about without refusing the query (a cron that never fires).
    pub warnings: Vec<Diagnostic>,
}

impl Query {
    /// The accounts the connection's login must reach for this query to run: the manager
    /// account when the query goes through one, else the accounts themselves.
    pub(crate) fn reached_accounts(&self) -> Vec<String> {
        match &self.login_customer_id {
            Some(manager) => vec![manager.clone()],
            None => self.accounts.clone(),
        }
    }

    /// Every connection the query needs: the one it reads through, then the one its output
    /// writes with when that is another. A run waits for, and a reconnect resumes, them all.
    pub(crate) fn connections(&self) -> impl Iterator<Item = &str> {
        let output = self.output.connection().filter(|c| *c != self.connection);
        std::iter::once(self.connection.as_str()).chain(output)
    }

    /// Whether `connection` reads or writes for this query.
    pub(crate) fn uses(&self, connection: &str) -> bool {
        self.connections().any(|c| c == connection)
    }

    /// Output columns: the fields, then any breakdown not already among them.
    pub fn columns(&self) -> Vec<String> {
        let mut columns = self.fields.clone();
        for breakdown in &self.breakdowns {
            if !columns.contains(breakdown) {
                columns.push(breakdown.clone());
            }
        }
        columns
    }
}

/// A platform-side row filter, e.g. `{ field = "campaign.name", operator = "CONTAIN", value = "Brand" }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Filter {
    /// Platform filter field, e.g. `campaign.name`.
    pub(crate) field: String,
    /// Platform operator, e.g. `EQUAL`, `IN`, `CONTAIN`.
    pub(crate) operator: String,
    /// A string, number or list, passed through as JSON.
    pub(crate) value: serde_json::Value,
}

/// Meta's action-list options (`action_attribution_windows`, `action_report_time`): empty
/// unless the query sets them, and then Graph's account defaults apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    /// Windows each action-list entry reports besides `value`, e.g. `7d_click`.
    pub windows: Vec<String>,
    /// When actions count: `impression`, `conversion`, `mixed` or `lifetime`.
    pub report_time: Option<String>,
}

/// Which dates a run covers, relative to its fire time in the query's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateRange {
    /// The fire day.
    Today,
    /// The day before the fire day.
    Yesterday,
    /// The N whole days before the fire day (today excluded, as Graph's `last_7d`).
    LastNDays(u32),
    /// From the first of the fire day's month to the fire day.
    ThisMonth,
    /// The whole previous calendar month.
    LastMonth,
    /// Fixed dates, the same at every fire.
    Fixed(crate::rows::DateWindow),
}

/// Whether rows are per day or per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeIncrement {
    /// One row per entity per day.
    Daily,
    /// One row per entity for the whole window.
    Total,
}

/// Where a query's rows are delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A CSV file.
    Csv {
        /// Absolute path, inside the config's `output_dir`.
        path: PathBuf,
        /// Replace the file or upsert the run's window.
        mode: WriteMode,
    },
    /// A Google Sheets tab, written with a Google connection's (or service account's) token.
    GoogleSheets(SheetsTarget),
}

impl Output {
    /// Whether a delivery replaces the output or adds its window to it.
    pub(crate) fn mode(&self) -> WriteMode {
        match self {
            Output::Csv { mode, .. } => *mode,
            Output::GoogleSheets(target) => target.mode,
        }
    }

    /// Where the rows go, for messages, run records and the status report.
    pub(crate) fn location(&self) -> Location {
        match self {
            Output::Csv { path, .. } => Location::File(path.clone()),
            Output::GoogleSheets(target) => target.location(),
        }
    }

    /// The connection whose token writes the output, when it is not a file.
    pub(crate) fn connection(&self) -> Option<&str> {
        match self {
            Output::Csv { .. } => None,
            Output::GoogleSheets(target) => Some(&target.connection),
        }
    }
}

/// How a delivery treats what is already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteMode {
    /// The output becomes exactly this run's rows.
    Replace,
    /// This run's window replaces the rows of the same dates; other dates stay.
    Append,
}
