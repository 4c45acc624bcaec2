//! Keeps the daemon's queries in step with the query directory: a file watcher asks for a
//! rescan soon after a file is added, edited or deleted, and a periodic rescan catches what
//! a watcher misses (a directory on a network file system, one deleted and made again, a
//! watch the OS refused).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ::notify::Watcher as _;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::app::App;

/// How long the directory must stay quiet before a rescan: an editor's save is several
/// events (write, rename, chmod), and a copy of many files is many more.
const QUIET_FOR: Duration = Duration::from_millis(300);

/// Rescans the query directory whenever it changes (and every `scheduler.rescan_secs`)
/// until `shutdown`.
pub(crate) async fn watch_queries(app: App, shutdown: CancellationToken) {
    let changed = Arc::new(Notify::new());
    let mut watching: Option<(PathBuf, ::notify::RecommendedWatcher)> = None;
    loop {
        let config = app.config();
        if watching.as_ref().is_none_or(|(dir, _)| *dir != config.queries_dir) {
            watching = watch(&config.queries_dir, changed.clone()).map(|w| (config.queries_dir.clone(), w));
            // A file changed after the last read but before the watch began sent no event.
            app.rescan_queries();
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = changed.notified() => {
                // Wait for the burst of events to end.
                while tokio::time::timeout(QUIET_FOR, changed.notified()).await.is_ok() {}
            }
            _ = tokio::time::sleep(config.rescan_every) => {}
        }
        app.rescan_queries();
    }
}

/// A watcher of `dir` that wakes `changed` on every event; `None` (with a warning) when the
/// OS refuses, and then the periodic rescan alone keeps up.
fn watch(dir: &std::path::Path, changed: Arc<Notify>) -> Option<::notify::RecommendedWatcher> {
    let on_event = move |event: ::notify::Result<::notify::Event>| {
        if event.is_ok_and(|e| !e.kind.is_access()) {
            changed.notify_one();
        }
    };
    let watched = ::notify::recommended_watcher(on_event).and_then(|mut watcher| {
        watcher
            .watch(dir, ::notify::RecursiveMode::NonRecursive)
            .map(|()| watcher)
    });
    match watched {
        Ok(watcher) => Some(watcher),
        Err(e) => {
            tracing::warn!(
                "Cannot watch the query directory {} ({e}): changes are picked up by the periodic rescan only.",
                dir.display()
            );
            None
        }
    }
}
