//! When the engine must NOT take screenshots (R4, R5, R8), and what it records when a capture
//! yields nothing usable (R12). Each negative case has a positive control in the same setup —
//! capture does happen once the one missing condition is met — so a test cannot pass merely
//! because capture never works.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::time::{Duration, Instant};

use chrono::TimeDelta;
use common::{
    DEADLINE, Events, Screen, captured, drained, local_attempts, local_shots, service_shots_of,
    session, start_agent, stop_settled,
};
use shotclock_agent::{AgentEvent, AgentHandle, CaptureStatus, OffReason, Resumed, Session};
use shotclock_api::{EntryId, Plan, Role};
use shotclock_capture::{FakeSource, Rect, synthetic};
use shotclock_store::CaptureHealth;
use shotclock_sync::{Client, SyncError};
use shotclock_testkit::{TestServer, eventually, set_screenshots};

const WINDOW_SECS: u32 = 1;

/// Watches for three windows and asserts that nothing was captured, attempted, stored or
/// uploaded for `entry` meanwhile.
async fn assert_nothing_captured(
    agent: &AgentHandle,
    screen: &Screen,
    member: &Client,
    entry: EntryId,
) {
    let captures = screen.captures();
    let attempts = local_attempts(agent, entry).await.len();
    let shots = local_shots(agent, entry).await.len();
    let remote = service_shots_of(member, entry).await.len();
    tokio::time::sleep(Duration::from_secs(3 * u64::from(WINDOW_SECS))).await;
    assert_eq!(screen.captures(), captures, "the screen was captured");
    assert_eq!(
        local_attempts(agent, entry).await.len(),
        attempts,
        "capture was attempted"
    );
    assert_eq!(
        local_shots(agent, entry).await.len(),
        shots,
        "a screenshot was stored"
    );
    assert_eq!(
        service_shots_of(member, entry).await.len(),
        remote,
        "a screenshot was uploaded"
    );
}

fn off_reason(e: &AgentEvent) -> Option<OffReason> {
    match e {
        AgentEvent::CaptureChanged {
            status: CaptureStatus::Off { reason, .. },
        } => Some(*reason),
        _ => None,
    }
}

/// Capture is off for a reason other than "no timer".
fn gated(e: &AgentEvent) -> Option<OffReason> {
    off_reason(e).filter(|r| *r != OffReason::NoTimer)
}

fn active(e: &AgentEvent) -> Option<()> {
    matches!(
        e,
        AgentEvent::CaptureChanged {
            status: CaptureStatus::Active { .. }
        }
    )
    .then_some(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_captured_until_an_admin_enables_it_nor_after_it_is_disabled() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("disabled", &["alice"], false).await;
    let alice = ws.member(0);
    let member = server.sign_in(alice).await;
    let data = tempfile::tempdir().unwrap();
    let screen = Screen::new();
    let agent = start_agent(
        data.path(),
        session(&server.url(), alice).await,
        screen.clone(),
    )
    .await;
    let events = Events::record(&agent);
    let t = Instant::now();
    let entry = agent
        .start_timer("not watched".into())
        .await
        .unwrap()
        .entry_id;
    let (_, reason) = events
        .wait_for("capture off while disabled", t, gated)
        .await;
    assert_eq!(reason, OffReason::Disabled);
    assert_nothing_captured(&agent, &screen, &member, entry).await;
    assert_eq!(screen.captures(), 0);

    // Control: the admin turns it on → capture starts (R4, R8), without a restart.
    let t = Instant::now();
    set_screenshots(&ws.owner, true).await;
    events.wait_for("capture on", t, active).await;
    captured(&agent, entry, 2, DEADLINE).await;
    drained(&agent, DEADLINE).await;

    // The admin turns it off again → capture stops.
    let t = Instant::now();
    set_screenshots(&ws.owner, false).await;
    let (_, reason) = events.wait_for("capture off again", t, gated).await;
    assert_eq!(reason, OffReason::Disabled);
    assert_nothing_captured(&agent, &screen, &member, entry).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_captured_once_the_trial_has_ended() {
    let server = TestServer::with_window(WINDOW_SECS);
    let team = server.team("trial", &[("alice", Role::Member)]).await;
    // Nine days ago the owner started the 7-day trial and enabled screenshots (R5).
    server.clock.shift(-TimeDelta::days(9));
    let owner = server.sign_in(team.owner()).await;
    let trial = owner.start_trial().await.unwrap();
    assert!(trial.trial_started_at.is_some());
    set_screenshots(&owner, true).await;
    server.clock.shift(TimeDelta::zero());

    let alice = &team.people[1];
    let sess = session(&server.url(), alice).await;
    assert!(sess.me.workspace.screenshots_enabled);
    assert!(
        !sess.me.workspace.capture_allowed,
        "the trial should be over"
    );
    let member = server.sign_in(alice).await;
    let data = tempfile::tempdir().unwrap();
    let screen = Screen::new();
    let agent = start_agent(data.path(), sess, screen.clone()).await;
    let events = Events::record(&agent);
    let t = Instant::now();
    let entry = agent
        .start_timer("after the trial".into())
        .await
        .unwrap()
        .entry_id;
    let (_, reason) = events
        .wait_for("capture off after the trial", t, gated)
        .await;
    assert_eq!(reason, OffReason::TrialExpired);
    assert_nothing_captured(&agent, &screen, &member, entry).await;
    assert_eq!(screen.captures(), 0);

    // Control: the workspace buys the plan → once the app re-reads the settings, it captures.
    server
        .app()
        .intents()
        .set_plan(team.ws, Plan::Enterprise, server.app().now())
        .await
        .unwrap();
    let t = Instant::now();
    agent.refresh().await;
    events.wait_for("capture on with the plan", t, active).await;
    captured(&agent, entry, 1, DEADLINE).await;
}

/// An admin turned capture off while the app ran; the app restarts while the service is out of
/// reach. The account it starts with is the copy saved at sign-in, when capture was on: the
/// settings the app cached since (off) stay, and a timer started offline is not captured (R4).
/// Control: the same engine captured while capture was on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_restart_keeps_capture_off_as_the_admin_last_set_it() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("offline-off", &["alice"], true).await;
    let alice = ws.member(0);
    let signed_in = session(&server.url(), alice).await;
    assert!(signed_in.me.workspace.screenshots_enabled);
    let data = tempfile::tempdir().unwrap();
    let agent = start_agent(data.path(), signed_in.clone(), Screen::new()).await;
    let events = Events::record(&agent);
    let entry = agent.start_timer("watched".into()).await.unwrap().entry_id;
    captured(&agent, entry, 1, DEADLINE).await;
    let t = Instant::now();
    set_screenshots(&ws.owner, false).await;
    events.wait_for("capture off", t, disabled).await;
    stop_settled(&agent).await;
    drained(&agent, DEADLINE).await;
    agent.shutdown().await;
    drop(agent);

    // The restart, with the service out of reach: the saved account says capture is on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let resumed = Session::resume_or_wait(
        &format!("http://{closed}/"),
        &signed_in.token,
        Some(signed_in.me.clone()),
        |_| async { false },
    )
    .await
    .unwrap();
    let Resumed::Offline(offline) = resumed else {
        panic!("expected an offline start, got {resumed:?}");
    };
    let screen = Screen::new();
    let agent = start_agent(data.path(), offline, screen.clone()).await;
    let events = Events::record(&agent);
    let t = Instant::now();
    let entry = agent.start_timer("offline".into()).await.unwrap().entry_id;
    events
        .wait_for("capture off after the offline restart", t, disabled)
        .await;
    tokio::time::sleep(Duration::from_secs(3 * u64::from(WINDOW_SECS))).await;
    assert_eq!(screen.captures(), 0, "the screen was captured");
    assert!(local_attempts(&agent, entry).await.is_empty());
    agent.shutdown().await;
}

/// Capture is off because an admin turned it off.
fn disabled(e: &AgentEvent) -> Option<()> {
    (off_reason(e) == Some(OffReason::Disabled)).then_some(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_captured_after_signing_out() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("signout", &["alice"], true).await;
    let alice = ws.member(0);
    let member = server.sign_in(alice).await;
    let data = tempfile::tempdir().unwrap();
    let screen = Screen::new();
    let sess = session(&server.url(), alice).await;
    let token = sess.token.clone();
    let agent = start_agent(data.path(), sess, screen.clone()).await;
    let events = Events::record(&agent);
    let entry = agent
        .start_timer("then sign out".into())
        .await
        .unwrap()
        .entry_id;
    captured(&agent, entry, 1, DEADLINE).await;

    let t = Instant::now();
    agent.sign_out().await.unwrap();
    events
        .wait_for("signed out", t, |e| {
            matches!(e, AgentEvent::SignedOut).then_some(())
        })
        .await;
    let account = agent.local_store().call(|s| s.account()).await.unwrap();
    assert!(account.is_none(), "the account is still cached");
    let revoked = server.client().with_token(&token).me().await;
    assert!(
        matches!(revoked, Err(SyncError::Unauthorized)),
        "{revoked:?}"
    );
    // The timer still runs at the service: only the sign-out stands between it and capture.
    let timer = member.timer().await.unwrap();
    assert_eq!(timer.running.map(|e| e.id), Some(entry));
    assert_nothing_captured(&agent, &screen, &member, entry).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_captured_once_the_service_refuses_the_session() {
    let mut server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("revoked", &["alice"], true).await;
    let alice = ws.member(0).clone();
    let data = tempfile::tempdir().unwrap();
    let screen = Screen::new();
    let sess = session(&server.url(), &alice).await;
    let token = sess.token.clone();
    let agent = start_agent(data.path(), sess, screen.clone()).await;
    let events = Events::record(&agent);
    let entry = agent
        .start_timer("then revoked".into())
        .await
        .unwrap()
        .entry_id;
    captured(&agent, entry, 1, DEADLINE).await;

    // The session is revoked elsewhere (signed out on another device with the same token);
    // the engine learns it when its event stream reconnects (the service restarts).
    server.client().with_token(&token).logout().await.unwrap();
    let t = Instant::now();
    server.restart();
    events
        .wait_for("the engine to notice the revoked session", t, |e| {
            matches!(e, AgentEvent::SignedOut).then_some(())
        })
        .await;
    let member = server.sign_in(&alice).await;
    // The timer still runs at the service: only the refused session stands between it and
    // capture (R8: "signed in").
    let timer = member.timer().await.unwrap();
    assert_eq!(timer.running.map(|e| e.id), Some(entry));
    // A capture already under way when the answer came may still land; then nothing.
    tokio::time::sleep(Duration::from_secs(u64::from(WINDOW_SECS))).await;
    assert_nothing_captured(&agent, &screen, &member, entry).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_captured_once_the_timer_stops() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("stopped", &["alice"], true).await;
    let alice = ws.member(0);
    let member = server.sign_in(alice).await;
    let data = tempfile::tempdir().unwrap();
    let screen = Screen::new();
    let agent = start_agent(
        data.path(),
        session(&server.url(), alice).await,
        screen.clone(),
    )
    .await;
    let events = Events::record(&agent);
    let entry = agent
        .start_timer("then stop".into())
        .await
        .unwrap()
        .entry_id;
    captured(&agent, entry, 1, DEADLINE).await;

    let t = Instant::now();
    agent.stop_timer().await.unwrap();
    let (_, reason) = events.wait_for("capture off", t, off_reason).await;
    assert_eq!(reason, OffReason::NoTimer);
    drained(&agent, DEADLINE).await;
    assert_nothing_captured(&agent, &screen, &member, entry).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_that_yields_nothing_usable_is_recorded_with_its_reason() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server
        .workspace("useless", &["nomonitor", "black"], true)
        .await;
    let cases = [
        (ws.member(0), FakeSource::new(), CaptureHealth::NoMonitor),
        (
            ws.member(1),
            FakeSource::new()
                .with_frame(synthetic::solid_frame(Rect::new(0, 0, 1280, 720), [0, 0, 0]).unwrap()),
            CaptureHealth::AllBlack,
        ),
    ];
    for (who, source, expected) in cases {
        let data = tempfile::tempdir().unwrap();
        let agent = start_agent(data.path(), session(&server.url(), who).await, source).await;
        let events = Events::record(&agent);
        let t = Instant::now();
        let entry = agent
            .start_timer("useless frames".into())
            .await
            .unwrap()
            .entry_id;
        let attempts = eventually("3 recorded attempts", DEADLINE, || async {
            let a = local_attempts(&agent, entry).await;
            (a.len() >= 3).then_some(a)
        })
        .await;
        for a in &attempts {
            // A window may be missed on a loaded machine; every other attempt says why.
            if a.health != CaptureHealth::Missed {
                assert_eq!(a.health, expected, "{a:?}");
                assert!(!a.detail.is_empty(), "no detail: {a:?}");
            }
            assert!(a.screenshot_id.is_none());
        }
        let last = agent.last_attempt().await.unwrap().unwrap();
        assert_eq!(last.entry_id, entry);
        let failures = events
            .since(t)
            .into_iter()
            .filter(
                |e| matches!(e, AgentEvent::CaptureFailed { health, .. } if *health == expected),
            )
            .count();
        assert!(failures >= 1, "the UI was not told");
        assert!(local_shots(&agent, entry).await.is_empty());
        let member = server.sign_in(who).await;
        assert!(service_shots_of(&member, entry).await.is_empty());
        agent.shutdown().await;
    }
}

/// An admin turned capture on while the app was closed; the user signs in again, and only the
/// sign-in reaches the service at first. The sign-in's answer is newer than the settings the
/// app cached (off): capture is on at once, and a timer started then is captured (R4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_turns_capture_on_as_the_admin_set_it_while_the_app_was_closed() {
    use common::proxy::{Fault, Proxy};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("sign-in-on", &["alice"], false).await;
    let alice = ws.member(0);
    let blocked = Arc::new(AtomicBool::new(false));
    let (proxy, _) = Proxy::sign_in_only(server.addr, blocked.clone()).await;
    let data = tempfile::tempdir().unwrap();
    let agent = start_agent(
        data.path(),
        session(&proxy.url(), alice).await,
        Screen::new(),
    )
    .await;
    let cached = agent.local_store().call(|s| s.settings()).await.unwrap();
    assert!(
        cached.is_some_and(|s| !s.screenshots_enabled),
        "the app cached no settings with capture off: the test proves nothing"
    );
    agent.shutdown().await;
    drop(agent);
    set_screenshots(&ws.owner, true).await;

    blocked.store(true, Ordering::SeqCst);
    let screen = Screen::new();
    let agent = start_agent(
        data.path(),
        session(&proxy.url(), alice).await,
        screen.clone(),
    )
    .await;
    let entry = agent
        .start_timer("signed in".into())
        .await
        .unwrap()
        .entry_id;
    captured(&agent, entry, 1, DEADLINE).await;
    assert!(
        proxy.exchanges().iter().any(|x| x.fault == Fault::Refuse),
        "the relay refused nothing: the test proves nothing"
    );
    agent.shutdown().await;
}
