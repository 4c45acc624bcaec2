//! Diagnostics: the `file:line:col` problem type, how positions are counted, and the
//! collector the checks report into.
//!
//! Positions are 1-based and columns count characters, not bytes, because that is what
//! editors show; a problem with no position (an unreadable file) has line 0.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::config::line_col;

/// One problem in one query file.
///
/// Displays as `file:line:col: message`, the form editors and terminals turn into links,
/// or `file: message` when the problem has no position (`line == 0`), e.g. an unreadable
/// file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file.
    pub file: PathBuf,
    /// 1-based line; 0 when the problem concerns the whole file.
    pub(crate) line: usize,
    /// 1-based column in characters (not bytes); 0 when `line` is 0.
    pub(crate) col: usize,
    /// What is wrong, and how to fix it where that is not obvious.
    pub(crate) message: String,
    /// The offending line as written, for problems a person finds faster by seeing it
    /// (TOML syntax errors); `check` shows it with a caret under the column.
    pub(crate) source_line: Option<String>,
}

impl Diagnostic {
    /// A problem at a 1-based line and character column.
    pub(crate) fn at(file: impl Into<PathBuf>, line: usize, col: usize, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line,
            col,
            message: message.into(),
            source_line: None,
        }
    }

    /// Displayed as a warning: `file:line:col: warning: message`.
    pub fn as_warning(&self) -> String {
        let mut warning = self.clone();
        warning.message = format!("warning: {}", self.message);
        warning.to_string()
    }

    /// The same problem, keeping its line of `text` to show.
    pub(crate) fn with_excerpt(mut self, text: &str) -> Self {
        self.source_line = text.lines().nth(self.line.wrapping_sub(1)).map(str::to_string);
        self
    }

    /// The offending line and a caret under the column, indented, for a terminal; `None`
    /// when the problem keeps no line.
    pub fn excerpt(&self) -> Option<String> {
        let line = self.source_line.as_deref()?;
        // Tabs stay tabs under the line, so the caret lands under the column in any editor width.
        let pad: String = line
            .chars()
            .take(self.col.saturating_sub(1))
            .map(|ch| if ch == '\t' { '\t' } else { ' ' })
            .collect();
        Some(format!("    {line}\n    {pad}^"))
    }

    /// A problem with the file (or directory) as a whole.
    pub(crate) fn whole(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::at(file, 0, 0, message)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.col,
                self.message
            )
        }
    }
}

impl std::error::Error for Diagnostic {}

/// Collects diagnostics for one file, turning byte spans into line and column.
pub(super) struct Checker<'a> {
    file: &'a Path,
    text: &'a str,
    /// Everything found so far; checks compare its length to tell whether they added any.
    pub(super) found: Vec<Diagnostic>,
    /// What is worth saying but does not refuse the query.
    pub(super) warnings: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    /// A checker for `text`, read from `file`, with nothing found yet.
    pub(super) fn new(file: &'a Path, text: &'a str) -> Self {
        Self {
            file,
            text,
            found: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// 1-based line and character column of a span's start.
    pub(super) fn pos(&self, span: &Range<usize>) -> (usize, usize) {
        line_col(self.text, span.start)
    }

    /// A problem at the start of `span`.
    pub(super) fn at(&mut self, span: &Range<usize>, message: impl Into<String>) {
        let (line, col) = self.pos(span);
        self.found.push(Diagnostic::at(self.file, line, col, message));
    }

    /// A problem at an already computed 1-based line and column.
    pub(super) fn at_position(&mut self, line: usize, col: usize, message: impl Into<String>) {
        self.found.push(Diagnostic::at(self.file, line, col, message));
    }

    /// A warning at the start of `span`.
    pub(super) fn warn(&mut self, span: &Range<usize>, message: impl Into<String>) {
        let (line, col) = self.pos(span);
        self.warnings.push(Diagnostic::at(self.file, line, col, message));
    }

    /// The diagnostics in file order, whole-file ones first.
    pub(super) fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.found.sort_by_key(|d| (d.line, d.col));
        self.found
    }

    /// A problem with the file as a whole.
    pub(super) fn whole(&mut self, message: impl Into<String>) {
        self.found.push(Diagnostic::whole(self.file, message));
    }

    /// A required key: reports it missing at `table` (or the file) when absent.
    pub(super) fn required<T>(&mut self, value: Option<T>, key: &str, table: Option<&Range<usize>>) -> Option<T> {
        if value.is_none() {
            let message = format!("missing key {key:?}");
            match table {
                Some(span) => self.at(span, message),
                None => self.whole(message),
            }
        }
        value
    }
}

/// toml/serde say "unknown field `x`, expected one of `a`, `b`" over several lines; a query
/// file has keys, and backticks read badly in a terminal. One line, names in quotes.
pub(super) fn syntax_message(message: &str) -> String {
    let lines: Vec<&str> = message.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.is_empty() {
        return "invalid TOML here: a value, quote or bracket is missing".to_string();
    }
    let message = lines.join(": ");
    let renamed = message
        .strip_prefix("unknown field")
        .map(|rest| format!("unknown key{rest}"))
        .or_else(|| {
            message
                .strip_prefix("missing field")
                .map(|rest| format!("missing key{rest}"))
        });
    // Backticked names become quoted: the key of a key message (its list of choices goes
    // bare), none in a type message ("integer 5"), names elsewhere ("duplicate key \"a\"");
    // punctuation keeps its backticks (expected `]`).
    let is_key_message = renamed.is_some();
    let is_type_message = message.starts_with("invalid type") || message.starts_with("invalid value");
    let message = renamed.unwrap_or(message);
    let mut out = String::with_capacity(message.len());
    for (i, part) in message.split('`').enumerate() {
        let inside = i % 2 == 1;
        let name_like = !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
        match (inside, is_key_message, is_type_message) {
            (false, ..) => out.push_str(part),
            (true, true, _) if i == 1 => out.push_str(&format!("\"{part}\"")),
            (true, true, _) | (true, _, true) => out.push_str(part),
            (true, false, false) if name_like => out.push_str(&format!("\"{part}\"")),
            (true, false, false) => out.push_str(&format!("`{part}`")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_puts_a_caret_under_the_column() {
        let text = "level = \"ad\"\n\tfields = [\"a\" \"b\"]\n";
        let d = Diagnostic::at("q.toml", 2, 16, "expected `,`").with_excerpt(text);
        assert_eq!(
            d.excerpt().unwrap(),
            "    \tfields = [\"a\" \"b\"]\n    \t              ^"
        );
        assert_eq!(Diagnostic::at("q.toml", 2, 16, "x").excerpt(), None);
    }

    #[test]
    fn diagnostic_display_is_file_line_col_message() {
        let d = Diagnostic::at("q/a.toml", 3, 9, "unknown level");
        assert_eq!(d.to_string(), "q/a.toml:3:9: unknown level");
        let d = Diagnostic::whole("q/a.toml", "missing key \"connection\"");
        assert_eq!(d.to_string(), "q/a.toml: missing key \"connection\"");
    }
}
