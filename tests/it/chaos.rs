//! The chaos soak, short: the daemon as a real process under every fault kind, revocations
//! and reconnects, and SIGKILLs, then the books checked (see `examples/chaos/soak.rs`).

#[path = "../../examples/chaos/soak.rs"]
mod soak;

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_chaos_soak_loses_nothing() {
    let books = soak::soak(soak::Options {
        duration: Duration::from_secs(20),
        speed: 30,
        seed: 11,
        launcher: soak::Launcher {
            program: env!("CARGO_BIN_EXE_adsync").into(),
            args: vec!["run".into(), "--config".into()],
        },
        dir: std::env::var_os("CHAOS_KEEP").map(Into::into),
    })
    .await
    .expect("the soak runs");
    println!("{books}");
    assert!(books.violations.is_empty(), "{books}");
    assert!(books.kills >= 1 && books.revocations >= 1, "{books}");
    assert!(books.fires > 100 && books.rows_checked > 0, "{books}");
}
