//! Outbox rows queued by earlier builds — their payload JSON written by hand from the shapes
//! those builds wrote — read back as typed payloads; a payload that does not fit its kind reads
//! as unreadable (to be set aside), never as a failure of the whole queue.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{TimeZone, Utc};
use common::{mins, t0};
use rusqlite::{Connection, params};
use shotclock_api::{EntryId, ScreenshotId};
use shotclock_store::{
    DB_FILE_NAME, OutboxKind, OutboxPayload, Store, TimerStart, TimerStop, UnsentShot,
};

/// Queues a row as an earlier build did, straight into the file; returns its `seq`.
fn old_row(conn: &Connection, kind: &str, item: &str, entry: Option<EntryId>, json: &str) -> i64 {
    let at = t0().timestamp_millis();
    conn.execute(
        "INSERT INTO outbox (item_id, kind, entry_id, payload, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![item, kind, entry.map(|e| e.to_string()), json, at],
    )
    .unwrap();
    conn.last_insert_rowid()
}

#[test]
fn rows_queued_by_earlier_builds_read_as_typed_payloads() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let entry = EntryId::new();
    let shot = ScreenshotId::new();
    let gone = ScreenshotId::new();
    let start = Utc.with_ymd_and_hms(2025, 3, 10, 9, 0, 0).unwrap();
    let conn = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
    let seqs = [
        old_row(
            &conn,
            "timer_start",
            &entry.to_string(),
            Some(entry),
            &format!(
                r#"{{"entry_id":"{entry}","description":"Client call","start":"2025-03-10T09:00:00Z"}}"#
            ),
        ),
        old_row(
            &conn,
            "screenshot",
            &shot.to_string(),
            Some(entry),
            &format!(
                r#"{{"screenshot_id":"{shot}","entry_id":"{entry}","captured_at":"2025-03-10T09:02:00.000Z","width":640,"height":360,"sha256":"{}"}}"#,
                "ab".repeat(32)
            ),
        ),
        old_row(
            &conn,
            "timer_stop",
            &uuid::Uuid::now_v7().to_string(),
            Some(entry),
            &format!(r#"{{"entry_id":"{entry}","end":"2025-03-10T09:05:00.250Z"}}"#),
        ),
        old_row(
            &conn,
            "delete_screenshot",
            &gone.to_string(),
            Some(entry),
            &format!(r#"{{"entry_id":"{entry}","captured_at":"2025-03-10T09:03:00Z"}}"#),
        ),
        old_row(&conn, "delete_screenshot", &shot.to_string(), None, "{}"),
        old_row(
            &conn,
            "delete_entry",
            &entry.to_string(),
            Some(entry),
            &format!(r#"{{"entry_id":"{entry}"}}"#),
        ),
        old_row(
            &conn,
            "timer_start",
            &uuid::Uuid::now_v7().to_string(),
            None,
            r#"{"not":"a timer start"}"#,
        ),
    ];
    drop(conn);

    let store = Store::open(dir.path()).unwrap();
    let read: Vec<_> = seqs
        .iter()
        .map(|seq| store.outbox_item(*seq).unwrap().unwrap())
        .collect();
    let expected = [
        OutboxPayload::TimerStart(TimerStart {
            entry_id: entry,
            description: "Client call".into(),
            start,
        }),
        OutboxPayload::Screenshot,
        OutboxPayload::TimerStop(TimerStop {
            entry_id: entry,
            end: start + mins(5) + chrono::TimeDelta::milliseconds(250),
        }),
        OutboxPayload::DeleteScreenshot {
            unsent: Some(UnsentShot {
                entry_id: entry,
                captured_at: start + mins(3),
            }),
        },
        OutboxPayload::DeleteScreenshot { unsent: None },
        OutboxPayload::DeleteEntry,
    ];
    for (item, want) in read.iter().zip(&expected) {
        assert_eq!(item.payload.as_ref(), Ok(want), "row {}", item.seq);
        assert_eq!(item.kind, want.kind());
    }
    // A payload that does not fit its kind: listed, and unreadable with the reason.
    let poison = &read[expected.len()];
    assert_eq!(poison.kind, OutboxKind::TimerStart);
    let err = poison.payload.as_ref().unwrap_err();
    assert_eq!(err.kind, OutboxKind::TimerStart);
    assert!(err.to_string().contains("timer_start"), "{err}");
    // And the queue goes on around it: the next due item is still the first one.
    let next = store.next_due(t0() + mins(1)).unwrap().unwrap();
    assert_eq!(next.seq, seqs[0]);
}
