//! The authorization matrix: every operation of the served OpenAPI document × six actors.
//!
//! The table below is keyed by (method, path template). The test first loads
//! `/api/v1/openapi.json` from the running router and fails if any documented operation has no
//! row (or a row names an operation that does not exist), so a new endpoint cannot ship without
//! deciding who may call it. Then every cell runs against a fresh service with the same
//! fixtures: alice's stopped entry with two screenshots, her notification, and a second
//! workspace whose admin is the "foreign admin".
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::Request;
use chrono::TimeDelta;
use common::{Db, Harness, PASSWORD, Team, image, rfc, t0};
use serde_json::{Value, json};
use shotclock_api::{EntryId, ScreenshotId};
use tower::ServiceExt;

#[derive(Clone, Copy, Debug)]
enum Actor {
    Anonymous,
    BadToken,
    Member,
    OtherMember,
    Admin,
    ForeignAdmin,
}

const ACTORS: [Actor; 6] = [
    Actor::Anonymous,
    Actor::BadToken,
    Actor::Member,
    Actor::OtherMember,
    Actor::Admin,
    Actor::ForeignAdmin,
];

/// Expected status per actor, in [`ACTORS`] order.
type Row = (&'static str, &'static str, [u16; 6]);

const MATRIX: &[Row] = &[
    ("GET", "/healthz", [200, 200, 200, 200, 200, 200]),
    ("POST", "/api/v1/auth/login", [200, 200, 200, 200, 200, 200]),
    (
        "POST",
        "/api/v1/auth/logout",
        [401, 401, 204, 204, 204, 204],
    ),
    // Browser sign-in needs the page's own header and Origin, which no actor here sends.
    ("POST", "/api/v1/web/login", [403, 403, 403, 403, 403, 403]),
    // Browser sign-out, too, only from the page itself (header and Origin).
    ("POST", "/api/v1/web/logout", [403, 403, 403, 403, 403, 403]),
    (
        "POST",
        "/api/v1/auth/signup",
        [403, 403, 403, 403, 403, 403],
    ),
    ("GET", "/api/v1/me", [401, 401, 200, 200, 200, 200]),
    ("DELETE", "/api/v1/me", [401, 401, 204, 204, 204, 204]),
    // Everyone reads the member list (R38); admins manage it.
    ("GET", "/api/v1/members", [401, 401, 200, 200, 200, 200]),
    ("POST", "/api/v1/members", [401, 401, 403, 403, 201, 201]),
    (
        "PATCH",
        "/api/v1/members/{id}",
        [401, 401, 403, 403, 200, 404],
    ),
    ("GET", "/api/v1/workspace", [401, 401, 200, 200, 200, 200]),
    ("PATCH", "/api/v1/workspace", [401, 401, 403, 403, 200, 200]),
    // Workspace A is enterprise (no trial needed: 409); B is free (trial starts).
    (
        "POST",
        "/api/v1/workspace/trial",
        [401, 401, 403, 403, 409, 200],
    ),
    (
        "GET",
        "/api/v1/notifications",
        [401, 401, 200, 200, 200, 200],
    ),
    (
        "POST",
        "/api/v1/notifications/{id}/read",
        [401, 401, 200, 404, 404, 404],
    ),
    ("GET", "/api/v1/timer", [401, 401, 200, 200, 200, 200]),
    (
        "POST",
        "/api/v1/timer/start",
        [401, 401, 200, 200, 200, 200],
    ),
    ("POST", "/api/v1/timer/stop", [401, 401, 200, 200, 200, 200]),
    ("GET", "/api/v1/entries", [401, 401, 200, 404, 200, 404]),
    // A manual entry for alice: herself or an admin.
    ("POST", "/api/v1/entries", [401, 401, 201, 404, 201, 404]),
    // Alice's entry: herself or an admin of her workspace.
    (
        "GET",
        "/api/v1/entries/{id}",
        [401, 401, 200, 404, 200, 404],
    ),
    (
        "DELETE",
        "/api/v1/entries/{id}",
        [401, 401, 200, 404, 200, 404],
    ),
    (
        "PATCH",
        "/api/v1/entries/{id}",
        [401, 401, 200, 404, 200, 404],
    ),
    // Alice's week: admins of her workspace only.
    ("POST", "/api/v1/approvals", [401, 401, 403, 403, 200, 404]),
    (
        "POST",
        "/api/v1/entries/{id}/approve",
        [401, 401, 403, 403, 200, 404],
    ),
    ("GET", "/api/v1/screenshots", [401, 401, 200, 404, 200, 404]),
    (
        "GET",
        "/api/v1/screenshots/counts",
        [401, 401, 200, 200, 200, 200],
    ),
    (
        "PUT",
        "/api/v1/screenshots/{id}",
        [401, 401, 201, 404, 404, 404],
    ),
    (
        "GET",
        "/api/v1/screenshots/{id}",
        [401, 401, 200, 404, 200, 404],
    ),
    (
        "DELETE",
        "/api/v1/screenshots/{id}",
        [401, 401, 200, 404, 200, 404],
    ),
    (
        "GET",
        "/api/v1/screenshots/{id}/image",
        [401, 401, 200, 404, 200, 404],
    ),
    ("GET", "/api/v1/events", [401, 401, 200, 200, 200, 200]),
    // Alice leaves the workspace: its admins only.
    (
        "DELETE",
        "/api/v1/members/{id}",
        [401, 401, 403, 403, 204, 404],
    ),
    (
        "POST",
        "/api/v1/invitations",
        [401, 401, 403, 403, 201, 201],
    ),
    ("GET", "/api/v1/invitations", [401, 401, 403, 403, 200, 200]),
    // The fixture's invitation is workspace A's.
    (
        "DELETE",
        "/api/v1/invitations/{id}",
        [401, 401, 403, 403, 204, 404],
    ),
    // Accepting is the browser's only (the page's header and Origin, which no actor sends).
    (
        "POST",
        "/api/v1/invitations/accept",
        [403, 403, 403, 403, 403, 403],
    ),
    (
        "GET",
        "/api/v1/workspace/blocklist",
        [401, 401, 200, 200, 200, 200],
    ),
    (
        "PUT",
        "/api/v1/workspace/blocklist",
        [401, 401, 403, 403, 200, 200],
    ),
    // Everyone reads their own log; no method changes it (tests/privacy.rs).
    ("GET", "/api/v1/access-log", [401, 401, 200, 200, 200, 200]),
    // The Approvals view: admins, each of their own workspace's week.
    ("GET", "/api/v1/approvals", [401, 401, 403, 403, 200, 200]),
    // A recording app reports capture on or off for itself (R38; tests/presence.rs).
    ("PUT", "/api/v1/presence", [401, 401, 204, 204, 204, 204]),
    // Single sign-on settings: admins only (R31; tests/sso.rs). This service has no SSO key,
    // so an admin's save is refused with words (422) before any provider is fetched.
    (
        "GET",
        "/api/v1/workspace/sso",
        [401, 401, 403, 403, 200, 200],
    ),
    (
        "PUT",
        "/api/v1/workspace/sso",
        [401, 401, 403, 403, 422, 422],
    ),
    // The relying party's routes take no session: a start without an email, a callback
    // without a state, an unknown app code — refused alike for everyone.
    ("GET", "/api/v1/sso/start", [422, 422, 422, 422, 422, 422]),
    (
        "GET",
        "/api/v1/sso/callback",
        [400, 400, 400, 400, 400, 400],
    ),
    ("POST", "/api/v1/sso/token", [401, 401, 401, 401, 401, 401]),
    // Unlinking: admins only; a workspace that is not linked is unlinked already (204).
    (
        "DELETE",
        "/api/v1/workspace/sso",
        [401, 401, 403, 403, 204, 204],
    ),
];

struct Fixture {
    h: Harness,
    team: Team,
    foreign: Team,
    entry: EntryId,
    shot: ScreenshotId,
    notification: String,
    invitation: String,
}

async fn fixture(db: Db) -> Fixture {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let foreign = h.team("globex").await;
    h.enable_capture(&team).await;
    let start = t0() - TimeDelta::minutes(30);
    let entry = h.start(&team.alice, start, "fixture").await;
    let shot = ScreenshotId::new();
    h.upload(
        &team.alice.token,
        shot,
        entry,
        start + TimeDelta::minutes(10),
        image(1),
    )
    .await
    .expect(201);
    h.upload(
        &team.alice.token,
        ScreenshotId::new(),
        entry,
        start + TimeDelta::minutes(20),
        image(2),
    )
    .await
    .expect(201);
    h.stop(&team.alice, t0()).await;
    let notes = h.get("/api/v1/notifications", &team.alice.token).await;
    let notification = notes.json()["notifications"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let invited = f_invite(&h, &team).await;
    Fixture {
        h,
        team,
        foreign,
        entry,
        shot,
        notification,
        invitation: invited,
    }
}

async fn f_invite(h: &Harness, team: &Team) -> String {
    let r = h
        .call(
            "POST",
            "/api/v1/invitations",
            Some(&team.admin.token),
            Some(json!({"email": "invited@x.test"})),
        )
        .await;
    r.expect(201);
    r.json()["invitation"]["id"].as_str().unwrap().to_owned()
}

fn request(f: &Fixture, actor: Actor, method: &str, template: &str) -> Request<Body> {
    let id = match template {
        "/api/v1/members/{id}" => f.team.alice.id.to_string(),
        "/api/v1/notifications/{id}/read" => f.notification.clone(),
        "/api/v1/invitations/{id}" => f.invitation.clone(),
        t if t.starts_with("/api/v1/entries/") => f.entry.to_string(),
        "/api/v1/screenshots/{id}" if method == "PUT" => ScreenshotId::new().to_string(),
        t if t.starts_with("/api/v1/screenshots/") => f.shot.to_string(),
        _ => String::new(),
    };
    let mut uri = template.replace("{id}", &id);
    let day = "date=2025-06-02&tz=UTC";
    match (method, template) {
        ("GET", "/api/v1/entries") => uri += &format!("?user_id={}", f.team.alice.id),
        ("GET", "/api/v1/screenshots") => uri += &format!("?user_id={}&{day}", f.team.alice.id),
        ("GET", "/api/v1/screenshots/counts") => uri += &format!("?{day}"),
        ("GET", "/api/v1/approvals") => uri += "?day=2025-06-02&tz=UTC",
        ("PUT", "/api/v1/screenshots/{id}") => {
            uri += &format!(
                "?entry_id={}&captured_at={}",
                f.entry,
                rfc(t0() - TimeDelta::minutes(5))
            );
        }
        _ => {}
    }
    let body: Option<Value> = match (method, template) {
        ("POST", "/api/v1/auth/login" | "/api/v1/web/login") => {
            Some(json!({"email": f.team.alice.email, "password": PASSWORD}))
        }
        ("POST", "/api/v1/auth/signup") => {
            Some(json!({"workspace_name": "x", "email": "x@x.test", "password": "long enough pw"}))
        }
        ("POST", "/api/v1/members") => {
            Some(json!({"email": "new@x.test", "password": "long enough pw"}))
        }
        ("PATCH", "/api/v1/members/{id}") => Some(json!({"role": "member"})),
        ("POST", "/api/v1/invitations") => Some(json!({"email": "new@x.test"})),
        ("POST", "/api/v1/invitations/accept") => Some(json!({
            "token": "0".repeat(64),
            "name": "New",
            "password": "long enough pw",
        })),
        ("PATCH", "/api/v1/workspace") => Some(json!({"blur_enabled": false})),
        ("PUT", "/api/v1/presence") => Some(json!({"capture": true})),
        ("POST", "/api/v1/timer/start") => Some(json!({"entry_id": EntryId::new()})),
        ("POST", "/api/v1/timer/stop") => Some(json!({})),
        ("POST", "/api/v1/entries") => Some(json!({
            "id": EntryId::new(),
            "user_id": f.team.alice.id,
            "description": "by hand",
            "start": rfc(t0() - TimeDelta::minutes(120)),
            "end": rfc(t0() - TimeDelta::minutes(90)),
        })),
        ("PATCH", "/api/v1/entries/{id}") => Some(json!({"description": "renamed"})),
        ("PUT", "/api/v1/workspace/blocklist") => {
            Some(json!({"rules": [{"field": "title", "pattern": "bank"}]}))
        }
        ("PUT", "/api/v1/workspace/sso") => Some(json!({
            "issuer": "https://idp.invalid",
            "client_id": "shotclock",
            "client_secret": "secret",
            "allowed_domains": ["acme.test"],
            "auto_join": false,
            "password_sign_in": true,
        })),
        ("POST", "/api/v1/sso/token") => {
            Some(json!({"code": "unknown", "code_verifier": "v".repeat(43)}))
        }
        ("POST", "/api/v1/approvals") => Some(json!({
            "user_id": f.team.alice.id,
            "date": "2025-06-02",
            "time_zone": "UTC",
            "period": "week",
        })),
        _ => None,
    };
    let mut req = Request::builder().method(method).uri(uri);
    let token = match actor {
        Actor::Anonymous => None,
        Actor::BadToken => Some("0".repeat(64)),
        Actor::Member => Some(f.team.alice.token.clone()),
        Actor::OtherMember => Some(f.team.bob.token.clone()),
        Actor::Admin => Some(f.team.admin.token.clone()),
        Actor::ForeignAdmin => Some(f.foreign.admin.token.clone()),
    };
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let body = if method == "PUT" && template.starts_with("/api/v1/screenshots/") {
        Body::from(image(99))
    } else if let Some(v) = body {
        req = req.header("content-type", "application/json");
        Body::from(serde_json::to_vec(&v).unwrap())
    } else {
        Body::empty()
    };
    req.body(body).unwrap()
}

async fn every_documented_operation_has_a_row_for_every_actor(db: Db) {
    let f = fixture(db).await;
    let doc = f.h.call("GET", "/api/v1/openapi.json", None, None).await;
    doc.expect(200);
    let doc = doc.json();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let in_table: BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let missing: Vec<_> = documented.difference(&in_table).collect();
    let stale: Vec<_> = in_table.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "operations without an authorization row: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "rows for operations that do not exist: {stale:?}"
    );
    assert!(documented.len() >= 25);
}

async fn every_cell_of_the_matrix_holds(db: Db) {
    let mut failures = Vec::new();
    for (method, template, expected) in MATRIX {
        for (actor, want) in ACTORS.iter().zip(expected) {
            // A fresh fixture per cell: cells may delete or change things.
            let f = fixture(db).await;
            let req = request(&f, *actor, method, template);
            let res = f.h.router.clone().oneshot(req).await.unwrap();
            let got = res.status().as_u16();
            if got != *want {
                failures.push(format!(
                    "{method} {template} as {actor:?}: got {got}, want {want}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

async fn fixture_is_what_the_matrix_assumes(db: Db) {
    let f = fixture(db).await;
    assert!(f.h.raw_entry(f.entry).await.unwrap().times.end.is_some());
    assert_eq!(f.h.blob_files().await.len(), 2);
}

common::all_backends!(
    every_documented_operation_has_a_row_for_every_actor,
    every_cell_of_the_matrix_holds,
    fixture_is_what_the_matrix_assumes,
);
