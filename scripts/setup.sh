#!/usr/bin/env bash
# Installs what Roundtrip needs to build, serve and test, and skips what is already there.
#   scripts/setup.sh          toolchain for building and serving (wasm32 target, trunk, wasm-bindgen-cli)
#   scripts/setup.sh --test   also Chromium, ChromeDriver and the npm packages for the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
# Must equal the exact pin of the wasm-bindgen crate in Cargo.toml.
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p; s/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' Cargo.toml | head -n1)
if [ -z "$WASM_BINDGEN_VERSION" ]; then
  echo "setup: could not read the exact wasm-bindgen pin from Cargo.toml" >&2
  exit 1
fi

export PATH="$HOME/.cargo/bin:$PATH"
step() { printf '\n== %s\n' "$*"; }

step "rustfmt and clippy"
if cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1; then
  echo "present"
else
  rustup component add rustfmt clippy
fi

step "wasm32 target"
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "present"
else
  rustup target add wasm32-unknown-unknown
fi

step "trunk $TRUNK_VERSION"
if command -v trunk >/dev/null && trunk --version | grep -q "$TRUNK_VERSION"; then
  echo "present"
else
  cargo install trunk --version "$TRUNK_VERSION" --locked
fi

step "wasm-bindgen-cli $WASM_BINDGEN_VERSION"
if command -v wasm-bindgen >/dev/null && wasm-bindgen --version | grep -q "$WASM_BINDGEN_VERSION" \
   && command -v wasm-bindgen-test-runner >/dev/null; then
  echo "present"
else
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked \
    || cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if [ "${1:-}" = "--test" ]; then
  step "chromium and chromium-driver"
  if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    echo "present"
  else
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium chromium-driver
  fi

  step "npm packages (tests/e2e)"
  # Present when every package of package.json is installed at its pinned version.
  if (cd tests/e2e && node -e '
      const { devDependencies } = require("./package.json");
      for (const [name, version] of Object.entries(devDependencies)) {
        if (require(`./node_modules/${name}/package.json`).version !== version) process.exit(1);
      }' 2>/dev/null); then
    echo "present"
  else
    (cd tests/e2e && npm ci --no-audit --no-fund)
  fi
fi
