//! The store's one error type. Callers (the engine) map it to their own boundary error once.

use std::path::PathBuf;

/// Anything that can go wrong in the local buffer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Creating, inspecting or fixing the permissions of the data directory or a database file
    /// failed.
    #[error("cannot prepare {path}: {source}")]
    Io {
        /// The directory or file concerned.
        path: PathBuf,
        /// The operating system's answer.
        #[source]
        source: std::io::Error,
    },
    /// SQLite (or reading a column) failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database was written by a newer version of the app (its schema version is beyond
    /// the migrations this build knows). Refusing to open it protects the newer data.
    #[error("database schema version {found} is newer than this app supports ({supported})")]
    SchemaTooNew {
        /// `PRAGMA user_version` of the file.
        found: i64,
        /// The latest version this build can migrate to.
        supported: usize,
    },
    /// A migration left rows violating a foreign key (`PRAGMA foreign_key_check`).
    #[error("migration to version {version} left {violations} foreign key violation(s)")]
    MigrationForeignKeys {
        /// The schema version just applied.
        version: usize,
        /// How many rows violate a foreign key.
        violations: usize,
    },
    /// A pragma the store relies on did not take effect (e.g. WAL mode refused).
    #[error("pragma {pragma} is {actual:?}, expected {expected:?}")]
    Pragma {
        /// The pragma's name.
        pragma: &'static str,
        /// What the store asked for.
        expected: String,
        /// What SQLite reports.
        actual: String,
    },
    /// The caller passed inconsistent arguments (e.g. a screenshot of another entry).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A stored value could not be read back (unknown enum text, timestamp out of range …).
    #[error("corrupt value in {column}: {detail}")]
    Corrupt {
        /// `table.column`.
        column: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A JSON payload could not be encoded or decoded.
    #[error("outbox payload: {0}")]
    Json(#[from] serde_json::Error),
    /// `PRAGMA wal_checkpoint(TRUNCATE)` could not complete, so the WAL may still hold a copy of
    /// deleted data. The delete itself has committed; call [`crate::Store::checkpoint`] again.
    #[error("WAL checkpoint incomplete ({frames_left} frame(s) left)")]
    CheckpointIncomplete {
        /// WAL frames not yet copied back into the database file.
        frames_left: i64,
    },
    /// The blocking task running a [`crate::StoreHandle`] call panicked or was cancelled.
    #[error("store task failed: {0}")]
    Task(String),
}
