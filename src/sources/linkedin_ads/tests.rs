//! The LinkedIn connector against the spawned sandbox
//! (real HTTP on loopback, the real auth layer and retry policy, and the sandbox's data
//! function as the expected answer).

use std::sync::Arc;

use chrono::{Duration, Utc};
use serde_json::json;
use tokio::sync::mpsc;

use super::LinkedinAds;
use crate::auth::{Auth, AuthError};
use crate::clock::ManualClock;
use crate::config::{Config, Overrides};
use crate::http::{ApiClient, FetchError};
use crate::query::Query;
use crate::rows::{DateWindow, RowBatch};
use crate::sources::{Provider, Source};
use crate::store::{ConnectionState, ConnectionStatus, SecretKey, Store, TokenSet};
use adsync_sandbox::linkedin::data::{self, AnalyticsQuery, Facet, Pivot};
use adsync_sandbox::linkedin::person_urn;
use adsync_sandbox::linkedin::testing::issue_token;
use adsync_sandbox::{spawn, Fault, SandboxHandle, SandboxSettings};

const USER: &str = "ann";
const ACCOUNTS: [u64; 2] = [511009658, 511009659];
/// 22 metrics: more than one request's worth.
const METRICS: [&str; 22] = [
    "impressions",
    "clicks",
    "costInLocalCurrency",
    "costInUsd",
    "externalWebsiteConversions",
    "landingPageClicks",
    "likes",
    "shares",
    "comments",
    "follows",
    "videoViews",
    "oneClickLeads",
    "totalEngagements",
    "reactions",
    "videoStarts",
    "videoCompletions",
    "opens",
    "sends",
    "conversionValueInLocalCurrency",
    "actionClicks",
    "viralImpressions",
    "textUrlClicks",
];

/// A sandbox, a store holding a LinkedIn token consented `consented_ago`, and the reader.
struct Rig {
    sandbox: SandboxHandle,
    dir: tempfile::TempDir,
    source: LinkedinAds,
}

async fn rig(consented_ago: Duration) -> Rig {
    let sandbox = spawn("127.0.0.1:0".parse().unwrap(), SandboxSettings::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = sandbox.base_url();
    let text = format!(
        r#"
public_url = "http://127.0.0.1:1"
data_dir = "state"
queries_dir = "queries"
output_dir = "out"

[http]
max_retries = 3
retry_initial_backoff_ms = 1
retry_max_backoff_ms = 5
request_timeout_secs = 10

[[connections]]
id = "li"
provider = "linkedin_ads"
client_id = "test-app"
client_secret = "test-app-secret"
auth_url = "{base}/oauth/v2/authorization"
token_url = "{base}/oauth/v2/accessToken"
api_base_url = "{base}"
"#
    );
    let config = Config::parse(
        &text,
        &dir.path().join("adsync.toml"),
        dir.path(),
        &Overrides::default(),
    )
    .unwrap();
    let store = Store::open_with_key(&dir.path().join("state"), &SecretKey::generate()).unwrap();
    let now = Utc::now();
    let scopes = ["r_ads_reporting", "r_ads"];
    let token = TokenSet {
        access_token: issue_token(sandbox.sandbox(), USER, &scopes),
        refresh_token: None,
        access_expires_at: Some(now + Duration::hours(1)),
        refresh_expires_at: None,
        scopes: scopes.map(String::from).to_vec(),
        identity: None,
        obtained_at: now - consented_ago,
        last_used_at: Some(now),
        data_access_expires_at: None,
        self_renewing: false,
        refresh_started_at: None,
    };
    store.put_token("li", &token).await.unwrap();
    store
        .put_connection(
            "li",
            &ConnectionState {
                status: ConnectionStatus::Connected,
                since: now - consented_ago,
                reason: None,
                detail: None,
                previous_identity: None,
            },
        )
        .await
        .unwrap();
    let auth = Auth::new(&config, store, Arc::new(ManualClock::new(now)));
    let api = ApiClient::new(auth, config.http);
    let source = LinkedinAds::new(&config.connections[0], api);
    Rig { sandbox, dir, source }
}

impl Rig {
    /// A query file of `fields` over the accounts, loaded as the daemon loads it.
    fn query(&self, body: &str) -> Query {
        let path = self.dir.path().join("q.toml");
        let text = format!(
            "connection = \"li\"\n{body}\n\n[schedule]\ncron = \"0 6 * * *\"\n\n[output]\nkind = \"csv\"\npath = \"q.csv\"\nmode = \"replace\"\n"
        );
        std::fs::write(&path, text).unwrap();
        let ctx = crate::config::ValidationContext {
            connections: [("li".to_string(), Provider::LinkedinAds)].into(),
            output_dir: self.dir.path().join("out"),
            requested_scopes: Default::default(),
        };
        crate::query::load_file(&path, &ctx).unwrap()
    }

    /// Daily impressions of `account` from `start` to `end`, at account level.
    fn impressions(&self, account: u64, start: &str, end: &str) -> Query {
        self.query(&format!(
            "accounts = [\"{account}\"]\nlevel = \"account\"\nfields = [\"date\", \"impressions\"]\n\
             date_range = {{ start = \"{start}\", end = \"{end}\" }}\ntime_increment = \"daily\""
        ))
    }

    /// Every row of `query` over `window`, through the generic [`Source::fetch`].
    async fn rows(&self, query: &Query, window: DateWindow) -> Result<Vec<Vec<String>>, FetchError> {
        let source = Source::LinkedinAds(self.source.clone());
        let (tx, mut rx) = mpsc::channel::<RowBatch>(4);
        let collect = tokio::spawn(async move {
            let mut rows = Vec::new();
            while let Some(batch) = rx.recv().await {
                rows.extend(batch.rows().map(|r| r.cells().map(String::from).collect::<Vec<_>>()));
            }
            rows
        });
        let sent = source
            .fetch(query, window, crate::rows::BatchForm::Cells, &tx, &Default::default())
            .await;
        drop(tx);
        let rows = collect.await.unwrap();
        sent.map(|sent| {
            assert_eq!(sent as usize, rows.len());
            rows
        })
    }
}

fn window(start: &str, end: &str) -> DateWindow {
    DateWindow::new(start.parse().unwrap(), end.parse().unwrap())
}

/// `window` as the sandbox's own type (the emulator shares no types with adsync).
fn emulated(window: DateWindow) -> adsync_sandbox::DateWindow {
    adsync_sandbox::DateWindow::new(window.start, window.end)
}

/// The rows the sandbox's data function says `query` must produce, account by account.
fn expected(query: &AnalyticsQuery, accounts: &[u64], columns: &[String]) -> Vec<Vec<String>> {
    let shape = adsync_sandbox::linkedin::shape(&adsync_sandbox::linkedin::Settings::default());
    accounts
        .iter()
        .flat_map(|account| {
            data::analytics(
                shape,
                &AnalyticsQuery {
                    account: *account,
                    ..query.clone()
                },
            )
        })
        .map(|element| columns.iter().map(|c| element.cell(c)).collect())
        .collect()
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
}

#[tokio::test]
async fn a_report_over_several_accounts_and_months_is_cell_equal_to_the_sandbox_data() {
    let rig = rig(Duration::days(3)).await;
    let mut fields = vec!["date", "pivot_value"];
    fields.extend(METRICS);
    let query = rig.query(&format!(
        "accounts = [\"{}\", \"{}\"]\nlevel = \"adset\"\nfields = [{}]\ndate_range = {{ start = \"2026-01-20\", end = \"2026-02-25\" }}\ntime_increment = \"daily\"",
        ACCOUNTS[0],
        ACCOUNTS[1],
        quoted(&fields)
    ));
    let window = window("2026-01-20", "2026-02-25");
    let rows = rig.rows(&query, window).await.unwrap();
    let want = expected(
        &AnalyticsQuery {
            account: 0,
            pivot: Pivot::Campaign,
            daily: true,
            window: emulated(window),
            facets: Vec::new(),
            metrics: METRICS.map(String::from).to_vec(),
        },
        &ACCOUNTS,
        &query.fields,
    );
    assert!(want.len() > 200, "{} rows", want.len());
    assert_eq!(rows, want);
    // 2 accounts × 2 month slices × 2 requests of at most 18 metrics.
    assert_eq!(rig.sandbox.sandbox().stats().api_requests, 8);
    rig.sandbox.shutdown().await;
}

#[tokio::test]
async fn facets_narrow_the_report_and_totals_are_one_row_per_entity() {
    let rig = rig(Duration::days(3)).await;
    let shape = adsync_sandbox::linkedin::shape(&adsync_sandbox::linkedin::Settings::default());
    let campaign = data::entity_ids(ACCOUNTS[0], shape, Pivot::Campaign)[2].clone();
    let query = rig.query(&format!(
        "accounts = [\"{}\"]\nlevel = \"ad\"\nfields = [\"date\", \"date_end\", \"pivot_value\", \"impressions\", \"costInUsd\"]\n\
         filters = [{{ field = \"campaigns\", operator = \"IN\", value = [\"{campaign}\"] }}]\n\
         date_range = {{ start = \"2026-01-01\", end = \"2026-03-31\" }}\ntime_increment = \"total\"",
        ACCOUNTS[0]
    ));
    let window = window("2026-01-01", "2026-03-31");
    let rows = rig.rows(&query, window).await.unwrap();
    let want = expected(
        &AnalyticsQuery {
            account: 0,
            pivot: Pivot::Creative,
            daily: false,
            window: emulated(window),
            facets: vec![Facet {
                level: Pivot::Campaign,
                ids: vec![campaign],
            }],
            metrics: vec!["impressions".into(), "costInUsd".into()],
        },
        &ACCOUNTS[..1],
        &query.fields,
    );
    assert_eq!(want.len(), 2, "the campaign's two creatives");
    assert_eq!(rows, want);
    assert_eq!(rows[0][..2], ["2026-01-01", "2026-03-31"]);
    rig.sandbox.shutdown().await;
}

#[tokio::test]
async fn transient_faults_and_rate_limits_are_retried() {
    let rig = rig(Duration::days(3)).await;
    for fault in [
        json!({"kind": "http_500", "path_prefix": "/rest/adAnalytics"}),
        json!({"kind": "rate_limit", "path_prefix": "/rest/adAnalytics"}),
        json!({"kind": "timeout", "path_prefix": "/rest/adAnalytics"}),
    ] {
        rig.sandbox
            .sandbox()
            .push_fault(serde_json::from_value::<Fault>(fault).unwrap());
    }
    let query = rig.impressions(ACCOUNTS[0], "2026-03-01", "2026-03-03");
    let rows = rig.rows(&query, window("2026-03-01", "2026-03-03")).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rig.sandbox.sandbox().stats().faults_injected, 3);
    rig.sandbox.shutdown().await;
}

/// Runs a one-day report after `USER` revoked the app, checks that it paused the connection
/// as revoked, and returns the number of API requests it took.
async fn revoked_report(consented_ago: Duration) -> u64 {
    let rig = rig(consented_ago).await;
    rig.sandbox
        .sandbox()
        .revoke(USER, adsync_sandbox::RevokeReason::AppRemoved);
    let query = rig.impressions(ACCOUNTS[0], "2026-03-01", "2026-03-01");
    let error = rig.rows(&query, window("2026-03-01", "2026-03-01")).await.unwrap_err();
    assert!(
        matches!(&error, FetchError::Auth(AuthError::NeedsReconnect { reason, .. }) if reason == "revoked"),
        "{error}"
    );
    let requests = rig.sandbox.sandbox().stats().api_requests;
    rig.sandbox.shutdown().await;
    requests
}

#[tokio::test]
async fn a_65601_just_after_consent_is_retried_briefly_before_the_connection_pauses() {
    let requests = revoked_report(Duration::seconds(20)).await;
    // Three grace retries, then the token counts as revoked.
    assert_eq!(requests, 4);
}

#[tokio::test]
async fn a_65601_long_after_consent_pauses_the_connection_at_once() {
    let requests = revoked_report(Duration::days(10)).await;
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn accounts_page_through_the_member_roles_and_identity_is_the_person() {
    let rig = rig(Duration::days(3)).await;
    assert_eq!(rig.source.accounts().await.unwrap(), ["511009658", "511009659"]);
    let identity = rig.source.identity().await.unwrap();
    assert_eq!(identity.id, person_urn(USER));
    let many: Vec<u64> = (0..150).map(|i| 511_100_000 + i).collect();
    rig.sandbox
        .sandbox()
        .patch_settings(json!({"linkedin": {"accounts": many}}))
        .unwrap();
    rig.sandbox.sandbox().set_account_access(USER, 511_100_007, true);
    let accounts = rig.source.accounts().await.unwrap();
    assert_eq!(accounts.len(), 149);
    assert!(!accounts.contains(&"511100007".to_string()));
    rig.sandbox.shutdown().await;
}

#[tokio::test]
async fn an_account_the_member_cannot_read_is_a_permission_error() {
    let rig = rig(Duration::days(3)).await;
    rig.sandbox.sandbox().set_account_access(USER, ACCOUNTS[1], true);
    let query = rig.impressions(ACCOUNTS[1], "2026-03-01", "2026-03-01");
    let error = rig.rows(&query, window("2026-03-01", "2026-03-01")).await.unwrap_err();
    assert!(matches!(error, FetchError::Permission(_)), "{error}");
    rig.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_facet_list_too_long_for_a_url_is_tunneled_and_answered_alike() {
    let rig = rig(Duration::days(3)).await;
    let shape = adsync_sandbox::linkedin::shape(&adsync_sandbox::linkedin::Settings::default());
    let real = data::entity_ids(ACCOUNTS[0], shape, Pivot::CampaignGroup);
    // Groups that do not exist pad the list past LinkedIn's 4 KB query string limit.
    let mut ids: Vec<String> = (0..150).map(|i| format!("69{i:03}000000")).collect();
    ids.extend(real.iter().cloned());
    let query = rig.query(&format!(
        "accounts = [\"{}\"]\nlevel = \"campaign\"\nfields = [\"date\", \"pivot_value\", \"clicks\"]\n\
         filters = [{{ field = \"campaignGroups\", operator = \"IN\", value = [{}] }}]\n\
         date_range = {{ start = \"2026-03-01\", end = \"2026-03-05\" }}\ntime_increment = \"daily\"",
        ACCOUNTS[0],
        quoted(&ids.iter().map(String::as_str).collect::<Vec<_>>())
    ));
    let window = window("2026-03-01", "2026-03-05");
    let rows = rig.rows(&query, window).await.unwrap();
    let want = expected(
        &AnalyticsQuery {
            account: 0,
            pivot: Pivot::CampaignGroup,
            daily: true,
            window: emulated(window),
            facets: vec![Facet {
                level: Pivot::CampaignGroup,
                ids,
            }],
            metrics: vec!["clicks".into()],
        },
        &ACCOUNTS[..1],
        &query.fields,
    );
    assert!(!want.is_empty());
    assert_eq!(rows, want);
    rig.sandbox.shutdown().await;
}

#[tokio::test]
async fn answers_cut_at_the_element_cap_are_asked_again_in_halves() {
    let mut rig = rig(Duration::days(3)).await;
    rig.sandbox
        .sandbox()
        .patch_settings(json!({"linkedin": {"max_elements": 40}}))
        .unwrap();
    rig.source = rig.source.clone().with_element_cap(40);
    let query = rig.query(&format!(
        "accounts = [\"{}\"]\nlevel = \"ad\"\nfields = [\"date\", \"pivot_value\", \"clicks\"]\n\
         date_range = {{ start = \"2026-03-01\", end = \"2026-03-31\" }}\ntime_increment = \"daily\"",
        ACCOUNTS[0]
    ));
    let window = window("2026-03-01", "2026-03-31");
    let rows = rig.rows(&query, window).await.unwrap();
    let want = expected(
        &AnalyticsQuery {
            account: 0,
            pivot: Pivot::Creative,
            daily: true,
            window: emulated(window),
            facets: Vec::new(),
            metrics: vec!["clicks".into()],
        },
        &ACCOUNTS[..1],
        &query.fields,
    );
    // 8 creatives over 31 days, most days active: far more than one answer holds.
    assert!(want.len() > 200, "{}", want.len());
    assert_eq!(rows, want);
    // A single day over the cap cannot be cut further: the report fails rather than lose rows.
    rig.sandbox
        .sandbox()
        .patch_settings(json!({"linkedin": {"max_elements": 3, "creatives_per_campaign": 3}}))
        .unwrap();
    rig.source = rig.source.clone().with_element_cap(3);
    let error = rig.rows(&query, window).await.unwrap_err();
    assert!(
        matches!(&error, FetchError::BadQuery(m) if m.contains("at most 3 rows")),
        "{error}"
    );
    rig.sandbox.shutdown().await;
}

#[test]
fn the_sandbox_serves_every_metric_of_the_catalog() {
    let metrics = crate::platform::linkedin_ads::FIELDS
        .iter()
        .map(|f| f.name)
        .filter(|name| super::fields::is_metric(name));
    let missing: Vec<&str> = metrics.filter(|name| !data::is_metric(name)).collect();
    assert!(missing.is_empty(), "not served: {missing:?}");
}
