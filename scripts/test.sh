#!/usr/bin/env bash
# Every test of authflight, from nothing: installs what is missing, then
#   lint (fmt, clippy native + wasm) → native core tests → the Rust API in the browser (wasm-pack,
#   headless Chromium, the real Django server) → release package → the JS API's browser, fuzz and
#   end-to-end tests (node --test, playwright-core, headless Chromium, the real Django server), then
#   Firefox and WebKit (tests/browser.rs, the multi-tab suite; the suite without Web Locks and/or
#   BroadcastChannel: scripts/engines.sh), then the production stack (nginx HTTP/2, gunicorn,
#   PostgreSQL) for bursts, tabs and stalls.
# Ends with one summary line: "N passed, N failed".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export AUTHFLIGHT_PORT="${AUTHFLIGHT_TEST_PORT:-$(free_port)}"
export AUTHFLIGHT_DB="${TMPDIR:-/tmp}/authflight-test-$AUTHFLIGHT_PORT.sqlite3"
LOGS="$ROOT/target/test-logs"
mkdir -p "$LOGS"
step() { echo; echo "== $*"; }

# shellcheck source=scripts/count.sh
source "$ROOT/scripts/count.sh"

step "setup"
scripts/setup.sh

step "lint: rustfmt, clippy (native and wasm32)"
cargo fmt --check
cargo clippy -q --all-targets -- -D warnings
cargo clippy -q --target wasm32-unknown-unknown --all-targets -- -D warnings
cargo clippy -q --target wasm32-unknown-unknown --all-targets --features gloo -- -D warnings

step "core: native cargo test"
cargo test 2>&1 | tee "$LOGS/core.log"
count "$LOGS/core.log"

step "server: Django + Simple JWT on 127.0.0.1:$AUTHFLIGHT_PORT"
rm -f "$AUTHFLIGHT_DB"
AUTHFLIGHT_TEST_ENDPOINTS=1 scripts/server.sh start
trap 'scripts/server.sh stop' EXIT

step "Rust API in the browser: wasm-pack test --headless --chrome"
expected=$(grep -c '^#\[wasm_bindgen_test\]' tests/browser.rs)
AUTHFLIGHT_SERVER="http://127.0.0.1:$AUTHFLIGHT_PORT" bounded 300 wasm-pack test --headless --chrome \
  --chromedriver /usr/bin/chromedriver --mode no-install -- --test browser --features gloo 2>&1 |
  grep -v 'failed to get wasm-pack version' | tee "$LOGS/browser.log" || true
count "$LOGS/browser.log"
ran=$last
if [[ "$ran" -ne "$expected" ]]; then
  echo "browser: $ran of $expected tests passed (a runner that skips tests silently counts as a failure)"
  failed=$((failed + expected - ran))
fi

step "package: release build into pkg/"
scripts/build-pkg.sh

if compgen -G "tests/e2e/*.test.mjs" >/dev/null; then
  step "end-to-end: node --test tests/e2e (playwright-core, real server)"
  bounded 1200 node --test --test-concurrency=1 tests/e2e/*.test.mjs 2>&1 | tee "$LOGS/e2e.log" || true
  count "$LOGS/e2e.log"
  grep -qE '^# (pass|fail) ' "$LOGS/e2e.log" || { echo "e2e: no test summary"; failed=$((failed + 1)); }
fi

step "other engines: tests/browser.rs and the multi-tab suite in Firefox and WebKit, fallbacks (scripts/engines.sh)"
scripts/engines.sh firefox webkit 2>&1 | tee "$LOGS/engines.log" || true
count "$LOGS/engines.log"
grep -qE '^engines.sh: [0-9]+ passed' "$LOGS/engines.log" || { echo "engines: no summary"; failed=$((failed + 1)); }

step "production stack: nginx (TLS, HTTP/2) + gunicorn workers + PostgreSQL (scripts/prod-stack.sh)"
# The server's own checks through nginx, then the suites where topology matters: bursts, tabs and
# reload storms, faults and stalls (one soak run: the dev stack runs three).
prod_port="$(free_port)"
AUTHFLIGHT_PORT="$prod_port" AUTHFLIGHT_TEST_ENDPOINTS=1 scripts/prod-stack.sh start
# shellcheck disable=SC1090
source "tests/server/prod-$prod_port.env"
AUTHFLIGHT_SMOKE_URL="$AUTHFLIGHT_URL" tests/server/.venv/bin/python tests/server/smoke.py 2>&1 | tee "$LOGS/smoke-prod.log" || true
AUTHFLIGHT_PORT="$prod_port" scripts/prod-stack.sh stop
smoke=$(grep -oE '^[0-9]+ passed, [0-9]+ failed' "$LOGS/smoke-prod.log" | tail -n 1)
if [[ -n "$smoke" ]]; then
  passed=$((passed + ${smoke%% passed*}))
  f=${smoke##*, }
  failed=$((failed + ${f%% failed}))
else
  echo "smoke (prod): no summary"
  failed=$((failed + 1))
fi
AUTHFLIGHT_STACK=prod AUTHFLIGHT_SOAK_RUNS=1 bounded 600 node --test --test-concurrency=1 \
  tests/e2e/bursts.test.mjs tests/e2e/tabs.test.mjs tests/e2e/stalls.test.mjs 2>&1 | tee "$LOGS/e2e-prod.log" || true
count "$LOGS/e2e-prod.log"
grep -qE '^# (pass|fail) ' "$LOGS/e2e-prod.log" || { echo "e2e (prod): no test summary"; failed=$((failed + 1)); }

echo
echo "$passed passed, $failed failed"
[[ "$failed" -eq 0 ]]
