//! Reading the JS options object into a [`Config`], naming the field of any bad value.

use crate::browser::{object_entries, object_keys};
use crate::{Config, ConfigError, Csrf};
use alloc::string::String;
use alloc::vec::Vec;
use js_sys::{Array, Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};

const KNOWN: [&str; 12] = [
    "refreshUrl",
    "refreshMethod",
    "refreshHeaders",
    "refreshBody",
    "authStatuses",
    "allowedOrigins",
    "csrf",
    "refreshTimeoutMs",
    "classifyRefresh",
    "crossTab",
    "lockTimeoutMs",
    "maxConcurrent",
];

/// Validates `options` (see `AuthClientOptions` in the TypeScript types).
pub(crate) fn read(options: &JsValue) -> Result<(Config, Option<Function>), ConfigError> {
    if !options.is_object() {
        return Err(ConfigError::new("options", "must be an object with at least refreshUrl"));
    }
    let keys = object_keys(options).map_err(|_| ConfigError::new("options", "must be a plain object"))?;
    for key in keys.iter() {
        let key = key.as_string().unwrap_or_default();
        if !KNOWN.contains(&key.as_str()) {
            return Err(ConfigError::named(key, "is not an AuthClient option (check its spelling)"));
        }
    }
    let url = string(options, "refreshUrl")?.ok_or(ConfigError::new("refreshUrl", "is required"))?;
    let mut b = Config::builder(url);
    if let Some(m) = string(options, "refreshMethod")? {
        b = b.refresh_method(m);
    }
    if let Some(h) = headers(options)? {
        b = b.refresh_headers(h);
    }
    let body = get(options, "refreshBody");
    if body.is_null() {
        b = b.refresh_body(None);
    } else if !body.is_undefined() {
        let s = body.as_string().ok_or(ConfigError::new("refreshBody", "must be a string or null"))?;
        b = b.refresh_body(Some(s));
    }
    if let Some(list) = array(options, "authStatuses")? {
        let mut statuses = Vec::new();
        for v in list.iter() {
            statuses.push(
                status(&v)
                    .ok_or(ConfigError::new("authStatuses", "must be an array of HTTP status numbers"))?,
            );
        }
        b = b.auth_statuses(statuses);
    }
    if let Some(list) = array(options, "allowedOrigins")? {
        for v in list.iter() {
            b = b.allowed_origin(
                v.as_string().ok_or(ConfigError::new("allowedOrigins", "must be an array of strings"))?,
            );
        }
    }
    b = b.csrf(csrf(options)?);
    if let Some(ms) = millis(options, "refreshTimeoutMs")? {
        b = b.refresh_timeout_ms(ms);
    }
    if let Some(ms) = millis(options, "lockTimeoutMs")? {
        b = b.lock_timeout_ms(ms);
    }
    if let Some(n) = millis(options, "maxConcurrent")? {
        b = b.max_concurrent(Some(n));
    }
    let cross_tab = get(options, "crossTab");
    if !cross_tab.is_undefined() {
        b = b.cross_tab(cross_tab.as_bool().ok_or(ConfigError::new("crossTab", "must be true or false"))?);
    }
    let classify = get(options, "classifyRefresh");
    let classify = if classify.is_undefined() {
        None
    } else {
        Some(
            classify
                .dyn_into::<Function>()
                .map_err(|_| ConfigError::new("classifyRefresh", "must be a function"))?,
        )
    };
    Ok((b.build()?, classify))
}

fn get(o: &JsValue, key: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn string(o: &JsValue, key: &'static str) -> Result<Option<String>, ConfigError> {
    let v = get(o, key);
    if v.is_undefined() {
        return Ok(None);
    }
    v.as_string().map(Some).ok_or(ConfigError::new(key, "must be a string"))
}

fn array(o: &JsValue, key: &'static str) -> Result<Option<Array>, ConfigError> {
    let v = get(o, key);
    if v.is_undefined() {
        return Ok(None);
    }
    if !Array::is_array(&v) {
        return Err(ConfigError::new(key, "must be an array"));
    }
    Ok(Some(v.unchecked_into()))
}

/// A whole number option (milliseconds, or a count).
fn millis(o: &JsValue, key: &'static str) -> Result<Option<u32>, ConfigError> {
    let v = get(o, key);
    if v.is_undefined() {
        return Ok(None);
    }
    match v.as_f64() {
        Some(n) if n >= 0.0 && f64::from(n as u32) == n => Ok(Some(n as u32)),
        _ => Err(ConfigError::new(key, "must be a whole number (not negative, no fraction)")),
    }
}

fn status(v: &JsValue) -> Option<u16> {
    let n = v.as_f64()?;
    let s = n as u16;
    (f64::from(s) == n && (100..=599).contains(&s)).then_some(s)
}

fn headers(o: &JsValue) -> Result<Option<Vec<(String, String)>>, ConfigError> {
    let v = get(o, "refreshHeaders");
    if v.is_undefined() {
        return Ok(None);
    }
    let bad = ConfigError::new("refreshHeaders", "must be an object of header names to string values");
    if !v.is_object() || Array::is_array(&v) {
        return Err(bad);
    }
    let mut out = Vec::new();
    for entry in object_entries(&v).map_err(|_| bad.clone())?.iter() {
        let pair: Array = entry.unchecked_into();
        match (pair.get(0).as_string(), pair.get(1).as_string()) {
            (Some(k), Some(val)) => out.push((k, val)),
            _ => return Err(bad),
        }
    }
    Ok(Some(out))
}

fn csrf(o: &JsValue) -> Result<Option<Csrf>, ConfigError> {
    let v = get(o, "csrf");
    if v.is_undefined() || v.as_bool() == Some(false) {
        return Ok(None);
    }
    if v.as_bool() == Some(true) {
        return Ok(Some(Csrf::django()));
    }
    if !v.is_object() {
        return Err(ConfigError::new("csrf", "must be true, false or { cookie, header }"));
    }
    let d = Csrf::django();
    Ok(Some(Csrf {
        cookie: string(&v, "cookie")
            .map_err(|_| ConfigError::new("csrf.cookie", "must be a string"))?
            .unwrap_or(d.cookie),
        header: string(&v, "header")
            .map_err(|_| ConfigError::new("csrf.header", "must be a string"))?
            .unwrap_or(d.header),
    }))
}
