//! R24 forensic tests: after a final delete, a random marker written inside a thumbnail is in
//! neither the database file nor the WAL. The same scan with `secure_delete` off must find the
//! marker, proving the scan can fail. These live inside the crate because turning
//! `secure_delete` off is deliberately not public API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use rstest::rstest;
use shotclock_api::{EntryId, ScreenshotId};

use crate::store::OpenOptions;
use crate::{
    AttemptId, CaptureHealth, EditEntry, EntryBefore, NewAttempt, NewOutboxItem, NewScreenshot,
    OutboxPayload, Store, TimeEntry,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 10, 9, 0, 0).unwrap()
}

#[derive(Debug, Clone, Copy)]
enum How {
    DeleteScreenshot,
    DeleteScreenshotWithTombstone,
    DeleteEntry,
    /// An edit of the entry whose new times leave the screenshot outside (R39).
    EditEntryExcluding,
    PurgeExpired,
    /// Retention of a screenshot that was uploaded first (its outbox row is already gone).
    PurgeExpiredUploaded,
}

/// Bytes of `<db>` and `<db>-wal` (if present) concatenated.
fn file_bytes(db: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(db).unwrap();
    let wal = db.with_file_name(format!("{}-wal", db.file_name().unwrap().to_string_lossy()));
    if let Ok(more) = std::fs::read(&wal) {
        bytes.extend_from_slice(&more);
    }
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Writes a screenshot carrying a fresh random marker, deletes it `how`, and reports whether
/// the marker can still be found in the files (checked before the store is closed).
fn marker_survives(
    secure_delete: bool,
    thumb_len: usize,
    how: How,
    checkpoint_first: bool,
) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut store = Store::open_with(&data, OpenOptions { secure_delete }).unwrap();

    let marker: [u8; 32] = rand::random();
    let mut thumb = vec![0x5au8; thumb_len];
    let at = thumb_len / 2;
    thumb[at..at + 32].copy_from_slice(&marker);

    let entry = TimeEntry {
        id: EntryId::new(),
        description: "forensics".into(),
        start: t0(),
        end: None,
        deducted: TimeDelta::zero(),
        synced: false,
    };
    let shot = NewScreenshot {
        id: ScreenshotId::new(),
        entry_id: entry.id,
        captured_at: t0() + TimeDelta::minutes(2),
        thumbnail: thumb,
        width: 640,
        height: 360,
    };
    let attempt = NewAttempt {
        id: AttemptId::new(),
        entry_id: entry.id,
        window_index: 0,
        at: shot.captured_at,
        health: CaptureHealth::Ok,
        detail: String::new(),
    };
    store.record_capture(&entry, &shot, &attempt).unwrap();
    if checkpoint_first {
        // The marker in the main database file, not only in the WAL.
        store.checkpoint().unwrap();
    }
    assert!(
        contains(&file_bytes(store.path()), &marker),
        "the marker must be on disk before the delete, or the test proves nothing"
    );

    match how {
        How::DeleteScreenshot => assert!(store.delete_screenshot(shot.id).unwrap()),
        How::DeleteScreenshotWithTombstone => assert!(
            store
                .delete_screenshot_with_tombstone(shot.id, None, t0() + TimeDelta::hours(1))
                .unwrap()
        ),
        How::DeleteEntry => assert!(store.delete_entry(entry.id).unwrap()),
        How::EditEntryExcluding => {
            let start = shot.captured_at + TimeDelta::minutes(1);
            let edit = EditEntry {
                entry_id: entry.id,
                description: None,
                start: Some(start),
                end: None,
                confirm: true,
                before: EntryBefore {
                    description: entry.description.clone(),
                    start: entry.start,
                    end: entry.end,
                },
            };
            let item = NewOutboxItem {
                item_id: uuid::Uuid::now_v7(),
                entry_id: Some(entry.id),
                payload: OutboxPayload::EditEntry(edit),
            };
            let edited = TimeEntry {
                start,
                ..entry.clone()
            };
            let now = t0() + TimeDelta::hours(1);
            store
                .record_entry_edit(&edited, &[shot.id], &item, now)
                .unwrap();
        }
        How::PurgeExpired => {
            assert_eq!(store.purge_expired(t0() + TimeDelta::days(8)).unwrap(), 1);
        }
        How::PurgeExpiredUploaded => {
            let upload = store.next_due(shot.captured_at).unwrap().unwrap();
            assert!(store.ack(upload.seq).unwrap());
            assert_eq!(store.purge_expired(t0() + TimeDelta::days(8)).unwrap(), 1);
        }
    }
    assert!(store.screenshot(shot.id).unwrap().is_none());
    contains(&file_bytes(store.path()), &marker)
}

#[rstest]
fn final_delete_leaves_no_copy(
    #[values(200, 20_000)] thumb_len: usize,
    #[values(
        How::DeleteScreenshot,
        How::DeleteScreenshotWithTombstone,
        How::DeleteEntry,
        How::EditEntryExcluding,
        How::PurgeExpired,
        How::PurgeExpiredUploaded
    )]
    how: How,
    #[values(false, true)] checkpoint_first: bool,
) {
    assert!(
        !marker_survives(true, thumb_len, how, checkpoint_first),
        "marker found after {how:?} of a {thumb_len}-byte thumbnail"
    );
}

#[rstest]
fn without_secure_delete_the_scan_finds_the_marker(
    #[values(200, 20_000)] thumb_len: usize,
    #[values(
        How::DeleteScreenshot,
        How::DeleteEntry,
        How::EditEntryExcluding,
        How::PurgeExpired,
        How::PurgeExpiredUploaded
    )]
    how: How,
    #[values(false, true)] checkpoint_first: bool,
) {
    assert!(
        marker_survives(false, thumb_len, how, checkpoint_first),
        "the scan must be able to fail: with secure_delete off the marker should survive"
    );
}

/// A screenshot from a schema-1 file (recorded before capture attempts existed: it has none),
/// already uploaded, carrying a marker; the file is then opened (migrated) and the screenshot
/// expires. Reports whether the marker can still be found.
fn marker_survives_expiry_of_a_v1_screenshot(secure_delete: bool) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let marker: [u8; 32] = rand::random();
    let mut thumb = vec![0x5au8; 200];
    thumb[100..132].copy_from_slice(&marker);
    {
        let mut conn = rusqlite::Connection::open(data.join(crate::DB_FILE_NAME)).unwrap();
        crate::schema::migrate_to(&mut conn, 1).unwrap();
        let entry = EntryId::new().to_string();
        conn.execute(
            "INSERT INTO time_entries (id, description, start_at, synced) VALUES (?1, 'v1', ?2, 1)",
            rusqlite::params![entry, t0().timestamp_millis()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO screenshots (id, entry_id, captured_at, thumbnail, width, height, sha256,
                 state)
             VALUES (?1, ?2, ?3, ?4, 640, 360, ?5, 'uploaded')",
            rusqlite::params![
                ScreenshotId::new().to_string(),
                entry,
                t0().timestamp_millis(),
                thumb,
                "ab".repeat(32)
            ],
        )
        .unwrap();
    }
    let mut store = Store::open_with(&data, OpenOptions { secure_delete }).unwrap();
    assert!(
        contains(&file_bytes(store.path()), &marker),
        "the marker must be on disk before the purge, or the test proves nothing"
    );
    assert_eq!(store.purge_expired(t0() + TimeDelta::days(8)).unwrap(), 1);
    contains(&file_bytes(store.path()), &marker)
}

#[test]
fn expiry_of_a_screenshot_without_attempt_or_upload_leaves_no_copy() {
    assert!(!marker_survives_expiry_of_a_v1_screenshot(true));
    assert!(
        marker_survives_expiry_of_a_v1_screenshot(false),
        "the scan must be able to fail"
    );
}

/// A `delete_screenshot` tombstone whose payload carries a marker expires unsent. Reports
/// whether the marker can still be found.
fn marker_survives_expiry_of_a_tombstone(secure_delete: bool) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let mut store =
        Store::open_with(&dir.path().join("data"), OpenOptions { secure_delete }).unwrap();
    // The tombstone's entry id is the marker: random, and stored only in its payload.
    let entry_id = shotclock_api::EntryId::new();
    let marker = entry_id.to_string();
    store
        .delete_screenshot_with_tombstone(
            ScreenshotId::new(),
            Some(crate::UnsentShot {
                entry_id,
                captured_at: t0(),
            }),
            t0(),
        )
        .unwrap();
    assert!(contains(&file_bytes(store.path()), marker.as_bytes()));
    assert_eq!(store.pending_count().unwrap(), 1);
    assert_eq!(store.purge_expired(t0() + TimeDelta::days(8)).unwrap(), 0);
    assert_eq!(store.pending_count().unwrap(), 0, "the tombstone expired");
    contains(&file_bytes(store.path()), marker.as_bytes())
}

#[test]
fn expiry_of_a_tombstone_leaves_no_copy() {
    assert!(!marker_survives_expiry_of_a_tombstone(true));
    assert!(
        marker_survives_expiry_of_a_tombstone(false),
        "the scan must be able to fail"
    );
}
