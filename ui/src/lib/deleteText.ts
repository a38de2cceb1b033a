/**
 * What the delete confirmation says (R19–R22). It is built from the service's dry run — the same
 * code path as the real delete — so the dialog states exactly what confirming will do.
 */
import { formatDuration } from "./time";

import type { DeleteReport } from "./bindings/api";
export type { DeleteKind, DeleteReport } from "./bindings/api";

export interface Confirmation {
  /** Whether the user may confirm at all. */
  allowed: boolean;
  /** The main sentence. */
  effect: string;
  /** Always shown when allowed: the delete cannot be undone. */
  warning: string;
}

const PERMANENT = "This is permanent: the screenshot is deleted everywhere and cannot be restored.";

function entryName(description: string): string {
  const d = description.trim();
  return d ? `“${d}”` : "the untitled entry";
}

/** The confirmation for a delete the service would allow. */
export function confirmationFor(report: DeleteReport): Confirmation {
  const entry = entryName(report.entry_description);
  let effect: string;
  if (report.decision === "delete_entry") {
    effect = `This is the last screenshot of ${entry}: deleting it deletes the whole entry.`;
  } else if (report.removed_secs > 0) {
    effect = `Deleting it removes ${formatDuration(report.removed_secs)} from ${entry}.`;
  } else {
    effect = `Deleting it removes no time from ${entry}.`;
  }
  return { allowed: true, effect, warning: PERMANENT };
}

/** Why a delete is refused, from the service's error code. */
export function refusalFor(code: string, message: string): Confirmation {
  const reasons: Record<string, string> = {
    stop_timer_first: "This screenshot belongs to the running timer. Stop the timer first, then delete it.",
    entry_approved: "This entry is approved: only an admin can delete its screenshots.",
    entry_locked: "This entry is locked: only an admin can delete its screenshots.",
    not_found: "This screenshot no longer exists.",
  };
  return { allowed: false, effect: reasons[code] ?? message, warning: "" };
}
