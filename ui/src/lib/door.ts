/**
 * The door between the UI and the engine, independent of the transport: the types the engine
 * answers and the {@link Door} interface of its queries, commands and events. The desktop app
 * implements it over Tauri IPC (`./tauri.ts`), the web app over HTTP and EventSource (`./web.ts`).
 * Views branch on the transport only through the capabilities {@link Door.captures} and
 * {@link Door.choosesServer}.
 *
 * Every type here is generated from the Rust ones: the wire types into `./bindings/api.ts`
 * (kept in step by `crates/api/tests/bindings.rs`), the engine's events and views — the session,
 * the capture indicator, errors — into `./bindings/agent.ts` (`crates/agent/tests/bindings.rs`). Every call either resolves with its value or rejects with a
 * {@link CommandError} (`{kind, message, code?}`); the UI branches on `kind` (and on `code`, the
 * service's error code, when the service refused). Images never travel as data: {@link Door.imageUrl}
 * names them.
 */

// ---- errors ------------------------------------------------------------------------------

import type { CommandError, ErrorKind } from "./bindings/agent";
import type { ErrorCode } from "./bindings/api";
export type { CommandError, ErrorKind } from "./bindings/agent";
export type { ErrorCode } from "./bindings/api";

/** Every {@link ErrorKind}: a kind added in Rust fails the type check here until it is listed. */
const ERROR_KINDS: Record<ErrorKind, true> = {
  invalid_url: true,
  wrong_password: true,
  unreachable: true,
  incompatible: true,
  signed_out: true,
  refused: true,
  no_timer: true,
  invalid: true,
  storage: true,
  runtime: true,
  internal: true,
  sso: true,
};

function isErrorKind(kind: string): kind is ErrorKind {
  return Object.prototype.hasOwnProperty.call(ERROR_KINDS, kind);
}

/** Narrows an unknown rejection to a CommandError (anything else becomes `internal`). */
export function asCommandError(e: unknown): CommandError {
  if (e && typeof e === "object" && "kind" in e && "message" in e) {
    const o = e as Record<string, unknown>;
    const kind = String(o.kind);
    return {
      kind: isErrorKind(kind) ? kind : "internal",
      message: String(o.message),
      code: typeof o.code === "string" ? (o.code as ErrorCode) : undefined,
    };
  }
  return { kind: "internal", message: e instanceof Error ? e.message : String(e) };
}

// ---- wire types (generated from crates/api: ./bindings/api.ts) -------------------------------

import type {
  AccessEntry,
  ApprovalReport,
  ApprovePeriod,
  DayCounts,
  DeleteReport,
  EditReport,
  Entry,
  EntryDeleteReport,
  EntryPatch,
  MemberWeek,
  Invitation,
  Member,
  Notification,
  Role,
  UpdateMemberRequest,
  UpdateSettingsRequest,
  WorkspaceSettings,
} from "./bindings/api";
export type {
  AccessEntry,
  AccessKind,
  DayCount,
  DayCounts,
  DeleteKind,
  DeleteReport,
  Entry,
  Member,
  Notification,
  Plan,
  Role,
  Screenshot,
  ScreenshotList,
  TimeSpan,
  WorkspaceSettings,
  ApprovalReport,
  ApprovePeriod,
  EditReport,
  EntryPatch,
  Period,
  ApprovalEntry,
  ApprovalWeek,
  EntryDeleteReport,
  MemberWeek,
  Invitation,
  Presence,
  UpdateMemberRequest,
} from "./bindings/api";

// ---- engine types (generated from crates/agent: ./bindings/agent.ts) --------------------------

import type { AgentEvent, BlockRule, DayShots, InviteLink, RunningTimer, WindowsNow } from "./bindings/agent";
export type {
  BlockRule,
  RuleField,
  WindowInfo,
  WindowMatch,
  WindowsNow,
} from "./bindings/agent";
export type {
  AgentEvent,
  CaptureHealth,
  CaptureStatus,
  Consent,
  DayShot,
  DayShots,
  OffReason,
  OutboxKind,
  RunningTimer,
  SourceChoice,
  SourceKind,
  InviteLink,
} from "./bindings/agent";

export function isAdmin(role: Role): boolean {
  return role === "owner" || role === "admin";
}

// ---- client views (generated from crates/agent: ./bindings/agent.ts) --------------------------

import type { CaptureView, SessionView } from "./bindings/agent";
export type { CaptureAttempt, CaptureView, RejectedItem, SessionView, TokenStorage } from "./bindings/agent";

/** A change of the workspace settings: absent fields stay; `lock_date: null` clears it. */
export type SettingsPatch = UpdateSettingsRequest;

// ---- the door --------------------------------------------------------------------------------

/** Stops listening. */
export type Unlisten = () => void;

/** Everything the UI asks of the engine, whatever carries it. */
export interface Door {
  /** Whether this client takes screenshots itself (the desktop app); the web app does not. */
  readonly captures: boolean;
  /** Whether the user names the workspace address at sign-in (the web app is on it already). */
  readonly choosesServer: boolean;
  /**
   * Where the browser goes to sign `email` in through the workspace's identity provider (R31);
   * absent in the desktop app, which signs in through {@link Door.signInWithSso} instead.
   */
  ssoStartUrl?(email: string): string;

  session(): Promise<SessionView>;
  signIn(serverUrl: string, email: string, password: string): Promise<SessionView>;
  signOut(): Promise<SessionView>;

  running(): Promise<RunningTimer | null>;
  startTimer(description: string): Promise<RunningTimer>;
  stopTimer(): Promise<void>;
  /** The signed-in user's entries overlapping `[from, to)` (RFC 3339), queued changes applied. */
  entries(from: string, to: string): Promise<Entry[]>;

  capture(): Promise<CaptureView>;
  /** Clears a declined screen-sharing dialog: the desktop asks again when capture is on. */
  askScreenAgain(): Promise<void>;
  notifications(): Promise<Notification[]>;
  markRead(id: string): Promise<void>;

  /** Members visible to the viewer with their screenshot count on `date` (YYYY-MM-DD) in `tz`. */
  dayCounts(date: string, tz: string): Promise<DayCounts>;
  /** One member's screenshots of a day; this computer's unsent ones are marked `waiting_to_sync`. */
  screenshots(userId: string, date: string, tz: string): Promise<DayShots>;
  /** `dryRun: true` answers what the delete would do, changing nothing. */
  deleteScreenshot(id: string, dryRun: boolean): Promise<DeleteReport>;

  settings(): Promise<WorkspaceSettings>;
  updateSettings(patch: SettingsPatch): Promise<WorkspaceSettings>;
  startTrial(): Promise<WorkspaceSettings>;

  /** The engine's events, as they happen. */
  onAgentEvent(handler: (e: AgentEvent) => void): Promise<Unlisten>;
  /** Session changes (signed in, out, reconnecting). */
  onSession(handler: (s: SessionView) => void): Promise<Unlisten>;
  /**
   * Where the image of a screenshot is served (local copy first, else the service); with
   * `width`, a door that can scales it to at most that many pixels wide (others serve it whole).
   */
  imageUrl(screenshotId: string, width?: number): string;

  /** The workspace's blocked-window rules (everyone reads them; R34). */
  workspaceBlocklist(): Promise<BlockRule[]>;
  /** Replaces the workspace's rules (admins); answers the rules as stored (trimmed). */
  setWorkspaceBlocklist(rules: BlockRule[]): Promise<BlockRule[]>;
  /** The member's own rules, kept on this computer only (desktop; the web app has none). */
  ownBlocklist(): Promise<BlockRule[]>;
  /** Replaces the own rules (desktop only: the web app rejects with `invalid`). */
  setOwnBlocklist(rules: BlockRule[]): Promise<BlockRule[]>;
  /** Which open windows the rules in force blank now (desktop only; the web app rejects). */
  windowsNow(): Promise<WindowsNow>;
  /** Who else viewed or deleted the signed-in user's screenshots in the last 7 days (R35). */
  accessLog(): Promise<AccessEntry[]>;

  // ---- managing entries (R39) ----
  /** The signed-in user's entries starting in the ISO week (Mon–Sun) holding `day`, in `tz`. */
  entriesForWeek(day: string, tz: string): Promise<Entry[]>;
  /** Edits description, start or end; `dryRun` answers what it would do (excluded screenshots, removed time). */
  editEntry(id: string, patch: EntryPatch, dryRun: boolean): Promise<EditReport>;
  /** Adds time by hand: a manual entry `[start, end)` (RFC 3339). */
  addEntry(description: string, start: string, end: string): Promise<Entry>;
  /** Deletes an entry with its screenshots; `dryRun` says how many would go. */
  deleteEntry(id: string, dryRun: boolean): Promise<EntryDeleteReport>;
  /** Admins: every member's entries of the week holding `day`, with screenshot counts. */
  approvals(day: string, tz: string): Promise<MemberWeek[]>;
  /** Admins: approve (or withdraw approval of) a member's day or week. */
  approvePeriod(request: ApprovePeriod): Promise<ApprovalReport>;

  /**
   * Whether the shell itself shows workspace notifications as OS notifications (the desktop
   * app); where it does not (the web app) the page raises browser notifications while open.
   */
  readonly osNotifies: boolean;
  // ---- managing members (R38) ----
  /** The workspace's members, deactivated ones included; admins also get each one's `presence`. */
  members(): Promise<Member[]>;
  /** Admins: pending invitations. */
  invitations(): Promise<Invitation[]>;
  /** Admins: invites `email` as `role`; answers the one-time sign-up link to copy (shown once). */
  invite(email: string, role: Role): Promise<InviteLink>;
  /** Admins: the invitation's link stops working. */
  revokeInvitation(id: string): Promise<void>;
  /** Admins: changes a member's role, or deactivates (`active: false`) or reactivates them. */
  updateMember(id: string, change: UpdateMemberRequest): Promise<Member>;
  /** Admins: removes a member with their data. */
  removeMember(id: string): Promise<void>;
  /** The invitee's browser takes a sign-up link: name and password, then signed in (web only). */
  acceptInvitation(token: string, name: string, password: string): Promise<SessionView>;
  // ---- single sign-on settings (R31) ----
  /** Admins: the workspace's identity provider settings (the client secret is never answered). */
  ssoSettings(): Promise<SsoSettings>;
  /** Admins: links the workspace to an identity provider, or changes the link; the service checks the provider first. */
  setSsoSettings(update: SsoSettingsUpdate): Promise<SsoSettings>;
  /** Admins: unlinks the identity provider; everyone signs in with a password again. */
  unlinkSso(): Promise<void>;
  // ---- single sign-on of the desktop app (R31) ----
  /**
   * Signs `email` in through the workspace's identity provider in the system browser (the
   * desktop app: a loopback listener receives the browser back); resolves once signed in.
   * Absent where the page itself goes to the provider ({@link Door.ssoStartUrl}).
   */
  signInWithSso?(serverUrl: string, email: string): Promise<SessionView>;
  /** Stops waiting for the browser: the pending {@link Door.signInWithSso} rejects. */
  cancelSsoSignIn?(): Promise<void>;
}

/** What the web transport answers for what only the desktop app can do. */
export const NEEDS_DESKTOP = "this needs the desktop app: only it sees this computer's windows";

import type { SsoSettings, SsoSettingsUpdate } from "./bindings/api";
export type { SsoSettings, SsoSettingsUpdate } from "./bindings/api";
