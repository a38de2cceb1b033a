import { describe, expect, it } from "vitest";
import type { Notification } from "./api";
import { addNotification, bannerFor, markedRead, unread } from "./notifications";

function n(id: string, created_at: string, read = false): Notification {
  return { id, kind: "capture_enabled", message: `message ${id}`, created_at, read };
}

describe("notification banner (R6)", () => {
  const list = [
    n("a", "2026-11-25T09:00:00Z"),
    n("b", "2026-11-25T11:00:00Z", true),
    n("c", "2026-11-25T10:00:00Z"),
  ];
  it("shows the newest unread notification", () => {
    expect(bannerFor(list)?.id).toBe("c");
  });
  it("shows nothing when all are read", () => {
    expect(bannerFor([n("x", "2026-11-25T09:00:00Z", true)])).toBeNull();
    expect(bannerFor([])).toBeNull();
  });
  it("moves on to the next unread one once dismissed", () => {
    expect(bannerFor(markedRead(list, "c"))?.id).toBe("a");
    expect(bannerFor(markedRead(markedRead(list, "c"), "a"))).toBeNull();
  });
  it("lists unread newest first", () => {
    expect(unread(list).map((x) => x.id)).toEqual(["c", "a"]);
  });
  it("takes a live notification without duplicating it", () => {
    const live = n("d", "2026-11-25T12:00:00Z");
    const after = addNotification(addNotification(list, live), live);
    expect(after).toHaveLength(4);
    expect(bannerFor(after)?.id).toBe("d");
  });
});
