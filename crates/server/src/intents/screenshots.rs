//! Screenshots: idempotent upload (R25), who sees what (R16, R17), retention (R18) and the
//! delete policy (R19–R22).

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use shotclock_api::{EntryId, ErrorCode, ScreenshotId, UserId};
use shotclock_domain::delete::{DeleteDecision, DeleteRequest, decide};
use shotclock_domain::gate::GateReason;
use shotclock_domain::lock::is_locked;
use shotclock_domain::retention;
use shotclock_domain::visibility::{Actor, can_view};

use super::{Intents, Removed, ScreenshotDeletion, delete_entry_rows, deleted, live_entry};
use crate::store::{Rows, ScreenshotRow, ScreenshotView, StoreError, StoreResult, Tombstone};

/// What an upload did (or, checked before the bytes are stored, would do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadOutcome {
    /// A new screenshot.
    Created,
    /// The same id with the same bytes is already stored: an idempotent retry.
    AlreadyStored,
}

/// A screenshot as listed to someone who may see it: its row, its entry's description and
/// approval, and whether its entry is locked (R14), all from one read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownScreenshot {
    /// The screenshot with its entry's description and approval.
    pub view: ScreenshotView,
    /// Its entry starts before the workspace's lock date (R14).
    pub entry_locked: bool,
}

impl ShownScreenshot {
    fn of(view: ScreenshotView, lock_date: Option<DateTime<Utc>>) -> Self {
        let entry_locked = is_locked(view.entry_start, lock_date);
        Self { view, entry_locked }
    }
}

/// A screenshot the actor may see and that has not expired (R16, R18), with its entry's
/// description and approval.
fn visible_screenshot(
    rows: &mut dyn Rows,
    actor: &Actor,
    id: ScreenshotId,
    now: DateTime<Utc>,
) -> StoreResult<ScreenshotView> {
    let row = live_screenshot(rows, id, now)?
        .filter(|s| can_view(actor, &s.owner()))
        .ok_or(StoreError::NotFound)?;
    let entry = rows.entry(row.entry_id)?.ok_or(StoreError::NotFound)?;
    Ok(ScreenshotView {
        row,
        entry_description: entry.description,
        entry_approved: entry.approved,
        entry_start: entry.times.start,
    })
}

/// The actor's workspace's lock date (R14).
fn lock_date(rows: &mut dyn Rows, actor: &Actor) -> StoreResult<Option<DateTime<Utc>>> {
    Ok(rows
        .workspace(actor.workspace)?
        .ok_or(StoreError::NotFound)?
        .lock_date)
}

/// What a device tells of a screenshot it took but never sent, to delete it (R19–R22).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsent {
    /// The entry it was taken in.
    pub entry_id: EntryId,
    /// When it was taken.
    pub captured_at: DateTime<Utc>,
}

/// The screenshot a device never sent, as the delete policy sees it: owned by its entry's
/// owner, holding no bytes. Not found when nothing was told, when the id was already deleted
/// (a retry), when it has expired (R18) or when its entry is gone.
fn unsent_screenshot(
    rows: &mut dyn Rows,
    id: ScreenshotId,
    unsent: Option<Unsent>,
    now: DateTime<Utc>,
) -> StoreResult<ScreenshotRow> {
    let Some(unsent) = unsent else {
        return Err(StoreError::NotFound);
    };
    if rows.is_tombstoned(Tombstone::Screenshot(id))?
        || retention::is_expired(unsent.captured_at, now)
    {
        return Err(StoreError::NotFound);
    }
    let entry = live_entry(rows, unsent.entry_id)?.ok_or(StoreError::NotFound)?;
    Ok(ScreenshotRow {
        id,
        workspace_id: entry.workspace_id,
        user_id: entry.user_id,
        entry_id: entry.id,
        captured_at: unsent.captured_at,
        sha256: [0; 32],
        size: 0,
        width: 0,
        height: 0,
        blob_key: String::new(),
        uploaded_at: now,
    })
}

/// The first instant whose captures are still visible at `now` (R18).
pub(super) fn visible_from(now: DateTime<Utc>) -> DateTime<Utc> {
    retention::cutoff(now) + TimeDelta::milliseconds(1)
}

/// A screenshot that exists for every purpose at `now`: stored and not expired (R18).
fn live_screenshot(
    rows: &mut dyn Rows,
    id: ScreenshotId,
    now: DateTime<Utc>,
) -> StoreResult<Option<ScreenshotRow>> {
    Ok(rows
        .screenshot(id)?
        .filter(|s| !retention::is_expired(s.captured_at, now)))
}

/// Every rule an upload must pass, in the order a client can act on (R18, R24–R26, R15, R4–R5).
/// Run once before the bytes are stored (read-only) and again inside the insert's transaction.
/// What it reads it reads in one call ([`crate::store::Rows::upload_facts`]).
fn decide_upload(
    rows: &mut dyn Rows,
    row: &ScreenshotRow,
    now: DateTime<Utc>,
) -> StoreResult<UploadOutcome> {
    if retention::is_expired(row.captured_at, now) {
        return Err(StoreError::refused(
            ErrorCode::Gone,
            "captured_at is older than the 7-day retention; the screenshot is not kept",
        ));
    }
    let facts = rows.upload_facts(row)?;
    if facts.shot_tombstoned {
        return Err(deleted("screenshot"));
    }
    if let Some(existing) = facts.existing {
        return if existing.sha256 == row.sha256 && existing.user_id == row.user_id {
            Ok(UploadOutcome::AlreadyStored)
        } else {
            Err(StoreError::refused(
                ErrorCode::Conflict,
                "a different screenshot was already uploaded with this id",
            ))
        };
    }
    if facts.entry_tombstoned {
        return Err(deleted("entry"));
    }
    let entry = facts
        .entry
        .filter(|e| e.user_id == row.user_id)
        .ok_or(StoreError::NotFound)?;
    if entry.manual {
        return Err(StoreError::refused(
            ErrorCode::Validation,
            "a manual entry has no screenshots",
        ));
    }
    // A running entry reaches as far as a client's instant may (a capture stamped a little
    // ahead of this clock); a stop keeps it inside (`entry::stop_end`).
    let span_end = entry
        .times
        .end
        .unwrap_or(now + shotclock_domain::clock::MAX_FUTURE);
    if row.captured_at < entry.times.start || row.captured_at > span_end {
        return Err(StoreError::refused(
            ErrorCode::Validation,
            format!(
                "captured_at {} lies outside its entry [{}, {}]",
                row.captured_at, entry.times.start, span_end
            ),
        ));
    }
    // R4, R5: judged by the gate the workspace had when the screenshot was taken.
    facts
        .gate
        .ok_or(GateReason::Disabled)
        .and_then(|gate| gate.capture_allowed(row.captured_at))
        .map_err(|reason| StoreError::refused(reason.error_code(), reason.to_string()))?;
    Ok(UploadOutcome::Created)
}

impl Intents {
    /// What uploading `row` would do, without writing: lets the caller skip storing the bytes
    /// of a retry or of an upload that will be refused.
    pub async fn check_upload(
        &self,
        row: ScreenshotRow,
        now: DateTime<Utc>,
    ) -> StoreResult<UploadOutcome> {
        self.read(move |rows| decide_upload(rows, &row, now)).await
    }

    /// Inserts a screenshot row (its bytes already stored under `row.blob_key`) when every
    /// upload rule allows it; idempotent by id and content hash.
    pub async fn upload(
        &self,
        row: ScreenshotRow,
        now: DateTime<Utc>,
    ) -> StoreResult<UploadOutcome> {
        self.write(move |rows| {
            let outcome = decide_upload(rows, &row, now)?;
            if outcome == UploadOutcome::Created {
                rows.insert_screenshot(&row)?;
            }
            Ok(outcome)
        })
        .await
    }

    /// A screenshot with its entry's description, if the actor may see it and it has not
    /// expired (R16, R18).
    pub async fn screenshot_for(
        &self,
        actor: Actor,
        id: ScreenshotId,
        now: DateTime<Utc>,
    ) -> StoreResult<ScreenshotView> {
        self.read(move |rows| visible_screenshot(rows, &actor, id, now))
            .await
    }

    /// As [`Intents::screenshot_for`], with whether its entry is locked (R14), from the same
    /// read.
    pub async fn screenshot_shown(
        &self,
        actor: Actor,
        id: ScreenshotId,
        now: DateTime<Utc>,
    ) -> StoreResult<ShownScreenshot> {
        self.read(move |rows| {
            let view = visible_screenshot(rows, &actor, id, now)?;
            let lock_date = lock_date(rows, &actor)?;
            Ok(ShownScreenshot::of(view, lock_date))
        })
        .await
    }

    /// The screenshots of the member a request names (by default the actor) captured in
    /// `[from, to)` and not expired, oldest first (R16–R18), each with whether its entry is
    /// locked (R14): one read.
    pub async fn screenshots_of(
        &self,
        actor: Actor,
        requested: Option<UserId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<(UserId, Vec<ShownScreenshot>)> {
        self.read(move |rows| {
            let user = super::accounts::visible_member(rows, &actor, requested)?;
            let from = from.max(visible_from(now));
            if from >= to {
                return Ok((user, Vec::new()));
            }
            let list = rows.screenshots_of_user(user, from, to)?;
            let lock_date = lock_date(rows, &actor)?;
            let shown = list
                .into_iter()
                .map(|view| ShownScreenshot::of(view, lock_date))
                .collect();
            Ok((user, shown))
        })
        .await
    }

    /// Per-member counts of unexpired screenshots captured in `[from, to)`: every active
    /// member for admins, the actor alone otherwise (R16, R17).
    pub async fn day_counts(
        &self,
        actor: Actor,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<(crate::store::UserRow, u64)>> {
        self.read(move |rows| {
            let members = if actor.role.is_admin() {
                rows.members(actor.workspace, false)?
            } else {
                rows.user(actor.user)?.into_iter().collect()
            };
            let from = from.max(visible_from(now));
            let counts = rows.screenshot_counts(actor.workspace, from, to)?;
            Ok(members
                .into_iter()
                .map(|m| {
                    let n = counts.get(&m.id).copied().unwrap_or(0);
                    (m, n)
                })
                .collect())
        })
        .await
    }

    /// Deletes a screenshot with the R20–R22 policy (or previews it when `dry_run`). Expired
    /// screenshots neither can be deleted nor count as the entry's others (R18).
    pub async fn delete_screenshot(
        &self,
        actor: Actor,
        id: ScreenshotId,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> StoreResult<ScreenshotDeletion> {
        self.delete_screenshot_as(actor, id, None, now, dry_run)
            .await
    }

    /// Deletes a screenshot its device took but never sent (deleted there while it waited in
    /// the outbox): the same policy as [`Self::delete_screenshot`], with the facts the device
    /// sends (`unsent`: its entry and capture instant) in place of a stored screenshot. The id
    /// is remembered (R29), so a retry applies nothing twice and answers `not_found`. A
    /// screenshot that did arrive after all is deleted as a stored one.
    pub async fn delete_unsent_screenshot(
        &self,
        actor: Actor,
        id: ScreenshotId,
        unsent: Unsent,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> StoreResult<ScreenshotDeletion> {
        self.delete_screenshot_as(actor, id, Some(unsent), now, dry_run)
            .await
    }

    async fn delete_screenshot_as(
        &self,
        actor: Actor,
        id: ScreenshotId,
        unsent: Option<Unsent>,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> StoreResult<ScreenshotDeletion> {
        self.write_with(dry_run, move |rows| {
            let (shot, held) = match live_screenshot(rows, id, now)? {
                Some(shot) => (shot, true),
                None => (unsent_screenshot(rows, id, unsent, now)?, false),
            };
            let entry = rows.entry(shot.entry_id)?.ok_or(StoreError::NotFound)?;
            let ws = rows
                .workspace(shot.workspace_id)?
                .ok_or(StoreError::NotFound)?;
            let others: Vec<DateTime<Utc>> = rows
                .entry_screenshots(entry.id)?
                .into_iter()
                .filter(|s| s.id != shot.id && !retention::is_expired(s.captured_at, now))
                .map(|s| s.captured_at)
                .collect();
            let decision = decide(&DeleteRequest {
                actor,
                owner: shot.owner(),
                entry: &entry.times,
                locked: is_locked(entry.times.start, ws.lock_date),
                approved: entry.approved,
                captured_at: shot.captured_at,
                others: &others,
            });
            if let Some(code) = decision.error_code() {
                return Err(match &decision {
                    _ if code == ErrorCode::NotFound => StoreError::NotFound,
                    DeleteDecision::Forbidden(reason) => {
                        StoreError::refused(code, reason.to_string())
                    }
                    _ => StoreError::refused(
                        code,
                        "the entry is still running; stop the timer first",
                    ),
                });
            }
            if held {
                super::privacy::log_delete(rows, actor.user, &shot, now)?;
            }
            let mut deletion = ScreenshotDeletion {
                screenshot: shot.clone(),
                entry: entry.clone(),
                removed: TimeDelta::zero(),
                entry_deleted: false,
                blob_keys: Vec::new(),
                dry_run,
            };
            match decision.apply(&entry.times.removed) {
                None => {
                    // R21: the member's last screenshot of the entry takes the entry with it.
                    deletion.removed = entry.times.duration(now);
                    deletion.entry_deleted = true;
                    let mut removed = Removed::default();
                    delete_entry_rows(rows, &entry, now, &mut removed)?;
                    deletion.blob_keys = removed.blob_keys;
                    if !held {
                        rows.insert_tombstone(
                            Tombstone::Screenshot(shot.id),
                            shot.workspace_id,
                            now,
                        )?;
                    }
                }
                Some(after) => {
                    if let DeleteDecision::DeleteScreenshot { removes } = &decision {
                        deletion.removed = removes.total();
                    }
                    if held {
                        rows.delete_screenshot(shot.id)?;
                        deletion.blob_keys.push(shot.blob_key.clone());
                    }
                    rows.insert_tombstone(Tombstone::Screenshot(shot.id), shot.workspace_id, now)?;
                    if after != entry.times.removed {
                        let mut changed = entry.clone();
                        changed.times.removed = after;
                        rows.update_entry(&changed)?;
                    }
                }
            }
            Ok(deletion)
        })
        .await
    }

    /// Deletes up to `limit` screenshots expired at `now` (R18); returns the blob keys to
    /// remove.
    pub async fn purge_expired(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<String>> {
        self.write(move |rows| {
            let mut keys = Vec::new();
            for shot in rows.screenshots_until(retention::cutoff(now), limit)? {
                rows.delete_screenshot(shot.id)?;
                keys.push(shot.blob_key);
            }
            Ok(keys)
        })
        .await
    }

    /// Forgets what no decision can need any more at `now`: tombstones older than
    /// [`retention::TOMBSTONE_KEEP`], and capture-gate states superseded before the retention
    /// cutoff (no acceptable upload can be captured that early).
    pub async fn purge_history(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        self.write(move |rows| {
            let tombs = rows.purge_tombstones(retention::tombstone_cutoff(now))?;
            let gates = rows.purge_gates(retention::cutoff(now))?;
            // R35: a log line goes when its screenshot's retention ends.
            let access = rows.purge_access(retention::cutoff(now))?;
            Ok(tombs + gates + access)
        })
        .await
    }

    /// A screenshot row as stored, expired or not, with no actor: for operators and tests
    /// (never behind an endpoint).
    pub async fn stored_screenshot(&self, id: ScreenshotId) -> StoreResult<Option<ScreenshotRow>> {
        self.read(move |rows| rows.screenshot(id)).await
    }

    /// Which of these blob keys some row references.
    pub async fn referenced_blobs(&self, keys: Vec<String>) -> StoreResult<HashSet<String>> {
        self.read(move |rows| rows.referenced_blobs(&keys)).await
    }

    /// Inserts many screenshot rows in one transaction, without rules (imports, benchmarks).
    pub async fn bulk_insert_screenshots(&self, shots: Vec<ScreenshotRow>) -> StoreResult<()> {
        self.write(move |rows| shots.iter().try_for_each(|s| rows.insert_screenshot(s)))
            .await
    }
}
