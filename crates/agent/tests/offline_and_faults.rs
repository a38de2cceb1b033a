//! Sync under failure (R25, R26): the service down for several windows, a network that cuts,
//! delays and loses answers, and items the service refuses for good.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use common::proxy::{Exchange, Fault, Proxy};
use common::{
    DEADLINE, Events, Screen, assert_one_per_window, captured, drained, local_shots, pending,
    service_shots_of, session, start_agent, stop_settled, unique,
};
use shotclock_agent::AgentEvent;
use shotclock_api::ScreenshotId;
use shotclock_store::{
    AttemptId, CaptureHealth, NewAttempt, NewScreenshot, OutboxKind, OutboxState, ScreenshotState,
};
use shotclock_testkit::{Storage, TestServer, eventually};

const WINDOW_SECS: u32 = 1;
const SCREENSHOTS: &str = "/api/v1/screenshots/";

fn is_upload(x: &Exchange) -> bool {
    x.method == "PUT" && x.path.starts_with(SCREENSHOTS)
}

fn upload_id(x: &Exchange) -> ScreenshotId {
    x.path[SCREENSHOTS.len()..].parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captures_buffer_while_the_service_is_down_then_upload_once_in_order() {
    captures_buffer_while_the_service_is_down_then_upload_once_in_order_on(Storage::Sqlite).await;
}

/// The same with the service on PostgreSQL and an S3-compatible bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_captures_buffer_while_the_service_is_down_then_upload_once_in_order() {
    captures_buffer_while_the_service_is_down_then_upload_once_in_order_on(Storage::PostgresS3)
        .await;
}

async fn captures_buffer_while_the_service_is_down_then_upload_once_in_order_on(storage: Storage) {
    let mut server = TestServer::on(storage, WINDOW_SECS);
    let ws = server.workspace("outage", &["alice"], true).await;
    let alice = ws.member(0).clone();
    // A recording relay: it tells the order in which uploads reached the service.
    let proxy = Proxy::pass(server.addr).await;
    let data = tempfile::tempdir().unwrap();
    let agent = start_agent(
        data.path(),
        session(&proxy.url(), &alice).await,
        Screen::new(),
    )
    .await;
    let member = server.sign_in(&alice).await;

    let entry = agent
        .start_timer("through an outage".into())
        .await
        .unwrap()
        .entry_id;
    eventually("a first upload", DEADLINE, || async {
        (!service_shots_of(&member, entry).await.is_empty()).then_some(())
    })
    .await;

    server.stop();
    assert!(member.health().await.is_err(), "the service is still up");
    let offline_from = local_shots(&agent, entry).await.len();
    let pending_from = pending(&agent).await;
    let mut samples = vec![pending_from];
    let (offline_to, pending_to) = eventually(
        "5 captures buffered while the service is down",
        Duration::from_secs(60),
        || async {
            let n = local_shots(&agent, entry).await.len();
            let p = pending(&agent).await;
            (n >= offline_from + 5 && p >= pending_from + 5).then_some((n, p))
        },
    )
    .await;
    samples.push(pending_to);
    let buffered: Vec<_> = local_shots(&agent, entry).await[offline_from..].to_vec();
    assert!(
        buffered.iter().all(|s| s.state == ScreenshotState::Pending),
        "something was acknowledged while the service was down: {buffered:?}"
    );
    eprintln!(
        "outage: {} screenshots buffered, pending {pending_from} → {pending_to}",
        offline_to - offline_from
    );

    server.restart();
    let back = Instant::now();
    stop_settled(&agent).await;
    drained(&agent, Duration::from_secs(120)).await;
    let drained_in = back.elapsed();
    assert!(agent.rejected_items().await.unwrap().is_empty());

    let local = local_shots(&agent, entry).await;
    let remote = service_shots_of(&member, entry).await;
    let local_ids = unique(&local.iter().map(|s| s.id).collect::<Vec<_>>());
    assert_eq!(
        local_ids,
        unique(&remote.iter().map(|s| s.id).collect::<Vec<_>>()),
        "local and service screenshots differ"
    );
    assert!(local.iter().all(|s| s.state == ScreenshotState::Uploaded));
    for s in &buffered {
        assert!(local_ids.contains(&s.id), "a buffered screenshot was lost");
    }
    let listed = member.entries(None, None, None).await.unwrap().entries;
    let start = listed.iter().find(|e| e.id == entry).unwrap().start;
    assert_one_per_window(
        start,
        WINDOW_SECS,
        &remote.iter().map(|s| s.captured_at).collect::<Vec<_>>(),
    );

    // Order and exactly-once, as the service saw them: the first success of each id comes in
    // capture order, and each id was created once.
    let log = proxy.exchanges();
    let mut created: HashMap<ScreenshotId, usize> = HashMap::new();
    let mut order = Vec::new();
    for x in log.iter().filter(|x| is_upload(x)) {
        let id = upload_id(x);
        if x.status == Some(201) {
            *created.entry(id).or_default() += 1;
        }
        if matches!(x.status, Some(200 | 201)) && !order.contains(&id) {
            order.push(id);
        }
    }
    let by_capture: Vec<_> = local.iter().map(|s| s.id).collect();
    assert_eq!(
        order, by_capture,
        "uploads did not reach the service in capture order"
    );
    assert!(created.values().all(|n| *n == 1), "{created:?}");
    let failed_while_down = log
        .iter()
        .filter(|x| is_upload(x) && x.status.is_none())
        .count();
    eprintln!(
        "outage: {} screenshots in all; {failed_while_down} upload attempts cut when the \
         service stopped; queue drained {drained_in:?} after the service came back",
        local.len()
    );
}

/// Per request: the first attempt of each screenshot upload gets the next fault of a cycle;
/// the first timer start loses its answer; the first timer stop is cut mid-body.
fn faulty() -> common::proxy::Policy {
    let seen: Arc<Mutex<(HashSet<String>, usize)>> = Arc::default();
    Arc::new(move |method: &str, path: &str| {
        let mut seen = seen.lock().unwrap();
        let first = seen.0.insert(format!("{method} {path}"));
        if !first {
            return Fault::Pass;
        }
        match (method, path) {
            ("PUT", p) if p.starts_with(SCREENSHOTS) => {
                let i = seen.1;
                seen.1 += 1;
                [
                    Fault::DropMidBody,
                    Fault::ResetAfterResponse,
                    Fault::Delay(Duration::from_millis(1500)),
                    Fault::Pass,
                ][i % 4]
            }
            ("POST", "/api/v1/timer/start") => Fault::ResetAfterResponse,
            ("POST", "/api/v1/timer/stop") => Fault::DropMidBody,
            _ => Fault::Pass,
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faulty_network_loses_nothing_and_duplicates_nothing() {
    a_faulty_network_loses_nothing_and_duplicates_nothing_on(Storage::Sqlite).await;
}

/// The same with the service on PostgreSQL and an S3-compatible bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_faulty_network_loses_nothing_and_duplicates_nothing() {
    a_faulty_network_loses_nothing_and_duplicates_nothing_on(Storage::PostgresS3).await;
}

async fn a_faulty_network_loses_nothing_and_duplicates_nothing_on(storage: Storage) {
    let server = TestServer::on(storage, WINDOW_SECS);
    let ws = server.workspace("faults", &["alice"], true).await;
    let alice = ws.member(0);
    let proxy = Proxy::start(server.addr, faulty()).await;
    let data = tempfile::tempdir().unwrap();
    // Sign in directly (the login is not what is under test); the engine talks through the
    // proxy.
    let mut sess = session(&server.url(), alice).await;
    sess.server_url = proxy.url();
    let agent = start_agent(data.path(), sess, Screen::new()).await;
    let member = server.sign_in(alice).await;

    let entry = agent
        .start_timer("over a bad network".into())
        .await
        .unwrap()
        .entry_id;
    captured(&agent, entry, 8, Duration::from_secs(60)).await;
    stop_settled(&agent).await;
    drained(&agent, Duration::from_secs(120)).await;
    assert!(agent.rejected_items().await.unwrap().is_empty());

    let local = local_shots(&agent, entry).await;
    let remote = service_shots_of(&member, entry).await;
    assert_eq!(
        unique(&local.iter().map(|s| s.id).collect::<Vec<_>>()),
        unique(&remote.iter().map(|s| s.id).collect::<Vec<_>>()),
        "lost or extra screenshots"
    );
    let entries: Vec<_> = member
        .entries(None, None, None)
        .await
        .unwrap()
        .entries
        .into_iter()
        .filter(|e| e.id == entry)
        .collect();
    assert_eq!(entries.len(), 1, "the entry exists once");
    assert!(
        entries[0].end.is_some(),
        "the stop (cut the first time) arrived"
    );
    assert_one_per_window(
        entries[0].start,
        WINDOW_SECS,
        &remote.iter().map(|s| s.captured_at).collect::<Vec<_>>(),
    );

    // The faults did happen, and the retries took the idempotent path.
    let log = proxy.exchanges();
    let uploads: Vec<_> = log.iter().filter(|x| is_upload(x)).collect();
    let count = |f: Fault| uploads.iter().filter(|x| x.fault == f).count();
    let (dropped, reset, delayed) = (
        count(Fault::DropMidBody),
        count(Fault::ResetAfterResponse),
        count(Fault::Delay(Duration::from_millis(1500))),
    );
    eprintln!(
        "faults: {} uploads for {} screenshots; {dropped} cut mid-body, {reset} answers lost, \
         {delayed} delayed",
        uploads.len(),
        local.len()
    );
    assert!(dropped >= 2 && reset >= 2 && delayed >= 1, "{log:#?}");
    for lost in uploads
        .iter()
        .filter(|x| x.fault == Fault::ResetAfterResponse)
    {
        let id = upload_id(lost);
        assert_eq!(lost.status, Some(201), "the service had committed {id}");
        assert!(
            uploads
                .iter()
                .any(|x| upload_id(x) == id && x.fault == Fault::Pass && x.status == Some(200)),
            "{id} was not retried into the service's idempotent answer"
        );
    }
    for cut in uploads.iter().filter(|x| x.fault == Fault::DropMidBody) {
        let id = upload_id(cut);
        let created = uploads
            .iter()
            .filter(|x| upload_id(x) == id && x.status == Some(201))
            .count();
        assert_eq!(created, 1, "{id} cut mid-body was created {created} times");
    }
    let starts: Vec<_> = log
        .iter()
        .filter(|x| x.path == "/api/v1/timer/start")
        .collect();
    assert!(
        starts.len() >= 2 && starts[0].fault == Fault::ResetAfterResponse,
        "{starts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_refused_for_good_is_kept_aside_and_blocks_nothing() {
    an_item_refused_for_good_is_kept_aside_and_blocks_nothing_on(Storage::Sqlite).await;
}

/// The same with the service on PostgreSQL and an S3-compatible bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_an_item_refused_for_good_is_kept_aside_and_blocks_nothing() {
    an_item_refused_for_good_is_kept_aside_and_blocks_nothing_on(Storage::PostgresS3).await;
}

async fn an_item_refused_for_good_is_kept_aside_and_blocks_nothing_on(storage: Storage) {
    let server = TestServer::on(storage, WINDOW_SECS);
    let ws = server.workspace("poison", &["alice"], true).await;
    let alice = ws.member(0);
    let data = tempfile::tempdir().unwrap();
    let agent = start_agent(
        data.path(),
        session(&server.url(), alice).await,
        Screen::new(),
    )
    .await;
    let events = Events::record(&agent);
    let member = server.sign_in(alice).await;

    let running = agent.start_timer("poisoned queue".into()).await.unwrap();
    let entry = running.entry_id;
    eventually("a first upload", DEADLINE, || async {
        (!service_shots_of(&member, entry).await.is_empty()).then_some(())
    })
    .await;

    // Two poison items at the head of the running entry's queue, in front of every capture to
    // come: a timer start whose payload cannot be read, and a screenshot the service will
    // always refuse (taken "before" its entry started: 422).
    let t = Instant::now();
    let garbage = uuid::Uuid::now_v7();
    let stored = local_shots(&agent, entry).await;
    let template = stored[0].id;
    let thumbnail = agent
        .local_store()
        .call(move |s| s.screenshot(template))
        .await
        .unwrap()
        .unwrap()
        .thumbnail;
    let entry_row = agent
        .local_store()
        .call(move |s| s.get_entry(entry))
        .await
        .unwrap()
        .unwrap();
    let poison_shot = ScreenshotId::new();
    let before_start = running.start - TimeDelta::seconds(30);
    agent
        .local_store()
        .call(move |s| {
            // Written straight into the file: no build queues such a row.
            rusqlite::Connection::open(s.path())?.execute(
                "INSERT INTO outbox (item_id, kind, entry_id, payload, created_at,
                     next_attempt_at)
                 VALUES (?1, 'timer_start', ?2, '{\"not\":\"a timer start\"}', ?3, ?3)",
                rusqlite::params![
                    garbage.to_string(),
                    entry.to_string(),
                    chrono::Utc::now().timestamp_millis()
                ],
            )?;
            s.record_capture(
                &entry_row,
                &NewScreenshot {
                    id: poison_shot,
                    entry_id: entry,
                    captured_at: before_start,
                    thumbnail,
                    width: 640,
                    height: 360,
                },
                &NewAttempt {
                    id: AttemptId::new(),
                    entry_id: entry,
                    window_index: 0,
                    at: before_start,
                    health: CaptureHealth::Ok,
                    detail: String::new(),
                },
            )
        })
        .await
        .unwrap();
    let queued_behind = local_shots(&agent, entry).await.len();

    // Captures behind the poison still reach the service.
    eventually(
        "3 captures after the poison at the service",
        DEADLINE,
        || async {
            let remote = service_shots_of(&member, entry).await.len();
            (remote + 1 >= queued_behind + 3).then_some(())
        },
    )
    .await;
    stop_settled(&agent).await;
    drained(&agent, DEADLINE).await;

    let rejected = agent.rejected_items().await.unwrap();
    assert_eq!(rejected.len(), 2, "{rejected:#?}");
    let bad_start = rejected.iter().find(|i| i.item_id == garbage).unwrap();
    assert_eq!(bad_start.kind, OutboxKind::TimerStart);
    assert_eq!(bad_start.state, OutboxState::Rejected);
    assert!(
        bad_start
            .rejected_reason
            .as_deref()
            .is_some_and(|r| r.contains("unreadable")),
        "{bad_start:?}"
    );
    let bad_shot = rejected
        .iter()
        .find(|i| i.item_id == *poison_shot.as_uuid())
        .unwrap();
    assert_eq!(bad_shot.kind, OutboxKind::Screenshot);
    assert!(
        bad_shot
            .rejected_reason
            .as_deref()
            .is_some_and(|r| r.contains("422") && r.contains("outside")),
        "{bad_shot:?}"
    );
    assert_eq!(bad_shot.attempts, 1, "a final refusal is not retried");
    // Kept, with its thumbnail, for the user to see.
    let kept = agent
        .local_store()
        .call(move |s| s.screenshot(poison_shot))
        .await
        .unwrap()
        .expect("the refused screenshot is kept");
    assert_eq!(kept.info.state, ScreenshotState::Rejected);
    // The UI was told, with the reasons.
    let told: Vec<_> = events
        .since(t)
        .into_iter()
        .filter_map(|e| match e {
            AgentEvent::Rejected { kind, reason } => Some((kind, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(told.len(), 2, "{told:?}");

    // Everything else arrived, exactly once.
    let local: Vec<_> = local_shots(&agent, entry)
        .await
        .into_iter()
        .filter(|s| s.id != poison_shot)
        .collect();
    let remote = service_shots_of(&member, entry).await;
    assert_eq!(
        unique(&local.iter().map(|s| s.id).collect::<Vec<_>>()),
        unique(&remote.iter().map(|s| s.id).collect::<Vec<_>>())
    );
    assert!(remote.len() >= 4, "only {} screenshots", remote.len());
}
