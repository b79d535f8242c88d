// Browser tests of the console: Debian's Chromium (/usr/bin/chromium, or $CHROMIUM), never a
// downloaded browser, against a real `glassbox demo --serve` on loopback that global-setup.ts
// starts (looping the shared videos). Screenshots of every page go to $GLASSBOX_SCREENSHOTS
// (default: test-results/screenshots).
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: "tests/browser",
  globalSetup: "./tests/browser/global-setup.ts",
  globalTeardown: "./tests/browser/global-teardown.ts",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 15_000 },
  reporter: [["list"]],
  outputDir: process.env.GLASSBOX_TEST_OUTPUT ?? "test-results",
  use: {
    browserName: "chromium",
    headless: true,
    locale: "en-GB",
    timezoneId: "Europe/Moscow",
    viewport: { width: 1366, height: 900 },
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required"],
    },
    trace: "retain-on-failure",
  },
});
