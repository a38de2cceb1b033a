//! Half-open time spans and sets of them.
//!
//! A [`Span`] is `[start, end)`. A [`SpanSet`] is a normalised union of spans: sorted by start,
//! with no empty, overlapping or touching members (touching spans are merged). It is the unit of
//! "removed time" bookkeeping (R21): an entry stores the set of spans removed from it, so a delete
//! can compute exactly the *new* time it removes and time is never removed twice.
//!
//! Invariants are kept by construction: the only ways to build a `SpanSet` (`insert`,
//! `FromIterator`, `From<Vec<Span>>`, serde) all normalise. An inverted span (`end < start`) is
//! treated as empty everywhere.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// The half-open interval `[start, end)`. Empty when `end <= start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Span {
    /// First instant inside the span.
    pub start: DateTime<Utc>,
    /// First instant after the span.
    pub end: DateTime<Utc>,
}

impl Span {
    /// The span `[start, end)` (not validated: an inverted span is simply empty).
    #[must_use]
    pub const fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self { start, end }
    }

    /// True when the span contains no instant (`end <= start`).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// `end - start`, or zero for an empty (or inverted) span. Never negative.
    #[must_use]
    pub fn duration(&self) -> TimeDelta {
        if self.is_empty() {
            TimeDelta::zero()
        } else {
            self.end - self.start
        }
    }

    /// Whether `t` lies in `[start, end)`.
    #[must_use]
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }

    /// The part of `self` that is also in `other` (possibly empty).
    #[must_use]
    pub fn intersection(&self, other: &Span) -> Span {
        Span::new(self.start.max(other.start), self.end.min(other.end))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}, {})",
            self.start.to_rfc3339(),
            self.end.to_rfc3339()
        )
    }
}

/// A set of instants stored as sorted, merged, non-overlapping, non-empty [`Span`]s.
///
/// Serialized as a plain JSON array of spans; deserializing normalises, so stored data that
/// was hand-edited or written by an older version can never break the invariants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "Vec<Span>", into = "Vec<Span>")]
pub struct SpanSet {
    /// Invariant: every span non-empty; `spans[i].end < spans[i + 1].start`.
    spans: Vec<Span>,
}

impl SpanSet {
    /// The empty set.
    #[must_use]
    pub const fn new() -> Self {
        Self { spans: Vec::new() }
    }

    /// The normalised spans, sorted by start; no two overlap or touch.
    #[must_use]
    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// True when the set contains no instant.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Adds `span` (merging with anything it overlaps or touches). Empty spans are ignored.
    pub fn insert(&mut self, span: Span) {
        if span.is_empty() {
            return;
        }
        // Spans entirely before / after the new one stay; everything overlapping or touching is
        // folded into it. Sorted order makes both partitions contiguous.
        let before = self.spans.partition_point(|s| s.end < span.start);
        let after = self.spans.partition_point(|s| s.start <= span.end);
        let mut merged = span;
        if let Some(absorbed) = self.spans.get(before..after)
            && let (Some(lo), Some(hi)) = (absorbed.first(), absorbed.last())
        {
            merged.start = merged.start.min(lo.start);
            merged.end = merged.end.max(hi.end);
        }
        self.spans.splice(before..after, std::iter::once(merged));
    }

    /// Everything in `self` or in `other`.
    #[must_use]
    pub fn union(&self, other: &SpanSet) -> SpanSet {
        let mut out = self.clone();
        for span in &other.spans {
            out.insert(*span);
        }
        out
    }

    /// Everything in `self` that is not in `other`.
    #[must_use]
    pub fn subtract(&self, other: &SpanSet) -> SpanSet {
        let mut out = Vec::new();
        let cut = &other.spans;
        let mut first_cut = 0;
        for span in &self.spans {
            let mut cursor = span.start;
            // Cuts ending at or before this span cannot touch it or any later one.
            while cut.get(first_cut).is_some_and(|c| c.end <= cursor) {
                first_cut += 1;
            }
            // Each cut that starts inside the span ends the piece before it (empty when the
            // cut starts at or before the cursor: `collect` drops empty spans).
            for c in cut
                .iter()
                .skip(first_cut)
                .take_while(|c| c.start < span.end)
            {
                out.push(Span::new(cursor, c.start));
                cursor = cursor.max(c.end);
            }
            out.push(Span::new(cursor, span.end));
        }
        out.into_iter().collect()
    }

    /// The part of the set inside `bounds`.
    #[must_use]
    pub fn clip(&self, bounds: Span) -> SpanSet {
        self.spans.iter().map(|s| s.intersection(&bounds)).collect()
    }

    /// Whether `t` is in the set.
    #[must_use]
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        let i = self.spans.partition_point(|s| s.end <= t);
        self.spans.get(i).is_some_and(|s| s.contains(t))
    }

    /// Whether the two sets share any instant.
    #[must_use]
    pub fn overlaps(&self, other: &SpanSet) -> bool {
        other.subtract(self) != *other
    }

    /// Total length of all spans. Spans are disjoint, so this is at most the length of the
    /// whole representable time range; the sum saturates rather than overflowing regardless.
    #[must_use]
    pub fn total(&self) -> TimeDelta {
        self.spans.iter().fold(TimeDelta::zero(), |acc, s| {
            acc.checked_add(&s.duration()).unwrap_or(TimeDelta::MAX)
        })
    }
}

impl FromIterator<Span> for SpanSet {
    fn from_iter<I: IntoIterator<Item = Span>>(iter: I) -> Self {
        let mut spans: Vec<Span> = iter.into_iter().filter(|s| !s.is_empty()).collect();
        spans.sort_by_key(|s| s.start);
        let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
        for span in spans {
            match merged.last_mut() {
                Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
                _ => merged.push(span),
            }
        }
        Self { spans: merged }
    }
}

impl From<Span> for SpanSet {
    fn from(span: Span) -> Self {
        std::iter::once(span).collect()
    }
}

impl From<Vec<Span>> for SpanSet {
    fn from(spans: Vec<Span>) -> Self {
        spans.into_iter().collect()
    }
}

impl From<SpanSet> for Vec<Span> {
    fn from(set: SpanSet) -> Self {
        set.spans
    }
}

impl<'a> IntoIterator for &'a SpanSet {
    type Item = &'a Span;
    type IntoIter = std::slice::Iter<'a, Span>;

    fn into_iter(self) -> Self::IntoIter {
        self.spans.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use rstest::rstest;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    fn sp(a: i64, b: i64) -> Span {
        Span::new(t(a), t(b))
    }

    fn set(spans: &[(i64, i64)]) -> SpanSet {
        spans.iter().map(|&(a, b)| sp(a, b)).collect()
    }

    fn raw(s: &SpanSet) -> Vec<(i64, i64)> {
        s.spans()
            .iter()
            .map(|x| {
                (
                    x.start.timestamp() - 1_700_000_000,
                    x.end.timestamp() - 1_700_000_000,
                )
            })
            .collect()
    }

    #[rstest]
    #[case::empty_is_ignored(&[(5, 5)], &[])]
    #[case::inverted_is_ignored(&[(5, 3)], &[])]
    #[case::disjoint_sorted(&[(5, 6), (1, 2)], &[(1, 2), (5, 6)])]
    #[case::touching_merge(&[(1, 2), (2, 3)], &[(1, 3)])]
    #[case::overlap_merge(&[(1, 4), (2, 6)], &[(1, 6)])]
    #[case::contained(&[(1, 10), (2, 3)], &[(1, 10)])]
    #[case::bridge(&[(1, 2), (5, 6), (2, 5)], &[(1, 6)])]
    #[case::bridge_many(&[(1, 2), (3, 4), (5, 6), (7, 8), (0, 7)], &[(0, 8)])]
    fn insert_normalises(#[case] input: &[(i64, i64)], #[case] expected: &[(i64, i64)]) {
        let mut s = SpanSet::new();
        for &(a, b) in input {
            s.insert(sp(a, b));
        }
        assert_eq!(raw(&s), expected);
        assert_eq!(
            raw(&set(input)),
            expected,
            "FromIterator agrees with insert"
        );
    }

    #[rstest]
    #[case::nothing_to_cut(&[(0, 10)], &[], &[(0, 10)])]
    #[case::cut_middle(&[(0, 10)], &[(3, 5)], &[(0, 3), (5, 10)])]
    #[case::cut_all(&[(0, 10)], &[(0, 10)], &[])]
    #[case::cut_more(&[(2, 4)], &[(0, 10)], &[])]
    #[case::cut_edges(&[(0, 10)], &[(-5, 1), (9, 20)], &[(1, 9)])]
    #[case::cut_across(&[(0, 3), (5, 8)], &[(2, 6)], &[(0, 2), (6, 8)])]
    #[case::cut_touching_only(&[(0, 3)], &[(3, 5)], &[(0, 3)])]
    #[case::one_cut_many_spans(&[(0, 2), (4, 6), (8, 10)], &[(1, 9)], &[(0, 1), (9, 10)])]
    fn subtract_cases(
        #[case] a: &[(i64, i64)],
        #[case] b: &[(i64, i64)],
        #[case] expected: &[(i64, i64)],
    ) {
        assert_eq!(raw(&set(a).subtract(&set(b))), expected);
    }

    #[test]
    fn total_contains_clip_overlaps() {
        let s = set(&[(0, 10), (20, 25)]);
        assert_eq!(s.total(), TimeDelta::seconds(15));
        assert!(s.contains(t(0)));
        assert!(s.contains(t(9)));
        assert!(!s.contains(t(10)), "half-open");
        assert!(!s.contains(t(15)));
        assert!(s.contains(t(24)));
        assert_eq!(raw(&s.clip(sp(5, 22))), [(5, 10), (20, 22)]);
        assert!(s.overlaps(&set(&[(9, 11)])));
        assert!(!s.overlaps(&set(&[(10, 20)])));
        assert_eq!(SpanSet::new().total(), TimeDelta::zero());
        assert_eq!(sp(5, 1).duration(), TimeDelta::zero());
    }

    #[test]
    fn a_span_holds_its_start_and_not_its_end() {
        let s = sp(0, 10);
        assert!(s.contains(t(0)));
        assert!(s.contains(t(9)));
        assert!(!s.contains(t(10)));
        assert!(!s.contains(t(-1)));
    }

    #[test]
    fn emptiness_iteration_and_display() {
        assert!(SpanSet::new().is_empty());
        assert!(set(&[(3, 3)]).is_empty(), "an empty span adds nothing");
        let s = set(&[(20, 25), (0, 10)]);
        assert!(!s.is_empty());
        let starts: Vec<_> = (&s).into_iter().map(|x| x.start).collect();
        assert_eq!(starts, [t(0), t(20)]);
        assert_eq!(
            sp(0, 5).to_string(),
            "[2023-11-14T22:13:20+00:00, 2023-11-14T22:13:25+00:00)"
        );
    }

    #[test]
    fn serde_normalises() {
        let json = serde_json::json!([
            {"start": "2024-01-01T00:00:05Z", "end": "2024-01-01T00:00:09Z"},
            {"start": "2024-01-01T00:00:00Z", "end": "2024-01-01T00:00:06Z"},
            {"start": "2024-01-01T00:00:20Z", "end": "2024-01-01T00:00:10Z"}
        ]);
        let s: SpanSet = serde_json::from_value(json).unwrap();
        assert_eq!(s.spans().len(), 1);
        assert_eq!(s.total(), TimeDelta::seconds(9));
        let back: SpanSet = serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }

    /// Model: a set of whole seconds in 0..64 as a bit mask; span [a, b) covers bits a..b.
    fn mask(spans: &[(i64, i64)]) -> u64 {
        spans.iter().fold(0, |m, &(a, b)| {
            (a.max(0)..b.min(64)).fold(m, |m, i| m | (1u64 << i))
        })
    }

    fn arb_spans() -> impl Strategy<Value = Vec<(i64, i64)>> {
        prop::collection::vec((0i64..64, 0i64..64), 0..8)
    }

    fn assert_normalised(s: &SpanSet) {
        for x in s.spans() {
            assert!(!x.is_empty());
        }
        for w in s.spans().windows(2) {
            assert!(w[0].end < w[1].start, "sorted, disjoint and not touching");
        }
    }

    proptest! {
        #[test]
        fn matches_bitmask_model(a in arb_spans(), b in arb_spans()) {
            let (sa, sb) = (set(&a), set(&b));
            let (ma, mb) = (mask(&a), mask(&b));
            for s in [&sa, &sb] {
                assert_normalised(s);
            }
            prop_assert_eq!(mask(&raw(&sa)), ma);
            prop_assert_eq!(sa.total(), TimeDelta::seconds(i64::from(ma.count_ones())));

            let diff = sa.subtract(&sb);
            assert_normalised(&diff);
            prop_assert_eq!(mask(&raw(&diff)), ma & !mb);

            let uni = sa.union(&sb);
            assert_normalised(&uni);
            prop_assert_eq!(mask(&raw(&uni)), ma | mb);

            prop_assert_eq!(sa.overlaps(&sb), ma & mb != 0);
            for i in 0..64 {
                prop_assert_eq!(sa.contains(t(i)), ma & (1 << i) != 0);
            }
        }
    }
}
