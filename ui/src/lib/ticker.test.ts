import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { replaceText, watchFocus, whileVisible, type FocusSource, type TextHolder, type VisibilitySource } from "./ticker";

/** An event target that counts its listeners (a watch must stop listening when stopped). */
class CountingTarget extends EventTarget {
  listeners = 0;
  override addEventListener(type: string, listener: () => void) {
    this.listeners += 1;
    super.addEventListener(type, listener);
  }
  override removeEventListener(type: string, listener: () => void) {
    this.listeners -= 1;
    super.removeEventListener(type, listener);
  }
}

/** A document stand-in whose visibility the test switches, firing `visibilitychange` as WebKit does. */
class FakeDocument extends CountingTarget implements VisibilitySource {
  visibilityState: "visible" | "hidden" = "visible";
  set(state: "visible" | "hidden") {
    this.visibilityState = state;
    this.dispatchEvent(new Event("visibilitychange"));
  }
}

describe("whileVisible (the timer's tick)", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("ticks every period while the document is visible", () => {
    const doc = new FakeDocument();
    const tick = vi.fn();
    const stop = whileVisible(tick, 1000, doc);
    vi.advanceTimersByTime(3000);
    expect(tick).toHaveBeenCalledTimes(3);
    stop();
  });

  it("stops ticking when the document is hidden, and catches up at once when shown again", () => {
    const doc = new FakeDocument();
    const tick = vi.fn();
    const stop = whileVisible(tick, 1000, doc);
    vi.advanceTimersByTime(2000);
    expect(tick).toHaveBeenCalledTimes(2);

    doc.set("hidden");
    vi.advanceTimersByTime(60_000);
    expect(tick).toHaveBeenCalledTimes(2);
    expect(vi.getTimerCount()).toBe(0);

    doc.set("visible");
    expect(tick).toHaveBeenCalledTimes(3);
    vi.advanceTimersByTime(1000);
    expect(tick).toHaveBeenCalledTimes(4);
    stop();
  });

  it("does not start while the document starts hidden", () => {
    const doc = new FakeDocument();
    doc.visibilityState = "hidden";
    const tick = vi.fn();
    const stop = whileVisible(tick, 1000, doc);
    vi.advanceTimersByTime(5000);
    expect(tick).not.toHaveBeenCalled();
    stop();
  });

  it("stops for good and stops listening", () => {
    const doc = new FakeDocument();
    const tick = vi.fn();
    const stop = whileVisible(tick, 1000, doc);
    expect(doc.listeners).toBe(1);
    stop();
    expect(doc.listeners).toBe(0);
    doc.set("hidden");
    doc.set("visible");
    vi.advanceTimersByTime(5000);
    expect(tick).not.toHaveBeenCalled();
  });

  it("does not stack intervals when 'visible' is announced twice", () => {
    const doc = new FakeDocument();
    const tick = vi.fn();
    const stop = whileVisible(tick, 1000, doc);
    doc.set("visible");
    doc.set("visible");
    vi.advanceTimersByTime(1000);
    expect(tick).toHaveBeenCalledTimes(1);
    stop();
  });
});

/** A window stand-in whose focus the test moves, firing `focus`/`blur` as a browser does. */
class FakeWindow extends CountingTarget implements FocusSource {
  focused = false;
  hasFocus() {
    return this.focused;
  }
  move(focused: boolean) {
    this.focused = focused;
    this.dispatchEvent(new Event(focused ? "focus" : "blur"));
  }
}

describe("watchFocus (the clock's seconds)", () => {
  it("says the current focus at once, then every change", () => {
    for (const start of [false, true]) {
      const win = new FakeWindow();
      win.focused = start;
      const seen: boolean[] = [];
      const stop = watchFocus((f) => seen.push(f), win);
      win.move(!start);
      win.move(start);
      expect(seen).toEqual([start, !start, start]);
      stop();
    }
  });

  it("stops listening", () => {
    const win = new FakeWindow();
    const seen: boolean[] = [];
    const stop = watchFocus((f) => seen.push(f), win);
    expect(win.listeners).toBe(2);
    stop();
    expect(win.listeners).toBe(0);
    win.move(true);
    expect(seen).toEqual([false]);
  });
});

/** An element stand-in: assigning `textContent` puts a new text node in, as the DOM does. */
class FakeElement implements TextHolder {
  firstChild: { nodeValue: string } | null = null;
  get textContent() {
    return this.firstChild?.nodeValue ?? "";
  }
  set textContent(text: string | null) {
    this.firstChild = text ? { nodeValue: text } : null;
  }
}

describe("replaceText (the clock's text)", () => {
  it("shows the text at once and every new text in a new node", () => {
    const el = new FakeElement();
    const action = replaceText(el, "0:00:01");
    expect(el.textContent).toBe("0:00:01");
    const first = el.firstChild;
    action.update("0:00:02");
    expect(el.textContent).toBe("0:00:02");
    expect(el.firstChild).not.toBe(first);
    expect(first?.nodeValue).toBe("0:00:01");
  });
});
