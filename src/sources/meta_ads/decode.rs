//! Decoding Graph insights pages straight into a [`RowBatch`].
//!
//! A page is walked once with a serde visitor: each row object's keys are matched to output
//! columns and its values copied as text. No `serde_json::Value` tree is built, and numbers
//! keep the exact digits Graph sent (they are strings there anyway; a bare JSON number is
//! kept verbatim, never re-formatted through a float).

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::rows::RowBatch;

/// What a page says beyond its rows.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PageInfo {
    /// `paging.next`: the URL of the next page; absent on the last page.
    pub next: Option<String>,
    /// Rows the page held.
    pub rows: usize,
}

/// Appends the rows of an insights page to `batch` (columns in `columns` order) and returns
/// the paging information.
pub fn decode_page(body: &[u8], columns: &[String], batch: &mut RowBatch) -> Result<PageInfo, String> {
    let before = batch.len();
    let mut de = serde_json::Deserializer::from_slice(body);
    let next = de
        .deserialize_map(PageVisitor { columns, batch })
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(PageInfo {
        next,
        rows: batch.len() - before,
    })
}

struct PageVisitor<'a> {
    columns: &'a [String],
    batch: &'a mut RowBatch,
}

#[derive(Deserialize)]
struct Paging {
    next: Option<String>,
}

impl<'de> Visitor<'de> for PageVisitor<'_> {
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
                        batch: self.batch,
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

struct RowsSeed<'a> {
    columns: &'a [String],
    batch: &'a mut RowBatch,
}

impl<'de> DeserializeSeed<'de> for RowsSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of insights rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(RowSeed {
                columns: self.columns,
                batch: self.batch,
            })?
            .is_some()
        {}
        Ok(())
    }
}

struct RowSeed<'a> {
    columns: &'a [String],
    batch: &'a mut RowBatch,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an insights row object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let row = self.batch.push_empty_row();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match self.columns.iter().position(|c| c == key.as_ref()) {
                Some(index) => {
                    let raw = map.next_value::<&'de RawValue>()?;
                    row[index] = cell_text(raw).map_err(serde::de::Error::custom)?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A JSON value as a CSV cell: strings unescaped, `null` empty, anything else verbatim.
fn cell_text(raw: &RawValue) -> Result<String, serde_json::Error> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(text),
        _ if text == "null" => Ok(String::new()),
        _ => Ok(text.to_string()),
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
        let rows: Vec<_> = batch.rows().collect();
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
