//! `GET /status`: the state of every connection, paused queries and open gaps, with a
//! Reconnect button per connection; and the admin sign-in that guards it off loopback.

use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::{message, page};
use crate::app::App;
use crate::notify::escape;
use crate::status::StatusReport;

/// Cookie that carries the admin token after a sign-in.
const COOKIE: &str = "adsync_admin";

/// Whether the request may see status: always when the listener is loopback-only, else with
/// the admin token as a bearer header or the sign-in cookie.
pub(crate) fn authorized(app: &App, headers: &HeaderMap) -> bool {
    if app.config().listen.ip().is_loopback() {
        return true;
    }
    let Some(expected) = app.config().admin_token.as_ref() else {
        return false;
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(&format!("{COOKIE}=")).map(str::to_string))
        .next();
    let given = bearer.map(str::to_string).or(cookie);
    given.is_some_and(|g| constant_time_eq(g.as_bytes(), expected.expose().as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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

/// Sets the cookie when the token is right.
pub(crate) async fn login(State(app): State<App>, Form(login): Form<Login>) -> Response {
    let ok = app
        .config()
        .admin_token
        .as_ref()
        .is_some_and(|t| constant_time_eq(login.token.as_bytes(), t.expose().as_bytes()));
    if !ok {
        return message(
            StatusCode::UNAUTHORIZED,
            "Sign in",
            "That token is not right.",
            Some(("Try again", "/login")),
        );
    }
    let secure = if app.config().public_url.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/{secure}", login.token);
    let mut response = Redirect::to("/status").into_response();
    if let Ok(value) = cookie.parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The status page.
pub(crate) async fn status_page(State(app): State<App>, headers: HeaderMap) -> Response {
    if !authorized(&app, &headers) {
        return Redirect::to("/login").into_response();
    }
    match app.status() {
        Ok(report) => page(StatusCode::OK, "adsync status", &render(&app, &report)),
        Err(e) => message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Status unavailable",
            &e.to_string(),
            None,
        ),
    }
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
