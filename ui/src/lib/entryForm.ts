/**
 * The entry editor and "Add time" (R39): the form's times as the wall clock of the viewer's zone
 * ("9:30", "09:30:15"), checked before anything is sent — the service applies the same rules
 * again — and the patch that names only what changed. An end earlier than the start means the
 * entry ended the next day (it crossed midnight).
 */
import type { Entry, EntryPatch } from "./bindings/api";
import { addDays, dayOf, localInstant } from "./days";
import { timeOfDay } from "./format";

/** The longest description, as the service's limit. */
export const DESCRIPTION_CHARS = 2000;

/** What the user typed. */
export interface EntryForm {
  description: string;
  /** `YYYY-MM-DD`: the day the entry starts. */
  day: string;
  /** Wall-clock start. */
  start: string;
  /** Wall-clock end; empty for a running entry. */
  end: string;
}

/** The form, checked: instants, or why not. */
export type FormCheck =
  | { ok: true; description: string; start: Date; end: Date | null }
  | { ok: false; error: string };

/** Seconds after midnight of "H:MM", "HH:MM" or "HH:MM:SS" (24-hour), or null. */
export function parseTime(text: string): number | null {
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text.trim());
  if (!m) return null;
  const [h, min, s] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  if (h > 23 || min > 59 || s > 59) return null;
  return h * 3600 + min * 60 + s;
}

/** Whether `day` is a real `YYYY-MM-DD` date. */
export function isDay(day: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return false;
  return addDays(day, 0) === day;
}

/** The form of an existing entry, in `timeZone` (seconds shown: captures are seconds apart). */
export function formOf(entry: Entry, timeZone: string): EntryForm {
  return {
    description: entry.description,
    day: dayOf(new Date(entry.start), timeZone),
    start: timeOfDay(entry.start, timeZone, true),
    end: entry.end === null ? "" : timeOfDay(entry.end, timeZone, true),
  };
}

/** Whether two forms name the same day, start and end (however the times are typed). */
function sameTimes(a: EntryForm, b: EntryForm): boolean {
  return a.day === b.day && parseTime(a.start) === parseTime(b.start) && parseTime(a.end) === parseTime(b.end);
}

/**
 * Checks a form; `running`: the entry has no end (its end cannot be set). `shown`: for an edit,
 * the entry as the form first showed it: times left as shown are the entry's own and are not
 * judged again (a timer stopped in the second it started, or started by a device clock a little
 * ahead, was stored with them), as the service does.
 */
export function checkForm(form: EntryForm, timeZone: string, nowMs: number, running = false, shown?: EntryForm): FormCheck {
  const description = form.description.trim();
  if (description.length > DESCRIPTION_CHARS) {
    return { ok: false, error: `The description is longer than ${DESCRIPTION_CHARS} characters.` };
  }
  if (!isDay(form.day)) return { ok: false, error: "The day must be a date like 2026-11-25." };
  const startSecs = parseTime(form.start);
  if (startSecs === null) return { ok: false, error: "The start must be a time like 9:30 or 09:30:15." };
  const start = localInstant(form.day, startSecs, timeZone);
  const kept = shown !== undefined && sameTimes(form, shown);
  let end: Date | null = null;
  if (running) {
    if (form.end.trim() !== "") return { ok: false, error: "A running entry has no end: stop the timer instead." };
  } else {
    const endSecs = parseTime(form.end);
    if (endSecs === null) return { ok: false, error: "The end must be a time like 17:00 or 17:00:30." };
    if (endSecs === startSecs && !kept) return { ok: false, error: "The end must come after the start." };
    const endDay = endSecs < startSecs ? addDays(form.day, 1) : form.day;
    end = localInstant(endDay, endSecs, timeZone);
  }
  if (!kept && (start.getTime() > nowMs || (end !== null && end.getTime() > nowMs))) {
    return { ok: false, error: "An entry cannot start or end in the future." };
  }
  return { ok: true, description, start, end };
}

/** Whether a form's instant differs from the entry's `stored` one as the form shows it: to the second. */
function moved(checked: Date, stored: string): boolean {
  return checked.getTime() !== Math.floor(Date.parse(stored) / 1000) * 1000;
}

/**
 * The patch of `entry` to what the checked form says: only the fields that changed. A time left
 * as shown keeps the entry's own instant, milliseconds and all: renaming a timer's entry must not
 * move it a fraction of a second (onto the entry before it, or off its last screenshot).
 */
export function patchFor(entry: Entry, checked: Extract<FormCheck, { ok: true }>, confirm = false): EntryPatch {
  const patch: EntryPatch = { confirm };
  if (checked.description !== entry.description) patch.description = checked.description;
  if (moved(checked.start, entry.start)) patch.start = checked.start.toISOString();
  if (checked.end !== null && (entry.end === null || moved(checked.end, entry.end))) {
    patch.end = checked.end.toISOString();
  }
  return patch;
}

/** Whether a patch changes anything. */
export function changes(patch: EntryPatch): boolean {
  return patch.description !== undefined || patch.start !== undefined || patch.end !== undefined;
}
