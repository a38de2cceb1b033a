//! Conformance suite for [`Store`] backends. Every check takes only `Arc<dyn Store>`, so a
//! PostgreSQL backend runs the same functions by adding one `#[tokio::test]` per check with its
//! own constructor.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use shotclock_api::{EntryId, Role, ScreenshotId, UserId, WorkspaceId};
use shotclock_domain::visibility::Actor;
use shotclock_server::store::sqlite::{SqliteOptions, SqliteStore};
use shotclock_server::store::{InsertOutcome, NewUser, ScreenshotRow, Store, StoreError, UserRow};

fn t(mins: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 2, 12, 0, 0).unwrap() + TimeDelta::minutes(mins)
}

fn sqlite() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&SqliteOptions::new(dir.path().join("db.sqlite"))).unwrap();
    (dir, Arc::new(store))
}

async fn member(store: &Arc<dyn Store>) -> UserRow {
    let ws = WorkspaceId::new();
    let owner = NewUser {
        id: UserId::new(),
        email: "o@x.test".into(),
        name: "o".into(),
        password_hash: "h".into(),
        role: Role::Owner,
    };
    store
        .create_workspace(ws, "x".into(), owner, t(0))
        .await
        .unwrap();
    let m = NewUser {
        id: UserId::new(),
        email: "m@x.test".into(),
        name: "m".into(),
        password_hash: "h".into(),
        role: Role::Member,
    };
    store.add_user(ws, m, t(0)).await.unwrap()
}

fn shot(user: &UserRow, entry: EntryId, at: DateTime<Utc>, hash: u8) -> ScreenshotRow {
    ScreenshotRow {
        id: ScreenshotId::new(),
        workspace_id: user.workspace_id,
        user_id: user.id,
        entry_id: entry,
        captured_at: at,
        sha256: [hash; 32],
        size: 1,
        width: 1,
        height: 1,
        blob_key: format!("{hash:02x}/k"),
        uploaded_at: at,
    }
}

async fn insert_is_idempotent_by_id_and_hash(store: Arc<dyn Store>) {
    let user = member(&store).await;
    let entry = EntryId::new();
    store
        .start_timer(&user, entry, "e".into(), t(0), t(0))
        .await
        .unwrap();
    let row = shot(&user, entry, t(1), 1);
    assert_eq!(
        store.insert_screenshot(row.clone()).await.unwrap(),
        InsertOutcome::Inserted
    );
    assert_eq!(
        store.insert_screenshot(row.clone()).await.unwrap(),
        InsertOutcome::AlreadyPresent
    );
    let mut other = row.clone();
    other.sha256 = [2; 32];
    assert_eq!(
        store.insert_screenshot(other).await.unwrap(),
        InsertOutcome::Conflict
    );
    let mut orphan = shot(&user, EntryId::new(), t(1), 3);
    orphan.id = ScreenshotId::new();
    assert!(matches!(
        store.insert_screenshot(orphan).await,
        Err(StoreError::NotFound)
    ));
}

async fn dry_run_changes_nothing(store: Arc<dyn Store>) {
    let user = member(&store).await;
    let entry = EntryId::new();
    store
        .start_timer(&user, entry, "e".into(), t(0), t(0))
        .await
        .unwrap();
    let a = shot(&user, entry, t(10), 1);
    let b = shot(&user, entry, t(20), 2);
    store.insert_screenshot(a.clone()).await.unwrap();
    store.insert_screenshot(b.clone()).await.unwrap();
    store.stop_timer(user.id, None, t(30)).await.unwrap();
    let actor: Actor = user.actor();
    let preview = store
        .delete_screenshot(actor, b.id, t(31), true)
        .await
        .unwrap();
    assert!(preview.dry_run);
    assert_eq!(preview.removed, TimeDelta::minutes(10));
    assert!(store.screenshot(b.id).await.unwrap().is_some());
    assert!(
        store
            .entry(entry)
            .await
            .unwrap()
            .unwrap()
            .times
            .removed
            .is_empty()
    );
    let real = store
        .delete_screenshot(actor, b.id, t(31), false)
        .await
        .unwrap();
    assert_eq!(
        (real.removed, real.decision.clone()),
        (preview.removed, preview.decision)
    );
    assert!(store.screenshot(b.id).await.unwrap().is_none());
    assert_eq!(
        store
            .entry(entry)
            .await
            .unwrap()
            .unwrap()
            .times
            .deducted(t(31)),
        TimeDelta::minutes(10)
    );
}

async fn concurrent_writes_all_commit(store: Arc<dyn Store>) {
    let user = member(&store).await;
    let entry = EntryId::new();
    store
        .start_timer(&user, entry, "e".into(), t(0), t(0))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..200u8 {
        let store = store.clone();
        let row = shot(&user, entry, t(1), i);
        tasks.push(tokio::spawn(
            async move { store.insert_screenshot(row).await },
        ));
    }
    // A failing write in the same group rolls back only itself.
    let bad = store.start_timer(&user, entry, "dup".into(), t(0), t(0));
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), InsertOutcome::Inserted);
    }
    assert!(!bad.await.unwrap().created);
    let n = store
        .screenshots_of_user(user.id, t(0), t(60))
        .await
        .unwrap()
        .len();
    assert_eq!(n, 200);
}

async fn one_running_entry_per_user(store: Arc<dyn Store>) {
    let user = member(&store).await;
    let a = EntryId::new();
    let b = EntryId::new();
    store
        .start_timer(&user, a, "a".into(), t(0), t(0))
        .await
        .unwrap();
    let started = store
        .start_timer(&user, b, "b".into(), t(5), t(5))
        .await
        .unwrap();
    assert_eq!(started.stopped.unwrap().times.end, Some(t(5)));
    assert_eq!(store.running_entry(user.id).await.unwrap().unwrap().id, b);
}

/// Two users of one workspace with screenshots spread over several hours, some deleted (one of
/// them the last of its entry, which deletes the entry).
async fn counted_team(store: &Arc<dyn Store>) -> (UserRow, UserRow, Vec<(UserId, DateTime<Utc>)>) {
    let a = member(store).await;
    let b = store
        .add_user(
            a.workspace_id,
            NewUser {
                id: UserId::new(),
                email: "b@x.test".into(),
                name: "b".into(),
                password_hash: "h".into(),
                role: Role::Member,
            },
            t(0),
        )
        .await
        .unwrap();
    let mut kept = Vec::new();
    let record = async |user: &UserRow, start: i64, end: i64, mins: &[i64]| {
        let entry = EntryId::new();
        store
            .start_timer(user, entry, "e".into(), t(start), t(start))
            .await
            .unwrap();
        let mut ids = Vec::new();
        for (i, m) in mins.iter().enumerate() {
            let row = shot(user, entry, t(*m), u8::try_from(i).unwrap());
            store.insert_screenshot(row.clone()).await.unwrap();
            ids.push((row.id, user.id, t(*m)));
        }
        store.stop_timer(user.id, None, t(end)).await.unwrap();
        ids
    };
    let a_shots = record(
        &a,
        -200,
        200,
        &[-130, -61, -60, -59, -1, 0, 1, 29, 30, 31, 59, 60, 61, 125],
    )
    .await;
    let b_shots = record(&b, -100, 100, &[-60, -60, 0, 45, 90]).await;
    let b_single = record(&b, 150, 160, &[155]).await;
    // A member's delete, and the last screenshot of an entry (the entry goes with it).
    for (id, owner) in [(a_shots[8].0, &a), (b_single[0].0, &b)] {
        store
            .delete_screenshot(owner.actor(), id, t(300), false)
            .await
            .unwrap();
    }
    for (id, user, at) in a_shots.iter().chain(&b_shots) {
        if *id != a_shots[8].0 {
            kept.push((*user, *at));
        }
    }
    (a, b, kept)
}

async fn day_counts_match_a_row_by_row_count(store: Arc<dyn Store>) {
    let (a, b, kept) = counted_team(&store).await;
    // On the hour (UTC, whole-hour zones), off the hour (+05:30), inside one hour, before and
    // after everything, and around the deleted entry.
    for (from, to) in [
        (-120, 120),
        (-90, 30),
        (5, 40),
        (-600, -300),
        (140, 170),
        (-1440, 1440),
    ] {
        let want: Vec<(UserId, u64)> = [a.id, b.id]
            .into_iter()
            .map(|user| {
                let n = kept
                    .iter()
                    .filter(|(u, at)| *u == user && *at >= t(from) && *at < t(to))
                    .count();
                (user, n as u64)
            })
            .collect();
        let got = store
            .screenshot_counts(vec![a.id, b.id], t(from), t(to))
            .await
            .unwrap();
        assert_eq!(got, want, "counts in [{from}, {to}) minutes from noon");
    }
}

#[tokio::test]
async fn sqlite_day_counts_match_a_row_by_row_count() {
    let (_dir, store) = sqlite();
    day_counts_match_a_row_by_row_count(store).await;
}

/// A database from before the hourly counts (schema 1) gets them filled from its screenshots.
#[tokio::test]
async fn sqlite_hourly_counts_are_built_from_an_older_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let (a, b, kept) = {
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&SqliteOptions::new(&path)).unwrap());
        counted_team(&store).await
    };
    // Back to schema 1: no hourly table, no triggers.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER screenshot_hours_insert; DROP TRIGGER screenshot_hours_delete;
         DROP TRIGGER screenshot_hours_no_move; DROP TABLE screenshot_hours;
         PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);
    let store = SqliteStore::open(&SqliteOptions::new(&path)).unwrap();
    let got = store
        .screenshot_counts(vec![a.id, b.id], t(-1440), t(1440))
        .await
        .unwrap();
    let count = |user: UserId| kept.iter().filter(|(u, _)| *u == user).count() as u64;
    assert_eq!(got, vec![(a.id, count(a.id)), (b.id, count(b.id))]);
    assert!(count(a.id) > 0 && count(b.id) > 0);
}

#[tokio::test]
async fn sqlite_insert_is_idempotent_by_id_and_hash() {
    let (_d, s) = sqlite();
    insert_is_idempotent_by_id_and_hash(s).await;
}

#[tokio::test]
async fn sqlite_dry_run_changes_nothing() {
    let (_d, s) = sqlite();
    dry_run_changes_nothing(s).await;
}

#[tokio::test]
async fn sqlite_concurrent_writes_all_commit() {
    let (_d, s) = sqlite();
    concurrent_writes_all_commit(s).await;
}

#[tokio::test]
async fn sqlite_one_running_entry_per_user() {
    let (_d, s) = sqlite();
    one_running_entry_per_user(s).await;
}

#[tokio::test]
async fn sqlite_reopen_keeps_data_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let user = {
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&SqliteOptions::new(&path)).unwrap());
        member(&store).await
    };
    let store = SqliteStore::open(&SqliteOptions::new(&path)).unwrap();
    assert_eq!(store.user(user.id).await.unwrap().unwrap(), user);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2);
    let secure: i64 = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
        .map(|m| i64::from(m == "wal"))
        .unwrap();
    assert_eq!(secure, 1);
}
