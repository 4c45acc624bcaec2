//! Output files stay where they belong: crashed runs' temp files are cleaned up even when
//! their query is gone, a symlink cannot lead an output outside `output_dir`, a path naming
//! a directory is refused, and a failed write says why in the OS's words.

use adsync::store::Outcome;

use crate::helpers::{at, Daemon, TestApp};

/// A replace query writing `reports/{file}`.
fn query(file: &str) -> String {
    crate::backfill::REPLACE.replace("reports/rep.csv", &format!("reports/{file}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_temp_file_of_a_deleted_query_is_gone_after_a_restart_and_by_the_upkeep() {
    let test = TestApp::new("2026-03-10T12:00:00Z").await;
    test.write_query("rep", &query("rep.csv"));
    let reports = test.reports();
    std::fs::create_dir_all(reports.join("old")).unwrap();
    // What a killed run of a since-deleted query left: this version's name and an older
    // version's random-suffixed one, a few MB each.
    let left = [
        reports.join(".gone.csv.adsync-tmp"),
        reports.join("old/.renamed.csv.adsync-tmpx7Qa"),
    ];
    for temp in &left {
        std::fs::write(temp, vec![b'x'; 3 << 20]).unwrap();
    }
    let unrelated = reports.join(".notes.txt");
    std::fs::write(&unrelated, "mine").unwrap();

    let daemon = Daemon::start(test.connected_app().await, "rep").await;
    for temp in &left {
        assert!(!temp.exists(), "{} is still there", temp.display());
    }
    assert!(unrelated.exists(), "only adsync's temp files are removed");

    // While running: a crash leftover of a file no query writes goes at the next upkeep; a
    // current query's temp (possibly its live delivery's) is left to that query.
    let stale = reports.join(".gone-again.csv.adsync-tmp");
    let current = reports.join(".rep.csv.adsync-tmp");
    std::fs::write(&stale, "x").unwrap();
    std::fs::write(&current, "x").unwrap();
    daemon.app.upkeep().await;
    assert!(!stale.exists());
    assert!(current.exists());
    daemon.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlinked_directory_cannot_lead_an_output_outside_output_dir() {
    let test = TestApp::new("2026-03-10T12:00:00Z").await;
    let elsewhere = tempfile::tempdir().unwrap();
    let out = test.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), out.join("reports")).unwrap();
    test.write_query("rep", &query("rep.csv"));
    let app = test.connected_app().await;
    let run = app.run_once("rep").await.unwrap();
    assert_eq!(run.outcome, Outcome::Failed);
    let error = run.error.unwrap();
    assert!(
        error.contains("outside output_dir") && error.contains(&elsewhere.path().display().to_string()),
        "{error}"
    );
    assert_eq!(
        std::fs::read_dir(elsewhere.path()).unwrap().count(),
        0,
        "nothing written there"
    );

    // A symlinked directory that stays inside output_dir is fine.
    std::fs::remove_file(out.join("reports")).unwrap();
    std::fs::create_dir_all(out.join("real")).unwrap();
    std::os::unix::fs::symlink(out.join("real"), out.join("reports")).unwrap();
    let run = app.run_once("rep").await.unwrap();
    assert_eq!(run.outcome, Outcome::Delivered, "{:?}", run.error);
    assert!(out.join("real/rep.csv").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_naming_a_directory_is_refused_and_a_failed_write_says_why() {
    let test = TestApp::new("2026-03-10T04:00:00Z").await;
    test.write_query("dir", &query("dir.csv"));
    test.write_query("blocked", &query("blocked/x.csv"));
    std::fs::create_dir_all(test.reports().join("dir.csv")).unwrap();
    // A file where the output's directory should be: creating the directory fails.
    std::fs::write(test.reports().join("blocked"), "a file").unwrap();
    let daemon = Daemon::start(test.connected_app().await, "dir").await;
    test.clock.set(at("2026-03-10T06:00:00Z"));
    let runs = daemon.runs("dir", 1).await;
    let error = runs[0].error.as_deref().unwrap();
    assert!(
        error.contains("dir.csv is a directory; name a file inside it"),
        "{error}"
    );
    let runs = daemon.runs("blocked", 1).await;
    assert_eq!(runs[0].outcome, Outcome::Failed);

    let status = daemon.app.status().await.unwrap();
    let status = serde_json::to_value(&status).unwrap();
    let gap = status["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["query"] == "blocked")
        .unwrap()
        .clone();
    assert_eq!(gap["reason"], "output_failed");
    let why = gap["reason_text"].as_str().unwrap();
    assert!(why.ends_with("blocked: file exists)"), "{why}");
    daemon.stop().await;
}
