//! The performance benchmark: adsync's real code path against the sandbox, each in its own
//! process, so the sandbox's CPU is not counted as adsync's.
//!
//! ```sh
//! cargo run --release --example bench -- [throughput] [backfill] [idle] [storm] [many] [stream]
//!     [static] [stream-static] [cluster] [--rows 10000,100000,1000000] [--repeat 3] [--idle-secs 60]
//!     [--queries 1000] [--many 10000] [--cluster-queries 10000]
//!     [--adsync target/release/adsync] [--old-adsync PATH] [--callgrind DIR]
//! ```
//!
//! The parent starts the sandbox as a child process (`--serve-sandbox`), then runs every
//! measurement in a fresh child (`--measure …`) so each peak RSS belongs to one measurement,
//! and prints one table row per scenario and size with the median of `--repeat` runs.
//!
//! `static` takes the sandbox out of the limit: the report's pages are rendered once into
//! files served by nginx, and the `adsync` binary's `run-once` is timed against a bare
//! client fetching the same pages, interleaved. `--old-adsync` times another build the same
//! way (and checks its CSV is byte-identical); `--callgrind DIR` counts instructions per row
//! of each binary at the size nearest 100k rows and keeps the profiles in DIR for
//! `callgrind_annotate`.
//!
//! `stream-static` does the same for the Google Ads report of `stream`: its one
//! `searchStream` answer is rendered into a file that nginx serves to every request.
//!
//! `cluster` starts a throwaway PostgreSQL (Debian's `postgresql` binaries) and three
//! `adsync run` processes of the `--adsync` binary sharing it, with `--cluster-queries`
//! queries due in the same minute: the time from that minute until every run is recorded, how
//! the fires spread over the daemons, and the database transactions per run. It needs the
//! server binaries and the `adsync` binary built, so it runs only when named.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adsync::app::App;
use adsync::clock::SystemClock;
use adsync::config::{Config, Overrides};
use adsync::store::Outcome;
use anyhow::{bail, Context};
use chrono::Timelike;
use serde::{Deserialize, Serialize};

/// The connection every Meta bench query uses.
const CONNECTION: &str = "meta-bench";
/// The Google connection of the `stream` scenario.
const GOOGLE: &str = "google-bench";
/// The customer of the `stream` scenarios.
const STREAM_CUSTOMER: &str = "1234567890";
/// The sandbox's Google Ads settings of the `stream` scenarios: 1,000 ads, so 1,000 rows a day.
const STREAM_SETTINGS: &str =
    r#"{"google_ads": {"campaigns_per_customer": 10, "ad_groups_per_campaign": 10, "ads_per_ad_group": 10}}"#;
/// 15 columns of an ad-level report.
const AD_FIELDS: &str = r#""date_start", "campaign_id", "campaign_name", "adset_id", "adset_name", "ad_id", "ad_name", "impressions", "reach", "clicks", "unique_clicks", "spend", "cpc", "cpm", "ctr""#;
/// Ads per account per day in the throughput scenario (10 × 10 × 10).
const ADS_PER_DAY: u64 = 1000;
/// 22 columns of an ad-level report: the static scenario's.
const STATIC_FIELDS: &str = r#""date_start", "date_stop", "account_id", "account_name", "campaign_id", "campaign_name", "objective", "adset_id", "adset_name", "ad_id", "ad_name", "impressions", "reach", "frequency", "clicks", "unique_clicks", "inline_link_clicks", "spend", "cpc", "cpm", "ctr", "cost_per_unique_click""#;
/// The static scenario's one 31-day slice.
const STATIC_DAYS: u64 = 31;

/// What one measurement child reports.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Measurement {
    wall_secs: f64,
    rows: u64,
    cpu_secs: f64,
    peak_rss_mb: f64,
    /// Scenario-specific numbers (limit, counters, percentiles).
    extra: BTreeMap<String, f64>,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Runtime::new()?;
    match args.first().map(String::as_str) {
        Some("--serve-sandbox") => runtime.block_on(serve_sandbox()),
        Some("--measure") => {
            let what = args.get(1).context("--measure needs a scenario")?;
            let base = args.get(2).context("--measure needs the sandbox URL")?;
            let size: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(0);
            let measurement = runtime.block_on(measure(what, base, size))?;
            println!("{}", serde_json::to_string(&measurement)?);
            Ok(())
        }
        _ => runtime.block_on(parent(&args)),
    }
}

/// The sandbox process: prints its URL, serves until killed.
async fn serve_sandbox() -> anyhow::Result<()> {
    let settings = adsync_sandbox::SandboxSettings {
        auto_approve: true,
        ..Default::default()
    };
    let handle = adsync_sandbox::spawn("127.0.0.1:0".parse()?, settings).await?;
    println!("{}", handle.base_url());
    std::future::pending::<()>().await;
    Ok(())
}

struct Sandbox {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Sandbox {
    fn start() -> anyhow::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--serve-sandbox")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("sandbox stdout")?).read_line(&mut line)?;
        Ok(Self {
            child,
            base: line.trim().to_string(),
            http: reqwest::Client::new(),
        })
    }

    async fn settings(&self, patch: serde_json::Value) -> anyhow::Result<()> {
        self.http
            .put(format!("{}/_sandbox/settings", self.base))
            .json(&patch)
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn parent(args: &[String]) -> anyhow::Result<()> {
    let mut scenarios = Vec::new();
    let mut rows = vec![10_000, 100_000, 1_000_000];
    let mut repeat = 3;
    let mut idle_secs = 60;
    let mut queries = 1000;
    let mut many = 10_000;
    let mut cluster_queries = 10_000;
    let mut binaries = StaticBinaries {
        adsync: std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .context("the bench's directory")?
            .join("adsync"),
        old: None,
        callgrind: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().context(format!("{arg} needs a value"));
        match arg.as_str() {
            "--rows" => rows = value()?.split(',').map(str::parse).collect::<Result<_, _>>()?,
            "--repeat" => repeat = value()?.parse()?,
            "--idle-secs" => idle_secs = value()?.parse()?,
            "--queries" => queries = value()?.parse()?,
            "--many" => many = value()?.parse()?,
            "--cluster-queries" => cluster_queries = value()?.parse()?,
            // Absolute: the binaries run in their work directory.
            "--adsync" => binaries.adsync = std::path::absolute(value()?)?,
            "--old-adsync" => binaries.old = Some(std::path::absolute(value()?)?),
            "--callgrind" => binaries.callgrind = Some(value()?.into()),
            name @ ("throughput" | "backfill" | "idle" | "storm" | "many" | "stream" | "static" | "stream-static"
            | "cluster") => scenarios.push(name.to_string()),
            other => bail!("unknown argument {other:?}"),
        }
    }
    if scenarios.is_empty() {
        scenarios = [
            "throughput",
            "backfill",
            "idle",
            "storm",
            "many",
            "stream",
            "static",
            "stream-static",
        ]
        .map(String::from)
        .to_vec();
    }
    println!("| scenario | size | wall s | rows/s | peak RSS MB | CPU s | limit | ratio |");
    println!("|---|---|---|---|---|---|---|---|");
    for scenario in &scenarios {
        let sandbox = Sandbox::start()?;
        match scenario.as_str() {
            "throughput" => {
                sandbox
                    .settings(serde_json::json!({"campaigns_per_account": 10, "adsets_per_campaign": 10, "ads_per_adset": 10}))
                    .await?;
                for &n in &rows {
                    let adsync = median(repeat, || run_child("throughput", &sandbox.base, n))?;
                    let limit = median(repeat, || run_child("throughput-limit", &sandbox.base, n))?;
                    let rate = adsync.rows as f64 / adsync.wall_secs;
                    let limit_rate = limit.rows as f64 / limit.wall_secs;
                    row(
                        "1 throughput",
                        &format!("{n} rows"),
                        &adsync,
                        &format!("{limit_rate:.0} rows/s bare client"),
                        rate / limit_rate,
                    );
                }
            }
            "backfill" => {
                let accounts: Vec<u64> = (1001..=1040).collect();
                sandbox
                    .settings(serde_json::json!({"latency_ms": 150, "accounts": accounts}))
                    .await?;
                let m = median(repeat, || run_child("backfill", &sandbox.base, 0))?;
                let limit = m.extra["limit_secs"];
                row(
                    "2 latency-bound backfill",
                    &format!(
                        "40 acc × 90 d, {} pages, max {} in flight",
                        m.extra["pages"], m.extra["max_in_flight"]
                    ),
                    &m,
                    &format!("{limit:.2} s"),
                    m.wall_secs / limit,
                );
            }
            "idle" => {
                let m = run_child("idle", &sandbox.base, queries * 1_000_000 + idle_secs)?;
                row(
                    "3 idle daemon",
                    &format!(
                        "{queries} queries, {idle_secs} s, start-up {:.2} s",
                        m.extra["startup_secs"]
                    ),
                    &m,
                    "RSS ≤ 25 MB, CPU ≤ 0.2 s/min",
                    m.extra["cpu_per_min"] / 0.2,
                );
            }
            "storm" => {
                let m = median(repeat, || run_child("storm", &sandbox.base, 1000))?;
                row(
                    "4 refresh storm",
                    &format!("1000 runs, {} refresh request(s)", m.extra["refresh_grants"]),
                    &m,
                    "1 refresh",
                    m.extra["refresh_grants"],
                );
            }
            "many" => {
                let m = run_child("many", &sandbox.base, many)?;
                row(
                    "5 many due at once",
                    &format!(
                        "{many} queries, start delay p50 {:.2} s, p99 {:.2} s",
                        m.extra["delay_p50"], m.extra["delay_p99"]
                    ),
                    &m,
                    "all delivered",
                    m.extra["delivered"] / many as f64,
                );
            }
            "stream" => {
                sandbox.settings(serde_json::from_str(STREAM_SETTINGS)?).await?;
                let mut first_rss = None;
                for &n in &rows {
                    let m = median(repeat, || run_child("stream", &sandbox.base, n))?;
                    let base_rss = *first_rss.get_or_insert(m.peak_rss_mb);
                    row(
                        "6 Google Ads searchStream",
                        &format!("{n} rows in one response"),
                        &m,
                        "RSS flat in report size",
                        m.peak_rss_mb / base_rss,
                    );
                }
            }
            "static" => static_scenario(&sandbox, &rows, repeat, &binaries).await?,
            "stream-static" => stream_static_scenario(&sandbox, &rows, repeat, &binaries).await?,
            "cluster" => {
                let m = cluster(&sandbox.base, cluster_queries, &binaries.adsync).await?;
                row(
                    "8 cluster on PostgreSQL",
                    &format!(
                        "{cluster_queries} queries, 3 daemons ran {}/{}/{}, {:.2} transactions/run",
                        m.extra["fires_0"], m.extra["fires_1"], m.extra["fires_2"], m.extra["transactions_per_run"]
                    ),
                    &m,
                    "all delivered once",
                    m.extra["delivered"] / cluster_queries as f64,
                );
            }
            _ => unreachable!("checked above"),
        }
    }
    Ok(())
}

fn row(scenario: &str, size: &str, m: &Measurement, limit: &str, ratio: f64) {
    println!(
        "| {scenario} | {size} | {:.2} | {:.0} | {:.1} | {:.2} | {limit} | {ratio:.2} |",
        m.wall_secs,
        m.rows as f64 / m.wall_secs.max(1e-9),
        m.peak_rss_mb,
        m.cpu_secs
    );
}

/// The measurement with the median wall time of `repeat` runs.
fn median(repeat: usize, mut run: impl FnMut() -> anyhow::Result<Measurement>) -> anyhow::Result<Measurement> {
    let mut runs = (0..repeat.max(1)).map(|_| run()).collect::<Result<Vec<_>, _>>()?;
    runs.sort_by(|a, b| a.wall_secs.total_cmp(&b.wall_secs));
    Ok(runs.swap_remove(runs.len() / 2))
}

fn run_child(what: &str, base: &str, size: u64) -> anyhow::Result<Measurement> {
    let output = Command::new(std::env::current_exe()?)
        .args(["--measure", what, base, &size.to_string()])
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        bail!("{what} measurement failed");
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// One measurement, in this (fresh) process.
async fn measure(what: &str, base: &str, size: u64) -> anyhow::Result<Measurement> {
    let dir = tempfile::tempdir()?;
    let mut m = match what {
        "throughput" => throughput(dir.path(), base, size).await?,
        "throughput-limit" => throughput_limit(dir.path(), base, size).await?,
        "backfill" => backfill(dir.path(), base).await?,
        "idle" => idle(dir.path(), base, (size / 1_000_000) as usize, size % 1_000_000).await?,
        "storm" => storm(dir.path(), base, size as usize).await?,
        "many" => many(dir.path(), base, size as usize).await?,
        "stream" => stream(dir.path(), base, size).await?,
        other => bail!("unknown measurement {other}"),
    };
    let (cpu, rss) = process_usage()?;
    m.cpu_secs = cpu;
    m.peak_rss_mb = rss;
    Ok(m)
}

/// CPU seconds (user + system) and peak RSS (MB) of this process, from /proc.
fn process_usage() -> anyhow::Result<(f64, f64)> {
    usage_of("self")
}

/// CPU seconds and peak RSS (MB) of the process `/proc/{pid}` (`self` or a number).
fn usage_of(pid: &str) -> anyhow::Result<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start at ")".
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("/proc/self/stat")?
        .1
        .split_whitespace()
        .collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after ")" and state.
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let hwm_kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .context("VmHWM")?
        .parse()?;
    // USER_HZ is 100 on Linux.
    Ok((ticks / 100.0, hwm_kb / 1024.0))
}

fn cpu_now() -> f64 {
    process_usage().map(|(cpu, _)| cpu).unwrap_or_default()
}

/// A config and `queries` in `dir`, pointing at the sandbox at `base`; returns the app,
/// connected.
async fn app(dir: &Path, base: &str, extra: &str, queries: &[(String, String)]) -> anyhow::Result<App> {
    let queries_dir = dir.join("queries");
    std::fs::create_dir_all(&queries_dir)?;
    for (name, text) in queries {
        std::fs::write(queries_dir.join(format!("{name}.toml")), text)?;
    }
    let config = format!(
        r#"data_dir = "state"
queries_dir = "queries"
output_dir = "out"
{extra}

[[connections]]
id = "{CONNECTION}"
provider = "meta_ads"
client_id = "adsync-demo-app"
client_secret = "demo-app-secret"
auth_url = "{base}/v25.0/dialog/oauth"
token_url = "{base}/v25.0/oauth/access_token"
api_base_url = "{base}"

[[connections]]
id = "{GOOGLE}"
provider = "google"
client_id = "adsync-demo-app"
client_secret = "demo-app-secret"
auth_url = "{base}/o/oauth2/v2/auth"
token_url = "{base}/token"
api_base_url = "{base}"
"#
    );
    let path = dir.join("adsync.toml");
    std::fs::write(&path, config)?;
    let config = Config::load(&path, &Overrides::default())?;
    let app = App::build(config, Arc::new(SystemClock)).await?;
    for connection in [CONNECTION, GOOGLE] {
        adsync::demo::connect_via_sandbox(&app, connection, "bench-user").await?;
    }
    Ok(app)
}

fn query(accounts: &str, level: &str, fields: &str, dates: &str, cron: &str, file: &str) -> String {
    format!(
        r#"connection = "{CONNECTION}"
accounts = [{accounts}]
level = "{level}"
fields = [{fields}]
date_range = {dates}
time_increment = "daily"

[schedule]
cron = "{cron}"
timezone = "UTC"

[output]
kind = "csv"
path = "reports/{file}"
mode = "replace"
"#
    )
}

/// `count` one-account, one-day queries named `q00000`…, each with the cron `cron(i)`.
fn small_queries(count: usize, cron: impl Fn(usize) -> String) -> Vec<(String, String)> {
    (0..count)
        .map(|i| {
            let name = format!("q{i:05}");
            let text = query(
                r#""act_1001""#,
                "account",
                r#""date_start", "impressions""#,
                r#""yesterday""#,
                &cron(i),
                &format!("{name}.csv"),
            );
            (name, text)
        })
        .collect()
}

/// The window of `rows` ad rows (1,000 a day), ending 2026-06-30.
fn days_window(rows: u64) -> (chrono::NaiveDate, chrono::NaiveDate) {
    let end = chrono::NaiveDate::from_ymd_opt(2026, 6, 30).expect("a date");
    let days = (rows / ADS_PER_DAY).max(1);
    (end - chrono::Days::new(days - 1), end)
}

async fn throughput(dir: &Path, base: &str, rows: u64) -> anyhow::Result<Measurement> {
    let (start, end) = days_window(rows);
    let text = query(
        r#""act_1001""#,
        "ad",
        AD_FIELDS,
        &format!(r#"{{ start = "{start}", end = "{end}" }}"#),
        "0 6 * * *",
        "big.csv",
    );
    let app = app(dir, base, "", &[("big".into(), text)]).await?;
    timed_run_once(&app, "big").await
}

/// `run-once` of `query` in this process, timed; fails unless it delivered.
async fn timed_run_once(app: &App, query: &str) -> anyhow::Result<Measurement> {
    let started = Instant::now();
    let run = app.run_once(query).await?;
    let wall = started.elapsed().as_secs_f64();
    if run.outcome != Outcome::Delivered {
        bail!("the {query} run failed: {:?}", run.error);
    }
    Ok(Measurement {
        wall_secs: wall,
        rows: run.rows,
        ..Measurement::default()
    })
}

/// One Google Ads report of `rows` ad rows (1,000 a day), arriving as one streamed
/// `searchStream` response: memory must not follow its size.
async fn stream(dir: &Path, base: &str, rows: u64) -> anyhow::Result<Measurement> {
    let text = stream_query(rows, "stream.csv");
    let app = app(dir, base, "", &[("stream".into(), text)]).await?;
    timed_run_once(&app, "stream").await
}

/// The `stream` scenarios' query: `rows` ad rows of customer 1234567890 (1,000 a day, see
/// [`STREAM_SETTINGS`]), 10 columns, the window ending yesterday (Google keeps daily
/// segments for 37 months only), written to `reports/{file}`.
fn stream_query(rows: u64, file: &str) -> String {
    let window = stream_window(rows);
    let (start, end) = (window.start, window.end);
    format!(
        r#"connection = "{GOOGLE}"
platform = "google_ads"
accounts = ["{STREAM_CUSTOMER}"]
level = "ad"
fields = ["segments.date", "campaign.id", "campaign.name", "ad_group.id", "ad_group.name", "ad_group_ad.ad.id", "metrics.impressions", "metrics.clicks", "metrics.cost_micros", "metrics.cost"]
date_range = {{ start = "{start}", end = "{end}" }}
time_increment = "daily"

[schedule]
cron = "0 6 * * *"

[output]
kind = "csv"
path = "reports/{file}"
mode = "replace"
"#
    )
}

/// The `stream` scenarios' window of `rows` rows, ending yesterday.
fn stream_window(rows: u64) -> adsync::rows::DateWindow {
    let end = chrono::Utc::now().date_naive() - chrono::Days::new(1);
    adsync::rows::DateWindow::new(end - chrono::Days::new((rows / ADS_PER_DAY).max(1) - 1), end)
}

/// The limit: a bare client fetching the same pages (same slices, same concurrency) and
/// discarding them, finding `paging.next` without parsing the JSON.
async fn throughput_limit(dir: &Path, base: &str, rows: u64) -> anyhow::Result<Measurement> {
    let app = app(dir, base, "", &[]).await?;
    let token = app.auth().access_token(CONNECTION).await?;
    let (start, end) = days_window(rows);
    let fields = AD_FIELDS.replace(['"', ' '], "");
    let mut slices = Vec::new();
    let mut from = start;
    while from <= end {
        let to = (from + chrono::Days::new(30)).min(end);
        slices.push((from, to));
        from = to + chrono::Days::new(1);
    }
    let http = reqwest::Client::new();
    let started = Instant::now();
    let counts = futures_util::future::join_all(slices.chunks(slices.len().div_ceil(8)).map(|chunk| {
        let (http, token, fields) = (http.clone(), token.clone(), fields.clone());
        let chunk = chunk.to_vec();
        async move {
            let mut pages = 0u64;
            for (from, to) in chunk {
                let mut next = Some(format!(
                    "{base}/v25.0/act_1001/insights?level=ad&fields={fields}&time_increment=1&limit=500&time_range=%7B%22since%22%3A%22{from}%22%2C%22until%22%3A%22{to}%22%7D"
                ));
                while let Some(url) = next.take() {
                    let body = http.get(&url).bearer_auth(&token).send().await?.bytes().await?;
                    pages += 1;
                    next = next_link(&body);
                }
            }
            anyhow::Ok(pages)
        }
    }))
    .await;
    let wall = started.elapsed().as_secs_f64();
    let pages: u64 = counts.into_iter().sum::<anyhow::Result<u64>>()?;
    Ok(Measurement {
        wall_secs: wall,
        rows,
        extra: [("pages".to_string(), pages as f64)].into(),
        ..Measurement::default()
    })
}

/// `paging.next` found by searching the end of the body, not by parsing it.
fn next_link(body: &[u8]) -> Option<String> {
    let tail = &body[body.len().saturating_sub(4096)..];
    let needle = b"\"next\":\"";
    let at = tail.windows(needle.len()).rposition(|w| w == needle)? + needle.len();
    let end = tail[at..].iter().position(|&b| b == b'"')?;
    Some(String::from_utf8_lossy(&tail[at..at + end]).replace("\\/", "/"))
}

async fn backfill(dir: &Path, base: &str) -> anyhow::Result<Measurement> {
    let accounts: Vec<String> = (1001..=1040).map(|n| format!("\"act_{n}\"")).collect();
    let text = query(
        &accounts.join(", "),
        "campaign",
        r#""date_start", "campaign_id", "campaign_name", "impressions", "clicks", "spend""#,
        r#"{ start = "2026-04-01", end = "2026-06-29" }"#,
        "0 6 * * *",
        "backfill.csv",
    );
    let app = app(
        dir,
        base,
        "[http]\nmax_requests_per_connection = 8",
        &[("backfill".into(), text)],
    )
    .await?;
    let stats = |http: reqwest::Client| async move {
        let stats: serde_json::Value = http.get(format!("{base}/_sandbox/stats")).send().await?.json().await?;
        anyhow::Ok(stats)
    };
    let before = stats(reqwest::Client::new()).await?;
    let started = Instant::now();
    let run = app.run_once("backfill").await?;
    let wall = started.elapsed().as_secs_f64();
    if run.outcome != Outcome::Delivered {
        bail!("the backfill run failed: {:?}", run.error);
    }
    let after = stats(reqwest::Client::new()).await?;
    let pages = after["api_requests"].as_f64().unwrap_or(0.0) - before["api_requests"].as_f64().unwrap_or(0.0);
    let limit = (pages / 8.0).ceil() * 0.150;
    Ok(Measurement {
        wall_secs: wall,
        rows: run.rows,
        extra: [
            ("pages".to_string(), pages),
            ("limit_secs".to_string(), limit),
            (
                "max_in_flight".to_string(),
                after["max_concurrent_api_requests"].as_f64().unwrap_or(0.0),
            ),
        ]
        .into(),
        ..Measurement::default()
    })
}

async fn idle(dir: &Path, base: &str, queries: usize, secs: u64) -> anyhow::Result<Measurement> {
    let texts = small_queries(queries, |i| format!("{} {} * * *", i % 60, (i / 60) % 24));
    // Written before the clock starts: start-up is parsing and scheduling, not file creation.
    let setup = app(dir, base, "", &texts).await?;
    let config = Config::clone(&setup.config());
    drop(setup);
    let started = Instant::now();
    let app = App::build(config, Arc::new(SystemClock)).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let stop = tokio_util::sync::CancellationToken::new();
    let daemon = tokio::spawn(app.clone().run_until_stopped(listener, stop.clone()));
    app.scheduler_ready().await;
    let startup = started.elapsed().as_secs_f64();
    let cpu_before = cpu_now();
    let idle_started = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let cpu = cpu_now() - cpu_before;
    let measured = idle_started.elapsed().as_secs_f64();
    stop.cancel();
    daemon.await??;
    Ok(Measurement {
        wall_secs: measured,
        rows: 0,
        extra: [
            ("startup_secs".to_string(), startup),
            ("cpu_per_min".to_string(), cpu * 60.0 / measured),
        ]
        .into(),
        ..Measurement::default()
    })
}

async fn storm(dir: &Path, base: &str, runs: usize) -> anyhow::Result<Measurement> {
    let texts = small_queries(runs, |_| "0 6 * * *".to_string());
    let app = app(dir, base, "", &texts).await?;
    let http = reqwest::Client::new();
    http.post(format!("{base}/_sandbox/users/bench-user/expire-access-tokens"))
        .send()
        .await?;
    let before: serde_json::Value = http.get(format!("{base}/_sandbox/stats")).send().await?.json().await?;
    let started = Instant::now();
    let records = futures_util::future::join_all(texts.iter().map(|(name, _)| app.run_once(name))).await;
    let wall = started.elapsed().as_secs_f64();
    let delivered = records
        .iter()
        .filter(|r| r.as_ref().is_ok_and(|r| r.outcome == Outcome::Delivered))
        .count();
    if delivered != runs {
        bail!("only {delivered} of {runs} storm runs delivered");
    }
    let after: serde_json::Value = http.get(format!("{base}/_sandbox/stats")).send().await?.json().await?;
    let grants = after["refresh_grants"].as_f64().unwrap_or(0.0) - before["refresh_grants"].as_f64().unwrap_or(0.0);
    Ok(Measurement {
        wall_secs: wall,
        rows: records.iter().filter_map(|r| r.as_ref().ok()).map(|r| r.rows).sum(),
        extra: [("refresh_grants".to_string(), grants)].into(),
        ..Measurement::default()
    })
}

async fn many(dir: &Path, base: &str, queries: usize) -> anyhow::Result<Measurement> {
    // All due at the start of the next minute but one (time to write and parse the files).
    let due = (chrono::Utc::now() + chrono::Duration::minutes(2))
        .format("%M %H")
        .to_string();
    let texts = small_queries(queries, |_| format!("{due} * * *"));
    let app = app(
        dir,
        base,
        "[scheduler]\nmax_concurrent_runs = 8\nmax_runs_per_connection = 8",
        &texts,
    )
    .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let stop = tokio_util::sync::CancellationToken::new();
    let daemon = tokio::spawn(app.clone().run_until_stopped(listener, stop.clone()));
    app.scheduler_ready().await;
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut delays = Vec::with_capacity(queries);
    let mut first_fire = None;
    let mut last_finish = None;
    for (name, _) in &texts {
        let run = loop {
            if let Some(run) = app.store().last_run(name).await? {
                break run;
            }
            if Instant::now() > deadline {
                bail!("{name} never ran");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        if run.outcome == Outcome::Delivered {
            delays.push((run.started - run.fire).num_milliseconds() as f64 / 1000.0);
        }
        first_fire = Some(run.fire);
        last_finish = Some(last_finish.map_or(run.finished, |f: chrono::DateTime<chrono::Utc>| f.max(run.finished)));
    }
    stop.cancel();
    daemon.await??;
    delays.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        delays
            .get(((delays.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let wall = match (first_fire, last_finish) {
        (Some(fire), Some(end)) => (end - fire).num_milliseconds() as f64 / 1000.0,
        _ => f64::NAN,
    };
    Ok(Measurement {
        wall_secs: wall,
        rows: delays.len() as u64,
        extra: [
            ("delivered".to_string(), delays.len() as f64),
            ("delay_p50".to_string(), pct(0.5)),
            ("delay_p99".to_string(), pct(0.99)),
        ]
        .into(),
        ..Measurement::default()
    })
}

/// The daemons of the `cluster` scenario.
const CLUSTER_DAEMONS: usize = 3;

/// `queries` due in one minute, run by three `adsync` processes on one fresh PostgreSQL.
///
/// The transactions are PostgreSQL's own count (`pg_stat_database`, commits and rollbacks) over
/// the daemons' whole lives, start-up and idle waiting included, read once every daemon's
/// connections are gone so their counts are flushed; an autocommit statement is one.
async fn cluster(base: &str, queries: usize, adsync: &Path) -> anyhow::Result<Measurement> {
    let server = adsync::store::test_server::TestServer::start().map_err(anyhow::Error::msg)?;
    let url = server.create_database("cluster").map_err(anyhow::Error::msg)?;
    let work = tempfile::tempdir()?;
    let dir = work.path();
    // In a cluster the output directory must exist: it stands for the shared mount.
    std::fs::create_dir_all(dir.join("out"))?;
    // Due at the start of the first minute far enough ahead for three daemons to load every
    // file: a minute, and 10 ms per query (release builds load 10,000 in a few seconds).
    let lead = chrono::Duration::seconds(60) + chrono::Duration::milliseconds(10 * queries as i64);
    let due = (chrono::Utc::now() + lead + chrono::Duration::minutes(1))
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .context("a whole minute")?;
    let texts = small_queries(queries, |_| due.format("%M %H * * *").to_string());
    let store = format!(
        "listen = \"127.0.0.1:0\"\n\n[scheduler]\nmax_concurrent_runs = 8\nmax_runs_per_connection = 8\n\n[store]\nkind = \"postgres\"\nurl = \"{url}\"\n"
    );
    // Connects the sandbox's user once; the daemons share the sealed tokens and the key file.
    drop(app(dir, base, &store, &texts).await?);

    let before = cluster_transactions(&url).await?;
    let mut daemons = Vec::new();
    for _ in 0..CLUSTER_DAEMONS {
        let daemon = Command::new(adsync)
            .arg("run")
            .arg("--config")
            .arg(dir.join("adsync.toml"))
            .env("ADSYNC_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", adsync.display()))?;
        daemons.push(StoppedOnDrop(daemon));
    }

    let deadline = Instant::now() + Duration::from_secs(180 + queries as u64 / 100 + 1800);
    // Polls the outputs, not the database, so the bench adds no transactions of its own.
    let reports = dir.join("out/reports");
    let delivered_at = loop {
        let written = std::fs::read_dir(&reports).map_or(0, Iterator::count);
        if written >= queries {
            break chrono::Utc::now();
        }
        for daemon in &mut daemons {
            if let Some(status) = daemon.0.try_wait()? {
                bail!("a daemon exited early: {status}");
            }
        }
        if Instant::now() > deadline {
            bail!("not every cluster run was recorded in time");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut cpu_secs = 0.0;
    let mut peak_rss_mb: f64 = 0.0;
    for daemon in &daemons {
        let (cpu, rss) = usage_of(&daemon.0.id().to_string())?;
        cpu_secs += cpu;
        peak_rss_mb = peak_rss_mb.max(rss);
    }
    // Their last runs' records follow the outputs: a graceful stop waits for them.
    drop(daemons);
    let after = cluster_transactions(&url).await?;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);

    let runs = client
        .query_one("SELECT count(*), count(DISTINCT query) FROM runs", &[])
        .await?;
    let (runs, distinct): (i64, i64) = (runs.get(0), runs.get(1));
    let gaps: i64 = client.query_one("SELECT count(*) FROM gaps", &[]).await?.get(0);
    if runs as usize != queries || distinct as usize != queries || gaps != 0 {
        bail!("expected {queries} queries run once each and no gap: {runs} runs of {distinct} queries, {gaps} gaps (daemons not ready by {due}?)");
    }
    let owners = client
        .query(
            "SELECT count(*) FROM fire_claims WHERE done GROUP BY owner ORDER BY 1 DESC",
            &[],
        )
        .await?;
    let mut extra: BTreeMap<String, f64> = (0..CLUSTER_DAEMONS)
        .map(|i| {
            let fires = owners.get(i).map_or(0, |row| row.get::<_, i64>(0));
            (format!("fires_{i}"), fires as f64)
        })
        .collect();
    let delivered = std::fs::read_dir(&reports)?.count();
    extra.insert("delivered".to_string(), delivered as f64);
    extra.insert(
        "transactions_per_run".to_string(),
        (after - before) as f64 / queries as f64,
    );
    Ok(Measurement {
        wall_secs: (delivered_at - due).num_milliseconds() as f64 / 1000.0,
        rows: queries as u64,
        cpu_secs,
        peak_rss_mb,
        extra,
    })
}

/// Committed and rolled-back transactions of the database at `url`, once no other session is
/// connected to it (a session's counts reach the statistics when it ends). The few statements
/// of the session asking are counted in the next reading.
async fn cluster_transactions(url: &str) -> anyhow::Result<i64> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let others: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .await?
            .get(0);
        if others == 0 {
            break;
        }
        if Instant::now() > deadline {
            bail!("{others} sessions still on the cluster database");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client.batch_execute("SELECT pg_stat_clear_snapshot()").await?;
    let row = client
        .query_one(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

/// A daemon process stopped with SIGTERM (its runs in flight finish and are recorded) and
/// reaped when dropped, so a failed measurement leaves none behind.
struct StoppedOnDrop(Child);

impl Drop for StoppedOnDrop {
    fn drop(&mut self) {
        let stopped = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        if !stopped.is_ok_and(|s| s.success()) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// The `adsync` binaries the static scenario runs, and where callgrind profiles go.
struct StaticBinaries {
    adsync: PathBuf,
    old: Option<PathBuf>,
    callgrind: Option<PathBuf>,
}

/// nginx serving a directory of rendered pages, and everything else from the sandbox.
struct Nginx {
    child: Child,
    base: String,
}

impl Nginx {
    /// Starts nginx on a free loopback port with its own config in `dir`: each insights
    /// page is the file named by the URL's `after` cursor (`p.json` for the first page),
    /// every `searchStream` answer is `stream.json`, other paths (token, accounts) go to the
    /// sandbox.
    async fn start(dir: &Path, pages: &Path, sandbox: &str) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let upstream = sandbox.trim_start_matches("http://");
        let d = dir.display();
        let config = format!(
            r#"daemon off;
user root;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {pages};
    location ~ ^/v25\.0/act_1001/insights$ {{
      default_type application/json;
      try_files /p$arg_after.json =404;
    }}
    # Static files answer GET only: a POST's 405 becomes the file, fetched as a GET.
    location ~ ^/v26/customers/[0-9]+/googleAds:searchStream$ {{
      error_page 405 =200 /stream.json;
      return 405;
    }}
    location = /stream.json {{ default_type application/json; }}
    location / {{ proxy_pass http://{upstream}; }}
  }}
}}
"#,
            pages = pages.display()
        );
        let path = dir.join("nginx.conf");
        std::fs::write(&path, config)?;
        let child = Command::new("nginx")
            .arg("-c")
            .arg(&path)
            .arg("-p")
            .arg(dir)
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting nginx (apt-get install -y nginx)")?;
        let nginx = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while reqwest::get(format!("{}/v25.0/act_1001/insights", nginx.base))
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                bail!("nginx did not answer on port {port}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(nginx)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: the master stops its worker before it exits.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// The first page's URL of the static report at `base`: what adsync asks for.
fn static_url(base: &str) -> String {
    let fields = STATIC_FIELDS.replace(['"', ' '], "");
    let (start, end) = static_window();
    format!(
        "{base}/v25.0/act_1001/insights?level=ad&fields={fields}&time_increment=1&limit=500&time_range=%7B%22since%22%3A%22{start}%22%2C%22until%22%3A%22{end}%22%7D"
    )
}

fn static_window() -> (chrono::NaiveDate, chrono::NaiveDate) {
    let end = chrono::NaiveDate::from_ymd_opt(2026, 6, 30).expect("a date");
    (end - chrono::Days::new(STATIC_DAYS - 1), end)
}

/// Ad-level report sizes near `rows` are 31 days × (campaigns × 10 × 10) ads.
fn static_campaigns(rows: u64) -> u64 {
    rows.div_ceil(STATIC_DAYS * 100).max(1)
}

/// Scenario 7: for each size, render the report's pages from the sandbox into files, serve
/// them with nginx, and time the bare fetch and `adsync run-once` (each binary) in turns.
async fn static_scenario(
    sandbox: &Sandbox,
    sizes: &[u64],
    repeat: usize,
    binaries: &StaticBinaries,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let nginx = Nginx::start(dir.path(), &dir.path().join("pages"), &sandbox.base).await?;
    let (start, end) = static_window();
    let text = format!(
        r#"connection = "{CONNECTION}"
accounts = ["act_1001"]
level = "ad"
fields = [{STATIC_FIELDS}]
date_range = {{ start = "{start}", end = "{end}" }}
time_increment = "daily"

[schedule]
cron = "0 6 * * *"

[output]
kind = "csv"
path = "reports/big.csv"
mode = "replace"
"#
    );
    // The sandbox authorizes; nginx serves the API (pages from files, the rest proxied).
    let work = dir.path().join("adsync");
    let app = app(&work, &sandbox.base, "", &[("big".into(), text)]).await?;
    let token = app.auth().access_token(CONNECTION).await?;
    drop(app);
    let config_path = work.join("adsync.toml");
    let config = std::fs::read_to_string(&config_path)?.replace(
        &format!("api_base_url = \"{}\"", sandbox.base),
        &format!("api_base_url = \"{}\"", nginx.base),
    );
    std::fs::write(&config_path, config)?;
    let callgrind_size = sizes.iter().copied().min_by_key(|n| n.abs_diff(100_000));
    for &n in sizes {
        let campaigns = static_campaigns(n);
        sandbox
            .settings(
                serde_json::json!({"campaigns_per_account": campaigns, "adsets_per_campaign": 10, "ads_per_adset": 10}),
            )
            .await?;
        let urls = dir.path().join("urls.curl");
        let pages = render_pages(&sandbox.base, &token, &nginx.base, &dir.path().join("pages"), &urls).await?;
        let rows = static_campaigns(n) * STATIC_DAYS * 100;
        let profile = callgrind_size == Some(n);
        let scenario = StaticRun {
            name: "7 static pages",
            detail: format!("{pages} pages"),
            work: &work,
            profile_prefix: "callgrind",
        };
        scenario.time(binaries, repeat, profile, || static_limit(&urls, rows))?;
    }
    Ok(())
}

/// One size of a static scenario: `adsync run-once big` of each binary in `work`, timed
/// in turns with a limit, the medians printed as table rows.
struct StaticRun<'a> {
    /// The table's scenario column, e.g. `7 static pages`.
    name: &'a str,
    /// What the size column says after the row count, e.g. `205 pages`.
    detail: String,
    /// The adsync working directory (config `adsync.toml`, CSV `out/reports/big.csv`).
    work: &'a Path,
    /// The start of the callgrind profiles' file names in `--callgrind DIR`.
    profile_prefix: &'a str,
}

impl StaticRun<'_> {
    /// Times `limit` and each binary `repeat` times in turns and prints the medians; fails
    /// unless every run wrote the same CSV file. With `profile`, runs each binary once more
    /// under callgrind (when `--callgrind` is given) and prints its instructions per row.
    fn time(
        &self,
        binaries: &StaticBinaries,
        repeat: usize,
        profile: bool,
        mut limit: impl FnMut() -> anyhow::Result<Measurement>,
    ) -> anyhow::Result<()> {
        let mut runs: Vec<(&str, &Path)> = vec![("adsync", &binaries.adsync)];
        if let Some(old) = &binaries.old {
            runs.push(("old adsync", old));
        }
        let mut limits = Vec::new();
        let mut timings: Vec<Vec<Measurement>> = vec![Vec::new(); runs.len()];
        let mut digests: Vec<Option<Vec<u8>>> = vec![None; runs.len()];
        for _ in 0..repeat.max(1) {
            limits.push(limit()?);
            for (i, (_, binary)) in runs.iter().enumerate() {
                let (m, digest) = run_adsync(binary, self.work)?;
                if let Some(seen) = digests[i].replace(digest.clone()) {
                    anyhow::ensure!(
                        seen == digest,
                        "{} wrote different CSV files for the same pages",
                        binary.display()
                    );
                }
                timings[i].push(m);
            }
        }
        if let [Some(new), Some(old)] = &digests[..] {
            anyhow::ensure!(new == old, "the old and new binaries wrote different CSV files");
        }
        let limit = median_of(&mut limits);
        let limit_rate = limit.rows as f64 / limit.wall_secs;
        for ((name, _), runs) in runs.iter().zip(&mut timings) {
            let m = median_of(runs);
            row(
                &format!("{}, {name}", self.name),
                &format!("{} rows, {}", m.rows, self.detail),
                &m,
                &format!("{limit_rate:.0} rows/s curl ({:.2} CPU s)", limit.cpu_secs),
                m.rows as f64 / m.wall_secs / limit_rate,
            );
        }
        if let (Some(out), true) = (&binaries.callgrind, profile) {
            std::fs::create_dir_all(out)?;
            for (name, binary) in &runs {
                let file = out.join(format!("{}.{}.out", self.profile_prefix, name.replace(' ', "-")));
                let (instructions, rows) = callgrind(binary, self.work, &file)?;
                println!(
                    "| {} callgrind, {name} | {rows} rows | instructions {instructions} | {:.0} per row | {} |",
                    self.name,
                    instructions as f64 / rows as f64,
                    file.display()
                );
            }
        }
        Ok(())
    }
}

/// Scenario 9, scenario 6 without the emulator in the limit: for each size, the Google Ads
/// report's one `searchStream` answer is rendered from the sandbox into a file, nginx serves
/// it to every `searchStream` request, and the bare fetch and `adsync run-once` (each
/// binary) are timed in turns; the CPU seconds are the adsync process's alone.
async fn stream_static_scenario(
    sandbox: &Sandbox,
    sizes: &[u64],
    repeat: usize,
    binaries: &StaticBinaries,
) -> anyhow::Result<()> {
    sandbox.settings(serde_json::from_str(STREAM_SETTINGS)?).await?;
    let dir = tempfile::tempdir()?;
    let pages = dir.path().join("pages");
    std::fs::create_dir_all(&pages)?;
    let nginx = Nginx::start(dir.path(), &pages, &sandbox.base).await?;
    let work = dir.path().join("adsync");
    let url = format!("{}/v26/customers/{STREAM_CUSTOMER}/googleAds:searchStream", nginx.base);
    let callgrind_size = sizes.iter().copied().min_by_key(|n| n.abs_diff(100_000));
    for &n in sizes {
        // The sandbox authorizes and renders; nginx serves the API.
        if work.exists() {
            std::fs::remove_dir_all(&work)?;
        }
        let app = app(&work, &sandbox.base, "", &[("big".into(), stream_query(n, "big.csv"))]).await?;
        let token = app.auth().access_token(GOOGLE).await?;
        let query = app
            .queries()
            .iter()
            .find(|q| q.name == "big")
            .context("the query")?
            .clone();
        drop(app);
        let gaql = adsync::query::gaql::build(&query, stream_window(n)).map_err(anyhow::Error::msg)?;
        let bytes = render_stream(&sandbox.base, &token, &gaql, &pages.join("stream.json")).await?;
        let config_path = work.join("adsync.toml");
        let config = std::fs::read_to_string(&config_path)?.replace(
            &format!("api_base_url = \"{}\"", sandbox.base),
            &format!("api_base_url = \"{}\"", nginx.base),
        );
        std::fs::write(&config_path, config)?;
        let scenario = StaticRun {
            name: "9 static searchStream",
            detail: format!("one response of {:.0} MB", bytes as f64 / 1e6),
            work: &work,
            profile_prefix: "callgrind.stream",
        };
        scenario.time(binaries, repeat, callgrind_size == Some(n), || {
            let mut m = timed(
                Command::new("curl")
                    .args(["-sf", "-o", "/dev/null", "-X", "POST", "--data", "{}"])
                    .arg(&url),
            )?;
            m.rows = n;
            Ok(m)
        })?;
    }
    Ok(())
}

/// Asks the sandbox for customer [`STREAM_CUSTOMER`]'s `searchStream` answer to `gaql` and
/// writes it to `file` as it arrives; returns its size in bytes.
async fn render_stream(sandbox: &str, token: &str, gaql: &str, file: &Path) -> anyhow::Result<u64> {
    use std::io::Write;
    let mut response = reqwest::Client::new()
        .post(format!(
            "{sandbox}/v26/customers/{STREAM_CUSTOMER}/googleAds:searchStream"
        ))
        .bearer_auth(token)
        .json(&serde_json::json!({ "query": gaql }))
        .send()
        .await?
        .error_for_status()?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(file)?);
    let mut bytes = 0;
    while let Some(chunk) = response.chunk().await? {
        out.write_all(&chunk)?;
        bytes += chunk.len() as u64;
    }
    out.flush()?;
    Ok(bytes)
}

/// The median (by wall time) of `runs`.
fn median_of(runs: &mut [Measurement]) -> Measurement {
    runs.sort_by(|a, b| a.wall_secs.total_cmp(&b.wall_secs));
    runs[runs.len() / 2].clone()
}

/// Fetches the report's pages from the sandbox and writes each under the name nginx looks
/// up (`p{after}.json`), its `paging.next` pointing at nginx, and the pages' nginx URLs as
/// a curl config (`urls`); returns the page count.
async fn render_pages(sandbox: &str, token: &str, nginx: &str, dir: &Path, urls: &Path) -> anyhow::Result<u64> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    let http = reqwest::Client::new();
    let mut next = Some(static_url(sandbox));
    let mut cursor = String::new();
    let mut pages = 0;
    let mut curl = String::new();
    while let Some(url) = next.take() {
        curl.push_str(&format!(
            "url = \"{}\"\noutput = \"/dev/null\"\n",
            url.replace(sandbox, nginx)
        ));
        let body = http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        let body = body.replace(&format!("\"{sandbox}/"), &format!("\"{nginx}/"));
        std::fs::write(dir.join(format!("p{cursor}.json")), &body)?;
        pages += 1;
        next = next_link(body.as_bytes()).map(|link| link.replace(nginx, sandbox));
        if let Some(link) = &next {
            cursor = url::Url::parse(link)?
                .query_pairs()
                .find(|(k, _)| k == "after")
                .map(|(_, v)| v.into_owned())
                .context("a next link without an after cursor")?;
        }
    }
    std::fs::write(urls, curl)?;
    Ok(pages)
}

/// The limit: curl fetching exactly the pages adsync asks for, in order over one
/// connection (one slice: one page at a time, as adsync does), to /dev/null.
fn static_limit(urls: &Path, rows: u64) -> anyhow::Result<Measurement> {
    let mut m = timed(Command::new("curl").args(["-sf", "--config"]).arg(urls))?;
    m.rows = rows;
    Ok(m)
}

/// Runs `command` under `/usr/bin/time`: wall and CPU seconds, peak RSS.
fn timed(command: &mut Command) -> anyhow::Result<Measurement> {
    let program = format!("{command:?}");
    let mut time = Command::new("/usr/bin/time");
    time.args(["-f", "%e %U %S %M"])
        .arg(command.get_program())
        .args(command.get_args());
    if let Some(dir) = command.get_current_dir() {
        time.current_dir(dir);
    }
    let output = time.stdout(Stdio::null()).output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!("{program} failed: {stderr}");
    }
    let numbers: Vec<f64> = stderr
        .lines()
        .last()
        .context("no /usr/bin/time line")?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let [wall, user, system, rss_kb] = numbers[..] else {
        bail!("unexpected /usr/bin/time line {stderr:?}");
    };
    Ok(Measurement {
        wall_secs: wall,
        cpu_secs: user + system,
        peak_rss_mb: rss_kb / 1024.0,
        ..Measurement::default()
    })
}

/// `binary run-once big` in `work`, timed by `/usr/bin/time`; the measurement and the
/// SHA-256 of the CSV it wrote.
fn run_adsync(binary: &Path, work: &Path) -> anyhow::Result<(Measurement, Vec<u8>)> {
    let mut m = timed(
        Command::new(binary)
            .args(["run-once", "big", "--config"])
            .arg(work.join("adsync.toml"))
            .current_dir(work),
    )?;
    let (rows, digest) = csv_rows_and_digest(&work.join("out/reports/big.csv"))?;
    m.rows = rows;
    Ok((m, digest))
}

/// Data rows (lines after the header) and SHA-256 of a CSV file.
fn csv_rows_and_digest(path: &Path) -> anyhow::Result<(u64, Vec<u8>)> {
    use sha2::Digest;
    use std::io::Read;
    let mut file = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let mut hasher = sha2::Sha256::new();
    let mut lines = 0u64;
    let mut buffer = vec![0; 1 << 16];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        lines += buffer[..read].iter().filter(|&&b| b == b'\n').count() as u64;
        hasher.update(&buffer[..read]);
    }
    Ok((lines.saturating_sub(1), hasher.finalize().to_vec()))
}

/// Instructions of `binary run-once big` under callgrind (profile kept in `out`), and the
/// rows it wrote.
fn callgrind(binary: &Path, work: &Path, out: &Path) -> anyhow::Result<(u64, u64)> {
    let status = Command::new("valgrind")
        .args(["--tool=callgrind", "--quiet"])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(binary)
        .args(["run-once", "big", "--config"])
        .arg(work.join("adsync.toml"))
        .current_dir(work)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("callgrind of {} failed", binary.display());
    }
    let profile = std::fs::read_to_string(out)?;
    let instructions = profile
        .lines()
        .find_map(|l| l.strip_prefix("summary:").or_else(|| l.strip_prefix("totals:")))
        .and_then(|v| v.split_whitespace().next())
        .context("no summary line in the callgrind profile")?
        .parse()?;
    let (rows, _) = csv_rows_and_digest(&work.join("out/reports/big.csv"))?;
    Ok((instructions, rows))
}
