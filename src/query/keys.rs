//! Checks of the keys every query has, whatever platform it reads: the connection, the
//! date range, the time increment, who is notified and the schedule; and the shape all
//! list keys share.

use std::collections::HashSet;
use std::ops::Range;

use chrono::NaiveDate;
use toml::Spanned;

use super::diagnostic::Checker;
use super::raw::{RawDateRange, RawSchedule};
use super::schedule::{self as scheduler, Schedule};
use super::suggest::unknown_name;
use super::{DateRange, TimeIncrement};
use crate::config::ValidationContext;
use crate::platform::Provider;
use crate::rows::DateWindow;

/// The query's connection: its provider, or a diagnostic listing the known ids.
pub(super) fn check_connection(
    c: &mut Checker<'_>,
    conn: &Spanned<String>,
    ctx: &ValidationContext,
) -> Option<Provider> {
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
            let otherwise = format!("; known connections: {}", known.join(", "));
            unknown_name("connection", conn.get_ref(), "", &known, &otherwise)
        };
        c.at(&conn.span(), message);
    }
    provider
}

/// The shared shape of the list keys: reports an empty list (when `if_empty` says how to
/// fill it) and repeated entries, runs `check` on every first occurrence, and returns the
/// plain strings when none of that found anything.
pub(super) fn check_list(
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

pub(super) fn check_date_range(c: &mut Checker<'_>, range: Spanned<RawDateRange>) -> Option<DateRange> {
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

/// `time_increment`: `daily` (the default) or `total`.
pub(super) fn check_time_increment(c: &mut Checker<'_>, inc: Option<Spanned<String>>) -> Option<TimeIncrement> {
    let Some(inc) = inc else {
        return Some(TimeIncrement::Daily);
    };
    match inc.get_ref().as_str() {
        "daily" => Some(TimeIncrement::Daily),
        "total" => Some(TimeIncrement::Total),
        other => {
            c.at(
                &inc.span(),
                format!("unknown time_increment {other:?}, expected daily or total"),
            );
            None
        }
    }
}

pub(super) fn check_notify(c: &mut Checker<'_>, notify: Spanned<Vec<Spanned<String>>>) -> Option<Vec<String>> {
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
pub(super) fn is_email(s: &str) -> bool {
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

pub(super) fn check_schedule(c: &mut Checker<'_>, schedule: Spanned<RawSchedule>) -> Option<Schedule> {
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
    if parsed.as_ref().is_some_and(Schedule::never_fires) {
        c.warn(
            &cron.span(),
            format!(
                "cron {:?} never fires (no date matches it), so this query never runs on its own",
                cron.get_ref()
            ),
        );
    }
    tz.and(parsed)
}
