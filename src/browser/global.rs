//! Bindings to the global scope that work in windows and workers alike.

use alloc::string::String;

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::{Request, RequestInit};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_name = fetch)]
    pub(crate) fn fetch_request(req: &Request) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_name = fetch)]
    pub(crate) fn fetch_url(url: &str, init: &RequestInit) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    pub(crate) fn performance_now() -> f64;
    /// `String(value)`, which may throw (a `toString` that throws, `Object.create(null)`).
    #[wasm_bindgen(catch, js_name = String)]
    pub(crate) fn js_string(value: &JsValue) -> Result<js_sys::JsString, JsValue>;
    /// `Object.keys(value)`, which may throw (a proxy).
    #[wasm_bindgen(catch, js_namespace = Object, js_name = keys)]
    pub(crate) fn object_keys(value: &JsValue) -> Result<js_sys::Array, JsValue>;
    /// `Object.entries(value)`, which may throw (a getter that throws).
    #[wasm_bindgen(catch, js_namespace = Object, js_name = entries)]
    pub(crate) fn object_entries(value: &JsValue) -> Result<js_sys::Array, JsValue>;
}

// Small helpers that are shorter in JS than through web-sys (and work in windows and workers).
#[wasm_bindgen(inline_js = "
export function lock(name, ms) {
  const locks = globalThis.navigator && navigator.locks;
  if (!locks || typeof AbortSignal.timeout !== 'function') return Promise.resolve(null);
  return new Promise((granted) => {
    let release;
    const held = new Promise((r) => { release = r; });
    locks.request(name, { signal: AbortSignal.timeout(ms) }, () => { granted(release); return held; })
      .catch(() => granted(null));
  });
}
export function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
")]
extern "C" {
    /// Resolves to a release function once Web Lock `name` is held, or to `null` (no Web Locks, or
    /// `ms` passed first).
    pub(crate) fn lock(name: &str, ms: u32) -> Promise;
    /// Resolves after `ms` milliseconds.
    pub(crate) fn sleep(ms: u32) -> Promise;
}

/// `globalThis[name]`, or `undefined`.
pub(crate) fn global_get(name: &str) -> JsValue {
    Reflect::get(&js_sys::global(), &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// `obj[key]` as a string, if it is one.
pub(crate) fn string_prop(obj: &JsValue, key: &str) -> Option<String> {
    if !obj.is_object() {
        return None;
    }
    Reflect::get(obj, &JsValue::from_str(key)).ok()?.as_string()
}

/// The page's (or worker's) `location.href`, if there is one.
pub(crate) fn location_href() -> Option<String> {
    string_prop(&global_get("location"), "href")
}

/// The value of cookie `name` as `document.cookie` shows it now (only non-HttpOnly cookies are visible).
pub(crate) fn read_cookie(name: &str) -> Option<String> {
    let all = string_prop(&global_get("document"), "cookie")?;
    all.split(';').find_map(|pair| {
        let (k, v) = pair.trim_start().split_once('=')?;
        (k == name).then(|| String::from(v))
    })
}

/// `true` if `err` is a `DOMException` named `AbortError`.
pub(crate) fn is_abort_error(err: &JsValue) -> bool {
    string_prop(err, "name").as_deref() == Some("AbortError")
}
