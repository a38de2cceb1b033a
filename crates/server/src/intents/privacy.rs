//! The workspace's blocked-window list (R34) and the access log of screenshots (R35).
//!
//! The rules (what a list may hold, which looks are logged, how far back a log reaches) are
//! `shotclock_domain::privacy`'s; this layer runs them inside one transaction each.

use chrono::{DateTime, Utc};
use shotclock_api::WorkspaceId;
use shotclock_api::privacy::{AccessKind, BlockRule};
use shotclock_domain::privacy::{log_from, logs_delete, logs_view, validate_blocklist};

use super::Intents;
use crate::store::{AccessRow, ScreenshotRow, StoreError, StoreResult, TxRows, UserRow};

impl Intents {
    /// A workspace's blocked-window rules, in order.
    pub async fn block_rules(&self, id: WorkspaceId) -> StoreResult<Vec<BlockRule>> {
        self.read(move |rows| rows.workspace_block_rules(id)).await
    }

    /// Replaces a workspace's blocked-window rules (admins; the caller checks the role).
    /// Patterns are trimmed; a list over the limits is refused whole (`validation`).
    pub async fn set_block_rules(
        &self,
        id: WorkspaceId,
        rules: Vec<BlockRule>,
    ) -> StoreResult<Vec<BlockRule>> {
        let rules = validate_blocklist(&rules)
            .map_err(|e| StoreError::refused(e.error_code(), e.to_string()))?;
        self.write(move |rows| {
            rows.set_workspace_block_rules(id, &rules)?;
            Ok(rules)
        })
        .await
    }

    /// Logs that `viewer` opened the image of `shot` at `now`, unless it is their own or they
    /// opened it less than a minute ago (R35). Returns whether a line was added.
    pub async fn record_view(
        &self,
        viewer: UserRow,
        shot: ScreenshotRow,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        if viewer.id == shot.user_id {
            return Ok(false);
        }
        self.write(move |rows| {
            let last = rows.last_access(shot.id, viewer.id, AccessKind::Viewed)?;
            if !logs_view(viewer.id, shot.user_id, last, now) {
                return Ok(false);
            }
            rows.insert_access(&access(&viewer, &shot, AccessKind::Viewed, now))?;
            Ok(true)
        })
        .await
    }

    /// The owner's access log of the last 7 days, newest first (R35).
    pub async fn access_log(
        &self,
        owner: shotclock_api::UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<AccessRow>> {
        self.read(move |rows| rows.access_log(owner, log_from(now)))
            .await
    }
}

fn access(
    viewer: &UserRow,
    shot: &ScreenshotRow,
    kind: AccessKind,
    at: DateTime<Utc>,
) -> AccessRow {
    AccessRow {
        workspace_id: shot.workspace_id,
        owner_id: shot.user_id,
        screenshot_id: shot.id,
        captured_at: shot.captured_at,
        viewer_id: viewer.id,
        viewer_name: viewer.name.clone(),
        kind,
        at,
    }
}

/// Inside a delete's transaction: logs the delete of `shot` when `actor` is someone else.
pub(super) fn log_delete(
    rows: &mut dyn TxRows,
    actor: shotclock_api::UserId,
    shot: &ScreenshotRow,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if !logs_delete(actor, shot.user_id) {
        return Ok(());
    }
    let viewer = rows.user(actor)?.ok_or(StoreError::NotFound)?;
    rows.insert_access(&access(&viewer, shot, AccessKind::Deleted, now))
}
