import { describe, expect, it } from "vitest";
import type { ApprovalEntry } from "./api";
import { allApproved, screenshotsText, totals } from "./approvals";

function e(approved: boolean, end: string | null, screenshots = 2, duration = 600): ApprovalEntry {
  return {
    id: Math.random().toString(),
    user_id: "u",
    description: "",
    start: "2026-11-25T09:00:00Z",
    end,
    removed: [],
    deducted_secs: 0,
    duration_secs: duration,
    approved,
    locked: false,
    manual: false,
    screenshots,
  };
}

describe("approvals (R39)", () => {
  const end = "2026-11-25T10:00:00Z";
  it("reads a period approved when every stopped entry is", () => {
    expect(allApproved([])).toBe(false);
    expect(allApproved([e(true, end), e(false, end)])).toBe(false);
    expect(allApproved([e(true, end), e(false, null)])).toBe(true); // the running one is left out
    expect(allApproved([e(false, null)])).toBe(false);
  });
  it("adds up time and screenshots", () => {
    expect(totals([e(true, end, 2, 600), e(false, end, 3, 60)])).toEqual({ seconds: 660, screenshots: 5 });
    expect(screenshotsText(0)).toBe("no screenshots");
    expect(screenshotsText(1)).toBe("1 screenshot");
  });
});
