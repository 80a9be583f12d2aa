// Bundles each client for the page (esbuild, minified ESM, as an app's bundler would) into dist/,
// next to a copy of pkg/'s .wasm, and measures the shipped size (gzip -9).
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = path.resolve(HERE, '..');
export const DIST = path.join(HERE, 'dist');
/** The package benchmarked: pkg/ as `make pkg` builds it, or BENCH_PKG (e.g. a build made elsewhere). */
export const PKG = path.resolve(process.env.BENCH_PKG || path.join(ROOT, 'pkg'));

/** Points the clients' `../../pkg/…` imports at PKG. */
const pkgPlugin = {
  name: 'bench-pkg',
  setup(b) {
    b.onResolve({ filter: /\/pkg\/[^/]+$/ }, (a) => ({ path: path.join(PKG, path.basename(a.path)) }));
  },
};

export const CLIENTS = [
  { id: 'authflight', label: 'authflight' },
  { id: 'authflight-cap6', label: 'authflight, maxConcurrent 6' },
  { id: 'raw', label: 'raw fetch' },
  { id: 'axios-recipe', label: 'axios interceptor recipe' },
  { id: 'axios-auth-refresh', label: 'axios-auth-refresh' },
];

export const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const gzipSize = (file) => execFileSync('gzip', ['-9c', file], { maxBuffer: 64 << 20 }).length;

/** Builds dist/ (or outDir) from pkg/ and bench/clients; returns the sizes per client id. */
export async function build({ outDir = DIST, minify = true } = {}) {
  fs.mkdirSync(outDir, { recursive: true });
  for (const f of ['core_bg.wasm', 'authflight.js']) {
    if (!fs.existsSync(path.join(PKG, f))) throw new Error(`${PKG}/${f} missing: run scripts/build-pkg.sh`);
  }
  // The glue loads new URL('core_bg.wasm', import.meta.url): the .wasm goes next to the bundle.
  // Bundling + copying snapshots pkg/, so a rebuild of pkg/ during the run cannot mix versions.
  fs.copyFileSync(path.join(PKG, 'core_bg.wasm'), path.join(outDir, 'core_bg.wasm'));
  const sizes = {};
  for (const c of CLIENTS) {
    const outfile = path.join(outDir, `${c.id}.js`);
    const r = await esbuild.build({
      entryPoints: [path.join(HERE, 'clients', `${c.id}.js`)], bundle: true, minify, format: 'esm',
      platform: 'browser', target: 'es2020', outfile, metafile: true, logLevel: 'warning', plugins: [pkgPlugin],
    });
    const inputs = Object.keys(Object.values(r.metafile.outputs)[0].inputs);
    const js = { raw: fs.statSync(outfile).size, gz: gzipSize(outfile) };
    const wasmFile = path.join(outDir, 'core_bg.wasm');
    const wasm = c.id.startsWith('authflight') ? { raw: fs.statSync(wasmFile).size, gz: gzipSize(wasmFile) } : null;
    sizes[c.id] = { js, wasm, totalGz: js.gz + (wasm ? wasm.gz : 0), modules: inputs.length };
  }
  return sizes;
}
