//! The workspace's blocked-window list (R34) and a member's access log (R35).
//!
//! The list is read by everyone and replaced by admins; a change is announced as
//! `settings_changed`, on which every member's app reads the list again. The access log has
//! a read route only: no endpoint removes or changes a line (the authorization matrix checks
//! that every other method is refused).

use axum::Json;
use axum::extract::State;
use shotclock_api::ApiError;
use shotclock_api::privacy::{AccessEntry, AccessLog, WorkspaceBlocklist};

use super::ApiJson;
use super::workspace::broadcast_settings;
use super::workspace_of;
use crate::App;
use crate::auth::Auth;
use crate::error::Result;

/// The workspace's blocked-window list (everyone in it reads it).
#[utoipa::path(get, path = "/api/v1/workspace/blocklist", tag = "workspace", operation_id = "get_blocklist",
    security(("bearer" = [])),
    responses((status = 200, body = WorkspaceBlocklist), (status = 401, body = ApiError)))]
pub(super) async fn get_blocklist(
    State(app): State<App>,
    auth: Auth,
) -> Result<Json<WorkspaceBlocklist>> {
    let rules = app.intents().block_rules(auth.user.workspace_id).await?;
    Ok(Json(WorkspaceBlocklist { rules }))
}

/// Replaces the workspace's blocked-window list (admins). Patterns are trimmed; at most 50
/// rules of 1 to 100 characters, without control characters.
#[utoipa::path(put, path = "/api/v1/workspace/blocklist", tag = "workspace", operation_id = "set_blocklist",
    security(("bearer" = [])),
    request_body = WorkspaceBlocklist,
    responses(
        (status = 200, body = WorkspaceBlocklist),
        (status = 401, body = ApiError),
        (status = 403, description = "not an admin", body = ApiError),
        (status = 422, body = ApiError),
    ))]
pub(super) async fn set_blocklist(
    State(app): State<App>,
    auth: Auth,
    ApiJson(req): ApiJson<WorkspaceBlocklist>,
) -> Result<Json<WorkspaceBlocklist>> {
    auth.require_admin()?;
    let rules = app
        .intents()
        .set_block_rules(auth.user.workspace_id, req.rules)
        .await?;
    let ws = workspace_of(&app, &auth.user).await?;
    broadcast_settings(&app, &ws).await?;
    Ok(Json(WorkspaceBlocklist { rules }))
}

/// Who else viewed or deleted the caller's screenshots in the last 7 days, newest first.
#[utoipa::path(get, path = "/api/v1/access-log", tag = "screenshots", operation_id = "access_log",
    security(("bearer" = [])),
    responses((status = 200, body = AccessLog), (status = 401, body = ApiError)))]
pub(super) async fn access_log(State(app): State<App>, auth: Auth) -> Result<Json<AccessLog>> {
    let entries = app
        .intents()
        .access_log(auth.user.id, app.now())
        .await?
        .into_iter()
        .map(|a| AccessEntry {
            viewer_id: a.viewer_id,
            viewer_name: a.viewer_name,
            screenshot_id: a.screenshot_id,
            kind: a.kind,
            at: a.at,
        })
        .collect();
    Ok(Json(AccessLog { entries }))
}
