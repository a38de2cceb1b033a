import { describe, expect, it } from "vitest";
import { WIDTH_STEP, scaledUrl, shownWidth } from "./imageWidth";

describe("images at the size they are shown", () => {
  it("asks for the cell's device pixels, in steps, never above the thumbnail", () => {
    expect(shownWidth(190, 1)).toBe(240);
    expect(shownWidth(200, 1)).toBe(240);
    expect(shownWidth(240, 1)).toBe(240);
    expect(shownWidth(241, 1)).toBe(320);
    expect(shownWidth(200, 2)).toBe(400);
    expect(shownWidth(379, 2)).toBe(640);
    expect(shownWidth(0, 1)).toBe(WIDTH_STEP);
    expect(shownWidth(200, Number.NaN)).toBe(240);
    expect(shownWidth(Number.POSITIVE_INFINITY, 1)).toBe(640);
  });
  it("adds the width to the scheme's URL only when there is one", () => {
    const url = "shotclock://localhost/0190a000-0000-7000-8000-0000000000aa";
    expect(scaledUrl(url)).toBe(url);
    expect(scaledUrl(url, 240)).toBe(`${url}?w=240`);
    expect(scaledUrl(url, 239.2)).toBe(`${url}?w=240`);
    expect(scaledUrl(url, 5000)).toBe(`${url}?w=640`);
    expect(scaledUrl(url, Number.NaN)).toBe(url);
  });
});
