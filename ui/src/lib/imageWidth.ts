/**
 * Images at the size they are shown. A web view decodes an image at its own size: a 640 px
 * thumbnail in a 200 px grid cell holds ten times the pixels the cell shows. The desktop shell's
 * image scheme scales a thumbnail down on request (`?w=`), so a grid asks for its cell's width.
 */

/** Widths are asked for in steps of this many pixels, so similar cells share one size. */
export const WIDTH_STEP = 80;

/** The width to ask for a cell `cssWidth` CSS pixels wide on a screen of `pixelRatio` (16–640). */
export function shownWidth(cssWidth: number, pixelRatio: number): number {
  const px = cssWidth * (Number.isFinite(pixelRatio) && pixelRatio > 0 ? pixelRatio : 1);
  const stepped = Math.ceil(px / WIDTH_STEP) * WIDTH_STEP;
  return Math.min(640, Math.max(WIDTH_STEP, Number.isFinite(stepped) ? stepped : 640));
}

/** `url` asking the shell's image scheme for at most `width` pixels wide (`?w=`, 16–640). */
export function scaledUrl(url: string, width?: number): string {
  if (width === undefined || !Number.isFinite(width)) return url;
  return `${url}?w=${Math.min(640, Math.max(16, Math.ceil(width)))}`;
}
