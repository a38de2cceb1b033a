//! Blocked windows in the engine: the member's own rules stay on this computer, and a capture
//! that cannot find the blocked windows keeps nothing.
//!
//! 1. With an own rule and a source that cannot list windows (as on X11 without a window
//!    manager), every attempt is recorded `redaction_unavailable`: the screen is not even
//!    grabbed, nothing is stored, nothing uploaded. Control: once the rule is removed the same
//!    engine captures and uploads.
//! 2. Every request that reached the service (through a recording proxy) is free of the rule's
//!    pattern, although the rule was set and in force while the engine captured and uploaded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use common::proxy::Proxy;
use common::{
    DEADLINE, Screen, local_attempts, local_shots, pending, service_shots_of, session, start_agent,
};
use shotclock_capture::BlockRule;
use shotclock_store::CaptureHealth;
use shotclock_testkit::{TestServer, eventually};

const WINDOW_SECS: u32 = 1;
const SECRET: &str = "Zq7 Private Clinic Portal";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_rules_fail_closed_without_a_window_list_and_never_leave_the_computer() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("blocked", &["alice"], true).await;
    let alice = ws.member(0).clone();
    let proxy = Proxy::pass(server.addr).await;
    let data = tempfile::tempdir().unwrap();
    let mut sess = session(&server.url(), &alice).await;
    sess.server_url = proxy.url();
    let screen = Screen::new();
    let agent = start_agent(data.path(), sess, screen.clone()).await;
    let member = server.sign_in(&alice).await;

    let stored = agent
        .set_own_block_rules(vec![
            BlockRule::title(SECRET),
            BlockRule::class("  "),
            BlockRule::class("keepassxc-zq7"),
        ])
        .await
        .unwrap();
    assert_eq!(
        stored,
        [BlockRule::title(SECRET), BlockRule::class("keepassxc-zq7")]
    );
    assert_eq!(agent.own_block_rules(), stored);

    let entry = agent
        .start_timer("with a block list".into())
        .await
        .unwrap()
        .entry_id;
    let attempts = eventually("three failed attempts", DEADLINE, || async {
        let a = local_attempts(&agent, entry).await;
        (a.len() >= 3).then_some(a)
    })
    .await;
    assert!(
        attempts
            .iter()
            .all(|a| a.health == CaptureHealth::RedactionUnavailable),
        "{attempts:?}"
    );
    assert_eq!(screen.captures(), 0, "the screen was grabbed");
    assert!(local_shots(&agent, entry).await.is_empty());
    eventually(
        "only the timer's start to be queued, and sent",
        DEADLINE,
        || async { (pending(&agent).await == 0).then_some(()) },
    )
    .await;
    assert!(service_shots_of(&member, entry).await.is_empty());

    // Control: without rules the same engine captures and uploads.
    agent.set_own_block_rules(Vec::new()).await.unwrap();
    eventually("an upload without rules", DEADLINE, || async {
        (!service_shots_of(&member, entry).await.is_empty()).then_some(())
    })
    .await;
    assert!(screen.captures() > 0);

    // The rules were stored here, and no request the service received carried them.
    agent
        .set_own_block_rules(vec![BlockRule::title(SECRET)])
        .await
        .unwrap();
    agent.stop_timer().await.unwrap();
    eventually("the outbox to drain", DEADLINE, || async {
        (pending(&agent).await == 0).then_some(())
    })
    .await;
    let exchanges = proxy.exchanges();
    assert!(exchanges.iter().any(|e| e.path.contains("screenshots")));
    let lower = SECRET.to_lowercase();
    for e in &exchanges {
        assert!(
            e.whole,
            "a request was relayed unread: {} {}",
            e.method, e.path
        );
        let text = String::from_utf8_lossy(&e.request).to_lowercase();
        assert!(
            !text.contains(&lower) && !text.contains("keepassxc-zq7"),
            "{} {} carried an own rule",
            e.method,
            e.path
        );
    }
}
