//! Time entry arithmetic (R13).
//!
//! An entry runs from `start` to `end` (`None` while running). Deleting screenshots may remove
//! spans of time from it (R21); those are kept as a [`SpanSet`], never as a bare number, so the
//! same time cannot be deducted twice. Duration = length − removed time inside the entry, and is
//! never negative: removed spans are clipped to the entry before they are counted, so stale or
//! out-of-range spans (e.g. after the entry's end was edited earlier) deduct nothing.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::span::{Span, SpanSet};

/// The times of one time entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryTimes {
    /// When the entry started.
    pub start: DateTime<Utc>,
    /// When it stopped; `None` while the timer runs.
    pub end: Option<DateTime<Utc>>,
    /// Time removed by members' screenshot deletes (R21).
    #[serde(default)]
    pub removed: SpanSet,
}

impl EntryTimes {
    /// An entry with nothing removed.
    #[must_use]
    pub fn new(start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> Self {
        Self {
            start,
            end,
            removed: SpanSet::new(),
        }
    }

    /// True while the timer runs (no end yet).
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.end.is_none()
    }

    /// `[start, end)`, with `now` standing in for the end of a running entry.
    #[must_use]
    pub fn span(&self, now: DateTime<Utc>) -> Span {
        Span::new(self.start, self.end.unwrap_or(now))
    }

    /// Removed time that lies inside the entry (what the UI shows as "removed").
    #[must_use]
    pub fn deducted(&self, now: DateTime<Utc>) -> TimeDelta {
        self.removed.clip(self.span(now)).total()
    }

    /// `end − start − deducted`, never negative. For a running entry `now` is the end.
    #[must_use]
    pub fn duration(&self, now: DateTime<Utc>) -> TimeDelta {
        counted(self.start, self.end, self.deducted(now), now)
    }
}

/// The time an entry counts: `end − start − deducted` (R13), never negative; `now` stands in
/// for the end of a running entry. The one formula for every holder of an entry: the service
/// passes the removed time clipped to the entry ([`EntryTimes::duration`]); a device that
/// holds only the total (its local buffer) passes that.
#[must_use]
pub fn counted(
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
    deducted: TimeDelta,
    now: DateTime<Utc>,
) -> TimeDelta {
    let length = (end.unwrap_or(now) - start).max(TimeDelta::zero());
    (length - deducted).max(TimeDelta::zero())
}

/// The running entry as a timer start sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunningEntry {
    /// Its start.
    pub start: DateTime<Utc>,
    /// The capture instant of its latest screenshot, if it has any.
    pub last_screenshot: Option<DateTime<Utc>>,
}

/// Where an entry that started at `start` ends when it is stopped at `requested`: never before
/// its start, and never before its latest screenshot, which stays inside it (R15, R39: a stop
/// that arrives late, or from a device whose clock is behind, does not cut screenshots off).
#[must_use]
pub fn stop_end(
    start: DateTime<Utc>,
    last_screenshot: Option<DateTime<Utc>>,
    requested: DateTime<Utc>,
) -> DateTime<Utc> {
    requested.max(start).max(last_screenshot.unwrap_or(start))
}

/// Where a new timer entry goes among the person's other entries, and what it does to the
/// running one (R13, R39).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerPlacement {
    /// The new entry's start.
    pub start: DateTime<Utc>,
    /// Its end: `None` when it runs; else where the next of the person's entries begins.
    pub end: Option<DateTime<Utc>>,
    /// Where the running entry stops, when it does.
    pub stops_running: Option<DateTime<Utc>>,
}

/// Places a timer started at `requested` among the person's entries: the one running now, if
/// any, and the stopped ones that end after `requested` (`(start, end)`).
///
/// One running entry per user, and entries never overlap (R13, R39); the later start runs:
/// - a running entry that started no later than `requested` stops there ([`stop_end`]: not
///   before its latest screenshot, where the new entry then starts), and the new one runs;
/// - a stopped entry that holds the start keeps its time: the new entry starts where it ends;
/// - an entry that starts later (the running one included: a start sent late by a device that
///   was offline) keeps its time too: the new entry ends where it begins, and does not run.
#[must_use]
pub fn place_timer_start(
    requested: DateTime<Utc>,
    running: Option<RunningEntry>,
    stopped: &[(DateTime<Utc>, DateTime<Utc>)],
) -> TimerPlacement {
    let stops_running = running
        .filter(|r| r.start <= requested)
        .map(|r| stop_end(r.start, r.last_screenshot, requested));
    let mut by_start = stopped.to_vec();
    by_start.sort_unstable();
    let mut start = stops_running.unwrap_or(requested);
    for &(from, to) in &by_start {
        if (from..to).contains(&start) {
            start = to;
        }
    }
    let later_running = running.map(|r| r.start).filter(|&r| r > requested);
    let end = by_start
        .iter()
        .map(|&(from, _)| from)
        .filter(|&from| from >= start)
        .chain(later_running)
        .min()
        .map(|end| end.max(start));
    TimerPlacement {
        start,
        end,
        stops_running,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rstest::rstest;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    fn removed(spans: &[(i64, i64)]) -> SpanSet {
        spans.iter().map(|&(a, b)| Span::new(t(a), t(b))).collect()
    }

    #[rstest]
    #[case::plain(0, Some(100), &[], 50, 100, 0)]
    #[case::running_uses_now(0, None, &[], 40, 40, 0)]
    #[case::running_now_before_start(0, None, &[], -10, 0, 0)]
    #[case::removed_inside(0, Some(100), &[(10, 30)], 500, 80, 20)]
    #[case::removed_clipped_to_entry(0, Some(100), &[(-50, 10), (90, 200)], 500, 80, 20)]
    #[case::removed_outside_counts_nothing(0, Some(100), &[(200, 300)], 500, 100, 0)]
    #[case::removed_everything(0, Some(100), &[(-1, 101)], 500, 0, 100)]
    #[case::inverted_entry_is_zero(100, Some(0), &[(0, 100)], 500, 0, 0)]
    #[case::running_with_removed(0, None, &[(0, 10)], 30, 20, 10)]
    fn duration_cases(
        #[case] start: i64,
        #[case] end: Option<i64>,
        #[case] rm: &[(i64, i64)],
        #[case] now: i64,
        #[case] expected_secs: i64,
        #[case] deducted_secs: i64,
    ) {
        let e = EntryTimes {
            start: t(start),
            end: end.map(t),
            removed: removed(rm),
        };
        assert_eq!(e.duration(t(now)), TimeDelta::seconds(expected_secs));
        assert_eq!(e.deducted(t(now)), TimeDelta::seconds(deducted_secs));
        assert_eq!(e.is_running(), end.is_none());
    }

    #[rstest]
    #[case::stopped(0, Some(100), 20, 500, 80)]
    #[case::running_until_now(0, None, 10, 30, 20)]
    #[case::more_deducted_than_length(0, Some(100), 150, 500, 0)]
    #[case::inverted(100, Some(0), 0, 500, 0)]
    #[case::running_now_before_start(0, None, 0, -10, 0)]
    fn counted_cases(
        #[case] start: i64,
        #[case] end: Option<i64>,
        #[case] deducted: i64,
        #[case] now: i64,
        #[case] expected: i64,
    ) {
        assert_eq!(
            counted(t(start), end.map(t), TimeDelta::seconds(deducted), t(now)),
            TimeDelta::seconds(expected)
        );
    }

    type Stopped = &'static [(i64, i64)];

    #[rstest]
    #[case::alone(100, None, &[], (100, None, None))]
    #[case::stops_the_running_one(100, Some((0, None)), &[], (100, None, Some(100)))]
    #[case::same_instant_stops_the_running_one(50, Some((50, None)), &[], (50, None, Some(50)))]
    #[case::a_screenshot_before_the_start_stays_inside(100, Some((0, Some(90))), &[], (100, None, Some(100)))]
    #[case::a_screenshot_after_the_start_keeps_its_entry_to_it(100, Some((0, Some(130))), &[], (130, None, Some(130)))]
    #[case::older_than_the_running_one_ends_where_it_began(40, Some((100, Some(130))), &[], (40, Some(100), None))]
    #[case::a_second_older(99, Some((100, None)), &[], (99, Some(100), None))]
    #[case::a_stopped_entry_holding_it_pushes_it_to_its_end(100, None, &[(90, 120)], (120, None, None))]
    #[case::stopped_entries_back_to_back(100, None, &[(110, 130), (90, 110)], (130, None, None))]
    #[case::a_later_stopped_entry_ends_it(100, None, &[(150, 160), (130, 140)], (100, Some(130), None))]
    #[case::touching_ends_do_not_hold_it(100, None, &[(80, 100)], (100, None, None))]
    #[case::pushed_then_ended_by_the_next(100, None, &[(90, 120), (150, 160)], (120, Some(150), None))]
    #[case::pushed_then_ended_by_the_running_one(100, Some((200, None)), &[(90, 120)], (120, Some(200), None))]
    #[case::a_stopped_entry_starting_there_holds_it(100, None, &[(100, 110)], (110, None, None))]
    fn a_timer_start_is_placed_among_the_persons_entries(
        #[case] requested: i64,
        #[case] running: Option<(i64, Option<i64>)>,
        #[case] stopped: Stopped,
        #[case] expected: (i64, Option<i64>, Option<i64>),
    ) {
        let stopped: Vec<_> = stopped.iter().map(|&(a, b)| (t(a), t(b))).collect();
        let running = running.map(|(start, last)| RunningEntry {
            start: t(start),
            last_screenshot: last.map(t),
        });
        let placed = place_timer_start(t(requested), running, &stopped);
        let (start, end, stops) = expected;
        assert_eq!(
            placed,
            TimerPlacement {
                start: t(start),
                end: end.map(t),
                stops_running: stops.map(t),
            }
        );
    }

    #[rstest]
    #[case::as_asked(0, None, 100, 100)]
    #[case::not_before_its_start(50, None, 40, 50)]
    #[case::not_before_its_latest_screenshot(0, Some(120), 100, 120)]
    #[case::a_screenshot_before_the_end(0, Some(80), 100, 100)]
    #[case::a_screenshot_at_the_end(0, Some(100), 100, 100)]
    fn a_stop_keeps_the_entrys_screenshots_inside(
        #[case] start: i64,
        #[case] last: Option<i64>,
        #[case] requested: i64,
        #[case] expected: i64,
    ) {
        assert_eq!(stop_end(t(start), last.map(t), t(requested)), t(expected));
    }

    #[test]
    fn serde_round_trip_and_default_removed() {
        let e = EntryTimes {
            start: t(0),
            end: Some(t(60)),
            removed: removed(&[(10, 20)]),
        };
        let back: EntryTimes = serde_json::from_value(serde_json::to_value(&e).unwrap()).unwrap();
        assert_eq!(back, e);
        let no_removed: EntryTimes = serde_json::from_value(serde_json::json!({
            "start": "2024-01-01T00:00:00Z", "end": null
        }))
        .unwrap();
        assert!(no_removed.removed.is_empty());
        assert!(no_removed.is_running());
    }
}
