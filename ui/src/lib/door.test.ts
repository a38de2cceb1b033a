// The door's contract, run over both transports: the desktop's (Tauri IPC, `./tauri.ts`) and the
// web's (fetch + EventSource, `./web.ts`). Each transport talks to a small fake of the other side
// that speaks that transport's own wire (commands and shell events; HTTP and SSE), backed by one
// shared account, so the same expectations hold for both.
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { AgentEvent, Door, RunningTimer, SessionView } from "./door";
import type { Entry, Invitation, Member, WorkspaceSettings } from "./bindings/api";

const USER: Member = {
  id: "0190a000-0000-7000-8000-000000000001",
  workspace_id: "0190a000-0000-7000-8000-000000000002",
  email: "alice@acme.test",
  name: "Alice",
  role: "member",
  active: true,
  created_at: "2025-06-02T08:00:00Z",
};
const WORKSPACE = { id: USER.workspace_id, name: "Acme" } as unknown as WorkspaceSettings;
const PASSWORD = "correct horse battery";
const VIEW = {
  viewer_id: "0190a000-0000-7000-8000-0000000000a1",
  viewer_name: "Alex Morgan",
  screenshot_id: "0190a000-0000-7000-8000-0000000000b1",
  kind: "viewed",
  at: "2025-06-02T10:42:00Z",
};

/** The account both fakes serve. */
const world = {
  signedIn: false,
  running: null as RunningTimer | null,
  rules: [] as { field: string; pattern: string }[],
  invitations: [] as Invitation[],
  reset() {
    this.signedIn = false;
    this.running = null;
    this.rules = [];
    this.invitations = [];
  },
};

// ---- managing members (R38): what both fakes answer ------------------------------------------

const BOB: Member = {
  ...USER,
  id: "0190a000-0000-7000-8000-000000000003",
  email: "bob@acme.test",
  name: "Bob",
  presence: { connected: true, capture: true, last_seen: "2025-06-02T12:00:00Z" },
};
const SECRET = "ab".repeat(32);
function invited(email: string, role: Member["role"]): Invitation {
  const i: Invitation = {
    id: `0190a000-0000-7000-8000-0000000001${String(world.invitations.length).padStart(2, "0")}`,
    email,
    role,
    created_at: "2025-06-02T08:00:00Z",
    expires_at: "2025-06-09T08:00:00Z",
    expired: false,
  };
  world.invitations.push(i);
  return i;
}

// ---- the desktop shell's side: commands and events ------------------------------------------

const shellListeners = new Map<string, Set<(msg: { payload: unknown }) => void>>();
function emit(event: string, payload: unknown) {
  shellListeners.get(event)?.forEach((h) => h({ payload }));
}
function signedInView(serverUrl: string): SessionView {
  return { state: "signed_in", server_url: serverUrl, user: USER, workspace: WORKSPACE, token_storage: "keyring" };
}
vi.mock("@tauri-apps/api/core", () => ({
  convertFileSrc: (id: string, protocol: string) => `http://${protocol}.localhost/${encodeURIComponent(id)}`,
  invoke: async (cmd: string, args: Record<string, unknown> = {}) => {
    if (!world.signedIn && !["session_state", "sign_in"].includes(cmd)) {
      throw { kind: "signed_out", message: "sign in first" };
    }
    switch (cmd) {
      case "session_state":
        return world.signedIn
          ? signedInView("https://acme.test")
          : { state: "signed_out", last_server_url: null, last_email: null };
      case "sign_in":
        if (args.password !== PASSWORD) throw { kind: "wrong_password", message: "wrong email or password" };
        world.signedIn = true;
        return signedInView(String(args.serverUrl));
      case "sign_out":
        world.signedIn = false;
        emit("session", { state: "signed_out", last_server_url: null, last_email: null });
        return { state: "signed_out", last_server_url: null, last_email: null };
      case "running_timer":
        return world.running;
      case "start_timer":
        world.running = { entry_id: "0190a000-0000-7000-8000-00000000000e", description: String(args.description), start: "2025-06-02T12:00:00Z" };
        emit("agent", { type: "timer_changed", running: world.running });
        return world.running;
      case "stop_timer":
        world.running = null;
        emit("agent", { type: "timer_changed", running: null });
        return null;
      case "workspace_blocklist":
        return world.rules;
      case "set_workspace_blocklist":
        world.rules = (args.rules as typeof world.rules).map((r) => ({ ...r, pattern: r.pattern.trim() }));
        return world.rules;
      case "access_log":
        return [VIEW];
      case "members":
        return [USER, BOB];
      case "invitations":
        return world.invitations;
      case "invite":
        return { invitation: invited(String(args.email), args.role as Member["role"]), link: `https://acme.test/invite/#${SECRET}` };
      case "revoke_invitation":
        world.invitations = world.invitations.filter((i) => i.id !== args.id);
        return null;
      case "update_member":
        return { ...BOB, ...(args.change as object), presence: undefined };
      case "remove_member":
        return null;
      default:
        throw { kind: "internal", message: `no fake for ${cmd}` };
    }
  },
}));
vi.mock("@tauri-apps/api/event", () => ({
  listen: async (event: string, handler: (msg: { payload: unknown }) => void) => {
    const set = shellListeners.get(event) ?? new Set();
    set.add(handler);
    shellListeners.set(event, set);
    return () => set.delete(handler);
  },
}));

// ---- the service's side: HTTP and SSE --------------------------------------------------------

class FakeEventSource {
  static open = new Set<FakeEventSource>();
  listeners = new Map<string, ((e: MessageEvent) => void)[]>();
  constructor(public url: string) {
    FakeEventSource.open.add(this);
  }
  addEventListener(type: string, h: (e: MessageEvent) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), h]);
  }
  close() {
    FakeEventSource.open.delete(this);
  }
  static send(type: string, data: unknown) {
    for (const s of FakeEventSource.open) {
      s.listeners.get(type)?.forEach((h) => h({ data: JSON.stringify(data) } as MessageEvent));
    }
  }
}

const requests: { method: string; url: string; headers: Record<string, string>; credentials?: string }[] = [];
const ORIGIN = "https://acme.test";

function entry(description: string, end: string | null): Entry {
  return { id: "0190a000-0000-7000-8000-00000000000e", user_id: USER.id, description, start: "2025-06-02T12:00:00Z", end } as Entry;
}

async function fakeFetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  const url = new URL(String(input));
  const method = init.method ?? "GET";
  requests.push({ method, url: url.pathname, headers: { ...(init.headers as Record<string, string>) }, credentials: init.credentials });
  const json = (status: number, body: unknown) =>
    new Response(body === null ? null : JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  const path = `${method} ${url.pathname}`;
  if (path === "POST /api/v1/web/login") {
    const body = JSON.parse(String(init.body));
    if (body.password !== PASSWORD) return json(401, { code: "unauthorized", message: "wrong email or password" });
    world.signedIn = true;
    return json(200, { user: USER, workspace: WORKSPACE });
  }
  if (path === "POST /api/v1/invitations/accept") {
    const body = JSON.parse(String(init.body));
    if (body.token !== SECRET) return json(410, { code: "invitation_used", message: "this invitation was used already" });
    world.signedIn = true;
    return json(200, { user: { ...USER, name: body.name }, workspace: WORKSPACE });
  }
  if (!world.signedIn) return json(401, { code: "unauthorized", message: "sign in first" });
  if (method === "DELETE" && url.pathname.startsWith("/api/v1/invitations/")) {
    const id = decodeURIComponent(url.pathname.split("/").at(-1) ?? "");
    world.invitations = world.invitations.filter((i) => i.id !== id);
    return new Response(null, { status: 204 });
  }
  if (url.pathname === `/api/v1/members/${BOB.id}`) {
    if (method === "DELETE") return new Response(null, { status: 204 });
    if (method === "PATCH") return json(200, { ...BOB, ...JSON.parse(String(init.body)), presence: undefined });
  }
  switch (path) {
    case "GET /api/v1/members":
      return json(200, { members: [USER, BOB] });
    case "GET /api/v1/invitations":
      return json(200, { invitations: world.invitations });
    case "POST /api/v1/invitations": {
      const body = JSON.parse(String(init.body));
      return json(201, { invitation: invited(body.email, body.role), token: SECRET, link_path: `/invite/#${SECRET}` });
    }
    case "GET /api/v1/me":
      return json(200, { user: USER, workspace: WORKSPACE });
    case "POST /api/v1/web/logout":
      world.signedIn = false;
      return new Response(null, { status: 204 });
    case "GET /api/v1/timer":
      return json(200, { running: world.running ? entry(world.running.description, null) : null, stopped: null });
    case "POST /api/v1/timer/start": {
      const body = JSON.parse(String(init.body));
      const e = { ...entry(body.description, null), id: body.entry_id };
      world.running = { entry_id: e.id, description: e.description, start: e.start };
      FakeEventSource.send("timer_started", { type: "timer_started", entry: e });
      return json(200, { running: e, stopped: null });
    }
    case "POST /api/v1/timer/stop":
      world.running = null;
      FakeEventSource.send("timer_stopped", { type: "timer_stopped", entry: entry("x", "2025-06-02T13:00:00Z") });
      return json(200, { running: null, stopped: entry("x", "2025-06-02T13:00:00Z") });
    case "GET /api/v1/workspace/blocklist":
      return json(200, { rules: world.rules });
    case "PUT /api/v1/workspace/blocklist": {
      const body = JSON.parse(String(init.body)) as { rules: typeof world.rules };
      world.rules = body.rules.map((r) => ({ ...r, pattern: r.pattern.trim() }));
      return json(200, { rules: world.rules });
    }
    case "GET /api/v1/access-log":
      return json(200, { entries: [VIEW] });
    default:
      return json(404, { code: "not_found", message: "not found" });
  }
}

// ---- the contract ----------------------------------------------------------------------------

const transports: [string, () => Promise<Door>][] = [
  ["desktop (Tauri IPC)", async () => (await import("./tauri")).door],
  [
    "web (fetch + EventSource)",
    async () => {
      const { webDoor } = await import("./web");
      return webDoor({
        origin: ORIGIN,
        fetch: fakeFetch as typeof fetch,
        eventSource: (url) => new FakeEventSource(url) as unknown as EventSource,
      });
    },
  ],
];

describe("what only the desktop app can do, over the web", () => {
  it("has no own rules and says Test needs the desktop app", async () => {
    const { webDoor } = await import("./web");
    const { NEEDS_DESKTOP } = await import("./door");
    const web = webDoor({
      origin: ORIGIN,
      fetch: fakeFetch as typeof fetch,
      eventSource: (url) => new FakeEventSource(url) as unknown as EventSource,
    });
    expect(await web.ownBlocklist()).toEqual([]);
    await expect(web.windowsNow()).rejects.toEqual({ kind: "invalid", message: NEEDS_DESKTOP });
    await expect(web.setOwnBlocklist([{ field: "title", pattern: "x" }])).rejects.toMatchObject({ kind: "invalid" });
    expect(requests.filter((r) => r.url.includes("block"))).toEqual([]);
  });
});

describe.each(transports)("the door over %s", (_name, make) => {
  let door: Door;
  beforeEach(async () => {
    world.reset();
    requests.length = 0;
    door = await make();
  });

  it("starts signed out, refuses a wrong password by kind, and signs in", async () => {
    expect((await door.session()).state).toBe("signed_out");
    await expect(door.signIn(ORIGIN, USER.email, "wrong")).rejects.toMatchObject({ kind: "wrong_password" });
    const s = await door.signIn(ORIGIN, USER.email, PASSWORD);
    expect(s.state).toBe("signed_in");
    if (s.state === "signed_in") expect(s.user.email).toBe(USER.email);
    expect((await door.session()).state).toBe("signed_in");
  });

  it("reads and replaces the workspace's blocked-window rules, and reads the access log", async () => {
    await door.signIn(ORIGIN, USER.email, PASSWORD);
    expect(await door.workspaceBlocklist()).toEqual([]);
    const stored = await door.setWorkspaceBlocklist([{ field: "title", pattern: " Online banking " }]);
    expect(stored).toEqual([{ field: "title", pattern: "Online banking" }]);
    expect(await door.workspaceBlocklist()).toEqual(stored);
    expect(await door.accessLog()).toEqual([VIEW]);
  });

  it("starts and stops the timer, and tells the views live", async () => {
    await door.signIn(ORIGIN, USER.email, PASSWORD);
    const events: AgentEvent[] = [];
    const stop = await door.onAgentEvent((e) => events.push(e));
    expect(await door.running()).toBeNull();
    const started = await door.startTimer("Design review");
    expect(started.description).toBe("Design review");
    expect((await door.running())?.description).toBe("Design review");
    await door.stopTimer();
    expect(await door.running()).toBeNull();
    expect(events.map((e) => (e.type === "timer_changed" ? e.running?.description ?? null : e.type))).toEqual([
      "Design review",
      null,
    ]);
    stop();
  });

  it("rejects calls after sign-out as signed_out and announces the session", async () => {
    await door.signIn(ORIGIN, USER.email, PASSWORD);
    const sessions: SessionView[] = [];
    await door.onSession((s) => sessions.push(s));
    expect((await door.signOut()).state).toBe("signed_out");
    expect(sessions.at(-1)?.state).toBe("signed_out");
    await expect(door.running()).rejects.toMatchObject({ kind: "signed_out" });
  });

  it("lists members with presence, invites with a link to copy, withdraws, changes and removes (R38)", async () => {
    await door.signIn(ORIGIN, USER.email, PASSWORD);
    const members = await door.members();
    expect(members.map((m) => m.email)).toEqual([USER.email, BOB.email]);
    expect(members[1].presence).toEqual({ connected: true, capture: true, last_seen: "2025-06-02T12:00:00Z" });
    const created = await door.invite("carol@acme.test", "admin");
    expect(created.link).toBe(`${ORIGIN}/invite/#${SECRET}`);
    expect(created.invitation).toMatchObject({ email: "carol@acme.test", role: "admin" });
    expect((await door.invitations()).map((i) => i.email)).toEqual(["carol@acme.test"]);
    await door.revokeInvitation(created.invitation.id);
    expect(await door.invitations()).toEqual([]);
    expect((await door.updateMember(BOB.id, { role: "admin" })).role).toBe("admin");
    expect((await door.updateMember(BOB.id, { active: false })).active).toBe(false);
    await door.removeMember(BOB.id);
  });

  it("names images by URL, never as data", () => {
    const url = door.imageUrl("0190a000-0000-7000-8000-0000000000aa");
    expect(url).toMatch(/^https?:\/\//);
    expect(url).toContain("0190a000-0000-7000-8000-0000000000aa");
  });
});

describe("the web transport", () => {
  it("sends its custom header on every request, keeps cookies same-origin, and never sees a token", async () => {
    world.reset();
    requests.length = 0;
    const { webDoor } = await import("./web");
    const door = webDoor({ origin: ORIGIN, fetch: fakeFetch as typeof fetch, eventSource: (u) => new FakeEventSource(u) as unknown as EventSource });
    await door.signIn(ORIGIN, USER.email, PASSWORD);
    await door.startTimer("x");
    await door.signOut();
    expect(requests.length).toBe(3);
    for (const r of requests) {
      expect(r.headers["X-Shotclock"]).toBe("1");
      expect(r.credentials).toBe("same-origin");
      expect(Object.keys(r.headers).map((k) => k.toLowerCase())).not.toContain("authorization");
    }
    expect(door.captures).toBe(false);
    expect(door.imageUrl("a b")).toBe(`${ORIGIN}/api/v1/screenshots/a%20b/image`);
  });

  it("makes time-ordered version-7 ids", async () => {
    const { uuidv7 } = await import("./web");
    const a = uuidv7(1_700_000_000_000);
    const b = uuidv7(1_700_000_000_001);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
  });
});

describe("accepting an invitation (R38)", () => {
  it("signs the invitee in on the web, refuses a used link by its code, and is not the desktop's", async () => {
    world.reset();
    const { webDoor } = await import("./web");
    const web = webDoor({ origin: ORIGIN, fetch: fakeFetch as typeof fetch, eventSource: (u) => new FakeEventSource(u) as unknown as EventSource });
    const sessions: SessionView[] = [];
    await web.onSession((s) => sessions.push(s));
    await expect(web.acceptInvitation("00".repeat(32), "Carol", PASSWORD)).rejects.toMatchObject({
      kind: "refused",
      code: "invitation_used",
    });
    const s = await web.acceptInvitation(SECRET, "Carol", PASSWORD);
    expect(s.state).toBe("signed_in");
    if (s.state === "signed_in") expect(s.user.name).toBe("Carol");
    expect(sessions.at(-1)?.state).toBe("signed_in");
    const desktop = (await import("./tauri")).door;
    await expect(desktop.acceptInvitation(SECRET, "Carol", PASSWORD)).rejects.toMatchObject({ kind: "invalid" });
  });
});
