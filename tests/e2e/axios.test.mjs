// authflight/axios in headless Chromium against the real Django backend: axios (the root
// devDependency, its ESM build) with `adapter: authflightAdapter(api, axios)`, the package as
// shipped. Every verdict on the server is its own count (/api/test/stats/).
//
//   scripts/build-pkg.sh && node --test tests/e2e/axios.test.mjs
//   AUTHFLIGHT_PKG=/abs/pkg node --test tests/e2e/axios.test.mjs      (another package build)
//
// Same setup as browser.test.mjs: pages/axios.html, the package at /pkg/ and axios at /axios/ are
// served by a small static server on 127.0.0.1:A, the API by Django on 127.0.0.1:B (in
// allowedOrigins, CORS with credentials). Each test opens a fresh tab, runs its in-page half in
// page.evaluate, and asserts here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT, freePort, startServer } from './lib/server.mjs';
import { startStatic } from './lib/static.mjs';
import { launchBrowser } from './lib/browser.mjs';

const PAGES = join(ROOT, 'tests/e2e/pages');
const PKG = resolve(process.env.AUTHFLIGHT_PKG || join(ROOT, 'pkg'));
const AXIOS = join(ROOT, 'node_modules/axios/dist/esm');

let server;
let pages;
let browser;

/** Opens axios.html in a fresh tab (closed when `t` ends) and runs `fn(arg)` in it. */
async function inPage(t, fn, arg) {
  const page = await browser.newPage();
  t.after(() => page.close().catch(() => {}));
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  await page.goto(`${pages.url}/axios.html?server=${encodeURIComponent(server.url)}`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 15_000 });
  return page.evaluate(fn, arg);
}

/** The status of a settled axios call that must have resolved. */
function status(r) {
  assert.equal(r.error, undefined, `expected a response, got ${JSON.stringify(r.error)}`);
  return r.status;
}

/** The rejection of a settled axios call that must have rejected with an AxiosError. */
function axiosError(r) {
  assert.ok(r.error, `expected an AxiosError, got ${JSON.stringify(r)}`);
  assert.ok(r.error.isAxiosError, `axios.isAxiosError: ${JSON.stringify(r.error)}`);
  assert.ok(r.error.hasConfig, 'it carries the request config');
  return r.error;
}

/** What an app sees when the session is over: a 401 response, authflight's code as the cause. */
function assertSessionOver(e, causeCode) {
  assert.ok(e.isInstance, 'instanceof axios.AxiosError');
  assert.equal(e.name, 'AxiosError');
  assert.equal(e.code, 'ERR_BAD_REQUEST');
  assert.equal(e.status, 401);
  assert.equal(e.response?.status, 401, JSON.stringify(e));
  assert.equal(e.response.statusText, 'Unauthorized');
  assert.equal(e.response.sameConfig, true, 'response.config is the request config');
  assert.equal(e.response.headersFrom, 'AxiosHeaders', 'axios normalised the response headers');
  assert.ok(e.hasRequest);
  assert.deepEqual(e.cause, { name: 'AuthError', code: causeCode, status: e.cause.status, isAuthError: true, cause: undefined, cycle: false });
  assert.match(e.message, /^Request failed with status code 401/);
}

describe('axios: authflightAdapter against the real server', () => {
  before(async () => {
    for (const f of ['authflight.js', 'axios.js']) assert.ok(existsSync(join(PKG, f)), `${PKG}/${f} is missing: run scripts/build-pkg.sh first`);
    assert.ok(existsSync(join(AXIOS, 'axios.js')), `${AXIOS}/axios.js is missing: run npm ci (axios is a root devDependency)`);
    [server, pages, browser] = await Promise.all([
      startServer(),
      startStatic({ '/': PAGES, '/pkg/': PKG, '/axios/': AXIOS }),
      launchBrowser(),
    ]);
  });

  after(async () => {
    await browser?.close();
    await pages?.stop();
    await server?.stop();
  });

  const it = (name, fn) => test(name, { timeout: 30_000 }, fn);

  it('a burst of 20 GETs after expiry refreshes once; interceptors run once per call', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      const api = T.client();
      const http = T.http(api);
      let requests = 0;
      let responses = 0;
      http.interceptors.request.use((config) => {
        requests++;
        config.params = { ...config.params, via: 'interceptor' };
        return config;
      });
      http.interceptors.response.use((res) => {
        responses++;
        res.data.seen = true;
        return res;
      });
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => T.settle(http.get('/api/ping/', { params: { burst: i } }))),
      );
      return { results, requests, responses, stats: await T.stats(), client: api.stats() };
    });
    assert.equal(r.results.length, 20);
    for (const [i, x] of r.results.entries()) {
      assert.equal(status(x), 200);
      assert.deepEqual(x.data, { ok: true, q: { burst: String(i), via: 'interceptor' }, seen: true });
    }
    assert.equal(r.stats.refresh_calls, 1, 'exactly one refresh at the server');
    assert.equal(r.stats.refresh_reused, 0, 'no refresh token presented twice');
    assert.equal(r.stats.protected_ok, 20);
    assert.ok(r.stats.protected_401 >= 1, 'the burst met the expiry');
    // Cut-off requests are replayed too, whether or not they reached the server.
    assert.ok(r.client.replayed >= r.stats.protected_401, 'every 401 was replayed below axios');
    assert.deepEqual([r.requests, r.responses], [20, 20], 'interceptors see each call once, never its replay');
  });

  it('an expired session rejects every call with a 401 AxiosError whose cause is session_expired', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      await T.postTest('/api/test/invalidate-refresh/');
      const api = T.client();
      let fired = 0;
      api.onSessionExpired(() => fired++);
      const http = T.http(api);
      // The interceptor apps write today: a 401 means "log out".
      let logouts = 0;
      http.interceptors.response.use(undefined, (e) => {
        if (e.response?.status === 401) logouts++;
        return Promise.reject(e);
      });
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => T.settle(http.get('/api/ping/', { params: { expire: i } }))),
      );
      const refreshCalls = (await T.stats()).refresh_calls;
      const logoutsOfBurst = logouts;
      // After the expiry, calls fail fast, and still reject even where validateStatus accepts 401.
      const lenient = await T.settle(http.get('/api/me/', { validateStatus: () => true }));
      // Without axios handed in, the adapter's own errors pass axios.isAxiosError.
      const bare = await T.settle(T.http(api, { withAxios: false }).get('/api/me/'));
      return { results, fired, logouts: logoutsOfBurst, refreshCalls, lenient, bare, stats: await T.stats() };
    });
    assert.equal(r.results.length, 20);
    for (const x of r.results) assertSessionOver(axiosError(x), 'session_expired');
    assert.equal(r.logouts, 20, "the app's 401 interceptor sees every one");
    assert.equal(r.fired, 1, 'session-expired listeners fire once');
    assert.equal(r.refreshCalls, 2, 'the rejected refresh and its confirmation (confirmDelayMs)');
    assertSessionOver(axiosError(r.lenient), 'session_expired');
    const bare = axiosError(r.bare);
    assert.equal(bare.isInstance, false, 'not an instance of the axios it was not given');
    assert.deepEqual([bare.name, bare.code, bare.status, bare.response?.status, bare.cause?.code], ['AxiosError', 'ERR_BAD_REQUEST', 401, 401, 'session_expired']);
    assert.equal(r.stats.refresh_calls, 2, 'no refresh after the session ended');
  });

  it('a request still refused after its replays rejects unauthorized, with response.status 401', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      const api = T.client();
      const res = await T.settle(T.http(api).get('/api/ping/', { params: { status: 401 } }));
      return { res, stats: await T.stats() };
    });
    const e = axiosError(r.res);
    assertSessionOver(e, 'unauthorized');
    assert.equal(e.cause.status, 401);
    assert.equal(r.stats.refresh_calls, 2);
    assert.equal(r.stats.protected_401, 3, 'the original and its two replays: never a loop');
  });

  it('ten concurrent JSON POSTs after expiry are each created once; a FormData body keeps its boundary', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      const api = T.client();
      const http = T.http(api);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => T.settle(http.post('/api/items/', { name: `item-${i}` }))),
      );
      const list = await T.settle(http.get('/api/items/'));
      // A FormData body: its multipart type and boundary come from fetch, through the replay too.
      await T.raw('POST', '/api/test/expire-access/');
      const form = new FormData();
      form.append('field', 'value-1');
      const multipart = await T.settle(http.post('/api/echo/', form));
      const echoed = multipart.data && { type: multipart.data.content_type, body: atob(multipart.data.body_b64) };
      return { results, list, multipart, echoed, stats: await T.stats(), client: api.stats() };
    });
    for (const [i, x] of r.results.entries()) {
      assert.equal(status(x), 201);
      assert.equal(x.data.name, `item-${i}`, 'the JSON body replayed, the JSON answer parsed');
    }
    assert.deepEqual([r.stats.items_created, r.stats.refresh_reused], [10, 0]);
    assert.equal(r.stats.refresh_calls, 2, 'one for the POSTs, one for the FormData after the second expiry');
    assert.equal(status(r.multipart), 200);
    const boundary = r.echoed.type.split('boundary=')[1];
    assert.ok(r.echoed.type.startsWith('multipart/form-data') && boundary, r.echoed.type);
    assert.ok(r.echoed.body.includes(boundary) && r.echoed.body.includes('value-1'), r.echoed.body);
    assert.equal(status(r.list), 200);
    assert.deepEqual(r.list.data.items.map((x) => x.name).sort(), Array.from({ length: 10 }, (_, i) => `item-${i}`).sort());
    assert.ok(r.client.replayed >= 1, 'the POSTs went through the refresh');
  });

  it('transformRequest and transformResponse run once per call, around the replay', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      const api = T.client();
      let requestRuns = 0;
      let responseRuns = 0;
      const http = T.http(api, {
        transformRequest: [
          (data, headers) => {
            requestRuns++;
            if (data === undefined) return data;
            headers.setContentType('text/plain');
            return `name=${data.name};n=${data.n}`;
          },
        ],
        transformResponse: [
          (data) => {
            responseRuns++;
            const body = JSON.parse(data);
            return body.body_b64 === undefined ? { raw: body } : { echoed: atob(body.body_b64), type: body.content_type };
          },
        ],
      });
      const res = await T.settle(http.post('/api/echo/', { name: 'é', n: 1 }));
      const counts = { requestRuns, responseRuns, replayed: api.stats().replayed, stats: await T.stats() };
      // transformResponse also shapes an error's response, as with axios's own adapters.
      const failed = await T.settle(http.get('/api/ping/', { params: { status: 404 } }));
      return { res, counts, failed };
    });
    assert.equal(status(r.res), 200);
    assert.equal(r.res.data.echoed, 'name=\u00c3\u00a9;n=1', 'the server got the transformed body (UTF-8 bytes), once, via the replay');
    assert.equal(r.res.data.type, 'text/plain');
    assert.deepEqual([r.counts.requestRuns, r.counts.responseRuns, r.counts.replayed], [1, 1, 1]);
    assert.equal(r.counts.stats.refresh_calls, 1);
    const e = axiosError(r.failed);
    assert.equal(e.response.status, 404);
    assert.deepEqual(e.response.data, { raw: { ok: false, q: { status: '404' } } });
  });

  it('validateStatus decides with the real response; a foreign 401 is handed back untouched', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      const api = T.client();
      const http = T.http(api);
      const out = {
        notFound: await T.settle(http.get('/api/ping/', { params: { status: 404 } })),
        unavailable: await T.settle(http.get('/api/ping/', { params: { status: 503 } })),
        accepted: await T.settle(http.get('/api/ping/', { params: { status: 404 }, validateStatus: (s) => s < 500 })),
        anything: await T.settle(http.get('/api/ping/', { params: { status: 503 }, validateStatus: null })),
      };
      out.refreshesBefore = (await T.stats()).refresh_calls;
      // localhost is another origin than 127.0.0.1 (same server): not in allowedOrigins, so its 401
      // is axios's ordinary rejection, with the real response and no cause.
      await T.raw('POST', '/api/test/expire-access/');
      const foreign = T.SERVER.replace('127.0.0.1', 'localhost');
      out.foreign = await T.settle(http.get(`${foreign}/api/me/`));
      out.stats = await T.stats();
      return out;
    });
    const nf = axiosError(r.notFound);
    assert.deepEqual([nf.code, nf.status, nf.response.status, nf.cause], ['ERR_BAD_REQUEST', 404, 404, undefined]);
    assert.deepEqual(nf.response.data, { ok: false, q: { status: '404' } }, 'the real body, parsed');
    const un = axiosError(r.unavailable);
    assert.deepEqual([un.code, un.response.status], ['ERR_BAD_RESPONSE', 503]);
    assert.equal(status(r.accepted), 404);
    assert.equal(status(r.anything), 503);
    assert.equal(r.refreshesBefore, 1);
    const f = axiosError(r.foreign);
    assert.deepEqual([f.code, f.response?.status, f.cause], ['ERR_BAD_REQUEST', 401, undefined]);
    assert.equal(r.stats.refresh_calls, 1, 'no refresh for a foreign origin');
  });

  it('a timeout rejects ECONNABORTED (ETIMEDOUT when clarified) and ends a wait on a slow refresh', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      const api = T.client();
      const http = T.http(api);
      // The session is expired and the refresh slow (1 s): a 200 ms timeout ends the wait, the refresh goes on.
      await T.postTest('/api/test/fault/', { refresh_delay_ms: 1000 });
      let t0 = performance.now();
      const [waiting, patient] = await Promise.all([
        T.settle(http.get('/api/ping/', { params: { t: 'short' }, timeout: 200 })).then((x) => ({ ...x, after: performance.now() - t0 })),
        T.settle(http.get('/api/ping/', { params: { t: 'none' } })),
      ]);
      await T.postTest('/api/test/reset/');
      // A slow answer on a valid session.
      t0 = performance.now();
      const slow = await T.settle(http.get('/api/ping/', { params: { delay_ms: 2000 }, timeout: 300 }));
      const slowAfter = performance.now() - t0;
      const clarified = await T.settle(
        http.get('/api/ping/', { params: { delay_ms: 2000 }, timeout: 100, transitional: { clarifyTimeoutError: true } }),
      );
      const worded = await T.settle(http.get('/api/ping/', { params: { delay_ms: 2000 }, timeout: 100, timeoutErrorMessage: 'too slow' }));
      return { waiting, patient, slow, slowAfter, clarified, worded, stats: await T.stats() };
    });
    const w = axiosError(r.waiting);
    assert.deepEqual([w.code, w.message, w.response, w.cause?.code], ['ECONNABORTED', 'timeout of 200ms exceeded', undefined, 'aborted']);
    assert.ok(r.waiting.after < 900, `rejected at its timeout, not after the refresh (${Math.round(r.waiting.after)} ms)`);
    assert.equal(status(r.patient), 200, 'the refresh went on for the others');
    const s = axiosError(r.slow);
    assert.deepEqual([s.code, s.message, s.isInstance], ['ECONNABORTED', 'timeout of 300ms exceeded', true]);
    assert.deepEqual([s.cause?.code, s.cause?.cause, s.cause?.cycle], ['aborted', 'AbortError', false], 'AxiosError → AuthError → AbortError: no cycle');
    assert.ok(r.slowAfter < 1500, `${Math.round(r.slowAfter)} ms`);
    assert.equal(axiosError(r.clarified).code, 'ETIMEDOUT');
    assert.deepEqual([axiosError(r.worded).code, r.worded.error.message], ['ECONNABORTED', 'too slow']);
  });

  it('an AbortSignal or a CancelToken cancels a waiting call at once; the refresh goes on', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      await T.postTest('/api/test/fault/', { refresh_delay_ms: 600 });
      const api = T.client();
      const http = T.http(api);
      const allWaiting = T.when(api, 'queued', 4);
      const ctrl = new AbortController();
      const source = T.axios.CancelToken.source();
      const order = [];
      const track = (name, p) => T.settle(p).then((x) => (order.push(name), x));
      const bySignal = track('signal', http.get('/api/ping/', { params: { c: 1 }, signal: ctrl.signal }));
      const byToken = track('token', http.get('/api/ping/', { params: { c: 2 }, cancelToken: source.token }));
      const other = track('other', http.get('/api/ping/', { params: { c: 3 } }));
      // Without axios handed in: the adapter's own CanceledError, which axios.isCancel knows.
      const ctrl2 = new AbortController();
      const bare = track('bare', T.http(api, { withAxios: false }).get('/api/ping/', { params: { c: 4 }, signal: ctrl2.signal }));
      await allWaiting;
      ctrl.abort();
      ctrl2.abort();
      source.cancel('user left the page');
      const [s, k, o, b] = await Promise.all([bySignal, byToken, other, bare]);
      // Already aborted: axios itself refuses before the adapter runs.
      const before = await T.settle(http.get('/api/me/', { signal: AbortSignal.abort() }));
      const out = { s, k, o, b, order, before, stats: await T.stats() };
      await T.postTest('/api/test/reset/');
      return out;
    });
    const s = axiosError(r.s);
    assert.deepEqual([s.name, s.code, s.message, s.isCancel, s.isCanceledInstance], ['CanceledError', 'ERR_CANCELED', 'canceled', true, true]);
    assert.equal(s.cause?.code, 'aborted', 'authflight rejected the waiter: its AuthError is the cause');
    assert.equal(s.cause.cycle, false);
    // A token's reason is axios's own CanceledError, passed on as it is (as axios's xhr adapter does).
    const k = r.k.error;
    assert.deepEqual([k?.name, k?.code, k?.message, k?.isCancel], ['CanceledError', 'ERR_CANCELED', 'user left the page', true]);
    assert.equal(status(r.o), 200);
    const b = axiosError(r.b);
    assert.deepEqual([b.name, b.code, b.isCancel, b.isInstance], ['CanceledError', 'ERR_CANCELED', true, false]);
    assert.equal(r.order[3], 'other', `canceled at once, not after the refresh: ${r.order}`);
    assert.equal(axiosError(r.before).isCancel, true);
    assert.deepEqual([r.stats.refresh_calls, r.stats.refresh_succeeded, r.stats.refresh_reused], [1, 1, 0]);
  });

  it('a network failure and a failed refresh are ERR_NETWORK with no response', async (t) => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const r = await inPage(t, async (closed) => {
      await T.expiredSession();
      // A refresh answering 500: not a logout.
      await T.postTest('/api/test/fault/', { kind: '500', count: 1 });
      const api = T.client();
      const http = T.http(api);
      const refresh = await T.settle(http.get('/api/me/'));
      const expired = api.sessionExpired;
      const again = await T.settle(http.get('/api/me/'));
      // Nothing listens there: fetch's TypeError.
      const down = await T.settle(http.get(`${closed}/api/me/`));
      return { refresh, expired, again, down, stats: await T.stats() };
    }, closed);
    const f = axiosError(r.refresh);
    assert.deepEqual([f.code, f.message, f.response, f.status], ['ERR_NETWORK', 'Network Error', undefined, undefined]);
    assert.deepEqual([f.cause?.code, f.cause?.status], ['refresh_failed', 500]);
    assert.equal(r.expired, false);
    assert.equal(status(r.again), 200, 'the next call refreshes again, and works');
    assert.deepEqual([r.stats.refresh_calls, r.stats.refresh_succeeded], [2, 1]);
    const d = axiosError(r.down);
    assert.deepEqual([d.code, d.message, d.response, d.hasRequest, d.cause?.code], ['ERR_NETWORK', 'Network Error', undefined, true, 'network']);
  });

  it('URLs, params, XSRF and skipAuthRefresh as axios builds them', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      const api = T.client();
      const params = {
        page: 2,
        search: "a b&c=d/é!'()*~:$,",
        tags: ['x', 'y'],
        filter: { name: 'n', range: [1, 2] },
        when: new Date(0),
        flag: true,
        none: null,
        missing: undefined,
        'meta{}': { a: 1 },
      };
      const urls = {};
      for (const [name, extra] of Object.entries({
        plain: {},
        indexes: { paramsSerializer: { indexes: true } },
        repeat: { paramsSerializer: { indexes: null } },
        dots: { paramsSerializer: { dots: true } },
        custom: { paramsSerializer: { serialize: (p) => `page=${p.page}` } },
        search: { params: new URLSearchParams('a=1&b=2') },
      })) {
        const config = { url: '/api/ping/?x=1#frag', params, ...extra };
        const ours = await T.settle(T.http(api, { withAxios: false }).request(config));
        const axios = await T.settle(T.http(api).request(config));
        // As sent: the Request's URL (the URL parser percent-encodes a few more characters, e.g. ').
        const getUri = new URL(T.axios.getUri({ baseURL: T.SERVER, ...config })).href;
        urls[name] = { ours: ours.url, axios: axios.url, getUri, q: ours.data?.q };
      }
      const base = T.http(api, { baseURL: `${T.SERVER}/api/` });
      const joined = await T.settle(base.get('/me/'));
      const absolute = await T.settle(base.get(`${T.SERVER}/api/ping/`));
      // XSRF: the page is another origin than the API, so axios sends the cookie only with withXSRFToken.
      const token = await T.csrfToken();
      const xsrf = { xsrfCookieName: 'csrftoken', xsrfHeaderName: 'X-CSRFToken' };
      const withToken = await T.settle(T.http(api, { ...xsrf, withXSRFToken: true }).post('/api/echo/', 'x'));
      const without = await T.settle(T.http(api, xsrf).post('/api/echo/', 'x'));
      // skipAuthRefresh: sent untouched, so the expired cookie's 401 comes back as axios's rejection.
      await T.raw('POST', '/api/test/expire-access/');
      const before = (await T.stats()).refresh_calls;
      const skipped = await T.settle(T.http(api).get('/api/me/', { skipAuthRefresh: true }));
      const after = (await T.stats()).refresh_calls;
      return { urls, joined, absolute, token, withToken, without, before, skipped, after };
    });
    for (const [name, u] of Object.entries(r.urls)) {
      assert.equal(u.ours, u.getUri, `${name}: the adapter's own rules build axios's URL`);
      assert.equal(u.axios, u.getUri, `${name}: with axios given, axios builds it`);
    }
    const q = (name) => r.urls[name].ours.split('?')[1];
    assert.match(q('plain'), /^x=1&page=2&search=a\+b%26c%3Dd%2F%C3%A9!%27\(\)\*~:\$,&tags%5B%5D=x&tags%5B%5D=y&filter%5Bname%5D=n&filter%5Brange%5D%5B0%5D=1&/);
    assert.match(q('plain'), /&when=1970-01-01T00:00:00\.000Z&flag=true&meta%7B%7D=%7B%22a%22:1%7D$/, 'dates as ISO, null and undefined left out, key{} as JSON');
    assert.match(q('indexes'), /&tags%5B0%5D=x&tags%5B1%5D=y&/);
    assert.match(q('repeat'), /&tags=x&tags=y&/);
    assert.match(q('dots'), /&filter\.name=n&filter\.range\.0=1&/);
    assert.equal(q('custom'), 'x=1&page=2');
    assert.equal(q('search'), 'x=1&a=1&b=2');
    assert.ok(!r.urls.plain.ours.includes('#'), 'the fragment goes');
    assert.deepEqual(r.urls.plain.q.search, "a b&c=d/é!'()*~:$,", 'the server read the same value');
    assert.equal(status(r.joined), 200);
    assert.equal(status(r.absolute), 200);
    assert.ok(r.token, 'csrftoken cookie');
    assert.equal(status(r.withToken), 200);
    assert.equal(r.withToken.data.csrf_header, r.token);
    assert.equal(r.without.data.csrf_header, null);
    const s = axiosError(r.skipped);
    assert.deepEqual([s.code, s.response?.status, s.cause], ['ERR_BAD_REQUEST', 401, undefined]);
    assert.equal(r.after, r.before, 'no refresh for a request that opted out');
  });

  it('withCredentials: cookies go to allowed origins regardless, elsewhere only when asked', async (t) => {
    const r = await inPage(t, async () => {
      await T.raw('POST', '/api/test/reset/?logout=1');
      await T.login();
      // A client whose origins do not include the API's (its refresh URL is on the page's origin,
      // never called): to it the API is a foreign origin.
      const foreign = new T.AuthClient({ refreshUrl: '/refresh/' });
      const handled = T.client();
      return {
        plain: await T.settle(T.http(foreign).get('/api/me/')),
        asked: await T.settle(T.http(foreign, { withCredentials: true }).get('/api/me/')),
        off: await T.settle(T.http(handled, { withCredentials: false }).get('/api/me/')),
        stats: await T.stats(),
      };
    });
    const p = axiosError(r.plain);
    assert.deepEqual([p.code, p.response?.status, p.cause], ['ERR_BAD_REQUEST', 401, undefined], 'no cookies to a foreign origin by default');
    assert.equal(status(r.asked), 200, 'withCredentials: true sends them, as axios would');
    assert.equal(status(r.off), 200, 'an allowed origin gets them even with withCredentials: false');
    assert.equal(r.stats.refresh_calls, 0);
  });

  it('response types: json, text, arraybuffer, blob; HEAD and 204-like empty bodies', async (t) => {
    const r = await inPage(t, async () => {
      await T.expiredSession();
      const api = T.client();
      const http = T.http(api);
      const get = (responseType) => http.get('/api/ping/', { params: { rt: responseType }, responseType });
      const json = await get('json');
      const text = await get('text');
      const buffer = await get('arraybuffer');
      const blob = await get('blob');
      const head = await http.head('/api/me/').then((x) => ({ status: x.status, data: x.data }), (e) => ({ error: T.error(e) }));
      return {
        json: json.data,
        text: text.data,
        buffer: { isBuffer: buffer.data instanceof ArrayBuffer, text: new TextDecoder().decode(buffer.data) },
        blob: { isBlob: blob.data instanceof Blob, text: await blob.data.text() },
        contentType: json.headers['content-type'],
        head,
        stats: await T.stats(),
      };
    });
    assert.deepEqual(r.json, { ok: true, q: { rt: 'json' } });
    assert.equal(r.text, '{"ok":true,"q":{"rt":"text"}}', 'text stays a string');
    assert.deepEqual(r.buffer, { isBuffer: true, text: '{"ok":true,"q":{"rt":"arraybuffer"}}' });
    assert.deepEqual(r.blob, { isBlob: true, text: '{"ok":true,"q":{"rt":"blob"}}' });
    assert.equal(r.contentType, 'application/json');
    assert.deepEqual(r.head, { status: 200, data: '' });
    assert.equal(r.stats.refresh_calls, 1);
  });

  it('bad arguments are TypeErrors at once; invalid requests become AxiosErrors', async (t) => {
    const r = await inPage(t, async () => {
      const api = T.client();
      const thrown = (f) => {
        try {
          f();
          return 'no throw';
        } catch (e) {
          return `${e.name}: ${e.message}`;
        }
      };
      const freed = T.client();
      const http = T.http(freed);
      freed.free();
      return {
        noApi: thrown(() => T.authflightAdapter()),
        notClient: thrown(() => T.authflightAdapter({})),
        instance: thrown(() => T.authflightAdapter(api, T.axios.create())),
        namespace: thrown(() => T.authflightAdapter(api, { default: T.axios })),
        badUrl: await T.settle(T.http(api).get('http:/api/me/')),
        freed: await T.settle(http.get('/api/me/')),
      };
    });
    assert.match(r.noApi, /^TypeError: authflightAdapter\(api\)/);
    assert.match(r.notClient, /^TypeError: authflightAdapter\(api\)/);
    assert.match(r.instance, /^TypeError: authflightAdapter\(api, axios\)/);
    assert.equal(r.namespace, 'no throw', 'a module namespace (or CJS interop) object is accepted');
    assert.equal(axiosError(r.badUrl).code, 'ERR_INVALID_URL');
    const f = axiosError(r.freed);
    assert.deepEqual([f.code, f.cause?.code], ['ERR_BAD_OPTION_VALUE', 'invalid_call']);
  });
});
