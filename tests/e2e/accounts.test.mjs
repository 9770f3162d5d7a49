// Issue 4 end to end: build an export profile on the Accounts page (columns reordered, default
// filters), see it survive a reload, export a portfolio's Medical accounts, edit the workbook
// with exceljs (move one account to another portfolio, add a row with a bad CNPJ), import it,
// see the read summary with exactly one error and the warning, apply only the valid rows,
// and find the moved account in a new export of the other portfolio. Then change a contact's
// qualifications through a contacts profile export, import it and see the registry spelling
// in the next export. Model spreadsheets download with red required headers and an
// Instructions sheet. No request leaves the test server's origin.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import {
  assertClean,
  download,
  loadDemo,
  loadWorkbook,
  number,
  openApp,
  readXlsx,
  shot,
  startApp,
  uploadFile,
  waitForCount,
  waitForInputValue,
  waitForNotice,
  waitForText,
  waitForTexts,
  withSession,
} from "./harness.mjs";

let app;
before(async () => {
  app = await startApp();
});
after(async () => {
  await app?.close();
});

const ACCOUNT_HEADERS = [
  "Account Number",
  "Account Name",
  "Kind",
  "Portfolio",
  "Active",
  "Contact Name",
  "Contact Type",
  "Contact Email",
  "Contact Phone",
];

async function gotoAccounts(page) {
  await page.getByTestId("nav-accounts").click();
  await page.getByTestId("accounts-page").waitFor();
}

/** Writes a new workbook from rows (header first) with exceljs, every cell as text. */
async function editRows(buffer, edit) {
  const wb = await loadWorkbook(buffer);
  const ws = wb.worksheets[0];
  edit(ws);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

async function createProfile(page, name, kind) {
  await page.getByTestId("profile-name").fill(name);
  await page.getByTestId("profile-kind").selectOption(kind);
  await page.getByTestId("profile-new").click();
  await waitForNotice(page, new RegExp(`Profile "${name}" created`));
  await page.getByTestId("profile-editor").waitFor();
}

test("accounts: profile → export → edit → import with one error → apply valid rows → export shows the move", () =>
  withSession(app, "accounts", async (s) => {
    const { page } = s;
    await openApp(page, app);
    await loadDemo(page);
    await gotoAccounts(page);

    // Model spreadsheets.
    for (const [id, sheet] of [
      ["accounts-template-download", "Accounts"],
      ["contacts-template-download", "Account Contacts"],
    ]) {
      const buf = await download(page, id);
      const wb = await loadWorkbook(buf);
      assert.deepEqual(wb.worksheets.map((w) => w.name), [sheet, "Instructions"]);
      const a1 = wb.worksheets[0].getCell("A1");
      assert.equal(a1.fill?.fgColor?.argb?.toUpperCase().slice(-6), "C0392B", "required header is red");
    }

    // A profile: all columns, Portfolio moved before Kind, default filters amartin + Medical.
    await createProfile(page, "Medical of amartin", "accounts");
    await waitForCount(page.getByTestId("profile-column"), 9, { message: "every template column is listed" });
    await page.getByTestId("profile-up-portfolio").click();
    const columnName = (t) => t.replace(/[↑↓]/g, "").trim();
    const listed = (
      await waitForTexts(page, "profile-column", (l) => /^3\s*Portfolio$/.test(columnName(l[2] ?? "")), { message: "Portfolio is third" })
    ).map(columnName);
    assert.match(listed[2], /^3\s*Portfolio$/, `Portfolio is third: ${listed}`);
    await page.getByTestId("profile-filter-portfolio").selectOption("amartin");
    await page.getByTestId("profile-filter-kind").selectOption("Medical");
    await shot(s, "profile");

    // It survives a reload.
    await page.reload();
    await page.getByTestId("nav-accounts").waitFor();
    await gotoAccounts(page);
    const options = await waitForTexts(page, page.getByTestId("profile-select").locator("option"), (o) => o.some((t) => t.includes("Medical of amartin")), {
      message: "profile kept",
    });
    assert.ok(options.some((o) => o.includes("Medical of amartin")), `profile kept: ${options}`);
    // The profile's default filters are the export's.
    await waitForInputValue(page.getByTestId("accounts-export-portfolio"), "amartin");
    await waitForInputValue(page.getByTestId("accounts-export-kind"), "Medical");

    const exported = await download(page, "accounts-export-download");
    const rows = await readXlsx(exported);
    const header = rows[0];
    const order = [...ACCOUNT_HEADERS];
    order.splice(3, 1);
    order.splice(2, 0, "Portfolio");
    assert.deepEqual(header, order, "the profile's column order");
    const col = Object.fromEntries(header.map((h, i) => [h, i + 1]));
    assert.ok(rows.length > 2, "amartin has Medical accounts");
    for (const r of rows.slice(1)) {
      assert.equal(r[col.Portfolio - 1], "amartin");
      assert.equal(r[col.Kind - 1], "Medical");
    }
    const moved = rows[1][col["Account Number"] - 1];

    const edited = await editRows(exported, (ws) => {
      ws.getRow(2).getCell(col.Portfolio).value = "bsilva";
      ws.getRow(2).getCell(col.Active).value = "Yes";
      const bad = ws.getRow(rows.length + 1);
      bad.getCell(col["Account Number"]).value = "12.345.678/0001-00";
      bad.getCell(col["Account Name"]).value = "Bad CNPJ Ltda";
      bad.getCell(col.Kind).value = "Company";
      bad.getCell(col.Portfolio).value = "amartin";
      bad.commit();
    });
    await uploadFile(page, "accounts-import-file", "accounts-edited.xlsx", edited);
    // Choosing the file only names it; Upload reads it.
    await waitForText(page, "accounts-import-chosen", /accounts-edited\.xlsx.*KB/);
    assert.equal(await page.getByTestId("accounts-import-summary").count(), 0, "nothing is read before Upload");
    await page.getByTestId("accounts-import-upload").click();
    await page.getByTestId("accounts-import-summary").waitFor();
    assert.equal(await number(page, "accounts-import-error-count"), 1);
    assert.equal(await number(page, "accounts-import-correct"), rows.length - 1);
    await page.getByTestId("accounts-import-warning").waitFor();
    // The summary table is virtualized: scroll to its end, where the bad row is.
    const table = page.getByTestId("accounts-import-table");
    await table.locator(".vbody").evaluate((el) => { el.scrollTop = el.scrollHeight; });
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="accounts-import-table"] [data-col="Errors"]')].some((c) => /check digits/.test(c.textContent ?? "")));
    const errors = (await table.locator('[data-col="Errors"]').allTextContents()).filter((t) => t.trim() !== "" && t !== "OK");
    assert.equal(errors.length, 1, `one error cell: ${errors}`);
    assert.match(errors[0], /check digits/);
    // The error report names the bad cell in its Errors column.
    const report = await readXlsx(await download(page, "accounts-import-error-report"));
    const errCol = report[0].indexOf("Errors");
    assert.ok(errCol >= 0, `the report has an Errors column: ${report[0]}`);
    const reported = report.slice(1).filter((r) => (r[errCol] ?? "") !== "");
    assert.equal(reported.length, 1, "one row of the report carries an error");
    assert.match(String(reported[0][errCol]), /check digits/);
    assert.ok(await page.getByTestId("accounts-import-next").isDisabled(), "Next waits for the operator's choice");
    await shot(s, "summary");
    await page.getByTestId("accounts-import-valid-only").check();
    await page.getByTestId("accounts-import-next").click();
    await waitForNotice(page, /Import #\d+ of accounts-edited\.xlsx: 0 created, 1 updated/);
    await page.getByTestId("accounts-import-result").waitFor();

    // A new export of bsilva's Medical accounts holds the moved account.
    await page.getByTestId("accounts-export-portfolio").selectOption("bsilva");
    const after = await readXlsx(await download(page, "accounts-export-download"));
    assert.ok(after.slice(1).some((r) => r[col["Account Number"] - 1] === moved), `${moved} is now bsilva's`);

    // Contacts: a profile, change one doctor's qualifications (no accents, any case).
    await createProfile(page, "Contacts", "contacts");
    await page.getByTestId("accounts-export-portfolio").selectOption("bsilva");
    const contacts = await download(page, "accounts-export-download");
    const crows = await readXlsx(contacts);
    const ccol = Object.fromEntries(crows[0].map((h, i) => [h, i + 1]));
    const target = crows.findIndex((r, i) => i > 0 && r[ccol["Account Number"] - 1] === moved);
    assert.ok(target > 0, "the moved account's contact is exported");
    const editedContacts = await editRows(contacts, (ws) => {
      ws.getRow(target + 1).getCell(ccol.Qualifications).value = "clinica medica; CARDIOLOGY";
    });
    await uploadFile(page, "accounts-import-file", "contacts-edited.xlsx", editedContacts);
    await page.getByTestId("accounts-import-upload").click();
    await page.getByTestId("accounts-import-ok").waitFor();
    assert.equal(await number(page, "accounts-import-error-count"), 0);
    await page.getByTestId("accounts-import-next").click();
    await waitForNotice(page, /Import #\d+ of contacts-edited\.xlsx/);
    const again = await readXlsx(await download(page, "accounts-export-download"));
    assert.equal(again[target][ccol.Qualifications - 1], "Clínica Médica; Cardiology");

    // Re-importing that export changes nothing.
    await uploadFile(page, "accounts-import-file", "contacts-again.xlsx", await download(page, "accounts-export-download"));
    await page.getByTestId("accounts-import-upload").click();
    await page.getByTestId("accounts-import-ok").waitFor();
    await page.getByTestId("accounts-import-next").click();
    await waitForNotice(page, /Nothing to change/);
    await shot(s, "done");
    assertClean(s);
  }),
);
