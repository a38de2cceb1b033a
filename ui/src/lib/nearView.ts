/**
 * A Svelte action that says whether an element is on screen or within about one screen of it.
 * Long lists of thumbnails show an image only there: the others are empty frames of the same
 * size, so the page holds a few screenfuls of decoded images however long the day is.
 */

/** How far outside the viewport an element still counts as near (CSS margin syntax). */
export const NEAR_MARGIN = "100% 0px";

type Observe = (node: Element, onChange: (near: boolean) => void) => () => void;

/** The observer shared by every element (one IntersectionObserver, not one per thumbnail). */
function sharedObserver(): Observe {
  const listeners = new Map<Element, (near: boolean) => void>();
  let observer: IntersectionObserver | null = null;
  return (node, onChange) => {
    observer ??= new IntersectionObserver(
      (entries) => {
        for (const e of entries) listeners.get(e.target)?.(e.isIntersecting);
      },
      { rootMargin: NEAR_MARGIN },
    );
    listeners.set(node, onChange);
    observer.observe(node);
    return () => {
      listeners.delete(node);
      observer?.unobserve(node);
    };
  };
}

let observe: Observe | null = null;

export function nearView(node: Element, onChange: (near: boolean) => void) {
  if (typeof IntersectionObserver === "undefined") {
    onChange(true);
    return {};
  }
  observe ??= sharedObserver();
  const stop = observe(node, onChange);
  return { destroy: stop };
}
