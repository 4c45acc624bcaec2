//! A1 notation: column letters, cells like `B3`, and quoted tab names in ranges.
//!
//! Indexes here are zero-based, as the API's `GridCoordinate` and `GridRange` take them;
//! A1 text is one-based (`A1` is row 0, column 0).

/// Longest tab title Sheets accepts.
pub(crate) const MAX_TITLE_CHARS: usize = 100;

/// A zero-based cell position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Cell {
    /// Row index (`A1` → 0).
    pub(crate) row: usize,
    /// Column index (`A1` → 0).
    pub(crate) column: usize,
}

/// The letters of a zero-based column index: 0 → `A`, 25 → `Z`, 26 → `AA`, 702 → `AAA`.
pub(crate) fn column_letters(index: usize) -> String {
    let mut letters = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).expect("ASCII letters")
}

/// The zero-based index of column letters (case-insensitive); `None` if not letters or past `ZZZ`.
pub(crate) fn column_index(letters: &str) -> Option<usize> {
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    let mut n = 0usize;
    for b in letters.bytes() {
        let b = b.to_ascii_uppercase();
        if !b.is_ascii_uppercase() {
            return None;
        }
        n = n * 26 + usize::from(b - b'A' + 1);
    }
    Some(n - 1)
}

/// Parses a single cell like `B3` (no sheet name, no `$`).
pub(crate) fn parse_cell(text: &str) -> Result<Cell, String> {
    let split = text.find(|c: char| c.is_ascii_digit()).unwrap_or(text.len());
    let (letters, digits) = text.split_at(split);
    let column = column_index(letters)
        .ok_or_else(|| format!("{text:?} is not a cell like \"A1\" or \"B3\": bad column letters"))?;
    let row: usize = digits
        .parse()
        .ok()
        .filter(|row| *row >= 1 && !digits.starts_with('0'))
        .ok_or_else(|| format!("{text:?} is not a cell like \"A1\" or \"B3\": bad row number"))?;
    Ok(Cell { row: row - 1, column })
}

/// The tab name quoted for a range: always in single quotes, inner quotes doubled, so names
/// with spaces, `!` or that look like cells (`A1`) are never misread.
pub(crate) fn quote_sheet(name: &str) -> String {
    format!("'{}'", name.replace('\'', "''"))
}

/// The open-ended range of `width` columns from `start` down to the sheet's last row, e.g.
/// `'Report'!B3:F`.
pub(crate) fn columns_from(sheet: &str, start: Cell, width: usize) -> String {
    format!(
        "{}!{}{}:{}",
        quote_sheet(sheet),
        column_letters(start.column),
        start.row + 1,
        column_letters(start.column + width.max(1) - 1)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_round_trip_through_two_and_three_letters() {
        for (index, letters) in [
            (0, "A"),
            (25, "Z"),
            (26, "AA"),
            (51, "AZ"),
            (701, "ZZ"),
            (702, "AAA"),
            (18_277, "ZZZ"),
        ] {
            assert_eq!(column_letters(index), letters);
            assert_eq!(column_index(letters), Some(index));
        }
        assert_eq!(column_index("aa"), Some(26));
        assert_eq!(column_index("AAAA"), None);
        assert_eq!(column_index("A1"), None);
        assert_eq!(column_index(""), None);
    }

    #[test]
    fn cells_parse_to_zero_based_positions() {
        assert_eq!(parse_cell("A1"), Ok(Cell { row: 0, column: 0 }));
        assert_eq!(parse_cell("B3"), Ok(Cell { row: 2, column: 1 }));
        assert_eq!(parse_cell("AA10"), Ok(Cell { row: 9, column: 26 }));
        for bad in ["", "A", "3", "A0", "A01", "1A", "B3:C4", "$A$1", "A-1"] {
            assert!(parse_cell(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn sheet_names_are_quoted_with_inner_quotes_doubled() {
        assert_eq!(quote_sheet("Report"), "'Report'");
        assert_eq!(quote_sheet("Q1 spend"), "'Q1 spend'");
        assert_eq!(quote_sheet("Bob's tab"), "'Bob''s tab'");
        assert_eq!(
            columns_from("Bob's tab", Cell { row: 2, column: 1 }, 5),
            "'Bob''s tab'!B3:F"
        );
        assert_eq!(columns_from("R", Cell::default(), 27), "'R'!A1:AA");
    }
}
