// The types of authflight's JavaScript API (the package entry, authflight.js).
import type { InitInput, InitOutput, SyncInitInput } from './core.js';

export type { InitInput, InitOutput, SyncInitInput };

/**
 * Loads the wasm; call it once before building a client (calling it again is harmless). With no
 * argument it fetches `core_bg.wasm` next to the package (browsers, bundlers), or reads it from disk
 * where the package is a file (Node 20.16+, Vitest, Jest). Pass a URL, a Response or the bytes to
 * load it from elsewhere.
 */
export default function init(
  module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>,
): Promise<InitOutput>;

/** Like `init`, synchronously, from the wasm's bytes or a compiled module. */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

/** True if `value` is an error thrown or rejected by authflight. Works before `init()` too. */
export function isAuthError(value: unknown): value is AuthError;

/** The stable code of an AuthError. */
export type AuthErrorCode =
  | 'session_expired' | 'refresh_failed' | 'unauthorized' | 'network'
  | 'aborted' | 'invalid_config' | 'body_not_replayable'
  /** `fetch` itself would refuse the request's input or init; `cause` is its TypeError. */
  | 'invalid_request'
  /** A method called on something that is not a live AuthClient (a wrong `this`, after `free()`), or before `init()`. */
  | 'invalid_call';

/** Every rejection of AuthClient is an Error with name 'AuthError'. */
export interface AuthError extends Error {
  name: 'AuthError';
  code: AuthErrorCode;
  /** The HTTP status behind the error (the refresh's, or the replay's), where there is one. */
  status?: number;
  /** The network error or timeout behind the error, where there is one. */
  cause?: unknown;
  /**
   * For 'session_expired' and 'unauthorized': the request's last answer (status and headers; its
   * body already released), for code that expects a response, such as an axios adapter.
   */
  response?: Response;
  /** For 'invalid_config': the option at fault. */
  field?: string;
}

/** How a refresh ended. */
export type RefreshVerdict = 'refreshed' | 'expired' | 'failed';

export interface AuthClientOptions {
  /** The refresh endpoint, e.g. '/api/auth/token/refresh/'. Must be on the page's origin or in allowedOrigins. */
  refreshUrl: string;
  /** Default 'POST'. */
  refreshMethod?: string;
  /** Default { 'Content-Type': 'application/json' }. A Headers or a Map works too. */
  refreshHeaders?: Record<string, string> | Headers | Map<string, string>;
  /** Default '{}'; null sends no body. */
  refreshBody?: string | null;
  /** Statuses that mean "access token not accepted". Default [401]. */
  authStatuses?: number[];
  /** Origins besides the page's own that get credentials, the CSRF header and refresh handling. */
  allowedOrigins?: string[];
  /** Copy a CSRF cookie into a header on unsafe methods. true = { cookie: 'csrftoken', header: 'X-CSRFToken' }. Default off. */
  csrf?: boolean | { cookie?: string; header?: string };
  /**
   * A refresh call slower than this is abandoned: its waiters get 'refresh_failed', and the next
   * auth failure sends a new call. Default 10000.
   */
  refreshTimeoutMs?: number;
  /** Decide how a refresh ended. Default: 2xx refreshed; 400/401/403 expired; anything else failed. */
  classifyRefresh?: (response: Response) => RefreshVerdict | Promise<RefreshVerdict>;
  /** Share one refresh with other tabs and clients of this origin. Default true. */
  crossTab?: boolean;
  /**
   * The longest a refresh waits on other tabs (the lock, another tab's refresh in flight) before it
   * goes on alone or fails. Default 3000. A request's wait for a refresh is at most
   * `lockTimeoutMs + confirmDelayMs + refreshTimeoutMs`.
   */
  lockTimeoutMs?: number;
  /**
   * A rejected refresh is tried once more after this many ms before the session ends: a rejection
   * can be transient (a refresh view that authenticates the just-expired access cookie). 0 turns
   * this off. Default 1000.
   */
  confirmDelayMs?: number;
  /**
   * Where there is no page (Node, a test runner's node environment): the URL relative URLs resolve
   * against, its origin standing in for the page's. On a page it must be on the page's origin.
   */
  baseUrl?: string;
  /**
   * At most this many requests in flight, and none sent while a refresh runs. Default: no cap.
   * About 6 suits HTTP/1.1 servers (a burst after expiry then meets a handful of 401s, not one per
   * request); over HTTP/2 a cap only slows bursts down.
   */
  maxConcurrent?: number;
}

/** RequestInit, plus a per-request opt-out of refresh handling. */
export interface AuthRequestInit extends RequestInit {
  /** Send this request untouched: no credentials added, no CSRF header, no refresh on 401. */
  skipAuthRefresh?: boolean;
}

interface AuthEventBase { request: number; time: number }
/** One step of a request or refresh. `request` is 0 for events not tied to a request; `time` is performance.now(). */
export type AuthEvent =
  | (AuthEventBase & { type: 'sent' })
  /** `status` 0: a GET or HEAD cut off before its answer, sent after one the server rejected (see README, "Bursts"). */
  | (AuthEventBase & { type: 'auth_failure'; status: number })
  | (AuthEventBase & { type: 'queued'; refresh: number })
  | (AuthEventBase & { type: 'refresh_started'; refresh: number })
  | (AuthEventBase & { type: 'refresh_ended'; refresh: number; outcome: RefreshVerdict })
  | (AuthEventBase & { type: 'replayed' })
  | (AuthEventBase & { type: 'settled'; status?: number; error?: AuthErrorCode })
  | (AuthEventBase & { type: 'session_expired' })
  | (AuthEventBase & { type: 'logged_in' });
export type AuthEventType = AuthEvent['type'];
export type AuthEventOf<T extends AuthEventType | '*'> = T extends AuthEventType ? Extract<AuthEvent, { type: T }> : AuthEvent;

export interface AuthStats {
  requests: number;
  refreshesStarted: number;
  refreshesSucceeded: number;
  refreshesFailed: number;
  queued: number;
  replayed: number;
  sessionsExpired: number;
}

/** A `fetch` that survives concurrent 401s with one shared token refresh. */
export class AuthClient {
  /** Validates `options`; throws an AuthError with code 'invalid_config' naming the bad field. */
  constructor(options: AuthClientOptions);
  /**
   * Like `fetch`: 4xx/5xx responses resolve. A 401 waits for the one shared refresh, then replays once.
   * Rejects only with an AuthError.
   */
  fetch(input: RequestInfo | URL, init?: AuthRequestInit): Promise<Response>;
  /** Calls `listener` for each event of `type` ('*' for all). Returns a function that unsubscribes. */
  on<T extends AuthEventType | '*'>(type: T, listener: (event: AuthEventOf<T>) => void): () => void;
  /** Calls `listener` once per session expiry (here or in another tab). Returns a function that unsubscribes. */
  onSessionExpired(listener: (event: AuthEventOf<'session_expired'>) => void): () => void;
  /** Reports a successful login, so refresh handling resumes after a session expiry (in every tab). */
  markLoggedIn(): void;
  /** True once the session is known to be over, until `markLoggedIn()`. */
  readonly sessionExpired: boolean;
  /** Counts since this client was built. */
  stats(): AuthStats;
  /** Releases the client: later calls throw `invalid_call`; requests in flight still settle. Calling it again does nothing. */
  free(): void;
}
