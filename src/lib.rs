//! adsync: marketing reports on a schedule that survive dying OAuth tokens.

pub mod query;
pub mod rows;
pub mod scheduler;
pub mod sources;
