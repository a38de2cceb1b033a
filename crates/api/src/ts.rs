//! TypeScript declarations of the wire types (feature `ts`), for the UI.
//!
//! [`typescript`] renders every public wire type into one module, committed as
//! `ui/src/lib/bindings/api.ts`; the UI imports its types from there instead of declaring them
//! by hand, and `tests/bindings.rs` fails when the committed file differs from a fresh
//! rendering (`SHOTCLOCK_BLESS=1 cargo test -p shotclock-api --test bindings` rewrites it).

use ts_rs::TS;

use crate::dto::{
    AcceptInvitationRequest, AddMemberRequest, ApprovalReport, ApprovePeriod, ApproveRequest,
    CreatedInvitation, DayCount, DayCounts, DeleteKind, DeleteReport, EditReport, Entry, EntryList,
    EntryPatch, Event, Health, Invitation, InvitationList, InviteRequest, LoginRequest, Me, Member,
    MemberList, NewEntry, Notification, NotificationList, Period, Screenshot, ScreenshotList,
    SessionInfo, SignupRequest, StartTimerRequest, StopTimerRequest, TimeSpan, TimerState,
    UpdateMemberRequest, UpdateSettingsRequest, UploadReceipt, WorkspaceSettings,
};
use crate::dto::{ApprovalEntry, ApprovalWeek, EntryDeleteReport, MemberWeek};
use crate::dto::{Presence, PresenceUpdate};
use crate::privacy::{
    AccessEntry, AccessKind, AccessLog, BlockField, BlockRule, WorkspaceBlocklist,
};
use crate::sso::{SsoSettings, SsoSettingsUpdate, SsoTokenRequest};
use crate::{
    ApiError, EntryId, ErrorCode, InvitationId, NotificationId, Plan, Role, ScreenshotId, UserId,
    WorkspaceId,
};

/// The first line of the rendered module.
pub const GENERATED_HEADER: &str = "// Generated from crates/api by `SHOTCLOCK_BLESS=1 cargo test -p shotclock-api --test bindings`; do not edit.";

/// The declaration of `T` with its documentation, exported.
fn declaration<T: TS>() -> String {
    let mut out = T::docs().unwrap_or_default();
    out.push_str("export ");
    out.push_str(&T::decl());
    out
}

macro_rules! declarations {
    ($($t:ty),* $(,)?) => { vec![$(declaration::<$t>()),*] };
}

/// Every wire type as one TypeScript module, in a fixed order.
#[must_use]
pub fn typescript() -> String {
    let parts = declarations![
        // ids and closed sets
        UserId,
        WorkspaceId,
        EntryId,
        ScreenshotId,
        NotificationId,
        Role,
        Plan,
        ErrorCode,
        ApiError,
        // bodies
        LoginRequest,
        SignupRequest,
        SessionInfo,
        Me,
        Member,
        MemberList,
        AddMemberRequest,
        UpdateMemberRequest,
        WorkspaceSettings,
        UpdateSettingsRequest,
        Notification,
        NotificationList,
        StartTimerRequest,
        StopTimerRequest,
        TimerState,
        TimeSpan,
        Entry,
        EntryList,
        Screenshot,
        ScreenshotList,
        UploadReceipt,
        DayCount,
        DayCounts,
        DeleteKind,
        DeleteReport,
        ApproveRequest,
        EntryPatch,
        EditReport,
        NewEntry,
        Period,
        ApprovePeriod,
        ApprovalReport,
        Event,
        Health,
        InvitationId,
        InviteRequest,
        Invitation,
        InvitationList,
        CreatedInvitation,
        AcceptInvitationRequest,
        BlockField,
        BlockRule,
        WorkspaceBlocklist,
        AccessKind,
        AccessEntry,
        AccessLog,
        EntryDeleteReport,
        ApprovalEntry,
        MemberWeek,
        ApprovalWeek,
        Presence,
        PresenceUpdate,
        SsoSettings,
        SsoSettingsUpdate,
        SsoTokenRequest,
    ];
    let mut out = String::from(GENERATED_HEADER);
    out.push_str("\n\n");
    out.push_str(&parts.join("\n\n"));
    out.push('\n');
    out
}
