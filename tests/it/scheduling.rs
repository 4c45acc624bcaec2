//! The daemon on a manual clock: fires on schedule, survives restarts without re-running
//! delivered fires, and runs the latest fire it missed while down.

use adsync::store::{GapState, Outcome};

use crate::helpers::{at, eventually, Daemon, TestApp};

const DAILY: &str = r#"connection = "meta-test"
accounts = ["act_1001"]
level = "account"
fields = ["date_start", "account_id", "impressions", "spend"]
date_range = "yesterday"

[schedule]
cron = "0 6 * * *"
timezone = "Europe/Berlin"

[output]
kind = "csv"
path = "reports/daily.csv"
mode = "append"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_continues_from_the_store_and_runs_the_latest_missed_fire() {
    // 06:00 Europe/Berlin is 05:00 UTC in winter time.
    let test = TestApp::new("2026-03-10T04:00:00Z").await;
    test.write_query("daily", DAILY);
    let daemon = Daemon::start(test.connected_app().await, "daily").await;

    test.clock.set(at("2026-03-10T05:00:00Z"));
    let runs = daemon.runs("daily", 1).await;
    assert_eq!(runs[0].fire, at("2026-03-10T05:00:00Z"));
    assert_eq!(runs[0].window.to_string(), "2026-03-09");
    assert_eq!(runs[0].outcome, Outcome::Delivered, "{:?}", runs[0].error);
    daemon.stop().await;

    // Restarted after the delivered fire: nothing is re-run; the next fire runs on time.
    test.clock.set(at("2026-03-10T05:30:00Z"));
    let daemon = Daemon::start(test.app().await, "daily").await;
    test.clock.set(at("2026-03-11T05:00:00Z"));
    let runs = daemon.runs("daily", 2).await;
    assert_eq!(
        runs[1].fire,
        at("2026-03-11T05:00:00Z"),
        "the delivered fire was run again"
    );
    daemon.stop().await;

    // Down across three fires: each is a `daemon_not_running` gap; the latest runs at once
    // and the start-up backfill fetches the other two windows.
    test.clock.set(at("2026-03-14T12:00:00Z"));
    let daemon = Daemon::start(test.app().await, "daily").await;
    let gaps = eventually("every downtime gap to be backfilled", async || {
        let gaps = daemon.app.store().gaps("daily").await.unwrap();
        gaps.iter().all(|g| g.state == GapState::Backfilled).then_some(gaps)
    })
    .await;
    let gaps: Vec<_> = gaps
        .into_iter()
        .map(|g| (g.fire_time, g.window.to_string(), g.reason.to_string()))
        .collect();
    let gap = |fire: &str, day: &str| (at(fire), day.to_string(), "daemon_not_running".to_string());
    assert_eq!(
        gaps,
        [
            gap("2026-03-12T05:00:00Z", "2026-03-11"),
            gap("2026-03-13T05:00:00Z", "2026-03-12"),
            gap("2026-03-14T05:00:00Z", "2026-03-13"),
        ]
    );
    let state = daemon.app.store().query_state("daily").await.unwrap().unwrap();
    assert_eq!(state.last_fire, Some(at("2026-03-14T05:00:00Z")));
    daemon.stop().await;
    let runs = test.app().await.store().runs("daily").await.unwrap();
    assert!(runs.iter().all(|r| r.outcome == Outcome::Delivered), "{runs:?}");

    // The append file holds each day once, in date order: nothing lost, nothing twice.
    let dates: Vec<String> = crate::helpers::parse_csv(&test.read_report("daily.csv"))
        .into_iter()
        .skip(1)
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(
        dates,
        ["2026-03-09", "2026-03-10", "2026-03-11", "2026-03-12", "2026-03-13"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backfill_command_fills_open_gaps_oldest_first() {
    use adsync::store::Gap;

    let test = TestApp::new("2026-03-10T04:00:00Z").await;
    test.write_query("daily", DAILY);
    let app = test.connected_app().await;
    for (fire, day) in [
        ("2026-03-12T05:00:00Z", "2026-03-11"),
        ("2026-03-11T05:00:00Z", "2026-03-10"),
    ] {
        let day = day.parse().unwrap();
        app.store()
            .record_gap(&Gap::open(
                "daily",
                crate::helpers::CONNECTION,
                at(fire),
                adsync::rows::DateWindow::new(day, day),
                ("platform_error".into(), None),
                at(fire),
            ))
            .await
            .unwrap();
    }
    app.store().flush().await.unwrap();
    drop(app);

    let output = test.command(&["backfill", "daily"]).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with("[1/2] daily: delivered 1 rows for 2026-03-10"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("[2/2] daily: delivered 1 rows for 2026-03-11"),
        "{stdout}"
    );
    let gaps = test.app().await.store().gaps("daily").await.unwrap();
    assert!(gaps.iter().all(|g| g.state == GapState::Backfilled), "{gaps:?}");
    let dates: Vec<String> = crate::helpers::parse_csv(&test.read_report("daily.csv"))
        .into_iter()
        .skip(1)
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(dates, ["2026-03-10", "2026-03-11"]);
}
