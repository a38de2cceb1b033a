import { describe, expect, it } from "vitest";
import { entryMarks } from "./entryState";

describe("the entry state beside its screenshots (R14, R21, R22)", () => {
  it("marks nothing for an open entry", () => {
    expect(entryMarks({ entry_approved: false, entry_locked: false })).toEqual([]);
  });

  it("marks an approved entry, saying members can't delete its screenshots", () => {
    const [mark, ...rest] = entryMarks({ entry_approved: true, entry_locked: false });
    expect(rest).toEqual([]);
    expect(mark.kind).toBe("approved");
    expect(mark.label).toBe("approved");
    expect(mark.title).toMatch(/members can't delete its screenshots/);
    expect(mark.title).toMatch(/An admin can/);
  });

  it("marks a locked entry, and both, approved first", () => {
    expect(entryMarks({ entry_approved: false, entry_locked: true }).map((m) => m.label)).toEqual(["locked"]);
    const both = entryMarks({ entry_approved: true, entry_locked: true });
    expect(both.map((m) => m.kind)).toEqual(["approved", "locked"]);
    expect(both[1].title).toMatch(/locked period: members can't delete its screenshots/);
  });
});
