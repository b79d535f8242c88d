// The console's API types are generated from docs/openapi.json and committed (src/api-types.ts):
// this fails when they are not what the document generates now, then type-checks the page
// against them, so the document, the server's tests of it and the page cannot drift apart.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = (name) => join("node_modules", ".bin", name);
const scratch = mkdtempSync(join(tmpdir(), "glassbox-types-"));
try {
  const fresh = join(scratch, "api-types.ts");
  execFileSync(bin("openapi-typescript"), ["../docs/openapi.json", "-o", fresh], { stdio: "pipe" });
  if (readFileSync(fresh, "utf8") !== readFileSync("src/api-types.ts", "utf8")) {
    console.error("src/api-types.ts is not what docs/openapi.json generates: run `npm run types` in web/ and commit it");
    process.exit(1);
  }
  console.log("src/api-types.ts matches docs/openapi.json");
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
execFileSync(bin("tsc"), ["--noEmit", "-p", "."], { stdio: "inherit" });
console.log("the console type-checks against the API types");
