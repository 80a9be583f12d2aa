//! The single-flight state machine: generations, the one refresh in flight, and session expiry.
//!
//! It is synchronous and knows nothing of futures beyond holding a clonable handle `W` to the
//! refresh in flight, so every transition is a plain method call that cannot interleave.

use crate::engine::Verdict;

/// What a request that got an auth failure must do next.
#[derive(Debug, PartialEq)]
pub(crate) enum Ticket<W> {
    /// A refresh succeeded after the request was sent: replay at once, no refresh.
    Replay,
    /// The session is over: fail fast with `session_expired`.
    Expired,
    /// Wait on refresh number `.0`, already in flight.
    Join(u32, W),
    /// Start refresh number `.0`, then register it with [`Flight::started`].
    Start(u32),
}

/// The refresh state shared by every request of one client.
#[derive(Debug)]
pub(crate) struct Flight<W> {
    /// Bumped by every successful refresh (here or in another tab), every login and every expiry.
    generation: u64,
    /// Set when a refresh was rejected; cleared by a login, or by a request sent since that succeeds.
    expired: bool,
    /// The refresh in flight, if any: its number, its waiter, and `logins` when it started.
    in_flight: Option<(u32, W, u32)>,
    /// How many refreshes this client has started.
    started: u32,
    /// How many logins were reported.
    logins: u32,
}

impl<W: Clone> Flight<W> {
    pub fn new() -> Self {
        Flight { generation: 0, expired: false, in_flight: None, started: 0, logins: 0 }
    }

    /// The generation a request records when it is sent.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The number of the refresh in flight, if any.
    pub fn in_flight_number(&self) -> Option<u32> {
        self.in_flight.as_ref().map(|(n, _, _)| *n)
    }

    pub fn is_expired(&self) -> bool {
        self.expired
    }

    /// Decides for a request sent at generation `sent` that just got an auth failure.
    ///
    /// A refresh in flight is joined even by a request from an older generation: its cookies
    /// are about to be replaced, so replaying before that refresh lands would fail again.
    pub fn on_auth_failure(&mut self, sent: u64) -> Ticket<W> {
        if self.expired {
            Ticket::Expired
        } else if let Some((n, w, _)) = &self.in_flight {
            Ticket::Join(*n, w.clone())
        } else if self.generation != sent {
            Ticket::Replay
        } else {
            self.started += 1;
            Ticket::Start(self.started)
        }
    }

    /// Whether [`Flight::on_auth_failure`] would start a refresh for a request sent at `sent`.
    pub fn would_start(&self, sent: u64) -> bool {
        !self.expired && self.in_flight.is_none() && self.generation == sent
    }

    /// Registers the refresh that a [`Ticket::Start`] began.
    pub fn started(&mut self, number: u32, waiter: W) {
        self.in_flight = Some((number, waiter, self.logins));
    }

    /// Records the end of the refresh in flight. Returns the verdict its waiters act on, and
    /// whether the session just expired.
    ///
    /// A rejection of a refresh that started before a login is stale (it presented the
    /// old session's token): the new session stands and the waiters replay with its cookies.
    pub fn finish(&mut self, verdict: Verdict) -> (Verdict, bool) {
        let started_at = self.in_flight.take().map(|(_, _, logins)| logins);
        match verdict {
            Verdict::Expired if started_at.is_some_and(|l| l != self.logins) => (Verdict::Refreshed, false),
            Verdict::Expired => (verdict, self.expire()),
            Verdict::Refreshed => {
                // New cookies: the session is alive, whatever another tab reported meanwhile.
                self.generation += 1;
                self.expired = false;
                (verdict, false)
            }
            Verdict::Failed => (verdict, false),
        }
    }

    /// Another tab or client refreshed: requests sent before now replay without a refresh.
    pub fn refreshed_elsewhere(&mut self) {
        self.generation += 1;
    }

    /// Another tab found the session expired; `true` if this client had not known yet.
    pub fn expired_elsewhere(&mut self) -> bool {
        self.expire()
    }

    /// The session is over; `true` if it was not known yet. Requests sent from now on are told
    /// apart from older ones (see [`Flight::succeeded`]).
    fn expire(&mut self) -> bool {
        let now = !core::mem::replace(&mut self.expired, true);
        if now {
            self.generation += 1;
        }
        now
    }

    /// A request sent at generation `sent` succeeded. Sent after the session expired, it proves a
    /// new session (a login this client did not hear of, without `markLoggedIn`): the next auth
    /// failure refreshes again instead of failing fast.
    pub fn succeeded(&mut self, sent: u64) {
        if self.expired && sent == self.generation {
            self.expired = false;
        }
    }

    /// A new login: refresh handling resumes and older requests may replay once.
    pub fn logged_in(&mut self) {
        self.logins = self.logins.wrapping_add(1);
        self.expired = false;
        self.generation += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_failure_starts_and_later_ones_join() {
        let mut f: Flight<&str> = Flight::new();
        let g = f.generation();
        assert_eq!(f.on_auth_failure(g), Ticket::Start(1));
        f.started(1, "w");
        assert_eq!(f.on_auth_failure(g), Ticket::Join(1, "w"));
        assert_eq!(f.finish(Verdict::Refreshed), (Verdict::Refreshed, false));
        assert_eq!(f.on_auth_failure(g), Ticket::Replay, "sent before the refresh finished");
        assert_eq!(f.on_auth_failure(f.generation()), Ticket::Start(2));
    }

    #[test]
    fn rejection_expires_once_until_login() {
        let mut f: Flight<()> = Flight::new();
        assert_eq!(f.on_auth_failure(0), Ticket::Start(1));
        assert_eq!(f.finish(Verdict::Expired), (Verdict::Expired, true));
        assert_eq!(f.on_auth_failure(0), Ticket::Expired);
        assert!(!f.expired_elsewhere(), "already known: listeners must not fire twice");
        f.logged_in();
        assert_eq!(f.on_auth_failure(0), Ticket::Replay);
        assert_eq!(f.on_auth_failure(f.generation()), Ticket::Start(2));
    }

    #[test]
    fn a_success_sent_after_an_expiry_ends_the_fail_fast() {
        let mut f: Flight<()> = Flight::new();
        let before = f.generation();
        assert_eq!(f.on_auth_failure(before), Ticket::Start(1));
        f.started(1, ());
        assert_eq!(f.finish(Verdict::Expired), (Verdict::Expired, true));
        f.succeeded(before);
        assert!(f.is_expired(), "sent before the expiry: proves nothing");
        f.succeeded(f.generation());
        assert!(!f.is_expired(), "a login the client did not hear of");
        assert_eq!(f.on_auth_failure(f.generation()), Ticket::Start(2));
    }

    #[test]
    fn a_successful_refresh_outweighs_an_expiry_reported_meanwhile() {
        let mut f: Flight<()> = Flight::new();
        assert_eq!(f.on_auth_failure(0), Ticket::Start(1));
        f.started(1, ());
        assert!(f.expired_elsewhere());
        f.finish(Verdict::Refreshed);
        assert!(!f.is_expired());
    }

    #[test]
    fn stale_401_joins_the_refresh_in_flight() {
        let mut f: Flight<()> = Flight::new();
        assert_eq!(f.on_auth_failure(0), Ticket::Start(1));
        f.started(1, ());
        f.finish(Verdict::Refreshed);
        assert_eq!(f.on_auth_failure(1), Ticket::Start(2));
        f.started(2, ());
        assert_eq!(f.on_auth_failure(0), Ticket::Join(2, ()));
    }

    #[test]
    fn rejection_of_a_refresh_from_before_a_login_is_stale() {
        let mut f: Flight<()> = Flight::new();
        assert_eq!(f.on_auth_failure(0), Ticket::Start(1));
        f.started(1, ());
        f.logged_in();
        assert_eq!(f.finish(Verdict::Expired), (Verdict::Refreshed, false));
        assert!(!f.is_expired());
    }

    #[test]
    fn failed_refresh_leaves_the_session_and_allows_a_new_one() {
        let mut f: Flight<()> = Flight::new();
        assert_eq!(f.on_auth_failure(0), Ticket::Start(1));
        assert_eq!(f.finish(Verdict::Failed), (Verdict::Failed, false));
        assert!(!f.is_expired());
        assert_eq!(f.on_auth_failure(0), Ticket::Start(2));
    }
}
