/**
 * The UI's one door to the engine: the {@link Door} of this build (the desktop app's, over
 * Tauri IPC) and the types it speaks (`./door.ts`). Views import from here only, so a second
 * transport (HTTP + EventSource for a web app) replaces `./tauri.ts` and nothing else.
 */
import type { AgentEvent, Door, SessionView, Unlisten } from "./door";
import { tauriDoor } from "./tauri";

export * from "./door";

export const api: Door = tauriDoor;

/** Subscribes to the engine's events; returns the unsubscribe function. */
export function onAgentEvent(handler: (e: AgentEvent) => void): Promise<Unlisten> {
  return api.onAgentEvent(handler);
}

/** Subscribes to session changes (signed in, out, reconnecting). */
export function onSession(handler: (s: SessionView) => void): Promise<Unlisten> {
  return api.onSession(handler);
}

/** The image of a screenshot, served from the local buffer or the service. */
export function imageUrl(screenshotId: string): string {
  return api.imageUrl(screenshotId);
}
