// The passphrase in the built app (issue 17, item 3): the CRM data page sets a passphrase
// (under the warning that it cannot be recovered and that snapshots are plain), a reload opens
// on the unlock screen with nothing of the CRM shown, a wrong passphrase is refused and
// changes nothing, the right one opens the CRM as it was; two tabs share the lock state (a new
// tab gets the key of an unlocked one, a lock in one locks the other, an unlock in one unlocks
// the other); the idle lock locks once the idle time has passed without input.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import {
  assertClean,
  gotoPage,
  loadDemo,
  openApp,
  shot,
  startApp,
  text,
  waitForNotice,
  waitForText,
  waitForValue,
  withSession,
} from "./harness.mjs";

const PASSPHRASE = "correct horse battery staple";
const NEW_PASSPHRASE = "a new passphrase for the vault";
const LOCKED_TITLE = "This CRM copy is locked";

let app;
before(async () => {
  app = await startApp();
});
after(async () => {
  await app?.close();
});

/** Waits for the unlock screen, and checks that nothing of the CRM is shown with it. */
async function waitForUnlockScreen(page) {
  await page.getByTestId("unlock-screen").waitFor({ timeout: 60_000 });
  await waitForText(page, "crm-figures", "Local CRM locked");
  assert.equal(await page.getByTestId("nav-browse").count(), 0, "no page can be reached while locked");
  const shown = await page.locator("body").textContent();
  assert.ok(shown.includes(LOCKED_TITLE), shown);
  assert.ok(!/CRM entries|XXX-XX-\d{4}/.test(shown), `nothing of the CRM is shown while locked: ${shown}`);
}

/** Types a passphrase on the unlock screen and submits it. */
async function unlockWith(page, passphrase) {
  await page.getByTestId("unlock-passphrase").fill(passphrase);
  await page.getByTestId("unlock-button").click();
}

/** The CRM's counts as the data page lists them, once they are shown. */
async function crmCounts(page) {
  await gotoPage(page, "data");
  return waitForValue(
    "crm-counts",
    async () => ((await page.getByTestId("crm-counts").textContent()) ?? "").trim(),
    (t) => /\d/.test(t),
  );
}

test("a passphrase set on the data page locks the copy at reload; the right passphrase opens it as it was", { timeout: 600_000 }, () =>
  withSession(app, "passphrase", async (s) => {
    const a = s.page;
    await openApp(a, app);
    await loadDemo(a);
    const figures = await text(a, "crm-figures");
    assert.match(figures, /^900 CRM entries/);
    const counts = await crmCounts(a);

    // The data page: not encrypted, the warning before the fields.
    await waitForText(a, "encryption-state", "This copy is not encrypted.");
    const warning = await text(a, "passphrase-warning");
    assert.match(warning, /a forgotten passphrase cannot be recovered/i);
    assert.match(warning, /only a snapshot you downloaded restores the CRM/);
    assert.match(warning, /Snapshots stay plain XLSX files holding every full SSN/);
    const order = await a.evaluate(() => {
      const w = document.querySelector('[data-testid="passphrase-warning"]');
      const f = document.querySelector('[data-testid="passphrase-new"]');
      return w.compareDocumentPosition(f) & Node.DOCUMENT_POSITION_FOLLOWING;
    });
    assert.ok(order, "the warning comes before the passphrase fields");
    await shot(s, "data-page-not-encrypted");

    // Typed twice differently: refused, nothing set.
    await a.getByTestId("passphrase-new").fill(PASSPHRASE);
    await a.getByTestId("passphrase-new-again").fill(`${PASSPHRASE}!`);
    await a.getByTestId("passphrase-set").click();
    await waitForText(a, "notice", /The two new passphrases differ\. Nothing was changed\./);
    await waitForText(a, "encryption-state", "This copy is not encrypted.");

    // Set.
    await a.getByTestId("passphrase-new-again").fill(PASSPHRASE);
    await a.getByTestId("passphrase-set").click();
    await waitForNotice(a, /The passphrase is set: this copy is encrypted/, { timeout: 120_000 });
    await waitForText(a, "encryption-state", "This copy is encrypted.");
    await shot(s, "data-page-encrypted");

    // The idle time is kept in local storage.
    await waitForValue("idle minutes", () => a.getByTestId("idle-minutes").inputValue(), "15");
    await a.getByTestId("idle-minutes").fill("0");
    await a.getByTestId("idle-save").click();
    await waitForText(a, "notice", /whole number of minutes from 1 to 1440; "0" is not/);
    await a.getByTestId("idle-minutes").fill("20");
    await a.getByTestId("idle-save").click();
    await waitForNotice(a, /locks after 20 minutes without input/);
    assert.equal(await a.evaluate(() => localStorage.getItem("roundtrip.idle-lock-minutes")), "20");

    // Reload: the unlock screen, nothing else.
    await a.reload();
    await waitForUnlockScreen(a);
    await shot(s, "unlock-screen");

    // A wrong passphrase says so and changes nothing.
    await unlockWith(a, "not the passphrase at all");
    await waitForText(a, "unlock-error", "Wrong passphrase; nothing was changed.");
    await waitForUnlockScreen(a);
    await shot(s, "unlock-wrong");

    // The right one opens the app with the CRM as it was.
    await unlockWith(a, PASSPHRASE);
    await waitForText(a, "crm-figures", figures, { timeout: 60_000 });
    assert.equal(await crmCounts(a), counts);
    await waitForText(a, "encryption-state", "This copy is encrypted.");
    await waitForValue("idle minutes", () => a.getByTestId("idle-minutes").inputValue(), "20");

    // Change the passphrase: the current one, the new one twice.
    await a.getByTestId("passphrase-old").fill(PASSPHRASE);
    await a.getByTestId("passphrase-new").fill(NEW_PASSPHRASE);
    await a.getByTestId("passphrase-new-again").fill(NEW_PASSPHRASE);
    await a.getByTestId("passphrase-change").click();
    await waitForNotice(a, /The passphrase was changed\. The data was not encrypted again/, { timeout: 120_000 });

    // A second tab gets the key of the unlocked one.
    const b = await s.context.newPage();
    await b.goto(app.baseUrl);
    await waitForText(b, "crm-figures", figures, { timeout: 60_000 });

    // Locked in one, the other shows the unlock screen.
    await a.getByTestId("lock-now").click();
    await waitForUnlockScreen(a);
    await waitForUnlockScreen(b);
    await shot(s, "locked-by-the-other-tab");

    // The old passphrase no longer opens the copy; the new one does, and the other tab opens too.
    await unlockWith(b, PASSPHRASE);
    await waitForText(b, "unlock-error", "Wrong passphrase; nothing was changed.");
    await unlockWith(b, NEW_PASSPHRASE);
    await waitForText(b, "crm-figures", figures, { timeout: 60_000 });
    await waitForText(a, "crm-figures", figures, { timeout: 60_000 });
    assert.equal(await crmCounts(a), counts);

    // The idle lock: once the idle time has passed since the last input of any tab (here the
    // last input is set back in time), both tabs lock.
    await a.evaluate(() => {
      localStorage.setItem("roundtrip.idle-lock-minutes", "1");
      localStorage.setItem("roundtrip.last-input", String(Date.now() - 5 * 60_000));
    });
    await waitForUnlockScreen(a);
    await waitForUnlockScreen(b);
    await waitForText(a, "notice", /Locked after 1 minute without input|locked/i);
    await b.close();
    assertClean(s);
  }),
);
