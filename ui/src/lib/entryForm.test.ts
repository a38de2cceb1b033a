import { describe, expect, it } from "vitest";
import type { Entry } from "./api";
import { changes, checkForm, formOf, isDay, parseTime, patchFor } from "./entryForm";

const now = Date.parse("2026-11-25T18:00:00Z");

function entry(over: Partial<Entry> = {}): Entry {
  return {
    id: "e",
    user_id: "u",
    description: "Report",
    start: "2026-11-25T09:00:00Z",
    end: "2026-11-25T10:30:15Z",
    removed: [],
    deducted_secs: 0,
    duration_secs: 5415,
    approved: false,
    locked: false,
    manual: false,
    ...over,
  };
}

describe("times typed in the form", () => {
  it("reads H:MM, HH:MM and HH:MM:SS on a 24-hour clock", () => {
    expect(parseTime("9:30")).toBe(9 * 3600 + 30 * 60);
    expect(parseTime(" 09:30:15 ")).toBe(9 * 3600 + 30 * 60 + 15);
    expect(parseTime("23:59:59")).toBe(86399);
    for (const bad of ["", "24:00", "9", "9:3", "12:60", "12:00:60", "9.30", "noon"]) expect(parseTime(bad)).toBeNull();
  });
  it("knows a real date", () => {
    expect(isDay("2026-02-28")).toBe(true);
    expect(isDay("2026-02-30")).toBe(false);
    expect(isDay("26-2-28")).toBe(false);
  });
});

describe("checking the form (R39)", () => {
  const form = { description: " Report ", day: "2026-11-25", start: "9:00", end: "10:30" };
  it("turns wall-clock times of the viewer's zone into instants", () => {
    const c = checkForm(form, "Europe/Paris", now);
    expect(c.ok && [c.description, c.start.toISOString(), c.end?.toISOString()]).toEqual([
      "Report",
      "2026-11-25T08:00:00.000Z",
      "2026-11-25T09:30:00.000Z",
    ]);
  });
  it("reads an end before the start as the next day", () => {
    const c = checkForm({ ...form, day: "2026-11-24", start: "22:00", end: "1:00" }, "UTC", now);
    expect(c.ok && c.end?.toISOString()).toBe("2026-11-25T01:00:00.000Z");
  });
  it("refuses what the service would refuse, saying why", () => {
    const err = (f: typeof form, running = false) => {
      const c = checkForm(f, "UTC", now, running);
      return c.ok ? "" : c.error;
    };
    expect(err({ ...form, start: "nine" })).toMatch(/start must be a time/);
    expect(err({ ...form, end: "" })).toMatch(/end must be a time/);
    expect(err({ ...form, end: "9:00" })).toMatch(/after the start/);
    expect(err({ ...form, start: "17:00", end: "19:00" })).toMatch(/future/);
    expect(err({ ...form, day: "2026-11-31" })).toMatch(/date/);
    expect(err({ ...form, description: "x".repeat(2001) })).toMatch(/longer than 2000/);
    expect(err({ ...form, end: "10:00" }, true)).toMatch(/running entry has no end/);
    expect(checkForm({ ...form, end: "" }, "UTC", now, true).ok).toBe(true);
  });
});

describe("the patch of an edit", () => {
  it("starts from the entry as shown, to the second", () => {
    expect(formOf(entry(), "UTC")).toEqual({ description: "Report", day: "2026-11-25", start: "09:00:00", end: "10:30:15" });
    expect(formOf(entry({ end: null }), "UTC").end).toBe("");
  });
  it("names only what changed", () => {
    const same = checkForm(formOf(entry(), "UTC"), "UTC", now);
    if (!same.ok) throw new Error(same.error);
    expect(changes(patchFor(entry(), same))).toBe(false);
    const shorter = checkForm({ ...formOf(entry(), "UTC"), end: "10:00" }, "UTC", now);
    if (!shorter.ok) throw new Error(shorter.error);
    expect(patchFor(entry(), shorter, true)).toEqual({ confirm: true, end: "2026-11-25T10:00:00.000Z" });
    const renamed = checkForm({ ...formOf(entry(), "UTC"), description: "Review" }, "UTC", now);
    if (!renamed.ok) throw new Error(renamed.error);
    expect(patchFor(entry(), renamed)).toEqual({ confirm: false, description: "Review" });
  });
});

describe("times left as shown", () => {
  it("are the entry's own instants, to the millisecond: a rename sends only the description", () => {
    // A timer's entry starts and ends at milliseconds; the form shows seconds.
    const e = entry({ start: "2026-11-25T09:00:00.400Z", end: "2026-11-25T10:30:15.700Z" });
    const renamed = checkForm({ ...formOf(e, "UTC"), description: "Review" }, "UTC", now, false, formOf(e, "UTC"));
    if (!renamed.ok) throw new Error(renamed.error);
    expect(patchFor(e, renamed)).toEqual({ confirm: false, description: "Review" });
    const shorter = checkForm({ ...formOf(e, "UTC"), end: "10:00" }, "UTC", now, false, formOf(e, "UTC"));
    if (!shorter.ok) throw new Error(shorter.error);
    expect(patchFor(e, shorter)).toEqual({ confirm: false, end: "2026-11-25T10:00:00.000Z" });
  });
  it("are not judged again; moved, they are", () => {
    // Stopped in the second it started: its end shows as its start.
    const blink = entry({ start: "2026-11-25T09:00:00.400Z", end: "2026-11-25T09:00:00.900Z" });
    const shown = formOf(blink, "UTC");
    expect(checkForm({ ...shown, description: "Blink" }, "UTC", now, false, shown).ok).toBe(true);
    expect(checkForm({ ...shown, description: "Blink" }, "UTC", now).ok).toBe(false);
    expect(checkForm({ ...shown, start: "8:59:59", end: "8:59:59" }, "UTC", now, false, shown).ok).toBe(false);
    // Started by a device clock a little ahead of this one.
    const ahead = entry({ start: new Date(now + 60_000).toISOString(), end: null });
    const aheadShown = formOf(ahead, "UTC");
    const kept = checkForm({ ...aheadShown, description: "Ahead" }, "UTC", now, true, aheadShown);
    if (!kept.ok) throw new Error(kept.error);
    expect(patchFor(ahead, kept)).toEqual({ confirm: false, description: "Ahead" });
    expect(checkForm({ ...aheadShown, start: "18:00:30" }, "UTC", now, true, aheadShown).ok).toBe(false);
  });
});
