//! The Insights fields the sandbox serves as plain numbers or labels beyond its core metrics:
//! every other string-typed field of the SDK's `AdsInsights` (`facebook_business/adobjects/
//! adsinsights.py`, `_field_types`), each drawn from the row's seed in a range its unit makes
//! plausible. The sandbox's own table, never adsync's.

use super::level::Level;
use crate::draws::{fold, ratio6, Draws};

/// What kind of value a field holds, which decides how it is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A whole number.
    Count,
    /// A ratio or rate with six decimals.
    Ratio,
    /// An amount in cents, written with two decimals.
    Money,
    /// A quality, engagement or conversion ranking (Graph's enum names).
    Rank,
    /// One of a few names.
    Choice(&'static [&'static str]),
    /// A short label.
    Label,
    /// A numeric id.
    Id,
    /// A date (the row's first day).
    Date,
}

/// (Graph name, coarsest level whose rows carry it, unit).
#[rustfmt::skip]
pub const SCALARS: &[(&str, Level, Unit)] = &[
    ("buying_type", Level::Campaign, Unit::Choice(&["AUCTION", "RESERVED"])),
    ("adset_start", Level::Adset, Unit::Date),
    ("adset_end", Level::Adset, Unit::Date),
    ("optimization_goal", Level::Adset, Unit::Choice(&["OFFSITE_CONVERSIONS", "LINK_CLICKS", "REACH", "IMPRESSIONS"])),
    ("created_time", Level::Account, Unit::Date),
    ("updated_time", Level::Account, Unit::Date),
    ("labels", Level::Account, Unit::Label),
    ("location", Level::Account, Unit::Label),
    ("age_targeting", Level::Adset, Unit::Label),
    ("gender_targeting", Level::Adset, Unit::Label),
    ("attribution_setting", Level::Adset, Unit::Choice(&["7d_click_1d_view", "1d_click", "7d_click"])),
    ("anchor_event_attribution_setting", Level::Adset, Unit::Label),
    ("multi_event_conversion_attribution_setting", Level::Adset, Unit::Label),
    ("full_view_impressions", Level::Account, Unit::Count),
    ("full_view_reach", Level::Account, Unit::Count),
    ("unique_inline_link_clicks", Level::Account, Unit::Count),
    ("unique_inline_link_click_ctr", Level::Account, Unit::Ratio),
    ("unique_link_clicks_ctr", Level::Account, Unit::Ratio),
    ("inline_post_engagement", Level::Account, Unit::Count),
    ("social_spend", Level::Account, Unit::Money),
    ("cost_per_unique_inline_link_click", Level::Account, Unit::Money),
    ("cost_per_inline_post_engagement", Level::Account, Unit::Money),
    ("cost_per_estimated_ad_recallers", Level::Account, Unit::Money),
    ("cost_per_dda_countby_convs", Level::Account, Unit::Money),
    ("cost_per_message_delivered", Level::Account, Unit::Money),
    ("dda_countby_convs", Level::Account, Unit::Ratio),
    ("estimated_ad_recallers", Level::Account, Unit::Count),
    ("estimated_ad_recallers_lower_bound", Level::Account, Unit::Count),
    ("estimated_ad_recallers_upper_bound", Level::Account, Unit::Count),
    ("estimated_ad_recall_rate", Level::Account, Unit::Ratio),
    ("estimated_ad_recall_rate_lower_bound", Level::Account, Unit::Ratio),
    ("estimated_ad_recall_rate_upper_bound", Level::Account, Unit::Ratio),
    ("quality_ranking", Level::Ad, Unit::Rank),
    ("engagement_rate_ranking", Level::Ad, Unit::Rank),
    ("conversion_rate_ranking", Level::Ad, Unit::Rank),
    ("creative_media_type", Level::Ad, Unit::Choice(&["IMAGE", "VIDEO", "CAROUSEL"])),
    ("creative_diversity_label", Level::Ad, Unit::Label),
    ("creative_diversity_score", Level::Ad, Unit::Ratio),
    ("opportunity_score_l4", Level::Account, Unit::Ratio),
    ("auction_bid", Level::Account, Unit::Money),
    ("auction_competitiveness", Level::Account, Unit::Ratio),
    ("auction_max_competitor_bid", Level::Account, Unit::Money),
    ("wish_bid", Level::Account, Unit::Money),
    ("canvas_avg_view_percent", Level::Account, Unit::Ratio),
    ("canvas_avg_view_time", Level::Account, Unit::Ratio),
    ("instant_experience_clicks_to_open", Level::Account, Unit::Count),
    ("instant_experience_clicks_to_start", Level::Account, Unit::Count),
    ("instagram_profile_visits", Level::Account, Unit::Count),
    ("instagram_upcoming_event_reminders_set", Level::Account, Unit::Count),
    ("landing_page_view_actions_per_link_click", Level::Account, Unit::Ratio),
    ("landing_page_view_per_link_click", Level::Account, Unit::Ratio),
    ("landing_page_view_per_purchase_rate", Level::Account, Unit::Ratio),
    ("purchase_per_landing_page_view", Level::Account, Unit::Ratio),
    ("purchases_per_link_click", Level::Account, Unit::Ratio),
    ("product_views", Level::Account, Unit::Count),
    ("shop_clicks", Level::Account, Unit::Count),
    ("shops_assisted_purchases", Level::Account, Unit::Count),
    ("total_card_view", Level::Account, Unit::Count),
    ("total_postbacks", Level::Account, Unit::Count),
    ("messages_delivered", Level::Account, Unit::Count),
    ("messages_delivered_ctr", Level::Account, Unit::Ratio),
    ("read_rate", Level::Account, Unit::Ratio),
    ("qualifying_question_qualify_answer_rate", Level::Account, Unit::Ratio),
    ("place_page_name", Level::Account, Unit::Label),
    ("product_retailer_id", Level::Account, Unit::Label),
    ("product_group_retailer_id", Level::Account, Unit::Label),
    ("advanced_reach_1d_lookback", Level::Account, Unit::Count),
    ("advanced_reach_7d_lookback", Level::Account, Unit::Count),
    ("advanced_reach_28d_lookback", Level::Account, Unit::Count),
    ("anchor_events_performance_indicator", Level::Account, Unit::Label),
    ("result_values_performance_indicator", Level::Account, Unit::Label),
    ("configurable_reachbyfrequency_converters_count", Level::Account, Unit::Count),
    ("configurable_reachbyfrequency_impressions_cost", Level::Account, Unit::Money),
    ("configurable_reachbyfrequency_impressions_count", Level::Account, Unit::Count),
    ("configurable_reachbyfrequency_reach", Level::Account, Unit::Count),
    ("marketing_messages_sent", Level::Account, Unit::Count),
    ("marketing_messages_delivered", Level::Account, Unit::Count),
    ("marketing_messages_delivery_rate", Level::Account, Unit::Ratio),
    ("marketing_messages_read", Level::Account, Unit::Count),
    ("marketing_messages_read_rate", Level::Account, Unit::Ratio),
    ("marketing_messages_read_rate_benchmark", Level::Account, Unit::Ratio),
    ("marketing_messages_click_rate_benchmark", Level::Account, Unit::Ratio),
    ("marketing_messages_link_btn_click", Level::Account, Unit::Count),
    ("marketing_messages_link_btn_click_rate", Level::Account, Unit::Ratio),
    ("marketing_messages_quick_reply_btn_click", Level::Account, Unit::Count),
    ("marketing_messages_quick_reply_btn_click_rate", Level::Account, Unit::Ratio),
    ("marketing_messages_phone_call_btn_click_rate", Level::Account, Unit::Ratio),
    ("marketing_messages_media_view_rate", Level::Account, Unit::Ratio),
    ("marketing_messages_cost_per_delivered", Level::Account, Unit::Money),
    ("marketing_messages_cost_per_link_btn_click", Level::Account, Unit::Money),
    ("marketing_messages_spend", Level::Account, Unit::Money),
    ("marketing_messages_spend_currency", Level::Account, Unit::Choice(&["EUR", "USD", "GBP"])),
    ("marketing_messages_website_add_to_cart", Level::Account, Unit::Count),
    ("marketing_messages_website_initiate_checkout", Level::Account, Unit::Count),
    ("marketing_messages_website_purchase", Level::Account, Unit::Count),
    ("marketing_messages_website_purchase_values", Level::Account, Unit::Money),
];

/// Graph's ranking values (`quality_ranking` and friends).
const RANKS: [&str; 6] = [
    "ABOVE_AVERAGE",
    "AVERAGE",
    "BELOW_AVERAGE_35",
    "BELOW_AVERAGE_20",
    "BELOW_AVERAGE_10",
    "UNKNOWN",
];

/// The value of scalar `index` for a row whose seed is `seed`, first day `start` and
/// impressions `impressions` (counts scale with traffic).
pub(super) fn value(index: usize, seed: u64, start: chrono::NaiveDate, impressions: u64) -> String {
    let (name, _, unit) = SCALARS[index];
    let mut draw = Draws(fold(seed, 0x5ca1_0000 + index as u64));
    match unit {
        Unit::Count => (impressions * draw.between(0, 30) / 100).to_string(),
        Unit::Ratio => ratio6(u128::from(draw.between(0, 5_000_000)), 1_000_000).unwrap_or_default(),
        Unit::Money => {
            let cents = draw.between(1, 50_000);
            format!("{}.{:02}", cents / 100, cents % 100)
        }
        Unit::Rank => RANKS[draw.between(0, RANKS.len() as u64 - 1) as usize].to_string(),
        Unit::Choice(names) => names[draw.between(0, names.len() as u64 - 1) as usize].to_string(),
        Unit::Label => format!("{} {}", name.replace('_', " "), draw.between(1, 9)),
        Unit::Id => draw.between(100_000_000, 999_999_999).to_string(),
        Unit::Date => start.to_string(),
    }
}
