//! The property's own dimensions and metrics, from the Data API's `getMetadata`
//! (`GET /v1beta/properties/{id}/metadata`,
//! https://developers.google.com/analytics/devguides/reporting/data/v1/rest/v1beta/properties/getMetadata).
//!
//! Custom dimensions and metrics (`customEvent:…`, `customUser:…`, `customItem:…`) exist
//! only as a property registered them, so `check` accepts them by shape and a run asks the
//! property before its report: whether each one exists, and whether it is a dimension or a
//! metric (the name alone does not say; `customEvent:` names both).

use serde::Deserialize;

use super::fields::is_custom;
use crate::query::closest;

/// The custom definitions of one property.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CustomFields {
    /// Custom dimensions' API names, in the metadata's order.
    dimensions: Vec<String>,
    /// Custom metrics' API names, in the metadata's order.
    metrics: Vec<String>,
}

impl CustomFields {
    /// The custom definitions in a `Metadata` body.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Metadata {
            #[serde(default)]
            dimensions: Vec<Entry>,
            #[serde(default)]
            metrics: Vec<Entry>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Entry {
            api_name: String,
            #[serde(default)]
            custom_definition: bool,
        }
        let metadata: Metadata =
            serde_json::from_slice(body).map_err(|e| format!("the property's metadata is not valid JSON: {e}"))?;
        let custom = |entries: Vec<Entry>| {
            entries
                .into_iter()
                .filter(|e| e.custom_definition)
                .map(|e| e.api_name)
                .collect()
        };
        Ok(Self {
            dimensions: custom(metadata.dimensions),
            metrics: custom(metadata.metrics),
        })
    }

    /// The custom metrics among `fields`, or why a custom field of them is not one of
    /// `property`'s, naming the closest it has and all it has.
    pub(crate) fn metrics_of(&self, fields: &[String], property: &str) -> Result<Vec<String>, String> {
        let mut metrics = Vec::new();
        for name in fields.iter().filter(|f| is_custom(f)) {
            if self.metrics.contains(name) {
                metrics.push(name.clone());
            } else if !self.dimensions.contains(name) {
                return Err(self.unknown(name, property));
            }
        }
        Ok(metrics)
    }

    fn unknown(&self, name: &str, property: &str) -> String {
        let all: Vec<&str> = self
            .dimensions
            .iter()
            .chain(&self.metrics)
            .map(String::as_str)
            .collect();
        let guess = closest(name, &all)
            .map(|guess| format!("; did you mean {guess:?}?"))
            .unwrap_or_else(|| ".".to_string());
        let list = |names: &[String]| match names {
            [] => "none".to_string(),
            names => names.join(", "),
        };
        format!(
            "unknown custom field {name:?} for GA4 property {property}{guess} The property's custom dimensions: {}; custom metrics: {}",
            list(&self.dimensions),
            list(&self.metrics)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"name":"properties/1/metadata",
        "dimensions":[{"apiName":"date","uiName":"Date","customDefinition":false},
                      {"apiName":"customEvent:plan_type","uiName":"Plan type","customDefinition":true},
                      {"apiName":"customUser:tier","customDefinition":true}],
        "metrics":[{"apiName":"sessions","type":"TYPE_INTEGER"},
                   {"apiName":"customEvent:credits_used","type":"TYPE_INTEGER","customDefinition":true}]}"#;

    fn fields(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn custom_metrics_are_told_from_custom_dimensions() {
        let custom = CustomFields::parse(BODY.as_bytes()).unwrap();
        let asked = fields(&["date", "customEvent:plan_type", "customEvent:credits_used", "sessions"]);
        assert_eq!(custom.metrics_of(&asked, "1").unwrap(), ["customEvent:credits_used"]);
    }

    #[test]
    fn a_typo_names_the_closest_and_every_custom_field_of_the_property() {
        let custom = CustomFields::parse(BODY.as_bytes()).unwrap();
        let error = custom.metrics_of(&fields(&["customEvent:plan_typ"]), "1").unwrap_err();
        assert_eq!(
            error,
            "unknown custom field \"customEvent:plan_typ\" for GA4 property 1; did you mean \"customEvent:plan_type\"? \
             The property's custom dimensions: customEvent:plan_type, customUser:tier; custom metrics: customEvent:credits_used"
        );
        let none = CustomFields::default()
            .metrics_of(&fields(&["customItem:x"]), "2")
            .unwrap_err();
        assert!(
            none.ends_with("custom dimensions: none; custom metrics: none"),
            "{none}"
        );
        assert!(CustomFields::parse(b"[").is_err());
    }
}
