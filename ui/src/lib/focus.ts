/** Keyboard focus for modal dialogs: Tab cycles inside the dialog, and focus goes back on close. */

/** Keeps Tab / Shift+Tab among the enabled buttons of `container`. */
export function trapTab(e: KeyboardEvent, container: HTMLElement): void {
  if (e.key !== "Tab") return;
  const focusable = [...container.querySelectorAll<HTMLElement>("button:not(:disabled)")];
  if (focusable.length === 0) return;
  const first = focusable[0];
  const last = focusable[focusable.length - 1];
  if (e.shiftKey && document.activeElement === first) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && document.activeElement === last) {
    e.preventDefault();
    first.focus();
  }
}

/**
 * Focuses `target` now; the returned cleanup gives focus back to what had it before (when it is
 * still on the page). For `onMount`.
 */
export function focusWhileOpen(target: HTMLElement | undefined): () => void {
  const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  target?.focus();
  return () => {
    if (before && document.contains(before)) before.focus();
  };
}
