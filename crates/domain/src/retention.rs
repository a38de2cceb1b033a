//! Screenshot retention (R18): a screenshot is viewable for 7 days after capture; after that it
//! is expired, must never be served, and is purged (records and files) — by the service and by
//! the desktop buffer alike, including screenshots never uploaded.
//!
//! Boundary: a screenshot exactly [`RETENTION`] old is expired (it *has* been viewable for 7
//! days). In SQL terms: serve `captured_at > :cutoff`, purge `captured_at <= :cutoff`, with
//! `:cutoff = cutoff(now)`. A capture time in the future (clock skew) is not expired.

use chrono::{DateTime, TimeDelta, Utc};

/// How long a screenshot stays viewable.
pub const RETENTION: TimeDelta = TimeDelta::days(7);

/// The longest a client keeps retrying one change: an outbox item lives until its screenshot
/// expires locally, so at most one retention period.
pub const RETRY_HORIZON: TimeDelta = RETENTION;

/// How long the service remembers a deleted id (R24–R26): long enough that no retry of the
/// original create can arrive after its tombstone is gone.
pub const TOMBSTONE_KEEP: TimeDelta =
    TimeDelta::days(RETENTION.num_days() + RETRY_HORIZON.num_days());

/// Tombstones of deletes at or before this instant may be forgotten at `now`.
#[must_use]
pub fn tombstone_cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    now.checked_sub_signed(TOMBSTONE_KEEP)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Screenshots captured at or before this instant are expired at `now`.
#[must_use]
pub fn cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    now.checked_sub_signed(RETENTION)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Whether a screenshot captured at `captured_at` is expired at `now`.
#[must_use]
pub fn is_expired(captured_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    captured_at <= cutoff(now)
}

/// The first instant at which a screenshot captured at `captured_at` is expired.
#[must_use]
pub fn expires_at(captured_at: DateTime<Utc>) -> DateTime<Utc> {
    captured_at
        .checked_add_signed(RETENTION)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use rstest::rstest;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 10, 12, 0, 0).unwrap()
    }

    #[test]
    fn tombstones_outlive_every_retry() {
        // A screenshot captured just before its delete can be retried until it expires on the
        // device; its tombstone must still be there then.
        let deleted = now();
        let last_retry = expires_at(deleted);
        assert!(tombstone_cutoff(last_retry) < deleted);
        assert_eq!(TOMBSTONE_KEEP, TimeDelta::days(14));
        assert_eq!(tombstone_cutoff(now()), now() - TimeDelta::days(14));
    }

    #[rstest]
    #[case::just_taken(TimeDelta::zero(), false)]
    #[case::six_days(TimeDelta::days(6), false)]
    #[case::one_ns_short_of_seven_days(TimeDelta::days(7) - TimeDelta::nanoseconds(1), false)]
    #[case::exactly_seven_days(TimeDelta::days(7), true)]
    #[case::seven_days_and_a_ms(TimeDelta::days(7) + TimeDelta::milliseconds(1), true)]
    #[case::a_month(TimeDelta::days(30), true)]
    #[case::future_capture_clock_skew(TimeDelta::hours(-2), false)]
    fn expiry(#[case] age: TimeDelta, #[case] expired: bool) {
        let captured = now() - age;
        assert_eq!(is_expired(captured, now()), expired);
        // The three functions agree.
        assert_eq!(captured <= cutoff(now()), expired);
        assert_eq!(expires_at(captured) <= now(), expired);
    }

    #[test]
    fn constants_and_extremes() {
        assert_eq!(RETENTION, TimeDelta::days(7));
        assert_eq!(
            cutoff(now()),
            Utc.with_ymd_and_hms(2024, 3, 3, 12, 0, 0).unwrap()
        );
        // No panic at the edges of the representable range.
        assert_eq!(cutoff(DateTime::<Utc>::MIN_UTC), DateTime::<Utc>::MIN_UTC);
        assert_eq!(
            expires_at(DateTime::<Utc>::MAX_UTC),
            DateTime::<Utc>::MAX_UTC
        );
    }

    proptest! {
        #[test]
        fn expiry_is_monotone_in_time(age_ms in -1_000_000_000i64..2_000_000_000, later_ms in 0i64..1_000_000_000) {
            let captured = now() - TimeDelta::milliseconds(age_ms);
            let later = now() + TimeDelta::milliseconds(later_ms);
            // Once expired, always expired.
            if is_expired(captured, now()) {
                prop_assert!(is_expired(captured, later));
            }
            prop_assert_eq!(is_expired(captured, now()), TimeDelta::milliseconds(age_ms) >= RETENTION);
        }
    }
}
