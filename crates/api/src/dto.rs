//! Request and response bodies of the workspace service's HTTP API (`/api/v1`).
//!
//! Shared by the service and the desktop client so both sides compile against one definition.
//! Conventions: instants are RFC 3339 UTC strings; durations are whole seconds (`*_secs`);
//! optional request fields default when absent; unknown fields are ignored (additive evolution,
//! see the crate docs). With the `openapi` feature every type also derives `utoipa::ToSchema`
//! (the service builds its OpenAPI document from them).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::{EntryId, InvitationId, NotificationId, Plan, Role, ScreenshotId, UserId, WorkspaceId};

/// `Option<Option<T>>` for PATCH bodies: absent → `None`, `null` → `Some(None)`.
fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

fn yes() -> bool {
    true
}

/// `POST /auth/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LoginRequest {
    /// The workspace to sign in to; needed only when the email belongs to several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<WorkspaceId>,
    /// Sign-in email (case-insensitive).
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub email: String,
    /// Password.
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub password: String,
}

/// `POST /auth/signup`: creates a workspace and its owner (when the service allows it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SignupRequest {
    /// Name of the new workspace.
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub workspace_name: String,
    /// Owner's display name.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub name: String,
    /// Owner's email.
    #[cfg_attr(feature = "openapi", schema(format = "email", max_length = 254))]
    pub email: String,
    /// Owner's password (at least 10 characters).
    #[cfg_attr(feature = "openapi", schema(min_length = 10, max_length = 1024))]
    pub password: String,
}

/// A signed-in session: the bearer token and who it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SessionInfo {
    /// Bearer token for `Authorization: Bearer …`. Shown once; the service stores only a hash.
    pub token: String,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
    /// The signed-in user and workspace.
    pub me: Me,
}

/// `GET /me`: the signed-in user and their workspace's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Me {
    /// The user.
    pub user: Member,
    /// Their workspace.
    pub workspace: WorkspaceSettings,
}

/// A workspace member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Member {
    /// User id.
    pub id: UserId,
    /// Workspace.
    pub workspace_id: WorkspaceId,
    /// Email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// False once deactivated.
    pub active: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// Whether their recording app is connected (admins only; absent for members).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<Presence>,
}

/// A member's recording app (the desktop app or the headless agent) as the service sees it:
/// connected by its event stream, seen by that stream and its uploads (admins only, R38).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Presence {
    /// A recording app of this member has its event stream open now.
    pub connected: bool,
    /// Now while connected, else when one was last seen (connected, disconnected or reporting
    /// capture); absent when none was ever seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<DateTime<Utc>>,
    /// Whether a connected recording app reports capture on (false while none is connected).
    pub capture: bool,
}

/// `PUT /presence`: the recording app reports that capture turned on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PresenceUpdate {
    /// Capture is on in this app now.
    pub capture: bool,
}

/// `GET /members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MemberList {
    /// Active members, by email.
    pub members: Vec<Member>,
}

/// `POST /members` (admins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AddMemberRequest {
    /// Email.
    #[cfg_attr(feature = "openapi", schema(format = "email", max_length = 254))]
    pub email: String,
    /// Display name.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub name: String,
    /// Initial password (at least 10 characters).
    #[cfg_attr(feature = "openapi", schema(min_length = 10, max_length = 1024))]
    pub password: String,
    /// `member` (default) or `admin`.
    #[serde(default = "member_role")]
    pub role: Role,
}

fn member_role() -> Role {
    Role::Member
}

/// `PATCH /members/{id}` (admins). Absent fields stay unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpdateMemberRequest {
    /// New role (`admin` or `member`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// `false` deactivates the member (revoking their sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// A workspace and its settings (`GET /workspace`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WorkspaceSettings {
    /// Id.
    pub id: WorkspaceId,
    /// Name.
    pub name: String,
    /// Plan (read-only; set by the operator).
    pub plan: Plan,
    /// "Activate screenshot capturing" (R4).
    pub screenshots_enabled: bool,
    /// Whether screenshots are blurred (R11).
    pub blur_enabled: bool,
    /// Entries starting before this instant are locked (R14).
    pub lock_date: Option<DateTime<Utc>>,
    /// Length of a capture window in seconds (read-only service setting, R9).
    pub capture_window_secs: u32,
    /// When the one-time trial started, if ever.
    pub trial_started_at: Option<DateTime<Utc>>,
    /// When the trial ends (or ended).
    pub trial_ends_at: Option<DateTime<Utc>>,
    /// Whether an admin may still start the trial.
    pub trial_available: bool,
    /// Whether capture is allowed right now (enabled and enterprise or active trial, R4–R5).
    pub capture_allowed: bool,
}

/// `PATCH /workspace` (admins). Absent fields stay unchanged; `lock_date: null` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpdateSettingsRequest {
    /// Turn capturing on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screenshots_enabled: Option<bool>,
    /// Turn blur on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blur_enabled: Option<bool>,
    /// Set (or with `null`, clear) the lock date.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<DateTime<Utc>>))]
    pub lock_date: Option<Option<DateTime<Utc>>>,
}

/// A persisted notification (R6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Notification {
    /// Id.
    pub id: NotificationId,
    /// Machine-readable kind, e.g. `screenshots_enabled`.
    pub kind: String,
    /// Text for the user.
    pub message: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Whether the user marked it read.
    pub read: bool,
}

/// `GET /notifications`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NotificationList {
    /// Newest first.
    pub notifications: Vec<Notification>,
}

/// `POST /timer/start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StartTimerRequest {
    /// Client-generated id of the new entry (a retry with the same id is a no-op).
    pub entry_id: EntryId,
    /// What the user works on.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub description: String,
    /// When it started (default: now). Not more than 5 minutes in the service's future.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<Utc>>,
}

/// `POST /timer/stop`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StopTimerRequest {
    /// The entry to stop (default: whatever runs). Stopping a stopped entry is a no-op.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<EntryId>,
    /// When it ended (default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<Utc>>,
}

/// Timer answers: what runs now and what a start or stop stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TimerState {
    /// The running entry, if any.
    pub running: Option<Entry>,
    /// The entry this request stopped, if any.
    pub stopped: Option<Entry>,
}

/// A half-open time span `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TimeSpan {
    /// First instant inside.
    pub start: DateTime<Utc>,
    /// First instant after.
    pub end: DateTime<Utc>,
}

/// A time entry (R13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Entry {
    /// Client-generated id.
    pub id: EntryId,
    /// Owner.
    pub user_id: UserId,
    /// Description.
    pub description: String,
    /// Start.
    pub start: DateTime<Utc>,
    /// End; `null` while running.
    pub end: Option<DateTime<Utc>>,
    /// Spans removed by screenshot deletes (R21).
    pub removed: Vec<TimeSpan>,
    /// Seconds removed.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub deducted_secs: i64,
    /// end − start − deducted, in seconds (running entries: up to now).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub duration_secs: i64,
    /// Approved by an admin.
    pub approved: bool,
    /// Starts before the workspace's lock date.
    pub locked: bool,
    /// Added by hand, not tracked by a timer: it has no screenshots (R39).
    #[serde(default)]
    pub manual: bool,
}

/// `PATCH /entries/{id}`: the fields to change (absent ones stay as they are) (R39).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EntryPatch {
    /// A new description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub description: Option<String>,
    /// A new start (a running entry's start can be corrected too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<Utc>>,
    /// A new end (stopped entries only: a running entry has no end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<Utc>>,
    /// The user confirmed that the screenshots the new times exclude are deleted with the edit.
    /// Without it, such an edit is refused with `confirmation_required`.
    #[serde(default)]
    pub confirm: bool,
}

/// `PATCH /entries/{id}[?dry_run=true]`: what the edit did, or would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EditReport {
    /// The entry after the edit.
    pub entry: Entry,
    /// The screenshots the new times exclude: deleted with the edit, for good.
    pub excluded_screenshots: Vec<ScreenshotId>,
    /// Seconds of removed time inside the new bounds (earlier screenshot deletes, R21).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub removed_secs: i64,
    /// True when nothing was changed (preview).
    pub dry_run: bool,
}

/// `POST /entries`: a manual entry (R39), idempotent by its client-generated id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NewEntry {
    /// Client-generated id (a deleted id answers `410 deleted`).
    pub id: EntryId,
    /// Whose entry (default: the caller; admins may name any member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// What the time was spent on.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub description: String,
    /// Start.
    pub start: DateTime<Utc>,
    /// End (after the start, not in the future).
    pub end: DateTime<Utc>,
}

/// A day or a week of a member's entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// The calendar day.
    Day,
    /// The ISO week (Monday to Sunday) holding the day.
    Week,
}

/// `POST /approvals`: approve (or withdraw approval of) every entry of a member that starts in
/// a day or week, in the given time zone (admins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ApprovePeriod {
    /// The member.
    pub user_id: UserId,
    /// A day of the period (`YYYY-MM-DD`).
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub date: chrono::NaiveDate,
    /// IANA time zone the day is read in.
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub time_zone: String,
    /// Day or week.
    pub period: Period,
    /// `false` withdraws the approval.
    #[serde(default = "yes")]
    pub approved: bool,
}

/// What `POST /approvals` changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ApprovalReport {
    /// First instant of the period.
    pub from: DateTime<Utc>,
    /// First instant after it.
    pub to: DateTime<Utc>,
    /// The member's entries starting in the period, after the change.
    pub entries: Vec<Entry>,
}

/// `GET /entries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EntryList {
    /// Entries by start.
    pub entries: Vec<Entry>,
}

/// Metadata of a stored screenshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Screenshot {
    /// Client-generated id.
    pub id: ScreenshotId,
    /// Its entry.
    pub entry_id: EntryId,
    /// Owner.
    pub user_id: UserId,
    /// Capture instant.
    pub captured_at: DateTime<Utc>,
    /// The entry's description.
    pub entry_description: String,
    /// The entry is approved: members can't delete its screenshots (R14, R21).
    #[serde(default)]
    pub entry_approved: bool,
    /// The entry starts before the workspace's lock date: members can't delete its
    /// screenshots (R14, R21).
    #[serde(default)]
    pub entry_locked: bool,
    /// Size in bytes.
    pub size: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Lowercase hex SHA-256 of the image bytes.
    pub sha256: String,
    /// When retention deletes it (R18).
    pub expires_at: DateTime<Utc>,
}

/// `GET /screenshots?user=…&date=…&tz=…`: one member's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScreenshotList {
    /// Whose.
    pub user_id: UserId,
    /// The day (`YYYY-MM-DD`) in `time_zone`.
    pub date: String,
    /// IANA time zone.
    pub time_zone: String,
    /// Oldest first.
    pub screenshots: Vec<Screenshot>,
}

/// `PUT /screenshots/{id}` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UploadReceipt {
    /// The screenshot id.
    pub id: ScreenshotId,
    /// False when this exact upload was already stored (idempotent retry).
    pub created: bool,
    /// Lowercase hex SHA-256 of the stored bytes.
    pub sha256: String,
}

/// One member's screenshot count for a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DayCount {
    /// Member.
    pub user_id: UserId,
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Screenshots that day (not expired).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub count: u64,
}

/// `GET /screenshots/counts?date=…&tz=…` (R17).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DayCounts {
    /// The day (`YYYY-MM-DD`) in `time_zone`.
    pub date: String,
    /// IANA time zone.
    pub time_zone: String,
    /// Active members (a member sees only themself), by email.
    pub members: Vec<DayCount>,
}

/// What deleting a screenshot does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum DeleteKind {
    /// The screenshot goes; `removed_secs` leave the entry (0 for admins, R22).
    DeleteScreenshot,
    /// The member's last screenshot of the entry: the whole entry goes (R21).
    DeleteEntry,
}

/// `DELETE /screenshots/{id}[?dry_run=true]`: what the delete did, or would do (R19).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DeleteReport {
    /// The screenshot.
    pub screenshot_id: ScreenshotId,
    /// Its entry.
    pub entry_id: EntryId,
    /// The entry's description.
    pub entry_description: String,
    /// The decision.
    pub decision: DeleteKind,
    /// Seconds of tracked time removed from the entry.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub removed_secs: i64,
    /// True when nothing was changed (preview).
    pub dry_run: bool,
}

/// `POST /entries/{id}/approve` body (optional; default approves).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ApproveRequest {
    /// `false` withdraws the approval.
    #[serde(default = "yes")]
    pub approved: bool,
}

/// A live event on `GET /events` (Server-Sent Events; the SSE `event:` field carries `type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A timer of this user started (from any device).
    TimerStarted {
        /// The running entry.
        entry: Entry,
    },
    /// A timer of this user stopped.
    TimerStopped {
        /// The stopped entry.
        entry: Entry,
    },
    /// The workspace settings changed.
    SettingsChanged {
        /// The new settings.
        settings: WorkspaceSettings,
    },
    /// A new notification (R6).
    Notification {
        /// The notification.
        notification: Notification,
    },
    /// A screenshot of this user was deleted (drop it from caches, R24).
    ScreenshotDeleted {
        /// The screenshot.
        screenshot_id: ScreenshotId,
        /// Its entry.
        entry_id: EntryId,
    },
    /// An entry of this user was deleted (with its screenshots).
    EntryDeleted {
        /// The entry.
        entry_id: EntryId,
    },
    /// An entry of this user was edited, added by hand, approved or unapproved (R39).
    EntryChanged {
        /// The entry as it is now.
        entry: Entry,
    },
    /// A screenshot of this user reached the service (from any device): lists of the day are
    /// stale. Ids only; the listing is the truth.
    ScreenshotAdded {
        /// The screenshot.
        screenshot_id: ScreenshotId,
        /// Its entry.
        entry_id: EntryId,
    },
    /// Someone else's look at a screenshot of this user was logged (R35): the access log is
    /// stale. Ids and the kind only; the log itself says who and when.
    AccessLogged {
        /// The screenshot.
        screenshot_id: ScreenshotId,
        /// What was logged.
        kind: crate::privacy::AccessKind,
    },
}

impl Event {
    /// The `type` tag, used as the SSE event name.
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            Event::TimerStarted { .. } => "timer_started",
            Event::TimerStopped { .. } => "timer_stopped",
            Event::SettingsChanged { .. } => "settings_changed",
            Event::Notification { .. } => "notification",
            Event::ScreenshotDeleted { .. } => "screenshot_deleted",
            Event::EntryDeleted { .. } => "entry_deleted",
            Event::EntryChanged { .. } => "entry_changed",
            Event::ScreenshotAdded { .. } => "screenshot_added",
            Event::AccessLogged { .. } => "access_logged",
        }
    }
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// The API version this service speaks.
    pub api_version: u32,
    /// The service's clock when it answered: clients stamp captures in service time (R9).
    #[serde(default)]
    pub server_time: Option<DateTime<Utc>>,
}

/// `POST /invitations` (admins): whom to invite, and as what (R38).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InviteRequest {
    /// The invitee's email; they sign in with it.
    #[cfg_attr(feature = "openapi", schema(format = "email", max_length = 254))]
    pub email: String,
    /// `member` (default) or `admin`.
    #[serde(default = "member_role")]
    pub role: Role,
}

/// A pending invitation (R38): not used and not revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Invitation {
    /// Id (for revoking).
    pub id: InvitationId,
    /// The invitee's email.
    pub email: String,
    /// The role the invitee gets.
    pub role: Role,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When its link stops working.
    pub expires_at: DateTime<Utc>,
    /// Whether the link no longer works because it expired (an admin invites again).
    pub expired: bool,
}

/// `GET /invitations` (admins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InvitationList {
    /// Pending invitations, newest first.
    pub invitations: Vec<Invitation>,
}

/// The answer to `POST /invitations`: the one time the link's secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CreatedInvitation {
    /// The invitation.
    pub invitation: Invitation,
    /// The secret of the sign-up link. Shown once; the service keeps only its hash.
    pub token: String,
    /// The sign-up link's path on this service (`/invite/#<token>`): the secret rides in the
    /// fragment, which browsers never send, so it stays out of every server log.
    pub link_path: String,
}

/// `POST /invitations/accept`: the invitee's token, name and password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AcceptInvitationRequest {
    /// The secret from the link.
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub token: String,
    /// Display name.
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub name: String,
    /// Password (at least 10 characters).
    #[cfg_attr(feature = "openapi", schema(min_length = 10, max_length = 1024))]
    pub password: String,
}

#[cfg(feature = "openapi")]
mod schemas {
    //! Hand-written schemas for the core wire types defined in `lib.rs`.
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
    use utoipa::{PartialSchema, ToSchema};

    use crate::{
        ApiError, EntryId, ErrorCode, InvitationId, NotificationId, Plan, Role, ScreenshotId,
        UserId, WorkspaceId,
    };

    macro_rules! uuid_schema {
        ($($ty:ty),+) => {$(
            impl PartialSchema for $ty {
                fn schema() -> RefOr<Schema> {
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                        .description(Some("UUIDv7"))
                        .into()
                }
            }
            impl ToSchema for $ty {}
        )+};
    }
    uuid_schema!(
        UserId,
        WorkspaceId,
        EntryId,
        ScreenshotId,
        NotificationId,
        InvitationId
    );

    fn string_enum(values: &[&'static str]) -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values.iter().copied()))
            .into()
    }

    impl PartialSchema for Role {
        fn schema() -> RefOr<Schema> {
            string_enum(&["owner", "admin", "member"])
        }
    }
    impl ToSchema for Role {}

    impl PartialSchema for Plan {
        fn schema() -> RefOr<Schema> {
            string_enum(&["free", "enterprise"])
        }
    }
    impl ToSchema for Plan {}

    impl PartialSchema for ErrorCode {
        fn schema() -> RefOr<Schema> {
            let names: Vec<&'static str> = ErrorCode::ALL
                .iter()
                .filter(|c| **c != ErrorCode::Unknown)
                .map(ErrorCode::as_str)
                .collect();
            string_enum(&names)
        }
    }
    impl ToSchema for ErrorCode {}

    impl PartialSchema for ApiError {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .property("code", ErrorCode::schema())
                .property("message", ObjectBuilder::new().schema_type(Type::String))
                .required("code")
                .required("message")
                .into()
        }
    }
    impl ToSchema for ApiError {}
}

/// `DELETE /entries/{id}[?dry_run=true]`: what deleting an entry did, or would do (a dry
/// run): it goes with all its screenshots, for good (R15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EntryDeleteReport {
    /// The entry.
    pub entry_id: EntryId,
    /// Its description.
    pub description: String,
    /// Screenshots that go with it.
    pub screenshots: u32,
    /// Its tracked time, in seconds.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub duration_secs: i64,
    /// True when nothing was deleted (preview).
    pub dry_run: bool,
}

/// One entry in the admins' Approvals view, with how many screenshots it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ApprovalEntry {
    /// The entry.
    #[serde(flatten)]
    pub entry: Entry,
    /// Its screenshots (not expired).
    pub screenshots: u32,
}

/// One member's week in the Approvals view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MemberWeek {
    /// The member.
    pub member: Member,
    /// Entries starting in the week, oldest first.
    pub entries: Vec<ApprovalEntry>,
}

/// `GET /approvals?day=…&tz=…`: every active member's entries starting in the ISO week
/// (Monday to Sunday) holding the day, with their screenshot counts (admins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ApprovalWeek {
    /// First instant of the week.
    pub from: DateTime<Utc>,
    /// First instant after it.
    pub to: DateTime<Utc>,
    /// Active members, by email.
    pub members: Vec<MemberWeek>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patch_lock_date_distinguishes_absent_and_null() {
        let absent: UpdateSettingsRequest = serde_json::from_value(json!({})).unwrap();
        assert_eq!(absent.lock_date, None);
        let null: UpdateSettingsRequest =
            serde_json::from_value(json!({"lock_date": null})).unwrap();
        assert_eq!(null.lock_date, Some(None));
        let set: UpdateSettingsRequest =
            serde_json::from_value(json!({"lock_date": "2024-01-01T00:00:00Z"})).unwrap();
        assert!(matches!(set.lock_date, Some(Some(_))));
    }

    #[test]
    fn event_wire_form() {
        let e = Event::EntryDeleted {
            entry_id: EntryId::new(),
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], "entry_deleted");
        assert_eq!(e.kind(), "entry_deleted");
        assert_eq!(serde_json::from_value::<Event>(v).unwrap(), e);
    }

    #[test]
    fn defaults() {
        let add: AddMemberRequest =
            serde_json::from_value(json!({"email": "a@b.c", "password": "x"})).unwrap();
        assert_eq!(add.role, Role::Member);
        let approve: ApproveRequest = serde_json::from_value(json!({})).unwrap();
        assert!(approve.approved);
        assert!(
            serde_json::from_value::<AddMemberRequest>(
                json!({"email": "a@b.c", "password": "x", "role": "superuser"})
            )
            .is_err()
        );
    }
}
