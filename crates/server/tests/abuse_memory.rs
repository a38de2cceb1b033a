//! A flood of sign-ins does not grow the service's memory (R37). Alone in its test binary, so
//! the process's resident size is this service's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;
use shotclock_server::{App, Config, serve};

const PW: &str = "crash test password";

/// This process's resident set size in KiB (`VmRSS` of /proc/self/status).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_sign_ins_keep_memory_flat() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path());
    config.hash_workers = 2;
    config.hash_queue = 8;
    // Each request from its own address, so only the hashing pool (not the per-source
    // throttle) stands between the flood and the memory.
    config.trust_forwarded_for = true;
    let app = App::open(config).await.unwrap();
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
    let url = format!(
        "http://{}/api/v1/auth/login",
        listener.local_addr().unwrap()
    );
    tokio::spawn(serve(listener, app));
    let client = reqwest::Client::new();
    let sign_in = |i: u32, email: &'static str| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let r = client
                .post(&url)
                .header(
                    "x-forwarded-for",
                    format!("10.0.{}.{}", i / 250, i % 250 + 1),
                )
                .json(&json!({"email": email, "password": format!("wrong guess {i}")}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.headers().contains_key("retry-after"))
        }
    };
    // Warm up: the pool's threads have hashed once, the client has its connections.
    for i in 0..4 {
        sign_in(1000 + i, "o@acme.test").await;
    }
    let before = rss_kib();

    let peak = Arc::new(AtomicU64::new(before));
    let sampling = {
        let peak = Arc::clone(&peak);
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut answers = Vec::new();
    for wave in 0..3u32 {
        let flood = (0..64).map(|i| {
            let email = if i % 2 == 0 {
                "o@acme.test"
            } else {
                "nobody@acme.test"
            };
            sign_in(wave * 64 + i, email)
        });
        answers.extend(join_all(flood).await);
    }
    sampling.abort();
    let during = peak.load(Ordering::Relaxed).max(rss_kib());
    let after = rss_kib();
    let checked = answers.iter().filter(|(s, _)| *s == 401).count();
    let refused = answers
        .iter()
        .filter(|(s, _)| *s == 429 || *s == 503)
        .count();
    eprintln!(
        "RSS before {} MiB, peak during {} MiB, after {} MiB; {checked} checked, {refused} refused",
        before / 1024,
        during / 1024,
        after / 1024
    );
    for (status, retry_after) in &answers {
        assert!(
            *status == 401 || ((*status == 429 || *status == 503) && *retry_after),
            "answer {status} (Retry-After: {retry_after})"
        );
    }
    assert!(checked > 0, "some guesses were checked");
    assert!(
        during.saturating_sub(before) < 64 * 1024,
        "RSS grew by {} MiB during the flood",
        (during - before) / 1024
    );
}
