#!/usr/bin/env bash
# Installs what authflight's build, tests, demo and benchmarks need, from nothing; skips what is there.
# Rust wasm target, the npm build's pinned nightly (scripts/nightly-toolchain), Debian's Chromium +
# ChromeDriver, wasm-bindgen-cli (the exact version in Cargo.lock), wasm-pack, the npm tooling
# (binaryen 132's wasm-opt, esbuild, playwright-core) and the Django venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
say() { echo "setup: $*" >&2; }

rustup target list --installed | grep -qx wasm32-unknown-unknown || {
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
}

# The npm build's pinned nightly (scripts/nightly-toolchain; scripts/build-pkg.sh uses it with -Zbuild-std,
# hence rust-src). Only the npm package is built with it: crate users and `make test` stay on stable.
nightly="$(tr -d '[:space:]' <scripts/nightly-toolchain)"
if ! rustup toolchain list | grep -q "^$nightly" ||
  ! rustup component list --toolchain "$nightly" --installed 2>/dev/null | grep -qx rust-src ||
  ! rustup target list --toolchain "$nightly" --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "installing Rust $nightly (minimal profile, rust-src, wasm32 target) for the npm build"
  rustup toolchain install "$nightly" --profile minimal --component rust-src --target wasm32-unknown-unknown
fi

apt_need=()
[[ -x /usr/bin/chromium ]] || apt_need+=(chromium)
[[ -x /usr/bin/chromedriver ]] || apt_need+=(chromium-driver)
# The production stack (scripts/prod-stack.sh): nginx terminates TLS and speaks HTTP/2.
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || apt_need+=(nginx)
command -v openssl >/dev/null || apt_need+=(openssl)
# ... gunicorn workers on a throwaway PostgreSQL cluster (initdb/pg_ctl from Debian's postgresql).
command -v initdb >/dev/null || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || apt_need+=(postgresql)
# The other engines: Firefox ESR (geckodriver below) and WebKitGTK's WebDriver + MiniBrowser under Xvfb.
[[ -x /usr/bin/firefox-esr ]] || apt_need+=(firefox-esr)
[[ -x /usr/bin/WebKitWebDriver ]] || apt_need+=(webkit2gtk-driver)
command -v Xvfb >/dev/null || apt_need+=(xvfb)
python3 -c 'import ensurepip, venv' 2>/dev/null || apt_need+=(python3-venv)
if ((${#apt_need[@]})); then
  say "installing Debian packages: ${apt_need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_need[@]}" >/dev/null
fi

wb_version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wb_version" ]]; then
  say "building wasm-bindgen-cli $wb_version (about 4 minutes, once)"
  cargo install -q wasm-bindgen-cli --version "$wb_version" --force
fi
if ! command -v wasm-pack >/dev/null; then
  say "building wasm-pack 0.15.1 (about 5 minutes, once)"
  cargo install -q wasm-pack --version 0.15.1
fi

if ! command -v geckodriver >/dev/null; then
  say "building geckodriver 0.37 (about 2 minutes, once)"
  cargo install -q geckodriver --version 0.37.0
fi

stamp=node_modules/.authflight-lock
if [[ ! -f "$stamp" ]] || ! cmp -s package-lock.json "$stamp"; then
  say "installing npm tooling (binaryen 132, esbuild, playwright-core)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

scripts/server.sh install

# --- fixture apps (tests/fixtures: Vite, Next.js, Vitest, Jest, publint, attw) ----------------------
# One install shared by every fixture app, skipped while node_modules/.lock-stamp equals the lockfile
# (tests/e2e/fixtures.test.mjs checks the same stamp). authflight itself is not in that lockfile: the
# test extracts the packed tarball into node_modules/authflight before each run.
fixtures=tests/fixtures
if [[ -f "$fixtures/package-lock.json" ]] && ! cmp -s "$fixtures/package-lock.json" "$fixtures/node_modules/.lock-stamp"; then
  say "installing the fixture apps' dependencies into $fixtures/node_modules (about 2 minutes, once)"
  (cd "$fixtures" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$fixtures/package-lock.json" "$fixtures/node_modules/.lock-stamp"
fi
