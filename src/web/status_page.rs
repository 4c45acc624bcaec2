//! `GET /status`: every connection, query, query file that does not run and open gap, with a
//! Reconnect button per connection; and the admin sign-in that guards it off loopback.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::pages::{markup_page, message};
use super::session::{bearer, secret_matches, session_cookie, COOKIE, SESSION_TTL};
use super::{status_html, WebState};
use crate::app::App;

/// Whether the request may see status (and so the reconnect links on it): always when the
/// listener is loopback-only, else with the admin token as a bearer header or a live
/// sign-in session.
pub(crate) fn authorized(web: &WebState, headers: &HeaderMap) -> bool {
    let config = web.app.config();
    if config.listen.ip().is_loopback() {
        return true;
    }
    let Some(expected) = config.admin_token.as_ref() else {
        return false;
    };
    if let Some(given) = bearer(headers) {
        return secret_matches(given, expected.expose());
    }
    session_cookie(headers).is_some_and(|id| web.sessions.is_live(id, web.app.clock().now()))
}

/// The sign-in form.
pub(crate) async fn login_form() -> Response {
    let form = html! {
        form method="post" action="/login" {
            label { "Admin token " input type="password" name="token" autocomplete="current-password"; }
            " " button { "Sign in" }
        }
    };
    markup_page(StatusCode::OK, "Sign in", form)
}

/// The sign-in form's answer.
#[derive(Deserialize)]
pub(crate) struct Login {
    token: String,
}

/// Opens a session when the token is right; a client address with too many wrong tries in
/// the last minute is refused without the token being looked at.
pub(crate) async fn login(
    State(web): State<WebState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Form(login): Form<Login>,
) -> Response {
    let now = web.app.clock().now();
    if let Some(wait) = web.sessions.throttled(client.ip(), now) {
        let mut response = message(
            StatusCode::TOO_MANY_REQUESTS,
            "Sign in",
            "Too many wrong tokens from this address; wait a minute and try again.",
            None,
        );
        if let Ok(value) = wait.num_seconds().max(1).to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let ok = web
        .app
        .config()
        .admin_token
        .as_ref()
        .is_some_and(|t| secret_matches(&login.token, t.expose()));
    if !ok {
        web.sessions.failed(client.ip(), now);
        tracing::warn!(client = %client.ip(), "A sign-in with a wrong admin token.");
        return message(
            StatusCode::UNAUTHORIZED,
            "Sign in",
            "That token is not right.",
            Some(("Try again", "/login")),
        );
    }
    let id = web.sessions.open(now);
    let cookie = format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        SESSION_TTL.num_seconds(),
        secure(&web.app)
    );
    with_cookie(Redirect::to("/status").into_response(), &cookie)
}

/// Ends the session of the request's cookie and clears the cookie.
pub(crate) async fn logout(State(web): State<WebState>, headers: HeaderMap) -> Response {
    if let Some(id) = session_cookie(&headers) {
        web.sessions.close(id);
    }
    let cookie = format!(
        "{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
        secure(&web.app)
    );
    with_cookie(Redirect::to("/login").into_response(), &cookie)
}

/// `; Secure` when people reach the endpoint over https.
fn secure(app: &App) -> &'static str {
    if app.config().public_url.scheme() == "https" {
        "; Secure"
    } else {
        ""
    }
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = cookie.parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The status page.
pub(crate) async fn status_page(State(web): State<WebState>, headers: HeaderMap) -> Response {
    if !authorized(&web, &headers) {
        return Redirect::to("/login").into_response();
    }
    let app = &web.app;
    let report = match app.status().await {
        Ok(report) => report,
        Err(e) => {
            return message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Status unavailable",
                &e.to_string(),
                None,
            )
        }
    };
    let now = app.clock().now();
    let link = |connection: &str| app.notifier().links().link(connection, now).to_string();
    let body = html! {
        (status_html::render(&report, link))
        @if session_cookie(&headers).is_some() {
            form method="post" action="/logout" { button { "Sign out" } }
        }
    };
    markup_page(StatusCode::OK, "adsync status", body)
}
