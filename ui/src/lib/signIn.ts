/** The sign-in form (R2): tidying the workspace address and saying clearly why sign-in failed. */
import type { CommandError } from "./api";

/** Trims the address and assumes https:// when no scheme was typed ("acme.example" → "https://acme.example"). */
export function normalizeServerUrl(input: string): string {
  const t = input.trim();
  if (!t) return t;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(t) ? t : `https://${t}`;
}

/** What the form says when signing in failed. */
export function signInErrorText(err: CommandError, serverUrl: string): string {
  switch (err.kind) {
    case "wrong_password":
      return "The email or password is wrong.";
    case "unreachable":
      return `Could not reach ${serverUrl || "the workspace"}. Check the address and your connection, then try again.`;
    case "incompatible":
      return "This workspace runs a different version of Shotclock. Please update the app.";
    case "invalid_url":
      return "Use an https:// address (http only for this computer).";
    case "sso":
      return err.message ? err.message.charAt(0).toUpperCase() + err.message.slice(1) : "Single sign-on did not finish.";
    default:
      return err.message || "Signing in failed.";
  }
}

/** A field of the sign-in form, by its input's `name`. */
export type SignInField = "server_url" | "email" | "password";

/** A field the form still needs before anything is sent, and what the form says about it. */
export interface MissingField {
  field: SignInField;
  text: string;
}

const ENTER_ADDRESS = "Enter your workspace address.";

/** Fields missing before anything is sent, or null when the form is complete. */
export function missingField(serverUrl: string, email: string, password: string): string | null {
  if (!serverUrl.trim()) return ENTER_ADDRESS;
  if (!email.trim()) return "Enter your email.";
  if (!password) return "Enter your password.";
  return null;
}

/**
 * The first field single sign-on still needs, or null: the workspace address where the form
 * asks for one (`serverUrl` null: the page is on the workspace already), then the email, which
 * tells the service whose identity provider to send the browser to. No password: the provider
 * asks for its own.
 */
export function missingSsoField(serverUrl: string | null, email: string): MissingField | null {
  if (serverUrl !== null && !serverUrl.trim()) return { field: "server_url", text: ENTER_ADDRESS };
  if (!email.trim()) {
    return { field: "email", text: "Type your work email first: it tells which workspace to sign in to." };
  }
  return null;
}
