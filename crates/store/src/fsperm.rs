//! Private files: the data directory is `0700`, the database and its `-wal`, `-shm` and
//! `-journal` companions `0600`.
//!
//! The database file is created `0600` *before* SQLite opens it (SQLite then gives the `-wal`
//! and `-shm` files the database file's mode), and any looser mode found — an old install, a
//! restored backup, a hand-made directory — is repaired on every open. Only the exact modes are
//! accepted: anything else is set to them, which also fixes a mode that lacks owner bits.
//!
//! On non-Unix systems these are no-ops: the data directory lives in the user's profile, whose
//! ACLs already keep other users out.

use std::path::Path;

use crate::StoreError;

/// Mode of the data directory.
pub(crate) const DIR_MODE: u32 = 0o700;
/// Mode of every database file.
pub(crate) const FILE_MODE: u32 = 0o600;

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
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(DIR_MODE);
    }
    builder.create(dir).map_err(io_err(dir))?;
    set_mode(dir, DIR_MODE)
}

/// Writes `bytes` to `path` readable by this user only (`0600` on Unix), replacing it
/// atomically (a temporary file beside it, synced, then renamed). The one private-file writer
/// of the app: the session token and account files of the desktop shell and the headless
/// agent go through it.
///
/// # Errors
/// Any I/O failure; the file at `path` is then unchanged.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    // A temporary file left by a write cut short (or anything else by that name, a link
    // included) goes first: the new one is created here, so it has this mode and no other.
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Creates `file` empty with mode `0600` if it does not exist, or repairs its mode.
pub(crate) fn ensure_private_file(file: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    match options.open(file) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err(file)(e)),
    }
    set_mode(file, FILE_MODE)
}

/// Repairs the mode of `file` if it exists (for SQLite's companion files).
pub(crate) fn repair_if_exists(file: &Path) -> Result<(), StoreError> {
    match std::fs::symlink_metadata(file) {
        Ok(_) => set_mode(file, FILE_MODE),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(file)(e)),
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(io_err(path))?;
    if meta.permissions().mode() & 0o7777 != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(io_err(path))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), StoreError> {
    Ok(())
}
