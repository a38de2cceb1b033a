//! Time entries: list (own, or the workspace's for admins), edit with a dry run, add manual
//! entries, delete with screenshots (R14, R15, R39), approve one entry or a member's day or
//! week (admins).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::Deserialize;
use shotclock_api::dto::{
    ApprovalEntry, ApprovalReport, ApprovalWeek, ApprovePeriod, ApproveRequest, EditReport, Entry,
    EntryDeleteReport, EntryList, EntryPatch, Event, MemberWeek, NewEntry, Period,
};
use shotclock_api::{ApiError, EntryId, UserId, limits};
use shotclock_domain::manage::{ApprovalPeriod, period_bounds};

use super::{
    ApiJson, ApiOptionalJson, ApiPath, ApiQuery, check_skew, entry_dto, member_dto, text,
    workspace_of,
};
use crate::App;
use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::intents::{EntryChange, ManualEntry};
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

/// One entry by id (own, or any of the workspace's for admins): what the desktop app asks
/// about an entry it holds open when the service says another runs (ended there, or gone).
#[utoipa::path(get, path = "/api/v1/entries/{id}", tag = "entries", operation_id = "get_entry", security(("bearer" = [])),
    params(("id" = EntryId, Path, description = "entry id")),
    responses(
        (status = 200, body = Entry),
        (status = 401, body = ApiError),
        (status = 404, description = "no such entry (or not visible)", body = ApiError),
    ))]
pub(super) async fn get(
    State(app): State<App>,
    auth: Auth,
    ApiPath(id): ApiPath<EntryId>,
) -> Result<Json<Entry>> {
    let row = app.intents().entry_for(auth.user.actor(), id).await?;
    let ws = workspace_of(&app, &auth.user).await?;
    Ok(Json(entry_dto(&row, ws.lock_date, app.now())))
}

/// Delete options.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DeleteQuery {
    /// Only report what the delete would do (same code path, rolled back).
    #[serde(default)]
    dry_run: bool,
}

/// Deletes an entry with its screenshots (records and files), answering what went; with
/// `dry_run=true` answers the same report and deletes nothing. Members: own, unlocked,
/// unapproved entries only.
#[utoipa::path(delete, path = "/api/v1/entries/{id}", tag = "entries", operation_id = "delete_entry", security(("bearer" = [])),
    params(("id" = EntryId, Path, description = "entry id"), DeleteQuery),
    responses(
        (status = 200, body = EntryDeleteReport),
        (status = 401, body = ApiError),
        (status = 403, description = "locked or approved", body = ApiError),
        (status = 404, body = ApiError),
    ))]
pub(super) async fn delete(
    State(app): State<App>,
    auth: Auth,
    ApiPath(id): ApiPath<EntryId>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> Result<Json<EntryDeleteReport>> {
    let now = app.now();
    let done = app
        .intents()
        .delete_entry_with(auth.user.actor(), id, now, q.dry_run)
        .await?;
    if !done.dry_run {
        discard(&app, &done.removed.blob_keys).await;
        for entry in &done.removed.entries {
            app.publish(entry.user_id, Event::EntryDeleted { entry_id: entry.id });
        }
    }
    Ok(Json(EntryDeleteReport {
        entry_id: done.entry.id,
        description: done.entry.description.clone(),
        screenshots: done.screenshots,
        duration_secs: done.entry.times.duration(now).num_seconds(),
        dry_run: done.dry_run,
    }))
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

/// Edit options.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct EditQuery {
    /// Only report what the edit would do (same code path, rolled back).
    #[serde(default)]
    dry_run: bool,
}

/// Edits an entry's description, start or end (R39). Screenshots the new times exclude are
/// deleted with it, only with `confirm: true`; `dry_run=true` previews them. Members: own,
/// unlocked, unapproved entries only.
#[utoipa::path(patch, path = "/api/v1/entries/{id}", tag = "entries", operation_id = "edit_entry",
    security(("bearer" = [])),
    params(("id" = EntryId, Path, description = "entry id"), EditQuery),
    request_body = EntryPatch,
    responses(
        (status = 200, body = EditReport),
        (status = 400, description = "clock skew", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "locked or approved", body = ApiError),
        (status = 404, body = ApiError),
        (status = 409, description = "overlaps another entry (`entry_overlap`), or screenshots would go without `confirm` (`confirmation_required`)", body = ApiError),
        (status = 410, description = "the entry was deleted (`deleted`)", body = ApiError),
        (status = 422, body = ApiError),
    ))]
pub(super) async fn edit(
    State(app): State<App>,
    auth: Auth,
    ApiPath(id): ApiPath<EntryId>,
    ApiQuery(q): ApiQuery<EditQuery>,
    ApiJson(patch): ApiJson<EntryPatch>,
) -> Result<Json<EditReport>> {
    let now = app.now();
    for (at, field) in [(patch.start, "start"), (patch.end, "end")] {
        if let Some(at) = at {
            check_skew(&app, at, field)?;
        }
    }
    let description = patch
        .description
        .as_deref()
        .map(|d| text(d, "description", limits::DESCRIPTION_CHARS))
        .transpose()?;
    let change = EntryChange {
        description,
        start: patch.start,
        end: patch.end,
        confirm: patch.confirm,
    };
    let done = app
        .intents()
        .edit_entry(auth.user.actor(), id, change, now, q.dry_run)
        .await?;
    let ws = workspace_of(&app, &auth.user).await?;
    let entry = entry_dto(&done.entry, ws.lock_date, now);
    if !done.dry_run {
        discard(&app, &done.blob_keys).await;
        let owner = done.entry.user_id;
        for &screenshot_id in &done.excluded {
            app.publish(
                owner,
                Event::ScreenshotDeleted {
                    screenshot_id,
                    entry_id: id,
                },
            );
        }
        app.publish(
            owner,
            Event::EntryChanged {
                entry: entry.clone(),
            },
        );
    }
    Ok(Json(EditReport {
        entry,
        excluded_screenshots: done.excluded,
        removed_secs: done.removed.num_seconds(),
        dry_run: done.dry_run,
    }))
}

/// Adds a manual entry (R39): no screenshots, labelled manual. Idempotent by id.
#[utoipa::path(post, path = "/api/v1/entries", tag = "entries", operation_id = "add_entry",
    security(("bearer" = [])),
    request_body = NewEntry,
    responses(
        (status = 200, description = "this entry was added before (a retry)", body = Entry),
        (status = 201, body = Entry),
        (status = 400, description = "clock skew", body = ApiError),
        (status = 401, body = ApiError),
        (status = 403, description = "in a locked period", body = ApiError),
        (status = 404, description = "no such member (or not visible)", body = ApiError),
        (status = 409, description = "overlaps another entry (`entry_overlap`), or the id is in use", body = ApiError),
        (status = 410, description = "this entry id was deleted (`deleted`)", body = ApiError),
        (status = 422, body = ApiError),
    ))]
pub(super) async fn add(
    State(app): State<App>,
    auth: Auth,
    ApiJson(req): ApiJson<NewEntry>,
) -> Result<(StatusCode, Json<Entry>)> {
    let now = app.now();
    check_skew(&app, req.start, "start")?;
    check_skew(&app, req.end, "end")?;
    let description = text(&req.description, "description", limits::DESCRIPTION_CHARS)?;
    let new = ManualEntry {
        id: req.id,
        user: req.user_id,
        description,
        start: req.start,
        end: req.end,
    };
    let (row, created) = app
        .intents()
        .add_manual_entry(auth.user.actor(), new, now)
        .await?;
    let ws = workspace_of(&app, &auth.user).await?;
    let entry = entry_dto(&row, ws.lock_date, now);
    if created {
        app.publish(
            row.user_id,
            Event::EntryChanged {
                entry: entry.clone(),
            },
        );
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(entry)))
}

/// Approves (or with `"approved": false` withdraws approval of) every stopped entry of a
/// member that starts in a day or an ISO week, read in the given time zone (admins, R39).
#[utoipa::path(post, path = "/api/v1/approvals", tag = "entries", operation_id = "approve_period",
    security(("bearer" = [])),
    request_body = ApprovePeriod,
    responses(
        (status = 200, body = ApprovalReport),
        (status = 401, body = ApiError),
        (status = 403, body = ApiError),
        (status = 404, description = "no such member (or not visible)", body = ApiError),
        (status = 422, body = ApiError),
    ))]
pub(super) async fn approve_period(
    State(app): State<App>,
    auth: Auth,
    ApiJson(req): ApiJson<ApprovePeriod>,
) -> Result<Json<ApprovalReport>> {
    auth.require_admin()?;
    let time_zone = text(&req.time_zone, "time_zone", limits::TIME_ZONE_CHARS)?;
    let period = match req.period {
        Period::Day => ApprovalPeriod::Day,
        Period::Week => ApprovalPeriod::Week,
    };
    let (from, to) = period_bounds(period, req.date, &time_zone)
        .map_err(|e| Error::validation(e.to_string()))?;
    let rows = app
        .intents()
        .set_period_approved(auth.user.actor(), req.user_id, from, to, req.approved)
        .await?;
    let ws = workspace_of(&app, &auth.user).await?;
    let now = app.now();
    let entries: Vec<Entry> = rows
        .iter()
        .map(|e| entry_dto(e, ws.lock_date, now))
        .collect();
    for entry in &entries {
        app.publish(
            entry.user_id,
            Event::EntryChanged {
                entry: entry.clone(),
            },
        );
    }
    Ok(Json(ApprovalReport { from, to, entries }))
}

/// The week the Approvals view shows.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct WeekQuery {
    /// A day of the ISO week (Monday to Sunday), `YYYY-MM-DD`, in `tz`.
    #[param(format = Date)]
    day: String,
    /// The viewer's IANA time zone, e.g. `Europe/Berlin`.
    #[param(max_length = 64)]
    tz: String,
}

/// Every active member with their entries starting in the ISO week holding `day` (in `tz`),
/// each with its screenshot count (admins, R39).
#[utoipa::path(get, path = "/api/v1/approvals", tag = "entries", operation_id = "approval_week",
    security(("bearer" = [])),
    params(WeekQuery),
    responses(
        (status = 200, body = ApprovalWeek),
        (status = 401, body = ApiError),
        (status = 403, body = ApiError),
        (status = 422, description = "bad day or time zone", body = ApiError),
    ))]
pub(super) async fn approval_week(
    State(app): State<App>,
    auth: Auth,
    ApiQuery(q): ApiQuery<WeekQuery>,
) -> Result<Json<ApprovalWeek>> {
    auth.require_admin()?;
    let time_zone = text(&q.tz, "tz", limits::TIME_ZONE_CHARS)?;
    let day = NaiveDate::parse_from_str(&q.day, "%Y-%m-%d")
        .map_err(|_| Error::validation("day must be YYYY-MM-DD"))?;
    let (from, to) = period_bounds(ApprovalPeriod::Week, day, &time_zone)
        .map_err(|e| Error::validation(e.to_string()))?;
    let now = app.now();
    let members = app
        .intents()
        .approval_week(auth.user.actor(), from, to, now)
        .await?;
    let ws = workspace_of(&app, &auth.user).await?;
    let members = members
        .iter()
        .map(|m| MemberWeek {
            member: member_dto(&m.member),
            entries: m
                .entries
                .iter()
                .map(|(e, n)| ApprovalEntry {
                    entry: entry_dto(e, ws.lock_date, now),
                    screenshots: u32::try_from(*n).unwrap_or(u32::MAX),
                })
                .collect(),
        })
        .collect();
    Ok(Json(ApprovalWeek { from, to, members }))
}
