import { afterEach, describe, expect, it, vi } from "vitest";

/** Stands in for the browser's observer: the test says which elements are near the viewport. */
class FakeObserver {
  static last: FakeObserver | null = null;
  static created = 0;
  observed = new Set<Element>();
  constructor(
    private readonly callback: (entries: { target: Element; isIntersecting: boolean }[]) => void,
    readonly options: { rootMargin?: string },
  ) {
    FakeObserver.last = this;
    FakeObserver.created += 1;
  }
  observe(el: Element) {
    this.observed.add(el);
  }
  unobserve(el: Element) {
    this.observed.delete(el);
  }
  report(el: Element, near: boolean) {
    if (this.observed.has(el)) this.callback([{ target: el, isIntersecting: near }]);
  }
}

describe("nearView", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("tells each element when it comes near the viewport and when it leaves, through one observer", async () => {
    vi.stubGlobal("IntersectionObserver", FakeObserver);
    vi.resetModules();
    const { nearView, NEAR_MARGIN } = await import("./nearView");
    const a = {} as Element;
    const b = {} as Element;
    const seenA: boolean[] = [];
    const seenB: boolean[] = [];
    const actionA = nearView(a, (v) => seenA.push(v));
    nearView(b, (v) => seenB.push(v));
    const observer = FakeObserver.last!;
    expect(FakeObserver.created).toBe(1);
    expect(observer.options.rootMargin).toBe(NEAR_MARGIN);

    observer.report(a, true);
    observer.report(b, false);
    observer.report(a, false);
    expect(seenA).toEqual([true, false]);
    expect(seenB).toEqual([false]);

    actionA.destroy?.();
    observer.report(a, true);
    expect(seenA).toEqual([true, false]);
    expect(observer.observed.has(a)).toBe(false);
  });

  it("shows everything where the browser has no IntersectionObserver", async () => {
    vi.stubGlobal("IntersectionObserver", undefined);
    vi.resetModules();
    const { nearView } = await import("./nearView");
    const seen: boolean[] = [];
    nearView({} as Element, (v) => seen.push(v));
    expect(seen).toEqual([true]);
  });
});
