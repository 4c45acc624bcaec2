//! LinkedIn's authorization server (`/oauth/v2/authorization`, `/oauth/v2/accessToken`), at
//! the real paths.
//!
//! LinkedIn's rules (api-facts §5.1): access tokens live 60 days; programmatic refresh
//! tokens live 365 days from the original consent and refreshing does not extend them: a
//! refresh answers the same refresh token with its remaining lifetime. A grant of another
//! scope set invalidates the member's earlier access tokens. Client credentials travel in
//! the form body, and token responses carry no `token_type`.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use super::error::OAuthError;
use super::faults::Fault;
use super::oauth::{self, ClientCredentials, ConsentDialect, GrantKind};
use super::params::Params;
use super::state::{Sandbox, World};
use super::tokens::{CodeRequest, GrantError, GrantRefusal, Issuer, TokenPolicy};
pub use crate::settings::linkedin_oauth::Settings;

/// The description of every refused refresh token.
const INVALID_GRANT: &str = "The provided authorization grant or refresh token is invalid, expired or revoked";
/// LinkedIn's description of a code whose client, redirect URI or PKCE verifier is wrong, or
/// that expired.
const CODE_MISMATCH: &str = "Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code. Or authorization code expired. Or external member binding exists";

/// LinkedIn's consent step.
const LINKEDIN: ConsentDialect = ConsentDialect {
    issuer: Issuer::Linkedin,
    scope_separators: &[' '],
    scope_required: true,
    response_type_required: true,
    unknown_client: |_| "Client_id doesn't match: the client ID is not one of a developer application.".to_string(),
    denial: &[
        ("error", "user_cancelled_authorize"),
        (
            "error_description",
            "The member refused to authorize the permissions request from your application.",
        ),
    ],
    complete_grant,
};

/// Only partner apps get a refresh token.
fn complete_grant(world: &World, _params: &Params, grant: &mut CodeRequest) {
    grant.with_refresh_token = world.settings.linkedin_oauth.programmatic_refresh_tokens;
}

/// The routes this module serves.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/oauth/v2/authorization", get(authorize).post(decide))
        .route("/oauth/v2/accessToken", post(token))
}

/// Whether a request to `path` is this module's (injected faults then take its error shape).
pub fn serves(path: &str) -> bool {
    path.starts_with("/oauth/v2/")
}

/// The error answer of an injected `fault` in this platform's shape; `None` for faults
/// that do not replace the answer (truncation).
pub fn fault_response(fault: &Fault) -> Option<Response> {
    oauth::fault_answer(fault)
}

/// `GET /oauth/v2/authorization`.
async fn authorize(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery) -> Response {
    oauth::authorize_as(&LINKEDIN, &sandbox, query.as_deref())
}

/// `POST /oauth/v2/authorization`: the consent form's answer.
async fn decide(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    oauth::decide_as(&LINKEDIN, &sandbox, &body)
}

/// `POST /oauth/v2/accessToken` (form, client credentials in the body): the
/// `authorization_code` and `refresh_token` grants.
async fn token(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let params = Params::parse(None, &body);
    oauth::token_answer(&sandbox, grant(&sandbox, &params))
}

fn grant(sandbox: &Sandbox, params: &Params) -> Result<(serde_json::Value, GrantKind), OAuthError> {
    let required = |name: &str| {
        params.non_empty(name).ok_or_else(|| {
            bad_request(
                "invalid_request",
                &format!("A required parameter \"{name}\" is missing"),
            )
        })
    };
    let grant_type = required("grant_type")?;
    if !matches!(grant_type, "authorization_code" | "refresh_token") {
        return Err(bad_request(
            "unsupported_grant_type",
            &format!("The grant type \"{grant_type}\" is not supported"),
        ));
    }
    required("client_id")?;
    required("client_secret")?;
    let client_id = ClientCredentials::read(params, None)
        .check(sandbox)
        .map_err(|_| OAuthError {
            status: StatusCode::UNAUTHORIZED,
            grant: GrantError::new("invalid_client", "Client authentication failed"),
            basic_auth: false,
        })?;
    // The code and its redirect URI, or the refresh token.
    let (presented, redirect_uri) = if grant_type == "authorization_code" {
        (required("code")?, Some(required("redirect_uri")?))
    } else {
        (required("refresh_token")?, None)
    };
    let mut world = sandbox.world();
    let now = world.now();
    let policy = TokenPolicy::linkedin(&world.settings.linkedin_oauth);
    let (result, kind) = match redirect_uri {
        Some(redirect_uri) => (
            world.tokens.exchange_code(
                &client_id,
                presented,
                Some(redirect_uri),
                params.get("code_verifier"),
                &policy,
                now,
            ),
            GrantKind::Code,
        ),
        None => (
            world.tokens.refresh(&client_id, presented, &policy, now),
            GrantKind::Refresh,
        ),
    };
    let issued = result.map_err(refusal)?;
    let scope = issued.scopes.join(" ");
    let mut body = oauth::token_body(issued);
    body["scope"] = json!(scope);
    Ok((body, kind))
}

/// LinkedIn's answer to a refused code or refresh token (its authorization code flow's
/// error table; api-facts §5.1 for refresh tokens).
fn refusal(refusal: GrantRefusal) -> OAuthError {
    use GrantRefusal::*;
    match refusal {
        CodeUnknown => bad_request(
            "invalid_request",
            "Unable to retrieve access token: authorization code not found",
        ),
        CodeExpired | CodeOfOtherClient | RedirectMismatch | VerifierMissing | VerifierMismatch => {
            bad_request("invalid_redirect_uri", CODE_MISMATCH)
        }
        RefreshUnknown | RefreshOfOtherClient | RefreshRevoked(_) | RefreshReused | RefreshExpired | RefreshIdle => {
            bad_request("invalid_request", INVALID_GRANT)
        }
    }
}

fn bad_request(error: &'static str, description: &str) -> OAuthError {
    GrantError::new(error, description).into()
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::oauth::testing::*;
    use crate::tokens::{AccessDenied, TokenBook};
    use crate::{RevokeReason, SandboxHandle};

    const AUTH: &str = "/oauth/v2/authorization";
    const TOKEN: &str = "/oauth/v2/accessToken";
    const SCOPES: &str = "r_ads_reporting r_ads";
    const DAY: u64 = 86_400;

    /// Consents as `ann` and exchanges the code.
    async fn connect(handle: &SandboxHandle) -> Value {
        let target = consent(handle, AUTH, &authorization(SCOPES, &[("login_hint", "ann")])).await;
        let (status, body) = post_form(handle, TOKEN, &code_form(&query(&target, "code").unwrap())).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    fn invalid_grant() -> Answer {
        (
            400,
            json!({"error": "invalid_request", "error_description": INVALID_GRANT}),
        )
    }

    #[tokio::test]
    async fn the_code_exchange_answers_linkedins_fields() {
        let handle = sandbox(Value::Null).await;
        let connected = connect(&handle).await;
        let fields: Vec<&str> = connected.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            [
                "access_token",
                "expires_in",
                "refresh_token",
                "refresh_token_expires_in",
                "scope"
            ]
        );
        assert_eq!(connected["expires_in"], 60 * DAY);
        assert_eq!(connected["refresh_token_expires_in"], 365 * DAY);
        assert_eq!(connected["scope"], SCOPES);
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn a_refresh_repeats_the_refresh_token_with_what_is_left_of_its_year() {
        let handle = sandbox(Value::Null).await;
        let connected = connect(&handle).await;
        let refresh_token = connected["refresh_token"].as_str().unwrap();
        handle.sandbox().advance_clock(59 * DAY as i64).unwrap();
        let (status, renewed) = post_form(&handle, TOKEN, &refresh_form(refresh_token)).await;
        assert_eq!(status, 200, "{renewed}");
        assert_eq!(renewed["refresh_token"], refresh_token);
        assert_eq!(renewed["expires_in"], 60 * DAY);
        assert_eq!(renewed["scope"], SCOPES);
        // 306 days left; the wall clock may have ticked a second since the consent.
        let left = renewed["refresh_token_expires_in"].as_u64().unwrap();
        assert!((306 * DAY - 2..=306 * DAY).contains(&left), "{left}");
        // A year after the consent the member must authorize again, refreshes or not.
        handle.sandbox().advance_clock(306 * DAY as i64).unwrap();
        assert_eq!(
            post_form(&handle, TOKEN, &refresh_form(refresh_token)).await,
            invalid_grant()
        );
        handle.shutdown().await;
    }

    #[test]
    fn refreshing_never_moves_the_refresh_deadline() {
        const NOW: i64 = 1_800_000_000;
        let policy = TokenPolicy::linkedin(&Settings::default());
        let mut book = TokenBook::default();
        let issued = book_grant(&mut book, &policy, &["r_ads_reporting"], NOW);
        let grantee = book.check_access(Some(&issued.access_token), NOW).unwrap();
        assert_eq!(
            (grantee.issuer, grantee.scopes),
            (Issuer::Linkedin, vec!["r_ads_reporting".to_string()])
        );
        let refresh_token = issued.refresh_token.unwrap();
        let day = DAY as i64;
        let renewed = book.refresh("app", &refresh_token, &policy, NOW + 59 * day).unwrap();
        assert_eq!(renewed.refresh_token.as_deref(), Some(refresh_token.as_str()));
        assert_eq!(renewed.refresh_token_expires_in, Some(306 * DAY));
        let later = book.refresh("app", &refresh_token, &policy, NOW + 364 * day).unwrap();
        assert_eq!(later.refresh_token_expires_in, Some(DAY));
        assert_eq!(
            book.refresh("app", &refresh_token, &policy, NOW + 365 * day),
            Err(GrantRefusal::RefreshExpired)
        );
    }

    #[test]
    fn a_grant_of_other_scopes_invalidates_earlier_access_tokens() {
        const NOW: i64 = 1_800_000_000;
        let policy = TokenPolicy::linkedin(&Settings::default());
        let mut book = TokenBook::default();
        let first = book_grant(&mut book, &policy, &["r_ads_reporting", "r_ads"], NOW);
        let same = book_grant(&mut book, &policy, &["r_ads_reporting", "r_ads"], NOW);
        assert!(book.check_access(Some(&first.access_token), NOW).is_ok());
        let narrower = book_grant(&mut book, &policy, &["r_ads_reporting"], NOW);
        for earlier in [&first, &same] {
            assert_eq!(
                book.check_access(Some(&earlier.access_token), NOW),
                Err(AccessDenied::Unknown)
            );
        }
        assert!(book.check_access(Some(&narrower.access_token), NOW).is_ok());
    }

    #[tokio::test]
    async fn token_errors_have_linkedins_bodies() {
        let handle = sandbox(Value::Null).await;
        let connected = connect(&handle).await;
        let refresh_token = connected["refresh_token"].as_str().unwrap();
        let error = |error: &str, description: &str| json!({"error": error, "error_description": description});
        let missing = |name: &str| {
            (
                400,
                error(
                    "invalid_request",
                    &format!("A required parameter \"{name}\" is missing"),
                ),
            )
        };
        let refresh = refresh_form(refresh_token);
        let cases: Vec<(Form, Answer)> = vec![
            (set(refresh.clone(), "grant_type", None), missing("grant_type")),
            (set(refresh.clone(), "client_id", None), missing("client_id")),
            (set(refresh.clone(), "client_secret", None), missing("client_secret")),
            (set(refresh.clone(), "refresh_token", None), missing("refresh_token")),
            (
                set(refresh.clone(), "client_secret", Some("wrong")),
                (401, error("invalid_client", "Client authentication failed")),
            ),
            (
                set(refresh.clone(), "refresh_token", Some("AQWnever-issued")),
                invalid_grant(),
            ),
            (
                code_form("AQnever-issued"),
                (
                    400,
                    error(
                        "invalid_request",
                        "Unable to retrieve access token: authorization code not found",
                    ),
                ),
            ),
            (set(code_form("AQx"), "redirect_uri", None), missing("redirect_uri")),
        ];
        for (form, answer) in cases {
            assert_eq!(post_form(&handle, TOKEN, &form).await, answer, "{form:?}");
        }
        // A wrong PKCE verifier or redirect URI gets LinkedIn's catch-all code error.
        let target = consent(&handle, AUTH, &authorization(SCOPES, &[])).await;
        let code = query(&target, "code").unwrap();
        let wrong_verifier = set(
            code_form(&code),
            "code_verifier",
            Some("not-the-verifier-not-the-verifier-not-the-ver"),
        );
        assert_eq!(
            post_form(&handle, TOKEN, &wrong_verifier).await,
            (400, error("invalid_redirect_uri", CODE_MISMATCH))
        );
        handle.sandbox().revoke("ann", RevokeReason::AppRemoved);
        assert_eq!(post_form(&handle, TOKEN, &refresh).await, invalid_grant());
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn a_refused_consent_says_the_member_cancelled() {
        let handle = sandbox(json!({"auto_approve": false})).await;
        let mut form = authorization(SCOPES, &[("decision", "deny")]);
        form.push(("user", "ann"));
        let target = answer_consent(&handle, AUTH, &form).await;
        assert_eq!(query(&target, "error").as_deref(), Some("user_cancelled_authorize"));
        assert!(query(&target, "code").is_none());
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn apps_outside_the_partner_program_get_no_refresh_token() {
        let handle = sandbox(json!({"linkedin_oauth": {"programmatic_refresh_tokens": false}})).await;
        let connected = connect(&handle).await;
        assert!(connected.get("refresh_token").is_none(), "{connected}");
        assert!(connected.get("refresh_token_expires_in").is_none(), "{connected}");
        handle.shutdown().await;
    }
}
