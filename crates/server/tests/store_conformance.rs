//! Conformance suite for storage backends. Every check takes only `Arc<dyn Backend>`: the first
//! half drives the narrow row interface ([`Rows`], [`TxRows`]) directly, the second half the
//! intents layer over it. `conformance!` runs every check on each backend: SQLite in a temp
//! dir, PostgreSQL in a fresh database of the test process's real cluster
//! (`shotclock-testpg`; a missing PostgreSQL fails these tests, it never skips them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use common::hold_write_lock;
use shotclock_api::{
    EntryId, ErrorCode, NotificationId, Plan, Role, ScreenshotId, UserId, WorkspaceId,
};
use shotclock_domain::entry::EntryTimes;
use shotclock_domain::gate::CaptureGate;
use shotclock_server::intents::{Intents, SettingsPatch, UploadOutcome};
use shotclock_server::store::postgres::{PgOptions, PgStore};
use shotclock_server::store::sqlite::{SqliteOptions, SqliteStore};
use shotclock_server::store::{
    Backend, EntryRow, JobEnd, NewUser, NotificationRow, Rows, ScreenshotRow, StoreError,
    StoreResult, Tombstone, TxRows, UserRow, WorkspaceRow,
};
use tokio::sync::oneshot;

type Store = Arc<dyn Backend>;

fn t(mins: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 2, 12, 0, 0).unwrap() + TimeDelta::minutes(mins)
}

fn sqlite() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&SqliteOptions::new(dir.path().join("db.sqlite"))).unwrap();
    (dir, Arc::new(store))
}

fn postgres() -> ((), Store) {
    let url = shotclock_testpg::database();
    let store = PgStore::open(&PgOptions::from_url(&url).unwrap()).unwrap();
    ((), Arc::new(store))
}

/// Runs `f` on a reader.
async fn read<R: Send + 'static>(
    store: &Store,
    f: impl FnOnce(&mut dyn Rows) -> StoreResult<R> + Send + 'static,
) -> R {
    let (tx, rx) = oneshot::channel();
    store
        .read(Box::new(move |rows| {
            let _ = tx.send(f(rows));
        }))
        .await
        .unwrap();
    rx.await.unwrap().unwrap()
}

/// Runs `f` in a write transaction and keeps its changes when it succeeds; answers after the
/// commit.
async fn write<R: Send + 'static>(
    store: &Store,
    f: impl FnOnce(&mut dyn TxRows) -> StoreResult<R> + Send + 'static,
) -> StoreResult<R> {
    let (tx, rx) = oneshot::channel();
    store
        .write(Box::new(move |rows| {
            let result = rows.and_then(f);
            JobEnd {
                keep: result.is_ok(),
                done: Box::new(move |commit| {
                    let _ = tx.send(commit.and(result));
                }),
            }
        }))
        .unwrap();
    rx.await.unwrap()
}

fn new_user(email: &str, role: Role) -> NewUser {
    NewUser {
        id: UserId::new(),
        email: email.into(),
        name: email.into(),
        password_hash: "h".into(),
        role,
    }
}

/// A workspace on enterprise with capture on since `t(-1000)`, and one member.
async fn member(intents: &Intents) -> UserRow {
    let ws = WorkspaceId::new();
    intents
        .create_workspace(ws, "x".into(), new_user("o@x.test", Role::Owner), t(-2000))
        .await
        .unwrap();
    intents
        .set_plan(ws, Plan::Enterprise, t(-1000))
        .await
        .unwrap();
    let patch = SettingsPatch {
        screenshots_enabled: Some(true),
        ..SettingsPatch::default()
    };
    intents.update_settings(ws, patch, t(-1000)).await.unwrap();
    intents
        .add_user(ws, new_user("m@x.test", Role::Member), t(0))
        .await
        .unwrap()
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

fn workspace_row(created: DateTime<Utc>) -> WorkspaceRow {
    WorkspaceRow {
        id: WorkspaceId::new(),
        name: "w".into(),
        plan: Plan::Free,
        screenshots_enabled: false,
        blur_enabled: true,
        lock_date: None,
        trial_started_at: None,
        created_at: created,
    }
}

fn user_row(ws: WorkspaceId, email: &str) -> UserRow {
    UserRow {
        id: UserId::new(),
        workspace_id: ws,
        email: email.into(),
        name: "n".into(),
        password_hash: "h".into(),
        role: Role::Member,
        active: true,
        created_at: t(0),
    }
}

fn entry_row(user: &UserRow, start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> EntryRow {
    EntryRow {
        id: EntryId::new(),
        workspace_id: user.workspace_id,
        user_id: user.id,
        description: "d".into(),
        times: EntryTimes::new(start, end),
        approved: false,
        manual: false,
        created_at: start,
    }
}

// ---- the row interface -------------------------------------------------------------------

async fn rows_round_trip(store: Store) {
    let ws = workspace_row(t(0));
    let user = user_row(ws.id, "a@x.test");
    let entry = entry_row(&user, t(0), None);
    let screenshot = shot(&user, entry.id, t(1), 7);
    let note = NotificationRow {
        id: NotificationId::new(),
        workspace_id: ws.id,
        user_id: user.id,
        kind: "k".into(),
        message: "m".into(),
        created_at: t(2),
        read_at: None,
    };
    let (w, u, e, s, n) = (
        ws.clone(),
        user.clone(),
        entry.clone(),
        screenshot.clone(),
        note.clone(),
    );
    write(&store, move |rows| {
        rows.insert_workspace(&w)?;
        rows.insert_user(&u)?;
        rows.insert_entry(&e)?;
        rows.insert_screenshot(&s)?;
        rows.insert_notification(&n)
    })
    .await
    .unwrap();
    let (ws_id, user_id, entry_id, shot_id) = (ws.id, user.id, entry.id, screenshot.id);
    let got = read(&store, move |rows| {
        Ok((
            rows.workspace(ws_id)?,
            rows.user(user_id)?,
            rows.running_entry(user_id)?,
            rows.screenshot(shot_id)?,
            rows.notifications(user_id)?,
            rows.entry_screenshots(entry_id)?,
        ))
    })
    .await;
    assert_eq!(got.0, Some(ws.clone()));
    assert_eq!(got.1, Some(user.clone()));
    assert_eq!(got.2, Some(entry.clone()));
    assert_eq!(got.3, Some(screenshot.clone()));
    assert_eq!(got.4, vec![note]);
    assert_eq!(got.5, vec![screenshot]);

    // Overwrites change exactly the named fields.
    let mut changed = entry.clone();
    changed.times.end = Some(t(30));
    changed.approved = true;
    let c = changed.clone();
    write(&store, move |rows| rows.update_entry(&c))
        .await
        .unwrap();
    let got = read(&store, move |rows| rows.entry(entry_id)).await;
    assert_eq!(got, Some(changed));
    let running = read(&store, move |rows| rows.running_entry(user_id)).await;
    assert_eq!(running, None);
}

async fn tombstones_are_remembered_until_purged(store: Store) {
    let ws = WorkspaceId::new();
    let (shot_id, entry_id) = (ScreenshotId::new(), EntryId::new());
    write(&store, move |rows| {
        rows.insert_tombstone(Tombstone::Screenshot(shot_id), ws, t(0))?;
        rows.insert_tombstone(Tombstone::Entry(entry_id), ws, t(10))?;
        // Remembering twice is harmless.
        rows.insert_tombstone(Tombstone::Entry(entry_id), ws, t(10))
    })
    .await
    .unwrap();
    let seen = read(&store, move |rows| {
        Ok([
            rows.is_tombstoned(Tombstone::Screenshot(shot_id))?,
            rows.is_tombstoned(Tombstone::Entry(entry_id))?,
            rows.is_tombstoned(Tombstone::Entry(EntryId::new()))?,
        ])
    })
    .await;
    assert_eq!(seen, [true, true, false]);
    let purged = write(&store, |rows| rows.purge_tombstones(t(5)))
        .await
        .unwrap();
    assert_eq!(purged, 1);
    let seen = read(&store, move |rows| {
        Ok([
            rows.is_tombstoned(Tombstone::Screenshot(shot_id))?,
            rows.is_tombstoned(Tombstone::Entry(entry_id))?,
        ])
    })
    .await;
    assert_eq!(seen, [false, true]);
}

async fn block_rules_and_access_lines_round_trip(store: Store) {
    use shotclock_api::privacy::{AccessKind, BlockField, BlockRule};
    use shotclock_server::store::AccessRow;
    let ws = workspace_row(t(0));
    let other_ws = workspace_row(t(0));
    let rule = |field, p: &str| BlockRule {
        field,
        pattern: p.into(),
    };
    let rules = vec![
        rule(BlockField::Title, "Online banking"),
        rule(BlockField::Class, "keepassxc"),
        rule(BlockField::Title, "Ünïcode"),
    ];
    let (w, o, r) = (ws.clone(), other_ws.clone(), rules.clone());
    write(&store, move |rows| {
        rows.insert_workspace(&w)?;
        rows.insert_workspace(&o)?;
        rows.set_workspace_block_rules(w.id, &r)?;
        rows.set_workspace_block_rules(o.id, &r[..1])
    })
    .await
    .unwrap();
    let (a, b) = (ws.id, other_ws.id);
    let got = read(&store, move |rows| {
        Ok((
            rows.workspace_block_rules(a)?,
            rows.workspace_block_rules(b)?,
        ))
    })
    .await;
    assert_eq!(got, (rules.clone(), rules[..1].to_vec()));
    // Replaced whole, order kept.
    let fewer = vec![rules[2].clone(), rules[0].clone()];
    let f = fewer.clone();
    write(&store, move |rows| rows.set_workspace_block_rules(a, &f))
        .await
        .unwrap();
    assert_eq!(
        read(&store, move |rows| rows.workspace_block_rules(a)).await,
        fewer
    );

    let (owner, viewer) = (UserId::new(), UserId::new());
    let (s1, s2) = (ScreenshotId::new(), ScreenshotId::new());
    let line = |shot, captured: i64, kind, at: i64| AccessRow {
        workspace_id: a,
        owner_id: owner,
        screenshot_id: shot,
        captured_at: t(captured),
        viewer_id: viewer,
        viewer_name: "Alex Morgan".into(),
        kind,
        at: t(at),
    };
    let lines = vec![
        line(s1, 0, AccessKind::Viewed, 10),
        line(s1, 0, AccessKind::Viewed, 20),
        line(s2, 5, AccessKind::Deleted, 30),
    ];
    let l = lines.clone();
    write(&store, move |rows| {
        l.iter().try_for_each(|x| rows.insert_access(x))
    })
    .await
    .unwrap();
    let (log, last, none, someone_else) = read(&store, move |rows| {
        Ok((
            rows.access_log(owner, t(15))?,
            rows.last_access(s1, viewer, AccessKind::Viewed)?,
            rows.last_access(s1, viewer, AccessKind::Deleted)?,
            rows.access_log(viewer, t(0))?,
        ))
    })
    .await;
    // From `since` on, newest first.
    assert_eq!(log, vec![lines[2].clone(), lines[1].clone()]);
    assert_eq!(last, Some(t(20)));
    assert_eq!(none, None);
    assert!(someone_else.is_empty());
    // Purged by the screenshot's capture time, at or before the cutoff.
    let purged = write(&store, |rows| rows.purge_access(t(0))).await.unwrap();
    assert_eq!(purged, 2);
    let log = read(&store, move |rows| rows.access_log(owner, t(0))).await;
    assert_eq!(log, vec![lines[2].clone()]);
    write(&store, move |rows| rows.delete_access_of(owner))
        .await
        .unwrap();
    assert!(
        read(&store, move |rows| rows.access_log(owner, t(0)))
            .await
            .is_empty()
    );
}

/// An upload's facts are the rows it names, each read on its own: its id's tombstone and row,
/// its entry's tombstone and row, the gate at its capture moment.
async fn upload_facts_are_the_rows_an_upload_names(store: Store) {
    let ws = workspace_row(t(0));
    let user = user_row(ws.id, "a@x.test");
    let entry = entry_row(&user, t(0), Some(t(30)));
    let stored = shot(&user, entry.id, t(5), 1);
    let gate = CaptureGate {
        enabled: true,
        plan: Plan::Enterprise,
        trial_started_at: None,
    };
    let (w, u, e, s) = (ws.clone(), user.clone(), entry.clone(), stored.clone());
    write(&store, move |rows| {
        rows.insert_workspace(&w)?;
        rows.insert_user(&u)?;
        rows.insert_entry(&e)?;
        rows.insert_screenshot(&s)?;
        rows.record_gate(w.id, t(10), &gate)
    })
    .await
    .unwrap();
    let facts = |row: ScreenshotRow| read(&store, move |rows| rows.upload_facts(&row));

    // A new id in a stored entry, before and after the gate's change.
    let fresh = shot(&user, entry.id, t(20), 2);
    let seen = facts(fresh.clone()).await;
    assert!(!seen.shot_tombstoned && !seen.entry_tombstoned, "{seen:?}");
    assert_eq!((seen.existing, seen.entry), (None, Some(entry.clone())));
    assert_eq!(seen.gate, Some(gate));
    let early = ScreenshotRow {
        captured_at: t(5),
        ..fresh.clone()
    };
    assert_eq!(facts(early).await.gate, None);
    // The stored screenshot's id.
    assert_eq!(facts(stored.clone()).await.existing, Some(stored.clone()));

    // Tombstones: the screenshot's id, then its entry's; neither is taken for the other.
    let gone = ScreenshotRow {
        entry_id: EntryId::new(),
        ..fresh
    };
    let (gone_id, gone_entry) = (gone.id, gone.entry_id);
    let ws_id = ws.id;
    write(&store, move |rows| {
        rows.insert_tombstone(Tombstone::Screenshot(gone_id), ws_id, t(0))
    })
    .await
    .unwrap();
    let seen = facts(gone.clone()).await;
    assert!(seen.shot_tombstoned && !seen.entry_tombstoned, "{seen:?}");
    assert_eq!(seen.entry, None);
    write(&store, move |rows| {
        rows.insert_tombstone(Tombstone::Entry(gone_entry), ws_id, t(0))
    })
    .await
    .unwrap();
    let seen = facts(gone).await;
    assert!(seen.shot_tombstoned && seen.entry_tombstoned, "{seen:?}");
    let other = shot(&user, gone_entry, t(20), 3);
    let seen = facts(other).await;
    assert!(!seen.shot_tombstoned && seen.entry_tombstoned, "{seen:?}");
}

async fn the_gate_history_answers_for_any_moment(store: Store) {
    let ws = workspace_row(t(0));
    let id = ws.id;
    let gate = |enabled, plan| CaptureGate {
        enabled,
        plan,
        trial_started_at: None,
    };
    write(&store, move |rows| {
        rows.insert_workspace(&ws)?;
        rows.record_gate(id, t(0), &gate(false, Plan::Free))?;
        rows.record_gate(id, t(10), &gate(true, Plan::Enterprise))?;
        rows.record_gate(id, t(20), &gate(false, Plan::Enterprise))?;
        // A second change at the same instant replaces the first.
        rows.record_gate(id, t(20), &gate(false, Plan::Free))
    })
    .await
    .unwrap();
    let at = |m| read(&store, move |rows| rows.gate_at(id, t(m)));
    assert_eq!(at(-1).await, None);
    assert_eq!(at(0).await, Some(gate(false, Plan::Free)));
    assert_eq!(at(15).await, Some(gate(true, Plan::Enterprise)));
    assert_eq!(at(20).await, Some(gate(false, Plan::Free)));
    // Purging before minute 15 keeps the state that still applies then.
    let purged = write(&store, |rows| rows.purge_gates(t(15))).await.unwrap();
    assert_eq!(purged, 1);
    assert_eq!(at(15).await, Some(gate(true, Plan::Enterprise)));
    assert_eq!(at(5).await, None);
}

/// Concurrent write jobs share group commits, and one that refuses rolls back only itself. The
/// writer counts every job it ran, refused or kept, the groups it ran them in and the time it
/// was busy (`/metrics`); a read is not counted.
async fn a_refused_job_rolls_back_only_itself(store: Store) {
    let ws = workspace_row(t(0));
    let user = user_row(ws.id, "a@x.test");
    let (w, u) = (ws.clone(), user.clone());
    write(&store, move |rows| {
        rows.insert_workspace(&w)?;
        rows.insert_user(&u)
    })
    .await
    .unwrap();
    let before = store.writer_load();
    assert!(before.jobs >= 1 && before.groups >= 1, "{before:?}");
    let mut jobs = Vec::new();
    for i in 0..50 {
        let entry = entry_row(&user, t(i), Some(t(i + 1)));
        let s = store.clone();
        jobs.push(tokio::spawn(async move {
            write(&s, move |rows| {
                rows.insert_entry(&entry)?;
                if i % 2 == 1 {
                    return Err(StoreError::refused(ErrorCode::Conflict, "odd"));
                }
                Ok(())
            })
            .await
        }));
    }
    for (i, job) in jobs.into_iter().enumerate() {
        assert_eq!(job.await.unwrap().is_ok(), i % 2 == 0);
    }
    let user_id = user.id;
    let kept = read(&store, move |rows| rows.user_entries(user_id)).await;
    assert_eq!(kept.len(), 25);
    let done = store.writer_load().since(&before);
    assert_eq!(done.jobs, 50, "{done:?}");
    assert!((1..=50).contains(&done.groups), "{done:?}");
    assert!(done.busy > Duration::ZERO, "{done:?}");
    assert!(done.waiting <= done.busy, "{done:?}");
}

// ---- the intents over the backend ----------------------------------------------------------

async fn upload_is_idempotent_by_id_and_hash(store: Store) {
    let intents = Intents::new(store);
    let user = member(&intents).await;
    let entry = EntryId::new();
    intents
        .start_timer(&user, entry, "e".into(), t(0), t(0))
        .await
        .unwrap();
    let row = shot(&user, entry, t(1), 1);
    assert_eq!(
        intents.upload(row.clone(), t(2)).await.unwrap(),
        UploadOutcome::Created
    );
    assert_eq!(
        intents.upload(row.clone(), t(2)).await.unwrap(),
        UploadOutcome::AlreadyStored
    );
    let mut other = row.clone();
    other.sha256 = [2; 32];
    let refused = intents.upload(other, t(2)).await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Refused {
                code: ErrorCode::Conflict,
                ..
            })
        ),
        "{refused:?}"
    );
    let orphan = shot(&user, EntryId::new(), t(1), 3);
    assert!(matches!(
        intents.upload(orphan, t(2)).await,
        Err(StoreError::NotFound)
    ));
}

async fn deleted_ids_are_never_created_again(store: Store) {
    let intents = Intents::new(store);
    let user = member(&intents).await;
    let entry = EntryId::new();
    intents
        .start_timer(&user, entry, "e".into(), t(0), t(0))
        .await
        .unwrap();
    let a = shot(&user, entry, t(1), 1);
    let b = shot(&user, entry, t(2), 2);
    intents.upload(a.clone(), t(3)).await.unwrap();
    intents.upload(b.clone(), t(3)).await.unwrap();
    intents.stop_timer(user.id, None, t(4)).await.unwrap();
    intents
        .delete_screenshot(user.actor(), a.id, t(5), false)
        .await
        .unwrap();
    let deleted = |r: StoreResult<_>| {
        matches!(
            r,
            Err(StoreError::Refused {
                code: ErrorCode::Deleted,
                ..
            })
        )
    };
    assert!(deleted(intents.upload(a.clone(), t(6)).await.map(|_| ())));
    intents
        .delete_entry(user.actor(), entry, t(7))
        .await
        .unwrap();
    assert!(deleted(intents.upload(b.clone(), t(8)).await.map(|_| ())));
    assert!(deleted(
        intents
            .upload(shot(&user, entry, t(2), 9), t(8))
            .await
            .map(|_| ())
    ));
    assert!(deleted(
        intents
            .start_timer(&user, entry, "again".into(), t(9), t(9))
            .await
            .map(|_| ())
    ));
    assert_eq!(intents.running_entry(user.id).await.unwrap(), None);
}

async fn dry_run_changes_nothing(store: Store) {
    let intents = Intents::new(store.clone());
    let user = member(&intents).await;
    let entry = EntryId::new();
    intents
        .start_timer(&user, entry, "e".into(), t(0), t(0))
        .await
        .unwrap();
    let a = shot(&user, entry, t(10), 1);
    let b = shot(&user, entry, t(20), 2);
    intents.upload(a.clone(), t(21)).await.unwrap();
    intents.upload(b.clone(), t(21)).await.unwrap();
    intents.stop_timer(user.id, None, t(30)).await.unwrap();
    let actor = user.actor();
    let preview = intents
        .delete_screenshot(actor, b.id, t(31), true)
        .await
        .unwrap();
    assert!(preview.dry_run);
    assert_eq!(preview.removed, TimeDelta::minutes(10));
    let b_id = b.id;
    let raw = read(&store, move |rows| {
        Ok((
            rows.screenshot(b_id)?,
            rows.entry(entry)?,
            rows.is_tombstoned(Tombstone::Screenshot(b_id))?,
        ))
    })
    .await;
    assert!(raw.0.is_some());
    assert!(raw.1.unwrap().times.removed.is_empty());
    assert!(!raw.2, "a dry run leaves no tombstone");
    let real = intents
        .delete_screenshot(actor, b.id, t(31), false)
        .await
        .unwrap();
    assert_eq!(
        (real.removed, real.entry_deleted),
        (preview.removed, preview.entry_deleted)
    );
    let raw = read(&store, move |rows| {
        Ok((
            rows.screenshot(b_id)?,
            rows.entry(entry)?,
            rows.is_tombstoned(Tombstone::Screenshot(b_id))?,
        ))
    })
    .await;
    assert!(raw.0.is_none());
    assert_eq!(raw.1.unwrap().times.deducted(t(31)), TimeDelta::minutes(10));
    assert!(raw.2);
}

async fn concurrent_writes_all_commit(store: Store) {
    let intents = Intents::new(store);
    let user = member(&intents).await;
    let entry = EntryId::new();
    intents
        .start_timer(&user, entry, "e".into(), t(0), t(0))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..200u8 {
        let intents = intents.clone();
        let row = shot(&user, entry, t(1), i);
        tasks.push(tokio::spawn(async move { intents.upload(row, t(2)).await }));
    }
    // A refused write in the same group rolls back only itself.
    let lie = shot(&user, entry, t(-5), 0);
    let bad = intents.upload(lie, t(2));
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), UploadOutcome::Created);
    }
    assert!(bad.await.is_err());
    let (_, list) = intents
        .screenshots_of(user.actor(), None, t(0), t(60), t(60))
        .await
        .unwrap();
    assert_eq!(list.len(), 200);
}

async fn one_running_entry_per_user(store: Store) {
    let intents = Intents::new(store);
    let user = member(&intents).await;
    let a = EntryId::new();
    let b = EntryId::new();
    intents
        .start_timer(&user, a, "a".into(), t(0), t(0))
        .await
        .unwrap();
    let started = intents
        .start_timer(&user, b, "b".into(), t(5), t(5))
        .await
        .unwrap();
    assert_eq!(started.stopped.unwrap().times.end, Some(t(5)));
    assert_eq!(intents.running_entry(user.id).await.unwrap().unwrap().id, b);
}

async fn expired_screenshots_take_part_in_nothing(store: Store) {
    let intents = Intents::new(store);
    let user = member(&intents).await;
    let entry = EntryId::new();
    intents
        .start_timer(&user, entry, "e".into(), t(0), t(0))
        .await
        .unwrap();
    let old = shot(&user, entry, t(5), 1);
    let young = shot(&user, entry, t(15), 2);
    intents.upload(old.clone(), t(16)).await.unwrap();
    intents.upload(young.clone(), t(16)).await.unwrap();
    intents.stop_timer(user.id, None, t(20)).await.unwrap();
    let now = t(10) + TimeDelta::days(7);
    let actor = user.actor();
    assert!(matches!(
        intents.screenshot_for(actor, old.id, now).await,
        Err(StoreError::NotFound)
    ));
    let (_, list) = intents
        .screenshots_of(actor, None, t(0), t(60), now)
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    let counts = intents.day_counts(actor, t(0), t(60), now).await.unwrap();
    assert_eq!(counts.iter().map(|(_, n)| n).sum::<u64>(), 1);
    assert!(matches!(
        intents.delete_screenshot(actor, old.id, now, true).await,
        Err(StoreError::NotFound)
    ));
    let preview = intents
        .delete_screenshot(actor, young.id, now, true)
        .await
        .unwrap();
    assert!(
        preview.entry_deleted,
        "the expired screenshot is not the entry's other"
    );
}

/// Two users of one workspace with screenshots spread over several hours, some deleted (one of
/// them the last of its entry, which deletes the entry).
async fn counted_team(intents: &Intents) -> (UserRow, UserRow, Vec<(UserId, DateTime<Utc>)>) {
    let a = member(intents).await;
    let b = intents
        .add_user(a.workspace_id, new_user("b@x.test", Role::Member), t(0))
        .await
        .unwrap();
    let mut kept = Vec::new();
    let record = async |user: &UserRow, start: i64, end: i64, mins: &[i64]| {
        let entry = EntryId::new();
        intents
            .start_timer(user, entry, "e".into(), t(start), t(start))
            .await
            .unwrap();
        let mut ids = Vec::new();
        for (i, m) in mins.iter().enumerate() {
            let row = shot(user, entry, t(*m), u8::try_from(i).unwrap());
            intents.upload(row.clone(), t(end)).await.unwrap();
            ids.push((row.id, user.id, t(*m)));
        }
        intents.stop_timer(user.id, None, t(end)).await.unwrap();
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
        intents
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

/// What an admin's day counts say of `users` in `[from, to)`.
async fn counts_of(
    intents: &Intents,
    users: &[UserId],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(UserId, u64)> {
    let ws = intents.user(users[0]).await.unwrap().unwrap().workspace_id;
    let owner = intents
        .members(ws, false)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.role == Role::Owner)
        .unwrap();
    let all = intents
        .day_counts(owner.actor(), from, to, t(300))
        .await
        .unwrap();
    users
        .iter()
        .map(|u| (*u, all.iter().find(|(m, _)| m.id == *u).unwrap().1))
        .collect()
}

async fn day_counts_match_a_row_by_row_count(store: Store) {
    let intents = Intents::new(store);
    let (a, b, kept) = counted_team(&intents).await;
    // On the hour (UTC, whole-hour zones), off the hour (+05:30), inside one hour, before and
    // after everything, and around the deleted entry; a whole UTC day, most of one (read whole
    // less the hours outside), and a day in a zone an hour off UTC.
    for (from, to) in [
        (-120, 120),
        (-90, 30),
        (5, 40),
        (-600, -300),
        (140, 170),
        (-1440, 1440),
        (-720, 720),
        (-720, 61),
        (-810, 90),
        (-780, 660),
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
        let got = counts_of(&intents, &[a.id, b.id], t(from), t(to)).await;
        assert_eq!(got, want, "counts in [{from}, {to}) minutes from noon");
    }
}

async fn presence_rows_round_trip(store: Store) {
    use shotclock_server::store::{AppPresenceRow, ReplicaRow};
    let ws = workspace_row(t(0));
    let (a, b) = (user_row(ws.id, "a@x.test"), user_row(ws.id, "b@x.test"));
    let elsewhere = workspace_row(t(0));
    let c = user_row(elsewhere.id, "c@y.test");
    let (r1, r2) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let row = |replica, hash: u8, user: &UserRow, capture| AppPresenceRow {
        replica,
        session_hash: [hash; 32],
        user_id: user.id,
        capture,
        connected_at: t(1),
    };
    let rows_in = [
        row(r1, 1, &a, false),
        row(r2, 1, &a, false),
        row(r1, 2, &b, true),
        row(r1, 3, &c, true),
    ];
    let (w, e, users, put) = (
        ws.clone(),
        elsewhere.clone(),
        [a.clone(), b.clone(), c.clone()],
        rows_in.clone(),
    );
    write(&store, move |rows| {
        rows.insert_workspace(&w)?;
        rows.insert_workspace(&e)?;
        for u in &users {
            rows.insert_user(u)?;
        }
        for p in &put {
            rows.put_app_presence(p)?;
        }
        rows.beat_replica(r1, t(1))?;
        rows.beat_replica(r2, t(1))?;
        // A later beat moves the heartbeat; seen times only move forward.
        rows.beat_replica(r1, t(5))?;
        rows.record_app_seen(a.id, t(3))?;
        rows.record_app_seen(a.id, t(2))?;
        rows.record_app_seen(c.id, t(4))
    })
    .await
    .unwrap();
    let ws_id = ws.id;
    let (mut listed, seen, mut replicas, of_r2) = read(&store, move |rows| {
        Ok((
            rows.app_presence(ws_id)?,
            rows.apps_last_seen(ws_id)?,
            rows.replicas()?,
            rows.app_presence_of_replica(r2)?,
        ))
    })
    .await;
    let key = |p: &AppPresenceRow| (p.replica, p.session_hash);
    listed.sort_by_key(key);
    let mut want = rows_in[..3].to_vec();
    want.sort_by_key(key);
    assert_eq!(listed, want, "the workspace's rows only");
    assert_eq!(seen, std::collections::HashMap::from([(a.id, t(3))]));
    replicas.sort_by_key(|r| r.id);
    assert_eq!(
        replicas,
        vec![
            ReplicaRow {
                id: r1,
                heartbeat_at: t(5)
            },
            ReplicaRow {
                id: r2,
                heartbeat_at: t(1)
            }
        ]
    );
    assert_eq!(of_r2, vec![rows_in[1].clone()]);

    // Capture of a session changes on every replica; a reconnect overwrites; a delete and a
    // replica's removal take exactly their rows; a removed user's rows go with the user.
    let c_id = c.id;
    let again = AppPresenceRow {
        capture: true,
        connected_at: t(9),
        ..rows_in[2].clone()
    };
    let changed = write(&store, move |rows| {
        let n = rows.set_app_capture(&[1; 32], true)?;
        let none = rows.set_app_capture(&[9; 32], true)?;
        rows.put_app_presence(&again)?;
        rows.delete_app_presence(r1, &[1; 32])?;
        rows.delete_replica(r2)?;
        rows.delete_user(c_id)?;
        Ok((n, none))
    })
    .await
    .unwrap();
    assert_eq!(changed, (2, 0));
    let (listed, replicas, c_seen, c_rows) = read(&store, move |rows| {
        Ok((
            rows.app_presence(ws_id)?,
            rows.replicas()?,
            rows.apps_last_seen(elsewhere.id)?,
            rows.app_presence_of_replica(r1)?,
        ))
    })
    .await;
    let b_row = AppPresenceRow {
        capture: true,
        connected_at: t(9),
        ..rows_in[2].clone()
    };
    assert_eq!(listed, vec![b_row.clone()]);
    assert_eq!(replicas.iter().map(|r| r.id).collect::<Vec<_>>(), vec![r1]);
    assert!(
        c_seen.is_empty(),
        "a removed user's last seen goes with them"
    );
    assert_eq!(c_rows, vec![b_row], "and their rows too");
}

/// Single sign-on rows (R31): settings with their domains replaced whole, identities, and the
/// one-time requests and codes (taken once, purged when expired; a user's go with the user).
async fn sso_rows_round_trip(store: Store) {
    use shotclock_server::store::{SsoCodeRow, SsoConfigRow, SsoRequestRow};
    let ws = workspace_row(t(0));
    let user = user_row(ws.id, "ann@acme.test");
    let config = SsoConfigRow {
        workspace_id: ws.id,
        issuer: "https://idp.example".into(),
        client_id: "shotclock".into(),
        client_secret: vec![0, 1, 2, 255],
        allowed_domains: vec!["acme.test".into(), "b.test".into()],
        auto_join: true,
        password_sign_in: false,
        updated_at: t(0),
    };
    let request = |n: u8, expires| SsoRequestRow {
        state_hash: [n; 32],
        workspace_id: ws.id,
        nonce: "nonce".into(),
        pkce_verifier: "verifier".into(),
        redirect_uri: "https://svc/api/v1/sso/callback".into(),
        app_challenge: (n == 1).then(|| "challenge".to_owned()),
        app_redirect: (n == 1).then(|| "http://127.0.0.1:5/x".to_owned()),
        app_state: None,
        expires_at: expires,
    };
    let code = SsoCodeRow {
        code_hash: [9; 32],
        user_id: user.id,
        challenge: "challenge".into(),
        expires_at: t(1),
    };
    let (w, u, c, r1, r2, k) = (
        ws.clone(),
        user.clone(),
        config.clone(),
        request(1, t(10)),
        request(2, t(1)),
        code.clone(),
    );
    write(&store, move |rows| {
        rows.insert_workspace(&w)?;
        rows.insert_user(&u)?;
        rows.set_sso_config(&c)?;
        rows.insert_sso_identity(w.id, "https://idp.example", "sub-1", u.id)?;
        rows.insert_sso_request(&r1)?;
        rows.insert_sso_request(&r2)?;
        rows.insert_sso_code(&k)
    })
    .await
    .unwrap();
    let (id, uid) = (ws.id, user.id);
    let got = read(&store, move |rows| {
        Ok((
            rows.sso_config(id)?,
            rows.sso_domain_workspace("b.test")?,
            rows.sso_domain_workspace("c.test")?,
            rows.sso_identity(id, "https://idp.example", "sub-1")?,
            rows.sso_identity(id, "https://other.example", "sub-1")?,
        ))
    })
    .await;
    assert_eq!(got, (Some(config.clone()), Some(id), None, Some(uid), None));
    // Domains replaced whole.
    let mut changed = config.clone();
    changed.allowed_domains = vec!["c.test".into()];
    changed.auto_join = false;
    let c2 = changed.clone();
    write(&store, move |rows| rows.set_sso_config(&c2))
        .await
        .unwrap();
    let got = read(&store, move |rows| {
        Ok((rows.sso_config(id)?, rows.sso_domain_workspace("b.test")?))
    })
    .await;
    assert_eq!(got, (Some(changed), None));
    // Taken once; expired ones purged.
    let taken = write(&store, move |rows| {
        let first = rows.take_sso_request(&[1; 32])?;
        let again = rows.take_sso_request(&[1; 32])?;
        Ok((first, again))
    })
    .await
    .unwrap();
    assert_eq!(taken, (Some(request(1, t(10))), None));
    let purged = write(&store, move |rows| {
        let n = rows.purge_sso(t(1))?;
        Ok((
            n,
            rows.take_sso_request(&[2; 32])?,
            rows.take_sso_code(&[9; 32])?,
        ))
    })
    .await
    .unwrap();
    assert_eq!(purged, (2, None, None));
    let k = code.clone();
    let taken = write(&store, move |rows| {
        rows.insert_sso_code(&k)?;
        Ok((rows.take_sso_code(&[9; 32])?, rows.take_sso_code(&[9; 32])?))
    })
    .await
    .unwrap();
    assert_eq!(taken, (Some(code), None));
}

/// Unlinking (R31): the settings, their domains and the sign-ins under way go; linked
/// identities and other workspaces' settings stay.
async fn sso_unlink_keeps_identities(store: Store) {
    use shotclock_server::store::{SsoConfigRow, SsoRequestRow};
    let (ws, other) = (workspace_row(t(0)), workspace_row(t(0)));
    let user = user_row(ws.id, "ann@acme.test");
    let config = |w: &shotclock_server::store::WorkspaceRow, domain: &str| SsoConfigRow {
        workspace_id: w.id,
        issuer: "https://idp.example".into(),
        client_id: "shotclock".into(),
        client_secret: vec![7],
        allowed_domains: vec![domain.into()],
        auto_join: false,
        password_sign_in: false,
        updated_at: t(0),
    };
    let request = SsoRequestRow {
        state_hash: [3; 32],
        workspace_id: ws.id,
        nonce: "nonce".into(),
        pkce_verifier: "verifier".into(),
        redirect_uri: "https://svc/api/v1/sso/callback".into(),
        app_challenge: None,
        app_redirect: None,
        app_state: None,
        expires_at: t(10),
    };
    let (a, b, u, ca, cb) = (
        ws.clone(),
        other.clone(),
        user.clone(),
        config(&ws, "acme.test"),
        config(&other, "other.test"),
    );
    write(&store, move |rows| {
        rows.insert_workspace(&a)?;
        rows.insert_workspace(&b)?;
        rows.insert_user(&u)?;
        rows.set_sso_config(&ca)?;
        rows.set_sso_config(&cb)?;
        rows.insert_sso_identity(a.id, "https://idp.example", "sub-1", u.id)?;
        rows.insert_sso_request(&request)
    })
    .await
    .unwrap();
    let (id, oid) = (ws.id, other.id);
    let got = write(&store, move |rows| {
        rows.delete_sso_config(id)?;
        // Twice is the same as once.
        rows.delete_sso_config(id)?;
        Ok((
            rows.sso_config(id)?,
            rows.sso_domain_workspace("acme.test")?,
            rows.take_sso_request(&[3; 32])?,
            rows.sso_identity(id, "https://idp.example", "sub-1")?,
            rows.sso_domain_workspace("other.test")?,
            rows.sso_config(oid)?.is_some(),
        ))
    })
    .await
    .unwrap();
    assert_eq!(got, (None, None, None, Some(user.id), Some(oid), true));
}

// ---- every backend ----------------------------------------------------------------------------

macro_rules! conformance {
    ($($check:ident),+ $(,)?) => {
        mod sqlite_backend {
            $(
                #[tokio::test]
                async fn $check() {
                    let (_dir, store) = super::sqlite();
                    super::$check(store).await;
                }
            )+
        }
        mod postgres_backend {
            $(
                #[tokio::test]
                async fn $check() {
                    let (_db, store) = super::postgres();
                    super::$check(store).await;
                }
            )+
        }
    };
}

conformance!(
    rows_round_trip,
    block_rules_and_access_lines_round_trip,
    tombstones_are_remembered_until_purged,
    the_gate_history_answers_for_any_moment,
    upload_facts_are_the_rows_an_upload_names,
    a_refused_job_rolls_back_only_itself,
    upload_is_idempotent_by_id_and_hash,
    deleted_ids_are_never_created_again,
    dry_run_changes_nothing,
    concurrent_writes_all_commit,
    one_running_entry_per_user,
    expired_screenshots_take_part_in_nothing,
    day_counts_match_a_row_by_row_count,
    presence_rows_round_trip,
    sso_rows_round_trip,
    sso_unlink_keeps_identities,
);

// ---- SQLite ---------------------------------------------------------------------------------

/// A group whose `BEGIN` fails runs none of its jobs: each is handed the error, and nothing is
/// written, not even by a job that would have found the lock free by the time it ran.
#[tokio::test]
async fn sqlite_a_group_that_cannot_begin_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let mut options = SqliteOptions::new(&path);
    options.busy_timeout = Duration::ZERO;
    let store: Store = Arc::new(SqliteStore::open(&options).unwrap());
    let ws = workspace_row(t(0));
    let user = user_row(ws.id, "a@x.test");
    let (w, u) = (ws.clone(), user.clone());
    write(&store, move |rows| {
        rows.insert_workspace(&w)?;
        rows.insert_user(&u)
    })
    .await
    .unwrap();

    // Another process holds the write lock.
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let holder = Arc::new(Mutex::new(Some(holder)));

    let mut answers = Vec::new();
    let mut handed_a_transaction = Vec::new();
    for i in 0..5 {
        let entry = entry_row(&user, t(i), Some(t(i + 1)));
        let holder = Arc::clone(&holder);
        let (ran_tx, ran_rx) = std::sync::mpsc::channel::<bool>();
        let (tx, rx) = oneshot::channel::<StoreResult<()>>();
        store
            .write(Box::new(move |rows| {
                let _ = ran_tx.send(rows.is_ok());
                let result = rows.and_then(|rows| {
                    // The other process finishes just as this job runs.
                    if let Some(conn) = holder.lock().unwrap().take() {
                        conn.execute_batch("ROLLBACK").unwrap();
                    }
                    rows.insert_entry(&entry)
                });
                JobEnd {
                    keep: result.is_ok(),
                    done: Box::new(move |commit| {
                        let _ = tx.send(commit.and(result));
                    }),
                }
            }))
            .unwrap();
        answers.push(rx);
        handed_a_transaction.push(ran_rx);
    }
    for rx in answers {
        let answer = rx.await.unwrap();
        assert!(matches!(answer, Err(StoreError::Commit(_))), "{answer:?}");
    }
    for ran in handed_a_transaction {
        assert!(!ran.recv().unwrap(), "a job ran without a transaction");
    }
    // Once the lock is free the writer works again, and the refused group left no row.
    drop(holder.lock().unwrap().take());
    let user_id = user.id;
    assert!(
        read(&store, move |rows| rows.user_entries(user_id))
            .await
            .is_empty()
    );
    let entry = entry_row(&user, t(50), Some(t(51)));
    write(&store, move |rows| rows.insert_entry(&entry))
        .await
        .unwrap();
    assert_eq!(
        read(&store, move |rows| rows.user_entries(user_id))
            .await
            .len(),
        1
    );
}

/// A database from before the hourly counts (schema 1) gets them filled from its screenshots.
#[tokio::test]
async fn sqlite_hourly_counts_are_built_from_an_older_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let (a, b, kept) = {
        let store: Store = Arc::new(SqliteStore::open(&SqliteOptions::new(&path)).unwrap());
        counted_team(&Intents::new(store)).await
    };
    // Back to schema 1: no hourly table, no triggers, no tombstones or gate history.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER screenshot_hours_insert; DROP TRIGGER screenshot_hours_delete;
         DROP TRIGGER screenshot_hours_no_move; DROP TABLE screenshot_hours;
         DROP TABLE tombstones; DROP TABLE capture_gates;
         DROP INDEX entries_user_end; ALTER TABLE entries DROP COLUMN manual;
         DROP TABLE workspace_block_rules; DROP TABLE screenshot_access; DROP TABLE invitations;
         DROP TABLE app_presence; DROP TABLE app_last_seen; DROP TABLE replicas;
         DROP TABLE sso_codes; DROP TABLE sso_requests; DROP TABLE sso_identities;
         DROP TABLE sso_domains; DROP TABLE sso_configs;
         PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);
    let store: Store = Arc::new(SqliteStore::open(&SqliteOptions::new(&path)).unwrap());
    let got = counts_of(&Intents::new(store), &[a.id, b.id], t(-1440), t(1440)).await;
    let count = |user: UserId| kept.iter().filter(|(u, _)| *u == user).count() as u64;
    assert_eq!(got, vec![(a.id, count(a.id)), (b.id, count(b.id))]);
    assert!(count(a.id) > 0 && count(b.id) > 0);
}

/// A database from before the gate history (schema 2): each workspace's present gate stands
/// for its past, so uploads of a workspace with capture on keep being accepted.
#[tokio::test]
async fn sqlite_gate_history_is_seeded_from_an_older_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let user = {
        let store: Store = Arc::new(SqliteStore::open(&SqliteOptions::new(&path)).unwrap());
        member(&Intents::new(store)).await
    };
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TABLE tombstones; DROP TABLE capture_gates;
         DROP INDEX entries_user_end; ALTER TABLE entries DROP COLUMN manual;
         DROP TABLE workspace_block_rules; DROP TABLE screenshot_access; DROP TABLE invitations;
         DROP TABLE app_presence; DROP TABLE app_last_seen; DROP TABLE replicas;
         DROP TABLE sso_codes; DROP TABLE sso_requests; DROP TABLE sso_identities;
         DROP TABLE sso_domains; DROP TABLE sso_configs;
         PRAGMA user_version = 2;",
    )
    .unwrap();
    drop(conn);
    let store: Store = Arc::new(SqliteStore::open(&SqliteOptions::new(&path)).unwrap());
    let intents = Intents::new(store);
    let entry = EntryId::new();
    intents
        .start_timer(&user, entry, "e".into(), t(0), t(0))
        .await
        .unwrap();
    assert_eq!(
        intents
            .upload(shot(&user, entry, t(1), 1), t(2))
            .await
            .unwrap(),
        UploadOutcome::Created
    );
}

#[tokio::test]
async fn sqlite_reopen_keeps_data_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let user = {
        let store: Store = Arc::new(SqliteStore::open(&SqliteOptions::new(&path)).unwrap());
        member(&Intents::new(store)).await
    };
    let store: Store = Arc::new(SqliteStore::open(&SqliteOptions::new(&path)).unwrap());
    assert_eq!(
        Intents::new(store).user(user.id).await.unwrap().unwrap(),
        user
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    // One version per SQL file of the SQLite schema.
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count();
    assert_eq!(version, i64::try_from(files).unwrap());
    let wal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(wal, "wal");
}

/// A file from a newer service is refused by the shared migration runner, and not written to.
#[tokio::test]
async fn sqlite_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    drop(SqliteStore::open(&SqliteOptions::new(&path)).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let refused = SqliteStore::open(&SqliteOptions::new(&path));
    assert!(
        matches!(&refused, Err(StoreError::Open(m)) if m.contains("newer")),
        "{:?}",
        refused.err()
    );
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 99);
}

// ---- PostgreSQL -----------------------------------------------------------------------------

/// A plain connection to `url`, for looking under the backend.
async fn raw(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

fn pg_open(url: &str) -> Store {
    Arc::new(PgStore::open(&PgOptions::from_url(url).unwrap()).unwrap())
}

/// Replicas starting together migrate once (the advisory lock), and a reopen keeps the data.
#[tokio::test]
async fn postgres_replicas_starting_together_migrate_once() {
    let url = shotclock_testpg::database();
    let opened: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PgStore::open(&PgOptions::from_url(&url).unwrap()))
        })
        .collect();
    for replica in opened {
        replica.join().unwrap().unwrap();
    }
    let user = member(&Intents::new(pg_open(&url))).await;
    assert_eq!(
        Intents::new(pg_open(&url))
            .user(user.id)
            .await
            .unwrap()
            .unwrap(),
        user
    );
    let versions: Vec<i32> = raw(&url)
        .await
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    // One version per SQL file of the PostgreSQL schema.
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count();
    let want: Vec<i32> = (1..=i32::try_from(files).unwrap()).collect();
    assert_eq!(versions, want);
}

/// A schema newer than the service is refused, not written to.
#[tokio::test]
async fn postgres_a_newer_schema_is_refused() {
    let url = shotclock_testpg::database();
    drop(pg_open(&url));
    raw(&url)
        .await
        .batch_execute("INSERT INTO schema_migrations VALUES (99, 0)")
        .await
        .unwrap();
    let refused = PgStore::open(&PgOptions::from_url(&url).unwrap());
    assert!(
        matches!(&refused, Err(StoreError::Open(m)) if m.contains("newer")),
        "{refused:?}"
    );
}

/// Two replicas on one database: their write groups run one after the other (the advisory
/// lock), so each intent's read-decide-write sees the other's commits. Timers started at the
/// same moment through both never break "one running entry per user" (R13): each start stops
/// the one before, none fails on the unique index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_replicas_serialise_their_writes() {
    let url = shotclock_testpg::database();
    let second = pg_open(&url);
    let (a, b) = (Intents::new(pg_open(&url)), Intents::new(second.clone()));
    let user = member(&a).await;
    let mut starts = Vec::new();
    for i in 0..40 {
        let (replica, user) = (if i % 2 == 0 { a.clone() } else { b.clone() }, user.clone());
        starts.push(tokio::spawn(async move {
            replica
                .start_timer(&user, EntryId::new(), format!("{i}"), t(i), t(i))
                .await
        }));
    }
    for start in starts {
        start.await.unwrap().unwrap();
    }
    let user_id = user.id;
    let entries = read(&second, move |rows| rows.user_entries(user_id)).await;
    assert_eq!(entries.len(), 40);
    assert_eq!(entries.iter().filter(|e| e.times.end.is_none()).count(), 1);
}

/// On PostgreSQL a deleted row stays on disk as a dead tuple until VACUUM: scrub (R24) runs it,
/// after which the table holds no dead tuple.
#[tokio::test]
async fn postgres_scrub_leaves_no_dead_tuples() {
    let url = shotclock_testpg::database();
    let store = pg_open(&url);
    let intents = Intents::new(store.clone());
    let user = member(&intents).await;
    let entry = EntryId::new();
    intents
        .start_timer(&user, entry, "e".into(), t(0), t(0))
        .await
        .unwrap();
    let a = shot(&user, entry, t(1), 1);
    intents.upload(a.clone(), t(2)).await.unwrap();
    intents
        .upload(shot(&user, entry, t(2), 2), t(2))
        .await
        .unwrap();
    intents.stop_timer(user.id, None, t(3)).await.unwrap();
    intents
        .delete_screenshot(user.actor(), a.id, t(4), false)
        .await
        .unwrap();
    let client = raw(&url).await;
    client
        .batch_execute("CREATE EXTENSION pgstattuple")
        .await
        .unwrap();
    let dead = async || -> i64 {
        client
            .query_one(
                "SELECT dead_tuple_count FROM pgstattuple('screenshots')",
                &[],
            )
            .await
            .unwrap()
            .get(0)
    };
    assert_eq!(dead().await, 1, "the deleted row is still on disk");
    // A line of the access log (R35), gone by retention or with its owner's account.
    client
        .batch_execute(
            "INSERT INTO screenshot_access (workspace_id, owner_id, screenshot_id, captured_ms,
                 viewer_id, viewer_name, kind, at_ms)
             VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 1,
                 gen_random_uuid(), 'Ada', 'viewed', 2);
             DELETE FROM screenshot_access;",
        )
        .await
        .unwrap();
    let dead_access = async || -> i64 {
        client
            .query_one(
                "SELECT dead_tuple_count FROM pgstattuple('screenshot_access')",
                &[],
            )
            .await
            .unwrap()
            .get(0)
    };
    assert_eq!(dead_access().await, 1);
    store.scrub().await.unwrap();
    assert_eq!(dead().await, 0);
    assert_eq!(dead_access().await, 0, "the access log's deleted line");
}

/// A group that cannot get the write lock in time (another session holds it) runs none of its
/// jobs: each is handed the error and nothing is written; once the lock is free, writes work.
#[tokio::test]
async fn postgres_a_group_that_cannot_take_the_write_lock_writes_nothing() {
    let url = shotclock_testpg::database();
    let mut options = PgOptions::from_url(&url).unwrap();
    options.write_lock_timeout = Duration::from_millis(200);
    let store: Store = Arc::new(PgStore::open(&options).unwrap());
    let ws = workspace_row(t(0));
    let user = user_row(ws.id, "a@x.test");
    let (w, u) = (ws.clone(), user.clone());
    write(&store, move |rows| {
        rows.insert_workspace(&w)?;
        rows.insert_user(&u)
    })
    .await
    .unwrap();

    // Another replica's session holds the write lock.
    let holder = hold_write_lock(&url).await;
    let mut answers = Vec::new();
    let mut handed_a_transaction = Vec::new();
    for i in 0..5 {
        let entry = entry_row(&user, t(i), Some(t(i + 1)));
        let (ran_tx, ran_rx) = std::sync::mpsc::channel::<bool>();
        let (tx, rx) = oneshot::channel::<StoreResult<()>>();
        store
            .write(Box::new(move |rows| {
                let _ = ran_tx.send(rows.is_ok());
                let result = rows.and_then(|rows| rows.insert_entry(&entry));
                JobEnd {
                    keep: result.is_ok(),
                    done: Box::new(move |commit| {
                        let _ = tx.send(commit.and(result));
                    }),
                }
            }))
            .unwrap();
        answers.push(rx);
        handed_a_transaction.push(ran_rx);
    }
    for rx in answers {
        let answer = rx.await.unwrap();
        assert!(matches!(answer, Err(StoreError::Commit(_))), "{answer:?}");
    }
    for ran in handed_a_transaction {
        assert!(!ran.recv().unwrap(), "a job ran without the write lock");
    }
    drop(holder);
    let user_id = user.id;
    assert!(
        read(&store, move |rows| rows.user_entries(user_id))
            .await
            .is_empty()
    );
    let entry = entry_row(&user, t(50), Some(t(51)));
    write(&store, move |rows| rows.insert_entry(&entry))
        .await
        .unwrap();
    assert_eq!(
        read(&store, move |rows| rows.user_entries(user_id))
            .await
            .len(),
        1
    );
}

/// Time a group waits for another replica's write lock is counted as the writer's waiting (and
/// busy) time: what tells an operator that replicas take turns.
#[tokio::test]
async fn postgres_the_writer_counts_waiting_for_the_write_lock() {
    let url = shotclock_testpg::database();
    let store = pg_open(&url);
    let ws = workspace_row(t(0));
    let w = ws.clone();
    write(&store, move |rows| rows.insert_workspace(&w))
        .await
        .unwrap();
    let before = store.writer_load();

    let holder = hold_write_lock(&url).await;
    let user = user_row(ws.id, "a@x.test");
    let waiting = tokio::spawn({
        let store = store.clone();
        async move { write(&store, move |rows| rows.insert_user(&user)).await }
    });
    // Until the group is seen waiting for the lock.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let row = holder
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                &[],
            )
            .await
            .unwrap();
        if row.get::<_, i64>(0) > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the write group never waited for the lock"
        );
        tokio::task::yield_now().await;
    }
    // How long the lock stays held is what the writer must report, at least.
    let held = Duration::from_millis(300);
    tokio::time::sleep(held).await;
    drop(holder);
    waiting.await.unwrap().unwrap();

    let done = store.writer_load().since(&before);
    assert_eq!(done.jobs, 1, "{done:?}");
    assert_eq!(done.groups, 1, "{done:?}");
    assert!(done.waiting >= held, "{done:?}");
    assert!(done.busy >= done.waiting, "{done:?}");
}
