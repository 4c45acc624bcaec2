//! A forward-only JSON scanner over a response body, for the hot row paths.
//!
//! serde walks a page several times over (a key is read, unescaped into a `Cow`, compared;
//! a cell is captured as a `RawValue`, then looked at again), which made JSON about a third
//! of a report's CPU. The scanner instead reads each byte once and hands out positions in
//! the body: a string without escapes is a span of the body, a string with escapes is
//! unescaped once into a caller's buffer, and any other value is its raw span. Callers walk
//! the shape they expect (objects and arrays with [`Scanner::next_member`] and
//! [`Scanner::next_element`]) and skip what they do not need with [`Scanner::skip_value`].
//! It accepts exactly what serde_json accepts for those values, with its escapes, control
//! character and surrogate rules, so a cell is the same text either way.

use std::fmt;

/// How deep a skipped value may nest (serde_json's limit too).
const MAX_DEPTH: usize = 128;

/// Eight copies of a byte, one per byte of a word.
const fn lanes(byte: u8) -> u64 {
    u64::from_ne_bytes([byte; 8])
}

/// The position of the first byte from `from` on that ends a string's plain run: `"`, `\\`
/// or a control character (below 0x20); `body.len()` if there is none.
///
/// Eight bytes are tested at a time (the bit tricks of "Bit Twiddling Hacks",
/// graphics.stanford.edu/~seander/bithacks.html#HasLessInWord): `has_less(w, n)` sets the
/// high bit of every byte below `n`, exactly for the lowest such byte (a borrow only carries
/// upwards), so the first flagged byte of the three tests is the first special one.
fn special_from(body: &[u8], from: usize) -> usize {
    const HIGH: u64 = lanes(0x80);
    fn has_less(word: u64, n: u8) -> u64 {
        word.wrapping_sub(lanes(n)) & !word & HIGH
    }
    let mut pos = from;
    while let Some(chunk) = body.get(pos..pos + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("an 8-byte chunk"));
        let found = has_less(word, 0x20) | has_less(word ^ lanes(b'"'), 1) | has_less(word ^ lanes(b'\\'), 1);
        if found != 0 {
            return pos + (found.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    pos + body[pos..]
        .iter()
        .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)
        .unwrap_or(body.len() - pos)
}

/// A body that is not the JSON its reader expects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ScanError {
    /// Not JSON, or not the shape expected: what was wrong and at which byte.
    #[error("{what} at byte {at}")]
    Malformed { what: &'static str, at: usize },
    /// A member the reader needs is absent.
    #[error("missing field `{0}`")]
    Missing(&'static str),
}

/// A string's text: a span of the body when it had no escapes, else a span of the
/// caller's unescape buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Text {
    Body(usize, usize),
    Unescaped(usize, usize),
}

impl Text {
    /// The text, from the body or from the unescape buffer it was written to.
    pub(crate) fn get<'a>(self, body: &'a str, unescaped: &'a str) -> &'a str {
        match self {
            Text::Body(start, end) => &body[start..end],
            Text::Unescaped(start, end) => &unescaped[start..end],
        }
    }
}

/// A cursor over one body, which must be valid UTF-8 (checked once by the caller) so every
/// span between two ASCII delimiters is a `str`.
pub(crate) struct Scanner<'b> {
    body: &'b [u8],
    pos: usize,
}

impl fmt::Debug for Scanner<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scanner")
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl<'b> Scanner<'b> {
    pub(crate) fn new(body: &'b str) -> Self {
        Self {
            body: body.as_bytes(),
            pos: 0,
        }
    }

    /// How many bytes of the body have been read: where a reader that stops here resumes.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    fn error(&self, what: &'static str) -> ScanError {
        ScanError::Malformed { what, at: self.pos }
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.body.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next byte that is not whitespace, not consumed.
    pub(crate) fn peek(&mut self) -> Result<u8, ScanError> {
        self.skip_whitespace();
        self.body
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.error("EOF while parsing a value"))
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<(), ScanError> {
        if self.peek()? != byte {
            return Err(self.error(what));
        }
        self.pos += 1;
        Ok(())
    }

    /// Consumes the `{` of an object.
    pub(crate) fn begin_object(&mut self) -> Result<(), ScanError> {
        self.expect(b'{', "expected an object")
    }

    /// Consumes the `[` of an array.
    pub(crate) fn begin_array(&mut self) -> Result<(), ScanError> {
        self.expect(b'[', "expected an array")
    }

    /// The next member's key of the object being read (its `:` consumed), or `None` at
    /// its `}`. `first` says whether no member was read yet.
    pub(crate) fn next_member(&mut self, first: bool, unescaped: &mut String) -> Result<Option<Text>, ScanError> {
        if !self.more(first, b'}')? {
            return Ok(None);
        }
        let key = self.string(unescaped)?;
        self.expect(b':', "expected `:` after an object key")?;
        Ok(Some(key))
    }

    /// Whether the array being read has another element (its `,` consumed), or ends here
    /// (its `]` consumed). `first` says whether no element was read yet.
    pub(crate) fn next_element(&mut self, first: bool) -> Result<bool, ScanError> {
        self.more(first, b']')
    }

    fn more(&mut self, first: bool, close: u8) -> Result<bool, ScanError> {
        let byte = self.peek()?;
        if byte == close {
            self.pos += 1;
            return Ok(false);
        }
        if !first {
            if byte != b',' {
                return Err(self.error("expected `,` or the end of a list"));
            }
            self.pos += 1;
        }
        Ok(true)
    }

    /// Consumes `null` if it comes next.
    pub(crate) fn null(&mut self) -> Result<bool, ScanError> {
        if self.peek()? != b'n' {
            return Ok(false);
        }
        self.literal(b"null")?;
        Ok(true)
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<(), ScanError> {
        if !self.body[self.pos..].starts_with(word) {
            return Err(self.error(if self.body.len() - self.pos < word.len() {
                "EOF while parsing a value"
            } else {
                "expected a value"
            }));
        }
        self.pos += word.len();
        Ok(())
    }

    /// A string, which must come next; escapes are decoded into `unescaped`.
    pub(crate) fn string(&mut self, unescaped: &mut String) -> Result<Text, ScanError> {
        self.expect(b'"', "expected a string")?;
        let start = self.pos;
        self.pos = special_from(self.body, self.pos);
        match self.body.get(self.pos) {
            Some(b'"') => {
                self.pos += 1;
                Ok(Text::Body(start, self.pos - 1))
            }
            Some(b'\\') => self.unescape(start, unescaped),
            Some(_) => Err(self.error("control character (\\u0000-\\u001F) found while parsing a string")),
            None => Err(self.error("EOF while parsing a string")),
        }
    }

    /// The rest of a string from its first escape on: the text so far, then each escape
    /// decoded, appended to `out`.
    fn unescape(&mut self, start: usize, out: &mut String) -> Result<Text, ScanError> {
        let from = out.len();
        let mut run = start;
        loop {
            let Some(&byte) = self.body.get(self.pos) else {
                return Err(self.error("EOF while parsing a string"));
            };
            match byte {
                b'"' => {
                    out.push_str(self.text(run, self.pos));
                    self.pos += 1;
                    return Ok(Text::Unescaped(from, out.len()));
                }
                b'\\' => {
                    out.push_str(self.text(run, self.pos));
                    self.pos += 1;
                    let Some(&kind) = self.body.get(self.pos) else {
                        return Err(self.error("EOF while parsing a string"));
                    };
                    self.pos += 1;
                    let decoded = match kind {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(self.error("invalid escape")),
                    };
                    out.push(decoded);
                    run = self.pos;
                }
                0..=0x1f => return Err(self.error("control character (\\u0000-\\u001F) found while parsing a string")),
                _ => self.pos += 1,
            }
        }
    }

    /// The character of a `\uXXXX` escape (its `\u` consumed), joining a surrogate pair
    /// and refusing a lone surrogate as serde_json does.
    fn unicode_escape(&mut self) -> Result<char, ScanError> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !self.body[self.pos..].starts_with(b"\\u") {
                    return Err(self.error("lone leading surrogate in hex escape"));
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.error("lone leading surrogate in hex escape"));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error("lone trailing surrogate in hex escape")),
            code => code,
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid unicode code point"))
    }

    fn hex4(&mut self) -> Result<u32, ScanError> {
        let digits = self
            .body
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("EOF while parsing a string"))?;
        let mut code = 0;
        for &digit in digits {
            let value = (digit as char)
                .to_digit(16)
                .ok_or_else(|| self.error("invalid escape"))?;
            code = code * 16 + value;
        }
        self.pos += 4;
        Ok(code)
    }

    fn text(&self, start: usize, end: usize) -> &'b str {
        // Both ends sit next to ASCII delimiters of a body checked as UTF-8.
        std::str::from_utf8(&self.body[start..end]).expect("a span between ASCII delimiters of a UTF-8 body")
    }

    /// Skips the next value, whatever it is, and returns its raw span.
    pub(crate) fn skip_value(&mut self) -> Result<(usize, usize), ScanError> {
        self.peek()?;
        let start = self.pos;
        self.skip(0)?;
        Ok((start, self.pos))
    }

    fn skip(&mut self, depth: usize) -> Result<(), ScanError> {
        if depth > MAX_DEPTH {
            return Err(self.error("recursion limit exceeded"));
        }
        match self.peek()? {
            b'"' => {
                self.skip_string()?;
            }
            b'{' => {
                self.pos += 1;
                let mut first = true;
                while self.more(first, b'}')? {
                    first = false;
                    self.skip_string()?;
                    self.expect(b':', "expected `:` after an object key")?;
                    self.skip(depth + 1)?;
                }
            }
            b'[' => {
                self.pos += 1;
                let mut first = true;
                while self.more(first, b']')? {
                    first = false;
                    self.skip(depth + 1)?;
                }
            }
            b't' => self.literal(b"true")?,
            b'f' => self.literal(b"false")?,
            b'n' => self.literal(b"null")?,
            b'-' | b'0'..=b'9' => self.number()?,
            _ => return Err(self.error("expected a value")),
        }
        Ok(())
    }

    /// Skips a string, checking its escapes without decoding them.
    fn skip_string(&mut self) -> Result<(), ScanError> {
        // Escaped strings are rare where values are skipped; decoding them into a scratch
        // buffer keeps one set of escape rules.
        let mut scratch = String::new();
        self.string(&mut scratch).map(|_| ())
    }

    /// A number per JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Result<(), ScanError> {
        let digits = |scanner: &mut Self| {
            let from = scanner.pos;
            while scanner.body.get(scanner.pos).is_some_and(u8::is_ascii_digit) {
                scanner.pos += 1;
            }
            if scanner.pos == from {
                return Err(scanner.error("invalid number"));
            }
            Ok(())
        };
        if self.body[self.pos] == b'-' {
            self.pos += 1;
        }
        if self.body.get(self.pos) == Some(&b'0') {
            self.pos += 1;
        } else {
            digits(self)?;
        }
        if self.body.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            digits(self)?;
        }
        if let Some(b'e' | b'E') = self.body.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.body.get(self.pos) {
                self.pos += 1;
            }
            digits(self)?;
        }
        Ok(())
    }

    /// Checks that nothing but whitespace follows.
    pub(crate) fn end(&mut self) -> Result<(), ScanError> {
        self.skip_whitespace();
        if self.pos != self.body.len() {
            return Err(self.error("trailing characters"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_string(json: &str) -> Result<String, ScanError> {
        let mut buffer = String::new();
        let mut scanner = Scanner::new(json);
        let text = scanner.string(&mut buffer)?;
        scanner.end()?;
        Ok(text.get(json, &buffer).to_string())
    }

    #[test]
    fn strings_unescape_like_serde_json() {
        for json in [
            r#""plain""#,
            r#""a \"quoted\", comma""#,
            r#""line\nbreak\ttab\\ \/ \b\f\r""#,
            r#""caf\u00e9 \ud83d\ude00 \u2028""#,
            r#""ünïcödé raw""#,
            r#""""#,
        ] {
            assert_eq!(
                one_string(json).unwrap(),
                serde_json::from_str::<String>(json).unwrap(),
                "{json}"
            );
        }
    }

    #[test]
    fn the_word_scan_finds_the_first_special_byte_like_a_byte_loop() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(16);
        let bytes = [
            b'a', b' ', b'"', b'\\', 0x00, 0x1f, 0x20, 0x21, 0x5b, 0x7f, 0x80, 0xc3, 0xff,
        ];
        for _ in 0..5_000 {
            let body: Vec<u8> = (0..rng.gen_range(0..40))
                .map(|_| {
                    if rng.gen_bool(0.9) {
                        b'x'
                    } else {
                        bytes[rng.gen_range(0..bytes.len())]
                    }
                })
                .collect();
            let from = rng.gen_range(0..=body.len());
            let expected = from
                + body[from..]
                    .iter()
                    .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                    .unwrap_or(body.len() - from);
            assert_eq!(special_from(&body, from), expected, "{body:?} from {from}");
        }
    }

    #[test]
    fn bad_strings_are_errors_like_serde_json() {
        for json in [
            "\"raw\ncontrol\"",
            r#""\ud83d alone""#,
            r#""\ude00""#,
            r#""\x""#,
            r#""\u12"#,
            r#""open"#,
        ] {
            assert!(one_string(json).is_err(), "{json}");
            assert!(serde_json::from_str::<String>(json).is_err(), "{json}");
        }
    }

    #[test]
    fn skipped_values_span_exactly_their_text() {
        let json = r#" {"a":[1,-2.5e+3,{"b":null}],"c":true} "#;
        let mut scanner = Scanner::new(json);
        let (start, end) = scanner.skip_value().unwrap();
        assert_eq!(&json[start..end], r#"{"a":[1,-2.5e+3,{"b":null}],"c":true}"#);
        scanner.end().unwrap();
        for bad in ["01", "-", "1.", "1e", "tru", "[1,]", "{\"a\" 1}", "[1 2]"] {
            let mut scanner = Scanner::new(bad);
            let skipped = scanner.skip_value().and_then(|_| scanner.end());
            assert!(skipped.is_err(), "{bad}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let json = "[".repeat(100_000);
        assert!(Scanner::new(&json).skip_value().is_err());
    }
}
