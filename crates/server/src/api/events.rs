//! `GET /api/v1/events`: the caller's live events as Server-Sent Events, with keep-alive.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::StreamExt;
use shotclock_api::ApiError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::App;
use crate::auth::Auth;
use crate::error::Result;

/// Live events of the caller (`event:` is the event type, `data:` its JSON).
#[utoipa::path(get, path = "/api/v1/events", tag = "events", security(("bearer" = [])),
    responses(
        (status = 200, description = "text/event-stream of `Event`s", content_type = "text/event-stream",
         body = shotclock_api::dto::Event),
        (status = 401, body = ApiError),
    ))]
pub(super) async fn stream(
    State(app): State<App>,
    auth: Auth,
) -> Result<Sse<impl Stream<Item = std::result::Result<SseEvent, Infallible>>>> {
    let rx = app.hub().subscribe(auth.user.id);
    // The subscription exists before the response starts, so anything published after the
    // client sees the headers reaches it; the first frame confirms it.
    let ready = futures_util::stream::once(async {
        Ok::<_, Infallible>(SseEvent::default().event("ready").data("{}"))
    });
    let events = BroadcastStream::new(rx).map(|item| {
        Ok(match item {
            Ok(event) => SseEvent::default()
                .event(event.kind())
                .json_data(&event)
                .unwrap_or_else(|_| SseEvent::default().comment("unserializable event")),
            Err(BroadcastStreamRecvError::Lagged(n)) => {
                SseEvent::default().event("lagged").data(n.to_string())
            }
        })
    });
    Ok(
        Sse::new(ready.chain(events))
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))),
    )
}
