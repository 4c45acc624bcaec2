//! Meta's action-list columns and the keys that shape them: `action_attribution_windows`,
//! `action_report_time`, and columns written `field:type[:window]`
//! (`actions:offsite_conversion.fb_pixel_purchase`, `action_values:purchase:7d_click`).

use toml::Spanned;

use super::diagnostic::Checker;
use super::keys::check_list;
use super::platform_rules::only_for;
use super::suggest::closest;
use crate::platform::meta_ads::{self, ActionColumn, ACTION_REPORT_TIMES, ATTRIBUTION_WINDOWS};
use crate::platform::{FieldKind, FieldSpec, Platform};

/// `action_attribution_windows`: Meta only, each a documented window.
pub(super) fn check_windows(
    c: &mut Checker<'_>,
    windows: Spanned<Vec<Spanned<String>>>,
    platform: Option<Platform>,
) -> Option<Vec<String>> {
    let windows = only_for(c, windows, "action_attribution_windows", platform, Platform::MetaAds).ok()?;
    let if_empty = "action_attribution_windows is empty: list windows such as [\"7d_click\", \"1d_view\"], \
                    or leave the key out for the account's attribution setting";
    check_list(c, windows, "attribution window", Some(if_empty), |c, window, span| {
        if !ATTRIBUTION_WINDOWS.contains(&window) {
            c.at(span, unknown("attribution window", window, ATTRIBUTION_WINDOWS));
        }
    })
}

/// `action_report_time`: Meta only, one of the documented values.
pub(super) fn check_report_time(
    c: &mut Checker<'_>,
    report_time: Spanned<String>,
    platform: Option<Platform>,
) -> Option<String> {
    let report_time = only_for(c, report_time, "action_report_time", platform, Platform::MetaAds).ok()?;
    if !ACTION_REPORT_TIMES.contains(&report_time.get_ref().as_str()) {
        c.at(
            &report_time.span(),
            unknown("action_report_time", report_time.get_ref(), ACTION_REPORT_TIMES),
        );
        return None;
    }
    Some(report_time.into_inner())
}

fn unknown(what: &str, name: &str, known: &[&str]) -> String {
    match closest(name, known) {
        Some(guess) => format!("unknown {what} {name:?}; did you mean {guess:?}?"),
        None => format!("unknown {what} {name:?}, expected one of {}", known.join(", ")),
    }
}

/// The catalog field a column of `platform` reads: for Meta, `actions` of
/// `actions:purchase:7d_click`; elsewhere the column itself.
pub(super) fn column_field(platform: Platform, column: &str) -> &str {
    match platform {
        Platform::MetaAds => meta_ads::column_field(column),
        Platform::GoogleAds | Platform::Ga4 | Platform::LinkedinAds => column,
    }
}

/// Why `column` (whose field is `spec`) is not a column of a query with attribution
/// `windows`, if it is not: an action list needs `:type`, only action lists take one, and a
/// window must be one the query asks for (`None`: the windows key is wrong, already reported).
pub(super) fn check_column(column: &str, spec: &FieldSpec, windows: Option<&[String]>) -> Result<(), String> {
    let is_list = spec.kind == FieldKind::ActionList;
    let Some(parts) = ActionColumn::parse(column) else {
        if is_list {
            return Err(format!(
                "{column:?} is a list per action type: name one column per type, e.g. \"{column}:purchase\" or \
                 \"{column}:offsite_conversion.fb_pixel_purchase\" (adsync fields meta_ads {column})"
            ));
        }
        return Ok(());
    };
    if !is_list {
        return Err(format!(
            "{:?} is a single value, not a list per action type: write {:?} without \":{}\"",
            parts.field,
            parts.field,
            &column[parts.field.len() + 1..]
        ));
    }
    if parts.action_type.is_empty() {
        return Err(format!(
            "{column:?} names no action type: write \"{}:<action_type>\", e.g. \"{}:purchase\"",
            parts.field, parts.field
        ));
    }
    let (Some(window), Some(windows)) = (parts.window, windows) else {
        return Ok(());
    };
    if windows.iter().any(|w| w == window) {
        return Ok(());
    }
    Err(if windows.is_empty() {
        format!(
            "{column:?} names the attribution window {window:?}, which needs \
             action_attribution_windows = [{window:?}] in the query"
        )
    } else {
        format!(
            "{column:?} names the attribution window {window:?}, which is not in action_attribution_windows ({})",
            windows.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Level;

    fn spec(name: &str) -> &'static FieldSpec {
        Platform::MetaAds.field(name).unwrap()
    }

    #[test]
    fn an_action_list_needs_a_type_and_says_how_to_name_it() {
        let error = check_column("actions", spec("actions"), Some(&[])).unwrap_err();
        assert!(error.contains("\"actions:purchase\""), "{error}");
        assert!(check_column("actions:purchase", spec("actions"), Some(&[])).is_ok());
        let error = check_column("actions:", spec("actions"), Some(&[])).unwrap_err();
        assert!(error.contains("names no action type"), "{error}");
    }

    #[test]
    fn a_single_value_takes_no_type() {
        let error = check_column("spend:purchase", spec("spend"), Some(&[])).unwrap_err();
        assert_eq!(
            error,
            "\"spend\" is a single value, not a list per action type: write \"spend\" without \":purchase\""
        );
        assert!(check_column("spend", spec("spend"), Some(&[])).is_ok());
    }

    #[test]
    fn a_window_must_be_one_the_query_asks_for() {
        let windows = ["7d_click".to_string(), "1d_view".to_string()];
        assert!(check_column("actions:purchase:7d_click", spec("actions"), Some(&windows)).is_ok());
        let error = check_column("actions:purchase:28d_click", spec("actions"), Some(&windows)).unwrap_err();
        assert!(
            error.contains("not in action_attribution_windows (7d_click, 1d_view)"),
            "{error}"
        );
        let error = check_column("actions:purchase:7d_click", spec("actions"), Some(&[])).unwrap_err();
        assert!(
            error.contains("needs action_attribution_windows = [\"7d_click\"]"),
            "{error}"
        );
        // A wrong windows key is reported once, at the key.
        assert!(check_column("actions:purchase:28d_click", spec("actions"), None).is_ok());
    }

    #[test]
    fn only_meta_columns_have_a_field_part() {
        assert_eq!(column_field(Platform::MetaAds, "actions:purchase:7d_click"), "actions");
        assert_eq!(column_field(Platform::Ga4, "customEvent:plan"), "customEvent:plan");
        assert_eq!(spec("quality_ranking").min_level, Level::Ad);
    }
}
