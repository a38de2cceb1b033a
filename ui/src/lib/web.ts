/**
 * The web app's {@link Door}: the same interface as the desktop's (`./tauri.ts`), carried by
 * `fetch` to the workspace service's `/api/v1` on the page's own origin, an `EventSource` for
 * live events, and images by URL. The session is an `HttpOnly` cookie the service sets: no
 * script here ever sees a token. Every request carries the custom header {@link CSRF_HEADER},
 * which the service requires of cookie-authenticated changes (a cross-site form cannot send it).
 *
 * What only the desktop can do (capture) is a capability: `captures` is false here, and
 * {@link Door.capture} reports capture as off on this device.
 */
import type {
  AgentEvent,
  ApprovalReport,
  CaptureView,
  CommandError,
  DayCounts,
  DayShots,
  DeleteReport,
  Door,
  EditReport,
  Entry,
  EntryDeleteReport,
  ErrorCode,
  Member,
  Notification,
  RunningTimer,
  SessionView,
  SettingsPatch,
  Unlisten,
  WorkspaceSettings,
} from "./door";
import type { CreatedInvitation, Invitation } from "./bindings/api";
import type { SsoSettings } from "./bindings/api";
import type { InviteLink } from "./bindings/agent";
import type { AccessLog, ApprovalWeek, Event, Me, ScreenshotList, TimerState, WorkspaceBlocklist } from "./bindings/api";
import { NEEDS_DESKTOP } from "./door";
import { weekBounds } from "./week";

/** The header every request carries; the service refuses cookie-authenticated changes without it. */
export const CSRF_HEADER = "X-Shotclock";

/** A fresh UUIDv7 (time-ordered, as the service expects of client-made ids). */
export function uuidv7(now: number = Date.now()): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  let ms = now;
  for (let i = 5; i >= 0; i--) {
    b[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The service's answer as a {@link CommandError}: the kind the UI branches on, the code kept. */
export function errorOf(status: number, body: unknown, signingIn = false): CommandError {
  const o = (body && typeof body === "object" ? body : {}) as Record<string, unknown>;
  const code = typeof o.code === "string" ? (o.code as ErrorCode) : undefined;
  const message = typeof o.message === "string" ? o.message : `the service answered ${status}`;
  if (status === 401) return { kind: signingIn ? "wrong_password" : "signed_out", message, code };
  if (code === "api_version") return { kind: "incompatible", message, code };
  if (status === 422 || status === 400) return { kind: "invalid", message, code };
  if (status >= 500) return { kind: "unreachable", message, code };
  return { kind: "refused", message, code };
}

/** What the web transport needs from its surroundings (a test passes its own). */
export interface WebEnv {
  /** The service's origin, e.g. `https://team.example.com` (the page's own). */
  origin: string;
  fetch: typeof fetch;
  /** Opens the live event stream (`withCredentials` is implied: same origin). */
  eventSource: (url: string) => EventSource;
}

function running(state: TimerState): RunningTimer | null {
  const e = state.running;
  return e ? { entry_id: e.id, description: e.description, start: e.start } : null;
}

/** The service's live event as the engine's event the views already understand. */
export function agentEventOf(e: Event): AgentEvent | null {
  switch (e.type) {
    case "timer_started":
      return {
        type: "timer_changed",
        running: { entry_id: e.entry.id, description: e.entry.description, start: e.entry.start },
      };
    case "timer_stopped":
      return { type: "timer_changed", running: null };
    case "settings_changed":
      return { type: "settings_changed", settings: e.settings };
    case "notification":
      return { type: "notification", notification: e.notification };
    case "screenshot_deleted":
    case "entry_deleted":
      return { type: "deleted" };
    case "entry_changed":
      return { type: "entry_changed" };
    case "screenshot_added":
      return { type: "screenshot_added" };
    case "access_logged":
      return { type: "access_logged" };
    default:
      return null;
  }
}

/** The service's event types the stream names (`event:` lines). */
const EVENT_TYPES: Event["type"][] = [
  "timer_started",
  "timer_stopped",
  "settings_changed",
  "notification",
  "screenshot_deleted",
  "entry_deleted",
  "entry_changed",
  "screenshot_added",
  "access_logged",
];

export function webDoor(env: WebEnv): Door {
  const api = `${env.origin}/api/v1`;
  const sessionListeners = new Set<(s: SessionView) => void>();
  const signedOut = (): SessionView => ({ state: "signed_out", last_server_url: env.origin, last_email: null });
  const announce = (s: SessionView) => {
    if (s.state !== "signed_in") closeStream();
    sessionListeners.forEach((l) => l(s));
  };

  // The live events: one stream while signed in and someone listens. A stream opened while
  // signed out is refused (401) and the browser gives it up, so it opens at sign-in (or when
  // the session is found signed in) and closes at sign-out.
  const agentListeners = new Set<(e: AgentEvent) => void>();
  let signedInNow = false;
  let stream: EventSource | null = null;
  let reopen: ReturnType<typeof setTimeout> | null = null;

  function closeStream() {
    signedInNow = false;
    if (reopen) clearTimeout(reopen);
    reopen = null;
    stream?.close();
    stream = null;
  }

  function openStream() {
    if (stream || !signedInNow || agentListeners.size === 0) return;
    const source = env.eventSource(`${api}/events`);
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (msg) => {
        let parsed: Event;
        try {
          parsed = JSON.parse((msg as MessageEvent<string>).data) as Event;
        } catch {
          return;
        }
        const e = agentEventOf(parsed);
        if (e) agentListeners.forEach((h) => h(e));
      });
    }
    // The service dropped events this stream was too slow to read: read again what they
    // could have changed, and tell the views as if each had arrived.
    source.addEventListener("lagged", () => void caughtUp());
    // A stream the service refused or ended (sign-out elsewhere, a restart) is closed for good
    // by the browser: ask whether the session still holds, and open a new one if it does.
    source.addEventListener("error", () => {
      if (source.readyState !== 2 || stream !== source) return;
      stream = null;
      reopen ??= setTimeout(() => {
        reopen = null;
        void door.session();
      }, 3000);
    });
    stream = source;
  }

  async function caughtUp() {
    const tell = (e: AgentEvent) => agentListeners.forEach((h) => h(e));
    try {
      const [timer, settings] = await Promise.all([
        call<TimerState>("GET", "/timer"),
        call<WorkspaceSettings>("GET", "/workspace"),
      ]);
      tell({ type: "timer_changed", running: running(timer) });
      tell({ type: "settings_changed", settings });
    } catch {
      // Unreachable or signed out: the stream's own error handling takes over.
      return;
    }
    tell({ type: "entry_changed" });
    tell({ type: "screenshot_added" });
    tell({ type: "deleted" });
  }

  function nowSignedIn(s: SessionView): SessionView {
    signedInNow = true;
    openStream();
    return s;
  }

  async function call<T>(method: string, path: string, body?: unknown, signingIn = false): Promise<T> {
    let res: Response;
    try {
      res = await env.fetch(`${api}${path}`, {
        method,
        credentials: "same-origin",
        headers: {
          [CSRF_HEADER]: "1",
          Accept: "application/json",
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw { kind: "unreachable", message: e instanceof Error ? e.message : String(e) } satisfies CommandError;
    }
    if (!res.ok) {
      const parsed: unknown = await res.json().catch(() => null);
      const err = errorOf(res.status, parsed, signingIn);
      if (err.kind === "signed_out") announce(signedOut());
      throw err;
    }
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  const signedIn = (me: Me): SessionView => ({
    state: "signed_in",
    server_url: env.origin,
    user: me.user,
    workspace: me.workspace,
    token_storage: "browser",
  });

  const q = (params: Record<string, string>) => new URLSearchParams(params).toString();

  const entriesOf = async (from: string, to: string, userId?: string) =>
    (
      await call<{ entries: Entry[] }>(
        "GET",
        `/entries?${q({ from, to, ...(userId ? { user_id: userId } : {}) })}`,
      )
    ).entries;

  const door: Door = {
    captures: false,
    choosesServer: false,
    ssoStartUrl: (email) => `${env.origin}/api/v1/sso/start?${q({ email })}`,

    async session() {
      try {
        return nowSignedIn(signedIn(await call<Me>("GET", "/me")));
      } catch (e) {
        if ((e as CommandError).kind === "signed_out") return signedOut();
        throw e;
      }
    },
    async signIn(_serverUrl, email, password) {
      const me = await call<Me>("POST", "/web/login", { email, password }, true);
      return nowSignedIn(signedIn(me));
    },
    async signOut() {
      await call<void>("POST", "/web/logout");
      const s = signedOut();
      announce(s);
      return s;
    },

    running: async () => running(await call<TimerState>("GET", "/timer")),
    async startTimer(description) {
      const state = await call<TimerState>("POST", "/timer/start", { entry_id: uuidv7(), description });
      const r = running(state);
      if (!r) throw { kind: "internal", message: "the service started no timer" } satisfies CommandError;
      return r;
    },
    async stopTimer() {
      await call<TimerState>("POST", "/timer/stop", {});
    },
    entries: async (from, to) => (await call<{ entries: Entry[] }>("GET", `/entries?${q({ from, to })}`)).entries,

    async capture(): Promise<CaptureView> {
      return {
        status: { state: "off", reason: "no_timer", source: null, consent: "not_needed" },
        last_attempt: null,
        rejected: [],
        pending: 0,
      };
    },
    async askScreenAgain() {},
    notifications: async () =>
      (await call<{ notifications: Notification[] }>("GET", "/notifications")).notifications,
    markRead: (id) => call<void>("POST", `/notifications/${encodeURIComponent(id)}/read`),

    dayCounts: (date, tz) => call<DayCounts>("GET", `/screenshots/counts?${q({ date, tz })}`),
    async screenshots(userId, date, tz): Promise<DayShots> {
      const list = await call<ScreenshotList>("GET", `/screenshots?${q({ user_id: userId, date, tz })}`);
      return { ...list, screenshots: list.screenshots.map((s) => ({ ...s, waiting_to_sync: false })) };
    },
    deleteScreenshot: (id, dryRun) =>
      call<DeleteReport>("DELETE", `/screenshots/${encodeURIComponent(id)}?${q({ dry_run: String(dryRun) })}`),

    settings: () => call<WorkspaceSettings>("GET", "/workspace"),
    updateSettings: (patch: SettingsPatch) => call<WorkspaceSettings>("PATCH", "/workspace", patch),
    startTrial: () => call<WorkspaceSettings>("POST", "/workspace/trial"),

    async onAgentEvent(handler): Promise<Unlisten> {
      agentListeners.add(handler);
      openStream();
      return () => {
        agentListeners.delete(handler);
        if (agentListeners.size === 0) {
          stream?.close();
          stream = null;
        }
      };
    },
    async onSession(handler): Promise<Unlisten> {
      sessionListeners.add(handler);
      return () => sessionListeners.delete(handler);
    },
    imageUrl: (screenshotId) => `${api}/screenshots/${encodeURIComponent(screenshotId)}/image`,

    workspaceBlocklist: async () => (await call<WorkspaceBlocklist>("GET", "/workspace/blocklist")).rules,
    setWorkspaceBlocklist: async (rules) =>
      (await call<WorkspaceBlocklist>("PUT", "/workspace/blocklist", { rules })).rules,
    ownBlocklist: async () => [],
    setOwnBlocklist: async () => {
      throw desktopOnly();
    },
    windowsNow: async () => {
      throw desktopOnly();
    },
    accessLog: async () => (await call<AccessLog>("GET", "/access-log")).entries,
    async entriesForWeek(day, tz) {
      const { start, end } = weekBounds(day, tz);
      return entriesOf(start.toISOString(), end.toISOString());
    },
    editEntry: (id, patch, dryRun) =>
      call<EditReport>("PATCH", `/entries/${encodeURIComponent(id)}?${q({ dry_run: String(dryRun) })}`, patch),
    addEntry: (description, start, end) => call<Entry>("POST", "/entries", { id: uuidv7(), description, start, end }),
    deleteEntry: (id, dryRun) =>
      call<EntryDeleteReport>("DELETE", `/entries/${encodeURIComponent(id)}?${q({ dry_run: String(dryRun) })}`),
    approvals: async (day, tz) => (await call<ApprovalWeek>("GET", `/approvals?${q({ day, tz })}`)).members,
    approvePeriod: (request) => call<ApprovalReport>("POST", "/approvals", request),
    osNotifies: false,

    members: async () => (await call<{ members: Member[] }>("GET", "/members")).members,
    invitations: async () => (await call<{ invitations: Invitation[] }>("GET", "/invitations")).invitations,
    async invite(email, role): Promise<InviteLink> {
      const created = await call<CreatedInvitation>("POST", "/invitations", { email, role });
      // The page's own origin is the service's public one (a proxy's, when there is one).
      return { invitation: created.invitation, link: `${env.origin}${created.link_path}` };
    },
    revokeInvitation: (id) => call<void>("DELETE", `/invitations/${encodeURIComponent(id)}`),
    updateMember: (id, change) => call<Member>("PATCH", `/members/${encodeURIComponent(id)}`, change),
    removeMember: (id) => call<void>("DELETE", `/members/${encodeURIComponent(id)}`),
    async acceptInvitation(token, name, password) {
      const me = await call<Me>("POST", "/invitations/accept", { token, name, password });
      const s = signedIn(me);
      announce(s);
      return s;
    },
    ssoSettings: () => call<SsoSettings>("GET", "/workspace/sso"),
    setSsoSettings: (update) => call<SsoSettings>("PUT", "/workspace/sso", update),
    unlinkSso: () => call<void>("DELETE", "/workspace/sso"),
  };
  return door;
}

/** The refusal of what only the desktop app can do. */
function desktopOnly(): CommandError {
  return { kind: "invalid", message: NEEDS_DESKTOP };
}

/** The door of the web build: the page's own origin. */
export const door: Door = webDoor({
  origin: globalThis.location?.origin ?? "",
  fetch: (input, init) => globalThis.fetch(input, init),
  eventSource: (url) => new EventSource(url),
});
