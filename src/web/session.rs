//! Admin access off loopback: the admin token as a bearer header, or a sign-in session.
//!
//! The sign-in cookie holds a random session id, never the token; the server keeps only the
//! id's SHA-256 with an expiry, and forgets it on sign-out. Wrong sign-ins are counted per
//! client address and throttled, so the token cannot be guessed at network speed. Secrets
//! are compared as SHA-256 digests, so neither content nor length leaks through timing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Cookie that carries the session id after a sign-in.
pub(crate) const COOKIE: &str = "adsync_session";

/// How long a sign-in lasts.
pub(crate) const SESSION_TTL: Duration = Duration::hours(12);

/// Wrong sign-ins one client address may make per [`THROTTLE_WINDOW`].
pub(crate) const MAX_FAILED_LOGINS: usize = 10;

/// The window wrong sign-ins are counted over.
pub(crate) const THROTTLE_WINDOW: Duration = Duration::minutes(1);

/// Live sessions (by the SHA-256 of their id) and recent wrong sign-ins (by client address).
#[derive(Default)]
pub(crate) struct Sessions {
    live: Mutex<HashMap<[u8; 32], DateTime<Utc>>>,
    failures: Mutex<HashMap<IpAddr, Vec<DateTime<Utc>>>>,
}

impl Sessions {
    /// A new session valid from `now` for [`SESSION_TTL`]; returns its id (for the cookie).
    pub(crate) fn open(&self, now: DateTime<Utc>) -> String {
        let mut id = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut id);
        let id = URL_SAFE_NO_PAD.encode(id);
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.retain(|_, expires| *expires > now);
        live.insert(digest(&id), now + SESSION_TTL);
        id
    }

    /// Whether `id` names a live session at `now`.
    pub(crate) fn is_live(&self, id: &str, now: DateTime<Utc>) -> bool {
        let live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.get(&digest(id)).is_some_and(|expires| *expires > now)
    }

    /// Ends the session `id` (sign-out).
    pub(crate) fn close(&self, id: &str) {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.remove(&digest(id));
    }

    /// Whether `client` has used up its wrong sign-ins for now; when so, how long until it may
    /// try again.
    pub(crate) fn throttled(&self, client: IpAddr, now: DateTime<Utc>) -> Option<Duration> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Forget old attempts of every address, so the map stays as small as the last minute.
        failures.retain(|_, times| {
            times.retain(|t| now - *t < THROTTLE_WINDOW);
            !times.is_empty()
        });
        let times = failures.get(&client)?;
        (times.len() >= MAX_FAILED_LOGINS).then(|| THROTTLE_WINDOW - (now - times[0]))
    }

    /// Counts a wrong sign-in of `client`.
    pub(crate) fn failed(&self, client: IpAddr, now: DateTime<Utc>) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.entry(client).or_default().push(now);
    }
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Whether `given` is `expected`, compared as digests in constant time: the time depends on
/// neither where they differ nor their lengths.
pub(crate) fn secret_matches(given: &str, expected: &str) -> bool {
    let (a, b) = (digest(given), digest(expected));
    a.iter().zip(&b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token of an `Authorization: Bearer …` header; the scheme is case-insensitive
/// (RFC 9110 §11.1).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The session id of the sign-in cookie, if the request has one.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("test instant")
    }

    #[test]
    fn a_session_is_live_until_it_expires_or_is_closed() {
        let sessions = Sessions::default();
        let now = at("2026-05-04T06:00:00Z");
        let id = sessions.open(now);
        assert!(sessions.is_live(&id, now + Duration::hours(11)));
        assert!(!sessions.is_live(&id, now + SESSION_TTL));
        assert!(!sessions.is_live("guess", now));
        sessions.close(&id);
        assert!(!sessions.is_live(&id, now));
    }

    #[test]
    fn the_eleventh_wrong_sign_in_in_a_minute_is_throttled_and_a_minute_later_is_not() {
        let sessions = Sessions::default();
        let client: IpAddr = "192.0.2.7".parse().expect("an address");
        let other: IpAddr = "192.0.2.8".parse().expect("an address");
        let now = at("2026-05-04T06:00:00Z");
        for i in 0..MAX_FAILED_LOGINS {
            assert_eq!(sessions.throttled(client, now), None, "attempt {}", i + 1);
            sessions.failed(client, now);
        }
        assert_eq!(sessions.throttled(client, now), Some(THROTTLE_WINDOW));
        assert_eq!(sessions.throttled(other, now), None);
        assert_eq!(sessions.throttled(client, now + THROTTLE_WINDOW), None);
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_secrets_compare_by_content() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "bEaReR s3cret".parse().expect("a header"));
        assert_eq!(bearer(&headers), Some("s3cret"));
        headers.insert(header::AUTHORIZATION, "Basic s3cret".parse().expect("a header"));
        assert_eq!(bearer(&headers), None);
        assert!(secret_matches("s3cret", "s3cret"));
        assert!(!secret_matches("s3cre", "s3cret"));
        assert!(!secret_matches("", "s3cret"));
    }
}
