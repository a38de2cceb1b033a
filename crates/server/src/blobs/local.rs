//! Blobs in a local directory (the embedded default).
//!
//! Durability: `put` writes a temp file under `tmp/`, fsyncs it, renames it into place and
//! fsyncs the directory, so once `put` returns the file survives a crash or `kill -9`; a crash
//! mid-write leaves only a temp file, which [`Blobs::clean_temp`] removes later. `delete` is
//! idempotent. Folders and files are readable by the service's user alone (`shotclock_privatefs`).

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use super::{BlobInfo, Blobs, valid_key};

/// Blobs in a local directory.
#[derive(Debug)]
pub struct LocalBlobs {
    root: PathBuf,
    counter: AtomicU64,
}

impl LocalBlobs {
    /// Uses (and creates) `root`.
    ///
    /// Temporary files named with this process's id are removed first: they are leftovers of an
    /// earlier process killed mid-write that had the same id (in a container the service is
    /// always process 1), never live writes, and their names would block this process's.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        let tmp = root.join("tmp");
        shotclock_privatefs::create_dir_all(&tmp)?;
        let ours = format!("{}-", std::process::id());
        for entry in std::fs::read_dir(&tmp)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(&ours) {
                match std::fs::remove_file(entry.path()) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
        }
        Ok(Self {
            root,
            counter: AtomicU64::new(0),
        })
    }

    /// The directory.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> io::Result<PathBuf> {
        if valid_key(key) {
            Ok(self.root.join(key))
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "invalid blob key",
            ))
        }
    }
}

fn fsync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| io::Error::other(e.to_string()))?
}

#[async_trait::async_trait]
impl Blobs for LocalBlobs {
    async fn put(&self, key: &str, bytes: axum::body::Bytes) -> io::Result<()> {
        let dest = self.path_of(key)?;
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .root
            .join("tmp")
            .join(format!("{}-{n}.tmp", std::process::id()));
        let root = self.root.clone();
        blocking(move || {
            let dir = dest
                .parent()
                .ok_or_else(|| io::Error::other("blob path has no parent"))?
                .to_path_buf();
            if !dir.exists() {
                shotclock_privatefs::create_dir_all(&dir)?;
                fsync_dir(&root)?;
            }
            let mut file = shotclock_privatefs::create_new(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            drop(file);
            std::fs::rename(&tmp, &dest)?;
            fsync_dir(&dir)
        })
        .await
    }

    async fn get(&self, key: &str) -> io::Result<Option<Vec<u8>>> {
        let path = self.path_of(key)?;
        match tokio::fs::read(path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn list(&self) -> io::Result<Vec<BlobInfo>> {
        let root = self.root.clone();
        blocking(move || {
            let mut out = Vec::new();
            for shard in std::fs::read_dir(&root)? {
                let shard = shard?;
                let shard_name = shard.file_name().to_string_lossy().into_owned();
                if shard_name == "tmp" || !shard.file_type()?.is_dir() {
                    continue;
                }
                for file in std::fs::read_dir(shard.path())? {
                    let file = file?;
                    let key = format!("{shard_name}/{}", file.file_name().to_string_lossy());
                    if !valid_key(&key) {
                        continue;
                    }
                    let modified = file.metadata()?.modified()?;
                    out.push(BlobInfo { key, modified });
                }
            }
            Ok(out)
        })
        .await
    }

    async fn clean_temp(&self, older_than: SystemTime) -> io::Result<usize> {
        let dir = self.root.join("tmp");
        blocking(move || {
            let mut n = 0;
            for file in std::fs::read_dir(&dir)? {
                let file = file?;
                if file.metadata()?.modified()? < older_than {
                    std::fs::remove_file(file.path())?;
                    n += 1;
                }
            }
            Ok(n)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blobs::blob_key;
    use shotclock_api::ScreenshotId;

    #[tokio::test]
    async fn put_get_delete_list() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::open(dir.path()).unwrap();
        let key = blob_key(ScreenshotId::new(), &[0x12; 32]);
        blobs.put(&key, "hello".into()).await.unwrap();
        assert_eq!(blobs.get(&key).await.unwrap().unwrap(), b"hello");
        assert_eq!(blobs.list().await.unwrap().len(), 1);
        blobs.delete(&key).await.unwrap();
        blobs.delete(&key).await.unwrap();
        assert!(blobs.get(&key).await.unwrap().is_none());
        assert!(blobs.list().await.unwrap().is_empty());
    }

    /// A temporary file left by a process killed mid-write does not block the next one that
    /// gets the same process id (in a container the service is always process 1).
    #[tokio::test]
    async fn a_temporary_file_left_by_a_killed_process_blocks_no_upload() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tmp")).unwrap();
        let leftover = dir
            .path()
            .join("tmp")
            .join(format!("{}-0.tmp", std::process::id()));
        std::fs::write(&leftover, b"half an ima").unwrap();
        let another = dir
            .path()
            .join("tmp")
            .join(format!("{}-0.tmp", std::process::id() + 1));
        std::fs::write(&another, b"someone else's").unwrap();
        let blobs = LocalBlobs::open(dir.path()).unwrap();
        let key = blob_key(ScreenshotId::new(), &[0x34; 32]);
        blobs.put(&key, "whole".into()).await.unwrap();
        assert_eq!(blobs.get(&key).await.unwrap().unwrap(), b"whole");
        assert!(!leftover.exists());
        // Another process's file is left to the sweep (it may be a live write).
        assert!(another.exists());
    }
}
