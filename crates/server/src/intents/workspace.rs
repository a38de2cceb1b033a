//! Workspaces, settings, the trial and the plan (R4–R6), and notifications.

use chrono::{DateTime, Utc};
use shotclock_api::{ErrorCode, NotificationId, Plan, UserId, WorkspaceId};

use super::{Intents, SettingsChange, SettingsPatch};
use crate::store::{
    NewUser, NotificationRow, StoreError, StoreResult, TxRows, UserRow, WorkspaceRow,
};

/// The text every member gets when capture is turned on (R6).
fn capture_on_message(workspace: &str) -> String {
    format!(
        "Screenshot capturing was turned on in {workspace}. While your timer runs, one \
         screenshot is taken at a random moment in every capture window."
    )
}

/// Writes the workspace and, when its capture gate changed, records the new gate from `now` on
/// (the history uploads are judged by).
fn save(
    rows: &mut dyn TxRows,
    before: &WorkspaceRow,
    after: &WorkspaceRow,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    rows.update_workspace(after)?;
    if before.gate() != after.gate() {
        rows.record_gate(after.id, now, &after.gate())?;
    }
    Ok(())
}

impl Intents {
    /// Creates a workspace with its owner.
    pub async fn create_workspace(
        &self,
        id: WorkspaceId,
        name: String,
        owner: NewUser,
        now: DateTime<Utc>,
    ) -> StoreResult<(WorkspaceRow, UserRow)> {
        self.write(move |rows| {
            let ws = WorkspaceRow {
                id,
                name,
                plan: Plan::Free,
                screenshots_enabled: false,
                blur_enabled: true,
                lock_date: None,
                trial_started_at: None,
                created_at: now,
            };
            rows.insert_workspace(&ws)?;
            rows.record_gate(id, now, &ws.gate())?;
            let user = super::accounts::insert_user(rows, id, &owner, now)?;
            Ok((ws, user))
        })
        .await
    }

    /// A workspace by id.
    pub async fn workspace(&self, id: WorkspaceId) -> StoreResult<Option<WorkspaceRow>> {
        self.read(move |rows| rows.workspace(id)).await
    }

    /// Applies a settings change; enabling capture checks the R5 gate and notifies every active
    /// member (R6), all in one transaction.
    pub async fn update_settings(
        &self,
        id: WorkspaceId,
        patch: SettingsPatch,
        now: DateTime<Utc>,
    ) -> StoreResult<SettingsChange> {
        self.write(move |rows| {
            let before = rows.workspace(id)?.ok_or(StoreError::NotFound)?;
            let mut after = before.clone();
            if let Some(v) = patch.screenshots_enabled {
                after.screenshots_enabled = v;
            }
            if let Some(v) = patch.blur_enabled {
                after.blur_enabled = v;
            }
            if let Some(v) = patch.lock_date {
                after.lock_date = v;
            }
            let enabling = after.screenshots_enabled && !before.screenshots_enabled;
            if enabling {
                // R5: the switch may only be turned on when the plan or trial includes it.
                after.gate().feature_available(now).map_err(|reason| {
                    StoreError::refused(reason.error_code(), reason.to_string())
                })?;
            }
            save(rows, &before, &after, now)?;
            let mut notifications = Vec::new();
            if enabling {
                // R6: every member is told, persistently, in the same transaction.
                for member in rows.members(id, false)? {
                    let note = NotificationRow {
                        id: NotificationId::new(),
                        workspace_id: id,
                        user_id: member.id,
                        kind: "screenshots_enabled".into(),
                        message: capture_on_message(&after.name),
                        created_at: now,
                        read_at: None,
                    };
                    rows.insert_notification(&note)?;
                    notifications.push(note);
                }
            }
            Ok(SettingsChange {
                workspace: after,
                notifications,
            })
        })
        .await
    }

    /// Starts the one-time trial (R5).
    pub async fn start_trial(
        &self,
        id: WorkspaceId,
        now: DateTime<Utc>,
    ) -> StoreResult<WorkspaceRow> {
        self.write(move |rows| {
            let before = rows.workspace(id)?.ok_or(StoreError::NotFound)?;
            if !before.gate().can_start_trial() {
                let msg = if before.plan == Plan::Enterprise {
                    "the enterprise plan already includes screenshots"
                } else {
                    "the free trial has already been used"
                };
                return Err(StoreError::refused(ErrorCode::Conflict, msg));
            }
            let after = WorkspaceRow {
                trial_started_at: Some(now),
                ..before.clone()
            };
            save(rows, &before, &after, now)?;
            Ok(after)
        })
        .await
    }

    /// Sets the plan (operator CLI), effective from `now`.
    pub async fn set_plan(
        &self,
        id: WorkspaceId,
        plan: Plan,
        now: DateTime<Utc>,
    ) -> StoreResult<WorkspaceRow> {
        self.write(move |rows| {
            let before = rows.workspace(id)?.ok_or(StoreError::NotFound)?;
            let after = WorkspaceRow {
                plan,
                ..before.clone()
            };
            save(rows, &before, &after, now)?;
            Ok(after)
        })
        .await
    }

    /// A user's notifications, newest first.
    pub async fn notifications(&self, user: UserId) -> StoreResult<Vec<NotificationRow>> {
        self.read(move |rows| rows.notifications(user)).await
    }

    /// Marks one of the user's notifications read (the first time only).
    pub async fn mark_notification_read(
        &self,
        user: UserId,
        id: NotificationId,
        now: DateTime<Utc>,
    ) -> StoreResult<NotificationRow> {
        self.write(move |rows| {
            let mut note = rows.notification(user, id)?.ok_or(StoreError::NotFound)?;
            if note.read_at.is_none() {
                rows.set_notification_read(id, now)?;
                note.read_at = Some(now);
            }
            Ok(note)
        })
        .await
    }
}
