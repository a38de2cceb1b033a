//! One anonymous client must not take the service down (R37): idle and half-sent connections
//! are closed after the header-read timeout, a flood beyond the connection cap does not keep
//! `/healthz` from answering, and event streams are capped per user.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::future::join_all;
use serde_json::{Value, json};
use shotclock_api::{Role, UserId};
use shotclock_server::store::NewUser;
use shotclock_server::{App, Config, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PW: &str = "crash test password";

async fn start(configure: impl FnOnce(&mut Config)) -> (tempfile::TempDir, App, SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path());
    configure(&mut config);
    let app = App::open(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, app.clone()));
    (dir, app, addr)
}

/// Reads until the peer closes; the time it took, or `None` if still open at `deadline`.
async fn closed_within(mut s: TcpStream, deadline: Instant) -> Option<Instant> {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(deadline.into(), s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return Some(Instant::now()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_half_sent_sockets_neither_block_health_nor_stay_open() {
    // The cap (1,024) is above the flood (600): what frees the places here is the header-read
    // timeout.
    flood_then_probe_health(1024, "under").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_beyond_the_connection_cap_only_evicts_itself() {
    // The cap (256) is far below the flood (600): newcomers take the places of the oldest
    // request-less sockets, so health probes, which send their request at once, get through.
    flood_then_probe_health(256, "over").await;
}

/// 500 idle sockets and 100 half-sent requests, then 50 `/healthz` probes on new connections,
/// each answered within 1 s; every flood socket is closed in the end.
async fn flood_then_probe_health(cap: usize, label: &str) {
    let timeout = Duration::from_secs(2);
    let (_dir, _app, addr) = start(|c| {
        c.max_connections = cap;
        c.header_read_timeout = timeout;
    })
    .await;

    let opened = Instant::now();
    let mut flood = Vec::new();
    for _ in 0..500 {
        flood.push(TcpStream::connect(addr).await.unwrap());
    }
    for _ in 0..100 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            .await
            .unwrap();
        flood.push(s);
    }

    // Health, each probe on a new connection, while the flood is held.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut latencies = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let r = tokio::time::timeout(
            Duration::from_secs(1),
            client.get(format!("http://{addr}/healthz")).send(),
        )
        .await;
        let latency = t.elapsed();
        let status = r.ok().and_then(Result::ok).map(|r| r.status().as_u16());
        assert_eq!(
            status,
            Some(200),
            "/healthz within 1 s under the flood ({latency:?})"
        );
        latencies.push(latency);
    }
    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100 - 1];
    eprintln!(
        "/healthz under 600 flood sockets, cap {cap} ({label}): p50 {:?}, p99 {p99:?}, max {:?}",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );

    // Every flood socket is closed: evicted at once, or after the header-read timeout (the
    // bound leaves room for a slow machine; without the timeout they stay open forever).
    let deadline = opened + timeout + Duration::from_secs(10);
    let closed = join_all(flood.into_iter().map(|s| closed_within(s, deadline))).await;
    let open = closed.iter().filter(|c| c.is_none()).count();
    assert_eq!(open, 0, "{open} of 600 flood sockets still open");
}

#[tokio::test]
async fn a_kept_alive_connection_that_sends_nothing_more_is_closed() {
    let timeout = Duration::from_secs(1);
    let (_dir, _app, addr) = start(|c| c.header_read_timeout = timeout).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("\"status\":\"ok\"") {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the response");
        seen.extend_from_slice(&buf[..n]);
    }
    let answered = Instant::now();
    let closed = closed_within(s, answered + timeout + Duration::from_secs(10)).await;
    let after = closed.map(|c| c - answered);
    assert!(
        after.is_some(),
        "the idle kept-alive connection stayed open"
    );
    eprintln!("idle kept-alive connection closed after {after:?}");
}

async fn add_user(app: &App, ws: shotclock_api::WorkspaceId, email: &str, hash: &str) {
    app.intents()
        .add_user(
            ws,
            NewUser {
                id: UserId::new(),
                email: email.into(),
                name: email.into(),
                password_hash: hash.into(),
                role: Role::Member,
            },
            app.now(),
        )
        .await
        .unwrap();
}

async fn login(client: &reqwest::Client, addr: SocketAddr, email: &str) -> String {
    let r = client
        .post(format!("http://{addr}/api/v1/auth/login"))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_user_opening_a_thousand_event_streams_gets_at_most_the_cap() {
    const CAP: usize = 8;
    let (_dir, app, addr) = start(|c| {
        c.max_event_streams_per_user = CAP;
        c.max_connections = 4096;
    })
    .await;
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
    let hash = shotclock_server::auth::hash_password(PW.into())
        .await
        .unwrap();
    add_user(&app, ws, "other@acme.test", &hash).await;
    let client = reqwest::Client::new();
    let token = login(&client, addr, "o@acme.test").await;

    let started = Instant::now();
    let mut open = Vec::new();
    let mut refused = 0;
    for chunk in 0..20 {
        let attempts = (0..50).map(|_| {
            client
                .get(format!("http://{addr}/api/v1/events"))
                .bearer_auth(&token)
                .send()
        });
        for r in join_all(attempts).await {
            let r = r.unwrap();
            match r.status().as_u16() {
                200 => open.push(r.bytes_stream()),
                429 => {
                    assert!(r.headers().contains_key("retry-after"));
                    refused += 1;
                }
                other => panic!("chunk {chunk}: unexpected {other}"),
            }
        }
    }
    eprintln!(
        "1000 opens in {:?}: {} open, {refused} refused",
        started.elapsed(),
        open.len()
    );
    assert_eq!(open.len(), CAP, "open streams of one user");
    assert_eq!(refused, 1000 - CAP);

    // Another user is not affected by this user's cap.
    let other = login(&client, addr, "other@acme.test").await;
    let r = client
        .get(format!("http://{addr}/api/v1/events"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A closed stream gives its place back (the service notices the close at the latest with
    // its next keep-alive, 15 s apart).
    drop(open.pop());
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let r = client
            .get(format!("http://{addr}/api/v1/events"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            let mut s = r.bytes_stream();
            assert!(s.next().await.is_some());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed stream's place never came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
