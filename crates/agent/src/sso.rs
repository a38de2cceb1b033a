//! Single sign-on of a native app (R31, RFC 8252): the desktop app and the headless agent sign
//! in through the workspace's identity provider in the system browser.
//!
//! ```text
//! SsoSignIn::begin ── PKCE verifier + S256 challenge, random state, listener on 127.0.0.1:0
//!        │ url() ──► the browser: service /sso/start?client=app… ─► provider ─► service callback
//!        ▼                                                                      │
//! SsoSignIn::finish ◄── GET http://127.0.0.1:PORT/callback?code=…&state=… ◄─────┘
//!        │ POST /sso/token {code, verifier} ──► the session a password sign-in gives
//! ```
//!
//! The loopback listener answers one valid request: `GET /callback` with this sign-in's
//! `state`. Anything else is answered and ignored — another path (a browser's `/favicon.ico`)
//! gets 404, a wrong or missing `state` a page saying this sign-in was not started here (so a
//! page on another site cannot end the wait), a request head over [`MAX_REQUEST_BYTES`] 431.
//! With the right `state`, an `error` from the service, or no `code`, ends the sign-in with
//! [`SsoError`]; a code is traded for the session before the browser is answered, so its page
//! tells the truth ("you can close this tab", or why not). Connections are read side by side
//! (a browser opens idle ones), each within [`READ_DEADLINE`], at most [`MAX_CONNECTIONS`] at
//! once. The whole wait is bounded by the caller's deadline ([`SIGN_IN_DEADLINE`] by default).
//!
//! Cancelling is dropping: a dropped [`SsoSignIn`] or `finish` future closes the listener, so
//! a newer sign-in or a cancel leaves nothing listening. The verifier never leaves this
//! process except in the token exchange, and nothing here logs it or the code.

use std::time::Duration;

use shotclock_sync::{Client, Url};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::error::AgentError;
use crate::session::Session;

/// How long a person has to finish signing in in the browser.
pub const SIGN_IN_DEADLINE: Duration = Duration::from_secs(5 * 60);
/// Largest request head the loopback listener reads.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// How long one connection may take to send its request head.
pub const READ_DEADLINE: Duration = Duration::from_secs(10);
/// Connections read at once; more wait to be accepted.
pub const MAX_CONNECTIONS: usize = 16;
/// The loopback redirect's path.
const CALLBACK_PATH: &str = "/callback";

/// Why a single sign-on did not end with a session (besides the service's own refusals,
/// which are [`AgentError::Sync`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SsoError {
    /// No loopback port could be opened on this computer.
    #[error("could not listen for the browser on this computer: {0}")]
    Listen(#[source] std::io::Error),
    /// The browser did not come back in time.
    #[error(
        "the sign-in was not finished in the browser within {} minutes; start it again",
        .0.as_secs().div_ceil(60)
    )]
    TimedOut(Duration),
    /// The service sent the browser back with an error.
    #[error("the sign-in was refused: {0}")]
    Refused(String),
    /// The browser came back without a code.
    #[error("the browser came back without a sign-in code; start it again")]
    NoCode,
}

/// A sign-in under way: the loopback listener is open and the start URL is ready to be opened
/// in the browser. Dropping it cancels the sign-in.
pub struct SsoSignIn {
    client: Client,
    listener: TcpListener,
    verifier: oauth2::PkceCodeVerifier,
    state: String,
    url: Url,
}

impl std::fmt::Debug for SsoSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoSignIn")
            .field("service", &self.client.base_url().as_str())
            .field("listener", &self.listener.local_addr().ok())
            .finish_non_exhaustive()
    }
}

/// What one request to the loopback asks.
#[derive(Debug, PartialEq, Eq)]
enum Request {
    /// Not a `GET` of the callback path: 404.
    Elsewhere,
    /// The head was larger than [`MAX_REQUEST_BYTES`]: 431.
    TooLarge,
    /// `GET /callback` with these query parameters.
    Callback(Vec<(String, String)>),
}

/// What the loopback does with a callback.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Not this sign-in's (wrong or missing state): answered, ignored.
    NotOurs,
    /// This sign-in ends with an error.
    Ends(String),
    /// This sign-in's code.
    Code(String),
}

impl SsoSignIn {
    /// Opens the loopback listener and prepares the start URL for `email` at the service at
    /// `server_url` (the same address rules as a password sign-in, R2).
    pub async fn begin(server_url: &str, email: &str) -> Result<Self, AgentError> {
        let email = email.trim();
        if email.is_empty() || !email.contains('@') {
            return Err(AgentError::Invalid(
                "Type your work email first: it tells which workspace to sign in to.".into(),
            ));
        }
        let client = Client::new(server_url)?;
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(SsoError::Listen)?;
        let port = listener.local_addr().map_err(SsoError::Listen)?.port();
        let (challenge, verifier) = oauth2::PkceCodeChallenge::new_random_sha256();
        let state = oauth2::CsrfToken::new_random().secret().clone();
        let redirect = format!("http://127.0.0.1:{port}{CALLBACK_PATH}");
        let url = client.sso_start_url(email, challenge.as_str(), &redirect, &state);
        Ok(Self {
            client,
            listener,
            verifier,
            state,
            url,
        })
    }

    /// Where the browser must go to sign in.
    #[must_use]
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Waits (at most `within`) for the browser to come back to the loopback with this
    /// sign-in's code, trades it for the session, and tells the browser how it went.
    pub async fn finish(self, within: Duration) -> Result<Session, AgentError> {
        let deadline = Instant::now() + within;
        let mut reading: JoinSet<Option<(TcpStream, Request)>> = JoinSet::new();
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {
                    return Err(SsoError::TimedOut(within).into());
                }
                accepted = self.listener.accept(), if reading.len() < MAX_CONNECTIONS => {
                    if let Ok((stream, _)) = accepted {
                        reading.spawn(read_request(stream));
                    }
                }
                Some(done) = reading.join_next(), if !reading.is_empty() => {
                    let Ok(Some((mut stream, request))) = done else { continue };
                    let params = match request {
                        Request::Elsewhere => {
                            respond(&mut stream, "404 Not Found", "Not found", "").await;
                            continue;
                        }
                        Request::TooLarge => {
                            respond(&mut stream, "431 Request Header Fields Too Large",
                                "Request too large", "").await;
                            continue;
                        }
                        Request::Callback(params) => params,
                    };
                    match judge(&params, &self.state) {
                        Verdict::NotOurs => {
                            respond(&mut stream, "400 Bad Request", "Not this sign-in",
                                "This page does not belong to the sign-in Shotclock is waiting \
                                 for. Start signing in from the app again.").await;
                        }
                        Verdict::Ends(message) => {
                            let err = if message.is_empty() {
                                SsoError::NoCode
                            } else {
                                SsoError::Refused(message)
                            };
                            respond(&mut stream, "400 Bad Request",
                                "Single sign-on did not work", &err.to_string()).await;
                            return Err(err.into());
                        }
                        Verdict::Code(code) => {
                            let traded = self.client.sso_token(&code, self.verifier.secret()).await;
                            return match traded {
                                Ok(info) => {
                                    respond(&mut stream, "200 OK", "Signed in to Shotclock",
                                        "You can close this tab and go back to the app.").await;
                                    Ok(Session {
                                        server_url: self.client.base_url().to_string(),
                                        token: info.token,
                                        me: info.me,
                                        saved: false,
                                    })
                                }
                                Err(err) => {
                                    respond(&mut stream, "400 Bad Request",
                                        "Single sign-on did not work",
                                        &format!("The service did not accept the sign-in: \
                                            {err}. Start signing in from the app again.")).await;
                                    Err(err.into())
                                }
                            };
                        }
                    }
                }
            }
        }
    }
}

/// Reads one request head within [`READ_DEADLINE`]; `None` when the peer sent none.
async fn read_request(mut stream: TcpStream) -> Option<(TcpStream, Request)> {
    let mut head = Vec::with_capacity(1024);
    let read = tokio::time::timeout(READ_DEADLINE, async {
        let mut buf = [0u8; 1024];
        loop {
            if head.windows(4).any(|w| w == b"\r\n\r\n") {
                return true;
            }
            if head.len() > MAX_REQUEST_BYTES {
                return true;
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    if !matches!(read, Ok(true)) {
        return None;
    }
    if head.len() > MAX_REQUEST_BYTES {
        return Some((stream, Request::TooLarge));
    }
    Some((stream, parse_head(&head)))
}

/// The request line of a head: a `GET` of the callback path, or elsewhere.
fn parse_head(head: &[u8]) -> Request {
    let text = String::from_utf8_lossy(head);
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (Some("GET"), Some(target)) = (parts.next(), parts.next()) else {
        return Request::Elsewhere;
    };
    let Ok(url) = Url::parse("http://127.0.0.1/").and_then(|base| base.join(target)) else {
        return Request::Elsewhere;
    };
    if url.path() != CALLBACK_PATH || !target.starts_with('/') {
        return Request::Elsewhere;
    }
    Request::Callback(url.query_pairs().into_owned().collect())
}

/// What a callback with `params` means for the sign-in whose state is `state`.
fn judge(params: &[(String, String)], state: &str) -> Verdict {
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    if get("state") != Some(state) {
        return Verdict::NotOurs;
    }
    if let Some(error) = get("error") {
        let detail = get("error_description").unwrap_or_default();
        let message = if detail.is_empty() {
            error.to_owned()
        } else {
            format!("{error}: {detail}")
        };
        return Verdict::Ends(message);
    }
    match get("code").filter(|c| !c.is_empty()) {
        Some(code) => Verdict::Code(code.to_owned()),
        None => Verdict::Ends(String::new()),
    }
}

/// Answers the sign-in's page ([`shotclock_api::sso::page`]) and closes the connection; a
/// browser gone already is no error.
async fn respond(stream: &mut TcpStream, status: &str, title: &str, message: &str) {
    let body = shotclock_api::sso::page(title, message, None);
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\
         Content-Security-Policy: default-src 'none'\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// A sign-in against a service address nobody answers (only the token exchange would
    /// reach it).
    async fn begun() -> SsoSignIn {
        SsoSignIn::begin("http://127.0.0.1:9", "ana@acme.test")
            .await
            .unwrap()
    }

    fn query(sign_in: &SsoSignIn) -> std::collections::HashMap<String, String> {
        sign_in.url().query_pairs().into_owned().collect()
    }

    /// Sends `head` to the listener; answers the status line and body.
    async fn send(port: u16, head: &str) -> (String, String) {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(head.as_bytes()).await.unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        let status = answer.lines().next().unwrap_or_default().to_owned();
        let body = answer
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        (status, body)
    }

    fn get(target: &str) -> String {
        format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    }

    fn port_of(sign_in: &SsoSignIn) -> u16 {
        sign_in.listener.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn the_start_url_carries_a_s256_challenge_a_loopback_redirect_and_a_fresh_state() {
        let a = begun().await;
        let b = begun().await;
        let q = query(&a);
        assert_eq!(a.url().path(), "/api/v1/sso/start");
        assert_eq!(q["client"], "app");
        assert_eq!(q["email"], "ana@acme.test");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(
            q["code_challenge"],
            oauth2::PkceCodeChallenge::from_code_verifier_sha256(&a.verifier).as_str()
        );
        assert_eq!(q["code_challenge"].len(), 43);
        assert_eq!(
            q["redirect_uri"],
            format!("http://127.0.0.1:{}/callback", port_of(&a))
        );
        assert_eq!(q["state"], a.state);
        assert!(a.state.len() >= 20);
        assert_ne!(a.state, b.state);
        assert_ne!(a.verifier.secret(), b.verifier.secret());
        assert!(a.verifier.secret().len() >= 43);
    }

    #[tokio::test]
    async fn no_email_no_sign_in_and_a_bad_address_is_refused() {
        let err = SsoSignIn::begin("http://127.0.0.1:9", "  ")
            .await
            .unwrap_err();
        assert!(matches!(err, AgentError::Invalid(_)), "{err}");
        let err = SsoSignIn::begin("http://127.0.0.1:9", "ana.acme.test")
            .await
            .unwrap_err();
        assert!(matches!(err, AgentError::Invalid(_)), "{err}");
        let err = SsoSignIn::begin("http://acme.example", "ana@acme.test")
            .await
            .unwrap_err();
        assert!(matches!(err, AgentError::Sync(_)), "{err}");
    }

    #[tokio::test]
    async fn a_wrong_state_or_another_path_is_answered_and_ignored_until_the_deadline() {
        let sign_in = begun().await;
        let port = port_of(&sign_in);
        let waiting = tokio::spawn(sign_in.finish(Duration::from_millis(1500)));
        let (status, body) = send(port, &get("/callback?code=abc&state=someone-else")).await;
        assert!(status.contains("400"), "{status}");
        assert!(body.contains("does not belong"), "{body}");
        let (status, _) = send(port, &get("/callback?code=abc")).await;
        assert!(status.contains("400"), "{status}");
        // A provider's long code (several KiB) is read whole, not refused as too large.
        let long = format!("/callback?code={}&state=someone-else", "c".repeat(6 * 1024));
        let (status, _) = send(port, &get(&long)).await;
        assert!(status.contains("400"), "{status}");
        let (status, _) = send(port, &get("/favicon.ico")).await;
        assert!(status.contains("404"), "{status}");
        let (status, _) = send(port, "POST /callback HTTP/1.1\r\n\r\n").await;
        assert!(status.contains("404"), "{status}");
        let huge = format!(
            "GET /callback?x={} HTTP/1.1\r\n\r\n",
            "a".repeat(MAX_REQUEST_BYTES)
        );
        let (status, _) = send(port, &huge).await;
        assert!(status.contains("431"), "{status}");
        // The limit is the head's whole size, its blank line included: one byte more is refused.
        let sized = |n: usize| {
            let bare = get("/callback?state=nope&x=").len();
            get(&format!("/callback?state=nope&x={}", "a".repeat(n - bare)))
        };
        assert_eq!(sized(MAX_REQUEST_BYTES).len(), MAX_REQUEST_BYTES);
        let (status, _) = send(port, &sized(MAX_REQUEST_BYTES)).await;
        assert!(status.contains("400"), "{status}");
        let (status, _) = send(port, &sized(MAX_REQUEST_BYTES + 1)).await;
        assert!(status.contains("431"), "{status}");
        // A connection that never speaks does not hold the others up.
        let _idle = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let (status, _) = send(port, &get("/callback?state=nope")).await;
        assert!(status.contains("400"), "{status}");
        let err = waiting.await.unwrap().unwrap_err();
        assert!(
            matches!(err, AgentError::Sso(SsoError::TimedOut(_))),
            "{err}"
        );
        assert!(err.to_string().contains("start it again"), "{err}");
    }

    #[tokio::test]
    async fn an_error_sent_back_with_the_right_state_ends_the_sign_in() {
        let sign_in = begun().await;
        let (port, state) = (port_of(&sign_in), sign_in.state.clone());
        let waiting = tokio::spawn(sign_in.finish(Duration::from_secs(30)));
        let (status, body) = send(
            port,
            &get(&format!(
                "/callback?state={state}&error=access_denied&error_description=not%20allowed"
            )),
        )
        .await;
        assert!(status.contains("400"), "{status}");
        assert!(body.contains("access_denied: not allowed"), "{body}");
        let err = waiting.await.unwrap().unwrap_err();
        assert!(
            matches!(&err, AgentError::Sso(SsoError::Refused(m)) if m == "access_denied: not allowed"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn the_right_state_without_a_code_ends_the_sign_in() {
        let sign_in = begun().await;
        let (port, state) = (port_of(&sign_in), sign_in.state.clone());
        let waiting = tokio::spawn(sign_in.finish(Duration::from_secs(30)));
        let (status, body) = send(port, &get(&format!("/callback?state={state}"))).await;
        assert!(status.contains("400"), "{status}");
        assert!(body.contains("without a sign-in code"), "{body}");
        let err = waiting.await.unwrap().unwrap_err();
        assert!(matches!(err, AgentError::Sso(SsoError::NoCode)), "{err}");
    }

    #[tokio::test]
    async fn a_code_the_service_does_not_take_is_an_error_page_and_an_error() {
        // The service address answers nothing: the exchange fails, and the browser is told.
        let sign_in = begun().await;
        let (port, state) = (port_of(&sign_in), sign_in.state.clone());
        let waiting = tokio::spawn(sign_in.finish(Duration::from_secs(30)));
        let (status, body) = send(port, &get(&format!("/callback?state={state}&code=c0de"))).await;
        assert!(status.contains("400"), "{status}");
        assert!(body.contains("did not accept"), "{body}");
        let err = waiting.await.unwrap().unwrap_err();
        assert!(matches!(err, AgentError::Sync(_)), "{err}");
    }

    #[tokio::test]
    async fn a_sign_in_shows_in_logs_as_its_service_and_port_and_never_its_secrets() {
        let sign_in = begun().await;
        let shown = format!("{sign_in:?}");
        assert!(shown.starts_with("SsoSignIn"), "{shown}");
        assert!(shown.contains("http://127.0.0.1:9/"), "{shown}");
        assert!(shown.contains(&port_of(&sign_in).to_string()), "{shown}");
        assert!(!shown.contains(&sign_in.state), "{shown}");
        assert!(!shown.contains(sign_in.verifier.secret()), "{shown}");
    }

    #[test]
    fn a_person_is_told_the_sign_in_lasts_five_minutes() {
        let told = SsoError::TimedOut(SIGN_IN_DEADLINE).to_string();
        assert!(told.contains("within 5 minutes"), "{told}");
    }

    #[tokio::test]
    async fn dropping_the_sign_in_closes_the_listener() {
        let sign_in = begun().await;
        let port = port_of(&sign_in);
        let waiting = tokio::spawn(sign_in.finish(Duration::from_secs(30)));
        waiting.abort();
        let _ = waiting.await;
        assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
    }

    #[test]
    fn judging_callbacks() {
        let p = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>()
        };
        assert_eq!(judge(&p(&[("code", "c")]), "s"), Verdict::NotOurs);
        assert_eq!(
            judge(&p(&[("code", "c"), ("state", "t")]), "s"),
            Verdict::NotOurs
        );
        assert_eq!(
            judge(&p(&[("code", "c"), ("state", "s")]), "s"),
            Verdict::Code("c".into())
        );
        assert_eq!(
            judge(&p(&[("code", ""), ("state", "s")]), "s"),
            Verdict::Ends(String::new())
        );
        assert_eq!(
            judge(&p(&[("error", "e"), ("code", "c"), ("state", "s")]), "s"),
            Verdict::Ends("e".into())
        );
        assert_eq!(
            parse_head(b"GET http://evil/callback?x=1 HTTP/1.1\r\n\r\n"),
            Request::Elsewhere
        );
        assert_eq!(
            parse_head(b"GET /callback?code=a%20b&state=s HTTP/1.1\r\n\r\n"),
            Request::Callback(vec![
                ("code".into(), "a b".into()),
                ("state".into(), "s".into())
            ])
        );
    }
}
