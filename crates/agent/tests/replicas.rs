//! The engine against two replicas of the service on one PostgreSQL database and one
//! S3-compatible bucket (real servers): what happens through one replica reaches the engine
//! connected to the other (live events cross replicas), and when the replica it talks to dies
//! in the middle of uploads, the engine carries on through the other one behind a front that
//! forwards each new connection to whichever replica accepts it (as a load balancer would),
//! and every capture ends up at the service exactly once (R24–R26).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use common::{
    DEADLINE, Events, Screen, captured, drained, local_shots, service_shots_of, session,
    start_agent, stop_settled, unique,
};
use shotclock_agent::{AgentEvent, CaptureStatus};
use shotclock_api::EntryId;
use shotclock_store::ScreenshotState;
use shotclock_testkit::{Storage, TestServer, eventually};

const WINDOW_SECS: u32 = 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admins_delete_through_one_replica_reaches_the_agent_on_the_other() {
    let a = TestServer::on(Storage::PostgresS3, WINDOW_SECS);
    let b = a.replica();
    let ws = a.workspace("relay", &["alice"], true).await;
    let alice = ws.member(0);
    let data = tempfile::tempdir().unwrap();
    let agent = start_agent(data.path(), session(&a.url(), alice).await, Screen::new()).await;
    let events = Events::record(&agent);
    let entry = agent
        .start_timer("uploaded to A".into())
        .await
        .unwrap()
        .entry_id;
    captured(&agent, entry, 2, DEADLINE).await;
    stop_settled(&agent).await;
    drained(&agent, DEADLINE).await;
    let victim = local_shots(&agent, entry).await[0].id;

    let owner_on_b = b.sign_in(ws.team.owner()).await;
    let t = Instant::now();
    owner_on_b.delete_screenshot(victim, false).await.unwrap();
    events
        .wait_for("the delete through B to reach the agent on A", t, |e| {
            matches!(e, AgentEvent::Deleted).then_some(())
        })
        .await;
    eventually("the local copy to go", DEADLINE, || async {
        let gone = agent
            .local_store()
            .call(move |s| s.screenshot(victim))
            .await
            .unwrap()
            .is_none();
        gone.then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_started_through_one_replica_makes_the_agent_on_the_other_capture() {
    let a = TestServer::on(Storage::PostgresS3, WINDOW_SECS);
    let b = a.replica();
    let ws = a.workspace("relay", &["alice"], true).await;
    let alice = ws.member(0);
    let data = tempfile::tempdir().unwrap();
    let screen = Screen::new();
    let agent = start_agent(data.path(), session(&a.url(), alice).await, screen.clone()).await;
    let events = Events::record(&agent);
    assert_eq!(screen.captures(), 0, "captured without a timer");

    let on_b = b.sign_in(alice).await;
    let entry = EntryId::new();
    let t = Instant::now();
    on_b.start_timer(entry, "started through B", None)
        .await
        .unwrap();
    events
        .wait_for("capture to turn on for B's entry", t, |e| {
            matches!(e, AgentEvent::CaptureChanged { status: CaptureStatus::Active { entry_id, .. } } if *entry_id == entry)
                .then_some(())
        })
        .await;
    eventually(
        "a screenshot of B's entry, uploaded to A, listed by B",
        DEADLINE,
        || async { (!service_shots_of(&on_b, entry).await.is_empty()).then_some(()) },
    )
    .await;
}

/// A TCP front: each accepted connection goes to the first of `upstreams` that accepts it.
/// Returns its address and the number of connections it sent to each upstream.
async fn front(upstreams: Vec<SocketAddr>) -> (SocketAddr, Arc<Vec<AtomicUsize>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counts: Arc<Vec<AtomicUsize>> =
        Arc::new(upstreams.iter().map(|_| AtomicUsize::new(0)).collect());
    let served = counts.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            let upstreams = upstreams.clone();
            let counts = served.clone();
            tokio::spawn(async move {
                for (i, upstream) in upstreams.iter().enumerate() {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        counts[i].fetch_add(1, Ordering::SeqCst);
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        return;
                    }
                }
            });
        }
    });
    (addr, counts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_dying_mid_uploads_loses_nothing_and_duplicates_nothing() {
    let mut a = TestServer::on(Storage::PostgresS3, WINDOW_SECS);
    let b = a.replica();
    let ws = a.workspace("failover", &["alice"], true).await;
    let alice = ws.member(0);
    let (lb, counts) = front(vec![a.addr, b.addr]).await;
    let lb = format!("http://{lb}");
    let data = tempfile::tempdir().unwrap();
    let agent = start_agent(data.path(), session(&lb, alice).await, Screen::new()).await;
    let entry = agent
        .start_timer("through the front".into())
        .await
        .unwrap()
        .entry_id;
    eventually("3 screenshots uploaded to A", DEADLINE, || async {
        let shots = local_shots(&agent, entry).await;
        (shots
            .iter()
            .filter(|s| s.state == ScreenshotState::Uploaded)
            .count()
            >= 3)
            .then_some(())
    })
    .await;
    assert_eq!(
        counts[1].load(Ordering::SeqCst),
        0,
        "B unused while A lives"
    );

    // A dies at once: its listener closes and every connection drops, uploads in flight too.
    a.stop();
    let at_death = local_shots(&agent, entry).await.len();
    captured(&agent, entry, at_death + 3, DEADLINE).await;
    stop_settled(&agent).await;
    drained(&agent, DEADLINE).await;
    assert!(
        counts[1].load(Ordering::SeqCst) > 0,
        "the front never used B"
    );

    let on_b = b.sign_in(alice).await;
    let remote = service_shots_of(&on_b, entry).await;
    let local = local_shots(&agent, entry).await;
    assert!(local.iter().all(|s| s.state == ScreenshotState::Uploaded));
    let remote_ids: Vec<_> = remote.iter().map(|s| s.id).collect();
    let local_ids: Vec<_> = local.iter().map(|s| s.id).collect();
    // `unique` asserts that no id appears twice.
    assert_eq!(
        unique(&remote_ids),
        unique(&local_ids),
        "the service and the device disagree"
    );
    assert_eq!(remote.len(), local.len(), "a capture stored twice");
    eprintln!(
        "{} captures, each once at the service; the front sent {} connections to A and {} to B",
        local.len(),
        counts[0].load(Ordering::SeqCst),
        counts[1].load(Ordering::SeqCst)
    );
}
