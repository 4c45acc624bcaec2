//! A spreadsheet in memory: tabs with their grid sizes and typed cells.
//!
//! Cells are stored sparsely, so a tab may claim millions of cells (the 10,000,000-cell
//! limit counts `rowCount × columnCount`, not values) without holding them.
//!
//! Simplifications, documented for the client's authors: formulas are stored, never
//! evaluated (every render option answers the formula text); `USER_ENTERED` recognises plain
//! decimal numbers (`-12.30`, `1e3`), `TRUE`/`FALSE`, ISO dates `YYYY-MM-DD`, a leading `'`
//! (text) and `=` (formula), but not currencies, percentages or thousands separators; a date
//! is a serial number (days since 1899-12-30) that `FORMATTED_VALUE` renders `YYYY-MM-DD`.
//! A number written through `updateCells`/`repeatCell` with a `numberFormat` is rendered in
//! that format (`number_format`); a format sent without a value is not kept.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::{json, Value};

use super::a1::Rect;
use super::number_format::NumberFormat;

/// Most cells, `rowCount × columnCount` over all tabs, one spreadsheet may have.
pub const MAX_CELLS: u64 = 10_000_000;
/// Grid of a new tab when none is given (Sheets' default).
pub const DEFAULT_ROWS: u32 = 1000;
pub const DEFAULT_COLS: u32 = 26;
/// Sheets' last column is ZZZ.
pub const MAX_COLS: u32 = 18_278;

/// One cell's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    /// A date entered with `USER_ENTERED`: its serial number, shown as a date.
    Date(f64),
    Bool(bool),
    /// The formula's text, with its leading `=`.
    Formula(String),
    /// A number written with a number format (`updateCells` / `repeatCell` with
    /// `userEnteredFormat.numberFormat`): the formatted view shows it in that format.
    Formatted(f64, NumberFormat),
}

/// How an input value changes a cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// JSON `null`: the cell keeps its value.
    Skip,
    /// `""`: the cell is emptied.
    Clear,
    Set(Cell),
}

/// `valueInputOption`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputOption {
    Raw,
    UserEntered,
}

impl InputOption {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "RAW" => Some(Self::Raw),
            "USER_ENTERED" => Some(Self::UserEntered),
            _ => None,
        }
    }
}

/// `valueRenderOption`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenderOption {
    Formatted,
    Unformatted,
    Formula,
}

impl RenderOption {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "FORMATTED_VALUE" => Some(Self::Formatted),
            "UNFORMATTED_VALUE" => Some(Self::Unformatted),
            "FORMULA" => Some(Self::Formula),
            _ => None,
        }
    }
}

/// Day 0 of Sheets' date serial numbers.
fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default()
}

impl Write {
    /// What a `ValueRange` value does to its cell under `option`.
    pub fn from_input(value: &Value, option: InputOption) -> Result<Self, String> {
        Ok(match value {
            Value::Null => Self::Skip,
            Value::Bool(b) => Self::Set(Cell::Bool(*b)),
            Value::Number(n) => Self::Set(Cell::Number(n.as_f64().unwrap_or_default())),
            Value::String(s) if s.is_empty() => Self::Clear,
            Value::String(s) => Self::Set(match option {
                InputOption::Raw => Cell::Text(s.clone()),
                InputOption::UserEntered => Cell::typed(s),
            }),
            Value::Array(_) | Value::Object(_) => {
                return Err(format!("Invalid values[0][0]: {value}"));
            }
        })
    }
}

impl Cell {
    /// A string as if typed into the Sheets UI (`USER_ENTERED`).
    pub fn typed(text: &str) -> Self {
        if let Some(rest) = text.strip_prefix('\'') {
            return Self::Text(rest.to_string());
        }
        if text.starts_with('=') {
            return Self::Formula(text.to_string());
        }
        if text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false") {
            return Self::Bool(text.eq_ignore_ascii_case("true"));
        }
        let numeric = !text.is_empty()
            && text.bytes().any(|b| b.is_ascii_digit())
            && text.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
        if let Some(number) = numeric.then(|| text.parse::<f64>().ok()).flatten() {
            return Self::Number(number);
        }
        if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Self::Date((date - epoch()).num_days() as f64);
        }
        Self::Text(text.to_string())
    }

    /// The cell as `FORMATTED_VALUE` shows it.
    pub fn formatted(&self) -> String {
        match self {
            Self::Text(s) | Self::Formula(s) => s.clone(),
            Self::Number(n) => format_number(*n),
            Self::Date(serial) => epoch()
                .checked_add_signed(chrono::Duration::days(serial.floor() as i64))
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| format_number(*serial)),
            Self::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Self::Formatted(n, format) => format.render(*n).unwrap_or_else(|| format_number(*n)),
        }
    }

    /// `cell` (an `updateCells`/`repeatCell` value) with `format` applied when it is a number.
    pub fn with_format(self, format: Option<NumberFormat>) -> Self {
        match (self, format) {
            (Self::Number(n) | Self::Date(n) | Self::Formatted(n, _), Some(format)) => Self::Formatted(n, format),
            (cell, _) => cell,
        }
    }

    /// The cell in a `values` response under `render`.
    pub fn rendered(&self, render: RenderOption) -> Value {
        match (render, self) {
            (RenderOption::Formatted, _) => json!(self.formatted()),
            (_, Self::Number(n) | Self::Date(n) | Self::Formatted(n, _)) => json!(n),
            (_, Self::Bool(b)) => json!(b),
            (_, Self::Text(s) | Self::Formula(s)) => json!(s),
        }
    }

    /// The cell as an `ExtendedValue` (`{"numberValue": 1}`); dates add their `date` text.
    pub fn extended(&self) -> Value {
        match self {
            Self::Text(s) => json!({ "stringValue": s }),
            Self::Number(n) | Self::Formatted(n, _) => json!({ "numberValue": n }),
            Self::Date(n) => json!({ "numberValue": n, "date": self.formatted() }),
            Self::Bool(b) => json!({ "boolValue": b }),
            Self::Formula(f) => json!({ "formulaValue": f }),
        }
    }

    /// An `ExtendedValue` of `updateCells`: exactly one of the four kinds.
    pub fn from_extended(value: &Value) -> Result<Self, String> {
        let object = value.as_object().filter(|o| o.len() == 1);
        let Some((kind, inner)) = object.and_then(|o| o.iter().next()) else {
            return Err(
                "userEnteredValue must set exactly one of stringValue, numberValue, boolValue, formulaValue".into(),
            );
        };
        match (kind.as_str(), inner) {
            ("stringValue", Value::String(s)) => Ok(Self::Text(s.clone())),
            ("numberValue", Value::Number(n)) => Ok(Self::Number(n.as_f64().unwrap_or_default())),
            ("boolValue", Value::Bool(b)) => Ok(Self::Bool(*b)),
            ("formulaValue", Value::String(s)) if s.starts_with('=') => Ok(Self::Formula(s.clone())),
            _ => Err(format!("Invalid value at 'userEnteredValue.{kind}' ({inner})")),
        }
    }
}

/// A number the way the default "Automatic" format shows it: no trailing zeros.
fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// One tab.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub id: i64,
    pub title: String,
    pub hidden: bool,
    pub row_count: u32,
    pub column_count: u32,
    /// `(row, column)` → value; empty cells are absent.
    pub cells: BTreeMap<(u32, u32), Cell>,
}

impl Sheet {
    pub fn new(id: i64, title: &str) -> Self {
        Self {
            id,
            title: title.to_string(),
            hidden: false,
            row_count: DEFAULT_ROWS,
            column_count: DEFAULT_COLS,
            cells: BTreeMap::new(),
        }
    }

    pub fn cell_count(&self) -> u64 {
        u64::from(self.row_count) * u64::from(self.column_count)
    }

    /// Writes `rows` from `(row, col)` on, growing the grid to fit (as values.update does).
    pub fn write(&mut self, row: u32, col: u32, rows: &[Vec<Write>]) {
        for (r, values) in rows.iter().enumerate() {
            for (c, write) in values.iter().enumerate() {
                let at = (row + r as u32, col + c as u32);
                match write {
                    Write::Skip => {}
                    Write::Clear => {
                        self.cells.remove(&at);
                    }
                    Write::Set(cell) => {
                        self.cells.insert(at, cell.clone());
                    }
                }
            }
        }
        let (rows_needed, cols_needed) = extent(row, col, rows);
        self.row_count = self.row_count.max(rows_needed);
        self.column_count = self.column_count.max(cols_needed);
    }

    /// Empties every cell in `rect`.
    pub fn clear(&mut self, rect: Rect) {
        self.cells.retain(|(r, c), _| !rect.contains(*r, *c));
    }

    /// The values of `rect`, rows of cells, trailing empty rows and cells left off.
    pub fn values(&self, rect: Rect, render: RenderOption) -> Vec<Vec<Value>> {
        let mut rows: Vec<Vec<Value>> = Vec::new();
        for ((r, c), cell) in self.cells.range((rect.start_row, 0)..) {
            if *r >= rect.end_row {
                break;
            }
            if !rect.contains(*r, *c) {
                continue;
            }
            let (ri, ci) = ((r - rect.start_row) as usize, (c - rect.start_col) as usize);
            if rows.len() <= ri {
                rows.resize(ri + 1, Vec::new());
            }
            let row = &mut rows[ri];
            if row.len() <= ci {
                row.resize(ci + 1, json!(""));
            }
            row[ci] = cell.rendered(render);
        }
        rows
    }

    /// The last row and the last column holding a value within `rows` × `cols`.
    pub fn data_extent(&self, rows: std::ops::Range<u32>, cols: std::ops::Range<u32>) -> Option<(u32, u32)> {
        self.cells
            .range((rows.start, 0)..)
            .map(|(at, _)| *at)
            .take_while(|(r, _)| *r < rows.end)
            .filter(|(_, c)| cols.contains(c))
            .fold(None, |extent, (r, c)| match extent {
                None => Some((r, c)),
                Some((last_r, last_c)) => Some((last_r.max(r), last_c.max(c))),
            })
    }

    /// Inserts `count` empty rows before row `at`, moving the rows below down.
    pub fn insert_rows(&mut self, at: u32, count: u32) {
        let cells = std::mem::take(&mut self.cells);
        self.cells = cells
            .into_iter()
            .map(|((r, c), v)| (if r >= at { (r + count, c) } else { (r, c) }, v))
            .collect();
        self.row_count += count;
    }

    /// Removes rows (`rows = true`) or columns `start..end`, moving later ones up or left.
    pub fn delete_dimension(&mut self, rows: bool, start: u32, end: u32) {
        let removed = end - start;
        let cells = std::mem::take(&mut self.cells);
        self.cells = cells
            .into_iter()
            .filter_map(|((r, c), v)| {
                let index = if rows { r } else { c };
                let moved = match index {
                    i if i < start => i,
                    i if i < end => return None,
                    i => i - removed,
                };
                Some((if rows { (moved, c) } else { (r, moved) }, v))
            })
            .collect();
        if rows {
            self.row_count -= removed;
        } else {
            self.column_count -= removed;
        }
    }

    /// Sets the grid size, dropping values that fall outside it.
    pub fn resize(&mut self, row_count: u32, column_count: u32) {
        self.row_count = row_count;
        self.column_count = column_count;
        self.cells.retain(|(r, c), _| *r < row_count && *c < column_count);
    }

    /// Formatted rows of the whole tab, trailing empty rows and cells left off.
    pub fn formatted_rows(&self) -> Vec<Vec<Value>> {
        self.values(self.everything(), RenderOption::Formatted)
    }

    /// `ExtendedValue`s of the whole tab (`null` for an empty cell), trimmed the same way.
    pub fn typed_rows(&self) -> Vec<Vec<Value>> {
        let mut rows: Vec<Vec<Value>> = Vec::new();
        for ((r, c), cell) in &self.cells {
            let (ri, ci) = (*r as usize, *c as usize);
            if rows.len() <= ri {
                rows.resize(ri + 1, Vec::new());
            }
            if rows[ri].len() <= ci {
                rows[ri].resize(ci + 1, Value::Null);
            }
            rows[ri][ci] = cell.extended();
        }
        rows
    }

    /// The whole grid as a rectangle.
    pub fn everything(&self) -> Rect {
        Rect {
            start_row: 0,
            start_col: 0,
            end_row: self.row_count,
            end_col: self.column_count,
        }
    }
}

/// `(rows, columns)` a block of `rows` written at `(row, col)` needs.
pub fn extent(row: u32, col: u32, rows: &[Vec<Write>]) -> (u32, u32) {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0) as u32;
    (row + rows.len() as u32, col + width)
}

/// A spreadsheet and who may open it.
#[derive(Debug, Clone, PartialEq)]
pub struct Spreadsheet {
    pub id: String,
    pub title: String,
    /// Users and service accounts it is shared with (as editors).
    pub editors: Vec<String>,
    /// Users it is shared with as viewers: they may read it, and a write answers 403.
    pub readers: Vec<String>,
    /// Tabs in display order (a tab's `index` is its position).
    pub sheets: Vec<Sheet>,
    /// The id the next added tab gets.
    pub next_sheet_id: i64,
    /// Write requests applied (not refused, not failed).
    pub applied_writes: u64,
}

impl Spreadsheet {
    pub fn cell_count(&self) -> u64 {
        self.sheets.iter().map(Sheet::cell_count).sum()
    }

    /// Refuses a state over the 10,000,000-cell limit, in Sheets' words.
    pub fn check_cell_limit(&self) -> Result<(), String> {
        if self.cell_count() > MAX_CELLS {
            return Err(format!(
                "This action would increase the number of cells in the workbook above the limit of {MAX_CELLS} cells."
            ));
        }
        Ok(())
    }

    pub fn sheet_by_title(&self, title: &str) -> Option<usize> {
        self.sheets.iter().position(|s| s.title == title)
    }

    pub fn sheet_by_id(&self, id: i64) -> Option<usize> {
        self.sheets.iter().position(|s| s.id == id)
    }

    /// A fresh id for a new tab, never one in use.
    pub fn new_sheet_id(&mut self) -> i64 {
        while self.sheet_by_id(self.next_sheet_id).is_some() {
            self.next_sheet_id += 1;
        }
        let id = self.next_sheet_id;
        self.next_sheet_id += 1;
        id
    }

    /// `SheetProperties` of the tab at `index`.
    pub fn sheet_properties(&self, index: usize) -> Value {
        let sheet = &self.sheets[index];
        let mut properties = json!({
            "sheetId": sheet.id,
            "title": sheet.title,
            "index": index,
            "sheetType": "GRID",
            "gridProperties": {"rowCount": sheet.row_count, "columnCount": sheet.column_count},
        });
        if sheet.hidden {
            properties["hidden"] = json!(true);
        }
        properties
    }

    /// The `Spreadsheet` resource of spreadsheets.get (without grid data).
    pub fn resource(&self) -> Value {
        json!({
            "spreadsheetId": self.id,
            "properties": {
                "title": self.title,
                "locale": "en_US",
                "autoRecalc": "ON_CHANGE",
                "timeZone": "Etc/GMT",
            },
            "sheets": (0..self.sheets.len())
                .map(|i| json!({ "properties": self.sheet_properties(i) }))
                .collect::<Vec<_>>(),
            "spreadsheetUrl": format!("https://docs.google.com/spreadsheets/d/{}/edit", self.id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_entered_strings_become_numbers_dates_booleans_and_formulas() {
        assert_eq!(Cell::typed("12.30"), Cell::Number(12.3));
        assert_eq!(Cell::typed("-4"), Cell::Number(-4.0));
        assert_eq!(Cell::typed("1e3"), Cell::Number(1000.0));
        assert_eq!(Cell::typed("TRUE"), Cell::Bool(true));
        assert_eq!(Cell::typed("false"), Cell::Bool(false));
        assert_eq!(Cell::typed("2025-03-01"), Cell::Date(45717.0));
        assert_eq!(Cell::typed("'0042"), Cell::Text("0042".into()));
        assert_eq!(Cell::typed("=SUM(A1:A3)"), Cell::Formula("=SUM(A1:A3)".into()));
        assert_eq!(Cell::typed("Brand"), Cell::Text("Brand".into()));
        assert_eq!(Cell::typed("inf"), Cell::Text("inf".into()));
        assert_eq!(Cell::typed("1-2"), Cell::Text("1-2".into()));
    }

    #[test]
    fn raw_input_keeps_strings_and_null_skips_a_cell() {
        let raw = |v: Value| Write::from_input(&v, InputOption::Raw).unwrap();
        assert_eq!(raw(json!("12.30")), Write::Set(Cell::Text("12.30".into())));
        assert_eq!(raw(json!("=1+1")), Write::Set(Cell::Text("=1+1".into())));
        assert_eq!(raw(json!(12.5)), Write::Set(Cell::Number(12.5)));
        assert_eq!(raw(json!(null)), Write::Skip);
        assert_eq!(raw(json!("")), Write::Clear);
        assert!(Write::from_input(&json!([1]), InputOption::Raw).is_err());
    }

    #[test]
    fn formatted_values_drop_trailing_zeros_and_show_dates() {
        assert_eq!(Cell::Number(12.3).formatted(), "12.3");
        assert_eq!(Cell::Number(42.0).formatted(), "42");
        assert_eq!(Cell::Date(45717.0).formatted(), "2025-03-01");
        assert_eq!(Cell::Bool(true).formatted(), "TRUE");
        assert_eq!(Cell::Date(45717.0).rendered(RenderOption::Unformatted), json!(45717.0));
        assert_eq!(Cell::Number(12.3).rendered(RenderOption::Unformatted), json!(12.3));
    }

    #[test]
    fn values_are_trimmed_and_writes_grow_the_grid() {
        let mut sheet = Sheet::new(0, "Sheet1");
        sheet.resize(2, 2);
        let row = |cells: &[&str]| cells.iter().map(|c| Write::Set(Cell::typed(c))).collect::<Vec<_>>();
        sheet.write(1, 1, &[row(&["a", "1"]), row(&["b"])]);
        assert_eq!((sheet.row_count, sheet.column_count), (3, 3));
        let values = sheet.values(sheet.everything(), RenderOption::Formatted);
        assert_eq!(
            values,
            vec![
                vec![],
                vec![json!(""), json!("a"), json!("1")],
                vec![json!(""), json!("b")]
            ]
        );
        sheet.delete_dimension(true, 0, 1);
        assert_eq!(sheet.formatted_rows()[0], vec![json!(""), json!("a"), json!("1")]);
        sheet.insert_rows(0, 2);
        assert_eq!(sheet.data_extent(0..4, 0..3), Some((3, 2)));
        assert_eq!(sheet.data_extent(0..4, 0..2), Some((3, 1)));
        assert_eq!(sheet.data_extent(0..2, 0..3), None);
        assert_eq!(sheet.row_count, 4);
    }
}
