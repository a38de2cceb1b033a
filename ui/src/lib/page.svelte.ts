/**
 * Whether the page is on screen (`document.visibilityState`), as state views can read: a window
 * closed to the tray or minimised is hidden, and views then let go of what only the eye needs
 * (decoded thumbnails).
 */
export const page = $state({ visible: true });

if (typeof document !== "undefined") {
  const read = () => (page.visible = document.visibilityState !== "hidden");
  read();
  document.addEventListener("visibilitychange", read);
}
