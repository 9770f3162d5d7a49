#!/usr/bin/env python3
"""Trunk post-build hook: writes the service worker with the exact file list of the build.

Lists every file of the staged build (TRUNK_STAGING_DIR, or the directory given as the first
argument; default dist), Trunk's hashed names included, except sw.js itself; hashes them into
a build id; and writes <dir>/sw.js from the template pwa/sw.js with that list and id. There
is no hand-kept list: whatever the build puts in dist/ (the page's wasm and loader, styles,
public/, the manifest, a Web Worker's files) is precached, and nothing else.

Run it after scripts/csp.py, which rewrites index.html: the build id covers the final page.
"""
import hashlib
import json
import os
import sys

MARK_OPEN = "/* PRECACHE */"
MARK_CLOSE = "/* /PRECACHE */"

here = os.path.dirname(os.path.abspath(__file__))
staging = os.environ.get("TRUNK_STAGING_DIR") or (sys.argv[1] if len(sys.argv) > 1 else "dist")
template_path = os.path.join(here, "..", "pwa", "sw.js")

files = []
for dirpath, dirnames, filenames in os.walk(staging):
    dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
    for name in filenames:
        if name.startswith("."):
            continue
        rel = os.path.relpath(os.path.join(dirpath, name), staging).replace(os.sep, "/")
        if rel not in ("sw.js", "_headers"):
            files.append(rel)
files.sort()
if "index.html" not in files:
    sys.exit("precache.py: %s has no index.html" % staging)

digest = hashlib.sha256()
total = 0
for rel in files:
    with open(os.path.join(staging, rel), "rb") as f:
        body = f.read()
    total += len(body)
    digest.update(rel.encode("utf-8") + b"\0" + hashlib.sha256(body).digest())
build = digest.hexdigest()[:16]

with open(template_path, encoding="utf-8") as f:
    template = f.read()
start = template.find(MARK_OPEN)
end = template.find(MARK_CLOSE)
if start < 0 or end < start:
    sys.exit("precache.py: the PRECACHE markers are missing from pwa/sw.js")
listing = json.dumps({"build": build, "files": files}, indent=2)
sw = template[: start + len(MARK_OPEN)] + " " + listing + " " + template[end:]
with open(os.path.join(staging, "sw.js"), "w", encoding="utf-8") as f:
    f.write(sw)
print("precache.py: sw.js precaches %d files (%d bytes), build %s" % (len(files), total, build))
