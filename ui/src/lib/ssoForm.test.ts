import { describe, expect, it } from "vitest";
import type { SsoSettings } from "./bindings/api";
import { formOf, issuerProblem, isDomain, linkSummary, parseDomains, secretHint, toUpdate, type SsoForm } from "./ssoForm";

const UNLINKED: SsoSettings = {
  enabled: false,
  issuer: "",
  client_id: "",
  client_secret_set: false,
  allowed_domains: [],
  auto_join: false,
  password_sign_in: true,
  callback_url: "https://team.example.com/api/v1/sso/callback",
};
const LINKED: SsoSettings = {
  ...UNLINKED,
  enabled: true,
  issuer: "https://login.example.com",
  client_id: "shotclock",
  client_secret_set: true,
  allowed_domains: ["acme.test", "acme.example"],
  auto_join: true,
  password_sign_in: false,
};

function form(over: Partial<SsoForm> = {}): SsoForm {
  return { issuer: "https://login.example.com", clientId: "shotclock", clientSecret: "s3cret", domains: "acme.test", autoJoin: false, passwordSignIn: true, ...over };
}

describe("the form read from the settings", () => {
  it("never holds the secret and lists the domains", () => {
    expect(formOf(LINKED)).toEqual({
      issuer: "https://login.example.com",
      clientId: "shotclock",
      clientSecret: "",
      domains: "acme.test, acme.example",
      autoJoin: true,
      passwordSignIn: false,
    });
  });
  it("says a stored secret is kept when left empty, and asks for one otherwise", () => {
    expect(secretHint(LINKED)).toBe("Stored — leave empty to keep it, unless you change the issuer or client id.");
    expect(secretHint(UNLINKED)).toMatch(/^Required/);
  });
  it("sums up the link in one line", () => {
    expect(linkSummary(UNLINKED)).toMatch(/^Not linked/);
    expect(linkSummary(LINKED)).toBe("Linked to https://login.example.com; only owners may use a password.");
    expect(linkSummary({ ...LINKED, password_sign_in: true })).toMatch(/passwords still work/);
  });
});

describe("email domains", () => {
  it("are split on commas, spaces and lines, lowercased, without @ and repeats", () => {
    expect(parseDomains(" @Acme.TEST, acme.test\nsub.acme.example;  ")).toEqual({ domains: ["acme.test", "sub.acme.example"], bad: [] });
  });
  it("that are not domains are named as typed", () => {
    expect(parseDomains("acme.test, localhost, a..b, -x.com, x.com-, ex ample.com")).toEqual({
      domains: ["acme.test", "ample.com"],
      bad: ["localhost", "a..b", "-x.com", "x.com-", "ex"],
    });
    expect(isDomain("bücher.de")).toBe(false);
    expect(isDomain("xn--bcher-kva.de")).toBe(true);
  });
});

describe("the issuer", () => {
  it("must be an https URL", () => {
    expect(issuerProblem("https://login.example.com/tenant/v2.0")).toBeNull();
    expect(issuerProblem("http://login.example.com")).toBe("The issuer must be an https:// URL.");
    expect(issuerProblem("ftp://login.example.com")).toBe("The issuer must be an https:// URL.");
    expect(issuerProblem("login.example.com")).toMatch(/is not a URL/);
    expect(issuerProblem("  ")).toMatch(/^Enter the issuer URL/);
  });
  it("may be plain http only on this computer (a test or development provider)", () => {
    expect(issuerProblem("http://127.0.0.1:4000")).toBeNull();
    expect(issuerProblem("http://localhost:4000")).toBeNull();
    expect(issuerProblem("http://[::1]:4000")).toBeNull();
    expect(issuerProblem("http://10.0.0.5")).not.toBeNull();
    expect(issuerProblem("http://127.0.0.1.example.com")).not.toBeNull();
  });
});

describe("the update sent on save", () => {
  it("carries a new secret, trimmed fields and normalised domains", () => {
    expect(toUpdate(form({ issuer: " https://login.example.com/ ", clientId: " shotclock ", domains: "@ACME.test" }), UNLINKED)).toEqual({
      update: {
        issuer: "https://login.example.com",
        client_id: "shotclock",
        client_secret: "s3cret",
        allowed_domains: ["acme.test"],
        auto_join: false,
        password_sign_in: true,
      },
    });
  });
  it("leaves the secret out when one is stored and the field is empty", () => {
    const r = toUpdate(form({ clientSecret: "   " }), LINKED);
    expect("update" in r && !("client_secret" in r.update)).toBe(true);
  });
  it("needs the secret again for another issuer or client id", () => {
    const again = { problem: "Enter the client secret again: the stored one is only sent to the provider and client it was given for." };
    expect(toUpdate(form({ clientSecret: "", issuer: "https://other.example.com" }), LINKED)).toEqual(again);
    expect(toUpdate(form({ clientSecret: "", clientId: "other" }), LINKED)).toEqual(again);
    expect("update" in toUpdate(form({ clientSecret: "", issuer: "https://login.example.com/" }), LINKED)).toBe(true);
    expect("update" in toUpdate(form({ clientSecret: "new", clientId: "other" }), LINKED)).toBe(true);
  });
  it("needs a secret when none is stored", () => {
    expect(toUpdate(form({ clientSecret: "" }), UNLINKED)).toEqual({ problem: "Enter the client secret." });
  });
  it("refuses what the admin can fix at once, in plain words", () => {
    expect(toUpdate(form({ issuer: "http://idp.example.com" }), LINKED)).toEqual({ problem: "The issuer must be an https:// URL." });
    expect(toUpdate(form({ clientId: " " }), LINKED)).toEqual({ problem: "Enter the client id your identity provider gave." });
    expect(toUpdate(form({ domains: "" }), LINKED)).toEqual({ problem: "Name at least one email domain whose people sign in this way." });
    expect(toUpdate(form({ domains: "acme.test, nope" }), LINKED)).toEqual({ problem: "Not an email domain: nope (write them like example.com)." });
    const many = Array.from({ length: 21 }, (_, i) => `d${i}.test`).join(",");
    expect(toUpdate(form({ domains: many }), LINKED)).toEqual({ problem: "Name at most 20 email domains." });
  });
});
