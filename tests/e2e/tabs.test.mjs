// No silent loss (issue 8), end to end with two pages in one browser context (one IndexedDB):
// tab B plans an import, tab A applies another, tab B is told its plan is stale, re-plans and
// applies — both persons, details and history records exist with distinct IDs. A plan made
// before a snapshot replaces the CRM is refused. A damaged stored copy opens read-only.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import {
  EXPORT_COLUMNS,
  assertClean,
  gotoPage,
  loadDemo,
  openApp,
  shot,
  startApp,
  text,
  waitForNotice,
  waitForNumber,
  waitForText,
  withSession,
  writeXlsx,
} from "./harness.mjs";
import { match, planTotals, stageAndReview } from "./steps.mjs";

let app;
before(async () => {
  app = await startApp();
});
after(async () => {
  await app?.close();
});

/** An insured contact details file with one new person and their email. */
async function newPersonFile(first, last, email) {
  const row = EXPORT_COLUMNS.map((h) =>
    ({ "First Name": first, "Last Name": last, "Detail Type": "Email", Label: "Home", Primary: "Yes", Email: email })[h] ?? "",
  );
  return writeXlsx([EXPORT_COLUMNS, row]);
}

/** Stages a file and goes to the Plan step (its one person left on "Create new"). */
async function planFile(s, name, bytes) {
  const { page } = s;
  await gotoPage(page, "import");
  await page.locator('[data-testid="import-file-input"], [data-testid="import-another"]').first().waitFor();
  if ((await page.getByTestId("import-another").count()) > 0) await page.getByTestId("import-another").click();
  await stageAndReview(s, name, bytes);
  await match(page);
  if ((await page.getByTestId("plan-summary").count()) === 0) await page.getByTestId("plan-button").click();
  return planTotals(page);
}

/**
 * How many entries the Browse search finds for `name`, once it shows `expected` (another tab's
 * commit reaches this tab's copy a moment after it is announced); the last count otherwise.
 */
async function entriesNamed(page, name, expected) {
  await gotoPage(page, "browse");
  await page.getByTestId("crm-search").fill(name);
  const shown = () =>
    page.evaluate((n) => {
      const rows = [...document.querySelectorAll('[data-testid="crm-result"]')];
      const count = Number(document.querySelector('[data-testid="crm-result-count"]')?.textContent ?? "NaN");
      return count === rows.length && rows.every((r) => r.textContent.includes(n.split(" ")[0])) ? count : null;
    }, name);
  let count = null;
  for (let i = 0; i < 100; i++) {
    count = await shown();
    if (count === expected) return count;
    await page.waitForTimeout(150);
  }
  return count;
}

test("two tabs: a plan made before another tab's apply is stale, re-planned, and nothing is lost", { timeout: 600_000 }, () =>
  withSession(app, "tabs", async (s) => {
    const a = s.page;
    await openApp(a, app);
    await loadDemo(a);
    const b = await s.context.newPage();
    b.on("pageerror", (e) => s.pageErrors.push(String(e)));
    b.on("dialog", (d) => d.accept());
    const sb = { ...s, page: b };
    await openApp(b, app);

    // Tab B plans first.
    const bTotals = await planFile(sb, "bob.xlsx", await newPersonFile("Bartholomew", "Tabsworth", "bob.tabs@example.com"));
    assert.equal(bTotals.create, 1);

    // Tab A applies its own new person.
    const aTotals = await planFile(s, "alice.xlsx", await newPersonFile("Alicent", "Tabsworth", "alice.tabs@example.com"));
    assert.equal(aTotals.create, 1);
    await a.getByTestId("apply-button").click();
    await a.getByTestId("verify-summary").waitFor({ timeout: 60_000 });
    await waitForNotice(a, /Import #1 applied: 1 created/);

    // Tab B hears of it: notice, plan stale, apply refused until re-planned.
    await waitForNotice(b, /The CRM was changed in another tab/);
    await b.getByTestId("plan-stale").waitFor({ timeout: 30_000 });
    assert.match(await b.getByTestId("plan-stale").textContent(), /changed in another tab/);
    await shot(sb, "tab-b-stale");
    await b.getByTestId("replan-button").click();
    await b.waitForFunction(() => !document.querySelector('[data-testid="plan-stale"]'));
    await waitForNumber(b, "plan-create", 1, { message: "the re-plan still creates Bob" });
    await b.getByTestId("apply-button").click();
    await b.getByTestId("verify-summary").waitFor({ timeout: 60_000 });
    await waitForNotice(b, /Import #2 applied: 1 created/);

    // Both persons exist, seen from either tab, and the history has two distinct imports.
    for (const page of [a, b]) {
      assert.equal(await entriesNamed(page, "Alicent Tabsworth", 1), 1);
      assert.equal(await entriesNamed(page, "Bartholomew Tabsworth", 1), 1);
    }
    await gotoPage(a, "history");
    await a.waitForFunction(() => (document.querySelector('[data-testid="history-table"]')?.textContent ?? "").includes("bob.xlsx"));
    const historyText = await a.getByTestId("history-table").textContent();
    assert.match(historyText, /alice\.xlsx/);
    assert.match(historyText, /bob\.xlsx/);

    // A plan made before a snapshot (here: the demo CRM) replaces the CRM is refused.
    await planFile(s, "carol.xlsx", await newPersonFile("Carolina", "Tabsworth", "carol.tabs@example.com"));
    await loadDemo(a);
    // The demo CRM replaced the copy with the two new persons.
    const figures = await waitForText(a, "crm-figures", /^900 CRM entries/);
    await gotoPage(a, "import");
    await a.getByTestId("plan-stale").waitFor({ timeout: 30_000 });
    await shot(s, "plan-stale-after-snapshot");
    const applyDisabled = await a.getByTestId("apply-button").isDisabled();
    if (!applyDisabled) {
      await a.getByTestId("apply-button").click();
      await waitForNotice(a, /changed since this plan was made/);
    }
    assert.equal(await text(a, "crm-figures"), figures, "the CRM figures did not move");
    assert.equal(await entriesNamed(a, "Carolina Tabsworth", 0), 0, "the stale plan wrote nothing");
    assertClean(s);
  }),
);

test("a stored copy that cannot be read opens read-only and nothing can be written", { timeout: 300_000 }, () =>
  withSession(app, "damaged", async (s) => {
    const { page } = s;
    await openApp(page, app);
    await loadDemo(page);
    // Damage one stored bucket of CRM entries, as a failed disk write would.
    await page.evaluate(
      () =>
        new Promise((ok, fail) => {
          const open = indexedDB.open("roundtrip-crm");
          open.onerror = () => fail(open.error);
          open.onsuccess = () => {
            const db = open.result;
            const tx = db.transaction("crm_entries", "readwrite");
            const store = tx.objectStore("crm_entries");
            const cursor = store.openCursor();
            cursor.onsuccess = () => {
              const c = cursor.result;
              if (c) c.update({ ...c.value, json: "[{not json" });
            };
            tx.oncomplete = () => {
              db.close();
              ok();
            };
            tx.onerror = () => fail(tx.error);
          };
        }),
    );
    await page.reload();
    await page.getByTestId("read-only").waitFor({ timeout: 60_000 });
    const banner = await page.getByTestId("read-only").textContent();
    assert.match(banner, /read-only/);
    assert.match(banner, /snapshot/, "the banner says how to recover");
    await shot(s, "read-only");
    // The import page offers nothing that writes.
    await gotoPage(page, "import");
    await page.locator('[data-testid="import-stage-status"], [data-testid="import-locked"]').first().waitFor();
    const apply = page.getByTestId("apply-button");
    assert.equal(await apply.count(), 0, "no apply button on a read-only copy");
    // Loading the demo replaces the damaged copy and the app is writable again.
    await loadDemo(page);
    await page.waitForFunction(() => !document.querySelector('[data-testid="read-only"]'));
    assert.ok(s.pageErrors.length === 0, `no uncaught errors: ${s.pageErrors}`);
  }),
);
