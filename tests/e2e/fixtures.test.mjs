// authflight as apps install it: the packed tarball extracted into tests/fixtures/node_modules/authflight
// (what `npm install <tarball>` does), used by the fixture apps under tests/fixtures/ with their own
// toolchains, exactly as a registry install behaves (no symlink, no file: dependency).
//
//   scripts/build-pkg.sh && node --test tests/e2e/fixtures.test.mjs
//   AUTHFLIGHT_TARBALL=/tmp/p/pkg.tgz node --test tests/e2e/fixtures.test.mjs   (another build)
//
// tests/fixtures/package.json + package-lock.json hold every third-party dependency of every app at
// exact versions, installed once (`npm ci`, skipped while node_modules/.lock-stamp equals the lockfile;
// scripts/setup.sh does the same up front) and shared by the apps through Node's parent-directory
// resolution. authflight is not in that lockfile: every run extracts the tarball afresh.
//
// - package: publint and attw (`--profile esm-only`, the wasm asset export excluded) on the tarball.
// - node/: a plain Node program using the app's API module: one refresh for a burst, and the
//   process ends by itself.
// - vitest/: the app's API module (`await init()` at its top, no setup file) against a mocked fetch,
//   in Vitest's node, jsdom and happy-dom environments.
// - jest/: the same tests in Jest's ESM mode ("type": "module" + NODE_OPTIONS=--experimental-vm-modules,
//   no other config) in its node environment and in jsdom (jest-fixed-jsdom), and the API module
//   loading in stock jest-environment-jsdom.
// - vite-app/: Vite + React + TypeScript on Vite's defaults with authflight/react: strict tsc
//   (skipLibCheck false; TypeScript 5.9 and 7), vite build, then dist/ served by the real Django
//   server (same origin) in headless Chromium: a burst after expiry is one refresh; and the login
//   flow: a logged-out visit ends in "session expired", a login with a plain fetch and no
//   markLoggedIn(), then requests work and the next expiry is one refresh again.
// - next-app/: Next.js App Router with <AuthProvider> in a Server Component layout: next build, then
//   next start with /api/* rewritten to the Django server, a login and a burst after expiry.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { launchBrowser } from './lib/browser.mjs';
import { ROOT, freePort, startServer } from './lib/server.mjs';

const FIXTURES = join(ROOT, 'tests/fixtures');
const MODULES = join(FIXTURES, 'node_modules');
const TARBALL = resolve(process.env.AUTHFLIGHT_TARBALL || join(ROOT, 'target/authflight.tgz'));
const USER = { username: 'demo', password: 'demo-password-123' };
const BURST = 20;
const bin = {
  publint: join(MODULES, 'publint/src/cli.js'),
  attw: join(MODULES, '@arethetypeswrong/cli/dist/index.js'),
  tsc: join(MODULES, 'typescript/bin/tsc'),
  tsc7: join(MODULES, 'typescript-7/bin/tsc'),
  vite: join(MODULES, 'vite/bin/vite.js'),
  vitest: join(MODULES, 'vitest/vitest.mjs'),
  jest: join(MODULES, 'jest/bin/jest.js'),
  next: join(MODULES, 'next/dist/bin/next'),
};
// Child processes: no colours in failure messages, no telemetry, no update nags.
const QUIET = { NO_COLOR: '1', FORCE_COLOR: '0', NEXT_TELEMETRY_DISABLED: '1', npm_config_update_notifier: 'false' };
const children = new Set(); // process groups still running (next start), killed on exit
process.once('exit', () => {
  for (const c of children) kill(c, 'SIGKILL');
});

function kill(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* gone */
  }
}

const tail = (text, n = 60) => text.trimEnd().split('\n').slice(-n).join('\n');
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Runs `cmd args` in `cwd` (its own process group); resolves to { out, ms, code } when it exits 0
 * (or at all, with `anyExit`), rejects with the command, its exit and the tail of its output
 * otherwise (or after `timeout` ms).
 */
function run(cmd, args, { cwd = FIXTURES, env = {}, timeout = 300_000, anyExit = false } = {}) {
  const line = `${cmd === process.execPath ? 'node' : cmd} ${args.map((a) => a.replace(`${FIXTURES}/`, '')).join(' ')} (in ${cwd.replace(`${ROOT}/`, '')})`;
  const started = Date.now();
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...QUIET, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      kill(child, 'SIGKILL');
    }, timeout);
    child.once('error', (e) => {
      clearTimeout(timer);
      children.delete(child);
      fail(new Error(`${line}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      const ms = Date.now() - started;
      if (code === 0 || (anyExit && code !== null && !timedOut)) return ok({ out, ms, code });
      const why = timedOut ? `timed out after ${secs(timeout)}` : `exited ${code ?? signal}`;
      fail(new Error(`${line} ${why} after ${secs(ms)}:\n${tail(out)}`));
    });
  });
}

/** `npm ci` in tests/fixtures unless node_modules/.lock-stamp equals package-lock.json. */
async function ensureInstalled() {
  const lock = readFileSync(join(FIXTURES, 'package-lock.json'));
  const stamp = join(MODULES, '.lock-stamp');
  if (existsSync(stamp) && readFileSync(stamp).equals(lock)) return 'installed already (lock stamp matches)';
  const { ms } = await run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { timeout: 900_000 });
  writeFileSync(stamp, lock);
  return `npm ci: ${secs(ms)}`;
}

/** The tarball into node_modules/authflight, as npm installs a tarball (its `package/` folder's contents). */
async function extractTarball() {
  assert.ok(existsSync(TARBALL), `${TARBALL} is missing: run scripts/build-pkg.sh first (or set AUTHFLIGHT_TARBALL)`);
  const dir = join(MODULES, 'authflight');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  await run('tar', ['-xzf', TARBALL, '-C', dir, '--strip-components=1']);
  for (const f of ['package.json', 'authflight.js', 'react.js', 'core_bg.wasm']) {
    assert.ok(existsSync(join(dir, f)), `the tarball has no ${f}`);
  }
}

let server; // the real Django backend; the vite app's dist/ is its static root
let browser; // one Chromium; each scenario clears its cookies and opens a fresh tab
let nextApp; // { url, child } of `next start`
const built = {}; // which builds passed, so that later steps say why they cannot run

/** A fresh tab with no cookies; page errors are collected into `errors`. */
async function freshPage(t) {
  await browser.context.clearCookies();
  for (const p of browser.context.pages()) await p.close();
  const page = await browser.newPage();
  page.setDefaultTimeout(20_000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && errors.push(m.text()));
  t.after(() => page.close().catch(() => {}));
  return { page, errors };
}

/** Counts of the server since its last reset, with the refresh log left out. */
async function serverCounts() {
  const s = await server.stats();
  return { refresh_calls: s.refresh_calls, refresh_succeeded: s.refresh_succeeded, refresh_reused: s.refresh_reused };
}

/** Fires `BURST` requests through the page's client right after an expiry; asserts one refresh. */
async function burstAfterExpiry(page, errors, what) {
  await server.reset();
  await server.post('/api/test/expire-access/');
  const outcomes = await page.evaluate((n) => window.harness.burst(n), BURST);
  const counts = await serverCounts();
  const ok = outcomes.filter((o) => o.status === 200).length;
  assert.equal(ok, BURST, `${what}: ${ok} of ${BURST} requests answered 200; outcomes: ${JSON.stringify(outcomes)}; page errors: ${errors.join(' | ')}`);
  assert.equal(counts.refresh_calls, 1, `${what}: the server saw ${counts.refresh_calls} refresh calls for one expiry: ${JSON.stringify(counts)}`);
  assert.equal(counts.refresh_succeeded, 1, `${what}: ${JSON.stringify(counts)}`);
  assert.equal(counts.refresh_reused, 0, `${what}: a refresh token was presented twice: ${JSON.stringify(counts)}`);
}

describe('fixture apps: the packed tarball, installed as a registry install does', () => {
  before(async () => {
    const t0 = Date.now();
    const install = await ensureInstalled();
    await extractTarball();
    console.log(`fixtures: ${install}; tarball ${TARBALL} extracted (${secs(Date.now() - t0)})`);
    [server, browser] = await Promise.all([
      startServer({ staticDir: join(FIXTURES, 'vite-app/dist') }),
      launchBrowser(),
    ]);
  });

  after(async () => {
    if (nextApp) {
      kill(nextApp.child, 'SIGTERM');
      children.delete(nextApp.child);
    }
    await browser?.close();
    await server?.stop();
  });

  test('publint on the tarball: no errors, warnings or suggestions', async () => {
    const { out } = await run(process.execPath, [bin.publint, 'run', TARBALL, '--strict']);
    assert.match(out, /All good!/, `publint found something:\n${out}`);
  });

  test('attw on the tarball (--profile esm-only, the ./core_bg.wasm asset excluded): no problems', async () => {
    // `--profile esm-only`: the package is ESM only, so node10 and require() from node16 are not
    // checked. `./core_bg.wasm` is an asset export (no types to resolve), which attw would report
    // as NoResolution.
    const { out, code } = await run(process.execPath, [
      bin.attw, TARBALL, '--profile', 'esm-only', '--exclude-entrypoints', './core_bg.wasm', '--format', 'json',
    ], { anyExit: true });
    // attw exits non-zero on any problem its profile does not ignore; `problems` (grouped by kind)
    // then still lists the ignored ones (CJSResolvesToESM under node16-cjs), so they are filtered here too.
    let report;
    try {
      report = JSON.parse(out.slice(out.indexOf('{')));
    } catch {
      assert.fail(`attw exited ${code} without a JSON report:\n${tail(out)}`);
    }
    const problems = Object.values(report.problems ?? {}).flat();
    const counted = problems.filter((p) => !['node10', 'node16-cjs'].includes(p.resolutionKind));
    assert.deepEqual(counted, [], `attw: ${JSON.stringify(counted)}`);
    assert.equal(code, 0, `attw exited ${code}:\n${tail(out)}`);
    const entries = Object.keys(report.analysis.entrypoints);
    for (const e of ['.', './react', './axios']) assert.ok(entries.includes(e), `attw did not check ${e}: ${entries}`);
  });

  test('node: a program using the API module gets one refresh for a burst and exits by itself', async () => {
    // Nothing calls process.exit(): a client timer or channel left alive would hang it (killed at 20 s).
    const { out, ms } = await run(process.execPath, ['main.mjs'], { cwd: join(FIXTURES, 'node'), timeout: 20_000 });
    const r = JSON.parse(out.trim().split('\n').pop());
    assert.deepEqual({ statuses: r.statuses, refreshes: r.refreshes }, { statuses: [200], refreshes: 1 }, out);
    assert.ok(ms < 10_000, `the process took ${secs(ms)} to end after its work`);
  });

  for (const env of ['node', 'jsdom', 'happy-dom']) {
    test(`vitest, ${env} environment: the app's API module with a mocked fetch, no setup code`, async () => {
      const report = join(mkdtempSync(join(tmpdir(), 'authflight-vitest-')), 'report.json');
      try {
        const { out } = await run(
          process.execPath,
          [bin.vitest, 'run', '--project', env, '--reporter=default', '--reporter=json', `--outputFile.json=${report}`],
          { cwd: join(FIXTURES, 'vitest'), timeout: 120_000 },
        ).catch((e) => {
          throw new Error(`vitest (${env}) failed:\n${e.message}`);
        });
        const r = JSON.parse(readFileSync(report, 'utf8'));
        assert.ok(r.numTotalTests >= 2 && r.numPassedTests === r.numTotalTests, `vitest (${env}): ${r.numPassedTests} of ${r.numTotalTests} passed\n${tail(out)}`);
      } finally {
        rmSync(dirname(report), { recursive: true, force: true });
      }
    });
  }

  describe('jest (ESM: "type": "module" + NODE_OPTIONS=--experimental-vm-modules, no other config)', () => {
    let results; // test file name -> Jest's result for it
    let failure;
    before(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'authflight-jest-'));
      const report = join(dir, 'report.json');
      try {
        await run(process.execPath, [bin.jest, '--ci', '--json', `--outputFile=${report}`], {
          cwd: join(FIXTURES, 'jest'),
          env: { NODE_OPTIONS: '--experimental-vm-modules' },
          timeout: 180_000,
        }).catch((e) => (failure = e.message)); // a failing file: each test below reports its own
        if (!existsSync(report)) throw new Error(`jest wrote no report:\n${failure}`);
        const r = JSON.parse(readFileSync(report, 'utf8'));
        results = new Map(r.testResults.map((f) => [f.name.split('/').pop(), f]));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    const check = (file, min) => {
      const f = results.get(file);
      assert.ok(f, `jest ran no ${file}; it ran ${[...results.keys()]}\n${failure ?? ''}`);
      const passed = f.assertionResults.filter((a) => a.status === 'passed').length;
      const why = f.message || f.assertionResults.flatMap((a) => a.failureMessages).join('\n');
      assert.ok(f.status === 'passed' && passed >= min, `jest ${file}: ${f.status}, ${passed} passed:\n${tail(why, 40)}`);
    };
    test('jest, node environment: the app module with a mocked fetch', () => check('api.node.test.js', 2));
    test('jest, jsdom environment (jest-fixed-jsdom): the app module with a mocked fetch', () => check('api.jsdom.test.js', 2));
    test('jest, stock jest-environment-jsdom: the app module loads and builds its client', () => check('api.plain-jsdom.test.js', 1));
  });

  describe('vite-app: Vite + React + TypeScript, Vite defaults', () => {
    const app = join(FIXTURES, 'vite-app');

    test('tsc --noEmit, strict, skipLibCheck false (TypeScript 5.9)', async () => {
      await run(process.execPath, [bin.tsc, '--noEmit', '-p', app]);
    });

    test('tsc --noEmit, strict, skipLibCheck false (TypeScript 7, native)', async () => {
      await run(process.execPath, [bin.tsc7, '--noEmit', '-p', app]);
    });

    test('vite build (default build.target, no plugin for wasm)', async () => {
      rmSync(join(app, 'dist'), { recursive: true, force: true });
      const { out } = await run(process.execPath, [bin.vite, 'build'], { cwd: app, timeout: 180_000 });
      assert.match(out, /\.wasm/, `vite emitted no .wasm asset:\n${out}`);
      assert.ok(existsSync(join(app, 'dist/index.html')), 'no dist/index.html');
      built.vite = true;
    });

    test('in Chromium, same origin as the API: logged in, expiry, a burst of 20: one refresh, all 200', async (t) => {
      assert.ok(built.vite, 'vite build failed (above): nothing to serve');
      const { page, errors } = await freshPage(t);
      // Signed in before the visit (the context's request API shares the browser's cookie jar).
      const login = await browser.context.request.post(`${server.url}/api/auth/login/`, { data: USER });
      assert.equal(login.status(), 200, `login: ${await login.text()}`);
      await page.goto(`${server.url}/`);
      await page.waitForFunction(() => document.getElementById('user')?.textContent === 'demo', null).catch(async () => {
        throw new Error(`the app never showed the user: ${await page.content()}\n${errors.join('\n')}`);
      });
      await burstAfterExpiry(page, errors, 'vite app');
      assert.deepEqual(errors, [], 'page errors');
    });

    test('login flow: logged-out visit, plain-fetch login without markLoggedIn(), expiry, burst: one refresh, all 200', async (t) => {
      assert.ok(built.vite, 'vite build failed (above): nothing to serve');
      const { page, errors } = await freshPage(t);
      await server.reset();
      // 1. A logged-out visit: the app checks who is signed in, 401, the refresh is rejected (and
      //    confirmed once, confirmDelayMs later): the client is in "session expired".
      await page.goto(`${server.url}/`);
      await page.waitForFunction(() => document.getElementById('user')?.textContent === 'logged out', null).catch(async () => {
        throw new Error(`the logged-out visit did not end in 'logged out': ${await page.locator('main').textContent().catch(() => '')}\n${errors.join('\n')}`);
      });
      let state = await page.evaluate(() => window.harness.state());
      assert.equal(state.expired, true, `the client is in "session expired": ${JSON.stringify(state)}`);
      assert.equal(state.expiredEvents, 1, `one session_expired event: ${JSON.stringify(state)}`);
      assert.equal((await server.stats()).refresh_succeeded, 0);

      // 2. A login with a plain fetch; the app never calls markLoggedIn().
      assert.equal(await page.evaluate(({ username, password }) => window.harness.login(username, password), USER), 200);

      // 3. The next request through the client is sent and succeeds, and that ends "session expired".
      const me = await page.evaluate(() => window.harness.me());
      assert.deepEqual(me, { status: 200, username: 'demo' }, `a request after the login: ${JSON.stringify(me)}`);
      await page.waitForFunction(() => document.getElementById('session')?.textContent === 'live', null).catch(async () => {
        throw new Error(`the client still says "session expired" after a successful request: ${JSON.stringify(await page.evaluate(() => window.harness.state()))}`);
      });

      // 4. The next expiry: one refresh for the whole burst, every request answered.
      await burstAfterExpiry(page, errors, 'after a login without markLoggedIn()');
      state = await page.evaluate(() => window.harness.state());
      assert.equal(state.expired, false, JSON.stringify(state));
      assert.equal(state.expiredEvents, 1, `no second session_expired: ${JSON.stringify(state)}`);
      assert.deepEqual(errors, [], 'page errors');
    });
  });

  describe('next-app: Next.js App Router, <AuthProvider> in a Server Component layout', () => {
    const app = join(FIXTURES, 'next-app');
    const env = () => ({ AUTHFLIGHT_API_ORIGIN: server.url });

    test('next build', { timeout: 400_000 }, async (t) => {
      rmSync(join(app, '.next'), { recursive: true, force: true });
      const { out, ms } = await run(process.execPath, [bin.next, 'build'], { cwd: app, env: env(), timeout: 360_000 });
      assert.match(out, /Compiled successfully/, out);
      t.diagnostic(`next build: ${secs(ms)}`);
      built.next = true;
    });

    test('next start, rewrites /api/* to Django: server HTML is the fallback; login, expiry, burst: one refresh, all 200', async (t) => {
      assert.ok(built.next, 'next build failed (above): nothing to start');
      const port = await freePort();
      const child = spawn(process.execPath, [bin.next, 'start', '--port', String(port), '--hostname', '127.0.0.1'], {
        cwd: app,
        env: { ...process.env, ...QUIET, ...env() },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      let log = '';
      child.stdout.on('data', (d) => (log += d));
      child.stderr.on('data', (d) => (log += d));
      nextApp = { url: `http://127.0.0.1:${port}`, child };
      t.after(() => {
        kill(child, 'SIGTERM');
        children.delete(child);
        nextApp = null;
      });

      // Ready when it serves the page: its HTML is the provider's fallback (rendered on the server).
      let html = '';
      const deadline = Date.now() + 60_000;
      while (!html) {
        if (child.exitCode !== null) throw new Error(`next start exited ${child.exitCode}:\n${tail(log)}`);
        try {
          const res = await fetch(`${nextApp.url}/`, { signal: AbortSignal.timeout(5000) });
          if (res.ok) html = await res.text();
        } catch {
          /* not up yet */
        }
        if (!html) {
          if (Date.now() > deadline) throw new Error(`next start: no page after 60 s:\n${tail(log)}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      assert.match(html, /<p id="loading">Loading…<\/p>/, `the server-rendered HTML has the provider's fallback:\n${html.slice(0, 2000)}`);
      assert.doesNotMatch(html, /id="ready"/, 'the server rendered the children, which need the client');

      const { page, errors } = await freshPage(t);
      await page.goto(`${nextApp.url}/`);
      await page.waitForFunction(() => document.getElementById('ready') && window.harness, null).catch(async () => {
        throw new Error(`the page never became ready: ${await page.content()}\n${errors.join('\n')}\n${tail(log)}`);
      });
      await server.reset();
      assert.equal(await page.evaluate(({ username, password }) => window.harness.login(username, password), USER), 200, 'login through the rewrite');
      assert.deepEqual(await page.evaluate(() => window.harness.me()), { status: 200 }, 'a request through the client');
      await burstAfterExpiry(page, errors, 'next app');
      assert.equal(await page.locator('#session').textContent(), 'live');
      assert.deepEqual(errors, [], 'page errors');
    });
  });
});
