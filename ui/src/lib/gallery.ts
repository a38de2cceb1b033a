/**
 * Moving through a member's screenshots in the gallery (R17): stepping stops at either end
 * (no wrap-around, so "5 / 5" → next does nothing), and where the gallery goes after a delete.
 */

/** The index after stepping `step` from `index` among `count` items, clamped to the ends. */
export function stepIndex(index: number, step: number, count: number): number {
  if (count <= 0) return -1;
  return Math.min(count - 1, Math.max(0, index + step));
}

/** Whether stepping `step` from `index` moves at all. */
export function canStep(index: number, step: number, count: number): boolean {
  return count > 0 && stepIndex(index, step, count) !== index;
}

/**
 * After deleting the item at `index` of `count`, the index to show in the shortened list: the
 * next screenshot (which moves into the same place), or `null` (close) when there is no next one.
 */
export function indexAfterDelete(index: number, count: number): number | null {
  return index >= 0 && index < count - 1 ? index : null;
}

/** "2 / 5". */
export function positionText(index: number, count: number): string {
  return `${index + 1} / ${count}`;
}
