//! What Google's APIs share: the `google.rpc.Status` error envelope (Google Ads and GA4 both
//! answer errors in it) and the OpenID Connect `userinfo` endpoint that names the person a
//! Google login belongs to.

use crate::config::ConnectionConfig;
use crate::http::{ApiClient, FetchError};
use crate::platform::USERINFO_BASE;
use crate::store::Identity;

/// The person a Google login belongs to (`GET /v1/userinfo`, scopes `openid email`).
pub(crate) async fn identity(api: &ApiClient, conn: &ConnectionConfig) -> Result<Identity, FetchError> {
    let mut url = conn.api_base(USERINFO_BASE);
    url.set_path("/v1/userinfo");
    crate::sources::userinfo::identity(api, &conn.id, url).await
}
