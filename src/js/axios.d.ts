// The types of authflight/axios (axios.js): an axios adapter that sends every request through an
// AuthClient's fetch. axios is an optional peer dependency: the module imports nothing at run time,
// these types only refer to axios's own.
import type { AxiosAdapter } from 'axios';
import type { AuthClient } from 'authflight';

/**
 * What the adapter takes from axios when you pass it: its error classes (so rejections are
 * `instanceof AxiosError` and `CanceledError`) and `getUri` (so URLs and params are built by axios
 * itself). `axios`'s default export and its module namespace both fit.
 */
export interface AxiosLike {
  AxiosError: new (message?: string, code?: string, config?: any, request?: any, response?: any) => Error;
  CanceledError?: new (message?: string, config?: any, request?: any) => Error;
  getUri?: (config?: any) => string;
}

/**
 * An axios adapter over `api.fetch`: a 401 waits for the one shared refresh and is replayed below
 * axios, so interceptors, transformRequest/transformResponse, validateStatus, timeout, signal and
 * cancelToken behave as with axios's own adapters.
 *
 * ```ts
 * import axios from 'axios';
 * import { authflightAdapter } from 'authflight/axios';
 * const http = axios.create({ baseURL: '/api', adapter: authflightAdapter(api, axios) });
 * ```
 *
 * Rejections are AxiosErrors with authflight's AuthError as `cause`: an ended session
 * (`session_expired`) or a request still refused after its replays (`unauthorized`) has
 * `response.status` 401 (`data` '', no headers: authflight has released that response); `network`
 * and `refresh_failed` are `ERR_NETWORK` with no response; a timeout is `ECONNABORTED` (`ETIMEDOUT`
 * with `transitional.clarifyTimeoutError`), a cancel a `CanceledError` (`ERR_CANCELED`).
 * Cookies go to the page's origin and `allowedOrigins` whatever `withCredentials` says (authflight
 * decides by origin); `withCredentials: true` also sends them to other origins, as axios would.
 *
 * @param api The AuthClient (anything with its `fetch`).
 * @param axios Optional: axios itself. Without it, errors are built by the adapter (they still pass
 * `axios.isAxiosError` and `axios.isCancel`, but not `instanceof AxiosError`) and URLs by the
 * adapter's copy of axios's rules.
 * @throws TypeError if `api` has no `fetch`, or `axios` is given without `AxiosError` (an instance
 * made by `axios.create()` is not axios itself).
 */
export function authflightAdapter(api: Pick<AuthClient, 'fetch'>, axios?: AxiosLike): AxiosAdapter;

declare module 'axios' {
  interface AxiosRequestConfig {
    /**
     * authflight: send this request untouched (no credentials added, no CSRF header, no refresh on a
     * 401), as `api.fetch(url, { skipAuthRefresh: true })` does. The same name as axios-auth-refresh's.
     */
    skipAuthRefresh?: boolean;
  }
}
