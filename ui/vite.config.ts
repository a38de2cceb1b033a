import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// Two builds of one UI:
// * the desktop app's (default mode) into ui/dist, loaded by the shell (tauri.conf.json →
//   frontendDist), with the Tauri door (src/lib/tauri.ts);
// * the web app's (`--mode web`) into ui/dist-web, embedded in and served by the workspace
//   service, with the web door: `./tauri` resolves to src/lib/web.ts, so nothing of
//   @tauri-apps/api is bundled.
export default defineConfig(({ mode }) => {
  const web = mode === "web";
  return {
    plugins: [svelte()],
    clearScreen: false,
    resolve: {
      alias: web
        ? [{ find: /^\.\/tauri$/, replacement: decodeURIComponent(new URL("./src/lib/web.ts", import.meta.url).pathname) }]
        : [],
    },
    build: {
      outDir: web ? "dist-web" : "dist",
      emptyOutDir: true,
      target: web ? "es2022" : "safari15",
      sourcemap: false,
    },
    test: {
      include: ["src/**/*.test.ts"],
      environment: "node",
    },
  };
});
