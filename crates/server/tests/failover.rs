//! Failover between two replicas of the `shotclock-server` binary, as separate processes on one
//! PostgreSQL database and one S3-compatible bucket (real servers), behind a TCP front that sends
//! each new connection to the first replica that accepts it (what a load balancer with health
//! checks does). The desktop engine (`shotclock-agent`, in this process, with a synthetic
//! screen) uploads through the front; replica A gets `kill -9` while an upload is in flight
//! through it; the engine carries on through B, and every capture ends up once at the service
//! and once in the bucket (R24–R26).
//!
//! It lives with the service's tests because only this package's tests get the path of the
//! freshly built `shotclock-server` binary from cargo.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use shotclock_agent::{Agent, AgentConfig, AgentHandle, Session, SystemClock};
use shotclock_api::EntryId;
use shotclock_capture::{CaptureError, Frame, ScreenSource, synthetic};
use shotclock_store::{ScreenshotInfo, ScreenshotState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::Notify;

mod spawn;

const BIN: &str = env!("CARGO_BIN_EXE_shotclock-server");
const PW: &str = "failover test password";
const DEADLINE: Duration = Duration::from_secs(60);

/// A replica: `serve` on the shared database and bucket, on a free port, with a 1 s capture
/// window; returns the process and its address once it listens.
async fn replica(database: &str, bucket: &shotclock_tests3::Bucket) -> (Child, SocketAddr) {
    spawn::spawn_listening(
        Command::new(BIN)
            .env("SHOTCLOCK_DATABASE_URL", database)
            .env("SHOTCLOCK_BLOBS_URL", bucket.url())
            .env("AWS_ACCESS_KEY_ID", shotclock_tests3::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", shotclock_tests3::SECRET_KEY)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--capture-window-secs",
                "1",
            ]),
        DEADLINE,
    )
    .await
}

/// An administration command of the binary on `database`; the password on standard input.
fn admin(database: &str, args: &[&str]) -> String {
    use std::io::Write as _;
    let mut child = std::process::Command::new(BIN)
        .args(args)
        .args(["--database", database])
        .env_remove("SHOTCLOCK_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = writeln!(child.stdin.take().unwrap(), "{PW}");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The front's view: connections sent to each upstream, and a signal each time a screenshot
/// upload's request line passes through it.
struct Front {
    addr: SocketAddr,
    sent: Arc<[AtomicUsize; 2]>,
    upload_seen: Arc<Notify>,
}

/// A TCP front over two upstreams: each accepted connection goes to the first that accepts it.
async fn front(upstreams: [SocketAddr; 2]) -> Front {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sent: Arc<[AtomicUsize; 2]> = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let upload_seen = Arc::new(Notify::new());
    let (counts, seen) = (sent.clone(), upload_seen.clone());
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let (counts, seen) = (counts.clone(), seen.clone());
            tokio::spawn(async move {
                for (i, upstream) in upstreams.iter().enumerate() {
                    if let Ok(outbound) = TcpStream::connect(upstream).await {
                        counts[i].fetch_add(1, Ordering::SeqCst);
                        pipe(inbound, outbound, &seen).await;
                        return;
                    }
                }
            });
        }
    });
    Front {
        addr,
        sent,
        upload_seen,
    }
}

/// Copies both ways until either side closes; notifies `seen` whenever a chunk from the client
/// carries the start of a screenshot upload.
async fn pipe(inbound: TcpStream, outbound: TcpStream, seen: &Notify) {
    let (mut client_rx, mut client_tx) = inbound.into_split();
    let (mut server_rx, mut server_tx) = outbound.into_split();
    let up = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_rx.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if buf[..n]
                .windows(UPLOAD.len())
                .any(|w| w == UPLOAD.as_bytes())
            {
                seen.notify_waiters();
            }
            if server_tx.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let down = tokio::io::copy(&mut server_rx, &mut client_tx);
    tokio::select! {
        () = up => {}
        _ = down => {}
    }
}

const UPLOAD: &str = "PUT /api/v1/screenshots/";

/// A synthetic 1280×720 desktop, a different one at every capture.
struct Desktop;

impl ScreenSource for Desktop {
    fn capture_all(&mut self) -> Result<Vec<Frame>, CaptureError> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let seed = NEXT.fetch_add(1, Ordering::Relaxed) * 7919;
        Ok(vec![synthetic::desktop_frame(0, 0, 1280, 720, seed)?])
    }
}

async fn local_shots(agent: &AgentHandle, entry: EntryId) -> Vec<ScreenshotInfo> {
    agent
        .local_store()
        .call(move |s| s.screenshots_of_entry(entry))
        .await
        .unwrap()
}

async fn until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Objects in `bucket` (a signed `ListObjectsV2`).
fn bucket_keys(bucket: &shotclock_tests3::Bucket) -> Vec<String> {
    let (status, body) =
        shotclock_tests3::server().request("GET", &format!("/{}?list-type=2", bucket.name), b"");
    assert_eq!(status, 200, "{body}");
    body.split("<Key>")
        .skip(1)
        .map(|s| s.split("</Key>").next().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_replica_mid_upload_the_agent_fails_over_and_every_capture_lands_once() {
    let database = shotclock_testpg::database();
    let bucket = shotclock_tests3::bucket();
    let ws = admin(
        &database,
        &[
            "create-workspace",
            "--name",
            "Acme",
            "--owner-email",
            "o@acme.test",
            "--owner-password",
            "-",
        ],
    );
    admin(
        &database,
        &[
            "add-member",
            "--workspace",
            &ws,
            "--email",
            "m@acme.test",
            "--password",
            "-",
        ],
    );
    admin(&database, &["set-plan", "--workspace", &ws, "enterprise"]);
    admin(&database, &["enable-screenshots", "--workspace", &ws]);

    let (mut a, addr_a) = replica(&database, &bucket).await;
    let (_b, addr_b) = replica(&database, &bucket).await;
    let front = front([addr_a, addr_b]).await;
    let url = format!("http://{}", front.addr);
    let data = tempfile::tempdir().unwrap();
    let session = Session::sign_in(&url, "m@acme.test", PW).await.unwrap();
    let config = AgentConfig {
        data_dir: data.path().to_owned(),
        clock: Arc::new(SystemClock),
    };
    let agent = Agent::start(config, session, Desktop).await.unwrap();
    let entry = agent
        .start_timer("through the front".into())
        .await
        .unwrap()
        .entry_id;
    let uploaded = |agent: &AgentHandle| {
        let agent = agent.clone();
        async move {
            local_shots(&agent, entry)
                .await
                .iter()
                .filter(|s| s.state == ScreenshotState::Uploaded)
                .count()
        }
    };
    until("3 screenshots uploaded through A", || async {
        uploaded(&agent).await >= 3
    })
    .await;
    assert_eq!(
        front.sent[1].load(Ordering::SeqCst),
        0,
        "B unused while A lives"
    );

    // The next upload's request line reaches A: kill it then, before it can answer.
    let upload = front.upload_seen.notified();
    tokio::time::timeout(DEADLINE, upload)
        .await
        .expect("another upload through A");
    a.start_kill().unwrap(); // SIGKILL
    let status = a.wait().await.unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "A died of SIGKILL"
    );
    let at_death = local_shots(&agent, entry).await.len();
    eprintln!(
        "A killed mid-upload with {} of {at_death} screenshots acknowledged",
        uploaded(&agent).await
    );

    until("3 more screenshots after A died", || async {
        local_shots(&agent, entry).await.len() >= at_death + 3
    })
    .await;
    agent.stop_timer().await.unwrap();
    until("the outbox to drain into B", || async {
        agent.pending_count().await.unwrap() == 0
    })
    .await;
    assert!(front.sent[1].load(Ordering::SeqCst) > 0, "B never used");

    let local = local_shots(&agent, entry).await;
    assert!(
        local.iter().all(|s| s.state == ScreenshotState::Uploaded),
        "{local:?}"
    );
    let local_ids: HashSet<String> = local.iter().map(|s| s.id.to_string()).collect();
    assert_eq!(local_ids.len(), local.len());

    // The service (through B) lists each capture once.
    let client = reqwest::Client::new();
    let base_b = format!("http://{addr_b}");
    let login: Value = client
        .post(format!("{base_b}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "m@acme.test", "password": PW}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let mut listed = Vec::new();
    let today = chrono::Utc::now().date_naive();
    for day in [today.pred_opt().unwrap(), today, today.succ_opt().unwrap()] {
        let day: Value = client
            .get(format!("{base_b}/api/v1/screenshots?date={day}&tz=UTC"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        listed.extend(
            day["screenshots"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["entry_id"] == entry.to_string())
                .map(|s| s["id"].as_str().unwrap().to_owned()),
        );
    }
    let listed_ids: HashSet<String> = listed.iter().cloned().collect();
    assert_eq!(listed_ids.len(), listed.len(), "a capture listed twice");
    assert_eq!(listed_ids, local_ids, "the service and the device disagree");

    // The bucket holds one object per capture, each named after its screenshot.
    let keys = bucket_keys(&bucket);
    assert_eq!(keys.len(), local.len(), "objects in the bucket: {keys:?}");
    for id in &local_ids {
        assert_eq!(
            keys.iter().filter(|k| k.contains(id.as_str())).count(),
            1,
            "{id} in the bucket: {keys:?}"
        );
    }
    eprintln!(
        "{} captures, each once at the service and in the bucket; the front sent {} \
         connections to A and {} to B",
        local.len(),
        front.sent[0].load(Ordering::SeqCst),
        front.sent[1].load(Ordering::SeqCst)
    );
    agent.shutdown().await;
}
