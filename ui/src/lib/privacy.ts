/**
 * The privacy views' logic (R34, R35): editing a blocked-window list (the limits the service
 * enforces, said before saving), the "Test" answer in words, and the access log as people read
 * it — "viewed by Alex Morgan, today 10:42" on a screenshot, and the last 7 days' lines.
 */
import type { AccessEntry, BlockRule, WindowsNow } from "./api";
import { dayLabel, dayOf } from "./days";
import { timeOfDay } from "./format";

/** At most this many workspace rules (`shotclock_api::limits::BLOCK_RULES`). */
export const MAX_RULES = 50;
/** A pattern's longest length (`shotclock_api::limits::BLOCK_PATTERN_CHARS`). */
export const MAX_PATTERN = 100;

/** The rules as they will be stored: patterns trimmed, blank ones and repeats dropped. */
export function cleanRules(rules: BlockRule[]): BlockRule[] {
  const seen = new Set<string>();
  const out: BlockRule[] = [];
  for (const r of rules) {
    const pattern = r.pattern.trim();
    const key = `${r.field}\u0000${pattern.toLowerCase()}`;
    if (!pattern || seen.has(key)) continue;
    seen.add(key);
    out.push({ field: r.field, pattern });
  }
  return out;
}

/** Why a list cannot be saved as it is, or `null`. */
export function rulesProblem(rules: BlockRule[]): string | null {
  const clean = cleanRules(rules);
  if (clean.length > MAX_RULES) return `At most ${MAX_RULES} rules.`;
  for (const r of clean) {
    if ([...r.pattern].length > MAX_PATTERN) return `“${r.pattern.slice(0, 20)}…” is longer than ${MAX_PATTERN} characters.`;
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f-\u009f]/.test(r.pattern)) return "A rule holds a control character.";
  }
  return null;
}

/** "Title contains “Online banking”". */
export function ruleText(rule: BlockRule): string {
  return `${rule.field === "class" ? "Application" : "Title"} contains “${rule.pattern}”`;
}

/** The "Test" answer in one sentence. */
export function testSummary(now: WindowsNow, rulesInForce: number): string {
  if (now.unavailable) {
    return rulesInForce > 0
      ? `Windows cannot be listed here (${now.unavailable}), so no screenshot is taken while rules are set.`
      : `Windows cannot be listed here (${now.unavailable}).`;
  }
  const blocked = now.windows.filter((w) => w.blocked).length;
  if (blocked === 0) return `None of the ${now.windows.length} open windows would be blanked.`;
  return `${blocked} of ${now.windows.length} open ${now.windows.length === 1 ? "window" : "windows"} would be blanked.`;
}

/** "today 10:42", "yesterday 09:03", "Mon 2 Jun 14:00", in `timeZone`. */
export function whenText(at: string, nowMs: number, timeZone: string): string {
  const today = dayOf(new Date(nowMs), timeZone);
  const day = dayOf(new Date(at), timeZone);
  const label = dayLabel(day, today);
  const lead = label === "Today" || label === "Yesterday" ? label.toLowerCase() : label;
  return `${lead} ${timeOfDay(at, timeZone)}`;
}

/** The newest line about each screenshot (views and deletes), by screenshot id. */
export function latestByScreenshot(entries: AccessEntry[]): Map<string, AccessEntry> {
  const out = new Map<string, AccessEntry>();
  for (const e of entries) {
    const had = out.get(e.screenshot_id);
    if (!had || Date.parse(e.at) > Date.parse(had.at)) out.set(e.screenshot_id, e);
  }
  return out;
}

/** "viewed by Alex Morgan, today 10:42" (and "+ 2 others" when more people looked). */
export function viewedByText(entries: AccessEntry[], screenshotId: string, nowMs: number, timeZone: string): string | null {
  const views = entries.filter((e) => e.screenshot_id === screenshotId && e.kind === "viewed");
  if (views.length === 0) return null;
  const newest = views.reduce((a, b) => (Date.parse(b.at) > Date.parse(a.at) ? b : a));
  const others = new Set(views.map((v) => v.viewer_id));
  others.delete(newest.viewer_id);
  const more = others.size === 0 ? "" : ` + ${others.size} ${others.size === 1 ? "other" : "others"}`;
  return `viewed by ${newest.viewer_name}${more}, ${whenText(newest.at, nowMs, timeZone)}`;
}

/** One line of the 7-day list: "Alex Morgan viewed a screenshot · today 10:42". */
export function logLine(e: AccessEntry, nowMs: number, timeZone: string): string {
  const what = e.kind === "viewed" ? "viewed a screenshot" : "deleted a screenshot";
  return `${e.viewer_name} ${what} · ${whenText(e.at, nowMs, timeZone)}`;
}
