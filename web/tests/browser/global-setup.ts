// Starts `glassbox demo --serve 127.0.0.1:0` in a fresh folder and waits for it to print its
// address and the demo accounts' passwords, which the tests read from the state file. The
// binary is $GLASSBOX_BIN (CTest passes the one it built), else ../build/src/glassbox.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { statePath, type DemoState } from "./demo";

export default async function globalSetup(): Promise<void> {
  const binary = process.env.GLASSBOX_BIN ?? resolve(import.meta.dirname, "../../../build/src/glassbox");
  const folder = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), "glassbox-console-test-"));
  const child = spawn(binary, ["demo", "--serve", "127.0.0.1:0", "--keep", join(folder, "data")], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: false,
  });
  let output = "";
  let errors = "";
  child.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString()));
  const ready = await new Promise<boolean>((done) => {
    const timer = setTimeout(() => done(false), 180_000);
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (/listening on http:\/\/\S+/.test(output)) {
        clearTimeout(timer);
        done(true);
      }
    });
    child.on("exit", () => {
      clearTimeout(timer);
      done(false);
    });
  });
  if (!ready) {
    child.kill("SIGKILL");
    throw new Error(`glassbox demo --serve did not start:\n${output}\n${errors}`);
  }
  try {
    record(child.pid!, folder, output);
  } catch (error) {
    child.kill("SIGKILL"); // nothing may outlive a setup that failed
    throw error;
  }
  child.stdout.removeAllListeners("data");
  child.stderr.removeAllListeners("data");
  child.stdout.resume();
  child.stderr.resume();
  child.unref();
}

function record(pid: number, folder: string, output: string): void {
  const url = /listening on (http:\/\/\S+)/.exec(output)![1];
  const passwords: Record<string, string> = {};
  for (const match of output.matchAll(/^\s+(\w+) \((\w+)\)\s+password: (\S+)$/gm)) passwords[match[1]] = match[3];
  if (Object.keys(passwords).length < 5) throw new Error(`the demo printed no accounts:\n${output}`);
  const state: DemoState = { url, passwords, pid, folder };
  mkdirSync(dirname(statePath()), { recursive: true });
  writeFileSync(statePath(), JSON.stringify(state));
}
