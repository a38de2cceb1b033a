/**
 * What the app says about capturing (R7, R12, R25): the indicator's text, why a window has no
 * screenshot, and the sync backlog. The next capture moment is deliberately never shown: it is
 * random so that nobody can time their work around it.
 */
import type { CaptureAttempt, CaptureHealth, CaptureStatus, OffReason, SourceKind } from "./api";
import { sentenceCase, timeOfDay } from "./format";

export interface Indicator {
  active: boolean;
  /** "Capturing screenshots" or "Screenshots off". */
  label: string;
  /** Why capture is off (empty when active). */
  reason: string;
  /** The screen source, e.g. "Wayland: screen sharing portal" (empty when unknown). */
  source: string;
}

const SOURCES: Record<SourceKind, string> = {
  x11: "X11",
  wayland_portal: "Wayland: screen sharing portal",
  native: "System screen capture",
  given: "Built-in source",
};

/** The indicator for a capture status. */
export function indicatorFor(status: CaptureStatus | null): Indicator {
  const source = status?.source ? SOURCES[status.source.kind] : "";
  if (status?.state === "active") return { active: true, label: "Capturing screenshots", reason: "", source };
  const reason = status ? sentenceCase(OFF_REASONS[status.reason]) : "";
  return { active: false, label: "Screenshots off", reason, source };
}

const OFF_REASONS: Record<OffReason, string> = {
  starting: "starting",
  signed_out: "signed out",
  no_timer: "no timer is running",
  unconfirmed: "waiting for the service to confirm the running timer",
  disabled: "screenshot capturing is turned off for this workspace",
  no_plan: "screenshots need the enterprise plan or a trial",
  trial_expired: "the screenshot trial has ended",
  unschedulable: "the workspace's capture window cannot be scheduled",
};

export interface ConsentNotice {
  /** `before_asking`: no grant is stored, the desktop's dialog comes next; `refused`: it was declined. */
  kind: "before_asking" | "refused";
  title: string;
  text: string;
  /** Whether the notice offers "Ask again". */
  askAgain: boolean;
}

/**
 * What the app says about the desktop's screen-sharing permission (the Wayland portal): before
 * its first dialog, what will be asked and why; after a refusal, the reason and a way to ask
 * again. Null when there is nothing to say (another source, or a grant is held).
 */
export function consentNotice(status: CaptureStatus | null): ConsentNotice | null {
  if (!status || status.source?.kind !== "wayland_portal") return null;
  switch (status.consent) {
    case "not_asked":
      return {
        kind: "before_asking",
        title: "Your desktop will ask to share your screen",
        text:
          "On this desktop Shotclock takes screenshots through screen sharing. When screenshots start " +
          "(a timer runs and your workspace records them), your desktop asks whether Shotclock may " +
          "share your screens: choose all monitors and allow it. Shotclock then takes one small, " +
          "blurred picture at a random moment in each capture window and never saves a full-size " +
          "one. Your desktop shows that sharing is on while the timer runs, and remembers your answer.",
        askAgain: false,
      };
    case "refused":
      return {
        kind: "refused",
        title: "Screen sharing was declined",
        text:
          "Your desktop's screen sharing dialog was declined (or an earlier permission was withdrawn), " +
          "so no screenshots are taken and each missed one is recorded with this reason. " +
          "Ask again to see the dialog once more.",
        askAgain: true,
      };
    default:
      return null;
  }
}

/** Every code but `ok`: a new capture health fails the type check until it is worded here. */
const REASONS: Record<Exclude<CaptureHealth, "ok">, string> = {
  all_black: "the screen was all black",
  single_colour: "the screen showed a single colour (locked or blank)",
  no_monitor: "no monitor was found",
  permission_denied: "the system did not allow screen capture",
  consent_refused: "screen sharing was declined in the desktop's dialog",
  portal_missing: "this Wayland desktop has no screen sharing portal",
  no_screencast: "this desktop's portal cannot share the screen",
  dmabuf_only: "the desktop offers the screen only as GPU buffers, which Shotclock does not read",
  redaction_unavailable:
    "windows on your block list could not be found on this desktop, so nothing was captured",
  backend_error: "capturing failed",
  missed: "the computer was asleep or the app was not running",
};

const HINTS: Record<string, string> = {
  permission_denied: "Allow Shotclock to record the screen in your system's privacy settings.",
  no_monitor: "Check that a display is connected and switched on.",
  portal_missing: "Install xdg-desktop-portal and your desktop's portal package (GNOME, KDE, …).",
  no_screencast: "Install your desktop's portal package (for example xdg-desktop-portal-gnome or -kde).",
};

/** Why a capture attempt produced no screenshot, in words. */
export function healthReason(health: string, detail: string): string {
  const known = (REASONS as Record<string, string | undefined>)[health];
  if (!known) return detail.trim() || health.replace(/_/g, " ");
  if (health === "backend_error" && detail.trim()) return `${known} (${detail.trim()})`;
  return known;
}

export interface CaptureProblem {
  health: string;
  /** "No screenshot at 10:05: the screen was all black." */
  text: string;
  /** What the user can do about it, when there is something. */
  hint: string;
}

/** The last attempt's problem, or null when it went fine (or there was none). */
export function captureProblem(attempt: CaptureAttempt | null, timeZone: string): CaptureProblem | null {
  if (!attempt || attempt.health === "ok") return null;
  const at = timeOfDay(attempt.at, timeZone);
  return {
    health: attempt.health,
    text: `No screenshot at ${at}: ${healthReason(attempt.health, attempt.detail)}.`,
    hint: HINTS[attempt.health] ?? "",
  };
}

/** "3 changes waiting to sync", or "" when nothing waits. */
export function pendingText(pending: number): string {
  if (pending <= 0) return "";
  return pending === 1 ? "1 change waiting to sync" : `${pending} changes waiting to sync`;
}

/** A rejected outbox item's kind for people ("screenshot" → "Screenshot", "timer_start" → "Timer start"). */
export function itemKindLabel(kind: string): string {
  return sentenceCase(kind.replace(/_/g, " "));
}
