/**
 * Periodic work that runs only while the window is on screen.
 *
 * A hidden window (closed to the tray, minimised) fires `visibilitychange` with
 * `visibilityState === "hidden"`: the interval stops there, so a hidden window costs nothing.
 * Back on screen, the callback runs at once (the display catches up) and the interval restarts.
 */

/** The part of `document` a ticker needs (a fake in unit tests). */
export interface VisibilitySource {
  readonly visibilityState: string;
  addEventListener(type: "visibilitychange", listener: () => void): void;
  removeEventListener(type: "visibilitychange", listener: () => void): void;
}

/**
 * Calls `fn` every `ms` milliseconds while `doc` is visible. Returns the function that stops it
 * for good (and stops listening for visibility changes).
 */
export function whileVisible(fn: () => void, ms: number, doc: VisibilitySource = document): () => void {
  let timer: ReturnType<typeof setInterval> | null = null;
  const pause = () => {
    if (timer !== null) clearInterval(timer);
    timer = null;
  };
  const resume = () => {
    if (timer === null) timer = setInterval(fn, ms);
  };
  const onChange = () => {
    if (doc.visibilityState === "hidden") {
      pause();
    } else if (timer === null) {
      fn();
      resume();
    }
  };
  doc.addEventListener("visibilitychange", onChange);
  if (doc.visibilityState !== "hidden") resume();
  return () => {
    pause();
    doc.removeEventListener("visibilitychange", onChange);
  };
}
