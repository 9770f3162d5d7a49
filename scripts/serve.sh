#!/usr/bin/env bash
# Sets up whatever is missing, builds the app and serves it on http://127.0.0.1:8080 with the
# demo CRM loaded on first run. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/setup.sh
trunk build --release
exec node scripts/static-server.mjs dist "${PORT:-8080}" --autoload-demo
