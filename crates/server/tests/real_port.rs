//! The service on a real port with a real HTTP client (reqwest): the library's `serve` on
//! port 0, and the `shotclock-server` binary killed with SIGKILL mid-upload (R26).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{SecondsFormat, TimeDelta, Utc};
use futures_util::StreamExt;
use rand::Rng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use shotclock_api::{EntryId, ScreenshotId};
use shotclock_server::{App, Config, serve};
use tokio::process::{Child, Command};

mod common;
mod spawn;

use common::eventually;

/// Every upload attempt: id → (bytes, captured_at).
type Attempts = Arc<Mutex<HashMap<ScreenshotId, (Vec<u8>, String)>>>;

const BIN: &str = env!("CARGO_BIN_EXE_shotclock-server");
const PW: &str = "crash test password";

fn now_rfc(offset: TimeDelta) -> String {
    (Utc::now() + offset).to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn image(marker: u64) -> Vec<u8> {
    let mut bytes = shotclock_server::webp::synthetic(640, 360, 6000);
    let at = bytes.len() - 16;
    bytes[at..at + 8].copy_from_slice(&marker.to_le_bytes());
    bytes
}

async fn login(client: &reqwest::Client, base: &str, email: &str) -> String {
    let r = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PW}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn library_serves_on_port_zero_with_a_real_client() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(Config::new(dir.path())).await.unwrap();
    let (ws, _) = shotclock_server::api::create_workspace(
        &app,
        "Acme".into(),
        "o@acme.test",
        "O",
        PW.into(),
        app.now(),
    )
    .await
    .unwrap();
    app.intents()
        .set_plan(ws, shotclock_api::Plan::Enterprise, app.now())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, app));

    let client = reqwest::Client::new();
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.headers()["x-shotclock-api-version"], "1");
    let token = login(&client, &base, "o@acme.test").await;
    let auth = format!("Bearer {token}");

    // Live events over a real socket.
    let events = client
        .get(format!("{base}/api/v1/events"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let mut stream = events.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("event: ready") {
        seen.push_str(&String::from_utf8_lossy(
            &stream.next().await.unwrap().unwrap(),
        ));
    }
    client
        .patch(format!("{base}/api/v1/workspace"))
        .header("authorization", &auth)
        .json(&json!({"screenshots_enabled": true}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let entry = EntryId::new();
    client
        .post(format!("{base}/api/v1/timer/start"))
        .header("authorization", &auth)
        .json(&json!({"entry_id": entry, "description": "real", "start": now_rfc(TimeDelta::minutes(-5))}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), async {
        while !(seen.contains("event: notification") && seen.contains("event: timer_started")) {
            seen.push_str(&String::from_utf8_lossy(
                &stream.next().await.unwrap().unwrap(),
            ));
        }
    })
    .await
    .expect("live events");

    let id = ScreenshotId::new();
    let bytes = image(1);
    let r = client
        .put(format!(
            "{base}/api/v1/screenshots/{id}?entry_id={entry}&captured_at={}",
            now_rfc(TimeDelta::zero())
        ))
        .header("authorization", &auth)
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let img = client
        .get(format!("{base}/api/v1/screenshots/{id}/image"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(img.status(), 200);
    assert_eq!(img.bytes().await.unwrap().as_ref(), bytes.as_slice());
    // An over-limit body streamed without Content-Length over a real socket.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..700).map(|_| Ok(vec![0u8; 4096])).collect();
    let r = client
        .put(format!(
            "{base}/api/v1/screenshots/{}?entry_id={entry}&captured_at={}",
            ScreenshotId::new(),
            now_rfc(TimeDelta::zero())
        ))
        .header("authorization", &auth)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status(), 413);
    }
}

/// `serve` on `dir`, with the rows in `database` (through `SHOTCLOCK_DATABASE_URL`, as a
/// deployment passes it) or, without one, in the data directory.
async fn start_server(dir: &std::path::Path, database: Option<&str>) -> (Child, String) {
    start_server_with(dir, database, None).await
}

/// [`start_server`], with the images in `bucket` (through `SHOTCLOCK_BLOBS_URL` and the AWS_*
/// credential variables) when given.
async fn start_server_with(
    dir: &std::path::Path,
    database: Option<&str>,
    bucket: Option<&shotclock_tests3::Bucket>,
) -> (Child, String) {
    start_server_args(dir, database, bucket, &[]).await
}

/// [`start_server_with`], with more arguments to `serve`.
async fn start_server_args(
    dir: &std::path::Path,
    database: Option<&str>,
    bucket: Option<&shotclock_tests3::Bucket>,
    args: &[&str],
) -> (Child, String) {
    let mut command = serve_command(dir, database, bucket);
    command.args(args);
    let (child, addr) = spawn::spawn_listening(&mut command, Duration::from_secs(20)).await;
    (child, format!("http://{addr}"))
}

fn serve_command(
    dir: &std::path::Path,
    database: Option<&str>,
    bucket: Option<&shotclock_tests3::Bucket>,
) -> Command {
    let mut command = Command::new(BIN);
    match database {
        Some(url) => command.env("SHOTCLOCK_DATABASE_URL", url),
        None => command.env_remove("SHOTCLOCK_DATABASE_URL"),
    };
    match bucket {
        Some(bucket) => command
            .env("SHOTCLOCK_BLOBS_URL", bucket.url())
            .env("AWS_ACCESS_KEY_ID", shotclock_tests3::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", shotclock_tests3::SECRET_KEY),
        None => command.env_remove("SHOTCLOCK_BLOBS_URL"),
    };
    command
        .args(["serve", "--data-dir"])
        .arg(dir)
        .args(["--listen", "127.0.0.1:0"]);
    command
}

/// An administration command, with `--database URL` when given; [`PW`] is on its standard
/// input and in `SHOTCLOCK_TEST_PASSWORD`.
fn run_cli(database: Option<&str>, args: &[&str]) -> String {
    use std::io::Write as _;
    let mut command = std::process::Command::new(BIN);
    command
        .env_remove("SHOTCLOCK_DATABASE_URL")
        .env_remove("SHOTCLOCK_BLOBS_URL")
        .env("SHOTCLOCK_TEST_PASSWORD", PW)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .args(args);
    if let Some(url) = database {
        command.args(["--database", url]);
    }
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // A command that reads no password may have exited already.
    let _ = writeln!(stdin, "{PW}");
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn kill_9_mid_upload_loses_nothing_acknowledged_and_duplicates_nothing() {
    kill_9_mid_upload(None).await;
}

/// The same on PostgreSQL: the administration commands reach it with `--database`, `serve`
/// through `SHOTCLOCK_DATABASE_URL`.
#[tokio::test]
async fn on_postgres_kill_9_mid_upload_loses_nothing_acknowledged_and_duplicates_nothing() {
    kill_9_mid_upload(Some(&shotclock_testpg::database())).await;
}

/// Two replicas of the binary on one PostgreSQL database, each with its own data directory: a
/// session opened through one works on the other, what one writes the other reads at once, and
/// a sign-out through one ends the session on both; with the images in one bucket of a real
/// S3-compatible server, an image uploaded through one is served and deleted through the other.
#[tokio::test]
async fn two_replicas_on_one_postgres_and_one_bucket_share_sessions_rows_and_images() {
    let url = shotclock_testpg::database();
    let bucket = shotclock_tests3::bucket();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = dir_a.path().to_str().unwrap();
    let ws = run_cli(
        Some(&url),
        &[
            "create-workspace",
            "--data-dir",
            a,
            "--name",
            "Acme",
            "--owner-email",
            "o@acme.test",
            "--owner-password",
            "-",
        ],
    );
    run_cli(
        Some(&url),
        &[
            "add-member",
            "--data-dir",
            a,
            "--workspace",
            &ws,
            "--email",
            "m@acme.test",
            "--password-env",
            "SHOTCLOCK_TEST_PASSWORD",
        ],
    );
    run_cli(
        Some(&url),
        &[
            "set-plan",
            "--data-dir",
            a,
            "--workspace",
            &ws,
            "enterprise",
        ],
    );
    let (_a, base_a) = start_server_with(dir_a.path(), Some(&url), Some(&bucket)).await;
    let (_b, base_b) = start_server_with(dir_b.path(), Some(&url), Some(&bucket)).await;
    let client = reqwest::Client::new();
    let owner = login(&client, &base_b, "o@acme.test").await;
    client
        .patch(format!("{base_b}/api/v1/workspace"))
        .bearer_auth(&owner)
        .json(&json!({"screenshots_enabled": true}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let token = login(&client, &base_a, "m@acme.test").await;
    let entry = EntryId::new();
    client
        .post(format!("{base_b}/api/v1/timer/start"))
        .bearer_auth(&token)
        .json(&json!({"entry_id": entry, "start": now_rfc(TimeDelta::minutes(-1))}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let running: Value = client
        .get(format!("{base_a}/api/v1/timer"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(running["running"]["id"], entry.to_string());

    // Upload through A; list, fetch and delete through B; gone on A, and from the bucket.
    let shot = ScreenshotId::new();
    let bytes = image(1);
    client
        .put(format!(
            "{base_a}/api/v1/screenshots/{shot}?entry_id={entry}&captured_at={}",
            now_rfc(TimeDelta::zero())
        ))
        .bearer_auth(&token)
        .body(bytes.clone())
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let image_of = |base: &str| {
        client
            .get(format!("{base}/api/v1/screenshots/{shot}/image"))
            .bearer_auth(&token)
            .send()
    };
    let served = image_of(&base_b).await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.bytes().await.unwrap(), bytes);
    assert_eq!(bucket_objects(&bucket), 1);
    // R20: a running entry's screenshots are deleted after the timer stops.
    client
        .post(format!("{base_b}/api/v1/timer/stop"))
        .bearer_auth(&token)
        .json(&json!({"end": now_rfc(TimeDelta::zero())}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    client
        .delete(format!("{base_b}/api/v1/screenshots/{shot}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    assert_eq!(image_of(&base_a).await.unwrap().status(), 404);
    assert_eq!(
        bucket_objects(&bucket),
        0,
        "the bytes are deleted from the bucket"
    );

    client
        .post(format!("{base_b}/api/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let after = client
        .get(format!("{base_a}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
}

/// Objects in `bucket` (a signed `ListObjectsV2`).
fn bucket_objects(bucket: &shotclock_tests3::Bucket) -> usize {
    let (status, body) =
        shotclock_tests3::server().request("GET", &format!("/{}?list-type=2", bucket.name), b"");
    assert_eq!(status, 200, "{body}");
    body.matches("<Key>").count()
}

/// `serve` refuses, before listening, a bucket it cannot use: a wrong secret, or versioning on.
#[tokio::test]
async fn serve_refuses_a_wrong_secret_and_a_versioned_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = shotclock_tests3::bucket();
    let out = serve_command(dir.path(), None, Some(&bucket))
        .env("AWS_SECRET_ACCESS_KEY", "not-the-secret")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("denied"), "{err}");
    assert!(!err.contains("not-the-secret"), "{err}");
    let (status, body) = shotclock_tests3::server().request(
        "PUT",
        &format!("/{}?versioning", bucket.name),
        br#"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"#,
    );
    assert_eq!(status, 200, "{body}");
    let out = serve_command(dir.path(), None, Some(&bucket))
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("versioning"), "{err}");
}

/// A new member's password on the command line is refused, and not repeated.
#[test]
fn an_account_password_on_the_command_line_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(BIN)
        .env_remove("SHOTCLOCK_DATABASE_URL")
        .env_remove("SHOTCLOCK_BLOBS_URL")
        .args(["create-workspace", "--data-dir"])
        .arg(dir.path())
        .args(["--name", "Acme", "--owner-email", "o@acme.test"])
        .args(["--owner-password", "hunter2 hunter2 hunter2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("standard input"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    // Nothing on standard input and no variable: refused too.
    let out = std::process::Command::new(BIN)
        .env_remove("SHOTCLOCK_DATABASE_URL")
        .env_remove("SHOTCLOCK_BLOBS_URL")
        .args(["create-workspace", "--data-dir"])
        .arg(dir.path())
        .args(["--name", "Acme", "--owner-email", "o@acme.test"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no password"),
        "{out:?}"
    );
}

/// A password on the command line is refused before anything is opened.
#[test]
fn a_database_password_on_the_command_line_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(BIN)
        .env_remove("SHOTCLOCK_DATABASE_URL")
        .args(["set-plan", "--data-dir"])
        .arg(dir.path())
        .args(["--database", "postgres://u:hunter2@127.0.0.1:1/db"])
        .args([
            "--workspace",
            &uuid::Uuid::now_v7().to_string(),
            "enterprise",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PGPASSWORD"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

async fn kill_9_mid_upload(database: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let ws = run_cli(
        database,
        &[
            "create-workspace",
            "--data-dir",
            d,
            "--name",
            "Acme",
            "--owner-email",
            "o@acme.test",
        ],
    );
    run_cli(
        database,
        &[
            "set-plan",
            "--data-dir",
            d,
            "--workspace",
            &ws,
            "enterprise",
        ],
    );
    let member = run_cli(
        database,
        &[
            "add-member",
            "--data-dir",
            d,
            "--workspace",
            &ws,
            "--email",
            "m@acme.test",
            "--password-env",
            "SHOTCLOCK_TEST_PASSWORD",
        ],
    );
    assert!(member.parse::<uuid::Uuid>().is_ok());

    let (mut child, base) = start_server(dir.path(), database).await;
    let client = reqwest::Client::new();
    let owner = login(&client, &base, "o@acme.test").await;
    client
        .patch(format!("{base}/api/v1/workspace"))
        .bearer_auth(&owner)
        .json(&json!({"screenshots_enabled": true}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let token = login(&client, &base, "m@acme.test").await;
    let entry = EntryId::new();
    client
        .post(format!("{base}/api/v1/timer/start"))
        .bearer_auth(&token)
        .json(&json!({"entry_id": entry, "start": now_rfc(TimeDelta::minutes(-10))}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();

    // Every attempt is recorded before it is sent; acknowledgements after the 2xx.
    let attempts: Attempts = Arc::default();
    let acked: Arc<Mutex<HashMap<ScreenshotId, String>>> = Arc::default();
    let mut workers = Vec::new();
    for w in 0..12u64 {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        let (attempts, acked) = (attempts.clone(), acked.clone());
        workers.push(tokio::spawn(async move {
            for i in 0..10_000u64 {
                let id = ScreenshotId::new();
                let bytes = image(w << 32 | i);
                let hash = hex::encode(Sha256::digest(&bytes));
                let at = now_rfc(TimeDelta::zero());
                attempts
                    .lock()
                    .unwrap()
                    .insert(id, (bytes.clone(), at.clone()));
                let r = client
                    .put(format!(
                        "{base}/api/v1/screenshots/{id}?entry_id={entry}&captured_at={at}"
                    ))
                    .bearer_auth(&token)
                    .body(bytes)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().is_success() => {
                        let body: Value = r.json().await.unwrap_or_default();
                        assert_eq!(body["sha256"], hash.as_str());
                        acked.lock().unwrap().insert(id, hash);
                    }
                    Ok(r) => panic!("unexpected status {}", r.status()),
                    Err(_) => break,
                }
            }
        }));
    }
    // The kill lands at a random moment after the first acknowledgement (on a busy machine
    // the first one can take longer than any fixed delay).
    let first_ack = acked.clone();
    eventually("a first upload acknowledged", async || {
        !first_ack.lock().unwrap().is_empty()
    })
    .await;
    let delay = rand::rng().random_range(0..900);
    tokio::time::sleep(Duration::from_millis(delay)).await;
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    for w in workers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let attempts = attempts.lock().unwrap().clone();
    eprintln!(
        "killed {delay} ms after the first acknowledgement: {} acknowledged of {} attempted",
        acked.len(),
        attempts.len()
    );
    assert!(!acked.is_empty(), "some uploads finished before the kill");

    let (_child, base) = start_server(dir.path(), database).await;
    let token = login(&client, &base, "m@acme.test").await;
    for (id, hash) in &acked {
        let r = client
            .get(format!("{base}/api/v1/screenshots/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "acknowledged {id} survived");
        assert_eq!(r.json::<Value>().await.unwrap()["sha256"], hash.as_str());
    }
    let day = |base: String, token: String| {
        let client = client.clone();
        async move {
            let date = Utc::now().format("%Y-%m-%d");
            let r: Value = client
                .get(format!("{base}/api/v1/screenshots?date={date}&tz=UTC"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            r["screenshots"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let listed = day(base.clone(), token.clone()).await;
    let unique: std::collections::HashSet<_> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len(), "nothing listed twice");
    assert!(listed.len() >= acked.len() && listed.len() <= attempts.len());
    // The client's retry of every attempt (acknowledged or not) converges without conflicts.
    for (id, (bytes, at)) in &attempts {
        let r = client
            .put(format!(
                "{base}/api/v1/screenshots/{id}?entry_id={entry}&captured_at={at}"
            ))
            .bearer_auth(&token)
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        assert!(
            r.status() == 200 || r.status() == 201,
            "retry of {id}: {}",
            r.status()
        );
    }
    assert_eq!(day(base, token).await.len(), attempts.len());
}

/// Reads `stream` until `needle` arrives (or the stream ends: then `false`).
async fn read_until<S, B, E>(stream: &mut S, seen: &mut String, needle: &str) -> bool
where
    S: futures_util::Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
{
    while !seen.contains(needle) {
        match stream.next().await {
            Some(Ok(chunk)) => seen.push_str(&String::from_utf8_lossy(chunk.as_ref())),
            _ => return false,
        }
    }
    true
}

#[tokio::test]
async fn a_sign_out_closes_that_sessions_event_stream_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(Config::new(dir.path())).await.unwrap();
    shotclock_server::api::create_workspace(
        &app,
        "Acme".into(),
        "o@acme.test",
        "O",
        PW.into(),
        app.now(),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, app));
    let client = reqwest::Client::new();

    // Two devices of the same person, each with its own session and stream.
    let mut streams = Vec::new();
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let token = login(&client, &base, "o@acme.test").await;
        let resp = client
            .get(format!("{base}/api/v1/events"))
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let mut stream = resp.bytes_stream();
        let mut seen = String::new();
        assert!(read_until(&mut stream, &mut seen, "event: ready").await);
        streams.push(stream);
        tokens.push(token);
    }

    let r = client
        .post(format!("{base}/api/v1/auth/logout"))
        .header("authorization", format!("Bearer {}", tokens[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    // The signed-out device's stream ends (keep-alives are 15 s apart: an end within 10 s is
    // the close, not a timeout)...
    let mut first = streams.remove(0);
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(item) = first.next().await {
            item.unwrap();
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream of the ended session stayed open");
    // ... and its reconnect is refused.
    let again = client
        .get(format!("{base}/api/v1/events"))
        .header("authorization", format!("Bearer {}", tokens[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 401);

    // The other device still hears its events.
    let mut second = streams.remove(0);
    client
        .post(format!("{base}/api/v1/timer/start"))
        .header("authorization", format!("Bearer {}", tokens[1]))
        .json(&json!({"entry_id": EntryId::new(), "description": "still here"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let mut seen = String::new();
    let heard = tokio::time::timeout(
        Duration::from_secs(10),
        read_until(&mut second, &mut seen, "event: timer_started"),
    )
    .await;
    assert_eq!(
        heard.ok(),
        Some(true),
        "the other session's stream: {seen:?}"
    );
}

/// A workspace on `url` with an owner `o@acme.test`, a member `m@acme.test` (both [`PW`]), the
/// enterprise plan and capture on; returns the workspace's and the member's ids.
fn workspace_on(url: &str, dir: &str) -> (String, String) {
    let ws = run_cli(
        Some(url),
        &[
            "create-workspace",
            "--data-dir",
            dir,
            "--name",
            "Acme",
            "--owner-email",
            "o@acme.test",
        ],
    );
    let member = run_cli(
        Some(url),
        &[
            "add-member",
            "--data-dir",
            dir,
            "--workspace",
            &ws,
            "--email",
            "m@acme.test",
        ],
    );
    run_cli(
        Some(url),
        &[
            "set-plan",
            "--data-dir",
            dir,
            "--workspace",
            &ws,
            "enterprise",
        ],
    );
    run_cli(
        Some(url),
        &["enable-screenshots", "--data-dir", dir, "--workspace", &ws],
    );
    (ws, member)
}

/// An open event stream of `token` on `base`, past its `ready` frame.
async fn event_stream(
    client: &reqwest::Client,
    base: &str,
    token: &str,
) -> (
    impl futures_util::Stream<Item = reqwest::Result<axum::body::Bytes>> + Unpin,
    String,
) {
    let resp = client
        .get(format!("{base}/api/v1/events"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut stream = resp.bytes_stream();
    let mut seen = String::new();
    assert!(read_until(&mut stream, &mut seen, "event: ready").await);
    (stream, seen)
}

/// Waits (at most 10 s) for `needle` on `stream`.
async fn hears<S, B, E>(stream: &mut S, seen: &mut String, needle: &str)
where
    S: futures_util::Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
{
    let heard = tokio::time::timeout(Duration::from_secs(10), read_until(stream, seen, needle))
        .await
        .unwrap_or(false);
    assert!(heard, "waiting for {needle:?}, the stream said: {seen:?}");
}

/// Two replicas of the binary on one PostgreSQL database and one bucket: live events cross
/// from one to the other through `LISTEN`/`NOTIFY` — a timer started and stopped through B
/// reaches the member's stream on A, an admin's delete through B too, and a sign-out through B
/// closes the stream on A. When A's listener connection is killed, A's streams are told they
/// lagged once it listens again, and later events arrive again.
#[tokio::test]
async fn live_events_cross_replicas_and_a_lost_listener_means_lagged() {
    let url = shotclock_testpg::database();
    let bucket = shotclock_tests3::bucket();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    workspace_on(&url, dir_a.path().to_str().unwrap());
    let (_a, base_a) = start_server_with(dir_a.path(), Some(&url), Some(&bucket)).await;
    let (_b, base_b) = start_server_with(dir_b.path(), Some(&url), Some(&bucket)).await;
    let client = reqwest::Client::new();
    let member = login(&client, &base_a, "m@acme.test").await;
    let owner = login(&client, &base_b, "o@acme.test").await;
    let (mut on_a, mut seen) = event_stream(&client, &base_a, &member).await;

    let entry = EntryId::new();
    client
        .post(format!("{base_b}/api/v1/timer/start"))
        .bearer_auth(&member)
        .json(&json!({"entry_id": entry, "description": "relayed", "start": now_rfc(TimeDelta::minutes(-5))}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    hears(&mut on_a, &mut seen, "event: timer_started").await;
    assert!(seen.contains(&entry.to_string()) && seen.contains("relayed"));

    let shot = ScreenshotId::new();
    client
        .put(format!(
            "{base_a}/api/v1/screenshots/{shot}?entry_id={entry}&captured_at={}",
            now_rfc(TimeDelta::zero())
        ))
        .bearer_auth(&member)
        .body(image(7))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    client
        .post(format!("{base_b}/api/v1/timer/stop"))
        .bearer_auth(&member)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    hears(&mut on_a, &mut seen, "event: timer_stopped").await;
    client
        .delete(format!("{base_b}/api/v1/screenshots/{shot}"))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    hears(&mut on_a, &mut seen, "event: screenshot_deleted").await;
    assert!(seen.contains(&shot.to_string()));

    // The listener connections are killed (both replicas'): once A listens again, its stream
    // hears that it may have missed events, and events flow again.
    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let killed = db
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = $1 AND datname = current_database()",
            &[&shotclock_server::store::postgres::LISTENER_NAME],
        )
        .await
        .unwrap();
    assert_eq!(killed.len(), 2, "one listener per replica");
    hears(&mut on_a, &mut seen, "event: lagged").await;
    client
        .post(format!("{base_b}/api/v1/timer/start"))
        .bearer_auth(&member)
        .json(&json!({"entry_id": EntryId::new(), "description": "after the gap"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    hears(&mut on_a, &mut seen, "after the gap").await;

    // A sign-out through B ends the stream on A.
    client
        .post(format!("{base_b}/api/v1/auth/logout"))
        .bearer_auth(&member)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(item) = on_a.next().await {
            item.unwrap();
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream on A outlived its session");
}

/// One counter of a replica's `/metrics` (0 when absent).
async fn metric(client: &reqwest::Client, base: &str, series: &str) -> u64 {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0)
}

/// Two replicas on one PostgreSQL database and one bucket, both running maintenance every
/// second: the purge runs on one replica at a time. While another session holds the
/// maintenance lock, both replicas skip their rounds and nothing is purged; once it is free, one
/// replica purges every expired screenshot in one round and the other purges none.
#[tokio::test]
async fn two_replicas_purge_once_not_twice() {
    const EXPIRED: usize = 1_200;
    let url = shotclock_testpg::database();
    let bucket = shotclock_tests3::bucket();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ws, member) = workspace_on(&url, dir_a.path().to_str().unwrap());

    // Another replica, as far as the lock goes.
    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    db.execute(
        "SELECT pg_advisory_lock($1)",
        &[&shotclock_server::store::postgres::MAINTENANCE_LOCK],
    )
    .await
    .unwrap();

    // Expired screenshots (8 days old), in more than one purge batch.
    let seed_dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(seed_dir.path());
    config.database = Some(shotclock_server::store::Database::parse(&url, |_| None).unwrap());
    let seeder = App::open(config).await.unwrap();
    let (ws, user) = (ws.parse().unwrap(), member.parse().unwrap());
    let start = Utc::now() - TimeDelta::days(8);
    let entry = EntryId::new();
    seeder
        .intents()
        .bulk_insert_entries(vec![shotclock_server::store::EntryRow {
            id: entry,
            workspace_id: ws,
            user_id: user,
            description: "old".into(),
            times: shotclock_domain::entry::EntryTimes::new(
                start,
                Some(start + TimeDelta::hours(20)),
            ),
            approved: false,
            manual: false,
            created_at: start,
        }])
        .await
        .unwrap();
    let shots = (0..EXPIRED)
        .map(|k| {
            let id = ScreenshotId::new();
            shotclock_server::store::ScreenshotRow {
                id,
                workspace_id: ws,
                user_id: user,
                entry_id: entry,
                captured_at: start + TimeDelta::seconds(k as i64),
                sha256: [7; 32],
                size: 6000,
                width: 640,
                height: 360,
                blob_key: format!("07/{id}-0707070707070707.webp"),
                uploaded_at: start,
            }
        })
        .collect();
    seeder
        .intents()
        .bulk_insert_screenshots(shots)
        .await
        .unwrap();
    drop(seeder);
    let stored = async || -> i64 {
        db.query_one("SELECT count(*) FROM screenshots", &[])
            .await
            .unwrap()
            .get(0)
    };
    assert_eq!(stored().await, EXPIRED as i64);

    let every = ["--maintenance-every-secs", "1"];
    let (_a, base_a) = start_server_args(dir_a.path(), Some(&url), Some(&bucket), &every).await;
    let (_b, base_b) = start_server_args(dir_b.path(), Some(&url), Some(&bucket), &every).await;
    let client = reqwest::Client::new();
    const SKIPPED: &str = "shotclock_maintenance_rounds_total{outcome=\"skipped\"}";
    const PURGED: &str = "shotclock_purged_screenshots_total";
    eventually(
        "both replicas skip rounds while the lock is held elsewhere",
        async || {
            metric(&client, &base_a, SKIPPED).await >= 2
                && metric(&client, &base_b, SKIPPED).await >= 2
        },
    )
    .await;
    assert_eq!(stored().await, EXPIRED as i64, "nothing purged meanwhile");

    db.execute(
        "SELECT pg_advisory_unlock($1)",
        &[&shotclock_server::store::postgres::MAINTENANCE_LOCK],
    )
    .await
    .unwrap();
    eventually("the expired screenshots are purged", async || {
        stored().await == 0
    })
    .await;
    eventually("the purging round is counted", async || {
        metric(&client, &base_a, PURGED).await + metric(&client, &base_b, PURGED).await
            == EXPIRED as u64
    })
    .await;
    let mut purged = [
        metric(&client, &base_a, PURGED).await,
        metric(&client, &base_b, PURGED).await,
    ];
    purged.sort_unstable();
    assert_eq!(
        purged,
        [0, EXPIRED as u64],
        "one replica purged everything, the other nothing"
    );
}

/// Two replicas on one PostgreSQL database share the sign-in throttle: wrong passwords for one
/// email alternating between them lock it after `MAX_FAILURES` in all (not per replica), on
/// both, even for the right password.
#[tokio::test]
async fn the_sign_in_throttle_holds_across_replicas() {
    let url = shotclock_testpg::database();
    let bucket = shotclock_tests3::bucket();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    workspace_on(&url, dir_a.path().to_str().unwrap());
    let (_a, base_a) = start_server_with(dir_a.path(), Some(&url), Some(&bucket)).await;
    let (_b, base_b) = start_server_with(dir_b.path(), Some(&url), Some(&bucket)).await;
    let client = reqwest::Client::new();
    let attempt = async |base: &str, password: &str| {
        client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": "m@acme.test", "password": password}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    for i in 0..shotclock_server::auth::MAX_FAILURES {
        let base = if i % 2 == 0 { &base_a } else { &base_b };
        assert_eq!(
            attempt(base, "not the password at all").await,
            401,
            "attempt {i}"
        );
    }
    assert_eq!(attempt(&base_a, PW).await, 429, "locked on A");
    assert_eq!(attempt(&base_b, PW).await, 429, "locked on B");
}

/// With the rows in PostgreSQL and the images in a bucket, `serve` needs no data directory (and
/// writes nothing where it runs); with the images left to their default, a data directory is
/// asked for.
#[tokio::test]
async fn no_data_directory_is_needed_on_postgres_and_a_bucket() {
    let url = shotclock_testpg::database();
    let bucket = shotclock_tests3::bucket();
    let cwd = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .current_dir(cwd.path())
        .env_remove("SHOTCLOCK_DATABASE_URL")
        .env_remove("SHOTCLOCK_BLOBS_URL")
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &url])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--data-dir is needed"), "{err}");

    let (_child, addr) = spawn::spawn_listening(
        Command::new(BIN)
            .current_dir(cwd.path())
            .env("SHOTCLOCK_DATABASE_URL", &url)
            .env("SHOTCLOCK_BLOBS_URL", bucket.url())
            .env("AWS_ACCESS_KEY_ID", shotclock_tests3::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", shotclock_tests3::SECRET_KEY)
            .args(["serve", "--listen", "127.0.0.1:0"]),
        Duration::from_secs(20),
    )
    .await;
    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        std::fs::read_dir(cwd.path()).unwrap().count(),
        0,
        "nothing is written where it runs"
    );
}

/// The administration commands open the database only: an image storage that cannot be reached
/// does not stop them, and they need no data directory when the database is named.
#[test]
fn administration_commands_do_not_open_the_image_storage() {
    let url = shotclock_testpg::database();
    let out = std::process::Command::new(BIN)
        .env("SHOTCLOCK_DATABASE_URL", &url)
        .env(
            "SHOTCLOCK_BLOBS_URL",
            "s3://nowhere?endpoint=http://127.0.0.1:1&region=us-east-1",
        )
        .env("AWS_ACCESS_KEY_ID", "unused")
        .env("AWS_SECRET_ACCESS_KEY", "unused")
        .env("SHOTCLOCK_TEST_PASSWORD", PW)
        .args([
            "create-workspace",
            "--name",
            "Acme",
            "--owner-email",
            "o@acme.test",
            "--owner-password-env",
            "SHOTCLOCK_TEST_PASSWORD",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ws = String::from_utf8(out.stdout).unwrap();
    let out = std::process::Command::new(BIN)
        .env_remove("SHOTCLOCK_DATABASE_URL")
        .env_remove("SHOTCLOCK_BLOBS_URL")
        .args([
            "set-plan",
            "--database",
            &url,
            "--workspace",
            ws.trim(),
            "enterprise",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
