//! Calendar days in a viewer's time zone (R17): which instants "Tuesday in Europe/Paris" holds.
//! The service answers its day lists and counts with these bounds, and the app lists its unsent
//! screenshots of a day with the same ones, so both agree on which day a capture belongs to.

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// Why a day cannot be bounded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DayError {
    /// Not an IANA time zone name.
    #[error("unknown IANA time zone {0:?}")]
    UnknownZone(String),
    /// The date is at the edge of what can be represented, or has no local midnight.
    #[error("date out of range")]
    OutOfRange,
}

/// `[start, end)` in UTC of calendar day `day` in IANA zone `tz`.
///
/// # Errors
/// [`DayError`] for an unknown zone or a date at the edge of the representable range.
pub fn bounds(day: NaiveDate, tz: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), DayError> {
    let zone: Tz = tz
        .parse()
        .map_err(|_| DayError::UnknownZone(tz.to_owned()))?;
    let next = day.succ_opt().ok_or(DayError::OutOfRange)?;
    Ok((local_midnight(day, zone)?, local_midnight(next, zone)?))
}

fn local_midnight(day: NaiveDate, tz: Tz) -> Result<DateTime<Utc>, DayError> {
    let midnight = day.and_hms_opt(0, 0, 0).ok_or(DayError::OutOfRange)?;
    // A DST gap may swallow midnight: the day then starts at the first valid local minute.
    (0..=180)
        .find_map(|m| {
            tz.from_local_datetime(&(midnight + TimeDelta::minutes(m)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .ok_or(DayError::OutOfRange)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_day_runs_from_local_midnight_to_local_midnight() {
        assert_eq!(
            bounds(day("2026-11-25"), "Europe/Paris").unwrap(),
            (utc("2026-11-24T23:00:00Z"), utc("2026-11-25T23:00:00Z"))
        );
        // The spring-forward day is 23 hours long.
        let (start, end) = bounds(day("2026-03-29"), "Europe/Paris").unwrap();
        assert_eq!(end - start, TimeDelta::hours(23));
        // Midnight swallowed by a DST gap: the day starts at the first valid local minute.
        let (start, _) = bounds(day("2026-03-08"), "America/Havana").unwrap();
        assert_eq!(start, utc("2026-03-08T05:00:00Z"));
    }

    #[test]
    fn an_unknown_zone_is_refused() {
        assert_eq!(
            bounds(day("2026-11-25"), "Mars/Olympus"),
            Err(DayError::UnknownZone("Mars/Olympus".into()))
        );
        assert_eq!(bounds(NaiveDate::MAX, "UTC"), Err(DayError::OutOfRange));
    }
}
