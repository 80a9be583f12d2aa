//! The refresh call and the attempt around it: never intercepted, bounded, classified, a rejection
//! confirmed before it ends the session.

use crate::browser::io;
use crate::browser::tabs::Tabs;
use crate::engine::outcome;
use crate::engine::tabs::{self, Rejection};
use crate::engine::{RefreshOutcome, Verdict};
use alloc::boxed::Box;
use alloc::rc::Rc;
use core::cell::{Cell, RefCell};
use futures::future::{select, Either};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// The refresh calls of one client. Each call runs, and is classified, in its own task; whoever
/// started it waits at most `refreshTimeoutMs`, or until the refresh's end if that comes first. A
/// call that outlives its wait is *abandoned*, not aborted (the server may still rotate, and its
/// cookies still land): its waiters get `refresh_failed`, the next refresh sends a new call, and a
/// late success is still recorded (see [`Refresher::on_late_success`]). The app's
/// `classifyRefresh` runs inside that same wait: one that hangs fails the refresh.
pub(crate) struct Refresher {
    pub io: JsValue,
    /// `refreshTimeoutMs`.
    pub timeout_ms: u32,
    /// `confirmDelayMs` (0: a rejection is not confirmed by a second call).
    pub confirm_ms: u32,
    /// Calls in flight, abandoned ones included.
    pending: Cell<u32>,
    /// What an abandoned call that succeeds does (the client sets it once its engine exists).
    late: RefCell<Option<Box<dyn Fn()>>>,
}

impl core::fmt::Debug for Refresher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Refresher").field("pending", &self.pending.get()).finish_non_exhaustive()
    }
}

impl Refresher {
    pub fn new(io: JsValue) -> Refresher {
        let n = |k| io::num(&io, k) as u32;
        Refresher {
            timeout_ms: n(io::REFRESH_TIMEOUT_MS),
            confirm_ms: n(io::CONFIRM_DELAY_MS),
            io,
            pending: Cell::new(0),
            late: RefCell::new(None),
        }
    }

    /// Sets what a late success of an abandoned call does: its cookies are in the jar, so requests
    /// sent before it replay without another refresh (and other tabs are told).
    pub fn on_late_success(&self, f: Box<dyn Fn()>) {
        *self.late.borrow_mut() = Some(f);
    }

    /// The refresh: a call and, for a rejection, its confirmation (with `tabs`: another context's
    /// rotation first, see [`Tabs::confirm`]; then one more call after `confirmDelayMs`), all by
    /// `end` (`io::now()` time). With `tabs` the caller holds the lock, and the marker says so.
    pub async fn attempt(self: &Rc<Self>, end: f64, tabs: Option<&Tabs>) -> RefreshOutcome<JsValue> {
        // An earlier call of this client still in flight may rotate the token this one presents.
        let abandoned = self.pending.get() > 0;
        let start = io::wall();
        if let Some(t) = tabs {
            t.write(tabs::IN_FLIGHT);
        }
        let mut outcome = self.call(end).await;
        let mut retried = false;
        loop {
            if let Some(t) = tabs {
                outcome = t.confirm(outcome, start, end).await;
            }
            let RefreshOutcome::Expired { status } = outcome else { break };
            match tabs::rejected(abandoned, retried, self.confirm_ms) {
                Rejection::Stands => break,
                Rejection::Failed => {
                    outcome = RefreshOutcome::Failed { status, cause: None };
                    break;
                }
                Rejection::Retry => {}
            }
            let _ = JsFuture::from(io::timeout(self.confirm_ms.min(left(end)))).await;
            outcome = self.call(end).await;
            retried = true;
        }
        if let Some(t) = tabs {
            t.record(&outcome);
        }
        outcome
    }

    /// One call, waited for until `end` or `refreshTimeoutMs`, whichever comes first (a timeout is
    /// `Failed` with a `TimeoutError` cause). None is sent once `end` has passed: it would be
    /// abandoned at once, its token presented with no one waiting for the answer.
    async fn call(self: &Rc<Self>, end: f64) -> RefreshOutcome<JsValue> {
        let ms = self.timeout_ms.min(left(end));
        if ms == 0 {
            return RefreshOutcome::Failed { status: None, cause: JsFuture::from(io::timeout(0)).await.ok() };
        }
        let (setter, settled) = outcome::channel(RefreshOutcome::Failed { status: None, cause: None });
        self.pending.set(self.pending.get() + 1);
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let outcome = this.send().await;
            this.pending.set(this.pending.get() - 1);
            // No one waits any more: the call was abandoned.
            if !setter.has_waiter() && matches!(outcome, RefreshOutcome::Refreshed) {
                if let Some(f) = &*this.late.borrow() {
                    f();
                }
            }
            setter.set(outcome);
        });
        match select(settled, JsFuture::from(io::timeout(ms))).await {
            Either::Left((outcome, _)) => outcome,
            Either::Right((timeout, _)) => RefreshOutcome::Failed { status: None, cause: timeout.ok() },
        }
    }

    /// One refresh request with the browser's cookies, classified (bounded by `refreshTimeoutMs`).
    ///
    /// The answer's body is never read unless the app's `classifyRefresh` reads it: the tokens stay
    /// in HttpOnly cookies, out of reach of this library and of scripts.
    async fn send(&self) -> RefreshOutcome<JsValue> {
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

/// Whole milliseconds left until `end` (`io::now()` time), 0 once it has passed.
pub(crate) fn left(end: f64) -> u32 {
    // `as` saturates: a negative difference is 0.
    (end - io::now()) as u32
}
