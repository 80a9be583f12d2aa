//! The pure core: single-flight refresh, generations, replay and error classification.
//!
//! Nothing here knows about the browser. [`Engine`] drives any [`Transport`]; the browser
//! layer implements it over `fetch`, and native tests implement it in memory.
//!
//! # The protocol
//! 1. A request records the current *generation* and is sent as is (access token first).
//! 2. If its response has an auth status, the single-flight state decides: replay at once when a refresh
//!    succeeded since it was sent; fail fast when the session is known to be over; otherwise join
//!    the refresh in flight, or start one. The refresh runs in a spawned task, so an aborted
//!    waiter never cancels it, and every waiter shares its one outcome.
//! 3. After a successful refresh each waiter is replayed exactly once, from a copy made before the
//!    first send. A replay that fails auth again rejects with `unauthorized`: never a loop.

mod events;
mod flight;
mod gate;
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
use core::cell::{Cell, RefCell};
use events::Counters;
use flight::{Flight, Ticket};
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

/// The single-flight refresh engine over a [`Transport`]. Cloning shares the same state.
pub struct Engine<T: Transport> {
    inner: Rc<Inner<T>>,
}

struct Inner<T: Transport> {
    transport: T,
    auth_statuses: Vec<u16>,
    flight: RefCell<Flight<Waiter<T::Cause>>>,
    gate: Rc<gate::Gate>,
    counters: Counters,
    last_request: Cell<u32>,
    observer: Option<Box<dyn Observer>>,
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
                auth_statuses,
                flight: RefCell::new(Flight::new()),
                gate: Rc::default(),
                counters: Counters::default(),
                last_request: Cell::new(0),
                observer,
            }),
        }
    }

    /// Caps the requests in flight at `max` and holds new ones back while a refresh runs (off: `None`).
    /// See `maxConcurrent` in the README: worth it over HTTP/1.1, a brake over HTTP/2.
    pub fn set_max_concurrent(&self, max: Option<u32>) {
        self.inner.gate.set_max(max);
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
        let id = self.inner.last_request.get().wrapping_add(1).max(1);
        self.inner.last_request.set(id);
        Counters::bump(&self.inner.counters.requests);
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
        let permit = self.enter(&spare).await?;
        let generation = self.inner.flight.borrow().generation();
        let sent_at = transport.now();
        self.emit_at(id, EventKind::Sent, sent_at);
        let res = transport.send(req).await;
        drop(permit);
        let res = res?;
        let status = transport.status(&res);
        if !self.is_auth_status(status) || !transport.is_handled(&res) {
            return Ok(res);
        }
        self.emit(id, EventKind::AuthFailure { status });
        transport.discard(res);
        self.wait_for_refresh(id, generation, sent_at, &spare).await?;
        let permit = self.enter(&spare).await?;
        Counters::bump(&self.inner.counters.replayed);
        self.emit(id, EventKind::Replayed);
        let res = transport.send(spare).await;
        drop(permit);
        let res = res?;
        let status = transport.status(&res);
        if self.is_auth_status(status) {
            return Err(AuthError::Unauthorized { status });
        }
        Ok(res)
    }

    /// With a cap set: waits for a place in flight, and while a refresh runs, for its end.
    async fn enter(&self, spare: &T::Request) -> Result<Option<gate::Permit>, AuthError<T::Cause>> {
        let gate = &self.inner.gate;
        if gate.max().is_none() {
            return Ok(None);
        }
        loop {
            let refresh = self.inner.flight.borrow().in_flight();
            let wait = match refresh {
                Some(refresh) => {
                    // Hand our turn on: everyone queued goes to wait on the refresh too.
                    gate.wake_next();
                    refresh.map(|_| ()).left_future()
                }
                None => match gate.try_enter() {
                    Ok(permit) => return Ok(Some(permit)),
                    Err(queued) => queued.right_future(),
                },
            };
            if let Either::Right(_) = select(wait, self.inner.transport.aborted(spare)).await {
                gate.wake_next();
                return Err(AuthError::Aborted);
            }
        }
    }

    async fn wait_for_refresh(
        &self,
        id: u32,
        generation: u64,
        sent_at: f64,
        spare: &T::Request,
    ) -> Result<(), AuthError<T::Cause>> {
        let ticket = self.inner.flight.borrow_mut().on_auth_failure(generation);
        let (refresh, waiter) = match ticket {
            Ticket::Replay => return Ok(()),
            Ticket::Expired => return Err(AuthError::SessionExpired { status: None }),
            Ticket::Join(n, waiter) => (n, waiter),
            Ticket::Start(n) => (n, self.start_refresh(n, id, sent_at)),
        };
        Counters::bump(&self.inner.counters.queued);
        self.emit(id, EventKind::Queued { refresh });
        match select(waiter, self.inner.transport.aborted(spare)).await {
            Either::Left((RefreshOutcome::Refreshed, _)) => Ok(()),
            Either::Left((RefreshOutcome::Expired { status }, _)) => {
                Err(AuthError::SessionExpired { status })
            }
            Either::Left((RefreshOutcome::Failed { status, cause }, _)) => {
                Err(AuthError::RefreshFailed { status, cause })
            }
            Either::Right(_) => Err(AuthError::Aborted),
        }
    }

    /// Starts refresh `number` in its own task and returns the future every waiter shares.
    fn start_refresh(&self, number: u32, id: u32, since: f64) -> Waiter<T::Cause> {
        let (setter, waiter) = outcome::channel(RefreshOutcome::Failed { status: None, cause: None });
        self.inner.flight.borrow_mut().started(number, waiter.clone());
        Counters::bump(&self.inner.counters.refreshes_started);
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
        waiter
    }

    /// Records how refresh `number` ended; returns the verdict its waiters act on.
    fn finish_refresh(&self, number: u32, id: u32, verdict: Verdict) -> Verdict {
        let c = &self.inner.counters;
        let (effective, expired_now) = self.inner.flight.borrow_mut().finish(verdict);
        Counters::bump(if verdict == Verdict::Refreshed {
            &c.refreshes_succeeded
        } else {
            &c.refreshes_failed
        });
        self.emit(id, EventKind::RefreshEnded { refresh: number, outcome: verdict });
        if expired_now {
            Counters::bump(&c.sessions_expired);
            self.emit(0, EventKind::SessionExpired);
        }
        effective
    }

    /// Reports a successful login: refresh handling resumes after a session expiry.
    pub fn mark_logged_in(&self) {
        self.inner.flight.borrow_mut().logged_in();
        self.emit(0, EventKind::LoggedIn);
    }

    /// Another tab or client refreshed: auth failures of requests sent before now replay at once.
    pub fn note_refreshed_elsewhere(&self) {
        self.inner.flight.borrow_mut().refreshed_elsewhere();
    }

    /// Another tab found the session expired; fires `SessionExpired` here unless already known.
    pub fn note_expired_elsewhere(&self) {
        if self.inner.flight.borrow_mut().expired_elsewhere() {
            Counters::bump(&self.inner.counters.sessions_expired);
            self.emit(0, EventKind::SessionExpired);
        }
    }

    /// Whether the session is known to be over (until the next login).
    pub fn is_expired(&self) -> bool {
        self.inner.flight.borrow().is_expired()
    }

    /// Counts since this engine was built.
    pub fn stats(&self) -> Stats {
        self.inner.counters.snapshot()
    }

    fn is_auth_status(&self, status: u16) -> bool {
        self.inner.auth_statuses.contains(&status)
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
