//! The daemon's web endpoint: reconnect links and the OAuth callback, the status page and
//! API, health, and manual runs (used by the CLI while the daemon holds the store; sled
//! admits one process).

mod pages;
mod reconnect;
mod status_page;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::app::{App, AppError};

/// The routes of the web endpoint.
pub(crate) fn router(app: App) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/status", get(status_page::status_page))
        .route("/login", get(status_page::login_form).post(status_page::login))
        .route("/reconnect/{connection}", get(reconnect::start))
        .route("/oauth/callback", get(reconnect::callback))
        .route("/api/status", get(status))
        .route("/api/queries/{name}/run", post(run_query))
        .route("/api/backfill", post(backfill))
        .with_state(app)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn status(State(app): State<App>, headers: HeaderMap) -> Response {
    if !status_page::authorized(&app, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "an admin token is required (Authorization: Bearer …)",
        );
    }
    match app.status() {
        Ok(report) => Json(report).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn run_query(State(app): State<App>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    if !status_page::authorized(&app, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "an admin token is required (Authorization: Bearer …)",
        );
    }
    match app.run_once(&name).await {
        Ok(record) => Json(record).into_response(),
        Err(e @ AppError::UnknownQuery(_)) => error(StatusCode::NOT_FOUND, &e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// `POST /api/backfill` body.
#[derive(serde::Deserialize)]
struct BackfillRequest {
    query: Option<String>,
    window: Option<crate::rows::DateWindow>,
}

async fn backfill(State(app): State<App>, headers: HeaderMap, Json(request): Json<BackfillRequest>) -> Response {
    if !status_page::authorized(&app, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "an admin token is required (Authorization: Bearer …)",
        );
    }
    match app
        .backfill(request.query.as_deref(), request.window, |_, _, _| {})
        .await
    {
        Ok(records) => Json(records).into_response(),
        Err(e @ AppError::UnknownQuery(_)) => error(StatusCode::NOT_FOUND, &e.to_string()),
        Err(e @ AppError::Window(_)) => error(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}
