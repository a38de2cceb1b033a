//! Time entries: list (own, or the workspace's for admins), delete with screenshots (R14, R15),
//! approve (admins).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use shotclock_api::dto::{ApproveRequest, Entry, EntryList, Event};
use shotclock_api::{ApiError, EntryId, UserId};

use super::{ApiOptionalJson, ApiPath, ApiQuery, entry_dto, workspace_of};
use crate::App;
use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::maintenance::discard;

/// `GET /entries` filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct EntryQuery {
    /// Entries starting at or after (default: 7 days ago).
    from: Option<DateTime<Utc>>,
    /// Entries starting before (default: in a day).
    to: Option<DateTime<Utc>>,
    /// Whose entries (default: the caller's; admins may name any member).
    user_id: Option<UserId>,
}

/// Entries by start time.
#[utoipa::path(get, path = "/api/v1/entries", tag = "entries", operation_id = "list_entries", security(("bearer" = [])),
    params(EntryQuery),
    responses(
        (status = 200, body = EntryList),
        (status = 401, body = ApiError),
        (status = 404, description = "no such member (or not visible)", body = ApiError),
        (status = 422, body = ApiError),
    ))]
pub(super) async fn list(
    State(app): State<App>,
    auth: Auth,
    ApiQuery(q): ApiQuery<EntryQuery>,
) -> Result<Json<EntryList>> {
    let now = app.now();
    let from = q.from.unwrap_or(now - TimeDelta::days(7));
    let to = q.to.unwrap_or(now + TimeDelta::days(1));
    if to <= from || to - from > TimeDelta::days(92) {
        return Err(Error::validation(
            "the range must be non-empty and at most 92 days",
        ));
    }
    let rows = app
        .intents()
        .entries_of(auth.user.actor(), q.user_id, from, to)
        .await?;
    let ws = workspace_of(&app, &auth.user).await?;
    Ok(Json(EntryList {
        entries: rows
            .iter()
            .map(|e| entry_dto(e, ws.lock_date, now))
            .collect(),
    }))
}

/// Deletes an entry with its screenshots (records and files). Members: own, unlocked,
/// unapproved entries only.
#[utoipa::path(delete, path = "/api/v1/entries/{id}", tag = "entries", operation_id = "delete_entry", security(("bearer" = [])),
    params(("id" = EntryId, Path, description = "entry id")),
    responses(
        (status = 204),
        (status = 401, body = ApiError),
        (status = 403, description = "locked or approved", body = ApiError),
        (status = 404, body = ApiError),
    ))]
pub(super) async fn delete(
    State(app): State<App>,
    auth: Auth,
    ApiPath(id): ApiPath<EntryId>,
) -> Result<StatusCode> {
    let removed = app
        .intents()
        .delete_entry(auth.user.actor(), id, app.now())
        .await?;
    discard(&app, &removed.blob_keys).await?;
    for entry in &removed.entries {
        app.publish(entry.user_id, Event::EntryDeleted { entry_id: entry.id });
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Approves (or with `{"approved": false}` un-approves) an entry (admins, R14).
#[utoipa::path(post, path = "/api/v1/entries/{id}/approve", tag = "entries",
    security(("bearer" = [])),
    params(("id" = EntryId, Path, description = "entry id")),
    request_body(content = ApproveRequest, description = "optional; default approves"),
    responses(
        (status = 200, body = Entry),
        (status = 401, body = ApiError),
        (status = 403, body = ApiError),
        (status = 404, body = ApiError),
    ))]
pub(super) async fn approve(
    State(app): State<App>,
    auth: Auth,
    ApiPath(id): ApiPath<EntryId>,
    ApiOptionalJson(body): ApiOptionalJson<ApproveRequest>,
) -> Result<Json<Entry>> {
    auth.require_admin()?;
    let approved = body.is_none_or(|b| b.approved);
    let row = app
        .intents()
        .set_approved(auth.user.actor(), id, approved)
        .await?;
    let ws = workspace_of(&app, &auth.user).await?;
    Ok(Json(entry_dto(&row, ws.lock_date, app.now())))
}
