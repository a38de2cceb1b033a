import { describe, expect, it } from "vitest";
import { clockText, formatClock, formatDuration, formatRemoved, formatRunning, sizingText } from "./time";

describe("formatDuration", () => {
  it.each([
    [0, "0 s"],
    [42, "42 s"],
    [60, "1 min"],
    [252, "4 min 12 s"],
    [3599, "59 min 59 s"],
    [3600, "1 h"],
    [3900, "1 h 5 min"],
    [3959, "1 h 5 min"],
    [-5, "0 s"],
  ])("%d s → %s", (secs, text) => {
    expect(formatDuration(secs)).toBe(text);
  });
});

describe("formatClock", () => {
  it.each([
    [0, "0:00:00"],
    [252, "0:04:12"],
    [43205, "12:00:05"],
    [59.9, "0:00:59"],
  ])("%d s → %s", (secs, text) => {
    expect(formatClock(secs)).toBe(text);
  });
});

describe("formatRemoved", () => {
  it("is empty without removed time", () => {
    expect(formatRemoved(0)).toBe("");
  });
  it("names removed time", () => {
    expect(formatRemoved(252)).toBe("−4 min 12 s removed");
  });
});

describe("formatRunning", () => {
  it("shows whole minutes only", () => {
    expect(formatRunning(0)).toBe("< 1 min");
    expect(formatRunning(59)).toBe("< 1 min");
    expect(formatRunning(61)).toBe("1 min");
    expect(formatRunning(12 * 60 + 59)).toBe("12 min");
    expect(formatRunning(3600 + 5 * 60 + 30)).toBe("1 h 5 min");
  });
});

describe("clockText", () => {
  it.each([
    [252, true, "0:04:12"],
    [252, false, "4 min"],
    [59, false, "< 1 min"],
    [3959, false, "1 h 5 min"],
    [3959, true, "1:05:59"],
  ])("%d s, seconds %s → %s", (secs, seconds, text) => {
    expect(clockText(secs, seconds)).toBe(text);
  });
});

describe("sizingText", () => {
  it.each([
    ["0:04:12", "0:00:00"],
    ["12:59:07", "00:00:00"],
    ["1 h 5 min", "0 h 0 min"],
    ["< 1 min", "< 0 min"],
  ])("%s → %s", (text, sizing) => {
    expect(sizingText(text)).toBe(sizing);
  });

  it("stays the same while the clock ticks within a digit count", () => {
    const sizes = new Set([3600, 3601, 3659, 7199, 35999].map((s) => sizingText(clockText(s, true))));
    expect([...sizes]).toEqual(["0:00:00"]);
    expect(sizingText(clockText(36000, true))).toBe("00:00:00");
  });
});
