//! Screenshots: idempotent upload (R25), a member's day (R17), per-member day counts, image
//! bytes, and delete with a dry run (R19–R22). Expired screenshots (R18) are invisible here even
//! before the purge removes them; invisible ones answer 404 exactly like missing ones (R16).

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use shotclock_api::dto::{
    DayCount, DayCounts, DeleteKind, DeleteReport, Event, Screenshot, ScreenshotList, UploadReceipt,
};
use shotclock_api::{ApiError, EntryId, ErrorCode, ScreenshotId, UserId};
use shotclock_domain::retention;
use shotclock_domain::visibility::can_view;

use super::{
    ApiPath, ApiQuery, check_skew, day_bounds, screenshot_dto, visible_member, workspace_of,
};
use crate::App;
use crate::auth::Auth;
use crate::blobs::blob_key;
use crate::error::{Error, Result};
use crate::maintenance::discard;
use crate::store::{InsertOutcome, ScreenshotRow, ScreenshotView};
use crate::webp::{self, WebpError};

/// Upload metadata.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct UploadQuery {
    /// The (stopped or running) entry of the uploader the screenshot belongs to.
    entry_id: EntryId,
    /// Capture instant (RFC 3339).
    captured_at: DateTime<Utc>,
}

async fn read_body(app: &App, headers: &HeaderMap, body: Body) -> Result<Bytes> {
    let max = app.config().max_upload_bytes;
    let too_large = || {
        Error::api(
            ErrorCode::PayloadTooLarge,
            format!("screenshot larger than {max} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(e) => Err(Error::bad_request(format!("could not read the body: {e}"))),
    }
}

/// Uploads a screenshot (body: WebP bytes) under its client-generated id. Same id and bytes
/// again → 200 with `created: false`; same id, other bytes → 409. Answers only after the file
/// is fsynced and the row committed.
#[utoipa::path(put, path = "/api/v1/screenshots/{id}", tag = "screenshots",
    security(("bearer" = [])),
    params(("id" = ScreenshotId, Path, description = "client-generated screenshot id"), UploadQuery),
    request_body(content = Vec<u8>, content_type = "image/webp"),
    responses(
        (status = 201, body = UploadReceipt),
        (status = 200, description = "already stored (idempotent retry)", body = UploadReceipt),
        (status = 400, description = "malformed image or clock skew", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "capture not enabled or not in the plan", body = ApiError),
        (status = 404, description = "no such entry of the caller", body = ApiError),
        (status = 409, description = "same id, different bytes", body = ApiError),
        (status = 410, description = "older than retention", body = ApiError),
        (status = 413, body = ApiError),
        (status = 415, description = "not WebP", body = ApiError),
        (status = 422, description = "outside its entry, or too large dimensions", body = ApiError),
    ))]
pub(super) async fn upload(
    State(app): State<App>,
    auth: Auth,
    ApiPath(id): ApiPath<ScreenshotId>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let bytes = read_body(&app, &headers, body).await?;
    let (width, height) = webp::validate(&bytes).map_err(|e| match e {
        WebpError::NotWebp => Error::api(ErrorCode::UnsupportedMediaType, e.to_string()),
        WebpError::Malformed(_) => Error::bad_request(e.to_string()),
        WebpError::TooLarge { .. } => Error::validation(e.to_string()),
    })?;
    let now = app.now();
    check_skew(&app, q.captured_at, "captured_at")?;
    if retention::is_expired(q.captured_at, now) {
        return Err(Error::api(
            ErrorCode::Gone,
            "captured_at is older than the 7-day retention; the screenshot is not kept",
        ));
    }
    let sha256: [u8; 32] = Sha256::digest(&bytes).into();
    let receipt = |created| UploadReceipt {
        id,
        created,
        sha256: hex::encode(sha256),
    };

    // Idempotent fast path: a retry of something already stored writes nothing.
    if let Some(existing) = app.store().screenshot(id).await? {
        return if existing.sha256 == sha256 && existing.user_id == auth.user.id {
            Ok((StatusCode::OK, Json(receipt(false))).into_response())
        } else {
            Err(Error::conflict(
                "a different screenshot was already uploaded with this id",
            ))
        };
    }

    let entry = app
        .store()
        .entry(q.entry_id)
        .await?
        .filter(|e| e.user_id == auth.user.id)
        .ok_or(Error::NotFound)?;
    let span_end = entry.times.end.unwrap_or(now);
    if q.captured_at < entry.times.start || q.captured_at > span_end {
        return Err(Error::validation(format!(
            "captured_at {} lies outside its entry [{}, {}]",
            q.captured_at, entry.times.start, span_end
        )));
    }
    let ws = workspace_of(&app, &auth.user).await?;
    ws.gate()
        .capture_allowed(q.captured_at)
        .map_err(|reason| Error::api(reason.error_code(), reason.to_string()))?;

    let key = blob_key(id, &sha256);
    let size = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    app.blobs().put(&key, bytes).await?;
    let row = ScreenshotRow {
        id,
        workspace_id: auth.user.workspace_id,
        user_id: auth.user.id,
        entry_id: entry.id,
        captured_at: q.captured_at,
        sha256,
        size,
        width,
        height,
        blob_key: key.clone(),
        uploaded_at: now,
    };
    match app.store().insert_screenshot(row).await {
        Ok(InsertOutcome::Inserted) => {
            Ok((StatusCode::CREATED, Json(receipt(true))).into_response())
        }
        Ok(InsertOutcome::AlreadyPresent) => {
            Ok((StatusCode::OK, Json(receipt(false))).into_response())
        }
        Ok(InsertOutcome::Conflict) => {
            // Our file lost the race; its key is unique to our bytes, so remove just it.
            app.blobs().delete(&key).await?;
            Err(Error::conflict(
                "a different screenshot was already uploaded with this id",
            ))
        }
        Err(e) => {
            let _ = app.blobs().delete(&key).await;
            Err(e.into())
        }
    }
}

/// A screenshot the caller may see and that has not expired.
async fn visible(app: &App, auth: &Auth, id: ScreenshotId) -> Result<ScreenshotRow> {
    app.store()
        .screenshot(id)
        .await?
        .filter(|s| can_view(&auth.user.actor(), &s.owner()))
        .filter(|s| !retention::is_expired(s.captured_at, app.now()))
        .ok_or(Error::NotFound)
}

/// One screenshot's metadata.
#[utoipa::path(get, path = "/api/v1/screenshots/{id}", tag = "screenshots",
    security(("bearer" = [])),
    params(("id" = ScreenshotId, Path, description = "screenshot id")),
    responses(
        (status = 200, body = Screenshot),
        (status = 401, body = ApiError),
        (status = 404, body = ApiError),
    ))]
pub(super) async fn meta(
    State(app): State<App>,
    auth: Auth,
    ApiPath(id): ApiPath<ScreenshotId>,
) -> Result<Json<Screenshot>> {
    let row = visible(&app, &auth, id).await?;
    let entry = app.store().entry(row.entry_id).await?;
    Ok(Json(screenshot_dto(&ScreenshotView {
        entry_description: entry.map(|e| e.description).unwrap_or_default(),
        row,
    })))
}

/// The image bytes (`image/webp`).
#[utoipa::path(get, path = "/api/v1/screenshots/{id}/image", tag = "screenshots",
    security(("bearer" = [])),
    params(("id" = ScreenshotId, Path, description = "screenshot id")),
    responses(
        (status = 200, content_type = "image/webp", body = Vec<u8>),
        (status = 401, body = ApiError),
        (status = 404, body = ApiError),
    ))]
pub(super) async fn image(
    State(app): State<App>,
    auth: Auth,
    ApiPath(id): ApiPath<ScreenshotId>,
) -> Result<Response> {
    let row = visible(&app, &auth, id).await?;
    let bytes = app
        .blobs()
        .get(&row.blob_key)
        .await?
        .ok_or_else(|| Error::Internal(format!("blob missing for screenshot {id}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/webp"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        bytes,
    )
        .into_response())
}

/// Day selection.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DayQuery {
    /// Whose day (default: the caller; members may only name themselves).
    user_id: Option<UserId>,
    /// The day, `YYYY-MM-DD`, in `tz`.
    date: String,
    /// The viewer's IANA time zone, e.g. `Europe/Berlin`.
    tz: String,
}

/// One member's screenshots of a day in the viewer's time zone, oldest first (R17).
#[utoipa::path(get, path = "/api/v1/screenshots", tag = "screenshots", security(("bearer" = [])),
    params(DayQuery),
    responses(
        (status = 200, body = ScreenshotList),
        (status = 401, body = ApiError),
        (status = 404, description = "no such member (or not visible)", body = ApiError),
        (status = 422, description = "bad date or time zone", body = ApiError),
    ))]
pub(super) async fn day(
    State(app): State<App>,
    auth: Auth,
    ApiQuery(q): ApiQuery<DayQuery>,
) -> Result<Json<ScreenshotList>> {
    let (from, to) = day_bounds(&q.date, &q.tz)?;
    let user = visible_member(&app, &auth, q.user_id).await?;
    let from = from.max(retention::cutoff(app.now()) + TimeDelta::milliseconds(1));
    let rows = if from < to {
        app.store().screenshots_of_user(user, from, to).await?
    } else {
        Vec::new()
    };
    Ok(Json(ScreenshotList {
        user_id: user,
        date: q.date,
        time_zone: q.tz,
        screenshots: rows.iter().map(screenshot_dto).collect(),
    }))
}

/// Count selection.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct CountQuery {
    /// The day, `YYYY-MM-DD`, in `tz`.
    date: String,
    /// The viewer's IANA time zone.
    tz: String,
}

/// Screenshot counts of a day per active member (admins: everyone; members: themself).
#[utoipa::path(get, path = "/api/v1/screenshots/counts", tag = "screenshots",
    security(("bearer" = [])),
    params(CountQuery),
    responses(
        (status = 200, body = DayCounts),
        (status = 401, body = ApiError),
        (status = 422, body = ApiError),
    ))]
pub(super) async fn counts(
    State(app): State<App>,
    auth: Auth,
    ApiQuery(q): ApiQuery<CountQuery>,
) -> Result<Json<DayCounts>> {
    let (from, to) = day_bounds(&q.date, &q.tz)?;
    let from = from.max(retention::cutoff(app.now()) + TimeDelta::milliseconds(1));
    let members = if auth.user.role.is_admin() {
        app.store().members(auth.user.workspace_id, false).await?
    } else {
        vec![auth.user.clone()]
    };
    let counts = if from < to {
        app.store()
            .screenshot_counts(members.iter().map(|m| m.id).collect(), from, to)
            .await?
    } else {
        members.iter().map(|m| (m.id, 0)).collect()
    };
    let members = members
        .iter()
        .zip(counts)
        .map(|(m, (_, count))| DayCount {
            user_id: m.id,
            name: m.name.clone(),
            email: m.email.clone(),
            count,
        })
        .collect();
    Ok(Json(DayCounts {
        date: q.date,
        time_zone: q.tz,
        members,
    }))
}

/// Delete options.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DeleteQuery {
    /// Only report what the delete would do (same code path, rolled back).
    #[serde(default)]
    dry_run: bool,
}

/// Deletes a screenshot for good (R19–R22), or previews it with `dry_run=true`.
#[utoipa::path(delete, path = "/api/v1/screenshots/{id}", tag = "screenshots",
    security(("bearer" = [])),
    params(("id" = ScreenshotId, Path, description = "screenshot id"), DeleteQuery),
    responses(
        (status = 200, body = DeleteReport),
        (status = 401, body = ApiError),
        (status = 403, description = "entry locked or approved (members)", body = ApiError),
        (status = 404, body = ApiError),
        (status = 409, description = "entry running: stop the timer first", body = ApiError),
    ))]
pub(super) async fn delete(
    State(app): State<App>,
    auth: Auth,
    ApiPath(id): ApiPath<ScreenshotId>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> Result<Json<DeleteReport>> {
    let done = app
        .store()
        .delete_screenshot(auth.user.actor(), id, app.now(), q.dry_run)
        .await?;
    let report = DeleteReport {
        screenshot_id: id,
        entry_id: done.entry.id,
        entry_description: done.entry.description.clone(),
        decision: if done.entry_deleted {
            DeleteKind::DeleteEntry
        } else {
            DeleteKind::DeleteScreenshot
        },
        removed_secs: done.removed.num_seconds(),
        dry_run: done.dry_run,
    };
    if !done.dry_run {
        discard(&app, &done.blob_keys).await?;
        let owner = done.screenshot.user_id;
        app.hub().publish(
            owner,
            Event::ScreenshotDeleted {
                screenshot_id: id,
                entry_id: done.entry.id,
            },
        );
        if done.entry_deleted {
            app.hub().publish(
                owner,
                Event::EntryDeleted {
                    entry_id: done.entry.id,
                },
            );
        }
    }
    Ok(Json(report))
}
