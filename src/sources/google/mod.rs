//! What Google's APIs share: the `google.rpc.Status` error envelope (Google Ads and GA4 both
//! answer errors in it) and the OpenID Connect `userinfo` endpoint that names the person a
//! Google login belongs to.

use serde::Deserialize;

use crate::config::ConnectionConfig;
use crate::http::{ApiClient, FetchError};
use crate::platform::USERINFO_BASE;
use crate::store::Identity;

/// The person a Google login belongs to (`GET /v1/userinfo`, scopes `openid email`).
pub(crate) async fn identity(api: &ApiClient, conn: &ConnectionConfig) -> Result<Identity, FetchError> {
    #[derive(Deserialize)]
    struct UserInfo {
        sub: String,
        #[serde(default)]
        email: Option<String>,
        #[serde(default)]
        name: Option<String>,
    }
    let mut url = conn.api_base(USERINFO_BASE);
    url.set_path("/v1/userinfo");
    let info: UserInfo = api
        .fetch(
            &conn.id,
            |http, token| http.get(url.clone()).bearer_auth(token),
            crate::http::google_status::classify,
            |body| serde_json::from_slice(&body).map_err(|e| e.to_string()),
        )
        .await?;
    Ok(Identity {
        name: info.email.or(info.name).unwrap_or_else(|| info.sub.clone()),
        id: info.sub,
    })
}
