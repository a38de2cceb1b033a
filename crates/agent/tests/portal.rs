//! The engine capturing through the Wayland ScreenCast portal (issue 13), on the headless
//! desktop of `shotclock-testdesktop` (mutter, PipeWire, the real xdg-desktop-portal frontend
//! and its test backend) against the real service on a real port with a 1 s capture window.
//!
//! - With a timer running, the scheduler opens the portal session (the backend shows its
//!   dialog once), captures on schedule through it, stores and uploads each screenshot; the
//!   grant's restore token reaches the token sink; stopping the timer closes the session.
//!   Before the timer starts, no session is opened.
//! - First-run consent: a declined dialog shows in the status and on the windows it cost,
//!   is not asked again at every moment, and "Ask again" shows the dialog once more.
//!
//! The desktops are heavy (one compositor each), so the tests take turns.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{
    DEADLINE, captured, drained, local_attempts, local_shots, service_shots_of, session,
    start_agent,
};
use shotclock_agent::CaptureStatus;
use shotclock_capture::{
    Consent, SourceChoice, SourceKind, SystemSource, TokenSink, decode_thumbnail,
};
use shotclock_store::CaptureHealth;
use shotclock_testdesktop::{Desktop, Portal};
use shotclock_testkit::{TestServer, eventually};

static ONE_DESKTOP_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Every token the source handed out (`None`: forget the stored one).
type Tokens = Arc<Mutex<Vec<Option<String>>>>;

fn portal_source(desktop: &Desktop, token: Option<String>) -> (SystemSource, Tokens) {
    let tokens: Tokens = Arc::default();
    let kept = tokens.clone();
    let sink: TokenSink = Arc::new(move |t: Option<&str>| {
        kept.lock().unwrap().push(t.map(str::to_owned));
    });
    let choice = SourceChoice::for_linux(Some("wayland"), None);
    assert_eq!(choice.kind, SourceKind::WaylandPortal);
    let source = SystemSource::with_choice(choice, token, sink, Some(desktop.bus.clone()));
    (source, tokens)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_captures_on_schedule_through_the_portal_with_a_timer_running() {
    let _turn = ONE_DESKTOP_AT_A_TIME.lock().await;
    let mut desktop = Desktop::start(Portal::Backend("grant"));
    desktop.paint(&["text"]);
    let server = TestServer::with_window(1);
    let ws = server.workspace("portal", &["alice"], true).await;
    let alice = ws.member(0);
    let data = tempfile::tempdir().unwrap();
    let (source, tokens) = portal_source(&desktop, None);
    let agent = start_agent(data.path(), session(&server.url(), alice).await, source).await;

    // No timer: capture is off, the source is named, and no session was opened.
    eventually("the capture status to settle", DEADLINE, || async {
        matches!(agent.capture_status(), CaptureStatus::Off { .. }).then_some(())
    })
    .await;
    match agent.capture_status() {
        CaptureStatus::Off { source, .. } => {
            assert_eq!(source.map(|s| s.kind), Some(SourceKind::WaylandPortal));
        }
        other => panic!("capture should be off without a timer: {other:?}"),
    }
    assert!(
        desktop
            .backend_events()
            .iter()
            .all(|e| e["event"] != "create_session"),
        "no screencast session before a timer runs"
    );

    let entry = agent
        .start_timer("through the portal".into())
        .await
        .unwrap()
        .entry_id;
    captured(&agent, entry, 3, Duration::from_secs(60)).await;
    let start = desktop.backend_event("start", 0);
    assert_eq!(start["dialog"], true, "first run asks: {start}");
    assert_eq!(
        desktop
            .backend_events()
            .iter()
            .filter(|e| e["event"] == "start")
            .count(),
        1,
        "one session for the whole timer, not one per capture"
    );
    let seen = desktop.backend_events().len();
    agent.stop_timer().await.unwrap();
    desktop.backend_event("session_closed", seen);

    // Every attempt of the entry went through: the desktop's text pattern, not a black frame.
    let attempts = local_attempts(&agent, entry).await;
    assert!(
        attempts.iter().all(|a| a.health == CaptureHealth::Ok),
        "{attempts:?}"
    );
    for shot in local_shots(&agent, entry).await {
        let id = shot.id;
        let held = agent
            .local_store()
            .call(move |s| s.screenshot(id))
            .await
            .unwrap()
            .unwrap();
        let img = decode_thumbnail(&held.thumbnail).unwrap();
        assert_eq!((img.width(), img.height()), (640, 360));
    }
    // The grant's restore token was handed out to be kept.
    let handed = tokens.lock().unwrap().clone();
    assert!(
        matches!(handed.as_slice(), [Some(t)] if !t.is_empty()),
        "{handed:?}"
    );
    // And the screenshots reached the service.
    drained(&agent, DEADLINE).await;
    let member = server.sign_in(alice).await;
    assert!(service_shots_of(&member, entry).await.len() >= 3);
    agent.shutdown().await;
}

fn consent_of(status: &CaptureStatus) -> Consent {
    match status {
        CaptureStatus::Active { consent, .. } | CaptureStatus::Off { consent, .. } => *consent,
    }
}

/// First-run consent through the engine: before the first dialog the status says nothing was
/// asked yet; the declined dialog shows as `refused` in the status and as `consent_refused` on
/// the windows it cost, without asking again at every moment; "Ask again" shows the dialog once
/// more and, granted, capture goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_dialog_is_shown_recorded_and_asked_again_on_request() {
    let _turn = ONE_DESKTOP_AT_A_TIME.lock().await;
    let mut desktop = Desktop::start(Portal::Backend("refuse_once"));
    desktop.paint(&["text"]);
    let server = TestServer::with_window(1);
    let ws = server.workspace("consent", &["alice"], true).await;
    let alice = ws.member(0);
    let data = tempfile::tempdir().unwrap();
    let (source, tokens) = portal_source(&desktop, None);
    let agent = start_agent(data.path(), session(&server.url(), alice).await, source).await;
    assert_eq!(
        consent_of(&agent.capture_status()),
        Consent::NotAsked,
        "no grant stored: the app can say what will be asked before the dialog"
    );

    let entry = agent.start_timer("declined".into()).await.unwrap().entry_id;
    eventually(
        "two windows recorded as consent_refused",
        DEADLINE,
        || async {
            let refused = local_attempts(&agent, entry)
                .await
                .iter()
                .filter(|a| a.health == CaptureHealth::ConsentRefused)
                .count();
            (refused >= 2 && consent_of(&agent.capture_status()) == Consent::Refused).then_some(())
        },
    )
    .await;
    assert!(local_shots(&agent, entry).await.is_empty(), "no screenshot");
    let starts = |d: &Desktop| {
        d.backend_events()
            .iter()
            .filter(|e| e["event"] == "start")
            .count()
    };
    assert_eq!(
        starts(&desktop),
        1,
        "declined once, not asked at every moment"
    );

    agent.ask_screen_again();
    eventually(
        "a screenshot after asking again",
        Duration::from_secs(60),
        || async { (!local_shots(&agent, entry).await.is_empty()).then_some(()) },
    )
    .await;
    assert_eq!(starts(&desktop), 2, "the dialog showed once more");
    eventually("the status to show the grant", DEADLINE, || async {
        (consent_of(&agent.capture_status()) == Consent::Granted).then_some(())
    })
    .await;
    let handed = tokens.lock().unwrap().clone();
    assert!(matches!(handed.as_slice(), [Some(_)]), "{handed:?}");
    agent.stop_timer().await.unwrap();
    agent.shutdown().await;
}
