import { describe, expect, it } from "vitest";
import type { Entry } from "./api";
import { canGoForwardWeek, mondayOf, stepWeek, weekBounds, weekDays, weekLabel, weekTotal } from "./week";

function entry(id: string, start: string, end: string | null, duration = 3600): Entry {
  return {
    id,
    user_id: "u",
    description: id,
    start,
    end,
    removed: [],
    deducted_secs: 0,
    duration_secs: duration,
    approved: false,
    locked: false,
    manual: false,
  };
}

describe("ISO weeks in the viewer's zone (R28)", () => {
  it("finds the Monday of any day, Sunday included", () => {
    expect(mondayOf("2026-11-25")).toBe("2026-11-23"); // a Wednesday
    expect(mondayOf("2026-11-23")).toBe("2026-11-23");
    expect(mondayOf("2026-11-29")).toBe("2026-11-23"); // a Sunday
    expect(mondayOf("2027-01-01")).toBe("2026-12-28"); // across the year
  });
  it("bounds a week at local midnights, 7 days apart except across DST", () => {
    const utc = weekBounds("2026-11-25", "UTC");
    expect(utc.start.toISOString()).toBe("2026-11-23T00:00:00.000Z");
    expect(utc.end.toISOString()).toBe("2026-11-30T00:00:00.000Z");
    const paris = weekBounds("2026-10-28", "Europe/Paris"); // summer time ends Sun 25 Oct
    expect(paris.start.toISOString()).toBe("2026-10-25T23:00:00.000Z");
    const dst = weekBounds("2026-10-21", "Europe/Paris");
    expect(dst.end.getTime() - dst.start.getTime()).toBe((7 * 24 + 1) * 3600 * 1000);
  });
  it("moves by weeks and never past this one", () => {
    const today = "2026-11-25";
    expect(stepWeek("2026-11-23", -1, today)).toBe("2026-11-16");
    expect(stepWeek("2026-11-18", 1, today)).toBe("2026-11-23");
    expect(stepWeek("2026-11-23", 1, today)).toBe("2026-11-23");
    expect(canGoForwardWeek("2026-11-23", today)).toBe(false);
    expect(canGoForwardWeek("2026-11-16", today)).toBe(true);
  });
  it("names this week, last week, then the dates", () => {
    const today = "2026-11-25";
    expect(weekLabel("2026-11-23", today)).toBe("This week");
    expect(weekLabel("2026-11-16", today)).toBe("Last week");
    expect(weekLabel("2026-11-09", today)).toBe("9 – 15 Nov");
    expect(weekLabel("2026-10-26", today)).toBe("26 Oct – 1 Nov");
    expect(weekLabel("2025-12-29", today)).toBe("29 Dec 2025 – 4 Jan");
  });
});

describe("the week's days (R28)", () => {
  const today = "2026-11-25";
  const now = Date.parse("2026-11-25T12:00:00Z");
  const list = [
    entry("mon", "2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z"),
    entry("wed-early", "2026-11-25T08:00:00Z", "2026-11-25T09:00:00Z"),
    entry("wed-running", "2026-11-25T11:00:00Z", null, 0),
    entry("wed-late", "2026-11-25T09:30:00Z", "2026-11-25T10:00:00Z", 1800),
  ];

  it("lists today first, then earlier days with entries, each with its total", () => {
    const days = weekDays(list, "2026-11-23", today, "UTC", now);
    expect(days.map((d) => d.day)).toEqual(["2026-11-25", "2026-11-23"]);
    expect(days[0].total).toBe(3600 + 1800 + 3600); // the running entry counts up to now
    expect(days[1].total).toBe(3600);
    expect(weekTotal(days)).toBe(3 * 3600 + 1800);
  });
  it("puts the running entry on top, then newest first", () => {
    const [wed] = weekDays(list, "2026-11-23", today, "UTC", now);
    expect(wed.entries.map((e) => e.id)).toEqual(["wed-running", "wed-late", "wed-early"]);
  });
  it("lists today even while empty, and a past week's days only with entries", () => {
    expect(weekDays([], "2026-11-23", today, "UTC", now).map((d) => d.day)).toEqual([today]);
    expect(weekDays([], "2026-11-16", today, "UTC", now)).toEqual([]);
  });
  it("files an entry under the day it starts in the viewer's zone", () => {
    const late = [entry("late", "2026-11-23T23:30:00Z", "2026-11-24T00:30:00Z")];
    expect(weekDays(late, "2026-11-23", "2026-11-29", "UTC", now).map((d) => d.day)).toEqual(["2026-11-29", "2026-11-23"]);
    expect(weekDays(late, "2026-11-23", "2026-11-29", "Europe/Berlin", now).map((d) => d.day)).toEqual([
      "2026-11-29",
      "2026-11-24",
    ]);
  });
});
