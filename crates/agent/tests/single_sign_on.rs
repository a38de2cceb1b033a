//! The native app's single sign-on (R31, RFC 8252) end to end: the engine's loopback flow
//! (`SsoSignIn`) against the real service on a real port and a real OpenID provider (npm
//! `oidc-provider`), the browser played by reqwest through the provider's development login
//! page — so the engine's listener receives the service's real redirect. The headless agent's
//! `--sso` prints the URL and keeps the token like a password sign-in.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;
use shotclock_agent::{AgentError, SsoSignIn};
use shotclock_api::Role;
use shotclock_testkit::{Team, TestServer, eventually};
use shotclock_testoidc::{Account, Client as OidcClient, Keys, Provider, sign_in};

use common::DEADLINE;

const CLIENT_ID: &str = "shotclock";
const CLIENT_SECRET: &str = "a-client-secret-0123456789-abcdef";

struct World {
    server: TestServer,
    /// Kept running for the test's length.
    _idp: Provider,
    team: Team,
}

/// A service whose workspace `acme` signs in through a real provider that knows Ana.
async fn world() -> World {
    let server = TestServer::start();
    let team = server.team("acme", &[("ana", Role::Member)]).await;
    let idp = Provider::start(
        vec![OidcClient {
            id: CLIENT_ID.into(),
            secret: CLIENT_SECRET.into(),
            redirect_uris: vec![format!("{}/api/v1/sso/callback", server.url())],
        }],
        vec![
            Account::verified("ana-at-idp", &team.member(0).email),
            Account::verified("carol-at-idp", "carol@acme.test"),
        ],
        &Keys::generate("k1"),
    );
    let res = reqwest::Client::new()
        .put(format!("{}/api/v1/workspace/sso", server.url()))
        .header(
            "authorization",
            format!("Bearer {}", owner_token(&server, &team).await),
        )
        .json(&json!({
            "issuer": idp.issuer(),
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "allowed_domains": ["acme.test"],
            "auto_join": false,
            "password_sign_in": true,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    World {
        server,
        _idp: idp,
        team,
    }
}

async fn owner_token(server: &TestServer, team: &Team) -> String {
    server
        .client()
        .login(&team.owner().email, shotclock_testkit::PASSWORD, None)
        .await
        .unwrap()
        .token
}

/// The browser: opens the start URL, signs `login` in at the provider, follows the service's
/// callback to the app's loopback and reads the page the app answers there.
async fn browser(start: &str, login: &str) -> (u16, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let to_provider = http.get(start).send().await.unwrap();
    assert_eq!(
        to_provider.status(),
        303,
        "{}",
        to_provider.text().await.unwrap()
    );
    let authorization = to_provider.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let callback = sign_in(&authorization, login).await.redirect();
    let to_app = http.get(callback).send().await.unwrap();
    assert_eq!(to_app.status(), 303, "{}", to_app.text().await.unwrap());
    let loopback = to_app.headers()["location"].to_str().unwrap().to_owned();
    assert!(loopback.starts_with("http://127.0.0.1:"), "{loopback}");
    let page = http.get(&loopback).send().await.unwrap();
    (page.status().as_u16(), page.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_signs_in_through_the_identity_provider_with_its_loopback_listener() {
    let w = world().await;
    let ana = w.team.member(0).clone();
    let sso = SsoSignIn::begin(&w.server.url(), &ana.email).await.unwrap();
    let start = sso.url().to_string();
    assert!(start.starts_with(&w.server.url()), "{start}");
    let waiting = tokio::spawn(sso.finish(DEADLINE));
    let (status, page) = browser(&start, "ana-at-idp").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("You can close this tab"), "{page}");
    let session = waiting.await.unwrap().unwrap();
    assert_eq!(session.me.user.id, ana.id);
    // The token is an ordinary session of the service.
    let me = w
        .server
        .client()
        .with_token(&session.token)
        .me()
        .await
        .unwrap();
    assert_eq!(me.user.email, ana.email);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_the_workspace_does_not_know_gets_no_session_and_the_wait_ends_at_its_deadline() {
    let w = world().await;
    // Carol is in the allowed domain, but the workspace does not let new people join: the
    // service refuses in the browser and never sends the app a code.
    let carol = "carol@acme.test";
    let sso = SsoSignIn::begin(&w.server.url(), carol).await.unwrap();
    let start = sso.url().to_string();
    let waiting = tokio::spawn(sso.finish(Duration::from_secs(3)));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let to_provider = http.get(&start).send().await.unwrap();
    let authorization = to_provider.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let callback = sign_in(&authorization, "carol-at-idp").await.redirect();
    let refused = http.get(callback).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let err = waiting.await.unwrap().unwrap_err();
    assert!(matches!(err, AgentError::Sso(_)), "{err}");
    assert!(err.to_string().contains("not finished"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_headless_agent_prints_the_url_and_keeps_the_token_like_a_password_sign_in() {
    let w = world().await;
    let ana = w.team.member(0).clone();
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_shotclock-agent"))
        .arg("--server")
        .arg(w.server.url())
        .arg("--data-dir")
        .arg(data.path())
        .arg("--sso")
        .arg(&ana.email)
        .env("RUST_LOG", "info")
        .env_remove("SHOTCLOCK_EMAIL")
        .env_remove("SHOTCLOCK_PASSWORD")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("DISPLAY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start shotclock-agent");
    let stdout = child.stdout.take().unwrap();
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("Open this URL to sign in: ") {
                let _ = url_tx.send(url.trim().to_owned());
            }
        }
    });
    let stderr = child.stderr.take().unwrap();
    let (log_tx, log_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = log_tx.send(line);
        }
    });
    let url = url_rx
        .recv_timeout(DEADLINE)
        .expect("the agent printed the URL to open");
    assert!(url.starts_with(&w.server.url()), "{url}");
    let (status, page) = browser(&url, "ana-at-idp").await;
    assert_eq!(status, 200, "{page}");

    let token_file = data.path().join("session-token");
    let token = eventually("the agent to keep its token", DEADLINE, || {
        let t = std::fs::read_to_string(&token_file).ok();
        async move { t }
    })
    .await;
    let mut log = Vec::new();
    eventually("the agent to run", DEADLINE, || {
        log.extend(log_rx.try_iter());
        let r = log.iter().any(|l| l.contains("agent running"));
        async move { r.then_some(()) }
    })
    .await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let me = w
        .server
        .client()
        .with_token(token.trim())
        .me()
        .await
        .unwrap();
    assert_eq!(me.user.id, ana.id);
    let _ = child.kill();
    let _ = child.wait();
}
