// The privacy sweep, end to end: a file carrying the CRM's own SSNs, three SSNs that can never
// have been issued and one SSN given to two new persons runs through every step of the insured
// workflow — stage, review, the error report (masked by default), match, resolve, plan, the
// plan report, apply, verify, undo, history. The text of every page state and notice, every
// report downloaded, local storage and every console message are collected; none holds an SSN
// of the file or of the CRM in full, in any spelling (123-45-6789, 123456789, 123 45 6789), and
// none holds an unkeyed SHA-256 of one (the digests the app once wrote). The export the test
// downloads to build its file is a file the operator asks for, and is not swept.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

import {
  COL,
  assertClean,
  download,
  gotoPage,
  loadDemo,
  openApp,
  readXlsx,
  sheetNames,
  shot,
  startApp,
  waitForNotice,
  waitForText,
  waitForValue,
  withSession,
  writeXlsx,
} from "./harness.mjs";
import { exportPortfolio, match, planTotals, stageAndReview } from "./steps.mjs";

let app;
before(async () => {
  app = await startApp();
});
after(async () => {
  await app?.close();
});

/** SSNs that can never have been issued, with what the review says of each. */
const INVALID = [
  ["912-34-5678", "areas 900–999 are never issued"],
  ["666-12-3456", "area 666 is never issued"],
  ["000-12-3456", "area 000 is never issued"],
];
/** One valid SSN given to two new persons with different Client References. */
const DUPLICATED = "078-05-1120";

const digitsOf = (ssn) => ssn.replace(/\D/g, "");

/** Every spelling of an SSN a text could hold it in. */
function spellings(ssn) {
  const d = digitsOf(ssn);
  return [d, `${d.slice(0, 3)}-${d.slice(3, 5)}-${d.slice(5)}`, `${d.slice(0, 3)} ${d.slice(3, 5)} ${d.slice(5)}`];
}

/** Unkeyed SHA-256 digests of an SSN as a digest could have been made (hex, and the cut forms). */
function plainDigests(ssn) {
  const d = digitsOf(ssn);
  const out = [];
  for (const input of [d, spellings(ssn)[1], `roundtrip-ssn:${d}`]) {
    const hex = createHash("sha256").update(input).digest("hex");
    out.push(hex.slice(0, 16), hex.slice(0, 40), hex);
  }
  return out;
}

/** Every cell of every sheet of a workbook, as one text. */
async function workbookText(buffer) {
  const parts = [];
  for (const name of await sheetNames(buffer)) {
    const rows = await readXlsx(buffer, name);
    parts.push(rows.map((r) => r.join("\t")).join("\n"));
  }
  return parts.join("\n");
}

test("privacy sweep: no SSN and no plain digest in any page, notice, report, storage or console message", { timeout: 600_000 }, () =>
  withSession(app, "privacy-sweep", async (s) => {
    const { page } = s;
    const messages = [];
    page.on("console", (m) => messages.push(m.text()));
    const seen = [];
    const see = async (what) => seen.push([what, await page.locator("body").innerText()]);

    await openApp(page, app);
    await loadDemo(page);
    const exp = await exportPortfolio(page, 0);
    const crmSsns = [...new Set(exp.rows.slice(1).map((r) => r[COL.SSN]).filter((v) => v))];
    assert.ok(crmSsns.length > 5, "the exported portfolio carries SSNs");

    // The file: the export, three rows given an SSN never issued, and two new persons sharing one.
    const rows = exp.rows.map((r) => [...r]);
    const withSsn = rows.map((r, i) => i).filter((i) => i > 0 && rows[i][COL.SSN] && rows[i][COL["Public ID"]]);
    INVALID.forEach(([ssn], k) => {
      rows[withSsn[k]][COL.SSN] = ssn;
    });
    for (const [first, cref] of [["Privina", "CR-PRIVACY-1"], ["Privetta", "CR-PRIVACY-2"]]) {
      const row = Array(rows[0].length).fill("");
      Object.assign(row, {
        [COL["First Name"]]: first,
        [COL["Last Name"]]: "Sweepwell",
        [COL["Client Reference"]]: cref,
        [COL.SSN]: DUPLICATED,
        [COL["Detail Type"]]: "Email",
        [COL.Label]: "Home",
        [COL.Primary]: "Yes",
        [COL.Email]: `${first.toLowerCase()}@example.com`,
      });
      rows.push(row);
    }
    const forbidden = [...crmSsns, ...INVALID.map(([ssn]) => ssn), DUPLICATED];

    // Stage → Review: the invalid SSNs are said what is wrong with them, masked.
    await gotoPage(page, "import");
    await stageAndReview(s, "privacy-sweep.xlsx", await writeXlsx(rows));
    await waitForText(page, "import-error-count", "3");
    await see("review");
    const review = seen.at(-1)[1];
    for (const [ssn, why] of INVALID) {
      assert.ok(review.includes(why), `the review says "${why}"`);
      assert.ok(review.includes(`XXX-XX-${digitsOf(ssn).slice(5)}`), `the review shows ${ssn} masked`);
    }
    await shot(s, "review");
    seen.push(["error report", await workbookText(await download(page, "error-report-download"))]);

    // Match → Resolve (the two new persons) → Plan.
    await match(page);
    await see("match");
    if (await page.getByTestId("resolve-group").count()) {
      await page.getByTestId("plan-button").click();
    }
    const totals = await planTotals(page);
    assert.equal(totals.error, 3, "the three rows with an SSN never issued are errors");
    assert.equal(totals.create, 2, "both new persons are created");
    await see("plan");
    await shot(s, "plan");
    seen.push(["plan report", await workbookText(await download(page, "plan-report-download"))]);
    assert.match(
      seen.at(-1)[1],
      new RegExp(`SSN XXX-XX-${digitsOf(DUPLICATED).slice(5)} already belongs to another entry`),
      "the second new person's row names the shared SSN masked",
    );

    // Apply → Verify → Undo → History.
    await page.getByTestId("apply-button").click();
    await page.getByTestId("verify-summary").waitFor({ timeout: 60_000 });
    await see("verify");
    await waitForValue("Undo being disabled", () => page.getByTestId("undo-last-import").isDisabled(), false, {
      message: "the Verify step offers undo",
    });
    await page.getByTestId("undo-last-import").click();
    await waitForNotice(page, /Import #\d+ of privacy-sweep\.xlsx was undone/);
    await see("undone");
    await gotoPage(page, "history");
    await waitForText(page, page.locator('[data-testid="history-table"] tbody tr').first(), /privacy-sweep\.xlsx.*Undone/);
    await see("history");
    seen.push(["local storage", await page.evaluate(() => JSON.stringify({ ...window.localStorage }))]);
    seen.push(["console", messages.join("\n")]);

    assert.ok(seen.length >= 10, `every step was seen: ${seen.map(([w]) => w)}`);
    for (const [what, text] of seen) {
      for (const ssn of forbidden) {
        for (const spelled of spellings(ssn)) {
          assert.ok(!text.includes(spelled), `${what} shows an SSN in full (…${spelled.slice(-4)})`);
        }
        for (const digest of plainDigests(ssn)) {
          assert.ok(!text.includes(digest), `${what} holds a plain SHA-256 of an SSN (…${ssn.slice(-4)})`);
        }
      }
    }
    assertClean(s);
  }),
);
