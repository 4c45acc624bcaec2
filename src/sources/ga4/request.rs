//! The `runReport` request body: dimensions and metrics split from a query's fields, one date
//! range, filters as a `FilterExpression`, a stable order and offset paging.

use serde_json::{json, Value};

use super::fields::is_metric;
use crate::query::filters::ga4_filter_expression as filter_expression;
use crate::query::{Filter, Query, TimeIncrement};
use crate::rows::DateWindow;

/// Rows asked for per page: the API's own default, far below its 250,000 maximum, so a page
/// stays a few megabytes.
pub(crate) const PAGE_SIZE: u64 = 10_000;
/// The most rows one `runReport` may return.
pub(crate) const MAX_LIMIT: u64 = 250_000;
/// The dimension that makes rows daily; its `YYYYMMDD` values become ISO dates.
pub(crate) use super::fields::DATE;

/// One report over one property and window, before paging.
///
/// Daily and total reports differ only in the `date` dimension: a daily report sends the
/// query's dimensions as given (with `date` among them its rows are per day; without it GA4
/// aggregates over the window, which is what such a query asks for), a total report never
/// sends `date` and fills a `date` column with the window's first day, as Meta's
/// `date_start` does, so append mode can still upsert by it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRequest<'a> {
    /// Dimensions, in column order.
    pub(crate) dimensions: Vec<&'a str>,
    /// Metrics, in column order.
    pub(crate) metrics: Vec<&'a str>,
    /// The one date range.
    pub(crate) window: DateWindow,
    /// `dimensionFilter` and `metricFilter`, when the query has filters of that kind.
    pub(crate) dimension_filter: Option<Value>,
    /// See `dimension_filter`.
    pub(crate) metric_filter: Option<Value>,
    /// Rows per page.
    pub(crate) limit: u64,
    /// The `date` of every row of a total report, which does not request the dimension.
    pub(crate) fixed_date: Option<chrono::NaiveDate>,
}

impl<'a> ReportRequest<'a> {
    /// The request for `query`'s rows over `window`, sending `custom_metrics` (custom fields
    /// the property's metadata calls metrics) as metrics; fails on a filter the API would reject.
    pub fn new(query: &'a Query, window: DateWindow, custom_metrics: &[String]) -> Result<Self, String> {
        Self::from_parts(
            &query.fields,
            &query.filters,
            query.time_increment,
            window,
            custom_metrics,
        )
    }

    /// The request for `fields` (dimensions and metrics mixed, in column order) filtered by
    /// `filters`; custom fields are dimensions unless in `custom_metrics`.
    pub(crate) fn from_parts(
        fields: &'a [String],
        filters: &[Filter],
        increment: TimeIncrement,
        window: DateWindow,
        custom_metrics: &[String],
    ) -> Result<Self, String> {
        let daily = increment == TimeIncrement::Daily;
        let (metrics, dimensions): (Vec<&str>, Vec<&str>) = fields
            .iter()
            .map(String::as_str)
            .filter(|name| daily || *name != DATE)
            .partition(|name| is_metric(name) || custom_metrics.iter().any(|m| m == name));
        let (metric_filters, dimension_filters): (Vec<&Filter>, Vec<&Filter>) =
            filters.iter().partition(|f| is_metric(&f.field));
        Ok(Self {
            dimensions,
            metrics,
            window,
            dimension_filter: combined(&dimension_filters)?,
            metric_filter: combined(&metric_filters)?,
            limit: PAGE_SIZE,
            fixed_date: (!daily).then_some(window.start),
        })
    }

    /// The JSON body of the page starting at row `offset`.
    ///
    /// Rows are ordered by every dimension (`date` first), which is a total order since GA4
    /// returns one row per combination of dimension values: offset paging then never skips
    /// or repeats a row between pages.
    pub fn body(&self, offset: u64) -> Value {
        let names = |list: &[&str]| list.iter().map(|name| json!({ "name": name })).collect::<Vec<_>>();
        let mut ordered: Vec<&str> = self.dimensions.iter().copied().filter(|d| *d == DATE).collect();
        ordered.extend(self.dimensions.iter().copied().filter(|d| *d != DATE));
        let order_bys: Vec<Value> = ordered
            .iter()
            .map(|name| json!({ "dimension": { "dimensionName": name }, "desc": false }))
            .collect();
        let mut body = json!({
            "dateRanges": [{
                "startDate": self.window.start.to_string(),
                "endDate": self.window.end.to_string(),
            }],
            "dimensions": names(&self.dimensions),
            "metrics": names(&self.metrics),
            "orderBys": order_bys,
            "limit": self.limit.min(MAX_LIMIT).to_string(),
            "offset": offset.to_string(),
            "keepEmptyRows": false,
            "returnPropertyQuota": true,
        });
        if let Some(filter) = &self.dimension_filter {
            body["dimensionFilter"] = filter.clone();
        }
        if let Some(filter) = &self.metric_filter {
            body["metricFilter"] = filter.clone();
        }
        body
    }
}

/// Where the page after one of `returned` rows starting at `offset` starts, if there is one:
/// paging goes on until the offset reaches `rowCount`.
pub(crate) fn next_offset(offset: u64, returned: u64, row_count: u64) -> Result<Option<u64>, String> {
    let next = offset + returned;
    if next >= row_count {
        return Ok(None);
    }
    if returned == 0 {
        // An empty page short of rowCount would be asked for again and again.
        return Err(format!(
            "the page at offset {offset} is empty although rowCount is {row_count}"
        ));
    }
    Ok(Some(next))
}

/// Why the Data API would reject `filter`, if it would.
#[cfg(test)]
pub(crate) fn check_filter(filter: &Filter) -> Result<(), String> {
    filter_expression(filter).map(drop)
}

/// Several filters as one `FilterExpression`: a single `filter`, or an `andGroup`.
fn combined(filters: &[&Filter]) -> Result<Option<Value>, String> {
    let mut expressions = filters
        .iter()
        .map(|f| filter_expression(f))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(match expressions.len() {
        0 => None,
        1 => expressions.pop(),
        _ => Some(json!({ "andGroup": { "expressions": expressions } })),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(field: &str, operator: &str, value: Value) -> Filter {
        Filter {
            field: field.into(),
            operator: operator.into(),
            value,
        }
    }

    fn window() -> DateWindow {
        DateWindow::new("2025-03-01".parse().unwrap(), "2025-03-31".parse().unwrap())
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn fields_split_into_dimensions_and_metrics_in_order() {
        let fields = names(&["date", "sessions", "country", "activeUsers"]);
        let daily = ReportRequest::from_parts(&fields, &[], TimeIncrement::Daily, window(), &[]).unwrap();
        assert_eq!(daily.dimensions, ["date", "country"]);
        assert_eq!(daily.metrics, ["sessions", "activeUsers"]);
        assert_eq!(daily.fixed_date, None);
        let total = ReportRequest::from_parts(&fields, &[], TimeIncrement::Total, window(), &[]).unwrap();
        assert_eq!(total.dimensions, ["country"]);
        assert_eq!(total.fixed_date, Some(window().start));
        let bad = [filter("country", "LIKE", json!("x"))];
        assert!(ReportRequest::from_parts(&fields, &bad, TimeIncrement::Daily, window(), &[]).is_err());
    }

    #[test]
    fn body_has_the_documented_shape_with_a_stable_order() {
        let fields = names(&["sessionDefaultChannelGroup", "date", "sessions", "activeUsers"]);
        let request = ReportRequest::from_parts(&fields, &[], TimeIncrement::Daily, window(), &[]).unwrap();
        let body = request.body(20_000);
        assert_eq!(
            body,
            json!({
                "dateRanges": [{"startDate": "2025-03-01", "endDate": "2025-03-31"}],
                "dimensions": [{"name": "sessionDefaultChannelGroup"}, {"name": "date"}],
                "metrics": [{"name": "sessions"}, {"name": "activeUsers"}],
                "orderBys": [
                    {"dimension": {"dimensionName": "date"}, "desc": false},
                    {"dimension": {"dimensionName": "sessionDefaultChannelGroup"}, "desc": false},
                ],
                "limit": "10000",
                "offset": "20000",
                "keepEmptyRows": false,
                "returnPropertyQuota": true,
            })
        );
        let mut huge = request;
        huge.limit = 1_000_000;
        assert_eq!(huge.body(0)["limit"], "250000");
    }

    /// api-facts §6, the request verbatim.
    const FACTS_REQUEST: &str = r#"{"dateRanges":[{"startDate":"2025-03-01","endDate":"yesterday"}],
 "dimensions":[{"name":"date"},{"name":"sessionDefaultChannelGroup"}],
 "metrics":[{"name":"sessions"},{"name":"activeUsers"}],
 "limit":"10000","offset":"0","returnPropertyQuota":true}"#;

    #[test]
    fn body_agrees_with_the_documented_request() {
        let facts: Value = serde_json::from_str(FACTS_REQUEST).unwrap();
        let fields = names(&["date", "sessionDefaultChannelGroup", "sessions", "activeUsers"]);
        let body = ReportRequest::from_parts(&fields, &[], TimeIncrement::Daily, window(), &[])
            .unwrap()
            .body(0);
        for key in ["dimensions", "metrics", "limit", "offset", "returnPropertyQuota"] {
            assert_eq!(body[key], facts[key], "{key}");
        }
        assert_eq!(body["dateRanges"][0]["startDate"], facts["dateRanges"][0]["startDate"]);
    }

    #[test]
    fn one_filter_is_bare_several_are_an_and_group() {
        let fields = names(&["country", "sessions"]);
        let daily = TimeIncrement::Daily;
        let filters = [filter("country", "EXACT", json!("DE"))];
        let one = ReportRequest::from_parts(&fields, &filters, daily, window(), &[]).unwrap();
        assert_eq!(
            one.body(0)["dimensionFilter"],
            json!({"filter": {"fieldName": "country", "stringFilter": {"matchType": "EXACT", "value": "DE", "caseSensitive": true}}})
        );
        assert!(one.body(0).get("metricFilter").is_none());
        let filters = [
            filter("country", "IN_LIST", json!(["DE", "FR"])),
            filter("sessions", "GREATER_THAN", json!(10)),
            filter("deviceCategory", "CONTAINS", json!("mob")),
            filter("bounceRate", "LESS_THAN", json!(0.5)),
        ];
        let several = ReportRequest::from_parts(&fields, &filters, daily, window(), &[]).unwrap();
        let body = several.body(0);
        assert_eq!(
            body["dimensionFilter"],
            json!({"andGroup": {"expressions": [
                {"filter": {"fieldName": "country", "inListFilter": {"values": ["DE", "FR"], "caseSensitive": true}}},
                {"filter": {"fieldName": "deviceCategory", "stringFilter": {"matchType": "CONTAINS", "value": "mob", "caseSensitive": true}}},
            ]}})
        );
        assert_eq!(
            body["metricFilter"],
            json!({"andGroup": {"expressions": [
                {"filter": {"fieldName": "sessions", "numericFilter": {"operation": "GREATER_THAN", "value": {"int64Value": "10"}}}},
                {"filter": {"fieldName": "bounceRate", "numericFilter": {"operation": "LESS_THAN", "value": {"doubleValue": 0.5}}}},
            ]}})
        );
    }

    #[test]
    fn filters_the_api_would_reject_are_named() {
        let err = |f: Filter| check_filter(&f).unwrap_err();
        assert!(err(filter("sesions", "EQUAL", json!(1))).contains("not a GA4 dimension or metric"));
        assert!(err(filter("sessions", "CONTAINS", json!("1"))).contains("does not apply to the metric sessions"));
        assert!(err(filter("sessions", "GREATER_THAN", json!("10"))).contains("needs a number"));
        assert!(err(filter("country", "GREATER_THAN", json!("DE"))).contains("does not apply to the dimension country"));
        assert!(err(filter("country", "EXACT", json!(["DE"]))).contains("needs a string"));
        assert!(err(filter("country", "IN_LIST", json!([]))).contains("non-empty list of strings"));
        assert!(err(filter("country", "IN_LIST", json!(["DE", 1]))).contains("non-empty list of strings"));
        assert!(check_filter(&filter("pagePath", "PARTIAL_REGEXP", json!("^/blog"))).is_ok());
        assert!(check_filter(&filter("engagementRate", "GREATER_THAN_OR_EQUAL", json!(0.25))).is_ok());
    }

    #[test]
    fn paging_runs_until_the_offset_reaches_row_count() {
        // api-facts §6: 175 rows with limit 50 → pages at 0, 50, 100, 150.
        assert_eq!(next_offset(0, 50, 175), Ok(Some(50)));
        assert_eq!(next_offset(100, 50, 175), Ok(Some(150)));
        assert_eq!(next_offset(150, 25, 175), Ok(None));
        assert_eq!(next_offset(0, 0, 0), Ok(None));
        assert!(next_offset(50, 0, 175).is_err());
    }
}
