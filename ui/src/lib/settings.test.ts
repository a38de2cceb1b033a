import { describe, expect, it } from "vitest";
import type { WorkspaceSettings } from "./api";
import {
  captureSummary,
  dayToLockDate,
  featureAvailable,
  lockDateToDay,
  planLabel,
  trialDaysLeft,
  trialText,
} from "./settings";

const now = Date.parse("2026-11-25T12:00:00Z");
const H = 3_600_000;

function settings(over: Partial<WorkspaceSettings>): WorkspaceSettings {
  return {
    id: "w",
    name: "Acme",
    plan: "free",
    screenshots_enabled: false,
    blur_enabled: true,
    lock_date: null,
    capture_window_secs: 300,
    trial_started_at: null,
    trial_ends_at: null,
    trial_available: true,
    capture_allowed: false,
    ...over,
  };
}

describe("trial days left (R5)", () => {
  const ends = (ms: number) => new Date(now + ms).toISOString();
  it("is null without a trial", () => {
    expect(trialDaysLeft(null, now)).toBeNull();
  });
  it("rounds up partial days", () => {
    expect(trialDaysLeft(ends(7 * 24 * H - 1000), now)).toBe(7);
    expect(trialDaysLeft(ends(24 * H + 1), now)).toBe(2);
    expect(trialDaysLeft(ends(24 * H), now)).toBe(1);
    expect(trialDaysLeft(ends(H), now)).toBe(1);
  });
  it("is 0 once ended and never more than 7", () => {
    expect(trialDaysLeft(ends(0), now)).toBe(0);
    expect(trialDaysLeft(ends(-H), now)).toBe(0);
    expect(trialDaysLeft(ends(9 * 24 * H), now)).toBe(7);
  });
  it("reads well", () => {
    expect(trialText(5)).toBe("5 days left in the free trial");
    expect(trialText(1)).toBe("1 day left in the free trial");
    expect(trialText(0)).toBe("The free trial has ended");
  });
});

describe("plan and capture summary (R4, R5)", () => {
  it("names plans", () => {
    expect(planLabel("free")).toBe("Free");
    expect(planLabel("enterprise")).toBe("Enterprise");
  });
  it("knows when the feature is available", () => {
    expect(featureAvailable(settings({ plan: "enterprise" }), now)).toBe(true);
    expect(featureAvailable(settings({}), now)).toBe(false);
    expect(featureAvailable(settings({ trial_ends_at: new Date(now + H).toISOString() }), now)).toBe(true);
    expect(featureAvailable(settings({ trial_ends_at: new Date(now - H).toISOString() }), now)).toBe(false);
  });
  it("explains why screenshots are off", () => {
    expect(captureSummary(settings({ capture_allowed: true }), now)).toMatch(/taken while a timer runs/);
    expect(captureSummary(settings({}), now)).toMatch(/Enterprise plan or the free trial/);
    expect(captureSummary(settings({ trial_ends_at: new Date(now - H).toISOString() }), now)).toMatch(
      /trial has ended/,
    );
    expect(captureSummary(settings({ plan: "enterprise" }), now)).toMatch(/not activated/);
  });
});

describe("lock date (R14)", () => {
  it("shows the lock instant as the viewer's calendar day", () => {
    expect(lockDateToDay("2026-11-19T23:00:00Z", "Europe/Berlin")).toBe("2026-11-20");
    expect(lockDateToDay("2026-11-19T23:00:00Z", "UTC")).toBe("2026-11-19");
    expect(lockDateToDay(null, "UTC")).toBe("");
    expect(lockDateToDay("garbage", "UTC")).toBe("");
  });
  it("turns a chosen day into local midnight", () => {
    expect(dayToLockDate("2026-11-20", "Europe/Berlin")).toBe("2026-11-19T23:00:00.000Z");
    expect(dayToLockDate("", "UTC")).toBeNull();
  });
  it("round-trips", () => {
    const tz = "America/Los_Angeles";
    expect(lockDateToDay(dayToLockDate("2026-03-08", tz), tz)).toBe("2026-03-08");
  });
});
