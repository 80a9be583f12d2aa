// The browser I/O under the wasm core: options, requests, the refresh call, cookies, locks, the
// channel, timers and the JS objects users see (errors, events). Every decision stays in Rust
// (src/engine, src/browser); these functions only touch the browser, each where a few lines of JS
// cost less than wasm-bindgen imports would. They never throw into the wasm: an import that can
// fail is declared `catch` on the Rust side, or catches here and answers a plain value.

/** The error codes, by number. */
export const CODES = ['session_expired', 'refresh_failed', 'unauthorized', 'network', 'aborted', 'invalid_config',
  'body_not_replayable', 'invalid_request', 'invalid_call'];
const MESSAGES = [
  'session expired: the refresh token was rejected; log in again',
  'the token refresh failed (network error, timeout or server error); the session is still valid',
  'the request was rejected again after a successful token refresh',
  'network error: the request could not be sent',
  'the request was aborted',
  'invalid option',
  'the request body is a stream that cannot be replayed after a token refresh; pass a string, Blob, ArrayBuffer, FormData or URLSearchParams body',
  'invalid request',
  'invalid call',
];
const KINDS = ['sent', 'auth_failure', 'queued', 'refresh_started', 'refresh_ended', 'replayed', 'settled',
  'session_expired', 'logged_in'];
const VERDICTS = ['refreshed', 'expired', 'failed'];
const MESSAGES_OF_TABS = ['refreshed', 'expired', 'login'];
const OPTIONS = ['refreshUrl', 'refreshMethod', 'refreshHeaders', 'refreshBody', 'authStatuses', 'allowedOrigins',
  'csrf', 'refreshTimeoutMs', 'classifyRefresh', 'crossTab', 'lockTimeoutMs', 'maxConcurrent', 'confirmDelayMs', 'baseUrl'];
// Caps, so a huge value fails validation instead of exhausting memory.
const MAX_LIST = 100;
const MAX_TEXT = 8192;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const CONTROL = /[\0-\x20\x7f]/;
const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

/** An Error named AuthError with a stable `code` (defined, not assigned: works with a frozen Error.prototype). */
export function error(code, status, cause, detail, field) {
  // A bad request or a network failure: say what fetch said (it holds no token).
  if (detail === undefined && (code === 3 || code === 7) && cause instanceof Error) detail = describe(cause);
  const msg = detail ? `${MESSAGES[code]}: ${detail}` : MESSAGES[code];
  const e = cause === undefined ? new Error(msg) : new Error(msg, { cause });
  const def = (k, v) => v !== undefined && Object.defineProperty(e, k, { value: v, writable: true, configurable: true });
  def('name', 'AuthError');
  def('code', CODES[code]);
  def('status', status || undefined);
  def('field', field);
  return e;
}

const configError = (field, reason) => error(5, 0, undefined, `\`${field}\` ${reason}`, field);

/** Whether `v` is a plain object: `{...}` or `Object.create(null)`. */
const isPlain = (v) => {
  if (v === null || typeof v !== 'object') return false;
  const p = Object.getPrototypeOf(v);
  return p === null || p === Object.prototype;
};

/** The origin of an absolute http(s) URL as the URL standard gives it, or '' if it has none. */
function originOf(url) {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : '';
  } catch {
    return '';
  }
}

function pageHref() {
  try {
    const h = globalThis.location && globalThis.location.href;
    return typeof h === 'string' ? h : '';
  } catch {
    return '';
  }
}

/**
 * 32-bit FNV-1a as 8 hex digits: a short, stable name for a refresh URL. A parsed URL is ASCII, so
 * its char codes are its UTF-8 bytes (no TextEncoder, which some test environments lack).
 */
function fnv(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * Reads and checks `options` (own properties only, each by its type) into the client's I/O state.
 * Throws an AuthError `invalid_config` whose `field` names the first bad option.
 */
export function make_io(options) {
  let field = 'options';
  try {
    if (!isPlain(options)) throw configError('options', 'must be a plain object with at least refreshUrl');
    const keys = Object.keys(options);
    for (const k of keys) if (!OPTIONS.includes(k)) throw configError(k, 'is not an AuthClient option (check its spelling)');
    const get = (k) => ((field = k), hasOwn(options, k) ? options[k] : undefined);
    const bad = (reason) => configError(field, reason);
    const text = (v, reason) => {
      if (typeof v !== 'string' || v.length > MAX_TEXT) throw bad(reason);
      return v;
    };
    const whole = (v, min, max) => {
      if (!Number.isInteger(v) || v < min || v > max) throw bad(`must be a whole number from ${min} to ${max}`);
      return v;
    };
    const list = (v, reason) => {
      if (!Array.isArray(v)) throw bad(reason);
      const n = v.length;
      if (n > MAX_LIST) throw bad(`must have at most ${MAX_LIST} entries`);
      return Array.from({ length: n }, (_, i) => v[i]);
    };

    // Outside a page (Node, a test runner), `baseUrl` stands in for the page's URL.
    let href = pageHref();
    const base = get('baseUrl');
    if (base !== undefined) {
      text(base, 'must be a string');
      const b = originOf(base.trim());
      if (!b) throw bad('must be an absolute http(s) URL, e.g. http://localhost:8000/');
      if (href && b !== originOf(href)) throw bad("must be on the page's origin (on a page, relative URLs resolve against the page)");
      if (!href) href = new URL(base.trim()).href;
    }
    const page = originOf(href);
    let url = get('refreshUrl');
    if (url === undefined) throw bad('is required');
    url = text(url, 'must be a string').trim();
    if (!url || CONTROL.test(url)) throw bad('must be a URL without spaces or control characters');
    let abs;
    try {
      abs = href ? new URL(url, href) : new URL(url);
    } catch {
      throw bad(href ? 'must be a valid URL' : 'must be an absolute URL here, or set baseUrl (there is no page to resolve it against)');
    }

    let method = get('refreshMethod');
    method = method === undefined ? 'POST' : text(method, 'must be a string').toUpperCase();
    if (!TOKEN.test(method) || ['CONNECT', 'TRACE', 'TRACK'].includes(method)) throw bad('must be an HTTP method such as POST');

    let headers = get('refreshHeaders');
    if (headers === undefined) headers = [['Content-Type', 'application/json']];
    else {
      const reason = 'must be an object of header names to string values, a Headers or a Map';
      let pairs;
      if (isPlain(headers)) pairs = Object.keys(headers).map((k) => [k, headers[k]]);
      else if (headers instanceof Headers || headers instanceof Map) pairs = [...headers.entries()];
      else throw bad(reason);
      if (pairs.length > MAX_LIST) throw bad(`must have at most ${MAX_LIST} entries`);
      for (const [k, v] of pairs) {
        text(v, reason);
        if (!TOKEN.test(k) || /[\0\r\n]/.test(v)) throw bad(`has an invalid header: ${JSON.stringify(k)}`);
      }
      headers = pairs;
    }

    let body = get('refreshBody');
    if (body === undefined) body = '{}';
    else if (body !== null) text(body, 'must be a string or null');
    if (body !== null && (method === 'GET' || method === 'HEAD')) throw bad('must be null when refreshMethod is GET or HEAD');

    let statuses = get('authStatuses');
    const statusReason = 'must be a non-empty array of whole numbers from 400 to 599';
    statuses = statuses === undefined ? [401] : list(statuses, statusReason);
    if (!statuses.length) throw bad(statusReason);
    for (const s of statuses) if (!Number.isInteger(s) || s < 400 || s > 599) throw bad(statusReason);

    const origins = new Set();
    const originReason = 'each entry must be an origin like https://api.example.com (scheme and host, no path)';
    const allowed = get('allowedOrigins');
    for (const o of allowed === undefined ? [] : list(allowed, 'must be an array of origins')) {
      if (typeof o !== 'string' || o.length > 2048 || CONTROL.test(o.trim())) throw bad(originReason);
      let u;
      try {
        u = new URL(o.trim());
      } catch {
        throw bad(originReason);
      }
      if (!originOf(u.href) || u.username || u.password || u.pathname !== '/' || u.search || u.hash || /[?#]/.test(o)) {
        throw bad(originReason);
      }
      origins.add(u.origin);
    }

    let csrf = get('csrf');
    if (csrf === undefined || csrf === false) csrf = null;
    else if (csrf === true) csrf = ['csrftoken', 'X-CSRFToken'];
    else if (isPlain(csrf)) {
      const c = csrf;
      for (const k of Object.keys(c)) if (k !== 'cookie' && k !== 'header') throw configError(`csrf.${k}`, 'is not a csrf option (cookie, header)');
      const one = (k, d) => {
        field = `csrf.${k}`;
        const v = hasOwn(c, k) ? c[k] : d;
        if (typeof v !== 'string' || !TOKEN.test(v)) throw bad(k === 'cookie' ? 'must be a cookie name' : 'must be a header name');
        return v;
      };
      csrf = [one('cookie', 'csrftoken'), one('header', 'X-CSRFToken')];
    } else throw bad('must be true, false or { cookie, header }');

    let t = get('refreshTimeoutMs');
    const refreshMs = t === undefined ? 10000 : whole(t, 1, 600000);
    t = get('lockTimeoutMs');
    const lockMs = t === undefined ? 3000 : whole(t, 1, 600000);
    t = get('confirmDelayMs');
    const confirmMs = t === undefined ? 1000 : whole(t, 0, 60000);
    t = get('maxConcurrent');
    const max = t === undefined || t === null ? 0 : whole(t, 1, 10000);
    t = get('crossTab');
    if (t !== undefined && typeof t !== 'boolean') throw bad('must be true or false');
    const crossTab = t !== false;
    const classify = get('classifyRefresh');
    if (classify !== undefined && typeof classify !== 'function') throw bad('must be a function');

    field = 'refreshUrl';
    const refreshOrigin = originOf(abs.href);
    if (!refreshOrigin || (refreshOrigin !== page && !origins.has(refreshOrigin))) {
      throw bad("must be on the page's origin or on one of allowedOrigins");
    }
    const io = {
      id: 0,
      url: abs.href,
      page,
      base: href,
      origins,
      method,
      headers,
      body,
      csrf,
      classify,
      // The numbers the core reads with `num`: see `src/browser/io.rs`.
      n: [refreshMs, lockMs, max, crossTab ? 1 : 0, classify ? 1 : 0, (Math.random() * 4294967295) >>> 0, confirmMs],
      statuses,
      lock: `authflight:${abs.href}`,
      cookie: `authflight_${fnv(abs.href)}`,
      ch: null,
      ls: [],
      hook: null,
      login: false,
    };
    if (crossTab && typeof BroadcastChannel === 'function') {
      try {
        const ch = new BroadcastChannel(io.lock);
        ch.onmessage = (e) => {
          const k = MESSAGES_OF_TABS.indexOf(e.data);
          if (k >= 0 && io.hook) io.hook(k);
        };
        if (ch.unref) ch.unref(); // Node: never keep the process alive for the channel
        io.ch = ch;
      } catch {
        /* no channel: the marker cookie still works */
      }
    }
    return io;
  } catch (e) {
    if (e && e.name === 'AuthError') throw e;
    throw configError(field, `could not be read (${describe(e)})`);
  }
}

function describe(e) {
  try {
    return String((e && e.message) || e).slice(0, 200);
  } catch {
    return 'an exception';
  }
}

/** Number `k` of the client's settings (see `src/browser/io.rs`); auth statuses from 16 on, then 0. */
export function num(io, k) {
  return k < 16 ? io.n[k] : io.statuses[k - 16] || 0;
}

/** Sets the function the channel's messages go to (`0` refreshed, `1` expired, `2` login). */
export function set_hook(io, f) {
  io.hook = f;
}

/** Releases the channel and the listeners of a freed client. */
export function close(io) {
  io.hook = null;
  io.ls = [];
  if (io.ch) {
    io.ch.onmessage = null;
    io.ch.close();
    io.ch = null;
  }
}

/**
 * `new Request(input, init)`, the way `fetch(input, init)` reads its arguments. Sets `io.pass` when the
 * request goes out untouched (opted out, or not to a configured origin); for a handled cross-origin
 * request it asks for credentials. Throws a TypeError for input fetch would refuse.
 */
export function prepare(io, input, init) {
  if (init === null) init = undefined;
  if (init !== undefined && typeof init !== 'object' && typeof init !== 'function') throw new TypeError('init must be an object');
  // A Request (of any realm) as it is; anything else is a URL string, resolved against the page as
  // fetch does (a template literal converts like fetch: a Symbol throws).
  const isRequest = Object.prototype.toString.call(input) === '[object Request]';
  let req = new Request(isRequest ? input : new URL(`${input}`, io.base || undefined), init);
  // Read after fetch's own checks, own properties only: booleans are booleans (null: not set).
  const skip = init !== undefined && hasOwn(init, 'skipAuthRefresh') ? init.skipAuthRefresh : undefined;
  if (skip != null && typeof skip !== 'boolean') throw new TypeError('skipAuthRefresh must be true or false');
  const origin = originOf(req.url);
  io.pass = skip === true || !origin || (origin !== io.page && !io.origins.has(origin));
  io.stream = !io.pass && init !== undefined && hasOwn(init, 'body') && typeof ReadableStream === 'function' && init.body instanceof ReadableStream;
  if (!io.pass && origin !== io.page && req.credentials === 'same-origin') {
    const first = req;
    req = new Request(first, { credentials: 'include' });
    // The new request's signal follows the first one's, which some runtimes (Node) hold only
    // weakly: keep the first alive as long as the new one, or a later abort could be lost.
    sources.set(req, first);
  }
  return req;
}

const sources = new WeakMap();

/** The route of the request `prepare` just built: 0 handled, 1 untouched, 2 handled but its body is a stream. */
export function route(io) {
  return io.pass ? 1 : io.stream ? 2 : 0;
}

/** GET and HEAD never carry a body (Firefox has no `Request.prototype.body` to ask). */
export function bodiless(req) {
  return req.method === 'GET' || req.method === 'HEAD';
}

/** A copy of `req` for its one replay (the same object when it has no body); undefined if it cannot be copied. */
export function dup(req) {
  if (req.body === null || bodiless(req)) return req;
  try {
    return req.clone();
  } catch {
    return undefined;
  }
}

/** `fetch` through the global (so apps and tests may replace it), checked to answer a Response. */
function fetchChecked(input, init) {
  return new Promise((resolve) => resolve(globalThis.fetch(input, init))).then((res) => {
    if (!(res instanceof Response) && Object.prototype.toString.call(res) !== '[object Response]') {
      throw new TypeError(`fetch resolved to ${res === null ? 'null' : typeof res}, not a Response`);
    }
    return res;
  });
}

function csrfInto(io, headers) {
  if (!io.csrf) return;
  const token = cookie(io.csrf[0]);
  if (token !== undefined) headers.set(io.csrf[1], token);
}

const SAFE = ['GET', 'HEAD', 'OPTIONS', 'TRACE'];

/**
 * Sends `req`, handled (`io` given: the CSRF header from the cookie as it is now) or untouched (`io`
 * null); `signal`, if given, replaces the request's own (it should follow it).
 */
export function send(io, req, signal) {
  if (io && io.csrf && !SAFE.includes(req.method)) {
    try {
      csrfInto(io, req.headers);
    } catch {
      /* immutable headers: sent as given */
    }
  }
  return fetchChecked(req, signal ? { signal } : undefined);
}

/** True if `err` from sending `req` means it was aborted. */
export function was_aborted(req, err) {
  return !!(req.signal && req.signal.aborted) || (err !== null && typeof err === 'object' && err.name === 'AbortError');
}

export function status(res) {
  return res.status;
}

/** Whether refresh handling applies to `res` (a redirect may have led elsewhere). */
export function handled(io, res) {
  if (!res.redirected) return true;
  const o = originOf(res.url);
  return o === io.page || io.origins.has(o);
}

/** Lets go of a response nobody will see (a 401 that is replayed or rejected). */
export function discard(res) {
  try {
    if (res.body) res.body.cancel().catch(() => {});
  } catch {
    /* nothing to release */
  }
}

/** A promise that resolves when `req` is aborted; `unhook` removes its listener. */
export function abort_wait(req) {
  let off;
  const p = new Promise((resolve) => {
    const s = req.signal;
    if (!s) return;
    if (s.aborted) return resolve();
    const f = () => resolve();
    s.addEventListener('abort', f, { once: true });
    off = () => s.removeEventListener('abort', f);
  });
  p.off = off;
  return p;
}

export function unhook(p) {
  if (p.off) p.off();
}

/** The refresh call: never intercepted, with the cookies and (on unsafe methods) the CSRF header now. */
export function refresh(io) {
  const headers = new Headers(io.headers);
  if (!SAFE.includes(io.method)) csrfInto(io, headers);
  const init = { method: io.method, headers, credentials: 'include', cache: 'no-store', keepalive: true };
  if (io.body !== null) init.body = io.body;
  return fetchChecked(io.url, init);
}

/** The app's `classifyRefresh(response)` as a verdict number (0 refreshed, 1 expired, 2 failed). */
export function classify(io, res) {
  return new Promise((resolve) => resolve(io.classify(res))).then((v) => {
    const k = VERDICTS.indexOf(v);
    if (k < 0) throw new TypeError("classifyRefresh must return 'refreshed', 'expired' or 'failed'");
    return k;
  });
}

/** Resolves after `ms` with an Error named TimeoutError (the cause of a timed-out wait). */
export function timeout(ms) {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      const e = new Error('the refresh took longer than refreshTimeoutMs');
      Object.defineProperty(e, 'name', { value: 'TimeoutError' });
      resolve(e);
    }, ms);
    if (t && t.unref) t.unref(); // Node: a pending timeout never keeps the process alive
  });
}

/** A monotonic clock in ms (`performance.now()`, or `Date.now()` where that fails). */
export function now() {
  try {
    return performance.now();
  } catch {
    return Date.now();
  }
}

/** Wall-clock ms, the one clock every tab shares. */
export function wall() {
  try {
    return Date.now();
  } catch {
    return performance.timeOrigin + performance.now();
  }
}

/** Cookie `name` as `document.cookie` shows it now (only non-HttpOnly cookies are visible). */
function cookie(name) {
  try {
    const all = typeof document === 'object' && document ? document.cookie : '';
    for (const pair of String(all).split(';')) {
      const i = pair.indexOf('=');
      if (i > 0 && pair.slice(0, i).trim() === name) return pair.slice(i + 1);
    }
  } catch {
    /* no cookie store here */
  }
  return undefined;
}

/** Reads the cross-tab marker `<state>:<time>:<tab>`: its state's char code (0 if absent or unparsable). */
export function marker(io) {
  const m = /^([a-z]):(\d{1,15}):(\d{1,10})$/.exec(cookie(io.cookie) || '');
  io.m = m ? [+m[2], +m[3] >>> 0] : [0, 0];
  return m ? m[1].charCodeAt(0) : 0;
}

/** The time, then the tab, of the marker `marker` last read. */
export function marker_part(io, k) {
  return io.m[k];
}

export function marker_write(io, state, time, tab) {
  try {
    if (typeof document === 'object' && document) {
      document.cookie = `${io.cookie}=${String.fromCharCode(state)}:${Math.floor(time)}:${tab}; path=/; max-age=86400; samesite=lax`;
    }
  } catch {
    /* no cookie store here */
  }
}

/** Tells the other clients of this refresh URL (`0` refreshed, `1` expired, `2` login). */
export function post(io, k) {
  try {
    if (io.ch) io.ch.postMessage(MESSAGES_OF_TABS[k]);
  } catch {
    /* channel closed */
  }
}

/**
 * Resolves to a release function once Web Lock `io.lock` (or its fallback) is held, or to null (no Web
 * Locks, `ms` passed first, or the promise `stop` resolved first).
 */
export function lock(io, fallback, ms, stop) {
  const locks = globalThis.navigator && navigator.locks;
  io.nolock = !locks || typeof locks.request !== 'function' || typeof AbortSignal.timeout !== 'function';
  if (io.nolock) return Promise.resolve(null);
  return new Promise((granted) => {
    let release;
    let done = false;
    const held = new Promise((r) => (release = r));
    const answer = (v) => {
      if (done) {
        if (v) v(); // granted after we stopped waiting: let go at once
        return;
      }
      done = true;
      clearTimeout(timer);
      granted(v);
    };
    // The lock manager should give up by itself after `ms`; should it not, so do we.
    const timer = setTimeout(() => answer(null), ms + 50);
    if (timer && timer.unref) timer.unref(); // Node: never keep the process alive
    if (stop) stop.then(() => answer(null));
    try {
      Promise.resolve(
        locks.request(fallback ? `${io.lock}:fallback` : io.lock, { signal: AbortSignal.timeout(Math.max(1, ms)) }, () => {
          answer(release);
          return held;
        }),
      ).catch(() => answer(null));
    } catch {
      answer(null);
    }
  });
}

/**
 * Whether the last `lock` found no Web Locks to take, on a page: the refresh is then claimed in the
 * marker cookie. (Without a document there is no cookie store other contexts share, nor a claim.)
 */
export function no_locks(io) {
  return !!io.nolock && typeof document === 'object' && !!document;
}

export function unlock(release) {
  if (typeof release === 'function') release();
}

/**
 * Hands an event to the client's listeners. An exception a listener throws goes to `reportError`
 * (seen, but it breaks nothing); `io.login` is set while `logged_in` listeners run, so a login they
 * report is merged into this one rather than announced again.
 */
export function emit(io, k, request, time, a, b) {
  const type = KINDS[k];
  const targets = io.ls.filter((l) => l.t === type || l.t === '*');
  if (!targets.length) return;
  const e = { type, request, time };
  if (k === 1) e.status = a;
  else if (k === 2 || k === 3) e.refresh = a;
  else if (k === 4) {
    e.refresh = a;
    e.outcome = VERDICTS[b];
  } else if (k === 6) {
    if (a) e.status = a;
    if (b) e.error = CODES[b - 1];
  }
  const outer = io.login;
  if (k === 8) io.login = true;
  try {
    for (const l of targets) {
      try {
        l.f(e);
      } catch (x) {
        report(x);
      }
    }
  } finally {
    io.login = outer;
  }
}

function report(x) {
  try {
    if (typeof reportError === 'function') reportError(x);
    else console.error(x);
  } catch {
    /* nowhere to report */
  }
}
