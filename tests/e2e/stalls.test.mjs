// Every wait bounded, every stall recovered (issue #9): hung refreshes, a frozen tab holding the
// refresh lock, slow devices, and a refresh view that authenticates the expired access cookie. Real
// Django (tests/server), headless Chromium; every verdict is the server's own count, what each caller
// got, and how long it waited.
//
//   scripts/build-pkg.sh && node --test tests/e2e/stalls.test.mjs
//   AUTHFLIGHT_PKG=/tmp/some-pkg node --test tests/e2e/stalls.test.mjs     # another build of the package
//
// Scenarios (each prints its measured worst-case wait and the server's counts; all are summed up in
// one report at the end):
//   1. Hung refresh. refreshTimeoutMs 2000, the refresh hangs 30 s (then 504, no rotation). The 10
//      waiting GETs fail `refresh_failed` (cause TimeoutError) by 2 s; a GET sent after that, while the
//      hung call is still pending, settles within lockTimeoutMs + refreshTimeoutMs (and succeeds: the
//      server answers new refreshes at once); once the fault is gone a GET succeeds. 0 reused, no logout.
//   2. Frozen lock holder. Tab A's refresh is at the server when A's JavaScript is frozen (CDP
//      Debugger.pause: A pauses at its next statement, at the latest when its refresh answer arrives, so
//      A holds the Web Lock and never records the rotation that lands in the cookie jar). Tabs B and C
//      then send 10 GETs each: all 20 succeed within the default lock bound (3 s) + slack. After A
//      resumes: nobody logged out, 0 reused, a GET in every tab succeeds.
//   3. Slow-device soak, 3 runs: 3-second access tokens (Simple JWT truncates `exp` to the second, so
//      each lives 2-3 s), 4 tabs each sending a GET every 50 ms (each load of one of them reloads the
//      page 700 ms after its first request), 12 s, with a busy loop starving the CPU. Per run: 0
//      client-visible failures (requests cut off by a reload excepted), 0 logouts, every tab's
//      requests settle, and at most one token presented twice (the reload race, see the assertion).
//      With 2-second tokens (1-2 s of life) a starved machine's replay can reach the server after its
//      fresh token expired, twice in a row, and the request fails `unauthorized` by design (a replay
//      starts at most one refresh: never a loop); CI met that once (2 of 677 requests). For that,
//      1-second tokens and CDP CPU throttling, see README "Every wait is bounded".
//   4. A refresh view that runs the access-cookie authentication (AUTHFLIGHT_REFRESH_AUTHENTICATES=1;
//      3-second tokens whose cookie lives 1 s longer, AUTHFLIGHT_ACCESS_COOKIE_SLACK_SECONDS=1): 5 GETs
//      sent after the JWT's `exp` while the browser still sends the cookie (700 ms before it drops)
//      make the first refresh get a 401 from the authentication. No logout, all 5 succeed, 1 successful
//      refresh, 0 reused.
//   4b. A real expiry (refresh token blacklisted) still ends the session: every waiter
//      `session_expired`, the listener once, about confirmDelayMs after the server's first rejection.
//
// Bounds are asserted as the documented bound + SLACK_MS (scheduling, a loaded CI machine); a request
// still pending well past its bound is reported as `pending` rather than awaited.
// Knobs: AUTHFLIGHT_SOAK_RUNS (3), AUTHFLIGHT_SOAK_SECONDS (12), AUTHFLIGHT_SOAK_CPU_RATE (1: CDP
// CPU throttling of every page), AUTHFLIGHT_SOAK_BUSY (1: busy-loop threads on the host while the soak
// runs; 2 starves both cores), AUTHFLIGHT_SOAK_ACCESS_SECONDS (3; e.g. 300 checks the harness itself: no expiry, nothing may fail),
// AUTHFLIGHT_SOAK_DEBUG=1 (every client event and the server's refresh log, to target/test-logs/soak-run-N.json).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ROOT, startServer } from './lib/server.mjs';
import { launchBrowser } from './lib/browser.mjs';

const PAGES = join(ROOT, 'tests/e2e/pages');
const PKG = resolve(process.env.AUTHFLIGHT_PKG || join(ROOT, 'pkg'));

// The library's defaults (README, "Options") and the slack every time bound gets.
const LOCK_TIMEOUT_MS = 3000;
const REFRESH_TIMEOUT_MS = 10000;
const CONFIRM_DELAY_MS = 1000;
const SLACK_MS = 1500;

const SOAK_RUNS = Number(process.env.AUTHFLIGHT_SOAK_RUNS || 3);
const SOAK_MS = Number(process.env.AUTHFLIGHT_SOAK_SECONDS || 12) * 1000;
const SOAK_CPU_RATE = Number(process.env.AUTHFLIGHT_SOAK_CPU_RATE || 1);
const SOAK_BUSY = Number(process.env.AUTHFLIGHT_SOAK_BUSY ?? 1);
const SOAK_ACCESS_SECONDS = process.env.AUTHFLIGHT_SOAK_ACCESS_SECONDS || '3';
const SOAK_DEBUG = process.env.AUTHFLIGHT_SOAK_DEBUG === '1';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/** What the test prints at the end: per scenario, the worst-case wait and the server's counts. */
const report = {};
function record(t, name, r) {
  report[name] = r;
  t.diagnostic(`${name}: ${JSON.stringify(r)}`);
}
const counts = (s) => ({
  refresh_calls: s.refresh_calls,
  refresh_succeeded: s.refresh_succeeded,
  refresh_failed: s.refresh_failed,
  refresh_reused: s.refresh_reused,
  protected_ok: s.protected_ok,
});

/** A server with pages at "/" and the package at "/pkg/", and its own browser (cookies are per host, not per port). */
async function stack(env = {}) {
  const server = await startServer({ staticDir: PAGES, env: { AUTHFLIGHT_STATIC_MOUNTS: `/pkg/=${PKG}`, ...env } });
  let browser;
  try {
    browser = await launchBrowser();
  } catch (e) {
    await server.stop();
    throw e;
  }
  return {
    server,
    browser,
    /** Fresh tabs on tab.html?query with their client built; closed when test `t` ends. */
    tabs: (n, query = '', t = null) =>
      Promise.all(
        Array.from({ length: n }, async () => {
          const page = await browser.newPage();
          t?.after(() => page.close().catch(() => {}));
          page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
          await page.goto(`${server.url}/tab.html${query ? `?${query}` : ''}`);
          await page.waitForFunction(() => window.ready === true);
          return page;
        }),
      ),
    /** No cookies (no session, no cross-tab marker), then a login; counters zeroed. */
    async freshSession() {
      await browser.context.clearCookies();
      const page = await browser.newPage();
      try {
        await page.goto(`${server.url}/tab.html`);
        await page.waitForFunction(() => window.ready === true);
        const login = await page.evaluate(() => T.loginInfo());
        assert.equal(login.status, 200, 'login');
        await server.reset();
        return login;
      } finally {
        await page.close().catch(() => {});
      }
    },
    async stop() {
      await browser.close();
      await server.stop();
    },
  };
}

const state = (page) => page.evaluate(() => T.state());

function assertNoLogout(states, label) {
  for (const [i, s] of states.entries()) {
    assert.deepEqual(s.expired.filter(Boolean), [], `${label}: tab ${i} fired session-expired: ${JSON.stringify(s)}`);
    assert.ok(!s.sessionExpired.some(Boolean), `${label}: tab ${i} thinks the session is over`);
  }
}

/** Waits until `f(stats)` holds at the server (polling), or fails with `what`. */
async function serverUntil(server, f, what, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await server.stats();
    if (f(s)) return s;
    assert.ok(Date.now() < deadline, `${what}: ${JSON.stringify(counts(s))}`);
    await sleep(5);
  }
}

/** Short form of T.timed answers for messages: "200 12ms", "refresh_failed(TimeoutError) 2001ms", "pending 9000ms". */
const brief = (r) => `${r.pending ? 'pending' : r.status ?? `${r.error}${r.cause ? `(${r.cause})` : ''}`} ${r.ms}ms`;

let main; // the default server and its browser, for scenarios 1, 2 and 4b

describe('every wait bounded, every stall recovered', { timeout: 300_000 }, () => {
  before(async () => {
    assert.ok(existsSync(join(PKG, 'authflight.js')), `${PKG}/authflight.js is missing: run scripts/build-pkg.sh first (or set AUTHFLIGHT_PKG)`);
    main = await stack();
  });

  after(async () => {
    await main?.stop();
    if (Object.keys(report).length) {
      console.log(`stalls: worst-case waits (ms) and server counts per scenario (package ${PKG}):\n${Object.entries(report).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`).join('\n')}`);
    }
  });

  test('1. hung refresh: waiters fail by refreshTimeoutMs, the next GET recovers within the bound, no logout', async (t) => {
    const REFRESH_MS = 2000;
    const BOUND_MS = LOCK_TIMEOUT_MS + REFRESH_MS; // a request's 401 → settled, whatever the refresh does
    const { server } = main;
    await main.freshSession();
    const [page] = await main.tabs(1, `refreshTimeoutMs=${REFRESH_MS}`, t);
    await server.post('/api/test/fault/', { kind: 'hang', count: 1, hang_ms: 30_000 });
    await server.post('/api/test/expire-access/');

    const burst = await page.evaluate(([limitMs]) => T.timedBurst(10, 's1', { limitMs }), [REFRESH_MS + SLACK_MS + 3000]);
    const hung = await server.stats();
    // Sent after the waiters gave up, while the hung call is still held at the server.
    const next = await page.evaluate(([limitMs]) => T.timed('/api/ping/?s1=next', { limitMs }), [BOUND_MS + SLACK_MS + 3000]);
    const during = await server.stats();
    const stateDuring = await state(page);

    // The fault is gone: the hung call is released (504), the next expiry refreshes normally.
    await server.reset();
    await serverUntil(server, (s) => s.refresh_in_flight === 0, 'the hung refresh was not released');
    await sleep(200); // the released 504 reaches the page (and must change nothing)
    await server.post('/api/test/expire-access/');
    const recovered = await page.evaluate(() => T.timed('/api/me/', { limitMs: 15_000 }));
    const afterReset = await server.stats();
    const stateAfter = await state(page);

    record(t, 's1_hung_refresh', {
      waiters_worst_ms: burst.maxMs,
      waiters: [...new Set(burst.results.map((r) => brief(r).replace(/ \d+ms$/, '')))],
      next_get: brief(next),
      ...counts(during),
      hung_in_flight: during.refresh_in_flight,
      after_fault_gone: { get: brief(recovered), refresh_calls: afterReset.refresh_calls, refresh_reused: afterReset.refresh_reused },
    });

    for (const r of burst.results) {
      assert.deepEqual([r.error, r.cause], ['refresh_failed', 'TimeoutError'], `a waiter of the hung refresh: ${brief(r)}`);
      assert.ok(r.ms <= REFRESH_MS + SLACK_MS, `a waiter failed within refreshTimeoutMs + slack: ${brief(r)}`);
    }
    assert.equal(hung.refresh_in_flight, 1, 'the hung call is still pending at the server');
    assert.ok(!next.pending, `the GET after the timeout settled (bound ${BOUND_MS} ms): ${brief(next)}`);
    assert.ok(next.ms <= BOUND_MS + SLACK_MS, `the GET after the timeout settled within lockTimeoutMs + refreshTimeoutMs + slack: ${brief(next)}`);
    assert.equal(next.status, 200, `the GET after the timeout recovered (the server answers new refreshes): ${brief(next)}`);
    assert.equal(during.refresh_in_flight, 1, 'it recovered while the hung call was still pending');
    assert.equal(during.refresh_succeeded, 1, 'one new refresh succeeded');
    assert.equal(during.refresh_reused, 0, 'refresh tokens presented twice');
    assert.equal(recovered.status, 200, `a GET once the fault is gone: ${brief(recovered)}`);
    assert.equal(afterReset.refresh_reused, 0, 'refresh tokens presented twice after the fault');
    assertNoLogout([stateDuring, stateAfter], 's1');
  });

  test('2. frozen lock holder: the other tabs\' 20 GETs succeed within the default bound; nobody logged out', async (t) => {
    const { server, browser } = main;
    await main.freshSession();
    const [a, b, c] = await main.tabs(3, '', t);
    await server.post('/api/test/fault/', { refresh_delay_ms: 800 });
    await server.post('/api/test/expire-access/');

    // A starts a refresh (taking the Web Lock); once the server holds it, A's JavaScript is frozen.
    await a.evaluate(() => T.spawn('a', () => T.timedBurst(3, 's2a')));
    await a.evaluate(() => T.refreshStarted);
    await serverUntil(server, (s) => s.refresh_in_flight >= 1, 'A never reached the server', 5000);
    const cdp = await browser.context.newCDPSession(a);
    let pausedAt = null;
    cdp.on('Debugger.paused', () => (pausedAt ??= Date.now()));
    await cdp.send('Debugger.enable');
    await cdp.send('Debugger.pause');
    const frozenAt = Date.now();

    // B and C right away: their GETs meet 401s while A's refresh is still at the server.
    const limitMs = LOCK_TIMEOUT_MS + SLACK_MS + 5000;
    const startAt = Date.now() + 30;
    const bursts = await Promise.all(
      [b, c].map((p, i) => p.evaluate(([tag, at, limit]) => T.timedBurst(10, tag, { startAt: at, limitMs: limit }), [`s2t${i}`, startAt, limitMs])),
    );
    const whileFrozen = await server.stats();
    const aStillPaused = pausedAt !== null;
    // The cross-tab marker cookie (diagnostics only: its format is the library's business).
    const marker = async () => (await browser.context.cookies(server.url)).find((k) => k.name.startsWith('authflight_'))?.value;
    const markerWhileFrozen = await marker();

    // A wakes up and finishes what it started.
    await cdp.send('Debugger.resume').catch(() => {});
    await cdp.send('Debugger.disable').catch(() => {});
    await cdp.detach().catch(() => {});
    const aBurst = await a.evaluate(() => T.later('a'));
    await sleep(300); // messages between the tabs settle
    const states = await Promise.all([a, b, c].map(state));
    const gets = await Promise.all([a, b, c].map((p) => p.evaluate(() => T.timed('/api/me/', { limitMs: 15_000 }))));
    const s = await server.stats();
    const markerAfter = await marker();

    const worst = Math.max(...bursts.map((x) => x.maxMs));
    record(t, 's2_frozen_holder', {
      others_worst_ms: worst,
      others_ok: sum(bursts.map((x) => x.ok)),
      others_not_ok: bursts.flatMap((x) => x.results.filter((r) => r.status !== 200).map(brief)),
      start_spread_ms: Math.max(...bursts.map((x) => x.lateMs)),
      a_paused_ms_after_freeze: aStillPaused ? pausedAt - frozenAt : null,
      a_after_resume: aBurst.results.map(brief),
      marker_while_frozen: markerWhileFrozen,
      marker_after: markerAfter,
      ...counts(whileFrozen),
      after_resume: { ...counts(s), gets: gets.map(brief) },
    });

    assert.ok(aStillPaused, 'tab A was paused by the debugger while B and C ran');
    assert.equal(whileFrozen.refresh_succeeded >= 1, true, 'A\'s rotation landed while A was frozen');
    for (const [i, x] of bursts.entries()) {
      assert.deepEqual(x.results.filter((r) => r.status !== 200).map(brief), [], `tab ${'BC'[i]}: every GET succeeds`);
      assert.ok(x.maxMs <= LOCK_TIMEOUT_MS + SLACK_MS, `tab ${'BC'[i]}: its burst settled within lockTimeoutMs (${LOCK_TIMEOUT_MS}) + slack: ${x.maxMs} ms`);
    }
    assert.equal(sum(bursts.map((x) => x.ok)), 20);
    assert.equal(whileFrozen.refresh_reused, 0, 'refresh tokens presented twice (while A was frozen)');
    assert.equal(s.refresh_reused, 0, 'refresh tokens presented twice (after A resumed)');
    assertNoLogout(states, 's2');
    assert.deepEqual(gets.map(brief).map((x) => x.split(' ')[0]), ['200', '200', '200'], 'a GET in each tab after A resumed');
  });

  test(`3. slow-device soak: ${SOAK_ACCESS_SECONDS} s tokens, 4 tabs on a starved CPU, one reloading → 0 failures, 0 logouts, ≤ 1 reused (the reload race) per run`, async (t) => {
    const soak = await stack({ AUTHFLIGHT_ACCESS_SECONDS: SOAK_ACCESS_SECONDS });
    t.after(() => soak.stop());
    const { server, browser } = soak;
    let sink = null;
    await browser.context.exposeFunction('soakLog', (json) => sink?.(JSON.parse(json)));

    const busy = startBusy(SOAK_BUSY);
    t.after(() => busy.stop());
    const runs = [];
    for (let run = 0; run < SOAK_RUNS; run++) {
      await soak.freshSession();
      const tally = { ok: 0, sent: 0, cut: 0, failures: {}, failed: [], expired: 0, done: {}, loads: new Set(), events: [] };
      sink = (m) => {
        tally.loads.add(`${m.tab}.${m.load}`);
        if (m.kind === 'count') {
          tally.ok += m.ok;
          tally.sent += m.sent;
          tally.cut += m.cut;
        } else if (m.kind === 'fail') {
          const key = String(m.what) + (m.cause ? `(${m.cause})` : '');
          tally.failures[key] = (tally.failures[key] || 0) + 1;
          if (tally.failed.length < 10) tally.failed.push(m);
        } else if (m.kind === 'expired') tally.expired++;
        else if (m.kind === 'event') tally.events.push(m);
        else if (m.kind === 'done') tally.done[m.tab] = m;
      };
      const until = Date.now() + 1500 + SOAK_MS;
      const tabs = ['t0', 't1', 't2', 'r'];
      const pages = await Promise.all(
        tabs.map(async (tab) => {
          const page = await browser.newPage();
          page.on('pageerror', (e) => console.error(`[page error ${tab}] ${e.message}`));
          const cdp = await browser.context.newCDPSession(page);
          const throttle = () => cdp.send('Emulation.setCPUThrottlingRate', { rate: SOAK_CPU_RATE }).catch(() => {});
          await throttle();
          // Re-applied on every load of the reloading tab, in case a navigation drops it.
          page.on('framenavigated', (f) => f === page.mainFrame() && throttle());
          const reload = (tab === 'r' ? '&reload=700' : '') + (SOAK_DEBUG ? '&debug=1' : '');
          await page.goto(`${server.url}/soak.html?tab=${tab}&until=${until}&every=50${reload}`, { waitUntil: 'commit' });
          return page;
        }),
      );
      // A request may take two refresh cycles, each bounded by lockTimeoutMs + refreshTimeoutMs (+ a
      // confirmation): a tab whose requests are still pending after that is reported, not awaited.
      const deadline = until + 2 * (LOCK_TIMEOUT_MS + REFRESH_TIMEOUT_MS) + CONFIRM_DELAY_MS + SLACK_MS;
      while (Object.keys(tally.done).length < tabs.length && Date.now() < deadline) await sleep(100);
      const s = await server.stats();
      const stuck = {};
      for (const [i, tab] of tabs.entries()) {
        if (tally.done[tab]) continue;
        const snap = pages[i].evaluate(() => window.SOAK?.snapshot?.() ?? null).catch((e) => String(e));
        stuck[tab] = await Promise.race([snap, sleep(3000).then(() => 'no answer')]);
      }
      await Promise.all(pages.map((p) => p.close().catch(() => {})));
      sink = null;
      const r = {
        run: run + 1,
        requests_ok: tally.ok,
        sent: tally.sent,
        cut_by_reload: tally.cut,
        unsettled: tally.sent - tally.ok - tally.cut - sum(Object.values(tally.failures)),
        failures: tally.failures,
        logouts: tally.expired + Object.values(tally.done).filter((d) => d.sessionExpired).length,
        loads: tally.loads.size,
        tabs_done: Object.keys(tally.done).length,
        ...(Object.keys(stuck).length ? { stuck } : {}),
        ...counts(s),
        first_failures: tally.failed,
      };
      runs.push(r);
      t.diagnostic(`soak run ${run + 1}: ${JSON.stringify(r)}`);
      if (SOAK_DEBUG) {
        const file = join(ROOT, `target/test-logs/soak-run-${run + 1}.json`);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, JSON.stringify({ summary: r, refresh_log: s.refresh_log, events: tally.events }));
        t.diagnostic(`soak run ${run + 1}: every client event and the server's refresh log in ${file}`);
      }
    }
    record(t, 's3_soak', {
      access_seconds: Number(SOAK_ACCESS_SECONDS),
      cpu_throttling: SOAK_CPU_RATE,
      busy_threads: SOAK_BUSY,
      runs: runs.map(({ first_failures, ...r }) => r),
    });
    for (const r of runs) {
      const label = `run ${r.run}: ${JSON.stringify(r)}`;
      assert.equal(r.tabs_done, 4, `every tab finished its run; ${label}`);
      assert.ok(r.requests_ok > 0, `requests went through; ${label}`);
      assert.deepEqual(r.failures, {}, `client-visible failures; ${label}`);
      assert.equal(r.logouts, 0, `logouts; ${label}`);
      // Known race, not yet closed (README, "Every wait is bounded"): a page that unloads mid-refresh
      // releases the lock while its keepalive call rotates, and the next holder's view of the marker
      // cookie can lag behind its `f` on a starved machine, so it presents the same token once. The
      // server rejects the second presentation and the client's confirmation recovers: no failure,
      // no logout (asserted above). More than one per run is a regression.
      assert.ok(r.refresh_reused <= 1, `refresh tokens presented twice: ${r.refresh_reused}; ${label}`);
      if (r.refresh_reused) t.diagnostic(`soak run ${r.run}: the reload race presented a token twice (no failure, no logout)`);
    }
  });

  test('4. refresh view authenticates the access cookie: GETs just after the JWT exp → no logout, all succeed', async (t) => {
    const ACCESS_S = 3;
    const COOKIE_SLACK_S = 1;
    const auth = await stack({
      AUTHFLIGHT_REFRESH_AUTHENTICATES: '1',
      AUTHFLIGHT_ACCESS_SECONDS: String(ACCESS_S),
      AUTHFLIGHT_ACCESS_COOKIE_SLACK_SECONDS: String(COOKIE_SLACK_S),
    });
    t.after(() => auth.stop());
    const { server, browser } = auth;
    const [page] = await auth.tabs(1, '', t);
    // The cookie lives ACCESS_S + COOKIE_SLACK_S from the login's answer; Simple JWT truncates `exp`
    // to the second, so the cookie outlives `exp` by 1 to 2 s (more if the login was slow). The GETs
    // go FIRE_BEFORE_COOKIE_END_MS before the cookie ends (and after `exp`): the first refresh carries
    // the expired cookie and gets a 401 from the authentication; a retry confirmDelayMs later no
    // longer carries it. Page, server and test share one clock.
    const FIRE_BEFORE_COOKIE_END_MS = 700;
    await browser.context.clearCookies();
    const login = await page.evaluate(() => T.loginInfo());
    assert.equal(login.status, 200, 'login');
    await server.reset();
    const loginCookie = (await browser.context.cookies(server.url)).find((c) => c.name === 'access');
    assert.ok(loginCookie, 'the login set the access cookie');
    const cookieEnd = loginCookie.expires * 1000;
    const fireAt = Math.max(login.exp * 1000 + 100, cookieEnd - FIRE_BEFORE_COOKIE_END_MS);
    await page.evaluate((at) => T.at(at), fireAt);
    const jar = await browser.context.cookies(server.url);
    const access = jar.find((c) => c.name === 'access');
    const cookieLeftMs = access ? Math.round(access.expires * 1000 - Date.now()) : null;
    const burst = await page.evaluate(([limitMs]) => T.timedBurst(5, 's4', { limitMs }), [LOCK_TIMEOUT_MS + REFRESH_TIMEOUT_MS + CONFIRM_DELAY_MS + SLACK_MS]);
    await sleep(200);
    const s = await server.stats();
    const st = await state(page);
    record(t, 's4_refresh_authenticates', {
      worst_ms: burst.maxMs,
      results: [...new Set(burst.results.map((r) => brief(r).replace(/ \d+ms$/, '')))],
      access_cookie_left_ms_at_fire: cookieLeftMs,
      access_cookie_outlived_exp_ms: Math.round(cookieEnd - login.exp * 1000),
      fired_after_exp_ms: Math.round(fireAt - login.exp * 1000),
      refresh_auth_rejected: s.refresh_auth_rejected,
      refresh_log: s.refresh_log.map((e) => `${e.status}@${Math.round(e.end - fireAt)}ms`),
      ...counts(s),
      logouts: st.expired[0],
    });
    assert.ok(cookieLeftMs > 300, `the browser still held the access cookie when the GETs were sent (${cookieLeftMs} ms left)`);
    assert.ok(s.refresh_auth_rejected >= 1, 'a refresh carried the expired access cookie and the authentication answered 401');
    assertNoLogout([st], 's4');
    assert.deepEqual(burst.results.map(brief).filter((x) => !x.startsWith('200 ')), [], 'every GET succeeds');
    assert.equal(s.refresh_succeeded, 1, 'one refresh succeeded');
    assert.equal(s.refresh_reused, 0, 'refresh tokens presented twice');
  });

  test('4b. a real expiry still ends the session: every waiter session_expired, the app told once, ~confirmDelayMs later', async (t) => {
    const { server } = main;
    await main.freshSession();
    const [page] = await main.tabs(1, '', t);
    await server.post('/api/test/expire-access/');
    await server.post('/api/test/invalidate-refresh/');
    const limitMs = CONFIRM_DELAY_MS + REFRESH_TIMEOUT_MS + SLACK_MS;
    const burst = await page.evaluate(([limit]) => T.timedBurst(5, 's4b', { limitMs: limit }), [limitMs]);
    await sleep(300);
    const s = await server.stats();
    const st = await state(page);
    const firstRejection = s.refresh_log.find((e) => e.status === 401);
    const heard = st.expiredAt[0][0];
    const heardAfterMs = firstRejection && heard ? Math.round(heard - firstRejection.end) : null;
    record(t, 's4b_real_expiry', {
      worst_ms: burst.maxMs,
      results: [...new Set(burst.results.map((r) => brief(r).replace(/ \d+ms$/, '')))],
      heard_after_first_rejection_ms: heardAfterMs,
      expired_listener_calls: st.expired[0],
      refresh_log: s.refresh_log.map((e) => `${e.status}@${Math.round(e.end - (firstRejection?.end ?? 0))}ms`),
      ...counts(s),
    });
    assert.deepEqual(burst.results.map((r) => r.error), Array(5).fill('session_expired'), `every waiter: ${burst.results.map(brief)}`);
    assert.equal(st.expired[0], 1, 'onSessionExpired fired once');
    assert.ok(st.sessionExpired[0], 'the client knows the session is over');
    assert.equal(s.refresh_reused, 0, 'retrying a rejected refresh token is not reuse');
    assert.equal(s.refresh_calls, 2, 'the rejection was confirmed by one retry');
    assert.ok(heardAfterMs !== null && heardAfterMs >= CONFIRM_DELAY_MS - 50, `the confirmation waited confirmDelayMs: heard ${heardAfterMs} ms after the first rejection`);
    assert.ok(heardAfterMs <= CONFIRM_DELAY_MS + SLACK_MS, `the app heard of the expiry within confirmDelayMs + slack: ${heardAfterMs} ms`);
  });
});

/** `n` threads spinning on the host's CPUs until stop() (for AUTHFLIGHT_SOAK_BUSY). */
function startBusy(n) {
  const workers = Array.from(
    { length: n },
    () => new Worker('const { parentPort } = require("node:worker_threads"); let go = true; parentPort.on("message", () => (go = false)); (function spin() { const end = Date.now() + 50; while (Date.now() < end); if (go) setImmediate(spin); })();', { eval: true }),
  );
  return { stop: () => Promise.all(workers.map((w) => w.terminate())) };
}
