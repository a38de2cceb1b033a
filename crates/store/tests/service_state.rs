//! Taking the service's word on entries and items: an entry it ended or no longer has
//! (unless a local change of it is queued), and an item it answered `deleted` (R24, R29).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{capture, entry, entry_item, mins, t0};
use shotclock_store::{OutboxKind, OutboxState, ScreenshotState, TimeEntry};

fn ended(e: &TimeEntry, after: chrono::TimeDelta) -> TimeEntry {
    TimeEntry {
        end: Some(e.start + after),
        ..e.clone()
    }
}

#[test]
fn open_entries_lists_every_entry_without_an_end_latest_first() {
    let (_dir, mut store) = common::store();
    let old = entry(t0());
    let new = entry(t0() + mins(30));
    let done = ended(&entry(t0() + mins(10)), mins(5));
    for e in [&old, &done, &new] {
        store.upsert_entry(e).unwrap();
    }
    let open: Vec<_> = store
        .open_entries()
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(open, [new.id, old.id]);
}

#[test]
fn the_services_end_is_written_unless_a_local_change_is_pending() {
    let (_dir, mut store) = common::store();
    // Mirrored from the service, nothing queued: the service's end wins.
    let mirrored = entry(t0());
    store.upsert_entry(&mirrored).unwrap();
    assert!(store.adopt_entry(&ended(&mirrored, mins(7))).unwrap());
    let now = store.get_entry(mirrored.id).unwrap().unwrap();
    assert_eq!(now.end, Some(t0() + mins(7)));
    assert!(now.synced);
    assert!(store.open_entries().unwrap().is_empty());

    // Started here, the start not sent yet: the local state is newer and stays.
    let local = entry(t0() + mins(20));
    let seq = store
        .record_timer_change(&local, &entry_item(&local, OutboxKind::TimerStart), t0())
        .unwrap();
    assert_eq!(store.pending_changes_of(local.id).unwrap(), 1);
    assert!(!store.adopt_entry(&ended(&local, mins(1))).unwrap());
    assert_eq!(store.get_entry(local.id).unwrap().unwrap().end, None);

    // Once the service acknowledged it, the service's word is taken again.
    assert!(store.ack(seq).unwrap());
    assert_eq!(store.pending_changes_of(local.id).unwrap(), 0);
    assert!(store.adopt_entry(&ended(&local, mins(1))).unwrap());
    assert_eq!(
        store.get_entry(local.id).unwrap().unwrap().end,
        Some(local.start + mins(1))
    );
    // A screenshot upload is not a change of the entry.
    let other = entry(t0() + mins(40));
    capture(&mut store, &other, t0() + mins(41));
    assert_eq!(store.pending_changes_of(other.id).unwrap(), 0);
    assert!(store.adopt_entry(&ended(&other, mins(2))).unwrap());
}

#[test]
fn an_entry_the_service_does_not_have_goes_unless_a_change_of_it_is_queued_or_kept_aside() {
    let (_dir, mut store) = common::store();
    // Deleted on the service: it goes here, with its screenshots and their uploads.
    let gone = entry(t0());
    store.upsert_entry(&gone).unwrap();
    let shot = capture(&mut store, &gone, t0() + mins(1));
    assert!(store.drop_entry_missing_on_service(gone.id).unwrap());
    assert!(store.get_entry(gone.id).unwrap().is_none());
    assert!(store.screenshot(shot.id).unwrap().is_none());
    assert_eq!(store.pending_count().unwrap(), 0);

    // Not sent yet: the service does not have it *yet*.
    let unsent = entry(t0() + mins(10));
    let seq = store
        .record_timer_change(&unsent, &entry_item(&unsent, OutboxKind::TimerStart), t0())
        .unwrap();
    assert!(!store.drop_entry_missing_on_service(unsent.id).unwrap());
    assert!(store.get_entry(unsent.id).unwrap().is_some());

    // Refused for good: kept aside for the user with its entry (R25).
    assert!(store.reject(seq, "422 validation").unwrap());
    assert!(!store.drop_entry_missing_on_service(unsent.id).unwrap());
    assert!(store.get_entry(unsent.id).unwrap().is_some());
    assert_eq!(store.rejected_items().unwrap().len(), 1);

    // The user dismisses the refused item: nothing holds the entry any more.
    assert!(store.dismiss_rejected(seq).unwrap());
    assert!(store.drop_entry_missing_on_service(unsent.id).unwrap());
    assert!(!store.drop_entry_missing_on_service(unsent.id).unwrap());
    assert!(store.integrity_check().unwrap());
}

#[test]
fn a_deleted_answer_settles_the_item_and_drops_what_it_would_create() {
    let (_dir, mut store) = common::store();
    let e = entry(t0());
    let start = store
        .record_timer_change(&e, &entry_item(&e, OutboxKind::TimerStart), t0())
        .unwrap();
    let a = capture(&mut store, &e, t0() + mins(1));
    let b = capture(&mut store, &e, t0() + mins(6));
    assert!(store.ack(start).unwrap());

    // The service answers `deleted` to a's upload: a goes, b stays and is next.
    let first = store.next_due(t0() + mins(10)).unwrap().unwrap();
    assert_eq!(first.item_id, *a.id.as_uuid());
    let settled = store.settle_deleted(first.seq).unwrap().unwrap();
    assert_eq!(settled.kind, OutboxKind::Screenshot);
    assert!(store.screenshot(a.id).unwrap().is_none());
    assert!(store.outbox_item(first.seq).unwrap().is_none());
    assert!(store.rejected_items().unwrap().is_empty(), "not set aside");
    let next = store.next_due(t0() + mins(10)).unwrap().unwrap();
    assert_eq!(next.item_id, *b.id.as_uuid());
    assert_eq!(
        store.screenshot(b.id).unwrap().unwrap().info.state,
        ScreenshotState::Pending
    );
    // Twice is harmless.
    assert!(store.settle_deleted(first.seq).unwrap().is_none());

    // A timer change answered `deleted`: the entry was deleted, and goes with its screenshots.
    let stop = store
        .record_timer_change(
            &ended(&e, mins(9)),
            &entry_item(&e, OutboxKind::TimerStop),
            t0() + mins(9),
        )
        .unwrap();
    let settled = store.settle_deleted(stop).unwrap().unwrap();
    assert_eq!(settled.entry_id, Some(e.id));
    assert!(store.get_entry(e.id).unwrap().is_none());
    assert!(store.screenshot(b.id).unwrap().is_none());
    assert_eq!(store.pending_count().unwrap(), 0);

    // A refused item is not pending: nothing to settle.
    let other = entry(t0() + mins(30));
    let seq = store
        .record_timer_change(&other, &entry_item(&other, OutboxKind::TimerStart), t0())
        .unwrap();
    assert!(store.reject(seq, "no").unwrap());
    assert!(store.settle_deleted(seq).unwrap().is_none());
    assert_eq!(
        store.outbox_item(seq).unwrap().unwrap().state,
        OutboxState::Rejected
    );
    assert!(store.get_entry(other.id).unwrap().is_some());
    assert!(store.integrity_check().unwrap());
}
