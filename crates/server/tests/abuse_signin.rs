//! Guessing is throttled per source, and an attacker cannot lock the owner out (R37).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::net::SocketAddr;

use serde_json::{Value, json};
use shotclock_api::{Role, UserId, WorkspaceId};
use shotclock_server::auth::{MAX_FAILURES, SOURCE_BURST};
use shotclock_server::store::NewUser;
use shotclock_server::{App, Config, serve};

const PW: &str = "crash test password";

async fn start(configure: impl FnOnce(&mut Config)) -> (tempfile::TempDir, App, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path());
    configure(&mut config);
    let app = App::open(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, app.clone()));
    (dir, app, format!("http://{addr}/api/v1/auth/login"))
}

/// A workspace with `n` members besides its owner `o@acme.test`, all with password [`PW`].
async fn team(app: &App, n: usize) -> WorkspaceId {
    let (ws, _) = shotclock_server::api::create_workspace(
        app,
        "Acme".into(),
        "o@acme.test",
        "O",
        PW.into(),
        app.now(),
    )
    .await
    .unwrap();
    let hash = shotclock_server::auth::hash_password(PW.into())
        .await
        .unwrap();
    for i in 0..n {
        let user = NewUser {
            id: UserId::new(),
            email: format!("m{i}@acme.test"),
            name: format!("m{i}"),
            password_hash: hash.clone(),
            role: Role::Member,
        };
        app.intents().add_user(ws, user, app.now()).await.unwrap();
    }
    ws
}

async fn attempt(
    client: &reqwest::Client,
    url: &str,
    from: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut req = client.post(url).json(&body);
    if let Some(ip) = from {
        // What the trusted proxy in front appends; the first entry is the client's own say.
        req = req.header("x-forwarded-for", format!("10.9.9.9, {ip}"));
    }
    req.send().await.unwrap()
}

/// Guesses sent together get no more than guesses sent one after another: each is charged as it
/// is admitted, so they cannot all pass on what is left of a source's budget, nor on an
/// account's last failures before its lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_sent_together_get_no_more_than_one_after_another() {
    let (_dir, app, url) = start(|c| {
        c.trust_forwarded_for = true;
        c.hash_queue = 64;
    })
    .await;
    team(&app, 64).await;
    let client = reqwest::Client::new();
    let checked = |answers: Vec<reqwest::Response>| {
        for r in &answers {
            assert!(matches!(r.status().as_u16(), 401 | 429), "{}", r.status());
        }
        answers.iter().filter(|r| r.status() == 401).count()
    };
    // A spray over 64 accounts at once, from one source.
    let spray = (0..64).map(|i| {
        let body = json!({"email": format!("m{i}@acme.test"), "password": "a guess"});
        attempt(&client, &url, Some("203.0.113.9"), body)
    });
    let wrong = checked(futures_util::future::join_all(spray).await);
    assert!(
        wrong <= SOURCE_BURST as usize,
        "{wrong} of 64 guesses sent together were checked; the source's budget is {SOURCE_BURST}"
    );
    // One account, 30 guesses at once, from another source.
    let one = (0..30).map(|i| {
        let body = json!({"email": "o@acme.test", "password": format!("guess {i}")});
        attempt(&client, &url, Some("198.51.100.9"), body)
    });
    let wrong = checked(futures_util::future::join_all(one).await);
    assert!(
        wrong <= MAX_FAILURES as usize,
        "{wrong} guesses at one account were checked; it locks after {MAX_FAILURES}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spray_over_fifty_accounts_from_one_source_is_throttled() {
    let (_dir, app, url) = start(|_| {}).await;
    team(&app, 50).await;
    let client = reqwest::Client::new();
    let (mut wrong, mut throttled) = (0u32, 0u32);
    // Two guesses per account, 100 in all: no account reaches its own limit of 10.
    for round in 0..2 {
        for i in 0..50 {
            let body = json!({"email": format!("m{i}@acme.test"), "password": format!("guess number {round}")});
            let r = attempt(&client, &url, None, body).await;
            match r.status().as_u16() {
                401 => wrong += 1,
                429 => {
                    assert!(r.headers().contains_key("retry-after"));
                    throttled += 1;
                }
                other => panic!("unexpected {other}"),
            }
        }
    }
    eprintln!("spray of 100 guesses: {wrong} checked, {throttled} throttled");
    assert!(
        wrong <= SOURCE_BURST,
        "{wrong} guesses were checked, more than the source's budget of {SOURCE_BURST}"
    );
    assert_eq!(wrong + throttled, 100);
    // While throttled, even a right password from that source waits.
    let r = attempt(
        &client,
        &url,
        None,
        json!({"email": "m0@acme.test", "password": PW}),
    )
    .await;
    assert_eq!(r.status(), 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_still_signs_in_from_elsewhere_while_an_attacker_is_locked_out() {
    let (_dir, app, url) = start(|c| c.trust_forwarded_for = true).await;
    let ws = team(&app, 0).await;
    let client = reqwest::Client::new();
    let attacker = Some("203.0.113.7");
    let owner = Some("198.51.100.20");

    for i in 0..MAX_FAILURES {
        let body = json!({"email": "o@acme.test", "password": format!("guess number {i}")});
        let r = attempt(&client, &url, attacker, body).await;
        assert_eq!(r.status(), 401, "guess {i}");
    }
    // The attacker is locked out for this account, whatever workspace the request names (no
    // second budget) and even with the right password.
    for body in [
        json!({"email": "o@acme.test", "password": "another guess", "workspace": ws}),
        json!({"email": "O@Acme.test ", "password": "another guess"}),
        json!({"email": "o@acme.test", "password": PW}),
    ] {
        let r = attempt(&client, &url, attacker, body.clone()).await;
        assert_eq!(r.status(), 429, "{body}");
        assert!(r.headers().contains_key("retry-after"));
    }
    // The owner, from another address, signs in.
    let r = attempt(
        &client,
        &url,
        owner,
        json!({"email": "o@acme.test", "password": PW}),
    )
    .await;
    assert_eq!(
        r.status(),
        200,
        "the owner is not locked out by the attacker"
    );
    // Without the trusted proxy setting, X-Forwarded-For is ignored: a client cannot pick a
    // fresh source per request (checked by the spray test's single loopback source).
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cannot_choose_its_source_unless_the_proxy_is_trusted() {
    let (_dir, app, url) = start(|_| {}).await;
    team(&app, 0).await;
    let client = reqwest::Client::new();
    let mut codes = Vec::new();
    for i in 0..=MAX_FAILURES {
        let from = format!("192.0.2.{i}");
        let body = json!({"email": "o@acme.test", "password": format!("guess number {i}")});
        codes.push(
            attempt(&client, &url, Some(&from), body)
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(codes.last(), Some(&429), "{codes:?}");
}
