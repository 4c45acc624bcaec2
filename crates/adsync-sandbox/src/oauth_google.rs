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
use serde_json::json;
use sha2::{Digest, Sha256};

use super::error::OAuthError;
use super::faults::Fault;
use super::oauth::{self, ClientCredentials, ClientRefusal, ConsentDialect, GrantKind};
use super::params::{bearer, Params};
use super::sheets;
use super::state::{Counters, Sandbox, World};
use super::tokens::{CodeRequest, GrantError, GrantRefusal, Issuer, TokenPolicy};
pub use crate::settings::google_oauth::Settings;

/// The `realm` of Google's `WWW-Authenticate` challenges.
const REALM: &str = "https://accounts.google.com/";
/// Sandbox users without an `@` in their name get an address at this domain.
const EMAIL_DOMAIN: &str = "example.com";

/// Google's consent step.
const GOOGLE: ConsentDialect = ConsentDialect {
    issuer: Issuer::Google,
    scope_separators: &[' '],
    scope_required: true,
    response_type_required: true,
    unknown_client: |_| "Error 401: invalid_client. The OAuth client was not found.".to_string(),
    denial: &[("error", "access_denied")],
    complete_grant,
};

/// `access_type=offline` asks for a refresh token; a user who already gave this client one
/// gets another only when `prompt` includes `consent`. With `include_granted_scopes=true`
/// the grant also covers every scope the user gave this client before (incremental
/// authorization).
fn complete_grant(world: &World, params: &Params, grant: &mut CodeRequest) {
    let now = world.now();
    let policy = TokenPolicy::google(&world.settings.google_oauth);
    if params.get("access_type") == Some("offline") {
        let forced = params
            .get("prompt")
            .is_some_and(|prompt| prompt.split(' ').any(|p| p == "consent"));
        grant.with_refresh_token = forced
            || !world
                .tokens
                .has_refresh_grant(&grant.user, &grant.client_id, &policy, now);
    }
    if params.get("include_granted_scopes") == Some("true") {
        let earlier = world
            .tokens
            .granted_scopes(&grant.user, &grant.client_id, Issuer::Google);
        let new: Vec<String> = earlier.into_iter().filter(|s| !grant.scopes.contains(s)).collect();
        grant.scopes.extend(new);
    }
}

/// The routes this module serves.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/o/oauth2/v2/auth", get(authorize).post(decide))
        .route("/token", post(token))
        .route(GOOGLE_USERINFO, get(userinfo))
        .route(STANDARD_USERINFO, get(userinfo))
        .route(DISCOVERY, get(discovery))
}

/// Where Google serves userinfo.
const GOOGLE_USERINFO: &str = "/v1/userinfo";
/// Where the standards-conformant mode (`standard_userinfo`) serves it instead.
const STANDARD_USERINFO: &str = "/oidc/userinfo";
/// OpenID Connect Discovery 1.0 §4: the issuer's metadata document.
const DISCOVERY: &str = "/.well-known/openid-configuration";

/// The userinfo path the server's mode serves.
fn userinfo_path(sandbox: &Sandbox) -> &'static str {
    if sandbox.with_settings(|s| s.google_oauth.standard_userinfo) {
        STANDARD_USERINFO
    } else {
        GOOGLE_USERINFO
    }
}

/// `GET /.well-known/openid-configuration`: the issuer (this origin, as the request's `Host`
/// names it) and its endpoints (OpenID Connect Discovery 1.0 §3).
async fn discovery(State(sandbox): State<Sandbox>, headers: HeaderMap) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let issuer = format!("http://{host}");
    let basic_only = sandbox.with_settings(|s| s.google_oauth.require_basic_auth);
    let methods: &[&str] = if basic_only {
        &["client_secret_basic"]
    } else {
        &["client_secret_post", "client_secret_basic"]
    };
    axum::Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/o/oauth2/v2/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}{}", userinfo_path(&sandbox)),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": methods,
        "code_challenge_methods_supported": ["plain", "S256"],
    }))
    .into_response()
}

/// Whether a request to `path` is this module's (injected faults then take its error shape).
pub fn serves(path: &str) -> bool {
    path == "/token" || path == GOOGLE_USERINFO || path == STANDARD_USERINFO || path.starts_with("/o/oauth2/")
}

/// The error answer of an injected `fault` in this platform's shape; `None` for faults
/// that do not replace the answer (truncation).
pub fn fault_response(fault: &Fault) -> Option<Response> {
    oauth::fault_answer(fault)
}

/// `GET /o/oauth2/v2/auth`.
async fn authorize(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery) -> Response {
    oauth::authorize_as(&GOOGLE, &sandbox, query.as_deref())
}

/// `POST /o/oauth2/v2/auth`: the consent form's answer.
async fn decide(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    oauth::decide_as(&GOOGLE, &sandbox, &body)
}

/// `POST /token` (form): the `authorization_code` and `refresh_token` grants, and service
/// accounts' JWT-bearer grant.
async fn token(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    let params = Params::parse(None, &body);
    // Service accounts authenticate with a signed assertion instead of a client secret.
    if params.get("grant_type") == Some(sheets::service_account::GRANT_TYPE) {
        return sheets::service_account::token_answer(&sandbox, &params);
    }
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
    let policy = TokenPolicy::google(&world.settings.google_oauth);
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
    if !credentials.basic_auth && sandbox.with_settings(|s| s.google_oauth.require_basic_auth) {
        // RFC 6749 §5.2: a client authentication the server does not support is `invalid_client`.
        return Err(OAuthError {
            status: StatusCode::UNAUTHORIZED,
            grant: GrantError::new(
                "invalid_client",
                "This server requires client_secret_basic: send the client id and secret in an Authorization: Basic header.",
            ),
            basic_auth: false,
        });
    }
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
async fn userinfo(State(sandbox): State<Sandbox>, uri: axum::http::Uri, headers: HeaderMap) -> Response {
    if uri.path() != userinfo_path(&sandbox) {
        return StatusCode::NOT_FOUND.into_response();
    }
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

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::faults::FaultKind;
    use crate::oauth::testing::*;
    use crate::tokens::TokenBook;
    use crate::{RevokeReason, SandboxHandle};

    const AUTH: &str = "/o/oauth2/v2/auth";
    const ADS: &str = "https://www.googleapis.com/auth/adwords";
    const SCOPES: &str = "openid email https://www.googleapis.com/auth/adwords";

    /// Consents as `user` with `extra` parameters and exchanges the code.
    async fn connect(handle: &SandboxHandle, user: &str, scope: &str, extra: &[(&str, &str)]) -> Value {
        let mut extra = extra.to_vec();
        extra.push(("login_hint", user));
        let target = consent(handle, AUTH, &authorization(scope, &extra)).await;
        let code = query(&target, "code").expect("consent gave a code");
        let (status, body) = post_form(handle, "/token", &code_form(&code)).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// A code for the default authorization request, not yet exchanged.
    async fn fresh_code(handle: &SandboxHandle) -> String {
        query(&consent(handle, AUTH, &authorization(SCOPES, &[])).await, "code").unwrap()
    }

    const OFFLINE: &[(&str, &str)] = &[("access_type", "offline"), ("prompt", "consent")];

    async fn userinfo(handle: &SandboxHandle, token: Option<&str>) -> (u16, Option<String>, Value) {
        let mut request = browser().get(format!("{}/v1/userinfo", handle.base_url()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_string());
        (response.status().as_u16(), challenge, response.json().await.unwrap())
    }

    #[tokio::test]
    async fn the_standard_mode_serves_userinfo_where_its_discovery_document_says() {
        let handle = sandbox(json!({"google_oauth": {"standard_userinfo": true}})).await;
        let token = connect(&handle, "ann", SCOPES, &[]).await["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let document: Value = browser()
            .get(format!("{}/.well-known/openid-configuration", handle.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let endpoint = document["userinfo_endpoint"].as_str().unwrap();
        assert_eq!(endpoint, format!("{}/oidc/userinfo", handle.base_url()));
        let me: Value = browser()
            .get(endpoint)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["email"], "ann@example.com");
        let google = browser()
            .get(format!("{}/v1/userinfo", handle.base_url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(google.status().as_u16(), 404);
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn a_server_requiring_basic_auth_refuses_credentials_in_the_body() {
        let handle = sandbox(json!({"google_oauth": {"require_basic_auth": true}})).await;
        let code = fresh_code(&handle).await;
        let (status, body) = post_form(&handle, "/token", &code_form(&code)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{body}"
        );
        let form: Vec<_> = code_form(&code)
            .into_iter()
            .filter(|(k, _)| !k.starts_with("client_"))
            .collect();
        let response = browser()
            .post(format!("{}/token", handle.base_url()))
            .basic_auth(CLIENT.0, Some(CLIENT.1))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn offline_access_gives_a_refresh_token_and_online_access_does_not() {
        let handle = sandbox(Value::Null).await;
        let online = connect(&handle, "ann", SCOPES, &[]).await;
        assert!(online.get("refresh_token").is_none(), "{online}");
        let offline = connect(&handle, "bob", SCOPES, &[("access_type", "offline")]).await;
        assert!(offline["refresh_token"].as_str().unwrap().starts_with("1//"));
        assert_eq!(offline["expires_in"], 3599);
        assert_eq!(offline["token_type"], "Bearer");
        assert_eq!(offline["scope"], SCOPES);
        // Outside testing mode a refresh token has no fixed end, so no lifetime is sent.
        assert!(offline.get("refresh_token_expires_in").is_none(), "{offline}");
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn a_repeated_offline_consent_gives_a_new_refresh_token_only_with_prompt_consent() {
        let handle = sandbox(Value::Null).await;
        let offline = [("access_type", "offline")];
        let first = connect(&handle, "ann", SCOPES, &offline).await;
        assert!(first.get("refresh_token").is_some());
        let again = connect(&handle, "ann", SCOPES, &offline).await;
        assert!(again.get("refresh_token").is_none(), "{again}");
        let forced = connect(&handle, "ann", SCOPES, OFFLINE).await;
        assert!(forced.get("refresh_token").is_some(), "{forced}");
        assert_ne!(forced["refresh_token"], first["refresh_token"]);
        // After a revocation the earlier grant is gone: a plain offline consent is new again.
        handle.sandbox().revoke("ann", RevokeReason::AppRemoved);
        let after = connect(&handle, "ann", SCOPES, &offline).await;
        assert!(after.get("refresh_token").is_some(), "{after}");
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn refreshing_keeps_the_refresh_token_and_reports_the_scope() {
        let handle = sandbox(Value::Null).await;
        let connected = connect(&handle, "ann", SCOPES, OFFLINE).await;
        let refresh_token = connected["refresh_token"].as_str().unwrap();
        for _ in 0..2 {
            let (status, renewed) = post_form(&handle, "/token", &refresh_form(refresh_token)).await;
            assert_eq!(status, 200, "{renewed}");
            assert!(renewed.get("refresh_token").is_none(), "{renewed}");
            assert_eq!(renewed["scope"], SCOPES);
            assert_eq!(renewed["expires_in"], 3599);
            assert_ne!(renewed["access_token"], connected["access_token"]);
        }
        assert_eq!(handle.sandbox().stats().refresh_grants, 2);
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn token_errors_have_googles_bodies() {
        let handle = sandbox(Value::Null).await;
        let connected = connect(&handle, "ann", SCOPES, OFFLINE).await;
        let refresh_token = connected["refresh_token"].as_str().unwrap();
        let error = |error: &str, description: &str| json!({"error": error, "error_description": description});
        let cases: Vec<(Form, u16, Value)> = vec![
            (
                vec![("grant_type", "password")],
                400,
                error("unsupported_grant_type", "Invalid grant_type: password"),
            ),
            (
                vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token)],
                400,
                error("invalid_request", "Could not determine client ID from request."),
            ),
            (
                vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                    ("client_id", "nobody"),
                    ("client_secret", "x"),
                ],
                401,
                error("invalid_client", "The OAuth client was not found."),
            ),
            (
                vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                    ("client_id", CLIENT.0),
                    ("client_secret", "wrong"),
                ],
                401,
                error("invalid_client", "Unauthorized"),
            ),
            (
                vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                    ("client_id", CLIENT.0),
                ],
                400,
                error("invalid_request", "client_secret is missing."),
            ),
            (
                vec![
                    ("grant_type", "refresh_token"),
                    ("client_id", CLIENT.0),
                    ("client_secret", CLIENT.1),
                ],
                400,
                error("invalid_request", "Missing required parameter: refresh_token"),
            ),
            (
                vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                    ("client_id", "adsync-demo-app"),
                    ("client_secret", "demo-app-secret"),
                ],
                401,
                error("unauthorized_client", "Unauthorized"),
            ),
            (
                refresh_form("1//never-issued"),
                400,
                error("invalid_grant", "Token has been expired or revoked."),
            ),
        ];
        for (form, status, body) in cases {
            assert_eq!(post_form(&handle, "/token", &form).await, (status, body), "{form:?}");
        }
        handle.sandbox().revoke("ann", RevokeReason::PasswordChanged);
        assert_eq!(
            post_form(&handle, "/token", &refresh_form(refresh_token)).await,
            (400, error("invalid_grant", "Token has been expired or revoked."))
        );
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn the_code_exchange_checks_pkce_and_the_redirect_uri() {
        let handle = sandbox(Value::Null).await;
        let first = fresh_code(&handle).await;
        let wrong_verifier = set(
            code_form(&first),
            "code_verifier",
            Some("not-the-verifier-not-the-verifier-not-the-ver"),
        );
        let (status, body) = post_form(&handle, "/token", &wrong_verifier).await;
        assert_eq!(
            (status, &body["error"], &body["error_description"]),
            (400, &json!("invalid_grant"), &json!("Invalid code verifier."))
        );
        let second = fresh_code(&handle).await;
        let no_verifier = set(code_form(&second), "code_verifier", None);
        let (_, body) = post_form(&handle, "/token", &no_verifier).await;
        assert_eq!(body["error_description"], "Missing code verifier.");
        let third = fresh_code(&handle).await;
        let other_redirect = set(code_form(&third), "redirect_uri", Some("http://127.0.0.1:9/other"));
        let (_, body) = post_form(&handle, "/token", &other_redirect).await;
        assert_eq!(body["error"], "redirect_uri_mismatch");
        // Every failed attempt used its code up.
        let (_, body) = post_form(&handle, "/token", &code_form(&third)).await;
        assert_eq!(
            body,
            json!({"error": "invalid_grant", "error_description": "Bad Request"})
        );
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn consent_errors_show_a_page_until_the_redirect_is_trusted_then_go_back() {
        let handle = sandbox(json!({"auto_approve": false})).await;
        let page = browser()
            .get(format!("{}{AUTH}", handle.base_url()))
            .query(&[
                ("client_id", "nobody"),
                ("redirect_uri", REDIRECT),
                ("response_type", "code"),
                ("scope", "openid"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 400);
        assert!(page.text().await.unwrap().contains("invalid_client"));
        let no_scope = consent(&handle, AUTH, &authorization("", &[])).await;
        assert_eq!(query(&no_scope, "error").as_deref(), Some("invalid_request"));
        let no_response_type = set(authorization(SCOPES, &[]), "response_type", None);
        let target = consent(&handle, AUTH, &no_response_type).await;
        assert_eq!(query(&target, "error").as_deref(), Some("invalid_request"));
        let unknown_method = set(authorization(SCOPES, &[]), "code_challenge_method", Some("S512"));
        let target = consent(&handle, AUTH, &unknown_method).await;
        assert_eq!(query(&target, "error").as_deref(), Some("invalid_request"));
        // Without auto-approval the page asks; Deny sends the client access_denied.
        let shown = browser()
            .get(format!("{}{AUTH}", handle.base_url()))
            .query(&authorization(SCOPES, &[("login_hint", "ann")]))
            .send()
            .await
            .unwrap();
        assert_eq!(shown.status(), 200);
        assert!(shown.text().await.unwrap().contains(r#"value="ann""#));
        let mut form = authorization(SCOPES, &[("decision", "deny")]);
        form.push(("user", "ann"));
        let target = answer_consent(&handle, AUTH, &form).await;
        assert_eq!(query(&target, "error").as_deref(), Some("access_denied"));
        let mut allow = authorization(SCOPES, &[("decision", "allow"), ("access_type", "offline")]);
        allow.push(("user", "ann"));
        let target = answer_consent(&handle, AUTH, &allow).await;
        let (status, body) = post_form(&handle, "/token", &code_form(&query(&target, "code").unwrap())).await;
        assert_eq!(status, 200);
        assert!(body.get("refresh_token").is_some());
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn userinfo_names_the_user_as_far_as_the_scopes_allow() {
        let handle = sandbox(Value::Null).await;
        let with_email = connect(&handle, "ann", SCOPES, &[]).await;
        let (status, _, body) = userinfo(&handle, with_email["access_token"].as_str()).await;
        assert_eq!(status, 200);
        assert_eq!(body["email"], "ann@example.com");
        assert_eq!(body["email_verified"], true);
        assert_eq!(body["sub"], subject("ann"));
        assert_eq!(body["sub"].as_str().unwrap().len(), 21);
        assert!(body.get("name").is_none());
        let openid_only = connect(&handle, "bob@corp.test", &format!("openid profile {ADS}"), &[]).await;
        let (_, _, body) = userinfo(&handle, openid_only["access_token"].as_str()).await;
        assert_eq!(body, json!({"sub": subject("bob@corp.test"), "name": "bob@corp.test"}));
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn userinfo_refuses_missing_unknown_expired_and_revoked_tokens() {
        let handle = sandbox(Value::Null).await;
        let invalid = json!({"error": "invalid_request", "error_description": "Invalid Credentials"});
        let (status, challenge, body) = userinfo(&handle, None).await;
        assert_eq!((status, &body), (401, &invalid));
        assert_eq!(
            challenge.as_deref(),
            Some(r#"Bearer realm="https://accounts.google.com/""#)
        );
        let (status, challenge, _) = userinfo(&handle, Some("ya29.never-issued")).await;
        assert_eq!(status, 401);
        assert!(challenge.unwrap().ends_with(r#"error="invalid_token""#));

        let connected = connect(&handle, "ann", SCOPES, OFFLINE).await;
        let access = connected["access_token"].as_str().unwrap();
        let refresh_token = connected["refresh_token"].as_str().unwrap();
        // The control API's expiry reaches Google tokens; a refresh brings access back.
        let expired = browser()
            .post(format!("{}/_sandbox/users/ann/expire-access-tokens", handle.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(expired.json::<Value>().await.unwrap()["access_tokens_expired"], 1);
        assert_eq!(userinfo(&handle, Some(access)).await.2, invalid);
        let (_, renewed) = post_form(&handle, "/token", &refresh_form(refresh_token)).await;
        let renewed = renewed["access_token"].as_str().unwrap();
        assert_eq!(userinfo(&handle, Some(renewed)).await.0, 200);
        // So does its revocation, for access and refresh tokens alike.
        let revoked = browser()
            .post(format!(
                "{}/_sandbox/users/ann/revoke?reason=password_changed",
                handle.base_url()
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), 200);
        assert_eq!(
            userinfo(&handle, Some(renewed)).await,
            (
                401,
                Some(format!(r#"Bearer realm="{REALM}", error="invalid_token""#)),
                invalid
            )
        );
        let (status, body) = post_form(&handle, "/token", &refresh_form(refresh_token)).await;
        assert_eq!((status, &body["error"]), (400, &json!("invalid_grant")));
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn in_testing_mode_the_sandbox_clock_ends_refresh_tokens_after_seven_days() {
        let handle = sandbox(json!({"google_oauth": {"testing_mode": true}})).await;
        let connected = connect(&handle, "ann", SCOPES, OFFLINE).await;
        assert_eq!(connected["refresh_token_expires_in"], 7 * 86_400);
        let refresh_token = connected["refresh_token"].as_str().unwrap();
        let advanced = browser()
            .post(format!(
                "{}/_sandbox/clock/advance?secs={}",
                handle.base_url(),
                7 * 86_400
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(advanced.status(), 200);
        let (_, _, body) = userinfo(&handle, connected["access_token"].as_str()).await;
        assert_eq!(body["error_description"], "Invalid Credentials");
        assert_eq!(
            post_form(&handle, "/token", &refresh_form(refresh_token)).await,
            (
                400,
                json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
            )
        );
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn include_granted_scopes_adds_what_the_user_granted_before() {
        let handle = sandbox(Value::Null).await;
        connect(&handle, "ann", "openid email", &[]).await;
        let alone = connect(&handle, "ann", ADS, &[]).await;
        assert_eq!(alone["scope"], ADS);
        let incremental = connect(&handle, "ann", ADS, &[("include_granted_scopes", "true")]).await;
        assert_eq!(incremental["scope"], format!("{ADS} email openid"));
        // The token carries them: userinfo now may name the address.
        let (_, _, body) = userinfo(&handle, incremental["access_token"].as_str()).await;
        assert_eq!(body["email"], "ann@example.com");
        // Revoked grants are forgotten.
        handle.sandbox().revoke("ann", RevokeReason::AppRemoved);
        let fresh = connect(&handle, "ann", ADS, &[("include_granted_scopes", "true")]).await;
        assert_eq!(fresh["scope"], ADS);
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn codes_of_another_issuer_are_unknown_here() {
        let handle = sandbox(Value::Null).await;
        let target = consent(&handle, "/v25.0/dialog/oauth", &authorization("ads_read", &[])).await;
        let meta_code = query(&target, "code").unwrap();
        let (status, body) = post_form(&handle, "/token", &code_form(&meta_code)).await;
        assert_eq!((status, &body["error"]), (400, &json!("invalid_grant")));
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn injected_faults_take_the_token_endpoints_error_shape() {
        assert!(serves("/token") && serves("/o/oauth2/v2/auth") && serves("/v1/userinfo"));
        assert!(!serves("/v25.0/oauth/access_token"));
        let fault = |kind: FaultKind| Fault {
            kind,
            count: 1,
            skip: 0,
            path_prefix: None,
            code: None,
            regain_access_minutes: 0,
        };
        let answer = fault_response(&fault(FaultKind::Http500)).unwrap();
        assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(answer.into_body(), usize::MAX).await.unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"], "server_error");
        assert!(fault_response(&fault(FaultKind::TruncatedJson)).is_none());
    }

    const NOW: i64 = 1_800_000_000;
    const DAY: i64 = 86_400;

    /// A Google grant of `scopes` made at `NOW`, and its refresh token.
    fn granted(book: &mut TokenBook, policy: &TokenPolicy, scopes: &[&str]) -> String {
        book_grant(book, policy, scopes, NOW).refresh_token.unwrap()
    }

    #[test]
    fn refresh_tokens_die_after_six_months_unused() {
        let policy = TokenPolicy::google(&Settings::default());
        let mut book = TokenBook::default();
        let used = granted(&mut book, &policy, &[ADS]);
        let unused = granted(&mut book, &policy, &[ADS]);
        assert!(book.refresh("app", &used, &policy, NOW + 179 * DAY).is_ok());
        assert_eq!(
            book.refresh("app", &unused, &policy, NOW + 180 * DAY),
            Err(GrantRefusal::RefreshIdle)
        );
        // Use restarts the six months.
        assert!(book.refresh("app", &used, &policy, NOW + 300 * DAY).is_ok());
    }

    #[test]
    fn in_testing_mode_refresh_tokens_die_after_seven_days_unless_only_sign_in_was_granted() {
        let policy = TokenPolicy::google(&Settings {
            testing_mode: true,
            ..Settings::default()
        });
        let mut book = TokenBook::default();
        let ads = granted(&mut book, &policy, &["openid", "email", ADS]);
        let sign_in = granted(&mut book, &policy, &["openid", "email"]);
        assert!(book.refresh("app", &ads, &policy, NOW + 7 * DAY - 1).is_ok());
        assert_eq!(
            book.refresh("app", &ads, &policy, NOW + 7 * DAY),
            Err(GrantRefusal::RefreshExpired)
        );
        assert!(book.refresh("app", &sign_in, &policy, NOW + 8 * DAY).is_ok());
    }
}
