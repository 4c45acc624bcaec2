//! Meta's authorization server (`/dialog/oauth` consent step, `/oauth/access_token` token
//! endpoint, at the real paths), and the consent step and client authentication that
//! Google's and LinkedIn's servers share with it.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;
use url::Url;

use super::error::OAuthError;
use super::faults::{Fault, FaultKind};
use super::params::Params;
use super::state::{Counters, Sandbox, World};
use super::tokens::{CodeRequest, GrantError, Issued, Issuer, TokenPolicy};

/// The user the consent step approves for when the request has no `login_hint`.
pub const DEFAULT_USER: &str = "demo-user";

/// How one authorization server reads and answers the consent step. The three servers share
/// the page, the validation order and the redirects; they differ only in these.
pub(super) struct ConsentDialect {
    /// The server; its codes are good only at its own token endpoint.
    pub issuer: Issuer,
    /// What separates scopes in `scope` (Meta takes commas too).
    pub scope_separators: &'static [char],
    /// Whether a request without scopes is refused (Meta then grants its defaults).
    pub scope_required: bool,
    /// Whether `response_type` must be sent (Meta assumes `code`).
    pub response_type_required: bool,
    /// The error page's text for a `client_id` that is not registered.
    pub unknown_client: fn(&str) -> String,
    /// The query pairs a refused consent sends back (before `state`).
    pub denial: &'static [(&'static str, &'static str)],
    /// What the platform grants beyond the request (`params`) itself: it decides
    /// `with_refresh_token` (false until then) and may add scopes granted before.
    pub complete_grant: fn(&World, &Params, &mut CodeRequest),
}

/// Meta's consent step.
const META: ConsentDialect = ConsentDialect {
    issuer: Issuer::Meta,
    scope_separators: &[',', ' '],
    scope_required: false,
    response_type_required: false,
    unknown_client: |client_id| format!("Invalid App ID: {client_id} is not a registered app."),
    denial: &[
        ("error", "access_denied"),
        ("error_reason", "user_denied"),
        ("error_description", "Permissions error"),
    ],
    complete_grant: |_, _, grant| grant.with_refresh_token = true,
};

/// `GET /{version}/dialog/oauth`: the consent page, or at once a redirect with a code when
/// the sandbox auto-approves.
pub async fn authorize(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery) -> Response {
    authorize_as(&META, &sandbox, query.as_deref())
}

/// `POST /{version}/dialog/oauth`: the consent form's answer.
pub async fn decide(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    decide_as(&META, &sandbox, &body)
}

/// The consent step's `GET`: the page, or with `auto_approve` a redirect with a code for the
/// `login_hint` user.
pub(super) fn authorize_as(dialect: &ConsentDialect, sandbox: &Sandbox, query: Option<&str>) -> Response {
    let params = Params::parse(query, b"");
    let request = match ConsentRequest::parse(dialect, sandbox, &params) {
        Ok(request) => request,
        Err(rejection) => return *rejection,
    };
    if sandbox.with_settings(|s| s.auto_approve) {
        let user = params.non_empty("login_hint").unwrap_or(DEFAULT_USER);
        return request.approve(dialect, sandbox, &params, user);
    }
    consent_page(&request, &params).into_response()
}

/// The consent form's `POST`: Allow (as the named user) or Deny.
pub(super) fn decide_as(dialect: &ConsentDialect, sandbox: &Sandbox, body: &[u8]) -> Response {
    let params = Params::parse(None, body);
    let request = match ConsentRequest::parse(dialect, sandbox, &params) {
        Ok(request) => request,
        Err(rejection) => return *rejection,
    };
    match (params.get("decision"), params.non_empty("user")) {
        (Some("allow"), Some(user)) => request.approve(dialect, sandbox, &params, user),
        (Some("allow"), None) => bad_request("Enter the sandbox user to log in as.").into_response(),
        _ => request.redirect(dialect.denial),
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
    fn parse(dialect: &ConsentDialect, sandbox: &Sandbox, params: &Params) -> Result<Self, Box<Response>> {
        let client_id = params
            .non_empty("client_id")
            .ok_or_else(|| Box::new(bad_request("The request has no client_id.").into_response()))?;
        if !sandbox.with_settings(|s| s.clients.contains_key(client_id)) {
            return Err(Box::new(
                bad_request(&(dialect.unknown_client)(client_id)).into_response(),
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
                .split(dialect.scope_separators)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            challenge: None,
        };
        let refuse = |request: &Self, error: &str, description: &str| {
            Err(Box::new(
                request.redirect(&[("error", error), ("error_description", description)]),
            ))
        };
        match params.get("response_type") {
            None if dialect.response_type_required => {
                return refuse(
                    &request,
                    "invalid_request",
                    "Required parameter is missing: response_type",
                );
            }
            Some(other) if other != "code" => {
                return refuse(
                    &request,
                    "unsupported_response_type",
                    "Only response_type=code is supported.",
                );
            }
            _ => {}
        }
        if dialect.scope_required && request.scopes.is_empty() {
            return refuse(&request, "invalid_request", "Missing required parameter: scope");
        }
        if let Some(challenge) = params.non_empty("code_challenge") {
            let method = params.get("code_challenge_method").unwrap_or("plain");
            if !matches!(method, "S256" | "plain") {
                return refuse(
                    &request,
                    "invalid_request",
                    "code_challenge_method must be S256 or plain.",
                );
            }
            request.challenge = Some((challenge.to_string(), method.to_string()));
        }
        Ok(request)
    }

    /// Issues a code for `user` and sends the browser back to the client.
    fn approve(self, dialect: &ConsentDialect, sandbox: &Sandbox, params: &Params, user: &str) -> Response {
        let code = {
            let mut world = sandbox.world();
            let now = world.now();
            let mut grant = CodeRequest {
                issuer: dialect.issuer,
                client_id: self.client_id.clone(),
                redirect_uri: self.redirect_uri.to_string(),
                user: user.to_string(),
                scopes: self.scopes.clone(),
                challenge: self.challenge.clone(),
                with_refresh_token: false,
            };
            (dialect.complete_grant)(&world, params, &mut grant);
            world.tokens.issue_code(grant, now)
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
    let answer = grant(&sandbox, &params, &headers).map(|(issued, kind)| {
        let mut body = token_body(issued);
        body["token_type"] = json!("bearer");
        (body, kind)
    });
    token_answer(&sandbox, answer)
}

/// The fields every issuer's token response has: `access_token`, `expires_in`, and the
/// refresh token with its remaining lifetime when there is one (Google and LinkedIn call it
/// `refresh_token_expires_in`; Meta sends it only when its settings give refresh tokens a
/// lifetime).
pub(super) fn token_body(issued: Issued) -> serde_json::Value {
    let mut body = json!({
        "access_token": issued.access_token,
        "expires_in": issued.expires_in,
    });
    if let Some(refresh_token) = issued.refresh_token {
        body["refresh_token"] = json!(refresh_token);
    }
    if let Some(lifetime) = issued.refresh_token_expires_in {
        body["refresh_token_expires_in"] = json!(lifetime);
    }
    body
}

/// An injected fault at an authorization server, in RFC 6749's JSON error shape with the
/// codes its authorization endpoint defines for such failures (§4.1.2.1); `None` for a
/// truncation, which cuts the real answer instead.
pub(super) fn fault_answer(fault: &Fault) -> Option<Response> {
    let (status, error, description) = match fault.kind {
        FaultKind::Http500 => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "The server encountered an unexpected condition.",
        ),
        FaultKind::Timeout => (
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "The server is temporarily unable to handle the request.",
        ),
        FaultKind::RateLimit => (
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            "Too many requests.",
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

/// Which counter a successful grant bumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GrantKind {
    /// `authorization_code`.
    Code,
    /// `refresh_token`.
    Refresh,
    /// Meta's `fb_exchange_token`.
    Exchange,
}

/// A token endpoint's answer: the JSON body of a success (with `Cache-Control: no-store`,
/// RFC 6749 §5.1) or the error; counted in the sandbox stats either way.
pub(super) fn token_answer(sandbox: &Sandbox, answer: Result<(serde_json::Value, GrantKind), OAuthError>) -> Response {
    let counters = sandbox.counters();
    match answer {
        Ok((body, kind)) => {
            let counter = match kind {
                GrantKind::Code => &counters.code_grants,
                GrantKind::Refresh => &counters.refresh_grants,
                GrantKind::Exchange => &counters.exchange_grants,
            };
            Counters::bump(counter, 1);
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

fn grant(sandbox: &Sandbox, params: &Params, headers: &HeaderMap) -> Result<(Issued, GrantKind), OAuthError> {
    let credentials = ClientCredentials::read(params, Some(headers));
    let basic_auth = credentials.basic_auth;
    let unauthorized = |description: &str| OAuthError {
        status: StatusCode::UNAUTHORIZED,
        grant: GrantError::new("invalid_client", description),
        basic_auth,
    };
    let client_id = match credentials.check(sandbox) {
        Ok(client_id) => client_id,
        Err(ClientRefusal::Unknown) => return Err(unauthorized("Unknown client_id.")),
        Err(ClientRefusal::WrongSecret) => {
            return Err(unauthorized("Client authentication failed: wrong client_secret."))
        }
    };
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
                &TokenPolicy::meta(&settings),
                now,
            )
            .map_err(GrantError::from)
            .map(|issued| (issued, GrantKind::Code)),
        Some("refresh_token") => world
            .tokens
            .refresh(
                &client_id,
                required("refresh_token")?,
                &TokenPolicy::meta(&settings),
                now,
            )
            .map_err(GrantError::from)
            .map(|issued| (issued, GrantKind::Refresh)),
        Some("fb_exchange_token") => world
            .tokens
            .exchange_long_lived(
                &client_id,
                required("fb_exchange_token")?,
                &TokenPolicy::meta_long_lived(&settings),
                now,
            )
            .map(|issued| (issued, GrantKind::Exchange)),
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

/// Why client authentication failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ClientRefusal {
    /// No such client is registered.
    Unknown,
    /// The secret is not the client's.
    WrongSecret,
}

/// The client credentials of a token request: HTTP Basic or the form body (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Default)]
pub(super) struct ClientCredentials {
    /// `client_id`, when sent.
    pub client_id: Option<String>,
    /// `client_secret`, when sent.
    pub client_secret: Option<String>,
    /// Whether they came in an `Authorization: Basic` header (a 401 then needs
    /// `WWW-Authenticate`).
    pub basic_auth: bool,
}

impl ClientCredentials {
    /// Reads the credentials from `headers` (when the server takes HTTP Basic) or the body.
    pub fn read(params: &Params, headers: Option<&HeaderMap>) -> Self {
        let basic = headers
            .and_then(|headers| headers.get(header::AUTHORIZATION))
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
        match basic {
            Some((id, secret)) => Self {
                client_id: Some(id),
                client_secret: Some(secret),
                basic_auth: true,
            },
            None => Self {
                client_id: params.non_empty("client_id").map(str::to_string),
                client_secret: params.non_empty("client_secret").map(str::to_string),
                basic_auth: false,
            },
        }
    }

    /// The client id, when it is registered and the secret is its own.
    pub fn check(&self, sandbox: &Sandbox) -> Result<String, ClientRefusal> {
        let client_id = self.client_id.clone().unwrap_or_default();
        let secret = self.client_secret.as_deref().unwrap_or_default();
        match sandbox.with_settings(|s| s.clients.get(&client_id).map(|expected| expected == secret)) {
            None => Err(ClientRefusal::Unknown),
            Some(false) => Err(ClientRefusal::WrongSecret),
            Some(true) => Ok(client_id),
        }
    }
}

/// Escapes text for the consent page's HTML (the sandbox's own; it shares no code with the
/// daemon's mail templates).
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// What the authorization servers' tests share: a sandbox on loopback, a browser that does
/// not follow redirects, and the consent and token round trips.
#[cfg(test)]
pub(super) mod testing {
    use std::net::SocketAddr;

    use serde_json::Value;
    use url::Url;

    use crate::tokens::{CodeRequest, Issued, TokenBook, TokenPolicy};
    use crate::{spawn, SandboxHandle, SandboxSettings};

    /// The registered client the tests use.
    pub const CLIENT: (&str, &str) = ("test-app", "test-app-secret");
    /// Where the tests' client is sent back to.
    pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
    /// Request parameters, in order.
    pub type Form<'a> = Vec<(&'a str, &'a str)>;
    /// A JSON answer: HTTP status and body.
    pub type Answer = (u16, Value);

    /// A PKCE verifier.
    pub const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K9TgBwk2UUrRwwW1rDsSSwdI2A";
    /// `VERIFIER`'s S256 challenge: BASE64URL(SHA256(verifier)).
    pub const CHALLENGE: &str = "z5Tq47Bj1rD0IEb-dVs-N_Oe1-7TLUQg5AboeABizGo";

    /// A sandbox that auto-approves consent, with `patch` applied to its settings.
    pub async fn sandbox(patch: Value) -> SandboxHandle {
        let mut settings = SandboxSettings {
            auto_approve: true,
            ..SandboxSettings::default()
        };
        if !patch.is_null() {
            settings = settings.patched(patch).expect("test settings are valid");
        }
        let listen: SocketAddr = "127.0.0.1:0".parse().expect("a literal address");
        spawn(listen, settings).await.expect("the sandbox starts on loopback")
    }

    /// A browser that shows redirects instead of following them.
    pub fn browser() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a static client builds")
    }

    /// The usual authorization request parameters, with `extra` added.
    pub fn authorization<'a>(scope: &'a str, extra: &[(&'a str, &'a str)]) -> Form<'a> {
        let mut params = vec![
            ("client_id", CLIENT.0),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", scope),
            ("state", "st4te"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        params.extend_from_slice(extra);
        params
    }

    /// `GET path?params`: the consent step's redirect target, which must carry `state`.
    pub async fn consent(handle: &SandboxHandle, path: &str, params: &[(&str, &str)]) -> Url {
        let request = browser().get(format!("{}{path}", handle.base_url())).query(params);
        redirect_target(request).await
    }

    /// `POST path` with the consent form: where the browser is sent back to.
    pub async fn answer_consent(handle: &SandboxHandle, path: &str, form: &[(&str, &str)]) -> Url {
        let request = browser().post(format!("{}{path}", handle.base_url())).form(form);
        redirect_target(request).await
    }

    async fn redirect_target(request: reqwest::RequestBuilder) -> Url {
        let response = request.send().await.expect("the sandbox answers");
        assert!(
            response.status().is_redirection(),
            "consent answered {}",
            response.status()
        );
        let location = response.headers()[reqwest::header::LOCATION].to_str().unwrap();
        let target = Url::parse(location).unwrap();
        assert_eq!(query(&target, "state").as_deref(), Some("st4te"));
        target
    }

    /// The value of `name` in `url`'s query.
    pub fn query(url: &Url, name: &str) -> Option<String> {
        url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }

    /// `POST path` with a form; the status and the JSON body.
    pub async fn post_form(handle: &SandboxHandle, path: &str, form: &[(&str, &str)]) -> Answer {
        let response = browser()
            .post(format!("{}{path}", handle.base_url()))
            .form(form)
            .send()
            .await
            .expect("the sandbox answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// `params` with `name` set to `value`, or removed when `value` is `None`.
    pub fn set<'a>(
        mut params: Vec<(&'a str, &'a str)>,
        name: &'a str,
        value: Option<&'a str>,
    ) -> Vec<(&'a str, &'a str)> {
        params.retain(|(k, _)| *k != name);
        params.extend(value.map(|v| (name, v)));
        params
    }

    /// `ann`'s consent to client `app` for `scopes` at `now`, exchanged under `policy`,
    /// without HTTP.
    pub fn book_grant(book: &mut TokenBook, policy: &TokenPolicy, scopes: &[&str], now: i64) -> Issued {
        let code = book.issue_code(
            CodeRequest {
                issuer: policy.issuer,
                client_id: "app".into(),
                redirect_uri: REDIRECT.into(),
                user: "ann".into(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                challenge: None,
                with_refresh_token: true,
            },
            now,
        );
        book.exchange_code("app", &code, Some(REDIRECT), None, policy, now)
            .expect("a fresh code exchanges")
    }

    /// The code-exchange form for `code`.
    pub fn code_form(code: &str) -> Form<'_> {
        vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", CLIENT.0),
            ("client_secret", CLIENT.1),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ]
    }

    /// The refresh form for `refresh_token`.
    pub fn refresh_form(refresh_token: &str) -> Form<'_> {
        vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", CLIENT.0),
            ("client_secret", CLIENT.1),
        ]
    }
}
