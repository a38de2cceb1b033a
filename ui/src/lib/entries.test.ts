import { describe, expect, it } from "vitest";
import type { Entry } from "./api";
import { dayTotal, elapsedSeconds, liveSeconds, newestFirst, shownSeconds, shownTotal, withRunning } from "./entries";

function entry(over: Partial<Entry>): Entry {
  return {
    id: "e1",
    user_id: "u",
    description: "Work",
    start: "2026-11-25T09:00:00Z",
    end: "2026-11-25T10:00:00Z",
    removed: [],
    deducted_secs: 0,
    duration_secs: 3600,
    approved: false,
    locked: false,
    manual: false,
    ...over,
  };
}

const now = Date.parse("2026-11-25T12:00:00Z");

describe("entry durations (R28)", () => {
  it("uses the stored duration of a finished entry", () => {
    expect(liveSeconds(entry({ duration_secs: 3348, deducted_secs: 252 }), now)).toBe(3348);
  });
  it("counts a running entry up to now, minus removed time", () => {
    const running = entry({ start: "2026-11-25T11:30:00Z", end: null, duration_secs: 0, deducted_secs: 60 });
    expect(liveSeconds(running, now)).toBe(1740);
    expect(liveSeconds(running, now + 1500)).toBe(1741);
  });
  it("never goes negative when the clock lags the service", () => {
    expect(liveSeconds(entry({ start: "2026-11-25T12:00:05Z", end: null }), now)).toBe(0);
    expect(elapsedSeconds({ entry_id: "x", description: "", start: "2026-11-25T12:00:05Z" }, now)).toBe(0);
  });
  it("ticks the running timer", () => {
    expect(elapsedSeconds({ entry_id: "x", description: "", start: "2026-11-25T11:55:48Z" }, now)).toBe(252);
  });
});

describe("the day's list", () => {
  it("totals finished and running entries", () => {
    const list = [
      entry({ id: "a", duration_secs: 1800 }),
      entry({ id: "b", duration_secs: 600 }),
      entry({ id: "c", start: "2026-11-25T11:59:00Z", end: null, duration_secs: 0 }),
    ];
    expect(dayTotal(list, now)).toBe(2460);
    expect(dayTotal([], now)).toBe(0);
  });
  it("sorts newest first", () => {
    const list = [
      entry({ id: "old", start: "2026-11-25T08:00:00Z" }),
      entry({ id: "new", start: "2026-11-25T11:00:00Z" }),
      entry({ id: "mid", start: "2026-11-25T09:30:00Z" }),
    ];
    expect(newestFirst(list).map((e) => e.id)).toEqual(["new", "mid", "old"]);
  });
  it("adds a running timer the fetch does not know yet", () => {
    const running = { entry_id: "r", description: "Calls", start: "2026-11-25T11:00:00Z" };
    const list = withRunning([entry({ id: "a" })], running, "u");
    expect(list.map((e) => e.id)).toEqual(["a", "r"]);
    expect(list[1].end).toBeNull();
    expect(list[1].description).toBe("Calls");
  });
  it("does not duplicate a running timer the fetch already has", () => {
    const running = { entry_id: "a", description: "Work", start: "2026-11-25T09:00:00Z" };
    expect(withRunning([entry({ id: "a", end: null })], running, "u")).toHaveLength(1);
    expect(withRunning([entry({ id: "a" })], null, "u")).toHaveLength(1);
  });
  it("shows an entry stopped here as stopped before the service knows", () => {
    const open = entry({ id: "a", start: "2026-11-25T11:00:00Z", end: null, duration_secs: 0, deducted_secs: 60 });
    const stopped = Date.parse("2026-11-25T11:30:00Z");
    const [e] = withRunning([open], null, "u", { a: stopped });
    expect(e.end).toBe("2026-11-25T11:30:00.000Z");
    expect(liveSeconds(e, now)).toBe(1740);
  });
  it("leaves the running entry and entries without a local stop alone", () => {
    const open = entry({ id: "a", end: null });
    const running = { entry_id: "a", description: "Work", start: open.start };
    expect(withRunning([open], running, "u", { a: now })[0].end).toBeNull();
    expect(withRunning([open], null, "u", {})[0].end).toBeNull();
  });
});

describe("what the list shows while a timer runs (only the big clock ticks every second)", () => {
  // A running entry started at 11:30:17 and a finished one of 3,348 s.
  const running = entry({ id: "r", start: "2026-11-25T11:30:17Z", end: null, duration_secs: 0 });
  const done = entry({ duration_secs: 3348 });
  const seconds = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i * 1000);
  const changes = (xs: number[]) => xs.filter((x, i) => i > 0 && x !== xs[i - 1]).length;

  it("changes the running entry's figure once a minute, not every second", () => {
    // Two minutes of seconds: two changes (at 11:30:17 + 30 and + 31 minutes), not 119.
    const figures = seconds(now, 120).map((t) => shownSeconds(running, t));
    expect(changes(figures)).toBe(2);
    expect(figures.every((s) => s % 60 === 0)).toBe(true);
    expect(figures[0]).toBe(29 * 60);
  });
  it("changes the total once a minute while a timer runs, and keeps it to the second otherwise", () => {
    const totals = seconds(now, 120).map((t) => shownTotal([done, running], t));
    expect(changes(totals)).toBe(2);
    expect(totals[0]).toBe(3348 + 1783 - ((3348 + 1783) % 60));
    expect(shownTotal([done], now)).toBe(3348);
    expect(shownSeconds(done, now)).toBe(3348);
  });
  it("never shows more than the live count", () => {
    for (const t of seconds(now, 90)) {
      expect(shownSeconds(running, t)).toBeLessThanOrEqual(liveSeconds(running, t));
      expect(shownTotal([done, running], t)).toBeLessThanOrEqual(dayTotal([done, running], t));
    }
  });
});
