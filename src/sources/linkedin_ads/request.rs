//! adAnalytics requests: the Rest.li 2.0 query string, split under the metric cap, and sent
//! tunneled when the URL would be too long.
//!
//! Rest.li 2.0 writes structured parameters in its own syntax — `List(a,b)` for lists,
//! `(key:value,…)` for records — whose parentheses, commas and colons must reach the server
//! as they are, while the values inside must be percent-encoded
//! (`List(urn%3Ali%3AsponsoredAccount%3A511009658)`). A generic URL encoder either encodes
//! the structure too or leaves the URN's colons bare, and LinkedIn rejects both, so the query
//! string is written here byte by byte and handed to the URL unchanged.

use chrono::{Datelike, NaiveDate};
use url::Url;

use crate::query::{Level, Query, TimeIncrement};
use crate::rows::DateWindow;

use super::fields;
use crate::platform::linkedin_ads::ACCOUNT_URN_PREFIX;
use crate::query::filters::linkedin_facet_ids as facet_ids;
pub(crate) use crate::query::filters::Facet;

/// Metrics one request may ask for: adAnalytics takes "a max of 20 fields per request", and
/// `dateRange` and `pivotValues` are two of them (airbytehq/airbyte `source-linkedin-ads`
/// chunks its metrics by 18 for this, citing
/// https://learn.microsoft.com/en-us/linkedin/marketing/integrations/ads-reporting/ads-reporting#requesting-specific-metrics-in-the-analytics-finder).
pub(crate) const MAX_METRICS_PER_REQUEST: usize = 18;
/// Longest query string LinkedIn accepts ("Query Tunneling" guide: 4 KB query string, 8 KB raw
/// URL; longer requests get a 414). Longer queries travel in a tunneled POST body instead.
pub(crate) const MAX_QUERY_BYTES: usize = 4096;
/// Longest raw URL LinkedIn accepts (same guide).
pub(crate) const MAX_URL_BYTES: usize = 8192;
/// The Rest.li protocol whose syntax the query string uses.
pub(crate) const RESTLI_PROTOCOL_VERSION: &str = "2.0.0";
/// The path of the analytics finder.
pub(crate) const ANALYTICS_PATH: &str = "/rest/adAnalytics";

/// What a row is about.
///
/// adsync's levels name Meta's hierarchy; LinkedIn's has the same shape under other names:
/// account → `ACCOUNT`, campaign → `CAMPAIGN_GROUP`, ad set → `CAMPAIGN` (LinkedIn's campaign
/// holds budget, schedule and targeting, as Meta's ad set does), ad → `CREATIVE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pivot {
    /// One row per ad account.
    Account,
    /// One row per campaign group.
    CampaignGroup,
    /// One row per campaign.
    Campaign,
    /// One row per creative.
    Creative,
}

impl Pivot {
    /// The pivot of an adsync level.
    pub(crate) fn of(level: Level) -> Pivot {
        match level {
            Level::Account => Pivot::Account,
            Level::Campaign => Pivot::CampaignGroup,
            Level::Adset => Pivot::Campaign,
            Level::Ad => Pivot::Creative,
        }
    }

    /// The `pivot` parameter value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Pivot::Account => "ACCOUNT",
            Pivot::CampaignGroup => "CAMPAIGN_GROUP",
            Pivot::Campaign => "CAMPAIGN",
            Pivot::Creative => "CREATIVE",
        }
    }
}

/// Why adAnalytics would reject `filter`: only `campaignGroups`, `campaigns` and `creatives`
/// with operator `IN` and a non-empty list of numeric ids are facets it knows.
#[cfg(test)]
pub(crate) fn check_filter(filter: &crate::query::Filter) -> Result<(), String> {
    facet_ids(filter).map(|_| ())
}

/// Rows per day or one per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Granularity {
    /// `DAILY`.
    Daily,
    /// `ALL`: one row per entity for the whole range.
    All,
}

impl Granularity {
    fn as_str(self) -> &'static str {
        match self {
            Granularity::Daily => "DAILY",
            Granularity::All => "ALL",
        }
    }
}

/// One analytics finder request for one ad account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AnalyticsRequest {
    /// What a row is about.
    pub(crate) pivot: Pivot,
    /// Daily or whole-range rows.
    pub(crate) granularity: Granularity,
    /// The dates, inclusive.
    pub(crate) window: DateWindow,
    /// The ad account's digits.
    pub(crate) account: String,
    /// Entity facets and their ids.
    pub(crate) facets: Vec<(Facet, Vec<String>)>,
    /// Metrics asked for, in the order the query lists them.
    pub(crate) metrics: Vec<String>,
}

impl AnalyticsRequest {
    /// The request for `account`'s rows of `query` over `window`; an error names a filter
    /// adAnalytics cannot take.
    pub(crate) fn new(query: &Query, account: &str, window: DateWindow) -> Result<Self, String> {
        let mut facets: Vec<(Facet, Vec<String>)> = Vec::new();
        for filter in &query.filters {
            let (facet, ids) = facet_ids(filter)?;
            if facets.iter().any(|(f, _)| *f == facet) {
                return Err(format!(
                    "the {:?} facet is filtered twice; list every id in one filter",
                    facet.param()
                ));
            }
            facets.push((facet, ids));
        }
        let mut metrics: Vec<String> = Vec::new();
        for name in query.fields.iter().filter(|f| fields::is_metric(f)) {
            if !metrics.contains(name) {
                metrics.push(name.clone());
            }
        }
        Ok(Self {
            pivot: Pivot::of(query.level),
            granularity: match query.time_increment {
                TimeIncrement::Daily => Granularity::Daily,
                TimeIncrement::Total => Granularity::All,
            },
            window,
            account: account.to_string(),
            facets,
            metrics,
        })
    }

    /// This request cut into requests of at most [`MAX_METRICS_PER_REQUEST`] metrics each
    /// (one request when it has none), to be merged by date and pivot value.
    pub(crate) fn split(&self) -> Vec<AnalyticsRequest> {
        if self.metrics.len() <= MAX_METRICS_PER_REQUEST {
            return vec![self.clone()];
        }
        self.metrics
            .chunks(MAX_METRICS_PER_REQUEST)
            .map(|metrics| AnalyticsRequest {
                metrics: metrics.to_vec(),
                ..self.clone()
            })
            .collect()
    }

    /// This daily request as two requests of half its days each; `None` for a single day or
    /// for totals (whose rows would change if the window did).
    pub(crate) fn halves(&self) -> Option<(AnalyticsRequest, AnalyticsRequest)> {
        if self.granularity != Granularity::Daily || self.window.days() < 2 {
            return None;
        }
        let first_end = self.window.start + chrono::Days::new((self.window.days() / 2 - 1) as u64);
        let first = AnalyticsRequest {
            window: DateWindow::new(self.window.start, first_end),
            ..self.clone()
        };
        let second = AnalyticsRequest {
            window: DateWindow::new(first_end + chrono::Days::new(1), self.window.end),
            ..self.clone()
        };
        Some((first, second))
    }

    /// The query string, exactly as it goes on the wire.
    pub(crate) fn query_string(&self) -> String {
        let mut query = format!(
            "q=analytics&pivot={}&timeGranularity={}&dateRange=(start:{},end:{})&accounts=List({})",
            self.pivot.as_str(),
            self.granularity.as_str(),
            restli_date(self.window.start),
            restli_date(self.window.end),
            restli_escape(&format!("{ACCOUNT_URN_PREFIX}{}", self.account)),
        );
        for (facet, ids) in &self.facets {
            let urns: Vec<String> = ids
                .iter()
                .map(|id| restli_escape(&format!("{}{id}", facet.urn_prefix())))
                .collect();
            query.push_str(&format!("&{}=List({})", facet.param(), urns.join(",")));
        }
        // Field names are plain identifiers: nothing to encode.
        query.push_str("&fields=dateRange,pivotValues");
        for metric in &self.metrics {
            query.push(',');
            query.push_str(metric);
        }
        query
    }
}

/// How a request goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Wire {
    /// A plain GET of this URL.
    Get(Url),
    /// LinkedIn's query tunneling: a POST to `url` with `X-HTTP-Method-Override: GET` and the
    /// query string as a form body, for queries past [`MAX_QUERY_BYTES`].
    Tunneled {
        /// The URL without a query.
        url: Url,
        /// The query string.
        body: String,
    },
}

impl Wire {
    /// The request for `query` on `path` of `base`: a GET while the URL stays within
    /// LinkedIn's limits, tunneled otherwise.
    pub(crate) fn new(base: &Url, path: &str, query: &str) -> Wire {
        let mut url = base.clone();
        url.set_path(path);
        let url_bytes = url.as_str().len() + 1 + query.len();
        if query.len() <= MAX_QUERY_BYTES && url_bytes <= MAX_URL_BYTES {
            // `set_query` percent-encodes only what a URL cannot hold (spaces, quotes, `#`,
            // `<`, `>`), none of which the query has, so its bytes go out unchanged.
            url.set_query(Some(query));
            Wire::Get(url)
        } else {
            Wire::Tunneled {
                url,
                body: query.to_string(),
            }
        }
    }

    /// The request for a token, with LinkedIn's version headers.
    pub(crate) fn build(&self, http: &reqwest::Client, token: &str, version: &str) -> reqwest::RequestBuilder {
        let request = match self {
            Wire::Get(url) => http.get(url.clone()),
            Wire::Tunneled { url, body } => http
                .post(url.clone())
                .header("X-HTTP-Method-Override", "GET")
                .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body.clone()),
        };
        request
            .bearer_auth(token)
            .header("LinkedIn-Version", version)
            .header("X-Restli-Protocol-Version", RESTLI_PROTOCOL_VERSION)
    }
}

/// A Rest.li 2.0 date record: `(year:2025,month:3,day:1)`.
fn restli_date(day: NaiveDate) -> String {
    format!("(year:{},month:{},day:{})", day.year(), day.month(), day.day())
}

/// A value inside Rest.li 2.0 structure, percent-encoded so its own `:`, `,` and parentheses
/// cannot be read as structure: `urn:li:sponsoredAccount:1` → `urn%3Ali%3AsponsoredAccount%3A1`.
pub(crate) fn restli_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::Filter;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn request(metrics: &[&str]) -> AnalyticsRequest {
        AnalyticsRequest {
            pivot: Pivot::Campaign,
            granularity: Granularity::Daily,
            window: DateWindow::new(day("2025-03-01"), day("2025-03-31")),
            account: "511009658".into(),
            facets: Vec::new(),
            metrics: metrics.iter().map(|m| m.to_string()).collect(),
        }
    }

    #[test]
    fn the_url_on_the_wire_is_the_documented_one_byte_for_byte() {
        let request = request(&[
            "impressions",
            "clicks",
            "costInLocalCurrency",
            "costInUsd",
            "externalWebsiteConversions",
        ]);
        let base = Url::parse("https://api.linkedin.com").unwrap();
        let Wire::Get(url) = Wire::new(&base, ANALYTICS_PATH, &request.query_string()) else {
            panic!("a short query is a GET");
        };
        // api-facts §5.2, joined onto one line.
        assert_eq!(
            url.as_str(),
            "https://api.linkedin.com/rest/adAnalytics?q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY\
             &dateRange=(start:(year:2025,month:3,day:1),end:(year:2025,month:3,day:31))\
             &accounts=List(urn%3Ali%3AsponsoredAccount%3A511009658)\
             &fields=dateRange,pivotValues,impressions,clicks,costInLocalCurrency,costInUsd,externalWebsiteConversions"
        );
    }

    #[test]
    fn reqwest_sends_the_query_unchanged() {
        let mut request = request(&["impressions"]);
        request.facets = vec![(Facet::Campaigns, vec!["600001".into(), "600002".into()])];
        let base = Url::parse("http://127.0.0.1:9").unwrap();
        let wire = Wire::new(&base, ANALYTICS_PATH, &request.query_string());
        let built = wire.build(&reqwest::Client::new(), "tok", "202610").build().unwrap();
        assert_eq!(
            built.url().query(),
            Some(
                "q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY\
                 &dateRange=(start:(year:2025,month:3,day:1),end:(year:2025,month:3,day:31))\
                 &accounts=List(urn%3Ali%3AsponsoredAccount%3A511009658)\
                 &campaigns=List(urn%3Ali%3AsponsoredCampaign%3A600001,urn%3Ali%3AsponsoredCampaign%3A600002)\
                 &fields=dateRange,pivotValues,impressions"
            )
        );
        assert_eq!(built.headers()["LinkedIn-Version"], "202610");
        assert_eq!(built.headers()["X-Restli-Protocol-Version"], "2.0.0");
        assert_eq!(built.headers()["Authorization"], "Bearer tok");
    }

    #[test]
    fn long_queries_are_tunneled_with_the_query_as_body() {
        let mut request = request(&["impressions"]);
        request.facets = vec![(Facet::Campaigns, (0..200).map(|i| format!("60{i:07}")).collect())];
        let query = request.query_string();
        assert!(query.len() > MAX_QUERY_BYTES);
        let base = Url::parse("https://api.linkedin.com").unwrap();
        let wire = Wire::new(&base, ANALYTICS_PATH, &query);
        let built = wire.build(&reqwest::Client::new(), "tok", "202610").build().unwrap();
        assert_eq!(built.method(), reqwest::Method::POST);
        assert_eq!(built.url().as_str(), "https://api.linkedin.com/rest/adAnalytics");
        assert_eq!(built.headers()["X-HTTP-Method-Override"], "GET");
        assert_eq!(built.headers()["Content-Type"], "application/x-www-form-urlencoded");
        assert_eq!(built.body().unwrap().as_bytes(), Some(query.as_bytes()));
    }

    #[test]
    fn more_than_eighteen_metrics_are_split_in_order() {
        let names: Vec<String> = (0..45).map(|i| format!("m{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let parts = request(&names).split();
        let sizes: Vec<usize> = parts.iter().map(|p| p.metrics.len()).collect();
        assert_eq!(sizes, [18, 18, 9]);
        assert_eq!(parts[1].metrics[0], "m18");
        assert!(parts
            .iter()
            .all(|p| p.account == "511009658" && p.pivot == Pivot::Campaign));
        assert_eq!(request(&["impressions"]).split().len(), 1);
        assert_eq!(request(&[]).split().len(), 1);
    }

    #[test]
    fn daily_requests_halve_and_totals_do_not() {
        let (first, second) = request(&["impressions"]).halves().unwrap();
        assert_eq!(first.window.to_string(), "2025-03-01..2025-03-15");
        assert_eq!(second.window.to_string(), "2025-03-16..2025-03-31");
        let mut one_day = request(&[]);
        one_day.window = DateWindow::new(day("2025-03-01"), day("2025-03-01"));
        assert!(one_day.halves().is_none());
        let mut total = request(&[]);
        total.granularity = Granularity::All;
        assert!(total.halves().is_none());
    }

    #[test]
    fn levels_map_to_linkedin_pivots() {
        assert_eq!(Pivot::of(Level::Account).as_str(), "ACCOUNT");
        assert_eq!(Pivot::of(Level::Campaign).as_str(), "CAMPAIGN_GROUP");
        assert_eq!(Pivot::of(Level::Adset).as_str(), "CAMPAIGN");
        assert_eq!(Pivot::of(Level::Ad).as_str(), "CREATIVE");
    }

    #[test]
    fn filters_are_facets_with_in_and_ids() {
        let filter = |field: &str, operator: &str, value: serde_json::Value| Filter {
            field: field.into(),
            operator: operator.into(),
            value,
        };
        assert!(check_filter(&filter("campaigns", "IN", serde_json::json!(["600001", 600002]))).is_ok());
        let unknown = check_filter(&filter("campaign.name", "IN", serde_json::json!(["x"]))).unwrap_err();
        assert!(unknown.contains("\"campaigns\""), "{unknown}");
        assert!(check_filter(&filter("campaigns", "EQUAL", serde_json::json!(["1"]))).is_err());
        assert!(check_filter(&filter("creatives", "IN", serde_json::json!([]))).is_err());
        assert!(check_filter(&filter("creatives", "IN", serde_json::json!("1"))).is_err());
        assert!(check_filter(&filter(
            "creatives",
            "IN",
            serde_json::json!(["urn:li:sponsoredCreative:1"])
        ))
        .is_err());
    }

    #[test]
    fn escaping_leaves_only_unreserved_bytes() {
        assert_eq!(
            restli_escape("urn:li:sponsoredAccount:1"),
            "urn%3Ali%3AsponsoredAccount%3A1"
        );
        assert_eq!(restli_escape("a,b (c)"), "a%2Cb%20%28c%29");
    }
}
