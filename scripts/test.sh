#!/usr/bin/env bash
# Sets up whatever is missing, checks the habits (rustfmt, clippy with warnings as errors,
# native and wasm32, and the end-to-end tests' lint against reads right after an action),
# then runs every test tier:
#   1. native cargo tests of the pure core and the in-memory store;
#   2. browser tests (wasm-bindgen-test in headless Chromium) of the IndexedDB store;
#   3. end-to-end tests (Playwright driving headless Chromium against the built app).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/setup.sh --test

echo
echo "== Habits: rustfmt, clippy (native and wasm32) with warnings as errors; no read right after an action in the end-to-end tests"
cargo fmt --check
node tests/e2e/lint-races.mjs
cargo clippy --locked --all-targets -- -D warnings
cargo clippy --locked --target wasm32-unknown-unknown --all-targets -- -D warnings

echo
echo "== Tier 1: native tests (core, in-memory store)"
cargo test --locked

echo
echo "== Tier 2: browser tests (IndexedDB store in headless Chromium)"
export CHROMEDRIVER=/usr/bin/chromedriver
export WASM_BINDGEN_TEST_TIMEOUT=300
cargo test --locked --target wasm32-unknown-unknown --test store_indexeddb

echo
echo "== Tier 3: end-to-end tests (Playwright, headless Chromium, built app)"
trunk build --release
(cd tests/e2e && node --test --test-concurrency=1 --test-reporter=spec ./*.test.mjs)
