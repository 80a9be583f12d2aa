//! What the engine needs from the platform: sending, refreshing, spawning, telling time.

use crate::error::AuthError;
use futures::future::LocalBoxFuture;

/// How a refresh call ended, as the engine acts on it.
#[derive(Clone, Debug, PartialEq)]
pub enum RefreshOutcome<C> {
    /// New cookies are in place: waiting requests are replayed.
    Refreshed,
    /// The refresh token was rejected: the session is over.
    Expired {
        /// The refresh response's status.
        status: Option<u16>,
    },
    /// The refresh could not be completed; the session may still be valid.
    Failed {
        /// The refresh response's status, if one arrived.
        status: Option<u16>,
        /// The network error or timeout, if none did.
        cause: Option<C>,
    },
}

/// The three ways a refresh can end, without their details.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// See [`RefreshOutcome::Refreshed`].
    Refreshed,
    /// See [`RefreshOutcome::Expired`].
    Expired,
    /// See [`RefreshOutcome::Failed`].
    Failed,
}

impl Verdict {
    /// The default reading of a refresh response: 2xx refreshed; 400/401/403 expired; anything else failed.
    pub fn from_status(status: u16) -> Verdict {
        match status {
            200..=299 => Verdict::Refreshed,
            400 | 401 | 403 => Verdict::Expired,
            _ => Verdict::Failed,
        }
    }

    /// Parses `"refreshed"`, `"expired"` or `"failed"` (what a custom classifier returns).
    pub fn parse(s: &str) -> Option<Verdict> {
        match s {
            "refreshed" => Some(Verdict::Refreshed),
            "expired" => Some(Verdict::Expired),
            "failed" => Some(Verdict::Failed),
            _ => None,
        }
    }

    /// The name of this verdict, as events report it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Refreshed => "refreshed",
            Verdict::Expired => "expired",
            Verdict::Failed => "failed",
        }
    }

    /// The outcome for a response with `status` that got this verdict.
    pub fn into_outcome<C>(self, status: u16) -> RefreshOutcome<C> {
        match self {
            Verdict::Refreshed => RefreshOutcome::Refreshed,
            Verdict::Expired => RefreshOutcome::Expired { status: Some(status) },
            Verdict::Failed => RefreshOutcome::Failed { status: Some(status), cause: None },
        }
    }
}

impl<C> RefreshOutcome<C> {
    /// This outcome's verdict.
    pub fn verdict(&self) -> Verdict {
        match self {
            RefreshOutcome::Refreshed => Verdict::Refreshed,
            RefreshOutcome::Expired { .. } => Verdict::Expired,
            RefreshOutcome::Failed { .. } => Verdict::Failed,
        }
    }
}

/// The platform under the engine. The browser implements it over `fetch`; tests implement it in memory.
///
/// All futures are `'static` and single-threaded, as in a browser event loop.
pub trait Transport: 'static {
    /// A request that can be sent.
    type Request;
    /// A response; any status, including 4xx/5xx.
    type Response;
    /// Detail of a network failure or timeout.
    type Cause: Clone + 'static;

    /// Makes a copy of `req` for the one replay, before `req` is sent; fails with
    /// [`AuthError::BodyNotReplayable`] if its body cannot be read twice.
    fn duplicate(&self, req: &Self::Request) -> Result<Self::Request, AuthError<Self::Cause>>;
    /// Sends `req` with the cookies and CSRF header current now. Fails only with `Network` or `Aborted`.
    fn send(
        &self,
        req: Self::Request,
    ) -> LocalBoxFuture<'static, Result<Self::Response, AuthError<Self::Cause>>>;
    /// The response's HTTP status.
    fn status(&self, res: &Self::Response) -> u16;
    /// Whether `res` came from an origin that gets refresh handling (`false` after a redirect elsewhere).
    fn is_handled(&self, res: &Self::Response) -> bool {
        let _ = res;
        true
    }
    /// Drops a response the caller will never see (an auth failure that is replayed or rejected).
    fn discard(&self, res: Self::Response) {
        drop(res);
    }
    /// Resolves when `req`'s abort signal fires (at once if it already has); never if it has none.
    fn aborted(&self, req: &Self::Request) -> LocalBoxFuture<'static, ()>;
    /// A turn to *probe* while a refresh waits on another tab: resolves when `req` (a waiting
    /// request's spare copy) may be sent once more to learn whether the cookie jar is fresh already
    /// (that tab's rotation landed); `None` if it may not probe (the default; the browser lets
    /// body-less GET and HEAD requests probe, one every 300 ms). A turn may never come.
    ///
    /// The engine asks once per wait, sends a copy (outside the `maxConcurrent` cap) when the turn
    /// comes, and delivers an answer that is handled and not an auth status (then calls
    /// [`Transport::probed`]); anything else is discarded and the request waits on.
    fn probe_turn(&self, req: &Self::Request) -> Option<LocalBoxFuture<'static, ()>> {
        let _ = req;
        None
    }
    /// A probe was accepted: the cookie jar is fresh, so a refresh that waits on another tab ends
    /// as refreshed, without a call (for every waiter, and for the other tabs). Default: nothing.
    fn probed(&self) {}
    /// Performs one refresh and classifies its result. Never intercepted by the engine.
    ///
    /// `since` is [`Transport::now`] when the request that triggered it was sent: a transport that
    /// shares refreshes with other tabs may answer `Refreshed` without a call if one landed after it.
    fn refresh(&self, since: f64) -> LocalBoxFuture<'static, RefreshOutcome<Self::Cause>>;
    /// Runs `task` to completion independently of whoever started it.
    fn spawn(&self, task: LocalBoxFuture<'static, ()>);
    /// A monotonic clock in milliseconds, for event timestamps and `since`.
    fn now(&self) -> f64;
}
