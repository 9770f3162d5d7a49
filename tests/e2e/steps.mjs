// The Import page's steps as the end-to-end tests drive them: export a portfolio, stage a
// file and wait for Review, match, read the plan's totals.

import assert from "node:assert/strict";

import { EXPORT_COLUMNS, download, gotoPage, number, readXlsx, uploadFile, waitForNotice, waitForText, waitForTexts } from "./harness.mjs";

export const settle = (page) => page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => setTimeout(ok, 0))));

/** Exports the portfolio at `index` of the Export page's list; returns its bytes and rows. */
export async function exportPortfolio(page, index) {
  await gotoPage(page, "export");
  const select = page.getByTestId("export-portfolio-select");
  const options = await waitForTexts(page, select.locator("option"), (o) => o.length > index, { message: `portfolio #${index} exists` });
  const label = options[index];
  assert.ok(label, `portfolio #${index} exists (${options})`);
  await select.selectOption({ label });
  const cases = Number(label.match(/\((\d+) cases\)$/)[1]);
  // The demo's portfolios have different numbers of cases, so this is the chosen one's preview.
  await waitForText(page, "export-preview", (t) => t.endsWith(`· ${cases} cases`));
  await settle(page);
  const count = await number(page, "export-row-count");
  const buffer = await download(page, "export-download");
  const rows = await readXlsx(buffer);
  assert.deepEqual(rows[0], EXPORT_COLUMNS);
  assert.equal(rows.length - 1, count, "the export holds the rows the page announced");
  return { buffer, rows, count, label, name: label.replace(/ \(\d+ cases\)$/, "") };
}

/** Uploads a file on the Import page and waits for the Review step. */
export async function stageAndReview(s, name, buffer) {
  const { page } = s;
  await uploadFile(page, "import-file-input", name, buffer);
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  await waitForNotice(page, new RegExp(`${escaped} is staged as an insured contact details file: \\d+ rows\\.( [^.]+\\.)? Nothing has been applied\\.`));
  await page.getByTestId("import-error-count").waitFor({ timeout: 60_000 });
}

/** Clicks "Match" and waits for the Resolve step or (no groups) the Plan step. */
export async function match(page) {
  await page.getByTestId("match-button").click();
  await page.locator('[data-testid="resolve-group"], [data-testid="plan-summary"]').first().waitFor({ timeout: 60_000 });
}

export async function planTotals(page) {
  await page.getByTestId("plan-summary").waitFor({ timeout: 60_000 });
  const out = {};
  for (const k of ["create", "update", "add", "unchanged", "skip", "error"]) out[k] = await number(page, `plan-${k}`);
  return out;
}

