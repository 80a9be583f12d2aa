#!/usr/bin/env bash
# Benchmarks authflight against raw fetch, the Axios interceptor recipe and axios-auth-refresh,
# side by side in one run, in headless Chromium (see bench/README.md). Prints one table and writes
# bench/results/latest.md + .json (BENCH_QUICK=1: a fast smoke run into bench/results/quick.*).
#
#   scripts/bench.sh                   full run (~10 minutes on 2 cores)
#   BENCH_QUICK=1 scripts/bench.sh     smoke run (fewer reps, smaller N)
#   BENCH_SKIP_BUILD=1                 bench the pkg/ that is there instead of rebuilding it
#   BENCH_ONLY=size,cold,happy,burst,multitab,memory   a subset of the figures
#   BENCH_PORT (8790), BENCH_STATIC_PORT (8791), BENCH_DB (/tmp/af-bench.sqlite3)
#
# It starts its own Django backend (tests/server) on BENCH_PORT with its own DB and the test
# endpoints on, and stops it on exit. Exits non-zero only if the bench itself breaks, never on a figure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { echo "bench.sh: $*" >&2; }

PORT="${BENCH_PORT:-8790}"
STATIC_PORT="${BENCH_STATIC_PORT:-8791}"
DB="${BENCH_DB:-/tmp/af-bench.sqlite3}"
if [[ "$PORT" == 8765 || "$STATIC_PORT" == 8765 ]]; then
  say "port 8765 belongs to the test suite's server; pick another BENCH_PORT"
  exit 2
fi
if [[ "$DB" -ef tests/server/db.sqlite3 ]]; then
  say "refusing to use the default test DB; pick another BENCH_DB"
  exit 2
fi

scripts/setup.sh
if [[ "${BENCH_SKIP_BUILD:-}" == 1 ]]; then
  say "BENCH_SKIP_BUILD=1: using pkg/ as it is"
  scripts/size.sh
else
  scripts/build-pkg.sh
fi

# The bench's own npm dependencies (exact versions, package-lock.json); npm ci only when the lock changed.
stamp=bench/node_modules/.bench-lock
if [[ ! -f "$stamp" ]] || ! cmp -s bench/package-lock.json "$stamp"; then
  say "installing bench/ npm dependencies"
  (cd bench && npm ci --no-audit --no-fund --loglevel=error)
  cp bench/package-lock.json "$stamp"
fi

health() { node -e "fetch('http://127.0.0.1:$PORT/api/health/').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; }
if health; then
  say "something already answers on port $PORT; stop it or set BENCH_PORT"
  exit 1
fi

mkdir -p bench/dist
server_log="$(mktemp /tmp/af-bench-server.XXXXXX.log)"
AUTHFLIGHT_PORT="$PORT" AUTHFLIGHT_DB="$DB" AUTHFLIGHT_TEST_ENDPOINTS=1 \
  AUTHFLIGHT_STATIC_DIR="$ROOT/bench/page" AUTHFLIGHT_STATIC_MOUNTS="/b/=$ROOT/bench/dist" \
  scripts/server.sh run >"$server_log" 2>&1 &
server_pid=$!
stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}
trap stop_server EXIT
for _ in $(seq 300); do
  health && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    say "the backend did not start; log:"
    tail -n 40 "$server_log" >&2
    exit 1
  fi
  sleep 0.1
done
health || { say "the backend did not answer /api/health/ in 30 s"; tail -n 40 "$server_log" >&2; exit 1; }
say "backend on http://127.0.0.1:$PORT (pid $server_pid, log $server_log)"

BENCH_DJANGO_URL="http://127.0.0.1:$PORT" BENCH_STATIC_PORT="$STATIC_PORT" node bench/run.mjs
