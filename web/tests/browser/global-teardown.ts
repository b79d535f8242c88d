// Stops the demo service (SIGINT: a clean shutdown) and removes its folder.
import { readFileSync, rmSync } from "node:fs";
import { statePath, type DemoState } from "./demo";

export default async function globalTeardown(): Promise<void> {
  let state: DemoState;
  try {
    state = JSON.parse(readFileSync(statePath(), "utf8")) as DemoState;
  } catch {
    return;
  }
  try {
    process.kill(state.pid, "SIGINT");
    for (let i = 0; i < 100; ++i) {
      process.kill(state.pid, 0); // throws once it has exited
      await new Promise((r) => setTimeout(r, 100));
    }
    process.kill(state.pid, "SIGKILL");
  } catch {
    // exited
  }
  rmSync(state.folder, { recursive: true, force: true });
  rmSync(statePath(), { force: true });
}
