//! The refresh call itself: never intercepted, never sent twice at once, classified into an outcome.

use crate::browser::io;
use crate::engine::outcome::{self, Outcome};
use crate::engine::{RefreshOutcome, Verdict};
use alloc::rc::Rc;
use core::cell::RefCell;
use futures::future::{select, Either};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// The refresh call of one client. A call runs, and is classified, in its own task; whoever needs a
/// refresh while it runs joins it. A call that outlives `refreshTimeoutMs` is not aborted: its waiters
/// get `refresh_failed`, but the call stays in flight and the next refresh joins it instead of
/// sending the same refresh token again (the server may still rotate it, and its cookies still land).
/// The app's `classifyRefresh` is bounded by `refreshTimeoutMs` too: one that hangs fails that refresh.
pub(crate) struct Refresher {
    pub io: JsValue,
    pub timeout_ms: u32,
    in_flight: RefCell<Option<Outcome<RefreshOutcome<JsValue>>>>,
}

impl core::fmt::Debug for Refresher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Refresher").field("pending", &self.is_pending()).finish()
    }
}

impl Refresher {
    pub fn new(io: JsValue, timeout_ms: u32) -> Refresher {
        Refresher { io, timeout_ms, in_flight: RefCell::new(None) }
    }

    /// Whether a call is still waiting for its answer (after its waiters timed out).
    pub fn is_pending(&self) -> bool {
        self.in_flight.borrow().is_some()
    }

    /// Sends a refresh (or joins the one in flight) and waits up to `refreshTimeoutMs` for its outcome.
    pub async fn run(self: &Rc<Self>) -> RefreshOutcome<JsValue> {
        let joined = self.in_flight.borrow().clone();
        let call = joined.unwrap_or_else(|| self.start());
        match select(call, JsFuture::from(io::timeout(self.timeout_ms))).await {
            Either::Left((outcome, _)) => outcome,
            Either::Right((timeout, _)) => RefreshOutcome::Failed { status: None, cause: timeout.ok() },
        }
    }

    fn start(self: &Rc<Self>) -> Outcome<RefreshOutcome<JsValue>> {
        let (setter, waiter) = outcome::channel(RefreshOutcome::Failed { status: None, cause: None });
        *self.in_flight.borrow_mut() = Some(waiter.clone());
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let outcome = this.call().await;
            *this.in_flight.borrow_mut() = None;
            setter.set(outcome);
        });
        waiter
    }

    /// One refresh request with the browser's cookies, classified.
    ///
    /// The answer's body is never read unless the app's `classifyRefresh` reads it: the tokens stay
    /// in HttpOnly cookies, out of reach of this library and of scripts.
    async fn call(&self) -> RefreshOutcome<JsValue> {
        let res = match JsFuture::from(io::refresh(&self.io)).await {
            Ok(res) => res,
            Err(cause) => return RefreshOutcome::Failed { status: None, cause: Some(cause) },
        };
        let status = io::status(&res);
        if io::num(&self.io, io::CLASSIFIER) == 0.0 {
            return Verdict::from_status(status).into_outcome(status);
        }
        let classified = JsFuture::from(io::classify(&self.io, &res));
        match select(classified, JsFuture::from(io::timeout(self.timeout_ms))).await {
            Either::Left((Ok(k), _)) => match k.as_f64().map(|k| k as u32) {
                Some(0) => Verdict::Refreshed,
                Some(1) => Verdict::Expired,
                _ => Verdict::Failed,
            }
            .into_outcome(status),
            Either::Left((Err(cause), _)) | Either::Right((Ok(cause), _)) => {
                RefreshOutcome::Failed { status: Some(status), cause: Some(cause) }
            }
            Either::Right((Err(_), _)) => RefreshOutcome::Failed { status: Some(status), cause: None },
        }
    }
}
