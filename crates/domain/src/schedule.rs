//! When to take the next screenshot (R9).
//!
//! Time is cut into windows aligned to the running entry's start:
//! window `k` is `[start + k·w, start + (k+1)·w)` for a window length `w` (default 300 s, a
//! server setting so tests can shorten it). Each window gets **one** capture moment, drawn
//! uniformly at random inside it; when the scheduler learns of the timer mid-window, the moment
//! is drawn from what remains of that window. A moment is taken at most [`LATE_GRACE`] late and
//! inside its window; otherwise it is missed (the machine slept, the app was not running), and
//! missed moments are not made up.
//!
//! # Design
//!
//! The scheduler is a loop around [`next_capture_after`]: it passes the index of the last window
//! it has *finished* (captured, failed, or deliberately missed), so asking again while still
//! inside that window yields the next window instead of a second moment in the same one. That
//! is what guarantees "exactly one moment per window" without the scheduler keeping any state
//! beyond one `Option<u64>`:
//!
//! ```text
//! let mut done = None;
//! loop {
//!     let slot = next_capture_after(start, window, clock.now(), done, &mut rng)?;
//!     sleep_until(slot.at);
//!     match slot.status(clock.now()) {
//!         SlotStatus::Due => capture(),        // still inside the window
//!         SlotStatus::Missed => record_miss(), // slept past it: not made up
//!         SlotStatus::Pending => continue,     // woke early: same slot again (done unchanged)
//!     }
//!     done = Some(slot.window_index);
//! }
//! ```
//!
//! If a running entry's start is edited, the windows realign: pass
//! `window_index_of(new_start, window, last_capture_at)` as the last done window so the window
//! holding the last capture is not captured again.
//!
//! Moments are drawn at nanosecond resolution with `Rng::random_range` on integers, which is
//! uniform (no float rounding bias). The clock and the random source are parameters, so the
//! rules are deterministic under test.

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;

use crate::span::Span;

/// Default window length in seconds (R9).
pub const DEFAULT_WINDOW_SECS: u32 = 300;

const NANOS_PER_SEC: i128 = 1_000_000_000;

/// Errors of the capture schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The window length is shorter than [`CaptureWindow::MIN`] or too long to represent.
    #[error("capture window must be at least 1 ms and at most ~292 years")]
    InvalidWindow,
    /// The requested window lies beyond the representable time range.
    #[error("capture window lies outside the representable time range")]
    OutOfRange,
}

/// A validated capture window length: at least 1 ms, and representable in `i64` nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaptureWindow {
    nanos: i64,
}

impl CaptureWindow {
    /// The product default: 300 s.
    pub const DEFAULT: CaptureWindow = CaptureWindow {
        nanos: DEFAULT_WINDOW_SECS as i64 * 1_000_000_000,
    };

    /// The shortest window accepted.
    pub const MIN: TimeDelta = TimeDelta::milliseconds(1);

    /// A window of length `length`.
    pub fn new(length: TimeDelta) -> Result<Self, ScheduleError> {
        if length < Self::MIN {
            return Err(ScheduleError::InvalidWindow);
        }
        length
            .num_nanoseconds()
            .map(|nanos| Self { nanos })
            .ok_or(ScheduleError::InvalidWindow)
    }

    /// A window of `secs` seconds (the server setting's unit).
    pub fn from_secs(secs: u32) -> Result<Self, ScheduleError> {
        Self::new(TimeDelta::seconds(i64::from(secs)))
    }

    /// The window length.
    #[must_use]
    pub const fn length(&self) -> TimeDelta {
        TimeDelta::nanoseconds(self.nanos)
    }
}

impl Default for CaptureWindow {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// One planned capture: the window it belongs to and the moment drawn inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CaptureSlot {
    /// `k`: the window's index counted from the entry start.
    pub window_index: u64,
    /// `start + k·w`.
    pub window_start: DateTime<Utc>,
    /// `start + (k+1)·w` (exclusive).
    pub window_end: DateTime<Utc>,
    /// The capture moment, in `[window_start, window_end)` and never before the `now` it was
    /// drawn at.
    pub at: DateTime<Utc>,
}

/// Where a [`CaptureSlot`] stands at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotStatus {
    /// The moment has not come yet.
    Pending,
    /// The moment has come, at most [`LATE_GRACE`] ago, and the window is still open: capture
    /// now.
    Due,
    /// The window has closed, or the moment passed more than [`LATE_GRACE`] ago (the machine
    /// slept through it, or the app was not running): missed, and not made up (R9).
    Missed,
}

/// How late a moment may still be taken. A capture much later than its moment would no longer
/// be the moment drawn at random (R9): after a sleep, a screenshot taken on waking would land
/// where the person is sure to be back at the screen.
pub const LATE_GRACE: TimeDelta = TimeDelta::seconds(30);

impl CaptureSlot {
    /// The window as a span.
    #[must_use]
    pub fn window(&self) -> Span {
        Span::new(self.window_start, self.window_end)
    }

    /// What to do with this slot at `now`.
    #[must_use]
    pub fn status(&self, now: DateTime<Utc>) -> SlotStatus {
        if now < self.at {
            SlotStatus::Pending
        } else if now < self.window_end && now - self.at <= LATE_GRACE {
            SlotStatus::Due
        } else {
            SlotStatus::Missed
        }
    }
}

/// Total nanoseconds in `d`, exactly (chrono keeps seconds + sub-second nanos).
fn total_nanos(d: TimeDelta) -> i128 {
    i128::from(d.num_seconds()) * NANOS_PER_SEC + i128::from(d.subsec_nanos())
}

/// The `TimeDelta` of `nanos` nanoseconds, if representable.
fn delta_from_nanos(nanos: i128) -> Option<TimeDelta> {
    let secs = i64::try_from(nanos.div_euclid(NANOS_PER_SEC)).ok()?;
    let sub = u32::try_from(nanos.rem_euclid(NANOS_PER_SEC)).ok()?;
    TimeDelta::new(secs, sub)
}

/// The index of the window containing `t`, or `None` if `t` is before the entry start.
#[must_use]
pub fn window_index_of(
    entry_start: DateTime<Utc>,
    window: CaptureWindow,
    t: DateTime<Utc>,
) -> Option<u64> {
    if t < entry_start {
        return None;
    }
    // With w ≥ 1 ms, the whole chrono range holds < 2^54 windows, so the index always fits.
    u64::try_from(total_nanos(t - entry_start) / i128::from(window.nanos)).ok()
}

/// The bounds `[start + k·w, start + (k+1)·w)` of window `index`.
pub fn window_span(
    entry_start: DateTime<Utc>,
    window: CaptureWindow,
    index: u64,
) -> Result<Span, ScheduleError> {
    let w = i128::from(window.nanos);
    let offset = i128::from(index) * w;
    let at = |nanos: i128| {
        delta_from_nanos(nanos)
            .and_then(|d| entry_start.checked_add_signed(d))
            .ok_or(ScheduleError::OutOfRange)
    };
    Ok(Span::new(at(offset)?, at(offset + w)?))
}

/// The capture moment for the window containing `now` (the first window if `now` is before
/// the entry start), drawn from what remains of that window. Same as
/// [`next_capture_after`] with no window done yet.
pub fn next_capture(
    entry_start: DateTime<Utc>,
    window: CaptureWindow,
    now: DateTime<Utc>,
    rng: &mut (impl Rng + ?Sized),
) -> Result<CaptureSlot, ScheduleError> {
    next_capture_after(entry_start, window, now, None, rng)
}

/// The next capture moment, given that windows up to and including `last_done_window` are
/// finished (captured or missed) and must not get another moment.
///
/// The slot is for the window containing `now`, or for `last_done_window + 1` if that is later.
/// Its moment is uniform over `[max(now, window_start), window_end)`: the whole window when it
/// lies ahead, what remains of it when `now` is inside it. It is never in a past window and
/// never before `now`.
pub fn next_capture_after(
    entry_start: DateTime<Utc>,
    window: CaptureWindow,
    now: DateTime<Utc>,
    last_done_window: Option<u64>,
    rng: &mut (impl Rng + ?Sized),
) -> Result<CaptureSlot, ScheduleError> {
    let current = window_index_of(entry_start, window, now).unwrap_or(0);
    let index = match last_done_window {
        None => current,
        Some(done) => current.max(done.checked_add(1).ok_or(ScheduleError::OutOfRange)?),
    };
    let span = window_span(entry_start, window, index)?;
    let lower = now.max(span.start);
    // `lower` lies in the window: `now` is in window `current ≤ index`, so either it is in this
    // window or before its start. The guard keeps `random_range` from ever seeing an empty range.
    let lo =
        i64::try_from(total_nanos(lower - span.start)).map_err(|_| ScheduleError::OutOfRange)?;
    if !(0..window.nanos).contains(&lo) {
        return Err(ScheduleError::OutOfRange);
    }
    let offset = rng.random_range(lo..window.nanos);
    let at = span
        .start
        .checked_add_signed(TimeDelta::nanoseconds(offset))
        .ok_or(ScheduleError::OutOfRange)?;
    Ok(CaptureSlot {
        window_index: index,
        window_start: span.start,
        window_end: span.end,
        at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rstest::rstest;

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 6, 3, 9, 0, 0).unwrap()
    }

    fn secs(s: i64) -> TimeDelta {
        TimeDelta::seconds(s)
    }

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    #[rstest]
    #[case::zero(TimeDelta::zero(), Err(ScheduleError::InvalidWindow))]
    #[case::negative(secs(-5), Err(ScheduleError::InvalidWindow))]
    #[case::sub_ms(TimeDelta::microseconds(999), Err(ScheduleError::InvalidWindow))]
    #[case::one_ms(TimeDelta::milliseconds(1), Ok(TimeDelta::milliseconds(1)))]
    #[case::five_minutes(secs(300), Ok(secs(300)))]
    #[case::too_long_for_nanos(TimeDelta::days(365 * 300), Err(ScheduleError::InvalidWindow))]
    fn window_validation(
        #[case] length: TimeDelta,
        #[case] expected: Result<TimeDelta, ScheduleError>,
    ) {
        assert_eq!(CaptureWindow::new(length).map(|w| w.length()), expected);
    }

    #[test]
    fn default_window_is_five_minutes() {
        assert_eq!(CaptureWindow::default().length(), secs(300));
        assert_eq!(
            CaptureWindow::from_secs(300).unwrap(),
            CaptureWindow::DEFAULT
        );
        assert_eq!(
            CaptureWindow::from_secs(0),
            Err(ScheduleError::InvalidWindow)
        );
    }

    #[rstest]
    #[case::before_start(-1, None)]
    #[case::at_start(0, Some(0))]
    #[case::inside_first(299, Some(0))]
    #[case::boundary_belongs_to_next(300, Some(1))]
    #[case::later(1_000, Some(3))]
    fn index_of(#[case] offset: i64, #[case] expected: Option<u64>) {
        let w = CaptureWindow::DEFAULT;
        assert_eq!(
            window_index_of(start(), w, start() + secs(offset)),
            expected
        );
    }

    #[test]
    fn index_of_just_before_boundary() {
        let w = CaptureWindow::DEFAULT;
        let t = start() + secs(300) - TimeDelta::nanoseconds(1);
        assert_eq!(window_index_of(start(), w, t), Some(0));
    }

    #[test]
    fn spans_tile_time() {
        let w = CaptureWindow::DEFAULT;
        let s0 = window_span(start(), w, 0).unwrap();
        let s1 = window_span(start(), w, 1).unwrap();
        assert_eq!(s0, Span::new(start(), start() + secs(300)));
        assert_eq!(s0.end, s1.start);
        assert_eq!(
            window_span(start(), w, u64::MAX),
            Err(ScheduleError::OutOfRange)
        );
    }

    /// (now offset, last done window) → (expected window index, lower bound offset of `at`).
    #[rstest]
    #[case::before_entry_start_gets_first_window(-50, None, 0, 0)]
    #[case::at_start_whole_first_window(0, None, 0, 0)]
    #[case::mid_window_draws_from_rest(120, None, 0, 120)]
    #[case::mid_later_window(1_000, None, 3, 1_000)]
    #[case::exactly_at_boundary(600, None, 2, 600)]
    #[case::current_done_goes_to_next(120, Some(0), 1, 300)]
    #[case::done_window_in_past_is_ignored(1_000, Some(0), 3, 1_000)]
    #[case::done_previous_window(1_000, Some(2), 3, 1_000)]
    #[case::done_ahead_of_now(10, Some(4), 5, 1_500)]
    #[case::before_start_first_done(-50, Some(0), 1, 300)]
    fn slot_choice(
        #[case] now_offset: i64,
        #[case] done: Option<u64>,
        #[case] index: u64,
        #[case] lower_offset: i64,
    ) {
        let w = CaptureWindow::DEFAULT;
        let now = start() + secs(now_offset);
        for seed in 0..50 {
            let slot = next_capture_after(start(), w, now, done, &mut rng(seed)).unwrap();
            assert_eq!(slot.window_index, index);
            assert_eq!(
                slot.window_start,
                start() + secs(300 * i64::try_from(index).unwrap())
            );
            assert_eq!(slot.window_end, slot.window_start + secs(300));
            assert!(slot.at >= start() + secs(lower_offset), "{slot:?}");
            assert!(slot.at >= now);
            assert!(slot.at < slot.window_end);
        }
    }

    #[test]
    fn last_nanosecond_of_a_window_is_still_schedulable() {
        let w = CaptureWindow::DEFAULT;
        let now = start() + secs(300) - TimeDelta::nanoseconds(1);
        let slot = next_capture(start(), w, now, &mut rng(1)).unwrap();
        assert_eq!(slot.window_index, 0);
        assert_eq!(slot.at, now, "the only instant left");
    }

    #[test]
    fn done_at_u64_max_is_an_error_not_a_panic() {
        let w = CaptureWindow::DEFAULT;
        assert_eq!(
            next_capture_after(start(), w, start(), Some(u64::MAX), &mut rng(0)),
            Err(ScheduleError::OutOfRange)
        );
    }

    #[test]
    fn end_of_time_is_an_error_not_a_panic() {
        let w = CaptureWindow::DEFAULT;
        let late = DateTime::<Utc>::MAX_UTC - secs(10);
        assert_eq!(
            next_capture(late, w, late, &mut rng(0)),
            Err(ScheduleError::OutOfRange)
        );
    }

    #[rstest]
    #[case::before_moment(100, -1, SlotStatus::Pending)]
    #[case::at_moment(100, 0, SlotStatus::Due)]
    #[case::a_little_late(100, 5_000, SlotStatus::Due)]
    #[case::late_by_the_whole_grace(100, 30_000, SlotStatus::Due)]
    #[case::later_than_the_grace(100, 30_001, SlotStatus::Missed)]
    #[case::much_later_in_the_open_window(100, 99_000, SlotStatus::Missed)]
    #[case::last_millisecond_of_window(290, 9_999, SlotStatus::Due)]
    #[case::window_end_is_past_the_window(290, 10_000, SlotStatus::Missed)]
    #[case::window_closed(100, 1_000_000, SlotStatus::Missed)]
    fn slot_status(#[case] at_secs: i64, #[case] late_ms: i64, #[case] expected: SlotStatus) {
        let slot = CaptureSlot {
            window_index: 0,
            window_start: start(),
            window_end: start() + secs(300),
            at: start() + secs(at_secs),
        };
        assert_eq!(
            slot.status(slot.at + TimeDelta::milliseconds(late_ms)),
            expected
        );
    }

    #[test]
    fn same_seed_same_schedule() {
        let w = CaptureWindow::DEFAULT;
        let a = next_capture(start(), w, start(), &mut rng(7)).unwrap();
        let b = next_capture(start(), w, start(), &mut rng(7)).unwrap();
        assert_eq!(a, b);
        let c = next_capture(start(), w, start(), &mut rng(8)).unwrap();
        assert_ne!(a.at, c.at, "different seeds draw different moments");
    }

    fn arb_start() -> impl Strategy<Value = DateTime<Utc>> {
        // 2000..2100, to the nanosecond.
        (946_684_800i64..4_102_444_800, 0u32..1_000_000_000)
            .prop_map(|(s, n)| Utc.timestamp_opt(s, n).unwrap())
    }

    fn arb_window() -> impl Strategy<Value = CaptureWindow> {
        prop_oneof![
            Just(CaptureWindow::DEFAULT),
            (1i64..3_600_000)
                .prop_map(|ms| CaptureWindow::new(TimeDelta::milliseconds(ms)).unwrap()),
            (1_000_000i64..10_000_000_000)
                .prop_map(|ns| CaptureWindow::new(TimeDelta::nanoseconds(ns)).unwrap()),
        ]
    }

    proptest! {
        /// (a) Scheduler loop with `now` = the previous moment: windows come one after another,
        /// each exactly once, each moment inside its window and not before `now`.
        #[test]
        fn each_window_gets_exactly_one_moment(
            start in arb_start(),
            window in arb_window(),
            first_now_ns in -10_000_000_000i64..1_000_000_000_000,
            steps in 1usize..60,
            seed in any::<u64>(),
        ) {
            let mut rng = rng(seed);
            let mut now = start + TimeDelta::nanoseconds(first_now_ns);
            let mut done: Option<u64> = None;
            let first = window_index_of(start, window, now).unwrap_or(0);
            for step in 0..steps {
                let slot = next_capture_after(start, window, now, done, &mut rng).unwrap();
                let expected = first + u64::try_from(step).unwrap();
                prop_assert_eq!(slot.window_index, expected);
                prop_assert_eq!(window_index_of(start, window, slot.at), Some(slot.window_index));
                prop_assert_eq!(slot.window(), window_span(start, window, slot.window_index).unwrap());
                prop_assert!(slot.window_start <= slot.at && slot.at < slot.window_end);
                prop_assert!(slot.at >= now);
                prop_assert_eq!(slot.status(slot.at), SlotStatus::Due);
                now = slot.at;
                done = Some(slot.window_index);
            }
        }

        /// Any monotone sequence of wake-ups (early, late, asleep for many windows): every
        /// finished window is never scheduled again, indices strictly increase, moments are
        /// never in the past and always inside their window.
        #[test]
        fn arbitrary_wakeups_never_repeat_a_window(
            start in arb_start(),
            window in arb_window(),
            jumps in prop::collection::vec(0i64..2_000_000_000_000, 1..40),
            seed in any::<u64>(),
        ) {
            let mut rng = rng(seed);
            let mut now = start;
            let mut done: Option<u64> = None;
            for jump in jumps {
                let slot = next_capture_after(start, window, now, done, &mut rng).unwrap();
                if let Some(d) = done {
                    prop_assert!(slot.window_index > d);
                }
                prop_assert!(slot.window_start <= slot.at && slot.at < slot.window_end);
                prop_assert!(slot.at >= now);
                // Wake up at some later instant; the window is finished either way (captured
                // if still open, missed if not).
                now = now.max(slot.at) + TimeDelta::nanoseconds(jump % (window.length().num_nanoseconds().unwrap() * 5));
                done = Some(slot.window_index);
            }
        }

        /// (b) Joining mid-window: the moment lies in what remains of that window.
        #[test]
        fn joined_mid_window_draws_from_the_rest(
            start in arb_start(),
            window in arb_window(),
            k in 0u64..10_000,
            frac in 0.0f64..1.0,
            seed in any::<u64>(),
        ) {
            let span = window_span(start, window, k).unwrap();
            #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
            let into = ((window.length().num_nanoseconds().unwrap() as f64) * frac) as i64;
            let now = span.start + TimeDelta::nanoseconds(into);
            prop_assume!(now < span.end);
            let slot = next_capture(start, window, now, &mut rng(seed)).unwrap();
            prop_assert_eq!(slot.window_index, k);
            prop_assert!(slot.at >= now);
            prop_assert!(slot.at < span.end);
        }
    }
}
