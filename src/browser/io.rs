//! The browser I/O the core calls: `src/js/io.js`, a JS snippet shipped inside the package.
//!
//! The boundary carries numbers and handles: a client's `io` object (its options as the browser
//! parsed them, its channel and listeners), requests, responses and promises. Imports that can throw
//! are declared `catch`, so no JS exception ever unwinds through a wasm frame.

use js_sys::Promise;
use wasm_bindgen::prelude::*;

/// `num(io, k)`: the refresh timeout in ms.
pub(crate) const REFRESH_TIMEOUT_MS: u32 = 0;
/// `num(io, k)`: the lock timeout in ms.
pub(crate) const LOCK_TIMEOUT_MS: u32 = 1;
/// `num(io, k)`: `maxConcurrent`, 0 for no cap.
pub(crate) const MAX_CONCURRENT: u32 = 2;
/// `num(io, k)`: 1 if `crossTab` is on.
pub(crate) const CROSS_TAB: u32 = 3;
/// `num(io, k)`: 1 if the app gave `classifyRefresh`.
pub(crate) const CLASSIFIER: u32 = 4;
/// `num(io, k)`: this client's random id in marker cookies.
pub(crate) const TAB_ID: u32 = 5;
/// `num(io, k)`: `confirmDelayMs`, the pause before a rejected refresh is confirmed (0: off).
pub(crate) const CONFIRM_DELAY_MS: u32 = 6;
/// `num(io, k)`: auth status number `k - AUTH_STATUSES`, 0 past the last.
pub(crate) const AUTH_STATUSES: u32 = 16;

#[wasm_bindgen(module = "/src/js/io.js")]
extern "C" {
    /// Reads and checks the JS options; throws an `invalid_config` AuthError.
    #[wasm_bindgen(catch)]
    pub(crate) fn make_io(options: &JsValue) -> Result<JsValue, JsValue>;
    /// Setting `k` of a client (the constants above).
    pub(crate) fn num(io: &JsValue, k: u32) -> f64;
    /// Routes cross-tab messages to `f(kind)`.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn set_hook(io: &JsValue, f: &JsValue);
    /// Closes the channel and drops the listeners of a freed client.
    pub(crate) fn close(io: &JsValue);
    /// Builds the `Request` for `fetch(input, init)`; throws the TypeError `fetch` would.
    #[wasm_bindgen(catch)]
    pub(crate) fn prepare(io: &JsValue, input: &JsValue, init: &JsValue) -> Result<JsValue, JsValue>;
    /// The route of the request `prepare` just built: 0 handled, 1 untouched, 2 a handled stream body.
    pub(crate) fn route(io: &JsValue) -> u32;
    /// A copy for the one replay; `undefined` if it cannot be copied.
    pub(crate) fn dup(req: &JsValue) -> JsValue;
    /// `fetch(req)`; with `io` not null, adds the CSRF header first.
    pub(crate) fn send(io: &JsValue, req: &JsValue) -> Promise;
    /// Whether the failure `err` of sending `req` was an abort.
    pub(crate) fn was_aborted(req: &JsValue, err: &JsValue) -> bool;
    /// The response's status.
    pub(crate) fn status(res: &JsValue) -> u16;
    /// Whether refresh handling applies to `res` (not after a redirect to another origin).
    pub(crate) fn handled(io: &JsValue, res: &JsValue) -> bool;
    /// Cancels the body of a response nobody will see.
    pub(crate) fn discard(res: &JsValue);
    /// Resolves when `req` is aborted; its listener comes off with `unhook`.
    pub(crate) fn abort_wait(req: &JsValue) -> JsValue;
    pub(crate) fn unhook(wait: &JsValue);
    /// The refresh call.
    pub(crate) fn refresh(io: &JsValue) -> Promise;
    /// `classifyRefresh(res)` as 0 refreshed, 1 expired, 2 failed; rejects on anything else.
    pub(crate) fn classify(io: &JsValue, res: &JsValue) -> Promise;
    /// Resolves after `ms` with an Error named `TimeoutError`.
    pub(crate) fn timeout(ms: u32) -> Promise;
    /// `performance.now()`.
    pub(crate) fn now() -> f64;
    /// `Date.now()`.
    pub(crate) fn wall() -> f64;
    /// The marker cookie's state (a char code; 0 if absent or unparsable).
    pub(crate) fn marker(io: &JsValue) -> u32;
    /// Part `k` of the marker last read: 0 its time, 1 its tab.
    pub(crate) fn marker_part(io: &JsValue, k: u32) -> f64;
    pub(crate) fn marker_write(io: &JsValue, state: u32, time: f64, tab: u32);
    /// Posts message `k` (0 refreshed, 1 expired, 2 login) to the other clients.
    pub(crate) fn post(io: &JsValue, k: u32);
    /// Resolves to a release function once the (fallback) Web Lock is held, or to null after `ms`
    /// or once `stop` resolves (a lock granted later is released at once).
    pub(crate) fn lock(io: &JsValue, fallback: bool, ms: u32, stop: &Promise) -> Promise;
    pub(crate) fn unlock(release: &JsValue);
    /// Whether the last `lock` found no Web Locks to take.
    pub(crate) fn no_locks(io: &JsValue) -> bool;
}
