//! `adsync demo`: the sandbox platform and the daemon in one process, on the embedded
//! example config and query files.
//!
//! The demo writes the example queries to `<out>/queries`, starts the sandbox, connects every
//! connection through the sandbox's real OAuth flow (the sandbox approves consent at once for
//! the demo user, and the demo follows the redirect itself), runs every query once, and then,
//! unless `--once`, keeps running them on their schedules until stopped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::app::{App, AppError};
use crate::clock::SharedClock;
use crate::config::{Config, ConfigError, Overrides};
use crate::location::Location;
use crate::run::{run_query, Trigger};
use crate::store::{Outcome, RunRecord};
use adsync_sandbox::{self as sandbox, RevokeReason, SandboxHandle, SandboxSettings};

/// The annotated example config, embedded.
pub const EXAMPLE_CONFIG: &str = include_str!("../examples/adsync.toml");

/// The example query files, embedded, as (file name, contents).
pub const EXAMPLE_QUERIES: &[(&str, &str)] = &[
    (
        "meta_campaigns_daily.toml",
        include_str!("../queries/meta_campaigns_daily.toml"),
    ),
    (
        "meta_ads_yesterday.toml",
        include_str!("../queries/meta_ads_yesterday.toml"),
    ),
    (
        "meta_accounts_last_month.toml",
        include_str!("../queries/meta_accounts_last_month.toml"),
    ),
    (
        "meta_adsets_by_age_90d.toml",
        include_str!("../queries/meta_adsets_by_age_90d.toml"),
    ),
    (
        "google_ads_campaigns_daily.toml",
        include_str!("../queries/google_ads_campaigns_daily.toml"),
    ),
    (
        "ga4_channels_daily.toml",
        include_str!("../queries/ga4_channels_daily.toml"),
    ),
    (
        "linkedin_campaign_groups_daily.toml",
        include_str!("../queries/linkedin_campaign_groups_daily.toml"),
    ),
    (
        "meta_campaigns_to_sheet.toml",
        include_str!("../queries/meta_campaigns_to_sheet.toml"),
    ),
];

/// The spreadsheet the example Sheets query writes, created in the demo's sandbox.
pub(crate) const DEMO_SPREADSHEET: &str = "adsync-demo-spreadsheet";

/// The sandbox user the demo connects as.
pub(crate) const DEMO_USER: &str = "demo-user";

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// Files could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The embedded config did not validate (a bug).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The daemon failed.
    #[error(transparent)]
    App(#[from] AppError),
    /// Connecting to the sandbox failed.
    #[error("connecting {connection}: {message}")]
    Connect {
        /// Connection id.
        connection: String,
        /// What went wrong.
        message: String,
    },
    /// Some demo query did not deliver.
    #[error("{0} demo queries failed; see the messages above")]
    RunsFailed(usize),
}

/// How to run the demo.
#[derive(Clone)]
pub struct DemoOptions {
    /// Run every query once and return.
    pub once: bool,
    /// Where queries, state and CSVs go.
    pub out: PathBuf,
    /// Sandbox address (`127.0.0.1:0` picks a free port).
    pub sandbox_listen: SocketAddr,
    /// Daemon web endpoint address.
    pub listen: SocketAddr,
    /// Time (tests pass a manual clock).
    pub clock: SharedClock,
}

/// Runs the demo; returns the records of the first pass.
pub async fn run(options: DemoOptions, shutdown: CancellationToken) -> Result<Vec<RunRecord>, DemoError> {
    let queries_dir = options.out.join("queries");
    write_example_queries(&queries_dir)?;

    let sandbox = sandbox::spawn(
        options.sandbox_listen,
        SandboxSettings {
            auto_approve: true,
            ..SandboxSettings::default()
        },
    )
    .await
    .map_err(|source| DemoError::Io {
        path: PathBuf::from(options.sandbox_listen.to_string()),
        source,
    })?;
    tracing::info!("Sandbox ad platform is up at {}.", sandbox.base_url());

    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|source| DemoError::Io {
            path: PathBuf::from(options.listen.to_string()),
            source,
        })?;
    let listen = listener.local_addr().map_err(|source| DemoError::Io {
        path: PathBuf::from(options.listen.to_string()),
        source,
    })?;
    let sandbox_url = Url::parse(&sandbox.base_url()).expect("the sandbox base URL is a URL");
    let config_path = write_config(&options.out, listen, &sandbox_url)?;
    let config = Config::load(&config_path, &Overrides::default())?;
    tracing::info!(
        "The demo's config is {}: `adsync status --config {}` shows its state.",
        config_path.display(),
        config_path.display()
    );

    create_demo_spreadsheet(&sandbox).await?;
    let app = App::build(config, options.clock.clone()).await?;
    for conn in app.config().connections.clone() {
        connect(&app, &conn.id).await?;
    }

    let mut records = Vec::new();
    for query in app.queries().to_vec() {
        records.push(app.run_once(&query.name).await?);
    }
    let failed = records.iter().filter(|r| r.outcome == Outcome::Failed).count();
    if options.once {
        sandbox.shutdown().await;
        if failed > 0 {
            return Err(DemoError::RunsFailed(failed));
        }
        let tabs = records
            .iter()
            .filter(|r| matches!(r.output, Some(Location::Sheet { .. })))
            .count();
        tracing::info!(
            "Demo finished: {} reports written under {}, {tabs} to a sandbox spreadsheet tab.",
            records.len() - tabs,
            options.out.display()
        );
        return Ok(records);
    }
    tell_the_token_story(&app, &sandbox).await;
    tracing::info!("Demo is running the queries on their schedules; press Ctrl-C to stop.");
    app.run_until_stopped(listener, shutdown).await?;
    sandbox.shutdown().await;
    Ok(records)
}

/// Creates the spreadsheet the example Sheets query writes, shared with the demo user's
/// Google login, through the sandbox's control API.
async fn create_demo_spreadsheet(sandbox: &SandboxHandle) -> Result<(), DemoError> {
    let url = format!("{}/_sandbox/sheets/{DEMO_SPREADSHEET}", sandbox.base_url());
    let fail = |message: String| DemoError::Connect {
        connection: "google-demo".into(),
        message: format!("creating the demo spreadsheet: {message}"),
    };
    reqwest::Client::new()
        .put(&url)
        .json(&serde_json::json!({"title": "adsync demo", "editors": [format!("{DEMO_USER}@example.com")]}))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| fail(e.to_string()))?;
    tracing::info!("The sandbox has a spreadsheet for the Sheets example; see it at {url}");
    Ok(())
}

/// The reason adsync exists, acted out: the platform kills the demo user's token, the next
/// runs pause and record gaps, the owner gets an email (in the outbox) with a signed link,
/// and following it in a browser reconnects, resumes and backfills.
async fn tell_the_token_story(app: &App, sandbox: &SandboxHandle) {
    tracing::info!(
        "Now the story adsync exists for: the demo user changes their Facebook password, which kills adsync's token."
    );
    let world = sandbox.sandbox();
    // From here on a person approves on the consent page, as on the real platform.
    let mut settings = world.settings();
    settings.auto_approve = false;
    world.set_settings(settings);
    world.revoke(DEMO_USER, RevokeReason::PasswordChanged);
    let now = app.clock().now();
    for query in app.queries().iter() {
        let record = run_query(&app.run_context(), query, now, Trigger::Scheduled).await;
        let what = if record.outcome == Outcome::Paused {
            "was not attempted (the connection is paused)"
        } else {
            "found the token dead"
        };
        tracing::info!(
            "{}: the scheduled run for {} {what}; it is recorded as a gap, to be backfilled after the reconnect.",
            record.query,
            record.window,
        );
    }
    for conn in &app.config().connections {
        let link = app.notifier().links().link(&conn.id, now);
        tracing::info!(
            "The owners of {} were emailed (see {}). Open the link in a browser, click Allow on the sandbox's consent page, and watch the queries resume and the gaps fill:\n\n    {link}\n",
            conn.id,
            app.config().email.outbox_dir.display()
        );
    }
}

fn write_example_queries(dir: &Path) -> Result<(), DemoError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DemoError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    for (name, text) in EXAMPLE_QUERIES {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(io(&path))?;
    }
    Ok(())
}

/// Moves `url` to the sandbox's scheme, host and port, keeping its path.
/// Writes the demo's config to `out/adsync.toml`: the example config with the directories
/// under `out`, the web endpoint at `listen` and every platform URL at the sandbox, so
/// `adsync status --config out/adsync.toml` reads what the demo runs, during it and after.
fn write_config(out: &Path, listen: SocketAddr, sandbox: &Url) -> Result<PathBuf, DemoError> {
    use toml_edit::value;
    let mut doc: toml_edit::DocumentMut = EXAMPLE_CONFIG.parse().expect("the example config is TOML");
    // Relative to the config file, so in `out`.
    doc["data_dir"] = value(".adsync");
    doc["queries_dir"] = value("queries");
    doc["output_dir"] = value(".");
    doc["listen"] = value(listen.to_string());
    doc["public_url"] = value(format!("http://{listen}"));
    if let Some(connections) = doc["connections"].as_array_of_tables_mut() {
        for conn in connections.iter_mut() {
            for key in ["auth_url", "token_url", "api_base_url"] {
                let Some(mut url) = conn.get(key).and_then(|v| v.as_str()).and_then(|u| Url::parse(u).ok()) else {
                    continue;
                };
                point_at(&mut url, sandbox);
                conn[key] = value(url.as_str());
            }
        }
    }
    let path = out.join("adsync.toml");
    std::fs::write(&path, doc.to_string()).map_err(|source| DemoError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

fn point_at(url: &mut Url, sandbox: &Url) {
    let mut moved = sandbox.clone();
    moved.set_path(url.path());
    moved.set_query(url.query());
    *url = moved;
}

/// Connects `connection` through the sandbox's OAuth flow as [`DEMO_USER`].
async fn connect(app: &App, connection: &str) -> Result<(), DemoError> {
    connect_via_sandbox(app, connection, DEMO_USER).await
}

/// Connects `connection` through a sandbox whose consent step approves at once (its
/// `auto_approve` setting), as a person clicking "Allow" would: follows the redirect, checks
/// the state and exchanges the code, then records who the token belongs to.
pub async fn connect_via_sandbox(app: &App, connection: &str, user: &str) -> Result<(), DemoError> {
    let fail = |message: String| DemoError::Connect {
        connection: connection.to_string(),
        message,
    };
    let pending = app
        .auth()
        .begin_authorization(connection, Some(user))
        .map_err(|e| fail(e.to_string()))?;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let response = browser
        .get(pending.url.clone())
        .send()
        .await
        .map_err(|e| fail(format!("consent page: {e}")))?;
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| {
            fail(format!(
                "consent answered HTTP {} without a redirect",
                response.status()
            ))
        })?;
    let redirect = Url::parse(location).map_err(|e| fail(format!("bad redirect: {e}")))?;
    let param = |name: &str| {
        redirect
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if param("state").as_deref() != Some(pending.state.as_str()) {
        return Err(fail("the redirect's state does not match the request".into()));
    }
    let code = param("code").ok_or_else(|| {
        fail(format!(
            "consent was not granted: {}",
            param("error_description").or(param("error")).unwrap_or_default()
        ))
    })?;
    app.auth()
        .complete_authorization(connection, &code, &pending.verifier)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let identity = crate::reconnect::settle_new_token(app, connection)
        .await
        .map_err(|e| fail(e.to_string()))?;
    tracing::info!("Connected {connection} as sandbox user {}.", identity.name);
    Ok(())
}
