//! A future that resolves when an `AbortSignal` fires, and unhooks its listener when dropped.

use alloc::rc::Rc;
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::AbortSignal;

#[derive(Default)]
struct Flag {
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

/// Resolves once `signal` has aborted. Dropping it removes the listener (and frees its closure), so
/// a request that waited on a refresh leaves nothing behind on a long-lived signal.
pub(crate) struct Aborted {
    signal: AbortSignal,
    flag: Rc<Flag>,
    listener: Option<Closure<dyn FnMut()>>,
}

impl Aborted {
    pub fn new(signal: AbortSignal) -> Aborted {
        Aborted { signal, flag: Rc::default(), listener: None }
    }
}

impl Future for Aborted {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.flag.fired.get() || this.signal.aborted() {
            return Poll::Ready(());
        }
        *this.flag.waker.borrow_mut() = Some(cx.waker().clone());
        if this.listener.is_none() {
            let flag = this.flag.clone();
            let listener = Closure::<dyn FnMut()>::new(move || {
                flag.fired.set(true);
                if let Some(w) = flag.waker.borrow_mut().take() {
                    w.wake();
                }
            });
            let _ = this.signal.add_event_listener_with_callback("abort", listener.as_ref().unchecked_ref());
            this.listener = Some(listener);
        }
        Poll::Pending
    }
}

impl Drop for Aborted {
    fn drop(&mut self) {
        if let Some(l) = &self.listener {
            let _ = self.signal.remove_event_listener_with_callback("abort", l.as_ref().unchecked_ref());
        }
    }
}
