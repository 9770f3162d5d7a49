// Stale exports (issue 8): an export is made; a later import changes a city and a phone; the
// old export, edited elsewhere (the same city to another value, an email), is re-imported.
// The later phone survives (the file still holds the exported value), the email applies (only
// the file changed it), and the city is a conflict shown on the plan with the CRM's and the
// file's values (the base holds the exported one only as a keyed digest), keeping the CRM's
// value unless the operator takes the file's.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { COL, assertClean, download, gotoPage, loadDemo, openApp, readXlsx, shot, startApp, withSession, writeXlsx } from "./harness.mjs";
import { analyseExport, editWorkbook } from "./fixtures.mjs";
import { exportPortfolio, match, planTotals, stageAndReview } from "./steps.mjs";

let app;
before(async () => {
  app = await startApp();
});
after(async () => {
  await app?.close();
});

async function applyFile(s, name, bytes) {
  const { page } = s;
  await gotoPage(page, "import");
  await stageAndReview(s, name, bytes);
  await match(page);
  if ((await page.getByTestId("plan-summary").count()) === 0) await page.getByTestId("plan-button").click();
  return planTotals(page);
}

test("a stale export re-imported keeps later CRM changes; a field changed on both sides is a conflict", { timeout: 600_000 }, () =>
  withSession(app, "stale", async (s) => {
    const { page } = s;
    await openApp(page, app);
    await loadDemo(page);
    const old = await exportPortfolio(page, 0);
    const a = analyseExport(old.rows);
    const rowsOf = (type) => a.single.flatMap((p) => p.rows).filter((r) => r.cells[COL["Detail Type"]] === type);
    const A = rowsOf("Address")[0];
    const P = rowsOf("Phone")[0];
    const Q = rowsOf("Email")[0];
    assert.ok(A && P && Q, "the portfolio has an address, a phone and an email");
    const pid = (r) => r.cells[COL["Public ID"]];

    // The later change, applied from the same export.
    const later = await editWorkbook(old.buffer, (ws, x) => {
      x.set(A.sheetRow, "City", "Laterville");
      x.set(P.sheetRow, "Phone", "+1 (555) 010-6060");
    });
    const t1 = await applyFile(s, "later.xlsx", later);
    assert.equal(t1.update, 2);
    await page.getByTestId("apply-button").click();
    await page.getByTestId("verify-summary").waitFor({ timeout: 60_000 });
    await page.getByTestId("import-another").click();

    // The old export, edited elsewhere.
    const stale = await editWorkbook(old.buffer, (ws, x) => {
      x.set(A.sheetRow, "City", "Oldtown");
      x.set(Q.sheetRow, "Email", "stale.edit@example.com");
    });
    const t2 = await applyFile(s, "old-export-edited.xlsx", stale);
    assert.equal(t2.update, 1, "only the email applies: the city keeps the CRM's value, the phone is not reverted");
    const conflicts = page.getByTestId("plan-stale-conflicts");
    await conflicts.waitFor();
    assert.match(await conflicts.textContent(), /^1 row\(s\) change a field that was also changed in the CRM/);
    // The plan report names the CRM's and the file's values on the row; the exported value
    // the base holds only as a keyed digest, never in plain.
    const report = await readXlsx(await download(page, "plan-report-download"));
    const staleCol = report[0].indexOf("Changed in the CRM since export");
    assert.ok(staleCol > 0, `the plan report has the column: ${report[0]}`);
    const aLine = report.find((r) => Number(r[0]) === A.sheetRow);
    assert.equal(String(aLine[staleCol]), "City: CRM now Laterville / file Oldtown (the CRM's kept)");
    assert.equal(report.filter((r, i) => i > 0 && r[staleCol]).length, 1, "only the city is a conflict");
    await shot(s, "stale-conflict");

    // Taking the file's value makes the city an update too; leaving it keeps the CRM's.
    await page.getByTestId("plan-take-file").check();
    await page.waitForFunction(() => document.querySelector('[data-testid="plan-update"]')?.textContent.trim() === "2");
    await page.getByTestId("plan-take-file").uncheck();
    await page.waitForFunction(() => document.querySelector('[data-testid="plan-update"]')?.textContent.trim() === "1");
    await page.getByTestId("apply-button").click();
    await page.getByTestId("verify-summary").waitFor({ timeout: 60_000 });

    const now = await exportPortfolio(page, 0);
    const byPid = new Map(now.rows.slice(1).map((r) => [r[COL["Public ID"]], r]));
    assert.equal(byPid.get(pid(A))[COL.City], "Laterville", "the later city survives");
    assert.equal(byPid.get(pid(P))[COL.Phone], "+1 (555) 010-6060", "the later phone survives");
    assert.equal(byPid.get(pid(Q))[COL.Email], "stale.edit@example.com", "the file's own edit applies");

    // A file without the base sheet (a third party's) plans with the notice.
    await gotoPage(page, "import");
    await page.getByTestId("import-another").click().catch(() => {});
    const plain = await writeXlsx(now.rows);
    await applyFile(s, "third-party.xlsx", plain);
    assert.match(await page.getByTestId("plan-notice").first().textContent(), /carries no export base/);
    assertClean(s);
  }),
);
