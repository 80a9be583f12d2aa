//! One refresh across every tab, window and client of the origin that share a refresh URL.
//!
//! # The protocol, and why it is safe
//! Three browser features, each with a fallback:
//! - **Web Locks** (`navigator.locks`): a tab calls the server only while it holds the lock
//!   `authflight:<refresh URL>`, so no two contexts present the same refresh token at once. Waiting
//!   for it is bounded by `lockTimeoutMs`, so a frozen tab, a double-mounted component or a
//!   hot-reloaded module holding it delays others by that much, never forever. Tabs that give up
//!   together then queue on a second lock (`...:fallback`), which a holder of the first never takes,
//!   so they still refresh one at a time, and none of them races a refresh another context still
//!   marks in flight. The lock is released when the refresh ends, a timed-out call or not (see
//!   below). Without Web Locks a tab goes on without a lock: the markers still catch most overlaps.
//! - **A marker cookie** `authflight_<hash of the refresh URL>=<state>:<time>:<client>` (not
//!   HttpOnly, holds no token): `f` a refresh is in flight, `r` one succeeded, `x` the session
//!   expired, `n` one failed or a login happened; `<time>` is `Date.now()`, the clock every tab
//!   shares (a tab's `performance.now()` stops while the computer sleeps). Cookie reads go through
//!   the browser's shared cookie store, so a tab that gets the lock sees what the previous holder
//!   wrote (localStorage can be read stale across tabs). Under the lock a tab reads it first: `r`/`x`
//!   newer than the request that triggered this refresh means another context already refreshed
//!   (replay) or found the session over (expire), and no call is made. Another context's `f` seen
//!   there belongs to one that gave up on the lock, froze or died mid-refresh (reload, close): its
//!   rotation may still be landing through `keepalive`, so the tab waits for the marker to change, or
//!   for `refreshTimeoutMs` from that start, within its own bound. If the wait ended by the bound
//!   while that refresh may still rotate, this refresh fails (`refresh_failed`); once it is older
//!   than `refreshTimeoutMs` its owner abandoned it, froze or died, and the tab calls the server
//!   (see "Timed-out calls").
//! - **BroadcastChannel** `authflight:<refresh URL>`: `refreshed`, `expired` and `login` reach every
//!   other client at once, so their requests sent before a refresh replay without one, their
//!   session-expired listeners fire once, and a login anywhere re-enables refresh everywhere. A
//!   `refreshed` heard while a refresh here waits (on the lock, or on another context's landing)
//!   ends it as refreshed at once: the other's cookies are in the jar.
//! - **Probes**: while a refresh here waits on others, every `PROBE_MS` one of its waiting
//!   body-less GET or HEAD requests sends itself again (the engine's `Transport::probe_turn`). The
//!   browser stores a rotation's cookies even when the tab that asked for it is frozen (a debugger,
//!   a long task, a throttled background tab), so an accepted probe proves the jar fresh: it is
//!   delivered, and the wait ends as if `refreshed` had been heard (marker `r`, and the message to
//!   the others). A probe that is not accepted is no news; each request probes once per wait. Safe:
//!   a probe presents no refresh token, only the access cookie a replay would send.
//! - **Confirmed rejections**: a rejection ends the session only if no other context rotated
//!   meanwhile (an `r` newer than the call, or an `f` younger than `refreshTimeoutMs` that then
//!   lands as `r`; possible only without the lock), and if one more call after `confirmDelayMs` is
//!   rejected too (a refresh view that authenticates the access cookie rejects for the second or so
//!   the browser still sends it after its `exp`; a rejected call rotated nothing, so this is safe).
//!   A rejection met while an abandoned call of this client is in flight is `refresh_failed`, never
//!   a logout: that call may have rotated the token this one presented.
//!
//! The refresh itself uses `keepalive`, so a rotation the server performed still stores its cookies
//! when the page unloads mid-refresh. The cookies themselves are always consistent: the browser
//! stores the rotated pair before the refreshing tab sees the response, and a later refresh reads
//! them at send time. A stale marker read can therefore only cause one extra valid refresh.
//!
//! # Timed-out calls: recovery first
//! A call that outlives `refreshTimeoutMs` (or the time its refresh has left) is abandoned: its
//! waiters get `refresh_failed`, the marker goes to `n`, the lock is released, and the next refresh
//! sends a new call. A late success still counts: requests sent before it replay, and the other
//! contexts get `r` and `refreshed`. Keeping the lock until a hung call settles would stall every
//! tab as long as the server hangs; the price is that a call that did rotate but answers later than
//! that can make the next call present a spent token (here: `refresh_failed`, by the rule above).
//!
//! # Worst case
//! Every refresh ends within `lockTimeoutMs` + `confirmDelayMs` + `refreshTimeoutMs` of its start
//! (3 + 1 + 10 s by default; without `crossTab`, no `lockTimeoutMs`), whatever happens to the lock,
//! other tabs or the calls: the lock waits, a landing wait, the calls and the confirmation each get
//! what is left of that, and a timer at the bound settles the refresh as `refresh_failed` (a
//! `TimeoutError`) should anything overrun. A request waits at most that long per refresh it meets,
//! and meets at most two (it is sent at most three times).

use crate::browser::io;
use crate::browser::refresh::{left, Refresher};
use crate::engine::outcome::{self, Setter};
use crate::engine::tabs::{self, Confirm, Marker, OnLock};
use crate::engine::{RefreshOutcome, Verdict};
use alloc::collections::VecDeque;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::convert::Infallible;
use core::future::Future;
use core::pin::pin;
use futures::future::{select, Either};
use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// How often a wait for another context's landing reads the marker, in ms.
const POLL_MS: u32 = 50;
/// How often a refresh that waits on others lets one waiting request probe the cookie jar, in ms.
const PROBE_MS: u32 = 300;

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

/// What ends a refresh's wait on other contexts early: a `refreshed` from one of them, or an
/// accepted probe.
#[derive(Debug)]
struct Watch {
    done: Cell<bool>,
    /// A probe found the jar fresh (news to pass on); a message alone only passes another's on.
    news: Cell<bool>,
    /// Resolves once done, so a lock request stops waiting (`io::lock` releases a late grant).
    stop: Promise,
    resolve: Option<Function>,
}

impl Watch {
    fn new() -> Watch {
        let mut resolve = None;
        let stop = Promise::new(&mut |r, _| resolve = Some(r));
        Watch { done: Cell::new(false), news: Cell::new(false), stop, resolve }
    }

    fn hit(&self, news: bool) {
        self.news.set(self.news.get() || news);
        self.done.set(true);
        if let Some(f) = &self.resolve {
            let _ = f.call0(&JsValue::UNDEFINED);
        }
    }
}

/// A Web Lock held (or not): released when dropped.
struct Lock(Option<JsValue>);

impl Drop for Lock {
    fn drop(&mut self) {
        if let Some(release) = self.0.take() {
            io::unlock(&release);
        }
    }
}

/// This client's link to the others: its `io` (lock names, channel, marker cookie), its marker id
/// and, for each refresh that waits on others, what ends that wait and who probes next.
pub(crate) struct Tabs {
    io: JsValue,
    id: u32,
    /// `lockTimeoutMs`.
    pub lock_ms: u32,
    /// `refreshTimeoutMs`.
    refresh_ms: u32,
    /// One refresh's at a time, but one that outran its bound may still wait.
    watches: RefCell<Vec<Rc<Watch>>>,
    /// The turns of the waiting requests that may probe, first come first served (`true`: go).
    probers: RefCell<VecDeque<Setter<bool>>>,
}

impl core::fmt::Debug for Tabs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Tabs").field("id", &self.id).field("watches", &self.watches).finish_non_exhaustive()
    }
}

impl Tabs {
    pub fn new(io: &JsValue) -> Tabs {
        let n = |k| io::num(io, k) as u32;
        Tabs {
            io: io.clone(),
            id: n(io::TAB_ID),
            lock_ms: n(io::LOCK_TIMEOUT_MS),
            refresh_ms: n(io::REFRESH_TIMEOUT_MS),
            watches: RefCell::new(Vec::new()),
            probers: RefCell::new(VecDeque::new()),
        }
    }

    /// Tells every other client.
    pub fn post(&self, message: Message) {
        io::post(&self.io, message as u32);
    }

    /// The cookie jar is fresh: a refresh here that waits on others ends as refreshed. `news`: a
    /// probe was accepted (the others are told, as after a refresh of our own); false: another
    /// context said it refreshed (echoing that would make every tab replay again for nothing).
    pub fn jar_fresh(&self, news: bool) {
        self.watches.borrow().iter().for_each(|w| w.hit(news));
    }

    /// A waiting request's turn to probe: resolves when the ticker of a refresh that waits on
    /// others picks it (never, if none does before the request stops waiting and drops it).
    pub fn probe_turn(&self) -> impl Future<Output = ()> + 'static {
        let (setter, turn) = outcome::channel(false);
        let mut probers = self.probers.borrow_mut();
        // Turns whose request stopped waiting are dropped here (or skipped by the ticker).
        probers.retain(Setter::has_waiter);
        probers.push_back(setter);
        async move {
            if !turn.await {
                futures::future::pending::<()>().await;
            }
        }
    }

    /// Every `PROBE_MS`, gives the next waiting request that may probe its turn; runs until dropped.
    async fn ticker(&self) -> Infallible {
        loop {
            let _ = JsFuture::from(io::timeout(PROBE_MS)).await;
            let next = {
                let mut probers = self.probers.borrow_mut();
                core::iter::from_fn(|| probers.pop_front()).find(Setter::has_waiter)
            };
            if let Some(turn) = next {
                turn.set(true);
            }
        }
    }

    /// A refresh shared with every other context, over by `end` (`io::now()` time): see the module
    /// docs for the protocol. `since` is `io::now()` when the request that triggered it was sent.
    pub async fn refresh(&self, refresher: &Rc<Refresher>, since: f64, end: f64) -> RefreshOutcome<JsValue> {
        // Marker times are wall-clock (`Date.now()`), the one clock every tab shares, even after
        // the computer slept (a tab's `performance.now()` stops meanwhile).
        let since = io::wall() - (io::now() - since);
        let watch = Rc::new(Watch::new());
        self.watches.borrow_mut().push(watch.clone());
        let waiting = async {
            let mut lock = self.acquire(false, self.lock_ms.min(left(end)), &watch).await;
            if lock.0.is_none() && !watch.done.get() {
                // The holder is stuck or slow (or there are no Web Locks): the tabs that gave up
                // together queue on a second lock, which a holder of the first never takes.
                lock = self.acquire(true, left(end), &watch).await;
            }
            let decision = if watch.done.get() {
                Some(OnLock::Refreshed)
            } else {
                self.holding(since, end, &watch).await
            };
            (lock, decision)
        };
        // While it waits on others, the waiting requests probe, one per tick.
        let (lock, decision) = match select(pin!(waiting), pin!(self.ticker())).await {
            Either::Left((waited, _)) => waited,
            Either::Right((never, _)) => match never {},
        };
        // From here on this client calls the server itself, or is done.
        self.watches.borrow_mut().retain(|w| !Rc::ptr_eq(w, &watch));
        if watch.done.get() {
            if watch.news.get() {
                // A probe found the jar fresh: say so to every other context, as a refresh would.
                self.record(&RefreshOutcome::Refreshed);
            }
            return RefreshOutcome::Refreshed;
        }
        let outcome = match decision {
            Some(OnLock::Go) => refresher.attempt(end, Some(self)).await,
            Some(OnLock::Refreshed) => RefreshOutcome::Refreshed,
            Some(OnLock::Expired) => RefreshOutcome::Expired { status: None },
            _ => RefreshOutcome::Failed { status: None, cause: None },
        };
        drop(lock);
        outcome
    }

    /// Under the lock (or after giving up on it): the decision before any call; `None` fails this
    /// refresh (another context's refresh is still marked in flight and may still rotate).
    async fn holding(&self, since: f64, end: f64, watch: &Watch) -> Option<OnLock> {
        let mut marker = self.read();
        let mut decision = tabs::on_lock(marker, self.id, since);
        if decision == OnLock::Go && io::no_locks(&self.io) {
            // No Web Locks: claim the refresh in the marker, let other tabs' claims land, decide again.
            self.write(tabs::IN_FLIGHT);
            let _ = JsFuture::from(io::timeout(tabs::CLAIM_SETTLE_MS)).await;
            if watch.done.get() {
                return Some(OnLock::Refreshed);
            }
            marker = self.read();
            decision = tabs::on_lock(marker, self.id, since);
        }
        match decision {
            OnLock::WaitForLanding { started } => {
                let before = marker.unwrap_or(Marker { state: tabs::IN_FLIGHT, time: started, tab: 0 });
                let after = self.landing(started, end, Some(watch)).await;
                if watch.done.get() {
                    return Some(OnLock::Refreshed);
                }
                tabs::after_landing(before, after, since, io::wall(), self.refresh_ms)
            }
            decision => Some(decision),
        }
    }

    /// Writes the marker for a settled refresh and tells the other clients.
    pub fn record(&self, outcome: &RefreshOutcome<JsValue>) {
        let (state, message) = tabs::record(outcome.verdict());
        self.write(state);
        if let Some(m) = message {
            io::post(&self.io, m);
        }
    }

    /// A new login here: older `r`/`x` markers no longer describe the session; tell the others.
    pub fn logged_in(&self) {
        self.write(tabs::NEUTRAL);
        self.post(Message::Login);
    }

    /// Waits while a refresh another context marked in flight at `started` may still land: at most
    /// `refreshTimeoutMs` from that start and from now, never past `end`, and not once `watch` is
    /// done. Returns the marker then.
    async fn landing(&self, started: f64, end: f64, watch: Option<&Watch>) -> Option<Marker> {
        let deadline = tabs::landing_deadline(started, self.refresh_ms, io::wall())
            .min(io::wall() + f64::from(left(end)));
        loop {
            let m = self.read();
            let now = io::wall();
            if tabs::landed(m, started) || now >= deadline || watch.is_some_and(|w| w.done.get()) {
                return m;
            }
            let _ = JsFuture::from(io::timeout(POLL_MS.min((deadline - now) as u32))).await;
        }
    }

    /// A rejected call (started at wall-clock `start`) ends the session only if no other context
    /// rotated meanwhile (possible only without the lock): then its cookies are in place, or may
    /// still be landing (waited for until `end` at most), and this is no logout.
    pub async fn confirm(
        &self,
        outcome: RefreshOutcome<JsValue>,
        start: f64,
        end: f64,
    ) -> RefreshOutcome<JsValue> {
        match tabs::confirm(outcome.verdict(), self.read(), self.id, start, io::wall(), self.refresh_ms) {
            Confirm::Keep => outcome,
            Confirm::Refreshed => RefreshOutcome::Refreshed,
            Confirm::WaitForLanding { started } => {
                match tabs::after_confirm(self.landing(started, end, None).await) {
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
        Marker::read(state, io::marker_part(&self.io, 0), io::marker_part(&self.io, 1) as u32, io::wall())
    }

    /// Writes the marker `state`, now, as this client.
    pub fn write(&self, state: u8) {
        io::marker_write(&self.io, u32::from(state), io::wall(), self.id);
    }

    /// Waits for the (fallback) Web Lock for at most `ms`, or until `watch` is done.
    async fn acquire(&self, fallback: bool, ms: u32, watch: &Watch) -> Lock {
        let release = JsFuture::from(io::lock(&self.io, fallback, ms, &watch.stop)).await.ok();
        Lock(release.filter(|r| !r.is_null()))
    }
}
