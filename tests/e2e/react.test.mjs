// authflight/react as an app uses it: the package copied into a fixture's node_modules (as a
// registry install puts it), imported as 'authflight/react', with the app's React.
//
//   scripts/build-pkg.sh && node --test tests/e2e/react.test.mjs
//   AUTHFLIGHT_PKG=/abs/pkg ...                 another package build
//   AUTHFLIGHT_REACT_DIR=/abs/node_modules ...  another React (a node_modules holding react and
//                                               react-dom, e.g. React 18); default: www's
//
// In Node (react-dom/server): the server renders the fallback, never calls init(), never builds a
// client, never reads window or document. In headless Chromium against the real Django server, on
// a page that hydrates that server HTML under StrictMode (a development build of React, so
// renders and effects run twice): the hydrated fallback stays until the wasm loads, which only
// starts after hydration; one client for the page whatever mounts it; a burst fired from a
// StrictMode effect after expiry is one refresh at the server; useSessionExpired and
// useAuthEvent follow the client once; errors reach the error boundary.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launchBrowser } from './lib/browser.mjs';
import { ROOT, startServer } from './lib/server.mjs';
import { WWW, ensureWwwBuilt } from './lib/www.mjs';

const PKG = resolve(process.env.AUTHFLIGHT_PKG || join(ROOT, 'pkg'));
const PAGES = join(ROOT, 'tests/e2e/pages');
const BURST = 20; // requests per run of the effect; StrictMode runs it twice

let fixture; // a temporary app directory: node_modules/{authflight (a copy), react, react-dom (links)}
let server;
let browser;
let page;
let ssr; // what the server render produced (react-node.mjs ssr)
const consoleErrors = [];
const wasmRequests = [];

/** Runs pages/react-node.mjs `mode` in the fixture; resolves to its JSON line. */
function inNode(mode) {
  return new Promise((ok, fail) => {
    execFile(process.execPath, ['react-node.mjs', mode], { cwd: fixture, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) return fail(new Error(`react-node.mjs ${mode}: ${err.message}\n${stderr}`));
      try {
        ok(JSON.parse(stdout.trim().split('\n').pop()));
      } catch (e) {
        fail(new Error(`react-node.mjs ${mode} printed no JSON: ${stdout}\n${stderr}`));
      }
    });
  });
}

before(async () => {
  for (const f of ['react.js', 'react.d.ts', 'authflight.js', 'core_bg.wasm']) {
    assert.ok(existsSync(join(PKG, f)), `${PKG}/${f} is missing: run scripts/build-pkg.sh first`);
  }
  let reactDir = process.env.AUTHFLIGHT_REACT_DIR && resolve(process.env.AUTHFLIGHT_REACT_DIR);
  if (!reactDir) {
    reactDir = join(WWW, 'node_modules');
    if (!existsSync(join(reactDir, 'react-dom'))) ensureWwwBuilt(); // installs www's dependencies
  }
  for (const m of ['react', 'react-dom']) assert.ok(existsSync(join(reactDir, m)), `no ${m} in ${reactDir}`);

  fixture = mkdtempSync(join(tmpdir(), 'authflight-react-'));
  const modules = join(fixture, 'node_modules');
  mkdirSync(modules);
  cpSync(PKG, join(modules, 'authflight'), { recursive: true, dereference: true });
  for (const m of ['react', 'react-dom']) symlinkSync(join(reactDir, m), join(modules, m), 'dir');
  writeFileSync(join(fixture, 'package.json'), '{ "private": true, "type": "module" }\n');
  copyFileSync(join(PAGES, 'react-app.mjs'), join(fixture, 'app.mjs'));
  copyFileSync(join(PAGES, 'react-main.mjs'), join(fixture, 'main.mjs'));
  copyFileSync(join(PAGES, 'react-node.mjs'), join(fixture, 'react-node.mjs'));

  // The server's HTML first: the page hydrates exactly that.
  ssr = await inNode('ssr');
  const www = join(fixture, 'www');
  mkdirSync(www);
  const { build } = await import('esbuild');
  await build({
    absWorkingDir: fixture,
    entryPoints: ['main.mjs'],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile: join(www, 'app.js'),
    define: { 'process.env.NODE_ENV': '"development"' },
    logLevel: 'warning',
  });
  copyFileSync(join(modules, 'authflight', 'core_bg.wasm'), join(www, 'core_bg.wasm')); // next to the bundle
  writeFileSync(
    join(www, 'index.html'),
    `<!doctype html><html><head><meta charset="utf-8"><title>authflight/react</title>
<script>
  // Counts the clients' channels (one per client with crossTab on) before any module runs.
  window.channels = [];
  const Real = BroadcastChannel;
  window.BroadcastChannel = class extends Real { constructor(name) { super(name); window.channels.push(name); } };
</script></head>
<body><div id="root">${ssr.html}</div>
<script>window.ssrFallback = document.getElementById('fallback');</script>
<script type="module" src="/app.js"></script></body></html>\n`,
  );

  [server, browser] = await Promise.all([startServer({ staticDir: www }), launchBrowser()]);
  page = browser.context.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(15_000);
  // React's warnings and errors (a hydration mismatch among them); the browser's own network
  // lines ("Failed to load resource": the 401s the tests provoke) are not the app's.
  page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  page.on('request', (r) => r.url().endsWith('/core_bg.wasm') && wasmRequests.push(r.url()));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (fixture) rmSync(fixture, { recursive: true, force: true });
});

const authflightClients = () => page.evaluate(() => window.channels.filter((n) => n.startsWith('authflight:')).length);
const probe = () =>
  page.evaluate(() => ({ ...window.probe, clients: window.probe.clients.size, bursts: window.probe.bursts }));

test('server render: the fallback, no init(), no client, no window or document', () => {
  const fallback = '<p id="fallback">Loading authflight…</p>';
  assert.equal(ssr.html, fallback, 'renderToString renders the fallback only');
  assert.ok(ssr.streamed.includes(fallback) && !ssr.streamed.includes('app ready'), `streamed: ${ssr.streamed}`);
  assert.equal(ssr.renders, 0, 'the children never rendered');
  assert.ok(ssr.invalid.includes('id="fallback"'), 'invalid options do not throw on the server (the browser reports them)');
  assert.match(ssr.outside, /useAuthClient\(\) must be used inside <AuthProvider>/);
  assert.deepEqual(ssr.construct, { name: 'AuthError', code: 'invalid_call' }, 'init() never ran');
  assert.deepEqual(ssr.calls, { fetch: 0, wasm: 0, channels: 0 }, 'no fetch, no wasm, no client');
  assert.deepEqual(ssr.touched.map((t) => `${t.name}: ${t.stack}`), [], 'the package read no browser global');
});

test('hydration: the server fallback hydrates as is, the wasm loads after it, then the app; one client', async () => {
  let release;
  const held = new Promise((ok) => (release = ok));
  let requested;
  const wasmAsked = new Promise((ok) => (requested = ok));
  await page.route('**/core_bg.wasm', async (route) => {
    requested();
    await held;
    await route.continue();
  });
  await page.goto(`${server.url}/`);
  await wasmAsked;
  const during = await page.evaluate(() => {
    const fb = document.getElementById('fallback');
    return {
      same: fb !== null && fb === window.ssrFallback,
      hydrated: fb !== null && Object.keys(fb).some((k) => k.startsWith('__reactFiber')),
      app: document.getElementById('app') !== null,
    };
  });
  release();
  await page.locator('#app').waitFor();
  await page.unroute('**/core_bg.wasm');
  assert.deepEqual(during, { same: true, hydrated: true, app: false }, 'the wasm was asked for after hydration, with the fallback in place');
  assert.deepEqual(await page.evaluate(() => window.recoverable), [], 'no hydration error');
  assert.deepEqual(consoleErrors, []);
  assert.equal(wasmRequests.length, 1, 'init() loaded the wasm once');
  assert.equal(await authflightClients(), 1, 'one client, though StrictMode ran every render and effect twice');
  const p = await probe();
  assert.equal(p.clients, 1);
  assert.ok(p.renders >= 2, `StrictMode rendered the app twice: ${p.renders}`);
  assert.equal(p.mounts, 2, "StrictMode ran the app's mount effect twice");
});

test('StrictMode: another provider and getAuthClient with equal options get the same client', async () => {
  await page.evaluate(() => window.T.page('second'));
  await page.locator('#second #app').waitFor(); // at once: the client is ready
  const same = await page.evaluate(async () => (await window.T.getAuthClient({ ...window.T.OPTIONS })) === window.T.client());
  await page.evaluate(() => window.T.unmount('second'));
  assert.ok(same, 'getAuthClient gives the provider its client');
  assert.equal((await probe()).clients, 1);
  assert.equal(await authflightClients(), 1);
  assert.equal(wasmRequests.length, 1);
});

test('a burst fired from a StrictMode effect after expiry: one refresh at the server, every request ok', async () => {
  await page.evaluate(() => window.T.login());
  await server.reset();
  await server.post('/api/test/expire-access/');
  const before = await page.evaluate(() => window.T.client().stats().requests);
  await page.evaluate((n) => window.T.burst('burst', n, 'strict'), BURST);
  await page.waitForFunction(() => window.probe.bursts.length === 2, null, { timeout: 30_000 });
  const p = await probe();
  const s = await server.stats();
  const client = await page.evaluate(() => window.T.client().stats());
  await page.evaluate(() => window.T.unmount('burst'));
  const statuses = p.bursts.flat();
  assert.equal(statuses.length, 2 * BURST, 'StrictMode ran the effect twice');
  assert.deepEqual(statuses, statuses.map(() => 200), JSON.stringify(statuses));
  assert.equal(s.refresh_calls, 1, 'exactly one refresh at the server');
  assert.equal(s.refresh_reused, 0, 'no refresh token presented twice');
  assert.equal(s.protected_ok, 2 * BURST);
  assert.equal(client.requests - before, 2 * BURST, 'every request went through the one client');
  assert.equal(p.refreshStarted, 1, "useAuthEvent's listener was called once: one subscription despite StrictMode");
  assert.equal(await authflightClients(), 1);
});

test('useSessionExpired: true after a rejected refresh, its callback once per expiry; false after a login', async () => {
  await server.post('/api/test/invalidate-refresh/');
  await server.post('/api/test/expire-access/');
  const code = await page.evaluate(() => window.T.client().fetch('/api/me/', { cache: 'no-store' }).then((r) => r.status, (e) => e.code));
  assert.equal(code, 'session_expired');
  await page.locator('#app[data-expired="true"]').waitFor();
  assert.equal((await probe()).expiredCalls, 1, 'onExpired ran once (StrictMode subscribed once)');
  await page.evaluate(async () => {
    await window.T.login();
    window.T.client().markLoggedIn();
  });
  await page.locator('#app[data-expired="false"]').waitFor();
  const status = await page.evaluate(() => window.T.client().fetch('/api/me/', { cache: 'no-store' }).then((r) => r.status, (e) => e.code));
  assert.equal(status, 200);
  assert.deepEqual(consoleErrors, []);
});

test('errors reach the error boundary: invalid options, useAuthClient outside a provider', async () => {
  await page.evaluate(() => window.T.guarded('bad', { refreshUrl: '/api/auth/token/refresh/', nope: 1 }, 1));
  const bad = page.locator('#bad .caught');
  await bad.waitFor();
  assert.deepEqual(
    [await bad.getAttribute('data-name'), await bad.getAttribute('data-code'), await bad.getAttribute('data-field')],
    ['AuthError', 'invalid_config', 'nope'],
  );
  await page.evaluate(() => window.T.outside('outside'));
  assert.match(await page.locator('#outside .caught').textContent(), /useAuthClient\(\) must be used inside <AuthProvider>/);
  assert.equal(await authflightClients(), 1, 'no client for invalid options');
});

test('a failed init() reaches the error boundary; a later mount tries again', async () => {
  const tab = await browser.newPage();
  try {
    let asked = 0;
    await tab.route('**/core_bg.wasm', (route) => {
      asked++;
      return route.fulfill({ status: 404, contentType: 'text/plain', body: 'gone' });
    });
    await tab.goto(`${server.url}/?manual`);
    await tab.waitForFunction(() => typeof window.T === 'object');
    await tab.evaluate(() => window.T.guarded('g', { ...window.T.OPTIONS }, 1));
    const caught = tab.locator('#g .caught');
    await caught.waitFor();
    assert.ok((await caught.textContent()).length > 0, 'the boundary shows the error');
    assert.equal(asked, 1, 'StrictMode: one attempt');
    await tab.unroute('**/core_bg.wasm');
    await tab.evaluate(() => window.T.guarded('g', { ...window.T.OPTIONS }, 2)); // the boundary remounts
    await tab.locator('#g .ready').waitFor();
    assert.equal(await tab.evaluate(() => window.channels.filter((n) => n.startsWith('authflight:')).length), 1);
  } finally {
    await tab.close();
  }
});

test('getAuthClient in Node: equal options share a client, different ones do not, invalid ones reject and retry', async () => {
  const r = await inNode('cache');
  assert.deepEqual(r.same, { reordered: true, samePromise: true, sameFunction: true, headersByContent: true, mapByContent: true });
  assert.deepEqual(r.different, { otherFunction: true, otherHeaders: true, otherNumber: true, nonEnumerable: true });
  assert.deepEqual(r.undefinedTypo, { code: 'invalid_config', field: 'nope' });
  assert.deepEqual(r.invalid, { code: 'invalid_config', field: 'nope', retried: true, again: 'invalid_config' });
  assert.equal(r.requests, 0);
});
