// End-to-end harness: serves the built app (../../dist) on an ephemeral loopback port, drives
// Debian's headless Chromium through playwright-core, and offers page-object-style helpers
// (navigation, demo loading, downloads, XLSX reading and writing with exceljs, screenshots).
//
// Every page gets a request recorder: any request (or WebSocket) whose origin is not the test
// server's is collected in `session.foreign`, so a test can prove that nothing left the machine.

import { mkdir, readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

import { chromium } from "playwright-core";
import ExcelJS from "exceljs";

import { startServer } from "../../scripts/static-server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
// ROUNDTRIP_DIST points the tests at another build (e.g. one made with `trunk build --dist`).
export const DIST = process.env.ROUNDTRIP_DIST ? resolve(process.env.ROUNDTRIP_DIST) : resolve(here, "../../dist");
export const ARTIFACTS = resolve(here, "artifacts");

/** The 19 columns of the Insured CRM Export, in order (issue 2, item 8). */
export const EXPORT_COLUMNS = [
  "Case Reference",
  "Insured Reference",
  "First Name",
  "Last Name",
  "Client Reference",
  "SSN",
  "Date of Birth",
  "Detail Type",
  "Label",
  "Primary",
  "Address Line 1",
  "Address Line 2",
  "City",
  "Region",
  "Postcode",
  "Country",
  "Phone",
  "Email",
  "Public ID",
];
/** Column index by header, e.g. COL["Public ID"] === 18. */
export const COL = Object.fromEntries(EXPORT_COLUMNS.map((h, i) => [h, i]));

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/**
 * Starts the static server on port 0 and launches Chromium. Call `close()` when done.
 * Fails at once with a clear message when the app has not been built.
 * `root` serves another directory than the build (e.g. a copy a test changes).
 */
export async function startApp({ root = DIST } = {}) {
  const index = await stat(join(DIST, "index.html")).catch(() => null);
  assert.ok(index, `${DIST}/index.html is missing: build the app first (trunk build --release)`);
  await mkdir(ARTIFACTS, { recursive: true });
  const server = await startServer(0, { root, autoload: false });
  const { port } = server.address();
  const baseUrl = `http://127.0.0.1:${port}/`;
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  return {
    baseUrl,
    origin: new URL(baseUrl).origin,
    browser,
    async close() {
      await browser.close().catch(() => {});
      server.closeAllConnections?.();
      await new Promise((ok) => server.close(() => ok()));
    },
  };
}

/**
 * A fresh browser context (empty IndexedDB and local storage) with one page, a request
 * recorder, a dialog handler and a record of page errors.
 *
 * `session.dialogPolicy` decides each window.confirm: "accept" (default) or "dismiss"; every
 * dialog's message is kept in `session.dialogs`.
 *
 * With `profileDir`, the session is a Chromium of its own on that (empty) profile directory
 * instead of an off-the-record context of `app.browser`: what only a regular profile offers,
 * such as installing the app, can then be checked.
 */
export async function openSession(app, name, { profileDir } = {}) {
  const options = { acceptDownloads: true, viewport: { width: 1280, height: 800 } };
  const context = profileDir
    ? await chromium.launchPersistentContext(profileDir, { ...options, executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS })
    : await app.browser.newContext(options);
  const session = {
    name,
    context,
    page: null,
    foreign: [],
    requests: 0,
    dialogs: [],
    dialogPolicy: "accept",
    pageErrors: [],
    consoleErrors: [],
    shots: 0,
  };
  const recordUrl = (url) => {
    session.requests += 1;
    if (!isSameOrigin(url, app.origin)) session.foreign.push(url);
  };
  context.on("request", (req) => recordUrl(req.url()));
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("websocket", (ws) => session.foreign.push(ws.url()));
  page.on("dialog", async (d) => {
    session.dialogs.push(d.message());
    if (session.dialogPolicy === "dismiss") await d.dismiss();
    else await d.accept();
  });
  page.on("pageerror", (e) => session.pageErrors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error") session.consoleErrors.push(m.text());
  });
  session.page = page;
  session.close = () => context.close().catch(() => {});
  return session;
}

/** True when `url` is served by the test server. data: URLs never leave the page. */
export function isSameOrigin(url, origin) {
  if (url.startsWith("data:")) return true;
  try {
    // A blob: URL's origin is the origin of the document that made it.
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}

/** Asserts the page made no request to another origin and raised no uncaught error. */
export function assertClean(session) {
  assert.ok(session.requests > 0, "the request recorder saw no request at all: is it attached?");
  assert.deepEqual(session.foreign, [], "requests were made to another origin");
  assert.deepEqual(session.pageErrors, [], "the page raised uncaught errors");
  const panics = session.consoleErrors.filter((t) => /panicked|RuntimeError|unreachable/i.test(t));
  assert.deepEqual(panics, [], "the app panicked");
}

/** Saves a full-page (or, with fullPage: false, a window) screenshot as artifacts/<session>-<nn>-<label>.png. */
export async function shot(session, label, { fullPage = true } = {}) {
  session.shots += 1;
  const file = join(ARTIFACTS, `${session.name}-${String(session.shots).padStart(2, "0")}-${label}.png`);
  await session.page.screenshot({ path: file, fullPage });
  return file;
}

/** Opens the app and waits until the local CRM has been opened. */
export async function openApp(page, app) {
  await page.goto(app.baseUrl);
  await waitForApp(page);
}

/** Waits until the app (just loaded or reloaded) has opened the local CRM. */
export async function waitForApp(page) {
  await page.getByTestId("nav-browse").waitFor();
  await page.getByTestId("crm-figures").waitFor();
  await page.waitForFunction(() => !document.querySelector("main.page")?.textContent.includes("Opening the local CRM"), null, {
    timeout: 30_000,
  });
}

const PAGES = ["browse", "portfolios", "export", "import", "history", "data", "accounts", "utilities"];

/** Clicks the navigation button of a page: browse, portfolios, export, import, history, data. */
export async function gotoPage(page, name) {
  assert.ok(PAGES.includes(name), `unknown page ${name}`);
  await page.getByTestId(`nav-${name}`).click();
}

/**
 * Waits until the notice bar shows text matching `pattern`. An error notice that appears
 * instead fails at once with its text, so a failing step says why.
 */
export async function waitForNotice(page, pattern, { timeout = 60_000 } = {}) {
  const deadline = Date.now() + timeout;
  let last = "";
  while (Date.now() < deadline) {
    const notice = page.getByTestId("notice");
    if (await notice.count()) {
      last = (await notice.first().textContent()) ?? "";
      if (pattern.test(last)) return last;
      const cls = (await notice.first().getAttribute("class")) ?? "";
      if (cls.includes("error") && !pattern.test(last)) {
        throw new Error(`the app reported an error instead of ${pattern}: ${last}`);
      }
    }
    await page.waitForTimeout(100);
  }
  throw new Error(`no notice matching ${pattern} within ${timeout} ms; last notice: ${JSON.stringify(last)}`);
}

/** Loads the demo CRM from the CRM data page and waits for the notice that says so. */
export async function loadDemo(page) {
  await gotoPage(page, "data");
  await page.getByTestId("load-demo").click();
  return waitForNotice(page, /Demo CRM loaded/, { timeout: 120_000 });
}

// --- Waiting for what the page shows -----------------------------------------------------
//
// An action (a click, a fill, an upload, a navigation) starts work the page finishes later: the
// worker answers, IndexedDB commits, the view renders. A step after an action therefore waits
// for the state it expects with these helpers and never reads "the next value" at once
// (lint-races.mjs, run by the test command, fails on a plain read right after an action).
// `expected` is a RegExp (tested), a function (a predicate on the value), an array (deep
// equality) or any other value (strict equality). On timeout they fail as an assertion with
// the step's message, what was expected and the last value read.

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** True when `value` is what `expected` describes (see above). */
export function meets(value, expected) {
  if (expected instanceof RegExp) return expected.test(String(value));
  if (typeof expected === "function") return Boolean(expected(value));
  if (Array.isArray(expected)) return JSON.stringify(value) === JSON.stringify(expected);
  return value === expected;
}

const describe = (expected) =>
  expected instanceof RegExp ? String(expected) : typeof expected === "function" ? `a value satisfying ${expected}` : JSON.stringify(expected);

/**
 * Reads `read()` again and again until its value meets `expected`, and returns that value.
 * `what` names the value in the failure message; `message` is the step's own assertion text.
 */
export async function waitForValue(what, read, expected, { timeout = 30_000, message } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastError = null;
  for (;;) {
    try {
      last = await read(Math.max(1, deadline - Date.now()));
      lastError = null;
      if (meets(last, expected)) return last;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) break;
    await sleep(50);
  }
  const seen = lastError ? `reading it failed: ${lastError.message.split("\n")[0]}` : `it shows ${JSON.stringify(last)}`;
  throw new assert.AssertionError({
    message: `${message ? `${message}: ` : ""}${what} did not show ${describe(expected)} within ${timeout} ms; ${seen}`,
    actual: last,
    expected: expected instanceof RegExp || typeof expected === "function" ? String(expected) : expected,
    operator: "waitForValue",
  });
}

const locatorOf = (page, target) => (typeof target === "string" ? page.getByTestId(target).first() : target);
const nameOf = (target) => (typeof target === "string" ? target : String(target));

/**
 * Waits until the element (a test id: the first element carrying it; or a locator) shows
 * text meeting `expected`; returns the trimmed text.
 */
export async function waitForText(page, target, expected, options = {}) {
  const locator = locatorOf(page, target);
  return waitForValue(nameOf(target), async (timeout) => ((await locator.textContent({ timeout })) ?? "").trim(), expected, options);
}

/** Waits until the trimmed texts of every element with this test id (or locator) meet `expected`; returns them. */
export async function waitForTexts(page, target, expected, options = {}) {
  const locator = typeof target === "string" ? page.getByTestId(target) : target;
  return waitForValue(nameOf(target), async () => (await locator.allTextContents()).map((t) => t.trim()), expected, options);
}

/** Waits until the element with this test id shows a number meeting `expected`; returns it. */
export async function waitForNumber(page, testId, expected, options = {}) {
  const shown = await waitForText(page, testId, (t) => /^\d+$/.test(t) && meets(Number(t), expected), options);
  return Number(shown);
}

/** Waits until `locator` matches a number of elements meeting `expected`; returns the count. */
export async function waitForCount(locator, expected, options = {}) {
  return waitForValue(`the number of ${locator}`, () => locator.count(), expected, options);
}

/** Waits until the form control `locator` holds a value meeting `expected`; returns it. */
export async function waitForInputValue(locator, expected, options = {}) {
  return waitForValue(`the value of ${locator}`, (timeout) => locator.inputValue({ timeout }), expected, options);
}

/**
 * Runs a test's body in a fresh session (see openSession): on failure it saves a screenshot
 * of the page as it was (artifacts/<name>-<nn>-failure.png) and fails with the same error;
 * the session is closed either way.
 */
export async function withSession(app, name, body, options = {}) {
  const s = await openSession(app, name, options);
  try {
    await body(s);
  } catch (e) {
    await shot(s, "failure").catch(() => {});
    throw e;
  } finally {
    await s.close();
  }
}

/** The trimmed text of the element with this test id, as it is now (after a wait). */
export async function text(page, testId) {
  return ((await page.getByTestId(testId).first().textContent()) ?? "").trim();
}

/** The number shown by the element with this test id, as it is now (fails if it is not a number). */
export async function number(page, testId) {
  const t = await text(page, testId);
  assert.match(t, /^\d+$/, `${testId} should show a number, shows ${JSON.stringify(t)}`);
  return Number(t);
}

/**
 * Clicks the element with `testId` (or a given locator) and returns the downloaded file as a
 * Buffer whose `fileName` property is the name the page gave it.
 */
export async function download(page, testIdOrLocator, { timeout = 60_000 } = {}) {
  const target = typeof testIdOrLocator === "string" ? page.getByTestId(testIdOrLocator).first() : testIdOrLocator;
  const [dl] = await Promise.all([page.waitForEvent("download", { timeout }), target.click()]);
  const failure = await dl.failure();
  assert.equal(failure, null, `download failed: ${failure}`);
  const buffer = await readFile(await dl.path());
  buffer.fileName = dl.suggestedFilename();
  return buffer;
}

/** Text of an exceljs cell value: strings as is, dates as YYYY-MM-DD, numbers as written. */
export function cellText(value) {
  if (value === null || value === undefined) return "";
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  if (typeof value === "object") {
    if (Array.isArray(value.richText)) return value.richText.map((r) => r.text).join("");
    if ("result" in value) return cellText(value.result);
    if ("text" in value) return String(value.text);
    if ("error" in value) return String(value.error);
  }
  return String(value);
}

/** Loads an XLSX buffer into an exceljs workbook. */
export async function loadWorkbook(buffer) {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buffer);
  return wb;
}

/**
 * Reads one sheet (the first by default, or by name) of an XLSX buffer as an array of rows,
 * each an array of cell texts, padded to the widest row. Trailing empty rows are dropped.
 */
export async function readXlsx(buffer, sheetName) {
  const wb = await loadWorkbook(buffer);
  const ws = sheetName ? wb.getWorksheet(sheetName) : wb.worksheets[0];
  assert.ok(ws, `no sheet ${sheetName ?? "(first)"} in the workbook; sheets: ${wb.worksheets.map((w) => w.name)}`);
  const rows = [];
  let width = 0;
  ws.eachRow({ includeEmpty: true }, (row, n) => {
    const cells = [];
    row.eachCell({ includeEmpty: true }, (cell, c) => {
      cells[c - 1] = cellText(cell.value);
    });
    rows[n - 1] = cells;
    width = Math.max(width, cells.length);
  });
  const out = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] ?? [];
    out.push(Array.from({ length: width }, (_, k) => r[k] ?? ""));
  }
  while (out.length && out[out.length - 1].every((c) => c === "")) out.pop();
  return out;
}

/** Sheet names of an XLSX buffer. */
export async function sheetNames(buffer) {
  const wb = await loadWorkbook(buffer);
  return wb.worksheets.map((w) => w.name);
}

/** Writes rows of values (first row = header) as a one-sheet XLSX buffer. */
export async function writeXlsx(rows, sheetName = "Sheet1") {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet(sheetName);
  for (const r of rows) ws.addRow(r);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** Uploads a buffer through a file input. */
export async function uploadFile(page, testId, name, buffer) {
  await page.getByTestId(testId).setInputFiles({
    name,
    mimeType: name.endsWith(".csv") ? "text/csv" : "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    buffer,
  });
}

/** The texts of every element with this test id, as they are now (after a wait). */
export async function texts(page, testId) {
  return (await page.getByTestId(testId).allTextContents()).map((t) => t.trim());
}

/** Today's date in the browser's local time zone as YYYY-MM-DD. */
export async function browserToday(page) {
  return page.evaluate(() => {
    const d = new Date();
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  });
}
