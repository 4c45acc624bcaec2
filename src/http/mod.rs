//! The one API client every platform call and every sink write goes through: a request
//! with the connection's token, retried with bounded backoff when the failure is transient,
//! slowed down when the platform says so, retried once with a refreshed token on a 401.
//!
//! It sits at crate level, below sources and sinks, because both call APIs the same way;
//! a sink importing a source's HTTP code would tie outputs to inputs. Each caller adds only
//! its error table ([`Failure`]) and decoding; Google's APIs share one
//! ([`google_status`]).

mod client;
pub(crate) mod google_status;
mod request_slots;
mod slowdowns;

pub(crate) use self::client::{ApiClient, Failure, FailureClass, FetchError};

#[cfg(test)]
pub(crate) use self::client::testing;
