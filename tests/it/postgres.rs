//! Several daemons on one PostgreSQL database: each fire runs once across them, and a fire
//! whose daemon stopped renewing its claim is taken over. A real server (Debian's
//! `postgresql` binaries, started in a temp directory by the test); the daemons run
//! in-process on one manual clock.

use std::time::Duration;

use adsync::store::test_server::TestServer;
use adsync::store::Outcome;

use crate::helpers::{at, eventually, hourly, Daemon, TestApp, CONNECTION};

/// A test directory whose config keeps state in a fresh database of `server`, with claims
/// leased for `lease_secs`.
async fn cluster_test(server: &TestServer, database: &str, lease_secs: u64) -> (TestApp, String) {
    let url = server.create_database(database).unwrap();
    let test = TestApp::new("2026-03-10T04:30:00Z").await;
    test.write_config_with(
        "127.0.0.1:0",
        &format!("[store]\nkind = \"postgres\"\nurl = \"{url}\"\nlease_secs = {lease_secs}\n"),
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL server binaries"]
async fn three_daemons_run_each_of_300_fires_once_and_share_them() {
    const QUERIES: usize = 300;
    let server = TestServer::start().unwrap();
    let (test, url) = cluster_test(&server, "spread", 30).await;
    for i in 0..QUERIES {
        test.write_query(&format!("q{i}"), &hourly(CONNECTION, &format!("q{i}.csv"), "replace"));
    }
    let first = test.connected_app().await;
    let mut daemons = vec![Daemon::start(first, "q0").await];
    for _ in 1..3 {
        daemons.push(Daemon::start(test.app().await, "q0").await);
    }

    test.clock.set(at("2026-03-10T05:00:00Z"));
    let store = daemons[0].app.store().clone();
    eventually("every query's 05:00 run", async || {
        for i in 0..QUERIES {
            if store.last_run(&format!("q{i}")).await.unwrap().is_none() {
                return None;
            }
        }
        Some(())
    })
    .await;
    for daemon in daemons {
        daemon.stop().await;
    }

    for i in 0..QUERIES {
        let runs = store.runs(&format!("q{i}")).await.unwrap();
        assert_eq!(runs.len(), 1, "q{i} ran {} times", runs.len());
        assert_eq!(runs[0].fire, at("2026-03-10T05:00:00Z"));
        assert_eq!(runs[0].outcome, Outcome::Delivered, "{:?}", runs[0].error);
        assert!(test.reports().join(format!("q{i}.csv")).is_file());
    }
    assert!(store.all_gaps().await.unwrap().is_empty());
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
    let runs = daemon.runs("rep", 1).await;
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "taken over before the lease ran out"
    );
    assert_eq!(runs[0].fire, at("2026-03-10T05:00:00Z"));
    assert_eq!(runs[0].outcome, Outcome::Delivered, "{:?}", runs[0].error);
    daemon.stop().await;

    let store = test.app().await.store().clone();
    assert_eq!(store.runs("rep").await.unwrap().len(), 1);
    assert!(
        store.all_gaps().await.unwrap().is_empty(),
        "a taken-over fire is no gap"
    );
    let report = crate::helpers::parse_csv(&test.read_report("rep.csv"));
    let mut unique = report.clone();
    unique.dedup();
    assert_eq!(report, unique, "no duplicate rows");
    let claim = sql(&url, "SELECT owner <> 'killed', done FROM fire_claims").await;
    assert_eq!(claim, [["t", "t"]]);
}
