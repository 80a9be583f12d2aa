#!/usr/bin/env bash
# Prints the shipped size of pkg/: the .wasm, and the JS glue minified by esbuild as a bundler would; gzip -9.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
wasm=pkg/authflight_bg.wasm
glue_min="$(mktemp)"
node_modules/.bin/esbuild --minify --format=esm --log-level=error pkg/authflight.js >"$glue_min"
w_raw=$(wc -c <"$wasm"); w_gz=$(gzip -9c "$wasm" | wc -c)
g_raw=$(wc -c <"$glue_min"); g_gz=$(gzip -9c "$glue_min" | wc -c)
rm -f "$glue_min"
kb() { awk -v b="$1" 'BEGIN { printf "%.1f KB", b / 1000 }'; }
echo "size: wasm $(kb "$w_raw") raw / $(kb "$w_gz") gz; glue (minified) $(kb "$g_raw") raw / $(kb "$g_gz") gz; total $(kb $((w_gz + g_gz))) gz (budget 15.0 KB)"
