//! Managing time entries from this device (R39): edit, add and delete, the week the Timer view
//! lists, and the admins' approvals.
//!
//! **Entries held here** (this device's own: its timers and the time added on it) change
//! through the outbox like timer changes, so they work offline: the local buffer takes the
//! change at once (the entry; screenshots a confirmed edit leaves outside it go too, R24), the
//! uploader sends it in order with everything else, and a change the service refuses for good
//! is set aside with its reason and undone here (`Store::reject`) — never dropped silently.
//!
//! Before a change is queued it is checked, and an edit's dry run is answered, by:
//! - **the service** when it answers and nothing of the entry still waits here: its own dry
//!   run (the same code path, rolled back) sees every screenshot of the entry, its removed
//!   spans and its approval, so what it would refuse is refused at once, with its reason;
//! - otherwise (offline, or an entry whose creation is still queued here) **the same
//!   `domain::manage` rules over what this device holds**: its entries, its screenshots of the
//!   entry, the lock date. Approval and removed spans are the service's to know: offline they
//!   count as not approved and none removed, and the service has the last word when the change
//!   reaches it.
//!
//! **Entries not held here** (older ones, another device's, or another member's for an admin)
//! are changed on the service directly: online only. Approvals are online only too; offline
//! they fail as unreachable (`AgentError::kind` = `offline`).

use crate::agent::AgentHandle;
use crate::error::AgentError;
use crate::state::{AgentEvent, Running};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use shotclock_api::dto::{
    ApprovalReport, ApprovePeriod, EditReport, Entry, EntryDeleteReport, EntryPatch, MemberWeek,
};
use shotclock_api::{ApiError, EntryId, ErrorCode, ScreenshotId};
use shotclock_domain::entry::{EntryTimes, counted};
use shotclock_domain::manage::{
    ApprovalPeriod, Bounds, EditRequest, ManualRequest, Refusal, decide_edit, decide_manual, holds,
    may_change, period_bounds,
};
use shotclock_domain::span::SpanSet;
use shotclock_domain::visibility::{Actor, Owner};
use shotclock_store::{
    EditEntry, EntryBefore, ManualEntry, NewOutboxItem, OutboxPayload, ScreenshotState, TimeEntry,
};

/// The removed time held here (a total, without its spans) that new times `[start, end)` can
/// still hold: at most their length.
fn deducted_within(
    held: TimeDelta,
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> TimeDelta {
    held.min(counted(start, end, TimeDelta::zero(), now))
}

/// A refusal of a `domain::manage` rule, as the service words it.
fn refusal(r: Refusal) -> AgentError {
    AgentError::Refused(ApiError::new(r.error_code(), r.to_string()))
}

/// Refuses a (trimmed) description the service would refuse for good, in its words: checked
/// before anything is held or queued, so such a change never goes out to be refused later.
pub(crate) fn check_description(description: Option<&str>) -> Result<(), AgentError> {
    let max = shotclock_api::limits::DESCRIPTION_CHARS;
    match description.and_then(|d| shotclock_api::limits::text_problem(d, "the description", max)) {
        Some(problem) => Err(AgentError::Invalid(problem)),
        None => Ok(()),
    }
}

/// `Some(answer)`, or `None` when the service could not be reached.
fn reachable<T>(result: Result<T, shotclock_sync::SyncError>) -> Result<Option<T>, AgentError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_retryable() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

impl AgentHandle {
    fn actor(&self) -> Actor {
        let account = &self.shared().account;
        Actor {
            user: account.user_id,
            workspace: account.workspace_id,
            role: account.role,
        }
    }

    fn own(&self) -> Owner {
        let account = &self.shared().account;
        Owner {
            user: account.user_id,
            workspace: account.workspace_id,
        }
    }

    /// Edits an entry's description, start or end (R39) — or, with `dry_run`, answers what the
    /// edit would do: the entry after it, the screenshots its new times leave outside (deleted
    /// with it, only with `patch.confirm`), and the removed time inside the new bounds. See the
    /// [module docs](self) for who decides.
    pub async fn edit_entry(
        &self,
        id: EntryId,
        patch: EntryPatch,
        dry_run: bool,
    ) -> Result<EditReport, AgentError> {
        let patch = EntryPatch {
            description: patch.description.map(|d| d.trim().to_owned()),
            ..patch
        };
        check_description(patch.description.as_deref())?;
        let shared = self.shared();
        let (held, queued) = shared
            .store
            .call(move |s| Ok((s.get_entry(id)?, s.pending_changes_of(id)?)))
            .await?;
        let client = &shared.service.client;
        let Some(held) = held else {
            // Not held here: the service's to change, online only.
            let report = client.edit_entry(id, &patch, dry_run).await?;
            if !dry_run {
                shared.emit(AgentEvent::Deleted);
            }
            return Ok(report);
        };
        let served = if queued == 0 {
            match client.edit_entry(id, &patch, true).await {
                Ok(report) => Some(report),
                Err(e) if e.is_retryable() => None,
                // Its creation may still be on its way; the rules here decide.
                Err(e) if e.code() == Some(ErrorCode::NotFound) => None,
                Err(e) => return Err(e.into()),
            }
        } else {
            None
        };
        let start = patch.start.unwrap_or(held.start);
        let end = patch.end.or(held.end);
        let description = patch
            .description
            .clone()
            .unwrap_or_else(|| held.description.clone());
        let now = shared.time.now();
        let shots: Vec<(ScreenshotId, DateTime<Utc>)> = shared
            .store
            .call(move |s| {
                Ok(s.screenshots_of_entry(id)?
                    .into_iter()
                    .filter(|i| !shotclock_domain::retention::is_expired(i.captured_at, now))
                    .map(|i| (i.id, i.captured_at))
                    .collect())
            })
            .await?;
        let served_removed = served
            .as_ref()
            .map(|report| crate::door::served_deducted(&report.entry));
        let report = match served {
            Some(report) => {
                if !patch.confirm && !dry_run && !report.excluded_screenshots.is_empty() {
                    return Err(refusal(Refusal::ConfirmFirst(
                        report.excluded_screenshots.len(),
                    )));
                }
                EditReport { dry_run, ..report }
            }
            None => {
                self.decide_here(&held, &patch, start, end, &shots, dry_run)
                    .await?
            }
        };
        if dry_run {
            return Ok(report);
        }
        // Every screenshot held here that the new times leave outside goes (the service's
        // report may name more: those of other devices).
        let excluded: Vec<ScreenshotId> = shots
            .iter()
            .filter(|(_, at)| !holds(start, end, *at))
            .map(|(id, _)| *id)
            .collect();
        // The removed time left inside the new times: the service's, to the millisecond, when
        // it answered; else what is held here, at most the new length.
        let deducted =
            served_removed.unwrap_or_else(|| deducted_within(held.deducted, start, end, now));
        let edited = TimeEntry {
            description,
            start,
            end,
            deducted,
            ..held.clone()
        };
        let item = NewOutboxItem {
            item_id: uuid::Uuid::now_v7(),
            entry_id: Some(id),
            payload: OutboxPayload::EditEntry(EditEntry {
                entry_id: id,
                description: patch.description.clone(),
                start: patch.start,
                end: patch.end,
                confirm: patch.confirm,
                before: EntryBefore {
                    description: held.description.clone(),
                    start: held.start,
                    end: held.end,
                },
            }),
        };
        {
            let _changing = shared.timer_lock.lock().await;
            let to_store = edited.clone();
            let local_now = shared.time.local_now();
            shared
                .store
                .call(move |s| s.record_entry_edit(&to_store, &excluded, &item, local_now))
                .await?;
            let running = shared.timer.borrow().clone();
            if let Some(running) = running
                && running.entry.id == id
            {
                shared.set_timer(Some(Running {
                    entry: edited,
                    ..running
                }));
            }
        }
        shared.kick.notify_one();
        if !report.excluded_screenshots.is_empty() {
            shared.emit(AgentEvent::Deleted);
        }
        Ok(report)
    }

    /// An edit decided by the rules here, over what this device holds.
    async fn decide_here(
        &self,
        held: &TimeEntry,
        patch: &EntryPatch,
        start: DateTime<Utc>,
        end: Option<DateTime<Utc>>,
        shots: &[(ScreenshotId, DateTime<Utc>)],
        dry_run: bool,
    ) -> Result<EditReport, AgentError> {
        let shared = self.shared();
        let now = shared.time.now();
        let others = self.others_held(held.id, start, end, now).await?;
        let times = EntryTimes {
            start: held.start,
            end: held.end,
            removed: SpanSet::new(),
        };
        let instants: Vec<DateTime<Utc>> = shots.iter().map(|(_, at)| *at).collect();
        let lock_date = shared.settings.borrow().lock_date;
        let plan = decide_edit(&EditRequest {
            actor: self.actor(),
            owner: self.own(),
            entry: &times,
            approved: false,
            lock_date,
            start,
            end,
            screenshots: &instants,
            others: &others,
            confirmed: patch.confirm || dry_run,
            now,
        })
        .map_err(refusal)?;
        let manual = self.queued_manual(held.id).await?;
        let description = patch
            .description
            .clone()
            .unwrap_or_else(|| held.description.clone());
        let deducted = deducted_within(held.deducted, start, end, now);
        Ok(EditReport {
            entry: Entry {
                id: held.id,
                user_id: shared.account.user_id,
                description,
                start,
                end,
                removed: Vec::new(),
                deducted_secs: deducted.num_seconds(),
                duration_secs: counted(start, end, deducted, now).num_seconds(),
                approved: false,
                locked: false,
                manual,
            },
            excluded_screenshots: plan.excluded.iter().map(|&i| shots[i].0).collect(),
            removed_secs: plan.removed.num_seconds(),
            dry_run,
        })
    }

    async fn queued_manual(&self, id: EntryId) -> Result<bool, AgentError> {
        Ok(self
            .shared()
            .store
            .call(move |s| s.is_queued_manual(id))
            .await?)
    }

    /// This device's other entries that may overlap `[start, end)`, as `(start, end)`.
    async fn others_held(
        &self,
        except: EntryId,
        start: DateTime<Utc>,
        end: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Bounds>, AgentError> {
        let to = end.unwrap_or(now).max(start) + TimeDelta::milliseconds(1);
        Ok(self
            .shared()
            .store
            .call(move |s| {
                Ok(s.entries_between(start, to)?
                    .into_iter()
                    .filter(|e| e.id != except)
                    .map(|e| (e.start, e.end))
                    .collect())
            })
            .await?)
    }

    /// Adds time by hand (R39): a stopped manual entry of the caller's, with no screenshots.
    /// Works offline: checked here by the same rules against this device's entries (and the
    /// service's of that time, when it answers), held here at once, and queued.
    pub async fn add_entry(
        &self,
        description: String,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Entry, AgentError> {
        let description = description.trim().to_owned();
        check_description(Some(&description))?;
        let shared = self.shared();
        let now = shared.time.now();
        let mut others = self
            .others_held(EntryId::new(), start, Some(end), now)
            .await?;
        let served = reachable(
            shared
                .service
                .client
                .entries(Some(start - TimeDelta::days(1)), Some(end), None)
                .await,
        )?;
        others.extend(
            served
                .into_iter()
                .flat_map(|l| l.entries)
                .map(|e| (e.start, e.end)),
        );
        let lock_date = shared.settings.borrow().lock_date;
        decide_manual(&ManualRequest {
            actor: self.actor(),
            owner: self.own(),
            lock_date,
            start,
            end,
            others: &others,
            now,
        })
        .map_err(refusal)?;
        let entry = TimeEntry {
            id: EntryId::new(),
            description: description.clone(),
            start,
            end: Some(end),
            deducted: TimeDelta::zero(),
            synced: false,
        };
        let item = NewOutboxItem {
            item_id: *entry.id.as_uuid(),
            entry_id: Some(entry.id),
            payload: OutboxPayload::ManualEntry(ManualEntry {
                entry_id: entry.id,
                description: description.clone(),
                start,
                end,
            }),
        };
        let to_store = entry.clone();
        let local_now = shared.time.local_now();
        shared
            .store
            .call(move |s| s.record_timer_change(&to_store, &item, local_now))
            .await?;
        shared.kick.notify_one();
        Ok(Entry {
            id: entry.id,
            user_id: shared.account.user_id,
            description,
            start,
            end: Some(end),
            removed: Vec::new(),
            deducted_secs: 0,
            duration_secs: counted(start, Some(end), TimeDelta::zero(), now).num_seconds(),
            approved: false,
            locked: false,
            manual: true,
        })
    }

    /// Deletes an entry with all its screenshots, for good (R15) — or, with `dry_run`, says
    /// how many screenshots would go with it. The service's own dry run answers (and refuses
    /// what the caller may not change: another's, locked, approved) unless something of the
    /// entry still waits here; screenshots still waiting here are added to its count. An entry
    /// held here is deleted here at once and its tombstone queued (offline works: then the
    /// rules here decide over what this device holds); a running one stops being the running
    /// timer. Entries not held here are deleted on the service (online only).
    pub async fn delete_entry(
        &self,
        id: EntryId,
        dry_run: bool,
    ) -> Result<EntryDeleteReport, AgentError> {
        let shared = self.shared();
        let now = shared.time.now();
        let (held, queued, local_shots) = shared
            .store
            .call(move |s| {
                let shots: Vec<ScreenshotState> = s
                    .screenshots_of_entry(id)?
                    .into_iter()
                    .filter(|i| !shotclock_domain::retention::is_expired(i.captured_at, now))
                    .map(|i| i.state)
                    .collect();
                Ok((s.get_entry(id)?, s.pending_changes_of(id)?, shots))
            })
            .await?;
        let client = &shared.service.client;
        let served = if queued == 0 || held.is_none() {
            match client.delete_entry_dry_run(id).await {
                Ok(report) => Some(report),
                Err(e) if e.is_retryable() && held.is_some() => None,
                // Its creation may still be on its way; the rules here decide.
                Err(e) if e.code() == Some(ErrorCode::NotFound) && held.is_some() => None,
                Err(e) => return Err(e.into()),
            }
        } else {
            None
        };
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let report = match (served, &held) {
            (Some(report), _) => {
                // What the service does not have yet goes too.
                let waiting = local_shots
                    .iter()
                    .filter(|s| **s != ScreenshotState::Uploaded)
                    .count();
                EntryDeleteReport {
                    screenshots: report.screenshots.saturating_add(count(waiting)),
                    dry_run,
                    ..report
                }
            }
            (None, Some(h)) => {
                let lock_date = shared.settings.borrow().lock_date;
                may_change(&self.actor(), &self.own(), h.start, false, lock_date)
                    .map_err(refusal)?;
                EntryDeleteReport {
                    entry_id: id,
                    description: h.description.clone(),
                    screenshots: count(local_shots.len()),
                    duration_secs: counted(h.start, h.end, h.deducted, now).num_seconds(),
                    dry_run,
                }
            }
            (None, None) => return Err(refusal(Refusal::NotVisible)),
        };
        if dry_run {
            return Ok(report);
        }
        if held.is_some() {
            let local_now = shared.time.local_now();
            {
                let _changing = shared.timer_lock.lock().await;
                shared
                    .store
                    .call(move |s| s.delete_entry_with_tombstone(id, local_now))
                    .await?;
                shared.forget_timer(id);
            }
            shared.kick.notify_one();
        } else {
            client.delete_entry(id).await?;
        }
        shared.emit(AgentEvent::Deleted);
        Ok(report)
    }

    /// The caller's entries starting in the ISO week (Monday to Sunday) that holds `day`, in
    /// IANA zone `tz`, with the changes still queued here applied (see [`AgentHandle::entries`]).
    pub async fn entries_for_week(
        &self,
        day: NaiveDate,
        tz: &str,
    ) -> Result<Vec<Entry>, AgentError> {
        let (from, to) = period_bounds(ApprovalPeriod::Week, day, tz)
            .map_err(|e| AgentError::Invalid(e.to_string()))?;
        self.entries(from, to).await
    }

    /// Admins: every active member's entries starting in the ISO week that holds `day` (zone
    /// `tz`), each with its screenshot count, as the service assembles them. Online only.
    pub async fn approvals(&self, day: NaiveDate, tz: &str) -> Result<Vec<MemberWeek>, AgentError> {
        let shared = self.shared();
        if !shared.account.role.is_admin() {
            return Err(refusal(Refusal::NotAdmin));
        }
        Ok(shared.service.client.approvals(day, tz).await?.members)
    }

    /// Admins: approves (or withdraws approval of) a member's day or week. Online only.
    pub async fn approve_period(
        &self,
        request: ApprovePeriod,
    ) -> Result<ApprovalReport, AgentError> {
        let report = self
            .shared()
            .service
            .client
            .approve_period(&request)
            .await?;
        Ok(report)
    }
}
