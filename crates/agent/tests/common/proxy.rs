//! A small HTTP/1.1-aware TCP proxy between the engine and the service that injects faults
//! per request and records every exchange (method, path, status, fault) in order.
//!
//! It reads each request completely (head + `content-length` body) before deciding what to do
//! with it, so it can cut a body in half on purpose. Responses with a length are relayed whole;
//! anything streamed (the SSE event stream, chunked bodies) switches the connection to a plain
//! two-way copy. When the upstream service is down, a client connection is closed without an
//! answer (the client sees a network error, as it would with the service gone).
//!
//! Three faults never reach the service: [`Fault::Refuse`] closes the connection without an
//! answer (that call alone is unreachable); [`Fault::AnswerDeleted`] answers in the service's
//! place with `410` and error code `deleted` (a tombstoned id, R29), and
//! [`Fault::AnswerNotFound`] with `404` and `not_found` (a service without that route).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Relay it and its answer.
    Pass,
    /// Send the head and half the body upstream, then drop both connections.
    DropMidBody,
    /// Hold the (complete) answer this long before relaying it.
    Delay(Duration),
    /// Let the service answer (it has committed), then reset the client's connection instead
    /// of relaying the answer: the acknowledgement is lost.
    ResetAfterResponse,
    /// Close the client's connection without sending anything upstream: the service is
    /// unreachable for this call.
    Refuse,
    /// Answer `410 {"code":"deleted",…}` without asking the service, as it answers the create
    /// of an id that was deleted (R29).
    AnswerDeleted,
    /// Answer `404 {"code":"not_found",…}` without asking the service, as a service answers a
    /// route it does not have.
    AnswerNotFound,
}

/// An answer in the service's place: `status` with the error `body`; `None` for a fault that
/// is not one.
fn answer(fault: Fault) -> Option<(u16, Vec<u8>)> {
    let (status, reason, body) = match fault {
        Fault::AnswerDeleted => (
            410,
            "Gone",
            r#"{"code":"deleted","message":"this id was deleted for good"}"#,
        ),
        Fault::AnswerNotFound => (
            404,
            "Not Found",
            r#"{"code":"not_found","message":"no such route"}"#,
        ),
        _ => return None,
    };
    let bytes = format!(
        "HTTP/1.1 {status} {reason}\r\n{}: {}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        shotclock_api::API_VERSION_HEADER,
        shotclock_api::API_VERSION,
        body.len()
    );
    Some((status, bytes.into_bytes()))
}

/// One request that reached the proxy.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub path: String,
    /// The service's status, if it answered.
    pub status: Option<u16>,
    pub fault: Fault,
    /// The request as sent: head and body (for a chunked request, only what was read before
    /// relaying it blindly, and `whole` is false).
    pub request: Vec<u8>,
    pub whole: bool,
}

/// Decides the fault for each request from its method and path (without the query).
pub type Policy = Arc<dyn Fn(&str, &str) -> Fault + Send + Sync>;

pub struct Proxy {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Exchange>>>,
    task: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// A proxy relaying everything unchanged (a recorder).
    pub async fn pass(upstream: SocketAddr) -> Self {
        Self::start(upstream, Arc::new(|_: &str, _: &str| Fault::Pass)).await
    }

    /// A proxy that refuses, as unreachable, the requests `refused(method, path)` picks and
    /// relays the rest.
    pub async fn refusing(upstream: SocketAddr, refused: fn(&str, &str) -> bool) -> Self {
        let policy = move |method: &str, path: &str| {
            if refused(method, path) {
                Fault::Refuse
            } else {
                Fault::Pass
            }
        };
        Self::start(upstream, Arc::new(policy)).await
    }

    /// A relay that, while `blocked`, refuses every call but the sign-in (the app gets a session
    /// and nothing else); and, once the test sets the counter it returns to `n`, refuses the
    /// next `n` reads of the timer (a connection dropped on the way).
    pub async fn sign_in_only(
        upstream: std::net::SocketAddr,
        blocked: Arc<AtomicBool>,
    ) -> (Self, Arc<AtomicUsize>) {
        let refuse = Arc::new(AtomicUsize::new(0));
        let left = refuse.clone();
        let proxy = Self::start(
            upstream,
            Arc::new(move |method: &str, path: &str| {
                if blocked.load(Ordering::SeqCst) && path != "/api/v1/auth/login" {
                    return Fault::Refuse;
                }
                let read = method == "GET" && path == "/api/v1/timer";
                let refused = read
                    && left
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                if refused { Fault::Refuse } else { Fault::Pass }
            }),
        )
        .await;
        (proxy, refuse)
    }

    pub async fn start(upstream: SocketAddr, policy: Policy) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(connection(client, upstream, policy.clone(), sink.clone()));
            }
        });
        Self { addr, log, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log.lock().unwrap().clone()
    }
}

struct Head {
    /// Bytes of the head, blank line included.
    len: usize,
    first_line: String,
    content_length: Option<usize>,
    chunked: bool,
    event_stream: bool,
    close: bool,
}

fn parse_head(buf: &[u8]) -> Option<Head> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let text = String::from_utf8_lossy(&buf[..end]).to_string();
    let mut lines = text.split("\r\n");
    let first_line = lines.next().unwrap_or_default().to_owned();
    let mut head = Head {
        len: end + 4,
        first_line,
        content_length: None,
        chunked: false,
        event_stream: false,
        close: false,
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (
            name.trim().to_ascii_lowercase(),
            value.trim().to_ascii_lowercase(),
        );
        match name.as_str() {
            "content-length" => head.content_length = value.parse().ok(),
            "transfer-encoding" => head.chunked = value.contains("chunked"),
            "content-type" => head.event_stream = value.starts_with("text/event-stream"),
            "connection" => head.close = value.contains("close"),
            _ => {}
        }
    }
    Some(head)
}

/// Reads from `sock` into `buf` until a whole head is in it; `None` on EOF or error.
async fn read_head(sock: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Head> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(head) = parse_head(buf) {
            return Some(head);
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Reads until `buf` holds at least `len` bytes; `false` on EOF or error.
async fn read_to(sock: &mut TcpStream, buf: &mut Vec<u8>, len: usize) -> bool {
    let mut chunk = [0u8; 64 * 1024];
    while buf.len() < len {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    true
}

async fn connection(
    mut client: TcpStream,
    upstream: SocketAddr,
    policy: Policy,
    log: Arc<Mutex<Vec<Exchange>>>,
) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        // The service is down: close without an answer.
        return;
    };
    let mut cbuf = Vec::new();
    loop {
        let Some(req) = read_head(&mut client, &mut cbuf).await else {
            return;
        };
        if req.chunked {
            log.lock().unwrap().push(Exchange {
                method: req
                    .first_line
                    .split(' ')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                path: String::new(),
                status: None,
                fault: Fault::Pass,
                request: cbuf.clone(),
                whole: false,
            });
            // Not used by the client for anything we fault; relay blindly.
            let _ = server.write_all(&cbuf).await;
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            return;
        }
        let body = req.content_length.unwrap_or(0);
        let total = req.len + body;
        if !read_to(&mut client, &mut cbuf, total).await {
            return;
        }
        let mut parts = req.first_line.split(' ');
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default();
        let path = target.split('?').next().unwrap_or_default().to_owned();
        let fault = policy(&method, &path);
        let mut exchange = Exchange {
            method,
            path,
            status: None,
            fault,
            request: cbuf[..total].to_vec(),
            whole: true,
        };

        if fault == Fault::Refuse {
            log.lock().unwrap().push(exchange);
            return; // both connections drop here, nothing was sent upstream
        }
        if let Some((status, bytes)) = answer(fault) {
            exchange.status = Some(status);
            log.lock().unwrap().push(exchange);
            cbuf.drain(..total);
            if client.write_all(&bytes).await.is_err() || req.close {
                return;
            }
            continue;
        }
        if fault == Fault::DropMidBody {
            let cut = req.len + body / 2;
            let _ = server.write_all(&cbuf[..cut]).await;
            let _ = server.flush().await;
            log.lock().unwrap().push(exchange);
            return; // both connections drop here
        }
        if server.write_all(&cbuf[..total]).await.is_err() {
            log.lock().unwrap().push(exchange);
            return;
        }
        cbuf.drain(..total);

        let mut sbuf = Vec::new();
        let Some(resp) = read_head(&mut server, &mut sbuf).await else {
            log.lock().unwrap().push(exchange);
            return;
        };
        exchange.status = resp
            .first_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok());
        let streaming = resp.event_stream || (resp.content_length.is_none() && resp.chunked);
        if streaming {
            log.lock().unwrap().push(exchange);
            if client.write_all(&sbuf).await.is_err() {
                return;
            }
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            return;
        }
        let rtotal = resp.len + resp.content_length.unwrap_or(0);
        if !read_to(&mut server, &mut sbuf, rtotal).await {
            log.lock().unwrap().push(exchange);
            return;
        }
        log.lock().unwrap().push(exchange);
        match fault {
            Fault::ResetAfterResponse => {
                let _ = client.set_zero_linger();
                return; // RST instead of the answer
            }
            Fault::Delay(d) => tokio::time::sleep(d).await,
            Fault::Pass
            | Fault::DropMidBody
            | Fault::Refuse
            | Fault::AnswerDeleted
            | Fault::AnswerNotFound => {}
        }
        if client.write_all(&sbuf[..rtotal]).await.is_err() {
            return;
        }
        if resp.close || req.close {
            return;
        }
    }
}
