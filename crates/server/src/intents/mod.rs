//! The one backend-neutral layer that runs every intent of the service.
//!
//! An intent (start a timer, upload a screenshot, delete one, change the settings, purge …) is
//! one transaction over the narrow storage interface ([`crate::store::Backend`] with its
//! [`Rows`]/[`TxRows`]), and inside it the product rules of `shotclock_domain` are asked in
//! exactly one place: the gate (R4, R5), locking (R14), visibility (R16), retention (R18), the
//! delete decision (R19–R22), the one-running-entry rule (R13). Backends only read and write
//! rows, so a second backend cannot drift from the first: it inherits every rule from here.
//!
//! What the service decided stays decided:
//! * **Tombstones.** Every deleted screenshot and entry id is remembered for
//!   [`shotclock_domain::retention::TOMBSTONE_KEEP`]; any later create with that id (an upload,
//!   a timer start) is refused with `deleted`, whoever retries (R24–R26).
//! * **Expired is gone.** Screenshots past the retention cutoff take part in no read, count,
//!   decision or dry run, whether or not the purge has run yet (R18).
//! * **Capture allowed at the capture moment.** An upload is judged by the capture gate the
//!   workspace had at `captured_at` (its recorded history), not at its arrival (R4, R5).
//!
//! Dry runs execute exactly the same transaction and roll it back, so a preview can never
//! differ from the real thing. Methods that delete rows return the blob keys that became
//! unreferenced; the caller removes the files *after* the commit (a crash in between leaves an
//! orphan file, which the sweeper removes — never a row pointing at a missing file).

mod accounts;
mod entries;
mod members;
mod presence;
mod privacy;
mod screenshots;
mod sso;
mod workspace;

use std::sync::Arc;

use chrono::TimeDelta;
use shotclock_api::{EntryId, NotificationId, ScreenshotId, UserId};
use tokio::sync::oneshot;

use crate::store::{
    Backend, EntryRow, JobEnd, NotificationRow, Rows, ScreenshotRow, StoreError, StoreResult,
    TxRows, WorkspaceRow,
};

pub use self::entries::{EntryChange, EntryDeletion, EntryEdit, ManualEntry, MemberEntries};
pub use self::members::{Acceptance, ChangedMember, NewInvitation};
pub use self::presence::{HeldApp, Liveness, never_seen};
pub use self::screenshots::ShownScreenshot;
pub use self::screenshots::{Unsent, UploadOutcome};
pub use self::sso::{CodeRefusal, SsoAccount, SsoPerson, s256};

/// See [`Intents::event_rows`].
#[derive(Debug, Clone)]
pub struct EventRows {
    /// The user's workspace.
    pub workspace: WorkspaceRow,
    /// The named entry, if it exists and is the user's.
    pub entry: Option<EntryRow>,
    /// The named notification, if it exists and is the user's.
    pub notification: Option<NotificationRow>,
}

/// The service's intents over a storage backend. Cheap to clone.
#[derive(Clone)]
pub struct Intents {
    backend: Arc<dyn Backend>,
}

impl std::fmt::Debug for Intents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intents").finish_non_exhaustive()
    }
}

/// A settings change request (absent fields stay unchanged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsPatch {
    /// R4 switch.
    pub screenshots_enabled: Option<bool>,
    /// Blur switch.
    pub blur_enabled: Option<bool>,
    /// `Some(None)` clears the lock date.
    pub lock_date: Option<Option<chrono::DateTime<chrono::Utc>>>,
}

/// What a settings change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsChange {
    /// The workspace after the change.
    pub workspace: WorkspaceRow,
    /// Notifications created by it (R6: one per active member when capture got enabled).
    pub notifications: Vec<NotificationRow>,
}

/// What starting a timer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerStart {
    /// The (now) running entry.
    pub entry: EntryRow,
    /// The entry that was running before and got stopped at the new start (R13).
    pub stopped: Option<EntryRow>,
    /// False when this id had been started before (idempotent retry).
    pub created: bool,
}

/// What a screenshot deletion did (or would do, for a dry run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenshotDeletion {
    /// The screenshot.
    pub screenshot: ScreenshotRow,
    /// Its entry as it was before.
    pub entry: EntryRow,
    /// Time newly removed from the entry.
    pub removed: TimeDelta,
    /// Whether the whole entry was deleted (R21, last screenshot).
    pub entry_deleted: bool,
    /// Blob keys no longer referenced (to remove after commit).
    pub blob_keys: Vec<String>,
    /// Whether this was only a preview.
    pub dry_run: bool,
}

/// What an entry or account deletion removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    /// Entries deleted.
    pub entries: Vec<EntryRow>,
    /// Screenshots deleted.
    pub screenshots: Vec<ScreenshotId>,
    /// Blob keys no longer referenced.
    pub blob_keys: Vec<String>,
}

impl Intents {
    /// The intents over `backend`.
    #[must_use]
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self { backend }
    }

    /// Runs `f` on a consistent snapshot.
    async fn read<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Rows) -> StoreResult<R> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.backend
            .read(Box::new(move |rows| {
                let _ = tx.send(f(rows));
            }))
            .await?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` in a write transaction; its changes are kept when it succeeds and this is not
    /// a dry run. Answers after the commit.
    async fn write_with<R, F>(&self, dry_run: bool, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn TxRows) -> StoreResult<R> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<StoreResult<R>>();
        self.backend.write(Box::new(move |rows| {
            let result = rows.and_then(f);
            let keep = result.is_ok() && !dry_run;
            JobEnd {
                keep,
                done: Box::new(move |commit| {
                    let _ = tx.send(answer(result, commit, dry_run));
                }),
            }
        }))?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn write<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn TxRows) -> StoreResult<R> + Send + 'static,
    {
        self.write_with(false, f).await
    }

    /// The rows a live event relayed from another replica is rebuilt from: `user`'s
    /// workspace, and the named entry and notification when they are `user`'s (`None`: no such
    /// user any more).
    pub async fn event_rows(
        &self,
        user: UserId,
        entry: Option<EntryId>,
        notification: Option<NotificationId>,
    ) -> StoreResult<Option<EventRows>> {
        self.read(move |rows| {
            let Some(u) = rows.user(user)? else {
                return Ok(None);
            };
            let Some(workspace) = rows.workspace(u.workspace_id)? else {
                return Ok(None);
            };
            let entry = match entry {
                Some(id) => rows.entry(id)?.filter(|e| e.user_id == user),
                None => None,
            };
            let notification = match notification {
                Some(id) => rows.notification(user, id)?,
                None => None,
            };
            Ok(Some(EventRows {
                workspace,
                entry,
                notification,
            }))
        })
        .await
    }

    /// Makes deleted data unrecoverable from the database files (R24).
    pub async fn scrub(&self) -> StoreResult<()> {
        self.backend.scrub().await
    }

    /// How busy the backend's writer has been since the process started.
    #[must_use]
    pub fn writer_load(&self) -> crate::store::WriterReport {
        self.backend.writer_load()
    }
}

/// A write job's answer once its group ended: its own refusal, else its result if the group
/// committed. A dry run kept nothing, so the group's fate is not its answer; a kept change
/// whose commit failed did not happen and must not be answered as done.
fn answer<R>(result: StoreResult<R>, commit: StoreResult<()>, dry_run: bool) -> StoreResult<R> {
    match (result, commit) {
        (Err(e), _) => Err(e),
        (Ok(r), _) if dry_run => Ok(r),
        (Ok(r), Ok(())) => Ok(r),
        (Ok(_), Err(e)) => Err(e),
    }
}

/// Deletes an entry with all its screenshots (R15) and remembers every id (R24–R26).
fn delete_entry_rows(
    rows: &mut dyn TxRows,
    entry: &EntryRow,
    now: chrono::DateTime<chrono::Utc>,
    removed: &mut Removed,
) -> StoreResult<()> {
    use crate::store::Tombstone;
    for shot in rows.entry_screenshots(entry.id)? {
        rows.delete_screenshot(shot.id)?;
        rows.insert_tombstone(Tombstone::Screenshot(shot.id), shot.workspace_id, now)?;
        removed.screenshots.push(shot.id);
        removed.blob_keys.push(shot.blob_key);
    }
    rows.delete_entry(entry.id)?;
    rows.insert_tombstone(Tombstone::Entry(entry.id), entry.workspace_id, now)?;
    removed.entries.push(entry.clone());
    Ok(())
}

/// The refusal for creating an id that was deleted.
fn deleted(what: &str) -> StoreError {
    StoreError::refused(
        shotclock_api::ErrorCode::Deleted,
        format!("this {what} was deleted; it cannot be created again"),
    )
}

/// An entry by id, or the right refusal for a deleted one.
fn live_entry(rows: &mut dyn Rows, id: EntryId) -> StoreResult<Option<EntryRow>> {
    if rows.is_tombstoned(crate::store::Tombstone::Entry(id))? {
        return Err(deleted("entry"));
    }
    rows.entry(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_is_answered_as_done_only_when_it_was_kept_or_a_dry_run() {
        let failed = || Err(StoreError::Commit("disk full".into()));
        let refused = || Err::<u8, _>(StoreError::NotFound);
        for dry_run in [false, true] {
            assert_eq!(answer(Ok(1), Ok(()), dry_run).ok(), Some(1));
            assert!(matches!(
                answer(refused(), Ok(()), dry_run),
                Err(StoreError::NotFound)
            ));
            assert!(matches!(
                answer(refused(), failed(), dry_run),
                Err(StoreError::NotFound)
            ));
        }
        // The group failed: a kept change did not happen; a dry run's answer stands.
        assert!(matches!(
            answer(Ok(1), failed(), false),
            Err(StoreError::Commit(_))
        ));
        assert_eq!(answer(Ok(1), failed(), true).ok(), Some(1));
    }
}
