//! `GET /reconnect/{connection}` (a signed link from an email) and `GET /oauth/callback`
//! (where the platform sends the person back).

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use serde::Deserialize;

use super::pages::{message, page};
use crate::app::App;
use crate::auth::{AuthError, LinkError};
use crate::notify::escape;
use crate::reconnect::{complete, ReconnectError, ReconnectReport};
use crate::store::PendingState;

/// How long the person has between following the link and approving at the platform.
const STATE_TTL: Duration = Duration::minutes(15);
/// How long a used state's result page can be shown again (a reload, a back button).
const OUTCOME_TTL: Duration = Duration::days(1);

/// The signed link's parameters.
#[derive(Deserialize)]
pub(crate) struct LinkParams {
    expires: Option<String>,
    sig: Option<String>,
}

/// Checks the link, remembers a fresh state and PKCE verifier, and sends the person to the
/// platform's consent page.
pub(crate) async fn start(
    State(app): State<App>,
    Path(connection): Path<String>,
    Query(params): Query<LinkParams>,
) -> Response {
    let now = app.clock().now();
    let expires = params.expires.as_deref().and_then(|e| e.parse::<i64>().ok());
    let (Some(expires), Some(sig)) = (expires, params.sig.as_deref()) else {
        return forged();
    };
    match app.notifier().links().verify(&connection, expires, sig, now) {
        Ok(()) => {}
        Err(LinkError::Forged) => return forged(),
        Err(LinkError::Expired(at)) => {
            return message(
                StatusCode::GONE,
                "This link has expired",
                &format!(
                    "This reconnect link expired on {}. Ask adsync for a new one: run `adsync reconnect-link {connection}`, or wait for the next reminder email.",
                    at.format("%Y-%m-%d %H:%M UTC")
                ),
                None,
            )
        }
    }
    if !app.config().connections.iter().any(|c| c.id == connection) {
        return message(
            StatusCode::NOT_FOUND,
            "Unknown connection",
            &format!("There is no connection named {connection} any more."),
            None,
        );
    }
    // Expired states are pruned by the upkeep, not here: a scan per request made a link
    // followed in a loop slower with every follow. The store caps states per connection.
    let store = app.store();
    let hint = app.auth().login_hint(&connection).await;
    let pending = match app.auth().begin_authorization(&connection, hint.as_deref()) {
        Ok(pending) => pending,
        Err(e) => return message(StatusCode::INTERNAL_SERVER_ERROR, "Cannot start", &e.to_string(), None),
    };
    let state = PendingState {
        connection: connection.clone(),
        verifier: pending.verifier,
        created_at: now,
        expires_at: now + STATE_TTL,
    };
    if let Err(e) = store.put_oauth_state(&pending.state, &state).await {
        return message(StatusCode::INTERNAL_SERVER_ERROR, "Cannot start", &e.to_string(), None);
    }
    tracing::info!(connection = %connection, "Reconnect link followed; sending the browser to the platform.");
    (StatusCode::FOUND, [(header::LOCATION, pending.url.to_string())]).into_response()
}

fn forged() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "This link is not valid",
        "This reconnect link was changed or was not made by this adsync. Use the link from the most recent email, or run `adsync reconnect-link CONNECTION` for a new one.",
        None,
    )
}

/// What the platform sends back.
#[derive(Deserialize)]
pub(crate) struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Takes the code: state checked and used up, code exchanged, token verified, queries
/// resumed, backfill started.
pub(crate) async fn callback(State(app): State<App>, Query(params): Query<CallbackParams>) -> Response {
    let now = app.clock().now();
    let Some(state) = params.state.as_deref().filter(|s| !s.is_empty()) else {
        return bad_state("The request has no state parameter.");
    };
    let pending = match app.store().take_oauth_state(state).await {
        Ok(Some(pending)) if pending.expires_at > now => pending,
        Ok(Some(_)) => return bad_state("This sign-in took too long and has expired."),
        Ok(None) => {
            return match app.store().oauth_outcome::<ReconnectReport>(state, now).await {
                Ok(Some(report)) => result_page(&report),
                _ => bad_state("This sign-in is unknown or was already used."),
            }
        }
        Err(e) => {
            return message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                &e.to_string(),
                None,
            )
        }
    };
    let connection = pending.connection;
    let fresh_link = app.notifier().links().link(&connection, now);
    if let Some(error) = params.error.as_deref() {
        let (title, text) = if error == "access_denied" {
            (
                "Not reconnected",
                format!("You declined the request, so {connection} stays disconnected and its queries stay paused. Nothing was changed. If that was a mistake, try again:"),
            )
        } else {
            (
                "Not reconnected",
                format!(
                    "The platform did not grant access ({error}: {}). Nothing was changed.",
                    params.error_description.as_deref().unwrap_or("no description")
                ),
            )
        };
        return message(StatusCode::OK, title, &text, Some(("Try again", fresh_link.as_str())));
    }
    let Some(code) = params.code.as_deref().filter(|c| !c.is_empty()) else {
        return message(
            StatusCode::BAD_REQUEST,
            "Not reconnected",
            "The platform sent no authorization code. Nothing was changed.",
            Some(("Try again", fresh_link.as_str())),
        );
    };
    match complete(&app, &connection, code, &pending.verifier).await {
        Ok(report) => {
            if let Err(e) = app.store().put_oauth_outcome(state, now + OUTCOME_TTL, &report).await {
                tracing::warn!(connection = %connection, "Could not keep the reconnect's result for a reload: {e}");
            }
            result_page(&report)
        }
        // The platform refused this code (another sign-in's, used, or made up): the
        // request was bad, the platform is fine.
        Err(ReconnectError::Auth(e @ AuthError::Rejected { .. })) => message(
            StatusCode::BAD_REQUEST,
            "Not reconnected",
            &format!("The platform refused the sign-in: {e}. Nothing was changed."),
            Some(("Try again", fresh_link.as_str())),
        ),
        Err(ReconnectError::Auth(e)) => message(
            StatusCode::BAD_GATEWAY,
            "Not reconnected",
            &format!("The platform refused the sign-in: {e}. Nothing was changed."),
            Some(("Try again", fresh_link.as_str())),
        ),
        Err(e) => message(
            StatusCode::BAD_GATEWAY,
            "Reconnected, but…",
            &e.to_string(),
            Some(("Try again", fresh_link.as_str())),
        ),
    }
}

fn bad_state(text: &str) -> Response {
    message(
        StatusCode::BAD_REQUEST,
        "This sign-in cannot be used",
        &format!("{text} Nothing was changed. Start again from the reconnect link in your email."),
        None,
    )
}

/// The result of a (re)connect: who is connected (and who was before, when someone else),
/// exactly which queries resumed and which stay paused and why.
fn result_page(report: &ReconnectReport) -> Response {
    let connection = escape(&report.connection);
    let mut body = match (&report.identity, &report.previous_identity) {
        (Some(now), Some(before)) => format!(
            "<p><strong>{connection}</strong> is now connected as {}; before: {}. Queries of {connection} now run as {0}.</p>",
            escape(now),
            escape(before)
        ),
        (Some(now), None) if report.first_connect => {
            format!("<p><strong>{connection}</strong> is connected as {}.</p>", escape(now))
        }
        (Some(now), None) => format!("<p><strong>{connection}</strong> is connected again as {}.</p>", escape(now)),
        (None, _) => format!(
            "<p><strong>{connection}</strong> is connected, as an unknown user: adsync could not find out who this login is ({}). The checks below ran all the same.</p>",
            escape(report.identity_error.as_deref().unwrap_or("no reason given"))
        ),
    };
    if report.resumed.is_empty() {
        body.push_str("<p>No query resumed.</p>");
    } else {
        body.push_str(&format!(
            "<p>Resumed: {}. Missed runs are being backfilled now.</p>",
            escape(&report.resumed.join(", "))
        ));
    }
    if !report.paused.is_empty() {
        body.push_str("<p>Still paused:</p><ul>");
        for (query, why) in &report.paused {
            body.push_str(&format!("<li>{}: {}</li>", escape(query), escape(why)));
        }
        body.push_str("</ul>");
    }
    let title = if report.first_connect {
        "Connected"
    } else {
        "Reconnected"
    };
    page(StatusCode::OK, title, &body)
}
