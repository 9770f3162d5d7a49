// Issue 13, item 1 end to end: the installable, offline app.
// (a) After one online load the service worker controls the page and holds exactly the files
//     of the build; with the network off, a reload starts the app from the cache, the demo CRM
//     is there, and a whole import (export, edit, stage, match, resolve, plan, apply, verify,
//     download) runs without one request reaching the network.
// (b) A new build is offered, not forced: with an import open at the plan step, a changed
//     build on the server brings the banner "A new version is ready — reload"; the page, its
//     plan and its state stay as they are until the operator clicks Reload, and only then does
//     the page reload into the new build (whose cache replaces the old one).
// (c) Chromium finds the app installable (CDP Page.getInstallabilityErrors is empty) with a
//     valid manifest whose icons and colours are served as declared; installed (CDP
//     PWA.install) and launched with the network off, the app's window starts from the cache.
// No request leaves the test server's origin in any of them.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import {
  COL,
  DIST,
  assertClean,
  download,
  gotoPage,
  loadDemo,
  number,
  openApp,
  readXlsx,
  shot,
  startApp,
  text,
  uploadFile,
  waitForApp,
  waitForNotice,
  waitForText,
  waitForValue,
  withSession,
} from "./harness.mjs";
import { exportPortfolio } from "./steps.mjs";
import { analyseExport, editWorkbook } from "./fixtures.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const PRECACHE_SCRIPT = resolve(here, "../../scripts/precache.py");

let app;
before(async () => {
  app = await startApp();
});
after(async () => {
  await app?.close();
});


/** The precache list and build id written into <dir>/sw.js by scripts/precache.py. */
async function precacheOf(dir) {
  const sw = await readFile(join(dir, "sw.js"), "utf-8");
  const m = sw.match(/\/\* PRECACHE \*\/([\s\S]*?)\/\* \/PRECACHE \*\//);
  assert.ok(m, "sw.js carries the generated precache list");
  return JSON.parse(m[1]);
}

/** Every file under `dir`, as paths relative to it with forward slashes, sorted. */
async function filesUnder(dir) {
  const out = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out.push(relative(dir, join(e.parentPath ?? e.path, e.name)).split("\\").join("/"));
  }
  return out.sort();
}

/** Waits until an activated service worker controls the page (its precache is complete). */
async function waitForServiceWorker(page) {
  await page.waitForFunction(() => navigator.serviceWorker?.controller?.state === "activated", null, { timeout: 120_000 });
}

/** The Cache Storage of the page's origin: { name: [url, …] }. */
async function cachesOf(page) {
  return page.evaluate(async () => {
    const out = {};
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      out[name] = (await cache.keys()).map((r) => r.url).sort();
    }
    return out;
  });
}

/** Exports the first of the Export page's portfolios that has the rows the edit needs. */
async function exportForEdit(page) {
  for (let i = 0; i < 4; i++) {
    const { buffer, rows, name } = await exportPortfolio(page, i);
    const a = analyseExport(rows);
    const person = a.single.find((p) => p.rows.some((r) => r.cells[COL["Detail Type"]] === "Address"));
    if (a.unlinked[0] && person) {
      const address = person.rows.find((r) => r.cells[COL["Detail Type"]] === "Address");
      return { buffer, rows, name, address, unlinked: a.unlinked[0] };
    }
  }
  throw new Error("no demo portfolio has an unlinked insured and an address to edit");
}

/**
 * Exports a portfolio, changes one address and adds a person who is not in the CRM, stages
 * the file, matches, leaves the new person on "Create new CRM entry" and plans. Returns the
 * export and the edit; the page is left on the plan step.
 */
async function importToPlan(page, fileName) {
  const exp = await exportForEdit(page);
  const NEW_CITY = "Offlineville";
  const NEW_CREF = "CR-E2E-OFFLINE";
  const edited = await editWorkbook(exp.buffer, (ws, x) => {
    x.set(exp.address.sheetRow, "City", NEW_CITY);
    x.append({
      "Case Reference": exp.unlinked.cells[COL["Case Reference"]],
      "Insured Reference": exp.unlinked.cells[COL["Insured Reference"]],
      "First Name": exp.unlinked.cells[COL["First Name"]],
      "Last Name": exp.unlinked.cells[COL["Last Name"]],
      "Client Reference": NEW_CREF,
      "Detail Type": "Email",
      Label: "Home",
      Primary: "Yes",
      Email: "offline.person@example.com",
    });
  });
  await gotoPage(page, "import");
  await uploadFile(page, "import-file-input", fileName, edited);
  await waitForNotice(page, new RegExp(`${fileName.replace(".", "\\.")} is staged as an insured contact details file: \\d+ rows\\.( [^.]+\\.)? Nothing has been applied\\.`));
  await page.getByTestId("import-error-count").waitFor({ timeout: 60_000 });
  assert.equal(await number(page, "import-error-count"), 0, "the edited file has no errors");

  await page.getByTestId("match-button").click();
  await page.getByTestId("resolve-group").first().waitFor({ timeout: 60_000 });
  assert.equal(await page.getByTestId("resolve-group").count(), 1, "one detected person: the new one");
  assert.equal(await page.getByTestId("resolve-select").inputValue(), "new", "the default is Create new CRM entry");
  await page.getByTestId("plan-button").click();
  await page.getByTestId("plan-summary").waitFor({ timeout: 60_000 });
  const plan = {};
  for (const k of ["create", "update", "add", "error"]) plan[k] = await number(page, `plan-${k}`);
  assert.deepEqual(plan, { create: 1, update: 1, add: 1, error: 0 }, "the plan: one entry created, one address updated, one email added");
  return { exp, NEW_CITY, NEW_CREF };
}

test("offline: after one online load the app starts without the network and an import runs to verified", { timeout: 600_000 }, () =>
  withSession(app, "offline", async (s) => {
    const { page, context } = s;
    await openApp(page, app);
    await waitForServiceWorker(page);

    // The service worker holds exactly the files of the build, in one cache named after it.
    const { build, files } = await precacheOf(DIST);
    // _headers is the static host's configuration, not a file the app fetches.
    const built = (await filesUnder(DIST)).filter((f) => f !== "sw.js" && f !== "_headers");
    assert.deepEqual(files, built, "sw.js lists every file of dist/ but itself and _headers, and nothing else");
    const cached = await cachesOf(page);
    assert.deepEqual(Object.keys(cached), [`roundtrip-precache-${build}`], "one cache, named after the build");
    assert.deepEqual(
      cached[`roundtrip-precache-${build}`],
      files.map((f) => new URL(f, app.baseUrl).href).sort(),
      "the cache holds exactly the build's files",
    );

    await loadDemo(page);
    const figures = await waitForText(page, "crm-figures", /^\d+ CRM entries/);
    assert.match(figures, /^\d+ CRM entries/);

    // Network off. Whatever fails from here on tried the network.
    await context.setOffline(true);
    const failed = [];
    page.on("requestfailed", (r) => failed.push(r.url()));
    const probe = await page.evaluate(() => fetch(`not-precached-${Date.now()}`).then((r) => `HTTP ${r.status}`, () => "failed"));
    assert.equal(probe, "failed", "the network is off and a file that is not precached is not served");
    failed.length = 0;

    const response = await page.reload();
    assert.ok(response.fromServiceWorker(), "the page itself came from the service worker");
    await waitForApp(page);
    await waitForText(page, "crm-figures", figures, { message: "the demo CRM is there" });
    assert.equal(await page.getByTestId("update-ready").count(), 0, "no update is offered");
    await shot(s, "offline-start", { fullPage: false });

    // A whole import, offline.
    const { exp, NEW_CITY, NEW_CREF } = await importToPlan(page, "offline-edit.xlsx");
    await page.getByTestId("apply-button").click();
    await page.getByTestId("verify-summary").waitFor({ timeout: 60_000 });
    assert.equal(await number(page, "verify-created"), 1);
    assert.equal(await number(page, "verify-updated"), 1);
    assert.equal(await number(page, "verify-added"), 1);
    assert.equal(await number(page, "verify-errors"), 0);
    await waitForNotice(page, /Import #1 applied: 1 created, 1 updated, 1 added/);
    await shot(s, "offline-verified");

    const updated = await readXlsx(await download(page, page.getByTestId("export-download").filter({ hasText: exp.name })));
    const address = updated.find((r) => r[COL["Public ID"]] === exp.address.cells[COL["Public ID"]]);
    assert.equal(address?.[COL.City], NEW_CITY, "the updated export has the new city");
    assert.equal(updated.filter((r) => r[COL["Client Reference"]] === NEW_CREF).length, 1, "and the new person");

    assert.deepEqual(failed, [], "no request tried the network while offline");
    await waitForText(page, "crm-figures", figures.replace(/^\d+/, (n) => String(Number(n) + 1)), { message: "one CRM entry more" });
    assertClean(s);
  }),
);

test("a new build is offered while an import is open, and applied only when the operator reloads", { timeout: 600_000 }, async () => {
  // A copy of the build that the test can turn into a "next build".
  const root = await mkdtemp(join(tmpdir(), "roundtrip-update-"));
  await cp(DIST, root, { recursive: true });
  const served = await startApp({ root });
  try {
    await withSession(served, "update", async (s) => {
      const { page } = s;
      await openApp(page, served);
      await waitForServiceWorker(page);
      const first = await precacheOf(root);
      await loadDemo(page);
      await importToPlan(page, "update-edit.xlsx");
      const planBefore = await text(page, "plan-summary");
      await page.evaluate(() => {
        window.roundtripE2eMark = "still the same page";
      });

      // Publish the next build: a changed page and the sw.js the build hook writes for it.
      const indexPath = join(root, "index.html");
      const index = await readFile(indexPath, "utf-8");
      await writeFile(indexPath, index.replace('<meta charset="utf-8" />', '<meta charset="utf-8" />\n    <meta name="roundtrip-e2e-build" content="next" />'));
      execFileSync("python3", [PRECACHE_SCRIPT, root], { env: { ...process.env, TRUNK_STAGING_DIR: "" } });
      const next = await precacheOf(root);
      assert.notEqual(next.build, first.build, "the next build has a new build id");

      // The app looks for a new build when its window gets the focus.
      await page.evaluate(() => window.dispatchEvent(new Event("focus")));
      const banner = page.getByTestId("update-ready");
      await banner.waitFor({ timeout: 120_000 });
      assert.match(await banner.textContent(), /A new version is ready — reload/);

      // Offered, not forced: the new service worker is installed and waits (a forced update
      // would activate it and reload the page); the same page, on the same step, still the
      // old build.
      const workers = () =>
        page.evaluate(async () => {
          const r = await navigator.serviceWorker.getRegistration();
          return { waiting: r.waiting?.state ?? null, active: r.active?.state ?? null };
        });
      await waitForValue("the service workers", workers, (w) => w.waiting === "installed", { message: "the new service worker waits" });
      assert.equal(await page.evaluate(() => window.roundtripE2eMark), "still the same page", "nothing reloaded");
      assert.equal(await text(page, "plan-summary"), planBefore, "the import is still at its plan");
      assert.equal(await page.getByTestId("apply-button").isEnabled(), true, "and can still be applied");
      assert.equal(await page.locator('meta[name="roundtrip-e2e-build"]').count(), 0, "the page is still the old build");
      const waiting = await workers();
      assert.deepEqual(waiting, { waiting: "installed", active: "activated" }, "the new service worker waits");
      assert.deepEqual(Object.keys(await cachesOf(page)).sort(), [`roundtrip-precache-${first.build}`, `roundtrip-precache-${next.build}`].sort());
      await shot(s, "update-ready");

      // The operator reloads: the new build takes over and the page reloads into it.
      await Promise.all([page.waitForEvent("framenavigated", { timeout: 60_000 }), page.getByTestId("update-reload").click()]);
      await waitForApp(page);
      await page.locator('meta[name="roundtrip-e2e-build"]').waitFor({ state: "attached", timeout: 30_000 });
      assert.equal(await page.evaluate(() => window.roundtripE2eMark), undefined, "the page reloaded");
      await waitForServiceWorker(page);
      assert.deepEqual(Object.keys(await cachesOf(page)), [`roundtrip-precache-${next.build}`], "the old cache is gone");
      assert.equal(await page.getByTestId("update-ready").count(), 0, "no update is offered any more");
      // The staged file survived the reload.
      await gotoPage(page, "import");
      await page.getByTestId("import-staged").waitFor({ timeout: 30_000 });
      assert.equal(await text(page, "import-staged-name"), "update-edit.xlsx");
      await shot(s, "update-applied");
      assertClean(s);
    });
  } finally {
    await served.close();
    await rm(root, { recursive: true, force: true });
  }
});

/** Width and height of a PNG, from its IHDR chunk. */
function pngSize(buffer) {
  assert.equal(buffer.subarray(1, 4).toString("latin1"), "PNG", "a PNG file");
  return [buffer.readUInt32BE(16), buffer.readUInt32BE(20)];
}

test("installable: a valid manifest, icons as declared, and no installability errors", { timeout: 300_000 }, async () => {
  // Chromium never installs from an off-the-record context ("in-incognito"): a real profile.
  const profileDir = await mkdtemp(join(tmpdir(), "roundtrip-profile-"));
  try {
    await withSession(
      app,
      "install",
      async (s) => {
        const { page } = s;
        await openApp(page, app);
        await waitForServiceWorker(page);
        await loadDemo(page);
        const figures = await waitForText(page, "crm-figures", /^\d+ CRM entries/);

        const manifestResponse = await page.request.get(new URL("manifest.webmanifest", app.baseUrl).href);
        assert.equal(manifestResponse.headers()["content-type"], "application/manifest+json");
        const swResponse = await page.request.get(new URL("sw.js", app.baseUrl).href);
        assert.match(swResponse.headers()["content-type"], /^text\/javascript/);
        assert.equal(swResponse.headers()["cache-control"], "no-cache", "sw.js is revalidated, so a new build is seen");

        const cdp = await page.context().newCDPSession(page);
        const { url, errors, data } = await cdp.send("Page.getAppManifest");
        assert.equal(url, new URL("manifest.webmanifest", app.baseUrl).href);
        assert.deepEqual(errors, [], "the manifest parses without errors");
        const manifest = JSON.parse(data);
        assert.equal(manifest.name, "Roundtrip");
        assert.equal(manifest.display, "standalone");
        assert.equal(manifest.start_url, "./");
        assert.equal(manifest.theme_color, "#1f4e79", "the header's brand colour");
        assert.equal(manifest.background_color, "#f4f6f9", "the page background");
        const themeMeta = await page.locator('meta[name="theme-color"]').getAttribute("content");
        assert.equal(themeMeta, manifest.theme_color);
        for (const icon of manifest.icons) {
          const res = await page.request.get(new URL(icon.src, url).href);
          assert.equal(res.status(), 200, `${icon.src} is served`);
          assert.equal(res.headers()["content-type"], icon.type, `${icon.src} is served as ${icon.type}`);
          if (icon.type === "image/png") {
            const [w, h] = pngSize(await res.body());
            assert.equal(`${w}x${h}`, icon.sizes, `${icon.src} is ${icon.sizes}`);
          }
        }
        assert.ok(manifest.icons.some((i) => i.purpose === "maskable"), "a maskable icon");

        const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
        assert.deepEqual(installabilityErrors, [], "Chromium can install the app");
        await shot(s, "installable");

        // Install it, go offline and launch the installed app: its window starts from the cache.
        const { manifest: parsed } = await cdp.send("Page.getAppManifest");
        assert.equal(parsed.id, app.baseUrl, "the app's id is its start URL");
        await cdp.send("PWA.install", { manifestId: parsed.id });
        await cdp.send("PWA.getOsAppState", { manifestId: parsed.id });
        await s.context.setOffline(true);
        const [launched] = await Promise.all([s.context.waitForEvent("page"), cdp.send("PWA.launch", { manifestId: parsed.id })]);
        launched.on("pageerror", (e) => s.pageErrors.push(String(e)));
        await launched.waitForLoadState();
        assert.equal(launched.url(), app.baseUrl, "the installed app opens at its start URL");
        await waitForApp(launched);
        assert.equal(await launched.evaluate(() => navigator.serviceWorker.controller?.state), "activated", "served by the service worker");
        await waitForText(launched, "crm-figures", figures, { message: "with the local CRM" });
        s.page = launched;
        await shot(s, "installed-offline", { fullPage: false });
        assertClean(s);
      },
      { profileDir },
    );
  } finally {
    await rm(profileDir, { recursive: true, force: true });
  }
});
