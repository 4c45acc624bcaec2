//! The decoder `searchStream` bodies had before the one-pass scanner, kept as the reference
//! the scanner's output is compared with: same batches, same cells, byte for byte. It found
//! each element's end, parsed the element with serde, then parsed each row again into maps.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{fields, DecodeError};
use crate::http::google_status::RpcError;
use crate::rows::RowBatch;

/// Where a column's cell comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    /// The value at this JSON path of each row (`metrics.costMicros`), converted from micros
    /// to currency units when `cost` is set.
    Path { path: String, cost: bool },
    /// The same text on every row.
    Fixed(String),
}

/// Where the scanner is in the array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the opening `[`.
    Start,
    /// Between elements (after `[` or after an element).
    Between,
    /// Inside an element.
    Element,
    /// After the closing `]`.
    Done,
}

/// An incremental decoder of one `searchStream` body into rows of fixed columns.
#[derive(Debug)]
pub(super) struct StreamDecoder {
    columns: Vec<Column>,
    state: State,
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// The bytes of the element being read.
    element: Vec<u8>,
}

impl StreamDecoder {
    /// A decoder for rows of `columns` (GAQL field names, or [`fields::COST`]). `fixed`
    /// gives columns a constant cell instead, e.g. `segments.date` of a whole-window total.
    pub(super) fn new(columns: &[String], fixed: &[(&str, String)]) -> Self {
        let columns = columns
            .iter()
            .map(|name| match fixed.iter().find(|(f, _)| f == name) {
                Some((_, text)) => Column::Fixed(text.clone()),
                None => Column::Path {
                    path: fields::json_path(fields::source_field(name)).join("."),
                    cost: name == fields::COST,
                },
            })
            .collect();
        Self {
            columns,
            state: State::Start,
            depth: 0,
            in_string: false,
            escaped: false,
            element: Vec::new(),
        }
    }

    /// Reads the next `chunk` of the body; returns the batches it completed, in order.
    pub(super) fn feed(&mut self, chunk: &[u8]) -> Result<Vec<RowBatch>, DecodeError> {
        let mut batches = Vec::new();
        let mut at = 0;
        while at < chunk.len() {
            if self.state != State::Element {
                self.between_elements(chunk[at])?;
                at += 1;
                continue;
            }
            let (read, complete) = self.scan_element(&chunk[at..]);
            self.element.extend_from_slice(&chunk[at..at + read]);
            at += read;
            if complete {
                self.state = State::Between;
                let element = std::mem::take(&mut self.element);
                batches.push(self.decode_batch(&element)?);
                // Keep the allocation for the next batch, not its bytes.
                self.element = element;
                self.element.clear();
            }
        }
        Ok(batches)
    }

    /// One byte outside any element: whitespace, the array's brackets, a comma, or the `{`
    /// that opens an element.
    fn between_elements(&mut self, b: u8) -> Result<(), DecodeError> {
        match (self.state, b) {
            (_, b) if b.is_ascii_whitespace() => {}
            (State::Start, b'[') => self.state = State::Between,
            (State::Between, b',') => {}
            (State::Between, b']') => self.state = State::Done,
            (State::Between, b'{') => {
                self.state = State::Element;
                self.depth = 1;
                self.element.clear();
                self.element.push(b);
            }
            (state, b) => {
                return Err(DecodeError::Malformed(format!(
                    "unexpected {:?} {}",
                    char::from(b),
                    match state {
                        State::Start => "where a JSON array of batches should start",
                        State::Done => "after the end of the batch array",
                        _ => "between batches",
                    }
                )))
            }
        }
        Ok(())
    }

    /// Follows the open element through `bytes`, strings and nesting included: how many of
    /// them belong to it, and whether its closing brace is among them.
    fn scan_element(&mut self, bytes: &[u8]) -> (usize, bool) {
        for (i, &b) in bytes.iter().enumerate() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return (i + 1, true);
                    }
                }
                _ => {}
            }
        }
        (bytes.len(), false)
    }

    /// Checks that the body ended where the array ends (a cut connection leaves it open).
    pub(super) fn finish(&self) -> Result<(), DecodeError> {
        match self.state {
            State::Done => Ok(()),
            State::Start => Err(DecodeError::Malformed("the response body is empty".into())),
            _ => Err(DecodeError::Malformed(
                "the response ended before the batch array was closed".into(),
            )),
        }
    }

    /// One batch's rows; an `error` element becomes [`DecodeError::Platform`].
    fn decode_batch(&self, element: &[u8]) -> Result<RowBatch, DecodeError> {
        #[derive(Deserialize)]
        struct Batch<'a> {
            #[serde(default, borrow)]
            results: Vec<&'a RawValue>,
            #[serde(default)]
            error: Option<RpcError>,
        }
        let batch: Batch<'_> = serde_json::from_slice(element).map_err(malformed)?;
        if let Some(error) = batch.error {
            return Err(DecodeError::Platform(error));
        }
        let mut rows = RowBatch::with_capacity(self.columns.len(), batch.results.len());
        let paths: Vec<Option<&str>> = self
            .columns
            .iter()
            .map(|column| match column {
                Column::Path { path, .. } => Some(path.as_str()),
                Column::Fixed(_) => None,
            })
            .collect();
        let mut found: Vec<Option<&RawValue>> = vec![None; paths.len()];
        let mut prefix = String::new();
        for row in batch.results {
            found.iter_mut().for_each(|cell| *cell = None);
            collect(row, &mut prefix, &paths, &mut found).map_err(malformed)?;
            for (column, raw) in self.columns.iter().zip(&found) {
                push_cell(&mut rows, column, *raw)?;
            }
        }
        Ok(rows)
    }
}

/// A batch that is not the JSON it should be.
fn malformed(e: serde_json::Error) -> DecodeError {
    DecodeError::Malformed(format!("a batch is not valid JSON: {e}"))
}

/// Appends `column`'s cell of one row: its fixed text, or the row's value at its path
/// (`raw`, absent means empty), costs converted from micros to currency units.
fn push_cell(rows: &mut RowBatch, column: &Column, raw: Option<&RawValue>) -> Result<(), DecodeError> {
    match column {
        Column::Fixed(text) => rows.push_cell(text),
        Column::Path { cost, .. } => {
            let cell = match raw {
                None => String::new(),
                Some(raw) => cell_text(raw).map_err(malformed)?,
            };
            if *cost && !cell.is_empty() {
                let units = fields::cost_from_micros(&cell)
                    .ok_or_else(|| DecodeError::Malformed(format!("costMicros {cell:?} is not an integer")))?;
                rows.push_cell(&units);
            } else {
                rows.push_cell(&cell);
            }
        }
    }
    Ok(())
}

/// Finds the values of `paths` (dotted JSON paths, `metrics.costMicros`) in `object` into
/// `found`, descending only into objects some path goes through. Keys are borrowed from the
/// body and the path is built in one reused buffer: a row costs a map per object it opens,
/// not a string per leaf.
fn collect<'a>(
    object: &'a RawValue,
    prefix: &mut String,
    paths: &[Option<&str>],
    found: &mut [Option<&'a RawValue>],
) -> Result<(), serde_json::Error> {
    let fields: BTreeMap<&'a str, &'a RawValue> = serde_json::from_str(object.get())?;
    for (key, value) in fields {
        let outer = prefix.len();
        if outer > 0 {
            prefix.push('.');
        }
        prefix.push_str(key);
        if value.get().starts_with('{') {
            let inside = |path: &&str| {
                path.len() > prefix.len() && path.starts_with(prefix.as_str()) && path.as_bytes()[prefix.len()] == b'.'
            };
            if paths.iter().flatten().any(inside) {
                collect(value, prefix, paths, found)?;
            }
        } else {
            for (path, slot) in paths.iter().zip(found.iter_mut()) {
                if *path == Some(prefix.as_str()) {
                    *slot = Some(value);
                }
            }
        }
        prefix.truncate(outer);
    }
    Ok(())
}

/// A JSON value as a cell: strings unescaped, `null` empty, numbers, booleans and lists
/// verbatim (int64s arrive as strings and stay digit for digit).
fn cell_text(raw: &RawValue) -> Result<String, serde_json::Error> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str(text),
        _ if text == "null" => Ok(String::new()),
        _ => Ok(text.to_string()),
    }
}
