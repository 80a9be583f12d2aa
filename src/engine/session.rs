//! One client's refresh state for a driver that does its own waiting: the npm package's JavaScript
//! (`src/js/authflight.js`) holds the promises, and asks a [`Session`] at every step what to do.
//!
//! A `Session` makes the same decisions as [`crate::engine::Engine`], from the same parts: the
//! single-flight state (`Flight`: generations, the refresh in flight, expiry), the auth statuses,
//! the `maxConcurrent` cap and the counts. It is synchronous and holds no JS values, so the wasm the
//! package ships is small, and every transition is a plain call that cannot interleave.

use crate::engine::flight::{Flight, Ticket};
use crate::engine::{Stats, Verdict};
use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// Before each send (first or replay): may the request go?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enter {
    /// Send now (with a cap: it holds one of the places in flight until [`Session::leave`]).
    Go,
    /// A refresh is running (nothing is sent meanwhile): wait for refresh `.0` to end, then ask again.
    Refresh(u32),
    /// The cap is reached: wait until [`Session::woken`] names ticket `.0`, then ask again.
    Hold(u32),
}

/// A request is sent at most this many times in all: never a loop.
pub const MAX_SENDS: u32 = 4;

/// How many refreshes a request's *replays* may start. A replay can meet a new expiry (its fresh
/// token expired before it was sent: short-lived tokens, a slow device); when other requests met it
/// too, it joins their refresh or replays after it, and that is free. Only a replay whose 401 nobody
/// else explains starts a refresh itself, and only once: a request that the server rejects whatever
/// its token is sent three times and costs two refreshes.
pub const MAX_REPLAY_STARTS: u32 = 1;

/// After a send's response: what the request does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Hand the response to the caller (not an auth failure, or not ours to handle).
    Deliver,
    /// Still not accepted after [`MAX_SENDS`] sends: reject with `unauthorized`.
    Unauthorized,
    /// A refresh succeeded since it was sent: replay at once.
    Replay,
    /// The session is over: reject with `session_expired`.
    Expired,
    /// Wait for refresh `.0`, already running, then replay.
    Wait(u32),
    /// Start refresh `.0` (then end it with [`Session::ended`]), wait for it, then replay.
    Start(u32),
}

/// The state of one client.
#[derive(Debug)]
pub struct Session {
    flight: Flight<()>,
    auth_statuses: Vec<u16>,
    /// `maxConcurrent`; 0 for no cap.
    max: u32,
    sending: u32,
    held: VecDeque<u32>,
    woken: VecDeque<u32>,
    last_ticket: u32,
    last_request: u32,
    /// The generation and earliest send time of a request that an auth status answered while a
    /// refresh for that generation runs (see [`Session::superseded`]).
    rejected_at: Option<(u64, f64)>,
    stats: Stats,
}

impl Session {
    /// A session treating `auth_statuses` as "access token not accepted", with at most `max` requests
    /// in flight (0: no cap).
    pub fn new(auth_statuses: Vec<u16>, max: u32) -> Session {
        Session {
            flight: Flight::new(),
            auth_statuses,
            max,
            sending: 0,
            held: VecDeque::new(),
            woken: VecDeque::new(),
            last_ticket: 0,
            last_request: 0,
            rejected_at: None,
            stats: Stats::default(),
        }
    }

    /// Sets the cap on requests in flight (0: none).
    pub fn set_max(&mut self, max: u32) {
        self.max = max;
        // Everyone held asks again under the new cap (or goes, with none).
        self.woken.extend(self.held.drain(..));
    }

    /// Adds a status that means "access token not accepted".
    pub fn add_auth_status(&mut self, status: u16) {
        self.auth_statuses.push(status);
    }

    /// A new request: its id (from 1).
    pub fn begin(&mut self) -> u32 {
        self.last_request = self.last_request.wrapping_add(1).max(1);
        self.stats.requests = self.stats.requests.wrapping_add(1);
        self.last_request
    }

    /// Before each send; see [`Enter`].
    pub fn enter(&mut self) -> Enter {
        // While a refresh runs, the access cookie is known to be dead: a request sent now only buys
        // a 401 (dj-rest-auth's cookie authentication rejects an expired cookie even on public
        // views), and a second round trip that queues behind the burst. It waits, then goes with
        // the fresh cookie.
        if let Some(n) = self.flight.in_flight_number() {
            // Hand our turn on: everyone held goes to wait on the refresh too.
            self.wake_next();
            return Enter::Refresh(n);
        }
        if self.max != 0 && self.sending >= self.max {
            self.last_ticket = self.last_ticket.wrapping_add(1).max(1);
            self.held.push_back(self.last_ticket);
            return Enter::Hold(self.last_ticket);
        }
        // Counted with or without a cap, so a cap set later starts from the true number.
        self.sending = self.sending.saturating_add(1);
        Enter::Go
    }

    /// A request that was told to wait in [`Session::enter`] was aborted: `ticket` is its hold, or 0
    /// if it waited on a refresh. Its turn passes to the next one held.
    pub fn cancel(&mut self, ticket: u32) {
        let before = self.held.len();
        self.held.retain(|t| *t != ticket);
        self.woken.retain(|t| *t != ticket);
        if self.held.len() == before {
            self.wake_next();
        }
    }

    /// A send that [`Enter::Go`] let through was answered (or failed): its place is free.
    pub fn leave(&mut self) {
        self.sending = self.sending.saturating_sub(1);
        if self.max != 0 {
            self.wake_next();
        }
    }

    /// The next held ticket that may ask [`Session::enter`] again, or 0.
    pub fn woken(&mut self) -> u32 {
        self.woken.pop_front().unwrap_or(0)
    }

    fn wake_next(&mut self) {
        if let Some(t) = self.held.pop_front() {
            self.woken.push_back(t);
        }
    }

    /// The generation a request records when it is sent.
    pub fn generation(&self) -> u64 {
        self.flight.generation()
    }

    /// Whether a probe's answer (`status`; `handled`: not redirected elsewhere) shows the cookie jar
    /// fresh: accepted, neither an auth status nor a 5xx (a proxy's error says nothing about it).
    pub fn probe_accepted(&self, status: u16, handled: bool) -> bool {
        handled && status < 500 && !self.is_auth_status(status)
    }

    /// Whether `status` means "access token not accepted".
    pub fn is_auth_status(&self, status: u16) -> bool {
        self.auth_statuses.contains(&status)
    }

    /// The response to send number `sends` (from 1) of a request sent at `generation`, whose
    /// replays have started `replay_starts` refreshes so far: `handled` is false when a redirect
    /// led to an origin that gets no refresh handling.
    pub fn answer(
        &mut self,
        generation: u64,
        status: u16,
        handled: bool,
        sends: u32,
        replay_starts: u32,
    ) -> Answer {
        if !handled || !self.is_auth_status(status) {
            if handled && (200..300).contains(&status) {
                self.flight.succeeded(generation);
            }
            return Answer::Deliver;
        }
        if sends >= MAX_SENDS {
            return Answer::Unauthorized;
        }
        if sends > 1 && replay_starts >= MAX_REPLAY_STARTS && self.flight.would_start(generation) {
            return Answer::Unauthorized;
        }
        let answer = match self.flight.on_auth_failure(generation) {
            Ticket::Replay => return Answer::Replay,
            Ticket::Expired => return Answer::Expired,
            Ticket::Join(n, ()) => Answer::Wait(n),
            Ticket::Start(n) => {
                self.flight.started(n, ());
                self.stats.refreshes_started = self.stats.refreshes_started.wrapping_add(1);
                Answer::Start(n)
            }
        };
        self.stats.queued = self.stats.queued.wrapping_add(1);
        answer
    }

    /// A request sent at `generation` and `sent_at` (the driver's clock) was answered with an auth
    /// status and now waits on that generation's refresh ([`Answer::Wait`] or [`Answer::Start`]).
    pub fn rejected(&mut self, generation: u64, sent_at: f64) {
        self.rejected_at = match self.rejected_at {
            Some((g, t)) if g == generation && t <= sent_at => Some((g, t)),
            _ => Some((generation, sent_at)),
        };
    }

    /// Whether a request still in flight, sent at `generation` and `sent_at`, can only be rejected
    /// and may be cut off now, to be replayed after the running refresh: it went out no earlier than
    /// one that was rejected, with the same cookies, so it buys a certain 401 and holds a connection
    /// the refresh needs. Only a `safe` request (GET or HEAD without a body) is cut: a server may
    /// have acted on it already, and a replay must not act twice.
    pub fn superseded(&self, generation: u64, sent_at: f64, safe: bool) -> bool {
        safe && self.flight.in_flight_number().is_some()
            && self.rejected_at.is_some_and(|(g, t)| {
                g == generation && generation == self.flight.generation() && sent_at >= t
            })
    }

    /// A request is sent a second time.
    pub fn replayed(&mut self) {
        self.stats.replayed = self.stats.replayed.wrapping_add(1);
    }

    /// The refresh in flight ended with `verdict`: returns the verdict its waiters act on, and
    /// whether the session just expired (tell the app once).
    pub fn ended(&mut self, verdict: Verdict) -> (Verdict, bool) {
        let (effective, expired_now) = self.flight.finish(verdict);
        let s = &mut self.stats;
        if verdict == Verdict::Refreshed {
            s.refreshes_succeeded = s.refreshes_succeeded.wrapping_add(1);
        } else {
            s.refreshes_failed = s.refreshes_failed.wrapping_add(1);
        }
        if expired_now {
            s.sessions_expired = s.sessions_expired.wrapping_add(1);
        }
        (effective, expired_now)
    }

    /// A login: refresh handling resumes after an expiry.
    pub fn logged_in(&mut self) {
        self.flight.logged_in();
    }

    /// Another tab refreshed: requests sent before now replay without a refresh.
    pub fn refreshed_elsewhere(&mut self) {
        self.flight.refreshed_elsewhere();
    }

    /// Another tab found the session over; `true` if this client had not known (tell the app).
    pub fn expired_elsewhere(&mut self) -> bool {
        let now = self.flight.expired_elsewhere();
        if now {
            self.stats.sessions_expired = self.stats.sessions_expired.wrapping_add(1);
        }
        now
    }

    /// Whether the session is known to be over (until the next login).
    pub fn is_expired(&self) -> bool {
        self.flight.is_expired()
    }

    /// Counts since this session began.
    pub fn stats(&self) -> Stats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_refresh_for_a_burst_then_late_failures_replay() {
        let mut s = Session::new(alloc::vec![401], 0);
        let g = s.generation();
        assert_eq!(s.answer(g, 200, true, 1, 0), Answer::Deliver);
        assert_eq!(s.answer(g, 401, false, 1, 0), Answer::Deliver, "a redirect elsewhere is not ours");
        assert_eq!(s.answer(g, 401, true, 1, 0), Answer::Start(1));
        assert_eq!(s.answer(g, 401, true, 1, 0), Answer::Wait(1));
        assert_eq!(s.ended(Verdict::Refreshed), (Verdict::Refreshed, false));
        assert_eq!(s.answer(g, 401, true, 1, 0), Answer::Replay, "sent before the refresh ended");
        let st = s.stats();
        assert_eq!((st.refreshes_started, st.queued, st.refreshes_succeeded), (1, 2, 1));
    }

    #[test]
    fn a_replay_may_meet_a_new_expiry_once_then_it_is_unauthorized() {
        let mut s = Session::new(alloc::vec![401], 0);
        assert_eq!(s.answer(0, 401, true, 1, 0), Answer::Start(1));
        s.ended(Verdict::Refreshed);
        let g = s.generation();
        assert_eq!(s.answer(g, 401, true, 2, 0), Answer::Start(2), "the fresh token expired again");
        s.ended(Verdict::Refreshed);
        assert_eq!(s.answer(s.generation(), 401, true, 3, 1), Answer::Unauthorized);
        assert_eq!(s.answer(s.generation(), 200, true, 3, 1), Answer::Deliver);
    }

    #[test]
    fn replays_that_meet_an_expiry_others_met_too_go_round_for_free() {
        let mut s = Session::new(alloc::vec![401], 0);
        assert_eq!(s.answer(0, 401, true, 1, 0), Answer::Start(1));
        s.ended(Verdict::Refreshed);
        let g = s.generation();
        assert_eq!(s.answer(g, 401, true, 2, 0), Answer::Start(2));
        assert_eq!(s.answer(g, 401, true, 3, 1), Answer::Wait(2), "another request's refresh");
        s.ended(Verdict::Refreshed);
        assert_eq!(s.answer(g, 401, true, 3, 1), Answer::Replay, "sent before refresh 2 ended");
        assert_eq!(s.answer(s.generation(), 401, true, MAX_SENDS, 1), Answer::Unauthorized, "the hard cap");
    }

    #[test]
    fn a_rejection_expires_once_and_fails_fast_until_login() {
        let mut s = Session::new(alloc::vec![401], 0);
        assert_eq!(s.answer(0, 401, true, 1, 0), Answer::Start(1));
        assert_eq!(s.ended(Verdict::Expired), (Verdict::Expired, true));
        assert_eq!(s.answer(s.generation(), 401, true, 1, 0), Answer::Expired);
        assert!(!s.expired_elsewhere());
        s.logged_in();
        assert!(!s.is_expired());
        assert_eq!(s.stats().sessions_expired, 1);
    }

    #[test]
    fn requests_sent_after_a_rejected_one_are_cut_off_only_while_its_refresh_runs() {
        let mut s = Session::new(alloc::vec![401], 0);
        let g = s.generation();
        assert!(!s.superseded(g, 5.0, true), "nothing was rejected yet");
        assert_eq!(s.answer(g, 401, true, 1, 0), Answer::Start(1));
        s.rejected(g, 10.0);
        s.rejected(g, 12.0);
        assert!(s.superseded(g, 10.0, true) && s.superseded(g, 30.0, true), "same cookies, sent no earlier");
        assert!(!s.superseded(g, 9.5, true), "sent earlier: it may have carried a valid token");
        assert!(!s.superseded(g, 30.0, false), "not a GET or HEAD: it must not be sent twice");
        s.ended(Verdict::Refreshed);
        assert!(!s.superseded(g, 30.0, true), "no refresh runs: nothing to wait for");
        let g2 = s.generation();
        assert_eq!(s.answer(g2, 401, true, 1, 0), Answer::Start(2));
        assert!(!s.superseded(g2, 30.0, true), "no request of this generation was rejected yet");
        s.rejected(g2, 40.0);
        assert!(!s.superseded(g, 50.0, true) && s.superseded(g2, 50.0, true));
    }

    #[test]
    fn only_a_probe_the_server_accepted_shows_the_jar_fresh() {
        let s = Session::new(alloc::vec![401], 0);
        assert!(s.probe_accepted(200, true) && s.probe_accepted(404, true));
        assert!(!s.probe_accepted(401, true), "still the old cookie");
        assert!(!s.probe_accepted(503, true), "a proxy's error says nothing");
        assert!(!s.probe_accepted(200, false), "redirected elsewhere");
    }

    #[test]
    fn a_login_the_client_did_not_hear_of_ends_the_fail_fast() {
        let mut s = Session::new(alloc::vec![401], 0);
        assert_eq!(s.answer(0, 401, true, 1, 0), Answer::Start(1));
        s.ended(Verdict::Expired);
        assert_eq!(s.answer(s.generation(), 401, true, 1, 0), Answer::Expired);
        // The user logs in with a plain request; the next request through the client succeeds.
        assert_eq!(s.answer(s.generation(), 200, true, 1, 0), Answer::Deliver);
        assert!(!s.is_expired());
        assert_eq!(s.answer(s.generation(), 401, true, 1, 0), Answer::Start(2));
    }

    #[test]
    fn the_cap_holds_requests_and_a_refresh_holds_everyone() {
        let mut s = Session::new(alloc::vec![401], 2);
        assert_eq!((s.enter(), s.enter()), (Enter::Go, Enter::Go));
        assert_eq!((s.enter(), s.enter()), (Enter::Hold(1), Enter::Hold(2)));
        s.cancel(1);
        assert_eq!(s.woken(), 0, "a held request that gave up frees nobody");
        s.leave();
        assert_eq!((s.woken(), s.woken()), (2, 0));
        assert_eq!(s.enter(), Enter::Go);
        assert_eq!(s.answer(0, 401, true, 1, 0), Answer::Start(1));
        assert_eq!(s.enter(), Enter::Refresh(1), "nothing is sent while a refresh runs");
        s.ended(Verdict::Refreshed);
        s.leave();
        s.leave();
        assert_eq!((s.enter(), s.enter(), s.enter()), (Enter::Go, Enter::Go, Enter::Hold(3)));
        s.set_max(0);
        assert_eq!((s.woken(), s.enter()), (3, Enter::Go), "lifting the cap lets the held go");
    }
}
