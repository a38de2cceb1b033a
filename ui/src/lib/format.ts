/** Small formatting helpers for people: clock times in the viewer's zone, role names. */
import type { Role } from "./api";
import { dateTimeFormat } from "./intl";

/** The viewer's IANA time zone (falls back to UTC when the runtime does not say). */
export function viewerTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** "10:05" (or "10:05:12" with `seconds`) of `instant` in `timeZone`, always 24-hour. */
export function timeOfDay(instant: string | Date, timeZone: string, seconds = false): string {
  const d = typeof instant === "string" ? new Date(instant) : instant;
  return dateTimeFormat("en-GB", {
    timeZone,
    hourCycle: "h23",
    hour: "2-digit",
    minute: "2-digit",
    second: seconds ? "2-digit" : undefined,
  }).format(d);
}

/** "Owner", "Admin", "Member". */
export function roleLabel(role: Role): string {
  return role.charAt(0).toUpperCase() + role.slice(1);
}

/** First letter upper-cased ("no timer is running" → "No timer is running"). */
export function sentenceCase(text: string): string {
  const t = text.trim();
  return t ? t.charAt(0).toUpperCase() + t.slice(1) : t;
}

/** Up to two initials for an avatar: "Ada Lovelace" → "AL", "bob@x.io" → "B". */
export function initials(name: string, email: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length >= 2) return (words[0][0] + words[words.length - 1][0]).toUpperCase();
  if (words.length === 1) return words[0][0].toUpperCase();
  return (email.trim()[0] ?? "?").toUpperCase();
}
