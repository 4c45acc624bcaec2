//! The bottom vocabulary: who a connection logs in with ([`Provider`]), the platforms rows
//! come from ([`Platform`]), report levels, the field catalogs, and each platform's constant
//! facts (scopes, history, slice sizes, real endpoints, account-id formats).
//!
//! It imports nothing else of the crate, so config, auth, queries, sources and sinks can all
//! speak of platforms without importing each other. Adding a platform starts here.

pub(crate) mod a1;
pub(crate) mod ga4;
pub mod google_ads;
pub(crate) mod google_key;
pub(crate) mod linkedin_ads;
pub(crate) mod meta_ads;

use serde::{Deserialize, Serialize};

/// The Google Sheets scope (read and write every spreadsheet the login can reach).
pub(crate) const SHEETS_SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";
/// Where the real Sheets API is; `conn.api_base(SHEETS_BASE)` gives the sandbox instead
/// when set.
pub(crate) const SHEETS_BASE: &str = "https://sheets.googleapis.com";
/// Where Google's real OpenID Connect userinfo endpoint is (who a Google login belongs to).
pub(crate) const USERINFO_BASE: &str = "https://openidconnect.googleapis.com";

/// The aggregation level of a report row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// One row per ad account.
    Account,
    /// One row per campaign.
    Campaign,
    /// One row per ad set (ad group on Google).
    Adset,
    /// One row per ad.
    Ad,
}

impl Level {
    /// The name used in query files and by the Graph API.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Account => "account",
            Level::Campaign => "campaign",
            Level::Adset => "adset",
            Level::Ad => "ad",
        }
    }
}

/// Real-platform endpoints of a provider, used unless a connection overrides them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProviderDefaults {
    /// The consent page.
    pub(crate) auth_url: &'static str,
    /// Where codes and refresh tokens are exchanged.
    pub(crate) token_url: &'static str,
    /// The API version requests name.
    pub(crate) api_version: &'static str,
    /// The scopes a login asks for.
    pub(crate) scopes: &'static [&'static str],
}

/// What a platform reports about a token (Meta's `debug_token`); `None` where it says nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenFacts {
    /// When the access token ends.
    pub(crate) access_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When the user's data-access consent ends (Meta: about 90 days after the last login).
    pub(crate) data_access_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The scopes actually granted.
    pub(crate) scopes: Option<Vec<String>>,
}

/// Who a connection logs in with: one OAuth authorization server, one token, and the
/// platforms that token can serve (one Google login reads Google Ads and GA4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// Meta (Facebook) Login.
    MetaAds,
    /// Google OAuth 2.0, for Google Ads and Google Analytics 4.
    Google,
    /// LinkedIn OAuth 2.0, for LinkedIn Ads.
    LinkedinAds,
    /// A Google service account: tokens from a JWT signed with its key (RFC 7523), no person
    /// involved; writes Google Sheets shared with it, and reads GA4 properties it was added to.
    GoogleServiceAccount,
}

impl Provider {
    /// Every provider, in the order config errors list them.
    pub(crate) const ALL: [Provider; 4] = [
        Provider::MetaAds,
        Provider::Google,
        Provider::LinkedinAds,
        Provider::GoogleServiceAccount,
    ];

    /// The name used in config files.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Provider::MetaAds => "meta_ads",
            Provider::Google => "google",
            Provider::LinkedinAds => "linkedin_ads",
            Provider::GoogleServiceAccount => "google_service_account",
        }
    }

    /// The name people know it by, for email subjects.
    pub(crate) fn display_name(self) -> &'static str {
        match self {
            Provider::MetaAds => "Meta Ads",
            Provider::Google => "Google",
            Provider::LinkedinAds => "LinkedIn Ads",
            Provider::GoogleServiceAccount => "Google service account",
        }
    }

    /// The provider called `name` in config files.
    pub(crate) fn parse(name: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The real platform's endpoints and the scopes a login asks for, used unless a
    /// connection overrides them.
    pub(crate) fn defaults(self) -> ProviderDefaults {
        match self {
            Provider::MetaAds => ProviderDefaults {
                auth_url: "https://www.facebook.com/v25.0/dialog/oauth",
                token_url: "https://graph.facebook.com/v25.0/oauth/access_token",
                api_version: "v25.0",
                scopes: &[meta_ads::SCOPE],
            },
            // One Google login serves Google Ads and GA4; `openid email` name the person in the
            // status page and emails.
            Provider::Google => ProviderDefaults {
                auth_url: "https://accounts.google.com/o/oauth2/v2/auth",
                token_url: "https://oauth2.googleapis.com/token",
                api_version: "v26",
                scopes: &["openid", "email", google_ads::SCOPE, ga4::SCOPE, SHEETS_SCOPE],
            },
            // No consent page: the token URL comes from the key file unless overridden.
            Provider::GoogleServiceAccount => ProviderDefaults {
                auth_url: "https://accounts.google.com/o/oauth2/v2/auth",
                token_url: "https://oauth2.googleapis.com/token",
                api_version: "v26",
                scopes: &[SHEETS_SCOPE],
            },
            Provider::LinkedinAds => ProviderDefaults {
                auth_url: "https://www.linkedin.com/oauth/v2/authorization",
                token_url: "https://www.linkedin.com/oauth/v2/accessToken",
                api_version: "202610",
                // `r_ads` lists the member's ad accounts; `r_ads_reporting` reads their analytics.
                scopes: &[linkedin_ads::SCOPE, "r_ads"],
            },
        }
    }

    /// The platforms a connection of this provider can read from.
    pub(crate) fn platforms(self) -> &'static [Platform] {
        match self {
            Provider::MetaAds => &[Platform::MetaAds],
            Provider::Google => &[Platform::GoogleAds, Platform::Ga4],
            Provider::LinkedinAds => &[Platform::LinkedinAds],
            Provider::GoogleServiceAccount => &[Platform::Ga4],
        }
    }
}

/// A reporting API rows come from; a query reads from exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// Meta Marketing API insights.
    MetaAds,
    /// Google Ads API.
    GoogleAds,
    /// Google Analytics 4 Data API.
    Ga4,
    /// LinkedIn Marketing API ad analytics.
    LinkedinAds,
}

impl Platform {
    /// The name used in query files.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Platform::MetaAds => "meta_ads",
            Platform::GoogleAds => "google_ads",
            Platform::Ga4 => "ga4",
            Platform::LinkedinAds => "linkedin_ads",
        }
    }

    /// The name people know it by, for email subjects.
    pub(crate) fn display_name(self) -> &'static str {
        match self {
            Platform::MetaAds => "Meta Ads",
            Platform::GoogleAds => "Google Ads",
            Platform::Ga4 => "Google Analytics 4",
            Platform::LinkedinAds => "LinkedIn Ads",
        }
    }

    /// The platform called `name` in query files.
    pub(crate) fn parse(name: &str) -> Option<Platform> {
        [
            Platform::MetaAds,
            Platform::GoogleAds,
            Platform::Ga4,
            Platform::LinkedinAds,
        ]
        .into_iter()
        .find(|p| p.as_str() == name)
    }

    /// Fields this platform can report, with the level each needs.
    pub(crate) fn fields(self) -> &'static [FieldSpec] {
        match self {
            Platform::MetaAds => meta_ads::FIELDS,
            Platform::GoogleAds => google_ads::FIELDS,
            Platform::Ga4 => ga4::FIELDS,
            Platform::LinkedinAds => linkedin_ads::FIELDS,
        }
    }

    /// Breakdowns this platform accepts (only Meta has them; elsewhere segments and
    /// dimensions are fields).
    pub(crate) fn breakdowns(self) -> &'static [&'static str] {
        match self {
            Platform::MetaAds => meta_ads::BREAKDOWNS,
            Platform::GoogleAds | Platform::Ga4 | Platform::LinkedinAds => &[],
        }
    }

    /// Looks a field up by name.
    pub(crate) fn field(self, name: &str) -> Option<&'static FieldSpec> {
        self.fields().iter().find(|f| f.name == name)
    }

    /// Whether rows have a level (GA4 reports are shaped by their dimensions instead).
    pub(crate) fn has_levels(self) -> bool {
        self != Platform::Ga4
    }

    /// Why `id` is not an account id of this platform, if it is not.
    pub(crate) fn check_account(self, id: &str) -> Result<(), String> {
        match self {
            Platform::MetaAds => meta_ads::check_account(id),
            Platform::GoogleAds => google_ads::check_account(id),
            Platform::Ga4 => ga4::check_account(id),
            Platform::LinkedinAds => linkedin_ads::check_account(id),
        }
    }

    /// The OAuth scope a token needs to read this platform.
    pub(crate) fn scope(self) -> &'static str {
        match self {
            Platform::MetaAds => meta_ads::SCOPE,
            Platform::GoogleAds => google_ads::SCOPE,
            Platform::Ga4 => ga4::SCOPE,
            Platform::LinkedinAds => linkedin_ads::SCOPE,
        }
    }

    /// How many months back the platform serves report data.
    pub(crate) fn history_months(self) -> u32 {
        match self {
            Platform::MetaAds => meta_ads::HISTORY_MONTHS,
            Platform::GoogleAds => google_ads::HISTORY_MONTHS,
            Platform::Ga4 => ga4::HISTORY_MONTHS,
            Platform::LinkedinAds => linkedin_ads::HISTORY_MONTHS,
        }
    }

    /// The longest date slice one request of a daily report may cover, where the platform
    /// has such a limit.
    pub fn max_unit_days(self) -> Option<i64> {
        match self {
            Platform::MetaAds => Some(meta_ads::ASYNC_AFTER_DAYS),
            Platform::GoogleAds => google_ads::MAX_UNIT_DAYS,
            Platform::Ga4 => ga4::MAX_UNIT_DAYS,
            Platform::LinkedinAds => linkedin_ads::MAX_UNIT_DAYS,
        }
    }
}

/// What kind of value a field holds, as the discovery commands show it and as cells are
/// written (numbers unchanged as the platform sends them, enums as the API's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FieldKind {
    /// Free text: names, labels.
    Text,
    /// An identifier (written as text, never reformatted as a number).
    Id,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A whole number: impressions, clicks.
    Integer,
    /// A decimal number: rates, averages, conversions.
    Decimal,
    /// An amount in the account's currency.
    Money,
    /// A percentage or ratio.
    Percent,
    /// One of a fixed set of names (Google Ads enums, Meta rankings).
    Enum,
    /// A list of values per action type (Meta `actions`, `action_values`, …): named per type
    /// as `field:<action_type>[:<window>]` columns.
    ActionList,
}

impl FieldKind {
    /// The name the discovery commands print.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Id => "id",
            FieldKind::Date => "date",
            FieldKind::Integer => "integer",
            FieldKind::Decimal => "decimal",
            FieldKind::Money => "money",
            FieldKind::Percent => "percent",
            FieldKind::Enum => "enum",
            FieldKind::ActionList => "action list",
        }
    }
}

/// What adsync knows about one platform field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The platform's field name, as query files write it.
    pub(crate) name: &'static str,
    /// The most detailed level the field belongs to: `campaign_name` needs campaign level or
    /// finer, `impressions` works at any level (`Level::Account`).
    pub(crate) min_level: Level,
    /// The row's date: append mode upserts by this column.
    pub(crate) is_row_date: bool,
    /// One line from the platform's reference saying what the field holds.
    pub(crate) about: &'static str,
    /// What kind of value it holds.
    pub(crate) kind: FieldKind,
}

impl FieldSpec {
    /// A field available from `min_level` on.
    pub(crate) const fn new(name: &'static str, min_level: Level) -> Self {
        FieldSpec {
            name,
            min_level,
            is_row_date: false,
            about: "",
            kind: FieldKind::Text,
        }
    }

    /// The row's date field.
    pub(crate) const fn row_date(name: &'static str) -> Self {
        FieldSpec {
            name,
            min_level: Level::Account,
            is_row_date: true,
            about: "The day the row covers.",
            kind: FieldKind::Date,
        }
    }

    /// The same field described by `about` (one line from the platform's reference).
    pub(crate) const fn about(self, about: &'static str) -> Self {
        FieldSpec { about, ..self }
    }

    /// The same field holding values of `kind`.
    pub(crate) const fn kind(self, kind: FieldKind) -> Self {
        FieldSpec { kind, ..self }
    }
}
