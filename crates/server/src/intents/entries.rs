//! The timer and time entries (R13–R15).

use chrono::{DateTime, Utc};
use shotclock_api::{EntryId, ErrorCode, UserId};
use shotclock_domain::entry::{EntryTimes, stop_previous_on_start};
use shotclock_domain::lock::{EntryStatus, is_locked, may_edit};
use shotclock_domain::visibility::{Actor, can_view};

use super::{Intents, Removed, TimerStart, delete_entry_rows, live_entry};
use crate::store::{EntryRow, Rows, StoreError, StoreResult, UserRow};

/// An entry the actor may see (R16), else [`StoreError::NotFound`].
fn visible_entry(rows: &mut dyn Rows, actor: &Actor, id: EntryId) -> StoreResult<EntryRow> {
    rows.entry(id)?
        .filter(|e| can_view(actor, &e.owner()))
        .ok_or(StoreError::NotFound)
}

impl Intents {
    /// Starts a timer (idempotent by entry id); stops the user's running entry at the new
    /// start (R13). A deleted id is refused with `deleted`; a start in a locked period is
    /// refused for members (R14).
    pub async fn start_timer(
        &self,
        user: &UserRow,
        id: EntryId,
        description: String,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<TimerStart> {
        let user = user.clone();
        self.write(move |rows| {
            if let Some(existing) = live_entry(rows, id)? {
                if existing.user_id != user.id {
                    return Err(StoreError::refused(
                        ErrorCode::Conflict,
                        "this entry id is already in use",
                    ));
                }
                // Idempotent retry of the same start.
                return Ok(TimerStart {
                    entry: existing,
                    stopped: None,
                    created: false,
                });
            }
            let ws = rows
                .workspace(user.workspace_id)?
                .ok_or(StoreError::NotFound)?;
            if !user.role.is_admin() && is_locked(start, ws.lock_date) {
                return Err(StoreError::refused(
                    ErrorCode::EntryLocked,
                    "the start lies in a locked period; ask an admin",
                ));
            }
            let mut stopped = None;
            if let Some(mut running) = rows.running_entry(user.id)? {
                // R13: the previous entry stops at the new start.
                running.times.end = Some(stop_previous_on_start(running.times.start, start));
                rows.update_entry(&running)?;
                stopped = Some(running);
            }
            let entry = EntryRow {
                id,
                workspace_id: user.workspace_id,
                user_id: user.id,
                description,
                times: EntryTimes::new(start, None),
                approved: false,
                created_at: now,
            };
            rows.insert_entry(&entry)?;
            Ok(TimerStart {
                entry,
                stopped,
                created: true,
            })
        })
        .await
    }

    /// Stops the user's running entry (or, idempotently, answers the given stopped entry).
    pub async fn stop_timer(
        &self,
        user: UserId,
        entry: Option<EntryId>,
        end: DateTime<Utc>,
    ) -> StoreResult<Option<EntryRow>> {
        self.write(move |rows| {
            let target = match entry {
                Some(id) => Some(
                    rows.entry(id)?
                        .filter(|e| e.user_id == user)
                        .ok_or(StoreError::NotFound)?,
                ),
                None => rows.running_entry(user)?,
            };
            let Some(mut target) = target else {
                return Ok(None);
            };
            if target.times.end.is_none() {
                target.times.end = Some(end.max(target.times.start));
                rows.update_entry(&target)?;
            }
            Ok(Some(target))
        })
        .await
    }

    /// The user's running entry.
    pub async fn running_entry(&self, user: UserId) -> StoreResult<Option<EntryRow>> {
        self.read(move |rows| rows.running_entry(user)).await
    }

    /// Entries starting in `[from, to)` of the member a request names (by default the actor),
    /// if the actor may see them (R16).
    pub async fn entries_of(
        &self,
        actor: Actor,
        requested: Option<UserId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<EntryRow>> {
        self.read(move |rows| {
            let user = super::accounts::visible_member(rows, &actor, requested)?;
            rows.entries(actor.workspace, Some(user), from, to)
        })
        .await
    }

    /// Deletes an entry with its screenshots (R15), if the actor may (R14, R16).
    pub async fn delete_entry(
        &self,
        actor: Actor,
        id: EntryId,
        now: DateTime<Utc>,
    ) -> StoreResult<Removed> {
        self.write(move |rows| {
            let entry = visible_entry(rows, &actor, id)?;
            let ws = rows
                .workspace(entry.workspace_id)?
                .ok_or(StoreError::NotFound)?;
            let status = EntryStatus {
                start: entry.times.start,
                approved: entry.approved,
            };
            may_edit(actor.role, &status, ws.lock_date)
                .map_err(|b| StoreError::refused(b.error_code(), b.to_string()))?;
            let mut removed = Removed::default();
            delete_entry_rows(rows, &entry, now, &mut removed)?;
            Ok(removed)
        })
        .await
    }

    /// Sets an entry's approved flag (the caller checked the actor is an admin; visibility is
    /// checked here).
    pub async fn set_approved(
        &self,
        actor: Actor,
        id: EntryId,
        approved: bool,
    ) -> StoreResult<EntryRow> {
        self.write(move |rows| {
            let mut entry = visible_entry(rows, &actor, id)?;
            if entry.approved != approved {
                entry.approved = approved;
                rows.update_entry(&entry)?;
            }
            Ok(entry)
        })
        .await
    }

    /// Inserts many entries in one transaction, without rules (imports, benchmarks).
    pub async fn bulk_insert_entries(&self, entries: Vec<EntryRow>) -> StoreResult<()> {
        self.write(move |rows| entries.iter().try_for_each(|e| rows.insert_entry(e)))
            .await
    }
}
