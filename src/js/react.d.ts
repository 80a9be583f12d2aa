// The types of authflight/react (react.js): a provider and hooks over the package's AuthClient,
// for React 18 and 19. The module starts with 'use client' and is safe to import and render on the
// server (Next.js App Router, any SSR): there it renders the fallback and never calls init().
import type { ReactElement, ReactNode } from 'react';
import type { AuthClient, AuthClientOptions, AuthEventOf, AuthEventType } from 'authflight';

/** The props of {@link AuthProvider}. */
export interface AuthProviderProps {
  /**
   * The client's options (see `AuthClientOptions`). Equal values share one client, so an inline
   * `options={{ refreshUrl: '...' }}` literal is fine: plain objects and arrays compare by content,
   * `Headers` and `Map` by their entries, functions (`classifyRefresh`) by identity, so define a
   * function once, outside the component. A different value means a different client: the provider
   * shows `fallback` again until that client is ready, and its children mount anew.
   */
  options: AuthClientOptions;
  /**
   * What to render on the server, in the first render of a hydration and until the client is
   * ready in the browser (the wasm loads once per page; a few milliseconds when cached). Default: nothing.
   */
  fallback?: ReactNode;
  /** Rendered once the client is ready; they reach it with {@link useAuthClient}. */
  children?: ReactNode;
}

/**
 * Provides the page's {@link AuthClient} for `options` to its children.
 *
 * - **Server and hydration:** renders `fallback`, never calls `init()`, never builds a client and
 *   never touches `window` or `document`. In the browser, the first render after hydration is
 *   `fallback` too (so hydration matches); the wasm loads and the client is built in an effect,
 *   then `children` render. A client-only mount (`createRoot`, or a later mount on a page whose
 *   client is already built) renders `children` at once.
 * - **StrictMode:** one client per page and options, cached at module level: double renders and
 *   double effects never build a second client or start a second refresh.
 * - **Errors:** an invalid `options` (an `AuthError` with code `'invalid_config'` and a `field`) or a
 *   failed `init()` (the wasm could not load) is thrown from the provider's next render, to the
 *   nearest error boundary (with none, React unmounts the root and reports it). A later mount of
 *   the provider (an error boundary's reset) tries again.
 *
 * To load the wasm from somewhere else, call `init(input)` from `'authflight'` in the browser before
 * the provider mounts: the provider's `init()` then reuses that load.
 *
 * @example
 * ```jsx
 * <StrictMode>
 *   <AuthProvider options={{ refreshUrl: '/api/auth/token/refresh/' }} fallback={<p>Loading…</p>}>
 *     <App />
 *   </AuthProvider>
 * </StrictMode>
 * ```
 */
export function AuthProvider(props: AuthProviderProps): ReactElement;

/**
 * The {@link AuthClient} of the nearest {@link AuthProvider}: `await useAuthClient().fetch('/api/me/')`.
 * The same object on every render while the provider's options stay equal. It lives as long as
 * the page and is shared by every provider with equal options: never `free()` it.
 *
 * @throws Error if no `AuthProvider` is above the calling component.
 */
export function useAuthClient(): AuthClient;

/**
 * Calls `listener` for each event of `type` of the nearest provider's client (`'*'` for every
 * event) while the component is mounted. The latest `listener` is called, so an inline arrow is
 * fine: it never re-subscribes. Subscribes in an effect and unsubscribes in its cleanup.
 *
 * @example
 * ```js
 * useAuthEvent('refresh_ended', (ev) => console.log(ev.outcome)); // ev is typed by its type
 * ```
 */
export function useAuthEvent<T extends AuthEventType | '*'>(
  type: T,
  listener: (event: AuthEventOf<T>) => void,
): void;

/**
 * Whether the session is known to be over (a refresh was rejected), until a login
 * (`markLoggedIn()`, here or in another tab): the client's `sessionExpired`, re-read on each of
 * its events. `onExpired`, if given, is called once per expiry (here or in another tab); the latest
 * `onExpired` is called, so an inline arrow is fine.
 *
 * @example
 * ```js
 * const expired = useSessionExpired(() => navigate('/login'));
 * ```
 */
export function useSessionExpired(onExpired?: (event: AuthEventOf<'session_expired'>) => void): boolean;

/**
 * The page's client for `options`, the one {@link AuthProvider} provides: built on first use (after
 * `init()`), then the same client for every equal `options` value (compared as for
 * `AuthProviderProps.options`). Usable outside React, e.g. in a router loader or an API module;
 * it runs wherever it is called, so call it in the browser (or in a test), not while rendering
 * on a server.
 *
 * @returns A promise of the client; rejected with the `AuthError` (`'invalid_config'`) for an
 * invalid `options`, or with the error of a failed `init()` (a later call tries again).
 */
export function getAuthClient(options: AuthClientOptions): Promise<AuthClient>;
