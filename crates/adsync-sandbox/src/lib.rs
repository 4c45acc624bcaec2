//! adsync's sandbox: a local emulation of the ad platforms' documented API shapes and OAuth,
//! so the real provider code runs end to end without the internet.
//!
//! It is its own crate and depends on nothing of adsync: an emulator that reused the
//! client's types (its levels, date windows, field lists) would agree with the client's
//! mistakes. The few it needs it keeps as small copies of its own ([`DateWindow`],
//! [`meta::data::Level`]).
//!
//! It serves each platform at the real paths (only scheme, host and port differ):
//! - Meta's authorization server: `GET|POST /{version}/dialog/oauth` (consent) and
//!   `GET|POST /{version}/oauth/access_token` (`oauth`);
//! - the Meta Marketing API Insights edge, async report runs, `/me` and friends (`meta`);
//! - Google's authorization server (`/o/oauth2/v2/auth`, `/token`) and OpenID `/v1/userinfo`
//!   (`oauth_google`), LinkedIn's (`/oauth/v2/authorization`, `/oauth/v2/accessToken`,
//!   `oauth_linkedin`); every issuer's tokens live in one book ([`tokens`]);
//! - the Google Ads API's `customers:listAccessibleCustomers` and streamed
//!   `googleAds:searchStream` with GAQL (`google_ads`);
//! - the GA4 Data API's `properties/{id}:runReport` and the Admin API's `accountSummaries`
//!   (`ga4`);
//! - LinkedIn's `/rest/adAnalytics` (plain and tunneled) and `/rest/adAccountUsers`
//!   (`linkedin`);
//! - the Google Sheets API v4 (`spreadsheets.get`, `batchUpdate`, `values.*`) and Google
//!   service accounts' JWT-bearer grant at `/token` (`sheets`);
//! - a control API under `/_sandbox/` for tests and scripts (`control`).
//!
//! Report data is a pure function of account, date and entity ([`meta::data`] and each
//! platform's own, all drawing from one hash), so tests compute the exact expected output. The sandbox listens on loopback only.
//!
//! Its modules, bottom first; each imports only modules above it in this list:
//! - `window`: the sandbox's own date window ([`DateWindow`]);
//! - `draws`: the one hash every platform's report data draws from;
//! - `params`: request parameters (query string and form body) and bearer tokens;
//! - `settings`: [`SandboxSettings`], with each platform's part in a submodule of its own;
//! - [`tokens`]: every issuer's codes, access tokens and refresh grants in one book (settings);
//! - `error`: Graph's and RFC 6749's error shapes (tokens);
//! - `google_status`: the `google.rpc.Status` error envelope Google's APIs share (tokens);
//! - [`faults`]: injected faults and holds (error);
//! - `state`: the world behind one lock, platform stores kept by type, counters (faults,
//!   settings, tokens);
//! - `oauth`: Meta's authorization server and the consent step the others share (state and
//!   below);
//! - [`oauth_linkedin`]: LinkedIn's authorization server (oauth and below);
//! - [`meta`]: the Marketing API and its async report runs (state and below);
//! - [`google_ads`], [`ga4`], [`linkedin`]: those platforms' APIs (state and below);
//! - [`sheets`]: the Sheets API, spreadsheets and service accounts (state and below);
//! - [`oauth_google`]: Google's authorization server, which also grants service accounts'
//!   JWTs (oauth, sheets and below);
//! - `control`: the control API under `/_sandbox/` (state and below);
//!
//! and this file, on top, routes each path to its module.

mod control;
mod draws;
mod error;
pub mod faults;
pub mod ga4;
pub mod google_ads;
mod google_status;
pub mod linkedin;
pub mod meta;
mod oauth;
pub mod oauth_google;
pub mod oauth_linkedin;
mod params;
mod settings;
pub mod sheets;
mod state;
pub mod tokens;
mod window;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use faults::{Fault, FaultKind, Hold, HoldPoint};
pub use oauth::DEFAULT_USER;
pub use settings::SandboxSettings;
pub use state::{Sandbox, Stats};
pub use tokens::RevokeReason;
pub use window::DateWindow;

use state::{Counters, InFlight};

/// Where `adsync sandbox` listens, and where `examples/adsync.toml` points its connections.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8788";

/// A running sandbox server.
pub struct SandboxHandle {
    sandbox: Sandbox,
    shutdown: CancellationToken,
    task: JoinHandle<io::Result<()>>,
}

impl SandboxHandle {
    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.sandbox.base_url().to_string()
    }

    /// The world, for tests that change it directly.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Stops accepting requests and waits for the server to finish.
    pub async fn shutdown(self) {
        // A held request would keep its connection, and so the server, alive forever.
        self.sandbox.release_holds();
        self.shutdown.cancel();
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "Sandbox server stopped with an error."),
            Err(e) => tracing::warn!(error = %e, "Sandbox server task failed."),
        }
    }
}

/// Starts the sandbox on `listen` (port 0 picks a free port).
pub async fn spawn(listen: SocketAddr, settings: SandboxSettings) -> io::Result<SandboxHandle> {
    if !listen.ip().is_loopback() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the sandbox listens on loopback only; {listen} is not a loopback address"),
        ));
    }
    let listener = TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    let sandbox = Sandbox::new(format!("http://{address}"), settings);
    let shutdown = CancellationToken::new();
    let server =
        axum::serve(listener, router(sandbox.clone())).with_graceful_shutdown(shutdown.clone().cancelled_owned());
    let task = tokio::spawn(async move { server.await });
    Ok(SandboxHandle {
        sandbox,
        shutdown,
        task,
    })
}

/// Every route of the sandbox.
pub fn router(sandbox: Sandbox) -> Router {
    let api = Router::new()
        .route("/{version}/me/adaccounts", get(meta::ad_accounts))
        .route("/{version}/{node}", get(meta::node))
        .route("/{version}/{node}/insights", get(meta::insights).post(meta::insights))
        .merge(google_ads::routes())
        .merge(ga4::routes())
        .merge(linkedin::routes())
        .merge(sheets::routes())
        .route_layer(middleware::from_fn_with_state(sandbox.clone(), api_usage));
    let platform = Router::new()
        .route("/{version}/dialog/oauth", get(oauth::authorize).post(oauth::decide))
        .route("/{version}/oauth/access_token", get(oauth::token).post(oauth::token))
        .merge(oauth_google::routes())
        .merge(oauth_linkedin::routes())
        .merge(api)
        .route_layer(middleware::from_fn_with_state(sandbox.clone(), inject_faults))
        .route_layer(middleware::from_fn_with_state(sandbox.clone(), hold_requests));
    let control = Router::new()
        .route(
            "/_sandbox/settings",
            get(control::get_settings).put(control::put_settings),
        )
        .route("/_sandbox/users/{user}/revoke", post(control::revoke))
        .route(
            "/_sandbox/users/{user}/expire-access-tokens",
            post(control::expire_access_tokens),
        )
        .route(
            "/_sandbox/users/{user}/accounts/{change}",
            post(control::account_access),
        )
        .route(
            "/_sandbox/faults",
            post(control::push_fault).delete(control::clear_faults),
        )
        .route(
            "/_sandbox/holds",
            post(control::push_hold).delete(control::release_holds),
        )
        .route("/_sandbox/stats", get(control::stats))
        .route("/_sandbox/clock/advance", post(control::advance_clock))
        .route("/_sandbox/meta/insights-requests", get(meta::insights_requests))
        .merge(sheets::control_routes());
    platform.merge(control).with_state(sandbox)
}

/// Counts API requests and their concurrency, and adds the configured latency.
async fn api_usage(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    let _in_flight = InFlight::enter(sandbox.counters());
    let latency = sandbox.with_settings(|s| s.latency_ms);
    if latency > 0 {
        // Emulates the platform's distance; the sandbox's own time, not the daemon's.
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    next.run(request).await
}

/// Makes a request wait at a queued hold, before or after it is processed.
async fn hold_requests(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    let Some((point, release)) = sandbox.take_hold(request.uri().path()) else {
        return next.run(request).await;
    };
    if point == HoldPoint::Before {
        sandbox.wait_for_release(release).await;
        return next.run(request).await;
    }
    let response = next.run(request).await;
    sandbox.wait_for_release(release).await;
    response
}

/// Answers a request with the next queued fault that matches its path.
async fn inject_faults(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let Some(fault) = sandbox.world().faults.take(&path) else {
        return next.run(request).await;
    };
    Counters::bump(&sandbox.counters().faults_injected, 1);
    // Each platform answers a fault in its own error shape; Meta's Graph shape is the rest.
    type Shape = (fn(&str) -> bool, fn(&Fault) -> Option<Response>);
    const SHAPES: [Shape; 6] = [
        (google_ads::serves, google_ads::fault_response),
        (ga4::serves, ga4::fault_response),
        (linkedin::serves, linkedin::fault_response),
        (sheets::serves, sheets::fault_response),
        (oauth_google::serves, oauth_google::fault_response),
        (oauth_linkedin::serves, oauth_linkedin::fault_response),
    ];
    let platform_answer = SHAPES
        .iter()
        .find(|(serves, _)| serves(&path))
        .map(|(_, answer)| answer(&fault));
    match platform_answer {
        Some(Some(answer)) => return answer,
        Some(None) => {}
        None => {
            if let Some(error) = faults::error_response(&fault, &path) {
                return error.into_response();
            }
        }
    }
    // A body cut off halfway, as a dropped connection or a proxy might leave it.
    let response = next.run(request).await;
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let cut = bytes.slice(..bytes.len() / 2);
    Response::from_parts(parts, axum::body::Body::from(cut))
}
