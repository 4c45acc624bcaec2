//! Full and read-only disks, on small tmpfs mounts (mounting needs root, which CI has): an
//! output that cannot be written fails its run with the system's reason and leaves the
//! previous output; a store that cannot be written fails loudly and loses no rotated token.

use std::path::{Path, PathBuf};
use std::process::Command;

use adsync::store::{GapState, Outcome};

use crate::helpers::{at, hourly, Daemon, TestApp, CONNECTION, USER};

/// A tmpfs of `size` mounted on a fresh directory, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(mounted.success(), "mounting a tmpfs needs root");
        Self(dir.to_path_buf())
    }

    /// Fills what is left with one file.
    fn fill(&self) {
        let filler = std::fs::File::create(self.0.join("filler")).unwrap();
        let mut filler = std::io::BufWriter::new(filler);
        let block = vec![0u8; 4096];
        while std::io::Write::write_all(&mut filler, &block).is_ok() {}
        let _ = std::io::Write::flush(&mut filler);
    }

    fn empty(&self) {
        std::fs::remove_file(self.0.join("filler")).unwrap();
    }

    fn read_only(&self, yes: bool) {
        let option = if yes { "remount,ro" } else { "remount,rw" };
        assert!(Command::new("mount")
            .args(["-o", option])
            .arg(&self.0)
            .status()
            .unwrap()
            .success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root to mount a tmpfs (CI runs as root)"]
async fn a_full_or_read_only_output_disk_fails_the_run_with_the_system_reason_and_keeps_the_previous_file() {
    let test = TestApp::new("2026-05-04T04:30:00Z").await;
    let disk = Tmpfs::mount(&test.path().join("out"), "256k");
    test.write_query("campaigns", &hourly(CONNECTION, "campaigns.csv", "replace"));
    let daemon = Daemon::start(test.connected_app().await, "campaigns").await;
    test.clock.set(at("2026-05-04T05:00:00Z"));
    daemon.runs("campaigns", 1).await;
    let before = std::fs::read(test.reports().join("campaigns.csv")).unwrap();

    disk.fill();
    test.clock.set(at("2026-05-04T06:00:00Z"));
    let runs = daemon.runs("campaigns", 2).await;
    assert_eq!(runs[1].outcome, Outcome::Failed);
    disk.empty();
    disk.read_only(true);
    test.clock.set(at("2026-05-04T07:00:00Z"));
    let runs = daemon.runs("campaigns", 3).await;
    assert_eq!(runs[2].outcome, Outcome::Failed);
    disk.read_only(false);

    assert_eq!(std::fs::read(test.reports().join("campaigns.csv")).unwrap(), before);
    let leftovers: Vec<_> = std::fs::read_dir(test.reports())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n != "campaigns.csv")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let gaps = daemon.app.store().gaps("campaigns").await.unwrap();
    let reasons: Vec<_> = gaps
        .iter()
        .map(|g| (g.reason.as_str(), g.state, g.detail.clone().unwrap_or_default()))
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons
        .iter()
        .all(|(r, s, _)| *r == "output_failed" && *s == GapState::Open));
    assert!(
        reasons[0].2.to_lowercase().contains("no space left on device"),
        "{}",
        reasons[0].2
    );
    assert!(
        reasons[1].2.to_lowercase().contains("read-only file system"),
        "{}",
        reasons[1].2
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root to mount a tmpfs (CI runs as root)"]
async fn a_full_store_disk_fails_loudly_and_never_presents_a_rotated_out_refresh_token() {
    let test = TestApp::new("2026-05-04T08:00:00Z").await;
    let disk = Tmpfs::mount(&test.path().join("state"), "16m");
    test.write_query("campaigns", &hourly(CONNECTION, "campaigns.csv", "replace"));
    let app = test.connected_app().await;
    let strict = serde_json::json!({"rotate_refresh_tokens": true, "refresh_token_reuse_grace_secs": 0});
    test.control(reqwest::Method::PUT, "/_sandbox/settings", Some(strict))
        .await;
    test.expire_access_tokens(USER).await;

    disk.fill();
    let failed = app.run_once("campaigns").await.unwrap();
    assert_eq!(failed.outcome, Outcome::Failed);
    let error = failed.error.unwrap();
    assert!(error.to_lowercase().contains("no space left on device"), "{error}");
    assert_eq!(test.sandbox.sandbox().stats().refresh_grants, 1, "the platform rotated");

    // Still full: the renewed token is held in memory and never traded for the old one, so
    // the platform still has a live grant.
    let again = app.run_once("campaigns").await.unwrap();
    assert_eq!(again.outcome, Outcome::Failed);
    assert!(again.error.unwrap().to_lowercase().contains("no space left on device"));
    assert_eq!(
        test.sandbox.sandbox().stats().refresh_grants,
        1,
        "no refresh with the old token"
    );
    assert_eq!(
        app.store().connection(CONNECTION).await.unwrap().unwrap().status,
        adsync::store::ConnectionStatus::Connected
    );

    // sled refuses every write after an I/O error until it is opened again, so the renewed
    // token dies with the process: after a restart with space, the grant is gone, and the
    // reason says it was adsync's side that lost the answer, not the user or the platform.
    drop(app);
    disk.empty();
    let restarted = test.app().await;
    let rerun = restarted.run_once("campaigns").await.unwrap();
    assert_eq!(rerun.outcome, Outcome::Failed);
    let status = serde_json::to_value(restarted.status().await.unwrap()).unwrap();
    assert_eq!(status["connections"][0]["reason"], "refresh_answer_lost");
}
