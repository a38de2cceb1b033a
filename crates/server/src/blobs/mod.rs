//! Image bytes behind the [`Blobs`] trait: a local directory ([`LocalBlobs`], the embedded
//! default) or an S3-compatible bucket ([`S3Blobs`], for several replicas), chosen by a
//! [`BlobsLocation`].
//!
//! Keys are produced by [`blob_key`]: `<2 hex of the content hash>/<screenshot id>-<16 hex of the
//! hash>.webp`. Including the hash means two different uploads racing for the same screenshot
//! id can never overwrite each other's object: the loser's object is simply unreferenced and
//! the sweeper removes it. Both backends accept only keys of that shape.
//!
//! Contract of every backend: once `put` returns the bytes are durable and `get` returns them;
//! `get` of a missing key is `None`; `delete` is idempotent; `list` gives every stored key with
//! its last modification (the sweeper's grace period). Images are always served through the
//! service (auth, 404-for-forbidden, `no-store`), never by presigned URLs, which would keep
//! working after a delete.

mod local;
mod s3;

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use shotclock_api::ScreenshotId;

pub use local::LocalBlobs;
pub use s3::{S3Blobs, S3Credentials, S3Options, Versioning};

/// The blob key for a screenshot with this content hash.
#[must_use]
pub fn blob_key(id: ScreenshotId, sha256: &[u8; 32]) -> String {
    let hex = hex::encode(sha256);
    format!("{}/{}-{}.webp", &hex[..2], id, &hex[..16])
}

pub(crate) fn valid_key(key: &str) -> bool {
    let mut parts = key.split('/');
    let (Some(shard), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    shard.len() == 2
        && shard.bytes().all(|b| b.is_ascii_hexdigit())
        && !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !name.starts_with('.')
}

pub(crate) fn invalid_key() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "invalid blob key")
}

/// A stored blob seen by [`Blobs::list`].
#[derive(Debug, Clone)]
pub struct BlobInfo {
    /// Its key.
    pub key: String,
    /// Last modification (used for the sweeper's grace period).
    pub modified: SystemTime,
}

/// Storage for image files.
#[async_trait::async_trait]
pub trait Blobs: Send + Sync + 'static {
    /// Stores `bytes` under `key`, durably, before returning.
    async fn put(&self, key: &str, bytes: axum::body::Bytes) -> io::Result<()>;
    /// The bytes under `key`, if any.
    async fn get(&self, key: &str) -> io::Result<Option<Vec<u8>>>;
    /// Removes `key` (no error if it does not exist).
    async fn delete(&self, key: &str) -> io::Result<()>;
    /// Every stored blob (for the orphan sweeper).
    async fn list(&self) -> io::Result<Vec<BlobInfo>>;
    /// Removes leftovers of interrupted writes older than `older_than`; how many.
    async fn clean_temp(&self, older_than: SystemTime) -> io::Result<usize>;
}

/// The image storage of a process that never touches images (the administration commands):
/// nothing is opened, so an unreachable or misconfigured bucket does not stop them, and every
/// call fails.
#[derive(Debug, Default, Clone, Copy)]
pub struct Unopened;

fn unopened() -> io::Error {
    io::Error::other("the image storage is not open in this command")
}

#[async_trait::async_trait]
impl Blobs for Unopened {
    async fn put(&self, _key: &str, _bytes: axum::body::Bytes) -> io::Result<()> {
        Err(unopened())
    }
    async fn get(&self, _key: &str) -> io::Result<Option<Vec<u8>>> {
        Err(unopened())
    }
    async fn delete(&self, _key: &str) -> io::Result<()> {
        Err(unopened())
    }
    async fn list(&self) -> io::Result<Vec<BlobInfo>> {
        Err(unopened())
    }
    async fn clean_temp(&self, _older_than: SystemTime) -> io::Result<usize> {
        Err(unopened())
    }
}

/// Why blob storage could not be chosen or opened.
#[derive(Debug, thiserror::Error)]
pub enum BlobsError {
    /// The `--blobs` URL or the environment is wrong.
    #[error("blob storage settings: {0}")]
    Config(String),
    /// The bucket cannot be used as it is (versioning on, missing, or access denied).
    #[error("blob storage refused: {0}")]
    Refused(String),
    /// The storage could not be reached or answered unexpectedly.
    #[error("blob storage: {0}")]
    Unavailable(String),
    /// Local disk.
    #[error("blob directory: {0}")]
    Io(#[from] io::Error),
}

/// Where the image bytes live: `file://DIR` or `s3://BUCKET?endpoint=…&region=…`.
#[derive(Debug, Clone)]
pub enum BlobsLocation {
    /// A local directory (its shards and `tmp/` directly inside).
    Local(PathBuf),
    /// An S3-compatible bucket.
    S3(Box<S3Options>),
}

impl BlobsLocation {
    /// Parses a blobs URL. S3 credentials come from `env` only (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, optionally `AWS_SESSION_TOKEN`), never from the URL.
    pub fn parse(url: &str, env: impl Fn(&str) -> Option<String>) -> Result<Self, BlobsError> {
        if let Some(path) = url.strip_prefix("file://") {
            if path.is_empty() {
                return Err(BlobsError::Config("file:// needs a directory".into()));
            }
            return Ok(Self::Local(path.into()));
        }
        if url.starts_with("s3://") {
            return Ok(Self::S3(Box::new(S3Options::from_url_and_env(url, env)?)));
        }
        let scheme = url.split_once("://").map_or("", |(s, _)| s);
        Err(BlobsError::Config(format!(
            "unknown blobs URL scheme {scheme:?}: use file://DIR or s3://BUCKET?endpoint=…&region=…"
        )))
    }

    /// Opens the storage. A bucket is checked first: reachable with these credentials and
    /// without versioning (see [`S3Blobs::open`]).
    pub async fn open(&self) -> Result<Arc<dyn Blobs>, BlobsError> {
        Ok(match self {
            Self::Local(dir) => Arc::new(LocalBlobs::open(dir)?),
            Self::S3(options) => Arc::new(S3Blobs::open(options).await?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated() {
        let key = blob_key(ScreenshotId::new(), &[0xab; 32]);
        assert!(valid_key(&key), "{key}");
        assert!(key.starts_with("ab/"));
        for bad in [
            "../x",
            "ab/../x",
            "ab/.hidden",
            "zz/x",
            "ab/x/y",
            "abc/x",
            "ab/",
        ] {
            assert!(!valid_key(bad), "{bad}");
        }
    }

    #[test]
    fn urls_are_parsed() {
        let env = |name: &str| match name {
            "AWS_ACCESS_KEY_ID" => Some("key".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("s3cr3t-value".to_owned()),
            _ => None,
        };
        assert!(matches!(
            BlobsLocation::parse("file:///srv/blobs", env).unwrap(),
            BlobsLocation::Local(p) if p == std::path::Path::new("/srv/blobs")
        ));
        let BlobsLocation::S3(s3) = BlobsLocation::parse(
            "s3://shots?endpoint=http://127.0.0.1:8333&region=eu-west-1",
            env,
        )
        .unwrap() else {
            panic!("not s3")
        };
        assert_eq!(s3.bucket, "shots");
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:8333"));
        assert_eq!(s3.region, "eu-west-1");
        assert_eq!(s3.credentials.key_id, "key");
        assert!(!format!("{s3:?}").contains("s3cr3t"), "{s3:?}");
        for bad in [
            "file://",
            "ftp://x",
            "s3://",
            "s3://b?secret_access_key=x",
            "s3://b?colour=blue",
            "s3://b/prefix",
        ] {
            assert!(BlobsLocation::parse(bad, env).is_err(), "{bad}");
        }
        assert!(
            BlobsLocation::parse("s3://b", |_| None).is_err(),
            "credentials are required"
        );
    }
}
