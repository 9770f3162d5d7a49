// Issue 2 end to end: the app opens, loads the demo CRM, browses and searches it with SSNs
// masked, lists portfolios, creates and deletes a temporary portfolio without touching cases,
// exports a portfolio to XLSX whose header and row count agree with the page, writes a
// snapshot and refuses a foreign one without changing the local CRM — and no request leaves
// the test server's origin at any point.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import {
  EXPORT_COLUMNS,
  assertClean,
  download,
  gotoPage,
  loadDemo,
  number,
  openApp,
  readXlsx,
  sheetNames,
  shot,
  startApp,
  texts,
  uploadFile,
  waitForCount,
  waitForNotice,
  waitForNumber,
  waitForText,
  waitForTexts,
  waitForValue,
  withSession,
  writeXlsx,
  loadWorkbook,
} from "./harness.mjs";

let app;
before(async () => {
  app = await startApp();
});
after(async () => {
  await app?.close();
});

/**
 * The CRM data page's entity counts, as { "CRM entries": 900, ... }, once they meet
 * `expected` (a predicate on them, or counts they must equal; by default: listed at all).
 */
async function crmCounts(page, expected = (c) => Object.keys(c).length > 0, message) {
  await gotoPage(page, "data");
  const read = () =>
    page.getByTestId("crm-counts").evaluate((table) =>
      Object.fromEntries([...table.querySelectorAll("tr")].map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent.trim())).map(([k, n]) => [k, Number(n)])),
    );
  const wanted = typeof expected === "function" ? expected : (c) => JSON.stringify(c) === JSON.stringify(expected);
  return waitForValue("the CRM data page's counts", read, wanted, { message });
}

/** UTC date of `ms` as YYYY-MM-DD (the app names files by the UTC date). */
const utcDate = (ms) => new Date(ms).toISOString().slice(0, 10);

test("foundation: demo CRM, browse, portfolios, export, snapshot — all local", { timeout: 300_000 }, () =>
  withSession(app, "foundation", async (s) => {
    const { page } = s;
    await openApp(page, app);
    await waitForText(page, "crm-figures", /empty/i, { message: "a fresh browser starts with an empty local CRM" });
    await shot(s, "opened-empty");

    // --- Demo CRM ------------------------------------------------------------------------
    const notice = await loadDemo(page);
    assert.match(notice, /900 CRM entries/);
    assert.match(notice, /1000 insureds on 400 cases/);
    await shot(s, "demo-loaded");
    const countsAfterDemo = await crmCounts(page, (c) => c["CRM entries"] === 900, "CRM data shows 900 CRM entries");
    assert.ok(Object.keys(countsAfterDemo).length >= 8, `CRM data lists the entities: ${JSON.stringify(countsAfterDemo)}`);
    assert.equal(countsAfterDemo["CRM entries"], 900, `CRM data shows 900 CRM entries: ${JSON.stringify(countsAfterDemo)}`);
    assert.equal(countsAfterDemo.Portfolios, 4);
    assert.equal(countsAfterDemo.Insureds, 1000);
    await waitForText(page, "crm-figures", /900 CRM entries · 400 cases · 200 accounts/);

    // --- Browse ---------------------------------------------------------------------------
    await gotoPage(page, "browse");
    await page.getByTestId("crm-search").waitFor();
    await waitForNumber(page, "crm-result-count", 900, { message: "an empty search matches every entry" });
    const firstRows = page.getByTestId("crm-result");
    await waitForCount(firstRows, (n) => n > 0, { message: "results are listed" });

    // Masked SSNs in the results: every SSN cell is empty or XXX-XX-dddd, and some are filled.
    const ssnCells = await page.locator('[data-testid="crm-result"] td:nth-child(3)').allTextContents();
    const filled = ssnCells.map((t) => t.trim()).filter(Boolean);
    assert.ok(filled.length > 10, `some entries show an SSN (${filled.length} of ${ssnCells.length})`);
    for (const t of filled) assert.match(t, /^XXX-XX-\d{4}$/, `SSN shown masked, got ${t}`);
    const pageText = await page.locator("main").textContent();
    assert.doesNotMatch(pageText, /\b\d{3}-\d{2}-\d{4}\b/, "no unmasked SSN anywhere on the Browse page");

    // A surname found in the data narrows the search to entries carrying it.
    const firstName = (await firstRows.first().locator("td").first().textContent()).trim();
    const surname = firstName.split(/\s+/).pop();
    assert.ok(surname.length >= 2, `a surname to search for (from ${firstName})`);
    await page.getByTestId("crm-search").fill(surname);
    const narrowed = await waitForNumber(page, "crm-result-count", (n) => n >= 1 && n < 900, { message: `searching ${surname} narrows 900` });
    assert.ok(narrowed >= 1 && narrowed < 900, `searching ${surname} narrows 900 to ${narrowed}`);
    const names = await waitForTexts(page, page.locator('[data-testid="crm-result"] td:nth-child(1)'), (n) => n.length === Math.min(narrowed, 100), {
      message: "the count agrees with the rows listed",
    });
    const fold = (t) => t.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
    for (const n of names) assert.ok(fold(n).includes(fold(surname)), `${n} contains ${surname}`);
    await shot(s, "browse-search");

    // Opening an entry shows its card with a masked SSN that the operator can reveal.
    await page.getByTestId("crm-search").fill("");
    await page.waitForFunction(
      () => document.querySelector('[data-testid="crm-result-count"]')?.textContent.trim() === "900",
    );
    const withSsn = page.getByTestId("crm-result").filter({ hasText: /XXX-XX-\d{4}/ }).first();
    const maskedInList = (await withSsn.locator("td:nth-child(3)").textContent()).trim();
    await withSsn.click();
    await page.getByTestId("entry-card").waitFor();
    await waitForText(page, "entry-ssn", maskedInList, { message: "the card shows the SSN masked" });
    await page.getByTestId("entry-card").getByRole("button", { name: "Reveal" }).click();
    // The worker answers Reveal: wait for the whole SSN rather than read the masked one.
    const revealed = await waitForText(page, "entry-ssn", /^\d{3}-\d{2}-\d{4}$/, { message: "Reveal shows the whole SSN" });
    assert.equal(revealed.slice(-4), maskedInList.slice(-4));
    await shot(s, "browse-entry-revealed");
    await page.getByTestId("entry-card").getByRole("button", { name: "Hide" }).click();
    await waitForText(page, "entry-ssn", maskedInList, { message: "Hide masks it again" });
    await shot(s, "browse-entry");
    await page.waitForFunction(
      () => document.querySelector('[data-testid="crm-result-count"]')?.textContent.trim() === "900",
    );

    // --- Portfolios -----------------------------------------------------------------------
    await gotoPage(page, "portfolios");
    const portfolioRows = page.getByTestId("portfolio-row");
    await waitForCount(portfolioRows, 4, { message: "the demo CRM has 4 portfolios" });
    assert.equal(await page.getByTestId("portfolio-delete").count(), 0, "no demo portfolio is temporary");
    await portfolioRows.first().click();
    const caseCells = page.locator('[data-testid="portfolio-cases"] tbody tr td:first-child');
    await caseCells.first().waitFor();
    const caseRefs = (await caseCells.allTextContents()).map((t) => t.trim());
    assert.ok(caseRefs.length >= 2, "the first portfolio lists its cases");
    await shot(s, "portfolios");
    const casesBefore = (await crmCounts(page, (c) => c.Cases === 400)).Cases;
    assert.equal(casesBefore, 400);

    await gotoPage(page, "portfolios");
    const chosen = [caseRefs[0], caseRefs[caseRefs.length - 1]];
    await page.getByTestId("temp-portfolio-name").fill("E2E temporary");
    for (const ref of chosen) {
      await page.getByTestId("temp-portfolio-case-search").fill(ref);
      const box = page.getByTestId("temp-portfolio-case");
      await page.waitForFunction(
        (r) => {
          const items = [...document.querySelectorAll('[data-testid="temp-portfolio-case"]')];
          return items.length === 1 && items[0].closest("label").textContent.includes(r);
        },
        ref,
      );
      await box.check();
    }
    await waitForText(page, page.locator("main"), /2 cases chosen/);
    await shot(s, "temp-portfolio-chosen");
    await page.getByTestId("temp-portfolio-create").click();
    await waitForNotice(page, /Temporary portfolio "E2E temporary" created with 2 cases/);
    await waitForCount(page.getByTestId("portfolio-row"), 5);
    const tempRow = page.getByTestId("portfolio-row").filter({ hasText: "E2E temporary" });
    assert.equal(await tempRow.count(), 1);
    assert.match(await tempRow.textContent(), /temporary/);
    assert.equal((await tempRow.locator("td.num").textContent()).trim(), "2");
    await shot(s, "temp-portfolio-created");

    // The temporary portfolio scopes an export of exactly its two cases.
    await gotoPage(page, "export");
    await page.getByTestId("export-portfolio-select").selectOption({ label: "E2E temporary (2 cases)" });
    await page.waitForFunction(() => /· 2 cases/.test(document.querySelector('[data-testid="export-preview"]')?.textContent ?? ""));
    const tempExport = await download(page, "export-download");
    assert.match(tempExport.fileName, /^insured-crm-export-e2e-temporary-\d{4}-\d{2}-\d{2}\.xlsx$/);
    const tempRows = await readXlsx(tempExport);
    assert.deepEqual(
      [...new Set(tempRows.slice(1).map((r) => r[0]))].sort(),
      [...chosen].sort(),
      "the temporary portfolio's export holds its two cases only",
    );
    assert.equal(tempRows.length - 1, await number(page, "export-row-count"));

    await gotoPage(page, "portfolios");
    await page.getByTestId("portfolio-row").filter({ hasText: "E2E temporary" }).getByTestId("portfolio-delete").click();
    await waitForNotice(page, /deleted; its cases are unchanged/);
    await waitForCount(page.getByTestId("portfolio-row"), 4);
    assert.ok(s.dialogs.some((m) => /Delete the temporary portfolio "E2E temporary"/.test(m)), "deleting asked first");
    const countsAfterDelete = await crmCounts(page, countsAfterDemo, "every count is back to the demo CRM's");
    assert.equal(countsAfterDelete.Cases, casesBefore, "deleting the temporary portfolio left the cases alone");
    assert.deepEqual(countsAfterDelete, countsAfterDemo, "every count is back to the demo CRM's");
    await shot(s, "temp-portfolio-deleted");

    // --- Export ---------------------------------------------------------------------------
    await gotoPage(page, "export");
    const select = page.getByTestId("export-portfolio-select");
    const options = await waitForTexts(page, select.locator("option"), (o) => o.length === 4, { message: "4 portfolios to export" });
    // Choose the second portfolio, so the test proves the choice is followed.
    const label = options[1];
    const portfolioName = label.replace(/ \(\d+ cases\)$/, "");
    const caseCount = Number(label.match(/\((\d+) cases\)$/)[1]);
    // The preview of the first portfolio, the one chosen when the page opens.
    const firstCases = Number(options[0].match(/\((\d+) cases\)$/)[1]);
    const previewBefore = await waitForText(page, "export-preview", (t) => t.endsWith(`· ${firstCases} cases`));
    await select.selectOption({ label });
    const previewAfter = await waitForText(page, "export-preview", (t) => t.endsWith(`· ${caseCount} cases`) && t !== previewBefore, {
      message: "the preview follows the chosen portfolio",
    });
    const rowCount = await number(page, "export-row-count");
    assert.notEqual(previewAfter, previewBefore, "the preview follows the chosen portfolio");
    assert.ok(rowCount > caseCount, `the export holds rows (${rowCount}) for ${caseCount} cases`);
    await shot(s, "export");
    const before = Date.now();
    const file = await download(page, "export-download");
    const dates = [utcDate(before), utcDate(Date.now())];
    const slug = portfolioName.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
    const m = file.fileName.match(/^insured-crm-export-(.+)-(\d{4}-\d{2}-\d{2})\.xlsx$/);
    assert.ok(m, `file name ${file.fileName} is insured-crm-export-<slug>-<YYYY-MM-DD>.xlsx`);
    assert.equal(m[1], slug, "the file name carries the portfolio's slug");
    assert.ok(dates.includes(m[2]), `the file name carries today's date (${m[2]} vs ${dates})`);
    await waitForNotice(page, new RegExp(`Insured CRM Export downloaded: ${rowCount} rows`));

    // The visible sheet, and the very hidden base a re-import merges against (issue 8).
    assert.deepEqual(await sheetNames(file), ["Insured CRM Export", "Roundtrip Export Base"]);
    const states = (await loadWorkbook(file)).worksheets.map((w) => w.state);
    assert.deepEqual(states, ["visible", "veryHidden"], "the base sheet is very hidden");
    const rows = await readXlsx(file);
    assert.deepEqual(rows[0], EXPORT_COLUMNS, "the header row is exactly the 19 columns, in order");
    assert.equal(rows.length - 1, rowCount, "data rows = the page's export-row-count");
    // Every data row belongs to the chosen portfolio's cases and is well formed.
    const caseColumn = new Set(rows.slice(1).map((r) => r[0]));
    assert.equal(caseColumn.size, caseCount, "the rows cover every case of the portfolio");
    for (const r of rows.slice(1)) {
      assert.match(r[0], /^CASE-\d{6}$/);
      if (r[5]) assert.match(r[5], /^\d{3}-\d{2}-\d{4}$/, "the file holds the full SSN as text");
      if (r[6]) assert.match(r[6], /^\d{4}-\d{2}-\d{2}$/, "Date of Birth is a real date");
      if (r[7]) assert.ok(["Address", "Phone", "Email"].includes(r[7]));
      if (r[7]) assert.match(r[18], /\S/, "a detail row carries its Public ID");
    }
    // Header bold and frozen, with an autofilter.
    const ws = (await loadWorkbook(file)).worksheets[0];
    assert.equal(ws.getCell("A1").font?.bold, true, "the header is bold");
    assert.equal(ws.views?.[0]?.state, "frozen", "the header row is frozen");
    assert.equal(ws.views?.[0]?.ySplit, 1);
    assert.ok(ws.autoFilter, "the sheet has an autofilter");
    // Dates are real Excel dates, not text.
    const dobCell = ws.getColumn(7).values.find((v) => v !== undefined && v !== "Date of Birth");
    assert.ok(dobCell instanceof Date, `Date of Birth is written as a date, got ${typeof dobCell}`);

    // --- Snapshot -------------------------------------------------------------------------
    await gotoPage(page, "data");
    const snapshot = await download(page, "snapshot-download");
    assert.match(snapshot.fileName, /^roundtrip-crm-snapshot-\d{4}-\d{2}-\d{2}\.xlsx$/);
    assert.equal(snapshot.subarray(0, 2).toString(), "PK", "the snapshot is a zip (XLSX)");
    const snapshotSheets = await sheetNames(snapshot);
    for (const sheet of ["About", "Operators", "Portfolios", "Cases", "Insureds", "CRM Entries", "Contact Details"]) {
      assert.ok(snapshotSheets.includes(sheet), `the snapshot has a sheet ${sheet}: ${snapshotSheets}`);
    }
    const entrySheet = await readXlsx(snapshot, "CRM Entries");
    assert.equal(entrySheet.length - 1, 900, "the snapshot holds the 900 CRM entries");
    await waitForNotice(page, /Snapshot written/);
    const countsBeforeForeign = await crmCounts(page);

    // A foreign workbook is refused with a message naming the sheet; nothing changes.
    const foreign = await writeXlsx(
      [
        ["Name", "Amount"],
        ["Widget", 12],
      ],
      "Invoices",
    );
    const dialogsBefore = s.dialogs.length;
    await uploadFile(page, "snapshot-input", "invoices.xlsx", foreign);
    const refusal = await waitForNotice(page, /invoices\.xlsx/, { timeout: 30_000 });
    assert.match(refusal, /not a Roundtrip CRM snapshot/);
    assert.match(refusal, /sheet "About"\. The local CRM was not changed\./, "the message names the sheet it expected");
    assert.match(await page.getByTestId("notice").getAttribute("class"), /error/);
    assert.equal(s.dialogs.length, dialogsBefore, "a refused file asks nothing");
    await shot(s, "snapshot-foreign-refused");
    assert.deepEqual(await crmCounts(page, countsBeforeForeign, "the local CRM is exactly as before"), countsBeforeForeign);

    // A snapshot whose header cell was edited is refused naming the sheet and the cell.
    const tampered = await loadWorkbook(snapshot);
    tampered.getWorksheet("Cases").getCell("B1").value = "Ref";
    const tamperedBytes = Buffer.from(await tampered.xlsx.writeBuffer());
    await uploadFile(page, "snapshot-input", "tampered.xlsx", tamperedBytes);
    const refusal2 = await waitForNotice(page, /tampered\.xlsx/, { timeout: 30_000 });
    assert.match(refusal2, /sheet "Cases", cell B1: expected the header "Reference", found/);
    assert.match(refusal2, /\. The local CRM was not changed\./);
    assert.equal(s.dialogs.length, dialogsBefore, "a refused file asks nothing");
    await shot(s, "snapshot-tampered-refused");
    assert.deepEqual(await crmCounts(page, countsBeforeForeign, "the local CRM is exactly as before"), countsBeforeForeign);

    // The real snapshot loads back (after a confirmation) and leaves the same counts.
    await uploadFile(page, "snapshot-input", snapshot.fileName, snapshot);
    await waitForNotice(page, /Snapshot .* loaded: 900 CRM entries/, { timeout: 120_000 });
    assert.ok(s.dialogs.slice(dialogsBefore).some((m) => /Replace the whole local CRM/.test(m)), "loading asked first");
    await shot(s, "snapshot-loaded");
    assert.deepEqual(await crmCounts(page, countsBeforeForeign, "snapshot → load gives the same counts"), countsBeforeForeign);

    // After a reload the CRM is still there (it lives in IndexedDB).
    await page.reload();
    await openApp(page, app);
    await waitForText(page, "crm-figures", /900 CRM entries · 400 cases/);
    assert.deepEqual(await texts(page, "nav-import"), ["Import"]);

    assertClean(s);
  }),
);
