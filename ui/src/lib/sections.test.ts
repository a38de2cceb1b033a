import { describe, expect, it } from "vitest";
import { SECTIONS, sectionFromHash, sectionsFor } from "./sections";

describe("sectionFromHash", () => {
  it("maps each section's hash to that section", () => {
    for (const s of SECTIONS) {
      expect(sectionFromHash(`#/${s.id}`)).toBe(s.id);
    }
  });

  it("falls back to the timer for empty or unknown hashes", () => {
    expect(sectionFromHash("")).toBe("timer");
    expect(sectionFromHash("#/nope")).toBe("timer");
  });

  it("has unique ids", () => {
    const ids = SECTIONS.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("sections by role", () => {
  it("shows Approvals to admins only", () => {
    expect(sectionsFor(true).map((s) => s.id)).toContain("approvals");
    expect(sectionsFor(false).map((s) => s.id)).not.toContain("approvals");
    expect(sectionsFor(false).map((s) => s.id)).toEqual(["timer", "screenshots", "settings", "members"]);
  });
});
