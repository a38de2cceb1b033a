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

/// How a timer started at some start meets the entry already running (R13: one running entry
/// per user; starting a timer stops the running one at the new start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerStartMeets {
    /// The running entry ends at this instant (the new start) and the new entry runs.
    StopsRunning(DateTime<Utc>),
    /// The new start is older than the running entry's (a start sent late by a device that was
    /// offline): the later start keeps running, and the new entry ends at this instant, where
    /// the running one began. Cutting the running entry back instead would leave it ending
    /// before it starts and its screenshots outside it.
    EndsNew(DateTime<Utc>),
}

/// What a timer started at `new_start` does while an entry that started at `running_start`
/// runs: the later start runs; the earlier entry ends where the later one begins.
#[must_use]
pub fn timer_start_meets(
    running_start: DateTime<Utc>,
    new_start: DateTime<Utc>,
) -> TimerStartMeets {
    if new_start < running_start {
        TimerStartMeets::EndsNew(running_start)
    } else {
        TimerStartMeets::StopsRunning(new_start)
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

    #[rstest]
    #[case::later_start_stops_the_running_one(0, 100, TimerStartMeets::StopsRunning(t(100)))]
    #[case::same_instant_stops_the_running_one(50, 50, TimerStartMeets::StopsRunning(t(50)))]
    #[case::an_older_start_ends_where_the_running_one_began(
        100,
        40,
        TimerStartMeets::EndsNew(t(100))
    )]
    #[case::a_second_older(100, 99, TimerStartMeets::EndsNew(t(100)))]
    fn a_timer_start_meets_the_running_entry(
        #[case] running: i64,
        #[case] new: i64,
        #[case] expected: TimerStartMeets,
    ) {
        assert_eq!(timer_start_meets(t(running), t(new)), expected);
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
