//! Rust values as the JS objects users see: `AuthError`s, events and stats.

use crate::engine::{Event, EventKind, Stats};
use crate::AuthError;
use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

fn set(o: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(o, &JsValue::from_str(key), &value.into());
}

/// A real JS `Error` with `name: "AuthError"`, `code`, and `status`, `cause`, `field` where they exist.
pub(crate) fn error(e: &AuthError) -> JsValue {
    let err = js_sys::Error::new(&e.message());
    err.set_name("AuthError");
    set(&err, "code", e.code().as_str());
    if let Some(status) = e.status() {
        set(&err, "status", status);
    }
    if let Some(cause) = e.cause() {
        set(&err, "cause", cause.clone());
    }
    if let AuthError::InvalidConfig(c) = e {
        set(&err, "field", &*c.field);
    }
    err.into()
}

/// `{ type, request, time, ... }` with the fields of the event's kind.
pub(crate) fn event(e: &Event) -> JsValue {
    let o = Object::new();
    set(&o, "type", e.kind.name());
    set(&o, "request", e.request);
    set(&o, "time", e.time);
    match e.kind {
        EventKind::AuthFailure { status } => set(&o, "status", status),
        EventKind::Queued { refresh } | EventKind::RefreshStarted { refresh } => set(&o, "refresh", refresh),
        EventKind::RefreshEnded { refresh, outcome } => {
            set(&o, "refresh", refresh);
            set(&o, "outcome", outcome.as_str());
        }
        EventKind::Settled { status, error } => {
            if let Some(s) = status {
                set(&o, "status", s);
            }
            if let Some(c) = error {
                set(&o, "error", c.as_str());
            }
        }
        EventKind::Sent | EventKind::Replayed | EventKind::SessionExpired | EventKind::LoggedIn => {}
    }
    o.into()
}

/// `{ requests, refreshesStarted, ... }`.
pub(crate) fn stats(s: &Stats) -> JsValue {
    let o = Object::new();
    set(&o, "requests", s.requests);
    set(&o, "refreshesStarted", s.refreshes_started);
    set(&o, "refreshesSucceeded", s.refreshes_succeeded);
    set(&o, "refreshesFailed", s.refreshes_failed);
    set(&o, "queued", s.queued);
    set(&o, "replayed", s.replayed);
    set(&o, "sessionsExpired", s.sessions_expired);
    o.into()
}
