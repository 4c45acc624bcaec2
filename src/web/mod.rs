//! The daemon's web endpoint: health, the status API and manual runs, used by the CLI while
//! the daemon holds the store (sled admits one process).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::app::{App, AppError};

/// The routes of the web endpoint.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/status", get(status))
        .route("/api/queries/{name}/run", post(run_query))
        .with_state(app)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn status(State(app): State<App>) -> Response {
    match app.status() {
        Ok(report) => Json(report).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn run_query(State(app): State<App>, Path(name): Path<String>) -> Response {
    match app.run_once(&name).await {
        Ok(record) => Json(record).into_response(),
        Err(e @ AppError::UnknownQuery(_)) => error(StatusCode::NOT_FOUND, &e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}
