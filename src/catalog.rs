//! `adsync fields`: a platform's field catalog, searched by words and shown as the columns a
//! query file writes. It works from the built-in catalogs alone (no config, no network), so
//! an analyst can look a field up before any connection exists.

use serde::Serialize;

use crate::platform::meta_ads::{ACTION_REPORT_TIMES, ATTRIBUTION_WINDOWS, BREAKDOWN_SPECS, COMMON_ACTION_TYPES};
use crate::platform::{FieldKind, FieldSpec, Level, Platform};
use crate::query::suggest::closest;

/// Every platform, in the order `adsync fields` names them.
const PLATFORMS: [Platform; 4] = [
    Platform::MetaAds,
    Platform::GoogleAds,
    Platform::Ga4,
    Platform::LinkedinAds,
];

/// Levels from coarsest to finest.
const LEVELS: [Level; 4] = [Level::Account, Level::Campaign, Level::Adset, Level::Ad];

/// One field (or Meta breakdown) as a query file names it; the `--json` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The platform's name for it.
    pub name: &'static str,
    /// What to write in the query file: the name, or `actions:<action_type>` for an action list.
    pub column: String,
    /// The query key it goes in: `fields` or `breakdowns`.
    pub key: &'static str,
    /// One line from the platform's reference.
    pub description: &'static str,
    /// `integer`, `money`, `action list`, `breakdown`, …
    pub kind: &'static str,
    /// The query levels it works at; empty where the platform has no levels (GA4).
    pub levels: Vec<&'static str>,
    /// Columns to copy, for action lists (`actions:purchase`, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
}

/// Why there is no catalog to show.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The name is not one of the platforms.
    #[error("unknown platform {name:?}{hint}; expected one of meta_ads, google_ads, ga4, linkedin_ads")]
    UnknownPlatform {
        /// The name given.
        name: String,
        /// `; did you mean "…"?` when a platform is close.
        hint: String,
    },
}

/// The entries of `platform` whose name or description contains every one of `words`
/// (case-insensitive), in catalog order: fields, then breakdowns.
pub fn search(platform: &str, words: &[String]) -> Result<Vec<Entry>, CatalogError> {
    let Some(platform) = Platform::parse(platform) else {
        let names = PLATFORMS.map(Platform::as_str);
        // A typo, or the start of a name ("meta", "google").
        let hint = closest(platform, &names)
            .or_else(|| {
                names
                    .into_iter()
                    .find(|n| !platform.is_empty() && n.starts_with(platform))
            })
            .map(|guess| format!("; did you mean {guess:?}?"))
            .unwrap_or_default();
        return Err(CatalogError::UnknownPlatform {
            name: platform.to_string(),
            hint,
        });
    };
    let words: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let matches = |spec: &FieldSpec| {
        let (name, about) = (spec.name.to_lowercase(), spec.about.to_lowercase());
        words.iter().all(|w| name.contains(w) || about.contains(w))
    };
    let fields = platform
        .fields()
        .iter()
        .filter(|spec| matches(spec))
        .map(|spec| field_entry(platform, spec));
    let breakdowns = match platform {
        Platform::MetaAds => BREAKDOWN_SPECS,
        Platform::GoogleAds | Platform::Ga4 | Platform::LinkedinAds => &[],
    };
    let breakdowns = breakdowns.iter().filter(|spec| matches(spec)).map(|spec| Entry {
        name: spec.name,
        column: spec.name.to_string(),
        key: "breakdowns",
        description: spec.about,
        kind: "breakdown",
        levels: LEVELS.map(Level::as_str).to_vec(),
        examples: Vec::new(),
    });
    Ok(fields.chain(breakdowns).collect())
}

fn field_entry(platform: Platform, spec: &FieldSpec) -> Entry {
    let levels = if platform.has_levels() {
        LEVELS
            .into_iter()
            .filter(|level| *level >= spec.min_level)
            .map(Level::as_str)
            .collect()
    } else {
        Vec::new()
    };
    let is_list = spec.kind == FieldKind::ActionList;
    Entry {
        name: spec.name,
        column: if is_list {
            format!("{}:<action_type>", spec.name)
        } else {
            spec.name.to_string()
        },
        key: "fields",
        description: spec.about,
        kind: spec.kind.as_str(),
        levels,
        examples: if is_list {
            COMMON_ACTION_TYPES[..3]
                .iter()
                .map(|t| format!("{}:{t}", spec.name))
                .collect()
        } else {
            Vec::new()
        },
    }
}

/// `entries` as an aligned table (lines cut to `width` when given), with how action-list
/// columns are named when any is shown.
pub fn to_table(entries: &[Entry], width: Option<usize>) -> String {
    let levels = |entry: &Entry| match entry.levels.as_slice() {
        [] => "-".to_string(),
        [only] => (*only).to_string(),
        all if all.len() == LEVELS.len() => "any".to_string(),
        [first, ..] => format!("{first}+"),
    };
    let rows: Vec<[String; 4]> = entries
        .iter()
        .map(|e| {
            let column = match e.key {
                "breakdowns" => format!("{} (breakdown)", e.column),
                _ => e.column.clone(),
            };
            [column, e.kind.to_string(), levels(e), e.description.to_string()]
        })
        .collect();
    let mut lines: Vec<Vec<&str>> = vec![vec!["COLUMN", "KIND", "LEVEL", "DESCRIPTION"]];
    lines.extend(rows.iter().map(|row| row.iter().map(String::as_str).collect()));
    let mut out = crate::table::aligned(&lines, width);
    if entries.iter().any(|e| e.kind == FieldKind::ActionList.as_str()) {
        out.push_str(&format!(
            "\nAction lists take one column per action type: field:<action_type>, or field:<action_type>:<window>\n\
             with the window listed in action_attribution_windows; a type a row lacks is an empty cell.\n\
             Common action types: {}\n\
             Windows: {}\n\
             action_report_time: {}\n",
            COMMON_ACTION_TYPES.join(", "),
            ATTRIBUTION_WINDOWS.join(", "),
            ACTION_REPORT_TIMES.join(", "),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn every_word_must_match_a_name_or_description_case_insensitively() {
        let found = search("meta_ads", &words("PURCHASE roas")).unwrap();
        let names: Vec<&str> = found.iter().map(|e| e.name).collect();
        assert!(names.contains(&"purchase_roas"), "{names:?}");
        assert!(names.contains(&"website_purchase_roas"), "{names:?}");
        assert!(!names.contains(&"actions"), "{names:?}");
        assert!(found.iter().all(|e| e.kind == "action list"));
        let all = search("meta_ads", &[]).unwrap();
        assert_eq!(all.len(), 206 + 89);
    }

    #[test]
    fn action_lists_show_the_column_to_write_and_breakdowns_their_key() {
        let actions = search("meta_ads", &words("actions")).unwrap();
        let entry = actions.iter().find(|e| e.name == "actions").unwrap();
        assert_eq!(entry.column, "actions:<action_type>");
        assert_eq!(entry.examples[0], "actions:purchase");
        assert_eq!(entry.levels, ["account", "campaign", "adset", "ad"]);
        let age = search("meta_ads", &words("age")).unwrap();
        let age = age.iter().find(|e| e.name == "age").unwrap();
        assert_eq!((age.key, age.kind), ("breakdowns", "breakdown"));
        let ranking = &search("meta_ads", &words("quality_ranking")).unwrap()[0];
        assert_eq!(ranking.levels, ["ad"]);
    }

    #[test]
    fn an_unknown_platform_gets_a_suggestion() {
        let error = search("meta", &[]).unwrap_err().to_string();
        assert_eq!(
            error,
            "unknown platform \"meta\"; did you mean \"meta_ads\"?; expected one of meta_ads, google_ads, ga4, linkedin_ads"
        );
        let error = search("meta_add", &[]).unwrap_err().to_string();
        assert!(error.contains("did you mean \"meta_ads\"?"), "{error}");
    }

    #[test]
    fn the_table_aligns_and_explains_action_columns() {
        let table = to_table(&search("meta_ads", &words("cost_per_unique_click")).unwrap(), None);
        assert_eq!(
            table,
            "COLUMN                 KIND   LEVEL  DESCRIPTION\n\
             cost_per_unique_click  money  any    Average cost per unique click.\n"
        );
        let table = to_table(&search("meta_ads", &words("purchase_roas")).unwrap(), Some(60));
        assert!(
            table.lines().nth(1).unwrap().starts_with("purchase_roas:<action_type>"),
            "{table}"
        );
        assert!(table.contains("Windows: 1d_click, 7d_click"), "{table}");
        assert!(table.lines().take(4).all(|l| l.chars().count() <= 60), "{table}");
    }
}
