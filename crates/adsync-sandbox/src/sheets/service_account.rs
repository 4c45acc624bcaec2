//! Google service accounts and the JWT-bearer grant at `POST /token` (RFC 7523,
//! api-facts §2.4).
//!
//! Every service account the sandbox knows signs with the one committed key
//! (`service_account_key.pem`, sandbox use only): keys are never generated at run time, so
//! the key file a test downloads today verifies tomorrow.

use std::sync::OnceLock;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::signature::{RsaKeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::error::OAuthError;
use crate::params::Params;
use crate::state::{Counters, Sandbox};
use crate::tokens::GrantError;

/// The `grant_type` of the JWT-bearer grant.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Google's token URL, the `aud` real assertions carry.
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// The older token URL some client libraries still put in `aud`.
const LEGACY_TOKEN_URL: &str = "https://www.googleapis.com/oauth2/v4/token";
/// The longest an assertion may live (`exp - iat`).
const MAX_ASSERTION_SECS: i64 = 3600;
/// Clock difference tolerated between the signer and the sandbox.
const CLOCK_SKEW_SECS: i64 = 300;

/// The one key every sandbox service account signs with (public: tests elsewhere sign with it).
pub const KEY_PEM: &str = include_str!("service_account_key.pem");

/// The committed key pair.
fn key_pair() -> &'static RsaKeyPair {
    static KEY: OnceLock<RsaKeyPair> = OnceLock::new();
    KEY.get_or_init(|| {
        let body: String = KEY_PEM.lines().filter(|line| !line.starts_with("-----")).collect();
        let der = STANDARD.decode(body).expect("the committed key is base64");
        RsaKeyPair::from_pkcs8(&der).expect("the committed key is an RSA PKCS#8 key")
    })
}

/// The key's id: a stable digest of its public half, as Google's key files carry one.
fn private_key_id() -> String {
    let digest = Sha256::digest(key_pair().public().as_ref());
    digest[..20].iter().map(|b| format!("{b:02x}")).collect()
}

/// The numeric OAuth client id of a service account (21 digits, stable per email).
pub fn client_id(email: &str) -> String {
    let digest = Sha256::digest(email.as_bytes());
    let mut number = [0u8; 8];
    number.copy_from_slice(&digest[..8]);
    format!("1{:020}", u64::from_be_bytes(number))
}

/// The Google-format key file (`credentials.json`) of `email`, pointing at `token_uri`.
pub fn key_file(email: &str, token_uri: &str) -> Value {
    let project_id = email
        .split_once('@')
        .and_then(|(_, domain)| domain.strip_suffix(".iam.gserviceaccount.com"))
        .unwrap_or("adsync-sandbox");
    json!({
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": private_key_id(),
        "private_key": KEY_PEM,
        "client_email": email,
        "client_id": client_id(email),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    })
}

/// The claims the sandbox reads.
#[derive(Debug, Deserialize)]
struct Claims {
    iss: Option<String>,
    scope: Option<String>,
    aud: Option<String>,
    iat: Option<i64>,
    exp: Option<i64>,
    sub: Option<String>,
}

/// `POST /token` with `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`: an access
/// token (no refresh token) for the assertion's service account, or Google's error.
pub(crate) fn token_answer(sandbox: &Sandbox, params: &Params) -> Response {
    match grant(sandbox, params) {
        Ok(body) => {
            let mut response = axum::Json(body).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => {
            Counters::bump(&sandbox.counters().token_errors, 1);
            error.into_response()
        }
    }
}

fn refused(error: &'static str, description: &str) -> OAuthError {
    GrantError::new(error, description).into()
}

fn grant(sandbox: &Sandbox, params: &Params) -> Result<Value, OAuthError> {
    let bad_signature = || refused("invalid_grant", "Invalid JWT Signature.");
    let assertion = params
        .non_empty("assertion")
        .ok_or_else(|| refused("invalid_request", "Missing required parameter: assertion"))?;
    let mut parts = assertion.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad_signature());
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok();
    let header_json: Value = decode(header)
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(bad_signature)?;
    let claims: Claims = decode(payload)
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| refused("invalid_grant", "Invalid JWT: claims could not be parsed."))?;
    let mut world = sandbox.world();
    let now = world.now();
    let issuer = claims.iss.as_deref().unwrap_or_default();
    if !world
        .settings
        .sheets
        .service_accounts
        .iter()
        .any(|known| known == issuer)
    {
        return Err(refused("invalid_grant", "Invalid grant: account not found"));
    }
    let signature = decode(signature).ok_or_else(bad_signature)?;
    let signed = &assertion[..header.len() + 1 + payload.len()];
    let public_key = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key_pair().public().as_ref());
    let typ_ok = header_json.get("typ").is_none_or(|typ| typ == "JWT");
    if header_json["alg"] != "RS256" || !typ_ok || public_key.verify(signed.as_bytes(), &signature).is_err() {
        return Err(bad_signature());
    }
    let own_token_url = format!("{}/token", sandbox.base_url());
    if !matches!(claims.aud.as_deref(), Some(aud) if [GOOGLE_TOKEN_URL, LEGACY_TOKEN_URL, own_token_url.as_str()].contains(&aud))
    {
        return Err(refused(
            "invalid_grant",
            &format!("Invalid JWT: Failed audience check. The right audience is {GOOGLE_TOKEN_URL}"),
        ));
    }
    let short_lived = match (claims.iat, claims.exp) {
        (Some(iat), Some(exp)) => {
            exp > iat && exp - iat <= MAX_ASSERTION_SECS && iat <= now + CLOCK_SKEW_SECS && exp > now - CLOCK_SKEW_SECS
        }
        _ => false,
    };
    if !short_lived {
        return Err(refused(
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        ));
    }
    let scopes: Vec<String> = claims
        .scope
        .as_deref()
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if scopes.is_empty() {
        return Err(refused(
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        ));
    }
    let known_scope = |s: &String| {
        s.starts_with("https://www.googleapis.com/auth/") || ["openid", "email", "profile"].contains(&s.as_str())
    };
    if !scopes.iter().all(known_scope) {
        return Err(refused(
            "unauthorized_client",
            "Unauthorized client or scope in request.",
        ));
    }
    // With `sub` the token acts as that user (domain-wide delegation, always granted here).
    let user = claims.sub.as_deref().unwrap_or(issuer).to_string();
    let policy = crate::tokens::TokenPolicy::google(&world.settings.google_oauth);
    let issued = world
        .tokens
        .issue_access(&user, &client_id(issuer), &scopes, &policy, now);
    Ok(json!({
        "access_token": issued.access_token,
        "expires_in": issued.expires_in,
        "token_type": "Bearer",
    }))
}

/// A signed assertion with `claims`, as a Google client library makes one from the key
/// file (tests only: the sandbox never signs).
#[cfg(test)]
pub fn sign(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signed = format!("{header}.{payload}");
    let mut signature = vec![0; key_pair().public().modulus_len()];
    key_pair()
        .sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            signed.as_bytes(),
            &mut signature,
        )
        .expect("signing with the committed key");
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}
