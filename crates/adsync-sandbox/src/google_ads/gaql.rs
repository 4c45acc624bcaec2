//! A small GAQL parser: `SELECT … FROM … [WHERE … AND …] [ORDER BY …] [LIMIT n]
//! [PARAMETERS …]`, with the grammar errors Google names in `QueryError`.

use super::error::AdsFailure;

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Gaql {
    /// Selected fields, in order.
    pub select: Vec<String>,
    /// The resource after `FROM`.
    pub resource: String,
    /// Conditions, all joined by `AND`.
    pub conditions: Vec<Condition>,
    /// `ORDER BY` fields, `true` for descending.
    pub order_by: Vec<(String, bool)>,
    /// `LIMIT`.
    pub limit: Option<usize>,
}

/// One `field operator value` condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The field.
    pub field: String,
    /// The operator.
    pub op: Op,
    /// Its values: one, a list, two for `BETWEEN`, a constant for `DURING`.
    pub values: Vec<Literal>,
}

/// A condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    In,
    NotIn,
    Like,
    NotLike,
    Between,
    During,
    RegexpMatch,
    NotRegexpMatch,
}

/// A value in a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A quoted string.
    Text(String),
    /// A number, as written.
    Number(String),
    /// A bare word: an enum value or a `DURING` constant.
    Word(String),
}

impl Literal {
    /// The value as text to compare with a row's value.
    pub fn text(&self) -> &str {
        match self {
            Literal::Text(t) | Literal::Number(t) | Literal::Word(t) => t,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Number(String),
    Symbol(&'static str),
}

fn syntax(code: &'static str, message: impl Into<String>) -> AdsFailure {
    AdsFailure::invalid_argument("queryError", code, message)
}

fn tokens(gaql: &str) -> Result<Vec<Token>, AdsFailure> {
    let chars: Vec<char> = gaql.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let mut text = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(syntax(
                            "STRING_NOT_TERMINATED",
                            "Error in query: string not terminated.",
                        ))
                    }
                    Some('\\') => {
                        text.extend(chars.get(i + 1));
                        i += 2;
                    }
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some('\n') => {
                        return Err(syntax(
                            "PROHIBITED_NEWLINE_IN_STRING",
                            "Error in query: newlines are not allowed in strings.",
                        ))
                    }
                    Some(&other) => {
                        text.push(other);
                        i += 1;
                    }
                }
            }
            tokens.push(Token::Text(text));
        } else if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            tokens.push(Token::Number(chars[start..i].iter().collect()));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.') {
                i += 1;
            }
            tokens.push(Token::Word(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let symbol = match (two.as_str(), c) {
                ("!=", _) => "!=",
                (">=", _) => ">=",
                ("<=", _) => "<=",
                (_, '=') => "=",
                (_, '>') => ">",
                (_, '<') => "<",
                (_, ',') => ",",
                (_, '(') => "(",
                (_, ')') => ")",
                _ => {
                    return Err(syntax(
                        "BAD_SYMBOL",
                        format!("Error in query: unexpected symbol {c:?}."),
                    ))
                }
            };
            i += symbol.len();
            tokens.push(Token::Symbol(symbol));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn keyword(&mut self, word: &str) -> bool {
        match self.peek() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case(word) => {
                self.at += 1;
                true
            }
            _ => false,
        }
    }

    fn symbol(&mut self, symbol: &str) -> bool {
        if self.peek() == Some(&Token::Symbol(static_symbol(symbol))) {
            self.at += 1;
            return true;
        }
        false
    }

    fn field(&mut self) -> Result<String, AdsFailure> {
        match self.next() {
            Some(Token::Word(w)) if !is_keyword(&w) => Ok(w),
            Some(other) => Err(syntax(
                "BAD_FIELD_NAME",
                format!("Error in query: expected a field name, got {}.", describe(&other)),
            )),
            None => Err(syntax(
                "UNEXPECTED_END_OF_QUERY",
                "Error in query: unexpected end of query.",
            )),
        }
    }

    fn literal(&mut self) -> Result<Literal, AdsFailure> {
        match self.next() {
            Some(Token::Text(t)) => Ok(Literal::Text(t)),
            Some(Token::Number(n)) => Ok(Literal::Number(n)),
            Some(Token::Word(w)) if !is_keyword(&w) => Ok(Literal::Word(w)),
            Some(other) => Err(syntax(
                "BAD_VALUE",
                format!("Error in query: expected a value, got {}.", describe(&other)),
            )),
            None => Err(syntax(
                "UNEXPECTED_END_OF_QUERY",
                "Error in query: unexpected end of query.",
            )),
        }
    }

    fn list(&mut self) -> Result<Vec<Literal>, AdsFailure> {
        if !self.symbol("(") {
            return Err(syntax(
                "EXPECTED_LIST",
                "Error in query: expected a list of values in parentheses.",
            ));
        }
        let mut values = vec![self.literal()?];
        while self.symbol(",") {
            values.push(self.literal()?);
        }
        if !self.symbol(")") {
            return Err(syntax(
                "EXPECTED_LIST",
                "Error in query: expected ')' after the list of values.",
            ));
        }
        Ok(values)
    }

    fn condition(&mut self) -> Result<Condition, AdsFailure> {
        let field = self.field()?;
        let op = if self.symbol("=") {
            Op::Eq
        } else if self.symbol("!=") {
            Op::Ne
        } else if self.symbol(">=") {
            Op::Ge
        } else if self.symbol("<=") {
            Op::Le
        } else if self.symbol(">") {
            Op::Gt
        } else if self.symbol("<") {
            Op::Lt
        } else if self.keyword("IN") {
            Op::In
        } else if self.keyword("LIKE") {
            Op::Like
        } else if self.keyword("BETWEEN") {
            Op::Between
        } else if self.keyword("DURING") {
            Op::During
        } else if self.keyword("REGEXP_MATCH") {
            Op::RegexpMatch
        } else if self.keyword("NOT") {
            if self.keyword("IN") {
                Op::NotIn
            } else if self.keyword("LIKE") {
                Op::NotLike
            } else if self.keyword("REGEXP_MATCH") {
                Op::NotRegexpMatch
            } else {
                return Err(syntax(
                    "BAD_OPERATOR",
                    "Error in query: expected IN, LIKE or REGEXP_MATCH after NOT.",
                ));
            }
        } else {
            return Err(syntax(
                "BAD_OPERATOR",
                format!("Error in query: expected an operator after {field}."),
            ));
        };
        let values = match op {
            Op::In | Op::NotIn => self.list()?,
            Op::Between => {
                let low = self.literal()?;
                if !self.keyword("AND") {
                    return Err(syntax("EXPECTED_AND", "Error in query: expected AND in BETWEEN."));
                }
                vec![low, self.literal()?]
            }
            _ => vec![self.literal()?],
        };
        Ok(Condition { field, op, values })
    }
}

fn static_symbol(symbol: &str) -> &'static str {
    ["!=", ">=", "<=", "=", ">", "<", ",", "(", ")"]
        .into_iter()
        .find(|s| *s == symbol)
        .unwrap_or("")
}

fn is_keyword(word: &str) -> bool {
    [
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "ORDER",
        "BY",
        "LIMIT",
        "PARAMETERS",
        "ASC",
        "DESC",
    ]
    .iter()
    .any(|k| k.eq_ignore_ascii_case(word))
}

fn describe(token: &Token) -> String {
    match token {
        Token::Word(w) => format!("'{w}'"),
        Token::Text(t) => format!("string '{t}'"),
        Token::Number(n) => format!("number {n}"),
        Token::Symbol(s) => format!("'{s}'"),
    }
}

/// Parses `gaql`; grammar errors come back as Google's `QueryError`s.
pub fn parse(gaql: &str) -> Result<Gaql, AdsFailure> {
    let mut p = Parser {
        tokens: tokens(gaql)?,
        at: 0,
    };
    if !p.keyword("SELECT") {
        return Err(syntax("EXPECTED_SELECT", "Error in query: expected SELECT."));
    }
    let mut select = vec![p.field()?];
    while p.symbol(",") {
        select.push(p.field()?);
    }
    if !p.keyword("FROM") {
        return Err(syntax(
            "EXPECTED_FROM",
            "Error in query: expected FROM after the SELECT list.",
        ));
    }
    let resource = match p.next() {
        Some(Token::Word(w)) if !is_keyword(&w) && !w.contains('.') => w,
        _ => {
            return Err(syntax(
                "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
                "Error in query: expected a resource name after FROM.",
            ))
        }
    };
    let mut conditions = Vec::new();
    if p.keyword("WHERE") {
        conditions.push(p.condition()?);
        while p.keyword("AND") {
            conditions.push(p.condition()?);
        }
    }
    let mut order_by = Vec::new();
    if p.keyword("ORDER") {
        if !p.keyword("BY") {
            return Err(syntax("EXPECTED_BY", "Error in query: expected BY after ORDER."));
        }
        loop {
            let field = p.field()?;
            let descending = if p.keyword("DESC") {
                true
            } else {
                p.keyword("ASC");
                false
            };
            order_by.push((field, descending));
            if !p.symbol(",") {
                break;
            }
        }
    }
    let mut limit = None;
    if p.keyword("LIMIT") {
        limit = match p.next() {
            Some(Token::Number(n)) => n.parse::<usize>().ok().filter(|n| *n > 0),
            _ => None,
        };
        if limit.is_none() {
            return Err(syntax(
                "BAD_LIMIT_VALUE",
                "Error in query: LIMIT needs a positive integer.",
            ));
        }
    }
    if p.keyword("PARAMETERS") {
        // `include_drafts=true`, `omit_unselected_resource_names=true`: accepted, no effect here.
        while p.next().is_some() {}
    }
    if let Some(extra) = p.next() {
        return Err(syntax(
            "UNEXPECTED_INPUT",
            format!("Error in query: unexpected input {}.", describe(&extra)),
        ));
    }
    Ok(Gaql {
        select,
        resource,
        conditions,
        order_by,
        limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_query_parses() {
        let q = parse(
            "SELECT campaign.id, metrics.clicks FROM campaign WHERE segments.date BETWEEN '2026-03-01' AND \"2026-03-07\" \
             AND campaign.status IN (ENABLED, 'PAUSED') AND campaign.name NOT LIKE '%it\\'s%' AND metrics.clicks >= 10 \
             ORDER BY metrics.clicks DESC, campaign.id LIMIT 5 PARAMETERS include_drafts=true",
        )
        .unwrap();
        assert_eq!(q.select, ["campaign.id", "metrics.clicks"]);
        assert_eq!(q.resource, "campaign");
        assert_eq!(q.conditions.len(), 4);
        assert_eq!(q.conditions[0].op, Op::Between);
        assert_eq!(
            q.conditions[0].values,
            [Literal::Text("2026-03-01".into()), Literal::Text("2026-03-07".into())]
        );
        assert_eq!(q.conditions[1].values[0], Literal::Word("ENABLED".into()));
        assert_eq!(q.conditions[2].values[0].text(), "%it's%");
        assert_eq!(q.conditions[3].op, Op::Ge);
        assert_eq!(
            q.order_by,
            [("metrics.clicks".to_string(), true), ("campaign.id".to_string(), false)]
        );
        assert_eq!(q.limit, Some(5));
    }

    #[test]
    fn grammar_errors_name_the_query_error() {
        let code = |gaql: &str| parse(gaql).unwrap_err().codes();
        assert_eq!(code("campaign.id FROM campaign"), ["EXPECTED_SELECT"]);
        assert_eq!(code("SELECT campaign.id campaign"), ["EXPECTED_FROM"]);
        assert_eq!(
            code("SELECT campaign.id FROM campaign WHERE campaign.name = 'x"),
            ["STRING_NOT_TERMINATED"]
        );
        assert_eq!(
            code("SELECT campaign.id FROM campaign WHERE campaign.name ~ 'x'"),
            ["BAD_SYMBOL"]
        );
        assert_eq!(code("SELECT campaign.id FROM campaign LIMIT 0"), ["BAD_LIMIT_VALUE"]);
        assert_eq!(
            code("SELECT campaign.id FROM campaign WHERE"),
            ["UNEXPECTED_END_OF_QUERY"]
        );
        assert_eq!(code("SELECT campaign.id FROM campaign x"), ["UNEXPECTED_INPUT"]);
        assert_eq!(code("SELECT , FROM campaign"), ["BAD_FIELD_NAME"]);
    }
}
