//! `spawn_app`: a sandbox, a config pointing every connection at it, query files, a store in
//! a temp directory, and the connections connected.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use adsync::app::{App, AppError};
use adsync::clock::ManualClock;
use adsync::config::{Config, Overrides};
use adsync::store::{RunRecord, StoreError};
use adsync_sandbox::{self as sandbox, SandboxHandle, SandboxSettings};
use chrono::{DateTime, Utc};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The connection every test query uses.
pub const CONNECTION: &str = "meta-test";
/// The sandbox user it is connected as.
pub const USER: &str = "test-user";
/// A second connection, for showing that trouble on one leaves the other alone.
pub const OTHER_CONNECTION: &str = "meta-other";
/// The sandbox user the second connection is connected as.
pub const OTHER_USER: &str = "other-user";

/// A Google connection (Google Ads and GA4), in configs made by [`TestApp::with_providers`].
pub const GOOGLE: &str = "google-test";
/// A LinkedIn Ads connection, in configs made by [`TestApp::with_providers`].
pub const LINKEDIN: &str = "linkedin-test";

/// A sandbox plus everything a daemon needs, in a temp directory.
pub struct TestApp {
    pub sandbox: SandboxHandle,
    pub dir: TempDir,
    pub clock: ManualClock,
}

impl TestApp {
    /// A sandbox (auto-approving consent) and an empty temp directory with a config.
    pub async fn new(start: &str) -> Self {
        Self::with_settings(start, SandboxSettings::default()).await
    }

    pub async fn with_settings(start: &str, settings: SandboxSettings) -> Self {
        let sandbox = sandbox::spawn(
            "127.0.0.1:0".parse().unwrap(),
            SandboxSettings {
                auto_approve: true,
                ..settings
            },
        )
        .await
        .expect("sandbox starts");
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("queries")).unwrap();
        let app = Self {
            sandbox,
            dir,
            clock: ManualClock::new(at(start)),
        };
        app.write_config("127.0.0.1:0");
        app
    }

    /// Like [`new`](Self::new), with a Google and a LinkedIn connection beside the Meta ones
    /// (their authorization servers and APIs pointed at the sandbox) and `extra` TOML lines
    /// appended to the Google connection (e.g. `scopes = [...]`).
    pub async fn with_providers(start: &str, google_extra: &str) -> Self {
        let test = Self::new(start).await;
        test.write_provider_config(google_extra, "");
        test
    }

    /// Writes the config of [`with_providers`](Self::with_providers) with `extra` TOML
    /// sections (e.g. `[email]`) appended.
    pub fn write_provider_config(&self, google_extra: &str, extra: &str) {
        self.write_provider_config_on("127.0.0.1:0", google_extra, extra);
    }

    /// [`write_provider_config`](Self::write_provider_config) with the web endpoint (and
    /// the links it makes) on `listen`.
    pub fn write_provider_config_on(&self, listen: &str, google_extra: &str, extra: &str) {
        let base = self.sandbox.base_url();
        self.write_config_with(
            listen,
            &format!(
                r#"
[[connections]]
id = "{GOOGLE}"
provider = "google"
client_id = "test-app"
client_secret = "test-app-secret"
auth_url = "{base}/o/oauth2/v2/auth"
token_url = "{base}/token"
api_base_url = "{base}"
developer_token = "sandbox-developer-token"
{google_extra}

[[connections]]
id = "{LINKEDIN}"
provider = "linkedin_ads"
client_id = "test-app"
client_secret = "test-app-secret"
auth_url = "{base}/oauth/v2/authorization"
token_url = "{base}/oauth/v2/accessToken"
api_base_url = "{base}"
owners = ["owner@example.com"]

{extra}
"#
            ),
        );
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.path().join("adsync.toml")
    }

    pub fn reports(&self) -> PathBuf {
        self.path().join("out/reports")
    }

    /// Writes the config; `listen` is where the daemon's web endpoint will be.
    pub fn write_config(&self, listen: &str) {
        self.write_config_with(listen, "");
    }

    /// Writes the config with `extra` TOML sections (e.g. `[email]`) appended; `listen` is
    /// also the public URL.
    pub fn write_config_with(&self, listen: &str, extra: &str) {
        let base = self.sandbox.base_url();
        let config = format!(
            r#"
public_url = "http://{listen}"
data_dir = "state"
queries_dir = "queries"
output_dir = "out"
listen = "{listen}"

[http]
max_retries = 2
retry_initial_backoff_ms = 5
retry_max_backoff_ms = 20
request_timeout_secs = 10

[[connections]]
id = "{CONNECTION}"
provider = "meta_ads"
client_id = "test-app"
client_secret = "test-app-secret"
auth_url = "{base}/v25.0/dialog/oauth"
token_url = "{base}/v25.0/oauth/access_token"
api_base_url = "{base}"
owners = ["owner@example.com"]

[[connections]]
id = "{OTHER_CONNECTION}"
provider = "meta_ads"
client_id = "test-app"
client_secret = "test-app-secret"
auth_url = "{base}/v25.0/dialog/oauth"
token_url = "{base}/v25.0/oauth/access_token"
api_base_url = "{base}"

{extra}
"#
        );
        std::fs::write(self.config_path(), config).unwrap();
    }

    /// Writes `queries/{name}.toml`.
    pub fn write_query(&self, name: &str, text: &str) {
        std::fs::write(self.path().join("queries").join(format!("{name}.toml")), text).unwrap();
    }

    pub fn config(&self) -> Config {
        Config::load(&self.config_path(), &Overrides::default()).expect("test config is valid")
    }

    /// A daemon on this directory's store, using the manual clock. A daemon of this test
    /// stopped just before has been seen (under load, rarely) to hold sled's file lock a
    /// moment past its task, likely a store handle still on a blocking-pool thread, so a
    /// locked store is asked again until it opens; any other error fails the test. A real
    /// restart is a new process, whose lock the old one's exit released.
    pub async fn app(&self) -> App {
        eventually("the previous daemon's store to close", async || {
            match App::build(self.config(), Arc::new(self.clock.clone())).await {
                Ok(app) => Some(app),
                Err(AppError::Store(StoreError::Locked(_))) => None,
                Err(e) => panic!("app builds: {e:?}"),
            }
        })
        .await
    }

    /// A daemon whose connection is connected through the sandbox's OAuth flow.
    pub async fn connected_app(&self) -> App {
        let app = self.app().await;
        adsync::demo::connect_via_sandbox(&app, CONNECTION, USER)
            .await
            .expect("connects through the sandbox");
        app
    }

    /// A daemon with both connections connected.
    pub async fn both_connected_app(&self) -> App {
        let app = self.connected_app().await;
        adsync::demo::connect_via_sandbox(&app, OTHER_CONNECTION, OTHER_USER)
            .await
            .expect("connects through the sandbox");
        app
    }

    /// Calls a sandbox control endpoint and returns its JSON answer.
    pub async fn control(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let mut request =
            reqwest::Client::new().request(method, format!("{}{path_and_query}", self.sandbox.base_url()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the sandbox answers");
        assert!(
            response.status().is_success(),
            "{path_and_query}: HTTP {}",
            response.status()
        );
        response.json().await.unwrap_or_default()
    }

    /// Revokes every token of `user` the way the platform would for `reason`.
    pub async fn revoke(&self, user: &str, reason: &str) -> serde_json::Value {
        let path = format!("/_sandbox/users/{user}/revoke?reason={reason}");
        self.control(reqwest::Method::POST, &path, None).await
    }

    /// Expires every access token of `user` at the platform (refresh tokens stay valid).
    pub async fn expire_access_tokens(&self, user: &str) {
        let path = format!("/_sandbox/users/{user}/expire-access-tokens");
        self.control(reqwest::Method::POST, &path, None).await;
    }

    /// The `adsync` binary with `args` and `--config` of this directory, ignoring any
    /// `ADSYNC_*` directories of the environment running the tests.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = adsync_command(args);
        command.arg("--config").arg(self.config_path());
        command
    }

    pub fn read_report(&self, file: &str) -> String {
        std::fs::read_to_string(self.reports().join(file)).unwrap()
    }
}

/// The `adsync` binary with `args`, ignoring any `ADSYNC_*` directories of the environment
/// running the tests.
pub fn adsync_command(args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_adsync"));
    command
        .args(args)
        .env_remove("ADSYNC_DATA_DIR")
        .env_remove("ADSYNC_QUERIES_DIR");
    command
}

/// A daemon running on a test's store and manual clock.
pub struct Daemon {
    pub app: App,
    stop: CancellationToken,
    task: JoinHandle<Result<(), adsync::app::AppError>>,
}

impl Daemon {
    /// Starts `app`'s scheduler and web endpoint; returns once the scheduler has read the
    /// clock (it has recorded `query` as tracked).
    pub async fn start(app: App, query: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(app, query, listener).await
    }

    /// [`Daemon::start`] with the web endpoint on `listener`.
    pub async fn start_on(app: App, query: &str, listener: tokio::net::TcpListener) -> Self {
        let stop = CancellationToken::new();
        let task = tokio::spawn(app.clone().run_until_stopped(listener, stop.clone()));
        app.scheduler_ready().await;
        assert!(
            app.store().query_state(query).await.unwrap().is_some(),
            "{query} is scheduled"
        );
        Self { app, stop, task }
    }

    /// Stops it and waits until its runs finished and the store is closed.
    pub async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap().unwrap();
        // Dropping the last handle closes the sled database so the next daemon can open it.
        drop(self.app);
    }

    /// Waits until `query` has at least `n` runs; returns them, oldest first.
    pub async fn runs(&self, query: &str, n: usize) -> Vec<RunRecord> {
        eventually(&format!("{n} runs of {query}"), async || {
            let runs = self.app.store().runs(query).await.unwrap();
            (runs.len() >= n).then_some(runs)
        })
        .await
    }
}

/// Follows a consent URL the sandbox approves at once and returns the authorization code
/// its redirect carries.
pub async fn consent_code(consent: &url::Url) -> String {
    let response = no_redirects().get(consent.clone()).send().await.unwrap();
    let location = response.headers()[reqwest::header::LOCATION].to_str().unwrap();
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("consent gave a code")
}

/// A browser without cookies or redirects: each hop is checked by the test.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A query's `state` in status JSON.
pub fn query_state(status: &serde_json::Value, name: &str) -> serde_json::Value {
    query_view(status, name)["state"].clone()
}

/// A query's object in status JSON.
pub fn query_view(status: &serde_json::Value, name: &str) -> serde_json::Value {
    let queries = status["queries"].as_array().unwrap();
    queries.iter().find(|q| q["name"] == name).unwrap().clone()
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls until `port` accepts connections, or panics after a generous deadline.
pub async fn wait_for_port(port: u16, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not start on port {port}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls `url` until it answers 200, or panics after a generous deadline.
pub async fn wait_for_ok(url: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = reqwest::get(url).await {
            if response.status() == reqwest::StatusCode::OK {
                return;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "{url} never answered 200");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends SIGTERM to `child` (an `adsync run`) and waits for it to exit with its output.
pub async fn terminate(child: std::process::Child) -> std::process::Output {
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap()
}

/// An instant from RFC 3339 text.
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// Polls `check` until it returns `Some`, or panics after a generous deadline.
pub async fn eventually<T>(what: &str, check: impl AsyncFnMut() -> Option<T>) -> T {
    eventually_within(what, Duration::from_secs(30), check).await
}

/// [`eventually`] with a deadline `patience` from now, for waits longer than usual.
pub async fn eventually_within<T>(what: &str, patience: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A CSV as rows of cells.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// The rows the sandbox's data function gives for `query` over `window`, as CSV cells in
/// the query's column order, header first: what the output file must hold. An action column
/// `field:type[:window]` is the entry of `type` in the row's `field` list (its `value`, or the
/// window's), empty where the row has no such entry.
pub fn expected_rows(
    query: &adsync::query::Query,
    window: adsync::rows::DateWindow,
    shape: adsync_sandbox::meta::data::Shape,
) -> Vec<Vec<String>> {
    use adsync_sandbox::meta::actions::ReportTime;
    use adsync_sandbox::meta::data::{Breakdown, Field, InsightsQuery, Level, Report};
    let columns = query.columns();
    // `actions:purchase:7d_click` reads the `actions` field.
    let field_of = |column: &str| column.split(':').next().unwrap().to_string();
    let mut fields: Vec<String> = Vec::new();
    for column in columns.iter().filter(|c| !query.breakdowns.contains(c)) {
        if !fields.contains(&field_of(column)) {
            fields.push(field_of(column));
        }
    }
    let mut rows = vec![columns.clone()];
    for account in &query.accounts {
        let report = Report::new(
            InsightsQuery {
                account: account.trim_start_matches("act_").parse().unwrap(),
                level: Level::parse(query.level.as_str()).unwrap(),
                fields: fields.iter().map(|f| Field::parse(f).unwrap()).collect(),
                window: adsync_sandbox::DateWindow::new(window.start, window.end),
                daily: query.time_increment == adsync::query::TimeIncrement::Daily,
                breakdowns: query.breakdowns.iter().map(|b| Breakdown::parse(b).unwrap()).collect(),
                filters: Vec::new(),
                attribution_windows: query.attribution.windows.clone(),
                report_time: query
                    .attribution
                    .report_time
                    .as_deref()
                    .map_or(ReportTime::default(), |t| ReportTime::parse(t).unwrap()),
            },
            shape,
        )
        .unwrap();
        for row in report.rows() {
            let cell = |column: &String| -> String {
                let mut parts = column.split(':');
                let field = parts.next().unwrap();
                let value = row.iter().find(|(k, _)| *k == field).map(|(_, v)| v);
                match (parts.next(), value) {
                    (None, Some(value)) => value.as_text().unwrap().to_string(),
                    (Some(action_type), Some(value)) => {
                        let key = parts.next().unwrap_or("value");
                        let entries = value.as_actions().unwrap();
                        let entry = entries.iter().find(|e| e.action_type == action_type);
                        entry.and_then(|e| e.get(key)).unwrap_or_default().to_string()
                    }
                    (_, None) => String::new(),
                }
            };
            rows.push(columns.iter().map(cell).collect());
        }
    }
    rows
}

/// A campaign report of `connection` fired every hour, for yesterday, to `reports/{file}`.
pub fn hourly(connection: &str, file: &str, mode: &str) -> String {
    hourly_query(
        &format!(
            r#"connection = "{connection}"
accounts = ["act_1001"]
level = "campaign"
fields = ["date_start", "campaign_id", "impressions", "spend"]
"#
        ),
        file,
        mode,
    )
}

/// A query file of what `source` reads (its `connection`, `accounts`, `fields`... lines),
/// fired every hour, for yesterday, to `reports/{file}`.
pub fn hourly_query(source: &str, file: &str, mode: &str) -> String {
    format!(
        r#"{source}date_range = "yesterday"

[schedule]
cron = "0 * * * *"
timezone = "UTC"

[output]
kind = "csv"
path = "reports/{file}"
mode = "{mode}"
"#
    )
}
