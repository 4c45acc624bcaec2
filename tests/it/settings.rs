//! Every numeric setting is bounded: the README's range table is walked through `adsync
//! check` (each end accepted, one past each end refused with `file:line:col`), and a daemon
//! with every setting at an end starts, serves `/status`, runs a query and makes links.

use crate::helpers::{Daemon, TestApp};

/// `(key, min, max)` of each row of the README's range table.
fn documented_ranges() -> Vec<(String, u64, u64)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let rows: Vec<(String, u64, u64)> = readme
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let key = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let range = cells.get(2)?.split(' ').next()?;
            let (min, max) = range.split_once('–')?;
            Some((key.to_string(), min.parse().ok()?, max.parse().ok()?))
        })
        .collect();
    assert_eq!(rows.len(), 19, "the README's range table: {rows:?}");
    rows
}

/// The test config with `key = value` set (replacing the line the helper writes, if any);
/// returns the 1-based line the value is on.
fn set(test: &TestApp, settings: &[(&str, u64)]) -> Vec<usize> {
    let mut text = std::fs::read_to_string(test.config_path()).unwrap();
    let mut lines_of = Vec::new();
    for (key, value) in settings {
        let (section, name) = key.split_once('.').unwrap();
        text = text
            .lines()
            .filter(|line| !line.starts_with(&format!("{name} = ")))
            .map(|line| format!("{line}\n"))
            .collect();
        let header = format!("[{section}]\n");
        if !text.contains(&header) {
            text.push_str(&format!("\n{header}"));
        }
        // An SMTP port is read with its host.
        let host = if section == "email" && !text.contains("smtp_host") {
            "smtp_host = \"127.0.0.1\"\n"
        } else {
            ""
        };
        text = text.replacen(&header, &format!("{header}{host}{name} = {value}\n"), 1);
    }
    for (key, _) in settings {
        let name = key.split_once('.').unwrap().1;
        let line = text.lines().position(|l| l.starts_with(&format!("{name} = "))).unwrap();
        lines_of.push(line + 1);
    }
    std::fs::write(test.config_path(), text).unwrap();
    lines_of
}

#[tokio::test]
async fn check_accepts_each_range_end_and_refuses_one_past_it_with_the_position() {
    let test = TestApp::new("2026-03-10T12:00:00Z").await;
    for (key, min, max) in documented_ranges() {
        let name = key.split_once('.').unwrap().1;
        let mut values = vec![(min, true), (max, true), (max + 1, false)];
        values.extend(min.checked_sub(1).map(|v| (v, false)));
        for (value, accepted) in values {
            test.write_config("127.0.0.1:0");
            let line = set(&test, &[(&key, value)])[0];
            let output = test.command(&["check"]).output().unwrap();
            let stdout = String::from_utf8(output.stdout).unwrap();
            assert_eq!(output.status.success(), accepted, "{key} = {value}: {stdout}");
            if !accepted {
                let col = name.len() + 4;
                let expected = format!(
                    "{}:{line}:{col}: {key}: {value} is out of range: use {min} to {max}",
                    test.config_path().display()
                );
                assert_eq!(stdout.trim(), expected);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_with_every_setting_at_an_end_runs_serves_and_makes_links() {
    for end in ["min", "max"] {
        let test = TestApp::new("2026-03-10T04:00:00Z").await;
        let ranges = documented_ranges();
        let settings: Vec<(&str, u64)> = ranges
            .iter()
            .map(|(key, min, max)| (key.as_str(), if end == "min" { *min } else { *max }))
            .collect();
        set(&test, &settings);
        test.write_query("rep", crate::backfill::REPLACE);
        let link = test.command(&["connect", crate::helpers::CONNECTION]).output().unwrap();
        assert!(link.status.success(), "{}", String::from_utf8_lossy(&link.stderr));
        assert!(String::from_utf8(link.stdout)
            .unwrap()
            .contains("/reconnect/meta-test?expires="));

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let daemon = Daemon::start_on(test.connected_app().await, "rep", listener).await;
        let record = daemon.app.run_once("rep").await.unwrap();
        assert_eq!(
            record.outcome,
            adsync::store::Outcome::Delivered,
            "{end}: {:?}",
            record.error
        );
        let status = reqwest::get(format!("{base}/status")).await.unwrap();
        assert_eq!(status.status(), reqwest::StatusCode::OK, "{end}");
        daemon.stop().await;
    }
}
