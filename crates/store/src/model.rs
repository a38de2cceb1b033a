//! The rows the store reads and writes, as Rust types.
//!
//! Ids are the wire crate's UUIDv7 newtypes (plus the store-local [`AttemptId`]); enums are
//! stored as their `snake_case` text so the file stays readable with the `sqlite3` shell.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use shotclock_api::{EntryId, Plan, Role, ScreenshotId, UserId, WorkspaceId};
use shotclock_domain::CaptureGate;
use uuid::Uuid;

use crate::OutboxPayload;

/// A stored enum text that this build does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownText {
    kind: &'static str,
    value: String,
}

/// Defines a closed enum stored as `snake_case` text: `as_str`, `Display`, `FromStr`, and
/// serialised as the same text (the UI receives some of them).
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident : $kind:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stored (and wire) text.
            #[must_use]
            pub const fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownText;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(UnknownText { kind: $kind, value: other.to_owned() }),
                }
            }
        }
    };
}

text_enum! {
    /// How a capture attempt went (R12). Only [`CaptureHealth::Ok`] comes with a screenshot.
    CaptureHealth: "capture health" {
        /// A usable frame was captured and stored.
        Ok = "ok",
        /// The frame was entirely black (screen locked, DRM, compositor glitch).
        AllBlack = "all_black",
        /// The frame was one flat colour (a blank or locked screen): nothing worth keeping.
        SingleColour = "single_colour",
        /// No monitor was available.
        NoMonitor = "no_monitor",
        /// The OS refused screen capture (e.g. macOS Screen Recording permission).
        PermissionDenied = "permission_denied",
        /// The user declined the desktop's screen sharing dialog (Wayland portal).
        ConsentRefused = "consent_refused",
        /// No desktop portal on a Wayland session.
        PortalMissing = "portal_missing",
        /// The desktop portal has no ScreenCast interface.
        NoScreenCast = "no_screencast",
        /// The compositor offers only DMA-BUF frames; capture failed closed.
        DmabufOnly = "dmabuf_only",
        /// A blocklist was in force and the windows could not be listed: nothing was kept.
        RedactionUnavailable = "redaction_unavailable",
        /// The capture backend failed (see the attempt's detail).
        BackendError = "backend_error",
        /// The window's moment passed while the machine slept; it is not made up (R9).
        Missed = "missed",
    }
}

text_enum! {
    /// What a blocked-window rule looks at.
    BlockField: "block rule field" {
        /// The application class.
        Class = "class",
        /// The window title.
        Title = "title",
    }
}

/// One of the member's own blocked-window rules (kept on this device only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnBlockRule {
    /// Class or title.
    pub field: BlockField,
    /// The case-insensitive substring.
    pub pattern: String,
}

text_enum! {
    /// Upload state of a screenshot.
    ScreenshotState: "screenshot state" {
        /// Not yet acknowledged by the service (its outbox row is pending).
        Pending = "pending",
        /// The service acknowledged it; the thumbnail stays for offline viewing until retention.
        Uploaded = "uploaded",
        /// The service refused it for good; the outbox keeps the reason.
        Rejected = "rejected",
    }
}

text_enum! {
    /// What an outbox item asks the service to do.
    OutboxKind: "outbox kind" {
        /// A timer was started (creates the entry).
        TimerStart = "timer_start",
        /// A timer was stopped (sets the entry's end).
        TimerStop = "timer_stop",
        /// A time entry was deleted (tombstone).
        DeleteEntry = "delete_entry",
        /// Upload a screenshot; the bytes are in the `screenshots` row with the item's id.
        Screenshot = "screenshot",
        /// A screenshot was deleted (tombstone).
        DeleteScreenshot = "delete_screenshot",
        /// An entry's description, start or end was edited by hand (R39).
        EditEntry = "edit_entry",
        /// Time added by hand (creates a manual entry, R39).
        ManualEntry = "manual_entry",
    }
}

text_enum! {
    /// Whether an outbox item is still to be sent.
    OutboxState: "outbox state" {
        /// Waiting to be sent (possibly after a backoff).
        Pending = "pending",
        /// Refused for good by the service; kept aside with its reason, never sent again.
        Rejected = "rejected",
    }
}

/// Id of a capture attempt (client-generated UUIDv7; attempts are local diagnostics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttemptId(Uuid);

impl AttemptId {
    /// A fresh, time-ordered id.
    #[allow(clippy::new_without_default)]
    #[must_use]
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// Wraps an existing UUID.
    #[must_use]
    pub const fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// The underlying UUID.
    #[must_use]
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for AttemptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for AttemptId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// The signed-in account, cached for offline start. Never holds the session token (R3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedAccount {
    /// The workspace service's base URL, as the user typed it (normalised by the caller).
    pub server_url: String,
    /// The signed-in user.
    pub user_id: UserId,
    /// The workspace the user works in.
    pub workspace_id: WorkspaceId,
    /// The user's role in that workspace.
    pub role: Role,
    /// The user's email address.
    pub email: String,
}

/// The workspace settings the app last received, cached so capture decisions work offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedSettings {
    /// "Activate screenshot capturing" (R4).
    pub screenshots_enabled: bool,
    /// Blur thumbnails (R11; on unless an admin turned it off).
    pub blur: bool,
    /// The workspace's plan (R5).
    pub plan: Plan,
    /// When the one-time trial started, if ever (R5).
    pub trial_started_at: Option<DateTime<Utc>>,
    /// Capture window length in seconds (R9; 300 unless the service says otherwise).
    pub capture_window_secs: u32,
    /// Entries starting before this are locked (R14).
    pub lock_date: Option<DateTime<Utc>>,
}

impl Default for CachedSettings {
    /// What a workspace looks like before its settings were ever fetched: capture off.
    fn default() -> Self {
        Self {
            screenshots_enabled: false,
            blur: true,
            plan: Plan::Free,
            trial_started_at: None,
            capture_window_secs: 300,
            lock_date: None,
        }
    }
}

impl CachedSettings {
    /// The inputs of the capture gate (R4, R5), for `shotclock_domain::gate`.
    #[must_use]
    pub fn gate(&self) -> CaptureGate {
        CaptureGate {
            enabled: self.screenshots_enabled,
            plan: self.plan,
            trial_started_at: self.trial_started_at,
        }
    }

    /// The capture window length (R9).
    #[must_use]
    pub fn capture_window(&self) -> TimeDelta {
        TimeDelta::seconds(i64::from(self.capture_window_secs))
    }
}

/// A time entry as this device knows it (R13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeEntry {
    /// Client-generated id.
    pub id: EntryId,
    /// What the user is working on.
    pub description: String,
    /// When the timer started.
    pub start: DateTime<Utc>,
    /// When it stopped; `None` while running.
    pub end: Option<DateTime<Utc>>,
    /// Time removed by screenshot deletes (R21), as last reported by the service.
    pub deducted: TimeDelta,
    /// Whether the service has the entry's latest state.
    pub synced: bool,
}

/// A screenshot to store (the capture's output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewScreenshot {
    /// Client-generated id (R25).
    pub id: ScreenshotId,
    /// The entry running when it was taken (R15).
    pub entry_id: EntryId,
    /// Capture instant.
    pub captured_at: DateTime<Utc>,
    /// The blurred, low-resolution WebP thumbnail (R11).
    pub thumbnail: Vec<u8>,
    /// Thumbnail width in pixels.
    pub width: u32,
    /// Thumbnail height in pixels.
    pub height: u32,
}

/// A stored screenshot without its bytes (for lists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenshotInfo {
    /// Client-generated id.
    pub id: ScreenshotId,
    /// Its time entry.
    pub entry_id: EntryId,
    /// Capture instant (millisecond precision).
    pub captured_at: DateTime<Utc>,
    /// Thumbnail width in pixels.
    pub width: u32,
    /// Thumbnail height in pixels.
    pub height: u32,
    /// Lowercase hex SHA-256 of the thumbnail bytes, computed by the store; the service
    /// compares it to detect a different upload under the same id.
    pub sha256: String,
    /// Upload state.
    pub state: ScreenshotState,
}

/// A stored screenshot with its thumbnail bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screenshot {
    /// Everything but the bytes.
    pub info: ScreenshotInfo,
    /// The WebP thumbnail.
    pub thumbnail: Vec<u8>,
}

/// A capture attempt to record (R12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttempt {
    /// Client-generated id.
    pub id: AttemptId,
    /// The running entry.
    pub entry_id: EntryId,
    /// Index of the capture window within the entry (R9).
    pub window_index: u64,
    /// When the attempt was made.
    pub at: DateTime<Utc>,
    /// How it went.
    pub health: CaptureHealth,
    /// Human-readable detail (error text, monitor names …); may be empty.
    pub detail: String,
}

/// A recorded capture attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureAttempt {
    /// Client-generated id.
    pub id: AttemptId,
    /// The running entry.
    pub entry_id: EntryId,
    /// Index of the capture window within the entry.
    pub window_index: u64,
    /// When the attempt was made.
    pub at: DateTime<Utc>,
    /// How it went.
    pub health: CaptureHealth,
    /// Human-readable detail.
    pub detail: String,
    /// The screenshot it produced; `None` for a failed attempt or once the screenshot was
    /// deleted.
    pub screenshot_id: Option<ScreenshotId>,
}

/// A change to queue for the service; its kind is its payload's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutboxItem {
    /// The client-generated id of the thing (the service applies it idempotently by this id).
    pub item_id: Uuid,
    /// The time entry the change belongs to: items of one entry are sent in order (see
    /// [`crate::outbox`]). `None` for changes that depend on nothing.
    pub entry_id: Option<EntryId>,
    /// What the change carries.
    pub payload: OutboxPayload,
}

impl NewOutboxItem {
    /// What to do.
    #[must_use]
    pub const fn kind(&self) -> OutboxKind {
        self.payload.kind()
    }
}

/// A stored payload this build cannot read for its item's kind (damaged, or written by a newer
/// build): the item is listed as it is, and the uploader sets it aside with this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable {kind} payload: {detail}")]
pub struct UnreadablePayload {
    /// The item's kind.
    pub kind: OutboxKind,
    /// What did not fit.
    pub detail: String,
}

/// A queued change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Position in the queue (strictly increasing, never reused).
    pub seq: i64,
    /// What to do.
    pub kind: OutboxKind,
    /// The client-generated id of the thing.
    pub item_id: Uuid,
    /// The entry the change belongs to, if any.
    pub entry_id: Option<EntryId>,
    /// What the change carries, read for its kind.
    pub payload: Result<OutboxPayload, UnreadablePayload>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// Failed sends so far.
    pub attempts: u32,
    /// Not to be sent before this instant.
    pub next_attempt_at: DateTime<Utc>,
    /// The error of the last failed send.
    pub last_error: Option<String>,
    /// Pending or rejected.
    pub state: OutboxState,
    /// Why the service refused it (rejected items only).
    pub rejected_reason: Option<String>,
}
