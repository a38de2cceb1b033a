/**
 * Workspace settings as people read them (R4, R5, R14): plan name, trial days left, whether
 * screenshots are being taken and why not, and the lock date as a calendar day.
 */
import type { Plan, WorkspaceSettings } from "./api";
import { dayOf, startOfDay } from "./days";

const DAY_MS = 86_400_000;
export const TRIAL_DAYS = 7;

/** "Free", "Enterprise". */
export function planLabel(plan: Plan): string {
  return plan === "enterprise" ? "Enterprise" : "Free";
}

/**
 * Whole days of trial left at `nowMs`, rounded up (a trial ending in an hour has 1 day left, an
 * ended one 0), never more than 7; `null` when no trial was started.
 */
export function trialDaysLeft(trialEndsAt: string | null, nowMs: number): number | null {
  if (!trialEndsAt) return null;
  const left = Date.parse(trialEndsAt) - nowMs;
  if (Number.isNaN(left)) return null;
  if (left <= 0) return 0;
  return Math.min(TRIAL_DAYS, Math.ceil(left / DAY_MS));
}

/** "5 days left in the free trial", "1 day left…", "The free trial has ended". */
export function trialText(daysLeft: number): string {
  if (daysLeft <= 0) return "The free trial has ended";
  return `${daysLeft} ${daysLeft === 1 ? "day" : "days"} left in the free trial`;
}

/** Whether the plan or a running trial allows screenshots at all (the admin's switch aside). */
export function featureAvailable(s: WorkspaceSettings, nowMs: number): boolean {
  if (s.plan === "enterprise") return true;
  const left = trialDaysLeft(s.trial_ends_at, nowMs);
  return left !== null && left > 0;
}

/** One sentence on whether screenshots are taken in this workspace, and if not why. */
export function captureSummary(s: WorkspaceSettings, nowMs: number): string {
  if (s.capture_allowed) return "Screenshots are taken while a timer runs.";
  if (!featureAvailable(s, nowMs)) {
    return s.trial_ends_at
      ? "Screenshots are off: the free trial has ended. They need the Enterprise plan."
      : "Screenshots are off: they need the Enterprise plan or the free trial.";
  }
  if (!s.screenshots_enabled) return "Screenshots are off: capturing is not activated.";
  return "Screenshots are off.";
}

/** The lock date (an instant) as the `YYYY-MM-DD` a date input shows, in `timeZone`; "" when none. */
export function lockDateToDay(lockDate: string | null, timeZone: string): string {
  if (!lockDate) return "";
  const t = new Date(lockDate);
  return Number.isNaN(t.getTime()) ? "" : dayOf(t, timeZone);
}

/** A chosen `YYYY-MM-DD` as the lock instant (local midnight in `timeZone`); `null` clears it. */
export function dayToLockDate(day: string, timeZone: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return null;
  return startOfDay(day, timeZone).toISOString();
}
