//! "Did you mean": the closest known name to a mistyped one.

/// The candidate closest to `name` by edit distance, when close enough to be a typo.
pub(crate) fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|candidate| (edit_distance(name, candidate), *candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// `unknown {what} "{name}"{context}`, then "; did you mean "…"?" when a known name is close
/// enough to be the one meant, else `otherwise` (how the message lists the known names).
pub(super) fn unknown_name(what: &str, name: &str, context: &str, known: &[&str], otherwise: &str) -> String {
    match closest(name, known) {
        Some(guess) => format!("unknown {what} {name:?}{context}; did you mean {guess:?}?"),
        None => format!("unknown {what} {name:?}{context}{otherwise}"),
    }
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_and_suggestions() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(closest("clics", &["clicks", "cpc"]), Some("clicks"));
        assert_eq!(closest("zzzzzz", &["clicks", "cpc"]), None);
        assert_eq!(
            unknown_name("level", "campain", "", &["ad", "campaign"], ", expected ad or campaign"),
            "unknown level \"campain\"; did you mean \"campaign\"?"
        );
        assert_eq!(
            unknown_name("level", "zzzzzz", "", &["ad", "campaign"], ", expected ad or campaign"),
            "unknown level \"zzzzzz\", expected ad or campaign"
        );
    }
}
