//! Meta Ads: the Graph API Insights edge.

pub mod fields;
