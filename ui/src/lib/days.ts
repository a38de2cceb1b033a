/**
 * Days in the viewer's time zone (R17): which calendar day an instant falls on, the UTC bounds of
 * a day (23 or 25 hours long across DST changes), and how far back the day picker may go.
 */
import { dateTimeFormat } from "./intl";

/** Screenshots are kept 7 days (R18): the picker spans today and the 7 days before it. */
export const DAYS_BACK = 7;

/** `YYYY-MM-DD` of `instant` in `timeZone`. */
export function dayOf(instant: Date, timeZone: string): string {
  const parts = dateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(instant);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/** Adds `n` calendar days to a `YYYY-MM-DD` date. */
export function addDays(day: string, n: number): string {
  const [y, m, d] = day.split("-").map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return t.toISOString().slice(0, 10);
}

/** Offset of `timeZone` from UTC at `instant`, in minutes (e.g. +60 for Paris in winter). */
function offsetMinutes(instant: Date, timeZone: string): number {
  const parts = dateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  }).formatToParts(instant);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return Math.round((asUtc - Math.floor(instant.getTime() / 1000) * 1000) / 60000);
}

/** The instant local midnight starts `day` in `timeZone`. */
export function startOfDay(day: string, timeZone: string): Date {
  return localInstant(day, 0, timeZone);
}

/** The instant the wall clock of `timeZone` shows `seconds` after midnight on `day`. */
export function localInstant(day: string, seconds: number, timeZone: string): Date {
  const [y, m, d] = day.split("-").map(Number);
  const guess = Date.UTC(y, m - 1, d) + seconds * 1000;
  // Two passes settle the offset even when the time is near a DST change.
  let t = guess - offsetMinutes(new Date(guess), timeZone) * 60000;
  t = guess - offsetMinutes(new Date(t), timeZone) * 60000;
  return new Date(t);
}

/** `[start, end)` of `day` in `timeZone`, as UTC instants. */
export function dayBounds(day: string, timeZone: string): { start: Date; end: Date } {
  return { start: startOfDay(day, timeZone), end: startOfDay(addDays(day, 1), timeZone) };
}

/** Whether `<` may move to the day before `day`, given today's date. */
export function canGoBack(day: string, today: string): boolean {
  return day > addDays(today, -DAYS_BACK);
}

/** Whether `>` may move to the day after `day` (never past today). */
export function canGoForward(day: string, today: string): boolean {
  return day < today;
}

/** Moves `day` by `step` (−1 or +1), clamped to the allowed range. */
export function stepDay(day: string, step: number, today: string): string {
  const next = addDays(day, step);
  const oldest = addDays(today, -DAYS_BACK);
  if (next < oldest) return oldest;
  if (next > today) return today;
  return next;
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "Today", "Yesterday", or "Mon 23 Nov" (with the year when it is not today's year). */
export function dayLabel(day: string, today: string): string {
  if (day === today) return "Today";
  if (day === addDays(today, -1)) return "Yesterday";
  const [y, m, d] = day.split("-").map(Number);
  const weekday = WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()];
  const text = `${weekday} ${d} ${MONTHS[m - 1]}`;
  return day.slice(0, 4) === today.slice(0, 4) ? text : `${text} ${y}`;
}
