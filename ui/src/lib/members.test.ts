import { describe, expect, it } from "vitest";
import type { Invitation, Member } from "./api";
import { acceptErrorText, ago, controlsFor, isInvitePath, presenceText, rows, statusLabel, tokenFromHash } from "./members";

const WS = "0190a000-0000-7000-8000-000000000002";
function member(id: string, name: string, role: Member["role"], active = true): Member {
  return { id, workspace_id: WS, email: `${name.toLowerCase()}@acme.test`, name, role, active, created_at: "2025-06-02T08:00:00Z" };
}
const owner = member("o", "Olga", "owner");
const admin = member("a", "Adam", "admin");
const alice = member("m1", "Alice", "member");
const bob = member("m2", "Bob", "member", false);
const invitation: Invitation = {
  id: "i1",
  email: "carol@acme.test",
  role: "member",
  created_at: "2025-06-02T08:00:00Z",
  expires_at: "2025-06-09T08:00:00Z",
  expired: false,
};

describe("member rows (R38)", () => {
  it("lists the owner, admins, members by name, deactivated last, then invitations", () => {
    const listed = rows([bob, alice, admin, owner], [invitation, { ...invitation, id: "i2", email: "old@acme.test", expired: true }]);
    expect(listed.map((r) => [r.name, r.status])).toEqual([
      ["Olga", "active"],
      ["Adam", "active"],
      ["Alice", "active"],
      ["Bob", "deactivated"],
      ["carol@acme.test", "invited"],
      ["old@acme.test", "expired"],
    ]);
    expect(statusLabel("invited")).toBe("Invited");
    expect(statusLabel("deactivated")).toBe("Deactivated");
  });

  it("gives members no controls, and nobody controls over the owner", () => {
    const listed = rows([owner, admin, alice, bob], [invitation]);
    for (const row of listed) {
      expect(Object.values(controlsFor(alice, row)).some(Boolean)).toBe(false);
    }
    const ownerRow = listed[0];
    expect(Object.values(controlsFor(owner, ownerRow)).some(Boolean)).toBe(false);
    expect(Object.values(controlsFor(admin, ownerRow)).some(Boolean)).toBe(false);
  });

  it("lets admins change, deactivate, reactivate, remove and withdraw, but not deactivate or remove themselves", () => {
    const [, adminRow, aliceRow, bobRow, invitationRow] = rows([owner, admin, alice, bob], [invitation]);
    expect(controlsFor(admin, aliceRow)).toEqual({ changeRole: true, deactivate: true, reactivate: false, remove: true, revoke: false });
    expect(controlsFor(owner, bobRow)).toEqual({ changeRole: false, deactivate: false, reactivate: true, remove: true, revoke: false });
    expect(controlsFor(admin, adminRow)).toEqual({ changeRole: true, deactivate: false, reactivate: false, remove: false, revoke: false });
    expect(controlsFor(admin, invitationRow)).toEqual({ changeRole: false, deactivate: false, reactivate: false, remove: false, revoke: true });
  });
});

describe("presence in words (R38)", () => {
  const now = new Date("2025-06-02T12:00:00Z");
  it("says connected with capture on or off, else when last seen", () => {
    expect(presenceText({ connected: true, capture: true, last_seen: now.toISOString() }, now)).toBe("App connected · capture on");
    expect(presenceText({ connected: true, capture: false }, now)).toBe("App connected · capture off");
    expect(presenceText({ connected: false, capture: false, last_seen: "2025-06-02T11:55:00Z" }, now)).toBe("App last seen 5 min ago");
    expect(presenceText({ connected: false, capture: false }, now)).toBe("App not connected");
    expect(presenceText(undefined, now)).toBe("");
  });
  it("rounds the time since", () => {
    expect(ago("2025-06-02T11:59:30Z", now)).toBe("just now");
    expect(ago("2025-06-02T09:00:00Z", now)).toBe("3 h ago");
    expect(ago("2025-05-29T12:00:00Z", now)).toBe("4 days ago");
    expect(ago("2025-06-02T12:05:00Z", now)).toBe("just now");
  });
});

describe("the sign-up link (R38)", () => {
  it("reads the secret from the fragment only", () => {
    const secret = "a".repeat(64);
    expect(tokenFromHash(`#${secret}`)).toBe(secret);
    expect(tokenFromHash("")).toBeNull();
    expect(tokenFromHash("#/timer")).toBeNull();
    expect(isInvitePath("/invite/")).toBe(true);
    expect(isInvitePath("/invite")).toBe(true);
    expect(isInvitePath("/")).toBe(false);
    expect(isInvitePath("/invite/x")).toBe(false);
  });
  it("words used, withdrawn and expired links plainly", () => {
    expect(acceptErrorText({ kind: "refused", message: "x", code: "invitation_used" })).toMatch(/already been used/);
    expect(acceptErrorText({ kind: "refused", message: "x", code: "invitation_expired" })).toMatch(/expired/);
    expect(acceptErrorText({ kind: "refused", message: "x", code: "not_found" })).toMatch(/does not work/);
    expect(acceptErrorText({ kind: "invalid", message: "password too weak", code: "validation" })).toBe("password too weak");
  });
});
