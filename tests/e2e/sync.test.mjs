// Sync you can trust (issue 12): the Export page syncs a portfolio's export to a real
// FileSystemFileHandle of the origin-private file system (given to the page in place of the
// save-file picker). The handle survives a reload; after it the page writes again once
// allowed; an apply that touches the portfolio rewrites exactly that file, and undo rewrites
// it back. Each time the file is read back from the origin-private file system and its cells
// checked.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { COL, assertClean, gotoPage, loadDemo, number, openApp, readXlsx, shot, startApp, waitForNotice, waitForText, waitForTexts, withSession } from "./harness.mjs";
import { analyseExport, editWorkbook } from "./fixtures.mjs";
import { match, planTotals, stageAndReview } from "./steps.mjs";

let app;
before(async () => {
  app = await startApp();
});
after(async () => {
  await app?.close();
});

const SYNCED = "synced-export.xlsx";

/** The synced file's bytes, read back from the origin-private file system. */
async function readSynced(page) {
  const bytes = await page.evaluate(async (name) => {
    const root = await navigator.storage.getDirectory();
    const file = await (await root.getFileHandle(name)).getFile();
    return Array.from(new Uint8Array(await file.arrayBuffer()));
  }, SYNCED);
  return Buffer.from(bytes);
}

/** Waits until the synced file's rows satisfy `ok`; returns them. */
async function waitForSynced(page, ok, what) {
  let rows = [];
  for (let i = 0; i < 100; i++) {
    try {
      rows = await readXlsx(await readSynced(page));
      if (ok(rows)) return rows;
    } catch {
      // Not written yet, or being written.
    }
    await page.waitForTimeout(200);
  }
  assert.fail(`the synced file never showed ${what}`);
}

async function choosePortfolio(page, label) {
  await gotoPage(page, "export");
  await page.getByTestId("export-portfolio-select").selectOption({ label });
}

test("sync: an origin-private file is rewritten after apply and undo, and survives a reload", { timeout: 600_000 }, () =>
  withSession(app, "sync", async (s) => {
    const { page } = s;
    // In place of the picker: a handle of the origin-private file system, on every load.
    await s.context.addInitScript((name) => {
      window.__roundtripPickSyncFile = async () => (await navigator.storage.getDirectory()).getFileHandle(name, { create: true });
    }, SYNCED);
    await openApp(page, app);
    await loadDemo(page);
    await gotoPage(page, "export");
    const [label] = await waitForTexts(page, page.getByTestId("export-portfolio-select").locator("option"), (o) => o.length > 0);
    await choosePortfolio(page, label);
    const cases = Number(label.match(/\((\d+) cases\)$/)[1]);
    await waitForText(page, "export-preview", (t) => t.endsWith(`· ${cases} cases`));
    await page.getByTestId("export-sync").click();
    await waitForNotice(page, new RegExp(`Synced to ${SYNCED} at .*Each later apply or undo rewrites it`));
    await waitForText(page, "sync-status", new RegExp(`^Synced to ${SYNCED} at \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}`));
    const first = await readXlsx(await readSynced(page));
    const rowCount = await number(page, "export-row-count");
    assert.equal(first.length - 1, rowCount, "the synced file is the portfolio's export");
    await shot(s, "synced");

    // A reload: the handle is remembered; writing again takes at most one click.
    await page.reload();
    await page.getByTestId("nav-browse").waitFor();
    await choosePortfolio(page, label);
    await page.waitForFunction(
      (name) => (document.querySelector('[data-testid="sync-status"]')?.textContent ?? "").includes(name),
      SYNCED,
    );
    const afterReload = await page.getByTestId("sync-status").textContent();
    assert.match(afterReload, new RegExp(`(Will sync to|needs your permission again to write) ${SYNCED}`), afterReload);
    if ((await page.getByTestId("sync-allow").count()) > 0) {
      await page.getByTestId("sync-allow").click();
      await page.waitForFunction(() => /^Synced to /.test(document.querySelector('[data-testid="sync-status"]')?.textContent ?? ""));
    }
    await shot(s, "sync-after-reload");

    // Apply an edit of the synced file itself: the file is rewritten with the new value.
    const a = analyseExport(first);
    const target = a.single.flatMap((p) => p.rows).find((r) => r.cells[COL["Detail Type"]] === "Address");
    assert.ok(target, "the portfolio has an address");
    const oldCity = target.cells[COL.City];
    const NEW_CITY = "Syncville";
    const edited = await editWorkbook(await readSynced(page), (ws, x) => x.set(target.sheetRow, "City", NEW_CITY));
    await gotoPage(page, "import");
    await stageAndReview(s, SYNCED, edited);
    await match(page);
    const totals = await planTotals(page);
    assert.equal(totals.update, 1, "one address changes");
    await page.getByTestId("apply-button").click();
    await page.getByTestId("verify-summary").waitFor({ timeout: 60_000 });
    const pid = target.cells[COL["Public ID"]];
    const applied = await waitForSynced(page, (rows) => rows.some((r) => r[COL["Public ID"]] === pid && r[COL.City] === NEW_CITY), NEW_CITY);
    assert.equal(applied.length, first.length, "the same portfolio's rows, one changed");
    const changedCells = applied.flatMap((r, i) => r.map((c, j) => (String(c ?? "") === String(first[i][j] ?? "") ? null : [i, j]))).filter(Boolean);
    assert.deepEqual(changedCells, [[target.sheetRow - 1, COL.City]], "exactly the city cell changed in the synced file");
    await shot(s, "synced-after-apply");

    // Undo rewrites it back.
    await page.getByTestId("undo-last-import").click();
    await waitForNotice(page, /was undone/);
    const undone = await waitForSynced(page, (rows) => rows.some((r) => r[COL["Public ID"]] === pid && r[COL.City] === oldCity), oldCity);
    assert.deepEqual(undone, first, "after undo the synced file is the original export again");
    await choosePortfolio(page, label);
    await waitForText(page, "sync-status", new RegExp(`^Synced to ${SYNCED} at `));
    assertClean(s);
  }),
);
