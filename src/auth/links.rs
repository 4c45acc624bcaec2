//! Signed reconnect links: `GET /reconnect/{connection}?expires=…&sig=…`, an HMAC-SHA256 over
//! the connection and the expiry, so a link in an email works without a login and cannot be
//! forged or extended.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::Url;

/// Why a link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The signature does not match: tampered with, or signed under another key.
    #[error("this reconnect link is not valid (its signature does not match)")]
    Forged,
    /// Past its expiry.
    #[error("this reconnect link expired on {0}")]
    Expired(DateTime<Utc>),
}

/// Makes and checks reconnect links.
#[derive(Clone)]
pub struct LinkSigner {
    key: [u8; 32],
    public_url: Url,
    ttl: Duration,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkSigner")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl LinkSigner {
    /// Links under `public_url`, valid for `ttl`, signed with `key`.
    pub fn new(key: [u8; 32], public_url: Url, ttl: Duration) -> Self {
        Self { key, public_url, ttl }
    }

    /// When a link made at `now` stops working.
    pub(crate) fn expires_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_add_signed(self.ttl).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// A fresh link for `connection`, valid from `now` for the configured time.
    pub fn link(&self, connection: &str, now: DateTime<Utc>) -> Url {
        // The config bounds the lifetime to a year; a clock at the end of time still makes
        // a link (that expires then) instead of panicking.
        let expires = self.expires_at(now).timestamp();
        let mut url = self.public_url.clone();
        url.path_segments_mut()
            .expect("the public URL is an http(s) URL")
            .pop_if_empty()
            .extend(["reconnect", connection]);
        url.query_pairs_mut()
            .append_pair("expires", &expires.to_string())
            .append_pair(
                "sig",
                &URL_SAFE_NO_PAD.encode(self.mac(connection, expires).finalize().into_bytes()),
            );
        url
    }

    /// Checks a link's parameters. The signature is checked first (in constant time), so an
    /// expired-looking forged link is reported as forged.
    pub(crate) fn verify(
        &self,
        connection: &str,
        expires: i64,
        sig: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LinkError> {
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| LinkError::Forged)?;
        self.mac(connection, expires)
            .verify_slice(&sig)
            .map_err(|_| LinkError::Forged)?;
        let expires_at = DateTime::from_timestamp(expires, 0).ok_or(LinkError::Forged)?;
        if expires_at <= now {
            return Err(LinkError::Expired(expires_at));
        }
        Ok(())
    }

    fn mac(&self, connection: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(connection.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> LinkSigner {
        LinkSigner::new(
            [7; 32],
            Url::parse("https://adsync.example.com/").unwrap(),
            Duration::days(7),
        )
    }

    fn params(url: &Url) -> (String, i64, String) {
        let get = |k: &str| url.query_pairs().find(|(n, _)| n == k).unwrap().1.into_owned();
        let connection = url.path_segments().unwrap().next_back().unwrap().to_string();
        (connection, get("expires").parse().unwrap(), get("sig"))
    }

    #[test]
    fn a_fresh_link_verifies_until_it_expires() {
        let now = Utc::now();
        let url = signer().link("meta-demo", now);
        assert!(url
            .as_str()
            .starts_with("https://adsync.example.com/reconnect/meta-demo?expires="));
        let (connection, expires, sig) = params(&url);
        assert_eq!(signer().verify(&connection, expires, &sig, now), Ok(()));
        let later = now + Duration::days(8);
        assert!(matches!(
            signer().verify(&connection, expires, &sig, later),
            Err(LinkError::Expired(_))
        ));
    }

    #[test]
    fn changing_anything_breaks_the_signature() {
        let now = Utc::now();
        let (connection, expires, sig) = params(&signer().link("meta-demo", now));
        assert_eq!(
            signer().verify("meta-other", expires, &sig, now),
            Err(LinkError::Forged)
        );
        assert_eq!(
            signer().verify(&connection, expires + 86_400, &sig, now),
            Err(LinkError::Forged)
        );
        let other_key = LinkSigner::new([8; 32], Url::parse("https://x/").unwrap(), Duration::days(7));
        assert_eq!(
            other_key.verify(&connection, expires, &sig, now),
            Err(LinkError::Forged)
        );
        assert_eq!(
            signer().verify(&connection, expires, "not base64!", now),
            Err(LinkError::Forged)
        );
    }
}
