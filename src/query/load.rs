//! Loading and validating query files.
//!
//! A file is read in two steps. The raw step mirrors the TOML (every value wrapped in
//! [`Spanned`] so it keeps its byte range); a syntax error or a value of the wrong type
//! stops there with one diagnostic (plus any unknown keys), because nothing after it can be
//! trusted; an unknown key does not stop it. The validation step then checks every value and reports *all* problems
//! at once, each at the `file:line:col` of the offending value, so an analyst fixes a file
//! in one pass instead of one error per reload.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::attribution::{check_report_time, check_windows};
use super::diagnostic::{syntax_message, Checker, Diagnostic};
use super::key_tree::KeyTree;
use super::keys::{check_connection, check_date_range, check_notify, check_schedule, check_time_increment};
use super::output_checks::check_output;
use super::platform_rules::{
    check_accounts, check_breakdowns, check_columns, check_filters, check_level, check_login_customer_id,
    check_platform, check_scopes, only_for,
};
use super::raw::RawQuery;
use super::{Attribution, Query};
use crate::config::line_col;
use crate::config::ValidationContext;
use crate::location::Location;
use crate::platform::Platform;

/// Loads every `*.toml` file directly in `dir` (the extension in any case: `Q.TOML` is a
/// query too, not a file skipped without a word), in file-name order.
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
                if path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("toml")) && path.is_file() {
                    files.push(path);
                }
            }
            Err(e) => diagnostics.push(Diagnostic::whole(dir, format!("cannot list the query directory: {e}"))),
        }
    }
    files.sort();

    // Output path -> the query that claimed it first.
    let mut writers: HashMap<Location, String> = HashMap::new();
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
                            path.to_string()
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

/// A short digest of a query file's text: a query marked broken stays broken until this
/// changes.
fn fingerprint(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Parses `text` and checks every key, reporting all problems at once.
fn validate(name: &str, file: &Path, text: &str, ctx: &ValidationContext) -> Result<Loaded, Vec<Diagnostic>> {
    let (raw, keys) = parse_raw(file, text)?;
    let mut c = Checker::new(file, text);
    keys.check_known(&mut c);
    let checked = check_query(&mut c, raw, ctx).map(|(query, output_at)| Loaded {
        query: Query {
            name: name.to_string(),
            file: file.to_path_buf(),
            fingerprint: fingerprint(text),
            ..query
        },
        output_at,
    });
    match checked {
        Some(mut loaded) if c.found.is_empty() => {
            loaded.query.warnings = std::mem::take(&mut c.warnings);
            Ok(loaded)
        }
        _ => Err(c.into_sorted()),
    }
}

/// The raw step: a syntax error or a mistyped value is one diagnostic (shown with its line
/// and a caret), reported with the unknown keys found before it; unknown keys alone go on to
/// the checks, which report them with everything else.
fn parse_raw(file: &Path, text: &str) -> Result<(RawQuery, KeyTree), Vec<Diagnostic>> {
    let toml_error = |e: toml::de::Error| {
        let message = syntax_message(e.message());
        match e.span() {
            Some(span) => {
                let (line, col) = line_col(text, span.start);
                Diagnostic::at(file, line, col, message).with_excerpt(text)
            }
            None => Diagnostic::whole(file, message),
        }
    };
    let keys: KeyTree = toml::from_str(text).map_err(|e| vec![toml_error(e)])?;
    match toml::from_str(text) {
        Ok(raw) => Ok((raw, keys)),
        Err(e) => {
            let mut c = Checker::new(file, text);
            keys.check_known(&mut c);
            c.found.push(toml_error(e));
            Err(c.into_sorted())
        }
    }
}

/// Checks every key; the query (its name, file and fingerprint left empty) when every
/// key yielded a value. A problem that still leaves a value (append mode without the date field, say) is
/// only in `c`, and refuses the query all the same.
fn check_query(c: &mut Checker<'_>, raw: RawQuery, ctx: &ValidationContext) -> Option<(Query, (usize, usize))> {
    let connection = c.required(raw.connection, "connection", None);
    let provider = connection.as_ref().and_then(|conn| check_connection(c, conn, ctx));
    let platform = provider.and_then(|provider| check_platform(c, raw.platform, provider));
    let accounts = c
        .required(raw.accounts, "accounts", None)
        .and_then(|accounts| check_accounts(c, accounts, platform));
    let login_customer_id = raw
        .login_customer_id
        .and_then(|id| check_login_customer_id(c, id, platform));
    let gaql = raw
        .gaql
        .and_then(|gaql| only_for(c, gaql, "gaql", platform, Platform::GoogleAds).ok());
    let level = check_level(c, raw.level, platform, gaql.is_some());
    let windows = raw
        .action_attribution_windows
        .map_or(Some(Vec::new()), |windows| check_windows(c, windows, platform));
    let report_time = raw
        .action_report_time
        .map(|time| check_report_time(c, time, platform).ok_or(()))
        .transpose();
    let (fields, field_names) = check_columns(c, gaql.as_ref(), raw.fields, platform, level, windows.as_deref());
    let breakdowns = raw
        .breakdowns
        .map_or(Some(Vec::new()), |breakdowns| check_breakdowns(c, breakdowns, platform));
    let filters = raw
        .filters
        .map_or(Some(Vec::new()), |filters| check_filters(c, filters, platform));
    let date_range = c
        .required(raw.date_range, "date_range", None)
        .and_then(|range| check_date_range(c, range));
    let time_increment = check_time_increment(c, raw.time_increment);
    let notify = raw.notify.map_or(Some(Vec::new()), |notify| check_notify(c, notify));
    let schedule = c
        .required(raw.schedule, "schedule", None)
        .and_then(|schedule| check_schedule(c, schedule));
    let (output, output_at) = c.required(raw.output, "output", None).and_then(|output| {
        let own = connection.as_ref().map(|c| c.get_ref().as_str());
        check_output(c, output, ctx, own, platform, field_names.as_deref())
    })?;
    let connection = connection?;
    let query = Query {
        name: String::new(),
        file: PathBuf::new(),
        fingerprint: String::new(),
        connection: connection.get_ref().clone(),
        platform: platform?,
        accounts: accounts?,
        login_customer_id,
        gaql: gaql.map(Spanned::into_inner),
        level: level?,
        fields: fields?,
        breakdowns: breakdowns?,
        filters: filters?,
        attribution: Attribution {
            windows: windows?,
            report_time: report_time.ok()?,
        },
        date_range: date_range?,
        time_increment: time_increment?,
        notify: notify?,
        schedule: schedule?,
        output,
        warnings: Vec::new(),
    };
    check_scopes(c, &query, ctx, &connection, output_at);
    Some((query, output_at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Provider;
    use crate::query::keys::is_email;
    use crate::query::Schedule;
    use crate::query::{DateRange, Filter, Level, Output, TimeIncrement, WriteMode};
    use crate::rows::DateWindow;
    use chrono::NaiveDate;

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
            requested_scopes: Default::default(),
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
            attribution: Default::default(),
            date_range: DateRange::LastNDays(7),
            time_increment: TimeIncrement::Daily,
            notify: vec!["analyst@example.com".into()],
            schedule: Schedule::parse("0 6 * * *", "Europe/Berlin").expect("schedule"),
            warnings: Vec::new(),
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
        let got = f.problem(&with("breakdowns = [", "segments = ["));
        assert_eq!(
            got,
            "5:1: unknown key \"segments\"; expected one of connection, platform, login_customer_id, gaql, accounts, level, fields, \
             breakdowns, filters, action_attribution_windows, action_report_time, date_range, time_increment, notify, schedule, output"
        );
        let got = f.problem(&with("timezone =", "time_zone ="));
        assert_eq!(
            got,
            "13:1: unknown key \"time_zone\" in [schedule]; did you mean \"timezone\"?"
        );
        let got = f.problem(&with("mode =", "mod ="));
        assert_eq!(got, "18:1: unknown key \"mod\" in [output]; did you mean \"mode\"?");
    }

    #[test]
    fn query_files_are_found_whatever_the_case_of_their_extension() {
        let f = fixture();
        f.write("upper.TOML", GOOD);
        f.write("mixed.Toml", &GOOD.replace("meta_campaigns_daily", "mixed"));
        f.write("notes.txt", "not a query");
        let (queries, problems) = load_dir(&f.queries(), &f.ctx);
        assert!(problems.is_empty(), "{problems:#?}");
        let names: Vec<&str> = queries.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(names, ["mixed", "upper"]);
    }

    #[test]
    fn a_cron_that_never_fires_is_a_warning_not_a_refusal() {
        let f = fixture();
        let path = f.write("feb30.toml", &with("0 6 * * *", "0 0 30 2 *"));
        let query = load_file(&path, &f.ctx).expect("still a valid query");
        let warnings: Vec<String> = query.warnings.iter().map(Diagnostic::as_warning).collect();
        assert_eq!(
            warnings,
            [format!(
                "{}:12:8: warning: cron \"0 0 30 2 *\" never fires (no date matches it), so this query never runs on its own",
                path.display()
            )]
        );
        let path = f.write("good.toml", GOOD);
        assert!(load_file(&path, &f.ctx).unwrap().warnings.is_empty());
    }

    #[test]
    fn an_unknown_key_hides_no_other_problem() {
        let f = fixture();
        let text = with("breakdowns = [", "fieldz = [")
            .replace("\"campaign\"", "\"campain\"")
            .replace("0 6 * * *", "0 6 * *")
            .replace("analyst@example.com", "analyst")
            .replace("timezone =", "time_zone =");
        let got = f.problems(&text);
        assert_eq!(got.len(), 5, "{got:#?}");
        assert_eq!(got[0], "3:9: unknown level \"campain\"; did you mean \"campaign\"?");
        assert_eq!(got[1], "5:1: unknown key \"fieldz\"; did you mean \"fields\"?");
        assert!(got[2].starts_with("9:11: "), "{got:#?}");
        assert!(got[3].starts_with("12:8: "), "{got:#?}");
        assert_eq!(
            got[4],
            "13:1: unknown key \"time_zone\" in [schedule]; did you mean \"timezone\"?"
        );
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
    fn unknown_connection_suggests_the_closest_or_lists_known_ids() {
        let f = fixture();
        let got = f.problem(&with(r#""meta-demo""#, r#""meta-dmeo""#));
        assert_eq!(
            got,
            "1:14: unknown connection \"meta-dmeo\"; did you mean \"meta-demo\"?"
        );
        let got = f.problem(&with(r#""meta-demo""#, r#""facebook""#));
        assert_eq!(
            got,
            "1:14: unknown connection \"facebook\"; known connections: google-main, meta-demo, meta-eu"
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
    fn action_columns_load_with_their_windows_and_report_time() {
        let f = fixture();
        let text = with(
            "\"clicks\", \"spend\"]",
            "\"spend\", \"actions:offsite_conversion.fb_pixel_purchase\", \"action_values:purchase:7d_click\"]\n\
             action_attribution_windows = [\"7d_click\", \"1d_view\"]\naction_report_time = \"conversion\"",
        );
        let path = f.write("q.toml", &text);
        let query = load_file(&path, &f.ctx).expect("valid query");
        assert_eq!(query.attribution.windows, ["7d_click", "1d_view"]);
        assert_eq!(query.attribution.report_time.as_deref(), Some("conversion"));
        assert_eq!(query.fields[5], "actions:offsite_conversion.fb_pixel_purchase");
    }

    #[test]
    fn action_columns_say_how_to_name_a_list_and_which_windows_exist() {
        let f = fixture();
        let got = f.problems(&with(
            "\"clicks\", \"spend\"]",
            "\"actions\", \"actions:purchase:28d_click\"]\naction_attribution_windows = [\"7d_clik\"]\n\
             action_report_time = \"later\"",
        ));
        assert_eq!(got.len(), 3, "{got:#?}");
        assert!(
            got[0].starts_with("4:72: \"actions\" is a list per action type: name one column per type"),
            "{got:#?}"
        );
        assert_eq!(
            got[1],
            "5:31: unknown attribution window \"7d_clik\"; did you mean \"7d_click\"?"
        );
        assert!(
            got[2].starts_with("6:22: unknown action_report_time \"later\", expected one of impression,"),
            "{got:#?}"
        );
        let typo = with("\"clicks\", \"spend\"]", "\"actons:purchase\"]");
        assert_eq!(
            f.problem(&typo),
            "4:72: unknown field \"actons:purchase\" for meta_ads; did you mean \"actions:purchase\"?"
        );
        let google = GOOGLE.replace("date_range", "action_report_time = \"mixed\"\ndate_range");
        assert_eq!(
            f.problem(&google),
            "6:22: action_report_time applies to meta_ads queries only; this query reads google_ads"
        );
    }

    #[test]
    fn unknown_breakdown_suggests_the_closest_or_lists_valid_ones() {
        let f = fixture();
        let got = f.problem(&with(r#"["country"]"#, r#"["country", "contry"]"#));
        assert_eq!(
            got,
            "5:26: unknown breakdown \"contry\" for meta_ads; did you mean \"country\"?"
        );
        let got = f.problem(&with(r#"["country"]"#, r#"["country", "weather"]"#));
        // Meta documents 89 breakdowns; the list starts with the common ones.
        assert!(
            got.starts_with(
                "5:26: unknown breakdown \"weather\" for meta_ads, expected one of age, gender, country, region,"
            ),
            "{got}"
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
        let got = f.problem(&with(r#""reports/./meta_campaigns_daily.csv""#, r#""reports/""#));
        assert_eq!(
            got,
            "17:8: output path \"reports/\" names a directory; name a file inside it, e.g. \"reports/daily.csv\""
        );

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
    fn a_scope_the_connection_never_asks_for_is_refused_where_it_is_needed() {
        let mut f = fixture();
        let ads = crate::platform::google_ads::SCOPE.to_string();
        f.ctx.requested_scopes.insert("google-main".into(), vec![ads.clone()]);
        let path = f.write("g.toml", GOOGLE);
        assert!(load_file(&path, &f.ctx).is_ok(), "the Ads scope is asked for");
        let text = to_sheet("kind = \"google_sheets\"\nspreadsheet_id = \"1AbC-d_9\"\nsheet = \"Daily\"\n");
        assert_eq!(
            f.problem(&text),
            format!(
                "13:18: connection \"google-main\" never asks for the scope google_sheets outputs need \
                 (\"https://www.googleapis.com/auth/spreadsheets\"): its `scopes` in the config are [\"{ads}\"]; \
                 add it there, then reconnect"
            )
        );
        let ga4 = GOOGLE
            .replace("\"google_ads\"", "\"ga4\"")
            .replace("\"1234567890\"", "\"123456789\"")
            .replace("level = \"campaign\"\n", "")
            .replace(
                "[\"segments.date\", \"campaign.name\", \"metrics.clicks\"]",
                "[\"date\", \"sessions\"]",
            );
        assert!(f
            .problem(&ga4)
            .starts_with("1:14: connection \"google-main\" never asks for the scope ga4 need"));
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
            crate::query::sheets::check_start_cell("3B").unwrap_err()
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
        assert_eq!(found[0], "3:9: unknown level \"campain\"; did you mean \"campaign\"?");
        assert!(found[1].starts_with("9:11: notify entry \"analyst\""));
        assert!(found[2].starts_with("13:12: unknown time zone \"Europe/Berln\""));
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
