//! Service accounts: a Google key file instead of a person's consent (JWT bearer grant,
//! RFC 7523). There is no refresh token; when an access token runs out a new assertion is
//! signed and exchanged, so a service account never needs a reconnect link — only its key
//! or the sharing of the spreadsheet can break it, and those errors say so.
//!
//! The private key and the signed assertion never appear in `Debug` output, logs or errors.

use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{DateTime, Utc};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde::Deserialize;
use serde_json::json;
use url::Url;

/// The grant type of the token request.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Google accepts assertions valid for at most an hour.
const ASSERTION_LIFETIME_SECS: i64 = 3600;

/// A service account's key file, parsed and its key checked.
#[derive(Clone)]
pub struct ServiceAccountKey {
    /// `client_email`: the account, the JWT's issuer; share spreadsheets with it.
    pub client_email: String,
    /// `private_key_id`: sent as the JWT's `kid` so Google picks the right public key.
    pub private_key_id: String,
    /// `token_uri`: where assertions are exchanged.
    pub token_uri: String,
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

/// Why no access token could be had for a service account.
#[derive(Debug, thiserror::Error)]
pub enum ServiceAccountError {
    /// The key could not be used to sign.
    #[error("cannot sign for service account {email}: {message}")]
    Sign {
        /// The account.
        email: String,
        /// What failed.
        message: String,
    },
    /// The token endpoint refused the assertion: a wrong or deleted key, a scope the account
    /// may not have, a clock far off. Retrying will not help; the key or settings must change.
    #[error("the token endpoint rejected service account {email}: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Rejected {
        /// The account.
        email: String,
        /// The OAuth error code, e.g. `invalid_grant`, `unauthorized_client`.
        error: String,
        /// Google's description.
        description: Option<String>,
    },
    /// The token endpoint could not be reached or failed temporarily; retry later.
    #[error("the token endpoint failed for service account {email}: {message}")]
    Transient {
        /// The account.
        email: String,
        /// What happened.
        message: String,
    },
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl ServiceAccountKey {
    /// Parses a Google key file (`client_email`, `private_key` as PKCS#8 PEM,
    /// `private_key_id`, `token_uri`) and checks the key.
    pub fn from_json(text: &str) -> Result<Self, String> {
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
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A signed assertion for `scopes`, addressed to `audience` (the token endpoint), valid
    /// from `now` for an hour.
    pub fn assertion(&self, scopes: &[String], audience: &str, now: DateTime<Utc>) -> Result<String, String> {
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

    /// Exchanges a fresh assertion for an access token at `token_url`; returns the token and
    /// its lifetime in seconds.
    pub async fn exchange(
        &self,
        http: &reqwest::Client,
        token_url: &Url,
        scopes: &[String],
        now: DateTime<Utc>,
    ) -> Result<(String, u64), ServiceAccountError> {
        let email = || self.client_email.clone();
        let assertion =
            self.assertion(scopes, token_url.as_str(), now)
                .map_err(|message| ServiceAccountError::Sign {
                    email: email(),
                    message,
                })?;
        let transient = |message: String| ServiceAccountError::Transient {
            email: email(),
            message,
        };
        let response = http
            .post(token_url.clone())
            .form(&[("grant_type", JWT_BEARER_GRANT), ("assertion", assertion.as_str())])
            .send()
            .await
            // reqwest's error names the URL, never the form body.
            .map_err(|e| transient(e.without_url().to_string()))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| transient(e.without_url().to_string()))?;
        if status.is_success() {
            let token: TokenResponse =
                serde_json::from_slice(&body).map_err(|e| transient(format!("unreadable token response: {e}")))?;
            return Ok((token.access_token, token.expires_in.unwrap_or(3600)));
        }
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(transient(format!("HTTP {status}")));
        }
        match serde_json::from_slice::<ErrorResponse>(&body) {
            Ok(error) => Err(ServiceAccountError::Rejected {
                email: email(),
                error: error.error,
                description: error.error_description,
            }),
            Err(_) => Err(ServiceAccountError::Rejected {
                email: email(),
                error: format!("HTTP {status}"),
                description: None,
            }),
        }
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
mod tests {
    use super::*;
    use axum::routing::post;
    use axum::{Form, Json, Router};
    use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
    use std::collections::HashMap;

    /// A real RSA key; the sandbox's, so no second key is committed.
    const PEM: &str = adsync_sandbox::sheets::service_account::KEY_PEM;
    const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

    fn key_json() -> String {
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

    fn key() -> ServiceAccountKey {
        ServiceAccountKey::from_json(&key_json()).unwrap()
    }

    fn decode_part(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    fn now() -> DateTime<Utc> {
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

    /// A token endpoint answering `status` + `body`, recording the forms it got.
    async fn token_endpoint(
        status: u16,
        body: serde_json::Value,
    ) -> (Url, Arc<std::sync::Mutex<Vec<HashMap<String, String>>>>) {
        let seen: Arc<std::sync::Mutex<Vec<HashMap<String, String>>>> = Arc::default();
        let record = seen.clone();
        let app = Router::new().route(
            "/token",
            post(move |Form(form): Form<HashMap<String, String>>| {
                record.lock().unwrap().push(form);
                let body = body.clone();
                async move { (axum::http::StatusCode::from_u16(status).unwrap(), Json(body)) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/token", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, seen)
    }

    #[tokio::test]
    async fn the_exchange_posts_a_jwt_bearer_grant_and_returns_the_token() {
        let (url, seen) = token_endpoint(
            200,
            json!({"access_token": "ya29.abc", "expires_in": 3599, "token_type": "Bearer"}),
        )
        .await;
        let key = key();
        let scopes = vec![crate::sinks::sheets::SCOPE.to_string()];
        let token = key
            .exchange(&reqwest::Client::new(), &url, &scopes, now())
            .await
            .unwrap();
        assert_eq!(token, ("ya29.abc".to_string(), 3599));
        let forms = seen.lock().unwrap();
        assert_eq!(forms[0]["grant_type"], JWT_BEARER_GRANT);
        let claims = decode_part(forms[0]["assertion"].split('.').nth(1).unwrap());
        assert_eq!(claims["aud"], url.as_str());
    }

    #[tokio::test]
    async fn token_endpoint_errors_map_to_rejected_or_transient_without_the_assertion() {
        let http = reqwest::Client::new();
        let scopes = vec![crate::sinks::sheets::SCOPE.to_string()];
        let (url, _) = token_endpoint(
            400,
            json!({"error": "unauthorized_client", "error_description": "Unauthorized client or scope in request."}),
        )
        .await;
        let error = key().exchange(&http, &url, &scopes, now()).await.unwrap_err();
        assert!(
            matches!(&error, ServiceAccountError::Rejected { error, description: Some(d), .. }
                if error == "unauthorized_client" && d.contains("scope")),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("reports@adsync-test") && !message.contains("eyJ"),
            "{message}"
        );

        let (url, _) = token_endpoint(503, json!({"error": "backendError"})).await;
        let error = key().exchange(&http, &url, &scopes, now()).await.unwrap_err();
        assert!(matches!(error, ServiceAccountError::Transient { .. }), "{error:?}");

        let (url, _) = token_endpoint(401, json!("not an oauth error")).await;
        let error = key().exchange(&http, &url, &scopes, now()).await.unwrap_err();
        assert!(
            matches!(&error, ServiceAccountError::Rejected { error, .. } if error.contains("401")),
            "{error:?}"
        );
    }
}
