//! The buffer's schema and its migrations.
//!
//! The crate that owns a schema owns its migrations: plain SQL, **append-only** (never edit or
//! reorder a shipped entry of [`MIGRATIONS`]; add a new one), applied on open by the shared
//! `user_version` runner (`shotclock-migrate`, whose docs state the rules: one `IMMEDIATE`
//! transaction with the version bump, `PRAGMA foreign_key_check` empty before it commits).
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
//! | `own_block_rules` | the member's own blocked-window rules (local only, never sent) |
//! | `workspace_block_rules` | the workspace's rules as the service last sent them |
//! | `outbox` | changes to send, in `seq` order, with retry and rejection bookkeeping |

use rusqlite::Connection;
use shotclock_migrate::MigrateError;

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

/// Version 3: the member's own blocked-window rules. Local only: never in the outbox, never
/// sent (the service never learns them).
const M3: &str = r"
CREATE TABLE own_block_rules (
    position INTEGER PRIMARY KEY CHECK (position >= 0),
    field    TEXT NOT NULL CHECK (field IN ('class', 'title')),
    pattern  TEXT NOT NULL CHECK (length(trim(pattern)) > 0)
) STRICT;
";

/// Version 4: the workspace's blocked-window rules as the service last sent them (R34), so a
/// capture while offline still blanks them.
const M4: &str = r"
CREATE TABLE workspace_block_rules (
    position INTEGER PRIMARY KEY CHECK (position >= 0),
    field    TEXT NOT NULL CHECK (field IN ('class', 'title')),
    pattern  TEXT NOT NULL CHECK (length(trim(pattern)) > 0)
) STRICT;
";

/// Version 5: whether an entry was added here by hand (R39), kept after its creation was sent,
/// so the entry is still marked manual while the service cannot be asked.
const M5: &str = r"
ALTER TABLE time_entries ADD COLUMN manual INTEGER NOT NULL DEFAULT 0 CHECK (manual IN (0, 1));
";

/// Every migration, in order. Append only.
pub const MIGRATIONS: &[&str] = &[M1, M2, M3, M4, M5];

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
    Ok(shotclock_migrate::user_version(conn)?)
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
    Ok(shotclock_migrate::migrate_to(conn, MIGRATIONS, target)?)
}

/// Applies `migrations` (the product's are [`MIGRATIONS`]) to a fresh in-memory database and
/// checks the result (see `shotclock_migrate::validate`): meant for a unit test,
/// `validate(MIGRATIONS)`.
///
/// # Errors
/// The first problem found.
pub fn validate(migrations: &[&str]) -> Result<(), StoreError> {
    Ok(shotclock_migrate::validate(migrations)?)
}

impl From<MigrateError> for StoreError {
    fn from(err: MigrateError) -> Self {
        match err {
            MigrateError::TooNew { found, supported } => {
                StoreError::SchemaTooNew { found, supported }
            }
            MigrateError::ForeignKeys {
                version,
                violations,
            } => StoreError::MigrationForeignKeys {
                version,
                violations,
            },
            MigrateError::Negative(found) => StoreError::Corrupt {
                column: "pragma.user_version",
                detail: format!("negative schema version {found}"),
            },
            MigrateError::Integrity(detail) => StoreError::Corrupt {
                column: "pragma.integrity_check",
                detail,
            },
            MigrateError::Sqlite(e) => StoreError::Sqlite(e),
            other => StoreError::Invalid(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_products_migrations_are_valid() {
        validate(MIGRATIONS).unwrap();
    }

    #[test]
    fn the_runners_refusals_keep_the_stores_error_names() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        assert!(matches!(
            migrate_to(&mut conn, 1),
            Err(StoreError::Invalid(_))
        ));
        conn.pragma_update(None, "user_version", 99).unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(StoreError::SchemaTooNew {
                found: 99,
                supported
            }) if supported == latest_version()
        ));
        conn.pragma_update(None, "user_version", -3).unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(StoreError::Corrupt {
                column: "pragma.user_version",
                ..
            })
        ));
        let dangling = "CREATE TABLE p (id INTEGER PRIMARY KEY) STRICT;
            CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER NOT NULL REFERENCES p (id)) STRICT;
            PRAGMA defer_foreign_keys = ON; INSERT INTO c (id, p) VALUES (1, 7);";
        assert!(matches!(
            validate(&[dangling]),
            Err(StoreError::MigrationForeignKeys {
                version: 1,
                violations: 1
            })
        ));
    }
}
