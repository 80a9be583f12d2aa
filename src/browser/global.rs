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
