//! What the engine reports while it works: per-request events and running counts.

use crate::engine::Verdict;
use crate::error::ErrorCode;
use std::cell::Cell;

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

/// [`Stats`] behind `Cell`s, so counting never borrows.
#[derive(Default)]
pub(crate) struct Counters {
    pub requests: Cell<u32>,
    pub refreshes_started: Cell<u32>,
    pub refreshes_succeeded: Cell<u32>,
    pub refreshes_failed: Cell<u32>,
    pub queued: Cell<u32>,
    pub replayed: Cell<u32>,
    pub sessions_expired: Cell<u32>,
}

impl Counters {
    pub fn bump(cell: &Cell<u32>) {
        cell.set(cell.get().wrapping_add(1));
    }

    pub fn snapshot(&self) -> Stats {
        Stats {
            requests: self.requests.get(),
            refreshes_started: self.refreshes_started.get(),
            refreshes_succeeded: self.refreshes_succeeded.get(),
            refreshes_failed: self.refreshes_failed.get(),
            queued: self.queued.get(),
            replayed: self.replayed.get(),
            sessions_expired: self.sessions_expired.get(),
        }
    }
}
