//! Time, injectable.
//!
//! The scheduler asks a [`Clock`] for "now" and to wait until an instant, so tests drive
//! time with a [`ManualClock`] instead of sleeping, and a run's dates never depend on how
//! fast a test machine is.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

/// A source of wall-clock time that can also wait.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;

    /// Resolves once `now() >= deadline`.
    fn sleep_until(&self, deadline: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// A shared clock handle.
pub(crate) type SharedClock = Arc<dyn Clock>;

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            // Sleep in bounded steps: a laptop suspend or an NTP step makes a single long
            // monotonic sleep overshoot wall-clock deadlines.
            loop {
                let left = deadline - Utc::now();
                let Ok(left) = left.to_std() else { return };
                if left.is_zero() {
                    return;
                }
                tokio::time::sleep(left.min(std::time::Duration::from_secs(60))).await;
            }
        })
    }
}

/// Wall-clock time running `speed` times faster than the system clock from an origin: a
/// soak test gives every daemon process it starts the same origin, so a minute's cron fires
/// every second across restarts. Selected by `ADSYNC_SCALED_CLOCK` (see
/// [`ScaledClock::from_spec`]); never used otherwise.
#[derive(Debug, Clone, Copy)]
pub struct ScaledClock {
    /// The instant this clock showed at `real_origin`.
    origin: DateTime<Utc>,
    /// When, by the system clock, it showed `origin`.
    real_origin: DateTime<Utc>,
    /// How many seconds pass per real second.
    speed: i32,
}

impl ScaledClock {
    /// A clock that shows `origin` at `real_origin` and runs `speed` times as fast.
    pub fn new(origin: DateTime<Utc>, real_origin: DateTime<Utc>, speed: i32) -> Self {
        Self {
            origin,
            real_origin,
            speed: speed.max(1),
        }
    }

    /// Reads `ORIGIN,REAL_ORIGIN,SPEED` (RFC 3339 instants and a whole number), the format
    /// [`ScaledClock::spec`] writes.
    pub fn from_spec(spec: &str) -> Result<Self, String> {
        let parts: Vec<&str> = spec.split(',').map(str::trim).collect();
        let [origin, real_origin, speed] = parts[..] else {
            return Err(format!("{spec:?} is not ORIGIN,REAL_ORIGIN,SPEED"));
        };
        let instant = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| format!("{text:?} is not an RFC 3339 instant: {e}"))
        };
        let speed: i32 = speed
            .parse()
            .ok()
            .filter(|s| (1..=3600).contains(s))
            .ok_or_else(|| format!("speed {speed:?} is not a whole number from 1 to 3600"))?;
        Ok(Self::new(instant(origin)?, instant(real_origin)?, speed))
    }

    /// The spec [`ScaledClock::from_spec`] reads.
    pub fn spec(&self) -> String {
        format!(
            "{},{},{}",
            self.origin.to_rfc3339(),
            self.real_origin.to_rfc3339(),
            self.speed
        )
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> DateTime<Utc> {
        self.origin + (Utc::now() - self.real_origin) * self.speed
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            loop {
                let Ok(left) = ((deadline - self.now()) / self.speed).to_std() else {
                    return;
                };
                if left.is_zero() {
                    return;
                }
                tokio::time::sleep(left.min(std::time::Duration::from_secs(1))).await;
            }
        })
    }
}

/// A clock that only moves when told to: tests set the time and waiters wake.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
    changed: watch::Sender<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        let (changed, _) = watch::channel(start);
        Self {
            now: Arc::new(Mutex::new(start)),
            changed,
        }
    }

    /// Moves the clock to `t` (never backwards) and wakes every waiter whose deadline passed.
    pub fn set(&self, t: DateTime<Utc>) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        if t > *now {
            *now = t;
        }
        self.changed.send_replace(*now);
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: chrono::Duration) {
        let t = self.now() + d;
        self.set(t);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let mut rx = self.changed.subscribe();
        Box::pin(async move {
            while *rx.borrow_and_update() < deadline {
                if rx.changed().await.is_err() {
                    // The clock is gone; nothing will ever move time again.
                    std::future::pending::<()>().await;
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scaled_clock_round_trips_its_spec_and_runs_faster() {
        let real_origin = Utc::now() - chrono::Duration::seconds(10);
        let origin = DateTime::parse_from_rfc3339("2026-05-04T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = ScaledClock::new(origin, real_origin, 60);
        let again = ScaledClock::from_spec(&clock.spec()).unwrap();
        let shown = again.now() - origin;
        assert!(shown >= chrono::Duration::minutes(10), "{shown}");
        assert!(shown < chrono::Duration::minutes(20), "{shown}");
        assert!(ScaledClock::from_spec("2026-05-04T00:00:00Z,x,60").is_err());
        assert!(ScaledClock::from_spec("2026-05-04T00:00:00Z,2026-05-04T00:00:00Z,0").is_err());
    }

    #[tokio::test]
    async fn manual_clock_wakes_sleepers_when_set_past_their_deadline() {
        let t0 = "2026-03-29T00:00:00Z".parse().unwrap();
        let clock = ManualClock::new(t0);
        let deadline = t0 + chrono::Duration::hours(1);
        let waiter = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.sleep_until(deadline).await })
        };
        clock.advance(chrono::Duration::minutes(30));
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        clock.advance(chrono::Duration::minutes(30));
        waiter.await.unwrap();
        assert_eq!(clock.now(), deadline);
    }
}
