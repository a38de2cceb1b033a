//! Reopening, cached account/settings, entries, deletes, and the async handle.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::TimeDelta;
use common::{capture, entry, entry_item, mins, t0};
use shotclock_api::{Plan, Role, UserId, WorkspaceId};
use shotclock_store::{
    CachedAccount, CachedSettings, CaptureHealth, OutboxKind, Store, StoreHandle,
};

fn account() -> CachedAccount {
    CachedAccount {
        server_url: "https://acme.shotclock.example".into(),
        user_id: UserId::new(),
        workspace_id: WorkspaceId::new(),
        role: Role::Admin,
        email: "ada@acme.example".into(),
    }
}

fn settings() -> CachedSettings {
    CachedSettings {
        screenshots_enabled: true,
        blur: false,
        plan: Plan::Free,
        trial_started_at: Some(t0()),
        capture_window_secs: 30,
        lock_date: Some(t0() - TimeDelta::days(30)),
    }
}

#[test]
fn everything_committed_is_there_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let e = entry(t0());
    let (acc, shot, seq) = {
        let mut store = Store::open(dir.path()).unwrap();
        let acc = account();
        store.set_account(&acc).unwrap();
        store.set_settings(&settings()).unwrap();
        let seq = store
            .record_timer_change(&e, &entry_item(&e, OutboxKind::TimerStart), t0())
            .unwrap();
        let shot = capture(&mut store, &e, t0() + mins(2));
        let rej = store.next_due(t0()).unwrap().unwrap();
        assert_eq!(rej.seq, seq);
        assert!(store.retry_later(seq, t0() + mins(1), "offline").unwrap());
        (acc, shot, seq)
    };

    let store = Store::open(dir.path()).unwrap();
    assert!(store.integrity_check().unwrap());
    assert_eq!(store.account().unwrap().unwrap(), acc);
    assert_eq!(store.settings().unwrap().unwrap(), settings());
    assert_eq!(store.get_entry(e.id).unwrap().unwrap().start, t0());
    assert_eq!(
        store.screenshot(shot.id).unwrap().unwrap().thumbnail,
        shot.thumbnail
    );
    assert_eq!(store.pending_count().unwrap(), 2);
    let item = store.outbox_item(seq).unwrap().unwrap();
    assert_eq!(item.attempts, 1);
    assert_eq!(item.last_error.as_deref(), Some("offline"));
    assert_eq!(store.earliest_due().unwrap(), Some(t0() + mins(1)));
    assert_eq!(
        store.last_attempt().unwrap().unwrap().health,
        CaptureHealth::Ok
    );
}

#[test]
fn account_and_settings_are_replaced_and_cleared() {
    let (_dir, mut store) = common::store();
    assert!(store.account().unwrap().is_none());
    assert!(store.settings().unwrap().is_none());
    let mut acc = account();
    store.set_account(&acc).unwrap();
    acc.role = Role::Member;
    acc.email = "ada@new.example".into();
    store.set_account(&acc).unwrap();
    assert_eq!(store.account().unwrap().unwrap(), acc);
    assert!(store.clear_account().unwrap());
    assert!(store.account().unwrap().is_none());
    assert!(!store.clear_account().unwrap());

    store.set_settings(&CachedSettings::default()).unwrap();
    assert_eq!(
        store.settings().unwrap().unwrap(),
        CachedSettings::default()
    );
    store.set_settings(&settings()).unwrap();
    let got = store.settings().unwrap().unwrap();
    assert_eq!(got, settings());
    assert_eq!(got.capture_window(), TimeDelta::seconds(30));
    assert!(
        got.gate()
            .capture_allowed(t0() + TimeDelta::days(1))
            .is_ok()
    );
    assert!(
        got.gate()
            .capture_allowed(t0() + TimeDelta::days(8))
            .is_err()
    );

    let zero_window = CachedSettings {
        capture_window_secs: 0,
        ..settings()
    };
    assert!(store.set_settings(&zero_window).is_err());
    assert_eq!(store.settings().unwrap().unwrap(), settings());
}

#[test]
fn entries_between_and_running_entry() {
    let (_dir, mut store) = common::store();
    let mut morning = entry(t0());
    morning.end = Some(t0() + TimeDelta::hours(2));
    let mut lunch = entry(t0() + TimeDelta::hours(3));
    lunch.end = Some(t0() + TimeDelta::hours(4));
    let running = entry(t0() + TimeDelta::hours(5));
    for e in [&running, &lunch, &morning] {
        store.upsert_entry(e).unwrap();
    }
    let ids = |v: Vec<shotclock_store::TimeEntry>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let day = store
        .entries_between(t0() - TimeDelta::hours(1), t0() + TimeDelta::hours(24))
        .unwrap();
    assert_eq!(ids(day), [morning.id, lunch.id, running.id]);
    // Half-open: an entry ending exactly at `from` is out, one starting exactly at `to` too.
    let mid = store
        .entries_between(t0() + TimeDelta::hours(2), t0() + TimeDelta::hours(5))
        .unwrap();
    assert_eq!(ids(mid), [lunch.id]);
    let late = store
        .entries_between(t0() + TimeDelta::days(3), t0() + TimeDelta::days(4))
        .unwrap();
    assert_eq!(ids(late), [running.id], "a running entry extends to now");
    assert_eq!(store.running_entry().unwrap().unwrap().id, running.id);

    let mut bad = entry(t0());
    bad.end = Some(t0() - mins(1));
    assert!(store.upsert_entry(&bad).is_err(), "end before start");
}

#[test]
fn deleting_an_entry_deletes_its_screenshots_and_their_uploads() {
    let (_dir, mut store) = common::store();
    let e = entry(t0());
    let keep = entry(t0() + TimeDelta::hours(1));
    store
        .record_timer_change(&e, &entry_item(&e, OutboxKind::TimerStart), t0())
        .unwrap();
    let a = capture(&mut store, &e, t0() + mins(1));
    let b = capture(&mut store, &e, t0() + mins(6));
    let c = capture(&mut store, &keep, t0() + TimeDelta::hours(1) + mins(1));
    assert_eq!(store.pending_count().unwrap(), 4);

    assert!(store.delete_entry_with_tombstone(e.id, t0()).unwrap());
    assert!(store.get_entry(e.id).unwrap().is_none());
    assert!(store.screenshot(a.id).unwrap().is_none());
    assert!(store.screenshot(b.id).unwrap().is_none());
    assert!(store.screenshot(c.id).unwrap().is_some());
    assert!(store.screenshots_of_entry(e.id).unwrap().is_empty());
    assert!(
        store
            .attempts_between(t0(), t0() + mins(30))
            .unwrap()
            .is_empty()
    );
    // Left: c's upload and the tombstone.
    assert_eq!(store.pending_count().unwrap(), 2);
    let first = store.next_due(t0() + TimeDelta::hours(2)).unwrap().unwrap();
    assert_eq!(first.item_id, *c.id.as_uuid());
    assert!(store.ack(first.seq).unwrap());
    let tomb = store.next_due(t0() + TimeDelta::hours(2)).unwrap().unwrap();
    assert_eq!(tomb.kind, OutboxKind::DeleteEntry);
    assert_eq!(tomb.item_id, *e.id.as_uuid());

    // A local-only delete (the service told us) queues nothing.
    assert!(store.delete_entry(keep.id).unwrap());
    assert_eq!(store.pending_count().unwrap(), 1);
    assert!(!store.delete_entry(keep.id).unwrap());
    assert!(store.integrity_check().unwrap());
}

#[test]
fn deleting_a_screenshot_removes_its_upload_and_optionally_queues_a_tombstone() {
    let (_dir, mut store) = common::store();
    let e = entry(t0());
    let a = capture(&mut store, &e, t0() + mins(1));
    let b = capture(&mut store, &e, t0() + mins(6));

    assert!(store.delete_screenshot(a.id).unwrap());
    assert!(!store.delete_screenshot(a.id).unwrap());
    assert_eq!(store.pending_count().unwrap(), 1);
    // The attempt stays (it happened) but no longer points at a screenshot.
    let attempts = store.attempts_between(t0(), t0() + mins(2)).unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].screenshot_id, None);

    // b was already uploaded; the user deletes it: the service must hear of it.
    let up = store.next_due(t0() + mins(7)).unwrap().unwrap();
    assert!(store.ack(up.seq).unwrap());
    assert!(
        store
            .delete_screenshot_with_tombstone(b.id, None, t0() + mins(8))
            .unwrap()
    );
    let tomb = store.next_due(t0() + mins(8)).unwrap().unwrap();
    assert_eq!(tomb.kind, OutboxKind::DeleteScreenshot);
    assert_eq!(tomb.item_id, *b.id.as_uuid());
    assert_eq!(tomb.entry_id, Some(e.id));
    assert!(
        store
            .screenshots_between(t0(), t0() + mins(60))
            .unwrap()
            .is_empty()
    );
}

/// A member's delete (R21) records the entry's whole removed time with the delete, and says
/// whether the screenshot was held here; one not held here still moves the entry's time.
#[test]
fn a_members_delete_records_the_entrys_removed_time() {
    let (_dir, mut store) = common::store();
    let e = entry(t0());
    let a = capture(&mut store, &e, t0() + mins(3));
    assert!(
        store
            .delete_screenshot_deducting(a.id, (e.id, mins(3)), Some((None, t0() + mins(10))))
            .unwrap()
    );
    assert!(store.screenshot(a.id).unwrap().is_none());
    assert_eq!(store.get_entry(e.id).unwrap().unwrap().deducted, mins(3));
    let tomb = store.next_due(t0() + mins(10)).unwrap().unwrap();
    assert_eq!(
        (tomb.kind, tomb.item_id),
        (OutboxKind::DeleteScreenshot, *a.id.as_uuid())
    );

    let elsewhere = shotclock_api::ScreenshotId::new();
    assert!(
        !store
            .delete_screenshot_deducting(elsewhere, (e.id, mins(8)), None)
            .unwrap()
    );
    assert_eq!(store.get_entry(e.id).unwrap().unwrap().deducted, mins(8));
}

/// The scheduler resumes after the latest window that has an attempt (R9), by window, then by
/// instant.
#[test]
fn the_latest_attempt_of_an_entry_is_by_window() {
    let (_dir, mut store) = common::store();
    let (e, other) = (entry(t0()), entry(t0()));
    assert!(store.last_attempt_of_entry(e.id).unwrap().is_none());
    let record = |store: &mut Store, of: &shotclock_store::TimeEntry, window, at| {
        let s = common::shot(of, at);
        let attempt = shotclock_store::NewAttempt {
            window_index: window,
            ..common::attempt(of, at, CaptureHealth::Ok)
        };
        store.record_capture(of, &s, &attempt).unwrap();
        attempt.id
    };
    record(&mut store, &e, 0, t0() + mins(2));
    let latest = record(&mut store, &e, 2, t0() + mins(11));
    // Stamped later, but of an earlier window.
    record(&mut store, &e, 1, t0() + mins(12));
    record(&mut store, &other, 5, t0() + mins(26));
    let last = store.last_attempt_of_entry(e.id).unwrap().unwrap();
    assert_eq!((last.id, last.window_index), (latest, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handle_runs_calls_off_the_async_threads_and_clones_cheaply() {
    let dir = tempfile::tempdir().unwrap();
    let handle = StoreHandle::open(dir.path().to_path_buf()).await.unwrap();
    let e = entry(t0());
    let mut tasks = Vec::new();
    for i in 0..20 {
        let h = handle.clone();
        let e = e.clone();
        tasks.push(tokio::spawn(async move {
            h.call(move |s| {
                capture(s, &e, t0() + mins(i));
                Ok(())
            })
            .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(handle.call(|s| s.pending_count()).await.unwrap(), 20);

    // A panicking call is reported, and the store stays usable.
    let err = handle
        .call(|_s| -> Result<(), shotclock_store::StoreError> { panic!("boom") })
        .await
        .unwrap_err();
    assert!(matches!(err, shotclock_store::StoreError::Task(_)));
    assert!(handle.call(|s| s.integrity_check()).await.unwrap());
}

/// Time added here by hand (R39) is known as such while it is held here or its item waits or
/// was set aside; a timer's entry never is.
#[test]
fn time_added_by_hand_is_known_as_such() {
    let (_dir, mut store) = common::store();
    let stopped = |start| shotclock_store::TimeEntry {
        end: Some(start + mins(30)),
        ..entry(start)
    };
    let (later, earlier) = (stopped(t0()), stopped(t0() - mins(120)));
    let timer = entry(t0() + mins(60));
    let queue = |store: &mut Store, e: &shotclock_store::TimeEntry, kind| {
        store
            .record_timer_change(e, &entry_item(e, kind), t0() + mins(90))
            .unwrap()
    };
    queue(&mut store, &timer, OutboxKind::TimerStart);
    let sent = queue(&mut store, &later, OutboxKind::ManualEntry);
    let refused = queue(&mut store, &earlier, OutboxKind::ManualEntry);

    // Held here by start; queued in the order they were made.
    assert_eq!(store.manual_entries().unwrap(), vec![earlier.id, later.id]);
    assert_eq!(
        store.entries_queued(OutboxKind::ManualEntry).unwrap(),
        vec![later.id, earlier.id]
    );
    assert_eq!(
        store.entries_queued(OutboxKind::TimerStart).unwrap(),
        vec![timer.id]
    );
    assert!(store.is_queued_manual(later.id).unwrap());
    assert!(!store.is_queued_manual(timer.id).unwrap());
    assert!(
        !store
            .is_queued_manual(shotclock_api::EntryId::new())
            .unwrap()
    );

    // Sent: no longer queued, still held here as added by hand.
    assert!(store.ack(sent).unwrap());
    assert_eq!(
        store.entries_queued(OutboxKind::ManualEntry).unwrap(),
        vec![earlier.id]
    );
    assert!(store.is_queued_manual(later.id).unwrap());

    // Refused: the entry goes, its item stays aside, and it was still added by hand.
    assert!(store.reject(refused, "overlaps another entry").unwrap());
    assert!(store.get_entry(earlier.id).unwrap().is_none());
    assert_eq!(store.manual_entries().unwrap(), vec![later.id]);
    assert!(
        store
            .entries_queued(OutboxKind::ManualEntry)
            .unwrap()
            .is_empty()
    );
    assert!(store.is_queued_manual(earlier.id).unwrap());
}
