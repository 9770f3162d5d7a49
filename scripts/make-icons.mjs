// Renders the app icons (public/icon-192.png, public/icon-512.png, public/icon-maskable-512.png)
// from their SVG sources with Debian's headless Chromium, through the playwright-core package
// the end-to-end tests already install (cd tests/e2e && npm ci). The PNGs are committed, so the
// build needs nothing of this; run it again only when an icon's SVG changes:
//   node scripts/make-icons.mjs
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "tests/e2e/package.json"));
const { chromium } = require("playwright-core");

const ICONS = [
  { svg: "public/icon.svg", png: "public/icon-192.png", size: 192 },
  { svg: "public/icon.svg", png: "public/icon-512.png", size: 512 },
  { svg: "public/icon-maskable.svg", png: "public/icon-maskable-512.png", size: 512 },
];

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
try {
  for (const icon of ICONS) {
    const svg = await readFile(join(root, icon.svg), "utf-8");
    const page = await browser.newPage({ viewport: { width: icon.size, height: icon.size }, deviceScaleFactor: 1 });
    const src = `data:image/svg+xml;base64,${Buffer.from(svg).toString("base64")}`;
    await page.setContent(
      `<html><body style="margin:0;background:transparent"><img src="${src}" width="${icon.size}" height="${icon.size}" style="display:block"></body></html>`,
    );
    await page.locator("img").evaluate((img) => img.decode());
    await page.screenshot({ path: join(root, icon.png), omitBackground: true, clip: { x: 0, y: 0, width: icon.size, height: icon.size } });
    await page.close();
    console.log(`${icon.png}: ${icon.size}×${icon.size} from ${icon.svg}`);
  }
} finally {
  await browser.close();
}
