// Headers for static hosting (issue 11): the build ships `_headers` (the format Netlify and
// Cloudflare Pages read) with the page's CSP plus frame-ancestors 'none', nosniff,
// no-referrer and a restrictive Permissions-Policy; the test server sends the same headers;
// the built index.html's CSP allows nothing from another origin; the page cannot be framed.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import { DIST, startApp } from "./harness.mjs";

let app;
before(async () => {
  app = await startApp();
});
after(async () => {
  await app?.close();
});

test("the build's _headers and the served headers forbid framing, sniffing, referrers and other origins", async () => {
  const file = await readFile(join(DIST, "_headers"), "utf-8");
  assert.match(file, /^\/\*\n/, "_headers applies to every path");
  const res = await fetch(app.baseUrl);
  assert.equal(res.status, 200);
  const csp = res.headers.get("content-security-policy") ?? "";
  assert.match(csp, /frame-ancestors 'none'/);
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /worker-src 'self'/);
  assert.ok(!/https?:|\*/.test(csp), `the CSP names no other origin and no wildcard: ${csp}`);
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  assert.equal(res.headers.get("referrer-policy"), "no-referrer");
  assert.match(res.headers.get("permissions-policy") ?? "", /camera=\(\)/);
  for (const line of file.split("\n").filter((l) => /^\s+\S+:/.test(l))) {
    const [, name, value] = line.match(/^\s+([^:]+):\s*(.*)$/);
    assert.equal(res.headers.get(name.toLowerCase()), value, `${name} is served as _headers says`);
  }
  // The meta CSP of the built page: the same policy, its inline loader pinned by hash.
  const html = await res.text();
  const meta = html.match(/http-equiv="Content-Security-Policy"\s+content="([^"]*)"/)[1];
  assert.ok(!meta.includes("CSP_SCRIPT_HASHES"), "the post-build hook pinned the hashes");
  assert.match(meta, /script-src 'self' 'wasm-unsafe-eval'( 'sha256-[A-Za-z0-9+/=]+')+;/);
  assert.equal(csp, `${meta}; frame-ancestors 'none'`, "header and meta tag carry the same policy");
  // A page of another origin cannot frame the app: Chromium blocks the frame and says why.
  const context = await app.browser.newContext();
  const page = await context.newPage();
  const refused = page.waitForEvent("console", { predicate: (m) => /frame-ancestors/.test(m.text()), timeout: 30_000 });
  await page.setContent(`<iframe src="${app.baseUrl}" width="400" height="300"></iframe>`);
  assert.match((await refused).text(), /violates the following Content Security Policy directive: "frame-ancestors 'none'"/);
  const framed = page.frames().find((f) => f !== page.mainFrame());
  assert.ok(framed && !framed.url().startsWith(app.baseUrl), `the frame holds no page of the app: ${framed?.url()}`);
  const framedText = framed ? await framed.evaluate(() => document.body?.innerText ?? "").catch(() => "") : "";
  assert.ok(!framedText.includes("Roundtrip"), "the app did not render inside a frame");
  await context.close();
});
