//! A deleted screenshot never comes back (R24, R29): the service answers a create of a deleted
//! id with `410` and code `deleted`, and the engine counts the item as done — it drops the item
//! and its local copy, and does not set it aside as refused. An entry deleted while a screenshot
//! of it is being taken stays deleted here too, even when another timer runs by the time the
//! grab ends; an entry only stopped during the grab keeps that screenshot.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use common::proxy::{Exchange, Fault, Proxy};
use common::{
    DEADLINE, Events, HeldGrab, Screen, drained, lock_buffer, service_shots_of, session,
    start_agent, stop_settled,
};
use shotclock_agent::AgentEvent;
use shotclock_api::ScreenshotId;
use shotclock_testkit::{TestServer, eventually};

const WINDOW_SECS: u32 = 1;
const SCREENSHOTS: &str = "/api/v1/screenshots/";

fn is_upload(x: &Exchange) -> bool {
    x.method == "PUT" && x.path.starts_with(SCREENSHOTS)
}

fn upload_id(x: &Exchange) -> ScreenshotId {
    x.path[SCREENSHOTS.len()..].parse().unwrap()
}

/// The engine's handling of the answer alone: a relay answers every upload `410 deleted` in
/// the service's place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_answered_deleted_is_done_and_its_local_copy_goes() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("tombstone", &["alice"], true).await;
    let alice = ws.member(0);
    let proxy = Proxy::start(
        server.addr,
        Arc::new(|method: &str, path: &str| {
            if method == "PUT" && path.starts_with(SCREENSHOTS) {
                Fault::AnswerDeleted
            } else {
                Fault::Pass
            }
        }),
    )
    .await;
    let data = tempfile::tempdir().unwrap();
    let agent = start_agent(
        data.path(),
        session(&proxy.url(), alice).await,
        Screen::new(),
    )
    .await;
    let events = Events::record(&agent);
    let member = server.sign_in(alice).await;

    let t = Instant::now();
    let entry = agent
        .start_timer("deleted elsewhere".into())
        .await
        .unwrap()
        .entry_id;
    let captured = eventually("3 captures", DEADLINE, || {
        let ids: Vec<ScreenshotId> = events
            .since(t)
            .into_iter()
            .filter_map(|e| match e {
                AgentEvent::Captured { screenshot_id, .. } => Some(screenshot_id),
                _ => None,
            })
            .collect();
        async move { (ids.len() >= 3).then_some(ids) }
    })
    .await;
    stop_settled(&agent).await;
    drained(&agent, DEADLINE).await;

    // Done, not refused: nothing set aside, nothing told the UI as refused.
    let rejected = agent.rejected_items().await.unwrap();
    assert!(rejected.is_empty(), "set aside as refused: {rejected:#?}");
    let refused: Vec<_> = events
        .since(t)
        .into_iter()
        .filter(|e| matches!(e, AgentEvent::Rejected { .. }))
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    // The local copies went (R24), and the UI heard of it.
    for id in &captured {
        let id = *id;
        let local = agent
            .local_store()
            .call(move |s| s.screenshot(id))
            .await
            .unwrap();
        assert!(local.is_none(), "{id} is still in the buffer");
    }
    assert!(
        events
            .since(t)
            .iter()
            .any(|e| matches!(e, AgentEvent::Deleted)),
        "the UI was not told"
    );
    // Each was sent once and never retried.
    let uploads: Vec<_> = proxy.exchanges().into_iter().filter(is_upload).collect();
    for id in &captured {
        let sent: Vec<_> = uploads.iter().filter(|x| upload_id(x) == *id).collect();
        assert_eq!(sent.len(), 1, "{id} sent {} times: {sent:?}", sent.len());
        assert_eq!(sent[0].status, Some(410));
    }
    // The rest of the queue went on: the entry, started and stopped, is at the service — and
    // no screenshot (the relay answered for it).
    let listed = member.entries(None, None, None).await.unwrap().entries;
    let at_service = listed.iter().find(|e| e.id == entry).expect("the entry");
    assert!(
        at_service.end.is_some(),
        "the stop did not reach the service"
    );
    assert!(service_shots_of(&member, entry).await.is_empty());
    // The entry itself stays here: only the screenshots were deleted.
    let kept = agent
        .local_store()
        .call(move |s| s.get_entry(entry))
        .await
        .unwrap();
    assert!(kept.is_some(), "the entry left the buffer");
}

/// End to end with the service: the service commits an upload but its answer is lost; while
/// the app is closed the screenshot is deleted elsewhere; the app starts again and retries.
/// The service must answer `deleted` (its tombstone, R29), and the engine drop the item.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_delete_elsewhere_does_not_bring_the_screenshot_back() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("tombstone-retry", &["alice"], true).await;
    let alice = ws.member(0);
    let member = server.sign_in(alice).await;
    // The first upload loses its answer; its retries cannot reach the service until `open`.
    let open = Arc::new(AtomicBool::new(false));
    let victim_path: Arc<Mutex<Option<String>>> = Arc::default();
    let policy = {
        let open = open.clone();
        let victim_path = victim_path.clone();
        Arc::new(move |method: &str, path: &str| {
            if method != "PUT" || !path.starts_with(SCREENSHOTS) {
                return Fault::Pass;
            }
            let mut victim = victim_path.lock().unwrap();
            match victim.as_deref() {
                None => {
                    *victim = Some(path.to_owned());
                    Fault::ResetAfterResponse
                }
                Some(v) if v == path && !open.load(Ordering::SeqCst) => Fault::Refuse,
                Some(_) => Fault::Pass,
            }
        })
    };
    let proxy = Proxy::start(server.addr, policy).await;
    let data = tempfile::tempdir().unwrap();

    let agent = start_agent(
        data.path(),
        session(&proxy.url(), alice).await,
        Screen::new(),
    )
    .await;
    let entry = agent
        .start_timer("lost acknowledgement".into())
        .await
        .unwrap()
        .entry_id;
    let victim = eventually(
        "an upload the service committed without the answer reaching the app",
        DEADLINE,
        || {
            let lost = proxy
                .exchanges()
                .into_iter()
                .find(|x| is_upload(x) && x.fault == Fault::ResetAfterResponse);
            async move {
                let x = lost?;
                assert_eq!(x.status, Some(201), "the service did not commit it");
                Some(upload_id(&x))
            }
        },
    )
    .await;
    // The app closes with the upload still queued.
    agent.shutdown().await;
    drop(agent);

    // Elsewhere: the timer stops, and an admin deletes the screenshot (R20, R22).
    member.stop_timer(Some(entry), None).await.unwrap();
    ws.owner.delete_screenshot(victim, false).await.unwrap();
    assert!(
        service_shots_of(&member, entry)
            .await
            .iter()
            .all(|s| s.id != victim)
    );

    // The app starts again and retries.
    open.store(true, Ordering::SeqCst);
    let reopened = proxy.exchanges().len();
    let agent = start_agent(
        data.path(),
        session(&proxy.url(), alice).await,
        Screen::new(),
    )
    .await;
    drained(&agent, DEADLINE).await;

    let retries: Vec<_> = proxy.exchanges()[reopened..]
        .iter()
        .filter(|x| is_upload(x) && upload_id(x) == victim)
        .cloned()
        .collect();
    assert!(!retries.is_empty(), "the upload was not retried");
    let at_service: HashSet<_> = service_shots_of(&member, entry)
        .await
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert!(
        !at_service.contains(&victim),
        "the retry brought the deleted screenshot back: the service answered {:?}",
        retries.iter().map(|x| x.status).collect::<Vec<_>>()
    );
    assert!(retries.iter().all(|x| x.status == Some(410)), "{retries:?}");
    let local = agent
        .local_store()
        .call(move |s| s.screenshot(victim))
        .await
        .unwrap();
    assert!(
        local.is_none(),
        "the deleted screenshot is still in the buffer"
    );
    let rejected = agent.rejected_items().await.unwrap();
    assert!(rejected.is_empty(), "set aside as refused: {rejected:#?}");
    agent.shutdown().await;
}

/// What happens to the running entry while a screenshot of it is being taken.
#[derive(Debug, Clone, Copy)]
enum DuringGrab {
    /// The user deletes it in this app.
    DeletedHere,
    /// It is deleted elsewhere: the app hears of it from the service's events.
    DeletedElsewhere,
    /// The user deletes it here and starts another timer before the grab ends.
    DeletedHereAndAnotherStarted,
    /// The user stops the timer: the entry stays.
    Stopped,
}

impl DuringGrab {
    fn keeps_the_entry(self) -> bool {
        matches!(self, Self::Stopped)
    }
}

/// A change to the running entry while a screenshot of it is being taken (R15, R29): an entry
/// deleted does not come back in the buffer (the screenshot is discarded, not stored with the
/// entry made again around it), even when another timer runs by then; an entry only stopped
/// keeps the screenshot taken while it ran.
async fn changed_during_a_grab(change: DuringGrab) {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("grab-change", &["alice"], true).await;
    let alice = ws.member(0);
    let member = server.sign_in(alice).await;
    let (source, mut grab) = HeldGrab::new(Screen::new());
    let data = tempfile::tempdir().unwrap();
    let agent = start_agent(data.path(), session(&server.url(), alice).await, source).await;
    let events = Events::record(&agent);
    let entry = agent
        .start_timer("changed mid-grab".into())
        .await
        .unwrap()
        .entry_id;
    grab.began().await;
    let mut other = None;
    match change {
        DuringGrab::DeletedHere => {
            agent.delete_entry(entry, false).await.unwrap();
        }
        DuringGrab::DeletedElsewhere => {
            drained(&agent, DEADLINE).await;
            member.delete_entry(entry).await.unwrap();
            eventually("the app to hear of the delete", DEADLINE, || async {
                agent.running().is_none().then_some(())
            })
            .await;
        }
        DuringGrab::DeletedHereAndAnotherStarted => {
            agent.delete_entry(entry, false).await.unwrap();
            let next = agent.start_timer("the next task".into()).await.unwrap();
            other = Some(next.entry_id);
        }
        DuringGrab::Stopped => {
            agent.stop_timer().await.unwrap();
        }
    }
    assert_eq!(agent.running().map(|r| r.entry_id), other);
    let released = Instant::now();
    grab.finish();
    // The scheduler announces the next state only once it is done with the grab: capture off,
    // or active for the other entry.
    events
        .wait_for("the scheduler to be done with the grab", released, |e| {
            match e {
                AgentEvent::CaptureChanged {
                    status: shotclock_agent::CaptureStatus::Off { .. },
                } => other.is_none(),
                AgentEvent::CaptureChanged {
                    status: shotclock_agent::CaptureStatus::Active { entry_id, .. },
                } => other == Some(*entry_id),
                _ => false,
            }
            .then_some(())
        })
        .await;
    if other.is_some() {
        agent.stop_timer().await.unwrap();
    }
    let store = agent.local_store();
    let (kept, shots) = store
        .call(move |s| Ok((s.get_entry(entry)?, s.screenshots_of_entry(entry)?)))
        .await
        .unwrap();
    drained(&agent, DEADLINE).await;
    let at_service = service_shots_of(&member, entry).await;
    if change.keeps_the_entry() {
        let kept = kept.expect("the stopped entry is in the buffer");
        assert_eq!(
            shots.len(),
            1,
            "the screenshot taken while it ran: {shots:?}"
        );
        let stopped = kept.end.expect("the entry is stopped");
        assert!(shots[0].captured_at <= stopped, "{shots:?} after {stopped}");
        assert_eq!(
            at_service.iter().map(|s| s.id).collect::<Vec<_>>(),
            vec![shots[0].id]
        );
    } else {
        assert_eq!(kept, None, "the deleted entry came back in the buffer");
        assert!(shots.is_empty(), "{shots:?}");
        assert!(at_service.is_empty(), "{at_service:?}");
    }
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_deleted_here_during_a_grab_does_not_come_back() {
    changed_during_a_grab(DuringGrab::DeletedHere).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_deleted_elsewhere_during_a_grab_does_not_come_back() {
    changed_during_a_grab(DuringGrab::DeletedElsewhere).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_deleted_during_a_grab_stays_deleted_when_another_timer_runs_by_then() {
    changed_during_a_grab(DuringGrab::DeletedHereAndAnotherStarted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_stopped_during_a_grab_keeps_its_screenshot() {
    changed_during_a_grab(DuringGrab::Stopped).await;
}

/// Deletes made elsewhere while another process holds the buffer's write lock for longer than
/// the engine waits (R15, R24): the engine hears of them but cannot take them at once; they
/// are final all the same — the screenshot an admin deleted and the entry deleted on another
/// device leave this device once the lock goes, without waiting for a reconnect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_heard_while_the_buffer_is_locked_are_made_once_it_is_free() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("locked-deletes", &["alice"], true).await;
    let alice = ws.member(0);
    let member = server.sign_in(alice).await;
    let data = tempfile::tempdir().unwrap();
    let agent = start_agent(
        data.path(),
        session(&server.url(), alice).await,
        Screen::new(),
    )
    .await;
    let kept = agent.start_timer("kept".into()).await.unwrap().entry_id;
    eventually("two uploads of the kept entry", DEADLINE, || async {
        (service_shots_of(&member, kept).await.len() >= 2).then_some(())
    })
    .await;
    let gone = agent.start_timer("deleted".into()).await.unwrap().entry_id;
    eventually("an upload of the deleted entry", DEADLINE, || async {
        (!service_shots_of(&member, gone).await.is_empty()).then_some(())
    })
    .await;
    stop_settled(&agent).await;
    drained(&agent, DEADLINE).await;
    let victim = service_shots_of(&member, kept).await[0].id;
    let events = Events::record(&agent);

    let lock = lock_buffer(data.path(), "SELECT count(*) FROM time_entries").await;
    let t = Instant::now();
    ws.owner.delete_screenshot(victim, false).await.unwrap();
    member.delete_entry(gone).await.unwrap();
    // The engine tells the UI once it has tried each (and failed, the lock being held).
    eventually("the engine to try both deletes", DEADLINE, || {
        let tried = events
            .since(t)
            .iter()
            .filter(|e| matches!(e, AgentEvent::Deleted))
            .count();
        async move { (tried >= 2).then_some(()) }
    })
    .await;
    assert_eq!(
        lock.release(),
        2,
        "the buffer had lost an entry under the lock: the test proves nothing"
    );
    let store = agent.local_store();
    eventually("both deletes made here", DEADLINE, || async {
        let (shot, entry, shots) = store
            .call(move |s| {
                Ok((
                    s.screenshot(victim)?,
                    s.get_entry(gone)?,
                    s.screenshots_of_entry(gone)?,
                ))
            })
            .await
            .unwrap();
        (shot.is_none() && entry.is_none() && shots.is_empty()).then_some(())
    })
    .await;
    let left = store
        .call(move |s| s.screenshots_of_entry(kept))
        .await
        .unwrap();
    assert!(!left.is_empty(), "the kept entry lost every screenshot");
    // Made once: no further attempt follows (the next would come 10 s after the one that
    // took, and each attempt tells the UI).
    let tries = || {
        events
            .since(t)
            .iter()
            .filter(|e| matches!(e, AgentEvent::Deleted))
            .count()
    };
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let made = tries();
    tokio::time::sleep(std::time::Duration::from_secs(12)).await;
    assert_eq!(tries(), made, "the deletes were made again after they took");
    agent.shutdown().await;
}

/// An entry stopped here and deleted elsewhere while the app was closed leaves the buffer at
/// the next start, with everything of it; the other entries stay (R15, R24). (A delete the
/// buffer could not take before the app quit ends the same way.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_entry_deleted_while_the_app_was_closed_leaves_on_the_next_start() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("closed-entry", &["alice"], true).await;
    let alice = ws.member(0);
    let member = server.sign_in(alice).await;
    let data = tempfile::tempdir().unwrap();
    let agent = start_agent(
        data.path(),
        session(&server.url(), alice).await,
        Screen::new(),
    )
    .await;
    let kept = agent.start_timer("kept".into()).await.unwrap().entry_id;
    eventually("an upload of the kept entry", DEADLINE, || async {
        (!service_shots_of(&member, kept).await.is_empty()).then_some(())
    })
    .await;
    let gone = agent.start_timer("deleted".into()).await.unwrap().entry_id;
    eventually("an upload of the deleted entry", DEADLINE, || async {
        (!service_shots_of(&member, gone).await.is_empty()).then_some(())
    })
    .await;
    stop_settled(&agent).await;
    drained(&agent, DEADLINE).await;
    agent.shutdown().await;
    drop(agent);

    // Meanwhile the stopped entry is deleted on the web.
    member.delete_entry(gone).await.unwrap();

    let agent = start_agent(
        data.path(),
        session(&server.url(), alice).await,
        Screen::new(),
    )
    .await;
    let store = agent.local_store();
    eventually(
        "the deleted entry to leave the buffer",
        DEADLINE,
        || async {
            let (entry, shots) = store
                .call(move |s| Ok((s.get_entry(gone)?, s.screenshots_of_entry(gone)?)))
                .await
                .unwrap();
            (entry.is_none() && shots.is_empty()).then_some(())
        },
    )
    .await;
    let (entry, shots) = store
        .call(move |s| Ok((s.get_entry(kept)?, s.screenshots_of_entry(kept)?)))
        .await
        .unwrap();
    assert!(entry.is_some(), "the kept entry left the buffer");
    assert!(!shots.is_empty(), "the kept entry lost its screenshots");
    agent.shutdown().await;
}

/// The same for entries typed in here, which hold no screenshots: the one deleted elsewhere
/// leaves at the next start and the UI hears of it; the other stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_entry_deleted_while_the_app_was_closed_leaves_on_the_next_start() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("closed-typed", &["alice"], true).await;
    let alice = ws.member(0);
    let member = server.sign_in(alice).await;
    let data = tempfile::tempdir().unwrap();
    let agent = start_agent(
        data.path(),
        session(&server.url(), alice).await,
        Screen::new(),
    )
    .await;
    let hour = chrono::TimeDelta::hours(1);
    let now = chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp(), 0).unwrap();
    let kept = agent
        .add_entry("kept".into(), now - hour * 4, now - hour * 3)
        .await
        .unwrap()
        .id;
    let gone = agent
        .add_entry("deleted".into(), now - hour * 2, now - hour)
        .await
        .unwrap()
        .id;
    drained(&agent, DEADLINE).await;
    agent.shutdown().await;
    drop(agent);
    member.delete_entry(gone).await.unwrap();

    let agent = start_agent(
        data.path(),
        session(&server.url(), alice).await,
        Screen::new(),
    )
    .await;
    let started = Instant::now();
    let events = Events::record(&agent);
    let store = agent.local_store();
    eventually(
        "the deleted entry to leave the buffer",
        DEADLINE,
        || async {
            let entry = store.call(move |s| s.get_entry(gone)).await.unwrap();
            entry.is_none().then_some(())
        },
    )
    .await;
    events
        .wait_for("the UI to hear that the entry went", started, |e| {
            matches!(e, AgentEvent::Deleted).then_some(())
        })
        .await;
    let entry = store.call(move |s| s.get_entry(kept)).await.unwrap();
    assert!(entry.is_some(), "the kept entry left the buffer");
    agent.shutdown().await;
}
