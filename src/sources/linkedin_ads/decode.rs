//! Decoding adAnalytics answers and merging the answers of a split request into rows.
//!
//! An answer is `{"paging":{…},"elements":[{"pivotValues":[urn],"dateRange":{"start":{y,m,d},
//! "end":{…}},<metric>:<value>,…}]}`. A report asked in several requests (at most 18 metrics
//! each, 20 fields with `dateRange` and `pivotValues`) comes back as several answers about the same (day, entity) keys; [`Merged`] joins
//! them into one row per key, in the order keys first appeared, days ascending.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::rows::RowBatch;

use super::fields;

/// One element of an answer: the key columns and the requested metrics as cell text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    /// `dateRange.start` as `YYYY-MM-DD`.
    pub(crate) date: String,
    /// `dateRange.end` as `YYYY-MM-DD`.
    pub(crate) date_end: String,
    /// `pivotValues[0]`.
    pub(crate) pivot_value: String,
    /// Every other key with its value as cell text.
    pub(crate) values: HashMap<String, String>,
}

#[derive(Deserialize)]
struct Answer {
    elements: Vec<BTreeMap<String, Box<RawValue>>>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    #[serde(default)]
    links: Vec<Link>,
}

#[derive(Deserialize)]
struct Link {
    #[serde(default)]
    rel: String,
}

#[derive(Deserialize)]
struct DateRange {
    start: Day,
    end: Day,
}

#[derive(Deserialize)]
struct Day {
    year: i32,
    month: u32,
    day: u32,
}

impl Day {
    fn iso(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The elements of an adAnalytics answer.
///
/// adAnalytics has no pagination ("The adAnalytics endpoint currently does not support
/// pagination"); its `paging` object only echoes `start` and `count`. A `next` link would mean
/// rows adsync cannot reach, so it is an error rather than a silently short report.
pub(crate) fn decode_elements(body: &[u8]) -> Result<Vec<Element>, String> {
    let answer: Answer = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if answer.paging.is_some_and(|p| p.links.iter().any(|l| l.rel == "next")) {
        return Err("adAnalytics answered with a next page, which it is documented never to do".into());
    }
    answer
        .elements
        .into_iter()
        .map(|mut element| {
            let range = element.remove("dateRange").ok_or("an element has no dateRange")?;
            let range: DateRange = serde_json::from_str(range.get()).map_err(|e| format!("dateRange: {e}"))?;
            let pivots = element.remove("pivotValues").ok_or("an element has no pivotValues")?;
            let pivots: Vec<String> = serde_json::from_str(pivots.get()).map_err(|e| format!("pivotValues: {e}"))?;
            let pivot_value = pivots.into_iter().next().ok_or("an element has empty pivotValues")?;
            let values = element
                .iter()
                .map(|(key, raw)| Ok((key.clone(), cell_text(raw)?.into_owned())))
                .collect::<Result<_, String>>()?;
            Ok(Element {
                date: range.start.iso(),
                date_end: range.end.iso(),
                pivot_value,
                values,
            })
        })
        .collect()
}

/// A JSON value as a CSV cell: strings unescaped, `null` empty, numbers verbatim (never
/// re-formatted through a float).
fn cell_text(raw: &RawValue) -> Result<Cow<'_, str>, String> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') if !text.contains('\\') => Ok(Cow::Borrowed(&text[1..text.len() - 1])),
        Some(b'"') => serde_json::from_str::<String>(text)
            .map(Cow::Owned)
            .map_err(|e| e.to_string()),
        _ if text == "null" => Ok(Cow::Borrowed("")),
        _ => Ok(Cow::Borrowed(text)),
    }
}

/// Rows of a report being assembled from the answers of its requests.
#[derive(Debug)]
pub(crate) struct Merged<'a> {
    columns: &'a [String],
    /// Row index by (date, pivot value).
    index: HashMap<(String, String), usize>,
    rows: Vec<Vec<String>>,
}

impl<'a> Merged<'a> {
    /// An empty report with `columns` (field names, in output order).
    pub(crate) fn new(columns: &'a [String]) -> Self {
        Self {
            columns,
            index: HashMap::new(),
            rows: Vec::new(),
        }
    }

    /// Adds the elements of one answer: each fills the columns it has values for in the row
    /// of its (date, pivot value), which it starts if no earlier answer did.
    pub(crate) fn add(&mut self, elements: Vec<Element>) {
        for element in elements {
            let key = (element.date.clone(), element.pivot_value.clone());
            let next = self.rows.len();
            let index = *self.index.entry(key).or_insert(next);
            if index == next {
                self.rows.push(vec![String::new(); self.columns.len()]);
            }
            let row = &mut self.rows[index];
            for (cell, column) in row.iter_mut().zip(self.columns) {
                let value = match column.as_str() {
                    fields::DATE => Some(&element.date),
                    fields::DATE_END => Some(&element.date_end),
                    fields::PIVOT_VALUE => Some(&element.pivot_value),
                    metric => element.values.get(metric),
                };
                if let Some(value) = value {
                    cell.clone_from(value);
                }
            }
        }
    }

    /// The rows, days ascending and in first-seen order within a day.
    pub(crate) fn into_batch(self) -> RowBatch {
        let mut keyed: Vec<(&String, usize)> = self.index.iter().map(|((date, _), i)| (date, *i)).collect();
        keyed.sort_by(|(a_date, a_index), (b_date, b_index)| a_date.cmp(b_date).then(a_index.cmp(b_index)));
        let mut batch = RowBatch::with_capacity(self.columns.len(), self.rows.len());
        for (_, index) in keyed {
            batch.push_row(&self.rows[index]);
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// api-facts §5.2, verbatim.
    const DOCUMENTED: &str = r#"{"paging":{"start":0,"count":10,"links":[]},
 "elements":[{"pivotValues":["urn:li:sponsoredCampaign:123456"],
              "dateRange":{"start":{"year":2024,"month":12,"day":10},"end":{"year":2024,"month":12,"day":10}},
              "impressions":43,"clicks":0,"costInLocalCurrency":"12.5"}]}"#;

    fn columns(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn rows(batch: &RowBatch) -> Vec<Vec<&str>> {
        batch.rows().map(|r| r.cells().collect()).collect()
    }

    #[test]
    fn the_documented_answer_decodes_with_exact_values() {
        let elements = decode_elements(DOCUMENTED.as_bytes()).unwrap();
        assert_eq!(elements.len(), 1);
        let cols = columns(&[
            "date",
            "date_end",
            "pivot_value",
            "impressions",
            "clicks",
            "costInLocalCurrency",
            "likes",
        ]);
        let mut merged = Merged::new(&cols);
        merged.add(elements);
        assert_eq!(
            rows(&merged.into_batch()),
            [[
                "2024-12-10",
                "2024-12-10",
                "urn:li:sponsoredCampaign:123456",
                "43",
                "0",
                "12.5",
                ""
            ]]
        );
    }

    #[test]
    fn answers_of_a_split_request_merge_by_day_and_pivot() {
        let first = r#"{"elements":[
            {"pivotValues":["urn:li:sponsoredCampaign:2"],"dateRange":{"start":{"year":2025,"month":3,"day":2},"end":{"year":2025,"month":3,"day":2}},"impressions":20},
            {"pivotValues":["urn:li:sponsoredCampaign:1"],"dateRange":{"start":{"year":2025,"month":3,"day":1},"end":{"year":2025,"month":3,"day":1}},"impressions":10},
            {"pivotValues":["urn:li:sponsoredCampaign:2"],"dateRange":{"start":{"year":2025,"month":3,"day":1},"end":{"year":2025,"month":3,"day":1}},"impressions":11}]}"#;
        let second = r#"{"elements":[
            {"pivotValues":["urn:li:sponsoredCampaign:1"],"dateRange":{"start":{"year":2025,"month":3,"day":1},"end":{"year":2025,"month":3,"day":1}},"costInUsd":"1.10"},
            {"pivotValues":["urn:li:sponsoredCampaign:2"],"dateRange":{"start":{"year":2025,"month":3,"day":2},"end":{"year":2025,"month":3,"day":2}},"costInUsd":"2.00"},
            {"pivotValues":["urn:li:sponsoredCampaign:3"],"dateRange":{"start":{"year":2025,"month":3,"day":1},"end":{"year":2025,"month":3,"day":1}},"costInUsd":"0.50"}]}"#;
        let cols = columns(&["date", "pivot_value", "impressions", "costInUsd"]);
        let mut merged = Merged::new(&cols);
        merged.add(decode_elements(first.as_bytes()).unwrap());
        merged.add(decode_elements(second.as_bytes()).unwrap());
        assert_eq!(
            rows(&merged.into_batch()),
            [
                ["2025-03-01", "urn:li:sponsoredCampaign:1", "10", "1.10"],
                ["2025-03-01", "urn:li:sponsoredCampaign:2", "11", ""],
                ["2025-03-01", "urn:li:sponsoredCampaign:3", "", "0.50"],
                ["2025-03-02", "urn:li:sponsoredCampaign:2", "20", "2.00"],
            ]
        );
    }

    #[test]
    fn a_next_link_or_a_broken_element_is_an_error() {
        let paged = r#"{"paging":{"start":0,"count":1,"links":[{"rel":"next","href":"/rest/adAnalytics?start=1"}]},"elements":[]}"#;
        assert!(decode_elements(paged.as_bytes()).unwrap_err().contains("next page"));
        let no_range = r#"{"elements":[{"pivotValues":["urn:li:sponsoredAccount:1"],"impressions":1}]}"#;
        assert!(decode_elements(no_range.as_bytes()).unwrap_err().contains("dateRange"));
        assert!(decode_elements(&DOCUMENTED.as_bytes()[..60]).is_err());
        assert!(decode_elements(br#"{"paging":{}}"#).is_err());
    }
}
