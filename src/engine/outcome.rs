//! The one refresh outcome every waiting request shares: a tiny single-threaded broadcast cell.
//!
//! Lighter than `futures::future::Shared` over a oneshot (no locks, no slab): the engine is
//! single-threaded, as a browser event loop is.

use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

struct Slot<O> {
    value: Option<O>,
    wakers: Vec<Option<Waker>>,
}

/// Sets the shared outcome once; if dropped unset, sets `fallback` instead so no waiter hangs.
pub(crate) struct Setter<O> {
    slot: Rc<RefCell<Slot<O>>>,
    fallback: Option<O>,
}

/// A future resolving to a clone of the outcome. Clones wait on the same outcome.
pub(crate) struct Outcome<O> {
    slot: Rc<RefCell<Slot<O>>>,
    index: Option<usize>,
}

/// A new shared outcome: the setter, and the first waiter.
pub(crate) fn channel<O: Clone>(fallback: O) -> (Setter<O>, Outcome<O>) {
    let slot = Rc::new(RefCell::new(Slot { value: None, wakers: Vec::new() }));
    (Setter { slot: slot.clone(), fallback: Some(fallback) }, Outcome { slot, index: None })
}

impl<O> Setter<O> {
    /// Whether any waiter still exists (a dropped waiter will never be polled).
    pub fn has_waiter(&self) -> bool {
        Rc::strong_count(&self.slot) > 1
    }

    /// Stores `value` and wakes every waiter.
    pub fn set(mut self, value: O) {
        self.fallback = None;
        self.store(value);
    }

    fn store(&self, value: O) {
        let wakers = {
            let mut slot = self.slot.borrow_mut();
            slot.value = Some(value);
            core::mem::take(&mut slot.wakers)
        };
        wakers.into_iter().flatten().for_each(Waker::wake);
    }
}

impl<O> Drop for Setter<O> {
    fn drop(&mut self) {
        if let Some(v) = self.fallback.take() {
            self.store(v);
        }
    }
}

impl<O> Clone for Outcome<O> {
    fn clone(&self) -> Self {
        Outcome { slot: self.slot.clone(), index: None }
    }
}

impl<O: Clone> Future for Outcome<O> {
    type Output = O;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O> {
        let this = self.get_mut();
        let mut slot = this.slot.borrow_mut();
        if let Some(v) = &slot.value {
            return Poll::Ready(v.clone());
        }
        let waker = Some(cx.waker().clone());
        match this.index.and_then(|i| slot.wakers.get_mut(i)) {
            Some(w) => *w = waker,
            None => {
                this.index = Some(slot.wakers.len());
                slot.wakers.push(waker);
            }
        }
        Poll::Pending
    }
}

impl<O> Drop for Outcome<O> {
    fn drop(&mut self) {
        if let Some(i) = self.index {
            if let Ok(mut slot) = self.slot.try_borrow_mut() {
                if let Some(w) = slot.wakers.get_mut(i) {
                    *w = None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use futures::FutureExt;

    #[test]
    fn every_waiter_gets_the_value_and_a_dropped_setter_sends_the_fallback() {
        let (set, a) = channel(0);
        let b = a.clone();
        assert!(a.clone().now_or_never().is_none());
        set.set(7);
        assert_eq!((block_on(a), block_on(b)), (7, 7));
        let (set, c) = channel(-1);
        drop(set);
        assert_eq!(block_on(c), -1);
    }
}
