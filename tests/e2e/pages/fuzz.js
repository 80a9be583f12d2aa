// The page side of tests/e2e/fuzz.test.mjs (issue 13: a hardened wasm boundary).
//
// Loads the package from /pkg/authflight.js and exposes window.F, which the node side drives:
//   F.plan(cat, long)                  → { count, pages: { index: 'noinit' | 'fresh' } }
//   F.runBatch({ cat, seed, from, to, long, count }) → { results, next, dead, reload }
//   F.repeat({ name, calls, warmup })  → { calls, memBefore, memAfter, failures, diedAt }
//   F.endCheck(cat)                    → real-network liveness with a refresh, at a category's end
// Every case is built from a small deterministic PRNG seeded with (seed, category, index), so a case
// is reproduced by its seed and index alone. Each case reports a list of failure strings; a string
// starting with "DEAD" means a WebAssembly.RuntimeError (or a failed liveness check), "HANG" a
// promise of the library that did not settle within its bound, "escape" a throw/rejection that is
// not an AuthError with a known code.
import init, { AuthClient, isAuthError } from '/pkg/authflight.js';

const Q = new URLSearchParams(location.search);
const REFRESH = '/api/auth/token/refresh/';
const ABS_REFRESH = new URL(REFRESH, location.href).href;
const CHANNEL = `authflight:${ABS_REFRESH}`;
const LOCK = `authflight:${ABS_REFRESH}`;
const CODES = [
  'session_expired',
  'refresh_failed',
  'unauthorized',
  'network',
  'aborted',
  'invalid_config',
  'body_not_replayable',
  'invalid_request',
  'invalid_call',
];
const OPTION_KEYS = [
  'refreshUrl',
  'refreshMethod',
  'refreshHeaders',
  'refreshBody',
  'authStatuses',
  'allowedOrigins',
  'csrf',
  'refreshTimeoutMs',
  'classifyRefresh',
  'crossTab',
  'lockTimeoutMs',
  'maxConcurrent',
];
const EVENT_TYPES = ['sent', 'auth_failure', 'queued', 'refresh_started', 'refresh_ended', 'replayed', 'settled', 'session_expired', 'logged_in'];

// ---------------------------------------------------------------------------------------------
// Natives, captured before any case can replace them.

const N = {
  fetch: window.fetch,
  fetchDesc: Object.getOwnPropertyDescriptor(window, 'fetch'),
  setTimeout: window.setTimeout.bind(window),
  clearTimeout: window.clearTimeout.bind(window),
  perfNow: performance.now.bind(performance),
  dateNow: Date.now,
  Promise,
  then: Promise.prototype.then,
  Request,
  Response,
  Headers,
  Error,
  TypeError,
  RuntimeError: WebAssembly.RuntimeError,
  cookieDesc: Object.getOwnPropertyDescriptor(Document.prototype, 'cookie'),
  locks: navigator.locks,
  locksRequest: navigator.locks && navigator.locks.request.bind(navigator.locks),
  BroadcastChannel,
  JSON: { stringify: JSON.stringify, parse: JSON.parse },
  defineProperty: Object.defineProperty,
  getOwnPropertyDescriptor: Object.getOwnPropertyDescriptor,
  toString: Object.prototype.toString,
  statusGet: Object.getOwnPropertyDescriptor(Response.prototype, 'status').get,
};
const nativeFetch = (input, init) => N.fetch.call(window, input, init);
const sleep = (ms) => new N.Promise((r) => N.setTimeout(r, ms));
const getCookies = () => N.cookieDesc.get.call(document);
const setCookie = (s) => N.cookieDesc.set.call(document, s);

// ---------------------------------------------------------------------------------------------
// Small helpers.

function fnv1a(s) {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}
const hex8 = (n) => (n >>> 0).toString(16).padStart(8, '0');
const MARKER = `authflight_${hex8(fnv1a(ABS_REFRESH))}`;
const markerName = (url) => `authflight_${hex8(fnv1a(new URL(url, location.href).href))}`;

function mulberry32(a) {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
class Rng {
  constructor(seed) {
    this.next = mulberry32(seed >>> 0);
  }
  int(n) {
    return Math.floor(this.next() * n);
  }
  pick(xs) {
    return xs[this.int(xs.length)];
  }
  chance(p) {
    return this.next() < p;
  }
  u32() {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }
  /** A sub-seed: builders that must run twice (oracle + library) replay it. */
  fork() {
    return this.u32();
  }
}

function safe(f) {
  try {
    return f();
  } catch {
    return '<throws>';
  }
}

/** A short description of any value, never throwing (revoked proxies, throwing getters...). */
function describe(v) {
  try {
    if (v === undefined) return 'undefined';
    if (v === null) return 'null';
    if (typeof v === 'symbol') return v.toString();
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v === 'string') return N.JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…(${v.length})` : v);
    if (typeof v !== 'object' && typeof v !== 'function') return String(v);
    let tag;
    try {
      tag = N.toString.call(v);
    } catch {
      return '<revoked proxy>';
    }
    if (typeof v === 'function') return `function ${String(safe(() => v.name)) || '(anonymous)'}`;
    const name = safe(() => v.name);
    const msg = safe(() => v.message);
    const code = safe(() => v.code);
    const field = safe(() => v.field);
    if (typeof name === 'string' || typeof msg === 'string') {
      const extra = code !== undefined ? ` (code=${String(code)}${field !== undefined ? ` field=${String(field)}` : ''})` : '';
      return `${tag} ${String(name)}${extra}: ${String(msg).slice(0, 200)}`;
    }
    return tag;
  } catch {
    return '<undescribable>';
  }
}

const S = {
  wasm: null,
  main: null,
  seq: 0,
  live: 0,
  deadSeen: false,
  events: [],
  frame: null,
  initCalled: false,
};

function isDead(e) {
  try {
    if (e instanceof N.RuntimeError) return true;
    const name = e && (typeof e === 'object' || typeof e === 'function') ? e.constructor?.name : '';
    return name === 'RuntimeError';
  } catch {
    return false;
  }
}

function isTypeError(e) {
  try {
    return e instanceof N.TypeError || (e && e.name === 'TypeError');
  } catch {
    return false;
  }
}

const fieldMatches = (field, want) =>
  [].concat(want).some((k) => field === k || field.startsWith(`${k}.`) || field.startsWith(`${k}[`));

/**
 * What is wrong with a value the library threw or rejected with, or null. `o.codes` narrows the
 * allowed codes, `o.field` names the option an invalid_config must blame (or a list of them).
 */
function problem(e, o = {}) {
  if (isDead(e)) {
    S.deadSeen = true;
    return `DEAD: ${describe(e)}`;
  }
  try {
    if (!(e instanceof N.Error)) return `escape (not an Error): ${describe(e)}`;
    if (e.name !== 'AuthError') return `escape: ${describe(e)}`;
    if (!CODES.includes(e.code)) return `escape (unknown code): ${describe(e)}`;
    if (e.code === 'invalid_config' && !(typeof e.field === 'string' && e.field.length > 0))
      return `invalid_config without a field: ${describe(e)}`;
    if (o.codes && !o.codes.includes(e.code)) return `expected ${o.codes.join('|')}, got ${describe(e)}`;
    if (o.field && e.code === 'invalid_config' && !fieldMatches(e.field, o.field))
      return `expected field ${[].concat(o.field).join('|')}, got ${describe(e)}`;
    if (o.causeTypeError && e.code === 'invalid_request' && !isTypeError(e.cause))
      return `invalid_request whose cause is not the TypeError fetch gives: ${describe(e)}; cause ${describe(e.cause)}`;
  } catch (x) {
    return `error value unreadable: ${describe(x)}`;
  }
  return null;
}

function withBound(p, ms) {
  return new N.Promise((resolve) => {
    const t = N.setTimeout(() => resolve({ hang: true }), ms);
    let pp;
    try {
      pp = p instanceof N.Promise ? p : N.Promise.resolve(p);
    } catch (e) {
      N.clearTimeout(t);
      resolve({ ok: false, error: e });
      return;
    }
    N.then.call(
      pp,
      (value) => {
        N.clearTimeout(t);
        resolve({ ok: true, value });
      },
      (error) => {
        N.clearTimeout(t);
        resolve({ ok: false, error });
      },
    );
  });
}

function drain(res) {
  try {
    if (res instanceof N.Response && res.body && !res.bodyUsed) res.body.cancel().catch(() => {});
  } catch {
    /* hostile Response getters */
  }
}

/** A Response of any realm (a brand check: Symbol.hasInstance or getters may be replaced). */
const isResponse = (v) => {
  try {
    N.statusGet.call(v);
    return true;
  } catch {
    return false;
  }
};
const statusOf = (v) => safe(() => N.statusGet.call(v));

/** One case's context: failures, cleanups, the clients it built. */
class Ctx {
  constructor(cat, i, name) {
    this.cat = cat;
    this.i = i;
    this.name = name;
    this.fails = [];
    this.cleanups = [];
    this.clients = [];
    this.freed = new WeakSet();
    this.reload = false;
  }
  fail(msg) {
    if (/^DEAD|: DEAD/.test(msg)) S.deadSeen = true;
    if (this.fails.length < 12) this.fails.push(msg);
  }
  defer(f) {
    this.cleanups.push(f);
  }
  /** Runs a synchronous library call. o: { codes, field, mustThrow, mustNotThrow, check }. */
  call(label, f, o = {}) {
    let v;
    try {
      v = f();
    } catch (e) {
      const p = problem(e, o);
      if (p) this.fail(`${label}: ${p}`);
      else if (o.mustNotThrow) this.fail(`${label}: threw ${describe(e)}`);
      return { ok: false, error: e };
    }
    if (o.mustThrow) this.fail(`${label}: returned ${describe(v)}, expected ${o.codes ? o.codes.join('|') : 'an AuthError'} to be thrown`);
    else if (o.check) {
      const m = o.check(v);
      if (m) this.fail(`${label}: ${m}`);
    }
    return { ok: true, value: v };
  }
  /**
   * Runs a library call that returns a promise and waits for it, at most o.bound ms.
   * o: { codes, field, causeTypeError, mustReject, status (implies it must resolve), anyValue, bound }.
   */
  async settle(label, f, o = {}) {
    const bound = o.bound ?? 4000;
    let p;
    try {
      p = f();
    } catch (e) {
      const pr = problem(e, o);
      this.fail(`${label}: threw synchronously instead of returning a rejected promise: ${pr ?? describe(e)}`);
      return { ok: false, error: e, sync: true };
    }
    if (!(p instanceof N.Promise)) {
      this.fail(`${label}: returned ${describe(p)}, not a Promise`);
      return { ok: true, value: p };
    }
    const r = await withBound(p, bound);
    if (r.hang) {
      this.fail(`${label}: HANG: not settled after ${bound} ms`);
      return r;
    }
    if (r.ok) {
      if (o.mustReject) this.fail(`${label}: resolved with ${describeResult(r.value)}, expected a rejection ${o.codes ? o.codes.join('|') : ''}`);
      else if (!o.anyValue && !isResponse(r.value)) this.fail(`${label}: resolved with a non-Response: ${describe(r.value)}`);
      else if (o.status !== undefined && statusOf(r.value) !== o.status) this.fail(`${label}: status ${statusOf(r.value)}, expected ${o.status}`);
      if (o.check) {
        const m = o.check(r.value);
        if (m) this.fail(`${label}: ${m}`);
      }
      drain(r.value);
    } else {
      const pr = problem(r.error, o);
      if (pr) this.fail(`${label}: ${pr}`);
      else if (o.status !== undefined) this.fail(`${label}: rejected with ${describe(r.error)}, expected a ${o.status} response`);
    }
    return r;
  }
  /** A client with small timeouts, freed when the case ends (unless the case freed it). */
  client(opts = {}) {
    const api = new AuthClient({ refreshUrl: REFRESH, refreshTimeoutMs: 1000, lockTimeoutMs: 1000, ...opts });
    this.clients.push(api);
    return api;
  }
  free(api) {
    this.freed.add(api);
    return api.free();
  }
}

const describeResult = (v) => (isResponse(v) ? `Response ${statusOf(v)}` : describe(v));

// ---------------------------------------------------------------------------------------------
// Session and server helpers (native fetch: cases may have replaced window.fetch).

async function postJson(path, body = {}) {
  const r = await nativeFetch(path, {
    method: 'POST',
    credentials: 'include',
    headers: { 'Content-Type': 'application/json' },
    body: N.JSON.stringify(body),
  });
  await r.text();
  return statusOf(r);
}
const login = () => postJson('/api/auth/login/', { username: 'demo', password: 'demo-password-123' });
const expireAccess = () => postJson('/api/test/expire-access/');
const resetServer = (logout = false) => postJson(`/api/test/reset/${logout ? '?logout=1' : ''}`);
const refreshDelay = (ms) => postJson('/api/test/fault/', { refresh_delay_ms: ms });

const COOKIE_PATHS = ['/', '/fuzz.html'];
function clearFuzzCookies() {
  const names = new Set(
    getCookies()
      .split(';')
      .map((s) => s.trim().split('=')[0])
      .filter(Boolean),
  );
  for (const name of names) {
    if (name.startsWith('authflight_') || name.startsWith('fzfill')) {
      for (const path of COOKIE_PATHS) setCookie(`${name}=; Max-Age=0; Path=${path}`);
    }
  }
}

const url = (path = '/api/ping/') => `${path}${path.includes('?') ? '&' : '?'}fz=${++S.seq}`;

/** The real-network liveness check: the long-lived client fetches /api/me/ (after an expiry if `refresh`). */
async function realCheck(c, { refresh = false, label = 'liveness' } = {}) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const before = c.fails.length;
    let expired = false;
    try {
      expired = S.main.sessionExpired === true;
    } catch (e) {
      c.fail(`${label}: main client's sessionExpired threw ${describe(e)}`);
    }
    if (expired) {
      c.fail(`${label}: the long-lived client thinks the session is over`);
    } else {
      if (refresh) await expireAccess();
      await c.settle(`${label}: api.fetch('/api/me/')${refresh ? ' after expiry' : ''}`, () => S.main.fetch(url('/api/me/')), {
        status: 200,
        bound: 5000 + 2 * 1000 + 3000,
      });
    }
    if (c.fails.length === before) return true;
    if (S.deadSeen) return false;
    // Recover for the next cases: fresh login, markers gone, the client told.
    clearFuzzCookies();
    await resetServer(true);
    await login();
    try {
      S.main.markLoggedIn();
    } catch {
      /* reported by the retry */
    }
    if (attempt === 1) c.reload = true;
  }
  return false;
}

/** The liveness check after every case: a fresh client can be built, isAuthError works. */
function liveness(c) {
  let cl;
  try {
    cl = new AuthClient({ refreshUrl: REFRESH });
  } catch (e) {
    c.fail(`DEAD (liveness): new AuthClient() threw ${describe(e)}`);
    return;
  }
  try {
    cl.free();
  } catch (e) {
    c.fail(`DEAD (liveness): free() threw ${describe(e)}`);
  }
  try {
    const v = isAuthError(new N.Error('liveness'));
    if (v !== false) c.fail(`DEAD (liveness): isAuthError(new Error()) returned ${describe(v)}`);
  } catch (e) {
    c.fail(`DEAD (liveness): isAuthError threw ${describe(e)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Hostile values.

function throwingProxy(target = {}) {
  const h = {};
  for (const t of ['get', 'set', 'has', 'ownKeys', 'getOwnPropertyDescriptor', 'defineProperty', 'deleteProperty', 'getPrototypeOf', 'apply', 'construct'])
    h[t] = () => {
      throw new Error(`fuzz: proxy trap ${t}`);
    };
  return new Proxy(target, h);
}
function revoked(target = {}) {
  const { proxy, revoke } = Proxy.revocable(target, {});
  revoke();
  return proxy;
}
function getterThrows(keys) {
  const o = {};
  for (const k of keys)
    Object.defineProperty(o, k, {
      get() {
        throw new Error(`fuzz: getter ${k}`);
      },
      enumerable: true,
      configurable: true,
    });
  return o;
}
function indexGetterThrows(items, at) {
  const a = items.slice();
  Object.defineProperty(a, at, {
    get() {
      throw new Error('fuzz: index getter');
    },
    enumerable: true,
  });
  return a;
}
function bigintLength(items) {
  return new Proxy(items.slice(), {
    get: (t, k, r) => (k === 'length' ? BigInt(t.length) : Reflect.get(t, k, r)),
  });
}
function lengthGetterThrows(items) {
  return new Proxy(items.slice(), {
    get: (t, k, r) => {
      if (k === 'length') throw new Error('fuzz: length getter');
      return Reflect.get(t, k, r);
    },
  });
}
/** An Array (Array.isArray is true) claiming `len` elements, each `item`: cheap to make, huge to read. */
function hugeProxy(len, item) {
  return new Proxy([], {
    get: (t, k, r) => {
      if (k === 'length') return len;
      if (typeof k === 'string' && k !== '' && k.charCodeAt(0) >= 48 && k.charCodeAt(0) <= 57) return item;
      return Reflect.get(t, k, r);
    },
  });
}
function stream(chunks = ['a', 'b']) {
  return new ReadableStream({
    start(ctl) {
      for (const c of chunks) ctl.enqueue(new TextEncoder().encode(c));
      ctl.close();
    },
  });
}
const realm = () => S.frame.contentWindow;
function detachedRealm() {
  const f = document.createElement('iframe');
  document.body.append(f);
  const w = f.contentWindow;
  const made = { Request: (u, i) => new w.Request(u, i), URL: (u) => new w.URL(u), Blob: (p) => new w.Blob(p), AbortSignal: w.AbortSignal };
  return { made, detach: () => f.remove() };
}

/** Values of every kind. `bad`: no option accepts it (must be invalid_config naming the option). */
const WEIRD = [
  ['undefined', () => undefined],
  ['null', () => null],
  ['true', () => true],
  ['false', () => false],
  ['0', () => 0],
  ['-0', () => -0],
  ['-1', () => -1],
  ['1.5', () => 1.5],
  ['NaN', () => NaN],
  ['Infinity', () => Infinity],
  ['2**53', () => 2 ** 53],
  ['1e308', () => 1e308],
  ['401', () => 401],
  ['""', () => ''],
  ['" "', () => ' '],
  ['"x"', () => 'x'],
  ['"\\0"', () => '\0'],
  ['lone surrogate', () => '\uD800'],
  ['100k string', () => 'a'.repeat(100_000)],
  ['"401"', () => '401'],
  ['"false"', () => 'false'],
  ['1n', () => 1n, 'bad'],
  ['Symbol', () => Symbol('fuzz'), 'bad'],
  ['{}', () => ({})],
  ['[]', () => []],
  ['[[]]', () => [[]]],
  ['null-prototype object', () => Object.create(null)],
  ['Invalid Date', () => new Date(NaN)],
  ['RegExp', () => /x/g],
  ['Map', () => new Map([['a', 'b']])],
  ['Set', () => new Set([1])],
  ['new Boolean(false)', () => new Boolean(false)],
  ['new Number(1)', () => new Number(1)],
  ['new String("x")', () => new String('x')],
  ['function', () => () => {}],
  ['class', () => class {}],
  ['Promise', () => Promise.resolve(1)],
  ['Error', () => new Error('x')],
  ['throwing Proxy', () => throwingProxy(), 'bad'],
  ['revoked Proxy', () => revoked(), 'bad'],
  ['revoked array Proxy', () => revoked([]), 'bad'],
  ['object with throwing getters', () => getterThrows(['cookie', 'header', '0', 'length', 'Content-Type'])],
  ['Uint8Array', () => new Uint8Array(4)],
  ['ArrayBuffer', () => new ArrayBuffer(8)],
  [
    'toString throws',
    () => ({
      toString() {
        throw new Error('fuzz: toString');
      },
    }),
  ],
  [
    'toPrimitive throws',
    () => ({
      [Symbol.toPrimitive]() {
        throw new Error('fuzz: toPrimitive');
      },
    }),
  ],
  ['frozen {}', () => Object.freeze({})],
  ['window', () => window],
  ['iframe-realm object', () => new (realm().Object)()],
  ['iframe-realm array', () => new (realm().Array)(401)],
];

// ---------------------------------------------------------------------------------------------
// Category: options.

const VALID = {
  refreshUrl: [REFRESH, ABS_REFRESH, `${REFRESH}?x=1`],
  refreshMethod: ['POST', 'PUT', 'post'],
  refreshHeaders: [{}, { 'Content-Type': 'application/json' }, { 'X-A': 'b' }],
  refreshBody: ['{}', null, ''],
  authStatuses: [[401], [401, 403], [419]],
  allowedOrigins: [[], ['http://example.com'], ['https://a.example.com:8443']],
  csrf: [true, false, {}, { cookie: 'csrftoken' }, { cookie: 'c', header: 'X-C' }],
  refreshTimeoutMs: [1, 1000, 60000],
  classifyRefresh: [() => 'refreshed'],
  crossTab: [true, false],
  lockTimeoutMs: [1, 1000],
  maxConcurrent: [1, 6, 100],
};

/** Builds a client from `opts` and checks the outcome: a client, or invalid_config naming one of `fields`. */
function construct(c, label, opts, { fields, mustThrow = false, mustBuild = false, keep = false } = {}) {
  const r = c.call(label, () => new AuthClient(opts), {
    codes: ['invalid_config'],
    field: fields,
    mustThrow,
    check: (v) => (v instanceof AuthClient ? null : `returned ${describe(v)}, not an AuthClient`),
  });
  if (r.ok && r.value instanceof AuthClient) {
    if (!keep) {
      try {
        r.value.free();
      } catch (e) {
        c.fail(`${label}: free() threw ${describe(e)}`);
      }
    } else c.clients.push(r.value);
  } else if (!r.ok && mustBuild && !c.fails.length) c.fail(`${label}: threw ${describe(r.error)}, expected a client`);
  return r;
}

function pollute(c, target, key, value) {
  const had = Object.prototype.hasOwnProperty.call(target, key);
  const old = had ? N.getOwnPropertyDescriptor(target, key) : null;
  target[key] = value;
  c.defer(() => {
    if (had) N.defineProperty(target, key, old);
    else delete target[key];
  });
}

/** A client built with `headersValue` as refreshHeaders: rejected (naming it), or the refresh carries the headers. */
async function refreshHeadersCase(c, label, headersValue) {
  const seen = [];
  const opts = { refreshUrl: REFRESH, refreshHeaders: headersValue, refreshTimeoutMs: 2000, lockTimeoutMs: 1000 };
  const r = c.call(label, () => new AuthClient(opts), { codes: ['invalid_config'], field: 'refreshHeaders' });
  if (!r.ok) return;
  const api = r.value;
  c.clients.push(api);
  window.fetch = function (input, init) {
    try {
      const req = input instanceof N.Request ? new N.Request(input.clone(), init) : new N.Request(input, init);
      if (req.url.includes('/token/refresh/'))
        seen.push({ ct: req.headers.get('content-type'), x: req.headers.get('x-fuzz-h'), method: req.method });
    } catch {
      /* only a spy */
    }
    return N.fetch.call(window, input, init);
  };
  c.defer(() => N.defineProperty(window, 'fetch', N.fetchDesc));
  await expireAccess();
  await c.settle(`${label}: fetch after expiry`, () => api.fetch(url('/api/me/')), { status: 200, bound: 6000 });
  // Without the JSON Content-Type the refresh view answers 415 (so a 200 alone proves it got
  // through); the spy also checks the extra header when the library calls window.fetch.
  if (seen.length && !seen.some((s) => s.ct && s.ct.startsWith('application/json') && s.x === '1'))
    c.fail(`${label}: accepted, but the refresh went out without those headers: ${N.JSON.stringify(seen)}`);
}

const HUGE_N = () => (S.long ? 5_000_000 : 1_000_000);

const OPTIONS_FIXED = [
  ...[
    ['options undefined', () => undefined],
    ['options null', () => null],
    ['options 42', () => 42],
    ['options "str"', () => '/api/auth/token/refresh/'],
    ['options []', () => []],
    ['options function', () => () => {}],
    ['options Symbol', () => Symbol('o')],
    ['options 1n', () => 1n],
    ['options {}', () => ({}), 'refreshUrl'],
    ['options revoked Proxy', () => revoked()],
    ['options Proxy whose get trap throws', () => new Proxy({ refreshUrl: REFRESH }, { get: () => { throw new Error('fuzz: get trap'); } })],
    ['options Proxy with every trap throwing', () => throwingProxy({ refreshUrl: REFRESH })],
    ['refreshUrl getter throws', () => getterThrows(['refreshUrl']), 'refreshUrl'],
  ].map(([name, make, field]) => ({ name, run: (c) => void construct(c, name, make(), { mustThrow: true, fields: field }) })),
  {
    name: 'options Proxy whose ownKeys trap throws',
    run: (c) => void construct(c, 'ownKeys throws', new Proxy({ refreshUrl: REFRESH }, { ownKeys: () => { throw new Error('fuzz: ownKeys'); } })),
  },
  { name: 'control: { refreshUrl }', run: (c) => void construct(c, 'control', { refreshUrl: REFRESH }, { mustBuild: true }) },
  ...['authStatuses', 'allowedOrigins', 'refreshHeaders', 'csrf'].map((k) => ({
    name: `${k}: revoked Proxy`,
    run: (c) => void construct(c, `${k} revoked`, { refreshUrl: REFRESH, [k]: revoked(k === 'refreshHeaders' || k === 'csrf' ? {} : []) }, { mustThrow: true, fields: k }),
  })),
  ...[
    ['authStatuses', [401, 403, 419]],
    ['allowedOrigins', ['http://a.example', 'http://b.example', 'http://c.example']],
  ].flatMap(([k, items]) => [
    { name: `${k}: index getter throws`, run: (c) => void construct(c, k, { refreshUrl: REFRESH, [k]: indexGetterThrows(items, 1) }, { mustThrow: true, fields: k }) },
    { name: `${k}: length is a BigInt`, run: (c) => void construct(c, k, { refreshUrl: REFRESH, [k]: bigintLength(items) }, { mustThrow: true, fields: k }) },
    { name: `${k}: array-like { length: 1n }`, run: (c) => void construct(c, k, { refreshUrl: REFRESH, [k]: { length: 1n, 0: items[0] } }, { mustThrow: true, fields: k }) },
    { name: `${k}: length getter throws`, run: (c) => void construct(c, k, { refreshUrl: REFRESH, [k]: lengthGetterThrows(items) }, { mustThrow: true, fields: k }) },
    { name: `${k}: BigInt element`, run: (c) => void construct(c, k, { refreshUrl: REFRESH, [k]: [...items, 1n] }, { mustThrow: true, fields: k }) },
    { name: `${k}: Symbol element`, run: (c) => void construct(c, k, { refreshUrl: REFRESH, [k]: [Symbol('e')] }, { mustThrow: true, fields: k }) },
    { name: `${k}: revoked Proxy element`, run: (c) => void construct(c, k, { refreshUrl: REFRESH, [k]: [revoked()] }, { mustThrow: true, fields: k }) },
    // Huge: capped (invalid_config) or accepted, but never a trap or a page that stops answering.
    { name: `${k}: Proxy array of length 2**32-1`, bound: 20_000, run: (c) => void construct(c, k, { refreshUrl: REFRESH, [k]: hugeProxy(2 ** 32 - 1, items[0]) }, { fields: k }) },
    { name: `${k}: array-like of length 2**53-1`, bound: 20_000, run: (c) => void construct(c, k, { refreshUrl: REFRESH, [k]: { length: 2 ** 53 - 1, 0: items[0] } }, { fields: k }) },
  ]),
  {
    name: 'allowedOrigins: a real array of HUGE_N long origins',
    bound: 30_000,
    run: (c) => {
      const long = `https://${'a'.repeat(60)}.example.com`;
      construct(c, 'huge allowedOrigins', { refreshUrl: REFRESH, allowedOrigins: new Array(HUGE_N()).fill(long) }, { fields: 'allowedOrigins' });
    },
  },
  {
    name: 'authStatuses: a real array of HUGE_N statuses',
    bound: 30_000,
    run: (c) => void construct(c, 'huge authStatuses', { refreshUrl: REFRESH, authStatuses: new Array(HUGE_N()).fill(401) }, { fields: 'authStatuses' }),
  },
  {
    name: 'refreshHeaders: 100,000 headers',
    bound: 30_000,
    run: (c) => {
      const h = {};
      for (let i = 0; i < 100_000; i++) h[`X-H${i}`] = 'v';
      construct(c, 'huge refreshHeaders', { refreshUrl: REFRESH, refreshHeaders: h }, { fields: 'refreshHeaders' });
    },
  },
  {
    name: 'refreshUrl: 1,000,000 characters',
    bound: 30_000,
    run: (c) => void construct(c, 'huge refreshUrl', { refreshUrl: `${REFRESH}?${'a'.repeat(1_000_000)}` }, { fields: 'refreshUrl' }),
  },
  // Accepted but wrong (issue 13): Headers / Map / pairs either work or are rejected.
  {
    name: 'refreshHeaders: new Headers(...) works or is rejected',
    network: true,
    run: (c) => refreshHeadersCase(c, 'Headers', new Headers({ 'Content-Type': 'application/json', 'X-Fuzz-H': '1' })),
  },
  {
    name: 'refreshHeaders: Map works or is rejected',
    network: true,
    run: (c) => refreshHeadersCase(c, 'Map', new Map([['Content-Type', 'application/json'], ['X-Fuzz-H', '1']])),
  },
  {
    name: 'refreshHeaders: [[name, value]] works or is rejected',
    network: true,
    run: (c) => refreshHeadersCase(c, 'pairs', [['Content-Type', 'application/json'], ['X-Fuzz-H', '1']]),
  },
  {
    name: 'refreshHeaders: iframe-realm Headers works or is rejected',
    network: true,
    run: (c) => refreshHeadersCase(c, 'iframe Headers', new (realm().Headers)({ 'Content-Type': 'application/json', 'X-Fuzz-H': '1' })),
  },
  ...[
    ['[]', () => []],
    ['new Map()', () => new Map()],
    ['new Date()', () => new Date()],
    ['"true"', () => 'true'],
    ['1', () => 1],
    ['function', () => () => {}],
    ['new Boolean(true)', () => new Boolean(true)],
    ['RegExp', () => /x/],
    ['class instance', () => new (class Csrf {})()],
    ['new Headers()', () => new Headers()],
    ['Promise', () => Promise.resolve({})],
    ['{ cookie: 42 }', () => ({ cookie: 42 })],
    ['{ cookie: Symbol }', () => ({ cookie: Symbol('c') })],
  ].map(([name, make]) => ({ name: `csrf: ${name} is rejected`, run: (c) => void construct(c, `csrf ${name}`, { refreshUrl: REFRESH, csrf: make() }, { mustThrow: true, fields: 'csrf' }) })),
  ...[true, false, { cookie: 'c', header: 'X-C' }, {}].map((v) => ({
    name: `csrf: ${describe(v)} builds`,
    run: (c) => void construct(c, 'csrf ok', { refreshUrl: REFRESH, csrf: v }, { mustBuild: true }),
  })),
  ...[
    'http://exa\nmple.com',
    'http://[::1',
    'http://example.com:80:80',
    'http://exa mple.com',
    '',
    'example.com',
    'http://',
    '://x',
    'http://exa\tmple.com',
    'http://example.com:99999',
  ].map((o) => ({
    name: `allowedOrigins: ${JSON.stringify(o)} is rejected`,
    run: (c) => void construct(c, `allowedOrigins ${JSON.stringify(o)}`, { refreshUrl: REFRESH, allowedOrigins: [o] }, { mustThrow: true, fields: 'allowedOrigins' }),
  })),
  ...[
    ['"http://a.example" (not an array)', 'http://a.example'],
    ['[42]', [42]],
    ['[null]', [null]],
    ['[new String(...)]', [new String('http://a.example')]],
  ].map(([name, v]) => ({
    name: `allowedOrigins: ${name} is rejected`,
    run: (c) => void construct(c, `allowedOrigins ${name}`, { refreshUrl: REFRESH, allowedOrigins: v }, { mustThrow: true, fields: 'allowedOrigins' }),
  })),
  ...[['http://example.com'], ['https://api.example.com:8443']].map((v) => ({
    name: `allowedOrigins: ${JSON.stringify(v)} builds`,
    run: (c) => void construct(c, 'allowedOrigins ok', { refreshUrl: REFRESH, allowedOrigins: v }, { mustBuild: true }),
  })),
  ...[['"false"', 'false'], ['0', 0], ['1', 1], ['new Boolean(false)', new Boolean(false)], ['{}', {}], ['"true"', 'true']].map(([name, v]) => ({
    name: `crossTab: ${name} is rejected (booleans only)`,
    run: (c) => void construct(c, `crossTab ${name}`, { refreshUrl: REFRESH, crossTab: v }, { mustThrow: true, fields: 'crossTab' }),
  })),
  ...['refreshTimeoutMs', 'lockTimeoutMs', 'maxConcurrent'].flatMap((k) =>
    [['"1000"', '1000'], ['1n', 1n], ['NaN', NaN], ['-1', -1], ['{}', {}], ['new Number(5)', new Number(5)]].map(([name, v]) => ({
      name: `${k}: ${name} is rejected`,
      run: (c) => void construct(c, `${k} ${name}`, { refreshUrl: REFRESH, [k]: v }, { mustThrow: true, fields: k }),
    })),
  ),
  ...[['42', 42], ['"x"', 'x'], ['{}', {}], ['[]', []]].map(([name, v]) => ({
    name: `classifyRefresh: ${name} is rejected`,
    run: (c) => void construct(c, `classifyRefresh ${name}`, { refreshUrl: REFRESH, classifyRefresh: v }, { mustThrow: true, fields: 'classifyRefresh' }),
  })),
  ...[['[600]', [600]], ['["401"]', ['401']], ['[401.5]', [401.5]], ['[NaN]', [NaN]], ['"401"', '401'], ['[-1]', [-1]]].map(([name, v]) => ({
    name: `authStatuses: ${name} is rejected`,
    run: (c) => void construct(c, `authStatuses ${name}`, { refreshUrl: REFRESH, authStatuses: v }, { mustThrow: true, fields: 'authStatuses' }),
  })),
  ...[['"bad method"', 'bad method'], ['""', ''], ['42', 42], ['"GET\\n"', 'GET\n']].map(([name, v]) => ({
    name: `refreshMethod: ${name} is rejected`,
    run: (c) => void construct(c, `refreshMethod ${name}`, { refreshUrl: REFRESH, refreshMethod: v }, { mustThrow: true, fields: 'refreshMethod' }),
  })),
  ...[['42', 42], ['Symbol', Symbol('u')], ['{}', {}], ['"http://[::1"', 'http://[::1'], ['"http://u:p@x/"', 'http://u:p@127.0.0.1/r/']].map(([name, v]) => ({
    name: `refreshUrl: ${name} is rejected`,
    run: (c) => void construct(c, `refreshUrl ${name}`, { refreshUrl: v }, { mustThrow: true, fields: 'refreshUrl' }),
  })),
  {
    name: 'unknown option refreshURL (a typo) names it',
    run: (c) => void construct(c, 'typo', { refreshUrl: REFRESH, refreshURL: REFRESH }, { mustThrow: true, fields: 'refreshURL' }),
  },
  {
    name: 'a getter valid on first read, invalid on the second (read once)',
    run: (c) => {
      let n = 0;
      const o = { refreshUrl: REFRESH };
      Object.defineProperty(o, 'authStatuses', { get: () => (n++ ? 'garbage' : [401]), enumerable: true });
      construct(c, 'toctou', o, { fields: 'authStatuses' });
    },
  },
  // Prototype pollution: own properties only.
  ...[
    ['authStatuses', [418]],
    ['crossTab', 'garbage'],
    ['csrf', []],
    ['allowedOrigins', 42],
    ['refreshTimeoutMs', 'x'],
    ['classifyRefresh', 42],
    ['skipAuthRefresh', true],
    ['refreshURL', 'typo'],
    ['maxConcurrent', -1],
  ].map(([k, v]) => ({
    name: `Object.prototype.${k} = ${describe(v)} is ignored`,
    run: (c) => {
      pollute(c, Object.prototype, k, v);
      construct(c, `polluted ${k}`, { refreshUrl: REFRESH }, { mustBuild: true });
    },
  })),
  {
    name: 'Object.prototype.refreshUrl with options {} is still "refreshUrl missing"',
    run: (c) => {
      pollute(c, Object.prototype, 'refreshUrl', REFRESH);
      construct(c, 'polluted refreshUrl', {}, { mustThrow: true, fields: 'refreshUrl' });
    },
  },
  {
    name: 'Object.prototype.authStatuses = [418]: a 401 still refreshes, a 418 does not',
    network: true,
    run: async (c) => {
      pollute(c, Object.prototype, 'authStatuses', [418]);
      const r = construct(c, 'polluted', { refreshUrl: REFRESH, refreshTimeoutMs: 2000 }, { mustBuild: true, keep: true });
      if (!r.ok) return;
      const api = r.value;
      await c.settle('418 ping', () => api.fetch(url('/api/ping/?status=418')), { status: 418 });
      const started = safe(() => api.stats().refreshesStarted);
      if (started !== 0) c.fail(`a 418 started a refresh (refreshesStarted ${started}): the polluted authStatuses was honoured`);
      await expireAccess();
      await c.settle('401 → refresh', () => api.fetch(url('/api/me/')), { status: 200, bound: 6000 });
    },
  },
];

function optionsRandom(rng) {
  const opts = { refreshUrl: REFRESH };
  const touched = [];
  const badKeys = new Set(); // keys whose last mutation is invalid whatever the rules
  const n = 1 + rng.int(3);
  const parts = [];
  for (let k = 0; k < n; k++) {
    const key = rng.chance(0.08) ? rng.pick(['refreshURL', 'timeout', '__proto__x', 'skipAuthRefresh', 'constructor', 'signal']) : rng.pick(OPTION_KEYS);
    const kind = rng.pick(['valid', 'weird', 'weird', 'weird', 'element', 'getter', 'delete']);
    touched.push(key);
    const unknown = !OPTION_KEYS.includes(key);
    delete opts[key]; // a throwing getter from an earlier mutation of the same key
    badKeys.delete(key);
    if (kind === 'valid' && VALID[key]) {
      const v = rng.pick(VALID[key]);
      opts[key] = typeof v === 'object' && v !== null ? structuredCloneSafe(v) : v;
      parts.push(`${key}=valid ${describe(v)}`);
    } else if (kind === 'getter') {
      Object.defineProperty(opts, key, {
        get() {
          throw new Error(`fuzz: option getter ${key}`);
        },
        enumerable: true,
        configurable: true,
      });
      badKeys.add(key);
      parts.push(`${key}=throwing getter`);
    } else if (kind === 'delete') {
      delete opts[key];
      if (key === 'refreshUrl') badKeys.add(key);
      parts.push(`${key} deleted`);
    } else if (kind === 'element' && ['authStatuses', 'allowedOrigins', 'refreshHeaders', 'csrf'].includes(key)) {
      const [wn, wv, wbad] = rng.pick(WEIRD);
      if (key === 'authStatuses') opts[key] = [401, wv()];
      else if (key === 'allowedOrigins') opts[key] = ['http://example.com', wv()];
      else if (key === 'refreshHeaders') opts[key] = rng.chance(0.5) ? { 'X-A': wv() } : { [String(rng.pick(['bad name', 'X\n', '', 'X-ok', 'Ü', '(']))]: 'v' };
      else {
        const which = rng.int(3); // the weird value as the cookie name, the header name, or both
        opts[key] = { cookie: which !== 1 ? wv() : 'csrftoken', header: which !== 0 ? wv() : 'X-CSRFToken' };
      }
      if (wbad && key !== 'refreshHeaders') badKeys.add(key);
      parts.push(`${key} with element ${wn}`);
    } else {
      const [wn, wv, wbad] = rng.pick(WEIRD);
      opts[key] = wv();
      // Unknown options are rejected (README), whatever their value (undefined may count as absent).
      if (wbad || (unknown && opts[key] !== undefined)) badKeys.add(key);
      parts.push(`${key}=${wn}`);
    }
  }
  const bad = badKeys.size > 0;
  let wrap = 'plain';
  let target = opts;
  const w = rng.int(40);
  const copy = (o) => Object.defineProperties(o, Object.getOwnPropertyDescriptors(opts));
  if (w === 0) (wrap = 'frozen'), (target = Object.freeze(opts));
  else if (w === 1) (wrap = 'null-prototype'), (target = copy(Object.create(null)));
  else if (w === 2) (wrap = 'iframe-realm object'), (target = copy(new (realm().Object)()));
  else if (w === 3) (wrap = 'transparent Proxy'), (target = new Proxy(opts, {}));
  const fetchAfter = rng.chance(0.15);
  const name = `options ${wrap}: ${parts.join(', ')}${fetchAfter ? ' + a fetch' : ''}`;
  return {
    name,
    run: async (c) => {
      const fields = wrap === 'plain' || wrap === 'frozen' || wrap === 'null-prototype' ? [...touched] : undefined;
      const r = construct(c, 'new AuthClient', target, { fields, mustThrow: bad, keep: fetchAfter });
      if (fetchAfter && r.ok && r.value instanceof AuthClient) {
        await c.settle('fetch with the accepted options', () => r.value.fetch(url()), { bound: 4000 });
      }
    },
  };
}

function structuredCloneSafe(v) {
  if (Array.isArray(v)) return v.slice();
  return { ...v };
}

// ---------------------------------------------------------------------------------------------
// Category: fetch inputs and RequestInit.

const INPUTS = [
  ['path', (id) => `/api/ping/?fz=${id}`, 8],
  ['absolute', (id) => `${location.origin}/api/ping/?fz=${id}`, 3],
  ['URL', (id) => new URL(`/api/ping/?fz=${id}`, location.href), 3],
  ['Request', (id) => new Request(`/api/ping/?fz=${id}`), 3],
  ['Request POST /api/echo/', (id) => new Request(`/api/echo/?fz=${id}`, { method: 'POST', body: 'hi' }), 2],
  ['iframe-realm Request', (id) => new (realm().Request)(`${location.origin}/api/ping/?fz=${id}`), 3],
  ['iframe-realm URL', (id) => new (realm().URL)(`${location.origin}/api/ping/?fz=${id}`), 2],
  [
    'Request from a removed iframe',
    (id) => {
      const d = detachedRealm();
      const r = d.made.Request(`${location.origin}/api/ping/?fz=${id}`);
      d.detach();
      return r;
    },
    1,
  ],
  [
    'used Request',
    (id) => {
      const r = new Request(`/api/echo/?fz=${id}`, { method: 'POST', body: 'x' });
      r.text();
      return r;
    },
    1,
  ],
  ['Request with a stream body (duplex half)', (id) => new Request(`/api/echo/?fz=${id}`, { method: 'POST', body: stream(), duplex: 'half' }), 1],
  ['Request with an aborted signal', (id) => new Request(`/api/ping/?fz=${id}`, { signal: AbortSignal.abort() }), 1],
  ['new String(path)', (id) => new String(`/api/ping/?fz=${id}`), 1],
  ['{ toString }', (id) => ({ toString: () => `/api/ping/?fz=${id}` }), 1],
  ['relative "api/ping/"', (id) => `api/ping/?fz=${id}`, 1],
  ['with #hash', (id) => `/api/ping/?fz=${id}#h`, 1],
  ['undefined', () => undefined, 1],
  ['null', () => null, 1],
  ['42', () => 42, 1],
  ['{}', () => ({}), 1],
  ['Symbol', () => Symbol('in'), 1],
  ['""', () => '', 1],
  [
    'toString throws',
    () => ({
      toString() {
        throw new Error('fuzz: input toString');
      },
    }),
    1,
  ],
  ['revoked Proxy', () => revoked(), 1],
  ['throwing Proxy', () => throwingProxy(), 1],
  ['"http://[::1"', () => 'http://[::1', 1],
  ['credentials in URL', (id) => `http://u:p@${location.host}/api/ping/?fz=${id}`, 1],
  ['data: URL', () => 'data:,hello', 1],
  ['javascript: URL', () => 'javascript:void 0', 1],
  ['refused port', () => 'http://127.0.0.1:1/', 1],
  ['ping ?status=500', (id) => `/api/ping/?status=500&fz=${id}`, 1],
  ['ping ?status=401 (refresh, replay, unauthorized)', (id) => `/api/ping/?status=401&fz=${id}`, 0.3],
  ['404', (id) => `/api/nope/?fz=${id}`, 1],
  ['/api/echo/', (id) => `/api/echo/?fz=${id}`, 2],
];

const INIT_PARTS = {
  method: [
    ['GET', 'GET'],
    ['POST', 'POST'],
    ['PUT', 'PUT'],
    ['DELETE', 'DELETE'],
    ['PATCH', 'PATCH'],
    ['HEAD', 'HEAD'],
    ['get', 'get'],
    ['CONNECT', 'CONNECT'],
    ['TRACE', 'TRACE'],
    ['TRACK', 'TRACK'],
    ['"bad method"', 'bad method'],
    ['""', ''],
    ['"GET\\n"', 'GET\n'],
    ['42', 42],
    ['null', null],
    ['Symbol', () => Symbol('m')],
    [
      'toString throws',
      () => ({
        toString() {
          throw new Error('fuzz: method toString');
        },
      }),
    ],
  ],
  headers: [
    ['{}', () => ({})],
    ['{ X-A }', () => ({ 'X-A': 'b' })],
    ['text/plain', () => ({ 'Content-Type': 'text/plain' })],
    ['Headers', () => new Headers({ 'X-B': 'c' })],
    ['iframe Headers', () => new (realm().Headers)({ 'X-B': 'c' })],
    ['pairs', () => [['X-C', 'd']]],
    ['bad pair', () => [['a']]],
    ['bad name', () => ({ 'bad name': 'x' })],
    ['bad value', () => ({ 'X-N': 'a\nb' })],
    ['42', 42],
    ['"str"', 'str'],
    ['Map', () => new Map([['X-M', '1']])],
    ['revoked', () => revoked()],
    ['throwing Proxy', () => throwingProxy()],
  ],
  body: [
    ['string', 'str'],
    ['""', ''],
    ['null', null],
    ['Blob', () => new Blob(['blob'])],
    ['iframe Blob', () => new (realm().Blob)(['blob'])],
    ['ArrayBuffer', () => new ArrayBuffer(3)],
    ['Uint8Array', () => new Uint8Array([1, 2])],
    ['DataView', () => new DataView(new ArrayBuffer(2))],
    ['URLSearchParams', () => new URLSearchParams('a=1')],
    ['FormData', () => new FormData()],
    ['ReadableStream', () => stream()],
    ['iframe ReadableStream', () => new (realm().ReadableStream)()],
    ['Response.body', () => new Response('x').body],
    ['{}', () => ({})],
    ['42', 42],
    ['Symbol', () => Symbol('b')],
    ['1 MB string', () => 'b'.repeat(1 << 20)],
    ['revoked', () => revoked()],
    [
      'toString throws',
      () => ({
        toString() {
          throw new Error('fuzz: body toString');
        },
      }),
    ],
  ],
  signal: [
    ['null', null],
    ['live signal', () => new AbortController().signal],
    ['aborted', () => AbortSignal.abort()],
    ['aborted(42)', () => AbortSignal.abort(42)],
    ['timeout(1)', () => AbortSignal.timeout(1)],
    ['timeout(5000)', () => AbortSignal.timeout(5000)],
    ['iframe signal', () => new (realm().AbortController)().signal],
    [
      'aborts in 5 ms',
      () => {
        const ac = new AbortController();
        N.setTimeout(() => ac.abort(), 5);
        return ac.signal;
      },
    ],
    ['{}', () => ({})],
    ['"x"', 'x'],
    ['42', 42],
    ['AbortController', () => new AbortController()],
    ['revoked', () => revoked()],
    ['throwing Proxy', () => throwingProxy()],
  ],
  credentials: [['omit', 'omit'], ['same-origin', 'same-origin'], ['include', 'include'], ['bogus', 'bogus']],
  mode: [['cors', 'cors'], ['same-origin', 'same-origin'], ['no-cors', 'no-cors'], ['navigate', 'navigate'], ['bogus', 'bogus']],
  cache: [['no-store', 'no-store'], ['reload', 'reload'], ['only-if-cached', 'only-if-cached'], ['bogus', 'bogus']],
  redirect: [['follow', 'follow'], ['error', 'error'], ['manual', 'manual'], ['bogus', 'bogus']],
  referrer: [['""', ''], ['about:client', 'about:client'], ['/x', '/x'], ['foreign', 'http://evil.example/'], ['":::"', ':::']],
  referrerPolicy: [['no-referrer', 'no-referrer'], ['bogus', 'bogus']],
  integrity: [['""', ''], ['sha256-abc', 'sha256-abc']],
  keepalive: [['true', true], ['false', false], ['"yes"', 'yes']],
  priority: [['high', 'high'], ['bogus', 'bogus']],
  duplex: [['half', 'half'], ['full', 'full'], ['42', 42]],
  window: [['null', null], ['42', 42], ['window', () => window]],
  skipAuthRefresh: [
    ['true', true],
    ['false', false],
    ['undefined', undefined],
    ['null', null],
    ['"false"', 'false'],
    ['"true"', 'true'],
    ['0', 0],
    ['1', 1],
    ['{}', () => ({})],
    ['[]', () => []],
    ['new Boolean(false)', () => new Boolean(false)],
    ['Symbol', () => Symbol('s')],
    ['1n', 1n],
    ['function', () => () => true],
    ['NaN', NaN],
  ],
};
const INIT_KEYS = Object.keys(INIT_PARTS);
const val = (v) => (typeof v === 'function' ? v() : v);
const isStreamish = (v) => {
  try {
    return v instanceof ReadableStream || (S.frame && v instanceof realm().ReadableStream);
  } catch {
    return false;
  }
};
/** skipAuthRefresh must be a boolean (undefined: absent; null: either absent or rejected). */
const skipIsBad = (v) => v !== undefined && v !== null && typeof v !== 'boolean';

function weighted(rng, xs) {
  const total = xs.reduce((a, x) => a + x[2], 0);
  let r = rng.next() * total;
  for (const x of xs) if ((r -= x[2]) < 0) return x;
  return xs[xs.length - 1];
}

/** A fetch case from a seed: `build()` makes fresh (input, init) each call (for the oracle and the library). */
function fetchSpec(seed) {
  const rng = new Rng(seed);
  const id = `f${seed.toString(36)}`;
  const [inName, inMake] = weighted(rng, INPUTS);
  const nparts = rng.pick([0, 0, 1, 1, 1, 2, 2, 3]);
  const parts = [];
  for (let k = 0; k < nparts; k++) {
    const key = rng.chance(0.2) ? 'skipAuthRefresh' : rng.pick(INIT_KEYS);
    const [vn, v] = rng.pick(INIT_PARTS[key]);
    parts.push([key, vn, v, rng.chance(0.04)]);
  }
  const wrap = rng.chance(0.1) ? rng.pick(['null', 'undefined', '42', '"str"', '[]', 'revoked', 'throwing Proxy', 'null-prototype', 'frozen', 'iframe-realm object', 'getters on the prototype']) : 'plain';
  const build = () => {
    const input = inMake(id);
    let init;
    if (wrap === 'null') init = null;
    else if (wrap === 'undefined') init = undefined;
    else if (wrap === '42') init = 42;
    else if (wrap === '"str"') init = 'str';
    else if (wrap === '[]') init = [];
    else if (wrap === 'revoked') init = revoked();
    else if (wrap === 'throwing Proxy') init = throwingProxy();
    else {
      const o = wrap === 'null-prototype' ? Object.create(null) : wrap === 'iframe-realm object' ? new (realm().Object)() : {};
      for (const [key, , v, getterThrows] of parts) {
        delete o[key];
        if (getterThrows)
          Object.defineProperty(o, key, {
            get() {
              throw new Error(`fuzz: init getter ${key}`);
            },
            enumerable: true,
            configurable: true,
          });
        else o[key] = val(v);
      }
      if (wrap === 'frozen') Object.freeze(o);
      if (wrap === 'getters on the prototype') {
        const proto = {};
        for (const [key, , v] of parts) Object.defineProperty(proto, key, { get: () => val(v), enumerable: true, configurable: true });
        init = Object.create(proto);
      } else init = o;
    }
    return { input, init };
  };
  const plain = wrap === 'plain' || wrap === 'null-prototype' || wrap === 'frozen' || wrap === 'iframe-realm object';
  const skip = plain ? parts.filter(([k]) => k === 'skipAuthRefresh').pop() : null;
  const skipBad = !!skip && (skip[3] || skipIsBad(val(skip[2])));
  const hasStream = inName.includes('stream') || parts.some(([k, vn]) => k === 'body' && /Stream|Response\.body/.test(vn));
  const name = `fetch(${inName}${wrap !== 'plain' ? `, init ${wrap}` : ''}${parts.length ? `, { ${parts.map(([k, vn, , g]) => `${k}: ${g ? 'throwing getter' : vn}`).join(', ')} }` : ''})`;
  return { name, build, skipBad, hasStream, keepalive: parts.some(([k, vn]) => k === 'keepalive' && vn === 'true') };
}

/** Runs one fetch spec against the oracle (new Request) and the library. */
async function fetchCase(c, spec, api) {
  let oracle = null;
  let oracleUrl = null;
  try {
    const { input, init } = spec.build();
    const req = new N.Request(input, init);
    oracleUrl = req.url;
  } catch (e) {
    oracle = e;
  }
  const { input, init } = spec.build();
  let codes;
  let mustReject = false;
  if (oracle) {
    mustReject = true;
    codes = spec.hasStream ? ['invalid_request', 'body_not_replayable'] : ['invalid_request'];
  } else if (spec.skipBad) {
    mustReject = true;
    codes = ['invalid_request', 'aborted']; // either check may come first when the signal is aborted
  } else {
    codes = ['network', 'aborted', 'body_not_replayable', 'unauthorized', 'refresh_failed', 'session_expired', 'invalid_request'];
  }
  const sameOriginHttp = oracleUrl && oracleUrl.startsWith(`${location.origin}/`);
  const r = await c.settle('api.fetch', () => api.fetch(input, init), {
    codes,
    mustReject,
    // The TypeError fetch gives is the cause, unless skipAuthRefresh is bad too (either may be reported).
    causeTypeError: oracle && !spec.skipBad ? isTypeError(oracle) : false,
    bound: 6000,
    check: (res) => {
      if (!sameOriginHttp) return null;
      const want = oracleUrl.split('#')[0];
      const got = safe(() => res.url);
      return got === want || safe(() => res.redirected) ? null : `the request went to ${got}, not ${want}`;
    },
  });
  if (oracle && c.fails.length) c.fails[c.fails.length - 1] += ` (new Request throws ${describe(oracle)})`;
  // invalid_request for an input native fetch takes: ask native fetch itself.
  if (!oracle && !spec.skipBad && !r.ok && !r.hang && !r.sync && safe(() => r.error.code) === 'invalid_request' && sameOriginHttp && !spec.keepalive) {
    const again = spec.build();
    const n = await withBound(nativeFetch(again.input, again.init), 6000);
    if (n.ok) {
      drain(n.value);
      c.fail(`api.fetch rejected invalid_request (${describe(r.error)}), but native fetch resolves ${safe(() => n.value.status)}`);
    }
  }
}

const FETCH_FIXED = [
  {
    name: 'iframe-realm Request goes to its own URL',
    run: (c) =>
      c.settle('iframe Request', () => c.client().fetch(new (realm().Request)(`${location.origin}/api/ping/?xrealm=1&fz=${++S.seq}`)), {
        status: 200,
        check: (res) => (safe(() => res.url).includes('/api/ping/?xrealm=1') ? null : `sent to ${safe(() => res.url)}`),
      }),
  },
  {
    name: 'iframe-realm URL goes to its own URL',
    run: (c) =>
      c.settle('iframe URL', () => c.client().fetch(new (realm().URL)(`${location.origin}/api/ping/?xrealmurl=1&fz=${++S.seq}`)), {
        status: 200,
        check: (res) => (safe(() => res.url).includes('xrealmurl=1') ? null : `sent to ${safe(() => res.url)}`),
      }),
  },
  {
    name: 'iframe-realm POST Request with a body replays it',
    run: (c) =>
      c.settle(
        'iframe POST',
        () => c.client().fetch(new (realm().Request)(`${location.origin}/api/echo/?fz=${++S.seq}`, { method: 'POST', body: 'payload' })),
        { status: 200 },
      ),
  },
  ...[
    ['"false"', 'false'],
    ['{}', {}],
    ['new Boolean(false)', new Boolean(false)],
    ['"true"', 'true'],
    ['0', 0],
    ['1', 1],
    ['[]', []],
    ['Symbol', Symbol('s')],
    ['1n', 1n],
    ['() => true', () => true],
    ['NaN', NaN],
    ['new Boolean(true)', new Boolean(true)],
  ].map(([name, v]) => ({
    name: `skipAuthRefresh: ${name} rejects invalid_request (booleans only)`,
    run: (c) => c.settle(`skipAuthRefresh ${name}`, () => c.client().fetch(url(), { skipAuthRefresh: v }), { codes: ['invalid_request'], mustReject: true }),
  })),
  ...[true, false, undefined].map((v) => ({
    name: `skipAuthRefresh: ${v} is accepted`,
    run: (c) => c.settle(`skipAuthRefresh ${v}`, () => c.client().fetch(url(), { skipAuthRefresh: v }), { status: 200 }),
  })),
  {
    name: 'skipAuthRefresh: a throwing getter rejects invalid_request',
    run: (c) =>
      c.settle('skip getter', () => c.client().fetch(url(), getterThrows(['skipAuthRefresh'])), { codes: ['invalid_request'], mustReject: true }),
  },
  {
    name: 'skipAuthRefresh false refreshes on 401, true hands the 401 back',
    network: true,
    run: async (c) => {
      const api = c.client({ refreshTimeoutMs: 2000 });
      await expireAccess();
      await c.settle('skip true', () => api.fetch(url('/api/me/'), { skipAuthRefresh: true }), { status: 401 });
      await c.settle('skip false', () => api.fetch(url('/api/me/'), { skipAuthRefresh: false }), { status: 200, bound: 6000 });
    },
  },
  {
    name: 'Object.prototype.skipAuthRefresh = true is ignored',
    network: true,
    run: async (c) => {
      pollute(c, Object.prototype, 'skipAuthRefresh', true);
      const api = c.client({ refreshTimeoutMs: 2000 });
      await expireAccess();
      await c.settle('polluted, no init', () => api.fetch(url('/api/me/')), { status: 200, bound: 6000 });
      await expireAccess();
      await c.settle('polluted, init {}', () => api.fetch(url('/api/me/'), {}), { status: 200, bound: 6000 });
    },
  },
  ...[
    ['CONNECT', { method: 'CONNECT' }],
    ['TRACE', { method: 'TRACE' }],
    ['TRACK', { method: 'TRACK' }],
    ['"bad method"', { method: 'bad method' }],
    ['""', { method: '' }],
    ['"GET\\n"', { method: 'GET\n' }],
  ].map(([name, init]) => ({
    name: `method ${name} rejects invalid_request with fetch's TypeError`,
    run: (c) => c.settle(`method ${name}`, () => c.client().fetch(url(), init), { codes: ['invalid_request'], mustReject: true, causeTypeError: true }),
  })),
  ...[
    ['{}', () => ({})],
    ['"x"', () => 'x'],
    ['42', () => 42],
    ['an AbortController', () => new AbortController()],
    ['a Proxy of a signal', () => new Proxy(new AbortController().signal, {})],
  ].map(([name, make]) => ({
    name: `signal ${name} rejects invalid_request with fetch's TypeError`,
    run: (c) => c.settle(`signal ${name}`, () => c.client().fetch(url(), { signal: make() }), { codes: ['invalid_request'], mustReject: true, causeTypeError: true }),
  })),
  {
    name: 'stream body without duplex: invalid_request or body_not_replayable',
    run: (c) =>
      c.settle('stream, no duplex', () => c.client().fetch(url('/api/echo/'), { method: 'POST', body: stream() }), {
        codes: ['invalid_request', 'body_not_replayable'],
        mustReject: true,
        causeTypeError: true,
      }),
  },
  {
    name: 'stream body with duplex half: body_not_replayable',
    run: (c) =>
      c.settle('stream, duplex', () => c.client().fetch(url('/api/echo/'), { method: 'POST', body: stream(), duplex: 'half' }), {
        codes: ['body_not_replayable'],
        mustReject: true,
      }),
  },
  {
    name: 'GET with a body: invalid_request',
    run: (c) => c.settle('GET body', () => c.client().fetch(url(), { body: 'x' }), { codes: ['invalid_request'], mustReject: true, causeTypeError: true }),
  },
  {
    name: 'credentials in the URL: invalid_request',
    run: (c) =>
      c.settle('creds', () => c.client().fetch(`http://u:p@${location.host}/api/ping/`), { codes: ['invalid_request'], mustReject: true, causeTypeError: true }),
  },
  {
    name: 'already-aborted signal: aborted',
    run: (c) => c.settle('aborted', () => c.client().fetch(url(), { signal: AbortSignal.abort() }), { codes: ['aborted'], mustReject: true }),
  },
  {
    name: 'abort while waiting for a slow refresh: aborted at once',
    network: true,
    run: async (c) => {
      const api = c.client({ refreshTimeoutMs: 3000, refreshUrl: `${REFRESH}?fzabort=1`, crossTab: false });
      await refreshDelay(400);
      c.defer(() => resetServer());
      await expireAccess();
      const ac = new AbortController();
      const p = c.settle('waiter', () => api.fetch(url('/api/me/'), { signal: ac.signal }), { codes: ['aborted'], mustReject: true, bound: 1500 });
      await sleep(100);
      ac.abort();
      await p;
      await c.settle('after the refresh', () => api.fetch(url('/api/me/')), { status: 200, bound: 5000 });
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Category: listeners.

const NON_FUNCTIONS = [
  ['1', 1],
  ['"x"', 'x'],
  ['null', null],
  ['undefined', undefined],
  ['{}', {}],
  ['[]', []],
  ['Symbol', Symbol('l')],
  ['1n', 1n],
  ['revoked object Proxy', revoked()],
  ['{ handleEvent }', { handleEvent() {} }],
];
const BAD_TYPES = [['"bogus"', 'bogus'], ['""', ''], ['42', 42], ['null', null], ['undefined', undefined], ['Symbol', Symbol('t')], ['{}', {}], ['"SENT"', 'SENT'], ['" sent"', ' sent'], ['new String("sent")', new String('sent')]];

const LISTENER_BEHAVIOURS = [
  'noop',
  'throw Error',
  'throw 42',
  'throw null',
  'throw undefined',
  'throw revoked Proxy',
  'free',
  'markLoggedIn',
  'fetch once',
  'fetch each time (up to 5)',
  'on() inside',
  'off self',
  'off all',
  'stats',
  'sessionExpired',
  'free then throw',
  'busy 2 ms',
  'async noop',
  'class (throws when called)',
  'revoked function Proxy',
  'bound function',
  'function Proxy',
];

/** A listener with a behaviour; its own library calls are checked (no escapes, bounded recursion). */
function makeListener(c, L, behaviour, api) {
  const st = { calls: 0, depth: 0, maxDepth: 0, fetches: [], offs: [], nested: 0 };
  L.states.push(st);
  const inner = (label, f, o = {}) => {
    try {
      return f();
    } catch (e) {
      const p = problem(e, o);
      if (p) c.fail(`listener ${behaviour}: ${label}: ${p}`);
      return undefined;
    }
  };
  const body = (ev) => {
    st.calls++;
    if (st.calls > 2000) return;
    switch (behaviour) {
      case 'throw Error':
        throw new Error('fuzz: listener throws');
      case 'throw 42':
        throw 42;
      case 'throw null':
        throw null;
      case 'throw undefined':
        throw undefined;
      case 'throw revoked Proxy':
        throw revoked();
      case 'free':
        if (!c.freed.has(api)) {
          c.freed.add(api);
          try {
            api.free();
          } catch (e) {
            c.fail(`listener free(): threw ${describe(e)} (listeners may call free())`);
          }
        }
        return;
      case 'free then throw':
        if (!c.freed.has(api)) {
          c.freed.add(api);
          inner('free', () => api.free());
        }
        throw new Error('fuzz: after free');
      case 'markLoggedIn':
        st.depth++;
        st.maxDepth = Math.max(st.maxDepth, st.depth);
        try {
          if (st.depth <= 25) inner('markLoggedIn', () => api.markLoggedIn(), { codes: ['invalid_call'] });
        } finally {
          st.depth--;
        }
        return;
      case 'fetch once':
        if (st.fetches.length === 0) st.fetches.push(callFetch(api, url()));
        return;
      case 'fetch each time (up to 5)':
        if (st.fetches.length < 5) st.fetches.push(callFetch(api, url()));
        return;
      case 'on() inside':
        if (st.nested++ < 20) {
          const off = inner('on', () => api.on('*', () => {}), { codes: ['invalid_call'] });
          if (typeof off === 'function') st.offs.push(off);
        }
        return;
      case 'off self':
        inner('off', () => L.offs.get(st)?.());
        return;
      case 'off all':
        for (const off of L.offs.values()) inner('off', () => off());
        return;
      case 'stats':
        inner('stats', () => api.stats(), { codes: ['invalid_call'] });
        return;
      case 'sessionExpired':
        inner('sessionExpired', () => api.sessionExpired, { codes: ['invalid_call'] });
        return;
      case 'busy 2 ms': {
        const t = N.perfNow();
        while (N.perfNow() - t < 2);
        return;
      }
      default:
        return ev;
    }
  };
  switch (behaviour) {
    case 'async noop':
      return async (ev) => void body(ev);
    case 'class (throws when called)':
      return class {
        constructor() {
          st.calls++;
        }
      };
    case 'revoked function Proxy':
      return revoked(() => {});
    case 'bound function':
      return body.bind(null);
    case 'function Proxy':
      return new Proxy(body, {});
    default:
      return body;
  }
}

function callFetch(api, u) {
  try {
    return { p: api.fetch(u) };
  } catch (e) {
    return { sync: e };
  }
}

async function listenersScenario(c, rng, specs, scenario) {
  const opts = { refreshTimeoutMs: 1000, lockTimeoutMs: 1000, crossTab: rng.chance(0.6) };
  if (scenario === 'expired') Object.assign(opts, { refreshUrl: `${REFRESH}?fzl=${c.i}`, crossTab: false, classifyRefresh: () => 'expired' });
  const api = c.client(opts);
  const L = { states: [], offs: new Map() };
  for (const [type, behaviour] of specs) {
    const fn = makeListener(c, L, behaviour, api);
    const st = L.states[L.states.length - 1];
    const r = c.call(`on(${describe(type)}, ${behaviour})`, () => (type === 'onSessionExpired' ? api.onSessionExpired(fn) : api.on(type, fn)), {
      mustNotThrow: true,
      check: (v) => (typeof v === 'function' ? null : `returned ${describe(v)}, not an unsubscribe function`),
    });
    if (r.ok && typeof r.value === 'function') L.offs.set(st, r.value);
  }
  const promises = [];
  const go = (u, label) => promises.push(c.settle(label, () => api.fetch(u), { bound: 6000 }));
  if (scenario === 'plain') go(url(), 'fetch');
  else if (scenario === 'burst') for (let k = 0; k < 6; k++) go(url(), `burst ${k}`);
  else if (scenario === 'refresh' || scenario === 'expired') {
    await expireAccess();
    const n = 1 + rng.int(3);
    for (let k = 0; k < n; k++) go(url('/api/me/'), `after expiry ${k}`);
  }
  if (scenario === 'login' || scenario === 'expired') {
    await N.Promise.all(promises.splice(0)).then(() => {});
    if (!c.freed.has(api)) {
      c.call('markLoggedIn', () => api.markLoggedIn(), { codes: ['invalid_call'] });
      c.call('markLoggedIn again', () => api.markLoggedIn(), { codes: ['invalid_call'] });
    }
  }
  await N.Promise.all(promises);
  await sleep(30);
  // Fetches the listeners started, and what the listeners did.
  for (const st of L.states)
    for (const f of st.fetches) {
      if (f.sync) {
        const p = problem(f.sync, {});
        c.fail(`fetch inside a listener threw synchronously: ${p ?? describe(f.sync)}`);
      } else await c.settle('fetch inside a listener', () => f.p, { bound: 6000 });
    }
  for (const [k, st] of L.states.entries()) {
    if (st.maxDepth > 20) c.fail(`listener ${k} (${specs[k][1]}): markLoggedIn() re-entered the listener ${st.maxDepth} deep (unbounded recursion)`);
    if (st.calls > 500) c.fail(`listener ${k} (${specs[k][1]}): called ${st.calls} times in one case (unbounded)`);
    for (const off of st.offs) c.call('nested off', () => off(), { mustNotThrow: true });
  }
  for (const off of L.offs.values()) c.call('off', () => off(), { mustNotThrow: true });
  // After free() in a listener, the client's calls are invalid_call; otherwise they work.
  if (c.freed.has(api)) {
    await c.settle('fetch after free() in a listener', () => api.fetch(url()), { codes: ['invalid_call'], mustReject: true });
    c.call('stats after free() in a listener', () => api.stats(), { codes: ['invalid_call'], mustThrow: true });
  } else {
    c.call('stats', () => api.stats(), { check: (v) => (v && typeof v.requests === 'number' ? null : `returned ${describe(v)}`) });
  }
}

const LISTENERS_FIXED = [
  ...EVENT_TYPES.concat('*').flatMap((t) =>
    NON_FUNCTIONS.slice(0, 7).map(([n, v]) => ({
      name: `on(${t}, ${n}) throws invalid_config listener`,
      run: (c) => void c.call(`on(${t}, ${n})`, () => c.client().on(t, v), { codes: ['invalid_config'], field: 'listener', mustThrow: true }),
    })),
  ),
  ...NON_FUNCTIONS.map(([n, v]) => ({
    name: `onSessionExpired(${n}) throws invalid_config listener at once`,
    run: (c) => void c.call(`onSessionExpired(${n})`, () => c.client().onSessionExpired(v), { codes: ['invalid_config'], field: 'listener', mustThrow: true }),
  })),
  ...BAD_TYPES.map(([n, v]) => ({
    name: `on(${n}, fn) throws invalid_config type`,
    run: (c) => void c.call(`on(${n})`, () => c.client().on(v, () => {}), { codes: ['invalid_config'], field: 'type', mustThrow: true }),
  })),
  {
    name: 'off() twice, with a wrong this, with arguments',
    run: (c) => {
      const api = c.client();
      const off = c.call('on', () => api.on('*', () => {}), { mustNotThrow: true }).value;
      if (typeof off !== 'function') return;
      c.call('off()', () => off(), { mustNotThrow: true });
      c.call('off() again', () => off(), { mustNotThrow: true });
      c.call('off.call(42, 1, 2)', () => off.call(42, 1, 2), { mustNotThrow: true });
    },
  },
  {
    name: 'a logged_in listener that calls markLoggedIn() (unguarded) is bounded',
    run: async (c) => {
      const api = c.client();
      let calls = 0;
      let depth = 0;
      let maxDepth = 0;
      c.call('on', () =>
        api.on('logged_in', () => {
          calls++;
          depth++;
          maxDepth = Math.max(maxDepth, depth);
          try {
            if (depth < 60 && calls < 2000) api.markLoggedIn();
          } catch (e) {
            const p = problem(e, {});
            if (p) c.fail(`markLoggedIn inside logged_in: ${p}`);
          } finally {
            depth--;
          }
        }),
      );
      c.call('markLoggedIn', () => api.markLoggedIn(), { mustNotThrow: true });
      await sleep(100);
      if (maxDepth > 20) c.fail(`markLoggedIn re-entered its logged_in listener ${maxDepth} deep`);
      if (calls > 50) c.fail(`the logged_in listener ran ${calls} times for one markLoggedIn()`);
      c.freed.add(api);
      c.call('free after the recursion', () => api.free(), { mustNotThrow: true });
    },
  },
  ...['sent', 'settled', 'refresh_started', 'refresh_ended', 'replayed', 'queued', 'auth_failure', '*'].map((t) => ({
    name: `free() inside a ${t} listener`,
    tolerate: true,
    network: true,
    run: async (c) => {
      const api = c.client({ refreshTimeoutMs: 2000 });
      c.call('on', () =>
        api.on(t, () => {
          if (c.freed.has(api)) return;
          c.freed.add(api);
          try {
            api.free();
          } catch (e) {
            c.fail(`free() inside ${t}: threw ${describe(e)}`);
          }
        }),
      );
      await expireAccess();
      await N.Promise.all([1, 2, 3].map((k) => c.settle(`request ${k}`, () => api.fetch(url('/api/me/')), { bound: 6000 })));
      if (!c.freed.has(api)) return;
      await c.settle('fetch after', () => api.fetch(url()), { codes: ['invalid_call'], mustReject: true });
    },
  })),
  {
    name: 'free() inside a session_expired listener',
    network: true,
    run: async (c) => {
      const api = c.client({ refreshUrl: `${REFRESH}?fzfree=1`, crossTab: false, classifyRefresh: () => 'expired' });
      c.call('onSessionExpired', () =>
        api.onSessionExpired(() => {
          c.freed.add(api);
          try {
            api.free();
          } catch (e) {
            c.fail(`free() inside session_expired: threw ${describe(e)}`);
          }
        }),
      );
      await expireAccess();
      await c.settle('expiring request', () => api.fetch(url('/api/me/')), { codes: ['session_expired'], mustReject: true });
    },
  },
  {
    name: 'reportError replaced by a throwing function, listener throws',
    tolerate: true,
    run: async (c) => {
      const desc = N.getOwnPropertyDescriptor(window, 'reportError');
      window.reportError = () => {
        throw new Error('fuzz: reportError throws');
      };
      c.defer(() => (desc ? N.defineProperty(window, 'reportError', desc) : delete window.reportError));
      const api = c.client();
      c.call('on', () => api.on('*', () => {
        throw new Error('fuzz: listener');
      }));
      await c.settle('fetch', () => api.fetch(url()), { status: 200 });
    },
  },
  {
    name: 'reportError deleted, listener throws',
    tolerate: true,
    run: async (c) => {
      const desc = N.getOwnPropertyDescriptor(window, 'reportError');
      delete window.reportError;
      c.defer(() => desc && N.defineProperty(window, 'reportError', desc));
      const api = c.client();
      c.call('on', () => api.on('*', () => {
        throw new Error('fuzz: listener');
      }));
      await c.settle('fetch', () => api.fetch(url()), { status: 200 });
    },
  },
  {
    name: 'a throwing listener is reported (reportError), the request is not affected',
    tolerate: true,
    run: async (c) => {
      const api = c.client();
      const thrown = new Error('fuzz: reported');
      let seen = 0;
      const onError = (ev) => ev.error === thrown && seen++;
      window.addEventListener('error', onError);
      c.defer(() => window.removeEventListener('error', onError));
      c.call('on', () => api.on('sent', () => {
        throw thrown;
      }));
      await c.settle('fetch', () => api.fetch(url()), { status: 200 });
      if (seen !== 1) c.fail(`the listener's error was reported ${seen} times, expected once (reportError)`);
    },
  },
  {
    name: '1000 listeners on *',
    run: async (c) => {
      const api = c.client();
      let n = 0;
      for (let k = 0; k < 1000; k++) api.on('*', () => n++);
      await c.settle('fetch', () => api.fetch(url()), { status: 200 });
      if (n < 1000) c.fail(`only ${n} listener calls`);
    },
  },
];

function listenersRandom(rng, i) {
  const n = 1 + rng.int(4);
  const specs = [];
  for (let k = 0; k < n; k++) specs.push([rng.chance(0.15) ? 'onSessionExpired' : rng.pick([...EVENT_TYPES, '*', '*', '*']), rng.pick(LISTENER_BEHAVIOURS)]);
  const scenario = rng.pick(['plain', 'plain', 'plain', 'burst', 'login', 'login', 'refresh', 'expired']);
  // A non-function or a bad type now and then: must throw at once, like on().
  const bad = rng.chance(0.15) ? (rng.chance(0.5) ? ['listener', rng.pick(NON_FUNCTIONS)] : ['type', rng.pick(BAD_TYPES)]) : null;
  const sub = rng.fork();
  return {
    name: `listeners [${specs.map(([t, b]) => `${t}:${b}`).join(', ')}] + ${scenario}${bad ? ` + bad ${bad[0]} ${bad[1][0]}` : ''}`,
    tolerate: true,
    network: scenario !== 'plain' && scenario !== 'login',
    run: async (c) => {
      if (bad) {
        const api = c.client();
        if (bad[0] === 'listener')
          c.call(`on('*', ${bad[1][0]})`, () => api.on('*', bad[1][1]), { codes: ['invalid_config'], field: 'listener', mustThrow: true });
        else c.call(`on(${bad[1][0]}, fn)`, () => api.on(bad[1][1], () => {}), { codes: ['invalid_config'], field: 'type', mustThrow: true });
      }
      await listenersScenario(c, new Rng(sub), specs, scenario);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Category: lifecycle (wrong this, after free, double free, before init).

const METHODS = ['fetch', 'on', 'onSessionExpired', 'markLoggedIn', 'stats', 'free', 'sessionExpired'];
function invoke(method, self, api) {
  const P = AuthClient.prototype;
  switch (method) {
    case 'fetch':
      return P.fetch.call(self, url());
    case 'on':
      return P.on.call(self, 'sent', () => {});
    case 'onSessionExpired':
      return P.onSessionExpired.call(self, () => {});
    case 'markLoggedIn':
      return P.markLoggedIn.call(self);
    case 'stats':
      return P.stats.call(self);
    case 'free':
      return P.free.call(self);
    case 'sessionExpired': {
      const get = Object.getOwnPropertyDescriptor(P, 'sessionExpired')?.get;
      return get ? get.call(self) : Reflect.get(P, 'sessionExpired', self);
    }
    default:
      throw new Error(`unknown method ${method} ${api}`);
  }
}

const THIS_VALUES = [
  ['undefined', () => undefined],
  ['null', () => null],
  ['42', () => 42],
  ['"str"', () => 'str'],
  ['{}', () => ({})],
  ['Object.create(AuthClient.prototype)', () => Object.create(AuthClient.prototype)],
  ['AuthClient.prototype', () => AuthClient.prototype],
  ['a freed client', (c) => {
    const a = c.client();
    c.free(a);
    return a;
  }],
  ['revoked Proxy', () => revoked()],
  ['throwing Proxy', () => throwingProxy()],
  ['window', () => window],
  ['a Map', () => new Map()],
  ['a function', () => function () {}],
  ['{ __wbg_ptr: 0 }', () => ({ __wbg_ptr: 0 })],
  ['{ __wbg_ptr: undefined }', () => ({ __wbg_ptr: undefined })],
];

/** Checks a call expected to fail with invalid_call: fetch rejects, sync methods throw; free() may be a no-op. */
async function expectInvalidCall(c, label, method, f) {
  if (method === 'fetch') return c.settle(label, f, { codes: ['invalid_call'], mustReject: true });
  if (method === 'free') return c.call(label, f, { codes: ['invalid_call'], check: (v) => (v === undefined ? null : `returned ${describe(v)}`) });
  if (method === 'sessionExpired')
    return c.call(label, f, { codes: ['invalid_call'], check: (v) => (typeof v === 'boolean' ? null : `returned ${describe(v)}`) });
  return c.call(label, f, { codes: ['invalid_call'], mustThrow: true });
}

const LIFECYCLE_FIXED = [
  ...METHODS.flatMap((m) =>
    THIS_VALUES.map(([tn, make]) => ({
      name: `AuthClient.prototype.${m} with this = ${tn}`,
      run: (c) => expectInvalidCall(c, `${m}.call(${tn})`, m, () => invoke(m, make(c))),
    })),
  ),
  {
    name: 'const f = api.fetch; f(url)',
    run: (c) => {
      const f = c.client().fetch;
      return c.settle('f(url)', () => f(url()), { codes: ['invalid_call'], mustReject: true });
    },
  },
  {
    name: '{ fetch: api.fetch }.fetch(url)',
    run: (c) => {
      const lib = { fetch: c.client().fetch };
      return c.settle('lib.fetch(url)', () => lib.fetch(url()), { codes: ['invalid_call'], mustReject: true });
    },
  },
  {
    name: 'api.fetch handed to another library as its fetch (called with this = window)',
    run: (c) => {
      const api = c.client();
      return c.settle('fetch.call(window)', () => api.fetch.call(window, url()), { codes: ['invalid_call'], mustReject: true });
    },
  },
  {
    name: 'api.fetch.bind(api) works',
    run: (c) => {
      const api = c.client();
      const f = api.fetch.bind(api);
      return c.settle('bound fetch', () => f(url()), { status: 200 });
    },
  },
  {
    name: 'Proxy(api) and Object.create(api) act as api or throw invalid_call',
    run: async (c) => {
      const api = c.client();
      for (const [n, self] of [['Proxy(api)', new Proxy(api, {})], ['Object.create(api)', Object.create(api)]]) {
        await c.settle(`${n}.fetch`, () => AuthClient.prototype.fetch.call(self, url()), { codes: ['invalid_call'] });
        c.call(`${n}.stats`, () => AuthClient.prototype.stats.call(self), { codes: ['invalid_call'] });
      }
    },
  },
  ...['fetch', 'on', 'onSessionExpired', 'markLoggedIn', 'stats', 'sessionExpired', 'free'].map((m) => ({
    name: `api.${m} after free()`,
    run: (c) => {
      const api = c.client();
      c.call('free', () => c.free(api), { mustNotThrow: true });
      return expectInvalidCall(c, `${m} after free`, m, () => invoke(m, api));
    },
  })),
  {
    name: 'free() three times',
    run: (c) => {
      const api = c.client();
      c.freed.add(api);
      c.call('free 1', () => api.free(), { mustNotThrow: true });
      c.call('free 2', () => api.free(), { codes: ['invalid_call'] });
      c.call('free 3', () => api.free(), { codes: ['invalid_call'] });
    },
  },
  {
    name: 'off() after free()',
    run: (c) => {
      const api = c.client();
      const off = api.on('*', () => {});
      const off2 = api.onSessionExpired(() => {});
      c.free(api);
      c.call('off after free', () => off(), { codes: ['invalid_call'] });
      c.call('onSessionExpired off after free', () => off2(), { codes: ['invalid_call'] });
    },
  },
  {
    name: 'free() while requests are in flight: they still settle',
    run: async (c) => {
      const api = c.client();
      const ps = [1, 2, 3].map((k) => c.settle(`in flight ${k}`, () => api.fetch(url('/api/ping/?delay_ms=60')), { bound: 5000 }));
      c.call('free', () => c.free(api), { mustNotThrow: true });
      await N.Promise.all(ps);
    },
  },
  {
    name: 'free() while a refresh is in flight: requests settle',
    network: true,
    run: async (c) => {
      const api = c.client({ refreshTimeoutMs: 2000 });
      await expireAccess();
      const ps = [1, 2].map((k) => c.settle(`waiting ${k}`, () => api.fetch(url('/api/me/')), { bound: 6000 }));
      await sleep(5);
      c.call('free', () => c.free(api), { mustNotThrow: true });
      await N.Promise.all(ps);
    },
  },
  {
    name: 'Symbol.dispose (if any) then calls',
    run: async (c) => {
      const api = c.client();
      if (typeof api[Symbol.dispose] !== 'function') return;
      c.freed.add(api);
      c.call('dispose', () => api[Symbol.dispose](), { mustNotThrow: true });
      await c.settle('fetch after dispose', () => api.fetch(url()), { codes: ['invalid_call'], mustReject: true });
    },
  },
  {
    name: 'init() again, twice at once: harmless',
    run: async (c) => {
      const r = await withBound(N.Promise.all([init(), init()]), 5000);
      if (r.hang) c.fail('init() again: HANG');
      else if (!r.ok) c.fail(`init() again rejected: ${describe(r.error)}`);
      await c.settle('main still works', () => S.main.fetch(url()), { status: 200 });
    },
  },
  {
    name: '300 clients built and freed',
    run: (c) => {
      const xs = [];
      for (let k = 0; k < 300; k++) {
        const r = c.call(`client ${k}`, () => new AuthClient({ refreshUrl: REFRESH }), { mustNotThrow: true });
        if (!r.ok) return;
        xs.push(r.value);
      }
      for (const x of xs) c.call('free', () => x.free(), { mustNotThrow: true });
    },
  },
  // Before init(): these run in a fresh page that imported the module without calling init().
  {
    name: 'before init(): new AuthClient() throws invalid_call',
    page: 'noinit',
    run: (c) => void c.call('new AuthClient', () => new AuthClient({ refreshUrl: REFRESH }), { codes: ['invalid_call'], mustThrow: true }),
  },
  {
    name: 'before init(): isAuthError(new Error()) is false or throws invalid_call',
    page: 'noinit',
    run: (c) => void c.call('isAuthError', () => isAuthError(new Error('x')), { codes: ['invalid_call'], check: (v) => (v === false ? null : `returned ${describe(v)}`) }),
  },
  {
    name: 'before init(): AuthClient.prototype.fetch rejects invalid_call',
    page: 'noinit',
    run: (c) => c.settle('fetch', () => AuthClient.prototype.fetch.call({}, '/api/me/'), { codes: ['invalid_call'], mustReject: true }),
  },
  ...['on', 'onSessionExpired', 'markLoggedIn', 'stats'].map((m) => ({
    name: `before init(): AuthClient.prototype.${m} throws invalid_call`,
    page: 'noinit',
    run: (c) => void expectInvalidCall(c, m, m, () => invoke(m, {})),
  })),
  {
    name: 'before init(): 1000 × new AuthClient()',
    page: 'noinit',
    run: (c) => {
      for (let k = 0; k < 1000 && c.fails.length < 3; k++) c.call(`new AuthClient #${k}`, () => new AuthClient({ refreshUrl: REFRESH }), { codes: ['invalid_call'], mustThrow: true });
    },
  },
  {
    name: 'while init() is pending: new AuthClient() throws invalid_call; after it, everything works',
    page: 'noinit',
    last: true,
    run: async (c) => {
      const p = init();
      S.initCalled = true;
      c.call('new AuthClient while init() is pending', () => new AuthClient({ refreshUrl: REFRESH }), { codes: ['invalid_call'], mustThrow: true });
      const r = await withBound(p, 10_000);
      if (!r.ok) return c.fail(`init() did not resolve: ${r.hang ? 'HANG' : describe(r.error)}`);
      S.wasm = r.value;
      S.main = new AuthClient({ refreshUrl: REFRESH, refreshTimeoutMs: 5000, lockTimeoutMs: 1000 });
      await c.settle('fetch after init', () => S.main.fetch(url('/api/me/')), { status: 200 });
    },
  },
];

function lifecycleRandom(rng) {
  const ops = [];
  const n = 4 + rng.int(20);
  for (let k = 0; k < n; k++)
    ops.push(rng.pick(['fetch', 'fetch', 'on', 'onSessionExpired', 'off', 'markLoggedIn', 'stats', 'sessionExpired', 'free', 'wrongThis', 'wrongThis', 'unboundFetch']));
  const thisPick = rng.int(THIS_VALUES.length);
  const method = rng.pick(METHODS.filter((m) => m !== 'free'));
  return {
    name: `lifecycle: ${ops.join(' ')} (wrong this: ${THIS_VALUES[thisPick][0]}.${method})`,
    run: async (c) => {
      const api = c.client();
      let freed = false;
      const pending = [];
      const offs = [];
      for (const op of ops) {
        const label = `${op}${freed ? ' (freed)' : ''}`;
        if (op === 'wrongThis') {
          await expectInvalidCall(c, `${method}.call(${THIS_VALUES[thisPick][0]})`, method, () => invoke(method, THIS_VALUES[thisPick][1](c)));
        } else if (op === 'unboundFetch') {
          const f = api.fetch;
          pending.push(c.settle('f(url)', () => f(url()), { codes: ['invalid_call'], mustReject: true }));
        } else if (op === 'off') {
          const off = offs.pop();
          if (off) c.call('off', () => off(), { codes: freed ? ['invalid_call'] : undefined, mustNotThrow: !freed });
        } else if (freed) {
          if (op === 'free') c.call(label, () => api.free(), { codes: ['invalid_call'] });
          else pending.push(expectInvalidCall(c, label, op, () => invoke(op, api)));
        } else if (op === 'fetch') {
          pending.push(c.settle(label, () => api.fetch(url()), { status: 200 }));
        } else if (op === 'free') {
          c.freed.add(api);
          c.call(label, () => api.free(), { mustNotThrow: true });
          freed = true;
        } else {
          const r = c.call(label, () => invoke(op, api), { mustNotThrow: true });
          if ((op === 'on' || op === 'onSessionExpired') && r.ok) offs.push(r.value);
        }
      }
      await N.Promise.all(pending);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Category: cross-tab garbage (marker cookies, BroadcastChannel, the lock).

function setMarker(value, { name = MARKER, path = '/' } = {}) {
  setCookie(`${name}=${value}; Path=${path}; SameSite=Lax`);
}

/** A client on the shared refresh URL (fresh unless given) refreshes after an expiry: resolves 200. */
async function refreshWorks(c, label, opts = {}, api = null) {
  // A refresh expected to succeed gets a roomy refreshTimeoutMs (a loaded machine), waits stay small.
  api ||= c.client({ refreshTimeoutMs: 2000, lockTimeoutMs: 500, ...opts });
  await expireAccess();
  return c.settle(label, () => api.fetch(url('/api/me/')), { status: 200, bound: 2000 + 2 * 500 + 2000 });
}

const FUTURE = () => [60_000, 3_600_000, 86_400_000 * 3650].map((d) => N.dateNow() + d);
const MARKER_FIXED = [
  ...['r', 'x', 'f', 'n'].flatMap((s) =>
    [0, 2].map((k) => ({
      name: `marker ${s}:<future +${['1 min', '1 h', '10 y'][k]}>: treated as stale, the refresh happens`,
      network: true,
      run: async (c) => {
        setMarker(`${s}:${FUTURE()[k]}:12345`);
        await refreshWorks(c, `marker ${s} future`);
      },
    })),
  ),
  ...[
    'r:99999999999999999999:1',
    'x:18446744073709551616:1',
    `x:${Number.MAX_SAFE_INTEGER}:1`,
    'x:1e13:1',
    'x:NaN:1',
    'f:0x1F:1',
    'x:',
    `x:${Date.now() - 5000}:1:extra:parts`,
    'x'.repeat(3000),
    `"x:${Date.now() + 3_600_000}:1"`,
  ].map((v) => ({
    name: `marker ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}: garbage is stale, the refresh happens`,
    network: true,
    run: async (c) => {
      setMarker(v);
      await refreshWorks(c, 'garbage marker');
    },
  })),
  {
    name: 'two marker cookies (paths / and /fuzz.html), both from the future',
    network: true,
    run: async (c) => {
      setMarker(`x:${FUTURE()[1]}:1`);
      setMarker(`r:${FUTURE()[2]}:2`, { path: '/fuzz.html' });
      await refreshWorks(c, 'two markers');
    },
  },
  {
    name: 'a marker "f" from a tab that died just now: waits at most refreshTimeoutMs',
    network: true,
    run: async (c) => {
      setMarker(`f:${N.dateNow() - 10}:777`);
      await refreshWorks(c, 'dead tab marker', { refreshTimeoutMs: 1000 });
    },
  },
  {
    name: 'many other cookies around the marker',
    network: true,
    run: async (c) => {
      for (let k = 0; k < 20; k++) setCookie(`fzfill${k}=${'v'.repeat(200)}; Path=/`);
      setMarker(`r:${FUTURE()[0]}:1`);
      await refreshWorks(c, 'crowded cookies');
    },
  },
  {
    name: 'BroadcastChannel: one message of every kind, then the session is alive everywhere',
    network: true,
    run: async (c) => {
      const api = c.client({ refreshTimeoutMs: 2000, lockTimeoutMs: 500 });
      const ch = new N.BroadcastChannel(CHANNEL);
      c.defer(() => ch.close());
      for (const m of BC_MESSAGES) postSafe(ch, m());
      await sleep(50);
      notLoggedOut(c, api);
      await refreshWorks(c, 'after garbage messages', {}, api);
    },
  },
  {
    name: 'BroadcastChannel: 3,000 garbage messages (LONG: 30,000)',
    network: true,
    bound: 20_000,
    run: async (c) => {
      const api = c.client({ refreshTimeoutMs: 2000, lockTimeoutMs: 500 });
      const ch = new N.BroadcastChannel(CHANNEL);
      c.defer(() => ch.close());
      const rng = new Rng(c.i * 7919);
      const small = BC_MESSAGES.filter((m) => !BC_BIG.has(m));
      for (let k = 0, n = S.long ? 30_000 : 3_000; k < n; k++) postSafe(ch, rng.pick(small)());
      await sleep(100);
      notLoggedOut(c, api);
      await refreshWorks(c, 'after the storm', {}, api);
    },
  },
  {
    name: 'BroadcastChannel garbage while a refresh is in flight',
    network: true,
    run: async (c) => {
      const ch = new N.BroadcastChannel(CHANNEL);
      c.defer(() => ch.close());
      await refreshDelay(200);
      c.defer(() => resetServer());
      const p = refreshWorks(c, 'refresh during garbage');
      p.then(() => notLoggedOut(c));
      for (let k = 0; k < 50; k++) {
        postSafe(ch, BC_MESSAGES[k % BC_MESSAGES.length]());
        await sleep(4);
      }
      await p;
    },
  },
  {
    name: 'another context holds the lock for 300 ms',
    network: true,
    run: async (c) => {
      if (!N.locks) return;
      let release;
      await new N.Promise((granted) => N.locksRequest(LOCK, () => (granted(), new N.Promise((r) => (release = r)))));
      N.setTimeout(() => release(), 300);
      await refreshWorks(c, 'lock held 300 ms');
    },
  },
  {
    name: 'another context steals the lock mid-refresh',
    network: true,
    run: async (c) => {
      if (!N.locks) return;
      await refreshDelay(300);
      c.defer(() => resetServer());
      const api = c.client({ refreshTimeoutMs: 1000, lockTimeoutMs: 500 });
      let started;
      const startedP = new N.Promise((r) => (started = r));
      c.call('on', () => api.on('refresh_started', () => started()));
      await expireAccess();
      const p = c.settle('request during the steal', () => api.fetch(url('/api/me/')), { bound: 1000 + 2 * 500 + 2000 });
      await N.Promise.race([startedP, sleep(1000)]);
      await sleep(50);
      N.locksRequest(LOCK, { steal: true }, () => sleep(20)).catch(() => {});
      await p;
    },
  },
  {
    name: 'another context steals the lock every 10 ms around a slow refresh',
    network: true,
    run: async (c) => {
      if (!N.locks) return;
      await refreshDelay(200);
      c.defer(() => resetServer());
      let stop = false;
      const stealer = (async () => {
        while (!stop) {
          N.locksRequest(LOCK, { steal: true }, () => sleep(3)).catch(() => {});
          await sleep(10);
        }
      })();
      const api = c.client({ refreshTimeoutMs: 1000, lockTimeoutMs: 500 });
      await expireAccess();
      await N.Promise.all([1, 2, 3].map((k) => c.settle(`request ${k} while the lock is stolen`, () => api.fetch(url('/api/me/')), { bound: 1000 + 2 * 500 + 2000 })));
      stop = true;
      await stealer;
    },
  },
];

const BC_MESSAGES = [
  () => undefined,
  () => null,
  () => 0,
  () => -1,
  () => NaN,
  () => 1e308,
  () => true,
  () => 1n,
  () => '',
  () => 'refreshed',
  () => 'login',
  () => 'expired ',
  () => 'EXPIRED',
  () => 'expired\0',
  () => 'expire',
  () => ' expired',
  () => 'x'.repeat(1 << 20),
  () => '\uD800',
  () => ({}),
  () => [],
  () => ({ type: 42, state: null }),
  () => ({ refreshed: 'yes', at: 'never' }),
  () => [1, [2, [3, [4]]]],
  () => {
    let o = {};
    for (let k = 0; k < 500; k++) o = { o };
    return o;
  },
  () => new Date(NaN),
  () => /x/g,
  () => new Map([[1, 2]]),
  () => new Set(['expired ']),
  () => new ArrayBuffer(16),
  () => new Uint8Array([1, 2, 3]),
  () => new Blob(['expired']),
  () => new Error('expired '),
  () => new String('x'),
  () => Object.fromEntries(Array.from({ length: 1000 }, (_, k) => [`k${k}`, k])),
  () => {
    const a = [];
    a.length = 1_000_000;
    return a;
  },
];
/** Messages that are expensive to clone: not used in the message storm. */
const BC_BIG = new Set([BC_MESSAGES[16], BC_MESSAGES[23], BC_MESSAGES[33], BC_MESSAGES[34]]);
/** Garbage messages must not log anyone out: the long-lived client and `api` still think the session is on. */
function notLoggedOut(c, api = null) {
  for (const [who, a] of [['the long-lived client', S.main], ['this case\'s client', api]]) {
    if (!a) continue;
    const r = c.call(`${who}: sessionExpired`, () => a.sessionExpired, {});
    if (r.ok && r.value !== false) c.fail(`${who} thinks the session is over after garbage messages (sessionExpired ${describe(r.value)})`);
  }
}
function postSafe(ch, m) {
  try {
    ch.postMessage(m);
  } catch {
    /* not cloneable: not a message anyone receives */
  }
}

function markerGarbage(rng) {
  const t = N.dateNow();
  const state = rng.pick(['r', 'x', 'f', 'n', 'r', 'x', 'f', '?', '', 'rx', 'R', 'é']);
  const time = rng.pick([
    () => String(t + 60_000 + rng.int(1e9)),
    () => String(t + 3_600_000),
    () => String(t + 86_400_000 * 3650),
    () => String(Number.MAX_SAFE_INTEGER),
    () => '99999999999999999999',
    () => '18446744073709551615',
    () => String(t - 1000 - rng.int(1e9)),
    () => '0',
    () => '-1',
    () => String(-t),
    () => 'NaN',
    () => 'abc',
    () => '',
    () => '1e13',
    () => ` ${t - 5000}`,
    () => `${t - 5000}.5`,
  ])();
  const id = rng.pick(['1', '0', '4294967295', '4294967296', '-1', 'x', '', String(rng.u32())]);
  switch (rng.int(6)) {
    case 0:
      return `${state}:${time}`;
    case 1:
      return `${state}:${time}:${id}:${id}`;
    case 2:
      return `${state}${time}${id}`;
    case 3:
      return Array.from({ length: 1 + rng.int(40) }, () => rng.pick('abcxyz0123456789:_-.~'.split(''))).join('');
    default:
      return `${state}:${time}:${id}`;
  }
}

function crosstabRandom(rng) {
  const marker = rng.chance(0.6) ? markerGarbage(rng) : null;
  const msgs = rng.chance(0.6) ? Array.from({ length: 1 + rng.int(20) }, () => rng.int(BC_MESSAGES.length)) : [];
  const lock = rng.chance(0.1) ? rng.pick(['hold 200 ms', 'steal']) : null;
  const dup = marker && rng.chance(0.15);
  const refresh = rng.chance(0.5);
  return {
    name: `cross-tab: marker ${marker === null ? 'none' : JSON.stringify(marker)}${dup ? ' (twice)' : ''}, ${msgs.length} messages${lock ? `, lock ${lock}` : ''}${refresh ? ', refresh' : ''}`,
    network: true,
    run: async (c) => {
      const api = refresh ? c.client({ refreshTimeoutMs: 2000, lockTimeoutMs: 500 }) : null;
      if (marker !== null) setMarker(marker);
      if (dup) setMarker(marker, { path: '/fuzz.html' });
      if (msgs.length) {
        const ch = new N.BroadcastChannel(CHANNEL);
        c.defer(() => ch.close());
        for (const m of msgs) postSafe(ch, BC_MESSAGES[m]());
      }
      if (lock === 'hold 200 ms' && N.locks) {
        let release;
        await new N.Promise((granted) => N.locksRequest(LOCK, () => (granted(), new N.Promise((r) => (release = r)))));
        N.setTimeout(() => release(), 200);
      }
      if (lock === 'steal' && N.locks) N.setTimeout(() => N.locksRequest(LOCK, { steal: true }, () => sleep(10)).catch(() => {}), 20);
      await sleep(20);
      if (msgs.length) notLoggedOut(c, api);
      if (refresh) await refreshWorks(c, 'refresh after the garbage', {}, api);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Category: hostile globals.

/** Replaces window.fetch for the case; `scope` picks which calls the mock answers (the rest go through). */
function mockFetch(c, scope, answer) {
  let n = 0;
  window.fetch = function (input, init) {
    n++;
    let u = '';
    try {
      u = input instanceof N.Request ? input.url : String(input);
    } catch {
      /* hostile input */
    }
    const isRefresh = u.includes('/token/refresh/');
    const hit = scope === 'all' || (scope === 'refresh' && isRefresh) || (scope === 'request' && !isRefresh && n === 1) || (scope === 'replay' && !isRefresh && n > 1);
    if (!hit) return N.fetch.call(window, input, init);
    return answer(input, init);
  };
  c.defer(() => N.defineProperty(window, 'fetch', N.fetchDesc));
}

const FETCH_ANSWERS = [
  ['undefined', () => undefined],
  ['42', () => 42],
  ['null', () => null],
  ['"str"', () => 'str'],
  ['{}', () => ({})],
  ['Promise.resolve(null)', () => Promise.resolve(null)],
  ['Promise.resolve(42)', () => Promise.resolve(42)],
  ['a fake { status: 200, ok: true }', () => Promise.resolve({ status: 200, ok: true, headers: new Headers() })],
  ['Promise.reject(42)', () => Promise.reject(42)],
  ['Promise.reject(null)', () => Promise.reject(null)],
  ['Promise.reject(new Error)', () => Promise.reject(new Error('fuzz: mock rejects'))],
  [
    'throws an Error',
    () => {
      throw new Error('fuzz: mock throws');
    },
  ],
  [
    'throws 42',
    () => {
      throw 42;
    },
  ],
  [
    'a thenable whose then throws',
    () => ({
      then() {
        throw new Error('fuzz: then throws');
      },
    }),
  ],
  ['a revoked Proxy', () => revoked()],
  ['a synthetic Response 200', () => Promise.resolve(new Response('{}', { status: 200 }))],
  ['an iframe-realm Response 200', () => Promise.resolve(new (realm().Response)('{}', { status: 200 }))],
  ['a Response 401 for everything', () => Promise.resolve(new Response('{}', { status: 401 }))],
];

const HOSTILE_MODS = [
  ['performance.now throws', (c) => own(c, performance, 'now', () => { throw new Error('fuzz: performance.now'); })],
  ['performance.now returns NaN', (c) => own(c, performance, 'now', () => NaN)],
  ['performance.now returns a string', (c) => own(c, performance, 'now', () => 'soon')],
  ['performance.now runs backwards', (c) => {
    let t = 1e9;
    own(c, performance, 'now', () => (t -= 1000));
  }],
  ['Date.now throws', (c) => own(c, Date, 'now', () => { throw new Error('fuzz: Date.now'); })],
  ['Date.now returns NaN', (c) => own(c, Date, 'now', () => NaN)],
  ['Date.now is 10 years ahead', (c) => own(c, Date, 'now', () => N.dateNow() + 86_400_000 * 3650), 'clock'],
  ['Date.now runs backwards', (c) => {
    let t = N.dateNow();
    own(c, Date, 'now', () => (t -= 60_000));
  }],
  ['document.cookie getter throws', (c) => ownAccessor(c, document, 'cookie', () => { throw new Error('fuzz: cookie get'); }, (v) => N.cookieDesc.set.call(document, v))],
  ['document.cookie setter throws', (c) => ownAccessor(c, document, 'cookie', () => getCookies(), () => { throw new Error('fuzz: cookie set'); })],
  ['document.cookie returns garbage markers', (c) => ownAccessor(c, document, 'cookie', () => `${getCookies()}; authflight_zzzzzzzz=x; ${MARKER}=r:${N.dateNow() + 3_600_000}:1`, (v) => N.cookieDesc.set.call(document, v))],
  ['navigator.locks undefined', (c) => ownAccessor(c, navigator, 'locks', () => undefined)],
  ['locks.request throws', (c) => ownAccessor(c, navigator, 'locks', () => ({ request() { throw new Error('fuzz: locks'); }, query: () => Promise.resolve({}) }))],
  ['locks.request returns undefined', (c) => ownAccessor(c, navigator, 'locks', () => ({ request: () => undefined }))],
  ['locks.request never grants', (c) => ownAccessor(c, navigator, 'locks', () => ({ request: () => new Promise(() => {}) }))],
  ['locks.request rejects', (c) => ownAccessor(c, navigator, 'locks', () => ({ request: () => Promise.reject(new DOMException('fuzz', 'AbortError')) }))],
  ['BroadcastChannel constructor throws', (c) => own(c, window, 'BroadcastChannel', function () { throw new Error('fuzz: BroadcastChannel'); })],
  ['BroadcastChannel undefined', (c) => own(c, window, 'BroadcastChannel', undefined)],
  ['BroadcastChannel.prototype.postMessage throws', (c) => own(c, BroadcastChannel.prototype, 'postMessage', () => { throw new Error('fuzz: postMessage'); })],
  ['reportError throws', (c) => own(c, window, 'reportError', () => { throw new Error('fuzz: reportError'); }), 'local'],
  ['Response[Symbol.hasInstance] is always false', (c) => own(c, Response, Symbol.hasInstance, () => false)],
  ['Response.prototype.status getter throws', (c) => ownAccessor(c, Response.prototype, 'status', () => { throw new Error('fuzz: status'); })],
  ['Headers.prototype.get throws', (c) => own(c, Headers.prototype, 'get', () => { throw new Error('fuzz: headers.get'); })],
  ['AbortController throws', (c) => own(c, window, 'AbortController', function () { throw new Error('fuzz: AbortController'); })],
  ['AbortSignal.timeout and .any throw', (c) => {
    own(c, AbortSignal, 'timeout', () => { throw new Error('fuzz: timeout'); });
    own(c, AbortSignal, 'any', () => { throw new Error('fuzz: any'); });
  }],
  ['Math.random throws', (c) => own(c, Math, 'random', () => { throw new Error('fuzz: random'); }), 'local'],
  ['crypto.getRandomValues throws', (c) => own(c, crypto, 'getRandomValues', () => { throw new Error('fuzz: crypto'); }), 'local'],
  ['Reflect.get throws', (c) => own(c, Reflect, 'get', () => { throw new Error('fuzz: Reflect.get'); }), 'builtins'],
  ['Reflect.has throws', (c) => own(c, Reflect, 'has', () => { throw new Error('fuzz: Reflect.has'); }), 'builtins'],
  ['Reflect.ownKeys throws', (c) => own(c, Reflect, 'ownKeys', () => { throw new Error('fuzz: Reflect.ownKeys'); }), 'builtins'],
  ['Object.keys and Object.entries throw', (c) => {
    own(c, Object, 'keys', () => { throw new Error('fuzz: Object.keys'); });
    own(c, Object, 'entries', () => { throw new Error('fuzz: Object.entries'); });
  }, 'builtins'],
  ['Array.isArray throws', (c) => own(c, Array, 'isArray', () => { throw new Error('fuzz: isArray'); }), 'builtins'],
  ['URL constructor throws', (c) => own(c, window, 'URL', function () { throw new Error('fuzz: URL'); }), 'builtins'],
  ['JSON.stringify and JSON.parse throw', (c) => {
    own(c, JSON, 'stringify', () => { throw new Error('fuzz: stringify'); });
    own(c, JSON, 'parse', () => { throw new Error('fuzz: parse'); });
  }, 'local'],
];

/** Sets target[key] = value for the case (restored in the case's cleanup). */
function own(c, target, key, value) {
  const had = Object.prototype.hasOwnProperty.call(target, key);
  const old = had ? N.getOwnPropertyDescriptor(target, key) : null;
  N.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false });
  c.defer(() => (had ? N.defineProperty(target, key, old) : delete target[key]));
}
function ownAccessor(c, target, key, get, set) {
  const had = Object.prototype.hasOwnProperty.call(target, key);
  const old = had ? N.getOwnPropertyDescriptor(target, key) : null;
  N.defineProperty(target, key, { get, set, configurable: true, enumerable: false });
  c.defer(() => (had ? N.defineProperty(target, key, old) : delete target[key]));
}

const HOSTILE_SCENARIOS = ['construct', 'plain', 'refresh', 'refresh', 'listener', 'wrongThis', 'expired'];
/** One scenario under hostile globals: whatever happens, it settles, and only with AuthErrors. */
async function hostileScenario(c, scenario, key, { refreshTimeoutMs = 500, anyValue = false } = {}) {
  const opts = { refreshUrl: `${REFRESH}?fzh=${key}`, refreshTimeoutMs, lockTimeoutMs: 500 };
  const bound = refreshTimeoutMs + 2 * 500 + 2000;
  if (scenario === 'expired') Object.assign(opts, { crossTab: false, classifyRefresh: () => 'expired' });
  const r = c.call('new AuthClient', () => c.client(opts), {});
  if (!r.ok) return;
  const api = r.value;
  const o = { bound, anyValue };
  if (scenario === 'construct') return;
  if (scenario === 'plain') await c.settle('fetch', () => api.fetch(url()), o);
  if (scenario === 'refresh' || scenario === 'expired') {
    await expireAccess();
    await N.Promise.all([1, 2].map((k) => c.settle(`fetch after expiry ${k}`, () => api.fetch(url('/api/me/')), o)));
  }
  if (scenario === 'listener') {
    c.call('on', () => api.on('*', () => {
      throw new Error('fuzz: listener');
    }));
    await c.settle('fetch with a throwing listener', () => api.fetch(url()), o);
  }
  if (scenario === 'wrongThis') {
    const f = api.fetch;
    await c.settle('f(url)', () => f(url()), { ...o, codes: ['invalid_call'], mustReject: true });
  }
}

/** After a clock that jumped ahead is restored, the markers it wrote must not block refreshes. */
async function afterClockJump(c, key) {
  const api = c.client({ refreshUrl: `${REFRESH}?fzh=${key}`, refreshTimeoutMs: 2000, lockTimeoutMs: 500 });
  await expireAccess();
  await c.settle('refresh after the clock came back', () => api.fetch(url('/api/me/')), { status: 200, bound: 5000 });
}

/** The error paths, each of which must still produce a proper AuthError (used under frozen prototypes). */
async function errorPaths(c) {
  c.call('invalid_config', () => new AuthClient({ refreshUrl: REFRESH, crossTab: 'yes' }), { codes: ['invalid_config'], field: 'crossTab', mustThrow: true });
  const api = c.client({ refreshUrl: `${REFRESH}?fzfreeze=1`, crossTab: false, refreshTimeoutMs: 2000 });
  await c.settle('plain fetch', () => api.fetch(url()), { status: 200 });
  await c.settle('aborted', () => api.fetch(url(), { signal: AbortSignal.abort() }), { codes: ['aborted'], mustReject: true });
  await c.settle('network', () => api.fetch('http://127.0.0.1:1/'), { codes: ['network'], mustReject: true });
  await c.settle('body_not_replayable', () => api.fetch(url('/api/echo/'), { method: 'POST', body: stream(), duplex: 'half' }), { codes: ['body_not_replayable'], mustReject: true });
  await c.settle('invalid_request', () => api.fetch(url(), { method: 'bad method' }), { codes: ['invalid_request'], mustReject: true });
  const f = api.fetch;
  await c.settle('invalid_call', () => f(url()), { codes: ['invalid_call'], mustReject: true });
  c.call('invalid_call (sync)', () => AuthClient.prototype.stats.call({}), { codes: ['invalid_call'], mustThrow: true });
  c.call('invalid_config listener', () => api.onSessionExpired(1), { codes: ['invalid_config'], field: 'listener', mustThrow: true });
  const failed = c.client({ refreshUrl: `${REFRESH}?fzfreeze=2`, crossTab: false, refreshTimeoutMs: 500, classifyRefresh: () => 'failed' });
  await expireAccess();
  await c.settle('refresh_failed', () => failed.fetch(url('/api/me/')), { codes: ['refresh_failed'], mustReject: true });
  const expired = c.client({ refreshUrl: `${REFRESH}?fzfreeze=3`, crossTab: false, refreshTimeoutMs: 2000, classifyRefresh: () => 'expired' });
  await expireAccess();
  await c.settle('session_expired', () => expired.fetch(url('/api/me/')), { codes: ['session_expired'], mustReject: true, bound: 6000 });
  await c.settle('unauthorized', () => api.fetch(url('/api/ping/?status=401')), { codes: ['unauthorized'], mustReject: true, bound: 6000 });
  const freed = c.client();
  c.free(freed);
  c.call('stats after free', () => freed.stats(), { codes: ['invalid_call'], mustThrow: true });
  await c.settle('refresh works', () => S.main.fetch(url('/api/me/')), { status: 200, bound: 6000 });
}

const HOSTILE_FIXED = [
  ...FETCH_ANSWERS.flatMap(([an, answer]) =>
    ['all', 'refresh', 'replay'].map((scope) => ({
      name: `fetch mock (${scope}) answers ${an}`,
      network: true,
      run: async (c) => {
        mockFetch(c, scope, answer);
        const api = c.client({ refreshUrl: `${REFRESH}?fzm=${c.i}`, refreshTimeoutMs: 500, lockTimeoutMs: 500 });
        if (scope !== 'all') await expireAccess();
        const o = { bound: 500 + 2 * 500 + 2000 };
        if (an === 'a synthetic Response 200' && scope === 'all') o.status = 200;
        await c.settle(`api.fetch under the mock`, () => api.fetch(url('/api/me/')), o);
      },
    })),
  ),
  {
    name: 'fetch mock: the refresh never settles, refreshTimeoutMs 300 (twice)',
    network: true,
    run: async (c) => {
      mockFetch(c, 'refresh', () => new Promise(() => {}));
      const api = c.client({ refreshUrl: `${REFRESH}?fzm=never`, refreshTimeoutMs: 300, lockTimeoutMs: 500 });
      await expireAccess();
      await c.settle('first', () => api.fetch(url('/api/me/')), { codes: ['refresh_failed'], mustReject: true, bound: 2300 });
      await c.settle('second', () => api.fetch(url('/api/me/')), { codes: ['refresh_failed'], mustReject: true, bound: 2300 });
    },
  },
  {
    name: 'window.fetch deleted',
    run: async (c) => {
      delete window.fetch;
      c.defer(() => N.defineProperty(window, 'fetch', N.fetchDesc));
      const api = c.client();
      await c.settle('fetch without window.fetch', () => api.fetch(url()), {});
    },
  },
  ...HOSTILE_MODS.flatMap(([mn, mod, tag]) =>
    (tag === 'builtins' || tag === 'local' ? ['construct', 'plain'] : ['construct', 'plain', 'refresh']).map((sc) => ({
      name: `${mn}: ${sc}`,
      network: sc !== 'construct',
      run: async (c) => {
        mod(c);
        try {
          await hostileScenario(c, sc, c.i);
        } finally {
          // Undo now (the cleanup would too) so the follow-up check runs with sane globals.
          for (const f of c.cleanups.splice(0).reverse()) f();
        }
        if (tag === 'clock' && sc === 'refresh') await afterClockJump(c, c.i);
      },
    })),
  ),
  // Cannot be undone: each in a fresh page, which is closed afterwards.
  {
    name: 'Object.freeze(Error.prototype): every error path still gives an AuthError',
    page: 'fresh',
    network: true,
    run: async (c) => {
      Object.freeze(Error.prototype);
      await errorPaths(c);
    },
  },
  {
    name: 'Object.freeze(Object.prototype): every error path still gives an AuthError',
    page: 'fresh',
    network: true,
    run: async (c) => {
      Object.freeze(Object.prototype);
      await errorPaths(c);
    },
  },
  {
    name: 'frozen Error, TypeError, DOMException, Promise, Response, Request, Headers prototypes',
    page: 'fresh',
    network: true,
    run: async (c) => {
      for (const C of [Error, TypeError, DOMException, Promise, Response, Request, Headers, AbortSignal]) Object.freeze(C.prototype);
      await errorPaths(c);
    },
  },
];

function hostileRandom(rng, i) {
  const k = 1 + (rng.chance(0.3) ? 1 : 0);
  const mods = [];
  for (let j = 0; j < k; j++) mods.push(rng.pick(HOSTILE_MODS));
  const mock = rng.chance(0.4) ? [rng.pick(['all', 'refresh', 'request', 'replay']), rng.pick(FETCH_ANSWERS)] : null;
  const builtins = mods.some((m) => m[2] === 'builtins');
  const scenario = builtins ? rng.pick(['construct', 'plain']) : rng.pick(HOSTILE_SCENARIOS);
  const refreshTimeoutMs = rng.pick([300, 500]);
  return {
    name: `hostile: ${mods.map((m) => m[0]).join(' + ')}${mock ? ` + fetch mock (${mock[0]}) → ${mock[1][0]}` : ''}: ${scenario}`,
    network: true,
    tolerate: true,
    run: async (c) => {
      for (const [, mod] of mods) mod(c);
      if (mock) mockFetch(c, mock[0], mock[1][1]);
      try {
        await hostileScenario(c, scenario, i, { refreshTimeoutMs });
      } finally {
        for (const f of c.cleanups.splice(0).reverse()) f();
      }
      if (mods.some((m) => m[2] === 'clock') && (scenario === 'refresh' || scenario === 'expired')) await afterClockJump(c, i);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Category: classifyRefresh that throws, hangs, returns garbage.

const CLASSIFIERS = [
  ['throws an Error', () => () => { throw new Error('fuzz: classify'); }, 'fail'],
  ['throws 42', () => () => { throw 42; }, 'fail'],
  ['throws undefined', () => () => { throw undefined; }, 'fail'],
  ['hangs', () => () => new Promise(() => {}), 'fail'],
  ['returns undefined', () => () => undefined, 'fail'],
  ['returns null', () => () => null, 'fail'],
  ['returns 42', () => () => 42, 'fail'],
  ['returns "REFRESHED"', () => () => 'REFRESHED', 'fail'],
  ['returns "refreshed "', () => () => 'refreshed ', 'fail'],
  ['returns {}', () => () => ({}), 'fail'],
  ['returns []', () => () => [], 'fail'],
  ['returns a Symbol', () => () => Symbol('v'), 'fail'],
  ['returns 1n', () => () => 1n, 'fail'],
  ['returns a revoked Proxy', () => () => revoked(), 'fail'],
  ['returns a throwing Proxy', () => () => throwingProxy(), 'fail'],
  ['returns a function', () => () => () => 'refreshed', 'fail'],
  ['returns Promise.resolve(42)', () => () => Promise.resolve(42), 'fail'],
  ['returns Promise.reject(Error)', () => () => Promise.reject(new Error('fuzz: classify rejects')), 'fail'],
  ['returns Promise.reject(undefined)', () => () => Promise.reject(undefined), 'fail'],
  ['returns a thenable whose then throws', () => () => ({ then() { throw new Error('fuzz: then'); } }), 'fail'],
  ['returns a thenable whose then getter throws', () => () => getterThrows(['then']), 'fail'],
  ['returns a thenable that never calls back', () => () => ({ then() {} }), 'fail'],
  [
    'returns a Promise whose then throws',
    () => () => {
      const p = Promise.resolve('refreshed');
      p.then = () => {
        throw new Error('fuzz: promise then throws');
      };
      return p;
    },
    'fail',
  ],
  [
    'returns a Promise whose then never calls back',
    () => () => {
      const p = Promise.resolve('refreshed');
      p.then = () => undefined;
      return p;
    },
    'fail',
  ],
  ['answers "refreshed" after refreshTimeoutMs + 300', (t) => () => sleep(t + 300).then(() => 'refreshed'), 'fail', 400],
  ['awaits api.fetch of a 401 inside (a deadlock)', (t, api, c) => async () => {
    await c.settle('fetch inside classifyRefresh', () => api.fetch(url('/api/ping/?status=401')), { bound: t + 4000 });
    return 'refreshed';
  }, 'either'],
  ['calls api.free() and answers "refreshed"', (t, api, c) => () => {
    c.freed.add(api);
    c.call('free inside classifyRefresh', () => api.free(), { mustNotThrow: true });
    return 'refreshed';
  }, 'either'],
  ['calls markLoggedIn() and answers "refreshed"', (t, api, c) => () => {
    c.call('markLoggedIn inside classifyRefresh', () => api.markLoggedIn(), {});
    return 'refreshed';
  }, 'ok'],
  ['returns new String("refreshed")', () => () => new String('refreshed'), 'either'],
  ['reads the body, answers "refreshed"', () => async (res) => (await res.text(), 'refreshed'), 'ok'],
  ['control: "refreshed"', () => () => 'refreshed', 'ok'],
  ['control: Promise of "refreshed"', () => () => Promise.resolve('refreshed'), 'ok'],
  ['control: "failed"', () => () => 'failed', 'fail'],
  ['control: "expired"', () => () => 'expired', 'expired'],
];

async function classifyCase(c, [cn, make, want, lateMs = 0], { refreshTimeoutMs = 300, crossTab = true, n = 1 } = {}) {
  // A verdict that lets the refresh succeed gets a roomy timeout (the server may be slow under load).
  if (want !== 'fail') refreshTimeoutMs = 3000;
  let api;
  const holder = {};
  const classify = (res) => holder.f(res);
  const r = c.call('new AuthClient', () => c.client({ refreshTimeoutMs, lockTimeoutMs: 500, crossTab, classifyRefresh: classify }), { mustNotThrow: true });
  if (!r.ok) return;
  api = r.value;
  holder.f = make(refreshTimeoutMs, api, c);
  await expireAccess();
  const bound = refreshTimeoutMs + 2 * 500 + 2000;
  const o =
    want === 'ok'
      ? { status: 200, bound }
      : want === 'fail'
        ? { codes: ['refresh_failed'], mustReject: true, bound }
        : want === 'expired'
          ? { codes: ['session_expired'], mustReject: true, bound }
          : { bound };
  await N.Promise.all(Array.from({ length: n }, (_, k) => c.settle(`request ${k} (classifyRefresh ${cn})`, () => api.fetch(url('/api/me/')), o)));
  if (want === 'expired' && crossTab) {
    // The other clients of this refresh URL learn it (BroadcastChannel); then the app logs in again.
    for (let t = 0; t < 50 && safe(() => S.main.sessionExpired) !== true; t++) await sleep(10);
    try {
      S.main.markLoggedIn();
    } catch {
      /* the liveness check reports it */
    }
  }
  if (!c.freed.has(api)) {
    c.freed.add(api);
    c.call('free', () => api.free(), { mustNotThrow: true });
  }
  // The wedge check: another client on the same refresh URL can refresh right away (once a late
  // verdict has landed: a marker it writes is legitimately newer than a request sent before it).
  if (want === 'ok' || want === 'expired') return;
  await sleep(20 + lateMs);
  await realCheck(c, { refresh: true, label: 'another client refreshes afterwards' });
}

const CLASSIFY_FIXED = CLASSIFIERS.map((k) => ({ name: `classifyRefresh ${k[0]}`, network: true, run: (c) => classifyCase(c, k) }));

function classifyRandom(rng) {
  const k = rng.pick(CLASSIFIERS);
  const refreshTimeoutMs = rng.pick([300, 400, 500]);
  const crossTab = rng.chance(0.75);
  const n = 1 + rng.int(4);
  return {
    name: `classifyRefresh ${k[0]} (refreshTimeoutMs ${refreshTimeoutMs}, crossTab ${crossTab}, ${n} requests)`,
    network: true,
    run: (c) => classifyCase(c, k, { refreshTimeoutMs, crossTab, n }),
  };
}

// ---------------------------------------------------------------------------------------------
// Categories, plan, batches.

const CATS = {
  options: { fixed: OPTIONS_FIXED, random: optionsRandom, n: 900 },
  fetch: { fixed: FETCH_FIXED, random: (rng) => {
    const spec = fetchSpec(rng.fork());
    return { name: spec.name, run: (c) => fetchCase(c, spec, c.client({ refreshTimeoutMs: 2000 })) };
  }, n: 400 },
  listeners: { fixed: LISTENERS_FIXED, random: listenersRandom, n: 80 },
  lifecycle: { fixed: LIFECYCLE_FIXED, random: lifecycleRandom, n: 100 },
  crosstab: { fixed: MARKER_FIXED, random: crosstabRandom, n: 20 },
  hostile: { fixed: HOSTILE_FIXED, random: hostileRandom, n: 40 },
  classify: { fixed: CLASSIFY_FIXED, random: classifyRandom, n: 6 },
};

function count(cat, long) {
  const C = CATS[cat];
  return C.fixed.length + C.n * (long ? 5 : 1);
}

function caseAt(cat, seed, i) {
  const C = CATS[cat];
  if (i < C.fixed.length) return C.fixed[i];
  const rng = new Rng(fnv1a(`${seed}:${cat}:${i}`));
  return C.random(rng, i);
}

/** What runs now, for the node side's watchdog (it polls F.cur() while a batch runs). */
function progress(cat, i, bound, name) {
  S.cur = { cat, i, bound, name };
}
/** A macrotask turn without setTimeout's 4 ms clamp. */
function turn() {
  return new N.Promise((r) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => r();
    ch.port2.postMessage(0);
  });
}

async function runCase(cat, seed, i) {
  let def;
  try {
    def = caseAt(cat, seed, i);
  } catch (e) {
    def = { name: `${cat} #${i} (its generator threw)`, run: (c) => c.fail(`harness: the case generator threw ${describe(e)}`) };
  }
  const c = new Ctx(cat, i, def.name);
  progress(cat, i, def.bound ?? 15_000, def.name);
  try {
    await def.run(c);
  } catch (e) {
    const p = problem(e, {});
    c.fail(`the case threw: ${p ?? describe(e)}`);
  }
  for (const f of c.cleanups.splice(0).reverse()) {
    try {
      const r = f();
      if (r instanceof N.Promise) await r;
    } catch (e) {
      c.fail(`cleanup threw ${describe(e)}`);
    }
  }
  for (const api of c.clients) {
    if (c.freed.has(api)) continue;
    try {
      api.free();
    } catch (e) {
      const p = problem(e, {});
      if (p) c.fail(`free() at the end of the case: ${p}`);
    }
  }
  clearFuzzCookies();
  await turn();
  for (const ev of S.events.splice(0)) {
    if (isDead(ev.value) || /RuntimeError|unreachable|memory access out of bounds/.test(String(ev.message))) {
      S.deadSeen = true;
      c.fail(`DEAD (uncaught ${ev.kind}): ${describe(ev.value ?? ev.message)}`);
    } else if (!def.tolerate) c.fail(`escape: uncaught ${ev.kind} in the page: ${describe(ev.value ?? ev.message)}`);
  }
  const noLiveness = def.page === 'noinit' && !def.last;
  if (!noLiveness) liveness(c);
  return { c, def };
}

const F = {
  cur: () => S.cur ?? null,
  caseName(cat, seed, i) {
    try {
      return caseAt(cat, seed, i).name;
    } catch {
      return '?';
    }
  },
  plan(cat, long) {
    const C = CATS[cat];
    const pages = {};
    C.fixed.forEach((d, i) => d.page && (pages[i] = d.page));
    return { count: count(cat, long), pages, fixed: C.fixed.length };
  },
  /** Runs cases [from, to) of `cat`; stops early on a dead instance or when a reload is needed. */
  async runBatch({ cat, seed, from, to, long, count: total, networkEvery = 10 }) {
    S.long = long;
    const tb = N.perfNow();
    const results = [];
    let next = from;
    let dead = false;
    let reload = false;
    for (let i = from; i < to; i++) {
      S.deadSeen = false;
      const t0 = N.perfNow();
      const { c, def } = await runCase(cat, seed, i);
      if (!S.deadSeen && S.main && S.initCalled !== false && ((i + 1) % networkEvery === 0 || i === total - 1)) await realCheck(c);
      const r = { i, name: def.name, fails: c.fails, ms: Math.round(N.perfNow() - t0) };
      results.push(r);
      next = i + 1;
      if (S.deadSeen) {
        dead = true;
        break;
      }
      if (c.reload) {
        reload = true;
        break;
      }
    }
    return { results, next, dead, reload, ms: Math.round(N.perfNow() - tb) };
  },
  /** The category's last check: a real request through a refresh. */
  async endCheck(cat) {
    S.deadSeen = false;
    const c = new Ctx(cat, -1, 'end of category: liveness with a refresh');
    liveness(c);
    if (!S.deadSeen) await realCheck(c, { refresh: true, label: 'end-of-category liveness' });
    return { name: c.name, fails: c.fails, dead: S.deadSeen };
  },
  /** Logs in (again) unless the long-lived client already gets a 200; resolves to the status. */
  async ensureSession() {
    const r = await withBound(S.main.fetch('/api/me/'), 8000);
    if (r.ok && statusOf(r.value) === 200) return 200;
    await resetServer(true);
    const s = await login();
    S.main.markLoggedIn();
    return s;
  },
  /** wasm memory size: init() resolves to the exports; `memory`, or whichever export is the Memory (names may be minified). */
  memory() {
    try {
      const m = S.wasm.memory instanceof WebAssembly.Memory ? S.wasm.memory : Object.values(S.wasm).find((v) => v instanceof WebAssembly.Memory);
      return m ? m.buffer.byteLength : null;
    } catch {
      return null;
    }
  },
  /** A repeated call, `calls` times after `warmup` calls; wasm memory read before and after. */
  async repeat({ name, calls, warmup = 500 }) {
    const R = REPEATS[name];
    const out = { name, calls: 0, memBefore: null, memAfter: null, failures: 0, examples: [], diedAt: null };
    const note = (k, msg) => {
      out.failures++;
      if (out.examples.length < 5 && !out.examples.some((e) => e.endsWith(msg))) out.examples.push(`call ${k}: ${msg}`);
    };
    let state;
    try {
      state = R.setup();
    } catch (e) {
      note(0, `setup threw ${describe(e)}`);
      if (isDead(e)) out.diedAt = 1;
      return out;
    }
    /** Judges one call's outcome; false once the instance is dead. */
    const judge = (k, o) => {
      if ('threw' in o || 'error' in o) {
        const e = 'threw' in o ? o.threw : o.error;
        if (isDead(e)) {
          if (out.diedAt === null) out.diedAt = k + 1; // the call number, counting the warm-up
          note(k, `DEAD: ${describe(e)}`);
          return false;
        }
        if ('threw' in o && R.async) note(k, `threw synchronously instead of rejecting: ${describe(e)}`);
        else {
          const p = problem(e, typeof R.check === 'function' ? R.check(state) : R.check);
          if (p) note(k, p);
        }
        return true;
      }
      note(k, o.hang ? 'HANG' : `did not fail: returned ${describe(o.value)}`);
      return true;
    };
    const CHUNK = 200;
    const range = async (from, to) => {
      for (let k = from; k < to; k += CHUNK) {
        const end = Math.min(to, k + CHUNK);
        if (!R.async) {
          for (let j = k; j < end; j++) {
            let o;
            try {
              o = { value: R.call(state, j) };
            } catch (e) {
              o = { threw: e };
            }
            if (!judge(j, o)) return false;
          }
        } else {
          const ps = [];
          for (let j = k; j < end; j++) {
            try {
              ps.push([j, R.call(state, j)]);
            } catch (e) {
              if (!judge(j, { threw: e })) return false;
            }
          }
          for (const [j, s] of await N.Promise.all(ps.map(([j, p]) => withBound(p, 5000).then((s) => [j, s])))) {
            if (!judge(j, s.hang ? { hang: true } : s.ok ? { value: s.value } : { error: s.error })) return false;
          }
        }
        if (from >= warmup) out.calls = end - warmup;
        if ((k / CHUNK) % 10 === 0) {
          progress('repeat', k, 15_000, name);
          await turn();
        }
      }
      return true;
    };
    if (await range(0, warmup)) {
      out.memBefore = F.memory();
      await range(warmup, warmup + calls);
    }
    out.memAfter = F.memory();
    try {
      R.teardown?.(state);
    } catch {
      /* a dead instance */
    }
    return out;
  },
};

const THROWING_OPTIONS = [
  () => ({ refreshUrl: REFRESH, authStatuses: revoked([]) }),
  () => ({ refreshUrl: REFRESH, allowedOrigins: revoked([]) }),
  () => ({ refreshUrl: REFRESH, refreshHeaders: revoked({}) }),
  () => ({ refreshUrl: REFRESH, csrf: revoked({}) }),
  () => ({ refreshUrl: REFRESH, authStatuses: indexGetterThrows([401, 403], 1) }),
  () => ({ refreshUrl: REFRESH, allowedOrigins: indexGetterThrows(['http://a.example', 'http://b.example'], 0) }),
  () => ({ refreshUrl: REFRESH, authStatuses: bigintLength([401]) }),
  () => ({ refreshUrl: REFRESH, allowedOrigins: lengthGetterThrows(['http://a.example']) }),
  () => getterThrows(['refreshUrl']),
  () => Object.assign(getterThrows(['crossTab']), { refreshUrl: REFRESH }),
  () => new Proxy({ refreshUrl: REFRESH }, { get: () => { throw new Error('fuzz: get trap'); } }),
  () => revoked(),
];
const THROWING_FIELDS = ['authStatuses', 'allowedOrigins', 'refreshHeaders', 'csrf', 'authStatuses', 'allowedOrigins', 'authStatuses', 'allowedOrigins', 'refreshUrl', 'crossTab', null, null];

const freedClient = () => {
  const api = new AuthClient({ refreshUrl: REFRESH });
  api.free();
  return { api };
};
const REPEATS = {
  'wrong-this fetch': {
    async: true,
    setup: () => {
      const api = new AuthClient({ refreshUrl: REFRESH });
      return { api, f: api.fetch, lib: { fetch: api.fetch } };
    },
    call: (s, k) => (k & 1 ? s.f('/api/ping/?rep=1') : s.lib.fetch('/api/ping/?rep=1')),
    check: { codes: ['invalid_call'] },
    teardown: (s) => s.api.free(),
  },
  'fetch after free': { async: true, setup: freedClient, call: (s) => s.api.fetch('/api/ping/?rep=1'), check: { codes: ['invalid_call'] } },
  'on after free': { setup: freedClient, call: (s) => s.api.on('sent', () => {}), check: { codes: ['invalid_call'] } },
  'onSessionExpired after free': { setup: freedClient, call: (s) => s.api.onSessionExpired(() => {}), check: { codes: ['invalid_call'] } },
  'stats after free': { setup: freedClient, call: (s) => s.api.stats(), check: { codes: ['invalid_call'] } },
  'markLoggedIn after free': { setup: freedClient, call: (s) => s.api.markLoggedIn(), check: { codes: ['invalid_call'] } },
  'constructor with throwing options': {
    setup: () => ({}),
    call: (s, k) => {
      const j = k % THROWING_OPTIONS.length;
      s.field = THROWING_FIELDS[j];
      return new AuthClient(THROWING_OPTIONS[j]());
    },
    check: (s) => ({ codes: ['invalid_config'], field: s.field ?? undefined }),
  },
};
F.repeatNames = () => Object.keys(REPEATS);
F.categories = () => Object.keys(CATS);

export async function boot() {
  window.F = F;
  window.addEventListener('error', (ev) => S.events.push({ kind: 'error', value: ev.error, message: ev.message }));
  window.addEventListener('unhandledrejection', (ev) => {
    S.events.push({ kind: 'unhandled rejection', value: ev.reason, message: safe(() => String(ev.reason)) });
    ev.preventDefault();
  });
  S.frame = document.createElement('iframe');
  S.frame.src = 'about:blank';
  document.body.append(S.frame);
  if (Q.has('noinit')) {
    S.initCalled = false;
    window.ready = true;
    return;
  }
  S.initCalled = true;
  S.wasm = await init();
  S.main = new AuthClient({ refreshUrl: REFRESH, refreshTimeoutMs: 5000, lockTimeoutMs: 1000 });
  window.ready = true;
}
