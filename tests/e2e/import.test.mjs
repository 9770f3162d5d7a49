// Issue 3 end to end: export a portfolio, edit the workbook as an operator would (change an
// address, add a phone without Public ID, add a person who is not in the CRM, add a row with a
// typo'd name), stage it, review, match, resolve one dropdown to an existing entry and leave
// one on "Create new", read the plan, apply, verify, download the updated export and find
// every change in its cells; then re-import that export and see zero planned changes.
// Also: a staged file survives a reload, the error report names the bad cell, and undo
// restores the previous export. No request leaves the test server's origin.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import {
  COL,
  EXPORT_COLUMNS,
  assertClean,
  download,
  gotoPage,
  loadDemo,
  loadWorkbook,
  number,
  openApp,
  readXlsx,
  shot,
  startApp,
  text,
  uploadFile,
  waitForCount,
  waitForInputValue,
  waitForNotice,
  waitForText,
  waitForValue,
  withSession,
} from "./harness.mjs";
import { analyseExport, editWorkbook, identityOf, personKey, typo } from "./fixtures.mjs";
import { exportPortfolio, match, planTotals, settle, stageAndReview } from "./steps.mjs";

let app;
before(async () => {
  app = await startApp();
});
after(async () => {
  await app?.close();
});

const rowKey = (r) => JSON.stringify(r);

/** Chooses, in one portfolio's export, the rows the round-trip test edits (or null). */
function pickRows(rows) {
  const a = analyseExport(rows);
  const U = a.unlinked[0];
  const addressPerson = a.single.find((p) => p.rows.some((r) => r.cells[COL["Detail Type"]] === "Address"));
  if (!U || !addressPerson) return null;
  const A = addressPerson.rows.find((r) => r.cells[COL["Detail Type"]] === "Address");
  const P = a.single.find((p) => p !== addressPerson);
  const T = a.single.find(
    (p) => p !== addressPerson && p !== P && p.rows[0].cells[COL["First Name"]].length >= 4 && typo(p.rows[0].cells[COL["First Name"]]),
  );
  if (!P || !T) return null;
  return { analysis: a, U, A, P, T };
}

test("import round trip: edit an export, resolve, plan, apply, verify, re-import plans nothing", { timeout: 600_000 }, () =>
  withSession(app, "import-roundtrip", async (s) => {
    const { page } = s;
    await openApp(page, app);
    await loadDemo(page);

    // Export a portfolio that has every kind of row the edits need.
    let exp;
    let picked;
    for (let i = 0; i < 4 && !picked; i++) {
      exp = await exportPortfolio(page, i);
      picked = pickRows(exp.rows);
    }
    assert.ok(picked, "a demo portfolio has an unlinked insured and persons shown under one insured");
    await shot(s, "export");
    const { analysis, U, A, P, T } = picked;
    const original = exp.rows;

    const NEW_ADDRESS = "77 Roundtrip Test Street";
    const P_PHONE = "+1 (555) 010-4242";
    const N_CREF = "CR-E2E-0001";
    const N_EMAIL = "e2e.newperson@example.com";
    const T_PHONE = "+1 (555) 010-7777";
    const tFirst = T.rows[0].cells[COL["First Name"]];
    const tLast = T.rows[0].cells[COL["Last Name"]];
    const tTypo = typo(tFirst);
    const nFirst = U.cells[COL["First Name"]];
    const nLast = U.cells[COL["Last Name"]];
    for (const phone of [P_PHONE, T_PHONE]) {
      assert.ok(!original.some((r) => r[COL.Phone] === phone), `${phone} is new to the portfolio`);
    }

    // Edit the workbook the way an operator would in Excel.
    let added = {};
    const edited = await editWorkbook(exp.buffer, (ws, x) => {
      x.set(A.sheetRow, "Address Line 1", NEW_ADDRESS);
      added.P = x.append({
        ...identityOf(x, P.rows[0].sheetRow),
        "Detail Type": "Phone",
        Label: "Mobile",
        Primary: "No",
        Phone: P_PHONE,
      });
      added.N = x.append({
        "Case Reference": U.cells[COL["Case Reference"]],
        "Insured Reference": U.cells[COL["Insured Reference"]],
        "First Name": nFirst,
        "Last Name": nLast,
        "Client Reference": N_CREF,
        "Detail Type": "Email",
        Label: "Home",
        Primary: "Yes",
        Email: N_EMAIL,
      });
      const t = identityOf(x, T.rows[0].sheetRow);
      added.T = x.append({
        ...t,
        "First Name": tTypo,
        "Client Reference": "",
        SSN: "",
        "Detail Type": "Phone",
        Label: "Work",
        Primary: "No",
        Phone: T_PHONE,
      });
    });
    const editedRows = await readXlsx(edited);
    assert.equal(editedRows.length, original.length + 3, "the edited file has three rows more");
    const inputRows = editedRows.length - 1;

    // Stage → Review.
    await gotoPage(page, "import");
    await waitForText(page, "import-stage-status", /No file is staged/);
    await shot(s, "import-empty");
    await stageAndReview(s, "edited-export.xlsx", edited);
    assert.equal(await number(page, "import-error-count"), 0, "the edited file has no errors");
    const repeatedPids = [...analysis.publicIds.values()].reduce((n, c) => n + (c - 1), 0);
    assert.equal(
      await number(page, "import-warning-count"),
      repeatedPids,
      "the only warnings are the Public IDs an entry shared by two insureds repeats",
    );
    assert.match(await page.locator("main").textContent(), new RegExp(`${inputRows} rows can be imported`));
    await shot(s, "review");

    // Match → Resolve: exactly two detected persons.
    await match(page);
    const groups = page.getByTestId("resolve-group");
    await groups.first().waitFor();
    const groupNames = (await page.getByTestId("resolve-group-name").allTextContents()).map((t) => t.trim());
    assert.deepEqual(
      [...groupNames].sort(),
      [`${nFirst} ${nLast}`, `${tTypo} ${tLast}`].sort(),
      "one group for the new person and one for the typo'd name",
    );
    const tGroup = groups.filter({ has: page.getByTestId("resolve-group-name").getByText(`${tTypo} ${tLast}`, { exact: true }) });
    const nGroup = groups.filter({ has: page.getByTestId("resolve-group-name").getByText(`${nFirst} ${nLast}`, { exact: true }) });
    assert.equal(await tGroup.count(), 1);
    assert.equal(await nGroup.count(), 1);
    assert.equal(await tGroup.getByTestId("resolve-select").inputValue(), "new", "the default is Create new CRM entry");
    assert.equal(await nGroup.getByTestId("resolve-select").inputValue(), "new", "the default is Create new CRM entry");
    const tOptions = await tGroup.getByTestId("resolve-select").locator("option").evaluateAll((os) =>
      os.map((o) => ({ value: o.value, label: o.textContent })),
    );
    const firstCandidate = tOptions.find((o) => o.value.startsWith("entry:"));
    assert.ok(firstCandidate, `the typo'd person has candidates: ${JSON.stringify(tOptions)}`);
    // Candidates carry their identifier first: two entries can share a name.
    assert.match(
      firstCandidate.label,
      new RegExp(`^[^·]+ · ${tFirst} ${tLast} — `),
      `the first candidate is the existing entry ${tFirst} ${tLast}: ${firstCandidate.label}`,
    );
    assert.match(firstCandidate.label, /linked to insured/, "the reason names the insured link");
    await tGroup.getByTestId("resolve-select").selectOption(firstCandidate.value);
    await waitForInputValue(tGroup.getByTestId("resolve-select"), firstCandidate.value, { message: "the dropdown keeps the chosen candidate" });
    await shot(s, "resolve");

    // Plan: 1 entry created (the new person), 1 detail updated (the address), 3 details added
    // (P's phone, the new person's email, the typo'd row's phone on the existing entry).
    await page.getByTestId("plan-button").click();
    const totals = await planTotals(page);
    assert.deepEqual(
      totals,
      { create: 1, update: 1, add: 3, unchanged: inputRows - 4, skip: 0, error: 0 },
      "the plan of the edited file",
    );
    const relinks = await page.getByTestId("plan-relinks").textContent();
    assert.match(relinks, /1 insured link\(s\) change/);
    assert.ok(
      relinks.includes(`${U.cells[COL["Insured Reference"]]} on ${U.cells[COL["Case Reference"]]}: (not linked) → a new CRM entry`),
      `the plan shows the insured linked to the new entry: ${relinks}`,
    );
    await waitForText(page, "apply-button", "Apply 5 changes");
    await shot(s, "plan");

    const report = await download(page, "plan-report-download");
    assert.equal(report.fileName, "edited-export-plan.xlsx");
    const reportRows = await readXlsx(report);
    assert.deepEqual(reportRows[0], ["Row", "Outcome", "Match tier", "CRM entry", "Detail", "Changes", "Issues", "Top candidates", "Changed in the CRM since export"]);
    assert.equal(reportRows.length - 1, inputRows, "the plan report has one row per input row");
    assert.deepEqual(
      reportRows.slice(1).map((r) => Number(r[0])),
      Array.from({ length: inputRows }, (_, i) => i + 2),
      "the plan report's rows are the input's sheet rows, in order",
    );
    const reportOf = (sheetRow) => reportRows.find((r) => Number(r[0]) === sheetRow);
    const aReport = reportOf(A.sheetRow);
    assert.equal(aReport[1], "Updated");
    assert.equal(aReport[2], "1 · Public ID");
    assert.equal(aReport[4], "contact detail");
    assert.ok(aReport[5].includes(`Address Line 1: ${A.cells[COL["Address Line 1"]]} → ${NEW_ADDRESS}`), aReport[5]);
    assert.equal(reportOf(added.P)[1], "Added");
    assert.equal(reportOf(added.N)[1], "Created");
    assert.equal(reportOf(added.N)[4], "new CRM entry with the row's detail");
    assert.equal(reportOf(added.N)[2], "4 · Operator choice");
    assert.equal(reportOf(added.T)[1], "Added");
    assert.equal(reportOf(added.T)[2], "4 · Operator choice");
    assert.match(reportOf(added.T)[7], new RegExp(`^[^·]+ · ${tFirst} ${tLast}`), "the report lists the top candidates with their identifiers");
    assert.equal(reportRows.filter((r) => ["Created", "Updated", "Added"].includes(r[1])).length, 4);
    assert.equal(reportRows.filter((r) => r[1] === "Unchanged").length, inputRows - 4);

    // Apply → Verify.
    const dialogsBeforeApply = s.dialogs.length;
    await page.getByTestId("apply-button").click();
    await page.getByTestId("verify-summary").waitFor({ timeout: 60_000 });
    assert.equal(s.dialogs.length, dialogsBeforeApply, "a first apply asks nothing");
    assert.equal(await number(page, "verify-created"), 1);
    assert.equal(await number(page, "verify-updated"), 1);
    assert.equal(await number(page, "verify-added"), 3);
    assert.equal(await number(page, "verify-skipped"), 0);
    assert.equal(await number(page, "verify-errors"), 0);
    await waitForNotice(page, /Import #1 applied: 1 created, 1 updated, 3 added/);
    const sampleRows = page.locator('[data-testid="verify-sample"] tbody tr');
    await waitForCount(sampleRows, 4, { message: "every applied row (4 ≤ 15) is in the verification sample" });
    for (const agrees of await page.locator('[data-testid="verify-sample"] tbody tr td:last-child').allTextContents()) {
      assert.equal(agrees.trim(), "✓", "every sampled row agrees with the CRM");
    }
    await shot(s, "verify");

    // The updated export of the portfolio, from the Verify step.
    const exportButton = page.getByTestId("export-download").filter({ hasText: exp.name });
    await waitForCount(exportButton, 1, { message: `the Verify step offers the export of ${exp.name}` });
    const updated = await download(page, exportButton);
    assert.match(updated.fileName, /^insured-crm-export-.+-\d{4}-\d{2}-\d{2}\.xlsx$/);
    const after = await readXlsx(updated);
    assert.deepEqual(after[0], EXPORT_COLUMNS);
    assert.equal(after.length, original.length + 2, "two rows more: P's phone and T's phone (N replaces U's empty row)");
    const newPids = new Set();
    const isNewPid = (pid) => pid && !analysis.publicIds.has(pid);

    // The changed address line, on the same detail.
    const aAfter = after.filter((r) => r[COL["Public ID"]] === A.cells[COL["Public ID"]]);
    assert.equal(aAfter.length, 1);
    const aExpected = [...A.cells];
    aExpected[COL["Address Line 1"]] = NEW_ADDRESS;
    assert.deepEqual(aAfter[0], aExpected, "only Address Line 1 of that detail changed");

    // P's new phone, on P's entry, with a new Public ID.
    const pAfter = after.filter((r) => r[COL.Phone] === P_PHONE);
    assert.equal(pAfter.length, 1);
    assert.equal(personKey(pAfter[0]), P.key, "the phone is on the existing person's entry");
    assert.equal(pAfter[0][COL["Detail Type"]], "Phone");
    assert.ok(isNewPid(pAfter[0][COL["Public ID"]]), `a new Public ID: ${pAfter[0][COL["Public ID"]]}`);
    newPids.add(pAfter[0][COL["Public ID"]]);

    // The new person, with the file's Client Reference, linked to the insured on the case.
    const nAfter = after.filter((r) => r[COL["Client Reference"]] === N_CREF);
    assert.equal(nAfter.length, 1);
    const n = nAfter[0];
    assert.deepEqual(
      [n[COL["Case Reference"]], n[COL["Insured Reference"]], n[COL["First Name"]], n[COL["Last Name"]]],
      [U.cells[COL["Case Reference"]], U.cells[COL["Insured Reference"]], nFirst, nLast],
    );
    assert.equal(n[COL["Detail Type"]], "Email");
    assert.equal(n[COL.Email], N_EMAIL);
    assert.ok(isNewPid(n[COL["Public ID"]]), `a new Public ID: ${n[COL["Public ID"]]}`);
    newPids.add(n[COL["Public ID"]]);
    assert.equal(
      after.filter((r) => r[COL["Case Reference"]] === U.cells[COL["Case Reference"]] && r[COL["Insured Reference"]] === U.cells[COL["Insured Reference"]])
        .length,
      1,
      "the insured's empty row is replaced by the new entry's row",
    );

    // The typo'd row's phone is on the existing entry, under the CRM's name.
    const tAfter = after.filter((r) => r[COL.Phone] === T_PHONE);
    assert.equal(tAfter.length, 1);
    assert.equal(personKey(tAfter[0]), T.key, "the phone is on the existing entry (name, Client Reference, SSN as in the CRM)");
    assert.equal(tAfter[0][COL["First Name"]], tFirst);
    assert.ok(!after.some((r) => r[COL["First Name"]] === tTypo && r[COL["Last Name"]] === tLast), "the typo'd name was not stored");
    assert.ok(isNewPid(tAfter[0][COL["Public ID"]]), `a new Public ID: ${tAfter[0][COL["Public ID"]]}`);
    newPids.add(tAfter[0][COL["Public ID"]]);
    assert.equal(newPids.size, 3, "three distinct new Public IDs");

    // Nothing else changed: every other original row is still there, as it was.
    const remaining = new Map();
    for (const r of after.slice(1)) remaining.set(rowKey(r), (remaining.get(rowKey(r)) ?? 0) + 1);
    for (const r of original.slice(1)) {
      if (r === A.cells || r === U.cells) continue;
      const k = rowKey(r);
      assert.ok(remaining.get(k) > 0, `row still in the export: ${k}`);
      remaining.set(k, remaining.get(k) - 1);
    }
    await shot(s, "verify-downloaded");

    // Re-import the updated export: nothing to do.
    await page.getByTestId("import-another").click();
    await page.getByTestId("import-file-input").waitFor({ state: "attached" });
    await waitForText(page, "import-stage-status", /No file is staged/, { message: "the applied file is no longer staged" });
    await stageAndReview(s, updated.fileName, updated);
    assert.equal(await number(page, "import-error-count"), 0);
    await match(page);
    assert.equal(await page.getByTestId("resolve-group").count(), 0, "every row of the export matches: no groups");
    const again = await planTotals(page);
    assert.deepEqual(
      again,
      { create: 0, update: 0, add: 0, unchanged: after.length - 1, skip: 0, error: 0 },
      "re-importing the export plans zero changes",
    );
    await waitForText(page, "apply-button", "Nothing to apply");
    assert.equal(await page.getByTestId("apply-button").isDisabled(), true);
    await shot(s, "reimport-plan");

    assertClean(s);
  }),
);

test("a staged file survives a reload; a second upload asks before replacing it", { timeout: 300_000 }, () =>
  withSession(app, "import-reload", async (s) => {
    const { page } = s;
    await openApp(page, app);
    await loadDemo(page);
    const exp = await exportPortfolio(page, 0);
    await gotoPage(page, "import");
    await stageAndReview(s, "first.xlsx", exp.buffer);
    const rows = exp.rows.length - 1;
    assert.equal(await number(page, "import-error-count"), 0);

    await page.reload();
    await openApp(page, app);
    await gotoPage(page, "import");
    const card = page.getByTestId("import-staged");
    await card.waitFor({ timeout: 30_000 });
    assert.equal(await text(page, "import-staged-name"), "first.xlsx");
    assert.match(await card.textContent(), new RegExp(`· ${rows} rows ·`));
    assert.match(await card.textContent(), /SHA-256 [0-9a-f]{12}…/);
    await shot(s, "staged-after-reload");

    // Continue with the staged file: the same rows come back for review.
    await page.getByTestId("import-resume").click();
    await page.getByTestId("import-error-count").waitFor();
    assert.match(await page.locator("main").textContent(), new RegExp(`${rows} rows can be imported`));
    await page.getByRole("button", { name: "Back" }).click();
    await card.waitFor();

    // A second upload asks first; declining keeps the staged file.
    const second = Buffer.from(exp.buffer);
    s.dialogPolicy = "dismiss";
    const before = s.dialogs.length;
    await uploadFile(page, "import-file-input", "second.xlsx", second);
    await waitForValue("the number of questions asked", () => s.dialogs.length, before + 1, {
      timeout: 10_000,
      message: "replacing a staged file asks first",
    });
    assert.equal(s.dialogs.length, before + 1, "replacing a staged file asks first");
    assert.match(s.dialogs.at(-1), /A file is already staged for .*: first\.xlsx\. Replace it with second\.xlsx\?/);
    // The question was answered and the page has handled the answer: the stage is as it stays.
    await settle(page);
    await waitForText(page, "import-staged-name", "first.xlsx", { message: "declining keeps the staged file" });
    s.dialogPolicy = "accept";
    await stageAndReview(s, "second.xlsx", second);
    await page.getByRole("button", { name: "Back" }).click();
    await card.waitFor();
    await waitForText(page, "import-staged-name", "second.xlsx");
    await shot(s, "staged-replaced");

    // Discarding empties the stage.
    await page.getByTestId("import-discard").click();
    await waitForNotice(page, /discarded/);
    await waitForText(page, "import-stage-status", /No file is staged/);
    assertClean(s);
  }),
);

test("the error report of a file with one bad email names the cell in an Errors column", { timeout: 300_000 }, () =>
  withSession(app, "import-errors", async (s) => {
    const { page } = s;
    await openApp(page, app);
    await loadDemo(page);
    const exp = await exportPortfolio(page, 0);
    const emailRow = exp.rows.findIndex((r, i) => i > 0 && r[COL["Detail Type"]] === "Email") + 1;
    assert.ok(emailRow > 1, "the export has an Email row");
    const bad = await editWorkbook(exp.buffer, (ws, x) => x.set(emailRow, "Email", "not-an-email"));
    await gotoPage(page, "import");
    await stageAndReview(s, "bad-email.xlsx", bad);
    assert.equal(await number(page, "import-error-count"), 1, "one error: the bad email");
    assert.match(await page.locator("main").textContent(), new RegExp(`${exp.rows.length - 2} rows can be imported`));

    // The review table's Errors column names the cell.
    await page.getByText("Show only rows with problems").click();
    await page.getByTestId("review-table").getByText(`R${emailRow}:`, { exact: false }).first().waitFor();
    await shot(s, "review-errors");

    const report = await download(page, "error-report-download");
    assert.equal(report.fileName, "bad-email-errors.xlsx");
    const rows = await readXlsx(report);
    assert.deepEqual(rows[0], [...EXPORT_COLUMNS, "Errors"], "the uploaded columns plus an Errors column");
    assert.equal(rows.length, exp.rows.length, "every uploaded row is in the report");
    const errorsCol = EXPORT_COLUMNS.length;
    const withErrors = rows.slice(1).map((r, i) => [i + 2, r]).filter(([, r]) => /(^|\n)Error /.test(r[errorsCol]));
    assert.equal(withErrors.length, 1, "one row has an error");
    const [sheetRow, r] = withErrors[0];
    assert.equal(sheetRow, emailRow, "the report keeps the row where it was");
    assert.equal(r[COL.Email], "not-an-email");
    assert.match(r[errorsCol], new RegExp(`Error R${emailRow}: `), `the Errors text names cell R${emailRow}: ${r[errorsCol]}`);
    // The bad cell is highlighted; its neighbours are not.
    const ws = (await loadWorkbook(report)).worksheets[0];
    const fill = ws.getCell(`R${emailRow}`).fill;
    assert.ok(fill && fill.type === "pattern" && fill.pattern !== "none", `R${emailRow} is highlighted: ${JSON.stringify(fill)}`);
    const plain = ws.getCell(`Q${emailRow}`).fill;
    assert.ok(!plain || plain.pattern === "none", `Q${emailRow} is not highlighted`);

    // The fixed report re-uploads cleanly (its Errors column is ignored).
    const fixed = await editWorkbook(report, (ws2) => {
      ws2.getCell(`R${emailRow}`).value = "fixed.address@example.com";
    });
    await page.getByRole("button", { name: "Back" }).click();
    await uploadFile(page, "import-file-input", "bad-email-errors.xlsx", fixed);
    await waitForNotice(page, /bad-email-errors\.xlsx is staged/);
    const headersOrReview = page.locator('[data-testid="headers-confirm"], [data-testid="import-error-count"]').first();
    await headersOrReview.waitFor({ timeout: 30_000 });
    if (await page.getByTestId("headers-confirm").count()) {
      await shot(s, "fixed-headers");
      await page.getByTestId("headers-confirm").click();
      await page.getByTestId("import-error-count").waitFor();
    }
    assert.equal(await number(page, "import-error-count"), 0, "the fixed file has no errors");
    assert.match(await page.locator("main").textContent(), /Ignored columns: Errors/);
    assert.ok(s.dialogs.some((m) => /Replace it with bad-email-errors\.xlsx/.test(m)), "replacing the staged file asked first");
    await shot(s, "fixed-review");
    assertClean(s);
  }),
);

test("undo of the last import restores the previous export", { timeout: 300_000 }, () =>
  withSession(app, "import-undo", async (s) => {
    const { page } = s;
    await openApp(page, app);
    await loadDemo(page);
    const exp = await exportPortfolio(page, 0);
    const a = analyseExport(exp.rows);
    const target = a.single.flatMap((p) => p.rows).find((r) => r.cells[COL["Detail Type"]] === "Address");
    assert.ok(target);
    const edited = await editWorkbook(exp.buffer, (ws, x) => {
      x.set(target.sheetRow, "City", "Undoville");
      x.append({
        ...identityOf(x, target.sheetRow),
        "Detail Type": "Email",
        Label: "Work",
        Primary: "No",
        Email: "undo.me@example.com",
      });
    });
    await gotoPage(page, "import");
    await stageAndReview(s, "undo-me.xlsx", edited);
    await match(page);
    const totals = await planTotals(page);
    assert.deepEqual([totals.create, totals.update, totals.add], [0, 1, 1]);
    await page.getByTestId("apply-button").click();
    await page.getByTestId("verify-summary").waitFor();
    const changed = await readXlsx(await download(page, page.getByTestId("export-download").filter({ hasText: exp.name })));
    assert.notDeepEqual(changed, exp.rows, "the apply changed the export");
    assert.ok(changed.some((r) => r[COL.City] === "Undoville"));
    assert.ok(changed.some((r) => r[COL.Email] === "undo.me@example.com"));

    const before = s.dialogs.length;
    await waitForValue("Undo being disabled", () => page.getByTestId("undo-last-import").isDisabled(), false, { message: "the Verify step offers undo" });
    await page.getByTestId("undo-last-import").click();
    await waitForNotice(page, /Import #1 of undo-me\.xlsx was undone/);
    assert.match(s.dialogs[before] ?? "", /Undo import #1 of undo-me\.xlsx/, "undo asked first");
    await page.getByText("Import #1 was undone").waitFor();
    await waitForValue("Undo being disabled", () => page.getByTestId("undo-last-import").isDisabled(), true, {
      message: "an undone import cannot be undone again",
    });
    await shot(s, "undone");

    const restored = await exportPortfolio(page, 0);
    assert.equal(restored.label, exp.label);
    assert.deepEqual(restored.rows, exp.rows, "the export after undo is the export before the import, cell for cell");

    await gotoPage(page, "history");
    const historyRow = page.locator('[data-testid="history-table"] tbody tr').first();
    await waitForText(page, historyRow, /undo-me\.xlsx.*Undone/);
    assert.equal(await page.getByTestId("undo-last-import").isDisabled(), true, "nothing more to undo");
    await shot(s, "history");
    assertClean(s);
  }),
);
