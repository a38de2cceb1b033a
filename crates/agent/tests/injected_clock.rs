//! The engine under an injected clock (`ManualClock`), offline:
//! - local retention (R18): a screenshot older than 7 days leaves the device even though it was
//!   never uploaded, and it is never uploaded afterwards; a younger one stays and is uploaded;
//! - the capture moment (R9) is the injected clock's: no screenshot before the moment drawn.
//!
//! Online, the engine keeps to the service's clock whatever the computer's says.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use common::{
    DEADLINE, Events, Screen, drained, local_attempts, local_shots, pending, service_shots,
    session, start_agent, start_agent_with_clock,
};
use shotclock_agent::{AgentEvent, AgentHandle, CaptureStatus, ManualClock, OffReason, Session};
use shotclock_api::{EntryId, Plan, ScreenshotId};
use shotclock_store::{CaptureHealth, OutboxKind, ScreenshotState};
use shotclock_testkit::{TestServer, eventually};

/// The capture moment `e` announces for `entry`, if it announces one.
fn moment_drawn(e: &AgentEvent, entry: EntryId) -> Option<DateTime<Utc>> {
    match e {
        AgentEvent::CaptureChanged {
            status:
                CaptureStatus::Active {
                    entry_id,
                    next_at: Some(at),
                    ..
                },
        } if *entry_id == entry => Some(*at),
        _ => None,
    }
}

/// Waits for the first screenshot of `entry` heard since `t`, moving the clock to the latest
/// moment the scheduler drew for it (the scheduler sleeps in real time until the moment it
/// drew; when it wakes, the clock says the moment has come). Returns the screenshot and when
/// it was taken.
async fn captured_at_moment(
    events: &Events,
    clock: &ManualClock,
    entry: EntryId,
    t: Instant,
) -> (ScreenshotId, DateTime<Utc>) {
    eventually("a capture at the drawn moment", DEADLINE, || {
        let all = events.since(t);
        let captured = all.iter().find_map(|e| match e {
            AgentEvent::Captured {
                screenshot_id,
                captured_at,
            } => Some((*screenshot_id, *captured_at)),
            _ => None,
        });
        if captured.is_none()
            && let Some(next_at) = all.iter().rev().find_map(|e| moment_drawn(e, entry))
        {
            clock.set(next_at);
        }
        async move { captured }
    })
    .await
}

/// Starts a timer at the clock's time, moves the clock to the scheduler's drawn moment, and
/// returns the screenshot taken then; stops the timer one second later.
async fn one_screenshot(
    agent: &AgentHandle,
    events: &Events,
    clock: &ManualClock,
    what: &str,
) -> ScreenshotId {
    let t = Instant::now();
    let running = agent.start_timer(what.into()).await.unwrap();
    let (id, at) = captured_at_moment(events, clock, running.entry_id, t).await;
    assert!(at >= running.start, "captured before the entry started");
    clock.set(at + TimeDelta::seconds(1));
    agent.stop_timer().await.unwrap();
    id
}

/// A session whose service address nobody listens on: the engine is offline and its estimate
/// of the service's clock stays at zero offset.
fn offline(sess: &Session) -> Session {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut offline = sess.clone();
    offline.server_url = format!("http://{closed}/");
    offline
}

/// An offline engine with one-second windows, its clock standing still at `t0` until the test
/// moves it.
struct Frozen {
    _server: TestServer,
    _data: tempfile::TempDir,
    t0: DateTime<Utc>,
    clock: Arc<ManualClock>,
    screen: Screen,
    agent: AgentHandle,
    events: Events,
}

async fn frozen(workspace: &str) -> Frozen {
    let server = TestServer::with_window(1);
    let ws = server.workspace(workspace, &["alice"], true).await;
    let sess = offline(&session(&server.url(), ws.member(0)).await);
    let t0 = Utc::now();
    let clock = Arc::new(ManualClock::new(t0));
    let data = tempfile::tempdir().unwrap();
    let screen = Screen::new();
    let agent = start_agent_with_clock(data.path(), sess, screen.clone(), clock.clone()).await;
    let events = Events::record(&agent);
    Frozen {
        _server: server,
        _data: data,
        t0,
        clock,
        screen,
        agent,
        events,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_capture_before_the_moment_drawn_by_the_injected_clock() {
    let Frozen {
        _server,
        _data,
        t0,
        clock,
        screen,
        agent,
        events,
    } = frozen("moment").await;

    let t = Instant::now();
    let running = agent.start_timer("frozen time".into()).await.unwrap();
    let drawn = |e: &AgentEvent| moment_drawn(e, running.entry_id);
    let (_, first) = events.wait_for("a moment to be drawn", t, drawn).await;
    assert!(first >= t0 && first < t0 + TimeDelta::seconds(1), "{first}");
    // The clock stands still: however long the engine sleeps, its moment has not come.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let early: Vec<_> = events
        .since(t)
        .into_iter()
        .filter(|e| matches!(e, AgentEvent::Captured { .. }))
        .collect();
    assert!(early.is_empty(), "captured before the moment: {early:?}");
    assert_eq!(screen.captures(), 0);

    // The clock reaches the (latest) moment drawn: the capture happens, stamped then.
    let (at, moments) = eventually("the capture at its moment", DEADLINE, || {
        let all = events.since(t);
        let moments: Vec<_> = all.iter().filter_map(drawn).collect();
        let captured = all.iter().find_map(|e| match e {
            AgentEvent::Captured { captured_at, .. } => Some(*captured_at),
            _ => None,
        });
        if captured.is_none()
            && let Some(latest) = moments.last()
        {
            clock.set(*latest);
        }
        async move { captured.map(|c| (c, moments)) }
    })
    .await;
    assert!(
        moments
            .iter()
            .any(|m| (*m - at).num_milliseconds().abs() <= 1),
        "captured at {at}, not at a moment drawn ({moments:?})"
    );
    assert!(
        at >= t0 && at < t0 + TimeDelta::seconds(1),
        "outside window 0: {at}"
    );
}

/// A moment the machine slept through (R9): on waking after its window closed — here only two
/// seconds late, well inside `schedule::LATE_GRACE` — nothing is captured; the window is
/// recorded as missed, not made up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moment_slept_through_is_recorded_as_missed_not_captured() {
    let Frozen {
        _server,
        _data,
        clock,
        screen,
        agent,
        events,
        ..
    } = frozen("slept").await;

    let t = Instant::now();
    let running = agent.start_timer("asleep".into()).await.unwrap();
    let (_, at) = events
        .wait_for("a moment to be drawn", t, |e| {
            moment_drawn(e, running.entry_id)
        })
        .await;
    // The machine sleeps through the moment and the end of its one-second window.
    clock.set(at + TimeDelta::seconds(2));
    let (_, missed_at) = events
        .wait_for("the window recorded as missed", t, |e| match e {
            AgentEvent::CaptureFailed {
                health: CaptureHealth::Missed,
                at,
                ..
            } => Some(*at),
            _ => None,
        })
        .await;
    assert_eq!(missed_at, at + TimeDelta::seconds(2));
    assert_eq!(screen.captures(), 0, "captured after the window closed");
    assert!(
        !events
            .since(t)
            .iter()
            .any(|e| matches!(e, AgentEvent::Captured { .. })),
        "a screenshot was taken for a missed moment"
    );
}

/// A trial that ends between the moment drawn and the moment itself (R5): no screenshot is
/// taken, and capture goes off with the trial's reason. The gate is judged again at the moment,
/// as the service judges the upload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trial_that_ends_before_the_moment_drawn_takes_no_screenshot() {
    let server = TestServer::with_window(2);
    let ws = server.workspace("trial-end", &["alice"], true).await;
    let mut sess = offline(&session(&server.url(), ws.member(0)).await);
    let t0 = Utc::now();
    let trial_end = t0 + TimeDelta::milliseconds(1);
    let settings = &mut sess.me.workspace;
    settings.plan = Plan::Free;
    settings.screenshots_enabled = true;
    settings.capture_window_secs = 2;
    settings.trial_started_at = Some(trial_end - TimeDelta::days(7));
    let clock = Arc::new(ManualClock::new(t0));
    let data = tempfile::tempdir().unwrap();
    let screen = Screen::new();
    let agent = start_agent_with_clock(data.path(), sess, screen.clone(), clock.clone()).await;
    let events = Events::record(&agent);

    let t = Instant::now();
    let running = agent
        .start_timer("the trial's last moment".into())
        .await
        .unwrap();
    let (_, at) = events
        .wait_for("a moment to be drawn", t, |e| {
            moment_drawn(e, running.entry_id)
        })
        .await;
    clock.set(at);
    if at < trial_end {
        // The moment fell inside the trial's last millisecond (1 in 2,000): it is taken.
        events
            .wait_for("the capture", t, |e| {
                matches!(e, AgentEvent::Captured { .. }).then_some(())
            })
            .await;
        return;
    }
    events
        .wait_for("capture off when the trial ended", t, |e| match e {
            AgentEvent::CaptureChanged {
                status: CaptureStatus::Off { reason, .. },
            } => (*reason == OffReason::TrialExpired).then_some(()),
            _ => None,
        })
        .await;
    assert_eq!(screen.captures(), 0, "captured after the trial ended");
    assert!(
        !events
            .since(t)
            .iter()
            .any(|e| matches!(e, AgentEvent::Captured { .. }))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsent_screenshot_older_than_seven_days_is_dropped_and_never_uploaded() {
    let server = TestServer::with_window(2);
    let ws = server.workspace("retention", &["alice"], true).await;
    let alice = ws.member(0);
    let sess = session(&server.url(), alice).await;

    // The engine cannot reach the service.
    let offline = offline(&sess);
    let now = Utc::now();
    let t0 = now - TimeDelta::days(8);
    let clock = Arc::new(ManualClock::new(t0));
    let data = tempfile::tempdir().unwrap();
    let agent = start_agent_with_clock(data.path(), offline, Screen::new(), clock.clone()).await;
    let events = Events::record(&agent);

    // Eight days ago: one screenshot, never sent.
    let old = one_screenshot(&agent, &events, &clock, "eight days ago").await;
    // A day ago: another, also unsent.
    clock.set(now - TimeDelta::days(1));
    let young = one_screenshot(&agent, &events, &clock, "yesterday").await;
    for id in [old, young] {
        let shot = agent
            .local_store()
            .call(move |s| s.screenshot(id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(shot.info.state, ScreenshotState::Pending);
    }
    // 2 timer starts, 2 stops, 2 uploads.
    assert_eq!(pending(&agent).await, 6);

    // Today, by the injected clock: the old one is past retention.
    clock.set(now);
    // Past retention, its copy here is shown no more, even before the purge takes it.
    let shown = agent.image(old).await.map(|bytes| bytes.map(|b| b.len()));
    assert!(
        !matches!(shown, Ok(Some(_))),
        "an expired screenshot was shown: {shown:?}"
    );
    assert!(agent.image(young).await.unwrap().is_some());
    let t = Instant::now();
    assert_eq!(agent.purge_expired().await, 1);
    events
        .wait_for("the UI to hear of the purge", t, |e| {
            matches!(e, AgentEvent::Deleted).then_some(())
        })
        .await;
    let gone = agent
        .local_store()
        .call(move |s| s.screenshot(old))
        .await
        .unwrap();
    assert!(gone.is_none(), "the expired screenshot is still stored");
    assert!(
        agent
            .local_store()
            .call(move |s| s.screenshot(young))
            .await
            .unwrap()
            .is_some(),
        "retention took a screenshot younger than 7 days"
    );
    // Its upload went with it; the timer changes stay queued.
    assert_eq!(pending(&agent).await, 5);
    assert!(agent.rejected_items().await.unwrap().is_empty());
    // A second pass finds nothing more.
    assert_eq!(agent.purge_expired().await, 0);
    agent.shutdown().await;

    // Back online with the real clock: the queue drains; the expired screenshot is not sent
    // (had it been, the service would have refused it for good as too old — a rejected
    // screenshot item — or stored it).
    let agent = start_agent(data.path(), sess, Screen::new()).await;
    drained(&agent, DEADLINE).await;
    let rejected = agent.rejected_items().await.unwrap();
    assert!(
        rejected.iter().all(|i| i.kind != OutboxKind::Screenshot),
        "a screenshot upload was attempted and refused: {rejected:#?}"
    );
    assert!(
        server
            .app()
            .intents()
            .stored_screenshot(old)
            .await
            .unwrap()
            .is_none(),
        "the expired screenshot reached the service"
    );
    let member = server.sign_in(alice).await;
    let remote = service_shots(&member, now - TimeDelta::days(9), now).await;
    let ids: Vec<_> = remote.iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        vec![young],
        "only the younger screenshot is at the service"
    );
    let young_entry = remote[0].entry_id;
    let local = local_shots(&agent, young_entry).await;
    assert_eq!(local.len(), 1);
    assert_eq!(local[0].state, ScreenshotState::Uploaded);
}

/// Online, the engine keeps to the service's clock: on a computer whose clock is an hour
/// behind, a timer starts at the service's now, not the computer's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_the_engine_keeps_to_the_services_clock() {
    let server = TestServer::with_window(60);
    let ws = server.workspace("skewed", &["alice"], true).await;
    let sess = session(&server.url(), ws.member(0)).await;
    let clock = Arc::new(ManualClock::new(Utc::now() - TimeDelta::hours(1)));
    let data = tempfile::tempdir().unwrap();
    let before = Utc::now();
    let agent = start_agent_with_clock(data.path(), sess, Screen::new(), clock).await;
    let running = agent.start_timer("an hour behind".into()).await.unwrap();
    let after = Utc::now();
    // The estimate is one round trip's: within a few seconds of the service's time.
    let slack = TimeDelta::seconds(5);
    assert!(
        running.start >= before - slack && running.start <= after + slack,
        "the timer started at {}, the service's time was {before} to {after}",
        running.start
    );
    agent.shutdown().await;
}

/// A restart inside a window that already has its screenshot takes no second one there (R9):
/// the scheduler reads the last window attempted from the buffer, and the next moment it draws
/// lies in the window after. The clock stands still at the moment of the first screenshot
/// across the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_inside_a_window_that_has_its_screenshot_waits_for_the_next_window() {
    let server = TestServer::with_window(1);
    let ws = server.workspace("restart-window", &["alice"], true).await;
    let sess = offline(&session(&server.url(), ws.member(0)).await);
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let data = tempfile::tempdir().unwrap();
    let agent =
        start_agent_with_clock(data.path(), sess.clone(), Screen::new(), clock.clone()).await;
    let events = Events::record(&agent);
    let t = Instant::now();
    let running = agent.start_timer("restarted".into()).await.unwrap();
    let (_, at) = captured_at_moment(&events, &clock, running.entry_id, t).await;
    let next_window = running.start + TimeDelta::seconds(1);
    assert!(
        at < next_window,
        "the first screenshot is not in window 0: {at}"
    );
    agent.shutdown().await;
    drop(agent);

    let screen = Screen::new();
    let agent = start_agent_with_clock(data.path(), sess, screen.clone(), clock.clone()).await;
    let next_at = eventually("capture planned after the restart", DEADLINE, || async {
        match agent.capture_status() {
            CaptureStatus::Active {
                entry_id,
                next_at: Some(next_at),
                ..
            } if entry_id == running.entry_id && next_at >= next_window => Some(next_at),
            _ => None,
        }
    })
    .await;
    assert!(next_at < next_window + TimeDelta::seconds(1), "{next_at}");
    let attempts = local_attempts(&agent, running.entry_id).await;
    let in_first: Vec<_> = attempts.iter().filter(|a| a.window_index == 0).collect();
    assert_eq!(
        in_first.len(),
        1,
        "window 0 was attempted again: {attempts:#?}"
    );
    assert_eq!(
        screen.captures(),
        0,
        "the screen was captured again in window 0"
    );
    agent.shutdown().await;
}
