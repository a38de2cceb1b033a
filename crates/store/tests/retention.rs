//! Retention (R18): the buffer obeys the 7-day limit, including screenshots never uploaded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::TimeDelta;
use common::{attempt, capture, entry, mins, store, t0};
use shotclock_api::ScreenshotId;
use shotclock_domain::retention::RETENTION;
use shotclock_store::{CaptureHealth, OutboxKind};

#[test]
fn an_unsent_screenshot_older_than_seven_days_is_purged_with_its_upload() {
    let (_dir, mut store) = store();
    let e = entry(t0());
    let old = capture(&mut store, &e, t0() + mins(1));
    let young = capture(&mut store, &e, t0() + mins(6));
    assert_eq!(store.pending_count().unwrap(), 2);

    // `old` expires at t0 + 7d + 1min, `young` at t0 + 7d + 6min: purge in between.
    let now = t0() + RETENTION + mins(3);
    assert_eq!(store.purge_expired(now).unwrap(), 1);

    assert!(store.screenshot(old.id).unwrap().is_none());
    assert!(store.screenshot(young.id).unwrap().is_some());
    assert_eq!(store.pending_count().unwrap(), 1);
    let left = store.next_due(now).unwrap().unwrap();
    assert_eq!(left.item_id, *young.id.as_uuid());
    // The entry itself is not subject to retention.
    assert!(store.get_entry(e.id).unwrap().is_some());

    // Nothing more to do at the same instant; later the young one goes too.
    assert_eq!(store.purge_expired(now).unwrap(), 0);
    assert_eq!(store.purge_expired(now + mins(10)).unwrap(), 1);
    assert_eq!(store.pending_count().unwrap(), 0);
    assert!(store.integrity_check().unwrap());
}

#[test]
fn the_boundary_follows_the_domain_rule() {
    let (_dir, mut store) = store();
    let e = entry(t0());
    let s = capture(&mut store, &e, t0());
    // One millisecond short of 7 days: still viewable.
    assert_eq!(
        store
            .purge_expired(t0() + RETENTION - TimeDelta::milliseconds(1))
            .unwrap(),
        0
    );
    assert!(store.screenshot(s.id).unwrap().is_some());
    // Exactly 7 days: expired.
    assert_eq!(store.purge_expired(t0() + RETENTION).unwrap(), 1);
    assert!(store.screenshot(s.id).unwrap().is_none());
}

#[test]
fn uploaded_and_rejected_screenshots_expire_too() {
    let (_dir, mut store) = store();
    let e = entry(t0());
    let up = capture(&mut store, &e, t0() + mins(1));
    let rej = capture(&mut store, &e, t0() + mins(2));
    let first = store.next_due(t0() + mins(5)).unwrap().unwrap();
    assert!(store.ack(first.seq).unwrap());
    let second = store.next_due(t0() + mins(5)).unwrap().unwrap();
    assert!(store.reject(second.seq, "413").unwrap());
    assert_eq!(store.rejected_items().unwrap().len(), 1);

    assert_eq!(store.purge_expired(t0() + RETENTION + mins(5)).unwrap(), 2);
    assert!(store.screenshot(up.id).unwrap().is_none());
    assert!(store.screenshot(rej.id).unwrap().is_none());
    assert!(store.rejected_items().unwrap().is_empty());
}

#[test]
fn old_attempts_and_moot_tombstones_go_timer_changes_stay() {
    let (_dir, mut store) = store();
    let e = entry(t0());
    store
        .record_failed_attempt(&attempt(&e, t0(), CaptureHealth::NoMonitor))
        .unwrap();
    store
        .delete_screenshot_with_tombstone(ScreenshotId::new(), None, t0())
        .unwrap();
    store
        .enqueue(&common::entry_item(&e, OutboxKind::TimerStop), t0())
        .unwrap();
    assert_eq!(store.pending_count().unwrap(), 2);

    store.purge_expired(t0() + RETENTION + mins(1)).unwrap();
    assert!(store.last_attempt().unwrap().is_none());
    assert_eq!(store.pending_count().unwrap(), 1);
    assert_eq!(
        store.next_due(t0() + RETENTION).unwrap().unwrap().kind,
        OutboxKind::TimerStop
    );
}

#[test]
fn a_purge_that_finds_nothing_leaves_the_file_alone() {
    // The engine purges every few minutes; while nothing has expired that must not write to
    // the file — in particular not checkpoint it, which another process reading it (a
    // `sqlite3` shell) can block, and which would then fail the purge.
    let dir = tempfile::tempdir().unwrap();
    let mut store = shotclock_store::Store::open(dir.path()).unwrap();
    let e = entry(t0());
    capture(&mut store, &e, t0() + mins(1));

    let reader = rusqlite::Connection::open(store.path()).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let n: i64 = reader
        .query_row("SELECT COUNT(*) FROM screenshots", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    assert!(
        matches!(
            store.checkpoint(),
            Err(shotclock_store::StoreError::CheckpointIncomplete { .. })
        ),
        "the reader must block a checkpoint, or the test proves nothing"
    );

    assert_eq!(store.purge_expired(t0() + mins(2)).unwrap(), 0);
    assert_eq!(store.purge_expired(t0() + RETENTION).unwrap(), 0);
    reader.execute_batch("COMMIT").unwrap();
    assert_eq!(store.purge_expired(t0() + RETENTION + mins(1)).unwrap(), 1);
}
