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
    run(conn, MIGRATIONS, target)
}

/// [`migrate_to`] over any list of migrations (tests check the runner with lists of their
/// own).
fn run(conn: &mut Connection, migrations: &[&str], target: usize) -> Result<usize, StoreError> {
    let latest = migrations.len();
    if target > latest {
        return Err(StoreError::Invalid(format!(
            "no schema version {target}; latest is {latest}"
        )));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = user_version(&tx)?;
    let current = usize::try_from(found).map_err(|_| StoreError::Corrupt {
        column: "pragma.user_version",
        detail: format!("negative schema version {found}"),
    })?;
    if current > latest {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: latest,
        });
    }
    if current > target {
        return Err(StoreError::Invalid(format!(
            "cannot migrate down from version {current} to {target}"
        )));
    }
    let pending = migrations.get(current..target).unwrap_or_default();
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

/// Applies `migrations` (the product's are [`MIGRATIONS`]) to a fresh in-memory database with
/// foreign keys on, and checks the result: each migration runs, none leaves a foreign key
/// dangling (both checked by the runner), and `PRAGMA integrity_check` is clean — which
/// catches, for instance, a migration that edits the schema text (`writable_schema`) into a
/// constraint the existing rows break. The equivalent of `rusqlite_migration`'s
/// `Migrations::validate`, meant for a unit test: `validate(MIGRATIONS)`.
///
/// # Errors
/// The first problem found.
pub fn validate(migrations: &[&str]) -> Result<(), StoreError> {
    let mut conn = Connection::open_in_memory()?;
    conn.pragma_update(None, "foreign_keys", true)?;
    run(&mut conn, migrations, migrations.len())?;
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

#[cfg(test)]
mod tests {
    use super::*;

    const PARENT: &str = "CREATE TABLE parent (id INTEGER PRIMARY KEY) STRICT;
        CREATE TABLE child (id INTEGER PRIMARY KEY,
            parent INTEGER NOT NULL REFERENCES parent (id)) STRICT;";
    const PARENT_ROW: &str = "INSERT INTO parent (id) VALUES (1);";
    /// A child row pointing at no parent: a migration that breaks referential integrity.
    /// Foreign keys are deferred, as a table rebuild needs them, so only the runner's check
    /// can notice.
    const DANGLING_CHILD: &str =
        "PRAGMA defer_foreign_keys = ON; INSERT INTO child (id, parent) VALUES (1, 7);";
    /// A table rebuild gone wrong: the parents are lost, the children stay.
    const LOSES_PARENTS: &str = "PRAGMA defer_foreign_keys = ON; DELETE FROM parent;";
    const GOOD_CHILD: &str = "INSERT INTO child (id, parent) VALUES (1, 1);";
    /// Tightens a constraint by rewriting the schema text, so the row already there breaks it.
    const TIGHTENED_BY_HAND: &str = "PRAGMA writable_schema = ON;
        UPDATE sqlite_schema SET sql = 'CREATE TABLE parent (id INTEGER PRIMARY KEY CHECK (id > 5)) STRICT'
            WHERE name = 'parent';
        PRAGMA writable_schema = RESET;";

    fn fresh() -> Connection {
        Connection::open_in_memory().unwrap()
    }

    fn table_exists(conn: &Connection, name: &str) -> bool {
        conn.query_row(
            "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            [name],
            |row| row.get::<_, i64>(0),
        )
        .unwrap()
            == 1
    }

    #[test]
    fn the_products_migrations_are_valid() {
        validate(MIGRATIONS).unwrap();
    }

    #[test]
    fn validate_refuses_what_would_break_a_users_file() {
        validate(&[PARENT, PARENT_ROW, GOOD_CHILD]).unwrap();
        assert!(matches!(
            validate(&[PARENT, "CREATE TABLE parent (x)"]),
            Err(StoreError::Sqlite(_))
        ));
        assert!(matches!(
            validate(&[PARENT, DANGLING_CHILD]),
            Err(StoreError::MigrationForeignKeys {
                version: 2,
                violations: 1
            })
        ));
        match validate(&[PARENT, PARENT_ROW, TIGHTENED_BY_HAND]) {
            Err(StoreError::Corrupt { column, detail }) => {
                assert_eq!(column, "pragma.integrity_check");
                assert!(detail.contains("parent"), "{detail}");
            }
            other => panic!("expected an integrity failure, got {other:?}"),
        }
    }

    #[test]
    fn broken_foreign_keys_name_the_migration_and_commit_nothing() {
        let mut conn = fresh();
        let list = [PARENT, PARENT_ROW, GOOD_CHILD, LOSES_PARENTS, "SELECT 1;"];
        assert_eq!(run(&mut conn, &list, 1).unwrap(), 1);
        match run(&mut conn, &list, 5) {
            Err(StoreError::MigrationForeignKeys {
                version,
                violations,
            }) => {
                assert_eq!(version, 4, "the migration that deleted the parent");
                assert_eq!(violations, 1);
            }
            other => panic!("expected MigrationForeignKeys, got {other:?}"),
        }
        assert_eq!(user_version(&conn).unwrap(), 1);
        let parents: i64 = conn
            .query_row("SELECT COUNT(*) FROM parent", [], |row| row.get(0))
            .unwrap();
        assert_eq!(parents, 0, "migration 2 rolled back with the rest");

        // Two dangling rows are two violations.
        let list = [
            PARENT,
            "PRAGMA defer_foreign_keys = ON;
             INSERT INTO child (id, parent) VALUES (1, 7), (2, 8);",
        ];
        assert!(matches!(
            run(&mut fresh(), &list, 2),
            Err(StoreError::MigrationForeignKeys {
                version: 2,
                violations: 2
            })
        ));
    }

    #[test]
    fn steps_run_once_in_order_and_only_up() {
        let list = [PARENT, PARENT_ROW, GOOD_CHILD];
        let mut conn = fresh();
        assert_eq!(run(&mut conn, &list, 0).unwrap(), 0);
        assert_eq!(user_version(&conn).unwrap(), 0);
        assert!(!table_exists(&conn, "parent"));
        assert_eq!(run(&mut conn, &list, 1).unwrap(), 1);
        assert_eq!(user_version(&conn).unwrap(), 1);
        assert!(table_exists(&conn, "parent"));
        assert_eq!(run(&mut conn, &list, 3).unwrap(), 2);
        assert_eq!(user_version(&conn).unwrap(), 3);
        assert_eq!(run(&mut conn, &list, 3).unwrap(), 0);

        // Down, or past the end: refused, nothing changes.
        assert!(matches!(
            run(&mut conn, &list, 2),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            run(&mut conn, &list, 4),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            run(&mut conn, &list[..2], 2),
            Err(StoreError::SchemaTooNew {
                found: 3,
                supported: 2
            })
        ));
        assert_eq!(user_version(&conn).unwrap(), 3);
    }
}
