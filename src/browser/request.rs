//! Turning `fetch(input, init)` arguments into a `Request`, and deciding whether authflight handles it.

use alloc::string::String;

use crate::browser::global::{is_abort_error, js_string, read_cookie};
use crate::browser::settings::Settings;
use crate::config::origin_of;
use crate::AuthError;
use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Headers, ReadableStream, Request, RequestCredentials, RequestInit};

/// What to do with a request.
pub(crate) enum Route {
    /// An allowed origin: credentials, CSRF and refresh handling.
    Handle(Request),
    /// Any other origin, or opted out: sent exactly as given.
    PassThrough(Request),
}

/// Builds the `Request` for `fetch(input, init)` and routes it by origin.
///
/// Fails with `body_not_replayable` for a `ReadableStream` body on a handled request,
/// and with `network` (cause: the `TypeError`) where `fetch` itself would reject.
pub(crate) fn route(settings: &Settings, input: &JsValue, init: &JsValue) -> Result<Route, AuthError> {
    let has_init = init.is_object();
    let opted_out = has_init && prop(init, "skipAuthRefresh").is_truthy();
    let req = build(input, if has_init { Some(init) } else { None })?;
    let origin = origin_of(&req.url());
    if opted_out || !settings.handles(origin.as_deref()) {
        return Ok(Route::PassThrough(req));
    }
    if has_init && prop(init, "body").is_instance_of::<ReadableStream>() {
        return Err(AuthError::BodyNotReplayable);
    }
    let cross_origin = origin.as_deref() != settings.page_origin.as_deref();
    if cross_origin && req.credentials() == RequestCredentials::SameOrigin {
        let with = RequestInit::new();
        with.set_credentials(RequestCredentials::Include);
        return Request::new_with_request_and_init(&req, &with).map(Route::Handle).map_err(network);
    }
    Ok(Route::Handle(req))
}

/// Sets the CSRF header from the cookie's current value, on unsafe methods only.
pub(crate) fn apply_csrf(settings: &Settings, req: &Request) {
    if settings.config.csrf.is_some() && !is_safe_method(&req.method()) {
        apply_csrf_headers(settings, &req.headers());
    }
}

/// Copies the CSRF cookie, as it is now, into `headers` (when CSRF is configured).
pub(crate) fn apply_csrf_headers(settings: &Settings, headers: &Headers) {
    let Some(csrf) = &settings.config.csrf else { return };
    if let Some(token) = read_cookie(&csrf.cookie) {
        let _ = headers.set(&csrf.header, &token);
    }
}

/// GET, HEAD, OPTIONS and TRACE never carry the CSRF header.
pub(crate) fn is_safe_method(method: &str) -> bool {
    matches!(method.to_ascii_uppercase().as_str(), "GET" | "HEAD" | "OPTIONS" | "TRACE")
}

/// Maps a rejected `fetch` to `aborted` or `network`.
pub(crate) fn fetch_error(err: JsValue) -> AuthError {
    if is_abort_error(&err) {
        AuthError::Aborted
    } else {
        network(err)
    }
}

fn network(cause: JsValue) -> AuthError {
    AuthError::Network { cause }
}

fn prop(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn build(input: &JsValue, init: Option<&JsValue>) -> Result<Request, AuthError> {
    let empty;
    let init: &RequestInit = match init {
        Some(i) => i.unchecked_ref(),
        None => {
            empty = RequestInit::new();
            &empty
        }
    };
    if let Some(req) = input.dyn_ref::<Request>() {
        return Request::new_with_request_and_init(req, init).map_err(network);
    }
    let url: String = match input.as_string() {
        Some(s) => s,
        None if input.is_object() => js_string(input).map_err(network)?.into(),
        None => {
            return Err(network(
                js_sys::TypeError::new("fetch input must be a string, URL or Request").into(),
            ))
        }
    };
    Request::new_with_str_and_init(&url, init).map_err(network)
}
