#!/usr/bin/env bash
# Benchmarks authflight against raw fetch, the Axios interceptor recipe and axios-auth-refresh,
# side by side in one run, in headless Chromium (see bench/README.md), on two stacks: Django's dev
# server over HTTP/1.1, and production's (nginx with TLS and HTTP/2, gunicorn workers, PostgreSQL).
# Writes bench/results/latest-dev.* and latest-prod.* (.md + .json), then prints both side by side
# in one table, bench/results/latest.md (BENCH_QUICK=1: a fast smoke run into bench/results/quick*).
#
#   scripts/bench.sh                   full run (~10 minutes on 2 cores)
#   BENCH_QUICK=1 scripts/bench.sh     smoke run (fewer reps, smaller N)
#   BENCH_SKIP_BUILD=1                 bench the pkg/ that is there instead of rebuilding it
#   BENCH_ONLY=size,cold,happy,burst,multitab,memory   a subset of the figures
#   BENCH_STACKS="dev prod"           the stacks, in order (one of them: no side-by-side table)
#   BENCH_PORT (8790), BENCH_STATIC_PORT (8791), BENCH_DB (/tmp/af-bench.sqlite3), BENCH_PROD_PORT (8794)
#
# It starts its own backends (tests/server) with their own databases and the test endpoints on,
# one stack at a time, and stops them on exit. Exits non-zero only if the bench itself breaks, never on a figure.
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
STACKS="${BENCH_STACKS:-dev prod}"
PROD_PORT="${BENCH_PROD_PORT:-8794}"
server_pid=""
stop_servers() {
  [[ -n "$server_pid" ]] && { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
  server_pid=""
  AUTHFLIGHT_PORT="$PROD_PORT" scripts/prod-stack.sh stop >/dev/null 2>&1 || true
}
trap stop_servers EXIT
results=()
for stack in $STACKS; do
  case "$stack" in
    dev)
      # Django's dev server (threaded, HTTP/1.1, SQLite), as the tests' quick default.
      server_log="$(mktemp /tmp/af-bench-server.XXXXXX.log)"
      AUTHFLIGHT_PORT="$PORT" AUTHFLIGHT_DB="$DB" AUTHFLIGHT_TEST_ENDPOINTS=1 \
        AUTHFLIGHT_STATIC_DIR="$ROOT/bench/page" AUTHFLIGHT_STATIC_MOUNTS="/b/=$ROOT/bench/dist" \
        scripts/server.sh run >"$server_log" 2>&1 &
      server_pid=$!
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
      say "dev stack on http://127.0.0.1:$PORT (pid $server_pid, log $server_log)"
      url="http://127.0.0.1:$PORT"
      api="$url"
      ;;
    prod)
      # nginx (TLS, HTTP/2) + gunicorn workers + PostgreSQL, as production runs it (scripts/prod-stack.sh).
      AUTHFLIGHT_PORT="$PROD_PORT" AUTHFLIGHT_TEST_ENDPOINTS=1 \
        AUTHFLIGHT_STATIC_DIR="$ROOT/bench/page" AUTHFLIGHT_STATIC_MOUNTS="/b/=$ROOT/bench/dist" \
        scripts/prod-stack.sh start
      # shellcheck disable=SC1090
      source "tests/server/prod-$PROD_PORT.env"
      url="$AUTHFLIGHT_URL"
      api="$AUTHFLIGHT_INTERNAL_URL"
      ;;
    *)
      say "unknown stack '$stack' in BENCH_STACKS (dev, prod)"
      exit 2
      ;;
  esac
  BENCH_STACK="$stack" BENCH_DJANGO_URL="$url" BENCH_API_URL="$api" BENCH_STATIC_PORT="$STATIC_PORT" node bench/run.mjs
  stop_servers
  results+=("bench/results/$([[ "${BENCH_QUICK:-}" == 1 ]] && echo quick || echo latest)-$stack.json")
done

# Both stacks side by side: one table, each cell "dev · prod" (bench/results/latest.md).
if ((${#results[@]} == 2)); then
  BENCH_COMBINE="$(IFS=,; echo "${results[*]}")" node bench/run.mjs
fi
