//! What a connection's login can see (`adsync accounts`): every account of every platform
//! the connection serves, with the id a query file wants, its name, currency and time zone.
//! Asked like any run asks: the token is refreshed (and a rotated one persisted) by the
//! auth layer.

use crate::auth::Auth;
use crate::http::FetchError;
use crate::sources::{AccountInfo, Platform, Source};

/// The accounts a connection's login can read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccountList {
    /// The connection id.
    pub connection: String,
    /// Platform by platform, in the platform's own order.
    pub accounts: Vec<AccountInfo>,
}

/// Lists what `connection`'s login can read through `sources` (its readers, one per
/// platform). A platform whose scope the login was not granted (a Google login approved for
/// Ads only) is left out rather than failing the whole list.
pub(crate) async fn list(
    auth: &Auth,
    connection: &str,
    sources: &[(Platform, &Source)],
) -> Result<AccountList, FetchError> {
    auth.ensure_usable(connection).await?;
    let granted = auth.granted_scopes(connection).await?;
    let mut accounts = Vec::new();
    for (platform, source) in sources {
        // An empty list means the platform did not say (Meta): ask anyway.
        if !granted.is_empty() && !granted.iter().any(|s| s == platform.scope()) {
            continue;
        }
        accounts.extend(source.account_details().await?);
    }
    Ok(AccountList {
        connection: connection.to_string(),
        accounts,
    })
}

impl AccountList {
    /// The accounts as an aligned table (cut to `width` when given: a terminal).
    pub fn to_table(&self, width: Option<usize>) -> String {
        if self.accounts.is_empty() {
            return format!("{}: the login can read no accounts.\n", self.connection);
        }
        let rows: Vec<Vec<&str>> = self
            .accounts
            .iter()
            .map(|a| {
                vec![
                    a.platform.as_str(),
                    a.id.as_str(),
                    a.name.as_str(),
                    a.currency.as_str(),
                    a.time_zone.as_deref().unwrap_or("-"),
                    if a.manager {
                        "manager"
                    } else {
                        a.login_customer_id.as_deref().unwrap_or("")
                    },
                ]
            })
            .collect();
        let header = ["PLATFORM", "ID", "NAME", "CURRENCY", "TIME ZONE", "LOGIN_CUSTOMER_ID"];
        let header = if self.accounts.iter().any(|a| a.manager || a.login_customer_id.is_some()) {
            &header[..]
        } else {
            &header[..5]
        };
        let lines: Vec<Vec<&str>> = std::iter::once(header.to_vec())
            .chain(rows.into_iter().map(|r| r[..header.len()].to_vec()))
            .collect();
        crate::table::aligned(&lines, width)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(platform: &str, id: &str, manager: bool, through: Option<&str>) -> AccountInfo {
        AccountInfo {
            platform: platform.to_string(),
            id: id.to_string(),
            name: format!("Account {id}"),
            currency: "EUR".to_string(),
            time_zone: Some("Europe/Berlin".to_string()),
            manager,
            login_customer_id: through.map(str::to_string),
        }
    }

    #[test]
    fn the_manager_column_appears_only_where_there_are_managers() {
        let list = AccountList {
            connection: "meta".to_string(),
            accounts: vec![account("meta_ads", "act_1", false, None)],
        };
        assert_eq!(
            list.to_table(None),
            "PLATFORM  ID     NAME           CURRENCY  TIME ZONE\n\
             meta_ads  act_1  Account act_1  EUR       Europe/Berlin\n"
        );
        let list = AccountList {
            connection: "google".to_string(),
            accounts: vec![
                account("google_ads", "9990001111", true, None),
                account("google_ads", "3456789012", false, Some("9990001111")),
            ],
        };
        let table = list.to_table(None);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].ends_with("TIME ZONE      LOGIN_CUSTOMER_ID"), "{table}");
        assert!(lines[1].ends_with("Europe/Berlin  manager"), "{table}");
        assert!(lines[2].ends_with("Europe/Berlin  9990001111"), "{table}");
    }
}
