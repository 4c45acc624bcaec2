//! Output checks: `[output]` as a CSV file inside `output_dir` or a Google Sheets tab, its
//! write mode, and the connection that writes a sheet.

use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use toml::Spanned;

use super::diagnostic::Checker;
use super::raw::RawOutput;
use super::sheets::{check_sheet_name, check_start_cell, SheetsTarget, ValueInput};
use super::suggest::unknown_name;
use super::{Output, WriteMode};
use crate::config::ValidationContext;
use crate::platform::{Platform, Provider};

/// `[output]`: its kind, its mode, then the keys of that kind. Also returns where the
/// output is named, for the duplicate-output check.
pub(super) fn check_output(
    c: &mut Checker<'_>,
    output: Spanned<RawOutput>,
    ctx: &ValidationContext,
    query_connection: Option<&str>,
    platform: Option<Platform>,
    fields: Option<&[String]>,
) -> Option<(Output, (usize, usize))> {
    let table = output.span();
    let raw = output.into_inner();
    let sheets = match &raw.kind {
        None => false,
        Some(kind) if kind.get_ref() == "csv" => false,
        Some(kind) if kind.get_ref() == "google_sheets" => true,
        Some(kind) => {
            c.at(
                &kind.span(),
                format!(
                    "unknown output kind {:?}, expected csv or google_sheets",
                    kind.get_ref()
                ),
            );
            return None;
        }
    };
    let mode = check_mode(c, raw.mode.as_ref(), platform, fields);
    if sheets {
        check_sheets_output(c, raw, &table, ctx, query_connection, mode?)
    } else {
        check_csv_output(c, raw, &table, ctx, mode?)
    }
}

/// `mode`: `replace` (the default) or `append`, which upserts by the row date and so needs
/// the platform's row-date field among the columns.
fn check_mode(
    c: &mut Checker<'_>,
    mode: Option<&Spanned<String>>,
    platform: Option<Platform>,
    fields: Option<&[String]>,
) -> Option<WriteMode> {
    let Some(mode) = mode else {
        return Some(WriteMode::Replace);
    };
    match mode.get_ref().as_str() {
        "replace" => Some(WriteMode::Replace),
        "append" => {
            let row_date = platform.and_then(|p| p.fields().iter().find(|f| f.is_row_date));
            if let (Some(row_date), Some(fields)) = (row_date, fields) {
                // Empty fields has its own diagnostic.
                if !fields.is_empty() && !fields.iter().any(|f| f == row_date.name) {
                    c.at(
                        &mode.span(),
                        format!("append mode upserts rows by date: add {:?} to fields", row_date.name),
                    );
                }
            }
            Some(WriteMode::Append)
        }
        other => {
            c.at(
                &mode.span(),
                format!("unknown output mode {other:?}, expected replace or append"),
            );
            None
        }
    }
}

/// The keys of a `csv` output: `path` inside `output_dir`, nothing of Sheets.
fn check_csv_output(
    c: &mut Checker<'_>,
    raw: RawOutput,
    table: &Range<usize>,
    ctx: &ValidationContext,
    mode: WriteMode,
) -> Option<(Output, (usize, usize))> {
    let sheets_keys = [
        ("spreadsheet_id", raw.spreadsheet_id.map(|v| v.span())),
        ("sheet", raw.sheet.map(|v| v.span())),
        ("start_cell", raw.start_cell.map(|v| v.span())),
        ("value_input", raw.value_input.map(|v| v.span())),
        ("connection", raw.connection.map(|v| v.span())),
    ];
    for (key, span) in sheets_keys {
        if let Some(span) = span {
            c.at(
                &span,
                format!("{key} is for kind = \"google_sheets\" outputs; this one writes a CSV file"),
            );
        }
    }
    let path = c.required(raw.path, "path", Some(table))?;
    let at = c.pos(&path.span());
    let relative = match normalize_relative(path.get_ref()) {
        Ok(relative) => relative,
        Err(why) => {
            c.at(&path.span(), format!("output path {:?} {why}", path.get_ref()));
            return None;
        }
    };
    let output_dir = std::path::absolute(&ctx.output_dir).unwrap_or_else(|_| ctx.output_dir.clone());
    Some((
        Output::Csv {
            path: output_dir.join(relative),
            mode,
        },
        at,
    ))
}

/// The keys of a `google_sheets` output: spreadsheet, tab, start cell, typing and the
/// Google connection that writes.
fn check_sheets_output(
    c: &mut Checker<'_>,
    raw: RawOutput,
    table: &Range<usize>,
    ctx: &ValidationContext,
    query_connection: Option<&str>,
    mode: WriteMode,
) -> Option<(Output, (usize, usize))> {
    if let Some(path) = &raw.path {
        c.at(
            &path.span(),
            "path is for csv outputs; a google_sheets output names spreadsheet_id and sheet",
        );
    }
    let before = c.found.len();
    let connection = sheets_writer(c, raw.connection, table, ctx, query_connection);
    let spreadsheet_id = c
        .required(raw.spreadsheet_id, "spreadsheet_id", Some(table))
        .filter(|id| check_spreadsheet_id(c, id));
    let sheet = c.required(raw.sheet, "sheet", Some(table)).filter(|sheet| {
        let checked = check_sheet_name(sheet.get_ref());
        checked.map_err(|m| c.at(&sheet.span(), m)).is_ok()
    });
    let start_cell = raw.start_cell.filter(|cell| {
        let checked = check_start_cell(cell.get_ref());
        checked
            .map_err(|m| c.at(&cell.span(), format!("start_cell {:?}: {m}", cell.get_ref())))
            .is_ok()
    });
    let value_input = check_value_input(c, raw.value_input.as_ref());
    if c.found.len() != before {
        return None;
    }
    let (connection, spreadsheet_id, sheet, value_input) = (connection?, spreadsheet_id?, sheet?, value_input?);
    let at = c.pos(&spreadsheet_id.span());
    Some((
        Output::GoogleSheets(SheetsTarget {
            connection,
            spreadsheet_id: spreadsheet_id.into_inner(),
            sheet: sheet.into_inner(),
            start_cell: start_cell.map(Spanned::into_inner),
            mode,
            value_input,
        }),
        at,
    ))
}

/// Whether a connection of this provider can write Sheets.
fn writes_sheets(provider: Provider) -> bool {
    matches!(provider, Provider::Google | Provider::GoogleServiceAccount)
}

/// The connection that writes the sheet: the one named in `[output]`, else the query's own
/// when that is a Google one.
fn sheets_writer(
    c: &mut Checker<'_>,
    named: Option<Spanned<String>>,
    table: &Range<usize>,
    ctx: &ValidationContext,
    query_connection: Option<&str>,
) -> Option<String> {
    match named {
        Some(named) => match ctx.connections.get(named.get_ref()).copied() {
            Some(provider) if writes_sheets(provider) => Some(named.into_inner()),
            Some(provider) => {
                c.at(
                    &named.span(),
                    format!(
                        "connection {:?} is a {} login; Sheets are written by a google or google_service_account connection",
                        named.get_ref(),
                        provider.as_str()
                    ),
                );
                None
            }
            None => {
                let mut known: Vec<&str> = ctx.connections.keys().map(String::as_str).collect();
                known.sort_unstable();
                c.at(
                    &named.span(),
                    unknown_name("connection", named.get_ref(), "", &known, ""),
                );
                None
            }
        },
        None => match query_connection {
            Some(own) if ctx.connections.get(own).copied().is_some_and(writes_sheets) => Some(own.to_string()),
            // The query's own connection is unknown: already reported.
            Some(own) if !ctx.connections.contains_key(own) => None,
            _ => {
                c.at(
                    table,
                    "missing key \"connection\" in [output]: name the google connection (or service account) that writes the sheet",
                );
                None
            }
        },
    }
}

/// Whether `id` looks like a spreadsheet id (URL-safe characters); reports it when not.
fn check_spreadsheet_id(c: &mut Checker<'_>, id: &Spanned<String>) -> bool {
    let ok = !id.get_ref().is_empty()
        && id
            .get_ref()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        c.at(
            &id.span(),
            format!(
                "spreadsheet_id {:?} is not a spreadsheet id: copy the part between /d/ and /edit from its URL",
                id.get_ref()
            ),
        );
    }
    ok
}

/// `value_input`: `user_entered` (the default) or `raw`.
fn check_value_input(c: &mut Checker<'_>, input: Option<&Spanned<String>>) -> Option<ValueInput> {
    let Some(input) = input else {
        return Some(ValueInput::UserEntered);
    };
    match input.get_ref().as_str() {
        "user_entered" => Some(ValueInput::UserEntered),
        "raw" => Some(ValueInput::Raw),
        other => {
            c.at(
                &input.span(),
                format!("unknown value_input {other:?}, expected user_entered or raw"),
            );
            None
        }
    }
}

/// Resolves `.` and `..` without touching the disk (output_dir may not exist yet) and
/// refuses anything that would land outside output_dir.
fn normalize_relative(written: &str) -> Result<PathBuf, &'static str> {
    if written.trim().is_empty() {
        return Err("is empty: name a file such as \"reports/daily.csv\"");
    }
    if written.ends_with(['/', '\\']) {
        // `Path` drops a trailing slash: "reports/" would write a file named `reports`.
        return Err("names a directory; name a file inside it, e.g. \"reports/daily.csv\"");
    }
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in Path::new(written).components() {
        match component {
            Component::Prefix(_) | Component::RootDir => {
                return Err("must be relative to output_dir, e.g. \"reports/daily.csv\"")
            }
            Component::CurDir => {}
            Component::ParentDir => {
                if parts.pop().is_none() {
                    return Err("leaves output_dir through \"..\"; outputs must stay inside it");
                }
            }
            Component::Normal(part) => parts.push(part),
        }
    }
    if parts.is_empty() {
        return Err("names no file inside output_dir");
    }
    Ok(parts.iter().collect())
}
