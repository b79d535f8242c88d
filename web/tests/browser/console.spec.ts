// The console in a real browser against a real service whose cameras loop the shared videos:
// an operator enrols an entry and cannot approve it; a supervisor approves it; the camera's
// alert appears in the operator's already-open feed without a reload; the reviewer confirms one
// alert by keyboard and dismisses another with a reason; every role sees only the controls it
// may use and the server refuses the rest anyway; both languages; no serious accessibility
// violation on any page; a screenshot of each page.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { expect, test } from "@playwright/test";
import { demo, expectAccessible, requestFromPage, screenshot, signIn } from "./demo";

test.describe.configure({ mode: "serial" });

const sharedData = process.env.GLASSBOX_DATA ?? resolve(import.meta.dirname, "../../../../shared/data");

test("an operator enrols an entry, cannot approve it; a supervisor does; its alert arrives live; decisions by keyboard", async ({ browser }) => {
  // A still of the person the `gate` camera shows, who is on no list yet.
  const still = join(demo().folder, "gate-person.png");
  if (!existsSync(still))
    execFileSync("ffmpeg", ["-loglevel", "error", "-y", "-ss", "1", "-i", join(sharedData, "video/talking_heads/WDA_BobMenendez_000_h264.mp4"), "-frames:v", "1", still]);

  const operatorContext = await browser.newContext();
  const operator = await operatorContext.newPage();
  await signIn(operator, "olga");
  // The operator's feed is open from the start; everything below must reach it without a reload.
  await operator.goto(`${demo().url}#alerts`);
  await expect(operator.getByRole("heading", { name: /Alert feed/ })).toBeVisible();
  await expect(operator.getByRole("status").filter({ hasText: "Live" })).toBeVisible();
  // The looping `lobby` camera shows Person B, who is on the list: alerts are already there.
  await expect(operator.locator(".alert-item").filter({ hasText: "Person B" }).first()).toBeVisible({ timeout: 60_000 });
  await screenshot(operator, "alerts-operator");
  await expectAccessible(operator, "alert feed");

  // Enrolment, in a second tab of the same operator.
  const enrolPage = await operatorContext.newPage();
  await enrolPage.goto(`${demo().url}#watchlist`);
  await expect(enrolPage.getByRole("heading", { name: "Watchlist", exact: true })).toBeVisible();
  await expect(enrolPage.getByRole("button", { name: "Approve" })).toHaveCount(0);
  await enrolPage.getByText("Enrol an entry").click();
  // What the server refuses is shown with the field it names.
  const form = enrolPage.locator("details.enrol form");
  await form.getByLabel("Subject label").fill("Person C");
  await form.getByLabel("Legal basis").fill("Court order 2026/77 (test)");
  await form.getByLabel("Source of the photos").fill("still from the gate camera's clip");
  await form.getByLabel("Expires (date)").fill("2099-01-01");
  await form.getByLabel(/Photos/).setInputFiles(still);
  await form.getByRole("button", { name: "Submit for approval" }).click();
  await expect(enrolPage.getByRole("alert")).toContainText("expires");
  await form.getByLabel("Expires (date)").fill(new Date(Date.now() + 60 * 86_400_000).toISOString().slice(0, 10));
  await form.getByRole("button", { name: "Submit for approval" }).click();
  const submitted = enrolPage.getByRole("status").filter({ hasText: /Entry \d+ submitted/ });
  await expect(submitted).toBeVisible();
  const entryId = Number(/Entry (\d+)/.exec((await submitted.textContent()) ?? "")![1]);
  await expect(enrolPage.getByText("Submitted by you, waiting for someone else")).toBeVisible();
  await screenshot(enrolPage, "watchlist-operator");
  await expectAccessible(enrolPage, "watchlist (operator)");
  // The page offers no approval to an operator, and the server refuses it anyway.
  expect(await requestFromPage(enrolPage, "POST", `/api/entries/${entryId}/approve`)).toBe(403);

  // A supervisor approves it from the queue; the queue never offers anyone their own submission.
  const supervisorContext = await browser.newContext();
  const supervisor = await supervisorContext.newPage();
  await signIn(supervisor, "sasha");
  await supervisor.goto(`${demo().url}#watchlist`);
  const queue = supervisor.getByRole("region", { name: "Waiting for your approval" });
  const row = queue.locator(`tr[data-entry="${entryId}"]`);
  await expect(row).toContainText("Person C");
  await screenshot(supervisor, "watchlist-supervisor-queue");
  await expectAccessible(supervisor, "watchlist (supervisor)");
  await row.getByRole("button", { name: "Approve" }).click();
  await expect(queue.locator(`tr[data-entry="${entryId}"]`)).toHaveCount(0);

  // The gate camera's next loop raises an alert for Person C: it appears in the open feed.
  const approvedAt = Date.now();
  const personC = operator.locator(".alert-item").filter({ hasText: "Person C" }).first();
  await expect(personC).toBeVisible({ timeout: 90_000 });
  await expect(personC).toContainText("gate");
  console.log(`Person C's first alert was on the operator's screen ${((Date.now() - approvedAt) / 1000).toFixed(1)} s after the approval`);
  await expect(operator.getByRole("alert").filter({ hasText: /new alert/ })).toBeVisible();
  await operator.keyboard.press("a");
  await expect(operator.getByRole("alert").filter({ hasText: /new alert/ })).toHaveCount(0);

  // Review: the crop beside the reference photo, the legal basis, what the score means. More
  // alerts keep arriving (the cameras loop), so this one is followed by its id.
  const reviewedId = await personC.getByRole("button").getAttribute("data-alert");
  const reviewed = operator.locator(`button[data-alert="${reviewedId}"]`);
  await reviewed.click();
  const detail = operator.locator(".alert-detail");
  await expect(detail.getByRole("img", { name: "Camera crop" })).toBeVisible();
  await expect(detail.getByRole("img", { name: "Reference photo 1" })).toBeVisible();
  await expect(detail).toContainText("Court order 2026/77 (test)");
  await expect(detail).toContainText("false match in 100 searches");
  for (const img of await detail.getByRole("img").all()) expect(await img.evaluate((i: HTMLImageElement) => i.naturalWidth)).toBeGreaterThan(0);
  await screenshot(operator, "alert-review");

  // Confirm by keyboard.
  await operator.keyboard.press("c");
  await expect(reviewed).toContainText("Confirmed");
  await reviewed.click();
  await expect(detail).toContainText("Decided by olga");

  // Dismiss another, by keyboard, with a reason.
  const other = operator.locator(".alert-item.open").filter({ hasText: "Person B" }).first();
  await other.getByRole("button").click();
  const otherId = await other.getByRole("button").getAttribute("data-alert");
  await operator.keyboard.press("d");
  await operator.getByLabel(/Why is this a false alert/).fill("a different person in the same studio");
  await operator.keyboard.press("Control+Enter");
  const dismissed = operator.locator(`button[data-alert="${otherId}"]`);
  await expect(dismissed).toContainText("Dismissed");
  await dismissed.click();
  await expect(detail).toContainText("a different person in the same studio");
  await expect(detail).toContainText("Decided by olga");
  await screenshot(operator, "alert-dismissed");

  await supervisorContext.close();
  await operatorContext.close();
});

test("an auditor finds all of it on the record, and the log's signed tree head verifies", async ({ page }) => {
  await signIn(page, "audrey");
  await page.goto(`${demo().url}#audit`);
  const table = page.locator("table.audit");
  // What the first test did, each by the person who did it.
  for (const [actor, action] of [
    ["olga", "entry.enrol"],
    ["sasha", "entry.approve"],
    ["olga", "alert.confirm"],
    ["olga", "alert.dismiss"],
    ["olga", "entry.photo.view"],
    ["olga", "evidence.view"],
  ]) {
    await page.getByLabel("Actor").fill(actor);
    await page.getByLabel("Action").fill(action);
    await page.getByRole("button", { name: "Filter" }).click();
    await expect(table.locator("tbody tr").first(), `${action} by ${actor}`).toContainText(action);
    await expect(table.locator("tbody tr").first()).toContainText(actor);
  }
  // A prefix ending in "." takes every action of a kind.
  await page.getByLabel("Actor").fill("");
  await page.getByLabel("Action").fill("entry.");
  await page.getByRole("button", { name: "Filter" }).click();
  for (const cell of await table.locator("tbody tr td:nth-child(4)").allTextContents()) expect(cell.startsWith("entry.")).toBe(true);
  await page.getByRole("button", { name: "Verify the log" }).click();
  await expect(page.locator(".verdict")).toContainText(/^Verified: \d+ records and \d+ signed checkpoints/);
  await screenshot(page, "audit-auditor");
  await expectAccessible(page, "audit log");
  // The auditor's own browsing is on the record too.
  await page.getByLabel("Action").fill("audit.view");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(table.locator("tbody tr").first()).toContainText("audrey");
});

test("an administrator asks for an account; only another admin may approve it", async ({ page }) => {
  await signIn(page, "root");
  await page.goto(`${demo().url}#accounts`);
  const ask = page.locator("form", { has: page.getByRole("heading", { name: "Ask for an account" }) });
  await ask.getByLabel("Name").fill("nina");
  await ask.getByLabel("operator").check();
  await ask.getByRole("button", { name: /Ask/ }).click();
  await expect(page.getByRole("status")).toContainText("Your half of the activation code");
  const row = page.locator('tr[data-account="nina"]');
  await expect(row).toContainText("pending");
  await expect(row.getByRole("button", { name: "Approve" }), "never one's own request").toHaveCount(0);
  expect(await requestFromPage(page, "POST", "/api/users/nina/approve")).toBe(403);
  await screenshot(page, "accounts-admin");
  await expectAccessible(page, "accounts");
  await row.getByRole("button", { name: "Disable" }).click();
  await row.getByLabel("Reason for disabling").fill("asked for by mistake");
  await row.getByRole("button", { name: "Disable" }).click();
  await expect(row).toContainText("disabled");
});

test("each role sees only what it may use, and the server refuses the rest", async ({ page }) => {
  const expected: Record<string, string[]> = {
    olga: ["Alerts", "Watchlist", "Cameras", "Transparency", "My account"],
    sasha: ["Alerts", "Watchlist", "Cameras", "Transparency", "My account"],
    root: ["Cameras", "Transparency", "Accounts", "My account"],
    audrey: ["Audit log", "Transparency", "My account"],
  };
  for (const [user, links] of Object.entries(expected)) {
    await signIn(page, user);
    await expect(page.getByRole("navigation", { name: "main" }).getByRole("link")).toHaveText(links);
    await screenshot(page, `home-${user}`);
    await expectAccessible(page, `first page of ${user}`);
    if (user === "audrey") {
      expect(await requestFromPage(page, "GET", "/api/alerts")).toBe(403);
      expect(await requestFromPage(page, "GET", "/api/entries/1/photos/1")).toBe(403);
      await page.goto(`${demo().url}#alerts`);
      await expect(page.getByText("Your roles do not open this page.")).toBeVisible();
    }
    if (user === "root") {
      expect(await requestFromPage(page, "POST", "/api/alerts/1/confirm")).toBe(403);
      await page.goto(`${demo().url}#cameras`);
      await expect(page.locator('tr[data-camera="lobby"]')).toContainText("streaming");
      // Cameras of the configuration file cannot be changed here; ones added here can.
      await expect(page.locator('tr[data-camera="lobby"]').getByRole("button")).toHaveCount(0);
      const add = page.locator("form", { has: page.getByRole("heading", { name: "Add a camera" }) });
      await add.getByLabel("Name").fill("door");
      await add.getByLabel("Stream URL").fill("rtsp://127.0.0.1:8554/loopback");
      await add.getByRole("button", { name: "Add" }).click();
      await expect(page.getByRole("alert")).toContainText("127.0.0.0/8"); // the host itself is not a camera
      await add.getByLabel("Stream URL").fill("rtsp://192.0.2.7:554/live");
      await add.getByRole("button", { name: "Add" }).click();
      const door = page.locator('tr[data-camera="door"]');
      await expect(door).toBeVisible();
      await door.getByRole("button", { name: "Switch off" }).click();
      await expect(door).toContainText("disabled");
      await screenshot(page, "cameras-admin");
      await door.getByRole("button", { name: "Delete" }).click();
      await expect(door).toHaveCount(0);
      await expectAccessible(page, "cameras");
    }
    if (user === "olga") {
      expect(await requestFromPage(page, "POST", "/api/users", { name: "mallory", roles: ["admin"] })).toBe(403);
      await page.goto(`${demo().url}#transparency`);
      await expect(page.locator("svg.chart")).toBeVisible();
      await screenshot(page, "transparency");
      await expectAccessible(page, "transparency");
    }
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
    expect(await requestFromPage(page, "GET", "/api/me")).toBe(401);
  }
});

test("Russian from the first page on, and a phone-sized screen", async ({ browser }) => {
  const context = await browser.newContext({ locale: "ru-RU", viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await page.goto(demo().url);
  await expect(page.getByRole("heading", { name: "Вход" })).toBeVisible();
  await page.getByLabel("Имя").fill("sasha");
  await page.getByLabel("Пароль").fill(demo().passwords.sasha);
  await page.getByRole("button", { name: "Войти" }).click();
  await expect(page.getByRole("navigation", { name: "main" }).getByRole("link", { name: "Тревоги" })).toBeVisible();
  await page.goto(`${demo().url}#watchlist`);
  await expect(page.getByRole("heading", { name: "Ожидают вашего утверждения" })).toBeVisible();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width, "no sideways scrolling of the page on a phone").toBeLessThanOrEqual(390);
  await screenshot(page, "watchlist-phone-ru");
  await expectAccessible(page, "watchlist on a phone, in Russian");
  await context.close();
});
