//! Who a login belongs to, asked of an OpenID Connect `userinfo` endpoint (OpenID Connect
//! Core 1.0 §5.3): Google's own, or the one a connection configures (`userinfo_url`, or the
//! `userinfo_endpoint` of an `issuer`'s discovery document, OpenID Connect Discovery 1.0 §4).

use serde::Deserialize;
use url::Url;

use crate::config::{ConnectionConfig, IdentityEndpoint};
use crate::http::google_status::classify;
use crate::http::{ApiClient, FetchError};
use crate::store::Identity;

/// The path of the discovery document under an issuer (Discovery 1.0 §4: appended to the
/// issuer after removing a trailing `/`).
const DISCOVERY_PATH: &str = ".well-known/openid-configuration";

/// The login's identity from the connection's configured endpoint; `None` when the
/// connection has none (the platform's own lookup then applies).
pub(crate) async fn configured(api: &ApiClient, conn: &ConnectionConfig) -> Option<Result<Identity, FetchError>> {
    let url = match &conn.identity_endpoint {
        IdentityEndpoint::Platform => return None,
        IdentityEndpoint::Userinfo(url) => Ok(url.clone()),
        IdentityEndpoint::Issuer(issuer) => discover(api, &conn.id, issuer).await,
    };
    Some(match url {
        Ok(url) => identity(api, &conn.id, url).await,
        Err(e) => Err(e),
    })
}

/// `GET {userinfo}` with the connection's token: `sub`, and the `email` or `name` people
/// know the login by, where the granted scopes give them.
pub(crate) async fn identity(api: &ApiClient, connection: &str, url: Url) -> Result<Identity, FetchError> {
    #[derive(Deserialize)]
    struct UserInfo {
        sub: String,
        #[serde(default)]
        email: Option<String>,
        #[serde(default)]
        name: Option<String>,
    }
    let info: UserInfo = api
        .fetch(
            connection,
            |http, token| http.get(url.clone()).bearer_auth(token),
            classify,
            |body| serde_json::from_slice(&body).map_err(|e| format!("unreadable userinfo answer: {e}")),
        )
        .await?;
    Ok(Identity {
        name: info.email.or(info.name).unwrap_or_else(|| info.sub.clone()),
        id: info.sub,
    })
}

/// The `userinfo_endpoint` of `issuer`'s discovery document. The document is public: the
/// request carries no token.
async fn discover(api: &ApiClient, connection: &str, issuer: &Url) -> Result<Url, FetchError> {
    #[derive(Deserialize)]
    struct Discovery {
        #[serde(default)]
        userinfo_endpoint: Option<String>,
    }
    let url = discovery_url(issuer);
    let document: Discovery = api
        .fetch(
            connection,
            |http, _token| http.get(url.clone()),
            classify,
            |body| serde_json::from_slice(&body).map_err(|e| format!("unreadable discovery document: {e}")),
        )
        .await?;
    let endpoint = document
        .userinfo_endpoint
        .ok_or_else(|| FetchError::Protocol(format!("the discovery document at {url} names no userinfo_endpoint")))?;
    Url::parse(&endpoint)
        .map_err(|e| FetchError::Protocol(format!("the discovery document's userinfo_endpoint {endpoint:?}: {e}")))
}

/// `{issuer}/.well-known/openid-configuration`, keeping any path the issuer has.
fn discovery_url(issuer: &Url) -> Url {
    let mut url = issuer.clone();
    let path = format!("{}/{DISCOVERY_PATH}", issuer.path().trim_end_matches('/'));
    url.set_path(&path);
    url.set_query(None);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_discovery_document_is_under_the_issuer_path() {
        let at = |issuer: &str| discovery_url(&Url::parse(issuer).unwrap()).to_string();
        assert_eq!(
            at("https://id.example"),
            "https://id.example/.well-known/openid-configuration"
        );
        assert_eq!(
            at("https://id.example/realms/ads/"),
            "https://id.example/realms/ads/.well-known/openid-configuration"
        );
    }
}
