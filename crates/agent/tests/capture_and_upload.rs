//! The engine in process against the real service on a real port: capturing while a timer
//! runs, one screenshot per window (R8, R9), each uploaded exactly once (R25), a timer started
//! and stopped elsewhere (R8), and an admin's delete reaching the local buffer without a trace
//! (R24).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{
    DEADLINE, Events, Screen, assert_one_per_window, captured, drained, local_attempts,
    local_shots, service_shots_of, session, start_agent, stop_settled, unique, window_of,
};
use shotclock_agent::{AgentEvent, CaptureStatus};
use shotclock_api::EntryId;
use shotclock_store::{CaptureHealth, DB_FILE_NAME, OutboxKind, ScreenshotState};
use shotclock_testkit::{TestServer, eventually};

const WINDOW_SECS: u32 = 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_timer_uploads_one_screenshot_per_window_exactly_once() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("perwindow", &["alice"], true).await;
    let alice = ws.member(0);
    let data = tempfile::tempdir().unwrap();
    let agent = start_agent(
        data.path(),
        session(&server.url(), alice).await,
        Screen::new(),
    )
    .await;
    let events = Events::record(&agent);
    let t0 = Instant::now();

    let running = agent.start_timer("writing tests".into()).await.unwrap();
    let entry = running.entry_id;
    captured(&agent, entry, 6, Duration::from_secs(60)).await;
    stop_settled(&agent).await;
    drained(&agent, DEADLINE).await;

    let member = server.sign_in(alice).await;
    let listed = member.entries(None, None, None).await.unwrap().entries;
    let remote_entry = listed
        .iter()
        .find(|e| e.id == entry)
        .expect("the entry reached the service");
    let end = remote_entry.end.expect("the stop reached the service");
    let local = local_shots(&agent, entry).await;
    let remote = service_shots_of(&member, entry).await;

    // Exactly once: the same ids on both sides, none twice.
    let local_ids = unique(&local.iter().map(|s| s.id).collect::<Vec<_>>());
    let remote_ids = unique(&remote.iter().map(|s| s.id).collect::<Vec<_>>());
    assert_eq!(
        local_ids, remote_ids,
        "local and service screenshots differ"
    );
    assert!(local.iter().all(|s| s.state == ScreenshotState::Uploaded));
    // The bytes arrived intact.
    for shot in &local {
        let id = shot.id;
        let mine = agent
            .local_store()
            .call(move |s| s.screenshot(id))
            .await
            .unwrap()
            .unwrap();
        let theirs = member.screenshot_image(id).await.unwrap();
        assert_eq!(mine.thumbnail, theirs.to_vec(), "bytes of {id} changed");
    }
    // The UI heard of each capture once.
    let captured: Vec<_> = events
        .since(t0)
        .into_iter()
        .filter_map(|e| match e {
            AgentEvent::Captured { screenshot_id, .. } => Some(screenshot_id),
            _ => None,
        })
        .collect();
    assert_eq!(unique(&captured), local_ids);
    // ... and of each acknowledgement: one `synced` per screenshot (the views reload on it).
    eventually("a `synced` event per screenshot", DEADLINE, || async {
        let synced = events
            .since(t0)
            .into_iter()
            .filter(|e| matches!(e, AgentEvent::Synced { kind } if *kind == OutboxKind::Screenshot))
            .count();
        (synced == local_ids.len()).then_some(())
    })
    .await;

    // One per window (R9), within the entry.
    let times: Vec<_> = remote.iter().map(|s| s.captured_at).collect();
    assert_one_per_window(remote_entry.start, WINDOW_SECS, &times);
    assert!(times.iter().all(|t| *t >= remote_entry.start && *t <= end));

    // Every window that closed before the stop had its moment: captured, or (on a loaded
    // machine that woke after a 1 s window closed) recorded as missed — never silently skipped,
    // never twice.
    let attempts = local_attempts(&agent, entry).await;
    let windows = unique(&attempts.iter().map(|a| a.window_index).collect::<Vec<_>>());
    let closed = u64::try_from(window_of(remote_entry.start, WINDOW_SECS, end)).unwrap();
    for k in 0..closed {
        assert!(
            windows.contains(&k),
            "window {k} has no attempt: {attempts:?}"
        );
    }
    let ok: Vec<_> = attempts
        .iter()
        .filter(|a| a.health == CaptureHealth::Ok)
        .collect();
    assert_eq!(ok.len(), local.len());
    for a in &ok {
        assert!(local_ids.contains(&a.screenshot_id.unwrap()));
        assert_eq!(
            window_of(remote_entry.start, WINDOW_SECS, a.at),
            i64::try_from(a.window_index).unwrap(),
            "attempt stamped outside its window: {a:?}"
        );
    }
    for a in attempts.iter().filter(|a| a.health != CaptureHealth::Ok) {
        assert_eq!(a.health, CaptureHealth::Missed, "{a:?}");
    }
    // Count ≈ windows elapsed.
    let n = u64::try_from(local.len()).unwrap();
    assert!(
        n <= closed + 1 && n * 10 >= closed * 6,
        "{n} screenshots for {closed} closed windows"
    );
    eprintln!(
        "per-window: {n} screenshots, {} attempts, {closed} windows closed before the stop",
        attempts.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_started_and_stopped_through_the_api_turns_capture_on_and_off() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("elsewhere", &["alice"], true).await;
    let alice = ws.member(0);
    let data = tempfile::tempdir().unwrap();
    let screen = Screen::new();
    let agent = start_agent(
        data.path(),
        session(&server.url(), alice).await,
        screen.clone(),
    )
    .await;
    let events = Events::record(&agent);
    // Another client of the same user (another device, a script).
    let other = server.sign_in(alice).await;
    let shots_before = screen.captures();
    assert_eq!(shots_before, 0, "captured without a timer");

    let entry = EntryId::new();
    let t_start = Instant::now();
    other
        .start_timer(entry, "started through the API", None)
        .await
        .unwrap();
    let (active_at, ()) = events
        .wait_for("capture to turn on for the API's entry", t_start, |e| {
            matches!(e, AgentEvent::CaptureChanged { status: CaptureStatus::Active { entry_id, .. } } if *entry_id == entry)
                .then_some(())
        })
        .await;
    let on_latency = active_at - t_start;
    eventually(
        "2 screenshots of the API's entry at the service",
        DEADLINE,
        || async { (service_shots_of(&other, entry).await.len() >= 2).then_some(()) },
    )
    .await;

    let t_stop = Instant::now();
    let stopped = other.stop_timer(Some(entry), None).await.unwrap();
    let end = stopped
        .stopped
        .and_then(|e| e.end)
        .expect("the API stopped the entry");
    let (off_at, ()) = events
        .wait_for("capture to turn off", t_stop, |e| {
            matches!(
                e,
                AgentEvent::CaptureChanged {
                    status: CaptureStatus::Off { .. }
                }
            )
            .then_some(())
        })
        .await;
    let off_latency = off_at - t_stop;
    eprintln!("API start → capture on: {on_latency:?}; API stop → capture off: {off_latency:?}");
    assert!(
        on_latency < Duration::from_secs(5),
        "capture turned on {on_latency:?} after the API start"
    );
    assert!(
        off_latency < Duration::from_secs(5),
        "capture turned off {off_latency:?} after the API stop"
    );

    // Once the stop settled (a capture already running may finish), nothing more for 3 windows.
    drained(&agent, DEADLINE).await;
    let captures = screen.captures();
    let attempts = local_attempts(&agent, entry).await.len();
    tokio::time::sleep(Duration::from_secs(3 * u64::from(WINDOW_SECS))).await;
    assert_eq!(screen.captures(), captures, "captured after the stop");
    assert_eq!(local_attempts(&agent, entry).await.len(), attempts);
    assert!(
        !events
            .since(off_at)
            .iter()
            .any(|e| matches!(e, AgentEvent::Captured { .. })),
        "a screenshot was taken after capture turned off"
    );

    // What was taken belongs to the entry, within it, once per window, exactly once.
    let remote = service_shots_of(&other, entry).await;
    let local = local_shots(&agent, entry).await;
    assert_eq!(
        unique(&remote.iter().map(|s| s.id).collect::<Vec<_>>()),
        unique(&local.iter().map(|s| s.id).collect::<Vec<_>>())
    );
    let listed = other.entries(None, None, None).await.unwrap().entries;
    let start = listed.iter().find(|e| e.id == entry).unwrap().start;
    let times: Vec<_> = remote.iter().map(|s| s.captured_at).collect();
    assert!(times.iter().all(|t| *t >= start && *t <= end), "{times:?}");
    assert_one_per_window(start, WINDOW_SECS, &times);
}

fn contains(path: &Path, marker: &[u8]) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.windows(marker.len()).any(|w| w == marker))
}

fn wal(db: &Path) -> std::path::PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    name.into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screenshot_an_admin_deletes_leaves_no_trace_in_the_local_files() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("forensic", &["alice"], true).await;
    let alice = ws.member(0);
    let data = tempfile::tempdir().unwrap();
    let agent = start_agent(
        data.path(),
        session(&server.url(), alice).await,
        Screen::new(),
    )
    .await;
    let events = Events::record(&agent);

    let entry = agent
        .start_timer("to be reviewed".into())
        .await
        .unwrap()
        .entry_id;
    captured(&agent, entry, 3, DEADLINE).await;
    // A running entry's screenshot cannot be deleted (R20): stop first.
    stop_settled(&agent).await;
    drained(&agent, DEADLINE).await;

    let local = local_shots(&agent, entry).await;
    let victim = local[local.len() / 2].id;
    let thumb = agent
        .local_store()
        .call(move |s| s.screenshot(victim))
        .await
        .unwrap()
        .unwrap()
        .thumbnail;
    let at = thumb.len() / 2;
    let marker = thumb[at..at + 32].to_vec();
    let db = data.path().join(DB_FILE_NAME);
    // The scan can find it while it is there (so its silence later means something).
    assert!(
        contains(&db, &marker) || contains(&wal(&db), &marker),
        "the marker is not in the files before the delete: the scan proves nothing"
    );
    // No other screenshot shares those bytes.
    for other in local.iter().filter(|s| s.id != victim) {
        let id = other.id;
        let bytes = agent
            .local_store()
            .call(move |s| s.screenshot(id))
            .await
            .unwrap()
            .unwrap()
            .thumbnail;
        assert!(!bytes.windows(32).any(|w| w == marker.as_slice()));
    }

    let t = Instant::now();
    let report = ws.owner.delete_screenshot(victim, false).await.unwrap();
    assert_eq!(
        report.removed_secs, 0,
        "an admin's delete removes no time (R22)"
    );
    events
        .wait_for("the local delete", t, |e| {
            matches!(e, AgentEvent::Deleted).then_some(())
        })
        .await;
    eventually(
        "the screenshot to leave the local store",
        DEADLINE,
        || async {
            let gone = agent
                .local_store()
                .call(move |s| s.screenshot(victim))
                .await
                .unwrap()
                .is_none();
            gone.then_some(())
        },
    )
    .await;

    assert!(
        !contains(&db, &marker),
        "the thumbnail's bytes survive in {db:?}"
    );
    assert!(
        !contains(&wal(&db), &marker),
        "the thumbnail's bytes survive in the WAL"
    );
    let left: HashSet<_> = local_shots(&agent, entry)
        .await
        .iter()
        .map(|s| s.id)
        .collect();
    let expected: HashSet<_> = local
        .iter()
        .map(|s| s.id)
        .filter(|id| *id != victim)
        .collect();
    assert_eq!(left, expected, "only the deleted screenshot went");
    let member = server.sign_in(alice).await;
    assert!(
        service_shots_of(&member, entry)
            .await
            .iter()
            .all(|s| s.id != victim)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screenshot_deleted_while_the_app_was_closed_leaves_on_the_next_start() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("offline-delete", &["bob"], true).await;
    let bob = ws.member(0);
    let data = tempfile::tempdir().unwrap();
    let agent = start_agent(
        data.path(),
        session(&server.url(), bob).await,
        Screen::new(),
    )
    .await;
    let entry = agent
        .start_timer("closed app".into())
        .await
        .unwrap()
        .entry_id;
    captured(&agent, entry, 2, DEADLINE).await;
    stop_settled(&agent).await;
    drained(&agent, DEADLINE).await;
    let local = local_shots(&agent, entry).await;
    let victim = local[0].id;
    // The app closes; meanwhile an admin deletes one of the screenshots.
    agent.shutdown().await;
    drop(agent);
    ws.owner.delete_screenshot(victim, false).await.unwrap();

    // Next start: the reconnect re-reads what it missed, and the local copy goes (R24).
    let agent = start_agent(
        data.path(),
        session(&server.url(), bob).await,
        Screen::new(),
    )
    .await;
    eventually(
        "the deleted screenshot to leave the local store",
        DEADLINE,
        || async {
            let gone = agent
                .local_store()
                .call(move |s| s.screenshot(victim))
                .await
                .unwrap()
                .is_none();
            gone.then_some(())
        },
    )
    .await;
    // The others stay (a capture whose moment came just before the stop may be stored after
    // `local` was read; it stays too).
    let kept = local_shots(&agent, entry).await;
    for shot in local.iter().filter(|s| s.id != victim) {
        assert!(
            kept.iter().any(|k| k.id == shot.id),
            "only the deleted screenshot may go, but {} went too",
            shot.id
        );
    }
    assert!(kept.iter().all(|s| s.id != victim));
    agent.shutdown().await;
}
