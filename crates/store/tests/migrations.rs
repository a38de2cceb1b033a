//! Schema migrations: valid, from empty, from the previous version with data in it, and a file
//! from a newer app is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::TimeDelta;
use common::{capture, entry, mins, t0};
use rusqlite::Connection;
use shotclock_api::{EntryId, ScreenshotId};
use shotclock_store::schema::{self, MIGRATIONS};
use shotclock_store::{
    CaptureHealth, DB_FILE_NAME, OutboxKind, ScreenshotState, Store, StoreError,
};

#[test]
fn migrations_validate() {
    schema::validate(MIGRATIONS).unwrap();
    assert!(
        MIGRATIONS.len() >= 2,
        "keep at least two migrations so the upgrade test is real"
    );
}

#[test]
fn from_empty_to_latest() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        i64::try_from(schema::latest_version()).unwrap()
    );
    assert!(store.integrity_check().unwrap());
    // Reopening runs nothing and changes nothing.
    drop(store);
    let mut conn = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
    assert_eq!(schema::migrate(&mut conn).unwrap(), 0);
}

#[test]
fn from_previous_version_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE_NAME);
    let entry_id = EntryId::new();
    let shot_id = ScreenshotId::new();
    let start = t0();

    // A file as version 1 of the app left it, with an entry, a screenshot and its upload.
    {
        let mut conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        assert_eq!(schema::migrate_to(&mut conn, 1).unwrap(), 1);
        assert_eq!(schema::user_version(&conn).unwrap(), 1);
        conn.execute_batch(&format!(
            "INSERT INTO time_entries (id, description, start_at, end_at, synced)
                 VALUES ('{entry_id}', 'v1 entry', {s}, NULL, 1);
             INSERT INTO screenshots (id, entry_id, captured_at, thumbnail, width, height,
                 sha256, state)
                 VALUES ('{shot_id}', '{entry_id}', {c}, x'0102', 320, 180, '{h}', 'pending');
             INSERT INTO outbox (item_id, kind, entry_id, payload, created_at, next_attempt_at)
                 VALUES ('{shot_id}', 'screenshot', '{entry_id}', '{{}}', {c}, {c});
             INSERT INTO account (id, server_url, user_id, workspace_id, role, email)
                 VALUES (1, 'https://acme.example', '{u}', '{w}', 'member', 'a@acme.example');",
            s = start.timestamp_millis(),
            c = (start + mins(3)).timestamp_millis(),
            h = "ab".repeat(32),
            u = shotclock_api::UserId::new(),
            w = shotclock_api::WorkspaceId::new(),
        ))
        .unwrap();
    }

    // The app of this version opens it: migrated, and everything is still there.
    let mut store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        i64::try_from(schema::latest_version()).unwrap()
    );
    let e = store.get_entry(entry_id).unwrap().unwrap();
    assert_eq!(e.description, "v1 entry");
    assert_eq!(e.start, start);
    assert!(e.synced);
    assert_eq!(e.deducted, TimeDelta::zero(), "v2 column defaults to 0");
    let s = store.screenshot(shot_id).unwrap().unwrap();
    assert_eq!(s.thumbnail, vec![1, 2]);
    assert_eq!(s.info.state, ScreenshotState::Pending);
    let item = store.next_due(t0() + mins(10)).unwrap().unwrap();
    assert_eq!(item.kind, OutboxKind::Screenshot);
    assert_eq!(item.item_id, *shot_id.as_uuid());
    assert_eq!(store.account().unwrap().unwrap().email, "a@acme.example");

    // And what v2 added works on the migrated file.
    let mut e2 = entry(t0() + mins(30));
    e2.deducted = TimeDelta::seconds(90);
    store.upsert_entry(&e2).unwrap();
    assert_eq!(
        store.get_entry(e2.id).unwrap().unwrap().deducted,
        TimeDelta::seconds(90)
    );
    capture(&mut store, &e2, t0() + mins(31));
    assert_eq!(
        store.last_attempt().unwrap().unwrap().health,
        CaptureHealth::Ok
    );
    assert!(store.integrity_check().unwrap());
}

#[test]
fn a_file_from_a_newer_app_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        drop(store);
        let conn = Connection::open(dir.path().join(DB_FILE_NAME)).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    match Store::open(dir.path()) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!(found, 99);
            assert_eq!(supported, schema::latest_version());
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
fn a_failing_migration_commits_nothing() {
    // Simulate a broken later migration by pre-creating a table M2 creates: the whole upgrade
    // must roll back and leave the file at version 1.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE_NAME);
    {
        let mut conn = Connection::open(&path).unwrap();
        schema::migrate_to(&mut conn, 1).unwrap();
        conn.execute_batch("CREATE TABLE capture_attempts (x INTEGER)")
            .unwrap();
    }
    assert!(Store::open(dir.path()).is_err());
    let conn = Connection::open(&path).unwrap();
    assert_eq!(schema::user_version(&conn).unwrap(), 1);
    let has_deducted: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM pragma_table_info('time_entries') WHERE name = 'deducted_ms'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(has_deducted, 0);
}
