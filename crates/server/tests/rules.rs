//! Product rules through the HTTP API (`router().oneshot`): R4–R6, R13–R16, R18, R20–R22.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::TimeDelta;
use common::{Db, Harness, image, rfc, t0};
use serde_json::json;
use shotclock_api::{EntryId, ScreenshotId};

fn min(m: i64) -> TimeDelta {
    TimeDelta::minutes(m)
}

// ---- R4–R6: settings, gate, notifications ----------------------------------------------------

async fn r4_only_admins_change_settings(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let r = h
        .call(
            "PATCH",
            "/api/v1/workspace",
            Some(&team.alice.token),
            Some(json!({"blur_enabled": false})),
        )
        .await;
    r.expect(403);
    assert_eq!(r.code(), "forbidden");
    // Everyone reads; screenshots are off by default.
    let s = h.get("/api/v1/workspace", &team.alice.token).await;
    s.expect(200);
    assert_eq!(s.json()["screenshots_enabled"], false);
    assert_eq!(s.json()["blur_enabled"], true);
    assert_eq!(s.json()["capture_window_secs"], 300);
    let r = h
        .call(
            "PATCH",
            "/api/v1/workspace",
            Some(&team.admin.token),
            Some(json!({"blur_enabled": false})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["blur_enabled"], false);
    // The owner is an admin too; plan stays read-only.
    let r = h
        .call(
            "PATCH",
            "/api/v1/workspace",
            Some(&team.owner.token),
            Some(json!({"plan": "enterprise"})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["plan"], "free");
}

/// `POST /workspace/trial` as the holder of `token`.
async fn start_trial(h: &Harness, token: &str) -> common::Resp {
    h.call("POST", "/api/v1/workspace/trial", Some(token), None)
        .await
}

async fn r5_capture_needs_enterprise_or_a_one_time_trial(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let enable = json!({"screenshots_enabled": true});
    let r = h
        .call(
            "PATCH",
            "/api/v1/workspace",
            Some(&team.admin.token),
            Some(enable.clone()),
        )
        .await;
    r.expect(403);
    assert_eq!(r.code(), "feature_unavailable");

    // Members cannot start the trial; admins can, once.
    start_trial(&h, &team.alice.token).await.expect(403);
    let r = start_trial(&h, &team.admin.token).await;
    r.expect(200);
    assert_eq!(r.json()["trial_available"], false);
    let again = start_trial(&h, &team.admin.token).await;
    again.expect(409);
    assert!(
        again.message().contains("already been used"),
        "{}",
        again.message()
    );
    // An enterprise workspace has no trial to start, and is told why.
    let paying = h.team("globex").await;
    h.store
        .set_plan(paying.ws, shotclock_api::Plan::Enterprise, h.app.now())
        .await
        .unwrap();
    let r = start_trial(&h, &paying.admin.token).await;
    r.expect(409);
    assert!(
        r.message().contains("enterprise plan already includes"),
        "{}",
        r.message()
    );
    let r = h
        .call(
            "PATCH",
            "/api/v1/workspace",
            Some(&team.admin.token),
            Some(enable),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["capture_allowed"], true);

    // Uploads work during the trial (from the moment capture is on)…
    let entry = h.start(&team.alice, t0() - min(30), "work").await;
    h.upload(
        &team.alice.token,
        ScreenshotId::new(),
        entry,
        t0(),
        image(1),
    )
    .await
    .expect(201);
    // …and stop when it ends (screenshots already taken stay visible).
    h.clock.advance(TimeDelta::days(7) + min(1));
    let s = h.get("/api/v1/workspace", &team.alice.token).await;
    assert_eq!(s.json()["capture_allowed"], false);
    let late = h.start(&team.alice, h.app.now() - min(10), "late").await;
    // (A screenshot taken before the end but uploaded later is still accepted: offline sync.)
    h.upload(
        &team.alice.token,
        ScreenshotId::new(),
        late,
        h.app.now() - min(5),
        image(4),
    )
    .await
    .expect(201);
    let r = h
        .upload(
            &team.alice.token,
            ScreenshotId::new(),
            late,
            h.app.now(),
            image(2),
        )
        .await;
    r.expect(403);
    assert_eq!(r.code(), "feature_unavailable");

    // Enterprise needs no trial.
    h.store
        .set_plan(team.ws, shotclock_api::Plan::Enterprise, h.app.now())
        .await
        .unwrap();
    h.upload(
        &team.alice.token,
        ScreenshotId::new(),
        late,
        h.app.now(),
        image(3),
    )
    .await
    .expect(201);
}

async fn r6_enabling_notifies_every_member_persistently(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    h.store
        .set_plan(team.ws, shotclock_api::Plan::Enterprise, h.app.now())
        .await
        .unwrap();
    h.call(
        "PATCH",
        "/api/v1/workspace",
        Some(&team.admin.token),
        Some(json!({"screenshots_enabled": true})),
    )
    .await
    .expect(200);
    for who in [&team.owner, &team.admin, &team.alice, &team.bob] {
        let r = h.get("/api/v1/notifications", &who.token).await;
        r.expect(200);
        let list = r.json()["notifications"].as_array().unwrap().clone();
        assert_eq!(list.len(), 1, "{}", who.email);
        assert_eq!(list[0]["kind"], "screenshots_enabled");
        assert_eq!(list[0]["read"], false);
        // It says where and what: the workspace by name, and that screenshots are taken.
        let message = list[0]["message"].as_str().unwrap();
        assert!(
            message.contains("acme") && message.contains("screenshot is taken"),
            "{message}"
        );
    }
    // Re-sending "enabled" while already on does not notify again.
    h.call(
        "PATCH",
        "/api/v1/workspace",
        Some(&team.admin.token),
        Some(json!({"screenshots_enabled": true})),
    )
    .await
    .expect(200);
    let r = h.get("/api/v1/notifications", &team.bob.token).await;
    let list = r.json()["notifications"].as_array().unwrap().clone();
    assert_eq!(list.len(), 1);
    // Mark read; someone else's notification is a 404.
    let id = list[0]["id"].as_str().unwrap().to_owned();
    h.call(
        "POST",
        &format!("/api/v1/notifications/{id}/read"),
        Some(&team.alice.token),
        None,
    )
    .await
    .expect(404);
    let r = h
        .call(
            "POST",
            &format!("/api/v1/notifications/{id}/read"),
            Some(&team.bob.token),
            None,
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["read"], true);
}

// ---- R13–R15: timer and entries ---------------------------------------------------------------

async fn r13_one_running_entry_and_start_stops_the_previous(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let first = h.start(&team.alice, t0() - min(60), "first").await;
    let second_id = EntryId::new();
    let r = h
        .start_as(&team.alice, second_id, t0() - min(10), "second")
        .await;
    r.expect(200);
    let body = r.json();
    assert_eq!(body["stopped"]["id"], first.to_string());
    assert_eq!(
        body["stopped"]["end"],
        rfc(t0() - min(10)).replace(".000", "")
    );
    assert_eq!(body["stopped"]["duration_secs"], 50 * 60);
    assert_eq!(body["running"]["id"], second_id.to_string());
    // Idempotent retry: same id, no new entry, nothing stopped.
    let again = h
        .start_as(&team.alice, second_id, t0() - min(10), "second")
        .await;
    again.expect(200);
    assert!(again.json()["stopped"].is_null());
    let cur = h.get("/api/v1/timer", &team.alice.token).await;
    assert_eq!(cur.json()["running"]["id"], second_id.to_string());
    let list = h.get("/api/v1/entries", &team.alice.token).await;
    assert_eq!(list.json()["entries"].as_array().unwrap().len(), 2);
    // Someone else's entry id cannot be reused.
    h.call(
        "POST",
        "/api/v1/timer/start",
        Some(&team.bob.token),
        Some(json!({"entry_id": second_id})),
    )
    .await
    .expect(409);
    // Stop, and stop again (no-op).
    let r = h
        .call(
            "POST",
            "/api/v1/timer/stop",
            Some(&team.alice.token),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.json()["stopped"]["id"], second_id.to_string());
    let r = h
        .call(
            "POST",
            "/api/v1/timer/stop",
            Some(&team.alice.token),
            Some(json!({})),
        )
        .await;
    r.expect(200);
    assert!(r.json()["stopped"].is_null());
    // Clock skew on start.
    let r = h
        .call(
            "POST",
            "/api/v1/timer/start",
            Some(&team.alice.token),
            Some(json!({"entry_id": EntryId::new(), "start": rfc(t0() + min(6))})),
        )
        .await;
    r.expect(400);
    assert_eq!(r.code(), "clock_skew");
}

/// A timer start older than the running entry's (sent late by a device that was offline) does
/// not cut the later entry back to nothing: the later entry runs on with its screenshots inside
/// it, and the older one ends where it began; the two do not overlap (R13, R15, R39).
async fn r13_an_older_start_sent_late_leaves_the_later_entry_running(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    h.enable_capture(&team).await;
    let later = h.start(&team.alice, t0() - min(10), "later").await;
    let shot = ScreenshotId::new();
    h.upload(&team.alice.token, shot, later, t0() - min(5), image(1))
        .await
        .expect(201);
    let older = EntryId::new();
    let r = h
        .start_as(&team.alice, older, t0() - min(30), "older")
        .await;
    r.expect(200);
    let body = r.json();
    assert_eq!(body["running"]["id"], later.to_string(), "{body}");
    assert!(body["running"]["end"].is_null(), "{body}");
    assert_eq!(body["stopped"]["id"], older.to_string(), "{body}");
    assert_eq!(
        body["stopped"]["end"],
        rfc(t0() - min(10)).replace(".000", "")
    );
    let current = h.get("/api/v1/timer", &team.alice.token).await;
    assert_eq!(current.json()["running"]["id"], later.to_string());
    let kept = h.raw_entry(later).await.unwrap();
    assert_eq!((kept.times.start, kept.times.end), (t0() - min(10), None));
    let ended = h.raw_entry(older).await.unwrap();
    assert_eq!(
        (ended.times.start, ended.times.end),
        (t0() - min(30), Some(t0() - min(10)))
    );
    assert_eq!(h.raw_screenshot(shot).await.unwrap().entry_id, later);
    // A retry answers the same entry, and changes nothing.
    let again = h
        .start_as(&team.alice, older, t0() - min(30), "older")
        .await;
    again.expect(200);
    assert!(again.json()["running"].is_null() && again.json()["stopped"].is_null());
    assert_eq!(h.raw_entry(later).await.unwrap().times.end, None);
}

/// A timer start never overlaps the person's stopped entries (R39: entries never overlap): a
/// start before one ends where it begins, and a start inside one moves to its end.
async fn r39_a_timer_start_never_overlaps_the_persons_stopped_entries(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let kept = h.start(&team.alice, t0() - min(40), "kept").await;
    h.stop(&team.alice, t0() - min(20)).await;
    let start = |id: EntryId, at| h.start_as(&team.alice, id, at, "late");
    let before = EntryId::new();
    let r = start(before, t0() - min(50)).await;
    r.expect(200);
    assert!(r.json()["running"].is_null(), "{}", r.json());
    assert_eq!(r.json()["stopped"]["id"], before.to_string());
    let row = h.raw_entry(before).await.unwrap();
    assert_eq!(
        (row.times.start, row.times.end),
        (t0() - min(50), Some(t0() - min(40)))
    );
    let inside = EntryId::new();
    let r = start(inside, t0() - min(30)).await;
    r.expect(200);
    assert_eq!(
        r.json()["running"]["id"],
        inside.to_string(),
        "{}",
        r.json()
    );
    let row = h.raw_entry(inside).await.unwrap();
    assert_eq!((row.times.start, row.times.end), (t0() - min(20), None));
    let row = h.raw_entry(kept).await.unwrap();
    assert_eq!(
        (row.times.start, row.times.end),
        (t0() - min(40), Some(t0() - min(20)))
    );
}

/// A start or a stop that lands before the running entry's latest screenshot (sent late, or from
/// a device whose clock is behind) does not cut that screenshot off: the entry ends at it, and
/// a new entry starts there (R15, R39).
async fn r15_a_late_start_or_stop_keeps_the_running_entrys_screenshots_inside(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    h.enable_capture(&team).await;
    let first = h.start(&team.alice, t0() - min(30), "first").await;
    h.upload(
        &team.alice.token,
        ScreenshotId::new(),
        first,
        t0() - min(5),
        image(1),
    )
    .await
    .expect(201);
    let next = EntryId::new();
    let r = h.start_as(&team.alice, next, t0() - min(10), "next").await;
    r.expect(200);
    assert_eq!(r.json()["stopped"]["id"], first.to_string(), "{}", r.json());
    assert_eq!(r.json()["running"]["id"], next.to_string(), "{}", r.json());
    let row = h.raw_entry(first).await.unwrap();
    assert_eq!(row.times.end, Some(t0() - min(5)));
    let row = h.raw_entry(next).await.unwrap();
    assert_eq!((row.times.start, row.times.end), (t0() - min(5), None));
    h.upload(
        &team.alice.token,
        ScreenshotId::new(),
        next,
        t0() - min(2),
        image(2),
    )
    .await
    .expect(201);
    h.stop(&team.alice, t0() - min(3)).await;
    assert_eq!(
        h.raw_entry(next).await.unwrap().times.end,
        Some(t0() - min(2))
    );
}

/// A capture stamped a little ahead of the service's clock (the device's estimate of it is off
/// by less than the allowed skew) lands in its running entry, and the stop that follows keeps
/// it inside (R15, R25: nothing the device took in good faith is refused for good).
/// A stopped entry takes screenshots from its first to its last millisecond, both included,
/// and refuses one a millisecond outside either end (R15), storing nothing of it.
async fn r15_a_stopped_entry_takes_screenshots_from_its_start_to_its_end_inclusive(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    h.enable_capture(&team).await;
    let (start, end) = (t0() - min(30), t0() - min(10));
    let entry = h.start(&team.alice, start, "work").await;
    h.stop(&team.alice, end).await;
    let ms = TimeDelta::milliseconds(1);
    for (at, status) in [(start - ms, 422), (start, 201), (end, 201), (end + ms, 422)] {
        let r = h
            .upload(&team.alice.token, ScreenshotId::new(), entry, at, image(1))
            .await;
        assert_eq!(r.status, status, "a capture at {at}: {:?}", r.body);
        if status == 422 {
            assert_eq!(r.code(), "validation");
            assert!(
                r.json()["message"]
                    .as_str()
                    .unwrap()
                    .contains("outside its entry")
            );
        }
    }
    let day = t0().date_naive();
    let listed = h
        .get(
            &format!("/api/v1/screenshots?date={day}&tz=UTC"),
            &team.alice.token,
        )
        .await;
    let times: Vec<String> = listed.json()["screenshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["captured_at"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(times.len(), 2, "{times:?}");
}

async fn r15_a_capture_stamped_a_little_ahead_lands_in_its_running_entry(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    // Capture on from a minute after the workspace was made, up to now and beyond.
    h.clock.advance(min(1));
    h.enable_capture_from_now(&team).await;
    let now = h.app.now();
    let entry = h.start(&team.alice, now - min(10), "ahead").await;
    let ahead = now + TimeDelta::seconds(2);
    let shot = ScreenshotId::new();
    h.upload(&team.alice.token, shot, entry, ahead, image(1))
        .await
        .expect(201);
    h.stop(&team.alice, now).await;
    assert_eq!(h.raw_entry(entry).await.unwrap().times.end, Some(ahead));
}

async fn r14_locked_and_approved_entries_refuse_member_edits(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let old = h.start(&team.alice, t0() - TimeDelta::days(2), "old").await;
    h.stop(&team.alice, t0() - TimeDelta::days(2) + min(30))
        .await;
    let approved = h.start(&team.alice, t0() - min(90), "approved").await;
    h.stop(&team.alice, t0() - min(60)).await;
    // Approve: members may not; admins may.
    h.call(
        "POST",
        &format!("/api/v1/entries/{approved}/approve"),
        Some(&team.alice.token),
        None,
    )
    .await
    .expect(403);
    let r = h
        .call(
            "POST",
            &format!("/api/v1/entries/{approved}/approve"),
            Some(&team.admin.token),
            None,
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["approved"], true);
    // Lock everything before yesterday.
    h.call(
        "PATCH",
        "/api/v1/workspace",
        Some(&team.admin.token),
        Some(json!({"lock_date": rfc(t0() - TimeDelta::days(1))})),
    )
    .await
    .expect(200);
    let r = h
        .call(
            "DELETE",
            &format!("/api/v1/entries/{old}"),
            Some(&team.alice.token),
            None,
        )
        .await;
    r.expect(403);
    assert_eq!(r.code(), "entry_locked");
    let r = h
        .call(
            "DELETE",
            &format!("/api/v1/entries/{approved}"),
            Some(&team.alice.token),
            None,
        )
        .await;
    r.expect(403);
    assert_eq!(r.code(), "entry_approved");
    // Members cannot start an entry inside the locked period either.
    let r = h
        .call(
            "POST",
            "/api/v1/timer/start",
            Some(&team.alice.token),
            Some(json!({"entry_id": EntryId::new(), "start": rfc(t0() - TimeDelta::days(3))})),
        )
        .await;
    assert_eq!(r.code(), "entry_locked");
    // Admins can.
    h.call(
        "DELETE",
        &format!("/api/v1/entries/{old}"),
        Some(&team.admin.token),
        None,
    )
    .await
    .expect(200);
    h.call(
        "DELETE",
        &format!("/api/v1/entries/{approved}"),
        Some(&team.owner.token),
        None,
    )
    .await
    .expect(200);
}

async fn r15_deleting_an_entry_deletes_its_screenshots_and_files(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    h.enable_capture(&team).await;
    let entry = h.start(&team.alice, t0() - min(30), "work").await;
    let shots: Vec<ScreenshotId> = (0..3).map(|_| ScreenshotId::new()).collect();
    for (i, id) in shots.iter().enumerate() {
        h.upload(
            &team.alice.token,
            *id,
            entry,
            t0() - min(25 - 5 * i as i64),
            image(i as u64),
        )
        .await
        .expect(201);
    }
    assert_eq!(h.blob_files().await.len(), 3);
    h.call(
        "DELETE",
        &format!("/api/v1/entries/{entry}"),
        Some(&team.alice.token),
        None,
    )
    .await
    .expect(200);
    assert!(h.blob_files().await.is_empty());
    for id in shots {
        h.get(&format!("/api/v1/screenshots/{id}"), &team.alice.token)
            .await
            .expect(404);
    }
    h.call(
        "DELETE",
        &format!("/api/v1/entries/{entry}"),
        Some(&team.alice.token),
        None,
    )
    .await
    .expect(404);
}

// ---- R16: visibility --------------------------------------------------------------------------

/// A stop that names another member's entry answers like a missing one and stops nothing: not
/// the other's running entry, nor the caller's own (R16, R13).
async fn r16_a_stop_naming_anothers_entry_is_not_found_and_stops_nothing(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let alices = h.start(&team.alice, t0() - min(30), "alice's").await;
    let bobs = h.start(&team.bob, t0() - min(20), "bob's").await;
    let r = h
        .call(
            "POST",
            "/api/v1/timer/stop",
            Some(&team.bob.token),
            Some(json!({"entry_id": alices, "end": rfc(t0())})),
        )
        .await;
    r.expect(404);
    assert_eq!(r.code(), "not_found");
    let running = |token: String| {
        let h = &h;
        async move { h.get("/api/v1/timer", &token).await.json()["running"]["id"].clone() }
    };
    assert_eq!(running(team.alice.token.clone()).await, alices.to_string());
    assert_eq!(running(team.bob.token.clone()).await, bobs.to_string());
}

async fn r16_forbidden_answers_exactly_like_missing(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let other = h.team("globex").await;
    h.enable_capture(&team).await;
    let entry = h.start(&team.alice, t0() - min(30), "secret").await;
    let id = ScreenshotId::new();
    h.upload(&team.alice.token, id, entry, t0() - min(20), image(7))
        .await
        .expect(201);

    let missing = ScreenshotId::new();
    let reference = h
        .get(&format!("/api/v1/screenshots/{missing}"), &team.bob.token)
        .await;
    reference.expect(404);
    for (who, path) in [
        (&team.bob.token, format!("/api/v1/screenshots/{id}")),
        (&team.bob.token, format!("/api/v1/screenshots/{id}/image")),
        (&other.admin.token, format!("/api/v1/screenshots/{id}")),
        (
            &other.owner.token,
            format!("/api/v1/screenshots/{id}/image"),
        ),
    ] {
        let r = h.get(&path, who).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.body, reference.body, "byte-identical to a missing id");
    }
    let r = h.delete_screenshot(&team.bob.token, id).await;
    assert_eq!((r.status, r.body.clone()), (404, reference.body.clone()));
    let r = h.delete_screenshot(&other.admin.token, id).await;
    assert_eq!((r.status, r.body.clone()), (404, reference.body.clone()));
    let r = h
        .call(
            "DELETE",
            &format!("/api/v1/entries/{entry}"),
            Some(&team.bob.token),
            None,
        )
        .await;
    assert_eq!((r.status, r.body.clone()), (404, reference.body.clone()));
    // Lists: a member may not ask for someone else's day; an admin of another workspace neither.
    let day = format!(
        "/api/v1/screenshots?user_id={}&date=2025-06-02&tz=UTC",
        team.alice.id
    );
    assert_eq!(h.get(&day, &team.bob.token).await.body, reference.body);
    assert_eq!(h.get(&day, &other.admin.token).await.body, reference.body);
    // The owner, the admin and alice herself see it.
    for who in [&team.owner, &team.admin, &team.alice] {
        let r = h.get(&day, &who.token).await;
        r.expect(200);
        assert_eq!(r.json()["screenshots"].as_array().unwrap().len(), 1);
        assert_eq!(r.json()["screenshots"][0]["entry_description"], "secret");
        h.get(&format!("/api/v1/screenshots/{id}/image"), &who.token)
            .await
            .expect(200);
    }
    // Counts: admins see all active members, members only themselves.
    let c = h
        .get(
            "/api/v1/screenshots/counts?date=2025-06-02&tz=UTC",
            &team.admin.token,
        )
        .await;
    let members = c.json()["members"].as_array().unwrap().clone();
    assert_eq!(members.len(), 4);
    let alice = members
        .iter()
        .find(|m| m["user_id"] == team.alice.id.to_string())
        .unwrap();
    assert_eq!(alice["count"], 1);
    let c = h
        .get(
            "/api/v1/screenshots/counts?date=2025-06-02&tz=UTC",
            &team.bob.token,
        )
        .await;
    let members = c.json()["members"].as_array().unwrap().clone();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["count"], 0);
}

async fn day_list_uses_the_viewers_time_zone(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    h.enable_capture(&team).await;
    // 2025-06-01 23:30 UTC is already 2025-06-02 in Berlin (UTC+2) but still 06-01 in UTC.
    let start = t0() - TimeDelta::hours(13);
    let entry = h.start(&team.alice, start, "late night").await;
    h.upload(
        &team.alice.token,
        ScreenshotId::new(),
        entry,
        start + min(30),
        image(1),
    )
    .await
    .expect(201);
    let count = |date: &'static str, tz: &'static str| {
        let h = &h;
        let token = team.alice.token.clone();
        async move {
            let r = h
                .get(&format!("/api/v1/screenshots?date={date}&tz={tz}"), &token)
                .await;
            r.expect(200);
            r.json()["screenshots"].as_array().unwrap().len()
        }
    };
    assert_eq!(count("2025-06-01", "UTC").await, 1);
    assert_eq!(count("2025-06-02", "UTC").await, 0);
    assert_eq!(count("2025-06-02", "Europe/Berlin").await, 1);
    assert_eq!(count("2025-06-01", "Europe/Berlin").await, 0);
    let r = h
        .get(
            "/api/v1/screenshots?date=2025-06-02&tz=Mars/Olympus",
            &team.alice.token,
        )
        .await;
    r.expect(422);
    assert!(r.json()["message"].as_str().unwrap().contains("time zone"));
}

// ---- R18: retention --------------------------------------------------------------------------

async fn r18_expired_screenshots_are_never_served_and_are_purged(db: Db) {
    let h = Harness::on(db);
    let (team, entry, shots) = h.alices_stopped_entry("acme", &[20]).await;
    let id = shots[0];

    h.clock.advance(TimeDelta::days(7) - min(21));
    h.get(
        &format!("/api/v1/screenshots/{id}/image"),
        &team.alice.token,
    )
    .await
    .expect(200);
    h.clock.advance(min(2));
    // Expired but not yet purged: invisible everywhere.
    assert_eq!(h.blob_files().await.len(), 1);
    h.get(&format!("/api/v1/screenshots/{id}"), &team.alice.token)
        .await
        .expect(404);
    h.get(
        &format!("/api/v1/screenshots/{id}/image"),
        &team.admin.token,
    )
    .await
    .expect(404);
    let r = h
        .get(
            "/api/v1/screenshots?date=2025-06-02&tz=UTC",
            &team.alice.token,
        )
        .await;
    assert!(r.json()["screenshots"].as_array().unwrap().is_empty());
    let r = h
        .get(
            "/api/v1/screenshots/counts?date=2025-06-02&tz=UTC",
            &team.admin.token,
        )
        .await;
    assert!(
        r.json()["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["count"] == 0)
    );
    // Uploading something already expired is 410.
    let r = h
        .upload(
            &team.alice.token,
            ScreenshotId::new(),
            entry,
            t0() - min(25),
            image(2),
        )
        .await;
    r.expect(410);
    assert_eq!(r.code(), "gone");

    let report = shotclock_server::maintenance::run(&h.app, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(report.purged, 1);
    assert!(h.blob_files().await.is_empty());
    assert!(h.raw_screenshot(id).await.is_none());
}

/// A screenshot is listed, counted and served up to the last millisecond of its 7 days, and
/// from the millisecond they end nowhere (R18): the day's list, the admins' counts and the
/// screenshot itself agree on the same instant.
async fn r18_a_screenshot_leaves_every_view_the_millisecond_it_expires(db: Db) {
    let h = Harness::on(db);
    let (team, _, shots) = h.alices_stopped_entry("acme", &[20]).await;
    let id = shots[0];
    let captured = t0() - min(20);
    let day = captured.date_naive();
    let alice = team.alice.token.clone();
    let admin = team.admin.token.clone();
    let view = |at| {
        h.clock.set(at);
        let (h, alice, admin) = (&h, alice.clone(), admin.clone());
        async move {
            let listed = h
                .get(&format!("/api/v1/screenshots?date={day}&tz=UTC"), &alice)
                .await;
            listed.expect(200);
            let counts = h
                .get(
                    &format!("/api/v1/screenshots/counts?date={day}&tz=UTC"),
                    &admin,
                )
                .await;
            counts.expect(200);
            let shown = h.get(&format!("/api/v1/screenshots/{id}"), &alice).await;
            (
                listed.json()["screenshots"].as_array().unwrap().len(),
                counts.json()["members"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["count"].as_u64().unwrap())
                    .sum::<u64>(),
                shown.status,
            )
        }
    };
    let last = captured + TimeDelta::days(7) - TimeDelta::milliseconds(1);
    assert_eq!(
        view(last).await,
        (1, 1, 200),
        "the last millisecond of its 7 days"
    );
    let gone = captured + TimeDelta::days(7);
    assert_eq!(
        view(gone).await,
        (0, 0, 404),
        "the first millisecond after them"
    );
}

async fn purge_works_in_batches(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    h.enable_capture(&team).await;
    let entry = h
        .start(&team.alice, t0() - TimeDelta::hours(3), "long")
        .await;
    let n = shotclock_server::maintenance::PURGE_BATCH as i64 + 7;
    for i in 0..n {
        h.upload(
            &team.alice.token,
            ScreenshotId::new(),
            entry,
            t0() - TimeDelta::hours(3) + TimeDelta::seconds(i),
            image(i as u64),
        )
        .await
        .expect(201);
    }
    h.clock.advance(TimeDelta::days(8));
    let purged = shotclock_server::maintenance::purge(&h.app).await.unwrap();
    assert_eq!(purged as i64, n);
    assert!(h.blob_files().await.is_empty());
}

// ---- R20–R22: deleting screenshots ------------------------------------------------------------

async fn r20_r21_member_deletes_remove_time_once_and_the_last_deletes_the_entry(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    h.enable_capture(&team).await;
    let start = t0() - min(60);
    let entry = h.start(&team.alice, start, "report").await;
    // Screenshots at +10, +20, +30 minutes.
    let ids: Vec<ScreenshotId> = (0..3).map(|_| ScreenshotId::new()).collect();
    for (i, id) in ids.iter().enumerate() {
        h.upload(
            &team.alice.token,
            *id,
            entry,
            start + min(10 * (i as i64 + 1)),
            image(i as u64),
        )
        .await
        .expect(201);
    }
    // R20: running entry.
    let r = h.delete_screenshot(&team.alice.token, ids[1]).await;
    r.expect(409);
    assert_eq!(r.code(), "stop_timer_first");
    let r = h.delete_screenshot(&team.admin.token, ids[1]).await;
    assert_eq!(r.code(), "stop_timer_first");
    h.stop(&team.alice, start + min(40)).await;

    // Dry run = the real thing, minus the effect.
    let path = format!("/api/v1/screenshots/{}", ids[1]);
    let preview = h
        .call(
            "DELETE",
            &format!("{path}?dry_run=true"),
            Some(&team.alice.token),
            None,
        )
        .await;
    preview.expect(200);
    let p = preview.json();
    assert_eq!(p["decision"], "delete_screenshot");
    assert_eq!(p["removed_secs"], 600);
    assert_eq!(p["entry_description"], "report");
    assert_eq!(p["dry_run"], true);
    assert_eq!(h.blob_files().await.len(), 3);
    assert_eq!(
        h.entry_json(&team.alice.token, entry).await.unwrap()["duration_secs"],
        2400
    );

    let done = h.call("DELETE", &path, Some(&team.alice.token), None).await;
    done.expect(200);
    let mut d = done.json();
    d["dry_run"] = json!(true);
    assert_eq!(d, p, "the preview said exactly what the delete did");
    let e = h.entry_json(&team.alice.token, entry).await.unwrap();
    assert_eq!(e["duration_secs"], 1800);
    assert_eq!(e["deducted_secs"], 600);
    assert_eq!(h.blob_files().await.len(), 2);

    // Deleting the +30 screenshot removes (+10, +30] minus nothing already removed... the span
    // from the previous remaining screenshot (+10) to +30; [+10, +20) is already gone.
    let r = h.delete_screenshot(&team.alice.token, ids[2]).await;
    r.expect(200);
    assert_eq!(r.json()["removed_secs"], 600, "time is never removed twice");
    let e = h.entry_json(&team.alice.token, entry).await.unwrap();
    assert_eq!(e["deducted_secs"], 1200);
    assert_eq!(e["removed"].as_array().unwrap().len(), 1);

    // The last remaining screenshot takes the entry with it.
    let r = h
        .call(
            "DELETE",
            &format!("/api/v1/screenshots/{}?dry_run=true", ids[0]),
            Some(&team.alice.token),
            None,
        )
        .await;
    assert_eq!(r.json()["decision"], "delete_entry");
    assert!(h.entry_json(&team.alice.token, entry).await.is_some());
    let r = h.delete_screenshot(&team.alice.token, ids[0]).await;
    r.expect(200);
    assert_eq!(r.json()["decision"], "delete_entry");
    assert!(h.entry_json(&team.alice.token, entry).await.is_none());
    assert!(h.blob_files().await.is_empty());
}

async fn r21_r22_approved_entries_refuse_members_and_admin_deletes_remove_no_time(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    h.enable_capture(&team).await;
    let start = t0() - min(60);
    let entry = h.start(&team.alice, start, "approved work").await;
    let a = ScreenshotId::new();
    let b = ScreenshotId::new();
    h.upload(&team.alice.token, a, entry, start + min(10), image(1))
        .await
        .expect(201);
    h.upload(&team.alice.token, b, entry, start + min(20), image(2))
        .await
        .expect(201);
    h.stop(&team.alice, start + min(30)).await;
    h.call(
        "POST",
        &format!("/api/v1/entries/{entry}/approve"),
        Some(&team.admin.token),
        None,
    )
    .await
    .expect(200);
    let r = h.delete_screenshot(&team.alice.token, b).await;
    r.expect(403);
    assert_eq!(r.code(), "entry_approved");
    let before = h.entry_json(&team.alice.token, entry).await.unwrap();
    // Admin deletes: no time removed, even the last screenshot keeps the entry.
    for id in [b, a] {
        let r = h.delete_screenshot(&team.admin.token, id).await;
        r.expect(200);
        assert_eq!(r.json()["removed_secs"], 0);
        assert_eq!(r.json()["decision"], "delete_screenshot");
    }
    let after = h.entry_json(&team.alice.token, entry).await.unwrap();
    assert_eq!(before, after, "an approved entry never changes");
    assert!(h.blob_files().await.is_empty());
}

async fn r21_locked_entries_refuse_member_deletes(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    h.enable_capture(&team).await;
    let start = t0() - TimeDelta::days(2);
    let entry = h.start(&team.alice, start, "old").await;
    let id = ScreenshotId::new();
    h.upload(&team.alice.token, id, entry, start + min(5), image(1))
        .await
        .expect(201);
    h.stop(&team.alice, start + min(10)).await;
    h.call(
        "PATCH",
        "/api/v1/workspace",
        Some(&team.admin.token),
        Some(json!({"lock_date": rfc(t0())})),
    )
    .await
    .expect(200);
    let r = h.delete_screenshot(&team.alice.token, id).await;
    assert_eq!(r.code(), "entry_locked");
    // The words say what to do, not only the code.
    let message = r.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("locked; ask an admin"), "{message}");
    h.delete_screenshot(&team.owner.token, id).await.expect(200);
}

/// A screenshot deleted on its device before it was sent: the service applies the same policy
/// to the facts the device sends (entry, capture instant), once, and never takes the id later.
async fn r21_r29_an_unsent_screenshots_delete_removes_its_time_once(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    h.enable_capture(&team).await;
    let start = t0() - min(60);
    let entry = h.start(&team.alice, start, "offline").await;
    let held = ScreenshotId::new();
    h.upload(&team.alice.token, held, entry, start + min(10), image(1))
        .await
        .expect(201);
    let unsent = ScreenshotId::new();
    let path = format!(
        "/api/v1/screenshots/{unsent}?entry_id={entry}&captured_at={}",
        rfc(start + min(25))
    );
    let r = h.call("DELETE", &path, Some(&team.alice.token), None).await;
    r.expect(409);
    assert_eq!(r.code(), "stop_timer_first");
    h.stop(&team.alice, start + min(40)).await;

    // Another member cannot delete in someone else's entry: not found, like anything unseen.
    h.call("DELETE", &path, Some(&team.bob.token), None)
        .await
        .expect(404);
    let preview = h
        .call(
            "DELETE",
            &format!("{path}&dry_run=true"),
            Some(&team.alice.token),
            None,
        )
        .await;
    preview.expect(200);
    let p = preview.json();
    assert_eq!(p["decision"], "delete_screenshot");
    assert_eq!(p["removed_secs"], 900, "from the screenshot before it");
    assert_eq!(
        h.entry_json(&team.alice.token, entry).await.unwrap()["deducted_secs"],
        0
    );
    let done = h.call("DELETE", &path, Some(&team.alice.token), None).await;
    done.expect(200);
    assert_eq!(done.json()["removed_secs"], 900);
    // A retry (the answer was lost) applies nothing twice.
    h.call("DELETE", &path, Some(&team.alice.token), None)
        .await
        .expect(404);
    let e = h.entry_json(&team.alice.token, entry).await.unwrap();
    assert_eq!(e["deducted_secs"], 900);
    assert_eq!(e["duration_secs"], 2400 - 900);
    // The id is remembered: it can never be uploaded afterwards (R29).
    let late = h
        .upload(&team.alice.token, unsent, entry, start + min(25), image(2))
        .await;
    late.expect(410);
    assert_eq!(late.code(), "deleted");
    // An unsent screenshot that is its entry's last takes the entry with it (R21), and its own
    // id is remembered too, not only its entry's (R29).
    let lone_start = start + min(50);
    let lone = h.start(&team.alice, lone_start, "nothing sent").await;
    h.stop(&team.alice, lone_start + min(5)).await;
    let last = ScreenshotId::new();
    let at = lone_start + min(2);
    let gone = h
        .call(
            "DELETE",
            &format!(
                "/api/v1/screenshots/{last}?entry_id={lone}&captured_at={}",
                rfc(at)
            ),
            Some(&team.alice.token),
            None,
        )
        .await;
    gone.expect(200);
    assert_eq!(gone.json()["decision"], "delete_entry");
    assert!(h.entry_json(&team.alice.token, lone).await.is_none());
    let late = h.upload(&team.alice.token, last, lone, at, image(3)).await;
    late.expect(410);
    let message = late.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("screenshot was deleted"), "{message}");
    // Half the facts is not an unsent screenshot.
    h.call(
        "DELETE",
        &format!(
            "/api/v1/screenshots/{}?entry_id={entry}",
            ScreenshotId::new()
        ),
        Some(&team.alice.token),
        None,
    )
    .await
    .expect(422);
}

common::all_backends!(
    r4_only_admins_change_settings,
    r5_capture_needs_enterprise_or_a_one_time_trial,
    r6_enabling_notifies_every_member_persistently,
    r13_one_running_entry_and_start_stops_the_previous,
    r13_an_older_start_sent_late_leaves_the_later_entry_running,
    r39_a_timer_start_never_overlaps_the_persons_stopped_entries,
    r15_a_late_start_or_stop_keeps_the_running_entrys_screenshots_inside,
    r15_a_capture_stamped_a_little_ahead_lands_in_its_running_entry,
    r15_a_stopped_entry_takes_screenshots_from_its_start_to_its_end_inclusive,
    r14_locked_and_approved_entries_refuse_member_edits,
    r15_deleting_an_entry_deletes_its_screenshots_and_files,
    r16_forbidden_answers_exactly_like_missing,
    r16_a_stop_naming_anothers_entry_is_not_found_and_stops_nothing,
    day_list_uses_the_viewers_time_zone,
    r18_expired_screenshots_are_never_served_and_are_purged,
    r18_a_screenshot_leaves_every_view_the_millisecond_it_expires,
    purge_works_in_batches,
    r20_r21_member_deletes_remove_time_once_and_the_last_deletes_the_entry,
    r21_r22_approved_entries_refuse_members_and_admin_deletes_remove_no_time,
    r21_locked_entries_refuse_member_deletes,
    r21_r29_an_unsent_screenshots_delete_removes_its_time_once,
);
