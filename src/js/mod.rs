//! The JavaScript surface: every `#[wasm_bindgen]` export and its TypeScript types live here.
//!
//! From Rust, use [`crate::AuthClient`]; these types are what JavaScript sees.

mod convert;
mod options;

use crate::browser::AuthClient;
use crate::engine::{Event, EventKind};
use crate::{AuthError, ConfigError};
use alloc::rc::Rc;
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** The stable code of an AuthError. */
export type AuthErrorCode =
  | 'session_expired' | 'refresh_failed' | 'unauthorized' | 'network'
  | 'aborted' | 'invalid_config' | 'body_not_replayable';

/** Every rejection of AuthClient is an Error with name 'AuthError'. */
export interface AuthError extends Error {
  name: 'AuthError';
  code: AuthErrorCode;
  /** The HTTP status behind the error (the refresh's, or the replay's), where there is one. */
  status?: number;
  /** The network error or timeout behind the error, where there is one. */
  cause?: unknown;
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
  /** Default { 'Content-Type': 'application/json' }. */
  refreshHeaders?: Record<string, string>;
  /** Default '{}'; null sends no body. */
  refreshBody?: string | null;
  /** Statuses that mean "access token not accepted". Default [401]. */
  authStatuses?: number[];
  /** Origins besides the page's own that get credentials, the CSRF header and refresh handling. */
  allowedOrigins?: string[];
  /** Copy a CSRF cookie into a header on unsafe methods. true = { cookie: 'csrftoken', header: 'X-CSRFToken' }. Default off. */
  csrf?: boolean | { cookie?: string; header?: string };
  /** A refresh slower than this is 'refresh_failed'. Default 10000. */
  refreshTimeoutMs?: number;
  /** Decide how a refresh ended. Default: 2xx refreshed; 400/401/403 expired; anything else failed. */
  classifyRefresh?: (response: Response) => RefreshVerdict | Promise<RefreshVerdict>;
  /** Share one refresh with other tabs and clients of this origin. Default true. */
  crossTab?: boolean;
  /** The longest this tab waits for another tab's refresh. Default 15000. */
  lockTimeoutMs?: number;
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

export interface AuthClient {
  /** Calls `listener` for each event of `type` ('*' for all). Returns a function that unsubscribes. */
  on<T extends AuthEventType | '*'>(type: T, listener: (event: AuthEventOf<T>) => void): () => void;
}
"#;

/// A `fetch` that survives concurrent 401s with one shared token refresh.
#[wasm_bindgen(js_name = AuthClient)]
#[derive(Debug)]
pub struct JsAuthClient {
    client: Rc<AuthClient>,
}

#[wasm_bindgen(js_class = AuthClient)]
impl JsAuthClient {
    /// Validates `options`; throws an AuthError with code 'invalid_config' naming the bad field.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "AuthClientOptions")] options: JsValue,
    ) -> Result<JsAuthClient, JsValue> {
        let (config, classify) = options::read(&options).map_err(|e| convert::error(&e.into()))?;
        let client = AuthClient::with_classifier(config, classify).map_err(|e| convert::error(&e))?;
        Ok(JsAuthClient { client: Rc::new(client) })
    }

    /// Like `fetch`: 4xx/5xx responses resolve. A 401 waits for the one shared refresh, then replays once.
    /// Rejects only with an AuthError.
    #[wasm_bindgen(unchecked_return_type = "Promise<Response>")]
    pub fn fetch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RequestInfo | URL")] input: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "AuthRequestInit")] init: JsValue,
    ) -> Promise {
        let client = self.client.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            match client.fetch_with(&input, &init).await {
                Ok(res) => Ok(res.into()),
                Err(e) => Err(convert::error(&e)),
            }
        })
    }

    /// Calls `listener` once per session expiry (here or in another tab). Returns a function that unsubscribes.
    #[wasm_bindgen(js_name = onSessionExpired, unchecked_return_type = "() => void")]
    pub fn on_session_expired(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: AuthEventOf<'session_expired'>) => void")]
        listener: Function,
    ) -> Function {
        self.subscribe(Some("session_expired"), listener)
    }

    /// See the `on` overload in the TypeScript types.
    #[wasm_bindgen(skip_typescript)]
    pub fn on(&self, kind: JsValue, listener: JsValue) -> Result<Function, JsValue> {
        let name = kind.as_string().unwrap_or_default();
        let filter = match EventKind::NAMES.iter().find(|n| **n == name) {
            Some(n) => Some(*n),
            None if name == "*" => None,
            None => {
                return Err(config_error("type", "must be an event name such as 'refresh_started', or '*'"))
            }
        };
        let listener =
            listener.dyn_into::<Function>().map_err(|_| config_error("listener", "must be a function"))?;
        Ok(self.subscribe(filter, listener))
    }

    /// Reports a successful login, so refresh handling resumes after a session expiry (in every tab).
    #[wasm_bindgen(js_name = markLoggedIn)]
    pub fn mark_logged_in(&self) {
        self.client.mark_logged_in();
    }

    /// True once the session is known to be over, until `markLoggedIn()`.
    #[wasm_bindgen(getter, js_name = sessionExpired)]
    pub fn session_expired(&self) -> bool {
        self.client.is_session_expired()
    }

    /// Counts since this client was built.
    #[wasm_bindgen(unchecked_return_type = "AuthStats")]
    pub fn stats(&self) -> JsValue {
        convert::stats(&self.client.stats())
    }

    fn subscribe(&self, filter: Option<&'static str>, listener: Function) -> Function {
        let id = self.client.on(filter, move |e: &Event| {
            if let Err(thrown) = listener.call1(&JsValue::UNDEFINED, &convert::event(e)) {
                report_error(&thrown);
            }
        });
        let client = Rc::downgrade(&self.client);
        Closure::<dyn Fn()>::new(move || {
            if let Some(c) = client.upgrade() {
                c.off(id);
            }
        })
        .into_js_value()
        .unchecked_into()
    }
}

/// True if `value` is an error thrown or rejected by authflight.
#[wasm_bindgen(js_name = isAuthError, unchecked_return_type = "value is AuthError")]
pub fn is_auth_error(#[wasm_bindgen(unchecked_param_type = "unknown")] value: &JsValue) -> bool {
    value.is_instance_of::<js_sys::Error>() && crate::browser::name_of(value).as_deref() == Some("AuthError")
}

fn config_error(field: &'static str, reason: &'static str) -> JsValue {
    convert::error(&AuthError::InvalidConfig(ConfigError::new(field, reason)))
}

/// Hands an exception thrown by a listener to the host (`reportError`), so it is seen but breaks nothing.
fn report_error(thrown: &JsValue) {
    if let Ok(f) = crate::browser::global_fn("reportError") {
        let _ = f.call1(&JsValue::UNDEFINED, thrown);
    }
}
