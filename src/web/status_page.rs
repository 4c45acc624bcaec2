//! `GET /status`: the state of every connection, paused queries and open gaps, with a
//! Reconnect button per connection; and the admin sign-in that guards it off loopback.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::{message, page};
use super::session::{bearer, secret_matches, session_cookie, COOKIE, SESSION_TTL};
use super::WebState;
use crate::app::App;
use crate::notify::escape;
use crate::status::StatusReport;

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
    page(
        StatusCode::OK,
        "Sign in",
        r#"<form method="post" action="/login"><label>Admin token <input type="password" name="token" autocomplete="current-password"></label> <button>Sign in</button></form>"#,
    )
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
    let mut body = match app.status().await {
        Ok(report) => render(app, &report),
        Err(e) => {
            return message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Status unavailable",
                &e.to_string(),
                None,
            )
        }
    };
    if session_cookie(&headers).is_some() {
        body.push_str(r#"<form method="post" action="/logout"><button>Sign out</button></form>"#);
    }
    page(StatusCode::OK, "adsync status", &body)
}

fn render(app: &App, report: &StatusReport) -> String {
    let now = app.clock().now();
    let rank = |state: &str| match state {
        "needs_reconnect" => 0,
        "expiring" => 1,
        "not_connected" => 2,
        _ => 3,
    };
    let mut connections: Vec<_> = report.connections.iter().collect();
    connections.sort_by_key(|c| (rank(&c.state), c.id.clone()));
    let mut html = String::from(
        "<h2>Connections</h2><table><tr><th>Connection</th><th>Status</th><th>Why</th><th>Since</th><th>Paused queries</th><th></th></tr>",
    );
    for c in connections {
        let paused: Vec<&str> = report
            .queries
            .iter()
            .filter(|q| (q.connection == c.id || q.output_connection.as_ref() == Some(&c.id)) && q.state != "active")
            .map(|q| q.name.as_str())
            .collect();
        let why = match (&c.reason_text, c.expires_at) {
            (Some(text), _) => text.clone(),
            (None, Some(at)) if c.state == "expiring" => format!("Login ends in {} days.", (at - now).num_days()),
            _ => String::new(),
        };
        let link = app.notifier().links().link(&c.id, now);
        html.push_str(&format!(
            r#"<tr><td>{id}<br><small>{provider}{who}</small></td><td class="{state}">{state_text}</td><td>{why}</td><td>{since}</td><td>{paused}</td><td><a class="button" href="{link}">Reconnect</a></td></tr>"#,
            id = escape(&c.id),
            provider = escape(&c.provider),
            who = c.identity.as_deref().map(|w| format!(" as {}", escape(w))).unwrap_or_default(),
            state = escape(&c.state),
            state_text = escape(&c.state.replace('_', " ")),
            why = escape(&why),
            since = c.since.map(|s| s.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default(),
            paused = escape(&paused.join(", ")),
            link = escape(link.as_str()),
        ));
    }
    html.push_str("</table><h2>Open gaps</h2>");
    let open: Vec<_> = report.gaps.iter().filter(|g| g.state == "open").collect();
    if open.is_empty() {
        html.push_str("<p>None: every scheduled run delivered.</p>");
    } else {
        html.push_str("<table><tr><th>Query</th><th>Dates</th><th>Scheduled</th><th>Why</th></tr>");
        for g in open {
            html.push_str(&format!(
                "<tr><td>{}</td><td>{} – {}</td><td>{}</td><td>{}</td></tr>",
                escape(&g.query),
                g.window_start,
                g.window_end,
                g.fire_time.format("%Y-%m-%d %H:%M UTC"),
                escape(&g.reason_text)
            ));
        }
        html.push_str("</table>");
    }
    html
}
