//! R39 through the service: editing with a dry run, manual entries, approving a member's week,
//! on every storage backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{DateTime, TimeDelta, Utc};
use common::{Db, Harness, image, rfc, t0};
use serde_json::{Value, json};
use shotclock_api::{EntryId, ScreenshotId};

fn min(m: i64) -> TimeDelta {
    TimeDelta::minutes(m)
}

/// An instant in an answer.
fn at(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

/// Shortening an entry so that one screenshot falls outside: refused until confirmed, the dry
/// run names that screenshot and the time, and the confirmed edit does exactly what the dry run
/// said — the screenshot and its file gone for good, removed time clipped to the new bounds.
async fn r39_an_edits_dry_run_equals_the_real_change(db: Db) {
    let h = Harness::on(db);
    // Alice's entry [t0-30, t0) with screenshots 25, 15 and 5 minutes before t0.
    let (team, entry, shots) = h.alices_stopped_entry("acme", &[25, 15, 5]).await;
    // Her delete of the middle one removes [t0-25, t0-15).
    h.delete_screenshot(&team.alice.token, shots[1])
        .await
        .expect(200);
    let path = format!("/api/v1/entries/{entry}");
    let shorter = json!({"end": rfc(t0() - min(10)), "description": "shorter"});
    let before = h.raw_entry(entry).await.unwrap();

    let r = h
        .call(
            "PATCH",
            &path,
            Some(&team.alice.token),
            Some(shorter.clone()),
        )
        .await;
    r.expect(409);
    assert_eq!(r.code(), "confirmation_required");
    assert_eq!(
        h.raw_entry(entry).await.unwrap(),
        before,
        "refused: unchanged"
    );

    let dry = h
        .call(
            "PATCH",
            &format!("{path}?dry_run=true"),
            Some(&team.alice.token),
            Some(shorter.clone()),
        )
        .await;
    dry.expect(200);
    let dry = dry.json();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["excluded_screenshots"], json!([shots[2]]));
    assert_eq!(dry["removed_secs"], 600);
    assert_eq!(dry["entry"]["duration_secs"], 600);
    assert_eq!(dry["entry"]["description"], "shorter");
    assert_eq!(
        h.raw_entry(entry).await.unwrap(),
        before,
        "dry run: unchanged"
    );
    assert!(h.raw_screenshot(shots[2]).await.is_some());
    assert_eq!(h.blob_files().await.len(), 2);

    let mut confirmed = shorter.clone();
    confirmed["confirm"] = json!(true);
    let real = h
        .call("PATCH", &path, Some(&team.alice.token), Some(confirmed))
        .await;
    real.expect(200);
    let mut real = real.json();
    assert_eq!(real["dry_run"], false);
    real["dry_run"] = json!(true);
    assert_eq!(real, dry, "the dry run is the real change");
    assert!(h.raw_screenshot(shots[2]).await.is_none());
    assert_eq!(h.blob_files().await.len(), 1);
    let listed = h.entry_json(&team.alice.token, entry).await.unwrap();
    assert_eq!(listed, dry["entry"]);
    assert_eq!(at(&listed["end"]), t0() - min(10));
    // The excluded screenshot's id stays deleted (R29).
    let again = h
        .upload(&team.alice.token, shots[2], entry, t0() - min(12), image(3))
        .await;
    again.expect(410);
    assert_eq!(again.code(), "deleted");
    // A later delete removes only time not yet removed and inside the new bounds.
    let d = h.delete_screenshot(&team.alice.token, shots[0]).await;
    d.expect(200);
    assert_eq!(d.json()["decision"], "delete_entry", "it was the last one");
}

/// Members edit only their own entries; an admin approves alice's week in one call, after
/// which her edits and deletes are refused; withdrawing the approval gives them back.
async fn r39_approve_a_week_then_a_members_delete_is_refused(db: Db) {
    let h = Harness::on(db);
    let (team, entry, shots) = h.alices_stopped_entry("acme", &[20]).await;
    // Another entry of hers earlier in the same week (t0 is a Monday noon).
    let early = h.start(&team.alice, t0() - min(180), "early").await;
    h.stop(&team.alice, t0() - min(150)).await;
    // And one the week before, which the week's approval leaves alone.
    let last_week = h
        .start(&team.alice, t0() - TimeDelta::days(3), "last week")
        .await;
    h.stop(&team.alice, t0() - TimeDelta::days(3) + min(30))
        .await;
    let path = format!("/api/v1/entries/{entry}");
    let rename = json!({"description": "renamed"});
    h.call("PATCH", &path, Some(&team.bob.token), Some(rename.clone()))
        .await
        .expect(404);

    let week = |approved: bool| {
        json!({
            "user_id": team.alice.id,
            "date": "2025-06-04",
            "time_zone": "UTC",
            "period": "week",
            "approved": approved,
        })
    };
    h.call(
        "POST",
        "/api/v1/approvals",
        Some(&team.alice.token),
        Some(week(true)),
    )
    .await
    .expect(403);
    let r = h
        .call(
            "POST",
            "/api/v1/approvals",
            Some(&team.admin.token),
            Some(week(true)),
        )
        .await;
    r.expect(200);
    let body = r.json();
    assert_eq!(at(&body["from"]), t0() - min(12 * 60));
    assert_eq!(at(&body["to"]), t0() + TimeDelta::days(7) - min(12 * 60));
    let ids: Vec<&Value> = body["entries"].as_array().unwrap().iter().collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.iter().all(|e| e["approved"] == true));
    assert!(h.raw_entry(early).await.unwrap().approved);
    assert!(!h.raw_entry(last_week).await.unwrap().approved);
    // Her screenshots say their entry is approved, and locked once the lock date passes it.
    let day = format!(
        "/api/v1/screenshots?user_id={}&date=2025-06-02&tz=UTC",
        team.alice.id
    );
    let states = |v: &Value| (v["entry_approved"].clone(), v["entry_locked"].clone());
    let listed = h.get(&day, &team.alice.token).await.json();
    assert_eq!(
        states(&listed["screenshots"][0]),
        (json!(true), json!(false))
    );
    h.call(
        "PATCH",
        "/api/v1/workspace",
        Some(&team.admin.token),
        Some(json!({"lock_date": rfc(t0() - min(20))})),
    )
    .await
    .expect(200);
    let one = h
        .get(
            &format!("/api/v1/screenshots/{}", shots[0]),
            &team.alice.token,
        )
        .await
        .json();
    assert_eq!(states(&one), (json!(true), json!(true)));
    h.call(
        "PATCH",
        "/api/v1/workspace",
        Some(&team.admin.token),
        Some(json!({"lock_date": null})),
    )
    .await
    .expect(200);

    let r = h.call("DELETE", &path, Some(&team.alice.token), None).await;
    r.expect(403);
    assert_eq!(r.code(), "entry_approved");
    let r = h
        .call(
            "PATCH",
            &path,
            Some(&team.alice.token),
            Some(rename.clone()),
        )
        .await;
    r.expect(403);
    assert_eq!(r.code(), "entry_approved");
    // Admins change anyone's, approved or not.
    let r = h
        .call(
            "PATCH",
            &path,
            Some(&team.admin.token),
            Some(rename.clone()),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["entry"]["description"], "renamed");
    assert_eq!(r.json()["entry"]["approved"], true);

    h.call(
        "POST",
        "/api/v1/approvals",
        Some(&team.admin.token),
        Some(week(false)),
    )
    .await
    .expect(200);
    h.call("DELETE", &path, Some(&team.alice.token), None)
        .await
        .expect(200);
}

/// Approving a week leaves a running entry of it unapproved (its time is not final yet); the
/// stopped ones are approved.
async fn r39_approving_a_week_leaves_its_running_entry_unapproved(db: Db) {
    let h = Harness::on(db);
    let (team, stopped, _) = h.alices_stopped_entry("acme", &[20]).await;
    let running = h.start(&team.alice, t0(), "still going").await;
    let r = h
        .call(
            "POST",
            "/api/v1/approvals",
            Some(&team.admin.token),
            Some(json!({
                "user_id": team.alice.id,
                "date": "2025-06-04",
                "time_zone": "UTC",
                "period": "week",
                "approved": true,
            })),
        )
        .await;
    r.expect(200);
    let approved = |id: EntryId| {
        r.json()["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id.to_string())
            .map(|e| e["approved"].clone())
    };
    assert_eq!(approved(stopped), Some(json!(true)));
    assert_eq!(approved(running), Some(json!(false)));
    assert!(h.raw_entry(stopped).await.unwrap().approved);
    assert!(!h.raw_entry(running).await.unwrap().approved);
}

/// Manual entries: labelled manual, no screenshots, idempotent by id, never overlapping the
/// person's other entries, and a deleted id stays deleted.
async fn r39_manual_entries(db: Db) {
    let h = Harness::on(db);
    let (team, _, _) = h.alices_stopped_entry("acme", &[20]).await;
    let id = EntryId::new();
    let body = json!({
        "id": id,
        "description": "meeting",
        "start": rfc(t0() - min(120)),
        "end": rfc(t0() - min(60)),
    });
    let r = h
        .call(
            "POST",
            "/api/v1/entries",
            Some(&team.alice.token),
            Some(body.clone()),
        )
        .await;
    r.expect(201);
    let made = r.json();
    assert_eq!(made["manual"], true);
    assert_eq!(made["duration_secs"], 3600);
    let again = h
        .call(
            "POST",
            "/api/v1/entries",
            Some(&team.alice.token),
            Some(body.clone()),
        )
        .await;
    again.expect(200);
    assert_eq!(again.json(), made);
    assert_eq!(h.entry_json(&team.alice.token, id).await.unwrap(), made);
    // No screenshot can join a manual entry.
    h.upload(
        &team.alice.token,
        ScreenshotId::new(),
        id,
        t0() - min(90),
        image(7),
    )
    .await
    .expect(422);
    // Overlapping her timed entry [t0-30, t0), or the manual one.
    for (start, end) in [(40, 20), (70, 50), (130, 110)] {
        let r = h
            .call(
                "POST",
                "/api/v1/entries",
                Some(&team.alice.token),
                Some(json!({
                    "id": EntryId::new(),
                    "start": rfc(t0() - min(start)),
                    "end": rfc(t0() - min(end)),
                })),
            )
            .await;
        r.expect(409);
        assert_eq!(r.code(), "entry_overlap");
    }
    // Touching is fine; the future and an empty span are not.
    h.call(
        "POST",
        "/api/v1/entries",
        Some(&team.alice.token),
        Some(
            json!({"id": EntryId::new(), "start": rfc(t0() - min(60)), "end": rfc(t0() - min(30))}),
        ),
    )
    .await
    .expect(201);
    for (start, end) in [(-1, -2), (300, 300)] {
        h.call(
            "POST",
            "/api/v1/entries",
            Some(&team.alice.token),
            Some(json!({"id": EntryId::new(), "start": rfc(t0() - min(start)), "end": rfc(t0() - min(end))})),
        )
        .await
        .expect(422);
    }
    // A member adds only for herself; an admin for her.
    let for_alice = |id: EntryId| json!({"id": id, "user_id": team.alice.id, "start": rfc(t0() - min(400)), "end": rfc(t0() - min(350))});
    h.call(
        "POST",
        "/api/v1/entries",
        Some(&team.bob.token),
        Some(for_alice(EntryId::new())),
    )
    .await
    .expect(404);
    h.call(
        "POST",
        "/api/v1/entries",
        Some(&team.admin.token),
        Some(for_alice(EntryId::new())),
    )
    .await
    .expect(201);
    // Deleted, the id never comes back.
    h.call(
        "DELETE",
        &format!("/api/v1/entries/{id}"),
        Some(&team.alice.token),
        None,
    )
    .await
    .expect(200);
    let r = h
        .call(
            "POST",
            "/api/v1/entries",
            Some(&team.alice.token),
            Some(body),
        )
        .await;
    r.expect(410);
    assert_eq!(r.code(), "deleted");
}

/// A running entry's start can be corrected, never into another entry; it has no end.
/// A manual entry's id answers again only for the same entry: the same person, manual, the
/// same start and end. Anything else naming it is a conflict and changes nothing, and a
/// timer's entry or another person's is never handed out as a retry's answer (R39, R16).
async fn r39_a_manual_entrys_id_is_answered_again_only_for_the_same_entry(db: Db) {
    let h = Harness::on(db);
    let (team, timed, _) = h.alices_stopped_entry("acme", &[20]).await;
    let manual = EntryId::new();
    let add = |token: String, id: EntryId, start: i64, end: i64| {
        let h = &h;
        async move {
            h.call(
                "POST",
                "/api/v1/entries",
                Some(&token),
                Some(json!({
                    "id": id,
                    "description": "meeting",
                    "start": rfc(t0() - min(start)),
                    "end": rfc(t0() - min(end)),
                })),
            )
            .await
        }
    };
    let alice = team.alice.token.clone();
    add(alice.clone(), manual, 120, 60).await.expect(201);
    let made = h.entry_json(&alice, manual).await.unwrap();
    let timer = h.entry_json(&alice, timed).await.unwrap();
    for (who, id, start, end, what) in [
        (&alice, manual, 121, 60, "another start"),
        (&alice, manual, 120, 61, "another end"),
        (&alice, timed, 30, 0, "a timer's entry with its own times"),
        (&team.bob.token, manual, 120, 60, "another person's entry"),
    ] {
        let r = add(who.clone(), id, start, end).await;
        assert_eq!(r.status, 409, "{what}: {:?}", r.body);
        assert_eq!(r.code(), "conflict", "{what}");
    }
    assert_eq!(h.entry_json(&alice, manual).await.unwrap(), made);
    assert_eq!(h.entry_json(&alice, timed).await.unwrap(), timer);
    assert!(h.entry_json(&team.bob.token, manual).await.is_none());
}

async fn r39_a_running_entrys_start_is_correctable_and_it_has_no_end(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    h.start(&team.alice, t0() - min(120), "before").await;
    h.stop(&team.alice, t0() - min(90)).await;
    let running = h.start(&team.alice, t0() - min(30), "now").await;
    let path = format!("/api/v1/entries/{running}");
    let r = h
        .call(
            "PATCH",
            &path,
            Some(&team.alice.token),
            Some(json!({"end": rfc(t0())})),
        )
        .await;
    r.expect(422);
    let r = h
        .call(
            "PATCH",
            &path,
            Some(&team.alice.token),
            Some(json!({"start": rfc(t0() - min(100))})),
        )
        .await;
    r.expect(409);
    assert_eq!(r.code(), "entry_overlap");
    let r = h
        .call(
            "PATCH",
            &path,
            Some(&team.alice.token),
            Some(json!({"start": rfc(t0() - min(90))})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["entry"]["end"], Value::Null);
    let timer = h.get("/api/v1/timer", &team.alice.token).await;
    assert_eq!(at(&timer.json()["running"]["start"]), t0() - min(90));
}

/// Times the service stored are not judged again by an edit that leaves them alone: a timer
/// stopped in the millisecond it started (its end at its start), and one started by a device
/// clock a little ahead of the service's (its start after the service's now), are renamed like
/// any entry; moving their times is checked as always.
async fn r39_an_entry_stored_with_times_no_edit_could_set_is_still_renamed(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let alice = team.alice.token.clone();
    let empty = h.start(&team.alice, t0() - min(20), "blink").await;
    h.stop(&team.alice, t0() - min(20)).await;
    let stored = h.entry_json(&alice, empty).await.unwrap();
    assert_eq!(stored["start"], stored["end"], "{stored}");
    let ahead = h.start(&team.alice, t0() + min(2), "ahead").await;

    for (id, name) in [(empty, "blink, renamed"), (ahead, "ahead, renamed")] {
        let path = format!("/api/v1/entries/{id}");
        let before = h.entry_json(&alice, id).await.unwrap();
        let r = h
            .call(
                "PATCH",
                &path,
                Some(&alice),
                Some(json!({"description": name})),
            )
            .await;
        r.expect(200);
        let after = h.entry_json(&alice, id).await.unwrap();
        assert_eq!(after["description"], name);
        assert_eq!(
            (&after["start"], &after["end"]),
            (&before["start"], &before["end"])
        );
    }
    // Moving them is judged: an end still at the start, a start still ahead.
    let moved = [
        (
            empty,
            json!({"start": rfc(t0() - min(21)), "end": rfc(t0() - min(21))}),
        ),
        (ahead, json!({"start": rfc(t0() + min(1))})),
    ];
    for (id, change) in moved {
        let path = format!("/api/v1/entries/{id}");
        let r = h.call("PATCH", &path, Some(&alice), Some(change)).await;
        r.expect(422);
        assert_eq!(r.code(), "validation");
    }
}

/// `DELETE /entries/{id}?dry_run=true` answers what the delete would do — the entry, its
/// tracked time and how many screenshots go with it — changing nothing, refused exactly as the
/// delete; the real delete answers the same report and does it.
async fn r39_an_entry_deletes_dry_run_equals_the_real_delete(db: Db) {
    let h = Harness::on(db);
    let (team, entry, shots) = h.alices_stopped_entry("acme", &[25, 15, 5]).await;
    // Her delete of the middle one removes [t0-25, t0-15): 20 minutes stay tracked.
    h.delete_screenshot(&team.alice.token, shots[1])
        .await
        .expect(200);
    let path = format!("/api/v1/entries/{entry}");
    let dry_path = format!("{path}?dry_run=true");
    let before = h.raw_entry(entry).await.unwrap();

    let dry = h
        .call("DELETE", &dry_path, Some(&team.alice.token), None)
        .await;
    dry.expect(200);
    let dry = dry.json();
    assert_eq!(
        dry,
        json!({
            "entry_id": entry,
            "description": "work",
            "screenshots": 2,
            "duration_secs": 1200,
            "dry_run": true,
        })
    );
    assert_eq!(
        h.raw_entry(entry).await.unwrap(),
        before,
        "dry run: unchanged"
    );
    assert!(h.raw_screenshot(shots[0]).await.is_some());
    assert!(h.raw_screenshot(shots[2]).await.is_some());
    assert_eq!(h.blob_files().await.len(), 2);

    // Refused as the delete is: another member's entry is missing to bob, an approved one
    // is the admin's to delete.
    let r = h
        .call("DELETE", &dry_path, Some(&team.bob.token), None)
        .await;
    r.expect(404);
    assert_eq!(r.code(), "not_found");
    h.call(
        "POST",
        &format!("{path}/approve"),
        Some(&team.admin.token),
        None,
    )
    .await
    .expect(200);
    let r = h
        .call("DELETE", &dry_path, Some(&team.alice.token), None)
        .await;
    r.expect(403);
    assert_eq!(r.code(), "entry_approved");
    let r = h
        .call("DELETE", &dry_path, Some(&team.admin.token), None)
        .await;
    r.expect(200);
    assert_eq!(r.json(), dry, "an admin's dry run says the same");
    h.call(
        "POST",
        &format!("{path}/approve"),
        Some(&team.admin.token),
        Some(json!({"approved": false})),
    )
    .await
    .expect(200);

    let real = h.call("DELETE", &path, Some(&team.alice.token), None).await;
    real.expect(200);
    let mut real = real.json();
    assert_eq!(real["dry_run"], false);
    real["dry_run"] = json!(true);
    assert_eq!(real, dry, "the dry run is the real delete");
    assert!(h.raw_entry(entry).await.is_none());
    assert!(h.raw_screenshot(shots[0]).await.is_none());
    assert!(h.blob_files().await.is_empty());
    h.call("DELETE", &dry_path, Some(&team.alice.token), None)
        .await
        .expect(404);
}

/// `GET /approvals`: every active member of the admin's workspace with their entries starting
/// in the ISO week, each with its screenshot count, in one answer; members are refused.
async fn r39_the_approvals_week_lists_every_member_with_screenshot_counts(db: Db) {
    let h = Harness::on(db);
    let (team, entry, shots) = h.alices_stopped_entry("acme", &[25, 15, 5]).await;
    // One of them deleted: two stay.
    h.delete_screenshot(&team.alice.token, shots[1])
        .await
        .expect(200);
    // Another entry of hers earlier that week (t0 is a Monday noon), without screenshots.
    let early = h.start(&team.alice, t0() - min(180), "early").await;
    h.stop(&team.alice, t0() - min(150)).await;
    // One the week before: not listed.
    h.start(&team.alice, t0() - TimeDelta::days(3), "last week")
        .await;
    h.stop(&team.alice, t0() - TimeDelta::days(3) + min(30))
        .await;
    // Bob's time added by hand, and another workspace's entry: not listed for acme.
    let manual = EntryId::new();
    h.call(
        "POST",
        "/api/v1/entries",
        Some(&team.bob.token),
        Some(json!({"id": manual, "description": "by hand", "start": rfc(t0() - min(60)), "end": rfc(t0() - min(30))})),
    )
    .await
    .expect(201);
    let (globex, _, _) = h.alices_stopped_entry("globex", &[10]).await;

    let url = "/api/v1/approvals?day=2025-06-04&tz=UTC";
    let r = h.get(url, &team.admin.token).await;
    r.expect(200);
    let week = r.json();
    assert_eq!(at(&week["from"]), t0() - min(12 * 60));
    assert_eq!(at(&week["to"]), t0() + TimeDelta::days(7) - min(12 * 60));
    let members = week["members"].as_array().unwrap();
    let emails: Vec<&str> = members
        .iter()
        .map(|m| m["member"]["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        [
            "admin@acme.test",
            "alice@acme.test",
            "bob@acme.test",
            "owner@acme.test"
        ]
    );
    let of = |email: &str| {
        members
            .iter()
            .find(|m| m["member"]["email"] == email)
            .unwrap()["entries"]
            .as_array()
            .unwrap()
            .clone()
    };
    let alice = of("alice@acme.test");
    let listed: Vec<(Value, Value)> = alice
        .iter()
        .map(|e| (e["id"].clone(), e["screenshots"].clone()))
        .collect();
    assert_eq!(listed, [(json!(early), json!(0)), (json!(entry), json!(2))]);
    // Each entry is the entry as listed, plus its count.
    let mut first = alice[1].clone();
    first.as_object_mut().unwrap().remove("screenshots");
    assert_eq!(Some(first), h.entry_json(&team.alice.token, entry).await);
    let bob = of("bob@acme.test");
    assert_eq!(bob.len(), 1);
    assert_eq!(
        (
            bob[0]["id"].clone(),
            bob[0]["manual"].clone(),
            bob[0]["screenshots"].clone()
        ),
        (json!(manual), json!(true), json!(0))
    );
    assert!(of("owner@acme.test").is_empty());

    // The other workspace's admin sees only theirs.
    let theirs = h.get(url, &globex.admin.token).await;
    theirs.expect(200);
    let theirs = theirs.json();
    let counts: Vec<Value> = theirs["members"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["entries"].as_array().unwrap().clone())
        .map(|e| e["screenshots"].clone())
        .collect();
    assert_eq!(counts, [json!(1)]);

    // Members are refused; a bad day or zone is invalid.
    let r = h.get(url, &team.alice.token).await;
    r.expect(403);
    assert_eq!(r.code(), "forbidden");
    h.get("/api/v1/approvals?day=2025-13-04&tz=UTC", &team.admin.token)
        .await
        .expect(422);
    h.get(
        "/api/v1/approvals?day=2025-06-04&tz=Mars/Base",
        &team.admin.token,
    )
    .await
    .expect(422);
}

/// A large workspace's week is listed whole: more than ten thousand entries of one member are
/// all there (the backends cut the workspace's list at 10,000, silently).
async fn r39_the_approvals_week_of_a_large_workspace_is_listed_whole(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    const N: usize = 10_001;
    let monday = t0() - min(11 * 60);
    let rows = (0..N)
        .map(|i| {
            let start = monday + TimeDelta::seconds(i64::try_from(i).unwrap());
            shotclock_server::store::EntryRow {
                id: EntryId::new(),
                workspace_id: team.ws,
                user_id: team.bob.id,
                description: String::new(),
                times: shotclock_domain::entry::EntryTimes::new(
                    start,
                    Some(start + TimeDelta::seconds(1)),
                ),
                approved: false,
                manual: true,
                created_at: start,
            }
        })
        .collect();
    h.store.bulk_insert_entries(rows).await.unwrap();
    let r = h
        .get("/api/v1/approvals?day=2025-06-04&tz=UTC", &team.admin.token)
        .await;
    r.expect(200);
    let week = r.json();
    let bob = week["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["member"]["email"] == "bob@acme.test")
        .unwrap()["entries"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(bob, N);
}

common::all_backends!(
    r39_the_approvals_week_of_a_large_workspace_is_listed_whole,
    r39_an_edits_dry_run_equals_the_real_change,
    r39_approve_a_week_then_a_members_delete_is_refused,
    r39_approving_a_week_leaves_its_running_entry_unapproved,
    r39_manual_entries,
    r39_a_manual_entrys_id_is_answered_again_only_for_the_same_entry,
    r39_a_running_entrys_start_is_correctable_and_it_has_no_end,
    r39_an_entry_stored_with_times_no_edit_could_set_is_still_renamed,
    r39_an_entry_deletes_dry_run_equals_the_real_delete,
    r39_the_approvals_week_lists_every_member_with_screenshot_counts,
);
