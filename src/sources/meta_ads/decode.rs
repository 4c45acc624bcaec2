//! Decoding Graph insights pages straight into a [`RowBatch`].
//!
//! A page is walked once with a serde visitor: each row object's keys are matched to output
//! columns and its values copied as text. No `serde_json::Value` tree is built, and numbers
//! keep the exact digits Graph sent (they are strings there anyway; a bare JSON number is
//! kept verbatim, never re-formatted through a float). The body is checked as UTF-8 once,
//! and cells without escapes are borrowed from it, so a cell costs no allocation.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::rows::RowBatch;

/// What a page says beyond its rows.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct PageInfo {
    /// `paging.next`: the URL of the next page; absent on the last page.
    pub(crate) next: Option<String>,
    /// Rows the page held.
    pub(crate) rows: usize,
}

/// Appends the rows of an insights page to `batch` (columns in `columns` order) and returns
/// the paging information.
pub(crate) fn decode_page(body: &[u8], columns: &[String], batch: &mut RowBatch) -> Result<PageInfo, String> {
    let before = batch.len();
    let body = std::str::from_utf8(body).map_err(|e| format!("the page is not UTF-8: {e}"))?;
    let mut de = serde_json::Deserializer::from_str(body);
    let mut scratch = Vec::with_capacity(columns.len());
    let next = de
        .deserialize_map(PageVisitor {
            columns,
            batch,
            scratch: &mut scratch,
        })
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(PageInfo {
        next,
        rows: batch.len() - before,
    })
}

/// One row's cells, in column order, borrowed from the body where possible; reused row
/// after row.
type Scratch<'de> = Vec<Cow<'de, str>>;

struct PageVisitor<'a, 'de> {
    columns: &'a [String],
    batch: &'a mut RowBatch,
    scratch: &'a mut Scratch<'de>,
}

#[derive(Deserialize)]
struct Paging {
    next: Option<String>,
}

impl<'de> Visitor<'de> for PageVisitor<'_, 'de> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Graph page object with `data`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut next = None;
        let mut saw_data = false;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "data" => {
                    map.next_value_seed(RowsSeed {
                        columns: self.columns,
                        batch: &mut *self.batch,
                        scratch: &mut *self.scratch,
                    })?;
                    saw_data = true;
                }
                "paging" => {
                    next = map.next_value::<Option<Paging>>()?.and_then(|p| p.next);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !saw_data {
            return Err(serde::de::Error::missing_field("data"));
        }
        Ok(next)
    }
}

struct RowsSeed<'a, 'de> {
    columns: &'a [String],
    batch: &'a mut RowBatch,
    scratch: &'a mut Scratch<'de>,
}

impl<'de> DeserializeSeed<'de> for RowsSeed<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of insights rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let seed = RowSeed {
                columns: self.columns,
                scratch: &mut *self.scratch,
            };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(());
            }
            for cell in self.scratch.iter() {
                self.batch.push_cell(cell);
            }
        }
    }
}

struct RowSeed<'a, 'de> {
    columns: &'a [String],
    scratch: &'a mut Scratch<'de>,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an insights row object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.scratch.clear();
        self.scratch.resize(self.columns.len(), Cow::Borrowed(""));
        // Graph sends every row's keys in the same order, usually the requested one: try the
        // column after the last match before searching them all.
        let mut guess = 0;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let key = key.as_ref();
            let found = match self.columns.get(guess) {
                Some(column) if column == key => Some(guess),
                _ => self.columns.iter().position(|c| c == key),
            };
            if let Some(index) = found {
                guess = index + 1;
            }
            match found {
                Some(index) => {
                    let raw = map.next_value::<&'de RawValue>()?;
                    self.scratch[index] = cell_text(raw).map_err(serde::de::Error::custom)?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A JSON value as a CSV cell: strings unescaped (borrowed when there is nothing to
/// unescape), `null` empty, anything else verbatim.
fn cell_text(raw: &RawValue) -> Result<Cow<'_, str>, serde_json::Error> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') if !text.contains('\\') => Ok(Cow::Borrowed(&text[1..text.len() - 1])),
        Some(b'"') => serde_json::from_str::<String>(text).map(Cow::Owned),
        _ if text == "null" => Ok(Cow::Borrowed("")),
        _ => Ok(Cow::Borrowed(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rows_follow_column_order_and_keep_exact_digits() {
        let body = br#"{"data":[{"campaign_id":"120","campaign_name":"Spring, \"Sale\"","impressions":"361324","spend":"5339.50","date_start":"2025-03-01","date_stop":"2025-03-01","extra":{"x":1}},
                                {"spend":12.100,"impressions":7,"campaign_id":"121","date_start":"2025-03-01"}],
                        "paging":{"cursors":{"before":"MAZDZD","after":"MQZDZD"},"next":"https://graph.facebook.com/v25.0/act_123/insights?after=MQZDZD"}}"#;
        let cols = columns(&["date_start", "campaign_id", "campaign_name", "impressions", "spend"]);
        let mut batch = RowBatch::new(cols.len());
        let info = decode_page(body, &cols, &mut batch).unwrap();
        assert_eq!(info.rows, 2);
        assert_eq!(
            info.next.as_deref(),
            Some("https://graph.facebook.com/v25.0/act_123/insights?after=MQZDZD")
        );
        let rows: Vec<Vec<&str>> = batch.rows().map(|r| r.cells().collect()).collect();
        assert_eq!(rows[0], ["2025-03-01", "120", "Spring, \"Sale\"", "361324", "5339.50"]);
        assert_eq!(rows[1], ["2025-03-01", "121", "", "7", "12.100"]);
    }

    #[test]
    fn last_page_has_no_next() {
        let cols = columns(&["impressions"]);
        let mut batch = RowBatch::new(1);
        let info = decode_page(br#"{"data":[],"paging":{"cursors":{}}}"#, &cols, &mut batch).unwrap();
        assert_eq!(info, PageInfo { next: None, rows: 0 });
    }

    #[test]
    fn truncated_body_is_an_error_not_a_short_page() {
        let cols = columns(&["impressions"]);
        let mut batch = RowBatch::new(1);
        let err = decode_page(br#"{"data":[{"impressions":"1"},{"impr"#, &cols, &mut batch).unwrap_err();
        assert!(err.contains("EOF"), "{err}");
        assert!(decode_page(br#"{"paging":{}}"#, &cols, &mut RowBatch::new(1)).is_err());
    }
}
