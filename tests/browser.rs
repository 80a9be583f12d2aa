//! The crate's Rust API (`authflight::AuthClient`, for Leptos, Yew, Dioxus) in headless Chromium
//! against the real Django + Simple JWT server. The npm package's JS API has its own, larger suite
//! (`tests/e2e/browser.test.mjs`); both drive the same decisions (`src/engine`).
//!
//! Run by `make test`, which starts `tests/server` and passes its URL in `AUTHFLIGHT_SERVER`.
//! Every test asserts on the server's own counts (`/api/test/stats/`), not only on the client's.
#![cfg(target_arch = "wasm32")]

use authflight::{AuthClient, AuthError, Config, ConfigBuilder, ErrorCode};
use futures::future::{join, join_all};
use js_sys::{Function, Promise, Reflect};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{Request, RequestInit, Response};

wasm_bindgen_test_configure!(run_in_browser);

const SERVER: &str = match option_env!("AUTHFLIGHT_SERVER") {
    Some(s) => s,
    None => "http://127.0.0.1:8765",
};

fn url(path: &str) -> String {
    let mut u = String::from(SERVER);
    u.push_str(path);
    u
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap()
}

fn num(v: &JsValue, key: &str) -> u32 {
    get(v, key).as_f64().unwrap_or(-1.0) as u32
}

/// A plain credentialed `fetch` (the test's own calls, not through authflight).
async fn raw(method: &str, path: &str, body: Option<&str>) -> Response {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(web_sys::RequestCredentials::Include);
    if let Some(b) = body {
        init.set_body(&JsValue::from_str(b));
        let h = web_sys::Headers::new().unwrap();
        h.set("Content-Type", "application/json").unwrap();
        init.set_headers(&h);
    }
    let req = Request::new_with_str_and_init(&url(path), &init).unwrap();
    let g: web_sys::Window = js_sys::global().unchecked_into();
    JsFuture::from(g.fetch_with_request(&req)).await.unwrap().unchecked_into()
}

async fn json(res: &Response) -> JsValue {
    JsFuture::from(res.json().unwrap()).await.unwrap()
}

async fn server_stats() -> JsValue {
    json(&raw("GET", "/api/test/stats/", None).await).await
}

async fn login() {
    let res =
        raw("POST", "/api/auth/login/", Some(r#"{"username":"demo","password":"demo-password-123"}"#)).await;
    assert_eq!(res.status(), 200, "demo login");
}

/// Fresh counters and a fresh logged-in session whose access token the server no longer accepts;
/// no cross-tab marker left by an earlier test.
async fn expired_session() {
    set_cookie(&format!("{}=; path=/; max-age=0", marker_name()));
    assert_eq!(raw("POST", "/api/test/reset/?logout=1", None).await.status(), 200);
    login().await;
    assert_eq!(raw("POST", "/api/test/expire-access/", None).await.status(), 200);
}

async fn post_test(path: &str, body: &str) {
    assert_eq!(raw("POST", path, Some(body)).await.status(), 200, "{path}");
}

fn refresh_url() -> String {
    url("/api/auth/token/refresh/")
}

fn options(f: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> Config {
    f(Config::builder(refresh_url()).allowed_origin(SERVER)).build().expect("valid options")
}

fn client() -> AuthClient {
    client_with(|b| b)
}

fn client_with(f: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> AuthClient {
    AuthClient::new(options(f)).expect("a client")
}

/// `Date.now()`.
fn now() -> f64 {
    js_sys::Date::now()
}

async fn sleep(ms: i32) {
    let p = Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    JsFuture::from(p).await.unwrap();
}

fn document() -> web_sys::HtmlDocument {
    web_sys::window().unwrap().document().unwrap().unchecked_into()
}

fn set_cookie(cookie: &str) {
    document().set_cookie(cookie).unwrap();
}

/// The cross-tab marker cookie's name: `authflight_` and the FNV-1a hash of the refresh URL.
fn marker_name() -> String {
    let hash =
        refresh_url().bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    format!("authflight_{hash:08x}")
}

/// The marker cookie's value, if there is one.
fn marker() -> Option<String> {
    let name = marker_name();
    let all = document().cookie().unwrap();
    all.split(';').find_map(|pair| pair.trim().strip_prefix(&name)?.strip_prefix('=').map(String::from))
}

/// Another tab's lock holder, frozen: takes the main Web Lock and keeps it until the returned
/// function is called.
async fn hold_lock() -> Function {
    let take = Function::new_with_args(
        "name",
        "return new Promise((got) => navigator.locks.request(name, () => new Promise((r) => got(r))))",
    );
    let name = format!("authflight:{}", refresh_url());
    let held: Promise = take.call1(&JsValue::NULL, &name.into()).unwrap().unchecked_into();
    JsFuture::from(held).await.unwrap().unchecked_into()
}

/// Another tab's message on the refresh URL's channel (`refreshed`, `expired`, `login`).
fn post_message(message: &str) {
    let post = Function::new_with_args(
        "name, m",
        "const c = new BroadcastChannel(name); c.postMessage(m); c.close()",
    );
    let name = format!("authflight:{}", refresh_url());
    post.call2(&JsValue::NULL, &name.into(), &message.into()).unwrap();
}

fn codes(results: &[Result<Response, AuthError>]) -> Vec<Option<ErrorCode>> {
    results.iter().map(|r| r.as_ref().err().map(AuthError::code)).collect()
}

async fn burst(api: &AuthClient, n: usize, tag: &str) -> Vec<Result<Response, AuthError>> {
    let reqs: Vec<Request> =
        (0..n).map(|i| Request::new_with_str(&url(&format!("/api/ping/?{tag}={i}"))).unwrap()).collect();
    join_all(reqs.into_iter().map(|r| api.fetch(r))).await
}

#[wasm_bindgen_test]
async fn a_burst_after_expiry_refreshes_once_and_replays_every_request() {
    expired_session().await;
    let api = client();
    let results = burst(&api, 20, "rust").await;
    assert_eq!(results.iter().filter(|r| r.as_ref().is_ok_and(|r| r.status() == 200)).count(), 20);
    let s = server_stats().await;
    assert_eq!((num(&s, "refresh_calls"), num(&s, "refresh_reused")), (1, 0));
    let c = api.stats();
    assert_eq!((c.refreshes_started, c.replayed), (1, 20));
}

/// The same burst through gloo-net (the `gloo` feature), in the three forms `fetch` takes: builders
/// (`Request::get(url).query(..)`), built requests, and `.body(..)`'s `Result` (POSTs, whose bodies
/// must survive the replay). Answers are gloo-net `Response`s.
#[cfg(feature = "gloo")]
#[wasm_bindgen_test]
async fn a_burst_of_gloo_requests_after_expiry_refreshes_once_and_replays_every_request() {
    use futures::future::{FutureExt, LocalBoxFuture};
    use gloo_net::http::{Request, Response};
    expired_session().await;
    let api = client();
    let body = |i: usize| format!(r#"{{"gloo":{i}}}"#);
    let sends: Vec<LocalBoxFuture<'_, Result<Response, AuthError>>> = (0..20)
        .map(|i| match i % 4 {
            0 | 1 => {
                api.fetch(Request::get(&url("/api/ping/")).query([("gloo", i.to_string())])).boxed_local()
            }
            2 => {
                api.fetch(Request::get(&url(&format!("/api/ping/?gloo={i}"))).build().unwrap()).boxed_local()
            }
            _ => api
                .fetch(Request::post(&url("/api/echo/")).header("Content-Type", "text/plain").body(body(i)))
                .boxed_local(),
        })
        .collect();
    let results = join_all(sends).await;
    let statuses: Vec<Option<u16>> = results.iter().map(|r| r.as_ref().ok().map(Response::status)).collect();
    assert_eq!(statuses, [Some(200); 20]);
    let atob = Function::new_with_args("s", "return atob(s)");
    for (i, res) in results.iter().enumerate().filter(|(i, _)| i % 4 == 3) {
        let echo = js_sys::JSON::parse(&res.as_ref().unwrap().text().await.unwrap()).unwrap();
        let sent = atob.call1(&JsValue::NULL, &get(&echo, "body_b64")).unwrap();
        assert_eq!((get(&echo, "method"), sent), ("POST".into(), body(i).into()), "request {i}");
    }
    let s = server_stats().await;
    assert_eq!((num(&s, "refresh_calls"), num(&s, "refresh_reused")), (1, 0));
    let c = api.stats();
    assert_eq!((c.refreshes_started, c.replayed), (1, 20));
}

/// A gloo-net request that cannot be built is authflight's `invalid_request`, with gloo-net's
/// `TypeError` as its cause; nothing is sent.
#[cfg(feature = "gloo")]
#[wasm_bindgen_test]
async fn a_gloo_request_that_cannot_be_built_is_invalid_request() {
    use gloo_net::http::Request;
    let api = client();
    let err = api.fetch(Request::get("http://[::1")).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidRequest);
    let cause = err.cause().unwrap();
    assert_eq!(get(cause, "name"), "TypeError", "{cause:?}");
    assert_eq!(api.stats().requests, 0);
}

#[wasm_bindgen_test]
async fn a_rejected_refresh_is_confirmed_once_then_session_expired_once() {
    expired_session().await;
    post_test("/api/test/invalidate-refresh/", "{}").await;
    let api = client();
    let fired = Rc::new(Cell::new(0));
    let f = fired.clone();
    api.on(Some("session_expired"), move |_| f.set(f.get() + 1));
    let start = now();
    let results = burst(&api, 5, "rust-expire").await;
    let took = now() - start;
    assert!(results.iter().all(|r| r.as_ref().is_err_and(|e| e.code() == ErrorCode::SessionExpired)));
    assert_eq!(fired.get(), 1);
    assert!(api.is_session_expired());
    assert!(took >= 1000.0, "the confirmation waits confirmDelayMs (1000 by default), took {took} ms");
    let s = server_stats().await;
    assert_eq!(
        (num(&s, "refresh_calls"), num(&s, "refresh_reused")),
        (2, 0),
        "the call and its confirmation"
    );
}

#[wasm_bindgen_test]
async fn with_confirmation_off_a_rejection_ends_the_session_at_once() {
    expired_session().await;
    post_test("/api/test/invalidate-refresh/", "{}").await;
    let api = client_with(|b| b.confirm_delay_ms(0));
    let results = burst(&api, 3, "rust-no-confirm").await;
    assert_eq!(codes(&results), [Some(ErrorCode::SessionExpired); 3]);
    assert_eq!(num(&server_stats().await, "refresh_calls"), 1);
}

#[wasm_bindgen_test]
async fn a_transient_rejection_is_retried_after_the_delay_and_is_no_logout() {
    expired_session().await;
    // The first answer reads as a rejection (as from a refresh view that authenticates the
    // just-expired access cookie); the server did rotate, so the retry presents the new token.
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let classify = Closure::<dyn Fn(JsValue) -> JsValue>::new(move |_res| {
        c.set(c.get() + 1);
        JsValue::from_str(if c.get() == 1 { "expired" } else { "refreshed" })
    });
    let classify: Function = classify.into_js_value().unchecked_into();
    let api = AuthClient::with_classifier(options(|b| b.confirm_delay_ms(300)), Some(classify)).unwrap();
    let fired = Rc::new(Cell::new(0));
    let f = fired.clone();
    api.on(Some("session_expired"), move |_| f.set(f.get() + 1));
    let start = now();
    let results = burst(&api, 5, "rust-transient").await;
    let took = now() - start;
    assert_eq!(codes(&results), [None; 5]);
    assert!(took >= 300.0, "retried after confirmDelayMs, took {took} ms");
    assert_eq!((fired.get(), calls.get(), api.is_session_expired()), (0, 2, false));
    let s = server_stats().await;
    assert_eq!((num(&s, "refresh_calls"), num(&s, "refresh_reused")), (2, 0));
}

#[wasm_bindgen_test]
async fn a_hung_refresh_fails_its_waiters_by_the_timeout_and_the_next_request_recovers() {
    expired_session().await;
    post_test("/api/test/fault/", r#"{"kind":"hang","count":1,"hang_ms":8000}"#).await;
    let api = client_with(|b| b.refresh_timeout_ms(2000));
    let start = now();
    let results = burst(&api, 5, "rust-hang").await;
    let took = now() - start;
    assert_eq!(codes(&results), [Some(ErrorCode::RefreshFailed); 5]);
    assert!((1900.0..3000.0).contains(&took), "waiters fail at refreshTimeoutMs, took {took} ms");
    // The hung call is abandoned, not joined: a new call goes out at once, and the lock is free.
    let start = now();
    let res = api.fetch(Request::new_with_str(&url("/api/ping/?rust-hang=after")).unwrap()).await.unwrap();
    let took = now() - start;
    assert_eq!(res.status(), 200);
    assert!(took < 2000.0, "recovered within one refresh, took {took} ms");
    let s = server_stats().await;
    assert_eq!(
        (num(&s, "refresh_calls"), num(&s, "refresh_succeeded"), num(&s, "refresh_reused")),
        (2, 1, 0)
    );
}

#[wasm_bindgen_test]
async fn a_late_success_of_an_abandoned_call_still_counts() {
    expired_session().await;
    post_test("/api/test/fault/", r#"{"refresh_delay_ms":1500}"#).await;
    let api = client_with(|b| b.refresh_timeout_ms(500));
    let results = burst(&api, 3, "rust-late").await;
    assert_eq!(codes(&results), [Some(ErrorCode::RefreshFailed); 3]);
    sleep(1500).await;
    post_test("/api/test/fault/", r#"{"refresh_delay_ms":0}"#).await;
    assert!(marker().is_some_and(|m| m.starts_with("r:")), "other tabs are told: {:?}", marker());
    let res = api.fetch(Request::new_with_str(&url("/api/ping/?rust-late=after")).unwrap()).await.unwrap();
    assert_eq!(res.status(), 200);
    let s = server_stats().await;
    assert_eq!(
        (num(&s, "refresh_calls"), num(&s, "refresh_succeeded"), num(&s, "refresh_reused")),
        (1, 1, 0)
    );
    assert_eq!(api.stats().refreshes_started, 1, "the late rotation's cookies serve the next request");
}

#[wasm_bindgen_test]
async fn a_refreshed_message_ends_a_wait_on_another_tab_at_once() {
    expired_session().await;
    set_cookie(&format!("{}=; path=/; max-age=0", marker_name()));
    let release = hold_lock().await;
    let api = client();
    let start = now();
    let other_tab = async {
        sleep(300).await;
        let res = raw("POST", "/api/auth/token/refresh/", Some("{}")).await;
        assert_eq!(res.status(), 200, "the other tab's refresh");
        post_message("refreshed");
    };
    let (results, ()) = join(burst(&api, 5, "rust-message"), other_tab).await;
    let took = now() - start;
    release.call0(&JsValue::NULL).unwrap();
    assert_eq!(codes(&results), [None; 5]);
    assert!(took < 1500.0, "well before lockTimeoutMs (3000), took {took} ms");
    let s = server_stats().await;
    assert_eq!((num(&s, "refresh_calls"), num(&s, "refresh_reused")), (1, 0), "only the other tab's");
    // The other tab's news is not echoed: an echo would make every tab replay again, for nothing.
    assert!(!marker().is_some_and(|m| m.starts_with("r:")), "no marker of ours: {:?}", marker());
}

#[wasm_bindgen_test]
async fn a_probe_ends_a_wait_on_a_frozen_tab_once_the_jar_is_fresh() {
    expired_session().await;
    // A frozen tab holds the lock and never says how its refresh ended.
    let release = hold_lock().await;
    let api = client();
    let events = Rc::new(RefCell::new(Vec::new()));
    let e = events.clone();
    api.on(None, move |event| e.borrow_mut().push(event.kind.name()));
    let start = now();
    let fresh_jar = async {
        // Once every request met its 401 and waits, the jar gets a fresh session, as when the
        // frozen tab's rotation lands (here a login, so the server counts no refresh at all).
        while api.stats().queued < 5 {
            sleep(10).await;
        }
        login().await;
        now() - start
    };
    let (results, fresh_at) = join(burst(&api, 5, "rust-probe"), fresh_jar).await;
    let took = now() - start;
    release.call0(&JsValue::NULL).unwrap();
    assert_eq!(codes(&results), [None; 5]);
    assert!(
        took < fresh_at + 1000.0,
        "a probe every 300 ms, well before lockTimeoutMs (3000): fresh at {fresh_at} ms, took {took} ms"
    );
    let s = server_stats().await;
    assert_eq!((num(&s, "refresh_calls"), num(&s, "refresh_reused")), (0, 0), "no call, here or elsewhere");
    let c = api.stats();
    assert_eq!(
        (c.refreshes_started, c.refreshes_succeeded, c.replayed),
        (1, 1, 5),
        "one probe, four replays"
    );
    let events = events.borrow();
    let ended = events.iter().position(|k| *k == "refresh_ended").expect("the refresh ended");
    assert_eq!(events[..ended].iter().filter(|k| **k == "replayed").count(), 1, "the probe ended it");
    assert!(marker().is_some_and(|m| m.starts_with("r:")), "other tabs are told: {:?}", marker());
}

#[wasm_bindgen_test]
async fn a_frozen_lock_holder_delays_others_no_longer_than_the_bound() {
    expired_session().await;
    let release = hold_lock().await;
    // The frozen tab marked its refresh in flight and never got to say how it ended.
    set_cookie(&format!("{}=f:{}:12345; path=/", marker_name(), now() as u64));
    let api = client_with(|b| b.lock_timeout_ms(500).refresh_timeout_ms(1000).confirm_delay_ms(0));
    let start = now();
    let results = burst(&api, 5, "rust-frozen").await;
    let took = now() - start;
    release.call0(&JsValue::NULL).unwrap();
    set_cookie(&format!("{}=; path=/; max-age=0", marker_name()));
    // Its refresh is not raced while it may still rotate; once older than refreshTimeoutMs it is
    // abandoned (or its tab frozen or gone), and one refresh of our own goes ahead, within the bound.
    assert_eq!(codes(&results), [None; 5]);
    assert!(took >= 900.0, "waited for the frozen tab's refresh to age, took {took} ms");
    assert!(took < 1500.0 + 800.0, "bound 500 + 0 + 1000 ms, took {took} ms");
    let stats = server_stats().await;
    assert_eq!((num(&stats, "refresh_calls"), num(&stats, "refresh_reused")), (1, 0));
}

#[wasm_bindgen_test]
fn a_refresh_url_on_an_origin_not_allowed_is_invalid_config() {
    let config = Config::builder("https://elsewhere.example/refresh/").build().unwrap();
    match AuthClient::new(config) {
        Err(AuthError::InvalidConfig(e)) => assert_eq!(e.field, "refreshUrl"),
        other => panic!("expected invalid_config, got {:?}", other.map(|_| ())),
    }
}
