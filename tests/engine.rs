#![cfg(not(target_arch = "wasm32"))]
//! The engine against an in-memory browser + Django-like server, with a test-driven network.
//!
//! The model: a cookie jar (access generation, refresh token id) and a server (valid access
//! generation, current refresh token, blacklist, tokens ever presented). Every network operation
//! waits in `Net::pending` until the test delivers it; the server decides its answer at delivery.

use authflight::engine::{Engine, Event, EventKind, Observer, RefreshOutcome, Stats, Transport, Verdict};
use authflight::error::AuthError;
use futures::channel::oneshot;
use futures::executor::{LocalPool, LocalSpawner};
use futures::future::{self, LocalBoxFuture};
use futures::task::LocalSpawnExt;
use futures::FutureExt;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

type Cause = &'static str;
type Outcome = Result<u16, AuthError<Cause>>;

const NET_CAUSE: Cause = "connection reset";

// ---------------------------------------------------------------------------------------------
// PRNG

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    /// splitmix64
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

// ---------------------------------------------------------------------------------------------
// The browser + server model

#[derive(Clone)]
struct Req {
    id: u32,
    stream: bool,
    /// A body-less GET: it may probe while a refresh waits on another tab.
    get: bool,
    abort: Rc<AbortSignal>,
}

#[derive(Default)]
struct AbortSignal {
    fired: Cell<bool>,
    subscribers: RefCell<Vec<oneshot::Sender<()>>>,
}

#[derive(Debug)]
struct Resp {
    status: u16,
    req: u32,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    /// The server answers as it sees fit (rotates a valid token, rejects a bad one).
    None,
    /// The refresh token was revoked server-side just before this call: 401.
    Reject,
    /// A proxy answers 500 before the server processes the token.
    Status500,
    /// The connection drops before the server processes the token.
    Network,
}

enum OpKind {
    Send { req: u32, access: u64, tx: oneshot::Sender<Result<Resp, AuthError<Cause>>> },
    Refresh { token: u64, tx: oneshot::Sender<RefreshOutcome<Cause>> },
}

struct Op {
    kind: OpKind,
    /// A "hanging" operation: not deliverable until the test releases it.
    held: bool,
}

#[derive(Default)]
struct Jar {
    access: u64,
    refresh: u64,
}

#[derive(Default)]
struct Server {
    access: u64,
    refresh: u64,
    next_token: u64,
    blacklist: HashSet<u64>,
    presented: HashSet<u64>,
    reused: u32,
    refresh_calls: u32,
    refresh_in_flight: u32,
    max_refresh_in_flight: u32,
    rotations: u32,
    rejections: u32,
    sends: HashMap<u32, u32>,
    unauthorized: u32,
    /// Answer 401 to every request, whatever its cookie.
    always_401: bool,
}

#[derive(Default)]
struct Net {
    jar: Jar,
    server: Server,
    pending: Vec<Op>,
    clock: u64,
    /// Another tab holds the lock: a refresh waits for [`Harness::release_lock`] (or a probe)
    /// before it calls the server, and waiting GETs get probe turns from [`Harness::give_turn`].
    other_tab: bool,
    /// The refresh waiting on the other tab.
    lock_wait: Option<oneshot::Sender<RefreshOutcome<Cause>>>,
    /// Probe turns handed out, first come first served.
    turns: Vec<oneshot::Sender<()>>,
    /// Accepted probes reported to the transport.
    probed: u32,
}

impl Net {
    fn new() -> Self {
        let mut net = Net::default();
        net.login();
        net
    }

    /// A fresh login: new refresh token and access token, cookies set.
    fn login(&mut self) {
        let s = &mut self.server;
        s.next_token += 1;
        s.refresh = s.next_token;
        s.access += 1;
        self.jar.access = s.access;
        self.jar.refresh = s.refresh;
    }

    /// The access token's lifetime ends: the server no longer accepts the jar's access cookie.
    fn expire_access(&mut self) {
        self.server.access += 1;
    }

    /// Rotation (ROTATE_REFRESH_TOKENS + BLACKLIST_AFTER_ROTATION); cookies updated.
    fn rotate(&mut self) {
        let s = &mut self.server;
        s.blacklist.insert(s.refresh);
        s.next_token += 1;
        s.refresh = s.next_token;
        s.access += 1;
        s.rotations += 1;
        self.jar.access = s.access;
        self.jar.refresh = s.refresh;
    }

    fn answer_refresh(&mut self, token: u64, fault: Fault) -> RefreshOutcome<Cause> {
        self.server.refresh_in_flight -= 1;
        match fault {
            Fault::Status500 => return RefreshOutcome::Failed { status: Some(500), cause: None },
            Fault::Network => return RefreshOutcome::Failed { status: None, cause: Some(NET_CAUSE) },
            Fault::Reject => {
                self.server.blacklist.insert(token);
            }
            Fault::None => {}
        }
        if !self.server.presented.insert(token) {
            self.server.reused += 1;
        }
        if token == self.server.refresh && !self.server.blacklist.contains(&token) {
            self.rotate();
            RefreshOutcome::Refreshed
        } else {
            self.server.rejections += 1;
            RefreshOutcome::Expired { status: Some(401) }
        }
    }

    /// A refresh call to the server, with the refresh cookie the jar holds now.
    fn call_refresh(&mut self, tx: oneshot::Sender<RefreshOutcome<Cause>>) {
        let token = self.jar.refresh;
        let s = &mut self.server;
        s.refresh_calls += 1;
        s.refresh_in_flight += 1;
        s.max_refresh_in_flight = s.max_refresh_in_flight.max(s.refresh_in_flight);
        self.pending.push(Op { kind: OpKind::Refresh { token, tx }, held: false });
    }

    fn answer_send(&mut self, access: u64) -> u16 {
        if self.server.always_401 || access != self.server.access {
            self.server.unauthorized += 1;
            401
        } else {
            200
        }
    }
}

struct Mem {
    net: Rc<RefCell<Net>>,
    spawner: LocalSpawner,
}

impl Transport for Mem {
    type Request = Req;
    type Response = Resp;
    type Cause = Cause;

    fn duplicate(&self, req: &Req) -> Result<Req, AuthError<Cause>> {
        if req.stream {
            Err(AuthError::BodyNotReplayable)
        } else {
            Ok(req.clone())
        }
    }

    fn send(&self, req: Req) -> LocalBoxFuture<'static, Result<Resp, AuthError<Cause>>> {
        if req.abort.fired.get() {
            return future::ready(Err(AuthError::Aborted)).boxed_local();
        }
        let (tx, rx) = oneshot::channel();
        let mut net = self.net.borrow_mut();
        *net.server.sends.entry(req.id).or_default() += 1;
        let access = net.jar.access;
        net.pending.push(Op { kind: OpKind::Send { req: req.id, access, tx }, held: false });
        rx.map(|r| r.expect("the network dropped a send")).boxed_local()
    }

    fn status(&self, res: &Resp) -> u16 {
        res.status
    }

    fn aborted(&self, req: &Req) -> LocalBoxFuture<'static, ()> {
        if req.abort.fired.get() {
            return future::ready(()).boxed_local();
        }
        let (tx, rx) = oneshot::channel();
        req.abort.subscribers.borrow_mut().push(tx);
        async move {
            if rx.await.is_err() {
                future::pending::<()>().await
            }
        }
        .boxed_local()
    }

    fn refresh(&self, _since: f64) -> LocalBoxFuture<'static, RefreshOutcome<Cause>> {
        let (tx, rx) = oneshot::channel();
        let mut net = self.net.borrow_mut();
        if net.other_tab {
            net.lock_wait = Some(tx);
        } else {
            net.call_refresh(tx);
        }
        rx.map(|r| r.expect("the network dropped a refresh")).boxed_local()
    }

    fn probe_turn(&self, req: &Req) -> Option<LocalBoxFuture<'static, ()>> {
        let mut net = self.net.borrow_mut();
        if !net.other_tab || !req.get {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        net.turns.push(tx);
        Some(
            async move {
                if rx.await.is_err() {
                    future::pending::<()>().await
                }
            }
            .boxed_local(),
        )
    }

    fn probed(&self) {
        let mut net = self.net.borrow_mut();
        net.probed += 1;
        // As the browser's tabs do: the jar is fresh, the refresh waiting on the other tab ends.
        if let Some(tx) = net.lock_wait.take() {
            let _ = tx.send(RefreshOutcome::Refreshed);
        }
    }

    fn spawn(&self, task: LocalBoxFuture<'static, ()>) {
        self.spawner.spawn_local(task).expect("spawn");
    }

    fn now(&self) -> f64 {
        let mut net = self.net.borrow_mut();
        net.clock += 1;
        net.clock as f64
    }
}

type Log = Rc<RefCell<Vec<(EventKind, u32)>>>;

struct Recorder(Log);

impl Observer for Recorder {
    fn event(&self, event: &Event) {
        self.0.borrow_mut().push((event.kind, event.request));
    }
}

// ---------------------------------------------------------------------------------------------
// The harness

struct Harness {
    pool: LocalPool,
    engine: Engine<Mem>,
    net: Rc<RefCell<Net>>,
    events: Log,
    results: Rc<RefCell<Vec<Option<Outcome>>>>,
    reqs: Vec<Req>,
}

impl Harness {
    fn new() -> Self {
        let pool = LocalPool::new();
        let net = Rc::new(RefCell::new(Net::new()));
        let events: Log = Rc::default();
        let transport = Mem { net: net.clone(), spawner: pool.spawner() };
        let engine = Engine::new(transport, vec![401], Some(Box::new(Recorder(events.clone()))));
        Harness { pool, engine, net, events, results: Rc::default(), reqs: Vec::new() }
    }

    fn run(&mut self) {
        self.pool.run_until_stalled();
    }

    /// Starts a request (it is sent at once); returns its id, which is also the engine's id.
    fn start_with(&mut self, stream: bool) -> u32 {
        self.start_req(stream, !stream)
    }

    /// Starts a POST with a replayable body (it may not probe).
    fn start_post(&mut self) -> u32 {
        self.start_req(false, false)
    }

    fn start_req(&mut self, stream: bool, get: bool) -> u32 {
        let id = self.reqs.len() as u32 + 1;
        let req = Req { id, stream, get, abort: Rc::default() };
        self.reqs.push(req.clone());
        self.results.borrow_mut().push(None);
        let engine = self.engine.clone();
        let results = self.results.clone();
        self.pool
            .spawner()
            .spawn_local(async move {
                let r = engine.fetch(req).await.map(|res| {
                    assert_eq!(res.req, id, "a response reached the wrong caller");
                    res.status
                });
                let slot = &mut results.borrow_mut()[id as usize - 1];
                assert!(slot.is_none(), "request {id} settled twice");
                *slot = Some(r);
            })
            .expect("spawn");
        self.run();
        assert_eq!(self.engine.stats().requests, id, "engine ids follow start order");
        id
    }

    fn start(&mut self) -> u32 {
        self.start_with(false)
    }

    fn result(&self, id: u32) -> Option<Outcome> {
        self.results.borrow()[id as usize - 1].clone()
    }

    fn unsettled(&self) -> Vec<u32> {
        let results = self.results.borrow();
        (1..=results.len() as u32).filter(|id| results[*id as usize - 1].is_none()).collect()
    }

    fn sends(&self, id: u32) -> u32 {
        self.net.borrow().server.sends.get(&id).copied().unwrap_or(0)
    }

    fn sends_in_flight(&self) -> usize {
        self.net.borrow().pending.iter().filter(|op| matches!(op.kind, OpKind::Send { .. })).count()
    }

    fn pending_len(&self) -> usize {
        self.net.borrow().pending.len()
    }

    fn deliverable(&self) -> Vec<usize> {
        let net = self.net.borrow();
        (0..net.pending.len()).filter(|i| !net.pending[*i].held).collect()
    }

    fn held(&self) -> Vec<usize> {
        let net = self.net.borrow();
        (0..net.pending.len()).filter(|i| net.pending[*i].held).collect()
    }

    fn is_refresh(&self, idx: usize) -> bool {
        matches!(self.net.borrow().pending[idx].kind, OpKind::Refresh { .. })
    }

    fn refresh_pending(&self) -> bool {
        self.net.borrow().pending.iter().any(|op| matches!(op.kind, OpKind::Refresh { .. }))
    }

    fn send_index_of(&self, id: u32) -> Option<usize> {
        self.net
            .borrow()
            .pending
            .iter()
            .position(|op| matches!(op.kind, OpKind::Send { req, .. } if req == id))
    }

    /// Delivers pending operation `idx` (the server answers now), then lets tasks run.
    fn deliver(&mut self, idx: usize, fault: Fault) {
        let op = self.net.borrow_mut().pending.remove(idx);
        match op.kind {
            OpKind::Send { req, access, tx } => {
                let status = self.net.borrow_mut().answer_send(access);
                let _ = tx.send(Ok(Resp { status, req }));
            }
            OpKind::Refresh { token, tx } => {
                let outcome = self.net.borrow_mut().answer_refresh(token, fault);
                let _ = tx.send(outcome);
            }
        }
        self.run();
    }

    /// Delivers the first-sent response of request `id`.
    fn deliver_send_of(&mut self, id: u32) {
        let idx = self.send_index_of(id).expect("no send pending for request");
        self.deliver(idx, Fault::None);
    }

    /// Delivers every send pending now (not those they cause), in an order drawn from `rng`.
    fn deliver_sends(&mut self, rng: &mut Rng) {
        let mut ids: Vec<u32> = self
            .net
            .borrow()
            .pending
            .iter()
            .filter_map(|op| match op.kind {
                OpKind::Send { req, .. } => Some(req),
                _ => None,
            })
            .collect();
        while !ids.is_empty() {
            let id = ids.swap_remove(rng.below(ids.len()));
            if self.send_index_of(id).is_some() {
                self.deliver_send_of(id);
            }
        }
    }

    /// Delivers the one refresh call in flight.
    fn deliver_refresh(&mut self, fault: Fault) {
        let idx = {
            let net = self.net.borrow();
            let idx: Vec<usize> = (0..net.pending.len())
                .filter(|i| matches!(net.pending[*i].kind, OpKind::Refresh { .. }))
                .collect();
            assert_eq!(idx.len(), 1, "expected exactly one refresh call in flight");
            idx[0]
        };
        self.deliver(idx, fault);
    }

    /// Delivers everything, in a random order, with no faults, until the network is quiet.
    fn settle(&mut self, rng: &mut Rng) {
        self.run();
        loop {
            let ready = self.deliverable();
            if ready.is_empty() {
                break;
            }
            let idx = ready[rng.below(ready.len())];
            self.deliver(idx, Fault::None);
        }
    }

    /// The caller aborts request `id`: its signal fires and an unanswered send fails.
    fn abort(&mut self, id: u32) {
        let req = self.reqs[id as usize - 1].clone();
        req.abort.fired.set(true);
        for tx in req.abort.subscribers.borrow_mut().drain(..) {
            let _ = tx.send(());
        }
        let mine: Vec<Op> = {
            let mut net = self.net.borrow_mut();
            let (mine, rest) = std::mem::take(&mut net.pending)
                .into_iter()
                .partition(|op| matches!(op.kind, OpKind::Send { req, .. } if req == id));
            net.pending = rest;
            mine
        };
        for op in mine {
            if let OpKind::Send { tx, .. } = op.kind {
                let _ = tx.send(Err(AuthError::Aborted));
            }
        }
        self.run();
    }

    /// The other tab lets go of the lock: the refresh waiting on it calls the server.
    fn release_lock(&mut self) {
        let mut net = self.net.borrow_mut();
        net.other_tab = false;
        let tx = net.lock_wait.take().expect("no refresh waits on the other tab");
        net.call_refresh(tx);
        drop(net);
        self.run();
    }

    /// Gives the next waiting request that may probe its turn; `false` if none waits for one.
    fn give_turn(&mut self) -> bool {
        let turn = {
            let mut net = self.net.borrow_mut();
            let turns = std::mem::take(&mut net.turns);
            let mut live = turns.into_iter().filter(|t| !t.is_canceled());
            let first = live.next();
            net.turns = live.collect();
            first
        };
        let given = turn.is_some_and(|t| t.send(()).is_ok());
        self.run();
        given
    }

    fn login(&mut self) {
        self.net.borrow_mut().login();
        self.engine.mark_logged_in();
        self.run();
    }

    fn expire_access(&mut self) {
        self.net.borrow_mut().expire_access();
    }

    fn server<R>(&self, f: impl FnOnce(&Server) -> R) -> R {
        f(&self.net.borrow().server)
    }

    fn events_of(&self, id: u32) -> Vec<EventKind> {
        self.events.borrow().iter().filter(|(_, r)| *r == id).map(|(k, _)| *k).collect()
    }

    fn count(&self, name: &str) -> usize {
        self.events.borrow().iter().filter(|(k, _)| k.name() == name).count()
    }

    fn stats(&self) -> Stats {
        self.engine.stats()
    }
}

fn ok() -> Option<Outcome> {
    Some(Ok(200))
}

// ---------------------------------------------------------------------------------------------
// Scenarios

#[test]
fn burst_after_expiry_refreshes_once() {
    let mut h = Harness::new();
    let mut rng = Rng::new(7);
    h.expire_access();
    let ids: Vec<u32> = (0..50).map(|_| h.start()).collect();
    h.deliver_sends(&mut rng);
    assert!(h.refresh_pending());
    h.settle(&mut rng);
    assert_eq!(h.server(|s| s.refresh_calls), 1);
    assert_eq!(h.server(|s| s.reused), 0);
    assert_eq!(h.server(|s| s.max_refresh_in_flight), 1);
    for id in ids {
        assert_eq!(h.result(id), ok(), "request {id}");
        assert_eq!(h.sends(id), 2, "request {id}");
    }
    assert_eq!(
        h.stats(),
        Stats {
            requests: 50,
            refreshes_started: 1,
            refreshes_succeeded: 1,
            refreshes_failed: 0,
            queued: 50,
            replayed: 50,
            sessions_expired: 0,
        }
    );
    assert_eq!(h.count("replayed"), 50);
    assert_eq!(h.count("settled"), 50);
}

#[test]
fn late_401_is_replayed_without_refresh() {
    let mut h = Harness::new();
    let mut rng = Rng::new(1);
    h.expire_access();
    let a = h.start();
    let b = h.start();
    h.deliver_send_of(a);
    h.deliver_refresh(Fault::None);
    // b was sent with the old cookie before the refresh finished; its 401 arrives only now.
    h.deliver_send_of(b);
    h.settle(&mut rng);
    assert_eq!(h.result(a), ok());
    assert_eq!(h.result(b), ok());
    assert_eq!(h.server(|s| s.refresh_calls), 1);
    assert_eq!(h.sends(b), 2);
    assert!(!h.events_of(b).iter().any(|k| k.name() == "queued"));
    let st = h.stats();
    assert_eq!((st.refreshes_started, st.queued, st.replayed), (1, 1, 2));
}

#[test]
fn replay_that_fails_again_is_unauthorized_not_a_loop() {
    // A replay's 401 may be a new expiry, so it gets one more refresh; the third send is the last.
    let mut h = Harness::new();
    let mut rng = Rng::new(2);
    h.net.borrow_mut().server.always_401 = true;
    let a = h.start();
    h.settle(&mut rng);
    assert_eq!(h.result(a), Some(Err(AuthError::Unauthorized { status: 401 })));
    assert_eq!(h.server(|s| s.refresh_calls), 2);
    assert_eq!(h.sends(a), 3);
    assert_eq!(h.pending_len(), 0);
}

#[test]
fn rejected_refresh_expires_every_waiter_once() {
    let mut h = Harness::new();
    let mut rng = Rng::new(3);
    h.expire_access();
    let ids: Vec<u32> = (0..20).map(|_| h.start()).collect();
    h.deliver_sends(&mut rng);
    h.deliver_refresh(Fault::Reject);
    for &id in &ids {
        assert_eq!(h.result(id), Some(Err(AuthError::SessionExpired { status: Some(401) })), "request {id}");
        assert_eq!(h.sends(id), 1, "request {id} must not be replayed");
    }
    assert_eq!(h.count("session_expired"), 1);
    assert!(h.engine.is_expired());

    // Later 401s fail fast, without a refresh call.
    let late = h.start();
    h.settle(&mut rng);
    assert_eq!(h.result(late), Some(Err(AuthError::SessionExpired { status: None })));
    assert_eq!(h.server(|s| s.refresh_calls), 1);
    assert_eq!(h.count("session_expired"), 1);
    assert_eq!(h.stats().sessions_expired, 1);

    // After a login, an expired access token triggers a new refresh again.
    h.login();
    assert!(!h.engine.is_expired());
    h.expire_access();
    let again = h.start();
    h.settle(&mut rng);
    assert_eq!(h.result(again), ok());
    assert_eq!(h.server(|s| s.refresh_calls), 2);
    assert_eq!(h.server(|s| s.reused), 0);
    assert_eq!(h.count("session_expired"), 1);
}

#[test]
fn failed_refresh_is_not_a_logout() {
    let mut h = Harness::new();
    let mut rng = Rng::new(4);
    h.expire_access();
    let ids: Vec<u32> = (0..5).map(|_| h.start()).collect();
    h.deliver_sends(&mut rng);
    h.deliver_refresh(Fault::Status500);
    for &id in &ids {
        assert_eq!(h.result(id), Some(Err(AuthError::RefreshFailed { status: Some(500), cause: None })));
    }
    assert!(!h.engine.is_expired());
    assert_eq!(h.count("session_expired"), 0);
    let next = h.start();
    h.deliver_send_of(next);
    assert!(h.refresh_pending(), "a fresh refresh starts");
    h.settle(&mut rng);
    assert_eq!(h.result(next), ok());
    assert_eq!(h.server(|s| s.refresh_calls), 2);
    assert_eq!(h.server(|s| s.reused), 0);
    let st = h.stats();
    assert_eq!((st.refreshes_started, st.refreshes_succeeded, st.refreshes_failed), (2, 1, 1));
}

#[test]
fn network_error_during_refresh_is_refresh_failed_with_cause() {
    let mut h = Harness::new();
    let mut rng = Rng::new(5);
    h.expire_access();
    let a = h.start();
    let b = h.start();
    h.deliver_sends(&mut rng);
    h.deliver_refresh(Fault::Network);
    for id in [a, b] {
        let r = h.result(id).expect("settled");
        let e = r.expect_err("rejected");
        assert_eq!(e, AuthError::RefreshFailed { status: None, cause: Some(NET_CAUSE) });
        assert_eq!(e.cause(), Some(&NET_CAUSE));
    }
    assert!(!h.engine.is_expired());
    assert_eq!(h.count("session_expired"), 0);
}

#[test]
fn aborting_a_waiter_rejects_only_it() {
    let mut h = Harness::new();
    let mut rng = Rng::new(6);
    h.expire_access();
    let starter = h.start();
    let ids: Vec<u32> = (0..4).map(|_| h.start()).collect();
    h.deliver_send_of(starter);
    for &id in &ids {
        h.deliver_send_of(id);
    }
    assert!(h.refresh_pending());

    h.abort(ids[1]);
    assert_eq!(h.result(ids[1]), Some(Err(AuthError::Aborted)));
    assert!(h.refresh_pending(), "aborted before the refresh completed");
    assert!(h.result(ids[0]).is_none());

    h.abort(starter);
    assert_eq!(h.result(starter), Some(Err(AuthError::Aborted)));
    assert!(h.refresh_pending(), "aborting the starter does not cancel the refresh");

    h.settle(&mut rng);
    assert_eq!(h.server(|s| s.rotations), 1, "the refresh completed");
    for id in [ids[0], ids[2], ids[3]] {
        assert_eq!(h.result(id), ok(), "request {id}");
        assert_eq!(h.sends(id), 2);
    }
    assert_eq!(h.sends(starter), 1);
    assert_eq!(h.sends(ids[1]), 1);
    assert_eq!(h.server(|s| s.refresh_calls), 1);
    assert_eq!(h.stats().refreshes_succeeded, 1);
}

#[test]
fn unreplayable_body_is_rejected_before_sending() {
    let mut h = Harness::new();
    let id = h.start_with(true);
    assert_eq!(h.result(id), Some(Err(AuthError::BodyNotReplayable)));
    assert_eq!(h.sends(id), 0, "the server saw no request");
    assert_eq!(h.pending_len(), 0);
    assert_eq!(
        h.events_of(id),
        vec![EventKind::Settled { status: None, error: Some(authflight::ErrorCode::BodyNotReplayable) }]
    );
}

#[test]
fn event_sequence_for_a_replayed_request() {
    let mut h = Harness::new();
    let mut rng = Rng::new(9);
    h.expire_access();
    let a = h.start();
    let b = h.start();
    h.deliver_send_of(a);
    h.deliver_send_of(b);
    h.settle(&mut rng);
    let settled = EventKind::Settled { status: Some(200), error: None };
    assert_eq!(
        h.events_of(a),
        vec![
            EventKind::Sent,
            EventKind::AuthFailure { status: 401 },
            EventKind::RefreshStarted { refresh: 1 },
            EventKind::Queued { refresh: 1 },
            EventKind::RefreshEnded { refresh: 1, outcome: Verdict::Refreshed },
            EventKind::Replayed,
            settled,
        ]
    );
    assert_eq!(
        h.events_of(b),
        vec![
            EventKind::Sent,
            EventKind::AuthFailure { status: 401 },
            EventKind::Queued { refresh: 1 },
            EventKind::Replayed,
            settled,
        ]
    );
    assert!(h.events_of(0).is_empty());
}

#[test]
fn refreshed_elsewhere_replays_without_refresh() {
    let mut h = Harness::new();
    let mut rng = Rng::new(10);
    h.expire_access();
    let a = h.start();
    // Another tab refreshes: shared cookies rotate; this tab is told.
    h.net.borrow_mut().rotate();
    h.engine.note_refreshed_elsewhere();
    h.settle(&mut rng);
    assert_eq!(h.result(a), ok());
    assert_eq!(h.sends(a), 2);
    assert_eq!(h.server(|s| s.refresh_calls), 0);
    assert_eq!(h.stats().refreshes_started, 0);
    assert_eq!(h.stats().replayed, 1);
}

#[test]
fn expired_elsewhere_fires_once() {
    let mut h = Harness::new();
    let mut rng = Rng::new(11);
    h.expire_access();
    let a = h.start();
    h.deliver_send_of(a);
    assert!(h.refresh_pending());
    h.engine.note_expired_elsewhere();
    h.engine.note_expired_elsewhere();
    assert_eq!(h.count("session_expired"), 1);
    assert!(h.engine.is_expired());
    // The refresh in flight is then rejected too: listeners are not told again.
    h.deliver_refresh(Fault::Reject);
    assert_eq!(h.result(a), Some(Err(AuthError::SessionExpired { status: Some(401) })));
    h.engine.note_expired_elsewhere();
    let b = h.start();
    h.settle(&mut rng);
    assert_eq!(h.result(b), Some(Err(AuthError::SessionExpired { status: None })));
    assert_eq!(h.server(|s| s.refresh_calls), 1);
    assert_eq!(h.count("session_expired"), 1);
    assert_eq!(h.stats().sessions_expired, 1);
}

// ---------------------------------------------------------------------------------------------
// Randomized interleavings

const SEEDS: u64 = 300;

/// What a run exercised, summed over seeds to show the driver reaches the interesting cases.
#[derive(Default, Debug)]
struct Coverage {
    refreshes: u32,
    queued: u32,
    late_replays: u32,
    rejected: u32,
    failed: u32,
    hung: u32,
    aborted_waiters: u32,
}

fn for_each_seed(run: fn(u64) -> Coverage) -> Coverage {
    let mut sum = Coverage::default();
    for seed in 0..SEEDS {
        match std::panic::catch_unwind(|| run(seed)) {
            Ok(c) => {
                sum.refreshes += c.refreshes;
                sum.queued += c.queued;
                sum.late_replays += c.late_replays;
                sum.rejected += c.rejected;
                sum.failed += c.failed;
                sum.hung += c.hung;
                sum.aborted_waiters += c.aborted_waiters;
            }
            Err(_) => panic!("invariant broken with seed {seed}"),
        }
    }
    sum
}

/// Requests replayed without waiting (their 401 came after the refresh they would have joined).
fn late_replays(h: &Harness) -> u32 {
    let n = h.reqs.len() as u32;
    (1..=n)
        .filter(|id| {
            let ev = h.events_of(*id);
            ev.contains(&EventKind::Replayed) && !ev.iter().any(|k| k.name() == "queued")
        })
        .count() as u32
}

/// Common end-of-run checks.
fn check_common(h: &Harness, seed: u64) {
    let n = h.reqs.len() as u32;
    assert!(h.unsettled().is_empty(), "seed {seed}: unsettled requests");
    assert_eq!(h.pending_len(), 0, "seed {seed}");
    assert!(h.server(|s| s.max_refresh_in_flight) <= 1, "seed {seed}: concurrent refresh calls");
    assert_eq!(h.server(|s| s.reused), 0, "seed {seed}: a refresh token was reused");
    let st = h.stats();
    assert_eq!(st.requests, n, "seed {seed}");
    assert_eq!(st.refreshes_started, h.server(|s| s.refresh_calls), "seed {seed}");
    assert_eq!(st.refreshes_succeeded + st.refreshes_failed, st.refreshes_started, "seed {seed}");
    assert_eq!(st.refreshes_succeeded, h.server(|s| s.rotations), "seed {seed}");
    let mut twice = 0;
    for id in 1..=n {
        let sends = h.sends(id);
        assert!(sends <= 2, "seed {seed}: request {id} sent {sends} times");
        twice += u32::from(sends == 2);
        let settled = h.events_of(id).iter().filter(|k| k.name() == "settled").count();
        assert_eq!(settled, 1, "seed {seed}: request {id} settled {settled} times");
    }
    assert_eq!(st.replayed, twice, "seed {seed}");
    assert_eq!(st.sessions_expired as usize, h.count("session_expired"), "seed {seed}");
}

fn run_no_faults(seed: u64) -> Coverage {
    run_no_faults_with_cap(seed, None)
}

/// The same interleavings with `maxConcurrent` set (1 to 6): the cap holds and nothing changes.
fn run_no_faults_capped(seed: u64) -> Coverage {
    run_no_faults_with_cap(seed, Some(1 + (seed % 6) as u32))
}

fn run_no_faults_with_cap(seed: u64, cap: Option<u32>) -> Coverage {
    let mut rng = Rng::new(seed);
    let mut h = Harness::new();
    h.engine.set_max_concurrent(cap);
    let total = 1 + rng.below(60) as u32;
    // Expiry episodes with at least one 401: (401 count at the episode's start).
    let mut episode_start = 0;
    let mut episodes_with_401 = 0;
    loop {
        let ready = h.deliverable();
        let started = h.reqs.len() as u32;
        if started == total && ready.is_empty() {
            break;
        }
        match rng.below(10) {
            0..=2 if started < total => {
                h.start();
            }
            3 if h.pending_len() == 0 => {
                let now = h.server(|s| s.unauthorized);
                episodes_with_401 += u32::from(now > episode_start);
                episode_start = now;
                h.expire_access();
            }
            _ if !ready.is_empty() => {
                let idx = ready[rng.below(ready.len())];
                h.deliver(idx, Fault::None);
            }
            _ => {}
        }
        assert!(h.server(|s| s.refresh_in_flight) <= 1, "seed {seed}");
        if let Some(cap) = cap {
            assert!(h.sends_in_flight() <= cap as usize, "seed {seed}: more than {cap} requests in flight");
        }
    }
    episodes_with_401 += u32::from(h.server(|s| s.unauthorized) > episode_start);
    check_common(&h, seed);
    assert_eq!(
        h.server(|s| s.refresh_calls),
        episodes_with_401,
        "seed {seed}: one refresh per expiry episode with a 401"
    );
    for id in 1..=total {
        assert_eq!(h.result(id), ok(), "seed {seed}: request {id}");
    }
    assert_eq!(h.count("session_expired"), 0, "seed {seed}");
    Coverage {
        refreshes: h.stats().refreshes_started,
        queued: h.stats().queued,
        late_replays: late_replays(&h),
        ..Coverage::default()
    }
}

#[derive(Default)]
struct Injected {
    rejected: u32,
    failed_500: u32,
    failed_network: u32,
}

fn run_with_faults(seed: u64) -> Coverage {
    let mut rng = Rng::new(seed);
    let mut h = Harness::new();
    let total = 1 + rng.below(60) as u32;
    let mut injected = Injected::default();
    let mut aborted: HashSet<u32> = HashSet::new();
    let mut cov = Coverage::default();
    loop {
        let ready = h.deliverable();
        let held = h.held();
        let started = h.reqs.len() as u32;
        if started == total && h.pending_len() == 0 {
            break;
        }
        let idle = h.pending_len() == 0;
        match rng.below(20) {
            0..=4 if started < total => {
                h.start();
            }
            5 if idle => h.expire_access(),
            6 if idle && h.engine.is_expired() => h.login(),
            7 => {
                let open = h.unsettled();
                if !open.is_empty() {
                    let id = open[rng.below(open.len())];
                    h.abort(id);
                    aborted.insert(id);
                    cov.aborted_waiters += u32::from(h.send_index_of(id).is_none() && h.refresh_pending());
                    assert_eq!(
                        h.result(id),
                        Some(Err(AuthError::Aborted)),
                        "seed {seed}: abort of request {id} not immediate"
                    );
                }
            }
            8 | 9 if !held.is_empty() && (ready.is_empty() || rng.chance(30)) => {
                let idx = held[rng.below(held.len())];
                h.deliver(idx, Fault::None);
            }
            _ if !ready.is_empty() => {
                let idx = ready[rng.below(ready.len())];
                if h.is_refresh(idx) {
                    let fault = match rng.below(100) {
                        0..=49 => Fault::None,
                        50..=64 => Fault::Reject,
                        65..=79 => Fault::Status500,
                        80..=89 => Fault::Network,
                        _ => {
                            h.net.borrow_mut().pending[idx].held = true;
                            cov.hung += 1;
                            continue;
                        }
                    };
                    match fault {
                        Fault::Reject => injected.rejected += 1,
                        Fault::Status500 => injected.failed_500 += 1,
                        Fault::Network => injected.failed_network += 1,
                        Fault::None => {}
                    }
                    h.deliver(idx, fault);
                } else {
                    h.deliver(idx, Fault::None);
                }
            }
            _ if ready.is_empty() && !held.is_empty() => {
                h.deliver(held[0], Fault::None);
            }
            _ => {}
        }
        assert!(h.server(|s| s.refresh_in_flight) <= 1, "seed {seed}");
    }
    check_common(&h, seed);
    for id in 1..=total {
        let r = h.result(id).expect("settled");
        let allowed = match &r {
            Ok(200) => true,
            Err(AuthError::Aborted) => aborted.contains(&id),
            Err(AuthError::SessionExpired { status: Some(401) }) => injected.rejected > 0,
            Err(AuthError::SessionExpired { status: None }) => injected.rejected > 0,
            Err(AuthError::RefreshFailed { status: Some(500), cause: None }) => injected.failed_500 > 0,
            Err(AuthError::RefreshFailed { status: None, cause: Some(NET_CAUSE) }) => {
                injected.failed_network > 0
            }
            _ => false,
        };
        assert!(allowed, "seed {seed}: request {id} ended with {r:?}");
    }
    // Each rejection came while the session was live, so each expired it exactly once.
    assert_eq!(
        h.count("session_expired") as u32,
        h.server(|s| s.rejections),
        "seed {seed}: one session_expired per expiry"
    );
    assert!(h.server(|s| s.rejections) <= injected.rejected, "seed {seed}");
    cov.refreshes = h.stats().refreshes_started;
    cov.queued = h.stats().queued;
    cov.late_replays = late_replays(&h);
    cov.rejected = h.server(|s| s.rejections);
    cov.failed = injected.failed_500 + injected.failed_network;
    cov
}

#[test]
fn random_interleavings_keep_invariants() {
    let c = for_each_seed(run_no_faults);
    println!("{c:?}");
    assert!(c.refreshes > SEEDS as u32 && c.queued > c.refreshes && c.late_replays > 0);
}

#[test]
fn random_interleavings_with_a_cap_keep_invariants() {
    let c = for_each_seed(run_no_faults_capped);
    assert!(c.refreshes > SEEDS as u32 && c.queued > c.refreshes);
}

#[test]
fn capped_burst_after_expiry_meets_only_the_first_401s() {
    let mut h = Harness::new();
    let mut rng = Rng::new(21);
    h.engine.set_max_concurrent(Some(3));
    h.expire_access();
    let ids: Vec<u32> = (0..30).map(|_| h.start()).collect();
    assert_eq!(h.sends_in_flight(), 3, "the cap holds the rest back");
    loop {
        let ready = h.deliverable();
        if ready.is_empty() {
            break;
        }
        h.deliver(ready[rng.below(ready.len())], Fault::None);
        assert!(h.sends_in_flight() <= 3);
    }
    assert_eq!(h.server(|s| s.unauthorized), 3, "only the requests already in flight met the 401");
    assert_eq!((h.server(|s| s.refresh_calls), h.server(|s| s.reused)), (1, 0));
    for id in ids {
        assert_eq!(h.result(id), ok(), "request {id}");
    }
    assert_eq!(h.stats().replayed, 3);
}

#[test]
fn aborting_a_request_held_back_by_the_cap_frees_its_turn() {
    let mut h = Harness::new();
    let mut rng = Rng::new(22);
    h.engine.set_max_concurrent(Some(1));
    let a = h.start();
    let b = h.start();
    let c = h.start();
    assert_eq!(h.sends_in_flight(), 1);
    h.abort(b);
    h.run();
    assert_eq!(h.result(b).map(|r| r.is_err()), Some(true), "rejected at once, while held back");
    assert_eq!(h.sends(b), 0);
    h.settle(&mut rng);
    assert_eq!((h.result(a), h.result(c)), (ok(), ok()));
}

#[test]
fn random_interleavings_with_faults_keep_invariants() {
    let c = for_each_seed(run_with_faults);
    println!("{c:?}");
    assert!(c.rejected > 0 && c.failed > 0 && c.hung > 0 && c.aborted_waiters > 0);
    assert!(c.queued > c.refreshes && c.late_replays > 0);
}

// ---------------------------------------------------------------------------------------------
// Known engine gaps (found by this model; see the reasons). Run with `--ignored`.

#[test]
fn stale_401_during_a_second_refresh_joins_it() {
    let mut h = Harness::new();
    let mut rng = Rng::new(12);
    h.expire_access();
    let a = h.start();
    let slow = h.start(); // sent with the generation-0 cookie; its answer is slow
    h.deliver_send_of(a);
    h.deliver_refresh(Fault::None);
    h.deliver_send_of(a);
    assert_eq!(h.result(a), ok());
    // The new access token expires too, and refresh 2 starts.
    h.expire_access();
    let c = h.start();
    h.deliver_send_of(c);
    assert!(h.refresh_pending());
    // Only now does the slow request's 401 arrive.
    h.deliver_send_of(slow);
    h.settle(&mut rng);
    assert_eq!(h.result(c), ok());
    assert_eq!(h.result(slow), ok(), "replayed with the cookie refresh 2 replaced");
}

#[test]
fn refresh_rejected_after_a_login_does_not_expire_the_new_session() {
    let mut h = Harness::new();
    let mut rng = Rng::new(13);
    h.expire_access();
    let a = h.start();
    h.deliver_send_of(a);
    assert!(h.refresh_pending(), "refresh 1 carries the old refresh token");
    // The user logs out and in again (e.g. in another tab); the old token is blacklisted.
    {
        let mut net = h.net.borrow_mut();
        let old = net.server.refresh;
        net.server.blacklist.insert(old);
    }
    h.login();
    h.deliver_refresh(Fault::None);
    assert_eq!(h.count("session_expired"), 0, "listeners told of an expiry right after a login");
    assert!(!h.engine.is_expired());
    let b = h.start();
    h.settle(&mut rng);
    assert_eq!(h.result(b), ok());
}

// ---------------------------------------------------------------------------------------------
// Probes: while a refresh waits on another tab, a waiting GET may learn that the jar is fresh.

#[test]
fn a_probe_accepted_while_another_tab_holds_the_lock_ends_the_refresh_without_a_call() {
    let mut h = Harness::new();
    let mut rng = Rng::new(31);
    h.net.borrow_mut().other_tab = true;
    h.expire_access();
    let a = h.start();
    let b = h.start();
    let post = h.start_post();
    h.deliver_sends(&mut rng);
    assert_eq!(h.stats().refreshes_started, 1);
    assert_eq!(h.net.borrow().turns.len(), 2, "the POST may not probe");
    // The other tab was frozen mid-refresh, but its rotation landed in the jar.
    h.net.borrow_mut().rotate();
    assert!(h.give_turn());
    assert_eq!(h.sends_in_flight(), 1, "one probe per turn");
    h.deliver_send_of(a);
    assert_eq!(h.result(a), ok(), "the probe is delivered");
    assert_eq!(h.net.borrow().probed, 1);
    h.settle(&mut rng);
    for id in [a, b, post] {
        assert_eq!(h.result(id), ok(), "request {id}");
        assert_eq!(h.sends(id), 2, "request {id}");
    }
    assert!(!h.give_turn(), "the turns end with the wait");
    assert_eq!(h.server(|s| s.refresh_calls), 0, "the other tab's rotation serves everyone");
    let st = h.stats();
    assert_eq!((st.refreshes_started, st.refreshes_succeeded, st.replayed), (1, 1, 3));
    assert_eq!(
        h.events_of(a),
        vec![
            EventKind::Sent,
            EventKind::AuthFailure { status: 401 },
            EventKind::RefreshStarted { refresh: 1 },
            EventKind::Queued { refresh: 1 },
            EventKind::Replayed,
            EventKind::Settled { status: Some(200), error: None },
            EventKind::RefreshEnded { refresh: 1, outcome: Verdict::Refreshed },
        ]
    );
}

#[test]
fn a_probe_that_meets_a_401_waits_on_without_a_second_turn_or_a_place() {
    let mut h = Harness::new();
    let mut rng = Rng::new(32);
    h.engine.set_max_concurrent(Some(1));
    h.net.borrow_mut().other_tab = true;
    h.expire_access();
    let a = h.start();
    h.deliver_send_of(a);
    let b = h.start(); // held back: a refresh runs
    assert_eq!(h.sends(b), 0);
    assert!(h.give_turn());
    assert_eq!(h.sends_in_flight(), 1, "the probe goes out, outside the cap");
    h.deliver_send_of(a);
    assert_eq!(h.result(a), None, "not accepted: the jar is not fresh yet");
    assert!(!h.give_turn(), "one probe per wait");
    assert_eq!(h.net.borrow().probed, 0);
    h.release_lock();
    h.settle(&mut rng);
    assert_eq!((h.result(a), h.result(b)), (ok(), ok()));
    assert_eq!((h.sends(a), h.sends(b)), (3, 1), "sent, probed, replayed; b only once the refresh ended");
    assert_eq!((h.server(|s| s.refresh_calls), h.server(|s| s.reused)), (1, 0));
    assert_eq!(h.stats().replayed, 1, "a probe not accepted is no replay");
}
