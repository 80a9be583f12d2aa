//! The browser layer: the engine's [`Transport`] over `fetch`, and [`AuthClient`] for Rust front ends.
//!
//! Works wherever `fetch` does (windows and workers). Only this layer touches web-sys.

mod abort;
mod global;
pub(crate) mod refresh;
mod request;
mod settings;
mod tabs;

use crate::engine::{Engine, Event, Listeners, RefreshOutcome, Stats, Transport};
use crate::{AuthError, Config};
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use global::{fetch_request, performance_now};
use js_sys::Function;
use request::{apply_csrf, fetch_error, route, Route};
use settings::Settings;
use tabs::{Message, Tabs};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, Response};

/// [`Transport`] over the global `fetch`, with the client's cookies, CSRF header and timeout.
#[derive(Debug)]
pub struct BrowserTransport {
    settings: Rc<Settings>,
    refresher: Rc<refresh::Refresher>,
    /// Coordination with other tabs and clients; `None` with `crossTab: false`.
    tabs: Option<Rc<Tabs>>,
}

impl Transport for BrowserTransport {
    type Request = Request;
    type Response = Response;
    type Cause = JsValue;

    fn duplicate(&self, req: &Request) -> Result<Request, AuthError> {
        // A request without a body can be sent again as it is: no copy on the hot path.
        if req.body().is_none() {
            return Ok(JsValue::from(req).unchecked_into());
        }
        req.clone().map_err(|_| AuthError::BodyNotReplayable)
    }

    fn send(&self, req: Request) -> LocalBoxFuture<'static, Result<Response, AuthError>> {
        apply_csrf(&self.settings, &req);
        send_plain(req)
    }

    fn status(&self, res: &Response) -> u16 {
        res.status()
    }

    fn is_handled(&self, res: &Response) -> bool {
        !res.redirected() || self.settings.handles(crate::config::origin_of(&res.url()).as_deref())
    }

    fn discard(&self, res: Response) {
        // Release the connection's loader now rather than when the response is collected.
        if let Some(body) = res.body() {
            let _ = body.cancel();
        }
    }

    fn aborted(&self, req: &Request) -> LocalBoxFuture<'static, ()> {
        abort::Aborted::new(req.signal()).boxed_local()
    }

    fn refresh(&self, since: f64) -> LocalBoxFuture<'static, RefreshOutcome<JsValue>> {
        let refresher = self.refresher.clone();
        let tabs = self.tabs.clone();
        async move {
            match tabs {
                Some(tabs) => tabs.refresh(&refresher, since).await,
                None => refresher.run().await,
            }
        }
        .boxed_local()
    }

    fn spawn(&self, task: LocalBoxFuture<'static, ()>) {
        wasm_bindgen_futures::spawn_local(task);
    }

    fn now(&self) -> f64 {
        performance_now()
    }
}

/// `fetch(req)` as is, mapping a rejection to `aborted` (the signal fired) or `network`.
fn send_plain(req: Request) -> LocalBoxFuture<'static, Result<Response, AuthError>> {
    let sent = fetch_request(&req);
    async move {
        let result = match sent {
            Ok(p) => JsFuture::from(p).await,
            Err(e) => Err(e),
        };
        result.map(JsCast::unchecked_into).map_err(|e| {
            if req.signal().aborted() {
                AuthError::Aborted
            } else {
                fetch_error(e)
            }
        })
    }
    .boxed_local()
}

/// A `fetch` that survives concurrent 401s: one refresh per expiry, then each waiting request replayed once.
///
/// ```no_run
/// # async fn demo() -> Result<(), authflight::AuthError> {
/// use authflight::{AuthClient, Config};
/// let api = AuthClient::new(Config::builder("/api/auth/token/refresh/").build()?)?;
/// let me = api.fetch(web_sys::Request::new_with_str("/api/me/").unwrap()).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct AuthClient {
    engine: Engine<BrowserTransport>,
    listeners: Rc<Listeners>,
}

impl AuthClient {
    /// A client for `config`; fails with `invalid_config` if `refreshUrl` is not on a handled origin.
    pub fn new(config: Config) -> Result<AuthClient, AuthError> {
        AuthClient::with_classifier(config, None)
    }

    /// Like [`AuthClient::new`], with a JS `classifyRefresh(response)` deciding how a refresh ended.
    pub fn with_classifier(config: Config, classify: Option<Function>) -> Result<AuthClient, AuthError> {
        let statuses = config.auth_statuses.clone();
        let max_concurrent = config.max_concurrent;
        let settings = Rc::new(Settings::new(config, classify)?);
        let tabs = settings.config.cross_tab.then(|| Rc::new(Tabs::new(&settings)));
        let listeners = Rc::new(Listeners::default());
        let observer: Box<dyn crate::engine::Observer> = Box::new(listeners.clone());
        let refresher = Rc::new(refresh::Refresher::new(settings.clone()));
        let transport = BrowserTransport { settings, refresher, tabs: tabs.clone() };
        let engine = Engine::new(transport, statuses, Some(observer));
        engine.set_max_concurrent(max_concurrent);
        if let Some(tabs) = tabs {
            let weak = engine.downgrade();
            tabs.listen(move |message| {
                let Some(engine) = weak.upgrade() else { return };
                match message {
                    Message::Refreshed => engine.note_refreshed_elsewhere(),
                    Message::Expired => engine.note_expired_elsewhere(),
                    Message::Login => engine.mark_logged_in(),
                }
            });
        }
        Ok(AuthClient { engine, listeners })
    }

    /// Sends `req` like `fetch`; 4xx/5xx responses resolve. See the crate docs for the refresh rules.
    pub async fn fetch(&self, req: Request) -> Result<Response, AuthError> {
        self.fetch_with(&req, &JsValue::UNDEFINED).await
    }

    /// `fetch(input, init)` with the JS argument forms: a string, `URL` or `Request`, and a `RequestInit`.
    pub async fn fetch_with(&self, input: &JsValue, init: &JsValue) -> Result<Response, AuthError> {
        match route(&self.engine.transport().settings, input, init)? {
            Route::Handle(req) => self.engine.fetch(req).await,
            Route::PassThrough(req) => send_plain(req).await,
        }
    }

    /// Calls `f` for each event named `name` (every event if `None`); returns an id for [`AuthClient::off`].
    pub fn on(&self, name: Option<&'static str>, f: impl Fn(&Event) + 'static) -> u32 {
        self.listeners.add(name, f)
    }

    /// Removes the listener `id`; `false` if it was already removed.
    pub fn off(&self, id: u32) -> bool {
        self.listeners.remove(id)
    }

    /// Reports a successful login: after a session expiry, auth failures trigger refreshes again,
    /// here and in every other tab.
    pub fn mark_logged_in(&self) {
        self.engine.mark_logged_in();
        if let Some(tabs) = &self.engine.transport().tabs {
            tabs.logged_in();
        }
    }

    /// Whether the session is known to be over (until [`AuthClient::mark_logged_in`]).
    pub fn is_session_expired(&self) -> bool {
        self.engine.is_expired()
    }

    /// Counts of requests, refreshes, queued and replayed requests since this client was built.
    pub fn stats(&self) -> Stats {
        self.engine.stats()
    }
}

/// `value.name` if it is a string (used to recognise `AuthError`s).
pub(crate) fn name_of(value: &JsValue) -> Option<String> {
    global::string_prop(value, "name")
}

pub(crate) use global::{object_entries, object_keys};

/// The global function `name`, if there is one.
pub(crate) fn global_fn(name: &str) -> Result<Function, JsValue> {
    global::global_get(name).dyn_into::<Function>()
}
