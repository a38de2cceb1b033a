import { describe, expect, it, vi } from "vitest";
import { emitUiEvent, onUiEvent, type UiEvent } from "./bus";

describe("UI event bus", () => {
  it("delivers events until unsubscribed", () => {
    const seen: UiEvent[] = [];
    const stop = onUiEvent((e) => seen.push(e));
    emitUiEvent({ type: "deleted" });
    stop();
    emitUiEvent({ type: "entries_stale" });
    expect(seen).toEqual([{ type: "deleted" }]);
  });
  it("keeps delivering when one listener throws", () => {
    const err = vi.spyOn(console, "error").mockImplementation(() => {});
    const good = vi.fn();
    const a = onUiEvent(() => {
      throw new Error("boom");
    });
    const b = onUiEvent(good);
    emitUiEvent({ type: "entries_stale" });
    expect(good).toHaveBeenCalledOnce();
    a();
    b();
    err.mockRestore();
  });
});
