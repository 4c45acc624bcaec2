//! A Google service account's key file: its JSON format, the RSA key checked on load, and
//! the signed JWT assertion (RFC 7523) Google's token endpoint expects.
//!
//! Config validation loads the key file to refuse a bad one at start-up, and auth signs with
//! it; it lives here, below both, and imports nothing of the crate. The exchange of an
//! assertion for a token is HTTP and stays in `auth::service_account`.
//!
//! The private key never appears in `Debug` output, logs or errors.

use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{DateTime, Utc};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde::Deserialize;
use serde_json::json;

/// Google accepts assertions valid for at most an hour.
const ASSERTION_LIFETIME_SECS: i64 = 3600;

/// A service account's key file, parsed and its key checked.
#[derive(Clone)]
pub(crate) struct ServiceAccountKey {
    /// `client_email`: the account, the JWT's issuer; share spreadsheets with it.
    pub(crate) client_email: String,
    /// `private_key_id`: sent as the JWT's `kid` so Google picks the right public key.
    pub(crate) private_key_id: String,
    /// `token_uri`: where assertions are exchanged.
    pub(crate) token_uri: String,
    key_pair: Arc<RsaKeyPair>,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct KeyFile {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    client_email: String,
    private_key: String,
    #[serde(default)]
    private_key_id: String,
    #[serde(default = "default_token_uri")]
    token_uri: String,
}

fn default_token_uri() -> String {
    "https://oauth2.googleapis.com/token".into()
}

impl ServiceAccountKey {
    /// Parses a Google key file (`client_email`, `private_key` as PKCS#8 PEM,
    /// `private_key_id`, `token_uri`) and checks the key.
    pub(crate) fn from_json(text: &str) -> Result<Self, String> {
        let file: KeyFile = serde_json::from_str(text).map_err(|e| format!("not a service-account key file: {e}"))?;
        if let Some(kind) = file.kind.as_deref().filter(|kind| *kind != "service_account") {
            return Err(format!("the key file is of type {kind:?}, not \"service_account\""));
        }
        let der = pem_pkcs8(&file.private_key)?;
        let key_pair = RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| format!("private_key of {} is not a usable RSA key: {e}", file.client_email))?;
        Ok(Self {
            client_email: file.client_email,
            private_key_id: file.private_key_id,
            token_uri: file.token_uri,
            key_pair: Arc::new(key_pair),
        })
    }

    /// Reads and parses the key file at `path`.
    pub(crate) fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A signed assertion for `scopes`, addressed to `audience` (the token endpoint), valid
    /// from `now` for an hour.
    pub(crate) fn assertion(&self, scopes: &[String], audience: &str, now: DateTime<Utc>) -> Result<String, String> {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.private_key_id});
        let iat = now.timestamp();
        let claims = json!({
            "iss": self.client_email,
            "scope": scopes.join(" "),
            "aud": audience,
            "iat": iat,
            "exp": iat + ASSERTION_LIFETIME_SECS,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key_pair.public().modulus_len()];
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| format!("signing with the key of {} failed", self.client_email))?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// The DER bytes of a `-----BEGIN PRIVATE KEY-----` block.
fn pem_pkcs8(pem: &str) -> Result<Vec<u8>, String> {
    const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
    const END: &str = "-----END PRIVATE KEY-----";
    let start = pem
        .find(BEGIN)
        .ok_or("private_key is not a PKCS#8 PEM block (\"-----BEGIN PRIVATE KEY-----\")")?
        + BEGIN.len();
    let end = pem[start..].find(END).ok_or("private_key has no END line")? + start;
    let base64: String = pem[start..end].chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD
        .decode(base64)
        .map_err(|e| format!("private_key is not valid base64: {e}"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};

    const PEM: &str = adsync_sandbox::sheets::service_account::KEY_PEM;
    pub(crate) const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

    pub(crate) fn key_json() -> String {
        json!({
            "type": "service_account",
            "project_id": "adsync-test",
            "private_key_id": "key-1",
            "private_key": PEM,
            "client_email": "reports@adsync-test.iam.gserviceaccount.com",
            "token_uri": TOKEN_URL,
        })
        .to_string()
    }

    pub(crate) fn key() -> ServiceAccountKey {
        ServiceAccountKey::from_json(&key_json()).unwrap()
    }

    pub(crate) fn decode_part(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    pub(crate) fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap()
    }

    #[test]
    fn the_assertion_carries_the_documented_header_and_claims_and_verifies_with_the_public_key() {
        let key = key();
        let scopes = vec![
            "https://www.googleapis.com/auth/spreadsheets".to_string(),
            "openid".to_string(),
        ];
        let jwt = key.assertion(&scopes, TOKEN_URL, now()).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            decode_part(parts[0]),
            json!({"alg": "RS256", "typ": "JWT", "kid": "key-1"})
        );
        assert_eq!(
            decode_part(parts[1]),
            json!({"iss": "reports@adsync-test.iam.gserviceaccount.com",
                   "scope": "https://www.googleapis.com/auth/spreadsheets openid",
                   "aud": TOKEN_URL, "iat": 1_767_225_600, "exp": 1_767_229_200})
        );
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let public = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.key_pair.public().as_ref().to_vec());
        let signed = format!("{}.{}", parts[0], parts[1]);
        public
            .verify(signed.as_bytes(), &signature)
            .expect("the signature verifies");
        assert!(public.verify(b"something else", &signature).is_err());
    }

    #[test]
    fn bad_key_files_are_refused_with_a_reason_and_debug_hides_the_key() {
        assert!(ServiceAccountKey::from_json("{}")
            .unwrap_err()
            .contains("not a service-account key file"));
        let wrong_type = key_json().replace("service_account", "authorized_user");
        assert!(ServiceAccountKey::from_json(&wrong_type)
            .unwrap_err()
            .contains("authorized_user"));
        let not_pem = json!({"client_email": "a@b", "private_key": "secret"}).to_string();
        assert!(ServiceAccountKey::from_json(&not_pem).unwrap_err().contains("PKCS#8"));
        let garbled = json!({"client_email": "a@b", "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}).to_string();
        assert!(ServiceAccountKey::from_json(&garbled)
            .unwrap_err()
            .contains("not a usable RSA key"));
        let debug = format!("{:?}", key());
        assert!(debug.contains("reports@") && !debug.contains("PRIVATE"), "{debug}");
    }

    #[test]
    fn a_key_file_loads_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.json");
        std::fs::write(&path, key_json()).unwrap();
        assert_eq!(ServiceAccountKey::load(&path).unwrap().private_key_id, "key-1");
        assert!(ServiceAccountKey::load(&dir.path().join("missing.json"))
            .unwrap_err()
            .contains("cannot read"));
    }
}
