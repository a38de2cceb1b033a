import { describe, expect, it } from "vitest";
import type { ErrorKind } from "./door";
import { missingField, missingSsoField, normalizeServerUrl, signInErrorText } from "./signIn";

describe("workspace address (R2)", () => {
  it("assumes https when no scheme is typed", () => {
    expect(normalizeServerUrl(" acme.example.com ")).toBe("https://acme.example.com");
    expect(normalizeServerUrl("localhost:8080")).toBe("https://localhost:8080");
  });
  it("keeps a typed scheme, so the shell can refuse plain http", () => {
    expect(normalizeServerUrl("http://example.com")).toBe("http://example.com");
    expect(normalizeServerUrl("HTTPS://Acme.example")).toBe("HTTPS://Acme.example");
    expect(normalizeServerUrl("   ")).toBe("");
  });
});

describe("sign-in errors", () => {
  const url = "https://acme.example";
  it.each<[ErrorKind, string]>([
    ["wrong_password", "The email or password is wrong."],
    ["invalid_url", "Use an https:// address (http only for this computer)."],
  ])("%s", (kind, text) => {
    expect(signInErrorText({ kind, message: "raw" }, url)).toBe(text);
  });
  it("names the address it could not reach", () => {
    expect(signInErrorText({ kind: "unreachable", message: "raw" }, url)).toMatch(/^Could not reach https:\/\/acme\.example\./);
  });
  it("asks to update the app on a version mismatch", () => {
    expect(signInErrorText({ kind: "incompatible", message: "raw" }, url)).toMatch(/update the app/);
  });
  it("says why single sign-on did not finish, as a sentence", () => {
    expect(
      signInErrorText({ kind: "sso", message: "the sign-in was not finished in the browser within 5 minutes; start it again" }, url),
    ).toBe("The sign-in was not finished in the browser within 5 minutes; start it again");
  });
  it("falls back to the shell's message", () => {
    expect(signInErrorText({ kind: "internal", message: "disk full" }, url)).toBe("disk full");
  });
  it("checks for empty fields", () => {
    expect(missingField("", "a@b.c", "pw")).toMatch(/address/);
    expect(missingField("x", " ", "pw")).toMatch(/email/);
    expect(missingField("x", "a@b.c", "")).toMatch(/password/);
    expect(missingField("x", "a@b.c", "pw")).toBeNull();
  });
  it("checks the fields single sign-on needs, the address first, and no password", () => {
    expect(missingSsoField(" ", "")).toEqual({ field: "server_url", text: "Enter your workspace address." });
    expect(missingSsoField("x", " ")).toEqual({
      field: "email",
      text: "Type your work email first: it tells which workspace to sign in to.",
    });
    expect(missingSsoField("x", "a@b.c")).toBeNull();
  });
  it("asks for the same address as the password form", () => {
    expect(missingSsoField("", "a@b.c")?.text).toBe(missingField("", "a@b.c", "pw"));
  });
  it("does not ask for an address the web app does not show", () => {
    expect(missingSsoField(null, "a@b.c")).toBeNull();
    expect(missingSsoField(null, "")?.field).toBe("email");
  });
});
