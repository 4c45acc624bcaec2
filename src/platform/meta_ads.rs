//! The Insights fields and breakdowns adsync knows for Meta Ads.
//!
//! Names follow the Graph API `AdsInsights` object. Metrics come back as decimal strings and
//! are written unchanged.
//!
//! Also Meta's constant facts: its OAuth scope, how far back it reports, how long a
//! date slice one request may cover, where the real API is, and what an account id looks like.

use super::{FieldKind, FieldSpec, Level};
use FieldKind::{ActionList, Date, Decimal, Enum, Id, Integer, Money, Percent, Text};

/// Windows longer than this many days are fetched with an async report run (daily reports
/// are cut into slices of at most this many days before they get here).
pub(crate) const ASYNC_AFTER_DAYS: i64 = 31;

/// The permission reports need.
pub(crate) const SCOPE: &str = "ads_read";

/// Graph keeps insights for 37 months.
pub(crate) const HISTORY_MONTHS: u32 = 37;

/// Where the real Graph API is.
pub(crate) const GRAPH_BASE: &str = "https://graph.facebook.com";

const fn field(name: &'static str, min_level: Level, kind: FieldKind, about: &'static str) -> FieldSpec {
    FieldSpec::new(name, min_level).kind(kind).about(about)
}

/// Every `AdsInsights` field with a column form: the SDK's `AdsInsights.Field` list less the
/// nine `list<Object>` and four `list<AdsHistogramStats>` fields (results, cost per result,
/// video retention curves), which hold no value per action type. The ones analysts use most
/// come first (entity attributes, delivery and cost metrics, the main action lists), as
/// `adsync fields` lists them in this order.
///
/// Source: facebook/facebook-python-business-sdk `facebook_business/adobjects/adsinsights.py`
/// (`Field`, `_field_types`: `list<AdsActionStats>` are the action lists) and
/// https://developers.facebook.com/docs/marketing-api/reference/adgroup/insights/ (meanings,
/// levels; rankings are ad-level).
#[rustfmt::skip]
pub(crate) const FIELDS: &[FieldSpec] = &[
    FieldSpec::row_date("date_start"),
    field("date_stop", Level::Account, Date, "The last day the row covers."),
    field("account_id", Level::Account, Id, "The ad account's id."),
    field("account_name", Level::Account, Text, "The ad account's name."),
    field("account_currency", Level::Account, Text, "The ISO code of the currency the account spends in."),
    field("campaign_id", Level::Campaign, Id, "The campaign's id."),
    field("campaign_name", Level::Campaign, Text, "The campaign's name."),
    field("objective", Level::Campaign, Enum, "The campaign's objective, e.g. OUTCOME_SALES."),
    field("buying_type", Level::Campaign, Enum, "How the campaign buys: AUCTION or RESERVED."),
    field("adset_id", Level::Adset, Id, "The ad set's id."),
    field("adset_name", Level::Adset, Text, "The ad set's name."),
    field("adset_start", Level::Adset, Date, "When the ad set starts running."),
    field("adset_end", Level::Adset, Date, "When the ad set stops running."),
    field("optimization_goal", Level::Adset, Enum, "What the ad set's delivery optimizes for, e.g. OFFSITE_CONVERSIONS."),
    field("ad_id", Level::Ad, Id, "The ad's id."),
    field("ad_name", Level::Ad, Text, "The ad's name."),
    field("created_time", Level::Account, Date, "When the reported object was created."),
    field("updated_time", Level::Account, Date, "When the reported object was last updated."),
    field("labels", Level::Account, Text, "The labels of the reported object."),
    field("location", Level::Account, Text, "The location of the reported object, where it has one."),
    field("age_targeting", Level::Adset, Text, "The age range the ad set targets."),
    field("gender_targeting", Level::Adset, Text, "The genders the ad set targets."),
    field("attribution_setting", Level::Adset, Enum, "The attribution setting that counts the conversions, e.g. 7d_click_1d_view."),
    field("anchor_event_attribution_setting", Level::Adset, Text, "The attribution setting of the anchor event."),
    field("multi_event_conversion_attribution_setting", Level::Adset, Text, "The attribution setting of multi-event conversions."),
    field("impressions", Level::Account, Integer, "Times the ads were on screen."),
    field("reach", Level::Account, Integer, "People who saw the ads at least once (estimated)."),
    field("frequency", Level::Account, Decimal, "Average times each person saw the ads (impressions / reach)."),
    field("full_view_impressions", Level::Account, Integer, "Impressions that were fully viewed (Page posts)."),
    field("full_view_reach", Level::Account, Integer, "People who fully viewed the ads (Page posts)."),
    field("clicks", Level::Account, Integer, "All clicks on the ads."),
    field("unique_clicks", Level::Account, Integer, "People who clicked the ads (estimated)."),
    field("inline_link_clicks", Level::Account, Integer, "Clicks on links in the ads that lead to destinations on or off Meta."),
    field("unique_inline_link_clicks", Level::Account, Integer, "People who clicked links in the ads (estimated)."),
    field("inline_link_click_ctr", Level::Account, Percent, "Link clicks per 100 impressions."),
    field("unique_inline_link_click_ctr", Level::Account, Percent, "Unique link clicks per 100 people reached."),
    field("unique_link_clicks_ctr", Level::Account, Percent, "Unique link clicks per 100 people reached."),
    field("inline_post_engagement", Level::Account, Integer, "Actions people took on the ads' posts (reactions, comments, shares, clicks)."),
    field("spend", Level::Account, Money, "Amount spent, in the account currency."),
    field("social_spend", Level::Account, Money, "Spend on impressions shown with social information (e.g. a friend liked the Page)."),
    field("cpc", Level::Account, Money, "Average cost per click (all)."),
    field("cpm", Level::Account, Money, "Average cost per 1,000 impressions."),
    field("cpp", Level::Account, Money, "Average cost to reach 1,000 people."),
    field("ctr", Level::Account, Percent, "Clicks (all) per 100 impressions."),
    field("unique_ctr", Level::Account, Percent, "Unique clicks per 100 people reached."),
    field("cost_per_unique_click", Level::Account, Money, "Average cost per unique click."),
    field("cost_per_inline_link_click", Level::Account, Money, "Average cost per link click."),
    field("cost_per_unique_inline_link_click", Level::Account, Money, "Average cost per unique link click."),
    field("cost_per_inline_post_engagement", Level::Account, Money, "Average cost per post engagement."),
    field("cost_per_estimated_ad_recallers", Level::Account, Money, "Average cost per person estimated to recall the ad within 2 days."),
    field("cost_per_dda_countby_convs", Level::Account, Money, "Average cost per data-driven-attribution conversion."),
    field("cost_per_message_delivered", Level::Account, Money, "Average cost per message delivered."),
    field("actions", Level::Account, ActionList, "Actions people took that are attributed to the ads (purchases, leads, link clicks, …), per action type."),
    field("unique_actions", Level::Account, ActionList, "People who took each action type (estimated), e.g. unique purchasers."),
    field("action_values", Level::Account, ActionList, "Total value of the actions of each type (purchases, …), in the account currency."),
    field("conversions", Level::Account, ActionList, "Conversions of each type (purchases, leads, … as standard and custom events)."),
    field("conversion_values", Level::Account, ActionList, "Value of the conversions of each type."),
    field("unique_conversions", Level::Account, ActionList, "People who converted, per conversion type."),
    field("cost_per_action_type", Level::Account, ActionList, "Average cost of one action of each type (cost per purchase, per lead, …)."),
    field("cost_per_unique_action_type", Level::Account, ActionList, "Average cost per person taking each action type."),
    field("cost_per_conversion", Level::Account, ActionList, "Average cost of one conversion of each type."),
    field("cost_per_unique_conversion", Level::Account, ActionList, "Average cost per person converting, per conversion type."),
    field("purchase_roas", Level::Account, ActionList, "Return on ad spend of all purchases (value / spend)."),
    field("website_purchase_roas", Level::Account, ActionList, "Return on ad spend of website purchases tracked by the Meta Pixel."),
    field("mobile_app_purchase_roas", Level::Account, ActionList, "Return on ad spend of mobile app purchases."),
    field("outbound_clicks", Level::Account, ActionList, "Clicks on links that take people off Meta technologies."),
    field("unique_outbound_clicks", Level::Account, ActionList, "People who clicked links that take them off Meta technologies."),
    field("cost_per_outbound_click", Level::Account, ActionList, "Average cost per outbound click."),
    field("video_play_actions", Level::Account, ActionList, "Times the videos started to play."),
    field("video_p25_watched_actions", Level::Account, ActionList, "Times the videos played to 25% of their length."),
    field("video_p50_watched_actions", Level::Account, ActionList, "Times the videos played to 50% of their length."),
    field("video_p75_watched_actions", Level::Account, ActionList, "Times the videos played to 75% of their length."),
    field("video_p95_watched_actions", Level::Account, ActionList, "Times the videos played to 95% of their length."),
    field("video_p100_watched_actions", Level::Account, ActionList, "Times the videos played to the end."),
    field("video_thruplay_watched_actions", Level::Account, ActionList, "Times the videos played to the end or for at least 15 seconds (ThruPlays)."),
    field("dda_countby_convs", Level::Account, Decimal, "Conversions counted by data-driven attribution."),
    field("estimated_ad_recallers", Level::Account, Integer, "People estimated to remember the ad if asked within 2 days."),
    field("estimated_ad_recallers_lower_bound", Level::Account, Integer, "Lower bound of the estimated ad recallers."),
    field("estimated_ad_recallers_upper_bound", Level::Account, Integer, "Upper bound of the estimated ad recallers."),
    field("estimated_ad_recall_rate", Level::Account, Percent, "Estimated ad recallers per 100 people reached."),
    field("estimated_ad_recall_rate_lower_bound", Level::Account, Percent, "Lower bound of the estimated ad recall rate."),
    field("estimated_ad_recall_rate_upper_bound", Level::Account, Percent, "Upper bound of the estimated ad recall rate."),
    field("quality_ranking", Level::Ad, Enum, "How the ad's perceived quality ranks against ads competing for the same audience."),
    field("engagement_rate_ranking", Level::Ad, Enum, "How the ad's expected engagement rate ranks against competing ads."),
    field("conversion_rate_ranking", Level::Ad, Enum, "How the ad's expected conversion rate ranks against ads with the same optimization goal."),
    field("creative_media_type", Level::Ad, Enum, "The ad creative's media type (image, video, carousel, …)."),
    field("creative_diversity_label", Level::Ad, Text, "A label of how diverse the ad's creatives are."),
    field("creative_diversity_score", Level::Ad, Decimal, "A score of how diverse the ad's creatives are."),
    field("opportunity_score_l4", Level::Account, Decimal, "Meta's opportunity score for the reported object."),
    field("auction_bid", Level::Account, Money, "The average bid in the auctions the ads entered."),
    field("auction_competitiveness", Level::Account, Decimal, "How competitive the auctions the ads entered were."),
    field("auction_max_competitor_bid", Level::Account, Money, "The highest competing bid in the auctions the ads entered."),
    field("wish_bid", Level::Account, Money, "The bid needed to win the auctions the ads lost."),
    field("canvas_avg_view_percent", Level::Account, Percent, "Average share of the Instant Experience people viewed."),
    field("canvas_avg_view_time", Level::Account, Decimal, "Average seconds people spent viewing the Instant Experience."),
    field("instant_experience_clicks_to_open", Level::Account, Integer, "Clicks that opened the Instant Experience."),
    field("instant_experience_clicks_to_start", Level::Account, Integer, "Clicks that started the Instant Experience."),
    field("instagram_profile_visits", Level::Account, Integer, "Visits to the Instagram profile from the ads."),
    field("instagram_upcoming_event_reminders_set", Level::Account, Integer, "Reminders set for an upcoming Instagram event."),
    field("landing_page_view_actions_per_link_click", Level::Account, Decimal, "Landing page views per link click."),
    field("landing_page_view_per_link_click", Level::Account, Decimal, "Landing page views per link click."),
    field("landing_page_view_per_purchase_rate", Level::Account, Percent, "Purchases per 100 landing page views."),
    field("purchase_per_landing_page_view", Level::Account, Decimal, "Purchases per landing page view."),
    field("purchases_per_link_click", Level::Account, Decimal, "Purchases per link click."),
    field("product_views", Level::Account, Integer, "Views of catalog products from the ads."),
    field("shop_clicks", Level::Account, Integer, "Clicks to a shop from the ads."),
    field("shops_assisted_purchases", Level::Account, Integer, "Purchases the shop experience helped bring about."),
    field("total_card_view", Level::Account, Integer, "Views of cards in carousel ads."),
    field("total_postbacks", Level::Account, Integer, "SKAdNetwork postbacks received from Apple."),
    field("messages_delivered", Level::Account, Integer, "Messages delivered."),
    field("messages_delivered_ctr", Level::Account, Percent, "Clicks per 100 messages delivered."),
    field("read_rate", Level::Account, Percent, "Messages read per 100 delivered."),
    field("qualifying_question_qualify_answer_rate", Level::Account, Percent, "Share of lead form answers that qualified."),
    field("place_page_name", Level::Account, Text, "The name of the place page of the ad."),
    field("product_retailer_id", Level::Account, Text, "The retailer id of the catalog product."),
    field("product_group_retailer_id", Level::Account, Text, "The retailer id of the catalog product group."),
    field("advanced_reach_1d_lookback", Level::Account, Integer, "People reached, de-duplicated over a 1-day lookback."),
    field("advanced_reach_7d_lookback", Level::Account, Integer, "People reached, de-duplicated over a 7-day lookback."),
    field("advanced_reach_28d_lookback", Level::Account, Integer, "People reached, de-duplicated over a 28-day lookback."),
    field("anchor_events_performance_indicator", Level::Account, Text, "The performance indicator of the anchor events."),
    field("result_values_performance_indicator", Level::Account, Text, "The performance indicator of the result values."),
    field("configurable_reachbyfrequency_converters_count", Level::Account, Integer, "Converters counted by the configurable reach-by-frequency report."),
    field("configurable_reachbyfrequency_impressions_cost", Level::Account, Money, "Impression cost in the configurable reach-by-frequency report."),
    field("configurable_reachbyfrequency_impressions_count", Level::Account, Integer, "Impressions in the configurable reach-by-frequency report."),
    field("configurable_reachbyfrequency_reach", Level::Account, Integer, "Reach in the configurable reach-by-frequency report."),
    field("marketing_messages_sent", Level::Account, Integer, "Marketing messages sent."),
    field("marketing_messages_delivered", Level::Account, Integer, "Marketing messages delivered."),
    field("marketing_messages_delivery_rate", Level::Account, Percent, "Marketing messages delivered per 100 sent."),
    field("marketing_messages_read", Level::Account, Integer, "Marketing messages read."),
    field("marketing_messages_read_rate", Level::Account, Percent, "Marketing messages read per 100 delivered."),
    field("marketing_messages_read_rate_benchmark", Level::Account, Percent, "The read rate of comparable businesses' marketing messages."),
    field("marketing_messages_click_rate_benchmark", Level::Account, Percent, "The click rate of comparable businesses' marketing messages."),
    field("marketing_messages_link_btn_click", Level::Account, Integer, "Clicks on link buttons in marketing messages."),
    field("marketing_messages_link_btn_click_rate", Level::Account, Percent, "Link button clicks per 100 marketing messages delivered."),
    field("marketing_messages_quick_reply_btn_click", Level::Account, Integer, "Clicks on quick-reply buttons in marketing messages."),
    field("marketing_messages_quick_reply_btn_click_rate", Level::Account, Percent, "Quick-reply clicks per 100 marketing messages delivered."),
    field("marketing_messages_phone_call_btn_click_rate", Level::Account, Percent, "Phone-call button clicks per 100 marketing messages delivered."),
    field("marketing_messages_media_view_rate", Level::Account, Percent, "Media views per 100 marketing messages delivered."),
    field("marketing_messages_cost_per_delivered", Level::Account, Money, "Average cost per marketing message delivered."),
    field("marketing_messages_cost_per_link_btn_click", Level::Account, Money, "Average cost per link button click in marketing messages."),
    field("marketing_messages_spend", Level::Account, Money, "Amount spent on marketing messages."),
    field("marketing_messages_spend_currency", Level::Account, Text, "The currency of the marketing messages spend."),
    field("marketing_messages_website_add_to_cart", Level::Account, Integer, "Website add-to-carts after marketing messages."),
    field("marketing_messages_website_initiate_checkout", Level::Account, Integer, "Website checkouts started after marketing messages."),
    field("marketing_messages_website_purchase", Level::Account, Integer, "Website purchases after marketing messages."),
    field("marketing_messages_website_purchase_values", Level::Account, Money, "Value of website purchases after marketing messages."),
    field("average_purchases_conversion_value", Level::Account, ActionList, "Average value of one purchase."),
    field("conversion_leads", Level::Account, ActionList, "Leads that converted, per lead type."),
    field("conversion_lead_rate", Level::Account, ActionList, "Converted leads per 100 leads."),
    field("cost_per_conversion_lead", Level::Account, ActionList, "Average cost per converted lead."),
    field("ad_click_actions", Level::Account, ActionList, "Clicks on the ads, per action type."),
    field("ad_impression_actions", Level::Account, ActionList, "Impressions of the ads, per action type."),
    field("cost_per_ad_click", Level::Account, ActionList, "Average cost per ad click."),
    field("cost_per_one_thousand_ad_impression", Level::Account, ActionList, "Average cost per 1,000 ad impressions."),
    field("outbound_clicks_ctr", Level::Account, ActionList, "Outbound clicks per 100 impressions."),
    field("unique_outbound_clicks_ctr", Level::Account, ActionList, "Unique outbound clicks per 100 people reached."),
    field("cost_per_unique_outbound_click", Level::Account, ActionList, "Average cost per unique outbound click."),
    field("website_ctr", Level::Account, ActionList, "Link clicks to websites per 100 impressions."),
    field("instant_experience_outbound_clicks", Level::Account, ActionList, "Clicks in the Instant Experience that leave Meta technologies."),
    field("interactive_component_tap", Level::Account, ActionList, "Taps on interactive components (stickers, polls) of the ads."),
    field("video_view_per_impression", Level::Account, ActionList, "Video plays per impression."),
    field("video_continuous_2_sec_watched_actions", Level::Account, ActionList, "Times the videos played for at least 2 continuous seconds."),
    field("unique_video_continuous_2_sec_watched_actions", Level::Account, ActionList, "People who watched the videos for at least 2 continuous seconds."),
    field("video_6_sec_watched_actions", Level::Account, ActionList, "Times the videos played for at least 6 seconds."),
    field("video_15_sec_watched_actions", Level::Account, ActionList, "Times the videos played for at least 15 seconds."),
    field("unique_video_view_15_sec", Level::Account, ActionList, "People who watched the videos for at least 15 seconds."),
    field("video_30_sec_watched_actions", Level::Account, ActionList, "Times the videos played for at least 30 seconds (or to the end if shorter)."),
    field("video_avg_time_watched_actions", Level::Account, ActionList, "Average seconds the videos were watched."),
    field("video_time_watched_actions", Level::Account, ActionList, "Total seconds the videos were watched."),
    field("cost_per_thruplay", Level::Account, ActionList, "Average cost per ThruPlay."),
    field("cost_per_2_sec_continuous_video_view", Level::Account, ActionList, "Average cost per 2-second continuous video view."),
    field("cost_per_6_sec_video_view", Level::Account, ActionList, "Average cost per 6-second video view."),
    field("cost_per_15_sec_video_view", Level::Account, ActionList, "Average cost per 15-second video view."),
    field("catalog_segment_actions", Level::Account, ActionList, "Actions on the products of a catalog segment."),
    field("catalog_segment_value", Level::Account, ActionList, "Value of the actions on the products of a catalog segment."),
    field("catalog_segment_value_omni_purchase_roas", Level::Account, ActionList, "Return on ad spend of all purchases of a catalog segment."),
    field("catalog_segment_value_website_purchase_roas", Level::Account, ActionList, "Return on ad spend of website purchases of a catalog segment."),
    field("catalog_segment_value_mobile_purchase_roas", Level::Account, ActionList, "Return on ad spend of mobile app purchases of a catalog segment."),
    field("converted_product_quantity", Level::Account, ActionList, "Quantity of catalog products bought."),
    field("converted_product_value", Level::Account, ActionList, "Value of catalog products bought."),
    field("converted_product_omni_purchase", Level::Account, ActionList, "Catalog products bought on any channel."),
    field("converted_product_omni_purchase_values", Level::Account, ActionList, "Value of catalog products bought on any channel."),
    field("converted_product_website_pixel_purchase", Level::Account, ActionList, "Catalog products bought on the website (Meta Pixel)."),
    field("converted_product_website_pixel_purchase_value", Level::Account, ActionList, "Value of catalog products bought on the website (Meta Pixel)."),
    field("converted_product_app_custom_event_fb_mobile_purchase", Level::Account, ActionList, "Catalog products bought in the mobile app."),
    field("converted_product_app_custom_event_fb_mobile_purchase_value", Level::Account, ActionList, "Value of catalog products bought in the mobile app."),
    field("converted_product_offline_purchase", Level::Account, ActionList, "Catalog products bought offline."),
    field("converted_product_offline_purchase_value", Level::Account, ActionList, "Value of catalog products bought offline."),
    field("converted_promoted_product_quantity", Level::Account, ActionList, "Quantity of promoted catalog products bought."),
    field("converted_promoted_product_value", Level::Account, ActionList, "Value of promoted catalog products bought."),
    field("converted_promoted_product_omni_purchase", Level::Account, ActionList, "Promoted catalog products bought on any channel."),
    field("converted_promoted_product_omni_purchase_values", Level::Account, ActionList, "Value of promoted catalog products bought on any channel."),
    field("converted_promoted_product_website_pixel_purchase", Level::Account, ActionList, "Promoted catalog products bought on the website (Meta Pixel)."),
    field("converted_promoted_product_website_pixel_purchase_value", Level::Account, ActionList, "Value of promoted catalog products bought on the website (Meta Pixel)."),
    field("converted_promoted_product_app_custom_event_fb_mobile_purchase", Level::Account, ActionList, "Promoted catalog products bought in the mobile app."),
    field("converted_promoted_product_app_custom_event_fb_mobile_purchase_value", Level::Account, ActionList, "Value of promoted catalog products bought in the mobile app."),
    field("converted_promoted_product_offline_purchase", Level::Account, ActionList, "Promoted catalog products bought offline."),
    field("converted_promoted_product_offline_purchase_value", Level::Account, ActionList, "Value of promoted catalog products bought offline."),
    field("onsite_conversion_messaging_detected_purchase_deduped", Level::Account, ActionList, "Purchases detected in messaging conversations, de-duplicated."),
    field("advanced_actions_28d_view", Level::Account, ActionList, "Actions within 28 days of viewing the ads, de-duplicated."),
    field("configurable_attribution_action", Level::Account, ActionList, "Actions under a configurable attribution setting."),
    field("configurable_attribution_actionvalue", Level::Account, ActionList, "Action values under a configurable attribution setting."),
    field("configurable_audience_overlap_reach", Level::Account, ActionList, "Reach overlap between configurable audiences."),
    field("configurable_reachbyfrequency_action", Level::Account, ActionList, "Actions in the configurable reach-by-frequency report."),
    field("total_postbacks_detailed", Level::Account, ActionList, "SKAdNetwork postbacks per conversion value."),
    field("total_postbacks_detailed_v4", Level::Account, ActionList, "SKAdNetwork 4 postbacks per conversion value."),
];

const fn breakdown(name: &'static str, about: &'static str) -> FieldSpec {
    FieldSpec::new(name, Level::Account).about(about)
}

/// The documented breakdowns, with what each splits rows by.
///
/// Source: facebook-python-business-sdk `adsinsights.py`, `AdsInsights.Breakdowns`.
#[rustfmt::skip]
pub(crate) const BREAKDOWN_SPECS: &[FieldSpec] = &[
    breakdown("age", "The viewer's age bracket, e.g. 25-34."),
    breakdown("gender", "The viewer's gender."),
    breakdown("country", "The viewer's country, as an ISO code."),
    breakdown("region", "The viewer's region (state, province)."),
    breakdown("dma", "The viewer's Designated Market Area (US)."),
    breakdown("zip", "The viewer's postal code."),
    breakdown("comscore_market", "The viewer's comScore market."),
    breakdown("publisher_platform", "Where the ad ran: facebook, instagram, audience_network, messenger."),
    breakdown("platform_position", "The placement within the platform, e.g. feed, story."),
    breakdown("device_platform", "The viewer's device type: desktop, mobile_app, mobile_web."),
    breakdown("impression_device", "The device the ad was shown on, e.g. iphone, android_smartphone."),
    breakdown("frequency_value", "How many times the viewer had seen the ad."),
    breakdown("hourly_stats_aggregated_by_advertiser_time_zone", "The hour of the impression in the account's time zone."),
    breakdown("hourly_stats_aggregated_by_audience_time_zone", "The hour of the impression in the viewer's time zone."),
    breakdown("impression_view_time_advertiser_hour_v2", "The hour the impression was viewed, in the account's time zone."),
    breakdown("app_id", "The app the ad promotes."),
    breakdown("product_id", "The catalog product shown."),
    breakdown("product_brand_breakdown", "The catalog product's brand."),
    breakdown("product_category_breakdown", "The catalog product's category."),
    breakdown("product_custom_label_0_breakdown", "The catalog product's custom label 0."),
    breakdown("product_custom_label_1_breakdown", "The catalog product's custom label 1."),
    breakdown("product_custom_label_2_breakdown", "The catalog product's custom label 2."),
    breakdown("product_custom_label_3_breakdown", "The catalog product's custom label 3."),
    breakdown("product_custom_label_4_breakdown", "The catalog product's custom label 4."),
    breakdown("product_group_content_id_breakdown", "The catalog product group's content id."),
    breakdown("ad_format_asset", "The ad format asset (dynamic creative)."),
    breakdown("body_asset", "The body text asset (dynamic creative)."),
    breakdown("call_to_action_asset", "The call-to-action asset (dynamic creative)."),
    breakdown("description_asset", "The description asset (dynamic creative)."),
    breakdown("image_asset", "The image asset (dynamic creative)."),
    breakdown("link_url_asset", "The link URL asset (dynamic creative)."),
    breakdown("title_asset", "The title asset (dynamic creative)."),
    breakdown("video_asset", "The video asset (dynamic creative)."),
    breakdown("media_asset_url", "The URL of the media asset shown."),
    breakdown("media_creator", "The creator of the media shown."),
    breakdown("media_destination_url", "The destination URL of the media shown."),
    breakdown("media_format", "The format of the media shown."),
    breakdown("media_origin_url", "The origin URL of the media shown."),
    breakdown("media_text_content", "The text content of the media shown."),
    breakdown("media_type", "The type of the media shown."),
    breakdown("creative_automation_asset_id", "The id of an automatically generated creative asset."),
    breakdown("creative_relaxation_asset_type", "The type of a relaxed creative asset."),
    breakdown("flexible_format_asset_type", "The asset type of a flexible-format ad."),
    breakdown("gen_ai_asset_type", "The type of a generative-AI asset."),
    breakdown("ad_extension_domain", "The domain of an ad extension."),
    breakdown("ad_extension_url", "The URL of an ad extension."),
    breakdown("breakdown_ad_objective", "The objective of the ad."),
    breakdown("breakdown_reporting_ad_id", "The id of the ad the row reports on."),
    breakdown("existing_post_id", "The id of the existing post used as the ad."),
    breakdown("conversion_destination", "Where the conversion happened: website, app, messaging, …."),
    breakdown("landing_destination", "Where the click landed."),
    breakdown("mdsa_landing_destination", "Where the click of a multi-destination ad landed."),
    breakdown("is_auto_advance", "Whether the ad advanced automatically."),
    breakdown("is_conversion_id_modeled", "Whether the SKAdNetwork conversion id was modeled."),
    breakdown("is_rendered_as_delayed_skip_ad", "Whether the ad was rendered as a delayed-skip ad."),
    breakdown("fidelity_type", "The SKAdNetwork fidelity type of the impression."),
    breakdown("coarse_conversion_value", "The SKAdNetwork coarse conversion value."),
    breakdown("postback_sequence_index", "The SKAdNetwork postback sequence index."),
    breakdown("redownload", "Whether the SKAdNetwork install was a redownload."),
    breakdown("skan_campaign_id", "The SKAdNetwork campaign id."),
    breakdown("skan_conversion_id", "The SKAdNetwork conversion id."),
    breakdown("skan_version", "The SKAdNetwork version."),
    breakdown("instagram_ads_follow_type", "Whether the viewer followed the Instagram account."),
    breakdown("instagram_ads_instagram_media_product_type", "The Instagram media product type (feed, reels, …)."),
    breakdown("instagram_ads_time_since_creation_bucket", "How long after the Instagram post's creation it was shown."),
    breakdown("pa_creator_ig_handle", "The Instagram handle of a partnership ad's creator."),
    breakdown("reels_trending_topic", "The trending Reels topic the ad ran next to."),
    breakdown("rta_ugc_topic", "The user-generated content topic the ad ran next to."),
    breakdown("place_page_id", "The place page of the ad."),
    breakdown("marketing_messages_btn_name", "The button name of a marketing message."),
    breakdown("signal_source_bucket", "The source of the conversion signal."),
    breakdown("standard_event_content_type", "The content type of the standard event."),
    breakdown("user_persona_id", "The id of the audience persona."),
    breakdown("user_persona_name", "The name of the audience persona."),
    breakdown("overlap_segment", "The audience overlap segment."),
    breakdown("rule_set_id", "The id of the ad set's rule set."),
    breakdown("rule_set_name", "The name of the ad set's rule set."),
    breakdown("sot_attribution_model_type", "The attribution model of the source of truth."),
    breakdown("sot_attribution_window", "The attribution window of the source of truth."),
    breakdown("sot_channel", "The channel of the source of truth."),
    breakdown("sot_event_type", "The event type of the source of truth."),
    breakdown("sot_source", "The source of the source of truth."),
    breakdown("mmm", "Marketing mix modeling rows."),
    breakdown("hsid", "The hashed store id."),
    breakdown("internal_campaign_id", "Meta's internal campaign id."),
    breakdown("crm_advertiser_l12_territory_ids", "The advertiser's CRM territory ids."),
    breakdown("crm_advertiser_subvertical_id", "The advertiser's CRM subvertical."),
    breakdown("crm_advertiser_vertical_id", "The advertiser's CRM vertical."),
    breakdown("crm_ult_advertiser_id", "The advertiser's ultimate CRM id."),
];

/// The breakdown names, as query files write them.
pub(crate) const BREAKDOWNS: &[&str] = &names::<{ BREAKDOWN_SPECS.len() }>(BREAKDOWN_SPECS);

const fn names<const N: usize>(specs: &[FieldSpec]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = specs[i].name;
        i += 1;
    }
    out
}

/// The documented `action_attribution_windows`: with them, each action-list entry carries one
/// value per window besides `value`.
///
/// Source: facebook-python-business-sdk `adsinsights.py`, `AdsInsights.ActionAttributionWindows`
/// (the keys also appear in `adsactionstats.py`, `AdsActionStats.Field`).
pub(crate) const ATTRIBUTION_WINDOWS: &[&str] = &[
    "1d_click",
    "7d_click",
    "28d_click",
    "1d_view",
    "7d_view",
    "28d_view",
    "1d_ev",
    "7d_view_all_conversions",
    "7d_view_first_conversion",
    "28d_view_all_conversions",
    "28d_view_first_conversion",
    "dda",
    "default",
    "skan_click",
    "skan_click_second_postback",
    "skan_click_third_postback",
    "skan_view",
    "skan_view_second_postback",
    "skan_view_third_postback",
];

/// The documented `action_report_time` values: whether actions count on the day of the
/// impression, of the conversion, or mixed (on-Meta actions at impression time, off-Meta
/// conversions at conversion time).
///
/// Source: facebook-python-business-sdk `adsinsights.py`, `AdsInsights.ActionReportTime`;
/// https://developers.facebook.com/docs/marketing-api/reference/ad-account/insights/
pub(crate) const ACTION_REPORT_TIMES: &[&str] = &["impression", "conversion", "mixed", "lifetime"];

/// Action types analysts ask for most, shown by `adsync fields` as examples of
/// `field:<action_type>` columns (an account may report others, e.g. custom conversions).
///
/// Source: https://developers.facebook.com/docs/marketing-api/reference/ads-action-stats/
pub(crate) const COMMON_ACTION_TYPES: &[&str] = &[
    "purchase",
    "omni_purchase",
    "offsite_conversion.fb_pixel_purchase",
    "offsite_conversion.fb_pixel_add_to_cart",
    "offsite_conversion.fb_pixel_lead",
    "lead",
    "add_to_cart",
    "initiate_checkout",
    "complete_registration",
    "link_click",
    "landing_page_view",
    "video_view",
    "post_engagement",
    "mobile_app_install",
];

/// A column naming one action type of an action-list field (`actions:purchase`), and
/// optionally one attribution window (`actions:purchase:7d_click`); without a window the
/// cell is the entry's `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ActionColumn<'a> {
    /// The action-list field, e.g. `actions`.
    pub(crate) field: &'a str,
    /// The entry's `action_type`, e.g. `offsite_conversion.fb_pixel_purchase`.
    pub(crate) action_type: &'a str,
    /// One of the query's `action_attribution_windows`.
    pub(crate) window: Option<&'a str>,
}

impl<'a> ActionColumn<'a> {
    /// The parts of `column` when it has the `field:type[:window]` form (action types hold
    /// dots, never colons); `None` for a plain field name.
    pub(crate) fn parse(column: &'a str) -> Option<Self> {
        let (field, rest) = column.split_once(':')?;
        let (action_type, window) = match rest.split_once(':') {
            Some((action_type, window)) => (action_type, Some(window)),
            None => (rest, None),
        };
        Some(ActionColumn {
            field,
            action_type,
            window,
        })
    }
}

/// The Insights field a column reads: `actions` for `actions:purchase:7d_click`.
pub(crate) fn column_field(column: &str) -> &str {
    column.split_once(':').map_or(column, |(field, _)| field)
}

/// Why `id` is not a Meta ad account id (`act_<digits>`), if it is not.
pub(crate) fn check_account(id: &str) -> Result<(), String> {
    let valid = id
        .strip_prefix("act_")
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
    if valid {
        return Ok(());
    }
    let hint = if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        format!("; did you mean \"act_{id}\"?")
    } else {
        String::new()
    };
    Err(format!(
        "account id {id:?} is not a Meta ad account id: expected \"act_<digits>\", e.g. \"act_1001\"{hint}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_columns_name_a_type_and_maybe_a_window() {
        assert_eq!(ActionColumn::parse("impressions"), None);
        assert_eq!(
            ActionColumn::parse("actions:offsite_conversion.fb_pixel_purchase"),
            Some(ActionColumn {
                field: "actions",
                action_type: "offsite_conversion.fb_pixel_purchase",
                window: None
            })
        );
        let windowed = ActionColumn::parse("action_values:purchase:7d_click").unwrap();
        assert_eq!((windowed.action_type, windowed.window), ("purchase", Some("7d_click")));
        assert_eq!(column_field("actions:purchase:1d_view"), "actions");
        assert_eq!(column_field("spend"), "spend");
    }

    #[test]
    fn the_catalog_has_the_sdk_fields_once_each_and_the_breakdown_names_follow_their_specs() {
        let mut names: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FIELDS.len());
        assert_eq!(FIELDS.len(), 206);
        assert!(FIELDS.iter().all(|f| !f.about.is_empty()));
        let lists = FIELDS.iter().filter(|f| f.kind == FieldKind::ActionList).count();
        assert_eq!(lists, 83);
        assert_eq!(BREAKDOWNS.len(), BREAKDOWN_SPECS.len());
        assert!(BREAKDOWN_SPECS
            .iter()
            .zip(BREAKDOWNS)
            .all(|(spec, name)| spec.name == *name));
    }
}
