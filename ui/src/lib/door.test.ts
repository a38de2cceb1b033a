// The door's contract, run over both transports: the desktop's (Tauri IPC, `./tauri.ts`) and the
// web's (fetch + EventSource, `./web.ts`). Each transport talks to a small fake of the other side
// that speaks that transport's own wire (commands and shell events; HTTP and SSE), backed by one
// shared account, so the same expectations hold for both.
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { AgentEvent, Door, RunningTimer, SessionView } from "./door";
import type { ApprovalReport, ApprovePeriod, EditReport, Entry, EntryDeleteReport, EntryPatch, Invitation, Member, MemberWeek, WorkspaceSettings } from "./bindings/api";
import type { SsoSettings, SsoSettingsUpdate } from "./bindings/api";

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

const ENTRY_ID = "0190a000-0000-7000-8000-0000000000e1";
/** Alice's entry of the week, with two screenshots. */
function weekEntry(): Entry {
  return {
    id: ENTRY_ID,
    user_id: USER.id,
    description: "Design review",
    start: "2025-06-03T09:00:00Z",
    end: "2025-06-03T10:00:00Z",
    removed: [],
    deducted_secs: 0,
    duration_secs: 3600,
    approved: false,
    locked: false,
    manual: false,
  };
}

/** The account both fakes serve. */
const world = {
  signedIn: false,
  running: null as RunningTimer | null,
  rules: [] as { field: string; pattern: string }[],
  entries: [] as Entry[],
  shots: {} as Record<string, number>,
  invitations: [] as Invitation[],
  reset() {
    this.signedIn = false;
    this.running = null;
    this.rules = [];
    this.invitations = [];
    this.entries = [weekEntry()];
    this.shots = { [ENTRY_ID]: 2 };
  },
};

/** The single sign-on settings both fakes serve: the secret kept apart and never answered. */
const ssoFake = {
  secret: "",
  settings: null as SsoSettings | null,
  unlinked(): SsoSettings {
    return { enabled: false, issuer: "", client_id: "", client_secret_set: false, allowed_domains: [], auto_join: false, password_sign_in: true, callback_url: `${ORIGIN}/api/v1/sso/callback` };
  },
  get(): SsoSettings {
    return this.settings ?? this.unlinked();
  },
  /** Saves, or the service's refusal of a provider it cannot read. */
  set(u: SsoSettingsUpdate): SsoSettings | Refused {
    if (u.issuer.includes("unreachable")) return new Refused("validation", `the provider's discovery document at ${u.issuer} could not be read`);
    if (u.client_secret) this.secret = u.client_secret;
    this.settings = { ...this.unlinked(), enabled: true, issuer: u.issuer, client_id: u.client_id, client_secret_set: this.secret !== "", allowed_domains: u.allowed_domains, auto_join: u.auto_join, password_sign_in: u.password_sign_in };
    return this.settings;
  },
  unlink() {
    this.settings = null;
    this.secret = "";
  },
};

/** What the engine or the service answers when an entry is refused. */
class Refused {
  constructor(
    public code: string,
    public message: string,
  ) {}
}

/** The entry rules both fakes share (the real ones are tested in Rust). */
const entryRules = {
  find(id: string): Entry {
    const e = world.entries.find((x) => x.id === id);
    if (!e) throw new Refused("not_found", "no such entry");
    return e;
  },
  changeable(id: string): Entry {
    const e = this.find(id);
    if (e.approved) throw new Refused("entry_approved", "the entry is approved; ask an admin");
    return e;
  },
  edit(id: string, patch: EntryPatch, dryRun: boolean): EditReport {
    const e = { ...this.changeable(id) };
    if (patch.description) e.description = patch.description.trim();
    if (!dryRun) world.entries = world.entries.map((x) => (x.id === id ? e : x));
    return { entry: e, excluded_screenshots: [], removed_secs: 0, dry_run: dryRun };
  },
  add(id: string, description: string, start: string, end: string): Entry {
    const e: Entry = {
      ...weekEntry(),
      id,
      description: description.trim(),
      start,
      end,
      duration_secs: (Date.parse(end) - Date.parse(start)) / 1000,
      manual: true,
    };
    world.entries = [...world.entries, e];
    return e;
  },
  delete(id: string, dryRun: boolean): EntryDeleteReport {
    const e = this.changeable(id);
    if (!dryRun) world.entries = world.entries.filter((x) => x.id !== id);
    return { entry_id: id, description: e.description, screenshots: world.shots[id] ?? 0, duration_secs: e.duration_secs, dry_run: dryRun };
  },
  approvals(): MemberWeek[] {
    return [{ member: USER, entries: world.entries.map((e) => ({ ...e, screenshots: world.shots[e.id] ?? 0 })) }];
  },
  approve(r: ApprovePeriod): ApprovalReport {
    world.entries = world.entries.map((e) => ({ ...e, approved: r.approved }));
    return { from: "2025-06-02T00:00:00Z", to: "2025-06-09T00:00:00Z", entries: world.entries };
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
      case "sso_settings":
        return ssoFake.get();
      case "set_sso_settings": {
        const r = ssoFake.set(args.update as SsoSettingsUpdate);
        if (r instanceof Refused) throw { kind: "invalid", message: r.message, code: r.code };
        return r;
      }
      case "unlink_sso":
        ssoFake.unlink();
        return null;
      default:
        try {
          return entryCommand(cmd, args);
        } catch (e) {
          if (e instanceof Refused) throw { kind: "refused", message: e.message, code: e.code };
          throw e;
        }
    }
  },
}));

/** The shell's entry commands (the engine's answers, as `src-tauri/src/commands.rs` names them). */
function entryCommand(cmd: string, args: Record<string, unknown>): unknown {
  switch (cmd) {
    case "entries_for_week":
      return world.entries;
    case "edit_entry":
      return entryRules.edit(String(args.id), args.patch as EntryPatch, Boolean(args.dryRun));
    case "add_entry":
      return entryRules.add("0190a000-0000-7000-8000-0000000000e2", String(args.description), String(args.start), String(args.end));
    case "delete_entry":
      return entryRules.delete(String(args.id), Boolean(args.dryRun));
    case "approvals":
      return entryRules.approvals();
    case "approve_period":
      return entryRules.approve(args.request as ApprovePeriod);
    default:
      throw { kind: "internal", message: `no fake for ${cmd}` };
  }
}
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
  readyState = 1;
  constructor(public url: string) {
    // The service refuses a stream without a session (401), and the browser gives it up.
    if (world.signedIn) FakeEventSource.open.add(this);
    else this.readyState = 2;
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

const requests: { method: string; url: string; query: string; headers: Record<string, string>; credentials?: string }[] = [];
const ORIGIN = "https://acme.test";

function entry(description: string, end: string | null): Entry {
  return { id: "0190a000-0000-7000-8000-00000000000e", user_id: USER.id, description, start: "2025-06-02T12:00:00Z", end } as Entry;
}

async function fakeFetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  const url = new URL(String(input));
  const method = init.method ?? "GET";
  requests.push({ method, url: url.pathname, query: url.search, headers: { ...(init.headers as Record<string, string>) }, credentials: init.credentials });
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
  if (url.pathname === "/api/v1/workspace/sso") {
    if (method === "GET") return json(200, ssoFake.get());
    if (method === "DELETE") {
      ssoFake.unlink();
      return new Response(null, { status: 204 });
    }
    if (method === "PUT") {
      const r = ssoFake.set(JSON.parse(String(init.body)) as SsoSettingsUpdate);
      return r instanceof Refused ? json(422, { code: r.code, message: r.message }) : json(200, r);
    }
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
    case "GET /api/v1/workspace":
      return json(200, WORKSPACE);
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
      try {
        const answer = entryRoute(method, url, init);
        return answer === undefined ? json(404, { code: "not_found", message: "not found" }) : json(answer[0], answer[1]);
      } catch (e) {
        if (!(e instanceof Refused)) throw e;
        return json(e.code === "not_found" ? 404 : 403, { code: e.code, message: e.message });
      }
  }
}

/** The service's entry routes (`crates/server/src/api/entries.rs`). */
function entryRoute(method: string, url: URL, init: RequestInit): [number, unknown] | undefined {
  const dryRun = url.searchParams.get("dry_run") === "true";
  const body = () => JSON.parse(String(init.body));
  const one = /^\/api\/v1\/entries\/([^/]+)$/.exec(url.pathname);
  if (one && method === "PATCH") return [200, entryRules.edit(decodeURIComponent(one[1]), body() as EntryPatch, dryRun)];
  if (one && method === "DELETE") return [200, entryRules.delete(decodeURIComponent(one[1]), dryRun)];
  switch (`${method} ${url.pathname}`) {
    case "GET /api/v1/entries":
      return [200, { entries: world.entries }];
    case "POST /api/v1/entries": {
      const b = body();
      return [201, entryRules.add(b.id, b.description, b.start, b.end)];
    }
    case "GET /api/v1/approvals":
      return [200, { from: "2025-06-02T00:00:00Z", to: "2025-06-09T00:00:00Z", members: entryRules.approvals() }];
    case "POST /api/v1/approvals":
      return [200, entryRules.approve(body() as ApprovePeriod)];
    default:
      return undefined;
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

  it("lists the week's entries, edits with a dry run and adds time by hand (R39)", async () => {
    await door.signIn(ORIGIN, USER.email, PASSWORD);
    expect((await door.entriesForWeek("2025-06-04", "UTC")).map((e) => e.description)).toEqual(["Design review"]);
    const preview = await door.editEntry(ENTRY_ID, { description: " Planning ", confirm: false }, true);
    expect(preview).toMatchObject({ dry_run: true, excluded_screenshots: [], entry: { description: "Planning" } });
    expect((await door.entriesForWeek("2025-06-04", "UTC"))[0].description).toBe("Design review");
    const done = await door.editEntry(ENTRY_ID, { description: "Planning", confirm: false }, false);
    expect({ ...done, dry_run: true }).toEqual(preview);
    const added = await door.addEntry("Call", "2025-06-03T11:00:00Z", "2025-06-03T11:30:00Z");
    expect(added).toMatchObject({ description: "Call", manual: true, duration_secs: 1800 });
    expect((await door.entriesForWeek("2025-06-04", "UTC")).map((e) => [e.description, e.manual])).toEqual([
      ["Planning", false],
      ["Call", true],
    ]);
  });

  it("deletes an entry after a dry run that counts its screenshots", async () => {
    await door.signIn(ORIGIN, USER.email, PASSWORD);
    const preview = await door.deleteEntry(ENTRY_ID, true);
    expect(preview).toEqual({ entry_id: ENTRY_ID, description: "Design review", screenshots: 2, duration_secs: 3600, dry_run: true });
    expect(await door.entriesForWeek("2025-06-04", "UTC")).toHaveLength(1);
    expect(await door.deleteEntry(ENTRY_ID, false)).toEqual({ ...preview, dry_run: false });
    expect(await door.entriesForWeek("2025-06-04", "UTC")).toEqual([]);
    await expect(door.deleteEntry(ENTRY_ID, true)).rejects.toMatchObject({ kind: "refused", code: "not_found" });
  });

  it("lists approvals with screenshot counts, approves a week, and then refuses a member's change", async () => {
    await door.signIn(ORIGIN, USER.email, PASSWORD);
    const weeks = await door.approvals("2025-06-04", "UTC");
    expect(weeks).toHaveLength(1);
    expect(weeks[0].member.email).toBe(USER.email);
    expect(weeks[0].entries.map((e) => [e.id, e.screenshots, e.approved])).toEqual([[ENTRY_ID, 2, false]]);
    const report = await door.approvePeriod({ user_id: USER.id, date: "2025-06-04", time_zone: "UTC", period: "week", approved: true });
    expect(report.entries.map((e) => e.approved)).toEqual([true]);
    expect((await door.approvals("2025-06-04", "UTC"))[0].entries[0].approved).toBe(true);
    await expect(door.deleteEntry(ENTRY_ID, true)).rejects.toMatchObject({ kind: "refused", code: "entry_approved" });
    await expect(door.editEntry(ENTRY_ID, { description: "x", confirm: false }, true)).rejects.toMatchObject({
      kind: "refused",
      code: "entry_approved",
    });
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

  it("asks the service once for an entry's delete report and once for the week's approvals", async () => {
    world.reset();
    const { webDoor } = await import("./web");
    const door = webDoor({ origin: ORIGIN, fetch: fakeFetch as typeof fetch, eventSource: (u) => new FakeEventSource(u) as unknown as EventSource });
    await door.signIn(ORIGIN, USER.email, PASSWORD);
    requests.length = 0;
    await door.deleteEntry(ENTRY_ID, true);
    await door.approvals("2025-06-04", "Europe/Berlin");
    await door.deleteEntry(ENTRY_ID, false);
    expect(requests.map((r) => `${r.method} ${r.url}${r.query}`)).toEqual([
      `DELETE /api/v1/entries/${ENTRY_ID}?dry_run=true`,
      "GET /api/v1/approvals?day=2025-06-04&tz=Europe%2FBerlin",
      `DELETE /api/v1/entries/${ENTRY_ID}?dry_run=false`,
    ]);
  });

  it("makes time-ordered version-7 ids", async () => {
    const { uuidv7 } = await import("./web");
    const a = uuidv7(1_700_000_000_000);
    const b = uuidv7(1_700_000_000_001);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
  });
});

describe.each(transports)("live changes of the screenshots over %s", (_name, make) => {
  it("tells the views that a screenshot arrived and that a look was logged, as ids only", async () => {
    world.reset();
    const door = await make();
    // The app listens from the start, before anyone signed in.
    const events: AgentEvent[] = [];
    const stop = await door.onAgentEvent((e) => events.push(e));
    await door.signIn(ORIGIN, USER.email, PASSWORD);
    // What the service sends the owner: the engine forwards it to the desktop, the page hears it.
    const shot = { screenshot_id: VIEW.screenshot_id, entry_id: "0190a000-0000-7000-8000-00000000000e" };
    FakeEventSource.send("screenshot_added", { type: "screenshot_added", ...shot });
    emit("agent", { type: "screenshot_added" });
    FakeEventSource.send("access_logged", { type: "access_logged", screenshot_id: VIEW.screenshot_id, kind: "viewed" });
    emit("agent", { type: "access_logged" });
    expect(events).toEqual([{ type: "screenshot_added" }, { type: "access_logged" }]);
    stop();
    await door.signOut();
  });
});

describe("a web page whose stream lagged", () => {
  it("reads the timer and the settings again and tells every view to re-read", async () => {
    world.reset();
    const { webDoor } = await import("./web");
    const web = webDoor({ origin: ORIGIN, fetch: fakeFetch as typeof fetch, eventSource: (u) => new FakeEventSource(u) as unknown as EventSource });
    const events: AgentEvent[] = [];
    const stop = await web.onAgentEvent((e) => events.push(e));
    await web.signIn(ORIGIN, USER.email, PASSWORD);
    // The timer started where no event reached this page.
    world.running = { entry_id: "0190a000-0000-7000-8000-00000000000e", description: "Missed", start: "2025-06-02T12:00:00Z" };
    requests.length = 0;
    FakeEventSource.send("lagged", 3);
    await vi.waitFor(() => expect(events).toHaveLength(5));
    expect(events).toEqual([
      { type: "timer_changed", running: { entry_id: "0190a000-0000-7000-8000-00000000000e", description: "Missed", start: "2025-06-02T12:00:00Z" } },
      { type: "settings_changed", settings: WORKSPACE },
      { type: "entry_changed" },
      { type: "screenshot_added" },
      { type: "deleted" },
    ]);
    expect(requests.map((r) => `${r.method} ${r.url}`).sort()).toEqual(["GET /api/v1/timer", "GET /api/v1/workspace"]);
    stop();
    await web.signOut();
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

describe.each(transports)("single sign-on settings over %s (R31)", (_name, make) => {
  it("saves with a write-only secret, keeps it when left out, answers a refusal in words, and unlinks", async () => {
    world.reset();
    ssoFake.unlink();
    const door = await make();
    await door.signIn("https://acme.test", USER.email, PASSWORD);
    expect(await door.ssoSettings()).toMatchObject({ enabled: false, callback_url: `${ORIGIN}/api/v1/sso/callback` });
    const update: SsoSettingsUpdate = { issuer: "https://login.example.com", client_id: "shotclock", client_secret: "s3cret", allowed_domains: ["acme.test"], auto_join: true, password_sign_in: false };
    const saved = await door.setSsoSettings(update);
    expect(saved).toMatchObject({ enabled: true, client_secret_set: true, auto_join: true, password_sign_in: false });
    expect(JSON.stringify(saved)).not.toContain("s3cret");
    const { client_secret: _left, ...kept } = update;
    expect((await door.setSsoSettings({ ...kept, auto_join: false })).client_secret_set).toBe(true);
    await expect(door.setSsoSettings({ ...update, issuer: "https://unreachable.example" })).rejects.toMatchObject({
      kind: "invalid",
      message: "the provider's discovery document at https://unreachable.example could not be read",
    });
    expect((await door.ssoSettings()).issuer).toBe("https://login.example.com");
    await door.unlinkSso();
    expect((await door.ssoSettings()).enabled).toBe(false);
  });
});
