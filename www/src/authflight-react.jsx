/**
 * authflight for React: copy this file into your app, or import it.
 *
 *   const options = { refreshUrl: '/api/auth/token/refresh/' };
 *   root.render(
 *     <StrictMode>
 *       <AuthProvider options={options} fallback={<p>Loading…</p>}>
 *         <App />
 *       </AuthProvider>
 *     </StrictMode>,
 *   );
 *
 *   const api = useAuthClient();                      // the AuthClient: await api.fetch('/api/me/')
 *   const expired = useSessionExpired(() => go('/login')); // true while the session is over
 *   useAuthEvent('refresh_started', (ev) => ...);    // any client event ('*' for all)
 *
 * One client per page and options: `init()` (the wasm) runs once, and the client for a given
 * `options` value is created once and cached at module level, never in a render or an effect.
 * So StrictMode's double renders and double effects cannot create a second client or start a
 * second refresh, and an inline `options={{...}}` literal is fine: equal options (compared as
 * JSON, functions by identity) share the client. Clients live as long as the page.
 * Listeners are added in effects and removed in their cleanups (unmount, or a new client).
 * The provider suspends until the wasm is ready (it brings its own <Suspense>); an invalid
 * `options` throws the `invalid_config` AuthError to your nearest error boundary.
 */
import init, { AuthClient } from 'authflight';
import {
  Suspense,
  createContext,
  use,
  useCallback,
  useContext,
  useEffect,
  useLayoutEffect,
  useRef,
  useSyncExternalStore,
} from 'react';

let wasmReady; // the page's one init()
const clients = new Map(); // options key -> Promise<AuthClient>
const fnIds = new WeakMap();
let lastFnId = 0;

/** A stable key for `options`: JSON with sorted keys, each function named by its identity. */
function keyOf(options) {
  return JSON.stringify(options, (_, v) => {
    if (typeof v === 'function') {
      if (!fnIds.has(v)) fnIds.set(v, ++lastFnId);
      return `function#${fnIds.get(v)}`;
    }
    return v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v;
  });
}

/** The page's client for `options` (created on first use, after `init()`); usable outside React too. */
export function getAuthClient(options) {
  const key = keyOf(options);
  if (!clients.has(key)) {
    wasmReady ??= init();
    clients.set(key, wasmReady.then(() => new AuthClient(options)));
  }
  return clients.get(key);
}

const ClientContext = createContext(null);

/** Provides the client for `options` to its children; renders `fallback` while the wasm loads. */
export function AuthProvider({ options, fallback = null, children }) {
  return (
    <Suspense fallback={fallback}>
      <ProvideClient options={options}>{children}</ProvideClient>
    </Suspense>
  );
}

function ProvideClient({ options, children }) {
  const client = use(getAuthClient(options));
  return <ClientContext value={client}>{children}</ClientContext>;
}

/** The AuthClient of the nearest <AuthProvider>. */
export function useAuthClient() {
  const client = useContext(ClientContext);
  if (!client) throw new Error('useAuthClient() must be used inside <AuthProvider>');
  return client;
}

/** Calls the latest `listener` for each client event of `type` ('*' for all) while mounted. */
export function useAuthEvent(type, listener) {
  const client = useAuthClient();
  const latest = useRef(listener);
  useLayoutEffect(() => {
    latest.current = listener;
  });
  useEffect(() => client.on(type, (ev) => latest.current?.(ev)), [client, type]);
}

/**
 * True while the session is known to be over (a refresh was rejected), until `markLoggedIn()`.
 * `onExpired(event)`, if given, runs once per expiry (here or in another tab), via `onSessionExpired`.
 */
export function useSessionExpired(onExpired) {
  const client = useAuthClient();
  const latest = useRef(onExpired);
  useLayoutEffect(() => {
    latest.current = onExpired;
  });
  useEffect(() => client.onSessionExpired((ev) => latest.current?.(ev)), [client]);
  const subscribe = useCallback(
    (changed) => {
      const offs = [client.on('session_expired', changed), client.on('logged_in', changed)];
      return () => offs.forEach((off) => off());
    },
    [client],
  );
  return useSyncExternalStore(subscribe, () => client.sessionExpired);
}
