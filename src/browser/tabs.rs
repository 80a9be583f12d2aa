//! One refresh across every tab, window and client of the origin that share a refresh URL.
//!
//! # The protocol, and why it is safe
//! Three browser features, each with a fallback:
//! - **Web Locks** (`navigator.locks`): a tab refreshes only while it holds the lock
//!   `authflight:<refresh URL>`, so no two contexts present the same refresh token at once. A tab
//!   whose refresh outlives `refreshTimeoutMs` keeps the lock until the call settles (its waiters get
//!   `refresh_failed` meanwhile). Waiting for the lock is bounded by `lockTimeoutMs`, so a frozen tab,
//!   a double-mounted component or a hot-reloaded module holding it delays others by that much,
//!   never forever. Tabs that give up together then queue on a second lock (`...:fallback`), which a
//!   holder of the first never takes, so they still refresh one at a time, and none of them races a
//!   refresh another context still marks in flight. Without Web Locks a tab goes on without a lock:
//!   the markers below still catch most overlaps.
//! - **A marker cookie** `authflight_<hash of the refresh URL>=<state>:<time>:<client>` (not
//!   HttpOnly, holds no token): `f` a refresh is in flight (rewritten while a timed-out call is
//!   pending), `r` one succeeded, `x` the session expired, `n` one failed or a login happened;
//!   `<time>` is `Date.now()`, the clock every tab shares (a tab's `performance.now()` stops while the
//!   computer sleeps). Cookie reads go through the browser's shared cookie store, so a tab that gets
//!   the lock sees what the previous holder wrote (localStorage can be read stale across tabs).
//!   Under the lock a tab reads it first: `r`/`x` newer than the request that triggered this refresh
//!   means another context already refreshed (replay) or found the session over (expire), and no
//!   call is made. An `f` seen while holding the lock belongs to a context that died mid-refresh
//!   (reload, close): its rotation may still be landing through `keepalive`, so the tab waits for the
//!   marker to change, or for `refreshTimeoutMs` from that start, before it presents the token.
//! - **Confirmed rejections only**: a refresh rejected while another context's refresh was in flight
//!   or had just rotated (possible only without the lock) waits for that one to land and is then no
//!   logout; only a rejection with no rotation elsewhere expires the session.
//! - **BroadcastChannel** `authflight:<refresh URL>`: `refreshed`, `expired` and `login` reach every
//!   other client at once, so their requests sent before a refresh replay without one, their
//!   session-expired listeners fire once, and a login anywhere re-enables refresh everywhere.
//!
//! The refresh itself uses `keepalive`, so a rotation the server performed still stores its cookies
//! when the page unloads mid-refresh. The cookies themselves are always consistent: the browser
//! stores the rotated pair before the refreshing tab sees the response, and a later refresh reads
//! them at send time. A stale marker read can therefore only cause one extra valid refresh.
//!
//! Worst case for a request waiting on another tab: `lockTimeoutMs` for the lock, as much again
//! for the fallback lock, then `refreshTimeoutMs` for a dead tab's rotation and its own refresh.

use crate::browser::io;
use crate::browser::refresh::Refresher;
use crate::engine::tabs::{self, Confirm, Marker, OnLock};
use crate::engine::{RefreshOutcome, Verdict};
use alloc::rc::Rc;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// A message between clients of the same refresh URL (its number on the channel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Message {
    Refreshed = 0,
    Expired = 1,
    Login = 2,
}

impl Message {
    /// The message numbered `k`, if there is one.
    pub fn from_number(k: u32) -> Option<Message> {
        match k {
            0 => Some(Message::Refreshed),
            1 => Some(Message::Expired),
            2 => Some(Message::Login),
            _ => None,
        }
    }
}

/// This client's link to the others: its `io` (lock names, channel, marker cookie) and its marker id.
#[derive(Debug)]
pub(crate) struct Tabs {
    io: JsValue,
    id: u32,
    lock_ms: u32,
}

impl Tabs {
    pub fn new(io: &JsValue) -> Tabs {
        let n = |k| io::num(io, k) as u32;
        Tabs { io: io.clone(), id: n(io::TAB_ID), lock_ms: n(io::LOCK_TIMEOUT_MS) }
    }

    /// Tells every other client.
    pub fn post(&self, message: Message) {
        io::post(&self.io, message as u32);
    }

    /// A refresh shared with every other context: see the module docs for the protocol.
    ///
    /// `since` is `performance.now()` when the request that triggered it was sent.
    pub async fn refresh(self: &Rc<Self>, refresher: &Rc<Refresher>, since: f64) -> RefreshOutcome<JsValue> {
        // Marker times are wall-clock (`Date.now()`), the one clock every tab shares, even after
        // the computer slept (a tab's `performance.now()` stops meanwhile).
        let since = now() - (io::now() - since);
        let mut release = self.acquire(false).await;
        let holds_main = release.is_some();
        if !holds_main {
            // The holder is stuck or slow (or there are no Web Locks): the tabs that gave up
            // together queue on a second lock, which a holder of the first never takes.
            release = self.acquire(true).await;
        }
        let outcome = self.refresh_holding(refresher, since, holds_main).await;
        if refresher.is_pending() {
            // Timed out but still in flight: keep the lock, and the marker at `f`, until the call
            // settles, so no other context presents the same refresh token meanwhile.
            let (tabs, refresher) = (self.clone(), refresher.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let start = now();
                while refresher.is_pending() {
                    tabs.write(tabs::IN_FLIGHT, now());
                    let settled = refresher.run().await;
                    if !refresher.is_pending() {
                        let settled = tabs.confirm(settled, start, &refresher).await;
                        tabs.record(&settled);
                    }
                }
                unlock(release);
            });
        } else {
            unlock(release);
        }
        outcome
    }

    async fn refresh_holding(
        &self,
        refresher: &Rc<Refresher>,
        since: f64,
        holds_main: bool,
    ) -> RefreshOutcome<JsValue> {
        let timeout_ms = refresher.timeout_ms;
        let pending = refresher.is_pending();
        let mut decision = tabs::on_lock(self.read(), self.id, pending, since);
        if let OnLock::WaitForLanding { started } = decision {
            let before = self.read().unwrap_or(Marker { state: tabs::IN_FLIGHT, time: started, tab: 0 });
            let after = self.wait_for_landing(started, timeout_ms).await;
            match tabs::after_landing(before, after, holds_main, since) {
                Some(d) => decision = d,
                None => return RefreshOutcome::Failed { status: None, cause: None },
            }
        }
        match decision {
            OnLock::Refreshed => return RefreshOutcome::Refreshed,
            OnLock::Expired => return RefreshOutcome::Expired { status: None },
            _ => {}
        }
        let start = now();
        if !pending {
            self.write(tabs::IN_FLIGHT, start);
        }
        let outcome = refresher.run().await;
        if refresher.is_pending() {
            return outcome;
        }
        let outcome = self.confirm(outcome, start, refresher).await;
        self.record(&outcome);
        outcome
    }

    /// Writes the marker for a settled refresh and tells the other clients.
    fn record(&self, outcome: &RefreshOutcome<JsValue>) {
        let (state, message) = tabs::record(outcome.verdict());
        self.write(state, now());
        if let Some(m) = message {
            io::post(&self.io, m);
        }
    }

    /// A new login here: older `r`/`x` markers no longer describe the session; tell the others.
    pub fn logged_in(&self) {
        self.write(tabs::NEUTRAL, now());
        self.post(Message::Login);
    }

    /// Waits while a refresh another context marked in flight at `started` may still land, at most
    /// `timeout_ms` from that start and from now; returns the marker then.
    async fn wait_for_landing(&self, started: f64, timeout_ms: u32) -> Option<Marker> {
        let deadline = tabs::landing_deadline(started, timeout_ms, now());
        loop {
            let m = self.read();
            if tabs::landed(m, started) || now() >= deadline {
                return m;
            }
            let _ = JsFuture::from(io::timeout(50)).await;
        }
    }

    /// A rejected refresh ends the session only if no other context rotated meanwhile (possible only
    /// without the lock): then its cookies are in place, or may still be landing, and this is no logout.
    async fn confirm(
        &self,
        outcome: RefreshOutcome<JsValue>,
        start: f64,
        refresher: &Refresher,
    ) -> RefreshOutcome<JsValue> {
        match tabs::confirm(outcome.verdict(), self.read(), self.id, start) {
            Confirm::Keep => outcome,
            Confirm::Refreshed => RefreshOutcome::Refreshed,
            Confirm::WaitForLanding { started } => {
                let landed = self.wait_for_landing(started, refresher.timeout_ms).await;
                match tabs::after_confirm(landed) {
                    Verdict::Refreshed => RefreshOutcome::Refreshed,
                    Verdict::Expired => outcome,
                    Verdict::Failed => RefreshOutcome::Failed { status: None, cause: None },
                }
            }
        }
    }

    /// The marker as it is now; `None` if absent, unparsable or from the future.
    fn read(&self) -> Option<Marker> {
        let state = io::marker(&self.io) as u8;
        Marker::read(state, io::marker_part(&self.io, 0), io::marker_part(&self.io, 1) as u32, now())
    }

    fn write(&self, state: u8, time: f64) {
        io::marker_write(&self.io, u32::from(state), time, self.id);
    }

    /// Waits for the (fallback) Web Lock for at most `lockTimeoutMs`; its release function, or `None`.
    async fn acquire(&self, fallback: bool) -> Option<JsValue> {
        let release = JsFuture::from(io::lock(&self.io, fallback, self.lock_ms)).await.ok()?;
        (!release.is_null()).then_some(release)
    }
}

/// Releases a Web Lock taken with `acquire` (if it was).
fn unlock(release: Option<JsValue>) {
    if let Some(r) = release {
        io::unlock(&r);
    }
}

/// Wall-clock epoch milliseconds, comparable across tabs.
fn now() -> f64 {
    io::wall()
}
