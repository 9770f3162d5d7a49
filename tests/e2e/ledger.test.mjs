// The PII ledger end to end: on the demo CRM, stage a file of new persons with SSNs (one row
// with an error), download its error report once with "Include full SSNs" ticked and once
// without, reveal one entry's SSN on the Browse page, and find exactly two ledger entries on
// the CRM data page — the Reveal (operator, entry, no SSN) and the error report with full
// SSNs (file name, digest start, SSNs held) — and the ledger as a workbook with the same two.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

import {
  COL,
  EXPORT_COLUMNS,
  assertClean,
  download,
  gotoPage,
  loadDemo,
  openApp,
  readXlsx,
  shot,
  startApp,
  waitForText,
  waitForTexts,
  withSession,
  writeXlsx,
} from "./harness.mjs";
import { stageAndReview } from "./steps.mjs";

let app;
before(async () => {
  app = await startApp();
});
after(async () => {
  await app?.close();
});

/** A new person's row: names, a Client Reference, an SSN and an email. */
function person(first, last, cref, ssn, email) {
  const r = EXPORT_COLUMNS.map(() => "");
  r[COL["First Name"]] = first;
  r[COL["Last Name"]] = last;
  r[COL["Client Reference"]] = cref;
  r[COL.SSN] = ssn;
  r[COL["Detail Type"]] = "Email";
  r[COL.Label] = "Work";
  r[COL.Primary] = "No";
  r[COL.Email] = email;
  return r;
}

const SSNS = ["219-09-9999", "457-55-5462"];

test("PII ledger: a full-SSN error report and a Reveal are recorded, a masked report is not", { timeout: 300_000 }, () =>
  withSession(app, "ledger", async (s) => {
    const { page } = s;
    await openApp(page, app);
    await loadDemo(page);
    await waitForText(page, "pii-ledger-empty", /Nothing recorded yet/, { message: "a new CRM's ledger is empty" });
    const operator = await page.getByTestId("operator-select").inputValue();
    assert.ok(operator, "an operator is chosen in the header");

    // A file of two new persons, one with an email that is no email.
    const file = await writeXlsx([
      EXPORT_COLUMNS,
      person("Lia", "Ledgerwood", "CR-LEDGER-1", SSNS[0], "lia@example.org"),
      person("Rui", "Ledgerwood", "CR-LEDGER-2", SSNS[1], "not-an-email"),
    ]);
    await gotoPage(page, "import");
    await stageAndReview(s, "ledger-persons.xlsx", file);
    await waitForText(page, "import-error-count", "1");
    const box = page.getByTestId("error-report-full-ssns");
    assert.equal(await box.isChecked(), false, "Include full SSNs is off by default");
    await waitForText(page, "error-report-ssn-note", /masked \(XXX-XX-6789\)/);

    // Without the box: SSNs masked, nothing recorded.
    const masked = await download(page, "error-report-download");
    const maskedRows = await readXlsx(masked);
    assert.deepEqual(maskedRows.slice(1).map((r) => r[COL.SSN]), ["XXX-XX-9999", "XXX-XX-5462"]);

    // With the box: the file's SSNs in full, and a line saying so.
    await box.check();
    await waitForText(page, "error-report-ssn-note", /will hold the file's SSNs in full/);
    await shot(s, "review-full-ssns-ticked");
    const full = await download(page, "error-report-download");
    const fullRows = await readXlsx(full);
    assert.deepEqual(fullRows.slice(1).map((r) => r[COL.SSN]), SSNS);
    const digest = createHash("sha256").update(full).digest("hex");

    // Reveal one entry's SSN on the Browse page.
    await gotoPage(page, "browse");
    const withSsn = page.getByTestId("crm-result").filter({ hasText: /XXX-XX-\d{4}/ }).first();
    const name = await waitForText(page, withSsn.locator("td:nth-child(1)"), /\S/, { message: "an entry with an SSN is listed" });
    await withSsn.click();
    await page.getByTestId("entry-card").waitFor();
    await page.getByTestId("entry-card").getByRole("button", { name: "Reveal" }).click();
    const revealed = await waitForText(page, "entry-ssn", /^\d{3}-\d{2}-\d{4}$/, { message: "Reveal shows the whole SSN" });

    // The CRM data page lists exactly the two, newest first.
    await gotoPage(page, "data");
    const rows = await waitForTexts(page, page.locator('[data-testid="pii-ledger-row"]'), (r) => r.length === 2, {
      message: "two ledger entries",
    });
    await shot(s, "data-page-ledger");
    const cells = async (i) =>
      (await page.locator('[data-testid="pii-ledger-row"]').nth(i).locator("td").allTextContents()).map((t) => t.trim());
    const [reveal, report] = [await cells(0), await cells(1)];
    assert.equal(reveal[1], operator);
    assert.equal(reveal[2], "Reveal of an SSN");
    assert.match(reveal[3], new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(entry \\d+\\)$`));
    assert.equal(reveal[5], "", "a Reveal holds no file");
    assert.equal(report[1], operator);
    assert.equal(report[2], "Error report with full SSNs");
    assert.equal(report[3], full.fileName);
    assert.equal(report[4], digest.slice(0, 12));
    assert.equal(report[5], "2");
    for (const ssn of [...SSNS, revealed]) {
      for (const spelling of [ssn, ssn.replaceAll("-", "")]) {
        assert.ok(!rows.join("\n").includes(spelling), "the ledger shows no SSN");
      }
    }

    // The ledger as a workbook: the same two lines, the whole digest, no SSN.
    const ledger = await download(page, "pii-ledger-download");
    const sheet = await readXlsx(ledger);
    assert.equal(sheet.length, 3, "a header and two lines");
    assert.equal(sheet[1][2], "Reveal of an SSN");
    assert.equal(sheet[2][2], "Error report with full SSNs");
    assert.equal(sheet[2][6], digest);
    assert.equal(String(sheet[2][7]), "2");
    const text = sheet.flat().join("\n");
    for (const ssn of [...SSNS, revealed]) assert.ok(!text.includes(ssn) && !text.includes(ssn.replaceAll("-", "")), "no SSN in the ledger file");
    assertClean(s);
  }),
);
