#!/usr/bin/env bash
# The authflight demo in one command: builds the package and the React app in www/, then serves
# both from the Django test backend on http://127.0.0.1:${AUTHFLIGHT_PORT:-8000}/ until Ctrl-C (when
# 8000 is taken and AUTHFLIGHT_PORT is not set, the next free port; the URL is printed).
#
#   scripts/demo.sh            (or: make demo)      from any directory
#
# Steps: scripts/setup.sh (toolchain, idempotent); scripts/build-pkg.sh unless pkg/ is newer than
# src/; `npm ci` in www/ only when www/package-lock.json changed (stamp:
# www/node_modules/.authflight-lock); vite build into www/dist unless it is newer than pkg/ and
# www's sources (AUTHFLIGHT_REBUILD=1 forces both builds); then the server in the foreground with
# the test endpoints on and short-lived access tokens (AUTHFLIGHT_ACCESS_SECONDS, default 30).
# Its database is www/.demo.sqlite3 (AUTHFLIGHT_DB to override), never the tests' default one.
#
# `authflight` is a `file:../pkg` dependency that npm installs as a symlink to pkg/, so the build
# always bundles the pkg/ just built; the script reinstalls if the link is missing or points elsewhere.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { echo "demo: $*" >&2; }

# Whether nothing listens on 127.0.0.1:$1 (binding it is the one reliable test).
free() {
  python3 -c 'import socket, sys; socket.socket().bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}
PORT="${AUTHFLIGHT_PORT:-8000}"
if ! free "$PORT"; then
  if [[ -n "${AUTHFLIGHT_PORT:-}" ]]; then
    say "port $PORT is taken; pick another: AUTHFLIGHT_PORT=$((PORT + 1)) $0"
    exit 1
  fi
  # 8000 is every Django developer's own dev server: take the next free port instead.
  for p in $(seq 8001 8099); do
    if free "$p"; then
      say "port 8000 is taken (your own dev server?); using $p"
      PORT=$p
      break
    fi
  done
  free "$PORT" || { say "ports 8000-8099 are all taken; set AUTHFLIGHT_PORT"; exit 1; }
fi
URL="http://127.0.0.1:$PORT"
healthy() {
  python3 - "$URL/api/health/" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=1) as r:
    sys.exit(0 if r.status == 200 else 1)
EOF
}

# Is $1 missing or older than any of the other paths (files, or files under directories)?
stale() {
  local out="$1"
  shift
  [[ ! -e "$out" ]] || [[ -n "$(find "$@" -newer "$out" -print -quit 2>/dev/null)" ]]
}

scripts/setup.sh
if [[ -n "${AUTHFLIGHT_REBUILD:-}" ]] || stale pkg/core_bg.wasm src Cargo.toml Cargo.lock scripts/build-pkg.sh; then
  say "building the package (pkg/)"
  scripts/build-pkg.sh
else
  say "pkg/ is newer than src/ (AUTHFLIGHT_REBUILD=1 to rebuild anyway)"
fi

cd "$ROOT/www"
stamp=node_modules/.authflight-lock
if [[ ! -f "$stamp" ]] || ! cmp -s package-lock.json "$stamp" ||
  [[ "$(readlink -f node_modules/authflight 2>/dev/null)" != "$(readlink -f "$ROOT/pkg")" ]]; then
  say "installing www/ dependencies (npm ci)"
  npm ci --install-links=false --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
if [[ -n "${AUTHFLIGHT_REBUILD:-}" ]] || stale dist/index.html ../pkg src index.html vite.config.js package-lock.json; then
  say "building www/dist"
  npm run build --silent -- --logLevel warn
fi
cd "$ROOT"

export AUTHFLIGHT_PORT="$PORT"
export AUTHFLIGHT_TEST_ENDPOINTS=1
export AUTHFLIGHT_STATIC_DIR="$ROOT/www/dist"
export AUTHFLIGHT_ACCESS_SECONDS="${AUTHFLIGHT_ACCESS_SECONDS:-30}"
export AUTHFLIGHT_DB="${AUTHFLIGHT_DB:-$ROOT/www/.demo.sqlite3}"

# The server runs as a child so this script can print the URL once it answers. Ctrl-C reaches
# both (one process group): the server stops itself and the script waits for it. A TERM to the
# script is passed on. Either way the server gets TERM if it is still up 3 s later.
scripts/server.sh run &
server=$!
stop() {
  trap - INT TERM
  echo >&2
  say "stopping the server"
  if [[ "$1" == TERM ]]; then kill -TERM "$server" 2>/dev/null || true; fi
  for _ in $(seq 30); do
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  exit 0
}
trap 'stop INT' INT
trap 'stop TERM' TERM

deadline=$((SECONDS + 60))
until healthy; do
  if ! kill -0 "$server" 2>/dev/null; then
    wait "$server" || true
    say "the server exited before it answered on $URL"
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    say "no answer on $URL after 60 s"
    stop TERM
  fi
  sleep 0.2
done

cat >&2 <<EOF

  authflight demo  ->  $URL/

  Sign in as  demo / demo-password-123  (pre-filled), then expire the access token and fire
  a burst: one refresh, every request replayed. Access tokens live ${AUTHFLIGHT_ACCESS_SECONDS} s.
  Ctrl-C stops the server.

EOF
set +e
wait "$server" # returns early on Ctrl-C or TERM, then the trap runs stop()
exit $?
