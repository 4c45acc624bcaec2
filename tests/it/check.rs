//! `adsync check` reports every broken file with file:line:col; the daemon runs the good
//! queries next to them.

use tokio_util::sync::CancellationToken;

use crate::helpers::{at, eventually, parse_csv, TestApp};

const GOOD: &str = r#"connection = "meta-test"
accounts = ["act_1001"]
level = "campaign"
fields = ["date_start", "campaign_id", "impressions"]
date_range = "yesterday"

[schedule]
cron = "0 6 * * *"
timezone = "UTC"

[output]
kind = "csv"
path = "reports/good.csv"
mode = "replace"
"#;

/// Each broken file: its name, the text to replace in GOOD, its replacement, the text the
/// diagnostic must point at, and a fragment of the message.
const BROKEN: &[(&str, &str, &str, &str, &str)] = &[
    ("unknown_key", "level = ", "levle = ", "levle", "unknown"),
    ("bad_cron", "\"0 6 * * *\"", "\"61 6 * * *\"", "\"61 6 * * *\"", "cron"),
    (
        "bad_timezone",
        "\"UTC\"",
        "\"Europe/Berln\"",
        "\"Europe/Berln\"",
        "time zone",
    ),
    (
        "unknown_connection",
        "\"meta-test\"",
        "\"meta-prod\"",
        "\"meta-prod\"",
        "connection",
    ),
    (
        "unknown_field",
        "\"impressions\"",
        "\"impresions\"",
        "\"impresions\"",
        "impresions",
    ),
    (
        "end_before_start",
        "\"yesterday\"",
        "{ start = \"2026-02-10\", end = \"2026-02-01\" }",
        "\"2026-02-01\"",
        "before",
    ),
    (
        "outside_output_dir",
        "\"reports/good.csv\"",
        "\"../../etc/passwd.csv\"",
        "\"../../etc/passwd.csv\"",
        "output",
    ),
];

fn position(text: &str, needle: &str) -> (usize, usize) {
    let offset = text.find(needle).expect("needle is in the file");
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap().chars().count() + 1;
    (line, col)
}

#[tokio::test]
async fn check_reports_every_broken_file_and_the_daemon_runs_the_good_one() {
    let test = TestApp::new("2026-05-04T05:00:00Z").await;
    test.write_query("good", GOOD);
    let mut expected = Vec::new();
    for (name, from, to, points_at, fragment) in BROKEN {
        assert!(GOOD.contains(from), "{name}: {from:?} is not in the good file");
        let text = GOOD.replacen(from, to, 1).replace("good.csv", &format!("{name}.csv"));
        test.write_query(name, &text);
        let (line, col) = position(&text, points_at);
        let file = test.path().join("queries").join(format!("{name}.toml"));
        expected.push((format!("{}:{line}:{col}: ", file.display()), *fragment));
    }

    let output = test.command(&["check"]).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    for (prefix, fragment) in &expected {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(prefix.as_str()))
            .unwrap_or_else(|| panic!("no diagnostic starting {prefix:?} in:\n{stdout}"));
        // Only the message: the file name alone often contains the fragment.
        let message = &line[prefix.len()..];
        assert!(
            message.to_lowercase().contains(fragment),
            "{line:?} should mention {fragment:?}"
        );
    }
    assert!(stdout.contains("1 valid queries"), "{stdout}");

    // The daemon skips the broken files and runs the good query on schedule.
    let app = test.connected_app().await;
    assert_eq!(app.queries().len(), 1);
    // One file can have several problems (a misspelt key is also a missing one).
    let problems = app.problems();
    let bad_files: std::collections::BTreeSet<_> = problems.iter().map(|p| &p.file).collect();
    assert_eq!(bad_files.len(), BROKEN.len());
    let stop = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let daemon = tokio::spawn(app.clone().run_until_stopped(listener, stop.clone()));
    app.scheduler_ready().await;
    test.clock.set(at("2026-05-04T06:00:00Z"));
    eventually("the good query's run", async || {
        app.store().last_run("good").await.unwrap()
    })
    .await;
    stop.cancel();
    daemon.await.unwrap().unwrap();
    let rows = parse_csv(&test.read_report("good.csv"));
    assert_eq!(rows[0], ["date_start", "campaign_id", "impressions"]);
    assert!(rows.len() > 1);
    assert!(rows[1..].iter().all(|r| r[0] == "2026-05-03"));
}

#[tokio::test]
async fn check_refuses_a_query_whose_connection_never_asks_for_its_scope() {
    let ads_only = r#"scopes = ["openid", "email", "https://www.googleapis.com/auth/adwords"]"#;
    let test = TestApp::with_providers("2026-05-04T05:00:00Z", ads_only).await;
    let ga4 = GOOD
        .replace("\"meta-test\"", "\"google-test\"\nplatform = \"ga4\"")
        .replace("\"act_1001\"", "\"123456789\"")
        .replace("level = \"campaign\"\n", "")
        .replace(
            "[\"date_start\", \"campaign_id\", \"impressions\"]",
            "[\"date\", \"sessions\"]",
        );
    test.write_query("ga4", &ga4);
    let file = test.path().join("queries/ga4.toml");

    let output = test.command(&["check"]).output().unwrap();

    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with(&format!(
            "{}:1:14: connection \"google-test\" never asks for the scope ga4 need \
             (\"https://www.googleapis.com/auth/analytics.readonly\"): its `scopes` in the config are \
             [\"openid\", \"email\", \"https://www.googleapis.com/auth/adwords\"]; add it there, then reconnect\n",
            file.display()
        )),
        "{stdout}"
    );
}

#[tokio::test]
async fn check_shows_every_problem_beside_an_unknown_key_and_a_syntax_error_with_a_caret() {
    let test = TestApp::new("2026-05-04T05:00:00Z").await;
    // Seven problems, one of them an unknown key: all seven are shown.
    let seven = GOOD
        .replace("level = ", "levle = ")
        .replace("\"act_1001\"", "\"1001\"")
        .replace("\"impressions\"", "\"impresions\"")
        .replace("\"yesterday\"", "\"yesteday\"")
        .replace("\"0 6 * * *\"", "\"61 6 * * *\"")
        .replace("\"UTC\"", "\"Europe/Berln\"")
        .replace("\"csv\"", "\"cvs\"");
    test.write_query("seven", &seven);
    std::fs::write(
        test.path().join("queries/Broken.TOML"),
        GOOD.replace("level = \"campaign\"", "level = \"campaign"),
    )
    .unwrap();
    std::fs::write(
        test.path().join("queries/feb30.toml"),
        GOOD.replace("0 6 * * *", "0 0 30 2 *").replace("good.csv", "feb30.csv"),
    )
    .unwrap();

    let output = test.command(&["check"]).output().unwrap();

    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let queries = test.path().join("queries");
    let seven_file = queries.join("seven.toml").display().to_string();
    let seven_lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with(&seven_file)).collect();
    // The seven, and "level" missing since its key is misspelt.
    assert_eq!(seven_lines.len(), 8, "{stdout}");
    assert!(seven_lines
        .iter()
        .any(|l| l.ends_with("unknown key \"levle\"; did you mean \"level\"?")));
    let broken = queries.join("Broken.TOML").display().to_string();
    let at = stdout
        .find(&format!("{broken}:3:18: invalid basic string"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let shown: Vec<&str> = stdout[at..].lines().take(3).collect();
    assert_eq!(shown[1], "    level = \"campaign");
    assert_eq!(shown[2], "                     ^");
    assert!(
        stdout.contains(&format!(
            "{}:8:8: warning: cron \"0 0 30 2 *\" never fires",
            queries.join("feb30.toml").display()
        )),
        "{stdout}"
    );
    assert!(stdout.contains(": 1 valid queries, 9 problems in 2 files."), "{stdout}");
}
