//! The workspace blocklist (R34) and the access log (R35) through the HTTP surface, on every
//! backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::TimeDelta;
use common::{Db, Harness, Listening, t0};
use http_body_util::BodyExt;
use serde_json::json;

async fn r34_admins_set_the_workspace_blocklist_and_members_read_it(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let other = h.team("globex").await;
    let path = "/api/v1/workspace/blocklist";
    let empty = h.get(path, &team.alice.token).await;
    empty.expect(200);
    assert_eq!(empty.json(), json!({"rules": []}));

    let list = json!({"rules": [
        {"field": "title", "pattern": "  Online banking "},
        {"field": "class", "pattern": "KeePassXC"},
    ]});
    // Members cannot change it.
    h.call("PUT", path, Some(&team.alice.token), Some(list.clone()))
        .await
        .expect(403);
    // Limits: each refused whole, with a typed error.
    let long = "x".repeat(101);
    let too_many: Vec<_> = (0..51)
        .map(|i| json!({"field": "title", "pattern": format!("p{i}")}))
        .collect();
    for bad in [
        json!({"rules": [{"field": "title", "pattern": "   "}]}),
        json!({"rules": [{"field": "title", "pattern": long}]}),
        json!({"rules": [{"field": "title", "pattern": "a\u{7}b"}]}),
        json!({"rules": too_many}),
    ] {
        let res = h
            .call("PUT", path, Some(&team.admin.token), Some(bad))
            .await;
        res.expect(422);
        assert_eq!(res.code(), "validation");
    }
    h.call(
        "PUT",
        path,
        Some(&team.admin.token),
        Some(json!({"rules": [{"field": "window", "pattern": "x"}]})),
    )
    .await
    .expect(422);
    assert_eq!(
        h.get(path, &team.alice.token).await.json()["rules"],
        json!([])
    );

    let set = h
        .call("PUT", path, Some(&team.admin.token), Some(list))
        .await;
    set.expect(200);
    let stored = json!({"rules": [
        {"field": "title", "pattern": "Online banking"},
        {"field": "class", "pattern": "KeePassXC"},
    ]});
    assert_eq!(set.json(), stored);
    assert_eq!(h.get(path, &team.alice.token).await.json(), stored);
    assert_eq!(h.get(path, &team.owner.token).await.json(), stored);
    // Another workspace's list is its own.
    assert_eq!(
        h.get(path, &other.alice.token).await.json(),
        json!({"rules": []})
    );
    // Replaced whole; an empty list clears it.
    h.call(
        "PUT",
        path,
        Some(&team.owner.token),
        Some(json!({"rules": []})),
    )
    .await
    .expect(200);
    assert_eq!(
        h.get(path, &team.bob.token).await.json(),
        json!({"rules": []})
    );
}

fn image_path(shot: impl std::fmt::Display) -> String {
    format!("/api/v1/screenshots/{shot}/image")
}

async fn r35_views_by_others_are_logged_once_a_minute_and_own_views_never(db: Db) {
    let h = Harness::on(db);
    let (team, _entry, shots) = h.alices_stopped_entry("acme", &[20, 10]).await;
    let log = |token: String| {
        let h = &h;
        async move { h.get("/api/v1/access-log", &token).await.json()["entries"].clone() }
    };
    // Alice's own views add nothing.
    h.get(&image_path(shots[0]), &team.alice.token)
        .await
        .expect(200);
    assert_eq!(log(team.alice.token.clone()).await, json!([]));
    // Bob cannot see it, so nothing is logged either.
    h.get(&image_path(shots[0]), &team.bob.token)
        .await
        .expect(404);
    // The metadata is not the image: not logged.
    h.get(
        &format!("/api/v1/screenshots/{}", shots[0]),
        &team.admin.token,
    )
    .await
    .expect(200);
    assert_eq!(log(team.alice.token.clone()).await, json!([]));

    // The admin opens it three times within a minute: one view.
    let first = h.app.now();
    for _ in 0..3 {
        h.get(&image_path(shots[0]), &team.admin.token)
            .await
            .expect(200);
        h.clock.advance(TimeDelta::seconds(20));
    }
    let entries = log(team.alice.token.clone()).await;
    assert_eq!(entries.as_array().unwrap().len(), 1, "{entries}");
    assert_eq!(entries[0]["viewer_name"], "admin");
    assert_eq!(entries[0]["viewer_id"], json!(team.admin.id));
    assert_eq!(entries[0]["screenshot_id"], json!(shots[0]));
    assert_eq!(entries[0]["kind"], "viewed");
    let at: chrono::DateTime<chrono::Utc> = entries[0]["at"].as_str().unwrap().parse().unwrap();
    assert_eq!(at, first);
    // A minute after the logged view, a new one; another screenshot is its own.
    h.get(&image_path(shots[0]), &team.admin.token)
        .await
        .expect(200);
    h.get(&image_path(shots[1]), &team.owner.token)
        .await
        .expect(200);
    let entries = log(team.alice.token.clone()).await;
    assert_eq!(entries.as_array().unwrap().len(), 3, "{entries}");
    // Newest first.
    assert_eq!(entries[0]["viewer_name"], "Owner of acme");
    // Nobody else's log holds alice's lines.
    assert_eq!(log(team.admin.token.clone()).await, json!([]));
    assert_eq!(log(team.bob.token.clone()).await, json!([]));
}

async fn r35_deletes_by_others_are_logged_and_no_method_removes_a_line(db: Db) {
    let h = Harness::on(db);
    let (team, _entry, shots) = h.alices_stopped_entry("acme", &[20, 10]).await;
    h.get(&image_path(shots[1]), &team.admin.token)
        .await
        .expect(200);
    // A dry run logs nothing; the real delete does.
    h.call(
        "DELETE",
        &format!("/api/v1/screenshots/{}?dry_run=true", shots[0]),
        Some(&team.admin.token),
        None,
    )
    .await
    .expect(200);
    let before = h.get("/api/v1/access-log", &team.alice.token).await.json();
    assert_eq!(before["entries"].as_array().unwrap().len(), 1);
    h.clock.advance(TimeDelta::seconds(1));
    h.delete_screenshot(&team.admin.token, shots[0])
        .await
        .expect(200);
    let after = h.get("/api/v1/access-log", &team.alice.token).await.json();
    let entries = after["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["kind"], "deleted");
    assert_eq!(entries[0]["screenshot_id"], json!(shots[0]));
    // Alice deleting her own is not logged.
    h.delete_screenshot(&team.alice.token, shots[1])
        .await
        .expect(200);
    let log = h.get("/api/v1/access-log", &team.alice.token).await.json();
    assert_eq!(log, after);
    // No endpoint changes the log: every other method is refused, for anyone.
    for token in [&team.admin.token, &team.owner.token, &team.alice.token] {
        for method in ["DELETE", "PUT", "PATCH", "POST"] {
            let res = h
                .call(method, "/api/v1/access-log", Some(token), Some(json!({})))
                .await;
            res.expect(405);
        }
    }
    assert_eq!(
        h.get("/api/v1/access-log", &team.alice.token).await.json(),
        after
    );
}

/// Every access-log line of `owner` as stored.
async fn lines(
    h: &Harness,
    owner: shotclock_api::UserId,
) -> Vec<shotclock_server::store::AccessRow> {
    let since = t0() - TimeDelta::days(30);
    h.raw(move |rows| rows.access_log(owner, since)).await
}

async fn r35_the_log_follows_retention_and_the_account(db: Db) {
    let h = Harness::on(db);
    let (team, _entry, shots) = h.alices_stopped_entry("acme", &[20, 10]).await;
    h.get(&image_path(shots[0]), &team.admin.token)
        .await
        .expect(200);
    h.get(&image_path(shots[1]), &team.admin.token)
        .await
        .expect(200);
    let alice = team.alice.id;
    assert_eq!(lines(&h, alice).await.len(), 2);
    // The first screenshot expires (captured 20 min before t0): its line goes with it, the
    // other's stays.
    h.clock.advance(TimeDelta::days(7) - TimeDelta::minutes(15));
    shotclock_server::maintenance::run(&h.app, std::time::Duration::from_secs(3600))
        .await
        .unwrap();
    let left = lines(&h, alice).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].screenshot_id, shots[1]);
    // Deleting alice's account takes her log.
    h.call("DELETE", "/api/v1/me", Some(&team.alice.token), None)
        .await
        .expect(204);
    assert!(lines(&h, alice).await.is_empty());
}

/// Screenshots that go with an entry someone else deletes, or that someone else's edit leaves
/// outside the entry, are on the owner's log as deleted; the owner's own do not add a line.
async fn r35_entry_deletes_and_edits_by_others_log_their_screenshots(db: Db) {
    let h = Harness::on(db);
    let (team, entry, shots) = h.alices_stopped_entry("acme", &[25, 5]).await;
    let path = format!("/api/v1/entries/{entry}");
    // The admin shortens it so the last screenshot falls outside: a dry run logs nothing.
    let end = (t0() - TimeDelta::minutes(10)).to_rfc3339();
    h.call(
        "PATCH",
        &format!("{path}?dry_run=true"),
        Some(&team.admin.token),
        Some(json!({"end": end})),
    )
    .await
    .expect(200);
    assert!(lines(&h, team.alice.id).await.is_empty());
    h.call(
        "PATCH",
        &path,
        Some(&team.admin.token),
        Some(json!({"end": end, "confirm": true})),
    )
    .await
    .expect(200);
    let log = h.get("/api/v1/access-log", &team.alice.token).await.json();
    let got = log["entries"].as_array().unwrap();
    assert_eq!(got.len(), 1, "{log}");
    assert_eq!(
        (got[0]["kind"].clone(), got[0]["screenshot_id"].clone()),
        (json!("deleted"), json!(shots[1]))
    );
    // Then deletes the entry: its remaining screenshot is logged too.
    h.clock.advance(TimeDelta::seconds(1));
    h.call("DELETE", &path, Some(&team.admin.token), None)
        .await
        .expect(200);
    let log = h.get("/api/v1/access-log", &team.alice.token).await.json();
    let got = log["entries"].as_array().unwrap();
    assert_eq!(got.len(), 2, "{log}");
    assert_eq!(
        (got[0]["kind"].clone(), got[0]["screenshot_id"].clone()),
        (json!("deleted"), json!(shots[0]))
    );
    // Alice deleting her own entry adds nothing.
    let (beta, own, _) = h.alices_stopped_entry("beta", &[20]).await;
    h.call(
        "DELETE",
        &format!("/api/v1/entries/{own}"),
        Some(&beta.alice.token),
        None,
    )
    .await
    .expect(200);
    assert!(lines(&h, beta.alice.id).await.is_empty());
}

async fn r35_the_owner_hears_of_a_logged_look_live(db: Db) {
    let h = Harness::on(db);
    let (team, _entry, shots) = h.alices_stopped_entry("acme", &[20, 10]).await;
    let mut alice = Listening::open(&h, &team.alice.token).await;
    let mut admin = Listening::open(&h, &team.admin.token).await;
    // Her own look is not logged, so nothing is sent.
    h.get(&image_path(shots[0]), &team.alice.token)
        .await
        .expect(200);
    // The admin's look is: alice's stream hears of it, with ids and the kind only.
    h.get(&image_path(shots[0]), &team.admin.token)
        .await
        .expect(200);
    assert!(alice.hears("event: access_logged").await);
    let data = format!(
        r#"{{"type":"access_logged","screenshot_id":"{}","kind":"viewed"}}"#,
        shots[0]
    );
    assert!(alice.seen.contains(&data), "{}", alice.seen);
    // A repeat within the minute is not logged: no event; the owner's look at the other is.
    h.get(&image_path(shots[0]), &team.admin.token)
        .await
        .expect(200);
    h.get(&image_path(shots[1]), &team.owner.token)
        .await
        .expect(200);
    assert!(alice.hears_times("event: access_logged", 2).await);
    let second = format!(r#""screenshot_id":"{}""#, shots[1]);
    let seen = &alice.seen;
    assert!(seen.contains(&second), "{seen}");
    assert_eq!(seen.matches("event: access_logged").count(), 2, "{seen}");
    // Nobody else hears of alice's log: the admin's stream got nothing after `ready`.
    let nothing =
        tokio::time::timeout(std::time::Duration::from_millis(300), admin.body.frame()).await;
    assert!(nothing.is_err(), "the admin's stream got {nothing:?}");
}

common::all_backends!(
    r34_admins_set_the_workspace_blocklist_and_members_read_it,
    r35_views_by_others_are_logged_once_a_minute_and_own_views_never,
    r35_deletes_by_others_are_logged_and_no_method_removes_a_line,
    r35_the_log_follows_retention_and_the_account,
    r35_entry_deletes_and_edits_by_others_log_their_screenshots,
    r35_the_owner_hears_of_a_logged_look_live,
);

/// Every mode below `root`, by path relative to it.
#[cfg(unix)]
fn modes_below(root: &std::path::Path) -> Vec<(String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for item in std::fs::read_dir(&dir).unwrap() {
            let item = item.unwrap();
            let meta = item.metadata().unwrap();
            let name = item
                .path()
                .strip_prefix(root)
                .unwrap()
                .display()
                .to_string();
            out.push((name, meta.permissions().mode() & 0o7777));
            if meta.is_dir() {
                todo.push(item.path());
            }
        }
    }
    out.sort();
    out
}

/// The embedded service's files (everyone's screenshots, the accounts) are readable by the
/// service's user alone, whatever the umask it was started with: folders 0700, files 0600.
#[cfg(unix)]
#[tokio::test]
async fn the_embedded_services_files_are_its_users_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("var").join("shotclock");
    // The usual umask of a shell, which leaves new files readable by everyone.
    let umask = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
    let app = shotclock_server::App::open(shotclock_server::Config::new(&data)).await;
    rustix::process::umask(umask);
    let app = app.unwrap();
    shotclock_server::api::create_workspace(
        &app,
        "Acme".into(),
        "o@acme.test",
        "O",
        "a long enough password".into(),
        app.now(),
    )
    .await
    .unwrap();
    let key = shotclock_server::blobs::blob_key(shotclock_api::ScreenshotId::new(), &[7; 32]);
    app.blobs()
        .put(&key, common::image(1).into())
        .await
        .unwrap();

    let modes = modes_below(tmp.path());
    assert!(
        modes.iter().any(|(name, _)| name.ends_with(".db")) && modes.len() > 5,
        "{modes:?}"
    );
    let loose: Vec<_> = modes
        .iter()
        .filter(|(name, mode)| {
            let dir = tmp.path().join(name).is_dir();
            *mode != if dir { 0o700 } else { 0o600 }
        })
        .collect();
    assert!(loose.is_empty(), "readable by others: {loose:?}");
}

/// An access-log line whose screenshot's retention ended, and a tombstone no decision needs any
/// more, leave the database files with the maintenance pass that drops them (R35, R29, R24):
/// no copy waits for a later checkpoint.
#[tokio::test]
async fn r35_r29_old_log_lines_and_tombstones_leave_the_database_files() {
    let h = Harness::on(Db::Sqlite);
    let (team, _entry, shots) = h.alices_stopped_entry("acme", &[20, 10]).await;
    h.get(&image_path(shots[0]), &team.admin.token)
        .await
        .expect(200);
    let id = shots[0];
    // The id as text or as its 16 bytes, however a table holds it.
    let found = |id: &shotclock_api::ScreenshotId| {
        h.database_files_hold(id.to_string().as_bytes())
            || h.database_files_hold(id.as_uuid().as_bytes())
    };
    h.store.scrub().await.unwrap();
    assert!(found(&id), "the line is written");
    // The screenshot expires: its row and its line go.
    h.clock.advance(TimeDelta::days(7) - TimeDelta::minutes(15));
    shotclock_server::maintenance::run(&h.app, std::time::Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(
        lines(&h, team.alice.id)
            .await
            .iter()
            .all(|l| l.screenshot_id != id)
    );
    assert!(
        !found(&id),
        "a copy of the expired screenshot's line is left"
    );
    // A delete's tombstone, once no decision can need it, leaves them with its pass too.
    let deleted = shots[1];
    h.delete_screenshot(&team.alice.token, deleted)
        .await
        .expect(200);
    h.store.scrub().await.unwrap();
    assert!(found(&deleted), "the tombstone is written");
    // A pass while the tombstone is still kept (the workspace's old capture states go then).
    h.clock.advance(TimeDelta::days(8));
    shotclock_server::maintenance::run(&h.app, std::time::Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(found(&deleted), "the tombstone went too early");
    h.clock.advance(shotclock_domain::retention::TOMBSTONE_KEEP);
    shotclock_server::maintenance::run(&h.app, std::time::Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(!found(&deleted), "a copy of the old tombstone is left");
}
