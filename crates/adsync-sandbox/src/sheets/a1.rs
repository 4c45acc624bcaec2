//! A1 notation: `Sheet1!A1:D3`, `'My Tab'!A:C`, `A2:D`, `2:5`, a bare tab name.
//!
//! A range names an optional tab and up to four bounds; a missing bound is open (to the
//! grid's edge). Rows and columns are 0-based and end-exclusive here, as in a `GridRange`.

use std::fmt;

/// A parsed A1 range, not yet checked against a spreadsheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct A1Range {
    /// The tab named before `!`, unquoted; `None` means the first tab.
    pub sheet: Option<String>,
    /// The cell bounds; `None` for a bare tab name (the whole tab).
    pub cells: Option<CellBounds>,
}

/// The bounds of a range; `None` bounds are open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CellBounds {
    pub start_row: Option<u32>,
    pub start_col: Option<u32>,
    /// Exclusive.
    pub end_row: Option<u32>,
    /// Exclusive.
    pub end_col: Option<u32>,
    /// One cell reference (`B2`): a write's anchor, which the data may run past.
    pub single_cell: bool,
}

/// A range resolved against a tab: every bound closed (end-exclusive, 0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub start_row: u32,
    pub start_col: u32,
    pub end_row: u32,
    pub end_col: u32,
}

impl Rect {
    pub fn rows(&self) -> u32 {
        self.end_row.saturating_sub(self.start_row)
    }

    pub fn contains(&self, row: u32, col: u32) -> bool {
        (self.start_row..self.end_row).contains(&row) && (self.start_col..self.end_col).contains(&col)
    }
}

/// The text of a range Google could not read, for its "Unable to parse range" error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unable to parse range: {0}")]
pub struct BadRange(pub String);

impl A1Range {
    /// Parses `text`. A text without `!` that is not a cell reference is a tab name; which
    /// of the two a bare `A1` means is left to the caller ([`Self::as_sheet_name`]).
    pub fn parse(text: &str) -> Result<Self, BadRange> {
        let bad = || BadRange(text.to_string());
        let (sheet, cells) = match split_sheet(text).ok_or_else(bad)? {
            (Some(sheet), Some(cells)) => (Some(sheet), Some(parse_cells(cells).ok_or_else(bad)?)),
            (Some(sheet), None) => (Some(sheet), None),
            (None, Some(cells)) => match parse_cells(cells) {
                Some(bounds) => (None, Some(bounds)),
                None if !cells.is_empty() => (Some(cells.to_string()), None),
                None => return Err(bad()),
            },
            (None, None) => return Err(bad()),
        };
        Ok(Self { sheet, cells })
    }

    /// The whole text read as a tab name, for a bare `A1` when a tab of that name exists
    /// (Sheets then means the tab).
    pub fn as_sheet_name(text: &str) -> Option<String> {
        (!text.contains('!') && !text.is_empty()).then(|| unquote(text).unwrap_or_else(|| text.to_string()))
    }

    /// The range's bounds on a `rows` × `cols` grid, open bounds running to its edges.
    pub fn resolve(&self, rows: u32, cols: u32) -> Rect {
        let b = self.cells.unwrap_or_default();
        Rect {
            start_row: b.start_row.unwrap_or(0),
            start_col: b.start_col.unwrap_or(0),
            end_row: b.end_row.unwrap_or(rows),
            end_col: b.end_col.unwrap_or(cols),
        }
    }
}

/// `(tab, cells)`: the tab part when there is a `!` (unquoted), and the cell part.
fn split_sheet(text: &str) -> Option<(Option<String>, Option<&str>)> {
    if let Some(rest) = text.strip_prefix('\'') {
        // A quoted name: `''` is an escaped quote; the name ends at a lone `'`.
        let mut name = String::new();
        let mut chars = rest.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '\'' {
                name.push(c);
                continue;
            }
            if chars.peek().is_some_and(|(_, next)| *next == '\'') {
                chars.next();
                name.push('\'');
                continue;
            }
            let after = &rest[i + 1..];
            if after.is_empty() {
                return Some((Some(name), None));
            }
            return after
                .strip_prefix('!')
                .filter(|cells| !cells.is_empty())
                .map(|cells| (Some(name), Some(cells)));
        }
        return None;
    }
    match text.rsplit_once('!') {
        Some((name, cells)) if !name.is_empty() && !cells.is_empty() => Some((Some(name.to_string()), Some(cells))),
        Some(_) => None,
        None => Some((None, Some(text))),
    }
}

fn unquote(text: &str) -> Option<String> {
    let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

/// `A1`, `A1:D3`, `A:C`, `2:5`, `A2:D` (end row open), `A2` (one cell).
fn parse_cells(text: &str) -> Option<CellBounds> {
    let (first, second) = match text.split_once(':') {
        Some((a, b)) => (parse_ref(a)?, Some(parse_ref(b)?)),
        None => (parse_ref(text)?, None),
    };
    let (col1, row1) = first;
    match second {
        // One reference: a single cell, or a whole row or column.
        None => Some(CellBounds {
            start_row: row1.map(|r| r - 1),
            start_col: col1,
            end_row: row1,
            end_col: col1.map(|c| c + 1),
            single_cell: row1.is_some() && col1.is_some(),
        }),
        Some((col2, row2)) => {
            // `A:C` and `2:5` need both ends of the same kind; `A2:D` leaves the rows open.
            if col1.is_none() != col2.is_none() && row1.is_none() == row2.is_none() {
                return None;
            }
            let (c_lo, c_hi) = order(col1, col2);
            let (r_lo, r_hi) = order(row1.map(|r| r - 1), row2.map(|r| r - 1));
            Some(CellBounds {
                start_row: r_lo,
                start_col: c_lo,
                end_row: if row1.is_some() && row2.is_some() {
                    r_hi.map(|r| r + 1)
                } else {
                    None
                },
                end_col: if col1.is_some() && col2.is_some() {
                    c_hi.map(|c| c + 1)
                } else {
                    None
                },
                single_cell: false,
            })
        }
    }
}

/// Both bounds low-to-high (`D3:A1` means `A1:D3`); a lone bound is a start.
fn order(a: Option<u32>, b: Option<u32>) -> (Option<u32>, Option<u32>) {
    match (a, b) {
        (Some(a), Some(b)) => (Some(a.min(b)), Some(a.max(b))),
        (Some(a), None) | (None, Some(a)) => (Some(a), None),
        (None, None) => (None, None),
    }
}

/// `(column, row)` of `AB12` (0-based column, 1-based row); either may be missing, not both.
fn parse_ref(text: &str) -> Option<(Option<u32>, Option<u32>)> {
    let letters = text.bytes().take_while(u8::is_ascii_alphabetic).count();
    let (col_text, row_text) = text.split_at(letters);
    if col_text.is_empty() && row_text.is_empty() {
        return None;
    }
    let col = if col_text.is_empty() {
        None
    } else {
        Some(column_index(col_text)?)
    };
    let row = if row_text.is_empty() {
        None
    } else {
        if !row_text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(row_text.parse::<u32>().ok().filter(|r| *r >= 1)?)
    };
    Some((col, row))
}

/// `A` → 0, `Z` → 25, `AA` → 26; at most three letters (ZZZ is Sheets' last column).
fn column_index(letters: &str) -> Option<u32> {
    if letters.len() > 3 {
        return None;
    }
    letters
        .bytes()
        .try_fold(0u32, |n, b| Some(n * 26 + u32::from(b.to_ascii_uppercase() - b'A') + 1))
        .map(|n| n - 1)
}

/// `0` → `A`, `26` → `AA`.
pub fn column_letters(mut index: u32) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// A tab name as Sheets writes it in a range: quoted unless it is letters, digits and `_`
/// and could not be read as a cell reference.
pub struct SheetName<'a>(pub &'a str);

impl fmt::Display for SheetName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.0;
        let plain = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && parse_cells(name).is_none();
        if plain {
            write!(f, "{name}")
        } else {
            write!(f, "'{}'", name.replace('\'', "''"))
        }
    }
}

/// `Sheet1!A1:D3` for a tab and a rectangle (`Sheet1!B2` for one cell).
pub fn format_range(sheet: &str, rect: Rect) -> String {
    let first = format!("{}{}", column_letters(rect.start_col), rect.start_row + 1);
    let last = format!(
        "{}{}",
        column_letters(rect.end_col.max(rect.start_col + 1) - 1),
        rect.end_row.max(rect.start_row + 1)
    );
    if first == last {
        format!("{}!{first}", SheetName(sheet))
    } else {
        format!("{}!{first}:{last}", SheetName(sheet))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(sr: Option<u32>, sc: Option<u32>, er: Option<u32>, ec: Option<u32>) -> Option<CellBounds> {
        Some(CellBounds {
            start_row: sr,
            start_col: sc,
            end_row: er,
            end_col: ec,
            single_cell: false,
        })
    }

    #[test]
    fn ranges_with_and_without_a_tab() {
        let parsed = A1Range::parse("Sheet1!A1:D3").unwrap();
        assert_eq!(parsed.sheet.as_deref(), Some("Sheet1"));
        assert_eq!(parsed.cells, bounds(Some(0), Some(0), Some(3), Some(4)));
        let plain = A1Range::parse("B2").unwrap();
        assert_eq!(plain.sheet, None);
        let cell = CellBounds {
            single_cell: true,
            ..bounds(Some(1), Some(1), Some(2), Some(2)).unwrap()
        };
        assert_eq!(plain.cells, Some(cell));
        let reversed = A1Range::parse("D3:A1").unwrap();
        assert_eq!(reversed.cells, bounds(Some(0), Some(0), Some(3), Some(4)));
    }

    #[test]
    fn quoted_tab_names_may_hold_spaces_bangs_and_quotes() {
        let parsed = A1Range::parse("'My Tab'!A1").unwrap();
        assert_eq!(parsed.sheet.as_deref(), Some("My Tab"));
        let odd = A1Range::parse("'Ann''s !report'!A:A").unwrap();
        assert_eq!(odd.sheet.as_deref(), Some("Ann's !report"));
        assert_eq!(odd.cells, bounds(None, Some(0), None, Some(1)));
        let whole = A1Range::parse("'My Tab'").unwrap();
        assert_eq!((whole.sheet.as_deref(), whole.cells), (Some("My Tab"), None));
        assert_eq!(A1Range::as_sheet_name("'My Tab'").as_deref(), Some("My Tab"));
    }

    #[test]
    fn open_ranges_run_to_the_grid_edges() {
        let columns = A1Range::parse("A:C").unwrap();
        assert_eq!(columns.cells, bounds(None, Some(0), None, Some(3)));
        assert_eq!(
            columns.resolve(1000, 26),
            Rect {
                start_row: 0,
                start_col: 0,
                end_row: 1000,
                end_col: 3
            }
        );
        let rows = A1Range::parse("Data!2:5").unwrap();
        assert_eq!(rows.cells, bounds(Some(1), None, Some(5), None));
        let open_end = A1Range::parse("A2:D").unwrap();
        assert_eq!(open_end.cells, bounds(Some(1), Some(0), None, Some(4)));
        assert_eq!(open_end.resolve(50, 26).end_row, 50);
        let tab = A1Range::parse("Sheet1").unwrap();
        assert_eq!((tab.sheet.as_deref(), tab.cells), (Some("Sheet1"), None));
        assert_eq!(tab.resolve(7, 3).rows(), 7);
    }

    #[test]
    fn malformed_ranges_are_refused_in_googles_words() {
        for text in [
            "",
            "Sheet1!",
            "!A1",
            "Sheet1!A0",
            "Sheet1!A1:",
            "'Unclosed!A1",
            "'Tab'x",
            "Sheet1!A1:B2:C3",
            "S!ABCD1",
        ] {
            let error = A1Range::parse(text).map(|r| r.cells.map(|_| ())).unwrap_err();
            assert_eq!(error.to_string(), format!("Unable to parse range: {text}"));
        }
    }

    #[test]
    fn columns_letters_round_trip() {
        for (index, letters) in [
            (0, "A"),
            (25, "Z"),
            (26, "AA"),
            (701, "ZZ"),
            (702, "AAA"),
            (18_277, "ZZZ"),
        ] {
            assert_eq!(column_letters(index), letters);
            assert_eq!(column_index(letters), Some(index));
        }
    }

    #[test]
    fn formatted_ranges_quote_names_that_need_it() {
        let rect = Rect {
            start_row: 0,
            start_col: 0,
            end_row: 3,
            end_col: 4,
        };
        assert_eq!(format_range("Sheet1", rect), "Sheet1!A1:D3");
        assert_eq!(format_range("My Tab", rect), "'My Tab'!A1:D3");
        assert_eq!(format_range("A1", rect), "'A1'!A1:D3");
        let one = Rect {
            start_row: 1,
            start_col: 1,
            end_row: 2,
            end_col: 2,
        };
        assert_eq!(format_range("Sheet1", one), "Sheet1!B2");
    }
}
