import { defineConfig } from "vitest/config";

// Django serves the built files from /static/ (WhiteNoise, hashed names) and finds
// them through dist/.vite/manifest.json, keyed by the entry "src/main.ts".
export default defineConfig({
  base: "/static/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    manifest: true,
    sourcemap: true,
    target: "es2022",
    rolldownOptions: {
      input: "src/main.ts",
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
  },
});
