import { describe, expect, it } from "vitest";
import type { CaptureHealth } from "./api";
import { captureProblem, consentNotice, healthReason, indicatorFor, itemKindLabel, pendingText } from "./capture";

describe("capture indicator (R7)", () => {
  it("is prominent while capturing and never reveals the next moment", () => {
    const i = indicatorFor({
      state: "active",
      entry_id: "e",
      next_at: "2026-11-25T10:03:17Z",
      source: { kind: "wayland_portal", reason: "wayland_session" },
      consent: "granted",
    });
    expect(i).toEqual({
      active: true,
      label: "Capturing screenshots",
      reason: "",
      source: "Wayland: screen sharing portal",
    });
    expect(JSON.stringify(i)).not.toContain("10:03");
  });
  it("gives the reason when off", () => {
    expect(
      indicatorFor({
        state: "off",
        reason: "no_timer",
        source: { kind: "x11", reason: "x11_session" },
        consent: "not_needed",
      }),
    ).toEqual({
      active: false,
      label: "Screenshots off",
      reason: "No timer is running",
      source: "X11",
    });
    expect(indicatorFor(null).active).toBe(false);
  });
});

describe("why there is no screenshot (R12)", () => {
  const at = "2026-11-25T09:05:40Z";
  it.each([
    ["all_black", "No screenshot at 09:05: the screen was all black."],
    ["single_colour", "No screenshot at 09:05: the screen showed a single colour (locked or blank)."],
    ["no_monitor", "No screenshot at 09:05: no monitor was found."],
    ["permission_denied", "No screenshot at 09:05: the system did not allow screen capture."],
    ["missed", "No screenshot at 09:05: the computer was asleep or the app was not running."],
    ["consent_refused", "No screenshot at 09:05: screen sharing was declined in the desktop's dialog."],
    ["portal_missing", "No screenshot at 09:05: this Wayland desktop has no screen sharing portal."],
    ["no_screencast", "No screenshot at 09:05: this desktop's portal cannot share the screen."],
    [
      "dmabuf_only",
      "No screenshot at 09:05: the desktop offers the screen only as GPU buffers, which Shotclock does not read.",
    ],
    [
      "redaction_unavailable",
      "No screenshot at 09:05: windows on your block list could not be found on this desktop, so nothing was captured.",
    ],
  ] satisfies [CaptureHealth, string][])("%s", (health, text) => {
    expect(captureProblem({ at, health, detail: "" }, "UTC")?.text).toBe(text);
  });
  it("includes the backend's detail", () => {
    expect(captureProblem({ at, health: "backend_error", detail: "X11 error" }, "UTC")?.text).toBe(
      "No screenshot at 09:05: capturing failed (X11 error).",
    );
  });
  it("uses the viewer's zone", () => {
    expect(captureProblem({ at, health: "all_black", detail: "" }, "Europe/Berlin")?.text).toContain("10:05");
  });
  it("says nothing when the last attempt worked", () => {
    expect(captureProblem({ at, health: "ok", detail: "" }, "UTC")).toBeNull();
    expect(captureProblem(null, "UTC")).toBeNull();
  });
  it("falls back to the detail for unknown codes", () => {
    expect(healthReason("weird", "the frame was odd")).toBe("the frame was odd");
    expect(healthReason("weird_code", "")).toBe("weird code");
  });
  it("suggests a fix where there is one", () => {
    expect(captureProblem({ at, health: "permission_denied", detail: "" }, "UTC")?.hint).toMatch(/privacy/);
    expect(captureProblem({ at, health: "all_black", detail: "" }, "UTC")?.hint).toBe("");
  });
});

describe("sync backlog (R25)", () => {
  it("counts waiting changes", () => {
    expect(pendingText(0)).toBe("");
    expect(pendingText(1)).toBe("1 change waiting to sync");
    expect(pendingText(3)).toBe("3 changes waiting to sync");
  });
  it("names item kinds", () => {
    expect(itemKindLabel("timer_start")).toBe("Timer start");
  });
});

describe("screen sharing consent (Wayland portal)", () => {
  const portal = { kind: "wayland_portal", reason: "wayland_session" } as const;
  it("says what will be asked and why before the first dialog, even with no timer running", () => {
    const n = consentNotice({ state: "off", reason: "no_timer", source: portal, consent: "not_asked" });
    expect(n?.kind).toBe("before_asking");
    expect(n?.text).toContain("asks whether Shotclock may share your screens");
    expect(n?.text).toContain("never saves a full-size");
    expect(n?.askAgain).toBe(false);
  });
  it("shows the refusal with a way to ask again", () => {
    const n = consentNotice({ state: "active", entry_id: "e", next_at: null, source: portal, consent: "refused" });
    expect(n?.kind).toBe("refused");
    expect(n?.title).toBe("Screen sharing was declined");
    expect(n?.askAgain).toBe(true);
  });
  it("says nothing once granted, or for sources that ask nobody", () => {
    expect(consentNotice({ state: "off", reason: "no_timer", source: portal, consent: "granted" })).toBeNull();
    expect(
      consentNotice({
        state: "off",
        reason: "no_timer",
        source: { kind: "x11", reason: "x11_session" },
        consent: "not_needed",
      }),
    ).toBeNull();
    expect(consentNotice(null)).toBeNull();
  });
});
