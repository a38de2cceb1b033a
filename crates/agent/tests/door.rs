//! The engine's door: what a client sees through `AgentHandle` alone — this device's unsent
//! screenshots in the day's list (marked waiting to sync) while the service is down and until
//! they are acknowledged, entries answered from the buffer offline, images read locally first,
//! and the session life every client shares (resume, offline start with a known account, a
//! revoked session an error rather than an offline answer).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use common::proxy::{Fault, Proxy};
use common::{
    DEADLINE, Screen, drained, local_shots, service_shots_of, session, start_agent, stop_settled,
};
use shotclock_agent::{AgentError, AgentEvent, AgentHandle, Resumed, Session};
use shotclock_api::dto::{DeleteKind, EntryPatch};
use shotclock_api::{EntryId, ErrorCode};
use shotclock_store::{ScreenshotState, TimeEntry};
use shotclock_testkit::{TestServer, eventually};

const WINDOW_SECS: u32 = 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsent_screenshots_are_listed_as_waiting_until_the_service_has_them() {
    let mut server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("door", &["alice"], true).await;
    let alice = ws.member(0).clone();
    let data = tempfile::tempdir().unwrap();
    let sess = session(&server.url(), &alice).await;
    let me = sess.me.user.id;
    let agent = start_agent(data.path(), sess, Screen::new()).await;
    let member = server.sign_in(&alice).await;
    let today = Utc::now().date_naive();

    let entry = agent
        .start_timer("offline work".into())
        .await
        .unwrap()
        .entry_id;
    eventually("a first upload", DEADLINE, || async {
        (!service_shots_of(&member, entry).await.is_empty()).then_some(())
    })
    .await;

    server.stop();
    let waiting = eventually(
        "two captures waiting while the service is down",
        Duration::from_secs(60),
        || async {
            let list = agent.screenshots_of_day(me, today, "UTC").await.unwrap();
            let waiting: Vec<_> = list
                .screenshots
                .iter()
                .filter(|s| s.waiting_to_sync)
                .map(|s| s.screenshot.clone())
                .collect();
            (waiting.len() >= 2).then_some(waiting)
        },
    )
    .await;
    for shot in &waiting {
        assert_eq!(shot.entry_id, entry);
        assert_eq!(shot.user_id, me);
        assert_eq!(shot.entry_description, "offline work");
        assert!(shot.size > 0);
        let image = agent.image(shot.id).await.unwrap().expect("the local copy");
        assert_eq!(
            image.len() as u32,
            shot.size,
            "the image is the local thumbnail"
        );
    }
    // Entries answer from the buffer while the service is down: the running one is there.
    let now = Utc::now();
    let entries = agent
        .entries(now - TimeDelta::hours(1), now + TimeDelta::hours(1))
        .await
        .unwrap();
    assert!(entries.iter().any(|e| e.id == entry && e.end.is_none()));
    // The day's counts offline: the caller's own line, counting what waits here.
    let counts = agent.day_counts(today, "UTC").await.unwrap();
    assert_eq!(counts.members.len(), 1, "{counts:?}");
    assert_eq!(counts.members[0].user_id, me);
    assert!(
        counts.members[0].count >= waiting.len() as u64,
        "{counts:?} counts fewer than the {} waiting",
        waiting.len()
    );
    // Another member's list is the service's alone: unreachable is an error, not an empty day.
    let other = agent
        .screenshots_of_day(shotclock_api::UserId::new(), today, "UTC")
        .await;
    assert!(matches!(other, Err(e) if e.is_retryable()));

    server.restart();
    stop_settled(&agent).await;
    drained(&agent, Duration::from_secs(120)).await;
    let list = agent.screenshots_of_day(me, today, "UTC").await.unwrap();
    assert!(list.screenshots.iter().all(|s| !s.waiting_to_sync));
    let listed: BTreeSet<_> = list.screenshots.iter().map(|s| s.screenshot.id).collect();
    let served: BTreeSet<_> = service_shots_of(&member, entry)
        .await
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        listed, served,
        "each screenshot listed once, as the service has it"
    );
    for shot in &waiting {
        assert!(listed.contains(&shot.id), "a waiting screenshot was lost");
    }
    let counts = agent.day_counts(today, "UTC").await.unwrap();
    let own = counts.members.iter().find(|m| m.user_id == me).unwrap();
    assert_eq!(own.count, served.len() as u64, "nothing counted twice");
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_session_resumes_online_starts_offline_when_known_and_waits_when_not() {
    let mut server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("resume", &["alice"], true).await;
    let alice = ws.member(0).clone();
    let sess = session(&server.url(), &alice).await;
    let url = sess.server_url.clone();
    let never = |_: &AgentError| std::future::ready(false);

    let online = Session::resume_or_wait(&url, &sess.token, None, never).await;
    assert!(matches!(online, Ok(Resumed::Online(s)) if s.me.user.id == sess.me.user.id));

    server.stop();
    let known = Some(sess.me.clone());
    let offline = Session::resume_or_wait(&url, &sess.token, known, never).await;
    assert!(matches!(offline, Ok(Resumed::Offline(s)) if s.token == sess.token));

    // Unknown account: it waits, telling why, until the caller gives up.
    let mut told = Vec::new();
    let gave_up = Session::resume_or_wait(&url, &sess.token, None, |e: &AgentError| {
        told.push(e.is_retryable());
        std::future::ready(false)
    })
    .await;
    assert!(matches!(gave_up, Ok(Resumed::GaveUp)));
    assert_eq!(told, vec![true]);

    // A token the service refuses is an error, never an offline start.
    server.restart();
    let refused =
        Session::resume_or_wait(&url, "not-a-session", Some(sess.me.clone()), never).await;
    assert!(matches!(refused, Err(e) if !e.is_retryable()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screenshot_deleted_before_it_was_sent_never_reaches_the_service_and_its_time_goes_once()
{
    let mut server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("unsent-delete", &["alice"], true).await;
    let alice = ws.member(0).clone();
    let proxy = Proxy::pass(server.addr).await;
    let data = tempfile::tempdir().unwrap();
    let mut sess = session(&server.url(), &alice).await;
    sess.server_url = proxy.url();
    let agent = start_agent(data.path(), sess, Screen::new()).await;
    let member = server.sign_in(&alice).await;

    let entry = agent
        .start_timer("offline delete".into())
        .await
        .unwrap()
        .entry_id;
    eventually("a first upload", DEADLINE, || async {
        (!service_shots_of(&member, entry).await.is_empty()).then_some(())
    })
    .await;
    server.stop();
    let unsent = eventually(
        "two captures waiting while the service is down",
        Duration::from_secs(60),
        || async {
            let waiting: Vec<_> = local_shots(&agent, entry)
                .await
                .into_iter()
                .filter(|s| s.state == ScreenshotState::Pending)
                .collect();
            (waiting.len() >= 2).then_some(waiting)
        },
    )
    .await;
    // A running entry's screenshot cannot be deleted (R20), here as at the service.
    let victim = unsent[unsent.len() - 1].clone();
    let running = agent.delete_screenshot(victim.id, true).await;
    assert!(
        matches!(&running, Err(AgentError::Refused(e)) if e.code == ErrorCode::StopTimerFirst),
        "{running:?}"
    );
    agent.stop_timer().await.unwrap();

    // The dry run is answered here, offline, by the same policy: the span since the capture
    // before it.
    let held = local_shots(&agent, entry).await;
    let before = held
        .iter()
        .filter(|s| s.captured_at < victim.captured_at)
        .map(|s| s.captured_at)
        .max()
        .unwrap();
    let preview = agent.delete_screenshot(victim.id, true).await.unwrap();
    assert!(preview.dry_run);
    assert_eq!(preview.decision, DeleteKind::DeleteScreenshot);
    assert_eq!(
        preview.removed_secs,
        (victim.captured_at - before).num_seconds()
    );
    assert!(
        agent.image(victim.id).await.unwrap().is_some(),
        "a dry run deletes nothing"
    );
    let done = agent.delete_screenshot(victim.id, false).await.unwrap();
    assert_eq!(
        (done.removed_secs, done.dry_run),
        (preview.removed_secs, false)
    );
    assert!(
        local_shots(&agent, entry)
            .await
            .iter()
            .all(|s| s.id != victim.id),
        "the local copy went"
    );

    server.restart();
    drained(&agent, Duration::from_secs(120)).await;
    assert!(agent.rejected_items().await.unwrap().is_empty());
    let victim_path = format!("/api/v1/screenshots/{}", victim.id);
    let log = proxy.exchanges();
    assert!(
        !log.iter()
            .any(|x| x.method == "PUT" && x.path == victim_path && x.status.is_some()),
        "the deleted screenshot reached the service"
    );
    assert!(
        log.iter()
            .any(|x| x.method == "DELETE" && x.path == victim_path && x.status == Some(200)),
        "the tombstone was not applied"
    );
    let served = service_shots_of(&member, entry).await;
    assert!(served.iter().all(|s| s.id != victim.id));
    let at_service = member
        .entries(None, None, None)
        .await
        .unwrap()
        .entries
        .into_iter()
        .find(|e| e.id == entry)
        .unwrap();
    assert_eq!(at_service.deducted_secs, preview.removed_secs);
    // Whole seconds of millisecond spans: the two sides may round one second apart.
    let end = at_service.end.unwrap();
    let expected = (end - at_service.start).num_seconds() - preview.removed_secs;
    assert!(
        (at_service.duration_secs - expected).abs() <= 1,
        "the entry's time at the service ({}) is not what the local dry run said ({expected})",
        at_service.duration_secs
    );

    // Applied once: the same tombstone again changes nothing and answers not found.
    let again = member
        .delete_unsent_screenshot(victim.id, entry, victim.captured_at)
        .await;
    assert_eq!(again.unwrap_err().code(), Some(ErrorCode::NotFound));
    let after = member
        .entries(None, None, None)
        .await
        .unwrap()
        .entries
        .into_iter()
        .find(|e| e.id == entry)
        .unwrap();
    assert_eq!(after.deducted_secs, preview.removed_secs);
    agent.shutdown().await;
}

/// Only an unreachable service makes the door answer from this device: a session the service
/// revoked is an error to show (sign in again), never the local entries or a count of what
/// waits here passed off as the day's. (An image the service does not know is none, not an
/// error.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_session_is_an_error_not_an_offline_answer() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("door-revoked", &["alice"], true).await;
    let alice = ws.member(0).clone();
    let data = tempfile::tempdir().unwrap();
    let sess = session(&server.url(), &alice).await;
    let (me, token) = (sess.me.user.id, sess.token.clone());
    let agent = start_agent(data.path(), sess, Screen::new()).await;
    let now = Utc::now();
    let (from, to) = (now - TimeDelta::hours(1), now + TimeDelta::hours(1));
    let today = now.date_naive();
    // Online, all three answer.
    agent.entries(from, to).await.unwrap();
    agent.day_counts(today, "UTC").await.unwrap();
    agent.screenshots_of_day(me, today, "UTC").await.unwrap();
    // A screenshot the service does not know (or the caller may not see) is none, not an error.
    let unknown = shotclock_api::ScreenshotId::new();
    assert_eq!(agent.image(unknown).await.unwrap(), None);

    shotclock_sync::Client::new(server.url())
        .unwrap()
        .with_token(&token)
        .logout()
        .await
        .unwrap();
    let unauthorized = |what: &str, err: AgentError| {
        assert!(
            matches!(
                err,
                AgentError::Sync(shotclock_sync::SyncError::Unauthorized)
            ),
            "{what}: {err:?}"
        );
    };
    unauthorized("entries", agent.entries(from, to).await.unwrap_err());
    unauthorized(
        "day counts",
        agent.day_counts(today, "UTC").await.unwrap_err(),
    );
    unauthorized(
        "own screenshots",
        agent
            .screenshots_of_day(me, today, "UTC")
            .await
            .unwrap_err(),
    );
}

/// The day's list online shows the changes made here that the service has not heard of yet:
/// an entry deleted here goes with all its screenshots, and an edit here leaves out those its
/// new times exclude, while the service still lists them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_days_list_online_leaves_out_what_a_queued_delete_or_edit_took() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("door-queued", &["alice"], true).await;
    let alice = ws.member(0).clone();
    // Edits and deletes of entries are unreachable: they stay queued here.
    let proxy = Proxy::refusing(server.addr, |method, path| {
        (method == "PATCH" || method == "DELETE") && path.starts_with("/api/v1/entries/")
    })
    .await;
    let data = tempfile::tempdir().unwrap();
    let sess = session(&proxy.url(), &alice).await;
    let me = sess.me.user.id;
    let agent = start_agent(data.path(), sess, Screen::new()).await;
    let member = server.sign_in(&alice).await;

    let a = agent.start_timer("edited".into()).await.unwrap().entry_id;
    eventually("three uploads of the edited entry", DEADLINE, || async {
        (service_shots_of(&member, a).await.len() >= 3).then_some(())
    })
    .await;
    let b = agent.start_timer("deleted".into()).await.unwrap().entry_id;
    eventually("an upload of the deleted entry", DEADLINE, || async {
        (!service_shots_of(&member, b).await.is_empty()).then_some(())
    })
    .await;
    stop_settled(&agent).await;
    drained(&agent, DEADLINE).await;
    let a_shots = local_shots(&agent, a).await;
    let b_shots = local_shots(&agent, b).await;
    let n = a_shots.len();
    let (kept_last, dropped) = (&a_shots[n - 2], &a_shots[n - 1]);
    let new_end = chrono::DateTime::from_timestamp_millis(
        (kept_last.captured_at + (dropped.captured_at - kept_last.captured_at) / 2)
            .timestamp_millis(),
    )
    .unwrap();
    let patch = EntryPatch {
        end: Some(new_end),
        confirm: true,
        ..EntryPatch::default()
    };
    agent.edit_entry(a, patch, false).await.unwrap();
    agent.delete_entry(b, false).await.unwrap();
    assert_eq!(
        service_shots_of(&member, a).await.len() + service_shots_of(&member, b).await.len(),
        n + b_shots.len(),
        "the service heard of the edit or the delete"
    );

    let days: BTreeSet<_> = a_shots
        .iter()
        .chain(&b_shots)
        .map(|s| s.captured_at.date_naive())
        .collect();
    let mut listed = BTreeSet::new();
    for day in days {
        let list = agent.screenshots_of_day(me, day, "UTC").await.unwrap();
        listed.extend(list.screenshots.iter().map(|s| s.screenshot.id));
    }
    let expected: BTreeSet<_> = a_shots[..n - 1].iter().map(|s| s.id).collect();
    assert_eq!(listed, expected);
}

/// The removed time an unsent screenshot's delete decides offline is taken off the entry here
/// at once, to the millisecond (R21): each delete the span since the previous screenshot that
/// remains. The last screenshot of an entry takes the entry with it (R19).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsent_screenshots_deleted_offline_take_their_time_off_here_and_the_last_its_entry() {
    let mut server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("unsent-deduct", &["alice"], true).await;
    let alice = ws.member(0).clone();
    let data = tempfile::tempdir().unwrap();
    let sess = session(&server.url(), &alice).await;
    let agent = start_agent(data.path(), sess, Screen::new()).await;
    server.stop();
    let entry = agent.start_timer("offline".into()).await.unwrap().entry_id;
    eventually("three captures waiting here", DEADLINE, || async {
        (local_shots(&agent, entry).await.len() >= 3).then_some(())
    })
    .await;
    agent.stop_timer().await.unwrap();
    let held = local_shots(&agent, entry).await;
    assert!(
        held.iter().all(|s| s.state == ScreenshotState::Pending),
        "{held:?}"
    );
    let deducted = || async { held_entry(&agent, entry).await.deducted };
    let first = &held[0];
    for victim in &held[1..] {
        let report = agent.delete_screenshot(victim.id, false).await.unwrap();
        assert_eq!(report.decision, DeleteKind::DeleteScreenshot);
        // Every later screenshot's span reaches back to the first, the only one left before it.
        assert_eq!(
            deducted().await.num_milliseconds(),
            (victim.captured_at - first.captured_at).num_milliseconds(),
            "after deleting the screenshot of {}",
            victim.captured_at
        );
    }
    let last = agent.delete_screenshot(first.id, true).await.unwrap();
    assert_eq!(last.decision, DeleteKind::DeleteEntry);

    // The service, once it hears of them, holds the same removed time.
    server.restart();
    drained(&agent, DEADLINE).await;
    assert!(agent.rejected_items().await.unwrap().is_empty());
    let member = server.sign_in(&alice).await;
    let served = member.entry(entry).await.unwrap().unwrap();
    let removed_there: i64 = served
        .removed
        .iter()
        .map(|s| (s.end - s.start).num_milliseconds())
        .sum();
    assert_eq!(
        removed_there,
        (held[held.len() - 1].captured_at - first.captured_at).num_milliseconds(),
        "{served:?}"
    );
}

/// The entry as this device holds it.
async fn held_entry(agent: &AgentHandle, entry: EntryId) -> TimeEntry {
    agent
        .local_store()
        .call(move |s| s.get_entry(entry))
        .await
        .unwrap()
        .expect("the entry is held here")
}

/// A relay without live events (this device does not hear of changes made elsewhere) that
/// refuses the calls `held(method, path)` picks, as unreachable, while the flag it returns is
/// set.
async fn without_events(
    upstream: std::net::SocketAddr,
    held: fn(&str, &str) -> bool,
) -> (Proxy, Arc<AtomicBool>) {
    let hold = Arc::new(AtomicBool::new(false));
    let held_back = hold.clone();
    let proxy = Proxy::start(
        upstream,
        Arc::new(move |method: &str, path: &str| {
            let refused = held(method, path) && held_back.load(Ordering::SeqCst);
            if path.starts_with("/api/v1/events") || refused {
                Fault::Refuse
            } else {
                Fault::Pass
            }
        }),
    )
    .await;
    (proxy, hold)
}

/// [`without_events`], holding back uploads.
async fn holding_uploads(upstream: std::net::SocketAddr) -> (Proxy, Arc<AtomicBool>) {
    without_events(upstream, |method, path| {
        method == "PUT" && path.starts_with("/api/v1/screenshots/")
    })
    .await
}

/// Online, an unsent screenshot's delete counts the time the service has already removed from
/// the entry, even a removal this device has not heard of yet: the entry here ends up with the
/// service's removed spans and the new one, to the millisecond (R21).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsent_screenshot_deleted_online_adds_to_the_time_the_service_removed() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("unsent-online", &["alice"], true).await;
    let alice = ws.member(0).clone();
    let (proxy, hold) = holding_uploads(server.addr).await;
    let data = tempfile::tempdir().unwrap();
    let sess = session(&proxy.url(), &alice).await;
    let agent = start_agent(data.path(), sess, Screen::new()).await;
    let member = server.sign_in(&alice).await;
    let entry = agent.start_timer("online".into()).await.unwrap().entry_id;
    eventually("two uploads", DEADLINE, || async {
        (service_shots_of(&member, entry).await.len() >= 2).then_some(())
    })
    .await;
    hold.store(true, Ordering::SeqCst);
    let uploaded = service_shots_of(&member, entry).await;
    eventually("a capture waiting here", DEADLINE, || async {
        local_shots(&agent, entry)
            .await
            .iter()
            .any(|s| s.state == ScreenshotState::Pending && s.captured_at > uploaded[1].captured_at)
            .then_some(())
    })
    .await;
    // The stop waits here behind the held upload: it is made at the service too, at the
    // same instant.
    agent.stop_timer().await.unwrap();
    let end = held_entry(&agent, entry).await.end;
    member.stop_timer(Some(entry), end).await.unwrap();
    // Elsewhere, the second uploaded screenshot is deleted: the service removes its span.
    member
        .delete_screenshot(uploaded[1].id, false)
        .await
        .unwrap();
    let served = member.entry(entry).await.unwrap().unwrap();
    let removed_there: i64 = served
        .removed
        .iter()
        .map(|s| (s.end - s.start).num_milliseconds())
        .sum();
    assert!(removed_there > 0, "{served:?}");

    let held = local_shots(&agent, entry).await;
    let n = held.len();
    let victim = &held[n - 1];
    assert_eq!(victim.state, ScreenshotState::Pending);
    let report = agent.delete_screenshot(victim.id, false).await.unwrap();
    assert_eq!(report.decision, DeleteKind::DeleteScreenshot);
    let deducted = held_entry(&agent, entry).await.deducted;
    assert_eq!(
        deducted.num_milliseconds(),
        removed_there + (victim.captured_at - held[n - 2].captured_at).num_milliseconds()
    );
}

/// An admin turning screenshots on tells every member (R6): the engine lists the member's
/// unread notification, and once it is marked read, the service keeps it read and the engine
/// lists it no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_members_notifications_are_listed_until_marked_read() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("door-notified", &["alice"], false).await;
    let alice = ws.member(0).clone();
    let data = tempfile::tempdir().unwrap();
    let agent = start_agent(
        data.path(),
        session(&server.url(), &alice).await,
        Screen::new(),
    )
    .await;
    assert!(agent.unread_notifications().await.unwrap().is_empty());
    ws.owner
        .update_workspace(&shotclock_api::dto::UpdateSettingsRequest {
            screenshots_enabled: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    let unread = agent.unread_notifications().await.unwrap();
    assert_eq!(unread.len(), 1, "{unread:?}");
    assert_eq!(unread[0].kind, "screenshots_enabled");
    assert!(!unread[0].read);
    agent.mark_notification_read(unread[0].id).await.unwrap();
    assert!(agent.unread_notifications().await.unwrap().is_empty());
    let member = server.sign_in(&alice).await;
    let all = member.notifications().await.unwrap().notifications;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!((all[0].id, all[0].read), (unread[0].id, true));
}

/// An admin's deletes of their own screenshots remove no time (R22), also those made here
/// before the screenshots were sent: a later delete does not count the earlier ones' spans.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admins_unsent_deletes_remove_no_time() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("unsent-admin", &[], true).await;
    let owner = ws.team.owner().clone();
    let (proxy, hold) = holding_uploads(server.addr).await;
    let data = tempfile::tempdir().unwrap();
    let sess = session(&proxy.url(), &owner).await;
    let token = sess.token.clone();
    let agent = start_agent(data.path(), sess, Screen::new()).await;
    let entry = agent.start_timer("admin".into()).await.unwrap().entry_id;
    hold.store(true, Ordering::SeqCst);
    let pending = || async {
        local_shots(&agent, entry)
            .await
            .into_iter()
            .filter(|s| s.state == ScreenshotState::Pending)
            .collect::<Vec<_>>()
    };
    eventually("three captures waiting here", DEADLINE, || async {
        (pending().await.len() >= 3).then_some(())
    })
    .await;
    agent.stop_timer().await.unwrap();
    let waiting = pending().await;
    let n = waiting.len();
    for victim in [&waiting[n - 1], &waiting[n - 2]] {
        let report = agent.delete_screenshot(victim.id, false).await.unwrap();
        assert_eq!(
            (report.decision, report.removed_secs),
            (DeleteKind::DeleteScreenshot, 0)
        );
        let deducted = held_entry(&agent, entry).await.deducted;
        assert_eq!(deducted, TimeDelta::zero());
    }
    // Only an unreachable service lets the rules here decide alone: a revoked session is an
    // error, and the screenshot stays.
    shotclock_sync::Client::new(server.url())
        .unwrap()
        .with_token(&token)
        .logout()
        .await
        .unwrap();
    let refused = agent.delete_screenshot(waiting[n - 3].id, false).await;
    assert!(
        matches!(
            refused,
            Err(AgentError::Sync(shotclock_sync::SyncError::Unauthorized))
        ),
        "{refused:?}"
    );
    assert!(pending().await.iter().any(|s| s.id == waiting[n - 3].id));
}

/// At each connect the engine shows the notifications still unread (R6: who was offline finds
/// them), never again one already read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_shows_the_unread_notifications_and_not_the_read_ones() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server
        .workspace("door-connect-notified", &["alice"], false)
        .await;
    let alice = ws.member(0).clone();
    let member = server.sign_in(&alice).await;
    for on in [true, false, true] {
        ws.owner
            .update_workspace(&shotclock_api::dto::UpdateSettingsRequest {
                screenshots_enabled: Some(on),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    // The service lists the newest first; the engine shows them in that order, so the unread
    // one shows only after the read one was passed over.
    let all = member.notifications().await.unwrap().notifications;
    assert_eq!(all.len(), 2, "{all:?}");
    let (read, unread) = (all[0].id, all[1].id);
    member.mark_notification_read(read).await.unwrap();

    // The event stream opens only once the engine's events are recorded.
    let open = Arc::new(AtomicBool::new(false));
    let opened = open.clone();
    let proxy = Proxy::start(
        server.addr,
        Arc::new(move |_: &str, path: &str| {
            if path.starts_with("/api/v1/events") && !opened.load(Ordering::SeqCst) {
                Fault::Refuse
            } else {
                Fault::Pass
            }
        }),
    )
    .await;
    let data = tempfile::tempdir().unwrap();
    let sess = session(&proxy.url(), &alice).await;
    let agent = start_agent(data.path(), sess, Screen::new()).await;
    let events = common::Events::record(&agent);
    let since = std::time::Instant::now();
    open.store(true, Ordering::SeqCst);
    events
        .wait_for("the unread notification", since, |e| match e {
            AgentEvent::Notification { notification } if notification.id == unread => Some(()),
            _ => None,
        })
        .await;
    let shown: Vec<_> = events
        .since(since)
        .into_iter()
        .filter_map(|e| match e {
            AgentEvent::Notification { notification } => Some(notification.id),
            _ => None,
        })
        .collect();
    assert_eq!(shown, vec![unread]);
}

/// A member deletes screenshots the service has (R21, R24) through the engine: a preview
/// changes nothing here; a delete drops the local copy at once, and the entry held here takes
/// the service's removed time to the millisecond; when the service's entry cannot be read back
/// (unreachable), the report's whole seconds are added to what is held instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_screenshot_deleted_here_takes_the_services_removed_time() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("uploaded-delete", &["alice"], true).await;
    let alice = ws.member(0).clone();
    // No live events (the entry's change would overwrite what the delete wrote here), and the
    // entries' list unreachable while the flag is set.
    let (proxy, hide) = without_events(server.addr, |method, path| {
        method == "GET" && path == "/api/v1/entries"
    })
    .await;
    let data = tempfile::tempdir().unwrap();
    let agent = start_agent(
        data.path(),
        session(&proxy.url(), &alice).await,
        Screen::new(),
    )
    .await;
    let member = server.sign_in(&alice).await;
    let entry = agent.start_timer("uploaded".into()).await.unwrap().entry_id;
    // The second victim: a screenshot at least a second after the one before it, that one and
    // the first victim's neighbours apart (so that its removed span is its own).
    let second = |shots: &[shotclock_api::dto::Screenshot]| {
        (4..shots.len())
            .find(|&i| (shots[i].captured_at - shots[i - 1].captured_at).num_seconds() >= 1)
    };
    eventually("uploads with a gap of a second", DEADLINE, || async {
        second(&service_shots_of(&member, entry).await).map(|_| ())
    })
    .await;
    stop_settled(&agent).await;
    drained(&agent, DEADLINE).await;
    let shots = service_shots_of(&member, entry).await;
    let i = second(&shots).unwrap();
    let engine = &agent;
    let held = move |id| async move {
        local_shots(engine, entry)
            .await
            .iter()
            .any(|s| s.id == id && s.state == ScreenshotState::Uploaded)
    };
    assert!(held(shots[1].id).await, "the uploaded copy is held here");

    let preview = agent.delete_screenshot(shots[1].id, true).await.unwrap();
    assert!(preview.dry_run);
    assert_eq!(preview.decision, DeleteKind::DeleteScreenshot);
    assert!(held(shots[1].id).await, "a preview dropped the local copy");
    assert_eq!(held_entry(&agent, entry).await.deducted, TimeDelta::zero());

    let first = agent.delete_screenshot(shots[1].id, false).await.unwrap();
    assert_eq!(first.removed_secs, preview.removed_secs);
    assert!(!held(shots[1].id).await, "the local copy stayed");
    let served = member.entry(entry).await.unwrap().unwrap();
    let removed: i64 = served
        .removed
        .iter()
        .map(|s| (s.end - s.start).num_milliseconds())
        .sum();
    assert!(removed > 0, "{served:?}");
    let deducted = held_entry(&agent, entry).await.deducted;
    assert_eq!(deducted.num_milliseconds(), removed);

    hide.store(true, Ordering::SeqCst);
    let report = agent.delete_screenshot(shots[i].id, false).await.unwrap();
    assert_eq!(report.decision, DeleteKind::DeleteScreenshot);
    assert!(report.removed_secs >= 1, "{report:?}");
    assert!(!held(shots[i].id).await, "the local copy stayed");
    assert_eq!(
        held_entry(&agent, entry).await.deducted,
        deducted + TimeDelta::seconds(report.removed_secs)
    );
    agent.shutdown().await;
}

/// A member's delete of the last screenshot of an entry the service has takes the entry with
/// it (R21), and the entry held here goes at once too, with nothing of it left: not only once
/// the service's event arrives (here it never does), or at the next connect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_members_delete_of_an_entrys_last_uploaded_screenshot_takes_the_entry_here_at_once() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("last-uploaded", &["alice"], true).await;
    let alice = ws.member(0).clone();
    let (proxy, _) = without_events(server.addr, |_, _| false).await;
    let data = tempfile::tempdir().unwrap();
    let agent = start_agent(
        data.path(),
        session(&proxy.url(), &alice).await,
        Screen::new(),
    )
    .await;
    let member = server.sign_in(&alice).await;
    let entry = agent.start_timer("last one".into()).await.unwrap().entry_id;
    eventually("two uploads", DEADLINE, || async {
        (service_shots_of(&member, entry).await.len() >= 2).then_some(())
    })
    .await;
    stop_settled(&agent).await;
    drained(&agent, DEADLINE).await;
    let shots = service_shots_of(&member, entry).await;
    let (last, others) = shots.split_last().unwrap();
    for shot in others {
        let report = agent.delete_screenshot(shot.id, false).await.unwrap();
        assert_eq!(report.decision, DeleteKind::DeleteScreenshot);
    }
    held_entry(&agent, entry).await;

    let report = agent.delete_screenshot(last.id, false).await.unwrap();
    assert_eq!(report.decision, DeleteKind::DeleteEntry);
    assert!(
        member.entry(entry).await.unwrap().is_none(),
        "the service kept it"
    );
    let store = agent.local_store();
    let (held, left) = store
        .call(move |s| Ok((s.get_entry(entry)?, s.screenshots_of_entry(entry)?)))
        .await
        .unwrap();
    assert!(held.is_none(), "the entry stayed here: {held:?}");
    assert!(left.is_empty(), "its screenshots stayed here: {left:?}");
    agent.shutdown().await;
}

/// A shutdown asked for before the engine's tasks first ran (a sign-out or a quit right after
/// the sign-in) ends every one of them. On a one-thread runtime the tasks started with the
/// engine cannot run before the test's next await, so the shutdown always comes first.
#[tokio::test(flavor = "current_thread")]
async fn a_shutdown_right_after_the_start_ends_the_engine() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("quick-quit", &["alice"], true).await;
    let alice = ws.member(0).clone();
    let data = tempfile::tempdir().unwrap();
    let agent = start_agent(
        data.path(),
        session(&server.url(), &alice).await,
        Screen::new(),
    )
    .await;
    tokio::time::timeout(DEADLINE, agent.shutdown())
        .await
        .expect("the engine's tasks did not end after the shutdown");
}

/// A handle knows its own engine (the app tells a revoked session of the engine it runs from
/// one of an earlier sign-in that went away): every clone of a handle is the same engine, and
/// another engine of the same account is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handle_knows_its_own_engine_from_another_of_the_same_account() {
    let server = TestServer::with_window(WINDOW_SECS);
    let ws = server.workspace("same-engine", &["alice"], false).await;
    let alice = ws.member(0).clone();
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = start_agent(
        one.path(),
        session(&server.url(), &alice).await,
        Screen::new(),
    )
    .await;
    let second = start_agent(
        two.path(),
        session(&server.url(), &alice).await,
        Screen::new(),
    )
    .await;
    let clone = first.clone();
    assert!(first.same_engine(&clone) && clone.same_engine(&first));
    assert!(first.same_engine(&first));
    assert!(!first.same_engine(&second) && !second.same_engine(&first));
    assert_eq!(first.account().user_id, second.account().user_id);
    first.shutdown().await;
    second.shutdown().await;
}
