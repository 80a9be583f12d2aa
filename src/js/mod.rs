//! The wasm exports under the npm package's `AuthClient` (`src/js/authflight.js`).
//!
//! Clients live in a table here and JavaScript holds their numbers, so no Rust pointer ever
//! crosses the boundary: a wrong `this`, a freed client or a stale number finds no client and gets
//! an `invalid_call` error, never a trap. Every export returns its error as a value (the glue
//! throws it after the wasm has returned), so no exception unwinds through a wasm frame.

use crate::browser::Client;
use crate::error::ErrorCode;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use js_sys::Promise;
use wasm_bindgen::prelude::*;

/// The live clients; a client's number is its index plus one. Freed slots are reused.
struct Table(RefCell<Vec<Option<Rc<Client>>>>);

// SAFETY: wasm32 without threads: the table is only ever touched from the one JS thread.
unsafe impl Sync for Table {}

static CLIENTS: Table = Table(RefCell::new(Vec::new()));

/// The client numbered `id`, if it is live. The table is never borrowed across a call out.
fn client(id: u32) -> Option<Rc<Client>> {
    let i = (id as usize).checked_sub(1)?;
    CLIENTS.0.borrow().get(i)?.clone()
}

fn invalid_call() -> JsValue {
    crate::browser::io::error(ErrorCode::InvalidCall as u32, 0, &JsValue::UNDEFINED)
}

/// Builds a client from JS options: returns its `io` object (`io.id` is its number), or the
/// `invalid_config` AuthError for JavaScript to throw.
#[wasm_bindgen]
pub fn client_new(options: JsValue) -> JsValue {
    let (client, io) = match Client::new(&options, None) {
        Ok(built) => built,
        Err(error) => return error,
    };
    let mut table = CLIENTS.0.borrow_mut();
    let slot = match table.iter().position(Option::is_none) {
        Some(i) => i,
        None => {
            table.push(None);
            table.len() - 1
        }
    };
    table[slot] = Some(Rc::new(client));
    drop(table);
    crate::browser::io::set_id(&io, slot as u32 + 1);
    io
}

/// `api.fetch(input, init)`: a promise of the Response, or of an AuthError.
#[wasm_bindgen]
pub fn client_fetch(id: u32, input: JsValue, init: JsValue) -> Promise {
    let Some(client) = client(id) else { return Promise::reject(&invalid_call()) };
    wasm_bindgen_futures::future_to_promise(async move {
        client.fetch(&input, &init).await.map_err(|e| crate::browser::js_error(&e))
    })
}

// The calls below find no client for a number that is not live; `authflight.js` checks that first
// and throws `invalid_call`, so they answer a neutral value instead of an error.

/// `api.markLoggedIn()`.
#[wasm_bindgen]
pub fn client_login(id: u32) {
    if let Some(c) = client(id) {
        c.mark_logged_in();
    }
}

/// A message numbered `k` from another client of the same refresh URL.
#[wasm_bindgen]
pub fn client_message(id: u32, k: u32) {
    if let Some(c) = client(id) {
        c.message(k);
    }
}

/// `api.sessionExpired`.
#[wasm_bindgen]
pub fn client_expired(id: u32) -> bool {
    client(id).is_some_and(|c| c.is_expired())
}

/// Count `k` of `api.stats()`, in the order of `AuthStats`.
#[wasm_bindgen]
pub fn client_stat(id: u32, k: u32) -> u32 {
    let Some(c) = client(id) else { return 0 };
    let s = c.stats();
    let all =
        [s.requests, s.refreshes_started, s.refreshes_succeeded, s.refreshes_failed, s.queued, s.replayed];
    all.get(k as usize).copied().unwrap_or(s.sessions_expired)
}

/// `api.free()`: the client's number is void at once; its requests in flight still settle, and its
/// channel closes after the last of them.
#[wasm_bindgen]
pub fn client_free(id: u32) {
    let i = (id as usize).wrapping_sub(1);
    let freed = CLIENTS.0.borrow_mut().get_mut(i).and_then(Option::take);
    drop(freed);
}
