//! The LinkedIn sandbox's data function: what `adAnalytics` answers for a query.
//!
//! Every ad account has campaign groups, each with campaigns, each with creatives. Numbers
//! are drawn per (creative, day) from a hash of both, and every coarser row is the sum of
//! the creatives under it that the query's facets keep, so facets narrow account or group
//! rows the way they do on LinkedIn. Some creatives have quiet days without any activity,
//! and LinkedIn leaves such rows out, so the sandbox does too. Nothing is stored: tests
//! call [`analytics`] to get the exact rows a report must hold. Like the Meta data, this
//! shares no list with the client (`sources::linkedin_ads`), so it cannot agree with the
//! client's mistakes.

use chrono::{Datelike, NaiveDate};
use serde_json::{json, Value};

use crate::draws::{fold, Draws};
use crate::window::DateWindow;

/// Children per parent that keep ids unique (their indices are written in two digits).
pub const MAX_CHILDREN: u32 = 99;

/// How many entities each ad account has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Campaign groups per account.
    pub groups: u32,
    /// Campaigns per group.
    pub campaigns: u32,
    /// Creatives per campaign.
    pub creatives: u32,
}

/// What a row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pivot {
    /// `ACCOUNT`.
    Account,
    /// `CAMPAIGN_GROUP`.
    CampaignGroup,
    /// `CAMPAIGN`.
    Campaign,
    /// `CREATIVE`.
    Creative,
}

impl Pivot {
    /// The pivot named `name`, among those the sandbox serves.
    pub fn parse(name: &str) -> Option<Pivot> {
        Some(match name {
            "ACCOUNT" => Pivot::Account,
            "CAMPAIGN_GROUP" => Pivot::CampaignGroup,
            "CAMPAIGN" => Pivot::Campaign,
            "CREATIVE" => Pivot::Creative,
            _ => return None,
        })
    }

    /// The URN prefix of its entities.
    pub fn urn_prefix(self) -> &'static str {
        match self {
            Pivot::Account => "urn:li:sponsoredAccount:",
            Pivot::CampaignGroup => "urn:li:sponsoredCampaignGroup:",
            Pivot::Campaign => "urn:li:sponsoredCampaign:",
            Pivot::Creative => "urn:li:sponsoredCreative:",
        }
    }
}

/// A creative's place in its account: 1-based group, campaign and creative numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Path {
    group: u32,
    campaign: u32,
    creative: u32,
}

/// The id of the entity at `pivot` that holds the creative at `path`: a level digit, the
/// indices in two digits each, then the account, so ids never collide across levels or
/// accounts.
fn entity_id(account: u64, pivot: Pivot, path: Path) -> String {
    let Path {
        group,
        campaign,
        creative,
    } = path;
    match pivot {
        Pivot::Account => account.to_string(),
        Pivot::CampaignGroup => format!("6{group:02}{account}"),
        Pivot::Campaign => format!("7{group:02}{campaign:02}{account}"),
        Pivot::Creative => format!("8{group:02}{campaign:02}{creative:02}{account}"),
    }
}

/// How a metric is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Impressions,
    Clicks,
    /// A share of the clicks.
    OfClicks,
    /// A share of the impressions.
    OfImpressions,
    /// Spend in the account currency, in cents.
    Cost,
    /// Spend in US dollars, in cents.
    CostUsd,
    /// Conversion value in the account currency, in cents.
    ConversionValue,
    /// A ratio in ten-thousandths, sent as a JSON double.
    Ratio,
}

/// The metrics the sandbox serves, as adAnalytics names them.
const METRICS: &[(&str, Kind)] = &[
    ("impressions", Kind::Impressions),
    ("clicks", Kind::Clicks),
    ("costInLocalCurrency", Kind::Cost),
    ("costInUsd", Kind::CostUsd),
    ("conversionValueInLocalCurrency", Kind::ConversionValue),
    ("landingPageClicks", Kind::OfClicks),
    ("externalWebsiteConversions", Kind::OfClicks),
    ("externalWebsitePostClickConversions", Kind::OfClicks),
    ("externalWebsitePostViewConversions", Kind::OfClicks),
    ("oneClickLeads", Kind::OfClicks),
    ("oneClickLeadFormOpens", Kind::OfClicks),
    ("companyPageClicks", Kind::OfClicks),
    ("actionClicks", Kind::OfClicks),
    ("adUnitClicks", Kind::OfClicks),
    ("textUrlClicks", Kind::OfClicks),
    ("likes", Kind::OfImpressions),
    ("reactions", Kind::OfImpressions),
    ("shares", Kind::OfImpressions),
    ("comments", Kind::OfImpressions),
    ("follows", Kind::OfImpressions),
    ("totalEngagements", Kind::OfImpressions),
    ("otherEngagements", Kind::OfImpressions),
    ("videoViews", Kind::OfImpressions),
    ("videoStarts", Kind::OfImpressions),
    ("videoFirstQuartileCompletions", Kind::OfImpressions),
    ("videoMidpointCompletions", Kind::OfImpressions),
    ("videoThirdQuartileCompletions", Kind::OfImpressions),
    ("videoCompletions", Kind::OfImpressions),
    ("fullScreenPlays", Kind::OfImpressions),
    ("opens", Kind::OfImpressions),
    ("sends", Kind::OfImpressions),
    ("viralImpressions", Kind::OfImpressions),
    ("viralClicks", Kind::OfClicks),
    // Drawn after the ones above, so adding them changed none of their values.
    ("cardClicks", Kind::OfClicks),
    ("downloadClicks", Kind::OfClicks),
    ("jobApplications", Kind::OfClicks),
    ("jobApplyClicks", Kind::OfClicks),
    ("leadGenerationMailContactInfoShares", Kind::OfClicks),
    ("leadGenerationMailInterestedClicks", Kind::OfClicks),
    ("postClickJobApplications", Kind::OfClicks),
    ("postClickJobApplyClicks", Kind::OfClicks),
    ("postClickRegistrations", Kind::OfClicks),
    ("postViewJobApplications", Kind::OfClicks),
    ("postViewJobApplyClicks", Kind::OfClicks),
    ("postViewRegistrations", Kind::OfClicks),
    ("registrations", Kind::OfClicks),
    ("talentLeads", Kind::OfClicks),
    ("validWorkEmailLeads", Kind::OfClicks),
    ("approximateMemberReach", Kind::OfImpressions),
    ("averageDwellTime", Kind::OfImpressions),
    ("audiencePenetration", Kind::Ratio),
    ("cardImpressions", Kind::OfImpressions),
    ("commentLikes", Kind::OfImpressions),
    ("documentCompletions", Kind::OfImpressions),
    ("documentFirstQuartileCompletions", Kind::OfImpressions),
    ("documentMidpointCompletions", Kind::OfImpressions),
    ("documentThirdQuartileCompletions", Kind::OfImpressions),
    ("viralCardClicks", Kind::OfClicks),
    ("viralCardImpressions", Kind::OfImpressions),
    ("viralCommentLikes", Kind::OfImpressions),
    ("viralComments", Kind::OfImpressions),
    ("viralCompanyPageClicks", Kind::OfClicks),
    ("viralDocumentCompletions", Kind::OfImpressions),
    ("viralDocumentFirstQuartileCompletions", Kind::OfImpressions),
    ("viralDocumentMidpointCompletions", Kind::OfImpressions),
    ("viralDocumentThirdQuartileCompletions", Kind::OfImpressions),
    ("viralDownloadClicks", Kind::OfClicks),
    ("viralExternalWebsiteConversions", Kind::OfClicks),
    ("viralExternalWebsitePostClickConversions", Kind::OfClicks),
    ("viralExternalWebsitePostViewConversions", Kind::OfClicks),
    ("viralFollows", Kind::OfImpressions),
    ("viralFullScreenPlays", Kind::OfImpressions),
    ("viralJobApplications", Kind::OfClicks),
    ("viralJobApplyClicks", Kind::OfClicks),
    ("viralLandingPageClicks", Kind::OfClicks),
    ("viralLikes", Kind::OfImpressions),
    ("viralOneClickLeadFormOpens", Kind::OfClicks),
    ("viralOneClickLeads", Kind::OfClicks),
    ("viralOtherEngagements", Kind::OfImpressions),
    ("viralPostClickJobApplications", Kind::OfClicks),
    ("viralPostClickJobApplyClicks", Kind::OfClicks),
    ("viralPostClickRegistrations", Kind::OfClicks),
    ("viralPostViewJobApplications", Kind::OfClicks),
    ("viralPostViewJobApplyClicks", Kind::OfClicks),
    ("viralPostViewRegistrations", Kind::OfClicks),
    ("viralReactions", Kind::OfImpressions),
    ("viralRegistrations", Kind::OfClicks),
    ("viralShares", Kind::OfImpressions),
    ("viralTotalEngagements", Kind::OfImpressions),
    ("viralVideoCompletions", Kind::OfImpressions),
    ("viralVideoFirstQuartileCompletions", Kind::OfImpressions),
    ("viralVideoMidpointCompletions", Kind::OfImpressions),
    ("viralVideoStarts", Kind::OfImpressions),
    ("viralVideoThirdQuartileCompletions", Kind::OfImpressions),
    ("viralVideoViews", Kind::OfImpressions),
];

/// Whether adAnalytics has a metric called `name`.
pub fn is_metric(name: &str) -> bool {
    METRICS.iter().any(|(m, _)| *m == name)
}

/// An entity facet: a list of ids at one level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facet {
    /// The level the ids are of.
    pub level: Pivot,
    /// The ids (digits).
    pub ids: Vec<String>,
}

/// One analytics finder query about one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsQuery {
    /// The ad account.
    pub account: u64,
    /// What a row is about.
    pub pivot: Pivot,
    /// Daily rows (`DAILY`) or one per entity (`ALL`).
    pub daily: bool,
    /// The dates, inclusive.
    pub window: DateWindow,
    /// Facets that keep only some creatives.
    pub facets: Vec<Facet>,
    /// Metrics to report (each one [`is_metric`]).
    pub metrics: Vec<String>,
}

/// One element of an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    /// `pivotValues[0]`.
    pub pivot_value: String,
    /// `dateRange.start`.
    pub start: NaiveDate,
    /// `dateRange.end`.
    pub end: NaiveDate,
    /// The requested metrics with their JSON values, in request order.
    pub metrics: Vec<(String, Value)>,
}

impl Element {
    /// The element as adAnalytics serializes it.
    pub fn to_json(&self) -> Value {
        let day = |d: NaiveDate| json!({"year": d.year(), "month": d.month(), "day": d.day()});
        let mut object = serde_json::Map::new();
        object.insert("pivotValues".into(), json!([self.pivot_value]));
        object.insert(
            "dateRange".into(),
            json!({"start": day(self.start), "end": day(self.end)}),
        );
        for (name, value) in &self.metrics {
            object.insert(name.clone(), value.clone());
        }
        Value::Object(object)
    }

    /// A cell as a CSV would hold it: `date`, `date_end`, `pivot_value` or a metric.
    pub fn cell(&self, column: &str) -> String {
        match column {
            "date" => self.start.to_string(),
            "date_end" => self.end.to_string(),
            "pivot_value" => self.pivot_value.clone(),
            metric => match self.metrics.iter().find(|(m, _)| m == metric) {
                Some((_, Value::String(text))) => text.clone(),
                Some((_, value)) => value.to_string(),
                None => String::new(),
            },
        }
    }
}

/// Every creative of an account with `shape`, campaign-group major.
fn creatives(shape: Shape) -> impl Iterator<Item = Path> {
    let cap = |n: u32| 1..=n.min(MAX_CHILDREN);
    cap(shape.groups).flat_map(move |group| {
        cap(shape.campaigns).flat_map(move |campaign| {
            cap(shape.creatives).map(move |creative| Path {
                group,
                campaign,
                creative,
            })
        })
    })
}

/// The ids of every ad account entity at `pivot` level (account, groups, …), in order.
pub fn entity_ids(account: u64, shape: Shape, pivot: Pivot) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for path in creatives(shape) {
        let id = entity_id(account, pivot, path);
        if ids.last() != Some(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() && pivot == Pivot::Account {
        ids.push(account.to_string());
    }
    ids
}

/// The answer to `query` over an account shaped `shape`: one element per entity and day
/// (or per entity) with any activity, days ascending, entities in their order.
pub fn analytics(shape: Shape, query: &AnalyticsQuery) -> Vec<Element> {
    let account = query.account;
    let kept: Vec<Path> = creatives(shape)
        .filter(|path| {
            query
                .facets
                .iter()
                .all(|facet| facet.ids.contains(&entity_id(account, facet.level, *path)))
        })
        .collect();
    let currency_rate = usd_rate(account);
    let periods: Vec<DateWindow> = if query.daily {
        query.window.iter_days().map(|d| DateWindow::new(d, d)).collect()
    } else {
        vec![query.window]
    };
    let mut elements = Vec::new();
    for period in periods {
        // Entities in order, each with the sums of its kept creatives: an entity's creatives
        // are neighbours in `kept`, so its row is always the last one started.
        let mut rows: Vec<(String, Totals)> = Vec::new();
        for path in &kept {
            let id = entity_id(account, query.pivot, *path);
            for day in period.iter_days() {
                let Some(values) = creative_day(account, *path, day, currency_rate) else {
                    continue;
                };
                match rows.last_mut() {
                    Some((last, totals)) if *last == id => totals.add(&values),
                    _ => rows.push((id.clone(), values)),
                }
            }
        }
        for (id, totals) in rows {
            elements.push(Element {
                pivot_value: format!("{}{id}", query.pivot.urn_prefix()),
                start: period.start,
                end: period.end,
                metrics: query
                    .metrics
                    .iter()
                    .map(|name| (name.clone(), totals.render(name)))
                    .collect(),
            });
        }
    }
    elements
}

/// US cents per 100 cents of the account's currency.
fn usd_rate(account: u64) -> u64 {
    [100, 108, 127][(fold(0x11_4ed, account) % 3) as usize]
}

/// One metric value per entry of [`METRICS`], summed over creatives and days.
#[derive(Debug, Clone)]
struct Totals(Vec<u64>);

impl Totals {
    fn add(&mut self, other: &Totals) {
        for (sum, value) in self.0.iter_mut().zip(&other.0) {
            *sum += value;
        }
    }

    fn render(&self, name: &str) -> Value {
        let index = METRICS
            .iter()
            .position(|(m, _)| *m == name)
            .expect("metrics are checked when the request is read");
        let value = self.0[index];
        match METRICS[index].1 {
            // Money is a decimal string, as LinkedIn sends it.
            Kind::Cost | Kind::CostUsd | Kind::ConversionValue => json!(format!("{}.{:02}", value / 100, value % 100)),
            Kind::Ratio => json!(value as f64 / 10_000.0),
            _ => json!(value),
        }
    }
}

/// A creative's numbers on `day`; `None` on a quiet day.
fn creative_day(account: u64, path: Path, day: NaiveDate, usd_rate: u64) -> Option<Totals> {
    let seed = [account, path.group.into(), path.campaign.into(), path.creative.into()]
        .into_iter()
        .fold(0x11_4ed1, fold);
    let day_seed = fold(seed, day.num_days_from_ce() as u64);
    if day_seed % 10 == 0 {
        return None;
    }
    let mut draw = Draws(day_seed);
    let impressions = ((200 + seed % 4_800) * draw.between(70, 130) / 100).max(1);
    let clicks = impressions * draw.between(40, 120) / 10_000;
    let cost = impressions * draw.between(300, 1_500) / 1_000;
    let mut values = Vec::with_capacity(METRICS.len());
    for (_, kind) in METRICS {
        values.push(match kind {
            Kind::Impressions => impressions,
            Kind::Clicks => clicks,
            Kind::Cost => cost,
            Kind::CostUsd => cost * usd_rate / 100,
            Kind::ConversionValue => clicks * draw.between(0, 20) / 100 * draw.between(1_000, 20_000),
            Kind::OfClicks => clicks * draw.between(0, 100) / 100,
            Kind::OfImpressions => impressions * draw.between(0, 30) / 1_000,
            Kind::Ratio => draw.between(0, 400),
        });
    }
    Some(Totals(values))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: Shape = Shape {
        groups: 2,
        campaigns: 2,
        creatives: 2,
    };

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn query(pivot: Pivot, daily: bool, metrics: &[&str]) -> AnalyticsQuery {
        AnalyticsQuery {
            account: 511009658,
            pivot,
            daily,
            window: DateWindow::new(day("2026-03-01"), day("2026-03-10")),
            facets: Vec::new(),
            metrics: metrics.iter().map(|m| m.to_string()).collect(),
        }
    }

    fn sum(elements: &[Element], metric: &str) -> u64 {
        elements.iter().map(|e| e.cell(metric).parse::<u64>().unwrap()).sum()
    }

    #[test]
    fn coarser_rows_are_sums_of_creatives_and_totals_sums_of_days() {
        let by_creative = analytics(SHAPE, &query(Pivot::Creative, true, &["impressions", "clicks"]));
        let by_account = analytics(SHAPE, &query(Pivot::Account, true, &["impressions", "clicks"]));
        let total = analytics(SHAPE, &query(Pivot::Account, false, &["impressions", "clicks"]));
        assert_eq!(sum(&by_creative, "impressions"), sum(&by_account, "impressions"));
        assert_eq!(total.len(), 1);
        assert_eq!(sum(&total, "clicks"), sum(&by_account, "clicks"));
        assert_eq!((total[0].start, total[0].end), (day("2026-03-01"), day("2026-03-10")));
        // Some creative days are quiet and left out.
        assert!(by_creative.len() < 8 * 10 && by_creative.len() > 8 * 10 / 2);
    }

    #[test]
    fn facets_keep_only_the_creatives_under_their_ids() {
        let ids = entity_ids(511009658, SHAPE, Pivot::Campaign);
        assert_eq!(ids.len(), 4);
        let mut narrowed = query(Pivot::Creative, false, &["impressions"]);
        narrowed.facets = vec![Facet {
            level: Pivot::Campaign,
            ids: vec![ids[1].clone()],
        }];
        let rows = analytics(SHAPE, &narrowed);
        assert_eq!(rows.len(), 2);
        assert!(rows
            .iter()
            .all(|r| r.pivot_value.starts_with("urn:li:sponsoredCreative:80102")));
    }

    #[test]
    fn money_is_a_two_decimal_string_and_counts_are_numbers() {
        let rows = analytics(SHAPE, &query(Pivot::Account, false, &["costInLocalCurrency", "likes"]));
        let json = rows[0].to_json();
        let cost = json["costInLocalCurrency"].as_str().unwrap();
        assert_eq!(cost.split('.').nth(1).map(str::len), Some(2), "{cost}");
        assert!(json["likes"].is_u64());
        assert_eq!(json["dateRange"]["end"], json!({"year": 2026, "month": 3, "day": 10}));
        assert_eq!(json["pivotValues"], json!(["urn:li:sponsoredAccount:511009658"]));
    }

    #[test]
    fn ids_are_unique_across_levels_and_accounts() {
        let mut all: Vec<String> = Vec::new();
        for account in [511009658, 511009659] {
            for pivot in [Pivot::Account, Pivot::CampaignGroup, Pivot::Campaign, Pivot::Creative] {
                all.extend(entity_ids(account, SHAPE, pivot));
            }
        }
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), count);
        assert_eq!(count, 2 * (1 + 2 + 4 + 8));
    }
}
