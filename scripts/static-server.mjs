// Serves the built app (dist/) on 127.0.0.1 with the right MIME types and no HTTP caching: the
// service worker (sw.js) keeps the app for offline use, and sw.js itself is sent with
// `cache-control: no-cache` so the browser always sees a new build.
//   node scripts/static-server.mjs <dir> <port> [--autoload-demo]
// With --autoload-demo the page loads the demo CRM on first run (empty browser storage).
// Only loopback is bound; nothing else is served or contacted.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";

const [dir = "dist", portText = "8080", ...flags] = process.argv.slice(2);
const root = resolve(dir);
const autoload = flags.includes("--autoload-demo");
const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".png": "image/png",
  ".webmanifest": "application/manifest+json",
};

/** The headers of `<root>/_headers` (the static-host format scripts/csp.py writes), for every path. */
async function hostHeaders(dir) {
  const text = await readFile(join(dir, "_headers"), "utf-8").catch(() => "");
  const headers = {};
  for (const line of text.split("\n")) {
    const m = line.match(/^\s+([A-Za-z-]+):\s*(.*)$/);
    if (m) headers[m[1].toLowerCase()] = m[2];
  }
  return headers;
}

export function startServer(port, options = {}) {
  const served = hostHeaders(options.root ?? root);
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, "http://127.0.0.1");
      let path = normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, "");
      if (path === "" || path.endsWith("/")) path += "index.html";
      const file = join(options.root ?? root, path);
      if (!file.startsWith(options.root ?? root)) {
        res.writeHead(403).end();
        return;
      }
      const info = await stat(file).catch(() => null);
      if (!info || !info.isFile()) {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found");
        return;
      }
      let body = await readFile(file);
      if ((options.autoload ?? autoload) && path === "index.html") {
        body = Buffer.from(
          body.toString("utf-8").replace(
            'name="roundtrip-autoload-demo" content="false"',
            'name="roundtrip-autoload-demo" content="true"',
          ),
        );
      }
      res.writeHead(200, {
        ...(await served),
        "content-type": types[extname(file)] ?? "application/octet-stream",
        "cache-control": path === "sw.js" ? "no-cache" : "no-store",
        "x-content-type-options": "nosniff",
      });
      res.end(body);
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" }).end(String(e));
    }
  });
  return new Promise((ok) => server.listen(port, "127.0.0.1", () => ok(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startServer(Number(portText));
  const { port } = server.address();
  console.log(`Roundtrip is served at http://127.0.0.1:${port}/${autoload ? " (demo CRM loads on first run)" : ""}`);
}
