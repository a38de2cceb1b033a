import { describe, expect, it } from "vitest";
import type { EditReport, Entry } from "./api";
import { editConfirmation, entryDeleteConfirmation, entryRefusal, needsConfirmation } from "./entryText";

const entry: Entry = {
  id: "e",
  user_id: "u",
  description: "Report",
  start: "2026-11-25T09:00:00Z",
  end: "2026-11-25T09:20:00Z",
  removed: [],
  deducted_secs: 0,
  duration_secs: 1200,
  approved: false,
  locked: false,
  manual: false,
};

describe("the edit confirmation (R39)", () => {
  const report = (excluded: string[], removed = 0): EditReport => ({
    entry,
    excluded_screenshots: excluded,
    removed_secs: removed,
    dry_run: true,
  });
  it("asks only when screenshots would go", () => {
    expect(needsConfirmation(report([]))).toBe(false);
    expect(needsConfirmation(report(["s1"]))).toBe(true);
  });
  it("names how many screenshots go and the time the entry then counts", () => {
    const one = editConfirmation(report(["s1"]));
    expect(one.effect).toBe(
      "The new times leave 1 screenshot outside “Report”: it is deleted with the edit. The entry will count 20 min.",
    );
    expect(one.warning).toMatch(/permanent/);
    expect(editConfirmation(report(["s1", "s2"], 90)).effect).toMatch(/leave 2 screenshots .* they are deleted .* 20 min \(1 min 30 s removed\)\.$/);
  });
});

describe("the entry delete confirmation (R15)", () => {
  it("says how many screenshots go with it and that it is permanent", () => {
    const c = entryDeleteConfirmation({ entry_id: "e", description: "Report", screenshots: 3, duration_secs: 1200, dry_run: true });
    expect(c.effect).toBe("Delete “Report” (20 min)? Its 3 screenshots are deleted with it.");
    expect(c.warning).toMatch(/permanent/);
    expect(entryDeleteConfirmation({ entry_id: "e", description: "", screenshots: 0, duration_secs: 60, dry_run: true }).effect).toBe(
      "Delete the untitled entry (1 min)? It has no screenshots.",
    );
  });
});

describe("refusals", () => {
  it("say why in the user's words, else keep the message", () => {
    expect(entryRefusal("entry_approved", "raw")).toMatch(/approved: only an admin/);
    expect(entryRefusal("entry_overlap", "raw")).toMatch(/overlap/);
    expect(entryRefusal("validation", "the end must come after the start")).toBe("the end must come after the start");
    expect(entryRefusal(undefined, "raw")).toBe("raw");
  });
});
