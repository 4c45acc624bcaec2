//! The GAQL fields a query may name for each level, with a line of what each holds.
//!
//! Names, descriptions and types come from the Google Ads API protos
//! (googleapis/googleapis `google/ads/googleads/v25/resources/{customer,campaign,ad_group,
//! ad_group_ad,ad}.proto`, `common/segments.proto`, `common/metrics.proto`): every scalar and
//! enum attribute of the four resources adsync reads FROM, and the segments and metrics those
//! resources' reference pages (`https://developers.google.com/google-ads/api/fields/v25/campaign`
//! and siblings) list as selectable with all four. Enums come back as the API's names
//! (`ENABLED`, `SEARCH`), which adsync writes unchanged.

use crate::platform::{FieldKind, FieldSpec, Level};

use super::{COST, COST_MICROS, DATE};

const fn field(name: &'static str, min_level: Level, kind: FieldKind, about: &'static str) -> FieldSpec {
    FieldSpec::new(name, min_level).kind(kind).about(about)
}

/// Every field a query may name. The level is the resource the field needs in `FROM`
/// (or finer): `customer` for account, `campaign`, `ad_group` for adset, `ad_group_ad` for ad.
pub(crate) const FIELDS: &[FieldSpec] = &[
    // Attributes of the resources a level reads FROM (resources/*.proto).
    field("customer.resource_name", Level::Account, FieldKind::Id, "The resource name of the customer."),
    field("customer.id", Level::Account, FieldKind::Id, "The ID of the customer."),
    field("customer.descriptive_name", Level::Account, FieldKind::Text, "Optional, non-unique descriptive name of the customer."),
    field("customer.currency_code", Level::Account, FieldKind::Text, "The currency in which the account operates."),
    field("customer.time_zone", Level::Account, FieldKind::Text, "The local timezone ID of the customer."),
    field("customer.tracking_url_template", Level::Account, FieldKind::Text, "The URL template for constructing a tracking URL out of parameters."),
    field("customer.final_url_suffix", Level::Account, FieldKind::Text, "The URL template for appending params to the final URL."),
    field("customer.auto_tagging_enabled", Level::Account, FieldKind::Text, "Whether auto-tagging is enabled for the customer."),
    field("customer.has_partners_badge", Level::Account, FieldKind::Text, "Whether the Customer has a Partners program badge."),
    field("customer.manager", Level::Account, FieldKind::Text, "Whether the customer is a manager."),
    field("customer.test_account", Level::Account, FieldKind::Text, "Whether the customer is a test account."),
    field("customer.optimization_score", Level::Account, FieldKind::Decimal, "Optimization score of the customer."),
    field("customer.optimization_score_weight", Level::Account, FieldKind::Decimal, "Optimization score weight of the customer."),
    field("customer.status", Level::Account, FieldKind::Enum, "The status of the customer."),
    field("customer.location_asset_auto_migration_done", Level::Account, FieldKind::Text, "True if feed based location has been migrated to asset based location."),
    field("customer.image_asset_auto_migration_done", Level::Account, FieldKind::Text, "True if feed based image has been migrated to asset based image."),
    field("customer.location_asset_auto_migration_done_date_time", Level::Account, FieldKind::Text, "Timestamp of migration from feed based location to asset base location in yyyy-MM-dd HH:mm:ss format."),
    field("customer.image_asset_auto_migration_done_date_time", Level::Account, FieldKind::Text, "Timestamp of migration from feed based image to asset base image in yyyy-MM-dd HH:mm:ss format."),
    field("customer.video_brand_safety_suitability", Level::Account, FieldKind::Enum, "Brand Safety setting at the account level."),
    field("customer.contains_eu_political_advertising", Level::Account, FieldKind::Enum, "Returns the advertiser self-declaration status of whether this customer contains political advertising content targeted towards the European Union."),
    field("campaign.resource_name", Level::Campaign, FieldKind::Id, "The resource name of the campaign."),
    field("campaign.id", Level::Campaign, FieldKind::Id, "The ID of the campaign."),
    field("campaign.name", Level::Campaign, FieldKind::Text, "The name of the campaign."),
    field("campaign.primary_status", Level::Campaign, FieldKind::Enum, "The primary status of the campaign."),
    field("campaign.status", Level::Campaign, FieldKind::Enum, "The status of the campaign."),
    field("campaign.serving_status", Level::Campaign, FieldKind::Enum, "The ad serving status of the campaign."),
    field("campaign.bidding_strategy_system_status", Level::Campaign, FieldKind::Enum, "The system status of the campaign's bidding strategy."),
    field("campaign.ad_serving_optimization_status", Level::Campaign, FieldKind::Enum, "The ad serving optimization status of the campaign."),
    field("campaign.advertising_channel_type", Level::Campaign, FieldKind::Enum, "The primary serving target for ads within the campaign."),
    field("campaign.advertising_channel_sub_type", Level::Campaign, FieldKind::Enum, "Optional refinement to advertising_channel_type."),
    field("campaign.tracking_url_template", Level::Campaign, FieldKind::Text, "The URL template for constructing a tracking URL."),
    field("campaign.experiment_type", Level::Campaign, FieldKind::Enum, "The type of campaign: normal, draft, or experiment."),
    field("campaign.base_campaign", Level::Campaign, FieldKind::Text, "The resource name of the base campaign of a draft or experiment campaign."),
    field("campaign.campaign_budget", Level::Campaign, FieldKind::Text, "The resource name of the campaign budget of the campaign."),
    field("campaign.bidding_strategy_type", Level::Campaign, FieldKind::Enum, "The type of bidding strategy."),
    field("campaign.accessible_bidding_strategy", Level::Campaign, FieldKind::Text, "Resource name of AccessibleBiddingStrategy, a read-only view of the unrestricted attributes of the attached portfolio bidding strategy identified by 'bidding_strategy'."),
    field("campaign.campaign_group", Level::Campaign, FieldKind::Text, "The resource name of the campaign group that this campaign belongs to."),
    field("campaign.start_date_time", Level::Campaign, FieldKind::Text, "The date and time when campaign started in serving."),
    field("campaign.end_date_time", Level::Campaign, FieldKind::Text, "The last day and time of the campaign in serving customer's timezone in 'yyyy-MM-dd HH:mm:ss' format."),
    field("campaign.final_url_suffix", Level::Campaign, FieldKind::Text, "Suffix used to append query parameters to landing pages that are served with parallel tracking."),
    field("campaign.payment_mode", Level::Campaign, FieldKind::Enum, "Payment mode for the campaign."),
    field("campaign.optimization_score", Level::Campaign, FieldKind::Decimal, "Optimization score of the campaign."),
    field("campaign.hotel_property_asset_set", Level::Campaign, FieldKind::Text, "The resource name for a set of hotel properties for Performance Max for travel goals campaigns."),
    field("campaign.listing_type", Level::Campaign, FieldKind::Enum, "Listing type of ads served for this campaign."),
    field("campaign.keyword_match_type", Level::Campaign, FieldKind::Enum, "Keyword match type of Campaign."),
    field("campaign.brand_guidelines_enabled", Level::Campaign, FieldKind::Text, "Whether Brand Guidelines are enabled for this Campaign."),
    field("campaign.contains_eu_political_advertising", Level::Campaign, FieldKind::Enum, "The advertiser should self-declare whether this campaign contains political advertising content targeted towards the European Union."),
    field("campaign.view_through_conversion_optimization_enabled", Level::Campaign, FieldKind::Text, "Whether VTC (View-through Conversion) optimization is enabled for this campaign."),
    field("campaign.missing_eu_political_advertising_declaration", Level::Campaign, FieldKind::Text, "Indicates whether this campaign is missing a declaration about whether it contains political advertising targeted towards the EU and is ineligible for any exemptions."),
    field("campaign.aca_migration_date_time", Level::Campaign, FieldKind::Text, "The timestamp when the ACA campaign was migrated to AI Max."),
    field("campaign.broad_match_migration_date_time", Level::Campaign, FieldKind::Text, "The timestamp when the Broad Match campaign was migrated to AI Max."),
    field("ad_group.resource_name", Level::Adset, FieldKind::Id, "The resource name of the ad group."),
    field("ad_group.id", Level::Adset, FieldKind::Id, "The ID of the ad group."),
    field("ad_group.name", Level::Adset, FieldKind::Text, "The name of the ad group."),
    field("ad_group.status", Level::Adset, FieldKind::Enum, "The status of the ad group."),
    field("ad_group.type", Level::Adset, FieldKind::Enum, "The type of the ad group."),
    field("ad_group.ad_rotation_mode", Level::Adset, FieldKind::Enum, "The ad rotation mode of the ad group."),
    field("ad_group.base_ad_group", Level::Adset, FieldKind::Text, "For draft or experiment ad groups, this field is the resource name of the base ad group from which this ad group was created."),
    field("ad_group.tracking_url_template", Level::Adset, FieldKind::Text, "The URL template for constructing a tracking URL."),
    field("ad_group.campaign", Level::Adset, FieldKind::Text, "The campaign to which the ad group belongs."),
    field("ad_group.cpc_bid_micros", Level::Adset, FieldKind::Money, "The maximum CPC (cost-per-click) bid."),
    field("ad_group.effective_cpc_bid_micros", Level::Adset, FieldKind::Money, "Value will be same as that of the CPC (cost-per-click) bid value when the bidding strategy is one of manual cpc, enhanced cpc, page one promoted or target outrank share, otherwise the value will be null."),
    field("ad_group.cpm_bid_micros", Level::Adset, FieldKind::Money, "The maximum CPM (cost-per-thousand viewable impressions) bid."),
    field("ad_group.target_cpa_micros", Level::Adset, FieldKind::Money, "The target CPA (cost-per-acquisition)."),
    field("ad_group.cpv_bid_micros", Level::Adset, FieldKind::Money, "The CPV (cost-per-view) bid."),
    field("ad_group.target_cpm_micros", Level::Adset, FieldKind::Money, "Average amount in micros that the advertiser is willing to pay for every thousand times the ad is shown."),
    field("ad_group.target_roas", Level::Adset, FieldKind::Decimal, "The target ROAS (return-on-ad-spend) for this ad group."),
    field("ad_group.percent_cpc_bid_micros", Level::Adset, FieldKind::Money, "The percent cpc bid amount, expressed as a fraction of the advertised price for some good or service."),
    field("ad_group.fixed_cpm_micros", Level::Adset, FieldKind::Money, "The fixed amount in micros that the advertiser pays for every thousand impressions of the ad."),
    field("ad_group.target_cpv_micros", Level::Adset, FieldKind::Money, "Average amount in micros that the advertiser is willing to pay for every ad view."),
    field("ad_group.target_cpc_micros", Level::Adset, FieldKind::Money, "Average amount in micros that the advertiser is willing to pay for every ad click."),
    field("ad_group.optimized_targeting_enabled", Level::Adset, FieldKind::Text, "True if optimized targeting is enabled."),
    field("ad_group.exclude_demographic_expansion", Level::Adset, FieldKind::Text, "When this value is true, demographics will be excluded from the types of targeting which are expanded when optimized_targeting_enabled is true."),
    field("ad_group.display_custom_bid_dimension", Level::Adset, FieldKind::Enum, "Lets advertisers specify a targeting dimension on which to place absolute bids."),
    field("ad_group.final_url_suffix", Level::Adset, FieldKind::Text, "URL template for appending params to Final URL."),
    field("ad_group.effective_target_cpa_micros", Level::Adset, FieldKind::Money, "The effective target CPA (cost-per-acquisition)."),
    field("ad_group.effective_target_cpa_source", Level::Adset, FieldKind::Enum, "Source of the effective target CPA."),
    field("ad_group.effective_target_roas", Level::Adset, FieldKind::Decimal, "The effective target ROAS (return-on-ad-spend)."),
    field("ad_group.effective_target_roas_source", Level::Adset, FieldKind::Enum, "Source of the effective target ROAS."),
    field("ad_group.effective_target_cpc", Level::Adset, FieldKind::Integer, "The effective target CPC (cost-per-click)."),
    field("ad_group.effective_target_cpc_source", Level::Adset, FieldKind::Enum, "Source of the effective target CPC."),
    field("ad_group.primary_status", Level::Adset, FieldKind::Enum, "Provides aggregated view into why an ad group is not serving or not serving optimally."),
    field("ad_group_ad.resource_name", Level::Ad, FieldKind::Id, "The resource name of the ad."),
    field("ad_group_ad.status", Level::Ad, FieldKind::Enum, "The status of the ad."),
    field("ad_group_ad.ad_group", Level::Ad, FieldKind::Text, "The ad group to which the ad belongs."),
    field("ad_group_ad.start_date_time", Level::Ad, FieldKind::Text, "The date and time when ad group ad starts serving."),
    field("ad_group_ad.end_date_time", Level::Ad, FieldKind::Text, "The last day and time when ad group ad serves."),
    field("ad_group_ad.ad_strength", Level::Ad, FieldKind::Enum, "Overall ad strength for this ad group ad."),
    field("ad_group_ad.primary_status", Level::Ad, FieldKind::Enum, "Provides aggregated view into why an ad group ad is not serving or not serving optimally."),
    field("ad_group_ad.ad.resource_name", Level::Ad, FieldKind::Id, "The resource name of the ad."),
    field("ad_group_ad.ad.id", Level::Ad, FieldKind::Id, "The ID of the ad."),
    field("ad_group_ad.ad.tracking_url_template", Level::Ad, FieldKind::Text, "The URL template for constructing a tracking URL."),
    field("ad_group_ad.ad.final_url_suffix", Level::Ad, FieldKind::Text, "The suffix to use when constructing a final URL."),
    field("ad_group_ad.ad.display_url", Level::Ad, FieldKind::Text, "The URL that appears in the ad description for some ad formats."),
    field("ad_group_ad.ad.type", Level::Ad, FieldKind::Enum, "The type of ad."),
    field("ad_group_ad.ad.added_by_google_ads", Level::Ad, FieldKind::Text, "Indicates if this ad was automatically added by Google Ads and not by a user."),
    field("ad_group_ad.ad.device_preference", Level::Ad, FieldKind::Enum, "The device preference for the ad."),
    field("ad_group_ad.ad.name", Level::Ad, FieldKind::Text, "The name of the ad."),
    field("ad_group_ad.ad.system_managed_resource_source", Level::Ad, FieldKind::Enum, "If this ad is system managed, then this field will indicate the source."),
    // Segments (common/segments.proto).
    FieldSpec::row_date(DATE),
    field("segments.week", Level::Account, FieldKind::Text, "Week as defined as Monday through Sunday, and represented by the date of Monday."),
    field("segments.month", Level::Account, FieldKind::Text, "Month as represented by the date of the first day of a month."),
    field("segments.quarter", Level::Account, FieldKind::Text, "Quarter as represented by the date of the first day of a quarter."),
    field("segments.year", Level::Account, FieldKind::Integer, "Year, formatted as yyyy."),
    field("segments.day_of_week", Level::Account, FieldKind::Enum, "Day of the week, for example, MONDAY."),
    field("segments.month_of_year", Level::Account, FieldKind::Enum, "Month of the year, for example, January."),
    field("segments.device", Level::Account, FieldKind::Enum, "Device to which metrics apply."),
    field("segments.ad_network_type", Level::Account, FieldKind::Enum, "Ad network type."),
    field("segments.click_type", Level::Account, FieldKind::Enum, "Click type."),
    field("segments.slot", Level::Account, FieldKind::Enum, "Position of the ad."),
    field("segments.conversion_action", Level::Account, FieldKind::Text, "Resource name of the conversion action."),
    field("segments.conversion_action_name", Level::Account, FieldKind::Text, "Conversion action name."),
    field("segments.conversion_action_category", Level::Account, FieldKind::Enum, "Conversion action category."),
    field("segments.conversion_attribution_event_type", Level::Account, FieldKind::Enum, "Conversion attribution event type."),
    field("segments.conversion_lag_bucket", Level::Account, FieldKind::Enum, "An enum value representing the number of days between the impression and the conversion."),
    field("segments.conversion_or_adjustment_lag_bucket", Level::Account, FieldKind::Enum, "An enum value representing the number of days between the impression and the conversion or between the impression and adjustments to the conversion."),
    field("segments.external_conversion_source", Level::Account, FieldKind::Enum, "External conversion source."),
    // Metrics (common/metrics.proto).
    field("metrics.impressions", Level::Account, FieldKind::Integer, "Count of how often your ad has appeared on a search results page or website on the Google Network."),
    field("metrics.clicks", Level::Account, FieldKind::Integer, "The number of clicks."),
    field(COST_MICROS, Level::Account, FieldKind::Money, "The sum of your cost-per-click (CPC) and cost-per-thousand impressions (CPM) costs during this period."),
    field(COST, Level::Account, FieldKind::Money, "The sum of costs in the account currency (metrics.cost_micros / 1,000,000, derived by adsync)."),
    field("metrics.ctr", Level::Account, FieldKind::Percent, "The number of clicks your ad receives (Clicks) divided by the number of times your ad is shown (Impressions)."),
    field("metrics.average_cpc", Level::Account, FieldKind::Money, "The total cost of all clicks divided by the total number of clicks received."),
    field("metrics.average_cpm", Level::Account, FieldKind::Money, "Average cost-per-thousand impressions (CPM)."),
    field("metrics.average_cost", Level::Account, FieldKind::Money, "The average amount you pay per interaction."),
    field("metrics.average_cpe", Level::Account, FieldKind::Money, "The average amount that you've been charged for an ad engagement."),
    field("metrics.trueview_average_cpv", Level::Account, FieldKind::Money, "The average amount you pay each time someone views your ad."),
    field("metrics.interactions", Level::Account, FieldKind::Integer, "The number of interactions."),
    field("metrics.interaction_rate", Level::Account, FieldKind::Percent, "How often people interact with your ad after it is shown to them."),
    field("metrics.engagements", Level::Account, FieldKind::Integer, "The number of engagements."),
    field("metrics.engagement_rate", Level::Account, FieldKind::Percent, "How often people engage with your ad after it's shown to them."),
    field("metrics.conversions", Level::Account, FieldKind::Decimal, "The number of conversions."),
    field("metrics.conversions_value", Level::Account, FieldKind::Money, "The value of conversions."),
    field("metrics.conversions_from_interactions_rate", Level::Account, FieldKind::Percent, "Conversions from interactions divided by the number of ad interactions (such as clicks for text ads or views for video ads)."),
    field("metrics.conversions_value_per_cost", Level::Account, FieldKind::Decimal, "The value of conversions divided by the cost of ad interactions."),
    field("metrics.conversions_from_interactions_value_per_interaction", Level::Account, FieldKind::Decimal, "The value of conversions from interactions divided by the number of ad interactions."),
    field("metrics.conversions_by_conversion_date", Level::Account, FieldKind::Decimal, "The number of conversions, by the date of the conversion."),
    field("metrics.conversions_value_by_conversion_date", Level::Account, FieldKind::Money, "The value of conversions, by the date of the conversion."),
    field("metrics.all_conversions", Level::Account, FieldKind::Decimal, "The total number of conversions."),
    field("metrics.all_conversions_value", Level::Account, FieldKind::Money, "The value of all conversions."),
    field("metrics.all_conversions_from_interactions_rate", Level::Account, FieldKind::Percent, "All conversions from interactions (as oppose to view through conversions) divided by the number of ad interactions."),
    field("metrics.all_conversions_value_per_cost", Level::Account, FieldKind::Decimal, "The value of all conversions divided by the total cost of ad interactions (such as clicks for text ads or views for video ads)."),
    field("metrics.all_conversions_by_conversion_date", Level::Account, FieldKind::Decimal, "The total number of conversions, by the date of the conversion."),
    field("metrics.all_conversions_value_by_conversion_date", Level::Account, FieldKind::Money, "The value of all conversions, by the date of the conversion."),
    field("metrics.all_conversions_from_interactions_value_per_interaction", Level::Account, FieldKind::Decimal, "The value of all conversions from interactions divided by the total number of interactions."),
    field("metrics.cost_per_conversion", Level::Account, FieldKind::Money, "The cost of ad interactions divided by conversions."),
    field("metrics.cost_per_all_conversions", Level::Account, FieldKind::Money, "The cost of ad interactions divided by all conversions."),
    field("metrics.value_per_conversion", Level::Account, FieldKind::Money, "The value of conversions divided by the number of conversions."),
    field("metrics.value_per_all_conversions", Level::Account, FieldKind::Money, "The value of all conversions divided by the number of all conversions."),
    field("metrics.value_per_conversions_by_conversion_date", Level::Account, FieldKind::Money, "The value of conversions divided by the number of conversions, by the date of the conversion."),
    field("metrics.value_per_all_conversions_by_conversion_date", Level::Account, FieldKind::Money, "The value of all conversions divided by the number of all conversions, by the date of the conversion."),
    field("metrics.view_through_conversions", Level::Account, FieldKind::Integer, "The total number of view-through conversions."),
    field("metrics.cross_device_conversions", Level::Account, FieldKind::Decimal, "Conversions from when a customer clicks on a Google Ads ad on one device, then converts on a different device or browser."),
    field("metrics.cross_device_conversions_value_micros", Level::Account, FieldKind::Money, "The sum of the value of cross-device conversions, in micros."),
    field("metrics.current_model_attributed_conversions", Level::Account, FieldKind::Decimal, "Shows how your historic conversions data would look under the attribution model you've currently selected."),
    field("metrics.current_model_attributed_conversions_value", Level::Account, FieldKind::Money, "The value of current model attributed conversions."),
    field("metrics.new_customer_lifetime_value", Level::Account, FieldKind::Money, "New customers' lifetime conversion value."),
    field("metrics.all_new_customer_lifetime_value", Level::Account, FieldKind::Money, "All of new customers' lifetime conversion value."),
    field("metrics.active_view_impressions", Level::Account, FieldKind::Integer, "A measurement of how often your ad has become viewable on a Display Network site."),
    field("metrics.active_view_measurable_impressions", Level::Account, FieldKind::Integer, "The number of times your ads are appearing on placements in positions where they can be seen."),
    field("metrics.active_view_measurable_cost_micros", Level::Account, FieldKind::Money, "The cost of the impressions you received that were measurable by Active View."),
    field("metrics.active_view_measurability", Level::Account, FieldKind::Percent, "The ratio of impressions that could be measured by Active View over the number of served impressions."),
    field("metrics.active_view_viewability", Level::Account, FieldKind::Percent, "The percentage of time when your ad appeared on an Active View enabled site (measurable impressions) and was viewable (viewable impressions)."),
    field("metrics.active_view_ctr", Level::Account, FieldKind::Percent, "Active view measurable clicks divided by active view viewable impressions."),
    field("metrics.active_view_cpm", Level::Account, FieldKind::Money, "Average cost of viewable impressions (active_view_impressions)."),
    field("metrics.video_trueview_views", Level::Account, FieldKind::Integer, "The number of TrueView views your video ads received."),
    field("metrics.video_trueview_view_rate", Level::Account, FieldKind::Percent, "The number of TrueView views your video ad receives divided by its number of impressions, including thumbnail impressions for TrueView in-display ads."),
    field("metrics.video_quartile_p25_rate", Level::Account, FieldKind::Percent, "Percentage of impressions where the viewer watched 25% of your video."),
    field("metrics.video_quartile_p50_rate", Level::Account, FieldKind::Percent, "Percentage of impressions where the viewer watched 50% of your video."),
    field("metrics.video_quartile_p75_rate", Level::Account, FieldKind::Percent, "Percentage of impressions where the viewer watched 75% of your video."),
    field("metrics.video_quartile_p100_rate", Level::Account, FieldKind::Percent, "Percentage of impressions where the viewer watched all of your video."),
    field("metrics.top_impression_percentage", Level::Account, FieldKind::Percent, "The percent of your ad impressions that are shown adjacent to the top organic search results."),
    field("metrics.absolute_top_impression_percentage", Level::Account, FieldKind::Percent, "Search absolute top impression share is the percentage of your Search ad impressions that are shown in the most prominent Search position."),
    field("metrics.gmail_forwards", Level::Account, FieldKind::Integer, "The number of times the ad was forwarded to someone else as a message."),
    field("metrics.gmail_saves", Level::Account, FieldKind::Integer, "The number of times someone has saved your Gmail ad to their inbox as a message."),
    field("metrics.gmail_secondary_clicks", Level::Account, FieldKind::Integer, "The number of clicks to the landing page on the expanded state of Gmail ads."),
];

/// Segments that split rows by conversion action or by how a conversion was counted. They
/// segment conversion metrics only ("Conversion metrics like conversions and all_conversions
/// can be segmented by conversion_action", https://developers.google.com/google-ads/api/docs/conversions/reporting);
/// with any other metric the API answers `PROHIBITED_SEGMENT_WITH_METRIC_IN_SELECT_OR_WHERE_CLAUSE`
/// (googleapis `google/ads/googleads/v25/errors/query_error.proto`).
const CONVERSION_SEGMENTS: &[&str] = &[
    "segments.conversion_action",
    "segments.conversion_action_name",
    "segments.conversion_action_category",
    "segments.conversion_attribution_event_type",
    "segments.conversion_lag_bucket",
    "segments.conversion_or_adjustment_lag_bucket",
    "segments.external_conversion_source",
];

/// The metrics [`CONVERSION_SEGMENTS`] can segment: counts and values of conversions, which
/// are attributed to one conversion action each (costs, clicks and rates are not).
const CONVERSION_METRICS: &[&str] = &[
    "metrics.conversions",
    "metrics.conversions_value",
    "metrics.conversions_by_conversion_date",
    "metrics.conversions_value_by_conversion_date",
    "metrics.all_conversions",
    "metrics.all_conversions_value",
    "metrics.all_conversions_by_conversion_date",
    "metrics.all_conversions_value_by_conversion_date",
    "metrics.value_per_conversion",
    "metrics.value_per_all_conversions",
    "metrics.value_per_conversions_by_conversion_date",
    "metrics.value_per_all_conversions_by_conversion_date",
    "metrics.view_through_conversions",
];

/// The fields of `columns` that cannot be selected together with the others, each with why:
/// a metric other than a conversion count or value beside a conversion segment.
pub(crate) fn unselectable(columns: &[&str]) -> Vec<(usize, String)> {
    let Some(segment) = columns.iter().find(|c| CONVERSION_SEGMENTS.contains(c)) else {
        return Vec::new();
    };
    columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.starts_with("metrics.") && !CONVERSION_METRICS.contains(c))
        .map(|(index, metric)| {
            (
                index,
                format!(
                    "field {metric:?} cannot be selected with {segment:?}: conversion segments split only conversion metrics ({})",
                    CONVERSION_METRICS.join(", ")
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_segments_take_only_conversion_metrics() {
        let ok = [
            "campaign.name",
            "segments.conversion_action_name",
            "metrics.conversions",
            "metrics.all_conversions_value",
        ];
        assert!(unselectable(&ok).is_empty());
        let mixed = [
            "segments.conversion_action",
            "metrics.clicks",
            "metrics.conversions",
            COST,
        ];
        let found: Vec<usize> = unselectable(&mixed).into_iter().map(|(i, _)| i).collect();
        assert_eq!(found, [1, 3]);
        assert!(unselectable(&["segments.device", "metrics.clicks"]).is_empty());
    }

    #[test]
    fn every_field_is_described_and_every_conversion_name_is_in_the_catalog() {
        for spec in FIELDS {
            assert!(!spec.about.is_empty(), "{}", spec.name);
        }
        for name in CONVERSION_SEGMENTS.iter().chain(CONVERSION_METRICS) {
            assert!(FIELDS.iter().any(|f| f.name == *name), "{name}");
        }
        let mut names: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FIELDS.len());
        assert!(FIELDS.iter().any(|f| f.name == COST_MICROS));
        assert!(FIELDS.iter().any(|f| f.name == DATE && f.is_row_date));
    }
}
