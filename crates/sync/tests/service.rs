//! The client against the real service on a real port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::{SubsecRound, TimeDelta, Utc};
use shotclock_api::dto::{
    ApprovePeriod, DeleteKind, EntryPatch, Event, NewEntry, Period, UpdateSettingsRequest,
};
use shotclock_api::{API_VERSION, EntryId, ErrorCode, Role, ScreenshotId};
use shotclock_sync::{
    BackoffPolicy, EventStream, EventsOptions, ScreenshotUpload, StreamItem, SyncError,
};
use shotclock_testkit::{PASSWORD, TestServer};

/// Waits for the next stream item, failing the test after a generous deadline.
async fn next(stream: &mut EventStream) -> StreamItem {
    tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .expect("no stream item within 30 s")
        .expect("the stream ended")
}

/// Skips `Disconnected` reports (reconnect attempts) and returns the next other item.
async fn next_significant(stream: &mut EventStream) -> StreamItem {
    loop {
        match next(stream).await {
            StreamItem::Disconnected { error, .. } => assert!(error.is_retryable(), "{error}"),
            other => return other,
        }
    }
}

/// A small valid WebP (structurally; the service does not decode pixels) with a marker in it.
fn webp(marker: u64) -> Vec<u8> {
    let mut bytes = shotclock_server::webp::synthetic(64, 36, 200);
    let at = bytes.len() - 16;
    bytes[at..at + 8].copy_from_slice(&marker.to_le_bytes());
    bytes
}

/// The owner starts the trial and turns screenshots on.
async fn capture_on(owner: &shotclock_sync::Client) {
    owner.start_trial().await.unwrap();
    owner
        .update_workspace(&UpdateSettingsRequest {
            screenshots_enabled: Some(true),
            ..UpdateSettingsRequest::default()
        })
        .await
        .unwrap();
}

fn fast_reconnects() -> EventsOptions {
    EventsOptions {
        backoff: BackoffPolicy::new(Duration::from_millis(20), Duration::from_millis(200)),
        healthy_after: Duration::from_secs(1),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_me_logout_round_trip() {
    let server = TestServer::start();
    let team = server.team("acme", &[("alice", Role::Member)]).await;
    let alice = &team.people[1];
    let anon = server.client();

    let health = anon.health().await.unwrap();
    assert_eq!(health.api_version, API_VERSION);

    // Wrong password: a final rejection carrying the service's code, not a lost session.
    let err = anon
        .login(&alice.email, "not the password", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SyncError::Rejected { status: 401, error } if error.code == ErrorCode::Unauthorized),
        "{err:?}"
    );
    assert!(!err.is_retryable());

    // Signed-in calls without a token fail locally.
    assert!(matches!(anon.me().await, Err(SyncError::Unauthorized)));

    let session = anon
        .login(&alice.email.to_uppercase(), PASSWORD, Some(team.ws))
        .await
        .unwrap();
    assert_eq!(session.me.user.id, alice.id);
    assert!(session.expires_at > Utc::now());
    let client = anon.with_token(&session.token);
    assert!(client.has_token() && !anon.has_token());
    // Debug output never shows the token.
    assert!(!format!("{client:?}").contains(&session.token));

    let me = client.me().await.unwrap();
    assert_eq!(me.user.email, alice.email);
    assert_eq!(me.user.role, Role::Member);
    assert_eq!(me.workspace.id, team.ws);

    client.logout().await.unwrap();
    let err = client.me().await.unwrap_err();
    assert!(matches!(err, SyncError::Unauthorized), "{err:?}");
    assert!(!err.is_retryable());
    // Logging out again is harmless.
    client.logout().await.unwrap();
    // A made-up token is refused the same way.
    let forged = anon.with_token(&"ab".repeat(32));
    assert!(matches!(forged.me().await, Err(SyncError::Unauthorized)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_trial_notifications_and_members() {
    let server = TestServer::start();
    let team = server.team("beta", &[("bob", Role::Member)]).await;
    let owner = server.sign_in(team.owner()).await;
    let bob = server.sign_in(&team.people[1]).await;

    let ws = bob.workspace().await.unwrap();
    assert!(!ws.screenshots_enabled && ws.trial_available && !ws.capture_allowed);

    // Only admins change settings: a final 403.
    let enable = UpdateSettingsRequest {
        screenshots_enabled: Some(true),
        ..UpdateSettingsRequest::default()
    };
    let err = bob.update_workspace(&enable).await.unwrap_err();
    assert!(
        matches!(&err, SyncError::Rejected { status: 403, error } if error.code == ErrorCode::Forbidden),
        "{err:?}"
    );

    let trial = owner.start_trial().await.unwrap();
    assert!(trial.trial_started_at.is_some() && !trial.trial_available);
    let err = owner.start_trial().await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert!(!err.is_retryable());

    let on = owner.update_workspace(&enable).await.unwrap();
    assert!(on.screenshots_enabled && on.capture_allowed);

    // Every member was told (R6), and can mark it read.
    let notes = bob.notifications().await.unwrap().notifications;
    assert_eq!(notes.len(), 1);
    assert!(!notes[0].read);
    let read = bob.mark_notification_read(notes[0].id).await.unwrap();
    assert!(read.read);
    assert!(bob.notifications().await.unwrap().notifications[0].read);

    let members = owner.members().await.unwrap().members;
    assert_eq!(members.len(), 2);
    // Everyone reads the member list (R38); only admins get presence.
    assert!(members.iter().all(|m| m.presence.is_some()));
    let bobs = bob.members().await.unwrap().members;
    assert!(bobs.iter().all(|m| m.presence.is_none()));
    let without = |list: Vec<shotclock_api::dto::Member>| {
        list.into_iter()
            .map(|m| shotclock_api::dto::Member {
                presence: None,
                ..m
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(without(bobs), without(members));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timer_round_trip_and_entries() {
    let server = TestServer::start();
    let team = server.team("gamma", &[("carol", Role::Member)]).await;
    let carol = server.sign_in(&team.people[1]).await;

    assert!(carol.timer().await.unwrap().running.is_none());
    let id = EntryId::new();
    let started = carol
        .start_timer(id, "Writing the client", None)
        .await
        .unwrap();
    let running = started.running.unwrap();
    assert_eq!(running.id, id);
    assert_eq!(running.description, "Writing the client");
    assert!(running.end.is_none());
    // A retried start with the same id is a no-op.
    let again = carol
        .start_timer(id, "Writing the client", None)
        .await
        .unwrap();
    assert_eq!(again.running.unwrap().id, id);
    assert_eq!(carol.timer().await.unwrap().running.unwrap().id, id);

    let stopped = carol.stop_timer(Some(id), None).await.unwrap();
    assert!(stopped.running.is_none());
    assert_eq!(stopped.stopped.as_ref().unwrap().id, id);
    assert!(stopped.stopped.unwrap().end.is_some());
    // Stopping again is a no-op, not an error (safe to retry).
    carol.stop_timer(Some(id), None).await.unwrap();
    assert!(carol.timer().await.unwrap().running.is_none());

    let now = Utc::now();
    let list = carol
        .entries(
            Some(now - TimeDelta::hours(1)),
            Some(now + TimeDelta::hours(1)),
            None,
        )
        .await
        .unwrap();
    assert_eq!(list.entries.len(), 1);
    assert_eq!(list.entries[0].id, id);
    // By id: the same entry; none for an id the service does not have.
    assert_eq!(
        carol.entry(id).await.unwrap().as_ref(),
        Some(&list.entries[0])
    );
    assert_eq!(carol.entry(EntryId::new()).await.unwrap(), None);

    // A start in the future beyond the allowed skew is a final clock_skew rejection.
    let err = carol
        .start_timer(EntryId::new(), "", Some(now + TimeDelta::hours(1)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::ClockSkew));
    assert!(!err.is_retryable());

    carol.delete_entry(id).await.unwrap();
    assert_eq!(carol.entry(id).await.unwrap(), None);
    let err = carol.delete_entry(id).await.unwrap_err();
    assert!(
        matches!(&err, SyncError::Rejected { status: 404, error } if error.code == ErrorCode::NotFound),
        "{err:?}"
    );
    assert!(
        carol
            .entries(None, None, None)
            .await
            .unwrap()
            .entries
            .is_empty()
    );

    // A range the service refuses is a final validation error.
    let err = carol
        .entries(Some(now), Some(now - TimeDelta::hours(1)), None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshot_upload_is_idempotent_and_conflicts_are_final() {
    let server = TestServer::start();
    let team = server.team("delta", &[("dave", Role::Member)]).await;
    let owner = server.sign_in(team.owner()).await;
    let dave = server.sign_in(&team.people[1]).await;
    capture_on(&owner).await;

    // The service keeps instants to the millisecond.
    let start = (Utc::now() - TimeDelta::minutes(10)).trunc_subsecs(3);
    let entry = EntryId::new();
    dave.start_timer(entry, "Design review", Some(start))
        .await
        .unwrap();

    let bytes = webp(1);
    let upload = ScreenshotUpload {
        id: ScreenshotId::new(),
        entry_id: entry,
        // After capture was turned on: the service judges the capture moment (R4, R5).
        captured_at: Utc::now().trunc_subsecs(3),
        bytes: bytes.clone().into(),
    };
    let first = dave.upload_screenshot(&upload).await.unwrap();
    assert!(first.created);
    assert_eq!(first.id, upload.id);
    // The retry of an acknowledged upload is a success that says it was already there.
    let second = dave.upload_screenshot(&upload).await.unwrap();
    assert!(!second.created);
    assert_eq!(second.sha256, first.sha256);
    // Debug output never shows the bytes.
    assert!(format!("{upload:?}").contains("len: "));

    // Same id, other bytes: final conflict.
    let other = ScreenshotUpload {
        bytes: webp(2).into(),
        ..upload.clone()
    };
    let err = dave.upload_screenshot(&other).await.unwrap_err();
    assert!(
        matches!(&err, SyncError::Rejected { status: 409, error } if error.code == ErrorCode::Conflict),
        "{err:?}"
    );
    assert!(!err.is_retryable());

    // Not a WebP: final.
    let junk = ScreenshotUpload {
        id: ScreenshotId::new(),
        bytes: b"GIF89a".as_slice().into(),
        ..upload.clone()
    };
    let err = dave.upload_screenshot(&junk).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::UnsupportedMediaType));
    assert!(!err.is_retryable());

    // Reading it back: metadata, the day, the counts, the bytes.
    let meta = dave.screenshot(upload.id).await.unwrap();
    assert_eq!(meta.entry_id, entry);
    assert_eq!((meta.width, meta.height), (64, 36));
    assert_eq!(meta.captured_at, upload.captured_at);
    let day = upload.captured_at.date_naive();
    let list = dave.screenshots_of_day(None, day, "UTC").await.unwrap();
    assert_eq!(list.screenshots.len(), 1);
    assert_eq!(list.screenshots[0].entry_description, "Design review");
    let as_admin = owner
        .screenshots_of_day(Some(team.people[1].id), day, "UTC")
        .await
        .unwrap();
    assert_eq!(as_admin.screenshots.len(), 1);
    let counts = owner.screenshot_counts(day, "UTC").await.unwrap();
    let dave_count = counts
        .members
        .iter()
        .find(|m| m.user_id == team.people[1].id)
        .unwrap();
    assert_eq!(dave_count.count, 1);
    assert_eq!(dave.screenshot_image(upload.id).await.unwrap(), bytes);
    let err = dave
        .screenshots_of_day(None, day, "Mars/Olympus")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Validation));

    // Deleting while the entry runs is refused (R20); after the stop, a dry run reports, then
    // the delete removes the entry (its only screenshot, R21).
    let err = dave.delete_screenshot(upload.id, false).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::StopTimerFirst));
    dave.stop_timer(None, None).await.unwrap();
    let preview = dave.delete_screenshot(upload.id, true).await.unwrap();
    assert!(preview.dry_run);
    assert_eq!(preview.decision, DeleteKind::DeleteEntry);
    assert_eq!(dave.screenshot(upload.id).await.unwrap().id, upload.id);
    let done = dave.delete_screenshot(upload.id, false).await.unwrap();
    assert!(!done.dry_run);
    let err = dave.screenshot_image(upload.id).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotFound));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_stream_follows_another_device_and_survives_a_restart() {
    let mut server = TestServer::start();
    let team = server.team("epsilon", &[("erin", Role::Member)]).await;
    let erin = &team.people[1];
    let desktop = server.sign_in(erin).await;
    let phone = server.sign_in(erin).await;

    let mut stream = desktop.events_with(fast_reconnects());
    assert!(matches!(next(&mut stream).await, StreamItem::Connected));

    // A timer started and stopped on another device reaches this one.
    let id = EntryId::new();
    phone.start_timer(id, "On the phone", None).await.unwrap();
    match next(&mut stream).await {
        StreamItem::Event(Event::TimerStarted { entry }) => {
            assert_eq!(entry.id, id);
            assert_eq!(entry.description, "On the phone");
        }
        other => panic!("expected timer_started, got {other:?}"),
    }
    phone.stop_timer(Some(id), None).await.unwrap();
    match next(&mut stream).await {
        StreamItem::Event(Event::TimerStopped { entry }) => assert_eq!(entry.id, id),
        other => panic!("expected timer_stopped, got {other:?}"),
    }

    // The service dies and comes back on the same port with the same data.
    server.stop();
    match next(&mut stream).await {
        StreamItem::Disconnected { error, retry_in } => {
            assert!(error.is_retryable(), "{error}");
            assert!(retry_in <= Duration::from_millis(200));
        }
        other => panic!("expected Disconnected, got {other:?}"),
    }
    server.restart();
    assert!(matches!(
        next_significant(&mut stream).await,
        StreamItem::Connected
    ));

    // Sessions survived (they are in the database); events flow again.
    let id2 = EntryId::new();
    phone
        .start_timer(id2, "After the restart", None)
        .await
        .unwrap();
    match next_significant(&mut stream).await {
        StreamItem::Event(Event::TimerStarted { entry }) => assert_eq!(entry.id, id2),
        other => panic!("expected timer_started, got {other:?}"),
    }
    phone.stop_timer(None, None).await.unwrap();
    match next_significant(&mut stream).await {
        StreamItem::Event(Event::TimerStopped { entry }) => assert_eq!(entry.id, id2),
        other => panic!("expected timer_stopped, got {other:?}"),
    }

    // Revoking the session ends the stream for good after the next reconnect.
    desktop.logout().await.unwrap();
    server.restart();
    loop {
        match next(&mut stream).await {
            StreamItem::Disconnected { .. } => {}
            StreamItem::Unauthorized => break,
            other => panic!("expected Unauthorized, got {other:?}"),
        }
    }
    assert!(stream.next().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_stream_with_a_refused_token_ends_at_once() {
    let server = TestServer::start();
    let stranger = server.client().with_token("not-a-session");
    let mut stream = stranger.events_with(fast_reconnects());
    assert!(matches!(next(&mut stream).await, StreamItem::Unauthorized));
    assert!(stream.next().await.is_none());
    // And without any token.
    let mut stream = server.client().events();
    assert!(matches!(next(&mut stream).await, StreamItem::Unauthorized));
    assert!(stream.next().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_changes_reach_every_member_live() {
    let server = TestServer::start();
    let team = server.team("zeta", &[("zoe", Role::Member)]).await;
    let owner = server.sign_in(team.owner()).await;
    let zoe = server.sign_in(&team.people[1]).await;
    let mut stream = zoe.events_with(fast_reconnects());
    assert!(matches!(next(&mut stream).await, StreamItem::Connected));

    owner.start_trial().await.unwrap();
    assert!(matches!(
        next(&mut stream).await,
        StreamItem::Event(Event::SettingsChanged { .. })
    ));
    owner
        .update_workspace(&UpdateSettingsRequest {
            screenshots_enabled: Some(true),
            ..UpdateSettingsRequest::default()
        })
        .await
        .unwrap();
    let mut saw_notification = false;
    let mut saw_settings = false;
    while !(saw_notification && saw_settings) {
        match next(&mut stream).await {
            StreamItem::Event(Event::Notification { notification }) => {
                assert_eq!(notification.kind, "screenshots_enabled");
                saw_notification = true;
            }
            StreamItem::Event(Event::SettingsChanged { settings }) => {
                assert!(settings.screenshots_enabled);
                saw_settings = true;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// R39 through the client: a manual entry, an edit and its dry run, a refused edit with its
/// reason, and an admin's week approval that a member's delete then meets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_are_added_edited_and_approved() {
    let server = TestServer::start();
    let team = server.team("kappa", &[("kim", Role::Member)]).await;
    let owner = server.sign_in(team.owner()).await;
    let kim = server.sign_in(&team.people[1]).await;
    let now = Utc::now().trunc_subsecs(0);
    let id = EntryId::new();
    let new = NewEntry {
        id,
        user_id: None,
        description: "Call with the client".into(),
        start: now - TimeDelta::hours(3),
        end: now - TimeDelta::hours(2),
    };
    let made = kim.add_entry(&new).await.unwrap();
    assert!(made.manual);
    assert_eq!(made.duration_secs, 3600);
    assert_eq!(
        kim.add_entry(&new).await.unwrap(),
        made,
        "a retry is the same entry"
    );

    let patch = EntryPatch {
        description: Some("Call, and notes".into()),
        end: Some(now - TimeDelta::minutes(90)),
        ..EntryPatch::default()
    };
    let dry = kim.edit_entry(id, &patch, true).await.unwrap();
    assert!(dry.dry_run);
    assert!(dry.excluded_screenshots.is_empty());
    assert_eq!(dry.entry.duration_secs, 5400);
    let done = kim.edit_entry(id, &patch, false).await.unwrap();
    assert!(!done.dry_run);
    assert_eq!(done.entry, dry.entry);

    // Refused for good, with its reason: another entry of hers overlaps.
    let other = NewEntry {
        id: EntryId::new(),
        start: now - TimeDelta::minutes(80),
        end: now - TimeDelta::minutes(70),
        ..new.clone()
    };
    kim.add_entry(&other).await.unwrap();
    let err = kim
        .edit_entry(
            id,
            &EntryPatch {
                end: Some(now - TimeDelta::minutes(75)),
                ..EntryPatch::default()
            },
            false,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SyncError::Rejected { status: 409, error } if error.code == ErrorCode::EntryOverlap),
        "{err:?}"
    );
    assert!(!err.is_retryable());

    let week = |approved| ApprovePeriod {
        user_id: made.user_id,
        date: new.start.date_naive(),
        time_zone: "UTC".into(),
        period: Period::Week,
        approved,
    };
    let err = kim.approve_period(&week(true)).await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    let report = owner.approve_period(&week(true)).await.unwrap();
    assert!(report.entries.iter().any(|e| e.id == id && e.approved));
    let err = kim.delete_entry(id).await.unwrap_err();
    assert!(
        matches!(&err, SyncError::Rejected { status: 403, error } if error.code == ErrorCode::EntryApproved),
        "{err:?}"
    );
    owner.approve_period(&week(false)).await.unwrap();
    kim.delete_entry(id).await.unwrap();
}

/// Single sign-on settings (R31) through the client: admins read them, a provider that cannot
/// be read is refused in words with nothing stored, unlinking answers nothing; members may not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_settings_are_read_checked_and_unlinked_by_admins_only() {
    let server = TestServer::start();
    let team = server.team("sso", &[("bob", Role::Member)]).await;
    let owner = server.sign_in(team.owner()).await;
    let bob = server.sign_in(&team.people[1]).await;

    let unlinked = owner.sso_settings().await.unwrap();
    assert!(!unlinked.enabled && unlinked.password_sign_in);
    assert_eq!(
        unlinked.callback_url,
        format!("{}api/v1/sso/callback", owner.base_url())
    );
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nobody = format!("http://{}", free.local_addr().unwrap());
    drop(free);
    let update = shotclock_api::sso::SsoSettingsUpdate {
        issuer: nobody,
        client_id: "shotclock".into(),
        client_secret: Some("a-secret".into()),
        allowed_domains: vec!["sso.test".into()],
        auto_join: false,
        password_sign_in: true,
    };
    let err = owner.set_sso_settings(&update).await.unwrap_err();
    assert!(
        matches!(&err, SyncError::Rejected { status: 422, error }
            if error.message.contains("could not be read")),
        "{err:?}"
    );
    assert_eq!(
        owner.sso_settings().await.unwrap(),
        unlinked,
        "nothing stored"
    );
    owner.unlink_sso().await.unwrap();

    for err in [
        bob.sso_settings().await.unwrap_err(),
        bob.set_sso_settings(&update).await.unwrap_err(),
        bob.unlink_sso().await.unwrap_err(),
    ] {
        assert!(
            matches!(&err, SyncError::Rejected { status: 403, error } if error.code == ErrorCode::Forbidden),
            "{err:?}"
        );
    }
}

/// The admin's calls on people and privacy, each seen to take effect: an invitation listed
/// then revoked, a member's role changed then the member removed, the workspace's block list
/// written and read back, a recording app's capture report shown to admins, and an admin's
/// view of a screenshot in its owner's access log (R34, R35, R38).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_block_lists_presence_and_the_access_log() {
    use shotclock_api::dto::{InviteRequest, UpdateMemberRequest};
    use shotclock_api::privacy::{AccessKind, BlockField, BlockRule, WorkspaceBlocklist};

    let server = TestServer::start();
    let team = server
        .team("zeta", &[("zoe", Role::Member), ("yann", Role::Member)])
        .await;
    let owner = server.sign_in(team.owner()).await;
    let zoe = server.sign_in(&team.people[1]).await;
    let yann = &team.people[2];

    // Invitations: made, listed, revoked.
    let made = owner
        .invite(&InviteRequest {
            email: "new@zeta.test".into(),
            role: Role::Admin,
        })
        .await
        .unwrap();
    assert!(!made.token.is_empty());
    assert_eq!(made.invitation.role, Role::Admin);
    let listed = owner.invitations().await.unwrap().invitations;
    assert_eq!(listed, vec![made.invitation.clone()]);
    owner.revoke_invitation(made.invitation.id).await.unwrap();
    assert!(owner.invitations().await.unwrap().invitations.is_empty());

    // Members: a role changed, then someone removed.
    let me = zoe.me().await.unwrap();
    let changed = owner
        .update_member(
            me.user.id,
            &UpdateMemberRequest {
                role: Some(Role::Admin),
                active: None,
            },
        )
        .await
        .unwrap();
    assert_eq!((changed.id, changed.role), (me.user.id, Role::Admin));
    let yann_id = owner
        .members()
        .await
        .unwrap()
        .members
        .into_iter()
        .find(|m| m.email == yann.email)
        .unwrap()
        .id;
    owner.remove_member(yann_id).await.unwrap();
    let members = owner.members().await.unwrap().members;
    assert!(members.iter().all(|m| m.id != yann_id), "{members:?}");
    // A role change ended Zoe's sessions: she signs in again.
    let zoe = server.sign_in(&team.people[1]).await;

    // The workspace's block list.
    let list = WorkspaceBlocklist {
        rules: vec![BlockRule {
            field: BlockField::Title,
            pattern: "Payroll".into(),
        }],
    };
    assert_eq!(owner.set_workspace_blocklist(&list).await.unwrap(), list);
    assert_eq!(zoe.workspace_blocklist().await.unwrap(), list);

    // Presence: Zoe's recording app connects with capture off, then reports it on.
    let mut app = zoe.app_events(fast_reconnects(), || false);
    assert!(matches!(next(&mut app).await, StreamItem::Connected));
    let presence = |members: Vec<shotclock_api::dto::Member>| {
        members
            .into_iter()
            .find(|m| m.id == me.user.id)
            .and_then(|m| m.presence)
            .unwrap()
    };
    let before = presence(owner.members().await.unwrap().members);
    assert!(before.connected && !before.capture, "{before:?}");
    zoe.report_capture(true).await.unwrap();
    let after = presence(owner.members().await.unwrap().members);
    assert!(after.connected && after.capture, "{after:?}");

    // The access log: the owner opens one of Zoe's screenshots.
    capture_on(&owner).await;
    let entry = EntryId::new();
    let start = (Utc::now() - TimeDelta::minutes(1)).trunc_subsecs(3);
    zoe.start_timer(entry, "Budget", Some(start)).await.unwrap();
    let shot = ScreenshotId::new();
    zoe.upload_screenshot(&ScreenshotUpload {
        id: shot,
        entry_id: entry,
        captured_at: Utc::now().trunc_subsecs(3),
        bytes: webp(7).into(),
    })
    .await
    .unwrap();
    assert!(zoe.access_log().await.unwrap().entries.is_empty());
    owner.screenshot_image(shot).await.unwrap();
    let log = zoe.access_log().await.unwrap().entries;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        (log[0].screenshot_id, log[0].kind, log[0].viewer_id),
        (shot, AccessKind::Viewed, owner.me().await.unwrap().user.id)
    );
}
