import { describe, expect, it } from "vitest";
import type { AccessEntry, BlockRule, WindowsNow } from "./api";
import { cleanRules, latestByScreenshot, logLine, MAX_RULES, rulesProblem, ruleText, testSummary, viewedByText, whenText } from "./privacy";

const title = (pattern: string): BlockRule => ({ field: "title", pattern });
const cls = (pattern: string): BlockRule => ({ field: "class", pattern });

describe("blocklist editing (R34)", () => {
  it("trims, drops blanks and repeats, keeps the order", () => {
    expect(cleanRules([title("  Online banking "), cls("  "), title("online BANKING"), cls("KeePassXC")])).toEqual([
      title("Online banking"),
      cls("KeePassXC"),
    ]);
  });

  it("says what the service would refuse", () => {
    expect(rulesProblem([title("bank")])).toBeNull();
    expect(rulesProblem(Array.from({ length: MAX_RULES + 1 }, (_, i) => title(`p${i}`)))).toMatch(/At most 50/);
    expect(rulesProblem([title("x".repeat(101))])).toMatch(/longer than 100/);
    expect(rulesProblem([title("x".repeat(100))])).toBeNull();
    expect(rulesProblem([title("a\u0007b")])).toMatch(/control/);
  });

  it("reads a rule and the Test answer", () => {
    expect(ruleText(cls("keepassxc"))).toBe("Application contains “keepassxc”");
    const win = (blocked: boolean) => ({
      window: { id: 1, rect: { x: 0, y: 0, width: 1, height: 1 }, classes: [], title: null, popup: false },
      blocked,
    });
    const two: WindowsNow = { windows: [win(true), win(false)] };
    expect(testSummary(two, 1)).toBe("1 of 2 open windows would be blanked.");
    expect(testSummary({ windows: [win(false)] }, 1)).toBe("None of the 1 open windows would be blanked.");
    expect(testSummary({ windows: [], unavailable: "no window manager" }, 2)).toMatch(/no screenshot is taken/);
    expect(testSummary({ windows: [], unavailable: "no window manager" }, 0)).not.toMatch(/no screenshot/);
  });
});

const NOW = Date.parse("2025-06-04T12:00:00Z");
const line = (viewer: string, shot: string, at: string, kind: AccessEntry["kind"] = "viewed"): AccessEntry => ({
  viewer_id: `id-${viewer}`,
  viewer_name: viewer,
  screenshot_id: shot,
  kind,
  at,
});

describe("who looked (R35)", () => {
  it("names the day in the viewer's zone", () => {
    expect(whenText("2025-06-04T10:42:00Z", NOW, "UTC")).toBe("today 10:42");
    expect(whenText("2025-06-03T23:30:00Z", NOW, "UTC")).toBe("yesterday 23:30");
    // 23:30 UTC on the 3rd is already the 4th in Berlin.
    expect(whenText("2025-06-03T23:30:00Z", NOW, "Europe/Berlin")).toBe("today 01:30");
    expect(whenText("2025-06-02T14:00:00Z", NOW, "UTC")).toBe("Mon 2 Jun 14:00");
  });

  it("puts the newest viewer on the screenshot", () => {
    const log = [
      line("Alex Morgan", "s1", "2025-06-04T10:42:00Z"),
      line("Sam Lee", "s1", "2025-06-04T09:00:00Z"),
      line("Alex Morgan", "s1", "2025-06-04T08:00:00Z"),
      line("Sam Lee", "s2", "2025-06-04T11:00:00Z", "deleted"),
    ];
    expect(viewedByText(log, "s1", NOW, "UTC")).toBe("viewed by Alex Morgan + 1 other, today 10:42");
    expect(viewedByText(log.slice(0, 1), "s1", NOW, "UTC")).toBe("viewed by Alex Morgan, today 10:42");
    expect(viewedByText(log, "s2", NOW, "UTC")).toBeNull();
    expect(viewedByText(log, "s3", NOW, "UTC")).toBeNull();
    expect(latestByScreenshot(log).get("s1")?.at).toBe("2025-06-04T10:42:00Z");
    expect(logLine(log[3], NOW, "UTC")).toBe("Sam Lee deleted a screenshot · today 11:00");
  });
});
