//! The outbox: seq order, rejected items never block, retries back off, ack removes, and a
//! later item of the same entry never overtakes an earlier one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{capture, entry, entry_item, free_item, mins, store, t0};
use shotclock_store::{OutboxKind, OutboxState, ScreenshotState};

#[test]
fn items_go_out_in_seq_order_and_ack_removes_them() {
    let (_dir, mut store) = store();
    let items: Vec<_> = (0..5).map(|_| free_item()).collect();
    let seqs: Vec<i64> = items
        .iter()
        .map(|item| store.enqueue(item, t0()).unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(store.pending_count().unwrap(), 5);

    for (n, seq) in seqs.iter().enumerate() {
        let item = store.next_due(t0()).unwrap().unwrap();
        assert_eq!(item.seq, *seq);
        assert_eq!(item.item_id, items[n].item_id);
        assert_eq!(item.payload.as_ref(), Ok(&items[n].payload));
        assert_eq!(item.state, OutboxState::Pending);
        assert!(store.ack(item.seq).unwrap());
        assert!(store.outbox_item(item.seq).unwrap().is_none());
    }
    assert!(store.next_due(t0()).unwrap().is_none());
    assert_eq!(store.pending_count().unwrap(), 0);
    assert_eq!(store.earliest_due().unwrap(), None);
    // A second ack of the same item is a harmless no-op.
    assert!(!store.ack(seqs[0]).unwrap());
}

#[test]
fn seq_is_never_reused() {
    let (_dir, mut store) = store();
    let a = store.enqueue(&free_item(), t0()).unwrap();
    assert!(store.ack(a).unwrap());
    let b = store.enqueue(&free_item(), t0()).unwrap();
    assert!(
        b > a,
        "AUTOINCREMENT: an acknowledged seq is never handed out again"
    );
}

#[test]
fn nothing_is_due_before_it_was_queued() {
    let (_dir, mut store) = store();
    store.enqueue(&free_item(), t0()).unwrap();
    assert!(store.next_due(t0() - mins(1)).unwrap().is_none());
    assert!(store.next_due(t0()).unwrap().is_some());
}

#[test]
fn a_rejected_item_never_blocks_the_next() {
    let (_dir, mut store) = store();
    let e = entry(t0());
    // Same entry: the strictest case for blocking.
    let first = store
        .record_timer_change(&e, &entry_item(&e, OutboxKind::TimerStart), t0())
        .unwrap();
    let second = store
        .record_timer_change(&e, &entry_item(&e, OutboxKind::TimerStop), t0())
        .unwrap();
    let third = store.enqueue(&free_item(), t0()).unwrap();

    assert_eq!(store.next_due(t0()).unwrap().unwrap().seq, first);
    assert!(
        store
            .reject(first, "422 validation: description too long")
            .unwrap()
    );
    assert_eq!(store.next_due(t0()).unwrap().unwrap().seq, second);
    assert!(store.reject(second, "403 entry_locked").unwrap());
    assert_eq!(store.next_due(t0()).unwrap().unwrap().seq, third);
    assert_eq!(store.pending_count().unwrap(), 1);

    let rejected = store.rejected_items().unwrap();
    assert_eq!(
        rejected.iter().map(|i| i.seq).collect::<Vec<_>>(),
        [first, second]
    );
    assert_eq!(rejected[0].state, OutboxState::Rejected);
    assert_eq!(
        rejected[0].rejected_reason.as_deref(),
        Some("422 validation: description too long")
    );
    assert_eq!(rejected[0].attempts, 1);
    // A rejected item is not acked, retried or rejected again.
    assert!(!store.ack(first).unwrap());
    assert!(!store.retry_later(first, t0(), "x").unwrap());
    assert!(!store.reject(first, "again").unwrap());
    assert_eq!(store.rejected_items().unwrap().len(), 2);
    // The user dismisses one; pending items cannot be dismissed.
    assert!(!store.dismiss_rejected(third).unwrap());
    assert!(store.dismiss_rejected(first).unwrap());
    assert_eq!(store.rejected_items().unwrap().len(), 1);
    assert_eq!(store.pending_count().unwrap(), 1);
}

#[test]
fn retry_later_pushes_the_item_back() {
    let (_dir, mut store) = store();
    let a = store.enqueue(&free_item(), t0()).unwrap();
    let b = store.enqueue(&free_item(), t0()).unwrap();

    assert!(
        store
            .retry_later(a, t0() + mins(5), "connection refused")
            .unwrap()
    );
    let item = store.outbox_item(a).unwrap().unwrap();
    assert_eq!(item.attempts, 1);
    assert_eq!(item.last_error.as_deref(), Some("connection refused"));
    assert_eq!(item.next_attempt_at, t0() + mins(5));

    // Another entry's item (here: no entry) does not wait for it.
    assert_eq!(store.next_due(t0()).unwrap().unwrap().seq, b);
    assert!(store.retry_later(b, t0() + mins(2), "503").unwrap());
    assert!(store.next_due(t0() + mins(1)).unwrap().is_none());
    assert_eq!(store.earliest_due().unwrap(), Some(t0() + mins(2)));
    assert_eq!(store.next_due(t0() + mins(2)).unwrap().unwrap().seq, b);
    assert!(store.ack(b).unwrap());
    assert_eq!(store.earliest_due().unwrap(), Some(t0() + mins(5)));
    assert!(store.next_due(t0() + mins(4)).unwrap().is_none());
    assert_eq!(store.next_due(t0() + mins(5)).unwrap().unwrap().seq, a);

    // Retries are counted and nothing is ever dropped because of them.
    for i in 0..50 {
        assert!(store.retry_later(a, t0() + mins(6 + i), "503").unwrap());
    }
    let item = store.outbox_item(a).unwrap().unwrap();
    assert_eq!(item.attempts, 51);
    assert_eq!(item.state, OutboxState::Pending);
    assert_eq!(store.pending_count().unwrap(), 1);
}

#[test]
fn an_entrys_items_never_overtake_each_other() {
    let (_dir, mut store) = store();
    let e = entry(t0());
    let start = store
        .record_timer_change(&e, &entry_item(&e, OutboxKind::TimerStart), t0())
        .unwrap();
    let shot = capture(&mut store, &e, t0() + mins(1));
    let other = store.enqueue(&free_item(), t0() + mins(1)).unwrap();

    // The timer start fails: the entry's screenshot must wait; the unrelated item need not.
    assert!(
        store
            .retry_later(start, t0() + mins(10), "timeout")
            .unwrap()
    );
    let next = store.next_due(t0() + mins(2)).unwrap().unwrap();
    assert_eq!(next.seq, other);
    assert!(store.ack(other).unwrap());
    assert!(
        store.next_due(t0() + mins(2)).unwrap().is_none(),
        "the screenshot waits behind its entry's timer_start"
    );
    assert_eq!(store.earliest_due().unwrap(), Some(t0() + mins(10)));

    let next = store.next_due(t0() + mins(10)).unwrap().unwrap();
    assert_eq!(next.seq, start);
    assert!(store.ack(start).unwrap());
    let next = store.next_due(t0() + mins(10)).unwrap().unwrap();
    assert_eq!(next.item_id, *shot.id.as_uuid());
}

#[test]
fn ack_marks_screenshots_uploaded_and_entries_synced() {
    let (_dir, mut store) = store();
    let mut e = entry(t0());
    e.synced = true; // record_timer_change must clear it
    let start = store
        .record_timer_change(&e, &entry_item(&e, OutboxKind::TimerStart), t0())
        .unwrap();
    assert!(!store.get_entry(e.id).unwrap().unwrap().synced);
    let shot = capture(&mut store, &e, t0() + mins(1));
    e.end = Some(t0() + mins(4));
    let stop = store
        .record_timer_change(&e, &entry_item(&e, OutboxKind::TimerStop), t0() + mins(4))
        .unwrap();

    assert!(store.ack(start).unwrap());
    assert!(
        !store.get_entry(e.id).unwrap().unwrap().synced,
        "the stop is still pending"
    );
    let up = store.next_due(t0() + mins(4)).unwrap().unwrap();
    assert_eq!(up.kind, OutboxKind::Screenshot);
    assert!(store.ack(up.seq).unwrap());
    let stored = store.screenshot(shot.id).unwrap().unwrap();
    assert_eq!(stored.info.state, ScreenshotState::Uploaded);
    assert!(!stored.thumbnail.is_empty(), "kept for offline viewing");

    assert!(store.ack(stop).unwrap());
    let synced = store.get_entry(e.id).unwrap().unwrap();
    assert!(synced.synced);
    assert_eq!(synced.end, Some(t0() + mins(4)));
}

#[test]
fn a_rejected_screenshot_is_marked_and_kept() {
    let (_dir, mut store) = store();
    let e = entry(t0());
    let shot = capture(&mut store, &e, t0() + mins(1));
    let item = store.next_due(t0() + mins(1)).unwrap().unwrap();
    assert!(
        store
            .reject(item.seq, "409 conflict: different bytes")
            .unwrap()
    );
    let stored = store.screenshot(shot.id).unwrap().unwrap();
    assert_eq!(stored.info.state, ScreenshotState::Rejected);
    assert_eq!(
        store.rejected_items().unwrap()[0].item_id,
        *shot.id.as_uuid()
    );
}

#[test]
fn timer_changes_must_belong_to_their_entry() {
    let (_dir, mut store) = store();
    let e = entry(t0());
    let other = entry(t0());
    assert!(
        store
            .record_timer_change(&e, &entry_item(&other, OutboxKind::TimerStart), t0())
            .is_err()
    );
    assert!(
        store
            .record_timer_change(&e, &entry_item(&e, OutboxKind::Screenshot), t0())
            .is_err()
    );
    assert!(store.get_entry(e.id).unwrap().is_none());
    assert_eq!(store.pending_count().unwrap(), 0);
}

#[test]
fn pending_timer_changes_counts_only_unsent_starts_and_stops() {
    let (_dir, mut store) = store();
    assert_eq!(store.pending_timer_changes().unwrap(), 0);
    let e = entry(t0());
    let start = store
        .record_timer_change(&e, &entry_item(&e, OutboxKind::TimerStart), t0())
        .unwrap();
    // Neither a screenshot nor a tombstone is a timer change.
    capture(&mut store, &e, t0() + mins(1));
    store
        .delete_screenshot_with_tombstone(shotclock_api::ScreenshotId::new(), None, t0() + mins(2))
        .unwrap();
    assert_eq!(store.pending_timer_changes().unwrap(), 1);

    let stop = store
        .record_timer_change(&e, &entry_item(&e, OutboxKind::TimerStop), t0() + mins(3))
        .unwrap();
    let other = entry(t0() + mins(4));
    let other_start = store
        .record_timer_change(&other, &entry_item(&other, OutboxKind::TimerStart), t0())
        .unwrap();
    assert_eq!(store.pending_timer_changes().unwrap(), 3);

    // Sent, or refused for good: no longer waiting.
    assert!(store.ack(start).unwrap());
    assert_eq!(store.pending_timer_changes().unwrap(), 2);
    assert!(store.reject(other_start, "403 entry_locked").unwrap());
    assert_eq!(store.pending_timer_changes().unwrap(), 1);
    assert!(store.ack(stop).unwrap());
    assert_eq!(store.pending_timer_changes().unwrap(), 0);
    assert!(
        store.pending_count().unwrap() > 0,
        "the rest is still queued"
    );
}

#[test]
fn only_an_entrys_own_changes_make_it_synced() {
    // The service refused this device's timer start: the entry is not on the service as this
    // device has it. Acknowledging its screenshot, or a tombstone naming it, says nothing
    // about the entry itself.
    let (_dir, mut store) = store();
    let e = entry(t0());
    let start = store
        .record_timer_change(&e, &entry_item(&e, OutboxKind::TimerStart), t0())
        .unwrap();
    assert!(store.reject(start, "422 validation").unwrap());
    let kept = capture(&mut store, &e, t0() + mins(1));
    let gone = capture(&mut store, &e, t0() + mins(2));
    store
        .delete_screenshot_with_tombstone(gone.id, None, t0() + mins(3))
        .unwrap();

    let upload = store.next_due(t0() + mins(3)).unwrap().unwrap();
    assert_eq!(upload.kind, OutboxKind::Screenshot);
    assert!(store.ack(upload.seq).unwrap());
    let tombstone = store.next_due(t0() + mins(3)).unwrap().unwrap();
    assert_eq!(tombstone.kind, OutboxKind::DeleteScreenshot);
    assert_eq!(tombstone.entry_id, Some(e.id));
    assert!(store.ack(tombstone.seq).unwrap());

    assert_eq!(store.pending_count().unwrap(), 0);
    assert!(!store.get_entry(e.id).unwrap().unwrap().synced);
    assert_eq!(
        store.screenshot(kept.id).unwrap().unwrap().info.state,
        ScreenshotState::Uploaded
    );
}

/// An edit made here (R39) as a queued item: the entry's new times, and what they were.
fn edit(
    e: &shotclock_store::TimeEntry,
    description: &str,
    start: chrono::DateTime<chrono::Utc>,
) -> (shotclock_store::TimeEntry, shotclock_store::NewOutboxItem) {
    use shotclock_store::{EditEntry, EntryBefore, NewOutboxItem, OutboxPayload, TimeEntry};
    let item = NewOutboxItem {
        item_id: uuid::Uuid::now_v7(),
        entry_id: Some(e.id),
        payload: OutboxPayload::EditEntry(EditEntry {
            entry_id: e.id,
            description: Some(description.into()),
            start: Some(start),
            end: None,
            confirm: false,
            before: EntryBefore {
                description: e.description.clone(),
                start: e.start,
                end: e.end,
            },
        }),
    };
    let edited = TimeEntry {
        description: description.into(),
        start,
        ..e.clone()
    };
    (edited, item)
}

/// A refused edit made here is undone: the entry reads as before it — unless a later change of
/// the same entry is still queued, which keeps the entry as the user last left it.
#[test]
fn a_refused_edit_is_undone_unless_a_later_change_waits() {
    let (_dir, mut store) = store();
    let e = shotclock_store::TimeEntry {
        end: Some(t0() + mins(60)),
        ..entry(t0())
    };
    store.upsert_entry(&e).unwrap();

    let (edited, item) = edit(&e, "renamed", t0() + mins(10));
    let seq = store.record_entry_edit(&edited, &[], &item, t0()).unwrap();
    assert_eq!(
        store.get_entry(e.id).unwrap().unwrap().description,
        "renamed"
    );
    assert!(store.reject(seq, "403 entry_locked").unwrap());
    let back = store.get_entry(e.id).unwrap().unwrap();
    assert_eq!(
        (back.description.as_str(), back.start, back.end),
        (e.description.as_str(), e.start, e.end)
    );

    let (first, item) = edit(&e, "first", t0() + mins(5));
    let refused = store.record_entry_edit(&first, &[], &item, t0()).unwrap();
    let (second, item) = edit(&first, "second", t0() + mins(15));
    store.record_entry_edit(&second, &[], &item, t0()).unwrap();
    assert!(store.reject(refused, "403 entry_locked").unwrap());
    let kept = store.get_entry(e.id).unwrap().unwrap();
    assert_eq!(
        (kept.description.as_str(), kept.start),
        ("second", second.start)
    );
}

#[test]
fn unsent_deletes_of_an_entry_are_the_instants_its_pending_tombstones_carry() {
    let (_dir, mut store) = store();
    let e = entry(t0());
    let other = entry(t0());
    store
        .record_timer_change(&e, &entry_item(&e, OutboxKind::TimerStart), t0())
        .unwrap();
    store
        .record_timer_change(&other, &entry_item(&other, OutboxKind::TimerStart), t0())
        .unwrap();
    let unsent = |entry_id, at| {
        Some(shotclock_store::UnsentShot {
            entry_id,
            captured_at: at,
        })
    };
    let first = capture(&mut store, &e, t0() + mins(1));
    let second = capture(&mut store, &e, t0() + mins(2));
    let uploaded = capture(&mut store, &e, t0() + mins(3));
    let elsewhere = capture(&mut store, &other, t0() + mins(4));
    assert!(store.unsent_deletes_of(e.id).unwrap().is_empty());
    for (shot, of) in [(&second, e.id), (&first, e.id), (&elsewhere, other.id)] {
        store
            .delete_screenshot_with_tombstone(shot.id, unsent(of, shot.captured_at), t0())
            .unwrap();
    }
    // A delete of a screenshot the service has carries no instant: its time is the service's.
    store
        .delete_screenshot_with_tombstone(uploaded.id, None, t0())
        .unwrap();
    assert_eq!(
        store.unsent_deletes_of(e.id).unwrap(),
        vec![second.captured_at, first.captured_at]
    );
    assert_eq!(
        store.unsent_deletes_of(other.id).unwrap(),
        vec![elsewhere.captured_at]
    );
    // Once sent, or refused for good, it no longer waits.
    while let Some(item) = store.next_due(t0() + mins(10)).unwrap() {
        if item.kind == OutboxKind::DeleteScreenshot && item.entry_id == Some(other.id) {
            assert!(store.reject(item.seq, "404 not_found").unwrap());
        } else {
            assert!(store.ack(item.seq).unwrap());
        }
    }
    assert!(store.unsent_deletes_of(e.id).unwrap().is_empty());
    assert!(store.unsent_deletes_of(other.id).unwrap().is_empty());
}
