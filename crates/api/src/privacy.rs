//! Wire types of the privacy features (R34, R35): the workspace's blocked-window list and the
//! access log a member reads about their own screenshots.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ScreenshotId, UserId};

/// What a blocked-window rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum BlockField {
    /// The application class (`WM_CLASS` on X11).
    Class,
    /// The window title.
    Title,
}

/// One blocked-window rule: a case-insensitive substring of the class or the title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BlockRule {
    /// What the pattern is compared with.
    pub field: BlockField,
    /// The substring (trimmed; 1 to [`crate::limits::BLOCK_PATTERN_CHARS`] characters).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub pattern: String,
}

/// The workspace's blocked-window list (`GET`/`PUT /workspace/blocklist`): admins set it,
/// everyone reads it, and every member's app applies it together with their own rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WorkspaceBlocklist {
    /// The rules, in order (at most [`crate::limits::BLOCK_RULES`]).
    #[cfg_attr(feature = "openapi", schema(max_items = 50))]
    pub rules: Vec<BlockRule>,
}

/// What someone else did to a screenshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AccessKind {
    /// Opened its image.
    Viewed,
    /// Deleted it.
    Deleted,
}

/// One line of a member's access log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AccessEntry {
    /// Who looked (or deleted).
    pub viewer_id: UserId,
    /// Their display name at that moment.
    pub viewer_name: String,
    /// Which screenshot.
    pub screenshot_id: ScreenshotId,
    /// What they did.
    pub kind: AccessKind,
    /// When.
    pub at: DateTime<Utc>,
}

/// `GET /access-log`: who else viewed or deleted the caller's screenshots in the last 7 days,
/// newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AccessLog {
    /// The entries, newest first.
    pub entries: Vec<AccessEntry>,
}
