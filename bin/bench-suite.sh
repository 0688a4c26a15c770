#!/usr/bin/env bash
# Measures the suites against the embedded reference implementation (release build, cold start of
# the binary): the whole run (AS, RS and client suites at once), each role's suite alone, and one
# scenario. Usage: bin/bench-suite.sh [runs]
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
echo "whole run: AS, RS and client suites "
for _ in $(seq "$runs"); do time_it "$bin" run --out "$out"; done
for role in as rs client; do
  echo "the $role suite alone "
  for _ in $(seq "$runs"); do time_it "$bin" run --role "$role" --out "$out"; done
done
echo "one scenario, as::ticket::need-info-rotates "
for _ in $(seq "$runs"); do time_it "$bin" run --role as --filter as::ticket::need-info-rotates --out "$out"; done
rm -rf "$out"
