//! Presence of the members' recording apps (R38), on every backend: the real engine
//! (`shotclock-agent`) signs in to the service on a real port; admins see it connected with
//! its capture state, and after it stops, not connected with when it was last seen. Members
//! read the list without presence.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::TimeDelta;
use common::{Db, Harness, PASSWORD, t0};
use serde_json::{Value, json};
use shotclock_agent::{Agent, AgentConfig, Session, SystemClock};
use shotclock_api::{UserId, WorkspaceId};
use shotclock_capture::{CaptureError, Frame, ScreenSource, synthetic};
use shotclock_server::intents::{HeldApp, Liveness};
use shotclock_server::serve;
use uuid::Uuid;

struct Desktop;

impl ScreenSource for Desktop {
    fn capture_all(&mut self) -> Result<Vec<Frame>, CaptureError> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let seed = NEXT.fetch_add(1, Ordering::Relaxed) * 7919;
        Ok(vec![synthetic::desktop_frame(0, 0, 1280, 720, seed)?])
    }
}

async fn list(h: &Harness, token: &str) -> Vec<Value> {
    let r = h.get("/api/v1/members", token).await;
    r.expect(200);
    r.json()["members"].as_array().unwrap().clone()
}

async fn presence(h: &Harness, admin: &str, who: UserId) -> Value {
    list(h, admin)
        .await
        .into_iter()
        .find(|m| m["id"] == who.to_string())
        .unwrap()["presence"]
        .clone()
}

fn seen(p: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    p["last_seen"]
        .as_str()
        .map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap().to_utc())
}

/// Polls the admin's view of `who` until `ok` holds, for at most 10 s.
async fn until(h: &Harness, admin: &str, who: UserId, what: &str, ok: impl Fn(&Value) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let p = presence(h, admin, who).await;
        if ok(&p) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not {what} within 10 s: {p}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn an_engine_shows_connected_with_its_capture_state_then_last_seen(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    h.enable_capture_from_now(&team).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, h.app.clone()));

    // Never seen: not connected, no last seen. Members read the list without presence.
    let never = presence(&h, &team.admin.token, team.alice.id).await;
    assert_eq!(never, json!({"connected": false, "capture": false}));
    assert!(
        list(&h, &team.bob.token)
            .await
            .iter()
            .all(|m| m.get("presence").is_none())
    );
    // The owner is an admin too.
    assert!(
        presence(&h, &team.owner.token, team.alice.id)
            .await
            .is_object()
    );

    let data = tempfile::tempdir().unwrap();
    let session = Session::sign_in(&base, &team.alice.email, PASSWORD)
        .await
        .unwrap();
    let config = AgentConfig {
        data_dir: data.path().to_owned(),
        clock: Arc::new(SystemClock),
    };
    let agent = Agent::start(config, session, Desktop).await.unwrap();
    until(&h, &team.admin.token, team.alice.id, "connected", |p| {
        p["connected"] == true && p["capture"] == false
    })
    .await;
    assert_eq!(
        seen(&presence(&h, &team.admin.token, team.alice.id).await),
        Some(t0())
    );
    // Bob's list is unchanged, and Bob has no app.
    assert_eq!(
        presence(&h, &team.admin.token, team.bob.id).await["connected"],
        false
    );

    // The timer turns capture on in the app; the admin sees it, and off again.
    agent.start_timer("presence".into()).await.unwrap();
    until(&h, &team.admin.token, team.alice.id, "capturing", |p| {
        p["connected"] == true && p["capture"] == true
    })
    .await;
    agent.stop_timer().await.unwrap();
    until(&h, &team.admin.token, team.alice.id, "off", |p| {
        p["connected"] == true && p["capture"] == false
    })
    .await;

    // The app stops: not connected, last seen when it went.
    h.clock.advance(TimeDelta::minutes(3));
    agent.shutdown().await;
    until(&h, &team.admin.token, team.alice.id, "gone", |p| {
        p["connected"] == false
    })
    .await;
    h.clock.advance(TimeDelta::minutes(10));
    let gone = presence(&h, &team.admin.token, team.alice.id).await;
    assert_eq!(
        (&gone["connected"], &gone["capture"]),
        (&json!(false), &json!(false))
    );
    assert_eq!(seen(&gone), Some(t0() + TimeDelta::minutes(3)));
}

async fn only_a_recording_apps_stream_counts(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, h.app.clone()));
    let http = reqwest::Client::new();
    // A plain stream (a script, the raw API) is not a recording app.
    let plain = http
        .get(format!("{base}/api/v1/events"))
        .bearer_auth(&team.alice.token)
        .send()
        .await
        .unwrap();
    let mut plain = plain.bytes_stream();
    assert!(common::read_until(&mut plain, "event: ready").await);
    assert_eq!(
        presence(&h, &team.admin.token, team.alice.id).await["connected"],
        false
    );
    // A report without a stream here changes nothing.
    h.call(
        "PUT",
        "/api/v1/presence",
        Some(&team.alice.token),
        Some(json!({"capture": true})),
    )
    .await
    .expect(204);
    assert_eq!(
        presence(&h, &team.admin.token, team.alice.id).await["capture"],
        false
    );
    let app = http
        .get(format!("{base}/api/v1/events?capture=on"))
        .bearer_auth(&team.alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(app.status(), 200);
    let mut app = app.bytes_stream();
    assert!(common::read_until(&mut app, "event: ready").await);
    let p = presence(&h, &team.admin.token, team.alice.id).await;
    assert_eq!(
        (&p["connected"], &p["capture"]),
        (&json!(true), &json!(true))
    );
    h.call(
        "PUT",
        "/api/v1/presence",
        Some(&team.alice.token),
        Some(json!({"capture": false})),
    )
    .await
    .expect(204);
    assert_eq!(
        presence(&h, &team.admin.token, team.alice.id).await["capture"],
        false
    );
    // An unknown state is refused.
    let bad = http
        .get(format!("{base}/api/v1/events?capture=maybe"))
        .bearer_auth(&team.bob.token)
        .send()
        .await
        .unwrap();
    assert!(bad.status().is_client_error(), "{}", bad.status());
    drop(app);
    until(&h, &team.admin.token, team.alice.id, "gone", |p| {
        p["connected"] == false
    })
    .await;
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// Every replica in the table, sorted.
async fn replicas(h: &Harness) -> Vec<Uuid> {
    h.raw(|rows| Ok(sorted(rows.replicas()?.into_iter().map(|r| r.id).collect())))
        .await
}

/// Which replica holds which member's app in `ws`, sorted.
async fn held_by(h: &Harness, ws: WorkspaceId) -> Vec<(Uuid, UserId)> {
    h.raw(move |rows| {
        let held = rows.app_presence(ws)?.into_iter();
        Ok(sorted(held.map(|r| (r.replica, r.user_id)).collect()))
    })
    .await
}

/// A heartbeat removes the replicas whose heartbeat is older than the time-to-live, and their
/// rows, keeping each of their apps' "last seen" at their last heartbeat; replicas beating
/// within it (to the millisecond) stay. On a database only one process opens, every other
/// replica goes. A replica swept while alive writes back the apps it holds.
async fn a_heartbeat_removes_dead_replicas_and_keeps_when_their_apps_were_seen(db: Db) {
    let h = Harness::on(db);
    let team = h.team("acme").await;
    let ttl = TimeDelta::seconds(90);
    let (now, ws) = (t0(), team.ws);
    let [me, edge, dead, fresh] = [(); 4].map(|()| Uuid::now_v7());
    let live = Liveness { me, ttl };
    let app = |session: u8, user: UserId, connected_at| HeldApp {
        session_hash: [session; 32],
        user,
        capture: true,
        connected_at,
    };
    let intents = h.app.intents();
    // Each connect is also its replica's heartbeat; `dead` beats once more after its app
    // connected.
    let dead_beat = now - ttl - TimeDelta::milliseconds(1);
    for (replica, held) in [
        (edge, app(1, team.bob.id, now - ttl)),
        (dead, app(2, team.alice.id, now - TimeDelta::hours(1))),
        (fresh, app(3, team.admin.id, now)),
    ] {
        intents
            .app_connected(replica, held)
            .unwrap()
            .await
            .unwrap()
            .unwrap();
    }
    let dead_live = Liveness { me: dead, ttl };
    assert_eq!(
        intents
            .replica_beat(dead_live, dead_beat, false, vec![])
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        intents
            .replica_beat(live, now, false, vec![])
            .await
            .unwrap(),
        1
    );
    assert_eq!(replicas(&h).await, sorted(vec![me, edge, fresh]));
    assert_eq!(
        held_by(&h, ws).await,
        sorted(vec![(edge, team.bob.id), (fresh, team.admin.id)])
    );
    let last_seen = h.raw(move |rows| rows.apps_last_seen(ws)).await;
    assert_eq!(
        last_seen[&team.alice.id], dead_beat,
        "seen until its replica's last beat"
    );

    // Alone on its database: every other replica goes, however fresh.
    assert_eq!(
        intents.replica_beat(live, now, true, vec![]).await.unwrap(),
        2
    );
    assert_eq!(replicas(&h).await, vec![me]);
    assert!(held_by(&h, ws).await.is_empty());

    // `edge` was alive after all: its next heartbeat writes back what it holds.
    let back = app(1, team.bob.id, now - ttl);
    let edge_live = Liveness { me: edge, ttl };
    assert_eq!(
        intents
            .replica_beat(edge_live, now, false, vec![back])
            .await
            .unwrap(),
        0
    );
    assert_eq!(replicas(&h).await, sorted(vec![me, edge]));
    assert_eq!(held_by(&h, ws).await, vec![(edge, team.bob.id)]);
    // Known, a replica writes nothing back (here, an app whose stream just closed).
    intents
        .app_disconnected(edge, back.session_hash, team.bob.id, now)
        .unwrap();
    intents
        .replica_beat(edge_live, now, false, vec![back])
        .await
        .unwrap();
    assert!(held_by(&h, ws).await.is_empty());
}

common::all_backends!(
    an_engine_shows_connected_with_its_capture_state_then_last_seen,
    a_heartbeat_removes_dead_replicas_and_keeps_when_their_apps_were_seen,
    only_a_recording_apps_stream_counts,
);
