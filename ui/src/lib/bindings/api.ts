// Generated from crates/api by `SHOTCLOCK_BLESS=1 cargo test -p shotclock-api --test bindings`; do not edit.

/**
 * A user account.
 */
export type UserId = string;

/**
 * A workspace (a team with its own settings, plan and members).
 */
export type WorkspaceId = string;

/**
 * A time entry (client-generated, R13).
 */
export type EntryId = string;

/**
 * A screenshot (client-generated at capture time, R25).
 */
export type ScreenshotId = string;

/**
 * A persisted notification (e.g. "screenshots were turned on", R6).
 */
export type NotificationId = string;

/**
 * A member's role in a workspace (R1). "Admin" in the product rules means owner or admin.
 */
export type Role = "owner" | "admin" | "member";

/**
 * A workspace's plan (R5). Screenshots need `enterprise` or a running trial.
 */
export type Plan = "free" | "enterprise";

/**
 * Machine-readable error code of an [`ApiError`]. Clients branch on this, never on the message.
 *
 * Serialized in `snake_case`. Adding a code is an additive change (see the crate docs); a
 * client that does not know a code reads it as [`ErrorCode::Unknown`].
 */
export type ErrorCode = "bad_request" | "validation" | "unauthorized" | "forbidden" | "not_found" | "conflict" | "gone" | "deleted" | "method_not_allowed" | "payload_too_large" | "unsupported_media_type" | "too_many_requests" | "stop_timer_first" | "entry_locked" | "entry_approved" | "feature_unavailable" | "entry_overlap" | "confirmation_required" | "clock_skew" | "api_version" | "internal" | "invitation_used" | "invitation_expired" | "unknown";

/**
 * The body of every error answer: `{"code": "...", "message": "..."}`.
 *
 * `message` is for humans (logs, a fallback in the UI); programs branch on `code`.
 */
export type ApiError = { 
/**
 * What went wrong, machine-readable.
 */
code: ErrorCode, 
/**
 * What went wrong, for people.
 */
message: string, };

/**
 * `POST /auth/login`.
 */
export type LoginRequest = { 
/**
 * The workspace to sign in to; needed only when the email belongs to several.
 */
workspace?: WorkspaceId | null, 
/**
 * Sign-in email (case-insensitive).
 */
email: string, 
/**
 * Password.
 */
password: string, };

/**
 * `POST /auth/signup`: creates a workspace and its owner (when the service allows it).
 */
export type SignupRequest = { 
/**
 * Name of the new workspace.
 */
workspace_name: string, 
/**
 * Owner's display name.
 */
name: string, 
/**
 * Owner's email.
 */
email: string, 
/**
 * Owner's password (at least 10 characters).
 */
password: string, };

/**
 * A signed-in session: the bearer token and who it belongs to.
 */
export type SessionInfo = { 
/**
 * Bearer token for `Authorization: Bearer …`. Shown once; the service stores only a hash.
 */
token: string, 
/**
 * When the token stops working.
 */
expires_at: string, 
/**
 * The signed-in user and workspace.
 */
me: Me, };

/**
 * `GET /me`: the signed-in user and their workspace's settings.
 */
export type Me = { 
/**
 * The user.
 */
user: Member, 
/**
 * Their workspace.
 */
workspace: WorkspaceSettings, };

/**
 * A workspace member.
 */
export type Member = { 
/**
 * User id.
 */
id: UserId, 
/**
 * Workspace.
 */
workspace_id: WorkspaceId, 
/**
 * Email.
 */
email: string, 
/**
 * Display name.
 */
name: string, 
/**
 * Role.
 */
role: Role, 
/**
 * False once deactivated.
 */
active: boolean, 
/**
 * When the account was created.
 */
created_at: string, 
/**
 * Whether their recording app is connected (admins only; absent for members).
 */
presence?: Presence | null, };

/**
 * `GET /members`.
 */
export type MemberList = { 
/**
 * Active members, by email.
 */
members: Array<Member>, };

/**
 * `POST /members` (admins).
 */
export type AddMemberRequest = { 
/**
 * Email.
 */
email: string, 
/**
 * Display name.
 */
name: string, 
/**
 * Initial password (at least 10 characters).
 */
password: string, 
/**
 * `member` (default) or `admin`.
 */
role: Role, };

/**
 * `PATCH /members/{id}` (admins). Absent fields stay unchanged.
 */
export type UpdateMemberRequest = { 
/**
 * New role (`admin` or `member`).
 */
role?: Role | null, 
/**
 * `false` deactivates the member (revoking their sessions).
 */
active?: boolean | null, };

/**
 * A workspace and its settings (`GET /workspace`).
 */
export type WorkspaceSettings = { 
/**
 * Id.
 */
id: WorkspaceId, 
/**
 * Name.
 */
name: string, 
/**
 * Plan (read-only; set by the operator).
 */
plan: Plan, 
/**
 * "Activate screenshot capturing" (R4).
 */
screenshots_enabled: boolean, 
/**
 * Whether screenshots are blurred (R11).
 */
blur_enabled: boolean, 
/**
 * Entries starting before this instant are locked (R14).
 */
lock_date: string | null, 
/**
 * Length of a capture window in seconds (read-only service setting, R9).
 */
capture_window_secs: number, 
/**
 * When the one-time trial started, if ever.
 */
trial_started_at: string | null, 
/**
 * When the trial ends (or ended).
 */
trial_ends_at: string | null, 
/**
 * Whether an admin may still start the trial.
 */
trial_available: boolean, 
/**
 * Whether capture is allowed right now (enabled and enterprise or active trial, R4–R5).
 */
capture_allowed: boolean, };

/**
 * `PATCH /workspace` (admins). Absent fields stay unchanged; `lock_date: null` clears it.
 */
export type UpdateSettingsRequest = { 
/**
 * Turn capturing on or off.
 */
screenshots_enabled?: boolean | null, 
/**
 * Turn blur on or off.
 */
blur_enabled?: boolean | null, 
/**
 * Set (or with `null`, clear) the lock date.
 */
lock_date?: string | null | null, };

/**
 * A persisted notification (R6).
 */
export type Notification = { 
/**
 * Id.
 */
id: NotificationId, 
/**
 * Machine-readable kind, e.g. `screenshots_enabled`.
 */
kind: string, 
/**
 * Text for the user.
 */
message: string, 
/**
 * When it was created.
 */
created_at: string, 
/**
 * Whether the user marked it read.
 */
read: boolean, };

/**
 * `GET /notifications`.
 */
export type NotificationList = { 
/**
 * Newest first.
 */
notifications: Array<Notification>, };

/**
 * `POST /timer/start`.
 */
export type StartTimerRequest = { 
/**
 * Client-generated id of the new entry (a retry with the same id is a no-op).
 */
entry_id: EntryId, 
/**
 * What the user works on.
 */
description: string, 
/**
 * When it started (default: now). Not more than 5 minutes in the service's future.
 */
start?: string | null, };

/**
 * `POST /timer/stop`.
 */
export type StopTimerRequest = { 
/**
 * The entry to stop (default: whatever runs). Stopping a stopped entry is a no-op.
 */
entry_id?: EntryId | null, 
/**
 * When it ended (default: now).
 */
end?: string | null, };

/**
 * Timer answers: what runs now and what a start or stop stopped.
 */
export type TimerState = { 
/**
 * The running entry, if any.
 */
running: Entry | null, 
/**
 * The entry this request stopped, if any.
 */
stopped: Entry | null, };

/**
 * A half-open time span `[start, end)`.
 */
export type TimeSpan = { 
/**
 * First instant inside.
 */
start: string, 
/**
 * First instant after.
 */
end: string, };

/**
 * A time entry (R13).
 */
export type Entry = { 
/**
 * Client-generated id.
 */
id: EntryId, 
/**
 * Owner.
 */
user_id: UserId, 
/**
 * Description.
 */
description: string, 
/**
 * Start.
 */
start: string, 
/**
 * End; `null` while running.
 */
end: string | null, 
/**
 * Spans removed by screenshot deletes (R21).
 */
removed: Array<TimeSpan>, 
/**
 * Seconds removed.
 */
deducted_secs: number, 
/**
 * end − start − deducted, in seconds (running entries: up to now).
 */
duration_secs: number, 
/**
 * Approved by an admin.
 */
approved: boolean, 
/**
 * Starts before the workspace's lock date.
 */
locked: boolean, 
/**
 * Added by hand, not tracked by a timer: it has no screenshots (R39).
 */
manual: boolean, };

/**
 * `GET /entries`.
 */
export type EntryList = { 
/**
 * Entries by start.
 */
entries: Array<Entry>, };

/**
 * Metadata of a stored screenshot.
 */
export type Screenshot = { 
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
 * `GET /screenshots?user=…&date=…&tz=…`: one member's day.
 */
export type ScreenshotList = { 
/**
 * Whose.
 */
user_id: UserId, 
/**
 * The day (`YYYY-MM-DD`) in `time_zone`.
 */
date: string, 
/**
 * IANA time zone.
 */
time_zone: string, 
/**
 * Oldest first.
 */
screenshots: Array<Screenshot>, };

/**
 * `PUT /screenshots/{id}` answer.
 */
export type UploadReceipt = { 
/**
 * The screenshot id.
 */
id: ScreenshotId, 
/**
 * False when this exact upload was already stored (idempotent retry).
 */
created: boolean, 
/**
 * Lowercase hex SHA-256 of the stored bytes.
 */
sha256: string, };

/**
 * One member's screenshot count for a day.
 */
export type DayCount = { 
/**
 * Member.
 */
user_id: UserId, 
/**
 * Display name.
 */
name: string, 
/**
 * Email.
 */
email: string, 
/**
 * Screenshots that day (not expired).
 */
count: number, };

/**
 * `GET /screenshots/counts?date=…&tz=…` (R17).
 */
export type DayCounts = { 
/**
 * The day (`YYYY-MM-DD`) in `time_zone`.
 */
date: string, 
/**
 * IANA time zone.
 */
time_zone: string, 
/**
 * Active members (a member sees only themself), by email.
 */
members: Array<DayCount>, };

/**
 * What deleting a screenshot does.
 */
export type DeleteKind = "delete_screenshot" | "delete_entry";

/**
 * `DELETE /screenshots/{id}[?dry_run=true]`: what the delete did, or would do (R19).
 */
export type DeleteReport = { 
/**
 * The screenshot.
 */
screenshot_id: ScreenshotId, 
/**
 * Its entry.
 */
entry_id: EntryId, 
/**
 * The entry's description.
 */
entry_description: string, 
/**
 * The decision.
 */
decision: DeleteKind, 
/**
 * Seconds of tracked time removed from the entry.
 */
removed_secs: number, 
/**
 * True when nothing was changed (preview).
 */
dry_run: boolean, };

/**
 * `POST /entries/{id}/approve` body (optional; default approves).
 */
export type ApproveRequest = { 
/**
 * `false` withdraws the approval.
 */
approved: boolean, };

/**
 * `PATCH /entries/{id}`: the fields to change (absent ones stay as they are) (R39).
 */
export type EntryPatch = { 
/**
 * A new description.
 */
description?: string | null, 
/**
 * A new start (a running entry's start can be corrected too).
 */
start?: string | null, 
/**
 * A new end (stopped entries only: a running entry has no end).
 */
end?: string | null, 
/**
 * The user confirmed that the screenshots the new times exclude are deleted with the edit.
 * Without it, such an edit is refused with `confirmation_required`.
 */
confirm: boolean, };

/**
 * `PATCH /entries/{id}[?dry_run=true]`: what the edit did, or would do.
 */
export type EditReport = { 
/**
 * The entry after the edit.
 */
entry: Entry, 
/**
 * The screenshots the new times exclude: deleted with the edit, for good.
 */
excluded_screenshots: Array<ScreenshotId>, 
/**
 * Seconds of removed time inside the new bounds (earlier screenshot deletes, R21).
 */
removed_secs: number, 
/**
 * True when nothing was changed (preview).
 */
dry_run: boolean, };

/**
 * `POST /entries`: a manual entry (R39), idempotent by its client-generated id.
 */
export type NewEntry = { 
/**
 * Client-generated id (a deleted id answers `410 deleted`).
 */
id: EntryId, 
/**
 * Whose entry (default: the caller; admins may name any member).
 */
user_id?: UserId | null, 
/**
 * What the time was spent on.
 */
description: string, 
/**
 * Start.
 */
start: string, 
/**
 * End (after the start, not in the future).
 */
end: string, };

/**
 * A day or a week of a member's entries.
 */
export type Period = "day" | "week";

/**
 * `POST /approvals`: approve (or withdraw approval of) every entry of a member that starts in
 * a day or week, in the given time zone (admins).
 */
export type ApprovePeriod = { 
/**
 * The member.
 */
user_id: UserId, 
/**
 * A day of the period (`YYYY-MM-DD`).
 */
date: string, 
/**
 * IANA time zone the day is read in.
 */
time_zone: string, 
/**
 * Day or week.
 */
period: Period, 
/**
 * `false` withdraws the approval.
 */
approved: boolean, };

/**
 * What `POST /approvals` changed.
 */
export type ApprovalReport = { 
/**
 * First instant of the period.
 */
from: string, 
/**
 * First instant after it.
 */
to: string, 
/**
 * The member's entries starting in the period, after the change.
 */
entries: Array<Entry>, };

/**
 * A live event on `GET /events` (Server-Sent Events; the SSE `event:` field carries `type`).
 */
export type Event = { "type": "timer_started", 
/**
 * The running entry.
 */
entry: Entry, } | { "type": "timer_stopped", 
/**
 * The stopped entry.
 */
entry: Entry, } | { "type": "settings_changed", 
/**
 * The new settings.
 */
settings: WorkspaceSettings, } | { "type": "notification", 
/**
 * The notification.
 */
notification: Notification, } | { "type": "screenshot_deleted", 
/**
 * The screenshot.
 */
screenshot_id: ScreenshotId, 
/**
 * Its entry.
 */
entry_id: EntryId, } | { "type": "entry_deleted", 
/**
 * The entry.
 */
entry_id: EntryId, } | { "type": "entry_changed", 
/**
 * The entry as it is now.
 */
entry: Entry, } | { "type": "screenshot_added", 
/**
 * The screenshot.
 */
screenshot_id: ScreenshotId, 
/**
 * Its entry.
 */
entry_id: EntryId, } | { "type": "access_logged", 
/**
 * The screenshot.
 */
screenshot_id: ScreenshotId, 
/**
 * What was logged.
 */
kind: AccessKind, };

/**
 * `GET /healthz`.
 */
export type Health = { 
/**
 * `ok`.
 */
status: string, 
/**
 * The API version this service speaks.
 */
api_version: number, 
/**
 * The service's clock when it answered: clients stamp captures in service time (R9).
 */
server_time: string | null, };

/**
 * An invitation to join a workspace (R38).
 */
export type InvitationId = string;

/**
 * `POST /invitations` (admins): whom to invite, and as what (R38).
 */
export type InviteRequest = { 
/**
 * The invitee's email; they sign in with it.
 */
email: string, 
/**
 * `member` (default) or `admin`.
 */
role: Role, };

/**
 * A pending invitation (R38): not used and not revoked.
 */
export type Invitation = { 
/**
 * Id (for revoking).
 */
id: InvitationId, 
/**
 * The invitee's email.
 */
email: string, 
/**
 * The role the invitee gets.
 */
role: Role, 
/**
 * When it was made.
 */
created_at: string, 
/**
 * When its link stops working.
 */
expires_at: string, 
/**
 * Whether the link no longer works because it expired (an admin invites again).
 */
expired: boolean, };

/**
 * `GET /invitations` (admins).
 */
export type InvitationList = { 
/**
 * Pending invitations, newest first.
 */
invitations: Array<Invitation>, };

/**
 * The answer to `POST /invitations`: the one time the link's secret is shown.
 */
export type CreatedInvitation = { 
/**
 * The invitation.
 */
invitation: Invitation, 
/**
 * The secret of the sign-up link. Shown once; the service keeps only its hash.
 */
token: string, 
/**
 * The sign-up link's path on this service (`/invite/#<token>`): the secret rides in the
 * fragment, which browsers never send, so it stays out of every server log.
 */
link_path: string, };

/**
 * `POST /invitations/accept`: the invitee's token, name and password.
 */
export type AcceptInvitationRequest = { 
/**
 * The secret from the link.
 */
token: string, 
/**
 * Display name.
 */
name: string, 
/**
 * Password (at least 10 characters).
 */
password: string, };

/**
 * What a blocked-window rule looks at.
 */
export type BlockField = "class" | "title";

/**
 * One blocked-window rule: a case-insensitive substring of the class or the title.
 */
export type BlockRule = { 
/**
 * What the pattern is compared with.
 */
field: BlockField, 
/**
 * The substring (trimmed; 1 to [`crate::limits::BLOCK_PATTERN_CHARS`] characters).
 */
pattern: string, };

/**
 * The workspace's blocked-window list (`GET`/`PUT /workspace/blocklist`): admins set it,
 * everyone reads it, and every member's app applies it together with their own rules.
 */
export type WorkspaceBlocklist = { 
/**
 * The rules, in order (at most [`crate::limits::BLOCK_RULES`]).
 */
rules: Array<BlockRule>, };

/**
 * What someone else did to a screenshot.
 */
export type AccessKind = "viewed" | "deleted";

/**
 * One line of a member's access log.
 */
export type AccessEntry = { 
/**
 * Who looked (or deleted).
 */
viewer_id: UserId, 
/**
 * Their display name at that moment.
 */
viewer_name: string, 
/**
 * Which screenshot.
 */
screenshot_id: ScreenshotId, 
/**
 * What they did.
 */
kind: AccessKind, 
/**
 * When.
 */
at: string, };

/**
 * `GET /access-log`: who else viewed or deleted the caller's screenshots in the last 7 days,
 * newest first.
 */
export type AccessLog = { 
/**
 * The entries, newest first.
 */
entries: Array<AccessEntry>, };

/**
 * `DELETE /entries/{id}[?dry_run=true]`: what deleting an entry did, or would do (a dry
 * run): it goes with all its screenshots, for good (R15).
 */
export type EntryDeleteReport = { 
/**
 * The entry.
 */
entry_id: EntryId, 
/**
 * Its description.
 */
description: string, 
/**
 * Screenshots that go with it.
 */
screenshots: number, 
/**
 * Its tracked time, in seconds.
 */
duration_secs: number, 
/**
 * True when nothing was deleted (preview).
 */
dry_run: boolean, };

/**
 * One entry in the admins' Approvals view, with how many screenshots it has.
 */
export type ApprovalEntry = { 
/**
 * Its screenshots (not expired).
 */
screenshots: number, 
/**
 * Client-generated id.
 */
id: EntryId, 
/**
 * Owner.
 */
user_id: UserId, 
/**
 * Description.
 */
description: string, 
/**
 * Start.
 */
start: string, 
/**
 * End; `null` while running.
 */
end: string | null, 
/**
 * Spans removed by screenshot deletes (R21).
 */
removed: Array<TimeSpan>, 
/**
 * Seconds removed.
 */
deducted_secs: number, 
/**
 * end − start − deducted, in seconds (running entries: up to now).
 */
duration_secs: number, 
/**
 * Approved by an admin.
 */
approved: boolean, 
/**
 * Starts before the workspace's lock date.
 */
locked: boolean, 
/**
 * Added by hand, not tracked by a timer: it has no screenshots (R39).
 */
manual: boolean, };

/**
 * One member's week in the Approvals view.
 */
export type MemberWeek = { 
/**
 * The member.
 */
member: Member, 
/**
 * Entries starting in the week, oldest first.
 */
entries: Array<ApprovalEntry>, };

/**
 * `GET /approvals?day=…&tz=…`: every active member's entries starting in the ISO week
 * (Monday to Sunday) holding the day, with their screenshot counts (admins).
 */
export type ApprovalWeek = { 
/**
 * First instant of the week.
 */
from: string, 
/**
 * First instant after it.
 */
to: string, 
/**
 * Active members, by email.
 */
members: Array<MemberWeek>, };

/**
 * A member's recording app (the desktop app or the headless agent) as the service sees it:
 * connected by its event stream, seen by that stream and its uploads (admins only, R38).
 */
export type Presence = { 
/**
 * A recording app of this member has its event stream open now.
 */
connected: boolean, 
/**
 * Now while connected, else when one was last seen (connected, disconnected or reporting
 * capture); absent when none was ever seen.
 */
last_seen?: string | null, 
/**
 * Whether a connected recording app reports capture on (false while none is connected).
 */
capture: boolean, };

/**
 * `PUT /presence`: the recording app reports that capture turned on or off.
 */
export type PresenceUpdate = { 
/**
 * Capture is on in this app now.
 */
capture: boolean, };

/**
 * The workspace's single sign-on settings as admins read them (`GET /workspace/sso`). The
 * client secret is never returned: only whether one is stored.
 */
export type SsoSettings = { 
/**
 * Whether the workspace is linked to an identity provider at all.
 */
enabled: boolean, 
/**
 * The provider's issuer URL (its discovery document is `/.well-known/openid-configuration`
 * below it); empty when not linked.
 */
issuer: string, 
/**
 * The client id the provider gave this service.
 */
client_id: string, 
/**
 * Whether a client secret is stored (it is write-only).
 */
client_secret_set: boolean, 
/**
 * Email domains whose people may sign in through the provider (lowercase, without `@`).
 */
allowed_domains: Array<string>, 
/**
 * New people of an allowed domain join as members at their first sign-in.
 */
auto_join: boolean, 
/**
 * Whether members and admins may still sign in with a password (owners always may).
 */
password_sign_in: boolean, 
/**
 * The one callback URL to register at the provider.
 */
callback_url: string, };

/**
 * What an admin saves (`PUT /workspace/sso`). The service fetches the provider's discovery
 * document and keys before it stores anything.
 */
export type SsoSettingsUpdate = { 
/**
 * The provider's issuer URL (`https://…`).
 */
issuer: string, 
/**
 * The client id.
 */
client_id: string, 
/**
 * The client secret; left out (or `null`) keeps the stored one.
 */
client_secret?: string, 
/**
 * Email domains whose people may sign in (at least one).
 */
allowed_domains: Array<string>, 
/**
 * New people of an allowed domain join as members.
 */
auto_join: boolean, 
/**
 * Members and admins may still sign in with a password (owners always may).
 */
password_sign_in: boolean, };

/**
 * The desktop app's exchange (`POST /sso/token`): the one-time code the service handed its
 * loopback listener, with the PKCE verifier whose challenge started the sign-in.
 */
export type SsoTokenRequest = { 
/**
 * The one-time code.
 */
code: string, 
/**
 * The PKCE code verifier (RFC 7636: 43 to 128 characters).
 */
code_verifier: string, };
