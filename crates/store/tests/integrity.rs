//! `Store::integrity_check` tells a damaged file from a sound one.
//!
//! The damage is made the way a bad disk, a foreign tool or an old bug leaves it: rows that no
//! version of the app can write, put there behind SQLite's back by another connection.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{capture, entry, mins, t0};
use rusqlite::Connection;
use shotclock_store::{DB_FILE_NAME, Store};

/// A store with an entry and a screenshot in it, closed; returns its directory.
fn closed_store_with_data() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let e = entry(t0());
    capture(&mut store, &e, t0() + mins(1));
    assert!(store.integrity_check().unwrap());
    drop(store);
    dir
}

/// Runs `sql` on the closed store's file with constraint checks off.
fn tamper(dir: &std::path::Path, sql: &str) {
    let conn = Connection::open(dir.join(DB_FILE_NAME)).unwrap();
    conn.pragma_update(None, "ignore_check_constraints", true)
        .unwrap();
    conn.execute_batch(sql).unwrap();
}

/// What SQLite's own check says about the file, line by line (read beside the store).
fn problems(dir: &std::path::Path) -> Vec<String> {
    let conn = Connection::open(dir.join(DB_FILE_NAME)).unwrap();
    let mut stmt = conn.prepare("PRAGMA integrity_check").unwrap();
    stmt.query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_sound_file_passes() {
    let dir = closed_store_with_data();
    let store = Store::open(dir.path()).unwrap();
    assert!(store.integrity_check().unwrap());
}

#[test]
fn one_broken_row_fails_the_check() {
    // A single problem: SQLite reports exactly one line, and it is not "ok".
    let dir = closed_store_with_data();
    tamper(dir.path(), "UPDATE screenshots SET width = 0");
    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_ne!(found[0], "ok");
    let store = Store::open(dir.path()).unwrap();
    assert!(!store.integrity_check().unwrap());
}

#[test]
fn many_problems_fail_the_check() {
    let dir = closed_store_with_data();
    tamper(
        dir.path(),
        "UPDATE screenshots SET width = 0, height = 0, sha256 = 'short';
         UPDATE time_entries SET end_at = start_at - 1, deducted_ms = -5;",
    );
    assert!(problems(dir.path()).len() > 1);
    let store = Store::open(dir.path()).unwrap();
    assert!(!store.integrity_check().unwrap());
}
