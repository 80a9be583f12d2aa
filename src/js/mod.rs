//! The wasm exports under the npm package (`src/js/authflight.js`): every decision, as numbers.
//!
//! The package's JavaScript holds the promises and does the I/O; at every step it asks a
//! [`Session`] (single flight, generations, replay, expiry, the cap, the counts) or a cross-tab
//! decision ([`crate::engine::tabs`]) what to do. Numbers only cross the boundary: no JS value is
//! held here and nothing here calls out, so no exception can unwind through a wasm frame, and a
//! client number that is not live (a wrong `this`, a freed client) finds no session and gets a
//! neutral answer (`authflight.js` checks first and throws `invalid_call`).
//!
//! Codes: verdicts are 0 refreshed, 1 expired, 2 failed; a marker is passed as its state (a char
//! code, 0 for none), its time and its client id, with the wall clock `now`.

use crate::engine::tabs::{self, Confirm, Marker, OnLock, Rejection};
use crate::engine::{Answer, Enter, Session, Verdict};
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use wasm_bindgen::prelude::*;

/// The live sessions; a session's number is its index plus one. Freed slots are reused.
struct Table(UnsafeCell<Vec<Option<Session>>>);

// SAFETY: wasm32 without threads: the table is only ever touched from the one JS thread.
unsafe impl Sync for Table {}

static SESSIONS: Table = Table(UnsafeCell::new(Vec::new()));

/// The table. Every export takes it once and returns before anything else can run (nothing here
/// calls out to JavaScript), so no two references to it are ever alive at once.
#[allow(clippy::mut_from_ref)]
fn table() -> &'static mut Vec<Option<Session>> {
    // SAFETY: see above; single-threaded, and never re-entered.
    unsafe { &mut *SESSIONS.0.get() }
}

/// Runs `f` on session `id`, or answers `none` if it is not live.
fn with<R>(id: u32, none: R, f: impl FnOnce(&mut Session) -> R) -> R {
    match (id as usize).checked_sub(1).and_then(|i| table().get_mut(i)) {
        Some(Some(s)) => f(s),
        _ => none,
    }
}

fn verdict(v: u32) -> Verdict {
    match v {
        0 => Verdict::Refreshed,
        1 => Verdict::Expired,
        _ => Verdict::Failed,
    }
}

/// A new session with at most `max` requests in flight (0: no cap); its number.
#[wasm_bindgen]
pub fn s_new(max: u32) -> u32 {
    let table = table();
    let session = Some(Session::new(Vec::new(), max));
    match table.iter().position(Option::is_none) {
        Some(i) => {
            table[i] = session;
            i as u32 + 1
        }
        None => {
            table.push(session);
            table.len() as u32
        }
    }
}

/// Adds an auth status (`authStatuses`) to session `id`.
#[wasm_bindgen]
pub fn s_status(id: u32, status: u16) {
    with(id, (), |s| s.add_auth_status(status));
}

/// Frees session `id`; its number is void at once.
#[wasm_bindgen]
pub fn s_free(id: u32) {
    if let Some(slot) = (id as usize).checked_sub(1).and_then(|i| table().get_mut(i)) {
        *slot = None;
    }
}

/// A new request: its id.
#[wasm_bindgen]
pub fn s_begin(id: u32) -> u32 {
    with(id, 0, Session::begin)
}

/// Before each send: 0 go; `n << 2 | 1` wait for refresh `n`, then ask again; `t << 2 | 2` wait
/// for ticket `t` from `s_woken`, then ask again.
#[wasm_bindgen]
pub fn s_enter(id: u32) -> u32 {
    match with(id, Enter::Go, Session::enter) {
        Enter::Go => 0,
        Enter::Refresh(n) => n << 2 | 1,
        Enter::Hold(t) => t << 2 | 2,
    }
}

/// A request told to wait by `s_enter` was aborted (`ticket` its hold, or 0).
#[wasm_bindgen]
pub fn s_cancel(id: u32, ticket: u32) {
    with(id, (), |s| s.cancel(ticket));
}

/// A send let through by `s_enter` was answered or failed.
#[wasm_bindgen]
pub fn s_leave(id: u32) {
    with(id, (), Session::leave);
}

/// The next held ticket that may ask `s_enter` again, or 0.
#[wasm_bindgen]
pub fn s_woken(id: u32) -> u32 {
    with(id, 0, Session::woken)
}

/// The generation a request records when it is sent.
#[wasm_bindgen]
pub fn s_generation(id: u32) -> f64 {
    with(id, 0, |s| s.generation()) as f64
}

/// The response to send number `sends` of a request sent at `sent_at` (ms; a rejected one that
/// waits on the refresh marks when its cookies were rejected, see `s_superseded`) whose replays
/// started `starts` refreshes: 0 deliver, 1 replay now, 2 session expired, 5
/// unauthorized, `n << 3 | 3` wait for refresh `n`, `n << 3 | 4` start refresh `n` (then
/// `s_ended`), wait for it.
#[wasm_bindgen]
pub fn s_answered(
    id: u32,
    generation: f64,
    status: u16,
    handled: bool,
    sends: u32,
    starts: u32,
    sent_at: f64,
) -> u32 {
    let answer = with(id, Answer::Deliver, |s| {
        let a = s.answer(generation as u64, status, handled, sends, starts);
        if let Answer::Wait(_) | Answer::Start(_) = a {
            s.rejected(generation as u64, sent_at);
        }
        a
    });
    match answer {
        Answer::Deliver => 0,
        Answer::Replay => 1,
        Answer::Expired => 2,
        Answer::Unauthorized => 5,
        Answer::Wait(n) => n << 3 | 3,
        Answer::Start(n) => n << 3 | 4,
    }
}

/// Whether a request in flight, sent at `generation`, `sent_at`, may be cut off for a replay (see
/// `Session::superseded`).
#[wasm_bindgen]
pub fn s_superseded(id: u32, generation: f64, sent_at: f64, safe: bool) -> bool {
    with(id, false, |s| s.superseded(generation as u64, sent_at, safe))
}

/// A request is replayed.
#[wasm_bindgen]
pub fn s_replayed(id: u32) {
    with(id, (), Session::replayed);
}

/// Whether a probe's answer shows the cookie jar fresh (see `Session::probe_accepted`).
#[wasm_bindgen]
pub fn s_probe_ok(id: u32, status: u16, handled: bool) -> bool {
    with(id, false, |s| s.probe_accepted(status, handled))
}

/// The refresh in flight ended with verdict `v`: the verdict its waiters act on, plus 4 if the
/// session just expired.
#[wasm_bindgen]
pub fn s_ended(id: u32, v: u32) -> u32 {
    let (effective, expired_now) = with(id, (Verdict::Failed, false), |s| s.ended(verdict(v)));
    effective as u32 | u32::from(expired_now) << 2
}

/// A login here or in another tab.
#[wasm_bindgen]
pub fn s_login(id: u32) {
    with(id, (), Session::logged_in);
}

/// Another tab refreshed (`k` 0) or found the session over (`k` 1); true if the session just
/// expired here.
#[wasm_bindgen]
pub fn s_elsewhere(id: u32, k: u32) -> bool {
    with(id, false, |s| {
        if k == 0 {
            s.refreshed_elsewhere();
            false
        } else {
            s.expired_elsewhere()
        }
    })
}

/// Whether the session is known to be over.
#[wasm_bindgen]
pub fn s_expired(id: u32) -> bool {
    with(id, false, |s| s.is_expired())
}

/// Count `k` of `api.stats()`, in the order of `AuthStats`.
#[wasm_bindgen]
pub fn s_stat(id: u32, k: u32) -> u32 {
    with(id, 0, |s| {
        let s = s.stats();
        let all = [
            s.requests,
            s.refreshes_started,
            s.refreshes_succeeded,
            s.refreshes_failed,
            s.queued,
            s.replayed,
        ];
        all.get(k as usize).copied().unwrap_or(s.sessions_expired)
    })
}

/// The default reading of a refresh response's status (2xx refreshed, 400/401/403 expired, else failed).
#[wasm_bindgen]
pub fn v_status(status: u16) -> u32 {
    Verdict::from_status(status) as u32
}

fn marker(state: u32, time: f64, tab: u32, now: f64) -> Option<Marker> {
    Marker::read(state as u8, time, tab, now)
}

/// The first cross-tab decision under the lock: 0 call the server, 1 refreshed elsewhere, 2 expired
/// elsewhere, 3 wait for the landing of the refresh the marker shows in flight (then `t_after_landing`).
#[wasm_bindgen]
pub fn t_on_lock(state: u32, time: f64, tab: u32, now: f64, me: u32, since: f64) -> u32 {
    lock_code(tabs::on_lock(marker(state, time, tab, now), me, since))
}

fn lock_code(d: OnLock) -> u32 {
    match d {
        OnLock::Go => 0,
        OnLock::Refreshed => 1,
        OnLock::Expired => 2,
        OnLock::WaitForLanding { .. } => 3,
    }
}

/// After waiting for a landing of the refresh of client `before` (the marker then: `state`, `time`,
/// `tab`): as `t_on_lock`, or 4 to fail this refresh (it may still rotate).
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub fn t_after_landing(
    before: u32,
    state: u32,
    time: f64,
    tab: u32,
    now: f64,
    since: f64,
    timeout_ms: u32,
) -> u32 {
    let before = Marker { state: tabs::IN_FLIGHT, time: 0.0, tab: before };
    tabs::after_landing(before, marker(state, time, tab, now), since, now, timeout_ms).map_or(4, lock_code)
}

/// When a wait for the landing of a refresh started at `started` ends.
#[wasm_bindgen]
pub fn t_deadline(started: f64, timeout_ms: u32, now: f64) -> f64 {
    tabs::landing_deadline(started, timeout_ms, now)
}

/// Whether the refresh marked in flight at `started` has landed, by the marker now.
#[wasm_bindgen]
pub fn t_landed(state: u32, time: f64, tab: u32, now: f64, started: f64) -> bool {
    tabs::landed(marker(state, time, tab, now), started)
}

/// The confirmation of verdict `v` of a call started at `start`: 0 keep, 1 refreshed elsewhere, 2
/// wait for the landing of the refresh the marker shows in flight (then `t_after_confirm`).
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub fn t_confirm(
    v: u32,
    state: u32,
    time: f64,
    tab: u32,
    now: f64,
    me: u32,
    start: f64,
    timeout_ms: u32,
) -> u32 {
    match tabs::confirm(verdict(v), marker(state, time, tab, now), me, start, now, timeout_ms) {
        Confirm::Keep => 0,
        Confirm::Refreshed => 1,
        Confirm::WaitForLanding { .. } => 2,
    }
}

/// A rejected refresh, first word: 0 the session is over, 1 call once more after `confirm_ms`, 2
/// fail this refresh (`abandoned`: an earlier call of this client may have rotated the token).
#[wasm_bindgen]
pub fn t_rejected(abandoned: bool, retried: bool, confirm_ms: u32) -> u32 {
    match tabs::rejected(abandoned, retried, confirm_ms) {
        Rejection::Stands => 0,
        Rejection::Retry => 1,
        Rejection::Failed => 2,
    }
}

/// The verdict of a rejection after the other refresh landed (or the wait ran out).
#[wasm_bindgen]
pub fn t_after_confirm(state: u32, time: f64, tab: u32, now: f64) -> u32 {
    tabs::after_confirm(marker(state, time, tab, now)) as u32
}

/// The marker state to write for a settled refresh of verdict `v`, plus the message to post
/// (`(k + 1) << 8`, 0 for none).
#[wasm_bindgen]
pub fn t_record(v: u32) -> u32 {
    let (state, message) = tabs::record(verdict(v));
    u32::from(state) | message.map_or(0, |k| (k + 1) << 8)
}
