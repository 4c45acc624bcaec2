//! Service accounts: a Google key file instead of a person's consent (JWT bearer grant,
//! RFC 7523). There is no refresh token; when an access token runs out a new assertion is
//! signed and exchanged, so a service account never needs a reconnect link — only its key
//! or the sharing of the spreadsheet can break it, and those errors say so.
//!
//! The private key and the signed assertion never appear in `Debug` output, logs or errors.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use url::Url;

pub(crate) use crate::platform::google_key::ServiceAccountKey;

/// The grant type of the token request.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
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
    /// Exchanges a fresh assertion for an access token at `token_url`; returns the token and
    /// its lifetime in seconds.
    pub(crate) async fn exchange(
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;
    use axum::{Form, Json, Router};
    use serde_json::json;
    use std::collections::HashMap;
    use std::sync::Arc;

    use crate::platform::google_key::tests::{decode_part, key, now};

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
        let scopes = vec![crate::platform::SHEETS_SCOPE.to_string()];
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
        let scopes = vec![crate::platform::SHEETS_SCOPE.to_string()];
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
