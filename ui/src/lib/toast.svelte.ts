/**
 * The error toast (`[data-testid=error-toast]`): the newest command error, shown for a few
 * seconds. An error saying the session is gone does not toast; it sends the app back to sign-in.
 */
import { asCommandError, type CommandError } from "./api";

const SHOW_MS = 8000;

let current = $state<CommandError | null>(null);
let timer: ReturnType<typeof setTimeout> | null = null;
let signedOutHandler: (() => void) | null = null;

export const toast = {
  get current(): CommandError | null {
    return current;
  },
  dismiss(): void {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    current = null;
  },
};

/** Sets what happens when a command says the session is gone (the app re-reads the session). */
export function whenSignedOut(handler: () => void): void {
  signedOutHandler = handler;
}

/** Shows any command rejection; returns it as a CommandError for callers that also branch on it. */
export function reportError(e: unknown): CommandError {
  const err = asCommandError(e);
  if (err.kind === "signed_out") {
    signedOutHandler?.();
    return err;
  }
  console.error("command failed", err);
  current = err;
  if (timer !== null) clearTimeout(timer);
  timer = setTimeout(() => {
    timer = null;
    current = null;
  }, SHOW_MS);
  return err;
}
