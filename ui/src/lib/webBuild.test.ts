// The web build carries the web door and nothing of the desktop shell's API; the desktop build
// is the control (the same search finds the shell's API there).
import { build, type Rollup } from "vite";
import { describe, expect, it } from "vitest";

async function bundle(mode: "web" | "production"): Promise<string> {
  const out = (await build({ mode, logLevel: "silent", build: { write: false } })) as
    | Rollup.RollupOutput
    | Rollup.RollupOutput[];
  const outputs = Array.isArray(out) ? out : [out];
  return outputs
    .flatMap((o) => o.output)
    .map((f) => (f.type === "chunk" ? f.code : typeof f.source === "string" ? f.source : ""))
    .join("\n");
}

const TAURI = /__TAURI|@tauri-apps|plugin:event\|listen/;

describe("the two builds", () => {
  it("the web bundle holds the web door and no Tauri API", async () => {
    const web = await bundle("web");
    expect(web.includes("X-Shotclock"), "the web door is in").toBe(true);
    expect(web.includes("/web/login"), "the web door is in").toBe(true);
    expect(TAURI.exec(web)?.[0] ?? null, "no Tauri API").toBeNull();
  }, 60_000);

  it("the desktop bundle holds the Tauri API (the search above can find it)", async () => {
    const desktop = await bundle("production");
    expect(TAURI.test(desktop), "the Tauri API is in").toBe(true);
    expect(desktop.includes("/web/login"), "no web door").toBe(false);
  }, 60_000);
});
