//! Where a setting is written: the `line:col` of a dotted key such as
//! `connections[1].client_secret_env` in the config's text, so every problem found after
//! parsing (a range, a missing secret) points at its place like a parse error does.

use toml_edit::{ImDocument, Item, TableLike};

use super::line_col;

/// The 1-based line and column of `field`'s value in `text`; of the nearest enclosing table
/// when the key itself is absent (a missing key); `None` when the file does not mention it
/// at all (a default, or a value from the environment).
pub(crate) fn locate(text: &str, field: &str) -> Option<(usize, usize)> {
    let doc = ImDocument::parse(text).ok()?;
    let mut table: &dyn TableLike = doc.as_table();
    let mut found: Option<usize> = None;
    for segment in field.split('.') {
        let (name, index) = match segment.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let Some(item) = table.get(name) else { break };
        found = item.span().map(|s| s.start).or(found);
        let next = match index {
            None => item.as_table_like(),
            Some(i) => {
                let (start, next) = element(item, i);
                found = start.or(found);
                next
            }
        };
        match next {
            Some(next) => table = next,
            None => break,
        }
    }
    found.map(|start| line_col(text, start))
}

/// Element `i` of an array of tables (`[[connections]]`) or an inline array of tables: where
/// it starts, and its keys.
fn element(item: &Item, i: usize) -> (Option<usize>, Option<&dyn TableLike>) {
    if let Item::ArrayOfTables(tables) = item {
        return match tables.get(i) {
            Some(t) => (t.span().map(|s| s.start), Some(t as &dyn TableLike)),
            None => (None, None),
        };
    }
    match item.as_array().and_then(|a| a.get(i)) {
        Some(v) => (
            v.span().map(|s| s.start),
            v.as_inline_table().map(|t| t as &dyn TableLike),
        ),
        None => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "listen = \"x\"\n\n[web]\nlink_ttl_days = 0\n\n[[connections]]\nid = \"a\"\n\n[[connections]]\nid = \"b\"\nprovider = \"nope\"\n";

    #[test]
    fn a_key_is_found_in_sections_and_arrays_of_tables() {
        assert_eq!(locate(TEXT, "listen"), Some((1, 10)));
        assert_eq!(locate(TEXT, "web.link_ttl_days"), Some((4, 17)));
        assert_eq!(locate(TEXT, "connections[1].provider"), Some((11, 12)));
    }

    #[test]
    fn a_missing_key_points_at_its_table_and_an_unmentioned_one_nowhere() {
        assert_eq!(locate(TEXT, "connections[0].client_id"), Some((6, 1)));
        assert_eq!(locate(TEXT, "tokens.keep_alive_after_days"), None);
    }
}
