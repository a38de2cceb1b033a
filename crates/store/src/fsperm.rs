//! Private files: the data directory is `0700`, the database and its `-wal`, `-shm` and
//! `-journal` companions `0600`.
//!
//! The database file is created `0600` *before* SQLite opens it (SQLite then gives the `-wal`
//! and `-shm` files the database file's mode), and any other mode found — an old install, a
//! restored backup, a hand-made directory — is set to the exact one on every open
//! (`shotclock_privatefs::restrict`), which also fixes a mode that lacks owner bits.

use std::path::Path;

use shotclock_privatefs::{DIR_MODE, FILE_MODE, restrict};

use crate::StoreError;

/// Suffixes of the files SQLite keeps beside the database.
pub(crate) const COMPANIONS: [&str; 3] = ["-wal", "-shm", "-journal"];

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `dir` (and missing parents) with mode `0700`, or repairs its mode if it exists.
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<(), StoreError> {
    shotclock_privatefs::create_dir_all(dir)
        .and_then(|()| restrict(dir, DIR_MODE))
        .map_err(io_err(dir))
}

/// Creates `file` empty with mode `0600` if it does not exist, or repairs its mode.
pub(crate) fn ensure_private_file(file: &Path) -> Result<(), StoreError> {
    shotclock_privatefs::create_if_missing(file)
        .and_then(|()| restrict(file, FILE_MODE))
        .map_err(io_err(file))
}

/// Repairs the mode of `file` if it exists (for SQLite's companion files).
pub(crate) fn repair_if_exists(file: &Path) -> Result<(), StoreError> {
    match restrict(file, FILE_MODE) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other.map_err(io_err(file)),
    }
}
