//! Scheduling: when each query fires.

mod cron;

pub use self::cron::{Schedule, ScheduleError};
