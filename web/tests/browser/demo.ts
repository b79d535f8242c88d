// What the browser tests share: the running demo service (from global-setup), signing in as a
// demo account, screenshots, an accessibility check with axe-core, and a request made from the
// page itself (the session's cookie and CSRF token) to show the server refuses what the page hides.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { expect, type Page } from "@playwright/test";

export interface DemoState {
  url: string;
  passwords: Record<string, string>;
  pid: number;
  folder: string;
}

export const statePath = () => resolve(process.env.GLASSBOX_TEST_OUTPUT ?? "test-results", "..", ".glassbox-demo-state.json");

let cached: DemoState | null = null;
export function demo(): DemoState {
  cached ??= JSON.parse(readFileSync(statePath(), "utf8")) as DemoState;
  return cached;
}

export async function signIn(page: Page, user: string): Promise<void> {
  await page.goto(demo().url);
  await page.getByLabel("Name").fill(user);
  await page.getByLabel("Password").fill(demo().passwords[user]);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText(`Signed in as ${user}`)).toBeVisible();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  const folder = process.env.GLASSBOX_SCREENSHOTS ?? join(process.env.GLASSBOX_TEST_OUTPUT ?? "test-results", "screenshots");
  await page.screenshot({ path: join(folder, `${name}.png`), fullPage: true });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

// No serious or critical violation of WCAG 2.1 A/AA on the page as it is now.
export async function expectAccessible(page: Page, what: string): Promise<void> {
  // evaluate() runs through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    type Node = { target: unknown[]; failureSummary?: string };
    const axe = (window as unknown as { axe: { run: (c: unknown, o: unknown) => Promise<{ violations: Array<{ id: string; impact: string; help: string; nodes: Node[] }> }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
    // Which elements, and why: enough to fix a failure from the test's output alone.
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, why: n.failureSummary })) }));
  });
  const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious, `${what}: ${JSON.stringify(serious)}`).toEqual([]);
}

// A request as the page would make it (cookie and CSRF token); returns the status.
export async function requestFromPage(page: Page, method: string, path: string, body: unknown = {}): Promise<number> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const me = await (await fetch("/api/me")).json();
      const response = await fetch(path, {
        method,
        headers: { "Content-Type": "application/json", "X-CSRF-Token": me.csrf_token ?? "" },
        body: method === "GET" ? undefined : JSON.stringify(body),
      });
      return response.status;
    },
    { method, path, body },
  );
}
