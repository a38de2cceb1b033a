//! The caller's persisted notifications (R6).

use axum::Json;
use axum::extract::State;
use shotclock_api::dto::{Notification, NotificationList};
use shotclock_api::{ApiError, NotificationId};

use super::{ApiPath, notification_dto};
use crate::App;
use crate::auth::Auth;
use crate::error::Result;

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", operation_id = "list_notifications",
    security(("bearer" = [])),
    responses((status = 200, body = NotificationList), (status = 401, body = ApiError)))]
pub(super) async fn list(State(app): State<App>, auth: Auth) -> Result<Json<NotificationList>> {
    let rows = app.intents().notifications(auth.user.id).await?;
    Ok(Json(NotificationList {
        notifications: rows.iter().map(notification_dto).collect(),
    }))
}

/// Marks one of the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications",
    security(("bearer" = [])),
    params(("id" = NotificationId, Path, description = "notification id")),
    responses(
        (status = 200, body = Notification),
        (status = 401, body = ApiError),
        (status = 404, body = ApiError),
    ))]
pub(super) async fn mark_read(
    State(app): State<App>,
    auth: Auth,
    ApiPath(id): ApiPath<NotificationId>,
) -> Result<Json<Notification>> {
    let row = app
        .intents()
        .mark_notification_read(auth.user.id, id, app.now())
        .await?;
    Ok(Json(notification_dto(&row)))
}
