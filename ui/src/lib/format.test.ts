import { describe, expect, it } from "vitest";
import { initials, roleLabel, sentenceCase, timeOfDay } from "./format";

describe("timeOfDay", () => {
  const t = "2026-11-25T09:05:07Z";
  it("shows 24-hour local time", () => {
    expect(timeOfDay(t, "UTC")).toBe("09:05");
    expect(timeOfDay(t, "Europe/Berlin")).toBe("10:05");
    expect(timeOfDay(t, "America/New_York", true)).toBe("04:05:07");
  });
  it("never shows 24:00 at midnight", () => {
    expect(timeOfDay("2026-11-25T00:00:00Z", "UTC", true)).toBe("00:00:00");
  });
});

describe("labels", () => {
  it("names roles", () => {
    expect(roleLabel("owner")).toBe("Owner");
    expect(roleLabel("member")).toBe("Member");
  });
  it("capitalises sentences", () => {
    expect(sentenceCase(" no timer is running")).toBe("No timer is running");
    expect(sentenceCase("")).toBe("");
  });
  it("makes initials", () => {
    expect(initials("Ada  Lovelace", "a@x.io")).toBe("AL");
    expect(initials("bob", "b@x.io")).toBe("B");
    expect(initials("", "carol@x.io")).toBe("C");
    expect(initials(" ", " ")).toBe("?");
  });
});
