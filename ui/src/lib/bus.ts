/**
 * The UI's own event bus. The app subscribes once to the shell's `agent` events and passes each
 * on here; views listen here, so they can subscribe and unsubscribe synchronously. Views also
 * use it to tell each other things the shell does not (a delete made in the Screenshots view
 * changes today's entries in the Timer view).
 */
import type { AgentEvent } from "./api";

export type UiEvent = AgentEvent | { type: "entries_stale" };

type Handler = (e: UiEvent) => void;

const handlers = new Set<Handler>();

/** Listens to every event; returns the function that stops listening. */
export function onUiEvent(handler: Handler): () => void {
  handlers.add(handler);
  return () => {
    handlers.delete(handler);
  };
}

/** Passes `e` to every listener; one failing listener does not stop the others. */
export function emitUiEvent(e: UiEvent): void {
  for (const h of [...handlers]) {
    try {
      h(e);
    } catch (err) {
      console.error("event handler failed", err);
    }
  }
}
