//! Captures and capture attempts: one transaction for screenshot + upload + attempt, failures
//! recorded with their reason (R12), invalid input writes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{attempt, capture, entry, mins, shot, store, t0};
use sha2::Digest as _;
use shotclock_store::{CaptureHealth, OutboxKind, ScreenshotState, StoreError};

#[test]
fn a_capture_writes_screenshot_upload_and_attempt() {
    let (_dir, mut store) = store();
    let e = entry(t0());
    let s = shot(&e, t0() + mins(2));
    let a = attempt(&e, t0() + mins(2), CaptureHealth::Ok);
    let info = store.record_capture(&e, &s, &a).unwrap();

    assert_eq!(info.sha256, hex_sha256(&s.thumbnail));
    let stored = store.screenshot(s.id).unwrap().unwrap();
    assert_eq!(stored.info, info);
    assert_eq!(stored.thumbnail, s.thumbnail);
    assert_eq!(stored.info.state, ScreenshotState::Pending);

    let item = store.next_due(t0() + mins(2)).unwrap().unwrap();
    assert_eq!(item.kind, OutboxKind::Screenshot);
    assert_eq!(item.item_id, *s.id.as_uuid());
    assert_eq!(item.entry_id, Some(e.id));
    assert_eq!(item.payload, Ok(shotclock_store::OutboxPayload::Screenshot));
    assert_eq!(store.pending_count().unwrap(), 1);

    let last = store.last_attempt().unwrap().unwrap();
    assert_eq!(last.id, a.id);
    assert_eq!(last.screenshot_id, Some(s.id));
    // The entry the capture belongs to was not known before; now it is.
    assert_eq!(store.get_entry(e.id).unwrap().unwrap(), e);
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn screenshot_and_upload_are_both_present_or_both_absent() {
    let (_dir, mut store) = store();
    let e = entry(t0());
    // An attempt id that is already taken makes the capture's last insert fail.
    let failed = attempt(&e, t0() + mins(1), CaptureHealth::AllBlack);
    store.record_failed_attempt(&failed).unwrap();

    let s = shot(&e, t0() + mins(2));
    let mut clash = attempt(&e, t0() + mins(2), CaptureHealth::Ok);
    clash.id = failed.id;
    let err = store.record_capture(&e, &s, &clash).unwrap_err();
    assert!(matches!(err, StoreError::Sqlite(_)), "{err:?}");

    assert!(
        store.screenshot(s.id).unwrap().is_none(),
        "screenshot rolled back"
    );
    assert_eq!(store.pending_count().unwrap(), 0, "upload rolled back");
    assert!(store.next_due(t0() + mins(10)).unwrap().is_none());
    assert!(
        store.get_entry(e.id).unwrap().is_none(),
        "entry inserted by the capture rolled back too"
    );
    assert_eq!(
        store.last_attempt().unwrap().unwrap().id,
        failed.id,
        "only the earlier failed attempt exists"
    );

    // The same capture with a fresh attempt id goes through whole.
    let ok = attempt(&e, t0() + mins(2), CaptureHealth::Ok);
    store.record_capture(&e, &s, &ok).unwrap();
    assert!(store.screenshot(s.id).unwrap().is_some());
    assert_eq!(store.pending_count().unwrap(), 1);
}

#[test]
fn the_same_screenshot_twice_is_refused_and_not_duplicated() {
    let (_dir, mut store) = store();
    let e = entry(t0());
    let s = shot(&e, t0() + mins(2));
    store
        .record_capture(&e, &s, &attempt(&e, t0() + mins(2), CaptureHealth::Ok))
        .unwrap();
    assert!(
        store
            .record_capture(&e, &s, &attempt(&e, t0() + mins(2), CaptureHealth::Ok))
            .is_err()
    );
    assert_eq!(store.pending_count().unwrap(), 1);
    assert_eq!(store.screenshots_of_entry(e.id).unwrap().len(), 1);
    assert_eq!(
        store.attempts_between(t0(), t0() + mins(10)).unwrap().len(),
        1
    );
}

#[test]
fn inconsistent_captures_are_refused_before_writing() {
    let (_dir, mut store) = store();
    let e = entry(t0());
    let other = entry(t0());
    let at = t0() + mins(1);

    let s = shot(&other, at);
    let err = store
        .record_capture(&e, &s, &attempt(&e, at, CaptureHealth::Ok))
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));

    let s = shot(&e, at);
    let err = store
        .record_capture(&e, &s, &attempt(&e, at, CaptureHealth::NoMonitor))
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));

    let mut empty = shot(&e, at);
    empty.thumbnail.clear();
    let err = store
        .record_capture(&e, &empty, &attempt(&e, at, CaptureHealth::Ok))
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));

    let err = store
        .record_failed_attempt(&attempt(&e, at, CaptureHealth::Ok))
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));

    assert!(store.get_entry(e.id).unwrap().is_none());
    assert_eq!(store.pending_count().unwrap(), 0);
    assert!(store.last_attempt().unwrap().is_none());
}

#[test]
fn a_capture_does_not_overwrite_a_known_entry() {
    let (_dir, mut store) = store();
    let mut e = entry(t0());
    e.description = "local truth".into();
    e.synced = true;
    store.upsert_entry(&e).unwrap();
    let mut stale = e.clone();
    stale.description = "stale copy from the scheduler".into();
    capture(&mut store, &stale, t0() + mins(3));
    assert_eq!(store.get_entry(e.id).unwrap().unwrap(), e);
}

#[test]
fn why_is_there_no_screenshot_at_10_05() {
    let (_dir, mut store) = store();
    let e = entry(t0());
    capture(&mut store, &e, t0() + mins(3));
    let mut denied = attempt(&e, t0() + mins(7), CaptureHealth::PermissionDenied);
    denied.window_index = 1;
    denied.detail = "Screen Recording permission missing".into();
    store.record_failed_attempt(&denied).unwrap();
    let mut black = attempt(&e, t0() + mins(12), CaptureHealth::AllBlack);
    black.window_index = 2;
    store.record_failed_attempt(&black).unwrap();

    let last = store.last_attempt().unwrap().unwrap();
    assert_eq!(last.health, CaptureHealth::AllBlack);
    assert_eq!(last.screenshot_id, None);

    let window = store
        .attempts_between(t0() + mins(5), t0() + mins(10))
        .unwrap();
    assert_eq!(window.len(), 1);
    let why = &window[0];
    assert_eq!(why.health, CaptureHealth::PermissionDenied);
    assert_eq!(why.window_index, 1);
    assert_eq!(why.detail, "Screen Recording permission missing");

    let all = store.attempts_between(t0(), t0() + mins(60)).unwrap();
    let healths: Vec<_> = all.iter().map(|a| a.health).collect();
    assert_eq!(
        healths,
        [
            CaptureHealth::Ok,
            CaptureHealth::PermissionDenied,
            CaptureHealth::AllBlack
        ]
    );
}

#[test]
fn health_codes_round_trip_as_text() {
    for h in CaptureHealth::ALL {
        assert_eq!(h.as_str().parse::<CaptureHealth>().unwrap(), *h);
    }
    assert_eq!(CaptureHealth::AllBlack.as_str(), "all_black");
    assert!("sunny".parse::<CaptureHealth>().is_err());
    for k in OutboxKind::ALL {
        assert_eq!(k.as_str().parse::<OutboxKind>().unwrap(), *k);
    }
}
