//! The live event stream (`GET /api/v1/events`, Server-Sent Events) as a [`Stream`] that
//! reconnects by itself.
//!
//! Contract for the consumer (the agent's timer mirror):
//! * [`StreamItem::Connected`] comes first and again after every reconnect. The service does not
//!   replay missed events (they are hints, not the source of truth), so on `Connected` the
//!   consumer re-reads what it mirrors (`GET /timer`, settings, notifications). The service
//!   subscribes the stream before it answers, so nothing published after `Connected` is missed.
//! * [`StreamItem::Lagged`]: the service dropped events because this stream was read too slowly;
//!   handle it like `Connected` (re-read).
//! * [`StreamItem::Disconnected`] reports each lost connection or failed attempt with the wait
//!   before the next one, for a status display; nothing needs doing.
//! * [`StreamItem::Unauthorized`] and [`StreamItem::IncompatibleVersion`] are final: the stream
//!   ends after them (sign in again / update the app).
//!
//! Reconnects use [`Backoff`] (exponential, full jitter, capped, honouring `Retry-After`), reset
//! once a connection has stayed up for [`EventsOptions::healthy_after`] — so a service that
//! accepts and drops at once is not hammered. A dead connection is noticed by the client's idle
//! timeout (the service sends keep-alive comments every 15 s). The stream is driven by polling:
//! no background task, and dropping it closes the connection. Unknown event types (sent by a newer
//! service) are skipped, as the API's additive-evolution policy expects.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use futures_util::stream::BoxStream;
use reqwest::Response;
use shotclock_api::dto::Event;
use tokio::time::Instant;

use crate::backoff::{Backoff, BackoffPolicy};
use crate::client::Client;
use crate::error::{NetworkError, NetworkErrorKind, SyncError};
use crate::sse::{SseEvent, SseParser};

/// Reconnect behaviour of an [`EventStream`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventsOptions {
    /// Delays between attempts.
    pub backoff: BackoffPolicy,
    /// A connection that lasted this long resets the backoff.
    pub healthy_after: Duration,
}

impl Default for EventsOptions {
    fn default() -> Self {
        Self {
            backoff: BackoffPolicy::new(Duration::from_millis(500), Duration::from_secs(60)),
            healthy_after: Duration::from_secs(10),
        }
    }
}

/// One item of the event stream. See the module docs for what the consumer does with each.
#[derive(Debug)]
#[non_exhaustive]
pub enum StreamItem {
    /// (Re)connected: re-read the state that events would have told about.
    Connected,
    /// A live event.
    Event(Event),
    /// The service skipped `missed` events for this stream: re-read the state.
    Lagged {
        /// How many events were lost.
        missed: u64,
    },
    /// The connection failed or ended; the next attempt follows after `retry_in`.
    Disconnected {
        /// Why (always retryable).
        error: SyncError,
        /// Wait before the next attempt.
        retry_in: Duration,
    },
    /// Final: the token was refused. The stream ends.
    Unauthorized,
    /// Final: the service speaks another API version. The stream ends.
    IncompatibleVersion {
        /// The version the service announced, if known.
        service: Option<String>,
    },
}

/// The self-reconnecting event stream from [`Client::events`]. A [`Stream`] of [`StreamItem`];
/// [`EventStream::next`] saves importing `StreamExt`.
pub struct EventStream {
    inner: BoxStream<'static, StreamItem>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream").finish_non_exhaustive()
    }
}

impl EventStream {
    /// The next item; `None` after a final item.
    pub async fn next(&mut self) -> Option<StreamItem> {
        futures_util::StreamExt::next(&mut self.inner).await
    }
}

impl Stream for EventStream {
    type Item = StreamItem;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<StreamItem>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl Client {
    /// The caller's live events with default [`EventsOptions`]. Needs a token; reconnects until
    /// dropped or until a final item.
    #[must_use]
    pub fn events(&self) -> EventStream {
        self.events_with(EventsOptions::default())
    }

    /// The caller's live events with explicit reconnect behaviour.
    #[must_use]
    pub fn events_with(&self, options: EventsOptions) -> EventStream {
        self.stream(options, None)
    }

    /// The live events of a recording app (the desktop app, the headless agent): each connect
    /// says whether capture is on now, as `capture()` answers at that moment, so the service
    /// shows admins the app as connected (R38). A change while connected is reported with
    /// [`Client::report_capture`]; nothing is sent while nothing changes.
    #[must_use]
    pub fn app_events(
        &self,
        options: EventsOptions,
        capture: impl Fn() -> bool + Send + Sync + 'static,
    ) -> EventStream {
        self.stream(options, Some(Box::new(capture)))
    }

    fn stream(&self, options: EventsOptions, capture: Option<CaptureNow>) -> EventStream {
        let worker = Worker {
            client: self.clone(),
            capture,
            options,
            backoff: Backoff::new(options.backoff),
            conn: None,
            pending: VecDeque::new(),
            wait: None,
            done: false,
        };
        let inner = futures_util::stream::unfold(worker, |mut w| async move {
            w.next_item().await.map(|item| (item, w))
        });
        EventStream {
            inner: Box::pin(inner),
        }
    }
}

struct Connection {
    response: Response,
    parser: SseParser,
    since: Instant,
}

/// Whether capture is on now (asked at each connect).
type CaptureNow = Box<dyn Fn() -> bool + Send + Sync>;

struct Worker {
    client: Client,
    capture: Option<CaptureNow>,
    options: EventsOptions,
    backoff: Backoff,
    conn: Option<Connection>,
    pending: VecDeque<StreamItem>,
    /// Sleep before the next attempt.
    wait: Option<Duration>,
    done: bool,
}

impl Worker {
    async fn next_item(&mut self) -> Option<StreamItem> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if self.done {
                return None;
            }
            let Some(conn) = self.conn.as_mut() else {
                if let Some(wait) = self.wait.take() {
                    tokio::time::sleep(wait).await;
                }
                let capture = self.capture.as_ref().map(|now| now());
                match self.client.open_events(capture).await {
                    Ok(response) => {
                        tracing::debug!("event stream connected");
                        self.conn = Some(Connection {
                            response,
                            parser: SseParser::new(),
                            since: Instant::now(),
                        });
                        return Some(StreamItem::Connected);
                    }
                    Err(e) => return Some(self.failed(e, None)),
                }
            };
            let read = conn.response.chunk().await;
            let failure = match read {
                Ok(Some(bytes)) => match conn.parser.push(&bytes) {
                    Ok(events) => {
                        self.pending.extend(events.into_iter().filter_map(to_item));
                        continue;
                    }
                    Err(too_long) => SyncError::decode("GET /api/v1/events", too_long),
                },
                Ok(None) => NetworkError::without_source(NetworkErrorKind::Closed).into(),
                Err(e) => e.into(),
            };
            let since = self.conn.take().map(|c| c.since);
            return Some(self.failed(failure, since));
        }
    }

    /// Records a failure: final for a refused token or version, otherwise schedules a retry.
    fn failed(&mut self, error: SyncError, connected_since: Option<Instant>) -> StreamItem {
        match error {
            SyncError::Unauthorized => {
                self.done = true;
                StreamItem::Unauthorized
            }
            SyncError::IncompatibleVersion { service, .. } => {
                self.done = true;
                StreamItem::IncompatibleVersion { service }
            }
            error => {
                if connected_since.is_some_and(|t| t.elapsed() >= self.options.healthy_after) {
                    self.backoff.reset();
                }
                let retry_in = self.backoff.next_delay_after(error.retry_after());
                tracing::debug!(error = %error, ?retry_in, "event stream disconnected");
                self.wait = Some(retry_in);
                StreamItem::Disconnected { error, retry_in }
            }
        }
    }
}

/// Maps one SSE event to a stream item (`None`: nothing for the consumer).
fn to_item(sse: SseEvent) -> Option<StreamItem> {
    match sse.event.as_str() {
        // The service's "subscribed" confirmation; `Connected` was already reported.
        "ready" => None,
        "lagged" => Some(StreamItem::Lagged {
            missed: sse.data.trim().parse().unwrap_or(0),
        }),
        name => match serde_json::from_str::<Event>(&sse.data) {
            Ok(event) => Some(StreamItem::Event(event)),
            Err(e) => {
                tracing::debug!(event = name, error = %e, "skipping an event this client does not know");
                None
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shotclock_api::EntryId;

    fn sse(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: data.into(),
            id: None,
        }
    }

    #[test]
    fn maps_service_events() {
        assert!(to_item(sse("ready", "{}")).is_none());
        assert!(matches!(
            to_item(sse("lagged", "12")),
            Some(StreamItem::Lagged { missed: 12 })
        ));
        let id = EntryId::new();
        let data = serde_json::to_string(&Event::EntryDeleted { entry_id: id }).unwrap();
        match to_item(sse("entry_deleted", &data)) {
            Some(StreamItem::Event(Event::EntryDeleted { entry_id })) => assert_eq!(entry_id, id),
            other => panic!("{other:?}"),
        }
        // A newer service's event type is skipped, not an error.
        assert!(to_item(sse("badge_awarded", r#"{"type":"badge_awarded"}"#)).is_none());
        assert!(to_item(sse("message", "not json")).is_none());
    }
}
