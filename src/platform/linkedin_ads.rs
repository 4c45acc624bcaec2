//! The adAnalytics fields adsync knows for LinkedIn Ads.
//!
//! Three columns describe the row and are read from every element whatever was asked:
//! `date` and `date_end` (the element's `dateRange` start and end as `YYYY-MM-DD`; the same day
//! for daily rows, the window's ends for totals) and `pivot_value` (the URN of the account,
//! campaign group, campaign or creative the row is about, `pivotValues[0]`). Every other
//! field is a metric, named as adAnalytics names it and written as the API sent it (counts
//! are JSON numbers, money is a decimal string).
//!
//! Also LinkedIn Ads's constant facts: its OAuth scope, how far back it reports, how long a
//! date slice one request may cover, where the real API is, and what an account id looks like.

use super::{FieldKind, FieldSpec, Level};

/// The URN prefix of ad account ids.
pub(crate) const ACCOUNT_URN_PREFIX: &str = "urn:li:sponsoredAccount:";

/// The OAuth scope that reads ad analytics.
pub(crate) const SCOPE: &str = "r_ads_reporting";

/// How far back reports go.
pub(crate) const HISTORY_MONTHS: u32 = 24;

/// Daily windows are read a month at a time, keeping each answer well under the element cap.
pub(crate) const MAX_UNIT_DAYS: Option<i64> = Some(31);

/// Where the real LinkedIn API is.
pub(crate) const API_BASE: &str = "https://api.linkedin.com";

/// The row's first day (`dateRange.start`).
pub(crate) const DATE: &str = "date";
/// The row's last day (`dateRange.end`).
pub(crate) const DATE_END: &str = "date_end";
/// The URN the row is about (`pivotValues[0]`).
pub(crate) const PIVOT_VALUE: &str = "pivot_value";

const fn metric(name: &'static str, kind: FieldKind, about: &'static str) -> FieldSpec {
    FieldSpec::new(name, Level::Account).kind(kind).about(about)
}

/// Every field a query may name: the three row-describing columns, then every metric of
/// the adAnalytics "Metrics Available" table
/// (https://learn.microsoft.com/en-us/linkedin/marketing/integrations/ads-reporting/ads-reporting-schema,
/// as also listed by airbytehq/airbyte `source-linkedin-ads` `ANALYTICS_FIELDS_V2`), each
/// `viral…` metric being its base metric counted on the ad's viral distribution.
pub(crate) const FIELDS: &[FieldSpec] = &[
    FieldSpec::row_date(DATE),
    FieldSpec::new(DATE_END, Level::Account)
        .kind(FieldKind::Date)
        .about("The last day the row covers (dateRange.end): the same day for daily rows."),
    FieldSpec::new(PIVOT_VALUE, Level::Account)
        .kind(FieldKind::Id)
        .about("The URN of the account, campaign group, campaign or creative the row is about."),
    metric("actionClicks", FieldKind::Integer, "Clicks on the action button of a Sponsored Messaging ad."),
    metric("adUnitClicks", FieldKind::Integer, "Clicks on the ad unit shown beside a Sponsored Messaging ad."),
    metric("approximateMemberReach", FieldKind::Integer, "Estimated unique members with at least one impression (non-demographic pivots, windows of 92 days or less)."),
    metric("audiencePenetration", FieldKind::Percent, "Unique members reached divided by the target audience size (ACCOUNT, CAMPAIGN_GROUP or CAMPAIGN pivots; API 202411 on)."),
    metric("averageDwellTime", FieldKind::Integer, "Average seconds more than half of the ad stayed in view (API 202411 on)."),
    metric("cardClicks", FieldKind::Integer, "Clicks on each card of a carousel ad (non-demographic pivots)."),
    metric("cardImpressions", FieldKind::Integer, "Impressions of each card of a carousel ad (non-demographic pivots)."),
    metric("clicks", FieldKind::Integer, "Chargeable clicks (e.g. to the landing page or company page), counted for CPM campaigns too."),
    metric("commentLikes", FieldKind::Integer, "Likes of comments on the ad."),
    metric("comments", FieldKind::Integer, "Comments on the ad."),
    metric("companyPageClicks", FieldKind::Integer, "Clicks through to the company page."),
    metric("conversionValueInLocalCurrency", FieldKind::Money, "Value of the conversions, by the advertiser's conversion rules, in the account currency."),
    metric("costInLocalCurrency", FieldKind::Money, "Spend in the account currency."),
    metric("costInUsd", FieldKind::Money, "Spend in US dollars."),
    metric("documentCompletions", FieldKind::Integer, "Times members reached the end of a document ad."),
    metric("documentFirstQuartileCompletions", FieldKind::Integer, "Times members reached 25% of a document ad."),
    metric("documentMidpointCompletions", FieldKind::Integer, "Times members reached 50% of a document ad."),
    metric("documentThirdQuartileCompletions", FieldKind::Integer, "Times members reached 75% of a document ad."),
    metric("downloadClicks", FieldKind::Integer, "Times members asked to download the document of an ad."),
    metric("externalWebsiteConversions", FieldKind::Integer, "Conversions on the advertiser's website (Insight Tag or Conversions API), post-click and post-view."),
    metric("externalWebsitePostClickConversions", FieldKind::Integer, "Website conversions after a click on the ad."),
    metric("externalWebsitePostViewConversions", FieldKind::Integer, "Website conversions after a view of the ad, without a click."),
    metric("follows", FieldKind::Integer, "Follows of the company page from the ad."),
    metric("fullScreenPlays", FieldKind::Integer, "Times members switched a video ad to full screen."),
    metric("impressions", FieldKind::Integer, "Impressions (sends, for Sponsored Messaging)."),
    metric("jobApplications", FieldKind::Integer, "Job applications from the ad."),
    metric("jobApplyClicks", FieldKind::Integer, "Clicks on the apply button of a job ad."),
    metric("landingPageClicks", FieldKind::Integer, "Clicks that took a member to the ad's landing page."),
    metric("leadGenerationMailContactInfoShares", FieldKind::Integer, "Times members shared contact details through a Sponsored Messaging lead form."),
    metric("leadGenerationMailInterestedClicks", FieldKind::Integer, "Sponsored Messaging recipients who clicked to show interest."),
    metric("likes", FieldKind::Integer, "Likes of the ad."),
    metric("oneClickLeadFormOpens", FieldKind::Integer, "Times members opened a Lead Gen Form."),
    metric("oneClickLeads", FieldKind::Integer, "Leads submitted through Lead Gen Forms."),
    metric("opens", FieldKind::Integer, "Opens of Sponsored Messaging ads."),
    metric("otherEngagements", FieldKind::Integer, "Interactions with the ad that fit no more specific count."),
    metric("postClickJobApplications", FieldKind::Integer, "Job applications after a click on the ad."),
    metric("postClickJobApplyClicks", FieldKind::Integer, "Apply clicks after a click on the ad."),
    metric("postClickRegistrations", FieldKind::Integer, "Event registrations after a click on the ad."),
    metric("postViewJobApplications", FieldKind::Integer, "Job applications after a view of the ad."),
    metric("postViewJobApplyClicks", FieldKind::Integer, "Apply clicks after a view of the ad."),
    metric("postViewRegistrations", FieldKind::Integer, "Event registrations after a view of the ad."),
    metric("reactions", FieldKind::Integer, "Reactions to the ad."),
    metric("registrations", FieldKind::Integer, "Event registrations from the ad."),
    metric("sends", FieldKind::Integer, "Sends of Sponsored Messaging ads."),
    metric("shares", FieldKind::Integer, "Shares of the ad."),
    metric("talentLeads", FieldKind::Integer, "Talent leads from the ad."),
    metric("textUrlClicks", FieldKind::Integer, "Clicks on links in the text of the ad."),
    metric("totalEngagements", FieldKind::Integer, "All member interactions with the ad."),
    metric("validWorkEmailLeads", FieldKind::Integer, "Leads whose email address is a valid work address."),
    metric("videoCompletions", FieldKind::Integer, "Times a video ad was watched to the end."),
    metric("videoFirstQuartileCompletions", FieldKind::Integer, "Times a video ad was watched to 25%."),
    metric("videoMidpointCompletions", FieldKind::Integer, "Times a video ad was watched to 50%."),
    metric("videoStarts", FieldKind::Integer, "Times a video ad started playing."),
    metric("videoThirdQuartileCompletions", FieldKind::Integer, "Times a video ad was watched to 75%."),
    metric("videoViews", FieldKind::Integer, "Video views: 2 continuous seconds at least half in view, or a click on the call to action."),
    metric("viralCardClicks", FieldKind::Integer, "As cardClicks on the ad's viral distribution (members sharing or engaging)."),
    metric("viralCardImpressions", FieldKind::Integer, "As cardImpressions on the ad's viral distribution (members sharing or engaging)."),
    metric("viralClicks", FieldKind::Integer, "As clicks on the ad's viral distribution (members sharing or engaging)."),
    metric("viralCommentLikes", FieldKind::Integer, "As commentLikes on the ad's viral distribution (members sharing or engaging)."),
    metric("viralComments", FieldKind::Integer, "As comments on the ad's viral distribution (members sharing or engaging)."),
    metric("viralCompanyPageClicks", FieldKind::Integer, "As companyPageClicks on the ad's viral distribution (members sharing or engaging)."),
    metric("viralDocumentCompletions", FieldKind::Integer, "As documentCompletions on the ad's viral distribution (members sharing or engaging)."),
    metric("viralDocumentFirstQuartileCompletions", FieldKind::Integer, "As documentFirstQuartileCompletions on the ad's viral distribution (members sharing or engaging)."),
    metric("viralDocumentMidpointCompletions", FieldKind::Integer, "As documentMidpointCompletions on the ad's viral distribution (members sharing or engaging)."),
    metric("viralDocumentThirdQuartileCompletions", FieldKind::Integer, "As documentThirdQuartileCompletions on the ad's viral distribution (members sharing or engaging)."),
    metric("viralDownloadClicks", FieldKind::Integer, "As downloadClicks on the ad's viral distribution (members sharing or engaging)."),
    metric("viralExternalWebsiteConversions", FieldKind::Integer, "As externalWebsiteConversions on the ad's viral distribution (members sharing or engaging)."),
    metric("viralExternalWebsitePostClickConversions", FieldKind::Integer, "As externalWebsitePostClickConversions on the ad's viral distribution (members sharing or engaging)."),
    metric("viralExternalWebsitePostViewConversions", FieldKind::Integer, "As externalWebsitePostViewConversions on the ad's viral distribution (members sharing or engaging)."),
    metric("viralFollows", FieldKind::Integer, "As follows on the ad's viral distribution (members sharing or engaging)."),
    metric("viralFullScreenPlays", FieldKind::Integer, "As fullScreenPlays on the ad's viral distribution (members sharing or engaging)."),
    metric("viralImpressions", FieldKind::Integer, "As impressions on the ad's viral distribution (members sharing or engaging)."),
    metric("viralJobApplications", FieldKind::Integer, "As jobApplications on the ad's viral distribution (members sharing or engaging)."),
    metric("viralJobApplyClicks", FieldKind::Integer, "As jobApplyClicks on the ad's viral distribution (members sharing or engaging)."),
    metric("viralLandingPageClicks", FieldKind::Integer, "As landingPageClicks on the ad's viral distribution (members sharing or engaging)."),
    metric("viralLikes", FieldKind::Integer, "As likes on the ad's viral distribution (members sharing or engaging)."),
    metric("viralOneClickLeadFormOpens", FieldKind::Integer, "As oneClickLeadFormOpens on the ad's viral distribution (members sharing or engaging)."),
    metric("viralOneClickLeads", FieldKind::Integer, "As oneClickLeads on the ad's viral distribution (members sharing or engaging)."),
    metric("viralOtherEngagements", FieldKind::Integer, "As otherEngagements on the ad's viral distribution (members sharing or engaging)."),
    metric("viralPostClickJobApplications", FieldKind::Integer, "As postClickJobApplications on the ad's viral distribution (members sharing or engaging)."),
    metric("viralPostClickJobApplyClicks", FieldKind::Integer, "As postClickJobApplyClicks on the ad's viral distribution (members sharing or engaging)."),
    metric("viralPostClickRegistrations", FieldKind::Integer, "As postClickRegistrations on the ad's viral distribution (members sharing or engaging)."),
    metric("viralPostViewJobApplications", FieldKind::Integer, "As postViewJobApplications on the ad's viral distribution (members sharing or engaging)."),
    metric("viralPostViewJobApplyClicks", FieldKind::Integer, "As postViewJobApplyClicks on the ad's viral distribution (members sharing or engaging)."),
    metric("viralPostViewRegistrations", FieldKind::Integer, "As postViewRegistrations on the ad's viral distribution (members sharing or engaging)."),
    metric("viralReactions", FieldKind::Integer, "As reactions on the ad's viral distribution (members sharing or engaging)."),
    metric("viralRegistrations", FieldKind::Integer, "As registrations on the ad's viral distribution (members sharing or engaging)."),
    metric("viralShares", FieldKind::Integer, "As shares on the ad's viral distribution (members sharing or engaging)."),
    metric("viralTotalEngagements", FieldKind::Integer, "As totalEngagements on the ad's viral distribution (members sharing or engaging)."),
    metric("viralVideoCompletions", FieldKind::Integer, "As videoCompletions on the ad's viral distribution (members sharing or engaging)."),
    metric("viralVideoFirstQuartileCompletions", FieldKind::Integer, "As videoFirstQuartileCompletions on the ad's viral distribution (members sharing or engaging)."),
    metric("viralVideoMidpointCompletions", FieldKind::Integer, "As videoMidpointCompletions on the ad's viral distribution (members sharing or engaging)."),
    metric("viralVideoStarts", FieldKind::Integer, "As videoStarts on the ad's viral distribution (members sharing or engaging)."),
    metric("viralVideoThirdQuartileCompletions", FieldKind::Integer, "As videoThirdQuartileCompletions on the ad's viral distribution (members sharing or engaging)."),
    metric("viralVideoViews", FieldKind::Integer, "As videoViews on the ad's viral distribution (members sharing or engaging)."),
];

/// Whether `name` is a metric (asked for in `fields`), not a row-describing column.
pub(crate) fn is_metric(name: &str) -> bool {
    ![DATE, DATE_END, PIVOT_VALUE].contains(&name)
}

/// Why `id` is not a LinkedIn ad account id (digits), if it is not.
pub(crate) fn check_account(id: &str) -> Result<(), String> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    let hint = match id.strip_prefix(ACCOUNT_URN_PREFIX) {
        Some(digits) => format!("; did you mean \"{digits}\"?"),
        None => String::new(),
    };
    Err(format!(
        "account id {id:?} is not a LinkedIn ad account id: expected its digits, e.g. \"511009658\"{hint}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_digits_and_urns_get_a_hint() {
        assert!(check_account("511009658").is_ok());
        let error = check_account("urn:li:sponsoredAccount:511009658").unwrap_err();
        assert!(error.contains("did you mean \"511009658\""), "{error}");
        assert!(check_account("").is_err());
    }
}
