//! Action lists: the `list<AdsActionStats>` Insights fields (`actions`, `action_values`,
//! `cost_per_action_type`, `purchase_roas`, `video_p25_watched_actions`, …).
//!
//! Each row has counts per action type and attribution window drawn from its seed, like
//! every other number here. A type whose count is 0 is left out of the row's lists (Graph
//! omits it), so rows differ in which types appear: some have no purchase at all. With
//! `action_attribution_windows`, each entry carries one key per requested window besides
//! `value`; `action_report_time` moves conversions to the day they happened, which changes
//! the conversion types' counts (and for `mixed`, only those off Meta).
//!
//! The sandbox's own names, from the Graph reference and the Business SDK's `AdsActionStats`
//! (`facebook_business/adobjects/adsactionstats.py`), never adsync's tables.

use std::fmt::Write;

use crate::draws::{fold, ratio6, Draws};

/// The action types rows report, in list order.
pub const TYPES: [&str; 10] = [
    "link_click",
    "landing_page_view",
    "post_engagement",
    "video_view",
    "outbound_click",
    "lead",
    "purchase",
    "omni_purchase",
    "offsite_conversion.fb_pixel_purchase",
    "app_custom_event.fb_mobile_purchase",
];

const LINK_CLICK: usize = 0;
const LANDING_PAGE_VIEW: usize = 1;
const POST_ENGAGEMENT: usize = 2;
const VIDEO_VIEW: usize = 3;
const OUTBOUND_CLICK: usize = 4;
const LEAD: usize = 5;
const PURCHASE: usize = 6;
const OMNI_PURCHASE: usize = 7;
const WEBSITE_PURCHASE: usize = 8;
const APP_PURCHASE: usize = 9;

/// Types that are conversions (counted where `action_report_time` says).
const CONVERSIONS: [usize; 5] = [LEAD, PURCHASE, OMNI_PURCHASE, WEBSITE_PURCHASE, APP_PURCHASE];
/// Types that carry a value (purchases).
const PURCHASES: [usize; 4] = [PURCHASE, OMNI_PURCHASE, WEBSITE_PURCHASE, APP_PURCHASE];
/// Types `actions` lists (outbound clicks have their own field).
const ACTIONS: [usize; 9] = [
    LINK_CLICK,
    LANDING_PAGE_VIEW,
    POST_ENGAGEMENT,
    VIDEO_VIEW,
    LEAD,
    PURCHASE,
    OMNI_PURCHASE,
    WEBSITE_PURCHASE,
    APP_PURCHASE,
];

/// The attribution windows the sandbox computes, in the order of the per-window arrays;
/// slot 0 is `value`, the account's default (7-day click or 1-day view).
pub const WINDOWS: [&str; 7] = [
    "value",
    "1d_click",
    "7d_click",
    "28d_click",
    "1d_view",
    "7d_view",
    "28d_view",
];

/// Every window Graph documents (SDK `AdsInsights.ActionAttributionWindows`). Windows the
/// sandbox does not compute are accepted and left out of the entries.
pub const DOCUMENTED_WINDOWS: [&str; 19] = [
    "1d_click",
    "1d_ev",
    "1d_view",
    "28d_click",
    "28d_view",
    "28d_view_all_conversions",
    "28d_view_first_conversion",
    "7d_click",
    "7d_view",
    "7d_view_all_conversions",
    "7d_view_first_conversion",
    "dda",
    "default",
    "skan_click",
    "skan_click_second_postback",
    "skan_click_third_postback",
    "skan_view",
    "skan_view_second_postback",
    "skan_view_third_postback",
];

/// `action_report_time` (SDK `AdsInsights.ActionReportTime`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReportTime {
    /// Actions count on the day of the impression that led to them (the sandbox's default).
    #[default]
    Impression,
    /// Actions count on the day they happened.
    Conversion,
    /// On-Meta actions at impression time, off-Meta conversions at conversion time.
    Mixed,
    /// Every action of the object's lifetime on its impression day (counted as impression).
    Lifetime,
}

impl ReportTime {
    /// The report time for its Graph name.
    pub fn parse(name: &str) -> Option<ReportTime> {
        Some(match name {
            "impression" => ReportTime::Impression,
            "conversion" => ReportTime::Conversion,
            "mixed" => ReportTime::Mixed,
            "lifetime" => ReportTime::Lifetime,
            _ => return None,
        })
    }

    /// Whether a conversion of type `index` counts on its conversion day.
    fn at_conversion(self, index: usize) -> bool {
        match self {
            ReportTime::Conversion => CONVERSIONS.contains(&index),
            ReportTime::Mixed => index == WEBSITE_PURCHASE,
            ReportTime::Impression | ReportTime::Lifetime => false,
        }
    }
}

/// One row's actions: count and value (in cents) per type and window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Actions {
    counts: [[u64; WINDOWS.len()]; TYPES.len()],
    value_cents: [[u64; WINDOWS.len()]; TYPES.len()],
}

impl Actions {
    /// One row's actions for one day, from the row's seed (entity, day and breakdown values)
    /// and its clicks and impressions.
    pub(super) fn draw(day_seed: u64, time: ReportTime, link_clicks: u64, clicks: u64, impressions: u64) -> Self {
        let mut draw = Draws(fold(day_seed, 0xac71));
        let landing = link_clicks * draw.between(50, 90) / 100;
        let engagement = clicks + draw.between(0, 40);
        let video = impressions * draw.between(5, 25) / 100;
        let outbound = link_clicks * draw.between(60, 95) / 100;
        let mut totals = [0u64; TYPES.len()];
        totals[LINK_CLICK] = link_clicks;
        totals[LANDING_PAGE_VIEW] = landing;
        totals[POST_ENGAGEMENT] = engagement;
        totals[VIDEO_VIEW] = video;
        totals[OUTBOUND_CLICK] = outbound;
        // Conversions: drawn from the impression day, or from a later "conversion day" seed.
        for (index, total) in totals.iter_mut().enumerate().skip(LEAD) {
            let when = if time.at_conversion(index) { 0xc0 } else { 0x1a };
            let mut conv = Draws(fold(fold(day_seed, when), index as u64));
            *total = match index {
                LEAD => conv.between(0, 3).saturating_sub(1),
                // Zero on about a third of the rows: those lack the type altogether.
                WEBSITE_PURCHASE => conv.between(0, 5).saturating_sub(2),
                APP_PURCHASE => conv.between(0, 2).saturating_sub(1),
                _ => 0,
            };
        }
        totals[PURCHASE] = totals[WEBSITE_PURCHASE] + totals[APP_PURCHASE];
        totals[OMNI_PURCHASE] = totals[PURCHASE];
        let mut actions = Actions::default();
        for (index, total) in totals.into_iter().enumerate() {
            let mut split = Draws(fold(fold(day_seed, 0x5b17), index as u64));
            actions.counts[index] = windows_of(total, &mut split);
            if PURCHASES.contains(&index) {
                let cents = total * split.between(2_000, 9_000);
                actions.value_cents[index] = windows_of(cents, &mut split);
            }
        }
        // The purchase aggregates are sums of their parts, window by window.
        for w in 0..WINDOWS.len() {
            for target in [PURCHASE, OMNI_PURCHASE] {
                actions.counts[target][w] = actions.counts[WEBSITE_PURCHASE][w] + actions.counts[APP_PURCHASE][w];
                actions.value_cents[target][w] =
                    actions.value_cents[WEBSITE_PURCHASE][w] + actions.value_cents[APP_PURCHASE][w];
            }
        }
        actions
    }

    /// The sum of two rows' actions (a window total is the sum of its days).
    pub(super) fn plus(mut self, other: &Actions) -> Actions {
        for t in 0..TYPES.len() {
            for w in 0..WINDOWS.len() {
                self.counts[t][w] += other.counts[t][w];
                self.value_cents[t][w] += other.value_cents[t][w];
            }
        }
        self
    }
}

/// `total` (the default attribution: 7-day click plus 1-day view) spread over the windows,
/// each click and view window containing the shorter ones.
fn windows_of(total: u64, draw: &mut Draws) -> [u64; WINDOWS.len()] {
    let click_7d = total * draw.between(55, 90) / 100;
    let view_1d = total - click_7d;
    let click_1d = click_7d * draw.between(60, 95) / 100;
    let click_28d = click_7d + total * draw.between(0, 20) / 100;
    let view_7d = view_1d + total * draw.between(0, 15) / 100;
    let view_28d = view_7d + total * draw.between(0, 10) / 100;
    [total, click_1d, click_7d, click_28d, view_1d, view_7d, view_28d]
}

/// What a list field reports per type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    /// The count, times `percent` / 100.
    Count(u64),
    /// The value, in the account currency.
    Value,
    /// Spend per (count × `percent` / 100).
    CostPer(u64),
    /// Value per spend.
    Roas,
}

/// An action-list field: its Graph name, the types it lists and what it reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListField {
    /// The Graph field name.
    pub name: &'static str,
    types: &'static [usize],
    measure: Measure,
}

const fn list(name: &'static str, types: &'static [usize], measure: Measure) -> ListField {
    ListField { name, types, measure }
}

const VIDEO: &[usize] = &[VIDEO_VIEW];
const OUTBOUND: &[usize] = &[OUTBOUND_CLICK];

/// Every `list<AdsActionStats>` field of the SDK's `AdsInsights`, with the sandbox's rule.
/// Catalog and attribution fields the sandbox has no model for report `actions`, scaled.
#[rustfmt::skip]
pub const LISTS: &[ListField] = &[
    list("actions", &ACTIONS, Measure::Count(100)),
    list("unique_actions", &ACTIONS, Measure::Count(90)),
    list("action_values", &PURCHASES, Measure::Value),
    list("conversions", &CONVERSIONS, Measure::Count(100)),
    list("unique_conversions", &CONVERSIONS, Measure::Count(90)),
    list("conversion_values", &PURCHASES, Measure::Value),
    list("cost_per_action_type", &ACTIONS, Measure::CostPer(100)),
    list("cost_per_unique_action_type", &ACTIONS, Measure::CostPer(90)),
    list("cost_per_conversion", &CONVERSIONS, Measure::CostPer(100)),
    list("cost_per_unique_conversion", &CONVERSIONS, Measure::CostPer(90)),
    list("purchase_roas", &[OMNI_PURCHASE], Measure::Roas),
    list("website_purchase_roas", &[WEBSITE_PURCHASE], Measure::Roas),
    list("mobile_app_purchase_roas", &[APP_PURCHASE], Measure::Roas),
    list("average_purchases_conversion_value", &[OMNI_PURCHASE], Measure::Value),
    list("conversion_leads", &[LEAD], Measure::Count(60)),
    list("conversion_lead_rate", &[LEAD], Measure::Count(60)),
    list("cost_per_conversion_lead", &[LEAD], Measure::CostPer(60)),
    list("ad_click_actions", &[LINK_CLICK], Measure::Count(100)),
    list("ad_impression_actions", &[VIDEO_VIEW], Measure::Count(100)),
    list("cost_per_ad_click", &[LINK_CLICK], Measure::CostPer(100)),
    list("cost_per_one_thousand_ad_impression", &[VIDEO_VIEW], Measure::CostPer(100)),
    list("outbound_clicks", OUTBOUND, Measure::Count(100)),
    list("unique_outbound_clicks", OUTBOUND, Measure::Count(90)),
    list("outbound_clicks_ctr", OUTBOUND, Measure::Count(2)),
    list("unique_outbound_clicks_ctr", OUTBOUND, Measure::Count(2)),
    list("cost_per_outbound_click", OUTBOUND, Measure::CostPer(100)),
    list("cost_per_unique_outbound_click", OUTBOUND, Measure::CostPer(90)),
    list("website_ctr", &[LINK_CLICK], Measure::Count(2)),
    list("instant_experience_outbound_clicks", OUTBOUND, Measure::Count(10)),
    list("interactive_component_tap", &[POST_ENGAGEMENT], Measure::Count(5)),
    list("video_play_actions", VIDEO, Measure::Count(100)),
    list("video_view_per_impression", VIDEO, Measure::Count(1)),
    list("video_continuous_2_sec_watched_actions", VIDEO, Measure::Count(90)),
    list("unique_video_continuous_2_sec_watched_actions", VIDEO, Measure::Count(80)),
    list("video_6_sec_watched_actions", VIDEO, Measure::Count(70)),
    list("video_15_sec_watched_actions", VIDEO, Measure::Count(50)),
    list("unique_video_view_15_sec", VIDEO, Measure::Count(45)),
    list("video_30_sec_watched_actions", VIDEO, Measure::Count(30)),
    list("video_p25_watched_actions", VIDEO, Measure::Count(80)),
    list("video_p50_watched_actions", VIDEO, Measure::Count(60)),
    list("video_p75_watched_actions", VIDEO, Measure::Count(40)),
    list("video_p95_watched_actions", VIDEO, Measure::Count(25)),
    list("video_p100_watched_actions", VIDEO, Measure::Count(20)),
    list("video_thruplay_watched_actions", VIDEO, Measure::Count(45)),
    list("video_avg_time_watched_actions", VIDEO, Measure::Count(8)),
    list("video_time_watched_actions", VIDEO, Measure::Count(700)),
    list("cost_per_thruplay", VIDEO, Measure::CostPer(45)),
    list("cost_per_2_sec_continuous_video_view", VIDEO, Measure::CostPer(90)),
    list("cost_per_6_sec_video_view", VIDEO, Measure::CostPer(70)),
    list("cost_per_15_sec_video_view", VIDEO, Measure::CostPer(50)),
    list("catalog_segment_actions", &ACTIONS, Measure::Count(30)),
    list("catalog_segment_value", &PURCHASES, Measure::Value),
    list("catalog_segment_value_omni_purchase_roas", &[OMNI_PURCHASE], Measure::Roas),
    list("catalog_segment_value_website_purchase_roas", &[WEBSITE_PURCHASE], Measure::Roas),
    list("catalog_segment_value_mobile_purchase_roas", &[APP_PURCHASE], Measure::Roas),
    list("converted_product_quantity", &PURCHASES, Measure::Count(150)),
    list("converted_product_value", &PURCHASES, Measure::Value),
    list("converted_product_omni_purchase", &[OMNI_PURCHASE], Measure::Count(100)),
    list("converted_product_omni_purchase_values", &[OMNI_PURCHASE], Measure::Value),
    list("converted_product_website_pixel_purchase", &[WEBSITE_PURCHASE], Measure::Count(100)),
    list("converted_product_website_pixel_purchase_value", &[WEBSITE_PURCHASE], Measure::Value),
    list("converted_product_app_custom_event_fb_mobile_purchase", &[APP_PURCHASE], Measure::Count(100)),
    list("converted_product_app_custom_event_fb_mobile_purchase_value", &[APP_PURCHASE], Measure::Value),
    list("converted_product_offline_purchase", &[PURCHASE], Measure::Count(10)),
    list("converted_product_offline_purchase_value", &[PURCHASE], Measure::Value),
    list("converted_promoted_product_quantity", &PURCHASES, Measure::Count(120)),
    list("converted_promoted_product_value", &PURCHASES, Measure::Value),
    list("converted_promoted_product_omni_purchase", &[OMNI_PURCHASE], Measure::Count(80)),
    list("converted_promoted_product_omni_purchase_values", &[OMNI_PURCHASE], Measure::Value),
    list("converted_promoted_product_website_pixel_purchase", &[WEBSITE_PURCHASE], Measure::Count(80)),
    list("converted_promoted_product_website_pixel_purchase_value", &[WEBSITE_PURCHASE], Measure::Value),
    list("converted_promoted_product_app_custom_event_fb_mobile_purchase", &[APP_PURCHASE], Measure::Count(80)),
    list("converted_promoted_product_app_custom_event_fb_mobile_purchase_value", &[APP_PURCHASE], Measure::Value),
    list("converted_promoted_product_offline_purchase", &[PURCHASE], Measure::Count(8)),
    list("converted_promoted_product_offline_purchase_value", &[PURCHASE], Measure::Value),
    list("onsite_conversion_messaging_detected_purchase_deduped", &[PURCHASE], Measure::Count(20)),
    list("advanced_actions_28d_view", &ACTIONS, Measure::Count(110)),
    list("configurable_attribution_action", &ACTIONS, Measure::Count(100)),
    list("configurable_attribution_actionvalue", &PURCHASES, Measure::Value),
    list("configurable_audience_overlap_reach", &[LINK_CLICK], Measure::Count(50)),
    list("configurable_reachbyfrequency_action", &ACTIONS, Measure::Count(70)),
    list("total_postbacks_detailed", &[APP_PURCHASE], Measure::Count(100)),
    list("total_postbacks_detailed_v4", &[APP_PURCHASE], Measure::Count(100)),
];

/// One entry of an action list: the type, its `value` and the requested windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionStat {
    /// The `action_type`.
    pub action_type: &'static str,
    /// (key, value) pairs: `value` first, then each requested window the sandbox computes.
    pub values: Vec<(&'static str, String)>,
}

impl ActionStat {
    /// The entry's value under `key` (`value` or a window), if it has one.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str())
    }
}

impl ListField {
    /// The field's entries for a row with `actions` and `spend_cents`, each with `value` and
    /// the `windows` asked for (indices into [`WINDOWS`]). A type whose count is 0 is left
    /// out, as is a window whose ratio has no divisor.
    pub(super) fn entries(&self, actions: &Actions, spend_cents: u64, windows: &[usize]) -> Vec<ActionStat> {
        let mut entries = Vec::new();
        for &t in self.types {
            if actions.counts[t][0] == 0 {
                continue;
            }
            let text = |w: usize| -> Option<String> {
                let count = u128::from(actions.counts[t][w]);
                let cents = u128::from(actions.value_cents[t][w]);
                match self.measure {
                    Measure::Count(percent) => Some((count * u128::from(percent) / 100).to_string()),
                    Measure::Value => Some(money(cents)),
                    Measure::CostPer(percent) => {
                        ratio6(u128::from(spend_cents) * 100, count * u128::from(percent) * 100)
                    }
                    Measure::Roas => ratio6(cents, u128::from(spend_cents)),
                }
            };
            let Some(value) = text(0) else { continue };
            let mut values = vec![(WINDOWS[0], value)];
            values.extend(windows.iter().filter_map(|&w| text(w).map(|v| (WINDOWS[w], v))));
            entries.push(ActionStat {
                action_type: TYPES[t],
                values,
            });
        }
        entries
    }
}

fn money(cents: u128) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The list as Graph writes it: `[{"action_type":"…","value":"…","7d_click":"…"},…]`.
pub fn write_json(out: &mut String, entries: &[ActionStat]) {
    out.push('[');
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, r#"{{"action_type":{}"#, serde_json::json!(entry.action_type));
        for (key, value) in &entry.values {
            let _ = write!(out, r#","{key}":{}"#, serde_json::json!(value));
        }
        out.push('}');
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_nest_and_the_default_is_seven_day_click_plus_one_day_view() {
        let mut draw = Draws(7);
        for total in [0, 1, 5, 97, 1000] {
            let w = windows_of(total, &mut draw);
            assert_eq!(w[0], w[2] + w[4], "{w:?}");
            assert!(w[1] <= w[2] && w[2] <= w[3] && w[4] <= w[5] && w[5] <= w[6], "{w:?}");
        }
    }

    #[test]
    fn some_rows_have_no_purchase_and_purchases_add_up() {
        let days: Vec<Actions> = (1..=28)
            .map(|d| Actions::draw(fold(42, d), ReportTime::Impression, 40, 60, 4000))
            .collect();
        let with = days.iter().filter(|a| a.counts[PURCHASE][0] > 0).count();
        assert!(with > 3 && with < 25, "{with} of 28 days have purchases");
        for a in &days {
            assert_eq!(a.counts[PURCHASE], a.counts[OMNI_PURCHASE]);
            assert_eq!(
                a.counts[PURCHASE][0],
                a.counts[WEBSITE_PURCHASE][0] + a.counts[APP_PURCHASE][0]
            );
        }
    }

    #[test]
    fn conversion_report_time_moves_conversions_but_not_clicks() {
        let differs = (1..=28).any(|d| {
            let at_impression = Actions::draw(fold(42, d), ReportTime::Impression, 40, 60, 4000);
            let at_conversion = Actions::draw(fold(42, d), ReportTime::Conversion, 40, 60, 4000);
            assert_eq!(at_impression.counts[LINK_CLICK], at_conversion.counts[LINK_CLICK]);
            at_impression.counts[WEBSITE_PURCHASE] != at_conversion.counts[WEBSITE_PURCHASE]
        });
        assert!(differs);
    }

    #[test]
    fn entries_skip_absent_types_and_carry_the_requested_windows() {
        let mut actions = Actions::default();
        actions.counts[LINK_CLICK] = [10, 4, 7, 8, 3, 4, 5];
        let field = LISTS.iter().find(|l| l.name == "actions").unwrap();
        let entries = field.entries(&actions, 1234, &[2, 4]);
        let mut json = String::new();
        write_json(&mut json, &entries);
        assert_eq!(
            json,
            r#"[{"action_type":"link_click","value":"10","7d_click":"7","1d_view":"3"}]"#
        );
        let cost = LISTS.iter().find(|l| l.name == "cost_per_action_type").unwrap();
        assert_eq!(cost.entries(&actions, 1234, &[])[0].get("value"), Some("1.234000"));
    }
}
