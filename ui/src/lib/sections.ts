/**
 * The sidebar's sections, in order. Everyone sees Settings and Members; members see them
 * read-only. Approvals is for admins only.
 */
export type SectionId = "timer" | "screenshots" | "settings" | "approvals" | "members";

export interface Section {
  id: SectionId;
  label: string;
  /** Group heading shown above the item, e.g. "Activity". */
  group?: string;
  title: string;
  /** Shown to admins only. */
  adminOnly?: boolean;
}

export const SECTIONS: readonly Section[] = [
  { id: "timer", label: "Timer", title: "Timer" },
  { id: "screenshots", label: "Screenshots", group: "Activity", title: "Activity › Screenshots" },
  { id: "settings", label: "Settings", title: "Settings" },
  { id: "approvals", label: "Approvals", title: "Approvals", adminOnly: true },
  { id: "members", label: "Members", title: "Members" },
];

/** The sections a user with `admin` rights sees. */
export function sectionsFor(admin: boolean): readonly Section[] {
  return SECTIONS.filter((s) => admin || !s.adminOnly);
}

/** Resolves a location hash like `#/screenshots` to a section, defaulting to the timer. */
export function sectionFromHash(hash: string): SectionId {
  const id = hash.replace(/^#\/?/, "");
  const found = SECTIONS.find((s) => s.id === id);
  return found ? found.id : "timer";
}
