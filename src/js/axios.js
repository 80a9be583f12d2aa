// authflight/axios: an axios adapter that sends every request through an AuthClient's `fetch`, so
// an axios app gets one shared refresh per expiry by changing one line:
//
//   import axios from 'axios';
//   import { authflightAdapter } from 'authflight/axios';
//   const http = axios.create({ baseURL: '/api', adapter: authflightAdapter(api, axios) });
//
// axios keeps everything above the adapter (interceptors, transformRequest/transformResponse, config
// merging); below it this module does what axios's own browser adapters do (lib/adapters/xhr.js and
// fetch.js): the URL from baseURL, url and params; headers, basic auth and the XSRF cookie; the body;
// timeout, signal and cancelToken; responseType; validateStatus (settle). Replays after a refresh
// happen inside `api.fetch`, out of sight of interceptors: one axios call is one interceptor pass.
//
// It imports nothing, so it runs with any axios 1.x. Pass axios itself as the second argument and
// the errors are axios's own classes (`instanceof AxiosError`) and URLs are built by axios's own
// `getUri`; without it the adapter builds both the same way, and its errors still satisfy
// `axios.isAxiosError` and `axios.isCancel`.

const OWNED = ['body', 'headers', 'method', 'signal', 'duplex', 'credentials', 'window'];

/** True for an error of authflight's (works across module copies and realms, like `isAuthError`). */
const isAuthError = (e) => e instanceof Error && e.name === 'AuthError' && typeof e.code === 'string';

const isObject = (v) => v !== null && typeof v === 'object';
const hasOwn = (o, k) => isObject(o) && Object.prototype.hasOwnProperty.call(o, k);

/** Like Object.prototype.toString tags, but safe across realms (a FormData of another frame). */
const tag = (v) => Object.prototype.toString.call(v).slice(8, -1);

/** Defines `cause` the way axios does: non-enumerable, so loggers do not walk into it. */
function withCause(err, cause) {
  Object.defineProperty(err, 'cause', { value: cause, writable: true, enumerable: false, configurable: true });
  return err;
}

/** axios's AxiosError, for when the app did not hand us its own (same constructor, same fields). */
class AxiosErrorLike extends Error {
  constructor(message, code, config, request, response) {
    super(message);
    this.name = 'AxiosError';
    this.isAxiosError = true;
    if (code) this.code = code;
    if (config) this.config = config;
    if (request) this.request = request;
    if (response) {
      this.response = response;
      this.status = response.status;
    }
  }

  toJSON() {
    const c = this.config || {};
    return {
      message: this.message,
      name: this.name,
      stack: this.stack,
      config: { url: c.url, baseURL: c.baseURL, method: c.method, timeout: c.timeout },
      code: this.code,
      status: this.status,
    };
  }
}

/** axios's CanceledError over `Base`: `axios.isCancel` reads `__CANCEL__`. */
function canceledClass(Base) {
  return class CanceledError extends Base {
    constructor(message, config, request) {
      super(message == null ? 'canceled' : message, 'ERR_CANCELED', config, request);
      this.name = 'CanceledError';
      this.__CANCEL__ = true;
    }
  };
}

// --- the URL: buildFullPath + buildURL, as axios 1.x writes them ---------------------------------

const isAbsoluteURL = (url) => typeof url === 'string' && /^([a-z][a-z\d+\-.]*:)?\/\//i.test(url);
const combineURLs = (base, rel) => (rel ? `${base.replace(/\/+$/, '')}/${rel.replace(/^\/+/, '')}` : base);

/** axios's `encode` for query strings (buildURL.js). */
const encodeQuery = (val) =>
  encodeURIComponent(val).replace(/%3A/gi, ':').replace(/%24/g, '$').replace(/%2C/gi, ',').replace(/%20/g, '+');

const isPlain = (v) => {
  if (!isObject(v) || tag(v) !== 'Object') return false;
  const p = Object.getPrototypeOf(v);
  return p === null || p === Object.prototype || Object.getPrototypeOf(p) === null;
};
const visitable = (v) => Array.isArray(v) || isPlain(v);
const stripBrackets = (key) => (String(key).endsWith('[]') ? String(key).slice(0, -2) : String(key));

/**
 * axios's default params serialisation (AxiosURLSearchParams over toFormData's default visitor):
 * `a[]=1&a[]=2` for arrays (`indexes: true` → `a[0]`, `null` → `a`), `o[k]=v` for nested objects
 * (`dots: true` → `o.k`), dates as ISO strings, `null`/`undefined` left out, `key{}` as JSON.
 */
function serializeParams(params, options) {
  const opt = (k, d) => (isObject(options) && options[k] !== undefined ? options[k] : d);
  const dots = opt('dots', false);
  const indexes = opt('indexes', false);
  const metaTokens = opt('metaTokens', true);
  const pairs = [];
  const value = (v) => (v === null ? '' : tag(v) === 'Date' ? v.toISOString() : v);
  const render = (path, key) =>
    path
      ? path.concat(key).map((t, i) => (!dots && i ? `[${stripBrackets(t)}]` : stripBrackets(t))).join(dots ? '.' : '')
      : key;
  const build = (obj, path) => {
    const entries = Array.isArray(obj) ? obj.map((v, i) => [i, v]) : Object.entries(obj);
    for (let [key, el] of entries) {
      if (el === undefined || el === null) continue;
      if (typeof key === 'string') key = key.trim();
      if (!path && isObject(el)) {
        if (String(key).endsWith('{}')) {
          pairs.push([metaTokens ? key : key.slice(0, -2), JSON.stringify(el)]);
          continue;
        }
        if (Array.isArray(el) && (!el.some(visitable) || String(key).endsWith('[]'))) {
          key = stripBrackets(key);
          el.forEach((v, i) => {
            if (v === undefined || v === null) return;
            pairs.push([indexes === true ? render([key], i) : indexes === null ? key : `${key}[]`, value(v)]);
          });
          continue;
        }
      }
      if (visitable(el)) build(el, path ? path.concat(key) : [key]);
      else pairs.push([render(path, key), value(el)]);
    }
  };
  build(params, null);
  return pairs;
}

/** buildFullPath + buildURL of axios 1.x: baseURL joined to a relative url, then the params. */
function buildUrl(config, AxiosError) {
  const { baseURL, params, paramsSerializer } = config;
  let url = config.url;
  for (const u of [url, baseURL]) {
    if (typeof u === 'string' && /^https?:(?!\/\/)/i.test(u.trim())) {
      throw new AxiosError(`Invalid URL ${JSON.stringify(u)}: missing "//" after protocol`, 'ERR_INVALID_URL', config);
    }
  }
  if (baseURL && (!isAbsoluteURL(url) || config.allowAbsoluteUrls === false)) url = combineURLs(baseURL, url);
  url = url || '';
  if (!params) return url;
  const options = typeof paramsSerializer === 'function' ? { serialize: paramsSerializer } : paramsSerializer;
  const encode = (isObject(options) && options.encode) || encodeQuery;
  const serialize = isObject(options) && options.serialize;
  let query;
  if (serialize) query = serialize(params, options);
  else if (tag(params) === 'URLSearchParams') query = params.toString();
  else {
    const inner = (v) => encodeURIComponent(v).replace(/[!'()~]|%20/g, (c) => (c === '%20' ? '+' : `%${c.charCodeAt(0).toString(16).toUpperCase()}`));
    query = serializeParams(params, options)
      .map(([k, v]) => `${encode(k, inner)}=${encode(v, inner)}`)
      .join('&');
  }
  if (!query) return url;
  const hash = url.indexOf('#');
  if (hash !== -1) url = url.slice(0, hash);
  return url + (url.includes('?') ? '&' : '?') + query;
}

// --- headers --------------------------------------------------------------------------------------

function readCookie(name) {
  if (typeof document === 'undefined' || !document.cookie) return null;
  for (const part of document.cookie.split(';')) {
    const c = part.replace(/^\s+/, '');
    const eq = c.indexOf('=');
    if (eq !== -1 && c.slice(0, eq) === name) {
      try {
        return decodeURIComponent(c.slice(eq + 1));
      } catch {
        return c.slice(eq + 1);
      }
    }
  }
  return null;
}

function sameOrigin(url) {
  try {
    const here = new URL(location.href);
    const u = new URL(url, document.baseURI || here.href);
    return u.protocol === here.protocol && u.host === here.host;
  } catch {
    return false;
  }
}

/** The request's headers as axios sends them: its AxiosHeaders, basic auth, the XSRF cookie. */
function buildHeaders(config, url, data, AxiosError) {
  const src = config.headers;
  const plain = src && typeof src.toJSON === 'function' ? src.toJSON() : src || {};
  const headers = new Headers();
  try {
    for (const [k, v] of Object.entries(plain)) {
      if (v == null || v === false || (isObject(v) && !Array.isArray(v))) continue;
      // As axios 1.x's adapters (toByteStringHeaderObject): what a header cannot carry is dropped.
      const text = Array.isArray(v) ? v.join(', ') : String(v);
      headers.set(k, text.replace(/[^\t\x20-\x7e\x80-\xff]+/g, '').replace(/^[\t ]+|[\t ]+$/g, ''));
    }
    const auth = config.auth;
    if (auth) {
      // As resolveConfig.js: the password as UTF-8 bytes, the user name as given.
      const utf8 = (s) => encodeURIComponent(s).replace(/%([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
      headers.set('Authorization', `Basic ${btoa(`${auth.username || ''}:${auth.password ? utf8(auth.password) : ''}`)}`);
    }
  } catch (e) {
    throw withCause(new AxiosError(e.message, 'ERR_BAD_OPTION_VALUE', config), e);
  }
  // As xhr.js: no body, no Content-Type; a FormData's multipart type and boundary come from fetch.
  if (data === undefined || data === null || tag(data) === 'FormData') headers.delete('Content-Type');
  // As resolveConfig.js, in a page: the XSRF cookie to the page's origin, or anywhere with withXSRFToken.
  if (typeof document !== 'undefined' && typeof location !== 'undefined') {
    let xsrf = config.withXSRFToken;
    if (typeof xsrf === 'function') xsrf = xsrf(config);
    const { xsrfCookieName, xsrfHeaderName } = config;
    if ((xsrf === true || (xsrf == null && sameOrigin(url))) && xsrfCookieName && xsrfHeaderName) {
      const token = readCookie(xsrfCookieName);
      if (token) headers.set(xsrfHeaderName, token);
    }
  }
  return headers;
}

// --- the response ---------------------------------------------------------------------------------

/** fetch.js's response types: anything but these is read as text (transformResponse parses JSON). */
const READERS = { arraybuffer: 'arrayBuffer', blob: 'blob', formdata: 'formData', text: 'text', json: 'text', document: 'text' };

function readBody(res, responseType) {
  const type = responseType ? String(responseType).toLowerCase() : 'text';
  if (type === 'stream') return res.body;
  return res[READERS[type] || 'text']();
}

function headersOf(res) {
  const out = {};
  res.headers.forEach((v, k) => (out[k] = v));
  return out;
}

/** axios's settle: validateStatus decides; a rejection carries the response. */
function settle(response, AxiosError) {
  const validate = response.config.validateStatus;
  if (!response.status || !validate || validate(response.status)) return response;
  throw new AxiosError(
    `Request failed with status code ${response.status}`,
    response.status >= 400 && response.status < 500 ? 'ERR_BAD_REQUEST' : 'ERR_BAD_RESPONSE',
    response.config,
    response.request,
    response,
  );
}

/**
 * The AxiosError for an authflight rejection (its AuthError as `cause`). An ended session
 * (`session_expired`) or a request still refused after its replays (`unauthorized`) carries a
 * response: the request's last answer, as a server's 401 would (authflight released its body, so
 * `data` is ''), or a 401 made up where there is none.
 */
function fromAuthError(e, config, request, AxiosError) {
  let err;
  if (e.code === 'session_expired' || e.code === 'unauthorized') {
    // The real last answer where authflight kept it (status and headers; its body was released).
    const res = e.response;
    const status = res ? res.status : (e.code === 'unauthorized' && e.status) || 401;
    const statusText = res ? res.statusText : status === 401 ? 'Unauthorized' : '';
    const response = { data: '', status, statusText, headers: res ? headersOf(res) : {}, config, request };
    err = new AxiosError(
      `Request failed with status code ${status}: ${e.message}`,
      status < 500 ? 'ERR_BAD_REQUEST' : 'ERR_BAD_RESPONSE',
      config,
      request,
      response,
    );
  } else if (e.code === 'network' || e.code === 'refresh_failed') {
    // refresh_failed: the session is still valid; no response of this request's to show (the
    // refresh's status is `cause.status`). Like a network error, it is worth retrying later.
    err = new AxiosError('Network Error', 'ERR_NETWORK', config, request);
  } else if (e.code === 'aborted') {
    err = new AxiosError('Request aborted', 'ECONNABORTED', config, request);
  } else {
    const code = e.code === 'body_not_replayable' ? 'ERR_NOT_SUPPORT' : 'ERR_BAD_OPTION_VALUE';
    err = new AxiosError(e.message, code, config, request);
  }
  return withCause(err, e);
}

/** Any other failure: fetch's network TypeError as fetch.js maps it, else a bad response. */
function fromOther(e, config, request, AxiosError) {
  if (e && e.isAxiosError) return e;
  const network = e instanceof Error && e.name === 'TypeError' && /Load failed|fetch|network/i.test(e.message);
  const err = network
    ? new AxiosError('Network Error', 'ERR_NETWORK', config, request)
    : new AxiosError((e && e.message) || String(e), e && typeof e.code === 'string' ? e.code : 'ERR_BAD_RESPONSE', config, request);
  return withCause(err, e);
}

/**
 * An axios adapter over `api.fetch`: `axios.create({ adapter: authflightAdapter(api, axios) })`.
 * `axios` (optional) is axios's default export (or its module namespace): its `AxiosError` and
 * `CanceledError` classes are used for every rejection, and its `getUri` builds URLs.
 */
export function authflightAdapter(api, axios) {
  if (!isObject(api) || typeof api.fetch !== 'function') {
    throw new TypeError('authflightAdapter(api): `api` must be an AuthClient (an object with a fetch method)');
  }
  let ax = axios;
  if (ax != null && typeof ax.AxiosError !== 'function' && ax.default && typeof ax.default.AxiosError === 'function') ax = ax.default;
  if (ax != null && typeof ax.AxiosError !== 'function') {
    throw new TypeError("authflightAdapter(api, axios): `axios` must be axios itself (import axios from 'axios'), not an instance");
  }
  const AxiosError = ax ? ax.AxiosError : AxiosErrorLike;
  const CanceledError = ax && typeof ax.CanceledError === 'function' ? ax.CanceledError : canceledClass(AxiosError);
  const getUri = ax && typeof ax.getUri === 'function' ? (config) => ax.getUri(config) : (config) => buildUrl(config, AxiosError);

  return async function authflight(config) {
    const method = String(config.method || 'get').toUpperCase();
    const url = getUri(config);
    const data = method === 'GET' || method === 'HEAD' ? undefined : config.data;
    const headers = buildHeaders(config, url, data, AxiosError);

    const ctrl = new AbortController();
    const init = Object.assign(Object.create(null), config.fetchOptions);
    for (const k of OWNED) delete init[k];
    init.method = method;
    init.headers = headers;
    init.signal = ctrl.signal;
    // Cookies go to the page's origin and allowedOrigins whatever withCredentials says (authflight
    // adds them); `withCredentials: true` also sends them elsewhere, as axios would.
    if (config.withCredentials === true) init.credentials = 'include';
    if (data !== undefined && data !== null) init.body = data;
    const stream = typeof ReadableStream === 'function' && data instanceof ReadableStream;
    if (stream) init.duplex = 'half';
    // Per request, as axios-auth-refresh spells it: `skipAuthRefresh: true` sends it untouched.
    const skip = hasOwn(config, 'skipAuthRefresh') ? { skipAuthRefresh: config.skipAuthRefresh } : undefined;

    // The Request goes to api.fetch as it is, and is the `request` of responses and errors. A URL
    // only authflight can resolve (a relative one outside a page), a stream body (authflight
    // refuses it: body_not_replayable) or input fetch refuses go as (url, init), for authflight's verdict.
    let request;
    if (!stream) {
      try {
        request = new Request(url, init);
      } catch {
        request = undefined;
      }
    }

    // Cancellation and timeout, as xhr.js: the first of them wins and aborts the fetch. The fetch is
    // aborted with a plain AbortError, not `why`: authflight's AuthError (why's cause) then never
    // has `why` as its own cause, so the cause chain has no cycle.
    let reason = null;
    const abort = (why) => {
      if (reason) return;
      reason = why;
      ctrl.abort();
    };
    const { signal, cancelToken } = config;
    const timeout = Number(config.timeout) || 0;
    const timer =
      timeout > 0 &&
      setTimeout(() => {
        const t = config.transitional;
        const err = new AxiosError(
          config.timeoutErrorMessage || `timeout of ${timeout}ms exceeded`,
          t && t.clarifyTimeoutError ? 'ETIMEDOUT' : 'ECONNABORTED',
          config,
          request,
        );
        abort(err);
      }, timeout);
    const onAbort = () => abort(new CanceledError(null, config, request));
    // A token's reason is axios's own CanceledError (with the app's message): passed on as it is.
    const onCancel = (why) => abort(why && !why.type ? why : new CanceledError(null, config, request));
    if (cancelToken) {
      if (typeof cancelToken.subscribe === 'function') cancelToken.subscribe(onCancel);
      else if (cancelToken.promise) cancelToken.promise.then(onCancel, () => {});
    }
    if (signal) {
      if (signal.aborted) onAbort();
      else if (typeof signal.addEventListener === 'function') signal.addEventListener('abort', onAbort);
    }
    const done = () => {
      if (timer) clearTimeout(timer);
      if (cancelToken && typeof cancelToken.unsubscribe === 'function') cancelToken.unsubscribe(onCancel);
      if (signal && typeof signal.removeEventListener === 'function') signal.removeEventListener('abort', onAbort);
    };

    let response;
    try {
      if (reason) throw reason;
      const res = await (request ? api.fetch(request, skip) : api.fetch(url, skip ? Object.assign(init, skip) : init));
      const body = await readBody(res, config.responseType);
      response = { data: body, status: res.status, statusText: res.statusText, headers: headersOf(res), config, request };
    } catch (e) {
      if (reason) {
        // Timed out or canceled: axios's error, with authflight's (or fetch's) as its cause when it
        // is one of ours (a cancel token's reason is the app's object: left as it is).
        if (reason !== e && !(cancelToken && reason === cancelToken.reason)) withCause(reason, e);
        throw reason;
      }
      throw isAuthError(e) ? fromAuthError(e, config, request, AxiosError) : fromOther(e, config, request, AxiosError);
    } finally {
      done();
    }
    return settle(response, AxiosError);
  };
}
