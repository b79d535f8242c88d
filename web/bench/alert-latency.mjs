#!/usr/bin/env node
// Benchmark: the time from a camera's frame to its alert on an operator's screen.
//
// Starts `glassbox demo --serve` on loopback (looped cameras from the shared videos, two approved
// entries), signs in as the demo operator in Debian's Chromium, opens the alert feed and leaves
// it open. For every alert that arrives it takes
//   - captured_at: when the alert's frame was captured, as the server's live event says (the
//     stream's time mapped to the server's clock), and
//   - shown: the first animation frame after the alert's row entered the page (the feed reads
//     the alert's record after the event, so that request is inside the time measured).
// Both clocks are this machine's. It prints the count, median, p99 and max in milliseconds, as
// JSON, with the command that reproduces it. A benchmark, not a test: nothing here asserts time.
//
//   node bench/alert-latency.mjs [--seconds 300] [--binary ../build/src/glassbox]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "@playwright/test";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "300" },
    binary: { type: "string", default: process.env.GLASSBOX_BIN ?? resolve(import.meta.dirname, "../../build/src/glassbox") },
  },
});
const seconds = Number(values.seconds);
if (!(seconds >= 10)) throw new Error("--seconds must be at least 10");

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

async function startDemo(folder) {
  const child = spawn(values.binary, ["demo", "--serve", "127.0.0.1:0", "--keep", join(folder, "data")], { stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  const url = await new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`the demo did not start in 180 s:\n${output}`)), 180_000);
    child.stdout.on("data", (chunk) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        done(match[1]);
      }
    });
    child.on("exit", (code) => fail(new Error(`the demo exited (${code}):\n${output}`)));
  });
  const password = /^\s+olga \(operator\)\s+password: (\S+)$/m.exec(output)?.[1];
  if (!password) throw new Error(`the demo printed no operator account:\n${output}`);
  child.stdout.resume();
  return { child, url, password };
}

const folder = mkdtempSync(join(tmpdir(), "glassbox-latency-"));
const demo = await startDemo(folder);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage();
  // Installed before the console's own script: each alert row's first paint, and each live
  // event's capture time (a second stream beside the feed's, read the same way).
  await page.addInitScript(() => {
    window.__shown = {};
    window.__captured = {};
    new MutationObserver(() => {
      for (const button of document.querySelectorAll("button[data-alert]")) {
        const id = button.getAttribute("data-alert");
        if (id in window.__shown) continue;
        window.__shown[id] = null;
        requestAnimationFrame(() => (window.__shown[id] = performance.timeOrigin + performance.now()));
      }
    }).observe(document, { childList: true, subtree: true });
  });
  await page.goto(demo.url);
  await page.getByLabel("Name").fill("olga");
  await page.getByLabel("Password").fill(demo.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("Signed in as olga").waitFor();
  await page.goto(`${demo.url}#alerts`);
  await page.evaluate(() => {
    const events = new EventSource("/api/events");
    events.addEventListener("alert", (message) => {
      const event = JSON.parse(message.data);
      if (event.captured_at) window.__captured[event.id] = Date.parse(event.captured_at);
    });
  });
  process.stderr.write(`measuring for ${seconds} s at ${demo.url} ...\n`);
  await page.waitForTimeout(seconds * 1000);
  const { shown, captured } = await page.evaluate(() => ({ shown: window.__shown, captured: window.__captured }));
  const latencies = Object.entries(captured)
    .filter(([id]) => typeof shown[id] === "number")
    .map(([id, at]) => shown[id] - at)
    .sort((a, b) => a - b);
  const round = (v) => (v === null ? null : Math.round(v));
  console.log(
    JSON.stringify(
      {
        benchmark: "frame to alert on screen (demo cameras, operator's feed in Chromium)",
        alerts: latencies.length,
        alerts_without_a_row: Object.keys(captured).filter((id) => typeof shown[id] !== "number").length,
        p50_ms: round(percentile(latencies, 50)),
        p99_ms: round(percentile(latencies, 99)),
        max_ms: round(latencies.at(-1) ?? null),
        seconds,
        command: `cd web && node bench/alert-latency.mjs --seconds ${seconds}`,
      },
      null,
      2,
    ),
  );
} finally {
  await browser.close();
  demo.child.kill("SIGTERM");
  await new Promise((done) => demo.child.once("exit", done));
  rmSync(folder, { recursive: true, force: true });
}
