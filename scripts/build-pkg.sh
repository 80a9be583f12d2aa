#!/usr/bin/env bash
# Builds the release npm package into pkg/ (what users install) and prints its shipped size.
# wasm-pack runs with --mode no-install: wasm-opt comes from npm binaryen 132 (node_modules/.bin).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
command -v wasm-opt >/dev/null || { echo "build-pkg: wasm-opt missing; run scripts/setup.sh" >&2; exit 1; }
wasm-pack build --release --target web --mode no-install --out-dir pkg --out-name authflight -- --no-default-features 2>&1 |
  grep -v 'failed to get wasm-pack version' >&2
rm -f pkg/.gitignore
scripts/size.sh
