//! Scheduling: when each query fires, and the loop that starts its runs.
//!
//! A query's parsed [`Schedule`](crate::query::Schedule) gives its fire instants;
//! [`Scheduler`] waits on the injectable clock for the next fire, starts runs within the
//! global and per-connection limits, and on start-up runs the latest fire missed while the
//! daemon was down.

mod claims;
mod daemon;
mod heartbeat;

pub(crate) use self::claims::FireClaims;
pub(crate) use self::daemon::{Lineup, Scheduler};
pub(crate) use self::heartbeat::Heartbeat;
