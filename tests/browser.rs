//! Browser tests: the real package in headless Chromium against the real Django + Simple JWT server.
//!
//! Run by `make test`, which starts `tests/server` and passes its URL in `AUTHFLIGHT_SERVER`.
//! Every test asserts on the server's own counts (`/api/test/stats/`), not only on the client's.
#![cfg(target_arch = "wasm32")]

use authflight::js::JsAuthClient;
use futures::future::join_all;
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{AbortController, Blob, FormData, Request, RequestInit, Response, UrlSearchParams};

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

fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap()
}

fn num(v: &JsValue, key: &str) -> u32 {
    get(v, key).as_f64().unwrap_or(-1.0) as u32
}

async fn sleep(ms: i32) {
    let p = Promise::new(&mut |resolve, _| {
        let g: web_sys::Window = js_sys::global().unchecked_into();
        g.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms).unwrap();
    });
    JsFuture::from(p).await.unwrap();
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

fn client_with(extra: &[(&str, JsValue)]) -> JsAuthClient {
    let mut pairs = vec![
        ("refreshUrl", JsValue::from_str(&url("/api/auth/token/refresh/"))),
        ("allowedOrigins", Array::of1(&JsValue::from_str(SERVER)).into()),
    ];
    pairs.extend(extra.iter().cloned());
    JsAuthClient::new(obj(&pairs)).expect("valid options")
}

fn client() -> JsAuthClient {
    client_with(&[])
}

/// `api.fetch(...)` as JS sees it: `Ok(Response)` or `Err(the AuthError object)`.
async fn call(api: &JsAuthClient, path: &str, init: JsValue) -> Result<Response, JsValue> {
    JsFuture::from(api.fetch(JsValue::from_str(&url(path)), init)).await.map(JsCast::unchecked_into)
}

fn code(err: &JsValue) -> String {
    assert_eq!(get(err, "name").as_string().as_deref(), Some("AuthError"));
    assert!(err.is_instance_of::<js_sys::Error>(), "a real Error");
    get(err, "code").as_string().unwrap_or_default()
}

async fn burst(api: &JsAuthClient, n: usize, tag: &str) -> Vec<Result<Response, JsValue>> {
    let paths: Vec<String> = (0..n).map(|i| format!("/api/ping/?{tag}={i}")).collect();
    join_all(paths.iter().map(|p| call(api, p, JsValue::UNDEFINED))).await
}

#[wasm_bindgen_test]
async fn page_load_uses_the_access_cookie_and_never_refreshes() {
    raw("POST", "/api/test/reset/?logout=1", None).await;
    login().await;
    let api = client();
    let res = call(&api, "/api/me/", JsValue::UNDEFINED).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(num(&server_stats().await, "refresh_calls"), 0);
}

#[wasm_bindgen_test]
async fn burst_of_50_after_expiry_refreshes_once() {
    expired_session().await;
    let api = client();
    let results = burst(&api, 50, "burst").await;
    let ok = results.iter().filter(|r| r.as_ref().is_ok_and(|r| r.status() == 200)).count();
    let s = server_stats().await;
    assert_eq!(ok, 50, "every request succeeds");
    assert_eq!(num(&s, "refresh_calls"), 1, "exactly one refresh at the server");
    assert_eq!(num(&s, "refresh_reused"), 0, "no refresh token presented twice");
    let c = api.stats();
    assert_eq!((num(&c, "refreshesStarted"), num(&c, "replayed")), (1, 50));
}

#[wasm_bindgen_test]
async fn with_max_concurrent_a_burst_meets_only_a_few_401s() {
    expired_session().await;
    let api = client_with(&[("maxConcurrent", 6.into())]);
    let results = burst(&api, 50, "capped").await;
    assert_eq!(results.iter().filter(|r| r.as_ref().is_ok_and(|r| r.status() == 200)).count(), 50);
    let s = server_stats().await;
    assert_eq!((num(&s, "refresh_calls"), num(&s, "refresh_reused")), (1, 0));
    assert!(num(&s, "protected_401") <= 6, "at most the first 6 met the 401: {}", num(&s, "protected_401"));
    assert_eq!(num(&s, "protected_ok"), 50);
}

#[wasm_bindgen_test]
async fn late_401_for_a_request_sent_before_the_refresh_is_replayed_without_refresh() {
    expired_session().await;
    let api = client();
    // `slow` carries the expired cookie but is only judged after 700 ms, long after the refresh.
    let slow = call(&api, "/api/ping/?auth_delay_ms=700&late=1", JsValue::UNDEFINED);
    let quick = async {
        sleep(50).await;
        call(&api, "/api/ping/?late=2", JsValue::UNDEFINED).await
    };
    let (slow, quick) = futures::join!(slow, quick);
    assert_eq!((slow.unwrap().status(), quick.unwrap().status()), (200, 200));
    let s = server_stats().await;
    assert_eq!(num(&s, "refresh_calls"), 1, "the late 401 did not start a second refresh");
    assert_eq!(num(&s, "refresh_reused"), 0);
    assert_eq!(num(&api.stats(), "replayed"), 2);
}

#[wasm_bindgen_test]
async fn replay_that_is_still_401_rejects_unauthorized_without_a_loop() {
    expired_session().await;
    let api = client();
    let err = call(&api, "/api/ping/?status=401", JsValue::UNDEFINED).await.unwrap_err();
    assert_eq!(code(&err), "unauthorized");
    assert_eq!(num(&err, "status"), 401);
    let s = server_stats().await;
    assert_eq!(num(&s, "refresh_calls"), 1);
    assert_eq!(num(&s, "protected_401"), 2, "the original and its one replay");
}

#[wasm_bindgen_test]
async fn rejected_refresh_expires_all_20_waiters_and_tells_the_app_once() {
    expired_session().await;
    post_test("/api/test/invalidate-refresh/", "{}").await;
    let api = client();
    let fired = Rc::new(Cell::new(0));
    let f = fired.clone();
    let listener = Closure::<dyn Fn()>::new(move || f.set(f.get() + 1));
    api.on_session_expired(listener.as_ref().unchecked_ref::<js_sys::Function>().clone());
    let results = burst(&api, 20, "expire").await;
    let expired = results.iter().filter(|r| r.as_ref().is_err_and(|e| code(e) == "session_expired")).count();
    assert_eq!(expired, 20);
    assert_eq!(fired.get(), 1, "session-expired listeners fire once");
    assert!(api.session_expired());
    // Until a new login, auth failures fail fast: no further refresh calls.
    let again = call(&api, "/api/me/", JsValue::UNDEFINED).await.unwrap_err();
    assert_eq!(code(&again), "session_expired");
    assert_eq!(num(&server_stats().await, "refresh_calls"), 1);
    // A new login re-enables refresh handling.
    login().await;
    api.mark_logged_in();
    assert_eq!(call(&api, "/api/me/", JsValue::UNDEFINED).await.unwrap().status(), 200);
    assert!(!api.session_expired());
    assert_eq!(fired.get(), 1);
}

#[wasm_bindgen_test]
async fn refresh_500_is_refresh_failed_not_a_logout() {
    expired_session().await;
    // Slow enough that all five 401s arrive while the refresh is in flight.
    post_test("/api/test/fault/", r#"{"kind":"500","count":1,"refresh_delay_ms":300}"#).await;
    let api = client();
    let fired = Rc::new(Cell::new(0));
    let f = fired.clone();
    let listener = Closure::<dyn Fn()>::new(move || f.set(f.get() + 1));
    api.on_session_expired(listener.as_ref().unchecked_ref::<js_sys::Function>().clone());
    for r in burst(&api, 5, "fail").await {
        let e = r.unwrap_err();
        assert_eq!((code(&e), num(&e, "status")), ("refresh_failed".to_string(), 500));
    }
    assert!(!api.session_expired());
    assert_eq!(fired.get(), 0);
    // The next auth failure tries a fresh refresh, which works.
    assert_eq!(call(&api, "/api/me/", JsValue::UNDEFINED).await.unwrap().status(), 200);
    let s = server_stats().await;
    assert_eq!(
        (num(&s, "refresh_calls"), num(&s, "refresh_succeeded"), num(&s, "refresh_reused")),
        (2, 1, 0)
    );
}

#[wasm_bindgen_test]
async fn refresh_timeout_is_refresh_failed_with_a_cause() {
    expired_session().await;
    post_test("/api/test/fault/", r#"{"kind":"hang","count":1,"hang_ms":3000}"#).await;
    let api = client_with(&[("refreshTimeoutMs", 300.into())]);
    let e = call(&api, "/api/me/", JsValue::UNDEFINED).await.unwrap_err();
    assert_eq!(code(&e), "refresh_failed");
    assert_eq!(get(&get(&e, "cause"), "name").as_string().as_deref(), Some("TimeoutError"));
    assert!(!api.session_expired());
    post_test("/api/test/reset/", "{}").await;
}

#[wasm_bindgen_test]
async fn a_timed_out_refresh_is_joined_not_sent_again() {
    expired_session().await;
    post_test("/api/test/fault/", r#"{"refresh_delay_ms":1200}"#).await;
    let api = client_with(&[("refreshTimeoutMs", 400.into())]);
    let first = call(&api, "/api/me/", JsValue::UNDEFINED).await.unwrap_err();
    assert_eq!(code(&first), "refresh_failed");
    // The server is still rotating the token the timed-out call presented: the next 401 must wait
    // for that call instead of presenting the same refresh token again.
    let second = call(&api, "/api/me/", JsValue::UNDEFINED).await.unwrap();
    assert_eq!(second.status(), 200);
    let s = server_stats().await;
    assert_eq!((num(&s, "refresh_calls"), num(&s, "refresh_reused")), (1, 0));
    assert!(!api.session_expired());
    post_test("/api/test/reset/", "{}").await;
}

#[wasm_bindgen_test]
async fn ten_concurrent_posts_are_each_created_once_with_their_bodies() {
    expired_session().await;
    let api = client();
    let calls = (0..10).map(|i| {
        let body = format!(r#"{{"name":"item-{i}"}}"#);
        let init = obj(&[
            ("method", "POST".into()),
            ("body", body.into()),
            ("headers", obj(&[("Content-Type", "application/json".into())])),
        ]);
        call(&api, "/api/items/", init)
    });
    let results = join_all(calls).await;
    for (i, r) in results.iter().enumerate() {
        let res = r.as_ref().unwrap();
        assert_eq!(res.status(), 201);
        let expect = format!("item-{i}");
        assert_eq!(get(&json(res).await, "name").as_string().as_deref(), Some(expect.as_str()));
    }
    let s = server_stats().await;
    assert_eq!((num(&s, "items_created"), num(&s, "refresh_calls")), (10, 1));
}

/// Sends `body` to /api/echo/ through a 401 + refresh + replay; returns the bytes the server got.
async fn echo_after_refresh(body: JsValue, content_type: Option<&str>) -> (Vec<u8>, String) {
    expired_session().await;
    let api = client();
    let mut pairs = vec![("method", JsValue::from_str("POST")), ("body", body)];
    if let Some(ct) = content_type {
        pairs.push(("headers", obj(&[("Content-Type", ct.into())])));
    }
    let res = call(&api, "/api/echo/", obj(&pairs)).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(num(&api.stats(), "replayed"), 1, "the body went through a replay");
    let echoed = json(&res).await;
    let b64 = get(&echoed, "body_b64").as_string().unwrap();
    let bytes = js_sys::global().unchecked_into::<web_sys::Window>().atob(&b64).unwrap();
    (bytes.chars().map(|c| c as u8).collect(), get(&echoed, "content_type").as_string().unwrap())
}

#[wasm_bindgen_test]
async fn replayed_bodies_are_byte_identical() {
    let text = r#"{"emoji":"\u00e9\u2713","n":1}"#;
    assert_eq!(echo_after_refresh(text.into(), Some("application/json")).await.0, text.as_bytes());

    let params = UrlSearchParams::new_with_str("a=1&b=two+words&c=%26").unwrap();
    let (bytes, ct) = echo_after_refresh(params.into(), None).await;
    assert_eq!(bytes, b"a=1&b=two+words&c=%26");
    assert!(ct.starts_with("application/x-www-form-urlencoded"));

    let raw_bytes: Vec<u8> = (0..=255u8).collect();
    let buf = Uint8Array::from(raw_bytes.as_slice()).buffer();
    assert_eq!(echo_after_refresh(buf.clone().into(), None).await.0, raw_bytes);

    let parts = Array::of1(&Uint8Array::from(raw_bytes.as_slice()));
    let blob = Blob::new_with_u8_array_sequence(&parts).unwrap();
    assert_eq!(echo_after_refresh(blob.into(), Some("application/octet-stream")).await.0, raw_bytes);

    let form = FormData::new().unwrap();
    form.append_with_str("field", "value-1").unwrap();
    form.append_with_str("other", "v\u{e9}").unwrap();
    let (bytes, ct) = echo_after_refresh(form.into(), None).await;
    let body = String::from_utf8(bytes).unwrap();
    let boundary = ct.split("boundary=").nth(1).expect("multipart boundary");
    assert!(body.contains(boundary) && body.contains("value-1") && body.contains("v\u{e9}"));
}

#[wasm_bindgen_test]
async fn request_objects_are_replayed_with_their_body_and_headers() {
    expired_session().await;
    let api = client();
    let init = RequestInit::new();
    init.set_method("PUT");
    init.set_body(&"from a Request".into());
    let h = web_sys::Headers::new().unwrap();
    h.set("Content-Type", "text/plain").unwrap();
    init.set_headers(&h);
    let req = Request::new_with_str_and_init(&url("/api/echo/"), &init).unwrap();
    let res: Response =
        JsFuture::from(api.fetch(req.into(), JsValue::UNDEFINED)).await.unwrap().unchecked_into();
    let echoed = json(&res).await;
    assert_eq!(get(&echoed, "method").as_string().as_deref(), Some("PUT"));
    assert_eq!(get(&echoed, "content_type").as_string().as_deref(), Some("text/plain"));
    let body = js_sys::global()
        .unchecked_into::<web_sys::Window>()
        .atob(&get(&echoed, "body_b64").as_string().unwrap());
    assert_eq!(body.unwrap(), "from a Request");
    assert_eq!(num(&api.stats(), "replayed"), 1);
}

#[wasm_bindgen_test]
async fn stream_body_is_rejected_before_anything_is_sent() {
    expired_session().await;
    let before = server_stats().await;
    let api = client();
    let stream = web_sys::ReadableStream::new().unwrap();
    let init = obj(&[("method", "POST".into()), ("body", stream.into()), ("duplex", "half".into())]);
    let e = call(&api, "/api/echo/", init).await.unwrap_err();
    assert_eq!(code(&e), "body_not_replayable");
    let after = server_stats().await;
    assert_eq!(
        num(&after, "protected_401") + num(&after, "protected_ok"),
        num(&before, "protected_401") + num(&before, "protected_ok")
    );
}

#[wasm_bindgen_test]
async fn aborting_a_waiting_request_rejects_only_it_at_once() {
    expired_session().await;
    post_test("/api/test/fault/", r#"{"refresh_delay_ms":600}"#).await;
    let api = client();
    let ctrl = AbortController::new().unwrap();
    let aborted = call(&api, "/api/ping/?abort=1", obj(&[("signal", ctrl.signal().into())]));
    let other = call(&api, "/api/ping/?abort=2", JsValue::UNDEFINED);
    let settled_first = Rc::new(Cell::new(""));
    let (s1, s2) = (settled_first.clone(), settled_first.clone());
    let aborted = async move {
        let r = aborted.await;
        if s1.get().is_empty() {
            s1.set("aborted");
        }
        r
    };
    let other = async move {
        let r = other.await;
        if s2.get().is_empty() {
            s2.set("other");
        }
        r
    };
    let abort_later = async {
        sleep(150).await;
        ctrl.abort();
    };
    let (a, o, _) = futures::join!(aborted, other, abort_later);
    assert_eq!(code(&a.unwrap_err()), "aborted");
    assert_eq!(o.unwrap().status(), 200, "the refresh and the others go on");
    assert_eq!(settled_first.get(), "aborted", "rejected at once, not after the refresh");
    let s = server_stats().await;
    assert_eq!((num(&s, "refresh_calls"), num(&s, "refresh_succeeded")), (1, 1));
    post_test("/api/test/reset/", "{}").await;
}

#[wasm_bindgen_test]
async fn a_401_from_a_foreign_origin_is_handed_back_untouched() {
    expired_session().await;
    let api = client();
    // localhost is another origin than 127.0.0.1 (same server): not in allowedOrigins.
    let foreign = SERVER.replace("127.0.0.1", "localhost");
    let mut u = foreign.clone();
    u.push_str("/api/me/");
    let res: Response =
        JsFuture::from(api.fetch(u.into(), JsValue::UNDEFINED)).await.unwrap().unchecked_into();
    assert_eq!(res.status(), 401, "resolved with the 401, like fetch");
    assert_eq!(num(&server_stats().await, "refresh_calls"), 0, "no refresh");
    assert_eq!(num(&api.stats(), "requests"), 0, "not handled at all");
}

#[wasm_bindgen_test]
async fn url_objects_are_accepted_and_refreshed_like_strings() {
    expired_session().await;
    let api = client();
    let u = web_sys::Url::new(&url("/api/me/")).unwrap();
    let res: Response =
        JsFuture::from(api.fetch(u.into(), JsValue::UNDEFINED)).await.unwrap().unchecked_into();
    assert_eq!(res.status(), 200);
    assert_eq!(num(&server_stats().await, "refresh_calls"), 1);
}

#[wasm_bindgen_test]
async fn skip_auth_refresh_opts_a_request_out() {
    expired_session().await;
    let api = client();
    let init = obj(&[("skipAuthRefresh", true.into()), ("credentials", "include".into())]);
    let res = call(&api, "/api/me/", init).await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(num(&server_stats().await, "refresh_calls"), 0);
}

#[wasm_bindgen_test]
async fn csrf_header_carries_the_cookie_on_unsafe_methods_only() {
    expired_session().await;
    raw("GET", "/api/csrf/", None).await;
    let cookie = web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .unchecked_into::<web_sys::HtmlDocument>()
        .cookie()
        .unwrap();
    let token =
        cookie.split("; ").find_map(|c| c.strip_prefix("csrftoken=")).expect("csrftoken cookie").to_string();
    let api = client_with(&[("csrf", true.into())]);
    let post =
        call(&api, "/api/echo/", obj(&[("method", "POST".into()), ("body", "x".into())])).await.unwrap();
    assert_eq!(get(&json(&post).await, "csrf_header").as_string(), Some(token), "set again on the replay");
    let foreign = call(&api, "/api/me/", JsValue::UNDEFINED).await.unwrap();
    assert_eq!(foreign.status(), 200);
    let none = client();
    let post =
        call(&none, "/api/echo/", obj(&[("method", "POST".into()), ("body", "x".into())])).await.unwrap();
    assert!(get(&json(&post).await, "csrf_header").is_null(), "off by default");
}

#[wasm_bindgen_test]
async fn custom_classifier_decides_how_a_refresh_ended() {
    expired_session().await;
    let classify =
        js_sys::Function::new_with_args("res", "return Promise.resolve(res.ok ? 'expired' : 'failed')");
    let api = client_with(&[("classifyRefresh", classify.into())]);
    let e = call(&api, "/api/me/", JsValue::UNDEFINED).await.unwrap_err();
    assert_eq!((code(&e), num(&e, "status")), ("session_expired".to_string(), 200));
}

fn config_error(options: JsValue) -> (String, String, String) {
    let e = JsAuthClient::new(options).expect_err("invalid options must throw");
    let message = get(&e, "message").as_string().unwrap();
    (code(&e), get(&e, "field").as_string().unwrap(), message)
}

#[wasm_bindgen_test]
fn invalid_options_throw_invalid_config_naming_the_field() {
    let refresh = || ("refreshUrl", JsValue::from_str("/api/auth/token/refresh/"));
    let cases: Vec<(JsValue, &str)> = vec![
        (JsValue::UNDEFINED, "options"),
        (obj(&[]), "refreshUrl"),
        (obj(&[("refreshUrl", 42.into())]), "refreshUrl"),
        (obj(&[refresh(), ("refreshURL", "/x".into())]), "refreshURL"),
        (obj(&[refresh(), ("authStatuses", Array::of1(&"401".into()).into())]), "authStatuses"),
        (obj(&[refresh(), ("allowedOrigins", Array::of1(&"not an origin".into()).into())]), "allowedOrigins"),
        (obj(&[refresh(), ("refreshTimeoutMs", (-5).into())]), "refreshTimeoutMs"),
        (obj(&[refresh(), ("refreshTimeoutMs", 1.5.into())]), "refreshTimeoutMs"),
        (obj(&[refresh(), ("csrf", "yes".into())]), "csrf"),
        (obj(&[refresh(), ("classifyRefresh", "refreshed".into())]), "classifyRefresh"),
        (obj(&[refresh(), ("refreshHeaders", obj(&[("X-A", 1.into())]))]), "refreshHeaders"),
        (obj(&[("refreshUrl", "https://elsewhere.example/refresh/".into())]), "refreshUrl"),
    ];
    for (options, field) in cases {
        let (code, got, message) = config_error(options);
        assert_eq!((code.as_str(), got.as_str()), ("invalid_config", field));
        assert!(message.contains(field), "{message}");
    }
}
