/**
 * The admins' Approvals view (R14, R39): a member's week as totals, and whether a day or the week
 * reads as approved. Approving covers the stopped entries that start in the period; a running
 * entry is left unapproved by the service, so it does not keep a period from reading approved.
 */
import type { ApprovalEntry } from "./bindings/api";

/** Whether every stopped entry of `entries` is approved (and there is at least one). */
export function allApproved(entries: readonly ApprovalEntry[]): boolean {
  const stopped = entries.filter((e) => e.end !== null);
  return stopped.length > 0 && stopped.every((e) => e.approved);
}

/** Tracked seconds and screenshots of a member's entries. */
export function totals(entries: readonly ApprovalEntry[]): { seconds: number; screenshots: number } {
  return entries.reduce(
    (t, e) => ({ seconds: t.seconds + e.duration_secs, screenshots: t.screenshots + e.screenshots }),
    { seconds: 0, screenshots: 0 },
  );
}

/** "3 screenshots", "1 screenshot", "no screenshots". */
export function screenshotsText(n: number): string {
  if (n === 0) return "no screenshots";
  return n === 1 ? "1 screenshot" : `${n} screenshots`;
}
