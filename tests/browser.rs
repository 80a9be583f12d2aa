//! The crate's Rust API (`authflight::AuthClient`, for Leptos, Yew, Dioxus) in headless Chromium
//! against the real Django + Simple JWT server. The npm package's JS API has its own, larger suite
//! (`tests/e2e/browser.test.mjs`); both drive the same decisions (`src/engine`).
//!
//! Run by `make test`, which starts `tests/server` and passes its URL in `AUTHFLIGHT_SERVER`.
//! Every test asserts on the server's own counts (`/api/test/stats/`), not only on the client's.
#![cfg(target_arch = "wasm32")]

use authflight::{AuthClient, AuthError, Config, ErrorCode};
use futures::future::join_all;
use js_sys::Reflect;
use std::cell::Cell;
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

/// Fresh counters and a fresh logged-in session whose access token the server no longer accepts.
async fn expired_session() {
    assert_eq!(raw("POST", "/api/test/reset/?logout=1", None).await.status(), 200);
    login().await;
    assert_eq!(raw("POST", "/api/test/expire-access/", None).await.status(), 200);
}

async fn post_test(path: &str, body: &str) {
    assert_eq!(raw("POST", path, Some(body)).await.status(), 200, "{path}");
}

fn client() -> AuthClient {
    let config = Config::builder(url("/api/auth/token/refresh/"))
        .allowed_origin(SERVER)
        .build()
        .expect("valid options");
    AuthClient::new(config).expect("a client")
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

#[wasm_bindgen_test]
async fn a_rejected_refresh_is_session_expired_once() {
    expired_session().await;
    post_test("/api/test/invalidate-refresh/", "{}").await;
    let api = client();
    let fired = Rc::new(Cell::new(0));
    let f = fired.clone();
    api.on(Some("session_expired"), move |_| f.set(f.get() + 1));
    let results = burst(&api, 5, "rust-expire").await;
    assert!(results.iter().all(|r| r.as_ref().is_err_and(|e| e.code() == ErrorCode::SessionExpired)));
    assert_eq!(fired.get(), 1);
    assert!(api.is_session_expired());
    assert_eq!(num(&server_stats().await, "refresh_calls"), 1);
}

#[wasm_bindgen_test]
fn a_refresh_url_on_an_origin_not_allowed_is_invalid_config() {
    let config = Config::builder("https://elsewhere.example/refresh/").build().unwrap();
    match AuthClient::new(config) {
        Err(AuthError::InvalidConfig(e)) => assert_eq!(e.field, "refreshUrl"),
        other => panic!("expected invalid_config, got {:?}", other.map(|_| ())),
    }
}
