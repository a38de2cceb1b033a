//! What the service decided stays decided: a retry never re-creates a deleted screenshot or
//! entry (R24–R26), an expired screenshot does not exist for any decision (R18), and an upload
//! is judged by whether capture was allowed at its capture moment (R4, R5).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::TimeDelta;
use common::{Db, Harness, image, rfc, t0};
use serde_json::json;
use shotclock_api::ScreenshotId;

fn min(m: i64) -> TimeDelta {
    TimeDelta::minutes(m)
}

async fn listed(h: &Harness, token: &str) -> Vec<String> {
    let r = h
        .get("/api/v1/screenshots?date=2025-06-02&tz=UTC", token)
        .await;
    r.expect(200);
    r.json()["screenshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_deleted_screenshot_never_comes_back_on_a_retry(db: Db) {
    let h = Harness::on(db);
    let (team, entry, shots) = h.alices_stopped_entry("acme", &[25, 15]).await;
    let (keep, gone) = (shots[0], shots[1]);

    h.delete_screenshot(&team.alice.token, gone)
        .await
        .expect(200);
    let before = h.entry_json(&team.alice.token, entry).await.unwrap();
    assert_eq!(before["deducted_secs"], 600);

    // The outbox retries the same upload (same id, same bytes) after its answer was lost.
    let r = h
        .upload(&team.alice.token, gone, entry, t0() - min(15), image(2))
        .await;
    r.expect(410);
    assert_eq!(r.code(), "deleted");
    // Whoever retries: the admin gets the same answer, never a second life.
    let r = h
        .upload(&team.admin.token, gone, entry, t0() - min(15), image(2))
        .await;
    r.expect(410);
    assert_eq!(r.code(), "deleted");

    assert_eq!(listed(&h, &team.alice.token).await, vec![keep.to_string()]);
    let after = h.entry_json(&team.alice.token, entry).await.unwrap();
    assert_eq!(after["deducted_secs"], 600);
    assert_eq!(after["removed"], before["removed"]);
    assert_eq!(
        h.blob_files().await.len(),
        1,
        "the retried bytes are not kept"
    );
}

async fn a_deleted_entry_never_comes_back_as_a_running_timer(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let start = json!({"entry_id": null, "description": "call", "start": rfc(t0() - min(5))});
    let entry = h.start(&team.alice, t0() - min(5), "call").await;
    h.stop(&team.alice, t0()).await;
    h.call(
        "DELETE",
        &format!("/api/v1/entries/{entry}"),
        Some(&team.alice.token),
        None,
    )
    .await
    .expect(200);

    let mut retry = start;
    retry["entry_id"] = json!(entry);
    let r = h
        .call(
            "POST",
            "/api/v1/timer/start",
            Some(&team.alice.token),
            Some(retry),
        )
        .await;
    r.expect(410);
    assert_eq!(r.code(), "deleted");
    let timer = h.get("/api/v1/timer", &team.alice.token).await;
    assert_eq!(timer.json()["running"], serde_json::Value::Null);
    assert!(h.entry_json(&team.alice.token, entry).await.is_none());
}

async fn a_screenshot_of_a_deleted_entry_is_refused_as_deleted(db: Db) {
    let h = Harness::on(db);
    let (team, entry, shots) = h.alices_stopped_entry("acme", &[20]).await;
    let shot = shots[0];
    h.call(
        "DELETE",
        &format!("/api/v1/entries/{entry}"),
        Some(&team.alice.token),
        None,
    )
    .await
    .expect(200);

    // The screenshot went with its entry; a retry of it, and a late one never sent before,
    // are both final.
    for id in [shot, ScreenshotId::new()] {
        let r = h
            .upload(&team.alice.token, id, entry, t0() - min(10), image(9))
            .await;
        r.expect(410);
        assert_eq!(r.code(), "deleted");
    }
    assert!(listed(&h, &team.alice.token).await.is_empty());
    assert!(h.blob_files().await.is_empty());
}

async fn an_expired_screenshot_takes_no_part_in_a_delete_decision(db: Db) {
    let h = Harness::on(db);
    let (team, entry, shots) = h.alices_stopped_entry("acme", &[25, 15]).await;
    let young = shots[1];

    // `old` is past the 7-day retention, `young` is not; the purge has not run.
    h.clock.advance(TimeDelta::days(7) - min(20));
    let r = h
        .call(
            "DELETE",
            &format!("/api/v1/screenshots/{young}?dry_run=true"),
            Some(&team.alice.token),
            None,
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["decision"], "delete_entry", "{}", r.json());
    assert_eq!(r.json()["removed_secs"], 30 * 60);
    // The real delete agrees with its dry run.
    let r = h.delete_screenshot(&team.alice.token, young).await;
    r.expect(200);
    assert_eq!(r.json()["decision"], "delete_entry");
    assert!(h.entry_json(&team.alice.token, entry).await.is_none());
}

async fn an_upload_is_judged_by_the_settings_at_its_capture_moment(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let entry = h.start(&team.alice, t0(), "work").await;
    h.clock.advance(min(1));
    h.enable_capture_from_now(&team).await; // on at t0 + 1 min
    h.clock.advance(min(2));
    h.call(
        "PATCH",
        "/api/v1/workspace",
        Some(&team.admin.token),
        Some(json!({"screenshots_enabled": false})),
    )
    .await
    .expect(200); // off at t0 + 3 min
    h.clock.advance(min(2));

    // Taken while capture was on, uploaded after it was turned off: kept.
    let during = ScreenshotId::new();
    h.upload(&team.alice.token, during, entry, t0() + min(2), image(1))
        .await
        .expect(201);
    // Taken before it was on, or after it was off: refused.
    for at in [t0() + TimeDelta::seconds(30), t0() + min(4)] {
        let r = h
            .upload(&team.alice.token, ScreenshotId::new(), entry, at, image(2))
            .await;
        r.expect(403);
        assert_eq!(r.code(), "feature_unavailable");
    }
    assert_eq!(
        listed(&h, &team.alice.token).await,
        vec![during.to_string()]
    );
}

async fn a_trial_that_ended_still_accepts_what_it_covered(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let entry = h.start(&team.alice, t0(), "work").await;
    h.call(
        "POST",
        "/api/v1/workspace/trial",
        Some(&team.admin.token),
        None,
    )
    .await
    .expect(200);
    h.call(
        "PATCH",
        "/api/v1/workspace",
        Some(&team.admin.token),
        Some(json!({"screenshots_enabled": true})),
    )
    .await
    .expect(200);
    let inside = t0() + TimeDelta::days(7) - min(1);
    let after = t0() + TimeDelta::days(7) + min(1);
    h.clock.advance(TimeDelta::days(7) + min(2));
    h.upload(
        &team.alice.token,
        ScreenshotId::new(),
        entry,
        inside,
        image(1),
    )
    .await
    .expect(201);
    let r = h
        .upload(
            &team.alice.token,
            ScreenshotId::new(),
            entry,
            after,
            image(2),
        )
        .await;
    r.expect(403);
    assert_eq!(r.code(), "feature_unavailable");
}

common::all_backends!(
    a_deleted_screenshot_never_comes_back_on_a_retry,
    a_deleted_entry_never_comes_back_as_a_running_timer,
    a_screenshot_of_a_deleted_entry_is_refused_as_deleted,
    an_expired_screenshot_takes_no_part_in_a_delete_decision,
    an_upload_is_judged_by_the_settings_at_its_capture_moment,
    a_trial_that_ended_still_accepts_what_it_covered,
);
