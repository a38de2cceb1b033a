import { describe, expect, it } from "vitest";
import { confirmationFor, refusalFor, type DeleteReport } from "./deleteText";

const base: DeleteReport = {
  screenshot_id: "s",
  entry_id: "e",
  entry_description: "Design review",
  decision: "delete_screenshot",
  removed_secs: 252,
  dry_run: true,
};

describe("delete confirmation (R19)", () => {
  it("states the time a member's delete removes, and that it is permanent", () => {
    const c = confirmationFor(base);
    expect(c.allowed).toBe(true);
    expect(c.effect).toBe("Deleting it removes 4 min 12 s from “Design review”.");
    expect(c.warning).toMatch(/permanent/);
  });
  it("says when the whole entry goes", () => {
    const c = confirmationFor({ ...base, decision: "delete_entry" });
    expect(c.effect).toContain("deletes the whole entry");
    expect(c.effect).toContain("“Design review”");
  });
  it("says an admin's delete removes no time", () => {
    expect(confirmationFor({ ...base, removed_secs: 0 }).effect).toBe(
      "Deleting it removes no time from “Design review”.",
    );
  });
  it("names untitled entries", () => {
    expect(confirmationFor({ ...base, entry_description: "  " }).effect).toContain("the untitled entry");
  });
  it("explains refusals", () => {
    expect(refusalFor("stop_timer_first", "x").effect).toMatch(/Stop the timer first/);
    expect(refusalFor("entry_approved", "x").effect).toMatch(/approved/);
    expect(refusalFor("entry_locked", "x").effect).toMatch(/locked/);
    expect(refusalFor("weird", "service says no").effect).toBe("service says no");
    expect(refusalFor("entry_locked", "x").allowed).toBe(false);
  });
});
