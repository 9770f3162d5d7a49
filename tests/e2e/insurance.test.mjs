// Issue 5 end to end: the bulk insurance import and process on the System Utilities page.
// An operator without Manage Settings finds the page closed; one with it opens it, downloads
// the templates (exact headers), is refused a user insurance file offered as a device file,
// stages a device file with two unknown serials and one invalid status, sees it survive a
// reload, processes it, checks the counts, the skipped list and its XLSX, finds a device's new
// policy number on the Browse page and every other device untouched in a snapshot, and sees
// the same file processed again ask first and change nothing. A second test times a
// 20,000-row device file (printed, not asserted). No request leaves the test server's origin.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";

import {
  ARTIFACTS,
  assertClean,
  download,
  cellText,
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
  waitForNumber,
  waitForText,
  waitForTexts,
  waitForValue,
  withSession,
} from "./harness.mjs";
import { settle } from "./steps.mjs";

let app;
before(async () => {
  app = await startApp();
});
after(async () => {
  await app?.close();
});

const USER_HEADERS = ["User ID", "Insurance Status", "Policy Number", "Coverage Start Date", "Coverage End Date"];
const DEVICE_HEADERS = [
  "Device Serial",
  "Insurance Status",
  "Policy Number",
  "Coverage Amount",
  "Coverage Type",
  "Coverage Start Date",
];

/** Rows (header first) as CSV text, CRLF line ends. No value here needs quoting. */
const csv = (rows) => rows.map((r) => r.join(",")).join("\r\n") + "\r\n";

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The snapshot's sheet as objects keyed by header. */
async function snapshotSheet(page, sheet) {
  await gotoPage(page, "data");
  const rows = await readXlsx(await download(page, "snapshot-download"), sheet);
  const [header, ...data] = rows;
  return data.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

/** Device rows by serial, from a snapshot. */
async function devicesBySerial(page) {
  const rows = await snapshotSheet(page, "Devices");
  assert.ok(rows.length > 0, "the snapshot lists devices");
  return new Map(rows.map((d) => [d["Device Serial"], d]));
}

async function gotoUtilities(page) {
  await page.getByTestId("nav-utilities").click();
  await page.locator('[data-testid="utilities-locked"], [data-testid="insurance-file-input"]').first().waitFor();
}

async function chooseOperator(page, login) {
  await page.getByTestId("operator-select").selectOption(login);
  await waitForInputValue(page.getByTestId("operator-select"), login);
}

/** The Browse page's school users and devices table rows matching `query`, as cell texts. */
async function enrolleeRows(page, query) {
  await gotoPage(page, "browse");
  const search = page.getByTestId("enrollee-search");
  await search.fill(query);
  const table = page.getByTestId("enrollee-table");
  await page.waitForFunction(
    (q) => {
      const rows = [...document.querySelectorAll('[data-testid="enrollee-table"] tbody tr')];
      return rows.length > 0 && rows.every((r) => r.textContent.toLowerCase().includes(q.toLowerCase()));
    },
    query,
    { timeout: 10_000 },
  );
  const out = [];
  for (const r of await table.locator("tbody tr").all()) out.push((await r.locator("td").allTextContents()).map((t) => t.trim()));
  return out;
}

/**
 * The counts of the processing result, once they are `expected` (a processing that ran before
 * on this page may still show its counts until the new one ends).
 */
async function resultCounts(page, expected) {
  await page.getByTestId("insurance-result").waitFor({ timeout: 120_000 });
  const read = async () => ({
    updated: await number(page, "ins-updated"),
    unchanged: await number(page, "ins-unchanged"),
    skipped: await number(page, "ins-skipped"),
    invalid: await number(page, "ins-invalid"),
  });
  return waitForValue("the processing result", read, (c) => JSON.stringify(c) === JSON.stringify(expected), { timeout: 120_000 });
}

/** Amount text as the template would carry it, for comparing with a snapshot cell. */
const cents = (t) => (t === "" ? null : Math.round(Number(t) * 100));

test("insurance: closed without Manage Settings; stage a device file, reload, process, counts, skipped list, Browse", { timeout: 600_000 }, () =>
  withSession(app, "insurance", async (s) => {
    const { page } = s;
    await openApp(page, app);
    await loadDemo(page);
    const before = await devicesBySerial(page);
    const users = await snapshotSheet(page, "School Users");
    assert.ok(users.length > 0, "the snapshot lists school users");

    // --- Access -------------------------------------------------------------------------
    for (const login of ["bsilva", "cnguyen"]) {
      await chooseOperator(page, login);
      await gotoUtilities(page);
      const locked = page.getByTestId("utilities-locked");
      // The page shown for the operator chosen before may still be there: wait for this one's.
      const why = await waitForText(page, locked, new RegExp(`\\(${login}\\) does not have it`), { message: "the page names the current operator" });
      assert.match(why, /ManageSettings|Manage Settings/, "the page says which permission is needed");
      assert.match(why, new RegExp(`\\(${login}\\) does not have it`), "the page names the current operator");
      assert.match(why, /\(amartin\)/, "the page names who has the permission");
      assert.equal(await page.getByTestId("insurance-file-input").count(), 0, `${login} gets no upload`);
      assert.equal(await page.getByTestId("insurance-template-device").count(), 0);
      if (login === "bsilva") await shot(s, "utilities-locked");
    }
    await chooseOperator(page, "amartin");
    await page.getByTestId("insurance-file-input").waitFor();
    assert.equal(await page.getByTestId("utilities-locked").count(), 0, "amartin has Manage Settings");
    await page.getByTestId("insurance-none-staged").waitFor();
    assert.equal(await page.getByTestId("insurance-staged").count(), 0, "nothing is staged yet");
    await shot(s, "utilities-open");

    // --- Templates ----------------------------------------------------------------------
    const deviceCsv = await download(page, "insurance-template-device");
    assert.equal(deviceCsv.fileName, "device-insurance-template.csv");
    const deviceLines = deviceCsv.toString("utf8").replace(/^\uFEFF/, "").split(/\r?\n/).filter((l) => l !== "");
    assert.deepEqual(deviceLines, [DEVICE_HEADERS.join(",")], "the device template is exactly its header line");
    assert.equal(deviceLines[0], "Device Serial,Insurance Status,Policy Number,Coverage Amount,Coverage Type,Coverage Start Date");
    const userCsv = await download(page, "insurance-template-user");
    const userLines = userCsv.toString("utf8").replace(/^\uFEFF/, "").split(/\r?\n/).filter((l) => l !== "");
    assert.deepEqual(userLines, [USER_HEADERS.join(",")], "the user template is exactly its header line");
    const deviceXlsx = await readXlsx(await download(page, "insurance-template-device-xlsx"));
    assert.deepEqual(deviceXlsx[0], DEVICE_HEADERS, "the device XLSX template's header row");
    const userXlsx = await readXlsx(await download(page, "insurance-template-user-xlsx"));
    assert.deepEqual(userXlsx[0], USER_HEADERS, "the user XLSX template's header row");

    // --- A user file offered as a device file is refused and named ---------------------
    await page.getByTestId("insurance-template-select").selectOption("device-insurance");
    const userFile = csv([USER_HEADERS, [users[0]["User ID"], "Yes", "UPOL-1", "2026-01-01", "2026-12-31"]]);
    await uploadFile(page, "insurance-file-input", "users-as-devices.csv", Buffer.from(userFile));
    const refusal = await waitForNotice(page, /user insurance file/);
    assert.match(refusal, /This is a user insurance file .*not a device insurance file/);
    assert.match(refusal, /Nothing was staged/);
    assert.match((await page.getByTestId("notice").getAttribute("class")) ?? "", /error/);
    assert.equal(await page.getByTestId("insurance-staged").count(), 0, "the user file was not staged");
    await shot(s, "wrong-template-refused");
    await page.getByTestId("notice").getByRole("button", { name: "Dismiss" }).click();

    // --- The device file ----------------------------------------------------------------
    const serials = [...before.keys()];
    // One device whose every template field is set: a row repeating its values is unchanged.
    const full = serials.find((k) => {
      const d = before.get(k);
      return d["Insurance Status"] && d["Policy Number"] && d["Coverage Amount"] && d["Coverage Type"] && /^\d{4}-\d{2}-\d{2}$/.test(d["Coverage Start"]);
    });
    assert.ok(full, "a demo device has every insurance field set");
    const others = serials.filter((k) => k !== full);
    const updatedSerials = [others[0], others[7], others[42], others[99], others[150], others[201]];
    const invalidSerial = others[250];
    const unknown = ["DV-1999-99998", "ZZ-NOT-A-DEVICE"];
    const statuses = ["Yes", "Enrolled", "not enrolled", "NO", "ENROLLED", "No"];
    const newValues = new Map(
      updatedSerials.map((serial, i) => [
        serial,
        {
          status: statuses[i],
          stored: /^(yes|enrolled)$/i.test(statuses[i]) ? "Enrolled" : "Not Enrolled",
          policy: `E2E-POL-${String(i + 1).padStart(4, "0")}`,
          amount: ["1250.50", "99", "0.75", "20000", "310.10", ""][i],
          type: ["Accidental damage", "Theft", "Full cover", "", "Theft", "Screen"][i],
          start: ["2026-01-15", "2025-09-01", "", "2026-03-31", "2024-12-01", "2026-02-28"][i],
        },
      ]),
    );
    const f = before.get(full);
    const rows = [
      DEVICE_HEADERS,
      ...updatedSerials.slice(0, 3).map((k) => {
        const v = newValues.get(k);
        return [k, v.status, v.policy, v.amount, v.type, v.start];
      }),
      [unknown[0], "Yes", "E2E-POL-9001", "100", "Theft", "2026-01-01"],
      [full, f["Insurance Status"], f["Policy Number"], f["Coverage Amount"], f["Coverage Type"], f["Coverage Start"]],
      [invalidSerial, "Maybe", "E2E-POL-9002", "10", "Theft", "2026-01-01"],
      ...updatedSerials.slice(3).map((k) => {
        const v = newValues.get(k);
        return [k, v.status, v.policy, v.amount, v.type, v.start];
      }),
      [unknown[1], "No", "E2E-POL-9003", "", "", ""],
    ];
    const dataRows = rows.length - 1;
    const fileName = "device-insurance-e2e.csv";
    const fileBytes = Buffer.from(csv(rows));

    // This file clears the fields it leaves empty: the explicit choice on the page.
    await page.getByTestId("insurance-clear-empty").check();
    await uploadFile(page, "insurance-file-input", fileName, fileBytes);
    const stagedNotice = await waitForNotice(page, new RegExp(`${escapeRe(fileName)} is staged as a device insurance file: ${dataRows} rows\\.`));
    assert.match(stagedNotice, /1 row\(s\) have errors/, "the invalid status is found at staging");
    assert.match(stagedNotice, /Nothing has been applied/);
    const staged = page.getByTestId("insurance-staged");
    await staged.waitFor();
    assert.equal(await text(page, "insurance-staged-name"), fileName);
    const stagedText = (await staged.textContent()) ?? "";
    assert.match(stagedText, /Device insurance/);
    assert.match(stagedText, new RegExp(`${dataRows} rows`));
    assert.match(stagedText, new RegExp(`${(fileBytes.length / 1024).toFixed(1)} KB`), "the staged card gives the size");
    assert.match(stagedText, /staged \d{4}-\d{2}-\d{2} \d{2}:\d{2}/, "the staged card gives the time");
    assert.equal(await page.getByTestId("insurance-none-staged").count(), 0);
    await shot(s, "staged");

    // Staging applied nothing: the Browse page still shows the old policy number.
    const probe = updatedSerials[0];
    const probeBefore = await enrolleeRows(page, probe);
    assert.equal(probeBefore.length, 1, "one device has this serial");
    assert.equal(probeBefore[0][0], probe);
    assert.equal(probeBefore[0][3], before.get(probe)["Policy Number"], "staging changed nothing");
    assert.notEqual(probeBefore[0][3], newValues.get(probe).policy);

    // A second upload first asks to replace the staged file; dismissing keeps the first.
    await gotoUtilities(page);
    await page.getByTestId("insurance-staged").waitFor();
    s.dialogPolicy = "dismiss";
    const dialogsBefore = s.dialogs.length;
    await uploadFile(page, "insurance-file-input", "other.csv", Buffer.from(csv([DEVICE_HEADERS, [probe, "Yes", "X", "", "", ""]])));
    await waitForValue("the number of questions asked", () => s.dialogs.length, dialogsBefore + 1, {
      timeout: 5_000,
      message: "replacing the staged file asks first",
    });
    s.dialogPolicy = "accept";
    assert.equal(s.dialogs.length, dialogsBefore + 1, "replacing the staged file asks first");
    assert.match(s.dialogs.at(-1), new RegExp(`A file is already staged: ${escapeRe(fileName)}.*Replace it with other\\.csv\\?`));
    // The question was answered and the page has handled the answer: the stage is as it stays.
    await settle(page);
    await waitForText(page, "insurance-staged-name", fileName, { message: "dismissing keeps the staged file" });

    // --- The staged file survives a reload ---------------------------------------------
    await page.reload();
    await page.getByTestId("nav-browse").waitFor();
    await page.waitForFunction(() => !document.querySelector("main.page")?.textContent.includes("Opening the local CRM"), null, {
      timeout: 30_000,
    });
    await waitForInputValue(page.getByTestId("operator-select"), "amartin", { message: "the operator is remembered" });
    await gotoUtilities(page);
    await page.getByTestId("insurance-staged").waitFor({ timeout: 30_000 });
    assert.equal(await text(page, "insurance-staged-name"), fileName, "the staged file survived the reload");
    assert.match((await page.getByTestId("insurance-staged").textContent()) ?? "", new RegExp(`${dataRows} rows`));
    await shot(s, "staged-after-reload");

    // --- Review: the preview of Process, with the clear option chosen again -------------
    await page.getByTestId("insurance-clear-empty").check();
    await page.getByTestId("insurance-review").click();
    await page.getByTestId("plan-summary").waitFor();
    const preview = {
      updated: await number(page, "plan-update"),
      unchanged: await number(page, "plan-unchanged"),
      skipped: await number(page, "plan-skip"),
      invalid: await number(page, "plan-error"),
    };
    await shot(s, "review");

    // --- Process ------------------------------------------------------------------------
    const dialogsBeforeProcess = s.dialogs.length;
    await page.getByTestId("insurance-process").click();
    const counts = await resultCounts(page, { updated: updatedSerials.length, unchanged: 1, skipped: 2, invalid: 1 });
    assert.deepEqual(
      counts,
      { updated: updatedSerials.length, unchanged: 1, skipped: 2, invalid: 1 },
      "updated = existing valid rows whose values change; the repeated values are unchanged",
    );
    assert.deepEqual(preview, counts, "Process did exactly what Review showed");
    assert.equal(s.dialogs.length, dialogsBeforeProcess, "a file never processed before is processed without asking");
    await waitForNotice(page, /processed in [\d.]+ s: 6 updated, 1 unchanged, 2 skipped, 1 invalid/);
    await page.getByTestId("insurance-none-staged").waitFor();
    assert.equal(await page.getByTestId("insurance-staged").count(), 0, "processing removes the staged file");

    const skippedList = await waitForText(page, "insurance-skipped-list", /^Skipped: /, { message: "the whole skipped list is shown" });
    assert.match(skippedList, /^Skipped: /, "the whole skipped list is shown");
    for (const u of unknown) assert.ok(skippedList.includes(u), `the skipped list names ${u}: ${skippedList}`);
    for (const k of [...updatedSerials, full, invalidSerial]) assert.ok(!skippedList.includes(k), `${k} was not skipped`);
    const invalidList = await text(page, "insurance-invalid-list");
    assert.match(invalidList, new RegExp(`row 7 \\(${escapeRe(invalidSerial)}\\): .*Insurance Status`), invalidList);

    // The sample: every updated record (6 ≤ 15), file values next to stored ones, all agreeing.
    const sampleRows = await waitForCount(page.getByTestId("insurance-sample").locator("tbody tr"), 2 * updatedSerials.length, {
      message: "the sample shows every updated record (file + stored rows)",
    });
    assert.equal(sampleRows, 2 * updatedSerials.length, "the sample shows every updated record (file + stored rows)");
    const sampleText = (await page.getByTestId("insurance-sample").textContent()) ?? "";
    assert.ok(!sampleText.includes("✗"), "every sampled record agrees with the file");
    for (const k of updatedSerials) assert.ok(sampleText.includes(newValues.get(k).policy), `the sample shows ${k}`);
    await shot(s, "result");

    // The skipped IDs and invalid rows as XLSX.
    const report = await download(page, "insurance-skipped-download");
    assert.equal(report.fileName, "device-insurance-e2e-skipped-and-invalid.xlsx");
    const skippedSheet = await readXlsx(report, "Skipped IDs");
    assert.deepEqual(skippedSheet[0], ["Row", "Device Serial", "Reason"]);
    assert.deepEqual(skippedSheet.slice(1).map((r) => r[1]).sort(), [...unknown].sort(), "the XLSX lists exactly the unknown serials");
    assert.deepEqual(skippedSheet.slice(1).map((r) => Number(r[0])), [5, 11], "with their sheet rows");
    const invalidSheet = await readXlsx(report, "Errors");
    assert.equal(invalidSheet.length, 2, "one invalid row");
    assert.equal(invalidSheet[1][1], invalidSerial);
    assert.equal(Number(invalidSheet[1][0]), 7);
    assert.match(invalidSheet[1][2], /Insurance Status/);

    // --- Browse shows the new policy number; the invalid row's device is untouched -------
    for (const k of [probe, updatedSerials[3]]) {
      const [row] = await enrolleeRows(page, k);
      const v = newValues.get(k);
      assert.deepEqual([row[0], row[2], row[3]], [k, v.stored, v.policy], `Browse shows ${k}'s new insurance`);
    }
    await page
      .getByTestId("enrollee-table")
      .locator("xpath=..")
      .screenshot({ path: join(ARTIFACTS, `${s.name}-${String(++s.shots).padStart(2, "0")}-browse-updated-device.png`) });
    const [invalidRow] = await enrolleeRows(page, invalidSerial);
    assert.equal(invalidRow[3], before.get(invalidSerial)["Policy Number"], "the invalid row changed nothing");

    // --- The whole CRM: exactly the updated devices changed, as the file says ------------
    const afterDevices = await devicesBySerial(page);
    assert.equal(afterDevices.size, before.size, "no device was created or removed");
    for (const [serial, was] of before) {
      const now = afterDevices.get(serial);
      const v = newValues.get(serial);
      if (!v) {
        assert.deepEqual(now, was, `${serial} is not updated by the file and is untouched`);
        continue;
      }
      assert.equal(now["Insurance Status"], v.stored, `${serial} status`);
      assert.equal(now["Policy Number"], v.policy, `${serial} policy`);
      assert.equal(cents(now["Coverage Amount"]), cents(v.amount), `${serial} amount`);
      assert.equal(now["Coverage Type"], v.type, `${serial} type`);
      assert.equal(now["Coverage Start"], v.start, `${serial} start`);
      assert.equal(now["Coverage End"], was["Coverage End"], `${serial}: Coverage End is not a device template column`);
      assert.equal(now["Model"], was["Model"], `${serial} model`);
    }

    // --- The same file again: asks first, then changes nothing -------------------------
    await gotoUtilities(page);
    await uploadFile(page, "insurance-file-input", fileName, fileBytes);
    await page.getByTestId("insurance-staged").waitFor();
    const dialogsBeforeAgain = s.dialogs.length;
    await page.getByTestId("insurance-process").click();
    const again = await resultCounts(page, { updated: 0, unchanged: updatedSerials.length + 1, skipped: 2, invalid: 1 });
    await waitForNotice(page, /processed in .*0 updated, 7 unchanged/);
    assert.equal(s.dialogs.length, dialogsBeforeAgain + 1, "the same file processed again asks first");
    assert.match(s.dialogs.at(-1), /This exact file \(same SHA-256\) was already processed as import #\d+/);
    assert.deepEqual(again, { updated: 0, unchanged: updatedSerials.length + 1, skipped: 2, invalid: 1 });
    const afterAgain = await devicesBySerial(page);
    assert.deepEqual([...afterAgain], [...afterDevices], "processing the same file again changed nothing");

    // --- Empty cells keep stored values unless the clear option is on -------------------
    await gotoUtilities(page);
    await page.getByTestId("insurance-another").click();
    await page.getByTestId("insurance-clear-empty").uncheck();
    const kept = afterAgain.get(full);
    const statusOnly = Buffer.from(csv([DEVICE_HEADERS, [full, kept["Insurance Status"] === "Enrolled" ? "Not Enrolled" : "Enrolled", "", "", "", ""]]));
    await uploadFile(page, "insurance-file-input", "status-only.csv", statusOnly);
    await page.getByTestId("plan-summary").waitFor();
    await waitForNumber(page, "plan-update", 1, { message: "the status changes" });
    await page.getByTestId("insurance-process").click();
    await resultCounts(page, { updated: 1, unchanged: 0, skipped: 0, invalid: 0 });
    const afterStatus = (await devicesBySerial(page)).get(full);
    assert.notEqual(afterStatus["Insurance Status"], kept["Insurance Status"], "the status was written");
    for (const field of ["Policy Number", "Coverage Amount", "Coverage Type", "Coverage Start"]) {
      assert.equal(afterStatus[field], kept[field], `an empty ${field} cell kept the stored value`);
    }
    // The same kind of file with the option on clears them (seen in Review, not processed).
    await gotoUtilities(page);
    await page.getByTestId("insurance-another").click();
    await page.getByTestId("insurance-clear-empty").check();
    await uploadFile(page, "insurance-file-input", "status-only-clear.csv", Buffer.from(csv([DEVICE_HEADERS, [full, afterStatus["Insurance Status"], "", "", "", ""]])));
    await page.getByTestId("plan-summary").waitFor();
    await waitForNumber(page, "plan-update", 1, { message: "with the option on, the empty cells clear four fields: an update" });
    await shot(s, "review-clear-on");
    await page.getByTestId("insurance-delete").click();
    await page.getByTestId("insurance-none-staged").waitFor();
    const untouched = (await devicesBySerial(page)).get(full);
    assert.deepEqual(untouched, afterStatus, "deleting the staged file wrote nothing");

    assertClean(s);
  }),
);

test("insurance: a 20,000-row device file that updates 20,000 devices is processed in seconds (timed)", { timeout: 600_000 }, () =>
  withSession(app, "insurance-20k", async (s) => {
    const { page } = s;
    await openApp(page, app);
    await loadDemo(page);

    // The demo has a few hundred devices and a serial may be in a file only once, so the CRM
    // is first grown to 20,000 devices: the demo's snapshot with devices appended (and its
    // About row count raised), loaded back through the CRM data page.
    const N = 20_000;
    await gotoPage(page, "data");
    const wb = await loadWorkbook(await download(page, "snapshot-download"));
    const devices = wb.getWorksheet("Devices");
    const serials = [];
    devices.eachRow((row, n) => {
      if (n > 1) serials.push(cellText(row.getCell(1).value));
    });
    for (let i = 0; serials.length < N; i++) {
      const serial = `DV-2099-${String(i).padStart(5, "0")}`;
      serials.push(serial);
      const row = devices.addRow([serial, "Bulk test laptop"]);
      row.getCell(1).numFmt = "@";
    }
    const about = wb.getWorksheet("About");
    let declared = false;
    about.eachRow((row) => {
      if (cellText(row.getCell(1).value) === "Rows in Devices") {
        row.getCell(2).value = N;
        declared = true;
      }
    });
    assert.ok(declared, "the snapshot's About sheet declares the Devices row count");
    await uploadFile(page, "snapshot-input", "grown-snapshot.xlsx", Buffer.from(await wb.xlsx.writeBuffer()));
    await waitForNotice(page, /Snapshot grown-snapshot\.xlsx loaded/, { timeout: 300_000 });
    const counts = page.getByTestId("crm-counts");
    await page.waitForFunction(
      (n) => [...document.querySelectorAll('[data-testid="crm-counts"] tr')].some((r) => /devices/i.test(r.textContent) && r.textContent.includes(String(n))),
      N,
    );
    assert.ok(((await counts.textContent()) ?? "").includes(String(N)), "the CRM holds 20,000 devices");

    // Every device gets a new status, policy number, amount, type and start date.
    const rows = [DEVICE_HEADERS];
    for (let i = 0; i < N; i++) {
      rows.push([serials[i], i % 2 ? "Enrolled" : "No", `BULK-${String(i).padStart(6, "0")}`, `${(i % 5000) + 0.25}`, "Theft", "2026-01-01"]);
    }
    const bytes = Buffer.from(csv(rows));
    await gotoUtilities(page);
    assert.equal(await page.getByTestId("operator-select").inputValue(), "amartin");
    await page.getByTestId("insurance-file-input").waitFor();

    const t0 = Date.now();
    await uploadFile(page, "insurance-file-input", "devices-20000.csv", bytes);
    await waitForNotice(page, /devices-20000\.csv is staged as a device insurance file: 20000 rows\./, { timeout: 300_000 });
    const stagedMs = Date.now() - t0;

    const t1 = Date.now();
    await page.getByTestId("insurance-process").click();
    const result = await resultCounts(page, { updated: N, unchanged: 0, skipped: 0, invalid: 0 });
    const processMs = Date.now() - t1;
    const notice = await waitForNotice(page, /processed in [\d.]+ s/);
    const appSeconds = notice.match(/processed in ([\d.]+) s/)[1];
    await shot(s, "result-20000");

    console.log(
      `20,000-row device file (${(bytes.length / 1024).toFixed(0)} KB) against 20,000 devices: staged in ${(stagedMs / 1000).toFixed(1)} s, ` +
        `processed in ${(processMs / 1000).toFixed(1)} s wall (app reports ${appSeconds} s); ` +
        `${result.updated} updated, ${result.unchanged} unchanged, ${result.skipped} skipped, ${result.invalid} invalid`,
    );
    assert.deepEqual(result, { updated: N, unchanged: 0, skipped: 0, invalid: 0 });
    const deviceStatus = await waitForTexts(page, page.getByTestId("insurance-status-summary").locator("tbody tr").nth(1).locator("td"), ["Devices", String(N / 2), String(N / 2), "0"], {
      message: "every device now has the file's status",
    });
    assert.deepEqual(deviceStatus, ["Devices", String(N / 2), String(N / 2), "0"], "every device now has the file's status");

    // The last appended device, on the Browse page, carries its row's policy number.
    const last = serials[N - 1];
    const [row] = await enrolleeRows(page, last);
    assert.deepEqual([row[0], row[2], row[3]], [last, "Enrolled", `BULK-${String(N - 1).padStart(6, "0")}`]);
    assertClean(s);
  }),
);
