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

use crate::browser::global::{global_get, lock, performance_now, read_cookie, sleep};
use crate::browser::refresh::Refresher;
use crate::browser::settings::Settings;
use crate::engine::{RefreshOutcome, Verdict};
use alloc::rc::Rc;
use alloc::string::String;
use core::cell::RefCell;
use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::BroadcastChannel;

/// The `onmessage` handler of the channel.
type OnMessage = Closure<dyn Fn(web_sys::MessageEvent)>;

/// A message between clients of the same refresh URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Message {
    Refreshed,
    Expired,
    Login,
}

impl Message {
    fn as_str(self) -> &'static str {
        match self {
            Message::Refreshed => "refreshed",
            Message::Expired => "expired",
            Message::Login => "login",
        }
    }

    pub fn parse(s: &str) -> Option<Message> {
        match s {
            "refreshed" => Some(Message::Refreshed),
            "expired" => Some(Message::Expired),
            "login" => Some(Message::Login),
            _ => None,
        }
    }
}

/// This client's link to the others: the lock name, the channel, and its marker id.
#[derive(Debug)]
pub(crate) struct Tabs {
    name: String,
    /// The marker cookie's name: `authflight_` and a hash of the refresh URL.
    cookie: String,
    channel: Option<BroadcastChannel>,
    id: u32,
    /// Keeps `onmessage` alive as long as the channel.
    listener: RefCell<Option<OnMessage>>,
}

impl Tabs {
    pub fn new(settings: &Settings) -> Tabs {
        let mut name = String::from("authflight:");
        name.push_str(&settings.refresh_url);
        let channel = BroadcastChannel::new(&name).ok();
        let id = (js_sys::Math::random() * 4_294_967_295.0) as u32;
        let mut cookie = String::from("authflight_");
        push_hex(&mut cookie, fnv1a(settings.refresh_url.as_bytes()));
        Tabs { name, cookie, channel, id, listener: RefCell::new(None) }
    }

    /// Calls `on` for every message another client posts.
    pub fn listen(&self, on: impl Fn(Message) + 'static) {
        let Some(channel) = &self.channel else { return };
        let closure = OnMessage::new(move |e: web_sys::MessageEvent| {
            if let Some(m) = e.data().as_string().as_deref().and_then(Message::parse) {
                on(m);
            }
        });
        channel.set_onmessage(Some(closure.as_ref().unchecked_ref()));
        *self.listener.borrow_mut() = Some(closure);
    }

    /// Tells every other client.
    pub fn post(&self, message: Message) {
        if let Some(c) = &self.channel {
            let _ = c.post_message(&JsValue::from_str(message.as_str()));
        }
    }

    /// A refresh shared with every other context: see the module docs for the protocol.
    ///
    /// `since` is `performance.now()` when the request that triggered it was sent.
    pub async fn refresh(self: &Rc<Self>, refresher: &Rc<Refresher>, since: f64) -> RefreshOutcome<JsValue> {
        // Marker times are wall-clock (`Date.now()`), the one clock every tab shares, even after
        // the computer slept (a tab's `performance.now()` stops meanwhile).
        let since = now() - (performance_now() - since);
        let lock_ms = refresher.settings.config.lock_timeout_ms;
        let mut release = acquire(&self.name, lock_ms).await;
        let holds_main = release.is_some();
        if !holds_main {
            // The holder is stuck or slow (or there are no Web Locks): the tabs that gave up
            // together queue on a second lock, which a holder of the first never takes.
            let mut fallback = self.name.clone();
            fallback.push_str(":fallback");
            release = acquire(&fallback, lock_ms).await;
        }
        let outcome = self.refresh_holding(refresher, since, holds_main).await;
        if refresher.is_pending() {
            // Timed out but still in flight: keep the lock, and the marker at `f`, until the call
            // settles, so no other context presents the same refresh token meanwhile.
            let (tabs, refresher) = (self.clone(), refresher.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let start = now();
                while refresher.is_pending() {
                    tabs.write(b'f', now());
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
        let timeout_ms = refresher.settings.config.refresh_timeout_ms;
        let mut marker = self.read();
        if let Some(Marker { state: b'f', time, tab }) = marker {
            if tab != self.id && !refresher.is_pending() {
                marker = self.wait_for_landing(time, timeout_ms).await;
                let still_in_flight = matches!(marker, Some(Marker { state: b'f', tab: t, .. }) if t == tab);
                if still_in_flight && !holds_main {
                    // Its owner may be alive (it may hold the lock we gave up on): never race it.
                    return RefreshOutcome::Failed { status: None, cause: None };
                }
            }
        }
        match marker {
            Some(Marker { state: b'r', time, .. }) if time > since => return RefreshOutcome::Refreshed,
            Some(Marker { state: b'x', time, .. }) if time > since => {
                return RefreshOutcome::Expired { status: None }
            }
            _ => {}
        }
        let start = now();
        if !refresher.is_pending() {
            self.write(b'f', start);
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
        let (state, message) = match outcome.verdict() {
            Verdict::Refreshed => (b'r', Some(Message::Refreshed)),
            Verdict::Expired => (b'x', Some(Message::Expired)),
            Verdict::Failed => (b'n', None),
        };
        self.write(state, now());
        if let Some(m) = message {
            self.post(m);
        }
    }

    /// A new login here: older `r`/`x` markers no longer describe the session; tell the others.
    pub fn logged_in(&self) {
        self.write(b'n', now());
        self.post(Message::Login);
    }

    /// Waits while a refresh another context marked in flight at `started` may still land, at most
    /// `timeout_ms` from that start and from now; returns the marker then.
    async fn wait_for_landing(&self, started: f64, timeout_ms: u32) -> Option<Marker> {
        let (t, from) = (f64::from(timeout_ms), now());
        // Between now and `t` from now, whatever the other tab's clock said (not `clamp`: its
        // assertion message would bring float formatting into the wasm).
        let deadline = (started + t).max(from).min(from + t);
        loop {
            let m = self.read();
            let still_in_flight = matches!(m, Some(Marker { state: b'f', time, .. }) if time >= started);
            if !still_in_flight || now() >= deadline {
                return m;
            }
            let _ = JsFuture::from(sleep(50)).await;
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
        if outcome.verdict() != Verdict::Expired {
            return outcome;
        }
        match self.read() {
            Some(Marker { state: b'r', time, tab }) if tab != self.id && time >= start => {
                RefreshOutcome::Refreshed
            }
            Some(Marker { state: b'f', time, tab }) if tab != self.id => {
                match self.wait_for_landing(time, refresher.settings.config.refresh_timeout_ms).await {
                    Some(Marker { state: b'r', .. }) => RefreshOutcome::Refreshed,
                    Some(Marker { state: b'x', .. }) => outcome,
                    _ => RefreshOutcome::Failed { status: None, cause: None },
                }
            }
            _ => outcome,
        }
    }

    fn read(&self) -> Option<Marker> {
        Marker::parse(&read_cookie(&self.cookie)?)
    }

    fn write(&self, state: u8, time: f64) {
        let document = global_get("document");
        if !document.is_object() {
            return;
        }
        let mut v = self.cookie.clone();
        v.push('=');
        v.push(state as char);
        v.push(':');
        push_decimal(&mut v, time as u64);
        v.push(':');
        push_decimal(&mut v, u64::from(self.id));
        v.push_str("; path=/; max-age=86400; samesite=lax");
        let _ = Reflect::set(&document, &JsValue::from_str("cookie"), &JsValue::from_str(&v));
    }
}

impl Drop for Tabs {
    fn drop(&mut self) {
        if let Some(c) = &self.channel {
            c.set_onmessage(None);
            c.close();
        }
    }
}

/// Appends `n` in decimal (without the formatting machinery, which costs kilobytes of wasm).
fn push_decimal(out: &mut String, n: u64) {
    if n >= 10 {
        push_decimal(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// Waits for Web Lock `name` for at most `ms`; its release function, or `None`.
async fn acquire(name: &str, ms: u32) -> Option<Function> {
    JsFuture::from(lock(name, ms)).await.ok()?.dyn_into::<Function>().ok()
}

/// Releases a Web Lock taken with `lock` (if it was).
fn unlock(release: Option<Function>) {
    if let Some(r) = release {
        let _ = r.call0(&JsValue::UNDEFINED);
    }
}

/// Wall-clock epoch milliseconds, comparable across tabs.
fn now() -> f64 {
    js_sys::Date::now()
}

/// 32-bit FNV-1a: a short, stable name for a refresh URL.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h, b| (h ^ u32::from(*b)).wrapping_mul(0x0100_0193))
}

/// Appends `n` as 8 lowercase hex digits.
fn push_hex(out: &mut String, n: u32) {
    for shift in (0..8).rev() {
        let d = ((n >> (shift * 4)) & 0xf) as u8;
        out.push(char::from(if d < 10 { b'0' + d } else { b'a' + d - 10 }));
    }
}

/// The parsed marker cookie.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Marker {
    state: u8,
    time: f64,
    tab: u32,
}

impl Marker {
    fn parse(v: &str) -> Option<Marker> {
        let mut parts = v.split(':');
        let state = *parts.next()?.as_bytes().first()?;
        let time = parts.next()?.parse::<u64>().ok()? as f64;
        let tab = parts.next()?.parse().ok()?;
        Some(Marker { state, time, tab })
    }
}
