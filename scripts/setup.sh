#!/usr/bin/env bash
# Installs what Roundtrip needs to build, serve and test, and skips what is already there.
#   scripts/setup.sh          toolchain for building and serving (wasm32 target, trunk, wasm-bindgen-cli)
#   scripts/setup.sh --test   also Chromium, ChromeDriver and the npm packages for the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."
SETUP_STARTED=$SECONDS

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

# trunk and wasm-bindgen-cli are compiled from source, for minutes each, and their last crates
# and links run on one core: the two are built at the same time, while the other steps run.
# Each logs to its own file, shown if it fails; they are stopped if setup stops early.
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/roundtrip-setup.XXXXXX")
INSTALLS=()
stop_installs() {
  for entry in "${INSTALLS[@]}"; do
    pid=${entry#*:}
    pkill -P "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
  done
}
trap stop_installs EXIT
install_in_background() {
  local name=$1
  shift
  echo "building $name in the background (log: $LOGS/$name.log)"
  "$@" >"$LOGS/$name.log" 2>&1 &
  INSTALLS+=("$name:$!")
}

step "trunk $TRUNK_VERSION"
if command -v trunk >/dev/null && trunk --version | grep -q "$TRUNK_VERSION"; then
  echo "present"
else
  # Only what the project uses: no update check and no TLS (trunk only builds here; the app is
  # served by scripts/static-server.mjs and trunk never downloads a tool).
  install_in_background trunk cargo install trunk --version "$TRUNK_VERSION" --locked --no-default-features
fi

step "wasm-bindgen-cli $WASM_BINDGEN_VERSION"
if command -v wasm-bindgen >/dev/null && wasm-bindgen --version | grep -q "$WASM_BINDGEN_VERSION" \
   && command -v wasm-bindgen-test-runner >/dev/null; then
  echo "present"
else
  # Its lock file does not resolve for every version: then without --locked.
  install_in_background wasm-bindgen-cli sh -c \
    'cargo install wasm-bindgen-cli --version "$1" --locked || cargo install wasm-bindgen-cli --version "$1"' \
    sh "$WASM_BINDGEN_VERSION"
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

if [ ${#INSTALLS[@]} -gt 0 ]; then
  step "waiting for ${#INSTALLS[@]} tool build(s)"
  failed=0
  for entry in "${INSTALLS[@]}"; do
    name=${entry%%:*}
    if wait "${entry#*:}"; then
      echo "$name installed (done $((SECONDS - SETUP_STARTED)) s after setup started)"
    else
      echo "setup: building $name failed; the end of its log ($LOGS/$name.log):" >&2
      tail -n 40 "$LOGS/$name.log" >&2
      failed=1
    fi
  done
  INSTALLS=()
  [ "$failed" -eq 0 ] || exit 1
fi
rm -rf "$LOGS"
