//! The timer and time entries (R13–R15), managed by hand (R39): every decision is asked of
//! `shotclock_domain::manage` inside the intent's transaction.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use shotclock_api::{EntryId, ErrorCode, ScreenshotId, UserId};
use shotclock_domain::entry::{EntryTimes, RunningEntry, place_timer_start, stop_end};
use shotclock_domain::lock::is_locked;
use shotclock_domain::manage::{
    Bounds, EditRequest, ManualRequest, Refusal, decide_edit, decide_manual, may_approve,
    may_change,
};
use shotclock_domain::retention;
use shotclock_domain::visibility::{Actor, Owner, can_view};

use super::{Intents, Removed, TimerStart, delete_entry_rows, live_entry};
use crate::store::{EntryRow, Rows, StoreError, StoreResult, Tombstone, UserRow};

/// A refusal of `shotclock_domain::manage` as the store answers it (R16: invisible is missing).
fn refused(r: Refusal) -> StoreError {
    match r {
        Refusal::NotVisible => StoreError::NotFound,
        other => StoreError::refused(other.error_code(), other.to_string()),
    }
}

/// The person's other entries around `[from, to)`, as `(start, end)`, for the overlap rule.
fn neighbours(
    rows: &mut dyn Rows,
    user: UserId,
    except: EntryId,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
) -> StoreResult<Vec<Bounds>> {
    Ok(rows
        .entries_around(user, from, to)?
        .into_iter()
        .filter(|e| e.id != except)
        .map(|e| (e.times.start, e.times.end))
        .collect())
}

/// The capture instant of an entry's latest screenshot, if it has any.
fn last_screenshot(rows: &mut dyn Rows, entry: EntryId) -> StoreResult<Option<DateTime<Utc>>> {
    Ok(rows
        .entry_screenshots(entry)?
        .iter()
        .map(|s| s.captured_at)
        .max())
}

/// What an entry edit asks to change (absent fields stay).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryChange {
    /// New description (already validated).
    pub description: Option<String>,
    /// New start.
    pub start: Option<DateTime<Utc>>,
    /// New end.
    pub end: Option<DateTime<Utc>>,
    /// The user confirmed that excluded screenshots go with the edit.
    pub confirm: bool,
}

/// What an entry edit did (or, for a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryEdit {
    /// The entry after the edit.
    pub entry: EntryRow,
    /// Screenshots deleted with it (outside the new bounds).
    pub excluded: Vec<ScreenshotId>,
    /// Removed time inside the new bounds.
    pub removed: TimeDelta,
    /// Blob keys no longer referenced (to remove after commit).
    pub blob_keys: Vec<String>,
    /// Whether this was only a preview.
    pub dry_run: bool,
}

/// A manual entry to add (R39).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualEntry {
    /// Client-generated id.
    pub id: EntryId,
    /// For whom (default: the actor).
    pub user: Option<UserId>,
    /// Description (already validated).
    pub description: String,
    /// Start.
    pub start: DateTime<Utc>,
    /// End.
    pub end: DateTime<Utc>,
}

/// What deleting an entry did (or, for a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryDeletion {
    /// The entry as it was.
    pub entry: EntryRow,
    /// Its screenshots that went with it and had not expired (R18).
    pub screenshots: u32,
    /// The rows deleted and the blob keys to remove after the commit.
    pub removed: Removed,
    /// Whether this was only a preview.
    pub dry_run: bool,
}

/// A member with their entries of a period, each with its screenshot count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberEntries {
    /// The member.
    pub member: UserRow,
    /// Their entries by start, with how many unexpired screenshots each has.
    pub entries: Vec<(EntryRow, u64)>,
}

/// An entry the actor may see (R16), else [`StoreError::NotFound`].
fn visible_entry(rows: &mut dyn Rows, actor: &Actor, id: EntryId) -> StoreResult<EntryRow> {
    rows.entry(id)?
        .filter(|e| can_view(actor, &e.owner()))
        .ok_or(StoreError::NotFound)
}

impl Intents {
    /// Starts a timer (idempotent by entry id); stops the user's running entry at the new
    /// start (R13). The user's other entries keep their time ([`place_timer_start`]): a
    /// stopped one holding the start moves it to its end, and one starting later (the running
    /// one included) ends the new entry where it begins. A deleted id is refused with
    /// `deleted`; a start in a locked period is refused for members (R14).
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
            // R13, R39: one running entry, no overlap; the later start runs.
            let running = rows.running_entry(user.id)?;
            let held = match &running {
                Some(r) => Some(RunningEntry {
                    start: r.times.start,
                    last_screenshot: last_screenshot(rows, r.id)?,
                }),
                None => None,
            };
            let others: Vec<_> = rows
                .entries_around(user.id, start, None)?
                .into_iter()
                .filter_map(|e| Some((e.times.start, e.times.end?)))
                .collect();
            let placed = place_timer_start(start, held, &others);
            let mut stopped = None;
            if let (Some(mut running), Some(at)) = (running, placed.stops_running) {
                running.times.end = Some(at);
                rows.update_entry(&running)?;
                stopped = Some(running);
            }
            let entry = EntryRow {
                id,
                workspace_id: user.workspace_id,
                user_id: user.id,
                description,
                times: EntryTimes::new(placed.start, placed.end),
                approved: false,
                manual: false,
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

    /// Stops the user's running entry (or, idempotently, answers the given stopped entry), not
    /// before its latest screenshot ([`stop_end`]).
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
                let last = last_screenshot(rows, target.id)?;
                target.times.end = Some(stop_end(target.times.start, last, end));
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

    /// One entry, if the actor may see it (own, or any of the workspace's for admins; R16).
    pub async fn entry_for(&self, actor: Actor, id: EntryId) -> StoreResult<EntryRow> {
        self.read(move |rows| visible_entry(rows, &actor, id)).await
    }

    /// Deletes an entry with its screenshots (R15), if the actor may (R14, R16).
    pub async fn delete_entry(
        &self,
        actor: Actor,
        id: EntryId,
        now: DateTime<Utc>,
    ) -> StoreResult<Removed> {
        Ok(self.delete_entry_with(actor, id, now, false).await?.removed)
    }

    /// Deletes an entry with its screenshots (R15), if the actor may (R14, R16), or previews
    /// it when `dry_run` (the same transaction, rolled back).
    pub async fn delete_entry_with(
        &self,
        actor: Actor,
        id: EntryId,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> StoreResult<EntryDeletion> {
        self.write_with(dry_run, move |rows| {
            let entry = visible_entry(rows, &actor, id)?;
            let ws = rows
                .workspace(entry.workspace_id)?
                .ok_or(StoreError::NotFound)?;
            may_change(
                &actor,
                &entry.owner(),
                entry.times.start,
                entry.approved,
                ws.lock_date,
            )
            .map_err(refused)?;
            let shots = rows.entry_screenshots(entry.id)?;
            // R35: an entry deleted by someone else takes its screenshots on the owner's log.
            if !dry_run {
                for shot in &shots {
                    super::privacy::log_delete(rows, actor.user, shot, now)?;
                }
            }
            // R18: expired screenshots count for nothing, though they go with the entry.
            let live = shots
                .iter()
                .filter(|s| !retention::is_expired(s.captured_at, now))
                .count();
            let mut removed = Removed::default();
            delete_entry_rows(rows, &entry, now, &mut removed)?;
            Ok(EntryDeletion {
                entry,
                screenshots: u32::try_from(live).unwrap_or(u32::MAX),
                removed,
                dry_run,
            })
        })
        .await
    }

    /// Every active member of the actor's workspace with their entries starting in
    /// `[from, to)` and each entry's unexpired screenshot count (admins, R39; R18).
    pub async fn approval_week(
        &self,
        actor: Actor,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<MemberEntries>> {
        self.read(move |rows| {
            if !actor.role.is_admin() {
                return Err(refused(Refusal::NotAdmin));
            }
            let members = rows.members(actor.workspace, false)?;
            let entries = rows.entries(actor.workspace, None, from, to)?;
            let counts = rows.entry_screenshot_counts(
                actor.workspace,
                None,
                from,
                to,
                super::screenshots::visible_from(now),
            )?;
            let mut by_user: HashMap<UserId, Vec<(EntryRow, u64)>> = HashMap::new();
            for entry in entries {
                let n = counts.get(&entry.id).copied().unwrap_or(0);
                by_user.entry(entry.user_id).or_default().push((entry, n));
            }
            Ok(members
                .into_iter()
                .map(|member| MemberEntries {
                    entries: by_user.remove(&member.id).unwrap_or_default(),
                    member,
                })
                .collect())
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

    /// Edits an entry's description, start or end (R39), or previews it when `dry_run`: the
    /// screenshots the new bounds exclude are deleted with it once confirmed, removed time is
    /// clipped to the new bounds, and the ids of deleted screenshots are remembered (R29).
    pub async fn edit_entry(
        &self,
        actor: Actor,
        id: EntryId,
        change: EntryChange,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> StoreResult<EntryEdit> {
        self.write_with(dry_run, move |rows| {
            let entry = live_entry(rows, id)?.ok_or(StoreError::NotFound)?;
            let ws = rows
                .workspace(entry.workspace_id)?
                .ok_or(StoreError::NotFound)?;
            let shots: Vec<_> = rows
                .entry_screenshots(id)?
                .into_iter()
                .filter(|s| !retention::is_expired(s.captured_at, now))
                .collect();
            let captured: Vec<DateTime<Utc>> = shots.iter().map(|s| s.captured_at).collect();
            let start = change.start.unwrap_or(entry.times.start);
            let end = change.end.or(entry.times.end);
            let others = neighbours(rows, entry.user_id, id, start, end)?;
            let plan = decide_edit(&EditRequest {
                actor,
                owner: entry.owner(),
                entry: &entry.times,
                approved: entry.approved,
                lock_date: ws.lock_date,
                start,
                end,
                screenshots: &captured,
                others: &others,
                confirmed: change.confirm || dry_run,
                now,
            })
            .map_err(refused)?;
            let mut edit = EntryEdit {
                entry: entry.clone(),
                excluded: Vec::new(),
                removed: plan.removed,
                blob_keys: Vec::new(),
                dry_run,
            };
            for shot in plan.excluded.iter().filter_map(|&i| shots.get(i)) {
                if !dry_run {
                    super::privacy::log_delete(rows, actor.user, shot, now)?;
                }
                rows.delete_screenshot(shot.id)?;
                rows.insert_tombstone(Tombstone::Screenshot(shot.id), shot.workspace_id, now)?;
                edit.excluded.push(shot.id);
                edit.blob_keys.push(shot.blob_key.clone());
            }
            edit.entry.times = plan.times;
            if let Some(description) = change.description {
                edit.entry.description = description;
            }
            if edit.entry != entry {
                rows.update_entry(&edit.entry)?;
            }
            Ok(edit)
        })
        .await
    }

    /// Adds a manual entry (R39), idempotent by id: a retry of the same entry answers it with
    /// `false`; a deleted id is refused with `deleted` (R29).
    pub async fn add_manual_entry(
        &self,
        actor: Actor,
        new: ManualEntry,
        now: DateTime<Utc>,
    ) -> StoreResult<(EntryRow, bool)> {
        self.write(move |rows| {
            let user = super::accounts::visible_member(rows, &actor, new.user)?;
            if let Some(existing) = live_entry(rows, new.id)? {
                let same = existing.user_id == user
                    && existing.manual
                    && existing.times.start == new.start
                    && existing.times.end == Some(new.end);
                return if same {
                    Ok((existing, false))
                } else {
                    Err(StoreError::refused(
                        ErrorCode::Conflict,
                        "this entry id is already in use",
                    ))
                };
            }
            let ws = rows
                .workspace(actor.workspace)?
                .ok_or(StoreError::NotFound)?;
            let others = neighbours(rows, user, new.id, new.start, Some(new.end))?;
            let times = decide_manual(&ManualRequest {
                actor,
                owner: Owner {
                    user,
                    workspace: actor.workspace,
                },
                lock_date: ws.lock_date,
                start: new.start,
                end: new.end,
                others: &others,
                now,
            })
            .map_err(refused)?;
            let entry = EntryRow {
                id: new.id,
                workspace_id: actor.workspace,
                user_id: user,
                description: new.description,
                times,
                approved: false,
                manual: true,
                created_at: now,
            };
            rows.insert_entry(&entry)?;
            Ok((entry, true))
        })
        .await
    }

    /// Approves (or withdraws approval of) every stopped entry of `user` starting in
    /// `[from, to)` (admins, R39); answers the member's entries of the period after the change.
    /// A running entry is left as it is: it is approved once stopped.
    pub async fn set_period_approved(
        &self,
        actor: Actor,
        user: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        approved: bool,
    ) -> StoreResult<Vec<EntryRow>> {
        self.write(move |rows| {
            let owner = Owner {
                user,
                workspace: actor.workspace,
            };
            may_approve(&actor, &owner).map_err(refused)?;
            let user = super::accounts::visible_member(rows, &actor, Some(user))?;
            let mut entries = rows.entries(actor.workspace, Some(user), from, to)?;
            for entry in &mut entries {
                if entry.approved != approved && !entry.times.is_running() {
                    entry.approved = approved;
                    rows.update_entry(entry)?;
                }
            }
            Ok(entries)
        })
        .await
    }

    /// Inserts many entries in one transaction, without rules (imports, benchmarks).
    pub async fn bulk_insert_entries(&self, entries: Vec<EntryRow>) -> StoreResult<()> {
        self.write(move |rows| entries.iter().try_for_each(|e| rows.insert_entry(e)))
            .await
    }
}
