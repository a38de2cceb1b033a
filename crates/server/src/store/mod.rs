//! Row storage behind the [`Store`] trait.
//!
//! The trait speaks the service's *intents* (start a timer, insert a screenshot, delete one with
//! the R20–R22 policy) rather than SQL, so a PostgreSQL backend can follow and run the same
//! conformance tests. Each write method is one atomic transaction; the product rule it applies
//! comes from `shotclock_domain`, evaluated *inside* that transaction so the decision and its
//! effect can never disagree under concurrency. A method answers only after its transaction
//! committed (GUIDE habit 6).
//!
//! Dry runs (`dry_run = true`) execute exactly the same transaction and roll it back, so a
//! preview can never differ from the real thing.
//!
//! Image bytes are not stored here; rows carry a `blob_key` into [`crate::blobs::Blobs`]. Methods
//! that delete rows return the blob keys that became unreferenced; the caller removes the files
//! *after* the commit (a crash in between leaves an orphan file, which the sweeper removes — never
//! a row pointing at a missing file).

pub mod sqlite;

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use shotclock_api::{
    EntryId, ErrorCode, NotificationId, Plan, Role, ScreenshotId, UserId, WorkspaceId,
};
use shotclock_domain::entry::EntryTimes;
use shotclock_domain::gate::CaptureGate;
use shotclock_domain::visibility::{Actor, Owner};

/// A storage failure, or a refusal decided inside a transaction.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row (or not visible to the actor — callers answer both the same).
    #[error("not found")]
    NotFound,
    /// A product rule refused the change (e.g. `stop_timer_first`, `entry_locked`, `conflict`).
    #[error("{code}: {message}")]
    Refused {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human-readable reason.
        message: String,
    },
    /// The database failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value could not be decoded.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The commit of a group failed; the write did not happen.
    #[error("commit failed: {0}")]
    Commit(String),
    /// The writer thread has stopped.
    #[error("store closed")]
    Closed,
    /// Opening or migrating the database failed.
    #[error("open: {0}")]
    Open(String),
}

impl StoreError {
    /// A refusal with this code and message.
    pub fn refused(code: ErrorCode, message: impl Into<String>) -> Self {
        StoreError::Refused {
            code,
            message: message.into(),
        }
    }
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// A workspace and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceRow {
    /// Id.
    pub id: WorkspaceId,
    /// Display name.
    pub name: String,
    /// Plan (set by the operator's CLI).
    pub plan: Plan,
    /// R4 switch.
    pub screenshots_enabled: bool,
    /// R11 blur switch.
    pub blur_enabled: bool,
    /// R14 lock date: entries starting before it are locked.
    pub lock_date: Option<DateTime<Utc>>,
    /// R5 one-time trial start.
    pub trial_started_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl WorkspaceRow {
    /// The R4/R5 capture gate of this workspace.
    #[must_use]
    pub fn gate(&self) -> CaptureGate {
        CaptureGate {
            enabled: self.screenshots_enabled,
            plan: self.plan,
            trial_started_at: self.trial_started_at,
        }
    }
}

/// A user account (always inside exactly one workspace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// Id.
    pub id: UserId,
    /// Workspace.
    pub workspace_id: WorkspaceId,
    /// Sign-in email (lowercased).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// Deactivated users cannot sign in and are not listed.
    pub active: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl UserRow {
    /// The user as an acting party.
    #[must_use]
    pub fn actor(&self) -> Actor {
        Actor {
            user: self.id,
            workspace: self.workspace_id,
            role: self.role,
        }
    }
}

/// A time entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRow {
    /// Client-generated id.
    pub id: EntryId,
    /// Workspace.
    pub workspace_id: WorkspaceId,
    /// Owner.
    pub user_id: UserId,
    /// What the user worked on.
    pub description: String,
    /// Start, end and removed spans (R13, R21).
    pub times: EntryTimes,
    /// Approved by an admin (R14).
    pub approved: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl EntryRow {
    /// Whose entry this is.
    #[must_use]
    pub fn owner(&self) -> Owner {
        Owner {
            user: self.user_id,
            workspace: self.workspace_id,
        }
    }
}

/// A stored screenshot's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenshotRow {
    /// Client-generated id.
    pub id: ScreenshotId,
    /// Workspace.
    pub workspace_id: WorkspaceId,
    /// Owner.
    pub user_id: UserId,
    /// The entry running when it was taken (R15).
    pub entry_id: EntryId,
    /// Capture instant.
    pub captured_at: DateTime<Utc>,
    /// SHA-256 of the image bytes (idempotency check).
    pub sha256: [u8; 32],
    /// Bytes.
    pub size: u32,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// Where the bytes live in [`crate::blobs::Blobs`].
    pub blob_key: String,
    /// When the service accepted it.
    pub uploaded_at: DateTime<Utc>,
}

impl ScreenshotRow {
    /// Whose screenshot this is.
    #[must_use]
    pub fn owner(&self) -> Owner {
        Owner {
            user: self.user_id,
            workspace: self.workspace_id,
        }
    }
}

/// A screenshot with its entry's description (R17 list rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenshotView {
    /// The screenshot.
    pub row: ScreenshotRow,
    /// Its entry's description.
    pub entry_description: String,
}

/// A persisted notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRow {
    /// Id.
    pub id: NotificationId,
    /// Workspace.
    pub workspace_id: WorkspaceId,
    /// Recipient.
    pub user_id: UserId,
    /// Machine-readable kind (e.g. `screenshots_enabled`).
    pub kind: String,
    /// Text shown to the user.
    pub message: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When the recipient marked it read.
    pub read_at: Option<DateTime<Utc>>,
}

/// A settings change request (absent fields stay unchanged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsPatch {
    /// R4 switch.
    pub screenshots_enabled: Option<bool>,
    /// Blur switch.
    pub blur_enabled: Option<bool>,
    /// `Some(None)` clears the lock date.
    pub lock_date: Option<Option<DateTime<Utc>>>,
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

/// Result of inserting a screenshot row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// A new row.
    Inserted,
    /// Same id with the same hash already stored: an idempotent retry.
    AlreadyPresent,
    /// Same id with a different hash: refused.
    Conflict,
}

/// What a screenshot deletion did (or would do, for a dry run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenshotDeletion {
    /// The screenshot.
    pub screenshot: ScreenshotRow,
    /// Its entry as it was before.
    pub entry: EntryRow,
    /// The domain decision, as its wire name (`remove_time`, `delete_entry`, `keep_time`).
    pub decision: String,
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

/// New account data.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Id.
    pub id: UserId,
    /// Email (lowercased by the caller).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Role.
    pub role: Role,
}

/// The row store. Every method is atomic; writes answer after commit.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    // --- workspaces -----------------------------------------------------------------------
    /// Creates a workspace with its owner.
    async fn create_workspace(
        &self,
        id: WorkspaceId,
        name: String,
        owner: NewUser,
        now: DateTime<Utc>,
    ) -> StoreResult<(WorkspaceRow, UserRow)>;
    /// A workspace by id.
    async fn workspace(&self, id: WorkspaceId) -> StoreResult<Option<WorkspaceRow>>;
    /// Applies a settings change; enabling capture checks the R5 gate and notifies every active
    /// member (R6), all in one transaction.
    async fn update_settings(
        &self,
        id: WorkspaceId,
        patch: SettingsPatch,
        now: DateTime<Utc>,
    ) -> StoreResult<SettingsChange>;
    /// Starts the one-time trial (R5).
    async fn start_trial(&self, id: WorkspaceId, now: DateTime<Utc>) -> StoreResult<WorkspaceRow>;
    /// Sets the plan (operator CLI).
    async fn set_plan(&self, id: WorkspaceId, plan: Plan) -> StoreResult<WorkspaceRow>;

    // --- users and sessions ---------------------------------------------------------------
    /// Adds a user to a workspace; `Refused(conflict)` if the email is taken there.
    async fn add_user(
        &self,
        workspace: WorkspaceId,
        user: NewUser,
        now: DateTime<Utc>,
    ) -> StoreResult<UserRow>;
    /// A user by id.
    async fn user(&self, id: UserId) -> StoreResult<Option<UserRow>>;
    /// Users with this (lowercased) email, across workspaces.
    async fn users_by_email(&self, email: String) -> StoreResult<Vec<UserRow>>;
    /// A workspace's members (active only unless `include_inactive`), by email.
    async fn members(
        &self,
        workspace: WorkspaceId,
        include_inactive: bool,
    ) -> StoreResult<Vec<UserRow>>;
    /// Changes a member's role and/or active flag; revokes all their sessions when anything
    /// changed.
    async fn update_member(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        role: Option<Role>,
        active: Option<bool>,
    ) -> StoreResult<UserRow>;
    /// Deletes an account and everything of it (R23).
    async fn delete_user(&self, user: UserId) -> StoreResult<Removed>;
    /// Stores a session token hash.
    async fn create_session(
        &self,
        token_hash: [u8; 32],
        user: UserId,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The active user of an unexpired session.
    async fn session_user(
        &self,
        token_hash: [u8; 32],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRow>>;
    /// Revokes one session.
    async fn delete_session(&self, token_hash: [u8; 32]) -> StoreResult<()>;

    // --- notifications --------------------------------------------------------------------
    /// A user's notifications, newest first.
    async fn notifications(&self, user: UserId) -> StoreResult<Vec<NotificationRow>>;
    /// Marks one of the user's notifications read.
    async fn mark_notification_read(
        &self,
        user: UserId,
        id: NotificationId,
        now: DateTime<Utc>,
    ) -> StoreResult<NotificationRow>;

    // --- entries --------------------------------------------------------------------------
    /// Starts a timer (idempotent by entry id); stops the user's running entry at the new
    /// start (R13).
    async fn start_timer(
        &self,
        user: &UserRow,
        id: EntryId,
        description: String,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<TimerStart>;
    /// Stops the user's running entry (or, idempotently, answers the given stopped entry).
    async fn stop_timer(
        &self,
        user: UserId,
        entry: Option<EntryId>,
        end: DateTime<Utc>,
    ) -> StoreResult<Option<EntryRow>>;
    /// The user's running entry.
    async fn running_entry(&self, user: UserId) -> StoreResult<Option<EntryRow>>;
    /// An entry by id.
    async fn entry(&self, id: EntryId) -> StoreResult<Option<EntryRow>>;
    /// Entries starting in `[from, to)` of a workspace, optionally of one user.
    async fn entries(
        &self,
        workspace: WorkspaceId,
        user: Option<UserId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<EntryRow>>;
    /// Deletes an entry with its screenshots (R15), if the actor may (R14, R16).
    async fn delete_entry(
        &self,
        actor: Actor,
        id: EntryId,
        now: DateTime<Utc>,
    ) -> StoreResult<Removed>;
    /// Sets an entry's approved flag (admins; visibility checked).
    async fn set_approved(
        &self,
        actor: Actor,
        id: EntryId,
        approved: bool,
    ) -> StoreResult<EntryRow>;

    // --- screenshots ----------------------------------------------------------------------
    /// A screenshot row by id.
    async fn screenshot(&self, id: ScreenshotId) -> StoreResult<Option<ScreenshotRow>>;
    /// Inserts a screenshot row unless its id exists (idempotency by id + hash).
    async fn insert_screenshot(&self, row: ScreenshotRow) -> StoreResult<InsertOutcome>;
    /// A user's screenshots captured in `[from, to)`, oldest first.
    async fn screenshots_of_user(
        &self,
        user: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<ScreenshotView>>;
    /// Number of screenshots per user captured in `[from, to)`, for the given users (all of one
    /// workspace: the first user's).
    async fn screenshot_counts(
        &self,
        users: Vec<UserId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<(UserId, u64)>>;
    /// Deletes a screenshot with the R20–R22 policy (or previews it when `dry_run`).
    async fn delete_screenshot(
        &self,
        actor: Actor,
        id: ScreenshotId,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> StoreResult<ScreenshotDeletion>;
    /// Deletes up to `limit` screenshots captured at or before `cutoff` (R18); returns the
    /// blob keys to remove.
    async fn purge_expired(&self, cutoff: DateTime<Utc>, limit: u32) -> StoreResult<Vec<String>>;
    /// Which of these blob keys some row references.
    async fn referenced_blobs(&self, keys: Vec<String>) -> StoreResult<HashSet<String>>;
    /// Makes deleted data unrecoverable from the database files (R24: WAL checkpoint).
    async fn scrub(&self) -> StoreResult<()>;

    // --- bulk (benchmarks, imports) -------------------------------------------------------
    /// Inserts many screenshot rows in one transaction (no idempotency checks).
    async fn bulk_insert_screenshots(&self, rows: Vec<ScreenshotRow>) -> StoreResult<()>;
    /// Inserts many entries in one transaction.
    async fn bulk_insert_entries(&self, rows: Vec<EntryRow>) -> StoreResult<()>;
}
