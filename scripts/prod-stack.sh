#!/usr/bin/env bash
# The authflight test backend as production runs it, from nothing: a throwaway PostgreSQL cluster
# (Unix socket only), gunicorn (gthread workers) and nginx terminating TLS with HTTP/2 in front.
#
#   scripts/prod-stack.sh start   (re)start in the background: https://127.0.0.1:$AUTHFLIGHT_PORT
#   scripts/prod-stack.sh stop    stop the background stack on $AUTHFLIGHT_PORT (ok if none)
#   scripts/prod-stack.sh run     run in the foreground; Ctrl-C, or SIGTERM to its process group, stops
#
# Everything lives in one temporary directory (database, certificate, nginx config and temp files),
# deleted on stop. Only nginx listens on a TCP port the browser uses (127.0.0.1:$AUTHFLIGHT_PORT);
# gunicorn listens on 127.0.0.1:$AUTHFLIGHT_INTERNAL_PORT (default: a free port), plain http, for
# test tooling; PostgreSQL on a Unix socket in the temporary directory only. When ready, `run`
# prints one line:
#   prod-stack: ready url=https://127.0.0.1:P internal=http://127.0.0.1:G dir=/tmp/... seconds=S
# `start` writes it as shell variables to tests/server/prod-$PORT.env (AUTHFLIGHT_URL,
# AUTHFLIGHT_INTERNAL_URL) and logs to tests/server/prod-$PORT.log.
#
# Environment: AUTHFLIGHT_* variables of tests/server/README.md, plus AUTHFLIGHT_INTERNAL_PORT,
# AUTHFLIGHT_STACK_DIR (the temporary directory to use; created, and deleted on stop),
# AUTHFLIGHT_GUNICORN_WORKERS (4), AUTHFLIGHT_GUNICORN_THREADS (16), AUTHFLIGHT_START_TIMEOUT (30 s).
# Set by this script for the server: AUTHFLIGHT_PG_HOST/PORT, AUTHFLIGHT_BEHIND_TLS_PROXY=1 and,
# unless set to 0, AUTHFLIGHT_SECURE_COOKIES=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELF="$ROOT/scripts/prod-stack.sh"
SERVER_DIR="$ROOT/tests/server"
PY="$SERVER_DIR/.venv/bin/python"
export AUTHFLIGHT_PORT="${AUTHFLIGHT_PORT:-8443}"
PORT="$AUTHFLIGHT_PORT"
PID_FILE="$SERVER_DIR/prod-$PORT.pid"
LOG_FILE="$SERVER_DIR/prod-$PORT.log"
ENV_FILE="$SERVER_DIR/prod-$PORT.env"
START_TIMEOUT="${AUTHFLIGHT_START_TIMEOUT:-30}"
PG_PORT=5432 # names the socket file in our own directory only: never clashes

say() { echo "prod-stack: $*" >&2; }
die() { say "$*"; exit 1; }

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# PostgreSQL's programs: on PATH, else Debian's versioned directory.
pg_bin() {
  command -v "$1" 2>/dev/null && return
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [[ -x "$dir/$1" ]] || die "$1 not found (PostgreSQL 15: apt-get install -y postgresql)"
  echo "$dir/$1"
}

# Waits for the internal http://127.0.0.1:INTERNAL_PORT/api/health/, then the https one through
# nginx; fails at once when one of the pids given exits.
wait_healthy() {
  "$PY" - "$PORT" "$INTERNAL_PORT" "$START_TIMEOUT" "$@" <<'EOF'
import os, ssl, sys, time, urllib.request
port, internal, timeout, pids = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4:]
ctx = ssl.create_default_context()
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
deadline = time.monotonic() + timeout
for url in (f"http://127.0.0.1:{internal}/api/health/", f"https://127.0.0.1:{port}/api/health/"):
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2, context=ctx) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        for pid in pids:
            os.kill(int(pid), 0)  # gone: raises
        if time.monotonic() > deadline:
            sys.exit(f"no answer from {url} after {timeout:.0f} s")
        time.sleep(0.05)
EOF
}

write_nginx_conf() {
  cat >"$DIR/nginx.conf" <<EOF
# nginx in front of gunicorn, as in production (written by scripts/prod-stack.sh).
daemon off;
worker_processes 1;
pid $DIR/nginx.pid;
error_log stderr warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $DIR/nginx-tmp/body;
  proxy_temp_path $DIR/nginx-tmp/proxy;
  fastcgi_temp_path $DIR/nginx-tmp/fastcgi;
  uwsgi_temp_path $DIR/nginx-tmp/uwsgi;
  scgi_temp_path $DIR/nginx-tmp/scgi;
  default_type application/octet-stream;

  upstream django {
    server 127.0.0.1:$INTERNAL_PORT;
    keepalive 128;             # idle connections kept open to gunicorn
    keepalive_requests 100000;
    keepalive_timeout 60s;     # gunicorn's is 75 s: nginx always closes first
  }

  server {
    listen 127.0.0.1:$PORT ssl http2;
    ssl_certificate $DIR/cert.pem;
    ssl_certificate_key $DIR/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    # nginx's default of 1000 requests per connection (HTTP/2 included) closes the connection under
    # a burst, and Chromium fails requests still in flight on it: a burst of 1000 lost up to 210, with
    # every client (axios too), on a valid session as well. Production needs this raised as well.
    keepalive_requests 100000;
    # The other HTTP/2 limits stay at nginx's defaults: 128 concurrent streams, 75 s idle.
    client_max_body_size 10m;
    large_client_header_buffers 8 32k;

    location / {
      proxy_pass http://django;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host:\$server_port;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Authflight-Via nginx;
      proxy_read_timeout 300s;   # > the longest injected delay (120 s) or hang
      proxy_send_timeout 300s;
      proxy_buffering on;
      # The "drop" fault: gunicorn answers 599 (authflight_server/prod_wsgi.py), nginx closes the
      # client's connection (HTTP/2: resets the stream) without a response.
      proxy_intercept_errors on;
      error_page 599 = @drop;
    }
    location @drop { return 444; }
    # The benchmark's happy path (bench/run.mjs): nginx's own answer, so the figure is the client's
    # overhead over HTTP/2, not Django's.
    location = /ping {
      default_type application/json;
      add_header Cache-Control no-store;
      return 200 '{"ok":true}';
    }
  }
}
EOF
}

# On exit or SIGTERM/SIGINT (they also reach our children when sent to the process group, e.g. by
# `stop`): stop the servers quickly, wait for them, delete the directory.
cleanup() {
  local code=$?
  set +e # a server may be gone already: keep going
  trap '' TERM INT
  trap - EXIT
  [[ -n "${NGINX_PID:-}" ]] && kill -TERM "$NGINX_PID" 2>/dev/null    # fast shutdown
  [[ -n "${GUNICORN_PID:-}" ]] && kill -INT "$GUNICORN_PID" 2>/dev/null # quick shutdown
  [[ -n "${PG_PID:-}" ]] && kill -INT "$PG_PID" 2>/dev/null             # fast shutdown
  wait 2>/dev/null
  [[ -n "${DIR:-}" ]] && rm -rf "$DIR"
  exit "$code"
}

run() {
  bash "$ROOT/scripts/server.sh" venv
  local t0=$EPOCHREALTIME nginx initdb postgres createdb pg_isready
  nginx="$(command -v nginx || true)"
  [[ -n "$nginx" ]] || nginx=/usr/sbin/nginx
  [[ -x "$nginx" ]] || die "nginx not found (apt-get install -y nginx)"
  initdb="$(pg_bin initdb)" postgres="$(pg_bin postgres)"
  createdb="$(pg_bin createdb)" pg_isready="$(pg_bin pg_isready)"
  command -v openssl >/dev/null || die "openssl not found"
  INTERNAL_PORT="${AUTHFLIGHT_INTERNAL_PORT:-$(free_port)}"

  if [[ -n "${AUTHFLIGHT_STACK_DIR:-}" ]]; then
    DIR="$AUTHFLIGHT_STACK_DIR"
    mkdir -p "$DIR"
  else
    DIR="$(mktemp -d "${TMPDIR:-/tmp}/authflight-prod-$PORT.XXXXXX")"
  fi
  trap cleanup EXIT
  trap 'exit 143' TERM
  trap 'exit 130' INT
  chmod 711 "$DIR"
  mkdir -p "$DIR/pg" "$DIR/nginx-tmp"
  local as_pg=()
  if [[ $EUID -eq 0 ]]; then # PostgreSQL refuses to run as root
    chown postgres: "$DIR/pg"
    as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --)
    "${as_pg[@]}" test -w "$DIR/pg" || die "user postgres cannot reach $DIR/pg (a parent directory not searchable by others?)"
  fi

  # PostgreSQL: fresh cluster, no durability (a test database), Unix socket in $DIR/pg only.
  "${as_pg[@]}" "$initdb" -D "$DIR/pg/data" -U app --auth=trust -N -E UTF8 --locale=C \
    >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
  "${as_pg[@]}" "$postgres" -D "$DIR/pg/data" -p "$PG_PORT" -k "$DIR/pg" -c listen_addresses= \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
    -c log_checkpoints=off &
  PG_PID=$!
  until "$pg_isready" -q -h "$DIR/pg" -p "$PG_PORT" -U app -d postgres; do
    kill -0 "$PG_PID" 2>/dev/null || die "postgres exited during start"
    sleep 0.05
  done
  "$createdb" -h "$DIR/pg" -p "$PG_PORT" -U app authflight
  export AUTHFLIGHT_PG_HOST="$DIR/pg" AUTHFLIGHT_PG_PORT="$PG_PORT"
  export AUTHFLIGHT_BEHIND_TLS_PROXY=1 AUTHFLIGHT_SECURE_COOKIES="${AUTHFLIGHT_SECURE_COOKIES:-1}"
  export DJANGO_SETTINGS_MODULE=authflight_server.settings
  (cd "$SERVER_DIR" && "$PY" -c '
import django; django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
call_command("seed_demo")')

  # gunicorn (settings: tests/server/gunicorn.conf.py), plain http on 127.0.0.1 only.
  (cd "$SERVER_DIR" && exec .venv/bin/gunicorn -c gunicorn.conf.py --bind "127.0.0.1:$INTERNAL_PORT") &
  GUNICORN_PID=$!

  # nginx: self-signed certificate for 127.0.0.1, TLS + HTTP/2 on 127.0.0.1:$PORT.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$DIR/key.pem" -out "$DIR/cert.pem" 2>/dev/null
  write_nginx_conf
  "$nginx" -e stderr -p "$DIR" -c "$DIR/nginx.conf" &
  NGINX_PID=$!

  wait_healthy "$PG_PID" "$GUNICORN_PID" "$NGINX_PID" || die "the stack did not become healthy"
  local secs
  secs="$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')"
  echo "prod-stack: ready url=https://127.0.0.1:$PORT internal=http://127.0.0.1:$INTERNAL_PORT dir=$DIR seconds=$secs"
  # Runs until one of the servers exits (an error) or we are signalled (cleanup stops the rest).
  wait -n "$PG_PID" "$GUNICORN_PID" "$NGINX_PID" || true
  say "a server exited; stopping the stack"
  exit 1
}

# Pid from the pid file, only if that process is still our `run`.
our_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -q "prod-stack.sh run" || return 1
  echo "$pid"
}

stop() {
  local pid
  if pid="$(our_pid)"; then
    kill -TERM -- "-$pid" 2>/dev/null || true # its process group (started with setsid)
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "pid $pid did not stop on SIGTERM; sending SIGKILL to its group"
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    say "stopped the stack on port $PORT (pid $pid)"
  fi
  rm -f "$PID_FILE" "$ENV_FILE"
}

start() {
  bash "$ROOT/scripts/server.sh" venv
  stop
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    die "port $PORT is in use by something not started here; refusing to start"
  fi
  nohup setsid bash "$SELF" run >"$LOG_FILE" 2>&1 </dev/null &
  local pid=$! deadline=$((SECONDS + START_TIMEOUT + 10)) line
  echo "$pid" >"$PID_FILE"
  until line="$(grep -m1 '^prod-stack: ready ' "$LOG_FILE")"; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
      say "the stack did not become ready on port $PORT; log tail ($LOG_FILE):"
      tail -n 40 "$LOG_FILE" >&2 || true
      stop
      exit 1
    fi
    sleep 0.1
  done
  local url internal
  url="$(sed -E 's/.* url=([^ ]+).*/\1/' <<<"$line")"
  internal="$(sed -E 's/.* internal=([^ ]+).*/\1/' <<<"$line")"
  printf 'AUTHFLIGHT_URL=%s\nAUTHFLIGHT_INTERNAL_URL=%s\n' "$url" "$internal" >"$ENV_FILE"
  say "${line#prod-stack: } (pid $pid, log $LOG_FILE, env $ENV_FILE)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  run) run ;;
  *)
    echo "usage: $0 start|stop|run" >&2
    exit 2
    ;;
esac
