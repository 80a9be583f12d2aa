//! The refresh call itself: never intercepted, bounded by a timeout, classified into an outcome.

use crate::browser::global::fetch_url;
use crate::browser::request::{apply_csrf_headers, is_safe_method};
use crate::browser::settings::Settings;
use crate::engine::{RefreshOutcome, Verdict};
use js_sys::{Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, RequestCache, RequestCredentials, RequestInit, Response};

/// Sends one refresh request with the browser's cookies and classifies the answer.
///
/// The answer's body is never read unless the app's `classifyRefresh` reads it: the tokens stay
/// in HttpOnly cookies, out of reach of this library and of scripts.
pub(crate) async fn refresh(settings: &Settings) -> RefreshOutcome<JsValue> {
    let res = match send(settings) {
        Ok(p) => JsFuture::from(p).await,
        Err(e) => Err(e),
    };
    let res: Response = match res {
        Ok(r) => r.unchecked_into(),
        Err(cause) => return RefreshOutcome::Failed { status: None, cause: Some(cause) },
    };
    let status = res.status();
    match &settings.classify {
        None => Verdict::from_status(status).into_outcome(status),
        Some(f) => match classify_with(f, &res).await {
            Ok(verdict) => verdict.into_outcome(status),
            Err(cause) => RefreshOutcome::Failed { status: Some(status), cause: Some(cause) },
        },
    }
}

fn send(settings: &Settings) -> Result<Promise, JsValue> {
    let c = &settings.config;
    let headers = Headers::new()?;
    for (name, value) in &c.refresh_headers {
        headers.set(name, value)?;
    }
    if !is_safe_method(&c.refresh_method) {
        apply_csrf_headers(settings, &headers);
    }
    let init = RequestInit::new();
    init.set_method(&c.refresh_method);
    init.set_headers(&headers);
    if let Some(body) = &c.refresh_body {
        init.set_body(&JsValue::from_str(body));
    }
    init.set_credentials(RequestCredentials::Include);
    init.set_cache(RequestCache::NoStore);
    init.set_signal(Some(&AbortSignal::timeout_with_u32(c.refresh_timeout_ms)));
    // Let the rotation finish even if the page unloads mid-refresh (the body is tiny).
    let _ = Reflect::set(&init, &JsValue::from_str("keepalive"), &JsValue::TRUE);
    fetch_url(&settings.refresh_url, &init)
}

/// Runs the app's `classifyRefresh(response)`, which may return a verdict string or a promise of one.
async fn classify_with(f: &js_sys::Function, res: &Response) -> Result<Verdict, JsValue> {
    let value = f.call1(&JsValue::UNDEFINED, res)?;
    let value = JsFuture::from(Promise::resolve(&value)).await?;
    value.as_string().as_deref().and_then(Verdict::parse).ok_or_else(|| {
        js_sys::TypeError::new("classifyRefresh must return 'refreshed', 'expired' or 'failed'").into()
    })
}
