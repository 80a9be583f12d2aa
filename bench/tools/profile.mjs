// CPU profile of one client in the page (Chromium's sampling profiler over CDP), to see where its
// per-request or start-up time goes. Not part of the bench run; needs no backend.
//
//   node bench/tools/profile.mjs [client] [happy|startup]    (default: authflight happy)
//
// happy: 500 sequential GETs to the minimal static server; startup: import() + create, 20 fresh module instances.
// Prints self time by function (top 25) and by category; writes results/profiles/<client>-<mode>.cpuprofile
// (open it in Chrome DevTools > Performance). Bundles are built unminified into dist-profile/. The release .wasm has no name section, so wasm
// functions show as their index ("$func123" / "wasm-function[123]").
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStaticServer } from '../lib/static-server.mjs';
import { build, CHROMIUM_ARGS } from '../lib/build.mjs';

const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const client = process.argv[2] || 'authflight';
const mode = process.argv[3] || 'happy';
const PORT = Number(process.env.BENCH_PROFILE_PORT || 8792);

// Unminified bundles (same code as shipped, readable function names) in their own folder.
const DIST = path.join(HERE, 'dist-profile');
await build({ outDir: DIST, minify: false });
const server = await startStaticServer({ port: PORT, mounts: { '/b/': DIST, '/': path.join(HERE, 'page') } });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: false, args: CHROMIUM_ARGS });
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/index.html`);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  let work;
  if (mode === 'startup') {
    // A new module instance each time (query string), so the glue instantiates the wasm again;
    // the bundle and .wasm bytes come from the HTTP cache after the first round.
    work = () => page.evaluate(async (id) => {
      for (let i = 0; i < 20; i++) await window.bench.coldStart(id, `?v=${i}`);
    }, client);
  } else {
    await page.evaluate((id) => window.bench.make(id), client);
    await page.evaluate(() => window.bench.sequential(`/ping?warm=${Math.random()}&i=`, 100));
    work = () => page.evaluate(() => window.bench.sequential(`/ping?t=${Math.random()}&i=`, 500));
  }
  await cdp.send('Profiler.start');
  const t0 = Date.now();
  await work();
  const { profile } = await cdp.send('Profiler.stop');
  const wall = Date.now() - t0;
  fs.mkdirSync(path.join(HERE, 'results/profiles'), { recursive: true });
  const out = path.join(HERE, `results/profiles/${client}-${mode}.cpuprofile`);
  fs.writeFileSync(out, JSON.stringify(profile));

  // Self time per node = samples hitting it × the mean interval.
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map();
  for (const id of profile.samples) hits.set(id, (hits.get(id) || 0) + 1);
  const dt = (profile.endTime - profile.startTime) / 1000 / profile.samples.length; // ms per sample
  const byFn = new Map(), byCat = new Map();
  for (const [id, n] of hits) {
    const f = byId.get(id).callFrame;
    const file = f.url ? path.basename(f.url.split('?')[0]) : '';
    const name = `${f.functionName || '(anonymous)'} ${file}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    byFn.set(name, (byFn.get(name) || 0) + n * dt);
    let cat = 'other JS';
    if (f.url.endsWith('.wasm') || /^(\$|wasm-function)/.test(f.functionName)) cat = 'wasm';
    else if (file === `${client}.js`) cat = `${client}.js (bundle: library JS)`;
    else if (['(program)', '(idle)', '(garbage collector)', '(root)'].includes(f.functionName)) cat = f.functionName;
    else if (!f.url) cat = `native/builtin (${f.functionName || '?'})`;
    byCat.set(cat, (byCat.get(cat) || 0) + n * dt);
  }
  const top = (m, k) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k);
  console.log(`${client} ${mode}: ${profile.samples.length} samples over ${wall} ms wall`);
  console.log('\nself time by category (ms):');
  for (const [k, v] of top(byCat, 30)) console.log(`  ${v.toFixed(1).padStart(8)}  ${k}`);
  console.log('\nself time by function (ms, top 25):');
  for (const [k, v] of top(byFn, 25)) console.log(`  ${v.toFixed(1).padStart(8)}  ${k}`);
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
} finally {
  await browser.close();
  await server.close();
}
