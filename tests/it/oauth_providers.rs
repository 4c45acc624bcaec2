//! The daemon's auth layer against the sandbox's Google and LinkedIn authorization servers:
//! consent, the code exchange, Google's identity from OpenID `userinfo`, and refreshes
//! (neither platform rotates refresh tokens; LinkedIn's keeps its first expiry).

use adsync::app::App;
use adsync::clock::Clock;
use adsync::sources::Provider;
use chrono::Duration;

use crate::helpers::{at, consent_code, eventually, Daemon, TestApp, GOOGLE, LINKEDIN};
use crate::mail::SmtpServer;
use crate::platforms::query;

const USER: &str = "ann@corp.test";

async fn with_provider_connections() -> TestApp {
    TestApp::with_providers("2026-03-10T08:00:00Z", "").await
}

/// The consent round trip (auto-approved) and the code exchange, without the identity check
/// `connect_via_sandbox` adds.
async fn authorize(app: &App, connection: &str) {
    let pending = app.auth().begin_authorization(connection, Some(USER)).unwrap();
    let code = consent_code(&pending.url).await;
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
    let config = app.config();
    let configured = &config.connections.iter().find(|c| c.id == GOOGLE).unwrap();
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

/// How the Google connection's authorization server names the login in [`reconnect_via`].
enum IdentityAt {
    /// `userinfo_url` set to the server's own path.
    UserinfoUrl,
    /// `issuer` set; the discovery document names the path.
    Issuer,
}

/// A Google connection whose authorization server is a standards-conformant one (userinfo
/// at its own path, not Google's): connect, lose the login, miss a fire, reconnect; the
/// account check, the backfill and the recovery email all happen, and the login is named.
async fn reconnect_via(at_server: IdentityAt) {
    let smtp = SmtpServer::start().await;
    let test = with_provider_connections().await;
    let standard = serde_json::json!({"google_oauth": {"standard_userinfo": true}});
    test.control(reqwest::Method::PUT, "/_sandbox/settings", Some(standard))
        .await;
    let base = test.sandbox.base_url();
    let identity_key = match at_server {
        IdentityAt::UserinfoUrl => format!("userinfo_url = \"{base}/oidc/userinfo\""),
        IdentityAt::Issuer => format!("issuer = \"{base}\""),
    };
    test.write_provider_config(
        &format!("{identity_key}\nowners = [\"owner@example.com\"]"),
        &smtp.config(72),
    );
    let dates = ("2026-03-01", "2026-03-02");
    let fields = ["segments.date", "metrics.clicks"];
    test.write_query(
        "ads",
        &query(GOOGLE, "google_ads", &["1234567890"], Some("account"), &fields, dates),
    );
    let app = test.app().await;
    adsync::demo::connect_via_sandbox(&app, GOOGLE, USER)
        .await
        .expect("connects and names the login at the server's own userinfo");
    let daemon = Daemon::start(app, "ads").await;
    let app = daemon.app.clone();

    test.revoke(USER, "password_changed").await;
    test.clock.set(at("2026-03-11T06:00:00Z"));
    daemon.runs("ads", 1).await;
    assert_eq!(
        app.store().gaps("ads").await.unwrap().len(),
        1,
        "the missed fire is a gap"
    );

    let pending = app.auth().begin_authorization(GOOGLE, Some(USER)).unwrap();
    let code = consent_code(&pending.url).await;
    let report = adsync::reconnect::complete(&app, GOOGLE, &code, &pending.verifier)
        .await
        .expect("the reconnect completes");
    assert_eq!(report.identity.as_deref(), Some(USER), "{report:?}");
    assert_eq!(report.resumed, ["ads"], "the account check passed: {report:?}");
    // A `replace` output gets one fresh run, which supersedes the gap.
    eventually("the gap to be made good", async || {
        let gaps = app.store().gaps("ads").await.unwrap();
        (gaps[0].state == adsync::store::GapState::Superseded).then_some(())
    })
    .await;
    let mails = eventually("the recovery email", async || {
        Some(smtp.messages()).filter(|m| m.iter().any(|m| m.subject.contains("connected again")))
    })
    .await;
    let recovery = mails.iter().find(|m| m.subject.contains("connected again")).unwrap();
    assert!(
        recovery.text.contains(&format!("connected again, as {USER}"))
            && recovery.text.contains("Resumed: ads.")
            && recovery.text.contains("superseded"),
        "{}",
        recovery.text
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_against_a_server_with_its_own_userinfo_url_checks_backfills_and_emails() {
    reconnect_via(IdentityAt::UserinfoUrl).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_against_a_server_found_by_issuer_discovery_checks_backfills_and_emails() {
    reconnect_via(IdentityAt::Issuer).await;
}

#[tokio::test]
async fn a_failed_identity_lookup_is_said_and_skips_nothing() {
    let test = with_provider_connections().await;
    adsync::demo::connect_via_sandbox(&test.app().await, GOOGLE, USER)
        .await
        .unwrap();
    // The server moved its userinfo; the connection still asks Google's path.
    let standard = serde_json::json!({"google_oauth": {"standard_userinfo": true}});
    test.control(reqwest::Method::PUT, "/_sandbox/settings", Some(standard))
        .await;
    let dates = ("2026-03-01", "2026-03-02");
    let fields = ["segments.date", "metrics.clicks"];
    test.write_query(
        "ads",
        &query(GOOGLE, "google_ads", &["1234567890"], Some("account"), &fields, dates),
    );
    let app = test.app().await;
    let pending = app.auth().begin_authorization(GOOGLE, Some(USER)).unwrap();
    let code = consent_code(&pending.url).await;
    let report = adsync::reconnect::complete(&app, GOOGLE, &code, &pending.verifier)
        .await
        .expect("a failed identity lookup does not fail the reconnect");
    assert_eq!(report.identity, None);
    assert!(
        report.identity_error.as_deref().is_some_and(|e| e.contains("404")),
        "{report:?}"
    );
    assert_eq!(report.resumed, ["ads"], "the account check still ran");
}

#[tokio::test]
async fn client_secret_basic_works_against_a_server_that_requires_it() {
    let test = with_provider_connections().await;
    let basic_only = serde_json::json!({"google_oauth": {"require_basic_auth": true}});
    test.control(reqwest::Method::PUT, "/_sandbox/settings", Some(basic_only))
        .await;
    let refused = adsync::demo::connect_via_sandbox(&test.app().await, GOOGLE, USER)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("invalid_client"), "{refused}");

    test.write_provider_config("client_auth = \"client_secret_basic\"", "");
    let app = test.app().await;
    adsync::demo::connect_via_sandbox(&app, GOOGLE, USER)
        .await
        .expect("connects with the secret in a Basic header");
    let stored = app.auth().store().token(GOOGLE).await.unwrap().unwrap();
    let renewed = app.auth().refresh(GOOGLE, &stored.access_token, None).await.unwrap();
    assert_ne!(renewed, stored.access_token, "the refresh authenticated with Basic too");
}
