//! The narrow storage interface of the service: rows in, rows out, no product rules.
//!
//! Every product rule runs in [`crate::intents`], the one backend-neutral layer: it opens one
//! transaction per intent through [`Backend`], reads and writes plain rows through [`Rows`] and
//! [`TxRows`], and asks `shotclock_domain` for every decision *inside* that transaction. A
//! backend (the embedded [`sqlite`] one, the scaled-out [`postgres`] one) only has to:
//!
//! * run a read job on a consistent snapshot ([`Backend::read`]);
//! * run a write job inside a transaction, keep or roll back its changes as the job says, and
//!   release the job's answer only after the commit ([`Backend::write`]). A job that cannot get
//!   a transaction (the `BEGIN` failed) is *not* run: it is handed the error instead, so nothing
//!   is ever written outside a transaction;
//! * make deleted bytes unrecoverable from its files ([`Backend::scrub`], R24);
//! * implement [`Rows`] and [`TxRows`] as plain reads and writes, and pass
//!   `tests/store_conformance.rs`.
//!
//! The row interfaces are synchronous: the job runs on the backend's own thread (SQLite's writer
//! thread, a blocking-pool thread for readers; a blocking thread of PostgreSQL's own runtime),
//! so a decision and the writes it leads to happen in one place without an `await` in between.
//!
//! Image bytes are not stored here; rows carry a `blob_key` into [`crate::blobs::Blobs`].

mod load;
pub mod postgres;
pub mod sqlite;

pub use load::{WriterLoad, WriterReport};

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use shotclock_api::privacy::{AccessKind, BlockField, BlockRule};
use shotclock_api::{
    EntryId, ErrorCode, InvitationId, NotificationId, Plan, Role, ScreenshotId, UserId, WorkspaceId,
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
    /// A product rule refused the change (e.g. `stop_timer_first`, `entry_locked`, `deleted`).
    #[error("{code}: {message}")]
    Refused {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human-readable reason.
        message: String,
    },
    /// The database failed.
    #[error("database: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored value could not be decoded.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The transaction of a group could not begin or commit; the write did not happen.
    #[error("transaction failed: {0}")]
    Commit(String),
    /// The backend has stopped.
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

/// Where the service keeps its rows: `sqlite://PATH` (the embedded default) or
/// `postgres://…` / `postgresql://…`.
#[derive(Debug, Clone)]
pub enum Database {
    /// A SQLite file.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database.
    Postgres(Box<postgres::PgOptions>),
}

impl Database {
    /// Parses a database URL; settings a PostgreSQL URL leaves out come from the libpq
    /// variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`) through `env`.
    pub fn parse(url: &str, env: impl Fn(&str) -> Option<String>) -> StoreResult<Self> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::Open("sqlite:// needs a file path".into()));
            }
            return Ok(Self::Sqlite(path.into()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(Box::new(
                postgres::PgOptions::from_url_and_env(url, env)?,
            )));
        }
        let scheme = url.split_once("://").map_or("", |(s, _)| s);
        Err(StoreError::Open(format!(
            "unknown database URL scheme {scheme:?}: use sqlite://PATH or postgres://…"
        )))
    }

    /// Opens (creating and migrating if needed) the database.
    pub fn open(&self) -> StoreResult<std::sync::Arc<dyn Backend>> {
        Ok(match self {
            Self::Sqlite(path) => std::sync::Arc::new(sqlite::SqliteStore::open(
                &sqlite::SqliteOptions::new(path),
            )?),
            Self::Postgres(options) => std::sync::Arc::new(postgres::PgStore::open(options)?),
        })
    }
}

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
    /// Added by hand rather than tracked by a timer (R39): it has no screenshots.
    pub manual: bool,
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
    /// Its entry's approval (R14).
    pub entry_approved: bool,
    /// Its entry's start (whether it is locked is the caller's to decide, R14).
    pub entry_start: DateTime<Utc>,
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

/// An invitation to join a workspace (R38); the link's secret is kept only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRow {
    /// Id.
    pub id: InvitationId,
    /// Workspace.
    pub workspace_id: WorkspaceId,
    /// The invitee's email (lowercased).
    pub email: String,
    /// The role the invitee gets (`admin` or `member`).
    pub role: Role,
    /// SHA-256 of the link's secret.
    pub token_hash: [u8; 32],
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was used.
    pub accepted_at: Option<DateTime<Utc>>,
    /// When an admin revoked it.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The rows an upload's rules read ([`Rows::upload_facts`]): plain reads, no decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadFacts {
    /// Whether the screenshot's id was deleted.
    pub shot_tombstoned: bool,
    /// A screenshot already stored with the id.
    pub existing: Option<ScreenshotRow>,
    /// Whether the entry's id was deleted.
    pub entry_tombstoned: bool,
    /// The entry, if stored.
    pub entry: Option<EntryRow>,
    /// The workspace's capture gate at the capture moment.
    pub gate: Option<CaptureGate>,
}

/// What kind of object a tombstone remembers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tombstone {
    /// A deleted screenshot's id.
    Screenshot(ScreenshotId),
    /// A deleted time entry's id.
    Entry(EntryId),
}

/// One line of a screenshot owner's access log (R35): someone else viewed or deleted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRow {
    /// Workspace.
    pub workspace_id: WorkspaceId,
    /// The screenshot's owner (whose log this is).
    pub owner_id: UserId,
    /// The screenshot (it may be gone since: a delete is logged too).
    pub screenshot_id: ScreenshotId,
    /// Its capture instant: the line goes when the screenshot's retention ends (R18).
    pub captured_at: DateTime<Utc>,
    /// Who.
    pub viewer_id: UserId,
    /// Their display name at that moment.
    pub viewer_name: String,
    /// What.
    pub kind: AccessKind,
    /// When.
    pub at: DateTime<Utc>,
}

/// A workspace's single sign-on settings (R31); the client secret sealed by the service's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoConfigRow {
    /// Workspace.
    pub workspace_id: WorkspaceId,
    /// The provider's issuer URL.
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// The client secret, sealed (`crate::sso::secret`).
    pub client_secret: Vec<u8>,
    /// Allowed email domains (lowercase), each claimed by this workspace alone.
    pub allowed_domains: Vec<String>,
    /// New people join as members.
    pub auto_join: bool,
    /// Non-owners may still sign in with a password.
    pub password_sign_in: bool,
    /// Last saved.
    pub updated_at: DateTime<Utc>,
}

/// A sign-in through the provider under way (R31): one use, short-lived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoRequestRow {
    /// SHA-256 of the `state` sent to the provider.
    pub state_hash: [u8; 32],
    /// Workspace.
    pub workspace_id: WorkspaceId,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// This service's PKCE verifier towards the provider.
    pub pkce_verifier: String,
    /// The callback URL sent to the provider.
    pub redirect_uri: String,
    /// For the desktop app: its PKCE challenge (S256) towards this service.
    pub app_challenge: Option<String>,
    /// For the desktop app: its loopback redirect.
    pub app_redirect: Option<String>,
    /// For the desktop app: its own `state`, handed back to its loopback.
    pub app_state: Option<String>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A one-time code for the desktop app, bound to its PKCE challenge (R31).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoCodeRow {
    /// SHA-256 of the code.
    pub code_hash: [u8; 32],
    /// Who signed in.
    pub user_id: UserId,
    /// The app's PKCE challenge (S256).
    pub challenge: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// The stored form of a rule's field (both backends).
pub(crate) fn field_str(field: BlockField) -> &'static str {
    match field {
        BlockField::Class => "class",
        BlockField::Title => "title",
    }
}

/// A rule's field from its stored form.
pub(crate) fn field_of(s: &str) -> StoreResult<BlockField> {
    match s {
        "class" => Ok(BlockField::Class),
        "title" => Ok(BlockField::Title),
        other => Err(StoreError::Corrupt(format!("unknown rule field {other:?}"))),
    }
}

/// The stored form of an access kind (both backends).
pub(crate) fn kind_str(kind: AccessKind) -> &'static str {
    match kind {
        AccessKind::Viewed => "viewed",
        AccessKind::Deleted => "deleted",
    }
}

/// An access kind from its stored form.
pub(crate) fn kind_of(s: &str) -> StoreResult<AccessKind> {
    match s {
        "viewed" => Ok(AccessKind::Viewed),
        "deleted" => Ok(AccessKind::Deleted),
        other => Err(StoreError::Corrupt(format!(
            "unknown access kind {other:?}"
        ))),
    }
}

/// A screenshot counted per member and day (R17).
pub type Counts = HashMap<UserId, u64>;

/// Screenshots counted per entry.
pub type EntryCounts = HashMap<EntryId, u64>;

/// Reads, on a reader or inside a write transaction. Plain queries: no product rule decides
/// anything here (expired rows, visibility and the like are the caller's business).
pub trait Rows: PresenceRows {
    /// A workspace by id.
    fn workspace(&mut self, id: WorkspaceId) -> StoreResult<Option<WorkspaceRow>>;
    /// The capture gate a workspace had at `at`: the newest recorded state at or before it.
    fn gate_at(&mut self, id: WorkspaceId, at: DateTime<Utc>) -> StoreResult<Option<CaptureGate>>;
    /// A user by id.
    fn user(&mut self, id: UserId) -> StoreResult<Option<UserRow>>;
    /// Users with this (lowercased) email, across workspaces.
    fn users_by_email(&mut self, email: &str) -> StoreResult<Vec<UserRow>>;
    /// A workspace's users by email (active only unless `include_inactive`).
    fn members(&mut self, id: WorkspaceId, include_inactive: bool) -> StoreResult<Vec<UserRow>>;
    /// The active user of an unexpired session.
    fn session_user(
        &mut self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserRow>>;
    /// When a session expires (whatever its state), if it exists.
    fn session_expires(&mut self, token_hash: &[u8; 32]) -> StoreResult<Option<DateTime<Utc>>>;
    /// A user's notifications, newest first (at most 500).
    fn notifications(&mut self, user: UserId) -> StoreResult<Vec<NotificationRow>>;
    /// One of a user's notifications.
    fn notification(
        &mut self,
        user: UserId,
        id: NotificationId,
    ) -> StoreResult<Option<NotificationRow>>;
    /// An entry by id.
    fn entry(&mut self, id: EntryId) -> StoreResult<Option<EntryRow>>;
    /// The user's entry without an end.
    fn running_entry(&mut self, user: UserId) -> StoreResult<Option<EntryRow>>;
    /// Entries of a workspace (optionally one user's) starting in `[from, to)`, by start.
    fn entries(
        &mut self,
        workspace: WorkspaceId,
        user: Option<UserId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<EntryRow>>;
    /// Every entry of a user.
    fn user_entries(&mut self, user: UserId) -> StoreResult<Vec<EntryRow>>;
    /// A user's entries that share an instant with `[from, to)` (`to = None`: open-ended):
    /// those starting before `to` and running, or ending after `from`. By start.
    fn entries_around(
        &mut self,
        user: UserId,
        from: DateTime<Utc>,
        to: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<EntryRow>>;
    /// A screenshot by id.
    fn screenshot(&mut self, id: ScreenshotId) -> StoreResult<Option<ScreenshotRow>>;
    /// An entry's screenshots, oldest first.
    fn entry_screenshots(&mut self, entry: EntryId) -> StoreResult<Vec<ScreenshotRow>>;
    /// Every screenshot of a user.
    fn user_screenshots(&mut self, user: UserId) -> StoreResult<Vec<ScreenshotRow>>;
    /// A user's screenshots captured in `[from, to)` with their entry's description, oldest
    /// first.
    fn screenshots_of_user(
        &mut self,
        user: UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<ScreenshotView>>;
    /// Screenshots per user of a workspace captured in `[from, to)`.
    fn screenshot_counts(
        &mut self,
        workspace: WorkspaceId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Counts>;
    /// Up to `limit` screenshots captured at or before `cutoff`, oldest first.
    fn screenshots_until(
        &mut self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<ScreenshotRow>>;
    /// Which of these blob keys some row references.
    fn referenced_blobs(&mut self, keys: &[String]) -> StoreResult<HashSet<String>>;
    /// Whether this id was deleted (and its tombstone not yet purged).
    fn is_tombstoned(&mut self, id: Tombstone) -> StoreResult<bool>;
    /// Everything the upload rules read about `row`, in one call: a backend whose reads are
    /// round trips sends them together (PostgreSQL pipelines them); by default, one by one.
    fn upload_facts(&mut self, row: &ScreenshotRow) -> StoreResult<UploadFacts> {
        Ok(UploadFacts {
            shot_tombstoned: self.is_tombstoned(Tombstone::Screenshot(row.id))?,
            existing: self.screenshot(row.id)?,
            entry_tombstoned: self.is_tombstoned(Tombstone::Entry(row.entry_id))?,
            entry: self.entry(row.entry_id)?,
            gate: self.gate_at(row.workspace_id, row.captured_at)?,
        })
    }
    /// An invitation by id.
    fn invitation(&mut self, id: InvitationId) -> StoreResult<Option<InvitationRow>>;
    /// The invitation whose link's secret hashes to `token_hash`.
    fn invitation_by_token(&mut self, token_hash: &[u8; 32]) -> StoreResult<Option<InvitationRow>>;
    /// A workspace's invitations neither used nor revoked, newest first.
    fn open_invitations(&mut self, workspace: WorkspaceId) -> StoreResult<Vec<InvitationRow>>;
    /// A workspace's blocked-window rules, in order (R34).
    fn workspace_block_rules(&mut self, id: WorkspaceId) -> StoreResult<Vec<BlockRule>>;
    /// When `viewer` last did `kind` to `screenshot`, as logged (R35).
    fn last_access(
        &mut self,
        screenshot: ScreenshotId,
        viewer: UserId,
        kind: AccessKind,
    ) -> StoreResult<Option<DateTime<Utc>>>;
    /// An owner's access log from `since` on, newest first (at most 1,000 lines).
    fn access_log(&mut self, owner: UserId, since: DateTime<Utc>) -> StoreResult<Vec<AccessRow>>;
    /// Screenshots per entry, for the entries of a workspace (optionally one user's) starting
    /// in `[from, to)`, counting those captured at or after `captured_from`. Entries without
    /// one are absent.
    fn entry_screenshot_counts(
        &mut self,
        workspace: WorkspaceId,
        user: Option<UserId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        captured_from: DateTime<Utc>,
    ) -> StoreResult<EntryCounts>;
    /// A workspace's single sign-on settings, if linked (R31).
    fn sso_config(&mut self, id: WorkspaceId) -> StoreResult<Option<SsoConfigRow>>;
    /// The workspace whose single sign-on claims this (lowercase) email domain.
    fn sso_domain_workspace(&mut self, domain: &str) -> StoreResult<Option<WorkspaceId>>;
    /// The account linked to a provider's subject in a workspace.
    fn sso_identity(
        &mut self,
        workspace: WorkspaceId,
        issuer: &str,
        subject: &str,
    ) -> StoreResult<Option<UserId>>;
}

/// Writes, inside a transaction. Each method changes exactly the rows it names.
pub trait TxRows: Rows + PresenceTxRows {
    /// Inserts a workspace.
    fn insert_workspace(&mut self, row: &WorkspaceRow) -> StoreResult<()>;
    /// Overwrites a workspace's name, plan and settings.
    fn update_workspace(&mut self, row: &WorkspaceRow) -> StoreResult<()>;
    /// Records the capture gate a workspace has from `since` on (replacing one recorded at the
    /// same instant).
    fn record_gate(
        &mut self,
        id: WorkspaceId,
        since: DateTime<Utc>,
        gate: &CaptureGate,
    ) -> StoreResult<()>;
    /// Removes gate states superseded at or before `before` (the newest one at or before it
    /// stays, because it still applies from then on).
    fn purge_gates(&mut self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// Inserts a user.
    fn insert_user(&mut self, row: &UserRow) -> StoreResult<()>;
    /// Overwrites a user's role and active flag.
    fn update_user(&mut self, row: &UserRow) -> StoreResult<()>;
    /// Deletes a user with their sessions and notifications (their screenshots and entries
    /// must be gone already).
    fn delete_user(&mut self, id: UserId) -> StoreResult<()>;
    /// Stores a session.
    fn insert_session(
        &mut self,
        token_hash: &[u8; 32],
        user: UserId,
        workspace: WorkspaceId,
        created: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Moves a session's expiry.
    fn extend_session(&mut self, token_hash: &[u8; 32], expires: DateTime<Utc>) -> StoreResult<()>;
    /// Deletes one session.
    fn delete_session(&mut self, token_hash: &[u8; 32]) -> StoreResult<()>;
    /// Deletes a user's sessions; only those expired at `expired_at` when given.
    fn delete_sessions(
        &mut self,
        user: UserId,
        expired_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;
    /// Inserts a notification.
    fn insert_notification(&mut self, row: &NotificationRow) -> StoreResult<()>;
    /// Sets a notification's read time.
    fn set_notification_read(
        &mut self,
        id: NotificationId,
        read_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Inserts an entry.
    fn insert_entry(&mut self, row: &EntryRow) -> StoreResult<()>;
    /// Overwrites an entry's description, times, removed spans and approval.
    fn update_entry(&mut self, row: &EntryRow) -> StoreResult<()>;
    /// Deletes an entry row (its screenshots must be gone already).
    fn delete_entry(&mut self, id: EntryId) -> StoreResult<()>;
    /// Inserts a screenshot row.
    fn insert_screenshot(&mut self, row: &ScreenshotRow) -> StoreResult<()>;
    /// Deletes a screenshot row.
    fn delete_screenshot(&mut self, id: ScreenshotId) -> StoreResult<()>;
    /// Remembers a deleted id.
    fn insert_tombstone(
        &mut self,
        id: Tombstone,
        workspace: WorkspaceId,
        deleted_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Forgets tombstones of deletes at or before `before`.
    fn purge_tombstones(&mut self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// Inserts an invitation.
    fn insert_invitation(&mut self, row: &InvitationRow) -> StoreResult<()>;
    /// Overwrites an invitation's used and revoked times.
    fn update_invitation(&mut self, row: &InvitationRow) -> StoreResult<()>;
    /// Replaces a workspace's blocked-window rules (kept in the given order).
    fn set_workspace_block_rules(
        &mut self,
        id: WorkspaceId,
        rules: &[BlockRule],
    ) -> StoreResult<()>;
    /// Appends a line to an access log.
    fn insert_access(&mut self, row: &AccessRow) -> StoreResult<()>;
    /// Removes access-log lines of screenshots captured at or before `cutoff`.
    fn purge_access(&mut self, cutoff: DateTime<Utc>) -> StoreResult<u64>;
    /// Removes an owner's whole access log.
    fn delete_access_of(&mut self, owner: UserId) -> StoreResult<()>;
    /// Stores a workspace's single sign-on settings, replacing its domains.
    fn set_sso_config(&mut self, row: &SsoConfigRow) -> StoreResult<()>;
    /// Links a provider's subject to an account.
    fn insert_sso_identity(
        &mut self,
        workspace: WorkspaceId,
        issuer: &str,
        subject: &str,
        user: UserId,
    ) -> StoreResult<()>;
    /// Stores a sign-in under way.
    fn insert_sso_request(&mut self, row: &SsoRequestRow) -> StoreResult<()>;
    /// Removes and answers the sign-in under way with this state hash, if any.
    fn take_sso_request(&mut self, state_hash: &[u8; 32]) -> StoreResult<Option<SsoRequestRow>>;
    /// Stores a one-time app code.
    fn insert_sso_code(&mut self, row: &SsoCodeRow) -> StoreResult<()>;
    /// Removes and answers the app code with this hash, if any.
    fn take_sso_code(&mut self, code_hash: &[u8; 32]) -> StoreResult<Option<SsoCodeRow>>;
    /// Removes sign-ins under way and app codes that expired at or before `now`.
    fn purge_sso(&mut self, now: DateTime<Utc>) -> StoreResult<u64>;
    /// Removes a workspace's single sign-on settings with their domains and its sign-ins under
    /// way; linked identities stay (a link to the same provider again finds them).
    fn delete_sso_config(&mut self, workspace: WorkspaceId) -> StoreResult<()>;
}

/// What a write job asks for when its group ends.
pub struct JobEnd {
    /// Keep the job's changes (else they are rolled back, e.g. a refusal or a dry run).
    pub keep: bool,
    /// Called once the group committed (`Ok`) or failed (`Err`); carries the job's answer.
    pub done: Completion,
}

/// The answer half of a write job.
pub type Completion = Box<dyn FnOnce(StoreResult<()>) + Send>;

/// A read job.
pub type ReadJob = Box<dyn FnOnce(&mut dyn Rows) + Send>;

/// A write job: given the open transaction — or the reason there is none, in which case it
/// must not write anything — it does its work and says what should happen to it.
pub type WriteJob = Box<dyn FnOnce(StoreResult<&mut dyn TxRows>) -> JobEnd + Send>;

/// A storage backend: transactions over [`Rows`] and [`TxRows`].
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Runs `job` on a consistent snapshot.
    async fn read(&self, job: ReadJob) -> StoreResult<()>;
    /// Queues `job` to run inside a write transaction. Its [`JobEnd::done`] is called after
    /// the transaction committed or failed; a job that could not get a transaction is called
    /// with the error and must not write.
    fn write(&self, job: WriteJob) -> StoreResult<()>;
    /// Makes deleted data unrecoverable from the database files (R24).
    async fn scrub(&self) -> StoreResult<()>;
    /// How busy this process's writer has been since it started.
    fn writer_load(&self) -> WriterReport;
    /// What replicas sharing this database coordinate through; `None` for a backend that only
    /// one process uses (SQLite).
    fn cluster(&self) -> Option<std::sync::Arc<dyn Cluster>> {
        None
    }
}

/// A cluster-wide duty that only one replica at a time performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    /// The retention purge and the orphan sweeper ([`crate::maintenance`]).
    Maintenance,
}

/// What a replica's listener hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// The listener is (again) listening. After the first time, notices sent while it was not
    /// may have been lost.
    Listening,
    /// A notice some replica (this one included) sent.
    Notice(String),
    /// Some replica could not send some of its notices: they are lost.
    Missed,
}

/// One (email, source) pair's consecutive failures (times in milliseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PairState {
    /// Consecutive wrong passwords.
    pub failures: u32,
    /// Locked until then, once `auth::MAX_FAILURES` was reached.
    pub locked_until_ms: Option<i64>,
}

/// One source's failure budget (times in milliseconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetState {
    /// Failures it may still spend.
    pub tokens: f64,
    /// When `tokens` was last brought up to date.
    pub at_ms: i64,
}

/// The shared sign-in throttle's rows for one (email, source) pair and its source (keys are
/// hashes; the arithmetic lives in `auth`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ThrottleRows {
    /// The pair's failures, if recorded.
    pub pair: Option<PairState>,
    /// The source's budget, if recorded.
    pub budget: Option<BudgetState>,
}

/// Computes a pair's and a source's new rows from their current ones.
pub type ThrottleUpdate = Box<dyn FnOnce(ThrottleRows) -> ThrottleRows + Send>;

/// A held duty; dropping it gives the duty back.
pub type Lead = Box<dyn Send + Sync>;

/// Coordination between replicas on one database, beyond rows: a notice channel (live events)
/// and duty locks. No product rules: payloads are opaque strings.
#[async_trait::async_trait]
pub trait Cluster: Send + Sync + 'static {
    /// Sends `payload` (at most a few hundred bytes) to every listening replica, in order, in
    /// the background; never inside a transaction, so call it after the change committed. A
    /// notice that cannot be sent after all is lost (logged; notices are hints), and every
    /// listener then hears [`Heard::Missed`].
    fn notify(&self, payload: String);
    /// Starts the listener (once per process); what it hears arrives on the receiver. A lost
    /// connection is reopened with backoff and then reported as [`Heard::Listening`] again.
    fn listen(&self) -> tokio::sync::mpsc::UnboundedReceiver<Heard>;
    /// Takes `duty` unless another replica holds it (`None`); held until the [`Lead`] drops.
    async fn try_lead(&self, duty: Duty) -> StoreResult<Option<Lead>>;
    /// Replaces the throttle's rows of `pair` and `source` by `update` of them, atomically with
    /// respect to every replica (no lost update between two replicas); a pair kept is recorded
    /// as touched at `now_ms`, the service's now (what [`Cluster::prune_throttle`] compares).
    async fn update_throttle(
        &self,
        pair: [u8; 32],
        source: [u8; 32],
        now_ms: i64,
        update: ThrottleUpdate,
    ) -> StoreResult<()>;
    /// Forgets pairs not locked at `now_ms` and untouched since `idle_before_ms`, and budgets
    /// last spent before `full_before_ms`.
    async fn prune_throttle(
        &self,
        now_ms: i64,
        idle_before_ms: i64,
        full_before_ms: i64,
    ) -> StoreResult<()>;
}

/// A recording app's open event stream, held by one replica for one session (R38).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPresenceRow {
    /// The serving process holding the stream.
    pub replica: uuid::Uuid,
    /// The app's session (the token's SHA-256, as in the sessions).
    pub session_hash: [u8; 32],
    /// Whose app.
    pub user_id: UserId,
    /// Capture on in the app, as it last said.
    pub capture: bool,
    /// When this replica took the stream.
    pub connected_at: DateTime<Utc>,
}

/// A serving process and its last heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaRow {
    /// Its id (new for every process).
    pub id: uuid::Uuid,
    /// When it last said it is alive.
    pub heartbeat_at: DateTime<Utc>,
}

/// Reads of the recording apps' presence (R38). Plain rows: whether a row means "connected"
/// is decided in `intents` (its replica must be alive).
pub trait PresenceRows {
    /// The presence rows of a workspace's members, on every replica.
    fn app_presence(&mut self, workspace: WorkspaceId) -> StoreResult<Vec<AppPresenceRow>>;
    /// The presence rows one replica holds.
    fn app_presence_of_replica(&mut self, replica: uuid::Uuid) -> StoreResult<Vec<AppPresenceRow>>;
    /// When each of a workspace's members' apps was last seen, as recorded.
    fn apps_last_seen(
        &mut self,
        workspace: WorkspaceId,
    ) -> StoreResult<HashMap<UserId, DateTime<Utc>>>;
    /// Every replica with its last heartbeat.
    fn replicas(&mut self) -> StoreResult<Vec<ReplicaRow>>;
}

/// Writes of the recording apps' presence, inside a transaction. A user's rows go with the
/// user (the schema cascades their removal).
pub trait PresenceTxRows: PresenceRows {
    /// Inserts the row of (`replica`, `session_hash`), or overwrites it.
    fn put_app_presence(&mut self, row: &AppPresenceRow) -> StoreResult<()>;
    /// Sets capture on the rows of a session, on every replica; how many there were.
    fn set_app_capture(&mut self, session_hash: &[u8; 32], capture: bool) -> StoreResult<u64>;
    /// Deletes the row of (`replica`, `session_hash`).
    fn delete_app_presence(
        &mut self,
        replica: uuid::Uuid,
        session_hash: &[u8; 32],
    ) -> StoreResult<()>;
    /// Records that `user`'s app was seen at `at`, unless a later time is recorded.
    fn record_app_seen(&mut self, user: UserId, at: DateTime<Utc>) -> StoreResult<()>;
    /// Records `replica`'s heartbeat at `at` (inserting it if new).
    fn beat_replica(&mut self, replica: uuid::Uuid, at: DateTime<Utc>) -> StoreResult<()>;
    /// Deletes a replica with the presence rows it holds.
    fn delete_replica(&mut self, replica: uuid::Uuid) -> StoreResult<()>;
}

/// The bucket of the hourly count table (`screenshot_hours`): one UTC hour, in milliseconds.
const HOUR_MS: i64 = 3_600_000;

/// How a backend counts screenshots captured in `[from, to)` (milliseconds since the epoch):
/// the whole UTC hours `[first, end)` from the hourly count table, and the partial hours at
/// either end (time zones off the hour, e.g. +05:30) row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CountPlan {
    /// Hour numbers (ms / 1 h) read from the hourly table, if any whole hour is covered.
    pub hours: Option<(i64, i64)>,
    /// Millisecond spans counted row by row (none empty).
    pub rows: Vec<(i64, i64)>,
}

impl CountPlan {
    pub(crate) fn of(from: i64, to: i64) -> Self {
        let first_hour = -(-from).div_euclid(HOUR_MS);
        let end_hour = to.div_euclid(HOUR_MS);
        if first_hour < end_hour {
            let rows = [(from, first_hour * HOUR_MS), (end_hour * HOUR_MS, to)]
                .into_iter()
                .filter(|(a, b)| a < b)
                .collect();
            Self {
                hours: Some((first_hour, end_hour)),
                rows,
            }
        } else {
            Self {
                hours: None,
                rows: if from < to {
                    vec![(from, to)]
                } else {
                    Vec::new()
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_whole_hours_from_the_table_and_the_ends_row_by_row() {
        const H: i64 = HOUR_MS;
        const HALF: i64 = H / 2;
        // A day on the hour: all from the table.
        assert_eq!(
            CountPlan::of(24 * H, 48 * H),
            CountPlan {
                hours: Some((24, 48)),
                rows: vec![]
            }
        );
        // A +05:30 day: half an hour at each end row by row.
        assert_eq!(
            CountPlan::of(24 * H + HALF, 48 * H + HALF),
            CountPlan {
                hours: Some((25, 48)),
                rows: vec![(24 * H + HALF, 25 * H), (48 * H, 48 * H + HALF)]
            }
        );
        // Inside one hour: rows only; an empty span: nothing.
        assert_eq!(
            CountPlan::of(H + 1, 2 * H - 1),
            CountPlan {
                hours: None,
                rows: vec![(H + 1, 2 * H - 1)]
            }
        );
        assert_eq!(
            CountPlan::of(5 * H, 5 * H),
            CountPlan {
                hours: None,
                rows: vec![]
            }
        );
        // Before the epoch, hours round towards the inside of the span.
        assert_eq!(
            CountPlan::of(-2 * H - 1, -H + 1),
            CountPlan {
                hours: Some((-2, -1)),
                rows: vec![(-2 * H - 1, -2 * H), (-H, -H + 1)]
            }
        );
        // Exactly one whole hour, with one millisecond on each side.
        assert_eq!(
            CountPlan::of(3 * H - 1, 4 * H + 1),
            CountPlan {
                hours: Some((3, 4)),
                rows: vec![(3 * H - 1, 3 * H), (4 * H, 4 * H + 1)]
            }
        );
    }

    #[test]
    fn database_urls() {
        let none = |_: &str| None;
        assert!(matches!(
            Database::parse("sqlite:///var/lib/shotclock/rows.db", none),
            Ok(Database::Sqlite(p)) if p == std::path::Path::new("/var/lib/shotclock/rows.db")
        ));
        assert!(matches!(
            Database::parse("sqlite://rows.db", none),
            Ok(Database::Sqlite(p)) if p == std::path::Path::new("rows.db")
        ));
        for url in [
            "postgres://svc@db:5432/shotclock",
            "postgresql://db/shotclock",
        ] {
            assert!(matches!(
                Database::parse(url, none),
                Ok(Database::Postgres(_))
            ));
        }
        for bad in [
            "sqlite://",
            "mysql://db/x",
            "/var/lib/x.db",
            "postgres://h:port/x",
        ] {
            assert!(
                matches!(Database::parse(bad, none), Err(StoreError::Open(_))),
                "{bad}"
            );
        }
    }
}
