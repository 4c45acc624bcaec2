//! The chaos soak: a real daemon process on a fast clock, with dozens of queries on several
//! connections writing CSV files and a Google Sheets tab, while the sandbox injects every kind
//! of fault, logins are revoked and reconnected through signed links, and the daemon is
//! killed (SIGKILL) and restarted at random moments. Afterwards it checks the books.
//!
//! Shared by `examples/chaos/main.rs` (minutes long) and the short run in the test suite
//! (`tests/it/chaos.rs`), which include this file.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adsync::app::App;
use adsync::auth::{LinkSigner, ReconnectReason};
use adsync::clock::{Clock, ScaledClock};
use adsync::config::{Config, Overrides};
use adsync::store::{ConnectionStatus, GapState, Outcome, SecretKey, LINK_KEY_PURPOSE};
use adsync_sandbox::{Fault, FaultKind, RevokeReason, SandboxHandle, SandboxSettings};
use anyhow::{bail, Context};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The Meta connections and the sandbox users they log in as.
const META: [(&str, &str); 3] = [("meta-a", "user-a"), ("meta-b", "user-b"), ("meta-c", "user-c")];
/// The Google login that writes the spreadsheet.
const GOOGLE: (&str, &str) = ("google-w", "writer");
/// The spreadsheet the Sheets queries write.
const SPREADSHEET: &str = "chaos-book";
/// The Sheets queries fire every ten minutes: Google's read quota (60 a minute per user)
/// would refuse a fire every minute at the soak's speed.
const SHEETS_CRON: &str = "*/10 * * * *";
/// Queries per Meta connection.
const QUERIES_PER_CONNECTION: usize = 8;
/// The revocations injected: none of them is what a lost grant looks like.
const REVOKE_REASONS: [RevokeReason; 3] = [
    RevokeReason::PasswordChanged,
    RevokeReason::AppRemoved,
    RevokeReason::Checkpoint,
];

/// How the soak starts a daemon: a program and the arguments before the config path
/// (`adsync run --config`, or the example re-running itself).
#[derive(Debug, Clone)]
pub struct Launcher {
    /// The program.
    pub program: PathBuf,
    /// Its arguments; the config file's path is appended.
    pub args: Vec<String>,
}

/// What a soak does.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long the chaos lasts, in real time.
    pub duration: Duration,
    /// Clock seconds per real second (a minute's cron fires every `60 / speed` s).
    pub speed: i32,
    /// Seeds every random choice.
    pub seed: u64,
    /// Starts the daemon.
    pub launcher: Launcher,
    /// Kept for a look afterwards when set; a temporary directory otherwise.
    pub dir: Option<PathBuf>,
}

/// What happened and what was checked.
#[derive(Debug, Default)]
pub struct Books {
    pub queries: usize,
    pub fires: usize,
    pub fires_delivered: usize,
    pub gaps_opened: usize,
    pub gaps_closed: usize,
    pub faults_injected: u64,
    pub access_tokens_expired: usize,
    pub kills: usize,
    pub outputs_checked_at_kills: usize,
    pub revocations: usize,
    pub reconnects: usize,
    pub refreshes: u64,
    pub grants_lost_to_lost_answers: usize,
    pub rows_checked: usize,
    pub tokens_looked_for: usize,
    pub violations: Vec<String>,
}

impl fmt::Display for Books {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "queries                          {}", self.queries)?;
        writeln!(f, "scheduled fires                  {}", self.fires)?;
        writeln!(f, "  delivered on time              {}", self.fires_delivered)?;
        writeln!(f, "gaps opened                      {}", self.gaps_opened)?;
        writeln!(f, "  closed (backfilled/superseded) {}", self.gaps_closed)?;
        writeln!(f, "faults injected                  {}", self.faults_injected)?;
        writeln!(f, "access tokens expired mid-run    {}", self.access_tokens_expired)?;
        writeln!(f, "token refreshes                  {}", self.refreshes)?;
        writeln!(f, "SIGKILLs                         {}", self.kills)?;
        writeln!(f, "outputs checked at kills         {}", self.outputs_checked_at_kills)?;
        writeln!(f, "revocations                      {}", self.revocations)?;
        writeln!(f, "reconnects through signed links  {}", self.reconnects)?;
        writeln!(
            f,
            "grants lost to a lost answer     {}",
            self.grants_lost_to_lost_answers
        )?;
        writeln!(f, "rows checked against the sandbox {}", self.rows_checked)?;
        writeln!(f, "tokens looked for (none found)   {}", self.tokens_looked_for)?;
        writeln!(f, "violations                       {}", self.violations.len())?;
        for violation in &self.violations {
            writeln!(f, "  - {violation}")?;
        }
        Ok(())
    }
}

/// Runs a soak and returns its books; `Err` only when the soak itself could not run.
pub async fn soak(options: Options) -> anyhow::Result<Books> {
    let temp = tempfile::tempdir()?;
    let dir = options.dir.clone().unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(dir.join("queries"))?;
    std::fs::create_dir_all(dir.join("logs"))?;
    let sandbox = adsync_sandbox::spawn(
        "127.0.0.1:0".parse()?,
        SandboxSettings {
            auto_approve: true,
            rotate_refresh_tokens: true,
            refresh_token_reuse_grace_secs: 0,
            max_page_size: 2,
            ..SandboxSettings::default()
        },
    )
    .await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    std::fs::write(dir.join("adsync.toml"), config(&sandbox.base_url(), port))?;
    let names = write_queries(&dir)?;
    create_spreadsheet(&sandbox).await?;
    // Two days back, so the fast clock stays behind the sandbox's own dates.
    let origin = chrono::Utc::now() - chrono::Duration::days(2);
    let clock = ScaledClock::new(origin, chrono::Utc::now(), options.speed);
    let mut soak = Soak {
        dir: dir.clone(),
        port,
        sandbox,
        clock,
        launcher: options.launcher.clone(),
        daemon: None,
        starts: 0,
        rng: StdRng::seed_from_u64(options.seed),
        books: Books {
            queries: names.len(),
            ..Books::default()
        },
        revoked: BTreeMap::new(),
        names,
    };
    soak.connect_all().await?;
    soak.start_daemon().await?;
    soak.chaos(options.duration).await?;
    soak.settle().await?;
    soak.check_books().await?;
    if options.dir.is_some() {
        // Keep the directory for a look.
        let _ = temp.keep();
    }
    Ok(soak.books)
}

struct Soak {
    dir: PathBuf,
    port: u16,
    sandbox: SandboxHandle,
    clock: ScaledClock,
    launcher: Launcher,
    daemon: Option<Child>,
    starts: usize,
    rng: StdRng,
    books: Books,
    /// Connections revoked on purpose and not reconnected yet, with the reason injected.
    revoked: BTreeMap<String, RevokeReason>,
    names: Vec<String>,
}

impl Soak {
    fn config_path(&self) -> PathBuf {
        self.dir.join("adsync.toml")
    }

    fn load_config(&self) -> anyhow::Result<Config> {
        Ok(Config::load(&self.config_path(), &Overrides::default())?)
    }

    /// The library's view of the store, on the soak's clock (the daemon must be down).
    async fn app(&self) -> anyhow::Result<App> {
        Ok(App::build(self.load_config()?, Arc::new(self.clock)).await?)
    }

    async fn connect_all(&mut self) -> anyhow::Result<()> {
        let app = self.app().await?;
        for (connection, user) in META.into_iter().chain([GOOGLE]) {
            adsync::demo::connect_via_sandbox(&app, connection, user).await?;
        }
        Ok(())
    }

    async fn start_daemon(&mut self) -> anyhow::Result<()> {
        self.starts += 1;
        let log = std::fs::File::create(self.dir.join("logs").join(format!("daemon-{}.log", self.starts)))?;
        let child = Command::new(&self.launcher.program)
            .args(&self.launcher.args)
            .arg(self.config_path())
            .env("ADSYNC_SCALED_CLOCK", self.clock.spec())
            .env("ADSYNC_LOG", "info")
            .env_remove("ADSYNC_DATA_DIR")
            .env_remove("ADSYNC_QUERIES_DIR")
            .stdout(log.try_clone()?)
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", self.launcher.program.display()))?;
        self.daemon = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            if let Some(status) = self.daemon.as_mut().and_then(|d| d.try_wait().ok().flatten()) {
                bail!(
                    "the daemon exited at start ({status}); see {}",
                    self.dir.join("logs").display()
                );
            }
            if Instant::now() > deadline {
                bail!("the daemon did not listen on port {} within 30 s", self.port);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// SIGKILL: no chance to finish anything.
    fn kill_daemon(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.daemon.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// SIGTERM, and wait for the graceful stop.
    fn stop_daemon(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.daemon.take() {
            Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?;
            let status = child.wait()?;
            if !status.success() {
                self.books
                    .violations
                    .push(format!("the daemon's graceful stop exited with {status}"));
            }
        }
        Ok(())
    }

    async fn chaos(&mut self, duration: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        let end = start + duration;
        let tick = Duration::from_millis(200);
        // Rough rates per tick, so a longer soak does proportionally more of everything; and
        // a short one still has at least one revocation and one kill.
        while Instant::now() < end {
            tokio::time::sleep(tick).await;
            if self.books.revocations == 0 && start.elapsed() > duration / 4 {
                self.revoke();
            }
            if self.books.kills == 0 && start.elapsed() > duration / 2 {
                self.kill_and_restart().await?;
            }
            let roll: f64 = self.rng.gen();
            match roll {
                r if r < 0.10 => self.inject_fault(),
                r if r < 0.13 => self.expire_access_tokens(),
                r if r < 0.14 => self.toggle_reuse_grace(),
                r if r < 0.155 => self.revoke(),
                r if r < 0.18 => self.reconnect_one().await,
                r if r < 0.195 => self.kill_and_restart().await?,
                _ => {}
            }
        }
        Ok(())
    }

    fn inject_fault(&mut self) {
        let kind = match self.rng.gen_range(0..4) {
            0 => FaultKind::Http500,
            1 => FaultKind::RateLimit,
            2 => FaultKind::Timeout,
            _ => FaultKind::TruncatedJson,
        };
        let fault = Fault {
            kind,
            count: self.rng.gen_range(1..=3),
            skip: self.rng.gen_range(0..4),
            path_prefix: None,
            code: (kind == FaultKind::RateLimit).then_some(80004),
            regain_access_minutes: 0,
        };
        self.sandbox.sandbox().push_fault(fault);
    }

    /// A 401 in the middle of paging: the next request of any run on that login is refused.
    fn expire_access_tokens(&mut self) {
        let (_, user) = META[self.rng.gen_range(0..META.len())];
        self.books.access_tokens_expired += self.sandbox.sandbox().expire_access_tokens(user);
    }

    /// Rotation with and without a reuse grace period.
    fn toggle_reuse_grace(&mut self) {
        let grace = if self.rng.gen_bool(0.5) { 0 } else { 30 };
        let _ = self
            .sandbox
            .sandbox()
            .patch_settings(serde_json::json!({ "refresh_token_reuse_grace_secs": grace }));
    }

    fn revoke(&mut self) {
        let (connection, user) = META[self.rng.gen_range(0..META.len())];
        if self.revoked.contains_key(connection) {
            return;
        }
        let reason = REVOKE_REASONS[self.rng.gen_range(0..REVOKE_REASONS.len())];
        self.sandbox.sandbox().revoke(user, reason);
        self.revoked.insert(connection.to_string(), reason);
        self.books.revocations += 1;
    }

    /// Follows a revoked connection's signed reconnect link, as its owner would.
    async fn reconnect_one(&mut self) {
        let Some(connection) = self.revoked.keys().next().cloned() else {
            return;
        };
        if self.daemon.is_none() {
            return;
        }
        if self.follow_reconnect_link(&connection).await.is_ok() {
            self.revoked.remove(&connection);
            self.books.reconnects += 1;
        }
    }

    async fn follow_reconnect_link(&self, connection: &str) -> anyhow::Result<()> {
        let config = self.load_config()?;
        let key = SecretKey::load_or_create(&config.data_dir)?;
        let signer = LinkSigner::new(key.derive(LINK_KEY_PURPOSE), config.public_url.clone(), config.link_ttl);
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()?;
        let user = META
            .into_iter()
            .chain([GOOGLE])
            .find(|(id, _)| *id == connection)
            .map_or("", |(_, user)| user);
        // The link → the consent page (approved at once, as the connection's own user) → the
        // daemon's callback → the result page.
        let mut url = signer.link(connection, self.clock.now());
        for _ in 0..5 {
            if url.as_str().starts_with(&self.sandbox.base_url()) {
                let pairs: Vec<(String, String)> = url
                    .query_pairs()
                    .filter(|(k, _)| k != "login_hint")
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                url.query_pairs_mut()
                    .clear()
                    .extend_pairs(pairs)
                    .append_pair("login_hint", user);
            }
            let response = browser.get(url.clone()).send().await?;
            let Some(next) = response.headers().get(reqwest::header::LOCATION) else {
                if !response.status().is_success() {
                    bail!("{} answered {}", url.path(), response.status());
                }
                return Ok(());
            };
            url = url.join(next.to_str()?)?;
        }
        bail!("too many redirects")
    }

    async fn kill_and_restart(&mut self) -> anyhow::Result<()> {
        self.kill_daemon()?;
        self.books.kills += 1;
        self.check_outputs_whole().await?;
        self.check_connections().await?;
        self.start_daemon().await
    }

    /// Every output, right after a kill, is a whole report: a header and complete rows.
    async fn check_outputs_whole(&mut self) -> anyhow::Result<()> {
        for name in self.names.clone() {
            let path = self.output(&name);
            if !path.exists() {
                continue;
            }
            if let Err(problem) = read_report(&path) {
                self.books
                    .violations
                    .push(format!("after kill {}: {problem}", self.books.kills));
            }
            self.books.outputs_checked_at_kills += 1;
        }
        for tab in self.sheet_tabs().await? {
            if let Err(problem) = whole_rows(&tab.1) {
                self.books
                    .violations
                    .push(format!("after kill {}: tab {}: {problem}", self.books.kills, tab.0));
            }
            self.books.outputs_checked_at_kills += 1;
        }
        Ok(())
    }

    /// A connection that needs reconnecting without having been revoked lost its grant: only
    /// the inherent window (a refresh answer lost to the kill) may do that, and it must say so.
    async fn check_connections(&mut self) -> anyhow::Result<()> {
        let app = self.app().await?;
        for (connection, _) in META.into_iter().chain([GOOGLE]) {
            let Some(state) = app.store().connection(connection).await? else {
                continue;
            };
            if state.status != ConnectionStatus::NeedsReconnect || self.revoked.contains_key(connection) {
                continue;
            }
            let reason = serde_json::to_value(&state)?["reason"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if reason == ReconnectReason::RefreshAnswerLost.to_string() {
                self.books.grants_lost_to_lost_answers += 1;
                // The owner reconnects it, like a revoked one.
                self.revoked.insert(connection.to_string(), RevokeReason::Expired);
            } else {
                self.books.violations.push(format!(
                    "{connection} lost its grant outside the inherent window: {reason}"
                ));
                self.revoked.insert(connection.to_string(), RevokeReason::Expired);
            }
        }
        Ok(())
    }

    /// No more chaos: every login reconnected, every gap made good, then a graceful stop.
    async fn settle(&mut self) -> anyhow::Result<()> {
        self.sandbox.sandbox().release_holds();
        let _ = self
            .sandbox
            .sandbox()
            .patch_settings(serde_json::json!({ "refresh_token_reuse_grace_secs": 0 }));
        // Faults still queued would only slow the settling down.
        reqwest::Client::new()
            .delete(format!("{}/_sandbox/faults", self.sandbox.base_url()))
            .send()
            .await?;
        let deadline = Instant::now() + Duration::from_secs(180);
        // A fire still fetching when the graceful stop's grace ends becomes a gap that the next
        // start makes good: so stop, and start again while the stop left gaps open.
        for _ in 0..3 {
            self.wait_until_settled(deadline).await?;
            self.stop_daemon()?;
            let open = self
                .app()
                .await?
                .store()
                .all_gaps()
                .await?
                .iter()
                .filter(|g| g.state == GapState::Open)
                .count();
            if open == 0 || Instant::now() > deadline {
                break;
            }
            self.start_daemon().await?;
        }
        self.check_connections().await
    }

    /// Reconnects what needs it and waits until the daemon reports no open gap.
    async fn wait_until_settled(&mut self, deadline: Instant) -> anyhow::Result<()> {
        loop {
            for connection in self.revoked.keys().cloned().collect::<Vec<_>>() {
                if self.follow_reconnect_link(&connection).await.is_ok() {
                    self.revoked.remove(&connection);
                    self.books.reconnects += 1;
                }
            }
            let status: serde_json::Value = reqwest::get(format!("http://127.0.0.1:{}/api/status", self.port))
                .await?
                .json()
                .await?;
            let open = status["gaps"]
                .as_array()
                .map_or(0, |gaps| gaps.iter().filter(|g| g["state"] == "open").count());
            let unhealthy = status["connections"]
                .as_array()
                .map_or(0, |c| c.iter().filter(|c| c["state"] != "connected").count());
            if open == 0 && unhealthy == 0 && self.revoked.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.books.violations.push(format!(
                    "after the chaos, {open} gaps stayed open and {unhealthy} connections unhealthy: {}",
                    status["connections"]
                ));
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn check_books(&mut self) -> anyhow::Result<()> {
        let app = self.app().await?;
        let store = app.store();
        for name in &self.names {
            let state = serde_json::to_value(store.query_state(name).await?)?;
            let runs = store.runs(name).await?;
            let gaps = store.gaps(name).await?;
            let instant =
                |v: &serde_json::Value| v.as_str().and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok());
            let (Some(from), Some(to)) = (instant(&state["tracked_since"]), instant(&state["last_fire"])) else {
                self.books.violations.push(format!("{name} never fired"));
                continue;
            };
            let delivered: BTreeSet<_> = runs
                .iter()
                .filter(|r| r.outcome == Outcome::Delivered)
                .map(|r| r.fire)
                .collect();
            let gapped: BTreeSet<_> = gaps.iter().map(|g| g.fire_time).collect();
            // Every fire after the query was first seen, up to the last one handled.
            let every = if name.starts_with("sheet-") { 10 } else { 1 };
            let mut fire = minute_after(from);
            while fire <= to {
                if fire.timestamp() / 60 % every != 0 {
                    fire += chrono::Duration::minutes(1);
                    continue;
                }
                self.books.fires += 1;
                if delivered.contains(&fire) && !gapped.contains(&fire) {
                    self.books.fires_delivered += 1;
                } else if !gapped.contains(&fire) {
                    self.books
                        .violations
                        .push(format!("{name}: the fire at {fire} is neither delivered nor a gap"));
                }
                fire += chrono::Duration::minutes(1);
            }
            self.books.gaps_opened += gaps.len();
            for gap in &gaps {
                match gap.state {
                    GapState::Backfilled | GapState::Superseded => self.books.gaps_closed += 1,
                    state => self.books.violations.push(format!(
                        "{name}: the gap of {} ({}) is {state:?}",
                        gap.fire_time, gap.reason
                    )),
                }
            }
        }
        drop(app);
        self.check_against_the_sandbox().await?;
        self.books.faults_injected = self.sandbox.sandbox().stats().faults_injected;
        self.books.refreshes = self.sandbox.sandbox().stats().refresh_grants;
        self.check_no_token_anywhere()?;
        Ok(())
    }

    /// Every output equals what a fault-free run of its query reads from the sandbox now: the
    /// windows are fixed, so the data is too. Each Sheets tab equals its CSV twin.
    async fn check_against_the_sandbox(&mut self) -> anyhow::Result<()> {
        let reference_dir = self.dir.join("reference");
        let config = Config::load(
            &self.config_path(),
            &Overrides {
                output_dir: Some(reference_dir.clone()),
                ..Overrides::default()
            },
        )?;
        let app = App::build(config, Arc::new(self.clock)).await?;
        let tabs: BTreeMap<String, Vec<Vec<String>>> = self.sheet_tabs().await?.into_iter().collect();
        for name in self.names.clone() {
            if name.starts_with("sheet-") {
                continue;
            }
            let record = app.run_once(&name).await?;
            if record.outcome != Outcome::Delivered {
                self.books
                    .violations
                    .push(format!("{name}: the reference run failed: {:?}", record.error));
                continue;
            }
            let expected = read_report(&reference_dir.join(format!("{name}.csv"))).map_err(anyhow::Error::msg)?;
            let written = match read_report(&self.output(&name)) {
                Ok(rows) => rows,
                Err(problem) => {
                    self.books.violations.push(problem);
                    continue;
                }
            };
            let mut keys = BTreeSet::new();
            for row in written.iter().skip(1) {
                if !keys.insert((row[0].clone(), row[1].clone())) {
                    self.books
                        .violations
                        .push(format!("{name}: the row of {} {} is there twice", row[0], row[1]));
                }
            }
            if sorted(&written) != sorted(&expected) {
                self.books
                    .violations
                    .push(format!("{name}: the output differs from the sandbox's data"));
            }
            self.books.rows_checked += written.len().saturating_sub(1);
            if let Some(tab) = tabs.get(&name) {
                if sorted(tab) != sorted(&written) {
                    self.books
                        .violations
                        .push(format!("sheet-{name}: the tab differs from its CSV twin"));
                }
                self.books.rows_checked += tab.len().saturating_sub(1);
            }
        }
        Ok(())
    }

    /// No token the sandbox ever issued appears in a log, an output, an email or a store file.
    fn check_no_token_anywhere(&mut self) -> anyhow::Result<()> {
        let tokens = self.sandbox.sandbox().issued_tokens();
        self.books.tokens_looked_for = tokens.len();
        let mut files = Vec::new();
        collect_files(&self.dir, &mut files)?;
        for file in files {
            let bytes = std::fs::read(&file)?;
            let text = String::from_utf8_lossy(&bytes);
            if let Some(token) = tokens.iter().find(|t| text.contains(t.as_str())) {
                self.books.violations.push(format!(
                    "a token ({}…) is in clear in {}",
                    &token[..token.len().min(6)],
                    file.display()
                ));
            }
        }
        Ok(())
    }

    fn output(&self, name: &str) -> PathBuf {
        self.dir.join("out").join(format!("{name}.csv"))
    }

    /// The spreadsheet's tabs by name, each as rows of formatted cells.
    async fn sheet_tabs(&self) -> anyhow::Result<Vec<(String, Vec<Vec<String>>)>> {
        let book: serde_json::Value =
            reqwest::get(format!("{}/_sandbox/sheets/{SPREADSHEET}", self.sandbox.base_url()))
                .await?
                .json()
                .await?;
        let mut tabs = Vec::new();
        for sheet in book["sheets"].as_array().into_iter().flatten() {
            let title = sheet["properties"]["title"]
                .as_str()
                .or(sheet["title"].as_str())
                .unwrap_or_default()
                .to_string();
            if !self.names.iter().any(|n| n == &format!("sheet-{title}")) {
                continue;
            }
            let rows: Vec<Vec<String>> = sheet["rows"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|row| {
                    row.as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| c.as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .filter(|row: &Vec<String>| row.iter().any(|c| !c.is_empty()))
                .collect();
            tabs.push((title, rows));
        }
        Ok(tabs)
    }
}

/// The first whole minute after `t`.
fn minute_after(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    let secs = t.timestamp();
    chrono::DateTime::from_timestamp(secs - secs.rem_euclid(60) + 60, 0).expect("a minute in range")
}

/// A CSV report's rows (header first), or why it is not a whole report.
fn read_report(path: &Path) -> Result<Vec<Vec<String>>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !text.ends_with('\n') {
        return Err(format!("{}: does not end with a whole line", path.display()));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.map(|r| r.iter().map(str::to_string).collect()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    whole_rows(&rows).map_err(|problem| format!("{}: {problem}", path.display()))?;
    Ok(rows)
}

/// Rows that start with a header and are all as wide as it.
fn whole_rows(rows: &[Vec<String>]) -> Result<(), String> {
    let Some(header) = rows.first() else {
        return Err("no header".into());
    };
    if header.first().map(String::as_str) != Some("date_start") {
        return Err(format!("the header is {header:?}"));
    }
    match rows.iter().position(|row| row.len() != header.len()) {
        Some(at) => Err(format!(
            "row {at} has {} cells, the header {}",
            rows[at].len(),
            header.len()
        )),
        None => Ok(()),
    }
}

fn sorted(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut rows = rows.to_vec();
    rows.sort();
    rows
}

fn collect_files(dir: &Path, into: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, into)?;
        } else {
            into.push(path);
        }
    }
    Ok(())
}

fn config(base: &str, port: u16) -> String {
    let meta = META
        .iter()
        .map(|(id, _)| {
            format!(
                r#"
[[connections]]
id = "{id}"
provider = "meta_ads"
client_id = "test-app"
client_secret = "test-app-secret"
auth_url = "{base}/v25.0/dialog/oauth"
token_url = "{base}/v25.0/oauth/access_token"
api_base_url = "{base}"
owners = ["owner@example.com"]
"#
            )
        })
        .collect::<String>();
    let (google, _) = GOOGLE;
    format!(
        r#"public_url = "http://127.0.0.1:{port}"
listen = "127.0.0.1:{port}"
data_dir = "state"
queries_dir = "queries"
output_dir = "out"

[scheduler]
shutdown_grace_secs = 10

[http]
max_retries = 3
retry_initial_backoff_ms = 10
retry_max_backoff_ms = 100
request_timeout_secs = 5
max_rate_limit_wait_secs = 5
{meta}
[[connections]]
id = "{google}"
provider = "google"
client_id = "test-app"
client_secret = "test-app-secret"
auth_url = "{base}/o/oauth2/v2/auth"
token_url = "{base}/token"
api_base_url = "{base}"
"#
    )
}

/// Eight queries per Meta connection (levels, modes and windows mixed), and two Sheets
/// twins of CSV queries; every one fires each minute.
fn write_queries(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    let windows = [
        ("2026-04-01", "2026-04-03"),
        ("2026-04-10", "2026-04-10"),
        ("2026-03-28", "2026-04-02"),
    ];
    for (c, (connection, _)) in META.iter().enumerate() {
        for k in 0..QUERIES_PER_CONNECTION {
            let name = format!("{}{k}", &connection[5..]);
            let (level, fields) = if k % 2 == 0 {
                ("campaign", r#""date_start", "campaign_id", "impressions", "spend""#)
            } else {
                ("adset", r#""date_start", "adset_id", "impressions", "clicks""#)
            };
            let mode = if k % 3 == 0 { "append" } else { "replace" };
            let (start, end) = windows[(c + k) % windows.len()];
            let account = 1001 + (k % 3);
            let body = |output: &str, cron: &str| {
                format!(
                    r#"connection = "{connection}"
accounts = ["act_{account}"]
level = "{level}"
fields = [{fields}]
date_range = {{ start = "{start}", end = "{end}" }}
time_increment = "daily"

[schedule]
cron = "{cron}"
timezone = "UTC"

{output}"#
                )
            };
            let csv = format!("[output]\nkind = \"csv\"\npath = \"{name}.csv\"\nmode = \"{mode}\"\n");
            std::fs::write(
                dir.join("queries").join(format!("{name}.toml")),
                body(&csv, "* * * * *"),
            )?;
            names.push(name.clone());
            if k < 2 && c == 0 {
                let (google, _) = GOOGLE;
                let sheet = format!(
                    "[output]\nkind = \"google_sheets\"\nconnection = \"{google}\"\nspreadsheet_id = \"{SPREADSHEET}\"\nsheet = \"{name}\"\nmode = \"{mode}\"\nvalue_input = \"raw\"\n"
                );
                let twin = format!("sheet-{name}");
                std::fs::write(
                    dir.join("queries").join(format!("{twin}.toml")),
                    body(&sheet, SHEETS_CRON),
                )?;
                names.push(twin);
            }
        }
    }
    Ok(names)
}

async fn create_spreadsheet(sandbox: &SandboxHandle) -> anyhow::Result<()> {
    let (_, writer) = GOOGLE;
    reqwest::Client::new()
        .put(format!("{}/_sandbox/sheets/{SPREADSHEET}", sandbox.base_url()))
        .json(&serde_json::json!({"title": "chaos", "editors": [format!("{writer}@example.com")]}))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}
