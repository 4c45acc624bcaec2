//! The status page's HTML, made from the status report alone. maud escapes every value it
//! interpolates, so a query name or a platform's error text cannot become markup.

use chrono::{DateTime, SecondsFormat, Utc};
use maud::{html, Markup};

use crate::status::{ConnectionView, QueryView, StatusReport};

/// The page body: connections, queries, query files that do not run, open gaps.
/// `reconnect_link` gives a connection's signed reconnect link.
pub(super) fn render(report: &StatusReport, reconnect_link: impl Fn(&str) -> String) -> Markup {
    let now = report.generated_at;
    // Connections that need a person come first.
    let rank = |state: &str| match state {
        "connected" => 3,
        "expiring" => 1,
        "not_connected" => 2,
        _ => 0,
    };
    let mut connections: Vec<_> = report.connections.iter().collect();
    connections.sort_by_key(|c| (rank(&c.state), c.id.clone()));
    html! {
        p.summary { "As of " (time(now)) ". " (summary(report)) }
        h2 { "Connections" }
        table {
            tr { th { "Connection" } th { "State" } th { "Why" } th { "Login" } th { "Queries through it" } th {} }
            @for c in connections {
                tr {
                    td {
                        (c.id) br;
                        small {
                            (c.provider) @if let Some(who) = &c.identity { " as " (who) }
                            @if let Some(before) = &c.previous_identity { " (before: " (before) ")" }
                        }
                    }
                    td { (state(&c.state)) @if let Some(since) = c.since { br; small { "since " (time(since)) } } }
                    td {
                        @if let Some(text) = &c.reason_text { (text) }
                        @else if c.state == "not_connected" { "Nobody has connected it yet." }
                        @if let Some(detail) = &c.detail { br; small { "The platform said: " (detail) } }
                    }
                    td { (login(c, now)) }
                    td { (queries_through(report, c)) }
                    td {
                        a.button href=(reconnect_link(&c.id)) {
                            @if c.state == "not_connected" { "Connect" } @else { "Reconnect" }
                        }
                    }
                }
            }
        }
        h2 { "Queries" }
        @if report.queries.is_empty() {
            p { "No query is loaded." }
        } @else {
            table {
                tr { th { "Query" } th { "State" } th { "Last run" } th { "Next run" } th { "Output" } }
                @for q in &report.queries {
                    tr {
                        td {
                            (q.name) br;
                            small { (q.platform) " · " code { (q.schedule) } " " (q.timezone) }
                        }
                        td {
                            (state(&q.state))
                            @if let Some(since) = q.state_since { br; small { "since " (time(since)) } }
                            @if let Some(text) = &q.state_text { p.why { (text) } }
                            @if let Some(errors) = &q.file_errors { p.why { (errors) } }
                        }
                        td { (last_run(q)) }
                        td { @match q.next_run { Some(at) => (time(at)), None => "not scheduled" } }
                        td.output {
                            code { (q.output) }
                            @if let Some(through) = &q.output_connection { br; small { "written through " (through) } }
                        }
                    }
                }
            }
        }
        h2 { "Query files that do not run" }
        (files(report))
        h2 { "Open gaps" }
        (gaps(report))
    }
}

/// One line that counts what needs a person.
fn summary(report: &StatusReport) -> String {
    let count = |state: &str| report.queries.iter().filter(|q| q.state == state).count();
    let attention = report.connections.iter().filter(|c| c.state != "connected").count();
    let open = report.gaps.iter().filter(|g| g.state == "open").count();
    format!(
        "{} queries: {} active, {} paused, {} broken; {} skipped query files; {} of {} connections need attention; {} open gaps.",
        report.queries.len(),
        count("active"),
        count("paused"),
        count("broken"),
        report.problems.len(),
        attention,
        report.connections.len(),
        open
    )
}

/// A state's name in words, its CSS class the name itself: states this page does not know
/// (added later) still show, in the attention colour.
fn state(name: &str) -> Markup {
    html! { span class={ "state " (name) } { (name.replace('_', " ")) } }
}

/// When the login ends, and the access token.
fn login(c: &ConnectionView, now: DateTime<Utc>) -> Markup {
    html! {
        @match c.expires_at {
            Some(at) if at <= now => { "ended " (time(at)) }
            Some(at) => { "ends " (time(at)) " (" (days_until(at, now)) ")" }
            None if c.last_refresh.is_some() => "no fixed end",
            None => "no login stored",
        }
        @if let Some(at) = c.access_expires_at {
            br; small { "access token until " (time(at)) }
        }
    }
}

/// The queries that read or write through `c`, each with its state and why.
fn queries_through(report: &StatusReport, c: &ConnectionView) -> Markup {
    let reads = |q: &QueryView| q.connection == c.id;
    let writes = |q: &QueryView| q.output_connection.as_deref() == Some(c.id.as_str());
    html! {
        ul {
            @for q in report.queries.iter().filter(|q| reads(q) || writes(q)) {
                li {
                    (q.name) " "
                    small { @if reads(q) { "reads" } @if reads(q) && writes(q) { ", " } @if writes(q) { "writes" } }
                    " " (state(&q.state))
                    @if let Some(text) = &q.state_text { ": " (text) }
                }
            }
        }
    }
}

/// The latest run: when, and what came of it in words.
fn last_run(q: &QueryView) -> Markup {
    let Some(run) = &q.last_result else {
        return html! { "no run yet" };
    };
    html! {
        (time(run.started)) br;
        (state(run.outcome.as_str()))
        @if run.error.is_none() { " " (run.rows) @if run.rows == 1 { " row" } @else { " rows" } " for " (run.window) }
        @if let Some(error) = &run.error { ": " (error) }
        @if q.consecutive_failures > 1 { br; small { (q.consecutive_failures) " failures in a row" } }
    }
}

/// Skipped query files with their diagnostics, and queries the platform rejected.
fn files(report: &StatusReport) -> Markup {
    let broken: Vec<_> = report.queries.iter().filter(|q| q.state == "broken").collect();
    html! {
        @if report.problems.is_empty() && broken.is_empty() {
            p { "None: every query file loaded, and no platform rejected a query." }
        }
        @if !report.problems.is_empty() {
            p { "Skipped (they did not load):" }
            ul.files { @for problem in &report.problems { li { code { (problem) } } } }
        }
        @if !broken.is_empty() {
            p { "Broken (the platform rejected the query):" }
            ul.files {
                @for q in broken {
                    li { code { (q.file) } ": " (q.state_text.as_deref().unwrap_or("rejected by the platform")) }
                }
            }
        }
    }
}

/// Open gaps, or what is true when there are none.
fn gaps(report: &StatusReport) -> Markup {
    let open: Vec<_> = report.gaps.iter().filter(|g| g.state == "open").collect();
    let ran = report.queries.iter().any(|q| q.last_result.is_some());
    html! {
        @if open.is_empty() {
            p {
                @if !ran { "None, but no query has run yet." }
                @else if report.gaps.is_empty() { "None." }
                @else { "None open; " (report.gaps.len()) " earlier gaps were backfilled or closed." }
            }
        } @else {
            table {
                tr { th { "Query" } th { "Dates" } th { "Scheduled" } th { "Why" } }
                @for g in open {
                    tr {
                        td { (g.query) }
                        td { (g.window_start) " – " (g.window_end) }
                        td { (time(g.fire_time)) }
                        td { (g.reason_text) }
                    }
                }
            }
        }
    }
}

/// A moment to the minute, kept on one line.
fn time(at: DateTime<Utc>) -> Markup {
    html! { time datetime=(at.to_rfc3339_opts(SecondsFormat::Secs, true)) { (at.format("%Y-%m-%d %H:%M UTC")) } }
}

/// "in 3 days", "in 5 hours".
fn days_until(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let left = at - now;
    match left.num_days() {
        0 => format!("in {} hours", left.num_hours()),
        1 => "in 1 day".to_string(),
        days => format!("in {days} days"),
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::location::Location;
    use crate::rows::DateWindow;
    use crate::store::{Outcome, RunRecord};

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn connection(id: &str, state: &str, reason_text: Option<&str>) -> ConnectionView {
        ConnectionView {
            id: id.to_string(),
            provider: "meta_ads".to_string(),
            status: state.to_string(),
            state: state.to_string(),
            reason_text: reason_text.map(String::from),
            expires_at: Some(at("2026-07-03T06:00:00Z")),
            last_refresh: Some(at("2026-05-01T06:00:00Z")),
            since: Some(at("2026-05-01T06:00:00Z")),
            reason: None,
            detail: None,
            identity: Some("analyst@example.com".to_string()),
            previous_identity: None,
            access_expires_at: None,
            refresh_expires_at: None,
            scopes: Vec::new(),
            owners: Vec::new(),
        }
    }

    fn query(name: &str, state: &str, output: Location, output_connection: Option<&str>) -> QueryView {
        QueryView {
            name: name.to_string(),
            connection: "meta".to_string(),
            platform: "meta_ads".to_string(),
            output_connection: output_connection.map(String::from),
            pause_reason: None,
            pause_detail: None,
            schedule: "0 6 * * *".to_string(),
            timezone: "UTC".to_string(),
            output,
            next_fire: Some(at("2026-05-05T06:00:00Z")),
            last_fire: None,
            consecutive_failures: 0,
            state: state.to_string(),
            last_run: None,
            next_run: Some(at("2026-05-05T06:00:00Z")),
            last_result: None,
            file: format!("queries/{name}.toml"),
            blocked_by: None,
            waits_for: None,
            last_error_reason: None,
            last_error_text: None,
            failing_since: None,
            file_errors: None,
            file_errors_since: None,
            running_version_of: None,
            state_text: None,
            state_since: None,
        }
    }

    fn report(connections: Vec<ConnectionView>, queries: Vec<QueryView>) -> StatusReport {
        StatusReport {
            generated_at: at("2026-05-04T07:00:00Z"),
            connections,
            queries,
            problems: Vec::new(),
            gaps: Vec::new(),
        }
    }

    fn page(report: &StatusReport) -> String {
        render(report, |id| {
            format!("http://127.0.0.1/reconnect/{id}?expires=1&sig=a\"b")
        })
        .into_string()
    }

    #[test]
    fn a_hostile_query_name_and_error_text_are_shown_as_text() {
        let mut daily = query(
            "<script>alert(1)</script>",
            "active",
            Location::File("reports/x.csv".into()),
            None,
        );
        daily.last_result = Some(RunRecord {
            query: daily.name.clone(),
            fire: at("2026-05-04T06:00:00Z"),
            started: at("2026-05-04T06:00:00Z"),
            finished: at("2026-05-04T06:00:01Z"),
            window: DateWindow {
                start: NaiveDate::from_ymd_opt(2026, 5, 3).unwrap(),
                end: NaiveDate::from_ymd_opt(2026, 5, 3).unwrap(),
            },
            rows: 0,
            outcome: Outcome::Failed,
            error: Some(r#""><img src=x onerror=alert(2)> & more"#.to_string()),
            output: None,
        });
        let mut report = report(vec![connection("meta", "connected", None)], vec![daily]);
        report
            .problems
            .push("queries/<b>bad</b>.toml:3:1: unknown field".to_string());

        let html = page(&report);

        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
        assert!(
            html.contains("failed</span>: &quot;&gt;&lt;img src=x onerror=alert(2)&gt; &amp; more"),
            "{html}"
        );
        assert!(
            html.contains("queries/&lt;b&gt;bad&lt;/b&gt;.toml:3:1: unknown field"),
            "{html}"
        );
        assert!(
            html.contains(r#"href="http://127.0.0.1/reconnect/meta?expires=1&amp;sig=a&quot;b""#),
            "{html}"
        );
    }

    #[test]
    fn nothing_ran_yet_says_so_rather_than_that_every_run_delivered() {
        let daily = query("daily", "active", Location::File("reports/daily.csv".into()), None);
        let html = page(&report(vec![connection("meta", "connected", None)], vec![daily]));

        assert!(html.contains("<td>no run yet</td>"), "{html}");
        assert!(html.contains("None, but no query has run yet."), "{html}");
        assert!(!html.contains("delivered"), "{html}");
    }

    #[test]
    fn a_query_is_listed_under_the_connection_it_reads_and_the_one_it_writes_through() {
        let sheet = Location::Sheet {
            spreadsheet_id: "sheet-1".to_string(),
            sheet: "Daily".to_string(),
        };
        let mut to_sheet = query("meta_to_sheet", "paused", sheet, Some("google"));
        to_sheet.blocked_by = Some("google".to_string());
        to_sheet.state_text = Some("waits for google, which needs reconnecting: the login was revoked".to_string());
        let mut google = connection("google", "needs_reconnect", Some("the login was revoked"));
        google.provider = "google".to_string();
        let html = page(&report(
            vec![connection("meta", "connected", None), google],
            vec![to_sheet],
        ));

        let row = |id: &str| {
            let start = html.find(&format!("<tr><td>{id}<br>")).unwrap();
            html[start..start + html[start..].find("</tr>").unwrap()].to_string()
        };
        let why = "meta_to_sheet <small>reads</small> <span class=\"state paused\">paused</span>: waits for google, which needs reconnecting: the login was revoked";
        assert!(row("meta").contains(why), "{html}");
        let why = why.replace("reads", "writes");
        assert!(row("google").contains(&why), "{html}");
        assert!(
            html.contains("<code>sheets:sheet-1/Daily</code><br><small>written through google</small>"),
            "{html}"
        );
    }

    #[test]
    fn a_state_the_page_does_not_know_shows_its_name_and_reason() {
        let meta = connection(
            "meta",
            "misconfigured",
            Some("the OAuth client id or secret in the config was rejected"),
        );
        let html = page(&report(vec![meta], Vec::new()));

        assert!(
            html.contains(r#"<span class="state misconfigured">misconfigured</span>"#),
            "{html}"
        );
        assert!(
            html.contains("the OAuth client id or secret in the config was rejected"),
            "{html}"
        );
        assert!(html.contains("1 of 1 connections need attention"), "{html}");
    }
}
