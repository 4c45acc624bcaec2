//! Request parameters the way Graph reads them: query string and form body alike.

use axum::http::{header, HeaderMap};

/// Ordered `name=value` pairs from a query string and/or an urlencoded body.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parameters of `query` followed by those of `body` (a form body; ignored if empty).
    pub fn parse(query: Option<&str>, body: &[u8]) -> Self {
        let mut pairs: Vec<(String, String)> = query
            .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        pairs.extend(url::form_urlencoded::parse(body).into_owned());
        Self(pairs)
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first non-empty value of `name`.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// Every pair except those named in `drop`.
    pub fn without<'a>(&'a self, drop: &'a [&str]) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| !drop.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// The token of an `Authorization: Bearer …` (or Graph's older `OAuth …`) header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth")).then_some(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_body_both_count() {
        let params = Params::parse(Some("a=1&b=x%20y"), b"c=3&a=9");
        assert_eq!(params.get("a"), Some("1"));
        assert_eq!(params.get("b"), Some("x y"));
        assert_eq!(params.get("c"), Some("3"));
        let kept: Vec<_> = params.without(&["a"]).collect();
        assert_eq!(kept, vec![("b", "x y"), ("c", "3")]);
    }
}
