/**
 * What the entry dialogs say (R15, R39): the edit confirmation built from the edit's dry run (how
 * many screenshots the new times leave outside, and the time the entry then counts), the delete
 * confirmation (how many screenshots go with the entry, and that it is permanent), and why a
 * change is refused, from the service's error code (the engine words its own refusals the same).
 */
import type { EditReport, EntryDeleteReport } from "./bindings/api";
import type { Confirmation } from "./deleteText";
import { formatDuration } from "./time";

function entryName(description: string): string {
  const d = description.trim();
  return d ? `“${d}”` : "the untitled entry";
}

function screenshots(n: number): string {
  return n === 1 ? "1 screenshot" : `${n} screenshots`;
}

/** The confirmation an edit needs when its new times leave screenshots outside the entry. */
export function editConfirmation(report: EditReport): Confirmation {
  const n = report.excluded_screenshots.length;
  const removed = report.removed_secs > 0 ? ` (${formatDuration(report.removed_secs)} removed)` : "";
  return {
    allowed: true,
    effect:
      `The new times leave ${screenshots(n)} outside ${entryName(report.entry.description)}: ` +
      `${n === 1 ? "it is" : "they are"} deleted with the edit. ` +
      `The entry will count ${formatDuration(report.entry.duration_secs)}${removed}.`,
    warning: "This is permanent: those screenshots are deleted everywhere and cannot be restored.",
  };
}

/** Whether an edit's dry run asks the user to confirm deleting screenshots. */
export function needsConfirmation(report: EditReport): boolean {
  return report.excluded_screenshots.length > 0;
}

/** The confirmation of deleting an entry. */
export function entryDeleteConfirmation(report: EntryDeleteReport): Confirmation {
  const entry = entryName(report.description);
  const effect =
    report.screenshots === 0
      ? `Delete ${entry} (${formatDuration(report.duration_secs)})? It has no screenshots.`
      : `Delete ${entry} (${formatDuration(report.duration_secs)})? Its ${screenshots(report.screenshots)} ` +
        `${report.screenshots === 1 ? "is" : "are"} deleted with it.`;
  return {
    allowed: true,
    effect,
    warning: "This is permanent: the entry and its screenshots are deleted everywhere and cannot be restored.",
  };
}

/** Why a change of an entry is refused, from the error code (else the message as it came). */
export function entryRefusal(code: string | undefined, message: string): string {
  const reasons: Record<string, string> = {
    entry_approved: "This entry is approved: only an admin can change it.",
    entry_locked: "This entry is in the locked period: only an admin can change it.",
    entry_overlap: "These times overlap another of your entries.",
    not_found: "This entry no longer exists.",
    deleted: "This entry was deleted.",
    forbidden: "Only admins can do this.",
  };
  return (code && reasons[code]) || message;
}
