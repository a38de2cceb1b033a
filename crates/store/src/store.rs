//! Opening the buffer: private files, connection pragmas, migrations; and the whole-file
//! operations (checkpoint, integrity check).
//!
//! Pragmas, each checked after it is set:
//! * `journal_mode=WAL` — readers never block the writer; a commit is one append.
//! * `synchronous=FULL` — every commit is fsynced before it returns, so "written" means
//!   "survives power loss or `kill -9`" (R26). The store writes a few rows a minute, so the
//!   cost is irrelevant.
//! * `foreign_keys=ON` — a screenshot cannot outlive its entry (R15).
//! * `secure_delete=ON` — deleted content is overwritten with zeros (R24).
//! * `busy_timeout=5s` — only matters if another process (a debugging `sqlite3` shell) holds the
//!   file; the app itself uses one connection.
//!
//! Every transaction begins `IMMEDIATE` (it takes the write lock at `BEGIN`). SQLite waits for
//! the busy timeout only for a connection that holds no lock yet; a deferred transaction that has
//! read and then writes while another connection holds the write lock fails at once with
//! "database is locked" (`tests/second_connection.rs`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::{StoreError, fsperm, schema};

/// Name of the database file inside the data directory.
pub const DB_FILE_NAME: &str = "shotclock.db";

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Knobs for [`Store::open_with`]. Only tests change them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpenOptions {
    /// `PRAGMA secure_delete`. Always on in the product; the forensic tests turn it off to prove
    /// that their scan can find a deleted marker at all.
    pub(crate) secure_delete: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            secure_delete: true,
        }
    }
}

/// The local buffer: one SQLite connection on `<data_dir>/shotclock.db`.
///
/// Synchronous: call it from a blocking thread, or through [`crate::StoreHandle`]. Methods that
/// write take `&mut self`; each is one transaction and returns only after it committed.
pub struct Store {
    pub(crate) conn: Connection,
    db_path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("db_path", &self.db_path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the buffer in `data_dir`.
    ///
    /// Creates `data_dir` with mode `0700` and the database file `0600` (repairing looser
    /// modes, also on the `-wal`/`-shm` files), sets the pragmas, and applies pending
    /// migrations.
    ///
    /// # Errors
    /// [`StoreError::Io`] for the directory or files, [`StoreError::SchemaTooNew`] for a file
    /// written by a newer app, [`StoreError::Pragma`] if WAL mode or another pragma does not
    /// take, or an SQLite error.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(data_dir, OpenOptions::default())
    }

    pub(crate) fn open_with(data_dir: &Path, options: OpenOptions) -> Result<Self, StoreError> {
        fsperm::ensure_private_dir(data_dir)?;
        let db_path = data_dir.join(DB_FILE_NAME);
        fsperm::ensure_private_file(&db_path)?;
        repair_companions(&db_path)?;

        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(&db_path, flags)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        configure(&conn, options)?;
        schema::migrate(&mut conn)?;
        // SQLite created -wal and -shm now; they take the database file's mode, but check.
        repair_companions(&db_path)?;
        Ok(Self { conn, db_path })
    }

    /// The database file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.db_path
    }

    /// The file's schema version (equals [`schema::latest_version`] once open).
    ///
    /// # Errors
    /// SQLite failure.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        schema::user_version(&self.conn)
    }

    /// `PRAGMA integrity_check`: `true` if SQLite reports `ok`.
    ///
    /// # Errors
    /// SQLite failure (a file too damaged to even run the check).
    pub fn integrity_check(&self) -> Result<bool, StoreError> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let lines = stmt
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(lines.len() == 1 && lines.first().is_some_and(|l| l == "ok"))
    }

    /// Copies the WAL back into the database file and truncates the WAL to zero bytes
    /// (`PRAGMA wal_checkpoint(TRUNCATE)`), so that nothing deleted survives in it. Every
    /// delete calls this; it is public so a caller can retry after
    /// [`StoreError::CheckpointIncomplete`].
    ///
    /// # Errors
    /// [`StoreError::CheckpointIncomplete`] if another connection (not the app's) blocked it.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let (busy, log, done): (i64, i64, i64) =
            self.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })?;
        if busy != 0 {
            return Err(StoreError::CheckpointIncomplete {
                frames_left: (log - done).max(0),
            });
        }
        Ok(())
    }
}

fn companion(db_path: &Path, suffix: &str) -> PathBuf {
    let mut name = db_path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

fn repair_companions(db_path: &Path) -> Result<(), StoreError> {
    for suffix in fsperm::COMPANIONS {
        fsperm::repair_if_exists(&companion(db_path, suffix))?;
    }
    Ok(())
}

fn configure(conn: &Connection, options: OpenOptions) -> Result<(), StoreError> {
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    expect_pragma("journal_mode", "wal", &mode.to_ascii_lowercase())?;

    conn.pragma_update(None, "synchronous", "FULL")?;
    let sync: i64 = conn.pragma_query_value(None, "synchronous", |r| r.get(0))?;
    expect_pragma("synchronous", "2", &sync.to_string())?;

    conn.pragma_update(None, "foreign_keys", true)?;
    let fk: i64 = conn.pragma_query_value(None, "foreign_keys", |r| r.get(0))?;
    expect_pragma("foreign_keys", "1", &fk.to_string())?;

    let wanted = i64::from(options.secure_delete);
    let secure: i64 = conn.pragma_update_and_check(None, "secure_delete", wanted, |r| r.get(0))?;
    expect_pragma("secure_delete", &wanted.to_string(), &secure.to_string())?;
    Ok(())
}

fn expect_pragma(pragma: &'static str, expected: &str, actual: &str) -> Result<(), StoreError> {
    if expected == actual {
        Ok(())
    } else {
        Err(StoreError::Pragma {
            pragma,
            expected: expected.to_owned(),
            actual: actual.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_store_shows_in_logs_as_its_path_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let path = dir.path().join(DB_FILE_NAME);
        assert_eq!(
            format!("{store:?}"),
            format!("Store {{ db_path: {path:?}, .. }}")
        );
        let handle = crate::StoreHandle::new(store);
        assert_eq!(format!("{handle:?}"), "StoreHandle { .. }");
    }

    #[test]
    fn a_pragma_that_did_not_take_is_an_error_naming_it() {
        assert!(expect_pragma("synchronous", "2", "2").is_ok());
        let err = expect_pragma("journal_mode", "wal", "memory").unwrap_err();
        assert!(
            matches!(
                &err,
                StoreError::Pragma { pragma: "journal_mode", expected, actual }
                    if expected == "wal" && actual == "memory"
            ),
            "{err:?}"
        );
    }
}
