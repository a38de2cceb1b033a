//! The one notion of "now" both the desktop engine and the service inject, so retention,
//! trials, scheduling and clock-skew rules are testable without waiting. The rules themselves
//! still take `now` as an argument; this is what their callers read it from. Production uses
//! [`SystemClock`]; tests use [`ManualClock`] (or their own implementation).

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};

/// How far in the service's future an instant a client names may lie (a start, an end, a
/// capture time): device clocks drift, and an engine stamps in its estimate of the service's
/// time (R13).
pub const MAX_FUTURE: TimeDelta = TimeDelta::minutes(5);

/// A source of the current instant.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, as this clock tells it.
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told to (tests). Cheap to clone; clones share the time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    /// A clock standing at `now`.
    #[must_use]
    pub fn new(now: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(now)))
    }

    /// Moves the clock by `by` (may be negative).
    pub fn advance(&self, by: TimeDelta) {
        let mut t = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *t += by;
    }

    /// Sets the clock.
    pub fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_clones_share_it() {
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        let clock = ManualClock::new(t0);
        let other = clock.clone();
        assert_eq!(other.now(), t0);
        clock.advance(TimeDelta::seconds(90));
        assert_eq!(other.now(), t0 + TimeDelta::seconds(90));
        other.set(t0);
        assert_eq!(clock.now(), t0);
    }
}
