//! The scheduler loop's sign of life, for `/readyz`: a loop that is stuck (or never started)
//! stops beating while the web endpoint still answers.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the loop beats while it waits for a fire or a free slot.
pub(crate) const BEAT_EVERY: Duration = Duration::from_secs(5);

/// When the scheduler loop last beat, in real time (a test clock standing still must not make
/// a live loop look dead).
#[derive(Clone, Debug, Default)]
pub(crate) struct Heartbeat {
    last: Arc<Mutex<Option<Instant>>>,
}

impl Heartbeat {
    /// Records that the loop is alive now.
    pub(crate) fn beat(&self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// How long ago the loop last beat; `None` before it started.
    pub(crate) fn age(&self) -> Option<Duration> {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|at| at.elapsed())
    }

    /// Stops counting as alive (the loop has ended).
    pub(crate) fn stop(&self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heartbeat_has_no_age_until_it_beats_and_after_it_stops() {
        let heartbeat = Heartbeat::default();
        assert_eq!(heartbeat.age(), None);
        heartbeat.beat();
        assert!(heartbeat.age().is_some_and(|age| age < BEAT_EVERY));
        heartbeat.stop();
        assert_eq!(heartbeat.age(), None);
    }
}
