#!/usr/bin/env bash
# The authflight test backend (tests/server, Django + Simple JWT + dj-rest-auth).
#
#   scripts/server.sh venv      venv + pinned deps only (only when requirements.txt changed)
#   scripts/server.sh install   venv, then migrate and seed the SQLite database
#   scripts/server.sh start     install, then (re)start in the background on 127.0.0.1:$AUTHFLIGHT_PORT
#   scripts/server.sh stop      stop the background server on $AUTHFLIGHT_PORT (ok if not running)
#   scripts/server.sh run       install, then run in the foreground (Ctrl-C stops)
#
# AUTHFLIGHT_* variables in the environment are passed to the server; see tests/server/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVER_DIR="$ROOT/tests/server"
VENV="$SERVER_DIR/.venv"
PY="$VENV/bin/python"
export AUTHFLIGHT_PORT="${AUTHFLIGHT_PORT:-8765}"
PORT="$AUTHFLIGHT_PORT"
PID_FILE="$SERVER_DIR/server-$PORT.pid"
LOG_FILE="$SERVER_DIR/server-$PORT.log"
START_TIMEOUT="${AUTHFLIGHT_START_TIMEOUT:-20}"

say() { echo "server.sh: $*" >&2; }

# True when every line of requirements.txt is a NAME==VERSION pin that is installed exactly.
pins_installed() {
  "$PY" - "$SERVER_DIR/requirements.txt" <<'EOF' 2>/dev/null
import re, sys
from importlib.metadata import PackageNotFoundError, version
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if line:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^]]*\])?==(\S+)", line)
        try:
            if not m or version(m.group(1)) != m.group(3):
                sys.exit(1)
        except PackageNotFoundError:
            sys.exit(1)
EOF
}

venv() {
  if [[ ! -x "$PY" ]]; then
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
      rm -rf "$VENV"
      say "could not create $VENV with 'python3 -m venv'."
      say "On Debian/Ubuntu install the venv module first: apt-get install -y python3-venv"
      exit 1
    fi
  fi
  local stamp="$VENV/requirements.stamp" want have=""
  want="$(sha256sum "$SERVER_DIR/requirements.txt" | cut -d' ' -f1)"
  [[ -f "$stamp" ]] && have="$(cat "$stamp")"
  if [[ "$want" != "$have" ]] && pins_installed; then
    echo "$want" >"$stamp" # e.g. another checkout sharing this venv wrote its own stamp
    have="$want"
  fi
  if [[ "$want" != "$have" ]]; then
    say "installing Python requirements into tests/server/.venv"
    "$PY" -m pip install -q --disable-pip-version-check -r "$SERVER_DIR/requirements.txt"
    echo "$want" >"$stamp"
  fi
}

install() {
  venv
  (cd "$SERVER_DIR" && "$PY" manage.py migrate --noinput -v 0 && "$PY" manage.py seed_demo)
}

health() {
  "$PY" - "$PORT" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/health/", timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
EOF
}

# Pid from the pid file, only if that process is still our server.
our_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -q "manage.py serve" || return 1
  echo "$pid"
}

stop() {
  local pid
  if pid="$(our_pid)"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "pid $pid did not stop on SIGTERM; sending SIGKILL"
      kill -9 "$pid" 2>/dev/null || true
    fi
    say "stopped server on port $PORT (pid $pid)"
  fi
  rm -f "$PID_FILE"
}

start() {
  install
  stop
  if health; then
    say "port $PORT already answers /api/health/ but is not ours (no pid file); refusing to start"
    exit 1
  fi
  cd "$SERVER_DIR"
  nohup setsid "$PY" manage.py serve --port "$PORT" >"$LOG_FILE" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$PID_FILE"
  local deadline=$((SECONDS + START_TIMEOUT))
  until health; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
      say "server failed to become healthy on port $PORT; log tail ($LOG_FILE):"
      tail -n 40 "$LOG_FILE" >&2 || true
      kill "$pid" 2>/dev/null || true
      rm -f "$PID_FILE"
      exit 1
    fi
    sleep 0.1
  done
  say "server on http://127.0.0.1:$PORT (pid $pid, log $LOG_FILE)"
}

run() {
  install
  cd "$SERVER_DIR"
  exec "$PY" manage.py serve --port "$PORT"
}

case "${1:-}" in
  venv) venv ;;
  install) install ;;
  start) start ;;
  stop) stop ;;
  run) run ;;
  *)
    echo "usage: $0 venv|install|start|stop|run" >&2
    exit 2
    ;;
esac
