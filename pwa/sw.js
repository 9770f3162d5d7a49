// Roundtrip's service worker: the app works offline once loaded, and a new build waits until
// the operator chooses to reload (src/ui/update.rs shows "A new version is ready — reload").
//
// The template is pwa/sw.js; the Trunk post-build hook scripts/precache.py writes it to the
// root of dist/ with PRECACHE filled in: the build's files (every file in dist/ but sw.js) and
// a build id (a hash of all of them), so a new build is a new sw.js, a new cache, an update.
//
// - install: fetches every file of the build into the cache "roundtrip-precache-<build id>";
//   it does not skip waiting, so a running page keeps its version.
// - activate: deletes older "roundtrip-precache-*" caches and takes control of open pages.
// - fetch: a GET for a precached URL is served from the cache (network only if the entry is
//   missing, and that response is not stored); a navigation to the app ("./" or index.html,
//   any query) gets the cached index.html. Every other request is left to the browser:
//   nothing else is ever cached, and no request goes anywhere the page did not ask for.
// - message "skip-waiting": sent by the page when the operator clicks Reload.

const PRECACHE = /* PRECACHE */ { build: "unbuilt", files: [] } /* /PRECACHE */;
const PREFIX = "roundtrip-precache-";
const CACHE = PREFIX + PRECACHE.build;
const SCOPE = new URL("./", self.location.href);
const INDEX = new URL("index.html", SCOPE).href;
const URLS = new Set(PRECACHE.files.map((f) => new URL(f, SCOPE).href));

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll([...URLS].map((url) => new Request(url, { cache: "reload" })))),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith(PREFIX) && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "skip-waiting") self.skipWaiting();
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== SCOPE.origin) return;
  let key = null;
  if (request.mode === "navigate" && (url.pathname === SCOPE.pathname || url.href.split(/[?#]/)[0] === INDEX)) {
    key = INDEX;
  } else {
    url.hash = "";
    if (URLS.has(url.href)) key = url.href;
  }
  if (key === null || !URLS.has(key)) return;
  event.respondWith(
    caches
      .open(CACHE)
      .then((cache) => cache.match(key))
      .then((cached) => cached || fetch(request)),
  );
});
