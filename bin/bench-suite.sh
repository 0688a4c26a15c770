#!/usr/bin/env bash
# Measures the AS suite against the embedded reference (release build, cold start of the binary):
# the whole suite, and one scenario. Usage: bin/bench-suite.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release -q
bin="$CARGO_TARGET_DIR/release/uma-conformance"
out=$(mktemp -d)
time_it() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || true
  end=$(date +%s%N)
  echo "$(( (end - start) / 1000000 )) ms"
}
echo "whole AS suite "
for _ in $(seq "$runs"); do time_it "$bin" run --out "$out"; done
echo "one scenario, as::ticket::need-info-rotates "
for _ in $(seq "$runs"); do time_it "$bin" run --filter as::ticket::need-info-rotates --out "$out"; done
rm -rf "$out"
