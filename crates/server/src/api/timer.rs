//! The caller's timer (R13): start (idempotent by client entry id, stops the previous entry at
//! the new start), stop, current. Every change is published to all the user's devices.

use axum::Json;
use axum::extract::State;
use shotclock_api::dto::{Event, StartTimerRequest, StopTimerRequest, TimerState};
use shotclock_api::{ApiError, limits};

use super::{ApiJson, check_skew, entry_dto, text, workspace_of};
use crate::App;
use crate::auth::Auth;
use crate::error::Result;

/// The caller's running entry.
#[utoipa::path(get, path = "/api/v1/timer", tag = "timer", security(("bearer" = [])),
    responses((status = 200, body = TimerState), (status = 401, body = ApiError)))]
pub(super) async fn current(State(app): State<App>, auth: Auth) -> Result<Json<TimerState>> {
    let ws = workspace_of(&app, &auth.user).await?;
    let running = app.intents().running_entry(auth.user.id).await?;
    let now = app.now();
    Ok(Json(TimerState {
        running: running.map(|e| entry_dto(&e, ws.lock_date, now)),
        stopped: None,
    }))
}

/// Starts a timer with a client-generated entry id. The running entry stops at the new start.
/// The person's other entries keep their time (entries never overlap): a start inside a
/// stopped entry moves to its end, and when an entry starts later (the running one included:
/// a start sent late by a device that was offline) the new entry ends where it begins and is
/// answered as `stopped` (R13, R39).
#[utoipa::path(post, path = "/api/v1/timer/start", tag = "timer", security(("bearer" = [])),
    request_body = StartTimerRequest,
    responses(
        (status = 200, body = TimerState),
        (status = 400, description = "clock skew", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "start in a locked period", body = ApiError),
        (status = 409, description = "entry id used by someone else", body = ApiError),
        (status = 410, description = "this entry id was deleted (`deleted`)", body = ApiError),
        (status = 422, body = ApiError),
    ))]
pub(super) async fn start(
    State(app): State<App>,
    auth: Auth,
    ApiJson(req): ApiJson<StartTimerRequest>,
) -> Result<Json<TimerState>> {
    let now = app.now();
    let start = req.start.unwrap_or(now);
    check_skew(&app, start, "start")?;
    let description = text(&req.description, "description", limits::DESCRIPTION_CHARS)?;
    let outcome = app
        .intents()
        .start_timer(&auth.user, req.entry_id, description, start, now)
        .await?;
    let ws = workspace_of(&app, &auth.user).await?;
    let stopped = outcome.stopped.map(|e| entry_dto(&e, ws.lock_date, now));
    let running = entry_dto(&outcome.entry, ws.lock_date, now);
    if let Some(entry) = &stopped {
        app.publish(
            auth.user.id,
            Event::TimerStopped {
                entry: entry.clone(),
            },
        );
    }
    let ended = outcome.entry.times.end.is_some();
    if outcome.created {
        let entry = running.clone();
        // An entry that ends where a later one begins (R13, R39) is added to the list; the
        // running entry, if any, runs on.
        let event = if ended {
            Event::EntryChanged { entry }
        } else {
            Event::TimerStarted { entry }
        };
        app.publish(auth.user.id, event);
    }
    if outcome.created && ended {
        let still = app.intents().running_entry(auth.user.id).await?;
        return Ok(Json(TimerState {
            running: still.map(|e| entry_dto(&e, ws.lock_date, now)),
            stopped: Some(running),
        }));
    }
    let running = (!ended).then_some(running);
    Ok(Json(TimerState { running, stopped }))
}

/// Stops the running timer (or the given entry; stopping a stopped entry is a no-op).
#[utoipa::path(post, path = "/api/v1/timer/stop", tag = "timer", security(("bearer" = [])),
    request_body = StopTimerRequest,
    responses(
        (status = 200, body = TimerState),
        (status = 400, description = "clock skew", body = ApiError),
        (status = 401, body = ApiError),
        (status = 404, body = ApiError),
    ))]
pub(super) async fn stop(
    State(app): State<App>,
    auth: Auth,
    ApiJson(req): ApiJson<StopTimerRequest>,
) -> Result<Json<TimerState>> {
    let now = app.now();
    let end = req.end.unwrap_or(now);
    check_skew(&app, end, "end")?;
    let stopped = app
        .intents()
        .stop_timer(auth.user.id, req.entry_id, end)
        .await?;
    let ws = workspace_of(&app, &auth.user).await?;
    let stopped = stopped.map(|e| entry_dto(&e, ws.lock_date, now));
    if let Some(entry) = &stopped {
        app.publish(
            auth.user.id,
            Event::TimerStopped {
                entry: entry.clone(),
            },
        );
    }
    Ok(Json(TimerState {
        running: None,
        stopped,
    }))
}
