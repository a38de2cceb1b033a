/**
 * Shared `Intl.DateTimeFormat`s. Building one is costly in JavaScriptCore (ICU loads the zone
 * and the locale's patterns: milliseconds), while formatting with one is cheap; the ticking
 * views format several times a second, so each distinct (locale, options) is built once.
 */

const formats = new Map<string, Intl.DateTimeFormat>();

/** The formatter for `locale` and `options`, built on first use and kept. */
export function dateTimeFormat(locale: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale}|${JSON.stringify(options)}`;
  let format = formats.get(key);
  if (format === undefined) {
    format = new Intl.DateTimeFormat(locale, options);
    formats.set(key, format);
  }
  return format;
}
