//! Loading and validating query files.
//!
//! A file is read in two steps. The raw step mirrors the TOML (`deny_unknown_fields`, every
//! value wrapped in [`Spanned`] so it keeps its byte range); a syntax error, an unknown key
//! or a value of the wrong type stops there with one diagnostic, because nothing after it
//! can be trusted. The validation step then checks every value and reports *all* problems
//! at once, each at the `file:line:col` of the offending value, so an analyst fixes a file
//! in one pass instead of one error per reload.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use chrono::NaiveDate;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::schedule::{self as scheduler, Schedule};
use super::{DateRange, Filter, Level, Output, Query, TimeIncrement, WriteMode};
use crate::config::{line_col, ValidationContext};
use crate::platform::{Platform, Provider};
use crate::rows::DateWindow;

/// One problem in one query file.
///
/// Displays as `file:line:col: message`, the form editors and terminals turn into links,
/// or `file: message` when the problem has no position (`line == 0`), e.g. an unreadable
/// file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file.
    pub file: PathBuf,
    /// 1-based line; 0 when the problem concerns the whole file.
    pub line: usize,
    /// 1-based column in characters (not bytes); 0 when `line` is 0.
    pub col: usize,
    /// What is wrong, and how to fix it where that is not obvious.
    pub message: String,
}

impl Diagnostic {
    /// A problem at a 1-based line and character column.
    pub fn at(file: impl Into<PathBuf>, line: usize, col: usize, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line,
            col,
            message: message.into(),
        }
    }

    /// A problem with the file (or directory) as a whole.
    pub fn whole(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::at(file, 0, 0, message)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.col,
                self.message
            )
        }
    }
}

impl std::error::Error for Diagnostic {}

/// Loads every `*.toml` file directly in `dir`, in file-name order.
///
/// A bad file contributes diagnostics and is skipped; the others still load. A query
/// writing the same output file as an earlier one is rejected too: two concurrent writers
/// would lose each other's rows.
pub fn load_dir(dir: &Path, ctx: &ValidationContext) -> (Vec<Query>, Vec<Diagnostic>) {
    let mut queries = Vec::new();
    let mut diagnostics = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            diagnostics.push(Diagnostic::whole(dir, format!("cannot read the query directory: {e}")));
            return (queries, diagnostics);
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => {
                let path = entry.path();
                if path.extension().is_some_and(|ext| ext == "toml") && path.is_file() {
                    files.push(path);
                }
            }
            Err(e) => diagnostics.push(Diagnostic::whole(dir, format!("cannot list the query directory: {e}"))),
        }
    }
    files.sort();

    // Output path -> the query that claimed it first.
    let mut writers: HashMap<PathBuf, String> = HashMap::new();
    for file in files {
        match load(&file, ctx) {
            Ok(Loaded { query, output_at }) => {
                let path = &query.output.location();
                if let Some(first) = writers.get(path) {
                    let (line, col) = output_at;
                    diagnostics.push(Diagnostic::at(
                        &file,
                        line,
                        col,
                        format!(
                            "output {:?} is already written by query {first:?}: two queries \
                             writing one file or tab would lose each other's rows; choose another",
                            path.display().to_string()
                        ),
                    ));
                    continue;
                }
                writers.insert(path.clone(), query.name.clone());
                queries.push(query);
            }
            Err(mut found) => diagnostics.append(&mut found),
        }
    }
    (queries, diagnostics)
}

/// Loads and validates one query file; on failure, every problem found.
pub fn load_file(path: &Path, ctx: &ValidationContext) -> Result<Query, Vec<Diagnostic>> {
    load(path, ctx).map(|loaded| loaded.query)
}

/// A query and where its output path was written, for the duplicate-output check.
struct Loaded {
    query: Query,
    output_at: (usize, usize),
}

fn load(path: &Path, ctx: &ValidationContext) -> Result<Loaded, Vec<Diagnostic>> {
    let bytes =
        std::fs::read(path).map_err(|e| vec![Diagnostic::whole(path, format!("cannot read the query file: {e}"))])?;
    let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
        return Err(vec![Diagnostic::whole(
            path,
            "the file name is not valid UTF-8; the query name comes from it",
        )]);
    };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let before = String::from_utf8_lossy(&e.as_bytes()[..valid]);
            let (line, col) = line_col(&before, valid);
            return Err(vec![Diagnostic::at(
                path,
                line,
                col,
                "the file is not valid UTF-8; save it as UTF-8",
            )]);
        }
    };
    validate(name, path, &text, ctx)
}

/// The file as written: every value keeps its position for diagnostics.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
/// Required keys are `Option` too, so a missing one is reported with the other problems
/// instead of alone.
struct RawQuery {
    /// Connection id from the config.
    connection: Option<Spanned<String>>,
    /// `meta_ads`, `google_ads`, `ga4` or `linkedin_ads`; only needed when the connection
    /// serves several (a Google login reads Google Ads and GA4).
    platform: Option<Spanned<String>>,
    /// Google Ads: the manager account (MCC) the accounts are reached through.
    login_customer_id: Option<Spanned<String>>,
    /// Google Ads: a whole GAQL query instead of `level` and `fields`; adsync adds the date
    /// condition of each run.
    gaql: Option<Spanned<String>>,
    /// Platform account ids.
    accounts: Option<Spanned<Vec<Spanned<String>>>>,
    /// `account`, `campaign`, `adset` or `ad`.
    level: Option<Spanned<String>>,
    /// Platform field names, in column order.
    fields: Option<Spanned<Vec<Spanned<String>>>>,
    /// Platform breakdowns (optional).
    breakdowns: Option<Spanned<Vec<Spanned<String>>>>,
    /// Platform filters (optional).
    filters: Option<Spanned<Vec<Spanned<Filter>>>>,
    /// A preset name or `{ start, end }`.
    date_range: Option<Spanned<RawDateRange>>,
    /// `daily` (default) or `total`.
    time_increment: Option<Spanned<String>>,
    /// Email addresses (optional).
    notify: Option<Spanned<Vec<Spanned<String>>>>,
    /// `[schedule]`.
    schedule: Option<Spanned<RawSchedule>>,
    /// `[output]`.
    output: Option<Spanned<RawOutput>>,
}

/// `[schedule]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    /// 5 or 6 cron fields.
    cron: Option<Spanned<String>>,
    /// IANA zone name; UTC when absent.
    timezone: Option<Spanned<String>>,
}

/// `[output]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    /// `csv` (the default) or `google_sheets`.
    kind: Option<Spanned<String>>,
    /// CSV: relative to the config's `output_dir`.
    path: Option<Spanned<String>>,
    /// `replace` (default) or `append`.
    mode: Option<Spanned<String>>,
    /// Sheets: the id in the spreadsheet's URL.
    spreadsheet_id: Option<Spanned<String>>,
    /// Sheets: the tab, created if missing.
    sheet: Option<Spanned<String>>,
    /// Sheets: where the header goes (A1 cell), `A1` by default.
    start_cell: Option<Spanned<String>>,
    /// Sheets: `user_entered` (default: numbers, dates typed) or `raw` (text as sent).
    value_input: Option<Spanned<String>>,
    /// Sheets: the Google connection (or service account) that writes; the query's own
    /// connection by default when it is a Google one.
    connection: Option<Spanned<String>>,
}

/// `date_range`: a preset name or `{ start, end }`. Hand-written because serde's untagged
/// enums buffer the value and lose the positions `Spanned` needs.
enum RawDateRange {
    /// `today`, `last_7_days`, ...
    Preset(String),
    /// Fixed dates, quoted or bare TOML dates.
    Fixed {
        /// First day.
        start: Option<Spanned<toml::Value>>,
        /// Last day, inclusive.
        end: Option<Spanned<toml::Value>>,
    },
}

impl<'de> Deserialize<'de> for RawDateRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RangeVisitor;

        impl<'de> Visitor<'de> for RangeVisitor {
            type Value = RawDateRange;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a string such as \"last_7_days\" or a table { start = \"YYYY-MM-DD\", end = \"YYYY-MM-DD\" }",
                )
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawDateRange::Preset(v.to_string()))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (mut start, mut end) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "start" => start = Some(map.next_value()?),
                        "end" => end = Some(map.next_value()?),
                        // How toml hands over a bare date such as `date_range = 2026-01-01`.
                        "$__toml_private_datetime" => {
                            return Err(de::Error::custom(
                                "date_range is a single date: write { start = \"YYYY-MM-DD\", end = \"YYYY-MM-DD\" }",
                            ))
                        }
                        other => return Err(de::Error::unknown_field(other, &["start", "end"])),
                    }
                }
                Ok(RawDateRange::Fixed { start, end })
            }
        }

        deserializer.deserialize_any(RangeVisitor)
    }
}

/// Collects diagnostics for one file, turning byte spans into line and column.
struct Checker<'a> {
    file: &'a Path,
    text: &'a str,
    found: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn pos(&self, span: &Range<usize>) -> (usize, usize) {
        line_col(self.text, span.start)
    }

    fn at(&mut self, span: &Range<usize>, message: impl Into<String>) {
        let (line, col) = self.pos(span);
        self.found.push(Diagnostic::at(self.file, line, col, message));
    }

    /// The diagnostics in file order, whole-file ones first.
    fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.found.sort_by_key(|d| (d.line, d.col));
        self.found
    }

    fn whole(&mut self, message: impl Into<String>) {
        self.found.push(Diagnostic::whole(self.file, message));
    }

    /// A required key: reports it missing at `table` (or the file) when absent.
    fn required<T>(&mut self, value: Option<T>, key: &str, table: Option<&Range<usize>>) -> Option<T> {
        if value.is_none() {
            let message = format!("missing key {key:?}");
            match table {
                Some(span) => self.at(span, message),
                None => self.whole(message),
            }
        }
        value
    }
}

/// 1-based line and character column of byte `offset` in `text` (clamped to the text).
/// A short digest of a query file's text: a query marked broken stays broken until this
/// changes.
fn fingerprint(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// toml/serde say "unknown field `x`, expected one of `a`, `b`" over several lines; a query
/// file has keys, and backticks read badly in a terminal. One line, names in quotes.
fn syntax_message(message: &str) -> String {
    let lines: Vec<&str> = message.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.is_empty() {
        return "invalid TOML here: a value, quote or bracket is missing".to_string();
    }
    let message = lines.join(": ");
    let renamed = message
        .strip_prefix("unknown field")
        .map(|rest| format!("unknown key{rest}"))
        .or_else(|| {
            message
                .strip_prefix("missing field")
                .map(|rest| format!("missing key{rest}"))
        });
    // Backticked names become quoted: the key of a key message (its list of choices goes
    // bare), none in a type message ("integer 5"), names elsewhere ("duplicate key \"a\"");
    // punctuation keeps its backticks (expected `]`).
    let is_key_message = renamed.is_some();
    let is_type_message = message.starts_with("invalid type") || message.starts_with("invalid value");
    let message = renamed.unwrap_or(message);
    let mut out = String::with_capacity(message.len());
    for (i, part) in message.split('`').enumerate() {
        let inside = i % 2 == 1;
        let name_like = !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
        match (inside, is_key_message, is_type_message) {
            (false, ..) => out.push_str(part),
            (true, true, _) if i == 1 => out.push_str(&format!("\"{part}\"")),
            (true, true, _) | (true, _, true) => out.push_str(part),
            (true, false, false) if name_like => out.push_str(&format!("\"{part}\"")),
            (true, false, false) => out.push_str(&format!("`{part}`")),
        }
    }
    out
}

fn validate(name: &str, file: &Path, text: &str, ctx: &ValidationContext) -> Result<Loaded, Vec<Diagnostic>> {
    let raw: RawQuery = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let message = syntax_message(e.message());
            let diagnostic = match e.span() {
                Some(span) => {
                    let (line, col) = line_col(text, span.start);
                    Diagnostic::at(file, line, col, message)
                }
                None => Diagnostic::whole(file, message),
            };
            return Err(vec![diagnostic]);
        }
    };
    let mut c = Checker {
        file,
        text,
        found: Vec::new(),
    };

    let connection = c.required(raw.connection, "connection", None);
    let provider = connection.as_ref().and_then(|conn| {
        let provider = ctx.connections.get(conn.get_ref()).copied();
        if provider.is_none() {
            let mut known: Vec<&str> = ctx.connections.keys().map(String::as_str).collect();
            known.sort_unstable();
            let message = if known.is_empty() {
                format!(
                    "unknown connection {:?}: the config defines no connections",
                    conn.get_ref()
                )
            } else {
                format!(
                    "unknown connection {:?}; known connections: {}",
                    conn.get_ref(),
                    known.join(", ")
                )
            };
            c.at(&conn.span(), message);
        }
        provider
    });

    let platform = provider.and_then(|provider| check_platform(&mut c, raw.platform, provider));
    let accounts = c
        .required(raw.accounts, "accounts", None)
        .and_then(|accounts| check_accounts(&mut c, accounts, platform));
    let login_customer_id = raw
        .login_customer_id
        .map(|id| only_for(&mut c, id, "login_customer_id", platform, Platform::GoogleAds))
        .transpose()
        .ok()
        .flatten()
        .filter(|id| {
            let checked = Platform::GoogleAds.check_account(id.get_ref());
            checked
                .map_err(|m| c.at(&id.span(), format!("login_customer_id: {m}")))
                .is_ok()
        })
        .map(Spanned::into_inner);
    let gaql = match raw.gaql {
        None => None,
        Some(gaql) => only_for(&mut c, gaql, "gaql", platform, Platform::GoogleAds).ok(),
    };
    // GA4 rows are shaped by their dimensions, and a raw GAQL query names its own resource.
    let needs_level = platform.is_none_or(|p| p.has_levels()) && gaql.is_none();
    let level = match raw.level {
        None if !needs_level => Some(Level::Account),
        Some(level) if !needs_level => {
            let why = if gaql.is_some() {
                "a gaql query names its resource after FROM"
            } else {
                "GA4 reports have no level; their dimensions (in fields) shape the rows"
            };
            c.at(&level.span(), format!("level does not apply here: {why}"));
            None
        }
        level => c.required(level, "level", None).and_then(|level| {
            let parsed = parse_level(level.get_ref());
            if parsed.is_none() {
                c.at(
                    &level.span(),
                    format!(
                        "unknown level {:?}, expected one of account, campaign, adset, ad",
                        level.get_ref()
                    ),
                );
            }
            parsed
        }),
    };
    // The append check needs the names even when one of them is wrong.
    let mut field_names: Option<Vec<String>> = raw
        .fields
        .as_ref()
        .map(|fields| fields.get_ref().iter().map(|f| f.get_ref().clone()).collect());
    let fields = match (&gaql, raw.fields) {
        (Some(gaql), None) => {
            let raw = super::gaql::check_raw(gaql.get_ref());
            let selected = raw.and_then(|()| super::gaql::select_list(gaql.get_ref()));
            let selected = selected.map_err(|m| c.at(&gaql.span(), format!("gaql: {m}"))).ok();
            field_names.clone_from(&selected);
            selected
        }
        (Some(_), Some(fields)) => {
            c.at(
                &fields.span(),
                "fields does not apply with gaql: the columns are the gaql query's SELECT list",
            );
            None
        }
        (None, fields) => c
            .required(fields, "fields", None)
            .and_then(|fields| check_fields(&mut c, fields, platform, level)),
    };
    let breakdowns = match raw.breakdowns {
        None => Some(Vec::new()),
        Some(breakdowns) => check_breakdowns(&mut c, breakdowns, platform),
    };
    let filters = match raw.filters {
        None => Some(Vec::new()),
        Some(filters) => check_filters(&mut c, filters, platform),
    };
    let date_range = c
        .required(raw.date_range, "date_range", None)
        .and_then(|range| check_date_range(&mut c, range));
    let time_increment = match raw.time_increment {
        None => Some(TimeIncrement::Daily),
        Some(inc) => match inc.get_ref().as_str() {
            "daily" => Some(TimeIncrement::Daily),
            "total" => Some(TimeIncrement::Total),
            other => {
                c.at(
                    &inc.span(),
                    format!("unknown time_increment {other:?}, expected daily or total"),
                );
                None
            }
        },
    };
    let notify = match raw.notify {
        None => Some(Vec::new()),
        Some(notify) => check_notify(&mut c, notify),
    };
    let schedule = c
        .required(raw.schedule, "schedule", None)
        .and_then(|schedule| check_schedule(&mut c, schedule));
    let output = c.required(raw.output, "output", None).and_then(|output| {
        let own = connection.as_ref().map(|c| c.get_ref().as_str());
        check_output(&mut c, output, ctx, own, platform, field_names.as_deref())
    });

    let (
        Some(connection),
        Some(platform),
        Some(accounts),
        Some(level),
        Some(fields),
        Some(breakdowns),
        Some(filters),
        Some(date_range),
        Some(time_increment),
        Some(notify),
        Some(schedule),
        Some((output, output_at)),
    ) = (
        connection,
        platform,
        accounts,
        level,
        fields,
        breakdowns,
        filters,
        date_range,
        time_increment,
        notify,
        schedule,
        output,
    )
    else {
        return Err(c.into_sorted());
    };
    if !c.found.is_empty() {
        return Err(c.into_sorted());
    }
    Ok(Loaded {
        query: Query {
            name: name.to_string(),
            file: file.to_path_buf(),
            fingerprint: fingerprint(text),
            connection: connection.into_inner(),
            platform,
            accounts,
            login_customer_id,
            gaql: gaql.map(Spanned::into_inner),
            level,
            fields,
            breakdowns,
            filters,
            date_range,
            time_increment,
            notify,
            schedule,
            output,
        },
        output_at,
    })
}

/// Levels from coarsest to finest.
const LEVELS: [Level; 4] = [Level::Account, Level::Campaign, Level::Adset, Level::Ad];

fn parse_level(s: &str) -> Option<Level> {
    LEVELS.into_iter().find(|level| level.as_str() == s)
}

/// The shared shape of the list keys: reports an empty list (when `if_empty` says how to
/// fill it) and repeated entries, runs `check` on every first occurrence, and returns the
/// plain strings when none of that found anything.
fn check_list(
    c: &mut Checker<'_>,
    list: Spanned<Vec<Spanned<String>>>,
    entry: &str,
    if_empty: Option<&str>,
    mut check: impl FnMut(&mut Checker<'_>, &str, &Range<usize>),
) -> Option<Vec<String>> {
    if let (true, Some(message)) = (list.get_ref().is_empty(), if_empty) {
        c.at(&list.span(), message);
        return None;
    }
    let before = c.found.len();
    let mut seen = HashSet::new();
    for item in list.get_ref() {
        let value = item.get_ref();
        if seen.insert(value.as_str()) {
            check(c, value, &item.span());
        } else {
            c.at(&item.span(), format!("{entry} {value:?} is listed twice"));
        }
    }
    (c.found.len() == before).then(|| list.into_inner().into_iter().map(Spanned::into_inner).collect())
}

fn check_accounts(
    c: &mut Checker<'_>,
    accounts: Spanned<Vec<Spanned<String>>>,
    platform: Option<Platform>,
) -> Option<Vec<String>> {
    let if_empty = "accounts is empty: list at least one account id, e.g. \"act_1001\"";
    check_list(c, accounts, "account", Some(if_empty), |c, id, span| {
        if let Some(Err(message)) = platform.map(|p| p.check_account(id)) {
            c.at(span, message);
        }
    })
}

/// Which of the connection's platforms the query reads: the one it names, or the only one.
fn check_platform(c: &mut Checker<'_>, named: Option<Spanned<String>>, provider: Provider) -> Option<Platform> {
    let served = provider.platforms();
    let names = || {
        served
            .iter()
            .map(|p| format!("{:?}", p.as_str()))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    match named {
        None if served.len() == 1 => Some(served[0]),
        None => {
            c.whole(format!(
                "missing key \"platform\": this query's connection ({}) serves {}; say which",
                provider.as_str(),
                names()
            ));
            None
        }
        Some(name) => {
            let platform = Platform::parse(name.get_ref()).filter(|p| served.contains(p));
            if platform.is_none() {
                c.at(
                    &name.span(),
                    format!(
                        "platform {:?} is not served by this query's connection ({}); expected {}",
                        name.get_ref(),
                        provider.as_str(),
                        names()
                    ),
                );
            }
            platform
        }
    }
}

/// `value` of `key`, which only `owner`'s queries may have; an error otherwise.
fn only_for<T>(
    c: &mut Checker<'_>,
    value: Spanned<T>,
    key: &str,
    platform: Option<Platform>,
    owner: Platform,
) -> Result<Spanned<T>, ()> {
    match platform {
        Some(p) if p != owner => {
            c.at(
                &value.span(),
                format!(
                    "{key} applies to {} queries only; this query reads {}",
                    owner.as_str(),
                    p.as_str()
                ),
            );
            Err(())
        }
        // Without a known platform the mistake (if any) is already reported.
        None => Err(()),
        Some(_) => Ok(value),
    }
}

fn check_filters(
    c: &mut Checker<'_>,
    filters: Spanned<Vec<Spanned<Filter>>>,
    platform: Option<Platform>,
) -> Option<Vec<Filter>> {
    let before = c.found.len();
    for filter in filters.get_ref() {
        if let Some(Err(message)) = platform.map(|p| super::filters::check_filter(p, filter.get_ref())) {
            c.at(&filter.span(), format!("filter: {message}"));
        }
    }
    (c.found.len() == before).then(|| filters.into_inner().into_iter().map(Spanned::into_inner).collect())
}

fn check_fields(
    c: &mut Checker<'_>,
    fields: Spanned<Vec<Spanned<String>>>,
    platform: Option<Platform>,
    level: Option<Level>,
) -> Option<Vec<String>> {
    let if_empty = "fields is empty: list the columns to report, e.g. [\"date_start\", \"impressions\"]";
    check_list(c, fields, "field", Some(if_empty), |c, name, span| {
        // Without a known connection there is no catalog to check against; the unknown
        // connection is already reported.
        let Some(platform) = platform else { return };
        let Some(spec) = platform.field(name) else {
            let known: Vec<&str> = platform.fields().iter().map(|f| f.name).collect();
            let message = match closest(name, &known) {
                Some(guess) => format!(
                    "unknown field {name:?} for {}; did you mean {guess:?}?",
                    platform.as_str()
                ),
                None => format!(
                    "unknown field {name:?} for {}; known fields: {}",
                    platform.as_str(),
                    known.join(", ")
                ),
            };
            c.at(span, message);
            return;
        };
        if let Some(level) = level.filter(|level| spec.min_level > *level && platform.has_levels()) {
            let fine_enough: Vec<String> = LEVELS
                .into_iter()
                .filter(|l| *l >= spec.min_level)
                .map(|l| format!("{:?}", l.as_str()))
                .collect();
            c.at(
                span,
                format!(
                    "field {name:?} needs level {}; this query's level is {:?}",
                    fine_enough.join(" or "),
                    level.as_str()
                ),
            );
        }
    })
}

fn check_breakdowns(
    c: &mut Checker<'_>,
    breakdowns: Spanned<Vec<Spanned<String>>>,
    platform: Option<Platform>,
) -> Option<Vec<String>> {
    check_list(c, breakdowns, "breakdown", None, |c, name, span| {
        if let Some(platform) = platform.filter(|p| !p.breakdowns().contains(&name)) {
            let message = if platform.breakdowns().is_empty() {
                format!(
                    "{} has no breakdowns; list segments and dimensions such as {name:?} in fields",
                    platform.as_str()
                )
            } else {
                format!(
                    "unknown breakdown {name:?} for {}, expected one of {}",
                    platform.as_str(),
                    platform.breakdowns().join(", ")
                )
            };
            c.at(span, message);
        }
    })
}

fn check_date_range(c: &mut Checker<'_>, range: Spanned<RawDateRange>) -> Option<DateRange> {
    let span = range.span();
    match range.into_inner() {
        RawDateRange::Preset(s) => DateRange::parse(&s).map_err(|e| c.at(&span, e)).ok(),
        RawDateRange::Fixed { start, end } => {
            let start = c
                .required(start, "start", Some(&span))
                .and_then(|s| iso_date(c, "start", s));
            let end = c.required(end, "end", Some(&span)).and_then(|e| iso_date(c, "end", e));
            let (start, (end, end_span)) = (start?.0, end?);
            if end < start {
                c.at(&end_span, format!("end {end} is before start {start}"));
                return None;
            }
            Some(DateRange::Fixed(DateWindow::new(start, end)))
        }
    }
}

/// A `YYYY-MM-DD` date, quoted or as a bare TOML date.
fn iso_date(c: &mut Checker<'_>, key: &str, value: Spanned<toml::Value>) -> Option<(NaiveDate, Range<usize>)> {
    let span = value.span();
    let written = match value.get_ref() {
        toml::Value::String(s) => s.clone(),
        toml::Value::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => dt.to_string(),
        other => other.to_string(),
    };
    match NaiveDate::parse_from_str(&written, "%Y-%m-%d") {
        Ok(date) => Some((date, span)),
        Err(_) => {
            c.at(
                &span,
                format!("{key} {written:?} is not a date: use YYYY-MM-DD, e.g. \"2026-01-31\""),
            );
            None
        }
    }
}

fn check_notify(c: &mut Checker<'_>, notify: Spanned<Vec<Spanned<String>>>) -> Option<Vec<String>> {
    check_list(c, notify, "notify entry", None, |c, entry, span| {
        if !is_email(entry) {
            c.at(
                span,
                format!("notify entry {entry:?} is not an email address (expected name@example.com)"),
            );
        }
    })
}

/// A plain `local@domain.tld` check: enough to catch names, typos and pasted lists; the
/// mail server has the final word.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let plain = |part: &str| {
        !part.is_empty()
            && !part
                .chars()
                .any(|ch| ch.is_whitespace() || ch.is_control() || matches!(ch, '@' | ',' | ';' | '<' | '>' | '"'))
    };
    plain(local)
        && plain(domain)
        && domain.contains('.')
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
}

fn check_schedule(c: &mut Checker<'_>, schedule: Spanned<RawSchedule>) -> Option<Schedule> {
    let table = schedule.span();
    let RawSchedule { cron, timezone } = schedule.into_inner();
    // Parse the zone and the expression separately so a file with both wrong gets both
    // diagnostics; a bad zone is checked against UTC meanwhile.
    let tz = match &timezone {
        None => Some(chrono_tz::UTC),
        Some(name) => scheduler::parse_time_zone(name.get_ref())
            .map_err(|e| c.at(&name.span(), e.to_string()))
            .ok(),
    };
    let cron = c.required(cron, "cron", Some(&table))?;
    let parsed = Schedule::with_tz(cron.get_ref(), tz.unwrap_or(chrono_tz::UTC))
        .map_err(|e| c.at(&cron.span(), e.to_string()))
        .ok();
    tz.and(parsed)
}

fn check_output(
    c: &mut Checker<'_>,
    output: Spanned<RawOutput>,
    ctx: &ValidationContext,
    query_connection: Option<&str>,
    platform: Option<Platform>,
    fields: Option<&[String]>,
) -> Option<(Output, (usize, usize))> {
    let table = output.span();
    let raw = output.into_inner();
    let sheets = match &raw.kind {
        None => false,
        Some(kind) if kind.get_ref() == "csv" => false,
        Some(kind) if kind.get_ref() == "google_sheets" => true,
        Some(kind) => {
            c.at(
                &kind.span(),
                format!(
                    "unknown output kind {:?}, expected csv or google_sheets",
                    kind.get_ref()
                ),
            );
            return None;
        }
    };
    let mode = match &raw.mode {
        None => Some(WriteMode::Replace),
        Some(mode) => match mode.get_ref().as_str() {
            "replace" => Some(WriteMode::Replace),
            "append" => {
                let row_date = platform.and_then(|p| p.fields().iter().find(|f| f.is_row_date));
                if let (Some(row_date), Some(fields)) = (row_date, fields) {
                    // Empty fields has its own diagnostic.
                    if !fields.is_empty() && !fields.iter().any(|f| f == row_date.name) {
                        c.at(
                            &mode.span(),
                            format!("append mode upserts rows by date: add {:?} to fields", row_date.name),
                        );
                    }
                }
                Some(WriteMode::Append)
            }
            other => {
                c.at(
                    &mode.span(),
                    format!("unknown output mode {other:?}, expected replace or append"),
                );
                None
            }
        },
    };
    if sheets {
        check_sheets_output(c, raw, &table, ctx, query_connection, mode?)
    } else {
        check_csv_output(c, raw, &table, ctx, mode?)
    }
}

/// The keys of a `csv` output: `path` inside `output_dir`, nothing of Sheets.
fn check_csv_output(
    c: &mut Checker<'_>,
    raw: RawOutput,
    table: &Range<usize>,
    ctx: &ValidationContext,
    mode: WriteMode,
) -> Option<(Output, (usize, usize))> {
    let sheets_keys = [
        ("spreadsheet_id", raw.spreadsheet_id.map(|v| v.span())),
        ("sheet", raw.sheet.map(|v| v.span())),
        ("start_cell", raw.start_cell.map(|v| v.span())),
        ("value_input", raw.value_input.map(|v| v.span())),
        ("connection", raw.connection.map(|v| v.span())),
    ];
    for (key, span) in sheets_keys {
        if let Some(span) = span {
            c.at(
                &span,
                format!("{key} is for kind = \"google_sheets\" outputs; this one writes a CSV file"),
            );
        }
    }
    let path = c.required(raw.path, "path", Some(table))?;
    let at = c.pos(&path.span());
    let relative = match normalize_relative(path.get_ref()) {
        Ok(relative) => relative,
        Err(why) => {
            c.at(&path.span(), format!("output path {:?} {why}", path.get_ref()));
            return None;
        }
    };
    let output_dir = std::path::absolute(&ctx.output_dir).unwrap_or_else(|_| ctx.output_dir.clone());
    Some((
        Output::Csv {
            path: output_dir.join(relative),
            mode,
        },
        at,
    ))
}

/// The keys of a `google_sheets` output: spreadsheet, tab, start cell, typing and the
/// Google connection that writes.
fn check_sheets_output(
    c: &mut Checker<'_>,
    raw: RawOutput,
    table: &Range<usize>,
    ctx: &ValidationContext,
    query_connection: Option<&str>,
    mode: WriteMode,
) -> Option<(Output, (usize, usize))> {
    use crate::query::{check_sheet_name, check_start_cell, SheetsTarget, ValueInput};
    let writes_sheets = |p: Provider| matches!(p, Provider::Google | Provider::GoogleServiceAccount);
    if let Some(path) = &raw.path {
        c.at(
            &path.span(),
            "path is for csv outputs; a google_sheets output names spreadsheet_id and sheet",
        );
    }
    let before = c.found.len();
    let connection = match raw.connection {
        Some(named) => match ctx.connections.get(named.get_ref()).copied() {
            Some(provider) if writes_sheets(provider) => Some(named.into_inner()),
            Some(provider) => {
                c.at(
                    &named.span(),
                    format!(
                        "connection {:?} is a {} login; Sheets are written by a google or google_service_account connection",
                        named.get_ref(),
                        provider.as_str()
                    ),
                );
                None
            }
            None => {
                c.at(&named.span(), format!("unknown connection {:?}", named.get_ref()));
                None
            }
        },
        None => match query_connection {
            Some(own) if ctx.connections.get(own).copied().is_some_and(writes_sheets) => Some(own.to_string()),
            // The query's own connection is unknown: already reported.
            Some(own) if !ctx.connections.contains_key(own) => None,
            _ => {
                c.at(
                    table,
                    "missing key \"connection\" in [output]: name the google connection (or service account) that writes the sheet",
                );
                None
            }
        },
    };
    let spreadsheet_id = c
        .required(raw.spreadsheet_id, "spreadsheet_id", Some(table))
        .filter(|id| {
            let ok = !id.get_ref().is_empty()
                && id
                    .get_ref()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                c.at(
                    &id.span(),
                    format!(
                        "spreadsheet_id {:?} is not a spreadsheet id: copy the part between /d/ and /edit from its URL",
                        id.get_ref()
                    ),
                );
            }
            ok
        });
    let sheet = c.required(raw.sheet, "sheet", Some(table)).filter(|sheet| {
        let checked = check_sheet_name(sheet.get_ref());
        checked.map_err(|m| c.at(&sheet.span(), m)).is_ok()
    });
    let start_cell = raw.start_cell.filter(|cell| {
        let checked = check_start_cell(cell.get_ref());
        checked
            .map_err(|m| c.at(&cell.span(), format!("start_cell {:?}: {m}", cell.get_ref())))
            .is_ok()
    });
    let value_input = match &raw.value_input {
        None => Some(ValueInput::UserEntered),
        Some(input) => match input.get_ref().as_str() {
            "user_entered" => Some(ValueInput::UserEntered),
            "raw" => Some(ValueInput::Raw),
            other => {
                c.at(
                    &input.span(),
                    format!("unknown value_input {other:?}, expected user_entered or raw"),
                );
                None
            }
        },
    };
    if c.found.len() != before {
        return None;
    }
    let (connection, spreadsheet_id, sheet, value_input) = (connection?, spreadsheet_id?, sheet?, value_input?);
    let at = c.pos(&spreadsheet_id.span());
    Some((
        Output::GoogleSheets(SheetsTarget {
            connection,
            spreadsheet_id: spreadsheet_id.into_inner(),
            sheet: sheet.into_inner(),
            start_cell: start_cell.map(Spanned::into_inner),
            mode,
            value_input,
        }),
        at,
    ))
}

/// Resolves `.` and `..` without touching the disk (output_dir may not exist yet) and
/// refuses anything that would land outside output_dir.
fn normalize_relative(written: &str) -> Result<PathBuf, &'static str> {
    if written.trim().is_empty() {
        return Err("is empty: name a file such as \"reports/daily.csv\"");
    }
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in Path::new(written).components() {
        match component {
            Component::Prefix(_) | Component::RootDir => {
                return Err("must be relative to output_dir, e.g. \"reports/daily.csv\"")
            }
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err("leaves output_dir through \"..\"; outputs must stay inside it");
                }
            }
            Component::Normal(part) => parts.push(part),
        }
    }
    if parts.is_empty() {
        return Err("names no file inside output_dir");
    }
    Ok(parts.iter().collect())
}

/// The candidate closest to `name` by edit distance, when close enough to be a typo.
fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|candidate| (edit_distance(name, candidate), *candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid query; tests break one line at a time. Line numbers are used in assertions.
    const GOOD: &str = r#"connection = "meta-demo"
accounts = ["act_1001", "act_1002"]
level = "campaign"
fields = ["date_start", "campaign_id", "campaign_name", "impressions", "clicks", "spend"]
breakdowns = ["country"]
filters = [{ field = "campaign.name", operator = "CONTAIN", value = "Brand" }]
date_range = "last_7_days"
time_increment = "daily"
notify = ["analyst@example.com"]

[schedule]
cron = "0 6 * * *"
timezone = "Europe/Berlin"

[output]
kind = "csv"
path = "reports/./meta_campaigns_daily.csv"
mode = "append"
"#;

    struct Fixture {
        dir: tempfile::TempDir,
        ctx: ValidationContext,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let ctx = ValidationContext {
            connections: HashMap::from([
                ("meta-demo".to_string(), Provider::MetaAds),
                ("meta-eu".to_string(), Provider::MetaAds),
                ("google-main".to_string(), Provider::Google),
            ]),
            // Does not exist yet, as on a first start.
            output_dir: dir.path().join("out"),
        };
        Fixture { dir, ctx }
    }

    impl Fixture {
        fn queries(&self) -> PathBuf {
            self.dir.path().join("queries")
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            std::fs::create_dir_all(self.queries()).expect("queries dir");
            let path = self.queries().join(name);
            std::fs::write(&path, text).expect("write query");
            path
        }

        /// Diagnostics of `text` as `line:col: message`.
        fn problems(&self, text: &str) -> Vec<String> {
            let path = self.write("q.toml", text);
            match load_file(&path, &self.ctx) {
                Ok(query) => panic!("expected diagnostics, loaded {query:?}"),
                Err(found) => found
                    .iter()
                    .map(|d| {
                        assert_eq!(d.file, path);
                        format!("{}:{}: {}", d.line, d.col, d.message)
                    })
                    .collect(),
            }
        }

        /// The single diagnostic of `text`.
        fn problem(&self, text: &str) -> String {
            let found = self.problems(text);
            assert_eq!(found.len(), 1, "expected one diagnostic, got {found:#?}");
            found.into_iter().next().unwrap_or_default()
        }
    }

    fn with(from: &str, to: &str) -> String {
        assert!(GOOD.contains(from), "{from:?} is not in the good file");
        GOOD.replacen(from, to, 1)
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("test date")
    }

    /// A Google Ads query on the Google connection.
    const GOOGLE: &str = r#"connection = "google-main"
platform = "google_ads"
accounts = ["1234567890"]
level = "campaign"
fields = ["segments.date", "campaign.name", "metrics.clicks"]
date_range = "yesterday"

[schedule]
cron = "0 6 * * *"

[output]
path = "g.csv"
"#;

    #[test]
    fn a_google_connection_needs_the_platform_named() {
        let f = fixture();
        let got = f.problem(&GOOGLE.replace("platform = \"google_ads\"\n", ""));
        assert_eq!(
            got,
            "0:0: missing key \"platform\": this query's connection (google) serves \"google_ads\" or \"ga4\"; say which"
        );
        let got = f.problem(&GOOGLE.replace("\"google_ads\"", "\"meta_ads\""));
        assert_eq!(
            got,
            "2:12: platform \"meta_ads\" is not served by this query's connection (google); expected \"google_ads\" or \"ga4\""
        );
        let path = f.write("g.toml", GOOGLE);
        let query = load_file(&path, &f.ctx).expect("valid query");
        assert_eq!((query.platform, query.level), (Platform::GoogleAds, Level::Campaign));
    }

    #[test]
    fn account_ids_are_checked_per_platform() {
        let f = fixture();
        let got = f.problem(&GOOGLE.replace("\"1234567890\"", "\"123-456-7890\""));
        assert_eq!(
            got,
            "3:13: account id \"123-456-7890\" is not a Google Ads customer id: expected 10 digits without \
             dashes, e.g. \"1234567890\"; did you mean \"1234567890\"?"
        );
    }

    #[test]
    fn google_ads_keys_are_refused_elsewhere_and_gaql_replaces_fields() {
        let f = fixture();
        let got = f.problem(&with("level =", "login_customer_id = \"9990001111\"\nlevel ="));
        assert_eq!(
            got,
            "3:21: login_customer_id applies to google_ads queries only; this query reads meta_ads"
        );
        let raw = GOOGLE.replace("level = \"campaign\"\n", "").replace(
            "fields = [\"segments.date\", \"campaign.name\", \"metrics.clicks\"]",
            "gaql = \"SELECT segments.date, campaign.name FROM campaign WHERE campaign.status = 'ENABLED'\"",
        );
        let path = f.write("raw.toml", &raw);
        let query = load_file(&path, &f.ctx).expect("valid raw gaql query");
        assert_eq!(query.fields, ["segments.date", "campaign.name"]);
        let got = f.problem(&raw.replace("'ENABLED'", "'ENABLED' AND segments.date DURING LAST_7_DAYS"));
        assert_eq!(
            got,
            "4:8: gaql: the WHERE clause has a segments.date condition; remove it, adsync adds each run's dates"
        );
        let got = f.problem(&raw.replace("accounts =", "level = \"ad\"\naccounts ="));
        assert_eq!(
            got,
            "3:9: level does not apply here: a gaql query names its resource after FROM"
        );
    }

    #[test]
    fn ga4_queries_have_no_level() {
        let f = fixture();
        let ga4 = GOOGLE
            .replace("\"google_ads\"", "\"ga4\"")
            .replace("\"1234567890\"", "\"123456789\"")
            .replace(
                "[\"segments.date\", \"campaign.name\", \"metrics.clicks\"]",
                "[\"date\", \"sessions\"]",
            );
        let got = f.problem(&ga4);
        assert_eq!(
            got,
            "4:9: level does not apply here: GA4 reports have no level; their dimensions (in fields) shape the rows"
        );
        let path = f.write("ga4.toml", &ga4.replace("level = \"campaign\"\n", ""));
        let query = load_file(&path, &f.ctx).expect("valid GA4 query");
        assert_eq!(query.platform, Platform::Ga4);
    }

    #[test]
    fn good_file_yields_the_exact_query() {
        let f = fixture();
        let path = f.write("meta_campaigns_daily.toml", GOOD);
        let query = load_file(&path, &f.ctx).expect("valid query");
        let expected = Query {
            name: "meta_campaigns_daily".into(),
            file: path.clone(),
            fingerprint: fingerprint(GOOD),
            connection: "meta-demo".into(),
            platform: Platform::MetaAds,
            login_customer_id: None,
            gaql: None,
            accounts: vec!["act_1001".into(), "act_1002".into()],
            level: Level::Campaign,
            fields: [
                "date_start",
                "campaign_id",
                "campaign_name",
                "impressions",
                "clicks",
                "spend",
            ]
            .map(String::from)
            .to_vec(),
            breakdowns: vec!["country".into()],
            filters: vec![Filter {
                field: "campaign.name".into(),
                operator: "CONTAIN".into(),
                value: serde_json::json!("Brand"),
            }],
            date_range: DateRange::LastNDays(7),
            time_increment: TimeIncrement::Daily,
            notify: vec!["analyst@example.com".into()],
            schedule: Schedule::parse("0 6 * * *", "Europe/Berlin").expect("schedule"),
            output: Output::Csv {
                path: f.dir.path().join("out/reports/meta_campaigns_daily.csv"),
                mode: WriteMode::Append,
            },
        };
        assert_eq!(query, expected);
        assert_eq!(query.schedule.tz(), chrono_tz::Europe::Berlin);
    }

    #[test]
    fn optional_keys_take_their_defaults() {
        let f = fixture();
        let minimal = r#"connection = "meta-demo"
accounts = ["act_1"]
level = "account"
fields = ["impressions"]
date_range = { start = 2026-01-01, end = "2026-01-31" }
[schedule]
cron = "0 6 * * 1-5"
[output]
path = "a.csv"
"#;
        let path = f.write("minimal.toml", minimal);
        let query = load_file(&path, &f.ctx).expect("valid query");
        assert!(query.breakdowns.is_empty() && query.filters.is_empty() && query.notify.is_empty());
        assert_eq!(query.time_increment, TimeIncrement::Daily);
        assert_eq!(query.schedule.tz(), chrono_tz::UTC);
        assert_eq!(
            query.date_range,
            DateRange::Fixed(DateWindow::new(d("2026-01-01"), d("2026-01-31")))
        );
        assert_eq!(
            query.output,
            Output::Csv {
                path: f.dir.path().join("out/a.csv"),
                mode: WriteMode::Replace
            }
        );
    }

    #[test]
    fn unknown_key_points_at_the_key_and_lists_the_known_ones() {
        let f = fixture();
        let got = f.problem(&with("breakdowns = [", "fieldz = ["));
        assert_eq!(
            got,
            "5:1: unknown key \"fieldz\", expected one of connection, platform, login_customer_id, gaql, accounts, level, fields, \
             breakdowns, filters, date_range, time_increment, notify, schedule, output"
        );
        let got = f.problem(&with("timezone =", "time_zone ="));
        assert_eq!(got, "13:1: unknown key \"time_zone\", expected cron or timezone");
    }

    #[test]
    fn empty_toml_messages_get_a_readable_one() {
        assert_eq!(
            syntax_message(""),
            "invalid TOML here: a value, quote or bracket is missing"
        );
        assert_eq!(syntax_message("missing field `cron`"), "missing key \"cron\"");
    }

    #[test]
    fn wrong_type_is_reported_at_the_value() {
        let f = fixture();
        let got = f.problem(&with(r#"level = "campaign""#, "level = 5"));
        assert!(
            got.starts_with("3:9: invalid type: integer 5, expected a string"),
            "{got}"
        );
    }

    #[test]
    fn toml_syntax_error_has_its_position() {
        let f = fixture();
        let got = f.problem(&with(r#"level = "campaign""#, r#"level = "campaign"#));
        assert!(got.starts_with("3:"), "{got}");
        let got = f.problem(&with("[output]", "[output]\n[output]"));
        assert_eq!(
            got,
            "16:1: invalid table header: duplicate key \"output\" in document root"
        );
        let got = f.problem(&with(r#"level = "campaign""#, "level = "));
        assert_eq!(got, "3:9: invalid string: expected `\"`, `'`");
        let got = f.problem(&with(r#"["country"]"#, r#"["country""#));
        // toml reports an unclosed array where it expected the `]`: the next line.
        assert_eq!(got, "6:1: invalid array: expected `]`");
    }

    #[test]
    fn non_utf8_file_points_at_the_first_bad_byte() {
        let f = fixture();
        let mut bytes = GOOD.as_bytes().to_vec();
        let at = GOOD.find("campaign\"").expect("level value");
        bytes[at + 2] = 0xff; // line 3: level = "ca\xffpaign"
        let path = f.queries().join("latin1.toml");
        std::fs::create_dir_all(f.queries()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let found = load_file(&path, &f.ctx).unwrap_err();
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].line, found[0].col), (3, 12));
        assert!(found[0].message.contains("not valid UTF-8"));
    }

    #[test]
    fn bad_cron_says_what_is_wrong() {
        let f = fixture();
        let got = f.problem(&with(r#"cron = "0 6 * * *""#, r#"cron = "0 6 * *""#));
        assert_eq!(
            got,
            "12:8: bad cron expression \"0 6 * *\": expected 5 fields (minute hour day-of-month \
             month day-of-week) or 6 (second first), found 4"
        );
        let got = f.problem(&with(r#"cron = "0 6 * * *""#, r#"cron = "0 25 * * *""#));
        assert!(
            got.starts_with("12:8: bad cron expression \"0 25 * * *\": hour field \"25\""),
            "{got}"
        );
    }

    #[test]
    fn unknown_time_zone_suggests_the_iana_name() {
        let f = fixture();
        let got = f.problem(&with(r#""Europe/Berlin""#, r#""Berlin""#));
        assert_eq!(
            got,
            "13:12: unknown time zone \"Berlin\": did you mean \"Europe/Berlin\"? (time zones are IANA names)"
        );
    }

    #[test]
    fn unknown_connection_lists_known_ids() {
        let f = fixture();
        let got = f.problem(&with(r#""meta-demo""#, r#""meta-dmeo""#));
        assert_eq!(
            got,
            "1:14: unknown connection \"meta-dmeo\"; known connections: google-main, meta-demo, meta-eu"
        );
    }

    #[test]
    fn unknown_field_suggests_the_closest_name() {
        let f = fixture();
        let got = f.problem(&with(r#""impressions""#, r#""impresions""#));
        assert_eq!(
            got,
            "4:57: unknown field \"impresions\" for meta_ads; did you mean \"impressions\"?"
        );
        let got = f.problem(&with(r#""impressions""#, r#""revenue_per_moon""#));
        assert!(
            got.starts_with(
                "4:57: unknown field \"revenue_per_moon\" for meta_ads; known fields: date_start, date_stop,"
            ),
            "{got}"
        );
    }

    #[test]
    fn field_finer_than_the_level_names_the_level_it_needs() {
        let f = fixture();
        let got = f.problem(&with(r#""spend""#, r#""ad_name""#));
        assert_eq!(
            got,
            "4:82: field \"ad_name\" needs level \"ad\"; this query's level is \"campaign\""
        );
        let got = f.problem(&with(r#""spend""#, r#""adset_id""#));
        assert_eq!(
            got,
            "4:82: field \"adset_id\" needs level \"adset\" or \"ad\"; this query's level is \"campaign\""
        );
    }

    #[test]
    fn duplicate_and_empty_lists() {
        let f = fixture();
        let got = f.problem(&with(r#""spend""#, r#""clicks""#));
        assert_eq!(got, "4:82: field \"clicks\" is listed twice");
        let got = f.problem(&with(r#"["act_1001", "act_1002"]"#, "[]"));
        assert_eq!(
            got,
            "2:12: accounts is empty: list at least one account id, e.g. \"act_1001\""
        );
        let got = f.problem(&with(
            r#"["date_start", "campaign_id", "campaign_name", "impressions", "clicks", "spend"]"#,
            "[]",
        ));
        assert!(got.starts_with("4:10: fields is empty"), "{got}");
    }

    #[test]
    fn unknown_breakdown_lists_valid_ones() {
        let f = fixture();
        let got = f.problem(&with(r#"["country"]"#, r#"["country", "contry"]"#));
        assert_eq!(
            got,
            "5:26: unknown breakdown \"contry\" for meta_ads, expected one of age, gender, country, \
             publisher_platform, device_platform"
        );
    }

    #[test]
    fn bad_date_range_strings_say_the_accepted_forms() {
        let f = fixture();
        let got = f.problem(&with(r#""last_7_days""#, r#""last_week""#));
        assert!(
            got.starts_with("7:14: unknown date_range \"last_week\": use today, yesterday, last_N_days (N from 1 to 3650), this_month, last_month"),
            "{got}"
        );
        let got = f.problem(&with(r#""last_7_days""#, r#""last_0_days""#));
        assert_eq!(
            got,
            "7:14: date_range \"last_0_days\": N in last_N_days must be from 1 to 3650"
        );
    }

    #[test]
    fn fixed_dates_must_be_iso_and_in_order() {
        let f = fixture();
        let found = f.problems(&with(
            r#""last_7_days""#,
            r#"{ start = "2026-13-01", end = "31.01.2026" }"#,
        ));
        assert_eq!(
            found,
            [
                "7:24: start \"2026-13-01\" is not a date: use YYYY-MM-DD, e.g. \"2026-01-31\"",
                "7:44: end \"31.01.2026\" is not a date: use YYYY-MM-DD, e.g. \"2026-01-31\"",
            ]
        );
        let got = f.problem(&with(
            r#""last_7_days""#,
            r#"{ start = "2026-01-31", end = "2026-01-01" }"#,
        ));
        assert_eq!(got, "7:44: end 2026-01-01 is before start 2026-01-31");
        let got = f.problem(&with(r#""last_7_days""#, r#"{ start = "2026-01-31" }"#));
        assert_eq!(got, "7:14: missing key \"end\"");
        let got = f.problem(&with(
            r#""last_7_days""#,
            r#"{ start = "2026-01-31", stop = "2026-02-01" }"#,
        ));
        assert!(
            got.starts_with("7:") && got.contains("unknown key \"stop\", expected start or end"),
            "{got}"
        );
    }

    #[test]
    fn output_path_must_stay_inside_output_dir() {
        let f = fixture();
        let got = f.problem(&with(r#""reports/./meta_campaigns_daily.csv""#, r#""/tmp/x.csv""#));
        assert_eq!(
            got,
            "17:8: output path \"/tmp/x.csv\" must be relative to output_dir, e.g. \"reports/daily.csv\""
        );
        let got = f.problem(&with(
            r#""reports/./meta_campaigns_daily.csv""#,
            r#""reports/../../x.csv""#,
        ));
        assert_eq!(
            got,
            "17:8: output path \"reports/../../x.csv\" leaves output_dir through \"..\"; outputs must stay inside it"
        );
        let got = f.problem(&with(r#""reports/./meta_campaigns_daily.csv""#, r#""reports/..""#));
        assert!(got.contains("names no file"), "{got}");

        let path = f.write(
            "inside.toml",
            &with(r#""reports/./meta_campaigns_daily.csv""#, r#""reports/../x.csv""#),
        );
        let query = load_file(&path, &f.ctx).expect("stays inside");
        assert_eq!(
            query.output,
            Output::Csv {
                path: f.dir.path().join("out/x.csv"),
                mode: WriteMode::Append
            }
        );
    }

    /// GOOGLE's query written to a Sheets tab instead.
    fn to_sheet(output: &str) -> String {
        GOOGLE.replace("[output]\npath = \"g.csv\"\n", &format!("[output]\n{output}"))
    }

    #[test]
    fn a_sheets_output_names_spreadsheet_tab_and_writer() {
        let f = fixture();
        let text = to_sheet("kind = \"google_sheets\"\nspreadsheet_id = \"1AbC-d_9\"\nsheet = \"Daily\"\nstart_cell = \"B3\"\nvalue_input = \"raw\"\n");
        let path = f.write("sheet.toml", &text);
        let query = load_file(&path, &f.ctx).expect("valid sheets query");
        assert_eq!(
            query.output,
            Output::GoogleSheets(crate::query::SheetsTarget {
                connection: "google-main".into(),
                spreadsheet_id: "1AbC-d_9".into(),
                sheet: "Daily".into(),
                start_cell: Some("B3".into()),
                mode: WriteMode::Replace,
                value_input: crate::query::ValueInput::Raw,
            })
        );
        assert_eq!(query.output.location(), PathBuf::from("sheets:1AbC-d_9/Daily"));
    }

    #[test]
    fn sheets_output_mistakes_are_each_reported() {
        let f = fixture();
        let found = f.problems(&to_sheet(
            "kind = \"google_sheets\"\npath = \"x.csv\"\nspreadsheet_id = \"https://docs.google.com/x\"\nsheet = \"\"\nstart_cell = \"3B\"\nvalue_input = \"typed\"\nconnection = \"meta-demo\"\n",
        ));
        let messages: Vec<&str> = found.iter().map(|p| p.split_once(": ").unwrap().1).collect();
        let bad_cell = format!(
            "start_cell \"3B\": {}",
            crate::query::check_start_cell("3B").unwrap_err()
        );
        assert_eq!(
            messages,
            [
                "path is for csv outputs; a google_sheets output names spreadsheet_id and sheet",
                "spreadsheet_id \"https://docs.google.com/x\" is not a spreadsheet id: copy the part between /d/ and /edit from its URL",
                "the sheet (tab) name is empty",
                bad_cell.as_str(),
                "unknown value_input \"typed\", expected user_entered or raw",
                "connection \"meta-demo\" is a meta_ads login; Sheets are written by a google or google_service_account connection",
            ]
        );
        // A Meta query must name the Google connection that writes.
        let found = f.problems(&with(
            "[output]\nkind = \"csv\"\npath = \"reports/./meta_campaigns_daily.csv\"",
            "[output]\nkind = \"google_sheets\"\nsheet = \"x\"\nspreadsheet_id = \"abc\"",
        ));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("missing key \"connection\" in [output]"), "{found:?}");
    }

    #[test]
    fn unknown_output_kind_and_mode() {
        let f = fixture();
        let got = f.problem(&with(r#"kind = "csv""#, r#"kind = "xlsx""#));
        assert_eq!(got, "16:8: unknown output kind \"xlsx\", expected csv or google_sheets");
        let got = f.problem(&with(r#"mode = "append""#, r#"mode = "upsert""#));
        assert_eq!(got, "18:8: unknown output mode \"upsert\", expected replace or append");
    }

    #[test]
    fn append_mode_needs_the_row_date_field() {
        let f = fixture();
        let got = f.problem(&with(r#"["date_start", "#, "["));
        assert_eq!(
            got,
            "18:8: append mode upserts rows by date: add \"date_start\" to fields"
        );
        // Reported alongside other problems with the fields.
        let found = f.problems(&with(r#"["date_start", "campaign_id""#, r#"["campain_id""#));
        assert_eq!(
            found,
            [
                "4:11: unknown field \"campain_id\" for meta_ads; did you mean \"campaign_id\"?",
                "18:8: append mode upserts rows by date: add \"date_start\" to fields",
            ]
        );
        // Replace mode does not care.
        let text = with(r#"["date_start", "#, "[").replace(r#"mode = "append""#, r#"mode = "replace""#);
        let path = f.write("replace.toml", &text);
        assert!(load_file(&path, &f.ctx).is_ok());
    }

    #[test]
    fn meta_account_ids_need_the_act_prefix() {
        let f = fixture();
        let got = f.problem(&with(r#""act_1002""#, r#""1002""#));
        assert_eq!(
            got,
            "2:25: account id \"1002\" is not a Meta ad account id: expected \"act_<digits>\", \
             e.g. \"act_1001\"; did you mean \"act_1002\"?"
        );
        let got = f.problem(&with(r#""act_1002""#, r#""act_12a""#));
        assert!(
            got.starts_with("2:25: account id \"act_12a\"") && !got.contains("did you mean"),
            "{got}"
        );
    }

    #[test]
    fn notify_entries_must_be_email_addresses() {
        let f = fixture();
        let got = f.problem(&with(r#"["analyst@example.com"]"#, r#"["analyst@example.com", "Bob"]"#));
        assert_eq!(
            got,
            "9:34: notify entry \"Bob\" is not an email address (expected name@example.com)"
        );
        for bad in [
            "a@b",
            "@example.com",
            "a@@example.com",
            "a b@example.com",
            "a@example..com",
            "a@x.com, b@y.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(is_email("first.last+tag@sub.example.co.uk"));
    }

    #[test]
    fn missing_keys_are_reported_together() {
        let f = fixture();
        let text = with("connection = \"meta-demo\"\n", "").replace("cron = \"0 6 * * *\"\n", "");
        let found = f.problems(&text);
        assert_eq!(
            found,
            vec!["0:0: missing key \"connection\"", "10:1: missing key \"cron\""]
        );
    }

    #[test]
    fn three_semantic_errors_yield_three_diagnostics() {
        let f = fixture();
        let text = with(r#""campaign""#, r#""campain""#)
            .replace(r#""Europe/Berlin""#, r#""Europe/Berln""#)
            .replace(r#""analyst@example.com""#, r#""analyst""#);
        let found = f.problems(&text);
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found[0].starts_with("3:9: unknown level \"campain\", expected one of account, campaign, adset, ad"));
        assert!(found[1].starts_with("9:11: notify entry \"analyst\""));
        assert!(found[2].starts_with("13:12: unknown time zone \"Europe/Berln\""));
    }

    #[test]
    fn diagnostic_display_is_file_line_col_message() {
        let d = Diagnostic::at("q/a.toml", 3, 9, "unknown level");
        assert_eq!(d.to_string(), "q/a.toml:3:9: unknown level");
        let d = Diagnostic::whole("q/a.toml", "missing key \"connection\"");
        assert_eq!(d.to_string(), "q/a.toml: missing key \"connection\"");
    }

    #[test]
    fn load_dir_returns_good_queries_and_diagnostics_for_bad_ones() {
        let f = fixture();
        f.write("b_good.toml", &with("meta_campaigns_daily", "b"));
        f.write("a_good.toml", &with("meta_campaigns_daily", "a"));
        f.write("c_bad.toml", &with(r#""campaign""#, r#""campain""#));
        f.write("d_broken.toml", "connection = ");
        f.write("notes.md", "not a query");
        std::fs::create_dir_all(f.queries().join("nested.toml")).unwrap();
        f.write("nested.toml/deep.toml", GOOD);

        let (queries, found) = load_dir(&f.queries(), &f.ctx);
        let names: Vec<_> = queries.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(names, ["a_good", "b_good"]);
        let files: Vec<_> = found
            .iter()
            .map(|d| {
                d.file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        assert_eq!(files, ["c_bad.toml", "d_broken.toml"], "{found:#?}");
    }

    #[test]
    fn load_dir_on_a_missing_directory_gives_one_diagnostic() {
        let f = fixture();
        let missing = f.dir.path().join("nope");
        let (queries, found) = load_dir(&missing, &f.ctx);
        assert!(queries.is_empty());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].file, missing);
        assert!(
            found[0].to_string().contains(": cannot read the query directory:"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn two_queries_writing_one_output_are_refused_on_the_second() {
        let f = fixture();
        f.write("first.toml", GOOD);
        // Same file once normalized.
        f.write("second.toml", &with("reports/./meta", "reports/../reports/meta"));
        let (queries, found) = load_dir(&f.queries(), &f.ctx);
        assert_eq!(queries.len(), 1);
        assert_eq!(queries[0].name, "first");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].file, f.queries().join("second.toml"));
        assert_eq!((found[0].line, found[0].col), (17, 8));
        assert!(
            found[0].message.contains("is already written by query \"first\""),
            "{}",
            found[0]
        );
    }

    #[test]
    fn edit_distance_and_suggestions() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(closest("clics", &["clicks", "cpc"]), Some("clicks"));
        assert_eq!(closest("zzzzzz", &["clicks", "cpc"]), None);
    }

    #[test]
    fn truncated_and_mangled_files_never_panic() {
        let f = fixture();
        let mut cuts: Vec<String> = GOOD.char_indices().map(|(i, _)| GOOD[..i].to_string()).collect();
        // A cheap deterministic scramble: swap in punctuation at many places.
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..300 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut bytes = GOOD.as_bytes().to_vec();
            let at = (seed % bytes.len() as u64) as usize;
            let junk = b"=[]{}\"',.#\n 0a";
            bytes[at] = junk[(seed >> 32) as usize % junk.len()];
            cuts.push(String::from_utf8_lossy(&bytes).into_owned());
        }
        cuts.push("date_range = 2026-01-01".into());
        cuts.push("date_range = { start = 1, end = [] }".into());
        cuts.push("[schedule]\ncron = \"\"\ntimezone = \"\"".into());
        cuts.push("[output]\npath = \"\"".into());
        cuts.push("accounts = [[]]".into());
        for text in cuts {
            let path = f.write("fuzz.toml", &text);
            if let Err(found) = load_file(&path, &f.ctx) {
                assert!(!found.is_empty(), "an error without a diagnostic for {text:?}");
            }
        }
    }
}
