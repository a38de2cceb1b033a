/**
 * The UI's one door to the engine: the {@link Door} of this build and the types it speaks
 * (`./door.ts`). Views import from here only. The desktop build takes the door of `./tauri.ts`
 * (Tauri IPC); the web build (`vite build --mode web`, see `vite.config.ts`) resolves `./tauri`
 * to `./web.ts` (HTTP + EventSource), so `@tauri-apps/api` never enters the web bundle.
 */
import type { AgentEvent, Door, SessionView, Unlisten } from "./door";
import { door } from "./tauri";

export * from "./door";

export const api: Door = door;

/** Subscribes to the engine's events; returns the unsubscribe function. */
export function onAgentEvent(handler: (e: AgentEvent) => void): Promise<Unlisten> {
  return api.onAgentEvent(handler);
}

/** Subscribes to session changes (signed in, out, reconnecting). */
export function onSession(handler: (s: SessionView) => void): Promise<Unlisten> {
  return api.onSession(handler);
}

/** The image of a screenshot, served from the local buffer or the service (at most `width` px wide where the door can). */
export function imageUrl(screenshotId: string, width?: number): string {
  return api.imageUrl(screenshotId, width);
}
