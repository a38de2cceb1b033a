//! The service's own accept loop: how connections are admitted, bounded and closed.
//!
//! `axum::serve` holds every connection for as long as the peer likes and accepts without
//! limit, so a single client with idle sockets can exhaust the descriptor table. Here each
//! connection is served by hyper-util's `auto` builder (HTTP/1.1 and HTTP/2) in its own task,
//! under these rules (all durations and sizes from [`crate::Config`]):
//!
//! * **Cap.** At most `max_connections` are served at once. When the cap is reached, the oldest
//!   connection that has not completed a request yet (idle or half-sent) is closed to make
//!   room, and the newcomer waits briefly for its place; if there is no such connection, the
//!   newcomer is closed at once. Nothing queues without bound, and a probe such as `/healthz`
//!   gets through a flood of idle sockets.
//! * **First request.** A connection that has not completed a request head within
//!   `header_read_timeout` of being accepted is closed (this also covers a client that sends a
//!   part of the HTTP/2 preface, which hyper's own timer does not see).
//! * **Later requests.** On HTTP/1.1, hyper's header-read timer restarts whenever the
//!   connection waits for the next request, so a kept-alive connection that sends nothing more
//!   is closed after `header_read_timeout` too.
//! * **Idle.** A connection on which no byte moved either way for `idle_timeout` is shut down
//!   gracefully (an HTTP/1.1 response in progress is finished first; HTTP/2 gets `GOAWAY`).
//!   Event streams send a keep-alive every 15 s, so they are not idle.
//! * **Per request** ([`limit_request`]): a declared `Content-Length` above the larger of the
//!   upload and JSON limits is refused at once with 413 (a streamed body is cut at its limit by
//!   the router's extractors and the upload reader), and a handler that has not produced its
//!   response head within `request_timeout` (reading the body included, so a slow body cannot
//!   hold a handler) is answered with 429 and `Retry-After`.
//! * **Accept errors** (`EMFILE`, `ENFILE`, `ENOBUFS`…) back off from 10 ms up to 1 s instead of
//!   spinning; per-connection errors (a peer that reset before it was accepted) are skipped.
//!
//! The peer address reaches handlers as axum's `ConnectInfo<SocketAddr>` extension.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use shotclock_api::ErrorCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, oneshot};
use tower::ServiceExt;

use crate::error::Error;
use crate::{App, Config};

/// How long a newcomer waits for the place of a connection closed to make room for it.
const EVICTION_WAIT: Duration = Duration::from_millis(500);
/// Newcomers that may wait so at once (beyond them, excess connections are closed at once).
const MAX_WAITING: usize = 64;
/// Bounds of the back-off after an accept error.
const BACKOFF_MIN: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// The per-request limits of [`limit_request`].
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_body: usize,
    request_timeout: Duration,
}

/// Adds the per-request body and time limits to `router`.
pub(crate) fn with_limits(router: Router, config: &Config) -> Router {
    let limits = Limits {
        max_body: config.max_upload_bytes.max(config.max_json_bytes),
        request_timeout: config.request_timeout,
    };
    router.layer(middleware::from_fn_with_state(limits, limit_request))
}

async fn limit_request(State(limits): State<Limits>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body as u64) {
        return Error::api(ErrorCode::PayloadTooLarge, "request body too large").into_response();
    }
    match tokio::time::timeout(limits.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => Error::Busy {
            what: "the request took too long",
            retry_after_secs: 1,
        }
        .into_response(),
    }
}

/// Connections that have not completed a request yet, oldest first: the ones closed to make
/// room when the cap is reached. A connection leaves by dropping its receiver (its first
/// request arrived, or it ended); stale entries are skipped and pruned.
#[derive(Debug, Default)]
struct Unstarted {
    queue: Mutex<VecDeque<oneshot::Sender<()>>>,
}

impl Unstarted {
    fn register(&self, prune_above: usize) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.len() > prune_above {
            queue.retain(|tx| !tx.is_closed());
        }
        queue.push_back(tx);
        rx
    }

    /// Tells the oldest live one to close; false if there is none.
    fn evict_oldest(&self) -> bool {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(tx) = queue.pop_front() {
            if tx.send(()).is_ok() {
                return true;
            }
        }
        false
    }
}

/// Serves `router` on `listener` under the rules of the module doc, until the listener fails
/// for good (it never does on its own: accept errors are retried).
pub(crate) async fn serve_connections(
    listener: TcpListener,
    app: &App,
    router: Router,
) -> std::io::Result<()> {
    let config = app.config().clone();
    let places = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let waiting = Arc::new(Semaphore::new(MAX_WAITING));
    let unstarted = Arc::new(Unstarted::default());
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(config.idle_timeout))
        .keep_alive_timeout(config.header_read_timeout)
        .max_concurrent_streams(Some(64));
    let builder = Arc::new(builder);
    let mut backoff = BACKOFF_MIN;
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(accepted) => {
                backoff = BACKOFF_MIN;
                accepted
            }
            Err(e) if is_per_connection(&e) => continue,
            Err(e) => {
                tracing::warn!(error = %e, backoff_ms = backoff.as_millis() as u64, "accept failed; backing off");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        let conn = Conn {
            stream,
            remote,
            router: router.clone(),
            builder: Arc::clone(&builder),
            config: config.clone(),
            unstarted: Arc::clone(&unstarted),
        };
        if let Ok(place) = Arc::clone(&places).try_acquire_owned() {
            tokio::spawn(conn.serve(place));
        } else if let Ok(wait) = Arc::clone(&waiting).try_acquire_owned()
            && unstarted.evict_oldest()
        {
            let places = Arc::clone(&places);
            tokio::spawn(async move {
                let place = tokio::time::timeout(EVICTION_WAIT, places.acquire_owned()).await;
                drop(wait);
                if let Ok(Ok(place)) = place {
                    conn.serve(place).await;
                }
            });
        } else {
            tracing::debug!(%remote, "connection cap reached; closing a new connection");
        }
    }
}

/// Errors of one pending connection, not of the listener: accept the next one at once.
fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset, Interrupted};
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted
    )
}

struct Conn {
    stream: TcpStream,
    remote: SocketAddr,
    router: Router,
    builder: Arc<Builder<TokioExecutor>>,
    config: Config,
    unstarted: Arc<Unstarted>,
}

impl Conn {
    async fn serve(self, place: tokio::sync::OwnedSemaphorePermit) {
        let Conn {
            stream,
            remote,
            router,
            builder,
            config,
            unstarted,
        } = self;
        // Only a connection that holds a place can be asked to give it up.
        let mut evicted = unstarted.register(config.max_connections.saturating_mul(2));
        let _ = stream.set_nodelay(true);
        let started = Arc::new(AtomicBool::new(false));
        let activity = Activity::new();
        let service = {
            let started = Arc::clone(&started);
            router.map_request(move |mut req: axum::http::Request<Incoming>| {
                started.store(true, Ordering::Relaxed);
                req.extensions_mut().insert(ConnectInfo(remote));
                req
            })
        };
        let io = TokioIo::new(Tracked {
            inner: stream,
            activity: activity.clone(),
        });
        let mut conn = pin!(builder.serve_connection(io, TowerToHyperService::new(service)));
        let first_deadline = tokio::time::sleep(config.header_read_timeout);
        let mut first_deadline = pin!(first_deadline);
        let mut idle_check =
            tokio::time::interval(config.idle_timeout.max(Duration::from_millis(10)));
        idle_check.reset();
        let (mut first_done, mut evict_done, mut shutting_down) = (false, false, false);
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::trace!(%remote, error = %e, "connection ended with an error");
                    }
                    break;
                }
                () = &mut first_deadline, if !first_done => {
                    first_done = true;
                    if !started.load(Ordering::Relaxed) {
                        tracing::debug!(%remote, "no request within the header-read timeout; closing");
                        break;
                    }
                }
                told = &mut evicted, if !evict_done => {
                    evict_done = true;
                    if told.is_ok() {
                        if !started.load(Ordering::Relaxed) {
                            tracing::debug!(%remote, "closing a connection without a request to make room");
                            break;
                        }
                        // Its first request arrived meanwhile: pass the eviction on, so the
                        // newcomer waiting for a place still gets one.
                        unstarted.evict_oldest();
                    }
                }
                _ = idle_check.tick(), if !shutting_down => {
                    if activity.idle_for() >= config.idle_timeout {
                        shutting_down = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            // Once the first request arrived, this connection is no eviction candidate.
            if started.load(Ordering::Relaxed) && !evict_done {
                evict_done = true;
                evicted.close();
            }
        }
        drop(place);
    }
}

/// When a byte last moved on a connection, in milliseconds since it was accepted.
#[derive(Clone)]
struct Activity {
    since: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Self {
        Self {
            since: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.since.elapsed().saturating_sub(last)
    }
}

/// A socket that records when bytes move.
struct Tracked {
    inner: TcpStream,
    activity: Activity,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
