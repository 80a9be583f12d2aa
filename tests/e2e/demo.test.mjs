// The demo (www/) end to end, in headless Chromium against the real Django backend:
// log in, expire the access token, fire 50 requests: the page's timeline and the server must agree
// on exactly one refresh, no refresh token presented twice and 50 successes. Then invalidate the
// refresh token: the next request must send the user back to the login form with a message.
//
//   scripts/build-pkg.sh && node --test tests/e2e/demo.test.mjs   (builds www/dist if stale)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser } from './lib/browser.mjs';
import { ROOT, startServer } from './lib/server.mjs';
import { ensureWwwBuilt } from './lib/www.mjs';

const ARTIFACTS = join(ROOT, 'tests/e2e/artifacts');
const BURST = 50;
let server;
let browser;
let page;
const pageErrors = [];

const byId = (id) => page.locator(`[data-testid="${id}"]`);
const num = async (id) => Number(await byId(id).textContent());
const attrs = async (id, names) =>
  Object.fromEntries(await Promise.all(names.map(async (n) => [n, await byId(id).getAttribute(`data-${n}`)])));

before(async () => {
  const dist = ensureWwwBuilt();
  [server, browser] = await Promise.all([startServer({ staticDir: dist }), launchBrowser()]);
  page = browser.context.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('login, then an expired access token and 50 concurrent requests: one refresh, all replayed', async () => {
  await page.goto(`${server.url}/`);
  await byId('login-form').waitFor();
  assert.equal(await page.inputValue('[data-testid="login-form"] input[autocomplete="username"]'), 'demo');
  assert.match(await byId('login-form').textContent(), /demo-password-123/);
  await byId('login-submit').click();
  for (const panel of ['me', 'items', 'orders', 'alerts']) {
    await page.locator(`[data-testid="panel-${panel}"].ok`).waitFor();
  }
  assert.equal(await byId('session-state').textContent(), 'signed in as demo');

  await byId('reset').click();
  await page.getByText('Server counters, faults and items reset').waitFor();
  assert.equal((await server.stats()).refresh_calls, 0);

  await byId('expire').click();
  await page.getByText('Every access token issued so far is now rejected').waitFor();
  await byId('burst-size').selectOption(String(BURST));
  await byId('expire-first').uncheck();
  await byId('fire').click();
  await page.locator('[data-testid="burst-summary"][data-state="done"]').waitFor({ timeout: 30_000 });

  const s = await server.stats();
  assert.equal(s.refresh_calls, 1, 'the server saw exactly one refresh');
  assert.equal(s.refresh_succeeded, 1);
  assert.equal(s.refresh_reused, 0, 'no refresh token was presented twice');
  // The burst is paced: the first 401 is read before most of it is sent, and those wait for the refresh.
  assert.ok(s.protected_401 >= 1 && s.protected_401 < BURST, `${s.protected_401} of ${BURST} met the expired cookie`);
  assert.equal(s.protected_ok, BURST, 'every request accepted exactly once');

  // What the page shows agrees with the server.
  assert.match(await byId('burst-summary').textContent(), new RegExp(`^${BURST} requests → ${BURST} ok, 0 failed · 1 refresh · \\d+ replayed · \\d+ ms$`));
  assert.equal(await num('count-requests'), BURST);
  assert.equal(await num('count-ok'), BURST);
  assert.equal(await num('count-failed'), 0);
  assert.equal(await num('count-waiting'), 0);
  assert.equal(await num('server-refresh-calls'), s.refresh_calls);
  assert.equal(await num('server-refresh-reused'), 0);
  assert.deepEqual(await attrs('timeline', ['lanes', 'ok', 'failed', 'refreshes', 'refresh-outcomes']), {
    lanes: String(BURST),
    ok: String(BURST),
    failed: '0',
    refreshes: '1',
    'refresh-outcomes': 'refreshed',
  });
  assert.ok((await num('client-replayed')) >= 1, 'api.stats().replayed counts the replays');

  await page.mouse.move(0, 0);
  await page.waitForTimeout(150); // let the last animation frame land
  await page.locator('section.timeline').screenshot({ path: join(ARTIFACTS, 'timeline.png') });
});

test('an invalidated refresh token ends the session: back to the login form with a message', async () => {
  await byId('invalidate').click();
  await page.getByText('Every refresh token is blacklisted').waitFor();
  await byId('expire').click();
  await page.getByText('Every access token issued so far is now rejected').waitFor();
  await byId('reload-panels').click(); // the request that meets the dead session

  await byId('login-message').waitFor();
  assert.match(await byId('login-message').textContent(), /session has expired/i);
  assert.equal(await byId('session-state').textContent(), 'signed out');
  assert.ok((await num('client-sessionsExpired')) >= 1, 'api.stats().sessionsExpired counts it');
  assert.match(await byId('timeline').getAttribute('data-refresh-outcomes'), /expired$/);

  const s = await server.stats();
  assert.equal(s.refresh_calls, 3, 'one refresh for the expiry, rejected, and its confirmation (confirmDelayMs)');
  assert.equal(s.refresh_failed, 2);
  assert.equal(s.refresh_reused, 0);

  // Signing in again works at once and resumes refresh handling.
  await byId('login-submit').click();
  await page.locator('[data-testid="panel-me"].ok').waitFor();
  await page.locator('section.timeline').screenshot({ path: join(ARTIFACTS, 'after-expiry.png') });
  assert.deepEqual(pageErrors, []);
});
