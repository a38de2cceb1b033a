//! Row mapping: columns ↔ row types. Ids are `uuid`, instants `bigint` milliseconds (UTC, as on
//! SQLite, so both backends round alike), removed spans JSON text, sizes `bigint`.

use chrono::{DateTime, Utc};
use shotclock_api::{
    EntryId, InvitationId, NotificationId, Plan, Role, ScreenshotId, UserId, WorkspaceId,
};
use shotclock_domain::entry::EntryTimes;
use shotclock_domain::span::SpanSet;
use tokio_postgres::Row;
use tokio_postgres::types::FromSqlOwned;
use uuid::Uuid;

use crate::store::{EntryRow, NotificationRow, ScreenshotRow, StoreError, StoreResult, UserRow};
use crate::store::{InvitationRow, ScreenshotView, WorkspaceRow};

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

pub(super) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn at(ms: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp out of range: {ms}")))
}

pub(super) fn u(id: impl Into<Uuid>) -> Uuid {
    id.into()
}

/// Column `i` of `r`.
fn get<T: FromSqlOwned>(r: &Row, i: usize) -> StoreResult<T> {
    Ok(r.try_get(i)?)
}

pub(super) fn instant(r: &Row, i: usize) -> StoreResult<DateTime<Utc>> {
    at(get(r, i)?)
}

fn maybe_instant(r: &Row, i: usize) -> StoreResult<Option<DateTime<Utc>>> {
    get::<Option<i64>>(r, i)?.map(at).transpose()
}

fn parsed<T>(r: &Row, i: usize) -> StoreResult<T>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    get::<String>(r, i)?
        .parse()
        .map_err(|e: T::Err| StoreError::Corrupt(e.to_string()))
}

fn small(r: &Row, i: usize) -> StoreResult<u32> {
    let n: i64 = get(r, i)?;
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("out of range: {n}")))
}

pub(super) const WS_COLS: &str = "id, name, plan, screenshots_enabled, blur_enabled, lock_date_ms, \
                       trial_started_ms, created_ms";

pub(super) fn ws_row(r: &Row) -> StoreResult<WorkspaceRow> {
    Ok(WorkspaceRow {
        id: WorkspaceId::from_uuid(get(r, 0)?),
        name: get(r, 1)?,
        plan: parsed::<Plan>(r, 2)?,
        screenshots_enabled: get(r, 3)?,
        blur_enabled: get(r, 4)?,
        lock_date: maybe_instant(r, 5)?,
        trial_started_at: maybe_instant(r, 6)?,
        created_at: instant(r, 7)?,
    })
}

pub(super) const USER_COLS: &str =
    "id, workspace_id, email, name, password_hash, role, active, created_ms";

pub(super) fn user_row(r: &Row) -> StoreResult<UserRow> {
    Ok(UserRow {
        id: UserId::from_uuid(get(r, 0)?),
        workspace_id: WorkspaceId::from_uuid(get(r, 1)?),
        email: get(r, 2)?,
        name: get(r, 3)?,
        password_hash: get(r, 4)?,
        role: parsed::<Role>(r, 5)?,
        active: get(r, 6)?,
        created_at: instant(r, 7)?,
    })
}

pub(super) const ENTRY_COLS: &str = "id, workspace_id, user_id, description, start_ms, end_ms, removed_spans, approved, created_ms, \
     manual";

pub(super) fn entry_row(r: &Row) -> StoreResult<EntryRow> {
    let removed: String = get(r, 6)?;
    let removed: SpanSet =
        serde_json::from_str(&removed).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(EntryRow {
        id: EntryId::from_uuid(get(r, 0)?),
        workspace_id: WorkspaceId::from_uuid(get(r, 1)?),
        user_id: UserId::from_uuid(get(r, 2)?),
        description: get(r, 3)?,
        times: EntryTimes {
            start: instant(r, 4)?,
            end: maybe_instant(r, 5)?,
            removed,
        },
        approved: get(r, 7)?,
        manual: get(r, 9)?,
        created_at: instant(r, 8)?,
    })
}

pub(super) const SHOT_COLS: &str = "id, workspace_id, user_id, entry_id, captured_ms, sha256, size, width, \
                         height, blob_key, uploaded_ms";

pub(super) fn shot_row(r: &Row) -> StoreResult<ScreenshotRow> {
    let hash: Vec<u8> = get(r, 5)?;
    let sha256: [u8; 32] = hash
        .try_into()
        .map_err(|_| StoreError::Corrupt("sha256 is not 32 bytes".into()))?;
    Ok(ScreenshotRow {
        id: ScreenshotId::from_uuid(get(r, 0)?),
        workspace_id: WorkspaceId::from_uuid(get(r, 1)?),
        user_id: UserId::from_uuid(get(r, 2)?),
        entry_id: EntryId::from_uuid(get(r, 3)?),
        captured_at: instant(r, 4)?,
        sha256,
        size: small(r, 6)?,
        width: small(r, 7)?,
        height: small(r, 8)?,
        blob_key: get(r, 9)?,
        uploaded_at: instant(r, 10)?,
    })
}

pub(super) const INVITE_COLS: &str = "id, workspace_id, email, role, token_hash, created_ms, \
     expires_ms, accepted_ms, revoked_ms";

pub(super) fn invite_row(r: &Row) -> StoreResult<InvitationRow> {
    let hash: Vec<u8> = get(r, 4)?;
    let token_hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| StoreError::Corrupt("token_hash is not 32 bytes".into()))?;
    Ok(InvitationRow {
        id: InvitationId::from_uuid(get(r, 0)?),
        workspace_id: WorkspaceId::from_uuid(get(r, 1)?),
        email: get(r, 2)?,
        role: parsed::<Role>(r, 3)?,
        token_hash,
        created_at: instant(r, 5)?,
        expires_at: instant(r, 6)?,
        accepted_at: maybe_instant(r, 7)?,
        revoked_at: maybe_instant(r, 8)?,
    })
}

/// A screenshot row followed by its entry's description (column 11).
pub(super) fn view_row(r: &Row) -> StoreResult<ScreenshotView> {
    Ok(ScreenshotView {
        row: shot_row(r)?,
        entry_description: get(r, 11)?,
        entry_approved: get(r, 12)?,
        entry_start: instant(r, 13)?,
    })
}

pub(super) const NOTE_COLS: &str = "id, workspace_id, user_id, kind, message, created_ms, read_ms";

pub(super) fn note_row(r: &Row) -> StoreResult<NotificationRow> {
    Ok(NotificationRow {
        id: NotificationId::from_uuid(get(r, 0)?),
        workspace_id: WorkspaceId::from_uuid(get(r, 1)?),
        user_id: UserId::from_uuid(get(r, 2)?),
        kind: get(r, 3)?,
        message: get(r, 4)?,
        created_at: instant(r, 5)?,
        read_at: maybe_instant(r, 6)?,
    })
}

/// The gate columns `enabled, plan, trial_started_ms`.
pub(super) fn gate_row(r: &Row) -> StoreResult<shotclock_domain::gate::CaptureGate> {
    Ok(shotclock_domain::gate::CaptureGate {
        enabled: get(r, 0)?,
        plan: parsed::<Plan>(r, 1)?,
        trial_started_at: maybe_instant(r, 2)?,
    })
}

/// A `(user_id, count)` row.
pub(super) fn count_row(r: &Row) -> StoreResult<(UserId, u64)> {
    let n: i64 = get(r, 1)?;
    Ok((
        UserId::from_uuid(get(r, 0)?),
        u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative count {n}")))?,
    ))
}

/// Removed spans as stored.
pub(super) fn spans_json(spans: &SpanSet) -> StoreResult<String> {
    serde_json::to_string(spans).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A size as stored.
pub(super) fn big(n: u32) -> i64 {
    i64::from(n)
}

/// A `(field, pattern)` row of a workspace's blocked-window rules.
pub(super) fn rule_row(r: &Row) -> StoreResult<shotclock_api::privacy::BlockRule> {
    Ok(shotclock_api::privacy::BlockRule {
        field: crate::store::field_of(&get::<String>(r, 0)?)?,
        pattern: get(r, 1)?,
    })
}

pub(super) const ACCESS_COLS: &str = "workspace_id, owner_id, screenshot_id, captured_ms, \
                       viewer_id, viewer_name, kind, at_ms";

/// An access-log line ([`ACCESS_COLS`]).
pub(super) fn access_row(r: &Row) -> StoreResult<crate::store::AccessRow> {
    Ok(crate::store::AccessRow {
        workspace_id: WorkspaceId::from_uuid(get(r, 0)?),
        owner_id: UserId::from_uuid(get(r, 1)?),
        screenshot_id: ScreenshotId::from_uuid(get(r, 2)?),
        captured_at: instant(r, 3)?,
        viewer_id: UserId::from_uuid(get(r, 4)?),
        viewer_name: get(r, 5)?,
        kind: crate::store::kind_of(&get::<String>(r, 6)?)?,
        at: instant(r, 7)?,
    })
}
