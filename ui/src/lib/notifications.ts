/** Workspace notifications (R6): which one the banner shows, and keeping the unread list. */
import type { Notification } from "./api";

/** Unread notifications, newest first. */
export function unread(list: readonly Notification[]): Notification[] {
  return list
    .filter((n) => !n.read)
    .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
}

/** The banner shows the newest unread notification, if any. */
export function bannerFor(list: readonly Notification[]): Notification | null {
  return unread(list)[0] ?? null;
}

/** Adds a notification that arrived live (replacing one with the same id). */
export function addNotification(list: readonly Notification[], n: Notification): Notification[] {
  return [...list.filter((x) => x.id !== n.id), n];
}

/** Marks `id` read (it leaves the banner and the unread list). */
export function markedRead(list: readonly Notification[], id: string): Notification[] {
  return list.map((n) => (n.id === id ? { ...n, read: true } : n));
}
