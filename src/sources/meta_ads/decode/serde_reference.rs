//! The serde visitor that decoded insights pages before the scanner, kept as the reference
//! the scanner's output is compared with: same rows, same cells, byte for byte.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{ActionCell, Layout, PageInfo, Target};
use crate::rows::RowBatch;

/// Appends the rows of an insights page to `batch` (cells as `layout` places them) and
/// returns the paging information.
pub(super) fn decode_page(body: &[u8], layout: &Layout, batch: &mut RowBatch) -> Result<PageInfo, String> {
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
