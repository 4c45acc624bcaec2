//! `adsync demo --once` writes the example reports, cell for cell what the sandbox's data
//! function gives.

use std::sync::Arc;

use adsync::clock::ManualClock;
use adsync::demo::{DemoOptions, EXAMPLE_QUERIES};
use adsync::store::Outcome;
use adsync_sandbox::SandboxSettings;
use tokio_util::sync::CancellationToken;

use crate::helpers::{at, parse_csv};

#[tokio::test]
async fn demo_once_writes_every_example_report_exactly() {
    let out = tempfile::tempdir().unwrap();
    let options = DemoOptions {
        once: true,
        out: out.path().to_path_buf(),
        sandbox_listen: "127.0.0.1:0".parse().unwrap(),
        listen: "127.0.0.1:0".parse().unwrap(),
        clock: Arc::new(ManualClock::new(at("2026-11-22T09:00:00Z"))),
    };
    // The sandbox keeps its own (wall) clock.
    let sandbox_today = chrono::Utc::now().date_naive();
    let records = adsync::demo::run(options, CancellationToken::new()).await.unwrap();
    assert_eq!(records.len(), EXAMPLE_QUERIES.len());

    let config = adsync::config::Config::parse(
        adsync::demo::EXAMPLE_CONFIG,
        std::path::Path::new("adsync.toml"),
        out.path(),
        &adsync::config::Overrides {
            output_dir: Some(out.path().to_path_buf()),
            ..Default::default()
        },
    )
    .unwrap();
    let (queries, problems) = adsync::query::load_dir(&out.path().join("queries"), &config.validation_context());
    assert!(problems.is_empty(), "{problems:?}");
    for record in &records {
        assert_eq!(
            record.outcome,
            Outcome::Delivered,
            "{}: {:?}",
            record.query,
            record.error
        );
        let query = queries.iter().find(|q| q.name == record.query).unwrap();
        let path = std::path::PathBuf::from(record.output.clone().unwrap());
        if matches!(query.output, adsync::query::Output::GoogleSheets(_)) {
            // Sheets outputs are compared cell by cell in tests/it/sheets.rs.
            assert_eq!(
                path.display().to_string(),
                "sheets:adsync-demo-spreadsheet/Meta campaigns"
            );
            assert_eq!(record.rows, 42, "2 accounts × 3 campaigns × 7 days");
            continue;
        }
        assert!(path.starts_with(out.path().join("reports")), "{}", path.display());
        let rows = parse_csv(&std::fs::read_to_string(&path).unwrap());
        assert_eq!(
            rows,
            crate::expected::report(query, record.window, &SandboxSettings::default(), sandbox_today),
            "{}",
            record.query
        );
        assert!(rows.len() > 1, "{} is empty", record.query);
    }
    let windows: Vec<String> = records.iter().map(|r| format!("{} {}", r.query, r.window)).collect();
    assert!(
        windows.contains(&"meta_campaigns_daily 2026-11-15..2026-11-21".to_string()),
        "{windows:?}"
    );
    assert!(
        windows.contains(&"meta_accounts_last_month 2026-10-01..2026-10-31".to_string()),
        "{windows:?}"
    );
}

/// `adsync demo` on the given addresses writes its config, which `adsync status --config`
/// reads while the demo runs (through its daemon) and after (from the store).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_on_given_addresses_writes_a_config_that_status_reads_during_and_after() {
    use crate::helpers::{free_port, terminate, wait_for_port};
    let out = tempfile::tempdir().unwrap();
    let (listen, sandbox) = (free_port(), free_port());
    let adsync = |args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_adsync"));
        command
            .args(args)
            .env_remove("ADSYNC_CONFIG")
            .env_remove("ADSYNC_DATA_DIR")
            .env_remove("ADSYNC_QUERIES_DIR")
            .env_remove("ADSYNC_LOG_FORMAT");
        command
    };
    let out_dir = out.path().to_str().unwrap();
    let config = out.path().join("adsync.toml");
    let status = |config: &std::path::Path| {
        let status = adsync(&["status", "--json", "--config", config.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
        serde_json::from_slice::<serde_json::Value>(&status.stdout).unwrap()
    };

    let (listen_at, sandbox_at) = (format!("127.0.0.1:{listen}"), format!("127.0.0.1:{sandbox}"));
    let demo = adsync(&[
        "demo",
        "--out",
        out_dir,
        "--listen",
        &listen_at,
        "--sandbox-listen",
        &sandbox_at,
    ])
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    wait_for_port(sandbox, "the demo's sandbox").await;
    wait_for_port(listen, "the demo's daemon").await;
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(written.contains(&format!("listen = \"{listen_at}\"")), "{written}");
    assert!(written.contains(&format!("\"http://{sandbox_at}/token\"")), "{written}");
    // The first pass runs before the daemon serves; status waits for it through the daemon.
    let during = crate::helpers::eventually("the demo's first runs", async || {
        let report = status(&config);
        let ran = report["queries"]
            .as_array()?
            .iter()
            .all(|q| !q["last_result"].is_null());
        ran.then_some(report)
    })
    .await;
    assert_eq!(during["queries"].as_array().unwrap().len(), EXAMPLE_QUERIES.len());
    let stopped = terminate(demo).await;
    assert!(stopped.status.success(), "{}", String::from_utf8_lossy(&stopped.stderr));

    let after = status(&config);
    let ids: Vec<&str> = after["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["meta-demo", "google-demo", "linkedin-demo"]);
    assert_eq!(after["queries"].as_array().unwrap().len(), EXAMPLE_QUERIES.len());

    // `--once` counts the Sheets tab it wrote.
    let once = tempfile::tempdir().unwrap();
    let ran = adsync(&["demo", "--once", "--out", once.path().to_str().unwrap()])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&ran.stderr);
    assert!(ran.status.success(), "{log}");
    let sheets = EXAMPLE_QUERIES
        .iter()
        .filter(|(_, text)| text.contains("google_sheets"))
        .count();
    assert_eq!(sheets, 1);
    assert!(
        log.contains(&format!("{} reports written under", EXAMPLE_QUERIES.len() - sheets))
            && log.contains("1 to a sandbox spreadsheet tab"),
        "{log}"
    );
}
