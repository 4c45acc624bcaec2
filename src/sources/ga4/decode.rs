//! Decoding `runReport` pages into a [`RowBatch`].
//!
//! A row holds its values by position (`dimensionValues`, `metricValues`), in the order of the
//! response's `dimensionHeaders` and `metricHeaders`; the headers map them to the query's
//! columns. Values are the API's strings, copied unchanged except the time dimensions, whose
//! compact `YYYYMMDD…` forms become ISO dates a spreadsheet reads as dates.

use std::borrow::Cow;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::rows::RowBatch;

/// What a page says beyond its rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PageInfo {
    /// Rows this page held.
    pub(crate) rows: u64,
    /// Rows of the whole report (`rowCount`), whatever `limit` and `offset` were.
    pub(crate) row_count: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<'a> {
    // proto3 JSON leaves out empty lists and zero numbers: an empty report has no `rows` and
    // no `rowCount`.
    #[serde(default)]
    dimension_headers: Vec<Header<'a>>,
    #[serde(default)]
    metric_headers: Vec<Header<'a>>,
    #[serde(default, borrow)]
    rows: Vec<Row<'a>>,
    #[serde(default)]
    row_count: u64,
}

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Row<'a> {
    #[serde(default, borrow)]
    dimension_values: Vec<Value<'a>>,
    #[serde(default, borrow)]
    metric_values: Vec<Value<'a>>,
}

#[derive(Deserialize)]
struct Value<'a> {
    #[serde(default, borrow)]
    value: Option<Cow<'a, str>>,
}

/// Where a column's cells come from.
enum Source {
    Dimension(usize),
    Metric(usize),
    /// The same text on every row (a total report's `date`).
    Fixed(String),
}

/// Appends the rows of a `runReport` page to `batch`, columns in `columns` order. A `date`
/// column the response lacks is filled with `fixed_date` (total reports do not request it).
pub(crate) fn decode_page(
    body: &[u8],
    columns: &[String],
    fixed_date: Option<NaiveDate>,
    batch: &mut RowBatch,
) -> Result<PageInfo, String> {
    let page: Page = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let position = |headers: &[Header], name: &str| headers.iter().position(|h| h.name == name);
    let sources = columns
        .iter()
        .map(|column| {
            if let Some(index) = position(&page.dimension_headers, column) {
                Ok(Source::Dimension(index))
            } else if let Some(index) = position(&page.metric_headers, column) {
                Ok(Source::Metric(index))
            } else if let (Some(day), "date") = (fixed_date, column.as_str()) {
                Ok(Source::Fixed(day.to_string()))
            } else {
                Err(format!("the response has no dimension or metric {column:?}"))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (number, row) in page.rows.iter().enumerate() {
        for (column, source) in columns.iter().zip(&sources) {
            let (values, index) = match source {
                Source::Fixed(text) => {
                    batch.push_cell(text);
                    continue;
                }
                Source::Dimension(index) => (&row.dimension_values, *index),
                Source::Metric(index) => (&row.metric_values, *index),
            };
            let value = values
                .get(index)
                .ok_or_else(|| format!("row {number} has no value for {column:?}"))?;
            let text = value.value.as_deref().unwrap_or("");
            batch.push_cell(&iso_time(column, text));
        }
    }
    Ok(PageInfo {
        rows: page.rows.len() as u64,
        row_count: page.row_count,
    })
}

/// A time dimension's compact value in ISO form: `date` `20250301` → `2025-03-01`,
/// `dateHour` `2025030114` → `2025-03-01 14:00`. Anything else, and values not in the
/// compact form (`(other)`), stay as they are.
pub(crate) fn iso_time<'a>(dimension: &str, value: &'a str) -> Cow<'a, str> {
    let digits = value.bytes().all(|b| b.is_ascii_digit());
    let (date, hour) = (value.get(..8), value.get(8..10));
    match (dimension, value.len(), digits, date) {
        ("date", 8, true, Some(d)) => Cow::Owned(format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..])),
        ("dateHour", 10, true, Some(d)) => Cow::Owned(format!(
            "{}-{}-{} {}:00",
            &d[..4],
            &d[4..6],
            &d[6..],
            hour.unwrap_or_default()
        )),
        _ => Cow::Borrowed(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// api-facts §6, the response verbatim.
    const FACTS_RESPONSE: &str = r#"{"dimensionHeaders":[{"name":"date"},{"name":"sessionDefaultChannelGroup"}],
 "metricHeaders":[{"name":"sessions","type":"TYPE_INTEGER"},{"name":"activeUsers","type":"TYPE_INTEGER"}],
 "rows":[{"dimensionValues":[{"value":"20250301"},{"value":"Organic Search"}],
          "metricValues":[{"value":"123"},{"value":"98"}]}],
 "rowCount":175,"metadata":{"currencyCode":"USD","timeZone":"Europe/Berlin"},
 "propertyQuota":{"tokensPerDay":{"consumed":12,"remaining":199988}},"kind":"analyticsData#runReport"}"#;

    fn columns(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn cells(batch: &RowBatch) -> Vec<Vec<&str>> {
        batch.rows().map(|r| r.cells().collect()).collect()
    }

    #[test]
    fn documented_response_decodes_in_column_order_with_iso_dates() {
        let cols = columns(&["activeUsers", "date", "sessionDefaultChannelGroup", "sessions"]);
        let mut batch = RowBatch::new(cols.len());
        let info = decode_page(FACTS_RESPONSE.as_bytes(), &cols, None, &mut batch).unwrap();
        assert_eq!(
            info,
            PageInfo {
                rows: 1,
                row_count: 175
            }
        );
        assert_eq!(cells(&batch), [["98", "2025-03-01", "Organic Search", "123"]]);
    }

    #[test]
    fn values_stay_the_api_strings() {
        let body = r#"{"dimensionHeaders":[{"name":"country"}],
            "metricHeaders":[{"name":"engagementRate","type":"TYPE_FLOAT"},{"name":"totalRevenue","type":"TYPE_CURRENCY"}],
            "rows":[{"dimensionValues":[{"value":"C\u00f4te d'Ivoire"}],"metricValues":[{"value":"0.61538461538461542"},{"value":"1.0E7"}]},
                    {"dimensionValues":[{"value":"(not set)"}],"metricValues":[{}, {"value":"0"}]}],
            "rowCount":2}"#;
        let cols = columns(&["country", "engagementRate", "totalRevenue"]);
        let mut batch = RowBatch::new(3);
        decode_page(body.as_bytes(), &cols, None, &mut batch).unwrap();
        assert_eq!(
            cells(&batch),
            [
                ["Côte d'Ivoire", "0.61538461538461542", "1.0E7"],
                ["(not set)", "", "0"]
            ]
        );
    }

    #[test]
    fn an_empty_report_omits_rows_and_row_count() {
        let body = r#"{"dimensionHeaders":[{"name":"date"}],"metricHeaders":[{"name":"sessions","type":"TYPE_INTEGER"}],
            "metadata":{"currencyCode":"USD","timeZone":"America/Los_Angeles"},"kind":"analyticsData#runReport"}"#;
        let cols = columns(&["date", "sessions"]);
        let mut batch = RowBatch::new(2);
        let info = decode_page(body.as_bytes(), &cols, None, &mut batch).unwrap();
        assert_eq!(info, PageInfo { rows: 0, row_count: 0 });
        assert!(batch.is_empty());
    }

    #[test]
    fn a_total_report_fills_date_with_the_window_start() {
        let body = r#"{"dimensionHeaders":[{"name":"country"}],"metricHeaders":[{"name":"sessions","type":"TYPE_INTEGER"}],
            "rows":[{"dimensionValues":[{"value":"DE"}],"metricValues":[{"value":"5"}]}],"rowCount":1}"#;
        let cols = columns(&["date", "country", "sessions"]);
        let mut batch = RowBatch::new(3);
        let start = "2025-03-01".parse().unwrap();
        decode_page(body.as_bytes(), &cols, Some(start), &mut batch).unwrap();
        assert_eq!(cells(&batch), [["2025-03-01", "DE", "5"]]);
        let err = decode_page(body.as_bytes(), &cols, None, &mut RowBatch::new(3)).unwrap_err();
        assert!(err.contains("no dimension or metric \"date\""), "{err}");
    }

    #[test]
    fn short_rows_and_truncated_bodies_are_errors() {
        let body = r#"{"dimensionHeaders":[{"name":"country"}],"metricHeaders":[{"name":"sessions","type":"TYPE_INTEGER"}],
            "rows":[{"dimensionValues":[{"value":"DE"}],"metricValues":[]}],"rowCount":1}"#;
        let cols = columns(&["country", "sessions"]);
        assert!(decode_page(body.as_bytes(), &cols, None, &mut RowBatch::new(2)).is_err());
        let cut = &FACTS_RESPONSE.as_bytes()[..FACTS_RESPONSE.len() / 2];
        let cols = columns(&["date"]);
        assert!(decode_page(cut, &cols, None, &mut RowBatch::new(1)).is_err());
    }

    #[test]
    fn time_dimensions_become_iso() {
        assert_eq!(iso_time("date", "20250301"), "2025-03-01");
        assert_eq!(iso_time("dateHour", "2025030114"), "2025-03-01 14:00");
        assert_eq!(iso_time("date", "(other)"), "(other)");
        assert_eq!(iso_time("year", "2025"), "2025");
        assert_eq!(iso_time("pagePath", "20250301"), "20250301");
    }
}
