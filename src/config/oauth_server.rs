//! How a connection talks to an authorization server that is not the platform's own (any
//! standards-conformant OAuth 2.0 / OpenID Connect server): where the login's identity is
//! asked, and how the client authenticates at the token endpoint.

use url::Url;

use super::{parse_url, Invalid};
use crate::platform::Provider;

/// Where a login's identity (who the token acts as) is asked after a consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IdentityEndpoint {
    /// The platform's own lookup (Graph `/me`, Google's userinfo, LinkedIn's account roles).
    Platform,
    /// An OpenID Connect userinfo endpoint at this URL (`userinfo_url`).
    Userinfo(Url),
    /// The `userinfo_endpoint` of this issuer's discovery document,
    /// `{issuer}/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4).
    Issuer(Url),
}

/// How the client id and secret reach the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientAuth {
    /// In the form body (`client_secret_post`): what Meta and LinkedIn read.
    Post,
    /// In an `Authorization: Basic` header (`client_secret_basic`), which RFC 6749 says
    /// every server must support and some servers require.
    Basic,
}

impl ClientAuth {
    /// The names `client_auth` accepts, as OpenID Connect's
    /// `token_endpoint_auth_methods_supported` spells them.
    const NAMES: [(&'static str, ClientAuth); 2] = [
        ("client_secret_post", ClientAuth::Post),
        ("client_secret_basic", ClientAuth::Basic),
    ];
}

/// `userinfo_url`, `issuer` and `client_auth` of one connection, checked; `field` names a
/// key of it.
pub(super) fn read(
    userinfo_url: Option<String>,
    issuer: Option<String>,
    client_auth: Option<String>,
    provider: Provider,
    field: &dyn Fn(&str) -> String,
) -> Result<(IdentityEndpoint, ClientAuth), Invalid> {
    let consent = provider != Provider::GoogleServiceAccount;
    let refuse_for_service_account = |name: &str| {
        (
            field(name),
            format!("{name} is for logins by consent; a google_service_account signs in with its key_file"),
        )
    };
    let url = |name: &str, text: String| parse_url(&text).map_err(|m| (field(name), m));
    let identity = match (userinfo_url, issuer) {
        (Some(_), Some(_)) => {
            return Err((
                field("issuer"),
                "set userinfo_url or issuer, not both: issuer only serves to find the userinfo endpoint".into(),
            ))
        }
        (Some(_), None) if !consent => return Err(refuse_for_service_account("userinfo_url")),
        (None, Some(_)) if !consent => return Err(refuse_for_service_account("issuer")),
        (Some(text), None) => IdentityEndpoint::Userinfo(url("userinfo_url", text)?),
        (None, Some(text)) => IdentityEndpoint::Issuer(url("issuer", text)?),
        (None, None) => IdentityEndpoint::Platform,
    };
    let client_auth = match client_auth {
        None => ClientAuth::Post,
        Some(_) if !consent => return Err(refuse_for_service_account("client_auth")),
        Some(name) => ClientAuth::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, auth)| *auth)
            .ok_or_else(|| {
                let names: Vec<&str> = ClientAuth::NAMES.iter().map(|(n, _)| *n).collect();
                (
                    field("client_auth"),
                    format!(
                        "{name:?} is not a client authentication method; use one of {}",
                        names.join(", ")
                    ),
                )
            })?,
    };
    Ok((identity, client_auth))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str) -> String {
        format!("connections[0].{name}")
    }

    fn read_google(
        userinfo: Option<&str>,
        issuer: Option<&str>,
        auth: Option<&str>,
    ) -> Result<(IdentityEndpoint, ClientAuth), Invalid> {
        read(
            userinfo.map(String::from),
            issuer.map(String::from),
            auth.map(String::from),
            Provider::Google,
            &field,
        )
    }

    #[test]
    fn defaults_are_the_platforms_lookup_and_the_form_body() {
        assert_eq!(
            read_google(None, None, None).unwrap(),
            (IdentityEndpoint::Platform, ClientAuth::Post)
        );
    }

    #[test]
    fn each_key_is_read() {
        let (identity, auth) = read_google(Some("https://id.example/me"), None, Some("client_secret_basic")).unwrap();
        assert_eq!(
            identity,
            IdentityEndpoint::Userinfo(Url::parse("https://id.example/me").unwrap())
        );
        assert_eq!(auth, ClientAuth::Basic);
        let (identity, _) = read_google(None, Some("https://id.example/realm"), None).unwrap();
        assert_eq!(
            identity,
            IdentityEndpoint::Issuer(Url::parse("https://id.example/realm").unwrap())
        );
    }

    #[test]
    fn mistakes_name_the_key() {
        let both = read_google(Some("https://a/"), Some("https://b/"), None).unwrap_err();
        assert_eq!(both.0, "connections[0].issuer");
        let bad_url = read_google(Some("ftp://a/"), None, None).unwrap_err();
        assert_eq!(bad_url.0, "connections[0].userinfo_url");
        let bad_auth = read_google(None, None, Some("private_key_jwt")).unwrap_err();
        assert_eq!(
            bad_auth,
            (
                "connections[0].client_auth".to_string(),
                "\"private_key_jwt\" is not a client authentication method; use one of client_secret_post, client_secret_basic".to_string()
            )
        );
        let service_account = read(
            None,
            None,
            Some("client_secret_basic".into()),
            Provider::GoogleServiceAccount,
            &field,
        )
        .unwrap_err();
        assert_eq!(service_account.0, "connections[0].client_auth");
    }
}
