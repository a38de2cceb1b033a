//! The embedded SQLite backend: plain storage behind [`Backend`], no product rules.
//!
//! * **One writer connection on a dedicated thread** ([`writer`]): group commit, each job in its
//!   own savepoint, answers released only after the commit, nothing run outside a transaction.
//! * **A few reader connections** (`query_only`) used from `spawn_blocking`; WAL mode lets them
//!   read while the writer writes.
//! * `secure_delete = ON` and `synchronous = FULL`; [`Backend::scrub`] is a
//!   `wal_checkpoint(TRUNCATE)`, so deleted bytes survive neither in the main file nor in the
//!   WAL (R24).
//! * Migrations are the plain SQL files in `migrations/`, applied in order at open, tracked by
//!   `PRAGMA user_version` (the shared runner, `shotclock-migrate`).
//! * [`rows`] maps columns to row types; [`queries`] implements [`crate::store::Rows`] and
//!   [`crate::store::TxRows`].

mod queries;
mod rows;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use self::queries::Sql;
use self::writer::Job;
use super::{Backend, ReadJob, StoreError, StoreResult, WriteJob, WriterLoad, WriterReport};

/// The schema, in order. Append only; never edit a shipped migration.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/0001_init.sql"),
    include_str!("../../../migrations/0002_screenshot_hours.sql"),
    include_str!("../../../migrations/0003_tombstones_and_gates.sql"),
    include_str!("../../../migrations/0004_manual_entries.sql"),
    include_str!("../../../migrations/0005_invitations.sql"),
    include_str!("../../../migrations/0006_blocklist_and_access_log.sql"),
    include_str!("../../../migrations/0007_app_presence.sql"),
    include_str!("../../../migrations/0008_sso.sql"),
];

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
    /// How long a connection waits for a lock held by another process before failing.
    pub busy_timeout: Duration,
}

impl SqliteOptions {
    /// Defaults for a database file at `path`.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            readers: 4,
            secure_delete: true,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

struct Readers {
    conns: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl Readers {
    fn get(&self) -> Option<MutexGuard<'_, Connection>> {
        let n = self.conns.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            if let Some(m) = self.conns.get((start + i) % n)
                && let Ok(guard) = m.try_lock()
            {
                return Some(guard);
            }
        }
        // All busy: wait for "ours".
        self.conns
            .get(start % n.max(1))
            .map(|m| m.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// SQLite-backed [`Backend`]. Cheap to clone (a handle).
#[derive(Clone)]
pub struct SqliteStore {
    writer: mpsc::Sender<Job>,
    load: Arc<WriterLoad>,
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

fn configure_writer(conn: &Connection, options: &SqliteOptions) -> StoreResult<()> {
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(open_err(format!("could not enable WAL (got {mode})")));
    }
    conn.execute_batch(&format!(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA secure_delete = {};",
        if options.secure_delete { "ON" } else { "OFF" }
    ))?;
    conn.busy_timeout(options.busy_timeout)?;
    Ok(())
}

/// The schema through the shared `user_version` runner: every pending migration in one
/// transaction; a file from a newer service is refused.
fn migrate(conn: &mut Connection) -> StoreResult<()> {
    shotclock_migrate::migrate(conn, MIGRATIONS).map_err(open_err)?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database and starts the writer thread.
    pub fn open(options: &SqliteOptions) -> StoreResult<Self> {
        if let Some(dir) = options.path.parent() {
            shotclock_privatefs::create_dir_all(dir).map_err(open_err)?;
        }
        shotclock_privatefs::create_if_missing(&options.path).map_err(open_err)?;
        let mut writer = Connection::open(&options.path)?;
        configure_writer(&writer, options)?;
        migrate(&mut writer)?;

        let mut conns = Vec::new();
        for _ in 0..options.readers.max(1) {
            let conn = Connection::open_with_flags(
                &options.path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.execute_batch("PRAGMA query_only = ON;")?;
            conn.busy_timeout(options.busy_timeout)?;
            conns.push(Mutex::new(conn));
        }

        let (tx, rx) = mpsc::channel::<Job>();
        let load = Arc::new(WriterLoad::default());
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn({
                let load = Arc::clone(&load);
                move || writer::run(&writer, &rx, &load)
            })
            .map_err(open_err)?;
        Ok(Self {
            writer: tx,
            load,
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
}

#[async_trait::async_trait]
impl Backend for SqliteStore {
    async fn read(&self, job: ReadJob) -> StoreResult<()> {
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || {
            let conn = readers.get().ok_or(StoreError::Closed)?;
            job(&mut Sql::new(&conn));
            Ok(())
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }

    fn write(&self, job: WriteJob) -> StoreResult<()> {
        self.writer
            .send(Job::Tx(job))
            .map_err(|_| StoreError::Closed)
    }

    fn writer_load(&self) -> WriterReport {
        self.load.report()
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
}
