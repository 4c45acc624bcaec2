//! What every request passes before a route sees it: the `Host` must be this endpoint's
//! (a page of another site that rebinds its DNS name to 127.0.0.1 still sends its own name),
//! and a `POST` must come from this endpoint's own pages or carry the admin token (a form on
//! another site can make a browser post here, but cannot make it claim this origin).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use url::Url;

use super::session::{bearer, secret_matches};
use super::WebState;

/// Refuses requests for another host, and cross-site state changes.
pub(crate) async fn same_site_only(State(web): State<WebState>, request: Request, next: Next) -> Response {
    let config = web.app.config();
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    let Some(host) = host.filter(|h| host_allowed(config.listen, &config.public_url, h)) else {
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            &format!(
                "this endpoint answers only at {} (or its listen address)",
                config.public_url
            ),
        );
    };
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let admin = config
        .admin_token
        .as_ref()
        .zip(bearer(request.headers()))
        .is_some_and(|(expected, given)| secret_matches(given, expected.expose()));
    if !safe && !admin && !same_origin(request.headers(), &host, &config.public_url) {
        return refuse(
            StatusCode::FORBIDDEN,
            "a cross-site request cannot change anything here: send it from this endpoint's own \
             pages, or with the admin token (Authorization: Bearer …)",
        );
    }
    next.run(request).await
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

/// Whether `host` (a `Host` header: name or address, maybe a port) names this endpoint: the
/// public URL's host, the listen address, and on a loopback listener any loopback name; on
/// an all-interfaces listener any IP address (an address cannot be rebound).
fn host_allowed(listen: SocketAddr, public_url: &Url, host: &str) -> bool {
    let Some(name) = Url::parse(&format!("http://{host}/"))
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    else {
        return false;
    };
    if public_url.host_str().is_some_and(|h| h.eq_ignore_ascii_case(&name)) {
        return true;
    }
    let ip = name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    match ip {
        Some(ip) => {
            ip == listen.ip() || listen.ip().is_unspecified() || (listen.ip().is_loopback() && ip.is_loopback())
        }
        None => listen.ip().is_loopback() && name == "localhost",
    }
}

/// Whether a browser says the request comes from this endpoint's own pages:
/// `Sec-Fetch-Site: same-origin`, or else an `Origin` of the public URL or of the host asked.
/// A request with neither is not trusted (non-browser clients send the bearer token, or an
/// `Origin` naming the endpoint like the CLI does).
fn same_origin(headers: &HeaderMap, host: &str, public_url: &Url) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return false;
    };
    origin == public_url.origin().ascii_serialization()
        || origin == format!("http://{host}")
        || origin == format!("https://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(listen: &str, public_url: &str, host: &str) -> bool {
        host_allowed(
            listen.parse().expect("an address"),
            &public_url.parse().expect("a URL"),
            host,
        )
    }

    #[test]
    fn only_this_endpoints_names_are_served() {
        let public = "https://adsync.example.com/";
        assert!(allowed("127.0.0.1:8787", "http://127.0.0.1:8787", "127.0.0.1:8787"));
        assert!(allowed("127.0.0.1:8787", "http://127.0.0.1:8787", "localhost:8787"));
        assert!(allowed("127.0.0.1:8787", public, "ADSYNC.example.com"));
        assert!(!allowed("127.0.0.1:8787", "http://127.0.0.1:8787", "attacker.example"));
        assert!(!allowed(
            "127.0.0.1:8787",
            "http://127.0.0.1:8787",
            "attacker.example:8787"
        ));
        assert!(!allowed("10.0.0.5:8787", public, "127.0.0.1:8787"));
        assert!(allowed("10.0.0.5:8787", public, "10.0.0.5:8787"));
        assert!(allowed("0.0.0.0:8787", public, "192.0.2.1:8787"));
        assert!(!allowed("0.0.0.0:8787", public, "localhost:8787"));
        assert!(allowed("[::1]:8787", "http://[::1]:8787", "[::1]:8787"));
        assert!(!allowed("127.0.0.1:8787", public, "bad host:1"));
    }

    #[test]
    fn a_post_is_same_origin_by_fetch_metadata_or_origin() {
        let public: Url = "http://127.0.0.1:8787".parse().expect("a URL");
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, value.parse().expect("a header value"));
            }
            map
        };
        let host = "127.0.0.1:8787";
        assert!(same_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            host,
            &public
        ));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "cross-site"), ("origin", "http://127.0.0.1:8787")]),
            host,
            &public
        ));
        assert!(same_origin(
            &headers(&[("origin", "http://127.0.0.1:8787")]),
            host,
            &public
        ));
        assert!(!same_origin(
            &headers(&[("origin", "https://attacker.example")]),
            host,
            &public
        ));
        assert!(!same_origin(&headers(&[("origin", "null")]), host, &public));
        assert!(!same_origin(&headers(&[]), host, &public));
    }
}
