//! `PUT /api/v1/presence`: a recording app (the desktop app or the headless agent) reports that
//! capture turned on or off. It marks its event stream with `?capture=on|off` at each connect
//! and sends this only when the state changes (see [`crate::presence`]).

use axum::extract::State;
use axum::http::StatusCode;
use shotclock_api::ApiError;
use shotclock_api::dto::PresenceUpdate;

use super::ApiJson;
use crate::App;
use crate::auth::Auth;
use crate::error::{Error, Result};

/// Capture turned on or off in the caller's recording app (bearer sessions only: the web app
/// never captures). Applies to the app's open event stream on whichever replica holds it;
/// without one it changes nothing, and the next connect carries the state.
#[utoipa::path(put, path = "/api/v1/presence", tag = "members", operation_id = "report_presence", security(("bearer" = [])),
    request_body = PresenceUpdate,
    responses(
        (status = 204),
        (status = 401, body = ApiError),
        (status = 403, description = "a browser session", body = ApiError),
        (status = 422, body = ApiError),
    ))]
pub(super) async fn report(
    State(app): State<App>,
    auth: Auth,
    ApiJson(req): ApiJson<PresenceUpdate>,
) -> Result<StatusCode> {
    if auth.web {
        return Err(Error::forbidden("the web app does not capture"));
    }
    app.presence()
        .set_capture(auth.user.id, auth.token_hash, req.capture)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
