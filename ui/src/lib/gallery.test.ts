import { describe, expect, it } from "vitest";
import { canStep, indexAfterDelete, positionText, stepIndex } from "./gallery";

describe("gallery stepping (R17)", () => {
  it("steps forward and back", () => {
    expect(stepIndex(1, 1, 5)).toBe(2);
    expect(stepIndex(1, -1, 5)).toBe(0);
  });
  it("stops at the ends instead of wrapping", () => {
    expect(stepIndex(4, 1, 5)).toBe(4);
    expect(stepIndex(0, -1, 5)).toBe(0);
    expect(canStep(4, 1, 5)).toBe(false);
    expect(canStep(0, -1, 5)).toBe(false);
    expect(canStep(0, 1, 5)).toBe(true);
    expect(canStep(0, 1, 1)).toBe(false);
  });
  it("handles an empty list", () => {
    expect(stepIndex(0, 1, 0)).toBe(-1);
    expect(canStep(0, 1, 0)).toBe(false);
  });
  it("shows the position from 1", () => {
    expect(positionText(1, 5)).toBe("2 / 5");
  });
});

describe("after a delete", () => {
  it("moves on to the next screenshot, which takes the same place", () => {
    expect(indexAfterDelete(0, 3)).toBe(0);
    expect(indexAfterDelete(1, 3)).toBe(1);
  });
  it("closes when there is no next screenshot", () => {
    expect(indexAfterDelete(2, 3)).toBeNull();
    expect(indexAfterDelete(0, 1)).toBeNull();
    expect(indexAfterDelete(-1, 3)).toBeNull();
  });
});
