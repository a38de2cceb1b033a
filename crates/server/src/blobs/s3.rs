//! Blobs in an S3-compatible bucket, through `object_store`.
//!
//! * `put` is one `PutObject`, atomic on S3: an object is either wholly there or absent, so
//!   there are no temp leftovers and [`Blobs::clean_temp`] does nothing.
//! * `get` maps "not found" to `None`; `delete` is idempotent (S3 answers a delete of a missing
//!   key with success, and a not-found is mapped to success too).
//! * Credentials come from the environment only (see [`S3Options::from_url_and_env`]); they
//!   are never part of the URL, and their `Debug` output hides the secret.
//!
//! Versioning: a bucket with versioning on keeps every overwritten or deleted object as a
//! non-current version, so a deleted thumbnail would never really go. `object_store` has no
//! versioning API, so [`S3Blobs::versioning`] sends the one `GET /BUCKET?versioning` request
//! itself, signed with `object_store`'s SigV4 signer ([`AwsAuthorizer`]), and [`S3Blobs::open`]
//! refuses a bucket whose versioning is `Enabled`. A `Suspended` bucket is accepted with a
//! warning: new deletes there are final, but versions kept while it was enabled remain.
//!
//! Known gaps: path-style requests only (what S3-compatible servers expect; AWS still accepts
//! them); no credential refresh from instance metadata or web identity.

use std::fmt;
use std::io;
use std::time::{Duration, SystemTime};

use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AwsAuthorizer, AwsCredential};
use object_store::client::{HttpRequest, HttpRequestBody};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};

use super::{BlobInfo, Blobs, BlobsError, invalid_key, valid_key};

/// Access to a bucket. The secret never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Credentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_key: String,
    /// `AWS_SESSION_TOKEN`, for temporary credentials.
    pub token: Option<String>,
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Credentials")
            .field("key_id", &self.key_id)
            .field("secret_key", &"<hidden>")
            .field("token", &self.token.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// Where and how to reach a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Options {
    /// The bucket.
    pub bucket: String,
    /// `http(s)://host:port` of an S3-compatible server; `None` is AWS itself.
    pub endpoint: Option<String>,
    /// The signing region (`us-east-1` unless told).
    pub region: String,
    /// Access key and secret.
    pub credentials: S3Credentials,
}

/// A bucket's versioning state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versioning {
    /// Never turned on: a delete removes the object.
    Off,
    /// On: deletes keep the old versions.
    Enabled,
    /// Turned off after having been on: versions from back then remain.
    Suspended,
}

const QUERY_KEYS: &str = "endpoint, region";

impl S3Options {
    /// Parses `s3://BUCKET?endpoint=URL&region=NAME`. The credentials come from `env`
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optionally `AWS_SESSION_TOKEN`); the
    /// region, when the URL has none, from `AWS_REGION`, else `us-east-1`. Credentials in the
    /// URL are refused: every local user can read a command line in the process list.
    pub fn from_url_and_env(
        url: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, BlobsError> {
        let config = |m: String| BlobsError::Config(m);
        let parsed = url::Url::parse(url).map_err(|e| config(format!("blobs URL: {e}")))?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(config(
                "the blobs URL carries credentials: set AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY in the environment instead"
                    .into(),
            ));
        }
        let bucket = parsed.host_str().unwrap_or_default().to_owned();
        if bucket.is_empty() {
            return Err(config("s3:// needs a bucket name: s3://BUCKET".into()));
        }
        if !matches!(parsed.path(), "" | "/") {
            return Err(config(format!(
                "s3://{bucket}{}: a key prefix is not supported, use a bucket of its own",
                parsed.path()
            )));
        }
        let mut endpoint = None;
        let mut region = None;
        for (key, value) in parsed.query_pairs() {
            match &*key {
                "endpoint" => endpoint = Some(value.trim_end_matches('/').to_owned()),
                "region" => region = Some(value.into_owned()),
                k if k.contains("key") || k.contains("secret") || k.contains("token") => {
                    return Err(config(format!(
                        "{k:?} in the blobs URL: credentials come from the environment only \
                         (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)"
                    )));
                }
                k => {
                    return Err(config(format!(
                        "unknown blobs URL setting {k:?} (known: {QUERY_KEYS})"
                    )));
                }
            }
        }
        if let Some(e) = &endpoint
            && !(e.starts_with("http://") || e.starts_with("https://"))
        {
            return Err(config(format!(
                "endpoint {e:?} must start with http:// or https://"
            )));
        }
        let region = region
            .or_else(|| env("AWS_REGION"))
            .unwrap_or_else(|| "us-east-1".to_owned());
        let var = |name: &str| {
            env(name).filter(|v| !v.is_empty()).ok_or_else(|| {
                config(format!(
                    "{name} is not set: the bucket's credentials come from the environment \
                     (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
                ))
            })
        };
        let credentials = S3Credentials {
            key_id: var("AWS_ACCESS_KEY_ID")?,
            secret_key: var("AWS_SECRET_ACCESS_KEY")?,
            token: env("AWS_SESSION_TOKEN").filter(|v| !v.is_empty()),
        };
        Ok(Self {
            bucket,
            endpoint,
            region,
            credentials,
        })
    }

    /// The bucket's URL, path-style.
    fn bucket_url(&self) -> String {
        match &self.endpoint {
            Some(endpoint) => format!("{endpoint}/{}", self.bucket),
            None => format!("https://s3.{}.amazonaws.com/{}", self.region, self.bucket),
        }
    }

    fn aws_credential(&self) -> AwsCredential {
        AwsCredential {
            key_id: self.credentials.key_id.clone(),
            secret_key: self.credentials.secret_key.clone(),
            token: self.credentials.token.clone(),
        }
    }
}

/// Blobs in an S3-compatible bucket.
#[derive(Debug)]
pub struct S3Blobs {
    store: AmazonS3,
    options: S3Options,
    http: reqwest::Client,
}

/// Bounds every request, retries included, well inside the service's request timeout.
const RETRY_TIMEOUT: Duration = Duration::from_secs(10);

impl S3Blobs {
    /// A client of the bucket, without contacting it.
    pub fn new(options: &S3Options) -> Result<Self, BlobsError> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&options.bucket)
            .with_region(&options.region)
            .with_access_key_id(&options.credentials.key_id)
            .with_secret_access_key(&options.credentials.secret_key)
            .with_virtual_hosted_style_request(false)
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: RETRY_TIMEOUT,
                ..RetryConfig::default()
            });
        if let Some(token) = &options.credentials.token {
            builder = builder.with_token(token);
        }
        if let Some(endpoint) = &options.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder
            .build()
            .map_err(|e| BlobsError::Config(e.to_string()))?;
        let http = reqwest::Client::builder()
            .timeout(RETRY_TIMEOUT)
            .build()
            .map_err(|e| BlobsError::Config(e.to_string()))?;
        Ok(Self {
            store,
            options: options.clone(),
            http,
        })
    }

    /// A client of the bucket, after checking that these credentials reach it and that its
    /// versioning was never turned on (a suspended one is accepted with a warning).
    pub async fn open(options: &S3Options) -> Result<Self, BlobsError> {
        let blobs = Self::new(options)?;
        match blobs.versioning().await? {
            Versioning::Off => {}
            Versioning::Enabled => {
                return Err(BlobsError::Refused(format!(
                    "bucket {:?} has versioning enabled, so deleted images would be kept as \
                     old versions: use a bucket without versioning",
                    options.bucket
                )));
            }
            Versioning::Suspended => tracing::warn!(
                bucket = %options.bucket,
                "the bucket's versioning is suspended: images deleted from now on are gone, \
                 but versions kept while it was enabled remain until removed"
            ),
        }
        Ok(blobs)
    }

    /// The bucket's options.
    #[must_use]
    pub fn options(&self) -> &S3Options {
        &self.options
    }

    /// The bucket's versioning state (`GET /BUCKET?versioning`).
    pub async fn versioning(&self) -> Result<Versioning, BlobsError> {
        let body = self.bucket_request("GET", Vec::new()).await?;
        let status = between(&body, "<Status>", "</Status>").map(str::trim);
        Ok(match status {
            None | Some("") => Versioning::Off,
            Some("Enabled") => Versioning::Enabled,
            Some("Suspended") => Versioning::Suspended,
            Some(other) => {
                return Err(BlobsError::Unavailable(format!(
                    "unexpected versioning status {other:?}"
                )));
            }
        })
    }

    /// Turns the bucket's versioning on or (if it was ever on) to suspended
    /// (`PUT /BUCKET?versioning`), for set-up and tests.
    pub async fn set_versioning(&self, enabled: bool) -> Result<(), BlobsError> {
        let status = if enabled { "Enabled" } else { "Suspended" };
        let body = format!(
            "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <Status>{status}</Status></VersioningConfiguration>"
        );
        self.bucket_request("PUT", body.into_bytes()).await?;
        Ok(())
    }

    /// One SigV4-signed request to `BUCKET?versioning`; the response body.
    async fn bucket_request(&self, method: &str, body: Vec<u8>) -> Result<String, BlobsError> {
        let unavailable = |e: &dyn fmt::Display| BlobsError::Unavailable(e.to_string());
        let url = format!("{}?versioning", self.options.bucket_url());
        let mut request: HttpRequest = axum::http::Request::builder()
            .method(method)
            .uri(&url)
            .body(HttpRequestBody::from(body.clone()))
            .map_err(|e| BlobsError::Config(format!("{url}: {e}")))?;
        let credential = self.options.aws_credential();
        AwsAuthorizer::new(&credential, "s3", &self.options.region)
            .try_authorize(&mut request, None)
            .map_err(|e| unavailable(&e))?;
        let (parts, _) = request.into_parts();
        let request = reqwest::Request::try_from(axum::http::Request::from_parts(
            parts,
            reqwest::Body::from(body),
        ))
        .map_err(|e| unavailable(&e))?;
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| unavailable(&format_args!("{url}: {e}")))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| unavailable(&e))?;
        let bucket = &self.options.bucket;
        match status.as_u16() {
            200..=299 => Ok(text),
            401 | 403 => Err(BlobsError::Refused(format!(
                "access to bucket {bucket:?} denied ({status}): check AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY"
            ))),
            404 => Err(BlobsError::Refused(format!(
                "no bucket {bucket:?} ({status})"
            ))),
            _ => Err(BlobsError::Unavailable(format!(
                "{method} {url}: {status} {}",
                between(&text, "<Message>", "</Message>").unwrap_or_default()
            ))),
        }
    }
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(&text[start..start + len])
}

fn path_of(key: &str) -> io::Result<Path> {
    if valid_key(key) {
        Path::parse(key).map_err(|_| invalid_key())
    } else {
        Err(invalid_key())
    }
}

fn io_error(e: object_store::Error) -> io::Error {
    let kind = match &e {
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => io::ErrorKind::PermissionDenied,
        object_store::Error::NotFound { .. } => io::ErrorKind::NotFound,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}

#[async_trait::async_trait]
impl Blobs for S3Blobs {
    async fn put(&self, key: &str, bytes: axum::body::Bytes) -> io::Result<()> {
        let path = path_of(key)?;
        self.store
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(io_error)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> io::Result<Option<Vec<u8>>> {
        let path = path_of(key)?;
        match self.store.get(&path).await {
            Ok(found) => Ok(Some(found.bytes().await.map_err(io_error)?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(io_error(e)),
        }
    }

    async fn delete(&self, key: &str) -> io::Result<()> {
        let path = path_of(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(io_error(e)),
        }
    }

    async fn list(&self) -> io::Result<Vec<BlobInfo>> {
        self.store
            .list(None)
            .map_err(io_error)
            .try_filter_map(|meta| async move {
                let key = meta.location.to_string();
                Ok(valid_key(&key).then(|| BlobInfo {
                    key,
                    modified: SystemTime::from(meta.last_modified),
                }))
            })
            .try_collect()
            .await
    }

    async fn clean_temp(&self, _older_than: SystemTime) -> io::Result<usize> {
        Ok(0)
    }
}
