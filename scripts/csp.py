#!/usr/bin/env python3
"""Trunk post-build hook: pins the Content-Security-Policy to the inline loader script.

Trunk writes a small inline <script type="module"> that loads the wasm. The CSP in
index.html allows scripts from 'self' only, plus the SHA-256 hashes this hook computes for
each inline script of the built page (the CSP_SCRIPT_HASHES placeholder). Any other inline
or foreign script stays blocked.
"""
import base64
import hashlib
import os
import re
import sys

staging = os.environ.get("TRUNK_STAGING_DIR") or (sys.argv[1] if len(sys.argv) > 1 else "dist")
path = os.path.join(staging, "index.html")
with open(path, encoding="utf-8") as f:
    html = f.read()

scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, flags=re.S)
hashes = " ".join(
    "'sha256-%s'" % base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii")
    for body in scripts
)
if "CSP_SCRIPT_HASHES" not in html:
    sys.exit("csp.py: the CSP_SCRIPT_HASHES placeholder is missing from index.html")
html = html.replace("CSP_SCRIPT_HASHES", hashes)
with open(path, "w", encoding="utf-8") as f:
    f.write(html)
print("csp.py: %d inline script(s) pinned by hash" % len(scripts))
