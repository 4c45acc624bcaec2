//! What operators and supervisors poll: `/healthz` (the process answers), `/readyz` (it can
//! do its work) and `/metrics` (Prometheus text).

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::{error, status_page, WebState};
use crate::scheduler::Heartbeat;

/// The scheduler beats every few seconds; this much silence means its loop is stuck.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// Liveness: answers while the process serves requests.
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// `/readyz`'s answer: each check, `ok` or what is wrong.
#[derive(Serialize)]
struct Readiness {
    ready: bool,
    /// The listener is up: it took this request.
    listener: String,
    store: String,
    scheduler: String,
}

/// Readiness: 200 when the store can be read and the scheduler loop has started and beat
/// recently; else 503 naming what is not ready.
pub(crate) async fn readyz(State(web): State<WebState>) -> Response {
    let store = match web.app.store().check_readable().await {
        Ok(()) => "ok".to_string(),
        Err(e) => format!("cannot read the store: {e}"),
    };
    let scheduler = scheduler_check(web.app.heartbeat());
    let ready = store == "ok" && scheduler == "ok";
    let body = Readiness {
        ready,
        listener: "ok".to_string(),
        store,
        scheduler,
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

fn scheduler_check(heartbeat: &Heartbeat) -> String {
    match heartbeat.age() {
        None => "not running (starting or stopping)".to_string(),
        Some(age) if age > STALE_AFTER => format!("no heartbeat for {} s", age.as_secs()),
        Some(_) => "ok".to_string(),
    }
}

/// Prometheus text exposition, under the same access rule as `/api/*`.
pub(crate) async fn metrics(State(web): State<WebState>, headers: HeaderMap) -> Response {
    if !status_page::authorized(&web, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "an admin token is required (Authorization: Bearer …)",
        );
    }
    let report = match web.app.status().await {
        Ok(report) => report,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let states = report.connections.iter().map(|c| c.state.as_str());
    let open_gaps = report.gaps.iter().filter(|g| g.state == "open").count();
    let text = crate::telemetry::render(states, open_gaps);
    // The exposition format's content type (prometheus.io/docs/instrumenting/exposition_formats).
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheduler_is_ready_only_while_it_beats() {
        let heartbeat = Heartbeat::default();
        assert_eq!(scheduler_check(&heartbeat), "not running (starting or stopping)");
        heartbeat.beat();
        assert_eq!(scheduler_check(&heartbeat), "ok");
    }
}
