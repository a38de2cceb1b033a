// Generated from crates/agent by `SHOTCLOCK_BLESS=1 cargo test -p shotclock-agent --test bindings`; do not edit.

import type { EntryId, ErrorCode, Invitation, Member, Notification, ScreenshotId, UserId, WorkspaceSettings } from "./api";

/**
 * How a capture attempt went (R12). Only [`CaptureHealth::Ok`] comes with a screenshot.
 */
export type CaptureHealth = "ok" | "all_black" | "single_colour" | "no_monitor" | "permission_denied" | "consent_refused" | "portal_missing" | "no_screencast" | "dmabuf_only" | "redaction_unavailable" | "backend_error" | "missed";

/**
 * What an outbox item asks the service to do.
 */
export type OutboxKind = "timer_start" | "timer_stop" | "delete_entry" | "screenshot" | "delete_screenshot" | "edit_entry" | "manual_entry";

/**
 * Why screenshots are not being taken; the UI words it.
 */
export type OffReason = "starting" | "signed_out" | "no_timer" | "unconfirmed" | "disabled" | "no_plan" | "trial_expired" | "unschedulable";

/**
 * The screen source in use.
 */
export type SourceKind = "x11" | "wayland_portal" | "native" | "given";

/**
 * Why that source was chosen.
 */
export type ChoiceReason = "wayland_session" | "x11_session" | "wayland_display" | "no_wayland_display" | "platform" | "caller";

/**
 * The source chosen for this session and why.
 */
export type SourceChoice = { kind: SourceKind, reason: ChoiceReason, };

/**
 * Where the desktop's permission to share the screen stands (the Wayland portal's first-run
 * consent; other sources need none). The app words it: before the first dialog it says what
 * will be asked and why; after a refusal it offers to ask again.
 */
export type Consent = "not_needed" | "not_asked" | "granted" | "refused";

/**
 * Whether screenshots are being taken, and if not, why (R7, R8).
 */
export type CaptureStatus = { "state": "active", entry_id: EntryId, next_at: string | null, 
/**
 * The screen source and why it was chosen (X11, the Wayland portal, …).
 */
source: SourceChoice | null, 
/**
 * Where the desktop's permission to share the screen stands (the portal's dialog).
 */
consent: Consent, } | { "state": "off", reason: OffReason, 
/**
 * The screen source that captures once capture turns on; `None` before the engine
 * runs (signed out).
 */
source: SourceChoice | null, 
/**
 * Where the desktop's permission to share the screen stands: before the first
 * portal dialog the UI says what will be asked and why; after a refusal it offers to
 * ask again.
 */
consent: Consent, };

/**
 * The running timer as the UI shows it.
 */
export type RunningTimer = { entry_id: EntryId, description: string, start: string, };

/**
 * One screenshot of a day, and whether it is still waiting on this device to be sent.
 */
export type DayShot = { 
/**
 * Still in this device's outbox: the service does not hold it yet.
 */
waiting_to_sync: boolean, 
/**
 * Client-generated id.
 */
id: ScreenshotId, 
/**
 * Its entry.
 */
entry_id: EntryId, 
/**
 * Owner.
 */
user_id: UserId, 
/**
 * Capture instant.
 */
captured_at: string, 
/**
 * The entry's description.
 */
entry_description: string, 
/**
 * The entry is approved: members can't delete its screenshots (R14, R21).
 */
entry_approved: boolean, 
/**
 * The entry starts before the workspace's lock date: members can't delete its
 * screenshots (R14, R21).
 */
entry_locked: boolean, 
/**
 * Size in bytes.
 */
size: number, 
/**
 * Width in pixels.
 */
width: number, 
/**
 * Height in pixels.
 */
height: number, 
/**
 * Lowercase hex SHA-256 of the image bytes.
 */
sha256: string, 
/**
 * When retention deletes it (R18).
 */
expires_at: string, };

/**
 * One member's screenshots of a day as a client lists them.
 */
export type DayShots = { user_id: UserId, 
/**
 * `YYYY-MM-DD` in `time_zone`.
 */
date: string, time_zone: string, 
/**
 * Oldest first.
 */
screenshots: Array<DayShot>, };

/**
 * What the engine tells the UI.
 */
export type AgentEvent = { "type": "timer_changed", running: RunningTimer | null, } | { "type": "capture_changed", status: CaptureStatus, } | { "type": "captured", screenshot_id: ScreenshotId, captured_at: string, } | { "type": "capture_failed", health: CaptureHealth, detail: string, at: string, } | { "type": "synced", kind: OutboxKind, } | { "type": "deleted" } | { "type": "notification", notification: Notification, } | { "type": "rejected", kind: OutboxKind, reason: string, } | { "type": "settings_changed", settings: WorkspaceSettings, } | { "type": "signed_out" } | { "type": "entry_changed" } | { "type": "screenshot_added" } | { "type": "access_logged" };

/**
 * One capture attempt (R12): the last one, failed or not.
 */
export type CaptureAttempt = { 
/**
 * When it was made.
 */
at: string, 
/**
 * How it went.
 */
health: CaptureHealth, 
/**
 * What went wrong, or which screens were taken; may be empty.
 */
detail: string, };

/**
 * An item the service refused for good (R25): kept aside, never blocks the queue.
 */
export type RejectedItem = { 
/**
 * What the item was.
 */
kind: OutboxKind, 
/**
 * The service's reason.
 */
reason: string, 
/**
 * When it was queued.
 */
created_at: string, };

/**
 * The capture indicator's data (R7, R12, R25).
 */
export type CaptureView = { 
/**
 * Capturing or not, and why not.
 */
status: CaptureStatus, 
/**
 * The most recent capture attempt.
 */
last_attempt: CaptureAttempt | null, 
/**
 * Items the service refused for good.
 */
rejected: Array<RejectedItem>, 
/**
 * Changes waiting to be sent.
 */
pending: number, };

/**
 * Where the session token is kept (R3): the OS keyring, or a user-only file when none exists;
 * in the web app, a cookie the page's scripts cannot read.
 */
export type TokenStorage = "keyring" | "file" | "browser";

/**
 * The session as a client shows it.
 */
export type SessionView = { "state": "signed_out", 
/**
 * Prefill for the sign-in form.
 */
last_server_url: string | null, 
/**
 * Prefill for the sign-in form.
 */
last_email: string | null, } | { "state": "connecting", 
/**
 * The service being reached.
 */
server_url: string, 
/**
 * Why the last attempt failed (empty while the first one runs).
 */
error: string, } | { "state": "signed_in", 
/**
 * The service.
 */
server_url: string, 
/**
 * The signed-in user.
 */
user: Member, 
/**
 * Their workspace, as last known.
 */
workspace: WorkspaceSettings, 
/**
 * Where the session token is kept.
 */
token_storage: TokenStorage, };

/**
 * What kind of failure a call answers; a client branches on it.
 */
export type ErrorKind = "invalid_url" | "wrong_password" | "unreachable" | "incompatible" | "signed_out" | "refused" | "no_timer" | "invalid" | "storage" | "runtime" | "internal" | "sso";

/**
 * A call's error as a client receives it: `{kind, message, code?}`, `code` being the
 * service's error code when the service (or the same rule applied here) refused.
 */
export type CommandError = { 
/**
 * What kind of failure.
 */
kind: ErrorKind, 
/**
 * For people.
 */
message: string, 
/**
 * Why the service refused, with [`ErrorKind::Refused`].
 */
code?: ErrorCode, };

/**
 * What a rule looks at.
 */
export type RuleField = "class" | "title";

/**
 * One rule: windows whose `field` contains `pattern`, ignoring case.
 */
export type BlockRule = { 
/**
 * Class or title.
 */
field: RuleField, 
/**
 * The substring; blank patterns are ignored.
 */
pattern: string, };

/**
 * A window's rectangle on the desktop (serialisable twin of [`Rect`]).
 */
export type WindowRect = { 
/**
 * Left edge.
 */
x: number, 
/**
 * Top edge.
 */
y: number, 
/**
 * Width.
 */
width: number, 
/**
 * Height.
 */
height: number, };

/**
 * One window on screen, as a source lists it.
 */
export type WindowInfo = { 
/**
 * The windowing system's id (X11 window id), for tests and the "Test" view.
 */
id: number, 
/**
 * Where it stands on the desktop, decorations included.
 */
rect: WindowRect, 
/**
 * Application class names (X11: instance and class of `WM_CLASS`); empty if unknown.
 */
classes: Array<string>, 
/**
 * The title, if any.
 */
title: string | null, 
/**
 * An override-redirect window (menu, tooltip) the window manager does not list.
 */
popup: boolean, };

/**
 * One open window and whether the list in force blanks it.
 */
export type WindowMatch = { 
/**
 * The window as listed.
 */
window: WindowInfo, 
/**
 * Whether it would be blanked at a capture now.
 */
blocked: boolean, };

/**
 * The answer of the "Test" button.
 */
export type WindowsNow = { 
/**
 * The open windows, bottom to top; empty when they cannot be listed.
 */
windows: Array<WindowMatch>, 
/**
 * Why windows cannot be listed on this desktop (then, with a non-empty list, every
 * capture is `redaction_unavailable`).
 */
unavailable?: string, };

/**
 * A new invitation and its sign-up link, to copy and hand to the invitee (shown once).
 */
export type InviteLink = { invitation: Invitation, 
/**
 * The full link on the service (`…/invite/#<secret>`).
 */
link: string, };
