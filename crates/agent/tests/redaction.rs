//! Blocked windows in the engine: the member's own rules stay on this computer, and a capture
//! that cannot find the blocked windows keeps nothing.
//!
//! 1. With an own rule and a source that cannot list windows (as on X11 without a window
//!    manager), every attempt is recorded `redaction_unavailable`: the screen is not even
//!    grabbed, nothing is stored, nothing uploaded. Control: once the rule is removed the same
//!    engine captures and uploads.
//! 2. Every request that reached the service (through a recording proxy) is free of the rule's
//!    pattern, although the rule was set and in force while the engine captured and uploaded.
//! 3. A rule an admin puts on the workspace's list reaches the member's running engine through
//!    the live settings event and is applied with the own rules (the same fail-closed outcome);
//!    clearing it lets captures through again, and the own rules still never leave.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use common::proxy::Proxy;
use common::{
    DEADLINE, Screen, drained, local_attempts, local_shots, service_shots_of, session, start_agent,
    stop_settled,
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
    // Only the timer's start was queued, and it is sent.
    drained(&agent, DEADLINE).await;
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
    stop_settled(&agent).await;
    drained(&agent, DEADLINE).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admins_workspace_rule_reaches_the_members_engine_live_and_is_applied() {
    use shotclock_api::privacy::{BlockField, BlockRule as WireRule, WorkspaceBlocklist};
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("ws-blocked", &["alice"], true).await;
    let alice = ws.member(0).clone();
    let proxy = Proxy::pass(server.addr).await;
    let data = tempfile::tempdir().unwrap();
    let mut sess = session(&server.url(), &alice).await;
    sess.server_url = proxy.url();
    let screen = Screen::new();
    let agent = start_agent(data.path(), sess, screen.clone()).await;
    let member = server.sign_in(&alice).await;
    // The member's own rule is set, but it is the workspace's that matters first.
    agent
        .set_own_block_rules(vec![BlockRule::class("own-zq8-editor")])
        .await
        .unwrap();
    agent.set_own_block_rules(Vec::new()).await.unwrap();

    // Members cannot set the workspace's list.
    assert!(
        agent
            .set_workspace_block_rules(vec![BlockRule::title("x")])
            .await
            .is_err()
    );
    let set = WorkspaceBlocklist {
        rules: vec![WireRule {
            field: BlockField::Title,
            pattern: " Online banking ".into(),
        }],
    };
    ws.owner.set_workspace_blocklist(&set).await.unwrap();
    eventually("the workspace rule in force", DEADLINE, || async {
        (agent.workspace_block_rules() == [BlockRule::title("Online banking")]).then_some(())
    })
    .await;
    agent
        .set_own_block_rules(vec![BlockRule::title(SECRET)])
        .await
        .unwrap();

    let entry = agent
        .start_timer("with a workspace list".into())
        .await
        .unwrap()
        .entry_id;
    let attempts = eventually("two failed attempts", DEADLINE, || async {
        let a = local_attempts(&agent, entry).await;
        (a.len() >= 2).then_some(a)
    })
    .await;
    assert!(
        attempts
            .iter()
            .all(|a| a.health == CaptureHealth::RedactionUnavailable),
        "{attempts:?}"
    );
    assert_eq!(screen.captures(), 0, "the screen was grabbed");

    // The own rule goes; the workspace's still holds every capture back.
    agent.set_own_block_rules(Vec::new()).await.unwrap();
    let before = local_attempts(&agent, entry).await.len();
    let attempts = eventually("two more failed attempts", DEADLINE, || async {
        let a = local_attempts(&agent, entry).await;
        (a.len() >= before + 2).then_some(a)
    })
    .await;
    assert!(
        attempts
            .iter()
            .all(|a| a.health == CaptureHealth::RedactionUnavailable)
    );
    assert_eq!(screen.captures(), 0);
    assert!(service_shots_of(&member, entry).await.is_empty());

    // The admin clears the list: the engine hears it and captures again.
    ws.owner
        .set_workspace_blocklist(&WorkspaceBlocklist::default())
        .await
        .unwrap();
    eventually("an upload once the list is empty", DEADLINE, || async {
        (!service_shots_of(&member, entry).await.is_empty()).then_some(())
    })
    .await;
    assert!(agent.workspace_block_rules().is_empty());
    stop_settled(&agent).await;
    drained(&agent, DEADLINE).await;
    let exchanges = proxy.exchanges();
    assert!(
        exchanges
            .iter()
            .any(|e| e.path.contains("workspace/blocklist"))
    );
    for e in &exchanges {
        let text = String::from_utf8_lossy(&e.request).to_lowercase();
        assert!(
            !text.contains(&SECRET.to_lowercase()) && !text.contains("own-zq8-editor"),
            "{} {} carried an own rule",
            e.method,
            e.path
        );
    }
}
