import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import type { Plugin } from "vite";
import { defineConfig } from "vitest/config";

// Brotli and gzip twins of every compressible file, written once at build time:
// WhiteNoise serves `x.js.br` / `x.js.gz` in place of `x.js` to browsers that accept
// them (the IDE's Monaco bundle is about 11 MB uncompressed, under 3 MB as brotli).
function precompress(outDir: string): Plugin {
  const compressible = /\.(js|mjs|css|html|svg|json|ttf|wasm|txt)$/;
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
  return {
    name: "kiln-precompress",
    apply: "build",
    closeBundle() {
      for (const path of walk(outDir)) {
        if (!compressible.test(path) || statSync(path).size < 1024) continue;
        const data = readFileSync(path);
        writeFileSync(`${path}.gz`, gzipSync(data, { level: 9 }));
        writeFileSync(
          `${path}.br`,
          brotliCompressSync(data, {
            params: {
              [constants.BROTLI_PARAM_QUALITY]: 10,
              [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
            },
          }),
        );
      }
    },
  };
}

// Django serves the built files from /static/ (WhiteNoise, hashed names) and finds
// them through dist/.vite/manifest.json, keyed by the entry "src/main.ts".
export default defineConfig({
  base: "/static/",
  plugins: [precompress("dist")],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    manifest: true,
    sourcemap: true,
    target: "es2022",
    // Monaco and its TypeScript worker are large by nature and load only in the IDE
    // (a dynamic import), so the size warning would only say so on every build.
    chunkSizeWarningLimit: 8000,
    rolldownOptions: {
      input: "src/main.ts",
      // The plugin timing report is for plugin authors; `./kiln run` shows it otherwise.
      checks: { pluginTimings: false },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
  },
});
