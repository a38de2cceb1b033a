//! Builders shared by the integration tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use shotclock_api::{EntryId, ScreenshotId};
use shotclock_store::{
    AttemptId, CaptureHealth, ManualEntry, NewAttempt, NewOutboxItem, NewScreenshot, OutboxKind,
    OutboxPayload, Store, TimeEntry, TimerStart, TimerStop,
};
use tempfile::TempDir;

/// A fixed instant all tests count from.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 10, 9, 0, 0).unwrap()
}

pub fn mins(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

/// A fresh store in a temporary directory (kept alive by the returned `TempDir`).
pub fn store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data")).unwrap();
    (dir, store)
}

pub fn entry(start: DateTime<Utc>) -> TimeEntry {
    TimeEntry {
        id: EntryId::new(),
        description: "writing the store".into(),
        start,
        end: None,
        deducted: TimeDelta::zero(),
        synced: false,
    }
}

pub fn shot(entry: &TimeEntry, at: DateTime<Utc>) -> NewScreenshot {
    NewScreenshot {
        id: ScreenshotId::new(),
        entry_id: entry.id,
        captured_at: at,
        thumbnail: b"RIFF....WEBPVP8 fake thumbnail".to_vec(),
        width: 640,
        height: 360,
    }
}

pub fn attempt(entry: &TimeEntry, at: DateTime<Utc>, health: CaptureHealth) -> NewAttempt {
    NewAttempt {
        id: AttemptId::new(),
        entry_id: entry.id,
        window_index: 0,
        at,
        health,
        detail: String::new(),
    }
}

/// Records a successful capture at `at`; returns the screenshot.
pub fn capture(store: &mut Store, entry: &TimeEntry, at: DateTime<Utc>) -> NewScreenshot {
    let s = shot(entry, at);
    store
        .record_capture(entry, &s, &attempt(entry, at, CaptureHealth::Ok))
        .unwrap();
    s
}

/// A queued item with no entry dependency (a tombstone).
pub fn free_item() -> NewOutboxItem {
    NewOutboxItem {
        item_id: uuid::Uuid::now_v7(),
        entry_id: None,
        payload: OutboxPayload::DeleteScreenshot { unsent: None },
    }
}

/// A queued change of `entry` of `kind` (`TimerStart`, `TimerStop`, `ManualEntry`, or another
/// kind's payload).
pub fn entry_item(entry: &TimeEntry, kind: OutboxKind) -> NewOutboxItem {
    let payload = match kind {
        OutboxKind::TimerStart => OutboxPayload::TimerStart(TimerStart {
            entry_id: entry.id,
            description: entry.description.clone(),
            start: entry.start,
        }),
        OutboxKind::TimerStop => OutboxPayload::TimerStop(TimerStop {
            entry_id: entry.id,
            end: entry.end.unwrap_or(entry.start),
        }),
        OutboxKind::ManualEntry => OutboxPayload::ManualEntry(ManualEntry {
            entry_id: entry.id,
            description: entry.description.clone(),
            start: entry.start,
            end: entry.end.unwrap_or(entry.start),
        }),
        // Not a timer change: its payload (tests check these are refused as timer changes).
        other => OutboxPayload::from_json(other, "{}").unwrap(),
    };
    NewOutboxItem {
        item_id: *entry.id.as_uuid(),
        entry_id: Some(entry.id),
        payload,
    }
}
