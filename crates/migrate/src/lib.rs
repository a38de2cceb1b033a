//! The one `user_version` migration runner, shared by the app's local buffer
//! (`shotclock-store`) and the service's SQLite backend (`shotclock-server`): each owns its
//! migrations (plain SQL, **append-only**) and hands them to [`migrate`] on open.
//!
//! The schema version is SQLite's `PRAGMA user_version`: version *n* means the first *n*
//! migrations have run. Every pending migration runs in one `IMMEDIATE` transaction together
//! with the version bump, so a crash mid-way leaves the file at its old version; after each
//! migration `PRAGMA foreign_key_check` must come back empty, else nothing is committed. A file
//! newer than the list is refused (its data belongs to a newer build).
//!
//! This is the model of the `rusqlite_migration` crate (same `user_version` convention, so it
//! could replace this runner without touching existing files). It is written here only because
//! the newest `rusqlite_migration` needs an older rusqlite than the workspace's, and a Cargo
//! graph can link only one `libsqlite3-sys`.
//!
//! Writing a migration: a column added to an existing table needs a default; a table rebuild
//! (the "12-step" procedure) must use `PRAGMA defer_foreign_keys = ON`, because `foreign_keys`
//! cannot be toggled inside the migration transaction.

use rusqlite::{Connection, TransactionBehavior};

/// Why a migration did not happen. Nothing was committed in any case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// The file is at a version beyond the list: a newer build wrote it.
    #[error("database schema version {found} is newer than this build supports ({supported})")]
    TooNew {
        /// `PRAGMA user_version` of the file.
        found: i64,
        /// The latest version the list knows.
        supported: usize,
    },
    /// The file's version is negative: not a file these migrations wrote.
    #[error("negative schema version {0}")]
    Negative(i64),
    /// The target is past the end of the list.
    #[error("no schema version {target}; latest is {latest}")]
    UnknownTarget {
        /// The version asked for.
        target: usize,
        /// The latest version the list knows.
        latest: usize,
    },
    /// The target is below the file's version: migrations only go up.
    #[error("cannot migrate down from version {current} to {target}")]
    Down {
        /// The file's version.
        current: usize,
        /// The version asked for.
        target: usize,
    },
    /// A migration left rows violating a foreign key (`PRAGMA foreign_key_check`).
    #[error("migration to version {version} left {violations} foreign key violation(s)")]
    ForeignKeys {
        /// The version of the migration that broke integrity.
        version: usize,
        /// How many rows violate a foreign key.
        violations: usize,
    },
    /// `PRAGMA integrity_check` was not `ok` after [`validate`] ran the list.
    #[error("integrity check after the migrations: {0}")]
    Integrity(String),
    /// SQLite failed (a migration's SQL included).
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// The file's schema version (`PRAGMA user_version`).
///
/// # Errors
/// SQLite failure.
pub fn user_version(conn: &Connection) -> Result<i64, rusqlite::Error> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Migrates to the end of `migrations`. Returns how many ran; 0 if the file is up to date.
///
/// # Errors
/// See [`migrate_to`].
pub fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<usize, MigrateError> {
    migrate_to(conn, migrations, migrations.len())
}

/// Migrates up to version `target` of `migrations` (tests build files at an older version with
/// it). Returns how many ran; 0 if the file is already at `target`.
///
/// # Errors
/// [`MigrateError::TooNew`] for a file beyond the list, [`MigrateError::UnknownTarget`] or
/// [`MigrateError::Down`] for a target past the end or below the file's version,
/// [`MigrateError::ForeignKeys`] if a migration broke referential integrity, or an SQLite
/// error. Nothing is committed in any of these cases.
pub fn migrate_to(
    conn: &mut Connection,
    migrations: &[&str],
    target: usize,
) -> Result<usize, MigrateError> {
    let latest = migrations.len();
    if target > latest {
        return Err(MigrateError::UnknownTarget { target, latest });
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = user_version(&tx)?;
    let current = usize::try_from(found).map_err(|_| MigrateError::Negative(found))?;
    if current > latest {
        return Err(MigrateError::TooNew {
            found,
            supported: latest,
        });
    }
    if current > target {
        return Err(MigrateError::Down { current, target });
    }
    let pending = migrations.get(current..target).unwrap_or_default();
    for (offset, sql) in pending.iter().enumerate() {
        let version = current + offset + 1;
        tx.execute_batch(sql)?;
        let violations = foreign_key_violations(&tx)?;
        if violations > 0 {
            return Err(MigrateError::ForeignKeys {
                version,
                violations,
            });
        }
    }
    if !pending.is_empty() {
        // `target` ≤ `migrations.len()`, which a slice bounds far below `i64::MAX`.
        let version = i64::try_from(target).unwrap_or(i64::MAX);
        tx.pragma_update(None, "user_version", version)?;
    }
    tx.commit()?;
    Ok(pending.len())
}

/// Applies `migrations` to a fresh in-memory database with foreign keys on, and checks the
/// result: each migration runs, none leaves a foreign key dangling (both checked by the
/// runner), and `PRAGMA integrity_check` is clean — which catches, for instance, a migration
/// that edits the schema text (`writable_schema`) into a constraint the existing rows break.
/// Meant for each owner's unit test: `validate(MIGRATIONS)`.
///
/// # Errors
/// The first problem found.
pub fn validate(migrations: &[&str]) -> Result<(), MigrateError> {
    let mut conn = Connection::open_in_memory()?;
    conn.pragma_update(None, "foreign_keys", true)?;
    migrate(&mut conn, migrations)?;
    let integrity: String = conn.pragma_query_value(None, "integrity_check", |row| row.get(0))?;
    if integrity != "ok" {
        return Err(MigrateError::Integrity(integrity));
    }
    Ok(())
}

fn foreign_key_violations(conn: &Connection) -> Result<usize, rusqlite::Error> {
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
    fn validate_refuses_what_would_break_a_users_file() {
        validate(&[PARENT, PARENT_ROW, GOOD_CHILD]).unwrap();
        assert!(matches!(
            validate(&[PARENT, "CREATE TABLE parent (x)"]),
            Err(MigrateError::Sqlite(_))
        ));
        assert!(matches!(
            validate(&[PARENT, DANGLING_CHILD]),
            Err(MigrateError::ForeignKeys {
                version: 2,
                violations: 1
            })
        ));
        match validate(&[PARENT, PARENT_ROW, TIGHTENED_BY_HAND]) {
            Err(MigrateError::Integrity(detail)) => {
                assert!(detail.contains("parent"), "{detail}");
            }
            other => panic!("expected an integrity failure, got {other:?}"),
        }
    }

    #[test]
    fn broken_foreign_keys_name_the_migration_and_commit_nothing() {
        let mut conn = fresh();
        let list = [PARENT, PARENT_ROW, GOOD_CHILD, LOSES_PARENTS, "SELECT 1;"];
        assert_eq!(migrate_to(&mut conn, &list, 1).unwrap(), 1);
        match migrate(&mut conn, &list) {
            Err(MigrateError::ForeignKeys {
                version,
                violations,
            }) => {
                assert_eq!(version, 4, "the migration that deleted the parent");
                assert_eq!(violations, 1);
            }
            other => panic!("expected ForeignKeys, got {other:?}"),
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
            migrate(&mut fresh(), &list),
            Err(MigrateError::ForeignKeys {
                version: 2,
                violations: 2
            })
        ));
    }

    #[test]
    fn a_failing_migration_commits_none_of_the_earlier_ones() {
        let mut conn = fresh();
        let list = [PARENT, "INSERT INTO nowhere VALUES (1);"];
        assert!(matches!(
            migrate(&mut conn, &list),
            Err(MigrateError::Sqlite(_))
        ));
        assert_eq!(user_version(&conn).unwrap(), 0);
        assert!(!table_exists(&conn, "parent"));
    }

    #[test]
    fn steps_run_once_in_order_and_only_up() {
        let list = [PARENT, PARENT_ROW, GOOD_CHILD];
        let mut conn = fresh();
        assert_eq!(migrate_to(&mut conn, &list, 0).unwrap(), 0);
        assert_eq!(user_version(&conn).unwrap(), 0);
        assert!(!table_exists(&conn, "parent"));
        assert_eq!(migrate_to(&mut conn, &list, 1).unwrap(), 1);
        assert_eq!(user_version(&conn).unwrap(), 1);
        assert!(table_exists(&conn, "parent"));
        assert_eq!(migrate(&mut conn, &list).unwrap(), 2);
        assert_eq!(user_version(&conn).unwrap(), 3);
        assert_eq!(migrate(&mut conn, &list).unwrap(), 0);

        // Down, or past the end: refused, nothing changes.
        assert!(matches!(
            migrate_to(&mut conn, &list, 2),
            Err(MigrateError::Down {
                current: 3,
                target: 2
            })
        ));
        assert!(matches!(
            migrate_to(&mut conn, &list, 4),
            Err(MigrateError::UnknownTarget {
                target: 4,
                latest: 3
            })
        ));
        assert!(matches!(
            migrate(&mut conn, &list[..2]),
            Err(MigrateError::TooNew {
                found: 3,
                supported: 2
            })
        ));
        assert_eq!(user_version(&conn).unwrap(), 3);
    }

    #[test]
    fn a_negative_version_is_not_a_file_of_these_migrations() {
        let mut conn = fresh();
        conn.pragma_update(None, "user_version", -1).unwrap();
        assert!(matches!(
            migrate(&mut conn, &[PARENT]),
            Err(MigrateError::Negative(-1))
        ));
        assert!(!table_exists(&conn, "parent"));
    }
}
