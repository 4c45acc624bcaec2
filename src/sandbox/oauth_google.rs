//! Google's authorization server (`/o/oauth2/v2/auth`, `/token`) and OpenID Connect `/v1/userinfo`, at the real paths.

use axum::response::Response;
use axum::Router;
use serde::{Deserialize, Serialize};

use super::faults::Fault;
use super::state::Sandbox;

/// This part of the sandbox world, in `PUT /_sandbox/settings` under its own key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {}

/// The routes this module serves.
pub fn routes() -> Router<Sandbox> {
    Router::new()
}

/// Whether a request to `path` is this module's (injected faults then take its error shape).
pub fn serves(_path: &str) -> bool {
    false
}

/// The error answer of an injected `fault` in this platform's shape; `None` for faults
/// that do not replace the answer (truncation).
pub fn fault_response(_fault: &Fault) -> Option<Response> {
    None
}
