//! How a platform's text cell becomes a Sheets cell (`CellData` with an `ExtendedValue`).
//!
//! Cells are typed here rather than by Sheets' `USER_ENTERED` parser: that parser follows the
//! spreadsheet's locale (in a German spreadsheet `12.30` becomes 1230) and turns `007`,
//! `1E5` or `=cmd` into something else. Writing `numberValue` / `stringValue` ourselves gives
//! the same result in every locale and never evaluates a formula from platform data.
//!
//! With [`ValueInput::UserEntered`]:
//! - a plain decimal (`-12.30`, `42`, no exponent, no leading zeros, at most 15 significant
//!   digits, so the f64 Sheets stores reads back as the same decimal) is a number, unless its
//!   column holds ids ([`is_id_column`]): ids are labels, and `1234567890123456789` would lose
//!   digits as a double;
//! - an ISO date `YYYY-MM-DD` is a date: its serial day number with a `yyyy-mm-dd` format;
//! - everything else is text.
//!
//! With [`ValueInput::Raw`] every cell is the platform's string as-is.

use chrono::NaiveDate;
use serde_json::{json, Value};

use super::ValueInput;

/// Significant digits a double holds for any decimal (`DBL_DIG`).
const MAX_EXACT_DIGITS: usize = 15;
/// The number format dates get, so they read as the platform wrote them.
pub(crate) const DATE_PATTERN: &str = "yyyy-mm-dd";
/// The `fields` mask of every cell write: the value and its number format (so a text cell
/// written over an old date loses the date format).
pub(crate) const CELL_FIELDS: &str = "userEnteredValue,userEnteredFormat.numberFormat";

/// A cell as it will be stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CellValue<'a> {
    /// No value (an empty platform string).
    Empty,
    /// Text, stored as `stringValue`.
    Text(&'a str),
    /// A number, stored as `numberValue`.
    Number(f64),
    /// A date, stored as its serial day number (days since 1899-12-30) with a date format.
    Date(i64),
}

/// How the cells of one column are typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnKind {
    /// Identifiers: always text.
    Id,
    /// Anything else: typed per cell.
    Value,
    /// The row-date column of an append: typed per cell, and a whole number read back from
    /// it is a date serial (a tab whose date format was lost still upserts by date).
    RowDate,
}

impl ColumnKind {
    /// The kind of the column named `name`.
    pub(crate) fn of(name: &str) -> Self {
        if is_id_column(name) {
            ColumnKind::Id
        } else {
            ColumnKind::Value
        }
    }
}

/// Whether a column holds ids: `id`, `campaign_id`, `campaign.id`, `ad id`, `campaignId`.
pub(crate) fn is_id_column(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower == "id" {
        return true;
    }
    if ["_id", ".id", " id", "-id"]
        .iter()
        .any(|suffix| lower.ends_with(suffix))
    {
        return true;
    }
    // camelCase: `campaignId`, not `paid` or `valid`.
    name.len() > 2 && name.ends_with("Id") && name[..name.len() - 2].ends_with(|c: char| c.is_ascii_lowercase())
}

/// Types one platform cell.
pub(crate) fn typed(text: &str, kind: ColumnKind, input: ValueInput) -> CellValue<'_> {
    if text.is_empty() {
        return CellValue::Empty;
    }
    if input == ValueInput::Raw || kind == ColumnKind::Id {
        return CellValue::Text(text);
    }
    if let Some(number) = plain_decimal(text) {
        return CellValue::Number(number);
    }
    if let Some(serial) = iso_date(text).map(date_serial) {
        return CellValue::Date(serial);
    }
    CellValue::Text(text)
}

/// The `CellData` JSON of a cell.
pub(crate) fn cell_data(value: &CellValue<'_>) -> Value {
    match value {
        CellValue::Empty => json!({}),
        CellValue::Text(text) => json!({"userEnteredValue": {"stringValue": text}}),
        CellValue::Number(number) => json!({"userEnteredValue": {"numberValue": number}}),
        CellValue::Date(serial) => json!({
            "userEnteredValue": {"numberValue": serial},
            "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": DATE_PATTERN}},
        }),
    }
}

/// The number of `text` if it is a plain decimal a double holds exactly as written.
fn plain_decimal(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (integer, fraction) = match unsigned.split_once('.') {
        Some((integer, fraction)) => (integer, Some(fraction)),
        None => (unsigned, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(integer) || fraction.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    // `007` is a code, not seven.
    if integer.len() > 1 && integer.starts_with('0') {
        return None;
    }
    let fraction = fraction.unwrap_or("").trim_end_matches('0');
    let digits = format!("{integer}{fraction}");
    if digits.trim_start_matches('0').len() > MAX_EXACT_DIGITS {
        return None;
    }
    text.parse().ok()
}

/// Parses exactly `YYYY-MM-DD`.
pub(crate) fn iso_date(text: &str) -> Option<NaiveDate> {
    if text.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// The day of a whole-number date serial within years 1900..=9999.
pub(crate) fn serial_date(serial: f64) -> Option<NaiveDate> {
    if serial.fract() != 0.0 || !(1.0..=2_958_465.0).contains(&serial) {
        return None;
    }
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30).expect("valid date");
    epoch.checked_add_days(chrono::Days::new(serial as u64))
}

/// A row date read back: the `yyyy-mm-dd` text of a formatted date, or a date serial.
pub(crate) fn read_date(value: &Value) -> Option<NaiveDate> {
    match value {
        Value::String(text) => iso_date(text),
        Value::Number(number) => serial_date(number.as_f64()?),
        _ => None,
    }
}

/// Sheets' serial day number of `day`: days since 1899-12-30.
pub(crate) fn date_serial(day: NaiveDate) -> i64 {
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30).expect("valid date");
    (day - epoch).num_days()
}

/// The `CellData` JSON that writes back a value read with `UNFORMATTED_VALUE` and
/// `FORMATTED_STRING` dates: a number is written as the very double Sheets returned (never
/// through text), a date comes as its `yyyy-mm-dd` display and is retyped like platform
/// text, as is any other string.
pub(crate) fn read_back(value: &Value, kind: ColumnKind, input: ValueInput) -> Value {
    let text = match value {
        Value::Number(number) => {
            return match (number.as_f64(), kind) {
                (Some(number), ColumnKind::RowDate) if serial_date(number).is_some() => {
                    cell_data(&CellValue::Date(number as i64))
                }
                (Some(number), _) => cell_data(&CellValue::Number(number)),
                (None, _) => cell_data(&CellValue::Text(&number.to_string())),
            }
        }
        Value::Null => return cell_data(&CellValue::Empty),
        Value::String(text) => text.clone(),
        Value::Bool(true) => "TRUE".into(),
        Value::Bool(false) => "FALSE".into(),
        other => other.to_string(),
    };
    cell_data(&typed(&text, kind, input))
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: ValueInput = ValueInput::UserEntered;

    #[test]
    fn id_columns_are_recognised_by_name() {
        for id in ["id", "ID", "campaign_id", "campaign.id", "Ad ID", "ad-id", "campaignId"] {
            assert!(is_id_column(id), "{id}");
        }
        for not_id in ["paid", "valid", "clicks", "Id2", "idea", "Id"] {
            assert_eq!(is_id_column(not_id), not_id == "Id", "{not_id}");
        }
    }

    #[test]
    fn plain_decimals_are_numbers_with_user_entered() {
        assert_eq!(typed("12.30", ColumnKind::Value, USER), CellValue::Number(12.3));
        assert_eq!(typed("-42", ColumnKind::Value, USER), CellValue::Number(-42.0));
        assert_eq!(typed("0.5", ColumnKind::Value, USER), CellValue::Number(0.5));
        assert_eq!(
            typed("123456789012345", ColumnKind::Value, USER),
            CellValue::Number(123_456_789_012_345.0)
        );
        assert_eq!(
            typed("1.23450000000000000", ColumnKind::Value, USER),
            CellValue::Number(1.2345)
        );
    }

    #[test]
    fn text_that_only_looks_numeric_stays_text() {
        for text in [
            "1234567890123456",
            "12345678901234567890",
            "007",
            "1e5",
            "+3",
            "1,000",
            "12.",
            ".5",
            "-",
            "NaN",
            "inf",
        ] {
            assert_eq!(typed(text, ColumnKind::Value, USER), CellValue::Text(text), "{text}");
        }
    }

    #[test]
    fn ids_stay_text_even_when_numeric() {
        assert_eq!(
            typed("120330000000000001", ColumnKind::Id, USER),
            CellValue::Text("120330000000000001")
        );
        assert_eq!(typed("42", ColumnKind::Id, USER), CellValue::Text("42"));
    }

    #[test]
    fn iso_dates_become_date_serials_with_a_date_format() {
        assert_eq!(typed("2025-03-01", ColumnKind::Value, USER), CellValue::Date(45717));
        assert_eq!(typed("1899-12-31", ColumnKind::Value, USER), CellValue::Date(1));
        assert_eq!(
            typed("2025-02-30", ColumnKind::Value, USER),
            CellValue::Text("2025-02-30")
        );
        assert_eq!(typed("2025-3-1", ColumnKind::Value, USER), CellValue::Text("2025-3-1"));
        assert_eq!(
            cell_data(&CellValue::Date(45717)),
            json!({"userEnteredValue": {"numberValue": 45717},
                   "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}}})
        );
    }

    #[test]
    fn raw_keeps_every_cell_as_the_platform_string() {
        for text in ["12.30", "2025-03-01", "=1+1", "42"] {
            assert_eq!(typed(text, ColumnKind::Value, ValueInput::Raw), CellValue::Text(text));
        }
        assert_eq!(typed("", ColumnKind::Value, ValueInput::Raw), CellValue::Empty);
    }

    #[test]
    fn cells_serialize_as_typed_extended_values() {
        assert_eq!(cell_data(&CellValue::Empty), json!({}));
        assert_eq!(
            cell_data(&CellValue::Text("=1+1")),
            json!({"userEnteredValue": {"stringValue": "=1+1"}})
        );
        assert_eq!(
            cell_data(&CellValue::Number(12.3)),
            json!({"userEnteredValue": {"numberValue": 12.3}})
        );
        assert_eq!(
            serde_json::to_string(&cell_data(&CellValue::Number(12.3))).unwrap(),
            r#"{"userEnteredValue":{"numberValue":12.3}}"#
        );
    }

    #[test]
    fn read_back_values_write_back_the_same_cell() {
        let value = ColumnKind::Value;
        assert_eq!(
            read_back(&json!(0.1 + 0.2), value, USER),
            json!({"userEnteredValue": {"numberValue": 0.1 + 0.2}})
        );
        assert_eq!(
            read_back(&json!(42), ColumnKind::Id, USER),
            json!({"userEnteredValue": {"numberValue": 42.0}})
        );
        assert_eq!(
            read_back(&json!("007"), value, USER),
            json!({"userEnteredValue": {"stringValue": "007"}})
        );
        assert_eq!(
            read_back(&json!("2025-03-01"), value, USER),
            cell_data(&CellValue::Date(45717))
        );
        assert_eq!(read_back(&json!(null), value, USER), json!({}));
        assert_eq!(
            read_back(&json!(45717), ColumnKind::RowDate, USER),
            cell_data(&CellValue::Date(45717))
        );
        assert_eq!(
            read_back(&json!(1.5), ColumnKind::RowDate, USER),
            json!({"userEnteredValue": {"numberValue": 1.5}})
        );
        assert_eq!(read_date(&json!(45717)), iso_date("2025-03-01"));
        assert_eq!(read_date(&json!("2025-03-01")), iso_date("2025-03-01"));
        assert_eq!(read_date(&json!("Total")), None);
        assert_eq!(read_date(&json!(-3)), None);
        assert_eq!(
            read_back(&json!(true), value, ValueInput::Raw),
            json!({"userEnteredValue": {"stringValue": "TRUE"}})
        );
    }
}
