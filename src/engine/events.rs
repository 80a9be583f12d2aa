//! What the engine reports while it works: per-request events and running counts.

use crate::engine::{Observer, Verdict};
use crate::error::ErrorCode;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};

/// One step in a request's or a refresh's life.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EventKind {
    /// The request was sent for the first time.
    Sent,
    /// The response had an auth status (e.g. 401).
    AuthFailure {
        /// That status.
        status: u16,
    },
    /// The request is waiting on refresh number `refresh`.
    Queued {
        /// The refresh it waits on.
        refresh: u32,
    },
    /// Refresh number `refresh` started (triggered by this event's request).
    RefreshStarted {
        /// Its number, from 1.
        refresh: u32,
    },
    /// Refresh number `refresh` ended.
    RefreshEnded {
        /// Its number.
        refresh: u32,
        /// How it ended.
        outcome: Verdict,
    },
    /// The request was sent again, with the cookies the browser now holds.
    Replayed,
    /// The request finished: with a response (`error: None`) or an error.
    Settled {
        /// The final response's status, if there was one.
        status: Option<u16>,
        /// The error it rejected with, if it did.
        error: Option<ErrorCode>,
    },
    /// The session ended; fired once per expiry.
    SessionExpired,
    /// A login was reported with `mark_logged_in`, here or in another tab.
    LoggedIn,
}

impl EventKind {
    /// The event's name as `api.on(name, ...)` takes it.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Sent => "sent",
            EventKind::AuthFailure { .. } => "auth_failure",
            EventKind::Queued { .. } => "queued",
            EventKind::RefreshStarted { .. } => "refresh_started",
            EventKind::RefreshEnded { .. } => "refresh_ended",
            EventKind::Replayed => "replayed",
            EventKind::Settled { .. } => "settled",
            EventKind::SessionExpired => "session_expired",
            EventKind::LoggedIn => "logged_in",
        }
    }

    /// Every event name, in the order a request meets them.
    pub const NAMES: [&'static str; 9] = [
        "sent",
        "auth_failure",
        "queued",
        "refresh_started",
        "refresh_ended",
        "replayed",
        "settled",
        "session_expired",
        "logged_in",
    ];
}

/// An event with the request it concerns and when it happened.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The request's id (from 1); 0 for events not tied to a request.
    pub request: u32,
    /// Monotonic time in milliseconds (`performance.now()` in the browser).
    pub time: f64,
}

/// Running counts since the client was built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests handled with refresh handling.
    pub requests: u32,
    /// Refresh calls started by this client.
    pub refreshes_started: u32,
    /// Refresh calls that renewed the session.
    pub refreshes_succeeded: u32,
    /// Refresh calls that did not (rejected, 5xx, network error, timeout).
    pub refreshes_failed: u32,
    /// Requests that waited on a refresh.
    pub queued: u32,
    /// Requests sent a second time after a refresh.
    pub replayed: u32,
    /// Times the session was declared expired.
    pub sessions_expired: u32,
}

type Callback = Rc<dyn Fn(&Event)>;

/// A list of event listeners, each for one event name or for all; an [`Observer`] for the engine.
///
/// Listeners may add or remove listeners, or call back into the client, while they are called:
/// each event goes to the listeners registered when it was emitted.
#[derive(Default)]
pub struct Listeners {
    last: Cell<u32>,
    entries: RefCell<Vec<(u32, Option<&'static str>, Callback)>>,
}

impl core::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Listeners").field("count", &self.entries.borrow().len()).finish()
    }
}

impl Listeners {
    /// Adds `f` for events named `name` (all events if `None`); returns its id for [`Listeners::remove`].
    pub fn add(&self, name: Option<&'static str>, f: impl Fn(&Event) + 'static) -> u32 {
        let id = self.last.get().wrapping_add(1);
        self.last.set(id);
        self.entries.borrow_mut().push((id, name, Rc::new(f)));
        id
    }

    /// Removes listener `id`; `false` if it was already gone.
    pub fn remove(&self, id: u32) -> bool {
        let mut entries = self.entries.borrow_mut();
        let before = entries.len();
        entries.retain(|(i, _, _)| *i != id);
        entries.len() != before
    }
}

impl Observer for Rc<Listeners> {
    fn enabled(&self) -> bool {
        !self.entries.borrow().is_empty()
    }

    fn event(&self, event: &Event) {
        let name = event.kind.name();
        let targets: Vec<Callback> = self
            .entries
            .borrow()
            .iter()
            .filter(|(_, n, _)| n.is_none_or(|n| n == name))
            .map(|(_, _, f)| f.clone())
            .collect();
        for f in targets {
            f(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_filter_by_name_and_may_unsubscribe_while_called() {
        let l = Rc::new(Listeners::default());
        let seen = Rc::new(Cell::new(0));
        let (s, l2) = (seen.clone(), l.clone());
        let id = l.add(Some("sent"), move |_| {
            s.set(s.get() + 1);
            l2.remove(1);
        });
        assert_eq!(id, 1);
        let ev = |kind| Event { kind, request: 1, time: 0.0 };
        l.event(&ev(EventKind::Replayed));
        assert_eq!(seen.get(), 0);
        l.event(&ev(EventKind::Sent));
        l.event(&ev(EventKind::Sent));
        assert_eq!(seen.get(), 1, "removed itself during the first call");
        assert!(!l.enabled());
    }
}
