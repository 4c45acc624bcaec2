//! The `level` parameter, in a module of its own so the data function and the field tables
//! beside it ([`super::more_fields`]) can both name levels without importing each other.

/// The `level` parameter: which entity one row describes. The sandbox's own copy:
/// it must not learn the levels from the client it checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// One row per ad account.
    Account,
    /// One row per campaign.
    Campaign,
    /// One row per ad set.
    Adset,
    /// One row per ad.
    Ad,
}

impl Level {
    /// The level for its Graph name (`account`, `campaign`, `adset`, `ad`).
    pub fn parse(name: &str) -> Option<Level> {
        [Level::Account, Level::Campaign, Level::Adset, Level::Ad]
            .into_iter()
            .find(|level| level.as_str() == name)
    }

    /// The name Graph uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Account => "account",
            Level::Campaign => "campaign",
            Level::Adset => "adset",
            Level::Ad => "ad",
        }
    }
}
