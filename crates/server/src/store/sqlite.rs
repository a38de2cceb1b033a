//! The embedded SQLite backend of [`Store`].
//!
//! Design:
//! * **One writer connection on a dedicated thread** (an actor fed by a channel). It drains every
//!   job queued at the moment it wakes up and runs them in *one* transaction, each job inside its
//!   own `SAVEPOINT` (a failing or dry-run job rolls back only itself), then commits once —
//!   group commit: one fsync for many writes. A job's answer is released only after that commit.
//! * **A few reader connections** (`query_only`) used from `spawn_blocking`; WAL mode lets them
//!   read while the writer writes.
//! * `secure_delete = ON` and `synchronous = FULL`; after delete batches the caller asks for
//!   [`Store::scrub`], a `wal_checkpoint(TRUNCATE)`, so deleted bytes survive neither in the main
//!   file nor in the WAL (R24).
//! * Migrations are the plain SQL files in `migrations/`, applied in order at open, tracked by
//!   `PRAGMA user_version`.
//!
//! * Day counts (R17) read `screenshot_hours`, per-(workspace, UTC hour, user) counts that
//!   triggers keep in step with every insert and delete of a screenshot; only the partial hours
//!   of a day in a zone off the hour are counted row by row.
//!
//! Ids are 16-byte UUID blobs and instants integer milliseconds (UTC).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};
use shotclock_api::{
    EntryId, ErrorCode, NotificationId, Plan, Role, ScreenshotId, UserId, WorkspaceId,
};
use shotclock_domain::delete::{DeleteDecision, DeleteRequest, decide};
use shotclock_domain::entry::{EntryTimes, stop_previous_on_start};
use shotclock_domain::lock::{EntryStatus, is_locked, may_edit};
use shotclock_domain::span::SpanSet;
use shotclock_domain::visibility::{Actor, can_view};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::{
    EntryRow, InsertOutcome, NewUser, NotificationRow, Removed, ScreenshotDeletion, ScreenshotRow,
    ScreenshotView, SettingsChange, SettingsPatch, Store, StoreError, StoreResult, TimerStart,
    UserRow, WorkspaceRow,
};

/// The schema, in order. Append only; never edit a shipped migration.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_init.sql"),
    include_str!("../../migrations/0002_screenshot_hours.sql"),
];

/// The bucket of `screenshot_hours` (migration 0002).
const HOUR_MS: i64 = 3_600_000;

/// Most jobs one group commit takes.
const MAX_GROUP: usize = 512;

/// How to open the database.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Database file (created if missing).
    pub path: PathBuf,
    /// Reader connections.
    pub readers: usize,
    /// `PRAGMA secure_delete`. Always on in the service; off only to demonstrate (in a test)
    /// what it protects against.
    pub secure_delete: bool,
}

impl SqliteOptions {
    /// Defaults for a database file at `path`.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            readers: 4,
            secure_delete: true,
        }
    }
}

type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
type TxJob = Box<dyn FnOnce(&Connection) -> (Completion, bool) + Send>;

enum Job {
    /// Runs inside the group transaction; returns its completion and whether to keep its changes.
    Tx(TxJob),
    /// Runs outside any transaction (checkpoints).
    Raw(Box<dyn FnOnce(&Connection) + Send>),
}

struct Readers {
    conns: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl Readers {
    fn get(&self) -> MutexGuard<'_, Connection> {
        let n = self.conns.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            if let Some(m) = self.conns.get((start + i) % n)
                && let Ok(guard) = m.try_lock()
            {
                return guard;
            }
        }
        // All busy: wait for "ours". `conns` is never empty (checked at open).
        let idx = start % n.max(1);
        match self.conns.get(idx) {
            Some(m) => m.lock().unwrap_or_else(PoisonError::into_inner),
            None => self.conns[0].lock().unwrap_or_else(PoisonError::into_inner),
        }
    }
}

/// SQLite-backed [`Store`]. Cheap to clone (a handle).
#[derive(Clone)]
pub struct SqliteStore {
    writer: mpsc::Sender<Job>,
    readers: Arc<Readers>,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

fn open_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Open(e.to_string())
}

fn configure_writer(conn: &Connection, secure_delete: bool) -> StoreResult<()> {
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(open_err(format!("could not enable WAL (got {mode})")));
    }
    conn.execute_batch(&format!(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA secure_delete = {};",
        if secure_delete { "ON" } else { "OFF" }
    ))?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let current = usize::try_from(current).map_err(open_err)?;
    if current > MIGRATIONS.len() {
        return Err(open_err(format!(
            "database schema version {current} is newer than this service ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
        tx.commit()?;
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database and starts the writer thread.
    pub fn open(options: &SqliteOptions) -> StoreResult<Self> {
        if let Some(dir) = options.path.parent() {
            std::fs::create_dir_all(dir).map_err(open_err)?;
        }
        let mut writer = Connection::open(&options.path)?;
        configure_writer(&writer, options.secure_delete)?;
        migrate(&mut writer)?;

        let mut conns = Vec::new();
        for _ in 0..options.readers.max(1) {
            let conn = Connection::open_with_flags(
                &options.path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.execute_batch("PRAGMA query_only = ON; PRAGMA busy_timeout = 5000;")?;
            conns.push(Mutex::new(conn));
        }

        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(&writer, &rx))
            .map_err(open_err)?;
        Ok(Self {
            writer: tx,
            readers: Arc::new(Readers {
                conns,
                next: AtomicUsize::new(0),
            }),
            path: options.path.clone(),
        })
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn read<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    {
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || {
            let conn = readers.get();
            f(&conn)
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }

    async fn write_with<R, F>(&self, dry_run: bool, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<StoreResult<R>>();
        let job = Job::Tx(Box::new(move |conn| {
            let result = f(conn);
            let keep = result.is_ok() && !dry_run;
            let completion: Completion = Box::new(move |commit| {
                let answer = match result {
                    Err(e) => Err(e),
                    Ok(r) if dry_run => Ok(r),
                    Ok(r) => commit.map(|()| r).map_err(StoreError::Commit),
                };
                let _ = tx.send(answer);
            });
            (completion, keep)
        }));
        self.writer.send(job).map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn write<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    {
        self.write_with(false, f).await
    }
}

fn writer_loop(conn: &Connection, rx: &mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut completions: Vec<Completion> = Vec::with_capacity(batch.len());
        let mut in_tx = false;
        let mut failed: Option<String> = None;
        for job in batch {
            match job {
                Job::Raw(f) => {
                    if in_tx {
                        finish(conn, &mut completions, &mut failed);
                        in_tx = false;
                    }
                    f(conn);
                }
                Job::Tx(f) => {
                    if !in_tx {
                        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
                            failed = Some(e.to_string());
                        }
                        in_tx = true;
                    }
                    if failed.is_some() {
                        // The group cannot commit; run nothing, answer with the error.
                        let (completion, _) = f(conn);
                        completions.push(completion);
                        continue;
                    }
                    let sp = conn.execute_batch("SAVEPOINT job");
                    let (completion, keep) = f(conn);
                    let end = if sp.is_err() {
                        sp
                    } else if keep {
                        conn.execute_batch("RELEASE job")
                    } else {
                        conn.execute_batch("ROLLBACK TO job; RELEASE job")
                    };
                    if let Err(e) = end {
                        failed = Some(e.to_string());
                    }
                    completions.push(completion);
                }
            }
        }
        if in_tx {
            finish(conn, &mut completions, &mut failed);
        }
    }
}

fn finish(conn: &Connection, completions: &mut Vec<Completion>, failed: &mut Option<String>) {
    let result = match failed.take() {
        Some(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
        None => match conn.execute_batch("COMMIT") {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e.to_string())
            }
        },
    };
    for completion in completions.drain(..) {
        completion(result.clone());
    }
}

// ---- row mapping ----------------------------------------------------------------------------

/// Screenshots per user of a workspace in `[?2, ?3)` ms, row by row.
const COUNT_ROWS: &str = "SELECT user_id, count(*) FROM screenshots
     WHERE workspace_id = ?1 AND captured_ms >= ?2 AND captured_ms < ?3 GROUP BY user_id";

/// Adds the `(user_id, count)` rows of `sql` to `counts`.
fn add_counts(
    c: &Connection,
    counts: &mut std::collections::HashMap<Uuid, u64>,
    sql: &str,
    args: (Uuid, i64, i64),
) -> StoreResult<()> {
    let mut st = c.prepare_cached(sql)?;
    let rows = st.query_map(params![args.0, args.1, args.2], |r| {
        Ok((r.get::<_, Uuid>(0)?, r.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (user, n) = row?;
        *counts.entry(user).or_default() += u64::try_from(n).unwrap_or(0);
    }
    Ok(())
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn at(ms: i64) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Integer,
            format!("timestamp out of range: {ms}").into(),
        )
    })
}

fn conv_err(e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
}

fn u(id: impl Into<Uuid>) -> Uuid {
    id.into()
}

const WS_COLS: &str = "id, name, plan, screenshots_enabled, blur_enabled, lock_date_ms, \
                       trial_started_ms, created_ms";

fn ws_row(r: &Row<'_>) -> rusqlite::Result<WorkspaceRow> {
    let plan: String = r.get(2)?;
    Ok(WorkspaceRow {
        id: WorkspaceId::from_uuid(r.get(0)?),
        name: r.get(1)?,
        plan: plan.parse::<Plan>().map_err(conv_err)?,
        screenshots_enabled: r.get(3)?,
        blur_enabled: r.get(4)?,
        lock_date: r.get::<_, Option<i64>>(5)?.map(at).transpose()?,
        trial_started_at: r.get::<_, Option<i64>>(6)?.map(at).transpose()?,
        created_at: at(r.get(7)?)?,
    })
}

const USER_COLS: &str = "id, workspace_id, email, name, password_hash, role, active, created_ms";

fn user_row(r: &Row<'_>) -> rusqlite::Result<UserRow> {
    let role: String = r.get(5)?;
    Ok(UserRow {
        id: UserId::from_uuid(r.get(0)?),
        workspace_id: WorkspaceId::from_uuid(r.get(1)?),
        email: r.get(2)?,
        name: r.get(3)?,
        password_hash: r.get(4)?,
        role: role.parse::<Role>().map_err(conv_err)?,
        active: r.get(6)?,
        created_at: at(r.get(7)?)?,
    })
}

const ENTRY_COLS: &str =
    "id, workspace_id, user_id, description, start_ms, end_ms, removed_spans, approved, created_ms";

fn entry_row(r: &Row<'_>) -> rusqlite::Result<EntryRow> {
    let removed: String = r.get(6)?;
    let removed: SpanSet = serde_json::from_str(&removed).map_err(conv_err)?;
    Ok(EntryRow {
        id: EntryId::from_uuid(r.get(0)?),
        workspace_id: WorkspaceId::from_uuid(r.get(1)?),
        user_id: UserId::from_uuid(r.get(2)?),
        description: r.get(3)?,
        times: EntryTimes {
            start: at(r.get(4)?)?,
            end: r.get::<_, Option<i64>>(5)?.map(at).transpose()?,
            removed,
        },
        approved: r.get(7)?,
        created_at: at(r.get(8)?)?,
    })
}

const SHOT_COLS: &str = "id, workspace_id, user_id, entry_id, captured_ms, sha256, size, width, \
                         height, blob_key, uploaded_ms";

fn shot_row(r: &Row<'_>) -> rusqlite::Result<ScreenshotRow> {
    let hash: Vec<u8> = r.get(5)?;
    let sha256: [u8; 32] = hash.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            5,
            rusqlite::types::Type::Blob,
            "sha256 is not 32 bytes".into(),
        )
    })?;
    Ok(ScreenshotRow {
        id: ScreenshotId::from_uuid(r.get(0)?),
        workspace_id: WorkspaceId::from_uuid(r.get(1)?),
        user_id: UserId::from_uuid(r.get(2)?),
        entry_id: EntryId::from_uuid(r.get(3)?),
        captured_at: at(r.get(4)?)?,
        sha256,
        size: r.get(6)?,
        width: r.get(7)?,
        height: r.get(8)?,
        blob_key: r.get(9)?,
        uploaded_at: at(r.get(10)?)?,
    })
}

const NOTE_COLS: &str = "id, workspace_id, user_id, kind, message, created_ms, read_ms";

fn note_row(r: &Row<'_>) -> rusqlite::Result<NotificationRow> {
    Ok(NotificationRow {
        id: NotificationId::from_uuid(r.get(0)?),
        workspace_id: WorkspaceId::from_uuid(r.get(1)?),
        user_id: UserId::from_uuid(r.get(2)?),
        kind: r.get(3)?,
        message: r.get(4)?,
        created_at: at(r.get(5)?)?,
        read_at: r.get::<_, Option<i64>>(6)?.map(at).transpose()?,
    })
}

// ---- queries (usable from both reader and writer connections) -------------------------------

fn get_workspace(c: &Connection, id: WorkspaceId) -> StoreResult<Option<WorkspaceRow>> {
    let mut st = c.prepare_cached(&format!("SELECT {WS_COLS} FROM workspaces WHERE id = ?1"))?;
    Ok(st.query_row([u(id)], ws_row).optional()?)
}

fn get_user(c: &Connection, id: UserId) -> StoreResult<Option<UserRow>> {
    let mut st = c.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE id = ?1"))?;
    Ok(st.query_row([u(id)], user_row).optional()?)
}

fn get_entry(c: &Connection, id: EntryId) -> StoreResult<Option<EntryRow>> {
    let mut st = c.prepare_cached(&format!("SELECT {ENTRY_COLS} FROM entries WHERE id = ?1"))?;
    Ok(st.query_row([u(id)], entry_row).optional()?)
}

fn get_running(c: &Connection, user: UserId) -> StoreResult<Option<EntryRow>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {ENTRY_COLS} FROM entries WHERE user_id = ?1 AND end_ms IS NULL"
    ))?;
    Ok(st.query_row([u(user)], entry_row).optional()?)
}

fn get_screenshot(c: &Connection, id: ScreenshotId) -> StoreResult<Option<ScreenshotRow>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {SHOT_COLS} FROM screenshots WHERE id = ?1"
    ))?;
    Ok(st.query_row([u(id)], shot_row).optional()?)
}

fn entry_screenshots(c: &Connection, entry: EntryId) -> StoreResult<Vec<ScreenshotRow>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {SHOT_COLS} FROM screenshots WHERE entry_id = ?1 ORDER BY captured_ms, id"
    ))?;
    let rows = st.query_map([u(entry)], shot_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn set_entry_end(c: &Connection, id: EntryId, end: DateTime<Utc>) -> StoreResult<()> {
    c.prepare_cached("UPDATE entries SET end_ms = ?2 WHERE id = ?1")?
        .execute(params![u(id), ms(end)])?;
    Ok(())
}

fn set_removed(c: &Connection, id: EntryId, removed: &SpanSet) -> StoreResult<()> {
    let json = serde_json::to_string(removed).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    c.prepare_cached("UPDATE entries SET removed_spans = ?2 WHERE id = ?1")?
        .execute(params![u(id), json])?;
    Ok(())
}

/// Deletes an entry with all its screenshots; returns the removed blob keys.
fn delete_entry_rows(c: &Connection, entry: &EntryRow, removed: &mut Removed) -> StoreResult<()> {
    for shot in entry_screenshots(c, entry.id)? {
        removed.screenshots.push(shot.id);
        removed.blob_keys.push(shot.blob_key);
    }
    c.prepare_cached("DELETE FROM screenshots WHERE entry_id = ?1")?
        .execute([u(entry.id)])?;
    c.prepare_cached("DELETE FROM entries WHERE id = ?1")?
        .execute([u(entry.id)])?;
    removed.entries.push(entry.clone());
    Ok(())
}

fn insert_user(
    c: &Connection,
    ws: WorkspaceId,
    user: &NewUser,
    now: DateTime<Utc>,
) -> StoreResult<UserRow> {
    let taken: bool = c
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM users WHERE workspace_id = ?1 AND email = ?2)",
        )?
        .query_row(params![u(ws), user.email], |r| r.get(0))?;
    if taken {
        return Err(StoreError::refused(
            ErrorCode::Conflict,
            "a member with this email already exists in the workspace",
        ));
    }
    c.prepare_cached(
        "INSERT INTO users (id, workspace_id, email, name, password_hash, role, active, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)",
    )?
    .execute(params![
        u(user.id),
        u(ws),
        user.email,
        user.name,
        user.password_hash,
        user.role.as_str(),
        ms(now)
    ])?;
    get_user(c, user.id)?.ok_or(StoreError::NotFound)
}

fn insert_entry(c: &Connection, e: &EntryRow) -> StoreResult<()> {
    let removed =
        serde_json::to_string(&e.times.removed).map_err(|x| StoreError::Corrupt(x.to_string()))?;
    c.prepare_cached(
        "INSERT INTO entries (id, workspace_id, user_id, description, start_ms, end_ms,
                              removed_spans, approved, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        u(e.id),
        u(e.workspace_id),
        u(e.user_id),
        e.description,
        ms(e.times.start),
        e.times.end.map(ms),
        removed,
        e.approved,
        ms(e.created_at)
    ])?;
    Ok(())
}

fn insert_shot(c: &Connection, s: &ScreenshotRow) -> StoreResult<usize> {
    Ok(c.prepare_cached(
        "INSERT INTO screenshots (id, workspace_id, user_id, entry_id, captured_ms, sha256, size,
                                  width, height, blob_key, uploaded_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (id) DO NOTHING",
    )?
    .execute(params![
        u(s.id),
        u(s.workspace_id),
        u(s.user_id),
        u(s.entry_id),
        ms(s.captured_at),
        &s.sha256[..],
        s.size,
        s.width,
        s.height,
        s.blob_key,
        ms(s.uploaded_at)
    ])?)
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn create_workspace(
        &self,
        id: WorkspaceId,
        name: String,
        owner: NewUser,
        now: DateTime<Utc>,
    ) -> StoreResult<(WorkspaceRow, UserRow)> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO workspaces (id, name, created_ms) VALUES (?1, ?2, ?3)",
                params![u(id), name, ms(now)],
            )?;
            let user = insert_user(c, id, &owner, now)?;
            let ws = get_workspace(c, id)?.ok_or(StoreError::NotFound)?;
            Ok((ws, user))
        })
        .await
    }

    async fn workspace(&self, id: WorkspaceId) -> StoreResult<Option<WorkspaceRow>> {
        self.read(move |c| get_workspace(c, id)).await
    }

    async fn update_settings(
        &self,
        id: WorkspaceId,
        patch: SettingsPatch,
        now: DateTime<Utc>,
    ) -> StoreResult<SettingsChange> {
        self.write(move |c| {
            let before = get_workspace(c, id)?.ok_or(StoreError::NotFound)?;
            let mut after = before.clone();
            if let Some(v) = patch.screenshots_enabled {
                after.screenshots_enabled = v;
            }
            if let Some(v) = patch.blur_enabled {
                after.blur_enabled = v;
            }
            if let Some(v) = patch.lock_date {
                after.lock_date = v;
            }
            let enabling = after.screenshots_enabled && !before.screenshots_enabled;
            if enabling {
                // R5: the switch may only be turned on when the plan or trial includes it.
                after
                    .gate()
                    .feature_available(now)
                    .map_err(|reason| StoreError::refused(reason.error_code(), reason.to_string()))?;
            }
            c.execute(
                "UPDATE workspaces SET screenshots_enabled = ?2, blur_enabled = ?3, lock_date_ms = ?4
                 WHERE id = ?1",
                params![
                    u(id),
                    after.screenshots_enabled,
                    after.blur_enabled,
                    after.lock_date.map(ms)
                ],
            )?;
            let mut notifications = Vec::new();
            if enabling {
                // R6: every member is told, persistently, in the same transaction.
                let mut st = c.prepare_cached(
                    "SELECT id FROM users WHERE workspace_id = ?1 AND active = 1",
                )?;
                let users: Vec<Uuid> = st
                    .query_map([u(id)], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                for user in users {
                    let note = NotificationRow {
                        id: NotificationId::new(),
                        workspace_id: id,
                        user_id: UserId::from_uuid(user),
                        kind: "screenshots_enabled".into(),
                        message: format!(
                            "Screenshot capturing was turned on in {}. While your timer runs, \
                             one screenshot is taken at a random moment in every {}.",
                            after.name, "capture window"
                        ),
                        created_at: now,
                        read_at: None,
                    };
                    c.prepare_cached(&format!(
                        "INSERT INTO notifications ({NOTE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)"
                    ))?
                    .execute(params![
                        u(note.id),
                        u(note.workspace_id),
                        u(note.user_id),
                        note.kind,
                        note.message,
                        ms(note.created_at)
                    ])?;
                    notifications.push(note);
                }
            }
            Ok(SettingsChange {
                workspace: after,
                notifications,
            })
        })
        .await
    }

    async fn start_trial(&self, id: WorkspaceId, now: DateTime<Utc>) -> StoreResult<WorkspaceRow> {
        self.write(move |c| {
            let ws = get_workspace(c, id)?.ok_or(StoreError::NotFound)?;
            if !ws.gate().can_start_trial() {
                let msg = if ws.plan == Plan::Enterprise {
                    "the enterprise plan already includes screenshots"
                } else {
                    "the free trial has already been used"
                };
                return Err(StoreError::refused(ErrorCode::Conflict, msg));
            }
            c.execute(
                "UPDATE workspaces SET trial_started_ms = ?2 WHERE id = ?1",
                params![u(id), ms(now)],
            )?;
            get_workspace(c, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn set_plan(&self, id: WorkspaceId, plan: Plan) -> StoreResult<WorkspaceRow> {
        self.write(move |c| {
            let n = c.execute(
                "UPDATE workspaces SET plan = ?2 WHERE id = ?1",
                params![u(id), plan.as_str()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            get_workspace(c, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn add_user(
        &self,
        workspace: WorkspaceId,
        user: NewUser,
        now: DateTime<Utc>,
    ) -> StoreResult<UserRow> {
        self.write(move |c| {
            get_workspace(c, workspace)?.ok_or(StoreError::NotFound)?;
            insert_user(c, workspace, &user, now)
        })
        .await
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<UserRow>> {
        self.read(move |c| get_user(c, id)).await
    }

    async fn users_by_email(&self, email: String) -> StoreResult<Vec<UserRow>> {
        self.read(move |c| {
            let mut st =
                c.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE email = ?1"))?;
            let rows = st.query_map([email], user_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn members(
        &self,
        workspace: WorkspaceId,
        include_inactive: bool,
    ) -> StoreResult<Vec<UserRow>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {USER_COLS} FROM users WHERE workspace_id = ?1 AND (active = 1 OR ?2)
                 ORDER BY email"
            ))?;
            let rows = st.query_map(params![u(workspace), include_inactive], user_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn update_member(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        role: Option<Role>,
        active: Option<bool>,
    ) -> StoreResult<UserRow> {
        self.write(move |c| {
            let before = get_user(c, user)?
                .filter(|x| x.workspace_id == workspace)
                .ok_or(StoreError::NotFound)?;
            if before.role == Role::Owner
                && (role.is_some_and(|r| r != Role::Owner) || active == Some(false))
            {
                return Err(StoreError::refused(
                    ErrorCode::Forbidden,
                    "the workspace owner cannot be demoted or deactivated",
                ));
            }
            if role == Some(Role::Owner) && before.role != Role::Owner {
                return Err(StoreError::refused(
                    ErrorCode::Validation,
                    "ownership cannot be assigned; use admin",
                ));
            }
            let new_role = role.unwrap_or(before.role);
            let new_active = active.unwrap_or(before.active);
            if new_role != before.role || new_active != before.active {
                c.execute(
                    "UPDATE users SET role = ?2, active = ?3 WHERE id = ?1",
                    params![u(user), new_role.as_str(), new_active],
                )?;
                // Any change of what a token may do revokes it at once.
                c.execute("DELETE FROM sessions WHERE user_id = ?1", [u(user)])?;
            }
            get_user(c, user)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn delete_user(&self, user: UserId) -> StoreResult<Removed> {
        self.write(move |c| {
            let row = get_user(c, user)?.ok_or(StoreError::NotFound)?;
            if row.role == Role::Owner {
                return Err(StoreError::refused(
                    ErrorCode::Conflict,
                    "the workspace owner cannot delete their account",
                ));
            }
            let mut removed = Removed::default();
            {
                let mut st =
                    c.prepare("SELECT id, blob_key FROM screenshots WHERE user_id = ?1")?;
                let rows = st.query_map([u(user)], |r| {
                    Ok((ScreenshotId::from_uuid(r.get(0)?), r.get::<_, String>(1)?))
                })?;
                for row in rows {
                    let (id, key) = row?;
                    removed.screenshots.push(id);
                    removed.blob_keys.push(key);
                }
                let mut st = c.prepare(&format!(
                    "SELECT {ENTRY_COLS} FROM entries WHERE user_id = ?1"
                ))?;
                let rows = st.query_map([u(user)], entry_row)?;
                removed.entries = rows.collect::<Result<_, _>>()?;
            }
            // R23: screenshots, entries, sessions, notifications, then the account itself.
            for table in ["screenshots", "entries", "sessions", "notifications"] {
                c.execute(
                    &format!("DELETE FROM {table} WHERE user_id = ?1"),
                    [u(user)],
                )?;
            }
            c.execute("DELETE FROM users WHERE id = ?1", [u(user)])?;
            Ok(removed)
        })
        .await
    }

    async fn create_session(
        &self,
        token_hash: [u8; 32],
        user: UserId,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO sessions (token_hash, user_id, workspace_id, created_ms, expires_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![&token_hash[..], u(user), u(workspace), ms(now), ms(expires)],
            )?;
            // Opportunistic clean-up of this user's expired sessions.
            c.execute(
                "DELETE FROM sessions WHERE user_id = ?1 AND expires_ms <= ?2",
                params![u(user), ms(now)],
            )?;
            Ok(())
        })
        .await
    }

    async fn session_user(
        &self,
        token_hash: [u8; 32],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRow>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT u.id, u.workspace_id, u.email, u.name, u.password_hash, u.role, u.active,
                        u.created_ms
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = ?1 AND s.expires_ms > ?2 AND u.active = 1",
            )?;
            Ok(st
                .query_row(params![&token_hash[..], ms(now)], user_row)
                .optional()?)
        })
        .await
    }

    async fn delete_session(&self, token_hash: [u8; 32]) -> StoreResult<()> {
        self.write(move |c| {
            c.execute(
                "DELETE FROM sessions WHERE token_hash = ?1",
                [&token_hash[..]],
            )?;
            Ok(())
        })
        .await
    }

    async fn notifications(&self, user: UserId) -> StoreResult<Vec<NotificationRow>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {NOTE_COLS} FROM notifications WHERE user_id = ?1
                 ORDER BY created_ms DESC, id DESC LIMIT 500"
            ))?;
            let rows = st.query_map([u(user)], note_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn mark_notification_read(
        &self,
        user: UserId,
        id: NotificationId,
        now: DateTime<Utc>,
    ) -> StoreResult<NotificationRow> {
        self.write(move |c| {
            c.execute(
                "UPDATE notifications SET read_ms = COALESCE(read_ms, ?3)
                 WHERE id = ?1 AND user_id = ?2",
                params![u(id), u(user), ms(now)],
            )?;
            let mut st = c.prepare_cached(&format!(
                "SELECT {NOTE_COLS} FROM notifications WHERE id = ?1 AND user_id = ?2"
            ))?;
            st.query_row(params![u(id), u(user)], note_row)
                .optional()?
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn start_timer(
        &self,
        user: &UserRow,
        id: EntryId,
        description: String,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<TimerStart> {
        let user = user.clone();
        self.write(move |c| {
            if let Some(existing) = get_entry(c, id)? {
                if existing.user_id != user.id {
                    return Err(StoreError::refused(
                        ErrorCode::Conflict,
                        "this entry id is already in use",
                    ));
                }
                // Idempotent retry of the same start.
                return Ok(TimerStart {
                    entry: existing,
                    stopped: None,
                    created: false,
                });
            }
            let ws = get_workspace(c, user.workspace_id)?.ok_or(StoreError::NotFound)?;
            if !user.role.is_admin() && is_locked(start, ws.lock_date) {
                return Err(StoreError::refused(
                    ErrorCode::EntryLocked,
                    "the start lies in a locked period; ask an admin",
                ));
            }
            let mut stopped = None;
            if let Some(mut running) = get_running(c, user.id)? {
                // R13: the previous entry stops at the new start.
                let end = stop_previous_on_start(running.times.start, start);
                set_entry_end(c, running.id, end)?;
                running.times.end = Some(end);
                stopped = Some(running);
            }
            let entry = EntryRow {
                id,
                workspace_id: user.workspace_id,
                user_id: user.id,
                description,
                times: EntryTimes::new(start, None),
                approved: false,
                created_at: now,
            };
            insert_entry(c, &entry)?;
            Ok(TimerStart {
                entry,
                stopped,
                created: true,
            })
        })
        .await
    }

    async fn stop_timer(
        &self,
        user: UserId,
        entry: Option<EntryId>,
        end: DateTime<Utc>,
    ) -> StoreResult<Option<EntryRow>> {
        self.write(move |c| {
            let target = match entry {
                Some(id) => Some(
                    get_entry(c, id)?
                        .filter(|e| e.user_id == user)
                        .ok_or(StoreError::NotFound)?,
                ),
                None => get_running(c, user)?,
            };
            let Some(mut target) = target else {
                return Ok(None);
            };
            if target.times.end.is_none() {
                let end = end.max(target.times.start);
                set_entry_end(c, target.id, end)?;
                target.times.end = Some(end);
            }
            Ok(Some(target))
        })
        .await
    }

    async fn running_entry(&self, user: UserId) -> StoreResult<Option<EntryRow>> {
        self.read(move |c| get_running(c, user)).await
    }

    async fn entry(&self, id: EntryId) -> StoreResult<Option<EntryRow>> {
        self.read(move |c| get_entry(c, id)).await
    }

    async fn entries(
        &self,
        workspace: WorkspaceId,
        user: Option<UserId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<EntryRow>> {
        self.read(move |c| {
            let rows = match user {
                Some(user) => {
                    let mut st = c.prepare_cached(&format!(
                        "SELECT {ENTRY_COLS} FROM entries
                         WHERE user_id = ?1 AND workspace_id = ?2 AND start_ms >= ?3 AND start_ms < ?4
                         ORDER BY start_ms"
                    ))?;
                    st.query_map(params![u(user), u(workspace), ms(from), ms(to)], entry_row)?
                        .collect::<Result<Vec<_>, _>>()?
                }
                None => {
                    let mut st = c.prepare_cached(&format!(
                        "SELECT {ENTRY_COLS} FROM entries
                         WHERE workspace_id = ?1 AND start_ms >= ?2 AND start_ms < ?3
                         ORDER BY start_ms LIMIT 10000"
                    ))?;
                    st.query_map(params![u(workspace), ms(from), ms(to)], entry_row)?
                        .collect::<Result<Vec<_>, _>>()?
                }
            };
            Ok(rows)
        })
        .await
    }

    async fn delete_entry(
        &self,
        actor: Actor,
        id: EntryId,
        _now: DateTime<Utc>,
    ) -> StoreResult<Removed> {
        self.write(move |c| {
            let entry = get_entry(c, id)?
                .filter(|e| can_view(&actor, &e.owner()))
                .ok_or(StoreError::NotFound)?;
            let ws = get_workspace(c, entry.workspace_id)?.ok_or(StoreError::NotFound)?;
            let status = EntryStatus {
                start: entry.times.start,
                approved: entry.approved,
            };
            may_edit(actor.role, &status, ws.lock_date)
                .map_err(|b| StoreError::refused(b.error_code(), b.to_string()))?;
            let mut removed = Removed::default();
            delete_entry_rows(c, &entry, &mut removed)?;
            Ok(removed)
        })
        .await
    }

    async fn set_approved(
        &self,
        actor: Actor,
        id: EntryId,
        approved: bool,
    ) -> StoreResult<EntryRow> {
        self.write(move |c| {
            let mut entry = get_entry(c, id)?
                .filter(|e| can_view(&actor, &e.owner()))
                .ok_or(StoreError::NotFound)?;
            c.execute(
                "UPDATE entries SET approved = ?2 WHERE id = ?1",
                params![u(id), approved],
            )?;
            entry.approved = approved;
            Ok(entry)
        })
        .await
    }

    async fn screenshot(&self, id: ScreenshotId) -> StoreResult<Option<ScreenshotRow>> {
        self.read(move |c| get_screenshot(c, id)).await
    }

    async fn insert_screenshot(&self, row: ScreenshotRow) -> StoreResult<InsertOutcome> {
        self.write(move |c| {
            if let Some(existing) = get_screenshot(c, row.id)? {
                return Ok(
                    if existing.sha256 == row.sha256 && existing.user_id == row.user_id {
                        InsertOutcome::AlreadyPresent
                    } else {
                        InsertOutcome::Conflict
                    },
                );
            }
            // The entry must still exist and be the uploader's (it may have been deleted since
            // the caller validated it).
            let owned: bool = c
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM entries WHERE id = ?1 AND user_id = ?2)",
                )?
                .query_row(params![u(row.entry_id), u(row.user_id)], |r| r.get(0))?;
            if !owned {
                return Err(StoreError::NotFound);
            }
            if insert_shot(c, &row)? == 1 {
                return Ok(InsertOutcome::Inserted);
            }
            let existing = get_screenshot(c, row.id)?.ok_or(StoreError::NotFound)?;
            if existing.sha256 == row.sha256 && existing.user_id == row.user_id {
                Ok(InsertOutcome::AlreadyPresent)
            } else {
                Ok(InsertOutcome::Conflict)
            }
        })
        .await
    }

    async fn screenshots_of_user(
        &self,
        user: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<ScreenshotView>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT s.id, s.workspace_id, s.user_id, s.entry_id, s.captured_ms, s.sha256,
                        s.size, s.width, s.height, s.blob_key, s.uploaded_ms, e.description
                 FROM screenshots s JOIN entries e ON e.id = s.entry_id
                 WHERE s.user_id = ?1 AND s.captured_ms >= ?2 AND s.captured_ms < ?3
                 ORDER BY s.captured_ms, s.id",
            )?;
            let rows = st.query_map(params![u(user), ms(from), ms(to)], |r| {
                Ok(ScreenshotView {
                    row: shot_row(r)?,
                    entry_description: r.get(11)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn screenshot_counts(
        &self,
        users: Vec<UserId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<(UserId, u64)>> {
        self.read(move |c| {
            let Some(first) = users.first() else {
                return Ok(Vec::new());
            };
            let workspace: Option<Uuid> = c
                .prepare_cached("SELECT workspace_id FROM users WHERE id = ?1")?
                .query_row([u(*first)], |r| r.get(0))
                .optional()?;
            let mut counts = std::collections::HashMap::<Uuid, u64>::new();
            if let Some(ws) = workspace {
                let (from, to) = (ms(from), ms(to));
                // Whole UTC hours from the hourly table; the partial hours at either end (time
                // zones off the hour, e.g. +05:30) counted row by row.
                let first_hour = -(-from).div_euclid(HOUR_MS);
                let end_hour = to.div_euclid(HOUR_MS);
                if first_hour < end_hour {
                    // Summed here rather than by GROUP BY: the rows come in (hour, user)
                    // order, and sorting them by user costs more than the sum.
                    add_counts(
                        c,
                        &mut counts,
                        "SELECT user_id, n FROM screenshot_hours
                         WHERE workspace_id = ?1 AND hour >= ?2 AND hour < ?3",
                        (ws, first_hour, end_hour),
                    )?;
                    for (a, b) in [(from, first_hour * HOUR_MS), (end_hour * HOUR_MS, to)] {
                        if a < b {
                            add_counts(c, &mut counts, COUNT_ROWS, (ws, a, b))?;
                        }
                    }
                } else {
                    add_counts(c, &mut counts, COUNT_ROWS, (ws, from, to))?;
                }
            }
            Ok(users
                .into_iter()
                .map(|user| (user, counts.get(&u(user)).copied().unwrap_or(0)))
                .collect())
        })
        .await
    }

    async fn delete_screenshot(
        &self,
        actor: Actor,
        id: ScreenshotId,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> StoreResult<ScreenshotDeletion> {
        self.write_with(dry_run, move |c| {
            // Visibility is part of the domain decision below; expired rows are already gone
            // as far as any caller can tell (R18).
            let shot = get_screenshot(c, id)?
                .filter(|s| !shotclock_domain::retention::is_expired(s.captured_at, now))
                .ok_or(StoreError::NotFound)?;
            let entry = get_entry(c, shot.entry_id)?.ok_or(StoreError::NotFound)?;
            let ws = get_workspace(c, shot.workspace_id)?.ok_or(StoreError::NotFound)?;
            let siblings: Vec<DateTime<Utc>> = entry_screenshots(c, entry.id)?
                .into_iter()
                .filter(|s| s.id != shot.id)
                .map(|s| s.captured_at)
                .collect();
            let request = DeleteRequest {
                actor,
                owner: shot.owner(),
                entry: &entry.times,
                locked: is_locked(entry.times.start, ws.lock_date),
                approved: entry.approved,
                captured_at: shot.captured_at,
                others: &siblings,
            };
            let decision = decide(&request);
            if let Some(code) = decision.error_code() {
                let message = match &decision {
                    DeleteDecision::Forbidden(reason) => reason.to_string(),
                    _ => "the entry is still running; stop the timer first".to_owned(),
                };
                return Err(if code == ErrorCode::NotFound {
                    StoreError::NotFound
                } else {
                    StoreError::refused(code, message)
                });
            }
            let mut deletion = ScreenshotDeletion {
                screenshot: shot.clone(),
                entry: entry.clone(),
                decision: String::new(),
                removed: TimeDelta::zero(),
                entry_deleted: false,
                blob_keys: Vec::new(),
                dry_run,
            };
            match decision.apply(&entry.times.removed) {
                None => {
                    // R21: the member's last screenshot of the entry takes the entry with it.
                    deletion.decision = "delete_entry".into();
                    deletion.removed = entry.times.duration(now);
                    deletion.entry_deleted = true;
                    let mut removed = Removed::default();
                    delete_entry_rows(c, &entry, &mut removed)?;
                    deletion.blob_keys = removed.blob_keys;
                }
                Some(after) => {
                    deletion.decision = "delete_screenshot".into();
                    if let DeleteDecision::DeleteScreenshot { removes } = &decision {
                        deletion.removed = removes.total();
                    }
                    c.prepare_cached("DELETE FROM screenshots WHERE id = ?1")?
                        .execute([u(shot.id)])?;
                    deletion.blob_keys.push(shot.blob_key.clone());
                    if after != entry.times.removed {
                        set_removed(c, entry.id, &after)?;
                    }
                }
            }
            Ok(deletion)
        })
        .await
    }

    async fn purge_expired(&self, cutoff: DateTime<Utc>, limit: u32) -> StoreResult<Vec<String>> {
        self.write(move |c| {
            let mut keys = Vec::new();
            let mut ids: Vec<Uuid> = Vec::new();
            {
                let mut st = c.prepare_cached(
                    "SELECT id, blob_key FROM screenshots WHERE captured_ms <= ?1
                     ORDER BY captured_ms LIMIT ?2",
                )?;
                let rows = st.query_map(params![ms(cutoff), limit], |r| {
                    Ok((r.get::<_, Uuid>(0)?, r.get::<_, String>(1)?))
                })?;
                for row in rows {
                    let (id, key) = row?;
                    ids.push(id);
                    keys.push(key);
                }
            }
            let mut del = c.prepare_cached("DELETE FROM screenshots WHERE id = ?1")?;
            for id in ids {
                del.execute([id])?;
            }
            Ok(keys)
        })
        .await
    }

    async fn referenced_blobs(&self, keys: Vec<String>) -> StoreResult<HashSet<String>> {
        self.read(move |c| {
            let mut st =
                c.prepare_cached("SELECT EXISTS(SELECT 1 FROM screenshots WHERE blob_key = ?1)")?;
            let mut out = HashSet::new();
            for key in keys {
                let exists: bool = st.query_row([&key], |r| r.get(0))?;
                if exists {
                    out.insert(key);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn scrub(&self) -> StoreResult<()> {
        let (tx, rx) = oneshot::channel::<StoreResult<()>>();
        let job = Job::Raw(Box::new(move |c| {
            let result = c
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    r.get::<_, i64>(0)
                })
                .map_err(StoreError::from)
                .and_then(|busy| {
                    if busy == 0 {
                        Ok(())
                    } else {
                        Err(StoreError::Commit(
                            "checkpoint was blocked by readers".into(),
                        ))
                    }
                });
            let _ = tx.send(result);
        }));
        self.writer.send(job).map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn bulk_insert_screenshots(&self, rows: Vec<ScreenshotRow>) -> StoreResult<()> {
        self.write(move |c| {
            for row in &rows {
                insert_shot(c, row)?;
            }
            Ok(())
        })
        .await
    }

    async fn bulk_insert_entries(&self, rows: Vec<EntryRow>) -> StoreResult<()> {
        self.write(move |c| {
            for row in &rows {
                insert_entry(c, row)?;
            }
            Ok(())
        })
        .await
    }
}
