//! Presence across replicas (R38): two replicas of the `shotclock-server` binary on one real
//! PostgreSQL database, and the headless agent (the real `shotclock-agent` binary) connected to
//! replica A. The admin reads the member list through replica B and sees what A holds: the app
//! connected, its capture on and off; after A is killed with SIGKILL (no chance to say
//! anything), B shows the app not connected within the liveness time-to-live, its last seen
//! kept.
//!
//! The agent binary is the one cargo built beside the service's (`cargo test --workspace` and
//! `cargo xtask test` build it; alone: `cargo build -p shotclock-agent` first). It captures the
//! X display in `DISPLAY` while its timer runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod spawn;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use shotclock_api::{EntryId, Plan, Role, UserId, WorkspaceId};
use shotclock_server::intents::{Intents, SettingsPatch};
use shotclock_server::store::NewUser;
use shotclock_server::store::postgres::{PgOptions, PgStore};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_shotclock-server");
const PW: &str = "presence replicas password";
/// The liveness time-to-live the replicas run with (the product's default is 90 s).
const TTL_SECS: u64 = 3;

fn agent_binary() -> PathBuf {
    let path = std::path::Path::new(BIN).with_file_name("shotclock-agent");
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo build -p shotclock-agent` \
         (`cargo test --workspace` builds it)",
        path.display()
    );
    path
}

/// A replica on `database`, with a short liveness time-to-live.
async fn replica(database: &str, dir: &std::path::Path) -> (Child, String) {
    let (child, addr) = spawn::spawn_listening(
        Command::new(BIN)
            .env("SHOTCLOCK_DATABASE_URL", database)
            .env_remove("SHOTCLOCK_BLOBS_URL")
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .args(["--presence-ttl-secs", &TTL_SECS.to_string()]),
        Duration::from_secs(30),
    )
    .await;
    (child, format!("http://{addr}"))
}

fn new_user(email: &str, role: Role, hash: &str) -> NewUser {
    NewUser {
        id: UserId::new(),
        email: email.into(),
        name: email.into(),
        password_hash: hash.into(),
        role,
    }
}

/// A workspace on `database` with an owner `o@acme.test` and a member `m@acme.test`, on
/// plan enterprise with capture on; the member's id.
async fn workspace(database: &str) -> UserId {
    let store = PgStore::open(&PgOptions::from_url(database).unwrap()).unwrap();
    let intents = Intents::new(std::sync::Arc::new(store));
    let hash = shotclock_server::auth::hash_password(PW.into())
        .await
        .unwrap();
    let now = Utc::now();
    let ws = WorkspaceId::new();
    intents
        .create_workspace(
            ws,
            "Acme".into(),
            new_user("o@acme.test", Role::Owner, &hash),
            now,
        )
        .await
        .unwrap();
    intents.set_plan(ws, Plan::Enterprise, now).await.unwrap();
    let on = SettingsPatch {
        screenshots_enabled: Some(true),
        ..SettingsPatch::default()
    };
    intents.update_settings(ws, on, now).await.unwrap();
    intents
        .add_user(ws, new_user("m@acme.test", Role::Member, &hash), now)
        .await
        .unwrap()
        .id
}

async fn login(client: &reqwest::Client, base: &str, email: &str) -> String {
    let r = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PW}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `who`'s presence in the member list read through `base`.
async fn presence(client: &reqwest::Client, base: &str, admin: &str, who: UserId) -> Value {
    let list: Value = client
        .get(format!("{base}/api/v1/members"))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    list["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == who.to_string())
        .unwrap()["presence"]
        .clone()
}

/// Polls until `ok` holds for the presence read through `base`, for at most `within`; answers
/// that presence.
async fn until(
    client: &reqwest::Client,
    (base, admin, who): (&str, &str, UserId),
    what: &str,
    within: Duration,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let p = presence(client, base, admin, who).await;
        if ok(&p) {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "not {what} within {within:?}: {p}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn seen(p: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(p["last_seen"].as_str().unwrap())
        .unwrap()
        .to_utc()
}

#[tokio::test]
async fn an_app_connected_to_one_replica_shows_on_another_and_goes_when_that_replica_dies() {
    let url = shotclock_testpg::database();
    let member = workspace(&url).await;
    let (dir_a, dir_b, agent_dir) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let (mut a, base_a) = replica(&url, dir_a.path()).await;
    let (_b, base_b) = replica(&url, dir_b.path()).await;
    let client = reqwest::Client::new();
    let owner = login(&client, &base_b, "o@acme.test").await;
    let member_on_b = login(&client, &base_b, "m@acme.test").await;
    let on_b = (base_b.as_str(), owner.as_str(), member);
    let wait = Duration::from_secs(30);

    // Never seen.
    assert_eq!(
        presence(&client, &base_b, &owner, member).await,
        json!({"connected": false, "capture": false})
    );

    // The headless agent signs in and connects to A.
    let _agent = tokio::process::Command::new(agent_binary())
        .args(["--server", &base_a, "--data-dir"])
        .arg(agent_dir.path())
        .env("SHOTCLOCK_EMAIL", "m@acme.test")
        .env("SHOTCLOCK_PASSWORD", PW)
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the agent starts");
    until(&client, on_b, "connected through A", wait, |p| {
        p["connected"] == true && p["capture"] == false
    })
    .await;

    // A timer started through B reaches the agent on A (live events cross replicas): capture
    // turns on in it, and it tells A; B sees it. Stopped: off.
    let start = client
        .post(format!("{base_b}/api/v1/timer/start"))
        .bearer_auth(&member_on_b)
        .json(&json!({"entry_id": EntryId::new(), "description": "presence"}))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 200);
    until(&client, on_b, "capturing", wait, |p| {
        p["connected"] == true && p["capture"] == true
    })
    .await;
    let stop = client
        .post(format!("{base_b}/api/v1/timer/stop"))
        .bearer_auth(&member_on_b)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(stop.status(), 200);
    let connected = until(&client, on_b, "off", wait, |p| {
        p["connected"] == true && p["capture"] == false
    })
    .await;
    let before_kill = seen(&connected);

    // A dies without a word: B shows the app gone within the time-to-live (plus one of B's
    // heartbeats and the polling), last seen kept from before the kill.
    a.start_kill().unwrap();
    a.wait().await.unwrap();
    let killed = Instant::now();
    let killed_at = Utc::now();
    let gone = until(
        &client,
        on_b,
        "gone after A died",
        Duration::from_secs(TTL_SECS + 5),
        |p| p["connected"] == false,
    )
    .await;
    let took = killed.elapsed();
    assert_eq!(gone["capture"], false);
    let last = seen(&gone);
    assert!(
        last <= killed_at && killed_at - last <= chrono::TimeDelta::seconds(TTL_SECS as i64 + 1),
        "last seen {last} is A's last heartbeat before the kill at {killed_at}"
    );
    assert!(last >= before_kill - chrono::TimeDelta::seconds(TTL_SECS as i64));
    assert!(
        took <= Duration::from_secs(TTL_SECS + 2),
        "took {took:?} to notice A's death"
    );

    // Later reads keep it, after B's heartbeat removed A's rows too.
    let deadline = Instant::now() + Duration::from_secs(TTL_SECS);
    while Instant::now() < deadline {
        let p = presence(&client, &base_b, &owner, member).await;
        assert_eq!(p["connected"], false);
        assert_eq!(seen(&p), last, "last seen moved: {p}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
