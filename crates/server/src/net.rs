//! The service's own accept loop: how connections are admitted, bounded and closed.
//!
//! `axum::serve` holds every connection for as long as the peer likes and accepts without
//! limit, so a single client with idle sockets can exhaust the descriptor table. Here each
//! connection is served by hyper-util's `auto` builder (HTTP/1.1 and HTTP/2) in its own task,
//! under these rules (all durations and sizes from [`crate::Config`]):
//!
//! * **Cap.** At most `max_connections` are served at once, plus at most [`SPARE_PLACES`] while
//!   evictions are under way. When the cap is reached, the oldest connection that has not
//!   completed a request yet (idle or half-sent) is told to close, and the newcomer is served at
//!   once on a spare place, which it gives back as soon as a regular place frees up (the
//!   evicted connection's, usually). If there is no such connection, or every spare place is
//!   taken, the newcomer is closed at once. Nothing queues, a flood of any
//!   size holds at most `max_connections + SPARE_PLACES` descriptors, and a probe such as
//!   `/healthz`, which sends its request at once, gets through a flood of idle sockets: the
//!   flood only ever evicts itself.
//! * **Descriptors.** `shotclock-server serve` raises the soft descriptor limit to the hard
//!   one, then [`fit_descriptor_limit`] lowers the cap to what that limit leaves after the
//!   spare places and the files the service keeps open itself, so that a flood meets the cap,
//!   not `EMFILE`.
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
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tower::ServiceExt;

use crate::error::Error;
use crate::{App, Config};

/// Places beyond the cap, each held by a newcomer served while the connection it evicted
/// closes (beyond them, excess connections are closed at once).
pub const SPARE_PLACES: usize = 64;
/// Descriptors the service keeps for itself beyond its connections: the database and its
/// journal, image files being read or written, the listener, the runtime's own.
pub const RESERVED_DESCRIPTORS: u64 = 128;
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
    let spare = Arc::new(Semaphore::new(SPARE_PLACES));
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
            tokio::spawn(conn.serve(place, None));
        } else if let Ok(place) = Arc::clone(&spare).try_acquire_owned()
            && unstarted.evict_oldest()
        {
            tokio::spawn(conn.serve(place, Some(Arc::clone(&places))));
        } else {
            tracing::debug!(%remote, "connection cap reached; closing a new connection");
        }
    }
}

/// Lowers `config.max_connections` so that the connections, the spare places and
/// [`RESERVED_DESCRIPTORS`] fit in `descriptor_limit` (the process's soft `RLIMIT_NOFILE`);
/// never below 1. Returns the cap in effect.
pub fn fit_descriptor_limit(config: &mut crate::Config, descriptor_limit: u64) -> usize {
    let room = descriptor_limit.saturating_sub(RESERVED_DESCRIPTORS + SPARE_PLACES as u64);
    let room = usize::try_from(room).unwrap_or(usize::MAX).max(1);
    config.max_connections = config.max_connections.min(room).max(1);
    config.max_connections
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
    /// Serves the connection on `place`; a connection on a spare place also waits for a
    /// regular one (`regular`) and moves to it, so spare places stay free for evictions.
    async fn serve(self, mut place: OwnedSemaphorePermit, regular: Option<Arc<Semaphore>>) {
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
        let mut moved = regular.is_none();
        let regular_place = async move {
            match regular {
                Some(places) => places.acquire_owned().await.ok(),
                None => std::future::pending().await,
            }
        };
        let mut regular_place = pin!(regular_place);
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
                regular = &mut regular_place, if !moved => {
                    moved = true;
                    if let Some(regular) = regular {
                        place = regular;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_fits_the_descriptor_limit() {
        let mut config = Config::new("unused");
        config.max_connections = 512;
        // Plenty of descriptors: the configured cap stands.
        assert_eq!(fit_descriptor_limit(&mut config, 65_536), 512);
        // 512 descriptors: what is left after the reserve and the spare places.
        let left = 512 - RESERVED_DESCRIPTORS as usize - SPARE_PLACES;
        assert_eq!(fit_descriptor_limit(&mut config, 512), left);
        assert_eq!(config.max_connections, left);
        // Exactly enough for one connection, and then not even that: never below 1.
        let one = RESERVED_DESCRIPTORS + SPARE_PLACES as u64 + 1;
        assert_eq!(fit_descriptor_limit(&mut config, one), 1);
        assert_eq!(fit_descriptor_limit(&mut config, 10), 1);
    }
}
