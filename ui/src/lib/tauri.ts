/**
 * The desktop app's {@link Door}: each call is one Tauri command of `src-tauri/src/commands.rs`,
 * events are the shell's `agent` and `session` events, and images are served on the shell's
 * `shotclock:` URI scheme (never over IPC).
 */
import { invoke, convertFileSrc } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import { scaledUrl } from "./imageWidth";
import type {
  AccessEntry,
  AgentEvent,
  BlockRule,
  ApprovalReport,
  EditReport,
  EntryDeleteReport,
  MemberWeek,
  CaptureView,
  DayCounts,
  DayShots,
  DeleteReport,
  Door,
  Entry,
  Notification,
  RunningTimer,
  SessionView,
  SettingsPatch,
  WindowsNow,
  WorkspaceSettings,
  CommandError,
  Invitation,
  InviteLink,
  Member,
  SsoSettings,
} from "./door";

export const tauriDoor: Door = {
  captures: true,
  choosesServer: true,

  session: () => invoke<SessionView>("session_state"),
  signIn: (serverUrl, email, password) => invoke<SessionView>("sign_in", { serverUrl, email, password }),
  signOut: () => invoke<SessionView>("sign_out"),

  running: () => invoke<RunningTimer | null>("running_timer"),
  startTimer: (description) => invoke<RunningTimer>("start_timer", { description }),
  stopTimer: () => invoke<void>("stop_timer"),
  entries: (from, to) => invoke<Entry[]>("entries", { from, to }),

  capture: () => invoke<CaptureView>("capture_state"),
  askScreenAgain: () => invoke<void>("ask_screen_again"),
  notifications: () => invoke<Notification[]>("notifications"),
  markRead: (id) => invoke<void>("mark_notification_read", { id }),

  dayCounts: (date, tz) => invoke<DayCounts>("day_counts", { date, tz }),
  screenshots: (userId, date, tz) => invoke<DayShots>("screenshots_of_day", { userId, date, tz }),
  deleteScreenshot: (id, dryRun) => invoke<DeleteReport>("delete_screenshot", { id, dryRun }),

  settings: () => invoke<WorkspaceSettings>("workspace_settings"),
  updateSettings: (patch: SettingsPatch) => invoke<WorkspaceSettings>("update_settings", { patch }),
  startTrial: () => invoke<WorkspaceSettings>("start_trial"),

  onAgentEvent: (handler) => listen<AgentEvent>("agent", (msg) => handler(msg.payload)),
  onSession: (handler) => listen<SessionView>("session", (msg) => handler(msg.payload)),
  imageUrl: (screenshotId, width) => scaledUrl(convertFileSrc(screenshotId, "shotclock"), width),

  workspaceBlocklist: () => invoke<BlockRule[]>("workspace_blocklist"),
  setWorkspaceBlocklist: (rules) => invoke<BlockRule[]>("set_workspace_blocklist", { rules }),
  ownBlocklist: () => invoke<BlockRule[]>("own_blocklist"),
  setOwnBlocklist: (rules) => invoke<BlockRule[]>("set_own_blocklist", { rules }),
  windowsNow: () => invoke<WindowsNow>("windows_now"),
  accessLog: () => invoke<AccessEntry[]>("access_log"),

  entriesForWeek: (date, tz) => invoke<Entry[]>("entries_for_week", { date, tz }),
  editEntry: (id, patch, dryRun) => invoke<EditReport>("edit_entry", { id, patch, dryRun }),
  addEntry: (description, start, end) => invoke<Entry>("add_entry", { description, start, end }),
  deleteEntry: (id, dryRun) => invoke<EntryDeleteReport>("delete_entry", { id, dryRun }),
  approvals: (date, tz) => invoke<MemberWeek[]>("approvals", { date, tz }),
  approvePeriod: (request) => invoke<ApprovalReport>("approve_period", { request }),
  osNotifies: true,

  members: () => invoke<Member[]>("members"),
  invitations: () => invoke<Invitation[]>("invitations"),
  invite: (email, role) => invoke<InviteLink>("invite", { email, role }),
  revokeInvitation: (id) => invoke<void>("revoke_invitation", { id }),
  updateMember: (id, change) => invoke<Member>("update_member", { id, change }),
  removeMember: (id) => invoke<void>("remove_member", { id }),
  acceptInvitation: async () => {
    throw { kind: "invalid", message: "an invitation is accepted in the browser, on the link's page" } satisfies CommandError;
  },
  ssoSettings: () => invoke<SsoSettings>("sso_settings"),
  setSsoSettings: (update) => invoke<SsoSettings>("set_sso_settings", { update }),
  unlinkSso: () => invoke<void>("unlink_sso"),
  signInWithSso: (serverUrl, email) => invoke<SessionView>("sign_in_with_sso", { serverUrl, email }),
  cancelSsoSignIn: () => invoke<void>("cancel_sso_sign_in"),
};

/** The door of the desktop build (the web build puts `./web.ts` in this module's place). */
export const door: Door = tauriDoor;
