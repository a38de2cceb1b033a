//! The edge is strict: every answer carries the headers that keep private data out of caches
//! and browsers' sniffing, nonsense input is refused with `{code, message}` and changes
//! nothing, a wrong method answers 405 with `Allow`, and every request is counted by route.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::Request;
use chrono::TimeDelta;
use common::{Db, Harness, Resp, image, rfc, t0};
use serde_json::{Value, json};
use shotclock_api::ScreenshotId;

#[track_caller]
fn header<'a>(r: &'a Resp, name: &str) -> Option<&'a str> {
    r.headers.get(name).map(|v| v.to_str().unwrap())
}

#[track_caller]
fn private_headers(r: &Resp, what: &str) {
    assert_eq!(header(r, "cache-control"), Some("no-store"), "{what}");
    assert_eq!(
        header(r, "x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert!(header(r, "access-control-allow-origin").is_none(), "{what}");
    assert!(header(r, "x-request-id").is_some(), "{what}");
}

async fn images_private_json_and_errors_carry_the_exact_headers(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    h.enable_capture(&team).await;
    let entry = h
        .start(&team.alice, t0() - TimeDelta::minutes(5), "work")
        .await;
    let id = ScreenshotId::new();
    h.upload(
        &team.alice.token,
        id,
        entry,
        t0() - TimeDelta::minutes(1),
        image(1),
    )
    .await
    .expect(201);

    let img = h
        .get(
            &format!("/api/v1/screenshots/{id}/image"),
            &team.alice.token,
        )
        .await;
    img.expect(200);
    assert_eq!(header(&img, "content-type"), Some("image/webp"));
    private_headers(&img, "image");

    let me = h.get("/api/v1/me", &team.alice.token).await;
    me.expect(200);
    assert_eq!(header(&me, "content-type"), Some("application/json"));
    private_headers(&me, "private JSON");

    let missing = h
        .get(
            &format!("/api/v1/screenshots/{}", ScreenshotId::new()),
            &team.alice.token,
        )
        .await;
    missing.expect(404);
    assert_eq!(missing.code(), "not_found");
    private_headers(&missing, "error");

    // A browser's cross-origin request gets no CORS grant.
    let req = Request::get("/api/v1/me")
        .header("authorization", format!("Bearer {}", team.alice.token))
        .header("origin", "https://evil.example")
        .body(Body::empty())
        .unwrap();
    let r = h.send(req).await;
    private_headers(&r, "cross-origin");
}

async fn a_wrong_method_answers_405_with_allow(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let r = h
        .call("DELETE", "/api/v1/timer", Some(&team.alice.token), None)
        .await;
    r.expect(405);
    assert_eq!(r.code(), "method_not_allowed");
    assert_eq!(header(&r, "allow"), Some("GET,HEAD"));
    // An unknown path stays a plain 404.
    let r = h
        .call(
            "DELETE",
            "/api/v1/nothing-here",
            Some(&team.alice.token),
            None,
        )
        .await;
    r.expect(404);
}

async fn nonsense_input_is_refused_and_changes_nothing(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    h.enable_capture(&team).await;
    let admin = team.admin.token.clone();
    let alice = team.alice.token.clone();
    let bob_path = format!("/api/v1/members/{}", team.bob.id);
    let start = |description: &str, at: &str| json!({"entry_id": shotclock_api::EntryId::new(), "description": description, "start": at});
    let member = |email: &str, name: &str| json!({"email": email, "name": name, "password": "a long and unusual passphrase 42", "role": "member"});
    let now = rfc(t0());
    let cases: Vec<(&str, &str, String, Value, u16, &str)> = vec![
        (
            "year 0000",
            "POST",
            "/api/v1/timer/start".into(),
            start("x", "0000-01-01T00:00:00Z"),
            422,
            "validation",
        ),
        (
            "before 2000",
            "POST",
            "/api/v1/timer/start".into(),
            start("x", "1999-12-31T23:59:59Z"),
            422,
            "validation",
        ),
        (
            "NUL in a description",
            "POST",
            "/api/v1/timer/start".into(),
            start("a\u{0}b", &now),
            422,
            "validation",
        ),
        (
            "BEL in a description",
            "POST",
            "/api/v1/timer/start".into(),
            start("ding\u{7}", &now),
            422,
            "validation",
        ),
        (
            "right-to-left override",
            "POST",
            "/api/v1/timer/start".into(),
            start("invoice\u{202E}fdp.exe", &now),
            422,
            "validation",
        ),
        (
            "NUL in a name",
            "POST",
            "/api/v1/members".into(),
            member("new@acme.test", "Ne\u{0}w"),
            422,
            "validation",
        ),
        (
            "bidi isolate in a name",
            "POST",
            "/api/v1/members".into(),
            member("new@acme.test", "\u{2066}New"),
            422,
            "validation",
        ),
        (
            "NUL in an email",
            "POST",
            "/api/v1/members".into(),
            member("ne\u{0}w@acme.test", "New"),
            422,
            "validation",
        ),
        (
            "an array for a member",
            "PATCH",
            bob_path.clone(),
            json!(["admin"]),
            400,
            "bad_request",
        ),
        (
            "an array for the settings",
            "PATCH",
            "/api/v1/workspace".into(),
            json!([false, false]),
            400,
            "bad_request",
        ),
        (
            "a number for a stop",
            "POST",
            "/api/v1/timer/stop".into(),
            json!(42),
            400,
            "bad_request",
        ),
    ];
    for (what, method, path, body, status, code) in cases {
        let token = if path.starts_with("/api/v1/timer") {
            &alice
        } else {
            &admin
        };
        let r = h.call(method, &path, Some(token), Some(body)).await;
        assert_eq!(
            r.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.code(), code, "{what}");
    }

    // Nothing changed: no timer, no new member, bob still a member, capture still on.
    let timer = h.get("/api/v1/timer", &alice).await;
    assert_eq!(timer.json()["running"], Value::Null);
    let members = h.get("/api/v1/members", &admin).await.json();
    let list = members["members"].as_array().unwrap();
    assert_eq!(list.len(), 4);
    let bob = list
        .iter()
        .find(|m| m["id"] == team.bob.id.to_string())
        .unwrap();
    assert_eq!(bob["role"], "member");
    let ws = h.get("/api/v1/workspace", &admin).await.json();
    assert_eq!(ws["screenshots_enabled"], true);

    // An upload dated before 2000 is refused the same way.
    let entry = h
        .start(&team.alice, t0() - TimeDelta::minutes(5), "work")
        .await;
    let at = chrono::DateTime::parse_from_rfc3339("1999-06-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let r = h
        .upload(&alice, ScreenshotId::new(), entry, at, image(2))
        .await;
    r.expect(422);
    assert_eq!(r.code(), "validation");
}

async fn every_body_size_error_is_json(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let entry = h
        .start(&team.alice, t0() - TimeDelta::minutes(5), "work")
        .await;
    let huge = format!(
        "{{\"approved\": true, \"pad\": \"{}\"}}",
        "x".repeat(200_000)
    );
    let req = Request::post(format!("/api/v1/entries/{entry}/approve"))
        .header("authorization", format!("Bearer {}", team.admin.token))
        .header("content-type", "application/json")
        .body(Body::from(huge.clone()))
        .unwrap();
    let r = h.send(req).await;
    r.expect(413);
    assert_eq!(r.code(), "payload_too_large");
    let req = Request::post("/api/v1/timer/start")
        .header("authorization", format!("Bearer {}", team.alice.token))
        .header("content-type", "application/json")
        .body(Body::from(huge))
        .unwrap();
    let r = h.send(req).await;
    r.expect(413);
    assert_eq!(r.code(), "payload_too_large");
    // The optional approve body still works empty.
    let r = h
        .call(
            "POST",
            &format!("/api/v1/entries/{entry}/approve"),
            Some(&team.admin.token),
            None,
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["approved"], true);
}

async fn requests_are_counted_by_route_template_never_by_raw_path(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let id = ScreenshotId::new();
    h.get(&format!("/api/v1/screenshots/{id}"), &team.alice.token)
        .await
        .expect(404);
    h.get("/api/v1/me", &team.alice.token).await.expect(200);
    let r = h.call("GET", "/metrics", None, None).await;
    r.expect(200);
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(
        text.contains(
            "shotclock_http_requests_total{route=\"/api/v1/screenshots/{id}\",method=\"GET\",status=\"404\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("route=\"/api/v1/me\",method=\"GET\",status=\"200\"} 1"));
    assert!(!text.contains(&id.to_string()), "an id reached a label");
    assert!(!text.contains(&team.alice.token), "a token reached a label");
    // The store's writer ran the team's set-up.
    let counter = |name: &str| {
        text.lines()
            .find_map(|line| {
                line.strip_prefix(name)?
                    .strip_prefix(' ')?
                    .parse::<f64>()
                    .ok()
            })
            .unwrap_or_else(|| panic!("{name} missing from {text}"))
    };
    assert!(counter("shotclock_write_jobs_total") >= 1.0);
    assert!(counter("shotclock_write_groups_total") >= 1.0);
    assert!(counter("shotclock_write_busy_seconds_total") > 0.0);
    assert!(counter("shotclock_write_lock_wait_seconds_total") >= 0.0);
}

common::all_backends!(
    images_private_json_and_errors_carry_the_exact_headers,
    a_wrong_method_answers_405_with_allow,
    nonsense_input_is_refused_and_changes_nothing,
    every_body_size_error_is_json,
    requests_are_counted_by_route_template_never_by_raw_path,
);
