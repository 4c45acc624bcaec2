//! Google's authorization server (`/o/oauth2/v2/auth`, `/token`) and OpenID Connect
//! `/v1/userinfo`, at the real paths.
//!
//! Google's rules (api-facts §2): a refresh token only for `access_type=offline`, and when
//! the user already gave this client one, another only on `prompt=consent`; access tokens
//! live 3599 s; refreshing never rotates the refresh token; a refresh token dies after six
//! months unused, and 7 days after issue when the app is in testing mode.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::error::OAuthError;
use super::faults::{Fault, FaultKind};
use super::oauth::{self, ClientCredentials, ClientRefusal, ConsentDialect, GrantKind};
use super::params::{bearer, Params};
use super::state::{Counters, Sandbox, World};
use super::tokens::{GrantError, GrantRefusal, Issuer, Renewal, TokenPolicy};

/// How long refresh tokens of an app in testing mode live (Google: 7 days).
const TESTING_REFRESH_TOKEN_TTL_SECS: u64 = 7 * 86_400;
/// Scopes of a sign-in-only grant, which testing mode's 7-day expiry spares.
const SIGN_IN_SCOPES: &[&str] = &[
    "openid",
    "email",
    "profile",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/userinfo.profile",
];
/// The `realm` of Google's `WWW-Authenticate` challenges.
const REALM: &str = "https://accounts.google.com/";
/// Sandbox users without an `@` in their name get an address at this domain.
const EMAIL_DOMAIN: &str = "example.com";

/// This part of the sandbox world, in `PUT /_sandbox/settings` under its own key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Lifetime of access tokens (Google: 3599 s).
    pub access_token_ttl_secs: u64,
    /// Refresh tokens die after this long unused (Google: six months; 180 days here).
    pub refresh_token_idle_secs: u64,
    /// The app is an External app with publishing status "Testing": refresh tokens die 7
    /// days after issue, unless only sign-in scopes (`openid`, `email`, `profile`) were granted.
    pub testing_mode: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 3599,
            refresh_token_idle_secs: 180 * 86_400,
            testing_mode: false,
        }
    }
}

impl Settings {
    /// Google's token rules under these settings.
    pub fn policy(&self) -> TokenPolicy {
        TokenPolicy {
            issuer: Issuer::Google,
            access_ttl_secs: self.access_token_ttl_secs,
            refresh_ttl_secs: self.testing_mode.then_some(TESTING_REFRESH_TOKEN_TTL_SECS),
            refresh_ttl_exempt_scopes: SIGN_IN_SCOPES,
            refresh_idle_secs: Some(self.refresh_token_idle_secs),
            renewal: Renewal::Keep,
            access_prefix: "ya29.",
            refresh_prefix: "1//",
        }
    }
}

/// Google's consent step.
const GOOGLE: ConsentDialect = ConsentDialect {
    issuer: Issuer::Google,
    scope_separators: &[' '],
    scope_required: true,
    response_type_required: true,
    unknown_client: |_| "Error 401: invalid_client. The OAuth client was not found.".to_string(),
    denial: &[("error", "access_denied")],
    grants_refresh_token,
};

/// `access_type=offline` asks for a refresh token; a user who already gave this client one
/// gets another only when `prompt` includes `consent`.
fn grants_refresh_token(world: &World, params: &Params, user: &str, client_id: &str) -> bool {
    if params.get("access_type") != Some("offline") {
        return false;
    }
    let forced = params
        .get("prompt")
        .is_some_and(|prompt| prompt.split(' ').any(|p| p == "consent"));
    let policy = world.settings.google_oauth.policy();
    forced || !world.tokens.has_refresh_grant(user, client_id, &policy, world.now())
}

/// The routes this module serves.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/o/oauth2/v2/auth", get(authorize).post(decide))
        .route("/token", post(token))
        .route("/v1/userinfo", get(userinfo))
}

/// Whether a request to `path` is this module's (injected faults then take its error shape).
pub fn serves(path: &str) -> bool {
    path == "/token" || path == "/v1/userinfo" || path.starts_with("/o/oauth2/")
}

/// The error answer of an injected `fault` in this platform's shape; `None` for faults
/// that do not replace the answer (truncation). Token endpoint failures take RFC 6749's
/// JSON shape, with the codes its authorization endpoint defines for them (§4.1.2.1).
pub fn fault_response(fault: &Fault) -> Option<Response> {
    let (status, error, description) = match fault.kind {
        FaultKind::Http500 => (StatusCode::INTERNAL_SERVER_ERROR, "server_error", "Internal error."),
        FaultKind::Timeout => (
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "The service is temporarily unavailable.",
        ),
        FaultKind::RateLimit => (
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            "Rate limit exceeded.",
        ),
        FaultKind::TruncatedJson => return None,
    };
    let error = OAuthError {
        status,
        grant: GrantError::new(error, description),
        basic_auth: false,
    };
    Some(error.into_response())
}

/// `GET /o/oauth2/v2/auth`.
async fn authorize(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery) -> Response {
    oauth::authorize_as(&GOOGLE, &sandbox, query.as_deref())
}

/// `POST /o/oauth2/v2/auth`: the consent form's answer.
async fn decide(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    oauth::decide_as(&GOOGLE, &sandbox, &body)
}

/// `POST /token` (form): the `authorization_code` and `refresh_token` grants.
async fn token(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    let params = Params::parse(None, &body);
    oauth::token_answer(&sandbox, grant(&sandbox, &params, &headers))
}

fn grant(
    sandbox: &Sandbox,
    params: &Params,
    headers: &HeaderMap,
) -> Result<(serde_json::Value, GrantKind), OAuthError> {
    let grant_type = params.get("grant_type").unwrap_or_default();
    if !matches!(grant_type, "authorization_code" | "refresh_token") {
        return Err(bad_request(
            "unsupported_grant_type",
            &format!("Invalid grant_type: {grant_type}"),
        ));
    }
    let client_id = authenticate(sandbox, params, headers)?;
    let required = |name: &str| {
        params
            .non_empty(name)
            .ok_or_else(|| bad_request("invalid_request", &format!("Missing required parameter: {name}")))
    };
    let mut world = sandbox.world();
    let now = world.now();
    let policy = world.settings.google_oauth.policy();
    let (result, kind) = if grant_type == "authorization_code" {
        let code = required("code")?;
        let redirect_uri = required("redirect_uri")?;
        let exchanged = world.tokens.exchange_code(
            &client_id,
            code,
            Some(redirect_uri),
            params.get("code_verifier"),
            &policy,
            now,
        );
        (exchanged, GrantKind::Code)
    } else {
        let refreshed = world
            .tokens
            .refresh(&client_id, required("refresh_token")?, &policy, now);
        (refreshed, GrantKind::Refresh)
    };
    let issued = result.map_err(refusal)?;
    let scope = issued.scopes.join(" ");
    let mut body = oauth::token_body(issued);
    body["scope"] = json!(scope);
    body["token_type"] = json!("Bearer");
    Ok((body, kind))
}

/// The registered client the request authenticates as, in Google's words when it does not.
fn authenticate(sandbox: &Sandbox, params: &Params, headers: &HeaderMap) -> Result<String, OAuthError> {
    let credentials = ClientCredentials::read(params, Some(headers));
    if credentials.client_id.is_none() {
        return Err(bad_request(
            "invalid_request",
            "Could not determine client ID from request.",
        ));
    }
    let unauthorized = |description: &str| OAuthError {
        status: StatusCode::UNAUTHORIZED,
        grant: GrantError::new("invalid_client", description),
        basic_auth: credentials.basic_auth,
    };
    match credentials.check(sandbox) {
        Ok(client_id) => Ok(client_id),
        Err(ClientRefusal::Unknown) => Err(unauthorized("The OAuth client was not found.")),
        Err(ClientRefusal::WrongSecret) if credentials.client_secret.is_none() => {
            Err(bad_request("invalid_request", "client_secret is missing."))
        }
        Err(ClientRefusal::WrongSecret) => Err(unauthorized("Unauthorized")),
    }
}

/// Google's answer to a refused code or refresh token (api-facts §2.2).
fn refusal(refusal: GrantRefusal) -> OAuthError {
    use GrantRefusal::*;
    match refusal {
        CodeUnknown | CodeExpired | CodeOfOtherClient => bad_request("invalid_grant", "Bad Request"),
        RedirectMismatch => bad_request("redirect_uri_mismatch", "Bad Request"),
        VerifierMissing => bad_request("invalid_grant", "Missing code verifier."),
        VerifierMismatch => bad_request("invalid_grant", "Invalid code verifier."),
        // The client id and secret differ from those the refresh token was issued to.
        RefreshOfOtherClient => OAuthError {
            status: StatusCode::UNAUTHORIZED,
            grant: GrantError::new("unauthorized_client", "Unauthorized"),
            basic_auth: false,
        },
        RefreshUnknown | RefreshRevoked(_) | RefreshReused | RefreshExpired | RefreshIdle => {
            bad_request("invalid_grant", "Token has been expired or revoked.")
        }
    }
}

fn bad_request(error: &'static str, description: &str) -> OAuthError {
    GrantError::new(error, description).into()
}

/// `GET /v1/userinfo` (OpenID Connect): who the bearer token's user is. `email` and
/// `email_verified` need the `email` scope, `name` the `profile` scope.
async fn userinfo(State(sandbox): State<Sandbox>, headers: HeaderMap) -> Response {
    let token = bearer(&headers);
    let checked = {
        let world = sandbox.world();
        world.tokens.check_access(token, world.now())
    };
    let grantee = match checked {
        Ok(grantee) if grantee.issuer == Issuer::Google => grantee,
        _ => {
            Counters::bump(&sandbox.counters().token_errors, 1);
            return invalid_credentials(token.is_some());
        }
    };
    let granted = |names: &[&str]| grantee.scopes.iter().any(|s| names.contains(&s.as_str()));
    let mut body = json!({ "sub": subject(&grantee.user) });
    if granted(&["email", "https://www.googleapis.com/auth/userinfo.email"]) {
        body["email"] = json!(email(&grantee.user));
        body["email_verified"] = json!(true);
    }
    if granted(&["profile", "https://www.googleapis.com/auth/userinfo.profile"]) {
        body["name"] = json!(grantee.user);
    }
    axum::Json(body).into_response()
}

/// Google's userinfo answer to a missing, unknown, expired or revoked token: 401 with an
/// RFC 6750 challenge (naming `invalid_token` only when a token was sent, §3.1).
fn invalid_credentials(token_sent: bool) -> Response {
    let challenge = if token_sent {
        format!(r#"Bearer realm="{REALM}", error="invalid_token""#)
    } else {
        format!(r#"Bearer realm="{REALM}""#)
    };
    let body = json!({"error": "invalid_request", "error_description": "Invalid Credentials"});
    let mut response = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// A stable 21-digit Google account id for a sandbox user name.
fn subject(user: &str) -> String {
    let digest = Sha256::digest(user.as_bytes());
    let mut number = [0u8; 8];
    number.copy_from_slice(&digest[..8]);
    format!("1{:020}", u64::from_be_bytes(number))
}

/// The user's address: the name itself when it is one (a `login_hint` e-mail).
fn email(user: &str) -> String {
    if user.contains('@') {
        user.to_string()
    } else {
        format!("{user}@{EMAIL_DOMAIN}")
    }
}
