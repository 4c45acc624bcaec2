//! The chaos soak, minutes long: see `soak.rs` for what it does and checks.
//!
//! ```sh
//! cargo run --release --example chaos -- --minutes 10 [--seed 7] [--speed 30] [--keep DIR]
//! ```
//!
//! It prints its books and exits 1 if any check failed. The daemon it kills and restarts is
//! this program run again as `chaos --daemon CONFIG`: the library's real daemon (scheduler,
//! web endpoint, store), on the soak's fast clock.

mod soak;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

fn main() -> anyhow::Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Runtime::new()?;
    if args.first().map(String::as_str) == Some("--daemon") {
        let config = args.get(1).context("--daemon needs the config path")?;
        return runtime.block_on(daemon(config.into()));
    }
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let minutes: f64 = flag("--minutes").map_or(Ok(10.0), |m| m.parse()).context("--minutes")?;
    let options = soak::Options {
        duration: Duration::from_secs_f64(minutes * 60.0),
        speed: flag("--speed").map_or(Ok(30), |s| s.parse()).context("--speed")?,
        seed: flag("--seed").map_or(Ok(7), |s| s.parse()).context("--seed")?,
        launcher: soak::Launcher {
            program: std::env::current_exe()?,
            args: vec!["--daemon".into()],
        },
        dir: flag("--keep").map(Into::into),
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .init();
    println!(
        "Chaos soak: {minutes} min, seed {}, clock ×{}.",
        options.seed, options.speed
    );
    let books = runtime.block_on(soak::soak(options))?;
    println!("{books}");
    Ok(if books.violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `adsync run` without the command line: the config, the fast clock the soak hands over,
/// and a stop on SIGTERM.
async fn daemon(config: std::path::PathBuf) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .init();
    let config = adsync::config::Config::load(&config, &adsync::config::Overrides::default())?;
    let spec = std::env::var("ADSYNC_SCALED_CLOCK").context("ADSYNC_SCALED_CLOCK is not set")?;
    let clock = adsync::clock::ScaledClock::from_spec(&spec).map_err(anyhow::Error::msg)?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let app = adsync::app::App::build(config, Arc::new(clock)).await?;
    let stop = CancellationToken::new();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let on_term = stop.clone();
    tokio::spawn(async move {
        term.recv().await;
        on_term.cancel();
    });
    app.run_until_stopped(listener, stop).await?;
    Ok(ExitCode::SUCCESS)
}
