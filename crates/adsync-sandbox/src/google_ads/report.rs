//! The rows a GAQL query reads from the sandbox's Google Ads world. Every value is a pure
//! function of customer, entity, day and segment, computed when asked and never stored, so a
//! test computes the exact rows a query returns ([`super::expected_rows`]).

use std::cmp::Ordering;
use std::sync::Arc;

use chrono::{Datelike, Days, Months, NaiveDate};

use super::error::AdsFailure;
use super::gaql::{Condition, Gaql, Literal, Op};
use super::Settings;
use crate::draws::fold;
use crate::window::DateWindow;

/// A query without a date condition reads this many days up to today ("all time" here).
pub const LIFETIME_DAYS: u64 = 365;
/// Rows segmented by day reach back this far (`REQUESTED_DATE_GRANULARITY_NOT_SUPPORTED`).
const DAILY_HISTORY_MONTHS: u32 = 37;

/// A resource rows come `FROM`, coarsest first: a resource's fields can be selected from
/// itself and from any finer resource (a campaign's from `ad_group`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resource {
    Customer,
    Campaign,
    AdGroup,
    AdGroupAd,
}

impl Resource {
    fn parse(name: &str) -> Option<Resource> {
        Some(match name {
            "customer" => Resource::Customer,
            "campaign" => Resource::Campaign,
            "ad_group" => Resource::AdGroup,
            "ad_group_ad" => Resource::AdGroupAd,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Resource::Customer => "customer",
            Resource::Campaign => "campaign",
            Resource::AdGroup => "ad_group",
            Resource::AdGroupAd => "ad_group_ad",
        }
    }

    /// Its key in a `GoogleAdsRow`.
    fn json_key(self) -> &'static str {
        match self {
            Resource::Customer => "customer",
            Resource::Campaign => "campaign",
            Resource::AdGroup => "adGroup",
            Resource::AdGroupAd => "adGroupAd",
        }
    }
}

/// A field the sandbox serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    CustomerId,
    CustomerName,
    CustomerCurrency,
    CustomerTimeZone,
    CampaignId,
    CampaignName,
    CampaignStatus,
    CampaignChannel,
    CampaignBidding,
    AdGroupId,
    AdGroupName,
    AdGroupStatus,
    AdGroupType,
    AdId,
    AdName,
    AdType,
    AdStatus,
    Date,
    Device,
    Network,
    ConversionAction,
    ConversionActionName,
    ConversionActionCategory,
    Impressions,
    Clicks,
    CostMicros,
    Conversions,
    ConversionsValue,
    AllConversions,
    AllConversionsValue,
    ViewThroughConversions,
    CostPerConversion,
    CostPerAllConversions,
    ValuePerConversion,
    ValuePerAllConversions,
    ConversionsFromInteractionsRate,
    AllConversionsFromInteractionsRate,
    ConversionsValuePerCost,
    AllConversionsValuePerCost,
    AverageCost,
    InteractionRate,
    Interactions,
    Ctr,
    AverageCpc,
    AverageCpm,
    VideoTrueviewViews,
}

const FIELDS: [(Field, &str); 46] = [
    (Field::CustomerId, "customer.id"),
    (Field::CustomerName, "customer.descriptive_name"),
    (Field::CustomerCurrency, "customer.currency_code"),
    (Field::CustomerTimeZone, "customer.time_zone"),
    (Field::CampaignId, "campaign.id"),
    (Field::CampaignName, "campaign.name"),
    (Field::CampaignStatus, "campaign.status"),
    (Field::CampaignChannel, "campaign.advertising_channel_type"),
    (Field::CampaignBidding, "campaign.bidding_strategy_type"),
    (Field::AdGroupId, "ad_group.id"),
    (Field::AdGroupName, "ad_group.name"),
    (Field::AdGroupStatus, "ad_group.status"),
    (Field::AdGroupType, "ad_group.type"),
    (Field::AdId, "ad_group_ad.ad.id"),
    (Field::AdName, "ad_group_ad.ad.name"),
    (Field::AdType, "ad_group_ad.ad.type"),
    (Field::AdStatus, "ad_group_ad.status"),
    (Field::Date, "segments.date"),
    (Field::Device, "segments.device"),
    (Field::Network, "segments.ad_network_type"),
    (Field::ConversionAction, "segments.conversion_action"),
    (Field::ConversionActionName, "segments.conversion_action_name"),
    (Field::ConversionActionCategory, "segments.conversion_action_category"),
    (Field::Impressions, "metrics.impressions"),
    (Field::Clicks, "metrics.clicks"),
    (Field::CostMicros, "metrics.cost_micros"),
    (Field::Conversions, "metrics.conversions"),
    (Field::ConversionsValue, "metrics.conversions_value"),
    (Field::AllConversions, "metrics.all_conversions"),
    (Field::AllConversionsValue, "metrics.all_conversions_value"),
    (Field::ViewThroughConversions, "metrics.view_through_conversions"),
    (Field::CostPerConversion, "metrics.cost_per_conversion"),
    (Field::ValuePerConversion, "metrics.value_per_conversion"),
    (Field::CostPerAllConversions, "metrics.cost_per_all_conversions"),
    (Field::ValuePerAllConversions, "metrics.value_per_all_conversions"),
    (
        Field::ConversionsFromInteractionsRate,
        "metrics.conversions_from_interactions_rate",
    ),
    (
        Field::AllConversionsFromInteractionsRate,
        "metrics.all_conversions_from_interactions_rate",
    ),
    (Field::ConversionsValuePerCost, "metrics.conversions_value_per_cost"),
    (
        Field::AllConversionsValuePerCost,
        "metrics.all_conversions_value_per_cost",
    ),
    (Field::AverageCost, "metrics.average_cost"),
    (Field::InteractionRate, "metrics.interaction_rate"),
    (Field::Interactions, "metrics.interactions"),
    (Field::Ctr, "metrics.ctr"),
    (Field::AverageCpc, "metrics.average_cpc"),
    (Field::AverageCpm, "metrics.average_cpm"),
    (Field::VideoTrueviewViews, "metrics.video_trueview_views"),
];

const DEVICES: [&str; 3] = ["DESKTOP", "MOBILE", "TABLET"];
const NETWORKS: [&str; 3] = ["SEARCH", "SEARCH_PARTNERS", "CONTENT"];
/// Each customer's conversion actions: id suffix, name, `ConversionActionCategory` name, and
/// the percentage of every row's conversions attributed to it (the last takes the rest).
const CONVERSION_ACTIONS: [(u32, &str, &str, u64); 3] = [
    (1, "Purchase", "PURCHASE", 50),
    (2, "Lead form", "SUBMIT_LEAD_FORM", 30),
    (3, "Newsletter sign-up", "SIGNUP", 20),
];
const CURRENCIES: [&str; 3] = ["EUR", "USD", "GBP"];
const TIME_ZONES: [&str; 3] = ["Europe/Berlin", "America/New_York", "Europe/London"];

/// A customer's descriptive name, currency and time zone: the same in `FROM customer` rows
/// and in `customer_client` rows about it.
pub(super) fn customer_attributes(customer: u64) -> (String, &'static str, &'static str) {
    let pick = |list: &[&'static str; 3]| list[(customer % 3) as usize];
    (
        format!("Sandbox Customer {customer}"),
        pick(&CURRENCIES),
        pick(&TIME_ZONES),
    )
}
const CAMPAIGNS: [&str; 6] = [
    "Search – Brand",
    "Search – Generic",
    "Performance Max – Shop",
    "Display – Remarketing",
    "YouTube – Awareness",
    "Search – Competitors",
];
const CHANNELS: [&str; 4] = ["SEARCH", "SEARCH", "PERFORMANCE_MAX", "DISPLAY"];
const BIDDING: [&str; 4] = ["MAXIMIZE_CONVERSIONS", "TARGET_CPA", "MANUAL_CPC", "TARGET_ROAS"];
const THEMES: [&str; 5] = ["Running Shoes", "Trail Shoes", "Socks", "Jackets", "Sale"];

/// The GAQL names of every field the sandbox serves.
pub fn served_fields() -> Vec<&'static str> {
    FIELDS.iter().map(|(_, name)| *name).collect()
}

impl Field {
    fn parse(name: &str) -> Option<Field> {
        FIELDS.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
    }

    fn name(self) -> &'static str {
        FIELDS
            .iter()
            .find(|(f, _)| *f == self)
            .map(|(_, n)| *n)
            .expect("every field is listed")
    }

    /// The resource whose attribute it is; `None` for segments and metrics.
    fn resource(self) -> Option<Resource> {
        use Field::*;
        Some(match self {
            CustomerId | CustomerName | CustomerCurrency | CustomerTimeZone => Resource::Customer,
            CampaignId | CampaignName | CampaignStatus | CampaignChannel | CampaignBidding => Resource::Campaign,
            AdGroupId | AdGroupName | AdGroupStatus | AdGroupType => Resource::AdGroup,
            AdId | AdName | AdType | AdStatus => Resource::AdGroupAd,
            _ => return None,
        })
    }

    fn is_metric(self) -> bool {
        self.name().starts_with("metrics.")
    }

    fn is_conversion_segment(self) -> bool {
        matches!(
            self,
            Field::ConversionAction | Field::ConversionActionName | Field::ConversionActionCategory
        )
    }

    /// Whether a conversion segment can split it: counts and values of conversions, each
    /// attributed to one action (https://developers.google.com/google-ads/api/docs/conversions/reporting).
    fn splits_by_conversion_action(self) -> bool {
        matches!(
            self,
            Field::Conversions
                | Field::ConversionsValue
                | Field::AllConversions
                | Field::AllConversionsValue
                | Field::ViewThroughConversions
                | Field::ValuePerConversion
                | Field::ValuePerAllConversions
        )
    }
}

/// A value as Google's JSON carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A string, an enum name or an int64 (which proto3 JSON writes as a string).
    Text(String),
    /// A double, as its JSON number text.
    Number(String),
}

impl Value {
    /// The text a CSV cell holds.
    pub fn text(&self) -> &str {
        match self {
            Value::Text(t) | Value::Number(t) => t,
        }
    }

    /// Whether proto3 JSON leaves the value out (zero, empty).
    pub fn is_default(&self) -> bool {
        matches!(self.text(), "" | "0")
    }

    fn json(&self) -> String {
        match self {
            Value::Text(t) => serde_json::to_string(t).expect("strings serialize"),
            Value::Number(n) => n.clone(),
        }
    }
}

/// An entity's position: campaign, ad group within it, ad within that.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Path {
    campaign: u32,
    ad_group: u32,
    ad: u32,
}

/// One row: the entity it belongs to and its values (selected fields, then `ORDER BY`'s).
#[derive(Debug, Clone)]
pub struct Row {
    path: Path,
    /// The selected fields' values, in `SELECT` order, then the `ORDER BY` fields' values.
    pub values: Vec<Value>,
}

/// One query against one customer: what it selects and which rows it covers.
#[derive(Debug)]
pub struct Report {
    customer: u64,
    resource: Resource,
    select: Vec<Field>,
    conditions: Vec<(Field, Op, Vec<Literal>)>,
    order_by: Vec<(Field, bool)>,
    limit: Option<usize>,
    /// The dates metrics cover.
    window: DateWindow,
    /// One row per day (`segments.date` selected) or one for the window.
    daily: bool,
    devices: bool,
    networks: bool,
    /// Rows split per conversion action (a conversion segment is used).
    actions: bool,
    /// Entities of the `FROM` resource.
    entities: u64,
    shape: (u32, u32, u32),
}

fn unrecognized(name: &str) -> AdsFailure {
    AdsFailure::invalid_argument(
        "queryError",
        "UNRECOGNIZED_FIELD",
        format!("Unrecognized field in the query: '{name}'."),
    )
}

impl Report {
    /// The report `gaql` asks of `customer` (a manager when `manager`), or the error the API
    /// answers for it.
    pub fn new(
        gaql: &Gaql,
        customer: u64,
        manager: bool,
        settings: &Settings,
        today: NaiveDate,
    ) -> Result<Report, AdsFailure> {
        let resource = Resource::parse(&gaql.resource).ok_or_else(|| {
            AdsFailure::invalid_argument(
                "queryError",
                "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
                format!(
                    "Error in query: '{}' is not a resource the sandbox serves (customer, campaign, ad_group, ad_group_ad).",
                    gaql.resource
                ),
            )
        })?;
        let field = |name: &str, clause: &'static str| -> Result<Field, AdsFailure> {
            let field = Field::parse(name).ok_or_else(|| unrecognized(name))?;
            if field.resource().is_some_and(|r| r > resource) {
                return Err(AdsFailure::invalid_argument(
                    "queryError",
                    clause,
                    format!(
                        "Cannot select or filter on the following fields: '{name}' (the resource '{}' is not compatible with the resource '{}' in the FROM clause).",
                        field.resource().map_or("", Resource::name),
                        resource.name()
                    ),
                ));
            }
            Ok(field)
        };
        let select = gaql
            .select
            .iter()
            .map(|name| field(name, "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE"))
            .collect::<Result<Vec<_>, _>>()?;
        let order_by = gaql
            .order_by
            .iter()
            .map(|(name, desc)| field(name, "PROHIBITED_FIELD_IN_ORDER_BY_CLAUSE").map(|f| (f, *desc)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut conditions = Vec::new();
        let (mut from, mut until): (Option<NaiveDate>, Option<NaiveDate>) = (None, None);
        for Condition {
            field: name,
            op,
            values,
        } in &gaql.conditions
        {
            let field = field(name, "PROHIBITED_RESOURCE_TYPE_IN_WHERE_CLAUSE")?;
            if matches!(op, Op::RegexpMatch | Op::NotRegexpMatch) {
                return Err(AdsFailure::invalid_argument(
                    "queryError",
                    "BAD_OPERATOR",
                    "The sandbox does not evaluate REGEXP_MATCH; use LIKE.",
                ));
            }
            if field != Field::Date {
                if matches!(op, Op::Between | Op::During) {
                    return Err(AdsFailure::invalid_argument(
                        "queryError",
                        "OPERATOR_FIELD_MISMATCH",
                        format!("Error in query: the operator is not valid for '{name}'."),
                    ));
                }
                conditions.push((field, *op, values.clone()));
                continue;
            }
            let (low, high) = date_bounds(*op, values, today)?;
            from = from.max(low);
            until = match (until, high) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        let daily = select.contains(&Field::Date);
        if daily && (from.is_none() || until.is_none()) {
            return Err(AdsFailure::invalid_argument(
                "queryError",
                "EXPECTED_FILTERS_ON_DATE_RANGE",
                "Error in query: A finite date range filter on segments.date is required when segments.date is selected.",
            ));
        }
        if manager
            && select
                .iter()
                .chain(order_by.iter().map(|(f, _)| f))
                .any(|f| f.is_metric())
        {
            return Err(AdsFailure::invalid_argument(
                "queryError",
                "REQUESTED_METRICS_FOR_MANAGER",
                "Metrics cannot be requested for a manager account. To retrieve metrics, issue separate requests against each client account under the manager account.",
            ));
        }
        let used = || {
            select
                .iter()
                .chain(order_by.iter().map(|(f, _)| f))
                .chain(conditions.iter().map(|(f, _, _)| f))
        };
        if let Some(segment) = used().find(|f| f.is_conversion_segment()) {
            if let Some(metric) = used().find(|f| f.is_metric() && !f.splits_by_conversion_action()) {
                return Err(AdsFailure::invalid_argument(
                    "queryError",
                    "PROHIBITED_SEGMENT_WITH_METRIC_IN_SELECT_OR_WHERE_CLAUSE",
                    format!(
                        "Cannot select or filter on the following segments: '{}', since the following metrics are selected or filtered on: '{}'.",
                        segment.name(),
                        metric.name()
                    ),
                ));
            }
        }
        let window = DateWindow::new(from.unwrap_or(today - Days::new(LIFETIME_DAYS)), until.unwrap_or(today));
        if daily && window.start < today - Months::new(DAILY_HISTORY_MONTHS) {
            return Err(AdsFailure::invalid_argument(
                "dateRangeError",
                "REQUESTED_DATE_GRANULARITY_NOT_SUPPORTED",
                "The requested time granularity is not supported for the date range in the query. Metrics with daily, hourly, or weekly segmentation are only available for the last 37 months.",
            ));
        }
        let shape = (
            settings.campaigns_per_customer,
            settings.ad_groups_per_campaign,
            settings.ads_per_ad_group,
        );
        let (c, g, a) = (u64::from(shape.0), u64::from(shape.1), u64::from(shape.2));
        let entities = match resource {
            Resource::Customer => 1,
            _ if manager => 0,
            Resource::Campaign => c,
            Resource::AdGroup => c * g,
            Resource::AdGroupAd => c * g * a,
        };
        let needed = |f: Field| {
            select.contains(&f) || conditions.iter().any(|(c, _, _)| *c == f) || order_by.iter().any(|(o, _)| *o == f)
        };
        Ok(Report {
            customer,
            resource,
            devices: needed(Field::Device),
            networks: needed(Field::Network),
            actions: needed(Field::ConversionAction)
                || needed(Field::ConversionActionName)
                || needed(Field::ConversionActionCategory),
            select,
            conditions,
            order_by,
            limit: gaql.limit,
            window,
            daily,
            entities,
            shape,
        })
    }

    /// `fieldMask`: the selected fields as JSON paths.
    pub fn field_mask(&self) -> String {
        self.select
            .iter()
            .map(|f| json_path(f.name()).join("."))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The number of selected fields.
    pub fn width(&self) -> usize {
        self.select.len()
    }

    fn combos(&self) -> u64 {
        let actions = if self.actions {
            CONVERSION_ACTIONS.len() as u64
        } else {
            1
        };
        (if self.devices { 3 } else { 1 }) * (if self.networks { 3 } else { 1 }) * actions
    }

    fn periods(&self) -> u64 {
        if self.window.start > self.window.end {
            0
        } else if self.daily {
            self.window.days() as u64
        } else {
            1
        }
    }

    /// The rows, in order: day, then entity, then segment; sorted by `ORDER BY` and cut at
    /// `LIMIT` when the query says so. Rows are computed as they are read unless sorted.
    pub fn rows(self: Arc<Self>) -> Box<dyn Iterator<Item = Row> + Send> {
        let total = self.periods() * self.entities * self.combos();
        let limit = self.limit.unwrap_or(usize::MAX);
        let report = self.clone();
        let rows = (0..total).filter_map(move |raw| report.row(raw));
        if self.order_by.is_empty() {
            return Box::new(rows.take(limit));
        }
        let mut rows: Vec<Row> = rows.collect();
        let width = self.select.len();
        rows.sort_by(|a, b| {
            self.order_by
                .iter()
                .enumerate()
                .map(|(i, (_, desc))| {
                    let order = compare(&a.values[width + i], b.values[width + i].text());
                    if *desc {
                        order.reverse()
                    } else {
                        order
                    }
                })
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
        rows.truncate(limit);
        Box::new(rows.into_iter())
    }

    /// The row at unfiltered index `raw`, if it passes the conditions.
    fn row(&self, raw: u64) -> Option<Row> {
        let combos = self.combos();
        let combo = raw % combos;
        let entity = (raw / combos) % self.entities;
        let period = raw / combos / self.entities;
        let cell = Cell {
            day: self.daily.then(|| self.window.start + Days::new(period)),
            path: self.path(entity),
            device: self.devices.then_some((combo % 3) as usize),
            network: self
                .networks
                .then(|| ((combo / if self.devices { 3 } else { 1 }) % 3) as usize),
            action: self.actions.then(|| {
                let below = (if self.devices { 3 } else { 1 }) * (if self.networks { 3 } else { 1 });
                ((combo / below) % CONVERSION_ACTIONS.len() as u64) as usize
            }),
        };
        let metrics = self
            .select
            .iter()
            .chain(self.conditions.iter().map(|(f, _, _)| f))
            .chain(self.order_by.iter().map(|(f, _)| f))
            .any(|f| f.is_metric())
            .then(|| self.metrics(&cell));
        for (field, op, values) in &self.conditions {
            if !matches(&self.value(*field, &cell, metrics.as_ref()), *op, values) {
                return None;
            }
        }
        let values = self
            .select
            .iter()
            .chain(self.order_by.iter().map(|(f, _)| f))
            .map(|f| self.value(*f, &cell, metrics.as_ref()))
            .collect();
        Some(Row {
            path: cell.path,
            values,
        })
    }

    fn path(&self, entity: u64) -> Path {
        let (g, a) = (u64::from(self.shape.1), u64::from(self.shape.2));
        let (campaign, ad_group, ad) = match self.resource {
            Resource::Customer => (0, 0, 0),
            Resource::Campaign => (entity, 0, 0),
            Resource::AdGroup => (entity / g, entity % g, 0),
            Resource::AdGroupAd => (entity / (g * a), (entity / a) % g, entity % a),
        };
        Path {
            campaign: campaign as u32,
            ad_group: ad_group as u32,
            ad: ad as u32,
        }
    }

    fn id(&self, resource: Resource, path: Path) -> String {
        let short = self.customer % 100_000;
        let Path { campaign, ad_group, ad } = path;
        match resource {
            Resource::Customer => self.customer.to_string(),
            Resource::Campaign => format!("2{short:05}{campaign:03}"),
            Resource::AdGroup => format!("3{short:05}{campaign:03}{ad_group:03}"),
            Resource::AdGroupAd => format!("4{short:05}{campaign:03}{ad_group:03}{ad:03}"),
        }
    }

    fn value(&self, field: Field, cell: &Cell, metrics: Option<&Metrics>) -> Value {
        let text = |s: String| Value::Text(s);
        let pick = |list: &[&str], n: u64| text(list[(n % list.len() as u64) as usize].to_string());
        let Path { campaign, ad_group, ad } = cell.path;
        let (c, g, a) = (u64::from(campaign), u64::from(ad_group), u64::from(ad));
        let status = |n: u64| text(if n % 4 == 3 { "PAUSED" } else { "ENABLED" }.to_string());
        match field {
            Field::CustomerId => text(self.customer.to_string()),
            Field::CustomerName => text(customer_attributes(self.customer).0),
            Field::CustomerCurrency => text(customer_attributes(self.customer).1.to_string()),
            Field::CustomerTimeZone => text(customer_attributes(self.customer).2.to_string()),
            Field::CampaignId => text(self.id(Resource::Campaign, cell.path)),
            Field::CampaignName => text(format!(
                "{} #{}",
                CAMPAIGNS[(c % CAMPAIGNS.len() as u64) as usize],
                c + 1
            )),
            Field::CampaignStatus => status(c),
            Field::CampaignChannel => pick(&CHANNELS, c),
            Field::CampaignBidding => pick(&BIDDING, c + self.customer),
            Field::AdGroupId => text(self.id(Resource::AdGroup, cell.path)),
            Field::AdGroupName => text(format!(
                "{} #{}",
                THEMES[((c + g) % THEMES.len() as u64) as usize],
                g + 1
            )),
            Field::AdGroupStatus => status(c + g),
            Field::AdGroupType => text("SEARCH_STANDARD".into()),
            Field::AdId => text(self.id(Resource::AdGroupAd, cell.path)),
            Field::AdName => text(format!("Responsive ad v{}", a + 1)),
            Field::AdType => text("RESPONSIVE_SEARCH_AD".into()),
            Field::AdStatus => status(c + g + a),
            Field::Date => text(cell.day.map(|d| d.to_string()).unwrap_or_default()),
            Field::Device => pick(&DEVICES, cell.device.unwrap_or(0) as u64),
            Field::Network => pick(&NETWORKS, cell.network.unwrap_or(0) as u64),
            Field::ConversionAction => {
                let (id, _, _, _) = CONVERSION_ACTIONS[cell.action.unwrap_or(0)];
                let short = self.customer % 100_000;
                text(format!(
                    "customers/{}/conversionActions/5{short:05}{id:03}",
                    self.customer
                ))
            }
            Field::ConversionActionName => text(CONVERSION_ACTIONS[cell.action.unwrap_or(0)].1.to_string()),
            Field::ConversionActionCategory => text(CONVERSION_ACTIONS[cell.action.unwrap_or(0)].2.to_string()),
            metric => metrics.map_or(Value::Text("0".into()), |m| m.value(metric)),
        }
    }

    /// The cell's metrics: one day's draw, or the sum over the window.
    fn metrics(&self, cell: &Cell) -> Metrics {
        let Path { campaign, ad_group, ad } = cell.path;
        let entity_seed = [
            self.customer,
            self.resource as u64 + 1,
            u64::from(campaign),
            u64::from(ad_group),
            u64::from(ad),
        ]
        .into_iter()
        .fold(0x6a_d5, fold);
        let combo_seed = fold(
            fold(0x5eed, cell.device.map_or(0, |d| d as u64 + 1)),
            cell.network.map_or(0, |n| n as u64 + 1),
        );
        let ads_under = match self.resource {
            Resource::Customer => u64::from(self.shape.0 * self.shape.1 * self.shape.2),
            Resource::Campaign => u64::from(self.shape.1 * self.shape.2),
            Resource::AdGroup => u64::from(self.shape.2),
            Resource::AdGroupAd => 1,
        }
        .max(1);
        // Conversion actions share a row's conversions rather than draw their own, so they add
        // up to the unsplit row.
        let actions = if self.actions {
            CONVERSION_ACTIONS.len() as u64
        } else {
            1
        };
        let size = (100 + entity_seed % 4_901) * ads_under / (self.combos() / actions);
        let day = |day: NaiveDate| {
            let whole = Metrics::draw(fold(fold(entity_seed, day.num_days_from_ce() as u64), combo_seed), size);
            match cell.action {
                Some(action) => whole.attributed_to(action),
                None => whole,
            }
        };
        match cell.day {
            Some(d) => day(d),
            None => self
                .window
                .iter_days()
                .fold(Metrics::default(), |sum, d| sum.plus(&day(d))),
        }
    }

    /// A row as a `GoogleAdsRow` JSON object: camelCase keys, int64s as strings, defaults
    /// left out, and the `resourceName` of every resource object in it.
    pub fn row_json(&self, row: &Row) -> String {
        let mut tree = Node::default();
        tree.child(self.resource.json_key());
        for (field, value) in self.select.iter().zip(&row.values) {
            if !value.is_default() {
                tree.insert(&json_path(field.name()), value.json());
            }
        }
        for resource in [
            Resource::Customer,
            Resource::Campaign,
            Resource::AdGroup,
            Resource::AdGroupAd,
        ] {
            let name = match resource {
                Resource::Customer => format!("customers/{}", self.customer),
                Resource::Campaign => format!("customers/{}/campaigns/{}", self.customer, self.id(resource, row.path)),
                Resource::AdGroup => format!("customers/{}/adGroups/{}", self.customer, self.id(resource, row.path)),
                Resource::AdGroupAd => format!(
                    "customers/{}/adGroupAds/{}~{}",
                    self.customer,
                    self.id(Resource::AdGroup, row.path),
                    self.id(resource, row.path)
                ),
            };
            if let Some(object) = tree.get_mut(resource.json_key()) {
                object.prepend("resourceName", Value::Text(name).json());
            }
        }
        if let Some(ad) = tree.get_mut("adGroupAd").and_then(|o| o.get_mut("ad")) {
            let name = format!(
                "customers/{}/ads/{}",
                self.customer,
                self.id(Resource::AdGroupAd, row.path)
            );
            ad.prepend("resourceName", Value::Text(name).json());
        }
        tree.to_json()
    }
}

/// Which entity, day and segment values a row describes.
struct Cell {
    day: Option<NaiveDate>,
    path: Path,
    device: Option<usize>,
    network: Option<usize>,
    /// Index into [`CONVERSION_ACTIONS`].
    action: Option<usize>,
}

/// A row's base numbers; everything shown is derived from them in integers.
#[derive(Debug, Clone, Copy, Default)]
struct Metrics {
    impressions: u64,
    clicks: u64,
    cost_micros: u64,
    /// Conversions in hundredths.
    conversions_centi: u64,
    /// Conversion value in hundredths of the currency.
    value_centi: u64,
    all_conversions_centi: u64,
    /// All conversions' value in hundredths of the currency.
    all_value_centi: u64,
    view_through_conversions: u64,
    video_trueview_views: u64,
}

impl Metrics {
    fn draw(seed: u64, size: u64) -> Metrics {
        let mut state = seed;
        let mut between = |lo: u64, hi: u64| {
            state = fold(state, 0x9e37);
            lo + state % (hi - lo + 1)
        };
        let impressions = size * between(60, 140) / 100;
        let clicks = impressions * between(10, 800) / 10_000;
        // A CPC between 0.20 and 3.00, with odd micros so cost conversion is exercised.
        let cost_micros = clicks * between(200_000, 3_000_000) + between(0, 999) * u64::from(clicks > 0);
        let conversions_centi = clicks * between(0, 15);
        // Drawn in this order so the fields older than the conversion metrics keep their values.
        let value_centi = conversions_centi * between(20, 120);
        let all_conversions_centi = conversions_centi + clicks * between(0, 5);
        let video_trueview_views = impressions * between(0, 30) / 100;
        Metrics {
            impressions,
            clicks,
            cost_micros,
            conversions_centi,
            value_centi,
            all_conversions_centi,
            all_value_centi: all_conversions_centi * between(20, 120),
            view_through_conversions: impressions * between(0, 20) / 10_000,
            video_trueview_views,
        }
    }

    /// The conversions of the row attributed to conversion action `action` (an index into
    /// [`CONVERSION_ACTIONS`]): its percentage of every conversion count and value, the last
    /// action taking what the others leave, so the actions add up to the row exactly.
    /// Impressions, clicks and cost belong to no action.
    fn attributed_to(self, action: usize) -> Metrics {
        let part = |total: u64| {
            let share = |(_, _, _, percent): &(u32, &str, &str, u64)| total * percent / 100;
            if action + 1 < CONVERSION_ACTIONS.len() {
                share(&CONVERSION_ACTIONS[action])
            } else {
                total - CONVERSION_ACTIONS[..action].iter().map(share).sum::<u64>()
            }
        };
        Metrics {
            conversions_centi: part(self.conversions_centi),
            value_centi: part(self.value_centi),
            all_conversions_centi: part(self.all_conversions_centi),
            all_value_centi: part(self.all_value_centi),
            view_through_conversions: part(self.view_through_conversions),
            ..Metrics::default()
        }
    }

    fn plus(self, o: &Metrics) -> Metrics {
        Metrics {
            impressions: self.impressions + o.impressions,
            clicks: self.clicks + o.clicks,
            cost_micros: self.cost_micros + o.cost_micros,
            conversions_centi: self.conversions_centi + o.conversions_centi,
            value_centi: self.value_centi + o.value_centi,
            all_conversions_centi: self.all_conversions_centi + o.all_conversions_centi,
            all_value_centi: self.all_value_centi + o.all_value_centi,
            view_through_conversions: self.view_through_conversions + o.view_through_conversions,
            video_trueview_views: self.video_trueview_views + o.video_trueview_views,
        }
    }

    fn value(&self, field: Field) -> Value {
        let int = |n: u64| Value::Text(n.to_string());
        let number = |num: u128, den: u128| Value::Number(decimal(num, den));
        let wide = u128::from;
        match field {
            Field::Impressions => int(self.impressions),
            Field::Clicks => int(self.clicks),
            Field::CostMicros => int(self.cost_micros),
            Field::Interactions => int(self.clicks),
            Field::VideoTrueviewViews => int(self.video_trueview_views),
            Field::ViewThroughConversions => int(self.view_through_conversions),
            Field::Conversions => number(wide(self.conversions_centi), 100),
            Field::ConversionsValue => number(wide(self.value_centi), 100),
            Field::AllConversions => number(wide(self.all_conversions_centi), 100),
            Field::AllConversionsValue => number(wide(self.all_value_centi), 100),
            // Costs per something are micros, as `average_cpc` is; conversions are in hundredths.
            Field::CostPerConversion => number(wide(self.cost_micros) * 100, wide(self.conversions_centi)),
            Field::CostPerAllConversions => number(wide(self.cost_micros) * 100, wide(self.all_conversions_centi)),
            Field::AverageCost => number(wide(self.cost_micros), wide(self.clicks)),
            // Values per conversion are currency units.
            Field::ValuePerConversion => number(wide(self.value_centi), wide(self.conversions_centi)),
            Field::ValuePerAllConversions => number(wide(self.all_value_centi), wide(self.all_conversions_centi)),
            Field::ConversionsFromInteractionsRate => number(wide(self.conversions_centi), wide(self.clicks) * 100),
            Field::AllConversionsFromInteractionsRate => {
                number(wide(self.all_conversions_centi), wide(self.clicks) * 100)
            }
            // Value (hundredths of the currency) per cost (micros).
            Field::ConversionsValuePerCost => number(wide(self.value_centi) * 10_000, wide(self.cost_micros)),
            Field::AllConversionsValuePerCost => number(wide(self.all_value_centi) * 10_000, wide(self.cost_micros)),
            Field::InteractionRate => number(wide(self.clicks), wide(self.impressions)),
            Field::Ctr => number(wide(self.clicks), wide(self.impressions)),
            Field::AverageCpc => number(wide(self.cost_micros), wide(self.clicks)),
            Field::AverageCpm => number(wide(self.cost_micros) * 1000, wide(self.impressions)),
            _ => Value::Text("0".into()),
        }
    }
}

/// `num / den` rounded half up to six decimals, without trailing zeros (`"0.0425"`, `"12"`);
/// `"0"` when `den` is 0. Integer arithmetic, so the text never depends on float printing.
fn decimal(num: u128, den: u128) -> String {
    if den == 0 {
        return "0".into();
    }
    let millionths = (num * 2_000_000 + den) / (2 * den);
    let text = format!("{}.{:06}", millionths / 1_000_000, millionths % 1_000_000);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The GAQL path in lowerCamelCase JSON segments.
fn json_path(gaql: &str) -> Vec<String> {
    gaql.split('.')
        .map(|segment| {
            let mut parts = segment.split('_');
            let mut camel = parts.next().unwrap_or_default().to_string();
            for part in parts {
                let mut chars = part.chars();
                if let Some(first) = chars.next() {
                    camel.push(first.to_ascii_uppercase());
                    camel.extend(chars);
                }
            }
            camel
        })
        .collect()
}

/// The bounds a `segments.date` condition sets.
fn date_bounds(
    op: Op,
    values: &[Literal],
    today: NaiveDate,
) -> Result<(Option<NaiveDate>, Option<NaiveDate>), AdsFailure> {
    let date = |literal: &Literal| {
        NaiveDate::parse_from_str(literal.text(), "%Y-%m-%d").map_err(|_| {
            AdsFailure::invalid_argument(
                "queryError",
                "INVALID_VALUE_WITH_BETWEEN_OPERATOR",
                format!("Error in query: '{}' is not a date in YYYY-MM-DD form.", literal.text()),
            )
        })
    };
    let day = Days::new(1);
    Ok(match (op, values) {
        (Op::Between, [low, high]) => (Some(date(low)?), Some(date(high)?)),
        (Op::Eq, [d]) => (Some(date(d)?), Some(date(d)?)),
        (Op::Ge, [d]) => (Some(date(d)?), None),
        (Op::Gt, [d]) => (Some(date(d)? + day), None),
        (Op::Le, [d]) => (None, Some(date(d)?)),
        (Op::Lt, [d]) => (None, Some(date(d)? - day)),
        (Op::During, [constant]) => {
            let yesterday = today - day;
            let last = |n: u64| (Some(today - Days::new(n)), Some(yesterday));
            let first_of_month = today.with_day(1).expect("day 1 exists");
            match constant.text() {
                "TODAY" => (Some(today), Some(today)),
                "YESTERDAY" => (Some(yesterday), Some(yesterday)),
                "LAST_7_DAYS" => last(7),
                "LAST_14_DAYS" => last(14),
                "LAST_30_DAYS" => last(30),
                "THIS_MONTH" => (Some(first_of_month), Some(today)),
                "LAST_MONTH" => (Some(first_of_month - Months::new(1)), Some(first_of_month - day)),
                other => {
                    return Err(AdsFailure::invalid_argument(
                        "queryError",
                        "INVALID_VALUE_WITH_DURING_OPERATOR",
                        format!("Error in query: '{other}' is not a date range the sandbox knows for DURING."),
                    ))
                }
            }
        }
        _ => {
            return Err(AdsFailure::invalid_argument(
                "queryError",
                "OPERATOR_FIELD_MISMATCH",
                "Error in query: segments.date takes BETWEEN, DURING, =, >, >=, < or <=.",
            ))
        }
    })
}

/// Numbers compare as numbers, everything else as text.
fn compare(value: &Value, other: &str) -> Ordering {
    match (value.text().parse::<f64>(), other.parse::<f64>()) {
        (Ok(a), Ok(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        _ => value.text().cmp(other),
    }
}

fn matches(value: &Value, op: Op, values: &[Literal]) -> bool {
    let first = values.first().map_or("", Literal::text);
    match op {
        Op::Eq => compare(value, first) == Ordering::Equal,
        Op::Ne => compare(value, first) != Ordering::Equal,
        Op::Gt => compare(value, first) == Ordering::Greater,
        Op::Ge => compare(value, first) != Ordering::Less,
        Op::Lt => compare(value, first) == Ordering::Less,
        Op::Le => compare(value, first) != Ordering::Greater,
        Op::In => values.iter().any(|v| compare(value, v.text()) == Ordering::Equal),
        Op::NotIn => !values.iter().any(|v| compare(value, v.text()) == Ordering::Equal),
        Op::Like => like(value.text(), first),
        Op::NotLike => !like(value.text(), first),
        // Rejected when the report is built.
        Op::Between | Op::During | Op::RegexpMatch | Op::NotRegexpMatch => false,
    }
}

/// GAQL `LIKE`: `%` any run, `_` one character, `[x]` a literal x.
fn like(text: &str, pattern: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum P {
        Any,
        One,
        Lit(char),
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '[' if chars.get(i + 2) == Some(&']') => {
                parts.push(P::Lit(chars[i + 1]));
                i += 3;
                continue;
            }
            '%' => parts.push(P::Any),
            '_' => parts.push(P::One),
            c => parts.push(P::Lit(c)),
        }
        i += 1;
    }
    let text: Vec<char> = text.chars().collect();
    // reachable[j]: the parts so far can consume exactly text[..j].
    let mut reachable = vec![false; text.len() + 1];
    reachable[0] = true;
    for part in parts {
        let mut next = vec![false; text.len() + 1];
        for j in 0..=text.len() {
            if !reachable[j] {
                continue;
            }
            match part {
                P::Any => next[j..].iter_mut().for_each(|r| *r = true),
                P::One if j < text.len() => next[j + 1] = true,
                P::Lit(c) if text.get(j) == Some(&c) => next[j + 1] = true,
                _ => {}
            }
        }
        reachable = next;
    }
    reachable[text.len()]
}

/// A JSON object under construction, keys in insertion order.
#[derive(Debug, Default)]
struct Node {
    entries: Vec<(String, Entry)>,
}

#[derive(Debug)]
enum Entry {
    Leaf(String),
    Object(Node),
}

impl Node {
    fn child(&mut self, key: &str) -> &mut Node {
        let index = match self.entries.iter().position(|(k, _)| k == key) {
            Some(index) => index,
            None => {
                self.entries.push((key.to_string(), Entry::Object(Node::default())));
                self.entries.len() - 1
            }
        };
        match &mut self.entries[index].1 {
            Entry::Object(node) => node,
            Entry::Leaf(_) => unreachable!("GAQL paths never make a leaf a parent"),
        }
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .and_then(|(_, e)| match e {
                Entry::Object(node) => Some(node),
                Entry::Leaf(_) => None,
            })
    }

    fn insert(&mut self, path: &[String], json: String) {
        match path {
            [] => {}
            [leaf] => self.entries.push((leaf.clone(), Entry::Leaf(json))),
            [first, rest @ ..] => self.child(first).insert(rest, json),
        }
    }

    fn prepend(&mut self, key: &str, json: String) {
        self.entries.insert(0, (key.to_string(), Entry::Leaf(json)));
    }

    fn to_json(&self) -> String {
        let mut out = String::from("{");
        for (i, (key, entry)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(key).expect("strings serialize"));
            out.push(':');
            match entry {
                Entry::Leaf(json) => out.push_str(json),
                Entry::Object(node) => out.push_str(&node.to_json()),
            }
        }
        out.push('}');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_follows_gaql_wildcards_and_brackets() {
        assert!(like("Search – Brand #1", "%Brand%"));
        assert!(like("Search – Brand #1", "Search%#_"));
        assert!(!like("Search – Brand #1", "Brand%"));
        assert!(like("50% off", "50[%] off"));
        assert!(!like("50x off", "50[%] off"));
        assert!(like("", "%"));
    }

    #[test]
    fn decimals_are_exact_and_tidy() {
        assert_eq!(decimal(425, 10_000), "0.0425");
        assert_eq!(decimal(1200, 100), "12");
        assert_eq!(decimal(1, 3), "0.333333");
        assert_eq!(decimal(2, 3), "0.666667");
        assert_eq!(decimal(5, 0), "0");
    }

    #[test]
    fn rows_nest_camel_case_objects_and_leave_defaults_out() {
        assert_eq!(json_path("ad_group_ad.ad.id"), ["adGroupAd", "ad", "id"]);
        let mut node = Node::default();
        node.insert(&json_path("metrics.cost_micros"), "\"5\"".into());
        node.insert(&json_path("metrics.ctr"), "0.5".into());
        node.child("campaign")
            .prepend("resourceName", "\"customers/1/campaigns/2\"".into());
        assert_eq!(
            node.to_json(),
            r#"{"metrics":{"costMicros":"5","ctr":0.5},"campaign":{"resourceName":"customers/1/campaigns/2"}}"#
        );
        assert!(Value::Text("0".into()).is_default());
        assert!(!Value::Number("0.5".into()).is_default());
    }
}
