//! The `searchStream` body, decoded as it arrives.
//!
//! The body is one JSON array of batches (`[{"results":[…],"fieldMask":…},…]`) that can be
//! as large as the report. It is never held whole: a small scanner follows the bytes of each
//! chunk, keeps only the batch being read, and decodes it into a [`RowBatch`] as soon as its
//! closing brace arrives, so memory is bounded by one batch. An element with an `error`
//! (Google reports a failure that happens mid-stream that way) ends the stream.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::http::google_status::RpcError;
use crate::rows::RowBatch;

use super::fields;

/// Why the stream could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DecodeError {
    /// Not a JSON array of batches, or cut off.
    #[error("{0}")]
    Malformed(String),
    /// The platform put an error into the stream.
    #[error("{}", .0.describe())]
    Platform(RpcError),
}

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
pub(crate) struct StreamDecoder {
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
    pub(crate) fn new(columns: &[String], fixed: &[(&str, String)]) -> Self {
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
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<Vec<RowBatch>, DecodeError> {
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
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// api-facts §3.1, verbatim.
    const STREAM: &str = r#"[
 {"results":[{"campaign":{"resourceName":"customers/1234567890/campaigns/111","id":"111","name":"Brand"},
              "metrics":{"clicks":"42","impressions":"1000","costMicros":"12340000"},
              "segments":{"date":"2025-03-01"}}],
  "fieldMask":"campaign.id,campaign.name,metrics.clicks,metrics.impressions,metrics.costMicros,segments.date",
  "requestId":"Z4Q_KggHsDHwTzYYp-_H2A","queryResourceConsumption":"123"}
]"#;

    fn columns(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn cells(batches: &[RowBatch]) -> Vec<Vec<String>> {
        batches
            .iter()
            .flat_map(|b| {
                b.rows()
                    .map(|r| r.cells().map(str::to_string).collect())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    const COLUMNS: [&str; 7] = [
        "segments.date",
        "campaign.id",
        "campaign.name",
        "metrics.clicks",
        "metrics.cost_micros",
        "metrics.cost",
        "ad_group.id",
    ];

    #[test]
    fn the_documented_stream_decodes_wherever_the_chunks_split() {
        let expected = vec![columns(&["2025-03-01", "111", "Brand", "42", "12340000", "12.34", ""])];
        let body = STREAM.as_bytes();
        for split in 0..=body.len() {
            let mut decoder = StreamDecoder::new(&columns(&COLUMNS), &[]);
            let mut batches = decoder.feed(&body[..split]).unwrap();
            batches.extend(decoder.feed(&body[split..]).unwrap());
            decoder.finish().unwrap();
            assert_eq!(cells(&batches), expected, "split at {split}");
        }
        // And byte by byte.
        let mut decoder = StreamDecoder::new(&columns(&COLUMNS), &[]);
        let batches: Vec<RowBatch> = body
            .iter()
            .flat_map(|b| decoder.feed(std::slice::from_ref(b)).unwrap())
            .collect();
        decoder.finish().unwrap();
        assert_eq!(cells(&batches), expected);
    }

    #[test]
    fn each_batch_is_emitted_when_it_closes() {
        let body = r#"[{"results":[{"adGroupAd":{"ad":{"id":"9"}},"metrics":{"ctr":0.0425,"conversions":1.5}}],"fieldMask":"adGroupAd.ad.id"},
                      {"results":[{"adGroupAd":{"ad":{"id":"10"}},"metrics":{}},{"adGroupAd":{"ad":{"id":"\"}]x"}}}]},
                      {"fieldMask":"adGroupAd.ad.id","requestId":"r","queryResourceConsumption":"5"}]"#;
        let cols = columns(&["ad_group_ad.ad.id", "metrics.ctr", "metrics.conversions"]);
        let mut decoder = StreamDecoder::new(&cols, &[]);
        let first_end = body.find("},\n").unwrap() + 1;
        let first = decoder.feed(&body.as_bytes()[..first_end]).unwrap();
        assert_eq!(cells(&first), vec![columns(&["9", "0.0425", "1.5"])]);
        let rest = decoder.feed(&body.as_bytes()[first_end..]).unwrap();
        assert_eq!(rest.len(), 2);
        assert_eq!(
            cells(&rest),
            vec![columns(&["10", "", ""]), columns(&["\"}]x", "", ""])]
        );
        assert!(rest[1].is_empty());
        decoder.finish().unwrap();
    }

    #[test]
    fn enums_and_resource_names_are_written_as_the_api_sends_them() {
        let body = r#"[{"results":[{"campaign":{"status":"ENABLED","advertisingChannelType":"PERFORMANCE_MAX"},
            "segments":{"conversionAction":"customers/1/conversionActions/7","conversionActionCategory":"SUBMIT_LEAD_FORM"}}]}]"#;
        let cols = columns(&[
            "campaign.status",
            "campaign.advertising_channel_type",
            "segments.conversion_action",
            "segments.conversion_action_category",
        ]);
        let mut decoder = StreamDecoder::new(&cols, &[]);
        let batches = decoder.feed(body.as_bytes()).unwrap();
        assert_eq!(
            cells(&batches),
            vec![columns(&[
                "ENABLED",
                "PERFORMANCE_MAX",
                "customers/1/conversionActions/7",
                "SUBMIT_LEAD_FORM"
            ])]
        );
    }

    #[test]
    fn a_fixed_column_fills_every_row() {
        let cols = columns(&["segments.date", "campaign.id"]);
        let mut decoder = StreamDecoder::new(&cols, &[("segments.date", "2026-03-01".to_string())]);
        let batches = decoder.feed(STREAM.as_bytes()).unwrap();
        assert_eq!(cells(&batches), vec![columns(&["2026-03-01", "111"])]);
    }

    #[test]
    fn truncated_or_foreign_bodies_are_errors() {
        let cols = columns(&["campaign.id"]);
        let mut decoder = StreamDecoder::new(&cols, &[]);
        let half = &STREAM.as_bytes()[..STREAM.len() / 2];
        assert!(decoder.feed(half).unwrap().is_empty());
        assert!(matches!(decoder.finish(), Err(DecodeError::Malformed(_))));
        let mut decoder = StreamDecoder::new(&cols, &[]);
        assert!(decoder.feed(br#"{"results":[]}"#).is_err());
        let mut decoder = StreamDecoder::new(&cols, &[]);
        assert!(decoder.feed(b"[{\"results\":[{\"campaign\":{\"id\":1}}]}] x").is_err());
        assert!(matches!(
            StreamDecoder::new(&cols, &[]).finish(),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn an_error_in_the_stream_ends_it_with_the_platform_error() {
        let body = r#"[{"results":[{"campaign":{"id":"1"}}]},
            {"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}]"#;
        let mut decoder = StreamDecoder::new(&columns(&["campaign.id"]), &[]);
        match decoder.feed(body.as_bytes()) {
            Err(DecodeError::Platform(error)) => assert_eq!(error.status, "RESOURCE_EXHAUSTED"),
            other => panic!("expected the platform error, got {other:?}"),
        }
    }
}
