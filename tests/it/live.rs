//! The query directory and the config change while the daemon runs: query files added,
//! edited (valid and invalid) and deleted take effect within seconds, and SIGHUP reloads
//! the config, refusing one that does not validate.

use std::io::BufRead;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};

use adsync::store::Outcome;

use crate::helpers::{at, eventually, free_port, hourly, terminate, wait_for_port, Daemon, TestApp, CONNECTION};

/// Only the file watcher can make a change show within the tests' deadline.
const WATCHER_ONLY: &str = "[scheduler]\nrescan_secs = 86400\n";

/// `name`'s entry in the daemon's status, as JSON.
async fn status_of(daemon: &Daemon, name: &str) -> Option<serde_json::Value> {
    let status = serde_json::to_value(daemon.app.status().await.unwrap()).unwrap();
    status["queries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == name)
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_files_added_edited_broken_and_deleted_while_the_daemon_runs_take_effect_at_once() {
    let test = TestApp::new("2026-11-26T08:00:00Z").await;
    test.write_config_with("127.0.0.1:0", WATCHER_ONLY);
    test.write_query("a", &hourly(CONNECTION, "a.csv", "replace"));
    let daemon = Daemon::start(test.connected_app().await, "a").await;

    // Added: scheduled, and it runs at its next fire.
    test.write_query("b", &hourly(CONNECTION, "b.csv", "replace"));
    eventually("b to be scheduled", async || {
        daemon.app.store().query_state("b").await.unwrap()
    })
    .await;
    test.clock.set(at("2026-11-26T09:00:00Z"));
    let runs = daemon.runs("b", 1).await;
    assert_eq!(runs[0].fire, at("2026-11-26T09:00:00Z"));
    assert_eq!(runs[0].outcome, Outcome::Delivered, "{:?}", runs[0].error);

    // Edited, still valid: the new schedule's next fire.
    let half_past = hourly(CONNECTION, "b.csv", "replace").replace("0 * * * *", "30 * * * *");
    test.write_query("b", &half_past);
    eventually("b's new schedule", async || {
        status_of(&daemon, "b")
            .await
            .filter(|b| b["next_run"] == "2026-11-26T09:30:00Z")
    })
    .await;

    // Edited into an invalid file: the last good version keeps running, and status says so.
    test.write_query("b", &half_past.replace("level = \"campaign\"", "level = \"planet\""));
    let b = eventually("b's file errors in status", async || {
        status_of(&daemon, "b").await.filter(|b| !b["file_errors"].is_null())
    })
    .await;
    let errors = b["file_errors"].as_str().unwrap();
    assert!(
        errors.starts_with("file has errors since 2026-11-26 09:00:00 UTC: ")
            && errors.contains("b.toml:3:")
            && errors.ends_with("; still running the version of 2026-11-26 09:00:00 UTC"),
        "{errors}"
    );
    assert_eq!(b["state"], "active");
    assert_eq!(b["file_errors_since"], "2026-11-26T09:00:00Z");
    assert_eq!(b["running_version_of"], "2026-11-26T09:00:00Z");
    assert!(daemon.app.status().await.unwrap().to_text().contains(errors));
    assert!(daemon.app.problems().is_empty(), "{:?}", daemon.app.problems());
    test.clock.set(at("2026-11-26T09:30:00Z"));
    let runs = daemon.runs("b", 2).await;
    assert_eq!(runs[1].fire, at("2026-11-26T09:30:00Z"));
    assert_eq!(runs[1].outcome, Outcome::Delivered, "{:?}", runs[1].error);

    // Deleted: no longer scheduled; its history stays.
    std::fs::remove_file(test.path().join("queries/b.toml")).unwrap();
    eventually("b to leave status", async || {
        status_of(&daemon, "b").await.is_none().then_some(())
    })
    .await;
    test.clock.set(at("2026-11-26T10:30:00Z"));
    let a_runs = daemon.runs("a", 2).await;
    assert_eq!(a_runs[1].fire, at("2026-11-26T10:00:00Z"));
    daemon.stop().await;
    let runs = test.app().await.store().runs("b").await.unwrap();
    assert_eq!(runs.len(), 2, "b ran after its file was deleted: {runs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_in_flight_when_its_file_changes_finishes_with_the_version_it_started_with() {
    let test = TestApp::new("2026-11-26T08:00:00Z").await;
    test.write_config_with("127.0.0.1:0", WATCHER_ONLY);
    test.write_query("a", &hourly(CONNECTION, "a.csv", "replace"));
    let daemon = Daemon::start(test.connected_app().await, "a").await;
    let hold = serde_json::json!({"path_prefix": "/v25.0/act_1001", "when": "before"});
    test.control(reqwest::Method::POST, "/_sandbox/holds", Some(hold)).await;
    test.clock.set(at("2026-11-26T09:00:00Z"));
    let sandbox = test.sandbox.sandbox().clone();
    eventually("the run to hang at the sandbox", async || {
        (sandbox.stats().held_requests == 1).then_some(())
    })
    .await;

    let fewer_columns = hourly(CONNECTION, "a.csv", "replace")
        .replace(", \"spend\"]", "]")
        .replace("0 * * * *", "30 * * * *");
    test.write_query("a", &fewer_columns);
    eventually("the edit to be read", async || {
        status_of(&daemon, "a").await.filter(|a| a["schedule"] == "30 * * * *")
    })
    .await;
    test.control(reqwest::Method::DELETE, "/_sandbox/holds", None).await;
    let runs = daemon.runs("a", 1).await;
    assert_eq!(runs[0].outcome, Outcome::Delivered, "{:?}", runs[0].error);
    let header = test.read_report("a.csv").lines().next().unwrap().to_string();
    assert_eq!(
        header, "date_start,campaign_id,impressions,spend",
        "the old version's columns"
    );
    daemon.stop().await;
}

/// `adsync run` as a child process, its log lines collected as they come.
struct Process {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Process {
    fn start(test: &TestApp) -> Self {
        let mut child = test
            .command(&["run"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Self { child, log }
    }

    fn hang_up(&self) {
        let sent = std::process::Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

/// The connection ids the running daemon's `/api/status` lists (what `adsync status`
/// shows; the command itself would read the config file, which may be the invalid one).
async fn connections(listen: &str) -> Vec<String> {
    let url = format!("http://{listen}/api/status");
    let status: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    status["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_a_valid_config_and_refuses_an_invalid_one_keeping_the_old() {
    let test = TestApp::new("2026-11-26T08:00:00Z").await;
    let listen = format!("127.0.0.1:{}", free_port());
    test.write_config(&listen);
    test.write_query("a", &hourly(CONNECTION, "a.csv", "replace"));
    let daemon = Process::start(&test);
    wait_for_port(listen.rsplit(':').next().unwrap().parse().unwrap(), "adsync run").await;
    assert_eq!(connections(&listen).await, ["meta-test", "meta-other"]);

    let base = test.sandbox.base_url();
    let third = format!(
        "[[connections]]\nid = \"meta-third\"\nprovider = \"meta_ads\"\nclient_id = \"test-app\"\n\
         client_secret = \"test-app-secret\"\nauth_url = \"{base}/v25.0/dialog/oauth\"\n\
         token_url = \"{base}/v25.0/oauth/access_token\"\napi_base_url = \"{base}\"\n"
    );
    test.write_config_with(&listen, &third);
    daemon.hang_up();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while connections(&listen).await != ["meta-test", "meta-other", "meta-third"] {
        assert!(std::time::Instant::now() < deadline, "the new connection never showed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    // Out of range: refused with the file and line, and the running config stays.
    test.write_config_with(&listen, &format!("{third}\n[scheduler]\nmax_concurrent_runs = 0\n"));
    daemon.hang_up();
    let log = eventually("the refusal in the log", async || {
        let log = daemon.log();
        log.contains("Config reload refused").then_some(log)
    })
    .await;
    assert!(
        log.contains("adsync.toml:") && log.contains("scheduler.max_concurrent_runs: 0 is out of range"),
        "{log}"
    );
    assert_eq!(connections(&listen).await, ["meta-test", "meta-other", "meta-third"]);

    let Process { child, log } = daemon;
    let out = terminate(child).await;
    assert!(
        out.status.success(),
        "SIGHUP ended the daemon: {:?}\n{}",
        out.status,
        log.lock().unwrap()
    );
    assert!(log.lock().unwrap().contains("adsync stopped."));
}
