//! Scheduling: when each query fires, and the loop that starts its runs.
//!
//! [`Schedule`] turns a cron expression and time zone into fire instants (DST-correct);
//! [`Scheduler`] waits on the injectable clock for the next fire, starts runs within the
//! global and per-connection limits, and on start-up runs the latest fire missed while the
//! daemon was down.

mod cron;
mod daemon;

pub(crate) use self::cron::wall_clock;
pub use self::cron::{parse_time_zone, Schedule, ScheduleError};
pub use self::daemon::{missed_fires, MissedFires, Scheduler};
