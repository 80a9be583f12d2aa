//! The pure core: single-flight refresh, generations, replay, the cap, expiry and the cross-tab
//! protocol's decisions.
//!
//! Nothing here knows about the browser. [`Session`] makes every decision as a plain synchronous
//! call; [`Engine`] drives it with Rust futures over any [`Transport`] (the crate's browser layer,
//! or native tests in memory), and the npm package drives the same `Session` from JavaScript.
//!
//! # The protocol
//! 1. A request records the current *generation* and is sent as is (access token first).
//! 2. If its response has an auth status, the single-flight state decides: replay at once when a refresh
//!    succeeded since it was sent; fail fast when the session is known to be over; otherwise join
//!    the refresh in flight, or start one. The refresh runs in a spawned task, so an aborted
//!    waiter never cancels it, and every waiter shares its one outcome.
//! 3. After a successful refresh each waiter is replayed exactly once, from a copy made before the
//!    first send. A replay that fails auth again rejects with `unauthorized`: never a loop.
//! 4. While a refresh waits on another tab, a waiting request the transport picks may *probe*: sent
//!    once more, outside the cap; if accepted, the cookie jar was fresh already, so it is delivered
//!    and the refresh ends as refreshed without a call ([`Transport::probe_turn`]).

mod events;
mod flight;
pub(crate) mod outcome;
pub mod session;
pub mod tabs;
mod transport;

pub use events::{Event, EventKind, Listeners, Stats};
pub use session::{Answer, Enter, Session};
pub use transport::{RefreshOutcome, Transport, Verdict};

use crate::error::AuthError;
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use futures::future::{select, Either};
use futures::FutureExt;

/// Receives the engine's events. Called synchronously; it must not block.
pub trait Observer: 'static {
    /// Whether anyone listens; when `false` no event is built.
    fn enabled(&self) -> bool {
        true
    }
    /// Handles one event.
    fn event(&self, event: &Event);
}

type Waiter<C> = outcome::Outcome<RefreshOutcome<C>>;

/// The single-flight refresh engine over a [`Transport`]: an async driver over a [`Session`], which
/// makes every decision (the npm package drives the same `Session` from JavaScript). Cloning shares
/// the same state.
pub struct Engine<T: Transport> {
    inner: Rc<Inner<T>>,
}

struct Inner<T: Transport> {
    transport: T,
    session: RefCell<Session>,
    /// The refresh in flight: its number and the outcome its waiters share.
    refresh: RefCell<Option<(u32, Waiter<T::Cause>)>>,
    /// Requests held by the cap: their tickets and what wakes them.
    holds: RefCell<Vec<(u32, outcome::Setter<()>)>>,
    observer: Option<Box<dyn Observer>>,
}

/// A place in flight, freed when the send it was taken for ends (or its future is dropped).
struct Place<'a, T: Transport>(&'a Engine<T>);

impl<T: Transport> Drop for Place<'_, T> {
    fn drop(&mut self) {
        self.0.inner.session.borrow_mut().leave();
        self.0.wake();
    }
}

impl<T: Transport> core::fmt::Debug for Engine<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine").field("stats", &self.stats()).finish_non_exhaustive()
    }
}

/// A handle to an [`Engine`] that does not keep it alive (for callbacks the engine's owner holds).
pub struct WeakEngine<T: Transport>(alloc::rc::Weak<Inner<T>>);

impl<T: Transport> WeakEngine<T> {
    /// The engine, if it still exists.
    pub fn upgrade(&self) -> Option<Engine<T>> {
        self.0.upgrade().map(|inner| Engine { inner })
    }
}

impl<T: Transport> core::fmt::Debug for WeakEngine<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("WeakEngine")
    }
}

impl<T: Transport> Clone for Engine<T> {
    fn clone(&self) -> Self {
        Engine { inner: self.inner.clone() }
    }
}

impl<T: Transport> Engine<T> {
    /// An engine that treats `auth_statuses` (e.g. `[401]`) as "access token not accepted".
    pub fn new(transport: T, auth_statuses: Vec<u16>, observer: Option<Box<dyn Observer>>) -> Self {
        Engine {
            inner: Rc::new(Inner {
                transport,
                session: RefCell::new(Session::new(auth_statuses, 0)),
                refresh: RefCell::new(None),
                holds: RefCell::new(Vec::new()),
                observer,
            }),
        }
    }

    /// Caps the requests in flight at `max` and holds new ones back while a refresh runs (off: `None`).
    /// See `maxConcurrent` in the README: worth it over HTTP/1.1, a brake over HTTP/2.
    pub fn set_max_concurrent(&self, max: Option<u32>) {
        self.inner.session.borrow_mut().set_max(max.unwrap_or(0));
    }

    /// A handle that does not keep this engine alive.
    pub fn downgrade(&self) -> WeakEngine<T> {
        WeakEngine(Rc::downgrade(&self.inner))
    }

    /// The transport this engine drives.
    pub fn transport(&self) -> &T {
        &self.inner.transport
    }

    /// Sends `req`; on an auth failure waits for the one shared refresh and replays it once.
    pub async fn fetch(&self, req: T::Request) -> Result<T::Response, AuthError<T::Cause>> {
        let id = self.inner.session.borrow_mut().begin();
        let result = self.run(id, req).await;
        let (status, error) = match &result {
            Ok(res) => (Some(self.inner.transport.status(res)), None),
            Err(e) => (e.status(), Some(e.code())),
        };
        self.emit(id, EventKind::Settled { status, error });
        result
    }

    async fn run(&self, id: u32, req: T::Request) -> Result<T::Response, AuthError<T::Cause>> {
        let transport = &self.inner.transport;
        let spare = transport.duplicate(&req)?;
        let mut next = Some(req);
        // Sends so far, and refreshes this request's replays started.
        let (mut sends, mut starts) = (0, 0);
        loop {
            let place = self.enter(&spare).await?;
            let generation = self.inner.session.borrow().generation();
            let sent_at = transport.now();
            // The original first; each replay from a fresh copy of the spare.
            let req = match next.take() {
                Some(req) => {
                    self.emit_at(id, EventKind::Sent, sent_at);
                    req
                }
                None => {
                    self.inner.session.borrow_mut().replayed();
                    self.emit(id, EventKind::Replayed);
                    transport.duplicate(&spare)?
                }
            };
            sends += 1;
            let res = transport.send(req).await;
            drop(place);
            let res = res?;
            let status = transport.status(&res);
            let handled = transport.is_handled(&res);
            let answer = self.inner.session.borrow_mut().answer(generation, status, handled, sends, starts);
            if answer == Answer::Deliver {
                return Ok(res);
            }
            self.emit(id, EventKind::AuthFailure { status });
            transport.discard(res);
            let n = match answer {
                Answer::Expired => return Err(AuthError::SessionExpired { status: None }),
                Answer::Unauthorized => return Err(AuthError::Unauthorized { status }),
                Answer::Start(n) => {
                    if sends > 1 {
                        starts += 1;
                    }
                    self.start_refresh(n, id, sent_at);
                    n
                }
                Answer::Wait(n) => n,
                _ => continue,
            };
            self.emit(id, EventKind::Queued { refresh: n });
            if let Some(res) = self.wait(n, id, &spare).await? {
                return Ok(res);
            }
        }
    }

    /// Waits for refresh `n` to end: `Ok(None)` once it refreshed (replay), `Some` a probe's
    /// response to deliver. While it waits, `spare` may probe once, when the transport gives it a
    /// turn (see [`Transport::probe_turn`]).
    async fn wait(
        &self,
        n: u32,
        id: u32,
        spare: &T::Request,
    ) -> Result<Option<T::Response>, AuthError<T::Cause>> {
        let transport = &self.inner.transport;
        let mut ended = select(self.waiter(n), transport.aborted(spare));
        let ended = match transport.probe_turn(spare) {
            None => ended.await,
            Some(turn) => match select(&mut ended, turn).await {
                Either::Left((ended, _)) => ended,
                Either::Right(_) => match self.probe(id, spare).await {
                    Some(res) => return Ok(Some(res)),
                    // No news: wait on, with no second turn.
                    None => ended.await,
                },
            },
        };
        match ended {
            Either::Left((RefreshOutcome::Refreshed, _)) => Ok(None),
            Either::Left((RefreshOutcome::Expired { status }, _)) => {
                Err(AuthError::SessionExpired { status })
            }
            Either::Left((RefreshOutcome::Failed { status, cause }, _)) => {
                Err(AuthError::RefreshFailed { status, cause })
            }
            Either::Right(_) => Err(AuthError::Aborted),
        }
    }

    /// Sends a copy of `spare` while its refresh waits on another tab. If it is accepted (see
    /// [`Session::probe_accepted`]), the cookie jar is fresh already: it counts as the request's replay, is
    /// returned for delivery, and the transport ends the refresh as refreshed. A network error, an
    /// abort or any other answer is no news (`None`).
    async fn probe(&self, id: u32, spare: &T::Request) -> Option<T::Response> {
        let transport = &self.inner.transport;
        let res = transport.send(transport.duplicate(spare).ok()?).await.ok()?;
        if !self.inner.session.borrow().probe_accepted(transport.status(&res), transport.is_handled(&res)) {
            transport.discard(res);
            return None;
        }
        self.inner.session.borrow_mut().replayed();
        self.emit(id, EventKind::Replayed);
        transport.probed();
        Some(res)
    }

    /// Waits until the session lets a request be sent: with a cap, for a place in flight, and while
    /// a refresh runs, for its end.
    async fn enter(&self, spare: &T::Request) -> Result<Place<'_, T>, AuthError<T::Cause>> {
        loop {
            let enter = self.inner.session.borrow_mut().enter();
            self.wake();
            let (ticket, wait) = match enter {
                Enter::Go => return Ok(Place(self)),
                Enter::Refresh(n) => (0, self.waiter(n).map(|_| ()).left_future()),
                Enter::Hold(t) => {
                    let (setter, waiter) = outcome::channel(());
                    self.inner.holds.borrow_mut().push((t, setter));
                    (t, waiter.right_future())
                }
            };
            if let Either::Right(_) = select(wait, self.inner.transport.aborted(spare)).await {
                self.inner.holds.borrow_mut().retain(|(t, _)| *t != ticket || ticket == 0);
                self.inner.session.borrow_mut().cancel(ticket);
                self.wake();
                return Err(AuthError::Aborted);
            }
        }
    }

    /// Wakes every held request the session lets go on; one whose future was dropped passes its
    /// turn to the next.
    fn wake(&self) {
        loop {
            let ticket = self.inner.session.borrow_mut().woken();
            if ticket == 0 {
                return;
            }
            let setter = {
                let mut holds = self.inner.holds.borrow_mut();
                holds.iter().position(|(t, _)| *t == ticket).map(|i| holds.swap_remove(i).1)
            };
            match setter {
                Some(s) if s.has_waiter() => s.set(()),
                _ => self.inner.session.borrow_mut().cancel(ticket),
            }
        }
    }

    /// The outcome of refresh `n`, shared by all its waiters.
    fn waiter(&self, n: u32) -> Waiter<T::Cause> {
        match &*self.inner.refresh.borrow() {
            Some((m, w)) if *m == n => w.clone(),
            _ => outcome::channel(RefreshOutcome::Failed { status: None, cause: None }).1,
        }
    }

    /// Starts refresh `number` in its own task, so an aborted waiter never cancels it.
    fn start_refresh(&self, number: u32, id: u32, since: f64) {
        let (setter, waiter) = outcome::channel(RefreshOutcome::Failed { status: None, cause: None });
        *self.inner.refresh.borrow_mut() = Some((number, waiter));
        self.emit(id, EventKind::RefreshStarted { refresh: number });
        let engine = self.clone();
        let call = self.inner.transport.refresh(since);
        self.inner.transport.spawn(Box::pin(async move {
            let outcome = call.await;
            let outcome = match engine.finish_refresh(number, id, outcome.verdict()) {
                Verdict::Refreshed => RefreshOutcome::Refreshed,
                _ => outcome,
            };
            setter.set(outcome);
        }));
    }

    /// Records how refresh `number` ended; returns the verdict its waiters act on.
    fn finish_refresh(&self, number: u32, id: u32, verdict: Verdict) -> Verdict {
        let (effective, expired_now) = self.inner.session.borrow_mut().ended(verdict);
        self.inner.refresh.borrow_mut().take();
        self.emit(id, EventKind::RefreshEnded { refresh: number, outcome: verdict });
        if expired_now {
            self.emit(0, EventKind::SessionExpired);
        }
        effective
    }

    /// Reports a successful login: refresh handling resumes after a session expiry.
    pub fn mark_logged_in(&self) {
        self.inner.session.borrow_mut().logged_in();
        self.emit(0, EventKind::LoggedIn);
    }

    /// Another tab or client refreshed: auth failures of requests sent before now replay at once.
    pub fn note_refreshed_elsewhere(&self) {
        self.inner.session.borrow_mut().refreshed_elsewhere();
    }

    /// Another tab found the session expired; fires `SessionExpired` here unless already known.
    pub fn note_expired_elsewhere(&self) {
        if self.inner.session.borrow_mut().expired_elsewhere() {
            self.emit(0, EventKind::SessionExpired);
        }
    }

    /// Whether the session is known to be over (until the next login).
    pub fn is_expired(&self) -> bool {
        self.inner.session.borrow().is_expired()
    }

    /// Counts since this engine was built.
    pub fn stats(&self) -> Stats {
        self.inner.session.borrow().stats()
    }

    fn emit(&self, request: u32, kind: EventKind) {
        if let Some(o) = self.inner.observer.as_deref().filter(|o| o.enabled()) {
            o.event(&Event { kind, request, time: self.inner.transport.now() });
        }
    }

    fn emit_at(&self, request: u32, kind: EventKind, time: f64) {
        if let Some(o) = self.inner.observer.as_deref().filter(|o| o.enabled()) {
            o.event(&Event { kind, request, time });
        }
    }
}
