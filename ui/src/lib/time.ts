/** Formatting of durations for people: "4 min 12 s", "1 h 5 min", and the ticking clock. */

/** A human duration: seconds under a minute, min+s under an hour, h+min above. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h === 0) return sec === 0 ? `${m} min` : `${m} min ${sec} s`;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** A running entry in a list, in whole minutes ("< 1 min", "12 min", "1 h 5 min"); the big clock has the seconds. */
export function formatRunning(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  return s < 60 ? "< 1 min" : formatDuration(s - (s % 60));
}

/** The running timer: "0:04:12", "12:00:05". */
export function formatClock(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return `${h}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`;
}

/**
 * The big clock: "0:04:12" with seconds (the window is focused), whole minutes otherwise
 * ("< 1 min", "4 min", "1 h 5 min"), so a window left on screen behind others changes once a
 * minute.
 */
export function clockText(totalSeconds: number, seconds: boolean): string {
  return seconds ? formatClock(totalSeconds) : formatRunning(totalSeconds);
}

/**
 * `text` with every digit a zero: as wide as `text` in tabular digits, and the same from one
 * second to the next ("0:04:12" → "0:00:00"). The running clock lays out this copy, so the row
 * around it moves only when the number of digits changes.
 */
export function sizingText(text: string): string {
  return text.replace(/[0-9]/g, "0");
}

/** "−4 min 12 s removed", or nothing when no time was removed. */
export function formatRemoved(removedSeconds: number): string {
  return removedSeconds > 0 ? `−${formatDuration(removedSeconds)} removed` : "";
}
