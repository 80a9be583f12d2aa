// Fuzz suite for issue 13 (a hardened wasm boundary): a few thousand seeded bad-input cases against
// the package in headless Chromium, each followed by a liveness check, plus calls repeated 20,000
// times with wasm memory read before and after.
//
//   scripts/build-pkg.sh && node --test tests/e2e/fuzz.test.mjs
//
// Environment:
//   AUTHFLIGHT_PKG=/abs/pkg        the package to test (default <repo>/pkg), served at /pkg/
//   AUTHFLIGHT_FUZZ_SEED=N         the PRNG seed (default fixed, printed; random with LONG)
//   AUTHFLIGHT_FUZZ_ONLY=list      categories to run, comma-separated: options, fetch, listeners,
//                                  lifecycle, crosstab, hostile, classify, repeats; a case or a range
//                                  as cat:12 or cat:10-20; a repeat as repeats:<name>
//   AUTHFLIGHT_FUZZ_LONG=1         5× the random cases, 100,000 calls per repeat, 5 M-element arrays
//   AUTHFLIGHT_FUZZ_REPORT=f.json  also writes every case's result (name, failures, ms) to that file
//   AUTHFLIGHT_FUZZ_DEBUG=1        prints each batch's time
//
// The page side is tests/e2e/pages/fuzz.js (see there for the cases). Failure strings starting with
// DEAD are a WebAssembly.RuntimeError or a failed liveness check, HANG a promise that did not settle
// within its bound (or a page that stopped answering), escape a throw or rejection that is not an
// AuthError with a known code. Every category asserts 0 failing cases; every repeat asserts no
// failure and no wasm memory growth (after a warm-up of 500 calls, which pays any one-time growth).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT, startServer } from './lib/server.mjs';
import { launchBrowser } from './lib/browser.mjs';

const PAGES = join(ROOT, 'tests/e2e/pages');
const PKG = process.env.AUTHFLIGHT_PKG ? resolve(process.env.AUTHFLIGHT_PKG) : join(ROOT, 'pkg');
const LONG = process.env.AUTHFLIGHT_FUZZ_LONG === '1';
const SEED = process.env.AUTHFLIGHT_FUZZ_SEED
  ? Number(process.env.AUTHFLIGHT_FUZZ_SEED) >>> 0
  : LONG
    ? (Math.random() * 2 ** 32) >>> 0
    : 0x13f0220c;
const REPEAT_CALLS = LONG ? 100_000 : 20_000;
const WARMUP = 500;
/** Allowed wasm memory growth over a repeat, after the warm-up: none. */
const MEM_SLACK = 0;
const BATCH = 50;
/** A page that does not answer for a case's bound plus this long is stuck (a synchronous loop). */
const WATCHDOG_SLACK_MS = 10_000;
const CATEGORIES = ['options', 'fetch', 'listeners', 'lifecycle', 'crosstab', 'hostile', 'classify'];
const REPEATS = [
  'wrong-this fetch',
  'fetch after free',
  'on after free',
  'onSessionExpired after free',
  'stats after free',
  'markLoggedIn after free',
  'constructor with throwing options',
];

/** AUTHFLIGHT_FUZZ_ONLY → { cat: null (all) | [from, to] } */
function parseOnly(s) {
  if (!s) return null;
  const out = {};
  for (const part of s.split(',').map((x) => x.trim()).filter(Boolean)) {
    const [cat, range] = part.split(/:(.*)/s);
    if (!range) out[cat] = out[cat] === undefined ? null : out[cat];
    else if (cat === 'repeats') (out.repeats ||= []).push(range);
    else {
      const [a, b] = range.split('-').map(Number);
      out[cat] = [a, (Number.isFinite(b) ? b : a) + 1];
    }
  }
  return out;
}
const ONLY = parseOnly(process.env.AUTHFLIGHT_FUZZ_ONLY);
const wanted = (cat) => !ONLY || cat in ONLY;

let server;
let browser;
let mainPage;
const startedAt = Date.now();
/** Per category: Map(index → { name, fails }). */
const results = Object.fromEntries(CATEGORIES.map((c) => [c, new Map()]));
const ends = {};
/** Seconds each category took. */
const took = {};
const repeats = {};
const traps = [];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function openPage(query = '') {
  const page = await browser.newPage();
  const early = [];
  page.on('pageerror', (e) => {
    const text = `${e.name}: ${e.message}`;
    if (early.length < 5) early.push(text);
    if (/RuntimeError|unreachable|memory access out of bounds/.test(text)) traps.push({ ...page.fzCur, text });
  });
  await page.goto(`${server.url}/fuzz.html${query}`);
  try {
    await page.waitForFunction(() => window.ready === true, null, { timeout: 30_000 });
  } catch (e) {
    throw new Error(`fuzz.html${query} did not get ready: ${e.message}; page errors: ${early.join(' | ') || 'none'}`);
  }
  return page;
}

async function closePage(page) {
  await Promise.race([page.close({ runBeforeUnload: false }).catch(() => {}), sleep(5000)]);
}

async function reopenMain() {
  if (mainPage) await closePage(mainPage);
  mainPage = await openPage();
  await mainPage.evaluate(() => F.ensureSession());
}

/**
 * page.evaluate with a watchdog: while it runs, F.cur() is polled; a page that does not answer
 * for the current case's bound plus WATCHDOG_SLACK_MS is stuck (a synchronous loop in the page).
 * Resolves to { v } (the value), { e } (the page crashed or evaluate failed) or { stuck, cur }.
 */
async function drive(page, fn, arg) {
  let done = null;
  page.evaluate(fn, arg).then(
    (v) => (done = { v }),
    (e) => (done = { e }),
  );
  let answered = Date.now();
  let cur = null;
  for (;;) {
    for (let k = 0; k < 10 && !done; k++) await sleep(50);
    if (done) return done;
    const c = await Promise.race([page.evaluate(() => F.cur()).catch(() => undefined), sleep(1000)]);
    if (c !== undefined) {
      answered = Date.now();
      cur = c;
      page.fzCur = c;
    } else if (Date.now() - answered > (cur?.bound ?? 15_000) + WATCHDOG_SLACK_MS) return done ?? { stuck: true, cur };
  }
}

function record(cat, i, name, fails) {
  results[cat].set(i, { i, name, fails });
}

/** Runs cases [from, to) of `cat` on `page` (a batch); on a stuck page, again one case at a time. */
async function runRange(cat, plan, from, to, { kind = null, single = false } = {}) {
  let page = kind ? await openPage(kind === 'noinit' ? '?noinit=1' : '') : mainPage;
  let i = from;
  while (i < to) {
    const j = single ? i + 1 : to;
    const tb = Date.now();
    const r = await drive(page, (a) => F.runBatch(a), { cat, seed: SEED, from: i, to: j, long: LONG, count: plan.count });
    if (process.env.AUTHFLIGHT_FUZZ_DEBUG) console.log(`batch ${cat} ${i}-${j}: ${Date.now() - tb} ms, in page ${r.v?.ms} ms`);
    if (r.v) {
      for (const x of r.v.results) results[cat].set(x.i, x);
      i = Math.max(r.v.next, i + 1);
      if (r.v.dead || r.v.reload) {
        if (kind) {
          await closePage(page);
          page = await openPage(kind === 'noinit' ? '?noinit=1' : '');
        } else {
          await reopenMain();
          page = mainPage;
        }
      }
      continue;
    }
    // Stuck or crashed: which case is only certain when the batch held one case, so a batch is run
    // again one case at a time (its results were lost with the page).
    const cur = r.cur ?? page.fzCur;
    if (kind) await closePage(page);
    await reopenMain();
    if (j - i > 1) {
      await runRange(cat, plan, i, j, { kind, single: true });
      i = j;
      if (!kind) page = mainPage;
      continue;
    }
    page = kind ? await openPage(kind === 'noinit' ? '?noinit=1' : '') : mainPage;
    const name = await mainPage.evaluate(([c, seed, k]) => F.caseName(c, seed, k), [cat, SEED, i]).catch(() => '?');
    record(cat, i, name, [
      r.stuck
        ? `HANG: the page stopped answering for more than ${Math.round(((cur?.bound ?? 15_000) + WATCHDOG_SLACK_MS) / 1000)} s (a synchronous loop?)`
        : `DEAD: the page crashed or its evaluate failed: ${String(r.e?.message ?? r.e).split('\n')[0]}`,
    ]);
    i += 1;
  }
  if (kind) await closePage(page);
}

async function runCategory(cat) {
  const plan = await mainPage.evaluate(([c, l]) => F.plan(c, l), [cat, LONG]);
  const range = ONLY?.[cat] ?? [0, plan.count];
  const to = Math.min(range[1], plan.count);
  let i = range[0];
  while (i < to) {
    const kind = plan.pages[i] ?? null;
    let j = i + 1;
    if (kind === 'noinit') while (j < to && plan.pages[j] === 'noinit') j++;
    else if (!kind) while (j < to && j - i < BATCH && !plan.pages[j]) j++;
    await runRange(cat, plan, i, j, { kind });
    i = j;
  }
  if (!ONLY?.[cat]) {
    const r = await drive(mainPage, (c) => F.endCheck(c), cat);
    ends[cat] = r.v ?? { name: 'end of category', fails: [r.stuck ? 'HANG: end check' : `DEAD: ${r.e?.message}`] };
    if (!r.v || r.v.dead || r.v.fails.length) await reopenMain();
  }
}

const isFail = (x) => x.fails && x.fails.length > 0;
function summarize(cat) {
  const all = [...results[cat].values()];
  if (ends[cat]) all.push({ i: 'end', ...ends[cat] });
  const failed = all.filter(isFail);
  const has = (re) => failed.filter((x) => x.fails.some((f) => re.test(f))).length;
  return {
    cases: results[cat].size,
    failed: failed.length,
    dead: has(/(^|: )DEAD/),
    hangs: has(/HANG/),
    escapes: has(/escape|threw synchronously/),
    traps: traps.filter((t) => t.cat === cat).length,
    failures: failed,
  };
}

const KINDS = ['DEAD', 'HANG', 'threw synchronously', 'escape', 'expected', 'resolved', 'returned', 'rejected', 'status ', 'invalid_config without', 'invalid_request whose', 'accepted,', 're-entered', 'the request went'];
/** Groups failure messages by shape (numbers and quoted strings blanked) for the report. */
function topFailures(failures, n = 12) {
  const groups = new Map();
  for (const x of failures) {
    const m = x.fails[0];
    const at = KINDS.map((k) => m.indexOf(k)).filter((k) => k >= 0);
    const key = m
      .slice(at.length ? Math.min(...at) : 0)
      .replace(/"[^"]*"/g, '"…"')
      .replace(/\d+/g, '#')
      .slice(0, 160);
    const g = groups.get(key) ?? { count: 0, example: x };
    g.count++;
    groups.set(key, g);
  }
  return [...groups.entries()]
    .sort((a, b) => b[1].count - a[1].count)
    .slice(0, n)
    .map(([, g]) => `    ${String(g.count).padStart(5)} × [${g.example.i}] ${g.example.name.slice(0, 110)}\n            ${g.example.fails[0].slice(0, 300)}`);
}

function failureText(cat, s) {
  return `${cat}: ${s.failed} failing cases of ${s.cases} (dead ${s.dead}, hangs ${s.hangs}, escapes ${s.escapes})\n${topFailures(s.failures).join('\n')}\n` +
    `  reproduce: AUTHFLIGHT_FUZZ_SEED=${SEED} AUTHFLIGHT_FUZZ_ONLY=${cat}:<index> node --test tests/e2e/fuzz.test.mjs`;
}

const kib = (b) => (b === null || b === undefined ? '?' : `${(b / 1024).toFixed(0)} KiB`);

function printSummary() {
  const rows = [['category', 'cases', 'failed', 'dead', 'hangs', 'escapes', 'traps', 'seconds']];
  let total = 0;
  let totalFailed = 0;
  const details = [];
  for (const cat of CATEGORIES) {
    if (!results[cat].size) continue;
    const s = summarize(cat);
    total += s.cases;
    totalFailed += s.failed;
    rows.push([cat, s.cases, s.failed, s.dead, s.hangs, s.escapes, s.traps, took[cat]?.toFixed(1) ?? '']);
    if (s.failed) details.push(failureText(cat, s));
  }
  rows.push(['total', total, totalFailed, '', '', '', traps.length, '']);
  const w = rows[0].map((_, k) => Math.max(...rows.map((r) => String(r[k]).length)));
  const fmt = (r) => r.map((x, k) => (k ? String(x).padStart(w[k]) : String(x).padEnd(w[k]))).join('  ');
  const lines = [`authflight fuzz (issue 13): seed ${SEED} (AUTHFLIGHT_FUZZ_SEED=${SEED}), ${LONG ? 'LONG' : 'default'} run, package ${PKG}`, '', ...rows.map(fmt)];
  if (Object.keys(repeats).length) {
    const rr = [['repeat', 'calls', 'failures', `died at call # (incl. ${WARMUP} warm-up)`, 'memory before', 'after', 'growth']];
    for (const [name, r] of Object.entries(repeats))
      rr.push([name, r.calls, r.failures, r.diedAt ?? '-', kib(r.memBefore), kib(r.memAfter), r.memBefore === null || r.memAfter === null ? '?' : `${r.memAfter - r.memBefore} B`]);
    const w2 = rr[0].map((_, k) => Math.max(...rr.map((r) => String(r[k]).length)));
    lines.push('', ...rr.map((r) => r.map((x, k) => (k ? String(x).padStart(w2[k]) : String(x).padEnd(w2[k]))).join('  ')));
    for (const [name, r] of Object.entries(repeats)) if (r.examples?.length) lines.push(`  ${name}: ${r.examples.join(' | ').slice(0, 400)}`);
  }
  if (details.length) lines.push('', 'failures by kind (count × [index] example case):', ...details);
  lines.push('', `${Math.round((Date.now() - startedAt) / 1000)} s`);
  console.log(lines.join('\n'));
  if (process.env.AUTHFLIGHT_FUZZ_REPORT) {
    const cases = Object.fromEntries(CATEGORIES.map((c) => [c, [...results[c].values()].sort((a, b) => a.i - b.i)]));
    writeFileSync(process.env.AUTHFLIGHT_FUZZ_REPORT, JSON.stringify({ seed: SEED, long: LONG, pkg: PKG, cases, ends, repeats, traps }, null, 1));
  }
}

describe('fuzz: no input kills or wedges the module (issue 13)', { timeout: LONG ? 4 * 3600_000 : 3600_000 }, () => {
  before(async () => {
    assert.ok(existsSync(join(PKG, 'authflight.js')), `${PKG}/authflight.js is missing: run scripts/build-pkg.sh first (or set AUTHFLIGHT_PKG)`);
    console.log(`fuzz seed ${SEED} (AUTHFLIGHT_FUZZ_SEED=${SEED}), package ${PKG}${LONG ? ', LONG run' : ''}`);
    server = await startServer({ staticDir: PAGES, env: { AUTHFLIGHT_STATIC_MOUNTS: `/pkg/=${PKG}` } });
    browser = await launchBrowser();
    mainPage = await openPage();
    assert.equal(await mainPage.evaluate(() => F.ensureSession()), 200, 'login');
  });

  after(async () => {
    printSummary();
    await browser?.close();
    await server?.stop();
  });

  for (const cat of CATEGORIES) {
    test(cat, { skip: !wanted(cat) }, async (t) => {
      const t0 = Date.now();
      await runCategory(cat);
      took[cat] = (Date.now() - t0) / 1000;
      const s = summarize(cat);
      t.diagnostic(`${cat}: ${s.cases} cases, ${s.failed} failing (dead ${s.dead}, hangs ${s.hangs}, escapes ${s.escapes}, traps ${s.traps})`);
      assert.equal(s.traps, 0, `WebAssembly.RuntimeError seen as pageerror in ${cat}: ${JSON.stringify(traps.filter((x) => x.cat === cat).slice(0, 5))}`);
      assert.equal(s.failed, 0, failureText(cat, s));
    });
  }

  const repeatWanted = (name) => !ONLY || ('repeats' in ONLY && (ONLY.repeats === null || ONLY.repeats.includes(name)));
  for (const name of REPEATS) {
    test(`repeat ${REPEAT_CALLS} × ${name}`, { skip: !repeatWanted(name) }, async (t) => {
      let r = await drive(mainPage, (a) => F.repeat(a), { name, calls: REPEAT_CALLS, warmup: WARMUP });
      if (!r.v) {
        const why = r.stuck ? 'HANG: the page stopped answering' : `DEAD: the page crashed: ${r.e?.message}`;
        r = { v: { name, calls: 0, failures: 1, examples: [why], diedAt: r.stuck ? null : '?', memBefore: null, memAfter: null } };
      }
      const x = r.v;
      repeats[name] = x;
      // A fresh page for the next repeat when this one killed the instance or the page.
      if (x.diedAt !== null || x.failures) await reopenMain();
      t.diagnostic(`${name}: ${x.calls} calls, ${x.failures} failures, died at ${x.diedAt ?? '-'}, memory ${x.memBefore} → ${x.memAfter}`);
      assert.equal(x.diedAt, null, `the instance died (WebAssembly.RuntimeError) at call ${x.diedAt}: ${x.examples.join(' | ')}`);
      assert.equal(x.failures, 0, `${x.failures} calls did not fail with the expected AuthError: ${x.examples.join(' | ')}`);
      assert.equal(x.calls, REPEAT_CALLS, 'calls made');
      assert.ok(x.memBefore !== null && x.memAfter !== null, 'init() must resolve to the wasm exports (exports.memory)');
      assert.ok(x.memAfter - x.memBefore <= MEM_SLACK, `wasm memory grew by ${x.memAfter - x.memBefore} B over ${REPEAT_CALLS} calls`);
    });
  }
});
