/**
 * Browser notifications of the web app (R6): while a tab is open, a workspace notification that
 * arrives live (capture turned on, …) also raises the browser's `Notification`, if the user
 * allowed it. Permission is asked only from a user gesture (the button in the notification
 * list), never on load. The desktop app does not use this: its shell shows OS notifications
 * itself ({@link Door.osNotifies}).
 *
 * Each notification is raised once per page (the stream may repeat it after a reconnect), with
 * its id as the tag, so two open tabs of the same browser show it once.
 */
import type { Door, Notification } from "./api";

/** The browser's permission, or `unsupported` where the page has no Notification API. */
export type NoticePermission = "unsupported" | "default" | "granted" | "denied";

/** The part of the browser's Notification API used here (tests pass their own). */
export interface NoticeApi {
  readonly permission: NotificationPermission;
  requestPermission(): Promise<NotificationPermission>;
  new (title: string, options?: NotificationOptions): unknown;
}

/** The page's Notification API, read at each call (so a test can wrap it), if any. */
export function pageNotices(): NoticeApi | undefined {
  const n = (globalThis as { Notification?: unknown }).Notification;
  return typeof n === "function" ? (n as NoticeApi) : undefined;
}

export function permissionOf(api: NoticeApi | undefined): NoticePermission {
  if (!api) return "unsupported";
  const p = api.permission;
  return p === "granted" || p === "denied" ? p : "default";
}

/** Whether this door leaves notifications to the page (the web app). */
export function pageNotifies(door: Pick<Door, "osNotifies">): boolean {
  return !door.osNotifies;
}

/** What the notification list says about browser notifications, and whether it offers the button. */
export function offerFor(p: NoticePermission): { text: string; ask: boolean } {
  switch (p) {
    case "default":
      return { text: "Get a browser notification too while this tab is open.", ask: true };
    case "granted":
      return { text: "Browser notifications are on while this tab is open.", ask: false };
    case "denied":
      return { text: "Browser notifications are blocked for this site; allow them in the browser's site settings.", ask: false };
    case "unsupported":
      return { text: "This browser cannot show notifications.", ask: false };
  }
}

/** Asks the browser (call from a click); the permission afterwards. */
export async function askPermission(api: NoticeApi | undefined): Promise<NoticePermission> {
  if (!api) return "unsupported";
  try {
    await api.requestPermission();
  } catch {
    // Older browsers take a callback instead; the permission below says what came of it.
  }
  return permissionOf(api);
}

/** The browser notification for a workspace notification: the app's name and the message. */
export function noticeOf(n: Notification): { title: string; options: NotificationOptions } {
  return { title: "Shotclock", options: { body: n.message, tag: n.id } };
}

/**
 * A function that raises `n` as a browser notification when allowed, once per id; it answers
 * whether it raised one. Read notifications are never raised.
 */
export function browserNotifier(api: () => NoticeApi | undefined = pageNotices): (n: Notification) => boolean {
  const raised = new Set<string>();
  return (n) => {
    const notices = api();
    if (n.read || raised.has(n.id) || permissionOf(notices) !== "granted" || !notices) return false;
    const { title, options } = noticeOf(n);
    try {
      new notices(title, options);
    } catch {
      // Some browsers allow notifications only from a service worker: the banner still shows.
      return false;
    }
    raised.add(n.id);
    return true;
  };
}
