//! The daemon's auth layer against the sandbox's Google and LinkedIn authorization servers:
//! consent, the code exchange, Google's identity from OpenID `userinfo`, and refreshes
//! (neither platform rotates refresh tokens; LinkedIn's keeps its first expiry).

use adsync::app::App;
use adsync::clock::Clock;
use adsync::sources::Provider;
use chrono::Duration;

use crate::helpers::{TestApp, GOOGLE, LINKEDIN};

const USER: &str = "ann@corp.test";

async fn with_provider_connections() -> TestApp {
    TestApp::with_providers("2026-03-10T08:00:00Z", "").await
}

/// The consent round trip (auto-approved) and the code exchange, without the identity check
/// `connect_via_sandbox` adds.
async fn authorize(app: &App, connection: &str) {
    let pending = app.auth().begin_authorization(connection, Some(USER)).unwrap();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = browser.get(pending.url.clone()).send().await.unwrap();
    let location = response.headers()[reqwest::header::LOCATION].to_str().unwrap();
    let redirect = url::Url::parse(location).unwrap();
    let code = redirect
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("consent gave a code");
    app.auth()
        .complete_authorization(connection, &code, &pending.verifier)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_google_connection_connects_names_its_user_and_refreshes_without_rotation() {
    let test = with_provider_connections().await;
    let app = test.app().await;
    adsync::demo::connect_via_sandbox(&app, GOOGLE, USER)
        .await
        .expect("connects through the sandbox's Google server");

    let stored = app
        .auth()
        .store()
        .token(GOOGLE)
        .await
        .unwrap()
        .expect("a token is stored");
    let configured = &app.config().connections.iter().find(|c| c.id == GOOGLE).unwrap();
    assert_eq!(configured.provider, Provider::Google);
    assert_eq!(stored.scopes, configured.scopes, "scopes are stored as granted");
    let identity = stored.identity.clone().expect("the identity is recorded");
    assert_eq!(identity.name, USER);
    assert_eq!(
        identity.id.len(),
        21,
        "Google account ids are 21 digits: {}",
        identity.id
    );
    let refresh_token = stored
        .refresh_token
        .clone()
        .expect("offline access gave a refresh token");
    let status = app.status().await.unwrap();
    let view = status.connections.iter().find(|c| c.id == GOOGLE).unwrap();
    assert_eq!(view.status, "connected");
    assert_eq!(view.identity.as_deref(), Some(USER));

    // The platform expires the access token; the next call is refused, refreshed and retried.
    test.expire_access_tokens(USER).await;
    let source = app.any_source(GOOGLE).unwrap();
    assert_eq!(source.identity().await.unwrap(), identity);
    assert_eq!(test.sandbox.sandbox().stats().refresh_grants, 1);
    let renewed = app.auth().store().token(GOOGLE).await.unwrap().unwrap();
    assert_ne!(renewed.access_token, stored.access_token);
    assert_eq!(renewed.refresh_token.as_deref(), Some(refresh_token.as_str()));
    assert_eq!(renewed.scopes, stored.scopes);
}

#[tokio::test]
async fn a_revoked_google_grant_pauses_the_connection() {
    let test = with_provider_connections().await;
    let app = test.app().await;
    adsync::demo::connect_via_sandbox(&app, GOOGLE, USER).await.unwrap();
    test.revoke(USER, "password_changed").await;

    let error = app.any_source(GOOGLE).unwrap().identity().await.unwrap_err();
    assert!(error.to_string().contains("reconnect"), "{error}");
    let status = app.status().await.unwrap();
    let view = status.connections.iter().find(|c| c.id == GOOGLE).unwrap();
    assert_eq!(view.status, "needs_reconnect");
    assert_eq!(
        view.detail
            .as_deref()
            .map(|d| d.contains("Token has been expired or revoked.")),
        Some(true),
        "{view:?}"
    );
}

#[tokio::test]
async fn a_linkedin_refresh_keeps_the_refresh_token_and_its_first_expiry() {
    let test = with_provider_connections().await;
    let app = test.app().await;
    authorize(&app, LINKEDIN).await;
    let stored = app.auth().store().token(LINKEDIN).await.unwrap().unwrap();
    let refresh_token = stored.refresh_token.clone().expect("a programmatic refresh token");
    let year_end = stored.refresh_expires_at.expect("its lifetime is known");
    assert_eq!(year_end, test.clock.now() + Duration::days(365));
    assert_eq!(stored.access_expires_at, Some(test.clock.now() + Duration::days(60)));

    // Day 59: a new 60-day access token, the same refresh token, its end unmoved.
    let later = Duration::days(59);
    test.sandbox.sandbox().advance_clock(later.num_seconds()).unwrap();
    test.clock.advance(later);
    let access_token = app.auth().refresh(LINKEDIN, &stored.access_token, None).await.unwrap();
    let renewed = app.auth().store().token(LINKEDIN).await.unwrap().unwrap();
    assert_eq!(renewed.access_token, access_token);
    assert_ne!(renewed.access_token, stored.access_token);
    assert_eq!(renewed.refresh_token.as_deref(), Some(refresh_token.as_str()));
    // The sandbox counts on the wall clock, which may have ticked a second meanwhile.
    let moved = (renewed.refresh_expires_at.unwrap() - year_end).num_seconds();
    assert!((-2..=0).contains(&moved), "the refresh token's end moved by {moved} s");
}
