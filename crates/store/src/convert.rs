//! Column conversions: timestamps as integer milliseconds, ids and enums as text.
//!
//! Reading helpers return `rusqlite::Result` so they work inside row-mapping closures; a value
//! that does not parse surfaces as `FromSqlConversionFailure` (wrapped in
//! [`crate::StoreError::Sqlite`]), never as a panic.

use std::error::Error;
use std::fmt::Display;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rusqlite::Row;
use rusqlite::types::Type;

use crate::StoreError;

/// A UTC instant as milliseconds since the Unix epoch.
pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

#[derive(Debug)]
struct BadValue(String);

impl Display for BadValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for BadValue {}

fn bad(idx: usize, ty: Type, msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, ty, Box::new(BadValue(msg)))
}

/// Reads a millisecond timestamp column.
pub(crate) fn time(row: &Row<'_>, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
    let v: i64 = row.get(idx)?;
    DateTime::from_timestamp_millis(v)
        .ok_or_else(|| bad(idx, Type::Integer, format!("timestamp {v} ms out of range")))
}

/// Reads a nullable millisecond timestamp column.
pub(crate) fn opt_time(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let v: Option<i64> = row.get(idx)?;
    v.map(|v| {
        DateTime::from_timestamp_millis(v)
            .ok_or_else(|| bad(idx, Type::Integer, format!("timestamp {v} ms out of range")))
    })
    .transpose()
}

/// Reads a text column through `FromStr` (ids, roles, plans, kinds, states).
pub(crate) fn parsed<T>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T>
where
    T: FromStr,
    T::Err: Display,
{
    let s: String = row.get(idx)?;
    s.parse()
        .map_err(|e: T::Err| bad(idx, Type::Text, format!("{s:?}: {e}")))
}

/// Reads a nullable text column through `FromStr`.
pub(crate) fn opt_parsed<T>(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<T>>
where
    T: FromStr,
    T::Err: Display,
{
    let s: Option<String> = row.get(idx)?;
    s.map(|s| {
        s.parse()
            .map_err(|e: T::Err| bad(idx, Type::Text, format!("{s:?}: {e}")))
    })
    .transpose()
}

/// Reads an integer column into a narrower unsigned type.
pub(crate) fn unsigned<T: TryFrom<i64>>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let v: i64 = row.get(idx)?;
    T::try_from(v).map_err(|_| bad(idx, Type::Integer, format!("{v} out of range")))
}

/// Converts an unsigned value into SQLite's `INTEGER`, rejecting what does not fit.
pub(crate) fn to_i64<T: TryInto<i64> + Copy + Display>(
    v: T,
    what: &'static str,
) -> Result<i64, StoreError> {
    v.try_into()
        .map_err(|_| StoreError::Invalid(format!("{what} {v} does not fit in 63 bits")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;
    use shotclock_api::EntryId;

    /// Reads column 0 of `SELECT {value}` with `read`, and says what went wrong.
    fn read_error<T: std::fmt::Debug>(
        value: &str,
        read: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
    ) -> String {
        let conn = Connection::open_in_memory().unwrap();
        let got = conn.query_row(&format!("SELECT {value}"), [], |row| read(row));
        StoreError::from(got.unwrap_err()).to_string()
    }

    /// A value the app cannot read names itself in the error, and never panics.
    #[test]
    fn unreadable_values_say_what_they_are() {
        let e = read_error("'not-an-id'", |r| parsed::<EntryId>(r, 0));
        assert!(e.contains(r#""not-an-id""#), "{e}");
        let e = read_error("'not-an-id'", |r| opt_parsed::<EntryId>(r, 0));
        assert!(e.contains(r#""not-an-id""#), "{e}");
        let e = read_error(&i64::MAX.to_string(), |r| time(r, 0));
        assert!(e.contains("out of range"), "{e}");
        let e = read_error(&i64::MAX.to_string(), |r| opt_time(r, 0));
        assert!(e.contains("out of range"), "{e}");
        let e = read_error("-1", |r| unsigned::<u32>(r, 0));
        assert!(e.contains("-1 out of range"), "{e}");
        assert!(to_i64(u64::MAX, "size").is_err());
        assert_eq!(to_i64(7u64, "size").unwrap(), 7);
    }
}
