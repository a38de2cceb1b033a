import { describe, expect, it } from "vitest";
import { dateTimeFormat } from "./intl";

describe("dateTimeFormat", () => {
  it("builds each formatter once and formats like a fresh one", () => {
    const options: Intl.DateTimeFormatOptions = { timeZone: "Europe/Paris", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    const a = dateTimeFormat("en-GB", options);
    expect(dateTimeFormat("en-GB", { ...options })).toBe(a);
    const at = new Date("2026-03-01T12:34:00Z");
    expect(a.format(at)).toBe(new Intl.DateTimeFormat("en-GB", options).format(at));
  });
  it("keeps formatters with different options apart", () => {
    const paris = dateTimeFormat("en-GB", { timeZone: "Europe/Paris", hour: "2-digit" });
    const tokyo = dateTimeFormat("en-GB", { timeZone: "Asia/Tokyo", hour: "2-digit" });
    expect(paris).not.toBe(tokyo);
    expect(dateTimeFormat("en-US", { timeZone: "Europe/Paris", hour: "2-digit" })).not.toBe(paris);
  });
});
