//! The buffer's schema and its migrations.
//!
//! The crate that owns a schema owns its migrations: plain SQL, **append-only** (never edit or
//! reorder a shipped entry of [`MIGRATIONS`]; add a new one), applied on open. The schema
//! version is SQLite's `PRAGMA user_version`: version *n* means the first *n* migrations have
//! run. All pending migrations run in one `IMMEDIATE` transaction together with the version
//! bump, so a crash mid-migration leaves the file at its old version, and
//! `PRAGMA foreign_key_check` must come back empty before the transaction commits.
//!
//! This is the model of the `rusqlite_migration` crate (same `user_version` convention, so it
//! can replace this runner without touching existing files). It is hand-rolled only because the
//! newest `rusqlite_migration` (2.6) needs rusqlite 0.40, while the workspace uses rusqlite
//! 0.43, and a Cargo graph can link only one `libsqlite3-sys`.
//!
//! Writing a future migration: tables are `STRICT`; a column added to an existing table needs a
//! default; a table rebuild (the "12-step" procedure) must use `PRAGMA defer_foreign_keys = ON`
//! because `foreign_keys` cannot be toggled inside the migration transaction.
//!
//! # Schema (latest)
//!
//! | table | holds |
//! | --- | --- |
//! | `account` | the signed-in account (one row; never the token, R3) |
//! | `workspace_settings` | cached workspace settings (one row) |
//! | `time_entries` | entries known to this device, `synced` once the service has them |
//! | `screenshots` | thumbnails (WebP bytes) with size, SHA-256 and upload state |
//! | `capture_attempts` | every capture attempt with its health code (R12) |
//! | `outbox` | changes to send, in `seq` order, with retry and rejection bookkeeping |

use rusqlite::{Connection, TransactionBehavior};

use crate::StoreError;

/// Version 1: the core tables.
const M1: &str = r"
CREATE TABLE account (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    server_url   TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    role         TEXT NOT NULL,
    email        TEXT NOT NULL
) STRICT;

CREATE TABLE workspace_settings (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    screenshots_enabled INTEGER NOT NULL CHECK (screenshots_enabled IN (0, 1)),
    blur                INTEGER NOT NULL CHECK (blur IN (0, 1)),
    plan                TEXT NOT NULL,
    trial_started_at    INTEGER,
    capture_window_secs INTEGER NOT NULL CHECK (capture_window_secs > 0),
    lock_date           INTEGER
) STRICT;

CREATE TABLE time_entries (
    id          TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    start_at    INTEGER NOT NULL,
    end_at      INTEGER CHECK (end_at IS NULL OR end_at >= start_at),
    synced      INTEGER NOT NULL DEFAULT 0 CHECK (synced IN (0, 1))
) STRICT;
CREATE INDEX time_entries_start ON time_entries (start_at);

CREATE TABLE screenshots (
    id          TEXT PRIMARY KEY,
    entry_id    TEXT NOT NULL REFERENCES time_entries (id) ON DELETE CASCADE,
    captured_at INTEGER NOT NULL,
    thumbnail   BLOB NOT NULL,
    width       INTEGER NOT NULL CHECK (width > 0),
    height      INTEGER NOT NULL CHECK (height > 0),
    sha256      TEXT NOT NULL CHECK (length(sha256) = 64),
    state       TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'uploaded', 'rejected'))
) STRICT;
CREATE INDEX screenshots_entry ON screenshots (entry_id);

CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    entry_id        TEXT,
    payload         TEXT NOT NULL CHECK (json_valid(payload)),
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'rejected')),
    rejected_reason TEXT,
    CHECK ((state = 'rejected') = (rejected_reason IS NOT NULL))
) STRICT;
CREATE INDEX outbox_pending ON outbox (state, next_attempt_at);
CREATE INDEX outbox_item ON outbox (item_id);
CREATE INDEX outbox_entry ON outbox (entry_id, seq);
";

/// Version 2: capture attempts (R12), deducted time on entries (R13, R28), an index for
/// retention's range delete (R18).
const M2: &str = r"
CREATE TABLE capture_attempts (
    id            TEXT PRIMARY KEY,
    entry_id      TEXT NOT NULL,
    window_index  INTEGER NOT NULL CHECK (window_index >= 0),
    at            INTEGER NOT NULL,
    health        TEXT NOT NULL,
    detail        TEXT NOT NULL,
    screenshot_id TEXT REFERENCES screenshots (id) ON DELETE SET NULL
) STRICT;
CREATE INDEX capture_attempts_at ON capture_attempts (at);
CREATE INDEX capture_attempts_entry ON capture_attempts (entry_id);
CREATE INDEX screenshots_captured_at ON screenshots (captured_at);
ALTER TABLE time_entries ADD COLUMN deducted_ms INTEGER NOT NULL DEFAULT 0
    CHECK (deducted_ms >= 0);
";

/// Every migration, in order. Append only.
pub const MIGRATIONS: &[&str] = &[M1, M2];

/// The schema version this build migrates to.
#[must_use]
pub const fn latest_version() -> usize {
    MIGRATIONS.len()
}

/// The file's schema version (`PRAGMA user_version`).
///
/// # Errors
/// SQLite failure.
pub fn user_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

/// Migrates to [`latest_version`]. Returns how many migrations ran.
///
/// # Errors
/// See [`migrate_to`].
pub fn migrate(conn: &mut Connection) -> Result<usize, StoreError> {
    migrate_to(conn, latest_version())
}

/// Migrates up to `target` (tests use this to build a file at an older version). Returns how
/// many migrations ran; 0 if the file is already at `target`.
///
/// # Errors
/// [`StoreError::SchemaTooNew`] if the file is beyond what this build knows,
/// [`StoreError::Invalid`] for a `target` that is unknown or below the file's version,
/// [`StoreError::MigrationForeignKeys`] if a migration broke referential integrity (nothing is
/// committed then), or an SQLite error.
pub fn migrate_to(conn: &mut Connection, target: usize) -> Result<usize, StoreError> {
    if target > latest_version() {
        return Err(StoreError::Invalid(format!(
            "no schema version {target}; latest is {}",
            latest_version()
        )));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = user_version(&tx)?;
    let current = usize::try_from(found).map_err(|_| StoreError::Corrupt {
        column: "pragma.user_version",
        detail: format!("negative schema version {found}"),
    })?;
    if current > latest_version() {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: latest_version(),
        });
    }
    if current > target {
        return Err(StoreError::Invalid(format!(
            "cannot migrate down from version {current} to {target}"
        )));
    }
    let pending = MIGRATIONS.get(current..target).unwrap_or_default();
    for (offset, sql) in pending.iter().enumerate() {
        let version = current + offset + 1;
        tx.execute_batch(sql)?;
        let violations = foreign_key_violations(&tx)?;
        if violations > 0 {
            return Err(StoreError::MigrationForeignKeys {
                version,
                violations,
            });
        }
    }
    if !pending.is_empty() {
        let version = i64::try_from(target).map_err(|_| StoreError::Invalid(target.to_string()))?;
        tx.pragma_update(None, "user_version", version)?;
    }
    tx.commit()?;
    Ok(pending.len())
}

/// Applies every migration to a fresh in-memory database and checks the result: each one runs,
/// the version ends at [`latest_version`], foreign keys and `integrity_check` are clean. The
/// equivalent of `rusqlite_migration`'s `Migrations::validate`, meant for a unit test.
///
/// # Errors
/// The first problem found.
pub fn validate() -> Result<(), StoreError> {
    let mut conn = Connection::open_in_memory()?;
    conn.pragma_update(None, "foreign_keys", true)?;
    let ran = migrate(&mut conn)?;
    if ran != latest_version() || user_version(&conn)? != i64::try_from(ran).unwrap_or(-1) {
        return Err(StoreError::Invalid(format!(
            "ran {ran} of {} migrations",
            latest_version()
        )));
    }
    let integrity: String = conn.pragma_query_value(None, "integrity_check", |row| row.get(0))?;
    if integrity != "ok" {
        return Err(StoreError::Corrupt {
            column: "pragma.integrity_check",
            detail: integrity,
        });
    }
    Ok(())
}

fn foreign_key_violations(conn: &Connection) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
    let mut rows = stmt.query([])?;
    let mut n = 0;
    while rows.next()?.is_some() {
        n += 1;
    }
    Ok(n)
}
