//! Unknown keys, found beside the other problems instead of before them.
//!
//! The raw structs ignore keys they do not know, so one typo does not hide the rest of a
//! file's problems; this module reads the file's key names with their positions and
//! reports each key none of them knows, with the closest known one.

use std::fmt;

use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::diagnostic::Checker;
use super::suggest::unknown_name;

/// The keys `RawQuery` reads, in the order the file format documents them.
pub(super) const QUERY_KEYS: &[&str] = &[
    "connection",
    "platform",
    "login_customer_id",
    "gaql",
    "accounts",
    "level",
    "fields",
    "breakdowns",
    "filters",
    "action_attribution_windows",
    "action_report_time",
    "date_range",
    "time_increment",
    "notify",
    "schedule",
    "output",
];
/// The keys `RawSchedule` reads.
pub(super) const SCHEDULE_KEYS: &[&str] = &["cron", "timezone"];
/// The keys `RawOutput` reads.
pub(super) const OUTPUT_KEYS: &[&str] = &[
    "kind",
    "path",
    "mode",
    "spreadsheet_id",
    "sheet",
    "start_cell",
    "value_input",
    "connection",
];

/// The keys of a table as written, each with its position and, when its value is a table,
/// that table's keys.
#[derive(Debug, Default)]
pub(super) struct KeyTree(Vec<(Spanned<String>, Option<KeyTree>)>);

impl KeyTree {
    /// Reports every key the query format does not know: at the top level, in `[schedule]`
    /// and in `[output]`. (`date_range` and `filters` check their own keys.)
    pub(super) fn check_known(&self, c: &mut Checker<'_>) {
        self.unknown(c, QUERY_KEYS, "");
        for (key, table) in &self.0 {
            let known = match key.get_ref().as_str() {
                "schedule" => SCHEDULE_KEYS,
                "output" => OUTPUT_KEYS,
                _ => continue,
            };
            if let Some(table) = table {
                table.unknown(c, known, &format!(" in [{}]", key.get_ref()));
            }
        }
    }

    /// Reports this table's unknown keys; `table` says where (` in [output]`) below the top.
    fn unknown(&self, c: &mut Checker<'_>, known: &[&str], table: &str) {
        for (key, _) in &self.0 {
            let name = key.get_ref();
            if known.contains(&name.as_str()) {
                continue;
            }
            let otherwise = format!("; expected {}", one_of(known));
            c.at(&key.span(), unknown_name("key", name, table, known, &otherwise));
        }
    }
}

/// `a or b`, or `one of a, b, c`, as serde lists expected keys.
fn one_of(known: &[&str]) -> String {
    match known {
        [one, two] => format!("{one} or {two}"),
        _ => format!("one of {}", known.join(", ")),
    }
}

impl<'de> Deserialize<'de> for KeyTree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TreeVisitor { top: true })
    }
}

/// Reads a table's keys. Only the top level descends, and only into the tables this module
/// checks: other values may hold TOML dates, whose internal key has no position to read.
struct TreeVisitor {
    top: bool,
}

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = KeyTree;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyTree, A::Error> {
        let mut keys = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let table = if self.top && matches!(key.get_ref().as_str(), "schedule" | "output") {
                map.next_value::<Table>()?.0
            } else {
                map.next_value::<IgnoredAny>()?;
                None
            };
            keys.push((key, table));
        }
        Ok(KeyTree(keys))
    }
}

/// A value that should be a table: its keys when it is one; anything else is the raw
/// step's to report.
struct Table(Option<KeyTree>);

impl<'de> Deserialize<'de> for Table {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TableVisitor)
    }
}

struct TableVisitor;

impl<'de> Visitor<'de> for TableVisitor {
    type Value = Table;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any TOML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Table, E> {
        Ok(Table(None))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Table, E> {
        Ok(Table(None))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Table, E> {
        Ok(Table(None))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Table, E> {
        Ok(Table(None))
    }

    fn visit_str<E>(self, _: &str) -> Result<Table, E> {
        Ok(Table(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Table, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Table(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Table, A::Error> {
        TreeVisitor { top: false }.visit_map(map).map(|tree| Table(Some(tree)))
    }
}
