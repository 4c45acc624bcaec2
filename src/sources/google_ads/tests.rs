//! The Google Ads connector against the sandbox's emulation over HTTP: its decoder, error
//! table and reader, with the sandbox's data function as the expected answer.

use std::path::Path as FsPath;
use std::time::Duration;

use chrono::NaiveDate;
use reqwest::StatusCode;
use tokio::sync::mpsc;

use adsync_sandbox::google_ads::{expected_rows, fault_response, issue_token, serves, SCOPE};
use adsync_sandbox::{Fault, SandboxHandle, SandboxSettings};

use super::{errors, fields, GoogleAds, StreamDecoder};
use crate::http::{FailureClass, FetchError};
use crate::query::{Level, TimeIncrement};
use crate::rows::{BatchForm, DateWindow, RowBatch};

const CUSTOMER: u64 = 1_234_567_890;
const OTHER: u64 = 2_345_678_901;
const MANAGER: u64 = 9_990_001_111;

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

async fn sandbox(batch_rows: usize) -> SandboxHandle {
    let mut settings = SandboxSettings::default();
    settings.google_ads.batch_rows = batch_rows;
    adsync_sandbox::spawn("127.0.0.1:0".parse().unwrap(), settings)
        .await
        .unwrap()
}

/// POSTs `gaql` to `customer`'s searchStream; returns status, body and the number of chunks.
async fn search(
    sandbox: &SandboxHandle,
    token: Option<&str>,
    customer: &str,
    login: Option<&str>,
    gaql: &str,
) -> (StatusCode, Vec<u8>) {
    let url = format!("{}/v26/customers/{customer}/googleAds:searchStream", sandbox.base_url());
    let mut request = reqwest::Client::new()
        .post(url)
        .json(&serde_json::json!({ "query": gaql }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(login) = login {
        request = request.header("login-customer-id", login);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.bytes().await.unwrap().to_vec())
}

fn class_of(status: StatusCode, body: &[u8]) -> FailureClass {
    errors::classify(status, &reqwest::header::HeaderMap::new(), body)
        .expect("an error answer")
        .class
}

fn cells(batches: &[RowBatch]) -> Vec<Vec<String>> {
    batches
        .iter()
        .flat_map(|b| b.rows().map(|r| r.cells().map(str::to_string).collect::<Vec<_>>()))
        .collect()
}

const DAILY: &str =
    "SELECT campaign.id, campaign.name, metrics.clicks, metrics.cost_micros, segments.date FROM campaign \
                     WHERE segments.date BETWEEN '2026-03-01' AND '2026-03-07'";

#[tokio::test]
async fn a_multi_batch_stream_decodes_cell_equal_to_the_sandbox_data() {
    let sandbox = sandbox(4).await;
    let token = issue_token(sandbox.sandbox(), "ann", &[SCOPE]);
    let (status, body) = search(&sandbox, Some(&token), "1234567890", None, DAILY).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));

    let batches: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
    // 3 campaigns × 7 days in batches of 4.
    assert_eq!(batches.len(), 6);
    assert_eq!(batches[0]["results"].as_array().unwrap().len(), 4);
    assert_eq!(
        batches[0]["fieldMask"],
        "campaign.id,campaign.name,metrics.clicks,metrics.costMicros,segments.date"
    );
    assert!(batches[0]["results"][0]["metrics"]["costMicros"].is_string());
    assert!(batches[0]["results"][0]["campaign"]["resourceName"]
        .as_str()
        .unwrap()
        .starts_with("customers/1234567890/campaigns/"));
    assert!(batches[0].get("queryResourceConsumption").is_none());
    assert_eq!(batches[5]["queryResourceConsumption"], "21");

    let columns: Vec<String> = [
        "segments.date",
        "campaign.id",
        "campaign.name",
        "metrics.clicks",
        "metrics.cost_micros",
        "metrics.cost",
    ]
    .map(String::from)
    .to_vec();
    let mut decoder = StreamDecoder::new(&columns, &[]);
    // Odd-sized chunks, so batches straddle them.
    let decoded: Vec<RowBatch> = body.chunks(37).flat_map(|chunk| decoder.feed(chunk).unwrap()).collect();
    decoder.finish().unwrap();
    assert_eq!(decoded.len(), 6);

    let expected: Vec<Vec<String>> = expected_rows(&sandbox.sandbox().settings(), CUSTOMER, DAILY, day("2026-03-07"))
        .unwrap()
        .into_iter()
        .map(|r| {
            let cost = fields::cost_from_micros(&r[3]).unwrap_or_default();
            vec![
                r[4].clone(),
                r[0].clone(),
                r[1].clone(),
                r[2].clone(),
                r[3].clone(),
                cost,
            ]
        })
        .collect();
    assert_eq!(expected.len(), 21);
    assert_eq!(cells(&decoded), expected);
    assert_eq!(sandbox.sandbox().stats().rows_served, 21);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_client_of_a_manager_needs_the_manager_in_login_customer_id() {
    let sandbox = sandbox(10_000).await;
    let token = issue_token(sandbox.sandbox(), "ann", &[SCOPE]);
    let gaql = "SELECT campaign.id FROM campaign";
    let (status, body) = search(&sandbox, Some(&token), "3456789012", None, gaql).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.starts_with(b"["), "searchStream errors come in an array");
    let failure = errors::classify(status, &Default::default(), &body).unwrap();
    assert_eq!(failure.class, FailureClass::Permission);
    assert!(
        failure.message.contains("USER_PERMISSION_DENIED"),
        "{}",
        failure.message
    );
    assert!(
        failure.message.contains("'login-customer-id' header"),
        "{}",
        failure.message
    );

    let (status, _) = search(&sandbox, Some(&token), "3456789012", Some("9990001111"), gaql).await;
    assert_eq!(status, StatusCode::OK);
    // The header names a manager, not any customer the user can read.
    let (status, _) = search(&sandbox, Some(&token), "3456789012", Some("1234567890"), gaql).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = search(&sandbox, Some(&token), "3456789012", Some("999-000-1111"), gaql).await;
    assert_eq!(class_of(status, &body), FailureClass::BadQuery);
    // A denied manager takes its clients with it.
    sandbox.sandbox().set_account_access("ann", MANAGER, true);
    let (status, _) = search(&sandbox, Some(&token), "3456789012", Some("9990001111"), gaql).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn bad_fields_and_date_ranges_are_refused_as_broken_queries() {
    let sandbox = sandbox(10_000).await;
    let token = issue_token(sandbox.sandbox(), "ann", &[SCOPE]);
    for (customer, gaql, code) in [
        (
            "1234567890",
            "SELECT campaign.nme FROM campaign WHERE segments.date DURING LAST_7_DAYS",
            "UNRECOGNIZED_FIELD",
        ),
        (
            "1234567890",
            "SELECT ad_group.name FROM campaign",
            "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE",
        ),
        (
            "1234567890",
            "SELECT campaign.id, segments.date FROM campaign",
            "EXPECTED_FILTERS_ON_DATE_RANGE",
        ),
        (
            "9990001111",
            "SELECT customer.id, metrics.clicks FROM customer",
            "REQUESTED_METRICS_FOR_MANAGER",
        ),
        (
            "1234567890",
            "SELECT campaign.id FROM campaign WHERE",
            "UNEXPECTED_END_OF_QUERY",
        ),
        ("1234567890", "SELECT metrics.cost FROM campaign", "UNRECOGNIZED_FIELD"),
    ] {
        let (status, body) = search(&sandbox, Some(&token), customer, None, gaql).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{gaql}");
        let failure = errors::classify(status, &Default::default(), &body).unwrap();
        assert_eq!(failure.class, FailureClass::BadQuery, "{gaql}");
        assert!(failure.message.contains(code), "{gaql}: {}", failure.message);
    }
    let (status, body) = search(&sandbox, Some(&token), "123-456-7890", None, DAILY).await;
    assert_eq!(class_of(status, &body), FailureClass::BadQuery);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn tokens_scopes_and_denied_accounts_are_checked_like_google() {
    let sandbox = sandbox(10_000).await;
    let (status, body) = search(&sandbox, None, "1234567890", None, DAILY).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(class_of(status, &body), FailureClass::TokenInvalid { reason: None });

    let (status, body) = search(&sandbox, Some("ya29.never-issued"), "1234567890", None, DAILY).await;
    assert!(String::from_utf8_lossy(&body).contains("OAUTH_TOKEN_INVALID"));
    assert_eq!(class_of(status, &body), FailureClass::TokenInvalid { reason: None });

    let analytics_only = issue_token(
        sandbox.sandbox(),
        "ann",
        &["https://www.googleapis.com/auth/analytics.readonly"],
    );
    let (status, body) = search(&sandbox, Some(&analytics_only), "1234567890", None, DAILY).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(String::from_utf8_lossy(&body).contains("ACCESS_TOKEN_SCOPE_INSUFFICIENT"));
    assert_eq!(class_of(status, &body), FailureClass::Permission);

    let token = issue_token(sandbox.sandbox(), "ann", &[SCOPE]);
    sandbox.sandbox().set_account_access("ann", OTHER, true);
    let (status, body) = search(&sandbox, Some(&token), "2345678901", None, DAILY).await;
    assert_eq!(class_of(status, &body), FailureClass::Permission);
    let (status, _) = search(&sandbox, Some(&token), "1234567890", None, DAILY).await;
    assert_eq!(status, StatusCode::OK);

    sandbox.sandbox().expire_access_tokens("ann");
    let (status, body) = search(&sandbox, Some(&token), "1234567890", None, DAILY).await;
    assert_eq!(
        class_of(status, &body),
        FailureClass::TokenInvalid {
            reason: Some("expired".into())
        }
    );
    let fresh = issue_token(sandbox.sandbox(), "ann", &[SCOPE]);
    sandbox.sandbox().revoke("ann", adsync_sandbox::RevokeReason::ALL[0]);
    let (status, body) = search(&sandbox, Some(&fresh), "1234567890", None, DAILY).await;
    assert_eq!(
        class_of(status, &body),
        FailureClass::TokenInvalid {
            reason: Some("revoked".into())
        }
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn accessible_customers_are_the_direct_ones_not_denied() {
    let sandbox = sandbox(10_000).await;
    let token = issue_token(sandbox.sandbox(), "ann", &[SCOPE]);
    sandbox.sandbox().set_account_access("ann", OTHER, true);
    let response = reqwest::Client::new()
        .get(format!("{}/v26/customers:listAccessibleCustomers", sandbox.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"resourceNames": ["customers/1234567890", "customers/9990001111"]})
    );
    // Meta's routes at the same depth still answer as Meta.
    let meta = reqwest::get(format!("{}/v25.0/me", sandbox.base_url())).await.unwrap();
    let meta: serde_json::Value = meta.json().await.unwrap();
    assert_eq!(meta["error"]["code"], 104);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_truncated_stream_is_unreadable_not_short() {
    let sandbox = sandbox(2).await;
    let token = issue_token(sandbox.sandbox(), "ann", &[SCOPE]);
    sandbox.sandbox().push_fault(
        serde_json::from_value(serde_json::json!({"kind": "truncated_json", "path_prefix": "/v26/customers/"}))
            .unwrap(),
    );
    let (status, body) = search(&sandbox, Some(&token), "1234567890", None, DAILY).await;
    assert_eq!(status, StatusCode::OK);
    let mut decoder = StreamDecoder::new(&["campaign.id".to_string()], &[]);
    let decoded = decoder.feed(&body);
    assert!(decoded.is_err() || decoder.finish().is_err());
    sandbox.shutdown().await;
}

async fn fault_class(fault: Fault) -> FailureClass {
    let response = fault_response(&fault).expect("an error answer");
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    class_of(status, &body)
}

#[tokio::test]
async fn faults_answer_in_the_google_ads_shape() {
    let fault = |json: serde_json::Value| -> Fault { serde_json::from_value(json).unwrap() };
    let class = |f: Fault| fault_class(f);
    assert_eq!(
        class(fault(
            serde_json::json!({"kind": "rate_limit", "regain_access_minutes": 3})
        ))
        .await,
        FailureClass::RateLimited {
            retry_after: Some(Duration::from_secs(180))
        }
    );
    assert_eq!(
        class(fault(serde_json::json!({"kind": "rate_limit"}))).await,
        FailureClass::RateLimited { retry_after: None }
    );
    assert_eq!(
        class(fault(serde_json::json!({"kind": "http_500"}))).await,
        FailureClass::Transient
    );
    assert_eq!(
        class(fault(serde_json::json!({"kind": "timeout"}))).await,
        FailureClass::Transient
    );
    assert!(fault_response(&fault(serde_json::json!({"kind": "truncated_json"}))).is_none());
    assert!(serves("/v26/customers/1234567890/googleAds:searchStream"));
    assert!(serves("/v26/customers:listAccessibleCustomers"));
    assert!(!serves("/v25.0/act_1001/insights"));
    assert!(!serves("/v1beta/properties/1:runReport"));
}

/// A Google Ads reader on a connection whose stored token is `token`, pointed at `sandbox`.
async fn reader(sandbox: &SandboxHandle, token: String, dir: &FsPath) -> GoogleAds {
    let (config, api) = crate::http::testing::google_client(dir, "google", &sandbox.base_url(), token, &[SCOPE]).await;
    GoogleAds::new(config.connection("google").unwrap(), api)
}

fn query(accounts: &[&str], login: Option<&str>, fields: &[&str], increment: TimeIncrement) -> crate::query::Query {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.toml");
    let text = format!(
        "connection = \"google\"\nplatform = \"google_ads\"\naccounts = {accounts:?}\n{}level = \"campaign\"\nfields = {fields:?}\n\
         date_range = {{ start = \"2026-03-01\", end = \"2026-03-07\" }}\ntime_increment = \"{}\"\n\n[schedule]\ncron = \"0 6 * * *\"\n\n\
         [output]\nkind = \"csv\"\npath = \"q.csv\"\nmode = \"replace\"\n",
        login.map(|l| format!("login_customer_id = \"{l}\"\n")).unwrap_or_default(),
        if increment == TimeIncrement::Daily { "daily" } else { "total" },
    );
    std::fs::write(&path, text).unwrap();
    let ctx = crate::config::ValidationContext {
        connections: [("google".to_string(), crate::sources::Provider::Google)].into(),
        output_dir: dir.path().to_path_buf(),
        requested_scopes: Default::default(),
    };
    crate::query::load_file(&path, &ctx).unwrap()
}

async fn fetch_all(
    ads: &GoogleAds,
    query: &crate::query::Query,
    account: &str,
) -> Result<Vec<Vec<String>>, FetchError> {
    let window = DateWindow::new(day("2026-03-01"), day("2026-03-07"));
    let (tx, mut rx) = mpsc::channel(64);
    let sent = ads.fetch(query, account, window, BatchForm::Cells, &tx).await?;
    drop(tx);
    let mut batches = Vec::new();
    while let Some(batch) = rx.recv().await {
        batches.push(batch);
    }
    let rows = cells(&batches);
    assert_eq!(sent, rows.len() as u64);
    Ok(rows)
}

#[tokio::test]
async fn the_connector_reads_several_accounts_through_the_sandbox() {
    let sandbox = sandbox(5).await;
    let dir = tempfile::tempdir().unwrap();
    let ads = reader(&sandbox, issue_token(sandbox.sandbox(), "ann", &[SCOPE]), dir.path()).await;
    assert_eq!(
        ads.accounts().await.unwrap(),
        ["1234567890", "2345678901", "9990001111"]
    );

    let fields = ["segments.date", "campaign.name", "metrics.clicks", "metrics.cost"];
    let q = query(&["1234567890", "2345678901"], None, &fields, TimeIncrement::Daily);
    assert_eq!(q.level, Level::Campaign);
    let settings = sandbox.sandbox().settings();
    for (account, number) in [("1234567890", CUSTOMER), ("2345678901", OTHER)] {
        let rows = fetch_all(&ads, &q, account).await.unwrap();
        let expected: Vec<Vec<String>> = expected_rows(
            &settings,
            number,
            "SELECT campaign.name, metrics.clicks, metrics.cost_micros, segments.date FROM campaign \
             WHERE segments.date BETWEEN '2026-03-01' AND '2026-03-07'",
            day("2026-03-07"),
        )
        .unwrap()
        .into_iter()
        .map(|r| {
            vec![
                r[3].clone(),
                r[0].clone(),
                r[1].clone(),
                fields::cost_from_micros(&r[2]).unwrap_or_default(),
            ]
        })
        .collect();
        assert_eq!(rows, expected, "{account}");
    }

    // Totals carry the window's first day as their date and are not split by day.
    let totals = query(&["1234567890"], None, &fields, TimeIncrement::Total);
    let rows = fetch_all(&ads, &totals, "1234567890").await.unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r[0] == "2026-03-01"));

    // The client account through its manager: the header is sent.
    let through_manager = query(&["3456789012"], Some("9990001111"), &fields, TimeIncrement::Daily);
    assert_eq!(fetch_all(&ads, &through_manager, "3456789012").await.unwrap().len(), 21);
    let without = query(&["3456789012"], None, &fields, TimeIncrement::Daily);
    assert!(matches!(
        fetch_all(&ads, &without, "3456789012").await,
        Err(FetchError::Permission(m)) if m.contains("login-customer-id")
    ));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_broken_stream_is_read_again_only_while_no_row_has_been_passed_on() {
    let sandbox = sandbox(10_000).await;
    let dir = tempfile::tempdir().unwrap();
    let ads = reader(&sandbox, issue_token(sandbox.sandbox(), "ann", &[SCOPE]), dir.path()).await;
    let fields = ["segments.date", "campaign.id", "metrics.clicks"];
    let q = query(&["1234567890"], None, &fields, TimeIncrement::Daily);
    let truncate = || -> Fault {
        serde_json::from_value(serde_json::json!({"kind": "truncated_json", "path_prefix": "/v26/customers/"})).unwrap()
    };
    let requests = |sandbox: &SandboxHandle| sandbox.sandbox().stats().api_requests;

    // One batch cut in half: nothing was passed on, so the request is simply made again.
    sandbox.sandbox().push_fault(truncate());
    let before = requests(&sandbox);
    assert_eq!(fetch_all(&ads, &q, "1234567890").await.unwrap().len(), 21);
    assert_eq!(requests(&sandbox) - before, 2);

    // A short-term quota error is backed off and retried too.
    sandbox
        .sandbox()
        .push_fault(serde_json::from_value(serde_json::json!({"kind": "rate_limit"})).unwrap());
    assert_eq!(fetch_all(&ads, &q, "1234567890").await.unwrap().len(), 21);

    // Many small batches cut in half: the first half's rows went downstream, so reading the
    // stream again would deliver them twice; the unit fails instead.
    sandbox
        .sandbox()
        .patch_settings(serde_json::json!({"google_ads": {"batch_rows": 2}}))
        .unwrap();
    sandbox.sandbox().push_fault(truncate());
    let before = requests(&sandbox);
    match fetch_all(&ads, &q, "1234567890").await {
        Err(FetchError::RetriesExhausted { attempts: 1, message }) => {
            assert!(message.contains("rows had been delivered"), "{message}")
        }
        other => panic!("expected the unit to fail, got {other:?}"),
    }
    assert_eq!(requests(&sandbox) - before, 1);
    sandbox.shutdown().await;
}

#[test]
fn what_the_sandbox_serves_is_in_the_catalog() {
    let missing: Vec<&str> = adsync_sandbox::google_ads::served_fields()
        .into_iter()
        .filter(|name| !crate::platform::google_ads::FIELDS.iter().any(|f| f.name == *name))
        .collect();
    assert!(missing.is_empty(), "served but not documented: {missing:?}");
}
