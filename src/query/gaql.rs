//! GAQL: the query text sent to `searchStream`, built from a query file or taken raw.
//!
//! It lives with the query model because GAQL is part of the query-file language (a Google
//! Ads query may be raw GAQL, and loading checks it); the Google Ads source sends it.
//!
//! A built query reads `FROM` the resource of the query's level and selects the columns'
//! source fields; every run adds its own `segments.date BETWEEN` condition. Daily rows
//! select `segments.date` (whether or not it is a column), whole-window totals must not, or
//! Google would split them by day.

use super::{Filter, Level, Query, TimeIncrement};
use crate::platform::google_ads::{self as fields, DATE};
use crate::rows::DateWindow;

/// The GAQL resource rows of `level` come `FROM`.
pub(crate) fn resource(level: Level) -> &'static str {
    match level {
        Level::Account => "customer",
        Level::Campaign => "campaign",
        Level::Adset => "ad_group",
        Level::Ad => "ad_group_ad",
    }
}

/// The GAQL of one run of `query` over `window`: the raw `gaql` with the window's date
/// condition added, or a query built from level, fields and filters.
pub fn build(query: &Query, window: DateWindow) -> Result<String, String> {
    if let Some(raw) = &query.gaql {
        return with_date_range(raw, window);
    }
    let daily = query.time_increment == TimeIncrement::Daily;
    let mut select: Vec<&str> = Vec::with_capacity(query.fields.len() + 1);
    for column in &query.fields {
        let field = fields::source_field(column);
        if (field != DATE || daily) && !select.contains(&field) {
            select.push(field);
        }
    }
    if daily && !select.contains(&DATE) {
        select.push(DATE);
    }
    if select.is_empty() {
        return Err(format!(
            "a whole-window total is not segmented by {DATE}; add a field to report besides it"
        ));
    }
    let mut gaql = format!(
        "SELECT {} FROM {} WHERE {}",
        select.join(", "),
        resource(query.level),
        date_condition(window)
    );
    for filter in &query.filters {
        gaql.push_str(" AND ");
        gaql.push_str(&condition(filter)?);
    }
    Ok(gaql)
}

/// `segments.date BETWEEN 'start' AND 'end'`.
fn date_condition(window: DateWindow) -> String {
    format!("{DATE} BETWEEN '{}' AND '{}'", window.start, window.end)
}

/// `gaql` restricted to `window`: the date condition goes first in an existing `WHERE`
/// (GAQL conditions are all joined by `AND`), or becomes the `WHERE` before any `ORDER BY`,
/// `LIMIT` or `PARAMETERS` clause.
pub(crate) fn with_date_range(gaql: &str, window: DateWindow) -> Result<String, String> {
    check_raw(gaql)?;
    let clauses = clauses(gaql);
    let condition = date_condition(window);
    let trimmed = gaql.trim_end();
    Ok(match clauses.iter().find(|c| c.keyword == Keyword::Where) {
        Some(clause) => format!(
            "{} {condition} AND {}",
            &trimmed[..clause.body],
            trimmed[clause.body..].trim_start()
        ),
        None => {
            let at = clauses
                .iter()
                .find(|c| c.keyword != Keyword::From)
                .map_or(trimmed.len(), |c| c.start);
            let (head, tail) = trimmed.split_at(at);
            let tail = if tail.is_empty() {
                String::new()
            } else {
                format!(" {tail}")
            };
            format!("{} WHERE {condition}{tail}", head.trim_end())
        }
    })
}

/// Why a raw GAQL query cannot be run with adsync's date ranges, if it cannot: it must be a
/// `SELECT … FROM …` and must leave `segments.date` conditions to adsync.
pub(crate) fn check_raw(gaql: &str) -> Result<(), String> {
    select_list(gaql)?;
    let clauses = clauses(gaql);
    if !clauses.iter().any(|c| c.keyword == Keyword::From) {
        return Err("expected FROM after the SELECT list".into());
    }
    if let Some(clause) = clauses.iter().find(|c| c.keyword == Keyword::Where) {
        let end = clauses
            .iter()
            .find(|c| c.start > clause.start)
            .map_or(gaql.len(), |c| c.start);
        let conditions = &gaql[clause.body..end];
        let words = words_outside_strings(conditions);
        if words.iter().any(|(_, w)| w.eq_ignore_ascii_case(DATE)) {
            return Err(format!(
                "the WHERE clause has a {DATE} condition; remove it, adsync adds each run's dates"
            ));
        }
    }
    Ok(())
}

/// The columns a raw GAQL query selects, in order: the fields between `SELECT` and `FROM`.
pub fn select_list(gaql: &str) -> Result<Vec<String>, String> {
    let upper = gaql.to_ascii_uppercase();
    let select = upper
        .trim_start()
        .starts_with("SELECT ")
        .then(|| upper.find("SELECT").map(|at| at + "SELECT".len()))
        .flatten()
        .ok_or("expected the query to start with SELECT")?;
    let from = upper[select..]
        .find(" FROM ")
        .map(|at| select + at)
        .ok_or("expected FROM after the SELECT list")?;
    let fields: Vec<String> = gaql[select..from].split(',').map(|f| f.trim().to_string()).collect();
    if let Some(bad) = fields
        .iter()
        .find(|f| f.is_empty() || !f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.'))
    {
        return Err(format!("{bad:?} in the SELECT list is not a field name"));
    }
    Ok(fields)
}

/// A filter operator: the GAQL spelling, or the generic names query files share with other
/// platforms (`EQUAL`, `CONTAIN`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    /// `=`, `!=`, `>`, …: one value.
    Compare(&'static str),
    /// `IN`, `NOT IN`, `CONTAINS ANY`, …: a non-empty list.
    List(&'static str),
    /// `LIKE`, `REGEXP_MATCH` and negations: one string, a pattern already.
    Pattern(&'static str),
    /// `CONTAIN` / `NOT_CONTAIN`: one string, matched anywhere (`LIKE '%…%'`).
    Contains { negated: bool },
}

impl Operator {
    fn parse(name: &str) -> Option<Operator> {
        let normalized = name
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_uppercase();
        Some(match normalized.as_str() {
            "=" | "EQUAL" | "EQUALS" => Operator::Compare("="),
            "!=" | "NOT_EQUAL" => Operator::Compare("!="),
            ">" | "GREATER_THAN" => Operator::Compare(">"),
            ">=" | "GREATER_THAN_OR_EQUAL" => Operator::Compare(">="),
            "<" | "LESS_THAN" => Operator::Compare("<"),
            "<=" | "LESS_THAN_OR_EQUAL" => Operator::Compare("<="),
            "IN" => Operator::List("IN"),
            "NOT IN" | "NOT_IN" => Operator::List("NOT IN"),
            "CONTAINS ANY" => Operator::List("CONTAINS ANY"),
            "CONTAINS ALL" => Operator::List("CONTAINS ALL"),
            "CONTAINS NONE" => Operator::List("CONTAINS NONE"),
            "LIKE" => Operator::Pattern("LIKE"),
            "NOT LIKE" => Operator::Pattern("NOT LIKE"),
            "REGEXP_MATCH" => Operator::Pattern("REGEXP_MATCH"),
            "NOT REGEXP_MATCH" => Operator::Pattern("NOT REGEXP_MATCH"),
            "CONTAIN" => Operator::Contains { negated: false },
            "NOT_CONTAIN" => Operator::Contains { negated: true },
            _ => return None,
        })
    }
}

/// The operators a filter may use, for error messages.
const OPERATORS: &str = "=, !=, >, >=, <, <=, IN, NOT IN, CONTAINS ANY, CONTAINS ALL, CONTAINS NONE, LIKE, NOT LIKE, \
     REGEXP_MATCH, NOT REGEXP_MATCH (or EQUAL, NOT_EQUAL, GREATER_THAN, GREATER_THAN_OR_EQUAL, LESS_THAN, \
     LESS_THAN_OR_EQUAL, NOT_IN, CONTAIN, NOT_CONTAIN)";

/// The GAQL condition for `filter`, e.g. `campaign.name LIKE '%Brand%'`.
pub(crate) fn condition(filter: &Filter) -> Result<String, String> {
    let field = filter.field.as_str();
    let is_field = field.contains('.')
        && field.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        });
    if !is_field {
        return Err(format!(
            "{field:?} is not a GAQL field name (resource.field in snake_case, e.g. \"campaign.name\")"
        ));
    }
    if field == DATE {
        return Err(format!(
            "{DATE} cannot be filtered: date_range sets the dates of each run"
        ));
    }
    if field == fields::COST {
        return Err(format!(
            "{} is computed by adsync; filter on {} (in millionths) instead",
            fields::COST,
            fields::COST_MICROS
        ));
    }
    let operator = Operator::parse(&filter.operator)
        .ok_or_else(|| format!("unknown operator {:?}, expected one of {OPERATORS}", filter.operator))?;
    let value = &filter.value;
    let rendered = match operator {
        Operator::Compare(op) => format!("{op} {}", scalar(value)?),
        Operator::List(op) => {
            let items = value
                .as_array()
                .filter(|items| !items.is_empty())
                .ok_or_else(|| format!("{op} needs a non-empty list of values, e.g. [\"ENABLED\", \"PAUSED\"]"))?;
            let items = items.iter().map(scalar).collect::<Result<Vec<_>, _>>()?;
            format!("{op} ({})", items.join(", "))
        }
        Operator::Pattern(op) => {
            let pattern = value.as_str().ok_or_else(|| format!("{op} needs a string pattern"))?;
            format!("{op} {}", quoted(pattern))
        }
        Operator::Contains { negated } => {
            let text = value
                .as_str()
                .ok_or_else(|| format!("{} needs a string", filter.operator))?;
            // GAQL LIKE takes `[x]` as a literal x for its wildcard and bracket characters.
            let mut literal = String::with_capacity(text.len() + 2);
            for c in text.chars() {
                if matches!(c, '%' | '_' | '[' | ']') {
                    literal.extend(['[', c, ']']);
                } else {
                    literal.push(c);
                }
            }
            let op = if negated { "NOT LIKE" } else { "LIKE" };
            format!("{op} {}", quoted(&format!("%{literal}%")))
        }
    };
    Ok(format!("{field} {rendered}"))
}

/// One value of a condition: a quoted string or a number.
fn scalar(value: &serde_json::Value) -> Result<String, String> {
    match value {
        serde_json::Value::String(s) => Ok(quoted(s)),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("value {other} is not a string or number")),
    }
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keyword {
    From,
    Where,
    OrderBy,
    Limit,
    Parameters,
}

/// A top-level clause of a GAQL query: where its keyword starts and where its body starts.
#[derive(Debug, Clone, Copy)]
struct Clause {
    keyword: Keyword,
    start: usize,
    body: usize,
}

/// The clauses after `SELECT`, in order (keywords inside string literals do not count).
fn clauses(gaql: &str) -> Vec<Clause> {
    let words = words_outside_strings(gaql);
    let mut found = Vec::new();
    for (i, &(start, word)) in words.iter().enumerate() {
        let end = start + word.len();
        let clause = |keyword, body| Clause { keyword, start, body };
        match word.to_ascii_uppercase().as_str() {
            "FROM" => found.push(clause(Keyword::From, end)),
            "WHERE" => found.push(clause(Keyword::Where, end)),
            "LIMIT" => found.push(clause(Keyword::Limit, end)),
            "PARAMETERS" => found.push(clause(Keyword::Parameters, end)),
            "ORDER" => {
                if let Some(&(by_start, by)) = words.get(i + 1).filter(|(_, w)| w.eq_ignore_ascii_case("BY")) {
                    found.push(clause(Keyword::OrderBy, by_start + by.len()));
                }
            }
            _ => {}
        }
    }
    found
}

/// The words (runs of letters, digits, `_` and `.`) of `text` outside quoted strings, with
/// their byte offsets.
fn words_outside_strings(text: &str) -> Vec<(usize, &str)> {
    let bytes = text.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\'' || b == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.') {
                i += 1;
            }
            words.push((start, &text[start..i]));
        } else {
            i += 1;
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window() -> DateWindow {
        DateWindow::new("2026-03-01".parse().unwrap(), "2026-03-07".parse().unwrap())
    }

    fn filter(field: &str, operator: &str, value: serde_json::Value) -> Filter {
        Filter {
            field: field.into(),
            operator: operator.into(),
            value,
        }
    }

    fn query(level: Level, fields: &[&str], increment: TimeIncrement, filters: Vec<Filter>) -> Query {
        Query {
            name: "q".into(),
            file: "q.toml".into(),
            fingerprint: String::new(),
            connection: "google".into(),
            platform: crate::sources::Platform::GoogleAds,
            accounts: vec!["1234567890".into()],
            login_customer_id: None,
            gaql: None,
            level,
            fields: fields.iter().map(|f| f.to_string()).collect(),
            breakdowns: Vec::new(),
            filters,
            attribution: Default::default(),
            date_range: crate::query::DateRange::Yesterday,
            time_increment: increment,
            notify: Vec::new(),
            schedule: crate::query::Schedule::parse("0 6 * * *", "UTC").unwrap(),
            warnings: Vec::new(),
            output: crate::query::Output::Csv {
                path: "q.csv".into(),
                mode: crate::query::WriteMode::Replace,
            },
        }
    }

    #[test]
    fn daily_queries_select_the_date_and_read_from_the_level_resource() {
        let q = query(
            Level::Campaign,
            &["campaign.name", "metrics.cost", "metrics.cost_micros", "metrics.clicks"],
            TimeIncrement::Daily,
            vec![filter("campaign.status", "EQUAL", "ENABLED".into())],
        );
        assert_eq!(
            build(&q, window()).unwrap(),
            "SELECT campaign.name, metrics.cost_micros, metrics.clicks, segments.date FROM campaign \
             WHERE segments.date BETWEEN '2026-03-01' AND '2026-03-07' AND campaign.status = 'ENABLED'"
        );
    }

    #[test]
    fn totals_never_segment_by_date() {
        let q = query(
            Level::Ad,
            &["segments.date", "ad_group_ad.ad.id", "metrics.impressions"],
            TimeIncrement::Total,
            Vec::new(),
        );
        assert_eq!(
            build(&q, window()).unwrap(),
            "SELECT ad_group_ad.ad.id, metrics.impressions FROM ad_group_ad \
             WHERE segments.date BETWEEN '2026-03-01' AND '2026-03-07'"
        );
        let only_date = query(Level::Account, &["segments.date"], TimeIncrement::Total, Vec::new());
        assert!(build(&only_date, window()).unwrap_err().contains("add a field"));
        let account = query(Level::Account, &["metrics.clicks"], TimeIncrement::Total, Vec::new());
        assert!(build(&account, window()).unwrap().contains(" FROM customer "));
        assert_eq!(resource(Level::Adset), "ad_group");
    }

    #[test]
    fn raw_gaql_gets_the_date_condition_in_the_right_place() {
        let w = window();
        let dates = "segments.date BETWEEN '2026-03-01' AND '2026-03-07'";
        let raw = |q: &str| with_date_range(q, w).unwrap();
        assert_eq!(
            raw("SELECT campaign.id, metrics.clicks FROM campaign"),
            format!("SELECT campaign.id, metrics.clicks FROM campaign WHERE {dates}")
        );
        assert_eq!(
            raw("SELECT campaign.id FROM campaign\n  where campaign.status = 'ENABLED'\n"),
            format!("SELECT campaign.id FROM campaign\n  where {dates} AND campaign.status = 'ENABLED'")
        );
        assert_eq!(
            raw("SELECT campaign.id FROM campaign ORDER BY metrics.clicks DESC LIMIT 10"),
            format!("SELECT campaign.id FROM campaign WHERE {dates} ORDER BY metrics.clicks DESC LIMIT 10")
        );
        assert_eq!(
            raw("SELECT campaign.id FROM campaign LIMIT 5 PARAMETERS include_drafts=true"),
            format!("SELECT campaign.id FROM campaign WHERE {dates} LIMIT 5 PARAMETERS include_drafts=true")
        );
        // Keywords inside strings are data, not clauses.
        assert_eq!(
            raw("SELECT campaign.id FROM campaign WHERE campaign.name = 'ORDER BY where LIMIT'"),
            format!("SELECT campaign.id FROM campaign WHERE {dates} AND campaign.name = 'ORDER BY where LIMIT'")
        );
        let own_dates = with_date_range(
            "SELECT campaign.id FROM campaign WHERE segments.date DURING LAST_7_DAYS",
            w,
        )
        .unwrap_err();
        assert!(own_dates.contains("remove it"), "{own_dates}");
        assert!(check_raw("SELECT campaign.id campaign").is_err());
        let mut q = query(Level::Account, &["campaign.id"], TimeIncrement::Daily, Vec::new());
        q.gaql = Some("SELECT campaign.id FROM campaign".into());
        assert_eq!(
            build(&q, w).unwrap(),
            format!("SELECT campaign.id FROM campaign WHERE {dates}")
        );
    }

    #[test]
    fn filters_become_gaql_conditions_with_checked_operators() {
        let c = |f: &str, op: &str, v: serde_json::Value| condition(&filter(f, op, v));
        assert_eq!(
            c("campaign.name", "CONTAIN", "50%_[x]".into()).unwrap(),
            "campaign.name LIKE '%50[%][_][[]x[]]%'"
        );
        assert_eq!(
            c("campaign.name", "NOT_CONTAIN", "it's".into()).unwrap(),
            "campaign.name NOT LIKE '%it\\'s%'"
        );
        assert_eq!(
            c("campaign.status", "not  in", serde_json::json!(["REMOVED", "PAUSED"])).unwrap(),
            "campaign.status NOT IN ('REMOVED', 'PAUSED')"
        );
        assert_eq!(
            c("metrics.clicks", ">=", serde_json::json!(10)).unwrap(),
            "metrics.clicks >= 10"
        );
        assert_eq!(
            c("campaign.name", "REGEXP_MATCH", "^Brand".into()).unwrap(),
            "campaign.name REGEXP_MATCH '^Brand'"
        );
        assert!(c("campaign.name", "SOUNDS_LIKE", "x".into())
            .unwrap_err()
            .contains("unknown operator"));
        assert!(c("campaign.status", "IN", serde_json::json!([]))
            .unwrap_err()
            .contains("non-empty list"));
        assert!(c("campaign.status", "IN", "ENABLED".into()).is_err());
        assert!(c("campaign.name", "LIKE", serde_json::json!(3)).is_err());
        assert!(c("campaign.name", "=", serde_json::json!(true)).is_err());
        assert!(c("campaignName", "=", "x".into())
            .unwrap_err()
            .contains("not a GAQL field"));
        assert!(c("campaign.name; DROP", "=", "x".into()).is_err());
        assert!(c("segments.date", "=", "2026-01-01".into())
            .unwrap_err()
            .contains("date_range"));
        assert!(c("metrics.cost", ">", serde_json::json!(1))
            .unwrap_err()
            .contains("cost_micros"));
    }

    #[test]
    fn select_list_reads_raw_gaql() {
        assert_eq!(
            select_list("SELECT campaign.id, metrics.clicks FROM campaign").unwrap(),
            ["campaign.id", "metrics.clicks"]
        );
        assert!(select_list("campaign.id FROM campaign").is_err());
        assert!(select_list("SELECT campaign.id, , x FROM campaign").is_err());
    }
}
