#!/usr/bin/env bash
# The browser-engine runs of authflight's tests (issue 12), beside scripts/test.sh's Chromium runs:
#
#   scripts/engines.sh                     firefox webkit (the default list)
#   scripts/engines.sh chromium firefox webkit
#
# For each engine of the list:
#   A. tests/browser.rs (the crate's Rust API) through wasm-pack + wasm-bindgen-test-runner against
#      the real Django server: chromium --chrome/chromedriver, firefox --firefox/geckodriver (headless
#      firefox-esr), webkit --safari with WebKitWebDriver as the "safaridriver" (the runner speaks
#      W3C WebDriver to it; WebKitWebDriver's default browser is MiniBrowser --automation) under Xvfb.
#      The count of passed tests must equal the file's #[wasm_bindgen_test] count.
#   B. tests/e2e/tabs.test.mjs with AUTHFLIGHT_ENGINE=<engine> (it starts its own server).
#   C. tabs.test.mjs again with AUTHFLIGHT_DISABLE=<set> for each set of ENGINES_FALLBACKS (default
#      "locks bc locks,bc") in Chromium, and with the last set in WebKit (and in Firefox with
#      ENGINES_FALLBACK_FIREFOX=1; see below). pages/hooks.js removes the APIs before the page's
#      code runs, in any engine.
# ENGINES_SKIP=A,B,C leaves steps out. The package must be built already (scripts/build-pkg.sh).
#
# Prints cargo's "test result: ..." and node --test's "# pass N" / "# fail N" lines (what
# scripts/test.sh counts), each step's wall time, and a last line "engines.sh: N passed, N failed".
# Exit status 0 only if nothing failed. Needs firefox-esr, geckodriver, webkit2gtk-driver, xvfb
# (scripts/setup.sh installs them).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"

engines=("$@")
[[ ${#engines[@]} -gt 0 ]] || engines=(firefox webkit)
for e in "${engines[@]}"; do
  [[ "$e" =~ ^(chromium|firefox|webkit)$ ]] || { echo "engines.sh: unknown engine '$e' (chromium, firefox, webkit)" >&2; exit 2; }
done
read -r -a fallbacks <<<"${ENGINES_FALLBACKS-locks bc locks,bc}"
skip=",${ENGINES_SKIP:-},"

LOGS="$ROOT/target/test-logs/engines"
mkdir -p "$LOGS"
times=()
t_all=$SECONDS

# shellcheck source=scripts/count.sh
source "$ROOT/scripts/count.sh"
step() { echo; echo "== $*"; }
timed() { times+=("$(printf '%4ss  %s' "$1" "$2")"); }
# Wall-time caps (seconds): a wedged browser or driver fails its step instead of hanging the run.
# A tabs run takes 1-2.5 min and tests/browser.rs under 1 min (README, "Run it").
TABS_LIMIT="${ENGINES_TABS_LIMIT:-480}"
BROWSER_LIMIT="${ENGINES_BROWSER_LIMIT:-300}"

[[ -f pkg/authflight.js ]] || { echo "engines.sh: pkg/ is missing: run scripts/build-pkg.sh first" >&2; exit 1; }
need() { command -v "$1" >/dev/null || [[ -x "$1" ]] || { echo "engines.sh: $1 is missing (scripts/setup.sh installs it)" >&2; exit 1; }; }
for e in "${engines[@]}"; do
  case "$e" in
    chromium) need /usr/bin/chromium; need /usr/bin/chromedriver ;;
    firefox) need /usr/bin/firefox-esr; need geckodriver ;;
    webkit) need /usr/bin/WebKitWebDriver; need Xvfb ;;
  esac
done

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Everything this script starts, stopped on exit by its own pid.
xvfb_pid=""
server_port=""
server_db=""
cleanup() {
  if [[ -n "$server_port" ]]; then AUTHFLIGHT_PORT="$server_port" scripts/server.sh stop >/dev/null 2>&1 || true; fi
  if [[ -n "$xvfb_pid" ]]; then kill "$xvfb_pid" 2>/dev/null || true; fi
  if [[ -n "$server_db" ]]; then rm -f "$server_db"; fi
}
trap cleanup EXIT

# Xvfb on the first free display (the server picks it: -displayfd), for WebKit's MiniBrowser.
start_xvfb() {
  [[ -z "$xvfb_pid" ]] || return 0
  local fifo
  fifo="$(mktemp -u)"
  mkfifo "$fifo"
  Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp 3>"$fifo" >/dev/null 2>"$LOGS/xvfb.log" &
  xvfb_pid=$!
  local n=""
  read -r -t 10 n <"$fifo" || true
  rm -f "$fifo"
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "engines.sh: Xvfb did not start:"; cat "$LOGS/xvfb.log"; exit 1; }
  export DISPLAY=":$n"
  echo "Xvfb on $DISPLAY (pid $xvfb_pid)"
}

# ---- A: tests/browser.rs in each engine, against one server ---------------------------------------
if [[ "$skip" != *,A,* ]]; then
  server_port="$(free_port)"
  server_db="${TMPDIR:-/tmp}/authflight-engines-$server_port.sqlite3"
  rm -f "$server_db"
  step "server for tests/browser.rs: Django on 127.0.0.1:$server_port"
  AUTHFLIGHT_DB="$server_db" AUTHFLIGHT_TEST_ENDPOINTS=1 AUTHFLIGHT_PORT="$server_port" scripts/server.sh start
  expected=$(grep -c '^#\[wasm_bindgen_test\]' tests/browser.rs)
  for e in "${engines[@]}"; do
    case "$e" in
      chromium) flags=(--chrome --chromedriver /usr/bin/chromedriver) ;;
      firefox) flags=(--firefox --geckodriver "$(command -v geckodriver)") ;;
      webkit)
        start_xvfb
        flags=(--safari --safaridriver /usr/bin/WebKitWebDriver)
        ;;
    esac
    step "A. Rust API in $e: wasm-pack test --headless ${flags[*]}"
    t0=$SECONDS
    AUTHFLIGHT_SERVER="http://127.0.0.1:$server_port" bounded "$BROWSER_LIMIT" wasm-pack test --headless "${flags[@]}" --mode no-install \
      -- --test browser --features gloo 2>&1 | grep -v 'failed to get wasm-pack version' | tee "$LOGS/browser-$e.log" || true
    count "$LOGS/browser-$e.log"
    if [[ "$last" -ne "$expected" ]]; then
      missing=$((expected - last))
      ((missing > 0)) || missing=1
      echo "browser ($e): $last of $expected tests passed (a runner that skips tests silently counts as a failure)"
      echo "test result: FAILED. 0 passed; $missing failed; 0 ignored (engines.sh: tests/browser.rs in $e)"
      failed=$((failed + missing))
    fi
    timed $((SECONDS - t0)) "A  tests/browser.rs  $e"
  done
  AUTHFLIGHT_PORT="$server_port" scripts/server.sh stop
  server_port=""
  rm -f "$server_db"
fi

# ---- B and C: the multi-tab suite per engine, and without Web Locks / BroadcastChannel ----------------
tabs() { # engine, disable set ('' for none)
  local e="$1" d="$2" name="tabs-$1${2:+-no-${2/,/-}}" label=B
  [[ -z "$d" ]] || label=C
  [[ "$e" != webkit ]] || start_xvfb
  step "$label. tests/e2e/tabs.test.mjs in $e${d:+ without ${d/,/ and }}"
  local t0=$SECONDS
  AUTHFLIGHT_ENGINE="$e" AUTHFLIGHT_DISABLE="$d" bounded "$TABS_LIMIT" node --test --test-concurrency=1 tests/e2e/tabs.test.mjs 2>&1 |
    tee "$LOGS/$name.log" || true
  count "$LOGS/$name.log"
  if ! grep -qE '^# (pass|fail) ' "$LOGS/$name.log"; then
    echo "# fail 1"
    echo "engines.sh: $name printed no test summary"
    failed=$((failed + 1))
  fi
  timed $((SECONDS - t0)) "$label  tabs.test.mjs  $e${d:+ without $d}"
}

if [[ "$skip" != *,B,* ]]; then
  for e in "${engines[@]}"; do
    tabs "$e" ""
  done
fi
if [[ "$skip" != *,C,* ]]; then
  # Chromium runs every set; WebKit the last (both removed: Safari before 15.4 had neither). Not
  # Firefox: every Firefox since 96 has Web Locks, and without them the marker-cookie claim that
  # stands in for the lock is no mutex there (its content processes can order two concurrent
  # cookie writes differently: README, "Across tabs"). ENGINES_FALLBACK_FIREFOX=1 runs it anyway.
  for d in "${fallbacks[@]}"; do tabs chromium "$d"; done
  last_set="${fallbacks[${#fallbacks[@]}-1]}"
  for e in "${engines[@]}"; do
    case "$e" in
      webkit) tabs webkit "$last_set" ;;
      firefox) [[ "${ENGINES_FALLBACK_FIREFOX:-}" != 1 ]] || tabs firefox "$last_set" ;;
    esac
  done
fi

echo
echo "== wall times"
printf '  %s\n' "${times[@]}"
echo "  total $((SECONDS - t_all))s"
echo
echo "engines.sh: $passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
