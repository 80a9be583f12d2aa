//! An optional cap on requests in flight, closed while a refresh runs (`maxConcurrent`).
//!
//! Over HTTP/1.1 a browser keeps about 6 connections per host, so a burst sent just after the access
//! token expired all goes out with the dead token before the first 401 comes back, and every request
//! costs a 401 and a replay. With a cap of about 6, only the first few meet the 401: the refresh then
//! goes out at once, and the rest wait for it and are sent once, with the new cookies. Off by default:
//! over HTTP/2 a cap would only slow bursts down.

use crate::engine::outcome::{self, Setter};
use alloc::collections::VecDeque;
use alloc::rc::Rc;
use core::cell::{Cell, RefCell};

/// The cap and the requests queued behind it.
#[derive(Default)]
pub(crate) struct Gate {
    max: Cell<Option<u32>>,
    sending: Cell<u32>,
    queue: RefCell<VecDeque<Setter<()>>>,
}

/// A place in flight; freeing it lets the next queued request go.
pub(crate) struct Permit(Rc<Gate>);

impl Gate {
    pub fn set_max(&self, max: Option<u32>) {
        self.max.set(max.filter(|m| *m > 0));
    }

    pub fn max(&self) -> Option<u32> {
        self.max.get()
    }

    /// A permit at once if there is room, else a future to wait on before trying again.
    pub fn try_enter(self: &Rc<Self>) -> Result<Permit, outcome::Outcome<()>> {
        let max = self.max.get().unwrap_or(u32::MAX);
        if self.sending.get() < max {
            self.sending.set(self.sending.get() + 1);
            return Ok(Permit(self.clone()));
        }
        let (setter, waiter) = outcome::channel(());
        self.queue.borrow_mut().push_back(setter);
        Err(waiter)
    }

    /// Wakes the next queued request that is still waiting.
    pub fn wake_next(&self) {
        loop {
            let next = self.queue.borrow_mut().pop_front();
            match next {
                Some(s) if s.has_waiter() => return s.set(()),
                Some(_) => continue,
                None => return,
            }
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.sending.set(self.0.sending.get().saturating_sub(1));
        self.0.wake_next();
    }
}
