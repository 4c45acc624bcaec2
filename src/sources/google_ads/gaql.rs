//! GAQL: the query text sent to `searchStream`, built from a query file or taken raw.

use crate::query::Filter;

/// The columns a raw GAQL query selects, in order: the fields between `SELECT` and `FROM`.
pub fn select_list(gaql: &str) -> Result<Vec<String>, String> {
    let upper = gaql.to_ascii_uppercase();
    let select = upper
        .trim_start()
        .starts_with("SELECT ")
        .then(|| upper.find("SELECT").map(|at| at + "SELECT".len()))
        .flatten()
        .ok_or("expected the query to start with SELECT")?;
    let from = upper[select..]
        .find(" FROM ")
        .map(|at| select + at)
        .ok_or("expected FROM after the SELECT list")?;
    let fields: Vec<String> = gaql[select..from].split(',').map(|f| f.trim().to_string()).collect();
    if let Some(bad) = fields
        .iter()
        .find(|f| f.is_empty() || !f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.'))
    {
        return Err(format!("{bad:?} in the SELECT list is not a field name"));
    }
    Ok(fields)
}

/// The GAQL condition for `filter`, e.g. `campaign.name LIKE '%Brand%'`.
pub fn condition(filter: &Filter) -> Result<String, String> {
    let value = match &filter.value {
        serde_json::Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        serde_json::Value::Number(n) => n.to_string(),
        other => return Err(format!("value {other} is not a string or number")),
    };
    Ok(format!("{} {} {}", filter.field, filter.operator, value))
}
