import { describe, expect, it } from "vitest";
import { addDays, canGoBack, canGoForward, dayBounds, dayLabel, dayOf, stepDay } from "./days";

describe("day navigation (R17)", () => {
  const today = "2026-11-25";
  it("allows going back exactly 7 days", () => {
    expect(canGoBack(today, today)).toBe(true);
    expect(canGoBack("2026-11-19", today)).toBe(true);
    expect(canGoBack("2026-11-18", today)).toBe(false);
  });
  it("never goes past today", () => {
    expect(canGoForward(today, today)).toBe(false);
    expect(canGoForward("2026-11-24", today)).toBe(true);
  });
  it("clamps steps to the range", () => {
    expect(stepDay(today, 1, today)).toBe(today);
    expect(stepDay("2026-11-18", -1, today)).toBe("2026-11-18");
    expect(stepDay(today, -1, today)).toBe("2026-11-24");
  });
  it("adds days across months and years", () => {
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(addDays("2026-03-01", -1)).toBe("2026-02-28");
  });
});

describe("time-zone day boundaries", () => {
  it("finds the local calendar day of an instant", () => {
    const t = new Date("2026-11-25T23:30:00Z");
    expect(dayOf(t, "UTC")).toBe("2026-11-25");
    expect(dayOf(t, "Europe/Berlin")).toBe("2026-11-26");
    expect(dayOf(t, "America/Los_Angeles")).toBe("2026-11-25");
  });
  it("gives midnight-to-midnight bounds in the zone", () => {
    const { start, end } = dayBounds("2026-11-25", "Europe/Berlin");
    expect(start.toISOString()).toBe("2026-11-24T23:00:00.000Z");
    expect(end.toISOString()).toBe("2026-11-25T23:00:00.000Z");
  });
  it("handles a 23-hour day (spring forward)", () => {
    const { start, end } = dayBounds("2026-03-29", "Europe/Berlin");
    expect(start.toISOString()).toBe("2026-03-28T23:00:00.000Z");
    expect(end.toISOString()).toBe("2026-03-29T22:00:00.000Z");
    expect((end.getTime() - start.getTime()) / 3600000).toBe(23);
  });
  it("handles a 25-hour day (fall back)", () => {
    const { start, end } = dayBounds("2026-11-01", "America/New_York");
    expect(start.toISOString()).toBe("2026-11-01T04:00:00.000Z");
    expect((end.getTime() - start.getTime()) / 3600000).toBe(25);
  });
  it("handles zones east of UTC with half hours", () => {
    const { start } = dayBounds("2026-11-25", "Asia/Kolkata");
    expect(start.toISOString()).toBe("2026-11-24T18:30:00.000Z");
  });
});

describe("day label", () => {
  const today = "2026-11-25";
  it("names today and yesterday", () => {
    expect(dayLabel(today, today)).toBe("Today");
    expect(dayLabel("2026-11-24", today)).toBe("Yesterday");
  });
  it("shows weekday, day and month further back", () => {
    expect(dayLabel("2026-11-23", today)).toBe("Mon 23 Nov");
    expect(dayLabel("2026-11-18", today)).toBe("Wed 18 Nov");
  });
  it("adds the year across new year", () => {
    expect(dayLabel("2026-12-30", "2027-01-02")).toBe("Wed 30 Dec 2026");
    expect(dayLabel("2026-12-31", "2027-01-01")).toBe("Yesterday");
  });
});
