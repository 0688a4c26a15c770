#!/usr/bin/env bash
# Runs the reference server's tests against a throw-away PostgreSQL cluster on 127.0.0.1, if
# PostgreSQL's server binaries are installed (Debian: postgresql). Skips, saying so, otherwise.
# Usage: bin/check/postgres.sh [PORT]
set -euo pipefail
cd "$(dirname "$0")/../.."
port="${1:-55432}"
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "postgres check skipped: no PostgreSQL server binaries (apt-get install postgresql to run it)"
  exit 0
fi
run_as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
dir=$(mktemp -d /tmp/uma-pg-ci.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres "$dir"
cleanup() { run_as "$bindir/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
run_as "$bindir/initdb" -D "$dir/data" -U postgres -A trust >/dev/null
# A port another process holds, or a slow start on a loaded machine, gets a second try on the
# next port; a cluster that still does not start shows its log.
started=false
for try in 1 2; do
  if run_as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c max_connections=300 -k $dir" start >/dev/null; then
    started=true
    break
  fi
  echo "postgres check: the cluster did not start on port $port (try $try); its log:" >&2
  tail -n 20 "$dir/server.log" >&2 || true
  run_as "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  port=$((port + 1))
done
$started || { echo "postgres check: could not start a throw-away cluster" >&2; exit 1; }
run_as "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres uma_test
url="postgres://postgres@127.0.0.1:$port/uma_test"
echo "postgres check: $("$bindir/postgres" --version) at $url"
UMA_TEST_DATABASE_URL="$url" UMA_TEST_POSTGRES_URL="$url" cargo test --locked -p uma-reference-server
