//! The Sheets API and the JWT-bearer grant over HTTP.

use serde_json::{json, Value};

use super::service_account::{self, GOOGLE_TOKEN_URL};
use crate::tokens::Issuer;
use crate::{self as sandbox, RevokeReason, SandboxHandle, SandboxSettings};

const SHEETS: &str = "https://www.googleapis.com/auth/spreadsheets";
const ROBOT: &str = "adsync-writer@adsync-sandbox.iam.gserviceaccount.com";

async fn spawn(settings: Value) -> SandboxHandle {
    let settings = SandboxSettings::default()
        .patched(json!({ "sheets": settings }))
        .unwrap();
    sandbox::spawn("127.0.0.1:0".parse().unwrap(), settings).await.unwrap()
}

async fn call(
    handle: &SandboxHandle,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", handle.base_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A spreadsheet `book` shared with `ann`, holding a `Report` tab; returns ann's token.
async fn shared_book(handle: &SandboxHandle) -> String {
    // Raw text: the tabs' order in the document is theirs in the spreadsheet.
    let body = format!(
        r#"{{"title": "Ads", "editors": ["ann@example.com", "{ROBOT}"], "readers": ["vic"], "sheets": {{"Report": [["date", "clicks"], ["2025-03-01", "12"]], "My Tab": []}}}}"#
    );
    let response = reqwest::Client::new()
        .put(format!("{}/_sandbox/sheets/book", handle.base_url()))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    handle.sandbox().mint_access_token(Issuer::Google, "ann", &[SHEETS])
}

async fn dump(handle: &SandboxHandle) -> Value {
    call(handle, "GET", "/_sandbox/sheets/book", None, None).await.1
}

#[tokio::test]
async fn get_describes_tabs_in_document_order_and_values_read_back() {
    let handle = spawn(json!({})).await;
    let token = shared_book(&handle).await;
    let (status, book) = call(&handle, "GET", "/v4/spreadsheets/book", Some(&token), None).await;
    assert_eq!(status, 200, "{book}");
    assert_eq!(book["spreadsheetId"], "book");
    assert_eq!(book["properties"]["title"], "Ads");
    assert_eq!(
        book["sheets"][0]["properties"],
        json!({"sheetId": 0, "title": "Report", "index": 0, "sheetType": "GRID", "gridProperties": {"rowCount": 1000, "columnCount": 26}})
    );
    assert_eq!(book["sheets"][1]["properties"]["title"], "My Tab");
    let (status, values) = call(
        &handle,
        "GET",
        "/v4/spreadsheets/book/values/Report%21A1%3AB2",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 200, "{values}");
    assert_eq!(
        values,
        json!({"range": "Report!A1:B2", "majorDimension": "ROWS", "values": [["date", "clicks"], ["2025-03-01", "12"]]})
    );
    let (_, raw) = call(
        &handle,
        "GET",
        "/v4/spreadsheets/book/values/Report?valueRenderOption=UNFORMATTED_VALUE",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(raw["values"][1], json!([45717.0, 12.0]));
    handle.shutdown().await;
}

#[tokio::test]
async fn values_writes_need_an_input_option_and_land_in_the_grid() {
    let handle = spawn(json!({})).await;
    let token = shared_book(&handle).await;
    let path = "/v4/spreadsheets/book/values/%27My%20Tab%27%21A1";
    let body = json!({"values": [["a", "1.50"], ["b", "=1+1"]]});
    let (status, error) = call(&handle, "PUT", path, Some(&token), Some(body.clone())).await;
    assert_eq!(status, 400);
    assert_eq!(error["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(
        error["error"]["message"],
        "'valueInputOption' is required but not specified"
    );
    let (status, updated) = call(
        &handle,
        "PUT",
        &format!("{path}?valueInputOption=USER_ENTERED"),
        Some(&token),
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["updatedRange"], "'My Tab'!A1:B2");
    let (status, appended) = call(
        &handle,
        "POST",
        "/v4/spreadsheets/book/values/%27My%20Tab%27%21A%3AB:append?valueInputOption=RAW&insertDataOption=INSERT_ROWS",
        Some(&token),
        Some(json!({"values": [["c", "2.50"]]})),
    )
    .await;
    assert_eq!(status, 200, "{appended}");
    assert_eq!(appended["updates"]["updatedRange"], "'My Tab'!A3:B3");
    let tab = &dump(&handle).await["sheets"][1];
    assert_eq!(tab["rows"], json!([["a", "1.5"], ["b", "=1+1"], ["c", "2.50"]]));
    assert_eq!(tab["values"][0][1], json!({"numberValue": 1.5}));
    assert_eq!(tab["values"][2][1], json!({"stringValue": "2.50"}));
    let (status, cleared) = call(
        &handle,
        "POST",
        "/v4/spreadsheets/book/values/%27My%20Tab%27:clear",
        Some(&token),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{cleared}");
    // INSERT_ROWS added a row to the 1000.
    assert_eq!(cleared["clearedRange"], "'My Tab'!A1:Z1001");
    assert_eq!(dump(&handle).await["sheets"][1]["rows"], json!([]));
    assert_eq!(
        call(&handle, "GET", "/_sandbox/sheets/book/writes", None, None).await.1["applied_writes"],
        3
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn a_batch_update_with_a_failing_later_request_changes_nothing() {
    let handle = spawn(json!({})).await;
    let token = shared_book(&handle).await;
    let before = dump(&handle).await;
    let (status, error) = call(
        &handle,
        "POST",
        "/v4/spreadsheets/book:batchUpdate",
        Some(&token),
        Some(json!({"requests": [
            {"addSheet": {"properties": {"title": "Staging"}}},
            {"deleteSheet": {"sheetId": 5}},
        ]})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        error,
        json!({"error": {"code": 400, "message": "Invalid requests[1].deleteSheet: No grid with id: 5", "status": "INVALID_ARGUMENT"}})
    );
    assert_eq!(dump(&handle).await, before);
    let (status, answer) = call(
        &handle,
        "POST",
        "/v4/spreadsheets/book:batchUpdate",
        Some(&token),
        Some(json!({"requests": [
            {"addSheet": {"properties": {"title": "Staging"}}},
            {"deleteSheet": {"sheetId": 1}},
        ], "includeSpreadsheetInResponse": true})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["replies"][0]["addSheet"]["properties"]["title"], "Staging");
    assert_eq!(answer["replies"][1], json!({}));
    assert_eq!(answer["updatedSpreadsheet"]["sheets"].as_array().unwrap().len(), 2);
    handle.shutdown().await;
}

#[tokio::test]
async fn planned_write_failures_leave_the_grid_untouched() {
    let handle = spawn(json!({})).await;
    let token = shared_book(&handle).await;
    let (status, _) = call(
        &handle,
        "POST",
        "/_sandbox/sheets/fail-writes",
        None,
        Some(json!({"at": 2, "count": 1, "spreadsheet_id": "book"})),
    )
    .await;
    assert_eq!(status, 204);
    let write = |value: &'static str| {
        let handle = &handle;
        let token = token.clone();
        async move {
            call(
                handle,
                "PUT",
                "/v4/spreadsheets/book/values/Report%21C1?valueInputOption=RAW",
                Some(&token),
                Some(json!({"values": [[value]]})),
            )
            .await
        }
    };
    assert_eq!(write("first").await.0, 200);
    let before = dump(&handle).await;
    let (status, error) = write("second").await;
    assert_eq!(status, 500);
    assert_eq!(error["error"]["status"], "INTERNAL");
    assert_eq!(dump(&handle).await, before);
    assert_eq!(write("third").await.0, 200);
    assert_eq!(dump(&handle).await["sheets"][0]["rows"][0][2], "third");
    handle.shutdown().await;
}

#[tokio::test]
async fn tokens_scopes_sharing_and_existence_are_checked() {
    let handle = spawn(json!({})).await;
    let token = shared_book(&handle).await;
    let path = "/v4/spreadsheets/book";
    let (status, error) = call(&handle, "GET", path, None, None).await;
    assert_eq!(
        (status, error["error"]["status"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );
    let ads = handle
        .sandbox()
        .mint_access_token(Issuer::Google, "ann", &["https://www.googleapis.com/auth/adwords"]);
    let (status, error) = call(&handle, "GET", path, Some(&ads), None).await;
    assert_eq!(status, 403);
    assert_eq!(
        error["error"]["details"][0]["reason"],
        "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    );
    let bob = handle.sandbox().mint_access_token(Issuer::Google, "bob", &[SHEETS]);
    let (status, error) = call(&handle, "GET", path, Some(&bob), None).await;
    assert_eq!(
        (status, error["error"]["message"].as_str()),
        (403, Some("The caller does not have permission"))
    );
    let (status, error) = call(&handle, "GET", "/v4/spreadsheets/nope", Some(&token), None).await;
    assert_eq!(
        (status, error["error"]["message"].as_str()),
        (404, Some("Requested entity was not found."))
    );
    handle.sandbox().revoke("ann", RevokeReason::AppRemoved);
    assert_eq!(call(&handle, "GET", path, Some(&token), None).await.0, 401);
    handle.shutdown().await;
}

#[tokio::test]
async fn a_viewer_reads_and_is_refused_writes() {
    let handle = spawn(json!({})).await;
    shared_book(&handle).await;
    let vic = handle.sandbox().mint_access_token(Issuer::Google, "vic", &[SHEETS]);
    assert_eq!(
        call(&handle, "GET", "/v4/spreadsheets/book", Some(&vic), None).await.0,
        200
    );
    let rename =
        json!({"requests": [{"updateSpreadsheetProperties": {"properties": {"title": "Ads"}, "fields": "title"}}]});
    let (status, error) = call(
        &handle,
        "POST",
        "/v4/spreadsheets/book:batchUpdate",
        Some(&vic),
        Some(rename),
    )
    .await;
    assert_eq!(
        (status, error["error"]["status"].as_str()),
        (403, Some("PERMISSION_DENIED"))
    );
    assert_eq!(dump(&handle).await["readers"], json!(["vic"]));
    handle.shutdown().await;
}

#[tokio::test]
async fn write_quota_per_user_refills_with_the_next_minute() {
    let handle = spawn(json!({"write_requests_per_minute_per_user": 2})).await;
    let token = shared_book(&handle).await;
    // Start at the top of a sandbox minute so the three writes share one window.
    let now = handle.sandbox().advance_clock(0).unwrap();
    handle.sandbox().advance_clock(60 - now.rem_euclid(60)).unwrap();
    let write = || {
        call(
            &handle,
            "POST",
            "/v4/spreadsheets/book/values/Report%21A1:clear",
            Some(&token),
            Some(json!({})),
        )
    };
    assert_eq!(write().await.0, 200);
    assert_eq!(write().await.0, 200);
    let (status, error) = write().await;
    assert_eq!(status, 429);
    assert_eq!(error["error"]["status"], "RESOURCE_EXHAUSTED");
    assert_eq!(error["error"]["details"][0]["reason"], "RATE_LIMIT_EXCEEDED");
    assert_eq!(
        error["error"]["details"][0]["metadata"]["quota_limit"],
        "WriteRequestsPerMinutePerUser"
    );
    // Reads have their own bucket.
    assert_eq!(
        call(&handle, "GET", "/v4/spreadsheets/book", Some(&token), None)
            .await
            .0,
        200
    );
    handle.sandbox().advance_clock(60).unwrap();
    assert_eq!(write().await.0, 200);
    handle.shutdown().await;
}

#[tokio::test]
async fn oversized_payloads_are_refused_and_faults_take_sheets_shape() {
    let handle = spawn(json!({"max_request_bytes": 100})).await;
    let token = shared_book(&handle).await;
    let big: Vec<Value> = (0..50).map(|i| json!([format!("row {i}")])).collect();
    let (status, error) = call(
        &handle,
        "PUT",
        "/v4/spreadsheets/book/values/Report%21A1?valueInputOption=RAW",
        Some(&token),
        Some(json!({ "values": big })),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        error["error"]["message"],
        "Request payload size exceeds the limit: 100 bytes."
    );
    let fault: crate::Fault = serde_json::from_value(json!({"kind": "rate_limit", "path_prefix": "/v4/"})).unwrap();
    handle.sandbox().push_fault(fault);
    let (status, error) = call(&handle, "GET", "/v4/spreadsheets/book", Some(&token), None).await;
    assert_eq!(status, 429);
    assert_eq!(
        error["error"]["details"][0]["metadata"]["quota_limit"],
        "WriteRequestsPerMinutePerUser"
    );
    handle.shutdown().await;
}

/// Claims of a valid assertion for the sandbox's service account, issued `age` s ago.
fn claims(handle: &SandboxHandle, age: i64) -> Value {
    let now = handle.sandbox().advance_clock(0).unwrap() - age;
    json!({"iss": ROBOT, "scope": SHEETS, "aud": GOOGLE_TOKEN_URL, "iat": now, "exp": now + 3600})
}

async fn jwt_grant(handle: &SandboxHandle, assertion: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/token", handle.base_url()))
        .form(&[("grant_type", service_account::GRANT_TYPE), ("assertion", assertion)])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_signed_assertion_gets_a_token_that_writes_a_shared_sheet_until_revoked() {
    let handle = spawn(json!({})).await;
    shared_book(&handle).await;
    let (status, key) = call(
        &handle,
        "GET",
        &format!("/_sandbox/service-accounts/{ROBOT}/key"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(key["client_email"], ROBOT);
    assert_eq!(key["type"], "service_account");
    assert_eq!(key["token_uri"], format!("{}/token", handle.base_url()));
    assert!(key["private_key"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    let (status, granted) = jwt_grant(&handle, &service_account::sign(&claims(&handle, 0))).await;
    assert_eq!(status, 200, "{granted}");
    assert_eq!(granted["expires_in"], 3599);
    assert_eq!(granted["token_type"], "Bearer");
    assert!(granted.get("refresh_token").is_none());
    let token = granted["access_token"].as_str().unwrap();
    let write = || {
        call(
            &handle,
            "PUT",
            "/v4/spreadsheets/book/values/Report%21A5?valueInputOption=RAW",
            Some(token),
            Some(json!({"values": [["robot"]]})),
        )
    };
    assert_eq!(write().await.0, 200);
    handle.sandbox().revoke(ROBOT, RevokeReason::AppRemoved);
    assert_eq!(write().await.0, 401);
    handle.shutdown().await;
}

#[tokio::test]
async fn bad_assertions_are_refused_in_googles_words() {
    let handle = spawn(json!({})).await;
    let refused = |error: &str, description: &str| json!({"error": error, "error_description": description});
    let good = claims(&handle, 0);
    let with = |change: Value| {
        let mut claims = good.clone();
        claims
            .as_object_mut()
            .unwrap()
            .extend(change.as_object().unwrap().clone());
        service_account::sign(&claims)
    };
    let mut forged = service_account::sign(&good);
    forged.replace_range(forged.len() - 4.., "AAAA");
    let tampered = {
        let parts: Vec<&str> = forged.split('.').collect();
        let other = service_account::sign(&json!({"iss": ROBOT, "scope": "x"}));
        format!(
            "{}.{}.{}",
            parts[0],
            other.split('.').nth(1).unwrap(),
            service_account::sign(&good).split('.').nth(2).unwrap()
        )
    };
    let short_lived = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.";
    let cases = [
        (forged, refused("invalid_grant", "Invalid JWT Signature.")),
        (tampered, refused("invalid_grant", "Invalid JWT Signature.")),
        (
            with(json!({"iss": "someone@else.iam.gserviceaccount.com"})),
            refused("invalid_grant", "Invalid grant: account not found"),
        ),
        (
            with(json!({"exp": good["iat"].as_i64().unwrap() + 7200})),
            refused("invalid_grant", short_lived),
        ),
        (
            service_account::sign(&claims(&handle, 4000)),
            refused("invalid_grant", short_lived),
        ),
        (
            with(json!({"scope": "not-a-scope"})),
            refused("unauthorized_client", "Unauthorized client or scope in request."),
        ),
        (
            with(json!({"aud": "https://example.com/token"})),
            refused(
                "invalid_grant",
                "Invalid JWT: Failed audience check. The right audience is https://oauth2.googleapis.com/token",
            ),
        ),
    ];
    for (assertion, expected) in cases {
        let (status, body) = jwt_grant(&handle, &assertion).await;
        assert_eq!((status, &body), (400, &expected));
    }
    // The sandbox's own token URL is a good audience too.
    let own = with(json!({"aud": format!("{}/token", handle.base_url())}));
    assert_eq!(jwt_grant(&handle, &own).await.0, 200);
    handle.shutdown().await;
}

#[tokio::test]
async fn sheets_routes_win_over_metas_node_routes() {
    let handle = spawn(json!({})).await;
    let token = shared_book(&handle).await;
    // `/v4/spreadsheets/{id}` has Meta's `/{version}/{node}/…` shape; the static `v4` wins.
    let (status, error) = call(&handle, "GET", "/v4/spreadsheets/insights", Some(&token), None).await;
    assert_eq!((status, error["error"]["status"].as_str()), (404, Some("NOT_FOUND")));
    handle.shutdown().await;
}

#[tokio::test]
async fn the_project_quota_counts_every_user_of_the_client() {
    let handle = spawn(json!({"read_requests_per_minute_per_project": 3})).await;
    let ann = shared_book(&handle).await;
    let now = handle.sandbox().advance_clock(0).unwrap();
    handle.sandbox().advance_clock(60 - now.rem_euclid(60)).unwrap();
    let bob = handle
        .sandbox()
        .mint_access_token(Issuer::Google, "bob@example.com", &[SHEETS]);
    async fn read(handle: &SandboxHandle, token: &str) -> (u16, Value) {
        call(handle, "GET", "/v4/spreadsheets/book", Some(token), None).await
    }
    assert_eq!(read(&handle, &ann).await.0, 200);
    assert_eq!(read(&handle, &ann).await.0, 200);
    // Bob is not an editor, but his request still counts against the project.
    assert_eq!(read(&handle, &bob).await.0, 403);
    let (status, error) = read(&handle, &ann).await;
    assert_eq!(status, 429);
    assert_eq!(
        error["error"]["details"][0]["metadata"]["quota_limit"],
        "ReadRequestsPerMinutePerProject"
    );
    assert_eq!(
        error["error"]["message"],
        "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service 'sheets.googleapis.com' for consumer 'project_number:269908437164'."
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn batch_get_reads_several_ranges_by_rows_or_columns() {
    let handle = spawn(json!({})).await;
    let token = shared_book(&handle).await;
    let (status, answer) = call(
        &handle,
        "GET",
        "/v4/spreadsheets/book/values:batchGet?ranges=Report%21A1%3AB2&ranges=%27My%20Tab%27&majorDimension=COLUMNS",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({"spreadsheetId": "book", "valueRanges": [
            {"range": "Report!A1:B2", "majorDimension": "COLUMNS", "values": [["date", "2025-03-01"], ["clicks", "12"]]},
            {"range": "'My Tab'!A1:Z1000", "majorDimension": "COLUMNS"},
        ]})
    );
    handle.shutdown().await;
}
