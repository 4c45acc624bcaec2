//! The daemon's web endpoint: reconnect links and the OAuth callback, the status page and
//! API, health, readiness and metrics, and manual runs (used by the CLI while the daemon holds the store; sled
//! admits one process).

mod guard;
mod pages;
mod probes;
mod reconnect;
mod session;
mod status_html;
mod status_page;

use std::sync::Arc;

use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::app::{App, AppError};

/// What the routes share: the daemon, and the admin sessions of this endpoint.
#[derive(Clone)]
pub(crate) struct WebState {
    app: App,
    sessions: Arc<session::Sessions>,
}

impl FromRef<WebState> for App {
    fn from_ref(web: &WebState) -> App {
        web.app.clone()
    }
}

/// The routes of the web endpoint, behind the host and same-origin checks. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()`: sign-ins are throttled per client
/// address.
pub(crate) fn router(app: App) -> Router {
    let state = WebState {
        app,
        sessions: Arc::default(),
    };
    Router::new()
        .route("/healthz", get(probes::healthz))
        .route("/readyz", get(probes::readyz))
        .route("/metrics", get(probes::metrics))
        .route("/status", get(status_page::status_page))
        .route("/login", get(status_page::login_form).post(status_page::login))
        .route("/logout", post(status_page::logout))
        .route("/reconnect/{connection}", get(reconnect::start))
        .route("/oauth/callback", get(reconnect::callback))
        .route("/api/status", get(status))
        .route("/api/queries/{name}/run", post(run_query))
        .route("/api/backfill", post(backfill))
        .route("/api/preview", post(preview))
        .route("/api/connections/{connection}/accounts", get(accounts))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::same_site_only,
        ))
        .with_state(state)
}

async fn status(State(web): State<WebState>, headers: HeaderMap) -> Response {
    let app = &web.app;
    if !status_page::authorized(&web, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "an admin token is required (Authorization: Bearer …)",
        );
    }
    match app.status().await {
        Ok(report) => Json(report).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn run_query(State(web): State<WebState>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let app = &web.app;
    if !status_page::authorized(&web, &headers) {
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

async fn backfill(State(web): State<WebState>, headers: HeaderMap, Json(request): Json<BackfillRequest>) -> Response {
    let app = &web.app;
    if !status_page::authorized(&web, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "an admin token is required (Authorization: Bearer …)",
        );
    }
    let streams = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains(BACKFILL_PROGRESS));
    if streams {
        return backfill_progress(app.clone(), request);
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

/// The media type of a backfill answered as it goes: one JSON object a line, a
/// `{"done", "total", "run"}` after each run (each slice of an append query's gaps), then
/// `{"records": [...]}`, or `{"error", "status"}` when the backfill could not run.
const BACKFILL_PROGRESS: &str = "application/x-ndjson";

/// A backfill whose answer streams its progress, so `adsync backfill` through the daemon
/// shows each run as it finishes rather than nothing until the last.
fn backfill_progress(app: App, request: BackfillRequest) -> Response {
    let (lines, received) = tokio::sync::mpsc::unbounded_channel::<serde_json::Value>();
    tokio::spawn(async move {
        let progress = |done: usize, total: usize, run: &crate::store::RunRecord| {
            let _ = lines.send(serde_json::json!({"done": done, "total": total, "run": run}));
        };
        let last = match app.backfill(request.query.as_deref(), request.window, progress).await {
            Ok(records) => serde_json::json!({ "records": records }),
            Err(e) => {
                let status = match &e {
                    AppError::UnknownQuery(_) => StatusCode::NOT_FOUND,
                    AppError::Window(_) => StatusCode::BAD_REQUEST,
                    _ => StatusCode::INTERNAL_SERVER_ERROR,
                };
                serde_json::json!({"error": e.to_string(), "status": status.as_u16()})
            }
        };
        let _ = lines.send(last);
    });
    let body = futures_util::stream::unfold(received, |mut received| async move {
        let line = received.recv().await?;
        let mut bytes = serde_json::to_vec(&line).unwrap_or_default();
        bytes.push(b'\n');
        Some((Ok::<_, std::convert::Infallible>(bytes), received))
    });
    (
        [(axum::http::header::CONTENT_TYPE, BACKFILL_PROGRESS)],
        axum::body::Body::from_stream(body),
    )
        .into_response()
}

async fn accounts(State(web): State<WebState>, Path(connection): Path<String>, headers: HeaderMap) -> Response {
    let app = &web.app;
    if !status_page::authorized(&web, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "an admin token is required (Authorization: Bearer …)",
        );
    }
    match app.accounts(&connection).await {
        Ok(list) => Json(list).into_response(),
        Err(e @ AppError::UnknownConnection(_)) => error(StatusCode::NOT_FOUND, &e.to_string()),
        Err(e) => error(StatusCode::BAD_GATEWAY, &e.to_string()),
    }
}

/// `POST /api/preview` body: a query's name or a query file's absolute path, and how many
/// rows to show.
#[derive(serde::Deserialize)]
struct PreviewRequest {
    query: String,
    rows: usize,
}

async fn preview(State(web): State<WebState>, headers: HeaderMap, Json(request): Json<PreviewRequest>) -> Response {
    let app = &web.app;
    if !status_page::authorized(&web, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "an admin token is required (Authorization: Bearer …)",
        );
    }
    match app.preview(&request.query, request.rows).await {
        Ok(preview) => Json(preview).into_response(),
        Err(e @ AppError::UnknownQuery(_)) => error(StatusCode::NOT_FOUND, &e.to_string()),
        Err(e @ AppError::InvalidQuery(_)) => error(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(e) => error(StatusCode::BAD_GATEWAY, &e.to_string()),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}
