/** The sidebar's sections, in order. Everyone sees Settings; members see it read-only. */
export type SectionId = "timer" | "screenshots" | "settings";

export interface Section {
  id: SectionId;
  label: string;
  /** Group heading shown above the item, e.g. "Activity". */
  group?: string;
  title: string;
}

export const SECTIONS: readonly Section[] = [
  { id: "timer", label: "Timer", title: "Timer" },
  { id: "screenshots", label: "Screenshots", group: "Activity", title: "Activity › Screenshots" },
  { id: "settings", label: "Settings", title: "Settings" },
];

/** Resolves a location hash like `#/screenshots` to a section, defaulting to the timer. */
export function sectionFromHash(hash: string): SectionId {
  const id = hash.replace(/^#\/?/, "");
  const found = SECTIONS.find((s) => s.id === id);
  return found ? found.id : "timer";
}
