//! `GET /api/v1/events`: the caller's live events as Server-Sent Events, with keep-alive; the
//! stream closes when its session ends (see [`crate::events::Hub::end`]), also when it may have
//! missed that ending and finds its session gone. A session that ended after the request's
//! `Auth` read it and before the stream listened for endings is refused (401). Open streams are
//! capped per user and in total (`Config::max_event_streams_per_user`, `max_event_streams`).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::StreamExt;
use serde::Deserialize;
use shotclock_api::ApiError;
use tokio::sync::broadcast::error::RecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::ApiQuery;
use crate::App;
use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::events::{Ended, Frame, Full};

/// What a recording app says of itself when it opens its stream.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct EventsQuery {
    /// Sent by a recording app (the desktop app or the headless agent) only: capture is on or
    /// off in it now. The stream then counts as the member's connected app for admins (R38);
    /// ignored on a browser session.
    #[param(inline)]
    capture: Option<CaptureState>,
}

/// Capture on or off.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum CaptureState {
    On,
    Off,
}

/// Live events of the caller (`event:` is the event type, `data:` its JSON).
#[utoipa::path(get, path = "/api/v1/events", tag = "events", security(("bearer" = [])),
    params(EventsQuery),
    responses(
        (status = 200, description = "text/event-stream of `Event`s", content_type = "text/event-stream",
         body = shotclock_api::dto::Event),
        (status = 401, body = ApiError),
        (status = 429, description = "too many open streams; see Retry-After", body = ApiError),
    ))]
pub(super) async fn stream(
    State(app): State<App>,
    auth: Auth,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Sse<impl Stream<Item = std::result::Result<SseEvent, Infallible>>>> {
    // Endings are heard from here on; the one check below covers those before (the session
    // was read by `Auth`, maybe long enough ago for a sign-out to land since).
    let mut endings = app.hub().endings();
    let (user, session) = (auth.user.id, auth.token_hash);
    if !session_holds(&app, user, session).await? {
        return Err(Error::unauthorized(
            "the session ended while its event stream opened; sign in again",
        ));
    }
    let config = app.config();
    let slot = app
        .hub()
        .admit(
            auth.user.id,
            config.max_event_streams_per_user,
            config.max_event_streams,
        )
        .map_err(|full| Error::Busy {
            what: match full {
                Full::User => "too many open event streams for this user; close one",
                Full::Service => "too many open event streams",
            },
            retry_after_secs: 5,
        })?;
    // A recording app's stream: connected while it is open (the web app never captures).
    // Recorded before the response starts, so an admin's read after `ready` sees it.
    let app_slot = match query.capture {
        Some(state) if !auth.web => Some(
            app.presence()
                .connect(
                    auth.user.id,
                    auth.token_hash,
                    matches!(state, CaptureState::On),
                )
                .await,
        ),
        _ => None,
    };
    let rx = app.hub().subscribe(auth.user.id);
    let checker = app.clone();
    let ended = async move {
        loop {
            match endings.recv().await {
                Ok(ending) if ending.ends(user, &session) => return,
                // Its own ending may have been among those missed.
                Ok(Ended::Unsure) | Err(RecvError::Lagged(_)) => {
                    if !still_signed_in(&checker, user, session).await {
                        return;
                    }
                }
                Ok(_) => {}
                Err(RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    };
    // The subscription exists before the response starts, so anything published after the
    // client sees the headers reaches it; the first frame confirms it.
    let ready = futures_util::stream::once(async {
        Ok::<_, Infallible>(SseEvent::default().event("ready").data("{}"))
    });
    // The slot lives as long as the stream: dropped with it, however it ends.
    let events = BroadcastStream::new(rx).map(move |item| {
        let _slot = (&slot, &app_slot);
        Ok(match item {
            Ok(Frame::Event(event)) => SseEvent::default()
                .event(event.kind())
                .json_data(&event)
                .unwrap_or_else(|_| SseEvent::default().comment("unserializable event")),
            // How many were missed is unknown.
            Ok(Frame::Gap) => SseEvent::default().event("lagged").data("0"),
            Err(BroadcastStreamRecvError::Lagged(n)) => {
                SseEvent::default().event("lagged").data(n.to_string())
            }
        })
    });
    Ok(Sse::new(ready.chain(events).take_until(ended))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Whether the stream of `user` opened with `session` may stay open: the session is still
/// valid and its user's. A read that fails closes the stream too (the client reconnects and
/// meets the service's answer then).
async fn still_signed_in(app: &App, user: shotclock_api::UserId, session: [u8; 32]) -> bool {
    session_holds(app, user, session).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "an event stream's session could not be checked; closed");
        false
    })
}

/// Whether `session` is still valid and `user`'s.
async fn session_holds(
    app: &App,
    user: shotclock_api::UserId,
    session: [u8; 32],
) -> crate::store::StoreResult<bool> {
    let found = app.intents().session_user(session, app.now()).await?;
    Ok(found.is_some_and(|u| u.id == user))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::Config;
    use crate::auth::new_token;
    use axum::response::IntoResponse;

    /// A sign-out that lands after a request's session was read and before its stream
    /// listens for endings: the stream is refused, instead of staying open on an ended
    /// session.
    #[tokio::test]
    async fn a_session_ended_while_its_stream_opens_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(Config::new(dir.path())).await.unwrap();
        let (_, owner) = crate::api::auth::create_workspace(
            &app,
            "Acme".into(),
            "ann@example.com",
            "Ann",
            "correct horse battery staple".into(),
            app.now(),
        )
        .await
        .unwrap();
        let (_, hash) = new_token();
        let now = app.now();
        app.intents()
            .create_session(
                hash,
                owner.id,
                owner.workspace_id,
                now,
                now + app.config().session_ttl,
            )
            .await
            .unwrap();
        // The request's session, read while it was valid.
        let owner_id = owner.id;
        let auth = Auth {
            user: owner,
            token_hash: hash,
            web: false,
        };
        // The sign-out, between that read and the stream's start.
        app.intents().delete_session(hash).await.unwrap();
        app.end(Ended::Session(hash));
        let answer = stream(
            State(app.clone()),
            auth,
            ApiQuery(EventsQuery {
                capture: Some(CaptureState::On),
            }),
        )
        .await;
        let Err(refused) = answer else {
            panic!("the stream of an ended session opened");
        };
        assert_eq!(refused.into_response().status(), 401);
        // It took no stream slot.
        assert_eq!(app.hub().open_streams(owner_id), (0, 0));
    }
}
