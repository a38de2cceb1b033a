//! The real `shotclock-agent` binary on the real screen (`XcapSource` under `DISPLAY`):
//! `kill -9` at random moments during capture and upload loses nothing and duplicates nothing
//! (R9, R25, R26); and what the engine costs when idle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::process::{AgentProcess, paint_root, require_display};
use common::proxy::{Fault, Proxy};
use common::{DEADLINE, assert_one_per_window, service_shots_of, unique, window_of};
use rand::Rng;
use shotclock_api::EntryId;
use shotclock_store::{CaptureHealth, ScreenshotState, Store};
use shotclock_testkit::{Storage, TestServer, eventually};

/// Runs `f` on the agent's local buffer, opened as a second connection (the agent may be
/// running: SQLite in WAL mode lets a reader in beside it).
async fn with_store<T, F>(dir: &Path, f: F) -> T
where
    F: FnOnce(&mut Store) -> T + Send + 'static,
    T: Send + 'static,
{
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut store = Store::open(&dir).unwrap();
        f(&mut store)
    })
    .await
    .unwrap()
}

const WINDOW_SECS: u32 = 2;
const ROUNDS: usize = 6;
const UPLOADS: &str = "/api/v1/screenshots/";
const HOLD: Fault = Fault::Delay(Duration::from_millis(1500));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_capture_and_upload_loses_nothing_and_duplicates_nothing() {
    kill_9_during_capture_and_upload_loses_nothing_and_duplicates_nothing_on(Storage::Sqlite).await;
}

/// The same with the service on PostgreSQL and an S3-compatible bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_kill_9_during_capture_and_upload_loses_nothing_and_duplicates_nothing() {
    kill_9_during_capture_and_upload_loses_nothing_and_duplicates_nothing_on(Storage::PostgresS3)
        .await;
}

async fn kill_9_during_capture_and_upload_loses_nothing_and_duplicates_nothing_on(
    storage: Storage,
) {
    let display = require_display();
    paint_root(&display);
    let server = TestServer::on(storage, WINDOW_SECS);
    let ws = server.workspace("crash", &["alice"], true).await;
    let alice = ws.member(0);
    let member = server.sign_in(alice).await;
    let data = tempfile::tempdir().unwrap();

    // The timer runs at the service the whole time (started through the API, R8).
    let entry = EntryId::new();
    member.start_timer(entry, "crash test", None).await.unwrap();

    // The agent talks to the service through a relay that records every exchange and holds
    // the answer to each screenshot's first upload for a moment: the service has committed it,
    // the agent has not heard so yet.
    let first_seen: Arc<Mutex<HashSet<String>>> = Arc::default();
    let relay = Proxy::start(
        server.addr,
        Arc::new(move |method: &str, path: &str| {
            let first = first_seen.lock().unwrap().insert(path.to_owned());
            if method == "PUT" && path.starts_with(UPLOADS) && first {
                HOLD
            } else {
                Fault::Pass
            }
        }),
    )
    .await;
    let mut kills = Vec::new();
    for round in 0..ROUNDS {
        let mut agent = AgentProcess::spawn(&relay.url(), data.path(), &alice.email, &display);
        agent.wait_ready().await;
        let at = if round % 2 == 0 {
            // A random moment: in a capture, a store write, an upload, or idle.
            let after = Duration::from_millis(rand::rng().random_range(200..4500));
            tokio::time::sleep(after).await;
            format!("{after:?} after start")
        } else {
            // While the service's answer to an upload is held: committed there, not yet
            // acknowledged here.
            let seen = relay.exchanges().len();
            eventually("an upload to aim at", DEADLINE, || {
                let held = relay.exchanges()[seen..]
                    .iter()
                    .any(|x| x.fault == HOLD && x.status == Some(201));
                async move { held.then_some(()) }
            })
            .await;
            "while an upload's answer was held".to_owned()
        };
        agent.kill9();
        let captured = agent.log().matches("screenshot captured").count();
        eprintln!("round {round}: kill -9 {at} ({captured} captures logged)");
        kills.push(at);
        let ok = with_store(data.path(), |s| s.integrity_check().unwrap()).await;
        assert!(ok, "integrity_check failed after kill -9 in round {round}");
    }

    // A last, clean run: it resumes, then the timer stops (through the API) and it drains.
    let mut agent = AgentProcess::spawn(&relay.url(), data.path(), &alice.email, &display);
    agent.wait_ready().await;
    eventually("a capture in the clean run", DEADLINE, || {
        let log = agent.log();
        async move { log.contains("screenshot captured").then_some(()) }
    })
    .await;
    let stopped = member.stop_timer(Some(entry), None).await.unwrap();
    let end = stopped.stopped.and_then(|e| e.end).expect("stopped");
    // Settled: the agent mirrored the stop, its queue is empty, and the service holds what it
    // holds — twice in a row, a window apart (a capture in flight at the stop has landed).
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut settled_since: Option<Instant> = None;
    loop {
        let (seen_stop, pending, local) = with_store(data.path(), move |s| {
            let seen = s.get_entry(entry).unwrap().is_some_and(|e| e.end.is_some());
            (
                seen,
                s.pending_count().unwrap(),
                s.screenshots_of_entry(entry).unwrap().len(),
            )
        })
        .await;
        let remote = service_shots_of(&member, entry).await.len();
        let settled = seen_stop && pending == 0 && local == remote;
        match (settled, settled_since) {
            (true, Some(since)) if since.elapsed() >= server.window() => break,
            (true, None) => settled_since = Some(Instant::now()),
            (false, _) => settled_since = None,
            (true, Some(_)) => {}
        }
        assert!(
            Instant::now() < deadline,
            "the agent did not settle (stop seen: {seen_stop}, pending {pending}, \
             {local} local vs {remote} at the service):\n{}",
            agent.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = agent.terminate().await;
    assert!(status.success(), "unclean exit {status}:\n{}", agent.log());

    let (ok, pending, rejected, local, attempts) = with_store(data.path(), move |s| {
        let now = chrono::Utc::now();
        (
            s.integrity_check().unwrap(),
            s.pending_count().unwrap(),
            s.rejected_items().unwrap(),
            s.screenshots_of_entry(entry).unwrap(),
            s.attempts_between(
                now - chrono::TimeDelta::days(1),
                now + chrono::TimeDelta::days(1),
            )
            .unwrap(),
        )
    })
    .await;
    assert!(ok, "integrity_check failed");
    assert_eq!(pending, 0);
    assert!(rejected.is_empty(), "{rejected:#?}");
    let remote = service_shots_of(&member, entry).await;
    let local_ids = unique(&local.iter().map(|s| s.id).collect::<Vec<_>>());
    assert_eq!(
        local_ids,
        unique(&remote.iter().map(|s| s.id).collect::<Vec<_>>()),
        "the service and the device disagree"
    );
    assert!(local.iter().all(|s| s.state == ScreenshotState::Uploaded));
    assert!(
        local.len() >= 3,
        "only {} screenshots over {ROUNDS} rounds",
        local.len()
    );

    let listed = member.entries(None, None, None).await.unwrap().entries;
    let start = listed.iter().find(|e| e.id == entry).unwrap().start;
    let times: Vec<_> = remote.iter().map(|s| s.captured_at).collect();
    assert!(times.iter().all(|t| *t >= start && *t <= end));
    let windows = assert_one_per_window(start, WINDOW_SECS, &times);
    // Locally too: at most one successful attempt per window, stamped in its window.
    let ok_attempts: Vec<_> = attempts
        .iter()
        .filter(|a| a.entry_id == entry && a.health == CaptureHealth::Ok)
        .collect();
    unique(
        &ok_attempts
            .iter()
            .map(|a| a.window_index)
            .collect::<Vec<_>>(),
    );
    for a in &ok_attempts {
        assert_eq!(
            window_of(start, WINDOW_SECS, a.at),
            i64::try_from(a.window_index).unwrap()
        );
    }
    // What the kills did on the wire: uploads the service answered "already stored" (200) were
    // resent after a kill lost the acknowledgement; uploads never answered were cut.
    let uploads: Vec<_> = relay
        .exchanges()
        .into_iter()
        .filter(|x| x.method == "PUT" && x.path.starts_with(UPLOADS))
        .collect();
    let created = uploads.iter().filter(|x| x.status == Some(201)).count();
    assert_eq!(created, local.len(), "each screenshot is created once");
    let resent = uploads.iter().filter(|x| x.status == Some(200)).count();
    let cut = uploads.iter().filter(|x| x.status.is_none()).count();
    assert!(
        resent >= ROUNDS / 2,
        "only {resent} uploads were resent after {} kills during a held answer",
        ROUNDS / 2
    );
    let missed = attempts
        .iter()
        .filter(|a| a.entry_id == entry && a.health == CaptureHealth::Missed)
        .count();
    eprintln!(
        "kill -9 ×{ROUNDS} at {kills:?}: {} screenshots in {} windows, each once at the service; \
         {missed} windows recorded as missed; {} uploads: {resent} resent after a lost \
         acknowledgement, {cut} cut by a kill",
        local.len(),
        windows.len(),
        uploads.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: 60 s; run with --ignored"]
async fn idle_cpu_with_a_running_timer() {
    let display = require_display();
    paint_root(&display);
    let server = TestServer::with_window(300);
    let ws = server.workspace("idle", &["alice"], true).await;
    let alice = ws.member(0);
    let member = server.sign_in(alice).await;
    let data = tempfile::tempdir().unwrap();
    let entry = EntryId::new();
    member
        .start_timer(entry, "idle measurement", None)
        .await
        .unwrap();
    let agent = {
        let mut a = AgentProcess::spawn(&server.url(), data.path(), &alice.email, &display);
        a.wait_ready().await;
        a
    };
    // Settled: the agent has mirrored the running timer.
    eventually("the agent to mirror the timer", DEADLINE, || {
        let dir = data.path().to_owned();
        async move { with_store(&dir, move |s| s.get_entry(entry).unwrap().map(|_| ())).await }
    })
    .await;

    let cpu_before = agent.cpu_time();
    // The reading works: starting up (signing in, opening the store) cost measurable CPU.
    assert!(
        cpu_before > Duration::ZERO,
        "no CPU time read for the agent"
    );
    let wall = Instant::now();
    tokio::time::sleep(Duration::from_secs(60)).await;
    let cpu = agent.cpu_time() - cpu_before;
    let wall = wall.elapsed();
    let percent = cpu.as_secs_f64() / wall.as_secs_f64() * 100.0;
    let captures = agent.log().matches("screenshot captured").count();
    eprintln!(
        "idle CPU: {cpu:?} over {wall:?} = {percent:.3} % ({captures} capture(s) in the period)"
    );
    assert!(percent < 2.0, "the idle agent used {percent:.2} % CPU");
}

/// The headless agent resumes its session the way the desktop app does: with the service
/// unreachable at start and the account known from an earlier run, it starts offline instead of
/// exiting, and its capture goes on once the service confirms the running timer (R8, R25).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_headless_agent_starts_offline_with_a_known_account() {
    let display = require_display();
    paint_root(&display);
    let mut server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("headless-offline", &["alice"], true).await;
    let alice = ws.member(0);
    let member = server.sign_in(alice).await;
    let data = tempfile::tempdir().unwrap();
    let entry = EntryId::new();
    member
        .start_timer(entry, "through an outage", None)
        .await
        .unwrap();

    // A first run signs in and keeps the token and the account (user-only files).
    let mut agent = AgentProcess::spawn(&server.url(), data.path(), &alice.email, &display);
    agent.wait_ready().await;
    eventually("a first upload", DEADLINE, || async {
        (!service_shots_of(&member, entry).await.is_empty()).then_some(())
    })
    .await;
    assert!(agent.terminate().await.success());
    #[cfg(unix)]
    for file in ["session-token", "session-token.account"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{file} is readable by others");
    }

    let before = service_shots_of(&member, entry).await.len();

    // The service is down when the agent starts again: it runs all the same.
    server.stop();
    let mut agent = AgentProcess::spawn(&server.url(), data.path(), &alice.email, &display);
    agent.wait_ready().await;
    assert!(agent.log().contains("starting offline"), "{}", agent.log());

    server.restart();
    eventually(
        "screenshots after the service came back",
        Duration::from_secs(60),
        || async { (service_shots_of(&member, entry).await.len() > before).then_some(()) },
    )
    .await;
    assert!(agent.terminate().await.success());
}
