//! Managing entries from the engine (R39, R25): an edit, a delete and time added by hand while
//! the service is down reach it once each, in the order they were made; a change the service
//! refuses comes back with its reason and is undone here. Online, the service's dry run decides
//! an edit and the user's confirmation is asked first; added time is checked against the
//! service's entries; an admin's edit of a member's entry goes straight to the service.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use chrono::{DateTime, TimeDelta, Utc};
use common::proxy::Proxy;
use common::{
    DEADLINE, Events, Screen, agent_of, drained, local_shots, service_shots_of, session,
    start_agent, stop_settled,
};
use shotclock_agent::{AgentError, AgentEvent};
use shotclock_api::ErrorCode;
use shotclock_api::dto::{ApprovePeriod, EntryPatch, Period};
use shotclock_store::OutboxKind;
use shotclock_testkit::{Storage, TestServer, eventually};

const WINDOW_SECS: u32 = 1;

fn whole_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap()
}

/// A description the service would refuse for good (a tab pasted in, a text-direction
/// override) is refused here at once, before anything is held or queued: a timer started with
/// it ran and captured here while the service refused its start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_description_the_service_refuses_is_refused_before_anything_is_queued() {
    let server = TestServer::on(Storage::Sqlite, WINDOW_SECS);
    let ws = server.workspace("words", &["alice"], true).await;
    let alice = ws.member(0).clone();
    let data = tempfile::tempdir().unwrap();
    let screen = Screen::new();
    let agent = start_agent(
        data.path(),
        session(&server.url(), &alice).await,
        screen.clone(),
    )
    .await;
    let end = whole_ms(Utc::now() - TimeDelta::hours(2));
    for bad in ["fix\tbug", "\u{202E}gub xif"] {
        let err = agent.start_timer(bad.into()).await.unwrap_err();
        assert!(
            matches!(&err, AgentError::Invalid(m) if m.contains("control")),
            "{err:?}"
        );
        let err = agent
            .add_entry(bad.into(), end - TimeDelta::hours(1), end)
            .await
            .unwrap_err();
        assert!(matches!(&err, AgentError::Invalid(_)), "{err:?}");
    }
    assert_eq!(agent.running(), None);
    assert_eq!(common::pending(&agent).await, 0);
    assert_eq!(screen.captures(), 0);
    // The same words without the tab are fine.
    agent.start_timer("fix bug".into()).await.unwrap();
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_a_delete_and_added_time_made_offline_reach_the_service_once_in_order() {
    let mut server = TestServer::on(Storage::Sqlite, WINDOW_SECS);
    let ws = server.workspace("offline-edits", &["alice"], true).await;
    let alice = ws.member(0).clone();
    let proxy = Proxy::pass(server.addr).await;
    let data = tempfile::tempdir().unwrap();
    let agent = agent_of(data.path(), &proxy.url(), &alice).await;
    let member = server.sign_in(&alice).await;

    // Entry A with at least three screenshots at the service; entry B after it, stopped.
    let a = agent.start_timer("first".into()).await.unwrap();
    eventually("three uploads of the first entry", DEADLINE, || async {
        (service_shots_of(&member, a.entry_id).await.len() >= 3).then_some(())
    })
    .await;
    let b = agent.start_timer("second".into()).await.unwrap().entry_id;
    stop_settled(&agent).await;
    drained(&agent, DEADLINE).await;
    let shots = local_shots(&agent, a.entry_id).await;
    let n = shots.len();
    assert!(n >= 3, "{shots:?}");
    let (kept_last, dropped) = (&shots[n - 2], &shots[n - 1]);
    // A new end between A's last two captures: only the last one falls outside.
    let new_end =
        whole_ms(kept_last.captured_at + (dropped.captured_at - kept_last.captured_at) / 2);

    server.stop();
    assert!(member.health().await.is_err(), "the service is still up");
    let new_start = whole_ms(a.start - TimeDelta::minutes(1));
    let patch = EntryPatch {
        description: Some("  edited offline ".into()),
        start: Some(new_start),
        end: Some(new_end),
        ..EntryPatch::default()
    };
    // Offline, the dry run is the domain's over what this device holds.
    let preview = agent
        .edit_entry(a.entry_id, patch.clone(), true)
        .await
        .unwrap();
    assert_eq!(preview.excluded_screenshots, vec![dropped.id]);
    assert_eq!(
        (preview.entry.start, preview.entry.end),
        (new_start, Some(new_end))
    );
    assert!(preview.dry_run && !preview.entry.manual);
    assert_eq!(
        local_shots(&agent, a.entry_id).await.len(),
        n,
        "a dry run deleted something"
    );
    // Without the user's confirmation nothing happens.
    match agent.edit_entry(a.entry_id, patch.clone(), false).await {
        Err(AgentError::Refused(e)) => assert_eq!(e.code, ErrorCode::ConfirmationRequired),
        other => panic!("an unconfirmed edit was not refused: {other:?}"),
    }
    let confirmed = EntryPatch {
        confirm: true,
        ..patch
    };
    agent
        .edit_entry(a.entry_id, confirmed, false)
        .await
        .unwrap();
    let left: Vec<_> = local_shots(&agent, a.entry_id)
        .await
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left.len(), n - 1);
    assert!(
        !left.contains(&dropped.id),
        "the excluded screenshot stayed here"
    );

    let report = agent.delete_entry(b, true).await.unwrap();
    assert!(report.dry_run);
    agent.delete_entry(b, false).await.unwrap();
    let added_start = whole_ms(a.start - TimeDelta::minutes(30));
    let added_end = whole_ms(a.start - TimeDelta::minutes(10));
    let added = agent
        .add_entry("forgot to track".into(), added_start, added_end)
        .await
        .unwrap();
    assert!(added.manual);
    // Its creation still waits here: an edit's dry run knows it was added by hand.
    let about_added = agent
        .edit_entry(added.id, EntryPatch::default(), true)
        .await
        .unwrap();
    assert!(about_added.entry.manual);
    // The rules here see this device's entries: time that overlaps the edited entry by one
    // millisecond is refused.
    match agent
        .add_entry(
            "overlapping".into(),
            new_start - TimeDelta::minutes(5),
            new_start + TimeDelta::milliseconds(1),
        )
        .await
    {
        Err(AgentError::Refused(e)) => assert_eq!(e.code, ErrorCode::EntryOverlap),
        other => panic!("an overlap offline was not refused: {other:?}"),
    }
    // An entry not held here is the service's to delete: offline, that fails as offline.
    match agent
        .delete_entry(shotclock_api::EntryId::new(), true)
        .await
    {
        Err(AgentError::Sync(e)) => assert!(e.is_retryable(), "{e}"),
        other => panic!("not answered as offline: {other:?}"),
    }

    // While offline, the list shows all three.
    let (from, to) = (
        added_start - TimeDelta::hours(1),
        Utc::now() + TimeDelta::hours(1),
    );
    let listed = agent.entries(from, to).await.unwrap();
    let ids: Vec<_> = listed.iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![added.id, a.entry_id], "{listed:#?}");
    assert!(listed[0].manual);
    assert_eq!(listed[1].description, "edited offline");
    assert_eq!((listed[1].start, listed[1].end), (new_start, Some(new_end)));

    server.restart();
    drained(&agent, DEADLINE).await;
    assert!(agent.rejected_items().await.unwrap().is_empty());

    // The service has all three changes.
    let served = member
        .entries(Some(from), Some(to), None)
        .await
        .unwrap()
        .entries;
    let ids: Vec<_> = served.iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![added.id, a.entry_id], "{served:#?}");
    assert!(served[0].manual && !served[1].manual);
    assert_eq!(
        (served[0].start, served[0].end),
        (added_start, Some(added_end))
    );
    assert_eq!(served[1].description, "edited offline");
    assert_eq!((served[1].start, served[1].end), (new_start, Some(new_end)));
    let remote: Vec<_> = service_shots_of(&member, a.entry_id)
        .await
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        remote, left,
        "the service's screenshots of the edited entry"
    );

    // Once each, in the order they were made.
    let log = proxy.exchanges();
    let done = |method: &str, path: &str| -> Vec<usize> {
        log.iter()
            .enumerate()
            .filter(|(_, x)| {
                x.method == method && x.path == path && x.status.is_some_and(|s| s < 300)
            })
            .map(|(i, _)| i)
            .collect()
    };
    // Successful PATCHes of A: the dry runs went nowhere (the service was down), so the one
    // success is the edit itself.
    let edit = done("PATCH", &format!("/api/v1/entries/{}", a.entry_id));
    let delete = done("DELETE", &format!("/api/v1/entries/{b}"));
    let add = done("POST", "/api/v1/entries");
    assert_eq!((edit.len(), delete.len(), add.len()), (1, 1, 1), "{log:#?}");
    assert!(edit[0] < delete[0] && delete[0] < add[0], "{log:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_the_service_refuses_comes_back_with_its_reason_and_is_undone() {
    let mut server = TestServer::on(Storage::Sqlite, WINDOW_SECS);
    let ws = server.workspace("refused-edit", &["alice"], false).await;
    let alice = ws.member(0).clone();
    let data = tempfile::tempdir().unwrap();
    let agent = agent_of(data.path(), &server.url(), &alice).await;
    let events = Events::record(&agent);

    let now = Utc::now();
    let (start, end) = (
        whole_ms(now - TimeDelta::hours(2)),
        whole_ms(now - TimeDelta::hours(1)),
    );
    let entry = agent
        .add_entry("approved work".into(), start, end)
        .await
        .unwrap()
        .id;
    drained(&agent, DEADLINE).await;
    // An admin approves the week it lies in.
    ws.owner
        .approve_period(&ApprovePeriod {
            user_id: alice.id,
            date: start.date_naive(),
            time_zone: "UTC".into(),
            period: Period::Week,
            approved: true,
        })
        .await
        .unwrap();
    // Online, the service's dry run refuses at once, with its reason.
    let rename = EntryPatch {
        description: Some("changed offline".into()),
        ..EntryPatch::default()
    };
    match agent.edit_entry(entry, rename.clone(), true).await {
        Err(AgentError::Sync(e)) => assert_eq!(e.code(), Some(ErrorCode::EntryApproved)),
        other => panic!("an edit of an approved entry was not refused: {other:?}"),
    }
    match agent.delete_entry(entry, true).await {
        Err(AgentError::Sync(e)) => assert_eq!(e.code(), Some(ErrorCode::EntryApproved)),
        other => panic!("a delete of an approved entry was not refused: {other:?}"),
    }

    // Offline, this device cannot know of the approval: the edit is taken here and queued.
    server.stop();
    agent.edit_entry(entry, rename, false).await.unwrap();
    let held = |agent: &shotclock_agent::AgentHandle| {
        let store = agent.local_store().clone();
        async move {
            store
                .call(move |s| s.get_entry(entry))
                .await
                .unwrap()
                .unwrap()
                .description
        }
    };
    assert_eq!(held(&agent).await, "changed offline");
    let since = std::time::Instant::now();

    server.restart();
    let (_, reason) = events
        .wait_for("the edit to be refused", since, |e| match e {
            AgentEvent::Rejected {
                kind: OutboxKind::EditEntry,
                reason,
            } => Some(reason.clone()),
            _ => None,
        })
        .await;
    assert!(reason.contains("approved"), "{reason}");
    // Undone here in the same transaction, and kept aside with its reason for the user.
    assert_eq!(held(&agent).await, "approved work");
    let rejected = agent.rejected_items().await.unwrap();
    assert_eq!(rejected.len(), 1, "{rejected:#?}");
    assert_eq!(rejected[0].kind, OutboxKind::EditEntry);
    assert!(
        rejected[0]
            .rejected_reason
            .as_deref()
            .is_some_and(|r| r.contains("approved"))
    );
    let view = agent.capture_view().await.unwrap();
    assert_eq!(view.rejected.len(), 1);
    assert_eq!(view.rejected[0].kind, OutboxKind::EditEntry);
    let listed = agent
        .entries(start - TimeDelta::hours(1), Utc::now())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].description, "approved work");
    assert!(listed[0].approved);
}

/// The delete report and the Approvals week are the service's, one request each: the engine
/// assembles nothing from member lists, entry lists or screenshot lists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delete_report_and_the_approvals_week_come_from_the_service_in_one_request_each() {
    let server = TestServer::on(Storage::Sqlite, WINDOW_SECS);
    let ws = server.workspace("one-request", &["alice"], true).await;
    let alice = ws.member(0).clone();
    let member = server.sign_in(&alice).await;
    let data = tempfile::tempdir().unwrap();
    let agent = agent_of(data.path(), &server.url(), &alice).await;
    let first = agent.start_timer("with screenshots".into()).await.unwrap();
    eventually("two uploads", DEADLINE, || async {
        (service_shots_of(&member, first.entry_id).await.len() >= 2).then_some(())
    })
    .await;
    stop_settled(&agent).await;
    drained(&agent, DEADLINE).await;
    let at_service = service_shots_of(&member, first.entry_id).await.len();

    // The owner's engine, through a proxy that logs every request.
    let proxy = Proxy::pass(server.addr).await;
    let admin_dir = tempfile::tempdir().unwrap();
    let admin = agent_of(admin_dir.path(), &proxy.url(), ws.team.owner()).await;
    let before = proxy.exchanges().len();
    let week = admin
        .approvals(first.start.date_naive(), "UTC")
        .await
        .unwrap();
    let alices = week
        .iter()
        .find(|w| w.member.id == alice.id)
        .expect("alice's week");
    let listed: Vec<_> = alices
        .entries
        .iter()
        .map(|e| (e.entry.id, e.screenshots))
        .collect();
    assert_eq!(
        listed,
        vec![(first.entry_id, u32::try_from(at_service).unwrap())]
    );
    let report = admin.delete_entry(first.entry_id, true).await.unwrap();
    assert_eq!(
        (report.entry_id, report.screenshots, report.dry_run),
        (first.entry_id, u32::try_from(at_service).unwrap(), true)
    );
    let asked: Vec<(String, String)> = proxy.exchanges()[before..]
        .iter()
        .map(|x| {
            (
                x.method.clone(),
                x.path.split('?').next().unwrap().to_owned(),
            )
        })
        .filter(|(_, path)| {
            ["members", "entries", "screenshots", "approvals"]
                .iter()
                .any(|p| path.starts_with(&format!("/api/v1/{p}")))
        })
        .collect();
    assert_eq!(
        asked,
        vec![
            ("GET".to_owned(), "/api/v1/approvals".to_owned()),
            (
                "DELETE".to_owned(),
                format!("/api/v1/entries/{}", first.entry_id)
            ),
        ],
        "one request each"
    );
}

/// Time added here by hand stays marked manual in the list once its creation was sent, also
/// while the service cannot be reached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_added_here_stays_marked_manual_offline_after_it_was_sent() {
    let mut server = TestServer::on(Storage::Sqlite, WINDOW_SECS);
    let ws = server.workspace("manual-offline", &["alice"], false).await;
    let alice = ws.member(0).clone();
    let data = tempfile::tempdir().unwrap();
    let agent = agent_of(data.path(), &server.url(), &alice).await;
    let now = Utc::now();
    let (start, end) = (
        whole_ms(now - TimeDelta::hours(2)),
        whole_ms(now - TimeDelta::hours(1)),
    );
    let added = agent.add_entry("by hand".into(), start, end).await.unwrap();
    drained(&agent, DEADLINE).await;
    let (from, to) = (start - TimeDelta::hours(1), now + TimeDelta::hours(1));
    let online = agent.entries(from, to).await.unwrap();
    assert_eq!(online.len(), 1);
    assert!(online[0].manual, "{online:#?}");

    server.stop();
    let offline = agent.entries(from, to).await.unwrap();
    let listed: Vec<_> = offline.iter().map(|e| (e.id, e.manual)).collect();
    assert_eq!(listed, vec![(added.id, true)], "{offline:#?}");
}

/// A member's screenshot delete takes time off its entry (R21); the entry's delete report and
/// the listed entry count that time the same way online (the service's answer) and offline
/// (this device's buffer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entrys_time_counts_the_removed_time_alike_online_and_offline() {
    let mut server = TestServer::on(Storage::Sqlite, WINDOW_SECS);
    let ws = server.workspace("deducted-offline", &["alice"], true).await;
    let alice = ws.member(0).clone();
    let member = server.sign_in(&alice).await;
    let data = tempfile::tempdir().unwrap();
    let agent = agent_of(data.path(), &server.url(), &alice).await;
    let entry = agent
        .start_timer("with removed time".into())
        .await
        .unwrap()
        .entry_id;
    // A screenshot with others before and after it, taken a second or more after the one
    // before it.
    let middle = |at: &[DateTime<Utc>]| {
        (1..at.len().saturating_sub(1)).find(|&i| at[i] - at[i - 1] >= TimeDelta::seconds(1))
    };
    eventually("a middle screenshot at the service", DEADLINE, || async {
        let at: Vec<_> = service_shots_of(&member, entry)
            .await
            .iter()
            .map(|s| s.captured_at)
            .collect();
        middle(&at)
    })
    .await;
    stop_settled(&agent).await;
    drained(&agent, DEADLINE).await;
    let shots = local_shots(&agent, entry).await;
    let at: Vec<_> = shots.iter().map(|s| s.captured_at).collect();
    let i = middle(&at).expect("the middle screenshot here");
    // The time since the previous screenshot goes.
    let report = agent.delete_screenshot(shots[i].id, false).await.unwrap();
    assert!(report.removed_secs >= 1, "{report:?}");
    drained(&agent, DEADLINE).await;

    let (from, to) = (
        shots[0].captured_at - TimeDelta::hours(1),
        Utc::now() + TimeDelta::hours(1),
    );
    let online = agent.delete_entry(entry, true).await.unwrap();
    let listed_online = agent.entries(from, to).await.unwrap();
    server.stop();
    assert!(member.health().await.is_err(), "the service is still up");
    let offline = agent.delete_entry(entry, true).await.unwrap();
    let listed_offline = agent.entries(from, to).await.unwrap();
    assert_eq!(offline, online, "the offline report counts differently");
    let times = |l: &[shotclock_api::dto::Entry]| -> Vec<_> {
        l.iter()
            .map(|e| (e.id, e.duration_secs, e.deducted_secs))
            .collect()
    };
    assert_eq!(times(&listed_offline), times(&listed_online));
    assert!(listed_online[0].deducted_secs >= 1, "{listed_online:#?}");

    // An edit made offline keeps the removed time its (unchanged) times still hold.
    let renamed = EntryPatch {
        description: Some("renamed offline".into()),
        ..EntryPatch::default()
    };
    let preview = agent
        .edit_entry(entry, renamed.clone(), true)
        .await
        .unwrap();
    assert_eq!(preview.entry.deducted_secs, listed_online[0].deducted_secs);
    agent.edit_entry(entry, renamed, false).await.unwrap();
    let edited = agent.entries(from, to).await.unwrap();
    assert_eq!(edited[0].description, "renamed offline");
    assert_eq!(times(&edited), times(&listed_online));
    // Shortened to half a second, it holds at most half a second of removed time.
    let start = listed_online[0].start;
    let shortened = EntryPatch {
        end: Some(start + TimeDelta::milliseconds(500)),
        confirm: true,
        ..EntryPatch::default()
    };
    agent.edit_entry(entry, shortened, false).await.unwrap();
    let short = agent.entries(from, to).await.unwrap();
    assert_eq!(times(&short), vec![(entry, 0, 0)], "{short:#?}");
}

/// An entry deleted elsewhere that this device has not heard of yet (its live events do not
/// get through): an edit of it is refused at once as deleted; a delete of it is done here
/// all the same (the rules here decide, as the service's dry run does not know it), and the
/// delete that follows is done, not set aside.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_deleted_elsewhere_and_not_heard_of_yet_is_deleted_here_too() {
    let server = TestServer::on(Storage::Sqlite, WINDOW_SECS);
    let ws = server.workspace("unheard-delete", &["alice"], false).await;
    let alice = ws.member(0).clone();
    let member = server.sign_in(&alice).await;
    let proxy = Proxy::refusing(server.addr, |_, path| path.starts_with("/api/v1/events")).await;
    let data = tempfile::tempdir().unwrap();
    let agent = agent_of(data.path(), &proxy.url(), &alice).await;
    let now = whole_ms(Utc::now());
    let entry = agent
        .add_entry(
            "deleted on the laptop".into(),
            now - TimeDelta::hours(2),
            now - TimeDelta::hours(1),
        )
        .await
        .unwrap()
        .id;
    drained(&agent, DEADLINE).await;
    member.delete_entry(entry).await.unwrap();

    // The service's dry run of an edit knows it was deleted: refused at once, not queued.
    let rename = EntryPatch {
        description: Some("too late".into()),
        ..EntryPatch::default()
    };
    match agent.edit_entry(entry, rename, false).await {
        Err(AgentError::Sync(e)) => assert_eq!(e.code(), Some(ErrorCode::Deleted), "{e}"),
        other => panic!("an edit of a deleted entry was not refused: {other:?}"),
    }
    assert_eq!(common::pending(&agent).await, 0, "the edit was queued");

    let report = agent.delete_entry(entry, true).await.unwrap();
    assert_eq!((report.entry_id, report.screenshots), (entry, 0));
    agent.delete_entry(entry, false).await.unwrap();
    let held = agent
        .local_store()
        .call(move |s| s.get_entry(entry))
        .await
        .unwrap();
    assert_eq!(held, None);
    drained(&agent, DEADLINE).await;
    assert!(agent.rejected_items().await.unwrap().is_empty());
}

/// Online, an edit of an entry held here is decided by the service's own dry run: the dry run
/// names the screenshot the new end leaves outside, the edit without the user's confirmation
/// is refused before anything is held or queued, and the confirmed one goes, its description
/// trimmed, here and at the service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_an_edit_is_decided_by_the_service_and_waits_for_the_users_confirmation() {
    let server = TestServer::on(Storage::Sqlite, WINDOW_SECS);
    let ws = server.workspace("online-edit", &["alice"], true).await;
    let alice = ws.member(0).clone();
    let member = server.sign_in(&alice).await;
    let data = tempfile::tempdir().unwrap();
    let agent = agent_of(data.path(), &server.url(), &alice).await;
    let entry = agent.start_timer("online".into()).await.unwrap().entry_id;
    // The running timer shows an edit of its entry at once.
    let renamed = EntryPatch {
        description: Some("still running".into()),
        ..EntryPatch::default()
    };
    agent.edit_entry(entry, renamed, false).await.unwrap();
    let running = agent.running().expect("the timer runs");
    assert_eq!(
        (running.entry_id, running.description.as_str()),
        (entry, "still running")
    );
    eventually("two uploads", DEADLINE, || async {
        (service_shots_of(&member, entry).await.len() >= 2).then_some(())
    })
    .await;
    stop_settled(&agent).await;
    drained(&agent, DEADLINE).await;
    let shots = local_shots(&agent, entry).await;
    let n = shots.len();
    let (kept_last, dropped) = (&shots[n - 2], &shots[n - 1]);
    let new_end =
        whole_ms(kept_last.captured_at + (dropped.captured_at - kept_last.captured_at) / 2);
    let patch = EntryPatch {
        description: Some("  renamed online  ".into()),
        end: Some(new_end),
        ..EntryPatch::default()
    };

    let preview = agent.edit_entry(entry, patch.clone(), true).await.unwrap();
    assert!(preview.dry_run);
    assert_eq!(preview.excluded_screenshots, vec![dropped.id]);
    match agent.edit_entry(entry, patch.clone(), false).await {
        Err(AgentError::Refused(e)) => assert_eq!(e.code, ErrorCode::ConfirmationRequired),
        other => panic!("an unconfirmed edit was not refused: {other:?}"),
    }
    assert_eq!(local_shots(&agent, entry).await.len(), n);
    assert_eq!(common::pending(&agent).await, 0, "something was queued");

    let confirmed = EntryPatch {
        confirm: true,
        ..patch
    };
    let mut events = agent.subscribe();
    let done = agent.edit_entry(entry, confirmed, false).await.unwrap();
    assert!(!done.dry_run);
    // A screenshot went with the edit: the views are told to refresh.
    let refreshes = std::iter::from_fn(|| events.try_recv().ok())
        .filter(|e| matches!(e, AgentEvent::Deleted))
        .count();
    assert_eq!(refreshes, 1);
    drained(&agent, DEADLINE).await;
    let served = member.entry(entry).await.unwrap().expect("the entry");
    assert_eq!(
        (served.description.as_str(), served.end),
        ("renamed online", Some(new_end))
    );
    let held = agent
        .local_store()
        .call(move |s| s.get_entry(entry))
        .await
        .unwrap()
        .expect("the entry here");
    assert_eq!(
        (held.description.as_str(), held.end),
        ("renamed online", Some(new_end))
    );
    let here = local_shots(&agent, entry).await;
    assert_eq!(here.len(), n - 1);
    assert!(here.iter().all(|s| s.id != dropped.id));
    assert_eq!(service_shots_of(&member, entry).await.len(), n - 1);

    // The Timer view's week lists it; deleted, it goes, its report no dry run.
    let week = agent
        .entries_for_week(served.start.date_naive(), "UTC")
        .await
        .unwrap();
    assert_eq!(week.iter().map(|e| e.id).collect::<Vec<_>>(), vec![entry]);
    let report = agent.delete_entry(entry, false).await.unwrap();
    assert!(!report.dry_run);
    assert_eq!(report.screenshots, u32::try_from(n - 1).unwrap());
    drained(&agent, DEADLINE).await;
    assert_eq!(member.entry(entry).await.unwrap(), None);
}

/// Online, a delete's dry run is the service's, with the screenshots still waiting here to be
/// sent added to its count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_report_online_counts_the_screenshots_still_waiting_here() {
    let server = TestServer::on(Storage::Sqlite, WINDOW_SECS);
    let ws = server.workspace("waiting-count", &["alice"], true).await;
    let alice = ws.member(0).clone();
    // Every upload fails as unreachable: the screenshots wait here.
    let proxy = Proxy::refusing(server.addr, |method, path| {
        method == "PUT" && path.starts_with("/api/v1/screenshots/")
    })
    .await;
    let data = tempfile::tempdir().unwrap();
    let agent = agent_of(data.path(), &proxy.url(), &alice).await;
    let entry = agent.start_timer("waiting".into()).await.unwrap().entry_id;
    let member = server.sign_in(&alice).await;
    eventually("the start at the service", DEADLINE, || async {
        member.entry(entry).await.unwrap().map(|_| ())
    })
    .await;
    eventually("two screenshots waiting here", DEADLINE, || async {
        (local_shots(&agent, entry).await.len() >= 2).then_some(())
    })
    .await;
    let report = agent.delete_entry(entry, true).await.unwrap();
    let waiting = local_shots(&agent, entry).await.len();
    assert!(service_shots_of(&member, entry).await.is_empty());
    // A capture may land between the report and the count.
    let counted = usize::try_from(report.screenshots).unwrap();
    assert!(
        counted >= 2 && counted <= waiting,
        "{counted} counted, {waiting} waiting"
    );
    assert!(report.dry_run);
}

/// Time added by hand is checked against the service's entries too when it answers: one the
/// new times overlap, made on another device and never held here, refuses the addition at once
/// and nothing is queued. A session the service no longer accepts is an error, not "offline":
/// nothing is queued that could never be sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_time_is_checked_against_the_services_entries_and_a_refused_session() {
    let server = TestServer::on(Storage::Sqlite, WINDOW_SECS);
    let ws = server.workspace("added-checked", &["alice"], false).await;
    let alice = ws.member(0).clone();
    let member = server.sign_in(&alice).await;
    let data = tempfile::tempdir().unwrap();
    let agent = agent_of(data.path(), &server.url(), &alice).await;
    let now = whole_ms(Utc::now());
    let hours = |h: i64| now - TimeDelta::hours(h);
    member
        .add_entry(&shotclock_api::dto::NewEntry {
            id: shotclock_api::EntryId::new(),
            user_id: None,
            description: "on the laptop".into(),
            start: hours(4),
            end: hours(3),
        })
        .await
        .unwrap();

    match agent.add_entry("here".into(), hours(5), hours(3)).await {
        Err(AgentError::Refused(e)) => assert_eq!(e.code, ErrorCode::EntryOverlap),
        other => panic!("an overlap with the service's entry was not refused: {other:?}"),
    }
    assert_eq!(common::pending(&agent).await, 0, "something was queued");

    ws.owner.remove_member(alice.id).await.unwrap();
    let refused = agent.add_entry("after".into(), hours(2), hours(1)).await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(common::pending(&agent).await, 0, "something was queued");
}

/// An admin's edit of a member's entry (never held on the admin's device) goes to the service
/// directly; the edit, not its dry run, tells the views to refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admins_edit_of_a_members_entry_refreshes_the_views_once_it_is_made() {
    let server = TestServer::on(Storage::Sqlite, WINDOW_SECS);
    let ws = server.workspace("admin-edit", &["alice"], false).await;
    let alice = ws.member(0).clone();
    let member = server.sign_in(&alice).await;
    let now = whole_ms(Utc::now());
    let entry = member
        .add_entry(&shotclock_api::dto::NewEntry {
            id: shotclock_api::EntryId::new(),
            user_id: None,
            description: "alice's".into(),
            start: now - TimeDelta::hours(2),
            end: now - TimeDelta::hours(1),
        })
        .await
        .unwrap()
        .id;
    let data = tempfile::tempdir().unwrap();
    let admin = agent_of(data.path(), &server.url(), ws.team.owner()).await;
    let mut events = admin.subscribe();
    // `emit` sends before the command returns: whatever it sent is in the channel by then.
    let mut refreshes = || {
        std::iter::from_fn(|| events.try_recv().ok())
            .filter(|e| matches!(e, AgentEvent::Deleted))
            .count()
    };
    let patch = EntryPatch {
        description: Some("fixed by the admin".into()),
        ..EntryPatch::default()
    };
    let preview = admin.edit_entry(entry, patch.clone(), true).await.unwrap();
    assert!(preview.dry_run);
    assert_eq!(refreshes(), 0, "a dry run asked for a refresh");
    admin.edit_entry(entry, patch, false).await.unwrap();
    assert_eq!(refreshes(), 1);
    let served = member.entry(entry).await.unwrap().expect("the entry");
    assert_eq!(served.description, "fixed by the admin");
}
