//! HTML pages: self-contained (no third-party assets), never cached, under a strict CSP.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::notify::escape;

/// Headers every page carries.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A page with `title` and an already-escaped `body`.
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title} · adsync</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}}
table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}}
.needs_reconnect{{color:#a51d2d;font-weight:bold}}.expiring{{color:#c64600;font-weight:bold}}.connected{{color:#26a269}}
a.button,button{{display:inline-block;padding:.4rem .9rem;background:#1a5fb4;color:#fff;border:0;border-radius:4px;text-decoration:none}}
</style></head>
<body><h1>{title}</h1>
{body}
</body></html>"#,
        title = escape(title),
    );
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
    let mut body = format!("<p>{}</p>", escape(text));
    if let Some((label, href)) = link {
        body.push_str(&format!(
            r#"<p><a class="button" href="{}">{}</a></p>"#,
            escape(href),
            escape(label)
        ));
    }
    page(status, title, &body)
}
