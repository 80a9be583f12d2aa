//! The browser layer: the engine's [`Transport`] over `fetch`, one client's state, and [`AuthClient`]
//! for Rust front ends.
//!
//! Every decision is made here and in the engine; the I/O itself is `src/js/io.js` (bound in `io.rs`),
//! because a few lines of JS cost fewer bytes than the wasm-bindgen imports they replace. Works
//! wherever `fetch` does (windows, workers, Node).

mod client;
pub(crate) mod io;
pub(crate) mod refresh;
mod request;
mod tabs;

pub use client::AuthClient;
pub use request::FetchRequest;

use crate::engine::outcome;
use crate::engine::{RefreshOutcome, Transport};
use crate::AuthError;
use alloc::rc::Rc;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use futures::future::{select, Either, LocalBoxFuture};
use futures::FutureExt;
use refresh::Refresher;
use tabs::Tabs;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// [`Transport`] over the global `fetch`, with the client's cookies, CSRF header and timeouts.
///
/// Requests and responses are the JS `Request` and `Response` objects, as `JsValue`s.
#[derive(Debug)]
pub struct BrowserTransport {
    io: JsValue,
    refresher: Rc<Refresher>,
    /// Coordination with other tabs and clients; `None` with `crossTab: false`.
    tabs: Option<Rc<Tabs>>,
}

impl Transport for BrowserTransport {
    type Request = JsValue;
    type Response = JsValue;
    type Cause = JsValue;

    fn duplicate(&self, req: &JsValue) -> Result<JsValue, AuthError> {
        let copy = io::dup(req);
        if copy.is_undefined() {
            return Err(AuthError::BodyNotReplayable);
        }
        Ok(copy)
    }

    fn send(&self, req: JsValue) -> LocalBoxFuture<'static, Result<JsValue, AuthError>> {
        send(&self.io, req)
    }

    fn status(&self, res: &JsValue) -> u16 {
        io::status(res)
    }

    fn is_handled(&self, res: &JsValue) -> bool {
        io::handled(&self.io, res)
    }

    fn discard(&self, res: JsValue) {
        // Release the connection's loader now rather than when the response is collected.
        io::discard(&res);
    }

    /// Body-less GET and HEAD requests may probe, with `crossTab` (turns come from `tabs`).
    fn probe_turn(&self, req: &JsValue) -> Option<LocalBoxFuture<'static, ()>> {
        let tabs = self.tabs.as_ref()?;
        let req: &web_sys::Request = req.unchecked_ref();
        let method = req.method();
        (req.body().is_none() && (method == "GET" || method == "HEAD"))
            .then(|| tabs.probe_turn().boxed_local())
    }

    fn probed(&self) {
        if let Some(tabs) = &self.tabs {
            tabs.jar_fresh(true);
        }
    }

    fn aborted(&self, req: &JsValue) -> LocalBoxFuture<'static, ()> {
        let wait = io::abort_wait(req);
        AbortWait { future: JsFuture::from(wait.clone().unchecked_into::<js_sys::Promise>()), wait }
            .boxed_local()
    }

    /// Ends within its bound, `lockTimeoutMs` (cross-tab only) + `confirmDelayMs` +
    /// `refreshTimeoutMs`, whatever happens (see `tabs` for the protocol and its worst case).
    fn refresh(&self, since: f64) -> LocalBoxFuture<'static, RefreshOutcome<JsValue>> {
        let refresher = self.refresher.clone();
        let tabs = self.tabs.clone();
        let bound = refresher.timeout_ms + refresher.confirm_ms + tabs.as_ref().map_or(0, |t| t.lock_ms);
        let end = io::now() + f64::from(bound);
        // In a task of its own: should the bound pass first, it still releases its lock and records
        // what it finds, while its waiters go on.
        let (setter, ended) = outcome::channel(RefreshOutcome::Failed { status: None, cause: None });
        wasm_bindgen_futures::spawn_local(async move {
            let outcome = match &tabs {
                Some(tabs) => tabs.refresh(&refresher, since, end).await,
                None => refresher.attempt(end, None).await,
            };
            setter.set(outcome);
        });
        let timer = JsFuture::from(io::timeout(bound));
        async move {
            match select(ended, timer).await {
                Either::Left((outcome, _)) => outcome,
                Either::Right((timeout, _)) => RefreshOutcome::Failed { status: None, cause: timeout.ok() },
            }
        }
        .boxed_local()
    }

    fn spawn(&self, task: LocalBoxFuture<'static, ()>) {
        wasm_bindgen_futures::spawn_local(task);
    }

    fn now(&self) -> f64 {
        io::now()
    }
}

impl Drop for BrowserTransport {
    /// The last request of a freed client settled: close its channel, drop its listeners.
    fn drop(&mut self) {
        io::close(&self.io);
    }
}

/// `fetch(req)`: handled (`io` an object: the CSRF header is added) or untouched (`io` null).
/// A rejection is `aborted` if the request's signal fired, else `network`.
fn send(io: &JsValue, req: JsValue) -> LocalBoxFuture<'static, Result<JsValue, AuthError>> {
    let sent = JsFuture::from(io::send(io, &req));
    async move {
        sent.await.map_err(|cause| {
            if io::was_aborted(&req, &cause) {
                AuthError::Aborted
            } else {
                AuthError::Network { cause }
            }
        })
    }
    .boxed_local()
}

/// Resolves when a request's signal aborts; dropping it takes the listener off the signal, so a
/// request that waited on a refresh leaves nothing behind on a long-lived signal.
struct AbortWait {
    future: JsFuture,
    wait: JsValue,
}

impl Future for AbortWait {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.future).poll(cx).map(|_| ())
    }
}

impl Drop for AbortWait {
    fn drop(&mut self) {
        io::unhook(&self.wait);
    }
}
