//! How the client classifies failures, against a scripted HTTP peer (a real socket answering
//! canned responses) and against nothing at all (connection refused).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use shotclock_api::{API_VERSION, API_VERSION_HEADER, ErrorCode};
use shotclock_sync::{
    BackoffPolicy, Client, ClientOptions, EventsOptions, NetworkErrorKind, StreamItem, SyncError,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// A peer that answers each connection with the next canned response and reports the request
/// head it received.
struct Peer {
    url: String,
    requests: mpsc::UnboundedReceiver<String>,
}

async fn read_request(sock: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    loop {
        let n = sock.read(&mut byte).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&byte[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = sock.read(&mut byte).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&byte[..n]);
            }
            return head;
        }
    }
    String::from_utf8_lossy(&buf).to_string()
}

/// Serves `responses` in order, one per connection (then closes each connection).
async fn peer(responses: Vec<String>) -> Peer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        for response in responses {
            let (mut sock, _) = listener.accept().await.unwrap();
            let head = read_request(&mut sock).await;
            let _ = tx.send(head);
            let _ = sock.write_all(response.as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    });
    Peer { url, requests: rx }
}

/// A response with the service's version header and a JSON or other body.
fn answer(status: &str, extra_headers: &[&str], content_type: &str, body: &str) -> String {
    let mut head = format!(
        "HTTP/1.1 {status}\r\n{API_VERSION_HEADER}: {API_VERSION}\r\ncontent-type: {content_type}\r\n\
         content-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for h in extra_headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head + "\r\n" + body
}

fn error_body(code: &str) -> String {
    format!(r#"{{"code":"{code}","message":"scripted"}}"#)
}

fn client(url: &str) -> Client {
    Client::new(url).unwrap().with_token("secret-token")
}

#[tokio::test]
async fn server_errors_are_retryable_and_carry_retry_after() {
    let p = peer(vec![
        answer(
            "503 Service Unavailable",
            &["retry-after: 7"],
            "application/json",
            &error_body("internal"),
        ),
        answer(
            "429 Too Many Requests",
            &["Retry-After: Thu, 01 Jan 2099 00:00:00 GMT"],
            "application/json",
            &error_body("too_many_requests"),
        ),
        // A proxy's HTML page without the version header.
        "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: 21\r\nconnection: close\r\n\r\n<h1>Bad Gateway</h1>\n"
            .to_owned(),
        answer("500 Internal Server Error", &[], "application/json", &error_body("internal")),
    ])
    .await;
    let c = client(&p.url);

    let e = c.me().await.unwrap_err();
    assert!(matches!(&e, SyncError::Server { status: 503, .. }), "{e:?}");
    assert!(e.is_retryable());
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));

    let e = c.timer().await.unwrap_err();
    assert!(matches!(&e, SyncError::Server { status: 429, .. }), "{e:?}");
    assert!(e.is_retryable());
    assert_eq!(e.code(), Some(ErrorCode::TooManyRequests));
    // An HTTP-date in the far future is capped at a day.
    assert_eq!(e.retry_after(), Some(Duration::from_secs(86_400)));

    let e = c.workspace().await.unwrap_err();
    match &e {
        SyncError::Server {
            status: 502,
            error,
            retry_after: None,
        } => {
            assert_eq!(error.code, ErrorCode::Internal);
            assert!(error.message.contains("Bad Gateway"), "{}", error.message);
        }
        other => panic!("{other:?}"),
    }
    assert!(e.is_retryable());

    let e = c.members().await.unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(e.retry_after(), None);
}

/// The same response sent in `chunk`-byte chunks (chunked transfer encoding, no length).
fn answer_chunked(status: &str, body: &str, chunk: usize) -> String {
    let mut out = format!(
        "HTTP/1.1 {status}\r\n{API_VERSION_HEADER}: {API_VERSION}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\n\
         connection: close\r\n\r\n"
    );
    for part in body.as_bytes().chunks(chunk) {
        out.push_str(&format!("{:x}\r\n", part.len()));
        out.push_str(std::str::from_utf8(part).unwrap());
        out.push_str("\r\n");
    }
    out + "0\r\n\r\n"
}

/// An error body of exactly `len` bytes whose code (`entry_overlap`) is not the one a 409
/// without a readable body is given (`conflict`).
fn error_body_of(len: usize) -> String {
    let head = r#"{"code":"entry_overlap","message":""#;
    let tail = r#""}"#;
    format!("{head}{}{tail}", "x".repeat(len - head.len() - tail.len()))
}

/// An error body is read up to its cap (64 KiB) and no further: at the cap it is the service's
/// own words; one byte over it, the status speaks and the message shows the body's first words
/// (a proxy's long error page), however it is sent.
#[tokio::test]
async fn an_error_body_is_read_up_to_its_cap() {
    const CAP: usize = 64 * 1024;
    let at_cap = error_body_of(CAP);
    let over = error_body_of(CAP + 1);
    let p = peer(vec![
        answer("409 Conflict", &[], "application/json", &at_cap),
        answer_chunked("409 Conflict", &at_cap, 1000),
        answer_chunked("409 Conflict", &at_cap, CAP),
        answer("409 Conflict", &[], "application/json", &over),
        answer_chunked("409 Conflict", &over, 1000),
        answer_chunked("409 Conflict", &over, CAP),
    ])
    .await;
    let c = client(&p.url);
    for (case, code) in [
        ("at the cap, with its length", "entry_overlap"),
        ("at the cap, in chunks", "entry_overlap"),
        ("at the cap, in one chunk", "entry_overlap"),
        ("over the cap, with its length", "conflict"),
        ("over the cap, in chunks", "conflict"),
        ("over the cap, in one chunk and a byte", "conflict"),
    ] {
        let e = c.me().await.unwrap_err();
        assert_eq!(
            e.code().map(|c| c.as_str().to_owned()).as_deref(),
            Some(code),
            "{case}: {e:?}"
        );
        if code == "conflict" {
            let SyncError::Rejected { error, .. } = &e else {
                panic!("{case}: {e:?}");
            };
            assert!(
                error
                    .message
                    .starts_with(r#"HTTP 409: {"code":"entry_overlap","message":"xxx"#),
                "{case}: {}",
                error.message
            );
        }
    }
}

#[tokio::test]
async fn client_errors_are_final() {
    let cases = [
        ("400 Bad Request", "bad_request", 400),
        ("404 Not Found", "not_found", 404),
        ("409 Conflict", "conflict", 409),
        ("410 Gone", "gone", 410),
        ("410 Gone", "deleted", 410),
        ("422 Unprocessable Entity", "validation", 422),
        ("403 Forbidden", "entry_locked", 403),
    ];
    let p = peer(
        cases
            .iter()
            .map(|(status, code, _)| answer(status, &[], "application/json", &error_body(code)))
            .collect(),
    )
    .await;
    let c = client(&p.url);
    for (_, code, status) in cases {
        let e = c.me().await.unwrap_err();
        match &e {
            SyncError::Rejected { status: s, error } => {
                assert_eq!(*s, status);
                assert_eq!(error.code.as_str(), code);
                assert_eq!(error.message, "scripted");
            }
            other => panic!("{status}: {other:?}"),
        }
        assert!(!e.is_retryable(), "{status}");
        assert_eq!(e.retry_after(), None);
        assert_eq!(e.is_deleted(), code == "deleted", "{status} {code}");
    }
}

#[tokio::test]
async fn unauthorized_on_a_session_call_and_unknown_codes() {
    let p = peer(vec![
        answer(
            "401 Unauthorized",
            &[],
            "application/json",
            &error_body("unauthorized"),
        ),
        answer(
            "418 I'm a teapot",
            &[],
            "application/json",
            &error_body("brand_new_code"),
        ),
    ])
    .await;
    let c = client(&p.url);
    assert!(matches!(c.me().await, Err(SyncError::Unauthorized)));
    let e = c.me().await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Unknown));
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn connection_refused_is_a_retryable_network_error() {
    // Bind to learn a free port, then close it: nothing listens there.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = client(&format!("http://{addr}"));
    let e = c.me().await.unwrap_err();
    match &e {
        SyncError::Network(n) => assert_eq!(n.kind(), NetworkErrorKind::Connect),
        other => panic!("{other:?}"),
    }
    assert!(e.is_retryable());
    assert_eq!(e.status(), None);
    // What a status line shows the user.
    assert_eq!(e.to_string(), "could not connect to the service");
}

#[tokio::test]
async fn a_silent_service_times_out_retryably() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let _ = read_request(&mut sock).await;
        // Never answer; hold the socket open.
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(sock);
    });
    let options = ClientOptions {
        request_timeout: Duration::from_millis(300),
        ..ClientOptions::default()
    };
    let c = Client::with_options(&url, options).unwrap().with_token("t");
    let e = c.me().await.unwrap_err();
    match &e {
        SyncError::Network(n) => assert_eq!(n.kind(), NetworkErrorKind::Timeout),
        other => panic!("{other:?}"),
    }
    assert!(e.is_retryable());
    assert_eq!(e.to_string(), "the service did not answer in time");
}

#[tokio::test]
async fn an_answer_cut_short_is_retryable() {
    let p = peer(vec![
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\nconnection: close\r\n\r\n{\"user\":"
            .to_owned(),
    ])
    .await;
    let e = client(&p.url).me().await.unwrap_err();
    assert!(
        matches!(&e, SyncError::Network(n) if n.kind() == NetworkErrorKind::Body),
        "{e:?}"
    );
    assert!(e.is_retryable());
    assert_eq!(e.to_string(), "the connection to the service broke");
}

#[tokio::test]
async fn another_api_version_is_its_own_error() {
    let other =
        "HTTP/1.1 200 OK\r\nx-shotclock-api-version: 2\r\ncontent-type: application/json\r\n\
                 content-length: 2\r\nconnection: close\r\n\r\n{}"
            .to_owned();
    let refused = answer(
        "400 Bad Request",
        &[],
        "application/json",
        &error_body("api_version"),
    );
    let p = peer(vec![other, refused]).await;
    let c = client(&p.url);
    let e = c.me().await.unwrap_err();
    match &e {
        SyncError::IncompatibleVersion { service, client } => {
            assert_eq!(service.as_deref(), Some("2"));
            assert_eq!(*client, API_VERSION);
        }
        other => panic!("{other:?}"),
    }
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("update the app"));
    let e = c.me().await.unwrap_err();
    assert!(matches!(e, SyncError::IncompatibleVersion { .. }), "{e:?}");
}

#[tokio::test]
async fn a_page_instead_of_json_is_a_retryable_decode_error() {
    let portal = "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 25\r\nconnection: close\r\n\r\n\
                  <html>Hotel Wi-Fi</html>\n"
        .to_owned();
    let p = peer(vec![portal]).await;
    let e = client(&p.url).me().await.unwrap_err();
    match &e {
        SyncError::Decode { endpoint, .. } => assert_eq!(endpoint, "GET /api/v1/me"),
        other => panic!("{other:?}"),
    }
    assert!(e.is_retryable());
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let p = peer(vec![
        answer(
            "302 Found",
            &["location: http://127.0.0.1:1/login"],
            "text/plain",
            "",
        ),
        answer(
            "308 Permanent Redirect",
            &["location: https://elsewhere.example/"],
            "text/plain",
            "",
        ),
    ])
    .await;
    let c = client(&p.url);
    let e = c.me().await.unwrap_err();
    assert!(matches!(&e, SyncError::Server { status: 302, .. }), "{e:?}");
    assert!(e.is_retryable());
    let e = c.me().await.unwrap_err();
    match &e {
        SyncError::Rejected { status: 308, error } => {
            assert!(
                error.message.contains("https://elsewhere.example/"),
                "{}",
                error.message
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn requests_carry_the_version_and_the_token() {
    let mut p = peer(vec![
        answer("204 No Content", &[], "text/plain", ""),
        answer(
            "200 OK",
            &[],
            "application/json",
            r#"{"status":"ok","api_version":1}"#,
        ),
    ])
    .await;
    let c = client(&p.url);
    c.delete_entry(shotclock_api::EntryId::new()).await.unwrap();
    let head = p.requests.recv().await.unwrap().to_ascii_lowercase();
    assert!(head.starts_with("delete /api/v1/entries/"), "{head}");
    assert!(
        head.contains(&format!("{API_VERSION_HEADER}: {API_VERSION}")),
        "{head}"
    );
    assert!(
        head.contains("authorization: bearer secret-token"),
        "{head}"
    );
    assert!(head.contains("user-agent: shotclock-sync/"), "{head}");

    // The health probe needs no token and sends none.
    c.without_token().health().await.unwrap();
    let head = p.requests.recv().await.unwrap().to_ascii_lowercase();
    assert!(head.starts_with("get /healthz "), "{head}");
    assert!(!head.contains("authorization"), "{head}");
}

#[tokio::test]
async fn base_url_prefixes_are_kept() {
    let mut p = peer(vec![answer(
        "200 OK",
        &[],
        "application/json",
        r#"{"status":"ok","api_version":1}"#,
    )])
    .await;
    let c = Client::new(format!("{}/shotclock", p.url)).unwrap();
    c.health().await.unwrap();
    let head = p.requests.recv().await.unwrap();
    assert!(head.starts_with("GET /shotclock/healthz "), "{head}");
}

#[tokio::test]
async fn url_rules() {
    assert!(Client::new("http://127.0.0.1").is_ok());
    assert!(Client::new("http://127.0.0.1:8080/").is_ok());
    assert!(Client::new("http://localhost:8080").is_ok());
    assert!(Client::new("http://[::1]:8080").is_ok());
    assert!(Client::new("https://example.com").is_ok());
    assert!(Client::new("example.com").is_ok());
    for bad in [
        "http://example.com",
        "http://192.168.0.2",
        "ftp://example.com",
        "",
        "https://",
    ] {
        let e = Client::new(bad).unwrap_err();
        assert!(matches!(e, SyncError::InvalidUrl { .. }), "{bad}: {e:?}");
        assert!(!e.is_retryable());
    }
    assert_eq!(
        Client::new("https://example.com/team")
            .unwrap()
            .base_url()
            .as_str(),
        "https://example.com/team/"
    );
}

#[tokio::test]
async fn event_stream_reconnects_after_the_peer_closes_and_skips_unknown_events() {
    let data = r#"{"type":"entry_deleted","entry_id":"0190a0b4-7c4e-7000-8000-000000000001"}"#;
    let stream_body = format!(
        ": hello\n\nevent: ready\ndata: {{}}\n\nevent: brand_new\ndata: {{\"type\":\"brand_new\"}}\n\n\
         event: entry_deleted\ndata: {data}\n\nevent: lagged\ndata: 3\n\n"
    );
    let sse = |body: &str| {
        format!(
            "HTTP/1.1 200 OK\r\n{API_VERSION_HEADER}: {API_VERSION}\r\ncontent-type: text/event-stream\r\n\
             connection: close\r\n\r\n{body}"
        )
    };
    let p = peer(vec![
        sse(&stream_body),
        answer(
            "503 Service Unavailable",
            &["retry-after: 0"],
            "application/json",
            &error_body("internal"),
        ),
        // A page where the stream should be: retried, not parsed.
        answer("200 OK", &[], "text/html", "<html></html>"),
        sse("event: ready\ndata: {}\n\n"),
        answer(
            "401 Unauthorized",
            &[],
            "application/json",
            &error_body("unauthorized"),
        ),
    ])
    .await;
    let options = EventsOptions {
        backoff: BackoffPolicy::new(Duration::from_millis(5), Duration::from_millis(20)),
        healthy_after: Duration::from_secs(60),
    };
    let mut stream = client(&p.url).events_with(options);
    let mut items = Vec::new();
    while let Some(item) = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
    {
        items.push(match item {
            StreamItem::Connected => "connected".to_owned(),
            StreamItem::Event(e) => format!("event:{}", e.kind()),
            StreamItem::Lagged { missed } => format!("lagged:{missed}"),
            StreamItem::Disconnected { error, retry_in } => {
                assert!(error.is_retryable(), "{error}");
                assert!(retry_in <= Duration::from_millis(20));
                format!("disconnected:{}", error.status().unwrap_or(0))
            }
            StreamItem::Unauthorized => "unauthorized".to_owned(),
            other => format!("{other:?}"),
        });
    }
    assert_eq!(
        items,
        [
            "connected",
            "event:entry_deleted",
            "lagged:3",
            "disconnected:0",
            "disconnected:503",
            "disconnected:0",
            "connected",
            "disconnected:0",
            "unauthorized",
        ]
    );
}

/// A connection that stayed up for `healthy_after` starts the backoff over: every reconnect
/// after one waits at most the first ceiling, however often the service drops the stream.
/// (Without the reset the ceiling doubles each time: 5, 10, 20 … 640 ms.)
#[tokio::test]
async fn a_healthy_connection_starts_the_backoff_over() {
    let sse = format!(
        "HTTP/1.1 200 OK\r\n{API_VERSION_HEADER}: {API_VERSION}\r\ncontent-type: text/event-stream\r\n\
         connection: close\r\n\r\nevent: ready\ndata: {{}}\n\n"
    );
    let drops = 8;
    let mut answers = vec![sse; drops];
    answers.push(answer(
        "401 Unauthorized",
        &[],
        "application/json",
        &error_body("unauthorized"),
    ));
    let p = peer(answers).await;
    let first_ceiling = Duration::from_millis(5);
    let mut stream = client(&p.url).events_with(EventsOptions {
        backoff: BackoffPolicy::new(first_ceiling, Duration::from_secs(10)),
        // Every connection that opened counts as healthy.
        healthy_after: Duration::ZERO,
    });
    assert_eq!(format!("{stream:?}"), "EventStream { .. }");
    let mut waits = Vec::new();
    let mut connected = 0;
    // Read as a `Stream`, as a consumer combining it with others does.
    while let Some(item) = tokio::time::timeout(
        Duration::from_secs(30),
        futures_util::StreamExt::next(&mut stream),
    )
    .await
    .unwrap()
    {
        match item {
            StreamItem::Connected => connected += 1,
            StreamItem::Disconnected { retry_in, .. } => waits.push(retry_in),
            StreamItem::Unauthorized => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(connected, drops);
    assert_eq!(waits.len(), drops);
    assert!(
        waits.iter().all(|w| *w <= first_ceiling),
        "the backoff grew after healthy connections: {waits:?}"
    );
}

#[tokio::test]
async fn a_silent_event_stream_is_noticed_and_reconnected() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        // First connection: the stream opens, then falls silent (no keep-alives) but stays open.
        let (mut first, _) = listener.accept().await.unwrap();
        let _ = read_request(&mut first).await;
        let head = format!(
            "HTTP/1.1 200 OK\r\n{API_VERSION_HEADER}: {API_VERSION}\r\n\
             content-type: text/event-stream\r\n\r\nevent: ready\ndata: {{}}\n\n"
        );
        first.write_all(head.as_bytes()).await.unwrap();
        // Second connection: the token is refused, which ends the stream.
        let (mut second, _) = listener.accept().await.unwrap();
        let _ = read_request(&mut second).await;
        let refused = answer(
            "401 Unauthorized",
            &[],
            "application/json",
            &error_body("unauthorized"),
        );
        second.write_all(refused.as_bytes()).await.unwrap();
        let _ = second.shutdown().await;
        drop(first);
    });
    let options = ClientOptions {
        idle_timeout: Duration::from_millis(300),
        ..ClientOptions::default()
    };
    let c = Client::with_options(&url, options).unwrap().with_token("t");
    let mut stream = c.events_with(EventsOptions {
        backoff: BackoffPolicy::new(Duration::from_millis(5), Duration::from_millis(20)),
        healthy_after: Duration::from_secs(60),
    });
    assert!(matches!(
        wait(&mut stream).await,
        Some(StreamItem::Connected)
    ));
    match wait(&mut stream).await {
        Some(StreamItem::Disconnected {
            error: SyncError::Network(n),
            ..
        }) => {
            assert_eq!(n.kind(), NetworkErrorKind::Timeout);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        wait(&mut stream).await,
        Some(StreamItem::Unauthorized)
    ));
    assert!(wait(&mut stream).await.is_none());
}

async fn wait(stream: &mut shotclock_sync::EventStream) -> Option<StreamItem> {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
}

/// Answers well above the ordinary (2 MiB: a long entry list, a large screenshot) but below the
/// caps (32 MiB each) are read whole.
#[tokio::test]
async fn large_answers_below_their_caps_are_read_whole() {
    let big = 2 * 1024 * 1024;
    // JSON may carry any amount of white space.
    let members = format!("{{\"members\":[]{}}}", " ".repeat(big));
    let image = "w".repeat(big);
    let p = peer(vec![
        answer("200 OK", &[], "application/json", &members),
        answer("200 OK", &[], "image/webp", &image),
    ])
    .await;
    let c = client(&p.url);
    assert!(c.members().await.unwrap().members.is_empty());
    let bytes = c
        .screenshot_image(shotclock_api::ScreenshotId::new())
        .await
        .unwrap();
    assert_eq!(bytes.len(), big);
}

/// A JSON answer of exactly its cap (32 MiB) is read; one byte more is refused as too large,
/// not cut and parsed.
#[tokio::test]
async fn a_json_answer_is_read_up_to_its_cap() {
    const CAP: usize = 32 * 1024 * 1024;
    let of_len = |len: usize| {
        let head = "{\"members\":[]";
        format!("{head}{}}}", " ".repeat(len - head.len() - 1))
    };
    let p = peer(vec![
        answer("200 OK", &[], "application/json", &of_len(CAP)),
        answer("200 OK", &[], "application/json", &of_len(CAP + 1)),
    ])
    .await;
    let c = client(&p.url);
    assert!(c.members().await.unwrap().members.is_empty());
    let e = c.members().await.unwrap_err();
    assert!(
        e.to_string().contains(&format!("larger than {CAP} bytes")),
        "{e}"
    );
}

/// `entry` answers `None` only for the service's "no such entry"; any other failure stays an
/// error (a member's entry is never taken for deleted because the service was down).
#[tokio::test]
async fn an_entry_is_missing_only_when_the_service_says_so() {
    let p = peer(vec![
        answer(
            "404 Not Found",
            &[],
            "application/json",
            &error_body("not_found"),
        ),
        answer(
            "503 Service Unavailable",
            &[],
            "application/json",
            &error_body("internal"),
        ),
    ])
    .await;
    let c = client(&p.url);
    let id = shotclock_api::EntryId::new();
    assert!(c.entry(id).await.unwrap().is_none());
    let e = c.entry(id).await.unwrap_err();
    assert_eq!(e.status(), Some(503), "{e:?}");
}

/// A client shows where it talks to and whether it is signed in, never its token; it keeps the
/// network settings it was made with.
#[tokio::test]
async fn a_client_shows_no_token_and_keeps_its_settings() {
    let options = ClientOptions {
        request_timeout: Duration::from_millis(1234),
        ..ClientOptions::default()
    };
    let c = Client::with_options("http://127.0.0.1:9/", options.clone()).unwrap();
    assert_eq!(c.options(), &options);
    let signed_in = c.with_token("secret-token");
    let shown = format!("{signed_in:?}");
    assert!(shown.contains("127.0.0.1:9"), "{shown}");
    assert!(shown.contains("signed_in: true"), "{shown}");
    assert!(!shown.contains("secret-token"), "{shown}");
    assert!(format!("{c:?}").contains("signed_in: false"));
}
