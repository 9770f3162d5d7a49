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

# The same policy as HTTP headers, in the `_headers` format static hosts read (Netlify,
# Cloudflare Pages); scripts/static-server.mjs sends them too. Only a header can forbid
# framing (frame-ancestors is ignored in a meta tag).
csp = re.search(r'http-equiv="Content-Security-Policy"\s+content="([^"]*)"', html)
if not csp:
    sys.exit("csp.py: no Content-Security-Policy meta tag in index.html")
headers = [
    ("Content-Security-Policy", csp.group(1) + "; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
]
with open(os.path.join(staging, "_headers"), "w", encoding="utf-8") as f:
    f.write("/*\n" + "".join("  %s: %s\n" % h for h in headers))
print("csp.py: _headers written (%d headers)" % len(headers))
