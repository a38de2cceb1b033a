//! Workspace settings (R4–R6): everyone reads, admins change; the trial (R5).

use axum::Json;
use axum::extract::State;
use shotclock_api::ApiError;
use shotclock_api::dto::{Event, UpdateSettingsRequest, WorkspaceSettings};

use super::{ApiJson, notification_dto, settings_dto, workspace_of};
use crate::App;
use crate::auth::Auth;
use crate::error::Result;
use crate::intents::SettingsPatch;
use crate::store::WorkspaceRow;

/// The caller's workspace settings.
#[utoipa::path(get, path = "/api/v1/workspace", tag = "workspace", operation_id = "get_workspace", security(("bearer" = [])),
    responses((status = 200, body = WorkspaceSettings), (status = 401, body = ApiError)))]
pub(super) async fn get(State(app): State<App>, auth: Auth) -> Result<Json<WorkspaceSettings>> {
    let ws = workspace_of(&app, &auth.user).await?;
    Ok(Json(settings_dto(&app, &ws)))
}

/// Tells every active member the settings changed (the blocklist's change included).
pub(super) async fn broadcast_settings(app: &App, ws: &WorkspaceRow) -> Result<()> {
    let settings = settings_dto(app, ws);
    for member in app.intents().members(ws.id, false).await? {
        app.publish(
            member.id,
            Event::SettingsChanged {
                settings: settings.clone(),
            },
        );
    }
    Ok(())
}

/// Changes settings (admins, R4). Turning capture on needs the plan or a trial (R5) and
/// notifies every member, persistently and live (R6).
#[utoipa::path(patch, path = "/api/v1/workspace", tag = "workspace", operation_id = "update_workspace", security(("bearer" = [])),
    request_body = UpdateSettingsRequest,
    responses(
        (status = 200, body = WorkspaceSettings),
        (status = 401, body = ApiError),
        (status = 403, description = "not an admin, or the plan lacks screenshots", body = ApiError),
        (status = 422, body = ApiError),
    ))]
pub(super) async fn update(
    State(app): State<App>,
    auth: Auth,
    ApiJson(req): ApiJson<UpdateSettingsRequest>,
) -> Result<Json<WorkspaceSettings>> {
    auth.require_admin()?;
    let patch = SettingsPatch {
        screenshots_enabled: req.screenshots_enabled,
        blur_enabled: req.blur_enabled,
        lock_date: req.lock_date,
    };
    let change = app
        .intents()
        .update_settings(auth.user.workspace_id, patch, app.now())
        .await?;
    // Persisted first (above), published second.
    for note in &change.notifications {
        app.publish(
            note.user_id,
            Event::Notification {
                notification: notification_dto(note),
            },
        );
    }
    broadcast_settings(&app, &change.workspace).await?;
    Ok(Json(settings_dto(&app, &change.workspace)))
}

/// Starts the one-time 7-day screenshot trial (admins, R5).
#[utoipa::path(post, path = "/api/v1/workspace/trial", tag = "workspace", security(("bearer" = [])),
    responses(
        (status = 200, body = WorkspaceSettings),
        (status = 401, body = ApiError),
        (status = 403, body = ApiError),
        (status = 409, description = "trial already used or not needed", body = ApiError),
    ))]
pub(super) async fn start_trial(
    State(app): State<App>,
    auth: Auth,
) -> Result<Json<WorkspaceSettings>> {
    auth.require_admin()?;
    let ws = app
        .intents()
        .start_trial(auth.user.workspace_id, app.now())
        .await?;
    broadcast_settings(&app, &ws).await?;
    Ok(Json(settings_dto(&app, &ws)))
}
