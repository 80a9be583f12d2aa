'use client';
// authflight/react: a provider and hooks over the package's AuthClient, for React 18 and 19.
// Plain ESM JavaScript (no JSX, no build step): it ships as is. Types and docs: react.d.ts.
//
// - One client per page and options: `getAuthClient` caches the client for each options value at
//   module level, never in a render or an effect, so StrictMode's double renders and effects can
//   neither build a second client nor start a second refresh.
// - Safe on the server: rendering never calls `init()`, never builds a client and never touches
//   `window` or `document`. `<AuthProvider>` renders `fallback` on the server and in the first
//   render of a hydration (useSyncExternalStore's server snapshot), starts the client in an
//   effect, which only runs in a browser, and renders its children once the client is ready.
// - A bad `options` (AuthError `invalid_config`) or a failed `init()` is thrown from the
//   provider's next render, to the nearest error boundary; a later mount tries again.
import init, { AuthClient } from 'authflight';
import {
  Fragment,
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react';

/** options key -> { promise, client }: `client` is set once the promise resolved. Failed entries are dropped. */
const entries = new Map();
/** options key -> the providers' store listeners, told when that key's client is ready. */
const watchers = new Map();
/** A number per object or function compared by identity (functions, and objects that are not plain). */
const ids = new WeakMap();
let lastId = 0;

function idOf(v) {
  if (!ids.has(v)) ids.set(v, ++lastId);
  return `#${ids.get(v)}`;
}

/**
 * A string equal for equal options: plain objects by their own properties (sorted), arrays item by
 * item, `Headers` and `Map` by their entries, functions and any other object by identity. So an
 * inline `options={{ ... }}` literal, new in every render, still names the same client.
 */
function keyOf(v, depth) {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v);
    case 'bigint':
      return `${v}n`;
    case 'boolean':
    case 'undefined':
      return String(v);
    case 'symbol':
      return `@${String(v.description)}`;
    case 'function':
      return idOf(v);
    default:
      break;
  }
  if (v === null) return 'null';
  if (depth > 8) return idOf(v); // deep or cyclic: no option is nested this far
  if (Array.isArray(v)) return `[${Array.from(v, (x) => keyOf(x, depth + 1)).join(',')}]`;
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) {
    // Own names, enumerable or not: the client reads own properties only, and all of them.
    const names = Object.getOwnPropertyNames(v).sort();
    return `{${names.map((k) => `${JSON.stringify(k)}:${keyOf(v[k], depth + 1)}`).join(',')}}`;
  }
  const isHeaders = typeof Headers === 'function' && v instanceof Headers;
  if (isHeaders || v instanceof Map) {
    const pairs = Array.from(v, ([k, x]) => `${keyOf(k, depth + 1)}:${keyOf(x, depth + 1)}`).sort();
    return `${isHeaders ? 'Headers' : 'Map'}(${pairs.join(',')})`;
  }
  return idOf(v);
}

function keyOfOptions(options) {
  try {
    return keyOf(options, 0);
  } catch {
    // A throwing getter or proxy: this object by identity (building the client will say what is wrong).
    return typeof options === 'object' && options !== null ? idOf(options) : String(options);
  }
}

/**
 * The page's client for `options`: created on first use (after `init()`), then the same client for
 * every equal `options` value; a promise rejected with the AuthError if `options` is invalid or the
 * wasm failed to load (a later call tries again). Usable outside React too.
 */
export function getAuthClient(options) {
  const key = keyOfOptions(options);
  let entry = entries.get(key);
  if (!entry) {
    entry = { client: null, promise: null };
    const self = entry;
    self.promise = init().then(() => {
      self.client = new AuthClient(options);
      const listeners = watchers.get(key);
      if (listeners) for (const changed of [...listeners]) changed();
      return self.client;
    });
    self.promise.catch(() => {
      if (entries.get(key) === self) entries.delete(key);
    });
    entries.set(key, entry);
  }
  return entry.promise;
}

/** The ready client for `key`, or null: what a provider renders from (never starts anything). */
function readyClient(key) {
  const entry = entries.get(key);
  return entry ? entry.client : null;
}

function watch(key, changed) {
  let listeners = watchers.get(key);
  if (!listeners) watchers.set(key, (listeners = new Set()));
  listeners.add(changed);
  return () => {
    listeners.delete(changed);
    if (listeners.size === 0 && watchers.get(key) === listeners) watchers.delete(key);
  };
}

const serverSnapshot = () => null; // the server and a hydration's first render: no client yet

const ClientContext = createContext(null);
ClientContext.displayName = 'AuthClient';

/**
 * Provides the page's client for `options` to its children. Renders `fallback` on the server, in
 * the first render of a hydration and until the client is ready; then `children`.
 */
export function AuthProvider({ options, fallback = null, children }) {
  const key = keyOfOptions(options);
  const subscribe = useCallback((changed) => watch(key, changed), [key]);
  const client = useSyncExternalStore(subscribe, () => readyClient(key), serverSnapshot);
  const [failure, setFailure] = useState(null);

  // Effects run only in a browser: this is where the wasm loads and the client is built, once
  // per page and options however many times StrictMode runs it.
  useEffect(() => {
    let live = true;
    getAuthClient(options).catch((error) => {
      if (live) setFailure({ key, error });
    });
    return () => {
      live = false;
    };
  }, [key]); // `key` stands for `options`: equal options, same client

  if (failure && failure.key === key) throw failure.error; // to the nearest error boundary
  if (!client) return createElement(Fragment, null, fallback);
  return createElement(ClientContext.Provider, { value: client }, children);
}

/** The AuthClient of the nearest `<AuthProvider>`; throws outside one. */
export function useAuthClient() {
  const client = useContext(ClientContext);
  if (!client) {
    throw new Error(
      'useAuthClient() must be used inside <AuthProvider> (from authflight/react): no AuthProvider is above this component',
    );
  }
  return client;
}

/** A ref to the latest `value`, updated after each commit (so listeners never go stale). */
function useLatest(value) {
  const ref = useRef(value);
  useLayoutEffect(() => {
    ref.current = value;
  });
  return ref;
}

/** Calls the latest `listener` for each client event of `type` ('*' for all) while mounted. */
export function useAuthEvent(type, listener) {
  const client = useAuthClient();
  const latest = useLatest(listener);
  useEffect(
    () =>
      client.on(type, (event) => {
        const f = latest.current;
        if (typeof f === 'function') f(event);
      }),
    [client, type, latest],
  );
}

/**
 * True while the session is known to be over (a refresh was rejected), until a login.
 * `onExpired(event)`, if given, runs once per expiry (here or in another tab).
 */
export function useSessionExpired(onExpired) {
  const client = useAuthClient();
  const latest = useLatest(onExpired);
  useEffect(
    () =>
      client.onSessionExpired((event) => {
        const f = latest.current;
        if (typeof f === 'function') f(event);
      }),
    [client, latest],
  );
  // Re-read on every event: whatever ends or resumes the session, the value follows it.
  const subscribe = useCallback((changed) => client.on('*', changed), [client]);
  const read = () => client.sessionExpired;
  return useSyncExternalStore(subscribe, read, read);
}
