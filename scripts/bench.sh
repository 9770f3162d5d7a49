#!/usr/bin/env bash
# Benchmarks — not tests: they print figures and decide nothing.
#
# The native part: builds the benchmark, writes the fixtures into a folder (the CRM snapshot of
# the demo at scale 112 — about 100,000 entries — and the edited Insured CRM Export files of
# 100,000 and, with --million, 1,000,000 rows) and prints one table per import file: each
# step's time, CPU time, memory live after it and peak while it ran (counted by the
# allocator), then the export with its base sheet and the snapshot written and read.
#
#   scripts/bench.sh [--million] [--tsv] [FIXTURES_DIR]     (default folder: target/bench)
#
# --tsv prints tab-separated rows (step, seconds, cpu_seconds, live_mib, peak_mib, note) for a
# caller that merges them with the browser's figures (tests/e2e/bench/browser-bench.mjs reads
# the same fixtures).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

million=0
format=()
dir=target/bench
for arg in "$@"; do
  case "$arg" in
    --million) million=1 ;;
    --tsv) format=(--tsv) ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) dir="$arg" ;;
  esac
done
mkdir -p "$dir"

cargo build --release --example bench_import >&2
bench=target/release/examples/bench_import

echo "== 100,000-row import against the demo CRM at scale 112 (fixtures in $dir)"
"$bench" 100000 112 --fixtures "$dir" "${format[@]}"

if [ "$million" = 1 ]; then
  echo
  echo "== 1,000,000-row import against the demo CRM at scale 112"
  "$bench" 1000000 112 --fixtures "$dir" --no-export --no-snapshot "${format[@]}"
fi
