// The package's JS API in headless Chromium against the real Django backend (the port of the
// wasm-bindgen suite tests/browser.rs); every verdict on the server is its own count (/api/test/stats/).
//
//   scripts/build-pkg.sh && node --test tests/e2e/browser.test.mjs
//   AUTHFLIGHT_PKG=/abs/pkg node --test tests/e2e/browser.test.mjs      (another package build)
//
// Same shape as the wasm-bindgen runner: the page (pages/browser.html + the package at /pkg/) is
// served by a small static server on 127.0.0.1:A, the API by Django on 127.0.0.1:B, listed in
// allowedOrigins and answering CORS with credentials. One host name, so its cookies are the page's.
// Each test opens a fresh tab, runs its in-page half in page.evaluate, and asserts here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT, startServer } from './lib/server.mjs';
import { startStatic } from './lib/static.mjs';
import { launchBrowser } from './lib/browser.mjs';

const PAGES = join(ROOT, 'tests/e2e/pages');
const PKG = resolve(process.env.AUTHFLIGHT_PKG || join(ROOT, 'pkg'));

let server;
let pages;
let browser;

/** Opens browser.html in a fresh tab (closed when `t` ends) and runs `fn(arg)` in it. */
async function inPage(t, fn, arg) {
  const page = await browser.newPage();
  t.after(() => page.close().catch(() => {}));
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  await page.goto(`${pages.url}/browser.html?server=${encodeURIComponent(server.url)}`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 15_000 });
  return page.evaluate(fn, arg);
}

/** The status of a settled api.fetch that must have resolved. */
function status(r) {
  assert.equal(r.error, undefined, `expected a Response, got ${JSON.stringify(r.error)}`);
  return r.status;
}

/** The code of a settled api.fetch (or constructor) that must have thrown an AuthError. */
function code(r) {
  assert.ok(r.error, `expected an AuthError, got ${JSON.stringify(r)}`);
  assert.equal(r.error.name, 'AuthError', JSON.stringify(r.error));
  assert.ok(r.error.isError, 'a real Error');
  assert.ok(r.error.isAuthError, 'isAuthError');
  return r.error.code;
}

const okCount = (results) => results.filter((r) => r.error === undefined && r.status === 200).length;
const bytes = (s) => [...Buffer.from(s, 'utf8')];
const ALL_BYTES = Array.from({ length: 256 }, (_, i) => i);

describe('browser: JS API against the real server', () => {
  before(async () => {
    assert.ok(existsSync(join(PKG, 'authflight.js')), `${PKG}/authflight.js is missing: run scripts/build-pkg.sh first`);
    [server, pages, browser] = await Promise.all([
      startServer(),
      startStatic({ '/': PAGES, '/pkg/': PKG }),
      launchBrowser(),
    ]);
  });

  after(async () => {
    await browser?.close();
    await pages?.stop();
    await server?.stop();
  });

  const it = (name, fn) => test(name, { timeout: 30_000 }, fn);

  it('page load uses the access cookie and never refreshes', async (t) => {
    const r = await inPage(t, async () => {
      await T.raw('POST', '/api/test/reset/?logout=1');
      await T.login();
      const api = T.client();
      const me = await T.settle(T.call(api, '/api/me/'));
      return { me, stats: await T.stats() };
    });
    assert.equal(status(r.me), 200);
    assert.equal(r.stats.refresh_calls, 0);
  });

  it('a burst of 50 after expiry refreshes once', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      const api = T.client();
      const results = await T.burst(api, 50, 'burst');
      return { results, stats: await T.stats(), client: api.stats() };
    });
    assert.equal(okCount(r.results), 50, `every request succeeds: ${JSON.stringify(r.results)}`);
    assert.equal(r.stats.refresh_calls, 1, 'exactly one refresh at the server');
    assert.equal(r.stats.refresh_reused, 0, 'no refresh token presented twice');
    // A burst's later sends wait for the refresh instead of buying a 401 (paced, or cut off): only
    // the requests that were rejected or cut off are replays.
    assert.equal(r.client.refreshesStarted, 1);
    assert.ok(r.client.replayed >= 1 && r.client.replayed <= 50, `replayed ${r.client.replayed}`);
  });

  it('with maxConcurrent a burst meets only a few 401s', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      const api = T.client({ maxConcurrent: 6 });
      const results = await T.burst(api, 50, 'capped');
      return { results, stats: await T.stats() };
    });
    assert.equal(okCount(r.results), 50, JSON.stringify(r.results));
    assert.deepEqual([r.stats.refresh_calls, r.stats.refresh_reused], [1, 0]);
    assert.ok(r.stats.protected_401 <= 6, `at most the first 6 met the 401: ${r.stats.protected_401}`);
    assert.equal(r.stats.protected_ok, 50);
  });

  it('a late 401 for a request sent before the refresh is replayed without a refresh', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      const api = T.client();
      // `slow` carries the expired cookie but is only judged after 700 ms, long after the refresh
      // that `quick` (sent once `slow` is on its way) starts.
      const slowSent = T.when(api, 'sent');
      const slow = T.settle(T.call(api, '/api/ping/?auth_delay_ms=700&late=1'));
      const quick = slowSent.then(() => T.settle(T.call(api, '/api/ping/?late=2')));
      const [s, q] = await Promise.all([slow, quick]);
      return { slow: s, quick: q, stats: await T.stats(), client: api.stats() };
    });
    assert.deepEqual([status(r.slow), status(r.quick)], [200, 200]);
    assert.equal(r.stats.refresh_calls, 1, 'the late 401 did not start a second refresh');
    assert.equal(r.stats.refresh_reused, 0);
    assert.equal(r.client.replayed, 2);
  });

  it('a request still 401 after two refreshes rejects unauthorized: never a loop', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      const api = T.client();
      const res = await T.settle(T.call(api, '/api/ping/?status=401'));
      return { res, stats: await T.stats() };
    });
    assert.equal(code(r.res), 'unauthorized');
    assert.equal(r.res.error.status, 401);
    // A replay's 401 may be a new expiry (a short-lived token outlived on a slow device): one more
    // refresh, then the third send is the last.
    assert.equal(r.stats.refresh_calls, 2);
    assert.equal(r.stats.protected_401, 3, 'the original and its two replays');
  });

  it('a rejected refresh expires all 20 waiters and tells the app once', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      await T.postTest('/api/test/invalidate-refresh/');
      const api = T.client();
      let fired = 0;
      api.onSessionExpired(() => fired++);
      const results = await T.burst(api, 20, 'expire');
      const out = { results, fired, expired: api.sessionExpired };
      // Until a new login, auth failures fail fast: no further refresh calls.
      out.again = await T.settle(T.call(api, '/api/me/'));
      out.refreshCalls = (await T.stats()).refresh_calls;
      // A new login re-enables refresh handling.
      await T.login();
      api.markLoggedIn();
      out.me = await T.settle(T.call(api, '/api/me/'));
      out.expiredAfterLogin = api.sessionExpired;
      out.firedAfterLogin = fired;
      return out;
    });
    assert.equal(r.results.filter((x) => x.error && code(x) === 'session_expired').length, 20, JSON.stringify(r.results));
    assert.equal(r.fired, 1, 'session-expired listeners fire once');
    assert.equal(r.expired, true);
    assert.equal(code(r.again), 'session_expired');
    assert.equal(r.refreshCalls, 2, 'the rejected refresh and its confirmation (confirmDelayMs)');
    assert.equal(status(r.me), 200);
    assert.equal(r.expiredAfterLogin, false);
    assert.equal(r.firedAfterLogin, 1);
  });

  it('a refresh 500 is refresh_failed, not a logout', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      // Slow enough that all five 401s arrive while the refresh is in flight.
      await T.postTest('/api/test/fault/', { kind: '500', count: 1, refresh_delay_ms: 300 });
      const api = T.client();
      let fired = 0;
      api.onSessionExpired(() => fired++);
      const results = await T.burst(api, 5, 'fail');
      const out = { results, expired: api.sessionExpired, fired };
      // The next auth failure tries a fresh refresh, which works.
      out.me = await T.settle(T.call(api, '/api/me/'));
      out.stats = await T.stats();
      return out;
    });
    assert.equal(r.results.length, 5);
    for (const x of r.results) assert.deepEqual([code(x), x.error.status], ['refresh_failed', 500]);
    assert.equal(r.expired, false);
    assert.equal(r.fired, 0);
    assert.equal(status(r.me), 200);
    assert.deepEqual([r.stats.refresh_calls, r.stats.refresh_succeeded, r.stats.refresh_reused], [2, 1, 0]);
  });

  it('a refresh timeout is refresh_failed with a cause', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      await T.postTest('/api/test/fault/', { kind: 'hang', count: 1, hang_ms: 3000 });
      const api = T.client({ refreshTimeoutMs: 300 });
      const res = await T.settle(T.call(api, '/api/me/'));
      const expired = api.sessionExpired;
      await T.postTest('/api/test/reset/');
      return { res, expired };
    });
    assert.equal(code(r.res), 'refresh_failed');
    assert.equal(r.res.error.cause?.name, 'TimeoutError');
    assert.equal(r.expired, false);
  });

  it('a refresh that outlives refreshTimeoutMs is abandoned; its late success still counts', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      await T.postTest('/api/test/fault/', { refresh_delay_ms: 1200 });
      const api = T.client({ refreshTimeoutMs: 400 });
      const t0 = performance.now();
      const first = await T.settle(T.call(api, '/api/me/'));
      const failedAfter = performance.now() - t0;
      // The abandoned call rotates at the server and its cookies land: the next request needs no refresh.
      await new Promise((ok) => setTimeout(ok, 1500));
      const second = await T.settle(T.call(api, '/api/me/'));
      const out = { first, failedAfter, second, stats: await T.stats(), client: api.stats(), expired: api.sessionExpired };
      await T.postTest('/api/test/reset/');
      return out;
    });
    assert.equal(code(r.first), 'refresh_failed');
    assert.ok(r.failedAfter < 400 + 1000, `the waiter failed at refreshTimeoutMs (${Math.round(r.failedAfter)} ms)`);
    assert.equal(status(r.second), 200);
    assert.deepEqual([r.stats.refresh_calls, r.stats.refresh_succeeded, r.stats.refresh_reused], [1, 1, 0]);
    assert.equal(r.client.refreshesStarted, 1);
    assert.equal(r.expired, false);
  });

  it('ten concurrent POSTs are each created once with their bodies', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      const api = T.client();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          T.settle(
            T.call(api, '/api/items/', {
              method: 'POST',
              body: JSON.stringify({ name: `item-${i}` }),
              headers: { 'Content-Type': 'application/json' },
            }),
            { json: true },
          ),
        ),
      );
      return { results, stats: await T.stats() };
    });
    assert.equal(r.results.length, 10);
    for (const [i, x] of r.results.entries()) {
      assert.equal(status(x), 201);
      assert.equal(x.body.name, `item-${i}`);
    }
    assert.deepEqual([r.stats.items_created, r.stats.refresh_calls], [10, 1]);
  });

  it('replayed bodies are byte-identical', async (t) => {
    const text = String.raw`{"emoji":"\u00e9\u2713","n":1}`; // as tests/browser.rs: escapes, not the characters
    const r = await inPage(
      t,
      async (text) => {
        // Sends `body` to /api/echo/ through a 401 + refresh + replay; returns what the server got.
        const echo = async (body, contentType) => {
          await T.expiredSession();
          const api = T.client();
          const init = { method: 'POST', body };
          if (contentType) init.headers = { 'Content-Type': contentType };
          const res = await T.settle(T.call(api, '/api/echo/', init), { json: true });
          return {
            res: { status: res.status, error: res.error },
            replayed: api.stats().replayed,
            bytes: res.body && T.bytes(res.body.body_b64),
            contentType: res.body?.content_type,
          };
        };
        const all = Uint8Array.from({ length: 256 }, (_, i) => i);
        const form = new FormData();
        form.append('field', 'value-1');
        form.append('other', 'v\u00e9');
        return {
          text: await echo(text, 'application/json'),
          params: await echo(new URLSearchParams('a=1&b=two+words&c=%26')),
          buffer: await echo(all.slice().buffer),
          blob: await echo(new Blob([all]), 'application/octet-stream'),
          form: await echo(form),
        };
      },
      text,
    );
    for (const [name, e] of Object.entries(r)) {
      assert.equal(status(e.res), 200, name);
      assert.equal(e.replayed, 1, `${name}: the body went through a replay`);
      assert.equal(typeof e.contentType, 'string', name);
    }
    assert.deepEqual(r.text.bytes, bytes(text));
    assert.deepEqual(r.params.bytes, bytes('a=1&b=two+words&c=%26'));
    assert.ok(r.params.contentType.startsWith('application/x-www-form-urlencoded'), r.params.contentType);
    assert.deepEqual(r.buffer.bytes, ALL_BYTES);
    assert.deepEqual(r.blob.bytes, ALL_BYTES);
    const body = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(r.form.bytes));
    const boundary = r.form.contentType.split('boundary=')[1];
    assert.ok(boundary, `multipart boundary: ${r.form.contentType}`);
    assert.ok(body.includes(boundary) && body.includes('value-1') && body.includes('v\u00e9'), body);
  });

  it('Request objects are replayed with their body and headers', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      const api = T.client();
      const req = new Request(T.url('/api/echo/'), {
        method: 'PUT',
        body: 'from a Request',
        headers: { 'Content-Type': 'text/plain' },
      });
      const res = await T.settle(api.fetch(req), { json: true });
      return { res, body: res.body && atob(res.body.body_b64), replayed: api.stats().replayed };
    });
    status(r.res);
    assert.equal(r.res.body.method, 'PUT');
    assert.equal(r.res.body.content_type, 'text/plain');
    assert.equal(r.body, 'from a Request');
    assert.equal(r.replayed, 1);
  });

  it('a stream body is rejected before anything is sent', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      const before = await T.stats();
      const api = T.client();
      const init = { method: 'POST', body: new ReadableStream(), duplex: 'half' };
      const res = await T.settle(T.call(api, '/api/echo/', init));
      return { res, before, after: await T.stats() };
    });
    assert.equal(code(r.res), 'body_not_replayable');
    assert.equal(r.after.protected_401 + r.after.protected_ok, r.before.protected_401 + r.before.protected_ok);
  });

  it('aborting a waiting request rejects only it, at once', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      await T.postTest('/api/test/fault/', { refresh_delay_ms: 600 });
      const api = T.client();
      const bothWaiting = T.when(api, 'queued', 2);
      const ctrl = new AbortController();
      let settledFirst = '';
      const aborted = T.settle(T.call(api, '/api/ping/?abort=1', { signal: ctrl.signal })).then((x) => {
        settledFirst ||= 'aborted';
        return x;
      });
      const other = T.settle(T.call(api, '/api/ping/?abort=2')).then((x) => {
        settledFirst ||= 'other';
        return x;
      });
      // Abort once both wait on the (600 ms) refresh.
      await bothWaiting;
      ctrl.abort();
      const [a, o] = await Promise.all([aborted, other]);
      const out = { a, o, settledFirst, stats: await T.stats() };
      await T.postTest('/api/test/reset/');
      return out;
    });
    assert.equal(code(r.a), 'aborted');
    assert.equal(status(r.o), 200, 'the refresh and the others go on');
    assert.equal(r.settledFirst, 'aborted', 'rejected at once, not after the refresh');
    assert.deepEqual([r.stats.refresh_calls, r.stats.refresh_succeeded], [1, 1]);
  });

  it('a 401 from a foreign origin is handed back untouched', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      const api = T.client();
      // localhost is another origin than 127.0.0.1 (same server): not in allowedOrigins.
      const foreign = T.SERVER.replace('127.0.0.1', 'localhost');
      const res = await T.settle(api.fetch(`${foreign}/api/me/`));
      return { res, stats: await T.stats(), client: api.stats() };
    });
    assert.equal(status(r.res), 401, 'resolved with the 401, like fetch');
    assert.equal(r.stats.refresh_calls, 0, 'no refresh');
    assert.equal(r.client.requests, 0, 'not handled at all');
  });

  it('URL objects are accepted and refreshed like strings', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      const api = T.client();
      const res = await T.settle(api.fetch(new URL(T.url('/api/me/'))));
      return { res, stats: await T.stats() };
    });
    assert.equal(status(r.res), 200);
    assert.equal(r.stats.refresh_calls, 1);
  });

  it('skipAuthRefresh opts a request out', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      const api = T.client();
      const res = await T.settle(T.call(api, '/api/me/', { skipAuthRefresh: true, credentials: 'include' }));
      return { res, stats: await T.stats() };
    });
    assert.equal(status(r.res), 401);
    assert.equal(r.stats.refresh_calls, 0);
  });

  it('the CSRF header carries the cookie on unsafe methods only', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      await T.raw('GET', '/api/csrf/');
      const token = document.cookie
        .split('; ')
        .find((c) => c.startsWith('csrftoken='))
        ?.slice('csrftoken='.length);
      const api = T.client({ csrf: true });
      const post = await T.settle(T.call(api, '/api/echo/', { method: 'POST', body: 'x' }), { json: true });
      const get = await T.settle(T.call(api, '/api/me/'));
      const none = T.client();
      const plain = await T.settle(T.call(none, '/api/echo/', { method: 'POST', body: 'x' }), { json: true });
      return { token, post, get, plain };
    });
    assert.ok(r.token, 'csrftoken cookie');
    status(r.post);
    assert.equal(r.post.body.csrf_header, r.token, 'set again on the replay');
    assert.equal(status(r.get), 200);
    status(r.plain);
    assert.equal(r.plain.body.csrf_header, null, 'off by default');
  });

  it('a custom classifier decides how a refresh ended', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      const api = T.client({ classifyRefresh: (res) => Promise.resolve(res.ok ? 'expired' : 'failed') });
      return T.settle(T.call(api, '/api/me/'));
    });
    assert.deepEqual([code(r), r.error.status], ['session_expired', 200]);
  });

  it('invalid options throw invalid_config naming the field', async (t) => {
    const cases = await inPage(t, () => {
      const refresh = { refreshUrl: '/api/auth/token/refresh/' };
      const cases = [
        [undefined, 'options'],
        [{}, 'refreshUrl'],
        [{ refreshUrl: 42 }, 'refreshUrl'],
        [{ ...refresh, refreshURL: '/x' }, 'refreshURL'],
        [{ ...refresh, authStatuses: ['401'] }, 'authStatuses'],
        [{ ...refresh, allowedOrigins: ['not an origin'] }, 'allowedOrigins'],
        [{ ...refresh, refreshTimeoutMs: -5 }, 'refreshTimeoutMs'],
        [{ ...refresh, refreshTimeoutMs: 1.5 }, 'refreshTimeoutMs'],
        [{ ...refresh, csrf: 'yes' }, 'csrf'],
        [{ ...refresh, classifyRefresh: 'refreshed' }, 'classifyRefresh'],
        [{ ...refresh, refreshHeaders: { 'X-A': 1 } }, 'refreshHeaders'],
        [{ refreshUrl: 'https://elsewhere.example/refresh/' }, 'refreshUrl'],
      ];
      return cases.map(([options, field]) => {
        try {
          new T.AuthClient(options);
          return { field, options: JSON.stringify(options) };
        } catch (e) {
          return { field, options: JSON.stringify(options), error: T.error(e) };
        }
      });
    });
    assert.equal(cases.length, 12);
    for (const c of cases) {
      assert.ok(c.error, `invalid options must throw: ${c.options}`);
      assert.deepEqual([code(c), c.error.field], ['invalid_config', c.field], c.options);
      assert.equal(typeof c.error.message, 'string');
      assert.ok(c.error.message.includes(c.field), c.error.message);
    }
  });
});
