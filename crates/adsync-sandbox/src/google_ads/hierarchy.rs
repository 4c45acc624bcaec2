//! `FROM customer_client`: a customer and the accounts below it, as Google's account
//! hierarchy example reads them (googleads/google-ads-python
//! `examples/account_management/get_account_hierarchy.py`: `SELECT customer_client.client_customer,
//! customer_client.level, customer_client.manager, customer_client.descriptive_name,
//! customer_client.currency_code, customer_client.time_zone, customer_client.id FROM
//! customer_client WHERE customer_client.level <= 1`). Level 0 is the customer asked, level
//! 1 a manager's direct clients. int64 fields (`id`, `level`) are JSON strings, as the proto3
//! JSON mapping writes them.

use serde_json::{json, Map, Value};

use super::error::AdsFailure;
use super::gaql::{Gaql, Literal, Op};
use super::report::customer_attributes;
use super::Settings;

/// The fields of `customer_client` the sandbox serves, with their JSON names.
const FIELDS: [(&str, &str); 7] = [
    ("customer_client.client_customer", "clientCustomer"),
    ("customer_client.level", "level"),
    ("customer_client.manager", "manager"),
    ("customer_client.descriptive_name", "descriptiveName"),
    ("customer_client.currency_code", "currencyCode"),
    ("customer_client.time_zone", "timeZone"),
    ("customer_client.id", "id"),
];

/// The `searchStream` batch answering `query` on `customer`.
pub(super) fn answer(
    query: &Gaql,
    customer: u64,
    settings: &Settings,
    request_id: String,
) -> Result<Value, AdsFailure> {
    let mut selected = Vec::new();
    for name in &query.select {
        let (_, key) = FIELDS.iter().find(|(field, _)| field == name).ok_or_else(|| {
            AdsFailure::invalid_argument(
                "queryError",
                "UNRECOGNIZED_FIELD",
                format!("Error in SELECT clause: unrecognized field '{name}'."),
            )
        })?;
        selected.push(*key);
    }
    let mut max_level = u64::MAX;
    for condition in &query.conditions {
        match (condition.field.as_str(), condition.op, condition.values.as_slice()) {
            ("customer_client.level", Op::Le, [Literal::Number(n)]) => {
                max_level = n.parse().map_err(|_| {
                    AdsFailure::invalid_argument("queryError", "BAD_NUMBER", format!("Invalid number '{n}'."))
                })?;
            }
            (field, ..) => {
                return Err(AdsFailure::invalid_argument(
                    "queryError",
                    "UNRECOGNIZED_FIELD",
                    format!("The sandbox filters customer_client only by 'customer_client.level <=', not '{field}'."),
                ))
            }
        }
    }
    let clients = settings
        .managers
        .iter()
        .find(|m| m.id == customer)
        .map(|m| m.clients.clone())
        .unwrap_or_default();
    let rows: Vec<Value> = std::iter::once((customer, 0))
        .chain(clients.into_iter().map(|client| (client, 1)))
        .filter(|(_, level)| *level <= max_level)
        .map(|(client, level)| {
            let (name, currency, time_zone) = customer_attributes(client);
            let all = json!({
                "resourceName": format!("customers/{customer}/customerClients/{client}"),
                "clientCustomer": format!("customers/{client}"),
                "level": level.to_string(),
                "manager": settings.is_manager(client),
                "descriptiveName": name,
                "currencyCode": currency,
                "timeZone": time_zone,
                "id": client.to_string(),
            });
            let mut picked = Map::new();
            picked.insert("resourceName".into(), all["resourceName"].clone());
            for key in &selected {
                picked.insert((*key).into(), all[*key].clone());
            }
            json!({ "customerClient": picked })
        })
        .collect();
    let mask: Vec<String> = selected.iter().map(|key| format!("customerClient.{key}")).collect();
    Ok(json!([{ "results": rows, "fieldMask": mask.join(","), "requestId": request_id }]))
}
