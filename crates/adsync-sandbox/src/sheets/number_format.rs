//! Number formats in the formatted view: how `FORMATTED_VALUE` shows a number whose cell
//! has a `userEnteredFormat.numberFormat`, as the real API does for an `en_US` spreadsheet
//! (a date written as a serial number with pattern `yyyy-mm-dd` reads back `2026-11-26`).
//!
//! The pattern syntax is Google's, from "Date and number formats"
//! (https://developers.google.com/workspace/sheets/api/guides/formats): date tokens `d dd
//! ddd dddd`, `m mm mmm mmmm mmmmm` (minutes when after an hour or before seconds), `y yy
//! yyyy`, `h hh`, `s ss`, `AM/PM`, `a/p`; number tokens `0` (a digit, zero shown), `#` (a
//! digit, insignificant zeros not shown), `.`, `,` between digits (thousands), `%` (times
//! 100); `"text"` and `\c` literal; `;` separates the positive and negative sections. A
//! pattern-less format takes its type's default (`DATE` `M/d/yyyy`, `NUMBER` `#,##0.00`,
//! `PERCENT` `0.00%`, as the guide's en_US examples). Not modelled: `?`, fractions,
//! scientific `E+`, colours and conditions (`[Red]`, `[>100]`), the `@` text section.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};
use serde_json::Value;

/// A cell's `numberFormat`: its type and pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberFormat {
    kind: String,
    pattern: String,
}

impl NumberFormat {
    /// The `numberFormat` object of a `CellFormat`, if it names a type.
    pub fn from_json(format: &Value) -> Option<Self> {
        let kind = format.get("type")?.as_str()?.to_string();
        let pattern = format.get("pattern").and_then(Value::as_str).unwrap_or_default();
        let pattern = match (pattern, kind.as_str()) {
            ("", "DATE") => "M/d/yyyy",
            ("", "TIME") => "h:mm:ss AM/PM",
            ("", "DATE_TIME") => "M/d/yyyy H:mm:ss",
            ("", "NUMBER") => "#,##0.00",
            ("", "PERCENT") => "0.00%",
            ("", "CURRENCY") => "\"$\"#,##0.00",
            ("", "SCIENTIFIC") | ("", "TEXT") | ("", _) => "",
            (pattern, _) => pattern,
        };
        Some(Self {
            kind,
            pattern: pattern.to_string(),
        })
    }

    /// `value` as the formatted view shows it; `None` when the pattern is empty (the
    /// "Automatic" rendering applies).
    pub fn render(&self, value: f64) -> Option<String> {
        if self.pattern.is_empty() {
            return None;
        }
        match self.kind.as_str() {
            "DATE" | "TIME" | "DATE_TIME" => render_date(&self.pattern, value),
            _ => Some(render_number(&self.pattern, value)),
        }
    }
}

/// One piece of a pattern: a literal, or a token of letters (date) or placeholders (number).
#[derive(Debug, PartialEq)]
enum Piece {
    Literal(String),
    Token(String),
}

/// Splits `pattern` into literals (quoted text, `\c`, other characters), the meridiem
/// markers `AM/PM` and `a/p`, and runs of one token letter (`yyyy`, `mm`).
fn pieces(pattern: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        let marker = ["AM/PM", "a/p"].into_iter().find(|m| rest.starts_with(m));
        let (piece, len) = match c {
            _ if marker.is_some() => {
                let marker = marker.unwrap_or_default();
                (Piece::Token(marker.to_string()), marker.len())
            }
            '"' => {
                let text: String = rest[1..].chars().take_while(|&c| c != '"').collect();
                let closed = rest[1 + text.len()..].starts_with('"');
                let len = 1 + text.len() + usize::from(closed);
                (Piece::Literal(text), len)
            }
            '\\' => {
                let next = rest[1..].chars().next();
                (
                    Piece::Literal(next.map(String::from).unwrap_or_default()),
                    1 + next.map_or(0, char::len_utf8),
                )
            }
            c if "dmyhsDMYHS".contains(c) => {
                let run = rest.chars().take_while(|n| n.eq_ignore_ascii_case(&c)).count();
                (Piece::Token(c.to_ascii_lowercase().to_string().repeat(run)), run)
            }
            c => (Piece::Literal(c.to_string()), c.len_utf8()),
        };
        out.push(piece);
        rest = &rest[len..];
    }
    out
}

/// A date/time serial number (days since 1899-12-30, the fraction the time of day) in
/// `pattern`.
fn render_date(pattern: &str, serial: f64) -> Option<String> {
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?.and_hms_opt(0, 0, 0)?;
    let seconds = (serial * 86_400.0).round();
    if !seconds.is_finite() || seconds.abs() > 1e12 {
        return None;
    }
    let at: NaiveDateTime = epoch.checked_add_signed(Duration::seconds(seconds as i64))?;
    let pieces = pieces(pattern);
    let twelve_hour = pieces
        .iter()
        .any(|p| matches!(p, Piece::Token(t) if t == "AM/PM" || t == "a/p"));
    let mut out = String::new();
    for (i, piece) in pieces.iter().enumerate() {
        let token = match piece {
            Piece::Literal(text) => {
                out.push_str(text);
                continue;
            }
            Piece::Token(token) => token.as_str(),
        };
        // `m`/`mm` are minutes right after an hour or right before seconds.
        let neighbour = |step: isize| {
            let mut j = i as isize + step;
            while let Some(p) = usize::try_from(j).ok().and_then(|j| pieces.get(j)) {
                if let Piece::Token(t) = p {
                    return Some(t.chars().next().unwrap_or_default());
                }
                j += step;
            }
            None
        };
        let minutes = neighbour(-1) == Some('h') || neighbour(1) == Some('s');
        let hour = if twelve_hour {
            (at.hour() + 11) % 12 + 1
        } else {
            at.hour()
        };
        let text = match token {
            "d" => at.day().to_string(),
            "dd" => format!("{:02}", at.day()),
            "ddd" => at.format("%a").to_string(),
            "dddd" => at.format("%A").to_string(),
            "m" if minutes => at.minute().to_string(),
            "mm" if minutes => format!("{:02}", at.minute()),
            "m" => at.month().to_string(),
            "mm" => format!("{:02}", at.month()),
            "mmm" => at.format("%b").to_string(),
            "mmmmm" => at.format("%B").to_string().chars().take(1).collect(),
            t if t.starts_with("mmmm") => at.format("%B").to_string(),
            "y" | "yy" => format!("{:02}", at.year().rem_euclid(100)),
            t if t.starts_with('y') => at.year().to_string(),
            "h" => hour.to_string(),
            "hh" => format!("{hour:02}"),
            "s" => at.second().to_string(),
            "ss" => format!("{:02}", at.second()),
            "AM/PM" => if at.hour() < 12 { "AM" } else { "PM" }.to_string(),
            "a/p" => if at.hour() < 12 { "a" } else { "p" }.to_string(),
            other => other.to_string(),
        };
        out.push_str(&text);
    }
    Some(out)
}

/// `value` in a number pattern: its first section, or its second for a negative value
/// when there is one (then without a minus sign, as the section shows the sign itself).
fn render_number(pattern: &str, value: f64) -> String {
    let sections = split_sections(pattern);
    let (section, signed) = match sections.get(1) {
        Some(negative) if value < 0.0 => (negative.as_str(), false),
        _ => (sections[0].as_str(), true),
    };
    let mut prefix = String::new();
    let mut suffix = String::new();
    let mut body = String::new();
    let mut percent = false;
    let mut chars = section.chars();
    while let Some(c) = chars.next() {
        let literal = match c {
            '"' => chars.by_ref().take_while(|&c| c != '"').collect(),
            '\\' => chars.next().map(String::from).unwrap_or_default(),
            '0' | '#' | '.' if suffix.is_empty() => {
                body.push(c);
                continue;
            }
            ',' if !body.is_empty() && suffix.is_empty() => {
                body.push(c);
                continue;
            }
            '%' => {
                percent = true;
                "%".to_string()
            }
            c => c.to_string(),
        };
        if body.is_empty() {
            prefix.push_str(&literal);
        } else {
            suffix.push_str(&literal);
        }
    }
    let (integer_pattern, decimal_pattern) = body.split_once('.').unwrap_or((&body, ""));
    let grouped = integer_pattern.trim_end_matches(',').contains(',');
    let min_integer = integer_pattern.matches('0').count();
    let min_decimals = decimal_pattern.matches('0').count();
    let max_decimals = decimal_pattern.matches(['0', '#']).count();
    let scaled = if percent { value * 100.0 } else { value }.abs();
    let fixed = format!("{scaled:.max_decimals$}");
    let (integer, decimals) = fixed.split_once('.').unwrap_or((&fixed, ""));
    let mut decimals = decimals.to_string();
    while decimals.len() > min_decimals && decimals.ends_with('0') {
        decimals.pop();
    }
    let integer = integer.trim_start_matches('0');
    let integer = format!("{integer:0>min_integer$}");
    let integer = if grouped { group_thousands(&integer) } else { integer };
    let number = if decimals.is_empty() && !decimal_pattern.contains('0') {
        // `#,##0.##` on 12.0 shows `12.` in Sheets; the common patterns keep a `0`.
        if body.contains('.') && max_decimals > 0 {
            format!("{integer}.")
        } else {
            integer
        }
    } else {
        format!("{integer}.{decimals}")
    };
    let negative = signed && value < 0.0 && number.bytes().any(|b| b.is_ascii_digit() && b != b'0');
    format!("{}{prefix}{number}{suffix}", if negative { "-" } else { "" })
}

/// A pattern's `;` sections, quoted text and escapes kept whole.
fn split_sections(pattern: &str) -> Vec<String> {
    let mut sections = vec![String::new()];
    let mut quoted = false;
    let mut escaped = false;
    for c in pattern.chars() {
        let last = sections.last_mut().expect("never empty");
        match c {
            ';' if !quoted && !escaped => sections.push(String::new()),
            c => {
                last.push(c);
                escaped = c == '\\' && !escaped;
                if c == '"' && !escaped {
                    quoted = !quoted;
                }
            }
        }
    }
    sections
}

/// `1234567` as `1,234,567`.
fn group_thousands(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn render(kind: &str, pattern: &str, value: f64) -> String {
        NumberFormat::from_json(&json!({"type": kind, "pattern": pattern}))
            .unwrap()
            .render(value)
            .unwrap()
    }

    /// 2026-11-26 is day 46352 after 1899-12-30.
    const NOV_26: f64 = 46352.0;

    #[test]
    fn a_date_serial_reads_back_in_its_date_pattern() {
        assert_eq!(render("DATE", "yyyy-mm-dd", NOV_26), "2026-11-26");
        assert_eq!(render("DATE", "dd/mm/yyyy", NOV_26), "26/11/2026");
        assert_eq!(render("DATE", "d mmm yy", NOV_26), "26 Nov 26");
        assert_eq!(render("DATE", "dddd, mmmm d", NOV_26), "Thursday, November 26");
        assert_eq!(render("DATE", "ddd \"the\" d", NOV_26), "Thu the 26");
        let without_pattern = NumberFormat::from_json(&json!({"type": "DATE"})).unwrap();
        assert_eq!(without_pattern.render(NOV_26).as_deref(), Some("11/26/2026"));
    }

    #[test]
    fn m_is_minutes_next_to_hours_or_seconds_and_months_elsewhere() {
        // 14:05:09 on 2026-11-26.
        let at = NOV_26 + (14.0 * 3600.0 + 5.0 * 60.0 + 9.0) / 86_400.0;
        assert_eq!(render("DATE_TIME", "yyyy-mm-dd hh:mm:ss", at), "2026-11-26 14:05:09");
        assert_eq!(render("TIME", "h:mm AM/PM", at), "2:05 PM");
        assert_eq!(render("TIME", "h:mm a/p", at - 0.5), "2:05 a");
        assert_eq!(render("DATE_TIME", "m/d/yyyy h:mm", at), "11/26/2026 14:05");
    }

    #[test]
    fn numbers_read_back_in_their_number_pattern() {
        assert_eq!(render("NUMBER", "0", 12.6), "13");
        assert_eq!(render("NUMBER", "0.00", 12.3), "12.30");
        assert_eq!(render("NUMBER", "#,##0", 1_234_567.4), "1,234,567");
        assert_eq!(render("NUMBER", "#,##0.00", -1234.5), "-1,234.50");
        assert_eq!(render("NUMBER", "#,##0.##", 1234.5), "1,234.5");
        assert_eq!(render("NUMBER", "0.###", 0.25), "0.25");
        assert_eq!(render("PERCENT", "0.0%", 0.1234), "12.3%");
        assert_eq!(render("PERCENT", "0%", 0.5), "50%");
        assert_eq!(render("CURRENCY", "\"$\"#,##0.00", 1234.5), "$1,234.50");
        assert_eq!(render("CURRENCY", "#,##0.00 \"EUR\"", 9.99), "9.99 EUR");
        assert_eq!(render("NUMBER", "0.00;(0.00)", -3.5), "(3.50)");
        let without_pattern = NumberFormat::from_json(&json!({"type": "NUMBER"})).unwrap();
        assert_eq!(without_pattern.render(1234.5).as_deref(), Some("1,234.50"));
    }

    #[test]
    fn a_format_without_a_type_is_none_and_text_keeps_the_automatic_rendering() {
        assert_eq!(NumberFormat::from_json(&json!({"pattern": "0"})), None);
        let text = NumberFormat::from_json(&json!({"type": "TEXT"})).unwrap();
        assert_eq!(text.render(12.0), None);
    }
}
