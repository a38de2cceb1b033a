/**
 * The single sign-on section of Settings (R31) as plain data: the form an admin edits, read
 * from the service's settings, checked here for what a person can fix at once (an issuer that
 * is not an https URL, a domain that is not one, a missing secret), and turned into the update
 * the service takes. The service checks everything again and tests the provider itself.
 */
import type { SsoSettings, SsoSettingsUpdate } from "./bindings/api";

/** What the admin edits. `domains` is the text of the field: comma, space or line separated. */
export interface SsoForm {
  issuer: string;
  clientId: string;
  /** A new client secret; empty keeps the stored one. Never filled from the service. */
  clientSecret: string;
  domains: string;
  autoJoin: boolean;
  passwordSignIn: boolean;
}

/** The most allowed domains the service takes. */
export const MAX_DOMAINS = 20;

/** The form for these settings: the secret always empty (it is write-only). */
export function formOf(s: SsoSettings): SsoForm {
  return {
    issuer: s.issuer,
    clientId: s.client_id,
    clientSecret: "",
    domains: s.allowed_domains.join(", "),
    autoJoin: s.auto_join,
    passwordSignIn: s.password_sign_in,
  };
}

/** A domain as the service stores it: trimmed, lowercase, without a leading `@`. */
export function normalDomain(value: string): string {
  return value.trim().replace(/^@+/, "").toLowerCase();
}

/** Whether `d` (normalised) is an email domain such as `example.com`. */
export function isDomain(d: string): boolean {
  return (
    d.length > 0 &&
    d.length <= 253 &&
    d.includes(".") &&
    !/^[.-]/.test(d) &&
    !/[.-]$/.test(d) &&
    !d.includes("..") &&
    /^[a-z0-9.-]+$/.test(d)
  );
}

/** The domains of the field's text, normalised and without repeats, and those that are not domains. */
export function parseDomains(text: string): { domains: string[]; bad: string[] } {
  const domains: string[] = [];
  const bad: string[] = [];
  for (const part of text.split(/[\s,;]+/)) {
    const d = normalDomain(part);
    if (!d) continue;
    if (!isDomain(d)) bad.push(part.trim());
    else if (!domains.includes(d)) domains.push(d);
  }
  return { domains, bad };
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * What is wrong with an issuer URL, in plain words, or `null`: it must be an `https://` URL
 * (plain `http://` only to this computer, which a test or development service may allow).
 */
export function issuerProblem(issuer: string): string | null {
  const text = issuer.trim();
  if (!text) return "Enter the issuer URL your identity provider shows (https://…).";
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return `"${text}" is not a URL: the issuer looks like https://login.example.com/…`;
  }
  if (u.protocol === "https:") return null;
  if (u.protocol === "http:" && isLoopback(u.hostname)) return null;
  return "The issuer must be an https:// URL.";
}

/** What the client secret field says under it. */
export function secretHint(s: SsoSettings): string {
  return s.client_secret_set
    ? "Stored — leave empty to keep it, unless you change the issuer or client id."
    : "Required: the secret your identity provider gave for this client.";
}

/** The update to send, or the first problem to show (nothing is sent then). */
export function toUpdate(form: SsoForm, s: SsoSettings): { update: SsoSettingsUpdate } | { problem: string } {
  const issuerIssue = issuerProblem(form.issuer);
  if (issuerIssue) return { problem: issuerIssue };
  const clientId = form.clientId.trim();
  if (!clientId) return { problem: "Enter the client id your identity provider gave." };
  const secret = form.clientSecret.trim();
  const issuer = form.issuer.trim().replace(/\/+$/, "");
  if (!secret && !s.client_secret_set) return { problem: "Enter the client secret." };
  // The service sends a stored secret only to the provider and client it was given for.
  if (!secret && (issuer !== s.issuer || clientId !== s.client_id)) {
    return { problem: "Enter the client secret again: the stored one is only sent to the provider and client it was given for." };
  }
  const { domains, bad } = parseDomains(form.domains);
  if (bad.length) return { problem: `Not an email domain: ${bad.join(", ")} (write them like example.com).` };
  if (domains.length === 0) return { problem: "Name at least one email domain whose people sign in this way." };
  if (domains.length > MAX_DOMAINS) return { problem: `Name at most ${MAX_DOMAINS} email domains.` };
  const update: SsoSettingsUpdate = {
    issuer,
    client_id: clientId,
    allowed_domains: domains,
    auto_join: form.autoJoin,
    password_sign_in: form.passwordSignIn,
  };
  if (secret) update.client_secret = secret;
  return { update };
}

/** The one line saying how the workspace signs in now. */
export function linkSummary(s: SsoSettings): string {
  if (!s.enabled) return "Not linked: everyone signs in with email and password.";
  const passwords = s.password_sign_in ? "passwords still work" : "only owners may use a password";
  return `Linked to ${s.issuer}; ${passwords}.`;
}
