//! Screenshots: idempotent upload (R25), a member's day (R17), per-member day counts, image
//! bytes, and delete with a dry run (R19–R22). Expired screenshots (R18) are invisible here even
//! before the purge removes them; invisible ones answer 404 exactly like missing ones (R16).

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use shotclock_api::dto::{
    DayCount, DayCounts, DeleteKind, DeleteReport, Event, Screenshot, ScreenshotList, UploadReceipt,
};
use shotclock_api::privacy::AccessKind;
use shotclock_api::{ApiError, EntryId, ErrorCode, ScreenshotId, UserId};

use super::{ApiPath, ApiQuery, check_skew, day_bounds, screenshot_dto};
use crate::App;
use crate::auth::Auth;
use crate::blobs::blob_key;
use crate::error::{Error, Result};
use crate::intents::{Unsent, UploadOutcome};
use crate::maintenance::discard;
use crate::store::{ScreenshotRow, StoreError};
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
/// again → 200 with `created: false`; same id, other bytes → 409; an id (or entry) that was
/// deleted → 410 `deleted`, for good. Accepted when capture was allowed for the workspace at
/// `captured_at`, even if it has been turned off since. Answers only after the file is fsynced
/// and the row committed.
#[utoipa::path(put, path = "/api/v1/screenshots/{id}", tag = "screenshots",
    security(("bearer" = [])),
    params(("id" = ScreenshotId, Path, description = "client-generated screenshot id"), UploadQuery),
    request_body(content = Vec<u8>, content_type = "image/webp"),
    responses(
        (status = 201, body = UploadReceipt),
        (status = 200, description = "already stored (idempotent retry)", body = UploadReceipt),
        (status = 400, description = "malformed image or clock skew", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "capture was not allowed at captured_at", body = ApiError),
        (status = 404, description = "no such entry of the caller", body = ApiError),
        (status = 409, description = "same id, different bytes", body = ApiError),
        (status = 410, description = "older than retention (`gone`), or the screenshot or its entry was deleted (`deleted`)", body = ApiError),
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
    let sha256: [u8; 32] = Sha256::digest(&bytes).into();
    let receipt = |created| UploadReceipt {
        id,
        created,
        sha256: hex::encode(sha256),
    };
    let key = blob_key(id, &sha256);
    let row = ScreenshotRow {
        id,
        workspace_id: auth.user.workspace_id,
        user_id: auth.user.id,
        entry_id: q.entry_id,
        captured_at: q.captured_at,
        sha256,
        size: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
        width,
        height,
        blob_key: key.clone(),
        uploaded_at: now,
    };
    let stored = |outcome| match outcome {
        UploadOutcome::Created => (StatusCode::CREATED, Json(receipt(true))).into_response(),
        UploadOutcome::AlreadyStored => (StatusCode::OK, Json(receipt(false))).into_response(),
    };

    // The same rules, read-only first: a retry, or an upload that will be refused, writes no
    // file.
    if app.intents().check_upload(row.clone(), now).await? == UploadOutcome::AlreadyStored {
        return Ok(stored(UploadOutcome::AlreadyStored));
    }
    app.blobs().put(&key, bytes).await?;
    let (owner, entry_id) = (row.user_id, row.entry_id);
    match app.intents().upload(row, now).await {
        Ok(outcome) => {
            if outcome == UploadOutcome::Created {
                // After the commit: the owner's open pages (the web app's day list) refresh.
                app.publish(
                    owner,
                    Event::ScreenshotAdded {
                        screenshot_id: id,
                        entry_id,
                    },
                );
            }
            Ok(stored(outcome))
        }
        Err(e) => {
            // The key is this id's and these bytes'. A refusal by the rules means no row holds
            // it, now or later, so the bytes go now. Any other failure (the write group timed
            // out, the commit's answer was lost) may still leave a row that holds it: this
            // attempt's, or that of a retry of the same upload on another replica. Those bytes
            // are left to the sweep, which removes them only once no row references them.
            if matches!(e, StoreError::Refused { .. } | StoreError::NotFound) {
                let _ = app.blobs().delete(&key).await;
            }
            Err(e.into())
        }
    }
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
    let shown = app
        .intents()
        .screenshot_shown(auth.user.actor(), id, app.now())
        .await?;
    Ok(Json(screenshot_dto(&shown)))
}

/// The image bytes (`image/webp`). A view of someone else's screenshot is recorded in its
/// owner's access log first (repeats within a minute count once, R35).
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
    let now = app.now();
    let row = app
        .intents()
        .screenshot_for(auth.user.actor(), id, now)
        .await?
        .row;
    // R35: someone else's look is logged before the bytes leave (one small insert at most).
    let logged = app
        .intents()
        .record_view(auth.user.clone(), row.clone(), now)
        .await?;
    if logged {
        // After the commit: the owner's open page shows "viewed by" without asking.
        app.publish(
            row.user_id,
            Event::AccessLogged {
                screenshot_id: id,
                kind: AccessKind::Viewed,
            },
        );
    }
    let bytes = app
        .blobs()
        .get(&row.blob_key)
        .await?
        .ok_or_else(|| Error::Internal(format!("blob missing for screenshot {id}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/webp"),
            (header::CACHE_CONTROL, "no-store"),
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
    #[param(format = Date)]
    date: String,
    /// The viewer's IANA time zone, e.g. `Europe/Berlin`.
    #[param(max_length = 64)]
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
    let (user, rows) = app
        .intents()
        .screenshots_of(auth.user.actor(), q.user_id, from, to, app.now())
        .await?;
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
    #[param(format = Date)]
    date: String,
    /// The viewer's IANA time zone.
    #[param(max_length = 64)]
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
    let members = app
        .intents()
        .day_counts(auth.user.actor(), from, to, app.now())
        .await?
        .into_iter()
        .map(|(m, count)| DayCount {
            user_id: m.id,
            name: m.name,
            email: m.email,
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
    /// With `captured_at`: the caller's own screenshot that never reached the service (deleted
    /// on its device before it was sent). The delete is applied as if the service held it,
    /// once; a retry answers 404.
    entry_id: Option<EntryId>,
    /// The unsent screenshot's capture instant (RFC 3339), with `entry_id`.
    captured_at: Option<DateTime<Utc>>,
}

/// Deletes a screenshot for good (R19–R22), or previews it with `dry_run=true`.
#[utoipa::path(delete, path = "/api/v1/screenshots/{id}", tag = "screenshots", operation_id = "delete_screenshot",
    security(("bearer" = [])),
    params(("id" = ScreenshotId, Path, description = "screenshot id"), DeleteQuery),
    responses(
        (status = 200, body = DeleteReport),
        (status = 401, body = ApiError),
        (status = 403, description = "entry locked or approved (members)", body = ApiError),
        (status = 404, body = ApiError),
        (status = 409, description = "entry running: stop the timer first", body = ApiError),
        (status = 410, description = "an unsent screenshot's entry was deleted (`deleted`): nothing is left to remove", body = ApiError),
    ))]
pub(super) async fn delete(
    State(app): State<App>,
    auth: Auth,
    ApiPath(id): ApiPath<ScreenshotId>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> Result<Json<DeleteReport>> {
    let intents = app.intents();
    let done = match (q.entry_id, q.captured_at) {
        (Some(entry_id), Some(captured_at)) => {
            let unsent = Unsent {
                entry_id,
                captured_at,
            };
            intents
                .delete_unsent_screenshot(auth.user.actor(), id, unsent, app.now(), q.dry_run)
                .await?
        }
        (None, None) => {
            intents
                .delete_screenshot(auth.user.actor(), id, app.now(), q.dry_run)
                .await?
        }
        _ => {
            return Err(Error::validation(
                "entry_id and captured_at come together (an unsent screenshot)",
            ));
        }
    };
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
        discard(&app, &done.blob_keys).await;
        let owner = done.screenshot.user_id;
        app.publish(
            owner,
            Event::ScreenshotDeleted {
                screenshot_id: id,
                entry_id: done.entry.id,
            },
        );
        if done.entry_deleted {
            app.publish(
                owner,
                Event::EntryDeleted {
                    entry_id: done.entry.id,
                },
            );
        }
    }
    Ok(Json(report))
}
