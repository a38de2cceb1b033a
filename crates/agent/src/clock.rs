//! Time as the engine sees it. Captures are stamped in the service's time (R9 windows are
//! aligned to an entry start the service also knows), so the engine keeps an estimate of the
//! offset between this machine's clock and the service's.

use chrono::{DateTime, TimeDelta, Utc};
use std::sync::atomic::{AtomicI64, Ordering};

pub use shotclock_domain::clock::{Clock, ManualClock, SystemClock};

/// The local clock plus the estimated offset to the service's clock.
#[derive(Debug)]
pub(crate) struct ServiceTime {
    clock: std::sync::Arc<dyn Clock>,
    offset_ms: AtomicI64,
}

impl ServiceTime {
    pub(crate) fn new(clock: std::sync::Arc<dyn Clock>) -> Self {
        ServiceTime {
            clock,
            offset_ms: AtomicI64::new(0),
        }
    }

    pub(crate) fn local_now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Now, in the service's time.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.local_now() + TimeDelta::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Updates the offset from one round trip: the service said `server` somewhere between
    /// `sent` and `received` (local times); assume the midpoint.
    pub(crate) fn observe(
        &self,
        sent: DateTime<Utc>,
        server: DateTime<Utc>,
        received: DateTime<Utc>,
    ) {
        let mid = sent + (received - sent) / 2;
        self.offset_ms
            .store((server - mid).num_milliseconds(), Ordering::Relaxed);
    }

    pub(crate) fn offset(&self) -> TimeDelta {
        TimeDelta::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn offset_is_taken_at_the_round_trip_midpoint() {
        let t0 = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .to_utc();
        let clock = Arc::new(ManualClock::new(t0));
        let time = ServiceTime::new(clock.clone());
        // Request took 200 ms; the service's clock read 10:00:05.100 at the midpoint.
        time.observe(
            t0,
            t0 + TimeDelta::milliseconds(5_100),
            t0 + TimeDelta::milliseconds(200),
        );
        assert_eq!(time.offset(), TimeDelta::milliseconds(5_000));
        assert_eq!(time.now(), t0 + TimeDelta::seconds(5));
        clock.set(t0 + TimeDelta::seconds(1));
        assert_eq!(time.now(), t0 + TimeDelta::seconds(6));
    }
}
