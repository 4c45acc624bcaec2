//! Aligned text tables for the terminal: columns padded to their widest cell, each line cut
//! to the terminal's width when there is one (a pipe or a file gets whole lines).

/// `lines` (the header first) as an aligned table, two spaces between columns, each line cut
/// to `width` characters (ending in `…`) when given.
pub fn aligned(lines: &[Vec<&str>], width: Option<usize>) -> String {
    let columns = lines.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            lines
                .iter()
                .map(|line| line.get(i).map_or(0, |cell| cell.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in lines {
        let text = line
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        let text = text.trim_end();
        match width {
            Some(max) if text.chars().count() > max => {
                out.extend(text.chars().take(max.saturating_sub(1)));
                out.push('…');
            }
            _ => out.push_str(text),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_padded_to_their_widest_cell_and_lines_cut_to_the_width() {
        let lines = vec![
            vec!["name", "kind"],
            vec!["impressions", "integer"],
            vec!["cpc", "money"],
        ];
        assert_eq!(
            aligned(&lines, None),
            "name         kind\nimpressions  integer\ncpc          money\n"
        );
        assert_eq!(aligned(&lines, Some(12)).lines().nth(1), Some("impressions…"));
    }
}
