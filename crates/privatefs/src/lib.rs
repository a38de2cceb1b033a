//! Folders and files readable by their user alone, whatever umask the process was started with:
//! what it creates is `0700` (a folder) or `0600` (a file) from the start, never made private
//! after the fact, and [`restrict`] tightens what an older version, a backup or a hand left
//! looser. The one home of these modes for the app's local buffer and session files and for the
//! embedded service's database and image folder (SQLite gives its `-wal` and `-shm` files the
//! database file's mode, so creating that file first is enough for them).
//!
//! On other systems than Unix the modes are not set: the data lives in the user's profile,
//! whose access lists already keep other users out.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Mutex, PoisonError};

/// The mode of a private folder.
pub const DIR_MODE: u32 = 0o700;
/// The mode of a private file.
pub const FILE_MODE: u32 = 0o600;

/// Held by [`write()`] (private files are small and seldom written: session and account files).
static WRITING: Mutex<()> = Mutex::new(());

/// Creates `dir` and any missing parents, each readable by this user alone. A folder that
/// already exists keeps its mode (see [`restrict`]).
///
/// # Errors
/// Any I/O failure.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(DIR_MODE);
    }
    builder.create(dir)
}

/// Creates the new file `path` for writing, readable by this user alone. Fails if anything by
/// that name exists, a link included (it is never followed).
///
/// # Errors
/// Any I/O failure; `AlreadyExists` if `path` exists.
pub fn create_new(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    options.open(path)
}

/// Creates `path` empty and private if nothing by that name exists yet (a database file,
/// before SQLite creates it with its own mode). An existing file is left as it is.
///
/// # Errors
/// Any I/O failure but `path` existing.
pub fn create_if_missing(path: &Path) -> io::Result<()> {
    match create_new(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes `bytes` to `path`, readable by this user alone, replacing it whole: a temporary file
/// beside it (`path` with the extension `tmp`), created afresh, synced, then renamed over it.
///
/// # Errors
/// Any I/O failure; the file at `path` is then unchanged, and no copy of `bytes` is left.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    // One write at a time in this process: two writes of the same file would share its
    // temporary file, and one could rename the other's half-written file into place.
    let _one_at_a_time = WRITING.lock().unwrap_or_else(PoisonError::into_inner);
    let tmp = path.with_extension("tmp");
    // A temporary file left by a write cut short (or anything else by that name, a link
    // included) goes first: the new one is created here, so it has this mode and no other.
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = create_new(&tmp)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        // The bytes may be a secret: no copy of them stays behind a failed write.
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Sets the mode of `path` (following a link) to exactly `mode` unless it already is: a looser
/// mode is tightened, and one without the owner's bits is given them. On other systems than
/// Unix it only checks that `path` exists (its folder's access list decides who reads it).
///
/// # Errors
/// Any I/O failure, `NotFound` included.
pub fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    let meta = std::fs::metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Compared only to skip a chmod that would change nothing.
        if meta.permissions().mode() & 0o7777 != mode {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (meta, mode);
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Mutex;

    /// The umask is the process's: every test here sets it while holding this lock.
    static UMASK: Mutex<()> = Mutex::new(());

    /// Runs `f` under `umask` (the usual shell's 022 leaves new files readable by everyone).
    fn under_umask<T>(umask: u32, f: impl FnOnce() -> T) -> T {
        let _lock = UMASK.lock().unwrap_or_else(|e| e.into_inner());
        let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(umask));
        let out = f();
        rustix::process::umask(old);
        out
    }

    /// Writes `bytes` to `path` as any program would, then gives it `mode`.
    fn plain_write(path: &Path, bytes: &[u8], mode: u32) {
        let written = std::fs::write(path, bytes)
            .and_then(|()| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)));
        assert!(written.is_ok(), "{written:?}");
    }

    /// The mode of `path` itself (a link's own), or 0 if there is nothing.
    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path).map_or(0, |m| m.permissions().mode() & 0o7777)
    }

    #[test]
    fn folders_are_created_for_their_user_alone_whatever_the_umask() {
        for umask in [0o022, 0o000] {
            let tmp = tempfile::tempdir().unwrap();
            let deep = tmp.path().join("a").join("b");
            under_umask(umask, || create_dir_all(&deep)).unwrap();
            assert_eq!(mode(&tmp.path().join("a")), DIR_MODE, "umask {umask:o}");
            assert_eq!(mode(&deep), DIR_MODE, "umask {umask:o}");
            // Again: it exists, which is no error.
            create_dir_all(&deep).unwrap();
        }
    }

    #[test]
    fn new_files_are_for_their_user_alone_and_never_replace_anything() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("db");
        under_umask(0o022, || create_if_missing(&file)).unwrap();
        assert_eq!(mode(&file), FILE_MODE);
        assert_eq!(std::fs::read(&file).unwrap(), b"");

        // An existing file is left whole, with its mode.
        plain_write(&file, b"rows", 0o640);
        create_if_missing(&file).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"rows");
        assert_eq!(mode(&file), 0o640);
        let err = create_new(&file).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);

        // A folder that is not there is an error, not a file that exists.
        let lost = tmp.path().join("gone").join("db");
        let err = create_if_missing(&lost).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);

        // A link by that name is not followed.
        let target = tmp.path().join("elsewhere");
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(
            create_new(&link).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        assert!(!target.exists());
    }

    /// The session token, say: written whole, for this user alone, replacing what was there
    /// (a looser file too), and nothing is left beside it.
    #[test]
    fn a_write_replaces_the_file_whole_and_privately() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("token");
        plain_write(&path, b"an older, longer token", 0o644);
        under_umask(0o022, || write(&path, b"new token")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new token");
        assert_eq!(mode(&path), FILE_MODE);
        let names = |dir: &Path| -> Vec<String> {
            let mut names: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            names
        };
        assert_eq!(names(tmp.path()), ["token"]);

        // What a write cut short left, readable by everyone, does not pass its mode on.
        let leftover = tmp.path().join("token.tmp");
        plain_write(&leftover, b"half a tok", 0o644);
        under_umask(0o000, || write(&path, b"newer token")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"newer token");
        assert_eq!(mode(&path), FILE_MODE);
        assert_eq!(names(tmp.path()), ["token"]);

        // A folder that is not there: an error, and nothing written.
        let missing = tmp.path().join("gone").join("token");
        assert!(write(&missing, b"x").is_err());
        assert!(!tmp.path().join("gone").exists());

        // A folder where the file should go: an error, and no copy of the bytes is left.
        let blocked = tmp.path().join("blocked");
        std::fs::create_dir(&blocked).unwrap();
        assert!(write(&blocked, b"secret").is_err());
        assert!(blocked.is_dir());
        assert_eq!(names(tmp.path()), ["blocked", "token"]);

        // What stands where the temporary file goes and cannot be removed (a folder with
        // something in it) is the error, and it stays.
        let stuck = tmp.path().join("token.tmp");
        std::fs::create_dir(&stuck).unwrap();
        std::fs::write(stuck.join("inside"), b"x").unwrap();
        let err = write(&path, b"newest").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::IsADirectory, "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"newer token");
        assert!(stuck.join("inside").exists());
    }

    /// Two tasks writing the same file at once: every write succeeds and the file ends whole,
    /// as one of them wrote it.
    #[test]
    fn writes_of_the_same_file_at_once_each_land_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("account");
        let contents: Vec<Vec<u8>> = (0..4u8).map(|i| vec![b'a' + i; 64 * 1024]).collect();
        std::thread::scope(|scope| {
            let writers: Vec<_> = contents
                .iter()
                .map(|bytes| {
                    let path = &path;
                    scope.spawn(move || (0..50).map(|_| write(path, bytes)).collect::<Vec<_>>())
                })
                .collect();
            for writer in writers {
                for result in writer.join().unwrap() {
                    result.unwrap();
                }
            }
        });
        let now = std::fs::read(&path).unwrap();
        assert!(contents.contains(&now), "a mixed or partial file");
        assert!(!tmp.path().join("account.tmp").exists());
    }

    #[test]
    fn restrict_sets_exactly_the_mode_asked_for() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        for found in [0o644, 0o000, 0o4600, 0o600] {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(found)).unwrap();
            restrict(&file, FILE_MODE).unwrap();
            assert_eq!(mode(&file), FILE_MODE, "from {found:o}");
        }
        restrict(tmp.path(), DIR_MODE).unwrap();
        assert_eq!(mode(tmp.path()), DIR_MODE);
        let gone = restrict(&tmp.path().join("missing"), FILE_MODE).unwrap_err();
        assert_eq!(gone.kind(), io::ErrorKind::NotFound);
    }
}
