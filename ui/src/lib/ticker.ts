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

/** The part of the window a focus watch needs (a fake in unit tests). */
export interface FocusSource {
  hasFocus(): boolean;
  addEventListener(type: "focus" | "blur", listener: () => void): void;
  removeEventListener(type: "focus" | "blur", listener: () => void): void;
}

/** The page's window: `focus`/`blur` on `window`, the current state from `document.hasFocus()`. */
function windowFocus(): FocusSource {
  return {
    hasFocus: () => document.hasFocus(),
    addEventListener: (type, listener) => window.addEventListener(type, listener),
    removeEventListener: (type, listener) => window.removeEventListener(type, listener),
  };
}

/**
 * Calls `fn` with whether the window has the keyboard focus: at once, then on every change.
 * Returns the function that stops listening.
 *
 * The running clock shows seconds only while the window is focused (someone is using it): a
 * window left on screen behind another one then changes once a minute instead of once a second,
 * and every change is a repaint of the window.
 */
export function watchFocus(fn: (focused: boolean) => void, src: FocusSource = windowFocus()): () => void {
  const onFocus = () => fn(true);
  const onBlur = () => fn(false);
  src.addEventListener("focus", onFocus);
  src.addEventListener("blur", onBlur);
  fn(src.hasFocus());
  return () => {
    src.removeEventListener("focus", onFocus);
    src.removeEventListener("blur", onBlur);
  };
}

/** The part of an element a ticking text needs (a fake in unit tests). */
export interface TextHolder {
  textContent: string | null;
}

/**
 * Svelte action: shows `text` in the element by replacing its text node (`textContent`) on every
 * change, never by editing the node in place (`nodeValue`, what Svelte's own `{text}` does).
 *
 * Measured on WebKitGTK 2.50 without compositing: a text node edited in place once a second
 * keeps the UI process's display-refresh thread (`VBlankMonitor`) waking about 26 times a
 * second, and the web process with it, while a replaced node repaints once and sleeps. For the
 * running clock that is 45 → 10–15 wakeups a second of the app process (`tests/e2e_idle.rs`).
 */
export function replaceText(node: TextHolder, text: string) {
  node.textContent = text;
  return {
    update(next: string) {
      node.textContent = next;
    },
  };
}
