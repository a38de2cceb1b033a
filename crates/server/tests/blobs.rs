//! The [`Blobs`] contract on both backends: a local directory and a bucket of a real
//! S3-compatible server (SeaweedFS, which checks signatures; `shotclock-tests3`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use shotclock_api::ScreenshotId;
use shotclock_server::blobs::Blobs;
use shotclock_server::blobs::{
    BlobsError, BlobsLocation, LocalBlobs, S3Blobs, S3Credentials, S3Options, Versioning, blob_key,
};

fn s3_options(bucket: &shotclock_tests3::Bucket) -> S3Options {
    S3Options {
        bucket: bucket.name.clone(),
        endpoint: Some(bucket.endpoint.clone()),
        region: shotclock_tests3::REGION.to_owned(),
        credentials: S3Credentials {
            key_id: shotclock_tests3::ACCESS_KEY.to_owned(),
            secret_key: shotclock_tests3::SECRET_KEY.to_owned(),
            token: None,
        },
    }
}

async fn s3() -> Arc<dyn Blobs> {
    Arc::new(
        S3Blobs::open(&s3_options(&shotclock_tests3::bucket()))
            .await
            .unwrap(),
    )
}

fn key(byte: u8) -> String {
    blob_key(ScreenshotId::new(), &[byte; 32])
}

async fn contract(blobs: Arc<dyn Blobs>) {
    let before = SystemTime::now() - Duration::from_secs(5);
    assert!(blobs.list().await.unwrap().is_empty());
    let (a, b) = (key(0x12), key(0xab));
    assert!(blobs.get(&a).await.unwrap().is_none(), "missing is None");
    blobs.put(&a, "hello".into()).await.unwrap();
    blobs.put(&b, vec![7u8; 70_000].into()).await.unwrap();
    assert_eq!(blobs.get(&a).await.unwrap().unwrap(), b"hello");
    assert_eq!(blobs.get(&b).await.unwrap().unwrap(), vec![7u8; 70_000]);
    let mut listed = blobs.list().await.unwrap();
    listed.sort_by(|x, y| x.key.cmp(&y.key));
    assert_eq!(
        listed.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
        vec![a.as_str(), b.as_str()]
    );
    assert!(listed.iter().all(|i| i.modified > before), "{listed:?}");
    blobs.delete(&a).await.unwrap();
    blobs.delete(&a).await.unwrap();
    blobs.delete(&key(0x99)).await.unwrap();
    assert!(blobs.get(&a).await.unwrap().is_none());
    assert_eq!(blobs.list().await.unwrap().len(), 1);
    for bad in ["../x", "ab/../../etc", "ab/x/y", "zz/x"] {
        let e = blobs.put(bad, "x".into()).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad}");
        assert_eq!(
            blobs.get(bad).await.unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
    assert_eq!(
        blobs.clean_temp(SystemTime::now()).await.unwrap(),
        0,
        "complete writes leave no temp files"
    );
}

#[tokio::test]
async fn local_directory_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract(Arc::new(LocalBlobs::open(dir.path()).unwrap())).await;
}

#[tokio::test]
async fn s3_bucket_keeps_the_contract() {
    contract(s3().await).await;
}

#[tokio::test]
async fn s3_opens_through_its_url() {
    let bucket = shotclock_tests3::bucket();
    let env = |name: &str| match name {
        "AWS_ACCESS_KEY_ID" => Some(shotclock_tests3::ACCESS_KEY.to_owned()),
        "AWS_SECRET_ACCESS_KEY" => Some(shotclock_tests3::SECRET_KEY.to_owned()),
        _ => None,
    };
    let blobs = BlobsLocation::parse(&bucket.url(), env)
        .unwrap()
        .open()
        .await
        .unwrap();
    let k = key(0x01);
    blobs.put(&k, "x".into()).await.unwrap();
    assert_eq!(blobs.get(&k).await.unwrap().unwrap(), b"x");
}

#[tokio::test]
async fn a_wrong_secret_is_refused() {
    let bucket = shotclock_tests3::bucket();
    let mut options = s3_options(&bucket);
    options.credentials.secret_key = "not-the-secret".to_owned();
    let err = S3Blobs::open(&options).await.unwrap_err();
    assert!(matches!(err, BlobsError::Refused(_)), "{err}");
    assert!(err.to_string().contains("denied"), "{err}");
    // Without the start-up check, every operation is refused too.
    let blobs = S3Blobs::new(&options).unwrap();
    let k = key(0x02);
    let e = blobs.put(&k, "x".into()).await.unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
    assert!(blobs.get(&k).await.is_err());
    assert!(blobs.list().await.is_err());
    // Nothing was written.
    assert!(s3_blobs(&bucket).await.list().await.unwrap().is_empty());
}

async fn s3_blobs(bucket: &shotclock_tests3::Bucket) -> S3Blobs {
    S3Blobs::open(&s3_options(bucket)).await.unwrap()
}

#[tokio::test]
async fn a_missing_bucket_is_refused() {
    let mut options = s3_options(&shotclock_tests3::bucket());
    options.bucket = "no-such-bucket".to_owned();
    let err = S3Blobs::open(&options).await.unwrap_err();
    assert!(matches!(err, BlobsError::Refused(_)), "{err}");
}

#[tokio::test]
async fn a_bucket_with_versioning_is_refused() {
    let bucket = shotclock_tests3::bucket();
    let blobs = s3_blobs(&bucket).await;
    assert_eq!(blobs.versioning().await.unwrap(), Versioning::Off);
    blobs.set_versioning(true).await.unwrap();
    assert_eq!(blobs.versioning().await.unwrap(), Versioning::Enabled);
    let err = S3Blobs::open(&s3_options(&bucket)).await.unwrap_err();
    assert!(err.to_string().contains("versioning"), "{err}");
    // Suspended: new deletes are final again, so it is accepted (with a warning).
    blobs.set_versioning(false).await.unwrap();
    assert_eq!(blobs.versioning().await.unwrap(), Versioning::Suspended);
    S3Blobs::open(&s3_options(&bucket)).await.unwrap();
}
