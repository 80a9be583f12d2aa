//! One refresh across every tab, window and client of the origin that share a refresh URL.
//!
//! # The protocol, and why it is safe
//! Three browser features, each with a fallback:
//! - **Web Locks** (`navigator.locks`): a tab refreshes only while it holds the lock
//!   `authflight:<refresh URL>`, so no two contexts present the same refresh token at once. The wait
//!   is bounded by `lockTimeoutMs`: a frozen tab, a double-mounted component or a hot-reloaded module
//!   that holds the lock forever delays others by at most that, never forever. Tabs that give up
//!   together then queue on a second lock (`...:fallback`), which a stuck holder of the first never
//!   takes, so they still refresh one at a time. Without Web Locks the tab goes on without a lock:
//!   the markers below still catch most overlaps.
//! - **A marker cookie** `authflight_refresh=<state>:<time>:<tab>` (not HttpOnly, holds no token):
//!   `f` a refresh is in flight, `r` one succeeded, `x` the session expired, `n` one failed; `<time>`
//!   is epoch milliseconds. Cookie reads go through the browser's shared cookie store, so a tab that
//!   gets the lock sees what the previous holder wrote (localStorage can be read stale across tabs).
//!   Under the lock a tab reads it first: `r`/`x` newer than the request that triggered this refresh
//!   means another context already refreshed (replay) or found the session over (expire) — no call.
//!   An `f` seen while holding the lock belongs to a context that died mid-refresh (reload, close):
//!   its rotation may still be landing through `keepalive`, so the tab waits for the marker to change
//!   or for `refreshTimeoutMs` from that start before it refreshes, and never presents the old token
//!   while the rotation could still land.
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
//! them at send time. A stale marker can therefore only cause one extra valid refresh, never a reuse.

use crate::browser::global::{epoch_origin, global_get, lock, performance_now, read_cookie, sleep};
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

const COOKIE: &str = "authflight_refresh";

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
        Tabs { name, channel, id, listener: RefCell::new(None) }
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
    pub async fn refresh(self: &Rc<Self>, refresher: &Rc<Refresher>, since: f64) -> RefreshOutcome<JsValue> {
        let since = epoch_origin() + since;
        let lock_ms = refresher.settings.config.lock_timeout_ms;
        let mut release = acquire(&self.name, lock_ms).await;
        if release.is_none() {
            // The holder is stuck (or there are no Web Locks): the tabs that gave up together queue
            // on a second lock, which a stuck holder of the first never takes.
            let mut fallback = self.name.clone();
            fallback.push_str(":fallback");
            release = acquire(&fallback, lock_ms).await;
        }
        let outcome = self.refresh_holding(refresher, since).await;
        if refresher.is_pending() {
            // Timed out but still in flight: keep the lock, and the marker at `f`, until the call
            // settles, so no other context presents the same refresh token meanwhile.
            let (tabs, refresher) = (self.clone(), refresher.clone());
            wasm_bindgen_futures::spawn_local(async move {
                while refresher.is_pending() {
                    let settled = refresher.run().await;
                    if !refresher.is_pending() {
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

    async fn refresh_holding(&self, refresher: &Refresher, since: f64) -> RefreshOutcome<JsValue> {
        let mut marker = Marker::read();
        if let Some(Marker { state: b'f', time, tab }) = marker {
            if tab != self.id && !refresher.is_pending() {
                marker = self.wait_for_landing(time, refresher.settings.config.refresh_timeout_ms).await;
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
        let outcome = match outcome.verdict() {
            Verdict::Expired => self.confirm_rejection(outcome, start, refresher).await,
            _ => outcome,
        };
        if !refresher.is_pending() {
            self.record(&outcome);
        }
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

    /// Waits while a refresh another context started at `started` may still land; returns the marker then.
    async fn wait_for_landing(&self, started: f64, timeout_ms: u32) -> Option<Marker> {
        let deadline = started + f64::from(timeout_ms);
        loop {
            let m = Marker::read();
            let still_in_flight = matches!(m, Some(Marker { state: b'f', time, .. }) if time == started);
            if !still_in_flight || now() >= deadline {
                return m;
            }
            let _ = JsFuture::from(sleep(50)).await;
        }
    }

    /// A rejected refresh ends the session only if no other context rotated meanwhile (possible only
    /// without the lock): then its cookies are in place, or may still be landing, and this is no logout.
    async fn confirm_rejection(
        &self,
        rejected: RefreshOutcome<JsValue>,
        start: f64,
        refresher: &Refresher,
    ) -> RefreshOutcome<JsValue> {
        match Marker::read() {
            Some(Marker { state: b'r', time, tab }) if tab != self.id && time >= start => {
                RefreshOutcome::Refreshed
            }
            Some(Marker { state: b'f', time, tab }) if tab != self.id => {
                match self.wait_for_landing(time, refresher.settings.config.refresh_timeout_ms).await {
                    Some(Marker { state: b'r', .. }) => RefreshOutcome::Refreshed,
                    Some(Marker { state: b'x', .. }) => rejected,
                    _ => RefreshOutcome::Failed { status: None, cause: None },
                }
            }
            _ => rejected,
        }
    }

    fn write(&self, state: u8, time: f64) {
        let document = global_get("document");
        if !document.is_object() {
            return;
        }
        let mut v = String::from(COOKIE);
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

/// Epoch milliseconds, comparable across tabs.
fn now() -> f64 {
    epoch_origin() + performance_now()
}

/// The parsed marker cookie.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Marker {
    state: u8,
    time: f64,
    tab: u32,
}

impl Marker {
    fn read() -> Option<Marker> {
        let v = read_cookie(COOKIE)?;
        let mut parts = v.split(':');
        let state = *parts.next()?.as_bytes().first()?;
        let time = parts.next()?.parse::<u64>().ok()? as f64;
        let tab = parts.next()?.parse().ok()?;
        Some(Marker { state, time, tab })
    }
}
