/**
 * The Timer view's week (R28, R39): ISO weeks (Monday to Sunday) in the viewer's time zone, the
 * days of a week with their entries and totals — today first, the running entry on top — and
 * moving between weeks (never past the current one).
 */
import type { Entry } from "./bindings/api";
import { addDays, dayOf, startOfDay } from "./days";
import { liveSeconds } from "./entries";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** The Monday (`YYYY-MM-DD`) of the ISO week holding `day`. */
export function mondayOf(day: string): string {
  const [y, m, d] = day.split("-").map(Number);
  const weekday = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return addDays(day, -((weekday + 6) % 7));
}

/** `[start, end)` of the week holding `day` in `timeZone`, as UTC instants. */
export function weekBounds(day: string, timeZone: string): { start: Date; end: Date } {
  const monday = mondayOf(day);
  return { start: startOfDay(monday, timeZone), end: startOfDay(addDays(monday, 7), timeZone) };
}

/** Whether `›` may move to the week after the one starting `monday` (never past this week). */
export function canGoForwardWeek(monday: string, today: string): boolean {
  return monday < mondayOf(today);
}

/** The Monday of the week `step` weeks from the one holding `day`, never past this week. */
export function stepWeek(day: string, step: number, today: string): string {
  const next = addDays(mondayOf(day), 7 * step);
  const current = mondayOf(today);
  return next > current ? current : next;
}

/** "This week", "Last week", or "16 – 22 Nov" (months and years named where they differ). */
export function weekLabel(monday: string, today: string): string {
  const current = mondayOf(today);
  if (monday === current) return "This week";
  if (monday === addDays(current, -7)) return "Last week";
  const sunday = addDays(monday, 6);
  const [y1, m1, d1] = monday.split("-").map(Number);
  const [y2, m2, d2] = sunday.split("-").map(Number);
  const year = y2 === Number(today.slice(0, 4)) ? "" : ` ${y2}`;
  const first = m1 === m2 ? `${d1}` : `${d1} ${MONTHS[m1 - 1]}${y1 === y2 ? "" : ` ${y1}`}`;
  return `${first} – ${d2} ${MONTHS[m2 - 1]}${year}`;
}

/** One day of the week as listed: its entries (running first, then newest first) and total. */
export interface WeekDay {
  day: string;
  entries: Entry[];
  /** Seconds, the running entry counted up to now. */
  total: number;
}

/**
 * The days of the week starting `monday` that have entries, newest first (so today leads the
 * current week, and is listed even while empty). An entry belongs to the day it starts on.
 */
export function weekDays(
  entries: readonly Entry[],
  monday: string,
  today: string,
  timeZone: string,
  nowMs: number,
): WeekDay[] {
  const byDay = new Map<string, Entry[]>();
  for (const e of entries) {
    const day = dayOf(new Date(e.start), timeZone);
    byDay.set(day, [...(byDay.get(day) ?? []), e]);
  }
  const out: WeekDay[] = [];
  for (let i = 6; i >= 0; i--) {
    const day = addDays(monday, i);
    const list = byDay.get(day) ?? [];
    if (list.length === 0 && day !== today) continue;
    const sorted = [...list].sort((a, b) => {
      if ((a.end === null) !== (b.end === null)) return a.end === null ? -1 : 1;
      return Date.parse(b.start) - Date.parse(a.start);
    });
    out.push({ day, entries: sorted, total: sorted.reduce((sum, e) => sum + liveSeconds(e, nowMs), 0) });
  }
  return out;
}

/** The week's total, in seconds. */
export function weekTotal(days: readonly WeekDay[]): number {
  return days.reduce((sum, d) => sum + d.total, 0);
}
