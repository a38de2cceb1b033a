/**
 * Today's entries as the Timer view shows them (R28): the running entry's live duration, the
 * running timer merged in before the next fetch arrives, newest first, and the day's total.
 */
import type { Entry, RunningTimer } from "./api";

/** Seconds an entry counts: its stored duration, or for a running entry the time so far minus removed time. */
export function liveSeconds(entry: Entry, nowMs: number): number {
  if (entry.end !== null) return Math.max(0, Math.floor(entry.duration_secs));
  const elapsed = Math.floor((nowMs - Date.parse(entry.start)) / 1000);
  return Math.max(0, elapsed - entry.deducted_secs);
}

/** Seconds since the running timer started (never negative, even with a skewed clock). */
export function elapsedSeconds(running: RunningTimer, nowMs: number): number {
  return Math.max(0, Math.floor((nowMs - Date.parse(running.start)) / 1000));
}

/**
 * The fetched entries as they stand on this device. The service learns of timer changes through
 * the outbox, so a fetch may lag: a timer started a moment ago is added, and an entry the service
 * still shows open although it was stopped here (`stoppedAt`, ms) is shown stopped at that time.
 */
export function withRunning(
  entries: readonly Entry[],
  running: RunningTimer | null,
  userId: string,
  stoppedAt: Readonly<Record<string, number>> = {},
): Entry[] {
  const list = entries.map((e) => {
    const at = stoppedAt[e.id];
    if (e.end !== null || running?.entry_id === e.id || at === undefined) return e;
    const start = Date.parse(e.start);
    const endMs = Math.max(at, start);
    const secs = Math.max(0, Math.floor((endMs - start) / 1000) - e.deducted_secs);
    return { ...e, end: new Date(endMs).toISOString(), duration_secs: secs };
  });
  if (running && !list.some((e) => e.id === running.entry_id)) {
    list.push({
      id: running.entry_id,
      user_id: userId,
      description: running.description,
      start: running.start,
      end: null,
      removed: [],
      deducted_secs: 0,
      duration_secs: 0,
      approved: false,
      locked: false,
      manual: false,
    });
  }
  return list;
}

/** Newest first (by start). */
export function newestFirst(entries: readonly Entry[]): Entry[] {
  return [...entries].sort((a, b) => Date.parse(b.start) - Date.parse(a.start));
}

/** The day's total: every entry's duration, the running one counted up to now. */
export function dayTotal(entries: readonly Entry[], nowMs: number): number {
  return entries.reduce((sum, e) => sum + liveSeconds(e, nowMs), 0);
}

/**
 * The seconds a list shows for an entry: a running entry in whole minutes, so that while a
 * timer runs only the big clock changes every second (each change is a repaint).
 */
export function shownSeconds(entry: Entry, nowMs: number): number {
  const s = liveSeconds(entry, nowMs);
  return entry.end === null ? s - (s % 60) : s;
}

/** The day's total as shown: to the second when nothing runs, in whole minutes while something does. */
export function shownTotal(entries: readonly Entry[], nowMs: number): number {
  const total = dayTotal(entries, nowMs);
  return entries.some((e) => e.end === null) ? total - (total % 60) : total;
}
