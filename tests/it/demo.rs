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
