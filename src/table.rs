//! Aligned text tables for the terminal (`adsync preview`, `adsync accounts`).

/// `header` then `rows` in columns two spaces apart, one line each; with `width` (a
/// terminal's) a longer line is cut and ends in `…`, so a wide report does not wrap into
/// an unreadable block.
pub(crate) fn aligned(header: &[&str], rows: &[Vec<&str>], width: Option<usize>) -> String {
    let lines: Vec<&[&str]> = std::iter::once(header).chain(rows.iter().map(Vec::as_slice)).collect();
    let widths: Vec<usize> = (0..header.len())
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
    fn columns_align_to_their_widest_cell_and_lines_are_cut_to_the_width() {
        let rows = vec![vec!["a", "1"], vec!["longer", "22"]];
        assert_eq!(
            aligned(&["x", "yy"], &rows, None),
            "x       yy\na       1\nlonger  22\n"
        );
        assert_eq!(aligned(&["x", "yy"], &rows, Some(5)), "x   …\na   …\nlong…\n");
    }
}
