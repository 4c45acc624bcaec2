//! Several daemons on one PostgreSQL database: each fire runs once across them, a fire
//! whose daemon stopped renewing its claim is taken over, a token is refreshed once for the
//! cluster, and a sled store copied over keeps its status. A real server (Debian's
//! `postgresql` binaries, started in a temp directory by the test); the daemons are real
//! `adsync run` processes on one scaled clock, or run in-process on one manual clock where a
//! test drives them from inside.

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::Duration;

use adsync::clock::{Clock, ScaledClock};
use adsync::store::test_server::TestServer;
use adsync::store::Outcome;
use chrono::{DateTime, Timelike, Utc};

use crate::helpers::{
    adsync_command, at, eventually, eventually_within, free_port, hourly, hourly_query, terminate, wait_for_ok, Daemon,
    TestApp, CONNECTION, GOOGLE,
};

/// A test directory whose config keeps state in a fresh database of `server`, with claims
/// leased for `lease_secs`.
async fn cluster_test(server: &TestServer, database: &str, lease_secs: u64) -> (TestApp, String) {
    let url = server.create_database(database).unwrap();
    let test = TestApp::new("2026-03-10T04:30:00Z").await;
    test.write_config_with(
        "127.0.0.1:0",
        &format!("[store]\nkind = \"postgres\"\nurl = \"{url}\"\nlease_secs = {lease_secs}\n"),
    );
    // The shared output directory: in a cluster it must exist (a mount), not be made on demand.
    std::fs::create_dir_all(test.path().join("out")).unwrap();
    (test, url)
}

/// Rows of `sql` (each column as text) on the database at `url`.
async fn sql(url: &str, sql: &str) -> Vec<Vec<String>> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let rows = client.simple_query(sql).await.unwrap();
    rows.iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).unwrap_or_default().to_string())
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

/// How long before their fire the daemon processes of a test start: time for three debug
/// builds to load a few hundred query files on a busy machine.
const START_LEAD: Duration = Duration::from_secs(15);

/// `adsync run` processes on one test directory (so one config and one database), each with
/// its own web endpoint and log file, all showing the time of one scaled clock.
struct DaemonProcesses {
    running: Vec<(Child, PathBuf)>,
}

impl DaemonProcesses {
    /// Starts `count` daemons whose clock shows [`START_LEAD`] before `fire` now, and
    /// returns once each answers `/readyz` (its scheduler knows every query's next fire);
    /// fails when one was not ready before `fire`.
    async fn start(test: &TestApp, count: usize, fire: DateTime<Utc>) -> Self {
        let lead = chrono::Duration::from_std(START_LEAD).unwrap();
        let clock = ScaledClock::new(fire - lead, Utc::now(), 1);
        let mut daemons = Self { running: Vec::new() };
        let mut ports = Vec::new();
        for i in 0..count {
            let port = free_port();
            let log = test.path().join(format!("daemon{i}.log"));
            let child = test
                .command(&["run"])
                .env("ADSYNC_SCALED_CLOCK", clock.spec())
                .env("ADSYNC_LISTEN", format!("127.0.0.1:{port}"))
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap();
            daemons.running.push((child, log));
            ports.push(port);
        }
        for port in ports {
            wait_for_ok(&format!("http://127.0.0.1:{port}/readyz")).await;
        }
        assert!(
            clock.now() < fire,
            "the daemons were ready only at {}, after the fire at {fire}: raise START_LEAD",
            clock.now()
        );
        daemons
    }

    /// Stops each daemon with SIGTERM (its runs in flight finish and are recorded) and
    /// checks it stopped cleanly.
    async fn stop(mut self) {
        for (child, log) in std::mem::take(&mut self.running) {
            let stopped = terminate(child).await;
            let log = std::fs::read_to_string(log).unwrap();
            assert!(stopped.status.success(), "{log}");
            assert!(log.contains("adsync stopped."), "{log}");
        }
    }
}

impl Drop for DaemonProcesses {
    /// A failed test leaves no daemon behind.
    fn drop(&mut self) {
        for (child, _) in &mut self.running {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits (longer than usual: a few hundred runs in debug builds) until every query of
/// `names` has a run recorded in `store`.
async fn every_query_ran(store: &adsync::store::Store, names: &[String]) {
    eventually_within("a run of every query", Duration::from_secs(120), async || {
        for name in names {
            store.last_run(name).await.unwrap()?;
        }
        Some(())
    })
    .await;
}

/// Checks each query of `names` ran exactly once, for `fire`, delivered to the CSV file of
/// its name under the reports directory, and that no gap was recorded.
async fn assert_each_delivered_once(
    test: &TestApp,
    store: &adsync::store::Store,
    names: &[String],
    fire: DateTime<Utc>,
    header: &str,
) {
    for name in names {
        let runs = store.runs(name).await.unwrap();
        assert_eq!(runs.len(), 1, "{name} ran {} times", runs.len());
        assert_eq!(runs[0].fire, fire);
        assert_eq!(runs[0].outcome, Outcome::Delivered, "{name}: {:?}", runs[0].error);
        let report = test.read_report(&format!("{name}.csv"));
        assert!(report.starts_with(header), "{name}: {report}");
        assert_eq!(report.lines().count() as u64, runs[0].rows + 1, "{name}: {report}");
    }
    assert!(store.all_gaps().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL server binaries"]
async fn three_daemon_processes_deliver_each_of_300_fires_due_at_once_exactly_once_and_share_them() {
    const QUERIES: usize = 300;
    let server = TestServer::start().unwrap();
    let (test, url) = cluster_test(&server, "spread", 30).await;
    let names: Vec<String> = (0..QUERIES).map(|i| format!("q{i}")).collect();
    for name in &names {
        test.write_query(name, &hourly(CONNECTION, &format!("{name}.csv"), "replace"));
    }
    let store = test.connected_app().await.store().clone();

    let fire = at("2026-03-10T05:00:00Z");
    let daemons = DaemonProcesses::start(&test, 3, fire).await;
    every_query_ran(&store, &names).await;
    daemons.stop().await;

    assert_each_delivered_once(
        &test,
        &store,
        &names,
        fire,
        "date_start,campaign_id,impressions,spend\n",
    )
    .await;
    let owners = sql(
        &url,
        "SELECT owner, count(*) FROM fire_claims WHERE done GROUP BY owner",
    )
    .await;
    let total: usize = owners.iter().map(|row| row[1].parse::<usize>().unwrap()).sum();
    assert_eq!(total, QUERIES, "one finished claim per fire: {owners:?}");
    assert_eq!(owners.len(), 3, "every daemon ran some: {owners:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL server binaries"]
async fn a_fire_whose_daemon_died_holding_it_is_taken_over_after_the_lease() {
    let server = TestServer::start().unwrap();
    let (test, url) = cluster_test(&server, "takeover", 2).await;
    test.write_query("rep", &hourly(CONNECTION, "rep.csv", "replace"));
    let daemon = Daemon::start(test.connected_app().await, "rep").await;
    // A daemon that claimed the 05:00 fire and was killed: its lease runs out in 2 s.
    sql(
        &url,
        "INSERT INTO fire_claims (query, fire_time, owner, lease_until)
         VALUES ('rep', '2026-03-10T05:00:00Z', 'killed', clock_timestamp() + interval '2 seconds')",
    )
    .await;

    test.clock.set(at("2026-03-10T05:00:00Z"));
    let started = std::time::Instant::now();
    daemon.runs("rep", 1).await;
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "taken over before the lease ran out"
    );
    daemon.stop().await;
    assert_taken_over_once(&test).await;
    let claim = sql(&url, "SELECT owner <> 'killed', done FROM fire_claims").await;
    assert_eq!(claim, [["t", "t"]]);
}

/// A GA4 sessions report fired every hour, for yesterday, to `reports/{file}`.
fn ga4_hourly(file: &str) -> String {
    let source = format!(
        r#"connection = "{GOOGLE}"
platform = "ga4"
accounts = ["123456789"]
fields = ["date", "sessions"]
"#
    );
    hourly_query(&source, file, "replace")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL server binaries"]
async fn three_daemon_processes_with_100_runs_due_on_one_expired_token_make_one_refresh() {
    const QUERIES: usize = 100;
    let server = TestServer::start().unwrap();
    let url = server.create_database("refresh").unwrap();
    let test = TestApp::with_providers("2026-05-04T08:00:00Z", "").await;
    test.write_provider_config("", &format!("[store]\nkind = \"postgres\"\nurl = \"{url}\"\n"));
    std::fs::create_dir_all(test.path().join("out")).unwrap();
    let names: Vec<String> = (0..QUERIES).map(|i| format!("s{i}")).collect();
    for name in &names {
        test.write_query(name, &ga4_hourly(&format!("{name}.csv")));
    }
    // Rotation on, no grace: a second refresh with the first refresh token would fail.
    let strict = serde_json::json!({"rotate_refresh_tokens": true, "refresh_token_reuse_grace_secs": 0});
    test.control(reqwest::Method::PUT, "/_sandbox/settings", Some(strict))
        .await;
    let app = test.app().await;
    adsync::demo::connect_via_sandbox(&app, GOOGLE, GOOGLE_USER)
        .await
        .unwrap();
    let store = app.store().clone();
    // Expired at the platform, and by the daemons' clock: Google's access tokens live an
    // hour, and the fire is an hour after the consent.
    test.expire_access_tokens(GOOGLE_USER).await;

    let fire = at("2026-05-04T09:00:00Z");
    let daemons = DaemonProcesses::start(&test, 3, fire).await;
    every_query_ran(&store, &names).await;
    daemons.stop().await;

    assert_eq!(test.sandbox.sandbox().stats().refresh_grants, 1);
    assert_each_delivered_once(&test, &store, &names, fire, "date,sessions\n").await;
    let owners = sql(&url, "SELECT DISTINCT owner FROM fire_claims").await;
    assert_eq!(owners.len(), 3, "every daemon ran some: {owners:?}");
}

/// The sandbox's Google user.
const GOOGLE_USER: &str = "ann@corp.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL server binaries"]
async fn a_cluster_daemon_without_the_shared_output_dir_says_why_in_its_status() {
    let server = TestServer::start().unwrap();
    let (test, _) = cluster_test(&server, "no_output", 30).await;
    std::fs::remove_dir(test.path().join("out")).unwrap();
    test.write_query("rep", &hourly(CONNECTION, "rep.csv", "replace"));
    let app = test.connected_app().await;

    let status = serde_json::to_value(app.status().await.unwrap()).unwrap();
    let problems = status["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    let problem = problems[0].as_str().unwrap();
    assert!(
        problem.contains("output directory") && problem.contains("leaves CSV fires to the others"),
        "{problem}"
    );
}

/// Runs the `adsync` binary with `args` and returns its standard output; fails the test
/// when it fails.
fn adsync_stdout(args: &[&str], env: &[(&str, String)]) -> String {
    let output = adsync_command(args)
        .env_remove("ADSYNC_SECRET_KEY")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL server binaries"]
async fn store_copy_of_the_demos_sled_store_to_postgres_gives_the_same_status_json() {
    let server = TestServer::start().unwrap();
    let url = server.create_database("copy").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    adsync_stdout(&["demo", "--once", "--out", out], &[]);

    let copied = adsync_stdout(
        &[
            "store",
            "copy",
            "--from",
            &format!("sled:{out}/.adsync"),
            "--to",
            &format!("postgres:{url}"),
        ],
        &[],
    );
    assert_eq!(
        copied,
        "Copied and checked: 3 connections, 3 tokens, 8 query states, 8 runs, 0 gaps, 0 pending authorizations, 0 notifications.\n"
    );

    // The demo's config with the copy as its store (the key file stays in its data directory).
    let on_sled = dir.path().join("adsync.toml");
    let on_postgres = dir.path().join("cluster.toml");
    let config = std::fs::read_to_string(&on_sled).unwrap();
    std::fs::write(
        &on_postgres,
        format!("{config}\n[store]\nkind = \"postgres\"\nurl = \"{url}\"\n"),
    )
    .unwrap();
    // Both read one clock, ten past an hour, where no example query fires (they fire on the
    // quarter hours): the next fires they show cannot differ.
    let now = Utc::now();
    let ten_past = now.date_naive().and_hms_opt(now.hour(), 10, 0).unwrap().and_utc();
    let clock = ScaledClock::new(ten_past, now, 1).spec();
    let status = |config: &std::path::Path| {
        let text = adsync_stdout(
            &["status", "--json", "--config", config.to_str().unwrap()],
            &[("ADSYNC_SCALED_CLOCK", clock.clone())],
        );
        let mut status: serde_json::Value = serde_json::from_str(&text).unwrap();
        // When each report was made: the one field that honestly differs.
        status.as_object_mut().unwrap().remove("generated_at");
        status
    };
    let (sled, postgres) = (status(&on_sled), status(&on_postgres));
    let queries = sled["queries"].as_array().unwrap();
    assert_eq!(queries.len(), 8, "{sled}");
    assert!(
        queries.iter().all(|q| q["last_result"]["outcome"] == "delivered"),
        "{sled}"
    );
    assert_eq!(postgres, sled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL server binaries"]
async fn a_revoked_login_is_emailed_once_per_cluster_and_a_link_from_one_daemon_completes_on_another() {
    let server = TestServer::start().unwrap();
    let url = server.create_database("reconnect").unwrap();
    let smtp = crate::mail::SmtpServer::start().await;
    let test = TestApp::new("2026-05-04T05:00:00Z").await;
    let bind = async || tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (listener_a, listener_b) = (bind().await, bind().await);
    let (listen_a, listen_b) = (
        listener_a.local_addr().unwrap().to_string(),
        listener_b.local_addr().unwrap().to_string(),
    );
    // Both daemons read one config: its public URL is daemon A's (the load balancer's).
    test.write_config_with(
        &listen_a,
        &format!("{}\n[store]\nkind = \"postgres\"\nurl = \"{url}\"\n", smtp.config(72)),
    );
    std::fs::create_dir_all(test.path().join("out")).unwrap();
    test.write_query("daily", &crate::reconnect::daily("act_1001", "daily.csv"));
    let app_a = test.connected_app().await;
    let app_b = test.app().await;
    test.control(
        reqwest::Method::PUT,
        "/_sandbox/settings",
        Some(serde_json::json!({"auto_approve": false})),
    )
    .await;
    let a = Daemon::start_on(app_a, "daily", listener_a).await;
    let b = Daemon::start_on(app_b, "daily", listener_b).await;

    // Both daemons find the login revoked and both try to tell its people at once.
    test.revoke(crate::helpers::USER, "password_changed").await;
    let stored = a.app.store().token(CONNECTION).await.unwrap().unwrap();
    let (auth_a, auth_b) = (a.app.auth(), b.app.auth());
    let (refused_a, refused_b) = tokio::join!(
        auth_a.refresh(CONNECTION, &stored.access_token, None),
        auth_b.refresh(CONNECTION, &stored.access_token, None),
    );
    assert!(refused_a.is_err() && refused_b.is_err());
    let (notifier_a, notifier_b) = (a.app.notifier(), b.app.notifier());
    let (sent_a, sent_b) = tokio::join!(
        notifier_a.check_connection(CONNECTION),
        notifier_b.check_connection(CONNECTION),
    );
    assert_eq!(
        [sent_a.unwrap(), sent_b.unwrap()].iter().filter(|s| **s).count(),
        1,
        "one of the two daemons sends"
    );
    assert_eq!(smtp.messages().len(), 1, "one email per cluster");

    // A's link, followed through A, its consent's callback answered by B.
    let link = notifier_a.links().link(CONNECTION, test.clock.now()).to_string();
    assert!(link.contains(&listen_a), "{link}");
    let callback = crate::reconnect::consent(&link, crate::helpers::USER, "allow").await;
    let on_b = callback.replace(&listen_a, &listen_b);
    let page = crate::helpers::no_redirects().get(&on_b).send().await.unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    let body = page.text().await.unwrap();
    assert!(body.contains("is connected again as test-user"), "{body}");

    // Both daemons see the connection back and the query active; the next fire delivers.
    for daemon in [&a, &b] {
        let status = serde_json::to_value(daemon.app.status().await.unwrap()).unwrap();
        assert_eq!(status["connections"][0]["state"], "connected", "{status}");
        assert_eq!(crate::helpers::query_state(&status, "daily"), "active");
    }
    test.clock.set(at("2026-05-04T06:00:00Z"));
    let store = a.app.store().clone();
    let delivered = eventually("the 06:00 run", async || {
        let runs = store.runs("daily").await.unwrap();
        runs.into_iter()
            .find(|r| r.fire == at("2026-05-04T06:00:00Z") && r.outcome == Outcome::Delivered)
    })
    .await;
    assert_eq!(delivered.rows, 3, "{delivered:?}");
    let recovery = eventually("the recovery email", async || {
        Some(smtp.messages()).filter(|m| m.len() == 2)
    })
    .await;
    assert_eq!(recovery[1].subject, "adsync: Meta Ads meta-test is connected again");
    for daemon in [a, b] {
        daemon.stop().await;
    }
    assert_eq!(smtp.messages().len(), 2, "no second copy of either email");
    let fired: Vec<_> = store.runs("daily").await.unwrap().into_iter().map(|r| r.fire).collect();
    assert_eq!(
        fired,
        [at("2026-05-04T06:00:00Z")],
        "one run for the fire, on one daemon"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL server binaries"]
async fn a_daemon_killed_mid_run_has_its_fire_finished_by_another_after_the_lease() {
    let server = TestServer::start().unwrap();
    let (test, url) = cluster_test(&server, "killed", 2).await;
    test.write_query("rep", &hourly(CONNECTION, "rep.csv", "replace"));
    drop(test.connected_app().await);
    // The first daemon, a real process, reaches 05:00 two seconds from now; its report
    // request is held at the sandbox, so it is mid-run when it is killed.
    let hold = serde_json::json!({"path_prefix": "/v25.0/act_1001", "when": "before"});
    test.control(reqwest::Method::POST, "/_sandbox/holds", Some(hold)).await;
    let clock = adsync::clock::ScaledClock::new(at("2026-03-10T04:59:58Z"), chrono::Utc::now(), 1);
    let mut killed = test
        .command(&["run"])
        .env("ADSYNC_SCALED_CLOCK", clock.spec())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let sandbox = test.sandbox.sandbox().clone();
    eventually("the first daemon's run to hang at the sandbox", async || {
        (sandbox.stats().held_requests == 1).then_some(())
    })
    .await;
    let holder = sql(&url, "SELECT owner, done FROM fire_claims").await;
    assert_eq!(holder.len(), 1, "{holder:?}");
    assert_eq!(holder[0][1], "f", "claimed, not finished: {holder:?}");
    killed.kill().unwrap();
    killed.wait().unwrap();
    test.control(reqwest::Method::DELETE, "/_sandbox/holds", None).await;

    // Another daemon takes the fire over once the dead one's lease has run out.
    test.clock.set(at("2026-03-10T05:00:30Z"));
    let daemon = Daemon::start(test.app().await, "rep").await;
    daemon.runs("rep", 1).await;
    daemon.stop().await;
    assert_taken_over_once(&test).await;
    let finished = sql(&url, "SELECT owner, done FROM fire_claims").await;
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_ne!(finished[0][0], holder[0][0], "finished by another daemon");
    assert_eq!(finished[0][1], "t");
}

/// The 05:00 fire of `rep`, taken over from a dead daemon: one run, delivered, no gap, and
/// its report without duplicate rows.
async fn assert_taken_over_once(test: &TestApp) {
    let store = test.app().await.store().clone();
    let runs = store.runs("rep").await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].fire, at("2026-03-10T05:00:00Z"));
    assert_eq!(runs[0].outcome, Outcome::Delivered, "{:?}", runs[0].error);
    assert!(
        store.all_gaps().await.unwrap().is_empty(),
        "a taken-over fire is no gap"
    );
    let report = crate::helpers::parse_csv(&test.read_report("rep.csv"));
    let mut unique = report.clone();
    unique.dedup();
    assert_eq!(report, unique, "no duplicate rows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL server binaries"]
async fn a_rate_limit_one_daemon_is_told_holds_the_connection_on_the_others_too() {
    let server = TestServer::start().unwrap();
    let (test, url) = cluster_test(&server, "slowdown", 30).await;
    test.write_query("rep", &hourly(CONNECTION, "rep.csv", "replace"));
    let (a, b) = (test.connected_app().await, test.app().await);
    // An hour to regain access: longer than a run waits, so each run ends at once saying so.
    test.control(
        reqwest::Method::POST,
        "/_sandbox/faults",
        Some(serde_json::json!({"kind": "rate_limit", "code": 80004, "count": 1,
                                "regain_access_minutes": 60, "path_prefix": "/v25.0/act_1001"})),
    )
    .await;

    let told = a.run_once("rep").await.unwrap();
    assert_eq!(told.outcome, Outcome::Failed);
    assert!(
        told.error.as_deref().unwrap().contains("quota spent"),
        "{:?}",
        told.error
    );
    eventually("the slow-down shared through the database", async || {
        let rows = sql(&url, "SELECT connection FROM slowdowns").await;
        (rows == [[CONNECTION]]).then_some(())
    })
    .await;
    let sent = test.sandbox.sandbox().stats().api_requests;

    let held = b.run_once("rep").await.unwrap();
    assert_eq!(held.outcome, Outcome::Failed);
    assert!(
        held.error
            .as_deref()
            .unwrap()
            .contains("waiting out a spent platform quota"),
        "{:?}",
        held.error
    );
    assert_eq!(
        test.sandbox.sandbox().stats().api_requests,
        sent,
        "the other daemon sent nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL server binaries"]
async fn two_daemons_keep_a_connections_requests_in_flight_within_the_one_limit() {
    let server = TestServer::start().unwrap();
    // A lease of 3 s: each daemon beats its membership every second.
    let (test, url) = cluster_test(&server, "slots", 3).await;
    let config = std::fs::read_to_string(test.config_path()).unwrap();
    let limited = config.replacen("[http]\n", "[http]\nmax_requests_per_connection = 2\n", 1);
    std::fs::write(test.config_path(), limited).unwrap();
    for i in 0..4 {
        test.write_query(&format!("q{i}"), &hourly(CONNECTION, &format!("q{i}.csv"), "replace"));
    }
    let a = Daemon::start(test.connected_app().await, "q0").await;
    let b = Daemon::start(test.app().await, "q0").await;
    // Each has counted the other once each beat after both were in: their leases then
    // outlast the latest lease seen while both were.
    let alive_until = "SELECT min(alive_until)::text, max(alive_until)::text, count(*) FROM daemons";
    let both_in = eventually("both daemons in", async || {
        let rows = sql(&url, alive_until).await;
        (rows[0][2] == "2").then(|| rows[0][1].clone())
    })
    .await;
    eventually("both daemons counting two", async || {
        let rows = sql(&url, alive_until).await;
        (rows[0][0] > both_in).then_some(())
    })
    .await;

    // Every insights request waits at the sandbox until released.
    let hold = serde_json::json!({"path_prefix": "/v25.0/act_1001", "when": "before", "count": 100});
    test.control(reqwest::Method::POST, "/_sandbox/holds", Some(hold)).await;
    test.clock.set(at("2026-03-10T05:00:00Z"));
    let sandbox = test.sandbox.sandbox().clone();
    eventually(
        "every fire claimed and one request of each daemon held, not two",
        async || {
            let claimed = sql(&url, "SELECT count(DISTINCT owner), count(*) FROM fire_claims").await;
            (claimed == [["2", "4"]] && sandbox.stats().held_requests == 2).then_some(())
        },
    )
    .await;
    test.control(reqwest::Method::DELETE, "/_sandbox/holds", None).await;
    for i in 0..4 {
        let daemon = if i % 2 == 0 { &a } else { &b };
        eventually(&format!("q{i} delivered"), async || {
            daemon.app.store().last_run(&format!("q{i}")).await.unwrap()
        })
        .await;
    }
    assert_eq!(
        sandbox.stats().max_held_requests,
        2,
        "one request in flight per daemon: half the limit each"
    );

    // A daemon that stops leaves the count at once.
    a.stop().await;
    assert_eq!(sql(&url, "SELECT count(*) FROM daemons").await, [["1"]]);
    b.stop().await;
}
