//! The authorization server: Meta's `/dialog/oauth` consent step and
//! `/oauth/access_token` token endpoint, at the real paths.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;
use url::Url;

use super::error::OAuthError;
use super::params::Params;
use super::state::{Counters, Sandbox};
use super::tokens::{CodeRequest, GrantError, Issued};
use crate::notify::escape as html_escape;

/// The user the consent step approves for when the request has no `login_hint`.
pub const DEFAULT_USER: &str = "demo-user";

/// `GET /{version}/dialog/oauth`: the consent page, or at once a redirect with a code when
/// the sandbox auto-approves.
pub async fn authorize(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref(), b"");
    let request = match ConsentRequest::parse(&sandbox, &params) {
        Ok(request) => request,
        Err(rejection) => return *rejection,
    };
    if sandbox.with_settings(|s| s.auto_approve) {
        let user = params.non_empty("login_hint").unwrap_or(DEFAULT_USER).to_string();
        return request.approve(&sandbox, user);
    }
    consent_page(&request, &params).into_response()
}

/// `POST /{version}/dialog/oauth`: the consent form's answer.
pub async fn decide(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let params = Params::parse(None, &body);
    let request = match ConsentRequest::parse(&sandbox, &params) {
        Ok(request) => request,
        Err(rejection) => return *rejection,
    };
    match (params.get("decision"), params.non_empty("user")) {
        (Some("allow"), Some(user)) => request.approve(&sandbox, user.to_string()),
        (Some("allow"), None) => bad_request("Enter the sandbox user to log in as.").into_response(),
        _ => request.redirect(&[
            ("error", "access_denied"),
            ("error_reason", "user_denied"),
            ("error_description", "Permissions error"),
        ]),
    }
}

/// A validated authorization request.
struct ConsentRequest {
    client_id: String,
    redirect_uri: Url,
    state: Option<String>,
    scopes: Vec<String>,
    challenge: Option<(String, String)>,
}

impl ConsentRequest {
    /// Validates the request. Until `client_id` and `redirect_uri` are known good, errors are
    /// shown as a page (RFC 6749 §4.1.2.1: never redirect to an unverified URI); after that
    /// they go back to the client.
    fn parse(sandbox: &Sandbox, params: &Params) -> Result<Self, Box<Response>> {
        let client_id = params
            .non_empty("client_id")
            .ok_or_else(|| Box::new(bad_request("The request has no client_id.").into_response()))?;
        if !sandbox.with_settings(|s| s.clients.contains_key(client_id)) {
            return Err(Box::new(
                bad_request(&format!("Invalid App ID: {client_id} is not a registered app.")).into_response(),
            ));
        }
        let redirect_uri = params
            .non_empty("redirect_uri")
            .and_then(|uri| Url::parse(uri).ok())
            .filter(|uri| matches!(uri.scheme(), "http" | "https"))
            .ok_or_else(|| {
                Box::new(bad_request("redirect_uri is missing or not an absolute http(s) URL.").into_response())
            })?;
        let mut request = Self {
            client_id: client_id.to_string(),
            redirect_uri,
            state: params.get("state").map(str::to_string),
            scopes: params
                .get("scope")
                .unwrap_or_default()
                .split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            challenge: None,
        };
        if params.get("response_type").unwrap_or("code") != "code" {
            return Err(Box::new(request.redirect(&[
                ("error", "unsupported_response_type"),
                ("error_description", "Only response_type=code is supported."),
            ])));
        }
        if let Some(challenge) = params.non_empty("code_challenge") {
            let method = params.get("code_challenge_method").unwrap_or("plain");
            if !matches!(method, "S256" | "plain") {
                return Err(Box::new(request.redirect(&[
                    ("error", "invalid_request"),
                    ("error_description", "code_challenge_method must be S256 or plain."),
                ])));
            }
            request.challenge = Some((challenge.to_string(), method.to_string()));
        }
        Ok(request)
    }

    /// Issues a code for `user` and sends the browser back to the client.
    fn approve(self, sandbox: &Sandbox, user: String) -> Response {
        let code = {
            let mut world = sandbox.world();
            let now = world.now();
            world.tokens.issue_code(
                CodeRequest {
                    client_id: self.client_id.clone(),
                    redirect_uri: self.redirect_uri.to_string(),
                    user,
                    scopes: self.scopes.clone(),
                    challenge: self.challenge.clone(),
                },
                now,
            )
        };
        self.redirect(&[("code", &code)])
    }

    fn redirect(&self, pairs: &[(&str, &str)]) -> Response {
        let mut target = self.redirect_uri.clone();
        {
            let mut query = target.query_pairs_mut();
            query.extend_pairs(pairs);
            if let Some(state) = &self.state {
                query.append_pair("state", state);
            }
        }
        Redirect::to(target.as_str()).into_response()
    }
}

fn consent_page(request: &ConsentRequest, params: &Params) -> Html<String> {
    let hidden: String = params
        .without(&["decision", "user"])
        .map(|(k, v)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                html_escape(k),
                html_escape(v)
            )
        })
        .collect();
    let user = params.non_empty("login_hint").unwrap_or(DEFAULT_USER);
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sandbox consent</title></head>
<body><h1>{app} would like to read your ads reports</h1>
<p>It asks for: {scopes}. It will be sent back to {redirect}.</p>
<form method="post"><label>Log in as <input name="user" value="{user}"></label>
{hidden}
<button name="decision" value="allow">Allow</button> <button name="decision" value="deny">Cancel</button></form>
</body></html>"#,
        app = html_escape(&request.client_id),
        scopes = html_escape(&request.scopes.join(", ")),
        redirect = html_escape(request.redirect_uri.as_str()),
        user = html_escape(user),
    ))
}

fn bad_request(message: &str) -> (StatusCode, Html<String>) {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error</title></head><body><h1>This link cannot be used</h1><p>{}</p></body></html>",
            html_escape(message)
        )),
    )
}

/// `GET|POST /{version}/oauth/access_token`: the `authorization_code`, `refresh_token` and
/// `fb_exchange_token` grants.
pub async fn token(
    State(sandbox): State<Sandbox>,
    Path(_version): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(query.as_deref(), &body);
    let counters = sandbox.counters();
    match grant(&sandbox, &params, &headers) {
        Ok((issued, counter)) => {
            Counters::bump(counter(counters), 1);
            let mut body = json!({
                "access_token": issued.access_token,
                "token_type": "bearer",
                "expires_in": issued.expires_in,
            });
            if let Some(refresh) = issued.refresh_token {
                body["refresh_token"] = json!(refresh);
            }
            if let Some(lifetime) = issued.refresh_token_expires_in {
                // Google's and LinkedIn's name for it.
                body["refresh_token_expires_in"] = json!(lifetime);
            }
            let mut response = axum::Json(body).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => {
            Counters::bump(&counters.token_errors, 1);
            error.into_response()
        }
    }
}

type CounterOf = fn(&Counters) -> &std::sync::atomic::AtomicU64;

fn grant(sandbox: &Sandbox, params: &Params, headers: &HeaderMap) -> Result<(Issued, CounterOf), OAuthError> {
    let (client_id, basic_auth) = authenticate_client(sandbox, params, headers)?;
    let mut world = sandbox.world();
    let now = world.now();
    let settings = world.settings.clone();
    let required = |name: &str| {
        params
            .non_empty(name)
            .ok_or_else(|| GrantError::new("invalid_request", format!("The request has no {name}.")))
    };
    let result = match params.get("grant_type") {
        Some("authorization_code") => world
            .tokens
            .exchange_code(
                &client_id,
                required("code")?,
                params.get("redirect_uri"),
                params.get("code_verifier"),
                &settings,
                now,
            )
            .map(|issued| (issued, (|c: &Counters| &c.code_grants) as CounterOf)),
        Some("refresh_token") => world
            .tokens
            .refresh(&client_id, required("refresh_token")?, &settings, now)
            .map(|issued| (issued, (|c: &Counters| &c.refresh_grants) as CounterOf)),
        Some("fb_exchange_token") => world
            .tokens
            .exchange_long_lived(&client_id, required("fb_exchange_token")?, &settings, now)
            .map(|issued| (issued, (|c: &Counters| &c.exchange_grants) as CounterOf)),
        Some(other) => Err(GrantError::new(
            "unsupported_grant_type",
            format!("grant_type {other} is not supported."),
        )),
        None => Err(GrantError::new("invalid_request", "The request has no grant_type.")),
    };
    result.map_err(|grant| OAuthError {
        status: StatusCode::BAD_REQUEST,
        grant,
        basic_auth,
    })
}

/// Client credentials from HTTP Basic or the form body (RFC 6749 §2.3.1).
fn authenticate_client(sandbox: &Sandbox, params: &Params, headers: &HeaderMap) -> Result<(String, bool), OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            Some((decode(id)?, decode(secret)?))
        });
    let basic_auth = basic.is_some();
    let (client_id, secret) = match basic {
        Some(pair) => pair,
        None => (
            params.get("client_id").unwrap_or_default().to_string(),
            params.get("client_secret").unwrap_or_default().to_string(),
        ),
    };
    let unauthorized = |description: &str| OAuthError {
        status: StatusCode::UNAUTHORIZED,
        grant: GrantError::new("invalid_client", description),
        basic_auth,
    };
    match sandbox.with_settings(|s| s.clients.get(&client_id).map(|expected| *expected == secret)) {
        None => Err(unauthorized("Unknown client_id.")),
        Some(false) => Err(unauthorized("Client authentication failed: wrong client_secret.")),
        Some(true) => Ok((client_id, basic_auth)),
    }
}
