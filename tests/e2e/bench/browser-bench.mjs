// Browser benchmark (not a test: it asserts nothing). Measures, in headless Chromium against
// the built app:
//   1. loading a CRM snapshot workbook into IndexedDB through the CRM data page;
//   2. a whole import of a large file: stage+read+validate, match (with ranking), plan, apply;
// and, while each runs, the longest gap between two 50 ms timer ticks on the page (how long
// the page could not answer a click), and the peak resident memory of the browser.
//
//   node tests/e2e/bench/browser-bench.mjs <dist> <snapshot.xlsx> <import.xlsx>
// Files come from: cargo run --release --example make_demo_snapshot -- 112 snapshot.xlsx
//                  cargo run --release --example bench_import -- 100000 112 import.xlsx
import { execSync } from "node:child_process";
import { chromium } from "playwright-core";
import { startServer } from "../../../scripts/static-server.mjs";

const [dist, snapshot, importFile] = process.argv.slice(2);
const server = await startServer(0, { root: dist, autoload: false });
const base = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
page.on("dialog", (d) => d.accept());
page.on("pageerror", (e) => console.log("page error:", e.message));

let peakRss = 0;
const sampler = setInterval(() => {
  try {
    const kb = execSync("ps -C chromium -o rss=").toString().split("\n").map(Number).filter(Boolean);
    peakRss = Math.max(peakRss, kb.reduce((a, b) => a + b, 0));
  } catch {}
}, 500);

async function startGapProbe() {
  await page.evaluate(() => {
    window.__gap = 0;
    window.__last = performance.now();
    clearInterval(window.__probe);
    window.__probe = setInterval(() => {
      const now = performance.now();
      window.__gap = Math.max(window.__gap, now - window.__last);
      window.__last = now;
    }, 50);
  });
}
const gap = () => page.evaluate(() => Math.round(window.__gap));

async function step(label, action, done) {
  await startGapProbe();
  const t = Date.now();
  await action();
  await done();
  const seconds = ((Date.now() - t) / 1000).toFixed(1);
  console.log(`${label.padEnd(34)} ${seconds.padStart(6)} s   longest unresponsive gap ${await gap()} ms`);
}

await page.goto(base);
await page.getByTestId("nav-data").click();
await step(
  "load snapshot into IndexedDB",
  () => page.getByTestId("snapshot-input").setInputFiles(snapshot),
  () => page.getByTestId("notice").filter({ hasText: "loaded" }).waitFor({ timeout: 600_000 }),
);
console.log("  ", (await page.getByTestId("notice").innerText()).split("\n")[0]);
await page.reload();
await step(
  "reload: read the CRM from IndexedDB",
  async () => {},
  () => page.getByTestId("crm-figures").filter({ hasText: "CRM entries" }).waitFor({ timeout: 600_000 }),
);

await page.getByTestId("nav-import").click();
await step(
  "stage, read and validate",
  () => page.getByTestId("import-file-input").setInputFiles(importFile),
  () => page.getByTestId("import-error-count").waitFor({ timeout: 600_000 }),
);
console.log("   errors", await page.getByTestId("import-error-count").innerText(),
  "warnings", await page.getByTestId("import-warning-count").innerText());
await step(
  "match, group and rank",
  () => page.getByTestId("match-button").click(),
  () => page.locator('[data-testid="plan-button"], [data-testid="plan-summary"]').first().waitFor({ timeout: 600_000 }),
);
console.log("   detected persons", await page.getByTestId("resolve-group").count());
await step(
  "plan (dry run)",
  () => page.getByTestId("plan-button").click(),
  () => page.getByTestId("plan-summary").waitFor({ timeout: 600_000 }),
);
console.log("   plan", (await page.getByTestId("plan-summary").innerText()).replace(/\s+/g, " "));
await step(
  "apply (one transaction)",
  () => page.getByTestId("apply-button").click(),
  () => page.getByTestId("verify-summary").waitFor({ timeout: 600_000 }),
);
console.log(`peak resident memory of the browser: ${(peakRss / 1024).toFixed(0)} MiB`);
clearInterval(sampler);
await browser.close();
server.close();
