#!/usr/bin/env bash
# Builds the release npm package into pkg/ (what users install), then checks its shipped size
# against the budget (scripts/size.sh fails over AUTHFLIGHT_SIZE_BUDGET bytes, default 13500).
#
#   scripts/build-pkg.sh              (or: make pkg)   after scripts/setup.sh
#   AUTHFLIGHT_NIGHTLY=0 scripts/build-pkg.sh          stable Rust without the nightly-only flags (to compare)
#   AUTHFLIGHT_PKG_OUT=/tmp/p/pkg scripts/build-pkg.sh another output directory (builds side by side)
#
# Also packs the tarball a registry install would fetch: target/authflight.tgz (or <out>.tgz).
#
# pkg/: authflight.js + authflight.d.ts (the hand-written entry, copied from src/js/), core.js +
# core.d.ts + core_bg.wasm (wasm-bindgen's output), snippets/ (the JS snippet modules core.js
# imports), package.json, README.md, LICENSE-MIT, LICENSE-APACHE.
#
# Steps (the bytes each saves are measured in the README, "where the bytes go"):
#  1. cargo through wasm-pack: --target web, --mode no-install (nothing is downloaded), --no-opt
#     (step 2 runs wasm-opt itself), the crate --no-default-features (no_std). With the nightly
#     pinned in scripts/nightly-toolchain, for this build only: -Zbuild-std=core,alloc rebuilds core
#     and alloc with the flags in NIGHTLY_RUSTFLAGS below. Crate users build on stable with
#     Cargo.toml's [profile.release]; none of these flags may go to .cargo/config.toml.
#  2. wasm-opt from npm binaryen 132 (never Debian's: it breaks the externref table) with WASM_OPT_FLAGS.
#  3. scripts/minify-names.mjs: short import/export names in the wasm, the glue rewritten to match
#     (it fails loudly if anything in the glue cannot be matched, and link-checks the result).
#  4. wasm-opt --strip-target-features, last: wasm-opt reads the enabled features from that section.
#  5. the entry, its types, README, licenses and package.json.
#  6. scripts/size.sh: the size, and the budget.
# Cargo builds into target/npm (its own flags and toolchain, so it does not evict the stable builds
# of `make test`); the package is assembled in target/pkg-stage and then replaces pkg/ as a whole.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
say() { echo "build-pkg: $*" >&2; }
die() {
  say "$*"
  exit 1
}

NIGHTLY="$(tr -d '[:space:]' <scripts/nightly-toolchain)"
NIGHTLY_RUSTFLAGS=(
  -Zunstable-options -Cpanic=immediate-abort # no panic machinery at all: a panic is one `unreachable`
  -Csymbol-mangling-version=legacy           # shorter closure-shim export names than v0
  -Zlocation-detail=none                     # no file/line/column strings for panics
  -Zfmt-debug=none                           # `{:?}` prints nothing (authflight never shows Debug output)
)
NIGHTLY_CARGO_ARGS=(-Zbuild-std=core,alloc)
# -Oz: optimise for size. --low-memory-unused: Rust never uses the first KB of memory (the stack's
# far end), which lets constant offsets fold into loads and stores. --strip-*: no names or producers.
WASM_OPT_FLAGS=(-Oz --low-memory-unused --strip-debug --strip-producers)

# --- tools ---------------------------------------------------------------------------------------
WASM_OPT="$ROOT/node_modules/.bin/wasm-opt"
[[ -x "$WASM_OPT" ]] || die "$WASM_OPT is missing; run scripts/setup.sh"
"$WASM_OPT" --version | grep -q 'version 132\b' ||
  die "$WASM_OPT is not binaryen 132 ($("$WASM_OPT" --version)); run scripts/setup.sh"
for tool in wasm-pack wasm-bindgen node; do
  command -v "$tool" >/dev/null || die "$tool is missing; run scripts/setup.sh"
done
[[ -f src/js/authflight.js && -f src/js/authflight.d.ts ]] ||
  die "src/js/authflight.js and src/js/authflight.d.ts (the package's entry and its types) are missing"

cargo_args=(--no-default-features)
if [[ "${AUTHFLIGHT_NIGHTLY:-1}" == 0 ]]; then
  say "AUTHFLIGHT_NIGHTLY=0: stable Rust, without the nightly-only flags (not what is released)"
  toolchain=stable
  rustflags=()
else
  toolchain="$NIGHTLY"
  rustup toolchain list | grep -q "^$NIGHTLY" ||
    die "Rust $NIGHTLY (the npm build's pinned nightly) is not installed; run scripts/setup.sh"
  [[ -d "$(rustup run "$NIGHTLY" rustc --print sysroot)/lib/rustlib/src/rust/library" ]] ||
    die "Rust $NIGHTLY lacks rust-src (needed by -Zbuild-std); run scripts/setup.sh"
  rustflags=("${NIGHTLY_RUSTFLAGS[@]}")
  cargo_args+=("${NIGHTLY_CARGO_ARGS[@]}")
fi

OUT="${AUTHFLIGHT_PKG_OUT:-$ROOT/pkg}"
OUT="$(mkdir -p "$(dirname "$OUT")" && cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"

# --- 1. cargo + wasm-bindgen, through wasm-pack ---------------------------------------------------
STAGE="$OUT.stage"
rm -rf "$STAGE"
say "cargo build (Rust $toolchain) and wasm-bindgen"
# RUSTFLAGS reach only the wasm32 artifacts (wasm-pack passes --target), not build scripts or proc macros.
unset CARGO_ENCODED_RUSTFLAGS
RUSTUP_TOOLCHAIN="$toolchain" CARGO_TARGET_DIR="$ROOT/target/npm" RUSTFLAGS="${rustflags[*]}" \
  wasm-pack --log-level warn build --release --target web --mode no-install --no-opt --no-pack --no-gitignore \
  --out-dir "$STAGE" --out-name core -- "${cargo_args[@]}" 2> >(grep -v 'failed to get wasm-pack version' >&2) ||
  die "wasm-pack build failed (above)"
[[ -f "$STAGE/core_bg.wasm" && -f "$STAGE/core.js" ]] || die "wasm-pack did not produce $STAGE/core_bg.wasm and core.js (see above)"

# --- 2. wasm-opt ------------------------------------------------------------------------------------
"$WASM_OPT" "$STAGE/core_bg.wasm" "${WASM_OPT_FLAGS[@]}" -o "$STAGE/core_bg.wasm"

# --- 3. short import/export names -----------------------------------------------------------------
WASM_OPT="$WASM_OPT" node scripts/minify-names.mjs "$STAGE" --out-name core

# --- 4. the target_features section, last ---------------------------------------------------------
"$WASM_OPT" "$STAGE/core_bg.wasm" --strip-target-features -o "$STAGE/core_bg.wasm"

# --- 5. entry, types, licenses, package.json ------------------------------------------------------
rm -f "$STAGE/core_bg.wasm.d.ts" "$STAGE/package.json" "$STAGE/.gitignore" # the wasm's raw exports: not an API
# The glue decodes wasm strings with a TextDecoder made when the module loads; nothing calls it any
# more (no string crosses the boundary), and where TextDecoder is missing (Jest's jsdom) the import
# would throw, so the dead decoder goes.
node -e '
  const fs = require("fs");
  const f = process.argv[1];
  let src = fs.readFileSync(f, "utf8");
  const calls = (src.match(/getStringFromWasm0\(/g) || []).length;
  if (calls === 1) {
    src = src.replace(/function getStringFromWasm0\([\s\S]*?\n}\n/, "");
    src = src.replace(/let cachedTextDecoder = [\s\S]*?\nfunction decodeText\([\s\S]*?\n}\n/, "");
  }
  if (/TextDecoder|decodeText\(|getStringFromWasm0/.test(src)) throw new Error("core.js still decodes strings: check the glue");
  fs.writeFileSync(f, src);
' "$STAGE/core.js"
cp src/js/authflight.js src/js/authflight.d.ts src/js/io.js LICENSE-MIT LICENSE-APACHE "$STAGE/"
# The package's README is the repository's, for users: everything before "## Run it" (building and
# testing this repository is not for npm users), without the demo's screenshot (a repository file).
node -e '
  const fs = require("fs");
  const [src, out] = process.argv.slice(1);
  const text = fs.readFileSync(src, "utf8");
  const cut = text.indexOf("\n## Run it\n");
  if (cut < 0) throw new Error("README.md has no \"## Run it\" section to end the package README at");
  fs.writeFileSync(out, text.slice(0, cut).replace(/^!\[[^\]]*\]\(docs\/[^)]*\)\n\n?/m, "").trimEnd() + "\n");
' README.md "$STAGE/README.md"
# The subpath modules (`authflight/react`, `authflight/axios`), with their types.
for m in react axios; do
  if [[ -f "src/js/$m.js" ]]; then cp "src/js/$m.js" "src/js/$m.d.ts" "$STAGE/"; fi
done
# wasm-bindgen copies the Rust API's snippet (src/js/io.js) even when the npm exports never import it;
# the entry imports its own copy (./io.js), so an unused snippets/ directory is dropped.
if [[ -d "$STAGE/snippets" ]] && ! grep -q "snippets/" "$STAGE/core.js"; then rm -rf "$STAGE/snippets"; fi
cargo metadata --no-deps --format-version 1 --manifest-path Cargo.toml | node -e '
  const fs = require("fs");
  const [dir] = process.argv.slice(1);
  const meta = JSON.parse(fs.readFileSync(0, "utf8")).packages.find((p) => p.name === "authflight");
  const repo = meta.repository.replace(/\/+$/, "").replace(/\.git$/, "");
  const files = ["authflight.js", "authflight.d.ts", "io.js", "core.js", "core.d.ts", "core_bg.wasm", "LICENSE-MIT", "LICENSE-APACHE"];
  for (const f of files) if (!fs.existsSync(`${dir}/${f}`)) throw new Error(`package file ${f} is missing`);
  if (fs.existsSync(`${dir}/snippets`)) files.push("snippets/");
  // One entry everywhere: under Node (and test runners) its init() reads the wasm from disk itself.
  const exports = { ".": { types: "./authflight.d.ts", default: "./authflight.js" } };
  for (const m of ["react", "axios"]) {
    if (!fs.existsSync(`${dir}/${m}.js`)) continue;
    files.push(`${m}.js`, `${m}.d.ts`);
    exports[`./${m}`] = { types: `./${m}.d.ts`, default: `./${m}.js` };
  }
  exports["./core_bg.wasm"] = "./core_bg.wasm";
  exports["./package.json"] = "./package.json";
  const pkg = {
    name: meta.name,
    version: meta.version,
    description: meta.description,
    license: meta.license,
    repository: { type: "git", url: `git+${repo}.git` },
    homepage: `${repo}#readme`,
    bugs: { url: `${repo}/issues` },
    keywords: meta.keywords,
    type: "module",
    main: "authflight.js",
    module: "authflight.js",
    types: "authflight.d.ts",
    exports,
    // Only for the subpath modules that use them (authflight/react, the types of authflight/axios).
    peerDependencies: { react: ">=18", axios: ">=1" },
    peerDependenciesMeta: { react: { optional: true }, axios: { optional: true } },
    // Importing a module of the package only declares things.
    sideEffects: false,
    files,
  };
  fs.writeFileSync(`${dir}/package.json`, JSON.stringify(pkg, null, 2) + "\n");
' "$STAGE"

rm -rf "$OUT.old"
[[ -e "$OUT" ]] && mv "$OUT" "$OUT.old"
mv "$STAGE" "$OUT"
rm -rf "$OUT.old"
say "$OUT is ready"

# --- 5b. the tarball a registry install would fetch (`npm install <it>` in an app) ----------------
if [[ "$OUT" == "$ROOT/pkg" ]]; then TARBALL="$ROOT/target/authflight.tgz"; else TARBALL="$OUT.tgz"; fi
packed="$(cd "$OUT" && npm pack --silent --pack-destination "$(dirname "$TARBALL")" 2>/dev/null | tail -1)"
[[ -n "$packed" && -f "$(dirname "$TARBALL")/$packed" ]] || die "npm pack failed"
mv -f "$(dirname "$TARBALL")/$packed" "$TARBALL"
say "tarball: $TARBALL (npm install $TARBALL)"

# --- 6. size and budget ---------------------------------------------------------------------------
AUTHFLIGHT_PKG_OUT="$OUT" scripts/size.sh || die "$OUT was built, but is over the size budget (above)"
