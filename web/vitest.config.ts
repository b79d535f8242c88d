// Unit tests of the console's logic (tests/unit); the browser tests are Playwright's.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: { include: ["tests/unit/**/*.test.ts"], environment: "node" },
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
});
