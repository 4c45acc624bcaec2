//! Date windows: which report dates a fire covers.
//!
//! Dates are read on the query's wall clock, not UTC: a Berlin analyst's "yesterday" at
//! 00:30 local is the day before *their* today, even though UTC is still on that day.

use std::fmt;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use chrono_tz::Tz;

use super::wall_clock;
use super::DateRange;
use crate::rows::DateWindow;

/// The largest N accepted in `last_N_days`: ten years, well past what platforms keep.
const MAX_LAST_N_DAYS: u32 = 3650;

/// The string forms, for messages.
const ACCEPTED: &str = "use today, yesterday, last_N_days (N from 1 to 3650), this_month, \
                        last_month, or a table { start = \"YYYY-MM-DD\", end = \"YYYY-MM-DD\" }";

impl DateRange {
    /// The dates a run fired at `fire` covers, computed on `tz`'s calendar.
    ///
    /// `last_N_days` ends the day before the fire day (today's numbers are still moving), as
    /// Graph's `last_7d` does. A `LastNDays(0)` built in code is treated as 1: a window is
    /// never empty. At the very edges of chrono's range, where the zone's date cannot be
    /// represented, the UTC date stands in.
    pub(crate) fn window(&self, fire: DateTime<Utc>, tz: Tz) -> DateWindow {
        let day = wall_clock(fire, tz).map_or(fire.date_naive(), |local| local.date());
        match *self {
            DateRange::Today => DateWindow::new(day, day),
            DateRange::Yesterday => {
                let yesterday = days_before(day, 1);
                DateWindow::new(yesterday, yesterday)
            }
            DateRange::LastNDays(n) => DateWindow::new(days_before(day, u64::from(n.max(1))), days_before(day, 1)),
            DateRange::ThisMonth => DateWindow::new(first_of_month(day), day),
            DateRange::LastMonth => {
                let last = days_before(first_of_month(day), 1);
                DateWindow::new(first_of_month(last), last)
            }
            DateRange::Fixed(window) => window,
        }
    }

    /// Parses the string forms of `date_range`: `today`, `yesterday`, `last_N_days`,
    /// `this_month`, `last_month`. The error says what is accepted.
    pub(crate) fn parse(s: &str) -> Result<DateRange, String> {
        match s {
            "today" => return Ok(DateRange::Today),
            "yesterday" => return Ok(DateRange::Yesterday),
            "this_month" => return Ok(DateRange::ThisMonth),
            "last_month" => return Ok(DateRange::LastMonth),
            _ => {}
        }
        let digits = s
            .strip_prefix("last_")
            .and_then(|rest| rest.strip_suffix("_days").or_else(|| rest.strip_suffix('d')))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        let Some(digits) = digits else {
            return Err(format!("unknown date_range {s:?}: {ACCEPTED}"));
        };
        if !s.ends_with("_days") {
            // Graph's own preset spelling; say the adsync one.
            return Err(format!(
                "unknown date_range {s:?}: did you mean \"last_{digits}_days\"? ({ACCEPTED})"
            ));
        }
        match digits.parse::<u32>() {
            Ok(n) if (1..=MAX_LAST_N_DAYS).contains(&n) => Ok(DateRange::LastNDays(n)),
            _ => Err(format!(
                "date_range {s:?}: N in last_N_days must be from 1 to {MAX_LAST_N_DAYS}"
            )),
        }
    }
}

/// The form a query file uses, e.g. `last_7_days` or `2026-01-01..2026-01-31`.
impl fmt::Display for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateRange::Today => f.write_str("today"),
            DateRange::Yesterday => f.write_str("yesterday"),
            DateRange::LastNDays(n) => write!(f, "last_{n}_days"),
            DateRange::ThisMonth => f.write_str("this_month"),
            DateRange::LastMonth => f.write_str("last_month"),
            DateRange::Fixed(window) => write!(f, "{}..{}", window.start, window.end),
        }
    }
}

/// `day` minus `n` days, clamped at chrono's first date instead of panicking.
fn days_before(day: NaiveDate, n: u64) -> NaiveDate {
    day.checked_sub_days(Days::new(n)).unwrap_or(NaiveDate::MIN)
}

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("test instant")
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("test date")
    }

    fn window(range: DateRange, fire: &str, tz: Tz) -> (NaiveDate, NaiveDate) {
        let w = range.window(utc(fire), tz);
        (w.start, w.end)
    }

    const BERLIN: Tz = chrono_tz::Europe::Berlin;
    const LA: Tz = chrono_tz::America::Los_Angeles;

    #[test]
    fn yesterday_is_read_on_the_query_calendar() {
        // 2026-03-29 06:00 CEST.
        let w = window(DateRange::Yesterday, "2026-03-29T04:00:00Z", BERLIN);
        assert_eq!(w, (d("2026-03-28"), d("2026-03-28")));
    }

    #[test]
    fn late_utc_evening_is_already_tomorrow_in_berlin() {
        // 23:30 UTC on the 14th is 00:30 on the 15th in Berlin.
        let w = window(DateRange::Yesterday, "2026-01-14T23:30:00Z", BERLIN);
        assert_eq!(w, (d("2026-01-14"), d("2026-01-14")));
        let w = window(DateRange::Today, "2026-01-14T23:30:00Z", BERLIN);
        assert_eq!(w, (d("2026-01-15"), d("2026-01-15")));
        let w = window(DateRange::Today, "2026-01-14T23:30:00Z", chrono_tz::UTC);
        assert_eq!(w, (d("2026-01-14"), d("2026-01-14")));
    }

    #[test]
    fn early_utc_morning_is_still_yesterday_in_los_angeles() {
        // 02:00 UTC on 1 March is 18:00 on 28 February in Los Angeles.
        let w = window(DateRange::Today, "2026-03-01T02:00:00Z", LA);
        assert_eq!(w, (d("2026-02-28"), d("2026-02-28")));
        let w = window(DateRange::ThisMonth, "2026-03-01T02:00:00Z", LA);
        assert_eq!(w, (d("2026-02-01"), d("2026-02-28")));
        let w = window(DateRange::LastMonth, "2026-03-01T02:00:00Z", LA);
        assert_eq!(w, (d("2026-01-01"), d("2026-01-31")));
    }

    #[test]
    fn last_n_days_excludes_the_fire_day() {
        let w = window(DateRange::LastNDays(7), "2026-03-10T06:00:00Z", chrono_tz::UTC);
        assert_eq!(w, (d("2026-03-03"), d("2026-03-09")));
        let w = window(DateRange::LastNDays(1), "2026-03-10T06:00:00Z", chrono_tz::UTC);
        assert_eq!(w, (d("2026-03-09"), d("2026-03-09")));
    }

    #[test]
    fn last_n_days_crosses_year_and_leap_day() {
        let w = window(DateRange::LastNDays(7), "2026-01-03T06:00:00Z", chrono_tz::UTC);
        assert_eq!(w, (d("2025-12-27"), d("2026-01-02")));
        let w = window(DateRange::LastNDays(2), "2024-03-01T06:00:00Z", chrono_tz::UTC);
        assert_eq!(w, (d("2024-02-28"), d("2024-02-29")));
        let w = window(DateRange::LastNDays(0), "2024-03-01T06:00:00Z", chrono_tz::UTC);
        assert_eq!(w, (d("2024-02-29"), d("2024-02-29")));
    }

    #[test]
    fn months_at_year_boundaries_and_in_leap_years() {
        let w = window(DateRange::LastMonth, "2026-01-01T06:00:00Z", chrono_tz::UTC);
        assert_eq!(w, (d("2025-12-01"), d("2025-12-31")));
        let w = window(DateRange::LastMonth, "2024-03-15T06:00:00Z", chrono_tz::UTC);
        assert_eq!(w, (d("2024-02-01"), d("2024-02-29")));
        let w = window(DateRange::LastMonth, "2026-03-31T06:00:00Z", chrono_tz::UTC);
        assert_eq!(w, (d("2026-02-01"), d("2026-02-28")));
        let w = window(DateRange::ThisMonth, "2026-01-01T06:00:00Z", chrono_tz::UTC);
        assert_eq!(w, (d("2026-01-01"), d("2026-01-01")));
        let w = window(DateRange::Yesterday, "2026-01-01T06:00:00Z", chrono_tz::UTC);
        assert_eq!(w, (d("2025-12-31"), d("2025-12-31")));
    }

    #[test]
    fn fixed_ignores_the_fire_time() {
        let fixed = DateWindow::new(d("2026-01-01"), d("2026-01-31"));
        let w = DateRange::Fixed(fixed).window(utc("2030-06-01T00:00:00Z"), BERLIN);
        assert_eq!(w, fixed);
    }

    #[test]
    fn extreme_instants_do_not_panic() {
        for range in [
            DateRange::Yesterday,
            DateRange::LastNDays(u32::MAX),
            DateRange::LastMonth,
            DateRange::ThisMonth,
        ] {
            for tz in [
                BERLIN,
                LA,
                chrono_tz::Pacific::Kiritimati,
                chrono_tz::Pacific::Pago_Pago,
            ] {
                let _ = range.window(DateTime::<Utc>::MIN_UTC, tz);
                let _ = range.window(DateTime::<Utc>::MAX_UTC, tz);
            }
        }
    }

    #[test]
    fn parse_accepts_the_string_forms() {
        assert_eq!(DateRange::parse("today"), Ok(DateRange::Today));
        assert_eq!(DateRange::parse("yesterday"), Ok(DateRange::Yesterday));
        assert_eq!(DateRange::parse("last_7_days"), Ok(DateRange::LastNDays(7)));
        assert_eq!(DateRange::parse("last_3650_days"), Ok(DateRange::LastNDays(3650)));
        assert_eq!(DateRange::parse("this_month"), Ok(DateRange::ThisMonth));
        assert_eq!(DateRange::parse("last_month"), Ok(DateRange::LastMonth));
        for range in [DateRange::Today, DateRange::LastNDays(30), DateRange::LastMonth] {
            assert_eq!(DateRange::parse(&range.to_string()), Ok(range));
        }
    }

    #[test]
    fn parse_says_what_is_accepted() {
        let err = DateRange::parse("last_week").unwrap_err();
        assert!(err.starts_with("unknown date_range \"last_week\": use today, yesterday, last_N_days"));
        let err = DateRange::parse("last_0_days").unwrap_err();
        assert_eq!(
            err,
            "date_range \"last_0_days\": N in last_N_days must be from 1 to 3650"
        );
        let err = DateRange::parse("last_3651_days").unwrap_err();
        assert!(err.contains("from 1 to 3650"));
        let err = DateRange::parse("last_99999999999999_days").unwrap_err();
        assert!(err.contains("from 1 to 3650"));
        let err = DateRange::parse("last_7d").unwrap_err();
        assert!(err.contains("did you mean \"last_7_days\"?"), "{err}");
        assert!(DateRange::parse("last__days").is_err());
        assert!(DateRange::parse("last_-1_days").is_err());
        assert!(DateRange::parse("").is_err());
    }
}
