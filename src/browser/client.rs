//! [`AuthClient`] for Rust front ends: the async engine over [`BrowserTransport`], built from the
//! same options object the npm package reads.

use super::tabs::{Message, Tabs};
use super::{io, send, BrowserTransport, FetchRequest, Refresher};
use crate::engine::{Engine, Event, Listeners, Observer, RefreshOutcome, Stats};
use crate::{AuthError, Config, ConfigError};
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::vec::Vec;
use wasm_bindgen::JsValue;

/// The engine of one client and what it was built from.
#[derive(Debug)]
struct Client {
    engine: Engine<BrowserTransport>,
}

impl Client {
    /// Checks `options` (the JS form) and builds the client; events go to `observer`. Returns the
    /// client and its `io`.
    pub fn new(options: &JsValue, observer: Box<dyn Observer>) -> Result<(Client, JsValue), JsValue> {
        let io = io::make_io(options)?;
        let n = |k| io::num(&io, k) as u32;
        let statuses: Vec<u16> = (io::AUTH_STATUSES..).map(|k| n(k) as u16).take_while(|s| *s != 0).collect();
        let tabs = (n(io::CROSS_TAB) != 0).then(|| Rc::new(Tabs::new(&io)));
        let refresher = Rc::new(Refresher::new(io.clone()));
        let transport = BrowserTransport { io: io.clone(), refresher: refresher.clone(), tabs: tabs.clone() };
        let engine = Engine::new(transport, statuses, Some(observer));
        // An abandoned call that succeeds late: its cookies are in the jar, as after a refresh elsewhere.
        let weak = engine.downgrade();
        refresher.on_late_success(Box::new(move || {
            if let Some(engine) = weak.upgrade() {
                engine.note_refreshed_elsewhere();
                if let Some(tabs) = &tabs {
                    tabs.record(&RefreshOutcome::Refreshed);
                }
            }
        }));
        let max = n(io::MAX_CONCURRENT);
        engine.set_max_concurrent((max != 0).then_some(max));
        Ok((Client { engine }, io))
    }

    /// `fetch(input, init)` with the JS argument forms; see the crate docs for the refresh rules.
    pub async fn fetch(&self, input: &JsValue, init: &JsValue) -> Result<JsValue, AuthError> {
        let io = &self.engine.transport().io;
        let req = io::prepare(io, input, init).map_err(|cause| AuthError::InvalidRequest { cause })?;
        match io::route(io) {
            0 => self.engine.fetch(req).await,
            1 => send(&JsValue::NULL, req).await,
            _ => Err(AuthError::BodyNotReplayable),
        }
    }

    /// A message from another client of the same refresh URL (its number on the channel).
    pub fn message(&self, k: u32) {
        match Message::from_number(k) {
            Some(Message::Refreshed) => {
                if let Some(tabs) = &self.engine.transport().tabs {
                    tabs.jar_fresh(false);
                }
                self.engine.note_refreshed_elsewhere();
            }
            Some(Message::Expired) => self.engine.note_expired_elsewhere(),
            Some(Message::Login) => self.engine.mark_logged_in(),
            None => {}
        }
    }

    /// A login here: refresh handling resumes, here and in every other tab.
    pub fn mark_logged_in(&self) {
        self.engine.mark_logged_in();
        if let Some(tabs) = &self.engine.transport().tabs {
            tabs.logged_in();
        }
    }

    pub fn stats(&self) -> Stats {
        self.engine.stats()
    }

    fn engine(&self) -> &Engine<BrowserTransport> {
        &self.engine
    }
}

/// A `fetch` that survives concurrent 401s: one refresh per expiry, then each waiting request replayed.
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
    client: Rc<Client>,
    listeners: Rc<Listeners>,
    /// Routes messages from other tabs to this client; lives as long as it.
    _hook: wasm_bindgen::closure::Closure<dyn Fn(u32)>,
}

impl AuthClient {
    /// A client for `config`; fails with `invalid_config` if `refreshUrl` is not on a handled origin.
    pub fn new(config: Config) -> Result<AuthClient, AuthError> {
        AuthClient::with_classifier(config, None)
    }

    /// Like [`AuthClient::new`], with a JS `classifyRefresh(response)` deciding how a refresh ended.
    pub fn with_classifier(
        config: Config,
        classify: Option<js_sys::Function>,
    ) -> Result<AuthClient, AuthError> {
        let listeners = Rc::new(Listeners::default());
        let options = options_of(&config, classify);
        let (client, io) = Client::new(&options, Box::new(listeners.clone())).map_err(|e| {
            let field = js_sys::Reflect::get(&e, &"field".into()).ok().and_then(|f| f.as_string());
            AuthError::InvalidConfig(match field.as_deref() {
                Some("refreshUrl") | None => ConfigError::new(
                    "refreshUrl",
                    "must be a valid URL on the page's origin or on one of allowedOrigins",
                ),
                Some(_) => ConfigError::named(field.unwrap_or_default(), "was refused by the browser"),
            })
        })?;
        let client = Rc::new(client);
        let weak = Rc::downgrade(&client);
        let hook = wasm_bindgen::closure::Closure::<dyn Fn(u32)>::new(move |k| {
            if let Some(c) = weak.upgrade() {
                c.message(k);
            }
        });
        io::set_hook(&io, hook.as_ref());
        Ok(AuthClient { client, listeners, _hook: hook })
    }

    /// Sends `req` like `fetch`; 4xx/5xx responses resolve. See the crate docs for the refresh rules.
    ///
    /// `req` is a [`web_sys::Request`] (answered with a [`web_sys::Response`]) or, with the `gloo`
    /// feature, a gloo-net request, builder included (answered with `gloo_net::http::Response`): see
    /// [`FetchRequest`]. Where a gloo-net app wrote `Request::get(url).header(..).send().await`, it
    /// writes `api.fetch(Request::get(url).header(..)).await`.
    pub async fn fetch<R: FetchRequest>(&self, req: R) -> Result<R::Response, AuthError> {
        use wasm_bindgen::JsCast;
        let req = req.into_request()?;
        let res = self.client.fetch(&req.into(), &JsValue::UNDEFINED).await?;
        Ok(R::from_response(res.unchecked_into()))
    }

    /// `fetch(input, init)` with the JS argument forms: a string, `URL` or `Request`, and a `RequestInit`.
    pub async fn fetch_with(&self, input: &JsValue, init: &JsValue) -> Result<JsValue, AuthError> {
        self.client.fetch(input, init).await
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
        self.client.mark_logged_in();
    }

    /// Whether the session is known to be over (until [`AuthClient::mark_logged_in`]).
    pub fn is_session_expired(&self) -> bool {
        self.client.engine().is_expired()
    }

    /// Counts of requests, refreshes, queued and replayed requests since this client was built.
    pub fn stats(&self) -> Stats {
        self.client.stats()
    }
}

/// `config` as the JS options object `io.js` reads (it was checked by [`crate::ConfigBuilder::build`]).
fn options_of(c: &Config, classify: Option<js_sys::Function>) -> JsValue {
    use js_sys::{Array, Object, Reflect};
    let o = Object::new();
    let set = |target: &Object, k: &str, v: JsValue| {
        let _ = Reflect::set(target, &k.into(), &v);
    };
    set(&o, "refreshUrl", c.refresh_url.as_str().into());
    set(&o, "refreshMethod", c.refresh_method.as_str().into());
    let headers = Object::new();
    for (name, value) in &c.refresh_headers {
        set(&headers, name, value.as_str().into());
    }
    set(&o, "refreshHeaders", headers.into());
    set(&o, "refreshBody", c.refresh_body.as_deref().map_or(JsValue::NULL, JsValue::from));
    set(&o, "authStatuses", c.auth_statuses.iter().map(|s| JsValue::from(*s)).collect::<Array>().into());
    set(
        &o,
        "allowedOrigins",
        c.allowed_origins.iter().map(|s| JsValue::from(s.as_str())).collect::<Array>().into(),
    );
    if let Some(csrf) = &c.csrf {
        let x = Object::new();
        set(&x, "cookie", csrf.cookie.as_str().into());
        set(&x, "header", csrf.header.as_str().into());
        set(&o, "csrf", x.into());
    }
    set(&o, "refreshTimeoutMs", c.refresh_timeout_ms.into());
    set(&o, "lockTimeoutMs", c.lock_timeout_ms.into());
    set(&o, "confirmDelayMs", c.confirm_delay_ms.into());
    set(&o, "crossTab", c.cross_tab.into());
    if let Some(m) = c.max_concurrent {
        set(&o, "maxConcurrent", m.into());
    }
    if let Some(f) = classify {
        set(&o, "classifyRefresh", f.into());
    }
    o.into()
}
