// Builds the console into a folder `glassbox serve` serves: index.html and assets/ (app.js, one
// bundle; app.css; icon.svg). No inline script or style, so the page runs under the server's
// strict Content-Security-Policy. Usage: node build.mjs [OUT_DIR] (default dist).
import { build } from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, "dist"));
await rm(out, { recursive: true, force: true });
await mkdir(join(out, "assets"), { recursive: true });
await build({
  entryPoints: [join(here, "src/main.tsx")],
  outfile: join(out, "assets/app.js"),
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "linked",
  logLevel: "warning",
});
await copyFile(join(here, "src/app.css"), join(out, "assets/app.css"));
await copyFile(join(here, "icon.svg"), join(out, "assets/icon.svg"));
await copyFile(join(here, "index.html"), join(out, "index.html"));
console.log(`console built in ${out}`);
