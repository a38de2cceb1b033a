/**
 * The approved or locked state of a screenshot's entry, shown beside its screenshots in
 * Activity › Screenshots (R14, R21, R22): members cannot delete screenshots of such an entry
 * (nor change the entry); an admin can, and an approved entry keeps its time whatever goes.
 */

/** What a screenshot says of its entry (fields of the wire `Screenshot`). */
export interface EntryState {
  entry_approved: boolean;
  entry_locked: boolean;
}

export interface EntryMark {
  kind: "approved" | "locked";
  /** The short mark. */
  label: string;
  /** Why it matters, for the mark's title. */
  title: string;
}

/** The marks of a screenshot's entry, approved first; none for an open entry. */
export function entryMarks(shot: EntryState): EntryMark[] {
  const marks: EntryMark[] = [];
  if (shot.entry_approved) {
    marks.push({
      kind: "approved",
      label: "approved",
      title:
        "This entry is approved: members can't delete its screenshots or change it. An admin can; the entry keeps its time.",
    });
  }
  if (shot.entry_locked) {
    marks.push({
      kind: "locked",
      label: "locked",
      title:
        "This entry is in the workspace's locked period: members can't delete its screenshots or change it. An admin can.",
    });
  }
  return marks;
}
