//! What `runReport` answers: the request ([`super::request`]) validated with the API's
//! wording, and the report's rows.
//!
//! Every number is a pure function of (property, day, hour, dimension values) drawn with
//! the hash every platform shares (`draws`), so tests compute the exact rows a connector must
//! deliver with [`Report::new`]. Rows over several days or without a dimension sum their
//! days' numbers, so a total equals the sum of its daily rows. The dimension and metric
//! tables are this module's own: an emulator sharing the connector's catalog would agree with
//! its mistakes.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};

use super::request::{DateRangeSpec, FieldFilter, FilterExpression, NumericValue, OrderBy, RunReportRequest};
use crate::draws::{fold, ratio6, Draws};
use crate::window::DateWindow;

/// The most dimensions one request may have.
pub const MAX_DIMENSIONS: usize = 9;
/// The most metrics one request may have.
pub const MAX_METRICS: usize = 10;
pub use crate::settings::ga4::MAX_LIMIT;
/// `limit` when the request has none.
pub const DEFAULT_LIMIT: i64 = 10_000;
/// The earliest date GA4 has data for.
const FIRST_DAY: (i32, u32, u32) = (2015, 8, 14);
/// Combinations of days, hours and dimension values a report may visit; beyond it the
/// sandbox refuses instead of computing for minutes.
const MAX_CELLS: u64 = 5_000_000;
/// Where the API's error messages send people for the schema.
const SCHEMA_URL: &str = "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema";

/// A dimension whose value comes from the row's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clock {
    Date,
    DateHour,
    Year,
    Month,
    Week,
    IsoYearIsoWeek,
    DayOfWeek,
}

const TIME_DIMENSIONS: [(&str, Clock); 7] = [
    ("date", Clock::Date),
    ("dateHour", Clock::DateHour),
    ("year", Clock::Year),
    ("month", Clock::Month),
    ("week", Clock::Week),
    ("isoYearIsoWeek", Clock::IsoYearIsoWeek),
    ("dayOfWeek", Clock::DayOfWeek),
];

/// Dimensions with a fixed set of values, and their default values (settings may replace
/// them, see [`super::Settings::dimension_values`]).
const VALUE_DIMENSIONS: &[(&str, &[&str])] = &[
    ("country", &["Germany", "France", "United Kingdom", "United States"]),
    ("countryId", &["DE", "FR", "GB", "US"]),
    (
        "region",
        &["Berlin", "Bavaria", "Île-de-France", "England", "California"],
    ),
    ("city", &["Berlin", "Munich", "Paris", "London", "San Francisco"]),
    ("language", &["English", "German", "French"]),
    ("deviceCategory", &["desktop", "mobile", "tablet"]),
    ("operatingSystem", &["Windows", "Macintosh", "iOS", "Android", "Linux"]),
    ("browser", &["Chrome", "Safari", "Firefox", "Edge"]),
    ("platform", &["web", "Android", "iOS"]),
    (
        "sessionDefaultChannelGroup",
        &[
            "Direct",
            "Organic Search",
            "Paid Search",
            "Email",
            "Referral",
            "Organic Social",
        ],
    ),
    (
        "sessionSource",
        &["(direct)", "google", "newsletter", "facebook.com", "bing"],
    ),
    ("sessionMedium", &["(none)", "organic", "cpc", "email", "referral"]),
    (
        "sessionSourceMedium",
        &[
            "(direct) / (none)",
            "google / organic",
            "google / cpc",
            "newsletter / email",
        ],
    ),
    (
        "sessionCampaignName",
        &["(not set)", "(organic)", "spring_sale", "brand_search"],
    ),
    (
        "sessionGoogleAdsCampaignName",
        &["(not set)", "Brand – Exact", "Generic – Broad"],
    ),
    (
        "firstUserDefaultChannelGroup",
        &["Direct", "Organic Search", "Paid Search", "Referral"],
    ),
    ("firstUserSource", &["(direct)", "google", "facebook.com"]),
    ("firstUserMedium", &["(none)", "organic", "cpc", "referral"]),
    ("firstUserCampaignName", &["(not set)", "(organic)", "spring_sale"]),
    ("newVsReturning", &["new", "returning"]),
    (
        "sessionPrimaryChannelGroup",
        &["Direct", "Organic Search", "Paid Search", "Email", "Referral"],
    ),
    ("continent", &["Europe", "Americas", "Asia"]),
    ("deviceModel", &["iPhone", "Pixel 8", "(not set)"]),
    ("pagePathPlusQueryString", &["/", "/pricing?plan=pro", "/signup"]),
    ("landingPage", &["/", "/pricing", "/blog/ga4-guide", "/signup"]),
    (
        "landingPagePlusQueryString",
        &["/", "/pricing?plan=pro", "/blog/ga4-guide", "/signup?ref=nav"],
    ),
    (
        "pagePath",
        &["/", "/pricing", "/blog/ga4-guide", "/signup", "/checkout"],
    ),
    (
        "pageTitle",
        &["Home", "Pricing", "A guide to GA4", "Sign up", "Checkout"],
    ),
    ("hostName", &["www.example.com", "shop.example.com"]),
    (
        "eventName",
        &["page_view", "session_start", "first_visit", "scroll", "purchase"],
    ),
    ("itemName", &["(not set)", "T-shirt", "Mug", "Sticker pack"]),
    ("itemCategory", &["(not set)", "Apparel", "Home"]),
    ("transactionId", &["(not set)", "T-1001", "T-1002"]),
];

/// The custom dimensions every sandbox property registered (Admin API custom definitions):
/// API name, UI name, values. Named as the Data API names them: `customEvent:` an
/// event-scoped parameter, `customUser:` a user property, `customItem:` an item parameter
/// (https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema#custom_dimensions).
const CUSTOM_DIMENSIONS: &[(&str, &str, &[&str])] = &[
    ("customEvent:plan_type", "Plan type", &["free", "pro", "enterprise"]),
    (
        "customUser:membership_tier",
        "Membership tier",
        &["bronze", "silver", "gold"],
    ),
    ("customItem:item_color", "Item color", &["(not set)", "red", "blue"]),
];

/// The custom metrics every sandbox property registered: API name and UI name. Their
/// formulas are in [`METRICS`].
const CUSTOM_METRICS: &[(&str, &str)] = &[("customEvent:credits_used", "Credits used")];

/// The additive numbers of a cell; every metric is one of them or a ratio of two.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    sessions: u64,
    active_users: u64,
    new_users: u64,
    total_users: u64,
    views: u64,
    engaged_sessions: u64,
    engagement_secs: u64,
    events: u64,
    key_events: u64,
    transactions: u64,
    add_to_carts: u64,
    checkouts: u64,
    items: u64,
    revenue_cents: u64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.sessions += other.sessions;
        self.active_users += other.active_users;
        self.new_users += other.new_users;
        self.total_users += other.total_users;
        self.views += other.views;
        self.engaged_sessions += other.engaged_sessions;
        self.engagement_secs += other.engagement_secs;
        self.events += other.events;
        self.key_events += other.key_events;
        self.transactions += other.transactions;
        self.add_to_carts += other.add_to_carts;
        self.checkouts += other.checkouts;
        self.items += other.items;
        self.revenue_cents += other.revenue_cents;
    }

    /// One cell's numbers: sessions in the range a small site sees per day (or hour), the
    /// rest in the proportions real properties show.
    fn draw(seed: u64, hourly: bool) -> Counts {
        let mut draw = Draws(seed);
        let sessions = if hourly {
            draw.between(0, 40)
        } else {
            draw.between(5, 600)
        };
        let active_users = sessions * draw.between(60, 95) / 100;
        let new_users = active_users * draw.between(20, 60) / 100;
        let engaged_sessions = sessions * draw.between(40, 80) / 100;
        let views = sessions * draw.between(100, 400) / 100;
        let key_events = sessions * draw.between(0, 6) / 100;
        let transactions = key_events / 2;
        Counts {
            sessions,
            active_users,
            new_users,
            total_users: active_users + active_users * draw.between(0, 10) / 100,
            views,
            engaged_sessions,
            engagement_secs: engaged_sessions * draw.between(20, 240),
            events: views * draw.between(200, 500) / 100,
            key_events,
            transactions,
            add_to_carts: key_events * draw.between(2, 5),
            checkouts: key_events * draw.between(1, 2),
            items: transactions * draw.between(1, 3),
            revenue_cents: transactions * draw.between(1_500, 15_000),
        }
    }
}

/// How a metric's value is made from [`Counts`].
#[derive(Debug, Clone, Copy)]
enum Formula {
    Count(fn(&Counts) -> u64),
    Cents(fn(&Counts) -> u64),
    /// numerator, denominator.
    Ratio(fn(&Counts) -> u64, fn(&Counts) -> u64),
}

/// Metric name, `MetricType`, formula.
const METRICS: &[(&str, &str, Formula)] = &[
    ("sessions", "TYPE_INTEGER", Formula::Count(|c| c.sessions)),
    ("activeUsers", "TYPE_INTEGER", Formula::Count(|c| c.active_users)),
    ("newUsers", "TYPE_INTEGER", Formula::Count(|c| c.new_users)),
    ("totalUsers", "TYPE_INTEGER", Formula::Count(|c| c.total_users)),
    ("screenPageViews", "TYPE_INTEGER", Formula::Count(|c| c.views)),
    (
        "engagedSessions",
        "TYPE_INTEGER",
        Formula::Count(|c| c.engaged_sessions),
    ),
    (
        "userEngagementDuration",
        "TYPE_SECONDS",
        Formula::Count(|c| c.engagement_secs),
    ),
    ("eventCount", "TYPE_INTEGER", Formula::Count(|c| c.events)),
    ("conversions", "TYPE_INTEGER", Formula::Count(|c| c.key_events)),
    ("keyEvents", "TYPE_INTEGER", Formula::Count(|c| c.key_events)),
    ("transactions", "TYPE_INTEGER", Formula::Count(|c| c.transactions)),
    ("ecommercePurchases", "TYPE_INTEGER", Formula::Count(|c| c.transactions)),
    ("addToCarts", "TYPE_INTEGER", Formula::Count(|c| c.add_to_carts)),
    ("checkouts", "TYPE_INTEGER", Formula::Count(|c| c.checkouts)),
    ("itemsPurchased", "TYPE_INTEGER", Formula::Count(|c| c.items)),
    ("totalRevenue", "TYPE_CURRENCY", Formula::Cents(|c| c.revenue_cents)),
    ("purchaseRevenue", "TYPE_CURRENCY", Formula::Cents(|c| c.revenue_cents)),
    ("itemRevenue", "TYPE_CURRENCY", Formula::Cents(|c| c.revenue_cents)),
    (
        "engagementRate",
        "TYPE_FLOAT",
        Formula::Ratio(|c| c.engaged_sessions, |c| c.sessions),
    ),
    (
        "bounceRate",
        "TYPE_FLOAT",
        Formula::Ratio(|c| c.sessions - c.engaged_sessions, |c| c.sessions),
    ),
    (
        "averageSessionDuration",
        "TYPE_SECONDS",
        Formula::Ratio(|c| c.engagement_secs, |c| c.sessions),
    ),
    (
        "sessionsPerUser",
        "TYPE_FLOAT",
        Formula::Ratio(|c| c.sessions, |c| c.active_users),
    ),
    (
        "screenPageViewsPerSession",
        "TYPE_FLOAT",
        Formula::Ratio(|c| c.views, |c| c.sessions),
    ),
    (
        "eventsPerSession",
        "TYPE_FLOAT",
        Formula::Ratio(|c| c.events, |c| c.sessions),
    ),
    (
        "screenPageViewsPerUser",
        "TYPE_FLOAT",
        Formula::Ratio(|c| c.views, |c| c.active_users),
    ),
    (
        "eventCountPerUser",
        "TYPE_FLOAT",
        Formula::Ratio(|c| c.events, |c| c.active_users),
    ),
    (
        "grossPurchaseRevenue",
        "TYPE_CURRENCY",
        Formula::Cents(|c| c.revenue_cents),
    ),
    (
        "averagePurchaseRevenue",
        "TYPE_CURRENCY",
        Formula::Ratio(|c| c.revenue_cents, |c| c.transactions * 100),
    ),
    (
        "averageRevenuePerUser",
        "TYPE_CURRENCY",
        Formula::Ratio(|c| c.revenue_cents, |c| c.active_users * 100),
    ),
    // Custom metrics ([`CUSTOM_METRICS`]).
    (
        "customEvent:credits_used",
        "TYPE_INTEGER",
        Formula::Count(|c| c.events / 4),
    ),
];

impl Formula {
    /// The value as the API writes it: integers bare, currency with cents, ratios with six
    /// decimals (computed in integers so the text never depends on float formatting).
    fn text(self, counts: &Counts) -> String {
        match self {
            Formula::Count(f) => f(counts).to_string(),
            Formula::Cents(f) => {
                let cents = f(counts);
                format!("{}.{:02}", cents / 100, cents % 100)
            }
            Formula::Ratio(num, den) => {
                ratio6(u128::from(num(counts)), u128::from(den(counts))).unwrap_or_else(|| "0".into())
            }
        }
    }

    /// The value as a number, for filters and ordering.
    fn number(self, counts: &Counts) -> f64 {
        match self {
            Formula::Count(f) => f(counts) as f64,
            Formula::Cents(f) => f(counts) as f64 / 100.0,
            Formula::Ratio(num, den) => match den(counts) {
                0 => 0.0,
                d => num(counts) as f64 / d as f64,
            },
        }
    }
}

fn metric(name: &str) -> Option<(&'static str, Formula)> {
    METRICS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, kind, formula)| (*kind, *formula))
}

fn clock(name: &str) -> Option<Clock> {
    TIME_DIMENSIONS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

fn is_dimension(name: &str) -> bool {
    clock(name).is_some()
        || VALUE_DIMENSIONS.iter().any(|(n, _)| *n == name)
        || CUSTOM_DIMENSIONS.iter().any(|(n, _, _)| *n == name)
}

/// A dimension or metric as `getMetadata` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// `apiName`.
    pub api_name: &'static str,
    /// `uiName`.
    pub ui_name: &'static str,
    /// `type` of a metric (`TYPE_INTEGER`, …); `None` for a dimension.
    pub metric_type: Option<&'static str>,
    /// `customDefinition`.
    pub custom: bool,
}

/// Every dimension a property of the sandbox serves, standard then custom.
pub fn dimensions() -> Vec<Described> {
    let standard = TIME_DIMENSIONS
        .iter()
        .map(|(n, _)| *n)
        .chain(VALUE_DIMENSIONS.iter().map(|(n, _)| *n))
        .map(|name| Described {
            api_name: name,
            ui_name: name,
            metric_type: None,
            custom: false,
        });
    let custom = CUSTOM_DIMENSIONS.iter().map(|(name, ui, _)| Described {
        api_name: name,
        ui_name: ui,
        metric_type: None,
        custom: true,
    });
    standard.chain(custom).collect()
}

/// Every metric a property of the sandbox serves, standard then custom.
pub fn metrics() -> Vec<Described> {
    METRICS
        .iter()
        .map(|(name, kind, _)| {
            let custom = CUSTOM_METRICS.iter().find(|(n, _)| n == name);
            Described {
                api_name: name,
                ui_name: custom.map_or(name, |(_, ui)| ui),
                metric_type: Some(kind),
                custom: custom.is_some(),
            }
        })
        .collect()
}

fn unknown_dimension(name: &str) -> String {
    format!("Field {name} is not a valid dimension. For a list of valid dimensions and metrics, see {SCHEMA_URL} ")
}

fn unknown_metric(name: &str) -> String {
    format!("Field {name} is not a valid metric. For a list of valid dimensions and metrics, see {SCHEMA_URL} ")
}

/// One row of a report: values in header order, as the API writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    /// `dimensionValues`.
    pub dimension_values: Vec<String>,
    /// `metricValues`.
    pub metric_values: Vec<String>,
}

/// A validated request's rows, ordered, before paging.
#[derive(Debug, Clone)]
pub struct Report {
    /// `dimensionHeaders` names.
    pub dimensions: Vec<String>,
    /// `metricHeaders` names and types.
    pub metrics: Vec<(String, &'static str)>,
    /// Every row, in response order (`rowCount` is their number).
    pub rows: Vec<ReportRow>,
    /// The page `limit` (validated).
    pub limit: usize,
    /// The page `offset` (validated).
    pub offset: usize,
}

/// The time of a cell: a day, and an hour when an hourly dimension is involved.
#[derive(Debug, Clone, Copy)]
struct Moment {
    day: NaiveDate,
    hour: Option<u32>,
}

impl Moment {
    fn value(self, clock: Clock) -> String {
        let day = self.day;
        match clock {
            Clock::Date => day.format("%Y%m%d").to_string(),
            Clock::DateHour => format!("{}{:02}", day.format("%Y%m%d"), self.hour.unwrap_or(0)),
            Clock::Year => day.year().to_string(),
            Clock::Month => format!("{:02}", day.month()),
            Clock::Week => day.format("%U").to_string(),
            Clock::IsoYearIsoWeek => format!("{}{:02}", day.iso_week().year(), day.iso_week().week()),
            Clock::DayOfWeek => day.weekday().num_days_from_sunday().to_string(),
        }
    }
}

impl Report {
    /// Validates `request` for `property` like the Data API and computes its rows; `today`
    /// resolves relative dates. An `Err` is the message of a 400 `INVALID_ARGUMENT`.
    pub fn new(
        property: u64,
        request: &RunReportRequest,
        values: &BTreeMap<String, Vec<String>>,
        today: NaiveDate,
    ) -> Result<Report, String> {
        if !request.metric_aggregations.is_empty() || !request.comparisons.is_empty() || request.cohort_spec.is_some() {
            return Err("metricAggregations, comparisons and cohortSpec are not served by the adsync sandbox".into());
        }
        let window = date_range(&request.date_ranges, today)?;
        let dimensions: Vec<String> = request.dimensions.iter().map(|d| d.name.clone()).collect();
        let metrics = request
            .metrics
            .iter()
            .map(|m| {
                metric(&m.name)
                    .map(|(kind, formula)| (m.name.clone(), kind, formula))
                    .ok_or_else(|| unknown_metric(&m.name))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(unknown) = dimensions.iter().find(|d| !is_dimension(d)) {
            return Err(unknown_dimension(unknown));
        }
        if dimensions.is_empty() && metrics.is_empty() {
            return Err("At least one dimension or metric is required.".into());
        }
        if dimensions.len() > MAX_DIMENSIONS {
            return Err(format!(
                "Requests are limited to {MAX_DIMENSIONS} dimensions; this request has {}.",
                dimensions.len()
            ));
        }
        if metrics.len() > MAX_METRICS {
            return Err(format!(
                "Requests are limited to {MAX_METRICS} metrics; this request has {}.",
                metrics.len()
            ));
        }
        let (limit, offset) = paging(request)?;
        let mut filtered_dimensions = Vec::new();
        if let Some(filter) = &request.dimension_filter {
            filter.check("dimension_filter", &mut |f| {
                check_dimension_filter(f, &mut filtered_dimensions)
            })?;
        }
        if let Some(filter) = &request.metric_filter {
            filter.check("metric_filter", &mut check_metric_filter)?;
        }
        let order = order(&request.order_bys, &dimensions, &metrics)?;

        let groups = aggregate(property, request, &dimensions, filtered_dimensions, values, window)?;
        let mut rows: Vec<(Vec<String>, Counts)> = groups
            .into_iter()
            .filter(|(_, counts)| {
                request.keep_empty_rows
                    || metrics.is_empty()
                    || metrics.iter().any(|(_, _, formula)| formula.number(counts) != 0.0)
            })
            .filter(|(_, counts)| {
                request.metric_filter.as_ref().is_none_or(|filter| {
                    filter.matches(&|f| {
                        let (_, formula) = metric(&f.field_name).expect("metric filters are checked");
                        metric_matches(f, formula.number(counts))
                    })
                })
            })
            .collect();
        rows.sort_by(|a, b| order.compare(a, b));
        Ok(Report {
            dimensions,
            metrics: metrics.iter().map(|(name, kind, _)| (name.clone(), *kind)).collect(),
            rows: rows
                .into_iter()
                .map(|(dimension_values, counts)| ReportRow {
                    dimension_values,
                    metric_values: metrics.iter().map(|(_, _, formula)| formula.text(&counts)).collect(),
                })
                .collect(),
            limit,
            offset,
        })
    }

    /// The rows of the requested page.
    pub fn page(&self) -> &[ReportRow] {
        let start = self.offset.min(self.rows.len());
        let end = start.saturating_add(self.limit).min(self.rows.len());
        &self.rows[start..end]
    }
}

/// The validated `limit` (0 or absent: the default) and `offset`.
fn paging(request: &RunReportRequest) -> Result<(usize, usize), String> {
    let limit = match &request.limit {
        None => DEFAULT_LIMIT,
        Some(limit) => limit.value("limit")?,
    };
    let limit = if limit == 0 { DEFAULT_LIMIT } else { limit };
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(format!(
            "limit must be positive and at most {MAX_LIMIT}; the request's limit is {limit}."
        ));
    }
    let offset = request
        .offset
        .as_ref()
        .map(|o| o.value("offset"))
        .transpose()?
        .unwrap_or(0);
    if offset < 0 {
        return Err(format!(
            "offset must not be negative; the request's offset is {offset}."
        ));
    }
    Ok((limit as usize, usize::try_from(offset).unwrap_or(usize::MAX)))
}

/// The rows' numbers by their dimension values: every (moment, combination of values) cell
/// the dimensions and the dimension filter involve is drawn, filtered, and added to its row.
fn aggregate(
    property: u64,
    request: &RunReportRequest,
    dimensions: &[String],
    filtered_dimensions: Vec<String>,
    values: &BTreeMap<String, Vec<String>>,
    window: DateWindow,
) -> Result<HashMap<Vec<String>, Counts>, String> {
    // Every dimension the rows or the filter look at, each once.
    let mut involved: Vec<String> = dimensions.to_vec();
    for name in filtered_dimensions {
        if !involved.contains(&name) {
            involved.push(name);
        }
    }
    let hourly = involved.iter().any(|d| clock(d) == Some(Clock::DateHour));
    let value_dimensions: Vec<(&str, Vec<String>)> = involved
        .iter()
        .filter(|d| clock(d).is_none())
        .map(|d| (d.as_str(), dimension_values(d, values)))
        .collect();
    let moments: Vec<Moment> = window
        .iter_days()
        .flat_map(|day| {
            let hours: Vec<Option<u32>> = if hourly {
                (0..24).map(Some).collect()
            } else {
                vec![None]
            };
            hours.into_iter().map(move |hour| Moment { day, hour })
        })
        .collect();
    let combos: u64 = value_dimensions.iter().map(|(_, v)| v.len() as u64).product();
    if combos.saturating_mul(moments.len() as u64) > MAX_CELLS {
        return Err("Request exceeds the adsync sandbox's size limit; request fewer days or dimensions.".into());
    }

    let mut groups: HashMap<Vec<String>, Counts> = HashMap::new();
    let mut picks = vec![0usize; value_dimensions.len()];
    for moment in &moments {
        for combo in 0..combos {
            let mut rest = combo;
            for (pick, (_, list)) in picks.iter_mut().zip(&value_dimensions) {
                *pick = (rest % list.len() as u64) as usize;
                rest /= list.len() as u64;
            }
            let value_of = |name: &str| -> Option<String> {
                if let Some(clock) = clock(name) {
                    return Some(moment.value(clock));
                }
                value_dimensions
                    .iter()
                    .zip(&picks)
                    .find(|((n, _), _)| *n == name)
                    .map(|((_, list), pick)| list[*pick].clone())
            };
            if let Some(filter) = &request.dimension_filter {
                if !filter.matches(&|f| dimension_matches(f, value_of(&f.field_name).as_deref().unwrap_or(""))) {
                    continue;
                }
            }
            let key: Vec<String> = dimensions.iter().map(|d| value_of(d).unwrap_or_default()).collect();
            // Summed, not folded: the seed must not depend on the order dimensions are
            // listed in, nor on whether the rows or only the filter name them.
            let values_seed = value_dimensions
                .iter()
                .zip(&picks)
                .fold(0u64, |sum, ((name, list), pick)| {
                    sum.wrapping_add(fold(text_hash(name), text_hash(&list[*pick])))
                });
            let seed = fold(cell_seed(property, *moment), values_seed);
            groups.entry(key).or_default().add(&Counts::draw(seed, hourly));
        }
    }
    Ok(groups)
}

/// The values of a value dimension: the settings' list, else the built-in one.
fn dimension_values(name: &str, settings: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    if let Some(list) = settings.get(name).filter(|l| !l.is_empty()) {
        return list.clone();
    }
    VALUE_DIMENSIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, list)| *list)
        .or_else(|| {
            CUSTOM_DIMENSIONS
                .iter()
                .find(|(n, _, _)| *n == name)
                .map(|(_, _, list)| *list)
        })
        .map(|list| list.iter().map(|v| v.to_string()).collect())
        .unwrap_or_default()
}

fn cell_seed(property: u64, moment: Moment) -> u64 {
    let hour = moment.hour.map_or(0, |h| u64::from(h) + 1);
    [property, moment.day.num_days_from_ce() as u64, hour]
        .into_iter()
        .fold(0x6a4_da7a, fold)
}

/// FNV-1a: a stable hash of a dimension name or value.
fn text_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The one date range, resolved.
fn date_range(ranges: &[DateRangeSpec], today: NaiveDate) -> Result<DateWindow, String> {
    let range = match ranges {
        [] => return Err("A request must specify at least one date range (dateRanges).".into()),
        [one] => one,
        _ => return Err("The adsync sandbox serves one date range per request.".into()),
    };
    let start = relative_date(&range.start_date, today)?;
    let end = relative_date(&range.end_date, today)?;
    let first = NaiveDate::from_ymd_opt(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2).expect("a valid date");
    if start < first {
        return Err(format!("Date range start date must be on or after {first}."));
    }
    if end < start {
        return Err(format!(
            "Invalid date range: the start date {start} is after the end date {end}."
        ));
    }
    Ok(DateWindow::new(start, end))
}

fn relative_date(text: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let days_ago = |n: u64| today.checked_sub_days(chrono::Days::new(n));
    let date = match text {
        "today" => Some(today),
        "yesterday" => days_ago(1),
        _ => match text.strip_suffix("daysAgo").and_then(|n| n.parse::<u64>().ok()) {
            Some(n) => days_ago(n),
            None => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok(),
        },
    };
    date.ok_or_else(|| format!("Invalid date: \"{text}\". Dates must be YYYY-MM-DD, today, yesterday or NdaysAgo."))
}

impl FilterExpression {
    /// Checks the expression's shape and every field filter with `leaf`.
    fn check(&self, at: &str, leaf: &mut dyn FnMut(&FieldFilter) -> Result<(), String>) -> Result<(), String> {
        let members = [
            self.and_group.is_some(),
            self.or_group.is_some(),
            self.not_expression.is_some(),
            self.filter.is_some(),
        ];
        if members.iter().filter(|m| **m).count() != 1 {
            return Err(format!(
                "Invalid {at}: a FilterExpression must have exactly one of andGroup, orGroup, notExpression, filter."
            ));
        }
        for group in [&self.and_group, &self.or_group].into_iter().flatten() {
            for expression in &group.expressions {
                expression.check(at, leaf)?;
            }
        }
        if let Some(inner) = &self.not_expression {
            inner.check(at, leaf)?;
        }
        if let Some(filter) = &self.filter {
            let kinds = [
                filter.string_filter.is_some(),
                filter.in_list_filter.is_some(),
                filter.numeric_filter.is_some(),
                filter.between_filter.is_some(),
            ];
            if kinds.iter().filter(|k| **k).count() != 1 {
                return Err(format!(
                    "Invalid {at} on {}: a filter must have exactly one of stringFilter, inListFilter, numericFilter, betweenFilter.",
                    filter.field_name
                ));
            }
            leaf(filter)?;
        }
        Ok(())
    }

    /// Whether the expression holds, `leaf` deciding each field filter.
    fn matches(&self, leaf: &dyn Fn(&FieldFilter) -> bool) -> bool {
        if let Some(group) = &self.and_group {
            return group.expressions.iter().all(|e| e.matches(leaf));
        }
        if let Some(group) = &self.or_group {
            return group.expressions.iter().any(|e| e.matches(leaf));
        }
        if let Some(inner) = &self.not_expression {
            return !inner.matches(leaf);
        }
        self.filter.as_ref().is_none_or(leaf)
    }
}

const MATCH_TYPES: [&str; 4] = ["EXACT", "BEGINS_WITH", "ENDS_WITH", "CONTAINS"];
const OPERATIONS: [&str; 5] = [
    "EQUAL",
    "LESS_THAN",
    "LESS_THAN_OR_EQUAL",
    "GREATER_THAN",
    "GREATER_THAN_OR_EQUAL",
];

fn check_dimension_filter(filter: &FieldFilter, seen: &mut Vec<String>) -> Result<(), String> {
    let name = &filter.field_name;
    if !is_dimension(name) {
        return Err(unknown_dimension(name));
    }
    if filter.numeric_filter.is_some() || filter.between_filter.is_some() {
        return Err(format!(
            "The dimension filter on {name} must be a stringFilter or inListFilter; numeric filters apply to metrics."
        ));
    }
    if let Some(string) = &filter.string_filter {
        let match_type = string.match_type.as_deref().unwrap_or("EXACT");
        if match_type.ends_with("REGEXP") {
            return Err(format!("{match_type} is not evaluated by the adsync sandbox."));
        }
        if !MATCH_TYPES.contains(&match_type) {
            return Err(format!(
                "Invalid value at 'dimension_filter.filter.string_filter.match_type' (type.googleapis.com/google.analytics.data.v1beta.Filter.StringFilter.MatchType), \"{match_type}\""
            ));
        }
    }
    seen.push(name.clone());
    Ok(())
}

fn check_metric_filter(filter: &FieldFilter) -> Result<(), String> {
    let name = &filter.field_name;
    if metric(name).is_none() {
        return Err(unknown_metric(name));
    }
    if filter.string_filter.is_some() || filter.in_list_filter.is_some() {
        return Err(format!(
            "The metric filter on {name} must be a numericFilter or betweenFilter; string filters apply to dimensions."
        ));
    }
    let values: Vec<&NumericValue> = match (&filter.numeric_filter, &filter.between_filter) {
        (Some(numeric), _) => {
            if !OPERATIONS.contains(&numeric.operation.as_str()) {
                return Err(format!(
                    "Invalid value at 'metric_filter.filter.numeric_filter.operation' (type.googleapis.com/google.analytics.data.v1beta.Filter.NumericFilter.Operation), \"{}\"",
                    numeric.operation
                ));
            }
            vec![&numeric.value]
        }
        (None, Some(between)) => vec![&between.from_value, &between.to_value],
        (None, None) => Vec::new(),
    };
    for value in values {
        value.number()?;
    }
    Ok(())
}

impl NumericValue {
    fn number(&self) -> Result<f64, String> {
        match (&self.int64_value, self.double_value) {
            (Some(int), None) => int.value("int64_value").map(|n| n as f64),
            (None, Some(double)) => Ok(double),
            _ => Err("A NumericValue must have exactly one of int64Value, doubleValue.".into()),
        }
    }
}

fn dimension_matches(filter: &FieldFilter, value: &str) -> bool {
    let fold_case = |text: &str, sensitive: bool| {
        if sensitive {
            text.to_string()
        } else {
            text.to_lowercase()
        }
    };
    if let Some(list) = &filter.in_list_filter {
        let value = fold_case(value, list.case_sensitive);
        return list.values.iter().any(|v| fold_case(v, list.case_sensitive) == value);
    }
    let Some(string) = &filter.string_filter else {
        return false;
    };
    let (value, wanted) = (
        fold_case(value, string.case_sensitive),
        fold_case(&string.value, string.case_sensitive),
    );
    match string.match_type.as_deref().unwrap_or("EXACT") {
        "BEGINS_WITH" => value.starts_with(&wanted),
        "ENDS_WITH" => value.ends_with(&wanted),
        "CONTAINS" => value.contains(&wanted),
        _ => value == wanted,
    }
}

fn metric_matches(filter: &FieldFilter, value: f64) -> bool {
    // Values were checked when the request was.
    let number = |v: &NumericValue| v.number().unwrap_or(f64::NAN);
    if let Some(between) = &filter.between_filter {
        return number(&between.from_value) <= value && value <= number(&between.to_value);
    }
    let Some(numeric) = &filter.numeric_filter else {
        return false;
    };
    let wanted = number(&numeric.value);
    match numeric.operation.as_str() {
        "EQUAL" => value == wanted,
        "LESS_THAN" => value < wanted,
        "LESS_THAN_OR_EQUAL" => value <= wanted,
        "GREATER_THAN" => value > wanted,
        _ => value >= wanted,
    }
}

/// What rows are sorted by.
enum Key {
    /// Dimension position, order type.
    Dimension(usize, DimensionOrderType),
    /// Metric formula.
    Metric(Formula),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DimensionOrderType {
    Alphanumeric,
    CaseInsensitive,
    Numeric,
}

struct Order(Vec<(Key, bool)>);

/// The row order of `order_bys`; rows equal under it (or all rows, without it) follow by
/// the first metric descending, then the dimensions ascending, so every order is total.
fn order(order_bys: &[OrderBy], dimensions: &[String], metrics: &[(String, &str, Formula)]) -> Result<Order, String> {
    let mut keys = Vec::new();
    for order_by in order_bys {
        let key = match (&order_by.dimension, &order_by.metric) {
            (Some(dimension), None) => {
                let name = &dimension.dimension_name;
                let index = dimensions
                    .iter()
                    .position(|d| d == name)
                    .ok_or_else(|| format!("Field {name} in orderBys must also be one of the request's dimensions."))?;
                let order_type = match dimension.order_type.as_deref().unwrap_or("ALPHANUMERIC") {
                    "ALPHANUMERIC" => DimensionOrderType::Alphanumeric,
                    "CASE_INSENSITIVE_ALPHANUMERIC" => DimensionOrderType::CaseInsensitive,
                    "NUMERIC" => DimensionOrderType::Numeric,
                    other => return Err(format!(
                        "Invalid value at 'order_bys.dimension.order_type' (type.googleapis.com/google.analytics.data.v1beta.OrderBy.DimensionOrderBy.OrderType), \"{other}\""
                    )),
                };
                Key::Dimension(index, order_type)
            }
            (None, Some(metric)) => {
                let name = &metric.metric_name;
                let (_, _, formula) = metrics
                    .iter()
                    .find(|(m, _, _)| m == name)
                    .ok_or_else(|| format!("Field {name} in orderBys must also be one of the request's metrics."))?;
                Key::Metric(*formula)
            }
            _ => return Err("An OrderBy must have exactly one of dimension, metric.".into()),
        };
        keys.push((key, order_by.desc));
    }
    if let Some((_, _, formula)) = metrics.first() {
        keys.push((Key::Metric(*formula), true));
    }
    keys.extend((0..dimensions.len()).map(|i| (Key::Dimension(i, DimensionOrderType::Alphanumeric), false)));
    Ok(Order(keys))
}

impl Order {
    fn compare(&self, a: &(Vec<String>, Counts), b: &(Vec<String>, Counts)) -> std::cmp::Ordering {
        for (key, desc) in &self.0 {
            let ordering = match key {
                Key::Dimension(i, DimensionOrderType::Alphanumeric) => a.0[*i].cmp(&b.0[*i]),
                Key::Dimension(i, DimensionOrderType::CaseInsensitive) => {
                    a.0[*i].to_lowercase().cmp(&b.0[*i].to_lowercase())
                }
                Key::Dimension(i, DimensionOrderType::Numeric) => {
                    let number = |s: &str| s.parse::<f64>().unwrap_or(f64::NEG_INFINITY);
                    number(&a.0[*i]).total_cmp(&number(&b.0[*i]))
                }
                Key::Metric(formula) => formula.number(&a.1).total_cmp(&formula.number(&b.1)),
            };
            let ordering = if *desc { ordering.reverse() } else { ordering };
            if ordering.is_ne() {
                return ordering;
            }
        }
        std::cmp::Ordering::Equal
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const PROPERTY: u64 = 123_456_789;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 10).unwrap()
    }

    fn request(body: serde_json::Value) -> RunReportRequest {
        serde_json::from_value(body).unwrap()
    }

    fn report(body: serde_json::Value) -> Report {
        Report::new(PROPERTY, &request(body), &BTreeMap::new(), today()).unwrap()
    }

    fn body(dimensions: &[&str], metrics: &[&str]) -> serde_json::Value {
        json!({
            "dateRanges": [{"startDate": "2026-03-01", "endDate": "2026-03-07"}],
            "dimensions": dimensions.iter().map(|d| json!({"name": d})).collect::<Vec<_>>(),
            "metrics": metrics.iter().map(|m| json!({"name": m})).collect::<Vec<_>>(),
        })
    }

    fn cells(report: &Report) -> Vec<Vec<String>> {
        report
            .rows
            .iter()
            .map(|r| r.dimension_values.iter().chain(&r.metric_values).cloned().collect())
            .collect()
    }

    /// Sessions per value of the first dimension, summed over the rest.
    fn sessions_by_first(report: &Report) -> BTreeMap<String, u64> {
        let mut sums = BTreeMap::new();
        for row in &report.rows {
            *sums.entry(row.dimension_values[0].clone()).or_default() += row.metric_values[0].parse::<u64>().unwrap();
        }
        sums
    }

    #[test]
    fn the_documented_request_is_served() {
        // api-facts §6, verbatim.
        let facts = r#"{"dateRanges":[{"startDate":"2025-03-01","endDate":"yesterday"}],
 "dimensions":[{"name":"date"},{"name":"sessionDefaultChannelGroup"}],
 "metrics":[{"name":"sessions"},{"name":"activeUsers"}],
 "limit":"10000","offset":"0","returnPropertyQuota":true}"#;
        let request: RunReportRequest = serde_json::from_str(facts).unwrap();
        let report = Report::new(PROPERTY, &request, &BTreeMap::new(), today()).unwrap();
        // 2025-03-01 to 2026-03-09: 374 days of six channels.
        assert_eq!(report.rows.len(), 374 * 6);
        assert_eq!((report.limit, report.offset), (10_000, 0));
        assert_eq!(
            report.metrics,
            [
                ("sessions".into(), "TYPE_INTEGER"),
                ("activeUsers".into(), "TYPE_INTEGER")
            ]
        );
    }

    #[test]
    fn rows_are_a_pure_function_of_property_days_and_values() {
        let a = report(body(
            &["date", "country"],
            &["sessions", "engagementRate", "totalRevenue"],
        ));
        let b = report(body(
            &["date", "country"],
            &["sessions", "engagementRate", "totalRevenue"],
        ));
        assert_eq!(cells(&a), cells(&b));
        assert_eq!(a.rows.len(), 7 * 4);
        let other = Report::new(
            234_567_890,
            &request(body(&["date", "country"], &["sessions"])),
            &BTreeMap::new(),
            today(),
        )
        .unwrap();
        assert_ne!(sessions_by_first(&other), sessions_by_first(&a));
        let row = &a.rows[0];
        let rate: f64 = row.metric_values[1].parse().unwrap();
        assert!(
            (0.0..=1.0).contains(&rate) && row.metric_values[1].len() == 8,
            "{row:?}"
        );
        assert!(row.metric_values[2].contains('.'), "{row:?}");
    }

    #[test]
    fn a_total_is_the_sum_of_its_days() {
        let total = report(body(&["deviceCategory"], &["sessions"]));
        let daily = report(body(&["deviceCategory", "date"], &["sessions"]));
        assert_eq!(total.rows.len(), 3);
        assert_eq!(sessions_by_first(&total), sessions_by_first(&daily));
    }

    #[test]
    fn dimension_filters_may_name_dimensions_the_rows_do_not_have() {
        let mut filtered = body(&["deviceCategory"], &["sessions"]);
        filtered["dimensionFilter"] =
            json!({"filter": {"fieldName": "country", "stringFilter": {"matchType": "EXACT", "value": "germany"}}});
        let by_country = report(body(&["country", "deviceCategory"], &["sessions"]));
        let germany: BTreeMap<String, u64> = by_country
            .rows
            .iter()
            .filter(|r| r.dimension_values[0] == "Germany")
            .map(|r| (r.dimension_values[1].clone(), r.metric_values[0].parse().unwrap()))
            .collect();
        assert_eq!(sessions_by_first(&report(filtered.clone())), germany);
        // Case-sensitive, "germany" matches nothing.
        filtered["dimensionFilter"]["filter"]["stringFilter"]["caseSensitive"] = json!(true);
        assert!(report(filtered).rows.is_empty());
    }

    #[test]
    fn groups_lists_and_negation_combine() {
        let mut b = body(&["country", "deviceCategory"], &["sessions"]);
        b["dimensionFilter"] = json!({"andGroup": {"expressions": [
            {"filter": {"fieldName": "country", "inListFilter": {"values": ["France", "Germany"], "caseSensitive": true}}},
            {"notExpression": {"filter": {"fieldName": "deviceCategory", "stringFilter": {"matchType": "CONTAINS", "value": "TAB"}}}},
        ]}});
        let kept: Vec<(String, String)> = report(b)
            .rows
            .iter()
            .map(|r| (r.dimension_values[0].clone(), r.dimension_values[1].clone()))
            .collect();
        assert_eq!(kept.len(), 4);
        assert!(
            kept.iter()
                .all(|(c, d)| (c == "France" || c == "Germany") && d != "tablet"),
            "{kept:?}"
        );
    }

    #[test]
    fn metric_filters_apply_to_aggregated_rows() {
        let all = report(body(&["date"], &["sessions"]));
        let threshold = all.rows[3].metric_values[0].parse::<u64>().unwrap();
        let mut b = body(&["date"], &["sessions"]);
        b["metricFilter"] = json!({"filter": {"fieldName": "sessions",
            "numericFilter": {"operation": "GREATER_THAN_OR_EQUAL", "value": {"int64Value": threshold.to_string()}}}});
        let kept = report(b);
        let expected = all
            .rows
            .iter()
            .filter(|r| r.metric_values[0].parse::<u64>().unwrap() >= threshold)
            .count();
        assert_eq!(kept.rows.len(), expected);
        // Rows come by sessions, most first: the filter keeps the first four (and no more
        // with this data, so it did drop rows).
        assert_eq!(expected, 4);
        let mut between = body(&["date"], &["sessions"]);
        between["metricFilter"] = json!({"filter": {"fieldName": "engagementRate",
            "betweenFilter": {"fromValue": {"doubleValue": 0.0}, "toValue": {"doubleValue": 1.0}}}});
        assert_eq!(report(between).rows.len(), 7);
    }

    #[test]
    fn order_bys_order_and_the_rest_is_total() {
        let mut b = body(&["date", "deviceCategory"], &["sessions"]);
        b["orderBys"] = json!([{"dimension": {"dimensionName": "date"}, "desc": true},
                               {"metric": {"metricName": "sessions"}}]);
        let rows = report(b).rows;
        for pair in rows.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            assert!(a.dimension_values[0] >= b.dimension_values[0]);
            if a.dimension_values[0] == b.dimension_values[0] {
                let number = |r: &ReportRow| r.metric_values[0].parse::<u64>().unwrap();
                assert!(number(a) <= number(b));
            }
        }
        assert_eq!(rows[0].dimension_values[0], "20260307");
        // Without orderBys: first metric descending.
        let rows = report(body(&["date"], &["sessions"])).rows;
        let sessions: Vec<u64> = rows.iter().map(|r| r.metric_values[0].parse().unwrap()).collect();
        assert!(sessions.windows(2).all(|w| w[0] >= w[1]), "{sessions:?}");
    }

    #[test]
    fn empty_rows_are_left_out_unless_kept() {
        let mut hourly = body(&["dateHour"], &["sessions"]);
        hourly["dateRanges"] = json!([{"startDate": "2026-01-01", "endDate": "2026-01-31"}]);
        let without = report(hourly.clone()).rows.len();
        hourly["keepEmptyRows"] = json!(true);
        let with = report(hourly).rows.len();
        assert_eq!(with, 31 * 24);
        assert!(without < with, "some hour of a month has no sessions");
    }

    #[test]
    fn time_dimensions_have_the_api_forms() {
        let b = json!({
            "dateRanges": [{"startDate": "2026-03-01", "endDate": "2026-03-01"}],
            "dimensions": [{"name": "date"}, {"name": "year"}, {"name": "month"}, {"name": "dayOfWeek"}, {"name": "isoYearIsoWeek"}],
            "metrics": [{"name": "sessions"}],
        });
        // 1 March 2026 is a Sunday, in ISO week 9.
        assert_eq!(
            report(b).rows[0].dimension_values,
            ["20260301", "2026", "03", "0", "202609"]
        );
        let mut hourly = body(&["dateHour"], &["sessions"]);
        hourly["keepEmptyRows"] = json!(true);
        assert_eq!(
            report(hourly)
                .rows
                .iter()
                .filter(|r| r.dimension_values[0] == "2026030114")
                .count(),
            1
        );
    }

    #[test]
    fn settings_replace_dimension_values_and_relative_dates_follow_today() {
        let values: BTreeMap<String, Vec<String>> = [("country".to_string(), vec!["Spain".to_string()])].into();
        let mut b = body(&["country"], &["sessions"]);
        b["dateRanges"] = json!([{"startDate": "7daysAgo", "endDate": "today"}]);
        let report = Report::new(PROPERTY, &request(b), &values, today()).unwrap();
        assert_eq!(report.rows.len(), 1);
        assert_eq!(report.rows[0].dimension_values, ["Spain"]);
        assert_eq!(
            relative_date("yesterday", today()),
            Ok(NaiveDate::from_ymd_opt(2026, 3, 9).unwrap())
        );
        assert!(relative_date("lastweek", today()).is_err());
    }

    #[test]
    fn paging_slices_the_rows() {
        let mut b = body(&["date"], &["sessions"]);
        b["limit"] = json!(3);
        b["offset"] = json!("6");
        let report = report(b);
        assert_eq!(report.page(), &report.rows[6..7]);
        let rejected = |change: serde_json::Value| {
            let mut b = body(&["date"], &["sessions"]);
            b.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
            Report::new(PROPERTY, &request(b), &BTreeMap::new(), today()).unwrap_err()
        };
        assert!(rejected(json!({"limit": "250001"})).contains("at most 250000"));
        assert!(rejected(json!({"limit": "-1"})).contains("must be positive"));
        assert!(rejected(json!({"offset": "x"})).starts_with("Invalid value at 'offset'"));
        assert!(rejected(json!({"metricAggregations": ["TOTAL"]})).contains("not served"));
        assert!(rejected(json!({"dateRanges": []})).contains("at least one date range"));
        assert!(rejected(json!({"dimensions": [], "metrics": []})).contains("At least one dimension or metric"));
    }

    #[test]
    fn malformed_filters_and_orders_are_refused() {
        let rejected = |key: &str, value: serde_json::Value| {
            let mut b = body(&["date", "country"], &["sessions"]);
            b[key] = value;
            Report::new(PROPERTY, &request(b), &BTreeMap::new(), today()).unwrap_err()
        };
        let e = rejected(
            "metricFilter",
            json!({"filter": {"fieldName": "country", "numericFilter": {"operation": "EQUAL", "value": {"int64Value": "1"}}}}),
        );
        assert!(e.starts_with("Field country is not a valid metric."), "{e}");
        let e = rejected(
            "metricFilter",
            json!({"filter": {"fieldName": "sessions", "numericFilter": {"operation": "MORE", "value": {"int64Value": "1"}}}}),
        );
        assert!(e.contains("numeric_filter.operation"), "{e}");
        let e = rejected(
            "dimensionFilter",
            json!({"filter": {"fieldName": "country", "stringFilter": {"matchType": "FULL_REGEXP", "value": "G.*"}}}),
        );
        assert!(e.contains("not evaluated by the adsync sandbox"), "{e}");
        let e = rejected("dimensionFilter", json!({"filter": {"fieldName": "country"}}));
        assert!(e.contains("exactly one of stringFilter"), "{e}");
        let e = rejected("dimensionFilter", json!({}));
        assert!(e.contains("exactly one of andGroup"), "{e}");
        let e = rejected("orderBys", json!([{"dimension": {"dimensionName": "city"}}]));
        assert!(e.contains("city in orderBys"), "{e}");
    }
}
