//! Following one reconnect link over and over keeps the store's pending OAuth states bounded
//! and the endpoint's latency flat.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::{at, Daemon, TestApp, CONNECTION};

const FOLLOWS: usize = 10_000;
/// The latency compared: the mean of this many follows at the start and at the end.
const SAMPLE: usize = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_follows_of_one_link_keep_pending_states_bounded() {
    let test = TestApp::new("2026-05-04T05:00:00Z").await;
    test.write_query("rep", crate::backfill::REPLACE);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let daemon = Daemon::start_on(test.connected_app().await, "rep", listener).await;
    let link = daemon
        .app
        .notifier()
        .links()
        .link(CONNECTION, at("2026-05-04T05:00:00Z"));
    let link = format!("{base}{}?{}", link.path(), link.query().unwrap());
    let http = crate::helpers::no_redirects();
    let mut latencies = Vec::with_capacity(FOLLOWS);
    for _ in 0..FOLLOWS {
        let started = Instant::now();
        let response = http.get(&link).send().await.unwrap();
        latencies.push(started.elapsed());
        assert_eq!(response.status(), StatusCode::FOUND);
    }
    let mean = |sample: &[Duration]| sample.iter().sum::<Duration>() / sample.len() as u32;
    let (first, last) = (mean(&latencies[..SAMPLE]), mean(&latencies[FOLLOWS - SAMPLE..]));
    let pending = daemon.app.store().pending_oauth_states().await.unwrap();
    eprintln!(
        "{FOLLOWS} follows: first {SAMPLE} {first:?}/request, last {SAMPLE} {last:?}/request; {pending} pending states"
    );
    assert!(pending <= 8, "{pending} pending states");
    daemon.stop().await;
}
