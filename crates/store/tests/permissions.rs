//! The data directory is 0700 and the database files 0600, and looser modes are repaired.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use shotclock_store::{DB_FILE_NAME, Store};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn companion(db: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", db.display()))
}

#[test]
fn fresh_directory_and_files_are_private() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("nested").join("data");
    let mut store = Store::open(&data).unwrap();
    // Make sure the WAL and shared-memory files exist.
    store
        .set_settings(&shotclock_store::CachedSettings::default())
        .unwrap();
    let db = data.join(DB_FILE_NAME);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&db), 0o600);
    for suffix in ["-wal", "-shm"] {
        let f = companion(&db, suffix);
        assert!(f.exists(), "{suffix} should exist while open in WAL mode");
        assert_eq!(mode(&f), 0o600, "{suffix}");
    }
}

#[test]
fn looser_modes_are_repaired_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let db = data.join(DB_FILE_NAME);
    {
        let mut store = Store::open(&data).unwrap();
        store
            .set_settings(&shotclock_store::CachedSettings::default())
            .unwrap();
    }
    // Left behind by an old install or a restore: world-readable everything, plus stale
    // companions.
    chmod(&data, 0o755);
    chmod(&db, 0o644);
    for suffix in ["-wal", "-shm"] {
        let f = companion(&db, suffix);
        if !f.exists() {
            std::fs::write(&f, b"").unwrap();
        }
        chmod(&f, 0o644);
    }
    assert_eq!(mode(&data), 0o755);

    let store = Store::open(&data).unwrap();
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&db), 0o600);
    for suffix in ["-wal", "-shm"] {
        assert_eq!(mode(&companion(&db, suffix)), 0o600, "{suffix}");
    }
    // Nothing was lost by the repair.
    assert!(store.settings().unwrap().is_some());
    assert!(store.integrity_check().unwrap());
}

#[test]
fn a_preexisting_empty_world_readable_file_is_adopted_privately() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    chmod(&data, 0o777);
    let db = data.join(DB_FILE_NAME);
    std::fs::write(&db, b"").unwrap();
    chmod(&db, 0o666);

    let store = Store::open(&data).unwrap();
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&db), 0o600);
    assert!(store.integrity_check().unwrap());
}

#[test]
fn companions_left_with_data_in_them_are_made_private() {
    // What a crash or a restored backup leaves: a WAL still holding commits and its index,
    // readable by everyone. SQLite itself only fixes the mode of an *empty* companion, so these
    // must be repaired by the store, before the data in them is read.
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    let restored = tmp.path().join("restored");
    let mut store = Store::open(&live).unwrap();
    store
        .set_settings(&shotclock_store::CachedSettings::default())
        .unwrap();
    std::fs::create_dir(&restored).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let from = companion(&live.join(DB_FILE_NAME), suffix);
        let to = companion(&restored.join(DB_FILE_NAME), suffix);
        std::fs::copy(&from, &to).unwrap();
        chmod(&to, 0o644);
    }
    drop(store);
    let db = restored.join(DB_FILE_NAME);
    for suffix in ["-wal", "-shm"] {
        let len = std::fs::metadata(companion(&db, suffix)).unwrap().len();
        assert!(
            len > 0,
            "{suffix} must hold data, or the test proves nothing"
        );
    }

    let store = Store::open(&restored).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        assert_eq!(mode(&companion(&db, suffix)), 0o600, "{suffix}");
    }
    assert!(
        store.settings().unwrap().is_some(),
        "the commit in the WAL was read"
    );
}
