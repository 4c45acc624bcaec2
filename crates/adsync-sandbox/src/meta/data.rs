//! The sandbox's data function: what the Meta Insights edge answers for a query.
//!
//! Every cell is a pure function of (account, entity, day, breakdown values), so a report is
//! never stored: [`Report::row`] computes row `i` on demand. The server pages through a
//! million-row report without holding it, and tests compute the exact rows a sink must have
//! written. This module deliberately shares no tables (not even a type) with adsync's `sources::meta_ads`: an emulator
//! that reused the client's field list would agree with the client's mistakes.
//!
//! Levels are not additive (a campaign's impressions are not the sum of its ads'): each
//! entity draws its own numbers, which keeps every row O(1) however large the account.

use std::cmp::Ordering;

use chrono::{Datelike, Months, NaiveDate};
use serde_json::Value;

use super::actions::{ActionStat, Actions, ReportTime, LISTS, WINDOWS};
pub use super::level::Level;
use super::more_fields::{self, SCALARS};
use crate::draws::{fold, ratio6, Draws};
use crate::window::DateWindow;

/// One insights row: (graph field name, value) pairs in response order.
pub type Row = Vec<(&'static str, RowValue)>;

/// One value of a row: text (Graph sends numbers as strings too), or an action list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowValue {
    /// A number, name, id or date as Graph writes it.
    Text(String),
    /// The entries of an action-list field.
    Actions(Vec<ActionStat>),
}

impl RowValue {
    /// The text, unless the value is a list.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            RowValue::Text(text) => Some(text),
            RowValue::Actions(_) => None,
        }
    }

    /// The entries, unless the value is text.
    pub fn as_actions(&self) -> Option<&[ActionStat]> {
        match self {
            RowValue::Text(_) => None,
            RowValue::Actions(entries) => Some(entries),
        }
    }
}

/// How many entities each sandbox ad account has.
///
/// Ids stay unique while a shape stays below 10 000 campaigns per account and 1 000 ad sets
/// per campaign and ads per ad set (their indices are written at fixed widths).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Campaigns in each account.
    pub campaigns_per_account: u32,
    /// Ad sets in each campaign.
    pub adsets_per_campaign: u32,
    /// Ads in each ad set.
    pub ads_per_adset: u32,
}

impl Shape {
    /// A shape of `campaigns` campaigns, each with `adsets` ad sets of `ads` ads.
    pub const fn new(campaigns: u32, adsets: u32, ads: u32) -> Self {
        Self {
            campaigns_per_account: campaigns,
            adsets_per_campaign: adsets,
            ads_per_adset: ads,
        }
    }

    /// Entities at `level` in one account.
    fn entities(&self, level: Level) -> u128 {
        let (c, s, a) = self.widths();
        match level {
            Level::Account => 1,
            Level::Campaign => c,
            Level::Adset => c * s,
            Level::Ad => c * s * a,
        }
    }

    /// Ads under one entity of `level`: scales its traffic so an account outweighs an ad.
    /// Capped at a billion so a window's sums can never overflow a u64.
    fn ads_under(&self, level: Level) -> u64 {
        let (c, s, a) = self.widths();
        let ads = match level {
            Level::Account => c * s * a,
            Level::Campaign => s * a,
            Level::Adset => a,
            Level::Ad => 1,
        };
        u64::try_from(ads.clamp(1, 1_000_000_000)).unwrap_or(1)
    }

    /// The entity at position `entity` of `level`, campaign-major.
    fn path(&self, level: Level, entity: u64) -> Path {
        let s = u64::from(self.adsets_per_campaign).max(1);
        let a = u64::from(self.ads_per_adset).max(1);
        // Quotients are below the u32 counts they index, so the casts cannot truncate.
        match level {
            Level::Account => Path::default(),
            Level::Campaign => Path {
                campaign: entity as u32,
                ..Path::default()
            },
            Level::Adset => Path {
                campaign: (entity / s) as u32,
                adset: (entity % s) as u32,
                ad: 0,
            },
            Level::Ad => Path {
                campaign: (entity / (s * a)) as u32,
                adset: (entity / a % s) as u32,
                ad: (entity % a) as u32,
            },
        }
    }

    fn widths(&self) -> (u128, u128, u128) {
        (
            u128::from(self.campaigns_per_account),
            u128::from(self.adsets_per_campaign),
            u128::from(self.ads_per_adset),
        )
    }
}

impl Default for Shape {
    /// Three campaigns of two ad sets of two ads: small enough to read, big enough to page.
    fn default() -> Self {
        Shape::new(3, 2, 2)
    }
}

/// An `AdsInsights` field the sandbox serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// First day the row covers.
    DateStart,
    /// Last day the row covers.
    DateStop,
    /// The ad account number.
    AccountId,
    /// The ad account's name.
    AccountName,
    /// ISO code of the account's currency.
    AccountCurrency,
    /// The campaign's id.
    CampaignId,
    /// The campaign's name.
    CampaignName,
    /// The campaign's objective (`OUTCOME_SALES`, …).
    Objective,
    /// The ad set's id.
    AdsetId,
    /// The ad set's name.
    AdsetName,
    /// The ad's id.
    AdId,
    /// The ad's name.
    AdName,
    /// Times an ad was shown.
    Impressions,
    /// People who saw an ad (summed over days for totals).
    Reach,
    /// Impressions per person reached.
    Frequency,
    /// All clicks.
    Clicks,
    /// People who clicked.
    UniqueClicks,
    /// Clicks on links in the ad.
    InlineLinkClicks,
    /// Amount spent, in the account currency.
    Spend,
    /// Spend per click.
    Cpc,
    /// Spend per 1000 impressions.
    Cpm,
    /// Clicks per 100 impressions.
    Ctr,
    /// Spend per 1000 people reached.
    Cpp,
    /// Spend per unique click.
    CostPerUniqueClick,
    /// Spend per link click.
    CostPerInlineLinkClick,
    /// Link clicks per 100 impressions.
    InlineLinkClickCtr,
    /// Unique clicks per 100 people reached.
    UniqueCtr,
    /// Another number or label of the SDK's list: [`SCALARS`]`[i]`.
    Scalar(u16),
    /// An action-list field: [`LISTS`]`[i]`.
    List(u16),
}

impl Field {
    /// The core fields (entity attributes and the metrics the others derive from), in
    /// catalog order.
    pub const ALL: [Field; 27] = [
        Field::DateStart,
        Field::DateStop,
        Field::AccountId,
        Field::AccountName,
        Field::AccountCurrency,
        Field::CampaignId,
        Field::CampaignName,
        Field::Objective,
        Field::AdsetId,
        Field::AdsetName,
        Field::AdId,
        Field::AdName,
        Field::Impressions,
        Field::Reach,
        Field::Frequency,
        Field::Clicks,
        Field::UniqueClicks,
        Field::InlineLinkClicks,
        Field::Spend,
        Field::Cpc,
        Field::Cpm,
        Field::Ctr,
        Field::Cpp,
        Field::CostPerUniqueClick,
        Field::CostPerInlineLinkClick,
        Field::InlineLinkClickCtr,
        Field::UniqueCtr,
    ];

    /// The field for its Graph name.
    pub fn parse(name: &str) -> Option<Field> {
        let index = |i: usize| u16::try_from(i).ok();
        Self::ALL
            .into_iter()
            .find(|field| field.name() == name)
            .or_else(|| {
                SCALARS
                    .iter()
                    .position(|(n, ..)| *n == name)
                    .and_then(index)
                    .map(Field::Scalar)
            })
            .or_else(|| {
                LISTS
                    .iter()
                    .position(|l| l.name == name)
                    .and_then(index)
                    .map(Field::List)
            })
    }

    /// Every field the sandbox serves: the core ones, the other scalars, the action lists.
    pub fn every() -> impl Iterator<Item = Field> {
        let scalars = (0..SCALARS.len() as u16).map(Field::Scalar);
        let lists = (0..LISTS.len() as u16).map(Field::List);
        Self::ALL.into_iter().chain(scalars).chain(lists)
    }

    /// The Graph name.
    pub fn name(self) -> &'static str {
        match self {
            Field::DateStart => "date_start",
            Field::DateStop => "date_stop",
            Field::AccountId => "account_id",
            Field::AccountName => "account_name",
            Field::AccountCurrency => "account_currency",
            Field::CampaignId => "campaign_id",
            Field::CampaignName => "campaign_name",
            Field::Objective => "objective",
            Field::AdsetId => "adset_id",
            Field::AdsetName => "adset_name",
            Field::AdId => "ad_id",
            Field::AdName => "ad_name",
            Field::Impressions => "impressions",
            Field::Reach => "reach",
            Field::Frequency => "frequency",
            Field::Clicks => "clicks",
            Field::UniqueClicks => "unique_clicks",
            Field::InlineLinkClicks => "inline_link_clicks",
            Field::Spend => "spend",
            Field::Cpc => "cpc",
            Field::Cpm => "cpm",
            Field::Ctr => "ctr",
            Field::Cpp => "cpp",
            Field::CostPerUniqueClick => "cost_per_unique_click",
            Field::CostPerInlineLinkClick => "cost_per_inline_link_click",
            Field::InlineLinkClickCtr => "inline_link_click_ctr",
            Field::UniqueCtr => "unique_ctr",
            Field::Scalar(i) => SCALARS[usize::from(i)].0,
            Field::List(i) => LISTS[usize::from(i)].name,
        }
    }

    /// Whether the value comes from the row's numbers rather than its entity or dates.
    fn is_metric(self) -> bool {
        self.level() == Level::Account
            && !matches!(
                self,
                Field::DateStart | Field::DateStop | Field::AccountId | Field::AccountName | Field::AccountCurrency
            )
    }

    /// The coarsest level whose rows carry this field; Graph omits it above that level.
    fn level(self) -> Level {
        match self {
            Field::CampaignId | Field::CampaignName | Field::Objective => Level::Campaign,
            Field::AdsetId | Field::AdsetName => Level::Adset,
            Field::AdId | Field::AdName => Level::Ad,
            Field::Scalar(i) => SCALARS[usize::from(i)].1,
            _ => Level::Account,
        }
    }
}

/// A `breakdowns` value: splits each row by one audience or placement dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breakdown {
    /// Age bracket.
    Age,
    /// Gender.
    Gender,
    /// Country, as an ISO code.
    Country,
    /// Facebook, Instagram, Audience Network or Messenger.
    PublisherPlatform,
    /// Desktop, mobile app or mobile web.
    DevicePlatform,
}

impl Breakdown {
    /// Every breakdown, in catalog order.
    pub const ALL: [Breakdown; 5] = [
        Breakdown::Age,
        Breakdown::Gender,
        Breakdown::Country,
        Breakdown::PublisherPlatform,
        Breakdown::DevicePlatform,
    ];

    /// The breakdown for its Graph name.
    pub fn parse(name: &str) -> Option<Breakdown> {
        Self::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The Graph name.
    pub fn name(self) -> &'static str {
        match self {
            Breakdown::Age => "age",
            Breakdown::Gender => "gender",
            Breakdown::Country => "country",
            Breakdown::PublisherPlatform => "publisher_platform",
            Breakdown::DevicePlatform => "device_platform",
        }
    }

    /// The values rows are split into, in row order.
    pub fn values(self) -> &'static [&'static str] {
        match self {
            Breakdown::Age => &["18-24", "25-34", "35-44", "45-54", "55-64", "65+"],
            Breakdown::Gender => &["female", "male", "unknown"],
            Breakdown::Country => &["DE", "FR", "GB", "US"],
            Breakdown::PublisherPlatform => &["facebook", "instagram", "audience_network", "messenger"],
            Breakdown::DevicePlatform => &["desktop", "mobile_app", "mobile_web"],
        }
    }
}

/// One entry of Graph's `filtering` parameter, e.g.
/// `{"field": "campaign.name", "operator": "CONTAIN", "value": "Brand"}`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Filter field, e.g. `campaign.name`.
    pub field: String,
    /// Graph operator, e.g. `EQUAL`, `IN`, `CONTAIN`.
    pub operator: String,
    /// A string, number or list.
    pub value: serde_json::Value,
}

/// An insights request against one ad account, parsed from its Graph parameters.
#[derive(Debug, Clone)]
pub struct InsightsQuery {
    /// The ad account number (`act_1001` → 1001).
    pub account: u64,
    /// Which entity a row describes.
    pub level: Level,
    /// Requested fields, in request order.
    pub fields: Vec<Field>,
    /// The dates covered (`time_range`).
    pub window: DateWindow,
    /// `time_increment=1`: one row per day instead of one for the window.
    pub daily: bool,
    /// Breakdowns, first outermost in row order.
    pub breakdowns: Vec<Breakdown>,
    /// `filtering` entries; all must hold.
    pub filters: Vec<Filter>,
    /// `action_attribution_windows`: the windows each action-list entry carries besides
    /// `value` (those the sandbox computes, see [`WINDOWS`]).
    pub attribution_windows: Vec<String>,
    /// `action_report_time`.
    pub report_time: ReportTime,
}

/// Why Graph would refuse a query; messages are Graph's so the server can pass them on.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DataError {
    /// A name in `fields` is not an insights field.
    #[error(
        "(#100) {name} is not valid for fields param. please check \
         https://developers.facebook.com/docs/marketing-api/reference/ads-insights/ \
         for all valid values"
    )]
    UnknownField { name: String },
    /// A name in `breakdowns` is not a breakdown.
    #[error(
        "(#100) breakdowns[{index}] must be one of the following values: age, gender, \
         country, publisher_platform, device_platform"
    )]
    UnknownBreakdown { index: usize, name: String },
    /// `level` is not one of the four levels.
    #[error("(#100) param level must be one of {{ad, adset, campaign, account}}")]
    UnknownLevel { name: String },
    /// A filter names a field that cannot be filtered on.
    #[error("(#100) Filtering field {field} is invalid")]
    InvalidFilterField { field: String },
    /// A filter names an entity finer than the report's level (`ad.name` on campaign rows).
    #[error("(#100) Filtering field {field} is invalid for level {}", level.as_str())]
    FilterBelowLevel { field: String, level: Level },
    /// A filter's operator is not a Graph operator.
    #[error(
        "(#100) param filtering[{index}]['operator'] must be one of {{EQUAL, NOT_EQUAL, \
         GREATER_THAN, GREATER_THAN_OR_EQUAL, LESS_THAN, LESS_THAN_OR_EQUAL, IN, NOT_IN, \
         CONTAIN, NOT_CONTAIN}}"
    )]
    InvalidFilterOperator { index: usize, operator: String },
    /// A Graph operator that does not apply to the field (`GREATER_THAN` on a name).
    #[error("(#100) Filtering operator {operator} is not supported for field {field}")]
    UnsupportedFilterOperator { field: String, operator: String },
    /// A filter value of the wrong type (`IN` without an array, a non-number for `spend`).
    #[error("(#100) Filtering value {value} is invalid for field {field} with operator {operator}")]
    InvalidFilterValue {
        field: String,
        operator: String,
        value: String,
    },
    /// More than two breakdowns, one twice, or `country` with a placement breakdown.
    #[error(
        "Invalid breakdowns combination: {}. Combine at most two different breakdowns, and \
         country not with publisher_platform or device_platform",
        breakdown_names(breakdowns)
    )]
    InvalidBreakdowns { breakdowns: Vec<Breakdown> },
    /// `time_range.until` before `time_range.since`.
    #[error("(#100) The start date of the time range cannot be after the end date ({window})")]
    WindowReversed { window: DateWindow },
    /// A window over 37 months, the most history Graph serves.
    #[error("(#100) The time range {window} is longer than 37 months")]
    WindowTooLong { window: DateWindow },
    /// A report too large to index (an absurd shape).
    #[error("(#100) Please reduce the amount of data you're asking for, then retry your request")]
    TooMuchData,
}

impl DataError {
    /// Graph's `code` and `error_subcode` for this error.
    pub fn graph_code(&self) -> (i64, Option<i64>) {
        match self {
            DataError::InvalidBreakdowns { .. } => (2, Some(1_504_041)),
            _ => (100, None),
        }
    }
}

fn breakdown_names(breakdowns: &[Breakdown]) -> String {
    let names: Vec<&str> = breakdowns.iter().map(|b| b.name()).collect();
    names.join(", ")
}

/// A validated query whose rows are computed on demand.
#[derive(Debug)]
pub struct Report {
    query: InsightsQuery,
    shape: Shape,
    /// Requested fields that apply at the level, first occurrence only.
    fields: Vec<Field>,
    /// Whether any requested field is a metric; dimension-only rows skip the arithmetic.
    needs_metrics: bool,
    /// Whether any requested field is an action list; other rows skip drawing actions.
    needs_actions: bool,
    /// The requested windows the sandbox computes, as indices into [`WINDOWS`].
    windows: Vec<usize>,
    /// Entity slots per period (after entity filters).
    entities: u64,
    /// Breakdown combinations per entity.
    combos: u64,
    /// Entity indices kept by entity filters; `None` when every entity is kept.
    kept_entities: Option<Vec<u64>>,
    /// Raw row indices kept by metric filters; `None` without metric filters.
    kept_rows: Option<Vec<u64>>,
    len: usize,
}

impl Report {
    /// Validates `query` against Graph's rules and prepares its row index.
    ///
    /// Cost is O(1) unless filters are present: entity filters scan the entities once, metric
    /// filters compute every row once to learn which survive.
    pub fn new(query: InsightsQuery, shape: Shape) -> Result<Report, DataError> {
        let window = query.window;
        if window.end < window.start {
            return Err(DataError::WindowReversed { window });
        }
        if window
            .start
            .checked_add_months(Months::new(37))
            .is_some_and(|limit| window.end >= limit)
        {
            return Err(DataError::WindowTooLong { window });
        }
        check_breakdowns(&query.breakdowns)?;
        let conditions = query
            .filters
            .iter()
            .enumerate()
            .map(|(index, filter)| Condition::compile(index, filter, query.level))
            .collect::<Result<Vec<_>, _>>()?;

        let mut fields: Vec<Field> = Vec::with_capacity(query.fields.len());
        for &field in &query.fields {
            if field.level() <= query.level && !fields.contains(&field) {
                fields.push(field);
            }
        }
        let needs_metrics = fields.iter().any(|f| f.is_metric());
        let needs_actions = fields.iter().any(|f| matches!(f, Field::List(_)));
        let windows = query
            .attribution_windows
            .iter()
            .filter_map(|w| WINDOWS.iter().skip(1).position(|known| known == w).map(|i| i + 1))
            .collect();
        let combos: u64 = query.breakdowns.iter().map(|b| b.values().len() as u64).product();
        let periods = if query.daily { window.days().unsigned_abs() } else { 1 };

        let all_entities = shape.entities(query.level);
        let (entity_conditions, metric_conditions): (Vec<_>, Vec<_>) = conditions
            .into_iter()
            .partition(|c| matches!(c.target, Target::Entity { .. }));
        let kept_entities = if entity_conditions.is_empty() {
            None
        } else {
            // Scanning every entity is only sane for shapes that fit a test or a demo.
            let count = u64::try_from(all_entities)
                .ok()
                .filter(|n| *n <= u64::from(u32::MAX))
                .ok_or(DataError::TooMuchData)?;
            let kept: Vec<u64> = (0..count)
                .filter(|&e| {
                    let path = shape.path(query.level, e);
                    entity_conditions
                        .iter()
                        .all(|c| c.holds_for_entity(query.account, path))
                })
                .collect();
            Some(kept)
        };
        let entities = match &kept_entities {
            Some(kept) => kept.len() as u64,
            None => u64::try_from(all_entities).map_err(|_| DataError::TooMuchData)?,
        };
        let raw_len = u128::from(periods) * u128::from(entities) * u128::from(combos);
        let raw_len = usize::try_from(raw_len).map_err(|_| DataError::TooMuchData)?;

        let mut report = Report {
            query,
            shape,
            fields,
            needs_metrics,
            needs_actions,
            windows,
            entities,
            combos,
            kept_entities,
            kept_rows: None,
            len: raw_len,
        };
        if !metric_conditions.is_empty() {
            let kept: Vec<u64> = (0..raw_len as u64)
                .filter(|&raw| {
                    let metrics = report.metrics(&report.cell(raw));
                    metric_conditions.iter().all(|c| c.holds_for_metrics(&metrics))
                })
                .collect();
            report.len = kept.len();
            report.kept_rows = Some(kept);
        }
        Ok(report)
    }

    /// Number of rows after filtering.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no row survives (or the account has no entity at the level).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Row `index` (`index < len()`), computed in O(1), or O(window days) for totals.
    ///
    /// # Panics
    /// If `index >= len()`: the server pages within `len()`, so this is a caller bug.
    pub fn row(&self, index: usize) -> Row {
        assert!(index < self.len, "row {index} of a report of {} rows", self.len);
        let raw = match &self.kept_rows {
            Some(kept) => kept[index],
            None => index as u64,
        };
        self.render(&self.cell(raw))
    }

    /// All rows in order, computed as they are taken.
    pub fn rows(&self) -> impl Iterator<Item = Row> + '_ {
        (0..self.len).map(|i| self.row(i))
    }

    /// The query as given.
    pub fn query(&self) -> &InsightsQuery {
        &self.query
    }

    /// Decomposes an unfiltered row index: period-major, then entity, then combination.
    fn cell(&self, raw: u64) -> Cell {
        let combo = raw % self.combos;
        let rest = raw / self.combos;
        let slot = rest % self.entities;
        let period = rest / self.entities;
        let entity = match &self.kept_entities {
            Some(kept) => kept[slot as usize],
            None => slot,
        };
        let mut values = [0usize; 2];
        let mut remaining = combo;
        for (i, b) in self.query.breakdowns.iter().enumerate().rev() {
            let n = b.values().len() as u64;
            values[i] = (remaining % n) as usize;
            remaining /= n;
        }
        Cell {
            day: self.query.daily.then(|| day_after(self.query.window.start, period)),
            path: self.shape.path(self.query.level, entity),
            values,
        }
    }

    /// The seed of the cell's breakdown values.
    fn combo_seed(&self, cell: &Cell) -> u64 {
        self.query
            .breakdowns
            .iter()
            .zip(cell.values)
            .fold(0x5eed, |h, (b, i)| fold(h, ((*b as u64 + 1) << 8) | i as u64))
    }

    /// The seed of the cell's other scalars: entity, breakdown values and its day or window.
    fn scalar_seed(&self, cell: &Cell) -> u64 {
        let (first, last) = match cell.day {
            Some(day) => (day, day),
            None => (self.query.window.start, self.query.window.end),
        };
        [
            first.num_days_from_ce() as u64,
            last.num_days_from_ce() as u64,
            self.combo_seed(cell),
        ]
        .into_iter()
        .fold(self.entity_seed(cell.path), fold)
    }

    /// The cell's integer metrics: one day's draw, or the sum over the window for totals.
    fn metrics(&self, cell: &Cell) -> Metrics {
        let entity_seed = self.entity_seed(cell.path);
        let combo_seed = self.combo_seed(cell);
        match cell.day {
            Some(day) => self.day_metrics(entity_seed, day, combo_seed),
            None => self.query.window.iter_days().fold(Metrics::default(), |sum, day| {
                sum.plus(&self.day_metrics(entity_seed, day, combo_seed))
            }),
        }
    }

    fn entity_seed(&self, path: Path) -> u64 {
        [
            self.query.account,
            self.query.level as u64 + 1,
            u64::from(path.campaign),
            u64::from(path.adset),
            u64::from(path.ad),
        ]
        .into_iter()
        .fold(0xad5_c0de, fold)
    }

    /// One entity's numbers for one day and breakdown cell: a stable size per entity, daily
    /// noise, and ratios in the ranges real accounts show.
    fn day_metrics(&self, entity_seed: u64, day: NaiveDate, combo_seed: u64) -> Metrics {
        let size = (200 + entity_seed % 19_801) * self.shape.ads_under(self.query.level);
        let day_seed = fold(fold(entity_seed, day.num_days_from_ce() as u64), combo_seed);
        let mut draw = Draws(day_seed);
        let impressions = (size * draw.between(70, 130) / 100 / self.combos).max(1);
        let reach = (impressions * draw.between(60, 95) / 100).max(1);
        let clicks = impressions * draw.between(50, 300) / 10_000;
        let unique_clicks = clicks * draw.between(70, 100) / 100;
        let inline_link_clicks = clicks * draw.between(40, 90) / 100;
        // A CPM between 3 and 15 in the account currency.
        let spend_cents = impressions * draw.between(300, 1_500) / 1_000;
        // Actions draw from their own seeds, so the numbers above never depend on them.
        let actions = if self.needs_actions {
            Actions::draw(
                day_seed,
                self.query.report_time,
                inline_link_clicks,
                clicks,
                impressions,
            )
        } else {
            Actions::default()
        };
        Metrics {
            impressions,
            reach,
            clicks,
            unique_clicks,
            inline_link_clicks,
            spend_cents,
            actions,
        }
    }

    fn render(&self, cell: &Cell) -> Row {
        let account = self.query.account;
        let window = self.query.window;
        let path = cell.path;
        let metrics = self.needs_metrics.then(|| self.metrics(cell));
        let breakdowns = &self.query.breakdowns;
        let mut row: Row = Vec::with_capacity(self.fields.len() + breakdowns.len() + 2);
        for &field in &self.fields {
            let value = match field {
                Field::DateStart => Some(cell.day.unwrap_or(window.start).to_string()),
                Field::DateStop => Some(cell.day.unwrap_or(window.end).to_string()),
                Field::AccountId => Some(account.to_string()),
                Field::AccountName => Some(account_name(account)),
                Field::AccountCurrency => Some(CURRENCIES[(account % 3) as usize].to_string()),
                Field::CampaignId => Some(entity_id(account, Level::Campaign, path)),
                Field::CampaignName => Some(campaign_name(path)),
                Field::Objective => Some(objective(account, path).to_string()),
                Field::AdsetId => Some(entity_id(account, Level::Adset, path)),
                Field::AdsetName => Some(adset_name(path)),
                Field::AdId => Some(entity_id(account, Level::Ad, path)),
                Field::AdName => Some(ad_name(path)),
                Field::Scalar(i) => metrics.as_ref().map(|m| {
                    let start = cell.day.unwrap_or(window.start);
                    more_fields::value(usize::from(i), self.scalar_seed(cell), start, m.impressions)
                }),
                Field::List(i) => {
                    let entries = metrics
                        .as_ref()
                        .map(|m| LISTS[usize::from(i)].entries(&m.actions, m.spend_cents, &self.windows));
                    // Graph leaves out a list with no entry.
                    if let Some(entries) = entries.filter(|e| !e.is_empty()) {
                        row.push((field.name(), RowValue::Actions(entries)));
                    }
                    continue;
                }
                _ => metrics.as_ref().and_then(|m| metric_text(m, field)),
            };
            if let Some(value) = value {
                row.push((field.name(), RowValue::Text(value)));
            }
        }
        for (b, i) in breakdowns.iter().zip(cell.values) {
            row.push((b.name(), RowValue::Text(b.values()[i].to_string())));
        }
        // Graph always reports the dates a row covers, requested or not.
        if !self.fields.contains(&Field::DateStart) {
            row.push((
                Field::DateStart.name(),
                RowValue::Text(cell.day.unwrap_or(window.start).to_string()),
            ));
        }
        if !self.fields.contains(&Field::DateStop) {
            row.push((
                Field::DateStop.name(),
                RowValue::Text(cell.day.unwrap_or(window.end).to_string()),
            ));
        }
        row
    }
}

/// Graph's rules for combining breakdowns, reduced to the ones the sandbox offers.
fn check_breakdowns(breakdowns: &[Breakdown]) -> Result<(), DataError> {
    let repeated = breakdowns.iter().enumerate().any(|(i, b)| breakdowns[..i].contains(b));
    let country_with_placement = breakdowns.contains(&Breakdown::Country)
        && (breakdowns.contains(&Breakdown::PublisherPlatform) || breakdowns.contains(&Breakdown::DevicePlatform));
    if breakdowns.len() > 2 || repeated || country_with_placement {
        return Err(DataError::InvalidBreakdowns {
            breakdowns: breakdowns.to_vec(),
        });
    }
    Ok(())
}

fn day_after(start: NaiveDate, days: u64) -> NaiveDate {
    // The window was checked to be at most 37 months, so the day exists.
    start
        .checked_add_days(chrono::Days::new(days))
        .unwrap_or(NaiveDate::MAX)
}

/// Which entity, day and breakdown values a row describes.
struct Cell {
    /// The row's day, or `None` for a window total.
    day: Option<NaiveDate>,
    path: Path,
    /// Index into each breakdown's values, in query order.
    values: [usize; 2],
}

/// An entity's position: campaign, ad set within it, ad within that (zero above the level).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Path {
    campaign: u32,
    adset: u32,
    ad: u32,
}

/// A row's integer metrics; everything shown is derived from these with integer arithmetic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Metrics {
    impressions: u64,
    reach: u64,
    clicks: u64,
    unique_clicks: u64,
    inline_link_clicks: u64,
    /// Spend in cents of the account currency.
    spend_cents: u64,
    /// Counts and values per action type and window (zero unless a list was asked for).
    actions: Actions,
}

impl Metrics {
    fn plus(self, other: &Metrics) -> Metrics {
        Metrics {
            impressions: self.impressions + other.impressions,
            reach: self.reach + other.reach,
            clicks: self.clicks + other.clicks,
            unique_clicks: self.unique_clicks + other.unique_clicks,
            inline_link_clicks: self.inline_link_clicks + other.inline_link_clicks,
            spend_cents: self.spend_cents + other.spend_cents,
            actions: self.actions.plus(&other.actions),
        }
    }
}

/// A metric field's text, `None` for non-metrics and for ratios whose divisor is 0 (Graph
/// omits those).
fn metric_text(m: &Metrics, field: Field) -> Option<String> {
    let wide = |n: u64| u128::from(n);
    match field {
        Field::Impressions => Some(m.impressions.to_string()),
        Field::Reach => Some(m.reach.to_string()),
        Field::Clicks => Some(m.clicks.to_string()),
        Field::UniqueClicks => Some(m.unique_clicks.to_string()),
        Field::InlineLinkClicks => Some(m.inline_link_clicks.to_string()),
        Field::Spend => Some(format!("{}.{:02}", m.spend_cents / 100, m.spend_cents % 100)),
        Field::Frequency => ratio6(wide(m.impressions), wide(m.reach)),
        Field::Ctr => ratio6(wide(m.clicks) * 100, wide(m.impressions)),
        Field::Cpc => ratio6(wide(m.spend_cents), wide(m.clicks) * 100),
        // spend × 1000 / impressions, with spend = cents / 100.
        Field::Cpm => ratio6(wide(m.spend_cents) * 10, wide(m.impressions)),
        // spend × 1000 / reach.
        Field::Cpp => ratio6(wide(m.spend_cents) * 10, wide(m.reach)),
        Field::CostPerUniqueClick => ratio6(wide(m.spend_cents), wide(m.unique_clicks) * 100),
        Field::CostPerInlineLinkClick => ratio6(wide(m.spend_cents), wide(m.inline_link_clicks) * 100),
        Field::InlineLinkClickCtr => ratio6(wide(m.inline_link_clicks) * 100, wide(m.impressions)),
        Field::UniqueCtr => ratio6(wide(m.unique_clicks) * 100, wide(m.reach)),
        _ => None,
    }
}

const CURRENCIES: [&str; 3] = ["EUR", "USD", "GBP"];
const OBJECTIVES: [&str; 5] = [
    "OUTCOME_SALES",
    "OUTCOME_TRAFFIC",
    "OUTCOME_AWARENESS",
    "OUTCOME_LEADS",
    "OUTCOME_ENGAGEMENT",
];
const CAMPAIGNS: [&str; 10] = [
    "Spring Sale",
    "Brand Awareness",
    "Retargeting",
    "Prospecting – Lookalike",
    "Black Friday",
    "App Installs",
    "Summer Collection",
    "Lead Gen – Webinar",
    "Holiday Gifts",
    "Always On",
];
const AUDIENCES: [&str; 6] = [
    "Women 25-44",
    "Men 18-34",
    "Lookalike 1%",
    "Website Visitors 30d",
    "Interests – Fitness",
    "Broad",
];
const PLACEMENTS: [&str; 4] = ["Feed", "Stories", "Reels", "Advantage+ Placements"];
const CREATIVES: [&str; 5] = ["Video 15s", "Carousel", "Single Image", "Video 6s", "Collection"];

fn pick<'a>(list: &[&'a str], n: u64) -> &'a str {
    list[(n % list.len() as u64) as usize]
}

fn account_name(account: u64) -> String {
    format!("Demo Account {account}")
}

fn campaign_name(path: Path) -> String {
    let c = u64::from(path.campaign);
    format!("{} #{}", pick(&CAMPAIGNS, c), c + 1)
}

fn objective(account: u64, path: Path) -> &'static str {
    pick(&OBJECTIVES, account.wrapping_add(u64::from(path.campaign)))
}

fn adset_name(path: Path) -> String {
    let (c, s) = (u64::from(path.campaign), u64::from(path.adset));
    format!("{} – {} #{}", pick(&AUDIENCES, c + s), pick(&PLACEMENTS, s), s + 1)
}

fn ad_name(path: Path) -> String {
    let (c, s, a) = (u64::from(path.campaign), u64::from(path.adset), u64::from(path.ad));
    format!("{} v{}", pick(&CREATIVES, c + s + a), a + 1)
}

/// A Graph-looking numeric id: a level prefix, the indices at fixed widths, then the account,
/// so ids never collide across levels or accounts (within the widths, see [`Shape`]).
fn entity_id(account: u64, level: Level, path: Path) -> String {
    let Path { campaign, adset, ad } = path;
    match level {
        Level::Account => account.to_string(),
        Level::Campaign => format!("120{campaign:04}{account}"),
        Level::Adset => format!("121{campaign:04}{adset:03}{account}"),
        Level::Ad => format!("122{campaign:04}{adset:03}{ad:03}{account}"),
    }
}

/// What a filter looks at.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// An attribute of the campaign, ad set or ad the row belongs to.
    Entity { level: Level, attr: Attr },
    /// A metric of the row itself.
    Metric(MetricKey),
}

#[derive(Debug, Clone, Copy)]
enum Attr {
    Id,
    Name,
}

#[derive(Debug, Clone, Copy)]
enum MetricKey {
    Impressions,
    Clicks,
    Spend,
}

impl Target {
    fn parse(field: &str) -> Option<Target> {
        let entity = |level, attr| Some(Target::Entity { level, attr });
        match field {
            "campaign.id" => entity(Level::Campaign, Attr::Id),
            "campaign.name" => entity(Level::Campaign, Attr::Name),
            "adset.id" => entity(Level::Adset, Attr::Id),
            "adset.name" => entity(Level::Adset, Attr::Name),
            "ad.id" => entity(Level::Ad, Attr::Id),
            "ad.name" => entity(Level::Ad, Attr::Name),
            "impressions" => Some(Target::Metric(MetricKey::Impressions)),
            "clicks" => Some(Target::Metric(MetricKey::Clicks)),
            "spend" => Some(Target::Metric(MetricKey::Spend)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equal,
    NotEqual,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
    In,
    NotIn,
    Contain,
    NotContain,
}

impl Op {
    fn parse(name: &str) -> Option<Op> {
        Some(match name {
            "EQUAL" => Op::Equal,
            "NOT_EQUAL" => Op::NotEqual,
            "GREATER_THAN" => Op::GreaterThan,
            "GREATER_THAN_OR_EQUAL" => Op::GreaterThanOrEqual,
            "LESS_THAN" => Op::LessThan,
            "LESS_THAN_OR_EQUAL" => Op::LessThanOrEqual,
            "IN" => Op::In,
            "NOT_IN" => Op::NotIn,
            "CONTAIN" => Op::Contain,
            "NOT_CONTAIN" => Op::NotContain,
            _ => return None,
        })
    }

    fn takes_list(self) -> bool {
        matches!(self, Op::In | Op::NotIn)
    }

    /// Ids and names are text: no ordering. Metrics are numbers: no substring search.
    fn applies_to_numbers(self) -> bool {
        !matches!(self, Op::Contain | Op::NotContain)
    }

    fn applies_to_text(self) -> bool {
        !matches!(
            self,
            Op::GreaterThan | Op::GreaterThanOrEqual | Op::LessThan | Op::LessThanOrEqual
        )
    }
}

/// A filter's value(s); single values are a list of one.
#[derive(Debug)]
enum Operand {
    /// Lowercased for `CONTAIN`/`NOT_CONTAIN`, as Graph matches those case-insensitively.
    Texts(Vec<String>),
    Numbers(Vec<Decimal>),
}

/// A checked `filtering` entry.
#[derive(Debug)]
struct Condition {
    target: Target,
    op: Op,
    operand: Operand,
}

impl Condition {
    fn compile(index: usize, filter: &Filter, level: Level) -> Result<Condition, DataError> {
        let target = Target::parse(&filter.field).ok_or_else(|| DataError::InvalidFilterField {
            field: filter.field.clone(),
        })?;
        if let Target::Entity { level: scope, .. } = target {
            if scope > level {
                return Err(DataError::FilterBelowLevel {
                    field: filter.field.clone(),
                    level,
                });
            }
        }
        let op = Op::parse(&filter.operator).ok_or_else(|| DataError::InvalidFilterOperator {
            index,
            operator: filter.operator.clone(),
        })?;
        let numeric = matches!(target, Target::Metric(_));
        if (numeric && !op.applies_to_numbers()) || (!numeric && !op.applies_to_text()) {
            return Err(DataError::UnsupportedFilterOperator {
                field: filter.field.clone(),
                operator: filter.operator.clone(),
            });
        }
        let invalid = || DataError::InvalidFilterValue {
            field: filter.field.clone(),
            operator: filter.operator.clone(),
            value: filter.value.to_string(),
        };
        let items: Vec<&Value> = if op.takes_list() {
            filter.value.as_array().ok_or_else(invalid)?.iter().collect()
        } else {
            vec![&filter.value]
        };
        let texts = items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect::<Option<Vec<String>>>()
            .ok_or_else(invalid)?;
        let operand = if numeric {
            let numbers = texts.iter().map(|t| Decimal::parse(t)).collect::<Option<Vec<_>>>();
            Operand::Numbers(numbers.ok_or_else(invalid)?)
        } else if matches!(op, Op::Contain | Op::NotContain) {
            Operand::Texts(texts.iter().map(|t| t.to_lowercase()).collect())
        } else {
            Operand::Texts(texts)
        };
        Ok(Condition { target, op, operand })
    }

    fn holds_for_entity(&self, account: u64, path: Path) -> bool {
        let Target::Entity { level, attr } = self.target else {
            return true;
        };
        let actual = match (level, attr) {
            (_, Attr::Id) => entity_id(account, level, path),
            (Level::Ad, Attr::Name) => ad_name(path),
            (Level::Adset, Attr::Name) => adset_name(path),
            (_, Attr::Name) => campaign_name(path),
        };
        let Operand::Texts(texts) = &self.operand else {
            return false;
        };
        let any_equal = texts.contains(&actual);
        match self.op {
            Op::Equal | Op::In => any_equal,
            Op::NotEqual | Op::NotIn => !any_equal,
            Op::Contain | Op::NotContain => {
                let actual = actual.to_lowercase();
                let found = texts.iter().any(|t| actual.contains(t.as_str()));
                found == (self.op == Op::Contain)
            }
            // Rejected when compiling.
            _ => false,
        }
    }

    fn holds_for_metrics(&self, m: &Metrics) -> bool {
        let Target::Metric(key) = self.target else {
            return true;
        };
        let actual = match key {
            MetricKey::Impressions => Decimal::whole(m.impressions),
            MetricKey::Clicks => Decimal::whole(m.clicks),
            MetricKey::Spend => Decimal {
                units: i128::from(m.spend_cents),
                scale: 2,
            },
        };
        let Operand::Numbers(numbers) = &self.operand else {
            return false;
        };
        let ord = |d: &Decimal| actual.cmp_to(d);
        let any_equal = numbers.iter().any(|d| ord(d) == Ordering::Equal);
        let first = numbers.first().map(ord);
        match self.op {
            Op::Equal | Op::In => any_equal,
            Op::NotEqual | Op::NotIn => !any_equal,
            Op::GreaterThan => first == Some(Ordering::Greater),
            Op::GreaterThanOrEqual => matches!(first, Some(Ordering::Greater | Ordering::Equal)),
            Op::LessThan => first == Some(Ordering::Less),
            Op::LessThanOrEqual => matches!(first, Some(Ordering::Less | Ordering::Equal)),
            // Rejected when compiling.
            Op::Contain | Op::NotContain => false,
        }
    }
}

/// An exact decimal `units / 10^scale`, so `spend = 12.3` matches 1230 cents without floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Decimal {
    units: i128,
    scale: u32,
}

impl Decimal {
    /// Bounds that keep [`Decimal::cmp_to`] free of overflow for any u64 metric.
    const MAX_UNITS: i128 = 10i128.pow(30);
    const MAX_SCALE: u32 = 18;

    fn whole(n: u64) -> Decimal {
        Decimal {
            units: i128::from(n),
            scale: 0,
        }
    }

    /// Parses `-12.5`, `100`, `1e3`; `None` for anything else or beyond the bounds.
    fn parse(text: &str) -> Option<Decimal> {
        let text = text.trim();
        let (mantissa, exponent) = match text.find(['e', 'E']) {
            Some(at) => (&text[..at], text[at + 1..].parse::<i32>().ok()?),
            None => (text, 0),
        };
        let (negative, digits) = match mantissa.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let mut units: i128 = 0;
        for c in int.chars().chain(frac.chars()) {
            let digit = c.to_digit(10)?;
            units = units.checked_mul(10)?.checked_add(i128::from(digit))?;
            if units > Self::MAX_UNITS {
                return None;
            }
        }
        let mut scale = i64::try_from(frac.len()).ok()? - i64::from(exponent);
        while scale < 0 {
            units = units.checked_mul(10).filter(|u| *u <= Self::MAX_UNITS)?;
            scale += 1;
        }
        while scale > 0 && units % 10 == 0 {
            units /= 10;
            scale -= 1;
        }
        let scale = u32::try_from(scale).ok().filter(|s| *s <= Self::MAX_SCALE)?;
        Some(Decimal {
            units: if negative { -units } else { units },
            scale,
        })
    }

    fn cmp_to(&self, other: &Decimal) -> Ordering {
        let scale = self.scale.max(other.scale);
        let a = self.units * 10i128.pow(scale - self.scale);
        let b = other.units * 10i128.pow(scale - other.scale);
        a.cmp(&b)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_json::json;

    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn window(start: &str, end: &str) -> DateWindow {
        DateWindow::new(day(start), day(end))
    }

    fn query(level: Level, fields: &[Field]) -> InsightsQuery {
        InsightsQuery {
            account: 1001,
            level,
            fields: fields.to_vec(),
            window: window("2026-03-01", "2026-03-07"),
            daily: true,
            breakdowns: Vec::new(),
            filters: Vec::new(),
            attribution_windows: Vec::new(),
            report_time: ReportTime::default(),
        }
    }

    fn report(query: InsightsQuery) -> Report {
        Report::new(query, Shape::default()).unwrap()
    }

    fn get<'a>(row: &'a Row, name: &str) -> Option<&'a str> {
        row.iter().find(|(k, _)| *k == name).and_then(|(_, v)| v.as_text())
    }

    fn num(row: &Row, name: &str) -> u64 {
        get(row, name).unwrap().parse().unwrap()
    }

    fn cents(row: &Row) -> u64 {
        get(row, "spend").unwrap().replace('.', "").parse().unwrap()
    }

    fn filtered(level: Level, field: &str, operator: &str, value: Value) -> Result<Report, DataError> {
        let mut q = query(level, &[Field::CampaignName, Field::AdsetName, Field::AdName]);
        q.fields.extend([Field::Impressions, Field::Clicks, Field::Spend]);
        q.filters = vec![Filter {
            field: field.to_string(),
            operator: operator.to_string(),
            value,
        }];
        Report::new(q, Shape::default())
    }

    const METRICS: [Field; 10] = [
        Field::Impressions,
        Field::Reach,
        Field::Frequency,
        Field::Clicks,
        Field::UniqueClicks,
        Field::InlineLinkClicks,
        Field::Spend,
        Field::Cpc,
        Field::Cpm,
        Field::Ctr,
    ];

    #[test]
    fn every_field_parses_back_and_is_served_at_ad_level() {
        let fields: Vec<Field> = Field::every().collect();
        assert_eq!(fields.len(), 27 + SCALARS.len() + LISTS.len());
        assert_eq!(fields.len(), 206);
        for field in &fields {
            assert_eq!(Field::parse(field.name()), Some(*field), "{}", field.name());
        }
        let row = report(query(Level::Ad, &fields)).row(0);
        for field in &fields {
            let served = row.iter().any(|(k, _)| *k == field.name());
            // A list is left out when none of its types happened that day.
            assert!(served || matches!(field, Field::List(_)), "{} missing", field.name());
        }
    }

    #[test]
    fn action_lists_carry_the_requested_windows_and_some_rows_lack_purchases() {
        let actions = Field::parse("actions").unwrap();
        let mut q = query(Level::Campaign, &[Field::DateStart, actions]);
        q.window = window("2026-03-01", "2026-03-28");
        q.attribution_windows = vec!["7d_click".into(), "1d_view".into(), "dda".into()];
        let rows: Vec<Row> = report(q.clone()).rows().collect();
        let purchases = |row: &Row| {
            row.iter()
                .find(|(k, _)| *k == "actions")
                .and_then(|(_, v)| v.as_actions())
                .and_then(|entries| entries.iter().find(|e| e.action_type == "purchase").cloned())
        };
        let with: Vec<_> = rows.iter().filter_map(purchases).collect();
        assert!(
            !with.is_empty() && with.len() < rows.len(),
            "{} of {}",
            with.len(),
            rows.len()
        );
        for entry in &with {
            let keys: Vec<&str> = entry.values.iter().map(|(k, _)| *k).collect();
            // `dda` is documented but not computed by the sandbox: left out.
            assert_eq!(keys, ["value", "7d_click", "1d_view"]);
            let n = |k: &str| entry.get(k).unwrap().parse::<u64>().unwrap();
            assert_eq!(n("value"), n("7d_click") + n("1d_view"));
        }
        // A total is the sum of its days, window by window.
        q.daily = false;
        let total = report(q).row(0);
        // Rows go day by day, three campaigns a day: campaign 0's are every third.
        let sum: u64 = rows
            .iter()
            .step_by(3)
            .filter_map(purchases)
            .map(|e| e.get("7d_click").unwrap().parse::<u64>().unwrap())
            .sum();
        let total_purchase = purchases(&total).map(|e| e.get("7d_click").unwrap().parse::<u64>().unwrap());
        assert_eq!(total_purchase.unwrap_or(0), sum);
    }

    #[test]
    fn the_same_query_twice_gives_the_same_rows() {
        let mut q = query(Level::Ad, &Field::ALL);
        q.breakdowns = vec![Breakdown::Age, Breakdown::Gender];
        let first: Vec<Row> = report(q.clone()).rows().collect();
        let second: Vec<Row> = report(q).rows().collect();
        assert_eq!(first, second);
    }

    #[test]
    fn daily_rows_are_days_times_entities_times_combinations() {
        let mut q = query(Level::Ad, &[Field::Impressions]);
        q.breakdowns = vec![Breakdown::PublisherPlatform, Breakdown::DevicePlatform];
        let r = Report::new(q, Shape::new(3, 2, 4)).unwrap();
        assert_eq!(r.len(), 7 * 24 * 12);
        assert_eq!(r.rows().count(), r.len());

        let mut q = query(Level::Campaign, &[Field::Impressions]);
        q.daily = false;
        q.breakdowns = vec![Breakdown::Country];
        assert_eq!(report(q).len(), 3 * 4);
        assert_eq!(report(query(Level::Account, &[])).len(), 7);
    }

    #[test]
    fn rows_go_by_day_then_entity_then_breakdown_values_first_outermost() {
        let mut q = query(Level::Adset, &[Field::AdsetId, Field::DateStart]);
        q.window = window("2026-03-01", "2026-03-02");
        q.breakdowns = vec![Breakdown::Gender, Breakdown::Age];
        let rows: Vec<Row> = report(q).rows().collect();
        let key = |r: &Row| {
            let g = Breakdown::Gender
                .values()
                .iter()
                .position(|v| Some(*v) == get(r, "gender"));
            let a = Breakdown::Age.values().iter().position(|v| Some(*v) == get(r, "age"));
            (get(r, "date_start").unwrap().to_string(), num(r, "adset_id"), g, a)
        };
        let keys: Vec<_> = rows.iter().map(key).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(keys, sorted, "rows are not in (day, entity, gender, age) order");
        assert_eq!(keys.len(), 2 * 6 * 18);
        assert_eq!(get(&rows[0], "gender"), Some("female"));
        assert_eq!(get(&rows[0], "age"), Some("18-24"));
        assert_eq!(get(&rows[1], "age"), Some("25-34"));
        assert_eq!(get(&rows[6], "gender"), Some("male"));
    }

    #[test]
    fn entities_are_enumerated_campaign_major() {
        let r = Report::new(
            query(Level::Ad, &[Field::AdName, Field::AdsetName]),
            Shape::new(2, 2, 3),
        )
        .unwrap();
        let rows: Vec<Row> = r.rows().take(4).collect();
        let adsets: Vec<&str> = rows.iter().map(|row| get(row, "adset_name").unwrap()).collect();
        let ads: Vec<&str> = rows.iter().map(|row| get(row, "ad_name").unwrap()).collect();
        assert_eq!(adsets[..3], [adsets[0]; 3]);
        assert_ne!(adsets[3], adsets[0]);
        assert_eq!(adsets[0], "Women 25-44 – Feed #1");
        assert_eq!(ads, ["Video 15s v1", "Carousel v2", "Single Image v3", "Carousel v1"]);
    }

    #[test]
    fn totals_are_the_sums_of_the_daily_values() {
        for breakdowns in [vec![], vec![Breakdown::Age, Breakdown::Gender]] {
            let mut q = query(Level::Ad, &[Field::AdId, Field::Impressions, Field::Reach]);
            q.fields.extend([
                Field::Clicks,
                Field::UniqueClicks,
                Field::InlineLinkClicks,
                Field::Spend,
            ]);
            q.breakdowns = breakdowns;
            let daily: Vec<Row> = report(q.clone()).rows().collect();
            q.daily = false;
            let totals: Vec<Row> = report(q).rows().collect();
            assert_eq!(daily.len(), totals.len() * 7);
            for (i, total) in totals.iter().enumerate() {
                let days: Vec<&Row> = daily.iter().skip(i).step_by(totals.len()).collect();
                assert!(days.iter().all(|d| get(d, "ad_id") == get(total, "ad_id")));
                for field in ["impressions", "reach", "clicks", "unique_clicks", "inline_link_clicks"] {
                    let sum: u64 = days.iter().map(|d| num(d, field)).sum();
                    assert_eq!(num(total, field), sum, "{field}");
                }
                assert_eq!(cents(total), days.iter().map(|d| cents(d)).sum::<u64>());
                assert_eq!(get(total, "date_start"), Some("2026-03-01"));
                assert_eq!(get(total, "date_stop"), Some("2026-03-07"));
            }
        }
    }

    #[test]
    fn spend_is_cents_with_exactly_two_decimals() {
        let spend = |spend_cents| {
            metric_text(
                &Metrics {
                    spend_cents,
                    ..Metrics::default()
                },
                Field::Spend,
            )
            .unwrap()
        };
        assert_eq!(spend(5), "0.05");
        assert_eq!(spend(1230), "12.30");
        assert_eq!(spend(0), "0.00");
        assert_eq!(spend(123_456), "1234.56");
    }

    #[test]
    fn derived_metrics_are_exact_and_rounded_half_up_to_six_decimals() {
        let m = Metrics {
            impressions: 3,
            reach: 2,
            clicks: 1,
            unique_clicks: 1,
            inline_link_clicks: 1,
            spend_cents: 5,
            actions: Actions::default(),
        };
        let text = |f| metric_text(&m, f).unwrap();
        assert_eq!(text(Field::Frequency), "1.500000");
        assert_eq!(text(Field::Ctr), "33.333333");
        assert_eq!(text(Field::Cpc), "0.050000");
        assert_eq!(text(Field::Cpm), "16.666667");
        // 1 / 12800 × 100 = 0.0078125: the seventh decimal is exactly 5, so it rounds up.
        let half = Metrics {
            impressions: 12_800,
            clicks: 1,
            ..m
        };
        assert_eq!(metric_text(&half, Field::Ctr).unwrap(), "0.007813");
        assert_eq!(ratio6(2, 3).unwrap(), "0.666667");
        assert_eq!(ratio6(1, 0), None);
    }

    #[test]
    fn derived_metrics_in_rows_follow_from_their_integer_parts() {
        let mut q = query(Level::Ad, &METRICS);
        q.breakdowns = vec![Breakdown::Age, Breakdown::Gender];
        for row in report(q).rows() {
            let m = Metrics {
                impressions: num(&row, "impressions"),
                reach: num(&row, "reach"),
                clicks: num(&row, "clicks"),
                unique_clicks: num(&row, "unique_clicks"),
                inline_link_clicks: num(&row, "inline_link_clicks"),
                spend_cents: cents(&row),
                actions: Actions::default(),
            };
            for field in [Field::Frequency, Field::Ctr, Field::Cpc, Field::Cpm] {
                assert_eq!(get(&row, field.name()), metric_text(&m, field).as_deref());
            }
        }
    }

    #[test]
    fn ratios_over_zero_clicks_are_omitted() {
        let mut q = query(Level::Ad, &[Field::Clicks, Field::Cpc, Field::Ctr]);
        q.breakdowns = vec![Breakdown::Age, Breakdown::PublisherPlatform];
        let rows: Vec<Row> = report(q).rows().collect();
        let zero = rows
            .iter()
            .find(|r| get(r, "clicks") == Some("0"))
            .expect("a row without clicks");
        assert_eq!(get(zero, "cpc"), None);
        assert!(get(zero, "ctr").is_some());
        let some = rows.iter().find(|r| get(r, "clicks") != Some("0")).unwrap();
        assert!(get(some, "cpc").is_some());
    }

    #[test]
    fn metrics_stay_in_plausible_ranges() {
        let mut q = query(Level::Ad, &METRICS);
        q.window = window("2026-01-01", "2026-03-31");
        for row in report(q).rows() {
            let (imps, clicks) = (num(&row, "impressions"), num(&row, "clicks"));
            assert!((140..=26_000).contains(&imps), "{row:?}");
            assert!(clicks <= imps * 3 / 100 && num(&row, "reach") <= imps, "{row:?}");
            assert!(num(&row, "reach") * 100 >= imps * 59, "{row:?}");
            assert!(num(&row, "unique_clicks") <= clicks && num(&row, "inline_link_clicks") <= clicks);
            assert!((40..=40_000).contains(&cents(&row)), "{row:?}");
        }
    }

    #[test]
    fn fields_below_the_level_are_omitted_and_rows_end_with_the_dates() {
        let fields = [
            Field::Impressions,
            Field::AdName,
            Field::CampaignName,
            Field::AccountName,
        ];
        let rows: Vec<Row> = report(query(Level::Campaign, &fields)).rows().collect();
        let names: Vec<&str> = rows[0].iter().map(|(k, _)| *k).collect();
        assert_eq!(
            names,
            [
                "impressions",
                "campaign_name",
                "account_name",
                "date_start",
                "date_stop"
            ]
        );
        assert_eq!(get(&rows[0], "account_name"), Some("Demo Account 1001"));
        assert_eq!(get(&rows[0], "date_stop"), Some("2026-03-01"));
    }

    #[test]
    fn requested_dates_keep_their_place_and_breakdowns_follow_the_fields() {
        let mut q = query(
            Level::Account,
            &[Field::DateStop, Field::Spend, Field::DateStart, Field::Spend],
        );
        q.breakdowns = vec![Breakdown::Country];
        let row = report(q).row(5);
        let names: Vec<&str> = row.iter().map(|(k, _)| *k).collect();
        assert_eq!(names, ["date_stop", "spend", "date_start", "country"]);
        assert_eq!(get(&row, "country"), Some("FR"));
        assert_eq!(get(&row, "date_start"), Some("2026-03-02"));
    }

    #[test]
    fn ad_rows_carry_the_same_parent_names_and_ids_as_parent_rows() {
        let campaign = report(query(
            Level::Campaign,
            &[Field::CampaignId, Field::CampaignName, Field::Objective],
        ));
        let ad = report(query(
            Level::Ad,
            &[Field::CampaignId, Field::CampaignName, Field::Objective],
        ));
        // Campaign 1 is the second campaign row; at ad level it starts at ad 2 × 2 = 4.
        assert_eq!(campaign.row(1), ad.row(4));
        assert_eq!(get(&campaign.row(0), "campaign_name"), Some("Spring Sale #1"));
        assert_eq!(get(&campaign.row(1), "campaign_name"), Some("Brand Awareness #2"));
        assert_eq!(get(&ad.row(0), "objective"), Some("OUTCOME_TRAFFIC"));
    }

    #[test]
    fn ids_are_numeric_and_unique_across_levels_and_accounts() {
        let mut seen = HashSet::new();
        for account in [1001, 1002, 20_001] {
            for (level, field) in [
                (Level::Account, Field::AccountId),
                (Level::Campaign, Field::CampaignId),
                (Level::Adset, Field::AdsetId),
                (Level::Ad, Field::AdId),
            ] {
                let mut q = query(level, &[field]);
                q.account = account;
                q.daily = false;
                let r = Report::new(q, Shape::new(12, 11, 10)).unwrap();
                for row in r.rows() {
                    let id = get(&row, field.name()).unwrap().to_string();
                    assert!(id.parse::<u64>().is_ok(), "{id}");
                    assert!(seen.insert(id.clone()), "duplicate id {id}");
                }
            }
        }
        assert_eq!(seen.len(), 3 * (1 + 12 + 132 + 1320));
    }

    #[test]
    fn a_million_row_report_is_indexed_without_being_generated() {
        let mut q = query(Level::Ad, &[Field::AdId, Field::Impressions, Field::Spend]);
        q.window = window("2026-01-01", "2026-04-10");
        let r = Report::new(q, Shape::new(100, 100, 1)).unwrap();
        assert_eq!(r.len(), 1_000_000);
        let last = r.row(999_999);
        assert_eq!(get(&last, "date_start"), Some("2026-04-10"));
        assert_eq!(get(&last, "ad_id"), Some("12200990990001001"));
    }

    #[test]
    fn an_account_without_entities_has_no_rows_below_account_level() {
        let empty = Shape::new(0, 2, 2);
        assert!(Report::new(query(Level::Ad, &[]), empty).unwrap().is_empty());
        assert_eq!(Report::new(query(Level::Account, &[]), empty).unwrap().len(), 7);
    }

    #[test]
    fn names_parse_back_and_the_default_shape_is_three_two_two() {
        assert_eq!(Shape::default(), Shape::new(3, 2, 2));
        for f in Field::ALL {
            assert_eq!(Field::parse(f.name()), Some(f));
        }
        for b in Breakdown::ALL {
            assert_eq!(Breakdown::parse(b.name()), Some(b));
        }
        for l in [Level::Account, Level::Campaign, Level::Adset, Level::Ad] {
            assert_eq!(Level::parse(l.as_str()), Some(l));
        }
        assert_eq!(Field::parse("Impressions"), None);
        assert_eq!(Level::parse("ads"), None);
    }

    /// Rows of the unfiltered report at `level` for which `keep` holds.
    fn expected(level: Level, keep: impl Fn(&Row) -> bool) -> usize {
        filtered(level, "impressions", "GREATER_THAN_OR_EQUAL", json!(0))
            .unwrap()
            .rows()
            .filter(|r| keep(r))
            .count()
    }

    #[test]
    fn entity_filters_equal_not_equal_in_not_in() {
        let r = filtered(Level::Ad, "campaign.name", "EQUAL", json!("Brand Awareness #2")).unwrap();
        assert_eq!(r.len(), 7 * 4);
        assert!(r
            .rows()
            .all(|row| get(&row, "campaign_name") == Some("Brand Awareness #2")));
        assert_eq!(
            filtered(Level::Ad, "campaign.name", "EQUAL", json!("brand awareness #2"))
                .unwrap()
                .len(),
            0
        );

        let r = filtered(Level::Campaign, "campaign.id", "NOT_EQUAL", json!(12000011001u64)).unwrap();
        assert_eq!(r.len(), 7 * 2);

        let ids = json!(["12200000000001001", 12200020010011001u64, "999"]);
        let r = filtered(Level::Ad, "ad.id", "IN", ids.clone()).unwrap();
        assert_eq!(r.len(), 7 * 2);
        assert_eq!(filtered(Level::Ad, "ad.id", "NOT_IN", ids).unwrap().len(), 7 * 10);
        assert_eq!(filtered(Level::Adset, "adset.id", "IN", json!([])).unwrap().len(), 0);
    }

    #[test]
    fn entity_filters_contain_ignores_case() {
        let r = filtered(Level::Adset, "campaign.name", "CONTAIN", json!("SALE")).unwrap();
        assert_eq!(r.len(), 7 * 2);
        let r = filtered(Level::Ad, "ad.name", "NOT_CONTAIN", json!("v1")).unwrap();
        assert!(r
            .rows()
            .all(|row| get(&row, "ad_name").is_some_and(|n| n.ends_with("v2"))));
        assert_eq!(r.len(), 7 * 6);
        let r = filtered(Level::Adset, "adset.name", "CONTAIN", json!("#2")).unwrap();
        assert_eq!(r.len(), 7 * 3);
    }

    #[test]
    fn metric_filters_compare_numbers_per_row() {
        let level = Level::Ad;
        let r = filtered(level, "impressions", "GREATER_THAN", json!(5000)).unwrap();
        assert_eq!(r.len(), expected(level, |row| num(row, "impressions") > 5000));
        assert!(!r.is_empty() && r.rows().all(|row| num(&row, "impressions") > 5000));
        let r = filtered(level, "impressions", "LESS_THAN_OR_EQUAL", json!("5000")).unwrap();
        assert_eq!(r.len(), expected(level, |row| num(row, "impressions") <= 5000));
        let r = filtered(level, "clicks", "LESS_THAN", json!(40)).unwrap();
        assert_eq!(r.len(), expected(level, |row| num(row, "clicks") < 40));
        let r = filtered(level, "clicks", "GREATER_THAN_OR_EQUAL", json!(40)).unwrap();
        assert_eq!(r.len(), expected(level, |row| num(row, "clicks") >= 40));
        let r = filtered(level, "spend", "GREATER_THAN", json!(25.5)).unwrap();
        assert_eq!(r.len(), expected(level, |row| cents(row) > 2550));

        let some = filtered(level, "spend", "GREATER_THAN", json!(0)).unwrap().row(3);
        let spend = get(&some, "spend").unwrap().to_string();
        let r = filtered(level, "spend", "EQUAL", json!(spend.parse::<f64>().unwrap())).unwrap();
        assert_eq!(
            r.len(),
            expected(level, |row| get(row, "spend") == Some(spend.as_str()))
        );
        assert!(!r.is_empty());
        let r = filtered(level, "spend", "NOT_EQUAL", json!(spend)).unwrap();
        assert_eq!(
            r.len(),
            expected(level, |row| get(row, "spend") != Some(spend.as_str()))
        );
        let imps = num(&some, "impressions");
        let r = filtered(level, "impressions", "IN", json!([imps, 1])).unwrap();
        assert_eq!(
            r.len(),
            expected(level, |row| [imps, 1].contains(&num(row, "impressions")))
        );
        let r = filtered(level, "impressions", "NOT_IN", json!([imps])).unwrap();
        assert_eq!(r.len(), expected(level, |row| num(row, "impressions") != imps));
    }

    #[test]
    fn metric_filters_on_totals_use_the_window_sums() {
        let mut q = query(Level::Ad, &[Field::Impressions]);
        q.daily = false;
        let all: Vec<Row> = report(q.clone()).rows().collect();
        let threshold = num(&all[5], "impressions");
        q.filters = vec![Filter {
            field: "impressions".into(),
            operator: "GREATER_THAN_OR_EQUAL".into(),
            value: json!(threshold),
        }];
        let kept: Vec<Row> = report(q).rows().collect();
        let want: Vec<Row> = all.into_iter().filter(|r| num(r, "impressions") >= threshold).collect();
        assert_eq!(kept, want);
    }

    #[test]
    fn decimals_compare_exactly() {
        let d = |s| Decimal::parse(s).unwrap();
        assert_eq!(d("12.30"), Decimal { units: 123, scale: 1 });
        assert_eq!(d("1e3"), Decimal::whole(1000));
        assert_eq!(d("-0.5").cmp_to(&d("0")), Ordering::Less);
        assert_eq!(d("12.3").cmp_to(&Decimal { units: 1230, scale: 2 }), Ordering::Equal);
        for bad in ["", ".", "abc", "1.2.3", "--1", "1e", "1e-40"] {
            assert_eq!(Decimal::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn filter_errors_name_the_field_or_operator() {
        let err = |field, op, value| filtered(Level::Campaign, field, op, value).unwrap_err();
        assert_eq!(
            err("campaign.status", "EQUAL", json!("ACTIVE")),
            DataError::InvalidFilterField {
                field: "campaign.status".into()
            }
        );
        assert_eq!(
            err("ad.name", "EQUAL", json!("x")),
            DataError::FilterBelowLevel {
                field: "ad.name".into(),
                level: Level::Campaign
            }
        );
        assert_eq!(
            err("campaign.name", "STARTS_WITH", json!("x")),
            DataError::InvalidFilterOperator {
                index: 0,
                operator: "STARTS_WITH".into()
            }
        );
        assert!(matches!(
            err("campaign.name", "GREATER_THAN", json!("x")),
            DataError::UnsupportedFilterOperator { .. }
        ));
        assert!(matches!(
            err("spend", "CONTAIN", json!("1")),
            DataError::UnsupportedFilterOperator { .. }
        ));
        for (field, op, value) in [
            ("campaign.id", "IN", json!("1")),
            ("campaign.id", "EQUAL", json!(["1"])),
            ("campaign.name", "EQUAL", json!(null)),
            ("spend", "GREATER_THAN", json!("a lot")),
            ("clicks", "IN", json!([1, true])),
        ] {
            assert!(
                matches!(err(field, op, value), DataError::InvalidFilterValue { .. }),
                "{field} {op}"
            );
        }
        assert_eq!(
            err("campaign.status", "EQUAL", json!(1)).to_string(),
            "(#100) Filtering field campaign.status is invalid"
        );
    }

    #[test]
    fn invalid_breakdown_combinations_are_code_2_subcode_1504041() {
        use Breakdown::*;
        for breakdowns in [
            vec![Age, Gender, DevicePlatform],
            vec![Age, Age],
            vec![Country, PublisherPlatform],
            vec![DevicePlatform, Country],
        ] {
            let mut q = query(Level::Ad, &[]);
            q.breakdowns = breakdowns.clone();
            let e = Report::new(q, Shape::default()).unwrap_err();
            assert_eq!(e, DataError::InvalidBreakdowns { breakdowns });
            assert_eq!(e.graph_code(), (2, Some(1_504_041)));
        }
        let e = DataError::InvalidBreakdowns {
            breakdowns: vec![Age, Age],
        };
        assert!(
            e.to_string().starts_with("Invalid breakdowns combination: age, age."),
            "{e}"
        );
    }

    #[test]
    fn windows_must_run_forward_and_span_at_most_37_months() {
        let mut q = query(Level::Account, &[]);
        q.window = window("2026-03-02", "2026-03-01");
        assert_eq!(
            Report::new(q.clone(), Shape::default()).unwrap_err(),
            DataError::WindowReversed { window: q.window }
        );
        q.window = window("2023-01-01", "2026-01-31");
        assert_eq!(Report::new(q.clone(), Shape::default()).unwrap().len(), 1127);
        q.window = window("2023-01-01", "2026-02-01");
        let e = Report::new(q.clone(), Shape::default()).unwrap_err();
        assert_eq!(e, DataError::WindowTooLong { window: q.window });
        assert_eq!(e.graph_code(), (100, None));
    }

    #[test]
    fn error_messages_use_graph_wording() {
        let e = DataError::UnknownField {
            name: "impresions".into(),
        };
        assert!(e
            .to_string()
            .starts_with("(#100) impresions is not valid for fields param. please check"));
        let e = DataError::UnknownBreakdown {
            index: 1,
            name: "region".into(),
        };
        assert!(e
            .to_string()
            .starts_with("(#100) breakdowns[1] must be one of the following values: age,"));
        let e = DataError::UnknownLevel { name: "ads".into() };
        assert_eq!(
            e.to_string(),
            "(#100) param level must be one of {ad, adset, campaign, account}"
        );
        let e = DataError::InvalidFilterOperator {
            index: 2,
            operator: "LIKE".into(),
        };
        assert!(e
            .to_string()
            .starts_with("(#100) param filtering[2]['operator'] must be one of {EQUAL,"));
        assert_eq!(e.graph_code(), (100, None));
        assert_eq!(DataError::TooMuchData.graph_code(), (100, None));
    }

    #[test]
    fn absurd_shapes_are_refused_instead_of_overflowing() {
        let huge = Shape::new(u32::MAX, u32::MAX, u32::MAX);
        assert_eq!(
            Report::new(query(Level::Ad, &[]), huge).unwrap_err(),
            DataError::TooMuchData
        );
        let mut q = query(Level::Ad, &[]);
        q.filters = vec![Filter {
            field: "ad.id".into(),
            operator: "EQUAL".into(),
            value: json!("1"),
        }];
        assert_eq!(Report::new(q, huge).unwrap_err(), DataError::TooMuchData);
        // One account row is fine however many ads feed it.
        let mut q = query(Level::Account, &METRICS);
        q.daily = false;
        q.window = window("2023-01-01", "2026-01-31");
        let row = Report::new(q, huge).unwrap().row(0);
        assert!(num(&row, "impressions") > 1_000_000_000_000_000, "{row:?}");
    }
}
