//! Cron expressions in a time zone. (Being written.)

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// A parsed cron expression bound to an IANA time zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    expr: String,
    tz: Tz,
}

/// Why a schedule could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The cron expression is malformed.
    #[error("bad cron expression {expr:?}: {reason}")]
    Cron {
        /// The expression as written.
        expr: String,
        /// What is wrong.
        reason: String,
    },
    /// The time zone is not an IANA name.
    #[error("unknown time zone {0:?} (use an IANA name such as \"Europe/Berlin\")")]
    TimeZone(String),
}

impl Schedule {
    /// Parses a 5-field (minute-first) or 6-field (seconds-first) expression in zone `tz`.
    pub fn parse(expr: &str, tz: &str) -> Result<Self, ScheduleError> {
        let tz: Tz = tz.parse().map_err(|_| ScheduleError::TimeZone(tz.to_string()))?;
        Ok(Self {
            expr: expr.to_string(),
            tz,
        })
    }

    /// The first fire strictly after `t`.
    pub fn next_after(&self, _t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        unimplemented!()
    }

    /// The schedule's time zone.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The expression as written.
    pub fn expr(&self) -> &str {
        &self.expr
    }
}
