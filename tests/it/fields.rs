//! `adsync fields`: the catalog through the binary, with no config and no network.

use std::process::{Command, Output};

fn fields(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_adsync"))
        .arg("fields")
        .args(args)
        .env_remove("ADSYNC_CONFIG")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn fields_searches_the_catalog_by_words_and_shows_the_column_to_write() {
    let output = fields(&["meta_ads", "purchase", "roas"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("COLUMN"), "{text}");
    let roas = lines
        .iter()
        .find(|l| l.starts_with("purchase_roas:<action_type> "))
        .unwrap();
    let cells: Vec<&str> = roas.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(
        cells,
        [
            "purchase_roas:<action_type>",
            "action list",
            "any",
            "Return on ad spend of all purchases (value / spend)."
        ]
    );
    assert!(text.contains("Common action types: purchase, omni_purchase"), "{text}");
    // Not a terminal: whole lines, never cut.
    assert!(!text.contains('…'), "{text}");
}

#[test]
fn fields_json_is_an_array_of_entries_with_levels_and_examples() {
    let output = fields(&["meta_ads", "actions", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let actions = entries.iter().find(|e| e["name"] == "actions").unwrap();
    assert_eq!(
        actions,
        &serde_json::json!({
            "name": "actions",
            "column": "actions:<action_type>",
            "key": "fields",
            "description": "Actions people took that are attributed to the ads (purchases, leads, link clicks, …), per action type.",
            "kind": "action list",
            "levels": ["account", "campaign", "adset", "ad"],
            "examples": ["actions:purchase", "actions:omni_purchase", "actions:offsite_conversion.fb_pixel_purchase"],
        })
    );
    let output = fields(&["meta_ads", "age", "--json"]);
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let age = entries.iter().find(|e| e["name"] == "age").unwrap();
    assert_eq!(age["key"], "breakdowns");
    assert_eq!(age["kind"], "breakdown");
    assert!(age.get("examples").is_none());
}

#[test]
fn fields_lists_every_platform_and_says_when_nothing_matches() {
    for platform in ["google_ads", "ga4", "linkedin_ads"] {
        let output = fields(&[platform, "--json"]);
        assert_eq!(output.status.code(), Some(0), "{platform}: {output:?}");
        let entries: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
        assert!(!entries.is_empty(), "{platform}");
    }
    let output = fields(&["meta_ads", "no-such-thing"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "No meta_ads field matches \"no-such-thing\".\n");
    let output = fields(&["ga4", "no-such-thing", "--json"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output).trim(), "[]");
}

#[test]
fn fields_of_an_unknown_platform_exits_2_with_a_suggestion() {
    let output = fields(&["meta"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: unknown platform \"meta\"; did you mean \"meta_ads\"?; expected one of meta_ads, google_ads, ga4, linkedin_ads\n"
    );
}
