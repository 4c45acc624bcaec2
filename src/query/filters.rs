//! How each platform spells a query's filters, and why it would reject one: query loading
//! checks filters with these, and the sources build their requests from them, so a filter
//! that loads is one the platform accepts.

use serde_json::{json, Value};

use super::{gaql, Filter};
use crate::platform::ga4::{is_known, is_metric};
use crate::platform::Platform;

/// Why `platform` would reject `filter`, if it would.
pub(crate) fn check_filter(platform: Platform, filter: &Filter) -> Result<(), String> {
    match platform {
        Platform::MetaAds => Ok(()),
        Platform::GoogleAds => gaql::condition(filter).map(|_| ()),
        Platform::Ga4 => ga4_filter_expression(filter).map(drop),
        Platform::LinkedinAds => linkedin_facet_ids(filter).map(|_| ()),
    }
}

/// String match types of a dimension `stringFilter`, as query files name them.
const STRING_MATCHES: [&str; 6] = [
    "EXACT",
    "BEGINS_WITH",
    "ENDS_WITH",
    "CONTAINS",
    "FULL_REGEXP",
    "PARTIAL_REGEXP",
];
/// A dimension `inListFilter`.
const IN_LIST: &str = "IN_LIST";
/// Operations of a metric `numericFilter`.
const NUMERIC_OPERATIONS: [&str; 5] = [
    "EQUAL",
    "LESS_THAN",
    "LESS_THAN_OR_EQUAL",
    "GREATER_THAN",
    "GREATER_THAN_OR_EQUAL",
];

/// GA4: one query-file filter as a `FilterExpression` with a single `filter`.
pub(crate) fn ga4_filter_expression(filter: &Filter) -> Result<Value, String> {
    let Filter { field, operator, value } = filter;
    if !is_known(field) {
        return Err(format!(
            "filter field {field:?} is not a GA4 dimension or metric adsync knows"
        ));
    }
    let op = operator.as_str();
    let body = if is_metric(field) {
        if !NUMERIC_OPERATIONS.contains(&op) {
            return Err(format!(
                "operator {operator:?} does not apply to the metric {field}; use one of {}",
                NUMERIC_OPERATIONS.join(", ")
            ));
        }
        let Value::Number(number) = value else {
            return Err(format!("{field} {operator} needs a number, e.g. 100, not {value}"));
        };
        // int64 values travel as strings; anything with a fraction as a double.
        let numeric = if number.is_i64() || number.is_u64() {
            json!({ "int64Value": number.to_string() })
        } else {
            json!({ "doubleValue": number })
        };
        json!({ "numericFilter": { "operation": op, "value": numeric } })
    } else if op == IN_LIST {
        let values: Option<Vec<&str>> = value
            .as_array()
            .filter(|list| !list.is_empty())
            .and_then(|list| list.iter().map(Value::as_str).collect());
        let Some(values) = values else {
            return Err(format!(
                "{field} IN_LIST needs a non-empty list of strings, e.g. [\"a\", \"b\"], not {value}"
            ));
        };
        json!({ "inListFilter": { "values": values, "caseSensitive": true } })
    } else if STRING_MATCHES.contains(&op) {
        let Some(text) = value.as_str() else {
            return Err(format!("{field} {operator} needs a string, not {value}"));
        };
        // GA4 matches case-insensitively unless told otherwise; EXACT should mean exact.
        json!({ "stringFilter": { "matchType": op, "value": text, "caseSensitive": true } })
    } else {
        return Err(format!(
            "operator {operator:?} does not apply to the dimension {field}; use one of {}, {IN_LIST}",
            STRING_MATCHES.join(", ")
        ));
    };
    let mut filter = json!({ "fieldName": field });
    if let (Value::Object(target), Value::Object(kind)) = (&mut filter, body) {
        target.extend(kind);
    }
    Ok(json!({ "filter": filter }))
}

/// LinkedIn Ads: a facet that narrows a report to some entities: the filter fields queries may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Facet {
    /// `campaignGroups=List(urn:li:sponsoredCampaignGroup:…)`.
    CampaignGroups,
    /// `campaigns=List(urn:li:sponsoredCampaign:…)`.
    Campaigns,
    /// `creatives=List(urn:li:sponsoredCreative:…)`.
    Creatives,
}

impl Facet {
    const ALL: [Facet; 3] = [Facet::CampaignGroups, Facet::Campaigns, Facet::Creatives];

    /// The facet a filter's `field` names.
    pub(crate) fn parse(field: &str) -> Option<Facet> {
        Facet::ALL.into_iter().find(|f| f.param() == field)
    }

    /// The query parameter.
    pub(crate) fn param(self) -> &'static str {
        match self {
            Facet::CampaignGroups => "campaignGroups",
            Facet::Campaigns => "campaigns",
            Facet::Creatives => "creatives",
        }
    }

    /// The URN prefix of its ids.
    pub(crate) fn urn_prefix(self) -> &'static str {
        match self {
            Facet::CampaignGroups => "urn:li:sponsoredCampaignGroup:",
            Facet::Campaigns => "urn:li:sponsoredCampaign:",
            Facet::Creatives => "urn:li:sponsoredCreative:",
        }
    }
}

/// LinkedIn Ads: the facet and ids of a valid filter.
pub(crate) fn linkedin_facet_ids(filter: &Filter) -> Result<(Facet, Vec<String>), String> {
    let facet = Facet::parse(&filter.field).ok_or_else(|| {
        let known: Vec<String> = Facet::ALL.iter().map(|f| format!("{:?}", f.param())).collect();
        format!(
            "LinkedIn Ads filters on {:?}, which is not a facet; use one of {}",
            filter.field,
            known.join(", ")
        )
    })?;
    if filter.operator != "IN" {
        return Err(format!(
            "LinkedIn Ads facets only take operator \"IN\" (a list of ids), not {:?}",
            filter.operator
        ));
    }
    let invalid = || {
        format!(
            "the value of a {:?} filter must be a non-empty list of numeric ids, e.g. [\"600123\", 600124]",
            facet.param()
        )
    };
    let values = filter.value.as_array().filter(|v| !v.is_empty()).ok_or_else(invalid)?;
    let ids = values
        .iter()
        .map(|v| match v {
            serde_json::Value::String(s) if is_id(s) => Ok(s.clone()),
            serde_json::Value::Number(n) if n.is_u64() => Ok(n.to_string()),
            _ => Err(invalid()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((facet, ids))
}

fn is_id(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}
