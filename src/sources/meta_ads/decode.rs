//! Decoding Graph insights pages straight into a [`RowBatch`].
//!
//! A page is walked once with a serde visitor: each row object's keys are matched to output
//! columns and its values copied as text. No `serde_json::Value` tree is built, and numbers
//! keep the exact digits Graph sent (they are strings there anyway; a bare JSON number is
//! kept verbatim, never re-formatted through a float). The body is checked as UTF-8 once,
//! and cells without escapes are borrowed from it, so a cell costs no allocation.
//!
//! Action lists (`"actions":[{"action_type":"purchase","value":"3","7d_click":"2"},…]`) are
//! walked the same way: a [`Layout`] built once per request says which columns each entry's
//! type and window feed, so a type absent from a row leaves its cells empty and no map is
//! built per row.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::platform::meta_ads::{column_field, ActionColumn};
use crate::rows::RowBatch;

/// Where each key of an insights row goes, from the output columns: a plain key fills one
/// cell, an action-list key fills the cells of the `field:type[:window]` columns naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// One entry per distinct key, in the order the columns first name them (Graph's row
    /// order, usually).
    keys: Vec<(String, Target)>,
    width: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// The value is the cell at this column.
    Cell(usize),
    /// The value is an action list feeding these cells.
    Actions(Vec<ActionCell>),
}

/// One `field:type[:window]` column of an action list.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ActionCell {
    column: usize,
    action_type: String,
    /// The entry key holding the cell: the window, or `value`.
    key: String,
}

impl Layout {
    /// The layout of `columns` (fields and breakdowns, in output order).
    pub(crate) fn new(columns: &[String]) -> Self {
        let mut keys: Vec<(String, Target)> = Vec::new();
        for (column, name) in columns.iter().enumerate() {
            let Some(action) = ActionColumn::parse(name) else {
                keys.push((name.clone(), Target::Cell(column)));
                continue;
            };
            let cell = ActionCell {
                column,
                action_type: action.action_type.to_string(),
                key: action.window.unwrap_or("value").to_string(),
            };
            match keys.iter_mut().find(|(key, _)| key == action.field) {
                Some((_, Target::Actions(cells))) => cells.push(cell),
                _ => keys.push((action.field.to_string(), Target::Actions(vec![cell]))),
            }
        }
        Layout {
            keys,
            width: columns.len(),
        }
    }

    /// Cells per row.
    pub(crate) fn width(&self) -> usize {
        self.width
    }

    /// The Insights fields to request for these columns: each field once, `actions` for
    /// every `actions:…` column.
    pub(crate) fn fields(columns: &[String]) -> Vec<&str> {
        let mut fields: Vec<&str> = Vec::with_capacity(columns.len());
        for column in columns {
            let field = column_field(column);
            if !fields.contains(&field) {
                fields.push(field);
            }
        }
        fields
    }
}

/// What a page says beyond its rows.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct PageInfo {
    /// `paging.next`: the URL of the next page; absent on the last page.
    pub(crate) next: Option<String>,
    /// Rows the page held.
    pub(crate) rows: usize,
}

/// Appends the rows of an insights page to `batch` (cells as `layout` places them) and
/// returns the paging information.
pub(crate) fn decode_page(body: &[u8], layout: &Layout, batch: &mut RowBatch) -> Result<PageInfo, String> {
    let before = batch.len();
    let body = std::str::from_utf8(body).map_err(|e| format!("the page is not UTF-8: {e}"))?;
    let mut de = serde_json::Deserializer::from_str(body);
    let mut scratch = Vec::with_capacity(layout.width);
    let next = de
        .deserialize_map(PageVisitor {
            layout,
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
    layout: &'a Layout,
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
                        layout: self.layout,
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
    layout: &'a Layout,
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
                layout: self.layout,
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
    layout: &'a Layout,
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
        self.scratch.resize(self.layout.width, Cow::Borrowed(""));
        let keys = &self.layout.keys;
        // Graph sends every row's keys in the same order, usually the requested one: try the
        // key after the last match before searching them all.
        let mut guess = 0;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let key = key.as_ref();
            let found = match keys.get(guess) {
                Some((known, _)) if known == key => Some(guess),
                _ => keys.iter().position(|(known, _)| known == key),
            };
            let Some(index) = found else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            guess = index + 1;
            match &keys[index].1 {
                Target::Cell(column) => {
                    let raw = map.next_value::<&'de RawValue>()?;
                    self.scratch[*column] = cell_text(raw).map_err(serde::de::Error::custom)?;
                }
                Target::Actions(cells) => map.next_value_seed(ActionsSeed {
                    cells,
                    scratch: &mut *self.scratch,
                })?,
            }
        }
        Ok(())
    }
}

/// An action list (`null` or an array of `{action_type, value, <window>…}` entries) into
/// the cells of its columns.
struct ActionsSeed<'a, 'de> {
    cells: &'a [ActionCell],
    scratch: &'a mut Scratch<'de>,
}

impl<'de> DeserializeSeed<'de> for ActionsSeed<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for ActionsSeed<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of action stats")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let entry = ActionEntrySeed {
                cells: self.cells,
                scratch: &mut *self.scratch,
            };
            if seq.next_element_seed(entry)?.is_none() {
                return Ok(());
            }
        }
    }
}

/// One `AdsActionStats` entry into the cells naming its `action_type`.
struct ActionEntrySeed<'a, 'de> {
    cells: &'a [ActionCell],
    scratch: &'a mut Scratch<'de>,
}

impl<'de> DeserializeSeed<'de> for ActionEntrySeed<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ActionEntrySeed<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an action stats object with action_type")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut action_type: Option<Cow<'de, str>> = None;
        // Whether any column names the entry's type; the values of other types are skipped.
        let mut wanted = true;
        // Values seen before `action_type` (Graph sends it first, so this stays empty).
        let mut early: Vec<(Cow<'de, str>, &'de RawValue)> = Vec::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "action_type" {
                let name = map.next_value::<Cow<'de, str>>()?;
                for (key, raw) in early.drain(..) {
                    fill(self.cells, self.scratch, &name, &key, raw)?;
                }
                wanted = self.cells.iter().any(|c| c.action_type == name);
                action_type = Some(name);
                continue;
            }
            if !wanted {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let raw = map.next_value::<&'de RawValue>()?;
            match &action_type {
                Some(name) => fill(self.cells, self.scratch, name, &key, raw)?,
                None => early.push((key, raw)),
            }
        }
        if action_type.is_none() {
            return Err(serde::de::Error::missing_field("action_type"));
        }
        Ok(())
    }
}

/// Puts `raw`, the `key` value of the `action_type` entry, into the cells naming both.
fn fill<'de, E: serde::de::Error>(
    cells: &[ActionCell],
    scratch: &mut Scratch<'de>,
    action_type: &str,
    key: &str,
    raw: &'de RawValue,
) -> Result<(), E> {
    for cell in cells.iter().filter(|c| c.action_type == action_type && c.key == key) {
        scratch[cell.column] = cell_text(raw).map_err(E::custom)?;
    }
    Ok(())
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
        let info = decode_page(body, &Layout::new(&cols), &mut batch).unwrap();
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
        let info = decode_page(
            br#"{"data":[],"paging":{"cursors":{}}}"#,
            &Layout::new(&cols),
            &mut batch,
        )
        .unwrap();
        assert_eq!(info, PageInfo { next: None, rows: 0 });
    }

    #[test]
    fn truncated_body_is_an_error_not_a_short_page() {
        let cols = columns(&["impressions"]);
        let mut batch = RowBatch::new(1);
        let layout = Layout::new(&cols);
        let err = decode_page(br#"{"data":[{"impressions":"1"},{"impr"#, &layout, &mut batch).unwrap_err();
        assert!(err.contains("EOF"), "{err}");
        assert!(decode_page(br#"{"paging":{}}"#, &layout, &mut RowBatch::new(1)).is_err());
    }

    #[test]
    fn action_columns_take_their_type_and_window_and_stay_empty_where_the_type_is_absent() {
        let body = br#"{"data":[
            {"impressions":"10","actions":[{"action_type":"link_click","value":"7","7d_click":"6"},
                                           {"action_type":"purchase","value":"3","7d_click":"2","1d_view":"1"}],
             "action_values":[{"action_type":"purchase","value":"41.50"}],"date_start":"2026-03-01"},
            {"impressions":"11","actions":[{"value":"5","action_type":"link_click","1d_view":"1"}],"date_start":"2026-03-02"},
            {"impressions":"12","date_start":"2026-03-03"}]}"#;
        let cols = columns(&[
            "date_start",
            "actions:purchase",
            "actions:purchase:7d_click",
            "actions:link_click:1d_view",
            "action_values:purchase",
            "impressions",
        ]);
        let mut batch = RowBatch::new(cols.len());
        decode_page(body, &Layout::new(&cols), &mut batch).unwrap();
        let rows: Vec<Vec<&str>> = batch.rows().map(|r| r.cells().collect()).collect();
        assert_eq!(rows[0], ["2026-03-01", "3", "2", "", "41.50", "10"]);
        assert_eq!(rows[1], ["2026-03-02", "", "", "1", "", "11"]);
        assert_eq!(rows[2], ["2026-03-03", "", "", "", "", "12"]);
    }

    #[test]
    fn an_action_entry_without_a_type_is_an_error() {
        let cols = columns(&["actions:purchase"]);
        let body = br#"{"data":[{"actions":[{"value":"3"}]}]}"#;
        let err = decode_page(body, &Layout::new(&cols), &mut RowBatch::new(1)).unwrap_err();
        assert!(err.contains("action_type"), "{err}");
    }

    #[test]
    fn each_field_is_requested_once() {
        let cols = columns(&["date_start", "actions:purchase", "actions:lead:7d_click", "spend"]);
        assert_eq!(Layout::fields(&cols), ["date_start", "actions", "spend"]);
    }
}
