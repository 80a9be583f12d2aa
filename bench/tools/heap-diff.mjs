// Which objects a client holds: heap snapshots (V8 + Blink) diffed by class. Not part of the bench run.
//
//   node bench/tools/heap-diff.mjs [client] [waiting|leak] [N]     (default: authflight waiting 200)
//
// waiting: baseline vs. N requests waiting on one slow refresh (what each waiting request costs);
// leak:    after 2 cycles vs. after 5 cycles of N requests through a refresh (what stays behind).
// Needs the bench backend (test endpoints on, bench/page at /, bench/dist at /b/) at BENCH_DJANGO_URL,
// default http://127.0.0.1:8790 — e.g. start it as scripts/bench.sh does — and dist/ built by a run.
// DevTools' own records (NetworkResourcesData, XHRReplayData, ConsoleMessage) show up too: Playwright
// keeps the Network domain on; they are not the client's.
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../lib/build.mjs';

const D = (process.env.BENCH_DJANGO_URL || 'http://127.0.0.1:8790').replace(/\/$/, '');
if (/:8765\b/.test(D)) throw new Error('refusing to use port 8765 (the test suite\'s server)');
const [client = 'authflight', mode = 'waiting', nArg = '200'] = process.argv.slice(2);
const N = Number(nArg);
const api = async (m, p, b) => {
  const r = await fetch(D + p, { method: m, headers: b ? { 'Content-Type': 'application/json' } : {}, body: b ? JSON.stringify(b) : undefined });
  return r.json();
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: false, args: CHROMIUM_ARGS });
try {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${D}/index.html`);
  const cdp = await page.context().newCDPSession(page);
  await page.evaluate(async (id) => { await window.bench.make(id); await window.bench.login(); }, client);

  const snapshot = async () => {
    await page.evaluate(() => performance.clearResourceTimings());
    await cdp.send('HeapProfiler.collectGarbage');
    const chunks = [];
    const onChunk = (e) => chunks.push(e.chunk);
    cdp.on('HeapProfiler.addHeapSnapshotChunk', onChunk);
    await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    cdp.off('HeapProfiler.addHeapSnapshotChunk', onChunk);
    const snap = JSON.parse(chunks.join(''));
    const f = snap.snapshot.meta.node_fields, types = snap.snapshot.meta.node_types[0], nf = f.length;
    const iType = f.indexOf('type'), iName = f.indexOf('name'), iSize = f.indexOf('self_size');
    const byClass = new Map();
    for (let i = 0; i < snap.nodes.length; i += nf) {
      const key = `${types[snap.nodes[i + iType]]}:${snap.strings[snap.nodes[i + iName]].slice(0, 70)}`;
      const c = byClass.get(key) || [0, 0];
      c[0]++; c[1] += snap.nodes[i + iSize];
      byClass.set(key, c);
    }
    return byClass;
  };
  const cycle = async (delayMs) => {
    await api('POST', '/api/test/expire-access/');
    await api('POST', '/api/test/reset/');
    if (delayMs) await api('POST', '/api/test/fault/', { refresh_delay_ms: delayMs });
    return page.evaluate(([p, n]) => window.bench.burst(p, n), [`/api/ping/?h=${Math.random()}&i=`, N]);
  };

  let a, b;
  if (mode === 'leak') {
    for (let i = 0; i < 2; i++) await cycle(0);
    a = await snapshot();
    for (let i = 0; i < 3; i++) await cycle(0);
    b = await snapshot();
  } else {
    await cycle(0); // warm-up
    a = await snapshot();
    await api('POST', '/api/test/expire-access/');
    await api('POST', '/api/test/reset/');
    await api('POST', '/api/test/fault/', { refresh_delay_ms: 3000 });
    await page.evaluate(([p, n]) => window.bench.fire(p, n), [`/api/ping/?h=${Math.random()}&i=`, N]);
    for (let t = Date.now(); Date.now() - t < 30_000; await sleep(10)) {
      const s = await api('GET', '/api/test/stats/');
      if (s.refresh_in_flight >= 1 && s.protected_401 >= N) break;
    }
    await sleep(100);
    b = await snapshot();
    await page.evaluate(() => window.bench.awaitPending());
  }
  await api('POST', '/api/test/reset/');
  const diff = [];
  for (const [k, v] of b) {
    const o = a.get(k) || [0, 0];
    if (Math.abs(v[1] - o[1]) > 2000 || v[0] - o[0] >= N) diff.push([k, v[0] - o[0], v[1] - o[1]]);
  }
  diff.sort((x, y) => y[2] - x[2]);
  const total = diff.reduce((s, d) => s + d[2], 0);
  console.log(`${client} ${mode} N=${N}: ${total >= 0 ? '+' : ''}${(total / 1000).toFixed(0)} KB in the classes listed (count, bytes, class)`);
  for (const d of diff.slice(0, 30)) console.log(`${String(d[1]).padStart(7)} ${String(d[2]).padStart(9)}  ${d[0]}`);
} finally {
  await browser.close();
}
