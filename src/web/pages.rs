//! HTML pages: self-contained (no third-party assets), never cached, under a strict CSP.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use maud::{html, PreEscaped, Render, DOCTYPE};

/// Headers every page carries.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The pages' look: plain, readable, no script. A state's class is its name; states without
/// a colour of their own (added later) get the attention colour.
const CSS: &str = "\
body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.4}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}
td ul{margin:0;padding-left:1.1rem}small,.summary{color:#555}p.why{margin:.3rem 0 0}time,small code{white-space:nowrap}
code{font-size:.9em;overflow-wrap:anywhere}td.output{min-width:14rem}
.state{font-weight:bold;color:#a51d2d}.state.connected,.state.active,.state.delivered{color:#26a269}
.state.expiring,.state.paused{color:#c64600}
a.button,button{display:inline-block;padding:.4rem .9rem;background:#1a5fb4;color:#fff;border:0;border-radius:4px;text-decoration:none}
";

/// A page with `title` and an already-escaped `body` (HTML made elsewhere).
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    markup_page(status, title, PreEscaped(body))
}

/// A page with `title` and `body`.
pub(crate) fn markup_page(status: StatusCode, title: &str, body: impl Render) -> Response {
    let html = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width";
                title { (title) " · adsync" }
                style { (PreEscaped(CSS)) }
            }
            body { h1 { (title) } (body) }
        }
    }
    .into_string();
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Reconnect links carry their signature in the query; do not hand it to other sites.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// A page with one paragraph of plain `text` and an optional link button.
pub(crate) fn message(status: StatusCode, title: &str, text: &str, link: Option<(&str, &str)>) -> Response {
    let body = html! {
        p { (text) }
        @if let Some((label, href)) = link { p { a.button href=(href) { (label) } } }
    };
    markup_page(status, title, body)
}
