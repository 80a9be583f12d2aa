//! The refresh call itself: never intercepted, never sent twice at once, classified into an outcome.

use crate::browser::global::{fetch_url, sleep};
use crate::browser::request::{apply_csrf_headers, is_safe_method};
use crate::browser::settings::Settings;
use crate::engine::outcome::{self, Outcome};
use crate::engine::{RefreshOutcome, Verdict};
use alloc::rc::Rc;
use core::cell::RefCell;
use futures::future::{select, Either};
use js_sys::{Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestCache, RequestCredentials, RequestInit, Response};

/// The refresh call of one client. A call runs, and is classified, in its own task; whoever needs a
/// refresh while it runs joins it. A call that outlives `refreshTimeoutMs` is not aborted: its waiters
/// get `refresh_failed`, but the call stays in flight and the next refresh joins it instead of
/// sending the same refresh token again (the server may still rotate it, and its cookies still land).
pub(crate) struct Refresher {
    pub settings: Rc<Settings>,
    in_flight: RefCell<Option<Outcome<RefreshOutcome<JsValue>>>>,
}

impl core::fmt::Debug for Refresher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Refresher").field("pending", &self.is_pending()).finish()
    }
}

impl Refresher {
    pub fn new(settings: Rc<Settings>) -> Refresher {
        Refresher { settings, in_flight: RefCell::new(None) }
    }

    /// Whether a call is still waiting for its answer (after its waiters timed out).
    pub fn is_pending(&self) -> bool {
        self.in_flight.borrow().is_some()
    }

    /// Sends a refresh (or joins the one in flight) and waits up to `refreshTimeoutMs` for its outcome.
    pub async fn run(self: &Rc<Self>) -> RefreshOutcome<JsValue> {
        let joined = self.in_flight.borrow().clone();
        let call = joined.unwrap_or_else(|| self.start());
        match select(call, JsFuture::from(sleep(self.settings.config.refresh_timeout_ms))).await {
            Either::Left((outcome, _)) => outcome,
            Either::Right(_) => RefreshOutcome::Failed { status: None, cause: Some(timeout_error()) },
        }
    }

    fn start(self: &Rc<Self>) -> Outcome<RefreshOutcome<JsValue>> {
        let (setter, waiter) = outcome::channel(RefreshOutcome::Failed { status: None, cause: None });
        *self.in_flight.borrow_mut() = Some(waiter.clone());
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let outcome = call(&this.settings).await;
            *this.in_flight.borrow_mut() = None;
            setter.set(outcome);
        });
        waiter
    }
}

/// One refresh request with the browser's cookies, classified.
///
/// The answer's body is never read unless the app's `classifyRefresh` reads it: the tokens stay
/// in HttpOnly cookies, out of reach of this library and of scripts.
async fn call(settings: &Settings) -> RefreshOutcome<JsValue> {
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

/// An `Error` named `TimeoutError`, like the one `AbortSignal.timeout` produces.
fn timeout_error() -> JsValue {
    let e = js_sys::Error::new("the refresh took longer than refreshTimeoutMs");
    e.set_name("TimeoutError");
    e.into()
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
