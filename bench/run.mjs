// authflight benchmarks: every client measured side by side in one run, in headless Chromium.
// Usually started by scripts/bench.sh (which builds pkg/ and starts the Django backend);
// see bench/README.md. Prints one table and writes results/latest.md + results/latest.json.
//
// Env: BENCH_QUICK=1 (smoke run), BENCH_DJANGO_URL (default http://127.0.0.1:8790: the backend the
//      page talks to; an https URL is the production stack, whose page is served by it too and whose
//      /ping is nginx's own), BENCH_API_URL (the same backend's test hooks, for Node; default the
//      same URL), BENCH_STACK (a label: dev or prod), BENCH_COMBINE=a.json,b.json (no run: print the
//      two results side by side, each cell "HTTP/1.1 · HTTP/2"),
//      BENCH_STATIC_PORT (default 8791), BENCH_ONLY=size,cold,happy,burst,multitab,memory (subset),
//      BENCH_OUT (default results/latest; BENCH_QUICK defaults to results/quick).
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStaticServer } from './lib/static-server.mjs';
import { build, CLIENTS, CHROMIUM_ARGS } from './lib/build.mjs';
import { summary, fmt, fmtSummary, fmtCounts, kb } from './lib/stats.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const DIST = path.join(HERE, 'dist');
const QUICK = process.env.BENCH_QUICK === '1';
const DJANGO = (process.env.BENCH_DJANGO_URL || 'http://127.0.0.1:8790').replace(/\/$/, '');
const STATIC_PORT = Number(process.env.BENCH_STATIC_PORT || 8791);
const ONLY = new Set((process.env.BENCH_ONLY || 'size,cold,happy,burst,multitab,memory').split(',').map((s) => s.trim()));
const STACK = process.env.BENCH_STACK || 'dev';
const API = (process.env.BENCH_API_URL || DJANGO).replace(/\/$/, '');
const TLS = DJANGO.startsWith('https:');
const OUT = path.resolve(HERE, process.env.BENCH_OUT || `${QUICK ? 'results/quick' : 'results/latest'}-${STACK}`);

if (/:(8765)\b/.test(DJANGO)) throw new Error('refusing to use port 8765 (another engineer\'s test server)');

const CFG = QUICK
  ? { coldReps: 3, happyReps: 1, happyN: 200, happyBatch: 100, burstReps: 1, burstNs: [1, 10, 100], oneTripReps: 3,
      tabs: 4, tabN: 20, tabReps: 1, memN: 200, memCycles: Number(process.env.BENCH_MEM_CYCLES || 2), refreshDelayMs: 1000 }
  : { coldReps: 8, happyReps: 3, happyN: 1000, happyBatch: 100, burstReps: 5, burstNs: [1, 10, 100, 1000], oneTripReps: 5,
      tabs: 4, tabN: 100, tabReps: 3, memN: 1000, memCycles: Number(process.env.BENCH_MEM_CYCLES || 2), refreshDelayMs: 1000 };
// Fewer repetitions of the slowest cell (N = 1000 is ~3000 requests per client against Django).
const HAPPY_BLOCK = 100; // requests per interleaved block (= one concurrent batch)
const burstRepsFor = (n) => (n >= 1000 ? Math.min(CFG.burstReps, 3) : CFG.burstReps);

const REFRESHING = CLIENTS.filter((c) => c.id !== 'raw');

const TARGETS = {
  sizeKb: 15, coldMs: 5, overheadPct: 5, burstRatio: 1.15, refreshes: 1, reused: 0,
};

const log = (...a) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Client order rotated per repetition so drift (thermal, other load) spreads over all of them. */
const rotate = (arr, k) => arr.map((_, i) => arr[(i + k) % arr.length]);
let trialSeq = 0;
const trialId = () => `${process.pid}-${++trialSeq}`;

// ---------------------------------------------------------------- the Django backend's test hooks

async function api(method, p, body) {
  const res = await fetch(API + p, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p} -> ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : null;
}
const stats = () => api('GET', '/api/test/stats/');
const reset = () => api('POST', '/api/test/reset/');
const expireAccess = () => api('POST', '/api/test/expire-access/');

// ---------------------------------------------------------------- browser helpers

async function launch() {
  // The production stack's certificate is self-signed: trusted by this test browser only.
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: false, args: [...CHROMIUM_ARGS, ...(TLS ? ['--ignore-certificate-errors'] : [])] });
}

async function openPage(context, origin) {
  const page = await context.newPage();
  page.on('pageerror', (e) => log('page error:', e.message));
  await page.goto(`${origin}/index.html`);
  await page.waitForFunction(() => !!window.bench);
  return page;
}

async function cdpFor(page) {
  const cdp = await page.context().newCDPSession(page);
  let enabled = false;
  return {
    gc: async () => { await cdp.send('HeapProfiler.collectGarbage'); await cdp.send('HeapProfiler.collectGarbage'); },
    heap: async () => (await cdp.send('Runtime.getHeapUsage')).usedSize,
    /**
     * Bytes in a heap snapshot (V8 + Blink objects), less DevTools' own per-request bookkeeping
     * (kept because Playwright enables the Network/Runtime domains: resource data, XHR replay
     * data, console messages for failed loads), which would otherwise grow with every request.
     */
    snapshot: async () => {
      const chunks = [];
      const onChunk = (e) => chunks.push(e.chunk);
      cdp.on('HeapProfiler.addHeapSnapshotChunk', onChunk);
      await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
      cdp.off('HeapProfiler.addHeapSnapshotChunk', onChunk);
      const snap = JSON.parse(chunks.join(''));
      const f = snap.snapshot.meta.node_fields, nf = f.length;
      const iName = f.indexOf('name'), iSize = f.indexOf('self_size'), iType = f.indexOf('type');
      const nativeType = snap.snapshot.meta.node_types[0].indexOf('native');
      let total = 0, devtools = 0;
      for (let i = 0; i < snap.nodes.length; i += nf) {
        const size = snap.nodes[i + iSize];
        total += size;
        if (snap.nodes[i + iType] === nativeType && DEVTOOLS_NATIVE.test(snap.strings[snap.nodes[i + iName]])) devtools += size;
      }
      return { total, devtools, counted: total - devtools };
    },
    /** CPU seconds of the renderer's main thread and of the whole renderer process (Performance domain). */
    cpu: async () => {
      if (!enabled) { await cdp.send('Performance.enable'); enabled = true; }
      const m = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((x) => [x.name, x.value]));
      return { thread: m.ThreadTime, process: m.ProcessTime };
    },
    detach: () => cdp.detach(),
  };
}

const ev = (page, fn, ...args) => page.evaluate(fn, args);
// Left out of the heap figure: DevTools' per-request bookkeeping (see cdpFor().snapshot) and ArrayBuffer
// backing stores (the wasm linear memory is one; it is reported on its own, and a grown memory leaves
// a detached buffer around until the glue next looks at it).
const DEVTOOLS_NATIVE = /^(blink::(NetworkResourcesData|XHRReplayData|ConsoleMessage|SourceLocation|Inspector)|system \/ JSArrayBufferData)/;

// ---------------------------------------------------------------- figure 2: cold start

async function benchCold(browser, staticUrl) {
  // cold: a fresh browser context (empty HTTP cache, no module map), first page load;
  // cached: a second page in the same context (bundle and .wasm come from the HTTP cache).
  const out = Object.fromEntries(CLIENTS.map((c) => [c.id, { cold: [], cached: [] }]));
  for (let rep = 0; rep < CFG.coldReps; rep++) {
    for (const c of rotate(CLIENTS, rep)) {
      const context = await browser.newContext();
      for (const kind of ['cold', 'cached']) {
        const page = await openPage(context, staticUrl);
        await sleep(30);
        const r = await ev(page, ([id]) => window.bench.coldStart(id), c.id);
        const check = await ev(page, ([u]) => window.bench.current.get(u), `/ping?cold=${trialId()}`);
        if (check !== 200) throw new Error(`cold start: first request of ${c.id} answered ${check}`);
        out[c.id][kind].push(r);
        await page.close();
      }
      await context.close();
    }
  }
  return out;
}

// ---------------------------------------------------------------- figure 3: happy path

async function benchHappy(browser, staticUrl) {
  // All four clients live in one page; each repetition runs the N requests in blocks of HAPPY_BLOCK,
  // alternating the clients block by block (order rotated), so that load from anything else on the
  // machine lands on every client alike. Per-request cost = the client's summed block times / N.
  const context = await browser.newContext();
  const page = await openPage(context, staticUrl);
  const cdp = await cdpFor(page);
  const ids = CLIENTS.map((c) => c.id);
  await ev(page, ([xs]) => window.bench.makeAll(xs), ids);
  for (const id of ids) { // warm-up: JIT, connections
    await ev(page, ([p, n, i]) => window.bench.sequential(p, n, i), `/ping?warm=${trialId()}&i=`, 100, id);
    await ev(page, ([p, n, s, i]) => window.bench.batches(p, n, s, i), `/ping?warm=${trialId()}&i=`, 200, CFG.happyBatch, id);
  }
  const out = Object.fromEntries(ids.map((id) => [id, { seq: [], conc: [], cpu: [] }]));
  const blocks = Math.ceil(CFG.happyN / HAPPY_BLOCK);
  for (let rep = 0; rep < CFG.happyReps; rep++) {
    await cdp.gc();
    const seq = Object.fromEntries(ids.map((id) => [id, 0]));
    const conc = Object.fromEntries(ids.map((id) => [id, 0]));
    const cpu = Object.fromEntries(ids.map((id) => [id, { seqThread: 0, seqProcess: 0, concThread: 0, concProcess: 0 }]));
    const timed = async (id, kind, fn) => {
      const c0 = await cdp.cpu();
      const r = await fn();
      const c1 = await cdp.cpu();
      cpu[id][`${kind}Thread`] += c1.thread - c0.thread;
      cpu[id][`${kind}Process`] += c1.process - c0.process;
      if (r.failed) throw new Error(`happy path: ${id} had ${r.failed} failures`);
      return r;
    };
    for (let b = 0; b < blocks; b++) {
      for (const id of rotate(ids, rep + b)) {
        const r = await timed(id, 'seq', () => ev(page, ([p, n, i]) => window.bench.sequential(p, n, i), `/ping?t=${trialId()}&i=`, HAPPY_BLOCK, id));
        seq[id] += r.ms;
      }
    }
    for (let b = 0; b < blocks; b++) {
      for (const id of rotate(ids, rep + b)) {
        const r = await timed(id, 'conc', () => ev(page, ([p, n, s, i]) => window.bench.batches(p, n, s, i), `/ping?t=${trialId()}&i=`, HAPPY_BLOCK, CFG.happyBatch, id));
        conc[id] += r.ms;
      }
    }
    for (const id of ids) { out[id].seq.push(seq[id]); out[id].conc.push(conc[id]); out[id].cpu.push(cpu[id]); }
    log(`happy rep ${rep + 1}/${CFG.happyReps}: ` + ids.map((id) => `${id} ${fmt((seq[id] / CFG.happyN) * 1000, 0)}/${fmt((conc[id] / CFG.happyN) * 1000, 0)} µs`).join('; '));
  }
  await context.close();
  return out;
}

// ---------------------------------------------------------------- figure 4: burst recovery

async function burstTrial(page, clientId, n) {
  await ev(page, ([id]) => window.bench.make(id), clientId);
  await ev(page, () => window.bench.login());
  await expireAccess();
  await reset();
  const r = await ev(page, ([p, k]) => window.bench.burst(p, k), `/api/ping/?t=${trialId()}&i=`, n);
  const s = await stats();
  return { ms: r.ms, ok: r.ok, failed: r.failed, statuses: r.statuses, errors: r.errors,
    refreshes: s.refresh_calls, reused: s.refresh_reused, onWire: s.protected_ok + s.protected_401 };
}

/** The ideal's parts, measured with raw fetch: N GETs with a valid session, one 401, one refresh. */
async function idealTrial(page, n) {
  await ev(page, ([id]) => window.bench.make(id), 'raw');
  await ev(page, () => window.bench.login());
  const valid = await ev(page, ([p, k]) => window.bench.burst(p, k), `/api/ping/?t=${trialId()}&i=`, n);
  if (valid.failed) throw new Error(`ideal: ${valid.failed} of ${n} valid-session GETs failed`);
  await expireAccess();
  const unauth = [];
  for (let i = 0; i < CFG.oneTripReps; i++) {
    const r = await ev(page, ([m, u]) => window.bench.rawOnce(m, u), 'GET', `/api/ping/?t=${trialId()}`);
    if (r.status !== 401) throw new Error(`ideal: expected a 401, got ${r.status}`);
    unauth.push(r.ms);
  }
  const refresh = [];
  for (let i = 0; i < CFG.oneTripReps; i++) {
    const r = await ev(page, ([m, u]) => window.bench.rawOnce(m, u), 'POST', '/api/auth/token/refresh/');
    if (r.status !== 200) throw new Error(`ideal: refresh answered ${r.status}`);
    refresh.push(r.ms);
  }
  const t401 = summary(unauth).median, tRefresh = summary(refresh).median;
  return { validMs: valid.ms, unauthMs: t401, refreshMs: tRefresh, idealMs: valid.ms + t401 + tRefresh };
}

async function benchBurst(browser) {
  const context = await browser.newContext();
  const page = await openPage(context, DJANGO);
  const cdp = await cdpFor(page);
  const out = {};
  // Warm-up: connections, JIT of every client's refresh path.
  for (const c of CLIENTS) await burstTrial(page, c.id, 20);
  await idealTrial(page, 20);
  for (const n of CFG.burstNs) {
    const cell = { ideal: [], clients: Object.fromEntries(CLIENTS.map((c) => [c.id, []])) };
    const reps = burstRepsFor(n);
    for (let rep = 0; rep < reps; rep++) {
      const order = rotate(['ideal', ...CLIENTS.map((c) => c.id)], rep);
      const row = {};
      for (const who of order) {
        await cdp.gc();
        row[who] = who === 'ideal' ? await idealTrial(page, n) : await burstTrial(page, who, n);
      }
      cell.ideal.push(row.ideal);
      for (const c of CLIENTS) cell.clients[c.id].push({ ...row[c.id], ratio: row[c.id].ms / row.ideal.idealMs });
      log(`burst N=${n} rep ${rep + 1}/${reps}: ideal ${fmt(row.ideal.idealMs)} ms; ` +
        CLIENTS.map((c) => `${c.id} ${fmt(row[c.id].ms)} ms r=${row[c.id].refreshes} re=${row[c.id].reused} f=${row[c.id].failed}`).join('; '));
    }
    out[n] = cell;
  }
  await context.close();
  return out;
}

// ---------------------------------------------------------------- figure 5: multi-tab burst

async function benchMultiTab(browser) {
  const out = Object.fromEntries(CLIENTS.map((c) => [c.id, []]));
  const context = await browser.newContext(); // one context: the tabs share cookies and storage
  const pages = [];
  for (let t = 0; t < CFG.tabs; t++) pages.push(await openPage(context, DJANGO));
  for (const c of CLIENTS) { // warm-up
    await Promise.all(pages.map((p) => ev(p, ([id]) => window.bench.make(id), c.id)));
    await ev(pages[0], () => window.bench.login());
    await Promise.all(pages.map((p) => ev(p, ([u, k]) => window.bench.burst(u, k), `/api/ping/?w=${trialId()}&i=`, 5)));
  }
  for (let rep = 0; rep < CFG.tabReps; rep++) {
    for (const c of rotate(CLIENTS, rep)) {
      // A fresh page per tab per trial: clients that keep state in a tab (or across tabs) start clean.
      await Promise.all(pages.map((p) => p.reload().then(() => p.waitForFunction(() => !!window.bench))));
      await Promise.all(pages.map((p) => ev(p, ([id]) => window.bench.make(id), c.id)));
      await ev(pages[0], () => window.bench.login());
      await expireAccess();
      await reset();
      const startAt = Date.now() + 400;
      const t = trialId();
      const rs = await Promise.all(pages.map((p, i) =>
        ev(p, ([s, u, k]) => window.bench.burstAt(s, u, k), startAt, `/api/ping/?t=${t}&tab=${i}&i=`, CFG.tabN)));
      const s = await stats();
      const starts = rs.map((r) => r.startedAt);
      const r = {
        refreshes: s.refresh_calls, reused: s.refresh_reused, refreshSucceeded: s.refresh_succeeded,
        failed: rs.reduce((a, x) => a + x.failed, 0), perTabFailed: rs.map((x) => x.failed),
        errors: rs.map((x) => x.errors), statuses: rs.map((x) => x.statuses),
        wallMs: Math.max(...rs.map((x) => x.endedAt)) - Math.min(...starts),
        startSkewMs: Math.max(...starts) - Math.min(...starts),
      };
      out[c.id].push(r);
      log(`multi-tab rep ${rep + 1}/${CFG.tabReps} ${c.id}: refreshes ${r.refreshes}, reused ${r.reused}, failed ${r.failed}/${CFG.tabs * CFG.tabN}, ` +
        `wall ${fmt(r.wallMs)} ms, start skew ${fmt(r.startSkewMs, 2)} ms`);
    }
  }
  await context.close();
  return out;
}

// ---------------------------------------------------------------- figure 6: memory

async function memoryTrial(browser, clientId) {
  const context = await browser.newContext();
  const page = await openPage(context, DJANGO);
  const cdp = await cdpFor(page);
  // Resource Timing entries (one per request, up to 250) live on the page's heap for every client
  // alike; they are cleared before each sample so that only the client's own memory shows.
  const sample = async () => {
    await ev(page, () => performance.clearResourceTimings());
    await sleep(100);
    await cdp.gc();
    const used = await cdp.heap();
    const snap = await cdp.snapshot();
    return { heap: snap.counted, usedSize: used, snapshotTotal: snap.total, devtools: snap.devtools,
      wasm: await ev(page, () => window.bench.wasmBytes()) };
  };
  try {
    await ev(page, ([id]) => window.bench.make(id), clientId);
    await ev(page, () => window.bench.login());
    // Warm-up: one full cycle of N through a (fast) refresh, so that one-time costs (compiled code,
    // inline caches, grown tables and pools) are in the baseline and only per-cycle growth shows.
    await expireAccess();
    await reset();
    await ev(page, ([p, k]) => window.bench.burst(p, k), `/api/ping/?w=${trialId()}&i=`, CFG.memN);
    const base = await sample();
    const cycles = [];
    for (let cycle = 0; cycle < CFG.memCycles; cycle++) {
      await expireAccess();
      await reset();
      await api('POST', '/api/test/fault/', { refresh_delay_ms: CFG.refreshDelayMs });
      await ev(page, ([p, k]) => window.bench.fire(p, k), `/api/ping/?t=${trialId()}&i=`, CFG.memN);
      // Wait until every request got its 401 and the (slow) refresh is being held by the server.
      const deadline = Date.now() + 30_000;
      let s, allWaiting = false;
      for (;;) {
        s = await stats();
        if ((clientId === 'raw' || s.refresh_in_flight >= 1) && s.protected_401 >= CFG.memN) { allWaiting = true; break; }
        if (Date.now() > deadline) break;
        await sleep(10);
      }
      await sleep(50); // let the last 401s reach the client's queue
      const waiting = { ...(await sample()), allWaiting, seen401: s.protected_401, refreshInFlight: s.refresh_in_flight };
      const tally = await ev(page, () => window.bench.awaitPending());
      const after = await sample();
      const s2 = await stats();
      cycles.push({ waiting, after, ok: tally.ok, failed: tally.failed, refreshes: s2.refresh_calls,
        heapWaitingDelta: waiting.heap - base.heap, heapAfterDelta: after.heap - base.heap,
        wasmWaitingDelta: base.wasm === null ? null : waiting.wasm - base.wasm,
        wasmAfterDelta: base.wasm === null ? null : after.wasm - base.wasm });
    }
    await reset();
    return { base, cycles };
  } finally {
    await cdp.detach().catch(() => {});
    await context.close();
  }
}

async function benchMemory(browser) {
  const out = {};
  for (const c of CLIENTS) {
    const r = await memoryTrial(browser, c.id);
    out[c.id] = r;
    r.cycles.forEach((x, i) => log(`memory ${c.id} cycle ${i + 1}: heap +${fmt(kb(x.heapWaitingDelta))} KB waiting, ` +
      `+${fmt(kb(x.heapAfterDelta))} KB after; wasm ${r.base.wasm ?? '-'} -> ${x.waiting.wasm ?? '-'} -> ${x.after.wasm ?? '-'}; ` +
      `${x.ok} ok, ${x.failed} failed, ${x.refreshes} refreshes, all waiting: ${x.waiting.allWaiting}`));
  }
  return out;
}

// ---------------------------------------------------------------- report

const mark = (ok) => (ok ? 'ok' : '**MISSES**');
const cols = CLIENTS.map((c) => c.label);

function table(R) {
  const rows = [];
  const row = (figure, target, cells) => rows.push(`| ${figure} | ${target} | ${CLIENTS.map((c) => cells[c.id] ?? '—').join(' | ')} |`);

  if (R.size) {
    const cells = {};
    for (const c of CLIENTS) {
      const s = R.size[c.id];
      const detail = s.wasm ? ` (wasm ${fmt(kb(s.wasm.gz))} + JS ${fmt(kb(s.js.gz))})` : '';
      cells[c.id] = `${fmt(kb(s.totalGz))} KB${detail}` + (c.id === 'raw' ? '' : ` ${mark(kb(s.totalGz) <= TARGETS.sizeKb)}`);
    }
    row('1. Size, min + gzip -9', `≤ ${TARGETS.sizeKb} KB`, cells);
  }
  if (R.cold) {
    for (const kind of ['cold', 'cached']) {
      const cells = {};
      for (const c of CLIENTS) {
        const xs = R.cold[c.id][kind];
        const s = summary(xs.map((x) => x.totalMs));
        let extra = '';
        if (c.id === 'authflight') {
          const m = (f) => fmt(summary(xs.map(f)).median, 1);
          extra = ` (import ${m((x) => x.importMs)}, init() ${m((x) => x.parts.initMs)}, new ${m((x) => x.parts.constructMs)})`;
        } else if (c.id !== 'raw') {
          const rawMed = summary(R.cold.raw[kind].map((x) => x.totalMs)).median;
          extra = ` (${fmt(s.median - rawMed, 1)} over raw)`;
        }
        cells[c.id] = `${fmtSummary(s, 1, ' ms')}${extra}` + (c.id === 'raw' ? '' : ` ${mark(s.median <= TARGETS.coldMs)}`);
      }
      const what = kind === 'cold' ? 'empty cache' : 'HTTP-cached, 2nd page';
      row(`2. Start-up, ${what}: import() → first request possible`, `≤ ${TARGETS.coldMs} ms`, cells);
    }
  }
  if (R.happy) {
    for (const [key, label] of [['seq', `sequential`], ['conc', `concurrent (batches of ${CFG.happyBatch})`]]) {
      const cells = {}, cpuCells = {};
      for (const c of CLIENTS) {
        const h = R.happy[c.id];
        const perS = summary(h[key].map((ms) => (ms / CFG.happyN) * 1000));
        const thread = summary(h.cpu.map((x) => (x[`${key}Thread`] / CFG.happyN) * 1e6));
        const proc = summary(h.cpu.map((x) => (x[`${key}Process`] / CFG.happyN) * 1e6));
        cpuCells[c.id] = `${fmt(thread.median, 0)} / ${fmt(proc.median, 0)} µs`;
        if (c.id === 'raw') { cells[c.id] = `${fmtSummary(perS, 0, ' µs')}/req`; continue; }
        const o = summary(h[key].map((ms, i) => (ms / R.happy.raw[key][i] - 1) * 100));
        cells[c.id] = `${fmt(perS.median, 0)} µs/req; ${o.median >= 0 ? '+' : ''}${fmtSummary(o, 1, ' %')} ${mark(o.median <= TARGETS.overheadPct)}`;
        const rawThread = summary(R.happy.raw.cpu.map((x) => (x[`${key}Thread`] / CFG.happyN) * 1e6)).median;
        cpuCells[c.id] += ` (+${fmt(thread.median - rawThread, 0)} µs main thread)`;
      }
      row(`3. Happy path, ${CFG.happyN} GETs ${label}: wall time per request, overhead vs raw`, `≤ +${TARGETS.overheadPct} %`, cells);
      row(`3. … same, renderer CPU per request: main thread / whole renderer`, 'report', cpuCells);
    }
  }
  if (R.burst) {
    for (const n of Object.keys(R.burst).map(Number)) {
      const cell = R.burst[n];
      const idealS = summary(cell.ideal.map((x) => x.idealMs));
      const timeCells = {}, countCells = {};
      for (const c of CLIENTS) {
        const xs = cell.clients[c.id];
        const r = summary(xs.map((x) => x.ratio));
        const ms = summary(xs.map((x) => x.ms));
        const failed = xs.map((x) => x.failed);
        if (c.id === 'raw') {
          timeCells[c.id] = `${fmtSummary(r, 2)} (${fmt(ms.median, 0)} ms, no refresh)`;
          countCells[c.id] = `0 / 0 / ${fmtCounts(failed)} of ${n} (all 401)`;
          continue;
        }
        // A client that gave up on requests finishes early: its time is no recovery time.
        const timeMark = failed.some((x) => x > 0) ? '(not a recovery: requests failed)' : mark(r.median <= TARGETS.burstRatio);
        timeCells[c.id] = `${fmtSummary(r, 2)} (${fmt(ms.median, 0)} ms) ${timeMark}`;
        const refreshes = xs.map((x) => x.refreshes), reused = xs.map((x) => x.reused);
        const good = refreshes.every((x) => x === 1) && reused.every((x) => x === 0) && failed.every((x) => x === 0);
        countCells[c.id] = `${fmtCounts(refreshes)} / ${fmtCounts(reused)} / ${fmtCounts(failed)} ${mark(good)}`;
      }
      row(`4. Burst N=${n}: wall time ÷ ideal (ideal ${fmt(idealS.median, 0)} ms)`, `≤ ${TARGETS.burstRatio}`, timeCells);
      row(`4. Burst N=${n}: refreshes / reused / failed`, '1 / 0 / 0', countCells);
    }
  }
  if (R.multitab) {
    const cells = {};
    for (const c of CLIENTS) {
      const xs = R.multitab[c.id];
      const refreshes = xs.map((x) => x.refreshes), reused = xs.map((x) => x.reused), failed = xs.map((x) => x.failed);
      if (c.id === 'raw') { cells[c.id] = `0 / 0 / ${fmtCounts(failed)} (no refresh)`; continue; }
      const good = refreshes.every((x) => x === 1) && reused.every((x) => x === 0) && failed.every((x) => x === 0);
      cells[c.id] = `${fmtCounts(refreshes)} / ${fmtCounts(reused)} / ${fmtCounts(failed)} ${mark(good)}`;
    }
    row(`5. ${CFG.tabs} tabs × N=${CFG.tabN} at one instant: refreshes / reused / failed (of ${CFG.tabs * CFG.tabN})`, '1 / 0 / 0', cells);
  }
  if (R.memory) {
    const waitCells = {}, afterCells = {};
    for (const c of CLIENTS) {
      const m = R.memory[c.id];
      const xs = m.cycles;
      const w = summary(xs.map((x) => kb(x.heapWaitingDelta)));
      const perReq = (w.median * 1000) / CFG.memN;
      const hasWasm = m.base.wasm !== null;
      const wasmW = hasWasm ? `; wasm +${fmtSummary(summary(xs.map((x) => kb(x.wasmWaitingDelta))), 0, ' KB')} (of ${fmt(kb(m.base.wasm), 0)} KB)` : '';
      waitCells[c.id] = `+${fmtSummary(w, 0, ' KB')} (${fmt(perReq, 0)} B/req)${wasmW}` + (c.id === 'raw' ? ' (nothing waits: all 401)' : '');
      // "Near the baseline" (taken after one warm-up cycle): after each cycle settles + GC, the heap is
      // within 128 KB (compiled code keeps tiering up) or 5 % of that cycle's growth while waiting, and
      // wasm memory (which never shrinks) did not grow past its size after the warm-up cycle.
      const heapOk = xs.every((x) => x.heapAfterDelta <= Math.max(128_000, 0.05 * x.heapWaitingDelta));
      const wasmOk = !hasWasm || xs.every((x) => x.wasmAfterDelta <= 0);
      const a = xs.map((x) => `${x.heapAfterDelta >= 0 ? '+' : ''}${fmt(kb(x.heapAfterDelta), 0)}`).join(', ');
      const wasmA = hasWasm ? `; wasm ${xs.map((x) => `+${fmt(kb(x.wasmAfterDelta), 0)}`).join(', ')} KB` : '';
      afterCells[c.id] = `heap ${a} KB${wasmA}` + (c.id === 'raw' ? '' : ` ${mark(heapOk && wasmOk)}`);
    }
    row(`6. Memory: heap growth with ${CFG.memN} requests waiting on one ${CFG.refreshDelayMs} ms refresh (heap snapshot after GC, vs baseline)`, 'report', waitCells);
    row(`6. Memory: after they settle + GC, vs baseline, per cycle (${CFG.memCycles} cycles)`, 'back near baseline', afterCells);
  }
  return [`| Figure | Target | ${cols.join(' | ')} |`, `|---|---|${cols.map(() => '---').join('|')}|`, ...rows].join('\n');
}

function notes(R) {
  const lines = [];
  if (R.burst) {
    lines.push('Burst ideal parts (raw fetch, medians over repetitions): N GETs with a valid session + one 401 + one refresh = ideal. ' +
      '"all-401 pass" = the same N GETs by raw fetch with the expired session (its burst cell); a client that sends every request ' +
      'before it learns of the expiry pays that pass, then the refresh, then N replays: "2-pass floor" = all-401 pass + refresh + valid pass, as a ratio of the ideal.');
    for (const n of Object.keys(R.burst)) {
      const id = R.burst[n].ideal;
      const m = (k) => summary(id.map((x) => x[k])).median;
      const expired = summary(R.burst[n].clients.raw.map((x) => x.ms)).median;
      const floor = summary(id.map((x, i) => (R.burst[n].clients.raw[i].ms + x.refreshMs + x.validMs) / x.idealMs)).median;
      lines.push(`- N=${n}: valid pass ${fmt(m('validMs'))} ms + 401 ${fmt(m('unauthMs'))} ms + refresh ${fmt(m('refreshMs'))} ms = ideal ${fmt(m('idealMs'))} ms; ` +
        `all-401 pass ${fmt(expired)} ms; 2-pass floor ${fmt(floor, 2)}`);
    }
  }
  if (R.multitab) {
    const skew = summary(Object.values(R.multitab).flat().map((x) => x.startSkewMs));
    lines.push(`Multi-tab start skew between tabs: median ${fmt(skew.median, 2)} ms, max ${fmt(skew.max, 2)} ms.`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- main

function gitInfo() {
  const git = (...a) => { try { return execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim(); } catch { return null; } };
  return { commit: git('rev-parse', 'HEAD'), srcDirty: !!git('status', '--porcelain', '--', 'src', 'Cargo.toml', 'Cargo.lock') };
}

async function main() {
  const started = Date.now();
  const R = {};
  const meta = {
    date: new Date().toISOString(), quick: QUICK, config: CFG, node: process.version, cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model, loadavgStart: os.loadavg(), git: gitInfo(), django: DJANGO, stack: STACK,
    pkgWasmMtime: fs.existsSync(path.join(ROOT, 'pkg/core_bg.wasm')) ? fs.statSync(path.join(ROOT, 'pkg/core_bg.wasm')).mtime.toISOString() : null,
    versions: Object.fromEntries(['axios', 'axios-auth-refresh', 'esbuild', 'playwright-core'].map((p) =>
      [p, JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', p, 'package.json'), 'utf8')).version])),
  };
  log(`mode ${QUICK ? 'QUICK' : 'full'}; ${STACK} stack; backend ${DJANGO}; static server :${STATIC_PORT}`);
  R.size = await build();
  if (!ONLY.has('size')) delete R.size;
  await api('GET', '/api/health/');
  await reset();
  const server = await startStaticServer({ port: STATIC_PORT, mounts: { '/b/': DIST, '/': path.join(HERE, 'page') } });
  const browser = await launch();
  meta.chromium = browser.version();
  meta.protocol = await protocolOf(browser);
  let failure = null;
  try {
    const sections = [
      // Over TLS the page must share the backend's site for its Secure cookies: nginx serves it
      // (through gunicorn) and answers /ping itself, over HTTP/2 like everything else there.
      ['cold', () => benchCold(browser, TLS ? DJANGO : server.url)],
      ['happy', () => benchHappy(browser, TLS ? DJANGO : server.url)],
      ['burst', () => benchBurst(browser)],
      ['multitab', () => benchMultiTab(browser)],
      ['memory', () => benchMemory(browser)],
    ];
    for (const [key, fn] of sections) {
      if (!ONLY.has(key)) continue;
      const t0 = Date.now();
      log(`${key}...`);
      R[key] = await fn();
      meta[`${key}Seconds`] = (Date.now() - t0) / 1000;
      log(`${key} done in ${fmt(meta[`${key}Seconds`])} s`);
    }
  } catch (e) {
    failure = e;
    log('bench broke:', e && e.stack ? e.stack : e);
  } finally {
    await browser.close().catch(() => {});
    await server.close();
    await reset().catch(() => {});
  }
  meta.seconds = (Date.now() - started) / 1000;
  meta.loadavgEnd = os.loadavg();

  const md = [
    `# authflight benchmarks${QUICK ? ' (BENCH_QUICK smoke run: fewer reps, smaller N)' : ''}`,
    '',
    `${meta.date}; Chromium ${meta.chromium}; Node ${meta.node}; ${meta.cpus} × ${meta.cpuModel}; load avg at start ${meta.loadavgStart.map((x) => x.toFixed(2)).join(' ')}; ` +
      `commit ${meta.git.commit?.slice(0, 10)}${meta.git.srcDirty ? ' (src/ had uncommitted changes)' : ''}; ${fmt(meta.seconds, 0)} s.`,
    `Cells: median [min–max] over repetitions. Marks are against the issue's targets. ` +
      `Reps: cold ${CFG.coldReps}, happy ${CFG.happyReps}, burst ${CFG.burstReps} (N≥1000: ${burstRepsFor(1000)}), multi-tab ${CFG.tabReps}, memory ${CFG.memCycles} cycles.`,
    '',
    table(R),
    '',
    notes(R),
    failure ? `\n**The bench broke:** ${String(failure.message || failure)}` : '',
  ].join('\n');
  console.log(md);
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(`${OUT}.md`, md + '\n');
  fs.writeFileSync(`${OUT}.json`, JSON.stringify({ meta, targets: TARGETS, results: R, error: failure ? String(failure.stack || failure) : null }, null, 1) + '\n');
  log(`wrote ${path.relative(ROOT, OUT)}.md and .json`);
  if (failure) process.exit(1);
}

/** The protocol Chromium speaks to the backend (Resource Timing's nextHopProtocol: http/1.1, h2). */
async function protocolOf(browser) {
  const context = await browser.newContext();
  try {
    const page = await openPage(context, DJANGO);
    return await ev(page, async () => {
      await (await fetch('/api/health/', { cache: 'no-store' })).text(); // timed once the body is read
      return performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/health/')).pop()?.nextHopProtocol || null;
    });
  } finally {
    await context.close();
  }
}

/** BENCH_COMBINE: two runs' tables merged cell by cell ("first · second"), rows matched by figure. */
function combine(files) {
  const runs = files.map((f) => JSON.parse(fs.readFileSync(path.resolve(f), 'utf8')));
  const label = (r) => `${r.meta.stack} (${r.meta.protocol || '?'})`;
  const split = (line) => line.split(' | ').map((c) => c.replace(/^\| |\ \|$/g, ''));
  const [a, b] = runs.map((r) => table(r.results).split('\n'));
  const IDEAL = /\(ideal ([^)]*)\)/;
  const key = (figure) => figure.replace(IDEAL, '');
  const byFigure = new Map(b.slice(2).map((l) => [key(split(l)[0]), split(l)]));
  const rows = a.slice(2).map((l) => {
    const x = split(l);
    const y = byFigure.get(key(x[0]));
    const figure = y && IDEAL.test(x[0]) ? x[0].replace(IDEAL, `(ideal ${x[0].match(IDEAL)[1]} · ${y[0].match(IDEAL)?.[1]})`) : x[0];
    return `| ${figure} | ${x[1]} | ${x.slice(2).map((c, i) => `${c} · ${y ? y[i + 2] : '—'}`).join(' | ')} |`;
  });
  const md = [
    `# authflight benchmarks: ${runs.map(label).join(' · ')}`,
    '',
    `Each cell: ${runs.map(label).join(' · ')}. ` + runs.map((r) => `${label(r)}: ${r.meta.date}, load avg ${r.meta.loadavgStart.map((x) => x.toFixed(2)).join(' ')}, ${fmt(r.meta.seconds, 0)} s`).join('; ') + '.',
    '',
    a[0], a[1], ...rows,
    '',
    ...runs.map((r) => `${label(r)}:\n${notes(r.results)}`),
  ].join('\n');
  console.log(md);
  const out = path.resolve(HERE, process.env.BENCH_OUT || (QUICK ? 'results/quick' : 'results/latest'));
  fs.writeFileSync(`${out}.md`, md + '\n');
  log(`wrote ${path.relative(ROOT, out)}.md`);
}

if (process.env.BENCH_COMBINE) combine(process.env.BENCH_COMBINE.split(','));
else main().catch((e) => { log(e && e.stack ? e.stack : e); process.exit(1); });
