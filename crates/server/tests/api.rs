//! Protocol-level behaviour through `router().oneshot`: auth and sessions, bad input, upload
//! idempotency and validation, version header, SSE, account deletion (R23), secure delete (R24).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::Request;
use chrono::TimeDelta;
use common::{Db, Harness, Listening, PASSWORD, image, rfc, t0};
use serde_json::json;
use shotclock_api::{EntryId, ScreenshotId};

fn min(m: i64) -> TimeDelta {
    TimeDelta::minutes(m)
}

async fn health_version_header_and_incompatible_versions(db: Db) {
    let h = Harness::on(db);
    let r = h.call("GET", "/healthz", None, None).await;
    r.expect(200);
    assert_eq!(r.headers["x-shotclock-api-version"], "1");
    let r = h.call("GET", "/api/v1/nope", None, None).await;
    r.expect(404);
    assert_eq!(r.headers["x-shotclock-api-version"], "1");
    for bad in ["2", "0", "banana"] {
        let req = Request::get("/api/v1/me")
            .header("x-shotclock-api-version", bad)
            .body(Body::empty())
            .unwrap();
        let r = h.send(req).await;
        r.expect(400);
        assert_eq!(r.code(), "api_version");
        assert!(
            r.json()["message"]
                .as_str()
                .unwrap()
                .contains("update the app")
        );
    }
    let req = Request::get("/healthz")
        .header("x-shotclock-api-version", "1")
        .body(Body::empty())
        .unwrap();
    h.send(req).await.expect(200);
}

#[tokio::test]
async fn login_me_logout_and_revocations() {
    let h = Harness::new();
    let team = h.team("acme").await;
    let login = |email: String, password: &'static str| {
        let h = &h;
        async move { h.login(&email, password).await }
    };
    let r = login(team.alice.email.to_uppercase(), PASSWORD).await;
    r.expect(200);
    let token = r.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["me"]["user"]["role"], "member");
    let me = h.get("/api/v1/me", &token).await;
    me.expect(200);
    assert_eq!(me.json()["user"]["email"], team.alice.email);
    assert_eq!(me.json()["workspace"]["id"], team.ws.to_string());
    // Only the hash is stored.
    assert!(!h.database_files_hold(token.as_bytes()));

    // Logout revokes at once.
    h.call("POST", "/api/v1/auth/logout", Some(&token), None)
        .await
        .expect(204);
    let r = h.get("/api/v1/me", &token).await;
    r.expect(401);
    assert_eq!(r.code(), "unauthorized");

    // Role change revokes.
    let t2 = login(team.bob.email.clone(), PASSWORD).await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = h
        .call(
            "PATCH",
            &format!("/api/v1/members/{}", team.bob.id),
            Some(&team.admin.token),
            Some(json!({"role": "admin"})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["role"], "admin");
    h.get("/api/v1/me", &t2).await.expect(401);
    h.get("/api/v1/me", &team.bob.token).await.expect(401);
    // Deactivation revokes and blocks sign-in.
    let t3 = login(team.bob.email.clone(), PASSWORD).await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    h.call(
        "PATCH",
        &format!("/api/v1/members/{}", team.bob.id),
        Some(&team.admin.token),
        Some(json!({"active": false})),
    )
    .await
    .expect(200);
    h.get("/api/v1/me", &t3).await.expect(401);
    login(team.bob.email.clone(), PASSWORD).await.expect(401);
    // Listed still, as deactivated (R38).
    let list = h.get("/api/v1/members", &team.admin.token).await;
    let members = list.json()["members"].as_array().unwrap().clone();
    assert_eq!(members.len(), 4);
    let bob = members
        .iter()
        .find(|m| m["id"] == team.bob.id.to_string())
        .unwrap();
    assert_eq!(bob["active"], false);
    // The owner cannot be demoted.
    h.call(
        "PATCH",
        &format!("/api/v1/members/{}", team.owner.id),
        Some(&team.admin.token),
        Some(json!({"role": "member"})),
    )
    .await
    .expect(403);

    // Expired sessions stop working.
    let t4 = login(team.alice.email.clone(), PASSWORD).await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    h.clock.advance(TimeDelta::days(31));
    h.get("/api/v1/me", &t4).await.expect(401);
    // Garbage tokens.
    h.get("/api/v1/me", "not-a-token").await.expect(401);
    let req = Request::get("/api/v1/me")
        .header("authorization", "Basic abc")
        .body(Body::empty())
        .unwrap();
    h.send(req).await.expect(401);
}

async fn ten_wrong_passwords_answer_429_with_retry_after(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    for _ in 0..10 {
        h.login(&team.alice.email, "wrong password!")
            .await
            .expect(401);
    }
    let r = h.login(&team.alice.email, PASSWORD).await;
    r.expect(429);
    assert_eq!(r.code(), "too_many_requests");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    // Another account is unaffected.
    h.login(&team.bob.email, PASSWORD).await.expect(200);
}

/// With replicas sharing a database the throttle lives there, timed by the service's clock: a
/// locked pair stays locked until the lockout has passed, then signs in.
#[tokio::test]
async fn a_shared_lock_ends_a_lockout_later_by_the_services_clock() {
    let h = Harness::on(Db::Postgres);
    let team = h.team("acme").await;
    let login = |password: &'static str| {
        let (h, email) = (&h, team.alice.email.clone());
        async move { h.login(&email, password).await.status }
    };
    for _ in 0..shotclock_server::auth::MAX_FAILURES {
        assert_eq!(login("wrong password!").await, 401);
    }
    let lockout = TimeDelta::from_std(shotclock_server::auth::LOCKOUT).unwrap();
    h.clock.advance(lockout - TimeDelta::milliseconds(1));
    assert_eq!(login(PASSWORD).await, 429, "a millisecond before its end");
    h.clock.advance(TimeDelta::milliseconds(1));
    assert_eq!(login(PASSWORD).await, 200, "over");
}

/// The shared throttle's upkeep forgets only what no longer limits anything: a source's budget
/// partly refilled still holds after it.
#[tokio::test]
async fn upkeep_keeps_a_shared_budget_until_it_is_full_again() {
    use shotclock_server::auth::{SOURCE_BURST, SOURCE_REFILL};
    let h = Harness::on(Db::Postgres);
    let guess = |n: u32| {
        let h = &h;
        async move {
            let email = format!("nobody{n}@acme.test");
            h.login(&email, "wrong password!").await.status
        }
    };
    // One account each, so no pair locks: only the source's budget limits.
    for n in 0..SOURCE_BURST {
        assert_eq!(guess(n).await, 401);
    }
    assert_eq!(guess(SOURCE_BURST).await, 429, "the budget is spent");
    h.clock
        .advance(TimeDelta::from_std(SOURCE_REFILL * 2).unwrap());
    h.app.limiter().prune().await.unwrap();
    assert_eq!(guess(100).await, 401);
    assert_eq!(guess(101).await, 401);
    assert_eq!(guess(102).await, 429, "two attempts earned back, no more");

    // What no longer limits anything goes: the budget once full again, each account's count
    // once untouched for a lockout.
    let (db, connection) =
        tokio_postgres::connect(h.pg_url.as_deref().unwrap(), tokio_postgres::NoTls)
            .await
            .unwrap();
    tokio::spawn(connection);
    let rows = |table: &'static str| {
        let db = &db;
        async move {
            let n: i64 = db
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])
                .await
                .unwrap()
                .get(0);
            n
        }
    };
    assert_eq!(
        (rows("signin_budgets").await, rows("signin_pairs").await),
        (1, i64::from(SOURCE_BURST) + 2),
        "kept while they limit"
    );
    let lockout = TimeDelta::from_std(shotclock_server::auth::LOCKOUT).unwrap();
    h.clock.advance(lockout);
    h.app.limiter().prune().await.unwrap();
    assert_eq!(rows("signin_budgets").await, 1, "not full yet");
    assert_eq!(
        rows("signin_pairs").await,
        2,
        "the two accounts tried after the refill were touched less than a lockout ago"
    );
    h.clock
        .advance(TimeDelta::from_std(SOURCE_REFILL * SOURCE_BURST).unwrap());
    h.app.limiter().prune().await.unwrap();
    assert_eq!(
        (rows("signin_budgets").await, rows("signin_pairs").await),
        (0, 0)
    );
}

async fn members_and_signup_validate_input(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let add = |body: serde_json::Value| {
        let h = &h;
        let token = team.admin.token.clone();
        async move {
            h.call("POST", "/api/v1/members", Some(&token), Some(body))
                .await
        }
    };
    let r = add(json!({"email": "new@acme.test", "password": "short"})).await;
    r.expect(422);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("at least 10")
    );
    let r =
        add(json!({"email": "new@acme.test", "password": "long enough pw", "role": "superuser"}))
            .await;
    r.expect(422);
    add(json!({"email": "new@acme.test", "password": "long enough pw", "role": "owner"}))
        .await
        .expect(422);
    add(json!({"email": "not-an-email", "password": "long enough pw"}))
        .await
        .expect(422);
    let r = add(json!({"email": "New@Acme.test", "password": "long enough pw", "name": "Newbie"}))
        .await;
    r.expect(201);
    assert_eq!(r.json()["email"], "new@acme.test");
    add(json!({"email": "new@acme.test", "password": "long enough pw"}))
        .await
        .expect(409);
    h.call(
        "POST",
        "/api/v1/members",
        Some(&team.alice.token),
        Some(json!({"email": "x@y.z", "password": "long enough pw"})),
    )
    .await
    .expect(403);
    // The new member can sign in with the password the admin set.
    h.login("new@acme.test", "long enough pw").await.expect(200);
    // Sign-up is off by default.
    let r = h
        .call(
            "POST",
            "/api/v1/auth/signup",
            None,
            Some(json!({"workspace_name": "x", "email": "a@b.c", "password": "long enough pw"})),
        )
        .await;
    r.expect(403);
}

async fn signup_when_allowed(db: Db) {
    let h = Harness::build_on(db, |c| c.allow_signup = true, true);
    let r = h
        .call("POST", "/api/v1/auth/signup", None, Some(json!({"workspace_name": "Initech", "email": "peter@initech.test", "password": "short"})))
        .await;
    r.expect(422);
    let r = h
        .call("POST", "/api/v1/auth/signup", None, Some(json!({"workspace_name": "Initech", "name": "Peter", "email": "peter@initech.test", "password": "tps reports!"})))
        .await;
    r.expect(201);
    assert_eq!(r.json()["me"]["user"]["role"], "owner");
    assert_eq!(r.json()["me"]["workspace"]["plan"], "free");
    let token = r.json()["token"].as_str().unwrap().to_owned();
    h.get("/api/v1/members", &token).await.expect(200);
}

async fn malformed_oversized_and_mistyped_json(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let send_raw = |body: Vec<u8>, ct: &'static str| {
        let h = &h;
        let token = team.alice.token.clone();
        async move {
            let req = Request::post("/api/v1/timer/start")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", ct)
                .body(Body::from(body))
                .unwrap();
            h.send(req).await
        }
    };
    let r = send_raw(b"{not json".to_vec(), "application/json").await;
    r.expect(400);
    assert_eq!(r.code(), "bad_request");
    let r = send_raw(b"{\"entry_id\": 5}".to_vec(), "application/json").await;
    r.expect(422);
    let r = send_raw(b"{}".to_vec(), "text/plain").await;
    r.expect(415);
    let mut big = b"{\"entry_id\":\"".to_vec();
    big.extend(std::iter::repeat_n(b'a', 100_000));
    big.extend(b"\"}");
    let r = send_raw(big, "application/json").await;
    r.expect(413);
    assert_eq!(r.code(), "payload_too_large");
    // Unknown enum value.
    let r = h
        .call(
            "PATCH",
            &format!("/api/v1/members/{}", team.bob.id),
            Some(&team.admin.token),
            Some(json!({"role": "emperor"})),
        )
        .await;
    r.expect(422);
    assert!(r.json()["message"].as_str().unwrap().contains("emperor"));
    // Bad ids in paths and queries.
    h.get("/api/v1/screenshots/not-a-uuid", &team.alice.token)
        .await
        .expect(400);
    h.get("/api/v1/screenshots?date=2025-06-02", &team.alice.token)
        .await
        .expect(422);
}

async fn upload_is_idempotent_by_id_and_hash(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    h.enable_capture(&team).await;
    let entry = h.start(&team.alice, t0() - min(30), "work").await;
    let id = ScreenshotId::new();
    let bytes = image(42);
    let first = h
        .upload(&team.alice.token, id, entry, t0() - min(20), bytes.clone())
        .await;
    first.expect(201);
    assert_eq!(first.json()["created"], true);
    let again = h
        .upload(&team.alice.token, id, entry, t0() - min(20), bytes.clone())
        .await;
    again.expect(200);
    assert_eq!(again.json()["created"], false);
    assert_eq!(again.json()["sha256"], first.json()["sha256"]);
    let other = h
        .upload(&team.alice.token, id, entry, t0() - min(20), image(43))
        .await;
    other.expect(409);
    assert_eq!(other.code(), "conflict");
    assert_eq!(h.blob_files().await.len(), 1);
    let day = h
        .get(
            "/api/v1/screenshots?date=2025-06-02&tz=UTC",
            &team.alice.token,
        )
        .await;
    assert_eq!(day.json()["screenshots"].as_array().unwrap().len(), 1);
    let img = h
        .get(
            &format!("/api/v1/screenshots/{id}/image"),
            &team.alice.token,
        )
        .await;
    img.expect(200);
    assert_eq!(img.headers["content-type"], "image/webp");
    assert_eq!(img.body.as_ref(), bytes.as_slice());
    // Concurrent duplicates of one new id: exactly one row, every answer 2xx.
    let id2 = ScreenshotId::new();
    let tasks: Vec<_> = (0..8)
        .map(|_| h.upload(&team.alice.token, id2, entry, t0() - min(10), image(7)))
        .collect();
    let results = futures_util::future::join_all(tasks).await;
    assert!(results.iter().all(|r| r.status == 200 || r.status == 201));
    assert_eq!(results.iter().filter(|r| r.status == 201).count(), 1);
    assert_eq!(h.blob_files().await.len(), 2);
}

async fn upload_rejects_bad_images_bodies_and_times(db: Db) {
    let h = Harness::build_on(db, |c| c.max_upload_bytes = 64 * 1024, true);
    let team = h.team("acme").await;
    h.enable_capture(&team).await;
    let entry = h.start(&team.alice, t0() - min(30), "work").await;
    let at = t0() - min(20);
    let up = |bytes: Vec<u8>| h.upload(&team.alice.token, ScreenshotId::new(), entry, at, bytes);

    let r = up(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec()).await;
    r.expect(415);
    assert!(r.json()["message"].as_str().unwrap().contains("WebP"));
    let good = image(1);
    let r = up(good[..good.len() - 10].to_vec()).await;
    r.expect(400);
    assert!(r.json()["message"].as_str().unwrap().contains("truncated"));
    // A header claiming 60000 x 60000.
    let mut giant = b"RIFF".to_vec();
    giant.extend_from_slice(&22u32.to_le_bytes());
    giant.extend_from_slice(b"WEBPVP8X");
    giant.extend_from_slice(&10u32.to_le_bytes());
    giant.extend_from_slice(&[0, 0, 0, 0]);
    giant.extend_from_slice(&59_999u32.to_le_bytes()[..3]);
    giant.extend_from_slice(&59_999u32.to_le_bytes()[..3]);
    // Refused from its header alone: its 3.6 billion pixels are never read or decoded.
    let r = up(giant).await;
    r.expect(422);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("60000x60000 exceed the limit")
    );
    // Too large, with and without Content-Length.
    let big = shotclock_server::webp::synthetic(64, 64, 100 * 1024);
    up(big.clone()).await.expect(413);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(4096).map(|c| Ok(c.to_vec())).collect();
    let req = Request::put(format!(
        "/api/v1/screenshots/{}?entry_id={entry}&captured_at={}",
        ScreenshotId::new(),
        rfc(at)
    ))
    .header("authorization", format!("Bearer {}", team.alice.token))
    .body(Body::from_stream(futures_util::stream::iter(chunks)))
    .unwrap();
    let r = h.send(req).await;
    r.expect(413);
    assert_eq!(r.code(), "payload_too_large");

    // Time checks.
    let r = h
        .upload(
            &team.alice.token,
            ScreenshotId::new(),
            entry,
            t0() + min(6),
            image(2),
        )
        .await;
    r.expect(400);
    assert_eq!(r.code(), "clock_skew");
    let r = h
        .upload(
            &team.alice.token,
            ScreenshotId::new(),
            entry,
            t0() - min(31),
            image(3),
        )
        .await;
    r.expect(422);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("outside its entry")
    );
    let r = h
        .upload(
            &team.alice.token,
            ScreenshotId::new(),
            entry,
            t0() - TimeDelta::days(8),
            image(4),
        )
        .await;
    r.expect(410);
    // Someone else's entry, or no entry: 404.
    h.upload(&team.bob.token, ScreenshotId::new(), entry, at, image(5))
        .await
        .expect(404);
    h.upload(
        &team.alice.token,
        ScreenshotId::new(),
        EntryId::new(),
        at,
        image(6),
    )
    .await
    .expect(404);
    // A real encoder's WebP is accepted.
    let mut real = Vec::new();
    image::DynamicImage::new_rgb8(32, 20)
        .write_to(
            &mut std::io::Cursor::new(&mut real),
            image::ImageFormat::WebP,
        )
        .unwrap();
    let r = up(real).await;
    r.expect(201);
    assert!(h.blob_files().await.len() == 1);
}

async fn sse_streams_timer_notifications_and_deletes_live(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    h.store
        .set_plan(team.ws, shotclock_api::Plan::Enterprise, h.app.now())
        .await
        .unwrap();
    let mut alice = Listening::open(&h, &team.alice.token).await;
    // A timer started "from another device" (the API).
    let entry = h.start(&team.alice, t0() - min(5), "from phone").await;
    assert!(alice.hears("event: timer_started").await);
    assert!(alice.seen.contains(&entry.to_string()));
    // Capture turned on: a notification arrives live.
    h.call(
        "PATCH",
        "/api/v1/workspace",
        Some(&team.admin.token),
        Some(json!({"screenshots_enabled": true})),
    )
    .await
    .expect(200);
    assert!(alice.hears("event: notification").await);
    assert!(alice.hears("event: settings_changed").await);
    let id = ScreenshotId::new();
    h.upload(&team.alice.token, id, entry, t0(), image(1))
        .await
        .expect(201);
    // The owner's open pages hear of it (ids only).
    assert!(alice.hears("event: screenshot_added").await);
    assert!(alice.seen.contains(&format!(
        r#"{{"type":"screenshot_added","screenshot_id":"{id}","entry_id":"{entry}"}}"#
    )));
    h.stop(&team.alice, t0()).await;
    assert!(alice.hears("event: timer_stopped").await);
    h.delete_screenshot(&team.admin.token, id).await.expect(200);
    assert!(alice.hears("event: screenshot_deleted").await);
    h.call(
        "DELETE",
        &format!("/api/v1/entries/{entry}"),
        Some(&team.alice.token),
        None,
    )
    .await
    .expect(200);
    assert!(alice.hears("event: entry_deleted").await);
}

/// A stream that may have missed the end of its own session (another replica could not send
/// it, or the stream fell behind the endings) checks its session again: revoked, it closes;
/// still valid, it hears only that it lagged and stays open.
async fn a_stream_that_may_have_missed_its_ending_checks_its_session(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let mut alices = Listening::open(&h, &team.alice.token).await;
    let mut bobs = Listening::open(&h, &team.bob.token).await;
    // Alice's session goes without this replica hearing of it.
    h.store
        .delete_session(shotclock_server::auth::token_hash(&team.alice.token))
        .await
        .unwrap();
    h.app.hub().lag_all();
    assert!(
        !alices.hears("event: never said").await,
        "the stream outlived its session: {:?}",
        alices.seen
    );
    assert!(bobs.hears("event: lagged").await);
    let entry = h.start(&team.bob, t0() - min(5), "still heard").await;
    assert!(bobs.hears("event: timer_started").await);
    assert!(bobs.seen.contains(&entry.to_string()));
}

/// Tables with a `user_id` or `workspace_id` column, read from the schema itself.
fn person_tables(db: &std::path::Path) -> Vec<(String, Vec<String>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut tables = Vec::new();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for name in names {
        let cols: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{name}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let keys: Vec<String> = cols
            .into_iter()
            .filter(|c| c == "user_id" || c == "workspace_id")
            .collect();
        if !keys.is_empty() {
            tables.push((name, keys));
        }
    }
    tables
}

fn rows_of(db: &std::path::Path, table: &str, col: &str, id: uuid::Uuid) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        &format!("SELECT count(*) FROM {table} WHERE {col} = ?1"),
        [id],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test]
async fn r23_deleting_an_account_removes_everything_of_the_user_and_nothing_else() {
    let h = Harness::new();
    let team = h.team("acme").await;
    h.enable_capture(&team).await;
    for who in [&team.alice, &team.bob] {
        let entry = h.start(who, t0() - min(30), "work").await;
        for i in 0..3 {
            h.upload(
                &who.token,
                ScreenshotId::new(),
                entry,
                t0() - min(20 - i),
                image(i as u64),
            )
            .await
            .expect(201);
        }
        h.stop(who, t0()).await;
        h.start(who, t0() - min(1), "still running").await;
    }
    assert_eq!(h.blob_files().await.len(), 6);
    let db = h.dir.path().join("shotclock.db");
    let tables = person_tables(&db);
    let names: Vec<&str> = tables.iter().map(|(t, _)| t.as_str()).collect();
    for expected in [
        "users",
        "sessions",
        "entries",
        "screenshots",
        "notifications",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    let user_tables: Vec<&(String, Vec<String>)> = tables
        .iter()
        .filter(|(_, cols)| cols.iter().any(|c| c == "user_id"))
        .collect();
    // Rows this test has no flow for: a recording app's live connection and a single-sign-on
    // link or one-time code. They go with the user by foreign key (checked below for Alice all
    // the same); presence.rs and sso.rs fill them.
    let filled_elsewhere = [
        "app_presence",
        "app_last_seen",
        "sso_identities",
        "sso_codes",
    ];
    for (table, _) in &user_tables {
        if table != "users" && !filled_elsewhere.contains(&table.as_str()) {
            // Every person-table holds something of both, so the test proves something.
            assert!(
                rows_of(&db, table, "user_id", *team.alice.id.as_uuid()) > 0,
                "{table}"
            );
            assert!(
                rows_of(&db, table, "user_id", *team.bob.id.as_uuid()) > 0,
                "{table}"
            );
        }
    }
    let bob_before: Vec<i64> = user_tables
        .iter()
        .map(|(t, _)| rows_of(&db, t, "user_id", *team.bob.id.as_uuid()))
        .collect();
    let ws_before: Vec<i64> = tables
        .iter()
        .filter(|(t, c)| t != "tombstones" && c.iter().any(|c| c == "workspace_id"))
        .map(|(t, _)| rows_of(&db, t, "workspace_id", *team.ws.as_uuid()))
        .collect();

    h.call("DELETE", "/api/v1/me", Some(&team.alice.token), None)
        .await
        .expect(204);
    h.get("/api/v1/me", &team.alice.token).await.expect(401);

    for (table, _) in &user_tables {
        assert_eq!(
            rows_of(&db, table, "user_id", *team.alice.id.as_uuid()),
            0,
            "{table}"
        );
    }
    let users: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM users WHERE id = ?1",
            [*team.alice.id.as_uuid()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(users, 0);
    let bob_after: Vec<i64> = user_tables
        .iter()
        .map(|(t, _)| rows_of(&db, t, "user_id", *team.bob.id.as_uuid()))
        .collect();
    assert_eq!(bob_before, bob_after, "nothing of a bystander is gone");
    // Tombstones grow (left out above): they keep the deleted ids, nothing else of the person,
    // so that no retry brings them back.
    let ws_after: Vec<i64> = tables
        .iter()
        .filter(|(t, c)| t != "tombstones" && c.iter().any(|c| c == "workspace_id"))
        .map(|(t, _)| rows_of(&db, t, "workspace_id", *team.ws.as_uuid()))
        .collect();
    assert!(ws_after.iter().zip(&ws_before).all(|(a, b)| a <= b));
    assert_eq!(
        h.blob_files().await.len(),
        3,
        "alice's files are gone, bob's stay"
    );
    // The owner cannot delete their account (the workspace would be orphaned).
    h.call("DELETE", "/api/v1/me", Some(&team.owner.token), None)
        .await
        .expect(409);
}

/// Uploads a screenshot whose entry description carries a random marker, deletes it (the
/// entry goes with it), and reports whether the marker or the image hash is still readable in
/// the raw database + WAL files.
async fn residue_after_delete(secure_delete: bool) -> bool {
    let h = Harness::build(|_| {}, secure_delete);
    let team = h.team("acme").await;
    h.enable_capture(&team).await;
    let marker = format!("MARKER-{:016x}", rand::random::<u64>());
    let entry = h.start(&team.alice, t0() - min(30), &marker).await;
    h.stop(&team.alice, t0()).await;
    let id = ScreenshotId::new();
    let img = image(rand::random());
    let hash: [u8; 32] =
        sha2::Digest::finalize(sha2::Digest::chain_update(sha2::Sha256::default(), &img)).into();
    h.upload(&team.alice.token, id, entry, t0() - min(20), img)
        .await
        .expect(201);
    h.store.scrub().await.unwrap();
    assert!(
        h.database_files_hold(marker.as_bytes()) && h.database_files_hold(&hash),
        "marker is written"
    );

    h.delete_screenshot(&team.alice.token, id).await.expect(200);
    assert!(h.blob_files().await.is_empty());
    h.database_files_hold(marker.as_bytes()) || h.database_files_hold(&hash)
}

#[tokio::test]
async fn r24_deleted_data_is_not_readable_in_the_database_files() {
    assert!(
        !residue_after_delete(true).await,
        "secure_delete + checkpoint leave no copy"
    );
    assert!(
        residue_after_delete(false).await,
        "without secure_delete the same scan finds it"
    );
}

/// The sweep removes files no row references once past the grace period, and maintenance
/// says so in the log only when it removed something.
async fn sweeper_removes_unreferenced_files_only(db: Db) {
    const DID: &str = ": maintenance purged=";
    let logs = Logs::default();
    let _logging = logs.capture();
    let h = Harness::on(db);
    let team = h.team("acme").await;
    h.enable_capture(&team).await;
    let entry = h.start(&team.alice, t0() - min(30), "work").await;
    h.upload(
        &team.alice.token,
        ScreenshotId::new(),
        entry,
        t0() - min(20),
        image(1),
    )
    .await
    .expect(201);
    let orphan = shotclock_server::blobs::blob_key(ScreenshotId::new(), &[0xcd; 32]);
    h.app
        .blobs()
        .put(&orphan, vec![1, 2, 3].into())
        .await
        .unwrap();
    assert_eq!(h.blob_files().await.len(), 2);
    // Within the grace period nothing is touched (it could be an upload in flight).
    let r = shotclock_server::maintenance::run(&h.app, std::time::Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(r.swept, 0);
    assert_eq!(logs.count(DID), 0, "nothing done, nothing said");
    let r = shotclock_server::maintenance::run(&h.app, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(r.swept, 1);
    assert_eq!(h.blob_files().await.len(), 1);
    assert!(h.app.blobs().get(&orphan).await.unwrap().is_none());
    assert_eq!(logs.count(&format!("{DID}0 swept=1 ")), 1);
}

/// The same upload reaches two replicas (the app retried while its first attempt still waited
/// for the write lock), and the retry's write fails for a storage reason (its group could not
/// take the lock in time). The retry must not remove the bytes under the key it shares with the
/// first attempt, which then stores its row: only a refusal by the rules removes them; any other
/// failure leaves them to the sweep.
#[tokio::test]
async fn a_retry_that_fails_leaves_the_bytes_of_the_attempt_that_stores_them() {
    let h = Harness::on(Db::Postgres);
    let team = h.team("acme").await;
    h.enable_capture(&team).await;
    let entry = h.start(&team.alice, t0() - min(30), "work").await;
    let impatient = h.replica(|o| o.write_lock_timeout = std::time::Duration::from_millis(200));
    let holder = common::hold_write_lock(h.pg_url.as_deref().unwrap()).await;

    let (id, at) = (ScreenshotId::new(), t0() - min(5));
    let token = team.alice.token.clone();
    let first = tokio::spawn(common::respond(
        h.router.clone(),
        common::upload_request(&token, id, entry, at, image(1)),
    ));
    common::eventually("the first attempt to wait for the write lock", || async {
        let waiting: i64 = holder
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        waiting > 0
    })
    .await;
    let retry = common::respond(
        impatient,
        common::upload_request(&token, id, entry, at, image(1)),
    )
    .await;
    assert!(retry.status >= 500, "{}", retry.status);
    drop(holder);
    first.await.unwrap().expect(201);

    let r = h
        .get(&format!("/api/v1/screenshots/{id}/image"), &token)
        .await;
    r.expect(200);
    assert_eq!(r.body, image(1));
}

/// An upload the rules refuse in its write (its entry went between the read-only check and the
/// write) removes the bytes it had stored.
#[tokio::test]
async fn an_upload_refused_in_its_write_removes_its_bytes() {
    use shotclock_server::store::JobEnd;
    let h = Harness::new();
    let team = h.team("acme").await;
    h.enable_capture(&team).await;
    let entry = h.start(&team.alice, t0() - min(30), "work").await;
    // A write that holds the writer until the upload has stored its bytes, then removes the
    // entry.
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let (done_tx, done) = tokio::sync::oneshot::channel();
    h.backend
        .write(Box::new(move |rows| {
            let _ = wait.recv();
            let result = rows.and_then(|rows| rows.delete_entry(entry));
            JobEnd {
                keep: result.is_ok(),
                done: Box::new(move |commit| {
                    let _ = done_tx.send(commit.and(result));
                }),
            }
        }))
        .unwrap();
    let upload = tokio::spawn(common::respond(
        h.router.clone(),
        common::upload_request(
            &team.alice.token,
            ScreenshotId::new(),
            entry,
            t0() - min(5),
            image(1),
        ),
    ));
    common::eventually("the upload to store its bytes", || async {
        !h.blob_files().await.is_empty()
    })
    .await;
    go.send(()).unwrap();
    done.await.unwrap().unwrap();
    let r = upload.await.unwrap();
    assert!((400..500).contains(&r.status), "{}", r.status);
    assert!(h.blob_files().await.is_empty());
}

/// What the service logs on this thread while it lives.
#[derive(Clone, Default)]
struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    /// Logs the current thread's events (a `#[tokio::test]` runs its tasks on it) until the
    /// guard drops.
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(self.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    /// How many lines say `what`.
    fn count(&self, what: &str) -> usize {
        let bytes = self.0.lock().unwrap();
        String::from_utf8_lossy(&bytes).matches(what).count()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

/// A file that cannot be removed (here a directory stands where it was) does not undo a
/// committed delete: the answer is 200 and the owner's pages hear of it. Nor does it stop the
/// sweep from removing the other orphans; once it can be removed, the next sweep removes it.
/// Each time a file is left behind the operator is warned, and only then.
#[tokio::test]
async fn a_file_that_cannot_be_removed_fails_neither_the_delete_nor_the_sweep() {
    use shotclock_server::events::Frame;
    const DELETE_LEFT: &str = "files of deleted screenshots could not be removed";
    const SWEEP_LEFT: &str = "orphan files could not be removed";
    let logs = Logs::default();
    let _logging = logs.capture();
    let h = Harness::new();
    let (team, entry, shots) = h.alices_stopped_entry("acme", &[20, 10]).await;
    let key = h.raw_screenshot(shots[0]).await.unwrap().blob_key;
    let path = h.dir.path().join("blobs").join(&key);
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("in-the-way"), b"x").unwrap();
    let mut events = h.app.hub().subscribe(team.alice.id);

    h.delete_screenshot(&team.admin.token, shots[0])
        .await
        .expect(200);
    assert!(h.raw_screenshot(shots[0]).await.is_none());
    assert_eq!(logs.count(DELETE_LEFT), 1, "the operator is warned");
    assert_eq!(
        events.try_recv().unwrap(),
        Frame::Event(shotclock_api::dto::Event::ScreenshotDeleted {
            screenshot_id: shots[0],
            entry_id: entry,
        })
    );

    let orphan = shotclock_server::blobs::blob_key(ScreenshotId::new(), &[0xcd; 32]);
    h.app.blobs().put(&orphan, vec![1].into()).await.unwrap();
    let (swept, _) = shotclock_server::maintenance::sweep(&h.app, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(swept, 1, "the other orphan is removed");
    assert!(h.app.blobs().get(&orphan).await.unwrap().is_none());
    assert!(h.blob_files().await.contains(&key), "the stuck one is left");
    assert_eq!(logs.count(SWEEP_LEFT), 1, "the operator is warned");

    std::fs::remove_dir_all(&path).unwrap();
    std::fs::write(&path, b"x").unwrap();
    let (swept, _) = shotclock_server::maintenance::sweep(&h.app, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(swept, 1);
    let left = h.blob_files().await;
    assert!(!left.contains(&key), "{left:?}");
    assert_eq!(left.len(), 1, "the other screenshot's file stays");

    // Deleted and swept with nothing left behind: no warning.
    h.delete_screenshot(&team.admin.token, shots[1])
        .await
        .expect(200);
    assert!(h.blob_files().await.is_empty());
    assert_eq!(
        logs.count(DELETE_LEFT),
        1,
        "warned once, for the stuck file"
    );
    assert_eq!(logs.count(SWEEP_LEFT), 1, "warned once, by the first sweep");
}

/// One entry by id reads as it is listed, and is gone once deleted.
async fn one_entry_reads_as_it_is_listed(db: Db) {
    let h = Harness::on(db);
    let (team, entry, _) = h.alices_stopped_entry("acme", &[10]).await;
    let path = format!("/api/v1/entries/{entry}");
    let one = h.get(&path, &team.alice.token).await;
    one.expect(200);
    let listed = h.entry_json(&team.alice.token, entry).await.unwrap();
    assert_eq!(one.json(), listed);
    assert_eq!(h.get(&path, &team.admin.token).await.json(), listed);
    h.call("DELETE", &path, Some(&team.alice.token), None)
        .await
        .expect(200);
    assert_eq!(h.get(&path, &team.alice.token).await.status, 404);
}

common::all_backends!(
    health_version_header_and_incompatible_versions,
    one_entry_reads_as_it_is_listed,
    ten_wrong_passwords_answer_429_with_retry_after,
    members_and_signup_validate_input,
    signup_when_allowed,
    malformed_oversized_and_mistyped_json,
    upload_is_idempotent_by_id_and_hash,
    upload_rejects_bad_images_bodies_and_times,
    sse_streams_timer_notifications_and_deletes_live,
    a_stream_that_may_have_missed_its_ending_checks_its_session,
    sweeper_removes_unreferenced_files_only,
);
