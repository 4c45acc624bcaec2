//! The `searchStream` body, decoded as it arrives, each byte read once.
//!
//! The body is one JSON array of batches (`[{"results":[…],"fieldMask":…},…]`) that can be
//! as large as the report, arriving in chunks cut anywhere. The [`Scanner`] reads it in
//! steps that each end where the next may start: a byte between batches, one member of a
//! batch, one row of its `results`. A step the chunk cuts short is read again from its
//! start once the next chunk is appended, so only the unread tail (less than a row, usually)
//! is kept, and memory is bounded by one batch's rows. Row keys are matched against a tree
//! of the columns' JSON paths as they are read, and each cell is copied once, from the body
//! into the [`RowBatch`]. An element with an `error` (Google reports a failure that happens
//! mid-stream that way) ends the stream. The serde decoder this replaced (three reads of
//! every byte) is kept in the tests as the reference this one must match byte for byte.

#[cfg(test)]
mod serde_reference;

use crate::http::google_status::RpcError;
use crate::rows::{BatchForm, RowBatch};
use crate::sources::json_scan::{ScanError, Scanner, Text};

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

/// How many bytes past a scan error could still turn it into valid JSON: the longest a
/// step looks ahead (a surrogate pair's second half `\uDC00` is 6), so an error closer to
/// the end of the bytes read so far may only mean that the chunk cut the value.
const LOOKAHEAD: usize = 6;

/// The fewest bytes of a new chunk appended at a time to a step the last one cut short:
/// about a row of a typical report, so most cut steps are whole after one piece.
const MIN_PIECE: usize = 512;

/// One key of the columns' JSON paths, e.g. `metrics` with `costMicros` below it.
#[derive(Debug)]
struct PathNode {
    key: String,
    /// The output columns whose path ends here.
    columns: Vec<usize>,
    /// Keys one level down.
    children: Vec<PathNode>,
}

/// Where the reader is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the opening `[`.
    Start,
    /// Between batches (after `[` or after a batch).
    Between,
    /// Among a batch's members; `first` until one has been read.
    Batch { first: bool },
    /// Among the rows of a batch's `results`; `first` until one has been read.
    Results { first: bool },
    /// After the closing `]`.
    Done,
}

/// Where one row's cell was found, in the bytes being read or the unescape buffer.
#[derive(Debug, Clone, Copy)]
enum Cell {
    /// Absent or `null`.
    Empty,
    /// A string's text.
    Text(Text),
    /// Any other value, verbatim (numbers keep their digits, lists their text).
    Raw(usize, usize),
}

/// An incremental decoder of one `searchStream` body into rows of fixed columns.
#[derive(Debug)]
pub(crate) struct StreamDecoder {
    /// Per output column: its constant text, or `None` when a path in `paths` feeds it.
    fixed: Vec<Option<String>>,
    /// Per output column: whether it is micros converted to currency units.
    cost: Vec<bool>,
    /// The columns' JSON paths, from the row object's keys down.
    paths: Vec<PathNode>,
    state: State,
    /// Bytes received but not read yet: a step the last chunk cut short.
    unread: Vec<u8>,
    /// The rows of the batch being read, in `form`.
    batch: RowBatch,
    /// Cells, or CSV records for a CSV output (encoded here, off the writer's thread).
    form: BatchForm,
    /// The `error` of the batch being read.
    error: Option<RpcError>,
    /// The current row's cells, per output column.
    cells: Vec<Cell>,
    /// Escaped strings of the current step, decoded.
    unescaped: String,
    /// The current row's cost in currency units (one buffer for every row).
    cost_text: String,
}

impl StreamDecoder {
    /// A decoder for rows of `columns` (GAQL field names, or [`fields::COST`]). `fixed`
    /// gives columns a constant cell instead, e.g. `segments.date` of a whole-window total.
    pub(crate) fn new(columns: &[String], fixed: &[(&str, String)]) -> Self {
        let mut paths: Vec<PathNode> = Vec::new();
        for (index, name) in columns.iter().enumerate() {
            if fixed.iter().any(|(f, _)| f == name) {
                continue;
            }
            let mut level = &mut paths;
            let path = fields::json_path(fields::source_field(name));
            for (depth, key) in path.iter().enumerate() {
                let at = match level.iter().position(|node| &node.key == key) {
                    Some(at) => at,
                    None => {
                        level.push(PathNode {
                            key: key.clone(),
                            columns: Vec::new(),
                            children: Vec::new(),
                        });
                        level.len() - 1
                    }
                };
                if depth + 1 == path.len() {
                    level[at].columns.push(index);
                }
                level = &mut level[at].children;
            }
        }
        Self {
            fixed: columns
                .iter()
                .map(|name| fixed.iter().find(|(f, _)| f == name).map(|(_, text)| text.clone()))
                .collect(),
            cost: columns.iter().map(|name| name == fields::COST).collect(),
            paths,
            state: State::Start,
            unread: Vec::new(),
            batch: RowBatch::new(columns.len()),
            form: BatchForm::Cells,
            error: None,
            cells: vec![Cell::Empty; columns.len()],
            unescaped: String::new(),
            cost_text: String::new(),
        }
    }

    /// The decoder writing its batches in `form`: CSV records for a CSV output, so the
    /// quoting happens on the task that decodes, beside the writer, not on the writer.
    pub(crate) fn in_form(mut self, form: BatchForm) -> Self {
        self.form = form;
        self.batch = RowBatch::in_form(form, self.fixed.len(), 0);
        self
    }

    /// Reads the next `chunk` of the body; returns the batches it completed, in order.
    ///
    /// The chunk is read where it lies. Only a step the previous chunk cut short is read
    /// from a copy, to which the chunk's first bytes are appended in growing pieces until
    /// that step is whole; reading then moves onto the chunk itself, so the body is copied
    /// about a row per chunk, not whole.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<Vec<RowBatch>, DecodeError> {
        let mut batches = Vec::new();
        let mut appended = 0;
        let mut from = 0;
        while !self.unread.is_empty() {
            if appended == chunk.len() {
                return Ok(batches);
            }
            let earlier = self.unread.len() - appended;
            let piece = self.unread.len().max(MIN_PIECE).min(chunk.len() - appended);
            self.unread.extend_from_slice(&chunk[appended..appended + piece]);
            appended += piece;
            let mut bytes = std::mem::take(&mut self.unread);
            let (consumed, completed) = self.read(&bytes)?;
            batches.extend(completed);
            if consumed >= earlier {
                // The cut step is whole; what is left of the copy is the chunk's own.
                from = consumed - earlier;
                bytes.clear();
            } else {
                bytes.drain(..consumed);
            }
            // Keep the allocation for the next cut step.
            self.unread = bytes;
        }
        let (consumed, completed) = self.read(&chunk[from..])?;
        batches.extend(completed);
        self.unread.extend_from_slice(&chunk[from + consumed..]);
        Ok(batches)
    }

    /// Reads as many whole steps of `bytes` as it holds: how many bytes they took, and the
    /// batches they completed.
    fn read(&mut self, bytes: &[u8]) -> Result<(usize, Vec<RowBatch>), DecodeError> {
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            // A character the chunk cut in two waits for its other bytes.
            Err(e) if e.error_len().is_none() => std::str::from_utf8(&bytes[..e.valid_up_to()]).map_err(not_utf8)?,
            Err(e) => return Err(not_utf8(e)),
        };
        let mut batches = Vec::new();
        let mut at = 0;
        while at < text.len() {
            if let State::Start | State::Between | State::Done = self.state {
                self.between_batches(text.as_bytes()[at])?;
                at += 1;
                continue;
            }
            // Every step ends after an ASCII delimiter, so `at` is a character boundary.
            let rest = &text[at..];
            let mut scanner = Scanner::new(rest);
            self.unescaped.clear();
            match self.step(&mut scanner, rest) {
                Ok(completed) => batches.extend(completed),
                Err(Step::Scan(ScanError::Malformed { at, .. })) if at + LOOKAHEAD > rest.len() => break,
                Err(Step::Scan(e)) => return Err(DecodeError::Malformed(format!("a batch is not valid JSON: {e}"))),
                Err(Step::Decode(e)) => return Err(e),
            }
            at += scanner.position();
        }
        Ok((at, batches))
    }

    /// One byte outside any batch: whitespace, the array's brackets, a comma, or the `{`
    /// that opens a batch.
    fn between_batches(&mut self, b: u8) -> Result<(), DecodeError> {
        match (self.state, b) {
            (_, b) if b.is_ascii_whitespace() => {}
            (State::Start, b'[') => self.state = State::Between,
            (State::Between, b',') => {}
            (State::Between, b']') => self.state = State::Done,
            (State::Between, b'{') => self.state = State::Batch { first: true },
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

    /// One step inside a batch, from `body`'s start: a member of the batch, its end (which
    /// completes it), or a row. Its effects happen only once it was read whole.
    fn step(&mut self, scanner: &mut Scanner<'_>, body: &str) -> Result<Option<RowBatch>, Step> {
        match self.state {
            State::Batch { first } => {
                let Some(key) = scanner.next_member(first, &mut self.unescaped)? else {
                    self.state = State::Between;
                    if let Some(error) = self.error.take() {
                        return Err(Step::Decode(DecodeError::Platform(error)));
                    }
                    let next = RowBatch::in_form(self.form, self.fixed.len(), 0);
                    return Ok(Some(std::mem::replace(&mut self.batch, next)));
                };
                match key.get(body, &self.unescaped) {
                    "results" => {
                        scanner.begin_array()?;
                        self.state = State::Results { first: true };
                        return Ok(None);
                    }
                    "error" if !scanner.null()? => {
                        let (start, end) = scanner.skip_value()?;
                        let error = serde_json::from_str(&body[start..end]).map_err(|e| {
                            Step::Decode(DecodeError::Malformed(format!("the stream's error is not one: {e}")))
                        })?;
                        self.error = Some(error);
                    }
                    "error" => {}
                    _ => {
                        scanner.skip_value()?;
                    }
                }
                // A number ends only where something else starts.
                scanner.peek()?;
                self.state = State::Batch { first: false };
            }
            State::Results { first } => {
                if !scanner.next_element(first)? {
                    self.state = State::Batch { first: false };
                    return Ok(None);
                }
                self.cells.iter_mut().for_each(|cell| *cell = Cell::Empty);
                read_object(scanner, body, &self.paths, &mut self.cells, &mut self.unescaped)?;
                self.push_row(body)?;
                self.state = State::Results { first: false };
            }
            _ => unreachable!("steps are taken inside a batch only"),
        }
        Ok(None)
    }

    /// Appends the row whose cells were just read from `body`.
    fn push_row(&mut self, body: &str) -> Result<(), DecodeError> {
        for (column, fixed) in self.fixed.iter().enumerate() {
            let text = match (fixed, self.cells[column]) {
                (Some(text), _) => text.as_str(),
                (None, Cell::Empty) => "",
                (None, Cell::Text(text)) => text.get(body, &self.unescaped),
                (None, Cell::Raw(start, end)) => &body[start..end],
            };
            if self.cost[column] && fixed.is_none() && !text.is_empty() {
                self.cost_text.clear();
                if !fields::push_cost_from_micros(text, &mut self.cost_text) {
                    return Err(DecodeError::Malformed(format!("costMicros {text:?} is not an integer")));
                }
                self.batch.push_cell(&self.cost_text);
            } else {
                self.batch.push_cell(text);
            }
        }
        Ok(())
    }

    /// Checks that the body ended where the array ends (a cut connection leaves it open).
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        match self.state {
            State::Done if self.unread.is_empty() => Ok(()),
            State::Done => Err(DecodeError::Malformed(
                "the response ends in a cut character after the batch array".into(),
            )),
            State::Start => Err(DecodeError::Malformed("the response body is empty".into())),
            _ => Err(DecodeError::Malformed(
                "the response ended before the batch array was closed".into(),
            )),
        }
    }
}

/// Why a step stopped: the scanner's error (maybe only the chunk's end) or a decoding one.
#[derive(Debug)]
enum Step {
    Scan(ScanError),
    Decode(DecodeError),
}

impl From<ScanError> for Step {
    fn from(e: ScanError) -> Self {
        Step::Scan(e)
    }
}

impl From<DecodeError> for Step {
    fn from(e: DecodeError) -> Self {
        Step::Decode(e)
    }
}

fn not_utf8(e: std::str::Utf8Error) -> DecodeError {
    DecodeError::Malformed(format!("the response is not UTF-8: {e}"))
}

/// Reads the object that comes next, filling `cells` from the keys `paths` names: a value
/// at the end of a path is its columns' cell; an object some path goes through is read the
/// same way; anything else is skipped.
fn read_object(
    scanner: &mut Scanner<'_>,
    body: &str,
    paths: &[PathNode],
    cells: &mut [Cell],
    unescaped: &mut String,
) -> Result<(), ScanError> {
    scanner.begin_object()?;
    let mut first = true;
    while let Some(key) = scanner.next_member(first, unescaped)? {
        first = false;
        let key = key.get(body, unescaped);
        let Some(node) = paths.iter().find(|node| node.key == key) else {
            scanner.skip_value()?;
            continue;
        };
        match scanner.peek()? {
            b'{' if node.children.is_empty() => {
                scanner.skip_value()?;
            }
            b'{' => read_object(scanner, body, &node.children, cells, unescaped)?,
            b'"' => {
                let text = scanner.string(unescaped)?;
                node.columns.iter().for_each(|&column| cells[column] = Cell::Text(text));
            }
            _ => {
                let cell = if scanner.null()? {
                    Cell::Empty
                } else {
                    let (start, end) = scanner.skip_value()?;
                    Cell::Raw(start, end)
                };
                node.columns.iter().for_each(|&column| cells[column] = cell);
            }
        }
    }
    Ok(())
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

#[cfg(test)]
mod reference_tests {
    use rand::{seq::SliceRandom, Rng, SeedableRng};

    use super::*;

    const COLUMNS: [&str; 11] = [
        "segments.date",
        "campaign.id",
        "campaign.name",
        "campaign.status",
        "metrics.clicks",
        "metrics.cost_micros",
        "metrics.cost",
        "metrics.ctr",
        "ad_group_ad.ad.id",
        "ad_group.id",
        "customer.descriptive_name",
    ];

    fn text(rng: &mut impl Rng) -> String {
        const TEXTS: [&str; 10] = [
            r#""Brand""#,
            r#""a \"quoted\", name\\ with\nbreaks\t/\/""#,
            r#""caf\u00e9 \ud83d\ude00 \u2028""#,
            r#""ünïcödé 日本語 😀""#,
            r#""""#,
            r#""9223372036854775807""#,
            r#""ENABLED""#,
            r#""PERFORMANCE_MAX""#,
            r#""customers/1234567890/campaigns/111""#,
            r#""}]\"[{,""#,
        ];
        TEXTS[rng.gen_range(0..TEXTS.len())].to_string()
    }

    fn value(rng: &mut impl Rng) -> String {
        match rng.gen_range(0..10) {
            0 => "null".to_string(),
            1 => ["0.0425", "-1.5e+3", "7", "0", "1E2"][rng.gen_range(0..5)].to_string(),
            2 => ["true", "false"][rng.gen_range(0..2)].to_string(),
            3 => r#"[1, "a\"b", {"c": null}]"#.to_string(),
            4 => r#"{"nested": {"deeper": ["x"]}, "n": -0}"#.to_string(),
            _ => text(rng),
        }
    }

    /// An object of `members`, each present most of the time, in a shuffled order sometimes.
    fn object(members: Vec<(&str, String)>, rng: &mut impl Rng) -> String {
        let mut members: Vec<String> = members
            .into_iter()
            .filter(|_| rng.gen_bool(0.85))
            .map(|(key, value)| format!(r#""{key}":{value}"#))
            .collect();
        if rng.gen_bool(0.3) {
            members.shuffle(rng);
        }
        let separator = [",", " , ", ",\n   "][rng.gen_range(0..3)];
        format!("{{{}}}", members.join(separator))
    }

    fn micros(rng: &mut impl Rng) -> String {
        match rng.gen_range(0..6) {
            0 => "null".to_string(),
            1 => "12340000".to_string(),
            _ => format!(r#""{}""#, rng.gen_range(-5_000_000_000i64..50_000_000_000)),
        }
    }

    fn row(rng: &mut impl Rng) -> String {
        let campaign = object(
            vec![
                ("resourceName", text(rng)),
                ("id", format!(r#""{}""#, rng.gen::<u32>())),
                ("name", value(rng)),
                ("status", value(rng)),
            ],
            rng,
        );
        let metrics = object(
            vec![
                ("clicks", value(rng)),
                ("costMicros", micros(rng)),
                ("ctr", value(rng)),
                ("impressions", value(rng)),
            ],
            rng,
        );
        let ad = object(vec![("id", value(rng)), ("type", value(rng))], rng);
        let ad_group_ad = object(vec![("ad", ad), ("status", value(rng))], rng);
        let segments = object(
            vec![("date", r#""2025-03-01""#.to_string()), ("device", value(rng))],
            rng,
        );
        let campaign = if rng.gen_bool(0.05) { value(rng) } else { campaign };
        object(
            vec![
                ("campaign", campaign),
                ("metrics", metrics),
                ("adGroupAd", ad_group_ad),
                ("segments", segments),
                ("adGroup", value(rng)),
                ("customer", "{}".to_string()),
            ],
            rng,
        )
    }

    fn batch(rng: &mut impl Rng) -> String {
        if rng.gen_bool(0.03) {
            return r#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED","details":[{"@type":"x","errors":[{"message":"\u00e9"}]}]}}"#.to_string();
        }
        let rows: Vec<String> = (0..rng.gen_range(0..12)).map(|_| row(rng)).collect();
        let results = if rng.gen_bool(0.2) { r"res\u0075lts" } else { "results" };
        object(
            vec![
                (results, format!("[{}]", rows.join(", "))),
                ("fieldMask", r#""campaign.id,metrics.clicks""#.to_string()),
                ("requestId", r#""Z4Q_KggHsDHwTzYYp-_H2A""#.to_string()),
                (
                    "queryResourceConsumption",
                    ["\"123\"", "123", "1.5e2"][rng.gen_range(0..3)].to_string(),
                ),
                ("error", "null".to_string()),
            ],
            rng,
        )
    }

    /// What a decoder made of a body fed in `chunks`: its batches, or the kind of error
    /// it ended with (when it surfaces may differ: the reference sees a batch only whole).
    /// `feed` reads a chunk, or checks the end at `None`.
    fn outcome<F>(chunks: &[&[u8]], mut feed: F) -> Result<Vec<RowBatch>, String>
    where
        F: FnMut(Option<&[u8]>) -> Result<Vec<RowBatch>, DecodeError>,
    {
        let kind = |e: DecodeError| match e {
            DecodeError::Malformed(_) => "malformed".to_string(),
            DecodeError::Platform(e) => e.status,
        };
        let mut batches = Vec::new();
        for chunk in chunks {
            batches.extend(feed(Some(chunk)).map_err(kind)?);
        }
        feed(None).map_err(kind)?;
        Ok(batches)
    }

    #[test]
    fn one_pass_output_is_byte_identical_to_the_serde_reference_wherever_chunks_split() {
        let columns: Vec<String> = COLUMNS.iter().map(|s| s.to_string()).collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(16);
        let (mut decoded, mut failed) = (0, 0);
        for body_number in 0..400 {
            let batches: Vec<String> = (0..rng.gen_range(0..5)).map(|_| batch(&mut rng)).collect();
            let mut body = format!("[{}]\n", batches.join([",", " ,\n"][body_number % 2])).into_bytes();
            // Some bodies are broken: cut off, or a byte overwritten.
            match rng.gen_range(0..12) {
                0 => body.truncate(rng.gen_range(0..body.len())),
                1 => {
                    let at = rng.gen_range(0..body.len());
                    body[at] = b"{}[],:\"\\x0 "[rng.gen_range(0..11)];
                }
                _ => {}
            }
            let mut cuts: Vec<usize> = (0..rng.gen_range(0..12))
                .map(|_| rng.gen_range(0..=body.len()))
                .collect();
            if body_number % 10 == 0 {
                cuts = (0..=body.len()).collect();
            }
            cuts.sort_unstable();
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut from = 0;
            for cut in cuts.into_iter().chain([body.len()]) {
                chunks.push(&body[from..cut]);
                from = cut;
            }
            let fixed = if body_number % 7 == 0 {
                vec![("segments.date", "2026-03-01".to_string())]
            } else {
                Vec::new()
            };
            let mut one_pass = StreamDecoder::new(&columns, &fixed);
            let mut reference = serde_reference::StreamDecoder::new(&columns, &fixed);
            let new = outcome(&chunks, |chunk| match chunk {
                Some(chunk) => one_pass.feed(chunk),
                None => one_pass.finish().map(|()| Vec::new()),
            });
            let old = outcome(&chunks, |chunk| match chunk {
                Some(chunk) => reference.feed(chunk),
                None => reference.finish().map(|()| Vec::new()),
            });
            let mut encoding = StreamDecoder::new(&columns, &fixed).in_form(BatchForm::Csv);
            let encoded = outcome(&chunks, |chunk| match chunk {
                Some(chunk) => encoding.feed(chunk),
                None => encoding.finish().map(|()| Vec::new()),
            });
            let body = String::from_utf8_lossy(&body);
            assert_eq!(new, old, "{body}");
            // CSV records written while decoding are the csv crate's encoding of the cells.
            match (&encoded, &old) {
                (Ok(encoded), Ok(cells)) => {
                    assert_eq!(encoded.len(), cells.len());
                    for (encoded, cells) in encoded.iter().zip(cells) {
                        assert_eq!(
                            String::from_utf8_lossy(encoded.csv_records().unwrap()),
                            String::from_utf8_lossy(&cells.csv_crate_encoding()),
                            "{body}"
                        );
                    }
                }
                (encoded, cells) => assert_eq!(encoded.as_ref().err(), cells.as_ref().err(), "{body}"),
            }
            match new {
                Ok(_) => decoded += 1,
                Err(_) => failed += 1,
            }
        }
        // The comparison covered both outcomes.
        assert!(decoded > 200 && failed > 40, "{decoded} decoded, {failed} failed");
    }
}
