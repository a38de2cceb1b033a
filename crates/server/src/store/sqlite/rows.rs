//! Row mapping: columns ↔ row types. Ids are 16-byte UUID blobs, instants integer
//! milliseconds (UTC), removed spans JSON text.

use chrono::{DateTime, Utc};
use rusqlite::Row;
use shotclock_api::{
    EntryId, InvitationId, NotificationId, Plan, Role, ScreenshotId, UserId, WorkspaceId,
};
use shotclock_domain::entry::EntryTimes;
use shotclock_domain::span::SpanSet;
use uuid::Uuid;

use crate::store::{
    EntryRow, InvitationRow, NotificationRow, ScreenshotRow, StoreError, UserRow, WorkspaceRow,
};

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

pub(super) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(super) fn at(ms: i64) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Integer,
            format!("timestamp out of range: {ms}").into(),
        )
    })
}

pub(super) fn conv_err(e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
}

pub(super) fn u(id: impl Into<Uuid>) -> Uuid {
    id.into()
}

pub(super) const WS_COLS: &str = "id, name, plan, screenshots_enabled, blur_enabled, lock_date_ms, \
                       trial_started_ms, created_ms";

pub(super) fn ws_row(r: &Row<'_>) -> rusqlite::Result<WorkspaceRow> {
    let plan: String = r.get(2)?;
    Ok(WorkspaceRow {
        id: WorkspaceId::from_uuid(r.get(0)?),
        name: r.get(1)?,
        plan: plan.parse::<Plan>().map_err(conv_err)?,
        screenshots_enabled: r.get(3)?,
        blur_enabled: r.get(4)?,
        lock_date: r.get::<_, Option<i64>>(5)?.map(at).transpose()?,
        trial_started_at: r.get::<_, Option<i64>>(6)?.map(at).transpose()?,
        created_at: at(r.get(7)?)?,
    })
}

pub(super) const USER_COLS: &str =
    "id, workspace_id, email, name, password_hash, role, active, created_ms";

pub(super) fn user_row(r: &Row<'_>) -> rusqlite::Result<UserRow> {
    let role: String = r.get(5)?;
    Ok(UserRow {
        id: UserId::from_uuid(r.get(0)?),
        workspace_id: WorkspaceId::from_uuid(r.get(1)?),
        email: r.get(2)?,
        name: r.get(3)?,
        password_hash: r.get(4)?,
        role: role.parse::<Role>().map_err(conv_err)?,
        active: r.get(6)?,
        created_at: at(r.get(7)?)?,
    })
}

pub(super) const ENTRY_COLS: &str = "id, workspace_id, user_id, description, start_ms, end_ms, removed_spans, approved, created_ms, \
     manual";

pub(super) fn entry_row(r: &Row<'_>) -> rusqlite::Result<EntryRow> {
    let removed: String = r.get(6)?;
    let removed: SpanSet = serde_json::from_str(&removed).map_err(conv_err)?;
    Ok(EntryRow {
        id: EntryId::from_uuid(r.get(0)?),
        workspace_id: WorkspaceId::from_uuid(r.get(1)?),
        user_id: UserId::from_uuid(r.get(2)?),
        description: r.get(3)?,
        times: EntryTimes {
            start: at(r.get(4)?)?,
            end: r.get::<_, Option<i64>>(5)?.map(at).transpose()?,
            removed,
        },
        approved: r.get(7)?,
        manual: r.get(9)?,
        created_at: at(r.get(8)?)?,
    })
}

pub(super) const SHOT_COLS: &str = "id, workspace_id, user_id, entry_id, captured_ms, sha256, size, width, \
                         height, blob_key, uploaded_ms";

pub(super) fn shot_row(r: &Row<'_>) -> rusqlite::Result<ScreenshotRow> {
    let hash: Vec<u8> = r.get(5)?;
    let sha256: [u8; 32] = hash.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            5,
            rusqlite::types::Type::Blob,
            "sha256 is not 32 bytes".into(),
        )
    })?;
    Ok(ScreenshotRow {
        id: ScreenshotId::from_uuid(r.get(0)?),
        workspace_id: WorkspaceId::from_uuid(r.get(1)?),
        user_id: UserId::from_uuid(r.get(2)?),
        entry_id: EntryId::from_uuid(r.get(3)?),
        captured_at: at(r.get(4)?)?,
        sha256,
        size: r.get(6)?,
        width: r.get(7)?,
        height: r.get(8)?,
        blob_key: r.get(9)?,
        uploaded_at: at(r.get(10)?)?,
    })
}

pub(super) const NOTE_COLS: &str = "id, workspace_id, user_id, kind, message, created_ms, read_ms";

pub(super) fn note_row(r: &Row<'_>) -> rusqlite::Result<NotificationRow> {
    Ok(NotificationRow {
        id: NotificationId::from_uuid(r.get(0)?),
        workspace_id: WorkspaceId::from_uuid(r.get(1)?),
        user_id: UserId::from_uuid(r.get(2)?),
        kind: r.get(3)?,
        message: r.get(4)?,
        created_at: at(r.get(5)?)?,
        read_at: r.get::<_, Option<i64>>(6)?.map(at).transpose()?,
    })
}

pub(super) const INVITE_COLS: &str = "id, workspace_id, email, role, token_hash, created_ms, \
     expires_ms, accepted_ms, revoked_ms";

pub(super) fn invite_row(r: &Row<'_>) -> rusqlite::Result<InvitationRow> {
    let hash: Vec<u8> = r.get(4)?;
    let token_hash: [u8; 32] = hash.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            4,
            rusqlite::types::Type::Blob,
            "token_hash is not 32 bytes".into(),
        )
    })?;
    let role: String = r.get(3)?;
    Ok(InvitationRow {
        id: InvitationId::from_uuid(r.get(0)?),
        workspace_id: WorkspaceId::from_uuid(r.get(1)?),
        email: r.get(2)?,
        role: role.parse::<Role>().map_err(conv_err)?,
        token_hash,
        created_at: at(r.get(5)?)?,
        expires_at: at(r.get(6)?)?,
        accepted_at: r.get::<_, Option<i64>>(7)?.map(at).transpose()?,
        revoked_at: r.get::<_, Option<i64>>(8)?.map(at).transpose()?,
    })
}

/// Removed spans as stored.
pub(super) fn spans_json(spans: &SpanSet) -> Result<String, StoreError> {
    serde_json::to_string(spans).map_err(|e| StoreError::Corrupt(e.to_string()))
}
