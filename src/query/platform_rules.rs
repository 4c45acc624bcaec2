//! Platform rules: the checks that depend on which platform a query reads — which of the
//! connection's platforms it is, the keys only one platform has, account id forms, the
//! field catalog and levels, breakdowns and filters.

use std::ops::Range;

use toml::Spanned;

use super::attribution;
use super::diagnostic::Checker;
use super::keys::check_list;
use super::suggest::{closest, unknown_name};
use super::{Filter, Level, Query};
use crate::config::ValidationContext;
use crate::platform::{ga4, google_ads, Platform, Provider};

/// Levels from coarsest to finest.
const LEVELS: [Level; 4] = [Level::Account, Level::Campaign, Level::Adset, Level::Ad];

fn parse_level(s: &str) -> Option<Level> {
    LEVELS.into_iter().find(|level| level.as_str() == s)
}

/// `accounts`: each id in the form the platform uses (`act_` + digits for Meta, ...).
pub(super) fn check_accounts(
    c: &mut Checker<'_>,
    accounts: Spanned<Vec<Spanned<String>>>,
    platform: Option<Platform>,
) -> Option<Vec<String>> {
    let if_empty = "accounts is empty: list at least one account id, e.g. \"act_1001\"";
    check_list(c, accounts, "account", Some(if_empty), |c, id, span| {
        if let Some(Err(message)) = platform.map(|p| p.check_account(id)) {
            c.at(span, message);
        }
    })
}

/// Which of the connection's platforms the query reads: the one it names, or the only one.
pub(super) fn check_platform(
    c: &mut Checker<'_>,
    named: Option<Spanned<String>>,
    provider: Provider,
) -> Option<Platform> {
    let served = provider.platforms();
    let names = || {
        served
            .iter()
            .map(|p| format!("{:?}", p.as_str()))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    match named {
        None if served.len() == 1 => Some(served[0]),
        None => {
            c.whole(format!(
                "missing key \"platform\": this query's connection ({}) serves {}; say which",
                provider.as_str(),
                names()
            ));
            None
        }
        Some(name) => {
            let platform = Platform::parse(name.get_ref()).filter(|p| served.contains(p));
            if platform.is_none() {
                c.at(
                    &name.span(),
                    format!(
                        "platform {:?} is not served by this query's connection ({}); expected {}",
                        name.get_ref(),
                        provider.as_str(),
                        names()
                    ),
                );
            }
            platform
        }
    }
}

/// `login_customer_id`: a Google Ads key, written like a Google Ads account id.
pub(super) fn check_login_customer_id(
    c: &mut Checker<'_>,
    id: Spanned<String>,
    platform: Option<Platform>,
) -> Option<String> {
    let id = only_for(c, id, "login_customer_id", platform, Platform::GoogleAds).ok()?;
    let checked = Platform::GoogleAds.check_account(id.get_ref());
    checked
        .map_err(|m| c.at(&id.span(), format!("login_customer_id: {m}")))
        .ok()?;
    Some(id.into_inner())
}

/// `level`: required where the platform has levels, refused where it has none (GA4, whose
/// rows are shaped by their dimensions) or where a raw GAQL query names its own resource.
pub(super) fn check_level(
    c: &mut Checker<'_>,
    level: Option<Spanned<String>>,
    platform: Option<Platform>,
    has_gaql: bool,
) -> Option<Level> {
    let needs_level = platform.is_none_or(|p| p.has_levels()) && !has_gaql;
    match level {
        None if !needs_level => Some(Level::Account),
        Some(level) if !needs_level => {
            let why = if has_gaql {
                "a gaql query names its resource after FROM"
            } else {
                "GA4 reports have no level; their dimensions (in fields) shape the rows"
            };
            c.at(&level.span(), format!("level does not apply here: {why}"));
            None
        }
        level => c.required(level, "level", None).and_then(|level| {
            let parsed = parse_level(level.get_ref());
            if parsed.is_none() {
                const LEVEL_NAMES: [&str; 4] = ["account", "campaign", "adset", "ad"];
                let otherwise = format!(", expected one of {}", LEVEL_NAMES.join(", "));
                c.at(
                    &level.span(),
                    unknown_name("level", level.get_ref(), "", &LEVEL_NAMES, &otherwise),
                );
            }
            parsed
        }),
    }
}

/// The columns, checked: a gaql query's SELECT list, or `fields` against the platform's
/// catalog. Second, the column names as written, which the append check needs even when
/// one of them is wrong.
pub(super) fn check_columns(
    c: &mut Checker<'_>,
    gaql: Option<&Spanned<String>>,
    fields: Option<Spanned<Vec<Spanned<String>>>>,
    platform: Option<Platform>,
    level: Option<Level>,
    windows: Option<&[String]>,
) -> (Option<Vec<String>>, Option<Vec<String>>) {
    let written = fields
        .as_ref()
        .map(|fields| fields.get_ref().iter().map(|f| f.get_ref().clone()).collect());
    let checked = match (gaql, fields) {
        (Some(gaql), None) => {
            let raw = super::gaql::check_raw(gaql.get_ref());
            let selected = raw.and_then(|()| super::gaql::select_list(gaql.get_ref()));
            let selected = selected.map_err(|m| c.at(&gaql.span(), format!("gaql: {m}"))).ok();
            return (selected.clone(), selected);
        }
        (Some(_), Some(fields)) => {
            c.at(
                &fields.span(),
                "fields does not apply with gaql: the columns are the gaql query's SELECT list",
            );
            None
        }
        (None, fields) => c
            .required(fields, "fields", None)
            .and_then(|fields| check_fields(c, fields, platform, level, windows)),
    };
    (checked, written)
}

/// `value` of `key`, which only `owner`'s queries may have; an error otherwise.
pub(super) fn only_for<T>(
    c: &mut Checker<'_>,
    value: Spanned<T>,
    key: &str,
    platform: Option<Platform>,
    owner: Platform,
) -> Result<Spanned<T>, ()> {
    match platform {
        Some(p) if p != owner => {
            c.at(
                &value.span(),
                format!(
                    "{key} applies to {} queries only; this query reads {}",
                    owner.as_str(),
                    p.as_str()
                ),
            );
            Err(())
        }
        // Without a known platform the mistake (if any) is already reported.
        None => Err(()),
        Some(_) => Ok(value),
    }
}

/// `filters`: each one as the platform accepts it.
pub(super) fn check_filters(
    c: &mut Checker<'_>,
    filters: Spanned<Vec<Spanned<Filter>>>,
    platform: Option<Platform>,
) -> Option<Vec<Filter>> {
    let before = c.found.len();
    for filter in filters.get_ref() {
        if let Some(Err(message)) = platform.map(|p| super::filters::check_filter(p, filter.get_ref())) {
            c.at(&filter.span(), format!("filter: {message}"));
        }
    }
    (c.found.len() == before).then(|| filters.into_inner().into_iter().map(Spanned::into_inner).collect())
}

/// `fields`: each one in the platform's catalog and available at the query's level; Meta's
/// action lists named per type, with `windows` (the query's attribution windows, `None` when
/// that key is wrong) as [`attribution::check_column`] says.
pub(super) fn check_fields(
    c: &mut Checker<'_>,
    fields: Spanned<Vec<Spanned<String>>>,
    platform: Option<Platform>,
    level: Option<Level>,
    windows: Option<&[String]>,
) -> Option<Vec<String>> {
    let if_empty = "fields is empty: list the columns to report, e.g. [\"date_start\", \"impressions\"]";
    let conflicts = unselectable_together(&fields, platform);
    let checked = check_list(c, fields, "field", Some(if_empty), |c, name, span| {
        // Without a known connection there is no catalog to check against; the unknown
        // connection is already reported.
        let Some(platform) = platform else { return };
        if platform == Platform::Ga4 && ga4::is_custom(name) {
            // Custom dimensions and metrics are the property's own: the run checks them
            // against its metadata.
            return;
        }
        // Meta's `actions:purchase` reads the field `actions`; a typo there keeps its `:purchase`.
        let field = attribution::column_field(platform, name);
        let Some(spec) = platform.field(field) else {
            let known: Vec<&str> = platform.fields().iter().map(|f| f.name).collect();
            let message = match closest(field, &known) {
                Some(guess) => format!(
                    "unknown field {name:?} for {}; did you mean \"{guess}{}\"?",
                    platform.as_str(),
                    &name[field.len()..]
                ),
                None => format!(
                    "unknown field {name:?} for {}; known fields: {}",
                    platform.as_str(),
                    known.join(", ")
                ),
            };
            c.at(span, message);
            return;
        };
        if let Err(message) = attribution::check_column(name, spec, windows) {
            c.at(span, message);
            return;
        }
        if let Some(level) = level.filter(|level| spec.min_level > *level && platform.has_levels()) {
            let fine_enough: Vec<String> = LEVELS
                .into_iter()
                .filter(|l| *l >= spec.min_level)
                .map(|l| format!("{:?}", l.as_str()))
                .collect();
            c.at(
                span,
                format!(
                    "field {name:?} needs level {}; this query's level is {:?}",
                    fine_enough.join(" or "),
                    level.as_str()
                ),
            );
        }
    });
    let clean = conflicts.is_empty();
    for (span, message) in conflicts {
        c.at(&span, message);
    }
    checked.filter(|_| clean)
}

/// Fields each in the catalog that the platform refuses to select together (Google Ads: a
/// conversion segment beside a metric it cannot split), with where each is written.
fn unselectable_together(
    fields: &Spanned<Vec<Spanned<String>>>,
    platform: Option<Platform>,
) -> Vec<(Range<usize>, String)> {
    if platform != Some(Platform::GoogleAds) {
        return Vec::new();
    }
    let names: Vec<&str> = fields.get_ref().iter().map(|f| f.get_ref().as_str()).collect();
    google_ads::unselectable(&names)
        .into_iter()
        .map(|(index, message)| (fields.get_ref()[index].span(), message))
        .collect()
}

/// `breakdowns`: each one a breakdown the platform offers.
pub(super) fn check_breakdowns(
    c: &mut Checker<'_>,
    breakdowns: Spanned<Vec<Spanned<String>>>,
    platform: Option<Platform>,
) -> Option<Vec<String>> {
    check_list(c, breakdowns, "breakdown", None, |c, name, span| {
        if let Some(platform) = platform.filter(|p| !p.breakdowns().contains(&name)) {
            let message = if platform.breakdowns().is_empty() {
                format!(
                    "{} has no breakdowns; list segments and dimensions such as {name:?} in fields",
                    platform.as_str()
                )
            } else {
                let context = format!(" for {}", platform.as_str());
                let otherwise = format!(", expected one of {}", platform.breakdowns().join(", "));
                unknown_name("breakdown", name, &context, platform.breakdowns(), &otherwise)
            };
            c.at(span, message);
        }
    })
}

/// A query whose login will never be granted a scope it needs: the connection's configured
/// `scopes` do not ask for it. At run time that pauses the query with advice to "reconnect
/// and allow it", which cannot work; here it is an error saying what to add. Reported at
/// `connection` for the platform's scope, at `output_at` for the Sheets scope of the output.
pub(super) fn check_scopes(
    c: &mut Checker<'_>,
    query: &Query,
    ctx: &ValidationContext,
    connection: &Spanned<String>,
    output_at: (usize, usize),
) {
    let needed = std::iter::once((query.connection.as_str(), query.platform.scope(), None)).chain(
        query
            .output
            .connection()
            .map(|writer| (writer, crate::platform::SHEETS_SCOPE, Some(output_at))),
    );
    for (id, scope, at) in needed {
        let Some(requested) = ctx.requested_scopes.get(id) else {
            continue;
        };
        if requested.iter().any(|s| s == scope) {
            continue;
        }
        let what = if at.is_some() {
            "google_sheets outputs"
        } else {
            query.platform.as_str()
        };
        let message = format!(
            "connection {id:?} never asks for the scope {what} need ({scope:?}): its `scopes` in the \
             config are [{}]; add it there, then reconnect",
            requested
                .iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        match at {
            Some((line, col)) => c.at_position(line, col, message),
            None => c.at(&connection.span(), message),
        }
    }
}
