//! The `runReport` body as the Data API reads it: proto3 JSON with camelCase names, int64s
//! as strings, `oneof`s as optional members. Unknown keys are refused, as the API refuses
//! them, so a connector's typo shows up as a 400.

use serde::Deserialize;

/// A `runReport` body; unknown keys are refused, as the API refuses them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunReportRequest {
    /// `properties/{id}`; the path names the property, the body may repeat it.
    #[serde(default)]
    pub property: Option<String>,
    /// Date ranges (the sandbox serves one).
    #[serde(default)]
    pub date_ranges: Vec<DateRangeSpec>,
    /// Dimensions, in response order.
    #[serde(default)]
    pub dimensions: Vec<Named>,
    /// Metrics, in response order.
    #[serde(default)]
    pub metrics: Vec<Named>,
    /// Filter on dimension values, applied before aggregation.
    #[serde(default)]
    pub dimension_filter: Option<FilterExpression>,
    /// Filter on metric values, applied after aggregation (SQL's HAVING).
    #[serde(default)]
    pub metric_filter: Option<FilterExpression>,
    /// Row order.
    #[serde(default)]
    pub order_bys: Vec<OrderBy>,
    /// Rows per page (int64: a string or a number).
    #[serde(default)]
    pub limit: Option<Int64>,
    /// First row of the page.
    #[serde(default)]
    pub offset: Option<Int64>,
    /// Whether rows whose metrics are all 0 are returned.
    #[serde(default)]
    pub keep_empty_rows: bool,
    /// Whether the response carries `propertyQuota`.
    #[serde(default)]
    pub return_property_quota: bool,
    /// Currency of revenue metrics (the sandbox's are in the property's currency anyway).
    #[serde(default)]
    pub currency_code: Option<String>,
    /// Totals, maximums, minimums: refused, the sandbox does not compute them.
    #[serde(default)]
    pub metric_aggregations: Vec<serde_json::Value>,
    /// Comparisons: refused, the sandbox does not compute them.
    #[serde(default)]
    pub comparisons: Vec<serde_json::Value>,
    /// Cohorts: refused, the sandbox does not compute them.
    #[serde(default)]
    pub cohort_spec: Option<serde_json::Value>,
}

/// An int64 in proto3 JSON: a decimal string, though numbers are accepted.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Int64 {
    /// `"10000"`.
    Text(String),
    /// `10000`.
    Number(i64),
}

impl Int64 {
    /// The number; `field` names it in the error, as the API does.
    pub fn value(&self, field: &str) -> Result<i64, String> {
        match self {
            Int64::Number(n) => Ok(*n),
            Int64::Text(text) => text
                .parse()
                .map_err(|_| format!("Invalid value at '{field}' (TYPE_INT64), \"{text}\"")),
        }
    }
}

/// `{"startDate", "endDate"}`: `YYYY-MM-DD`, `today`, `yesterday` or `NdaysAgo`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DateRangeSpec {
    /// First day.
    pub start_date: String,
    /// Last day.
    pub end_date: String,
    /// Name of the range in the `dateRange` dimension.
    #[serde(default)]
    pub name: Option<String>,
}

/// `{"name"}` of a dimension or metric.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Named {
    /// API name.
    pub name: String,
}

/// A `FilterExpression`: exactly one of its members.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FilterExpression {
    /// All must hold.
    #[serde(default)]
    pub and_group: Option<FilterGroup>,
    /// One must hold.
    #[serde(default)]
    pub or_group: Option<FilterGroup>,
    /// Must not hold.
    #[serde(default)]
    pub not_expression: Option<Box<FilterExpression>>,
    /// One field's condition.
    #[serde(default)]
    pub filter: Option<FieldFilter>,
}

/// `{"expressions": […]}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterGroup {
    /// The members.
    #[serde(default)]
    pub expressions: Vec<FilterExpression>,
}

/// A condition on one field: exactly one of the filters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldFilter {
    /// The dimension or metric.
    pub field_name: String,
    /// A string comparison (dimensions).
    #[serde(default)]
    pub string_filter: Option<StringFilter>,
    /// One of several strings (dimensions).
    #[serde(default)]
    pub in_list_filter: Option<InListFilter>,
    /// A numeric comparison (metrics).
    #[serde(default)]
    pub numeric_filter: Option<NumericFilter>,
    /// A numeric range, bounds included (metrics).
    #[serde(default)]
    pub between_filter: Option<BetweenFilter>,
}

/// `stringFilter`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StringFilter {
    /// `EXACT` (the default), `BEGINS_WITH`, `ENDS_WITH`, `CONTAINS`, `FULL_REGEXP`,
    /// `PARTIAL_REGEXP`.
    #[serde(default)]
    pub match_type: Option<String>,
    /// The string.
    #[serde(default)]
    pub value: String,
    /// GA4 compares case-insensitively unless told.
    #[serde(default)]
    pub case_sensitive: bool,
}

/// `inListFilter`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InListFilter {
    /// The strings.
    #[serde(default)]
    pub values: Vec<String>,
    /// GA4 compares case-insensitively unless told.
    #[serde(default)]
    pub case_sensitive: bool,
}

/// `numericFilter`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumericFilter {
    /// `EQUAL`, `LESS_THAN`, `LESS_THAN_OR_EQUAL`, `GREATER_THAN`, `GREATER_THAN_OR_EQUAL`.
    pub operation: String,
    /// The number.
    pub value: NumericValue,
}

/// `betweenFilter`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BetweenFilter {
    /// Lower bound.
    pub from_value: NumericValue,
    /// Upper bound.
    pub to_value: NumericValue,
}

/// `{"int64Value"}` or `{"doubleValue"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NumericValue {
    /// An integer, as a string.
    #[serde(default)]
    pub int64_value: Option<Int64>,
    /// A double.
    #[serde(default)]
    pub double_value: Option<f64>,
}

/// One `orderBys` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderBy {
    /// Order by a dimension's values.
    #[serde(default)]
    pub dimension: Option<DimensionOrder>,
    /// Order by a metric's values.
    #[serde(default)]
    pub metric: Option<MetricOrder>,
    /// Descending.
    #[serde(default)]
    pub desc: bool,
}

/// `{"dimensionName", "orderType"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DimensionOrder {
    /// The dimension.
    pub dimension_name: String,
    /// `ALPHANUMERIC` (the default), `CASE_INSENSITIVE_ALPHANUMERIC` or `NUMERIC`.
    #[serde(default)]
    pub order_type: Option<String>,
}

/// `{"metricName"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricOrder {
    /// The metric.
    pub metric_name: String,
}
