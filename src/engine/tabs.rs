//! The cross-tab protocol's decisions: what a marker cookie means, when to wait, replay, expire or
//! go ahead. Pure functions over numbers; the browser layers (Rust's `browser::tabs`, the npm
//! package's JS) do the I/O around them: the lock, the cookie, the channel. See `browser::tabs`
//! for the protocol as a whole and why it is safe.

use crate::engine::Verdict;

/// Marker state: a refresh is in flight.
pub const IN_FLIGHT: u8 = b'f';
/// Marker state: a refresh succeeded.
pub const REFRESHED: u8 = b'r';
/// Marker state: the session expired.
pub const EXPIRED: u8 = b'x';
/// Marker state: a refresh failed, or a login happened.
pub const NEUTRAL: u8 = b'n';

/// Without Web Locks, a tab claims a refresh by writing the in-flight marker, waits this long for the
/// claims of other tabs to reach the cookie store (1-4 ms, rarely 25 ms, in Chromium, Firefox and
/// WebKit), then reads it again and decides with [`on_lock`]: the last claim wins, every other tab
/// waits for its landing.
pub const CLAIM_SETTLE_MS: u32 = 100;

/// A marker newer than the clock by more than this is from the future (a clock change, or garbage):
/// it is treated as absent, never as a refresh that outranks every request.
pub const FUTURE_SLACK_MS: f64 = 1000.0;

/// The marker cookie `<state>:<time>:<client>`, as read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Marker {
    /// One of the states above (any other byte means nothing).
    pub state: u8,
    /// `Date.now()` when it was written.
    pub time: f64,
    /// The random id of the client that wrote it.
    pub tab: u32,
}

impl Marker {
    /// The marker as read at wall-clock `now`; `None` if absent (`state` 0) or from the future.
    pub fn read(state: u8, time: f64, tab: u32, now: f64) -> Option<Marker> {
        (state != 0 && time <= now + FUTURE_SLACK_MS).then_some(Marker { state, time, tab })
    }
}

/// What a tab that holds (or gave up waiting for) the lock does before it calls the server.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OnLock {
    /// Another context's refresh landed after our request was sent: replay without a call.
    Refreshed,
    /// Another context found the session over after our request was sent: expire without a call.
    Expired,
    /// A context marked a refresh in flight and may have died mid-call: wait for its rotation to
    /// land (see [`landing_deadline`]), then decide again with [`after_landing`].
    WaitForLanding {
        /// When that refresh started.
        started: f64,
    },
    /// Call the server.
    Go,
}

/// The first decision under the lock. `me` is this client's id, `since` when the triggering request
/// was sent.
pub fn on_lock(marker: Option<Marker>, me: u32, since: f64) -> OnLock {
    match marker {
        Some(Marker { state: IN_FLIGHT, time, tab }) if tab != me => OnLock::WaitForLanding { started: time },
        m => by_result(m, since),
    }
}

/// The decision after waiting for a landing, at `now`: `before` is the in-flight marker waited on,
/// `after` the marker then. A refresh still marked in flight by its owner within `timeout_ms` of its
/// start may still rotate (its owner may be alive, or its page gone with its `keepalive` call still
/// at the server): it is not raced, and `None` fails this refresh (`refresh_failed`). Past
/// `timeout_ms` its owner has abandoned it, or is frozen or gone: its rotation, if any, is in the
/// cookie jar already, or is treated like any abandoned call (see `browser::tabs`).
pub fn after_landing(
    before: Marker,
    after: Option<Marker>,
    since: f64,
    now: f64,
    timeout_ms: u32,
) -> Option<OnLock> {
    let alive = matches!(after, Some(Marker { state: IN_FLIGHT, tab, time })
        if tab == before.tab && now < time + f64::from(timeout_ms));
    if alive {
        return None;
    }
    Some(by_result(after, since))
}

fn by_result(marker: Option<Marker>, since: f64) -> OnLock {
    match marker {
        Some(Marker { state: REFRESHED, time, .. }) if time > since => OnLock::Refreshed,
        Some(Marker { state: EXPIRED, time, .. }) if time > since => OnLock::Expired,
        _ => OnLock::Go,
    }
}

/// When to stop waiting for a landing: `timeout_ms` from the refresh's start, but between now and
/// `timeout_ms` from now, whatever the other tab's clock said.
pub fn landing_deadline(started: f64, timeout_ms: u32, now: f64) -> f64 {
    let t = f64::from(timeout_ms);
    // Not `clamp`: its assertion message would bring float formatting into the wasm.
    (started + t).max(now).min(now + t)
}

/// Whether a wait for a landing of the refresh marked in flight at `started` is over.
pub fn landed(marker: Option<Marker>, started: f64) -> bool {
    !matches!(marker, Some(Marker { state: IN_FLIGHT, time, .. }) if time >= started)
}

/// How a rejected refresh is confirmed: only a rejection with no rotation elsewhere ends the session.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Confirm {
    /// The verdict stands.
    Keep,
    /// Another context rotated meanwhile: its cookies are in place, this is no logout.
    Refreshed,
    /// Another context's refresh is in flight: wait for it to land, then [`after_confirm`].
    WaitForLanding {
        /// When that refresh started.
        started: f64,
    },
}

/// The confirmation of `verdict` for a call this tab started at `start` (see [`Confirm`]), at `now`.
/// Another context's refresh marked in flight counts only while it is younger than `timeout_ms`:
/// its owner abandons it then (and a dead owner never clears its marker).
pub fn confirm(
    verdict: Verdict,
    marker: Option<Marker>,
    me: u32,
    start: f64,
    now: f64,
    timeout_ms: u32,
) -> Confirm {
    if verdict != Verdict::Expired {
        return Confirm::Keep;
    }
    match marker {
        Some(Marker { state: REFRESHED, time, tab }) if tab != me && time >= start => Confirm::Refreshed,
        Some(Marker { state: IN_FLIGHT, time, tab }) if tab != me && now < time + f64::from(timeout_ms) => {
            Confirm::WaitForLanding { started: time }
        }
        _ => Confirm::Keep,
    }
}

/// What a rejected refresh (verdict [`Verdict::Expired`]) leads to, before any other context has a say.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rejection {
    /// The session is over.
    Stands,
    /// Call once more after `confirmDelayMs`: a rejection can be transient (a refresh view that
    /// authenticates the access cookie rejects it in the second or so the browser still sends it
    /// after the token's `exp`). Safe: a rejected refresh rotated nothing.
    Retry,
    /// Not a logout but `refresh_failed`: an earlier call of this client that outlived
    /// `refreshTimeoutMs` is still in flight, and may have rotated the token this call presented;
    /// its cookies may still land.
    Failed,
}

/// The first word on a rejection: `abandoned` whether an earlier call of this client is still in
/// flight, `retried` whether this one is already the confirmation, `confirm_ms` the
/// `confirmDelayMs` option (0: no confirmation).
pub fn rejected(abandoned: bool, retried: bool, confirm_ms: u32) -> Rejection {
    if abandoned {
        Rejection::Failed
    } else if retried || confirm_ms == 0 {
        Rejection::Stands
    } else {
        Rejection::Retry
    }
}

/// The verdict of a rejection after the other context's refresh landed (or the wait ran out).
pub fn after_confirm(marker: Option<Marker>) -> Verdict {
    match marker {
        Some(Marker { state: REFRESHED, .. }) => Verdict::Refreshed,
        Some(Marker { state: EXPIRED, .. }) => Verdict::Expired,
        _ => Verdict::Failed,
    }
}

/// The marker state to write for a settled refresh, and the channel message to post (its number:
/// 0 refreshed, 1 expired), if any.
pub fn record(verdict: Verdict) -> (u8, Option<u32>) {
    match verdict {
        Verdict::Refreshed => (REFRESHED, Some(0)),
        Verdict::Expired => (EXPIRED, Some(1)),
        Verdict::Failed => (NEUTRAL, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: u32 = 7;
    const OTHER: u32 = 9;
    fn m(state: u8, time: f64, tab: u32) -> Option<Marker> {
        Some(Marker { state, time, tab })
    }

    #[test]
    fn a_marker_from_the_future_or_absent_means_nothing() {
        assert_eq!(Marker::read(REFRESHED, 10_000.0, OTHER, 1_000.0), None);
        assert_eq!(Marker::read(0, 10.0, OTHER, 1_000.0), None);
        assert_eq!(Marker::read(REFRESHED, 1_500.0, OTHER, 1_000.0), m(REFRESHED, 1_500.0, OTHER));
        assert_eq!(on_lock(Marker::read(REFRESHED, 9e12, OTHER, 1_000.0), ME, 500.0), OnLock::Go);
    }

    #[test]
    fn a_newer_result_elsewhere_settles_the_refresh_without_a_call() {
        assert_eq!(on_lock(m(REFRESHED, 200.0, OTHER), ME, 100.0), OnLock::Refreshed);
        assert_eq!(on_lock(m(EXPIRED, 200.0, OTHER), ME, 100.0), OnLock::Expired);
        assert_eq!(on_lock(m(REFRESHED, 50.0, OTHER), ME, 100.0), OnLock::Go, "older than our request");
        assert_eq!(on_lock(m(NEUTRAL, 200.0, OTHER), ME, 100.0), OnLock::Go);
    }

    #[test]
    fn another_contexts_refresh_in_flight_is_waited_for_never_raced() {
        let before = Marker { state: IN_FLIGHT, time: 80.0, tab: OTHER };
        assert_eq!(on_lock(Some(before), ME, 100.0), OnLock::WaitForLanding { started: 80.0 });
        assert_eq!(on_lock(m(IN_FLIGHT, 80.0, ME), ME, 100.0), OnLock::Go, "our own abandoned call");
        let after = |a, now| after_landing(before, a, 100.0, now, 1_000);
        assert_eq!(after(Some(before), 500.0), None, "may still rotate");
        assert_eq!(after(Some(before), 1_080.0), Some(OnLock::Go), "abandoned, frozen or gone");
        assert_eq!(after(m(REFRESHED, 300.0, OTHER), 500.0), Some(OnLock::Refreshed));
        assert!(!landed(Some(before), 80.0) && landed(m(REFRESHED, 300.0, OTHER), 80.0));
    }

    #[test]
    fn landing_waits_are_bounded_by_the_timeout_from_now() {
        assert_eq!(landing_deadline(1_000.0, 500, 1_200.0), 1_500.0);
        assert_eq!(landing_deadline(9e12, 500, 1_200.0), 1_700.0, "a start in the future");
        assert_eq!(landing_deadline(0.0, 500, 1_200.0), 1_200.0, "long over");
    }

    #[test]
    fn only_an_unchallenged_rejection_ends_the_session() {
        let c = |v, marker| confirm(v, marker, ME, 0.0, 100.0, 1_000);
        assert_eq!(c(Verdict::Failed, m(REFRESHED, 9.0, OTHER)), Confirm::Keep);
        assert_eq!(c(Verdict::Expired, m(REFRESHED, 9.0, OTHER)), Confirm::Refreshed);
        assert_eq!(c(Verdict::Expired, m(REFRESHED, 9.0, ME)), Confirm::Keep);
        assert_eq!(c(Verdict::Expired, m(IN_FLIGHT, 5.0, OTHER)), Confirm::WaitForLanding { started: 5.0 });
        assert_eq!(
            confirm(Verdict::Expired, m(IN_FLIGHT, 5.0, OTHER), ME, 0.0, 2_000.0, 1_000),
            Confirm::Keep,
            "abandoned by its owner, or its owner is gone"
        );
        assert_eq!(after_confirm(m(REFRESHED, 9.0, OTHER)), Verdict::Refreshed);
        assert_eq!(after_confirm(m(EXPIRED, 9.0, OTHER)), Verdict::Expired);
        assert_eq!(after_confirm(m(IN_FLIGHT, 9.0, OTHER)), Verdict::Failed);
        assert_eq!(record(Verdict::Expired), (EXPIRED, Some(1)));
    }

    #[test]
    fn a_rejection_is_confirmed_once_unless_an_abandoned_call_may_have_rotated() {
        assert_eq!(rejected(false, false, 1_000), Rejection::Retry);
        assert_eq!(rejected(false, true, 1_000), Rejection::Stands);
        assert_eq!(rejected(false, false, 0), Rejection::Stands, "confirmation off");
        assert_eq!(rejected(true, false, 1_000), Rejection::Failed);
        assert_eq!(rejected(true, true, 0), Rejection::Failed);
    }
}
