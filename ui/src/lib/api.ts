/**
 * The one door between the UI and the desktop shell: typed wrappers over the Tauri commands in
 * `src-tauri/src/commands.rs`, the wire types they return (mirrors of `crates/api` DTOs), and
 * the events the shell forwards from the engine.
 *
 * The wire types are generated from the Rust ones (`./bindings/api.ts`, kept in step by
 * `crates/api/tests/bindings.rs`). Every command either resolves with its value or rejects with a {@link CommandError}
 * (`{kind, message, code?}`); the UI branches on `kind` (and on `code`, the service's error
 * code, when the service refused). Images never travel over IPC: {@link imageUrl} names them on
 * the shell's `shotclock:` URI scheme.
 */
import { invoke, convertFileSrc } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

// ---- errors ------------------------------------------------------------------------------

/**
 * `kind` is one of:
 * - `invalid_url`    the workspace URL is not usable (https only, http for loopback);
 * - `wrong_password` the email or password is wrong;
 * - `unreachable`    the service cannot be reached (network, DNS, 5xx) — try again;
 * - `incompatible`   the service speaks another API version — update the app;
 * - `signed_out`     no session (or it was revoked) — show sign-in;
 * - `refused`        the service refused; `code` says why (e.g. `stop_timer_first`,
 *                    `entry_approved`, `entry_locked`, `not_found`, `forbidden`, `validation`,
 *                    `feature_unavailable`);
 * - `no_timer`       stop without a running timer;
 * - `invalid`        bad input caught before it left the app;
 * - `storage`        the local buffer failed;
 * - `internal`       anything else.
 */
export interface CommandError {
  kind: string;
  message: string;
  code?: string;
}

/** Narrows an unknown rejection to a CommandError (anything else becomes `internal`). */
export function asCommandError(e: unknown): CommandError {
  if (e && typeof e === "object" && "kind" in e && "message" in e) {
    const o = e as Record<string, unknown>;
    return {
      kind: String(o.kind),
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
  ScreenshotList,
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

export interface RunningTimer {
  entry_id: string;
  description: string;
  start: string;
}

export type CaptureStatus =
  | { state: "active"; entry_id: string; next_at: string | null }
  | { state: "off"; reason: string };

/** One capture attempt that produced no screenshot (R12), or the last one that did. */
export interface CaptureAttempt {
  at: string;
  /** `ok`, or why there is no screenshot: `all_black`, `single_colour`, `no_monitor`, `permission_denied`, `consent_refused`, `portal_missing`, `no_screencast`, `dmabuf_only`, `backend_error`, `missed`. */
  health: string;
  detail: string;
}

/** An item the service refused for good (R25): kept aside, never blocks the queue. */
export interface RejectedItem {
  kind: string;
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

/** What the engine tells the UI (`crates/agent/src/state.rs`), forwarded as the `agent` event. */
export type AgentEvent =
  | { type: "timer_changed"; running: RunningTimer | null }
  | { type: "capture_changed"; status: CaptureStatus }
  | { type: "captured"; screenshot_id: string; captured_at: string }
  | { type: "capture_failed"; health: string; detail: string; at: string }
  /** The service acknowledged a queued change (`screenshot`, `timer_start`, `timer_stop`, …). */
  | { type: "synced"; kind: string }
  | { type: "deleted" }
  | { type: "notification"; notification: Notification }
  | { type: "rejected"; kind: string; reason: string }
  | { type: "signed_out" }
  /** Sent by the shell when the workspace settings changed (from the event stream or here). */
  | { type: "settings_changed"; settings: WorkspaceSettings };

/** A change of the workspace settings: absent fields stay; `lock_date: null` clears it. */
export type SettingsPatch = UpdateSettingsRequest;

// ---- commands ------------------------------------------------------------------------------

export const api = {
  session: () => invoke<SessionView>("session_state"),
  signIn: (serverUrl: string, email: string, password: string) =>
    invoke<SessionView>("sign_in", { serverUrl, email, password }),
  signOut: () => invoke<SessionView>("sign_out"),

  running: () => invoke<RunningTimer | null>("running_timer"),
  startTimer: (description: string) => invoke<RunningTimer>("start_timer", { description }),
  stopTimer: () => invoke<void>("stop_timer"),
  /** The signed-in user's entries overlapping `[from, to)` (RFC 3339). */
  entries: (from: string, to: string) => invoke<Entry[]>("entries", { from, to }),

  capture: () => invoke<CaptureView>("capture_state"),
  notifications: () => invoke<Notification[]>("notifications"),
  markRead: (id: string) => invoke<void>("mark_notification_read", { id }),

  /** Members visible to the viewer with their screenshot count on `date` (YYYY-MM-DD) in `tz`. */
  dayCounts: (date: string, tz: string) => invoke<DayCounts>("day_counts", { date, tz }),
  screenshots: (userId: string, date: string, tz: string) =>
    invoke<ScreenshotList>("screenshots_of_day", { userId, date, tz }),
  /** `dryRun: true` answers what the delete would do, changing nothing. */
  deleteScreenshot: (id: string, dryRun: boolean) =>
    invoke<DeleteReport>("delete_screenshot", { id, dryRun }),

  settings: () => invoke<WorkspaceSettings>("workspace_settings"),
  updateSettings: (patch: SettingsPatch) => invoke<WorkspaceSettings>("update_settings", { patch }),
  startTrial: () => invoke<WorkspaceSettings>("start_trial"),
};

/** Subscribes to the engine's events; returns the unsubscribe function. */
export function onAgentEvent(handler: (e: AgentEvent) => void): Promise<UnlistenFn> {
  return listen<AgentEvent>("agent", (msg) => handler(msg.payload));
}

/** Subscribes to session changes (signed in, out, reconnecting). */
export function onSession(handler: (s: SessionView) => void): Promise<UnlistenFn> {
  return listen<SessionView>("session", (msg) => handler(msg.payload));
}

/** The image of a screenshot, served by the shell from the local buffer or the service. */
export function imageUrl(screenshotId: string): string {
  return convertFileSrc(screenshotId, "shotclock");
}
