/**
 * The door between the UI and the engine, independent of the transport: the types the engine
 * answers and the {@link Door} interface of its queries, commands and events. The desktop app
 * implements it over Tauri IPC (`./tauri.ts`); a web app can implement the same interface over
 * HTTP and EventSource.
 *
 * The wire types are generated from the Rust ones (`./bindings/api.ts`, kept in step by
 * `crates/api/tests/bindings.rs`). Every call either resolves with its value or rejects with a
 * {@link CommandError} (`{kind, message, code?}`); the UI branches on `kind` (and on `code`, the
 * service's error code, when the service refused). Images never travel as data: {@link Door.imageUrl}
 * names them.
 */

// ---- errors ------------------------------------------------------------------------------

/**
 * What kind of failure a call answers (`ErrorKind` in `src-tauri/src/error.rs`):
 * - `invalid_url`    the workspace URL is not usable (https only, http for loopback);
 * - `wrong_password` the email or password is wrong;
 * - `unreachable`    the service cannot be reached (network, DNS, 5xx) — try again;
 * - `incompatible`   the service speaks another API version — update the app;
 * - `signed_out`     no session (or it was revoked) — show sign-in;
 * - `refused`        the service (or the same rule applied on this computer) refused; `code`
 *                    says why (e.g. `stop_timer_first`, `entry_approved`, `entry_locked`,
 *                    `not_found`, `forbidden`, `validation`, `feature_unavailable`);
 * - `no_timer`       stop without a running timer;
 * - `invalid`        bad input caught before it left the app;
 * - `storage`        the local buffer failed;
 * - `runtime`        the desktop runtime failed;
 * - `internal`       anything else.
 */
export type ErrorKind =
  | "invalid_url"
  | "wrong_password"
  | "unreachable"
  | "incompatible"
  | "signed_out"
  | "refused"
  | "no_timer"
  | "invalid"
  | "storage"
  | "runtime"
  | "internal";

const ERROR_KINDS: readonly string[] = [
  "invalid_url",
  "wrong_password",
  "unreachable",
  "incompatible",
  "signed_out",
  "refused",
  "no_timer",
  "invalid",
  "storage",
  "runtime",
  "internal",
] satisfies ErrorKind[];

export interface CommandError {
  kind: ErrorKind;
  message: string;
  code?: string;
}

/** Narrows an unknown rejection to a CommandError (anything else becomes `internal`). */
export function asCommandError(e: unknown): CommandError {
  if (e && typeof e === "object" && "kind" in e && "message" in e) {
    const o = e as Record<string, unknown>;
    return {
      kind: ERROR_KINDS.includes(String(o.kind)) ? (String(o.kind) as ErrorKind) : "internal",
      message: String(o.message),
      code: typeof o.code === "string" ? o.code : undefined,
    };
  }
  return { kind: "internal", message: e instanceof Error ? e.message : String(e) };
}

// ---- wire types (generated from crates/api: ./bindings/api.ts) -------------------------------

import type {
  DayCounts,
  DeleteReport,
  Entry,
  Member,
  Notification,
  Role,
  Screenshot,
  UpdateSettingsRequest,
  WorkspaceSettings,
} from "./bindings/api";
export type {
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
} from "./bindings/api";

// ---- engine types (generated from crates/agent: ./bindings/agent.ts) --------------------------

import type { AgentEvent, CaptureHealth, CaptureStatus, DayShots, OutboxKind, RunningTimer } from "./bindings/agent";
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
} from "./bindings/agent";

export function isAdmin(role: Role): boolean {
  return role === "owner" || role === "admin";
}

// ---- shell types (src-tauri) -----------------------------------------------------------------

/** Where the session token is kept (R3): the OS keyring, or a user-only file when none exists. */
export type TokenStorage = "keyring" | "file";

export type SessionView =
  | {
      state: "signed_out";
      /** Prefill for the sign-in form. */
      last_server_url: string | null;
      last_email: string | null;
    }
  | {
      /** A stored session exists but the service could not be reached yet; retrying. */
      state: "connecting";
      server_url: string;
      error: string;
    }
  | {
      state: "signed_in";
      server_url: string;
      user: Member;
      workspace: WorkspaceSettings;
      token_storage: TokenStorage;
    };

/** One capture attempt that produced no screenshot (R12), or the last one that did. */
export interface CaptureAttempt {
  at: string;
  health: CaptureHealth;
  detail: string;
}

/** An item the service refused for good (R25): kept aside, never blocks the queue. */
export interface RejectedItem {
  kind: OutboxKind;
  reason: string;
  created_at: string;
}

export interface CaptureView {
  status: CaptureStatus;
  last_attempt: CaptureAttempt | null;
  rejected: RejectedItem[];
  /** Changes waiting to be sent. */
  pending: number;
}

/** A change of the workspace settings: absent fields stay; `lock_date: null` clears it. */
export type SettingsPatch = UpdateSettingsRequest;

// ---- the door --------------------------------------------------------------------------------

/** Stops listening. */
export type Unlisten = () => void;

/** Everything the UI asks of the engine, whatever carries it. */
export interface Door {
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
  /** Where the image of a screenshot is served (local copy first, else the service). */
  imageUrl(screenshotId: string): string;
}
