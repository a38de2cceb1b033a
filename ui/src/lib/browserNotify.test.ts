import { describe, expect, it } from "vitest";
import type { Notification } from "./api";
import { askPermission, browserNotifier, noticeOf, offerFor, pageNotifies, permissionOf, type NoticeApi } from "./browserNotify";

function note(id: string, read = false): Notification {
  return { id, kind: "screenshots_enabled", message: `Screenshots are now on (${id})`, created_at: "2026-11-25T09:00:00Z", read };
}

/** A browser Notification API that records what it was asked to show. */
function fakeBrowser(permission: NotificationPermission, answer: NotificationPermission = permission) {
  const shown: { title: string; options?: NotificationOptions }[] = [];
  let asked = 0;
  const api = class {
    static permission: NotificationPermission = permission;
    static async requestPermission() {
      asked += 1;
      api.permission = answer;
      return answer;
    }
    constructor(title: string, options?: NotificationOptions) {
      shown.push({ title, options });
    }
  };
  return { api: api as unknown as NoticeApi, shown, asked: () => asked };
}

describe("browser notifications (R6, web app)", () => {
  it("reads every permission state, and no API as unsupported", () => {
    expect(permissionOf(undefined)).toBe("unsupported");
    expect(permissionOf(fakeBrowser("default").api)).toBe("default");
    expect(permissionOf(fakeBrowser("granted").api)).toBe("granted");
    expect(permissionOf(fakeBrowser("denied").api)).toBe("denied");
  });

  it("offers the button only while the browser can still ask", () => {
    expect(offerFor("default").ask).toBe(true);
    for (const p of ["granted", "denied", "unsupported"] as const) expect(offerFor(p).ask).toBe(false);
    expect(offerFor("denied").text).toContain("blocked");
    expect(offerFor("granted").text).toContain("on while this tab is open");
  });

  it("asks only when told to, and answers the permission afterwards", async () => {
    const b = fakeBrowser("default", "granted");
    expect(b.asked()).toBe(0);
    expect(await askPermission(b.api)).toBe("granted");
    expect(b.asked()).toBe(1);
    expect(await askPermission(fakeBrowser("default", "denied").api)).toBe("denied");
    expect(await askPermission(undefined)).toBe("unsupported");
  });

  it("raises the workspace's message under the app's name, once per notification", () => {
    const b = fakeBrowser("granted");
    const raise = browserNotifier(() => b.api);
    expect(raise(note("a"))).toBe(true);
    expect(raise(note("a"))).toBe(false);
    expect(raise(note("b", true))).toBe(false);
    expect(b.shown).toEqual([{ title: "Shotclock", options: { body: "Screenshots are now on (a)", tag: "a" } }]);
    expect(noticeOf(note("c")).options.body).toBe("Screenshots are now on (c)");
  });

  it("raises nothing unless allowed, and raises once allowed later", async () => {
    const b = fakeBrowser("default", "granted");
    const raise = browserNotifier(() => b.api);
    expect(raise(note("a"))).toBe(false);
    expect(raise(note("a"))).toBe(false);
    expect(b.shown).toEqual([]);
    await askPermission(b.api);
    expect(raise(note("a"))).toBe(true);
    const denied = fakeBrowser("denied");
    expect(browserNotifier(() => denied.api)(note("x"))).toBe(false);
    expect(browserNotifier(() => undefined)(note("x"))).toBe(false);
  });

  it("is the page's job only where the shell does not notify itself", () => {
    expect(pageNotifies({ osNotifies: false })).toBe(true);
    expect(pageNotifies({ osNotifies: true })).toBe(false);
  });
});
