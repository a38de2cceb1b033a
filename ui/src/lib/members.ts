/**
 * The Members view's logic (R38): the rows it lists (members, then pending invitations), what
 * each viewer may do to each row, and the words for presence and for a refused sign-up link.
 * The service decides; this only keeps the view from offering what it would refuse.
 */
import type { CommandError, Invitation, Member, Presence, Role } from "./api";
import { isAdmin } from "./api";

export type RowStatus = "active" | "deactivated" | "invited" | "expired";

export type Row =
  | { kind: "member"; id: string; name: string; email: string; role: Role; status: RowStatus; member: Member }
  | { kind: "invitation"; id: string; name: string; email: string; role: Role; status: RowStatus; invitation: Invitation };

const ROLE_ORDER: Record<Role, number> = { owner: 0, admin: 1, member: 2 };

/** Members (owner first, then admins, then members, each by name; deactivated last), then invitations. */
export function rows(members: Member[], invitations: Invitation[]): Row[] {
  const people = [...members]
    .sort(
      (a, b) =>
        Number(!a.active) - Number(!b.active) ||
        ROLE_ORDER[a.role] - ROLE_ORDER[b.role] ||
        (a.name || a.email).localeCompare(b.name || b.email),
    )
    .map(
      (m): Row => ({
        kind: "member",
        id: m.id,
        name: m.name.trim() || m.email,
        email: m.email,
        role: m.role,
        status: m.active ? "active" : "deactivated",
        member: m,
      }),
    );
  const pending = invitations.map(
    (i): Row => ({
      kind: "invitation",
      id: i.id,
      name: i.email,
      email: i.email,
      role: i.role,
      status: i.expired ? "expired" : "invited",
      invitation: i,
    }),
  );
  return [...people, ...pending];
}

export function statusLabel(status: RowStatus): string {
  switch (status) {
    case "active":
      return "Active";
    case "deactivated":
      return "Deactivated";
    case "invited":
      return "Invited";
    case "expired":
      return "Invitation expired";
  }
}

/** The controls a viewer gets on a row. */
export interface Controls {
  changeRole: boolean;
  deactivate: boolean;
  reactivate: boolean;
  remove: boolean;
  revoke: boolean;
}

const NONE: Controls = { changeRole: false, deactivate: false, reactivate: false, remove: false, revoke: false };

/**
 * What `viewer` may do to `row`: nothing unless an admin; nothing to the owner; an admin may
 * step down but not deactivate or remove themselves here.
 */
export function controlsFor(viewer: { id: string; role: Role }, row: Row): Controls {
  if (!isAdmin(viewer.role)) return NONE;
  if (row.kind === "invitation") return { ...NONE, revoke: true };
  const m = row.member;
  if (m.role === "owner") return NONE;
  const self = m.id === viewer.id;
  return {
    changeRole: m.active,
    deactivate: m.active && !self,
    reactivate: !m.active,
    remove: !self,
    revoke: false,
  };
}

/** "3 min ago", "2 h ago", "4 days ago" (never in the future). */
export function ago(instant: string, now: Date): string {
  const secs = Math.max(0, Math.round((now.getTime() - new Date(instant).getTime()) / 1000));
  if (secs < 60) return "just now";
  const mins = Math.floor(secs / 60);
  if (mins < 60) return `${mins} min ago`;
  const hours = Math.floor(mins / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

/** Presence in words: whether the recording app is connected, with capture on or off, else when it was last seen. */
export function presenceText(p: Presence | null | undefined, now: Date): string {
  if (!p) return "";
  if (p.connected) return `App connected · capture ${p.capture ? "on" : "off"}`;
  if (p.last_seen) return `App last seen ${ago(p.last_seen, now)}`;
  return "App not connected";
}

/** A refused sign-up link (or its form) in plain words. */
export function acceptErrorText(e: CommandError): string {
  switch (e.code) {
    case "invitation_used":
      return "This invitation link has already been used. Sign in instead, or ask an admin for a new link.";
    case "invitation_expired":
      return "This invitation link has expired. Ask an admin for a new one.";
    case "not_found":
      return "This invitation link does not work: it was withdrawn or mistyped. Ask an admin for a new one.";
    case "conflict":
      return "This email is a member already. Sign in instead.";
    case "too_many_requests":
      return "Too many attempts. Wait a minute and try again.";
    default:
      return e.message;
  }
}

/** The secret of a sign-up link from the page's fragment (`#<secret>`), or null. */
export function tokenFromHash(hash: string): string | null {
  const token = hash.replace(/^#/, "").trim();
  return /^[0-9a-f]{16,128}$/i.test(token) ? token : null;
}

/** Whether a path is the sign-up page (`/invite/`, the service's link). */
export function isInvitePath(pathname: string): boolean {
  return /^\/invite\/?$/.test(pathname);
}
