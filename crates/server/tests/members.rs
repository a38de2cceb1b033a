//! Managing members (R38) on every backend: invitations (one-time, expiring, revocable links
//! that sign the invitee in), role changes, deactivation and removal with the owner protected,
//! and the member list everyone reads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::Request;
use chrono::TimeDelta;
use common::{Db, Harness, PASSWORD, Team, read_until};
use serde_json::{Value, json};
use shotclock_server::serve;

const HOST: &str = "shotclock.localhost:8080";
const ORIGIN: &str = "http://shotclock.localhost:8080";

/// The invitee's browser accepting `token` from the service's own page.
async fn accept(h: &Harness, token: &str, name: &str, password: &str) -> common::Resp {
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/invitations/accept")
        .header("host", HOST)
        .header("origin", ORIGIN)
        .header("x-shotclock", "1")
        .header("content-type", "application/json")
        .body(Body::from(
            serde_json::to_vec(&json!({"token": token, "name": name, "password": password}))
                .unwrap(),
        ))
        .unwrap();
    h.send(req).await
}

async fn invite(h: &Harness, by: &str, email: &str, role: &str) -> common::Resp {
    h.call(
        "POST",
        "/api/v1/invitations",
        Some(by),
        Some(json!({"email": email, "role": role})),
    )
    .await
}

fn token_of(created: &common::Resp) -> String {
    created.json()["token"].as_str().unwrap().to_owned()
}

async fn members(h: &Harness, token: &str) -> Vec<Value> {
    let r = h.get("/api/v1/members", token).await;
    r.expect(200);
    r.json()["members"].as_array().unwrap().clone()
}

async fn pending(h: &Harness, admin: &str) -> Vec<Value> {
    let r = h.get("/api/v1/invitations", admin).await;
    r.expect(200);
    r.json()["invitations"].as_array().unwrap().clone()
}

async fn login(h: &Harness, email: &str) -> common::Resp {
    h.login(email, PASSWORD).await
}

async fn patch(h: &Harness, by: &str, who: impl std::fmt::Display, body: Value) -> common::Resp {
    h.call(
        "PATCH",
        &format!("/api/v1/members/{who}"),
        Some(by),
        Some(body),
    )
    .await
}

async fn remove(h: &Harness, by: &str, who: impl std::fmt::Display) -> common::Resp {
    h.call("DELETE", &format!("/api/v1/members/{who}"), Some(by), None)
        .await
}

async fn an_invitation_signs_the_invitee_up_once(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let created = invite(&h, &team.admin.token, " Carol@Acme.test ", "member").await;
    created.expect(201);
    let token = token_of(&created);
    assert_eq!(token.len(), 64);
    // The secret rides in the fragment, never in a path or query a server logs.
    assert_eq!(
        created.json()["link_path"],
        format!("/invite/#{token}").as_str()
    );
    let inv = created.json()["invitation"].clone();
    assert_eq!(inv["email"], "carol@acme.test");
    assert_eq!(inv["role"], "member");
    assert_eq!(inv["expired"], false);
    let lifetime = chrono::DateTime::parse_from_rfc3339(inv["expires_at"].as_str().unwrap())
        .unwrap()
        - chrono::DateTime::parse_from_rfc3339(inv["created_at"].as_str().unwrap()).unwrap();
    assert_eq!(lifetime, TimeDelta::days(7));
    // Only its hash is stored.
    let listed = pending(&h, &team.owner.token).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], inv["id"]);
    assert!(listed[0].get("token").is_none());
    let hash = shotclock_server::auth::invitation_token_hash(&token);
    let stored = h
        .raw(move |rows| rows.invitation_by_token(&hash))
        .await
        .unwrap();
    assert_eq!(stored.email, "carol@acme.test");
    // Admins only; a member, or a weak password, gets nowhere.
    h.get("/api/v1/invitations", &team.alice.token)
        .await
        .expect(403);
    invite(&h, &team.alice.token, "x@acme.test", "member")
        .await
        .expect(403);
    let weak = accept(&h, &token, "Carol", "carol").await;
    weak.expect(422);

    // Accepting signs the invitee in, in this browser.
    let ok = accept(&h, &token, "Carol", "correct horse battery").await;
    ok.expect(200);
    assert_eq!(ok.json()["user"]["email"], "carol@acme.test");
    assert_eq!(ok.json()["user"]["role"], "member");
    assert_eq!(ok.json()["user"]["name"], "Carol");
    let set = ok.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
    let cookie = set.split(';').next().unwrap().to_owned();
    let me = h
        .send(
            Request::builder()
                .uri("/api/v1/me")
                .header("cookie", cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    me.expect(200);
    assert_eq!(me.json()["user"]["email"], "carol@acme.test");
    // A member now: listed for everyone, no longer pending, and signs in with the password.
    let listed = members(&h, &team.bob.token).await;
    let carol = listed
        .iter()
        .find(|m| m["email"] == "carol@acme.test")
        .unwrap();
    assert_eq!(carol["active"], true);
    assert!(pending(&h, &team.admin.token).await.is_empty());
    h.login("carol@acme.test", "correct horse battery")
        .await
        .expect(200);
    // The link works once.
    let again = accept(&h, &token, "Mallory", "another long password").await;
    again.expect(410);
    assert_eq!(again.code(), "invitation_used");
    // An admin invitation makes an admin.
    let created = invite(&h, &team.owner.token, "dan@acme.test", "admin").await;
    created.expect(201);
    let ok = accept(&h, &token_of(&created), "Dan", "tulip orbit seventy jam").await;
    ok.expect(200);
    assert_eq!(ok.json()["user"]["role"], "admin");
}

async fn revoked_unknown_and_expired_links_are_refused(db: Db) {
    let h = Harness::build_on(db, |c| c.invitation_ttl = TimeDelta::hours(1), true);
    let team = h.team("acme").await;
    let pw = "a long enough password";

    // Revoked answers exactly like unknown.
    let created = invite(&h, &team.admin.token, "erin@acme.test", "member").await;
    let id = created.json()["invitation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked_token = token_of(&created);
    h.call(
        "DELETE",
        &format!("/api/v1/invitations/{id}"),
        Some(&team.alice.token),
        None,
    )
    .await
    .expect(403);
    h.call(
        "DELETE",
        &format!("/api/v1/invitations/{id}"),
        Some(&team.admin.token),
        None,
    )
    .await
    .expect(204);
    h.call(
        "DELETE",
        &format!("/api/v1/invitations/{id}"),
        Some(&team.admin.token),
        None,
    )
    .await
    .expect(404);
    assert!(pending(&h, &team.admin.token).await.is_empty());
    let revoked = accept(&h, &revoked_token, "Erin", pw).await;
    let unknown = accept(&h, &"ab".repeat(32), "Erin", pw).await;
    revoked.expect(404);
    unknown.expect(404);
    assert_eq!(revoked.body, unknown.body);
    assert_eq!(revoked.code(), "not_found");

    // A second invitation of the same email replaces the first.
    let first = token_of(&invite(&h, &team.admin.token, "fay@acme.test", "member").await);
    let second = token_of(&invite(&h, &team.admin.token, "fay@acme.test", "member").await);
    assert_eq!(pending(&h, &team.admin.token).await.len(), 1);
    accept(&h, &first, "Fay", pw).await.expect(404);

    // Expired: listed as such, and refused with its own code.
    h.clock.advance(TimeDelta::hours(1));
    let listed = pending(&h, &team.admin.token).await;
    assert_eq!(listed[0]["expired"], true);
    let late = accept(&h, &second, "Fay", pw).await;
    late.expect(410);
    assert_eq!(late.code(), "invitation_expired");
    assert!(login(&h, "fay@acme.test").await.status == 401);

    // Members already, the owner role, and nonsense are refused at the invitation.
    invite(&h, &team.admin.token, &team.bob.email, "member")
        .await
        .expect(409);
    invite(&h, &team.admin.token, "gus@acme.test", "owner")
        .await
        .expect(422);
    invite(&h, &team.admin.token, "not an email", "member")
        .await
        .expect(422);
    // Accepting needs the page's own header and Origin.
    let created = invite(&h, &team.admin.token, "hal@acme.test", "member").await;
    let cross = h
        .call(
            "POST",
            "/api/v1/invitations/accept",
            None,
            Some(json!({"token": token_of(&created), "name": "Hal", "password": pw})),
        )
        .await;
    cross.expect(403);
    // Another workspace's admin cannot revoke it.
    let other = h.team("globex").await;
    let id = created.json()["invitation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    h.call(
        "DELETE",
        &format!("/api/v1/invitations/{id}"),
        Some(&other.admin.token),
        None,
    )
    .await
    .expect(404);
    accept(&h, &token_of(&created), "Hal", pw).await.expect(200);
}

async fn guessing_links_is_throttled_like_sign_in(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let created = invite(&h, &team.admin.token, "ivy@acme.test", "member").await;
    let mut last = 0;
    for i in 0..40 {
        last = accept(&h, &format!("{i:064x}"), "Ivy", "a long enough password")
            .await
            .status;
        if last == 429 {
            break;
        }
    }
    assert_eq!(last, 429, "guessing went on without a limit");
    // While throttled, even the right link waits.
    accept(&h, &token_of(&created), "Ivy", "a long enough password")
        .await
        .expect(429);
}

async fn admins_change_roles_and_deactivate_with_the_owner_protected(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    // The owner: out of everyone's reach, their own included.
    for (by, body) in [
        (&team.admin.token, json!({"role": "member"})),
        (&team.admin.token, json!({"active": false})),
        (&team.owner.token, json!({"role": "admin"})),
        (&team.owner.token, json!({"active": false})),
    ] {
        let r = patch(&h, by, team.owner.id, body).await;
        r.expect(403);
        assert_eq!(r.code(), "forbidden");
    }
    remove(&h, &team.admin.token, team.owner.id)
        .await
        .expect(403);
    remove(&h, &team.owner.token, team.owner.id)
        .await
        .expect(403);
    // Ownership is never given; members manage nobody; an admin cannot lock themselves out.
    patch(&h, &team.owner.token, team.bob.id, json!({"role": "owner"}))
        .await
        .expect(422);
    patch(&h, &team.alice.token, team.bob.id, json!({"role": "admin"}))
        .await
        .expect(403);
    patch(
        &h,
        &team.admin.token,
        team.admin.id,
        json!({"active": false}),
    )
    .await
    .expect(403);
    // Everyone reads the list (read-only for members).
    let listed = members(&h, &team.alice.token).await;
    assert_eq!(listed.len(), 4);
    let owner = listed.iter().find(|m| m["role"] == "owner").unwrap();
    assert_eq!(owner["email"], team.owner.email.as_str());

    // Promote alice: her sessions end; she signs in again as an admin.
    let r = patch(
        &h,
        &team.admin.token,
        team.alice.id,
        json!({"role": "admin"}),
    )
    .await;
    r.expect(200);
    assert_eq!(r.json()["role"], "admin");
    h.get("/api/v1/me", &team.alice.token).await.expect(401);
    let alice = login(&h, &team.alice.email).await;
    alice.expect(200);
    let alice_token = alice.json()["token"].as_str().unwrap().to_owned();
    h.get("/api/v1/invitations", &alice_token).await.expect(200);

    // Deactivate bob: he cannot sign in, is listed as deactivated, and comes back.
    patch(&h, &alice_token, team.bob.id, json!({"active": false}))
        .await
        .expect(200);
    h.get("/api/v1/me", &team.bob.token).await.expect(401);
    login(&h, &team.bob.email).await.expect(401);
    let listed = members(&h, &team.admin.token).await;
    let bob = listed
        .iter()
        .find(|m| m["id"] == team.bob.id.to_string())
        .unwrap();
    assert_eq!(bob["active"], false);
    patch(&h, &team.admin.token, team.bob.id, json!({"active": true}))
        .await
        .expect(200);
    login(&h, &team.bob.email).await.expect(200);

    // Admins may step down: alice demotes herself.
    patch(&h, &alice_token, team.alice.id, json!({"role": "member"}))
        .await
        .expect(200);
    // Another workspace's admin reaches nobody here.
    let other = h.team("globex").await;
    patch(
        &h,
        &other.admin.token,
        team.bob.id,
        json!({"active": false}),
    )
    .await
    .expect(404);
    remove(&h, &other.admin.token, team.bob.id)
        .await
        .expect(404);
}

async fn removing_a_member_deletes_their_account_and_data(db: Db) {
    let h = Harness::on(db);
    let (team, entry, shots) = h.alices_stopped_entry("acme", &[20, 10]).await;
    assert_eq!(h.blob_files().await.len(), 2);
    remove(&h, &team.bob.token, team.alice.id).await.expect(403);
    remove(&h, &team.admin.token, team.alice.id)
        .await
        .expect(204);
    // R23: her account, sessions, entries and screenshots (rows and files) are gone.
    h.get("/api/v1/me", &team.alice.token).await.expect(401);
    login(&h, &team.alice.email).await.expect(401);
    assert!(h.raw_entry(entry).await.is_none());
    for shot in shots {
        assert!(h.raw_screenshot(shot).await.is_none());
    }
    assert!(h.blob_files().await.is_empty());
    let listed = members(&h, &team.admin.token).await;
    assert!(listed.iter().all(|m| m["id"] != team.alice.id.to_string()));
    remove(&h, &team.admin.token, team.alice.id)
        .await
        .expect(404);
    // She can be invited back, as a new account.
    invite(&h, &team.admin.token, &team.alice.email, "member")
        .await
        .expect(201);
}

async fn deactivating_or_removing_ends_event_streams_at_once_and_nothing_else_does(db: Db) {
    let h = Harness::on(db);
    let team: Team = h.team("acme").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, h.app.clone()));
    let http = reqwest::Client::new();
    let open = |token: String| {
        let http = http.clone();
        let url = format!("{base}/api/v1/events");
        async move {
            let res = http.get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(res.status(), 200);
            res.bytes_stream()
        }
    };
    let mut bob = open(team.bob.token.clone()).await;
    let mut alice = open(team.alice.token.clone()).await;
    assert!(read_until(&mut bob, "event: ready").await);
    assert!(read_until(&mut alice, "event: ready").await);
    // A change that changes nothing ends nothing: bob's stream still hears his timer.
    patch(
        &h,
        &team.admin.token,
        team.bob.id,
        json!({"role": "member", "active": true}),
    )
    .await
    .expect(200);
    h.start(&team.bob, h.app.now(), "kept").await;
    assert!(
        read_until(&mut bob, "event: timer_started").await,
        "an unchanged member's stream ended"
    );
    patch(&h, &team.admin.token, team.bob.id, json!({"active": false}))
        .await
        .expect(200);
    assert!(!read_until(&mut bob, "never").await, "bob's stream went on");
    remove(&h, &team.admin.token, team.alice.id)
        .await
        .expect(204);
    assert!(
        !read_until(&mut alice, "never").await,
        "alice's stream went on"
    );
}

common::all_backends!(
    an_invitation_signs_the_invitee_up_once,
    revoked_unknown_and_expired_links_are_refused,
    guessing_links_is_throttled_like_sign_in,
    admins_change_roles_and_deactivate_with_the_owner_protected,
    removing_a_member_deletes_their_account_and_data,
    deactivating_or_removing_ends_event_streams_at_once_and_nothing_else_does,
);
