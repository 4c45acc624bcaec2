//! Cron expressions evaluated on the wall clock of an IANA time zone.
//!
//! Analysts write `0 6 * * *` meaning "06:00 where I sit", summer and winter alike, so the
//! expression is matched against *local* times and only then turned into instants. Two
//! local times need a decision:
//!
//! - **Skipped** by a spring-forward (02:30 on 2026-03-29 in Berlin): the fire moves forward
//!   by the length of the gap (to 03:30 local), so a daily job still runs that day, once.
//! - **Repeated** by a fall-back (02:30 twice on 2026-10-25 in Berlin): only the earlier
//!   instant fires. A daily report must not be written twice.
//!
//! Expressions use crontab's conventions (5 fields, day of week 0/7 = Sunday, and day of
//! month OR day of week when both are restricted); the `cron` crate, which does the
//! matching, numbers days 1 = Sunday and ANDs the day fields, so 5-field expressions are
//! translated before it sees them.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// A parsed cron expression bound to an IANA time zone.
///
/// Equality compares the expression as written and the zone.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    expr: String,
    tz: Tz,
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr && self.tz == other.tz
    }
}

impl Eq for Schedule {}

/// Why a schedule could not be parsed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ScheduleError {
    /// The cron expression is malformed.
    #[error("bad cron expression {expr:?}: {reason}")]
    Cron {
        /// The expression as written.
        expr: String,
        /// What is wrong.
        reason: String,
    },
    /// The time zone is not an IANA name.
    #[error("{}", time_zone_message(.0))]
    TimeZone(String),
}

/// The message for an unknown zone, with the IANA name it most likely meant.
fn time_zone_message(name: &str) -> String {
    match suggest_time_zone(name) {
        Some(suggestion) => {
            format!("unknown time zone {name:?}: did you mean {suggestion:?}? (time zones are IANA names)")
        }
        None => format!("unknown time zone {name:?} (use an IANA name such as \"Europe/Berlin\")"),
    }
}

/// The IANA name closest to `name`: a different capitalisation (`europe/berlin`), the city
/// alone (`Berlin`, `new york`), or, failing that, nothing.
fn suggest_time_zone(name: &str) -> Option<&'static str> {
    let wanted = name.trim().replace(' ', "_").to_ascii_lowercase();
    if wanted.is_empty() {
        return None;
    }
    let names = || chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
    names().find(|n| n.to_ascii_lowercase() == wanted).or_else(|| {
        names()
            .find(|n| n.rsplit('/').next().map(str::to_ascii_lowercase).as_deref() == Some(&wanted) && n.contains('/'))
    })
}

/// Parses an IANA zone name such as `Europe/Berlin`.
pub(crate) fn parse_time_zone(name: &str) -> Result<Tz, ScheduleError> {
    name.parse().map_err(|_| ScheduleError::TimeZone(name.to_string()))
}

impl Schedule {
    /// Parses a 5-field (minute-first, as crontab) or 6-field (seconds-first) expression in
    /// zone `tz`. `@hourly`, `@daily`, `@weekly`, `@monthly` and `@yearly` are accepted too.
    ///
    /// 5-field day-of-week numbers are crontab's (0 or 7 = Sunday, 1 = Monday). A 6-field
    /// expression is passed to the `cron` crate as written, so its day numbers are the
    /// crate's (1 = Sunday .. 7 = Saturday); names (`MON-FRI`) mean the same in both.
    #[cfg(test)]
    pub(crate) fn parse(expr: &str, tz: &str) -> Result<Self, ScheduleError> {
        let tz = parse_time_zone(tz)?;
        Self::with_tz(expr, tz)
    }

    /// Parses `expr` for an already parsed zone; lets a caller report a bad zone and a bad
    /// expression separately.
    pub(crate) fn with_tz(expr: &str, tz: Tz) -> Result<Self, ScheduleError> {
        matchers(expr).map_err(|reason| ScheduleError::Cron {
            expr: expr.to_string(),
            reason,
        })?;
        Ok(Self {
            expr: expr.to_string(),
            tz,
        })
    }

    /// The first fire strictly after `t`; `None` when the expression never fires again
    /// (e.g. `0 0 30 2 *`, or past the year 2100 where the `cron` crate stops).
    ///
    /// The expression is parsed again here rather than kept parsed: a parsed `cron::Schedule`
    /// holds every allowed value of every field (about 8 KB), which for ten thousand queries
    /// was most of the daemon's memory, while parsing costs microseconds once per fire.
    pub(crate) fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // `with_tz` checked the expression, so this parse cannot fail.
        let matchers = matchers(&self.expr).unwrap_or_default();
        matchers.iter().filter_map(|m| next_fire(m, self.tz, t)).min()
    }

    /// Whether no date ever matches (`0 0 30 2 *`): asked from the Unix epoch, since an
    /// expression without a year that fires at all fires within a few years of any date.
    pub(crate) fn never_fires(&self) -> bool {
        self.next_after(DateTime::UNIX_EPOCH).is_none()
    }

    /// Every fire in `(after, until]`, in order: the runs missed while the daemon was down.
    pub(crate) fn fires_between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> impl Iterator<Item = DateTime<Utc>> {
        let schedule = self.clone();
        std::iter::successors(self.next_after(after), move |prev| schedule.next_after(*prev))
            .take_while(move |fire| *fire <= until)
    }

    /// The schedule's time zone.
    pub(crate) fn tz(&self) -> Tz {
        self.tz
    }

    /// The expression as written.
    pub(crate) fn expr(&self) -> &str {
        &self.expr
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.expr, self.tz.name())
    }
}

const FIVE_FIELDS: [&str; 5] = ["minute", "hour", "day-of-month", "month", "day-of-week"];
const SIX_FIELDS: [&str; 6] = ["second", "minute", "hour", "day-of-month", "month", "day-of-week"];

/// Turns an expression as written into the `cron` crate's 6-field schedules.
fn matchers(expr: &str) -> Result<Vec<cron::Schedule>, String> {
    let expanded = expand_shorthand(expr.trim())?;
    let written: Vec<&str> = expanded.split_whitespace().collect();
    let (fields, names): (Vec<String>, &[&str]) = match written.len() {
        5 => {
            let dow =
                crontab_dow_to_crate(written[4]).map_err(|why| format!("day-of-week field {:?}: {why}", written[4]))?;
            let mut fields = vec!["0".to_string()];
            fields.extend(written[..4].iter().map(|f| f.to_string()));
            fields.push(dow);
            (fields, &SIX_FIELDS)
        }
        6 => (written.iter().map(|f| f.to_string()).collect(), &SIX_FIELDS),
        0 => {
            return Err(
                "it is empty; write 5 fields (minute hour day-of-month month day-of-week), e.g. \"0 6 * * *\"".into(),
            )
        }
        n => {
            return Err(format!(
                "expected 5 fields ({}) or 6 (second first), found {n}",
                FIVE_FIELDS.join(" ")
            ))
        }
    };

    // Check each field alone so the message names the one at fault; the crate's own error
    // for a whole expression does not say which field it choked on.
    for (i, name) in names.iter().enumerate() {
        let probe: Vec<&str> = (0..6).map(|j| if j == i { fields[j].as_str() } else { "*" }).collect();
        if let Err(e) = probe.join(" ").parse::<cron::Schedule>() {
            let shown = if written.len() == 5 && i > 0 {
                written[i - 1]
            } else {
                fields[i].as_str()
            };
            return Err(format!("{name} field {shown:?}: {}", crate_reason(&e)));
        }
    }

    // crontab(5): when both day fields are restricted, a day matching either one fires.
    // Vixie cron calls a field unrestricted when it starts with `*`.
    let unrestricted = |f: &str| f.starts_with('*') || f == "?";
    let variants: Vec<Vec<&str>> = if unrestricted(&fields[3]) || unrestricted(&fields[5]) {
        vec![fields.iter().map(String::as_str).collect()]
    } else {
        let mut by_dom: Vec<&str> = fields.iter().map(String::as_str).collect();
        by_dom[5] = "*";
        let mut by_dow: Vec<&str> = fields.iter().map(String::as_str).collect();
        by_dow[3] = "*";
        vec![by_dom, by_dow]
    };
    variants
        .into_iter()
        .map(|v| v.join(" ").parse::<cron::Schedule>().map_err(|e| crate_reason(&e)))
        .collect()
}

/// The `cron` crate's errors echo the expression and a caret before the reason, and say
/// "less than 59" where 59 is allowed; keep the reason, worded as bounds.
fn crate_reason(e: &cron::error::Error) -> String {
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let after_caret = lines.iter().position(|l| *l == "^").map_or(0, |i| i + 1);
    let reason = lines[after_caret..]
        .iter()
        .filter(|l| !l.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("; ");
    let reason = match reason.find(" ('") {
        Some(i) => reason[..i].to_string(), // "('61' specified.)": the caller shows the field
        None => reason,
    };
    let reason = reason
        .replace("must be less than", "must be at most")
        .replace("must be greater than or equal to", "must be at least");
    let reason = reason.trim_end_matches('.').trim();
    if reason.is_empty() {
        "not a valid cron field".to_string()
    } else {
        reason.to_string()
    }
}

/// Replaces the `@` shorthands by their 5-field crontab meaning.
fn expand_shorthand(expr: &str) -> Result<String, String> {
    if !expr.starts_with('@') {
        return Ok(expr.to_string());
    }
    let five = match expr.to_ascii_lowercase().as_str() {
        "@hourly" => "0 * * * *",
        "@daily" | "@midnight" => "0 0 * * *",
        "@weekly" => "0 0 * * 0",
        "@monthly" => "0 0 1 * *",
        "@yearly" | "@annually" => "0 0 1 1 *",
        _ => {
            return Err(format!(
                "unknown shorthand {expr:?}; use @hourly, @daily, @weekly, @monthly or @yearly"
            ))
        }
    };
    Ok(five.to_string())
}

const DAY_NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Translates a crontab day-of-week field (0 or 7 = Sunday, 1 = Monday, names, lists, ranges
/// and steps) into the `cron` crate's numbering (1 = Sunday .. 7 = Saturday).
fn crontab_dow_to_crate(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" {
        return Ok(field.to_string());
    }
    let mut days = [false; 7];
    for item in field.split(',') {
        if item.is_empty() {
            return Err("empty item in list".into());
        }
        let (base, step) = match item.split_once('/') {
            Some((base, step)) => {
                let step: usize = step.parse().map_err(|_| format!("step {step:?} is not a number"))?;
                if step == 0 {
                    return Err("step cannot be zero".into());
                }
                (base, step)
            }
            None => (item, 1),
        };
        let (first, last) = if base == "*" {
            (0, 6)
        } else if let Some((a, b)) = base.split_once('-') {
            let (a, mut b) = (day(a)?, day(b)?);
            if b == 0 && a > 0 {
                b = 7; // `FRI-SUN`: Sunday as the end of the week
            }
            if a > b {
                return Err(format!("range {base:?} runs backwards"));
            }
            (a, b)
        } else {
            let a = day(base)?;
            if item.contains('/') {
                (a, 6)
            } else {
                (a, a)
            }
        };
        for d in (first..=last).step_by(step) {
            days[d % 7] = true;
        }
    }
    let list: Vec<String> = (0..7).filter(|d| days[*d]).map(|d| (d + 1).to_string()).collect();
    Ok(list.join(","))
}

/// A crontab day: 0..=7 (0 and 7 are Sunday) or a name (`mon`, `Monday`).
fn day(s: &str) -> Result<usize, String> {
    if let Ok(n) = s.parse::<usize>() {
        return if n <= 7 {
            Ok(n)
        } else {
            Err(format!(
                "day {n} is out of range: use 0-7 (0 and 7 are Sunday) or MON..SUN"
            ))
        };
    }
    let lower = s.to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|name| lower.len() >= 3 && (lower == *name || full_day_name(name) == lower))
        .ok_or_else(|| format!("{s:?} is not a day: use 0-7 (0 and 7 are Sunday) or MON..SUN"))
}

fn full_day_name(short: &str) -> &'static str {
    match short {
        "sun" => "sunday",
        "mon" => "monday",
        "tue" => "tuesday",
        "wed" => "wednesday",
        "thu" => "thursday",
        "fri" => "friday",
        _ => "saturday",
    }
}

/// The first fire of `matcher` strictly after `t`, evaluated on `tz`'s wall clock.
fn next_fire(matcher: &cron::Schedule, tz: Tz, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // Local times skipped by a recent spring-forward fire *after* the gap, so look back far
    // enough to see them; otherwise start at t's own wall-clock time.
    let lookback = recent_gap(tz, t) * 2 + Duration::seconds(1);
    let start = wall_clock(t, tz)?.checked_sub_signed(lookback)?;
    // The crate stops at 2100 and overflows near chrono's limits.
    if start.year() > 2100 {
        return None;
    }
    // Candidates come in wall-clock order, but a skipped time fires later than the wall-clock
    // times right after the gap, so keep the earliest instant seen. Each candidate fires at
    // a wall-clock time (its "key") no earlier than itself, and instants follow keys in
    // order, so once a candidate is past the best key nothing later can beat it.
    let mut best: Option<(DateTime<Utc>, NaiveDateTime)> = None;
    for candidate in matcher.after(&start.and_utc()) {
        let local = candidate.naive_utc();
        if best.is_some_and(|(_, key)| local > key) {
            break;
        }
        let Some((instant, key)) = resolve(tz, local) else {
            continue;
        };
        let earlier_than_best = match best {
            None => true,
            Some((b, _)) => instant < b,
        };
        if instant > t && earlier_than_best {
            best = Some((instant, key));
        }
    }
    best.map(|(instant, _)| instant)
}

/// `t` on `tz`'s wall clock; `None` at the edges of chrono's range, where
/// `with_timezone(..).naive_local()` would panic.
pub fn wall_clock(t: DateTime<Utc>, tz: Tz) -> Option<NaiveDateTime> {
    let offset = tz.offset_from_utc_datetime(&t.naive_utc()).fix();
    t.naive_utc()
        .checked_add_signed(Duration::seconds(i64::from(offset.local_minus_utc())))
}

/// How far the clock jumped forward in the last 26 hours (no gap is longer than a day).
fn recent_gap(tz: Tz, t: DateTime<Utc>) -> Duration {
    let offset_at = |at: DateTime<Utc>| tz.offset_from_utc_datetime(&at.naive_utc()).fix().local_minus_utc();
    let Some(before) = t.checked_sub_signed(Duration::hours(26)) else {
        return Duration::zero();
    };
    Duration::seconds(i64::from((offset_at(t) - offset_at(before)).max(0)))
}

/// Maps a wall-clock time to the instant it fires, and the wall-clock time of that instant.
fn resolve(tz: Tz, local: NaiveDateTime) -> Option<(DateTime<Utc>, NaiveDateTime)> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => Some((at.with_timezone(&Utc), local)),
        LocalResult::Ambiguous(first, second) => Some((first.min(second).with_timezone(&Utc), local)),
        LocalResult::None => {
            // In a gap: read the time with the offset in force before the gap, which lands
            // it the gap's length later on the new clock (02:30 -> 03:30).
            let before = (1..=26).find_map(|hours| {
                let earlier = local.checked_sub_signed(Duration::hours(hours))?;
                tz.from_local_datetime(&earlier).latest()
            })?;
            let offset = Duration::seconds(i64::from(before.offset().fix().local_minus_utc()));
            let instant = local.checked_sub_signed(offset)?.and_utc();
            Some((instant, wall_clock(instant, tz)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("test instant")
    }

    fn fires(expr: &str, tz: &str, after: &str, n: usize) -> Vec<DateTime<Utc>> {
        let schedule = Schedule::parse(expr, tz).expect("valid schedule");
        let mut out = Vec::new();
        let mut t = utc(after);
        for _ in 0..n {
            t = schedule.next_after(t).expect("a next fire");
            out.push(t);
        }
        out
    }

    fn all(list: &[&str]) -> Vec<DateTime<Utc>> {
        list.iter().map(|s| utc(s)).collect()
    }

    fn reason(expr: &str) -> String {
        match Schedule::parse(expr, "UTC") {
            Err(ScheduleError::Cron { reason, .. }) => reason,
            other => panic!("expected a cron error for {expr:?}, got {other:?}"),
        }
    }

    #[test]
    fn daily_job_fires_at_local_time_in_winter_and_summer() {
        let got = fires("0 6 * * *", "Europe/Berlin", "2026-01-10T12:00:00Z", 1);
        assert_eq!(got, all(&["2026-01-11T05:00:00Z"]));
        let got = fires("0 6 * * *", "Europe/Berlin", "2026-07-10T12:00:00Z", 1);
        assert_eq!(got, all(&["2026-07-11T04:00:00Z"]));
    }

    #[test]
    fn skipped_0230_runs_once_an_hour_later_on_spring_forward_in_berlin() {
        let got = fires("30 2 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z", 3);
        assert_eq!(
            got,
            all(&[
                "2026-03-28T01:30:00Z", // 02:30 CET
                "2026-03-29T01:30:00Z", // 02:30 does not exist: 03:30 CEST
                "2026-03-30T00:30:00Z", // 02:30 CEST
            ])
        );
    }

    #[test]
    fn skipped_0230_still_fires_when_asked_from_just_after_the_gap() {
        // 03:15 CEST, after the jump; the shifted fire at 03:30 CEST is still ahead.
        let got = fires("30 2 * * *", "Europe/Berlin", "2026-03-29T01:15:00Z", 1);
        assert_eq!(got, all(&["2026-03-29T01:30:00Z"]));
    }

    #[test]
    fn skipped_0230_runs_once_an_hour_later_on_spring_forward_in_new_york() {
        let got = fires("30 2 * * *", "America/New_York", "2026-03-07T00:00:00Z", 3);
        assert_eq!(
            got,
            all(&[
                "2026-03-07T07:30:00Z", // 02:30 EST
                "2026-03-08T07:30:00Z", // 03:30 EDT
                "2026-03-09T06:30:00Z", // 02:30 EDT
            ])
        );
    }

    #[test]
    fn repeated_0130_runs_once_on_fall_back_in_new_york() {
        let got = fires("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 2);
        assert_eq!(
            got,
            all(&[
                "2026-11-01T05:30:00Z", // 01:30 EDT, the first of two
                "2026-11-02T06:30:00Z", // 01:30 EST next day; not 2026-11-01T06:30Z
            ])
        );
    }

    #[test]
    fn fall_back_in_berlin_repeats_0230_not_0130_and_each_runs_once() {
        let got = fires("30 1 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", 2);
        assert_eq!(got, all(&["2026-10-24T23:30:00Z", "2026-10-26T00:30:00Z"]));
        let got = fires("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", 2);
        assert_eq!(got, all(&["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]));
    }

    #[test]
    fn second_pass_of_a_repeated_hour_is_not_a_fire() {
        // 02:10 CET, second pass: 02:30 CEST already fired in the first pass.
        let got = fires("30 2 * * *", "Europe/Berlin", "2026-10-25T01:10:00Z", 1);
        assert_eq!(got, all(&["2026-10-26T01:30:00Z"]));
    }

    #[test]
    fn hourly_job_fires_every_real_hour_across_spring_forward() {
        let got = fires("0 * * * *", "Europe/Berlin", "2026-03-28T23:30:00Z", 3);
        assert_eq!(
            got,
            all(&[
                "2026-03-29T00:00:00Z", // 01:00 CET
                "2026-03-29T01:00:00Z", // 02:00 skipped -> 03:00 CEST, once
                "2026-03-29T02:00:00Z", // 04:00 CEST
            ])
        );
        let got = fires("0 * * * *", "America/New_York", "2026-03-08T05:30:00Z", 3);
        assert_eq!(
            got,
            all(&["2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z",])
        );
    }

    #[test]
    fn hourly_job_fires_a_repeated_hour_once_on_fall_back() {
        let got = fires("0 * * * *", "Europe/Berlin", "2026-10-24T22:30:00Z", 3);
        assert_eq!(
            got,
            all(&[
                "2026-10-24T23:00:00Z", // 01:00 CEST
                "2026-10-25T00:00:00Z", // 02:00 CEST; 02:00 CET (01:00Z) is the repeat
                "2026-10-25T02:00:00Z", // 03:00 CET
            ])
        );
        let got = fires("0 * * * *", "America/New_York", "2026-11-01T04:30:00Z", 3);
        assert_eq!(
            got,
            all(&[
                "2026-11-01T05:00:00Z", // 01:00 EDT
                "2026-11-01T07:00:00Z", // 02:00 EST
                "2026-11-01T08:00:00Z",
            ])
        );
    }

    #[test]
    fn six_field_expression_has_seconds_first() {
        let got = fires("15 30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 2);
        assert_eq!(got, all(&["2026-03-29T01:30:15Z", "2026-03-30T00:30:15Z"]));
        let got = fires("0 30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 2);
        assert_eq!(got, all(&["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]));
    }

    #[test]
    fn weekday_numbers_follow_crontab_not_the_cron_crate() {
        // Friday 2026-03-27 12:00 UTC: weekdays skip Saturday and Sunday.
        let got = fires("0 6 * * 1-5", "UTC", "2026-03-27T12:00:00Z", 2);
        assert_eq!(got, all(&["2026-03-30T06:00:00Z", "2026-03-31T06:00:00Z"]));
        let by_name = fires("0 6 * * MON-FRI", "UTC", "2026-03-27T12:00:00Z", 2);
        assert_eq!(by_name, got);
        let weekend = fires("0 6 * * 0,6", "UTC", "2026-03-27T12:00:00Z", 3);
        assert_eq!(
            weekend,
            all(&["2026-03-28T06:00:00Z", "2026-03-29T06:00:00Z", "2026-04-04T06:00:00Z"])
        );
        let sunday_as_seven = fires("0 6 * * 7", "UTC", "2026-03-27T12:00:00Z", 1);
        assert_eq!(sunday_as_seven, all(&["2026-03-29T06:00:00Z"]));
        let fri_to_sun = fires("0 6 * * 5-7", "UTC", "2026-03-26T12:00:00Z", 4);
        assert_eq!(
            fri_to_sun,
            all(&[
                "2026-03-27T06:00:00Z",
                "2026-03-28T06:00:00Z",
                "2026-03-29T06:00:00Z",
                "2026-04-03T06:00:00Z"
            ])
        );
    }

    #[test]
    fn day_of_week_steps_and_translation() {
        assert_eq!(crontab_dow_to_crate("1-5").unwrap(), "2,3,4,5,6");
        assert_eq!(crontab_dow_to_crate("0,6").unwrap(), "1,7");
        assert_eq!(crontab_dow_to_crate("*/2").unwrap(), "1,3,5,7");
        assert_eq!(crontab_dow_to_crate("1-5/2").unwrap(), "2,4,6");
        assert_eq!(crontab_dow_to_crate("fri-sun").unwrap(), "1,6,7");
        assert_eq!(crontab_dow_to_crate("Monday").unwrap(), "2");
    }

    #[test]
    fn restricted_day_of_month_and_day_of_week_fire_on_either() {
        // Every Friday and every 13th, as crontab does.
        let got = fires("0 6 13 * 5", "UTC", "2026-03-01T00:00:00Z", 4);
        assert_eq!(
            got,
            all(&[
                "2026-03-06T06:00:00Z",
                "2026-03-13T06:00:00Z",
                "2026-03-20T06:00:00Z",
                "2026-03-27T06:00:00Z"
            ])
        );
        let got = fires("0 6 13 * 1", "UTC", "2026-03-10T00:00:00Z", 2);
        assert_eq!(got, all(&["2026-03-13T06:00:00Z", "2026-03-16T06:00:00Z"]));
    }

    #[test]
    fn fires_between_lists_missed_fires_after_three_days_down() {
        let schedule = Schedule::parse("0 6 * * *", "Europe/Berlin").unwrap();
        let missed: Vec<_> = schedule
            .fires_between(utc("2026-03-27T04:00:00Z"), utc("2026-03-30T04:00:00Z"))
            .collect();
        assert_eq!(
            missed,
            all(&[
                "2026-03-27T05:00:00Z",
                "2026-03-28T05:00:00Z",
                "2026-03-29T04:00:00Z", // summer time from here on
                "2026-03-30T04:00:00Z", // `until` is inclusive
            ])
        );
        let none: Vec<_> = schedule
            .fires_between(utc("2026-03-27T05:00:00Z"), utc("2026-03-27T06:00:00Z"))
            .collect();
        assert!(none.is_empty());
    }

    #[test]
    fn next_after_is_strictly_after() {
        let got = fires("0 6 * * *", "UTC", "2026-03-27T06:00:00Z", 1);
        assert_eq!(got, all(&["2026-03-28T06:00:00Z"]));
    }

    #[test]
    fn shorthands_and_impossible_dates() {
        let got = fires("@weekly", "UTC", "2026-03-27T00:00:00Z", 1);
        assert_eq!(got, all(&["2026-03-29T00:00:00Z"]));
        let never = Schedule::parse("0 0 30 2 *", "UTC").unwrap();
        assert_eq!(never.next_after(utc("2026-01-01T00:00:00Z")), None);
        let hourly = Schedule::parse("0 * * * *", "UTC").unwrap();
        for tz in ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/Berlin"] {
            let hourly = Schedule::parse("0 * * * *", tz).unwrap();
            assert_eq!(hourly.next_after(DateTime::<Utc>::MAX_UTC), None);
            assert_eq!(hourly.next_after(DateTime::<Utc>::MIN_UTC), None);
            assert_eq!(
                hourly
                    .fires_between(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)
                    .next(),
                None
            );
        }
        let _ = hourly;
    }

    #[test]
    fn bad_expressions_say_what_is_wrong() {
        assert!(reason("0 6 * *").contains("expected 5 fields"), "{}", reason("0 6 * *"));
        assert!(reason("0 6 * *").contains("found 4"));
        assert!(reason("0 0 6 * * * 2026").contains("found 7"));
        assert!(reason("   ").contains("empty"));
        assert!(
            reason("61 6 * * *").starts_with("minute field \"61\""),
            "{}",
            reason("61 6 * * *")
        );
        assert!(reason("0 24 * * *").starts_with("hour field \"24\""));
        assert!(reason("0 6 * 13 *").starts_with("month field \"13\""));
        assert!(
            reason("0 6 * * 8").starts_with("day-of-week field \"8\""),
            "{}",
            reason("0 6 * * 8")
        );
        assert!(reason("0 6 * * 5-1").contains("backwards"));
        assert!(reason("0 6 * * funday").contains("not a day"));
        assert!(reason("*/0 6 * * *").starts_with("minute field"));
        assert!(reason("@reboot").contains("unknown shorthand"));
        assert!(reason("x 6 * * *").starts_with("minute field \"x\""));
        assert_eq!(reason("61 6 * * *"), "minute field \"61\": Minutes must be at most 59");
        assert_eq!(
            reason("0 6 0 * *"),
            "day-of-month field \"0\": Days of Month must be at least 1"
        );
        assert_eq!(reason("0 6 * 1- *"), "month field \"1-\": not a valid cron field");
        assert_eq!(reason("*/0 6 * * *"), "minute field \"*/0\": range step cannot be zero");
        let shown = Schedule::parse("0 6 * *", "UTC").unwrap_err().to_string();
        assert!(shown.starts_with("bad cron expression \"0 6 * *\": "), "{shown}");
    }

    #[test]
    fn unknown_time_zone_suggests_the_iana_name() {
        let err = Schedule::parse("0 6 * * *", "Berlin").unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown time zone \"Berlin\": did you mean \"Europe/Berlin\"? (time zones are IANA names)"
        );
        let err = Schedule::parse("0 6 * * *", "new york").unwrap_err().to_string();
        assert!(err.contains("\"America/New_York\""), "{err}");
        let err = Schedule::parse("0 6 * * *", "Mars/Olympus").unwrap_err().to_string();
        assert!(err.contains("use an IANA name such as"), "{err}");
    }

    #[test]
    fn garbage_never_panics() {
        for expr in [
            "",
            "*",
            "* * * * * * * *",
            "-",
            ",,,",
            "1-/",
            "*/99999999999 * * * *",
            "0 6 * * 1,,2",
            "0 6 * * /2",
            "0 6 ? * ?",
            "ä ö ü ß ∞",
            "@",
            "0 0 31 2 *",
        ] {
            if let Ok(s) = Schedule::parse(expr, "UTC") {
                let _ = s.next_after(utc("2026-01-01T00:00:00Z"));
            }
        }
    }
}
