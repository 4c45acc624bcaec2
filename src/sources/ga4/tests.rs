//! The GA4 connector against the sandbox's emulation of the Data and Admin APIs: real HTTP
//! on loopback, and the sandbox's own report function as the expected answer.

use serde_json::json;

use super::*;
use crate::platform::ga4::check_account;

use crate::sources::{Platform, Provider, Source};
use adsync_sandbox::ga4::report::Report;
use adsync_sandbox::ga4::request::RunReportRequest;
use adsync_sandbox::ga4::testing::{access_token, spawn, READONLY};
use adsync_sandbox::{Fault, FaultKind, SandboxHandle};

const CONNECTION: &str = "google-test";
const USER: &str = "ann";
const FIRST: u64 = 123_456_789;
const SECOND: u64 = 234_567_890;

/// A GA4 reader on a connection whose stored token the sandbox issued.
struct Harness {
    handle: SandboxHandle,
    dir: tempfile::TempDir,
    ga4: Ga4,
}

async fn harness() -> Harness {
    let handle = spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let token = access_token(handle.sandbox(), USER, &[READONLY]);
    let (config, api) =
        crate::http::testing::google_client(dir.path(), CONNECTION, &handle.base_url(), token, &[READONLY]).await;
    let ga4 = Ga4::new(config.connection(CONNECTION).unwrap(), api);
    Harness { handle, dir, ga4 }
}

impl Harness {
    fn query(&self, body: &str) -> Query {
        let path = self.dir.path().join("q.toml");
        let text = format!(
            "connection = \"{CONNECTION}\"\nplatform = \"ga4\"\n{body}\n\n[schedule]\ncron = \"0 6 * * *\"\n\n\
             [output]\nkind = \"csv\"\npath = \"q.csv\"\nmode = \"replace\"\n"
        );
        std::fs::write(&path, text).unwrap();
        let ctx = crate::config::ValidationContext {
            connections: [(CONNECTION.to_string(), Provider::Google)].into(),
            output_dir: self.dir.path().join("out"),
            requested_scopes: Default::default(),
        };
        crate::query::load_file(&path, &ctx).unwrap()
    }

    /// Every row `source` sends for `query` over `window`, or its error.
    async fn rows(&self, query: &Query, window: DateWindow) -> Result<Vec<Vec<String>>, FetchError> {
        let source = Source::new(self.ga4_conn(), Platform::Ga4, self.ga4.api.clone());
        let (tx, mut rx) = mpsc::channel(4);
        let fetch = async move {
            // The sender goes when the fetch ends, so the collector sees the end.
            let tx = tx;
            source
                .fetch(query, window, crate::rows::BatchForm::Cells, &tx, &Default::default())
                .await
        };
        let collect = async {
            let mut rows = Vec::new();
            while let Some(batch) = rx.recv().await {
                rows.extend(batch.rows().map(|r| r.cells().map(str::to_string).collect::<Vec<_>>()));
            }
            rows
        };
        let (result, rows) = tokio::join!(fetch, collect);
        let sent = result?;
        assert_eq!(sent, rows.len() as u64);
        Ok(rows)
    }

    fn ga4_conn(&self) -> &ConnectionConfig {
        &self.ga4.conn
    }
}

fn window(start: &str, end: &str) -> DateWindow {
    DateWindow::new(start.parse().unwrap(), end.parse().unwrap())
}

/// The sandbox's own rows for `request` on `property`.
fn sandbox_rows(property: u64, request: serde_json::Value) -> Report {
    let request: RunReportRequest = serde_json::from_value(request).unwrap();
    let today = chrono::Utc::now().date_naive();
    Report::new(property, &request, &Default::default(), today).unwrap()
}

#[tokio::test]
async fn a_multi_page_report_is_cell_equal_to_the_sandbox_data() {
    let h = harness().await;
    h.handle
        .sandbox()
        .patch_settings(json!({"ga4": {"max_page_rows": 50}}))
        .unwrap();
    let query = h.query(&format!(
        "accounts = [\"{FIRST}\"]\nfields = [\"sessions\", \"date\", \"engagementRate\", \"sessionDefaultChannelGroup\"]\n\
         date_range = {{ start = \"2026-03-01\", end = \"2026-03-31\" }}\ntime_increment = \"daily\""
    ));
    let before = h.handle.sandbox().stats().api_requests;
    let rows = h.rows(&query, window("2026-03-01", "2026-03-31")).await.unwrap();
    let expected: Vec<Vec<String>> = sandbox_rows(
        FIRST,
        json!({
            "dateRanges": [{"startDate": "2026-03-01", "endDate": "2026-03-31"}],
            "dimensions": [{"name": "date"}, {"name": "sessionDefaultChannelGroup"}],
            "metrics": [{"name": "sessions"}, {"name": "engagementRate"}],
            "orderBys": [{"dimension": {"dimensionName": "date"}}, {"dimension": {"dimensionName": "sessionDefaultChannelGroup"}}],
        }),
    )
    .rows
    .into_iter()
    .map(|r| {
        let d = &r.dimension_values[0];
        let iso = format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..]);
        vec![r.metric_values[0].clone(), iso, r.metric_values[1].clone(), r.dimension_values[1].clone()]
    })
    .collect();
    assert_eq!(expected.len(), 31 * 6);
    assert_eq!(rows, expected);
    assert_eq!(rows[0][1], "2026-03-01");
    // 186 rows at 50 a response: four pages.
    assert_eq!(h.handle.sandbox().stats().api_requests - before, 4);
    h.handle.shutdown().await;
}

#[tokio::test]
async fn a_total_over_several_properties_comes_property_by_property() {
    let h = harness().await;
    let query = h.query(&format!(
        "accounts = [\"{FIRST}\", \"{SECOND}\"]\nfields = [\"date\", \"deviceCategory\", \"sessions\"]\n\
         date_range = {{ start = \"2026-02-01\", end = \"2026-02-28\" }}\ntime_increment = \"total\"\n\
         filters = [{{ field = \"deviceCategory\", operator = \"IN_LIST\", value = [\"desktop\", \"mobile\"] }}]"
    ));
    let rows = h.rows(&query, window("2026-02-01", "2026-02-28")).await.unwrap();
    let expected: Vec<Vec<String>> = [FIRST, SECOND]
        .into_iter()
        .flat_map(|property| {
            sandbox_rows(
                property,
                json!({
                    "dateRanges": [{"startDate": "2026-02-01", "endDate": "2026-02-28"}],
                    "dimensions": [{"name": "deviceCategory"}],
                    "metrics": [{"name": "sessions"}],
                    "orderBys": [{"dimension": {"dimensionName": "deviceCategory"}}],
                    "dimensionFilter": {"filter": {"fieldName": "deviceCategory", "inListFilter": {"values": ["desktop", "mobile"]}}},
                }),
            )
            .rows
        })
        .map(|r| vec!["2026-02-01".to_string(), r.dimension_values[0].clone(), r.metric_values[0].clone()])
        .collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows, expected);
    assert_ne!(rows[0][2], rows[2][2], "each property has its own numbers");
    h.handle.shutdown().await;
}

#[tokio::test]
async fn failures_reach_their_classes() {
    let h = harness().await;
    let sandbox = h.handle.sandbox();
    let query = h.query(&format!(
        "accounts = [\"{FIRST}\"]\nfields = [\"date\", \"sessions\"]\n\
         date_range = {{ start = \"2026-03-01\", end = \"2026-03-02\" }}"
    ));
    let march = window("2026-03-01", "2026-03-02");
    // Transient failures and a quota with RetryInfo are retried.
    for kind in [
        FaultKind::Http500,
        FaultKind::RateLimit,
        FaultKind::Timeout,
        FaultKind::TruncatedJson,
    ] {
        sandbox.push_fault(Fault {
            kind,
            count: 1,
            skip: 0,
            path_prefix: Some("/v1beta/".into()),
            code: None,
            regain_access_minutes: 0,
        });
    }
    assert_eq!(h.rows(&query, march).await.unwrap().len(), 2);
    assert_eq!(sandbox.stats().faults_injected, 4);
    // A regular expression passes adsync's checks but the sandbox refuses it: a bad query.
    let regexp = h.query(&format!(
        "accounts = [\"{FIRST}\"]\nfields = [\"date\", \"sessions\"]\n\
         date_range = {{ start = \"2026-03-01\", end = \"2026-03-02\" }}\n\
         filters = [{{ field = \"pagePath\", operator = \"FULL_REGEXP\", value = \"^/blog\" }}]"
    ));
    assert!(matches!(h.rows(&regexp, march).await, Err(FetchError::BadQuery(_))));
    // A property the user may not read.
    sandbox.set_account_access(USER, FIRST, true);
    match h.rows(&query, march).await {
        Err(FetchError::Permission(message)) => {
            assert!(
                message.contains("sufficient permissions for this property"),
                "{message}"
            )
        }
        other => panic!("expected a permission failure, got {other:?}"),
    }
    h.handle.shutdown().await;
}

#[tokio::test]
async fn properties_are_listed_as_digits_across_pages() {
    let h = harness().await;
    let sandbox = h.handle.sandbox();
    let many: Vec<u64> = (1..=205).map(|n| 300_000_000 + n).collect();
    sandbox.patch_settings(json!({"ga4": {"properties": many}})).unwrap();
    sandbox.set_account_access(USER, 300_000_002, true);
    let properties = h.ga4.accounts().await.unwrap();
    assert_eq!(properties.len(), 204);
    assert_eq!(properties[..2], ["300000001", "300000003"]);
    assert!(properties.iter().all(|p| check_account(p).is_ok()));
    h.handle.shutdown().await;
}

#[test]
fn what_the_sandbox_serves_is_in_the_catalog_as_the_same_kind() {
    use crate::platform::ga4::{is_known, is_metric};
    let standard = |list: Vec<adsync_sandbox::ga4::report::Described>| {
        list.into_iter()
            .filter(|d| !d.custom)
            .map(|d| d.api_name)
            .collect::<Vec<_>>()
    };
    for name in standard(adsync_sandbox::ga4::report::dimensions()) {
        assert!(is_known(name) && !is_metric(name), "dimension {name}");
    }
    for name in standard(adsync_sandbox::ga4::report::metrics()) {
        assert!(is_metric(name), "metric {name}");
    }
}
