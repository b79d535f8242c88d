// The console in a real browser against a real service whose cameras loop the shared videos:
// an operator enrols an entry and cannot approve it; a supervisor approves it; the camera's
// alert appears in the operator's already-open feed without a reload; the reviewer confirms one
// alert by keyboard and dismisses another with a reason; an operator requests a case search with a
// recording uploaded in resumable chunks, a supervisor approves it and both read its visits; an
// administrator edits a camera and looks through it; a new account is activated from the
// sign-in page; every role sees only the controls it
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
  const cue = operator.getByRole("alert").filter({ hasText: /new alert/ });
  await expect(cue).toBeVisible();
  const unacknowledged = async () => ((await cue.count()) === 0 ? 0 : Number(/(\d+) new alert/.exec((await cue.textContent()) ?? "")?.[1]));
  const before = await unacknowledged();
  expect(before).toBeGreaterThan(0);
  await operator.keyboard.press("a");
  // Acknowledged: the cue goes (the looping cameras may raise a new one at once, counted afresh).
  await expect.poll(unacknowledged).toBeLessThan(before);

  // Review: the crop beside the reference photo, the legal basis, what the score means. More
  // alerts keep arriving (the cameras loop), so this one is followed by its id.
  const reviewedId = await personC.getByRole("button").getAttribute("data-alert");
  const reviewed = operator.locator(`button[data-alert="${reviewedId}"]`);
  await reviewed.click();
  const detail = operator.locator(".alert-detail");
  await expect(detail.getByRole("img", { name: "Camera crop" })).toBeVisible();
  await expect(detail.getByRole("img", { name: "Reference photo 1" })).toBeVisible();
  await expect(detail).toContainText("Court order 2026/77 (test)");
  // The meaning of this alert's own score, for the list it was raised against.
  await expect(detail).toContainText(/(about|fewer than) 1 in [\d,]+ people not on the list \(\d+ templates?\) would score this close/);
  // And the quality of the view that matched, which the reviewer weighs it by.
  await expect(detail).toContainText(/Face quality\s*(low|medium|high) \(\d\.\d\d\): \d+ px, turned \d+°, tilted \d+°/);
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

test("a search is requested with an upload that resumes after a cut, approved by someone else, and its visits shown", async ({ browser }) => {
  // The person the `lobby` camera shows, and a recording of her given for the case.
  const probe = join(demo().folder, "probe-person-b.png");
  const recording = join(sharedData, "video/talking_heads/WDA_KatieHill_000_h264.mp4");
  if (!existsSync(probe)) execFileSync("ffmpeg", ["-loglevel", "error", "-y", "-ss", "1", "-i", recording, "-frames:v", "1", probe]);

  const operatorContext = await browser.newContext();
  const operator = await operatorContext.newPage();
  await signIn(operator, "olga");
  await operator.goto(`${demo().url}#searches`);
  await expect(operator.getByRole("heading", { name: "Case searches" })).toBeVisible();
  const form = operator.locator("details.request form");
  await form.getByLabel("Case", { exact: true }).fill("2026-CASE-9");
  await form.getByLabel("Legal basis").fill("Court order 2026/91 (test)");
  await form.getByLabel(/Photos of the person sought/).setInputFiles(probe);
  await form.getByLabel("Upload recordings").setInputFiles(recording);
  // The connection drops at the third chunk: the page says so and keeps the form.
  const offsets: number[] = [];
  operator.on("request", (r) => {
    if (r.method() === "PUT" && r.url().includes("/api/uploads/")) offsets.push(Number(r.headers()["upload-offset"]));
  });
  let puts = 0;
  await operator.route("**/api/uploads/*", (route) => (route.request().method() === "PUT" && ++puts === 3 ? route.abort("connectionreset") : route.continue()));
  await form.getByRole("button", { name: "Request the search" }).click();
  await expect(form.locator("..").getByRole("alert")).toBeVisible();
  await expect(form.locator(".upload-progress progress")).toHaveAttribute("value", String(2 * 256 * 1024));
  await operator.unroute("**/api/uploads/*");
  // Sending again goes on from what the server holds; nothing it has is sent twice.
  await form.getByRole("button", { name: "Resume the upload and request" }).click();
  const requested = operator.getByRole("status").filter({ hasText: /Search \d+ requested/ });
  await expect(requested).toBeVisible({ timeout: 30_000 });
  const searchId = Number(/Search (\d+)/.exec((await requested.textContent()) ?? "")![1]);
  const resumedAt = offsets.indexOf(2 * 256 * 1024, 3);
  expect(resumedAt, `offsets sent: ${offsets.join(", ")}`).toBeGreaterThan(2);
  expect(offsets.filter((o) => o === 0)).toHaveLength(1);
  const row = (page: typeof operator) => page.locator(`tr[data-search="${searchId}"]`);
  await expect(row(operator)).toContainText("waiting for approval");
  // Nobody approves their own search: the page offers nothing, the server refuses.
  await expect(row(operator).getByRole("button", { name: "Approve" })).toHaveCount(0);
  expect(await requestFromPage(operator, "POST", `/api/searches/${searchId}/approve`)).toBe(403);
  await screenshot(operator, "searches-operator");
  await expectAccessible(operator, "searches (operator)");

  // A second request reuses the finished upload, and is cancelled before anyone approves it.
  await form.getByLabel("Case", { exact: true }).fill("2026-CASE-10");
  await form.getByLabel("Legal basis").fill("Court order 2026/92 (test)");
  await form.getByLabel(/Photos of the person sought/).setInputFiles(probe);
  await form.getByLabel(/Uploaded earlier: WDA_KatieHill_000_h264.mp4/).check();
  await form.getByRole("button", { name: "Request the search" }).click();
  const second = operator.getByRole("status").filter({ hasText: /Search \d+ requested/ });
  await expect(second).toContainText(`Search ${searchId + 1} requested`);
  await row(operator).locator("xpath=..").locator(`tr[data-search="${searchId + 1}"]`).getByRole("button", { name: "Cancel the search" }).click();
  await expect(operator.locator(`tr[data-search="${searchId + 1}"]`)).toContainText("cancelled");

  // A supervisor approves; the search runs; its visits are a timeline with crops.
  const supervisorContext = await browser.newContext();
  const supervisor = await supervisorContext.newPage();
  await signIn(supervisor, "sasha");
  await supervisor.goto(`${demo().url}#searches`);
  await row(supervisor).getByRole("button", { name: "Approve" }).click();
  await expect(row(supervisor)).toContainText("Approved by sasha");
  await expect(row(supervisor)).toContainText("done", { timeout: 120_000 });
  await row(supervisor).getByRole("button", { name: "Results" }).click();
  const results = supervisor.locator("section.results");
  await expect(results.getByRole("heading")).toContainText(`Search ${searchId}, case 2026-CASE-9`);
  await expect(results.locator(".timeline")).toHaveCount(1);
  // The recording by the name it was given, read whole (no error).
  await expect(results.locator(".timeline-label")).toContainText("WDA_KatieHill_000_h264.mp4");
  await expect(results.locator("ul.warn")).toHaveCount(0);
  await expect(row(supervisor).locator(".warn")).toHaveCount(0);
  await expect(results.locator(".timeline-bar").first()).toBeVisible();
  const visits = results.locator("ol.visits li");
  expect(await visits.count()).toBeGreaterThanOrEqual(1);
  const crop = visits.first().locator("img");
  await expect(crop).toBeVisible();
  await expect.poll(() => crop.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
  await screenshot(supervisor, "search-results");
  await expectAccessible(supervisor, "search results");
  // The requester reads them too.
  await operator.reload();
  await row(operator).getByRole("button", { name: "Results" }).click();
  await expect(operator.locator("ol.visits li")).toHaveCount(await visits.count());

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
    ["olga", "upload.finish"],
    ["olga", "search.request"],
    ["olga", "search.cancel"],
    ["sasha", "search.approve"],
    ["sasha", "search.results.view"],
    ["sasha", "search.crop.view"],
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
  // The filtered page has replaced the last one (read at once, the old rows may still be there).
  await expect(table.locator("tbody tr td:nth-child(4)").first()).toHaveText(/^entry\./);
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

test("an administrator asks for an account, only another admin approves it, and its holder activates it from the sign-in page", async ({ browser }) => {
  const rootContext = await browser.newContext();
  const page = await rootContext.newPage();
  await signIn(page, "root");
  await page.goto(`${demo().url}#accounts`);
  const ask = page.locator("form", { has: page.getByRole("heading", { name: "Ask for an account" }) });
  const askFor = async (name: string): Promise<string> => {
    await ask.getByLabel("Name").fill(name);
    await ask.getByLabel("operator").check();
    await ask.getByRole("button", { name: /Ask/ }).click();
    await expect(page.getByRole("status")).toContainText("Your half of the activation code");
    return /: (\S+)$/.exec((await page.getByRole("status").textContent()) ?? "")![1];
  };
  const ninaFirstHalf = await askFor("nina");
  const row = page.locator('tr[data-account="nina"]');
  await expect(row).toContainText("waiting for approval");
  await expect(row.getByRole("button", { name: "Approve" }), "never one's own request").toHaveCount(0);
  expect(await requestFromPage(page, "POST", "/api/users/nina/approve")).toBe(403);
  await screenshot(page, "accounts-admin");
  await expectAccessible(page, "accounts");
  // A second request is disabled with a reason before anyone approves it.
  await askFor("ivan");
  const ivan = page.locator('tr[data-account="ivan"]');
  await ivan.getByRole("button", { name: "Disable" }).click();
  await ivan.getByLabel("Reason for disabling").fill("asked for by mistake");
  await ivan.getByRole("button", { name: "Disable" }).click();
  await expect(ivan).toContainText("disabled");

  // The other administrator approves, and is shown the second half once.
  const adamContext = await browser.newContext();
  const adam = await adamContext.newPage();
  await signIn(adam, "adam");
  await adam.goto(`${demo().url}#accounts`);
  await adam.locator('tr[data-account="nina"]').getByRole("button", { name: "Approve" }).click();
  await expect(adam.getByRole("status")).toContainText("Your half of the activation code");
  const ninaSecondHalf = /: (\S+)$/.exec((await adam.getByRole("status").textContent()) ?? "")![1];
  await expect(adam.locator('tr[data-account="nina"]')).toContainText("approved, not activated");

  // Nina activates her account from the sign-in page with both halves and a password of her own.
  const ninaContext = await browser.newContext();
  const nina = await ninaContext.newPage();
  await nina.goto(demo().url);
  await nina.getByRole("button", { name: "Activate a new account" }).click();
  const activation = nina.locator("form", { has: nina.getByRole("heading", { name: "Activate your account" }) });
  await expectAccessible(nina, "activation");
  await activation.getByLabel("Name").fill("nina");
  await activation.getByLabel(/First half/).fill(ninaFirstHalf);
  await activation.getByLabel(/Second half/).fill("wrong-half");
  await activation.getByLabel("Your new password (12 characters or more)").fill("a long passphrase for nina");
  await activation.getByLabel("The same password again").fill("a long passphrase for nina");
  await activation.getByRole("button", { name: "Activate" }).click();
  await expect(activation.getByRole("alert")).toContainText("Activation refused");
  await activation.getByLabel(/Second half/).fill(ninaSecondHalf);
  await activation.getByLabel("Your new password (12 characters or more)").fill("a long passphrase for nina");
  await activation.getByLabel("The same password again").fill("a long passphrase for nina");
  await screenshot(nina, "activation");
  await activation.getByRole("button", { name: "Activate" }).click();
  await expect(nina.getByRole("status")).toContainText("Account nina is active");
  await nina.getByLabel("Password").fill("a long passphrase for nina");
  await nina.getByRole("button", { name: "Sign in" }).click();
  await expect(nina.getByText("Signed in as nina")).toBeVisible();
  await page.reload();
  await expect(row).toContainText("active");

  await ninaContext.close();
  await adamContext.close();
  await rootContext.close();
});

test("each role sees only what it may use, and the server refuses the rest", async ({ page }) => {
  const expected: Record<string, string[]> = {
    olga: ["Alerts", "Watchlist", "Searches", "Cameras", "Transparency", "My account"],
    sasha: ["Alerts", "Watchlist", "Searches", "Cameras", "Transparency", "My account"],
    root: ["Cameras", "Transparency", "Accounts", "My account"],
    audrey: ["Searches", "Audit log", "Transparency", "My account"],
  };
  for (const [user, links] of Object.entries(expected)) {
    await signIn(page, user);
    await expect(page.getByRole("navigation", { name: "main" }).getByRole("link")).toHaveText(links);
    await screenshot(page, `home-${user}`);
    await expectAccessible(page, `first page of ${user}`);
    if (user === "audrey") {
      // Searches are listed for the auditor, their results are not.
      await page.goto(`${demo().url}#searches`);
      await expect(page.locator("tr[data-search]").first()).toBeVisible();
      await expect(page.getByRole("button", { name: "Results" })).toHaveCount(0);
      await expect(page.getByRole("heading", { name: "Request a search" })).toHaveCount(0);
      expect(await requestFromPage(page, "GET", "/api/searches/1/results")).toBe(403);
      // What the administrator just did to the cameras is on the record.
      await page.goto(`${demo().url}#audit`);
      for (const action of ["camera.snapshot", "camera.update"]) {
        await page.getByLabel("Actor").fill("root");
        await page.getByLabel("Action").fill(action);
        await page.getByRole("button", { name: "Filter" }).click();
        await expect(page.locator("table.audit tbody tr").first()).toContainText(action);
      }
      expect(await requestFromPage(page, "GET", "/api/alerts")).toBe(403);
      expect(await requestFromPage(page, "GET", "/api/entries/1/photos/1")).toBe(403);
      await page.goto(`${demo().url}#alerts`);
      await expect(page.getByText("Your roles do not open this page.")).toBeVisible();
    }
    if (user === "root") {
      expect(await requestFromPage(page, "POST", "/api/alerts/1/confirm")).toBe(403);
      await page.goto(`${demo().url}#cameras`);
      const lobby = page.locator('tr[data-camera="lobby"]');
      await expect(lobby).toContainText("streaming");
      // Cameras of the configuration file cannot be changed here; ones added here can. Any can
      // be looked through, to aim it: one frame, shown and not kept.
      await expect(lobby.getByRole("button")).toHaveText(["Look through it"]);
      await lobby.getByRole("button", { name: "Look through it" }).click();
      const view = page.locator("section.snapshot");
      await expect(view.getByRole("heading")).toHaveText("What camera lobby sees now");
      await expect.poll(() => view.locator("img").evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
      await screenshot(page, "camera-aiming");
      const add = page.locator("form", { has: page.getByRole("heading", { name: "Add a camera" }) });
      await add.getByLabel("Name").fill("door");
      await add.getByLabel("Stream URL").fill("rtsp://127.0.0.1:8554/loopback");
      await add.getByRole("button", { name: "Add" }).click();
      await expect(page.getByRole("alert")).toContainText("127.0.0.0/8"); // the host itself is not a camera
      await add.getByLabel("Stream URL").fill("rtsp://192.0.2.7:554/live");
      await add.getByRole("button", { name: "Add" }).click();
      const door = page.locator('tr[data-camera="door"]');
      await expect(door).toBeVisible();
      // Its settings change (the stream URL only when a new one is typed: it is shown redacted).
      await door.getByRole("button", { name: "Edit" }).click();
      const edit = page.locator('form[data-editing="door"]');
      await edit.getByLabel("Analysed frames per second").fill("2");
      await edit.getByLabel("Keep recordings (days)").fill("7");
      await edit.getByLabel(/New stream URL/).fill("rtsp://127.0.0.1:8554/loopback");
      await edit.getByRole("button", { name: /Save/ }).click();
      await expect(page.getByRole("alert")).toContainText("127.0.0.0/8"); // refused, and what was typed stays
      await expect(edit.getByLabel("Analysed frames per second")).toHaveValue("2");
      await edit.getByLabel(/New stream URL/).fill("");
      await edit.getByRole("button", { name: /Save/ }).click();
      await expect(edit).toHaveCount(0);
      await door.getByRole("button", { name: "Edit" }).click();
      await expect(edit.getByLabel("Analysed frames per second")).toHaveValue("2");
      await expect(edit.getByLabel("Keep recordings (days)")).toHaveValue("7");
      await edit.getByRole("button", { name: "Cancel" }).click();
      // A camera that sends nothing says why there is no picture.
      await door.getByRole("button", { name: "Look through it" }).click();
      await expect(view.getByRole("heading")).toHaveText("What camera door sees now");
      await expect(view.getByRole("alert")).toContainText("door: no frame within 5000 ms", { timeout: 15_000 });
      await door.getByRole("button", { name: "Switch off" }).click();
      await expect(door).toContainText("switched off");
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

test("a dark screen for the night shift keeps every page readable", async ({ browser }) => {
  const context = await browser.newContext({ colorScheme: "dark" });
  for (const [user, pages] of [
    ["olga", ["alerts", "watchlist", "searches", "cameras", "transparency", "me"]],
    ["root", ["cameras", "accounts"]],
    ["audrey", ["audit"]],
  ] as const) {
    const page = await context.newPage();
    await signIn(page, user);
    for (const name of pages) {
      await page.goto(`${demo().url}#${name}`);
      await expect(page.locator("main h1").first()).toBeVisible();
      if (name === "alerts") {
        // The new-alert cue too, while it pulses: the looping cameras raise alerts every few seconds.
        await expect(page.getByRole("alert").filter({ hasText: /new alert/ })).toBeVisible({ timeout: 60_000 });
      }
      await expectAccessible(page, `${name} of ${user}, dark`);
    }
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.close();
  }
  await context.close();
});
