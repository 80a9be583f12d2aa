// Builds the demo app (www/) when its build is missing or older than what it is built from:
// pkg/ (the authflight package, from scripts/build-pkg.sh), www's sources and its lockfile.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './server.mjs';

export const WWW = join(ROOT, 'www');
export const DIST = join(WWW, 'dist');
const PKG = join(ROOT, 'pkg');
const STAMP = join(WWW, 'node_modules', '.authflight-lock'); // same stamp as scripts/demo.sh

function newest(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

function npm(args) {
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd: WWW, stdio: ['ignore', 'inherit', 'inherit'] });
}

/** Makes sure www/dist is a build of the current pkg/ and www sources; returns its path. */
export function ensureWwwBuilt({ force = false, log = (m) => process.stderr.write(`www: ${m}\n`) } = {}) {
  for (const f of ['authflight.js', 'core_bg.wasm']) {
    if (!existsSync(join(PKG, f))) throw new Error(`pkg/${f} is missing: run scripts/build-pkg.sh first`);
  }
  const lock = join(WWW, 'package-lock.json');
  const installed = existsSync(STAMP) && readFileSync(STAMP, 'utf8') === readFileSync(lock, 'utf8');
  let linked = false;
  try {
    linked = realpathSync(join(WWW, 'node_modules', 'authflight')) === realpathSync(PKG);
  } catch {
    /* not installed */
  }
  if (!installed || !linked) {
    log('npm ci (authflight linked to pkg/)');
    npm(['ci', '--install-links=false']);
    copyFileSync(lock, STAMP);
  }
  const inputs = Math.max(
    newest(PKG),
    newest(join(WWW, 'src')),
    newest(join(WWW, 'index.html')),
    newest(join(WWW, 'vite.config.js')),
    newest(lock),
  );
  if (force || newest(join(DIST, 'index.html')) < inputs) {
    log('building www/dist (vite build)');
    npm(['run', 'build', '--silent']);
  }
  return DIST;
}
