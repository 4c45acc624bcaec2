//! The `adsync` command line: parse, load config, call into the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;

use adsync::app::App;
use adsync::clock::SystemClock;
use adsync::config::{Config, Overrides};
use adsync::query;
use adsync::status::StatusReport;
use adsync::store::{Outcome, RunRecord, Store, StoreError};
#[cfg(feature = "sandbox")]
use adsync_sandbox::{self as sandbox, SandboxSettings};

/// The version and the commit it was built from (`build.rs`; "unknown" without git).
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("ADSYNC_GIT_COMMIT"), ")");

/// Marketing reports on a schedule that survive dying OAuth tokens.
#[derive(Parser)]
#[command(name = "adsync", version = VERSION, about)]
struct Cli {
    /// How log lines on stderr look: `text` for people, `json` (one object per line) for a
    /// log collector.
    #[arg(long, global = true, env = "ADSYNC_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: every valid query on its schedule, plus the web endpoint.
    Run(ConfigArgs),
    /// Validate the config and every query file; report all problems as file:line:col.
    Check(ConfigArgs),
    /// Run one query now (through the daemon if it is running) and print the outcome.
    RunOnce {
        /// The query's name (its file stem).
        query: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// List a platform's fields (and Meta's breakdowns): the column to write, its kind, the
    /// levels it works at and what it holds. WORDS narrow the list: each must appear in the
    /// name or the description. Exit status 1 when nothing matches, 2 for an unknown platform.
    Fields {
        /// meta_ads, google_ads, ga4 or linkedin_ads.
        platform: String,
        /// Words to search for, e.g. `purchase`.
        words: Vec<String>,
        /// Print a JSON array of {name, column, key, description, kind, levels, examples}.
        #[arg(long)]
        json: bool,
    },
    /// List the accounts CONNECTION's login can read: the id a query file wants, name,
    /// currency, time zone (through the daemon if it is running).
    Accounts {
        /// The connection id.
        connection: String,
        /// Print the list as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Run a query now for its current window and print its first rows and row count;
    /// writes no output and records no run (through the daemon if it is running).
    Preview {
        /// A query's name, or the path of a query file (a draft outside the query directory).
        query: String,
        /// How many rows to show.
        #[arg(long, default_value_t = 20)]
        rows: usize,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Show connections (state, reason, expiry), queries (state, last and next run), gaps and
    /// skipped files.
    Status {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Print a signed link that connects CONNECTION for the first time (open it in a
    /// browser while `adsync run` serves the web endpoint).
    Connect {
        /// The connection id.
        connection: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Print a fresh signed reconnect link for CONNECTION.
    ReconnectLink {
        /// The connection id.
        connection: String,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Make good missed runs: every open gap, or re-deliver the dates FROM..TO by hand.
    Backfill {
        /// Only this query (default: all).
        query: Option<String>,
        /// First date to re-deliver (with --to).
        #[arg(long, requires = "to")]
        from: Option<chrono::NaiveDate>,
        /// Last date to re-deliver (with --from).
        #[arg(long, requires = "from")]
        to: Option<chrono::NaiveDate>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Print a completion script for SHELL to stdout, e.g.
    /// `adsync completions bash > /etc/bash_completion.d/adsync`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to stdout, e.g. `adsync man | man -l -`.
    Man,
    /// Serve the sandbox: Meta, Google Ads, GA4, LinkedIn and Sheets and their OAuth servers, on loopback.
    #[cfg(feature = "sandbox")]
    Sandbox {
        /// Loopback address to listen on.
        #[arg(long, default_value = sandbox::DEFAULT_LISTEN)]
        listen: std::net::SocketAddr,
        /// Approve consent at once for the `login_hint` user (as mock OAuth servers do).
        #[arg(long)]
        auto_approve: bool,
    },
    /// Manage the store itself.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Run the example queries against the built-in sandbox and write real CSVs.
    #[cfg(feature = "sandbox")]
    Demo {
        /// Run every query once, then exit.
        #[arg(long)]
        once: bool,
        /// Directory for the queries, state and reports, and the config it writes
        /// (`adsync status --config OUT/adsync.toml` works while the demo runs and after).
        #[arg(long, default_value = "demo-out")]
        out: PathBuf,
        /// The daemon's web endpoint (default 127.0.0.1:8787; with --once, a free port).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// The sandbox's address (default 127.0.0.1:8788; with --once, a free port).
        #[arg(long)]
        sandbox_listen: Option<std::net::SocketAddr>,
    },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Copy every record of a store into a new, empty one and check the copy: connections,
    /// tokens, query state, gaps, run history, pending authorizations, sent notifications.
    /// Stop the daemon first. Tokens are sealed again with the key of the source's data
    /// directory (or ADSYNC_SECRET_KEY), which every daemon of the cluster must then use.
    Copy {
        /// The source: `sled:DIR` (a data directory).
        #[arg(long)]
        from: String,
        /// The target: `postgres:URL` (e.g. postgres:postgres://adsync@db/adsync).
        #[arg(long)]
        to: String,
    },
}

#[derive(Args, Clone)]
struct ConfigArgs {
    /// The config file.
    #[arg(long, env = "ADSYNC_CONFIG", default_value = "adsync.toml")]
    config: PathBuf,
    /// Data directory (store and key file); overrides the config.
    #[arg(long, env = "ADSYNC_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Query directory; overrides the config.
    #[arg(long, env = "ADSYNC_QUERIES_DIR")]
    queries_dir: Option<PathBuf>,
}

impl ConfigArgs {
    fn load(&self) -> anyhow::Result<Config> {
        let overrides = Overrides {
            data_dir: self.data_dir.clone(),
            queries_dir: self.queries_dir.clone(),
            ..Overrides::default()
        }
        .with_env();
        Ok(Config::load(&self.config, &overrides)?)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let fail = |message: String| {
        // In JSON mode every stderr line is an object, the last error included.
        match cli.log_format {
            LogFormat::Text => eprintln!("error: {message}"),
            LogFormat::Json => tracing::error!("{message}"),
        }
        ExitCode::FAILURE
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => fail(format!("{e:#}")),
    }
}

/// Log lines on stderr, filtered by `ADSYNC_LOG` (default `info`).
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ADSYNC_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_env_filter(filter);
    match format {
        // Colour codes only where a person reads them, not in redirected logs.
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}

async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(args) => {
            let config = args.load()?;
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?;
            let app = App::build(config, clock()?).await?;
            reload_on_hangup(&app, &args);
            app.run_until_stopped(listener, stop_on_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(args) => check(&args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "adsync", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout())
                .context("cannot write the manual page")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::RunOnce { query, config } => run_once(&config, &query).await,
        Command::Fields { platform, words, json } => fields(&platform, &words, json),
        Command::Accounts {
            connection,
            json,
            config,
        } => accounts(&config, &connection, json).await,
        Command::Preview { query, rows, config } => preview(&config, &query, rows).await,
        Command::Status { json, config } => status(&config, json).await,
        Command::Connect { connection, config } => print_link(&config, &connection, "connect"),
        Command::ReconnectLink { connection, config } => print_link(&config, &connection, "reconnect"),
        Command::Backfill {
            query,
            from,
            to,
            config,
        } => backfill(&config, query, from.zip(to)).await,
        #[cfg(feature = "sandbox")]
        Command::Sandbox { listen, auto_approve } => {
            let settings = SandboxSettings {
                auto_approve,
                ..SandboxSettings::default()
            };
            let handle = sandbox::spawn(listen, settings).await?;
            println!("Sandbox ad platform listening on {}", handle.base_url());
            stop_on_signal().cancelled().await;
            handle.shutdown().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Store(StoreCommand::Copy { from, to }) => store_copy(&from, &to).await,
        #[cfg(feature = "sandbox")]
        Command::Demo {
            once,
            out,
            listen,
            sandbox_listen,
        } => {
            let default = |fixed: &str| {
                if once { "127.0.0.1:0" } else { fixed }
                    .parse()
                    .expect("static address")
            };
            let options = adsync::demo::DemoOptions {
                once,
                out,
                sandbox_listen: sandbox_listen.unwrap_or_else(|| default(sandbox::DEFAULT_LISTEN)),
                listen: listen.unwrap_or_else(|| default(adsync::config::DEFAULT_LISTEN)),
                clock: Arc::new(SystemClock),
            };
            adsync::demo::run(options, stop_on_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn store_copy(from: &str, to: &str) -> anyhow::Result<ExitCode> {
    let Some(dir) = from.strip_prefix("sled:") else {
        bail!("--from must be sled:DIR (a data directory), not {from:?}");
    };
    let Some(url) = to.strip_prefix("postgres:") else {
        bail!("--to must be postgres:URL, not {to:?}");
    };
    let dir = std::path::Path::new(dir);
    if !dir.join("store").is_dir() {
        bail!(
            "no sled store in {} (the data directory holds a `store` folder)",
            dir.display()
        );
    }
    let key = adsync::store::SecretKey::load_or_create(dir)?;
    let source = Store::open(dir)?;
    let target = Store::connect_postgres(url, &key).await?;
    let counts = source.copy_to(&target).await?;
    println!(
        "Copied and checked: {} connections, {} tokens, {} query states, {} runs, {} gaps, {} pending authorizations, {} notifications.",
        counts.connections,
        counts.tokens,
        counts.query_states,
        counts.runs,
        counts.gaps,
        counts.pending_states,
        counts.notifications
    );
    Ok(ExitCode::SUCCESS)
}

fn check(args: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let config = match args.load() {
        Ok(config) => config,
        Err(e) => {
            println!("{e:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let (queries, problems) = query::load_dir(&config.queries_dir, &config.validation_context());
    for problem in &problems {
        println!("{problem}");
        if let Some(excerpt) = problem.excerpt() {
            println!("{excerpt}");
        }
    }
    for warning in queries.iter().flat_map(|q| &q.warnings) {
        println!("{}", warning.as_warning());
    }
    let bad_files = problems
        .iter()
        .map(|p| &p.file)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    println!(
        "{}: {} valid queries, {} problems in {} files.",
        config.queries_dir.display(),
        queries.len(),
        problems.len(),
        bad_files
    );
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Prints the catalog entries of `platform` matching `words`.
fn fields(platform: &str, words: &[String], json: bool) -> anyhow::Result<ExitCode> {
    let entries = match adsync::catalog::search(platform, words) {
        Ok(entries) => entries,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else if entries.is_empty() {
        println!("No {platform} field matches {:?}.", words.join(" "));
    } else {
        print!("{}", adsync::catalog::to_table(&entries, terminal_width()));
    }
    Ok(if entries.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The terminal's width when stdout is one; `None` into a pipe or a file (whole lines).
fn terminal_width() -> Option<usize> {
    let term = console::Term::stdout();
    term.is_term()
        .then(|| term.size_checked())
        .flatten()
        .map(|(_, columns)| usize::from(columns))
}

/// Where a CLI command gets its answers: the store itself, or the daemon that holds it.
enum Backend {
    Local(App),
    Daemon(DaemonClient),
}

/// The running daemon's web endpoint, with the admin token when one is configured.
struct DaemonClient {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl DaemonClient {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        // The endpoint takes a state change only from its own origin or with the admin
        // token; the CLI speaks for the endpoint's owner, so it names the endpoint's origin.
        let request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(reqwest::header::ORIGIN, &self.base);
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends `request` and reads its JSON answer.
    async fn call<T: serde::de::DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> anyhow::Result<T> {
        Ok(self.send(request).await?.json().await?)
    }

    /// Sends `request`; a refusal becomes an error carrying the daemon's message.
    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        let response = request
            .send()
            .await
            .with_context(|| format!("the store is in use but the daemon at {} does not answer", self.base))?;
        if !response.status().is_success() {
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            bail!(
                "the daemon refused (HTTP {status}): {}",
                body["error"].as_str().unwrap_or("no reason given")
            );
        }
        Ok(response)
    }

    /// Sends a backfill `request` whose answer streams a line per finished run, printing
    /// each to stderr as it comes; returns the records of the last line.
    async fn backfill(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Vec<RunRecord>> {
        let mut response = self.send(request).await?;
        let mut pending = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .context("the daemon stopped answering mid-backfill")?
        {
            pending.extend_from_slice(&chunk);
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let line: serde_json::Value = serde_json::from_slice(&line)?;
                if let Some(records) = line.get("records") {
                    return Ok(serde_json::from_value(records.clone())?);
                }
                if let Some(error) = line["error"].as_str() {
                    bail!("the daemon refused (HTTP {}): {error}", line["status"]);
                }
                let run: RunRecord = serde_json::from_value(line["run"].clone())?;
                let outcome = match run.outcome {
                    Outcome::Delivered => format!("delivered {} rows", run.rows),
                    // A paused slice made no request: its dates stay a gap until the reconnect.
                    Outcome::Paused => format!(
                        "paused, dates kept as a gap: {}",
                        run.error.as_deref().unwrap_or("its connection needs reconnecting")
                    ),
                    Outcome::Failed => format!("failed: {}", run.error.as_deref().unwrap_or("unknown error")),
                };
                eprintln!(
                    "[{}/{}] {} {}: {outcome}",
                    line["done"], line["total"], run.query, run.window
                );
            }
        }
        bail!("the daemon ended the backfill without its result")
    }
}

/// How long the CLI waits to reach the running daemon.
const DAEMON_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long the CLI waits for the daemon's next bytes before taking it as stuck: above one
/// run's longest honest silence (a rate-limit wait of `http.max_rate_limit_wait_secs`, 900 s
/// by default, plus its requests), which a backfill's progress lines break up.
const DAEMON_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// Where a CLI command's answer comes from: the store itself when this process can open it
/// (always with PostgreSQL, which every daemon of a cluster shares), else the running daemon
/// that holds the sled store.
async fn backend(args: &ConfigArgs) -> anyhow::Result<Backend> {
    let config = args.load()?;
    match Store::open_configured(&config).await {
        Ok(store) => Ok(Backend::Local(App::with_store(config, store, clock()?))),
        Err(StoreError::Locked(_)) => Ok(Backend::Daemon(DaemonClient {
            base: format!("http://{}", config.listen),
            token: config.admin_token.as_ref().map(|t| t.expose().to_string()),
            http: reqwest::Client::builder()
                .connect_timeout(DAEMON_CONNECT_TIMEOUT)
                .read_timeout(DAEMON_READ_TIMEOUT)
                .build()
                .context("cannot build the HTTP client")?,
        })),
        Err(e) => Err(e.into()),
    }
}

/// Prints a signed link; needs only the key file, not the store, so it works beside a
/// running daemon.
fn print_link(args: &ConfigArgs, connection: &str, what: &str) -> anyhow::Result<ExitCode> {
    let config = args.load()?;
    if !config.connections.iter().any(|c| c.id == connection) {
        bail!("no connection named {connection:?} in {}", args.config.display());
    }
    let key = adsync::store::SecretKey::load_or_create(&config.data_dir)?;
    let signer = adsync::auth::LinkSigner::new(
        key.derive(adsync::store::LINK_KEY_PURPOSE),
        config.public_url.clone(),
        config.link_ttl,
    );
    let link = signer.link(connection, chrono::Utc::now());
    println!(
        "Open this link in a browser to {what} {connection} (`adsync run` must be serving {}):",
        config.public_url
    );
    println!("{link}");
    Ok(ExitCode::SUCCESS)
}

async fn backfill(
    args: &ConfigArgs,
    query: Option<String>,
    dates: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
) -> anyhow::Result<ExitCode> {
    // Checked (order, history, what the query can deliver) by the daemon or the local app.
    let window = dates.map(|(from, to)| adsync::rows::DateWindow::new(from, to));
    let records: Vec<RunRecord> = match backend(args).await? {
        Backend::Local(app) => {
            // A bar on a terminal; plain lines (below) everywhere else.
            let bar = if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                indicatif::ProgressBar::new(0).with_style(
                    indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
                        .expect("a valid progress template"),
                )
            } else {
                indicatif::ProgressBar::hidden()
            };
            let records = app
                .backfill(query.as_deref(), window, |done, total, run| {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                    bar.set_message(format!("{} {}", run.query, run.window));
                })
                .await?;
            bar.finish_and_clear();
            records
        }
        Backend::Daemon(daemon) => {
            let body = serde_json::json!({"query": query, "window": window});
            let request = daemon
                .request(reqwest::Method::POST, "/api/backfill")
                .header(reqwest::header::ACCEPT, "application/x-ndjson")
                .json(&body);
            daemon.backfill(request).await?
        }
    };
    if records.is_empty() {
        println!("Nothing to backfill: no open gaps.");
    }
    let mut failed = 0;
    for (i, record) in records.iter().enumerate() {
        let done = format!("[{}/{}]", i + 1, records.len());
        match record.outcome {
            Outcome::Delivered => println!(
                "{done} {}: delivered {} rows for {}",
                record.query, record.rows, record.window
            ),
            _ => {
                failed += 1;
                println!(
                    "{done} {}: failed for {}: {}",
                    record.query,
                    record.window,
                    record.error.as_deref().unwrap_or("unknown error")
                );
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn status(args: &ConfigArgs, json: bool) -> anyhow::Result<ExitCode> {
    let report: StatusReport = match backend(args).await? {
        Backend::Local(app) => app.status().await?,
        Backend::Daemon(daemon) => daemon.call(daemon.request(reqwest::Method::GET, "/api/status")).await?,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_once(args: &ConfigArgs, name: &str) -> anyhow::Result<ExitCode> {
    let record: RunRecord = match backend(args).await? {
        Backend::Local(app) => app.run_once(name).await?,
        Backend::Daemon(daemon) => {
            daemon
                .call(daemon.request(reqwest::Method::POST, &format!("/api/queries/{name}/run")))
                .await?
        }
    };
    match record.outcome {
        Outcome::Delivered => {
            println!(
                "{}: delivered {} rows for {} to {}",
                record.query,
                record.rows,
                record.window,
                record
                    .output
                    .as_ref()
                    .map_or_else(|| "?".to_string(), ToString::to_string)
            );
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Failed | Outcome::Paused => {
            println!(
                "{}: failed for {}: {}",
                record.query,
                record.window,
                record.error.as_deref().unwrap_or("unknown error")
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The system clock, or (in builds with the sandbox, for soak tests) the scaled clock
/// `ADSYNC_SCALED_CLOCK` describes, so every process of a soak shares one fast timeline.
fn clock() -> anyhow::Result<Arc<dyn adsync::clock::Clock>> {
    #[cfg(feature = "sandbox")]
    if let Ok(spec) = std::env::var("ADSYNC_SCALED_CLOCK") {
        let clock =
            adsync::clock::ScaledClock::from_spec(&spec).map_err(|e| anyhow::anyhow!("ADSYNC_SCALED_CLOCK: {e}"))?;
        return Ok(Arc::new(clock));
    }
    Ok(Arc::new(SystemClock))
}

async fn preview(args: &ConfigArgs, query: &str, rows: usize) -> anyhow::Result<ExitCode> {
    // A path is made absolute here: the daemon's working directory is not this one.
    let target = match std::path::Path::new(query) {
        path if path.is_file() => path
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", path.display()))?
            .display()
            .to_string(),
        _ => query.to_string(),
    };
    let preview: adsync::preview::Preview = match backend(args).await? {
        Backend::Local(app) => app.preview(&target, rows).await?,
        Backend::Daemon(daemon) => {
            let body = serde_json::json!({"query": target, "rows": rows});
            daemon
                .call(daemon.request(reqwest::Method::POST, "/api/preview").json(&body))
                .await?
        }
    };
    print!("{}", preview.to_table(terminal_width()));
    Ok(ExitCode::SUCCESS)
}

async fn accounts(args: &ConfigArgs, connection: &str, json: bool) -> anyhow::Result<ExitCode> {
    let list: adsync::accounts::AccountList = match backend(args).await? {
        Backend::Local(app) => app.accounts(connection).await?,
        Backend::Daemon(daemon) => {
            let path = format!("/api/connections/{connection}/accounts");
            daemon.call(daemon.request(reqwest::Method::GET, &path)).await?
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        print!("{}", list.to_table(terminal_width()));
    }
    Ok(ExitCode::SUCCESS)
}

/// A token cancelled on SIGINT or SIGTERM.
/// On SIGHUP, reads the config file again and runs with it; a file that does not validate
/// is refused with its problems logged, and the running config stays. Registered before
/// the daemon starts, so a SIGHUP never falls back to the default action (ending the process).
fn reload_on_hangup(app: &App, args: &ConfigArgs) {
    #[cfg(unix)]
    {
        let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(hangup) => hangup,
            Err(e) => {
                tracing::warn!("Cannot handle SIGHUP ({e}): the config is read at start only.");
                return;
            }
        };
        let (app, args) = (app.clone(), args.clone());
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading {}.", args.config.display());
                match args.load() {
                    Ok(config) => app.reload_config(config),
                    Err(e) => tracing::error!("Config reload refused; the running config stays:\n{e:#}"),
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = (app, args);
}

fn stop_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    trigger.cancel();
                    return;
                }
            };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("Stopping: no new runs; runs in flight finish their writes.");
        trigger.cancel();
    });
    token
}
